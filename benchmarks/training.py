"""One epoch of real training, minigrad against torch: same data, weights, batch order, device.

* fours against eights: fastbook's linear model (784 -> 1, sigmoid loss, plain SGD), fed by a
  DataLoader over a Python list of (x, y) pairs, batch 256, torch's DataLoader against minigrad's.
* ten digits: an MLP 784-128-10 with ReLU, cross-entropy, SGD with momentum 0.9, at batch 64
  and 256, with the data held as tensors on the device; and beside it the same MLP as users
  write it by hand (weight tensors, `x @ W + b`, F.cross_entropy, `p -= lr * p.grad`).
* ten digits: fastbook chapter 13's CNN (stride-2 convolutions, ReLU, batch norm; 32-64-128-256
  channels, as examples/digits.py --model cnn), SGD with momentum 0.9, batch 128.

Each timed epoch starts again from the same initial weights, so every repeat is the same run.
The accuracy on the test set is reported for both sides: a fast but wrong run cannot pass.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

import minigrad
from minigrad import Tensor
from minigrad.data import DataLoader, TensorDataset

from . import compat
from .data import Digits
from .timing import by_mode, compare, ratio


def _two_digits(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Fours (target 1) and eights (target 0), as fastbook's threes and sevens."""
    fours, eights = x[y == 4], x[y == 8]
    targets = torch.cat([torch.ones(len(fours)), torch.zeros(len(eights))]).unsqueeze(1)
    return torch.cat([fours, eights]), targets.to(x.device)


def _torch_mnist_loss(predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    predictions = predictions.sigmoid()
    return torch.where(targets == 1, 1 - predictions, predictions).mean()


def fours_vs_eights(
    digits: Digits, device: str, repeats: int, batch_size: int = 256, lr: float = 1.0
) -> dict[str, Any]:
    x, y = _two_digits(digits.train_x, digits.train_y)
    valid_x, valid_y = _two_digits(digits.test_x, digits.test_y)
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(x), generator=generator).tolist()  # one batch order for both
    init_weights = torch.randn(784, 1, generator=generator).to(device)
    init_bias = torch.randn(1, generator=generator).to(device)
    torch_pairs = list(zip(x, y))
    minigrad_pairs = list(zip(Tensor(x), Tensor(y)))
    final: dict[str, tuple[Any, Any]] = {}

    def torch_epoch() -> None:
        weights, bias = init_weights.clone().requires_grad_(), init_bias.clone().requires_grad_()
        loader = torch.utils.data.DataLoader(torch_pairs, batch_size=batch_size, sampler=order)
        for xb, yb in loader:
            loss = _torch_mnist_loss(xb @ weights + bias, yb)
            loss.backward()
            for p in (weights, bias):
                p.data -= p.grad * lr
                p.grad.zero_()
        final["torch"] = (weights, bias)

    def minigrad_epoch() -> None:
        weights = Tensor(init_weights.clone(), requires_grad=True)
        bias = Tensor(init_bias.clone(), requires_grad=True)
        loader = DataLoader(minigrad_pairs, batch_size=batch_size, sampler=order, device=device)
        for xb, yb in loader:
            loss = compat.mnist_loss(xb @ weights + bias, yb)
            loss.backward()
            for p in (weights, bias):
                p.data -= p.grad * lr
                p.grad.zero_()
        final["minigrad"] = (weights, bias)

    stats = _compare_epochs(minigrad_epoch, torch_epoch, device, repeats)

    def accuracy(weights: Any, bias: Any) -> float:
        w, b = getattr(weights, "_data", weights).detach(), getattr(bias, "_data", bias).detach()
        predictions = (valid_x @ w + b).sigmoid() > 0.5
        return (predictions == (valid_y == 1)).float().mean().item()

    return _row(
        "fours vs eights, linear (list of pairs)",
        batch_size,
        stats,
        accuracy(*final["minigrad"]),
        accuracy(*final["torch"]),
        _max_difference(final["minigrad"], final["torch"]),
        batches=len(range(0, len(x), batch_size)),
    )


