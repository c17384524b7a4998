"""Elementwise ops against torch autograd (float64, rtol 1e-7, atol 1e-9) and finite differences.

+ - * / with broadcasting and Python numbers, unary -, ** n, exp, log, sigmoid, tanh, relu, abs,
sin, cos, sqrt, rsqrt, square, log10, log1p, expm1, softplus, erf, sign, silu, clamp_min, clamp
(number and tensor bounds), where, masked_fill, clone and to; and the dtypes of gradients
(float32 stays float32). Then their second derivatives (backward(create_graph=True)
differentiated again) against torch's, third and sixth ones against closed forms, and relu's
first-order kernel against its formula.
"""

from __future__ import annotations

import operator

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from torch.overrides import TorchFunctionMode

import minigrad as mg
from minigrad import Tensor
from minigrad.autograd import grad
from minigrad.autograd.function import formulas_only
from minigrad.nn import functional as F
from minigrad.testing import assert_close, assert_matches_torch, gradcheck
from minigrad.testing import strategies as mst

BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}

# name: (minigrad function, torch function, lowest value, highest value)
UNARY = {
    "neg": (operator.neg, operator.neg, -10, 10),
    "exp": (Tensor.exp, torch.exp, -5, 5),
    "log": (Tensor.log, torch.log, 0.1, 10),
    "sigmoid": (Tensor.sigmoid, torch.sigmoid, -6, 6),
    "tanh": (Tensor.tanh, torch.tanh, -10, 10),
    "relu": (Tensor.relu, torch.relu, -10, 10),
    "abs": (Tensor.abs, torch.abs, -10, 10),
    "sin": (Tensor.sin, torch.sin, -10, 10),
    "cos": (Tensor.cos, torch.cos, -10, 10),
    "sqrt": (Tensor.sqrt, torch.sqrt, 0.1, 10),
    "rsqrt": (Tensor.rsqrt, torch.rsqrt, 0.1, 10),
    "square": (Tensor.square, torch.square, -10, 10),
    "log10": (Tensor.log10, torch.log10, 0.1, 10),
    "log1p": (Tensor.log1p, torch.log1p, -0.9, 10),
    "expm1": (Tensor.expm1, torch.expm1, -5, 5),
    # [-30, 30] crosses softplus's threshold (x > 20: the output is x itself)
    "softplus": (F.softplus, torch.nn.functional.softplus, -30, 30),
    "erf": (Tensor.erf, torch.erf, -3, 3),
    "sign": (Tensor.sign, torch.sign, -10, 10),
    "silu": (F.silu, torch.nn.functional.silu, -30, 30),
    "reciprocal": (Tensor.reciprocal, torch.reciprocal, 0.1, 10),  # (both signs: test_ops_rounding)
}


@st.composite
def operand_pairs(draw: st.DrawFn, b_low: float = -10.0) -> tuple[np.ndarray, np.ndarray]:
    """Two arrays whose shapes broadcast; b's values from [b_low, 10] (b_low > 0 for a divisor)."""
    shape_a, shape_b = draw(mst.broadcastable_shapes(2))
    return draw(mst.float_arrays(shape_a)), draw(mst.float_arrays(shape_b, b_low, 10))


# ---- + - * / ---------------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", BINARY)
@given(pair=operand_pairs(b_low=0.1))
@example(pair=(np.array(2.0), np.full((3, 1), 0.5)))  # 0-d with a column
@example(pair=(np.ones((2, 1, 3)), np.full((4, 1), 3.0)))  # broadcast on both sides, middle dim
def test_binary_op_matches_torch(symbol, pair):
    op = BINARY[symbol]
    assert_matches_torch(op, op, *pair, name=f"a {symbol} b")


@pytest.mark.parametrize("symbol", BINARY)
@given(x=mst.float_arrays(mst.shapes(), 0.1, 10))
def test_binary_op_with_one_tensor_on_both_sides_matches_torch(symbol, x):
    # x * x: two gradients reach the same tensor and must add up, not overwrite each other
    op = BINARY[symbol]
    assert_matches_torch(lambda t: op(t, t), lambda t: op(t, t), x, name=f"x {symbol} x")


@pytest.mark.parametrize("symbol", ["+", "-", "*"])
@given(pair=operand_pairs())  # negative values and zeros too, where the op allows them
def test_binary_op_with_any_signs_matches_torch(symbol, pair):
    op = BINARY[symbol]
    assert_matches_torch(op, op, *pair, name=f"a {symbol} b")


NONZERO_NUMBERS = st.floats(-10, -0.1) | st.floats(0.1, 10)  # a divisor too, so never 0


@pytest.mark.parametrize("symbol", BINARY)
@given(x=mst.float_arrays(mst.shapes(), 0.1, 10), number=NONZERO_NUMBERS)
@example(x=np.array(3.0), number=2.0)
def test_tensor_op_python_number_matches_torch(symbol, x, number):
    op = BINARY[symbol]
    assert_matches_torch(lambda t: op(t, number), lambda t: op(t, number), x, name=f"x {symbol} c")


