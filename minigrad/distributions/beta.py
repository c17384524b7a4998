"""Beta(concentration1, concentration0): [0, 1]-valued, a two-entry Dirichlet's first entry."""

from __future__ import annotations

from numbers import Number
from typing import Any

import torch

from ..creation import stack
from ..tensor import Tensor
from . import constraints
from .dirichlet import Dirichlet
from .distribution import Distribution, as_size, broadcast_all, raw, wrap


class Beta(Distribution):
    """Beta distributions with concentration1 = a > 0 and concentration0 = b > 0 (mean a/(a+b)).

    Beta(a, b) is x where (x, 1 - x) ~ Dirichlet((a, b)), so log_prob, entropy, mode and the
    draws are the Dirichlet's, read at the first entry (as torch's, so a seed gives its draws):
    log_prob(x) = (a - 1) log x + (b - 1) log(1 - x) + lgamma(a + b) - lgamma(a) - lgamma(b).
    """

    arg_constraints = {
        "concentration1": constraints.positive,
        "concentration0": constraints.positive,
    }
    support = constraints.unit_interval

    def __init__(
        self,
        concentration1: Tensor | float,
        concentration0: Tensor | float,
        validate_args: bool | None = None,
    ) -> None:
        ones, zeros = broadcast_all(concentration1, concentration0)
        self._dirichlet = Dirichlet(stack([ones, zeros], -1), validate_args=validate_args)
        numbers = isinstance(concentration1, Number) and isinstance(concentration0, Number)
        batch_shape = torch.Size() if numbers else self._dirichlet.batch_shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Beta:
        batch_shape = as_size(batch_shape)
        new = self._new_instance(batch_shape, torch.Size())
        new._dirichlet = self._dirichlet.expand(batch_shape)
        return new

    @property
    def concentration1(self) -> Tensor:
        return self._dirichlet.concentration[..., 0]

    @property
    def concentration0(self) -> Tensor:
        return self._dirichlet.concentration[..., 1]

    @property
    def mean(self) -> Tensor:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self) -> Tensor:
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self) -> Tensor:
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def sample(self, sample_shape: Any = ()) -> Tensor:
        return wrap(raw(self._dirichlet.sample(sample_shape)).select(-1, 0))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        if not isinstance(value, Tensor):
            value = Tensor(torch.tensor(value, dtype=self.concentration1.dtype))
        return self._dirichlet.log_prob(stack([value, 1.0 - value], -1))

    def entropy(self) -> Tensor:
        return self._dirichlet.entropy()
