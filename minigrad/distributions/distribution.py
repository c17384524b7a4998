"""Distribution: the base class every probability distribution here builds on, as torch's.

A distribution holds a batch of independent distributions of the same family, each over events
of one shape:

    batch_shape   how many distributions (Normal(loc of shape (3,), ...) is 3 of them)
    event_shape   the shape of one draw from one of them (() for a number; (n,) for a
                  MultivariateNormal over n-vectors)

`sample(sample_shape)` returns sample_shape + batch_shape + event_shape; `log_prob(value)`
scores a value of that shape (or one that broadcasts to it) and returns one number per event.

Parameters are minigrad Tensors, and every method is written with minigrad's ops, so log_prob,
entropy, kl_divergence and rsample record a graph and backward() reaches the parameters. Random
numbers come from the same torch samplers torch.distributions calls, in the same order, so
torch.manual_seed(s) gives the same draws in both.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from numbers import Number
from typing import Any

import torch

from ..tensor import Tensor, unwrap
from . import constraints


def as_size(shape: Any) -> torch.Size:
    """A sample_shape or batch_shape as a torch.Size: (2, 3), [2, 3], torch.Size, or an int."""
    if isinstance(shape, int):
        return torch.Size((shape,))
    return torch.Size(shape)


def broadcast_all(*values: Tensor | float) -> tuple[Tensor, ...]:
    """The values broadcast to one shape, as Tensors. A number becomes a tensor of the first
    Tensor's dtype and device (torch's default dtype if every value is a number)."""
    if not all(isinstance(v, (Tensor, Number)) for v in values):
        kinds = ", ".join(type(v).__name__ for v in values)
        raise ValueError(
            f"a distribution's parameters must be minigrad Tensors or numbers, got ({kinds}). "
            "Wrap a torch tensor with minigrad.tensor(...)."
        )
    like = next((v for v in values if isinstance(v, Tensor)), None)
    options: dict[str, Any] = {"dtype": torch.get_default_dtype()}
    if like is not None:
        options = {"dtype": like.dtype, "device": like.device}
    tensors = [v if isinstance(v, Tensor) else Tensor(torch.tensor(v, **options)) for v in values]
    shape = torch.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t if t.shape == shape else t.expand(shape) for t in tensors)


def probs_or_logits(probs: Any, logits: Any) -> tuple[str, Any]:
    """Which of probs and logits was given, and its value: exactly one must be, as torch's (the
    other is worked out from it the first time it is read)."""
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    return ("probs", probs) if probs is not None else ("logits", logits)


def sum_rightmost(value: Tensor, dims: int) -> Tensor:
    """value summed over its `dims` rightmost dims (the event dims of an Independent)."""
    if dims == 0:
        return value
    return value.reshape(value.shape[: value.ndim - dims] + (-1,)).sum(-1)


def raw(value: Any) -> Any:
    """The torch tensor under a minigrad Tensor (anything else as it is): for the draws and
    checks that only read values."""
    return unwrap(value)


def wrap(data: torch.Tensor) -> Tensor:
    """A fresh draw as a minigrad Tensor: no graph behind it, like torch's sample()."""
    return Tensor(data)


