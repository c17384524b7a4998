"""Convolution, and the ops around it: unfold/fold (the sliding window as a matrix) and pad.

A convolution slides a small kernel over the image. Written as a matrix product (im2col):
`unfold` copies every kh x kw window of x into a column, so a 2-D convolution is

    cols = unfold(x)                       # (N, C*kh*kw, L): one column per output position
    out  = W.reshape(O, C*kh*kw) @ cols    # (N, O, L), then reshaped to (N, O, Ho, Wo)

and its two gradients follow from the matmul's (dL/dA = G @ B^T, dL/dB = A^T @ G):

    dL/dW    = sum over the batch of G @ cols^T        each weight: the sum, over every position
                                                       it touched, of input * upstream gradient
    dL/dcols = W^T @ G, then fold() adds each column back onto the window it came from.

`Convolution` computes the same with torch's convolution kernels (no (N, C*kh*kw, L) copy),
and says those two gradients the way the literature does: as two more convolutions.

Every op here is linear in each input, and its backward is its adjoint (the transpose of its
matrix), which is an op of this file too, with a backward of its own: so a backward run with
create_graph=True can be differentiated again. The pairs: convolution and transposed
convolution (`ConvTranspose`, conv_transpose1d/2d/3d), unfold and fold, padding and slicing (a pad
by negative amounts). A copying pad (reflect, replicate, circular) picks values by index, and
its adjoint adds them back at those indices (an index_add, whose own adjoint picks again).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from ..autograd.function import Context, Op
from ..errors import shape_str
from ..tensor import Tensor
from .embedding import index_added

Size = tuple[int, ...]

# torch's kernels by the number of spatial dims: conv1d on (N, C, L), conv2d on (N, C, H, W),
# conv3d on (N, C, D, H, W).
_CONVOLVE = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONVOLVE_TRANSPOSED = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


class Convolution(Op):
    """out[n, o] = b[o] + sum over c of x[n, c] cross-correlated with W[o, c] (conv1d, 2d, 3d),
    and, with G = dL/dout, dL/dW = x cross-correlated with G, dL/dx = G convolved with W turned
    180 degrees (a transposed convolution), dL/db = G summed over every dim but o.

    In 2-D, with stride s, padding p (zeros around x), dilation d (gaps inside the kernel):

        out[n, o, h, w] = b[o] + sum_{c, i, j} W[o, c, i, j] * x[n, c, s*h + d*i - p, s*w + d*j - p]

    (a cross-correlation: the kernel is laid on the image as it is, not turned round as in the
    convolution of mathematics). With groups g, the C input and O output channels split into g
    groups and output channel o sees only the C/g input channels of its group: W has shape
    (O, C/g, kh, kw).

    The gradients, G = dL/dout:

        dL/dW[o, c, i, j] = sum_{n, h, w} G[n, o, h, w] * x[n, c, s*h + d*i - p, s*w + d*j - p]

    a convolution of x with G, where G plays the kernel, the batch n plays the channels, and
    stride and dilation swap roles (the sum runs over output positions h, w, with step s);

        dL/dx[n, c] = sum over o of G[n, o] "transposed-convolved" with W[o, c]

    each output position sends G * W back to the window it read: the transposed convolution
    (torch's conv_transpose2d, minigrad's ConvTranspose) of G with the same W, stride, padding
    and dilation. Pixel x[a] was multiplied by W[a - h] at output h, so seen from the pixel the
    kernel runs backwards: a cross-correlation with W turned 180 degrees.
    dL/db[o] = the sum of G[:, o] over the batch and all positions.

    The first-order backward computes these three formulas with torch's kernel for them,
    `convolution_backward`, asked only for the gradients needed. Measured side by side on the
    2-core CPU (float32, one torch thread, load 7), over the five convolutions of fastbook's CNN
    at batch 128: dL/dW 28 ms against the formula's 65 (the first layer 0.7 against 13),
    dL/dx the same (68 against 67: it runs the same transposed convolution); see
    benchmarks/kernels.py and benchmarks/RESULTS.md. The kernel's dL/dx and dL/db are the
    formula's bit for bit, its dL/dW agrees to rounding (tests/test_conv.py: rtol 1e-7 in
    float64). The formulas run under create_graph=True (they are recorded, and
    differentiated again) and under formulas_only().
    """

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None = None,
        *,
        stride: Size,
        padding: Size,
        dilation: Size,
        groups: int = 1,
    ) -> torch.Tensor:
        ctx.save_for_backward(x, weight)  # both, as torch: each gradient needs the other input
        ctx.stride, ctx.padding, ctx.dilation, ctx.groups = stride, padding, dilation, groups
        convolve = _CONVOLVE[weight.ndim - 2]
        return convolve(x, weight, bias, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        x, weight = ctx.saved_tensors
        x_needs, weight_needs, bias_needs = ctx.needs_input_grad
        options = (ctx.stride, ctx.padding, ctx.dilation, ctx.groups)
        if Op.kernel_allowed(grad):  # the three formulas below, by torch's kernel for them
            no_output_padding = [0] * (grad.ndim - 2)
            return torch.ops.aten.convolution_backward(
                grad, x, weight, [weight.shape[0]] if bias_needs else None, ctx.stride,
                ctx.padding, ctx.dilation, False, no_output_padding, ctx.groups,
                [x_needs, weight_needs, bias_needs],
            )  # fmt: skip
        grad_x = input_gradient(grad, weight, x.shape, *options) if x_needs else None
        grad_w = weight_gradient(x, grad, weight.shape, *options) if weight_needs else None
        grad_b = grad.sum([0, *range(2, grad.ndim)]) if bias_needs else None
        return grad_x, grad_w, grad_b

    @staticmethod
    def explain_failure(x: Any, weight: Any, bias: Any = None, **options: Any) -> str | None:
        return convolution_mismatch(x.shape, weight.shape, **options)


class ConvTranspose(Op):
    """out = x transposed-convolved with W (each input position adds x * W onto its window of
    out), and, with G = dL/dout, dL/dx = G convolved with W (a plain convolution), dL/dW = G
    cross-correlated with x, dL/db = G summed over every dim but the channels.

    What conv_transpose1d, 2d and 3d compute: the adjoint of the convolution with the
    same W, stride, padding and dilation (the gradient that convolution sends to its input). W
    has shape (C, O/g, kh, kw) for x of C channels, as the convolution from O channels to C
    has. In 2-D, each input position (h, w) adds onto out:

        out[n, o, s*h + d*i - p, s*w + d*j - p] += x[n, c, h, w] * W[c, o, i, j]

    (positions that land in the padding are dropped; `output_padding` adds rows and columns at
    the end, which no input reaches). Read backwards, out[a] collects x[h] * W[i] from every
    (h, i) with s*h + d*i - p = a; so for G = dL/dout, each x[n, c, h, w] gets

        dL/dx[n, c, h, w] = sum_{o, i, j} W[c, o, i, j] * G[n, o, s*h + d*i - p, s*w + d*j - p]

    the convolution of G with W, stride s, padding p, dilation d (the adjoint of the adjoint is
    the convolution again), and each weight gets

        dL/dW[c, o, i, j] = sum_{n, h, w} x[n, c, h, w] * G[n, o, s*h + d*i - p, s*w + d*j - p]

    the convolution's weight gradient with G in the place of the image and x in the place of
    the upstream gradient (`weight_gradient(G, x, ...)`). dL/db[o] = the sum of G[:, o].

    Convolution's backward calls it for dL/dx when gradients are recorded (create_graph=True),
    and this backward calls Convolution: the pair closes.
    """

    torch_name = "ConvolutionBackward0"

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None = None,
        *,
        stride: Size,
        padding: Size,
        output_padding: Size,
        groups: int,
        dilation: Size,
    ) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding, ctx.dilation, ctx.groups = stride, padding, dilation, groups
        transposed = _CONVOLVE_TRANSPOSED[weight.ndim - 2]
        return transposed(x, weight, bias, stride, padding, output_padding, groups, dilation)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        x, weight = ctx.saved_tensors
        x_needs, weight_needs, bias_needs = ctx.needs_input_grad
        options = (ctx.stride, ctx.padding, ctx.dilation, ctx.groups)
        grad_x = grad_w = grad_b = None
        if x_needs:
            grad_x = convolved(grad, weight, *options)
            if grad_x.shape[2:] != x.shape[2:]:  # output_padding reached past the last window
                grad_x = grad_x[(..., *(slice(0, size) for size in x.shape[2:]))]
        if weight_needs:
            grad_w = weight_gradient(grad, x, weight.shape, *options)
        if bias_needs:
            grad_b = grad.sum([0, *range(2, grad.ndim)])
        return grad_x, grad_w, grad_b

    @staticmethod
    def explain_failure(x: Any, weight: Any, bias: Any = None, **options: Any) -> str | None:
        dims = len(weight.shape) - 2
        if len(x.shape) != dims + 2:
            return (
                f"conv_transpose{dims}d takes input of shape (N, C, {_spatial_names(dims)}), "
                f"got {shape_str(x.shape)}."
            )
        if x.shape[1] != weight.shape[0]:
            return (
                f"conv_transpose{dims}d: input {shape_str(x.shape)} has {x.shape[1]} channels "
                f"(dim 1), but weight {shape_str(weight.shape)} expects {weight.shape[0]} (its "
                f"dim 0). The weight is (in_channels, out_channels/groups, "
                f"{_spatial_names(dims, 'k')})."
            )
        return None


def convolved(x: Any, weight: Any, stride: Size, padding: Size, dilation: Size, groups: int) -> Any:
    """x cross-correlated with weight (no bias): torch's conv kernel on torch tensors (the
    first-order backward), the op Convolution on minigrad Tensors (create_graph=True)."""
    if isinstance(x, Tensor) or isinstance(weight, Tensor):
        return Convolution.apply(
            x, weight, None, stride=stride, padding=padding, dilation=dilation, groups=groups
        )
    return _CONVOLVE[weight.ndim - 2](x, weight, None, stride, padding, dilation, groups)


def transposed_convolved(
    x: Any,
    weight: Any,
    stride: Size,
    padding: Size,
    output_padding: Size,
    groups: int,
    dilation: Size,
) -> Any:
    """x transposed-convolved with weight (no bias), with conv_transpose's order of settings:
    torch's kernel on torch tensors, the op ConvTranspose on minigrad Tensors."""
    if isinstance(x, Tensor) or isinstance(weight, Tensor):
        return ConvTranspose.apply(
            x, weight, None, stride=stride, padding=padding, output_padding=output_padding,
            groups=groups, dilation=dilation,
        )  # fmt: skip
    transposed = _CONVOLVE_TRANSPOSED[weight.ndim - 2]
    return transposed(x, weight, None, stride, padding, output_padding, groups, dilation)