def ten_digits(
    digits: Digits, device: str, batch_size: int, repeats: int, lr: float = 0.05
) -> dict[str, Any]:
    torch.manual_seed(0)
    template = torch.nn.Sequential(
        torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
    ).to(device)
    initial_state = copy.deepcopy(template.state_dict())
    order = torch.randperm(len(digits.train_x), generator=torch.Generator().manual_seed(1))
    device_order = order.to(device)
    order_list = order.tolist()
    dataset = TensorDataset(Tensor(digits.train_x), Tensor(digits.train_y))
    n = len(digits.train_x)
    final: dict[str, Any] = {}

    def torch_epoch() -> None:
        model = copy.deepcopy(template)
        model.load_state_dict(initial_state)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        for start in range(0, n, batch_size):
            indices = device_order[start : start + batch_size]
            loss = F.cross_entropy(model(digits.train_x[indices]), digits.train_y[indices])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        final["torch"] = model

    def minigrad_epoch() -> None:
        model = compat.mlp_like(template, device)  # template still holds the initial weights
        optimizer = compat.sgd(model.parameters(), lr=lr, momentum=0.9)
        loader = DataLoader(dataset, batch_size=batch_size, sampler=order_list, device=device)
        for xb, yb in loader:
            loss = compat.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        final["minigrad"] = model

    stats = _compare_epochs(minigrad_epoch, torch_epoch, device, repeats)

    def accuracy(outputs: Any) -> float:
        predicted = getattr(outputs, "_data", outputs).argmax(dim=1)
        return (predicted == digits.test_y).float().mean().item()

    with torch.no_grad(), minigrad.no_grad():
        minigrad_accuracy = accuracy(final["minigrad"](Tensor(digits.test_x)))
        torch_accuracy = accuracy(final["torch"](digits.test_x))
    return _row(
        "ten digits, MLP 784-128-10 (device tensors)",
        batch_size,
        stats,
        minigrad_accuracy,
        torch_accuracy,
        _max_difference(list(final["minigrad"].parameters()), list(final["torch"].parameters())),
        batches=len(range(0, n, batch_size)),
    )


def ten_digits_by_hand(
    digits: Digits, device: str, batch_size: int, repeats: int, lr: float = 0.05
) -> dict[str, Any]:
    """The same MLP written the way users write it: weight tensors of their own, `x @ W + b`,
    F.cross_entropy, and the update by hand (`p -= lr * p.grad` under no_grad)."""
    generator = torch.Generator().manual_seed(0)
    shapes = [(784, 128), (128,), (128, 10), (10,)]
    initial = [(torch.randn(shape, generator=generator) * 0.05).to(device) for shape in shapes]
    order = torch.randperm(len(digits.train_x), generator=torch.Generator().manual_seed(1))
    device_order = order.to(device)
    x, y = digits.train_x, digits.train_y
    mx, my = Tensor(x), Tensor(y)
    n = len(x)
    final: dict[str, Any] = {}

    def torch_epoch() -> None:
        w1, b1, w2, b2 = params = [t.clone().requires_grad_() for t in initial]
        for start in range(0, n, batch_size):
            indices = device_order[start : start + batch_size]
            loss = F.cross_entropy((x[indices] @ w1 + b1).relu() @ w2 + b2, y[indices])
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
                    p.grad = None
        final["torch"] = params

    def minigrad_epoch() -> None:
        w1, b1, w2, b2 = params = [Tensor(t.clone(), requires_grad=True) for t in initial]
        indices_of = Tensor(device_order)
        for start in range(0, n, batch_size):
            indices = indices_of[start : start + batch_size]
            logits = (mx[indices] @ w1 + b1).relu() @ w2 + b2
            loss = minigrad.nn.functional.cross_entropy(logits, my[indices])
            loss.backward()
            with minigrad.no_grad():
                for p in params:
                    p -= lr * p.grad
                    p.grad = None
        final["minigrad"] = params

    stats = _compare_epochs(minigrad_epoch, torch_epoch, device, repeats)

    def accuracy(params: list[Any]) -> float:
        w1, b1, w2, b2 = (getattr(p, "_data", p).detach() for p in params)
        predicted = ((digits.test_x @ w1 + b1).relu() @ w2 + b2).argmax(dim=1)
        return (predicted == digits.test_y).float().mean().item()

    return _row(
        "ten digits, MLP 784-128-10 by hand (x @ W + b, hand-written SGD)",
        batch_size,
        stats,
        accuracy(final["minigrad"]),
        accuracy(final["torch"]),
        _max_difference(final["minigrad"], final["torch"]),
        batches=len(range(0, n, batch_size)),
    )


