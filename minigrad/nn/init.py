"""Initialising weights in place: torch.nn.init's functions, drawing the same numbers for a seed.

    layer = nn.Linear(784, 256)
    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    nn.init.zeros_(layer.bias)

Why the scale matters: a layer's outputs are sums of fan_in products, so weights of standard
deviation 1 make outputs sqrt(fan_in) times larger than inputs, layer after layer, until the
activations explode or (through a sigmoid) saturate. The schemes below pick the scale that keeps
the variance steady:

    xavier (Glorot, 2010):  std = gain * sqrt(2 / (fan_in + fan_out))   (tanh, sigmoid, linear)
    kaiming (He, 2015):     std = gain / sqrt(fan)                       (relu: gain sqrt(2))

A uniform draw in [-bound, bound] has std bound / sqrt(3), so the uniform versions use
bound = sqrt(3) * std. fan_in is a weight's size(1) times its kernel size (its inputs per
output), fan_out its size(0) times the kernel size, as torch reads the (out, in, ...) layout.

Each function fills the tensor's values in place, outside the graph (no gradient flows into an
initialisation), and returns the tensor. It draws with torch's own in-place samplers on the
tensor's device, so `minigrad.manual_seed(s)` then an init gives torch's numbers for seed s.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch

from ..tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")  # fmt: skip


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps a layer's output variance steady through `nonlinearity`:
    1 for linear layers and sigmoid, 5/3 for tanh, sqrt(2) for relu (it zeroes half of its
    inputs, halving the variance), sqrt(2 / (1 + slope^2)) for leaky_relu (slope `param`,
    default 0.01), 3/4 for selu."""
    if nonlinearity in _LINEAR:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"Unsupported nonlinearity {nonlinearity}: use one of linear, conv1d, conv2d, sigmoid, "
        "tanh, relu, leaky_relu, selu (names as in torch.nn.functional)"
    )


def uniform_(
    tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    """Fill with values drawn uniformly from [a, b)."""
    _values(tensor).uniform_(a, b, generator=generator)
    return tensor


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    """Fill with values drawn from the normal distribution N(mean, std^2)."""
    _values(tensor).normal_(mean, std, generator=generator)
    return tensor


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with `val`."""
    _values(tensor).fill_(val)
    return tensor


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0 (biases usually start there)."""
    return constant_(tensor, 0.0)


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    """Glorot's uniform: U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(
    tensor: Tensor, gain: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    """Glorot's normal: N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
) -> Tensor:
    """He's uniform: U(-bound, bound), bound = gain * sqrt(3 / fan), fan = fan_in (keeps the
    forward pass's variance) or fan_out (the backward pass's); `a` is leaky_relu's slope.
    (nn.Linear's default init is this with a = sqrt(5): bound = 1 / sqrt(fan_in).)"""
    if _empty(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
) -> Tensor:
    """He's normal: N(0, std^2), std = gain / sqrt(fan) (see kaiming_uniform_)."""
    if _empty(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


# ---- helpers ------------------------------------------------------------------------------------


def _values(tensor: Any) -> torch.Tensor:
    """The torch tensor whose values an init overwrites (outside minigrad's graph)."""
    if isinstance(tensor, Tensor):
        return tensor._data
    if isinstance(tensor, torch.Tensor):
        return tensor.detach()
    raise TypeError(
        f"nn.init fills a Tensor in place (e.g. layer.weight), got {type(tensor).__name__}"
    )


def _fans(tensor: Any) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight laid out (out, in, *kernel): in and out times the kernel's
    size (its receptive field)."""
    shape = tuple(_values(tensor).shape)
    if len(shape) < 2:
        raise ValueError(
            f"Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
            f"(this one has shape {shape}): they are a weight's inputs and outputs per unit. "
            "Initialise a bias with zeros_, constant_ or uniform_ instead."
        )
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _fan(tensor: Any, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _fans(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _empty(tensor: Any) -> bool:
    if 0 in _values(tensor).shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False
