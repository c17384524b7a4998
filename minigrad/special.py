"""minigrad.special: torch.special's functions that have gradients, under torch's names.

Most are minigrad's ops or methods under another name (expit is sigmoid, gammaln is lgamma,
psi is digamma, exp2 is x.exp2(), multigammaln is x.mvlgamma(p)); erfc, ndtri and log_ndtr are
ops of their own (ops/unary.py), written so that they keep their digits in the tails; the rest
are short compositions:

    ndtr(x)            = erfc(-x / sqrt 2) / 2            the normal CDF, Phi(x)
    logit(p, eps)      = logit of p clamped to [eps, 1 - eps] (gradient 0 outside, as torch)

A torch.special name that is not here raises an AttributeError that says so.
"""

from __future__ import annotations

import math
from typing import Any

from . import ops
from .errors import missing_name_getattr as _missing_name_getattr
from .functions import xlogy  # noqa: F401  (x ln y, 0 where x = 0: torch.xlogy's function form)
from .tensor import Tensor

__all__ = [
    "digamma", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammaln", "log1p",
    "log_ndtr", "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri",
    "polygamma", "psi", "round", "sinc", "softmax", "xlogy",
]  # fmt: skip


def erf(input: Tensor) -> Tensor:
    return input.erf()


def erfc(input: Tensor) -> Tensor:
    return input.erfc()


def erfinv(input: Tensor) -> Tensor:
    return input.erfinv()


def expit(input: Tensor) -> Tensor:
    """1 / (1 + e^-x): the logistic sigmoid, SciPy's name."""
    return input.sigmoid()


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """ln(p / (1 - p)), the inverse of expit; with eps, p clamped to [eps, 1 - eps] first."""
    return input.logit(eps)


def gammaln(input: Tensor) -> Tensor:
    return input.lgamma()


def digamma(input: Tensor) -> Tensor:
    return input.digamma()


psi = digamma


def polygamma(n: int, input: Tensor) -> Tensor:
    return input.polygamma(n)


def multigammaln(input: Tensor, p: int) -> Tensor:
    """The log of the multivariate gamma function of dimension p: x.mvlgamma(p), which see."""
    if p < 1:
        raise RuntimeError(f"multigammaln: p must be at least 1 (the dimension), got {p}")
    return input.mvlgamma(p)


def ndtr(input: Tensor) -> Tensor:
    """Phi(x), the standard normal CDF: erfc(-x / sqrt 2) / 2, accurate in both tails."""
    return (input * -math.sqrt(0.5)).erfc() * 0.5


def ndtri(input: Tensor) -> Tensor:
    """Phi^-1(p), the quantile of the standard normal: the x with ndtr(x) = p."""
    return ops.Ndtri.apply(input)


def log_ndtr(input: Tensor) -> Tensor:
    """ln Phi(x), finite far in the left tail where Phi(x) underflows."""
    return ops.LogNdtr.apply(input)


def exp2(input: Tensor) -> Tensor:
    """2^x."""
    return input.exp2()


def expm1(input: Tensor) -> Tensor:
    return input.expm1()


def log1p(input: Tensor) -> Tensor:
    return input.log1p()


def sinc(input: Tensor) -> Tensor:
    return input.sinc()


def round(input: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001  (torch's name)
    return input.round(decimals=decimals)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    return input.logsumexp(dim, keepdim=keepdim)


def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    return input.softmax(dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    return input.log_softmax(dim, dtype=dtype)


# A torch.special name minigrad lacks (zeta, i0, the Bessel functions, ...) says so.
__getattr__ = _missing_name_getattr(__name__, "torch.special")