def input_gradient(
    grad: torch.Tensor,
    weight: torch.Tensor,
    x_shape: torch.Size,
    stride: Size,
    padding: Size,
    dilation: Size,
    groups: int,
) -> torch.Tensor:
    """dL/dx: the transposed convolution of G with W.

    Where stride s skipped the last few input rows (their windows did not fit), the transposed
    convolution comes out that much shorter: `output_padding` adds those rows (gradient 0).
    """
    spatial = range(2, grad.ndim)
    output_padding = [
        x_shape[k]
        + 2 * padding[k - 2]
        - ((grad.shape[k] - 1) * stride[k - 2] + dilation[k - 2] * (weight.shape[k] - 1) + 1)
        for k in spatial
    ]
    return transposed_convolved(grad, weight, stride, padding, output_padding, groups, dilation)


def weight_gradient(
    x: torch.Tensor,
    grad: torch.Tensor,
    weight_shape: torch.Size,
    stride: Size,
    padding: Size,
    dilation: Size,
    groups: int,
) -> torch.Tensor:
    """dL/dW: the convolution of x with G, the batch taking the place of the channels.

    x (N, C, ...) becomes C/g images of g*N channels, G (N, O, ...) becomes O kernels of N
    channels each (g groups: group k of x meets group k of G), stride and dilation swap.
    The result, (C/g, O, ...), may run past the kernel's size where the last rows of x were
    never reached: those are cut off.
    """
    n, o, g = x.shape[0], weight_shape[0], groups
    if n == 0:  # an empty batch touched no weight (and a convolution of 0 channels is no help)
        return grad.new_zeros(weight_shape)
    spatial_x, spatial_grad = x.shape[2:], grad.shape[2:]
    images = x.reshape(n, g, -1, *spatial_x).transpose(0, 2).reshape(-1, g * n, *spatial_x)
    # (n, g, o/g, ...) -> (g, o/g, n, ...): each output channel's kernel has the batch as channels
    spatial = range(3, 3 + len(spatial_grad))
    kernels = grad.reshape(n, g, o // g, *spatial_grad).permute(1, 2, 0, *spatial)
    kernels = kernels.reshape(o, n, *spatial_grad)
    grad_w = convolved(images, kernels, dilation, padding, stride, g).transpose(0, 1)
    if grad_w.shape[2:] != weight_shape[2:]:
        grad_w = grad_w[(..., *(slice(0, k) for k in weight_shape[2:]))]
    return grad_w


def dims_mismatch(
    name: str,
    dims: int,
    x_shape: Sequence[int],
    weight_shape: Sequence[int],
    transposed: bool = False,
) -> str | None:
    """Say why x or the weight has the wrong number of dims for conv1d, 2d or 3d (`dims`
    spatial dims; conv_transpose1d, 2d or 3d when `transposed`), in the words of the function
    called, or None."""
    spatial, kernel = _spatial_names(dims), _spatial_names(dims, "k")
    channels = "out_channels, in_channels/groups"
    if transposed:
        channels = "in_channels, out_channels/groups"
    if len(weight_shape) != dims + 2:
        kind = "conv_transpose" if transposed else "conv"
        whose = (
            f" (a weight of {len(weight_shape)} dims is {kind}{len(weight_shape) - 2}d's)"
            if 3 <= len(weight_shape) <= 5
            else ""
        )
        return (
            f"{name}: the weight must have {dims + 2} dims, ({channels}, "
            f"{kernel}), got shape {shape_str(weight_shape)}{whose}."
        )
    if len(x_shape) not in (dims + 1, dims + 2):
        return (
            f"{name} takes input of shape (N, C, {spatial}), or (C, {spatial}) for one example, "
            f"got {shape_str(x_shape)}."
        )
    return None


def convolution_mismatch(
    x_shape: Sequence[int],
    weight_shape: Sequence[int],
    stride: Size = (1,),
    padding: Size = (0,),
    dilation: Size = (1,),
    groups: int = 1,
) -> str | None:
    """Say which of the convolution's shape rules x and W break, or None."""
    dims = len(weight_shape) - 2
    name = f"conv{dims}d"
    if len(x_shape) != dims + 2:
        return (
            f"{name} takes input of shape (N, C, {_spatial_names(dims)}), got {shape_str(x_shape)}."
        )
    channels, out_channels, per_group = x_shape[1], weight_shape[0], weight_shape[1]
    if channels != per_group * groups:
        return (
            f"{name}: input {shape_str(x_shape)} has {channels} channels (dim 1), but weight "
            f"{shape_str(weight_shape)} with groups={groups} expects {per_group * groups} "
            f"(weight's dim 1 times groups). The weight is (out_channels, in_channels/groups, "
            f"{_spatial_names(dims, 'k')})."
        )
    if out_channels % groups != 0:
        return f"{name}: out_channels {out_channels} must be divisible by groups={groups}."
    for k in range(dims):
        reach = dilation[k] * (weight_shape[k + 2] - 1) + 1
        padded = x_shape[k + 2] + 2 * padding[k]
        if padded < reach:
            return (
                f"{name}: input {shape_str(x_shape)} is {padded} wide in spatial dim {k} after "
                f"padding, smaller than the kernel's reach there ({reach} = dilation * "
                f"(kernel - 1) + 1). Use a smaller kernel or more padding."
            )
    return None


def _spatial_names(dims: int, prefix: str = "") -> str:
    names = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}[dims]
    return ", ".join(f"{prefix}{n}".lower() if prefix else n for n in names)


