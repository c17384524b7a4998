"""Batch normalisation layers: `BatchNorm1d`, `BatchNorm2d`, `BatchNorm3d` and `SyncBatchNorm`,
as torch's.

In training they normalise with the batch's statistics and update the running ones (buffers,
saved in state_dict); in eval (`model.eval()`) they normalise with the running ones.
"""

from __future__ import annotations

from typing import Any

import torch

from ..autograd.grad_mode import no_grad
from ..creation import DeviceLike, _device, stack
from ..distributed import AllGather
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
        factor = self._running_factor()
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

    def _running_factor(self) -> float:
        """How much this batch moves the running statistics (momentum, or 1/n for a cumulative
        average), counting it in num_batches_tracked when training."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative average: every batch weighs the same
                factor = 1.0 / float(self.num_batches_tracked)
        return factor

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
    """Batch norm over (N, C, ...) of any number of dims whose batch statistics are taken over
    the batches of all the processes of a process group (data-parallel training with small
    per-process batches), as torch's. In one process, and in eval, it is BatchNorm.

    Across processes, in training, each rank computes its own batch's per-channel mean and sum
    of squared deviations; an all-gather (in the graph) brings every rank's to every rank, and
    they are combined (Chan et al.'s parallel variance):

        mean = sum_r n_r mean_r / n,   var = (sum_r m2_r + n_r (mean_r - mean)^2) / n

    with n_r rank r's count and n the total. The gradient flows back through the all-gather to
    every rank's input, so each rank's input gets the gradient of every rank's loss, as one
    process normalising the whole batch would give it. Every rank must run the same forward
    and backward passes (the collectives pair up in order).

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
        if not self.training or _processes(self.process_group) == 1:
            return super().forward(input)
        self._check_input_dim(input)
        factor = self._running_factor()
        mean, var, count = _synced_batch_stats(input, self.process_group)
        if self.running_mean is not None and self.track_running_stats:
            with no_grad():  # the running statistics: the unbiased variance, as torch's
                self.running_mean.mul_(1 - factor).add_(mean * factor)
                self.running_var.mul_(1 - factor).add_(var * (factor * count / max(count - 1, 1)))
        along = (1, -1) + (1,) * (input.ndim - 2)  # per channel, broadcast over the rest
        out = (input - mean.view(along)) / (var.view(along) + self.eps).sqrt()
        if self.weight is not None:
            out = out * self.weight.view(along)
        if self.bias is not None:
            out = out + self.bias.view(along)
        return out

    @property
    def cannot_compile(self) -> str | None:
        """Why minigrad.compile refuses a step with it (asked of every module it meets)."""
        if self.training and _processes(self.process_group) > 1:
            return (
                "SyncBatchNorm across processes cannot be compiled: its statistics come from "
                "the other processes (an all-gather in forward, an all-reduce in backward), "
                "which a replay of torch calls would not repeat. Train without minigrad.compile."
            )
        return None

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


def _synced_batch_stats(input: Tensor, group: Any) -> tuple[Tensor, Tensor, int]:
    """The per-channel mean and (biased) variance of the batches of every rank of the group, in
    the graph, and their total count (see SyncBatchNorm)."""
    dims = [0, *range(2, input.ndim)]  # every dim but the channels'
    along = (1, -1) + (1,) * (input.ndim - 2)
    local = input.numel() // max(input.shape[1], 1)
    counts = torch.tensor([local], device=input.device)
    every = [torch.empty_like(counts) for _ in range(_processes(group))]
    torch.distributed.all_gather(every, counts, group=group)
    counts = torch.cat(every).tolist()  # each rank's count (Python ints)
    total = sum(counts)
    if total == 0:
        raise ValueError(
            f"SyncBatchNorm: every rank's batch is empty (input shape {shape_str(input.shape)} "
            "here): there is nothing to take the statistics of."
        )
    mean = input.sum(dims) / max(local, 1)  # (an empty batch: 0, weighed by n_r = 0 below)
    m2 = ((input - mean.view(along)) ** 2).sum(dims)
    gathered = AllGather.apply(stack([mean, m2]), group)  # (ranks, 2, C)
    weights = Tensor(torch.tensor(counts, dtype=input.dtype, device=input.device)).view(-1, 1)
    means, m2s = gathered[:, 0], gathered[:, 1]
    mean = (means * weights).sum(0) / total
    spread = m2s.sum(0) + (weights * (means - mean) ** 2).sum(0)
    return mean, spread / total, total


def _processes(group: Any) -> int:
    """How many processes the group (the default one if None) holds; 1 without one."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return 1
    return torch.distributed.get_world_size(group)
