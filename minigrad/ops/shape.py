"""Ops that move values around without changing them: reshape, transpose, indexing, cat...

Their backward moves the gradient back to where each value came from. Each op is linear, and
its backward is its adjoint (the transpose of its matrix), linear too: a reshape, transpose or
permute is undone by the same op (reshaped back, swapped back, the inverse permutation); an
expand or a repeat by a sum over the copies; cat and stack by cutting the gradient into its
pieces (split, unbind: slices, so indexing). Indexing and gather pick elements, so their
adjoints add each gradient back at the place it was picked from, into zeros: `AddAt` (an
accumulating index-put) and `ScatterAdd`. These two are ops too, whose backward picks again
(indexing, gather): the pairs close on themselves, so that a backward run with
create_graph=True can be differentiated again, as often as one likes.
"""

from __future__ import annotations

from math import prod
from typing import Any

import torch

from ..autograd.engine import sum_to_shape
from ..autograd.function import Context, Function, Op
from ..errors import shape_str
from ..tensor import Tensor, unwrap


class Reshape(Op):
    """out = x with a new shape (same values, same order).   grad: reshaped back."""

    @staticmethod
    def node_name(ctx: Context) -> str:
        return "UnsafeViewBackward0" if ctx.copied else "ViewBackward0"  # (torch's)

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        ctx.shape = x.shape
        out = x.reshape(shape)
        ctx.copied = out._base is None  # (x could not be viewed in that shape)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return grad.reshape(ctx.shape)

    @staticmethod
    def explain_failure(x: Any, shape: tuple[int, ...]) -> str | None:
        return (
            f"cannot reshape a tensor of shape {shape_str(x.shape)} ({x.numel()} elements) to "
            f"{shape_str(shape)}: a reshape keeps the number of elements (one dim may be -1)."
        )


class View(Reshape):
    """out = x's own memory seen with a new shape, never a copy.   grad: reshaped back.

    As torch's view, it refuses where x's elements do not lie in memory in the order the new
    shape reads them (a transpose, some slices), where a reshape would copy them.
    """

    node_name = Function.node_name  # (torch's name: the op's own, not Reshape's)

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        ctx.shape = x.shape
        return x.view(shape)

    @staticmethod
    def explain_failure(x: Any, shape: tuple[int, ...]) -> str | None:
        if not holds(shape, x.numel()):
            return (
                f"cannot view a tensor of shape {shape_str(x.shape)} ({x.numel()} elements) as "
                f"{shape_str(shape)}: a view keeps the number of elements (one dim may be -1)."
            )
        asked = ", ".join(str(n) for n in shape)
        return (
            f"cannot view a tensor of shape {shape_str(x.shape)} (strides {x.stride()}) as "
            f"{shape_str(shape)}: a view never copies, so the new shape must read the elements "
            "in the order they lie in memory, and these do not (a transpose, or a slice of "
            f"another tensor). Use .reshape({asked}), which copies when it must, or "
            f".contiguous().view({asked})."
        )


def holds(shape: tuple[int, ...], count: int) -> bool:
    """Whether `shape` (one dim may be -1, worked out from the others) holds `count` elements."""
    known = prod(n for n in shape if n != -1)
    if -1 in shape:
        return known != 0 and count % known == 0
    return known == count


class Unsqueeze(Reshape):
    """out = x with a new dim of size 1 at `dim`.   grad: reshaped back."""

    node_name = Function.node_name  # (torch's name: the op's own, not Reshape's)

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dim: int) -> torch.Tensor:
        ctx.shape = x.shape
        return x.unsqueeze(dim)

    explain_failure = Function.explain_failure


class Squeeze(Reshape):
    """out = x without its size-1 dims (or only `dim`).   grad: reshaped back."""

    @staticmethod
    def node_name(ctx: Context) -> str:
        form = 0 if ctx.dim is None else 1 if isinstance(ctx.dim, int) else 2  # (torch's)
        return f"SqueezeBackward{form}"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dim: int | None = None) -> torch.Tensor:
        ctx.shape, ctx.dim = x.shape, dim
        return x.squeeze() if dim is None else x.squeeze(dim)

    explain_failure = Function.explain_failure


