"""Reading an image at arbitrary points: F.affine_grid and F.grid_sample, the two halves of a
spatial transformer (a small network predicts an affine map theta, affine_grid turns theta into
the points to read, grid_sample reads the image there). As torch's: the same arguments, values,
gradients and errors. Both are made of minigrad's ops, so their gradients are those ops'
gradients: to the image, to the grid, and through the grid to theta.

Coordinates. A grid holds, for each output position, a point of the input in normalized
coordinates, x (along W) first, then y (along H), then z (along D): -1 is one side of the
image and +1 the other. In pixels (pixel i's centre at i), along a side of `size` pixels:

    align_corners=True:   p = (g + 1) (size - 1) / 2    -1 and +1 are the corner pixels' centres
    align_corners=False:  p = (g + 1) size / 2 - 1/2    -1 and +1 are the image's outer edges

Padding: what a point outside the image reads.

    'zeros'       the pixels around the image are 0;
    'border'      the point is clipped to [0, size - 1]: the edge pixels go on outwards;
    'reflection'  the point is mirrored at the image's sides (the corner pixels' centres with
                  align_corners=True, the outer edges with False) until it is inside, then
                  clipped (with False it may land in the half pixel beyond the last centre).

Modes: 'bilinear' mixes the 2 (4 in 2-d, 8 in 3-d) pixels around the point, each weighed by how
close the point is along each axis: at p = i + f (i = floor(p), 0 <= f < 1) pixel i gets 1 - f
and pixel i + 1 gets f. 'nearest' reads the nearest pixel (halves round to even). 'bicubic'
(2-d only) mixes 4 x 4 pixels with the cubic convolution weights (a = -0.75), padding applied to
each pixel it reads rather than to the point.

Gradients, as torch's: the image's gradient is each output's gradient times the weights, added
up where pixels are read more than once (gather's backward). The grid's comes through the
weights (f's slope is 1: floor's gradient is 0), times the slope of unnormalizing, of clipping
(0 outside the image, and on its boundary too: torch counts the boundary as outside) and of
reflecting (-1 on a mirrored stretch). At a pixel centre (f = 0) it is the slope towards the
next pixel. In mode 'nearest' the output is a step function of the grid: its gradient is 0.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import torch

from ..creation import where
from ..errors import shape_str
from ..tensor import Tensor, unwrap

GRID_SAMPLE_MODES = ("bilinear", "nearest", "bicubic")
PADDING_MODES = ("zeros", "border", "reflection")
CUBIC_A = -0.75  # the cubic convolution's free parameter, torch's choice (as interpolate's)


def affine_grid(theta: Tensor, size: Any, align_corners: bool | None = None) -> Tensor:
    """The grid of points that the affine maps theta send an output of `size` to: for
    size (N, C, H, W) and theta (N, 2, 3), the grid (N, H, W, 2) with

        grid[n, h, w] = theta[n] @ (x_w, y_h, 1)

    where (x_w, y_h) are the normalized coordinates of output pixel (h, w)'s centre (see the
    module's docstring; align_corners=False by default, as torch's, with its warning when left
    out). For size (N, C, D, H, W), theta is (N, 3, 4) and the grid (N, D, H, W, 3). The
    identity theta [[1, 0, 0], [0, 1, 0]] gives the points that read the image unchanged.

    A matrix product, so theta's gradient is the grid's gradient times the pixel centres."""
    align_corners = _align_corners_or_default(align_corners)
    if not theta.is_floating_point():
        raise ValueError(
            f"affine_grid: theta must be floating point (the affine maps), got dtype "
            f"{theta.dtype}. Convert it first, e.g. theta.float()."
        )
    size = tuple(int(side) for side in size)
    if len(size) not in (4, 5):
        raise NotImplementedError(
            f"affine_grid: size must be 4-d (N, C, H, W) for 2-d affine maps or 5-d "
            f"(N, C, D, H, W) for 3-d ones, got size {size}."
        )
    n_dims = len(size) - 2
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (n_dims, n_dims + 1):
        raise ValueError(
            f"affine_grid: for the {len(size)}-d size {size}, theta must be a batch of "
            f"{n_dims}-d affine matrices of shape (N, {n_dims}, {n_dims + 1}), got theta of "
            f"shape {shape_str(theta.shape)}."
        )
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn(
            f"affine_grid: size {size} has a side of 1 pixel with align_corners=True, whose "
            "-1 and +1 are then the same point; that pixel's coordinate is 0 (torch's rule "
            "since 1.3.0). An unusual use of affine_grid: check that this is what you mean.",
            UserWarning,
            stacklevel=2,
        )
    elif min(size) <= 0:
        raise ValueError(f"affine_grid: every side of size must be positive, got {size}.")
    if theta.shape[0] != size[0]:
        raise RuntimeError(
            f"affine_grid: size {size} asks for a batch of {size[0]}, but theta holds "
            f"{theta.shape[0]} affine matrices (shape {shape_str(theta.shape)}): give one "
            "matrix per image."
        )
    centres = Tensor(_pixel_centres(spatial, align_corners, unwrap(theta)))  # (D*H*W, n + 1)
    points = centres @ theta.transpose(1, 2)  # (N, D*H*W, n): each centre through its theta
    return points.reshape(size[0], *spatial, n_dims)


def _pixel_centres(spatial: tuple[int, ...], align_corners: bool, like: torch.Tensor) -> Any:
    """The normalized coordinates (x, y[, z], 1) of every pixel centre of an image with sides
    `spatial` ((H, W) or (D, H, W)), one row per pixel in row-major order; `like`'s dtype and
    device. A side of n pixels has its centres evenly spaced from -1 to 1
    (align_corners=True), or the same shrunk by (n - 1) / n to the middles of n equal cells
    of [-1, 1] (False); a side of one pixel has its centre at 0."""
    n_dims = len(spatial)
    centres = torch.ones(*spatial, n_dims + 1, dtype=like.dtype, device=like.device)
    for axis in range(n_dims):  # x runs along the last dim (W), y along the one before, ...
        dim = n_dims - 1 - axis
        steps = spatial[dim]
        line = torch.zeros(1, dtype=like.dtype, device=like.device)
        if steps > 1:
            line = torch.linspace(-1, 1, steps, dtype=like.dtype, device=like.device)
            if not align_corners:
                line = line * (steps - 1) / steps  # (torch's order of rounding)
        centres[..., axis] = line.reshape(-1, *[1] * axis)
    return centres.reshape(-1, n_dims + 1)


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """input (N, C, H_in, W_in) read at the points of grid (N, H, W, 2): out (N, C, H, W),
    out[n, :, h, w] the image n at point grid[n, h, w] = (x, y), in normalized coordinates
    (-1 and +1 the image's sides: see the module's docstring). 3-d alike: input (N, C, D_in,
    H_in, W_in), grid (N, D, H, W, 3) holding (x, y, z), out (N, C, D, H, W).

    mode: 'bilinear' (trilinear in 3-d), 'nearest', or 'bicubic' (2-d only). padding_mode:
    'zeros', 'border' or 'reflection', for points outside the image. align_corners=False by
    default, as torch's (with its warning when left out)."""
    if mode not in GRID_SAMPLE_MODES:
        raise ValueError(
            f"grid_sample: mode must be 'bilinear', 'nearest' or 'bicubic', got {mode!r}."
        )
    if padding_mode not in PADDING_MODES:
        raise ValueError(
            f"grid_sample: padding_mode must be 'zeros', 'border' or 'reflection', got "
            f"{padding_mode!r}."
        )
    align_corners = _align_corners_or_default(align_corners)
    _check_grid_sample(input, grid, mode)
    sizes = tuple(input.shape[:1:-1])  # the sides along x, y[, z]: W, H[, D]
    points = [grid[..., axis] for axis in range(len(sizes))]  # each (N, *out)
    if mode == "bicubic":
        return _bicubic(input, points, padding_mode, align_corners)
    positions = [
        _padded(_unnormalized(g, side, align_corners), side, padding_mode, align_corners)
        for g, side in zip(points, sizes)
    ]
    if mode == "nearest":
        nearest = [unwrap(p).round() for p in positions]  # halves to even, as torch's
        return _pixels(input, nearest) + _flat_in(grid)
    return _linear(input, positions)


