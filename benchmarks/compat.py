"""minigrad pieces that are written by others and may not have landed yet, with stand-ins.

Each stand-in is the same maths written with minigrad's core ops, so the benchmark still runs;
`missing()` names what was stood in for, and the report says so.
"""

from __future__ import annotations

import importlib
from typing import Any

import minigrad
from minigrad import Tensor

_missing: set[str] = set()


def _find(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        _missing.add(f"{module}.{name}")
        return None


def missing() -> list[str]:
    """The minigrad pieces that the last run replaced by a stand-in."""
    return sorted(_missing)


def cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean negative log-likelihood of the right class: minigrad.nn.functional's if present."""
    real = _find("minigrad.nn.functional", "cross_entropy")
    if real is not None:
        return real(logits, targets)
    log_probs = logits.log_softmax(dim=1)
    rows = minigrad.arange(len(targets), device=logits.device)
    return -log_probs[rows, targets].mean()


def mnist_loss(predictions: Tensor, targets: Tensor) -> Tensor:
    """fastbook's loss for two classes: how far the sigmoid is from the right side."""
    real = _find("minigrad.nn.functional", "mnist_loss")
    if real is not None:
        return real(predictions, targets)
    predictions = predictions.sigmoid()
    return minigrad.where(targets == 1, 1 - predictions, predictions).mean()


class _StandInMLP:
    """x @ w1.T + b1 -> relu -> @ w2.T + b2, weights laid out as torch.nn.Linear's."""

    def __init__(self, weights: list[Tensor]) -> None:
        self.weights = weights

    def __call__(self, x: Tensor) -> Tensor:
        w1, b1, w2, b2 = self.weights
        return (x @ w1.T + b1).relu() @ w2.T + b2

    def parameters(self) -> list[Tensor]:
        return list(self.weights)


class _StandInSGD:
    """torch.optim.SGD's update: v = momentum * v + g (v = g the first time); p -= lr * v."""

    def __init__(self, params: list[Tensor], lr: float, momentum: float = 0.0) -> None:
        self.params, self.lr, self.momentum = list(params), lr, momentum
        self.velocity: list[Any] = [None] * len(self.params)

    def step(self) -> None:
        for i, p in enumerate(self.params):
            g = p.grad._data
            if self.momentum:
                v = self.velocity[i]
                self.velocity[i] = v = g.clone() if v is None else v.mul_(self.momentum).add_(g)
                g = v
            p._data.sub_(g, alpha=self.lr)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


def _copy_into(param: Tensor, value: Any) -> None:
    """Put torch's initial value into a minigrad parameter (transposed if it is laid out so)."""
    if tuple(param.shape) == tuple(value.shape):
        param._data.copy_(value)
    elif value.ndim == 2 and tuple(param.shape) == tuple(value.T.shape):
        param._data.copy_(value.T)
    else:
        raise ValueError(f"cannot copy a {tuple(value.shape)} value into {tuple(param.shape)}")


def mlp_like(torch_model: Any, device: str) -> Any:
    """A minigrad MLP with the same layers and the same initial weights as `torch_model`
    (torch.nn.Sequential of Linear, ReLU, Linear)."""
    values = [p.detach().clone() for p in torch_model.parameters()]
    nn = _find("minigrad.nn", "Sequential")
    if nn is None or _find("minigrad.nn", "Linear") is None:
        return _StandInMLP([Tensor(v, requires_grad=True) for v in values])
    from minigrad import nn as mnn

    first, last = torch_model[0], torch_model[2]
    previous = minigrad.default_device()
    minigrad.set_default_device(device)  # the layers make their parameters on the default device
    try:
        model = mnn.Sequential(
            mnn.Linear(first.in_features, first.out_features),
            mnn.ReLU(),
            mnn.Linear(last.in_features, last.out_features),
        )
    finally:
        minigrad.set_default_device(previous)
    params = list(model.parameters())
    if len(params) != len(values):
        raise ValueError(f"minigrad MLP has {len(params)} parameters, torch's {len(values)}")
    for param, value in zip(params, values):
        _copy_into(param, value.to(param.device))
    return model


def sgd(params: Any, lr: float, momentum: float) -> Any:
    real = _find("minigrad.optim", "SGD")
    if real is not None:
        return real(params, lr=lr, momentum=momentum)
    return _StandInSGD(params, lr, momentum)
