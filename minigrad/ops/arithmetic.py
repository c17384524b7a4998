"""Elementwise arithmetic: +, -, *, /, unary -, **, maximum and minimum (fmax and fmin), and
`where`; and the functions of two operands beyond them: atan2, hypot, logaddexp(2), xlogy,
copysign, heaviside.

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
    def node_name(ctx: Context) -> str:
        return "RsubBackward1" if ctx.parents[0] is None else "SubBackward0"  # (torch's: 1 - x)

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
    def node_name(ctx: Context) -> str:
        # torch computes a number over a tensor (2 / x) as x.reciprocal() * 2: its node is a Mul
        return "MulBackward0" if ctx.parents[0] is None else "DivBackward0"

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

    torch_name = "DivBackward2"  # (torch's div with a rounding_mode)

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
    def node_name(ctx: Context) -> str:
        """torch's: x ** 2 is PowBackward0, x ** y PowBackward1, 2 ** x PowBackward2."""
        if ctx.parents[0] is None:
            return "PowBackward2"
        return "PowBackward0" if ctx.parents[1] is None else "PowBackward1"

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


class Fmax(BroadcastingFunction):
    """out = the larger of a and b, NaN counted as missing.   dout/da = 1 where a >= b or b is
    NaN, else 0; dout/db = 1 where dout/da = 0.

    torch.fmax: where one operand is NaN, out is the other one; NaN only where both are. The
    whole gradient goes to the operand out was taken from, with torch's rule at the places
    where that is not clear: at a tie (-0.0 and 0.0 tie too) it goes to a, not halved as
    maximum's; where both are NaN, to a too."""

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        return torch.fmax(a, b)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, b = ctx.saved_tensors
        return _all_to_one(grad, ctx.needs_input_grad, a_chosen=(a >= b) | b.isnan())


class Fmin(BroadcastingFunction):
    """out = the smaller of a and b, NaN counted as missing.   dout/da = 1 where a <= b or b is
    NaN, else 0; dout/db = 1 where dout/da = 0.

    torch.fmin, fmax's mirror: the whole gradient to the operand chosen, to a at a tie and
    where both are NaN (torch's rule)."""

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        return torch.fmin(a, b)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, b = ctx.saved_tensors
        return _all_to_one(grad, ctx.needs_input_grad, a_chosen=(a <= b) | b.isnan())


def _all_to_one(grad: torch.Tensor, needs: tuple[bool, ...], a_chosen: torch.Tensor) -> tuple:
    """The gradient to a where a was chosen, to b elsewhere: a choice, not a product (an inf
    arriving at the other operand's place gives 0 to this one, not NaN)."""
    return (
        grad.where(a_chosen, 0.0) if needs[0] else None,
        grad.masked_fill(a_chosen, 0.0) if needs[1] else None,
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


class MaskedFill(Where):
    """out = value where mask is true, x elsewhere.   dout/dx = 1 where not mask, dout/dvalue =
    1 where mask, summed over the mask (value is one number).

    x.masked_fill(mask, value): a where, under torch's own name for it (its node
    MaskedFillBackward0); its arguments come in where's order, (mask, value, x).
    """


class Compare(BroadcastingFunction):
    """out = 1 where a <comparison> b holds (a == b, a < b, ...), else 0.   dout/da = dout/db = 0.

    What an in-place comparison writes into a tensor (x.eq_(y), x.lt_(0)): torch keeps x's dtype
    and records the change. A step is flat wherever it has a slope, so the gradient is 0 (at the
    jump, too, as torch takes it). x == y itself gives a bool tensor, outside the graph.
    """

    @staticmethod
    def node_name(ctx: Context) -> str:  # torch's: EqBackward0 against a number, 1 a tensor
        return f"{ctx.comparison.capitalize()}Backward{0 if ctx.parents[1] is None else 1}"

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: Any, *, comparison: str) -> torch.Tensor:
        ctx.comparison = comparison
        return getattr(torch, comparison)(a, b).to(a.dtype)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a_needs, b_needs = ctx.needs_input_grad
        zeros = grad.new_zeros(grad.shape)  # (b's summed to its shape by the engine)
        return zeros if a_needs else None, zeros if b_needs else None