class Unfold(Op):
    """out[n, (c, i, j), l] = x[n, c, s*h + d*i - p, s*w + d*j - p], l = (h, w): im2col.

    Every kh x kw window becomes a column: x (N, C, H, W) -> (N, C*kh*kw, L), L windows.
    A pixel lies in several windows, so it is copied into several columns; its gradient is
    the sum of theirs. That sum is `fold`: dL/dx = fold(G).
    """

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        kernel_size: Size,
        dilation: Size,
        padding: Size,
        stride: Size,
    ) -> torch.Tensor:
        ctx.options = (kernel_size, dilation, padding, stride)
        ctx.image_size = x.shape[-2:]
        return F.unfold(x, kernel_size, dilation, padding, stride)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        return folded(grad, ctx.image_size, *ctx.options), None, None, None, None


class Fold(Op):
    """col2im, unfold's mirror: each column is added back onto the window it stands for.

    out[n, c, s*h + d*i - p, s*w + d*j - p] += x[n, (c, i, j), l] over all windows l = (h, w).
    Every output pixel is a sum of copies, so each copy's gradient is the pixel's:
    dL/dx = unfold(G).
    """

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        output_size: Size,
        kernel_size: Size,
        dilation: Size,
        padding: Size,
        stride: Size,
    ) -> torch.Tensor:
        ctx.options = (kernel_size, dilation, padding, stride)
        return F.fold(x, output_size, kernel_size, dilation, padding, stride)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        return unfolded(grad, *ctx.options), None, None, None, None, None


