"""Uniform(low, high): every value in [low, high) equally likely, density 1 / (high - low)."""

from __future__ import annotations

import math
from numbers import Number
from typing import Any

import torch

from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, as_size, broadcast_all, raw, wrap


class Uniform(Distribution):
    """Uniform distributions on [low, high) (low < high).

    log_prob(x) = -log(high - low) inside, -inf outside    cdf(x) = (x - low) / (high - low)
    entropy     = log(high - low)                         rsample = low + (high - low) u
    """

    has_rsample = True

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:
        return {
            "low": constraints.less_than(self.high),
            "high": constraints.greater_than(self.low),
        }

    @property
    def support(self) -> constraints.Constraint:
        return constraints.interval(self.low, self.high)

    def __init__(
        self, low: Tensor | float, high: Tensor | float, validate_args: bool | None = None
    ) -> None:
        self.low, self.high = broadcast_all(low, high)
        numbers = isinstance(low, Number) and isinstance(high, Number)
        batch_shape = torch.Size() if numbers else self.low.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Uniform:
        batch_shape = as_size(batch_shape)
        new = self._new_instance(batch_shape, torch.Size())
        new.low, new.high = self.low.expand(batch_shape), self.high.expand(batch_shape)
        return new

    @property
    def mean(self) -> Tensor:
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Tensor:
        return math.nan * self.high

    @property
    def stddev(self) -> Tensor:
        return (self.high - self.low) / 12**0.5

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        u = torch.rand(shape, dtype=self.low.dtype, device=self.low.device)
        return self.low + wrap(u) * (self.high - self.low)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        # log(1) = 0 inside [low, high), log(0) = -inf outside: an indicator with no gradient.
        inside = (raw(self.low) <= raw(value)) & (raw(self.high) > raw(value))
        return wrap(inside.to(self.low.dtype).log()) - (self.high - self.low).log()

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value: Tensor) -> Tensor:
        return value * (self.high - self.low) + self.low

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()


def _data(value: Any) -> Any:
    return raw(value) if isinstance(value, Tensor) else value
