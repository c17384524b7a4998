"""Matrix multiplication, with torch's rules for 1-D, 2-D and batched operands."""

from __future__ import annotations

from typing import Any

import torch

from ..autograd.function import Context, Function
from ..errors import matmul_mismatch


class MatMul(Function):
    """out = a @ b.   dL/da = G @ b^T,  dL/db = a^T @ G  (G = dL/dout).

    Shapes check it: a (n, k) @ b (k, m) = out (n, m), so G (n, m) @ b^T (m, k) is a's (n, k).
    A 1-D operand is treated as a matrix with one row (a) or one column (b), then that dim is
    dropped again; batch dims broadcast, and the engine sums their gradient back.
    """

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a_needs, b_needs = ctx.needs_input_grad
        ctx.save_for_backward(a if b_needs else None, b if a_needs else None)
        ctx.a_ndim, ctx.b_ndim = a.ndim, b.ndim
        return a @ b

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, b = ctx.saved_tensors
        a_needs, b_needs = ctx.needs_input_grad
        # Give 1-D operands (and the dims they removed from grad) back their matrix dim.
        if ctx.b_ndim == 1:
            grad = grad.unsqueeze(-1)
            b = b.unsqueeze(-1) if b is not None else None
        if ctx.a_ndim == 1:
            grad = grad.unsqueeze(-2)
            a = a.unsqueeze(0) if a is not None else None
        grad_a = grad @ b.mT if a_needs else None
        grad_b = a.mT @ grad if b_needs else None
        if ctx.a_ndim == 1 and grad_a is not None:
            grad_a = grad_a.squeeze(-2)
        if ctx.b_ndim == 1 and grad_b is not None:
            grad_b = grad_b.squeeze(-1)
        return grad_a, grad_b

    @staticmethod
    def explain_failure(a: Any, b: Any) -> str | None:
        return matmul_mismatch(tuple(a.shape), tuple(b.shape))
