"""Transforms: invertible maps y = f(x) of a random variable, each with log |dy/dx|, the term a
change of variables needs (torch.distributions.transforms).

    p_Y(y) = p_X(f^-1(y)) / |dy/dx|,   so   log p_Y(y) = log p_X(x) - log |dy/dx|,  x = f^-1(y)

TransformedDistribution puts them after a base distribution: a tanh-squashed Normal for an
agent's bounded actions, a logistic distribution from a Uniform, a normalizing flow. Each is
written with minigrad's ops, so the gradients reach the parameters through them.

    t = TanhTransform(cache_size=1)   # cache_size=1: t.inv(t(x)) gives x itself back, not
                                      # atanh(tanh(x)), which loses x where tanh is near +-1
"""

from __future__ import annotations

import math
from numbers import Number
from typing import Any

import torch

from ..nn import functional as F
from ..tensor import Tensor
from . import constraints
from .distribution import sum_rightmost


class Transform:
    """y = self(x), x = self.inv(y), and log_abs_det_jacobian(x, y) = log |dy/dx| (summed over
    the transform's own event dims: 0 for an elementwise one)."""

    bijective = True
    event_dim = 0  # how many rightmost dims one application acts on together
    domain: constraints.Constraint = constraints.real
    codomain: constraints.Constraint = constraints.real

    def __init__(self, cache_size: int = 0) -> None:
        if cache_size not in (0, 1):
            raise ValueError(
                f"cache_size must be 0 (no cache) or 1 (the last x and y), got {cache_size}"
            )
        self._cache_size = cache_size
        self._last: tuple[Any, Any] = (None, None)  # (x, y) of the last call, with a cache

    @property
    def inv(self) -> Transform:
        """The inverse transform: inv(y) = x, with log |dx/dy| = -log |dy/dx|."""
        return _InverseTransform(self)

    @property
    def sign(self) -> Any:
        """+1 where y grows with x, -1 where it shrinks (a monotone map of numbers)."""
        raise NotImplementedError(f"{type(self).__name__} has no sign")

    def with_cache(self, cache_size: int = 1) -> Transform:
        if cache_size == self._cache_size:
            return self
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        Transform.__init__(new, cache_size)
        return new

    def __call__(self, x: Tensor) -> Tensor:
        if self._cache_size and x is self._last[0]:
            return self._last[1]
        y = self._call(x)
        if self._cache_size:
            self._last = (x, y)
        return y

    def _inv_call(self, y: Tensor) -> Tensor:
        if self._cache_size and y is self._last[1]:
            return self._last[0]
        x = self._inverse(y)
        if self._cache_size:
            self._last = (x, y)
        return x

    def _call(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement its forward map")

    def _inverse(self, y: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement its inverse")

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement log |dy/dx|")

    def forward_shape(self, shape: torch.Size) -> torch.Size:
        return shape

    def inverse_shape(self, shape: torch.Size) -> torch.Size:
        return shape

    def __eq__(self, other: object) -> bool:
        """Equal only to itself; a family whose maps carry no parameters (exp, sigmoid, tanh)
        is equal to any of its kind, and an affine map to one with the same loc and scale, as
        torch's (kl_divergence of two TransformedDistributions asks whether they match). Like
        torch's, transforms are then unhashable."""
        return self is other

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _InverseTransform(Transform):
    """The inverse of a transform: its forward map is the other's inverse, and its log |dx/dy|
    the other's log |dy/dx| with the sign turned."""

    def __init__(self, transform: Transform) -> None:
        super().__init__(transform._cache_size)
        self._inv = transform
        self.event_dim = transform.event_dim
        self.domain, self.codomain = transform.codomain, transform.domain

    @property
    def inv(self) -> Transform:
        return self._inv

    @property
    def sign(self) -> Any:
        return self._inv.sign

    def __call__(self, x: Tensor) -> Tensor:
        return self._inv._inv_call(x)

    def _inv_call(self, y: Tensor) -> Tensor:
        return self._inv(y)

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -self._inv.log_abs_det_jacobian(y, x)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    def __repr__(self) -> str:
        return f"{self._inv!r}.inv"


class ComposeTransform(Transform):
    """The parts one after the other: y = parts[-1](...parts[0](x)); log |dy/dx| is the sum of
    theirs (the chain rule), each summed over the dims the whole acts on together."""

    def __init__(self, parts: list[Transform], cache_size: int = 0) -> None:
        super().__init__(cache_size)
        self.parts = list(parts)
        self.event_dim = max([part.event_dim for part in self.parts], default=0)
        if self.parts:
            self.domain, self.codomain = self.parts[0].domain, self.parts[-1].codomain

    @property
    def sign(self) -> Any:
        sign: Any = 1
        for part in self.parts:
            sign = sign * part.sign
        return sign

    def _call(self, x: Tensor) -> Tensor:
        for part in self.parts:
            x = part(x)
        return x

    def _inverse(self, y: Tensor) -> Tensor:
        for part in reversed(self.parts):
            y = part.inv(y)
        return y

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        total: Any = 0.0
        for part in self.parts:
            after = part(x)
            term = part.log_abs_det_jacobian(x, after)
            total = total + sum_rightmost(term, self.event_dim - part.event_dim)
            x = after
        return total if isinstance(total, Tensor) else Tensor(torch.zeros_like(x._data))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    def __repr__(self) -> str:
        inner = ",\n    ".join(repr(part) for part in self.parts)
        return f"ComposeTransform(\n    {inner}\n)"


class ExpTransform(Transform):
    """y = e^x.   log |dy/dx| = x (dy/dx = e^x)."""

    codomain = constraints.positive
    sign = 1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExpTransform)

    def _call(self, x: Tensor) -> Tensor:
        return x.exp()

    def _inverse(self, y: Tensor) -> Tensor:
        return y.log()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return x


class AffineTransform(Transform):
    """y = loc + scale * x.   log |dy/dx| = log |scale|, summed over the event_dim rightmost
    dims (event_dim=1: x's last dim is one vector, moved as a whole)."""

    def __init__(
        self, loc: Tensor | float, scale: Tensor | float, event_dim: int = 0, cache_size: int = 0
    ) -> None:
        super().__init__(cache_size)
        self.loc, self.scale, self.event_dim = loc, scale, event_dim

    @property
    def sign(self) -> Any:
        """+1, -1 or 0, as scale's; a tensor of them for a tensor scale."""
        if isinstance(self.scale, Number):
            return 1 if float(self.scale) > 0 else -1 if float(self.scale) < 0 else 0
        return self.scale.sign()

    def _call(self, x: Tensor) -> Tensor:
        return self.loc + self.scale * x

    def _inverse(self, y: Tensor) -> Tensor:
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        scale = self.scale
        if isinstance(scale, Number):
            per_element = Tensor(torch.full_like(x._data, math.log(abs(scale))))
        else:
            per_element = scale.abs().log().expand(torch.broadcast_shapes(scale.shape, x.shape))
        return sum_rightmost(per_element, self.event_dim)

    def __eq__(self, other: object) -> bool:
        # the same map: loc and scale equal (numbers, or tensors equal everywhere); event_dim is
        # not compared, as torch's
        if not isinstance(other, AffineTransform):
            return False
        return _equal(self.loc, other.loc) and _equal(self.scale, other.scale)

    def __repr__(self) -> str:
        return f"AffineTransform(loc={self.loc}, scale={self.scale}, event_dim={self.event_dim})"


class SigmoidTransform(Transform):
    """y = sigmoid(x) = 1 / (1 + e^-x).   log |dy/dx| = log(y (1 - y)) = -softplus(-x) -
    softplus(x), written so that it stays finite where y rounds to 0 or 1."""

    codomain = constraints.unit_interval
    sign = 1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SigmoidTransform)

    def _call(self, x: Tensor) -> Tensor:
        return x.sigmoid()

    def _inverse(self, y: Tensor) -> Tensor:
        # logit, with y kept off 0 and 1 (as torch's): the log of 0 would be -inf
        info = torch.finfo(y.dtype)
        y = y.clamp(min=info.tiny, max=1.0 - info.eps)
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return -F.softplus(-x) - F.softplus(x)


class TanhTransform(Transform):
    """y = tanh x.   log |dy/dx| = log(1 - tanh^2 x) = 2 (log 2 - x - softplus(-2x)), written
    so that it stays finite where tanh x rounds to +-1. Its inverse is atanh(y) =
    (log(1 + y) - log(1 - y)) / 2; with cache_size=1 the x that made y comes back instead."""

    codomain = constraints.interval(-1.0, 1.0)
    sign = 1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TanhTransform)

    def _call(self, x: Tensor) -> Tensor:
        return x.tanh()

    def _inverse(self, y: Tensor) -> Tensor:
        return (y.log1p() - (-y).log1p()) * 0.5

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        return 2.0 * (math.log(2.0) - x - F.softplus(-2.0 * x))


def _equal(a: Any, b: Any) -> bool:
    """Whether two parameters are the same: numbers by value, tensors equal at every entry."""
    if isinstance(a, Number) and isinstance(b, Number):
        return a == b
    return bool((a == b).all())
