"""torch.func's function transforms, small: gradients as functions of their inputs.

    from minigrad import func
    df = func.grad(f)                  # df(x) is the gradient of f (a number) at x
    d2f = func.grad(func.grad(f))      # they nest: the second derivative, for x of one element
    loss = func.functional_call(model, params, (x,))   # model run with other weights (MAML)
    per_sample = func.vmap(func.grad(loss_of), in_dims=(None, 0, 0))   # one gradient per example

An argument to differentiate may be a Tensor or a dict, tuple or list of them (a model's
parameters by name): its gradient comes back in the same shape.

Each transform calls autograd.grad on tensors of its own (copies of the inputs that require
grad), keeping the graph (create_graph=True) so that an outer transform, or an outer backward()
through tensors the function closes over, can differentiate the result again. A result that
depends on nothing outside the transform comes back without a graph, as torch's does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch

from .autograd import functional
from .autograd.engine import topological_order
from .autograd.function import Context, node_of
from .autograd.grad_mode import enable_grad
from .autograd.gradients import grad as autograd_grad
from .creation import stack
from .tensor import Tensor

__all__ = [
    "functional_call", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp",
    "stack_module_state", "vjp", "vmap",
]  # fmt: skip


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
            fresh = {i: [_own(leaf, i) for leaf in _leaves(args[i])] for i in picked}
            for i, tensors in fresh.items():
                args[i] = _rebuilt(args[i], iter(tensors))
            result = func(*args, **kwargs)
            value, aux = result if has_aux else (result, None)
            if not isinstance(value, Tensor) or value.numel() != 1:
                raise RuntimeError(
                    "grad(f)(...): f must return a single number (a Tensor with one element), "
                    f"got {type(value).__name__}"
                    + (f" of shape {tuple(value.shape)}" if isinstance(value, Tensor) else "")
                    + "; for other outputs use jacrev or vjp."
                )
            ours = [tensor for tensors in fresh.values() for tensor in tensors]
            grads = autograd_grad(value, ours, create_graph=True, allow_unused=True)
        grads = iter(
            _plain(g if g is not None else Tensor(torch.zeros_like(x._data)), ours)
            for g, x in zip(grads, ours)
        )
        per_argument = tuple(_rebuilt(args[i], grads) for i in picked)  # each in its arg's shape
        gradient = per_argument[0] if isinstance(argnums, int) else per_argument
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


def jacrev(
    func: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """A function that returns the Jacobian of func with respect to its argument(s) `argnums`
    (reverse mode: one backward pass per output element); with has_aux, func returns
    (output, aux), and the result is (Jacobian, aux)."""

    def transformed(*args: Any) -> Any:
        picked = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        auxes: list[Any] = []
        call = _aux_kept(func, has_aux, auxes)

        def of_picked(*values: Tensor) -> Any:
            full = list(args)
            for i, v in zip(picked, values):
                full[i] = v
            return call(*full)

        # keep the graph when an argument requires grad: an outer transform differentiates on
        outside = any(isinstance(a, Tensor) and a.requires_grad for a in args)
        wrt = args[argnums] if isinstance(argnums, int) else tuple(args[i] for i in picked)
        jacobian = functional.jacobian(of_picked, wrt, create_graph=outside)
        return (jacobian, auxes[0]) if has_aux else jacobian

    return transformed


def jacfwd(
    func: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    *,
    randomness: str = "error",
) -> Callable[..., Any]:
    """The Jacobian, as jacrev gives it. torch's jacfwd builds it column by column in forward
    mode (one pass per input element, the cheaper way when there are fewer inputs than
    outputs); minigrad differentiates in reverse mode only, so jacfwd is jacrev under torch's
    name: the same matrix, one backward pass per output element. (`randomness` is vmap's.)"""
    _check_randomness(randomness)
    return jacrev(func, argnums, has_aux)


def jvp(
    func: Callable[..., Any],
    primals: Sequence[Tensor],
    tangents: Sequence[Tensor],
    *,
    strict: bool = False,
    has_aux: bool = False,
) -> tuple[Any, ...]:
    """(func(*primals), J v): how func's output moves when its inputs move along `tangents`
    (forward mode in torch). minigrad computes it by the double-backward trick (see
    autograd.functional.jvp): u -> J^T u is linear in u, so its own vector-Jacobian product
    with v is J v. With has_aux, func returns (output, aux), and this (output, J v, aux)."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "jvp(func, primals, tangents): primals and tangents must be tuples (one entry per "
            f"argument of func), got {type(primals).__name__} and {type(tangents).__name__}; "
            "for one argument write jvp(func, (x,), (v,))."
        )
    if len(primals) != len(tangents):
        raise RuntimeError(
            f"jvp: {len(primals)} primals but {len(tangents)} tangents: give one tangent per "
            "primal, of its shape."
        )
    for i, (p, v) in enumerate(zip(primals, tangents)):
        if not isinstance(p, Tensor) or not isinstance(v, Tensor) or p.shape != v.shape:
            raise RuntimeError(
                f"jvp: tangent {i} must be a Tensor of primal {i}'s shape "
                f"{tuple(getattr(p, 'shape', ()))}, got "
                + (f"shape {tuple(v.shape)}" if isinstance(v, Tensor) else type(v).__name__)
            )
    auxes: list[Any] = []
    output_of = _aux_kept(func, has_aux, auxes)
    outside = any(p.requires_grad for p in primals)  # an outer transform differentiates on
    output, jv = functional.jvp(output_of, tuple(primals), tuple(tangents),
                                create_graph=outside, strict=strict)  # fmt: skip
    return (output, jv, auxes[0]) if has_aux else (output, jv)


def hessian(func: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """A function that returns the Hessian of func with respect to `argnums`: the Jacobian of
    its Jacobian (torch's jacfwd(jacrev(func))), so for a func of one number the Jacobian of its
    gradient, and for one with several outputs one Hessian per output."""
    return jacfwd(jacrev(func, argnums), argnums)


def vmap(
    func: Callable[..., Any],
    in_dims: Any = 0,
    out_dims: Any = 0,
    randomness: str = "error",
    *,
    chunk_size: int | None = None,
) -> Callable[..., Any]:
    """func mapped over a dim of its inputs: vmap(f)(x)[i] is f(x[i]), for f written for one
    example. `in_dims` says which dim of each positional argument is mapped (0 by default;
    None for an argument every call gets whole; a tuple with one entry per argument, each an
    int, None, or a dict, tuple or list matching that argument); the results are stacked along
    `out_dims`. Nested, vmap(vmap(f)) maps over two dims; vmap(grad(f)) gives one gradient per
    example.

    torch runs f once on batched tensors; minigrad runs it once per slice, in a Python loop, and
    stacks the results: the same numbers (and gradients flow back through the stack), at the
    cost of one call per example (`chunk_size` is accepted and changes nothing).

    randomness: "error" (torch's default) refuses an f that draws random numbers; "different"
    lets each example draw its own; "same" gives every example the same draws.
    """
    _check_randomness(randomness)
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size must be None or a positive int, got {chunk_size!r}")

    @functools.wraps(func)
    def mapped(*args: Any, **kwargs: Any) -> Any:
        leaves, dims = _mapped_leaves(args, in_dims)
        size = _mapped_size(leaves, dims, in_dims)
        start = _random_state()
        results = []
        for i in range(size):
            if randomness == "same":
                _set_random_state(start)
            sliced = [x if d is None else x.select(d, i) for x, d in zip(leaves, dims)]
            results.append(func(*_rebuilt(args, iter(sliced)), **kwargs))
            if randomness == "error" and not _same_random_state(start, _random_state()):
                raise RuntimeError(
                    "vmap: the function drew random numbers (dropout, randn, ...) while "
                    "randomness='error' (the default). Pass randomness='different' (each example "
                    "its own draws) or 'same' (one draw for all), or draw outside vmap."
                )
        return _stacked(results, out_dims)

    return mapped


def _aux_kept(func: Callable[..., Any], has_aux: bool, auxes: list[Any]) -> Callable[..., Any]:
    """func itself; or, with has_aux (func returns (output, aux)), a function that returns the
    output and keeps the aux in `auxes`, for the transform to hand back beside its result."""
    if not has_aux:
        return func

    def output_only(*args: Any) -> Any:
        output, aux = func(*args)
        auxes.append(aux)
        return output

    return output_only


def _check_randomness(randomness: str) -> None:
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(  # (torch's type)
            f"randomness must be 'error', 'different' or 'same', got {randomness!r}"
        )


def _leaves(tree: Any) -> list[Any]:
    """The values inside nested tuples, lists and dicts, in order (a Tensor is one leaf)."""
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _leaves(item)]
    if isinstance(tree, dict):
        return [leaf for item in tree.values() for leaf in _leaves(item)]
    return [tree]


def _rebuilt(tree: Any, leaves: Iterator[Any]) -> Any:
    """`tree`'s structure, with its leaves taken in order from `leaves`."""
    if isinstance(tree, (tuple, list)):
        items = [_rebuilt(item, leaves) for item in tree]
        return type(tree)(*items) if hasattr(tree, "_fields") else type(tree)(items)
    if isinstance(tree, dict):
        return type(tree)((key, _rebuilt(item, leaves)) for key, item in tree.items())
    return next(leaves)


def _dims_for(arg: Any, dims: Any, index: int) -> list[Any]:
    """One in_dim per leaf of argument `index`: an int or None applies to all of them; a
    tuple, list or dict gives them one by one, in the argument's own structure."""
    if dims is None or isinstance(dims, int):
        return [dims] * len(_leaves(arg))
    if isinstance(dims, (tuple, list)) and isinstance(arg, (tuple, list)) and len(dims) == len(arg):
        return [d for item, sub in zip(arg, dims) for d in _dims_for(item, sub, index)]
    if isinstance(dims, dict) and isinstance(arg, dict) and list(dims) == list(arg):
        return [
            d for item, sub in zip(arg.values(), dims.values()) for d in _dims_for(item, sub, index)
        ]
    if isinstance(dims, dict) and isinstance(arg, dict) and dims.keys() == arg.keys():
        raise ValueError(  # torch pairs them by order, which would silently swap dims here
            f"vmap: in_dims' dict for argument {index} lists its keys in another order "
            f"({list(dims)}) than the argument ({list(arg)}): write them in the argument's order."
        )
    raise ValueError(
        f"vmap: in_dims gives {dims!r} for argument {index}, which does not match that "
        f"argument's structure ({type(arg).__name__}): give an int or None for the whole "
        "argument, or the same nesting of tuples, lists and dicts."
    )


def _mapped_leaves(args: tuple[Any, ...], in_dims: Any) -> tuple[list[Any], list[Any]]:
    """Every leaf of the arguments, and the dim along which each is mapped (None: not mapped)."""
    if in_dims is None or isinstance(in_dims, int):
        per_argument = [in_dims] * len(args)
    elif isinstance(in_dims, (tuple, list)) and len(in_dims) == len(args):
        per_argument = list(in_dims)
    else:
        raise ValueError(
            f"vmap: in_dims={in_dims!r} must be an int, None, or a tuple with one entry per "
            f"positional argument (the function got {len(args)})."
        )
    leaves, dims = [], []
    for index, (arg, arg_dims) in enumerate(zip(args, per_argument)):
        for leaf, dim in zip(_leaves(arg), _dims_for(arg, arg_dims, index)):
            if dim is not None:
                if not isinstance(leaf, Tensor):
                    raise ValueError(
                        f"vmap: in_dim={dim} for argument {index}, a {type(leaf).__name__}: "
                        "only Tensors can be mapped over. Give it in_dim None."
                    )
                if not -leaf.ndim <= dim < leaf.ndim:
                    raise ValueError(
                        f"vmap: in_dim={dim} for argument {index}, of shape {tuple(leaf.shape)}: "
                        f"a {leaf.ndim}-d tensor's dims run from {-leaf.ndim} to {leaf.ndim - 1}."
                    )
            leaves.append(leaf)
            dims.append(dim)
    return leaves, dims


def _mapped_size(leaves: list[Any], dims: list[Any], in_dims: Any) -> int:
    """The size of the mapped dim, the same in every mapped argument."""
    sizes = [(x.shape[d], tuple(x.shape), d) for x, d in zip(leaves, dims) if d is not None]
    if not sizes:
        raise ValueError(
            f"vmap: nothing to map over: in_dims={in_dims!r} maps no Tensor argument. At least "
            "one argument must have an int in_dim."
        )
    if len({size for size, _, _ in sizes}) > 1:
        listed = ", ".join(f"{n} (dim {d} of shape {shape})" for n, shape, d in sizes)
        raise ValueError(
            f"vmap: the mapped dims have different sizes: {listed}. Every mapped argument "
            "needs the same size along its in_dim (one entry per example)."
        )
    size = sizes[0][0]
    if size == 0:
        raise ValueError(
            "vmap: the mapped dim has size 0. minigrad's vmap calls the function once per "
            "example, and with none it cannot tell the shape of the result."
        )
    return size


def _stacked(results: list[Any], out_dims: Any) -> Any:
    """The results of each call, in the first one's structure, each leaf stacked along its
    out_dim (None: the leaf is the same in every call and comes back once)."""
    columns = list(zip(*[_leaves(result) for result in results]))
    dims = _dims_for(results[0], out_dims, 0) if not isinstance(out_dims, int) else None
    stacked = []
    for j, column in enumerate(columns):
        dim = out_dims if dims is None else dims[j]
        if not all(isinstance(value, Tensor) for value in column):
            kind = next(type(v).__name__ for v in column if not isinstance(v, Tensor))
            raise ValueError(
                f"vmap: the function must return Tensors (or tuples, lists and dicts of them), "
                f"got a {kind}. Return it as a tensor (minigrad.tensor(value))."
            )
        if dim is None:
            if any(not torch.equal(value._data, column[0]._data) for value in column):
                raise ValueError(
                    "vmap: out_dims None for an output that differs from one example to the "
                    "next: it needs a dim to be stacked along (an int out_dim)."
                )
            stacked.append(column[0])
            continue
        if not -column[0].ndim - 1 <= dim <= column[0].ndim:
            raise IndexError(  # (torch's type: its dim check)
                f"vmap: out_dim={dim} for an output of shape {tuple(column[0].shape)}: the "
                f"stacked output has {column[0].ndim + 1} dims."
            )
        stacked.append(stack(list(column), dim=dim))
    return _rebuilt(results[0], iter(stacked))


def _random_state() -> list[torch.Tensor]:
    """torch's generators' states (the CPU's, and each GPU's once CUDA is in use)."""
    states = [torch.get_rng_state()]
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states += torch.cuda.get_rng_state_all()
    return states


def _set_random_state(states: list[torch.Tensor]) -> None:
    torch.set_rng_state(states[0])
    if len(states) > 1:
        torch.cuda.set_rng_state_all(states[1:])


def _same_random_state(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


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


def stack_module_state(models: Sequence[Any]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """The parameters and buffers of several models of one architecture, each stacked along a
    new first dim: ({"0.weight": (len(models), ...), ...}, {buffers alike}). With
    functional_call and vmap, one call runs every model (an ensemble). The stacked parameters
    are new leaves that require grad (when the models' do), as torch's."""
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: expected at least one model, got 0")
    names = [sorted(dict(model.named_parameters())) for model in models]
    if any(listed != names[0] for listed in names):
        raise RuntimeError(
            "stack_module_state: the models have different parameters (their names differ): "
            "stacking needs models of one architecture."
        )

    def stacked(tensors: list[Tensor], name: str) -> Tensor:
        shapes = {tuple(t.shape) for t in tensors}
        if len(shapes) > 1:
            raise RuntimeError(
                f"stack_module_state: {name} has different shapes in the models "
                f"({sorted(shapes)}): stacking needs models of one architecture."
            )
        needs = {t.requires_grad for t in tensors}
        if len(needs) > 1:
            raise RuntimeError(
                f"stack_module_state: {name} requires grad in some models and not in others."
            )
        result = stack([t.detach() for t in tensors])
        return result.requires_grad_() if needs == {True} else result

    params = {
        name: stacked([dict(model.named_parameters())[name] for model in models], name)
        for name in dict(models[0].named_parameters())
    }
    buffers = {
        name: stacked([dict(model.named_buffers())[name] for model in models], name)
        for name in dict(models[0].named_buffers())
    }
    return params, buffers


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
