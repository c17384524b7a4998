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

from .autograd import engine
from .tensor import Tensor
from .viz import input_labels, op_rule, shape_text, summarize, tensor_names


class BackwardTrace:
    """A backward-pass observer that prints each step (pass it as `backward(trace=...)`).

    `file`: where to print (standard output by default; None at print time, so pytest's capture
    and `contextlib.redirect_stdout` work). `echo=False` keeps quiet and only collects `lines`.
    """

    def __init__(self, file: TextIO | None = None, echo: bool = True, max_numbers: int = 4):
        self.file = file
        self.echo = echo
        self.max_numbers = max_numbers
        self.lines: list[str] = []
        self._names: dict[int, str] = {}
        self._contributions: dict[int, int] = {}  # id -> how many gradients it received so far
        self._step = 0

    def on_begin(self, root: Tensor, grad: torch.Tensor) -> None:
        """A backward() starts: name every tensor now, while the whole graph is still linked
        up (backward releases each node right after visiting it)."""
        self._step = 0
        self._contributions = {}
        self._names = tensor_names(root)
        self._emit(
            f"backward from {self._name(root)}, dLoss/d{self._name(root)} = {self._describe(grad)}"
        )

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    def _emit(self, line: str) -> None:
        self.lines.append(line)
        if self.echo:
            print(line, file=self.file or sys.stdout)

    def _name(self, tensor: Tensor) -> str:
        return self._names.get(id(tensor)) or tensor.name or "?"

    def _describe(self, values: torch.Tensor) -> str:
        return f"{shape_text(values)} {summarize(values, self.max_numbers)}"

    def on_node(self, node: Tensor, grad: torch.Tensor, input_grads: list[Any]) -> None:
        self._step += 1
        ctx = node._ctx
        self._emit(f"[{self._step}] {ctx.name} -> {self._name(node)} {shape_text(node)}")
        uses = self._contributions.get(id(node), 1)
        summed = f" (the sum of {uses} contributions)" if uses > 1 else ""
        self._emit(f"    grad in:  {self._describe(grad)}{summed}")
        self._emit(f"    rule:     {op_rule(ctx.function)}")
        labels = input_labels(ctx.function, len(ctx.inputs))
        for inp, label, input_grad in zip(ctx.inputs, labels, input_grads):
            if input_grad is None:
                continue
            self._contributions[id(inp)] = self._contributions.get(id(inp), 0) + 1
            self._emit(f"    to {self._name(inp)} ({label}): {self._describe(input_grad)}")

    def on_leaf(self, leaf: Tensor, grad: torch.Tensor) -> None:
        uses = self._contributions.get(id(leaf), 1)
        summed = f" (the sum of {uses} contributions)" if uses > 1 else ""
        self._emit(
            f"leaf {self._name(leaf)} {shape_text(leaf)}{summed}: "
            f".grad = {summarize(leaf.grad._data, self.max_numbers)}"
        )


@contextmanager
def tracing(trace: BackwardTrace | None = None) -> Iterator[BackwardTrace]:
    """Trace every `backward()` called inside the block (one BackwardTrace for all of them).

    It sets the engine's `active_observer` for the block, and puts the previous one back on
    the way out (one setting for the whole process: not for several threads at once).
    """
    trace = BackwardTrace() if trace is None else trace
    previous, engine.active_observer = engine.active_observer, trace
    try:
        yield trace
    finally:
        engine.active_observer = previous
