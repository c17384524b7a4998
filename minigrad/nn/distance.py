"""Layers that compare two tensors: CosineSimilarity, PairwiseDistance."""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .modules import Module


class CosineSimilarity(Module):
    """The cosine of the angle between the vectors along `dim` of two inputs. See
    F.cosine_similarity."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """The p-norm of x1 - x2 + eps along the last dim: one distance per pair of rows. See
    F.pairwise_distance. (torch keeps p as `norm`; so does minigrad.)"""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
