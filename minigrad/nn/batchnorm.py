"""Batch normalisation layers: `BatchNorm1d`, `BatchNorm2d`, `BatchNorm3d` and `SyncBatchNorm`,
as torch's.

In training they normalise with the batch's statistics and update the running ones (buffers,
saved in state_dict); in eval (`model.eval()`) they normalise with the running ones.
"""

from __future__ import annotations

from typing import Any

import torch

from ..creation import DeviceLike, _device
from ..errors import shape_str
from ..tensor import Tensor
from . import functional as F
from .modules import Module, Parameter


class _BatchNorm(Module):
    """weight (ones) and bias (zeros, unless bias=False) per channel if affine; running_mean
    (zeros), running_var (ones) and num_batches_tracked (0) as buffers if track_running_stats."""

    expected_dims: tuple[int, ...] = ()
    # True for the instance norms, which share this class in minigrad (not in torch, whose
    # convert_sync_batchnorm leaves them as they are)
    _per_instance = False

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        place = {"device": _device(device), "dtype": dtype}
        if affine:
            self.weight: Parameter | None = Parameter(torch.ones(num_features, **place))
            self.bias: Parameter | None = (
                Parameter(torch.zeros(num_features, **place)) if bias else None
            )
        else:
            self.weight = self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(torch.zeros(num_features, **place)))
            self.register_buffer("running_var", Tensor(torch.ones(num_features, **place)))
            tracked = torch.tensor(0, dtype=torch.long, device=place["device"])
            self.register_buffer("num_batches_tracked", Tensor(tracked))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Forget the running statistics: mean 0, variance 1, no batches tracked."""
        if self.track_running_stats:
            self.running_mean._data.zero_()
            self.running_var._data.fill_(1)
            self.num_batches_tracked._data.zero_()

    def reset_parameters(self) -> None:
        """Back to the start, as torch's: running statistics reset, weight 1 and bias 0."""
        self.reset_running_stats()
        if self.affine:
            self.weight._data.fill_(1)
            if self.bias is not None:
                self.bias._data.zero_()

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in self.expected_dims:
            wanted = " or ".join(f"{d}D" for d in self.expected_dims)
            raise ValueError(
                f"{type(self).__name__}: expected {wanted} input (got {input.ndim}D input, shape "
                f"{shape_str(input.shape)})"
            )

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative average: every batch weighs the same
                factor = 1.0 / float(self.num_batches_tracked)
        # Batch statistics in training, and in eval too when there are no running ones.
        batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        use_running = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if use_running else None,
            self.running_var if use_running else None,
            self.weight,
            self.bias,
            batch_stats,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L): each of the C features normalised over the rest."""

    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W): each channel normalised over the batch and positions."""

    expected_dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W): each channel normalised over the batch and the volume."""

    expected_dims = (5,)


class SyncBatchNorm(_BatchNorm):
    """Batch norm over (N, C, ...) of any number of dims whose batch statistics, in torch, are
    taken over the batches of all the processes of a process group (data-parallel training
    with small per-process batches). In one process, and in eval, it is BatchNorm, as torch's
    on a CPU. The statistics across processes are not implemented in minigrad: in training
    with a process group of more than one process it raises NotImplementedError.

    `SyncBatchNorm.convert_sync_batchnorm(model)` swaps every BatchNorm*d of a model for one,
    keeping its parameters and running statistics."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group: Any = None,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias
        )
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim < 2:
            raise ValueError(
                f"SyncBatchNorm: expected an input (N, C, ...) of at least 2 dims (got "
                f"{input.ndim}D input, shape {shape_str(input.shape)})"
            )
        if input.shape[1] == 0:
            raise ValueError("SyncBatchNorm: the input has no channels (its dim 1 has size 0)")

    def forward(self, input: Tensor) -> Tensor:
        if self.training and _processes(self.process_group) > 1:
            raise NotImplementedError(
                "SyncBatchNorm: minigrad does not share batch statistics between processes. "
                "Train with nn.BatchNorm*d (each process normalises by its own batch), or call "
                "model.eval() to use the running statistics."
            )
        return super().forward(input)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """`module` with each BatchNorm*d in it (itself included) replaced by a SyncBatchNorm
        holding the same parameters and buffers (the same objects, so an optimizer built
        before still trains them) and the same training flag; other modules are kept."""
        converted = module
        if isinstance(module, _BatchNorm) and not module._per_instance:
            converted = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                process_group,
                bias=module.bias is not None,
            )
            if module.affine:
                converted.weight, converted.bias = module.weight, module.bias
            converted.running_mean = module.running_mean
            converted.running_var = module.running_var
            converted.num_batches_tracked = module.num_batches_tracked
            converted.training = module.training
        for name, child in module.named_children():
            converted.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return converted


def _processes(group: Any) -> int:
    """How many processes the group (the default one if None) holds; 1 without one."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return 1
    return torch.distributed.get_world_size(group)
