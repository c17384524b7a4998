"""Poisson(rate): counts 0, 1, 2, ..., P(k) = rate^k e^(-rate) / k!."""

from __future__ import annotations

import math
from numbers import Number
from typing import Any

import torch

from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, as_size, broadcast_all, raw, wrap


class Poisson(Distribution):
    """Poisson distributions with rate >= 0 (the mean and the variance).

    log_prob(k) = k log rate - rate - lgamma(k + 1)      (lgamma(k + 1) = log k!)
    """

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.integer_interval(0, math.inf)

    def __init__(self, rate: Tensor | float, validate_args: bool | None = None) -> None:
        (self.rate,) = broadcast_all(rate)
        batch_shape = torch.Size() if isinstance(rate, Number) else self.rate.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Poisson:
        batch_shape = as_size(batch_shape)
        new = self._new_instance(batch_shape, torch.Size())
        new.rate = self.rate.expand(batch_shape)
        return new

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        return wrap(torch.poisson(raw(self.rate).expand(shape)))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value, rate = broadcast_all(value, self.rate)
        return value.xlogy(rate) - rate - (value + 1).lgamma()
