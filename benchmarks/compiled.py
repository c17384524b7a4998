"""minigrad.compile against torch: whole training steps, recorded once and replayed.

For each workload, four ways to run the same step on the same data from the same weights:
torch eager autograd, torch.compile (inductor; its compile time reported apart), minigrad eager,
and minigrad.compile. The compiled step is recorded (and checked against eager) before timing
starts: the table is the steady state. The first call's cost (recording + its eager run) is
reported as a multiple of an eager step.

* fastbook's step on tensor batches: 784 -> 1, mnist_loss, SGD by hand (p.data -= p.grad * lr);
* fastbook's epoch fed by a DataLoader over a Python list of (x, y) pairs, as the chapter does;
* a ten-digit MLP 784-128-10 with cross-entropy and SGD with momentum, batch 64 and 256;
* the same MLP as users write it, batch 64: weight tensors of their own, `x @ W + b`,
  F.cross_entropy, the update by hand (`p -= lr * p.grad` under no_grad);
* fastbook chapter 13's CNN (benchmarks/training.py's `_fastbook_cnn`: stride-2 convolutions,
  ReLU, batch norm) with cross-entropy and SGD with momentum, batch 128; and the same with the
  model and batches laid out channels last on both sides (`model.to(memory_format=...)`);
* a WGAN-GP critic step, batch 64: an MLP critic 784-256-256-1 (LeakyReLU 0.2) on digits
  against fixed fakes, the gradient penalty from autograd.grad(..., create_graph=True) at
  interpolates, Adam (issue 19's targets: eager <= 1.5x torch, compiled <= 1.0x).

On the tensor-batch steps, the compiled step's guards (the check that runs before each replay,
`step.guards`) are timed as one more side, interleaved with the others in the same run: the
column "guards / replay" is their median over the whole replayed call's (target: <= 5%).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import torch

import minigrad
from minigrad import Tensor
from minigrad.data import DataLoader

from .data import Digits
from .machine import uptime
from .timing import Stats, by_mode, compare, synchronizer
from .training import _fastbook_cnn, _torch_mnist_loss, _two_digits

SIDES = ("torch", "torch.compile", "minigrad", "minigrad.compile")


def run(digits: Digits, device: str, mode: str, log: Callable = print) -> dict[str, Any]:
    budget = by_mode(mode, smoke=0.05, quick=1.0, full=4.0)
    torch_compile = mode == "full"  # inductor takes tens of seconds per model
    rows = [
        fastbook_steps(digits, device, budget, torch_compile, log),
        fastbook_dataloader(digits, device, by_mode(mode, smoke=1, quick=3, full=7), log),
        mlp_steps(digits, device, 64, budget, torch_compile, log),
        mlp_steps(digits, device, 256, budget, torch_compile, log),
        mlp_by_hand_steps(digits, device, 64, budget, torch_compile, log),
        cnn_steps(digits, device, 128, budget, torch_compile, log),
        cnn_steps(digits, device, 128, budget, torch_compile, log, torch.channels_last),
        wgan_gp_steps(digits, device, 64, budget, torch_compile, log),
    ]
    return {"rows": rows, "torch_compile_timed": torch_compile, "uptime": uptime()}


def _batches(x: torch.Tensor, y: torch.Tensor, size: int, count: int) -> list[tuple[Any, Any]]:
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(x), generator=generator).to(x.device)
    starts = range(0, min(len(x), size * count), size)
    return [(x[order[s : s + size]], y[order[s : s + size]]) for s in starts if s + size <= len(x)]


def _cycle(steps: list[Callable[[], Any]]) -> Callable[[], Any]:
    """One call = the next step of the list, round and round (the same data for every side)."""
    position = [0]

    def call() -> Any:
        result = steps[position[0] % len(steps)]()
        position[0] += 1
        return result

    return call


def _first_call(make: Callable[[], Callable[[], Any]], sync: Callable[[], None]) -> float:
    """Seconds for the first call of a new compiled step (the recording and its eager run),
    the least of five: one call is at the mercy of whatever else the machine does."""
    times = []
    for _ in range(5):
        step = make()
        sync()
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


def _row(case: str, batch: int, stats: dict[str, Stats], **extra: Any) -> dict[str, Any]:
    torch_median = stats["torch"].median
    row: dict[str, Any] = {"case": case, "batch_size": batch}
    guards = stats.pop("guards", None)
    for side, s in stats.items():
        row[side] = s.to_dict()
        row[f"{side} ratio"] = s.median / torch_median
    if guards is not None:  # the check before a replay, against the whole replayed call
        row["guards"] = guards.to_dict()
        row["guards / replay"] = guards.median / stats["minigrad.compile"].median
    row.update(extra)
    return row


def _classifier_step(lib: Any, model: Any, opt: Any) -> Callable[..., Any]:
    """The usual training step, the same code in torch or minigrad (`lib`)."""

    def step(xb: Any, yb: Any) -> Any:
        loss = lib.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def _by_hand_step(lib: Any, params: list[Any], lr: float) -> Callable[..., Any]:
    """The MLP's step as users write it, in torch or minigrad (`lib`): weight tensors of one's
    own (w1, b1, w2, b2), `x @ W + b`, and the update by hand."""
    w1, b1, w2, b2 = params

    def step(xb: Any, yb: Any) -> Any:
        loss = lib.nn.functional.cross_entropy((xb @ w1 + b1).relu() @ w2 + b2, yb)
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
        return loss

    return step


def _guards_of(step: Any) -> Callable[[], Any]:
    """The check a replay of `step` runs first (its recording's guards), as one call."""
    return step.last.guards.check


def _steps_side_by_side(
    case: str,
    batch: int,
    torch_step_fn: Callable[[], Callable[..., Any]],
    minigrad_step_fn: Callable[[], Callable[..., Any]],
    batches: list[tuple[Any, ...]],
    mg_batches: list[tuple[Any, ...]],
    device: str,
    budget: float,
    torch_compile: bool,
    log: Callable,
) -> dict[str, Any]:
    """One training step run four ways over the same batches (torch eager, minigrad eager,
    minigrad.compile with its guards as one more side, torch.compile in full runs), timed
    interleaved; the row, with the first compiled call's cost against an eager step."""

    def cycled(step: Callable[..., Any], chosen: list[tuple[Any, ...]]) -> Callable[[], Any]:
        return _cycle([lambda args=args: step(*args) for args in chosen])

    compiled_step = minigrad.compile(minigrad_step_fn())
    sides = {
        "torch": cycled(torch_step_fn(), batches),
        "minigrad": cycled(minigrad_step_fn(), mg_batches),
        "minigrad.compile": cycled(compiled_step, mg_batches),
    }
    for _ in range(4):  # the recordings (optimizer state empty, then there) and their checks
        sides["minigrad.compile"]()
    sides["guards"] = _guards_of(compiled_step)
    extra: dict[str, Any] = {}
    if torch_compile:
        step = torch.compile(torch_step_fn())
        start = time.perf_counter()
        step(*batches[0])
        step(*batches[1])
        extra["torch.compile first calls s"] = time.perf_counter() - start
        sides["torch.compile"] = cycled(step, batches)
    stats = compare(sides, device, budget_s=budget)

    def first() -> Callable[[], Any]:
        step = minigrad.compile(minigrad_step_fn())
        return lambda: step(*mg_batches[0])

    eager_step = stats["minigrad"].median
    extra["first call / eager step"] = _first_call(first, synchronizer(device)) / eager_step
    row = _row(case, batch, stats, **extra)
    log(f"  {case} batch {batch}: minigrad {row['minigrad ratio']:.2f}, "
        f"compiled {row['minigrad.compile ratio']:.2f} x torch eager")  # fmt: skip
    return row


# ---- fastbook's step -----------------------------------------------------------------------------


def _fastbook(
    module: Any, init: tuple[torch.Tensor, torch.Tensor], update_under_no_grad: bool = False
) -> tuple[Any, Any, Callable]:
    """fastbook's linear model and its hand-written step, in torch or minigrad.

    `update_under_no_grad` writes the update as `with no_grad(): p -= p.grad * lr`, the same
    maths: torch.compile (torch 2.13's inductor) fails on the chapter's `p.data -= ...` ("a set_
    on a graph input") and compiles this form."""
    if module is torch:
        weights, bias = (t.clone().requires_grad_() for t in init)
        loss_of = _torch_mnist_loss
    else:
        weights, bias = (Tensor(t.clone(), requires_grad=True) for t in init)

        def loss_of(predictions: Any, targets: Any) -> Any:
            predictions = predictions.sigmoid()
            return minigrad.where(targets == 1, 1 - predictions, predictions).mean()

    def step(xb: Any, yb: Any) -> Any:
        loss = loss_of(xb @ weights + bias, yb)
        loss.backward()
        for p in (weights, bias):
            p.data -= p.grad * 1.0
            p.grad.zero_()
        return loss

    def step_under_no_grad(xb: Any, yb: Any) -> Any:
        loss = loss_of(xb @ weights + bias, yb)
        loss.backward()
        with module.no_grad():
            for p in (weights, bias):
                p -= p.grad * 1.0
                p.grad.zero_()
        return loss

    if update_under_no_grad:
        return weights, bias, step_under_no_grad

    return weights, bias, step


def fastbook_steps(
    digits: Digits, device: str, budget: float, torch_compile: bool, log: Callable
) -> dict[str, Any]:
    x, y = _two_digits(digits.train_x, digits.train_y)
    batches = _batches(x, y, 256, 16)
    generator = torch.Generator().manual_seed(0)
    init = (torch.randn(784, 1, generator=generator), torch.randn(1, generator=generator))
    init = tuple(t.to(device) for t in init)
    mg_batches = [(Tensor(a), Tensor(b)) for a, b in batches]
    sync = synchronizer(device)

    def eager(module: Any) -> Callable[[], Any]:
        step = _fastbook(module, init)[2]
        chosen = batches if module is torch else mg_batches
        return _cycle([lambda a=a, b=b: step(a, b) for a, b in chosen])

    def compiled_minigrad() -> Callable[[], Any]:
        step = minigrad.compile(_fastbook(minigrad, init)[2])
        call = _cycle([lambda a=a, b=b: step(a, b) for a, b in mg_batches])
        call.step = step  # type: ignore[attr-defined]
        return call

    sides = {"torch": eager(torch), "minigrad": eager(minigrad)}
    sides["minigrad.compile"] = compiled_minigrad()
    for _ in range(4):  # the two recordings and their checked replays: out of the timing
        sides["minigrad.compile"]()
    sides["guards"] = _guards_of(sides["minigrad.compile"].step)
    extra: dict[str, Any] = {}
    if torch_compile:
        step = torch.compile(_fastbook(torch, init, update_under_no_grad=True)[2])
        start = time.perf_counter()
        step(*batches[0])
        step(*batches[1])
        extra["torch.compile first calls s"] = time.perf_counter() - start
        sides["torch.compile"] = _cycle([lambda a=a, b=b: step(a, b) for a, b in batches])
    stats = compare(sides, device, budget_s=budget)
    extra["first call / eager step"] = (
        _first_call(compiled_minigrad, sync) / stats["minigrad"].median
    )
    row = _row("fastbook step (tensor batches)", 256, stats, **extra)
    log(f"  {row['case']}: compiled {row['minigrad.compile ratio']:.2f} x torch eager")
    return row


def fastbook_dataloader(digits: Digits, device: str, repeats: int, log: Callable) -> dict[str, Any]:
    """An epoch of fastbook's pipeline: a DataLoader over a Python list of (x, y) pairs."""
    x, y = _two_digits(digits.train_x, digits.train_y)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0)).tolist()
    generator = torch.Generator().manual_seed(0)
    init = (torch.randn(784, 1, generator=generator), torch.randn(1, generator=generator))
    init = tuple(t.to(device) for t in init)
    torch_pairs, mg_pairs = list(zip(x, y)), list(zip(Tensor(x), Tensor(y)))
    compiled_weights, compiled_bias, compiled_step = _fastbook(minigrad, init)
    compiled_step = minigrad.compile(compiled_step)

    def torch_epoch() -> None:
        step = _fastbook(torch, init)[2]
        loader = torch.utils.data.DataLoader(torch_pairs, batch_size=256, sampler=order)
        for xb, yb in loader:
            step(xb, yb)

    def minigrad_epoch(step: Callable[..., Any] | None = None) -> None:
        if step is None:
            step = _fastbook(minigrad, init)[2]
        else:  # the compiled step keeps its parameters: start them again, in place
            compiled_weights.data.copy_(Tensor(init[0]))
            compiled_bias.data.copy_(Tensor(init[1]))
        loader = DataLoader(mg_pairs, batch_size=256, sampler=order, device=device)
        for xb, yb in loader:
            step(xb, yb)

    for _ in range(3):  # records (batch 256 and the smaller last one) and checks the replays
        minigrad_epoch(compiled_step)
    sides = {
        "torch": torch_epoch,
        "minigrad": minigrad_epoch,
        "minigrad.compile": lambda: minigrad_epoch(compiled_step),
    }
    stats = compare(sides, device, budget_s=0.0, min_samples=repeats, max_samples=repeats)
    row = _row("fastbook epoch, DataLoader over a list of pairs", 256, stats)
    log(f"  {row['case']}: compiled {row['minigrad.compile ratio']:.2f} x torch eager")
    return row