class Transpose(Op):
    """out = x with dims dim0 and dim1 swapped.   grad: swapped back."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dim0: int, dim1: int) -> torch.Tensor:
        ctx.dims = (dim0, dim1)
        return x.transpose(dim0, dim1)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return grad.transpose(*ctx.dims)


class MatrixTranspose(Op):
    """out = x.t(): a matrix transposed (a vector or a number left as it is).   grad: G.t().

    Transpose of dims 0 and 1, under torch's own op for matrices (its node TBackward0)."""

    torch_name = "TBackward0"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        return x.t()

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return grad.t()


class Permute(Op):
    """out = x with its dims reordered.   grad: reordered back (the inverse permutation)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
        ctx.dims = dims
        return x.permute(dims)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        inverse = sorted(range(len(ctx.dims)), key=lambda i: ctx.dims[i] % len(ctx.dims))
        return grad.permute(inverse)


class Flip(Op):
    """out = x with the order of its elements reversed along each of dims.   grad: flipped back.

    Its own adjoint: the value at place i of out came from place n - 1 - i of x, so the gradient
    there goes back by the same reversal (cumsum's backward flips, sums, flips back).
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
        ctx.dims = dims
        return x.flip(dims)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return grad.flip(ctx.dims)


class Expand(Op):
    """out = x repeated along its size-1 dims (broadcasting, made explicit).

    Each x element is used many times, so its gradient is the sum over its copies: the backward
    of broadcasting is a sum (over the new dims and the stretched ones). A sum's own backward is
    an expand: the two are each other's adjoint.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        ctx.shape = x.shape
        return x.expand(shape)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return sum_to_shape(grad, ctx.shape)


def is_basic_key(key: Any) -> bool:
    """Basic indexing (ints, slices, None, ...) picks each element at most once."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(isinstance(k, (int, slice)) or k is None or k is Ellipsis for k in parts)


def key_tensors(key: Any) -> list[torch.Tensor]:
    """The index tensors in a key (x[rows, 1:], x[mask]): saved so that a change is caught."""
    parts = key if isinstance(key, tuple) else (key,)
    return [k for k in parts if isinstance(k, torch.Tensor)]


def is_tensors_only_key(key: Any) -> bool:
    """Advanced indexing by tensors alone (x[rows, cols], x[mask]): no slices mixed in."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(isinstance(k, torch.Tensor) for k in parts)


class Index(Op):
    """out = x[key], for slices, ints, integer arrays and boolean masks.

    The gradient of each picked element goes back to the place it was picked from; an element
    picked twice (x[[0, 0]]) gets both gradients, added.

    That is dL/dx = zeros with G added at [key]: `added_at`, an accumulating index-put, whose op
    (AddAt) has indexing again as its backward.
    """

    @staticmethod
    def node_name(ctx: Context) -> str:
        """torch's: x[key] of ints, slices and None is torch's last view of them (x[0] is
        SelectBackward0, x[1:3] SliceBackward0, x[:, None] UnsqueezeBackward0; a `:` or ... makes
        none, and x[...] is AliasBackward0); a key with a tensor or list is IndexBackward0."""
        if type(ctx.key) is slice:
            return "SliceBackward0"  # (torch slices even x[:] when the key is one slice)
        name = "Alias"
        for part in ctx.key if type(ctx.key) is tuple else (ctx.key,):
            if type(part) is int:
                name = "Select"
            elif part is None:
                name = "Unsqueeze"
            elif type(part) is slice and part != slice(None):
                name = "Slice"
            elif part is not Ellipsis and type(part) is not slice:
                return "IndexBackward0"  # (a tensor, a list, a bool)
        return f"{name}Backward0"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, key: Any) -> torch.Tensor:
        ctx.shape, ctx.key = x.shape, key
        # Saved only so that an index tensor changed in place before backward() is caught.
        ctx.save_for_backward(*key_tensors(key))
        return x[key]

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        if key_tensors(ctx.key):  # (a key of slices and ints saved nothing: it can run twice)
            _ = ctx.saved_tensors  # raises if an index tensor in the key changed since forward
        return added_at(grad, ctx.shape, ctx.key)


def added_at(values: Any, shape: torch.Size, key: Any) -> Any:
    """zeros(shape) with `values` added at [key], repeats adding up: the adjoint of x[key].

    A torch tensor (the first-order backward) is placed by torch directly; a minigrad Tensor
    (create_graph=True) through the op AddAt, so that the result can be differentiated again.
    """
    if isinstance(values, Tensor):
        return AddAt.apply(values, shape=shape, key=key)
    out = torch.zeros(shape, dtype=values.dtype, device=values.device)
    if is_basic_key(key):  # no element repeats: place the values directly
        out[key] = values
        return out
    if is_tensors_only_key(key) and not _has_scalar_mask(key):  # x[rows, cols]: torch adds
        indices = key if isinstance(key, tuple) else (key,)  # at the picked places itself
        return out.index_put_(indices, values, accumulate=True)
    # Index an array of flat positions with the same key to learn where each value goes, then
    # add the values at those positions: repeats add up.
    positions = torch.arange(out.numel(), device=values.device).reshape(shape)[key]
    out.view(-1).index_add_(0, positions.reshape(-1), values.reshape(-1))
    return out


def _has_scalar_mask(key: Any) -> bool:
    """A 0-d boolean index (x[x > 0] for a 0-d x): it adds a dim of 1 or 0 places, which
    index_put_ refuses (torch's own backward takes another path there too)."""
    parts = key if isinstance(key, tuple) else (key,)
    return any(k.ndim == 0 and k.dtype == torch.bool for k in parts)


class AddAt(Op):
    """out = zeros of `shape` with the values added at out[key].   grad: G read at [key].

    An accumulating index-put (torch's index_put_(indices, values, accumulate=True), for any
    key): where the key picks a place more than once, the values sent there add up. It is the
    adjoint of indexing, Index's backward. out is linear in the values, out[p] = the sum of the
    values[i] that the key sends to p, so dL/dvalues[i] = G at the place i went to: the gradient
    read back at [key], indexing again.
    """

    @staticmethod
    def forward(ctx: Context, values: torch.Tensor, shape: torch.Size, key: Any) -> torch.Tensor:
        ctx.key = key
        ctx.save_for_backward(*key_tensors(key))  # an index tensor changed later is caught
        return added_at(values, shape, key)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        if key_tensors(ctx.key):
            _ = ctx.saved_tensors  # raises if an index tensor in the key changed since forward
        return grad[ctx.key]


class Gather(Op):
    """out[i][j] = x[index[i][j]][j] for dim 0 (x[i][index[i][j]] for dim 1, and so on): along
    dim, each output element picks the x element that `index` names.

    The gradient of each output element goes back to the element it picked; elements picked
    several times add up their gradients, and those never picked get 0.

    That is dL/dx = zeros with G added at index along dim: `scatter_added`, whose op
    (ScatterAdd) has a gather again as its backward.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dim: int, index: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(index)
        ctx.shape, ctx.dim = x.shape, dim
        return x.gather(dim, index)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (index,) = ctx.saved_tensors
        return scatter_added(grad, ctx.shape, ctx.dim, index), None, None

    @staticmethod
    def explain_failure(x: Any, dim: int, index: Any) -> str | Exception | None:
        outside = index_outside("gather", x, dim, index)
        if outside is not None:  # the shapes fit; an index does not (torch's RuntimeError)
            return outside
        return (
            f"gather(dim={dim}) of x {shape_str(x.shape)} with an index of shape "
            f"{shape_str(index.shape)} (dtype {index.dtype}): the index must be int64 with "
            f"as many dims as x, each no larger than x's except along dim, and its values "
            f"in [0, {x.shape[dim] if x.ndim else 1})."
        )


def scatter_added(values: Any, shape: torch.Size, dim: int, index: Any) -> Any:
    """zeros(shape) with each value added at the place `index` names along dim (repeats add
    up): the adjoint of gather. By torch for a torch tensor (the first-order backward), by the
    op ScatterAdd for a minigrad Tensor (create_graph=True)."""
    if isinstance(values, Tensor):
        return ScatterAdd.apply(Tensor(values._data.new_zeros(shape)), dim, index, values)
    zeros = torch.zeros(shape, dtype=values.dtype, device=values.device)
    return zeros.scatter_add_(dim, index, values)


class ScatterAdd(Op):
    """out = x with src's values added at `index` along dim.   dL/dx = G,
    dL/dsrc = G.gather(dim, index).

    For dim 0, src[i][j] is added to out[index[i][j]][j] (and so on for other dims); values
    sent to one place add up (torch's scatter_add). out is x plus a linear function of src, the
    adjoint of gather: so x's gradient is G, and each src value, which went to one place, gets G
    at that place: G gathered along dim at the same index. Into zeros (`scatter_added`) it is
    Gather's backward.
    """

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, dim: int, index: torch.Tensor, src: torch.Tensor
    ) -> torch.Tensor:
        ctx.save_for_backward(index)
        ctx.dim, ctx.src_shape = dim, src.shape
        return x.scatter_add(dim, index, src)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (index,) = ctx.saved_tensors
        grad_x = grad if ctx.needs_input_grad[0] else None
        grad_src = None
        if ctx.needs_input_grad[3]:
            grad_src = gathered(grad, ctx.dim, index, ctx.src_shape)
        return grad_x, None, None, grad_src

    @staticmethod
    def explain_failure(x: Any, dim: int, index: Any, src: Any) -> str | Exception | None:
        return scatter_failure("scatter_add", x, dim, index, src)


class MaskedScatter(Op):
    """out = x with source's values, in order, written where mask is true.   dout/dx = 1 where
    mask is false, else 0; dout/dsource = 1 for each value written, 0 for the rest.

    The k places where the mask is true (mask broadcast to x's shape, in row order) take
    source's first k values (source flattened); source's other values are not used. So x's
    gradient is G where the mask is false, and source's is G at the masked places, in order,
    then zeros (torch's x.masked_scatter(mask, source)).
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, mask: torch.Tensor, source: torch.Tensor) -> Any:
        ctx.save_for_backward(mask)
        ctx.source_shape = source.shape
        return x.masked_scatter(mask, source)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (mask,) = ctx.saved_tensors
        x_needs, _, source_needs = ctx.needs_input_grad
        grad_x = grad.masked_fill(mask, 0.0) if x_needs else None
        grad_source = None
        if source_needs:
            written = grad.masked_select(mask)  # the gradient of each value written, in order
            count = prod(ctx.source_shape)
            grad_source = added_at(written, torch.Size([count]), (slice(0, written.numel()),))
            grad_source = grad_source.reshape(ctx.source_shape)
        return grad_x, None, grad_source


class ScatterReduce(Op):
    """out = x with src's values reduced into the places index names along dim (sum, prod, mean,
    amax, amin).   dL/dsrc = G.gather(dim, index) for sum; for the others, each value's share.

    x's own value at a place takes part too, unless include_self=False. mean divides each
    place's G by its count; amax and amin send G to the values equal to the result, shared
    evenly among ties (torch's rule); prod sends each value v taking part G * out / v, computed
    without dividing by a zero (the product of the others, where v is 0, as torch's). dL/dx is
    the same for x's own value, and 0 at the places written when include_self=False: x's value
    there took no part.
    """

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        dim: int,
        index: torch.Tensor,
        src: torch.Tensor,
        *,
        reduce: str,
        include_self: bool = True,
    ) -> torch.Tensor:
        out = x.scatter_reduce(dim, index, src, reduce, include_self=include_self)
        ctx.save_for_backward(x, index, src, out)
        ctx.dim, ctx.reduce, ctx.include_self = dim, reduce, include_self
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        x, index, src, out = ctx.saved_tensors
        dim, reduce, include_self = ctx.dim, ctx.reduce, ctx.include_self
        reached = tuple(slice(0, n) for n in index.shape)
        used = src[reached]  # (src may be larger than index: its other values take no part)
        if reduce == "sum":
            grad_x, grad_src = grad, grad.gather(dim, index)
        elif reduce == "mean":  # each place's count: its values, and x's own if included
            count = grad.new_ones(grad.shape) if include_self else grad.new_zeros(grad.shape)
            count = count.scatter_add(dim, index, used.new_ones(used.shape))
            count = count.masked_fill(count == 0, 1)
            grad_x, grad_src = grad / count, grad.gather(dim, index) / count.gather(dim, index)
        elif reduce in ("amax", "amin"):  # G shared among the values equal to the result
            x_is_result = (x == out).to(grad.dtype)
            src_is_result = (used == out.gather(dim, index)).to(grad.dtype)
            share = grad / x_is_result.scatter_add(dim, index, src_is_result)
            grad_x, grad_src = x_is_result * share, src_is_result * share.gather(dim, index)
        else:  # prod: the product of the others, each 0 left out of the division
            x_kept = x.masked_fill(x == 0, 1)
            kept = x_kept.scatter_reduce(dim, index, used, "prod", include_self=include_self)
            grad_x = grad * kept / x_kept
            src_zero = used == 0
            zeros_at = x.new_zeros(x.shape).scatter_add(dim, index, src_zero.to(x.dtype))
            single_zero = src_zero & (zeros_at.gather(dim, index) == 1)
            others = x.scatter_reduce(
                dim, index, used.masked_fill(single_zero, 1), "prod", include_self=include_self
            )
            at_a_lone_zero = (grad * others).gather(dim, index)  # the product of the others
            elsewhere = (grad * out).gather(dim, index) / used.masked_fill(src_zero, 1)
            grad_src = at_a_lone_zero.where(single_zero, elsewhere)
        if not include_self:
            grad_x = grad_x.scatter(dim, index, 0)
        if grad_src.shape != src.shape:
            grad_src = added_at(grad_src, src.shape, reached)
        needs = ctx.needs_input_grad
        return grad_x if needs[0] else None, None, None, grad_src if needs[3] else None

    @staticmethod
    def explain_failure(x: Any, dim: int, index: Any, src: Any, **options: Any) -> Any:
        return scatter_failure("scatter_reduce", x, dim, index, src)


class Scatter(Op):
    """out = x with src (or a number) written at index along dim.   dL/dx = G with those places
    zeroed, dL/dsrc = G.gather(dim, index).

    For dim 0, out[index[i][j]][j] = src[i][j] (torch's scatter; where index names a place
    twice, which value lands there torch leaves unsaid). An overwritten x element no longer
    reaches out: gradient 0, so dL/dx is G scattered with 0 at the index (a Scatter again).
    Each src value is the out element it was written to, so its gradient is G there, gathered
    at the same index (torch's formula, repeats too).
    """

    @staticmethod
    def node_name(ctx: Context) -> str:
        return "ScatterBackward1" if ctx.parents[3] is None else "ScatterBackward0"  # (1: a number)

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dim: int, index: torch.Tensor, src: Any) -> Any:
        ctx.save_for_backward(index)
        ctx.dim = dim
        ctx.src_shape = src.shape if isinstance(src, torch.Tensor) else None
        return x.scatter(dim, index, src)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (index,) = ctx.saved_tensors
        grad_x = grad.scatter(ctx.dim, index, 0) if ctx.needs_input_grad[0] else None
        grad_src = None
        if ctx.needs_input_grad[3]:  # (only where src is a tensor: a number gets none)
            grad_src = gathered(grad, ctx.dim, index, ctx.src_shape)
        return grad_x, None, None, grad_src

    @staticmethod
    def explain_failure(x: Any, dim: int, index: Any, src: Any) -> str | Exception | None:
        return scatter_failure("scatter", x, dim, index, src)


def gathered(grad: Any, dim: int, index: Any, src_shape: torch.Size) -> Any:
    """G.gather(dim, index) as the gradient of a scattered src of shape `src_shape`. src may be
    larger than index along any dim; its values past index's extent are never read, so they get
    0 (torch's own backward refuses that case with a shape error)."""
    picked = grad.gather(dim, index)
    if picked.shape == src_shape:
        return picked
    return added_at(picked, src_shape, tuple(slice(0, n) for n in index.shape))


def scatter_failure(name: str, x: Any, dim: int, index: Any, src: Any) -> str | Exception | None:
    """After torch refused a scatter: the shapes the index must fit, or an index outside x
    along dim (torch's RuntimeError); None where neither is the trouble (a dtype: torch says
    so)."""
    data, positions, source = unwrap(x), unwrap(index), unwrap(src)
    if not isinstance(positions, torch.Tensor) or positions.is_floating_point():
        return None
    if not -max(data.ndim, 1) <= dim < max(data.ndim, 1):
        return None  # torch's message names the dims there are
    sides = data.shape if data.ndim else (1,)
    index_sides = positions.shape if positions.ndim else (1,)
    fits = len(index_sides) == len(sides) and all(
        n <= side or d == dim % len(sides) for d, (n, side) in enumerate(zip(index_sides, sides))
    )
    given, rule = "", ""
    if isinstance(source, torch.Tensor):  # (a number for src: no shape to fit)
        src_sides = source.shape if source.ndim else (1,)
        given, rule = f" and src {shape_str(source.shape)}", ", and no larger than src's"
        fits = fits and len(src_sides) == len(sides)
        fits = fits and all(n <= m for n, m in zip(index_sides, src_sides))
    if not fits:
        return (
            f"{name}(dim={dim}) of x {shape_str(data.shape)} with an index of shape "
            f"{shape_str(positions.shape)}{given}: the index must have as many dims as x, each "
            f"no larger than x's except along dim{rule}."
        )
    return index_outside(name, x, dim, index)


def index_outside(
    name: str,
    x: Any,
    dim: int,
    index: Any,
    error: type[Exception] = RuntimeError,
    negatives_count: bool = False,
) -> Exception | None:
    """After torch refused: the first index outside x along dim, in words, as torch's exception
    type `error` (gather's and scatter's: RuntimeError); None when every index is inside, so
    that torch's own error stands. `negatives_count`: whether -size ... -1 count from the end
    (index_fill's do; everywhere else, as in torch, a negative index is refused)."""
    data, positions = unwrap(x), unwrap(index)
    if not isinstance(positions, torch.Tensor) or positions.is_floating_point():
        return None
    if not -max(data.ndim, 1) <= dim < max(data.ndim, 1):
        return None  # dim itself is out of range: torch's message says so
    size = data.shape[dim] if data.ndim else 1
    low = -size if negatives_count else 0
    outside = positions[(positions < low) | (positions >= size)]
    if outside.numel() == 0:
        return None
    allowed = f"[{low}, {size - 1}]" if size else "none: the dim is empty"
    advice = (
        ""
        if negatives_count
        else " A negative index is not counted from the end here (as in torch): for that, "
        f"pass index % {size}."
    )
    return error(
        f"{name}(dim={dim}): index {outside[0].item()} is out of range for x of shape "
        f"{shape_str(data.shape)}, whose dim {dim} has {size} places (indices allowed: "
        f"{allowed}).{advice}"
    )


class Repeat(Op):
    """out = x tiled: x.repeat(2, 3) stacks 2 copies of x down and 3 across.

    Each x element appears once in each copy, so its gradient is the sum of the gradients of
    its copies: view the gradient as (copies along dim 0, x's dim 0, copies along dim 1, ...)
    and sum over the copies. (A sum's backward is an expand, and a reshape's a reshape.)
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, repeats: tuple[int, ...]) -> torch.Tensor:
        ctx.shape, ctx.repeats = x.shape, repeats
        return x.repeat(repeats)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        if 0 in ctx.repeats:  # no copy of x at all: a gradient of zeros, as torch's (no graph)
            return grad.new_zeros(ctx.shape)
        sides = (1,) * (len(ctx.repeats) - len(ctx.shape)) + tuple(ctx.shape)  # new dims: 1
        interleaved = [n for pair in zip(ctx.repeats, sides) for n in pair]
        copies = tuple(range(0, len(interleaved), 2))
        return grad.reshape(interleaved).sum(dim=copies).reshape(ctx.shape)

    @staticmethod
    def explain_failure(x: Any, repeats: tuple[int, ...]) -> str | None:
        return (
            f"repeat{tuple(repeats)} of a tensor of shape {shape_str(x.shape)}: give one count "
            f"per dim ({x.ndim} of them), or more to add leading dims, never fewer."
        )


class Cat(Op):
    """out = the tensors joined along an existing dim.   grad: cut back into their pieces.

    (Each piece is a slice of the gradient, an Index; so under create_graph=True the adjoint of
    each cut is AddAt: the piece's gradient put back in its place among zeros.)
    """

    @staticmethod
    def forward(ctx: Context, *tensors: torch.Tensor, dim: int = 0) -> torch.Tensor:
        out = torch.cat(tensors, dim=dim)
        ctx.sizes, ctx.dim = [t.shape[dim] for t in tensors], dim
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        return tuple(grad.split(ctx.sizes, dim=ctx.dim))

    @staticmethod
    def explain_failure(*tensors: Any, dim: int = 0) -> str | None:
        shapes = ", ".join(shape_str(t.shape) for t in tensors)
        if any(t.ndim == 0 for t in tensors):
            return (
                f"cat joins tensors along an existing dim, but got 0-d tensors (shapes {shapes}), "
                "which have none. To make a 1-d tensor of single numbers use "
                "minigrad.stack(tensors); or give each a dim first: t.reshape(1)."
            )
        return f"cat needs shapes that match except along the joining dim {dim}, got {shapes}."


class Split(Op):
    """pieces = x cut along dim (views of x).   dL/dx = the pieces' gradients joined along dim.

    x is cut into pieces of split_size (the last may be shorter), or of the sizes listed. The
    adjoint of cutting is joining; a piece nobody used gives zeros in its place.
    """

    @staticmethod
    def node_name(ctx: Context) -> str:
        """torch's: SplitBackward0 for one size (and chunk), SplitWithSizesBackward0 for a list."""
        return "SplitBackward0" if type(ctx.split_size) is int else "SplitWithSizesBackward0"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, split_size: Any, dim: int = 0) -> tuple:
        ctx.split_size, ctx.dim = split_size, dim
        return x.split(split_size, dim)

    @staticmethod
    def backward(ctx: Context, *grads: Any) -> tuple:
        if isinstance(grads[0], Tensor):  # (create_graph: the join recorded, to differentiate)
            return Cat.apply(*grads, dim=ctx.dim), None, None
        return torch.cat(grads, dim=ctx.dim), None, None


class Unbind(Op):
    """pieces = x's slices along dim (views of x).   dL/dx = their gradients stacked along dim.

    x.unbind(0) is (x[0], x[1], ...), each without that dim; a slice nobody used gives zeros.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dim: int = 0) -> tuple:
        ctx.dim = dim
        return x.unbind(dim)

    @staticmethod
    def backward(ctx: Context, *grads: Any) -> tuple:
        if isinstance(grads[0], Tensor):  # (create_graph: the stack recorded)
            return Stack.apply(*grads, dim=ctx.dim), None
        return torch.stack(grads, dim=ctx.dim), None


class Stack(Op):
    """out = the tensors stacked along a new dim.   grad: unstacked back into its pieces."""

    @staticmethod
    def forward(ctx: Context, *tensors: torch.Tensor, dim: int = 0) -> torch.Tensor:
        ctx.dim = dim
        return torch.stack(tensors, dim=dim)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        return grad.unbind(ctx.dim)

    @staticmethod
    def explain_failure(*tensors: Any, dim: int = 0) -> str | None:
        shapes = ", ".join(shape_str(t.shape) for t in tensors)
        return f"stack needs tensors of equal shapes, got {shapes}."
