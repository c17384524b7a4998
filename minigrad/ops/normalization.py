"""Batch normalisation and dropout: the layers that behave differently in training and in eval."""

from __future__ import annotations

import torch

from ..autograd.function import Context, Function


class BatchNorm(Function):
    """Normalise each channel (dim 1) over the batch, then scale and shift it.

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

    (In eval, mean and var are constants: dL/dx = weight * istd * G.)
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
        # torch's fused kernel does the forward above in one pass (and moves the running
        # statistics); in training it also returns the batch's mean and istd, kept for backward.
        out, mean, istd = torch.native_batch_norm(
            x, weight, bias, running_mean, running_var, training, momentum, eps
        )
        if not training:
            mean, istd = running_mean, (running_var + eps).rsqrt()
        ctx.save_for_backward(x, mean, istd, weight)
        ctx.training = training
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        x, mean, istd, weight = ctx.saved_tensors
        x_needs, weight_needs, bias_needs, *_ = ctx.needs_input_grad
        dims = [0, *range(2, x.ndim)]  # all but the channels
        shape = [1, -1] + [1] * (x.ndim - 2)  # a per-channel value, broadcast over the rest
        centred = x - mean.view(shape)  # x_hat = centred * istd
        grad_bias = grad.sum(dims)
        grad_weight = (grad * centred).sum(dims) * istd
        grad_x = None
        if x_needs:
            scale = istd if weight is None else istd * weight
            if ctx.training:
                # The line above as a * G + b * (x - mean) + c, with a, b, c per channel, so
                # that it takes two fused passes (addcmul: u + v * w) instead of six.
                n = grad.numel() // grad.shape[1]
                b, c = -scale * istd * grad_weight / n, -scale * grad_bias / n
                grad_x = torch.addcmul(c.view(shape), b.view(shape), centred)
                grad_x = grad_x.addcmul_(scale.view(shape), grad)
            else:
                grad_x = scale.view(shape) * grad
        return (
            grad_x,
            grad_weight if weight_needs else None,
            grad_bias if bias_needs else None,
            None,
            None,
        )


class Dropout(Function):
    """Training: zero each element with probability p, scale the rest by 1 / (1 - p).

    out = x * mask, with mask = 0 (probability p) or 1 / (1 - p): the expected value of out is x,
    so nothing needs rescaling in eval, where dropout is the identity. The mask is saved for
    backward: dL/dx = G * mask (a dropped element passed nothing on, so it gets no gradient).
    The mask is drawn as torch draws it on the CPU (bernoulli_(1 - p) then divided by 1 - p), so
    a seed gives torch's mask there.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, p: float) -> torch.Tensor:
        if p == 1:
            mask = torch.zeros_like(x)
        else:
            mask = torch.empty_like(x).bernoulli_(1 - p).div_(1 - p)
        ctx.save_for_backward(mask)
        return x * mask

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (mask,) = ctx.saved_tensors
        return grad * mask, None
