"""Geometric(probs or logits): the number of failures before the first success."""

from __future__ import annotations

from numbers import Number
from typing import Any

import torch

from ..nn.functional import binary_cross_entropy_with_logits
from ..tensor import Tensor
from . import constraints
from .bernoulli import CoinProbability
from .distribution import Distribution, as_size, broadcast_all, probs_or_logits, raw, wrap


class Geometric(CoinProbability, Distribution):
    """Geometric distributions: trials that succeed with probability p in (0, 1] (or given by
    logits log(p / (1 - p))), counting the failures k = 0, 1, 2, ... before the first success.

    log_prob(k) = k log(1 - p) + log p        mean = 1/p - 1,   variance = (1/p - 1) / p
    entropy     = (the Bernoulli's entropy) / p: each of the 1/p trials expected is a coin.
    A draw is floor(log u / log(1 - p)) for u uniform in (0, 1), as torch's.
    """

    arg_constraints = {"probs": constraints.interval(0.0, 1.0), "logits": constraints.real}
    support = constraints.integer_interval(0, float("inf"))

    def __init__(
        self,
        probs: Tensor | float | None = None,
        logits: Tensor | float | None = None,
        validate_args: bool | None = None,
    ) -> None:
        name, given = probs_or_logits(probs, logits)
        (param,) = broadcast_all(given)
        setattr(self, name, param)
        batch_shape = torch.Size() if isinstance(given, Number) else param.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Geometric:
        batch_shape = as_size(batch_shape)
        new = self._new_instance(batch_shape, torch.Size())
        self._expand_coin(new, batch_shape)
        return new

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        return Tensor(torch.zeros_like(raw(self.probs)))

    @property
    def variance(self) -> Tensor:
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        probs = raw(self.probs)
        tiny = torch.finfo(probs.dtype).tiny
        uniform = torch.rand(shape, dtype=probs.dtype, device=probs.device).clamp(min=tiny)
        return wrap((uniform.log() / (-probs).log1p()).floor())

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # p = 1 and k = 0: 0 * log 0 is read as 0 (a sure success on the first trial)
        sure = (raw(probs) == 1) & (raw(value) == 0)
        return value * (-probs.masked_fill(sure, 0.0)).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        coin = binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")
        return coin / self.probs
