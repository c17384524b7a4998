"""minigrad.distributions: torch.distributions' most used families, under torch's names.

Each distribution's log_prob, entropy, cdf, rsample and kl_divergence are written with
minigrad's ops, so backward() reaches their parameters: the score-function (REINFORCE) loss
-log_prob(action) * reward, a VAE's reparameterized sample and its KL term all train.

    distribution.py         the base class: batch_shape, event_shape, checks, sample/rsample
    constraints.py          the sets parameters and values must lie in (validate_args)
    normal.py, laplace.py, exponential.py, uniform.py     continuous numbers
    bernoulli.py, categorical.py                          coins and dice (and one-hot dice)
    multivariate_normal.py  Gaussians over vectors, through the Cholesky factor
    independent.py          batch dims read as event dims (a diagonal Gaussian)
    kl.py                   kl_divergence and register_kl
"""

from . import constraints
from .bernoulli import Bernoulli
from .categorical import Categorical, OneHotCategorical
from .distribution import Distribution
from .exponential import Exponential
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .uniform import Uniform

__all__ = [
    "Bernoulli",
    "Categorical",
    "constraints",
    "Distribution",
    "Exponential",
    "Independent",
    "kl_divergence",
    "Laplace",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "register_kl",
    "Uniform",
]
