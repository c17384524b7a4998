"""Losses that need an op of their own: binary cross-entropy on probabilities.

(The other losses are compositions of ops, in nn/functional.py; nll_loss is ops.NLLLoss.)
"""

from __future__ import annotations

import torch

from ..autograd.function import Context, Op


class BinaryCrossEntropy(Op):
    """out_i = -w_i [y_i log x_i + (1 - y_i) log(1 - x_i)], for probabilities x and targets y,
    then the mean over the elements (reduction="mean"), their sum ("sum") or each ("none");
    the weight w (1 if not given) is a constant that broadcasts to x's shape.
    Each log is kept >= -100, as torch's, so an x of exactly 0 or 1 gives a large finite loss.

    dout_i/dx_i = w_i (x_i - y_i) / (x_i (1 - x_i)), the denominator kept >= 1e-12 (as torch):
    an x of 0 or 1 (a saturated sigmoid in float32) gives a large finite gradient. Written as a
    composition of log ops instead, such an x would give 0 * inf = NaN.
    dout_i/dy_i = -w_i log(x_i / (1 - x_i)). The mean divides both by the number of elements.
    """

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        weight: torch.Tensor | None = None,
        reduction: str = "mean",
    ) -> torch.Tensor:
        # The weight too, though it gets no gradient: changed in place before backward(), it
        # would give a gradient for weights the loss never used; saved, the change is caught.
        ctx.save_for_backward(x, y, weight)
        ctx.reduction = reduction
        return torch.nn.functional.binary_cross_entropy(x, y, weight, reduction=reduction)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        x, y, weight = ctx.saved_tensors
        if ctx.reduction == "mean":
            grad = grad / x.numel()
        if weight is not None:
            grad = grad * weight
        grad_x = grad_y = None
        if ctx.needs_input_grad[0]:
            grad_x = grad * (x - y) / ((1 - x) * x).clamp_min(1e-12)
        if ctx.needs_input_grad[1]:
            grad_y = grad * -torch.logit(x)
        return grad_x, grad_y
