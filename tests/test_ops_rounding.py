"""Rounding and what division leaves over, against torch autograd (float64, rtol 1e-7, atol 1e-9).

floor, ceil, round (decimals=), trunc (fix), frac, reciprocal; // (floor_divide), % (remainder),
fmod, div(rounding_mode=); lerp. Each as torch: values, dtypes (integers stay integers), the
gradient (0 for a step, even at its jump, as torch takes it; none at all for //, whose backward
torch refuses), Python numbers on either side, broadcasting, in-place forms, second derivatives.
Finite differences (gradcheck) run on values kept off the jumps by construction: a step has no
slope there for differences to find. The jumps themselves are @examples against torch.
"""

from __future__ import annotations

import operator

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.errors import GradientError
from minigrad.testing import assert_matches_torch, gradcheck
from minigrad.testing import strategies as mst

# name: (minigrad's, torch's); method and function forms both
STEPS = {
    "floor": (mg.Tensor.floor, torch.floor),
    "ceil": (mg.Tensor.ceil, torch.ceil),
    "round": (mg.Tensor.round, torch.round),
    "trunc": (mg.Tensor.trunc, torch.trunc),
    "fix": (mg.fix, torch.fix),
    "frac": (mg.frac, torch.frac),
    "minigrad.floor": (mg.floor, torch.floor),
    "minigrad.round": (mg.round, torch.round),
}

# where the steps jump (integers; round at halves), and -0.0, for the @examples
JUMPS = np.array([-2.5, -2.0, -1.5, -0.5, -0.0, 0.0, 0.5, 1.0, 1.5, 2.5, 3.0])


@st.composite
def off_the_jumps(draw: st.DrawFn, shape=None) -> np.ndarray:
    """Arrays of k + f, k an integer in [-10, 9] and f in [0.1, 0.4] or [0.6, 0.9]: at least 0.1
    from every integer and every half, where floor, ceil, trunc and round jump."""
    shape = draw(mst.shapes() if shape is None else st.just(shape))
    whole = draw(mst.float_arrays(shape, -10, 9)).round()
    fraction = draw(mst.float_arrays(shape, 0.1, 0.4))
    upper = draw(mst.float_arrays(shape, 0, 1)) > 0.5
    return whole + np.where(upper, fraction + 0.5, fraction)


# ---- floor, ceil, round, trunc, frac -----------------------------------------------------------


@pytest.mark.parametrize("name", STEPS)
@given(x=mst.float_arrays())
@example(x=JUMPS)  # at the jumps: torch's gradient there (0; frac's 1)
@example(x=np.array(2.0))
@example(x=np.array([np.inf, -np.inf, np.nan, 1e300]))
def test_steps_match_torch_everywhere(name, x):
    ours, theirs = STEPS[name]
    assert_matches_torch(ours, theirs, x, name=name)


@pytest.mark.parametrize("name", STEPS)
@given(x=off_the_jumps())
def test_steps_pass_gradcheck_and_their_second_derivatives_match_torch(name, x):
    ours, theirs = STEPS[name]
    gradcheck(ours, x.reshape(-1)[:20], name=name)
    assert_matches_torch(ours, theirs, x, order=2, name=name)


@pytest.mark.parametrize("name", STEPS)
@given(x=mst.float_arrays(), arriving=st.sampled_from([np.inf, -np.inf, np.nan]))
def test_steps_give_zeros_even_where_inf_or_nan_arrives_as_torch(name, x, arriving):
    # torch's gradient of a step is zeros, not the incoming gradient times 0 (inf * 0 is NaN)
    ours, theirs = STEPS[name]
    assert_matches_torch(ours, theirs, x, upstream=np.full_like(x, arriving), name=name)


@given(x=mst.float_arrays(), decimals=st.integers(-2, 4))
@example(x=np.array([0.125, 0.375, -0.125, 2.675, 1.005]), decimals=2)
@example(x=np.array([15.0, 25.0, -35.0, 149.9]), decimals=-1)
def test_round_with_decimals_matches_torch(x, decimals):
    def ours(t):
        return t.round(decimals=decimals)

    def theirs(t):
        return t.round(decimals=decimals)

    assert_matches_torch(ours, theirs, x, name=f"round(decimals={decimals})")
    assert_matches_torch(ours, theirs, x, order=2, name=f"round(decimals={decimals})")


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "fix", "reciprocal"])
def test_steps_and_reciprocal_of_integers_match_torch(name):
    x = torch.arange(-4, 5)
    got = getattr(mg.tensor(x), name)()
    expected = getattr(x, name)()
    assert got.dtype == expected.dtype  # floor of integers: integers; reciprocal: floats
    assert torch.equal(got._data, expected)


