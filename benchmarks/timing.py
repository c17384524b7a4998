"""The timer: run two (or more) implementations in turn and summarise each one's times.

Timing A then all of B lets a change in machine load (other processes, CPU frequency) land on
one side only. Interleaving (A B A B ...) spreads it over both, so the ratio stays honest on a
busy machine even when the absolute times do not.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch


@dataclass
class Stats:
    """Seconds per call: the median and the spread over the samples."""

    median: float
    q1: float
    q3: float
    min: float
    max: float
    samples: int
    calls_per_sample: int

    @classmethod
    def of(cls, times: list[float], calls_per_sample: int) -> Stats:
        ordered = sorted(times)
        if len(ordered) >= 2:
            q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
        else:
            q1 = q3 = ordered[0]
        return cls(
            median=statistics.median(ordered),
            q1=q1,
            q3=q3,
            min=ordered[0],
            max=ordered[-1],
            samples=len(ordered),
            calls_per_sample=calls_per_sample,
        )

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def synchronizer(device: str) -> Callable[[], None]:
    """What to call before reading the clock: CUDA runs asynchronously, so wait for it."""
    if torch.device(device).type == "cuda":
        return torch.cuda.synchronize
    return lambda: None


def time_calls(fn: Callable[[], object], calls: int, sync: Callable[[], None]) -> float:
    """Seconds per call of `fn`, over `calls` calls in a row."""
    sync()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    sync()
    return (time.perf_counter() - start) / calls


def compare(
    sides: dict[str, Callable[[], object]],
    device: str,
    budget_s: float = 1.0,
    min_samples: int = 3,
    max_samples: int = 30,
    warmup: int = 1,
    sample_s: float = 0.005,
) -> dict[str, Stats]:
    """Time the sides in turn (A B B A A B ...) and return the per-call statistics of each.

    `budget_s` is roughly the time spent measuring all sides together; each sample repeats the
    call until it lasts about `sample_s`, so that microsecond-sized calls are measurable.
    """
    sync = synchronizer(device)
    estimate = {}
    for name, fn in sides.items():
        for _ in range(warmup):
            fn()
        estimate[name] = max(time_calls(fn, 1, sync), 1e-7)
    slowest = max(estimate.values())
    calls = max(1, int(sample_s / slowest))
    per_round = sum(estimate.values()) * calls
    samples = int(min(max_samples, max(min_samples, budget_s / per_round)))
    times: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides)
    for _ in range(samples):
        for name in order:
            times[name].append(time_calls(sides[name], calls, sync))
        order.reverse()  # A B, B A, A B...: neither side always runs first (fresh caches)
    return {name: Stats.of(t, calls) for name, t in times.items()}


def ratio(
    stats: dict[str, Stats], numerator: str = "minigrad", denominator: str = "torch"
) -> float:
    """How many times longer `numerator` takes than `denominator` (median against median)."""
    return stats[numerator].median / stats[denominator].median


MODES = ("smoke", "quick", "full")


def by_mode(mode: str, *, smoke: Any, quick: Any, full: Any) -> Any:
    """The setting for this run's mode: full (the real run), quick (< 2 minutes), or smoke (the
    smallest sizes, for the harness's own test: its numbers mean nothing)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return {"smoke": smoke, "quick": quick, "full": full}[mode]
