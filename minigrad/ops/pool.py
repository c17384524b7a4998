"""Pooling: each output summarises one window of the input (its maximum, or its average).

The gradient goes back to the window: all of it to the maximum, or an equal share to every
element that the average counted.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..autograd.function import Context, Op

Size = tuple[int, ...]


class MaxPool2d(Op):
    """out[n, c, h, w] = the largest value of window (h, w) of x[n, c], found by torch's kernel.

    torch's max_pool2d also says where each maximum is (`indices`, flat positions in the H x W
    image), breaking ties as torch does: the first maximum met, scanning the window row by row.
    Only the maximum moved the output, so dL/dx is G at those positions and 0 elsewhere; a value
    that is the maximum of several overlapping windows receives the sum of their gradients
    (scatter_add). (A window that lies wholly in the padding outputs -inf and passes no
    gradient on, as in torch.)
    """

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
        ctx.save_for_backward(indices)
        ctx.shape = x.shape
        # Only a dilated window can step over the image and see padding alone.
        ctx.may_see_only_padding = max(dilation) > 1 and max(padding) > 0
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (indices,) = ctx.saved_tensors
        grad, indices = grad.flatten(-2), indices.flatten(-2)
        if ctx.may_see_only_padding:  # such a window's index points past the image: drop it
            inside = indices < ctx.shape[-2] * ctx.shape[-1]
            grad, indices = grad * inside, indices * inside
        grad_x = grad.new_zeros(ctx.shape).flatten(-2)
        grad_x.scatter_add_(-1, indices, grad)
        return grad_x.view(ctx.shape), None, None, None, None, None


class AvgPool2d(Op):
    """out[n, c, h, w] = (sum of the window's elements) / divisor[h, w], and dL/dx = the sum,
    over the windows that contain x, of G[h, w] / divisor[h, w] (G = dL/dout).

    The window of (h, w) covers rows s*h - p ... s*h - p + kh - 1 (columns alike); padding
    counts as zeros. torch's divisor is the window's area including padding
    (count_include_pad=True), or only the real elements (False), or `divisor_override`.
    Each element of a window gets the same share of its output's gradient:

        dL/dx = sum over windows containing x of G[h, w] / divisor[h, w]

    which is a transposed convolution of G / divisor with a kernel of ones (each output sends its
    share back over its window), one image channel at a time.
    """

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
        ctx.shape, ctx.kernel_size, ctx.stride, ctx.padding = x.shape, kernel_size, stride, padding
        ctx.count_include_pad, ctx.divisor_override = count_include_pad, divisor_override
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        height, width = ctx.shape[-2:]
        if ctx.divisor_override:
            share = grad / ctx.divisor_override
        else:
            rows, columns = (
                window_counts(size, k, s, p, n_out, ctx.count_include_pad, grad)
                for size, k, s, p, n_out in zip(
                    (height, width), ctx.kernel_size, ctx.stride, ctx.padding, grad.shape[-2:]
                )
            )
            share = grad / (rows[:, None] * columns[None, :])
        images = share.reshape(-1, 1, *grad.shape[-2:])  # every (n, c) image on its own
        ones = grad.new_ones(1, 1, *ctx.kernel_size)
        # Where the last window stopped short of the image's end, output_padding adds the rows
        # it never reached; with ceil_mode the last window may run past the end: cut that off.
        reach = [
            (n_out - 1) * s - 2 * p + k
            for n_out, s, p, k in zip(grad.shape[-2:], ctx.stride, ctx.padding, ctx.kernel_size)
        ]
        output_padding = [max(size - r, 0) for size, r in zip((height, width), reach)]
        spread = F.conv_transpose2d(
            images, ones, stride=ctx.stride, padding=ctx.padding, output_padding=output_padding
        )
        return spread[..., :height, :width].reshape(ctx.shape), None, None, None, None, None, None


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
    two matrix products: dL/dx = A_h^T @ G @ A_w.
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


def adaptive_pool_matrix(size: int, n_out: int, like: torch.Tensor) -> torch.Tensor:
    """(n_out, size): row i averages positions floor(i*size/n_out) to ceil((i+1)*size/n_out)-1."""
    i = torch.arange(n_out, device=like.device)
    start = (i * size) // n_out
    end = ((i + 1) * size + n_out - 1) // n_out  # ceil
    position = torch.arange(size, device=like.device)
    inside = (position >= start[:, None]) & (position < end[:, None])
    return inside.to(like.dtype) / (end - start).to(like.dtype)[:, None]
