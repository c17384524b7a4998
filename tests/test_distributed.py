"""Data-parallel training: DistributedDataParallel, DistributedSampler, and the hook under them.

Two kinds of tests:
- in this process, in a process group of one rank (gloo over an in-memory store): the
  post-accumulate-grad hook, the buckets, the overlap with backward, the errors, the sampler
  against torch's;
- two gloo processes (tests/distributed_worker.py) that this file starts: training equals one
  process on the whole batches, the initial broadcast, the sampler's shards, failing ranks.
  Everything is on 127.0.0.1: the rendezvous store listens there only, and gloo is told to use
  the loopback interface. Each run has a deadline, after which its processes are killed.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import io
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as torch_dist
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.data import DataLoader, DataLoaders, DistributedSampler, TensorDataset
from minigrad.errors import DistributedError, GradientError
from minigrad.jit import CompileError
from minigrad.learner import Learner
from minigrad.nn import functional as F
from minigrad.nn.parallel import DistributedDataParallel, assign_buckets

sys.path.insert(0, str(Path(__file__).resolve().parent))
import distributed_worker as worker  # noqa: E402  (the code both ranks run, and the reference)

WORKER = Path(worker.__file__)
LOOPBACK = "127.0.0.1"


# ---- two processes on this machine ---------------------------------------------------------


@dataclass
class RankRun:
    returncode: int | None  # None: still running at the deadline, so killed
    seconds: float  # from the start until it exited (or was killed)
    stdout: str
    stderr: str
    result: Any  # what the scenario returned (None if it did not finish)


def run_ranks(
    scenario: str,
    out: Path,
    world_size: int = 2,
    pg_timeout_s: float = 60,
    deadline_s: float = 120,
    wait_for: list[int] | None = None,
) -> list[RankRun]:
    """Start one worker process per rank and wait for those in `wait_for` (default: all) to
    exit, at most `deadline_s` seconds; then kill whatever still runs."""
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))  # a free port, held from now on: no other program can take it
    listener.listen()
    port = listener.getsockname()[1]
    store = torch_dist.TCPStore(  # the rendezvous, listening on loopback only (it owns the fd)
        LOOPBACK,
        port,
        world_size,
        is_master=True,
        wait_for_workers=False,
        timeout=timedelta(seconds=deadline_s),
        master_listen_fd=listener.detach(),
    )
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    out.mkdir(parents=True, exist_ok=True)
    processes, logs = [], []
    for rank in range(world_size):
        stdout, stderr = open(out / f"rank{rank}.out", "w+"), open(out / f"rank{rank}.err", "w+")
        logs.append((stdout, stderr))
        args = [scenario, rank, world_size, port, out, pg_timeout_s]
        processes.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), *map(str, args)],
                stdout=stdout,
                stderr=stderr,
                env=env,
                start_new_session=True,  # its own process group, so that a kill gets it all
            )
        )
    start = time.monotonic()
    ended: dict[int, float] = {}
    waited = range(world_size) if wait_for is None else wait_for
    try:
        while time.monotonic() - start < deadline_s:
            for rank, process in enumerate(processes):
                if rank not in ended and process.poll() is not None:
                    ended[rank] = time.monotonic() - start
            if all(rank in ended for rank in waited):
                break
            time.sleep(0.05)
    finally:
        for rank, process in enumerate(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                ended.setdefault(rank, time.monotonic() - start)
        del store
    runs = []
    for rank, (process, (stdout, stderr)) in enumerate(zip(processes, logs)):
        stdout.seek(0), stderr.seek(0)
        result_file = out / f"rank{rank}.pt"
        result = torch.load(result_file, weights_only=False) if result_file.exists() else None
        killed = process.returncode == -signal.SIGKILL and rank not in waited
        runs.append(
            RankRun(
                None if killed else process.returncode,
                ended[rank],
                stdout.read(),
                stderr.read(),
                result,
            )
        )
        stdout.close(), stderr.close()
    return runs


def assert_finished(runs: list[RankRun]) -> None:
    for rank, run in enumerate(runs):
        assert run.returncode == 0, f"rank {rank} exited with {run.returncode}:\n{run.stderr}"


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """Both ranks' results of every scenario that should succeed (one launch for them all)."""
    runs = run_ranks("all", tmp_path_factory.mktemp("two_ranks"))
    assert_finished(runs)
    return [run.result for run in runs]


@pytest.mark.parametrize("config", list(worker.CONFIGS))
def test_two_ranks_train_exactly_as_one_process_on_the_whole_batches(two_ranks, config) -> None:
    """Rank r trains on the r-th half of each batch; the averaged gradients make every step
    the step one process takes on the whole batch: the same parameters after 4 steps of SGD
    with momentum, in float64, on both ranks."""
    reference = worker.make_model(seed=100)  # rank 0's initial weights, which DDP broadcasts
    worker.train(reference, worker.global_batches())
    expected = worker.parameters(reference)
    rank0, rank1 = (ranks["train"][config]["final"] for ranks in two_ranks)
    for got in (rank0, rank1):
        for g, e in zip(got, expected, strict=True):
            torch.testing.assert_close(g, e, rtol=1e-10, atol=0)
    for a, b in zip(rank0, rank1, strict=True):
        assert torch.equal(a, b), "the ranks' parameters differ"
    initial = worker.parameters(worker.make_model(seed=100))
    assert not any(torch.equal(a, b) for a, b in zip(rank0, initial)), "training did nothing"


