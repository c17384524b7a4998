"""Spectral normalization, the older hook form (torch.nn.utils.spectral_norm): a layer's weight
W divided by its largest singular value sigma(W), so the layer stretches no input by more than
1 (a GAN's critic kept Lipschitz; Miyato et al., 2018).

sigma is estimated by power iteration on W seen as a matrix (`dim` first, the rest flattened):
two unit vectors u, v, kept as buffers weight_u and weight_v from step to step, move towards
the top singular vectors,

    v <- normalize(W^T u),   u <- normalize(W v),   sigma = u . (W v)

a few iterations per forward (n_power_iterations), in training only, outside the graph (u and v
are updated in place, as constants). The weight that trains is weight_orig; a forward pre-hook
sets weight = weight_orig / sigma before each forward, and the gradient flows to weight_orig
through both the numerator and sigma's W v.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from .. import functional as F
from ..conv import _ConvTransposeNd
from ..modules import Module, Parameter, is_lazy

__all__ = ["remove_spectral_norm", "spectral_norm"]

ModuleT = TypeVar("ModuleT", bound=Module)


class SpectralNorm:
    """The forward pre-hook: sets module.<name> = <name>_orig / sigma before each forward."""

    def __init__(self, name: str, n_power_iterations: int, dim: int, eps: float) -> None:
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but got "
                f"n_power_iterations={n_power_iterations}"
            )
        self.name = name
        self.n_power_iterations = n_power_iterations
        self.dim = dim
        self.eps = eps

    def as_matrix(self, weight: Tensor) -> Tensor:
        return as_matrix(weight, self.dim)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        matrix = self.as_matrix(weight)
        if do_power_iteration:
            with no_grad():  # u and v are constants of the graph, updated in their buffers
                for _ in range(self.n_power_iterations):
                    v.copy_(F.normalize(matrix.t().mv(u), dim=0, eps=self.eps))
                    u.copy_(F.normalize(matrix.mv(v), dim=0, eps=self.eps))
                # copies, so that the next update in place leaves this graph's u and v alone
                u, v = u.clone(), v.clone()
        sigma = u.dot(matrix.mv(v))
        return weight / sigma

    def __call__(self, module: Module, inputs: Any) -> None:
        weight = self.compute_weight(module, do_power_iteration=module.training)
        setattr(module, self.name, weight)


def as_matrix(weight: Tensor, dim: int) -> Tensor:
    """The weight as a matrix: dimension `dim` as the rows, the others flattened."""
    if dim != 0:
        others = [d for d in range(weight.ndim) if d != dim]
        weight = weight.permute(dim, *others)
    return weight.reshape(weight.shape[0], -1)


def spectral_norm(
    module: ModuleT,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> ModuleT:
    """Divide the parameter `name` of `module` by its spectral norm before each forward, as
    torch's: the parameter becomes <name>_orig, u and v (drawn from N(0, 1), then made unit
    vectors, as torch draws them) become the buffers <name>_u and <name>_v. dim (the output
    dimension, rows of the matrix) defaults to 1 for a ConvTranspose layer, else 0. Returns the
    module."""
    if dim is None:
        dim = 1 if isinstance(module, _ConvTransposeNd) else 0
    for hook in (module._forward_pre_hooks or {}).values():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            raise RuntimeError(
                f"Cannot register two spectral_norm hooks on the same parameter {name}: "
                f"call remove_spectral_norm(module, {name!r}) first."
            )
    hook = SpectralNorm(name, n_power_iterations, dim, eps)
    weight = getattr(module, name, None)
    if weight is None:
        raise ValueError(
            f"spectral_norm: {type(module).__name__}'s {name!r} is None: give the name of a "
            "parameter it has (usually 'weight')."
        )
    if is_lazy(weight):
        raise ValueError(
            f"spectral_norm: {name!r} of {type(module).__name__} is still uninitialized (a lazy "
            "layer learns its shape from its first input): run one forward pass first, "
            "then apply spectral_norm."
        )
    if not isinstance(weight, Parameter):
        raise KeyError(
            f"spectral_norm: {name!r} is not a parameter of {type(module).__name__} (got a "
            f"{type(weight).__name__}); name one of its parameters."
        )
    with no_grad():
        rows, columns = hook.as_matrix(weight).shape
        u = F.normalize(weight.new_empty(rows).normal_(0, 1), dim=0, eps=eps)
        v = F.normalize(weight.new_empty(columns).normal_(0, 1), dim=0, eps=eps)
    delattr(module, name)
    setattr(module, name + "_orig", weight)
    setattr(module, name, weight.detach())  # (not normalized until the first forward, as torch)
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    module.register_forward_pre_hook(hook)
    return module


def remove_spectral_norm(module: ModuleT, name: str = "weight") -> ModuleT:
    """Undo spectral_norm: `name` becomes a plain parameter again, holding weight_orig / sigma
    with the current u and v (no further iteration); weight_orig, the buffers and the hook are
    gone. Returns the module."""
    hooks = module._forward_pre_hooks or {}
    for key, hook in hooks.items():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            with no_grad():
                weight = hook.compute_weight(module, do_power_iteration=False)
            for attribute in (name, name + "_u", name + "_v", name + "_orig"):
                delattr(module, attribute)
            module._buffer_flags().pop(name + "_u")
            module._buffer_flags().pop(name + "_v")
            setattr(module, name, Parameter(weight.detach()))
            del hooks[key]
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")
