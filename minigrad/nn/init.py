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

The others keep a structure: orthogonal_ a matrix with orthonormal rows or columns (each
layer then keeps the lengths of vectors in its span), eye_ and dirac_ the identity (a Linear or
a convolution that starts by passing its input through), sparse_ a few nonzeros per column,
trunc_normal_ a normal draw without its outliers.

Each function fills the tensor's values in place, outside the graph (no gradient flows into an
initialisation), and returns the tensor. It draws with torch's own in-place samplers on the
tensor's device, so `minigrad.manual_seed(s)` then an init gives torch's numbers for seed s.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import torch

from ..tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant",
    "constant_",
    "dirac",
    "dirac_",
    "eye",
    "eye_",
    "kaiming_normal",
    "kaiming_normal_",
    "kaiming_uniform",
    "kaiming_uniform_",
    "normal",
    "normal_",
    "ones_",
    "orthogonal",
    "orthogonal_",
    "sparse",
    "sparse_",
    "trunc_normal_",
    "uniform",
    "uniform_",
    "xavier_normal",
    "xavier_normal_",
    "xavier_uniform",
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


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Fill with draws from N(mean, std^2) cut to [a, b]: the normal's density, renormalised
    over [a, b] and zero outside it.

    Two samplers, picked as torch picks them (so that a seed gives torch's numbers), by the
    normal's mass inside the bounds, p = Phi((b - mean) / std) - Phi((a - mean) / std):
    p > 0.3, draw from the normal and draw again wherever a value fell outside, until none
    does; otherwise that would take about 1/p rounds, so draw x uniformly on [a, b] instead and
    keep it with probability density(x) / density(peak), drawing again where it was not kept
    (rejection sampling: what is kept has the density's shape). Every round draws a whole
    tensor's worth of numbers, as torch does, and keeps only the ones still needed."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn(
            f"trunc_normal_: mean {mean} lies more than 2 std ({std}) outside [a, b] = "
            f"[{a}, {b}]; the values drawn may not follow the cut normal closely.",
            stacklevel=2,
        )
    data = _values(tensor)
    p = _normal_cdf((b - mean) / std) - _normal_cdf((a - mean) / std)
    if p > 0.3:
        # the bounds as the tensor's dtype rounds them, so that "outside" means what it holds
        low, high = (torch.tensor(bound, dtype=data.dtype).item() for bound in (a, b))
        data.normal_(mean, std, generator=generator)
        outside = (data < low) | (data > high)
        while outside.any():
            again = torch.empty_like(data).normal_(mean, std, generator=generator)
            data.copy_(torch.where(outside, again, data))
            outside = (data < low) | (data > high)
        return tensor
    peak = max(a, min(mean, b))  # where the density is highest inside [a, b]
    log_peak = -0.5 * ((peak - mean) / std) ** 2

    def rejected(x: torch.Tensor) -> torch.Tensor:
        """Whether each draw x is thrown back: log(uniform) > log(density(x) / density(peak))."""
        log_ratio = ((x - mean) / std).pow(2).mul(-0.5).sub(log_peak)
        return torch.empty_like(x).uniform_(generator=generator).log().gt(log_ratio)

    data.uniform_(a, b, generator=generator)
    pending = rejected(data)
    while pending.any():
        candidates = torch.empty_like(data).uniform_(a, b, generator=generator)
        data.copy_(torch.where(pending, candidates, data))
        pending = torch.where(pending, rejected(candidates), pending)
    return tensor


def orthogonal_(
    tensor: Tensor, gain: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    """Fill with a (semi-)orthogonal matrix times gain: orthonormal rows (a wide weight) or
    columns (a tall one), a tensor of more than 2 dims read as (size(0), the rest flattened).

    The matrix is the Q of the QR factorisation of a standard normal draw (of its transpose,
    for a wide one, so that Q is tall). Q's columns times the signs of R's diagonal make
    R's diagonal positive, which makes Q uniformly distributed over the orthogonal matrices
    (Mezzadri, 2007): without it QR's sign convention would favour some."""
    data = _values(tensor)
    if data.ndim < 2:
        raise ValueError(
            f"orthogonal_ takes a tensor with 2 or more dimensions (a weight), got shape "
            f"{tuple(data.shape)}"
        )
    if data.numel() == 0:
        return tensor
    rows = data.shape[0]
    columns = data.numel() // rows
    draw = data.new_empty((rows, columns)).normal_(0, 1, generator=generator)
    wide = rows < columns
    Q, R = torch.linalg.qr(draw.T if wide else draw)
    Q = Q * R.diagonal().sign()
    data.view_as(Q.T if wide else Q).copy_(Q.T if wide else Q)
    data.mul_(gain)
    return tensor


def eye_(tensor: Tensor) -> Tensor:
    """Fill a matrix with the identity (ones on the diagonal, zeros elsewhere): a Linear layer
    that starts by passing its first min(in, out) inputs through unchanged."""
    data = _values(tensor)
    if data.ndim != 2:
        raise ValueError(
            f"eye_ takes a tensor with 2 dimensions (a matrix), got shape {tuple(data.shape)}"
        )
    data.copy_(torch.eye(*data.shape, dtype=data.dtype, device=data.device))
    return tensor


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a convolution's weight (out, in, *kernel), 1-d to 3-d, with the identity: a 1 at
    the kernel's centre from input channel c to output channel c, zeros elsewhere, so that the
    convolution starts by passing its first channels through. With groups, each group of
    out / groups output channels passes its own first channels through."""
    data = _values(tensor)
    if data.ndim not in (3, 4, 5):
        raise ValueError(
            f"dirac_ takes a convolution's weight, a tensor with 3, 4 or 5 dimensions, got "
            f"shape {tuple(data.shape)}"
        )
    if data.shape[0] % groups != 0:
        raise ValueError(
            f"dirac_: dim 0 must be divisible by groups; it is {data.shape[0]}, groups={groups}"
        )
    per_group = data.shape[0] // groups
    channels = torch.arange(min(per_group, data.shape[1]), device=data.device)
    # output channel g * per_group + c takes input channel c, for each group g
    outputs = torch.arange(groups, device=data.device).unsqueeze(1) * per_group + channels
    centre = tuple(side // 2 for side in data.shape[2:])
    data.zero_()
    data[(outputs.flatten(), channels.repeat(groups), *centre)] = 1
    return tensor


def sparse_(
    tensor: Tensor, sparsity: float, std: float = 0.01, generator: torch.Generator | None = None
) -> Tensor:
    """Fill a matrix with draws from N(0, std^2), then zero ceil(sparsity * rows) entries of
    each column, at rows picked at random (Martens, 2010: each unit sees a few inputs).

    The rows to zero are the first ones of a random permutation per column, drawn column after
    column with the global generator (torch draws them so, whatever `generator` is: the same
    calls give its numbers)."""
    data = _values(tensor)
    if data.ndim != 2:
        raise ValueError(
            f"sparse_ takes a tensor with 2 dimensions (a matrix), got shape {tuple(data.shape)}"
        )
    rows, columns = data.shape
    zeros_per_column = math.ceil(sparsity * rows)
    data.normal_(0, std, generator=generator)
    if columns:
        # one permutation per column, as torch draws them (a loop over columns, not elements)
        picked = torch.stack([torch.randperm(rows)[:zeros_per_column] for _ in range(columns)], 1)
        data[picked, torch.arange(columns, device=picked.device)] = 0
    return tensor


# ---- the names without the underscore: older code's, deprecated in torch, with its warning -----


def _deprecated(new: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """nn.init.<name> (the spelling of 2017's code) as nn.init.<name>_, with torch's warning."""
    old = new.__name__[:-1]

    def deprecated(*args: Any, **kwargs: Any) -> Tensor:
        warnings.warn(
            f"`nn.init.{old}` is now deprecated in favor of `nn.init.{new.__name__}`.",
            FutureWarning,
            stacklevel=2,
        )
        return new(*args, **kwargs)

    deprecated.__name__ = deprecated.__qualname__ = old
    deprecated.__doc__ = f"Deprecated (in torch too): nn.init.{new.__name__}."
    return deprecated


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)


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


def _normal_cdf(z: float) -> float:
    """Phi(z), the standard normal's probability of a value below z."""
    return (1.0 + math.erf(z / math.sqrt(2.0))) / 2.0
