"""What the core does, announced to whoever listens: one way to watch autograd at work.

The core (Tensor, `Function.apply`, the engine, Modules, optimizers) says what happens as it
happens: an op runs, a node's backward begins and ends, a leaf's `.grad` is read. It never
knows who is listening. The tools above it listen: `minigrad.trace` prints the backward pass,
`minigrad.compile`'s recorder writes a training step down, anomaly mode remembers where each op
was made and stops at the first NaN in backward.

A listener subclasses `Listener` and overrides the events it cares about (each is a method that
does nothing by default):

    class CountNodes(events.Listener):
        def __init__(self):
            self.count = 0

        def node_end(self, node, grads, input_grads, totals):
            self.count += 1

    with events.listening(CountNodes()) as counter:
        loss.backward()
    print(counter.count)

Listeners form a short stack (a trace inside a compiled step: both hear the same pass), called
in the order they were installed. `current` is what the core talks to: None when nobody
listens (the usual case, and the only cost the core pays then is that test), the listener
itself when there is one, or a `Chorus` that passes each event on to several. Like torch's
anomaly mode and its function modes, the setting is one for the whole process.

This is JAX's idea of interpreters around one `bind`, and PyTorch's of hooks and modes, made
small: the core announces, and everything that watches it is installed around it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

L = TypeVar("L", bound="Listener")


class Listener:
    """The events of autograd, and of a training step, each a method that does nothing.

    Nodes are what the engine walks: an op that ran (its `Context`) or a leaf Tensor.
    """

    # ---- the forward pass ----------------------------------------------------------------------

    def op_begin(self, function: type, args: tuple[Any, ...]) -> None:
        """An op's forward is about to run on `args` (Tensors among other values)."""

    def op_end(self, function: type, ctx: Any, outputs: Any) -> None:
        """It ran: `outputs` is the Tensor it made (or the tuple of them). `ctx` is its graph
        node when `ctx.parents` is set (an input needed a gradient), else a bare Context."""

    def changed_in_place(self, tensor: Any) -> None:
        """`tensor` was changed in place (`+=`, `x[k] = v`, `add_`...) and now holds the new
        values, with the history that made them (`tensor.grad_fn`)."""

    # ---- the backward pass ---------------------------------------------------------------------

    def backward_begin(self, roots: list[tuple[Any, Any]]) -> None:
        """A backward pass starts from these (tensor, dLoss/dTensor) pairs."""

    def node_begin(self, node: Any, grads: list[Any]) -> None:
        """The gradients of `node`'s outputs are complete (summed over all their uses): its
        backward runs next (a leaf: its gradient lands in `.grad`)."""

    def node_end(
        self, node: Any, grads: list[Any], input_grads: list[Any], totals: list[Any]
    ) -> None:
        """`node`'s backward gave `input_grads` (None where an input gets none), each with its
        input's shape; `totals` are what each input has received by now, summed over its uses
        so far. A leaf has none of either."""

    def accumulate_begin(self, tensor: Any, grad: Any) -> None:
        """`grad` is about to be added into `tensor.grad` (a leaf's, or one that retains grad)."""

    def accumulate_end(self, tensor: Any) -> None:
        """...and `tensor.grad` now holds it."""

    def backward_end(self) -> None:
        """The backward pass is over."""

    # ---- the state a training step reads and changes (for minigrad.compile) --------------------

    def grad_used(self, tensor: Any, write: bool) -> None:
        """`tensor.grad` is read (write=False) or set (write=True) by the user's code."""

    def data_set(self, tensor: Any) -> None:
        """`tensor.data = ...` is about to replace the tensor's values."""

    def module_called(self, module: Any) -> None:
        """A Module is called (its forward runs next)."""

    def update_begin(self, optimizer: Any, param: Any) -> None:
        """An optimizer's step starts moving one parameter."""

    def update_end(self, optimizer: Any, param: Any) -> None:
        """...and is done with it."""

    def aside_begin(self) -> None:
        """What runs from now on is bookkeeping, not part of the computation (an optimizer
        making the tensor that holds its learning rate)."""

    def aside_end(self) -> None:
        """...until here."""

    def hyperparameter(self, optimizer: Any, name: str, value: Any) -> None:
        """An optimizer reads setting `name` as a tensor (`value`, kept from step to step: it
        refreshes it from its param_groups with `refresh_hyperparameters()`)."""

    def option(self, read: Callable[[], Any], value: Any) -> None:
        """A Python value decided which torch calls run (nesterov or not); `read()` gives it."""

    def settings_changed(self, owner: Any, how: str) -> None:
        """Python is about to change what an optimizer's step reads besides tensors: `how` is
        "StepLR.step()" (a scheduler sets each group's lr), "SGD.load_state_dict()" or
        "SGD.add_param_group()"; `owner` is the scheduler or the optimizer."""


class Chorus(Listener):
    """Several listeners as one: each event goes to each of them, in order."""

    def __init__(self, listeners: tuple[Listener, ...]) -> None:
        self.listeners = listeners


def _pass_on(event: str) -> Callable[..., None]:
    def announce(self: Chorus, *args: Any, **kwargs: Any) -> None:
        for listener in self.listeners:
            getattr(listener, event)(*args, **kwargs)

    announce.__name__ = event
    return announce


for _event in [name for name in vars(Listener) if not name.startswith("_")]:
    setattr(Chorus, _event, _pass_on(_event))


# The listeners installed, innermost last, and what the core talks to (see the docstring).
listeners: tuple[Listener, ...] = ()
current: Listener | None = None


def _install(stack: tuple[Listener, ...]) -> None:
    global listeners, current
    listeners = stack
    current = None if not stack else stack[0] if len(stack) == 1 else Chorus(stack)


def add(listener: Listener) -> None:
    """Start listening, until `remove(listener)` (`listening` does both around a block)."""
    _install((*listeners, listener))


def remove(listener: Listener) -> None:
    """Stop that listener (the other ones keep listening)."""
    _install(tuple(other for other in listeners if other is not listener))


@contextlib.contextmanager
def listening(listener: L) -> Iterator[L]:
    """`with listening(listener):` it hears every event inside the block."""
    add(listener)
    try:
        yield listener
    finally:
        remove(listener)


@contextlib.contextmanager
def aside() -> Iterator[None]:
    """`with events.aside():` bookkeeping that a recording of the computation leaves out."""
    listener = current
    if listener is None:
        yield
        return
    listener.aside_begin()
    try:
        yield
    finally:
        listener.aside_end()


# What `backward(trace=True)` listens with: minigrad.trace puts its BackwardTrace here when it
# loads (the core never imports the tools that listen to it).
make_trace: Callable[[], Listener] | None = None
