"""Lazy layers: `LazyLinear`, `LazyConv1d/2d/3d`, `LazyConvTranspose1d/2d/3d`,
`LazyBatchNorm1d/2d/3d`, `LazyInstanceNorm1d/2d/3d`, as torch's: the input size (in_features,
in_channels, num_features) is read from the first input, so a model is written without it
(d2l.ai builds its models this way):

    net = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
    net(X)                                   # a dry run: the parameters are made now
    opt = minigrad.optim.SGD(net.parameters(), lr=0.1)

Until then the layer holds placeholders (`nn.UninitializedParameter`, `nn.UninitializedBuffer`):
`parameters()` and `state_dict()` give them, and using their values raises. On the first call the
layer makes its parameters, draws their values as the ordinary layer does (same order, so the
same seed gives torch's values), and becomes that layer: `type(net[0])` is then `nn.Linear`.
The placeholders become Parameters in place, so an optimizer built before the dry run holds
the real parameters afterwards, as torch's does.
"""

from __future__ import annotations

from typing import Any

import torch

from ..creation import DeviceLike
from ..errors import shape_str
from ..tensor import Tensor
from .batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d, _BatchNorm
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .modules import Linear, Module, UninitializedBuffer, UninitializedParameter, is_lazy
from .normalization import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d


class LazyModuleMixin:
    """What the lazy layers share: on the first call, `initialize_parameters(input)` makes the
    parameters from the input's shape, then the layer becomes `cls_to_become` (its `__class__`
    is swapped, as torch does) and runs as that layer from then on."""

    cls_to_become: type[Module] | None = None

    def has_uninitialized_params(self) -> bool:
        """Whether any of this layer's own parameters or buffers is still a placeholder."""
        own = [*vars(self).values()]
        return any(is_lazy(value) for value in own)

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define initialize_parameters")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # (before the forward hooks, as torch's lazy hook is the first one registered)
        self.initialize_parameters(*args, **kwargs)
        if self.has_uninitialized_params():
            raise RuntimeError(f"{type(self).__name__} has not made all of its parameters")
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become  # from now on, an ordinary layer
        return Module.__call__(self, *args, **kwargs)  # type: ignore[arg-type]


