"""The backward pass: reverse-mode differentiation over the recorded graph.

1. Sort the graph so that every tensor comes after the tensors it was computed from.
2. Walk that order backwards from the output, starting from dLoss/dLoss = 1. At each node, ask
   its op for the gradients of its inputs (the chain rule) and add them to what those inputs
   have already received: a tensor used twice gets both contributions.
3. At a leaf (a tensor made by the user, not by an op), add the gradient into its `.grad`.

Only tensors that require grad take part; everything else keeps `.grad` as None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import torch

from ..errors import GradientError, shape_str

if TYPE_CHECKING:
    from ..tensor import Tensor


class BackwardObserver(Protocol):
    """Something that watches the backward pass step by step (see `minigrad.trace`)."""

    def on_begin(self, root: Tensor, grad: torch.Tensor) -> None: ...

    def on_node(self, node: Tensor, grad: torch.Tensor, input_grads: list[Any]) -> None: ...

    def on_leaf(self, leaf: Tensor, grad: torch.Tensor) -> None: ...


# Set by `minigrad.trace.tracing()`: watches every backward() that is given no observer.
active_observer: BackwardObserver | None = None


def topological_order(root: Tensor) -> list[Tensor]:
    """Every tensor that `root` depends on (and that requires grad), inputs before outputs.

    A depth-first search with an explicit stack instead of recursion, so that a chain of
    100,000 ops does not overflow Python's call stack.
    """
    order: list[Tensor] = []
    visited: set[int] = set()  # ids: tensors compare by identity, never by value
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)  # all of its inputs are already in `order`
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        ctx = node._ctx
        if ctx is not None:
            for inp, needs_grad in zip(ctx.inputs, ctx.needs_input_grad):
                if needs_grad and id(inp) not in visited:
                    stack.append((inp, False))
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
    grads: dict[int, torch.Tensor] = {id(root): grad}  # dLoss/dNode, summed over all uses
    for node in reversed(topological_order(root)):
        grad = grads.pop(id(node), None)
        if grad is None:  # a custom op returned None for this input: nothing flows here
            continue
        ctx = node._ctx
        if ctx is None:  # a leaf
            node._accumulate_grad(grad)
            if observer is not None:
                observer.on_leaf(node, grad)
            continue
        if ctx.released:
            raise GradientError(
                f"Trying to backward through the graph a second time: the {ctx.name} node that "
                "made this tensor was freed by an earlier backward(). Pass retain_graph=True to "
                "the first backward() to keep the graph, or recompute the forward pass."
            )
        if node._retains_grad:
            node._accumulate_grad(grad)

        input_grads = ctx.function.backward(ctx, grad)  # the chain rule, one op at a time
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        if len(input_grads) != len(ctx.inputs):
            raise GradientError(
                f"{ctx.name}.backward returned {len(input_grads)} gradients, but forward took "
                f"{len(ctx.inputs)} inputs: return one per input (None where there is none)."
            )
        fitted = []
        for i, (inp, needs_grad, input_grad) in enumerate(
            zip(ctx.inputs, ctx.needs_input_grad, input_grads)
        ):
            if not needs_grad or input_grad is None:
                fitted.append(None)
                continue
            data = inp._data
            if input_grad.shape != data.shape:  # the input was broadcast in forward
                why = f"{ctx.name}.backward, input {i}: "
                input_grad = sum_to_shape(input_grad, data.shape, why)
            if input_grad.dtype != data.dtype:  # e.g. a float32 input met a float64 one
                input_grad = input_grad.to(data.dtype)
            key = id(inp)
            grads[key] = grads[key] + input_grad if key in grads else input_grad
            fitted.append(input_grad)

        if observer is not None:
            observer.on_node(node, grad, fitted)
        if not retain_graph:
            ctx.release()
