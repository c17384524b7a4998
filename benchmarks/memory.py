"""Memory during ten-digit training: the peak, and whether it grows from step to step.

minigrad frees each step's graph in backward() (`Context.release`), so after the first steps
(which allocate the optimizer's state) memory should stay flat. A leak of one graph per step
would show as growth proportional to the step count. Measured: process RSS on the CPU (psutil),
`torch.cuda.memory_allocated` / `max_memory_allocated` on CUDA, and the number of graph nodes
(`Context` objects) still alive between steps, which should be ~0.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import torch

from minigrad import Tensor
from minigrad.autograd.function import Context
from minigrad.data import DataLoader, TensorDataset

from . import compat
from .data import Digits
from .timing import by_mode


def _memory_mib(device: str) -> dict[str, float]:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
        return {
            "allocated_mib": torch.cuda.memory_allocated() / 2**20,
            "peak_allocated_mib": torch.cuda.max_memory_allocated() / 2**20,
        }
    import psutil

    return {"rss_mib": psutil.Process().memory_info().rss / 2**20}


def _live_graph_nodes() -> int:
    """Graph nodes still holding tensors (not yet released by a backward). Released nodes stay
    linked while the loss that reaches them lives, as in torch, but keep no tensors."""
    return sum(type(o) is Context and not o.released for o in gc.get_objects())


def run(
    digits: Digits, device: str, mode: str, batch_size: int = 64, log: Callable = print
) -> dict[str, Any]:
    checkpoints = by_mode(
        mode, smoke=[2, 4], quick=[10, 50, 100, 200], full=[10, 100, 200, 500, 1000, 2000]
    )
    torch.manual_seed(0)
    template = torch.nn.Sequential(
        torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
    ).to(device)
    model = compat.mlp_like(template, device)
    optimizer = compat.sgd(model.parameters(), lr=0.05, momentum=0.9)
    dataset = TensorDataset(Tensor(digits.train_x), Tensor(digits.train_y))
    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    gc.collect()
    before = _memory_mib(device)
    rows = []
    step = 0
    while step < checkpoints[-1]:
        for xb, yb in DataLoader(dataset, batch_size=batch_size, shuffle=True, device=device):
            loss = compat.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            if step in checkpoints:
                rows.append({"step": step, **_memory_mib(device), "live_graph_nodes": None})
                rows[-1]["live_graph_nodes"] = _live_graph_nodes()
            if step >= checkpoints[-1]:
                break
    key = "allocated_mib" if "allocated_mib" in before else "rss_mib"
    growth = rows[-1][key] - rows[0][key]
    result = {
        "batch_size": batch_size,
        "measure": key,
        "before_training": before,
        "rows": rows,
        "growth_mib": growth,
        "growth_steps": rows[-1]["step"] - rows[0]["step"],
        "peak_mib": max(r.get("peak_allocated_mib", r[key]) for r in rows),
    }
    log(
        f"  memory ({key}): step {rows[0]['step']} {rows[0][key]:.1f} MiB -> step "
        f"{rows[-1]['step']} {rows[-1][key]:.1f} MiB (growth {growth:+.1f} MiB), live graph "
        f"nodes {[r['live_graph_nodes'] for r in rows]}"
    )
    return result
