"""The losses as modules, for code that writes `loss_func = nn.CrossEntropyLoss()`."""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .modules import Module


class CrossEntropyLoss(Module):
    """`F.cross_entropy`: (N, C) logits, N integer class targets."""

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        return F.cross_entropy(logits, targets)


class BCEWithLogitsLoss(Module):
    """`F.binary_cross_entropy_with_logits`: logits and 0/1 targets of the same shape."""

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, targets)


class NLLLoss(Module):
    """`F.nll_loss`: (N, C) log-probabilities, N integer class targets."""

    def forward(self, log_probs: Tensor, targets: Tensor) -> Tensor:
        return F.nll_loss(log_probs, targets)
