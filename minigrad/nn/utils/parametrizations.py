"""Ready-made parametrizations (torch.nn.utils.parametrizations), registered with
parametrize.register_parametrization. Here: weight_norm, the parametrization form of
nn.utils.weight_norm (w = g * v / ||v||, the norm over every dimension but `dim`), whose g and
v are parametrizations.weight.original0 and original1; spectral_norm, the parametrization
form of nn.utils.spectral_norm (w = original / sigma(original), its largest singular value
estimated by power iteration), whose u and v are the buffers parametrizations.weight.0._u and _v;
and orthogonal, a weight with orthonormal columns (or rows) made from an unconstrained one.
"""

from __future__ import annotations

from typing import TypeVar

import torch

from ...autograd.grad_mode import no_grad
from ...creation import cat, eye
from ...errors import missing_name_getattr as _missing_name_getattr
from ...tensor import Tensor
from .. import functional as F
from ..conv import _ConvTransposeNd
from ..modules import Module
from .parametrize import register_parametrization
from .spectral_norm import as_matrix
from .weight_norm import norm_except_dim

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]

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


_MAPS = ("matrix_exp", "cayley", "householder")


class _Orthogonal(Module):
    """forward(X) = Q, a matrix with orthonormal columns (rows, for a wide X: it works on X^T),
    built from the unconstrained X by `orthogonal_map`:

        matrix_exp:   Q = e^A, first k columns,  A = L - L^T, L the lower triangle of X
        cayley:       Q = (I - A/2)^-1 (I + A/2), first k columns (A as above)
        householder:  Q = H_1 H_2 ... H_k, first k columns, H_i = I - tau_i v_i v_i^T, v_i the
                      i-th column of X below its diagonal (1 on it), tau_i = 2 / |v_i|^2

    A is skew-symmetric (A^T = -A), so e^A and the Cayley map are rotations, and each H_i is a
    reflection. With use_trivialization (the default), Q is taken relative to `base`, the
    orthogonal matrix the weight was when assigned: Q = base @ Q(X), and X starts at -I, which
    gives Q(X) = I (the weight unchanged). Training then moves X freely."""

    def __init__(
        self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True
    ) -> None:
        super().__init__()
        self.shape, self.orthogonal_map = tuple(weight.shape), orthogonal_map
        self.use_trivialization = use_trivialization
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        wide = X.shape[-2] < X.shape[-1]
        if wide:
            X = X.mT
        n, k = X.shape[-2], X.shape[-1]
        if self.orthogonal_map == "householder":
            reflections = X.tril(-1)
            tau = 2.0 / (1.0 + (reflections * reflections).sum(-2))
            Q = _householder_product(reflections, tau)
            # X's diagonal says each column's sign: -1 at the start (-I), as torch's
            Q = Q * Tensor(X._data.diagonal(dim1=-2, dim2=-1).int().to(X.dtype)).unsqueeze(-2)
        else:
            L = X.tril()
            if n != k:  # a square matrix, the lower triangle padded with zero columns
                L = cat([L, Tensor(L._data.new_zeros(*L.shape[:-1], n - k))], dim=-1)
            A = L - L.mT
            if self.orthogonal_map == "matrix_exp":
                Q = A.matrix_exp()
            else:
                identity = eye(n, dtype=A.dtype, device=A.device)
                Q = (identity - 0.5 * A).inverse() @ (identity + 0.5 * A)
            Q = Q[..., :k]
        if self.use_trivialization:
            Q = self.base @ Q
        return Q.mT if wide else Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        """The X whose forward is Q. With use_trivialization: Q becomes `base` (made orthogonal
        by a QR decomposition if it is not, and completed with random columns if it is not
        square, as torch draws them) and X is -I."""
        if tuple(Q.shape) != self.shape:
            raise ValueError(
                f"orthogonal: the weight assigned has shape {tuple(Q.shape)}, the parametrized "
                f"one {self.shape}: assign a tensor of the weight's shape."
            )
        data = Q._data
        wide = data.shape[-2] < data.shape[-1]
        if wide:
            data = data.mT
        n, k = data.shape[-2], data.shape[-1]
        if not self.use_trivialization:
            if self.orthogonal_map != "householder":
                raise NotImplementedError(
                    "orthogonal: a weight cannot be assigned to the matrix_exp or cayley map "
                    "without use_trivialization (their inverse is not known in closed form): "
                    "keep use_trivialization=True, or use orthogonal_map='householder'."
                )
            reflections, tau = torch.geqrf(data)
            diagonal = reflections.diagonal(dim1=-2, dim2=-1)
            diagonal.sign_()
            diagonal[tau == 0.0] *= -1  # (a reflection LAPACK chose not to make)
            return Tensor(reflections.mT if wide else reflections)
        if n == k:
            base = data.clone() if _is_orthogonal(data) else _made_orthogonal(data)
        else:  # completed into an n x n orthogonal matrix with random columns
            extra = torch.randn(*data.shape[:-2], n, n - k, dtype=data.dtype, device=data.device)
            base = _made_orthogonal(torch.cat([data, extra], dim=-1))
        self.base = Tensor(base)
        minus_identity = torch.zeros_like(Q._data)
        minus_identity.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
        return Tensor(minus_identity)