def test_sync_batch_norm_on_two_ranks_trains_as_batch_norm_on_the_whole_batches(two_ranks):
    """SyncBatchNorm's statistics over both ranks' halves are the whole batch's, and its
    gradient reaches each rank's input from both ranks' losses: 4 steps under DDP give one
    process's BatchNorm1d on the whole batches, parameters, running statistics and eval
    outputs alike; a compiled step with it is refused."""
    reference = worker.make_normed_model(100, nn.BatchNorm1d)
    worker.train(reference, worker.global_batches())
    reference.eval()
    expected_eval = reference(mg.Tensor(worker.global_batches()[0][0]))._data
    for ranks in two_ranks:
        got = ranks["sync_batch_norm"]
        for g, e in zip(got["final"], worker.parameters(reference), strict=True):
            torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)
        for g, e in zip(got["buffers"], [b._data for b in reference.buffers()], strict=True):
            torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(got["eval"], expected_eval, rtol=1e-10, atol=1e-12)
        assert "SyncBatchNorm across processes cannot be compiled" in got["refusal"]


def test_the_configs_have_the_buckets_they_are_named_after(two_ranks) -> None:
    buckets = {name: result["buckets"] for name, result in two_ranks[0]["train"].items()}
    assert buckets == {
        "one bucket per parameter, overlapped": 6,
        "one bucket, after backward": 1,
        "three buckets of two parameters, overlapped": 3,
        "no_sync accumulation over 3 micro-batches": 6,
    }


def test_every_rank_starts_from_rank_0s_parameters(two_ranks) -> None:
    """The ranks seed their models differently; wrapping copies rank 0's to both."""
    for config in worker.CONFIGS:
        (before0, wrapped0), (before1, wrapped1) = (
            (ranks["train"][config]["before"], ranks["train"][config]["after_wrap"])
            for ranks in two_ranks
        )
        assert not any(torch.equal(a, b) for a, b in zip(before0, before1)), "same seeds?"
        for original, on_rank0, on_rank1 in zip(before0, wrapped0, wrapped1, strict=True):
            assert torch.equal(on_rank0, original)
            assert torch.equal(on_rank1, original)


def test_buffers_are_rank_0s_after_wrapping_and_before_each_forward(two_ranks) -> None:
    for rank, ranks in enumerate(two_ranks):
        buffers = ranks["buffers"]
        assert buffers["after_wrap"].tolist() == [0.0] * 3, f"rank {rank}"
        assert buffers["after_forward"].tolist() == [10.0] * 3, f"rank {rank}"


@pytest.mark.parametrize("size, drop_last", worker.SAMPLER_CASES)
def test_the_sampler_shards_cover_the_data_set_once_per_epoch(two_ranks, size, drop_last):
    """Two ranks' DataLoaders with a DistributedSampler, three epochs: shards of equal length,
    all of the data set once (plus torch's padding, or minus its dropped tail), a new order each
    epoch, and exactly torch's DistributedSampler's indices."""
    shards = [ranks["sampler"][size, drop_last] for ranks in two_ranks]
    for epoch in range(3):
        rank0, rank1 = shards[0][epoch], shards[1][epoch]
        assert len(rank0) == len(rank1)
        seen = Counter(rank0 + rank1)
        if drop_last:
            assert len(seen) == size - size % 2 and set(seen.values()) == {1}
        else:
            assert set(seen) == set(range(size))
            assert sum(seen.values()) - size == (-size) % 2  # the padding, one per missing slot
        for rank, shard in enumerate((rank0, rank1)):
            theirs = torch.utils.data.DistributedSampler(
                range(size), num_replicas=2, rank=rank, shuffle=True, seed=5, drop_last=drop_last
            )
            theirs.set_epoch(epoch)
            assert shard == list(theirs)
    assert shards[0][0] != shards[0][1], "set_epoch did not change the order"


def test_a_process_group_without_global_rank_0_trains_as_one_process(tmp_path) -> None:
    """Three ranks; 1 and 2 train in a group of their own. Both start from global rank 1's
    parameters (the group's first rank, not the world's) and end where one process training on
    the whole batches from them ends; rank 0, outside the group, is left alone."""
    runs = run_ranks("subgroup", tmp_path, world_size=3)
    assert_finished(runs)
    rank0, rank1, rank2 = (run.result for run in runs)
    for original, on_rank2 in zip(rank1["before"], rank2["after_wrap"], strict=True):
        assert torch.equal(on_rank2, original)
    assert not any(torch.equal(a, b) for a, b in zip(rank1["before"], rank2["before"]))
    reference = worker.make_model(seed=101)
    worker.train(reference, worker.global_batches())
    for rank in (rank1, rank2):
        for got, expected in zip(rank["final"], worker.parameters(reference), strict=True):
            torch.testing.assert_close(got, expected, rtol=1e-10, atol=0)
    for before, after in zip(rank0["before"], rank0["final"], strict=True):
        assert torch.equal(before, after)
    assert rank1["collectives"] == rank2["collectives"] == ([3.0], [2.0])


