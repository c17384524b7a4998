"""Folding an eval-mode BatchNorm into the layer before it (torch.nn.utils.fusion), for
inference: in eval mode BatchNorm is a fixed affine map per channel,

    bn(y) = (y - mean) / sqrt(var + eps) * gamma + beta = y * s + (beta - mean * s),
    with s = gamma / sqrt(var + eps),

so after a convolution or linear layer y = W x + b it can be folded into new weights:
W' = W * s (each output channel's weights scaled) and b' = (b - mean) * s + beta. One layer
then does the work of two. The new weight and bias are new Parameters (outside the graph of
the old ones), in the old ones' dtypes.
"""

from __future__ import annotations

import copy
from typing import TypeVar

from ...creation import ones_like, zeros_like
from ...tensor import Tensor
from ..modules import Module, Parameter

__all__ = [
    "fuse_conv_bn_eval",
    "fuse_conv_bn_weights",
    "fuse_linear_bn_eval",
    "fuse_linear_bn_weights",
]

LayerT = TypeVar("LayerT", bound=Module)


def fuse_conv_bn_eval(conv: LayerT, bn: Module, transpose: bool = False) -> LayerT:
    """A copy of `conv` (a convolution) that computes bn(conv(x)), both in eval mode, as
    torch's. transpose=True for a ConvTranspose layer (its output channels are dimension 1 of
    its weight)."""
    _check_eval(conv, bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias,
        transpose,
    )  # fmt: skip
    return fused


def fuse_conv_bn_weights(
    conv_w: Tensor,
    conv_b: Tensor | None,
    bn_rm: Tensor,
    bn_rv: Tensor,
    bn_eps: float,
    bn_w: Tensor | None,
    bn_b: Tensor | None,
    transpose: bool = False,
) -> tuple[Parameter, Parameter]:
    """The weight and bias of a convolution followed by an eval-mode BatchNorm (running mean
    bn_rm, running variance bn_rv, eps bn_eps, affine weight bn_w and bias bn_b; None for an
    absent one), as new Parameters in the convolution's dtypes."""
    weight_dtype = conv_w.dtype
    bias_dtype = conv_b.dtype if conv_b is not None else weight_dtype
    conv_b = zeros_like(bn_rm) if conv_b is None else conv_b
    bn_w = ones_like(bn_rm) if bn_w is None else bn_w
    bn_b = zeros_like(bn_rm) if bn_b is None else bn_b
    inverse_std = (bn_rv + bn_eps).rsqrt()
    # one scale per output channel: dimension 0 of the weight (1 for a transposed convolution)
    channels_at = [1, -1] if transpose else [-1, 1]
    scale = (bn_w * inverse_std).reshape(channels_at + [1] * (conv_w.ndim - 2))
    fused_w = (conv_w * scale).to(dtype=weight_dtype)
    fused_b = ((conv_b - bn_rm) * inverse_std * bn_w + bn_b).to(dtype=bias_dtype)
    return (
        Parameter(fused_w.detach(), conv_w.requires_grad),
        Parameter(fused_b.detach(), conv_b.requires_grad),
    )


def fuse_linear_bn_eval(linear: LayerT, bn: Module) -> LayerT:
    """A copy of `linear` that computes bn(linear(x)), both in eval mode, as torch's. The
    BatchNorm has linear.out_features features, or 1 (broadcast over all of them)."""
    _check_eval(linear, bn)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(
            "To fuse, linear.out_features == bn.num_features or bn.num_features == 1, got "
            f"linear.out_features={linear.out_features} and bn.num_features={bn.num_features}"
        )
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias
    )
    return fused


def fuse_linear_bn_weights(
    linear_w: Tensor,
    linear_b: Tensor | None,
    bn_rm: Tensor,
    bn_rv: Tensor,
    bn_eps: float,
    bn_w: Tensor,
    bn_b: Tensor,
) -> tuple[Parameter, Parameter]:
    """The weight and bias of a linear layer followed by an eval-mode BatchNorm, as new
    Parameters in the linear layer's dtypes (see fuse_conv_bn_weights for the arguments)."""
    weight_dtype = linear_w.dtype
    bias_dtype = linear_b.dtype if linear_b is not None else weight_dtype
    linear_b = zeros_like(bn_rm) if linear_b is None else linear_b
    scale = bn_w * (bn_rv + bn_eps).rsqrt()
    fused_w = linear_w * scale.unsqueeze(-1).to(dtype=weight_dtype)
    fused_b = ((linear_b - bn_rm) * scale + bn_b).to(dtype=bias_dtype)
    return (
        Parameter(fused_w.detach(), linear_w.requires_grad),
        Parameter(fused_b.detach(), linear_b.requires_grad),
    )


def _check_eval(layer: Module, bn: Module) -> None:
    """Fusion is exact only with BatchNorm's running statistics: both in eval mode."""
    if layer.training or bn.training:
        raise AssertionError(
            "Fusion only for eval! Call .eval() on the layer and the BatchNorm first (in "
            "training BatchNorm uses the batch's statistics, which cannot be folded in)."
        )
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError(
            "bn.running_mean and bn.running_var must not be None (a BatchNorm built with "
            "track_running_stats=False has no statistics to fold in)"
        )
