"""Normal(loc, scale): the Gaussian, density exp(-(x - loc)^2 / (2 scale^2)) / (scale sqrt(2pi))."""

from __future__ import annotations

import math
from numbers import Number
from typing import Any

import torch

from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, as_size, broadcast_all, raw, wrap


class Normal(Distribution):
    """Normal distributions with mean loc and standard deviation scale (scale > 0).

    log_prob(x) = -(x - loc)^2 / (2 scale^2) - log scale - log sqrt(2 pi)
    entropy     = 1/2 + log sqrt(2 pi) + log scale
    cdf(x)      = (1 + erf((x - loc) / (scale sqrt 2))) / 2
    icdf(p)     = loc + scale sqrt 2 erfinv(2p - 1)
    rsample     = loc + scale * eps, eps ~ N(0, 1): the draw is a function of loc and scale.
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(
        self, loc: Tensor | float, scale: Tensor | float, validate_args: bool | None = None
    ) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        numbers = isinstance(loc, Number) and isinstance(scale, Number)
        batch_shape = torch.Size() if numbers else self.loc.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Normal:
        batch_shape = as_size(batch_shape)
        new = self._new_instance(batch_shape, torch.Size())
        new.loc, new.scale = self.loc.expand(batch_shape), self.scale.expand(batch_shape)
        return new

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale.pow(2)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        # torch draws sample() with torch.normal(loc, scale) and rsample() from N(0, 1): two
        # samplers that read the generator differently, so each is kept to match torch's draws.
        shape = self._extended_shape(sample_shape)
        return wrap(torch.normal(raw(self.loc).expand(shape), raw(self.scale).expand(shape)))

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = torch.empty(shape, dtype=self.loc.dtype, device=self.loc.device).normal_()
        return self.loc + wrap(eps) * self.scale

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        variance = self.scale**2
        return (
            -((value - self.loc) ** 2) / (2 * variance)
            - self.scale.log()
            - math.log(math.sqrt(2 * math.pi))
        )

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + ((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)).erf())

    def icdf(self, value: Tensor) -> Tensor:
        return self.loc + self.scale * (2 * value - 1).erfinv() * math.sqrt(2)

    def entropy(self) -> Tensor:
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()
