"""StudentT(df, loc, scale): the t distribution, a Normal whose scale is itself uncertain."""

from __future__ import annotations

import math
from numbers import Number
from typing import Any

import torch

from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, as_size, broadcast_all, raw, wrap


class StudentT(Distribution):
    """Student's t distributions with df > 0 degrees of freedom, location loc and scale > 0.

    With y = (x - loc) / scale and d = df:
    log_prob(x) = -(d + 1)/2 log(1 + y^2 / d) - log scale - log(d)/2 - log(pi)/2
                  - lgamma(d / 2) + lgamma((d + 1) / 2)
    entropy     = log scale + (d + 1)/2 (digamma((d + 1)/2) - digamma(d/2)) + log(d)/2
                  + lgamma(d/2) + lgamma(1/2) - lgamma((d + 1)/2)
    mean = loc (NaN for d <= 1),  variance = scale^2 d / (d - 2) (inf for 1 < d <= 2, NaN below).
    A draw is loc + scale * X / sqrt(V / d), X ~ N(0, 1) and V ~ chi-squared(d), as torch's.

    No rsample: chi-squared is a Gamma, whose draws torch differentiates through a kernel
    minigrad does not have, so has_rsample is False here.
    """

    arg_constraints = {
        "df": constraints.positive,
        "loc": constraints.real,
        "scale": constraints.positive,
    }
    support = constraints.real

    def __init__(
        self,
        df: Tensor | float,
        loc: Tensor | float = 0.0,
        scale: Tensor | float = 1.0,
        validate_args: bool | None = None,
    ) -> None:
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        numbers = all(isinstance(v, Number) for v in (df, loc, scale))
        batch_shape = torch.Size() if numbers else self.df.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> StudentT:
        batch_shape = as_size(batch_shape)
        new = self._new_instance(batch_shape, torch.Size())
        new.df, new.loc, new.scale = (
            v.expand(batch_shape) for v in (self.df, self.loc, self.scale)
        )
        return new

    @property
    def mean(self) -> Tensor:
        return self.loc.where(raw(self.df) > 1, math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        df = raw(self.df)
        finite = df > 2
        # the formula only where it holds: elsewhere d - 2 <= 0 would send NaN into backward
        safe_df = self.df.where(finite, 3.0)
        formula = self.scale.pow(2) * safe_df / (safe_df - 2)
        beyond = torch.where(df > 1, math.inf, math.nan).to(df.dtype)
        return formula.where(finite, Tensor(beyond))

    def sample(self, sample_shape: Any = ()) -> Tensor:
        # torch's order of draws: the normals first, then the chi-squared (a Gamma(d/2, 1/2))
        shape = self._extended_shape(sample_shape)
        df, loc, scale = raw(self.df), raw(self.loc), raw(self.scale)
        normal = torch.empty(shape, dtype=df.dtype, device=df.device).normal_()
        chi2 = torch._standard_gamma((0.5 * df).expand(shape)) / 0.5
        chi2 = chi2.clamp(min=torch.finfo(chi2.dtype).tiny)
        return wrap(loc + scale * (normal * (chi2 / df).rsqrt()))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        df = self.df
        y = (value - self.loc) / self.scale
        log_norm = (
            self.scale.log()
            + 0.5 * df.log()
            + 0.5 * math.log(math.pi)
            + (0.5 * df).lgamma()
            - (0.5 * (df + 1.0)).lgamma()
        )
        return -0.5 * (df + 1.0) * (y.pow(2) / df).log1p() - log_norm

    def entropy(self) -> Tensor:
        df = self.df
        half, half_up = 0.5 * df, 0.5 * (df + 1)
        log_beta = half.lgamma() + math.lgamma(0.5) - half_up.lgamma()
        spread = half_up * (half_up.digamma() - half.digamma())
        return self.scale.log() + spread + 0.5 * df.log() + log_beta
