"""The sets a distribution's parameters and values must lie in, as far as validate_args needs.

Each constraint answers check(value) -> a bool torch tensor, True where the value is inside
the set. A constraint over events (event_dim > 0) answers once per event: a vector is on the
simplex or not, a matrix is positive-definite or not. These checks only read values, so they
work on the torch data under a minigrad Tensor and record nothing.
"""

from __future__ import annotations

from typing import Any

import torch


def _data(value: Any) -> torch.Tensor:
    """The torch tensor under a minigrad Tensor (or a number as a 0-d tensor)."""
    from ..tensor import unwrap

    return torch.as_tensor(unwrap(value))


class Constraint:
    """A set of values. event_dim: how many rightmost dims make one element of the set."""

    event_dim = 0
    is_discrete = False

    def check(self, value: Any) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__.lstrip("_") + "()"


class _Real(Constraint):
    """Every number except NaN."""

    def check(self, value: Any) -> torch.Tensor:
        x = _data(value)
        return x == x


class _RealVector(_Real):
    """Vectors of real numbers (no NaN in the event)."""

    event_dim = 1

    def check(self, value: Any) -> torch.Tensor:
        return super().check(value).all(-1)


class _GreaterThan(Constraint):
    """x > lower_bound (x >= lower_bound with or_equal)."""

    def __init__(self, lower_bound: Any, or_equal: bool = False) -> None:
        self.lower_bound = lower_bound
        self.or_equal = or_equal

    def check(self, value: Any) -> torch.Tensor:
        x, bound = _data(value), _data(self.lower_bound)
        return x >= bound if self.or_equal else x > bound

    def __repr__(self) -> str:
        name = "GreaterThanEq" if self.or_equal else "GreaterThan"
        return f"{name}(lower_bound={self.lower_bound})"


class _LessThan(Constraint):
    """x < upper_bound."""

    def __init__(self, upper_bound: Any) -> None:
        self.upper_bound = upper_bound

    def check(self, value: Any) -> torch.Tensor:
        return _data(value) < _data(self.upper_bound)

    def __repr__(self) -> str:
        return f"LessThan(upper_bound={self.upper_bound})"


class _Interval(Constraint):
    """lower_bound <= x <= upper_bound (x < upper_bound with half_open)."""

    def __init__(self, lower_bound: Any, upper_bound: Any, half_open: bool = False) -> None:
        self.lower_bound, self.upper_bound, self.half_open = lower_bound, upper_bound, half_open

    def check(self, value: Any) -> torch.Tensor:
        x, low, high = _data(value), _data(self.lower_bound), _data(self.upper_bound)
        return (low <= x) & (x < high if self.half_open else x <= high)

    def __repr__(self) -> str:
        name = "HalfOpenInterval" if self.half_open else "Interval"
        return f"{name}(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerInterval(_Interval):
    """Whole numbers from lower_bound to upper_bound, both included."""

    is_discrete = True

    def check(self, value: Any) -> torch.Tensor:
        return super().check(value) & (_data(value) % 1 == 0)

    def __repr__(self) -> str:
        return "Integer" + super().__repr__()


class _Boolean(Constraint):
    """The two values 0 and 1."""

    is_discrete = True

    def check(self, value: Any) -> torch.Tensor:
        x = _data(value)
        return (x == 0) | (x == 1)


class _OneHot(Constraint):
    """Vectors of 0s and 1s with exactly one 1."""

    is_discrete = True
    event_dim = 1

    def check(self, value: Any) -> torch.Tensor:
        x = _data(value)
        return ((x == 0) | (x == 1)).all(-1) & (x.sum(-1) == 1)


class _Simplex(Constraint):
    """Vectors of nonnegative numbers that sum to 1 (to within 1e-6, as torch allows)."""

    event_dim = 1

    def check(self, value: Any) -> torch.Tensor:
        x = _data(value)
        return (x >= 0).all(-1) & ((x.sum(-1) - 1).abs() < 1e-6)


class _LowerCholesky(Constraint):
    """Lower-triangular square matrices with a positive diagonal."""

    event_dim = 2

    def check(self, value: Any) -> torch.Tensor:
        x = _data(value)
        lower = (x.tril() == x).flatten(-2).all(-1)
        return lower & (x.diagonal(dim1=-2, dim2=-1) > 0).all(-1)


class _PositiveDefinite(Constraint):
    """Symmetric matrices whose Cholesky factorisation exists (all eigenvalues > 0)."""

    event_dim = 2

    def check(self, value: Any) -> torch.Tensor:
        x = _data(value)
        symmetric = torch.isclose(x, x.mT, atol=1e-6).flatten(-2).all(-1)
        if not symmetric.all():
            return symmetric
        return torch.linalg.cholesky_ex(x).info.eq(0)


class _IndependentConstraint(Constraint):
    """A base constraint over reinterpreted_batch_ndims more rightmost dims: all must hold."""

    def __init__(self, base: Constraint, reinterpreted_batch_ndims: int) -> None:
        self.base = base
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        self.event_dim = base.event_dim + reinterpreted_batch_ndims
        self.is_discrete = base.is_discrete

    def check(self, value: Any) -> torch.Tensor:
        result = self.base.check(value)
        if self.reinterpreted_batch_ndims:
            result = result.flatten(-self.reinterpreted_batch_ndims).all(-1)
        return result

    def __repr__(self) -> str:
        return f"IndependentConstraint({self.base}, {self.reinterpreted_batch_ndims})"


real = _Real()
real_vector = _RealVector()
positive = _GreaterThan(0.0)
nonnegative = _GreaterThan(0.0, or_equal=True)
unit_interval = _Interval(0.0, 1.0)
boolean = _Boolean()
one_hot = _OneHot()
simplex = _Simplex()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
greater_than = _GreaterThan
less_than = _LessThan
interval = _Interval
integer_interval = _IntegerInterval
independent = _IndependentConstraint
