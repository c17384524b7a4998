"""Elementwise functions of one tensor (and clamp, whose bounds may be tensors too). Where the
derivative is a function of the output (sigmoid, tanh, exp, sqrt), backward reuses the saved
output instead of recomputing it.

Each backward is one formula, written with operators and Tensor methods (`x.cos()`, not
`torch.cos(x)`), so that it runs on torch tensors (backward()) and on minigrad Tensors
(backward(create_graph=True), which records it, so that it can be differentiated again)."""

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


class Logit(Op):
    """out = log(x / (1 - x)), the inverse of sigmoid.   dout/dx = 1 / (x (1 - x)).

    With `eps`, x is first clamped to [eps, 1 - eps] (torch's logit(x, eps), which keeps the
    output finite at 0 and 1): outside that range the output is flat, and its gradient is 0.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, *, eps: float | None = None) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.eps = eps
        return torch.logit(x, eps)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> Any:
        (x,) = ctx.saved_tensors
        slope = grad / (x * (1 - x))
        if ctx.eps is None or ctx.eps < 0:  # (a negative eps clamps nothing, as in torch)
            return slope
        return slope.masked_fill((x < ctx.eps) | (x > 1 - ctx.eps), 0.0)  # clamped: flat there


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
    1 at NaN, as in torch, which zeroes the gradient only where out <= 0).

    So dL/dx = G where out > 0, else 0: G.masked_fill(out <= 0, 0). The first-order backward
    computes the same choice with torch's kernel for it, threshold_backward(G, out, 0), which
    was 18 to 29 times faster on the CNN's activations (128x32x14x14 to 128x256x2x2, float32:
    6.9 ms against 0.38 ms for the largest) and 5 to 8 times on the MLP's (64x128, 256x128),
    measured side by side on the 2-core CPU at load 5, one torch thread (benchmarks/RESULTS.md).
    Both give the same numbers, bit for bit (tests/test_ops_elementwise.py).
    """

    torch_name = "ReluBackward0"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        if Op.kernel_allowed(grad):  # torch's kernel for the formula below
            return torch.ops.aten.threshold_backward(grad, out, 0)
        # A choice, not a product: where out <= 0 the gradient is 0 even if an inf or NaN
        # arrives there (inf * 0 is NaN); where out is NaN, the gradient passes (as torch).
        return grad.masked_fill(out <= 0, 0.0)


class ClampMin(Op):
    """out = max(x, m) for a number m.   dout/dx = 1 where x >= m, else 0 (as in torch).

    (x.clamp_min(t) with a tensor t, which gets a gradient of its own, is a Clamp.)"""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, minimum: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.minimum = minimum
        return torch.clamp_min(x, minimum)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (x,) = ctx.saved_tensors
        return grad.where(x >= ctx.minimum, 0.0), None  # (a choice: see ReLU's)


class LeakyReLU(Op):
    """out = x if x > 0, else negative_slope * x.   dout/dx = 1 if x > 0, else negative_slope.

    At x = 0 exactly (and -0.0) the slope is negative_slope, not 1, as in torch (whose kernel
    asks "x > 0?"); so is it at NaN. Any slope torch takes is fine: 0 gives relu (but 0 times
    an incoming inf is NaN here, as in torch), a negative one a function that is not monotonic,
    one above 1 a function steeper on the left.
    """

    torch_name = "LeakyReluBackward0"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, negative_slope: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        return torch.nn.functional.leaky_relu(x, negative_slope)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (x,) = ctx.saved_tensors
        return grad.where(x > 0, grad * ctx.negative_slope), None

    @staticmethod
    def explain_failure(x: Any, negative_slope: Any) -> Exception | None:
        return _needs_floating(x)


