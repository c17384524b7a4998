"""Activation layers beyond ReLU and Sigmoid (in modules.py): Tanh, Softmax, LogSoftmax."""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .modules import Module


class Tanh(Module):
    """(e^x - e^-x) / (e^x + e^-x), elementwise: a sigmoid stretched to (-1, 1)."""

    def forward(self, input: Tensor) -> Tensor:
        return input.tanh()


class Softmax(Module):
    """e^x_j / sum_k e^x_k along `dim`: probabilities that sum to 1 (dim=None is torch's old
    implicit choice, with its warning)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along `dim`, computed stably as x - logsumexp(x)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
