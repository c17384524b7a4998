"""Embedding, and the ops that read or write whole slices along a dim at a vector of indices:
index_select, index_add, index_copy, index_fill; and unfold, whose windows are such slices.

An embedding is a lookup table of rows picked by integer indices (token ids, positions), and
index_select picks slices along any dim the same way. The backward of a pick sends each slice's
gradient back to the place it was picked from, adding up where a place was picked several
times: an index_add into zeros (`index_added`, the op `IndexAdd`), whose own backward picks the
slices again (`IndexSelect`), so that the pair can be differentiated again and again
(create_graph=True). index_copy and index_fill overwrite slices: their backward zeros the
overwritten slices of the gradient (an index_fill of 0, linear, so its own adjoint) and picks
the copied ones for the source.
"""

from __future__ import annotations

from typing import Any

import torch

from ..autograd.function import Context, Op
from ..tensor import Tensor, unwrap
from .shape import index_outside


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
        grad_weight = index_added(grads, ctx.weight_shape, 0, rows)
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


class IndexSelect(Op):
    """out = x's slices along dim at `index`, in its order.   dL/dx = G's slices added back.

    dL/dx is zeros with G's slice k added into place index[k] (an index_add): a slice picked k
    times gets k gradients.

    x.index_select(0, index) is one_hot(index) @ x for a matrix x, so dL/dx = one_hot(index)^T
    @ G: the slice G[k] added into place index[k], repeats adding up, and 0 for a slice never
    picked. That index_add into zeros is the op IndexAdd, whose backward picks again. As
    torch's, an index must lie in [0, size): a negative one is refused, not counted from the
    end.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dim: int, index: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(index)
        ctx.shape, ctx.dim = x.shape, dim
        return x.index_select(dim, index)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (index,) = ctx.saved_tensors
        return index_added(grad, ctx.shape, ctx.dim, index), None, None

    @staticmethod
    def explain_failure(x: Any, dim: int, index: Any) -> Exception | None:
        return index_outside("index_select", x, dim, index, IndexError, negatives_count=False)


def index_added(values: Any, shape: torch.Size, dim: int, index: Any) -> Any:
    """zeros(shape) with values' slice k along dim added into place index[k] (repeats add up):
    the adjoint of index_select. By torch's index_add_ for a torch tensor (the first-order
    backward), by the op IndexAdd for a minigrad Tensor (create_graph=True)."""
    if isinstance(values, Tensor):
        return IndexAdd.apply(Tensor(values._data.new_zeros(shape)), dim, index, values)
    zeros = torch.zeros(shape, dtype=values.dtype, device=values.device)
    return zeros.index_add_(dim, unwrap(index), values)


def selected(grad: Any, dim: int, index: Any, shape: torch.Size) -> Any:
    """G's slices at index along dim, as the gradient of a source of `shape`: G.index_select
    (the op IndexSelect on a minigrad Tensor), reshaped where torch took a 0-d source for one
    slice."""
    picked = grad.index_select(dim, index)
    return picked if picked.shape == shape else picked.reshape(shape)


class UnfoldDim(Op):
    """out[..., i, ..., k] = x[..., i * step + k, ...]: the windows of `size` places along dim,
    one every `step`, each window's places in a new last dim.   dL/dx = each window's gradient
    added back at its places.

    The windows are x.index_select(dim, places) for the places i * step + k, laid out so: the
    gradient is G's windows added back at those places (an index_add into zeros), and places in
    windows that overlap (step < size) get the gradient of each window they are in.
    """

    torch_name = "UnfoldBackward0"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dim: int, size: int, step: int) -> torch.Tensor:
        out = x.unfold(dim, size, step)  # (a view: torch's checks of dim, size and step)
        ctx.shape, ctx.dim, ctx.step = x.shape, dim % max(x.ndim, 1), step
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        if not ctx.shape:  # a number unfolds to one window of one place (or of none)
            return grad.sum()
        windows, size = grad.shape[ctx.dim], grad.shape[-1]
        device = unwrap(grad).device
        starts = torch.arange(windows, device=device) * ctx.step
        places = (starts[:, None] + torch.arange(size, device=device)).reshape(-1)
        laid_out = grad.movedim(-1, ctx.dim + 1).flatten(ctx.dim, ctx.dim + 1)  # window by window
        return index_added(laid_out, ctx.shape, ctx.dim, places)


class AsStrided(Op):
    """out[i] = the element at place storage_offset + sum_k i_k * stride_k of x's memory: that
    memory seen with another shape and strides (a view, as torch's as_strided; places count in
    elements from the start of the memory, and storage_offset is x's own when not given).
    dL/dx = at each place, the sum of the gradients of the outputs read from it, for the
    element of x at that place.

    `places(t)` numbers each element of t by its place. The gradient is G added at the places
    the output read (an index_add into zeros: windows that overlap read a place more than once,
    and get the gradient of each), then read at x's own places. Where x holds one place several
    times (an expanded tensor), its elements there share that place's gradient equally, as in
    torch.
    """

    torch_name = "AsStridedBackward0"

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        size: tuple[int, ...],
        stride: tuple[int, ...],
        storage_offset: int | None = None,
    ) -> torch.Tensor:
        out = x.as_strided(size, stride, storage_offset)  # (a view: torch's bounds checks)
        ctx.read, ctx.held = _geometry(out), _geometry(x)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        device, dtype = unwrap(grad).device, unwrap(grad).dtype
        read, held = places(*ctx.read, device), places(*ctx.held, device)
        length = 1 + max(_last_place(*ctx.read), _last_place(*ctx.held))
        summed = index_added(grad.reshape(-1), (length,), 0, read.reshape(-1))
        if _may_overlap(*ctx.held):  # x may hold a place more than once: an equal share each
            shares = torch.zeros(length, dtype=dtype, device=device)
            ones = torch.ones(held.numel(), dtype=dtype, device=device)
            shares = shares.index_add_(0, held.reshape(-1), ones)
            shares = shares.clamp_min(1)
            summed = summed / (Tensor(shares) if isinstance(summed, Tensor) else shares)
        return summed[held]

    @staticmethod
    def explain_failure(
        x: Any, size: Any, stride: Any, storage_offset: int | None = None
    ) -> str | None:
        data = unwrap(x)
        offset = data.storage_offset() if storage_offset is None else storage_offset
        if len(tuple(size)) != len(tuple(stride)):
            return (
                f"as_strided takes one stride per dim of size: size {tuple(size)} has "
                f"{len(tuple(size))} dims, stride {tuple(stride)} has {len(tuple(stride))}."
            )
        last = _last_place(tuple(size), tuple(stride), offset)
        memory = data.untyped_storage().nbytes() // data.element_size()
        if last >= memory:
            return (
                f"as_strided(size={tuple(size)}, stride={tuple(stride)}, storage_offset="
                f"{offset}) reads up to place {last} of a memory of {memory} elements (places "
                f"0 to {memory - 1}): the last place read is storage_offset + the sum of "
                "(size_k - 1) * stride_k. Ask for fewer elements, or closer ones."
            )
        return None


Geometry = tuple[tuple[int, ...], tuple[int, ...], int]  # shape, strides, offset in memory


def _geometry(t: torch.Tensor) -> Geometry:
    return tuple(t.shape), tuple(t.stride()), t.storage_offset()


def _last_place(shape: tuple[int, ...], stride: tuple[int, ...], offset: int) -> int:
    return offset + sum((n - 1) * s for n, s in zip(shape, stride)) if all(shape) else offset


def places(
    shape: tuple[int, ...], stride: tuple[int, ...], offset: int, device: torch.device
) -> torch.Tensor:
    """The place in memory (in elements) of each element of a tensor of that geometry."""
    last = _last_place(shape, stride, offset)
    return torch.arange(last + 1, device=device).as_strided(shape, stride, offset)


def _may_overlap(shape: tuple[int, ...], stride: tuple[int, ...], offset: int) -> bool:
    """Whether two elements of a tensor of that geometry may share a place: not when each dim's
    stride, smallest first, passes every place the dims before it reach (a dense or sliced
    tensor, in any order of its dims); perhaps otherwise (an expanded one: stride 0)."""
    reach = 0
    for s, n in sorted((s, n) for n, s in zip(shape, stride) if n > 1):
        if s <= reach:
            return True
        reach += (n - 1) * s
    return False


class IndexAdd(Op):
    """out = x with source's slices added at index along dim, times alpha.   dL/dx = G,
    dL/dsource = alpha * G.index_select(dim, index).

    out[..., index[k], ...] += alpha * source[..., k, ...] along dim, slices named several times
    adding up all their sources (torch's index_add). out is x plus a linear function of
    source, the adjoint of index_select: so x's gradient is G, and source's slice k gets G at
    the place it was added to, alpha times: G's slices picked at index (IndexSelect). Into zeros
    (`index_added`) it is the backward of Embedding and of IndexSelect.
    """

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        dim: int,
        index: torch.Tensor,
        source: torch.Tensor,
        alpha: float = 1,
    ) -> torch.Tensor:
        ctx.save_for_backward(index)
        ctx.dim, ctx.alpha, ctx.source_shape = dim, alpha, source.shape
        return x.index_add(dim, index, source, alpha=alpha)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (index,) = ctx.saved_tensors
        grad_source = None
        if ctx.needs_input_grad[3]:
            grad_source = selected(grad, ctx.dim, index, ctx.source_shape)
            if ctx.alpha != 1:
                grad_source = grad_source * ctx.alpha
        return grad if ctx.needs_input_grad[0] else None, None, None, grad_source

    @staticmethod
    def explain_failure(x: Any, dim: int, index: Any, source: Any, alpha: float = 1) -> Any:
        return index_outside("index_add", x, dim, index, RuntimeError, negatives_count=False)


class IndexCopy(Op):
    """out = x with its slices at index along dim replaced by source's.   dL/dx = G with those
    slices zeroed (index_fill 0), dL/dsource = G.index_select(dim, index).

    out[..., index[k], ...] = source[..., k, ...] (torch's index_copy; a slice named twice gets
    one of its sources, which torch leaves unsaid). The overwritten slices of x no longer reach
    out, so their gradient is 0; source's slice k is out's slice index[k], so its gradient is
    G's slice there.
    """

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, dim: int, index: torch.Tensor, source: torch.Tensor
    ) -> torch.Tensor:
        ctx.save_for_backward(index)
        ctx.dim, ctx.source_shape = dim, source.shape
        return x.index_copy(dim, index, source)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (index,) = ctx.saved_tensors
        grad_x = grad.index_fill(ctx.dim, index, 0) if ctx.needs_input_grad[0] else None
        grad_source = None
        if ctx.needs_input_grad[3]:
            grad_source = selected(grad, ctx.dim, index, ctx.source_shape)
        return grad_x, None, None, grad_source

    @staticmethod
    def explain_failure(x: Any, dim: int, index: Any, source: Any) -> Exception | None:
        return index_outside("index_copy", x, dim, index, IndexError, negatives_count=False)


class IndexFill(Op):
    """out = x with its slices at index along dim set to value.   dL/dx = G with those slices
    zeroed, dL/dvalue (a 0-d tensor) = the sum of G over the filled slices.

    out[..., index[k], ...] = value everywhere in the slice (torch's index_fill; as torch's, a
    negative index counts from the end here). x's filled slices no longer reach out: gradient
    0. The value is every element of the filled slices, so its gradient is the sum of G there,
    each slice once, however many times index names it (the unique slices, picked and summed).
    """

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, dim: int, index: torch.Tensor, value: Any
    ) -> torch.Tensor:
        ctx.save_for_backward(index)
        ctx.dim, ctx.size = dim, max(x.shape[dim] if x.ndim else 1, 1)
        return x.index_fill(dim, index, value)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (index,) = ctx.saved_tensors
        grad_x = grad.index_fill(ctx.dim, index, 0) if ctx.needs_input_grad[0] else None
        grad_value = None
        if ctx.needs_input_grad[3]:
            # each filled slice once: -1 and size - 1 name the same one
            slices = (unwrap(index).reshape(-1) % ctx.size).unique()
            grad_value = grad.index_select(ctx.dim, slices).sum()
        return grad_x, None, None, grad_value

    @staticmethod
    def explain_failure(x: Any, dim: int, index: Any, value: Any) -> Exception | None:
        return index_outside("index_fill", x, dim, index, IndexError, negatives_count=True)
