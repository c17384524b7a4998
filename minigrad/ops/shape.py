"""Ops that move values around without changing them: reshape, transpose, indexing, cat...

Their backward moves the gradient back to where each value came from.
"""

from __future__ import annotations

from typing import Any

import torch

from ..autograd.engine import sum_to_shape
from ..autograd.function import Context, Function, Op
from ..errors import shape_str


class Reshape(Op):
    """out = x with a new shape (same values, same order).   grad: reshaped back."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return grad.reshape(ctx.shape)

    @staticmethod
    def explain_failure(x: Any, shape: tuple[int, ...]) -> str | None:
        return (
            f"cannot reshape a tensor of shape {shape_str(x.shape)} ({x.numel()} elements) to "
            f"{shape_str(shape)}: a reshape keeps the number of elements (one dim may be -1)."
        )


class Unsqueeze(Reshape):
    """out = x with a new dim of size 1 at `dim`.   grad: reshaped back."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dim: int) -> torch.Tensor:
        ctx.shape = x.shape
        return x.unsqueeze(dim)

    explain_failure = Function.explain_failure


class Squeeze(Reshape):
    """out = x without its size-1 dims (or only `dim`).   grad: reshaped back."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dim: int | None = None) -> torch.Tensor:
        ctx.shape = x.shape
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


class Expand(Op):
    """out = x repeated along its size-1 dims (broadcasting, made explicit).

    Each x element is used many times, so its gradient is the sum over its copies: the backward
    of broadcasting is a sum.
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
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, key: Any) -> torch.Tensor:
        ctx.shape, ctx.key = x.shape, key
        # Saved only so that an index tensor changed in place before backward() is caught.
        ctx.save_for_backward(*key_tensors(key))
        return x[key]

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        _ = ctx.saved_tensors  # raises if an index tensor in the key changed since forward
        grad_x = torch.zeros(ctx.shape, dtype=grad.dtype, device=grad.device)
        if is_basic_key(ctx.key):  # no element repeats: place the gradient directly
            grad_x[ctx.key] = grad
            return grad_x
        if is_tensors_only_key(ctx.key):  # x[rows, cols]: torch adds at the picked places itself
            indices = ctx.key if isinstance(ctx.key, tuple) else (ctx.key,)
            return grad_x.index_put_(indices, grad, accumulate=True)
        # Index an array of flat positions with the same key to learn where each output element
        # came from, then add the gradients at those positions: repeats add up.
        positions = torch.arange(grad_x.numel(), device=grad.device).reshape(ctx.shape)[ctx.key]
        grad_x.view(-1).index_add_(0, positions.reshape(-1), grad.reshape(-1))
        return grad_x


class Gather(Op):
    """out[i][j] = x[index[i][j]][j] for dim 0 (x[i][index[i][j]] for dim 1, and so on): along
    dim, each output element picks the x element that `index` names.

    The gradient of each output element goes back to the element it picked; elements picked
    several times add up their gradients (scatter_add), and those never picked get 0.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dim: int, index: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(index)
        ctx.shape, ctx.dim = x.shape, dim
        return x.gather(dim, index)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (index,) = ctx.saved_tensors
        grad_x = torch.zeros(ctx.shape, dtype=grad.dtype, device=grad.device)
        return grad_x.scatter_add_(ctx.dim, index, grad), None, None

    @staticmethod
    def explain_failure(x: Any, dim: int, index: Any) -> str | None:
        return (
            f"gather(dim={dim}) of x {shape_str(x.shape)} with an index of shape "
            f"{shape_str(index.shape)} (dtype {index.dtype}): the index must be int64 with "
            f"as many dims as x, each no larger than x's except along dim, and its values "
            f"in [0, {x.shape[dim] if x.ndim else 1})."
        )


class Repeat(Op):
    """out = x tiled: x.repeat(2, 3) stacks 2 copies of x down and 3 across.

    Each x element appears once in each copy, so its gradient is the sum of the gradients of
    its copies: view the gradient as (copies along dim 0, x's dim 0, copies along dim 1, ...)
    and sum over the copies.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, repeats: tuple[int, ...]) -> torch.Tensor:
        ctx.shape, ctx.repeats = x.shape, repeats
        return x.repeat(repeats)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
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
    """out = the tensors joined along an existing dim.   grad: cut back into their pieces."""

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