@pytest.mark.parametrize("symbol", BINARY)
@given(x=mst.float_arrays(mst.shapes(), 0.1, 10), number=NONZERO_NUMBERS)
@example(x=np.array(3.0), number=2.0)
def test_python_number_op_tensor_matches_torch(symbol, x, number):
    op = BINARY[symbol]
    assert_matches_torch(lambda t: op(number, t), lambda t: op(number, t), x, name=f"c {symbol} x")


# ---- unary functions --------------------------------------------------------------------------


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
@example(data=None)
def test_unary_op_matches_torch(name, data):
    minigrad_fn, torch_fn, low, high = UNARY[name]
    if data is None:  # the @example: a 0-d tensor and size-1 dims, in every op's domain
        for x in (np.array(0.5), np.full((1, 3, 1), 0.25)):
            assert_matches_torch(minigrad_fn, torch_fn, x, name=name)
        return
    x = data.draw(mst.float_arrays(mst.shapes(), low, high), label="x")
    assert_matches_torch(minigrad_fn, torch_fn, x, name=name)


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_op_passes_gradcheck(name, data):
    minigrad_fn, _, low, high = UNARY[name]
    x = data.draw(mst.distinct_arrays(mst.small_shapes(), low, high), label="x")
    gradcheck(minigrad_fn, x, name=name)


@given(x=mst.float_arrays())
@example(x=np.array([-1.0, 0.0, 2.0]))  # relu'(0) = 0, as in torch
@example(x=np.array(0.0))
@example(x=np.array([np.nan, -1.0, 1.0]))  # relu'(NaN) = 1, as in torch (not "NaN > 0")
def test_relu_at_zero_follows_torch(x):
    assert_matches_torch(Tensor.relu, torch.relu, x, upstream=np.ones_like(x), name="relu")


@given(x=mst.float_arrays())
@example(x=np.array([-1.0, 0.0, 2.0]))  # abs'(0) = sign(0) = 0, as in torch
@example(x=np.array([np.nan, 0.0]))
def test_abs_at_zero_follows_torch(x):
    assert_matches_torch(Tensor.abs, torch.abs, x, upstream=np.ones_like(x), name="abs")


CHOOSING_OPS = {
    "relu": (Tensor.relu, torch.relu),
    "clamp_min": (lambda x: x.clamp_min(0.5), lambda x: x.clamp_min(0.5)),
    "clamp": (lambda x: x.clamp(min=-0.5, max=0.5), lambda x: x.clamp(min=-0.5, max=0.5)),
}


@pytest.mark.parametrize("name", CHOOSING_OPS)
@given(x=mst.float_arrays(), arriving=st.sampled_from([np.inf, -np.inf, np.nan]))
@example(x=np.array([-1.0, 0.0, 0.5, 2.0]), arriving=np.inf)
def test_a_zero_gradient_stays_zero_when_inf_or_nan_arrives(name, x, arriving):
    """relu and clamp choose (torch.where), they do not multiply by a 0/1 mask: where their
    gradient is 0, an inf or NaN arriving from above gives 0 (inf * 0 would be NaN), as in
    torch. Found by the fuzzer: (-2) ** tanh(relu(x)) at x = 0 gave NaN gradients."""
    ours, theirs = CHOOSING_OPS[name]
    upstream = np.full_like(x, arriving)
    assert_matches_torch(ours, theirs, x, upstream=upstream, name=name)


def test_relu_and_abs_have_zero_gradient_at_zero():
    x = mg.tensor([0.0, 0.0], dtype=mg.float64, requires_grad=True)
    (x[:1].relu() + x[1:].abs()).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


@given(x=mst.float_arrays())
@example(x=np.array([0.0, 4.0]))  # sqrt'(0) = 1 / (2 * 0) = inf, as in torch
def test_sqrt_and_rsqrt_at_zero_follow_torch(x):
    x = np.abs(x)
    upstream = np.ones_like(x)
    assert_matches_torch(Tensor.sqrt, torch.sqrt, x, upstream=upstream, name="sqrt")
    assert_matches_torch(Tensor.rsqrt, torch.rsqrt, x, upstream=upstream, name="rsqrt")


@given(x=mst.float_arrays(mst.shapes(), -30, 30), beta=st.sampled_from([0.5, 1.0, 2.0, 3.0]))
@example(x=np.array([-1.0, 10.0, 20.0, 20.5]), beta=1.0)  # at and past the threshold
@example(x=np.array([5.0, 7.0, 10.0]), beta=2.0)  # beta * x crosses 20 between 7 and 10
def test_softplus_with_beta_and_threshold_matches_torch(x, beta):
    assert_matches_torch(
        lambda t: F.softplus(t, beta=beta, threshold=20 / beta),
        lambda t: torch.nn.functional.softplus(t, beta=beta, threshold=20 / beta),
        x,
        name=f"softplus(beta={beta})",
    )


