"""Dirichlet(concentration): probability vectors, density prod x_i^(a_i - 1) / B(a)."""

from __future__ import annotations

from typing import Any

import torch

from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, as_size, raw, wrap


class Dirichlet(Distribution):
    """Dirichlet distributions over the simplex {x : x_i >= 0, sum x_i = 1} of k entries, with
    concentration a of shape (..., k), every a_i > 0 (a0 = sum a_i).

    log_prob(x) = sum (a_i - 1) log x_i + lgamma(a0) - sum lgamma(a_i)
    entropy     = sum lgamma(a_i) - lgamma(a0) - (k - a0) digamma(a0)
                  - sum (a_i - 1) digamma(a_i)
    A draw is k independent Gamma(a_i, 1) draws divided by their sum.

    No rsample: torch differentiates its draws through an implicit-gradient kernel minigrad
    does not have, so has_rsample is False here.
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex

    def __init__(self, concentration: Tensor, validate_args: bool | None = None) -> None:
        if not isinstance(concentration, Tensor) or concentration.ndim < 1:
            raise ValueError(
                "`concentration` parameter must be at least one-dimensional (a minigrad Tensor "
                f"of shape (..., k)), got {concentration!r}."
            )
        self.concentration = concentration
        shape = concentration.shape
        super().__init__(shape[:-1], shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Dirichlet:
        batch_shape = as_size(batch_shape)
        new = self._new_instance(batch_shape, self.event_shape)
        new.concentration = self.concentration.expand(batch_shape + self.event_shape)
        return new

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        # (a_i - 1) / (a0 - k) where every a_i > 1; an a_i < 1 puts the density's top on the
        # simplex's edge, and where all are below 1 torch names a corner: the one-hot vector of
        # the largest entry (the first, when the row is 0 / 0).
        clipped = (self.concentration - 1).clamp(min=0)
        mode = clipped / clipped.sum(-1, keepdim=True)
        all_below_one = (raw(self.concentration) < 1).all(-1, keepdim=True)
        corners = torch.nn.functional.one_hot(raw(mode).argmax(-1), self.event_shape[-1])
        return mode.where(~all_below_one, Tensor(corners.to(mode.dtype)))

    @property
    def variance(self) -> Tensor:
        a = self.concentration
        a0 = a.sum(-1, keepdim=True)
        return a * (a0 - a) / (a0.pow(2) * (a0 + 1))

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        return wrap(torch._sample_dirichlet(raw(self.concentration).expand(shape)))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a = self.concentration
        return (a - 1).xlogy(value).sum(-1) + a.sum(-1).lgamma() - a.lgamma().sum(-1)

    def entropy(self) -> Tensor:
        a = self.concentration
        k, a0 = a.shape[-1], a.sum(-1)
        return (
            a.lgamma().sum(-1)
            - a0.lgamma()
            - (k - a0) * a0.digamma()
            - ((a - 1.0) * a.digamma()).sum(-1)
        )
