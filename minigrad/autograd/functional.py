"""torch.autograd.functional: derivatives of a function at a point, with torch's signatures.

    from minigrad.autograd.functional import jacobian, hessian, vjp, jvp, hvp, vhp
    hessian(lambda x: (x ** 3).sum(), x)        # d^2 f / dx^2, a (n, n) matrix for x of n

Each is made of `autograd.grad`:
- vjp(f, x, v): v^T J, one backward pass from f(x) with v as the upstream gradient;
- jvp(f, x, v): J v, by the double-backward trick: g(u) = u^T J is linear in u, so the gradient of
  g(u) . v with respect to u is J v (one backward pass with create_graph, then one more);
- jacobian(f, x): J, row by row: the vjp with each unit vector (a row per output element);
- hessian(f, x): the jacobian of the gradient (create_graph=True inside);
- vhp(f, x, v) = v^T H and hvp(f, x, v) = H v (equal for a symmetric H, which a Hessian is).

As in torch, the inputs are copied into fresh leaves (the function sees tensors of its own), the
results carry no graph unless create_graph=True, and with strict=True an output or a derivative
that does not depend on an input is an error instead of zeros. `vectorize` (torch's vmap) is
accepted and changes nothing here: the rows are computed one at a time either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..tensor import Tensor
from .grad_mode import enable_grad
from .gradients import grad


def vjp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """(func(inputs), v^T J): the vector-Jacobian product at `inputs`."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs")
    with enable_grad():
        inputs = _fresh(inputs, create_graph)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the function")
        _check_outputs(outputs, strict)
        v = _vectors(v, outputs, outputs_tuple, "vjp")
        grads = _grads(outputs, inputs, v, create_graph)
        result = _zeros_for_none(grads, inputs, strict, "vjp")
    return _plain(outputs, create_graph, outputs_tuple), _plain(result, create_graph, inputs_tuple)


def jvp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """(func(inputs), J v): the Jacobian-vector product, by the double-backward trick."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs")
    with enable_grad():
        inputs = _fresh(inputs, create_graph)
        v = _vectors(v, inputs, inputs_tuple, "jvp")
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the function")
        _check_outputs(outputs, strict)
        # u^T J is linear in u, so its value at u = 0 does not matter, only its graph does
        u = tuple(Tensor(torch.zeros_like(out._data), requires_grad=True) for out in outputs)
        u_J = _grads(outputs, inputs, u, create_graph=True)
        if strict and any(g is None for g in u_J):
            raise RuntimeError(_independent(u_J.index(None)))
        reached = [(g, vi) for g, vi in zip(u_J, v) if g is not None and g.requires_grad]
        if reached:
            grads, vs = zip(*reached)
            J_v = grad(list(grads), list(u), list(vs), create_graph=create_graph,
                       allow_unused=True)  # fmt: skip
        else:
            J_v = (None,) * len(u)
        result = _zeros_for_none(J_v, outputs, strict, "jvp")
    return _plain(outputs, create_graph, outputs_tuple), _plain(result, create_graph, outputs_tuple)


def jacobian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian of func at inputs: entry [i][j] has shape outputs[i].shape +
    inputs[j].shape (a Tensor when func takes one tensor and returns one)."""
    if strategy != "reverse-mode":
        raise NotImplementedError(
            f"jacobian(strategy={strategy!r}): minigrad has reverse mode only (no forward-mode "
            "AD); leave strategy at 'reverse-mode'."
        )
    inputs_tuple, inputs = _as_tuple(inputs, "inputs")
    with enable_grad():
        inputs = _fresh(inputs, create_graph)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the function")
        _check_outputs(outputs, strict)
        blocks = []
        for i, out in enumerate(outputs):
            rows: list[list[Tensor]] = [[] for _ in inputs]
            flat = out.reshape(-1)
            for k in range(flat.numel()):  # row k: the gradient of output element k
                row = (None,) * len(inputs)
                if out.requires_grad:
                    row = grad(flat[k], inputs, retain_graph=True, create_graph=create_graph,
                               allow_unused=True)  # fmt: skip
                for j, (g, x) in enumerate(zip(row, inputs)):
                    if g is None and strict:
                        raise RuntimeError(
                            f"Output {i} of the user-provided function is independent of input "
                            f"{j}. This is not allowed in strict mode."
                        )
                    rows[j].append(g if g is not None else Tensor(torch.zeros_like(x._data)))
            blocks.append(tuple(_stack(r, out.shape, x.shape, x) for r, x in zip(rows, inputs)))
    result = tuple(tuple(_plain_one(t, create_graph) for t in row) for row in blocks)
    if not outputs_tuple:
        result = tuple(row if inputs_tuple else row[0] for row in result)
        return result[0]
    return result if inputs_tuple else tuple(row[0] for row in result)


