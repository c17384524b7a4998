"""The backward pass: reverse-mode differentiation over the recorded graph.

The graph's nodes are the ops that ran (each a `Context`) and the leaves (tensors the user made).
Each op node links each of its inputs to the node that made it (`ctx.parents`).

1. Sort the nodes so that every node comes after the nodes that made its inputs.
2. Walk that order backwards from the output, starting from dLoss/dLoss = 1. At each op node,
   ask the op for the gradients of its inputs (the chain rule) and add them to what those
   inputs' nodes have already received: a tensor used twice gets both contributions.
3. At a leaf, add the gradient into its `.grad`.

Only nodes that require grad take part; everything else keeps `.grad` as None. A tensor's hooks
(`register_hook`) get its gradient once it is complete, at its node, and may replace it before
it flows on; so may a node's pre-hooks (`grad_fn.register_prehook`), and its hooks
(`grad_fn.register_hook`) what its op gave the inputs. Whoever watches the pass (a trace, a
recording, anomaly mode) hears of each step through `events`; the loop below does not know who
that is.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..errors import GradientError, shape_str
from ..tensor import Tensor
from . import events
from .function import Context, node_of
from .grad_mode import set_grad_enabled

Node = Any  # a Context (an op that ran) or a leaf Tensor
Arrive = Callable[[Node, list[Any]], None]  # what to do with a node's gradient once complete


def run_backward(
    roots: Sequence[tuple[Tensor, Any]],
    retain_graph: bool = False,
    create_graph: bool = False,
    arrive: Arrive | None = None,
    targets: Sequence[Tensor] | None = None,
) -> None:
    """Backpropagate from several tensors at once, each with its gradient dLoss/dTensor (None
    for a single number: 1).

    `arrive(node, grads)` is given each node's gradient once it is complete; by default
    (`accumulate`) a leaf adds it into its `.grad`. With `create_graph`, the ops' backward
    formulas are recorded as they run, so the gradients have a graph of their own. `targets`
    (autograd.grad's inputs, backward's inputs=): only the gradients that flow to them are
    computed, as in torch (a layer's weight gradient is not computed for d_out/d_x).
    """
    listener = events.current
    if listener is not None:
        listener.backward_begin(list(roots))
    arrive = arrive or accumulate
    received: dict[int, list[Any]] = {}  # per node: dLoss/d(each output), summed over its uses
    for tensor, grad in roots:
        if grad is None:  # a single number: dLoss/dLoss = 1
            grad = torch.ones_like(tensor._data)
        add_gradient(received, node_of(tensor), tensor._output_nr, as_gradient(grad, create_graph))
    order = topological_order([node_of(tensor) for tensor, _ in roots])
    leading = None if targets is None else inputs_leading_to(order, targets)
    with set_grad_enabled(create_graph):
        for node in reversed(order):
            grads = received.pop(id(node), None)
            if grads is None:  # nothing flowed here (a custom op returned None for this input)
                continue
            if leading is not None and id(node) not in leading:
                continue  # on no path to the tensors asked for: nothing to compute here
            if node._grad_hooks:  # hooks of the user's (Tensor.register_hook, register_prehook)
                grads = run_hooks(node, grads, create_graph)
            if listener is not None:
                listener.node_begin(node, grads)
            input_grads = totals = []  # (the previous node's let go: `arrive` may take one)
            arrive(node, grads)  # (None for an output nobody used: it was not used)
            if type(node) is Context:  # an op that ran (else a leaf)
                if len(grads) > 1:  # zeros for an output nobody used
                    grads = complete(node, grads)
                needs = node.needs_input_grad if leading is None else leading[id(node)]
                input_grads = chain_rule(node, grads, create_graph, needs)
                if node._post_hooks:  # hooks of the user's on what it gave (grad_fn.register_hook)
                    input_grads = run_post_hooks(node, input_grads, grads, create_graph)
                input_grads, totals = pass_on(received, node, input_grads, create_graph, needs)
            if listener is not None:
                listener.node_end(node, grads, input_grads, totals)
            if not retain_graph and type(node) is Context:
                node.release()
    if listener is not None:
        listener.backward_end()


def run_hooks(node: Node, grads: list[Any], create_graph: bool) -> list[Any]:
    """Each gradient through the hooks registered on its tensor, in order: a hook sees it as a
    Tensor and may return another, which the next hook and the rest of the pass then get. Then
    all of them at once through the node's pre-hooks (grad_fn.register_prehook), as torch
    orders them."""
    grads = list(grads)
    hooks = tuple(node._grad_hooks.values())
    for output, hook in hooks:
        if output is None or grads[output] is None:
            continue  # (a pre-hook, below; an output nobody used: no gradient to show)
        changed = hook(shown(grads[output], create_graph))
        if changed is not None:
            grads[output] = replacement(grads[output], changed, create_graph, "register_hook")
    for output, hook in hooks:
        if output is None:
            changed = hook(tuple([shown(grad, create_graph) for grad in grads]))
            if changed is not None:
                grads = replacements(grads, changed, create_graph, "register_prehook")
    return grads


def run_post_hooks(ctx: Context, input_grads: Any, grads: list[Any], create_graph: bool) -> list:
    """The hooks on the node's backward (grad_fn.register_hook), in order: each sees the
    gradients the op gave its inputs and those it was given, and may replace the former."""
    if type(input_grads) is not tuple and type(input_grads) is not list:
        input_grads = (input_grads,)
    input_grads = list(ctx.function.shown_gradients(ctx, tuple(input_grads)))  # torch's order
    given = tuple([shown(grad, create_graph) for grad in grads])
    for hook in tuple(ctx._post_hooks.values()):
        changed = hook(tuple([shown(grad, create_graph) for grad in input_grads]), given)
        if changed is not None:
            input_grads = replacements(input_grads, changed, create_graph, "grad_fn.register_hook")
    return list(ctx.function.shown_gradients(ctx, tuple(input_grads), back=True))


def shown(grad: Any, create_graph: bool) -> Any:
    """A gradient as a hook sees it: a Tensor (None for none)."""
    return grad if grad is None or create_graph else Tensor(grad)


def replacements(old: list[Any], new: Any, create_graph: bool, what: str) -> list[Any]:
    """What a hook returned for several gradients at once: one for each, None for none."""
    if len(new) != len(old):
        raise GradientError(
            f"a hook ({what}) got {len(old)} gradients and returned {len(new)}: it returns one "
            "for each (None where there is none), or None to leave them as they are."
        )
    fitted = []
    for grad, changed in zip(old, new):
        if changed is None:  # none there
            fitted.append(None)
        elif grad is None:  # (an output nobody used: nothing to compare it with)
            fitted.append(as_gradient(changed, create_graph))
        else:
            fitted.append(replacement(grad, changed, create_graph, what))
    return fitted


def replacement(grad: Any, changed: Any, create_graph: bool, what: str) -> Any:
    """A gradient a hook returned in place of `grad`: the same shape, dtype and device."""
    changed = as_gradient(changed, create_graph)
    if (changed.shape, changed.dtype, changed.device) != (grad.shape, grad.dtype, grad.device):
        raise GradientError(
            f"a hook ({what}) got a gradient of shape {shape_str(grad.shape)}, {grad.dtype}, on "
            f"{grad.device}, and returned one of shape {shape_str(changed.shape)}, "
            f"{changed.dtype}, on {changed.device}: a hook may change a gradient's values, not "
            "its shape, dtype or device."
        )
    return changed


def chain_rule(ctx: Context, grads: list[Any], create_graph: bool, needs: tuple[bool, ...]) -> Any:
    """The op's backward: its inputs' gradients from its outputs' (what backward returned: one
    per input, None where an input gets none). A Function of yours gets minigrad Tensors, as
    torch's does; minigrad's own ops get torch tensors, unless the pass records its gradients'
    graph (create_graph), when every gradient is a minigrad Tensor.

    `needs`: the inputs whose gradients this pass wants, when fewer than the op's
    needs_input_grad (autograd.grad(out, x) wants no weight gradient); minigrad's own ops see
    it as needs_input_grad while they run and skip the others (a Function of yours keeps its
    ctx.needs_input_grad, as in torch, and what it returns for the others is dropped)."""
    if not ctx.function.on_torch_tensors:
        if not create_graph:
            grads = [Tensor(grad) if grad is not None else None for grad in grads]
        return ctx.function.backward(ctx, *grads)
    if needs is ctx.needs_input_grad:  # (the usual case)
        return ctx.function.backward(ctx, *grads)
    if True not in needs:  # a tensor asked for, made from none of the others
        return [None] * len(needs)
    full, ctx.needs_input_grad = ctx.needs_input_grad, needs
    try:
        return ctx.function.backward(ctx, *grads)
    finally:
        ctx.needs_input_grad = full


def pass_on(
    received: dict[int, list[Any]],
    ctx: Context,
    input_grads: Any,
    create_graph: bool,
    needs: tuple[bool, ...],
) -> tuple[list[Any], list[Any]]:
    """Check what an op's backward returned, give each gradient its input's shape (summing over
    broadcast dims) and dtype, and add it to what the node that made that input has received.
    Returns the gradients so fitted and the sums so far (None where an input gets none, or,
    with `needs`, where this pass wants none)."""
    if type(input_grads) is not tuple and type(input_grads) is not list:
        input_grads = (input_grads,)
    if len(input_grads) != len(needs):
        raise GradientError(
            f"{ctx.op_name}.backward returned {len(input_grads)} gradients, but forward took "
            f"{len(needs)} inputs: return one per input (None where there is none)."
        )
    fitted: list[Any] = [None] * len(needs)
    totals: list[Any] = [None] * len(needs)
    for i, grad in enumerate(input_grads):
        if grad is None or not needs[i]:
            continue
        if (type(grad) is torch.Tensor) is create_graph:  # the kind this pass carries
            grad = as_gradient(grad, create_graph)
        shape, dtype = ctx.input_shape_dtype(i)
        if grad.shape != shape or grad.dtype != dtype:
            grad = fit_to_input(grad, shape, dtype, f"{ctx.op_name}.backward, input {i}: ")
        fitted[i] = grad
        totals[i] = add_gradient(received, ctx.parents[i], ctx.parent_outputs[i], grad)
    return fitted, totals


def fit_to_input(grad: Any, shape: torch.Size, dtype: torch.dtype, why: str) -> Any:
    """An input's gradient with the input's shape (summed over the dims broadcasting added or
    stretched in forward) and dtype (a float32 input that met a float64 one)."""
    if grad.shape != shape:
        grad = sum_to_shape(grad, shape, why)
    return grad if grad.dtype == dtype else grad.to(dtype)


def inputs_leading_to(order: list[Node], targets: Sequence[Tensor]) -> dict[int, Any]:
    """For each node of `order` (inputs first) on a path to one of `targets`: for an op, which
    of its inputs lead to a target (a node off every such path is not in the result)."""
    leading: dict[int, Any] = {id(node_of(t)): () for t in targets}
    for node in order:
        if type(node) is Context:
            leads = tuple(
                [needs and id(parent) in leading
                 for parent, needs in zip(node.parents, node.needs_input_grad)]
            )  # fmt: skip
            if True in leads or id(node) in leading:
                leading[id(node)] = leads
    return leading


def as_gradient(grad: Any, create_graph: bool) -> Any:
    """A gradient as the pass carries it: a torch tensor, or with create_graph a minigrad
    Tensor (a constant, unless it is a Tensor with a graph of its own)."""
    if create_graph:
        return grad if isinstance(grad, Tensor) else Tensor(grad)
    return grad._data if isinstance(grad, Tensor) else grad


def is_op_node(node: Node) -> bool:
    """An op that ran (a Context), as opposed to a leaf tensor."""
    return type(node) is Context


def topological_order(roots: Sequence[Node]) -> list[Node]:
    """Every node that `roots` depend on through inputs that need a gradient, inputs first.

    A depth-first search with an explicit stack instead of recursion, so that a chain of
    100,000 ops does not overflow Python's call stack.
    """
    order: list[Node] = []
    visited: set[int] = set()  # ids: nodes compare by identity, never by value
    stack: list[tuple[Node, bool]] = [(root, False) for root in reversed(roots)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)  # every node it depends on is already in `order`
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if type(node) is Context:
            for parent, needs_grad in zip(node.parents, node.needs_input_grad):
                if needs_grad and id(parent) not in visited:
                    stack.append((parent, False))
    return order


def add_gradient(received: dict[int, list[Any]], node: Node, output: int, grad: Any) -> Any:
    """Add `grad` to what output `output` of `node` has received; return the sum so far."""
    slots = received.get(id(node))
    if slots is None:
        count = len(node.outputs) if type(node) is Context and node.outputs else 1
        slots = received[id(node)] = [None] * count
    slots[output] = grad if slots[output] is None else slots[output] + grad
    return slots[output]


def accumulate(node: Node, grads: list[Any]) -> None:
    """Where `backward()` keeps gradients: a leaf adds its own into `.grad`, and so does each
    output of an op that asked for it with `retain_grad()`. A leaf's first gradient that
    nothing but the engine holds becomes its `.grad` as it is (torch, too, steals it); any
    other is copied, so that `.grad` is the leaf's own to change in place."""
    if type(node) is not Context:  # a leaf
        owned = node._grad is None and events.current is None and held_only_by(grads, 0)
        node._accumulate_grad(grads[0], owned)
    elif node.retains_grad:
        retain(node, grads)