def unfolded(image: Any, kernel_size: Size, dilation: Size, padding: Size, stride: Size) -> Any:
    """F.unfold on a torch tensor (the first-order backward), the op Unfold on a minigrad
    Tensor (create_graph=True): fold's adjoint."""
    if isinstance(image, Tensor):
        return Unfold.apply(image, kernel_size, dilation, padding, stride)
    return F.unfold(image, kernel_size, dilation, padding, stride)


def folded(
    columns: Any,
    output_size: Size,
    kernel_size: Size,
    dilation: Size,
    padding: Size,
    stride: Size,
) -> Any:
    """F.fold on a torch tensor, the op Fold on a minigrad Tensor: unfold's adjoint."""
    if isinstance(columns, Tensor):
        return Fold.apply(columns, output_size, kernel_size, dilation, padding, stride)
    return F.fold(columns, output_size, kernel_size, dilation, padding, stride)


class ConstantPad(Op):
    """out = x with `value` added around it (F.pad's pads: last dim first, (left, right, ...)).

    Each element of x lands somewhere in out, shifted; the added border is a constant. So
    dL/dx is G with the border cut off: padding by the negated pads, a slicing. (A negative pad
    crops x, and its gradient pads G with zeros: the same rule.) Padding and slicing are each
    other's adjoint, and both are this op: its backward is ConstantPad again.
    """

    torch_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, pad: Size, value: float = 0.0) -> torch.Tensor:
        ctx.pad = pad
        return F.pad(x, pad, mode="constant", value=value)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        return padded(grad, [-p for p in ctx.pad]), None, None


