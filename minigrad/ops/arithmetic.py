"""Elementwise arithmetic: +, -, *, /, unary -, ** with a number, and `where`.

Operands broadcast as in torch. Each backward returns gradients of the broadcast shape; the
engine then sums each one back to its input's shape (`autograd.engine.sum_to_shape`).
Either operand may be a Python number, which gets no gradient.
"""

from __future__ import annotations

import torch

from ..autograd.function import BroadcastingFunction, Context, Function


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
    """out = a / b.   dout/da = 1/b, dout/db = -a/b^2 = -out/b."""

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        out = a / b
        ctx.save_for_backward(b, out if ctx.needs_input_grad[1] else None)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        b, out = ctx.saved_tensors
        a_needs, b_needs = ctx.needs_input_grad
        return grad / b if a_needs else None, -grad * out / b if b_needs else None


class Neg(Function):
    """out = -x.   dout/dx = -1."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        return -x

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return -grad


class Pow(Function):
    """out = x ** n, for a number n.   dout/dx = n * x^(n-1)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, n: float) -> torch.Tensor:
        if isinstance(n, torch.Tensor):
            raise TypeError(
                "x ** y takes a Python number as the exponent; for a tensor exponent write "
                "(y * x.log()).exp()"
            )
        ctx.save_for_backward(x)
        ctx.n = n
        return x**n

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (x,) = ctx.saved_tensors
        if ctx.n == 0:  # x**0 = 1 is flat; n * x**(n-1) would be 0 * inf = NaN at x = 0
            return torch.zeros_like(grad), None
        return grad * ctx.n * x ** (ctx.n - 1), None


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
        zero = torch.zeros((), dtype=grad.dtype, device=grad.device)
        grad_a = torch.where(condition, grad, zero) if a_needs else None
        grad_b = torch.where(condition, zero, grad) if b_needs else None
        return None, grad_a, grad_b
