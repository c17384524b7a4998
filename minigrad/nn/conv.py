"""Convolution layers: `Conv1d` and `Conv2d`, with torch's arguments, initialisation and repr."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..creation import DeviceLike
from ..tensor import Tensor
from . import functional as F
from .modules import Module, _uniform

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What Conv1d and Conv2d share: the weight (out_channels, in_channels/groups, *kernel_size),
    an optional bias (out_channels,), and the settings of F.conv1d / F.conv2d."""

    dims: int = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) must "
                f"both be divisible by groups ({groups}), a positive integer"
            )
        if padding_mode not in PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _tuple(kernel_size, self.dims)
        self.stride, self.dilation = _tuple(stride, self.dims), _tuple(dilation, self.dims)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(
                    f"{name}: padding must be 'valid', 'same' or numbers, got {padding!r}"
                )
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(
                    f"{name}: padding='same' is not supported for strided convolutions"
                )
            self.padding: Any = padding
        else:
            self.padding = _tuple(padding, self.dims)
        self.groups, self.padding_mode = groups, padding_mode
        # torch's reset_parameters: kaiming_uniform_(a=sqrt(5)) gives the weight a bound of
        # 1/sqrt(fan_in), fan_in = the inputs each output sums (in_channels/groups * kernel area)
        fan_in = in_channels // groups * math.prod(self.kernel_size)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = _uniform(shape, bound, dtype, device)
        self.bias = _uniform((out_channels,), bound, dtype, device) if bias else None

    def forward(self, input: Tensor) -> Tensor:
        convolve = F.conv1d if self.dims == 1 else F.conv2d
        if self.padding_mode == "zeros":
            return convolve(
                input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
            )
        padded = F.pad(input, self._pads_for_F_pad(), mode=self.padding_mode)
        return convolve(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def _pads_for_F_pad(self) -> list[int]:
        """The padding as F.pad takes it: (left, right) of the last dim first."""
        pads: list[int] = []
        for k in reversed(range(self.dims)):
            if self.padding == "same":
                total = self.dilation[k] * (self.kernel_size[k] - 1)
                pads += [total // 2, total - total // 2]
            elif self.padding == "valid":
                pads += [0, 0]
            else:
                pads += [self.padding[k]] * 2
        return pads

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * len(self.padding):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) (or (C_in, L)): out (N, C_out, L_out).
    See `minigrad.ops.Convolution` for the maths."""

    dims = 1


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) (or (C_in, H, W)): out (N, C_out, H_out, W_out),
    H_out = (H + 2 padding - dilation (kernel_size - 1) - 1) // stride + 1 (W alike).
    See `minigrad.ops.Convolution` for the maths."""

    dims = 2


def _tuple(value: Any, n: int) -> tuple[int, ...]:
    return (value,) * n if isinstance(value, int) else tuple(value)