def held_only_by(holder: list[Any], index: int) -> bool:
    """Whether holder[index] is a torch tensor that nothing else holds: no other name refers to
    it (the user's gradient, another node's), and no other tensor shares its memory (a view of
    it, or it a view). Contiguous, as a copy of it would be."""
    if type(holder[index]) is not torch.Tensor or _references(holder, index) != _ALONE:
        return False
    grad = holder[index]
    if grad.layout is not torch.strided:  # (sparse: no memory of its own to count)
        return False
    return _memory_users(grad) == _MEMORY_ALONE and grad.is_contiguous()


def _references(holder: list[Any], index: int) -> int:
    return sys.getrefcount(holder[index])


def _memory_users(tensor: torch.Tensor) -> int:
    """How many tensors use `tensor`'s memory (each view counts), plus one for asking."""
    return torch._C._storage_Use_Count(tensor.untyped_storage()._cdata)


# What the two read for a tensor held by one list and nothing else, on this Python and torch.
_ALONE = _references([torch.empty(1)], 0)
_MEMORY_ALONE = _memory_users(torch.empty(1))


def retain(ctx: Context, grads: list[Any]) -> None:
    """`.grad` for the outputs of `ctx` that asked for it with retain_grad() (autograd.grad
    fills them too, as torch's does); called where `ctx.retains_grad` says one did."""
    for index, grad in enumerate(grads):
        out = ctx.output(index)
        if out is not None and out._retains_grad and grad is not None:
            out._accumulate_grad(grad)


