"""Embedding: a lookup table of rows, picked by integer indices (token ids, positions).

The forward picks rows; the backward sends each row's gradient back to the row it was picked
from, adding up where a row was picked several times.
"""

from __future__ import annotations

import torch

from ..autograd.function import Context, Function


class Embedding(Function):
    """out[p] = weight[indices[p]].   dL/dweight[r] = the sum of G[p] over every p with
    indices[p] = r.

    One row of weight (num_embeddings, embedding_dim) per index, for `indices` of any shape:
    out has shape indices.shape + (embedding_dim,). The lookup is the matrix product
    one_hot(indices) @ weight, without making the one-hot matrix; so, for G = dL/dout, the
    gradient of weight is one_hot(indices)^T @ G, whose row r adds up the G[p] of the positions
    that picked row r (0 for a row never picked). `index_add_` computes that sum: it adds each
    G[p] into row indices[p], and repeated indices add up. The indices get no gradient.

    Options, as torch's: `padding_idx` names a row that gets no gradient (a padding token keeps
    its vector: the terms with indices[p] = padding_idx are left out of the sum);
    `scale_grad_by_freq` divides each G[p] by the number of times its index occurs in `indices`.
    """

    @staticmethod
    def forward(
        ctx: Context,
        weight: torch.Tensor,
        indices: torch.Tensor,
        padding_idx: int | None = None,
        scale_grad_by_freq: bool = False,
    ) -> torch.Tensor:
        ctx.save_for_backward(indices)  # (saved so that a change in place is caught)
        ctx.weight_shape = weight.shape
        ctx.padding_idx, ctx.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        return weight[indices]

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (indices,) = ctx.saved_tensors
        rows = indices.reshape(-1)  # the row each position picked
        grads = grad.reshape(rows.numel(), ctx.weight_shape[1])  # G[p], one per position
        if ctx.scale_grad_by_freq:  # each G[p] divided by the count of its index
            counts = torch.bincount(rows, minlength=ctx.weight_shape[0])
            grads = grads * (1.0 / counts[rows].to(grads.dtype)).unsqueeze(1)
        if ctx.padding_idx is not None:  # the padding row gets nothing
            kept = rows != ctx.padding_idx
            rows, grads = rows[kept], grads[kept]
        grad_weight = torch.zeros(ctx.weight_shape, dtype=grad.dtype, device=grad.device)
        return grad_weight.index_add_(0, rows, grads), None
