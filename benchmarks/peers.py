"""Other autograd engines on the same workloads, when installed: micrograd and tinygrad.

Both are optional (`pip install micrograd tinygrad`). A peer that is missing, or that cannot run
on this machine, gets a row that says so instead of a time.

* micrograd works on Python scalars (one `Value` per number), so an epoch would take far too
  long: it runs a few batches of the fours-against-eights linear model and the epoch time is
  extrapolated from them (marked "extrapolated" in the table).
* tinygrad runs the ten-digit MLP (784-128-10, SGD momentum 0.9) for a few steps after a
  warm-up (its kernels compile on first use), extrapolated to an epoch too.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

from .data import Digits
from .timing import by_mode


def _not_run(peer: str, workload: str, why: str) -> dict[str, Any]:
    return {"peer": peer, "workload": workload, "status": why, "epoch_s": None}


def micrograd_fours_vs_eights(digits: Digits, batches: int, batch_size: int = 256) -> dict:
    workload = "fours vs eights, linear (one epoch)"
    try:
        from micrograd.engine import Value
    except ImportError:
        return _not_run("micrograd", workload, "not installed (pip install micrograd)")

    def sigmoid(x: Value) -> Value:  # micrograd has no sigmoid: add one the way its ops are built
        s = 1 / (1 + math.exp(-x.data))
        out = Value(s, (x,), "sigmoid")

        def _backward() -> None:
            x.grad += s * (1 - s) * out.grad

        out._backward = _backward
        return out

    keep = (digits.train_y == 4) | (digits.train_y == 8)
    x = digits.train_x[keep].cpu()
    y = (digits.train_y[keep] == 4).float().cpu()
    generator = torch.Generator().manual_seed(0)
    weights = [Value(w) for w in torch.randn(784, generator=generator).tolist()]
    bias = Value(torch.randn(1, generator=generator).item())
    order = torch.randperm(len(x), generator=generator)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))  # its recursive topological sort goes deep
    try:
        start = time.perf_counter()
        for b in range(batches):
            indices = order[b * batch_size : (b + 1) * batch_size]
            losses = []
            for row, target in zip(x[indices].tolist(), y[indices].tolist()):
                prediction = sigmoid(sum((w * p for w, p in zip(weights, row)), bias))
                losses.append(1 - prediction if target == 1 else prediction)
            loss = sum(losses) * (1 / len(losses))
            for p in (*weights, bias):
                p.grad = 0
            loss.backward()
            for p in (*weights, bias):
                p.data -= 1.0 * p.grad
        per_batch = (time.perf_counter() - start) / batches
    finally:
        sys.setrecursionlimit(limit)
    return {
        "peer": "micrograd",
        "workload": workload,
        "status": f"extrapolated from {batches} batch(es) of {batch_size} to {len(x)} samples",
        "epoch_s": per_batch / batch_size * len(x),  # its cost is per sample: scale by samples
    }


def tinygrad_ten_digits(digits: Digits, steps: int, batch_size: int = 256) -> dict:
    workload = "ten digits, MLP 784-128-10, batch 256"
    try:
        from tinygrad import Tensor as TinyTensor
        from tinygrad.nn.optim import SGD
    except ImportError:
        return _not_run("tinygrad", workload, "not installed (pip install tinygrad)")
    try:
        torch.manual_seed(0)
        layers = [torch.nn.Linear(784, 128), torch.nn.Linear(128, 10)]
        params = [TinyTensor(p.detach().numpy().copy()) for l in layers for p in l.parameters()]
        for p in params:
            p.requires_grad = True
        w1, b1, w2, b2 = params
        optimizer = SGD(params, lr=0.05, momentum=0.9)
        x, y = digits.train_x.cpu().numpy(), digits.train_y.cpu().numpy()

        def step(i: int) -> None:
            xb = TinyTensor(x[i * batch_size : (i + 1) * batch_size])
            yb = TinyTensor(y[i * batch_size : (i + 1) * batch_size])
            logits = (xb @ w1.T + b1).relu() @ w2.T + b2
            loss = logits.sparse_categorical_crossentropy(yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.realize()

        with TinyTensor.train():
            for i in range(3):  # warm-up: kernels compile on first use
                step(i)
            start = time.perf_counter()
            for i in range(3, 3 + steps):
                step(i)
            per_step = (time.perf_counter() - start) / steps
    except Exception as error:  # noqa: BLE001  (any failure to run here is reported, not raised)
        message = str(error).splitlines()[0] if str(error) else ""
        return _not_run("tinygrad", workload, f"cannot run here: {type(error).__name__} {message}")
    epoch_steps = math.ceil(len(x) / batch_size)
    return {
        "peer": "tinygrad",
        "workload": workload,
        "status": f"extrapolated from {steps} steps to {epoch_steps} (after 3 warm-up steps)",
        "epoch_s": per_step * epoch_steps,
    }


def run(digits: Digits, mode: str, log: Callable[[str], None] = print) -> list[dict]:
    rows = [
        micrograd_fours_vs_eights(
            digits,
            batches=by_mode(mode, smoke=1, quick=1, full=2),
            batch_size=by_mode(mode, smoke=4, quick=32, full=256),
        ),
        tinygrad_ten_digits(digits, steps=by_mode(mode, smoke=1, quick=5, full=20)),
    ]
    for row in rows:
        epoch = f"{row['epoch_s']:.1f} s/epoch" if row["epoch_s"] is not None else ""
        log(f"  {row['peer']}: {row['workload']}: {epoch} ({row['status']})")
    return rows