def _align_corners_or_default(align_corners: bool | None) -> bool:
    """align_corners, or False (torch's default since 1.3.0) with torch's warning when it was
    left out."""
    if align_corners is None:
        warnings.warn(
            "grid_sample and affine_grid default to align_corners=False since torch 1.3.0 "
            "(-1 and +1 are the image's outer edges, not its corner pixels' centres as "
            "before). Pass align_corners=True for the old behaviour, or align_corners=False "
            "to keep this one and silence this warning.",
            UserWarning,
            stacklevel=3,
        )
        return False
    return bool(align_corners)


def _check_grid_sample(input: Tensor, grid: Tensor, mode: str) -> None:
    """torch's checks of grid_sample's input and grid, in words that name them."""
    shapes = f"input of shape {shape_str(input.shape)} and grid of shape {shape_str(grid.shape)}"
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise RuntimeError(
            f"grid_sample: expected input (N, C, H_in, W_in) with grid (N, H, W, 2), or input "
            f"(N, C, D_in, H_in, W_in) with grid (N, D, H, W, 3), got {shapes}."
        )
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(
            f"grid_sample: input and grid must have the same batch size, got {shapes}."
        )
    if grid.shape[-1] != input.ndim - 2:
        raise RuntimeError(
            f"grid_sample: grid's last dim holds one coordinate per spatial dim of input "
            f"({input.ndim - 2}), got {shapes}."
        )
    if min(input.shape[2:]) == 0:
        raise RuntimeError(f"grid_sample: input's spatial sides must not be empty, got {shapes}.")
    if mode == "bicubic" and input.ndim == 5:
        raise RuntimeError(
            f"grid_sample: mode='bicubic' needs 4-d input (N, C, H_in, W_in), got {shapes}."
        )
    if input.dtype != grid.dtype:
        raise RuntimeError(
            f"grid_sample: input and grid must have the same dtype, got {input.dtype} and "
            f"{grid.dtype}."
        )
    if not input.is_floating_point():
        raise NotImplementedError(
            f"grid_sample: input and grid must be floating point, got dtype {input.dtype}."
        )


