"""torch.autograd's two calls: `backward` from several tensors at once, and `grad`, which
returns gradients instead of adding them into `.grad`.

    (dw,) = minigrad.autograd.grad(loss, [w])     # w.grad is left as it was
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..errors import GradientError, shape_str
from ..tensor import Tensor
from .engine import run_backward
from .function import node_of


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs), weighted by `grad_outputs` (dLoss/dOutput, like backward's
    `gradient`; leave it out for single numbers). Inputs may be any tensors of the graph, not
    only leaves. No `.grad` changes. An input the outputs do not depend on is an error, unless
    `allow_unused=True` (its gradient is then None, or zeros with `materialize_grads=True`)."""
    if create_graph:
        raise GradientError(
            "create_graph=True asks for a graph of the backward pass itself (for gradients of "
            "gradients). minigrad computes gradients as plain numbers, so it gives first-order "
            "gradients only: leave create_graph out."
        )
    outputs, inputs = _as_list(outputs, "outputs"), _as_list(inputs, "inputs")
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    for i, inp in enumerate(inputs):
        if not inp.requires_grad:
            raise GradientError(
                f"grad(): input {i} (shape {shape_str(inp.shape)}) does not require grad, so "
                "nothing flows back to it. Call .requires_grad_() on it before the forward pass."
            )
    roots = _roots(outputs, grad_outputs)
    capture = Capture(inputs)
    run_backward(roots, retain_graph=bool(retain_graph), arrive=capture)
    results: list[Tensor | None] = []
    for i, (inp, value) in enumerate(zip(inputs, capture.gradients())):
        if value is None and not allow_unused:
            raise GradientError(
                f"grad(): input {i} (shape {shape_str(inp.shape)}) was not used to compute the "
                "outputs, so it has no gradient. Pass allow_unused=True to get None for it."
            )
        if value is None and materialize_grads:
            value = torch.zeros_like(inp._data)
        results.append(None if value is None else Tensor(value))
    return tuple(results)


class Capture:
    """Where `grad()` keeps gradients: those reaching the tensors asked for, kept here instead
    of added into any `.grad` (what the engine does with a node's gradient is up to this)."""

    def __init__(self, tensors: list[Tensor]) -> None:
        self.keys = [(id(node_of(t)), t._output_nr) for t in tensors]
        self.caught: dict[tuple[int, int], Any] = dict.fromkeys(self.keys)

    def __call__(self, node: Any, grads: list[Any]) -> None:
        for index, grad in enumerate(grads):
            if (id(node), index) in self.caught and grad is not None:
                self.caught[(id(node), index)] = grad

    def gradients(self) -> list[Any]:
        """The gradient of each tensor asked for (None where none reached it)."""
        return [self.caught[key] for key in self.keys]


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
) -> None:
    """Backpropagate from several tensors at once (their gradients add up in the leaves'
    `.grad`), as `torch.autograd.backward`."""
    run_backward(_roots(_as_list(tensors, "tensors"), grad_tensors), bool(retain_graph))


def _as_list(values: Tensor | Sequence[Tensor], what: str) -> list[Tensor]:
    values = [values] if isinstance(values, Tensor) else list(values)
    for i, value in enumerate(values):
        if not isinstance(value, Tensor):
            raise TypeError(f"{what}[{i}] must be a minigrad Tensor, got {type(value).__name__}")
    return values


def _roots(outputs: list[Tensor], grad_outputs: Any) -> list[tuple[Tensor, Any]]:
    """Each output with dLoss/dOutput: the one given, or None (1) for a single number."""
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, torch.Tensor)):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(
            f"got {len(grad_outputs)} gradients for {len(outputs)} outputs: give one per output "
            "(None for a single number)."
        )
    roots = []
    for i, (out, given) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:
            raise GradientError(
                f"output {i} does not require grad: none of the tensors it was computed from "
                "had requires_grad=True (or it was computed under no_grad())."
            )
        if given is None:
            if out.numel() != 1:
                raise GradientError(
                    f"output {i} has shape {shape_str(out.shape)}: give its gradient in "
                    "grad_outputs (an implicit gradient of 1 exists only for a single number)."
                )
            roots.append((out, None))  # the engine starts it at 1
            continue
        given = given._data if isinstance(given, Tensor) else given
        if given.shape != out.shape:
            raise GradientError(
                f"the gradient for output {i} has shape {shape_str(given.shape)}, the output "
                f"{shape_str(out.shape)}: they must match."
            )
        roots.append((out, given.to(out.device)))
    return roots
