"""Interpolation (F.interpolate): an image (or sequence, or volume) resized, each output position
computed from the input positions near where it falls.

Where an output position falls in the input, and with what weights, is torch's rule, and that
rule has many cases (each number of dims has its own kernel; some take a shortcut when the
sizes are equal or double; some compute the scale in float32, some in float64). A formula of
minigrad's own would drift from torch at some sizes, so minigrad reads the rule from torch:
torch interpolates a small probe tensor along one dim at a time (the dims are independent),
with the same sizes, scales and mode, and the probe's output says what torch did.

- nearest and nearest-exact copy one input position per output position: the probe is the
  positions 0, 1, 2, ... themselves, and interpolating it gives the position each output
  copies (`nearest_sources`). The forward is torch's; the gradient adds up, for each input
  position, the gradients of the outputs that copied it (`NearestInterpolate`).
- linear (bilinear, trilinear) mixes two input positions per output position and dim, bicubic
  four: the probe is the identity matrix (one channel per input position), and its
  interpolation is the matrix A (out x in) of the weights along that dim (`linear_weights`).
  The forward is torch's; the gradient is G contracted with A along each dim
  (`LinearInterpolate`).

A probe reads dim d alone: the other dims have size 1 and are resized to 1, which takes their
one position with weight exactly 1 (each dim's positions and weights depend on its own sizes
and scale only). The probe is in the input's dtype, since torch's rule depends on it (a 1-d
float32 input of 10 positions scaled by 2.0000001 copies other positions than a float64 one).

torch's own backward does not always agree with its forward: 1-d and 3-d nearest where a side
keeps its size or doubles it, bicubic where a side keeps its size, while the scale_factor is not
exactly 1 (or 2); the forward follows the scale, the backward a shortcut for those sizes.
minigrad's gradient is the derivative of the forward, torch's forward.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..autograd.function import Context, Op

Resize = dict[str, Any]  # size or scale_factor, mode, align_corners, as F.interpolate takes


def _probe_resize(resize: Resize, dim: int, n_dims: int) -> Resize:
    """The arguments that resize `dim` as `resize` does and leave the others at 1 -> 1 (a
    dim of size 1 resized to 1 takes its one position with weight 1: it changes nothing)."""
    probe = dict(resize)
    if probe.get("size") is not None:
        probe["size"] = [probe["size"][d] if d == dim else 1 for d in range(n_dims)]
    else:
        probe["scale_factor"] = [
            probe["scale_factor"][d] if d == dim else 1.0 for d in range(n_dims)
        ]
    return probe


def _along(values: torch.Tensor, dim: int, n_dims: int) -> torch.Tensor:
    """`values` (channels, positions) laid out as (1, channels, 1, .., positions, .., 1)."""
    shape = [1] * n_dims
    shape[dim] = values.shape[-1]
    return values.reshape(1, values.shape[0], *shape)


def nearest_sources(
    in_size: int, dim: int, n_dims: int, resize: Resize, dtype: torch.dtype, device: Any
) -> torch.Tensor:
    """The input position that each output position copies along `dim`, as torch's nearest (or
    nearest-exact) interpolation picks it for this dtype: torch interpolates the positions.

    A dtype holds whole numbers exactly up to `base` (2**24 in float32, 256 in bfloat16), so a
    longer side is read in base-`base` digits, one probe channel per digit."""
    base = round(2 / torch.finfo(dtype).eps) if dtype.is_floating_point else 256
    positions = torch.arange(in_size, device=device)
    digits = [positions % base]
    while positions.max() >= base:
        positions = positions // base
        digits.append(positions % base)
    probe = _along(torch.stack(digits).to(dtype), dim, n_dims)
    out = F.interpolate(probe, **_probe_resize(resize, dim, n_dims)).reshape(len(digits), -1)
    sources = torch.zeros(out.shape[-1], dtype=torch.int64, device=device)
    for digit in reversed(out.to(torch.int64)):
        sources = sources * base + digit
    return sources


def linear_weights(
    in_size: int, dim: int, n_dims: int, resize: Resize, dtype: torch.dtype, device: Any
) -> torch.Tensor:
    """A (out x in): output position j along `dim` is sum_i A[j, i] * input position i, with
    torch's weights for this dtype, read by interpolating the identity (channel i is the input
    that is 1 at position i and 0 elsewhere: its output at j is A[j, i])."""
    probe = _along(torch.eye(in_size, dtype=dtype, device=device), dim, n_dims)
    out = F.interpolate(probe, **_probe_resize(resize, dim, n_dims))
    return out.reshape(in_size, -1).T


class LinearInterpolate(Op):
    """out = x @ A_d^T along each spatial dim d.   dL/dx = G @ A_d along each dim d.

    x resized by linear (or cubic) interpolation: out[.., j, ..] = sum_i A_d[j, i] x[.., i, ..]
    along dim d, A_d (out x in) holding two (four) weights per row; so each input position gets
    the upstream gradients of the outputs it went into, times its weights:
    dL/dx[.., i, ..] = sum_j A_d[j, i] G[.., j, ..].

    The forward is torch's interpolate; the weights A_d are read from torch (linear_weights).
    The map is linear in x with constant weights, so its backward is linear in G and does not
    depend on x: differentiated again, it gives the interpolation of the incoming gradient (its
    gradient with respect to x is 0).
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, resize: Resize) -> torch.Tensor:
        out = F.interpolate(x, **resize)
        n_dims = x.ndim - 2
        if ctx.needs_input_grad[0]:
            ctx.weights = [
                linear_weights(x.shape[2 + d], d, n_dims, resize, x.dtype, x.device)
                for d in range(n_dims)
            ]
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        for d, weights in enumerate(ctx.weights):  # along dim 2 + d: out positions -> in
            grad = (grad.transpose(2 + d, -1) @ weights).transpose(2 + d, -1)
        return grad, None


