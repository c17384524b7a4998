"""Ops that overwrite values: x[key] = v, x.copy_(src) (and fill_, zero_), and a write through
a view. They are what in-place changes record (see `autograd.inplace`): each computes the new
values out of place; minigrad then writes them into the tensor's memory.

Their gradients follow one rule: a value that was overwritten had no effect on the result, so
its gradient is 0; a value that was written gets the gradient of the place it went to. Both are
linear maps of the gradient, made of ops that have a backward themselves: zeroing a region (a
write of zeros, whose adjoint is itself) and reading a region (indexing, a view), so that these
backwards can be differentiated again (create_graph=True).
"""

from __future__ import annotations

from typing import Any

import torch

from ..autograd.function import Context, Op
from ..autograd.inplace import ViewStep, replay_view
from ..tensor import Tensor
from .shape import key_tensors


class SetItem(Op):
    """out = x with out[key] = value (value broadcast to the region, as in torch).

    dout/dx = 1 outside the region, 0 inside (those values were overwritten);
    dout/dvalue = the gradient of the region, summed where value was broadcast.
    (Both are written with item assignment and indexing, which a minigrad Tensor has too: under
    create_graph=True they record a SetItem and an Index.)
    """

    @staticmethod
    def node_name(ctx: Context) -> str:
        """torch's: a key of tensors (x[idx] = v, x[mask] = v) is an index_put_, one of ints and
        slices a copy into that view of x (torch's CopySlices)."""
        return "IndexPutBackward0" if key_tensors(ctx.key) else "CopySlices"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, value: Any, key: Any) -> torch.Tensor:
        ctx.key = key
        ctx.save_for_backward(*key_tensors(key))  # an index tensor changed later is caught
        out = x.clone()
        out[key] = value
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        _ = ctx.saved_tensors  # raises if an index tensor in the key changed since forward
        x_needs, value_needs, _ = ctx.needs_input_grad
        grad_x = None
        if x_needs:
            grad_x = grad.clone()
            grad_x[ctx.key] = 0
        return grad_x, grad[ctx.key] if value_needs else None, None


class IndexPut(Op):
    """out = x with value added at the places indices name (x.index_put(indices, value,
    accumulate=True)).   dout/dx = 1, dout/dvalue = the gradient at each place it went to.

    A place named twice gets both values, and each value gets the place's gradient; value is
    summed where it was broadcast. (accumulate=False writes instead: x[indices] = value, a
    SetItem.)
    """

    torch_name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, value: Any, key: Any) -> torch.Tensor:
        ctx.key = key
        ctx.save_for_backward(*key_tensors(key))  # an index tensor changed later is caught
        return x.index_put(key, value, accumulate=True)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        _ = ctx.saved_tensors  # raises if an index tensor in the key changed since forward
        x_needs, value_needs, _ = ctx.needs_input_grad
        return grad if x_needs else None, grad[ctx.key] if value_needs else None, None


class Copy(Op):
    """out = src, broadcast to x's shape and converted to x's dtype: what x.copy_(src) leaves in
    x (and x.fill_(v), x.zero_()).

    dout/dsrc = 1 (summed where src was broadcast); dout/dx = 0: x's old values are gone. (x
    still gets that zero gradient, not None: as in torch, x stays in the graph.) `method` is
    the method that wrote the values, which torch's name for the node follows.
    """

    @staticmethod
    def node_name(ctx: Context) -> str:
        """torch's, by the method that wrote the values (`method`: copy_, fill_, zero_, or a
        random fill: normal_, uniform_, random_ (torch names it by the bounds given), bernoulli_
        (by its p's kind), exponential_, geometric_, log_normal_, cauchy_)."""
        if ctx.method == "fill_":  # (torch's FillBackward2 for a number, 3 for a tensor)
            return "FillBackward2" if ctx.parents[1] is None else "FillBackward3"
        return {
            "copy_": "CopyBackwards",
            "zero_": "ZeroBackward0",
            "normal_": "NormalBackward0",
            "uniform_": "UniformBackward0",
            "bernoulli_": "BernoulliBackward2",  # (x.bernoulli_(0.3): a number p)
            "bernoulli_ with probabilities": "BernoulliBackward1",  # (a tensor p)
            "random_ from to": "RandomBackward0",  # (torch's numbering: by the bounds given)
            "random_ to": "RandomBackward1",
            "random_": "RandomBackward2",
            "exponential_": "ExponentialBackward0",
            "geometric_": "GeometricBackward0",
            "log_normal_": "LogNormalBackward0",
            "cauchy_": "CauchyBackward0",
        }[ctx.method]

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, src: Any, method: str = "copy_") -> torch.Tensor:
        ctx.method = method
        if isinstance(src, torch.Tensor):
            return torch.empty_like(x).copy_(src)
        return torch.full_like(x, src)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        x_needs, src_needs = ctx.needs_input_grad
        return grad.new_zeros(grad.shape) if x_needs else None, grad if src_needs else None


class CopySlices(Op):
    """out = base with the region a view picks (base[1:3], base.T[0], ...) replaced by value:
    what writing into a view does to the tensor it views (torch's CopySlices).

    dout/dvalue = the gradient of that region (the same view, taken of the gradient);
    dout/dbase = the gradient, with that region zeroed: those old values were overwritten.
    """

    torch_name = "CopySlices"

    @staticmethod
    def forward(
        ctx: Context, base: torch.Tensor, value: torch.Tensor, steps: tuple[ViewStep, ...]
    ) -> torch.Tensor:
        ctx.steps = steps
        out = base.clone(memory_format=torch.contiguous_format)
        replay_view(out, steps).copy_(value)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        base_needs, value_needs = ctx.needs_input_grad
        grad_base = with_region_zeroed(grad, ctx.steps) if base_needs else None
        grad_value = region_of(grad, ctx.steps) if value_needs else None
        return grad_base, grad_value


def region_of(tensor: Any, steps: tuple[ViewStep, ...]) -> Any:
    """The region the view steps pick (base[1:3], base.T[0], ...), taken of another tensor of
    the base's shape: by the view ops' forward for a torch tensor, and by applying them (so
    recording them) for a minigrad Tensor."""
    if not isinstance(tensor, Tensor):
        return replay_view(tensor, steps)
    for op, args, options, output in steps:
        tensor = op.apply(tensor, *args, **options)
        tensor = tensor if output is None else tensor[output]
    return tensor


def with_region_zeroed(grad: Any, steps: tuple[ViewStep, ...]) -> Any:
    """grad with the region the view steps pick set to 0. A torch tensor is copied and zeroed
    through the view; a minigrad Tensor gets a CopySlices that writes zeros there, whose own
    backward (for its base) zeroes the region again: the map is its own adjoint."""
    if isinstance(grad, Tensor):
        return CopySlices.apply(grad, grad.new_zeros(()), steps=steps)
    grad_base = grad.clone(memory_format=torch.contiguous_format)
    replay_view(grad_base, steps).zero_()  # a view: zeroing it zeroes grad_base there
    return grad_base
