"""Elementwise arithmetic: +, -, *, /, unary -, **, maximum and minimum, and `where`.

Operands broadcast as in torch. Each backward returns gradients of the broadcast shape; the
engine then sums each one back to its input's shape (`autograd.engine.sum_to_shape`).
Either operand may be a Python number, which gets no gradient.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..autograd.function import BroadcastingFunction, Context, Op


class Add(BroadcastingFunction):
    """out = a + b.   dout/da = 1, dout/db = 1: the gradient passes through unchanged."""

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        return grad, grad


class Sub(BroadcastingFunction):
    """out = a - b.   dout/da = 1, dout/db = -1."""

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a - b

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        return grad, -grad if ctx.needs_input_grad[1] else None


class Mul(BroadcastingFunction):
    """out = a * b.   dout/da = b, dout/db = a: each operand's gradient is the other operand."""

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a_needs, b_needs = ctx.needs_input_grad
        ctx.save_for_backward(a if b_needs else None, b if a_needs else None)
        return a * b

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, b = ctx.saved_tensors
        a_needs, b_needs = ctx.needs_input_grad
        return grad * b if a_needs else None, grad * a if b_needs else None


class Div(BroadcastingFunction):
    """out = a / b.   dout/da = 1/b, dout/db = -a/b^2, computed as -(a/b)/b (as torch does)."""

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        return a / b

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, b = ctx.saved_tensors
        a_needs, b_needs = ctx.needs_input_grad
        return grad / b if a_needs else None, -grad * ((a / b) / b) if b_needs else None


class Neg(Op):
    """out = -x.   dout/dx = -1."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        return -x

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return -grad


class Pow(BroadcastingFunction):
    """out = a ** b, for tensors or numbers on either side (x ** 2, 2 ** x, x ** y).

    dout/da = b * a^(b-1), taken as 0 where b = 0 (a^0 = 1 whatever a is, even at a = 0);
    dout/db = a^b * ln a, taken as 0 where a = 0 and b >= 0 (0^b is 0 or 1 there: torch's
    convention). For a < 0, ln a is NaN, and so is that gradient, as in torch.
    """

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> torch.Tensor:
        out = torch.pow(a, b)  # not e^(b ln a): 2 ** 3 is exactly 8, and (-2) ** 3 is -8
        # The output is kept for db whenever b is a tensor (torch keeps it then too, so that an
        # in-place change to it is caught the same way).
        ctx.save_for_backward(a, b, out if isinstance(b, torch.Tensor) else None)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, b, out = ctx.saved_tensors
        a_needs, b_needs = ctx.needs_input_grad
        zero = torch.zeros((), dtype=grad.dtype, device=grad.device)
        grad_a = grad_b = None
        if a_needs:
            b_is_zero = _as_tensor(b, grad) == 0
            grad_a = torch.where(b_is_zero, zero, grad * (b * torch.pow(a, b - 1)))
        if b_needs:
            flat = (_as_tensor(a, grad) == 0) & (b >= 0)
            grad_b = grad * torch.where(flat, zero, out * _log(a))
        return grad_a, grad_b


def _log(a: Any) -> Any:
    """ln a; for a number, in double precision as torch does (NaN for a < 0, not an error)."""
    if isinstance(a, torch.Tensor):
        return torch.log(a)
    return math.log(a) if a > 0 else (-math.inf if a == 0 else math.nan)


def _as_tensor(value: Any, like: torch.Tensor) -> torch.Tensor:
    """A number as a 0-d tensor of `like`'s dtype and device (a tensor stays as it is)."""
    if isinstance(value, torch.Tensor):
        return value
    return torch.tensor(value, dtype=like.dtype, device=like.device)


class Maximum(BroadcastingFunction):
    """out = the larger of a and b, element by element (torch.maximum; x.max(y)).

    dout/da = 1 where a > b, 0 where a < b; at a tie, each gets half, as in torch. (Where an
    operand is NaN, out is NaN and both get the gradient, as in torch.)
    """

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        return torch.maximum(a, b)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, b = ctx.saved_tensors
        return _tie_split(grad, a, b, ctx.needs_input_grad, a_loses=a < b, b_loses=a > b)


class Minimum(BroadcastingFunction):
    """out = the smaller of a and b, element by element (torch.minimum; x.min(y)).

    dout/da = 1 where a < b, 0 where a > b; at a tie, each gets half, as in torch.
    """

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        return torch.minimum(a, b)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, b = ctx.saved_tensors
        return _tie_split(grad, a, b, ctx.needs_input_grad, a_loses=a > b, b_loses=a < b)


def _tie_split(
    grad: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    needs: tuple[bool, ...],
    a_loses: torch.Tensor,
    b_loses: torch.Tensor,
) -> tuple:
    """The gradient to the operand that was picked, halved between the two at a tie."""
    shared = torch.where(a == b, grad / 2, grad)
    return (
        shared.masked_fill(a_loses, 0) if needs[0] else None,
        shared.masked_fill(b_loses, 0) if needs[1] else None,
    )


class Where(BroadcastingFunction):
    """out = a where condition is true, b elsewhere.

    The gradient goes to whichever operand was chosen, element by element:
    dout/da = condition, dout/db = not condition. The condition itself gets none.
    """

    @staticmethod
    def forward(
        ctx: Context, condition: torch.Tensor, a: torch.Tensor, b: torch.Tensor
    ) -> torch.Tensor:
        ctx.save_for_backward(condition)
        return torch.where(condition, a, b)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (condition,) = ctx.saved_tensors
        _, a_needs, b_needs = ctx.needs_input_grad
        grad_a = torch.where(condition, grad, 0.0) if a_needs else None
        grad_b = torch.where(condition, 0.0, grad) if b_needs else None
        return None, grad_a, grad_b
