"""Layer, RMS, group, instance and local response normalisation: `LayerNorm` (transformers
normalise this way), `RMSNorm` (Llama's), `GroupNorm` (diffusion U-Nets), `InstanceNorm1d` and
`InstanceNorm2d` (style transfer) and `LocalResponseNorm` (AlexNet), as torch's.

Unlike batch norm they normalise each example by its own statistics (over its last dims, or
over groups of its channels), so they have no running statistics and behave the same in
training and in eval. Instance norm is the exception: it may keep running statistics, as batch
norm does, and use them in eval.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from ..creation import DeviceLike, _device
from ..errors import shape_str
from ..tensor import Tensor
from . import functional as F
from . import init
from .batchnorm import _BatchNorm
from .modules import Module, Parameter


class LayerNorm(Module):
    """Normalise over the last dims, `normalized_shape` (an int for the last dim alone), then
    scale by weight (ones) and shift by bias (zeros), each of shape normalized_shape, if
    elementwise_affine (bias=False leaves the shift out). See ops.LayerNorm for the maths."""

    def __init__(
        self,
        normalized_shape: Any,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight, self.bias = _scale_and_shift(
            self.normalized_shape, elementwise_affine, bias, device, dtype
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight to ones, bias to zeros: at first, the layer only normalises."""
        _reset(self.weight, self.bias)

    def forward(self, input: Any) -> Any:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class RMSNorm(Module):
    """Divide by the root mean square over the last dims, `normalized_shape` (an int for the
    last dim alone), then scale by weight (ones, of shape normalized_shape) if
    elementwise_affine. eps None: the dtype's machine epsilon, decided at each call. See
    F.rms_norm for the maths."""

    def __init__(
        self,
        normalized_shape: Any,
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        self.weight, _ = _scale_and_shift(
            self.normalized_shape, elementwise_affine, False, device, dtype
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight to ones: at first, the layer only normalises."""
        _reset(self.weight, None)

    def forward(self, input: Any) -> Any:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class GroupNorm(Module):
    """Normalise each example over groups of its channels: num_groups groups of
    num_channels / num_groups channels, each with every position, then scale by weight (ones)
    and shift by bias (zeros), one value per channel, if affine (bias=False leaves the shift
    out). The same in training and eval. See F.group_norm."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_groups={num_groups} must divide num_channels={num_channels} "
                "into groups of equal size."
            )
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        self.weight, self.bias = _scale_and_shift((num_channels,), affine, bias, device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight to ones, bias to zeros: at first, the layer only normalises."""
        _reset(self.weight, self.bias)

    def forward(self, input: Any) -> Any:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class _InstanceNorm(_BatchNorm):
    """Batch norm's parameters and buffers (weight, bias, running_mean, running_var,
    num_batches_tracked), but off by default (affine=False, track_running_stats=False), and
    each example's channels normalised by their own statistics. With track_running_stats the
    running ones are updated in training and used in eval. An input without its batch dim is
    taken as a batch of one. See F.instance_norm."""

    unbatched_dims = 2  # the dims of one example, (C, L) or (C, H, W)
    _per_instance = True  # (SyncBatchNorm.convert_sync_batchnorm keeps these)

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias
        )

    def forward(self, input: Tensor) -> Tensor:
        dims = self.unbatched_dims
        if input.ndim not in (dims, dims + 1):
            raise ValueError(
                f"{type(self).__name__}: expected {dims}D or {dims + 1}D input (got "
                f"{input.ndim}D input, shape {shape_str(input.shape)})"
            )
        channel_dim = input.ndim - dims
        if input.shape[channel_dim] != self.num_features:
            if self.affine:  # weight and bias need one value per channel
                raise ValueError(
                    f"{type(self).__name__}: the input's dim {channel_dim} (its channels) has "
                    f"size {input.shape[channel_dim]}, but the layer was built for "
                    f"num_features={self.num_features} (input shape {shape_str(input.shape)})."
                )
            warnings.warn(  # as torch: without affine, num_features is not used
                f"{type(self).__name__}: the input's dim {channel_dim} has size "
                f"{input.shape[channel_dim]}, not num_features={self.num_features}; it is not "
                "used without affine=True, so the input is normalised anyway.",
                stacklevel=2,
            )
        batched = input if input.ndim == dims + 1 else input.unsqueeze(0)
        out = F.instance_norm(
            batched,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            # the input's statistics in training, and in eval when no running ones are kept
            use_input_stats=self.training or not self.track_running_stats,
            momentum=0.0 if self.momentum is None else self.momentum,
            eps=self.eps,
        )
        return out if input.ndim == dims + 1 else out.squeeze(0)


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over (N, C, L), or (C, L): each channel of each example over its L
    positions."""

    unbatched_dims = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over (N, C, H, W), or (C, H, W): each channel of each image over its
    pixels."""

    unbatched_dims = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance norm over (N, C, D, H, W), or (C, D, H, W): each channel of each example over
    its volume."""

    unbatched_dims = 4


class LocalResponseNorm(Module):
    """Each value divided by (k + alpha / size * the sum of the squares of the `size`
    channels around it) ^ beta. No parameters. See F.local_response_norm."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


def _scale_and_shift(
    shape: tuple[int, ...], affine: bool, bias: bool, device: DeviceLike, dtype: torch.dtype | None
) -> tuple[Parameter | None, Parameter | None]:
    """A normalisation's weight and bias of this shape, uninitialised (reset_parameters makes
    them ones and zeros); no bias with bias=False, neither without affine."""
    if not affine:
        return None, None
    place = {"device": _device(device), "dtype": dtype}
    weight = Parameter(torch.empty(shape, **place))
    return weight, Parameter(torch.empty(shape, **place)) if bias else None


def _reset(weight: Parameter | None, bias: Parameter | None) -> None:
    if weight is not None:
        init.ones_(weight)
    if bias is not None:
        init.zeros_(bias)
