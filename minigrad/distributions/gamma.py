"""Gamma(concentration, rate): positive numbers, density rate^a x^(a-1) e^(-rate x) / Gamma(a)."""

from __future__ import annotations

from numbers import Number
from typing import Any

import torch

from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, as_size, broadcast_all, raw, wrap


class Gamma(Distribution):
    """Gamma distributions with shape a = concentration > 0 and rate > 0 (mean a / rate).

    log_prob(x) = a log rate + (a - 1) log x - rate x - lgamma(a)
    entropy     = a - log rate + lgamma(a) + (1 - a) digamma(a)
    The sum of a exponential waiting times at this rate, when a is whole.

    No rsample: torch differentiates its draws in a through an implicit-gradient kernel
    (the gamma CDF's slope) that minigrad does not have, so has_rsample is False here.
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative

    def __init__(
        self,
        concentration: Tensor | float,
        rate: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        numbers = isinstance(concentration, Number) and isinstance(rate, Number)
        batch_shape = torch.Size() if numbers else self.rate.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Gamma:
        batch_shape = as_size(batch_shape)
        new = self._new_instance(batch_shape, torch.Size())
        new.concentration = self.concentration.expand(batch_shape)
        new.rate = self.rate.expand(batch_shape)
        return new

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate.pow(2)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        # torch's draw: a standard gamma (rate 1) scaled by 1 / rate, kept off 0 (whose log is
        # -inf) by the dtype's smallest normal number.
        shape = self._extended_shape(sample_shape)
        standard = torch._standard_gamma(raw(self.concentration).expand(shape))
        value = standard / raw(self.rate).expand(shape)
        return wrap(value.clamp(min=torch.finfo(value.dtype).tiny))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a, rate = self.concentration, self.rate
        return a.xlogy(rate) + (a - 1).xlogy(value) - rate * value - a.lgamma()

    def entropy(self) -> Tensor:
        a = self.concentration
        return a - self.rate.log() + a.lgamma() + (1.0 - a) * a.digamma()
