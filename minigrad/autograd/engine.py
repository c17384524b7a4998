"""The backward pass: reverse-mode differentiation over the recorded graph.

The graph's nodes are the ops that ran (each a `Context`) and the leaves (tensors the user made).
Each op node has an edge per input to the node that made that input (`ctx.parents`).

1. Sort the nodes so that every node comes after the nodes that made its inputs.
2. Walk that order backwards from the output, starting from dLoss/dLoss = 1. At each op node,
   ask the op for the gradients of its inputs (the chain rule) and add them to what those
   inputs' nodes have already received: a tensor used twice gets both contributions.
3. At a leaf, add the gradient into its `.grad`.

Only nodes that require grad take part; everything else keeps `.grad` as None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import torch

from ..errors import GradientError, shape_str
from ..jit import recording
from . import anomaly_mode
from .function import Context

if TYPE_CHECKING:
    from ..tensor import Tensor

Node = Any  # a Context (an op that ran) or a leaf Tensor


class BackwardObserver(Protocol):
    """Something that watches the backward pass step by step (see `minigrad.trace`)."""

    def on_begin(self, root: Tensor, grad: torch.Tensor) -> None: ...

    def on_node(self, ctx: Context, grads: list[Any], input_grads: list[Any]) -> None: ...

    def on_leaf(self, leaf: Tensor, grad: torch.Tensor) -> None: ...


# Set by `minigrad.trace.tracing()`: watches every backward() that is given no observer.
active_observer: BackwardObserver | None = None


def is_op_node(node: Node) -> bool:
    """An op that ran (a Context), as opposed to a leaf tensor."""
    return isinstance(node, Context)


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
        if is_op_node(node):
            for edge, needs_grad in zip(node.parents, node.needs_input_grad):
                if needs_grad and id(edge[0]) not in visited:
                    stack.append((edge[0], False))
    return order


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
    dims = list(range(extra)) + stretched
    if dims:
        grad = grad.sum(dim=dims, keepdim=True)
    return grad.reshape(shape)


def backward(
    root: Tensor,
    grad: torch.Tensor,
    retain_graph: bool = False,
    observer: BackwardObserver | None = None,
) -> None:
    """Backpropagate `grad` (dLoss/dRoot) from `root` to every leaf that requires grad."""
    if observer is not None:
        observer.on_begin(root, grad)
    run_backward([(root, grad)], retain_graph, observer)


def run_backward(
    roots: Sequence[tuple[Tensor, torch.Tensor]],
    retain_graph: bool = False,
    observer: BackwardObserver | None = None,
    capture: dict[tuple[int, int], Any] | None = None,
) -> None:
    """The backward pass from several roots at once, each with its gradient.

    With `capture` (keys: (id(node), output index) of the tensors asked for, as made by
    `autograd.grad`), the gradients reaching those tensors are stored there instead, and no
    leaf's `.grad` changes.
    """
    received: dict[int, list[Any]] = {}  # per node: dLoss/dOutput, summed over all uses
    for tensor, grad in roots:
        node = tensor._ctx if tensor._ctx is not None else tensor
        _receive(received, node, tensor._output_nr, grad)
    starts = [tensor._ctx if tensor._ctx is not None else tensor for tensor, _ in roots]
    for node in reversed(topological_order(starts)):
        grads = received.pop(id(node), None)
        if grads is None:  # nothing flowed here (a custom op returned None for this input)
            continue
        if capture is not None:
            for index, grad in enumerate(grads):
                if (id(node), index) in capture and grad is not None:
                    capture[(id(node), index)] = grad
        recorder = recording.active  # minigrad.compile, writing the step down
        if not is_op_node(node):  # a leaf
            if capture is None:
                if recorder is not None:
                    previous = recorder.enter_accumulate(node, grads[0])
                node._accumulate_grad(grads[0])
                if recorder is not None:
                    recorder.exit_accumulate(node, previous)
                if observer is not None:
                    observer.on_leaf(node, grads[0])
            continue
        ctx = node
        if ctx.retains_grad and capture is None:
            _keep_retained_grads(ctx, grads)
        if recorder is not None:
            previous = recorder.enter_backward(ctx, grads)
        grads = _complete(ctx, grads)
        input_grads = ctx.function.backward(ctx, *grads)  # the chain rule, one op at a time
        fitted = _fit_input_grads(ctx, input_grads)
        for i, (edge, input_grad) in enumerate(zip(ctx.parents, fitted)):
            if input_grad is not None:
                total = _receive(received, edge[0], edge[1], input_grad)
                if recorder is not None:
                    recorder.gradient_of(ctx.inputs[i] if ctx.inputs else None, total)
        if recorder is not None:
            recorder.enter(previous)
        if observer is not None:
            observer.on_node(ctx, grads, fitted)
        if not retain_graph:
            ctx.release()


def _receive(
    received: dict[int, list[Any]], node: Node, index: int, grad: torch.Tensor
) -> torch.Tensor:
    """Add `grad` to what output `index` of `node` has received so far; return the sum."""
    slots = received.get(id(node))
    if slots is None:
        count = len(node.outputs) if is_op_node(node) and len(node.outputs) > 1 else 1
        slots = received[id(node)] = [None] * count
    slots[index] = grad if slots[index] is None else slots[index] + grad
    return slots[index]


def _complete(ctx: Context, grads: list[Any]) -> list[Any]:
    """An op with several outputs gets a gradient for each: zeros for an output nobody used."""
    if len(grads) == 1:
        return grads
    return [
        torch.zeros(shape, dtype=dtype, device=device) if grad is None else grad
        for grad, (shape, dtype, device) in zip(grads, ctx.output_meta)
    ]


def _keep_retained_grads(ctx: Context, grads: list[Any]) -> None:
    """`.grad` on the outputs that asked for it with retain_grad()."""
    for index, grad in enumerate(grads):
        out = ctx.output(index)
        if out is not None and out._retains_grad and grad is not None:
            out._accumulate_grad(grad)


def _fit_input_grads(ctx: Context, input_grads: Any) -> list[Any]:
    """Check what an op's backward returned, and give each gradient its input's shape (summing
    over broadcast dims) and dtype. None where an input gets no gradient."""
    if not isinstance(input_grads, (tuple, list)):
        input_grads = (input_grads,)
    count = len(ctx.needs_input_grad)
    if len(input_grads) != count:
        raise GradientError(
            f"{ctx.name}.backward returned {len(input_grads)} gradients, but forward took "
            f"{count} inputs: return one per input (None where there is none)."
        )
    check_finite = anomaly_mode.is_anomaly_check_nan_enabled()
    fitted: list[Any] = []
    for i, (needs_grad, input_grad) in enumerate(zip(ctx.needs_input_grad, input_grads)):
        if not needs_grad or input_grad is None:
            fitted.append(None)
            continue
        input_grad = getattr(input_grad, "_data", input_grad)  # a minigrad Tensor is welcome
        shape, dtype = ctx.input_shape_dtype(i)
        if input_grad.shape != shape:  # the input was broadcast in forward
            input_grad = sum_to_shape(input_grad, shape, f"{ctx.name}.backward, input {i}: ")
        if input_grad.dtype != dtype:  # e.g. a float32 input met a float64 one
            input_grad = input_grad.to(dtype)
        if check_finite:
            _check_finite(ctx, i, input_grad)
        fitted.append(input_grad)
    return fitted


def _check_finite(ctx: Context, index: int, grad: torch.Tensor) -> None:
    """Anomaly mode: stop at the first op whose backward made a NaN or an infinity."""
    problem = anomaly_mode.non_finite(grad)
    if problem is None:
        return
    label = ctx.function.input_labels(len(ctx.needs_input_grad))[index]
    raise GradientError(
        f"anomaly: {ctx.name}.backward gave {problem} values in the gradient of its input "
        f"{label!r} (shape {shape_str(grad.shape)}).\n"
        f"  Its rule: {ctx.function.rule()}\n"
        f"  The {ctx.name} op was made here:\n    "
        + anomaly_mode.where_created(ctx.created_at).replace("\n", "\n    ")
        + "\nLook at the values this op saw there (a log or division at 0, an exp that "
        "overflowed, a sqrt at 0...)."
    )
