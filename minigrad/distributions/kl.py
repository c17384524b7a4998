"""kl_divergence(p, q) = E_p[log p(x) - log q(x)], looked up by the pair of types (p, q).

register_kl(P, Q) files a function under the pair; kl_divergence finds the most specific pair
that p's and q's types are subclasses of (as Python picks a method: nearest class first), so a
subclass of Normal uses Normal's formula until it registers its own.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import torch

from ..creation import where
from ..nn.functional import softplus
from ..tensor import Tensor
from .bernoulli import Bernoulli
from .beta import Beta
from .categorical import Categorical, OneHotCategorical
from .dirichlet import Dirichlet
from .distribution import Distribution, raw, sum_rightmost
from .exponential import Exponential
from .gamma import Gamma
from .independent import Independent
from .laplace import Laplace
from .multivariate_normal import MultivariateNormal, half_log_det, mahalanobis_squared, solve_lower
from .normal import Normal
from .poisson import Poisson
from .uniform import Uniform

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY: dict[tuple[type, type], Callable[[Any, Any], Tensor]] = {}


def register_kl(type_p: type, type_q: type) -> Callable[[Callable], Callable]:
    """Decorator: @register_kl(Normal, Normal) files the function as KL(Normal || Normal)."""
    for name, kind in (("type_p", type_p), ("type_q", type_q)):
        if not (isinstance(kind, type) and issubclass(kind, Distribution)):
            raise TypeError(f"Expected {name} to be a Distribution subclass but got {kind}")

    def decorator(function: Callable) -> Callable:
        _KL_REGISTRY[type_p, type_q] = function
        return function

    return decorator


def _lookup(type_p: type, type_q: type) -> Callable | None:
    """The registered function for the nearest pair of base classes (p's nearest first, then
    q's); None if no registered pair matches. Warns when reading q first would pick another."""
    matches = [(p, q) for p, q in _KL_REGISTRY if issubclass(type_p, p) and issubclass(type_q, q)]
    if not matches:
        return None
    mro_p, mro_q = type_p.__mro__, type_q.__mro__
    left = min(matches, key=lambda m: (mro_p.index(m[0]), mro_q.index(m[1])))
    right = min(matches, key=lambda m: (mro_q.index(m[1]), mro_p.index(m[0])))
    if _KL_REGISTRY[left] is not _KL_REGISTRY[right]:
        warnings.warn(
            f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). "
            f"Please register_kl({left[0].__name__}, {right[1].__name__})",
            RuntimeWarning,
            stacklevel=3,
        )
    return _KL_REGISTRY[left]


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q), one value per distribution of the batch (shape: batch_shape)."""
    function = _lookup(type(p), type(q))
    if function is None:
        raise NotImplementedError(
            f"No KL(p || q) is implemented for p type {type(p).__name__} and q type "
            f"{type(q).__name__}. Write one and file it with @register_kl"
            f"({type(p).__name__}, {type(q).__name__})."
        )
    return function(p, q)


def _set_where(value: Tensor, condition: torch.Tensor, fill: float) -> Tensor:
    """value with `fill` where condition holds (no gradient reaches value there)."""
    return where(Tensor(condition.expand(value.shape)), fill, value)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    """p log(p/q) + (1-p) log((1-p)/(1-q)), with log p = -softplus(-logit) and
    log(1 - p) = -softplus(logit); infinite where q gives no mass to what p can draw."""
    ones = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    ones = _set_where(_set_where(ones, raw(q.probs) == 0, math.inf), raw(p.probs) == 0, 0.0)
    zeros = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    zeros = _set_where(_set_where(zeros, raw(q.probs) == 1, math.inf), raw(p.probs) == 1, 0.0)
    return ones + zeros


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    """sum_k p_k (log p_k - log q_k): infinite where q_k = 0 < p_k, and 0 * log 0 = 0."""
    terms = p.probs * (p.logits - q.logits)
    terms = _set_where(terms, raw(q.probs) == 0, math.inf)
    terms = _set_where(terms, raw(p.probs) == 0, 0.0)
    return terms.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehotcategorical_onehotcategorical(p: OneHotCategorical, q: OneHotCategorical) -> Tensor:
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    """1/2 (r + ((mu_p - mu_q) / s_q)^2 - 1 - log r), with r = (s_p / s_q)^2."""
    variance_ratio = (p.scale / q.scale).pow(2)
    shift = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (variance_ratio + shift - 1 - variance_ratio.log())


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> Tensor:
    """log((high_q - low_q) / (high_p - low_p)); infinite unless q's interval covers p's."""
    result = ((q.high - q.low) / (p.high - p.low)).log()
    uncovered = (raw(q.low) > raw(p.low)) | (raw(q.high) < raw(p.high))
    return _set_where(result, uncovered, math.inf)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p: Exponential, q: Exponential) -> Tensor:
    """r - 1 - log r, with r = rate_q / rate_p."""
    rate_ratio = q.rate / p.rate
    return -rate_ratio.log() + rate_ratio - 1


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p: Laplace, q: Laplace) -> Tensor:
    """-log(s_p / s_q) + |mu_p - mu_q| / s_q + (s_p / s_q) exp(-|mu_p - mu_q| / s_p) - 1."""
    scale_ratio = p.scale / q.scale
    distance = (p.loc - q.loc).abs()
    return -scale_ratio.log() + distance / q.scale + scale_ratio * (-distance / p.scale).exp() - 1


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_multivariatenormal_multivariatenormal(
    p: MultivariateNormal, q: MultivariateNormal
) -> Tensor:
    """1/2 (tr(Sigma_q^-1 Sigma_p) + d^T Sigma_q^-1 d - n + log det Sigma_q - log det Sigma_p),
    d = mu_q - mu_p. With Sigma = L L^T, the trace is |L_q^-1 L_p|^2 (every entry squared)."""
    if p.event_shape != q.event_shape:
        raise ValueError(
            "KL-divergence between two Multivariate Normals with different event shapes "
            f"cannot be computed: {tuple(p.event_shape)} vs {tuple(q.event_shape)}"
        )
    p_tril, q_tril = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    n = p.event_shape[0]
    log_det_term = half_log_det(q_tril) - half_log_det(p_tril)
    trace = solve_lower(q_tril, p_tril).pow(2).flatten(-2).sum(-1)
    distance = mahalanobis_squared(q_tril, q.loc - p.loc)
    return log_det_term + 0.5 * (trace + distance - n)


@register_kl(Independent, Independent)
def _kl_independent_independent(p: Independent, q: Independent) -> Tensor:
    """The base distributions' KL, summed over the reinterpreted dims."""
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError(
            "kl_divergence of two Independent distributions needs the same "
            f"reinterpreted_batch_ndims, got {p.reinterpreted_batch_ndims} and "
            f"{q.reinterpreted_batch_ndims}"
        )
    result = kl_divergence(p.base_dist, q.base_dist)
    return sum_rightmost(result, p.reinterpreted_batch_ndims)


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p: Gamma, q: Gamma) -> Tensor:
    """a_q log(rate_p / rate_q) + lgamma(a_q) - lgamma(a_p) + (a_p - a_q) digamma(a_p)
    + (rate_q - rate_p) a_p / rate_p."""
    a_p, a_q = p.concentration, q.concentration
    return (
        a_q * (p.rate / q.rate).log()
        + a_q.lgamma()
        - a_p.lgamma()
        + (a_p - a_q) * a_p.digamma()
        + (q.rate - p.rate) * (a_p / p.rate)
    )


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p: Dirichlet, q: Dirichlet) -> Tensor:
    """lgamma(a0_p) - lgamma(a0_q) - sum (lgamma(a_p) - lgamma(a_q))
    + sum (a_p - a_q)(digamma(a_p) - digamma(a0_p)), a0 the sum of a's entries."""
    a_p, a_q = p.concentration, q.concentration
    sum_p, sum_q = a_p.sum(-1), a_q.sum(-1)
    log_norms = sum_p.lgamma() - sum_q.lgamma() - (a_p.lgamma() - a_q.lgamma()).sum(-1)
    expected_logs = a_p.digamma() - sum_p.digamma().unsqueeze(-1)
    return log_norms + ((a_p - a_q) * expected_logs).sum(-1)


@register_kl(Beta, Beta)
def _kl_beta_beta(p: Beta, q: Beta) -> Tensor:
    """The two-entry Dirichlets' KL: Beta(a, b) is Dirichlet((a, b)) read at its first entry."""
    return _kl_dirichlet_dirichlet(p._dirichlet, q._dirichlet)


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p: Poisson, q: Poisson) -> Tensor:
    """rate_p (log rate_p - log rate_q) - (rate_p - rate_q)."""
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)
