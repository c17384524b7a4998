"""Elementwise functions of one tensor (and clamp, whose bounds may be tensors too). Where the
derivative is a function of the output (sigmoid, tanh, exp, sqrt), backward reuses the saved
output instead of recomputing it."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..autograd.function import BroadcastingFunction, Context, Op
from ..errors import shape_str

Bound = float | torch.Tensor | None


class Exp(Op):
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


class Log(Op):
    """out = ln x.   dout/dx = 1/x."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.log(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad / x


class Sigmoid(Op):
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


class Tanh(Op):
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


class ReLU(Op):
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
        # A choice, not a product: where out <= 0 the gradient is 0 even if an inf or NaN
        # arrives there (inf * 0 is NaN); where out is NaN, the gradient passes (as torch).
        return torch.where(out <= 0, 0.0, grad)


class ClampMin(Op):
    """out = max(x, m) for a number m.   dout/dx = 1 where x >= m, else 0 (as in torch)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, minimum: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.minimum = minimum
        return torch.clamp_min(x, minimum)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (x,) = ctx.saved_tensors
        return torch.where(x >= ctx.minimum, grad, 0.0), None  # (a choice: see ReLU's)


class LeakyReLU(Op):
    """out = x if x > 0, else negative_slope * x.   dout/dx = 1 if x > 0, else negative_slope.

    At x = 0 exactly (and -0.0) the slope is negative_slope, not 1, as in torch (whose kernel
    asks "x > 0?"); so is it at NaN. Any slope torch takes is fine: 0 gives relu (but 0 times
    an incoming inf is NaN here, as in torch), a negative one a function that is not monotonic,
    one above 1 a function steeper on the left.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, negative_slope: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        return torch.nn.functional.leaky_relu(x, negative_slope)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (x,) = ctx.saved_tensors
        return torch.where(x > 0, grad, grad * ctx.negative_slope), None

    @staticmethod
    def explain_failure(x: Any, negative_slope: Any) -> Exception | None:
        return _needs_floating(x)


class GELU(Op):
    """out = x * Phi(x).   dout/dx = Phi(x) + x * phi(x)   (exact; the tanh form below)

    x weighed by Phi(x), the probability that a standard normal is below x: a smooth relu.
    approximate='none' (exact), with Phi the normal CDF and phi its density:

        Phi(x) = (1 + erf(x / sqrt 2)) / 2,   phi(x) = e^(-x^2 / 2) / sqrt(2 pi)
        dout/dx = Phi(x) + x * phi(x)

    approximate='tanh' (GPT-2's), with Phi replaced by a tanh curve:

        u = sqrt(2 / pi) * (x + 0.044715 x^3),   t = tanh u
        out = x * (1 + t) / 2
        dout/dx = (1 + t) / 2 + x / 2 * (1 - t^2) * sqrt(2 / pi) * (1 + 3 * 0.044715 x^2)

    (the product rule, then the chain rule through tanh and u). Both are smooth: no kinks.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        return torch.nn.functional.gelu(x, approximate=approximate)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = torch.tanh(_SQRT_2_OVER_PI * (x + _GELU_TANH_CUBIC * x**3))
            du_dx = _SQRT_2_OVER_PI * (1 + 3 * _GELU_TANH_CUBIC * x * x)
            slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du_dx
        else:
            cdf = 0.5 * (1 + torch.erf(x * _SQRT_HALF))
            density = torch.exp(-0.5 * x * x) * _ONE_OVER_SQRT_2PI
            slope = cdf + x * density
        return grad * slope, None

    @staticmethod
    def explain_failure(x: Any, approximate: Any = "none") -> Exception | None:
        return _needs_floating(x)


_SQRT_HALF = math.sqrt(0.5)
_ONE_OVER_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_TANH_CUBIC = 0.044715


def _needs_floating(x: Any) -> TypeError | None:
    """The error for an activation of integers (torch's kernels have no integer version)."""
    if x.dtype.is_floating_point:
        return None
    return TypeError(
        f"the input must be a floating-point tensor, got {x.dtype} of shape "
        f"{shape_str(x.shape)}. Convert it with .float() first."
    )


class Abs(Op):
    """out = |x|.   dout/dx = sign(x), which is 0 at x = 0 (as in torch)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.abs(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * torch.sign(x)


class Sin(Op):
    """out = sin x.   dout/dx = cos x."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.sin(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * torch.cos(x)


class Cos(Op):
    """out = cos x.   dout/dx = -sin x."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.cos(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return -grad * torch.sin(x)


class Sqrt(Op):
    """out = sqrt(x).   dout/dx = 1 / (2 sqrt(x)) = 1 / (2 out).

    At x = 0 the slope is infinite: the gradient is inf (NaN where the incoming one is 0), as in
    torch.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        out = torch.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return grad / (2 * out)


class Rsqrt(Op):
    """out = 1 / sqrt(x) = x^(-1/2).   dout/dx = -1/2 x^(-3/2) = -out^3 / 2."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        out = torch.rsqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return -0.5 * grad * out**3


class Log10(Op):
    """out = log10 x = ln x / ln 10.   dout/dx = 1 / (x ln 10)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.log10(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad / (x * math.log(10))


class Log1p(Op):
    """out = ln(1 + x), accurate for x near 0.   dout/dx = 1 / (1 + x)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.log1p(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad / (1 + x)


class Expm1(Op):
    """out = e^x - 1, accurate for x near 0.   dout/dx = e^x = out + 1."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        out = torch.expm1(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return grad * (out + 1)


class Softplus(Op):
    """out = log(1 + e^(beta x)) / beta, a smooth relu.   dout/dx = sigmoid(beta x).

    As in torch, where beta x > threshold the output is x itself (log(1 + e^z) = z to within
    e^-z there), and so its gradient is exactly 1.
    """

    @staticmethod
    def forward(
        ctx: Context, x: torch.Tensor, beta: float = 1.0, threshold: float = 20.0
    ) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        return torch.nn.functional.softplus(x, beta=beta, threshold=threshold)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        z = ctx.beta * x
        return torch.where(z > ctx.threshold, grad, grad * torch.sigmoid(z))


class Clamp(BroadcastingFunction):
    """out = x kept within [min, max] (either bound may be None), bounds numbers or tensors.

    dout/dx = 1 where min <= x <= max, else 0: at a bound itself the gradient goes to x, as in
    torch. Tensor bounds get the rest: dout/dmin = 1 where x < min, dout/dmax = 1 where x > max.
    If min > max somewhere, out is max there, and only max gets the gradient (torch's rule).
    """

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        min: Bound = None,
        max: Bound = None,  # noqa: A002
    ) -> torch.Tensor:
        ctx.save_for_backward(x, min, max)
        return torch.clamp(x, min, max)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        x, low, high = ctx.saved_tensors
        _, low_needs, high_needs = ctx.needs_input_grad
        zero = torch.zeros((), dtype=grad.dtype, device=grad.device)
        inside = torch.ones_like(x, dtype=torch.bool)
        if low is not None:
            inside = inside & (x >= low)
        if high is not None:
            inside = inside & (x <= high)
        grad_x = torch.where(inside, grad, zero)
        grad_low = grad_high = None
        if low_needs:
            below = (x < low) if high is None else (x < low) & (low < high)
            grad_low = torch.where(below, grad, zero)
        if high_needs:
            above = (x > high) if low is None else (x > high) | (high < low)
            grad_high = torch.where(above, grad, zero)
        return grad_x, grad_low, grad_high
