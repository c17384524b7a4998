"""Trigonometric, hyperbolic and other elementwise functions against torch autograd (float64,
rtol 1e-7, atol 1e-9, random upstream gradients, first and second derivatives).

tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh, log2 and exp2 are ops of their own
(ops/unary.py); each is checked on arrays drawn inside its domain by construction (asin on
[-0.95, 0.95], acosh on [1.01, 10], tan within 1.3 of a multiple of pi...), as a method, as a
function, under NumPy's names (arcsin...), in place (tan_...), and as special.exp2.

fmax and fmin (ops/arithmetic.py): against torch where an operand is NaN, at ties (-0.0 and 0.0
too), and broadcast.

The rest are compositions or other names: float_power (in float64, torch's dtypes), sgn,
absolute, negative, positive, mvlgamma (special.multigammaln), and their in-place forms.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.errors import GradientError
from minigrad.testing import assert_close, assert_matches_torch
from minigrad.testing import strategies as mst

SHAPES = mst.shapes(max_rank=3, max_side=4)


def _both_orders(ours, theirs, *arrays, name):
    assert_matches_torch(ours, theirs, *arrays, name=name)
    assert_matches_torch(ours, theirs, *arrays, order=2, name=name)


@st.composite
def away_from_poles(draw):
    """tan's inputs: within 1.3 of a multiple of pi (its poles are at pi/2 + k pi), k in -2..2."""
    shape = draw(SHAPES)
    near_zero = draw(mst.float_arrays(shape, -1.3, 1.3))
    turns = draw(mst.float_arrays(shape, -2, 2))
    return near_zero + math.pi * np.round(turns)


# name: inputs inside the domain, with room to spare at its ends (the slope is infinite there)
DOMAINS = {
    "tan": away_from_poles(),
    "asin": mst.float_arrays(SHAPES, -0.95, 0.95),
    "acos": mst.float_arrays(SHAPES, -0.95, 0.95),
    "atan": mst.float_arrays(SHAPES, -10, 10),
    "sinh": mst.float_arrays(SHAPES, -5, 5),
    "cosh": mst.float_arrays(SHAPES, -5, 5),
    "asinh": mst.float_arrays(SHAPES, -10, 10),
    "acosh": mst.float_arrays(SHAPES, 1.01, 10),
    "atanh": mst.float_arrays(SHAPES, -0.95, 0.95),
    "log2": mst.float_arrays(SHAPES, 0.1, 10),
    "exp2": mst.float_arrays(SHAPES, -10, 10),
}
NUMPY_NAMES = {
    name: "arc" + name[1:] for name in ["asin", "acos", "atan", "asinh", "acosh", "atanh"]
}


@pytest.mark.parametrize("name", DOMAINS)
@given(data=st.data())
def test_elementwise_function_matches_torch(name, data):
    x = data.draw(DOMAINS[name], label="x")
    _both_orders(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), x, name=name)


@pytest.mark.parametrize("name", DOMAINS)
def test_elementwise_function_at_its_known_values(name):
    """Points where the answer is known exactly, so that both libraries could not be wrong
    together."""
    known = {
        "tan": ([0.0, math.pi / 4, -math.pi / 4], [0.0, 1.0, -1.0]),
        "asin": ([0.0, 0.5, -1.0], [0.0, math.pi / 6, -math.pi / 2]),
        "acos": ([1.0, 0.5, 0.0], [0.0, math.pi / 3, math.pi / 2]),
        "atan": ([0.0, 1.0, -1.0], [0.0, math.pi / 4, -math.pi / 4]),
        "sinh": ([0.0, 1.0], [0.0, (math.e - 1 / math.e) / 2]),
        "cosh": ([0.0, 1.0], [1.0, (math.e + 1 / math.e) / 2]),
        "asinh": ([0.0, 0.75], [0.0, math.log(2)]),
        "acosh": ([1.0, 1.25], [0.0, math.log(2)]),
        "atanh": ([0.0, 0.6], [0.0, math.log(2)]),
        "log2": ([1.0, 8.0, 0.5], [0.0, 3.0, -1.0]),
        "exp2": ([0.0, 3.0, -1.0], [1.0, 8.0, 0.5]),
    }
    x, expected = known[name]
    got = getattr(mg.tensor(x, dtype=mg.float64), name)()
    assert_close(got._data, torch.tensor(expected, dtype=torch.float64), what=name, rtol=1e-15)


