"""Convolution layers: `Conv1d`, `Conv2d` and `Conv3d`, and the transposed ones
`ConvTranspose1d`, `ConvTranspose2d` and `ConvTranspose3d`, with torch's arguments,
initialisation and repr."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..creation import DeviceLike
from ..tensor import Tensor
from . import functional as F
from .modules import Module, _empty, _redraw_uniform, _weight_bound

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What Conv1d, Conv2d and Conv3d share: the weight (out_channels, in_channels/groups,
    *kernel_size), an optional bias (out_channels,), and the settings of F.conv1d/2d/3d. A
    transposed layer's weight is (in_channels, out_channels/groups, *kernel_size)."""

    dims: int = 2
    transposed: bool = False

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
        channels = (out_channels, in_channels // groups)
        if self.transposed:
            channels = (in_channels, out_channels // groups)
        self.weight = _empty((*channels, *self.kernel_size), dtype, device)
        self.bias = _empty((out_channels,), dtype, device) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw weight, then bias, afresh, as torch's reset_parameters: kaiming_uniform_(a=
        sqrt(5)) gives the weight a bound of 1/sqrt(fan_in), fan_in = the weight's dim 1 times
        the kernel area (for a convolution, the inputs each output sums: in_channels/groups *
        kernel area); the bias has that bound too."""
        fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
        _redraw_uniform(self.weight, _weight_bound(fan_in))
        if self.bias is not None:
            _redraw_uniform(self.bias, 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0)

    def forward(self, input: Tensor) -> Tensor:
        convolve = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[self.dims]
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
        if self.transposed and self.output_padding != (0,) * self.dims:
            s += f", output_padding={self.output_padding}"
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


class Conv3d(_ConvNd):
    """3-D convolution over (N, C_in, D, H, W) (or (C_in, D, H, W)): out (N, C_out, D_out,
    H_out, W_out), each side as Conv2d's (depth D too). For volumes: video (time as depth),
    medical scans. See `minigrad.ops.Convolution` for the maths."""

    dims = 3


class _ConvTransposeNd(_ConvNd):
    """What ConvTranspose1d, 2d and 3d share: torch's arguments (output_padding after
    padding, dilation after bias), zeros padding only, and forward's output_size."""

    transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        name = type(self).__name__
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {name}')
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be numbers, got {padding!r}")
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode, device, dtype,
        )  # fmt: skip
        self.output_padding = _tuple(output_padding, self.dims)

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        """With output_size (the spatial sizes, or with the batch and channels too), the
        output_padding that gives it: torch's way to pick among the sizes a stride allows."""
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding_for(input, list(output_size))
        transposed = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[
            self.dims
        ]
        return transposed(
            input, self.weight, self.bias, self.stride, self.padding, output_padding,
            self.groups, self.dilation,
        )  # fmt: skip

    def _output_padding_for(self, input: Tensor, output_size: list[int]) -> tuple[int, ...]:
        spatial = output_size[-self.dims :] if len(output_size) > self.dims else output_size
        if len(spatial) != self.dims:
            raise ValueError(
                f"{type(self).__name__}: output_size must have {self.dims} or "
                f"{self.dims + 2} elements, got {output_size}"
            )
        padding = []
        for d, size in enumerate(spatial):
            shortest = (
                (input.shape[input.ndim - self.dims + d] - 1) * self.stride[d]
                - 2 * self.padding[d]
                + self.dilation[d] * (self.kernel_size[d] - 1)
                + 1
            )
            if not shortest <= size < shortest + self.stride[d]:
                raise ValueError(
                    f"requested an output size of {spatial}, but valid sizes range from "
                    f"{shortest} to {shortest + self.stride[d] - 1} in spatial dim {d} (for an "
                    f"input of {tuple(input.shape)})"
                )
            padding.append(size - shortest)
        return tuple(padding)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over (N, C_in, L) (or (C_in, L)): out (N, C_out, L_out),
    the adjoint of Conv1d (the gradient Conv1d sends back to its input), which upsamples by
    the stride. See `minigrad.ops.ConvTranspose` for the maths."""

    dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over (N, C_in, H, W) (or (C_in, H, W)): out (N, C_out, H_out,
    W_out), H_out = (H - 1) stride - 2 padding + dilation (kernel_size - 1) + output_padding + 1
    (W alike): the adjoint of Conv2d (the gradient Conv2d sends back to its input), which
    upsamples by the stride. See `minigrad.ops.ConvTranspose` for the maths."""

    dims = 2


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution over (N, C_in, D, H, W) (or (C_in, D, H, W)): out (N, C_out,
    D_out, H_out, W_out), each side as ConvTranspose2d's (depth D too): the adjoint of Conv3d,
    which upsamples a volume by the stride. See `minigrad.ops.ConvTranspose` for the maths."""

    dims = 3


def _tuple(value: Any, n: int) -> tuple[int, ...]:
    return (value,) * n if isinstance(value, int) else tuple(value)
