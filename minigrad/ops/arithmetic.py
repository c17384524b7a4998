"""Elementwise arithmetic: +, -, *, /, unary -, **, maximum and minimum, and `where`.

Operands broadcast as in torch. Each backward returns gradients of the broadcast shape; the
engine then sums each one back to its input's shape (`autograd.engine.sum_to_shape`).
Either operand may be a Python number, which gets no gradient.

Each backward is written with operators and Tensor methods (`grad * b`, `g.where(mask, 0.0)`,
`g.masked_fill(mask, 0.0)`), so that the same formula runs on torch tensors (backward()) and on
minigrad Tensors (backward(create_graph=True), which records it: gradients of gradients).
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
        grad_a = grad_b = None
        if a_needs:
            if _is_number(b) and b == 0:  # x ** 0 = 1: flat everywhere, at x = 0 too
                grad_a = grad.new_zeros(grad.shape)
            else:
                grad_a = grad * (b * a ** (b - 1))
                if not _is_number(b):  # where b = 0, 0 * a^-1 would be NaN at a = 0
                    grad_a = grad_a.masked_fill(b == 0, 0.0)
        if b_needs:
            slope = out * _log(a)  # d(a^b)/db = a^b ln a
            if not _is_number(a):  # at a = 0, ln a = -inf, but 0^b is flat for b >= 0
                slope = slope.masked_fill((a == 0) & (b >= 0), 0.0)
            elif a == 0:
                slope = slope.masked_fill(b >= 0, 0.0)
            grad_b = grad * slope
        return grad_a, grad_b


def _is_number(value: Any) -> bool:
    """A Python number (not a tensor): what the other operand of ** may be."""
    return isinstance(value, (int, float))


def _log(a: Any) -> Any:
    """ln a; for a number, in double precision as torch does (NaN for a < 0, not an error)."""
    if not _is_number(a):
        return a.log()
    return math.log(a) if a > 0 else (-math.inf if a == 0 else math.nan)


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
    shared = (grad / 2).where(a == b, grad)
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
        grad_a = grad.where(condition, 0.0) if a_needs else None  # grad where chosen, else 0
        grad_b = grad.masked_fill(condition, 0.0) if b_needs else None  # 0 where a was chosen
        return None, grad_a, grad_b