def test_all_reduce_and_broadcast_take_minigrad_tensors_and_torchs_options(two_ranks) -> None:
    for ranks in two_ranks:
        assert ranks["collectives"] == {"sum": [3.0, 20.0], "max": [2.0], "broadcast": [1.0]}


def test_ranks_that_built_different_models_are_stopped_at_wrapping(tmp_path) -> None:
    runs = run_ranks("mismatch", tmp_path)
    assert_finished(runs)
    numbers = {0: 2 * 2 + 2, 1: 2 * 3 + 3}  # Linear(2, 2) and Linear(2, 3)
    for rank, run in enumerate(runs):
        other = 1 - rank
        mine, theirs = numbers[rank], numbers[other]
        assert run.result["error"] == (
            f"DistributedDataParallel: rank {rank} has 2 parameters to train ({mine} numbers) "
            f"but rank {other} has 2 ({theirs}). Every rank must build the same model: the same "
            "layers, sizes and frozen parameters."
        )


# ---- a rank that fails ----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["raise", "die"])
def test_a_rank_that_raises_or_dies_makes_the_other_fail_clearly_and_fast(tmp_path, how):
    """Rank 1 raises (or exits at once, as if killed) at step 2; rank 0, in the all-reduce of
    that step, gets a DistributedError saying what probably happened, within seconds."""
    runs = run_ranks(how, tmp_path, pg_timeout_s=60, deadline_s=60)
    rank0, rank1 = runs
    if how == "raise":  # (its exit status varies: gloo may abort while Python exits)
        assert rank1.returncode != 0 and "rank 1 fails on purpose" in rank1.stderr
    else:
        assert rank1.returncode == 7
    assert rank0.returncode not in (0, None), rank0.stderr
    assert "DistributedError: DistributedDataParallel, rank 0 of 2" in rank0.stderr
    assert "another rank raised an error or died" in rank0.stderr
    assert rank0.seconds < 45, f"rank 0 took {rank0.seconds:.0f} s to notice"


def test_a_rank_that_hangs_makes_the_other_fail_at_the_process_group_timeout(tmp_path):
    """Rank 1 stays alive but never joins the all-reduce of step 2: rank 0 gives up when the
    process group's timeout (3 s here) runs out, with the same clear error; nothing hangs."""
    runs = run_ranks("hang", tmp_path, pg_timeout_s=3, deadline_s=60, wait_for=[0])
    rank0, rank1 = runs
    assert rank0.returncode not in (0, None), rank0.stderr
    assert "DistributedError: DistributedDataParallel, rank 0 of 2" in rank0.stderr
    assert "timeout" in rank0.stderr.lower()
    assert rank0.seconds < 45, f"rank 0 took {rank0.seconds:.0f} s to notice"
    assert rank1.returncode is None  # still sleeping when rank 0 had failed: killed by the test


# ---- one rank, in this process -------------------------------------------------------------


@pytest.fixture
def one_rank(monkeypatch: pytest.MonkeyPatch):
    """A process group of this process alone (world size 1), for the tests below."""
    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo")
    torch_dist.init_process_group("gloo", store=torch_dist.HashStore(), rank=0, world_size=1)
    try:
        yield
    finally:
        torch_dist.destroy_process_group()


def mlp(seed: int = 0, dtype: torch.dtype = torch.float64) -> nn.Module:
    mg.manual_seed(seed)
    return nn.Sequential(  # on the CPU, with gloo, also on a machine with a GPU
        nn.Linear(4, 5, dtype=dtype, device="cpu"),
        nn.ReLU(),
        nn.Linear(5, 3, dtype=dtype, device="cpu"),
        nn.ReLU(),
    )


def batch(seed: int = 1) -> mg.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return mg.Tensor(torch.randn(8, 4, generator=generator, dtype=torch.float64))


class AllReduceSpy:
    """Records each all_reduce: how many numbers, and which of the `watched` parameters had a
    gradient at that moment (to tell a call during backward from one after it)."""

    def __init__(self) -> None:
        self.numels: list[int] = []
        self.have_grad: list[list[bool]] = []
        self.watched: list[nn.Parameter] = []

    def __call__(self, real: Any, tensor: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        self.numels.append(tensor.numel())
        self.have_grad.append([p.grad is not None for p in self.watched])
        return real(tensor, *args, **kwargs)


@pytest.fixture
def all_reduces(monkeypatch: pytest.MonkeyPatch) -> AllReduceSpy:
    spy, real = AllReduceSpy(), torch_dist.all_reduce
    monkeypatch.setattr(torch_dist, "all_reduce", lambda *a, **k: spy(real, *a, **k))
    return spy


def test_post_accumulate_grad_hook_runs_once_per_backward_with_the_final_gradient() -> None:
    """As torch's: a leaf used twice gets one call per backward(), after its two contributions
    are summed into .grad; calls follow backward() calls; remove() stops them."""
    ours, theirs = [], []
    x = mg.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    handle = x.register_post_accumulate_grad_hook(lambda t: ours.append(t.grad._data.clone()))
    tx = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64, requires_grad=True)
    tx.register_post_accumulate_grad_hook(lambda t: theirs.append(t.grad.clone()))
    for _ in range(2):
        (x * x + x).sum().backward()
        (tx * tx + tx).sum().backward()
    assert len(ours) == len(theirs) == 2
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    handle.remove()
    (x * 2).sum().backward()
    assert len(ours) == 2


