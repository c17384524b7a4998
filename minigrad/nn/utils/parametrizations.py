"""Ready-made parametrizations (torch.nn.utils.parametrizations), registered with
parametrize.register_parametrization. Here: weight_norm, the parametrization form of
nn.utils.weight_norm (w = g * v / ||v||, the norm over every dimension but `dim`), whose g and
v are parametrizations.weight.original0 and original1; and spectral_norm, the parametrization
form of nn.utils.spectral_norm (w = original / sigma(original), its largest singular value
estimated by power iteration), whose u and v are the buffers parametrizations.weight.0._u and _v.
"""

from __future__ import annotations

from typing import TypeVar

from ...autograd.grad_mode import no_grad
from ...errors import missing_name_getattr as _missing_name_getattr
from ...tensor import Tensor
from .. import functional as F
from ..conv import _ConvTransposeNd
from ..modules import Module
from .parametrize import register_parametrization
from .spectral_norm import as_matrix
from .weight_norm import norm_except_dim

__all__ = ["spectral_norm", "weight_norm"]

ModuleT = TypeVar("ModuleT", bound=Module)


class _WeightNorm(Module):
    """forward(g, v) = g * v / ||v||; right_inverse(w) = (||w||, w), the norms over every
    dimension but `dim` (dim=None: the whole tensor's)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return norm_except_dim(weight, self.dim), weight


def weight_norm(module: ModuleT, name: str = "weight", dim: int | None = 0) -> ModuleT:
    """Weight normalization of module.<name> as a parametrization, as torch's: g and v train,
    at module.parametrizations.<name>.original0 and original1. Remove it with
    parametrize.remove_parametrizations(module, name). Returns the module. (The hook form's
    state_dict keys, weight_g and weight_v, are not converted on load as torch does.)"""
    register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    """forward(W) = W / sigma, sigma = u . (W v) estimated with the buffers u and v, which move
    one power-iteration step (n_power_iterations) towards W's top singular vectors per forward
    in training, outside the graph:

        u <- normalize(W v),   v <- normalize(W^T u)

    (W as a matrix: dim `dim` as its rows, the others flattened). A 1-d W is divided by its
    norm. right_inverse(W) = W: assigning a weight stores it as the original."""

    def __init__(
        self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        super().__init__()
        if not -max(weight.ndim, 1) <= dim < max(weight.ndim, 1):
            raise IndexError(  # (torch's type)
                f"spectral_norm: dim={dim} is out of range for a weight of shape "
                f"{tuple(weight.shape)}: dim names the matrix's rows, one of its {weight.ndim} dims"
            )
        if n_power_iterations <= 0:
            raise ValueError(
                "spectral_norm: n_power_iterations must be positive (the power-iteration steps "
                f"per forward), got {n_power_iterations}"
            )
        self.dim = dim % weight.ndim if weight.ndim else 0
        self.eps = eps
        if weight.ndim > 1:
            self.n_power_iterations = n_power_iterations
            matrix = as_matrix(weight, self.dim)
            with no_grad():  # drawn from N(0, 1) as torch draws them, then made unit vectors
                u = F.normalize(matrix.new_empty(matrix.shape[0]).normal_(0, 1), dim=0, eps=eps)
                v = F.normalize(matrix.new_empty(matrix.shape[1]).normal_(0, 1), dim=0, eps=eps)
            self.register_buffer("_u", u)
            self.register_buffer("_v", v)
            self._power_method(matrix, 15)  # a good start: 15 steps, as torch takes

    def _power_method(self, matrix: Tensor, steps: int) -> None:
        with no_grad():  # u and v are constants of the graph, updated in their buffers
            for _ in range(steps):
                self._u.copy_(F.normalize(matrix.mv(self._v), dim=0, eps=self.eps))
                self._v.copy_(F.normalize(matrix.t().mv(self._u), dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        matrix = as_matrix(weight, self.dim)
        if self.training:
            self._power_method(matrix, self.n_power_iterations)
        # copies: the next step in place must leave this graph's u and v alone
        u, v = self._u.clone(), self._v.clone()
        return weight / u.dot(matrix.mv(v))

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(
    module: ModuleT,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> ModuleT:
    """Spectral normalization of module.<name> as a parametrization, as torch's: the weight
    read is original / sigma(original), the original trains (at
    module.parametrizations.<name>.original), u and v are buffers of the parametrization. dim
    (the rows of the matrix) defaults to 1 for a ConvTranspose layer, else 0. Remove it with
    parametrize.remove_parametrizations(module, name). Returns the module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(
            f"spectral_norm: {type(module).__name__} has no parameter or buffer {name!r}; give "
            "the name of one it has (usually 'weight')."
        )
    if dim is None:
        dim = 1 if isinstance(module, _ConvTransposeNd) else 0
    register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


# A torch name minigrad lacks raises an AttributeError that says so.
__getattr__ = _missing_name_getattr(__name__, "torch.nn.utils.parametrizations")
