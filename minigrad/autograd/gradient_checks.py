"""torch.autograd's gradcheck and gradgradcheck, with torch's signatures and behaviour.

    from minigrad.autograd import gradcheck, gradgradcheck
    x = minigrad.randn(3, 4, dtype=minigrad.float64, requires_grad=True)
    assert gradcheck(my_op, (x,))                  # first derivatives
    assert gradgradcheck(my_op, (x,))              # second derivatives

gradcheck builds each Jacobian twice and compares them: numerically, nudging one input element
at a time by +-eps (central differences), and analytically, with one backward pass per output
element (the vector-Jacobian product with a unit vector is one row of the Jacobian). They must
agree to `atol + rtol * |numerical|`. Use float64 inputs: in float32 the differences' rounding
alone exceeds the tolerance.

gradgradcheck runs gradcheck on the function that maps (inputs, grad_outputs) to the first
derivatives, computed with create_graph=True: the Jacobian of that function holds the second
derivatives (with respect to the inputs, and to the grad_outputs, which enter linearly).

As in torch: on a mismatch, a GradcheckError names the output and input and shows both
Jacobians; with `raise_exception=False` the check returns False instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..tensor import Tensor
from .gradients import grad


class GradcheckError(RuntimeError):
    """A gradient that differs from its finite-difference estimate (torch's name)."""


def gradcheck(
    func: Callable[..., Any],
    inputs: Tensor | Sequence[Any],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_batched_forward_grad: bool = False,
    check_forward_ad: bool = False,
    check_backward_ad: bool = True,
    fast_mode: bool = False,
    masked: bool | None = None,
) -> bool:
    """Check the gradients of `func` at `inputs` against finite differences (see the module).

    `inputs` is a Tensor or a tuple of them (and other values, passed as they are); the ones
    that require grad are checked. `func` returns a Tensor or a tuple of them. Accepted for
    torch's sake, with nothing more to check in minigrad: `nondet_tol` (minigrad's backward is
    deterministic), `check_undefined_grad` (an output no gradient reached always gets zeros),
    `fast_mode` (the full Jacobians are compared, which is what fast mode estimates), `masked`.
    minigrad has no forward-mode AD and no vmap: check_forward_ad, check_batched_grad and
    check_batched_forward_grad must stay False.
    """
    _refuse_unsupported(check_forward_ad, check_batched_grad, check_batched_forward_grad)
    if not check_backward_ad:
        raise ValueError(
            "gradcheck: check_backward_ad=False leaves nothing to check in minigrad (it has no "
            "forward-mode AD): leave it True."
        )
    tupled = _as_tuple(inputs)
    _check_inputs(tupled)
    try:
        _compare_jacobians(func, tupled, eps, atol, rtol, check_grad_dtypes)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def gradgradcheck(
    func: Callable[..., Any],
    inputs: Tensor | Sequence[Any],
    grad_outputs: Tensor | Sequence[Tensor] | None = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    gen_non_contig_grad_outputs: bool = False,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_fwd_over_rev: bool = False,
    check_rev_over_rev: bool = True,
    fast_mode: bool = False,
    masked: bool = False,
) -> bool:
    """Check the second derivatives of `func` at `inputs` against finite differences of its
    first derivatives (see the module). `grad_outputs` default to random values in [-1, 1)
    that require grad, one per output, as torch draws them."""
    _refuse_unsupported(check_fwd_over_rev, check_batched_grad, False)
    tupled = _as_tuple(inputs)
    if grad_outputs is None:
        outputs = _differentiable(_as_tuple(func(*tupled)))
        gen = torch.Generator().manual_seed(0)
        tupled_grads = tuple(
            Tensor(
                (torch.rand(o.shape, generator=gen, dtype=torch.float64) * 2 - 1)
                .to(o.dtype)
                .to(o.device),
                requires_grad=True,
            )
            for o in outputs
        )
    else:
        tupled_grads = _as_tuple(grad_outputs)
    n = len(tupled_grads)
    wants_grad = [isinstance(x, Tensor) and x.requires_grad for x in tupled]

    def first_derivatives(*args: Any) -> tuple[Tensor, ...]:
        values, grads = args[:-n], args[-n:]
        outputs = _differentiable(_as_tuple(func(*values)))
        wrt = [x for x, wanted in zip(values, wants_grad) if wanted]
        found = grad(outputs, wrt, list(grads), create_graph=True, allow_unused=True)
        return tuple(g for g in found if g is not None)

    return gradcheck(
        first_derivatives,
        tupled + tupled_grads,
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
        check_grad_dtypes=check_grad_dtypes,
    )


# ---- the two Jacobians ------------------------------------------------------------------------


def _compare_jacobians(
    func: Callable[..., Any],
    inputs: tuple[Any, ...],
    eps: float,
    atol: float,
    rtol: float,
    check_grad_dtypes: bool,
) -> None:
    outputs = _as_tuple(func(*inputs))
    wrt = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    for o, out in enumerate(outputs):
        if not (isinstance(out, Tensor) and out.is_floating_point()):
            continue
        numerical = [_numerical_jacobian(func, inputs, i, o, eps) for i in wrt]
        if not out.requires_grad:  # its derivatives must then be zero
            for i, n in zip(wrt, numerical):
                if not torch.allclose(n, torch.zeros_like(n), rtol=rtol, atol=atol):
                    raise GradcheckError(
                        f"Numerical gradient for function expected to be zero: output {o} does "
                        f"not require grad, but moving input {i} changes it."
                    )
            continue
        analytical = _analytical_jacobian(out, [inputs[i] for i in wrt], check_grad_dtypes)
        for i, a, n in zip(wrt, analytical, numerical):
            if not torch.allclose(a, n.to(a.dtype), rtol=rtol, atol=atol):
                raise GradcheckError(
                    f"Jacobian mismatch for output {o} with respect to input {i},\n"
                    f"numerical:{n}\nanalytical:{a}\n"
                )


def _numerical_jacobian(
    func: Callable[..., Any], inputs: tuple[Any, ...], which: int, output: int, eps: float
) -> torch.Tensor:
    """d(output)/d(inputs[which]) by central differences: column j moves element j by +-eps.
    Rows are the output's elements, columns the input's (torch's layout, transposed)."""
    x = inputs[which]._data
    out_size = _as_tuple(func(*inputs))[output].numel()
    jacobian = torch.zeros(x.numel(), out_size, dtype=x.dtype, device=x.device)
    for j in range(x.numel()):
        values = []
        for shift in (eps, -eps):
            moved = x.clone(memory_format=torch.contiguous_format)
            moved.view(-1)[j] += shift
            args = list(inputs)  # (requiring grad as it did: func may differentiate inside)
            args[which] = Tensor(moved, requires_grad=inputs[which].requires_grad)
            values.append(_as_tuple(func(*args))[output]._data.reshape(-1).to(x.dtype))
        jacobian[j] = (values[0] - values[1]) / (2 * eps)
    return jacobian


def _analytical_jacobian(
    out: Tensor, inputs: list[Tensor], check_grad_dtypes: bool
) -> list[torch.Tensor]:
    """d(out)/d(each input) by backward passes: row r of the Jacobian is the gradient of
    out's element r (one pass with a unit vector as the upstream gradient)."""
    jacobians = [
        torch.zeros(x.numel(), out.numel(), dtype=x.dtype, device=x.device) for x in inputs
    ]
    for r in range(out.numel()):
        unit = torch.zeros(out.numel(), dtype=out.dtype, device=out.device)
        unit[r] = 1
        found = grad(out, inputs, unit.view(out.shape), retain_graph=True, allow_unused=True)
        for x, g, jacobian in zip(inputs, found, jacobians):
            if g is None:
                continue
            if check_grad_dtypes and g.dtype != x.dtype:
                raise GradcheckError(
                    f"Gradient has dtype mismatch: {g.dtype} for an input of dtype {x.dtype}"
                )
            jacobian[:, r] = g._data.reshape(-1)
    return jacobians


# ---- inputs and outputs ------------------------------------------------------------------------


def _as_tuple(values: Any) -> tuple[Any, ...]:
    return tuple(values) if isinstance(values, (tuple, list)) else (values,)


def _differentiable(outputs: tuple[Any, ...]) -> tuple[Tensor, ...]:
    return tuple(o for o in outputs if isinstance(o, Tensor) and o.requires_grad)


def _check_inputs(inputs: tuple[Any, ...]) -> None:
    needing = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not needing:
        raise ValueError(
            "gradcheck expects at least one input tensor to require gradient, but none of them "
            "have requires_grad=True."
        )
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad and x.dtype != torch.float64:
            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point. "
                "This check will likely fail if all the inputs are not of double precision "
                "floating point.",
                stacklevel=3,
            )


def _refuse_unsupported(forward_ad: bool, batched: bool, batched_forward: bool) -> None:
    if forward_ad or batched or batched_forward:
        raise NotImplementedError(
            "minigrad has no forward-mode AD and no vmap: check_forward_ad, check_fwd_over_rev, "
            "check_batched_grad and check_batched_forward_grad must stay False (torch's "
            "defaults)."
        )
