"""tril and triu: keep the lower (or upper) triangle of a matrix, zero the rest.

Each is a multiplication by a fixed 0/1 mask, so the gradient goes through the same mask.
"""

from __future__ import annotations

from typing import Any

import torch

from ..autograd.function import Context, Op
from ..errors import shape_str


class Tril(Op):
    """out = x where j - i <= diagonal, else 0 (the lower triangle).   grad: the same triangle.

    Over the last two dims, (i, j) = (row, column); leading dims are a batch of matrices.
    diagonal=0 keeps the main diagonal and below it, 1 one more diagonal above, -1 drops the main
    one. out = x * M with the fixed mask M[i, j] = 1 if j - i <= diagonal else 0, so for
    G = dL/dout, dL/dx = G * M: grad.tril(diagonal).
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, diagonal: int = 0) -> torch.Tensor:
        ctx.diagonal = diagonal
        return x.tril(diagonal)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return grad.tril(ctx.diagonal)

    @staticmethod
    def explain_failure(x: Any, diagonal: int = 0) -> str | None:
        return _needs_a_matrix("tril", x)


class Triu(Op):
    """out = x where j - i >= diagonal, else 0 (the upper triangle).   grad: the same triangle.

    out = x * M with M[i, j] = 1 if j - i >= diagonal else 0, so dL/dx = G * M:
    grad.triu(diagonal).
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, diagonal: int = 0) -> torch.Tensor:
        ctx.diagonal = diagonal
        return x.triu(diagonal)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return grad.triu(ctx.diagonal)

    @staticmethod
    def explain_failure(x: Any, diagonal: int = 0) -> str | None:
        return _needs_a_matrix("triu", x)


def _needs_a_matrix(name: str, x: Any) -> str | None:
    if x.ndim >= 2:
        return None
    return (
        f"{name} works on matrices (the last two dims), got a tensor of shape "
        f"{shape_str(x.shape)}. Make it a matrix first, e.g. x.unsqueeze(0)."
    )
