"""Reductions: sum, mean, max, logsumexp, and log_softmax (a reduction in disguise).

A reduction's backward must undo the shrinking: put back the reduced dims (`keepdim`), then
expand the gradient over them, since every reduced element contributed to the output.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..autograd.function import Context, Function

Dims = int | Sequence[int] | None


def restore_reduced_dims(
    grad: torch.Tensor, shape: torch.Size, dim: Dims, keepdim: bool
) -> torch.Tensor:
    """Turn the gradient of a reduction's output back into the input's shape.

    (2, 3, 4) summed over dim 1 gives (2, 4): unsqueeze to (2, 1, 4), then expand to (2, 3, 4)
    (a view: no copy), so that each of the 3 summed elements receives the same gradient.
    """
    if dim is not None and not keepdim and len(shape) > 0:  # a 0-d tensor lost no dim
        dims = (dim,) if isinstance(dim, int) else dim
        for d in sorted(d % len(shape) for d in dims):
            grad = grad.unsqueeze(d)
    return grad.expand(shape)


class Sum(Function):
    """out = sum of x over dim.   dout/dx_i = 1 for every summed x_i."""

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, dim: Dims = None, keepdim: bool = False
    ) -> torch.Tensor:
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        return x.sum(dim=dim, keepdim=keepdim)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return restore_reduced_dims(grad, ctx.shape, ctx.dim, ctx.keepdim)


class Mean(Function):
    """out = sum of x over dim / n.   dout/dx_i = 1/n, n the number of averaged elements."""

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, dim: Dims = None, keepdim: bool = False
    ) -> torch.Tensor:
        out = x.mean(dim=dim, keepdim=keepdim)
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        ctx.n = x.numel() // max(out.numel(), 1)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return restore_reduced_dims(grad / ctx.n, ctx.shape, ctx.dim, ctx.keepdim)


class Max(Function):
    """out = the largest element of x.

    dout/dx_i = 1 for the maximum. When several elements tie for it, torch splits the gradient
    evenly between them, and so does minigrad: dout/dx_i = 1/k for each of the k ties.
    (When x holds a NaN, the maximum is NaN and the NaNs share the gradient, as in torch.)
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        out = x.max()
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        x, out = ctx.saved_tensors
        is_max = (x == out) | (x.isnan() & out.isnan())
        return grad * is_max / is_max.sum()


class MaxAlongDim(Function):
    """out[j] = x[indices[j], j] (for dim 0): the maximum along dim, at the index torch returned.

    The gradient goes to that one index, ties or not, as in torch's `x.max(dim)`.
    """

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, indices: torch.Tensor, dim: int, keepdim: bool = False
    ) -> torch.Tensor:
        if not keepdim:
            indices = indices.unsqueeze(dim)
        ctx.save_for_backward(indices)
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        out = x.gather(dim, indices)
        return out if keepdim else out.squeeze(dim)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (indices,) = ctx.saved_tensors
        if not ctx.keepdim:
            grad = grad.unsqueeze(ctx.dim)
        grad_x = torch.zeros(ctx.shape, dtype=grad.dtype, device=grad.device)
        return grad_x.scatter(ctx.dim, indices, grad), None


class LogSumExp(Function):
    """out = log(sum(e^x)) over dim, computed stably.   dout/dx_i = e^(x_i - out) = softmax(x)_i."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dim: Dims, keepdim: bool = False) -> torch.Tensor:
        out = torch.logsumexp(x, dim=dim, keepdim=keepdim)
        ctx.save_for_backward(x, out)
        ctx.dim, ctx.keepdim = dim, keepdim
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        x, out = ctx.saved_tensors
        grad = restore_reduced_dims(grad, x.shape, ctx.dim, ctx.keepdim)
        out = restore_reduced_dims(out, x.shape, ctx.dim, ctx.keepdim)
        return grad * torch.exp(x - out)


class LogSoftmax(Function):
    """out = x - logsumexp(x) along dim.

    dout_i/dx_j = [i == j] - softmax(x)_j, so the gradient is g - softmax(x) * sum(g),
    with softmax(x) = e^out (reusing the saved output).
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dim: int) -> torch.Tensor:
        out = torch.log_softmax(x, dim=dim)
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return grad - torch.exp(out) * grad.sum(dim=ctx.dim, keepdim=True)


class NLLLoss(Function):
    """out = -(1/n) * sum_i logp[i, t_i]: the mean negative log-likelihood of each row's class.

    dout/dlogp[i, j] = -1/n where j is row i's target t_i, else 0: the gradient reaches each
    row's target and nothing else. (The same as -logp[arange(n), t].mean() in three ops.)
    """

    @staticmethod
    def forward(ctx: Context, log_probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        picks = targets.unsqueeze(1)  # (n, 1): the column to pick in each row
        ctx.save_for_backward(picks)
        ctx.shape = log_probs.shape
        return -log_probs.gather(1, picks).mean()

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (picks,) = ctx.saved_tensors
        n = ctx.shape[0]
        grad_log_probs = torch.zeros(ctx.shape, dtype=grad.dtype, device=grad.device)
        return grad_log_probs.scatter_(1, picks, (-grad / n).expand(n, 1)), None
