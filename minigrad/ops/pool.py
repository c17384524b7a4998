"""Pooling: each output summarises one window of the input (its maximum, or its average), in 2
or 3 spatial dims (1-d pooling is 2-d pooling of windows one row high, nn/functional.py).

The gradient goes back to the window: all of it to the maximum, or an equal share to every
element that the average counted. Each backward is linear in the upstream gradient G, and is
written with ops that have backwards of their own, so that it can be differentiated again
(create_graph=True): max pooling's is a scatter-add by the saved indices (whose adjoint is a
gather), average pooling's a transposed convolution with a kernel of ones (whose adjoint is the
convolution: the average pooling again), adaptive pooling's two matrix products.

Resizing (F.interpolate) is here too: each output is made from the input positions near where
it falls, and its gradient goes back to them, as pooling's to its window.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..autograd.function import Context, Op
from ..errors import ShapeError, shape_str
from .conv import transposed_convolved
from .shape import scatter_added

Size = tuple[int, ...]


class MaxPool2d(Op):
    """out[n, c, h, w] = the largest value of window (h, w) of x[n, c], found by torch's kernel.

    torch's max_pool2d also says where each maximum is (`indices`, flat positions in the H x W
    image), breaking ties as torch does: the first maximum met, scanning the window row by row.
    Only the maximum moved the output, so dL/dx is G at those positions and 0 elsewhere; a value
    that is the maximum of several overlapping windows receives the sum of their gradients
    (scatter_add). That backward is linear in G: a scatter-add by the indices, whose own
    gradient (with respect to G) gathers at the same indices (ScatterAdd, ops/shape.py); with
    respect to x it is 0, away from ties (the indices do not move under a small change of x).

    torch's kernel for this backward, max_pool2d_with_indices_backward, was measured and not
    adopted: 0.17 against the formula's 0.19 ms at 128x32x14x14 (kernel 2), 0.083 against
    0.093 at 128x64x7x7, float32, one torch thread, load 7 (benchmarks/kernels.py): no margin,
    and it would need x kept for backward.

    Every window must see at least one element of x. A dilated window can step over a small
    input and see padding alone: torch then outputs -inf with an index outside the image, and
    its own backward reads out of bounds (it may abort the process). minigrad refuses such
    settings in forward, naming the window.
    """

    torch_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        kernel_size: Size,
        stride: Size,
        padding: Size,
        dilation: Size,
        ceil_mode: bool = False,
    ) -> torch.Tensor:
        out, indices = F.max_pool2d(
            x, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True
        )
        # Only a dilated window can step over the input and see padding alone.
        if max(dilation) > 1 and max(padding) > 0:
            problem = padding_only_window(
                x.shape, out.shape, kernel_size, stride, padding, dilation, ceil_mode
            )
            if problem:
                raise ShapeError(f"max_pool2d: {problem}")
        ctx.save_for_backward(indices)
        ctx.shape = x.shape
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (indices,) = ctx.saved_tensors
        image = ctx.shape[:-2] + (ctx.shape[-2] * ctx.shape[-1],)  # indices are flat in H*W
        grad_x = scatter_added(grad.flatten(-2), image, -1, indices.flatten(-2))
        return grad_x.view(ctx.shape), None, None, None, None, None


def padding_only_window(
    x_shape: Size,
    out_shape: Size,
    kernel_size: Size,
    stride: Size,
    padding: Size,
    dilation: Size,
    ceil_mode: bool,
) -> str | None:
    """Describe the first window of max pooling that sees padding alone, or None if each window
    sees part of the input.

    Along one dim, the window of output position i reads input positions i*s - p + d*j for
    j = 0 ... k-1; it sees the input if one of them is in 0 ... size-1. A 2-D window sees
    padding alone if its rows do, or its columns do (a 3-D one: or its depth slices do).
    """
    dims = len(kernel_size)
    names = (("depth", "slices"), ("height", "rows"), ("width", "columns"))[-dims:]
    for dim, (side, positions) in enumerate(names):
        size, n_out = x_shape[-dims + dim], out_shape[-dims + dim]
        k, s, p, d = kernel_size[dim], stride[dim], padding[dim], dilation[dim]
        for i in range(n_out):
            reads = [i * s - p + d * j for j in range(k)]
            if any(0 <= r < size for r in reads):
                continue
            settings = f"kernel_size={kernel_size}, stride={stride}, padding={padding}, "
            settings += f"dilation={dilation}" + (", ceil_mode=True" if ceil_mode else "")
            read = ", ".join(map(str, reads[:-1])) + f" and {reads[-1]}" if k > 1 else reads[0]
            return (
                f"with {settings}, the window of output {positions[:-1]} {i} reads input "
                f"{positions} {read}, all in the padding: the input (shape "
                f"{shape_str(x_shape)}) has {positions} 0 to {size - 1} ({side} {size}). Every "
                "window must see at least one element of the input (a dilated window can step "
                "over a small input; torch outputs -inf for such a window, and its backward "
                "reads outside the input). Use less padding or dilation, or a larger input."
            )
    return None


class MaxPool3d(Op):
    """out[n, c, d, h, w] = the largest value of window (d, h, w) of x[n, c], and dL/dx = G
    added at each window's maximum (0 elsewhere), as MaxPool2d's with a depth dim.

    torch's max_pool3d gives the maxima and their flat positions in the D x H x W volume; the
    backward is the same scatter-add as MaxPool2d's, over the flattened volume (its own
    gradient with respect to G gathers at those positions). Windows of padding alone are
    refused, as in 2-D.
    """

    torch_name = "MaxPool3DWithIndicesBackward0"

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        kernel_size: Size,
        stride: Size,
        padding: Size,
        dilation: Size,
        ceil_mode: bool = False,
    ) -> torch.Tensor:
        out, indices = F.max_pool3d(
            x, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True
        )
        if max(dilation) > 1 and max(padding) > 0:  # only then can a window miss the input
            problem = padding_only_window(
                x.shape, out.shape, kernel_size, stride, padding, dilation, ceil_mode
            )
            if problem:
                raise ShapeError(f"max_pool3d: {problem}")
        ctx.save_for_backward(indices)
        ctx.shape = x.shape
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (indices,) = ctx.saved_tensors
        volume = ctx.shape[:-3] + (ctx.shape[-3] * ctx.shape[-2] * ctx.shape[-1],)
        grad_x = scatter_added(grad.flatten(-3), volume, -1, indices.flatten(-3))
        return grad_x.view(ctx.shape), None, None, None, None, None


class MaxUnpool(Op):
    """out = zeros with out[..., i[k]] = x[..., k] (max pooling undone).   dL/dx[..., k] =
    G[..., i[k]], each value's gradient read back from where it went (a gather).

    x and the indices i are flattened over their spatial dims (a row per image and channel),
    and out has `positions` values a row. A scatter, not an indexed assignment: an index
    outside 0 ... positions - 1 is refused (a negative one too, which Python's indexing would
    take from the end), as torch's max_unpool refuses it.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, indices: torch.Tensor, positions: int) -> Any:
        ctx.save_for_backward(indices)
        return x.new_zeros(*x.shape[:-1], positions).scatter(-1, indices, x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple:
        (indices,) = ctx.saved_tensors
        return grad.gather(-1, indices), None, None

    @staticmethod
    def explain_failure(x: Any, indices: Any, positions: int) -> Exception | None:
        outside = indices[(indices < 0) | (indices >= positions)]
        if outside.numel() == 0:
            return None  # another trouble: torch's message stands
        return RuntimeError(  # (torch's type)
            f"found an index outside the output in indices ({outside[0].item()}; each must be "
            f"a position 0 to {positions - 1} of an unpooled image of {positions} values): "
            "indices must be max_pool's own (return_indices=True), for an output of the "
            "input's size before pooling (output_size=...)."
        )


class AvgPool2d(Op):
    """out[n, c, h, w] = (sum of the window's elements) / divisor[h, w], and dL/dx = the sum,
    over the windows that contain x, of G[h, w] / divisor[h, w] (G = dL/dout).

    The window of (h, w) covers rows s*h - p ... s*h - p + kh - 1 (columns alike); padding
    counts as zeros. torch's divisor is the window's area including padding
    (count_include_pad=True), or only the real elements (False), or `divisor_override`.
    Each element of a window gets the same share of its output's gradient:

        dL/dx = sum over windows containing x of G[h, w] / divisor[h, w]

    which is a transposed convolution of G / divisor with a kernel of ones (each output sends its
    share back over its window), one image channel at a time. Its adjoint is the convolution
    with the same kernel of ones (ConvTranspose's backward), a sum over each window: the
    gradient of dL/dx with respect to G is average pooling again.

    The first-order backward computes the formula with torch's kernel for it,
    avg_pool2d_backward: measured side by side (float32, one torch thread, load 7), 1.6 against
    55 ms at 128x32x14x14 with a 2x2 window, 0.55 against 32 at 128x64x7x7 (the transposed
    convolution by a kernel of ones, one channel at a time, is slow in oneDNN); see
    benchmarks/kernels.py. Both agree to rounding (tests/test_pool.py).
    """

    torch_name = "AvgPool2DBackward0"

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        kernel_size: Size,
        stride: Size,
        padding: Size,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> torch.Tensor:
        out = F.avg_pool2d(
            x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        )
        ctx.save_for_backward(x)  # for the kernel, which reads its shape (as torch saves it)
        ctx.shape, ctx.kernel_size, ctx.stride, ctx.padding = x.shape, kernel_size, stride, padding
        ctx.ceil_mode, ctx.count_include_pad = ceil_mode, count_include_pad
        ctx.divisor_override = divisor_override
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (x,) = ctx.saved_tensors
        if Op.kernel_allowed(grad):  # the formula below, by torch's kernel for it
            grad_x = torch.ops.aten.avg_pool2d_backward(
                grad, x, ctx.kernel_size, ctx.stride, ctx.padding, ctx.ceil_mode,
                ctx.count_include_pad, ctx.divisor_override,
            )  # fmt: skip
            return grad_x, None, None, None, None, None, None
        return averaged_back(grad, ctx), None, None, None, None, None, None


def averaged_back(grad: Any, ctx: Context) -> Any:
    """dL/dx of average pooling in 2 or 3 dims: each output's share G / divisor spread back
    over its window, a transposed convolution with a kernel of ones, one channel at a time."""
    dims = len(ctx.kernel_size)
    sizes, n_outs = ctx.shape[-dims:], grad.shape[-dims:]
    if ctx.divisor_override:
        share = grad / ctx.divisor_override
    else:
        # the divisor of window (h, w) is rows[h] * columns[w] (a depth count too in 3-D)
        divisor = None
        for d, (size, k, s, p, n_out) in enumerate(
            zip(sizes, ctx.kernel_size, ctx.stride, ctx.padding, n_outs)
        ):
            counts = window_counts(size, k, s, p, n_out, ctx.count_include_pad, grad)
            counts = counts.reshape((-1,) + (1,) * (dims - 1 - d))
            divisor = counts if divisor is None else divisor * counts
        share = grad / divisor
    images = share.reshape(-1, 1, *n_outs)  # every (n, c) image on its own
    ones = grad.new_ones(1, 1, *ctx.kernel_size)
    # Where the last window stopped short of the image's end, output_padding adds the rows
    # it never reached; with ceil_mode the last window may run past the end: cut that off.
    reach = [
        (n_out - 1) * s - 2 * p + k
        for n_out, s, p, k in zip(n_outs, ctx.stride, ctx.padding, ctx.kernel_size)
    ]
    output_padding = [max(size - r, 0) for size, r in zip(sizes, reach)]
    spread = transposed_convolved(
        images, ones, ctx.stride, ctx.padding, output_padding, 1, (1,) * dims
    )
    if tuple(spread.shape[-dims:]) != tuple(sizes):
        spread = spread[(..., *(slice(0, size) for size in sizes))]
    return spread.reshape(ctx.shape)


class AvgPool3d(Op):
    """out[n, c, d, h, w] = (sum of the window's elements) / divisor[d, h, w], and dL/dx = the
    sum, over the windows that contain x, of G[d, h, w] / divisor[d, h, w] (AvgPool2d's rule
    with a depth dim).

    The divisor is the window's volume with padding (count_include_pad=True), or without it,
    or divisor_override; without the padding it is the product of the counts along each dim,
    as in 2-D. The backward: torch's kernel for it, avg_pool3d_backward, or (recorded, under
    create_graph=True or formulas_only()) the transposed 3-d convolution with a kernel of ones
    that AvgPool2d's backward runs in 2-D (`averaged_back`).
    """

    torch_name = "AvgPool3DBackward0"

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        kernel_size: Size,
        stride: Size,
        padding: Size,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> torch.Tensor:
        out = F.avg_pool3d(
            x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
        )
        ctx.save_for_backward(x)  # for the kernel, which reads its shape
        ctx.shape, ctx.kernel_size, ctx.stride, ctx.padding = x.shape, kernel_size, stride, padding
        ctx.ceil_mode, ctx.count_include_pad = ceil_mode, count_include_pad
        ctx.divisor_override = divisor_override
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (x,) = ctx.saved_tensors
        if Op.kernel_allowed(grad):
            grad_x = torch.ops.aten.avg_pool3d_backward(
                grad, x, ctx.kernel_size, ctx.stride, ctx.padding, ctx.ceil_mode,
                ctx.count_include_pad, ctx.divisor_override,
            )  # fmt: skip
            return grad_x, None, None, None, None, None, None
        return averaged_back(grad, ctx), None, None, None, None, None, None


def window_counts(
    size: int, kernel: int, stride: int, padding: int, n_out: int, include_pad: bool, like: Any
) -> torch.Tensor:
    """How many elements each window along one dim averages, by torch's rule: a window starts
    at s*i - p and ends at the padded edge at the latest; without count_include_pad, only the
    part inside the real input counts."""
    start = torch.arange(n_out, device=like.device, dtype=like.dtype) * stride - padding
    end = (start + kernel).clamp(max=size + padding)
    if not include_pad:
        start, end = start.clamp(min=0), end.clamp(max=size)
    return end - start


class AdaptiveAvgPool2d(Op):
    """Average pooling to a chosen output size (Ho, Wo), windows computed from the sizes.

    Output row i averages input rows floor(i*H/Ho) ... ceil((i+1)*H/Ho) - 1 (columns alike), so
    the windows cover the image and may overlap or differ in size by one. As matrices:
    out = A_h @ x @ A_w^T, where row i of A_h (Ho, H) holds 1/size on window i. The backward of
    two matrix products: dL/dx = A_h^T @ G @ A_w, two matrix products again (with constant
    matrices), so its own gradient with respect to G is A_h @ H @ A_w^T: the pooling.

    torch's kernel, _adaptive_avg_pool2d_backward, was measured and not adopted: no example
    uses this op at scale, and at the CNN's last size (128x256x2x2 to 1x1, global average
    pooling) it ties with the formula (0.60 against 0.60 ms); elsewhere it is faster (0.25
    against 0.85 ms at 128x64x7x7 to 1x1, 0.73 against 1.7 at 128x32x14x14 to 3x3; float32, one
    torch thread, load 7; benchmarks/kernels.py).
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, output_size: Size) -> torch.Tensor:
        ctx.shape = x.shape
        return F.adaptive_avg_pool2d(x, output_size)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (height, width), (out_h, out_w) = ctx.shape[-2:], grad.shape[-2:]
        rows = adaptive_pool_matrix(height, out_h, grad)
        columns = adaptive_pool_matrix(width, out_w, grad)
        return rows.T @ grad @ columns, None


class AdaptiveAvgPool3d(Op):
    """out[d, h, w] = sum over i, j, k of A_d[d, i] A_h[h, j] A_w[w, k] x[i, j, k] (window
    averages), and dL/dx[i, j, k] = the same sum over d, h, w of the matrices times G[d, h, w].

    AdaptiveAvgPool2d with a depth dim: each dim's windows are its own (floor(i D / D_out) ...
    ceil((i + 1) D / D_out) - 1), and A_d, A_h, A_w hold 1/size on them. The backward
    contracts G with the transposed matrices, A_h^T G A_w on each depth slice, then A_d^T
    along the depth: matrix products with constants, differentiable again.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, output_size: Size) -> torch.Tensor:
        ctx.shape = x.shape
        return F.adaptive_avg_pool3d(x, output_size)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        depth, height, width = ctx.shape[-3:]
        out_d, out_h, out_w = grad.shape[-3:]
        slices = adaptive_pool_matrix(depth, out_d, grad)
        rows = adaptive_pool_matrix(height, out_h, grad)
        columns = adaptive_pool_matrix(width, out_w, grad)
        planes = rows.T @ grad @ columns  # (..., D_out, H, W)
        # the depth last, (..., W, H, D_out) @ (D_out, D), and back
        return (planes.transpose(-3, -1) @ slices).transpose(-3, -1), None


