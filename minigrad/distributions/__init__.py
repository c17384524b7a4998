"""minigrad.distributions: torch.distributions' most used families, under torch's names.

Each distribution's log_prob, entropy, cdf, rsample and kl_divergence are written with
minigrad's ops, so backward() reaches their parameters: the score-function (REINFORCE) loss
-log_prob(action) * reward, a VAE's reparameterized sample and its KL term all train.

    distribution.py         the base class: batch_shape, event_shape, checks, sample/rsample
    constraints.py          the sets parameters and values must lie in (validate_args)
    normal.py, laplace.py, exponential.py, uniform.py     continuous numbers
    studentT.py             the t distribution (heavier tails than the Normal's)
    bernoulli.py, categorical.py                          coins and dice (and one-hot dice)
    gamma.py, log_normal.py, beta.py                      positive numbers, numbers in [0, 1]
    poisson.py, geometric.py, binomial.py                 counts
    dirichlet.py            probability vectors
    multivariate_normal.py  Gaussians over vectors, through the Cholesky factor
    independent.py          batch dims read as event dims (a diagonal Gaussian)
    transforms.py           invertible maps (exp, affine, sigmoid, tanh) and their log |dy/dx|
    transformed_distribution.py   a base distribution's draws sent through transforms
    kl.py                   kl_divergence and register_kl
"""

from . import constraints
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical, OneHotCategorical
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .log_normal import LogNormal
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .poisson import Poisson
from .studentT import StudentT
from .transformed_distribution import TransformedDistribution
from .transforms import (
    AffineTransform,
    ComposeTransform,
    ExpTransform,
    SigmoidTransform,
    TanhTransform,
    Transform,
)
from .uniform import Uniform

__all__ = [
    "AffineTransform",
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "ComposeTransform",
    "constraints",
    "Dirichlet",
    "Distribution",
    "Exponential",
    "ExpTransform",
    "Gamma",
    "Geometric",
    "Independent",
    "kl_divergence",
    "Laplace",
    "LogNormal",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "Poisson",
    "register_kl",
    "SigmoidTransform",
    "StudentT",
    "TanhTransform",
    "Transform",
    "TransformedDistribution",
    "Uniform",
]