def padded(x: Any, pad: Any) -> Any:
    """x padded with zeros (cropped where a pad is negative): F.pad on a torch tensor, the op
    ConstantPad on a minigrad Tensor (create_graph=True)."""
    if isinstance(x, Tensor):
        return ConstantPad.apply(x, tuple(pad), 0.0)
    return F.pad(x, pad)


class CopyPad(Op):
    """out = x padded with copies of its own values: mode 'reflect', 'replicate' or 'circular'.

    Along each padded dim, out takes x at an index per output position: for x = [a, b, c]
    padded by 2 on each side, 'reflect' reads [c b | a b c | b a], 'replicate'
    [a a | a b c | c c], 'circular' [b c | a b c | a b]. So out = x[index] along that dim, and
    dL/dx adds G back at those indices (index_add): a value copied k times gets k gradients.
    That index_add is the adjoint of picking by index, and its own adjoint picks again
    (IndexAdd and IndexSelect, ops/embedding.py).
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, pad: Size, mode: str) -> torch.Tensor:
        ctx.pad, ctx.mode, ctx.shape = pad, mode, x.shape
        return F.pad(x, pad, mode=mode)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        # Undo the padded dims one at a time, from the first dim F.pad padded (the last dim).
        for k in range(len(ctx.pad) // 2):
            dim = len(ctx.shape) - 1 - k
            left, right = ctx.pad[2 * k], ctx.pad[2 * k + 1]
            index = copy_pad_index(ctx.shape[dim], left, right, ctx.mode, grad.device)
            grad = added_at_index(grad, dim, index, ctx.shape[dim])
        return grad, None, None


def added_at_index(values: Any, dim: int, index: torch.Tensor, size: int) -> Any:
    """Zeros of `size` along dim (values' shape elsewhere), with values' slice k along dim added
    at position index[k] (repeats add up): the adjoint of x.index_select(dim, index), by torch's
    index_add_ on a torch tensor (the first-order backward) and by the op IndexAdd on a minigrad
    Tensor (create_graph=True), whose backward picks the slices again."""
    shape = list(values.shape)
    shape[dim] = size
    return index_added(values, torch.Size(shape), dim, index)


def copy_pad_index(size: int, left: int, right: int, mode: str, device: Any) -> torch.Tensor:
    """For each position of a dim padded by (left, right), the index of x it copies."""
    positions = torch.arange(-left, size + right, device=device)
    if mode == "replicate":
        return positions.clamp(0, size - 1)
    if mode == "circular":
        return positions.remainder(size)
    # reflect: mirror at the first and last element, which are not repeated
    return (size - 1) - ((size - 1) - positions.abs()).abs()