def adaptive_pool_matrix(size: int, n_out: int, like: torch.Tensor) -> torch.Tensor:
    """(n_out, size): row i averages positions floor(i*size/n_out) to ceil((i+1)*size/n_out)-1."""
    i = torch.arange(n_out, device=like.device)
    start = (i * size) // n_out
    end = ((i + 1) * size + n_out - 1) // n_out  # ceil
    position = torch.arange(size, device=like.device)
    inside = (position >= start[:, None]) & (position < end[:, None])
    return inside.to(like.dtype) / (end - start).to(like.dtype)[:, None]


# ---- resizing (F.interpolate) ------------------------------------------------------------------
# Interpolation (F.interpolate): an image (or sequence, or volume) resized, each output position
# computed from the input positions near where it falls.
#
# Where an output position falls in the input, and with what weights, is torch's rule, and that
# rule has many cases (each number of dims has its own kernel; some take a shortcut when the
# sizes are equal or double; some compute the scale in float32, some in float64). A formula of
# minigrad's own would drift from torch at some sizes, so minigrad reads the rule from torch:
# torch interpolates a small probe tensor along one dim at a time (the dims are independent),
# with the same sizes, scales and mode, and the probe's output says what torch did.
#
# - nearest and nearest-exact copy one input position per output position: the probe is the
#   positions 0, 1, 2, ... themselves, and interpolating it gives the position each output
#   copies (`nearest_sources`). The forward is torch's; the gradient adds up, for each input
#   position, the gradients of the outputs that copied it (`NearestInterpolate`).
# - linear (bilinear, trilinear) mixes two input positions per output position and dim, bicubic
#   four: the probe is the identity matrix (one channel per input position), and its
#   interpolation is the matrix A (out x in) of the weights along that dim (`linear_weights`).
#   The forward is torch's; the gradient is G contracted with A along each dim
#   (`LinearInterpolate`).
#
# A probe reads dim d alone: the other dims have size 1 and are resized to 1, which takes their
# one position with weight exactly 1 (each dim's positions and weights depend on its own sizes
# and scale only). The probe is in the input's dtype, since torch's rule depends on it (a 1-d
# float32 input of 10 positions scaled by 2.0000001 copies other positions than a float64 one).
#
# torch's own backward does not always agree with its forward: 1-d and 3-d nearest where a side
# keeps its size or doubles it, bicubic where a side keeps its size, while the scale_factor is not
# exactly 1 (or 2); the forward follows the scale, the backward a shortcut for those sizes.
# minigrad's gradient is the derivative of the forward, torch's forward.

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
    largest = in_size - 1  # (counted in Python: asking the tensor would wait for the GPU)
    while largest >= base:
        largest //= base
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