# a few points inside each domain, for the function forms, the other names and the in-place
# forms: they call the same op as the method, which the drawn arrays above check
_WITHIN_1 = [[-0.9, 0.0, 0.5], [0.25, -0.7, 0.95]]
_WITHIN_5 = [[-4.0, 0.0, 0.5], [2.0, -1.5, 3.0]]
_WITHIN_10 = [[-8.0, 0.0, 0.5], [2.0, -1.5, 9.0]]
INSIDE = {
    "tan": [[-1.2, 0.3, 2.5], [4.0, -3.5, 0.0]],  # (within 1.3 of 0, pi or -pi)
    "asin": _WITHIN_1,
    "acos": _WITHIN_1,
    "atan": _WITHIN_10,
    "sinh": _WITHIN_5,
    "cosh": _WITHIN_5,
    "asinh": _WITHIN_10,
    "acosh": [[1.01, 1.5, 2.0], [9.0, 3.5, 1.2]],
    "atanh": _WITHIN_1,
    "log2": [[0.1, 1.5, 2.0], [9.0, 3.5, 1.0]],
    "exp2": _WITHIN_5,
}


@pytest.mark.parametrize("name", DOMAINS)
def test_function_forms_and_numpy_names_match_torch(name):
    x = np.array(INSIDE[name])
    assert_matches_torch(getattr(mg, name), getattr(torch, name), x, name=f"minigrad.{name}")
    if name in NUMPY_NAMES:
        numpy_name = NUMPY_NAMES[name]
        method = lambda t: getattr(t, numpy_name)()  # noqa: E731
        _both_orders(method, method, x, name=numpy_name)
        assert_matches_torch(
            getattr(mg, numpy_name), getattr(torch, numpy_name), x, name=numpy_name
        )


def test_a_numpy_name_records_the_op_of_its_torch_name():
    x = mg.tensor([0.5], requires_grad=True)
    for name, numpy_name in NUMPY_NAMES.items():
        node = getattr(x + 1 if name == "acosh" else x, numpy_name)().grad_fn
        assert node.function is getattr(mg.ops, name.capitalize())  # (torch's: AsinBackward0)


def test_integers_give_floats_as_torch():
    ints = torch.tensor([1, 2, 3])
    for name in DOMAINS:  # (NaN outside a domain, as torch's)
        got, expected = getattr(mg.tensor(ints), name)(), getattr(ints, name)()
        assert_close(got._data, expected, what=f"{name} of int64")


@given(x=DOMAINS["exp2"])
def test_special_exp2_is_the_exp2_op(x):
    _both_orders(mg.special.exp2, torch.special.exp2, x, name="special.exp2")
    assert mg.special.exp2(mg.tensor(x, requires_grad=True)).grad_fn.function is mg.ops.Exp2


# ---- in place ------------------------------------------------------------------------------------

IN_PLACE = [name + "_" for name in [*DOMAINS, *NUMPY_NAMES.values()]]


def _inside(name):
    base = name[:-1]
    return np.array(INSIDE[base if base in INSIDE else "a" + base[3:]])


def _changed(name, *args):
    def run(t):
        y = t * 1  # (a leaf that requires grad cannot be changed in place)
        assert getattr(y, name)(*args) is y
        return y

    return run


# torch records these but has no derivative for them in place (backward raises there)
WITHOUT_GRADIENT = {"asinh_", "acosh_", "atanh_", "arcsinh_", "arccosh_", "arctanh_"}


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_forms_match_torch(name):
    x = _inside(name)
    if name in WITHOUT_GRADIENT:
        got = _changed(name)(mg.tensor(x, requires_grad=True))
        expected = _changed(name)(torch.tensor(x, requires_grad=True))
        assert_close(got._data, expected.detach(), what=name)
        with pytest.raises(NotImplementedError, match="derivative for 'inplace version of"):
            expected.sum().backward()
        advice = rf"{name}\(\) has no gradient.*x = x.{name[:-1]}\(\)"
        with pytest.raises(GradientError, match=advice):
            got.sum().backward()
    else:
        assert_matches_torch(_changed(name), _changed(name), x, name=name)
    if hasattr(torch, name):  # torch.tan_(x), as torch has it
        mine, theirs = mg.tensor(x), torch.tensor(x)
        assert getattr(mg, name)(mine) is mine
        assert_close(mine._data, getattr(torch, name)(theirs), what=f"minigrad.{name}(x)")


