"""Grad mode: a switch that says whether ops record themselves in the graph.

Under `no_grad()` ops compute values only: no graph, nothing saved for backward. Use it for
evaluation and for updating parameters (`p -= lr * p.grad`).

The switch belongs to each thread, as in torch: a `no_grad()` block in one thread (a data loader,
an evaluation thread) does not stop another thread's training step from recording its graph.

Each switch works three ways, as torch's do:

    with no_grad(): ...               # a block
    @no_grad()                        # a decorator (also bare: @no_grad); generators included:
    def evaluate(...): ...            # the mode holds while the generator runs, not between yields
    set_grad_enabled(False)           # a plain call: switches now (set_grad_enabled only)
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _GradMode(threading.local):
    """One value per thread; a new thread starts with recording on."""

    enabled = True


state = _GradMode()  # (state.enabled is is_grad_enabled() without a call, for the hot path)


def is_grad_enabled() -> bool:
    return state.enabled


def _set_enabled(mode: bool) -> None:
    state.enabled = bool(mode)


class _GradModeSwitch:
    """A context manager that is also a decorator: the mode holds inside the block, or inside
    each call of the decorated function (and of each step of a decorated generator)."""

    mode: bool

    def __enter__(self) -> None:
        self._previous = is_grad_enabled()
        _set_enabled(self.mode)

    def __exit__(self, *exc: object) -> None:
        _set_enabled(self._previous)

    def clone(self) -> _GradModeSwitch:
        """A fresh switch with the same mode (one per call of a decorated function, so that
        nested and recursive calls each restore their own previous mode)."""
        return type(self)()

    def __call__(self, fn: F) -> F:
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(self, fn)  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.clone():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def _wrap_generator(switch: _GradModeSwitch, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run each step of the generator under the switch's mode, and the caller's code between
    steps under the caller's own mode (a `with` around `yield` would leak the mode out)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        generator = fn(*args, **kwargs)
        resume: Callable[[], Any] = lambda: next(generator)  # noqa: E731
        while True:
            try:
                with switch.clone():
                    value = resume()
            except StopIteration as stop:
                return stop.value
            try:
                sent = yield value
            except GeneratorExit:
                with switch.clone():
                    generator.close()
                raise
            except BaseException as error:  # thrown in by the caller: pass it on
                resume = functools.partial(generator.throw, error)
            else:
                resume = functools.partial(generator.send, sent)

    return wrapper


class set_grad_enabled(_GradModeSwitch):
    """Turn recording on or off. As in torch, the switch happens when it is called:

        set_grad_enabled(False)           # off from now on, in this thread
        with set_grad_enabled(is_train):  # for the block; the previous mode comes back after
        @set_grad_enabled(False)          # for each call of the function
    """

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._previous = is_grad_enabled()
        _set_enabled(self.mode)

    def __enter__(self) -> None:
        pass  # already switched by __init__

    def clone(self) -> set_grad_enabled:
        return set_grad_enabled(self.mode)

    def __call__(self, fn: F) -> F:
        _set_enabled(self._previous)  # used as a decorator: switch back, switch per call instead
        return super().__call__(fn)


class no_grad(_GradModeSwitch):
    """`with no_grad():` ops inside record nothing. Also a decorator: `@no_grad()` or `@no_grad`."""

    mode = False

    def __new__(cls, fn: F | None = None) -> Any:
        if fn is not None:  # used bare, as @no_grad: decorate fn straight away
            return cls()(fn)
        return super().__new__(cls)

    def __init__(self, fn: F | None = None) -> None:
        pass


class enable_grad(_GradModeSwitch):
    """`with enable_grad():` record again, even inside `no_grad()`."""

    mode = True

    def __new__(cls, fn: F | None = None) -> Any:
        if fn is not None:
            return cls()(fn)
        return super().__new__(cls)

    def __init__(self, fn: F | None = None) -> None:
        pass


class inference_mode(_GradModeSwitch):
    """torch's `inference_mode(mode=True)`: in minigrad the same as `no_grad()` (minigrad has no
    separate, faster kind of tensor for inference). `inference_mode(False)` records as usual."""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # used bare, as @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: Any = True) -> None:
        self.mode = not mode

    def clone(self) -> inference_mode:
        return inference_mode(not self.mode)