@given(x=mst.float_arrays(), minimum=st.floats(-10, 10))
@example(x=np.array([1.0, 2.0, 3.0]), minimum=2.0)  # x == minimum: gradient 1, as in torch
def test_clamp_min_matches_torch(x, minimum):
    assert_matches_torch(
        lambda t: t.clamp_min(minimum), lambda t: t.clamp_min(minimum), x, name="clamp_min"
    )


@given(x=mst.distinct_arrays(mst.small_shapes(), avoid=0.25))
def test_clamp_min_passes_gradcheck(x):
    gradcheck(lambda t: t.clamp_min(0.25), x, name="clamp_min(0.25)")


BOUNDS = st.none() | st.floats(-10, 10)


@given(x=mst.float_arrays(), low=BOUNDS, high=BOUNDS)
@example(x=np.array([1.0, 2.0, 3.0]), low=1.0, high=3.0)  # at a bound: gradient 1, as in torch
@example(x=np.array([1.0, 2.0, 3.0]), low=2.5, high=1.5)  # min > max: everything is max
@example(x=np.array(-2.0), low=None, high=-2.0)
def test_clamp_with_numbers_matches_torch(x, low, high):
    if low is None and high is None:
        with pytest.raises(ValueError, match="needs a bound"):
            mg.tensor(x).clamp()
        return
    for name in ("clamp", "clip"):
        assert_matches_torch(
            lambda t, name=name: getattr(t, name)(low, high),
            lambda t, name=name: getattr(t, name)(low, high),
            x,
            name=f"{name}({low}, {high})",
        )