def _refused_on_a_leaf(name, *args):
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(torch.tensor([1.5, 2.0], dtype=torch.float64, requires_grad=True), name)(*args)
    leaf = mg.tensor([1.5, 2.0], dtype=mg.float64, requires_grad=True)
    with pytest.raises(GradientError, match=rf"in-place {name} on a leaf tensor that requires"):
        getattr(leaf, name)(*args)
    with mg.no_grad():  # where it is allowed, as in torch
        getattr(leaf, name)(*args)


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_on_a_leaf_that_requires_grad_is_refused_as_torch(name):
    _refused_on_a_leaf(name)


# ---- fmax, fmin ----------------------------------------------------------------------------------

NAN = math.nan
# NaN on either side and on both, ties, and -0.0 against 0.0 (a tie too, with a sign to keep)
NAN_AND_TIES = (
    np.array([1.0, 2.0, NAN, NAN, 3.0, -0.0, 0.0, 4.0]),
    np.array([1.0, 5.0, 1.0, NAN, NAN, 0.0, -0.0, -4.0]),
)


@st.composite
def operand_pairs(draw):
    """Two arrays that broadcast together, from a small set of values so that ties are frequent,
    NaN among them."""
    shape_a, shape_b = draw(mst.broadcastable_shapes(2, max_rank=3, max_side=3))
    values = st.sampled_from([-2.0, -0.5, -0.0, 0.0, 0.5, 1.5, NAN]) | st.floats(-3, 3)
    a = draw(st.lists(values, min_size=math.prod(shape_a), max_size=math.prod(shape_a)))
    b = draw(st.lists(values, min_size=math.prod(shape_b), max_size=math.prod(shape_b)))
    return np.array(a).reshape(shape_a), np.array(b).reshape(shape_b)


@pytest.mark.parametrize("name", ["fmax", "fmin"])
@given(pair=operand_pairs())
@example(pair=NAN_AND_TIES)
@example(pair=NAN_AND_TIES[::-1])
@example(pair=(np.array([[1.0], [NAN], [2.0]]), np.array([2.0, NAN, 1.0, 2.0])))  # broadcast
@example(pair=(np.array(2.0), np.array([2.0, NAN, 3.0])))
def test_fmax_and_fmin_match_torch(name, pair):
    _both_orders(
        lambda a, b: getattr(a, name)(b), lambda a, b: getattr(a, name)(b), *pair, name=name
    )
    assert_matches_torch(getattr(mg, name), getattr(torch, name), *pair, name=f"minigrad.{name}")


@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_and_fmin_at_nan_and_ties_as_torch(name):
    """The gradient goes to one side only: to a at a tie (not halved as maximum's), to the number
    where the other is NaN, to a where both are; and -0.0 against 0.0 keeps torch's sign."""
    a, b = NAN_AND_TIES
    mine = [mg.tensor(v, requires_grad=True) for v in (a, b)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (a, b)]
    out, expected = getattr(mine[0], name)(mine[1]), getattr(theirs[0], name)(theirs[1])
    assert torch.equal(out._data.signbit(), expected.signbit())  # -0.0 where torch has it
    out.sum().backward()
    expected.sum().backward()
    for m, t in zip(mine, theirs):
        assert torch.equal(m.grad._data, t.grad)
    to_a = {"fmax": [1, 0, 0, 1, 1, 1, 1, 1], "fmin": [1, 1, 0, 1, 1, 1, 1, 0]}[name]
    assert mine[0].grad.tolist() == to_a
    assert mine[1].grad.tolist() == [1 - g for g in to_a]


@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_and_fmin_take_integers_as_torch_and_refuse_a_number(name):
    ints, floats = torch.tensor([1, 5, -2]), torch.tensor([2.5, 1.0, -2.0])
    for a, b in [(ints, floats), (ints, ints), (floats, ints)]:
        got = getattr(mg.tensor(a), name)(mg.tensor(b))
        assert_close(got._data, getattr(torch, name)(a, b), what=f"{name} of {a.dtype}, {b.dtype}")
    with pytest.raises(TypeError):
        getattr(torch, name)(floats, 2.0)
    with pytest.raises(TypeError, match=rf"{name}'s other must be a tensor, as in torch"):
        getattr(mg, name)(mg.tensor(floats), 2.0)


