"""Grad mode: a switch that says whether ops record themselves in the graph.

Under `no_grad()` ops compute values only: no graph, nothing saved for backward. Use it for
evaluation and for updating parameters (`p -= lr * p.grad`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_grad_enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled


class set_grad_enabled:
    """Turn recording on or off inside a `with` block (or a decorated function)."""

    def __init__(self, mode: bool) -> None:
        self.mode = mode
        self.previous = True

    def __enter__(self) -> None:
        global _grad_enabled
        self.previous = _grad_enabled
        _grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self.previous

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(self.mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(set_grad_enabled):
    """`with no_grad():` ops inside record nothing. Also a decorator: `@no_grad()` or `@no_grad`."""

    def __new__(cls, fn: F | None = None) -> Any:
        if fn is not None:  # used bare, as @no_grad: decorate fn straight away
            return set_grad_enabled(False)(fn)
        return super().__new__(cls)

    def __init__(self, fn: F | None = None) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """`with enable_grad():` record again, even inside `no_grad()`."""

    def __new__(cls, fn: F | None = None) -> Any:
        if fn is not None:
            return set_grad_enabled(True)(fn)
        return super().__new__(cls)

    def __init__(self, fn: F | None = None) -> None:
        super().__init__(True)
