"""Two ways to prove an op's gradient: against torch's autograd, and against finite differences.

`assert_matches_torch` runs the same function through minigrad and through torch, then compares
the outputs and the gradients of every input. `gradcheck` needs no torch reference: it nudges
each input element up and down by `eps` and compares the slope it sees with minigrad's gradient.

Both backpropagate a random upstream gradient rather than the gradient of `.sum()`: a backward
that ignores the gradient it receives passes every `.sum()` test, and fails this one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ..autograd import gradients
from ..autograd.grad_mode import no_grad
from ..devices import default_device
from ..tensor import Tensor

__all__ = ["assert_close", "assert_matches_torch", "gradcheck"]


def assert_close(
    got: torch.Tensor,
    expected: torch.Tensor,
    *,
    what: str,
    rtol: float = 1e-7,
    atol: float = 1e-9,
) -> None:
    """Assert that two torch tensors agree, checking shape, then dtype, then values.

    The values agree where |got - expected| <= atol + rtol * |expected| (NaN agrees with NaN).
    On failure the message starts with `what` (which function, which value) and names the first
    index that disagrees, both values there, and the largest absolute and relative errors.
    """
    if got.shape != expected.shape:
        raise AssertionError(
            f"{what}: shape {tuple(got.shape)} but torch gives {tuple(expected.shape)}"
        )
    if got.dtype != expected.dtype:
        raise AssertionError(
            f"{what} (shape {tuple(got.shape)}): dtype {got.dtype} but torch gives {expected.dtype}"
        )
    got, expected = got.detach().cpu(), expected.detach().cpu()
    close = torch.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    if bool(close.all()):
        return
    first = tuple(int(i) for i in (~close).nonzero()[0])
    wrong = ~close
    error = (got.double()[wrong] - expected.double()[wrong]).abs()  # NaN stays NaN
    relative = error / expected.double()[wrong].abs()
    raise AssertionError(
        f"{what} (shape {tuple(got.shape)}): {int((~close).sum())} of {got.numel()} values "
        f"differ; first at index {first}: got {got[first].item()!r}, expected "
        f"{expected[first].item()!r}. Max abs error {error.max().item():.3g}, max rel error "
        f"{relative.max().item():.3g} (rtol {rtol:g}, atol {atol:g})."
    )


def assert_matches_torch(
    minigrad_fn: Callable[..., Tensor],
    torch_fn: Callable[..., torch.Tensor],
    *arrays: Any,
    upstream: np.ndarray | torch.Tensor | None = None,
    rtol: float = 1e-7,
    atol: float = 1e-9,
    seed: int = 0,
    device: str | torch.device | None = None,
    name: str | None = None,
    order: int = 1,
) -> None:
    """Check that `minigrad_fn` computes what `torch_fn` computes, gradients included.

    `arrays` are NumPy arrays (or anything `np.asarray` takes). Each floating-point one becomes
    a minigrad Tensor and a torch tensor that both require grad (keeping its dtype: give float64
    for these tolerances); any other (an integer index array, a boolean mask) is passed through
    to both functions as a tensor without gradient. Inputs go to `device` (default: minigrad's
    default device, so CUDA where there is a GPU). Then, in order:

    1. forward: the outputs' shape, dtype and values;
    2. backward of an upstream gradient `upstream` (random normal, drawn with `seed`, when left
       out): `out.backward(g)` in minigrad, `torch.autograd.grad(out, inputs, g)` in torch;
    3. for each input: whether it got a gradient, then its shape, dtype and values;
    4. a second backward: every input's `.grad` must double (gradients accumulate);
    5. with two or more floating-point inputs: 1 to 4 again for each of them alone requiring
       grad, the others constants (an op may keep for backward only what those need).

    With `order=2`, the second derivatives too: the gradients are taken with
    `create_graph=True` (and the upstream gradient u requires grad), and for random directions
    v the gradient of sum(dL/dx * v) with respect to every input and to u (a Hessian-vector
    product, and a Jacobian-vector product) must equal torch's.

    Raises AssertionError naming the function, the argument, the index and both values.
    """
    label = name or _describe(minigrad_fn)
    device = default_device() if device is None else device
    floats = [i for i, a in enumerate(arrays) if np.asarray(a).dtype.kind == "f"]
    check = _check if order == 1 else _check_second_order
    if order not in (1, 2):
        raise ValueError(f"order is 1 (gradients) or 2 (gradients of gradients), got {order}")
    check(minigrad_fn, torch_fn, arrays, set(floats), upstream, rtol, atol, seed, device, label)
    if len(floats) > 1:
        # each float input alone requiring grad too: an op may keep for backward only what
        # the inputs that need a gradient use (matmul keeps b only for a's gradient)
        for i in floats:
            alone = f"{label} (only argument {i} requiring grad)"
            check(minigrad_fn, torch_fn, arrays, {i}, upstream, rtol, atol, seed, device, alone)


def _check(
    minigrad_fn: Callable[..., Tensor],
    torch_fn: Callable[..., torch.Tensor],
    arrays: Sequence[Any],
    requiring_grad: set[int],
    upstream: Any,
    rtol: float,
    atol: float,
    seed: int,
    device: str | torch.device,
    label: str,
) -> None:
    """assert_matches_torch's steps 1 to 4, with the float inputs in `requiring_grad` requiring
    grad and the others constants."""
    mg_inputs, torch_inputs = [], []
    for i, array in enumerate(arrays):
        mg_input, torch_input = _to_tensors(array, device, i in requiring_grad)
        mg_inputs.append(mg_input)
        torch_inputs.append(torch_input)

    out = minigrad_fn(*mg_inputs)
    expected = torch_fn(*torch_inputs)
    if not isinstance(out, Tensor):
        raise AssertionError(f"{label} returned {type(out).__name__}, not a minigrad Tensor")
    assert_close(out._data, expected, what=f"{label}: forward", rtol=rtol, atol=atol)

    differentiable = [i for i, t in enumerate(torch_inputs) if t.requires_grad]
    if not expected.requires_grad:  # e.g. an integer output: nothing to backpropagate
        if out.requires_grad:
            raise AssertionError(f"{label}: output requires grad, but torch's does not")
        return
    grad_out = _upstream(upstream, expected, seed)
    if out.requires_grad:
        out.backward(grad_out, retain_graph=True)
    expected_grads = torch.autograd.grad(
        expected,
        [torch_inputs[i] for i in differentiable],
        grad_outputs=grad_out,
        allow_unused=True,
    )
    for i, want in zip(differentiable, expected_grads):
        got = mg_inputs[i].grad
        what = f"{label}: gradient of argument {i}"
        if (got is None) != (want is None):
            has, lacks = ("minigrad", "torch") if want is None else ("torch", "minigrad")
            raise AssertionError(
                f"{what} (shape {tuple(mg_inputs[i].shape)}): {has} gives one, {lacks} none"
            )
        if want is not None:
            assert_close(got._data, want, what=what, rtol=rtol, atol=atol)
    if out.requires_grad:
        _assert_second_backward_adds_up(out, grad_out, mg_inputs, differentiable, label, rtol, atol)


def _check_second_order(
    minigrad_fn: Callable[..., Tensor],
    torch_fn: Callable[..., torch.Tensor],
    arrays: Sequence[Any],
    requiring_grad: set[int],
    upstream: Any,
    rtol: float,
    atol: float,
    seed: int,
    device: str | torch.device,
    label: str,
) -> None:
    """assert_matches_torch's order=2: first derivatives with create_graph=True, then the
    gradient of sum(dL/dx * v) with respect to the inputs and the upstream gradient u."""
    mg_inputs, torch_inputs = [], []
    for i, array in enumerate(arrays):
        mg_input, torch_input = _to_tensors(array, device, i in requiring_grad)
        mg_inputs.append(mg_input)
        torch_inputs.append(torch_input)
    out, expected = minigrad_fn(*mg_inputs), torch_fn(*torch_inputs)
    assert_close(out._data, expected, what=f"{label}: forward", rtol=rtol, atol=atol)
    if not expected.requires_grad:
        return
    differentiable = [i for i, t in enumerate(torch_inputs) if t.requires_grad]
    u = _upstream(upstream, expected, seed)
    u_mg, u_torch = Tensor(u.clone(), requires_grad=True), u.clone().requires_grad_()
    generator = torch.Generator().manual_seed(seed + 1)
    directions = {
        i: torch.randn(torch_inputs[i].shape, generator=generator, dtype=torch.float64)
        .to(torch_inputs[i].dtype)
        .to(device)
        for i in differentiable
    }
    firsts = gradients.grad(out, [mg_inputs[i] for i in differentiable], u_mg, create_graph=True,
                  allow_unused=True)  # fmt: skip
    expected_firsts = torch.autograd.grad(
        expected, [torch_inputs[i] for i in differentiable], u_torch, create_graph=True,
        allow_unused=True,
    )  # fmt: skip
    for i, got, want in zip(differentiable, firsts, expected_firsts):
        what = f"{label}: gradient of argument {i} (create_graph=True)"
        got_values = got._data if got is not None else torch.zeros_like(torch_inputs[i])
        want_values = want.detach() if want is not None else torch.zeros_like(torch_inputs[i])
        assert_close(got_values, want_values, what=what, rtol=rtol, atol=atol)
    # s = sum_i <dL/dx_i, v_i>: its gradient is H v for the inputs and J v for u
    mine = [
        (g * Tensor(directions[i])).sum() for i, g in zip(differentiable, firsts) if g is not None
    ]
    theirs = [
        (g * directions[i]).sum() for i, g in zip(differentiable, expected_firsts) if g is not None
    ]
    if not theirs or not any(t.requires_grad for t in theirs):
        if any(m.requires_grad for m in mine):
            raise AssertionError(
                f"{label}: the first derivatives have a graph in minigrad, none in torch"
            )
        return  # linear in every input and in u: nothing to differentiate again
    targets_mg = [mg_inputs[i] for i in differentiable] + [u_mg]
    targets_torch = [torch_inputs[i] for i in differentiable] + [u_torch]
    s_torch = sum(t for t in theirs if t.requires_grad)
    expected_seconds = torch.autograd.grad(s_torch, targets_torch, allow_unused=True,
                                           materialize_grads=True)  # fmt: skip
    differentiated = [m for m in mine if m.requires_grad]
    if not differentiated:
        raise AssertionError(
            f"{label}: the first derivatives have no graph in minigrad (create_graph=True), "
            "but torch's do: a backward formula left the graph"
        )
    s_mg = differentiated[0]
    for m in differentiated[1:]:
        s_mg = s_mg + m
    seconds = gradients.grad(s_mg, targets_mg, allow_unused=True, materialize_grads=True)
    names = [f"argument {i}" for i in differentiable] + ["the upstream gradient"]
    for name_of, got, want in zip(names, seconds, expected_seconds):
        what = f"{label}: second derivative, gradient of sum(dL/dx * v) w.r.t. {name_of}"
        assert_close(got._data, want, what=what, rtol=rtol, atol=atol)


def _assert_second_backward_adds_up(
    out: Tensor,
    grad_out: torch.Tensor,
    inputs: Sequence[Tensor],
    which: Sequence[int],
    label: str,
    rtol: float,
    atol: float,
) -> None:
    """Gradients add up over backward() calls: a second one must double every leaf's .grad."""
    first = {i: inputs[i].grad._data.clone() for i in which if inputs[i].grad is not None}
    out.backward(grad_out)
    for i, grad in first.items():
        what = f"{label}: gradient of argument {i} after a second backward() (twice the first)"
        assert_close(inputs[i].grad._data, 2 * grad, what=what, rtol=rtol, atol=atol)


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Any,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
    seed: int = 0,
    name: str | None = None,
) -> None:
    """Check minigrad's gradients of `fn` against central finite differences, in float64.

    For an upstream gradient g (random normal, drawn with `seed`) the gradient of input x is
    the vector-Jacobian product g . d(out)/dx. Element by element,

        d(g . out)/dx[i] ~ g . (fn(x + eps e_i) - fn(x - eps e_i)) / (2 eps),

    the error of which shrinks as eps**2. Its other error is float64's rounding: each output is
    off by a few units in its last place, so the difference of two outputs of size |f| is only
    known to about 1e-16 |f|, and the derivative to 1e-16 |f| / eps, which reaches 1e-8 for
    outputs near 100. That rounding noise, computed from the outputs' sizes, is added to `atol`
    element by element: a derivative finer than the differences can resolve is not held
    against the gradient, and a wrong one (off by a factor, a sign, a missing term) still is.
    `inputs` are arrays or minigrad Tensors; floating ones become float64 leaves that require
    grad, others are passed through. Keep the inputs off kinks (relu at 0, ties in max) by more
    than `eps`: see `strategies.distinct_arrays`. Arrays go to minigrad's default device.
    """
    label = name or _describe(fn)
    leaves = [_float64_leaf(x, default_device()) for x in inputs]
    out = fn(*leaves)
    generator = torch.Generator().manual_seed(seed)
    grad_out = torch.randn(out.shape, generator=generator, dtype=torch.float64)
    grad_out = grad_out.to(out.device)
    out.backward(grad_out)

    for i, leaf in enumerate(leaves):
        if not (isinstance(leaf, Tensor) and leaf.requires_grad):
            continue
        got = leaf.grad._data if leaf.grad is not None else torch.zeros_like(leaf._data)
        expected, noise = _numerical_gradient(fn, leaves, i, grad_out, eps)
        close = (got - expected).abs() <= atol + noise + rtol * expected.abs()
        if bool(close.all()):
            continue
        first = tuple(int(j) for j in (~close).nonzero()[0])
        raise AssertionError(
            f"Gradient check failed for function {label}: argument {i} (shape "
            f"{tuple(leaf.shape)}), index {first}: got derivative {got[first].item()!r}, "
            f"expected {expected[first].item()!r} (central differences, eps {eps:g}; "
            f"{int((~close).sum())} of {got.numel()} elements differ)."
        )