@st.composite
def shapes_broadcasting_to(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts to `shape` without growing it: some of its trailing dims, each
    kept or 1 (a mask over rows, a bound per column...)."""
    trailing = draw(st.integers(0, len(shape)))
    return tuple(draw(st.sampled_from([1, n])) for n in shape[len(shape) - trailing :])


@st.composite
def clamp_operands(draw: st.DrawFn, distinct: bool = False) -> tuple[np.ndarray, ...]:
    """x, and min and max arrays whose shapes broadcast to x's. (Bounds bigger than x broadcast
    in minigrad, but torch's own clamp backward fails on them, so torch cannot be the reference.)
    With `distinct`, no two values anywhere are equal (no x at a bound, no min == max)."""
    x_shape = draw(mst.shapes(max_side=3 if distinct else 5))
    shapes = [x_shape, draw(shapes_broadcasting_to(x_shape)), draw(shapes_broadcasting_to(x_shape))]
    if not distinct:
        return tuple(draw(mst.float_arrays(shape)) for shape in shapes)
    sizes = [int(np.prod(shape)) for shape in shapes]
    values = draw(mst.distinct_arrays((sum(sizes),)))
    pieces = np.split(values, np.cumsum(sizes)[:-1])
    return tuple(piece.reshape(shape) for piece, shape in zip(pieces, shapes))


@given(operands=clamp_operands())
@example(operands=(np.array([1.0, 2.0, 3.0]), np.array(2.0), np.array([2.0, 1.0, 3.0])))  # ties
@example(operands=(np.array([0.0, 5.0]), np.array([3.0, 3.0]), np.array(1.0)))  # min > max
@example(operands=(np.ones((2, 3)), np.full((2, 1), 2.0), np.full((3,), 0.5)))
def test_clamp_with_tensor_bounds_matches_torch(operands):
    assert_matches_torch(
        lambda x, low, high: x.clamp(low, high),
        lambda x, low, high: x.clamp(low, high),
        *operands,
        name="clamp(x, min, max)",
    )
    x, low, high = operands
    assert_matches_torch(lambda t, b: t.clamp(min=b), lambda t, b: t.clamp(min=b), x, low)
    assert_matches_torch(lambda t, b: t.clamp(max=b), lambda t, b: t.clamp(max=b), x, high)
    # clamp_min and clamp_max by a tensor: the bound gets its gradient as clamp's does
    assert_matches_torch(lambda t, b: t.clamp_min(b), lambda t, b: t.clamp_min(b), x, low)
    assert_matches_torch(lambda t, b: t.clamp_max(b), lambda t, b: t.clamp_max(b), x, high)


@given(operands=clamp_operands(distinct=True))
def test_clamp_passes_gradcheck(operands):
    gradcheck(lambda x, low, high: mg.clamp(x, low, high), *operands, name="clamp(x, min, max)")
    x, low, high = operands
    low, high = float(low.flat[0]), float(high.flat[0])  # numbers apart from every x too
    gradcheck(lambda t: t.clamp(low, high), x, name=f"clamp(x, {low}, {high})")


@st.composite
def masked_fill_operands(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """x, and a boolean mask whose shape broadcasts to x's (masked_fill never grows x)."""
    x = draw(mst.float_arrays(), label="x")
    mask_shape = draw(shapes_broadcasting_to(x.shape), label="mask shape")
    return x, draw(mst.hnp.arrays(np.bool_, mask_shape), label="mask")


@given(operands=masked_fill_operands(), value=st.floats(-10, 10) | st.just(float("-inf")))
@example(operands=(np.ones((2, 3)), np.array([True, False, True])), value=float("-inf"))
def test_masked_fill_matches_torch(operands, value):
    x, mask = operands
    assert_matches_torch(
        lambda t, m: t.masked_fill(m, value),
        lambda t, m: t.masked_fill(m, value),
        x,
        mask,
        name=f"masked_fill(mask, {value})",
    )


@given(operands=masked_fill_operands())
def test_masked_fill_with_a_0d_tensor_value_matches_torch(operands):
    x, mask = operands
    # the value gets the gradients of the places it fills, summed
    assert_matches_torch(
        lambda t, m, v: t.masked_fill(m, v), lambda t, m, v: t.masked_fill(m, v), x, mask, 0.5
    )


def test_masked_fill_keeps_the_dtype_of_an_integer_tensor():
    x = mg.tensor([1, 2, 3])
    out = x.masked_fill(x > 1, 0)
    assert out.dtype == torch.int64
    assert out.tolist() == [1, 0, 0]


@given(x=mst.float_arrays(), n=st.integers(0, 4))
@example(x=np.array([0.0, 1.5]), n=0)  # d(x**0)/dx = 0, even at x = 0 (torch's convention)
@example(x=np.array([0.0, -2.0]), n=1)
def test_pow_integer_exponent_matches_torch(x, n):
    assert_matches_torch(lambda t: t**n, lambda t: t**n, x, name=f"x ** {n}")


@given(
    x=mst.float_arrays(mst.shapes(), 0.1, 10),
    n=st.floats(-3, 3) | st.integers(-3, -1) | st.sampled_from([0.5, -0.5, 1.5]),
)
def test_pow_fractional_or_negative_exponent_matches_torch(x, n):
    assert_matches_torch(lambda t: t**n, lambda t: t**n, x, name=f"x ** {n}")


@given(x=mst.distinct_arrays(mst.small_shapes(), 0.1, 5), n=st.sampled_from([2, 3, -1, 0.5]))
def test_pow_passes_gradcheck(x, n):
    gradcheck(lambda t: t**n, x, name=f"x ** {n}")


# ---- ** with tensors on either side ------------------------------------------------------------


@given(pair=operand_pairs(b_low=-3))
@example(pair=(np.array([0.0, 0.0, 0.0, 2.0]), np.array([0.0, 1.0, -1.0, 0.5])))  # 0 ** b
@example(pair=(np.array([-2.0, -2.0, -0.5]), np.array([2.0, 3.0, -1.0])))  # negative a, integer b
def test_pow_tensor_exponent_matches_torch(pair):
    a, b = pair
    assert_matches_torch(lambda x, y: x**y, lambda x, y: x**y, a, b, name="a ** b")
    assert_matches_torch(lambda x, y: x.pow(y), lambda x, y: x.pow(y), a, b, name="a.pow(b)")


@given(pair=operand_pairs(b_low=-3))
def test_pow_tensor_exponent_passes_gradcheck(pair):
    a, b = pair
    gradcheck(lambda x, y: x**y, np.abs(a) + 0.5, b, name="a ** b")


@pytest.mark.parametrize("base", [2.0, 0.5, 0.0, -2.0, -0.5, 1, 3])
@given(x=mst.float_arrays(mst.shapes(), -4, 4))
@example(x=np.array([0.0, 1.0, 2.0, 3.0, -1.0, -2.0]))  # integer exponents: exact, even for b < 0
def test_number_to_a_tensor_power_matches_torch(base, x):
    assert_matches_torch(lambda t: base**t, lambda t: base**t, x, name=f"{base} ** x")


def test_integer_powers_are_exact():
    x = mg.tensor([0.0, 1.0, 2.0, 3.0, 10.0], dtype=mg.float64)
    assert (2**x).tolist() == [1.0, 2.0, 4.0, 8.0, 1024.0]  # not e^(x ln 2): 7.999999999999998
    assert ((-2) ** x).tolist() == [1.0, -2.0, 4.0, -8.0, 1024.0]
    assert (0**x).tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert mg.pow(2, mg.tensor(3.0)).item() == 8.0


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@given(pair=operand_pairs())
@example(pair=(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])))  # ties: half each
@example(pair=(np.array([np.nan, 1.0]), np.array([0.0, np.nan])))  # NaN: both get it
def test_maximum_and_minimum_match_torch(name, pair):
    ours, theirs = getattr(Tensor, name), getattr(torch, name)
    assert_matches_torch(ours, theirs, *pair, name=name)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@given(data=st.data())
def test_maximum_and_minimum_pass_gradcheck(name, data):
    shape = data.draw(mst.small_shapes())
    both = data.draw(mst.distinct_arrays((2, *shape)))  # distinct: no ties, no kinks
    gradcheck(getattr(Tensor, name), both[0], both[1], name=name)


def test_max_with_a_tensor_is_the_elementwise_maximum():
    res = mg.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    out = res.max(mg.tensor(0.0))  # fastbook: res.max(tensor(0.0)), a relu
    assert out.tolist() == [0.0, 0.5, 2.0]
    out.sum().backward()
    assert res.grad.tolist() == [0.0, 1.0, 1.0]


# ---- saturation: finite values, near-zero gradients ------------------------------------------


