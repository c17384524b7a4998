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


# dist.all_gather, a torch name minigrad lacks, raises an AttributeError that says so.
__getattr__ = _missing_name_getattr(__name__, "torch.distributed")


def _tensor_to_send(tensor: Tensor | torch.Tensor) -> torch.Tensor:
    """The torch tensor a collective works on: a minigrad Tensor's own, or a torch tensor."""
    data = unwrap(tensor)
    if not isinstance(data, torch.Tensor):
        raise TypeError(f"expected a minigrad or torch Tensor, got {type(tensor).__name__}")
    return data
