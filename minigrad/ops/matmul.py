"""Matrix multiplication, with torch's rules for 1-D, 2-D and batched operands; and nn.Linear's
fused x @ W^T + b."""

from __future__ import annotations

from typing import Any

import torch

from ..autograd.function import Context, Op
from ..errors import dtype_mismatch, matmul_mismatch, shape_str


class MatMul(Op):
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
    def explain_failure(a: Any, b: Any) -> str | Exception | None:
        return dtype_mismatch(a, b) or matmul_mismatch(tuple(a.shape), tuple(b.shape))


class Linear(Op):
    """out = x @ W^T + b, what nn.Linear computes (W: (out_features, in_features), b: (out,)).

    The same maths as MatMul then Add, in torch's one fused kernel (addmm), as torch's nn.Linear:
    dL/dx = G @ W,   dL/dW = G^T @ x,   dL/db = G summed over the batch,
    where every batch dim of x and G is first flattened into rows.
    """

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
    ) -> torch.Tensor:
        x_needs, weight_needs = ctx.needs_input_grad[:2]
        ctx.save_for_backward(x if weight_needs else None, weight if x_needs else None)
        return torch.nn.functional.linear(x, weight, bias)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        x, weight = ctx.saved_tensors
        x_needs, weight_needs, *bias_needs = ctx.needs_input_grad  # bias: if one was given
        rows = grad.reshape(-1, grad.shape[-1])  # one row per example, whatever the batch dims
        grad_x = grad @ weight if x_needs else None
        grad_weight = rows.mT @ x.reshape(-1, x.shape[-1]) if weight_needs else None
        if not bias_needs:  # no bias argument
            return grad_x, grad_weight
        grad_bias = rows.sum(0) if bias_needs[0] else None
        return grad_x, grad_weight, grad_bias

    @staticmethod
    def explain_failure(x: Any, weight: Any, bias: Any = None) -> str | Exception | None:
        problem = dtype_mismatch(x, weight, "the input", "the layer's weight")
        if problem:
            return problem
        return (
            f"linear: x of shape {shape_str(x.shape)} and weight of shape "
            f"{shape_str(weight.shape)}: x's last dim must equal the weight's in_features "
            f"(its dim 1), and the bias must have out_features (weight's dim 0) elements."
        )