# ---- float_power ---------------------------------------------------------------------------------


@given(
    base=mst.float_arrays(SHAPES, 0.1, 4),
    exponent=mst.float_arrays(mst.shapes(max_rank=2, max_side=4), -3, 3),
)
@example(base=np.array([0.5, 2.0]), exponent=np.array(0.0))
def test_float_power_of_tensors_matches_torch(base, exponent):
    try:
        np.broadcast_shapes(base.shape, exponent.shape)
    except ValueError:
        exponent = exponent.reshape(-1)[:1].reshape(())
    for dtype in (np.float64, np.float32):  # float32 in, float64 out, gradients in float32
        _both_orders(
            lambda a, b: a.float_power(b),
            lambda a, b: a.float_power(b),
            base.astype(dtype),
            exponent.astype(dtype),
            name=f"float_power of {np.dtype(dtype)}",
        )
    assert_matches_torch(mg.float_power, torch.float_power, base, exponent, name="mg.float_power")


@given(
    base=mst.float_arrays(SHAPES, -4, 4),
    exponent=st.sampled_from([0, 1, 2, 3, -1, -2]) | st.floats(0.5, 3),
)
def test_float_power_of_a_number_exponent_matches_torch(base, exponent):
    if isinstance(exponent, float):
        base = np.abs(base) + 0.1  # a fraction of a negative number is NaN
    elif exponent < 0:
        base = np.where(np.abs(base) < 0.1, 0.5, base)  # off the pole at 0
    for dtype in (np.float64, np.float32):
        _both_orders(
            lambda a: a.float_power(exponent),
            lambda a: a.float_power(exponent),
            base.astype(dtype),
            name=f"float_power({exponent}) of {np.dtype(dtype)}",
        )


def test_float_power_with_a_number_base_matches_torch():
    x = np.array([-1.0, 0.5, 2.0])
    for base in (2, 0.1, 3.0):
        assert_matches_torch(
            lambda t, b=base: mg.float_power(b, t),
            lambda t, b=base: torch.float_power(b, t),
            x,
            name=f"float_power({base}, x)",
        )


DTYPES = [torch.float32, torch.float64, torch.int64, torch.int32, torch.bool]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(
    "exponent",
    [2, 0.5, torch.tensor(2.0), torch.tensor([1, 2, 3]), torch.tensor(2.0, dtype=torch.float64)],
    ids=repr,
)
def test_float_power_gives_torch_s_dtype(dtype, exponent):
    base = torch.tensor([1, 2, 3]).to(dtype)
    wrap = mg.Tensor if isinstance(exponent, torch.Tensor) else lambda e: e
    got = mg.Tensor(base).float_power(wrap(exponent))
    assert_close(got._data, base.float_power(exponent), what=f"float_power of {dtype}")


def test_float_power_of_complex_is_complex128_as_torch():
    z = torch.tensor([1 + 1j, -2j], dtype=torch.complex64)
    assert_close(mg.Tensor(z).float_power(2)._data, z.float_power(2), what="complex")
    assert_close(
        mg.tensor([1.0, 4.0]).float_power(0.5j)._data,
        torch.tensor([1.0, 4.0]).float_power(0.5j),
        what="a complex exponent",
    )


def test_float_power_in_place_takes_only_float64_as_torch():
    x = torch.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="requires dtype Double"):
        x.float_power_(2)
    with pytest.raises(RuntimeError, match=r"float_power_.*torch.float64.*torch.float32.*double"):
        mg.tensor([1.0, 2.0]).float_power_(2)
    mine = mg.tensor([1.0, 2.0], dtype=mg.float64)
    assert mine.float_power_(mg.tensor(3.0)) is mine
    assert mine.tolist() == [1.0, 8.0]


# ---- sgn, absolute, negative, positive -----------------------------------------------------------


@pytest.mark.parametrize("name", ["sgn", "absolute", "negative", "positive"])
@given(x=mst.float_arrays(SHAPES))
@example(x=np.array([0.0, -0.0, 2.0, -3.0]))
def test_sgn_absolute_negative_and_positive_match_torch(name, x):
    _both_orders(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), x, name=name)


@pytest.mark.parametrize("name", ["sgn", "absolute", "negative", "positive"])
def test_sgn_absolute_negative_and_positive_as_functions_match_torch(name):
    x = np.array([[0.0, -0.0, 2.0], [-3.0, 0.5, -1.5]])
    assert_matches_torch(getattr(mg, name), getattr(torch, name), x, name=f"minigrad.{name}")


