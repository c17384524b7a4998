"""`DistributedSampler`: each process of a data-parallel job gets its own shard of the data.

torch's sampler, index for index. Every rank draws the same shuffled order (from `seed` and
the epoch), pads it to a multiple of the number of ranks (or drops its tail), then rank r takes
positions r, r + n, r + 2n, ... So the ranks' shards are disjoint, of equal length, and together
cover the data set once per epoch (plus the few padding samples):

    sampler = DistributedSampler(dataset)           # rank and world size from the process group
    dl = DataLoader(dataset, batch_size=64, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)                    # a new order each epoch (Learner does this)
        for xb, yb in dl: ...

Equal lengths matter: each batch ends in an all-reduce that needs every rank, so a rank with
one batch more would wait for the others forever.
"""

from __future__ import annotations

import math
from collections.abc import Sized

import torch
import torch.distributed as dist

from ..errors import DistributedError
from .loader import Sampler


class DistributedSampler(Sampler):
    """This rank's shard of `dataset`'s indices, in a new order each epoch.

    num_replicas: the number of ranks (default: the process group's world size).
    rank:         this process's rank, 0 to num_replicas - 1 (default: the process group's).
    shuffle:      shuffle the indices, with the same order on every rank (from seed + epoch).
    seed:         the shuffle's seed; must be the same on every rank.
    drop_last:    drop the tail that does not divide evenly between the ranks, instead of
                  padding the order with its first indices.
    """

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            if not (dist.is_available() and dist.is_initialized()):
                raise DistributedError(
                    "DistributedSampler(dataset) reads the number of processes and this one's "
                    "rank from the process group, and none is initialized: call "
                    "minigrad.distributed.init_process_group() first (under torchrun), or pass "
                    "num_replicas= and rank= yourself."
                )
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if not _is_int(num_replicas) or num_replicas < 1:
            raise ValueError(f"num_replicas must be a positive int, got {num_replicas!r}")
        if not _is_int(rank) or not 0 <= rank < num_replicas:
            raise ValueError(
                f"DistributedSampler: rank={rank!r} is not a rank of {num_replicas} processes; "
                f"ranks are the ints 0 to {num_replicas - 1} (num_replicas - 1)."
            )
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % num_replicas != 0:  # keep the largest multiple of num_replicas
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:  # pad up to the next multiple
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def order(self) -> torch.Tensor:
        n = len(self.dataset)
        if self.shuffle:
            generator = torch.Generator()  # its own: the same order on every rank, any device
            generator.manual_seed(self.seed + self.epoch)
            indices = torch.randperm(n, generator=generator)
        else:
            indices = torch.arange(n)
        if self.total_size > n:  # pad with the order's first indices, repeated if need be
            padding = self.total_size - n
            indices = torch.cat([indices, indices.repeat(math.ceil(padding / n))[:padding]])
        # Every num_replicas-th index from this rank's; with drop_last, none past total_size.
        return indices[self.rank : self.total_size : self.num_replicas]

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Shuffle differently in this epoch: call it at the start of every epoch, with the same
        epoch number on every rank (otherwise each epoch repeats the first one's order)."""
        self.epoch = epoch

    def __repr__(self) -> str:
        return (
            f"DistributedSampler(rank {self.rank} of {self.num_replicas}, {self.num_samples} "
            f"samples, shuffle={self.shuffle}, seed={self.seed}, epoch={self.epoch}, "
            f"drop_last={self.drop_last})"
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