def _unnormalized(g: Tensor, side: int, align_corners: bool) -> Tensor:
    """Normalized coordinates g as positions in pixels along a side of `side` pixels.

    Within rounding of a pixel centre, torch's kernels may round differently (its 2-d CPU
    kernel fuses the multiply and the subtraction), and so land on the other side of the
    centre: the same value, but the grid's slope from the other side."""
    if align_corners:
        return (g + 1) * ((side - 1) / 2)  # -1 and +1 at pixels 0 and side - 1
    return (g + 1) * (side / 2) - 0.5  # -1 and +1 at -1/2 and side - 1/2


def _padded(p: Tensor, side: int, padding_mode: str, align_corners: bool) -> Tensor:
    """Positions p (in pixels) brought into the image as padding_mode says: unchanged for
    'zeros' (what lies outside reads 0), clipped for 'border', mirrored then clipped for
    'reflection'."""
    if padding_mode == "zeros":
        return p
    if padding_mode == "reflection":  # mirrors at the corner centres, or the outer edges
        low, high = (0.0, side - 1.0) if align_corners else (-0.5, side - 0.5)
        if high > low:  # (else one pixel with align_corners=True: clipping gives its 0)
            p = _reflected(p, low, high)
    return _clipped(p, side)


def _reflected(p: Tensor, low: float, high: float) -> Tensor:
    """p mirrored at low and high until it lies between them. Mirroring twice is a shift by
    twice the span, so only p's distance from low modulo 2 span matters: a distance d up to
    one span stays d, one beyond it comes back as 2 span - d. The slope is +1 or -1."""
    span = high - low
    distance = (p - low).abs().fmod(2 * span)
    return low + distance.minimum(2 * span - distance)


def _clipped(p: Tensor, side: int) -> Tensor:
    """p clipped to [0, side - 1], with slope 1 strictly inside and 0 elsewhere: on the
    boundary too, as torch's (and NaN clipped to 0)."""
    data = unwrap(p)
    inside = (data > 0) & (data < side - 1)
    clipped = data.clamp(0, side - 1).nan_to_num(0.0)  # NaN to 0, as torch's kernels
    return where(Tensor(inside), p, Tensor(clipped))


def _linear(input: Tensor, positions: list[Tensor]) -> Tensor:
    """Bilinear (trilinear) interpolation of input at the pixel positions: each of the 2^n
    pixels around a point, weighed by the product over axes of 1 - f (the pixel before the
    point) or f (the one after), f = p - floor(p)."""
    before = [unwrap(p).floor() for p in positions]
    past = [p - Tensor(b) for p, b in zip(positions, before)]  # f in [0, 1), slope 1
    out = None
    for corner in itertools.product((0, 1), repeat=len(positions)):  # 4 or 8 pixels
        weight = math.prod(f if step else 1 - f for step, f in zip(corner, past))
        pixel = _pixels(input, [b + step for b, step in zip(before, corner)])
        term = pixel * weight.unsqueeze(1)
        out = term if out is None else out + term
    return out


