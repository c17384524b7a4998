"""Exponential(rate): waiting times, density rate exp(-rate x) for x >= 0."""

from __future__ import annotations

from numbers import Number
from typing import Any

import torch

from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, as_size, broadcast_all, raw, wrap


class Exponential(Distribution):
    """Exponential distributions with rate > 0 (mean 1 / rate).

    log_prob(x) = log rate - rate x        cdf(x) = 1 - exp(-rate x)
    icdf(p)     = -log(1 - p) / rate       entropy = 1 - log rate
    rsample     = E / rate, E ~ Exponential(1).
    """

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate: Tensor | float, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        batch_shape = torch.Size() if isinstance(rate, Number) else self.rate.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Exponential:
        batch_shape = as_size(batch_shape)
        new = self._new_instance(batch_shape, torch.Size())
        new.rate = self.rate.expand(batch_shape)
        return new

    @property
    def mean(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def mode(self) -> Tensor:
        return Tensor(torch.zeros_like(raw(self.rate)))

    @property
    def stddev(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def variance(self) -> Tensor:
        return self.rate.pow(-2)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        standard = torch.empty(shape, dtype=self.rate.dtype, device=self.rate.device)
        return wrap(standard.exponential_()) / self.rate

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value: Tensor) -> Tensor:
        return -(-value).log1p() / self.rate

    def entropy(self) -> Tensor:
        return 1.0 - self.rate.log()
