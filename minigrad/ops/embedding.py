"""Embedding: a lookup table of rows, picked by integer indices (token ids, positions).

The forward picks rows; the backward sends each row's gradient back to the row it was picked
from, adding up where a row was picked several times: an index_add into zeros (`IndexAdd`), whose
own backward picks rows again (an Embedding), so that the pair can be differentiated again and
again (create_graph=True).
"""

from __future__ import annotations

from typing import Any

import torch

from ..autograd.function import Context, Op
from ..tensor import Tensor, unwrap


class Embedding(Op):
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
        # weight[indices], except that a negative index is refused rather than counted from
        # the end (torch's embedding refuses it too)
        rows = weight.index_select(0, indices.reshape(-1))
        return rows.reshape(*indices.shape, weight.shape[1])

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (indices,) = ctx.saved_tensors
        rows = unwrap(indices).reshape(-1)  # the row each position picked (no gradient)
        grads = grad.reshape(rows.numel(), ctx.weight_shape[1])  # G[p], one per position
        if ctx.scale_grad_by_freq:  # each G[p] divided by the count of its index
            counts = torch.bincount(rows, minlength=ctx.weight_shape[0])
            grads = grads * (1.0 / counts[rows].to(grads.dtype)).unsqueeze(1)
        grad_weight = rows_added(grads, rows, ctx.weight_shape)
        if ctx.padding_idx is not None:  # the padding row gets nothing
            grad_weight[ctx.padding_idx] = 0
        return grad_weight, None

    @staticmethod
    def explain_failure(weight: Any, indices: Any, *options: Any, **named: Any) -> Exception | None:
        """Only when the lookup failed: which index, and the rows there are (a check before
        every lookup would wait for the GPU to read the indices)."""
        rows = weight.shape[0]
        outside = indices[(indices < 0) | (indices >= rows)]
        if outside.numel() == 0:
            return None
        return IndexError(
            f"index {outside[0].item()} is out of range for a table of num_embeddings={rows} "
            f"rows (indices must be in [0, {rows - 1}]). Is num_embeddings (the vocabulary "
            "size) large enough?"
        )


def rows_added(grads: Any, rows: torch.Tensor, shape: torch.Size) -> Any:
    """zeros(shape) with each grads[p] added into row rows[p] (repeats add up): the adjoint of
    looking rows up. By torch's index_add_ for a torch tensor (the first-order backward), by the
    op IndexAdd for a minigrad Tensor (create_graph=True)."""
    if isinstance(grads, Tensor):
        return IndexAdd.apply(grads, rows, shape=shape)
    zeros = torch.zeros(shape, dtype=grads.dtype, device=grads.device)
    return zeros.index_add_(0, rows, grads)


class IndexAdd(Op):
    """out = zeros of `shape` with values[p] added into row rows[p].   grad: G's rows looked up.

    torch's index_add along dim 0, into zeros: rows named several times add up their values. It
    is the adjoint of the lookup, Embedding's backward: out = one_hot(rows)^T @ values, so
    dL/dvalues = one_hot(rows) @ G, whose row p is G[rows[p]]: an embedding lookup of G.
    """

    @staticmethod
    def forward(
        ctx: Context, values: torch.Tensor, rows: torch.Tensor, shape: torch.Size
    ) -> torch.Tensor:
        ctx.save_for_backward(rows)
        return rows_added(values, rows, shape)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (rows,) = ctx.saved_tensors
        return looked_up(grad, rows), None


def looked_up(table: Any, rows: Any) -> Any:
    """The rows of a table that `rows` names, table.index_select(0, rows): by torch for a torch
    tensor, by the op Embedding for a minigrad Tensor (create_graph=True)."""
    if isinstance(table, Tensor):
        return Embedding.apply(table, rows)
    return table.index_select(0, rows)