def test_post_accumulate_grad_hook_is_for_leaves_that_require_grad() -> None:
    with pytest.raises(GradientError, match="does not require grad"):
        mg.tensor([1.0]).register_post_accumulate_grad_hook(print)
    y = mg.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(GradientError, match="for leaves"):
        y.register_post_accumulate_grad_hook(print)


def test_the_wrapper_needs_a_process_group() -> None:
    with pytest.raises(DistributedError, match=r"init_process_group\(\).*torchrun"):
        DistributedDataParallel(mlp())


def test_the_wrapper_looks_like_torchs(one_rank) -> None:
    """`module`, parameters, state_dict keys, train/eval, as torch's DistributedDataParallel."""
    model = mlp()
    ddp = DistributedDataParallel(model)
    assert ddp.module is model
    assert [id(p) for p in ddp.parameters()] == [id(p) for p in model.parameters()]
    torch_model = torch.nn.Sequential(
        torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3), torch.nn.ReLU()
    )
    torch_ddp = torch.nn.parallel.DistributedDataParallel(torch_model)
    assert list(ddp.state_dict()) == list(torch_ddp.state_dict())  # module.0.weight, ...
    ddp.eval()
    assert not model.training and not model[0].training
    ddp.train()
    assert model[2].training
    plain = mlp()
    plain.load_state_dict({k.removeprefix("module."): v for k, v in ddp.state_dict().items()})


def test_one_rank_training_is_bit_for_bit_plain_training(one_rank) -> None:
    """With one rank, averaging changes nothing: the wrapper leaves single-process training
    exactly as it was."""
    plain, wrapped = mlp(), DistributedDataParallel(mlp())
    for model in (plain, wrapped):
        worker.train(model, _batches())
    for a, b in zip(plain.parameters(), wrapped.parameters(), strict=True):
        assert torch.equal(a._data, b._data)


def _batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(3)
    return [
        (
            torch.randn(8, 4, generator=generator, dtype=torch.float64),
            torch.randint(0, 3, (8,), generator=generator),
        )
        for _ in range(3)
    ]


@pytest.mark.parametrize(
    "cap_mb, sizes", [(0, [3, 15, 5, 20]), (None, [43]), (100 / 2**20, [18, 25])]
)
def test_one_all_reduce_per_bucket_of_flattened_gradients(one_rank, all_reduces, cap_mb, sizes):
    """Parameters (4x5 + 5, 5x3 + 3 numbers) in reverse order: one bucket each with a cap of 0,
    all in one with the default 25 MiB, two with a cap of 100 bytes (a bucket closes once it
    holds the cap: 3 + 15 numbers of 8 bytes, then 5 + 20)."""
    model = DistributedDataParallel(mlp(), bucket_cap_mb=cap_mb)
    model(batch()).sum().backward()
    assert all_reduces.numels == sizes
    assert [sum(b.numels) for b in model.reducer.buckets] == sizes


def test_buckets_never_mix_dtypes() -> None:
    mg.manual_seed(0)
    layers = [nn.Linear(2, 2, dtype=torch.float32), nn.Linear(2, 2, dtype=torch.float64)]
    params = [p for layer in layers for p in layer.parameters()]
    buckets = assign_buckets(params, cap_bytes=2**20)
    dtypes = [[p.dtype for p in bucket.params] for bucket in buckets]
    assert dtypes == [[torch.float64, torch.float64], [torch.float32, torch.float32]]


@st.composite
def bucket_cases(draw: st.DrawFn) -> tuple[list[tuple[int, torch.dtype]], int]:
    """Parameters (numbers, dtype) and a cap in bytes: often exactly what the first few
    parameters of a dtype fill, in the reverse order buckets take them."""
    params = draw(
        st.lists(
            st.tuples(st.integers(1, 20), st.sampled_from([torch.float32, torch.float64])),
            min_size=1,
            max_size=8,
        )
    )
    first_dtype = params[-1][1]
    filled = list(
        itertools.accumulate(
            n * first_dtype.itemsize for n, d in reversed(params) if d == first_dtype
        )
    )
    cap = draw(st.sampled_from(filled) | st.integers(0, 400))
    return params, cap