class SiLU(Op):
    """out = x * sigmoid(x).   dout/dx = s (1 + x (1 - s)), s = sigmoid(x).

    The sigmoid-weighted linear unit (also called swish): x weighed by the probability-like
    sigmoid(x), a smooth relu that dips a little below 0 for negative x. The product rule:
    d(x s)/dx = s + x s', and s' = s (1 - s) (see Sigmoid). Smooth: no kinks.
    """

    torch_name = "SiluBackward0"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.nn.functional.silu(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        s = x.sigmoid()
        return grad * s * (1 + x * (1 - s))

    @staticmethod
    def explain_failure(x: Any) -> Exception | None:
        return _needs_floating(x)


class ELU(Op):
    """out = x if x > 0, else alpha (e^x - 1).   dout/dx = 1 if x > 0, else alpha e^x.

    The exponential linear unit: a relu whose left side bends smoothly down to -alpha instead of
    stopping at 0. At x = 0 the slope is alpha e^0 = alpha, as in torch (whose kernel asks
    "x <= 0?"), so for alpha != 1 there is a kink at 0; at NaN the slope is 1, as torch's.
    """

    torch_name = "EluBackward0"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return torch.nn.functional.elu(x, alpha)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (x,) = ctx.saved_tensors
        return (grad * ctx.alpha * x.exp()).where(x <= 0, grad), None

    @staticmethod
    def explain_failure(x: Any, alpha: Any) -> Exception | None:
        return _needs_floating(x)


class Hardtanh(Op):
    """out = x kept within [min_val, max_val].   dout/dx = 1 where min_val < x < max_val, else 0.

    Clamp's values, but not quite its gradient: at a bound itself the slope is 0 here (torch's
    hardtanh kernel asks "x <= min_val or x >= max_val?"), where clamp's is 1. relu6 is
    hardtanh(x, 0, 6). At NaN the gradient passes, as torch's.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, min_val: float, max_val: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.min_val, ctx.max_val = min_val, max_val
        return torch.nn.functional.hardtanh(x, min_val, max_val)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (x,) = ctx.saved_tensors
        # A choice, not a product (see ReLU's): an inf arriving at a flat place gives 0
        outside = (x <= ctx.min_val) | (x >= ctx.max_val)
        return grad.masked_fill(outside, 0.0), None, None


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

    torch_name = "GeluBackward0"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        return torch.nn.functional.gelu(x, approximate=approximate)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (x,) = ctx.saved_tensors
        if ctx.approximate == "tanh":
            t = (_SQRT_2_OVER_PI * (x + _GELU_TANH_CUBIC * x**3)).tanh()
            du_dx = _SQRT_2_OVER_PI * (1 + 3 * _GELU_TANH_CUBIC * x * x)
            slope = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du_dx
        else:
            cdf = 0.5 * (1 + (x * _SQRT_HALF).erf())
            density = (-0.5 * x * x).exp() * _ONE_OVER_SQRT_2PI
            slope = cdf + x * density
        return grad * slope, None

    @staticmethod
    def explain_failure(x: Any, approximate: Any = "none") -> Exception | None:
        return _needs_floating(x)


class Erf(Op):
    """out = erf x = 2/sqrt(pi) * (the integral of e^(-t^2) from 0 to x).   dout/dx =
    2/sqrt(pi) * e^(-x^2).

    The error function: the normal CDF is Phi(x) = (1 + erf(x / sqrt 2)) / 2, which is how
    GELU's backward uses it. Its slope is the integrand itself, by the fundamental theorem of
    calculus.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.erf(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * (_TWO_OVER_SQRT_PI * (-x * x).exp())


class Erfc(Op):
    """out = erfc x = 1 - erf x.   dout/dx = -2/sqrt(pi) * e^(-x^2), erf's slope turned.

    Its own op, not 1 - erf x: far in the right tail erf x rounds to 1 and the difference to 0
    (erfc 6 = 2e-17), where torch's erfc keeps every digit.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.erfc(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * (-_TWO_OVER_SQRT_PI * (-x * x).exp())


class Ndtri(Op):
    """out = Phi^-1(p), the x whose normal CDF is p.   dout/dp = 1 / Phi'(out) = sqrt(2 pi) *
    e^(out^2 / 2), the slope of an inverse is one over the slope at the point it returns.

    torch's kernel, accurate in the tails (sqrt(2) erfinv(2p - 1) loses the digits of a tiny p
    to the subtraction)."""

    @staticmethod
    def forward(ctx: Context, p: torch.Tensor) -> torch.Tensor:
        out = torch.special.ndtri(p)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return grad * (_SQRT_TWO_PI * (out * out * 0.5).exp())


class LogNdtr(Op):
    """out = ln Phi(x), the log of the normal CDF.   dout/dx = Phi'(x) / Phi(x) = e^(-x^2/2 -
    out) / sqrt(2 pi), the normal density over the CDF, written with out so that it stays
    finite far in the left tail, where Phi(x) underflows (out = -800 at x = -40)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        out = torch.special.log_ndtr(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        x, out = ctx.saved_tensors
        return grad * ((-x * x * 0.5 - out).exp() / _SQRT_TWO_PI)


class Lgamma(Op):
    """out = ln |Gamma(x)|.   dout/dx = digamma(x) = Gamma'(x) / Gamma(x).

    The log of the gamma function (Gamma(n) = (n - 1)! at whole n), the normalising constant of
    the Gamma, Beta, Dirichlet, Poisson and binomial densities. Its slope is the digamma
    function, the log-derivative of Gamma. At 0, -1, -2, ... Gamma has poles: out is +inf.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.lgamma(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * x.digamma()


class Digamma(Op):
    """out = digamma(x) = d/dx ln Gamma(x).   dout/dx = polygamma(1, x), the trigamma function.

    The slope of lgamma, and so the derivative of every normalising constant above: the Gamma
    density's gradient in its shape goes through it. Its own slope is the next polygamma.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.digamma(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * x.polygamma(1)


class Polygamma(Op):
    """out = polygamma(n, x), n >= 0 whole.   dout/dx = polygamma(n + 1, x).

    polygamma(n, x) is the (n + 1)-th derivative of ln Gamma(x); n is fixed (not
    differentiated): polygamma(0, x) is digamma(x), and each step in n is one more derivative in
    x, which is why the slope is the same function one order higher.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, n: int) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.n = n
        return torch.polygamma(n, x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        (x,) = ctx.saved_tensors
        return grad * x.polygamma(ctx.n + 1), None


class Erfinv(Op):
    """out = erfinv(y), the x with erf(x) = y (y in [-1, 1]).   dout/dy = sqrt(pi)/2 e^(out^2).

    The inverse function's slope is 1 / (the function's slope at the answer): erf'(x) =
    2 / sqrt(pi) * e^(-x^2), so dout/dy = 1 / erf'(out). The normal distribution's icdf is
    built on it.
    """

    @staticmethod
    def forward(ctx: Context, y: torch.Tensor) -> torch.Tensor:
        out = torch.erfinv(y)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return grad * (_SQRT_PI_OVER_TWO * (out * out).exp())


_SQRT_HALF = math.sqrt(0.5)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2
_ONE_OVER_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_TANH_CUBIC = 0.044715
_SQRT_TWO_PI = math.sqrt(2 * math.pi)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_LN_2 = math.log(2)


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
        return grad * x.sign()


class Sign(Op):
    """out = sign(x): -1, 0 or 1.   dout/dx = 0: a step is flat wherever it has a slope.

    (At 0, where it jumps, torch takes 0 too.) Abs's backward uses it, so that the gradient of
    |x|, grad * sign(x), can itself be differentiated: by x it is 0, by grad it is sign(x).
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        return torch.sign(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return grad.new_zeros(grad.shape)  # zeros, as torch gives (not None)


# ---- rounding: steps, flat wherever they have a slope ------------------------------------------


class Floor(Op):
    """out = floor x, the largest integer <= x.   dout/dx = 0: a staircase is flat between its
    steps, and at a step torch takes 0 too."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        return torch.floor(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return grad.new_zeros(grad.shape)  # zeros, as torch gives (not None)


class Ceil(Op):
    """out = ceil x, the smallest integer >= x.   dout/dx = 0 (at a step too, as in torch)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        return torch.ceil(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return grad.new_zeros(grad.shape)


class Round(Op):
    """out = x rounded to `decimals` places, halves to even (2.5 -> 2).   dout/dx = 0 (at a
    step too, as in torch)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, decimals: int | None = None) -> torch.Tensor:
        # (torch's two kernels: without decimals= it rounds integers too, with it only floats)
        return torch.round(x) if decimals is None else torch.round(x, decimals=decimals)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return grad.new_zeros(grad.shape)

    @staticmethod
    def explain_failure(x: Any, decimals: Any = None) -> Exception | None:
        return _not_for_integers(x)  # (torch rounds integers only without decimals=)


class Trunc(Op):
    """out = trunc x, x with its fraction cut off (toward 0: -2.7 -> -2).   dout/dx = 0 (at a
    step too, as in torch)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        return torch.trunc(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return grad.new_zeros(grad.shape)


class Frac(Op):
    """out = x - trunc x, the fraction, with x's sign (-2.7 -> -0.7).   dout/dx = 1: x minus a
    step, which is flat (at a step too, as in torch)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        return torch.frac(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return grad

    @staticmethod
    def explain_failure(x: Any) -> Exception | None:
        return _not_for_integers(x)


def _not_for_integers(x: Any) -> NotImplementedError | None:
    """_needs_floating's words, as the NotImplementedError torch raises for these ops."""
    problem = _needs_floating(x)
    return problem and NotImplementedError(*problem.args)


class Reciprocal(Op):
    """out = 1 / x.   dout/dx = -1 / x^2 = -out^2.

    An integer tensor gives floats, as in torch (1 / 0 = inf, no error)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        out = torch.reciprocal(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return -grad * (out * out)


class Sin(Op):
    """out = sin x.   dout/dx = cos x."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.sin(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * x.cos()


class Cos(Op):
    """out = cos x.   dout/dx = -sin x."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.cos(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return -grad * x.sin()


class Tan(Op):
    """out = tan x.   dout/dx = 1 + tan^2 x = 1 / cos^2 x = 1 + out^2.

    Written with the saved output, as torch's is: no cos to recompute. Near a pole (x = pi/2 +
    k pi) out and its slope grow without bound."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        out = torch.tan(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return grad * (1 + out * out)


class Asin(Op):
    """out = asin x, the angle in [-pi/2, pi/2] whose sine is x.   dout/dx = 1 / sqrt(1 - x^2).

    The slope of an inverse is one over the slope at the answer: 1 / cos(out), and cos(out) =
    sqrt(1 - x^2) there. Infinite at x = +-1, the ends of its domain."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.asin(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * (1 - x * x).rsqrt()


class Acos(Op):
    """out = acos x, the angle in [0, pi] whose cosine is x.   dout/dx = -1 / sqrt(1 - x^2).

    acos x = pi/2 - asin x, so its slope is asin's turned over."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.acos(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return -grad * (1 - x * x).rsqrt()


class Atan(Op):
    """out = atan x, the angle in (-pi/2, pi/2) whose tangent is x.   dout/dx = 1 / (1 + x^2).

    One over tan's slope at the answer, 1 + tan^2(out) = 1 + x^2: defined for every x."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.atan(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad / (1 + x * x)


class Sinh(Op):
    """out = sinh x = (e^x - e^-x) / 2.   dout/dx = cosh x."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.sinh(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * x.cosh()


class Cosh(Op):
    """out = cosh x = (e^x + e^-x) / 2.   dout/dx = sinh x (no minus sign, unlike cos)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.cosh(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * x.sinh()


class Asinh(Op):
    """out = asinh x = ln(x + sqrt(x^2 + 1)).   dout/dx = 1 / sqrt(x^2 + 1).

    One over sinh's slope at the answer: cosh(out) = sqrt(1 + sinh^2(out)) = sqrt(1 + x^2)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.asinh(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * (x * x + 1).rsqrt()


class Acosh(Op):
    """out = acosh x = ln(x + sqrt(x^2 - 1)), for x >= 1.   dout/dx = 1 / sqrt(x^2 - 1).

    One over cosh's slope at the answer: sinh(out) = sqrt(cosh^2(out) - 1) = sqrt(x^2 - 1).
    Infinite at x = 1, where its domain starts."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.acosh(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * (x * x - 1).rsqrt()


class Atanh(Op):
    """out = atanh x = ln((1 + x) / (1 - x)) / 2, for x in (-1, 1).   dout/dx = 1 / (1 - x^2).

    One over tanh's slope at the answer: 1 - tanh^2(out) = 1 - x^2."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.atanh(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad / (1 - x * x)


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


class Log2(Op):
    """out = log2 x = ln x / ln 2.   dout/dx = 1 / (x ln 2)."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.log2(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad / (x * _LN_2)


class Exp2(Op):
    """out = 2^x = e^(x ln 2).   dout/dx = 2^x ln 2 = out ln 2.

    2.0 ** x has the same values and slope (through Pow); exp2 is a node of its own, as in
    torch (Exp2Backward0), with torch's kernel for the value."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        out = torch.exp2(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return grad * (out * _LN_2)


class Log1p(Op):
    """out = ln(1 + x), accurate for x near 0.   dout/dx = 1 / (1 + x)."""

    torch_name = "Log1PBackward0"

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
        return grad.where(z > ctx.threshold, grad * z.sigmoid())


class LogSigmoid(Op):
    """out = log(sigmoid(x)) = -log(1 + e^-x).   dout/dx = 1 - sigmoid(x) = sigmoid(-x).

    An op of its own because no composition is both exact and stable: -softplus(-x) stops at
    softplus's threshold (for x < -20 it is x itself, and its second derivative 0 where the
    true one is -e^x), and min(x, 0) - log(1 + e^-|x|) takes |x|'s gradient, 0, at x = 0,
    where the slope is 1/2. torch's kernel computes the value stably for any |x|, and
    sigmoid(-x) neither overflows nor loses the small slope for large x.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.nn.functional.logsigmoid(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * (-x).sigmoid()

    @staticmethod
    def explain_failure(x: Any) -> Exception | None:
        return _needs_floating(x)


class Clamp(BroadcastingFunction):
    """out = x kept within [min, max] (either bound may be None), bounds numbers or tensors.

    dout/dx = 1 where min <= x <= max, else 0: at a bound itself the gradient goes to x, as in
    torch. Tensor bounds get the rest: dout/dmin = 1 where x < min, dout/dmax = 1 where x > max.
    If min > max somewhere, out is max there, and only max gets the gradient (torch's rule).
    x.clamp_max(m) is clamp with max only, and x.clamp_min(t) with a tensor t with min only:
    `method` says which the user called, which torch's name for the node follows.
    """

    @staticmethod
    def node_name(ctx: Context) -> str:
        bounds_are_numbers = ctx.parents[1] is None and ctx.parents[2] is None
        if ctx.method == "clamp":
            return "ClampBackward1" if bounds_are_numbers else "ClampBackward0"  # (torch's)
        name = "ClampMax" if ctx.method == "clamp_max" else "ClampMin"
        return f"{name}Backward{0 if bounds_are_numbers else 1}"

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        min: Bound = None,
        max: Bound = None,  # noqa: A002
        *,
        method: str = "clamp",
    ) -> torch.Tensor:
        ctx.save_for_backward(x, min, max)
        ctx.method = method
        return torch.clamp(x, min, max)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        x, low, high = ctx.saved_tensors
        _, low_needs, high_needs = ctx.needs_input_grad
        if high is None:
            inside = x >= low
        elif low is None:
            inside = x <= high
        else:
            inside = (x >= low) & (x <= high)
        grad_x = grad.where(inside, 0.0)
        grad_low = grad_high = None
        if low_needs:
            below = (x < low) if high is None else (x < low) & (low < high)
            grad_low = grad.where(below, 0.0)
        if high_needs:
            above = (x > high) if low is None else (x > high) | (high < low)
            grad_high = grad.where(above, 0.0)
        return grad_x, grad_low, grad_high


# ---- sinc, nan_to_num: where a composition would be NaN (ops of their own) ----------------------


class Sinc(Op):
    """out = sin(pi x) / (pi x), and 1 at x = 0 (its limit there).   dout/dx = (pi x cos(pi x) -
    sin(pi x)) / (pi x^2), and 0 at x = 0.

    The normalised sinc. The composition (pi x).sin() / (pi x) is 0 / 0 = NaN at 0, and so is
    the formula for its slope: both take their limits there (1, and 0: sinc is even, flat at
    its top), as torch's. torch's backward picks the 0 with a where on pi x^2 == 0, whose other
    branch is NaN there: so its second derivative at 0 is NaN (not -pi^2 / 3), and minigrad's,
    the same formula, is NaN too.
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.sinc(x)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        pi_x, pi_x_squared = math.pi * x, x * x * math.pi
        slope = grad * (pi_x * pi_x.cos() - pi_x.sin()) / pi_x_squared
        return slope.masked_fill(pi_x_squared == 0, 0.0)


class NanToNum(Op):
    """out = x, with NaN, +inf and -inf replaced by nan, posinf and neginf.   dout/dx = 1 where x
    is finite, else 0.

    By default nan is 0, and posinf and neginf the dtype's largest and smallest finite numbers.
    torch's gradient is the product G * isfinite(x), and so is this one: an inf or NaN arriving
    at a replaced place gives NaN (inf * 0), as in torch, where a where would give 0."""

    @staticmethod
    def forward(
        ctx: Context,
        x: torch.Tensor,
        nan: float = 0.0,
        posinf: float | None = None,
        neginf: float | None = None,
    ) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.nan_to_num(x, nan, posinf, neginf)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * x.isfinite()
