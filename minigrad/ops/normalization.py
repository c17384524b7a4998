"""Batch normalisation and dropout, the layers that behave differently in training and in eval;
and layer normalisation, which behaves the same in both."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from ..autograd.function import Context, Op
from ..errors import shape_str


class BatchNorm(Op):
    """out = weight * x_hat + bias, x_hat = (x - mean) * istd over each channel's batch values,
    and, with G = dL/dout and g = weight * G, dL/dx = istd * (g - mean(g) - x_hat * mean(g *
    x_hat)) in training, dL/dweight = sum(G * x_hat), dL/dbias = sum(G).

    Normalise each channel (dim 1) over the batch, then scale and shift it.

    Training, over the n values of a channel (every example and position):

        mean = sum(x) / n,   var = sum((x - mean)^2) / n,   istd = 1 / sqrt(var + eps)
        x_hat = (x - mean) * istd
        out = weight * x_hat + bias

    and the running statistics move towards the batch's (momentum m, as torch: the new value
    weighs m; the variance is stored unbiased, times n / (n - 1)):

        running_mean = (1 - m) * running_mean + m * mean
        running_var  = (1 - m) * running_var  + m * var * n / (n - 1)

    Evaluation uses running_mean and running_var instead of the batch's: every output is then
    an affine function of its own input only.

    The backward, G = dL/dout, sums over a channel's n values:

        dL/dbias   = sum(G)
        dL/dweight = sum(G * x_hat)

    For x, in training mean and var depend on every x of the channel, so x_i reaches the loss
    three ways: directly, through mean, and through var. With g = weight * G (dL/dx_hat):

        dL/dx_hat = g
        dL/dvar   = sum(g * (x - mean)) * (-1/2) istd^3
        dL/dmean  = -istd * sum(g)          (the var path adds sum(-2 (x - mean)) / n = 0)
        dL/dx     = g * istd + dL/dvar * 2 (x - mean) / n + dL/dmean / n

    and with x - mean = x_hat / istd, everything gathers into one line:

        dL/dx = weight * istd / n * (n * G - sum(G) - x_hat * sum(G * x_hat))

    that is istd * (g - mean(g) - x_hat * mean(g * x_hat)), the line the backward computes.
    (In eval, mean and var are constants: dL/dx = weight * istd * G.)

    The backward computes mean and istd again from x: under create_graph they are then in the
    graph, and the second derivative sees how they move with x. The first-order backward calls
    torch's kernel for these formulas instead, native_batch_norm_backward, with the statistics
    the forward kernel returned: 4 to 7x faster than the formula on fastbook's CNN at batch 128
    (0.76 ms against 3.0 at 32x14x14, 0.28 against 1.7 at 64x7x7, 0.14 against 1.0 at 128x4x4,
    11 µs against 63 at 10x1x1), on a par at 256x2x2 (1.6 against 1.8 ms), 2.3x in eval
    (fastest samples, float32, one torch thread, load 5.3 on the 2 cores;
    benchmarks/derivative_kernels.py and benchmarks/RESULTS.md).
    """

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        weight: torch.Tensor | None,
        bias: torch.Tensor | None,
        running_mean: torch.Tensor | None,
        running_var: torch.Tensor | None,
        *,
        training: bool,
        momentum: float = 0.1,
        eps: float = 1e-5,
    ) -> torch.Tensor:
        ctx.empty = x.numel() == 0
        if ctx.empty:  # an empty batch: nothing to normalise, no statistics to move (as torch)
            return x.clone()
        # torch's fused kernel does the forward above in one pass (and moves the running
        # statistics); in training it also returns the batch's mean and istd.
        out, mean, istd = torch.native_batch_norm(
            x, weight, bias, running_mean, running_var, training, momentum, eps
        )
        if training:  # (the running statistics just moved: the batch's own are used)
            ctx.save_for_backward(x, weight, None, None)
        else:
            ctx.save_for_backward(x, weight, running_mean, running_var)
        # The batch's statistics as the forward kernel computed them, for the backward kernel
        # only: the formula computes them again from x, so that under create_graph they are in
        # the graph (kept on ctx, not saved: saved values come back in the graph, and these two
        # are neither input nor output).
        ctx.batch_mean, ctx.batch_istd = mean, istd
        ctx.training, ctx.eps = training, eps
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        x_needs, weight_needs, bias_needs, *_ = ctx.needs_input_grad
        if ctx.empty:  # sums over no values: 0 for weight and bias, an empty gradient for x
            zeros = grad.new_zeros(grad.shape[1])
            grad_weight = zeros if weight_needs else None
            grad_x = grad.clone() if x_needs else None
            return grad_x, grad_weight, zeros if bias_needs else None, None, None
        x, weight, running_mean, running_var = ctx.saved_tensors
        if Op.kernel_allowed(grad):  # torch's kernel for the formulas below
            grad_x, grad_weight, grad_bias = torch.ops.aten.native_batch_norm_backward(
                grad, x, weight, running_mean, running_var, ctx.batch_mean, ctx.batch_istd,
                ctx.training, ctx.eps, [x_needs, weight_needs, bias_needs],
            )  # fmt: skip
            return grad_x, grad_weight, grad_bias, None, None
        dims = [0, *range(2, x.ndim)]  # all but the channels
        shape = [1, -1] + [1] * (x.ndim - 2)  # a per-channel value, broadcast over the rest
        if ctx.training:  # the batch's statistics, from x
            centred = x - x.mean(dims, keepdim=True)
            istd = ((centred**2).mean(dims, keepdim=True) + ctx.eps).rsqrt()
        else:  # the running ones: constants here
            centred = x - running_mean.view(shape)
            istd = (running_var.view(shape) + ctx.eps).rsqrt()
        x_hat = centred * istd
        grad_x = grad_weight = grad_bias = None
        if weight_needs:
            grad_weight = (grad * x_hat).sum(dims)
        if bias_needs:
            grad_bias = grad.sum(dims)
        if x_needs:
            g = grad if weight is None else grad * weight.view(shape)  # dL/dx_hat
            if ctx.training:
                mean_g = g.mean(dims, keepdim=True)
                mean_g_x_hat = (g * x_hat).mean(dims, keepdim=True)
                grad_x = istd * (g - mean_g - x_hat * mean_g_x_hat)
            else:
                grad_x = istd * g
        return grad_x, grad_weight, grad_bias, None, None


class LayerNorm(Op):
    """out = weight * x_hat + bias, x_hat = (x - mean) * istd over each example's last dims,
    and, with G = dL/dout and g = weight * G, dL/dx = istd * (g - mean(g) - x_hat * mean(g *
    x_hat)) over those dims, dL/dweight = sum(G * x_hat) and dL/dbias = sum(G) over examples.

    Normalise each example over its last dims (`normalized_shape`), then scale and shift it.

    Over the n values of one example's last dims (n = the product of normalized_shape), and the
    same in training and in eval (there are no running statistics):

        mean = sum(x) / n,   var = sum((x - mean)^2) / n,   istd = 1 / sqrt(var + eps)
        x_hat = (x - mean) * istd
        out = weight * x_hat + bias

    weight and bias (optional) have normalized_shape: one value per position of the normalised
    dims, shared by every example. BatchNorm's sums run over the batch for each channel; these
    run over the channels for each example, so the backward has the same shape with the roles
    swapped. With G = dL/dout:

        dL/dbias   = sum over the examples of G
        dL/dweight = sum over the examples of G * x_hat

    For x, mean and var depend on all n values of the example, so x_i reaches the loss three
    ways: directly, through mean and through var. With g = weight * G (dL/dx_hat) and the sums
    over the example's n values:

        dL/dvar  = sum(g * (x - mean)) * (-1/2) istd^3
        dL/dmean = -istd * sum(g)        (the var path adds dL/dvar * sum(-2 (x - mean)) / n = 0)
        dL/dx    = g * istd + dL/dvar * 2 (x - mean) / n + dL/dmean / n

    and with x - mean = x_hat / istd, one fused formula:

        dL/dx = istd / n * (n * g - sum(g) - x_hat * sum(g * x_hat))

    The three terms: the direct path, minus the mean's share (a shift of every x changes
    nothing), minus the variance's (a stretch of every x about the mean changes nothing).

    The backward takes mean and istd from x again, so that under create_graph they are in the
    graph. The first-order backward calls torch's kernel for these formulas instead,
    native_layer_norm_backward, with the statistics the forward kernel returned: 5.6 to 6.2x
    faster than the formula (12 µs against 68 at 64x128, 21 against 122 at 256x128, 0.20 ms
    against 1.26 at 32x64x256; fastest samples, float32, one torch thread, load 5.5 on the 2
    cores, benchmarks/derivative_kernels.py).
    """

    torch_name = "NativeLayerNormBackward0"

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        weight: torch.Tensor | None,
        bias: torch.Tensor | None,
        *,
        normalized_shape: tuple[int, ...],
        eps: float = 1e-5,
    ) -> torch.Tensor:
        # torch's fused kernel does the forward above in one pass, and returns each example's
        # mean and istd too (shaped to broadcast against x).
        out, mean, istd = torch.native_layer_norm(x, normalized_shape, weight, bias, eps)
        ctx.save_for_backward(x, weight)
        # Kept for the first-order backward (on ctx, not saved: saved values come back in the
        # graph under create_graph, and these two are neither input nor output).
        ctx.example_mean, ctx.example_istd = mean, istd
        ctx.dims, ctx.eps = len(normalized_shape), eps
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        x, weight = ctx.saved_tensors
        x_needs, weight_needs, bias_needs = ctx.needs_input_grad
        normalised = list(range(x.ndim - ctx.dims, x.ndim))  # each example's own values
        examples = list(range(x.ndim - ctx.dims))  # the dims that weight is shared across
        grad_x = grad_weight = grad_bias = None
        if bias_needs:
            grad_bias = grad.sum(examples) if examples else grad
        if Op.kernel_allowed(grad) and (x_needs or weight_needs):  # the formulas below
            # (on the statistics the forward kernel returned; dL/dbias above: the kernel would
            # want the bias itself, which backward does not keep, only to shape its sum)
            grad_x, grad_weight, _ = torch.ops.aten.native_layer_norm_backward(
                grad, x, x.shape[x.ndim - ctx.dims :], ctx.example_mean, ctx.example_istd,
                weight, None, [x_needs, weight_needs, False],
            )  # fmt: skip
            return grad_x, grad_weight, grad_bias
        # mean and istd from x, as the docstring: in the graph under create_graph
        mean = x.mean(normalised, keepdim=True)
        istd = (((x - mean) ** 2).mean(normalised, keepdim=True) + ctx.eps).rsqrt()
        x_hat = (x - mean) * istd
        if weight_needs:
            grad_weight = (grad * x_hat).sum(examples) if examples else grad * x_hat
        if x_needs:
            g = grad if weight is None else grad * weight
            n = math.prod(x.shape[x.ndim - ctx.dims :])
            sum_g = g.sum(normalised, keepdim=True)
            sum_g_x_hat = (g * x_hat).sum(normalised, keepdim=True)
            grad_x = istd / n * (n * g - sum_g - x_hat * sum_g_x_hat)
        return grad_x, grad_weight, grad_bias

    @staticmethod
    def explain_failure(x: Any, weight: Any, bias: Any, **options: Any) -> Exception | None:
        if not x.dtype.is_floating_point:
            return TypeError(
                f"the input must be a floating-point tensor, got {x.dtype} of shape "
                f"{shape_str(x.shape)}. Convert it with .float() first."
            )
        for name, value in (("weight", weight), ("bias", bias)):
            if value is not None and value.dtype != x.dtype:
                return TypeError(
                    f"the input has dtype {x.dtype} but {name} has {value.dtype}: they must "
                    f"share one dtype. Convert the layer with .to({x.dtype}), or the input "
                    f"with .to({value.dtype})."
                )
        return None


class Dropout(Op):
    """out = x * mask: in training, each element zeroed with probability p, the rest scaled by
    1 / (1 - p).   dL/dx = G * mask.

    mask = 0 (probability p) or 1 / (1 - p): the expected value of out is x, so nothing needs
    rescaling in eval, where dropout is the identity. A dropped element passed nothing on, so it
    gets no gradient. `draw_mask` draws the mask as torch draws it on the CPU (bernoulli_(1 - p)
    then divided by 1 - p), so a seed gives torch's mask there. The mask is an argument of the
    op, drawn before it: it depends on no input, and so stays a constant under create_graph.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (mask,) = ctx.saved_tensors
        return grad * mask, None

    @staticmethod
    def draw_mask(x: torch.Tensor, p: float) -> torch.Tensor:
        """0 with probability p, 1 / (1 - p) otherwise, for each element of x."""
        if p == 1:
            return torch.zeros_like(x)
        return torch.empty_like(x).bernoulli_(1 - p).div_(1 - p)


class Draw(Op):
    """out = a random draw with parameters x.   dout/dx = 0, as in torch.

    bernoulli(x) draws 1 with probability x_i and 0 otherwise, poisson(x) a count with rate x_i.
    A draw is not a smooth function of its parameters (a small change of x_i changes out_i not a
    little but, rarely, by a whole 1), so nothing flows back through it.

    `function` draws from the torch tensor (with the caller's generator, on its device); `name`
    is torch's function, which torch's name for the node follows.
    """

    @staticmethod
    def node_name(ctx: Context) -> str:
        return {"bernoulli": "BernoulliBackward0", "poisson": "PoissonBackward0"}[ctx.function_name]

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, *, function: Callable[[torch.Tensor], Any], name: str
    ) -> torch.Tensor:
        ctx.function_name = name  # (not ctx.name: that is torch's method grad_fn.name())
        return function(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return grad.new_zeros(grad.shape)
