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
from .binomial import Binomial
from .categorical import Categorical, OneHotCategorical
from .dirichlet import Dirichlet
from .distribution import Distribution, raw, sum_rightmost
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .independent import Independent
from .laplace import Laplace
from .multivariate_normal import MultivariateNormal, half_log_det, mahalanobis_squared, solve_lower
from .normal import Normal
from .poisson import Poisson
from .transformed_distribution import TransformedDistribution
from .uniform import Uniform

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY: dict[tuple[type, type], Callable[[Any, Any], Tensor]] = {}

EULER_GAMMA = 0.57721566490153286061  # -digamma(1): E[log x] = -EULER_GAMMA for x ~ Exponential(1)


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


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p: Binomial, q: Binomial) -> Tensor:
    """n (p log(p/q) + (1-p) log((1-p)/(1-q))) = n (p (logit_p - logit_q) + log(1-p) - log(1-q))
    for n = p.total_count: n independent coins' KL. Infinite where p.total_count is greater
    (q cannot reach p's top counts); refused where it is smaller (no closed form), as torch's."""
    if bool((raw(p.total_count) < raw(q.total_count)).any()):
        raise NotImplementedError(
            "kl_divergence(p, q) of two Binomials is implemented only where p.total_count >= "
            "q.total_count (where it is greater, the KL is inf); here q.total_count is greater "
            f"somewhere: p.total_count = {raw(p.total_count).tolist()}, q.total_count = "
            f"{raw(q.total_count).tolist()}."
        )
    coins = p.probs * (p.logits - q.logits) + (-p.probs).log1p() - (-q.probs).log1p()
    return _set_where(p.total_count * coins, raw(p.total_count) > raw(q.total_count), math.inf)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p: Geometric, q: Geometric) -> Tensor:
    """-H(p) - log q - E_p[k] log(1 - q), with E_p[k] = 1/p - 1 failures before the success."""
    return -p.entropy() - q.probs.log() - (1 / p.probs - 1) * (-q.probs).log1p()


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p: TransformedDistribution, q: TransformedDistribution) -> Tensor:
    """KL(base_p || base_q), summed over the event dims the transforms add: sending both
    distributions' draws through the same invertible map leaves their KL as it was."""
    if p.transforms != q.transforms:
        raise NotImplementedError(
            "kl_divergence(p, q) of two TransformedDistributions needs the same transforms "
            f"(equal by ==), got {p.transforms} and {q.transforms}"
        )
    if p.event_shape != q.event_shape:
        raise NotImplementedError(
            "kl_divergence(p, q) of two TransformedDistributions needs the same event_shape, got "
            f"{tuple(p.event_shape)} and {tuple(q.event_shape)}"
        )
    added = len(p.event_shape) - len(p.base_dist.event_shape)
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), added)


# ---- across families: KL(p || q) = E_p[-log q(x)] - H(p), a cross-entropy less p's entropy ----


def _normal_cross_entropy(q: Normal, mean: Tensor, variance: Tensor) -> Tensor:
    """E_p[-log q(x)] for a Normal q, from p's mean and variance alone:
    log(s sqrt(2 pi)) + (variance + (mean - mu)^2) / (2 s^2)."""
    spread = variance + (mean - q.loc).pow(2)
    return 0.5 * math.log(2 * math.pi) + q.scale.log() + spread / (2 * q.scale.pow(2))


def _exponential_cross_entropy(q: Exponential, mean: Tensor) -> Tensor:
    """E_p[-log q(x)] for an Exponential q: rate E_p[x] - log rate."""
    return q.rate * mean - q.rate.log()


def _gamma_cross_entropy(q: Gamma, mean: Tensor, mean_log: Tensor) -> Tensor:
    """E_p[-log q(x)] for a Gamma q (shape k, rate r), from E_p[x] and E_p[log x]:
    lgamma(k) - k log r - (k - 1) E_p[log x] + r E_p[x]."""
    k, rate = q.concentration, q.rate
    return k.lgamma() - k * rate.log() - (k - 1) * mean_log + rate * mean


def _beta_mean_log(p: Beta) -> Tensor:
    """E[log x] for x ~ Beta(a, b): digamma(a) - digamma(a + b)."""
    a, b = p.concentration1, p.concentration0
    return a.digamma() - (a + b).digamma()


