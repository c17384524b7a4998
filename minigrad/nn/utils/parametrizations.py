"""Ready-made parametrizations (torch.nn.utils.parametrizations), registered with
parametrize.register_parametrization. Here: weight_norm, the parametrization form of
nn.utils.weight_norm (w = g * v / ||v||, the norm over every dimension but `dim`), whose g and
v are parametrizations.weight.original0 and original1.
"""

from __future__ import annotations

from typing import TypeVar

from ...errors import missing_name_getattr as _missing_name_getattr
from ...tensor import Tensor
from ..modules import Module
from .parametrize import register_parametrization
from .weight_norm import norm_except_dim

__all__ = ["weight_norm"]

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


# A torch name minigrad lacks raises an AttributeError that says so.
__getattr__ = _missing_name_getattr(__name__, "torch.nn.utils.parametrizations")
