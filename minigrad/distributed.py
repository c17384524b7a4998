"""Several processes training one model: torch.distributed's process groups, under minigrad.

minigrad's gradients are plain torch tensors, so processes talk through torch.distributed
itself: gloo between CPUs, NCCL between GPUs, over one machine or many. This module gives a
training script the calls it needs, so that `import minigrad.distributed as dist` reads as
torch's `import torch.distributed as dist`:

    dist.init_process_group()       # torchrun has set RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
    rank, world = dist.get_rank(), dist.get_world_size()
    ...                             # DistributedDataParallel(model), DistributedSampler(dataset)
    dist.destroy_process_group()

The process-group calls are torch's own (the same objects). `all_reduce` and `broadcast` also
take minigrad Tensors, e.g. to add up a metric over the ranks. docs/distributed.md explains
the rest; `minigrad.nn.parallel.DistributedDataParallel` averages the gradients.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.distributed import (
    Backend,
    ReduceOp,
    barrier,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_available,
    is_gloo_available,
    is_initialized,
    is_nccl_available,
    is_torchelastic_launched,
    new_group,
)
from torch.distributed import all_reduce as _all_reduce
from torch.distributed import broadcast as _broadcast

from .autograd.function import Context, Op
from .errors import DistributedError
from .errors import missing_name_getattr as _missing_name_getattr
from .tensor import Tensor, unwrap

__all__ = [
    "Backend",
    "DistributedError",
    "ReduceOp",
    "all_reduce",
    "barrier",
    "broadcast",
    "destroy_process_group",
    "get_backend",
    "get_rank",
    "get_world_size",
    "group",
    "init_process_group",
    "is_available",
    "is_gloo_available",
    "is_initialized",
    "is_nccl_available",
    "is_torchelastic_launched",
    "new_group",
]


def all_reduce(
    tensor: Tensor | torch.Tensor, op: Any = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Any:
    """Replace `tensor`, on every rank, by op (default: the sum) over all ranks' values, in place.
    A minigrad Tensor is changed in place too (the values only: no gradient flows through)."""
    return _all_reduce(_tensor_to_send(tensor), op=op, group=group, async_op=async_op)


def broadcast(
    tensor: Tensor | torch.Tensor, src: int, group: Any = None, async_op: bool = False
) -> Any:
    """Copy rank `src`'s `tensor` into `tensor` on every other rank, in place."""
    return _broadcast(_tensor_to_send(tensor), src=src, group=group, async_op=async_op)


def require_process_group(who: str) -> None:
    """Raise a DistributedError that says how to start one when no process group exists."""
    if not is_available():
        raise DistributedError(
            f"{who} needs torch.distributed, which this build of torch does not include "
            "(torch.distributed.is_available() is False). Install a torch wheel from pytorch.org."
        )
    if not is_initialized():
        raise DistributedError(
            f"{who} needs a process group, and none is initialized. Start the script with "
            "torchrun (torchrun --nproc_per_node 2 script.py) and call "
            "minigrad.distributed.init_process_group() first: torchrun tells each process "
            "its rank, the number of processes and where to meet (see docs/distributed.md)."
        )


# ---- collectives in the graph (what SyncBatchNorm's statistics need) ---------------------------


class AllGather(Op):
    """out[r] = rank r's x, stacked over the ranks of the group.   dL/dx = the sum over the ranks
    of their G[this rank]: every rank's loss depends on this rank's x through its own copy.

    Each rank runs the op with its own x (of one shape on every rank); the backward is an
    all-reduce of the gradient, so every rank must run backward through it, in the same order."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, group: Any = None) -> torch.Tensor:
        ctx.group, ctx.rank = group, torch.distributed.get_rank(group)
        pieces = [torch.empty_like(x) for _ in range(torch.distributed.get_world_size(group))]
        torch.distributed.all_gather(pieces, x.contiguous(), group=group)
        return torch.stack(pieces)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        return summed_over_ranks(grad, ctx.group)[ctx.rank], None


class AllReduceSum(Op):
    """out = the sum over the ranks of their x.   dL/dx = the sum over the ranks of their G
    (the same all-reduce: the sum is linear, and each rank's loss sees every rank's x)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, group: Any = None) -> torch.Tensor:
        ctx.group = group
        return summed_over_ranks(x, group)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        return summed_over_ranks(grad, ctx.group), None


def summed_over_ranks(x: Any, group: Any = None) -> Any:
    """The sum over the ranks: by torch for a torch tensor (a copy, all-reduced), by the op
    AllReduceSum for a minigrad Tensor (so that create_graph=True can go through it)."""
    if isinstance(x, Tensor):
        return AllReduceSum.apply(x, group)
    total = x.clone()
    torch.distributed.all_reduce(total, group=group)
    return total


# dist.all_gather, a torch name minigrad lacks, raises an AttributeError that says so.
__getattr__ = _missing_name_getattr(__name__, "torch.distributed")


def _tensor_to_send(tensor: Tensor | torch.Tensor) -> torch.Tensor:
    """The torch tensor a collective works on: a minigrad Tensor's own, or a torch tensor."""
    data = unwrap(tensor)
    if not isinstance(data, torch.Tensor):
        raise TypeError(f"expected a minigrad or torch Tensor, got {type(tensor).__name__}")
    return data
