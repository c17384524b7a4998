"""Watch the backward pass, one step at a time.

    loss.backward(trace=True)        # prints every step
    with minigrad.trace.tracing():   # the same, for every backward() inside the block
        loss.backward()

For each op, in the order backward visits them: the op and the tensor it made, the gradient
arriving at that tensor (dLoss/dTensor), the op's local rule (the chain rule's other factor),
and the gradient it sends to each input. At the end, what each leaf's `.grad` holds.
Large gradients are summarized by norm, min and max; small ones are printed in full.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import torch

from .autograd import events
from .autograd.engine import is_op_node
from .autograd.function import Context
from .tensor import Tensor
from .viz import node_names, shape_text, summarize


class BackwardTrace(events.Listener):
    """A listener to the backward pass that prints each step (`backward(trace=...)`).

    `file`: where to print (standard output by default; None at print time, so pytest's capture
    and `contextlib.redirect_stdout` work). `echo=False` keeps quiet and only collects `lines`.
    """

    def __init__(self, file: TextIO | None = None, echo: bool = True, max_numbers: int = 4):
        self.file = file
        self.echo = echo
        self.max_numbers = max_numbers
        self.lines: list[str] = []
        self._names: dict[int, str] = {}  # per node (an op, or a leaf tensor)
        self._contributions: dict[int, int] = {}  # node id -> how many gradients it received
        self._step = 0

    def backward_begin(self, roots: list[tuple[Tensor, Any]]) -> None:
        """A backward() starts: name every tensor now, while the whole graph is still linked
        up (backward releases each node right after visiting it)."""
        self._step = 0
        self._contributions = {}
        root, grad = roots[0]
        self._names = node_names(root)
        name = self._name(root._ctx if root._ctx is not None else root)
        given = grad if grad is not None else torch.ones_like(root._data)  # dloss/dloss = 1
        self._emit(f"backward from {name}, dLoss/d{name} = {self._describe(given)}")

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    def _emit(self, line: str) -> None:
        self.lines.append(line)
        if self.echo:
            print(line, file=self.file or sys.stdout)

    def _name(self, node: Context | Tensor) -> str:
        fallback = node.op_name if is_op_node(node) else node.name
        return self._names.get(id(node)) or fallback or "?"

    def _describe(self, values: Any) -> str:
        values = getattr(values, "_data", values)  # a gradient with a graph (create_graph)
        return f"{shape_text(values)} {summarize(values, self.max_numbers)}"

    def node_begin(self, node: Context | Tensor, grads: list[Any]) -> None:
        if not is_op_node(node):  # a leaf: note its .grad, to tell whether it gets added to
            grad = node._grad
            self._leaf_grad = (grad, grad._data._version) if grad is not None else None

    def node_end(
        self, node: Context | Tensor, grads: list[Any], input_grads: list[Any], totals: list[Any]
    ) -> None:
        if is_op_node(node):
            self._op_step(node, grads, input_grads)
        else:
            self._leaf_step(node, grads[0])

    def _op_step(self, ctx: Context, grads: list[Any], input_grads: list[Any]) -> None:
        self._step += 1
        out = ctx.output()
        shape = shape_text(out) if out is not None else shape_text(grads[0])
        self._emit(f"[{self._step}] {ctx.op_name} -> {self._name(ctx)} {shape}")
        uses = self._contributions.get(id(ctx), 1)
        summed = f" (the sum of {uses} contributions)" if uses > 1 else ""
        for grad in grads:
            self._emit(f"    grad in:  {self._describe(grad)}{summed}")
        self._emit(f"    rule:     {ctx.function.rule()}")
        labels = ctx.function.input_labels(len(ctx.needs_input_grad))
        for parent, label, input_grad in zip(ctx.parents, labels, input_grads):
            if input_grad is None:
                continue
            self._contributions[id(parent)] = self._contributions.get(id(parent), 0) + 1
            self._emit(f"    to {self._name(parent)} ({label}): {self._describe(input_grad)}")

    def _leaf_step(self, leaf: Tensor, grad: Any) -> None:
        uses = self._contributions.get(id(leaf), 1)
        summed = f" (the sum of {uses} contributions)" if uses > 1 else ""
        stored = leaf._grad
        if stored is not None and (stored, stored._data._version) != self._leaf_grad:
            shown = f".grad = {summarize(stored._data, self.max_numbers)}"
        else:  # autograd.grad(): the gradient is returned, no .grad changes
            shown = f"gradient = {summarize(getattr(grad, '_data', grad), self.max_numbers)}"
        self._emit(f"leaf {self._name(leaf)} {shape_text(leaf)}{summed}: {shown}")


@contextmanager
def tracing(trace: BackwardTrace | None = None) -> Iterator[BackwardTrace]:
    """Trace every `backward()` called inside the block (one BackwardTrace for all of them)."""
    with events.listening(BackwardTrace() if trace is None else trace) as listener:
        yield listener


events.make_trace = BackwardTrace  # what backward(trace=True) listens with
