"""Layer, RMS and group normalisation: `LayerNorm` (transformers normalise this way), `RMSNorm`
(Llama's) and `GroupNorm` (diffusion U-Nets), as torch's.

Unlike batch norm they normalise each example by its own statistics (over its last dims, or
over groups of its channels), so they have no running statistics and behave the same in
training and in eval.
"""

from __future__ import annotations

from typing import Any

import torch

from ..creation import DeviceLike, _device
from . import functional as F
from . import init
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