def _numerical_gradient(
    fn: Callable[..., Tensor],
    inputs: Sequence[Any],
    which: int,
    grad_out: torch.Tensor,
    eps: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """g . d(fn)/d(inputs[which]) by central differences, one input element at a time, and how
    far float64's rounding of the outputs can move each of them (see gradcheck)."""
    x = inputs[which]._data
    flat_result = torch.empty(x.numel(), dtype=torch.float64, device=x.device)
    flat_noise = torch.empty_like(flat_result)
    step = torch.zeros(x.numel(), dtype=x.dtype, device=x.device)

    def output_at(shift: torch.Tensor) -> torch.Tensor:
        moved = list(inputs)
        moved[which] = Tensor(x + shift.view(x.shape))
        return fn(*moved)._data

    with no_grad():
        for i in range(x.numel()):
            step[i] = eps
            # Subtract before weighting by g: outputs that do not depend on x[i] cancel exactly,
            # instead of adding their rounding errors to the sum.
            up, down = output_at(step), output_at(-step)
            change = up - down
            flat_result[i] = (change * grad_out).sum() / (2 * eps)
            # A few units in the last place of every output, weighted as above: an output whose
            # change is below its last place comes out unchanged, so "did it move" cannot tell
            # which outputs depend on x[i].
            sizes = up.abs() + down.abs()
            flat_noise[i] = ROUNDING_ULPS * EPS64 * (sizes * grad_out.abs()).sum() / (2 * eps)
            step[i] = 0
    return flat_result.view(x.shape), flat_noise.view(x.shape)


EPS64 = torch.finfo(torch.float64).eps  # 2.2e-16: one unit in the last place, relative
ROUNDING_ULPS = 4  # how far a few float64 ops can round an output off its exact value


def _to_tensors(
    array: Any, device: str | torch.device, requires_grad: bool = True
) -> tuple[Tensor, torch.Tensor]:
    """One input as a minigrad Tensor and a torch tensor with the same values and dtype (both
    requiring grad if it is floating-point and requires_grad says so)."""
    values = torch.as_tensor(np.asarray(array)).to(device)
    differentiable = values.is_floating_point() and requires_grad
    theirs = values.clone().requires_grad_(differentiable)
    return Tensor(values, requires_grad=differentiable), theirs


def _float64_leaf(x: Any, device: torch.device) -> Any:
    if isinstance(x, Tensor):
        x = x._data
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x)).to(device)
    values = x
    if not values.is_floating_point():
        return Tensor(values)
    return Tensor(values.detach().to(torch.float64, copy=True), requires_grad=True)


def _upstream(upstream: Any, out: torch.Tensor, seed: int) -> torch.Tensor:
    if upstream is None:
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(out.shape, generator=generator, dtype=out.dtype).to(out.device)
    return torch.as_tensor(np.asarray(upstream), dtype=out.dtype, device=out.device)


def _describe(fn: Callable[..., Any]) -> str:
    """A function's name; for a lambda, its source (which is what the reader wrote)."""
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, type):  # a classmethod such as MyOp.apply
        return f"{owner.__name__}.{fn.__name__}"
    name = getattr(fn, "__qualname__", repr(fn))
    if "<lambda>" not in name:
        return name
    try:
        source = inspect.getsource(fn).strip()
    except (OSError, TypeError):
        return name
    start = source.find("lambda")
    text = " ".join(source[start:].split())
    return text if len(text) <= 80 else text[:77] + "..."
