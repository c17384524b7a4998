"""Anomaly mode: find the op whose backward first turned a gradient into NaN or infinity.

    with minigrad.autograd.detect_anomaly():
        loss = model(x).log().mean()
        loss.backward()          # GradientError: Log.backward gave infinite values ...

While it is on, every op remembers the line of your code that created it, and backward checks
each gradient as it is computed. At the first NaN or infinity it stops and names the op, its
rule, and that line. Both cost time (a stack walk per op, a check per gradient), so the mode is
off by default: turn it on to hunt a NaN, then off again. As in torch, the setting is one for
the whole process, not one per thread.
"""

from __future__ import annotations

import os
import traceback
from typing import Any

import torch

from ..errors import GradientError, shape_str
from . import events

_enabled = False
_check_nan = True


def is_anomaly_enabled() -> bool:
    return _enabled


def is_anomaly_check_nan_enabled() -> bool:
    return _enabled and _check_nan


def _set(mode: bool, check_nan: bool) -> None:
    global _enabled, _check_nan
    _enabled, _check_nan = bool(mode), bool(check_nan)
    if _enabled and _LISTENER not in events.listeners:
        events.add(_LISTENER)
    elif not _enabled:
        events.remove(_LISTENER)


class AnomalyListener(events.Listener):
    """What the mode does, as a listener of the core's events: it notes where each node of the
    graph was made, and checks every gradient a backward gives. A node made while a backward
    ran (create_graph=True records the backward's ops) is noted as made by that backward, with
    where the op whose backward it was ran its forward."""

    def __init__(self) -> None:
        self.in_backward_of: list[Any] = []  # the nodes whose backward is running, innermost last

    def backward_begin(self, roots: list) -> None:
        self.in_backward_of = []

    def node_begin(self, node: Any, grads: list) -> None:
        self.in_backward_of.append(node)

    def op_end(self, function: type, ctx: Any, outputs: Any) -> None:
        if not ctx.parents:  # not a node of the graph (nothing needed a gradient)
            return
        running = self.in_backward_of[-1] if self.in_backward_of else None
        if running is not None and hasattr(running, "function"):
            ctx.created_at = MadeInBackward(running.op_name, running.created_at)
        else:
            ctx.created_at = creation_site()

    def node_end(self, node: Any, grads: list, input_grads: list, totals: list) -> None:
        if self.in_backward_of:
            self.in_backward_of.pop()
        if not _check_nan:
            return
        for index, grad in enumerate(input_grads):
            problem = None if grad is None else non_finite(getattr(grad, "_data", grad))
            if problem is not None:
                raise _anomaly(node, index, grad, problem)


class MadeInBackward:
    """Where a node made by a backward pass (create_graph) came from: the op whose backward
    made it, and where that op's own forward ran."""

    def __init__(self, op: str, op_created_at: Any) -> None:
        self.op, self.op_created_at = op, op_created_at


_LISTENER = AnomalyListener()


def _anomaly(ctx: Any, index: int, grad: torch.Tensor, problem: str) -> GradientError:
    """Stop at the first op whose backward made a NaN or an infinity: name it, its rule, the
    input whose gradient it is, and the line of the user's code that made the op."""
    label = ctx.function.input_labels(len(ctx.needs_input_grad))[index]
    return GradientError(
        f"anomaly: {ctx.op_name}.backward gave {problem} values in the gradient of its input "
        f"{label!r} (shape {shape_str(grad.shape)}).\n"
        f"  Its rule: {ctx.function.rule()}\n"
        f"  The {ctx.op_name} op was made "
        + ("" if isinstance(ctx.created_at, MadeInBackward) else "here:\n    ")
        + where_created(ctx.created_at).replace("\n", "\n    ")
        + "\nLook at the values this op saw there (a log or division at 0, an exp that "
        "overflowed, a sqrt at 0...)."
    )


class set_detect_anomaly:
    """`set_detect_anomaly(True)` turns the mode on from now on; `with set_detect_anomaly(True):`
    for a block. `check_nan=False` records where ops were created but skips the NaN checks."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._previous = (_enabled, _check_nan)
        _set(mode, check_nan)

    def __enter__(self) -> None:
        pass  # already switched by __init__

    def __exit__(self, *exc: object) -> None:
        _set(*self._previous)


class detect_anomaly:
    """`with detect_anomaly():` the mode is on inside the block (also a decorator)."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        self._previous = (_enabled, _check_nan)
        _set(True, self.check_nan)

    def __exit__(self, *exc: object) -> None:
        _set(*self._previous)

    def __call__(self, fn: Any) -> Any:
        import functools

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../minigrad


def creation_site() -> traceback.FrameSummary | None:
    """The innermost frame of the caller's own code (outside minigrad): the line that made the
    op. None when every frame is minigrad's."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE + os.sep):
            return frame
    return None


def non_finite(values: torch.Tensor) -> str | None:
    """'NaN' or 'infinite' when the tensor holds such a value, else None."""
    if not values.is_floating_point() or bool(torch.isfinite(values).all()):
        return None
    return "NaN" if bool(torch.isnan(values).any()) else "infinite"


def where_created(frame: traceback.FrameSummary | MadeInBackward | None) -> str:
    if isinstance(frame, MadeInBackward):
        return (
            f"by the backward of {frame.op} (create_graph=True recorded it), whose forward was "
            "made here:\n    " + where_created(frame.op_created_at).replace("\n", "\n    ")
        )
    if frame is None:
        return "(no line of your code on the stack)"
    return f'File "{frame.filename}", line {frame.lineno}, in {frame.name}\n    {frame.line}'
