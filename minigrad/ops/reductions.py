"""Reductions: sum, mean, var, std, norm, max, logsumexp, prod; and softmax, log_softmax,
cumsum and cumprod (reductions in disguise).

A reduction's backward must undo the shrinking: put back the reduced dims (`keepdim`), then
expand the gradient over them, since every reduced element contributed to the output.

Each backward is one formula written with operators and methods that torch tensors and minigrad
Tensors share, so that it runs on torch tensors in backward() and records itself on Tensors
under create_graph=True, to be differentiated again. Where a formula needs a value forward
computed (a softmax, a product), it uses the op's input or output, never a copy of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..autograd.function import Context, Op
from ..errors import GradientError
from ..tensor import Tensor
from .shape import scatter_added

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


class Sum(Op):
    """out = sum of x over dim.   dout/dx_i = 1 for every summed x_i.

    With `dtype`, x is converted first (as in torch); the engine converts the gradient back.
    """

    @staticmethod
    def node_name(ctx: Context) -> str:
        return "SumBackward0" if ctx.dim is None else "SumBackward1"  # (torch's, over dims)

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        dim: Dims = None,
        keepdim: bool = False,
        dtype: torch.dtype | None = None,
    ) -> torch.Tensor:
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        return x.sum(dim=dim, keepdim=keepdim, dtype=dtype)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return restore_reduced_dims(grad, ctx.shape, ctx.dim, ctx.keepdim)


class NanSum(Op):
    """out = sum of x over dim, NaNs counted as 0.   dout/dx_i = 1 where x_i is not NaN, else 0.

    torch's gradient is the product G * (x is not NaN), and so is this one: a NaN or inf that
    arrives at a NaN of x gives NaN (inf * 0), as in torch (nanmean of a slice of NaNs alone
    divides by a count of 0: its gradient there is NaN in both), where masked_fill(isnan, 0)
    then sum would give 0.
    """

    torch_name = "NansumBackward0"

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        dim: Dims = None,
        keepdim: bool = False,
        dtype: torch.dtype | None = None,
    ) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.dim, ctx.keepdim = dim, keepdim
        return torch.nansum(x, dim, keepdim, dtype=dtype)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return restore_reduced_dims(grad, x.shape, ctx.dim, ctx.keepdim) * ~x.isnan()


class Mean(Op):
    """out = sum of x over dim / n.   dout/dx_i = 1/n, n the number of averaged elements.

    With `dtype`, x is converted first (as in torch); the engine converts the gradient back.
    """

    @staticmethod
    def node_name(ctx: Context) -> str:
        return "MeanBackward0" if ctx.dim is None else "MeanBackward1"  # (torch's, over dims)

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        dim: Dims = None,
        keepdim: bool = False,
        dtype: torch.dtype | None = None,
    ) -> torch.Tensor:
        out = x.mean(dim=dim, keepdim=keepdim, dtype=dtype)
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        ctx.n = x.numel() // max(out.numel(), 1)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return restore_reduced_dims(grad / ctx.n, ctx.shape, ctx.dim, ctx.keepdim)


def _variance_backward(
    grad: torch.Tensor, x: torch.Tensor, dim: Dims, keepdim: bool, dof: float
) -> torch.Tensor:
    """dvar/dx_i = 2 (x_i - mean) / dof, times the incoming gradient (restored to x's shape).

    dof = n - correction <= 0 leaves the variance undefined (torch warns, and returns inf or
    NaN). The gradient then follows torch's: inf, NaN at the mean, for a reduction over all
    of x; the same formula (2 / 0 = inf) along dims.
    """
    grad = restore_reduced_dims(grad, x.shape, dim, keepdim)
    everything = dim is None or x.ndim == 0
    mean = x.mean() if everything else x.mean(dim=dim, keepdim=True)
    if everything and dof <= 0:
        return grad * x.new_full((), math.nan).where(x == mean, math.inf)
    return (2.0 / dof if dof != 0 else math.inf) * grad * (x - mean)


def _reduced_count(x: torch.Tensor, out: torch.Tensor) -> int:
    """How many elements of x went into each element of out."""
    return x.numel() // max(out.numel(), 1)


class Var(Op):
    """out = sum of (x_i - mean)^2 over dim / (n - correction): the variance.

    correction=1 (the default, torch's `unbiased=True`) gives the sample variance, 0 the
    population variance.   dout/dx_i = 2 (x_i - mean) / (n - correction): the mean's own
    dependence on x_i cancels, since the deviations sum to zero.
    """

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, dim: Dims, correction: float, keepdim: bool
    ) -> torch.Tensor:
        out = torch.var(x, dim=dim, correction=correction, keepdim=keepdim)
        ctx.save_for_backward(x)
        ctx.dim, ctx.keepdim = dim, keepdim
        ctx.dof = _reduced_count(x, out) - correction
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return _variance_backward(grad, x, ctx.dim, ctx.keepdim, ctx.dof)


class Std(Op):
    """out = sqrt(var(x)): the standard deviation.

    By the chain rule, dout/dx = dvar/dx / (2 out): var's backward of grad / (2 out). Where
    out = 0 (all values equal) torch takes 0 for that factor instead of 1/0, and so does
    minigrad: the gradient there is 0, not NaN.
    """

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, dim: Dims, correction: float, keepdim: bool
    ) -> torch.Tensor:
        out = torch.std(x, dim=dim, correction=correction, keepdim=keepdim)
        ctx.save_for_backward(x, out)
        ctx.dim, ctx.keepdim = dim, keepdim
        ctx.dof = _reduced_count(x, out) - correction
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        x, out = ctx.saved_tensors
        grad_var = (grad / (2 * out)).masked_fill(out == 0, 0)
        return _variance_backward(grad_var, x, ctx.dim, ctx.keepdim, ctx.dof)


class Norm(Op):
    """out = (sum of |x_i|^p over dim)^(1/p): the p-norm (p = 2: the Euclidean length).

    dout/dx_i = sign(x_i) |x_i|^(p-1) / out^(p-1)   (p = 2: x_i / out;  p = 1: sign(x_i)).
    p = 2, the usual case, takes its own short form x_i / out (as torch's), which is also smooth
    at x_i = 0 for the second derivative (sign(x) |x| has a kink there as a formula).
    p = inf (the largest |x_i|) and -inf (the smallest): sign(x_i) at that element, shared
    evenly between ties. p = 0 (the count of nonzero elements) is flat: no gradient.
    At out = 0 (x all zeros) there is no slope; torch takes the subgradient 0, and so does
    minigrad. For p < 1 the gradient is 0 where x_i = 0 too (torch's choice again).
    """

    torch_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, p: float, dim: Dims, keepdim: bool) -> torch.Tensor:
        out = torch.linalg.vector_norm(x, ord=p, dim=dim, keepdim=keepdim)
        ctx.save_for_backward(x, out)
        ctx.p, ctx.dim, ctx.keepdim = p, dim, keepdim
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor | None:
        x, out = ctx.saved_tensors
        p = ctx.p
        grad = restore_reduced_dims(grad, x.shape, ctx.dim, ctx.keepdim)
        out = restore_reduced_dims(out, x.shape, ctx.dim, ctx.keepdim)
        if p == 0:  # flat: torch gives no gradient at all, and None says so to the engine
            return None
        if math.isinf(p):
            at_extreme = x.abs() == out
            dims = tuple(range(x.ndim)) if ctx.dim is None else ctx.dim
            ties = at_extreme.sum(dim=dims, keepdim=True) if x.ndim else at_extreme
            return x.sign() * at_extreme * grad / ties
        if p == 2:
            return x * (grad / out).masked_fill(out == 0, 0)
        scaled_x = (x.sign() * x.abs() ** (p - 1)).masked_fill(x == 0, 0)
        scale = (grad / out ** (p - 1)).masked_fill(out == 0, 0)
        return scaled_x * scale


class CumSum(Op):
    """out_i = x_1 + ... + x_i along dim: running totals.

    x_j counts in every total from j on, so dL/dx_j = g_j + g_(j+1) + ... + g_n: the running
    totals of the gradient taken from the other end (flip, cumsum, flip back).
    """

    torch_name = "CumsumBackward0"

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, dim: int, dtype: torch.dtype | None = None
    ) -> torch.Tensor:
        ctx.dim = dim
        return torch.cumsum(x, dim, dtype=dtype)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        if grad.ndim == 0:  # a 0-d tensor is its own running total
            return grad
        return grad.flip(ctx.dim).cumsum(ctx.dim).flip(ctx.dim)


class CumProd(Op):
    """out_i = x_1 x_2 ... x_i along dim: running products.   dout_i/dx_j = (x_1 ... x_(j-1))
    (x_(j+1) ... x_i) for j <= i, else 0.

    x_j is a factor of every out_i from i = j on; out_i's derivative w.r.t. it is out_i's other
    factors: those before j (the exclusive product `before_j`, x_j left out) times those
    after j up to i (`between_(j,i)`). So dL/dx_j = before_j * sum over i >= j of
    g_i * between_(j,i). Written so, with no division by x_j (out_i / x_j would be 0 / 0 where
    x_j = 0), it is exact with zeros: after a zero, every `before` holds it, so those positions
    get 0; the zero's own position gets the products that skip it. torch's backward gives the
    same. `between` is a square per slice (n x n: row j, column i), each row a cumprod of x
    with ones at and before j, so the backward costs n times the forward; under create_graph
    it records the same formula (cumprod in it is this op again). With `dtype`, x is converted
    first (as in torch); torch's backward takes the incoming gradient in x's own dtype, so it
    is rounded to that first, here too; the engine converts the gradient back.
    """

    torch_name = "CumprodBackward0"

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, dim: int, dtype: torch.dtype | None = None
    ) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.dim, ctx.dtype = dim, dtype
        return torch.cumprod(x, dim, dtype=dtype)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        if ctx.dtype is not None and ctx.dtype != x.dtype:
            grad = grad.to(x.dtype).to(ctx.dtype)  # (torch rounds it to x's dtype first)
            x = x.to(ctx.dtype)  # the products were taken in this dtype
        if x.ndim == 0:  # a 0-d tensor is its own running product
            return grad
        n = x.shape[ctx.dim]
        # Along the last dim, with a square per slice: square[..., j, k] = x_k.
        rows = x.transpose(ctx.dim, -1).unsqueeze(-2)
        square = rows.expand(*rows.shape[:-2], n, n)
        k = torch.arange(n, device=x.device)
        j = k.unsqueeze(-1)
        before = square.masked_fill(k >= j, 1.0).prod(-1)  # x_1 ... x_(j-1)
        between = square.masked_fill(k <= j, 1.0).cumprod(-1)  # [j, i]: x_(j+1) ... x_i
        between = between.masked_fill(k < j, 0.0)  # out_i for i < j does not hold x_j
        g = grad.transpose(ctx.dim, -1).unsqueeze(-2)  # [..., 1, i]
        return (before * (between * g).sum(-1)).transpose(ctx.dim, -1)


class Prod(Op):
    """out = x_1 x_2 ... x_n (over all of x, or along dim).   dout/dx_i = the product of the others.

    Not out / x_i, which is 0 / 0 = NaN where x_i = 0. The product of the others is the
    product of the elements before i times the product of those after it: running products
    from the left and from the right, each shifted by one place so that x_i itself is left out
    (cumprod of [1, x_1, ..., x_(n-1)], and the same from the other end). That is exact with
    zeros. One zero in a slice: only the zero's own position gets a nonzero gradient (the
    product of the others), since every other position's others include the zero. Two or more
    zeros: every position's others include a zero, so all gradients are 0. torch's backward
    gives the same. With `dtype`, x is converted first (as in torch); the engine converts the
    gradient back.

    The running products are torch's cumprod, which minigrad has no op for; under create_graph
    the product of the others is taken as it is defined, with Prod itself: row i of a square of
    copies of x, x_i replaced by 1 (n times the work, and differentiable again the same way).
    """

    @staticmethod
    def node_name(ctx: Context) -> str:
        return "ProdBackward0" if ctx.dim is None else "ProdBackward1"  # (torch's, along a dim)

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        dim: int | None = None,
        keepdim: bool = False,
        dtype: torch.dtype | None = None,
    ) -> torch.Tensor:
        out = x.prod(dtype=dtype) if dim is None else x.prod(dim, keepdim, dtype=dtype)
        ctx.save_for_backward(x)
        ctx.dim, ctx.keepdim, ctx.dtype = dim, keepdim, dtype
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        if ctx.dtype is not None and ctx.dtype != x.dtype:
            x = x.to(ctx.dtype)  # the product was taken in this dtype
        if x.ndim == 0:  # a 0-d tensor is its own product
            return grad
        grad = restore_reduced_dims(grad, x.shape, ctx.dim, ctx.keepdim)
        if ctx.dim is None:  # over everything: the product of the others in the flattened x
            return grad * _product_of_others(x.reshape(-1), 0).reshape(x.shape)
        return grad * _product_of_others(x, ctx.dim)


def _product_of_others(x: torch.Tensor, dim: int) -> torch.Tensor:
    """For each x_i along dim, the product of all the others: (x_1 ... x_(i-1)) (x_(i+1) ... x_n).

    [2, 3, 0, 5]: before = cumprod([1, 2, 3, 0]) = [1, 2, 6, 0],
    after = cumprod from the right of [3, 0, 5, 1] = [0, 0, 5, 1]: others = [0, 0, 30, 0].
    """
    n = x.shape[dim]
    if n == 0:
        return x.new_zeros(x.shape)
    if isinstance(x, Tensor):  # create_graph: in the graph, by Prod
        return _product_of_others_by_prod(x, dim)
    one = torch.ones_like(x.narrow(dim, 0, 1))
    before = torch.cat([one, x.narrow(dim, 0, n - 1)], dim).cumprod(dim)
    after = torch.cat([x.narrow(dim, 1, n - 1), one], dim).flip(dim).cumprod(dim).flip(dim)
    return before * after


def _product_of_others_by_prod(x: Tensor, dim: int) -> Tensor:
    """The product of the others as Prods: [2, 3, 0, 5] becomes the rows [1, 3, 0, 5],
    [2, 1, 0, 5], [2, 3, 1, 5], [2, 3, 0, 1] (x_i replaced by 1 in row i), each multiplied out."""
    n = x.shape[dim]
    rows = x.transpose(dim, -1).unsqueeze(-2)  # (..., 1, n): one row of x per position i
    rows = rows.expand(*rows.shape[:-2], n, n)
    diagonal = torch.eye(n, dtype=torch.bool, device=x.device)
    return rows.masked_fill(diagonal, 1.0).prod(-1).transpose(dim, -1)


def shared_by_equals(grad: Any, x: Any, out: Any) -> Any:
    """grad shared evenly by the k elements of x equal to the one value `out` picked from it
    (1/k each; where out is NaN, by the NaNs): the gradient of a value chosen among ties."""
    equal = (x == out) | (x.isnan() & out.isnan())
    return grad * equal / equal.sum()


class Max(Op):
    """out = the largest element of x.

    dout/dx_i = 1 for the maximum. When several elements tie for it, torch splits the gradient
    evenly between them, and so does minigrad: dout/dx_i = 1/k for each of the k ties.
    (When x holds a NaN, the maximum is NaN and the NaNs share the gradient, as in torch.)
    """

    torch_name = "MaxBackward1"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        out = x.max()
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        x, out = ctx.saved_tensors
        return shared_by_equals(grad, x, out)


class Min(Max):
    """out = the smallest element of x.

    dout/dx_i = 1 for the minimum; k elements tied for it share the gradient, 1/k each, as in
    torch (and the NaNs, where x holds one): Max's backward.
    """

    torch_name = "MinBackward1"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        out = x.min()
        ctx.save_for_backward(x, out)
        return out


class Median(Op):
    """out = the median of all of x: the lower of the two middle values when there is an even
    number of them (x sorted, the element at (n - 1) // 2). With `ignore_nan` (nanmedian), the
    median of the values that are not NaN.

    dout/dx_i = 1/k for each of the k elements equal to the median: ties share the gradient
    evenly, as in torch's median() (the median along a dim gives it to one index instead). Where
    the median is NaN, the NaNs share it, as for Max.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, ignore_nan: bool = False) -> torch.Tensor:
        out = x.nanmedian() if ignore_nan else x.median()
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        x, out = ctx.saved_tensors
        return shared_by_equals(grad, x, out)


class NoDerivative(Op):
    """out = function(x), one torch records but cannot differentiate.   dout/dx: none.

    For unique's values and bincount's weighted counts, and the in-place asinh_, acosh_ and
    atanh_: backward refuses, as torch's does. `function` may return several tensors (unique's
    values, inverse and counts): the integer ones are marked non-differentiable, as torch's are
    (bincount of nothing is integer zeros). `advice`, the way round it, if not detach().
    """

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        *,
        function: Callable[..., Any],
        name: str,
        advice: str | None = None,
    ) -> torch.Tensor:
        ctx.what, ctx.advice = name, advice
        out = function(x)
        outs = out if isinstance(out, tuple) else (out,)
        ctx.mark_non_differentiable(*[t for t in outs if not t.is_floating_point()])
        return out

    @staticmethod
    def backward(ctx: Context, *grads: torch.Tensor) -> torch.Tensor:
        raise GradientError(
            f"{ctx.what}() has no gradient, in torch either: backward through it raises there. "
            + (
                ctx.advice
                or f"Take its input out of the graph first, {ctx.what}(x.detach(), ...), if you "
                "only need its values."
            )
        )


class AMax(Op):
    """out = the largest element of x over dim (all of x by default).   dout/dx_i = 1/k for
    each of the k elements equal to it (ties share the gradient evenly, as in torch's amax).

    (Unlike x.max(dim), which sends it all to the one index it returns.)"""

    torch_name = "AmaxBackward0"

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, dim: Dims = (), keepdim: bool = False
    ) -> torch.Tensor:
        out = torch.amax(x, dim, keepdim)
        ctx.save_for_backward(x, out)
        ctx.dim, ctx.keepdim = dim, keepdim
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        x, out = ctx.saved_tensors
        return _shared_among_ties(grad, x, out, ctx.dim, ctx.keepdim)


class AMin(Op):
    """out = the smallest element of x over dim (all of x by default).   dout/dx_i = 1/k for
    each of the k elements that equal it, as in torch's amin."""

    torch_name = "AminBackward0"

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, dim: Dims = (), keepdim: bool = False
    ) -> torch.Tensor:
        out = torch.amin(x, dim, keepdim)
        ctx.save_for_backward(x, out)
        ctx.dim, ctx.keepdim = dim, keepdim
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        x, out = ctx.saved_tensors
        return _shared_among_ties(grad, x, out, ctx.dim, ctx.keepdim)