class Lerp(BroadcastingFunction):
    """out = start + weight * (end - start): weight 0 gives start, 1 gives end.   dout/dstart =
    1 - weight, dout/dend = weight, dout/dweight = end - start.

    weight is a number or a tensor, and the three broadcast. The forward is torch's lerp, which
    for weight >= 0.5 computes end - (end - start) * (1 - weight) instead, exact at weight = 1.
    """

    @staticmethod
    def node_name(ctx: Context) -> str:
        return "LerpBackward0" if ctx.parents[2] is None else "LerpBackward1"  # (torch's)

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


# ---- angles, lengths, sums of exponentials, x ln y, signs and steps ---------------------------
# Each an op of its own where a composition of the ops above would be wrong somewhere or less
# accurate than torch; each backward is torch's formula (so its second derivatives, NaNs where
# torch's are NaN, are torch's too).


class Atan2(BroadcastingFunction):
    """out = atan2(a, b), the angle of the point (b, a), in (-pi, pi].   dout/da = b / (a^2 +
    b^2), dout/db = -a / (a^2 + b^2), both 0 at the origin.

    Not atan(a / b), which loses the quadrant (a / b is the same for (b, a) and (-b, -a)) and
    divides by 0 on the y axis. The derivatives are those of atan(a / b) all the same, wherever
    b != 0, and they hold on the y axis too. At (0, 0), where the angle jumps, torch takes both
    as 0 (it zeroes 1 / (a^2 + b^2) there), and so does minigrad; their second derivatives
    there are NaN, in both (the zeroed 1 / 0 is still inf to the chain rule).
    """

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        return torch.atan2(a, b)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, b = ctx.saved_tensors
        a_needs, b_needs = ctx.needs_input_grad
        squared = a * a + b * b
        scale = squared.reciprocal().masked_fill(squared == 0, 0.0)  # (torch's 0 at the origin)
        return grad * b * scale if a_needs else None, grad * -a * scale if b_needs else None