def hessian(
    func: Callable[..., Any],
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of func (which returns one number) at inputs: entry [i][j] has shape
    inputs[i].shape + inputs[j].shape (a Tensor for one input tensor)."""
    inputs_tuple, inputs = _as_tuple(inputs, "inputs")

    def gradient(*xs: Tensor) -> tuple[Tensor, ...]:
        out = _single_number(func(*xs), "hessian", strict)
        grads = grad(out, xs, create_graph=True, allow_unused=True)
        if strict and any(g is None for g in grads):
            raise RuntimeError(_independent(grads.index(None)))
        return tuple(
            g if g is not None else Tensor(torch.zeros_like(x._data)) for g, x in zip(grads, xs)
        )

    result = jacobian(gradient, inputs if inputs_tuple else inputs[0], create_graph, strict,
                      vectorize, outer_jacobian_strategy)  # fmt: skip
    return result if inputs_tuple else result[0]


def vhp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """(func(inputs), v^T H): the vector-Hessian product, by two backward passes."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(
    func: Callable[..., Any],
    inputs: Any,
    v: Any = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """(func(inputs), H v): the Hessian-vector product (H is symmetric: v^T H transposed)."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(
    func: Callable[..., Any], inputs: Any, v: Any, create_graph: bool, strict: bool, name: str
) -> tuple[Any, Any]:
    inputs_tuple, inputs = _as_tuple(inputs, "inputs")
    with enable_grad():
        inputs = _fresh(inputs, create_graph)
        out = _single_number(func(*inputs), name, strict)
        v = _vectors(v, inputs, inputs_tuple, name)
        grads = _grads((out,), inputs, None, create_graph=True)
        if strict and any(g is None for g in grads):
            raise RuntimeError(_independent(grads.index(None)))
        reached = [(g, vi) for g, vi in zip(grads, v) if g is not None and g.requires_grad]
        if reached:
            gs, vs = zip(*reached)
            products = grad(list(gs), inputs, list(vs), create_graph=create_graph,
                            allow_unused=True)  # fmt: skip
        else:
            products = (None,) * len(inputs)
        result = _zeros_for_none(products, inputs, strict, name)
    return _plain_one(out, create_graph), _plain(result, create_graph, inputs_tuple)


# ---- the pieces ---------------------------------------------------------------------------------


def _as_tuple(values: Any, what: str) -> tuple[bool, tuple[Tensor, ...]]:
    """(whether it was a tuple, its Tensors as a tuple)."""
    is_tuple = isinstance(values, (tuple, list))
    values = tuple(values) if is_tuple else (values,)
    for i, value in enumerate(values):
        if not isinstance(value, Tensor):
            raise TypeError(
                f"The {what} must be minigrad Tensors (or a tuple of them), but element {i} is "
                f"a {type(value).__name__}."
            )
    return is_tuple, values


def _fresh(inputs: tuple[Tensor, ...], create_graph: bool) -> tuple[Tensor, ...]:
    """New tensors for the function to see: linked to the given ones when create_graph keeps
    the graph, else detached leaves that require grad (as torch's _grad_preprocess)."""
    return tuple(
        x.view_as(x) if create_graph and x.requires_grad else x.detach().requires_grad_()
        for x in inputs
    )


def _vectors(v: Any, like: tuple[Tensor, ...], is_tuple: bool, name: str) -> tuple[Tensor, ...]:
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(
                f"{name}: v can be left out only when it multiplies a single number; give one "
                "tensor per " + ("output" if name == "vjp" else "input") + ", of its shape."
            )
        return (Tensor(torch.ones_like(like[0]._data)),)
    _, v = _as_tuple(v, "v")
    if len(v) != len(like):
        raise RuntimeError(
            f"v is a tuple of invalid length: should be {len(like)} but got {len(v)}."
            if is_tuple
            else "The given v should contain a single Tensor."
        )
    for i, (vi, x) in enumerate(zip(v, like)):
        if vi.shape != x.shape:
            prefix = f"Entry {i} in " if is_tuple else ""
            raise RuntimeError(
                f"{prefix}v has invalid size: should be {x.shape} but got {vi.shape}."
            )
    return v


def _check_outputs(outputs: tuple[Tensor, ...], strict: bool) -> None:
    if strict:
        for i, out in enumerate(outputs):
            if not out.requires_grad:
                raise RuntimeError(
                    f"Output {i} of the user-provided function does not require gradients. The "
                    "outputs must be computed in a differentiable manner from the input when "
                    "running in strict mode."
                )


def _grads(outputs: Any, inputs: tuple[Tensor, ...], v: Any, create_graph: bool) -> tuple:
    """autograd.grad over the outputs that require grad (None for inputs they do not use)."""
    pairs = [(o, None if v is None else vi) for o, vi in zip(outputs, v or [None] * len(outputs))]
    pairs = [(o, vi) for o, vi in pairs if o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    outs, vs = zip(*pairs)
    given = None if v is None else list(vs)
    return grad(list(outs), inputs, given, create_graph=create_graph, allow_unused=True)


def _zeros_for_none(grads: Any, like: tuple[Tensor, ...], strict: bool, name: str) -> tuple:
    filled = []
    for i, (g, x) in enumerate(zip(grads, like)):
        if g is None:
            if strict:
                raise RuntimeError(_independent(i))
            g = Tensor(torch.zeros_like(x._data))
        filled.append(g)
    return tuple(filled)


def _independent(i: int) -> str:
    return (
        f"The output of the user-provided function is independent of input {i}. This is not "
        "allowed in strict mode."
    )


def _single_number(out: Any, name: str, strict: bool) -> Tensor:
    if isinstance(out, (tuple, list)) or not isinstance(out, Tensor):
        raise RuntimeError(f"The function given to {name} should return a single Tensor")
    if out.numel() != 1:
        raise RuntimeError(
            f"The Tensor returned by the function given to {name} should contain a single "
            f"element (it has shape {tuple(out.shape)})"
        )
    _check_outputs((out,), strict)
    return out.reshape(())


def _stack(rows: list[Tensor], out_shape: Any, in_shape: Any, like: Tensor) -> Tensor:
    """Rows of the Jacobian (one per output element) into shape out_shape + in_shape."""
    from ..ops import Stack  # (the ops import this package)

    if not rows:
        shape = tuple(out_shape) + tuple(in_shape)
        return Tensor(torch.zeros(shape, dtype=like.dtype, device=like.device))
    return Stack.apply(*rows).reshape(tuple(out_shape) + tuple(in_shape))


def _plain_one(t: Tensor, create_graph: bool) -> Tensor:
    return t if create_graph else t.detach()


def _plain(values: tuple[Tensor, ...], create_graph: bool, as_tuple: bool) -> Any:
    values = tuple(_plain_one(t, create_graph) for t in values)
    return values if as_tuple else values[0]