def _shared_among_ties(
    grad: torch.Tensor, x: torch.Tensor, out: torch.Tensor, dim: Dims, keepdim: bool
) -> torch.Tensor:
    """The gradient of each output element divided evenly among the elements of x equal to it.

    dim None or () is every dim, for restore_reduced_dims and sum alike. (A NaN equals nothing,
    so where out is NaN the count is 0 and the gradient NaN: torch's.)"""
    grad = restore_reduced_dims(grad, x.shape, dim, keepdim)
    is_tie = x == restore_reduced_dims(out, x.shape, dim, keepdim)
    return grad / is_tie.sum(dim=dim, keepdim=True) * is_tie


class PickedAlongDim(Op):
    """out = x[indices] along dim: the elements an order statistic picked (x.max(dim), sort,
    topk...), at the indices torch returned.   dL/dx = G put back at those indices.

    The gradient goes to the one index picked, ties or not, as in torch: zeros with G put at the
    indices, a scatter (gather's adjoint, as for Gather), repeats adding up (cummax picks one
    element again and again). Each op below is this one under torch's name for its node.
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
        return scatter_added(grad, ctx.shape, ctx.dim, indices), None


class MaxAlongDim(PickedAlongDim):
    """out = the maximum along dim (x.max(dim)'s values).   dL/dx = G at its index."""

    torch_name = "MaxBackward0"


class MinAlongDim(PickedAlongDim):
    """out = the minimum along dim (x.min(dim)'s values).   dL/dx = G at its index."""

    torch_name = "MinBackward0"


class Sorted(PickedAlongDim):
    """out = x sorted along dim (x.sort()'s values).   dL/dx = G put back where each came from."""

    torch_name = "SortBackward0"


class TopK(PickedAlongDim):
    """out = the k largest (or smallest) along dim.   dL/dx = G at their indices, 0 elsewhere."""

    torch_name = "TopkBackward0"


class KthValue(PickedAlongDim):
    """out = the k-th smallest along dim.   dL/dx = G at its index, 0 elsewhere."""

    torch_name = "KthvalueBackward0"


class Mode(PickedAlongDim):
    """out = the most frequent value along dim.   dL/dx = G at the index torch gave, 0 elsewhere."""

    torch_name = "ModeBackward0"


class MedianAlongDim(PickedAlongDim):
    """out = the median along dim (x.median(dim)'s values).   dL/dx = G at its index."""

    torch_name = "MedianBackward1"


class NanMedianAlongDim(PickedAlongDim):
    """out = the median along dim of the values not NaN.   dL/dx = G at its index."""

    torch_name = "NanmedianBackward1"


class CumMax(PickedAlongDim):
    """out = the running maximum along dim.   dL/dx = G added at each running maximum's index."""

    torch_name = "CummaxBackward0"


class CumMin(PickedAlongDim):
    """out = the running minimum along dim.   dL/dx = G added at each running minimum's index."""

    torch_name = "CumminBackward0"


class LogSumExp(Op):
    """out = log(sum(e^x)) over dim, computed stably.   dout/dx_i = e^(x_i - out) = softmax(x)_i."""

    torch_name = "LogsumexpBackward0"

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
        return grad * (x - out).exp()


class LogCumSumExp(Op):
    """out_i = log(e^x_1 + ... + e^x_i) along dim, computed stably (torch's kernel).

    dout_i/dx_j = e^(x_j - out_i) for j <= i (0 after i), so dL/dx_j = sum over i >= j of
    g_i e^(x_j - out_i). Each e^(x_j - out_i) is at most 1 (out_i >= x_j), so this is stable
    for any spread of values, unlike e^x_j sum(g_i e^-out_i). Taken as it reads, on an n x n
    square per slice ([j, i], i < j masked out): n times the work of the forward, and
    differentiable again as it is.
    """

    torch_name = "LogcumsumexpBackward0"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dim: int) -> torch.Tensor:
        out = torch.logcumsumexp(x, dim)
        ctx.save_for_backward(x, out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        x, out = ctx.saved_tensors
        if x.ndim == 0:  # a single value is its own logcumsumexp
            return grad
        n = x.shape[ctx.dim]
        x_j = x.transpose(ctx.dim, -1).unsqueeze(-1)  # [..., j, 1]
        out_i = out.transpose(ctx.dim, -1).unsqueeze(-2)  # [..., 1, i]
        g_i = grad.transpose(ctx.dim, -1).unsqueeze(-2)
        k = torch.arange(n, device=x.device)
        before = k < k.unsqueeze(-1)  # [j, i]: i < j, where out_i does not hold x_j
        weights = (x_j - out_i).masked_fill(before, -math.inf).exp()
        return (weights * g_i).sum(-1).transpose(ctx.dim, -1)


class Softmax(Op):
    """s = e^x / sum(e^x) along dim: probabilities that sum to 1.

    ds_i/dx_j = s_i ([i == j] - s_j), so the gradient is s * (g - sum(g * s)), reusing the
    saved output.

    (torch's kernel for this formula, _softmax_backward_data, was measured and not taken: on a
    par at 64x10 (11 µs against 9), slower at 256x10 (13 against 26); it wins on wide rows,
    2.6x at 32x64x64, a size no example uses; benchmarks/derivative_kernels.py.)
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, dim: int) -> torch.Tensor:
        s = torch.softmax(x, dim=dim)
        ctx.save_for_backward(s)
        ctx.dim = dim
        return s

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (s,) = ctx.saved_tensors
        return s * (grad - (grad * s).sum(dim=ctx.dim, keepdim=True))


class LogSoftmax(Op):
    """out = x - logsumexp(x) along dim.

    dout_i/dx_j = [i == j] - softmax(x)_j, so the gradient is g - softmax(x) * sum(g),
    with softmax(x) = e^out (reusing the saved output).

    (torch's kernel for this formula, _log_softmax_backward_data, was measured and not taken:
    slower than these three calls at the MLP's sizes, 64x10 to 256x10, on the CPU; see
    benchmarks/derivative_kernels.py.)
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
        return grad - out.exp() * grad.sum(dim=ctx.dim, keepdim=True)


# nll_loss's `reduction`, as torch's kernels number it
REDUCTION_NUMBERS = {"none": 0, "mean": 1, "sum": 2}


class NLLLoss(Op):
    """out = -sum_i w_i logp[i, t_i] / sum_i w_i: the mean negative log-likelihood of each row's
    class t_i, weighted. w_i is weight[t_i] (a constant; 1 without a weight), and 0 where t_i is
    ignore_index: that row counts for nothing. reduction="sum" leaves out the division, "none"
    keeps each row's -w_i logp[i, t_i]. Rows may have more dims: logp (N, C, d1, ...) with
    targets (N, d1, ...); the class dim is 1.

    dout/dlogp[i, j] = -w_i / sum(w) where j = t_i, else 0 ("sum": -w_i; "none": -w_i times
    row i's upstream gradient): the gradient reaches each row's target and nothing else.

    So the backward is the one-hot of the targets (picked: True at [i, t_i]) times -G / n
    without a weight ("mean", n rows). An option not in use costs nothing: no weight, no
    weighting; an ignore_index outside the classes (-100, the default) is picked by no class, so
    the one-hot leaves those rows out by itself, and only an ignore_index that is a class needs
    a mask. The first-order backward of a batch of rows (N, C) calls torch's kernel for this
    formula, nll_loss_backward: 5 to 8 µs against 25 to 32 for the formula at the examples'
    64x10 to 256x10 (3.9 to 4.8x; 7.6x with a weight and an ignored class; fastest samples,
    float32, one torch thread, load 5.3 on the 2 cores, benchmarks/derivative_kernels.py). It
    needs the sum of the weights, which the forward kernel returns with the loss.
    """

    torch_name = "NllLossBackward0"

    @staticmethod
    def forward(
        ctx: Context,
        log_probs: torch.Tensor,
        targets: torch.Tensor,
        weight: torch.Tensor | None = None,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> torch.Tensor:
        # The weight too, though it gets no gradient: changed in place before backward(), it
        # would give a gradient for weights the loss never used; saved, the change is caught.
        # (An argument, not an option: under create_graph it comes back as the constant it is.)
        ctx.save_for_backward(log_probs, targets, weight)
        ctx.ignore_index, ctx.reduction = ignore_index, reduction
        ctx.total_weight = None
        if log_probs.ndim != 2:  # (N, C, d1, ...): torch's function flattens the extra dims
            return torch.nn.functional.nll_loss(
                log_probs, targets, weight, ignore_index=ignore_index, reduction=reduction
            )
        out, total_weight = torch.ops.aten.nll_loss_forward(
            log_probs, targets, weight, REDUCTION_NUMBERS[reduction], ignore_index
        )
        # sum(w): a constant (it depends on the targets and the weight only, neither of which
        # gets a gradient), kept for the backward kernel; the formula sums the one-hot instead.
        ctx.total_weight = total_weight
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        log_probs, targets, weight = ctx.saved_tensors
        if Op.kernel_allowed(grad) and ctx.total_weight is not None:  # the formula below
            grad_log_probs = torch.ops.aten.nll_loss_backward(
                grad, log_probs, targets, weight, REDUCTION_NUMBERS[ctx.reduction],
                ctx.ignore_index, ctx.total_weight,
            )  # fmt: skip
            return (grad_log_probs, None, None)[: len(ctx.needs_input_grad)]
        classes = log_probs.shape[1]
        per_class = [1, classes] + [1] * (log_probs.ndim - 2)  # along the class dim
        class_numbers = torch.arange(classes, device=log_probs.device).view(per_class)
        picked = targets.unsqueeze(1) == class_numbers  # the one-hot of the targets
        if 0 <= ctx.ignore_index < classes:  # an ignored class: its rows pick nothing
            picked = picked & (targets != ctx.ignore_index).unsqueeze(1)
        if ctx.reduction == "none":
            grad = grad.unsqueeze(1)  # each row's own upstream gradient, along the classes
        if weight is not None:
            weight = weight.view(per_class)
        if ctx.reduction == "mean":  # divided by sum(w): n rows without a weight
            grad = grad / (picked.sum() if weight is None else weight.where(picked, 0.0).sum())
        weighted = -grad if weight is None else -grad * weight
        # (where, not a product with the one-hot: all rows ignored is a division by 0, and
        # torch's gradient is 0 there, not NaN)
        # (None for the targets, and the weight if given)
        return (weighted.where(picked, 0.0), None, None)[: len(ctx.needs_input_grad)]
