"""torch.autograd's two calls: `backward` from several tensors at once, and `grad`, which
returns gradients instead of adding them into `.grad`.

    (dw,) = minigrad.autograd.grad(loss, [w])     # w.grad is left as it was
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..errors import GradientError, shape_str
from ..tensor import Tensor, unwrap
from .engine import retain, run_backward
from .function import Context, node_of


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """d(outputs)/d(inputs), weighted by `grad_outputs` (dLoss/dOutput, like backward's
    `gradient`; leave it out for single numbers). Inputs may be any tensors of the graph, not
    only leaves. No `.grad` changes. An input the outputs do not depend on is an error, unless
    `allow_unused=True` (its gradient is then None, or zeros with `materialize_grads=True`).

    `create_graph=True` records the backward pass, so the gradients can be differentiated
    again (retain_graph then defaults to True). `is_grads_batched=True`: each grad_output has
    a leading batch dim, and the result is one gradient per entry of it, stacked (torch does
    this with vmap; minigrad with one backward pass per entry). `only_inputs` is ignored, as in
    torch (it always is).
    """
    outputs, inputs = _as_list(outputs, "outputs"), _as_list(inputs, "inputs")
    if materialize_grads and allow_unused is False:
        raise ValueError(
            "grad(): materialize_grads=True gives zeros for the inputs the outputs do not use, "
            "so allow_unused=False contradicts it: leave allow_unused out, or set it to True."
        )
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    for i, inp in enumerate(inputs):
        if not inp.requires_grad:
            raise GradientError(
                f"grad(): input {i} (shape {shape_str(inp.shape)}) does not require grad, so "
                "nothing flows back to it. Call .requires_grad_() on it before the forward pass."
            )
    retain = create_graph if retain_graph is None else retain_graph
    if is_grads_batched:
        return _batched(outputs, inputs, grad_outputs, retain, create_graph, allow_unused,
                        materialize_grads)  # fmt: skip
    capture = Capture(inputs)
    roots = _roots(outputs, grad_outputs, create_graph)
    run_backward(roots, retain, create_graph, capture, targets=inputs)
    results: list[Tensor | None] = []
    for i, (inp, value) in enumerate(zip(inputs, capture.gradients())):
        if value is None and not allow_unused:
            raise GradientError(
                f"grad(): input {i} (shape {shape_str(inp.shape)}) was not used to compute the "
                "outputs, so it has no gradient. Pass allow_unused=True to get None for it."
            )
        if value is None and materialize_grads:
            value = torch.zeros_like(inp._data)
        if value is not None and not isinstance(value, Tensor):
            value = Tensor(value)
        if create_graph and value is not None and value.name is None and inp.name:
            value.name = f"d_{inp.name}"  # a gradient with a graph: explain calls its own d_d_x
        results.append(value)
    return tuple(results)


def _batched(
    outputs: list[Tensor],
    inputs: list[Tensor],
    grad_outputs: Any,
    retain_graph: bool,
    create_graph: bool,
    allow_unused: bool,
    materialize_grads: bool,
) -> tuple[Tensor | None, ...]:
    """grad() once per entry of the grad_outputs' leading dim, the results stacked."""
    given = [grad_outputs] if isinstance(grad_outputs, (Tensor, torch.Tensor)) else grad_outputs
    if given is None or any(g is None for g in given):
        raise GradientError(
            "grad(is_grads_batched=True) needs grad_outputs: one tensor per output, each with a "
            "leading batch dim (the batch of vectors to multiply the Jacobian by)."
        )
    given = [g if isinstance(g, Tensor) else Tensor(g) for g in given]
    sizes = {len(g) for g in given}
    if len(sizes) != 1:
        raise GradientError(
            f"grad(is_grads_batched=True): the grad_outputs' leading dims differ "
            f"({sorted(sizes)}); each holds the same batch of vectors, one per output."
        )
    (size,) = sizes
    per_entry = [
        grad(outputs, inputs, [g[k] for g in given], True if k < size - 1 else retain_graph,
             create_graph, allow_unused=allow_unused, materialize_grads=materialize_grads)
        for k in range(size)
    ]  # fmt: skip
    from ..ops import Stack  # (the ops import this package)

    return tuple(
        None if any(r[i] is None for r in per_entry) else Stack.apply(*[r[i] for r in per_entry])
        for i in range(len(inputs))
    )


def accumulate_into(tensors: Tensor | Sequence[Tensor]) -> Any:
    """What backward(inputs=...) does with gradients: add them into these tensors' `.grad`
    (leaves or not), and into no other."""
    wanted = {(id(node_of(t)), t._output_nr): t for t in _as_list(tensors, "inputs")}

    def arrive(node: Any, grads: list[Any]) -> None:
        for index, grad in enumerate(grads):
            tensor = wanted.get((id(node), index))
            if tensor is not None and grad is not None:
                tensor._accumulate_grad(grad)

    return arrive


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
        if type(node) is Context and node.retains_grad:
            retain(node, grads)

    def gradients(self) -> list[Any]:
        """The gradient of each tensor asked for (None where none reached it)."""
        return [self.caught[key] for key in self.keys]


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Any = None,
    inputs: Tensor | Sequence[Tensor] | None = None,
) -> None:
    """Backpropagate from several tensors at once (their gradients add up in the leaves'
    `.grad`), as `torch.autograd.backward`; `grad_variables` is torch's old name for
    `grad_tensors`, `inputs` and `create_graph` as in Tensor.backward."""
    if grad_variables is not None:
        grad_tensors = grad_variables if grad_tensors is None else grad_tensors
    roots = _roots(_as_list(tensors, "tensors"), grad_tensors, create_graph)
    retain = create_graph if retain_graph is None else retain_graph
    inputs = None if inputs is None else _as_list(inputs, "inputs")
    arrive = None if inputs is None else accumulate_into(inputs)
    run_backward(roots, retain, create_graph, arrive, targets=inputs)


def _as_list(values: Tensor | Sequence[Tensor], what: str) -> list[Tensor]:
    values = [values] if isinstance(values, Tensor) else list(values)
    for i, value in enumerate(values):
        if not isinstance(value, Tensor):
            raise TypeError(f"{what}[{i}] must be a minigrad Tensor, got {type(value).__name__}")
    return values


def _roots(
    outputs: list[Tensor], grad_outputs: Any, create_graph: bool
) -> list[tuple[Tensor, Any]]:
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
        if given.shape != out.shape:
            raise GradientError(
                f"the gradient for output {i} has shape {shape_str(given.shape)}, the output "
                f"{shape_str(out.shape)}: they must match."
            )
        if not (create_graph and isinstance(given, Tensor)):  # (with it, a graph is kept)
            given = unwrap(given)
        roots.append((out, given.to(out.device)))
    return roots