def _householder_product(reflections: Tensor, tau: Tensor) -> Tensor:
    """The first k columns of H_1 H_2 ... H_k, H_i = I - tau_i v_i v_i^T (torch's
    linalg.householder_product), as minigrad ops: applied to the identity's columns from H_k
    back to H_1, one reflection at a time (k of them: a loop over columns, not elements)."""
    n, k = reflections.shape[-2], reflections.shape[-1]
    unit = Tensor(torch.eye(n, k, dtype=reflections.dtype, device=reflections.device))
    v_all = reflections + unit  # the 1 on each column's diagonal
    Q = unit.expand(*reflections.shape[:-2], n, k)
    for i in reversed(range(k)):
        v = v_all[..., :, i : i + 1]  # (..., n, 1)
        Q = Q - (tau[..., i : i + 1].unsqueeze(-1) * v) @ (v.mT @ Q)
    return Q


def _is_orthogonal(Q: torch.Tensor) -> bool:
    """Whether Q^T Q = I, to within rounding (torch's tolerance: 10 n eps)."""
    n = Q.shape[-1]
    identity = torch.eye(n, dtype=Q.dtype, device=Q.device)
    return torch.allclose(Q.mT @ Q, identity, atol=10 * n * torch.finfo(Q.dtype).eps)


def _made_orthogonal(A: torch.Tensor) -> torch.Tensor:
    """The Q of A's QR decomposition, with R's diagonal made positive (so that Q is unique)."""
    reflections, tau = torch.geqrf(A)
    Q = torch.linalg.householder_product(reflections, tau)
    return Q * reflections.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


def orthogonal(
    module: ModuleT,
    name: str = "weight",
    orthogonal_map: str | None = None,
    *,
    use_trivialization: bool = True,
) -> ModuleT:
    """Make module.<name> a matrix with orthonormal columns (or rows, if wider than tall), as
    torch's: a parametrization of an unconstrained original (see _Orthogonal for the three
    maps; the default is matrix_exp for a square matrix, householder otherwise). Returns the
    module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(
            f"orthogonal: {type(module).__name__} has no parameter or buffer {name!r}; give the "
            "name of one it has (usually 'weight')."
        )
    if weight.ndim < 2:
        raise ValueError(
            f"orthogonal: {name!r} has shape {tuple(weight.shape)}; an orthogonal matrix needs "
            "at least 2 dims (..., n, k)."
        )
    n, k = weight.shape[-2], weight.shape[-1]
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if n == k else "householder"
    if orthogonal_map not in _MAPS:
        raise ValueError(
            f"orthogonal: orthogonal_map must be one of {', '.join(map(repr, _MAPS))}, got "
            f"{orthogonal_map!r}"
        )
    parametrization = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    register_parametrization(module, name, parametrization, unsafe=True)
    return module


# A torch name minigrad lacks raises an AttributeError that says so.
__getattr__ = _missing_name_getattr(__name__, "torch.nn.utils.parametrizations")