def _uniform_mean_log(low: Tensor, high: Tensor) -> Tensor:
    """E[log x] for x uniform on [low, high] (0 <= low): (high log high - low log low) /
    (high - low) - 1, with 0 log 0 = 0 (xlogy) so that low = 0 is allowed."""
    return (high.xlogy(high) - low.xlogy(low)) / (high - low) - 1


def _stand_in(value: Tensor, outside: torch.Tensor, harmless: float) -> Tensor:
    """value with `harmless` where outside holds: the entries whose KL is set to inf go
    through log with a number it takes, so their gradient is 0, not 0 * nan."""
    return where(Tensor(outside.expand(value.shape)), harmless, value)


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p: Bernoulli, q: Poisson) -> Tensor:
    """-H(p) - (p log rate - rate): log q(x) = x log rate - rate at x = 0, 1 (log 0! = log 1! = 0).
    p log rate is xlogy's, 0 at p = 0 even where rate = 0."""
    return -p.entropy() - (p.probs.xlogy(q.rate) - q.rate)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p: Beta, q: Exponential) -> Tensor:
    """-H(p) + rate a / (a + b) - log rate."""
    return -p.entropy() + _exponential_cross_entropy(q, p.mean)


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p: Beta, q: Gamma) -> Tensor:
    """-H(p) + lgamma(k) - k log r - (k - 1) (digamma(a) - digamma(a + b)) + r a / (a + b)."""
    return -p.entropy() + _gamma_cross_entropy(q, p.mean, _beta_mean_log(p))


@register_kl(Beta, Normal)
def _kl_beta_normal(p: Beta, q: Normal) -> Tensor:
    """-H(p) + log(s sqrt(2 pi)) + (Var_p + (E_p[x] - mu)^2) / (2 s^2)."""
    return -p.entropy() + _normal_cross_entropy(q, p.mean, p.variance)


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p: Beta, q: Uniform) -> Tensor:
    """-H(p) + log(high - low); inf unless [low, high] covers [0, 1]."""
    result = -p.entropy() + (q.high - q.low).log()
    return _set_where(result, (raw(q.low) > 0) | (raw(q.high) < 1), math.inf)


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p: Exponential, q: Gamma) -> Tensor:
    """-H(p) + lgamma(k) - k log r - (k - 1) E_p[log x] + r / lambda, where -H(p) = log lambda - 1
    and E_p[log x] = -EULER_GAMMA - log lambda."""
    mean_log = -EULER_GAMMA - p.rate.log()
    return -p.entropy() + _gamma_cross_entropy(q, p.mean, mean_log)


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p: Exponential, q: Normal) -> Tensor:
    """log lambda - 1 + log(s sqrt(2 pi)) + (1 / lambda^2 + (1 / lambda - mu)^2) / (2 s^2)."""
    return -p.entropy() + _normal_cross_entropy(q, p.mean, p.variance)


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p: Gamma, q: Exponential) -> Tensor:
    """-H(p) + rate_q k / rate_p - log rate_q."""
    return -p.entropy() + _exponential_cross_entropy(q, p.mean)


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p: Gamma, q: Normal) -> Tensor:
    """-H(p) + log(s sqrt(2 pi)) + (k / r^2 + (k / r - mu)^2) / (2 s^2)."""
    return -p.entropy() + _normal_cross_entropy(q, p.mean, p.variance)


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p: Laplace, q: Normal) -> Tensor:
    """-1 - log(2 b) + log(s sqrt(2 pi)) + (2 b^2 + (m - mu)^2) / (2 s^2), p = Laplace(m, b)."""
    return -p.entropy() + _normal_cross_entropy(q, p.mean, p.variance)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p: Normal, q: Laplace) -> Tensor:
    """-H(p) + log(2 b) + E_p|x - m| / b, for q = Laplace(m, b) and d = mu - m:
    E_p|x - m| = s sqrt(2 / pi) exp(-d^2 / (2 s^2)) + d erf(d / (s sqrt 2))."""
    d = p.loc - q.loc
    mean_distance = (
        p.scale * math.sqrt(2 / math.pi) * (-0.5 * (d / p.scale).pow(2)).exp()
        + d * (d / (p.scale * math.sqrt(2))).erf()
    )
    return -p.entropy() + (2 * q.scale).log() + mean_distance / q.scale


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p: Uniform, q: Beta) -> Tensor:
    """-log(high - low) + log B(a, b) - (a - 1) E_p[log x] - (b - 1) E_p[log(1 - x)], with
    B(a, b) = Gamma(a) Gamma(b) / Gamma(a + b); inf unless 0 <= low and high <= 1."""
    outside = (raw(p.low) < 0) | (raw(p.high) > 1)
    low, high = _stand_in(p.low, outside, 0.25), _stand_in(p.high, outside, 0.75)
    a, b = q.concentration1, q.concentration0
    log_beta = a.lgamma() + b.lgamma() - (a + b).lgamma()
    cross_entropy = (
        log_beta
        - (a - 1) * _uniform_mean_log(low, high)
        - (b - 1) * _uniform_mean_log(1 - high, 1 - low)  # 1 - x is uniform on [1-high, 1-low]
    )
    return _set_where(-p.entropy() + cross_entropy, outside, math.inf)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p: Uniform, q: Exponential) -> Tensor:
    """-log(high - low) + rate (low + high) / 2 - log rate; inf where low < 0."""
    result = -p.entropy() + _exponential_cross_entropy(q, p.mean)
    return _set_where(result, raw(p.low) < 0, math.inf)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p: Uniform, q: Gamma) -> Tensor:
    """-log(high - low) + lgamma(k) - k log r - (k - 1) E_p[log x] + r (low + high) / 2;
    inf where low < 0."""
    outside = raw(p.low) < 0
    low, high = _stand_in(p.low, outside, 1.0), _stand_in(p.high, outside, 2.0)
    result = -p.entropy() + _gamma_cross_entropy(q, p.mean, _uniform_mean_log(low, high))
    return _set_where(result, outside, math.inf)


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p: Uniform, q: Normal) -> Tensor:
    """-log(high - low) + log(s sqrt(2 pi)) + ((high - low)^2 / 12 + ((low + high) / 2 - mu)^2)
    / (2 s^2)."""
    return -p.entropy() + _normal_cross_entropy(q, p.mean, p.variance)


