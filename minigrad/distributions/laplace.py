"""Laplace(loc, scale): the double exponential, density exp(-|x - loc| / scale) / (2 scale)."""

from __future__ import annotations

from numbers import Number
from typing import Any

import torch

from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, as_size, broadcast_all, wrap


class Laplace(Distribution):
    """Laplace distributions centred at loc with scale > 0 (variance 2 scale^2).

    log_prob(x) = -log(2 scale) - |x - loc| / scale
    cdf(x)      = 1/2 - 1/2 sign(x - loc) (exp(-|x - loc| / scale) - 1)
    icdf(p)     = loc - scale sign(p - 1/2) log(1 - 2 |p - 1/2|)
    entropy     = 1 + log(2 scale)
    rsample     = icdf at a uniform draw, written with u = 2p - 1 in (-1, 1).
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

    def expand(self, batch_shape: Any, _instance: Any = None) -> Laplace:
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
    def variance(self) -> Tensor:
        return 2 * self.scale.pow(2)

    @property
    def stddev(self) -> Tensor:
        return (2**0.5) * self.scale

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        # u in [eps - 1, 1): never -1, where log(1 - |u|) would be log 0.
        eps = torch.finfo(self.loc.dtype).eps
        u = torch.empty(shape, dtype=self.loc.dtype, device=self.loc.device).uniform_(eps - 1, 1)
        return self.loc - self.scale * wrap(u.sign() * torch.log1p(-u.abs()))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        centred = value - self.loc
        return 0.5 - 0.5 * centred.sign() * (-centred.abs() / self.scale).expm1()

    def icdf(self, value: Tensor) -> Tensor:
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self) -> Tensor:
        return 1 + (2 * self.scale).log()