class LazyLinear(LazyModuleMixin, Linear):
    """A Linear whose in_features is the last dim of its first input: y = x @ weight.T + bias,
    weight (out_features, in_features). Becomes nn.Linear on its first call."""

    cls_to_become = Linear

    def __init__(
        self,
        out_features: int,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(0, 0, False)  # nothing to draw yet
        self.out_features = out_features
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.bias = UninitializedParameter(device=device, dtype=dtype) if bias else None

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        if input.ndim == 0:
            raise ValueError(
                f"{type(self).__name__}: the input must have at least one dim (its last is "
                "in_features), got a 0-d tensor"
            )
        if self.has_uninitialized_params():
            self.in_features = input.shape[-1]
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()  # weight, then bias: torch's order
        elif self.in_features == 0:  # the parameters came from load_state_dict
            _check_loaded(self, "in_features", input.shape[-1], self.weight.shape[-1])
            self.in_features = input.shape[-1]


class _LazyConvNd(LazyModuleMixin):
    """A convolution whose in_channels is dim 1 of its first (batched) input, dim 0 of an
    unbatched one."""

    dims: int
    transposed: bool

    def _lazy_parameters(self, out_channels: int, bias: bool, device: Any, dtype: Any) -> None:
        self.out_channels = out_channels
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.bias = UninitializedParameter(device=device, dtype=dtype) if bias else None

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        conv: Any = self  # (a _ConvNd too)
        if not self.has_uninitialized_params():
            return
        if input.ndim not in (self.dims + 1, self.dims + 2):
            raise ValueError(
                f"{type(self).__name__}: expected a {self.dims + 1}-d (unbatched) or "
                f"{self.dims + 2}-d (batched) input, (N, C_in, ...), to read in_channels from; "
                f"got shape {shape_str(input.shape)}"
            )
        conv.in_channels = input.shape[1] if input.ndim == self.dims + 2 else input.shape[0]
        if conv.in_channels % conv.groups:
            raise ValueError(
                f"{type(self).__name__}: in_channels ({conv.in_channels}, read from the input "
                f"of shape {shape_str(input.shape)}) must be divisible by groups ({conv.groups})"
            )
        channels = (conv.out_channels, conv.in_channels // conv.groups)
        if self.transposed:
            channels = (conv.in_channels, conv.out_channels // conv.groups)
        conv.weight.materialize((*channels, *conv.kernel_size))
        if conv.bias is not None:
            conv.bias.materialize((conv.out_channels,))
        conv.reset_parameters()  # weight, then bias: torch's order


class _LazyConv(_LazyConvNd):
    """LazyConv1d/2d/3d's constructor: Conv*d's arguments less in_channels (0 until read)."""

    def __init__(
        self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
        dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
        device: DeviceLike = None, dtype: torch.dtype | None = None,
    ) -> None:  # fmt: skip
        super().__init__(
            0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode
        )  # fmt: skip
        self._lazy_parameters(out_channels, bias, device, dtype)


class _LazyConvTranspose(_LazyConvNd):
    """LazyConvTranspose1d/2d/3d's: ConvTranspose*d's arguments less in_channels."""

    def __init__(
        self, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
        output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
        padding_mode: str = "zeros", device: DeviceLike = None, dtype: torch.dtype | None = None,
    ) -> None:  # fmt: skip
        super().__init__(
            0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation,
            padding_mode,
        )  # fmt: skip
        self._lazy_parameters(out_channels, bias, device, dtype)


class LazyConv1d(_LazyConv, Conv1d):
    """Conv1d with in_channels read from the first input; becomes nn.Conv1d then."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """Conv2d with in_channels read from the first input; becomes nn.Conv2d then."""

    cls_to_become = Conv2d


class LazyConv3d(_LazyConv, Conv3d):
    """Conv3d with in_channels read from the first input; becomes nn.Conv3d then."""

    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """ConvTranspose1d with in_channels read from the first input; becomes nn.ConvTranspose1d."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """ConvTranspose2d with in_channels read from the first input; becomes nn.ConvTranspose2d."""

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """ConvTranspose3d with in_channels read from the first input; becomes nn.ConvTranspose3d."""

    cls_to_become = ConvTranspose3d


class _LazyBatchNorm(LazyModuleMixin, _BatchNorm):
    """Batch norm whose num_features is dim 1 of the first input: weight, bias, running_mean
    and running_var are placeholders until then (num_batches_tracked is a 0 from the start)."""

    def __init__(
        self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
        track_running_stats: bool = True, device: DeviceLike = None,
        dtype: torch.dtype | None = None, *, bias: bool = True,
    ) -> None:  # fmt: skip
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            self.bias = UninitializedParameter(device=device, dtype=dtype) if bias else None
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            tracked = torch.zeros((), dtype=torch.long, device=self.running_mean.device)
            self.num_batches_tracked = Tensor(tracked)

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        if not self.has_uninitialized_params():
            return
        if input.ndim < 2:
            raise ValueError(
                f"{type(self).__name__}: expected an input (N, C, ...) to read num_features "
                f"(C) from, got shape {shape_str(input.shape)}"
            )
        self.num_features = input.shape[self._channel_dim(input)]
        for name in ("weight", "bias", "running_mean", "running_var"):
            value = getattr(self, name)
            if value is not None:
                value.materialize((self.num_features,))
        self.reset_parameters()

    def _channel_dim(self, input: Tensor) -> int:
        return 1


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    """BatchNorm1d with num_features read from the first input; becomes nn.BatchNorm1d then."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    """BatchNorm2d with num_features read from the first input; becomes nn.BatchNorm2d then."""

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyBatchNorm, BatchNorm3d):
    """BatchNorm3d with num_features read from the first input; becomes nn.BatchNorm3d then."""

    cls_to_become = BatchNorm3d


class _LazyInstanceNorm(_LazyBatchNorm):
    """Instance norm whose num_features is read from the first input: its channels, dim 1 of
    a batched input, dim 0 of an unbatched one. As torch's lazy instance norms, affine and
    track_running_stats default to True (the ordinary InstanceNorm's default to False).
    (torch reads dim 1 of an unbatched input too, then fails on it; minigrad reads the
    channels.)"""

    unbatched_dims: int

    def _channel_dim(self, input: Tensor) -> int:
        return 0 if input.ndim == self.unbatched_dims else 1


class LazyInstanceNorm1d(_LazyInstanceNorm, InstanceNorm1d):
    """InstanceNorm1d with num_features read from the first input; becomes nn.InstanceNorm1d."""

    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyInstanceNorm, InstanceNorm2d):
    """InstanceNorm2d with num_features read from the first input; becomes nn.InstanceNorm2d."""

    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyInstanceNorm, InstanceNorm3d):
    """InstanceNorm3d with num_features read from the first input; becomes nn.InstanceNorm3d."""

    cls_to_become = InstanceNorm3d


def _check_loaded(layer: Any, what: str, from_input: int, from_weight: int) -> None:
    if from_input != from_weight:
        raise ValueError(
            f"{type(layer).__name__}: the input gives {what}={from_input}, but the weight "
            f"loaded from a state_dict was made for {what}={from_weight}"
        )
