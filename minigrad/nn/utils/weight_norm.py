"""Weight normalization, the older hook form (torch.nn.utils.weight_norm): a layer's weight w
rewritten as a length g times a direction v,

    w = g * v / ||v||

with g and v the parameters that train (weight_g, weight_v), so that the step changes the
length and the direction of w separately (Salimans and Kingma, 2016). The norm is taken over
every dimension but `dim` (dim=0: one length per output unit; dim=None: one for the whole
tensor). A forward pre-hook recomputes the weight from g and v before each forward, so the
gradient reaches g and v through the composite above.
"""

from __future__ import annotations

import warnings
from typing import Any, TypeVar

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..modules import Module, Parameter, is_lazy

__all__ = ["remove_weight_norm", "weight_norm"]

ModuleT = TypeVar("ModuleT", bound=Module)


def norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """The 2-norm of v over every dimension but `dim`, kept as size-1 dimensions so that it
    broadcasts against v; dim=-1 takes the norm of the whole tensor (a 0-d tensor), as torch's."""
    if dim == -1:
        return v.norm()
    dim = dim % v.ndim
    others = tuple(d for d in range(v.ndim) if d != dim)
    if not others:  # a 1-d v: each entry is its own vector, of norm |entry|
        return v.abs()
    return v.norm(2, dim=others, keepdim=True)


class WeightNorm:
    """The forward pre-hook: sets module.<name> = g * v / ||v|| from module.<name>_g and
    module.<name>_v before each forward."""

    def __init__(self, name: str, dim: int | None) -> None:
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module: Module) -> Tensor:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / norm_except_dim(v, self.dim))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module: ModuleT, name: str = "weight", dim: int | None = 0) -> ModuleT:
    """Replace the parameter `name` of `module` by weight_g (its norm over every dimension but
    `dim`) and weight_v (its values), and recompute `name` = g * v / ||v|| before each
    forward, as torch's (deprecated there too, in favour of parametrizations.weight_norm: it
    warns the same FutureWarning). Returns the module."""
    warnings.warn(  # (torch's words: a filter written for torch's warning catches this one)
        "`torch.nn.utils.weight_norm` is deprecated in favor of "
        "`torch.nn.utils.parametrizations.weight_norm`.",
        FutureWarning,
        stacklevel=2,
    )
    for hook in (module._forward_pre_hooks or {}).values():
        if isinstance(hook, WeightNorm) and hook.name == name:
            raise RuntimeError(
                f"Cannot register two weight_norm hooks on the same parameter {name}: "
                f"call remove_weight_norm(module, {name!r}) first."
            )
    hook = WeightNorm(name, dim)
    weight = getattr(module, name)
    if is_lazy(weight):
        raise ValueError(
            f"weight_norm: {name!r} of {type(module).__name__} is still uninitialized (a lazy "
            "layer learns its shape from its first input): run one forward pass first, "
            "then apply weight_norm."
        )
    with no_grad():
        g = norm_except_dim(weight, hook.dim)
    delattr(module, name)
    setattr(module, name + "_g", Parameter(g.detach()))
    setattr(module, name + "_v", Parameter(weight.detach()))
    setattr(module, name, hook.compute_weight(module))
    module.register_forward_pre_hook(hook)
    return module


def remove_weight_norm(module: ModuleT, name: str = "weight") -> ModuleT:
    """Undo weight_norm: `name` becomes a plain parameter again, holding g * v / ||v||, and
    weight_g, weight_v and the hook are gone. Returns the module."""
    hooks = module._forward_pre_hooks or {}
    for key, hook in hooks.items():
        if isinstance(hook, WeightNorm) and hook.name == name:
            weight = hook.compute_weight(module)
            delattr(module, name)
            delattr(module, name + "_g")
            delattr(module, name + "_v")
            setattr(module, name, Parameter(weight.detach()))
            del hooks[key]
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