@given(case=bucket_cases())
@example(case=([(3 * 4, torch.float64), (5, torch.float64), (4, torch.float64)], 9 * 8))
def test_buckets_are_torchs_and_one_filled_exactly_to_the_cap_is_full(case) -> None:
    """The same buckets as torch's DistributedDataParallel makes (its own function for it): in
    reverse order, one dtype each, a bucket closed once it holds the cap or more; so a bucket
    filled exactly to the cap is full, and the next parameter starts a new one."""
    params, cap = case
    tensors = [mg.zeros(n, dtype=dtype) for n, dtype in params]
    ours = assign_buckets(tensors, cap_bytes=cap)
    position = {id(t): i for i, t in enumerate(reversed(tensors))}  # torch's numbering
    reverse_order = [t._data for t in reversed(tensors)]
    theirs, _ = torch_dist._compute_bucket_assignment_by_size(reverse_order, [cap])
    assert [[position[id(p)] for p in bucket.params] for bucket in ours] == theirs


@pytest.mark.parametrize(
    "landing, sent_after_each",
    [
        ("last layer first", {True: [1, 2, 3, 4], False: [0, 0, 0, 4]}),
        ("first layer first", {True: [0, 0, 0, 4], False: [0, 0, 0, 4]}),
    ],
)
@pytest.mark.parametrize("overlap", [True, False])
def test_each_bucket_goes_out_once_its_gradients_land_and_in_order(
    one_rank, all_reduces, overlap, landing, sent_after_each
) -> None:
    """Land the gradients one by one, through `_accumulate_grad` as the engine does, and count
    the all-reduces sent after each: with overlap, a bucket (one parameter each here) goes out
    as soon as its gradients are in, but never before the buckets ahead of it, so that every
    rank sends them in the same order; without overlap, all go out with the last gradient."""
    ddp = DistributedDataParallel(mlp(), bucket_cap_mb=0, overlap=overlap)
    order = list(ddp.parameters())  # 0.weight, 0.bias, 2.weight, 2.bias
    if landing == "last layer first":
        order.reverse()
    sent = []
    for p in order:
        p._accumulate_grad(torch.ones_like(p._data))
        sent.append(len(all_reduces.numels))
    assert sent == sent_after_each[overlap]
    assert all_reduces.numels == [3, 15, 5, 20]  # in bucket order: 2.bias first


def test_the_gradients_are_averaged_when_backward_returns(one_rank) -> None:
    """Whatever order the engine lands the gradients in, the last one completes every bucket:
    backward() returns with the reduction done, ready for the next forward."""
    ddp = DistributedDataParallel(mlp(), bucket_cap_mb=0)
    ddp(batch()).sum().backward()
    assert ddp.reducer.ready == set() and all(b.work is None for b in ddp.reducer.buckets)
    ddp(batch())


def test_a_parameter_without_gradient_is_named_at_the_next_forward(one_rank) -> None:
    class TwoHeads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used, self.unused = nn.Linear(4, 2, device="cpu"), nn.Linear(4, 2, device="cpu")

        def forward(self, x):
            return self.used(x)

    ddp = DistributedDataParallel(TwoHeads())
    x = mg.randn(3, 4, device="cpu")
    ddp(x).sum().backward()
    with pytest.raises(DistributedError, match=r"no gradient to module\.unused\.weight, .*bias"):
        ddp(x)
    frozen = TwoHeads()
    frozen.unused.weight.requires_grad_(False), frozen.unused.bias.requires_grad_(False)
    ddp = DistributedDataParallel(frozen)
    for _ in range(2):
        ddp(x).sum().backward()


def test_no_sync_keeps_gradients_local_until_a_forward_outside_it(one_rank, all_reduces):
    ddp = DistributedDataParallel(mlp())
    with ddp.no_sync():
        ddp(batch(1)).sum().backward()
        ddp(batch(2)).sum().backward()
    assert all_reduces.numels == []
    ddp(batch(3)).sum().backward()
    assert all_reduces.numels == [43]


def test_nested_no_sync_keeps_gradients_local_until_the_outer_block_ends(one_rank, all_reduces):
    ddp = DistributedDataParallel(mlp())
    with ddp.no_sync():
        with ddp.no_sync():
            ddp(batch(1)).sum().backward()
        ddp(batch(2)).sum().backward()  # still inside the outer block
    assert all_reduces.numels == []
    ddp(batch(3)).sum().backward()
    assert all_reduces.numels == [43]


def test_a_forward_under_no_grad_before_a_backward_leaves_it_averaging(one_rank, all_reduces):
    """As torch: a forward under no_grad() (an evaluation) has no backward and does not decide
    whether the pending backward averages; it did, and the ranks drifted apart unaveraged."""
    ddp = DistributedDataParallel(mlp())
    out = ddp(batch(1))
    with mg.no_grad():
        ddp(batch(2))
    out.sum().backward()
    assert all_reduces.numels == [43]
    with ddp.no_sync():
        out = ddp(batch(1))
    with mg.no_grad():
        ddp(batch(2))  # outside no_sync, but under no_grad: still local
    out.sum().backward()
    assert all_reduces.numels == [43]


