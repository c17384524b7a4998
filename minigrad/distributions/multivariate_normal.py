"""MultivariateNormal(loc, covariance_matrix | precision_matrix | scale_tril): the Gaussian
over n-vectors.

Everything is computed from L, the lower-triangular Cholesky factor of the covariance
(Sigma = L L^T), whichever of the three matrices was given:

    log_prob(x) = -1/2 (n log(2 pi) + |L^-1 (x - loc)|^2) - sum_i log L_ii
    entropy     = n/2 (1 + log(2 pi)) + sum_i log L_ii
    rsample     = loc + L eps, eps ~ N(0, I_n)

|L^-1 d|^2 is d^T Sigma^-1 d (the squared Mahalanobis distance), and sum_i log L_ii is
1/2 log det Sigma. A triangular solve's gradient only reaches L's lower triangle (its upper
triangle holds no parameter), so the solves here read L through lower_triangle().
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Any

import torch

from .. import linalg
from ..creation import eye
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, as_size, wrap


def lower_triangle(L: Tensor) -> Tensor:  # noqa: N803  (the maths' names)
    """L with its entries above the diagonal zeroed (as L.tril(), by a mask of row >= column:
    torch's tril kernel is slow on tiny matrices when its threads wait for a busy CPU)."""
    index = torch.arange(L.shape[-1], device=L.device)
    return L * Tensor((index[:, None] >= index).to(L.dtype))


def solve_lower(L: Tensor, B: Tensor) -> Tensor:  # noqa: N803
    """X with L X = B, for lower-triangular L (batches broadcast)."""
    shape = torch.broadcast_shapes(L.shape[:-2], B.shape[:-2])
    L = lower_triangle(L).expand(shape + L.shape[-2:])
    return linalg.solve(L, B.expand(shape + B.shape[-2:]))


def mahalanobis_squared(L: Tensor, diff: Tensor) -> Tensor:  # noqa: N803
    """|L^-1 diff|^2 over the last dim: diff^T (L L^T)^-1 diff, for a batch of vectors."""
    return solve_lower(L, diff.unsqueeze(-1)).squeeze(-1).pow(2).sum(-1)


def half_log_det(L: Tensor) -> Tensor:  # noqa: N803
    """1/2 log det(L L^T) = sum_i log L_ii."""
    return L.diagonal(dim1=-2, dim2=-1).log().sum(-1)


def precision_to_scale_tril(P: Tensor) -> Tensor:  # noqa: N803
    """The lower Cholesky factor L of P^-1, without inverting P first.

    With J the exchange matrix (flip both dims), chol(J P J) = Lf gives P = (J Lf J)(J Lf J)^T,
    and J Lf J is upper triangular, so its transpose U^T is lower and Sigma = P^-1 = L L^T with
    L = (J Lf J)^-T: one more triangular solve against the identity."""
    flipped = linalg.cholesky(P.flip(-2, -1))
    inverse_tril = flipped.flip(-2, -1).mT
    identity = eye(P.shape[-1], dtype=P.dtype, device=P.device)
    return solve_lower(inverse_tril, identity)


class MultivariateNormal(Distribution):
    """Gaussians over n-vectors: loc of shape batch + (n,), and one (batch of) n x n matrix."""

    arg_constraints = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(
        self,
        loc: Tensor,
        covariance_matrix: Tensor | None = None,
        precision_matrix: Tensor | None = None,
        scale_tril: Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = {
            "covariance_matrix": covariance_matrix,
            "precision_matrix": precision_matrix,
            "scale_tril": scale_tril,
        }
        given = {name: matrix for name, matrix in given.items() if matrix is not None}
        if len(given) != 1:
            raise ValueError(
                "Exactly one of covariance_matrix or precision_matrix or scale_tril may be "
                "specified."
            )
        ((name, matrix),) = given.items()
        if matrix.ndim < 2:
            raise ValueError(
                f"{name} matrix must be at least two-dimensional, "
                "with optional leading batch dimensions"
            )
        batch_shape = torch.broadcast_shapes(matrix.shape[:-2], loc.shape[:-1])
        setattr(self, name, matrix.expand(batch_shape + (-1, -1)))
        self.loc = loc.expand(batch_shape + (-1,))
        super().__init__(batch_shape, self.loc.shape[-1:], validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = linalg.cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = precision_to_scale_tril(matrix)

    def expand(self, batch_shape: Any, _instance: Any = None) -> MultivariateNormal:
        batch_shape = as_size(batch_shape)
        new = self._new_instance(batch_shape, self.event_shape)
        matrix_shape = batch_shape + self.event_shape + self.event_shape
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(matrix_shape))
        return new

    def _matrix_shape(self) -> torch.Size:
        return self._batch_shape + self._event_shape + self._event_shape

    @cached_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @cached_property
    def covariance_matrix(self) -> Tensor:
        L = self._unbroadcasted_scale_tril  # noqa: N806
        return (L @ L.mT).expand(self._matrix_shape())

    @cached_property
    def precision_matrix(self) -> Tensor:
        """Sigma^-1 = (L L^T)^-1."""
        L = self._unbroadcasted_scale_tril  # noqa: N806
        return linalg.inv(L @ L.mT).expand(self._matrix_shape())

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        """Sigma's diagonal: the squared lengths of L's rows."""
        variance = self._unbroadcasted_scale_tril.pow(2).sum(-1)
        return variance.expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = torch.empty(shape, dtype=self.loc.dtype, device=self.loc.device).normal_()
        noise = (self._unbroadcasted_scale_tril @ wrap(eps).unsqueeze(-1)).squeeze(-1)
        return self.loc + noise

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        L = self._unbroadcasted_scale_tril  # noqa: N806
        distance = mahalanobis_squared(L, value - self.loc)
        n = self._event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + distance) - half_log_det(L)

    def entropy(self) -> Tensor:
        n = self._event_shape[0]
        entropy = 0.5 * n * (1.0 + math.log(2 * math.pi)) + half_log_det(
            self._unbroadcasted_scale_tril
        )
        return entropy if len(self._batch_shape) == 0 else entropy.expand(self._batch_shape)