@given(magnitude=mst.float_arrays(mst.shapes(min_rank=1), 30, 1000), sign=st.sampled_from([1, -1]))
@example(magnitude=np.array([30.0, 1000.0]), sign=1)
@example(magnitude=np.array([30.0, 1000.0]), sign=-1)
def test_sigmoid_saturates_with_finite_values_and_vanishing_gradient(magnitude, sign):
    x = sign * magnitude
    assert_matches_torch(Tensor.sigmoid, torch.sigmoid, x, name="sigmoid")
    t = mg.tensor(x, requires_grad=True)
    s = t.sigmoid()
    s.backward(mg.ones_like(s))
    assert torch.isfinite(s._data).all()
    assert torch.isfinite(t.grad._data).all()
    assert (t.grad._data.abs() < 1e-12).all()  # sigmoid'(30) = e^-30 / (1 + e^-30)^2 ~ 9e-14


# ---- where ------------------------------------------------------------------------------------


@st.composite
def where_operands(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    shape_c, shape_a, shape_b = draw(mst.broadcastable_shapes(3))
    condition = draw(mst.hnp.arrays(np.bool_, shape_c))
    return condition, draw(mst.float_arrays(shape_a)), draw(mst.float_arrays(shape_b))


@given(operands=where_operands())
@example(operands=(np.array([True, False]), np.array(1.0), np.ones((3, 1))))
def test_where_matches_torch(operands):
    assert_matches_torch(mg.where, torch.where, *operands, name="where")


@given(operands=where_operands())
def test_where_with_python_number_matches_torch(operands):
    condition, a, _ = operands
    assert_matches_torch(
        lambda c, t: mg.where(c, t, 0.5), lambda c, t: torch.where(c, t, 0.5), condition, a
    )


# ---- broadcasting, finite differences ---------------------------------------------------------


@st.composite
def distinct_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    shape_a, shape_b = draw(mst.broadcastable_shapes(2, max_side=3))
    return draw(mst.distinct_arrays(shape_a, 0.5, 5)), draw(mst.distinct_arrays(shape_b, 0.5, 5))


@pytest.mark.parametrize("symbol", BINARY)
@given(pair=distinct_pairs())
def test_binary_op_passes_gradcheck(symbol, pair):
    gradcheck(BINARY[symbol], *pair, name=f"a {symbol} b")


# ---- dtypes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", BINARY)
def test_float32_inputs_keep_float32_gradients(symbol):
    rng = np.random.default_rng(0)
    a = rng.uniform(0.5, 2, (3, 1)).astype(np.float32)
    b = rng.uniform(0.5, 2, (4,)).astype(np.float32)
    op = BINARY[symbol]
    assert_matches_torch(op, op, a, b, name=f"a {symbol} b")  # dtypes checked before values


@pytest.mark.parametrize("symbol", BINARY)
def test_float32_with_python_float_stays_float32(symbol):
    x = mg.tensor([1.5, 2.5], requires_grad=True)
    out = BINARY[symbol](x, 0.1) + BINARY[symbol](0.1, x)
    out.sum().backward()
    assert out.dtype == mg.float32
    assert x.grad.dtype == mg.float32


def test_float32_mixed_with_float64_gives_each_its_own_dtype_of_gradient():
    a = np.array([1.0, 2.0], dtype=np.float32)
    b = np.array([[3.0], [4.0]])
    assert_matches_torch(operator.mul, operator.mul, a, b)


def test_elementwise_ops_on_device(device):
    x, y = np.linspace(0.5, 2, 6).reshape(2, 3), np.linspace(-1, 1, 3)

    def fn(a, b):
        return (a * b - b / a).sigmoid() + (a.log() + b.exp()).tanh() + b.relu() * a.abs() ** 2

    assert_matches_torch(fn, fn, x, y, device=device)


# ---- copies: clone, to -------------------------------------------------------------------------


@given(x=mst.float_arrays())
def test_clone_and_to_match_torch(x):
    assert_matches_torch(Tensor.clone, torch.clone, x, name="clone")
    assert_matches_torch(lambda t: t.float(), lambda t: t.float(), x, name="to(float32)")
    assert_matches_torch(lambda t: t.float(), lambda t: t.float(), x, order=2, name="to(float32)")
    assert_matches_torch(lambda t: t.clone() * t, lambda t: t.clone() * t, x, order=2)


# ---- gradients of gradients (backward(create_graph=True)) -------------------------------------
# Each op's backward formula runs on minigrad Tensors and is recorded, so it can be differentiated
# again: assert_matches_torch(order=2) compares the gradient of sum(dL/dx * v), with respect to
# every input and to the upstream gradient, with torch's. The values stay off kinks and ties by
# construction (distinct values, none at a kink): there a first derivative jumps, and the second
# is 0 on either side.


@st.composite
def distinct_operands(
    draw: st.DrawFn, shapes: tuple[tuple[int, ...], ...], low: float = -5.0, high: float = 5.0
) -> tuple[np.ndarray, ...]:
    """Arrays of these shapes whose values are all different, none 0 (no ties, no kinks)."""
    sizes = [int(np.prod(shape)) for shape in shapes]
    values = draw(mst.distinct_arrays((sum(sizes),), low, high))
    pieces = np.split(values, np.cumsum(sizes)[:-1])
    return tuple(piece.reshape(shape) for piece, shape in zip(pieces, shapes))


@pytest.mark.parametrize("symbol", BINARY)
@given(pair=operand_pairs(b_low=0.1))
@example(pair=(np.array(2.0), np.full((3, 1), 0.5)))  # 0-d with a column
def test_binary_op_second_derivatives_match_torch(symbol, pair):
    op = BINARY[symbol]
    assert_matches_torch(op, op, *pair, order=2, name=f"a {symbol} b")


@pytest.mark.parametrize("symbol", BINARY)
@given(x=mst.float_arrays(mst.shapes(), 0.1, 10), number=NONZERO_NUMBERS)
def test_binary_op_with_itself_and_numbers_second_derivatives_match_torch(symbol, x, number):
    op = BINARY[symbol]
    for ours, name in [
        (lambda t: op(t, t), f"x {symbol} x"),
        (lambda t: op(t, number), f"x {symbol} c"),
        (lambda t: op(number, t), f"c {symbol} x"),
    ]:
        assert_matches_torch(ours, ours, x, order=2, name=name)


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_op_second_derivatives_match_torch(name, data):
    minigrad_fn, torch_fn, low, high = UNARY[name]
    x = data.draw(mst.distinct_arrays(mst.shapes(), low, high), label="x")  # none at 0
    assert_matches_torch(minigrad_fn, torch_fn, x, order=2, name=name)


@given(x=mst.distinct_arrays(mst.shapes(), -30, 30), beta=st.sampled_from([0.5, 1.0, 2.0]))
@example(x=np.array([-1.0, 10.0, 19.75, 20.5]), beta=1.0)  # near and past the threshold
def test_softplus_with_beta_second_derivatives_match_torch(x, beta):
    """Off beta x = threshold by construction: there softplus switches to x itself, and its
    slope jumps from sigmoid(threshold) to 1, so it has no second derivative (torch's double
    backward takes the linear side's 0, while its first takes the smooth side: found with
    seed 777 at x = 5, beta = 2)."""
    threshold = 20 / beta
    x = np.where(beta * x == threshold, x + 0.25, x)
    assert_matches_torch(
        lambda t: F.softplus(t, beta=beta, threshold=threshold),
        lambda t: torch.nn.functional.softplus(t, beta=beta, threshold=threshold),
        x,
        order=2,
        name=f"softplus(beta={beta})",
    )


@given(x=mst.float_arrays(), n=st.integers(0, 5))
@example(x=np.array([0.0, 1.5]), n=0)  # x ** 0: a constant, also at 0
@example(x=np.array([0.0, -2.0]), n=1)  # d2/dx2 x = 0 * x ** -1: 0, not NaN, at 0
@example(x=np.array([0.0, -2.0]), n=2)
def test_pow_integer_exponent_second_derivatives_match_torch(x, n):
    assert_matches_torch(lambda t: t**n, lambda t: t**n, x, order=2, name=f"x ** {n}")


@given(
    x=mst.float_arrays(mst.shapes(), 0.1, 10),
    n=st.floats(-3, 3) | st.sampled_from([0.5, -0.5, 1.5]),
)
def test_pow_fractional_exponent_second_derivatives_match_torch(x, n):
    assert_matches_torch(lambda t: t**n, lambda t: t**n, x, order=2, name=f"x ** {n}")


@given(pair=operand_pairs(b_low=-3))
@example(pair=(np.array([0.0, 0.0, 0.0, 2.0]), np.array([0.0, 1.0, -1.0, 0.5])))  # 0 ** b
@example(pair=(np.array([-2.0, -2.0, -0.5]), np.array([2.0, 3.0, -1.0])))  # a < 0: NaN by b
def test_pow_tensor_exponent_second_derivatives_match_torch(pair):
    a, b = pair
    assert_matches_torch(lambda x, y: x**y, lambda x, y: x**y, np.abs(a) + 0.1, b, order=2)
    assert_matches_torch(lambda x, y: x**y, lambda x, y: x**y, a, b, order=2, name="a ** b")


@pytest.mark.parametrize("base", [2.0, 0.5, 0.0, -2.0, 1, 3])
@given(x=mst.float_arrays(mst.shapes(), -4, 4))
@example(x=np.array([0.0, 1.0, 2.0, -1.0]))
def test_number_to_a_tensor_power_second_derivatives_match_torch(base, x):
    assert_matches_torch(lambda t: base**t, lambda t: base**t, x, order=2, name=f"{base} ** x")


@pytest.mark.parametrize("name", ["maximum", "minimum"])
@given(data=st.data())
def test_maximum_and_minimum_second_derivatives_match_torch(name, data):
    shapes = data.draw(mst.broadcastable_shapes(2), label="shapes")
    a, b = data.draw(distinct_operands(shapes), label="a, b")  # no ties
    ours, theirs = getattr(Tensor, name), getattr(torch, name)
    assert_matches_torch(ours, theirs, a, b, order=2, name=name)


@given(operands=where_operands())
@example(operands=(np.array([True, False]), np.array(1.0), np.ones((3, 1))))
def test_where_second_derivatives_match_torch(operands):
    assert_matches_torch(mg.where, torch.where, *operands, order=2, name="where")
    condition, a, b = operands
    both = (lambda c, x, y: x.where(c, y), lambda c, x, y: x.where(c, y))
    assert_matches_torch(*both, condition, a, b, order=2, name="x.where(condition, y)")
    assert_matches_torch(
        lambda c, x: (x * x).where(c, 0.5), lambda c, x: (x * x).where(c, 0.5), condition, a,
        order=2,
    )  # fmt: skip


@given(operands=masked_fill_operands())
def test_masked_fill_second_derivatives_match_torch(operands):
    x, mask = operands
    assert_matches_torch(
        lambda t, m, v: (t * v).masked_fill(m, v),
        lambda t, m, v: (t * v).masked_fill(m, v),
        x,
        mask,
        0.5,
        order=2,
    )


@given(x=mst.distinct_arrays(mst.shapes(), avoid=0.25))  # none at the bound
def test_clamp_min_second_derivatives_match_torch(x):
    assert_matches_torch(
        lambda t: t.clamp_min(0.25) ** 2, lambda t: t.clamp_min(0.25) ** 2, x, order=2
    )


@given(operands=clamp_operands(distinct=True))  # no x at a bound, no min == max
def test_clamp_second_derivatives_match_torch(operands):
    def clamped(x, low, high):
        return x.clamp(low, high) * x

    assert_matches_torch(clamped, clamped, *operands, order=2, name="clamp(x, min, max) * x")
    x, low, high = operands
    low, high = float(low.flat[0]), float(high.flat[0])  # numbers apart from every x too
    for bounds in [(low, high), (low, None), (None, high)]:
        both = lambda t, bounds=bounds: clamped(t, *bounds)  # noqa: E731
        assert_matches_torch(both, both, x, order=2, name=f"clamp(x, {bounds}) * x")


AT_KINKS = {  # name: (minigrad's, torch's), each times x so that the second derivative is not 0
    "relu": (lambda t: t.relu() * t,) * 2,
    "abs": (lambda t: t.abs() * t,) * 2,
    "clamp": (lambda t: t.clamp(0.0, 0.5) * t,) * 2,
    "clamp_min": (lambda t: t.clamp_min(0.0) * t,) * 2,
    "leaky_relu": (
        lambda t: F.leaky_relu(t, 0.1) * t,
        lambda t: torch.nn.functional.leaky_relu(t, 0.1) * t,
    ),
    "elu": (lambda t: F.elu(t, 2.0) * t, lambda t: torch.nn.functional.elu(t, 2.0) * t),
    "hardtanh": (  # bounds at -1 and 0.5
        lambda t: F.hardtanh(t, -1.0, 0.5) * t,
        lambda t: torch.nn.functional.hardtanh(t, -1.0, 0.5) * t,
    ),
    "relu6": (lambda t: F.relu6(t) * t, lambda t: torch.nn.functional.relu6(t) * t),
}


@pytest.mark.parametrize("name", AT_KINKS)
def test_first_derivatives_at_kinks_follow_torch_under_create_graph_too(name):
    """At a kink the first derivative is torch's convention (relu'(0) = 0, clamp's bound goes to
    x, ...) on the create_graph path as on the plain one; the second derivative through the
    choice is 0 on either side, and at the kink itself, in both."""
    x = np.array([-1.0, 0.0, -0.0, 2.0, 0.5])
    assert_matches_torch(*AT_KINKS[name], x, order=2, name=f"{name}(x) * x at kinks")


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_and_minimum_at_ties_follow_torch_under_create_graph_too(name):
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 3.0])  # ties: half each
    assert_matches_torch(
        lambda x, y: getattr(x, name)(y) * x,
        lambda x, y: getattr(torch, name)(x, y) * x,
        a,
        b,
        order=2,
        name=f"{name}(a, b) * a at ties",
    )