# ---- infinite whatever the parameters: q gives no density to part of where p's mass lies ----


def _infinite(p: Distribution, q: Distribution, like: Tensor) -> Tensor:
    """inf for each pair of the batch (p's and q's batch shapes broadcast), in like's dtype and
    device. No graph behind it, as torch's: it does not change as the parameters move."""
    shape = torch.broadcast_shapes(p.batch_shape, q.batch_shape)
    return Tensor(torch.full(shape, math.inf, dtype=like.dtype, device=like.device))


@register_kl(Exponential, Beta)
@register_kl(Exponential, Uniform)
def _kl_exponential_bounded(p: Exponential, q: Distribution) -> Tensor:
    """inf: p has mass above any bound, where q (on [0, 1], or on [low, high]) has none."""
    return _infinite(p, q, p.rate)


@register_kl(Gamma, Beta)
@register_kl(Gamma, Uniform)
def _kl_gamma_bounded(p: Gamma, q: Distribution) -> Tensor:
    """inf: p has mass above any bound, where q (on [0, 1], or on [low, high]) has none."""
    return _infinite(p, q, p.concentration)


@register_kl(Laplace, Beta)
@register_kl(Laplace, Exponential)
@register_kl(Laplace, Gamma)
@register_kl(Laplace, Uniform)
@register_kl(Normal, Beta)
@register_kl(Normal, Exponential)
@register_kl(Normal, Gamma)
@register_kl(Normal, Uniform)
def _kl_whole_line_partial_support(p: Laplace | Normal, q: Distribution) -> Tensor:
    """inf: p has mass on every interval of the real line, q none below 0 (or outside
    [low, high])."""
    return _infinite(p, q, p.loc)


@register_kl(Poisson, Bernoulli)
@register_kl(Poisson, Binomial)
def _kl_poisson_bounded(p: Poisson, q: Distribution) -> Tensor:
    """inf: p gives mass to every count, q none above 1 (or total_count). Even at rate = 0,
    where p is all at 0, as torch's."""
    return _infinite(p, q, p.rate)