@pytest.mark.parametrize(
    "call",
    [lambda x: x.frac(), lambda x: x.round(decimals=1), lambda x: x.round(decimals=0)],
    ids=["frac", "round(decimals=1)", "round(decimals=0)"],
)
def test_frac_and_round_to_decimals_refuse_integers_as_torch_does(call):
    with pytest.raises(NotImplementedError):
        call(torch.arange(3))
    with pytest.raises(NotImplementedError, match=r"floating-point.*int64.*\.float\(\)"):
        call(mg.arange(3))


@given(x=mst.float_arrays(mst.shapes(), 0.1, 10), negative=st.booleans())
@example(x=np.array([0.5, 4.0]), negative=True)
def test_reciprocal_matches_torch(x, negative):
    x = -x if negative else x
    assert_matches_torch(mg.reciprocal, torch.reciprocal, x, name="reciprocal")
    assert_matches_torch(mg.Tensor.reciprocal, torch.reciprocal, x, order=2, name="reciprocal")


@given(x=mst.distinct_arrays(mst.small_shapes(), 0.5, 5))
def test_reciprocal_passes_gradcheck(x):
    gradcheck(mg.Tensor.reciprocal, x, name="reciprocal")


def test_reciprocal_of_zero_is_inf_and_its_gradient_follows_torch():
    assert_matches_torch(mg.reciprocal, torch.reciprocal, np.array([0.0, -0.0, 2.0]))


IN_PLACE_STEPS = ["floor_", "ceil_", "trunc_", "fix_", "frac_", "reciprocal_", "round_"]


@pytest.mark.parametrize("name", IN_PLACE_STEPS)
@given(x=off_the_jumps())
def test_in_place_steps_match_torch(name, x):
    def change(t):
        y = t * 3  # (a leaf that requires grad cannot be changed in place)
        out = getattr(y, name)()
        assert out is y
        return y

    assert_matches_torch(change, change, x, name=name)


def test_round_in_place_takes_decimals():
    def change(t):
        y = t * 1
        y.round_(decimals=1)
        return y

    assert_matches_torch(change, change, np.array([1.26, -3.14, 0.05]))


# ---- //, %, fmod, div(rounding_mode=) -----------------------------------------------------------

DIVISIONS = {
    "a % b": (operator.mod, operator.mod),
    "remainder": (mg.remainder, torch.remainder),
    "fmod": (mg.fmod, torch.fmod),
    "x.fmod(b)": (mg.Tensor.fmod, torch.Tensor.fmod),
    "div floor": (
        lambda a, b: a.div(b, rounding_mode="floor"),
        lambda a, b: a.div(b, rounding_mode="floor"),
    ),
    "div trunc": (
        lambda a, b: mg.div(a, b, rounding_mode="trunc"),
        lambda a, b: torch.div(a, b, rounding_mode="trunc"),
    ),
}

NONZERO = st.floats(-10, -0.1) | st.floats(0.1, 10)
POWERS_OF_TWO = st.sampled_from([-4.0, -2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 4.0])