class NearestInterpolate(Op):
    """out = x resized by copying: out[.., j, ..] = x[.., s_d(j), ..] along each spatial dim d.
    dL/dx[.., i, ..] = sum of G[.., j, ..] over the j with s_d(j) = i, along each dim d.

    s_d(j) is the input position that output position j copies (torch's rule, read by
    nearest_sources); each input position gets the gradients of the outputs that copied it. As
    a matrix, the copy along dim d is the one-hot A_d[j, i] = (s_d(j) == i), and the gradient is
    G @ A_d, as LinearInterpolate's: that product is the formula, and the path under
    create_graph. The first-order backward adds the same gradients with index_add, which reads
    each output once instead of multiplying by a matrix of zeros: an upsampling by 2 of
    (4, 32, 128, 128), forward and backward, took 72 ms with the product and 42 with index_add
    against torch's 40 (side by side, 2-core CPU, one torch thread, load 1.8).
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, resize: Resize) -> torch.Tensor:
        n_dims = x.ndim - 2
        if ctx.needs_input_grad[0]:
            ctx.in_sizes = x.shape[2:]
            ctx.sources = [
                nearest_sources(x.shape[2 + d], d, n_dims, resize, x.dtype, x.device)
                for d in range(n_dims)
            ]
        return F.interpolate(x, **resize)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        for d, (sources, in_size) in enumerate(zip(ctx.sources, ctx.in_sizes)):
            dim = 2 + d  # along it: out positions -> in
            if Op.kernel_allowed(grad):  # the product below, added up by index_add
                shape = list(grad.shape)
                shape[dim] = in_size
                grad = grad.new_zeros(shape).index_add_(dim, sources, grad)
            else:
                copies = sources[:, None] == torch.arange(in_size, device=sources.device)
                grad = (grad.transpose(dim, -1) @ copies.to(grad.dtype)).transpose(dim, -1)
        return grad, None
