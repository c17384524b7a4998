"""Losses with an op of their own: the mean squared error, binary cross-entropy on
probabilities and on logits.

(The other losses are compositions of ops, in nn/functional.py; nll_loss is ops.NLLLoss.)
"""

from __future__ import annotations

from typing import Any

import torch

from ..autograd.function import Context, Op
from ..tensor import Tensor
from .unary import LogSigmoid


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
        weight: torch.Tensor | None = None,
        *,
        reduction: str = "mean",
    ) -> torch.Tensor:
        # The weight too, though it gets no gradient: changed in place before backward(), it
        # would give a gradient for weights the loss never used; saved, the change is caught.
        # (An argument, not an option: under create_graph it comes back as the constant it is.)
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
            grad_y = grad * -x.logit()
        return (grad_x, grad_y, None)[: len(ctx.needs_input_grad)]  # None: the weight, if given


class MSELoss(Op):
    """out = mean of (x - y)^2.   dout/dx = 2 (x - y) / n, dout/dy = 2 (y - x) / n.

    The mean over the n elements (reduction="mean"), or their sum ("sum", n = 1), or each
    squared difference ("none", n = 1), for input x and target y, which broadcast. One op, as
    torch's mse_loss (its node is MseLossBackward0), rather than a subtraction, a square and a
    mean: one node to walk back instead of three, and the formula in one line.
    """

    torch_name = "MseLossBackward0"

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, y: torch.Tensor, *, reduction: str = "mean"
    ) -> torch.Tensor:
        ctx.save_for_backward(x, y)
        ctx.reduction = reduction
        squares = (x - y) ** 2  # (torch's kernel: the same square of the same difference)
        if reduction == "none":
            return squares
        return squares.mean() if reduction == "mean" else squares.sum()

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        x, y = ctx.saved_tensors
        x_needs, y_needs = ctx.needs_input_grad
        difference = x - y
        norm = 2 / difference.numel() if ctx.reduction == "mean" else 2.0
        grad_x = norm * difference * grad if x_needs else None  # (torch's order of products)
        grad_y = norm * -difference * grad if y_needs else None
        return grad_x, grad_y


class BinaryCrossEntropyWithLogits(Op):
    """out_i = -w_i [p_i y_i log sigmoid(x_i) + (1 - y_i) log(1 - sigmoid(x_i))], for logits x
    and targets y, then the mean over the elements ("mean"), their sum ("sum") or each ("none");
    the weight w and the positive targets' weight p (pos_weight) are constants that broadcast to
    x's shape (1 where not given).

    dout_i/dx_i = w_i [(p_i y_i + 1 - y_i) sigmoid(x_i) - p_i y_i], which is w_i (sigmoid(x_i) -
    y_i) without p; dout_i/dy_i = w_i [log(1 - sigmoid(x_i)) - p_i log sigmoid(x_i)], which is
    -w_i x_i without p. The mean divides both by the number of elements.

    The loss is torch's kernel, which computes it as (1 - y) x + (1 + (p - 1) y) softplus(-x):
    no sigmoid rounded to 0 or 1, no log(0), however large |x|. The gradients take the logs
    stably too (log(1 - sigmoid(x)) = log sigmoid(-x)), and in torch's order, so that they are
    torch's numbers to the bit.
    """

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        y: torch.Tensor,
        weight: torch.Tensor | None = None,
        pos_weight: torch.Tensor | None = None,
        *,
        reduction: str = "mean",
    ) -> torch.Tensor:
        ctx.save_for_backward(x, y, weight, pos_weight)  # (the weights: see BinaryCrossEntropy)
        ctx.reduction = reduction
        return torch.nn.functional.binary_cross_entropy_with_logits(
            x, y, weight, reduction=reduction, pos_weight=pos_weight
        )

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        x, y, weight, p = ctx.saved_tensors
        x_needs, y_needs = ctx.needs_input_grad[:2]
        count = x.numel() if ctx.reduction == "mean" else None
        grad_x = grad_y = None
        if x_needs:
            slope = x.sigmoid() - y if p is None else (p * y + 1 - y) * x.sigmoid() - p * y
            grad_x = _weighted(slope * grad, weight, count)
        if y_needs:
            slope = -x if p is None else _log_sigmoid(-x) - _log_sigmoid(x) * p
            grad_y = _weighted(slope * grad, weight, count)
        return grad_x, grad_y, None, None


def _weighted(gradient: Any, weight: Any, count: int | None) -> Any:
    """The gradient times the weight, then divided by the count of a mean (torch's order)."""
    if weight is not None:
        gradient = gradient * weight
    return gradient / count if count is not None else gradient


def _log_sigmoid(x: Any) -> Any:
    """log sigmoid(x), stably, of a torch tensor; of a minigrad Tensor (backward under
    create_graph=True), as the op that records it."""
    return LogSigmoid.apply(x) if isinstance(x, Tensor) else torch.nn.functional.logsigmoid(x)
