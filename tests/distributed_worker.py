"""One rank of the two-process runs of tests/test_distributed.py (not a test file itself).

    python tests/distributed_worker.py SCENARIO RANK WORLD_SIZE STORE_PORT OUT_DIR PG_TIMEOUT_S

The test holds the rendezvous store (a TCPStore listening on 127.0.0.1 only) and starts one
process per rank; each joins the gloo process group through the store, runs SCENARIO and saves
what it returns to OUT_DIR/rank{RANK}.pt. The training code is shared with the test, which runs
it in one process, on the whole batches, as the reference.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as torch_dist

import minigrad as mg
import minigrad.distributed as dist
from minigrad import nn
from minigrad.data import DataLoader, DistributedSampler, TensorDataset
from minigrad.nn import functional as F
from minigrad.nn.parallel import DistributedDataParallel
from minigrad.optim import SGD

STEPS = 4
GLOBAL_BATCH = 12  # split evenly between the ranks
FEATURES, CLASSES = 6, 3


# ---- the training shared with the test's one-process reference --------------------------------


def make_model(seed: int) -> nn.Module:
    """Two hidden layers, float64, on the CPU (gloo's); `seed` picks the initial weights."""
    mg.manual_seed(seed)
    f64 = {"dtype": torch.float64, "device": "cpu"}
    return nn.Sequential(
        nn.Linear(FEATURES, 16, **f64),
        nn.ReLU(),
        nn.Linear(16, 16, **f64),
        nn.ReLU(),
        nn.Linear(16, CLASSES, **f64),
    )


def global_batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The whole batches of every step: the same on every rank (their own generator)."""
    generator = torch.Generator().manual_seed(2024)
    return [
        (
            torch.randn(GLOBAL_BATCH, FEATURES, generator=generator, dtype=torch.float64),
            torch.randint(0, CLASSES, (GLOBAL_BATCH,), generator=generator),
        )
        for _ in range(STEPS)
    ]


def train(
    model: nn.Module,
    batches: list[tuple[torch.Tensor, torch.Tensor]],
    rank: int = 0,
    world_size: int = 1,
    micro_batches: int = 1,
    fail_at: tuple[int, str] | None = None,
) -> None:
    """SGD with momentum; rank r trains on the r-th contiguous shard of each batch. With
    micro_batches > 1, each shard's gradient is accumulated over that many pieces, all but the
    last inside model.no_sync()."""
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step, (x, y) in enumerate(batches):
        if fail_at is not None and step == fail_at[0]:
            fail(fail_at[1])
        x_shard, y_shard = x.chunk(world_size)[rank], y.chunk(world_size)[rank]
        pieces = list(zip(x_shard.chunk(micro_batches), y_shard.chunk(micro_batches)))
        for i, (xb, yb) in enumerate(pieces):
            last = i == len(pieces) - 1
            with model.no_sync() if not last else contextlib.nullcontext():
                loss = F.cross_entropy(model(mg.Tensor(xb)), mg.Tensor(yb)) / len(pieces)
                loss.backward()
        opt.step()
        opt.zero_grad()


def fail(how: str) -> None:
    """What a broken rank does, in the failure scenarios."""
    if how == "raise":
        raise RuntimeError("rank 1 fails on purpose")
    if how == "die":
        os._exit(7)  # no cleanup, no exception: as if killed
    if how == "hang":
        time.sleep(600)  # alive, but never joins the next all-reduce


def parameters(model: nn.Module) -> list[torch.Tensor]:
    return [p._data.clone() for p in model.parameters()]


# ---- the scenarios --------------------------------------------------------------------------

# (name, DistributedDataParallel arguments, micro-batches per rank per step)
CONFIGS = {
    "one bucket per parameter, overlapped": ({"bucket_cap_mb": 0}, 1),
    "one bucket, after backward": ({"overlap": False}, 1),
    "three buckets of two parameters, overlapped": ({"bucket_cap_mb": 300 / 2**20}, 1),
    "no_sync accumulation over 3 micro-batches": ({"bucket_cap_mb": 0}, 3),
}


def scenario_train(rank: int, world_size: int) -> dict[str, Any]:
    """Each config: build the model from a seed of this rank's own, wrap it, train."""
    results: dict[str, Any] = {}
    for name, (kwargs, micro_batches) in CONFIGS.items():
        model = make_model(seed=100 + rank)  # different on each rank, until the broadcast
        before = parameters(model)
        ddp = DistributedDataParallel(model, **kwargs)
        after_wrap = parameters(model)
        buckets = len(ddp.reducer.buckets)
        train(ddp, global_batches(), rank, world_size, micro_batches)
        results[name] = {
            "before": before,
            "after_wrap": after_wrap,
            "final": parameters(model),
            "buckets": buckets,
        }
    return results


SAMPLER_CASES = [(12, False), (11, False), (11, True)]  # (data set size, drop_last)


def scenario_sampler(rank: int, world_size: int) -> dict[Any, Any]:
    """The indices this rank's DataLoader gives in each of 3 epochs, for each case."""
    seen = {}
    for size, drop_last in SAMPLER_CASES:
        dataset = TensorDataset(torch.arange(size))
        sampler = DistributedSampler(dataset, shuffle=True, seed=5, drop_last=drop_last)
        loader = DataLoader(dataset, batch_size=2, sampler=sampler)
        epochs = []
        for epoch in range(3):
            sampler.set_epoch(epoch)
            epochs.append([i for (batch,) in loader for i in batch.tolist()])
        seen[size, drop_last] = epochs
    return seen


class WithBuffer(nn.Module):
    """A layer with a buffer (a running statistic, not trained), as batch norm has."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 2, dtype=torch.float64, device="cpu")
        self.running = torch.full((3,), value, dtype=torch.float64)

    def buffers(self) -> list[torch.Tensor]:
        return [self.running]

    def forward(self, x: mg.Tensor) -> mg.Tensor:
        return self.layer(x)


def scenario_buffers(rank: int, world_size: int) -> dict[str, Any]:
    """Buffers: rank 0's at construction, and again before each forward."""
    module = WithBuffer(value=float(rank))
    DistributedDataParallel(module, broadcast_buffers=False)  # init_sync still copies them
    after_wrap = module.running.clone()
    model = DistributedDataParallel(WithBuffer(value=float(rank)))
    model.module.running += 10 * (rank + 1)  # each rank's running statistics drift apart
    model(mg.zeros(1, 2, dtype=torch.float64, device="cpu"))
    return {"after_wrap": after_wrap, "after_forward": model.module.running.clone()}


def scenario_collectives(rank: int, world_size: int) -> dict[str, Any]:
    """minigrad.distributed's all_reduce and broadcast, on minigrad Tensors and torch tensors."""
    total, largest = mg.tensor([rank + 1.0, 10.0]), torch.tensor([rank + 1.0])
    dist.all_reduce(total)  # the sum, by default
    dist.all_reduce(largest, op=dist.ReduceOp.MAX)
    from_last = mg.tensor([float(rank)])
    dist.broadcast(from_last, src=world_size - 1)
    return {"sum": total.tolist(), "max": largest.tolist(), "broadcast": from_last.tolist()}


def make_normed_model(seed: int, norm: Any) -> nn.Module:
    """make_model's first layer, then batch norm (`norm`: nn.SyncBatchNorm across the ranks, or
    nn.BatchNorm1d for the one-process reference)."""
    mg.manual_seed(seed)
    f64 = {"dtype": torch.float64, "device": "cpu"}
    return nn.Sequential(
        nn.Linear(FEATURES, 16, **f64), norm(16, **f64), nn.ReLU(), nn.Linear(16, CLASSES, **f64)
    )


def scenario_sync_batch_norm(rank: int, world_size: int) -> dict[str, Any]:
    """SyncBatchNorm under DDP, each rank on its half of each batch; then its running
    statistics in eval; and minigrad.compile's refusal of it in training."""
    model = make_normed_model(100, nn.SyncBatchNorm)
    train(DistributedDataParallel(model, bucket_cap_mb=0), global_batches(), rank, world_size)
    step = mg.compile(lambda x: model(x).sum())
    try:
        step(mg.Tensor(global_batches()[0][0]))
        refusal = None
    except mg.jit.CompileError as error:
        refusal = str(error)
    model.eval()
    return {
        "final": parameters(model),
        "buffers": [b._data.clone() for b in model.buffers()],
        "eval": model(mg.Tensor(global_batches()[0][0]))._data,
        "refusal": refusal,
    }


def scenario_all(rank: int, world_size: int) -> dict[str, Any]:
    """One launch for every scenario that should succeed (starting processes takes seconds)."""
    return {
        "train": scenario_train(rank, world_size),
        "sampler": scenario_sampler(rank, world_size),
        "buffers": scenario_buffers(rank, world_size),
        "collectives": scenario_collectives(rank, world_size),
        "sync_batch_norm": scenario_sync_batch_norm(rank, world_size),
    }


def scenario_mismatch(rank: int, world_size: int) -> dict[str, Any]:
    """Rank 1 builds a larger model than rank 0: wrapping must stop on both, naming both."""
    mg.manual_seed(0)
    model = nn.Linear(2, 2 + rank, dtype=torch.float64, device="cpu")
    try:
        DistributedDataParallel(model)
    except dist.DistributedError as error:
        return {"error": str(error)}
    return {"error": None}


SUBGROUP = [1, 2]  # a process group without global rank 0


def scenario_subgroup(rank: int, world_size: int) -> dict[str, Any]:
    """World of 3 ranks; ranks 1 and 2 train together in a group of their own (its first rank
    is global rank 1), rank 0 stays out. The broadcast at wrapping must come from global rank 1,
    and the average divide by the group's 2 ranks, not the world's 3."""
    group = torch_dist.new_group(SUBGROUP)  # every rank of the world takes part in making it
    model = make_model(seed=100 + rank)
    before = parameters(model)
    if rank not in SUBGROUP:
        return {"before": before, "final": parameters(model)}
    ddp = DistributedDataParallel(model, process_group=group, bucket_cap_mb=0)
    after_wrap = parameters(model)
    train(ddp, global_batches(), SUBGROUP.index(rank), len(SUBGROUP))
    total, from_last = mg.tensor([float(rank)]), mg.tensor([float(rank)])
    dist.all_reduce(total, group=group)  # ranks 1 and 2 only: 3
    dist.broadcast(from_last, src=SUBGROUP[-1], group=group)  # a global rank: 2
    return {
        "before": before,
        "after_wrap": after_wrap,
        "final": parameters(model),
        "collectives": (total.tolist(), from_last.tolist()),
    }


def scenario_fails(how: str):
    def scenario(rank: int, world_size: int) -> dict[str, Any]:
        model = DistributedDataParallel(make_model(seed=1))
        fail_at = (2, how) if rank == 1 else None
        train(model, global_batches(), rank, world_size, fail_at=fail_at)
        return {}

    return scenario


SCENARIOS = {
    "all": scenario_all,
    "subgroup": scenario_subgroup,
    "mismatch": scenario_mismatch,
    "raise": scenario_fails("raise"),
    "die": scenario_fails("die"),
    "hang": scenario_fails("hang"),
}


def main(argv: list[str]) -> None:
    scenario, rank, world_size, port, out, timeout = argv
    rank, world_size = int(rank), int(world_size)
    store = torch_dist.TCPStore(
        "127.0.0.1", int(port), world_size, is_master=False, timeout=timedelta(seconds=30)
    )
    dist.init_process_group(
        "gloo",
        store=store,
        rank=rank,
        world_size=world_size,
        timeout=timedelta(seconds=float(timeout)),
    )
    result = SCENARIOS[scenario](rank, world_size)
    torch.save(result, Path(out) / f"rank{rank}.pt")
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1:])
