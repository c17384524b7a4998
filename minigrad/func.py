"""torch.func's function transforms, small: gradients as functions of their inputs.

    from minigrad import func
    df = func.grad(f)                  # df(x) is the gradient of f (a number) at x
    d2f = func.grad(func.grad(f))      # they nest: the second derivative, for x of one element
    loss = func.functional_call(model, params, (x,))   # model run with other weights (MAML)

Each transform calls autograd.grad on tensors of its own (copies of the inputs that require
grad), keeping the graph (create_graph=True) so that an outer transform, or an outer backward()
through tensors the function closes over, can differentiate the result again. A result that
depends on nothing outside the transform comes back without a graph, as torch's does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from .autograd import functional
from .autograd.engine import topological_order
from .autograd.function import Context, node_of
from .autograd.grad_mode import enable_grad
from .autograd.gradients import grad as autograd_grad
from .tensor import Tensor

__all__ = ["functional_call", "grad", "grad_and_value", "hessian", "jacrev", "vjp"]


def grad_and_value(
    func: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """A function that returns (the gradient of func with respect to its argument(s) `argnums`,
    func's value); with has_aux, func returns (value, aux), and the result is
    (grad, (value, aux))."""

    def transformed(*args: Any, **kwargs: Any) -> Any:
        picked = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        args = list(args)
        with enable_grad():
            fresh = {i: _own(args[i], i) for i in picked}
            for i, tensor in fresh.items():
                args[i] = tensor
            result = func(*args, **kwargs)
            value, aux = result if has_aux else (result, None)
            if not isinstance(value, Tensor) or value.numel() != 1:
                raise RuntimeError(
                    "grad(f)(...): f must return a single number (a Tensor with one element), "
                    f"got {type(value).__name__}"
                    + (f" of shape {tuple(value.shape)}" if isinstance(value, Tensor) else "")
                    + "; for other outputs use jacrev or vjp."
                )
            grads = autograd_grad(value, list(fresh.values()), create_graph=True,
                                  allow_unused=True)  # fmt: skip
        ours = list(fresh.values())
        grads = tuple(
            _plain(g if g is not None else Tensor(torch.zeros_like(x._data)), ours)
            for g, x in zip(grads, ours)
        )
        gradient = grads[0] if isinstance(argnums, int) else grads
        value = _plain(value, ours)
        return (gradient, (value, aux)) if has_aux else (gradient, value)

    return transformed


def grad(
    func: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """A function that returns the gradient of func (which returns one number) with respect to
    its argument(s) `argnums` (with has_aux: (gradient, aux))."""
    both = grad_and_value(func, argnums, has_aux)

    def transformed(*args: Any, **kwargs: Any) -> Any:
        gradient, value = both(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient

    return transformed


def vjp(func: Callable[..., Any], *primals: Tensor, has_aux: bool = False) -> tuple[Any, ...]:
    """(func(*primals), vjp_fn): vjp_fn(v) gives v^T J, one gradient per primal."""
    with enable_grad():
        fresh = [_own(p, i) for i, p in enumerate(primals)]
        result = func(*fresh)
    output, aux = result if has_aux else (result, None)

    def vjp_fn(cotangents: Any) -> tuple[Tensor, ...]:
        outputs = output if isinstance(output, (tuple, list)) else (output,)
        vs = cotangents if isinstance(cotangents, (tuple, list)) else (cotangents,)
        with enable_grad():
            grads = autograd_grad(list(outputs), fresh, list(vs), retain_graph=True,
                                  create_graph=True, allow_unused=True)  # fmt: skip
        return tuple(
            _plain(g if g is not None else Tensor(torch.zeros_like(x._data)), fresh)
            for g, x in zip(grads, fresh)
        )

    plain_output = (
        tuple(_plain(o, fresh) for o in output)
        if isinstance(output, (tuple, list))
        else _plain(output, fresh)
    )
    return (plain_output, vjp_fn, aux) if has_aux else (plain_output, vjp_fn)


def jacrev(func: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """A function that returns the Jacobian of func with respect to its argument(s) `argnums`
    (reverse mode: one backward pass per output element)."""

    def transformed(*args: Any) -> Any:
        picked = (argnums,) if isinstance(argnums, int) else tuple(argnums)

        def of_picked(*values: Tensor) -> Any:
            full = list(args)
            for i, v in zip(picked, values):
                full[i] = v
            return func(*full)

        # keep the graph when an argument requires grad: an outer transform differentiates on
        outside = any(isinstance(a, Tensor) and a.requires_grad for a in args)
        if isinstance(argnums, int):
            return functional.jacobian(of_picked, args[argnums], create_graph=outside)
        return functional.jacobian(of_picked, tuple(args[i] for i in picked), create_graph=outside)

    return transformed


def hessian(func: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """A function that returns the Hessian of func (one number) with respect to `argnums`:
    the Jacobian of its gradient."""
    return jacrev(grad(func, argnums), argnums)


def functional_call(
    module: Any,
    parameter_and_buffer_dicts: Mapping[str, Tensor] | Sequence[Mapping[str, Tensor]],
    args: Any = None,
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """Call `module` with some of its parameters and buffers replaced by the given tensors
    ("layer.weight": tensor), then put its own back: the result is a function of those tensors
    (MAML differentiates a step taken with weights minus their gradients)."""
    dicts = (
        [parameter_and_buffer_dicts]
        if isinstance(parameter_and_buffer_dicts, Mapping)
        else list(parameter_and_buffer_dicts)
    )
    replacements: dict[str, Tensor] = {}
    for mapping in dicts:
        for name, tensor in mapping.items():
            if name in replacements:
                raise ValueError(f"functional_call: {name!r} is given twice")
            replacements[name] = tensor
    own = dict(module.named_parameters()) | dict(module.named_buffers())
    unknown = sorted(set(replacements) - set(own))
    if unknown:
        raise ValueError(
            f"functional_call: {module.__class__.__name__} has no parameter or buffer named "
            f"{', '.join(map(repr, unknown))}; its names are {', '.join(sorted(own)) or 'none'}."
        )
    if strict and set(own) - set(replacements):
        missing = ", ".join(sorted(set(own) - set(replacements)))
        raise ValueError(f"functional_call(strict=True): no tensor given for {missing}")
    saved = []
    try:
        for name, tensor in replacements.items():
            owner, attribute = _owner(module, name)
            saved.append((owner, attribute, vars(owner)[attribute]))
            object.__setattr__(owner, attribute, tensor)  # plain: not registered as a Parameter
        args = args if isinstance(args, tuple) else (() if args is None else (args,))
        return module(*args, **(kwargs or {}))
    finally:
        for owner, attribute, original in reversed(saved):
            object.__setattr__(owner, attribute, original)


def _owner(module: Any, name: str) -> tuple[Any, str]:
    """The submodule that holds `name` ("block.0.weight") and the attribute's own name."""
    path, _, attribute = name.rpartition(".")
    return dict(module.named_modules())[path], attribute


def _own(value: Any, index: int) -> Tensor:
    """The transform's own copy of an argument: linked to it when it requires grad (so an
    outer transform sees through), else a fresh leaf."""
    if not isinstance(value, Tensor):
        raise TypeError(
            f"argument {index} must be a minigrad Tensor to differentiate with respect to it, "
            f"got {type(value).__name__}"
        )
    return value.view_as(value) if value.requires_grad else value.detach().requires_grad_()


def _plain(result: Tensor, ours: list[Tensor]) -> Tensor:
    """`result` without a graph when it depends on nothing outside the transform (only on our
    own copies), as torch's transforms return it; with its graph otherwise."""
    if not isinstance(result, Tensor) or not result.requires_grad:
        return result
    own = {id(t) for t in ours}
    for node in topological_order([node_of(result)]):
        if type(node) is not Context and id(node) not in own:
            return result  # a leaf from outside requires grad: keep the graph for it
    return result.detach()
