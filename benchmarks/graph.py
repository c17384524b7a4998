"""Graph overhead: what each recorded op costs, and whether that cost stays flat as graphs grow.

A chain y = x * c * c * ... of n multiplications on a 16-element tensor does almost no maths,
so its time is the framework's bookkeeping: building the graph node by node (forward), then
walking it back (backward). If the engine is linear in graph size, the cost per op is the same
at 1k, 10k and 100k ops, and the slope of time against n is that cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

from minigrad import Tensor

from .timing import by_mode, synchronizer

FACTOR = 1.0001  # close to 1, so that 100k multiplications neither vanish nor overflow
SIZE = 16  # elements: the maths is next to nothing, as in a small model's bias or a scalar loss


def chain_minigrad(n: int, device: str) -> tuple[Callable[[], Any], Callable[[Any], None]]:
    x = Tensor(torch.ones(SIZE, device=device), requires_grad=True)

    def forward() -> Tensor:
        x.grad = None
        y = x
        for _ in range(n):
            y = y * FACTOR
        return y

    return forward, lambda y: y.backward(torch.ones(SIZE, device=device))


def chain_torch(n: int, device: str) -> tuple[Callable[[], Any], Callable[[Any], None]]:
    x = torch.ones(SIZE, device=device, requires_grad=True)

    def forward() -> torch.Tensor:
        x.grad = None
        y = x
        for _ in range(n):
            y = y * FACTOR
        return y

    return forward, lambda y: y.backward(torch.ones(SIZE, device=device))


def _time_once(
    forward: Callable[[], Any], backward: Callable[[Any], None], sync: Callable[[], None]
) -> tuple[float, float]:
    sync()
    start = time.perf_counter()
    y = forward()
    sync()
    middle = time.perf_counter()
    backward(y)
    sync()
    end = time.perf_counter()
    del y
    return middle - start, end - middle


def measure(n: int, device: str, repeats: int) -> dict[str, dict[str, float]]:
    """Median forward and backward seconds of an n-op chain, minigrad and torch interleaved."""
    sync = synchronizer(device)
    sides = {"minigrad": chain_minigrad(n, device), "torch": chain_torch(n, device)}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    for forward, backward in sides.values():  # warm-up
        _time_once(forward, backward, sync)
    for _ in range(repeats):
        for name, (forward, backward) in sides.items():
            times[name].append(_time_once(forward, backward, sync))
    out = {}
    for name, pairs in times.items():
        forwards = sorted(f for f, _ in pairs)
        backwards = sorted(b for _, b in pairs)
        totals = sorted(f + b for f, b in pairs)
        out[name] = {
            "forward_s": forwards[len(forwards) // 2],
            "backward_s": backwards[len(backwards) // 2],
            "total_s": totals[len(totals) // 2],
            "total_min_s": totals[0],
            "total_max_s": totals[-1],
            "repeats": repeats,
        }
    return out


def fitted_slope(ns: list[int], seconds: list[float]) -> float:
    """Least-squares slope of seconds against n: the cost of one more op, in seconds."""
    mean_n = sum(ns) / len(ns)
    mean_s = sum(seconds) / len(seconds)
    covariance = sum((n - mean_n) * (s - mean_s) for n, s in zip(ns, seconds))
    variance = sum((n - mean_n) ** 2 for n in ns)
    return covariance / variance


def run(device: str, mode: str, log: Callable[[str], None] = print) -> dict[str, Any]:
    sizes = by_mode(mode, smoke=[100, 200], quick=[1_000, 10_000], full=[1_000, 10_000, 100_000])
    rows = []
    for n in sizes:
        repeats = 5 if n <= 10_000 else 3
        stats = measure(n, device, repeats)
        row: dict[str, Any] = {"ops": n}
        for name, s in stats.items():
            row[name] = {
                **s,
                "forward_us_per_op": s["forward_s"] / n * 1e6,
                "backward_us_per_op": s["backward_s"] / n * 1e6,
                "total_us_per_op": s["total_s"] / n * 1e6,
            }
        row["ratio"] = stats["minigrad"]["total_s"] / stats["torch"]["total_s"]
        log(
            f"  chain of {n:>7} ops: minigrad {row['minigrad']['total_us_per_op']:.1f} µs/op, "
            f"torch {row['torch']['total_us_per_op']:.1f} µs/op"
        )
        rows.append(row)
    slopes = {
        name: fitted_slope(sizes, [row[name]["total_s"] for row in rows]) * 1e6
        for name in ("minigrad", "torch")
    }
    return {"rows": rows, "slope_us_per_op": slopes}
