"""Categorical and OneHotCategorical: one of K outcomes, outcome k with probability p_k.

Categorical's values are the indices 0..K-1; OneHotCategorical's are the same draws written as
one-hot vectors of length K (its event_shape is (K,)). Both are given by probs (any nonnegative
weights along the last dim, normalised to sum to 1) or by logits (normalised so that
logsumexp(logits) = 0, i.e. logits = log probs).
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

import torch

from ..nn.functional import one_hot
from ..tensor import Tensor
from . import constraints
from .bernoulli import probs_to_logits
from .distribution import Distribution, as_size, probs_or_logits, raw, wrap


class Categorical(Distribution):
    """Categorical distributions over K outcomes: probs or logits of shape batch_shape + (K,).

    log_prob(k) = logits[..., k]            entropy = -sum_k p_k log p_k
    sample(): torch.multinomial over the probabilities, with replacement.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(
        self,
        probs: Tensor | None = None,
        logits: Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        probs_or_logits(probs, logits)  # (exactly one)
        if probs is not None:
            if probs.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
            self._param = self.probs
        else:
            if logits.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(dim=-1, keepdim=True)
            self._param = self.logits
        self._num_events = self._param.shape[-1]
        super().__init__(self._param.shape[:-1], validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Categorical:
        batch_shape = as_size(batch_shape)
        new = self._new_instance(batch_shape, torch.Size())
        param_shape = batch_shape + (self._num_events,)
        for name in ("probs", "logits"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(param_shape))
                new._param = getattr(new, name)
        new._num_events = self._num_events
        return new

    @property
    def support(self) -> constraints.Constraint:
        return constraints.integer_interval(0, self._num_events - 1)

    @cached_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs)

    @cached_property
    def probs(self) -> Tensor:
        return self.logits.softmax(-1)

    @property
    def param_shape(self) -> torch.Size:
        return self._param.shape

    @property
    def mean(self) -> Tensor:
        return self._undefined()

    @property
    def variance(self) -> Tensor:
        return self._undefined()

    def _undefined(self) -> Tensor:
        """NaN of batch_shape: an index has no mean or variance."""
        return wrap(torch.full(self._extended_shape(), math.nan, dtype=self.probs.dtype))

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(dim=-1)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        sample_shape = as_size(sample_shape)
        probs_2d = raw(self.probs).reshape(-1, self._num_events)
        # One row of draws per distribution, then the sample dims moved to the front.
        draws = torch.multinomial(probs_2d, sample_shape.numel(), True).T
        return wrap(draws.reshape(self._extended_shape(sample_shape)))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        index = value.long().unsqueeze(-1)
        shape = torch.broadcast_shapes(index.shape, self.logits.shape)
        index = index.expand(shape[:-1] + (1,))
        return self.logits.expand(shape).gather(-1, index).squeeze(-1)

    def entropy(self) -> Tensor:
        # A logit of -inf (p = 0) becomes the most negative float, so 0 * logit is 0, not NaN.
        logits = self.logits.clamp(min=torch.finfo(self.logits.dtype).min)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """The outcomes 0..K-1 along a new first dim (expanded over batch_shape)."""
        values = torch.arange(self._num_events, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + self._batch_shape)
        return wrap(values)


class OneHotCategorical(Distribution):
    """Categorical draws written as one-hot vectors: event_shape (K,).

    log_prob(x) = log p_k for the k where x has its 1; entropy, probs, logits are the
    Categorical's; mean = probs, variance = p (1 - p).
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(
        self,
        probs: Tensor | None = None,
        logits: Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(self._categorical.batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> OneHotCategorical:
        batch_shape = as_size(batch_shape)
        new = self._new_instance(batch_shape, self.event_shape)
        new._categorical = self._categorical.expand(batch_shape)
        return new

    @property
    def _param(self) -> Tensor:
        return self._categorical._param

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def param_shape(self) -> torch.Size:
        return self._categorical.param_shape

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        probs = raw(self.probs)
        index = probs.argmax(dim=-1)
        return wrap(torch.nn.functional.one_hot(index, probs.shape[-1]).to(probs))

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        index = self._categorical.sample(sample_shape)
        return one_hot(index, self._categorical._num_events).to(self.probs.dtype)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(wrap(raw(value).max(-1)[1]))

    def entropy(self) -> Tensor:
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """The K one-hot vectors along a new first dim (expanded over batch_shape)."""
        n = self.event_shape[0]
        values = torch.eye(n, dtype=self._param.dtype, device=self._param.device)
        values = values.view((n,) + (1,) * len(self.batch_shape) + (n,))
        if expand:
            values = values.expand((n,) + self.batch_shape + (n,))
        return wrap(values)
