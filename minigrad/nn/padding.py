"""Padding layers, each F.pad with its mode and a padding fixed when it is built:
ZeroPad1d/2d/3d, ConstantPad1d/2d/3d, ReflectionPad1d/2d/3d, ReplicationPad1d/2d/3d and
CircularPad1d/2d/3d, as torch's.

`padding` is an int (the same on every side) or a tuple, (left, right) for the 1-d layers,
(left, right, top, bottom) for the 2-d ones and (left, right, top, bottom, front, back) for the
3-d ones; negative numbers crop."""

from __future__ import annotations

from typing import Any

from ..errors import ShapeError, shape_str
from ..tensor import Tensor
from . import functional as F
from .modules import Module


def _sides(padding: Any, dims: int) -> tuple[int, ...]:
    """An int for every side, or the tuple as given (F.pad checks it)."""
    return (padding,) * (2 * dims) if isinstance(padding, int) else tuple(padding)


class _Pad(Module):
    """F.pad(input, padding, mode) with a padding of `dims` dims."""

    mode = "constant"
    dims = 1

    def __init__(self, padding: Any) -> None:
        super().__init__()
        self.padding = _sides(padding, self.dims)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPad(_Pad):
    """F.pad(input, padding, "constant", value). (A shared base, as torch's: ConstantPad2d is
    not a ConstantPad1d.)"""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPad):
    """The last dim padded with `value`: (left, right)."""


class ConstantPad2d(_ConstantPad):
    """The last two dims padded with `value`: (left, right, top, bottom)."""

    dims = 2


class ConstantPad3d(_ConstantPad):
    """The last three dims padded with `value`: (left, right, top, bottom, front, back)."""

    dims = 3


class ZeroPad1d(ConstantPad1d):
    """The last dim padded with zeros: (left, right)."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """The last two dims padded with zeros: (left, right, top, bottom)."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """The last three dims padded with zeros: (left, right, top, bottom, front, back)."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_Pad):
    """The last dim padded with its own values mirrored at the edge (the edge itself not
    repeated): [1, 2, 3] padded by 2 is [3, 2, 1, 2, 3, 2, 1]."""

    mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    """The last two dims padded by reflection (see ReflectionPad1d)."""

    dims = 2


class ReflectionPad3d(ReflectionPad1d):
    """The last three dims padded by reflection (see ReflectionPad1d): (left, right, top,
    bottom, front, back)."""

    dims = 3


class ReplicationPad1d(_Pad):
    """The last dim padded with copies of its edge values: [1, 2, 3] padded by 2 is
    [1, 1, 1, 2, 3, 3, 3]."""

    mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    """The last two dims padded with copies of their edges."""

    dims = 2


class ReplicationPad3d(ReplicationPad1d):
    """The last three dims padded with copies of their edges: (left, right, top, bottom, front,
    back)."""

    dims = 3


class _CircularPad(_Pad):
    """F.pad(input, padding, "circular"): a shared base, as torch's. The input is one example
    or a batch, (C, *) or (N, C, *), and no side may wrap around more than once."""

    mode = "circular"

    def forward(self, input: Tensor) -> Tensor:
        name, dims = type(self).__name__, self.dims
        if input.ndim not in (dims + 1, dims + 2):
            raise ShapeError(
                f"{name}: expected {dims + 1}D or {dims + 2}D input, (C, *) or (N, C, *) with "
                f"{dims} padded dims (got {input.ndim}D input, shape {shape_str(input.shape)})"
            )
        for i, side in enumerate(self.padding):
            size = input.shape[-1 - i // 2]  # (left, right) pad the last dim, and so on
            if side > size:
                raise ValueError(
                    f"{name}: padding {side} on a dim of size {size} (input shape "
                    f"{shape_str(input.shape)}) would wrap around more than once: a circular "
                    "pad copies at most the whole dim."
                )
        return super().forward(input)


class CircularPad1d(_CircularPad):
    """The last dim padded as if it wrapped around: [1, 2, 3] padded by 2 is
    [2, 3, 1, 2, 3, 1, 2] (the left side takes the end, the right side the start)."""


class CircularPad2d(_CircularPad):
    """The last two dims padded by wrapping around (see CircularPad1d)."""

    dims = 2


class CircularPad3d(_CircularPad):
    """The last three dims padded by wrapping around (see CircularPad1d): (left, right, top,
    bottom, front, back)."""

    dims = 3
