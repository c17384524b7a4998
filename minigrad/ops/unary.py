"""Elementwise functions of one tensor. Where the derivative is a function of the output
(sigmoid, tanh, exp), backward reuses the saved output instead of recomputing it."""

from __future__ import annotations

import torch

from ..autograd.function import Context, Function


class Exp(Function):
    """out = e^x.   dout/dx = e^x = out."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        out = torch.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    """out = ln x.   dout/dx = 1/x."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.log(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad / x


class Sigmoid(Function):
    """s = 1 / (1 + e^-x).   ds/dx = s (1 - s)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        s = torch.sigmoid(x)
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (s,) = ctx.saved_tensors
        return grad * s * (1 - s)


class Tanh(Function):
    """t = tanh x.   dt/dx = 1 - t^2."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        t = torch.tanh(x)
        ctx.save_for_backward(t)
        return t

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (t,) = ctx.saved_tensors
        return grad * (1 - t * t)


class ReLU(Function):
    """out = max(x, 0).   dout/dx = 1 where x > 0, else 0 (0 at x = 0 too, as in torch; and
    1 at NaN, as in torch, which zeroes the gradient only where out <= 0)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return grad.masked_fill(out <= 0, 0)


class ClampMin(Function):
    """out = max(x, m) for a number m.   dout/dx = 1 where x >= m, else 0 (as in torch)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, minimum: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.minimum = minimum
        return torch.clamp_min(x, minimum)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (x,) = ctx.saved_tensors
        return grad * (x >= ctx.minimum), None


class Abs(Function):
    """out = |x|.   dout/dx = sign(x), which is 0 at x = 0 (as in torch)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.abs(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * torch.sign(x)