class Distribution:
    """The base class: shapes, argument and sample checks, and what every family shares.

    Subclasses set arg_constraints (what each parameter must satisfy), support (where values
    may lie), has_rsample, and implement the methods their family has.
    """

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__  # on unless Python runs with -O, as torch's

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn argument checks on or off for every distribution made from now on."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args takes True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(
        self,
        batch_shape: Sequence[int] = torch.Size(),
        event_shape: Sequence[int] = torch.Size(),
        validate_args: bool | None = None,
    ) -> None:
        self._batch_shape = torch.Size(batch_shape)
        self._event_shape = torch.Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._check_parameters()

    def _check_parameters(self) -> None:
        """Raise ValueError naming the first parameter outside its constraint."""
        for name, constraint in self.arg_constraints.items():
            if name not in self.__dict__:
                continue  # not given: computed from another parameter, so valid by construction
            value = getattr(self, name)
            if not bool(constraint.check(value).all()):
                raise ValueError(
                    f"Expected parameter {name} ({type(value).__name__} of shape "
                    f"{tuple(value.shape)}) of distribution {self!r} to satisfy the constraint "
                    f"{constraint!r}, but found invalid values:\n{value}"
                )

    # ---- shapes ----------------------------------------------------------------------------

    @property
    def batch_shape(self) -> torch.Size:
        """The shape over which the parameters are batched: how many distributions."""
        return self._batch_shape

    @property
    def event_shape(self) -> torch.Size:
        """The shape of one draw from one of the distributions."""
        return self._event_shape

    def _extended_shape(self, sample_shape: Any = ()) -> torch.Size:
        """sample_shape + batch_shape + event_shape: the shape sample(sample_shape) returns."""
        return as_size(sample_shape) + self._batch_shape + self._event_shape

    def expand(self, batch_shape: Sequence[int], _instance: Any = None) -> Distribution:
        """The same distribution with its parameters expanded (broadcast) to batch_shape."""
        raise NotImplementedError(f"{type(self).__name__} does not implement expand")

    def _new_instance(self, batch_shape: Sequence[int], event_shape: Sequence[int]) -> Any:
        """An empty instance of this class to fill in (expand's helper): no checks run again."""
        new = type(self).__new__(type(self))
        Distribution.__init__(new, batch_shape, event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    # ---- what a family declares ----------------------------------------------------------

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:
        raise NotImplementedError

    @property
    def support(self) -> constraints.Constraint:
        raise NotImplementedError

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement mean")

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement mode")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement variance")

    @property
    def stddev(self) -> Tensor:
        """The standard deviation: sqrt(variance)."""
        return self.variance.sqrt()

    # ---- draws and scores ------------------------------------------------------------------

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """A draw of shape sample_shape + batch_shape + event_shape, cut off from the graph."""
        return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        """A draw written as a differentiable function of the parameters and parameter-free
        noise (the reparameterization trick), so gradients flow through it."""
        raise NotImplementedError(f"{type(self).__name__} has no rsample (has_rsample=False)")

    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement log_prob")

    def cdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement cdf")

    def icdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement icdf")

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement entropy")

    def perplexity(self) -> Tensor:
        """exp(entropy)."""
        return self.entropy().exp()

    def _validate_sample(self, value: Any) -> None:
        """The checks log_prob and cdf make on a value: a Tensor, whose rightmost dims are
        event_shape, that broadcasts with batch_shape + event_shape, inside the support."""
        if not isinstance(value, Tensor):
            raise ValueError(
                f"The value argument to log_prob must be a Tensor, got {type(value).__name__}"
            )
        event_start = value.ndim - len(self._event_shape)
        if value.shape[event_start:] != self._event_shape:
            raise ValueError(
                "The right-most size of value must match event_shape: "
                f"{value.shape} vs {self._event_shape}."
            )
        expected = self._batch_shape + self._event_shape
        for got, want in zip(reversed(value.shape), reversed(expected)):
            if got != 1 and want != 1 and got != want:
                raise ValueError(
                    "Value is not broadcastable with batch_shape+event_shape: "
                    f"{value.shape} vs {expected}."
                )
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(
                f"{type(self).__name__} does not define support, so values go unchecked; "
                "pass validate_args=False to silence this",
                stacklevel=3,
            )
            return
        if not bool(support.check(value).all()):
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape "
                f"{tuple(value.shape)}) to be within the support ({support!r}) of the "
                f"distribution {self!r}, but found invalid values:\n{value}"
            )

    def __repr__(self) -> str:
        shown = []
        for name in self.arg_constraints:
            if name in self.__dict__:
                value = self.__dict__[name]
                shown.append(f"{name}: {raw(value) if value.numel() == 1 else value.size()}")
        return f"{type(self).__name__}({', '.join(shown)})"