def test_x_to_the_fifth_differentiated_three_times_is_60_x_squared():
    x = mg.tensor([-2.0, -0.5, 0.0, 1.0, 3.0], dtype=mg.float64, requires_grad=True)
    ours = x**5
    for _ in range(3):
        (ours,) = grad(ours.sum(), x, create_graph=True)
    expected = 60 * x._data**2
    assert torch.equal(ours._data, expected), (ours, expected)  # whole numbers: exactly


def tanh_derivative_polynomials(n: int) -> list[np.polynomial.Polynomial]:
    """p_k(t) with d^k tanh(x)/dx^k = p_k(tanh x): p_0(t) = t, and since dt/dx = 1 - t^2, the
    chain rule gives p_k+1(t) = p_k'(t) (1 - t^2)."""
    t = np.polynomial.Polynomial([0.0, 1.0])
    polynomials = [t]
    for _ in range(n):
        polynomials.append(polynomials[-1].deriv() * (1 - t**2))
    return polynomials


@given(x=mst.float_arrays(mst.shapes(min_rank=1), -3, 3))
@example(x=np.array([0.0, 0.5, -1.0, 3.0]))
def test_tanh_differentiated_six_times_is_the_closed_form(x):
    """d/dx tanh = 1 - t^2, d2 = -2t + 2t^3, ..., d6 = -272t + 1232t^3 - 1680t^5 + 720t^7."""
    polynomials = tanh_derivative_polynomials(6)
    assert list(polynomials[6].coef) == [0, -272, 0, 1232, 0, -1680, 0, 720]
    ours, theirs = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    t = np.tanh(x)
    d_ours, d_theirs = ours.tanh(), theirs.tanh()
    for k in range(1, 7):
        (d_ours,) = grad(d_ours.sum(), ours, create_graph=True)
        (d_theirs,) = torch.autograd.grad(d_theirs.sum(), theirs, create_graph=True)
        closed_form = torch.tensor(polynomials[k](t))
        what = f"d^{k} tanh / dx^{k}"
        assert_close(d_ours._data, d_theirs.detach(), what=f"{what} against torch's")
        # the polynomial's terms reach 1680: its own rounding is ~1e-13
        assert_close(d_ours._data, closed_form, what=f"{what} against the closed form", atol=1e-11)