def complete(ctx: Context, grads: list[Any]) -> list[Any]:
    """An op with several outputs gets a gradient for each: zeros for an output nobody used
    (None if its forward asked for that with ctx.set_materialize_grads(False))."""
    if not ctx.materialize_grads:
        return grads
    if not any(grad is None for grad in grads):  # (not `None in grads`: that compares with ==)
        return grads
    like = next(grad for grad in grads if grad is not None)
    return [
        like.new_zeros(shape, dtype=dtype) if grad is None else grad
        for grad, (shape, dtype, _) in zip(grads, ctx.output_meta)
    ]


def sum_to_shape(grad: torch.Tensor, shape: torch.Size, why: str = "") -> torch.Tensor:
    """Undo broadcasting: sum `grad` over the dims that broadcasting added or stretched.

    If x of shape (3, 1) was broadcast to (2, 3, 4), each x[i, 0] was used 2 * 4 times, so its
    gradient is the sum of those 8 gradients: sum over dim 0 (added) and dim 2 (stretched from 1).
    """
    extra = grad.ndim - len(shape)
    if extra < 0 or any(n != 1 and n != g for n, g in zip(shape, grad.shape[extra:])):
        raise GradientError(
            f"{why}a gradient of shape {shape_str(grad.shape)} cannot belong to a tensor of shape "
            f"{shape_str(shape)}: a gradient has its tensor's shape, or a shape it broadcasts to."
        )
    stretched = [extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1]
    if not stretched:  # only dims added in front: summing them away leaves `shape`
        return grad.sum(dim=list(range(extra))) if extra else grad.reshape(shape)
    return grad.sum(dim=list(range(extra)) + stretched, keepdim=True).reshape(shape)