class Hypot(BroadcastingFunction):
    """out = sqrt(a^2 + b^2), the length of (a, b).   dout/da = a / out, dout/db = b / out.

    Not (a * a + b * b).sqrt(): a^2 overflows to inf for |a| > 1e154 (float64) and underflows
    to 0 below 1e-162, where the length itself is an ordinary number; torch's hypot scales
    first. At (0, 0), where the cone has its tip, both derivatives are 0 / 0 = NaN, as torch's.
    """

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        out = torch.hypot(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, b, out = ctx.saved_tensors
        a_needs, b_needs = ctx.needs_input_grad
        return grad * a / out if a_needs else None, grad * b / out if b_needs else None


class LogAddExp(BroadcastingFunction):
    """out = ln(e^a + e^b).   dout/da = 1 / (1 + e^(b - a)), dout/db = 1 / (1 + e^(a - b)).

    That is e^a / (e^a + e^b) with e^a divided out: sigmoid(a - b), and sigmoid(b - a).

    Not (a.exp() + b.exp()).log(): e^a overflows to inf for a > 709 (float64), and both
    underflow to 0 for a, b < -745, where out is an ordinary number. torch's forward works out
    max(a, b) + ln(1 + e^-|a - b|) instead, which never overflows. The derivatives' e^(b - a)
    may overflow, but then 1 / (1 + inf) is the right 0.
    """

    torch_name = "LogaddexpBackward0"

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        return torch.logaddexp(a, b)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, b = ctx.saved_tensors
        a_needs, b_needs = ctx.needs_input_grad
        return (
            grad / (1 + (b - a).exp()) if a_needs else None,
            grad / (1 + (a - b).exp()) if b_needs else None,
        )


class LogAddExp2(BroadcastingFunction):
    """out = log2(2^a + 2^b).   dout/da = 1 / (1 + 2^(b - a)), dout/db = 1 / (1 + 2^(a - b)).

    logaddexp in base 2 (out = logaddexp(a ln 2, b ln 2) / ln 2), with the same overflow that a
    composition would meet, and torch's forward avoids."""

    torch_name = "Logaddexp2Backward0"

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        return torch.logaddexp2(a, b)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, b = ctx.saved_tensors
        a_needs, b_needs = ctx.needs_input_grad
        return (
            grad / (1 + 2 ** (b - a)) if a_needs else None,
            grad / (1 + 2 ** (a - b)) if b_needs else None,
        )


class Xlogy(BroadcastingFunction):
    """out = x ln y, 0 where x = 0 (unless y is NaN).   dout/dx = ln y (0 where x = 0 and
    y <= 0), dout/dy = x / y.

    0 where x = 0 even where ln y is -inf or inf: the convention of entropy (p ln p = 0 at
    p = 0), as torch's. A composition would be wrong at x = 0, y = 0: where(x == 0, 0,
    x * y.log()) has the right values, but its gradient for x, G * ln y read through the
    where, is G * -inf there, not 0. torch writes dL/dx as
    xlogy(G, y) (G ln y, and 0 where G is 0) with 0 where x = 0 and y <= 0, and that is the
    formula here, so that its own derivative is xlogy's again. dout/dy = x / y is 0 / 0 = NaN
    at x = y = 0, as torch's. Either operand may be a Python number.
    """

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> torch.Tensor:
        ctx.save_for_backward(x, y)
        return torch.xlogy(x, y)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        x, y = ctx.saved_tensors
        x_needs, y_needs = ctx.needs_input_grad
        grad_x = grad_y = None
        if x_needs:
            grad_x = grad.xlogy(y).masked_fill((x == 0) & (y <= 0), 0.0)
        if y_needs:
            grad_y = grad * x / y
        return grad_x, grad_y


class Copysign(BroadcastingFunction):
    """out = |a| with the sign of b (-0.0 counts as negative).   dout/da = out / a = +1 or -1
    (0 at a = 0, as torch's), dout/db = 0.

    copysign(1, -0.0) is -1. Not a.abs() * b.sign(): sign(0) is 0, where copysign keeps |a|. b's
    gradient is zeros, not none, as torch gives: out is flat in b, but for its sign jump at 0.
    """

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: Any) -> torch.Tensor:
        out = torch.copysign(a, b)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, out = ctx.saved_tensors
        a_needs, b_needs = ctx.needs_input_grad
        grad_a = grad * (out / a).masked_fill(a == 0, 0.0) if a_needs else None
        return grad_a, grad.new_zeros(grad.shape) if b_needs else None


class Heaviside(BroadcastingFunction):
    """out = 0 where x < 0, 1 where x > 0, and `values` where x = 0.   dout/dx = dout/dvalues =
    none, as torch refuses this backward.

    A step, flat but at its jump. torch records the op, and its backward raises ("derivative
    for aten::heaviside is not implemented"), so minigrad's backward refuses too, with the
    ways round it."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        return torch.heaviside(x, values)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        raise GradientError(
            "heaviside(x, values) has no gradient, in torch either: backward through it "
            "raises there. A step is flat but at its jump, so the gradient would be 0: keep "
            "it out of the graph with heaviside(x.detach(), values), or for a gradient that "
            "passes through a smooth step, use a sigmoid, (x / width).sigmoid()."
        )

    @staticmethod
    def explain_failure(x: Any, values: Any) -> str | Exception | None:
        if x.dtype != values.dtype:
            return RuntimeError(
                f"heaviside needs x and values of one dtype, as torch does; got {x.dtype} and "
                f"{values.dtype}. Convert values first: values.to(x.dtype)."
            )
        return BroadcastingFunction.explain_failure(x, values)
