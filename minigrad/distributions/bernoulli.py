"""Bernoulli(probs or logits): a coin that lands 1 with probability p, 0 otherwise."""

from __future__ import annotations

import math
from functools import cached_property
from numbers import Number
from typing import Any

import torch

from ..nn.functional import binary_cross_entropy_with_logits
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, as_size, broadcast_all, probs_or_logits, raw, wrap


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """log p (log p - log(1 - p) for a binary event), with p kept inside [eps, 1 - eps] so
    that p = 0 or 1 gives a large finite logit instead of an infinite one."""
    eps = torch.finfo(probs.dtype).eps
    clamped = probs.clamp(min=eps, max=1 - eps)
    if is_binary:
        return clamped.log() - (-clamped).log1p()
    return clamped.log()


class CoinProbability:
    """What Bernoulli, Geometric and Binomial share: one coin's probability p of heads per
    trial, given as probs or as logits log(p / (1 - p)); whichever is given is stored, and the
    other is worked out from it the first time it is read."""

    @cached_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @cached_property
    def probs(self) -> Tensor:
        return self.logits.sigmoid()

    def _expand_coin(self, new: Any, batch_shape: torch.Size) -> None:
        """Give `new` (self's expand) whichever of probs and logits self holds, expanded."""
        for name in ("probs", "logits"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(batch_shape))


class Bernoulli(CoinProbability, Distribution):
    """Bernoulli distributions, given by probs p in [0, 1] or by logits log(p / (1 - p)).

    Whichever one is given is stored; the other is computed from it when first read.
    log_prob(x) = x log p + (1 - x) log(1 - p), written with logits as -BCE-with-logits so
    it stays finite for large logits; entropy = -p log p - (1 - p) log(1 - p).
    sample() has no rsample: a 0/1 draw is not a differentiable function of p.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(
        self,
        probs: Tensor | float | None = None,
        logits: Tensor | float | None = None,
        validate_args: bool | None = None,
    ) -> None:
        name, given = probs_or_logits(probs, logits)
        (param,) = broadcast_all(given)
        setattr(self, name, param)
        self._param = param
        batch_shape = torch.Size() if isinstance(given, Number) else param.shape
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Bernoulli:
        batch_shape = as_size(batch_shape)
        new = self._new_instance(batch_shape, torch.Size())
        self._expand_coin(new, batch_shape)
        new._param = new.probs if "probs" in new.__dict__ else new.logits
        return new

    @property
    def param_shape(self) -> torch.Size:
        return self._param.shape

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        probs = raw(self.probs)
        mode = (probs >= 0.5).to(probs.dtype).masked_fill(probs == 0.5, math.nan)
        return wrap(mode)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        return wrap(torch.bernoulli(raw(self.probs).expand(shape)))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self) -> Tensor:
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """The values 0 and 1 along a new first dim (expanded over batch_shape)."""
        values = torch.arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + self._batch_shape)
        return wrap(values)
