"""LogNormal(loc, scale): positive numbers whose log is Normal(loc, scale)."""

from __future__ import annotations

from typing import Any

import torch

from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, as_size
from .normal import Normal


class LogNormal(Distribution):
    """LogNormal distributions: y = e^x with x ~ Normal(loc, scale), scale > 0.

    log_prob(y) = Normal.log_prob(log y) - log y      (the change of variables: dx/dy = 1/y)
    entropy     = Normal's entropy + loc             (E[log y] = loc)
    mean = e^(loc + scale^2/2),  mode = e^(loc - scale^2),  variance = (e^(scale^2) - 1)
    e^(2 loc + scale^2).  rsample = e^(Normal's rsample), differentiable in loc and scale.
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(
        self, loc: Tensor | float, scale: Tensor | float, validate_args: bool | None = None
    ) -> None:
        self.base_dist = Normal(loc, scale, validate_args=validate_args)
        super().__init__(self.base_dist.batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> LogNormal:
        batch_shape = as_size(batch_shape)
        new = self._new_instance(batch_shape, torch.Size())
        new.base_dist = self.base_dist.expand(batch_shape)
        return new

    @property
    def loc(self) -> Tensor:
        return self.base_dist.loc

    @property
    def scale(self) -> Tensor:
        return self.base_dist.scale

    @property
    def mean(self) -> Tensor:
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self) -> Tensor:
        return (self.loc - self.scale.pow(2)).exp()

    @property
    def variance(self) -> Tensor:
        scale_squared = self.scale.pow(2)
        return scale_squared.expm1() * (2 * self.loc + scale_squared).exp()

    def sample(self, sample_shape: Any = ()) -> Tensor:
        return self.base_dist.sample(sample_shape).exp()

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        return self.base_dist.rsample(sample_shape).exp()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        log_value = value.log()
        return self.base_dist.log_prob(log_value) - log_value

    def entropy(self) -> Tensor:
        return self.base_dist.entropy() + self.loc