def _fastbook_cnn(module: Any, channels: tuple[int, ...] = (32, 64, 128, 256)) -> Any:
    """fastbook chapter 13's simple_cnn with batch norm, in torch.nn or minigrad.nn."""

    def conv(ni: int, nf: int, ks: int = 3, act: bool = True) -> Any:
        layers = [module.Conv2d(ni, nf, stride=2, kernel_size=ks, padding=ks // 2)]
        if act:
            layers.append(module.ReLU())
        layers.append(module.BatchNorm2d(nf))
        return module.Sequential(*layers)

    c1, c2, c3, c4 = channels
    return module.Sequential(
        conv(1, c1, ks=5),
        conv(c1, c2),
        conv(c2, c3),
        conv(c3, c4),
        conv(c4, 10, act=False),
        module.Flatten(),
    )


def ten_digits_cnn(
    digits: Digits,
    device: str,
    repeats: int,
    batch_size: int = 128,
    lr: float = 0.05,
    dtype: torch.dtype = torch.float32,
) -> dict[str, Any]:
    torch.manual_seed(0)
    template = _fastbook_cnn(torch.nn).to(device, dtype)
    initial_state = copy.deepcopy(template.state_dict())
    images, test_images = (
        x.reshape(-1, 1, 28, 28).to(dtype) for x in (digits.train_x, digits.test_x)
    )
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(1))
    device_order = order.to(device)
    dataset = TensorDataset(Tensor(images), Tensor(digits.train_y))
    n = len(images)
    final: dict[str, Any] = {}

    def torch_epoch() -> None:
        model = copy.deepcopy(template)
        model.load_state_dict(initial_state)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        for start in range(0, n, batch_size):
            indices = device_order[start : start + batch_size]
            loss = F.cross_entropy(model(images[indices]), digits.train_y[indices])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        final["torch"] = model

    def minigrad_epoch() -> None:
        model = _fastbook_cnn(minigrad.nn).to(dtype=dtype)
        model.load_state_dict(initial_state)
        model.to(device)
        optimizer = compat.sgd(model.parameters(), lr=lr, momentum=0.9)
        loader = DataLoader(dataset, batch_size=batch_size, sampler=order.tolist(), device=device)
        for xb, yb in loader:
            loss = compat.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        final["minigrad"] = model

    stats = _compare_epochs(minigrad_epoch, torch_epoch, device, repeats)

    def accuracy(model: Any, x: Any) -> float:
        model.eval()
        outputs = model(x)
        predicted = getattr(outputs, "_data", outputs).argmax(dim=1)
        return (predicted == digits.test_y).float().mean().item()

    with torch.no_grad(), minigrad.no_grad():
        minigrad_accuracy = accuracy(final["minigrad"], Tensor(test_images))
        torch_accuracy = accuracy(final["torch"], test_images)
    return _row(
        "ten digits, fastbook CNN 32-64-128-256 with batch norm (device tensors)"
        + ("" if dtype == torch.float32 else f", {str(dtype).removeprefix('torch.')}"),
        batch_size,
        stats,
        minigrad_accuracy,
        torch_accuracy,
        _max_difference(list(final["minigrad"].parameters()), list(final["torch"].parameters())),
        batches=len(range(0, n, batch_size)),
    )


def _compare_epochs(
    minigrad_epoch: Callable[[], None], torch_epoch: Callable[[], None], device: str, repeats: int
) -> dict[str, Any]:
    # warmup=0: compare's first, untimed estimating call of each side is the warm-up epoch
    return compare(
        {"minigrad": minigrad_epoch, "torch": torch_epoch},
        device,
        warmup=0,
        min_samples=repeats,
        max_samples=repeats,
    )


def _max_difference(mine: Any, theirs: Any) -> float:
    """The largest gap between the two sides' trained parameters: same run, same numbers?"""
    gaps = [
        (getattr(m, "_data", m).detach().reshape(-1) - t.detach().reshape(-1)).abs().max().item()
        for m, t in zip(mine, theirs)
    ]
    return max(gaps)


def _row(
    case: str,
    batch_size: int,
    stats: dict[str, Any],
    minigrad_accuracy: float,
    torch_accuracy: float,
    max_param_difference: float,
    batches: int,
) -> dict[str, Any]:
    return {
        "case": case,
        "batch_size": batch_size,
        "batches": batches,
        "minigrad": stats["minigrad"].to_dict(),
        "torch": stats["torch"].to_dict(),
        "ratio": ratio(stats),
        "minigrad_accuracy": minigrad_accuracy,
        "torch_accuracy": torch_accuracy,
        "max_param_difference": max_param_difference,
    }


def run(
    digits: Digits, device: str, mode: str, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    repeats = by_mode(mode, smoke=1, quick=2, full=5)
    rows = [fours_vs_eights(digits, device, repeats)]
    for batch in (256, 64):
        rows.append(ten_digits(digits, device, batch, repeats))
        rows.append(ten_digits_by_hand(digits, device, batch, repeats))
    # The smoke run's CNN trains in float64, where both sides must end equal to rounding; in
    # float32 batch norm amplifies the two weight-gradient formulas' rounding, chaotically (after
    # the smoke's 16 steps: 0.0098 on an AMD EPYC, 0.0107 on an Intel Xeon; float64: 2e-15).
    cnn_dtype = by_mode(mode, smoke=torch.float64, quick=torch.float32, full=torch.float32)
    rows.append(ten_digits_cnn(digits, device, repeats, dtype=cnn_dtype))
    for row in rows:
        log(
            f"  {row['case']} batch {row['batch_size']}: ratio {row['ratio']:.2f}, accuracy "
            f"{row['minigrad_accuracy']:.4f} vs {row['torch_accuracy']:.4f}"
        )
    return rows
