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
from ..errors import GradientError
from ..tensor import Tensor


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


# ---- division rounded to an integer, and what is left over -------------------------------------


class DivRounded(BroadcastingFunction):
    """out = a / b rounded down (rounding_mode='floor') or toward 0 ('trunc').   dout/da =
    dout/db = 0, as torch defines for div with a rounding_mode (a staircase is flat).

    Computed exactly, not as floor(a / b): 1 / 0.1 rounds to 10.0, but 0.1 is a little more than
    a tenth, so 1 divided by it, rounded down, is 9 (and 1 % 0.1 is almost 0.1)."""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any, rounding_mode: str) -> torch.Tensor:
        return torch.div(a, b, rounding_mode=rounding_mode)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a_needs, b_needs = ctx.needs_input_grad[:2]
        zeros = grad.new_zeros(grad.shape)
        return zeros if a_needs else None, zeros if b_needs else None, None

    @staticmethod
    def explain_failure(a: Any, b: Any, rounding_mode: Any = None) -> str | Exception | None:
        return _integer_division_by_zero(f"div(rounding_mode={rounding_mode!r})", a, b)


class FloorDivide(BroadcastingFunction):
    """out = a // b = floor(a / b).   dout/da, dout/db: none; torch refuses this backward.

    torch has no derivative for floor_divide (its backward raises "derivative for
    aten::floor_divide is not implemented"), so minigrad's backward refuses too, with the ways
    round it. The values are div(a, b, rounding_mode='floor')'s, whose gradient is 0."""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> torch.Tensor:
        return torch.floor_divide(a, b)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        raise GradientError(
            "a // b (floor_divide) has no gradient, in torch either: backward through it raises "
            "there. Rounding is flat almost everywhere, so its gradient would be 0: to say so, "
            "write a.div(b, rounding_mode='floor'), whose gradient torch (and minigrad) define "
            "as 0; to keep it out of the graph, use (a // b).detach() or compute it under "
            "no_grad(); for a gradient through the division itself, use a / b."
        )

    @staticmethod
    def explain_failure(a: Any, b: Any) -> str | Exception | None:
        return _integer_division_by_zero("a // b (floor_divide)", a, b)


class Remainder(BroadcastingFunction):
    """out = a - floor(a / b) * b (Python's a % b: the sign of b).   dout/da = 1, dout/db =
    -floor(a / b).

    a % b climbs with a like a itself, and falls back by b at each multiple of b. Where a / b
    is an integer it jumps; torch takes the formula there too. The floor is div's exact one
    (see DivRounded). With a a number (2 % x), torch has no gradient for b and refuses the
    backward; so does minigrad."""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any) -> torch.Tensor:
        ctx.save_for_backward(*((a, b) if ctx.needs_input_grad[1] else (None, None)))
        return torch.remainder(a, b)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, b = ctx.saved_tensors
        a_needs, b_needs = ctx.needs_input_grad
        if b_needs and _is_number(a):
            raise GradientError(
                f"{a!r} % x (remainder of a number by a tensor) has no gradient for x in torch: "
                "backward through it raises there, and in minigrad too. For one, make the number "
                f"a tensor of x's dtype first: minigrad.full_like(x, {a!r}) % x, whose gradient "
                "for x is -floor(a / x)."
            )
        grad_b = -grad * a.div(b, rounding_mode="floor") if b_needs else None
        return grad if a_needs else None, grad_b

    @staticmethod
    def explain_failure(a: Any, b: Any) -> str | Exception | None:
        return _integer_division_by_zero("a % b (remainder)", a, b)


class Fmod(BroadcastingFunction):
    """out = a - trunc(a / b) * b (C's fmod: the sign of a).   dout/da = 1, dout/db =
    -trunc(a / b).

    As remainder, but the quotient is rounded toward 0: fmod(-3, 2) = -1 where -3 % 2 = 1."""

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: Any) -> torch.Tensor:
        ctx.save_for_backward(*((a, b) if ctx.needs_input_grad[1] else (None, None)))
        return torch.fmod(a, b)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, b = ctx.saved_tensors
        a_needs, b_needs = ctx.needs_input_grad
        grad_b = -grad * a.div(b, rounding_mode="trunc") if b_needs else None
        return grad if a_needs else None, grad_b

    @staticmethod
    def explain_failure(a: Any, b: Any) -> str | Exception | None:
        return _integer_division_by_zero("fmod(a, b)", a, b)


def _integer_division_by_zero(what: str, a: Any, b: Any) -> str | Exception | None:
    """torch's error for integers divided by 0 says only "ZeroDivisionError": say where and why
    (a float divided by 0 is inf or NaN, an integer has neither). Else the shapes' problem."""
    is_integer = [
        not x.dtype.is_floating_point if isinstance(x, Tensor) else isinstance(x, int)
        for x in (a, b)
    ]
    zero_divisor = bool((b == 0).any()) if isinstance(b, Tensor) else b == 0
    if all(is_integer) and zero_divisor:
        return RuntimeError(
            f"{what} of integers by zero: the divisor has a 0, and integers have no inf or NaN "
            "for the answer (as in torch, which raises ZeroDivisionError). Leave the zeros out, "
            "or convert to floats first (.float()) to get inf and NaN there."
        )
    return BroadcastingFunction.explain_failure(a, b)


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


class Lerp(BroadcastingFunction):
    """out = start + weight * (end - start): weight 0 gives start, 1 gives end.   dout/dstart =
    1 - weight, dout/dend = weight, dout/dweight = end - start.

    weight is a number or a tensor, and the three broadcast. The forward is torch's lerp, which
    for weight >= 0.5 computes end - (end - start) * (1 - weight) instead, exact at weight = 1.
    """

    @staticmethod
    def forward(ctx: Context, start: torch.Tensor, end: torch.Tensor, weight: Any) -> torch.Tensor:
        start_needs, end_needs, weight_needs = ctx.needs_input_grad
        ctx.save_for_backward(
            start if weight_needs else None,
            end if weight_needs else None,
            weight if start_needs or end_needs else None,
        )
        return torch.lerp(start, end, weight)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        start, end, weight = ctx.saved_tensors
        start_needs, end_needs, weight_needs = ctx.needs_input_grad
        return (
            grad * (1 - weight) if start_needs else None,
            grad * weight if end_needs else None,
            grad * (end - start) if weight_needs else None,
        )