def _bicubic(input: Tensor, points: list[Tensor], padding_mode: str, align_corners: bool) -> Tensor:
    """Bicubic interpolation of input (N, C, H_in, W_in) at the normalized points (x, y): the
    4 x 4 pixels around each point, weighed by the cubic convolution weights of its fraction
    past the pixel before it along each axis. Padding applies to each pixel read, not to the
    point: a pixel outside the image reads 0 ('zeros'), the nearest edge pixel ('border') or
    its mirror image ('reflection')."""
    sizes = tuple(input.shape[:1:-1])
    positions = [_unnormalized(g, side, align_corners) for g, side in zip(points, sizes)]
    before = [unwrap(p).floor() for p in positions]
    weights = [_cubic_weights(p - Tensor(b)) for p, b in zip(positions, before)]
    taps = [  # along each axis the pixels before - 1 to before + 2, padded, as whole numbers
        [_padded_tap(b + (k - 1), side, padding_mode, align_corners) for k in range(4)]
        for b, side in zip(before, sizes)
    ]
    out = None
    for i, j in itertools.product(range(4), repeat=2):  # 16 pixels
        weight = weights[0][i] * weights[1][j]
        term = _pixels(input, [taps[0][i], taps[1][j]]) * weight.unsqueeze(1)
        out = term if out is None else out + term
    return out


def _padded_tap(tap: torch.Tensor, side: int, padding_mode: str, align_corners: bool) -> Any:
    """A whole-number pixel position brought into the image as padding_mode says (see
    _padded), then cut to a whole number, as torch's."""
    return unwrap(_padded(Tensor(tap), side, padding_mode, align_corners)).trunc()


def _cubic_weights(t: Tensor) -> list[Tensor]:
    """The weights of the pixels at distance 1 + t, t, 1 - t and 2 - t from a point t past the
    pixel before it (0 <= t < 1): the cubic convolution kernel, (a + 2)|s|^3 - (a + 3)|s|^2 + 1
    for |s| <= 1 and a|s|^3 - 5a|s|^2 + 8a|s| - 4a for 1 < |s| < 2."""

    def near(s: Tensor) -> Tensor:
        return ((CUBIC_A + 2) * s - (CUBIC_A + 3)) * s * s + 1

    def far(s: Tensor) -> Tensor:
        return ((CUBIC_A * s - 5 * CUBIC_A) * s + 8 * CUBIC_A) * s - 4 * CUBIC_A

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _pixels(input: Tensor, index: list[torch.Tensor]) -> Tensor:
    """input (N, C, *in)'s pixels at whole-number positions index = [x, y[, z]] (float
    tensors of shape (N, *out)): (N, C, *out), 0 where a position is outside the image. One
    gather over the flattened image, whose gradient adds up at pixels read more than once."""
    batch, channels, *spatial = input.shape
    sizes = spatial[::-1]  # along x, y[, z]
    inside = torch.ones_like(index[0], dtype=torch.bool)  # (NaN is outside: no comparison holds)
    for position, side in zip(index, sizes):
        inside &= (position >= 0) & (position < side)
    flat = torch.zeros_like(index[0], dtype=torch.long)
    stride = 1
    for position, side in zip(index, sizes):  # x varies fastest in the flattened image
        flat += torch.where(inside, position, 0).long() * stride  # (outside: any valid pixel)
        stride *= side
    out_shape = flat.shape[1:]
    flat = flat.reshape(batch, 1, math.prod(out_shape)).expand(batch, channels, -1)
    image = input.reshape(batch, channels, stride)
    pixels = image.gather(2, Tensor(flat)).reshape(batch, channels, *out_shape)
    return where(Tensor(inside.unsqueeze(1)), pixels, 0.0)


def _flat_in(grid: Tensor) -> Tensor:
    """Zeros (N, 1, *out) with slope 0 in the grid. In mode 'nearest' the output is a step
    function of the grid, and torch gives the grid a gradient of zeros (not none): adding these
    connects the grid to the output. (where, not grid * 0, which is NaN at an infinite point.)"""
    nowhere = torch.zeros(grid.shape[:-1], dtype=torch.bool, device=unwrap(grid).device)
    return where(Tensor(nowhere), grid.sum(-1), 0.0).unsqueeze(1)
