"""`Function`: the base class of every op, shaped like `torch.autograd.Function`.

An op is a pair of static methods side by side:

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):                 # x is a plain torch.Tensor
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad):             # grad: dLoss/dOutput, a torch.Tensor
            (x,) = ctx.saved_tensors
            return grad * 3 * x**2           # dLoss/dx, by the chain rule

    y = Cube.apply(x)                        # x, y: minigrad Tensors

`forward` and `backward` see plain torch tensors and do the maths; `apply` does the bookkeeping:
it unwraps minigrad Tensors, runs `forward`, and, if any input needs a gradient, records a
`Context` node that links the output to its inputs. `backward` returns one gradient per
argument of `forward` (None where there is none to give).
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import DeviceError, GradientError, ShapeError, broadcast_mismatch
from ..tensor import Tensor
from .grad_mode import is_grad_enabled


class Context:
    """One node of the graph: which op ran, on which inputs, and what it saved for backward.

    `ctx.needs_input_grad[i]` says whether input i needs a gradient, so `backward` can skip work
    (no gradient for the data batch in `x @ w`). Ops may keep other facts on `ctx` (a shape).
    """

    def __init__(self, function: type[Function], inputs: tuple[Any, ...], needs: tuple[bool, ...]):
        self.function = function
        self.inputs = inputs
        self.needs_input_grad = needs
        self._saved: tuple[Any, ...] = ()
        self._saved_versions: tuple[int, ...] = ()
        self.released = False

    def save_for_backward(self, *values: Any) -> None:
        """Keep what backward will need (tensors, or None and numbers as placeholders), and each
        tensor's version, so that a later in-place change to it is caught instead of giving a
        silently wrong gradient."""
        self._saved = values
        self._saved_versions = tuple(getattr(v, "_version", 0) for v in values)

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        if self.released:
            raise GradientError(
                f"{self.function.__name__}'s saved tensors were freed by an earlier backward(). "
                "Trying to backward through the graph a second time: pass retain_graph=True to the "
                "first backward() to keep the graph, or recompute the forward pass."
            )
        for i, (t, version) in enumerate(zip(self._saved, self._saved_versions)):
            if isinstance(t, torch.Tensor) and t._version != version:
                raise GradientError(
                    f"tensor {i} saved by {self.function.__name__} for backward (shape "
                    f"{tuple(t.shape)}) was modified in place after it was saved (its version "
                    f"went from {version} to {t._version}), so its gradient would be wrong. "
                    "Don't change it in place before backward(): use an out-of-place op "
                    "(x = x + 1, not x += 1), or .clone() it first."
                )
        return self._saved

    def release(self) -> None:
        """Free what backward needed, as torch does once a graph has been used."""
        self._saved = ()
        self.inputs = ()
        self.released = True

    @property
    def name(self) -> str:
        return self.function.__name__


class Function:
    """Base class of ops. Subclass it, write `forward` and `backward`, call `apply`."""

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> torch.Tensor:
        raise NotImplementedError("an op must define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> Any:
        raise NotImplementedError("an op must define backward(ctx, grad)")

    @staticmethod
    def explain_failure(*inputs: Any, **options: Any) -> str | None:
        """Say in words why forward failed on these inputs and options (the keyword arguments of
        `apply`, such as a shape or a dim); None lets torch's error stand."""
        return None

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        """Run forward on the torch tensors inside `args`; record a node if a gradient is needed.

        Tensor arguments may be mixed with Python numbers and other values (a dim, a shape).
        """
        raw = [a._data if isinstance(a, Tensor) else a for a in args]
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        record = is_grad_enabled() and any(needs)
        ctx = Context(cls, args if record else (), needs)
        try:
            out = cls.forward(ctx, *raw, **kwargs)
        except RuntimeError as error:  # torch's message names neither shapes nor rule: add them
            device_problem = _devices_mismatch(cls, args)
            if device_problem:
                raise DeviceError(device_problem) from error
            shape_problem = cls.explain_failure(*args, **kwargs)
            if shape_problem:
                raise ShapeError(f"{cls.__name__}: {shape_problem}") from error
            raise
        return Tensor._from_op(out, ctx if record else None)


class BroadcastingFunction(Function):
    """An elementwise op on two operands that broadcast (add, mul, where...)."""

    @staticmethod
    def explain_failure(*inputs: Any, **options: Any) -> str | None:
        shapes = [tuple(a.shape) for a in inputs if isinstance(a, Tensor)]
        for i in range(len(shapes)):
            for j in range(i + 1, len(shapes)):
                problem = broadcast_mismatch(shapes[i], shapes[j])
                if problem:
                    return problem
        return None


def _devices_mismatch(function: type[Function], args: tuple[Any, ...]) -> str | None:
    """Name both devices when an op got tensors from two (0-d tensors may mix, as in torch)."""
    placed = [(a.device, tuple(a.shape)) for a in args if isinstance(a, Tensor) and a.ndim > 0]
    for device, shape in placed[1:]:
        first_device, first_shape = placed[0]
        if device != first_device:
            return (
                f"{function.__name__} got tensors on different devices: {first_shape} on "
                f"{first_device} and {shape} on {device}. An op's tensors must share a device: "
                f"move one with .to({str(first_device)!r}) or .to({str(device)!r})."
            )
    return None