# ---- relu's first-order kernel ------------------------------------------------------------------


@given(
    x=mst.float_arrays(mst.shapes(), -3, 3),
    arriving=st.none() | st.sampled_from([np.inf, -np.inf, np.nan]),
    dtype=st.sampled_from([np.float64, np.float32]),
    data=st.data(),
)
@example(x=np.array([np.nan, -0.0, 0.0, -1.0, 2.0]), arriving=np.inf, dtype=np.float64, data=None)
@example(x=np.array([np.nan, -0.0, 0.0, -1.0, 2.0]), arriving=np.nan, dtype=np.float32, data=None)
def test_relus_kernel_gives_its_formulas_gradient_bit_for_bit(x, arriving, dtype, data):
    """backward() computes relu's gradient with torch's threshold_backward; its formula,
    G.masked_fill(out <= 0, 0), is what explain() shows and create_graph records. Both give the
    same numbers, also where inf or NaN arrives at a zeroed input (0 there, as torch) and where
    x is NaN (the gradient passes)."""
    x = x.astype(dtype)
    if data is not None:  # an upstream gradient with inf or NaN in some places
        upstream = data.draw(mst.hnp.arrays(dtype, x.shape, elements=st.floats(-3, 3, width=32)))
    else:
        upstream = np.ones_like(x)
    if arriving is not None:
        upstream = np.where(np.arange(upstream.size).reshape(x.shape) % 2 == 0, arriving, upstream)

    def relu_gradient() -> torch.Tensor:
        t = mg.tensor(x, requires_grad=True)
        t.relu().backward(mg.tensor(upstream))
        return t.grad._data

    with CallNames() as calls:
        by_kernel = relu_gradient()
    assert "threshold_backward" in calls.names
    with formulas_only(), CallNames() as calls:
        by_formula = relu_gradient()
    assert "threshold_backward" not in calls.names and "masked_fill" in calls.names
    torch.testing.assert_close(by_kernel, by_formula, rtol=0, atol=0, equal_nan=True)
    assert_matches_torch(Tensor.relu, torch.relu, x, upstream=upstream, name="relu")