# ---- the ten-digit MLP -----------------------------------------------------------------------


def mlp_steps(
    digits: Digits, device: str, batch: int, budget: float, torch_compile: bool, log: Callable
) -> dict[str, Any]:
    torch.manual_seed(0)
    template = torch.nn.Sequential(
        torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
    ).to(device)
    state = copy.deepcopy(template.state_dict())
    batches = _batches(digits.train_x, digits.train_y, batch, 16)
    mg_batches = [(Tensor(a), Tensor(b)) for a, b in batches]

    def torch_step_fn() -> Callable[..., Any]:
        model = copy.deepcopy(template)
        model.load_state_dict(state)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        return _classifier_step(torch, model, opt)

    def minigrad_step_fn() -> Callable[..., Any]:
        nn = minigrad.nn
        model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        model.load_state_dict({k: Tensor(v.clone()) for k, v in state.items()})
        model.to(device)
        opt = minigrad.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        return _classifier_step(minigrad, model, opt)

    return _steps_side_by_side(
        "ten-digit MLP 784-128-10, SGD momentum",
        batch,
        torch_step_fn,
        minigrad_step_fn,
        batches,
        mg_batches,
        device,
        budget,
        torch_compile,
        log,
    )


def mlp_by_hand_steps(
    digits: Digits, device: str, batch: int, budget: float, torch_compile: bool, log: Callable
) -> dict[str, Any]:
    """The MLP of mlp_steps written as users write it (benchmarks/training.py's
    ten_digits_by_hand, one step): no nn.Linear, no optimizer object."""
    generator = torch.Generator().manual_seed(0)
    shapes = [(784, 128), (128,), (128, 10), (10,)]
    initial = [(torch.randn(shape, generator=generator) * 0.05).to(device) for shape in shapes]
    batches = _batches(digits.train_x, digits.train_y, batch, 16)
    mg_batches = [(Tensor(a), Tensor(b)) for a, b in batches]
    lr = 0.05

    def torch_step_fn() -> Callable[..., Any]:
        return _by_hand_step(torch, [t.clone().requires_grad_() for t in initial], lr)

    def minigrad_step_fn() -> Callable[..., Any]:
        params = [Tensor(t.clone(), requires_grad=True) for t in initial]
        return _by_hand_step(minigrad, params, lr)

    return _steps_side_by_side(
        "ten-digit MLP 784-128-10 by hand (x @ W + b, hand-written SGD)",
        batch,
        torch_step_fn,
        minigrad_step_fn,
        batches,
        mg_batches,
        device,
        budget,
        torch_compile,
        log,
    )