def test_sgn_of_integers_and_complex_as_torch():
    ints = torch.tensor([3, 0, -2])
    assert torch.equal(mg.Tensor(ints).sgn()._data, ints.sgn())
    z = torch.tensor([3 + 4j, 0j, -2j])
    assert_close(mg.Tensor(z).sgn()._data, z.sgn(), what="sgn of complex")


def test_the_other_names_record_the_same_ops():
    x = mg.tensor([1.5, -2.0], requires_grad=True)
    assert x.absolute().grad_fn.function is mg.ops.Abs
    assert x.negative().grad_fn.function is mg.ops.Neg
    assert x.sgn().grad_fn.function is mg.ops.Sign


def test_positive_is_the_tensor_itself_as_torch():
    x, t = mg.tensor([1.0, -2.0], requires_grad=True), torch.tensor([1.0, -2.0])
    assert x.positive() is x and mg.positive(x) is x and +x is x
    assert t.positive() is t and +t is t  # (torch's too)


def test_positive_and_negative_refuse_a_bool_tensor_as_torch():
    mask = torch.tensor([True, False])
    for name in ["positive", "negative"]:
        with pytest.raises(RuntimeError, match="bool tensor is not supported"):
            getattr(mask, name)()
    with pytest.raises(RuntimeError, match=r"positive.*bool tensor.*x.int\(\)"):
        mg.Tensor(mask).positive()
    for tensor in (mask, mg.Tensor(mask)):  # the + operator is positive, in torch and here
        with pytest.raises(RuntimeError, match="bool tensor"):
            +tensor  # noqa: B018
    with pytest.raises(RuntimeError, match=r"Negation.*bool tensor.*logical_not"):
        mg.Tensor(mask).negative()


# ---- mvlgamma ------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [1, 2, 3, 5])
@given(data=st.data())
def test_mvlgamma_matches_torch(p, data):
    x = data.draw(mst.float_arrays(SHAPES, (p - 1) / 2 + 0.1, 8), label="x")
    _both_orders(lambda t: t.mvlgamma(p), lambda t: t.mvlgamma(p), x, name=f"mvlgamma(p={p})")


@pytest.mark.parametrize("p", [1, 3])
def test_mvlgamma_as_a_function_and_special_multigammaln_match_torch(p):
    x = np.array(INSIDE["acosh"]) + p  # (above (p - 1) / 2)
    assert_matches_torch(
        lambda t: mg.mvlgamma(t, p=p), lambda t: torch.mvlgamma(t, p=p), x, name="minigrad.mvlgamma"
    )
    _both_orders(
        lambda t: mg.special.multigammaln(t, p),
        lambda t: torch.special.multigammaln(t, p),
        x,
        name="special.multigammaln",
    )


def test_mvlgamma_of_integers_gives_floats_as_torch():
    ints = torch.tensor([1, 2, 3])
    assert_close(mg.Tensor(ints).mvlgamma(2)._data, ints.mvlgamma(2), what="mvlgamma of int64")


def test_mvlgamma_refuses_p_below_1_as_torch():
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        torch.tensor([2.0]).mvlgamma(0)
    with pytest.raises(RuntimeError, match=r"mvlgamma: p must be at least 1 .*got 0"):
        mg.tensor([2.0]).mvlgamma(0)
    with pytest.raises(RuntimeError, match=r"multigammaln: p must be at least 1 .*got 0"):
        mg.special.multigammaln(mg.tensor([2.0]), 0)


# ---- the other in-place forms --------------------------------------------------------------------

OTHER_IN_PLACE = {
    "sgn_": (),
    "absolute_": (),
    "negative_": (),
    "mvlgamma_": (2,),
    "float_power_": (1.5,),
}


@pytest.mark.parametrize("name", OTHER_IN_PLACE)
def test_the_other_in_place_forms_match_torch(name):
    x, args = np.array(INSIDE["acosh"]) * 1.5, OTHER_IN_PLACE[name]
    _refused_on_a_leaf(name, *args)
    _both_orders(_changed(name, *args), _changed(name, *args), x, name=name)
    if hasattr(torch, name):
        mine = mg.tensor(x)
        getattr(mg, name)(mine, *args)
        assert_close(mine._data, getattr(torch, name)(torch.tensor(x), *args), what=name)