@st.composite
def division_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Broadcasting (a, b), b never 0, any quotient (at a jump too, where torch's formula holds)."""
    shape_a, shape_b = draw(mst.broadcastable_shapes(2))
    a = draw(mst.float_arrays(shape_a))
    b = np.vectorize(lambda _: draw(NONZERO), otypes=[np.float64])(np.empty(shape_b))
    return a, b


@st.composite
def division_pairs_off_the_jumps(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) with a / b at least 0.025 from every integer, where % and fmod jump: a is at least
    0.1 from integers and halves (off_the_jumps), b a power of two in [0.5, 4] either sign, so
    a / b is exact and keeps a's distance, shrunk at most 4 times."""
    shape_a, shape_b = draw(mst.broadcastable_shapes(2))
    a = draw(off_the_jumps(shape_a))
    b = np.vectorize(lambda _: draw(POWERS_OF_TWO), otypes=[np.float64])(np.empty(shape_b))
    return a, b


JUMPING_PAIRS = (  # a / b an integer: 3 % 1.5, -3 % 2, 0 % -2
    np.array([3.0, -3.0, 0.0, 4.0]),
    np.array([1.5, 2.0, -2.0, -1.0]),
)


@pytest.mark.parametrize("name", DIVISIONS)
@given(pair=division_pairs())
@example(pair=JUMPING_PAIRS)
@example(pair=(np.array([1.0, -1.0]), np.array(0.1)))  # floor(1 / 0.1) is 9, not 10 (0.1 > 1/10)
@example(pair=(np.array(2.0), np.full((3, 1), 0.7)))  # 0-d with a column
@example(pair=(np.array([1.0, -1.0, 0.0]), np.array([0.0, 0.0, 0.0])))  # by 0: inf and NaN
def test_divisions_match_torch(name, pair):
    ours, theirs = DIVISIONS[name]
    assert_matches_torch(ours, theirs, *pair, name=name)


@pytest.mark.parametrize("name", DIVISIONS)
@given(pair=division_pairs_off_the_jumps())
@example(pair=(np.array([2.3, -2.3]), np.array(2.0)))
def test_divisions_pass_gradcheck_and_their_second_derivatives_match_torch(name, pair):
    ours, theirs = DIVISIONS[name]
    a, b = pair
    gradcheck(ours, a.reshape(-1)[:12], b.reshape(-1)[:1], name=name)
    assert_matches_torch(ours, theirs, a, b, order=2, name=name)


@pytest.mark.parametrize("name", ["a % b", "remainder", "fmod"])
@given(x=mst.float_arrays(), number=NONZERO)
@example(x=np.array([-3.0, -2.5, 2.5, 3.0]), number=2.0)
@example(x=np.array([-3.0, -2.5, 2.5, 3.0]), number=-2.0)
def test_a_tensor_by_a_python_number_matches_torch(name, x, number):
    ours, theirs = DIVISIONS[name]
    assert_matches_torch(lambda t: ours(t, number), lambda t: theirs(t, number), x, name=name)


@given(x=off_the_jumps(), number=NONZERO)
def test_a_python_number_by_a_tensor_matches_torch_and_refuses_backward_as_torch(x, number):
    # 2 % x: torch has the values, but no gradient for x (its backward raises)
    x = x + np.sign(x) * 0.5  # |x| >= 0.5: away from 0
    xm = mg.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    ours, theirs = number % xm, number % xt
    assert torch.allclose(ours._data, theirs.detach(), rtol=1e-7, atol=1e-9, equal_nan=True)
    assert ours.requires_grad and theirs.requires_grad
    with pytest.raises(RuntimeError, match="not implemented"):
        theirs.sum().backward()
    with pytest.raises(GradientError, match=r"% x .*no gradient.*full_like"):
        ours.sum().backward()


@given(pair=division_pairs())
@example(pair=JUMPING_PAIRS)
def test_floor_divide_matches_torch_and_refuses_backward_as_torch(pair):
    a, b = pair
    for ours, theirs in [
        (operator.floordiv, operator.floordiv),
        (mg.floor_divide, torch.floor_divide),
        (lambda x, y: x // 2.5, lambda x, y: x // 2.5),
        (lambda x, y: 7.5 // y, lambda x, y: 7.5 // y),
    ]:
        am, bm = mg.tensor(a, requires_grad=True), mg.tensor(b, requires_grad=True)
        at, bt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        got, expected = ours(am, bm), theirs(at, bt)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        assert torch.equal(got._data, expected.detach())
        assert got.requires_grad and expected.requires_grad  # recorded, as torch records it
        with pytest.raises(RuntimeError, match="derivative for aten::floor_divide"):
            expected.sum().backward()
        with pytest.raises(GradientError, match=r"floor_divide.*rounding_mode='floor'"):
            got.sum().backward()


INTEGER_DIVISIONS = {
    "a // b": operator.floordiv,
    "a % b": operator.mod,
    "fmod": lambda a, b: a.fmod(b),
    "div floor": lambda a, b: a.div(b, rounding_mode="floor"),
    "div trunc": lambda a, b: a.div(b, rounding_mode="trunc"),
    "a / b": operator.truediv,
}


@pytest.mark.parametrize("name", INTEGER_DIVISIONS)
@pytest.mark.parametrize(
    "b", [4, -4, 2.5, -3, torch.tensor([3, -3, 1, 7, -2, 5, -1, 2, 4, -5])], ids=str
)
def test_integer_divisions_keep_torch_s_signs_and_dtypes(name, b):
    # // and % round down (Python's signs: -7 // 4 = -2, -7 % 4 = 1), fmod and trunc toward 0
    op = INTEGER_DIVISIONS[name]
    a = torch.arange(-5, 5)
    mb = mg.tensor(b) if isinstance(b, torch.Tensor) else b
    got, expected = op(mg.tensor(a), mb), op(a, b)
    assert got.dtype == expected.dtype
    assert torch.equal(got._data, expected)
    if not isinstance(b, torch.Tensor) and name in ("a // b", "a % b", "a / b"):
        # a number on the left too: 7 // x, 7 % x
        got, expected = op(b, mg.tensor(a) + 6), op(b, a + 6)
        assert got.dtype == expected.dtype and torch.equal(got._data, expected)


@pytest.mark.parametrize("name", ["a // b", "a % b", "fmod", "div floor", "div trunc"])
def test_integers_divided_by_zero_are_refused_as_torch_does_and_say_why(name):
    op = INTEGER_DIVISIONS[name]
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        op(torch.arange(3), torch.tensor([1, 0, 2]))
    with pytest.raises(RuntimeError, match=r"of integers by zero.*\.float\(\)"):
        op(mg.arange(3), mg.tensor([1, 0, 2]))
    with pytest.raises(RuntimeError, match="of integers by zero"):
        op(mg.arange(3), 0)


def test_div_refuses_an_unknown_rounding_mode_as_torch_does():
    with pytest.raises(RuntimeError):
        torch.ones(2).div(2, rounding_mode="up")
    with pytest.raises(RuntimeError, match=r"'floor'.*'trunc'.*got 'up'"):
        mg.ones(2).div(2, rounding_mode="up")


def test_divisions_of_shapes_that_do_not_broadcast_name_both():
    from minigrad.errors import ShapeError

    for op in [operator.floordiv, operator.mod, mg.fmod]:
        with pytest.raises(ShapeError, match=r"\(2, 3\).*\(4,\)|\(4,\).*\(2, 3\)"):
            op(mg.ones(2, 3), mg.ones(4))


IN_PLACE_DIVISIONS = {
    "//=": lambda y, b: y.__ifloordiv__(b),
    "%=": lambda y, b: y.__imod__(b),
    "remainder_": lambda y, b: y.remainder_(b),
    "fmod_": lambda y, b: y.fmod_(b),
    "floor_divide_": lambda y, b: y.floor_divide_(b),
    "div_ floor": lambda y, b: y.div_(b, rounding_mode="floor"),
}


@pytest.mark.parametrize("name", IN_PLACE_DIVISIONS)
@pytest.mark.parametrize("b", [3, -2.5])
def test_in_place_divisions_match_torch(name, b):
    change = IN_PLACE_DIVISIONS[name]
    a = torch.arange(-6.0, 6.0) + 0.25
    mine, theirs = mg.tensor(a.clone()), a.clone()
    assert change(mine, b) is mine
    change(theirs, b)
    assert torch.equal(mine._data, theirs)
    if isinstance(b, int):  # integers too (torch refuses a float result written into them)
        ints = torch.arange(-6, 6)
        mine, theirs = mg.tensor(ints.clone()), ints.clone()
        change(mine, b)
        change(theirs, b)
        assert torch.equal(mine._data, theirs)
    if name not in ("//=", "floor_divide_"):  # recorded: the gradient flows on, as torch's
        assert_matches_torch(lambda t: change(t * 1, b), lambda t: change(t * 1, b), a.numpy())


# ---- lerp ------------------------------------------------------------------------------------


@st.composite
def lerp_operands(draw: st.DrawFn, max_rank: int = 4) -> tuple[np.ndarray, ...]:
    shapes = draw(mst.broadcastable_shapes(3, max_rank=max_rank, max_side=5 if max_rank > 2 else 3))
    start, end = draw(mst.float_arrays(shapes[0])), draw(mst.float_arrays(shapes[1]))
    return start, end, draw(mst.float_arrays(shapes[2], -0.5, 1.5))  # both sides of 0.5


@given(operands=lerp_operands())
@example(operands=(np.array([1.0, -2.0]), np.array([3.0, 5.0]), np.array([0.0, 1.0])))
@example(operands=(np.array(1.0), np.full((2, 1), 3.0), np.array([0.5, 0.25, 0.75])))
def test_lerp_with_a_tensor_weight_matches_torch(operands):
    assert_matches_torch(mg.lerp, torch.lerp, *operands, name="lerp")
    assert_matches_torch(mg.Tensor.lerp, torch.lerp, *operands, order=2, name="lerp")


@given(
    pair=st.tuples(*(mst.float_arrays(s) for s in ((2, 3), (3,)))) | st.just((np.ones(2),) * 2),
    weight=st.floats(-0.5, 1.5),
)
@example(pair=(np.array([1.0, -2.0]), np.array([3.0, 5.0])), weight=0.5)
@example(pair=(np.array([1.0, -2.0]), np.array([3.0, 5.0])), weight=1.0)
def test_lerp_with_a_number_weight_matches_torch(pair, weight):
    def lerp(start, end):
        return start.lerp(end, weight)

    assert_matches_torch(lerp, lerp, *pair, name=f"lerp(weight={weight})")
    assert_matches_torch(lerp, lerp, *pair, order=2, name=f"lerp(weight={weight})")


@given(operands=lerp_operands(max_rank=2))
def test_lerp_passes_gradcheck(operands):
    gradcheck(mg.lerp, *operands, name="lerp")


def test_lerp_refuses_a_number_as_end_as_torch_does():
    with pytest.raises(TypeError):
        torch.ones(2).lerp(2.0, 0.5)
    with pytest.raises(TypeError, match=r"end must be a tensor.*full_like"):
        mg.ones(2).lerp(2.0, 0.5)