def test_a_gradient_twice_before_the_others_is_named(one_rank) -> None:
    class TwoHeads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(4, 2, device="cpu"), nn.Linear(4, 2, device="cpu")

        def forward(self, x):
            return self.a(x), self.b(x)

    ddp = DistributedDataParallel(TwoHeads())
    a, _ = ddp(mg.randn(3, 4, device="cpu"))
    a.sum().backward(retain_graph=True)
    with pytest.raises(DistributedError, match=r"module\.a\.\w+ got a gradient twice before"):
        a.sum().backward()


def test_the_hooks_go_when_the_wrapper_goes(one_rank, all_reduces) -> None:
    model = mlp()
    ddp = DistributedDataParallel(model)
    del ddp
    gc.collect()
    model(batch()).sum().backward()
    assert all_reduces.numels == []  # the model is plain again


def test_the_wrapper_refuses_to_be_compiled(one_rank) -> None:
    """minigrad.compile replays a step's torch calls; the all-reduce is not one of them."""
    ddp = DistributedDataParallel(mlp())
    step = mg.compile(lambda x: ddp(x).sum().backward())
    with pytest.raises(CompileError, match="DistributedDataParallel cannot be compiled"):
        step(batch())


def test_wrong_arguments_are_explained(one_rank) -> None:
    with pytest.raises(ValueError, match=r"find_unused_parameters=True\) is not supported"):
        DistributedDataParallel(mlp(), find_unused_parameters=True)
    with pytest.raises(ValueError, match=r"parameters are on cpu, not on cuda:0"):
        DistributedDataParallel(mlp(), device_ids=[0])
    with pytest.raises(ValueError, match="give the one device"):
        DistributedDataParallel(mlp(), device_ids=["cpu", "cpu"])
    with pytest.raises(ValueError, match="output_device needs device_ids"):
        DistributedDataParallel(mlp(), output_device="cpu")
    with pytest.raises(ValueError, match="no parameter of this module requires grad"):
        DistributedDataParallel(nn.ReLU())
    with pytest.raises(ValueError, match=r"bucket_cap_mb must be a size in MiB, >= 0; got -1"):
        DistributedDataParallel(mlp(), bucket_cap_mb=-1)
    with pytest.raises(TypeError, match="wraps a minigrad.nn.Module"):
        DistributedDataParallel(torch.nn.Linear(2, 2))
    cpu = DistributedDataParallel(mlp(), device_ids=["cpu"], output_device="cpu")
    assert cpu(batch()).shape == (8, 3)


# ---- the sampler, in one process --------------------------------------------------------------


@given(
    size=st.integers(0, 40),
    replicas=st.integers(1, 5),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
    seed=st.integers(0, 2**31),
    epoch=st.integers(0, 5),
)
def test_the_sampler_gives_torchs_indices(size, replicas, shuffle, drop_last, seed, epoch):
    """Index for index torch's DistributedSampler, and together the shards cover the data set:
    once each when the ranks divide it, else padded with the first indices or cut short."""
    shards = []
    for rank in range(replicas):
        kwargs = dict(num_replicas=replicas, rank=rank, shuffle=shuffle, seed=seed)
        ours = DistributedSampler(range(size), drop_last=drop_last, **kwargs)
        theirs = torch.utils.data.DistributedSampler(range(size), drop_last=drop_last, **kwargs)
        ours.set_epoch(epoch), theirs.set_epoch(epoch)
        assert list(ours) == list(theirs)
        assert len(ours) == len(theirs) == len(list(ours))
        shards.append(list(ours))
    counts = Counter(i for shard in shards for i in shard)
    if drop_last or size % replicas == 0:
        assert set(counts.values()) <= {1} and len(counts) == size - size % replicas
    else:
        assert set(counts) == set(range(size))
        assert sum(counts.values()) == size + (-size) % replicas


def test_a_dataloader_with_the_sampler_gives_this_ranks_shard() -> None:
    dataset = TensorDataset(torch.arange(10), torch.arange(10) * 2)
    sampler = DistributedSampler(dataset, num_replicas=3, rank=2, shuffle=False)
    loader = DataLoader(dataset, batch_size=2, sampler=sampler)
    assert len(loader) == 2
    assert [x.tolist() for x, _ in loader] == [[2, 5], [8, 1]]  # 8 then padding: index 1