def test_relus_kernel_is_what_a_compiled_step_runs_and_its_formula_what_explain_shows():
    """step.code names the kernel (torch.ops.aten.threshold_backward, under relu's rule) and
    replays bit for bit; explain() writes the formula the kernel computes."""
    generator = torch.Generator().manual_seed(0)
    w = mg.Tensor(torch.randn(4, 3, generator=generator), requires_grad=True)
    w.name = "w"
    batches = [mg.Tensor(torch.randn(5, 4, generator=generator)) for _ in range(4)]

    def step(x):
        loss = (x @ w).relu().sum()
        loss.backward()
        with mg.no_grad():
            w.sub_(0.1 * w.grad)
            w.grad = None
        return loss

    compiled = mg.compile(step)
    eager_w = mg.Tensor(w._data.clone(), requires_grad=True)
    for x in batches:
        compiled(x)
        loss = (x @ eager_w).relu().sum()
        loss.backward()
        with mg.no_grad():
            eager_w.sub_(0.1 * eager_w.grad)
            eager_w.grad = None
    assert compiled.replays >= 2 and torch.equal(w._data, eager_w._data)
    assert "d_matmul = torch.ops.aten.threshold_backward(d_relu, relu, 0)\n" in compiled.code
    explained = mg.explain((batches[0] @ w).relu().sum())
    assert "masked_fill(" in explained and "threshold_backward" not in explained


class CallNames(TorchFunctionMode):
    """The names of the torch functions called inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.names.append(getattr(func, "__name__", repr(func)))
        return func(*args, **(kwargs or {}))
