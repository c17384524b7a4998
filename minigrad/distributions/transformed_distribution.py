"""TransformedDistribution(base, transforms): y = f_n(...f_1(x)) for x ~ base.

A draw is the base's draw sent through the transforms; a score undoes them one by one, each
taking off its log |dy/dx| (transforms.py's change of variables):

    log p(y) = log p_base(x) - sum_i log |df_i/dx_i|,   x = f_1^-1(...f_n^-1(y))
"""

from __future__ import annotations

from typing import Any

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, as_size, sum_rightmost
from .transforms import ComposeTransform, Transform


class TransformedDistribution(Distribution):
    """The base distribution's draws sent through `transforms` (a Transform or a list of them,
    applied in order). rsample is differentiable when the base's is (a tanh-squashed Normal's
    actions, a flow's samples)."""

    arg_constraints: dict[str, constraints.Constraint] = {}

    def __init__(
        self, base_distribution: Distribution, transforms: Any, validate_args: bool | None = None
    ) -> None:
        if isinstance(transforms, Transform):
            transforms = [transforms]
        elif not isinstance(transforms, list) or not all(
            isinstance(t, Transform) for t in transforms
        ):
            raise ValueError(
                "transforms must be a Transform or a list of Transforms, got "
                f"{type(transforms).__name__}"
            )
        self.base_dist, self.transforms = base_distribution, transforms
        shape = base_distribution.batch_shape + base_distribution.event_shape
        event_dim = max([len(base_distribution.event_shape)] + [t.event_dim for t in transforms])
        for transform in transforms:
            shape = transform.forward_shape(shape)
        cut = len(shape) - event_dim
        super().__init__(shape[:cut], shape[cut:], validate_args=validate_args)

    @property
    def has_rsample(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_rsample

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]
        if not self.transforms:
            return self.base_dist.support
        codomain = self.transforms[-1].codomain
        more = len(self.event_shape) - codomain.event_dim
        return constraints.independent(codomain, more) if more > 0 else codomain

    def expand(self, batch_shape: Any, _instance: Any = None) -> TransformedDistribution:
        batch_shape = as_size(batch_shape)
        new = self._new_instance(batch_shape, self.event_shape)
        base_batch = batch_shape + self.event_shape
        cut = len(base_batch) - len(self.base_dist.event_shape)
        new.base_dist = self.base_dist.expand(base_batch[:cut])
        new.transforms = self.transforms
        return new

    def sample(self, sample_shape: Any = ()) -> Tensor:
        with no_grad():
            x = self.base_dist.sample(sample_shape)
            for transform in self.transforms:
                x = transform(x)
        return x

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        x = self.base_dist.rsample(sample_shape)
        for transform in self.transforms:
            x = transform(x)
        return x

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        event_dim = len(self.event_shape)
        log_prob: Any = 0.0
        y = value
        for transform in reversed(self.transforms):
            x = transform.inv(y)
            term = transform.log_abs_det_jacobian(x, y)
            log_prob = log_prob - sum_rightmost(term, event_dim - transform.event_dim)
            y = x
        base = self.base_dist.log_prob(y)
        return log_prob + sum_rightmost(base, event_dim - len(self.base_dist.event_shape))

    def _monotone(self) -> ComposeTransform:
        """The transforms as one, for cdf and icdf, which need numbers in and out."""
        if self.event_shape:
            raise NotImplementedError("cdf and icdf are defined for distributions over numbers")
        return ComposeTransform(self.transforms)

    @staticmethod
    def _flipped(probability: Any, sign: Any) -> Any:
        """P(X <= x) as P(Y <= y): the same where the transforms increase, 1 - it where they
        decrease (sign -1)."""
        if isinstance(sign, int) and sign == 1:
            return probability
        return sign * (probability - 0.5) + 0.5

    def cdf(self, value: Tensor) -> Tensor:
        whole = self._monotone()
        return self._flipped(self.base_dist.cdf(whole.inv(value)), whole.sign)

    def icdf(self, value: Tensor) -> Tensor:
        whole = self._monotone()
        return whole(self.base_dist.icdf(self._flipped(value, whole.sign)))

    def __repr__(self) -> str:
        return f"TransformedDistribution({self.base_dist!r}, {self.transforms!r})"