def test_the_sampler_explains_a_missing_process_group_and_a_wrong_rank() -> None:
    with pytest.raises(DistributedError, match="pass num_replicas= and rank= yourself"):
        DistributedSampler(range(4))
    with pytest.raises(ValueError, match="rank=2 is not a rank of 2 processes"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas must be a positive int"):
        DistributedSampler(range(4), num_replicas=0, rank=0)


def test_the_sampler_reads_the_process_group(one_rank) -> None:
    sampler = DistributedSampler(range(5), shuffle=False)
    assert (sampler.num_replicas, sampler.rank, list(sampler)) == (1, 0, [0, 1, 2, 3, 4])


def test_the_learners_progress_bars_are_rank_0s_only(one_rank, monkeypatch) -> None:
    """As fastai: in data-parallel training the other ranks draw no bar (rank 0's, by tqdm's
    own rule: only in a terminal or a notebook)."""
    from minigrad import learner

    asked = []
    monkeypatch.setattr(learner, "tqdm", lambda batches, **options: asked.append(options))
    learner._progress([], "epoch 0 train", total=0)
    monkeypatch.setattr(torch_dist, "get_rank", lambda group=None: 1)
    learner._progress([], "epoch 0 train", total=0)
    assert [options["disable"] for options in asked] == [None, True]


def test_the_learner_starts_each_epoch_of_a_distributed_sampler() -> None:
    """Learner.fit calls set_epoch, as a hand-written loop must: a new order each epoch."""
    dataset = TensorDataset(torch.randn(8, 4, dtype=torch.float64), torch.randint(0, 3, (8,)))
    sampler = DistributedSampler(dataset, num_replicas=2, rank=1, seed=3)
    train = DataLoader(dataset, batch_size=4, sampler=sampler, device="cpu")
    valid = DataLoader(dataset, batch_size=8, device="cpu")
    learn = Learner(DataLoaders(train, valid), mlp(), F.cross_entropy)
    orders = []
    for epoch in range(3):
        learn.fit(1, lr=0.1)
        assert sampler.epoch == epoch
        orders.append(list(sampler))
    assert orders[0] != orders[1] and orders[1] != orders[2]


# ---- commands: docs/distributed.md's, and examples/digits.py --distributed ---------------------

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "distributed.md"
SCRIPT_NAME = re.compile(r"\A# (\w+\.py): ")  # a python block that is a file to save
needs_mnist = pytest.mark.skipif(
    not os.environ.get("MINIGRAD_DATA"),
    reason="digits.py trains on the real MNIST: set MINIGRAD_DATA (CI sets it to ../shared/data)",
)


@dataclass
class Finished:
    returncode: int | None  # None: killed at the deadline
    stdout: str
    stderr: str


def run_shell(command: str, cwd: Path, copies: int = 1, timeout_s: float = 240) -> list[Finished]:
    """Run a shell command (`copies` of it at once, as on several machines), with this
    environment's torchrun first on PATH, gloo on loopback, HEAD=127.0.0.1; killed at the
    deadline."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GLOO_SOCKET_IFNAME": "lo",
        "HEAD": LOOPBACK,
    }
    started = []
    for _ in range(copies):
        out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        command_line = ["bash", "-c", command]
        process = subprocess.Popen(
            command_line, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True
        )
        started.append((process, out, err))
    deadline = time.monotonic() + timeout_s
    finished = []
    for process, _, _ in started:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
    for process, out, err in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            returncode = None
        else:
            returncode = process.returncode
        out.seek(0), err.seek(0)
        finished.append(Finished(returncode, out.read(), err.read()))
        out.close(), err.close()
    return finished


FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def code_blocks(markdown: str) -> list[tuple[str, str, int]]:
    """(language, code, line number) of each fenced block of a Markdown page."""
    return [
        (m.group(1), m.group(2), markdown.count("\n", 0, m.start()) + 1)
        for m in FENCE.finditer(markdown)
    ]


def with_outputs(language: str) -> list[tuple[str, str | None, int]]:
    """Each block of the page in `language`, the text block after it (its output) if any, its
    line."""
    blocks = code_blocks(DOC.read_text())
    found = []
    for i, (block_language, code, line) in enumerate(blocks):
        if block_language == language:
            following = blocks[i + 1] if i + 1 < len(blocks) else None
            expected = following[1] if following and following[0] == "text" else None
            found.append((code, expected, line))
    return found


def test_the_distributed_docs_python_blocks_print_what_the_page_shows(tmp_path, monkeypatch):
    """In order, in one namespace, on the CPU; `train_ddp.py` only defines its main() here (its
    `if __name__ == "__main__"` is for torchrun, in the test below)."""
    monkeypatch.chdir(tmp_path)
    mg.set_default_device("cpu")
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    try:
        for code, expected, line in with_outputs("python"):
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(code, f"distributed.md:{line}", "exec"), namespace)
            if expected is not None:
                assert printed.getvalue() == expected, f"the block at line {line}"
    finally:
        mg.set_default_device(None)
    assert callable(namespace["main"])


def doc_commands() -> list[tuple[str, str | None, int]]:
    return [(code.strip(), expected, line) for code, expected, line in with_outputs("bash")]


@pytest.fixture(scope="module")
def doc_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the page's commands run: its scripts, saved as it says, and the examples."""
    folder = tmp_path_factory.mktemp("distributed_docs")
    for language, code, _ in code_blocks(DOC.read_text()):
        name = SCRIPT_NAME.match(code)
        if language == "python" and name:
            (folder / name.group(1)).write_text(code)
    (folder / "examples").symlink_to(ROOT / "examples")
    return folder


@pytest.mark.parametrize(
    "command, expected",
    [c[:2] for c in doc_commands()],
    ids=[f"line {c[2]}" for c in doc_commands()],
)
def test_the_distributed_docs_commands_print_what_the_page_shows(doc_folder, command, expected):
    """Each command as written, with torchrun from this environment, on loopback: the one for
    several machines runs twice at once here, with HEAD=127.0.0.1 and a free port. The digit
    classifier's: only rank 0 prints, and it reaches its accuracy."""
    copies = 1
    if "--nnodes 2" in command:
        copies, command = 2, command.replace(":29500", f":{free_port()}")
    if "examples/digits.py" in command and not os.environ.get("MINIGRAD_DATA"):
        pytest.skip("digits.py trains on the real MNIST: set MINIGRAD_DATA")
    runs = run_shell(command, doc_folder, copies)
    for run in runs:
        assert run.returncode == 0, f"{command}\nexited with {run.returncode}:\n{run.stderr}"
    printed = "".join(run.stdout for run in runs)
    if expected is not None:
        assert printed == expected
    if "examples/digits.py" in command:
        result = one_result_line(printed)
        assert result["processes"] == "2" and float(result["test_acc"]) >= 0.975, result


def one_result_line(printed: str) -> dict[str, str]:
    """digits.py's result line, which must be there once: rank 0's, the others print nothing."""
    results = [line for line in printed.splitlines() if line.startswith("result: ")]
    assert len(results) == 1, printed
    return dict(field.split("=", 1) for field in results[0].removeprefix("result: ").split())


@needs_mnist
def test_digits_on_two_processes_saves_the_model_itself_from_rank_0(tmp_path) -> None:
    """One epoch on two processes with --save: rank 0 alone prints and writes the file, whose
    names are the model's own (no `module.` prefix), so that --load reads it unwrapped."""
    command = (
        "torchrun --standalone --nproc_per_node 2 examples/digits.py --digits all --model mlp "
        f"--distributed --epochs 1 --save {tmp_path / 'model.pt'}"
    )
    (run,) = run_shell(command, ROOT)
    assert run.returncode == 0, run.stderr
    result = one_result_line(run.stdout)
    assert result["epochs"] == "1" and float(result["test_acc"]) >= 0.9, result
    assert run.stdout.count("wrote ") == 1
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    assert list(state) == [f"{i}.{kind}" for i in (0, 2, 4) for kind in ("weight", "bias")]
    (again,) = run_shell(
        f"{sys.executable} examples/digits.py --digits all --model mlp "
        f"--load {tmp_path / 'model.pt'} --epochs 0",
        ROOT,
    )
    assert again.returncode == 0, again.stderr
    assert one_result_line(again.stdout)["test_acc"] == result["test_acc"]


@pytest.fixture
def digits_example():
    spec = importlib.util.spec_from_file_location(
        "digits_for_distributed", ROOT / "examples/digits.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_digits_distributed_mistakes_get_one_line_answers(digits_example, monkeypatch, capsys):
    """--distributed outside torchrun, and a batch the processes cannot share evenly."""
    with pytest.raises(SystemExit) as exit_info:
        digits_example.parse_args(["--distributed"])
    assert exit_info.value.code == 2
    assert "--distributed: start digits.py with torchrun" in capsys.readouterr().err
    torchrun_sets = {"TORCHELASTIC_RUN_ID": "test", "WORLD_SIZE": "2", "RANK": "0"}
    for name, value in {**torchrun_sets, "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "2"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit):
        digits_example.parse_args(["--distributed", "--batch-size", "127", "--device", "cpu"])
    assert "127 images per step do not split evenly between 2 processes" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        digits_example.parse_args(["--distributed", "--compile", "--device", "cpu"])
    assert "--compile: a compiled step's replay would leave out" in capsys.readouterr().err


@needs_mnist
def test_digits_distributed_gives_each_process_its_share_of_each_batch(
    digits_example, one_rank, monkeypatch
) -> None:
    """What rank 1 of 2 trains on: a DistributedSampler's half of the training images, in
    batches of 64 (the recipe's 128 between two); it validates on all, in batches of 128."""
    torchrun_sets = {"TORCHELASTIC_RUN_ID": "test", "WORLD_SIZE": "2", "RANK": "1"}
    for name, value in {**torchrun_sets, "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}.items():
        monkeypatch.setenv(name, value)
    args = digits_example.parse_args(["--digits", "all", "--model", "mlp", "--distributed"])
    for module in (torch_dist, digits_example.dist):  # torch's, and minigrad's names for it
        monkeypatch.setattr(module, "get_world_size", lambda group=None: 2)
        monkeypatch.setattr(module, "get_rank", lambda group=None: 1)
    dls, _ = digits_example.make_loaders(args, torch.device("cpu"))
    sampler = dls.train.sampler
    assert isinstance(sampler, DistributedSampler)
    assert (sampler.num_replicas, sampler.rank, sampler.seed) == (2, 1, args.seed)
    assert dls.train.batch_size == 64 and 2 * len(sampler) == len(dls.train.dataset)
    assert dls.valid.batch_size == 128 and not isinstance(dls.valid.sampler, DistributedSampler)


def free_port() -> int:
    """A port free now on 127.0.0.1 (for torchrun's rendezvous, which must bind it itself)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]
