"""Pooling layers: `MaxPool1d/2d/3d`, `AvgPool1d/2d/3d`, `AdaptiveAvgPool1d/2d/3d`,
`AdaptiveMaxPool1d/2d/3d`, `FractionalMaxPool2d/3d`, `LPPool1d/2d/3d`, and max pooling undone,
`MaxUnpool1d/2d/3d`, with torch's arguments and repr."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .modules import Module


class _MaxPoolNd(Module):
    """The maximum of each kernel_size window (stride defaults to kernel_size): what MaxPool1d
    and MaxPool2d share, as torch's _MaxPoolNd; each names its function, `pool`."""

    pool: Any  # F.max_pool1d or F.max_pool2d

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor) -> Any:
        return self.pool(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """The maximum of each kernel_size window of a sequence (stride defaults to kernel_size)."""

    pool = staticmethod(F.max_pool1d)


class AvgPool1d(Module):
    """The average of each kernel_size window of a sequence (stride defaults to kernel_size).
    As torch's, it keeps its sizes as tuples of one int: its repr shows kernel_size=(3,)."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = _one_tuple(kernel_size)
        self.stride = _one_tuple(stride if stride is not None else kernel_size)
        self.padding = _one_tuple(padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _one_tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


class MaxPool2d(_MaxPoolNd):
    """The maximum of each kernel_size window (stride defaults to kernel_size)."""

    pool = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """The maximum of each kernel_size window of a volume (stride defaults to kernel_size)."""

    pool = staticmethod(F.max_pool3d)


class AvgPool2d(Module):
    """The average of each kernel_size window (stride defaults to kernel_size)."""

    pool: Any = staticmethod(F.avg_pool2d)

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return self.pool(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool3d(AvgPool2d):
    """The average of each kernel_size window of a volume (stride defaults to kernel_size)."""

    pool = staticmethod(F.avg_pool3d)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size, whatever the input's: AdaptiveAvgPool2d(1) turns
    each channel into its mean (a CNN's 'global average pooling')."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool3d(AdaptiveAvgPool2d):
    """Average pooling of (N, C, D, H, W) to a fixed (D_out, H_out, W_out), whatever the
    input's sizes. See F.adaptive_avg_pool3d."""

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool3d(input, self.output_size)


class AdaptiveAvgPool1d(Module):
    """Average pooling of (N, C, L) to a fixed length, whatever L. See F.adaptive_avg_pool1d."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _AdaptiveMaxPoolNd(Module):
    """The maximum of each of the windows that cut the input into output_size parts (and, with
    return_indices, where each is). Each names its function, `pool`."""

    pool: Any  # F.adaptive_max_pool1d or F.adaptive_max_pool2d

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor) -> Any:
        return self.pool(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """(N, C, L) -> (N, C, output_size): the maximum of each window. See F.adaptive_max_pool1d."""

    pool = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """(N, C, H, W) -> (N, C, *output_size): the maximum of each window. See
    F.adaptive_max_pool2d."""

    pool = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """(N, C, D, H, W) -> (N, C, *output_size): the maximum of each window. See
    F.adaptive_max_pool3d."""

    pool = staticmethod(F.adaptive_max_pool3d)


class _MaxUnpoolNd(Module):
    """max pooling undone: each value written back where `indices` says it came from, zeros
    elsewhere. kernel_size, stride (the kernel's by default) and padding are those of the pool,
    kept as tuples, as torch's."""

    dims = 1
    unpool: Any  # F.max_unpool1d or F.max_unpool2d

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = _tuple(kernel_size, self.dims)
        self.stride = _tuple(stride if stride is not None else kernel_size, self.dims)
        self.padding = _tuple(padding, self.dims)

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return self.unpool(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _tuple(value: Any, dims: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims


class MaxUnpool1d(_MaxUnpoolNd):
    """(N, C, L) and max_pool1d's indices -> (N, C, L_out). See F.max_unpool1d."""

    unpool = staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    """(N, C, H, W) and max_pool2d's indices -> (N, C, H_out, W_out). See F.max_unpool2d."""

    dims = 2
    unpool = staticmethod(F.max_unpool2d)


class MaxUnpool3d(_MaxUnpoolNd):
    """(N, C, D, H, W) and max_pool3d's indices -> (N, C, D_out, H_out, W_out). See
    F.max_unpool3d."""

    dims = 3
    unpool = staticmethod(F.max_unpool3d)


class _FractionalMaxPoolNd(Module):
    """Max pooling to output_size (or output_ratio of the input's size) with windows at
    pseudo-random steps (see F.fractional_max_pool2d). `_random_samples`, a buffer (None
    unless given), fixes the windows; without it they are drawn anew at each call. As
    torch's, it has no extra_repr."""

    dims = 2
    pool: Any  # F.fractional_max_pool2d or F.fractional_max_pool3d

    def __init__(
        self,
        kernel_size: Any,
        output_size: Any = None,
        output_ratio: Any = None,
        return_indices: bool = False,
        _random_samples: Tensor | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if (
            isinstance(kernel_size, int)
            and kernel_size <= 0
            or (isinstance(kernel_size, (tuple, list)) and not all(k > 0 for k in kernel_size))
        ):
            raise ValueError(f"{name}: kernel_size must be positive, got {kernel_size}")
        self.kernel_size = _tuple(kernel_size, self.dims)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _tuple(output_size, self.dims) if output_size is not None else None
        self.output_ratio = _tuple(output_ratio, self.dims) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name}: give output_size or output_ratio (neither was given)")
        if output_size is not None and output_ratio is not None:
            raise ValueError(f"{name}: give output_size or output_ratio, not both")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(
                f"{name}: output_ratio must be between 0 and 1 (both excluded), got {output_ratio}"
            )

    def forward(self, input: Tensor) -> Any:
        return self.pool(
            input,
            self.kernel_size,
            self.output_size,
            self.output_ratio,
            self.return_indices,
            _random_samples=self._random_samples,
        )


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """(N, C, H, W) -> (N, C, *output_size): fractional max pooling. See
    F.fractional_max_pool2d."""

    pool = staticmethod(F.fractional_max_pool2d)


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """(N, C, D, H, W) -> (N, C, *output_size): fractional max pooling. See
    F.fractional_max_pool3d."""

    dims = 3
    pool = staticmethod(F.fractional_max_pool3d)


class _LPPoolNd(Module):
    """The norm_type-norm of each kernel_size window (stride defaults to kernel_size)."""

    pool: Any  # F.lp_pool1d or F.lp_pool2d

    def __init__(
        self, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False
    ) -> None:
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return self.pool(
            input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode
        )

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"ceil_mode={self.ceil_mode}"
        )


class LPPool1d(_LPPoolNd):
    """(N, C, L): the p-norm of each window. See F.lp_pool1d."""

    pool = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPoolNd):
    """(N, C, H, W): the p-norm of each window. See F.lp_pool2d."""

    pool = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPoolNd):
    """(N, C, D, H, W): the p-norm of each window. See F.lp_pool3d."""

    pool = staticmethod(F.lp_pool3d)