# ---- fastbook chapter 13's CNN ---------------------------------------------------------------


def cnn_steps(
    digits: Digits,
    device: str,
    batch: int,
    budget: float,
    torch_compile: bool,
    log: Callable,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> dict[str, Any]:
    """The CNN's step; with memory_format=torch.channels_last, the model and the batches laid
    out channels last on both sides (`model.to(memory_format=...)`, PyTorch's recipe for
    faster convolutions: 10 to 20% off torch's own step on the 2-core CPU, mostly in batch
    norm). Measured against the same network in float64 on the CPU (torch 2.13), that speed
    costs accuracy: torch's channels-last batch norm kernel is further off the float64 batch
    statistics (3.7e-5 of the largest value after the first layer, against 1.5e-7 laid out row
    after row; the convolutions alone are as accurate either way), so the network's output is
    off by 2e-4 of its largest value and the weight gradients by up to 2.5% of their largest
    (2.5e-6 row after row). minigrad calls the same kernels, so its channels-last step has the
    same numbers; this is why minigrad.compile does not lay out convolutions channels last on
    its own, as inductor does on the CPU (benchmarks/RESULTS.md)."""
    torch.manual_seed(0)
    template = _fastbook_cnn(torch.nn).to(device)
    state = copy.deepcopy(template.state_dict())
    images = digits.train_x.reshape(-1, 1, 28, 28)
    batches = [
        (x.contiguous(memory_format=memory_format), y)
        for x, y in _batches(images, digits.train_y, batch, 8)
    ]
    mg_batches = [(Tensor(a), Tensor(b)) for a, b in batches]

    def torch_step_fn() -> Callable[..., Any]:
        model = copy.deepcopy(template)
        model.load_state_dict(state)
        model.to(memory_format=memory_format)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        return _classifier_step(torch, model, opt)

    def minigrad_step_fn() -> Callable[..., Any]:
        model = _fastbook_cnn(minigrad.nn)
        model.load_state_dict({k: Tensor(v.clone()) for k, v in state.items()})
        model.to(device, memory_format=memory_format)
        opt = minigrad.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        return _classifier_step(minigrad, model, opt)

    layout = "" if memory_format == torch.contiguous_format else ", channels last"
    return _steps_side_by_side(
        f"fastbook CNN 32-64-128-256, batch norm, SGD momentum{layout}",
        batch,
        torch_step_fn,
        minigrad_step_fn,
        batches,
        mg_batches,
        device,
        budget,
        torch_compile,
        log,
    )


# ---- a WGAN-GP critic step: a gradient penalty through create_graph ----------------------------


def _critic(nn: Any) -> Any:
    return nn.Sequential(
        nn.Linear(784, 256), nn.LeakyReLU(0.2), nn.Linear(256, 256), nn.LeakyReLU(0.2),
        nn.Linear(256, 1),
    )  # fmt: skip


def wgan_gp_step(module: Any, critic: Any, optimizer: Any) -> Callable[..., Any]:
    """One critic step of WGAN-GP, the same code for torch and minigrad: the penalty is
    ((|d critic / d x| - 1)^2).mean() at points between real and fake, its gradient with
    respect to the weights goes through the critic's backward pass (create_graph)."""

    def step(real: Any, fake: Any, alpha: Any) -> Any:
        between = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        scores = critic(between)
        (slopes,) = module.autograd.grad(
            scores, between, module.ones_like(scores), create_graph=True, retain_graph=True
        )
        penalty = ((slopes.norm(2, dim=1) - 1) ** 2).mean()
        loss = critic(fake).mean() - critic(real).mean() + 10.0 * penalty
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def wgan_gp_steps(
    digits: Digits, device: str, batch: int, budget: float, torch_compile: bool, log: Callable
) -> dict[str, Any]:
    torch.manual_seed(0)
    template = _critic(torch.nn).to(device)
    state = copy.deepcopy(template.state_dict())
    generator = torch.Generator().manual_seed(0)
    triples = [
        (real, torch.rand(real.shape, generator=generator).to(device),
         torch.rand(len(real), 1, generator=generator).to(device))
        for real, _ in _batches(digits.train_x, digits.train_y, batch, 8)
    ]  # fmt: skip
    mg_triples = [tuple(Tensor(t) for t in triple) for triple in triples]

    def torch_step_fn() -> Callable[..., Any]:
        critic = copy.deepcopy(template)
        critic.load_state_dict(state)
        return wgan_gp_step(torch, critic, torch.optim.Adam(critic.parameters(), 1e-4, (0.5, 0.9)))

    def minigrad_step_fn() -> Callable[..., Any]:
        critic = _critic(minigrad.nn)
        critic.load_state_dict({k: Tensor(v.clone()) for k, v in state.items()})
        critic.to(device)
        optimizer = minigrad.optim.Adam(critic.parameters(), 1e-4, (0.5, 0.9))
        return wgan_gp_step(minigrad, critic, optimizer)

    return _steps_side_by_side(
        "WGAN-GP critic step 784-256-256-1, gradient penalty, Adam",
        batch,
        torch_step_fn,
        minigrad_step_fn,
        triples,
        mg_triples,
        device,
        budget,
        torch_compile,
        log,
    )
