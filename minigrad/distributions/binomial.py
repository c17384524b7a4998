"""Binomial(total_count, probs or logits): the successes among total_count coin flips."""

from __future__ import annotations

from numbers import Number
from typing import Any

import torch

from ..tensor import Tensor
from . import constraints
from .bernoulli import CoinProbability
from .distribution import Distribution, as_size, broadcast_all, probs_or_logits, raw, wrap


def _half_plus_relu(x: Tensor) -> Tensor:
    """max(x, 0) written as (clamp(x, min=0) + x - clamp(x, max=0)) / 2, as torch writes it: the
    same value, and at x = 0 the slope 1/2 torch's gradient has there."""
    return (x.clamp(min=0) + x - x.clamp(max=0)) / 2


class Binomial(CoinProbability, Distribution):
    """Binomial distributions: n = total_count flips (a whole number >= 0) of a coin with
    probability p in [0, 1] (or logits log(p / (1 - p))); the count k = 0..n of heads.

    log_prob(k) = lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) + k logit - n log(1 + e^logit),
    with log(1 + e^l) = max(l, 0) + log(1 + e^-|l|), finite for any logit.
    mean = n p,  variance = n p (1 - p),  mode = floor((n + 1) p), at most n.
    entropy sums -P(k) log P(k) over k = 0..n, so it needs one n for the whole batch, as torch's.
    """

    arg_constraints = {
        "total_count": constraints.integer_interval(0, float("inf")),
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }
    has_enumerate_support = True

    def __init__(
        self,
        total_count: Tensor | float = 1,
        probs: Tensor | float | None = None,
        logits: Tensor | float | None = None,
        validate_args: bool | None = None,
    ) -> None:
        name, given = probs_or_logits(probs, logits)
        self.total_count, param = broadcast_all(total_count, given)
        self.total_count = self.total_count.type_as(param)
        setattr(self, name, param)
        batch_shape = torch.Size() if isinstance(given, Number) else param.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Binomial:
        batch_shape = as_size(batch_shape)
        new = self._new_instance(batch_shape, torch.Size())
        new.total_count = self.total_count.expand(batch_shape)
        self._expand_coin(new, batch_shape)
        return new

    @property
    def support(self) -> constraints.Constraint:
        return constraints.integer_interval(0, raw(self.total_count))

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        counts, probs = raw(self.total_count).expand(shape), raw(self.probs).expand(shape)
        return wrap(torch.binomial(counts, probs))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        log_choose = (n + 1).lgamma() - (value + 1).lgamma() - (n - value + 1).lgamma()
        log_normalizer = n * _half_plus_relu(logits) + n * (-logits.abs()).exp().log1p()
        return value * logits + log_choose - log_normalizer

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """0, 1, ..., n along a new first dim (n the same for the whole batch)."""
        n = raw(self.total_count)
        total = int(n.max())
        if not bool((n == total).all()):
            raise NotImplementedError(
                "Inhomogeneous total count not supported by `enumerate_support`."
            )
        values = torch.arange(1 + total, dtype=n.dtype, device=n.device)
        values = values.view((-1,) + (1,) * len(self.batch_shape))
        if expand:
            values = values.expand((-1,) + self.batch_shape)
        return wrap(values)

    def entropy(self) -> Tensor:
        n = raw(self.total_count)
        if n.numel() and not bool((n == n.max()).all()):
            raise NotImplementedError("Inhomogeneous total count not supported by `entropy`.")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(log_prob.exp() * log_prob).sum(0)
