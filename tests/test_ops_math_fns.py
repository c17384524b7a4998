"""Joining, splitting and elementwise maths against torch autograd (float64, rtol 1e-7, atol 1e-9,
random upstream gradients, first and second derivatives).

Part 1, shapes: broadcast_to, expand_as, hstack, vstack, dstack, column_stack, atleast_1d/2d/3d,
tensor_split, hsplit, vsplit, dsplit, rot90, diff, meshgrid, cartesian_prod. All compositions of
minigrad's shape ops (expand, reshape, cat, slices, flip, transpose, stack), so their gradients
are those ops'; the tests draw shapes, dims, sections and indices (past the end, negative, out of
order), and check each piece's shape, the values and both derivatives, and torch's errors.

Part 2, elementwise maths: atan2 (arctan2), hypot, logaddexp, logaddexp2, xlogy, sinc, copysign,
heaviside, nan_to_num, nansum (ops of their own: torch's backward formulas, so that values at
0 / 0 and the second derivatives there are torch's, NaN where torch's are NaN), and deg2rad,
rad2deg, nanmean, signbit (compositions, or no gradient): drawn values, zeros of both signs,
infinities and NaNs, numbers for operands where torch takes them, the integer dtypes, the
overflow that a composition would meet, the in-place forms, and torch's refusals.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.errors import ShapeError
from minigrad.testing import assert_matches_torch, gradcheck
from minigrad.testing import strategies as mst

SIDE = st.integers(1, 4)


def _weighted(pieces, cat):
    """Several outputs as one tensor for assert_matches_torch: each piece flattened and scaled by
    its place (1, 2, 3...), so that a piece moved, dropped or swapped changes the values and
    the gradients."""
    return cat([p.reshape(-1) * (i + 1) for i, p in enumerate(pieces)])


def _both(ours, theirs, *arrays, name):
    """Forward, gradients and second derivatives against torch. (Not the second derivatives
    where an input is empty: torch's gradient of an empty input has no graph, minigrad's
    may: the values, none, agree.)"""
    assert_matches_torch(ours, theirs, *arrays, name=name)
    if all(np.asarray(a).size for a in arrays):
        assert_matches_torch(ours, theirs, *arrays, order=2, name=name)


def _several_against_torch(ours, theirs, *arrays, name):
    """_both for functions that give several tensors (weighted and joined into one)."""
    _both(
        lambda *ts: _weighted(ours(*ts), mg.cat),
        lambda *ts: _weighted(theirs(*ts), torch.cat),
        *arrays,
        name=name,
    )


def _same_shapes(ours, theirs, *arrays):
    """The pieces' shapes (the flattened, weighted check above cannot see them)."""
    mine = ours(*[mg.tensor(a) for a in arrays])
    expected = theirs(*[torch.tensor(a) for a in arrays])
    assert [tuple(p.shape) for p in mine] == [tuple(p.shape) for p in expected]


# ---- broadcast_to, expand_as ---------------------------------------------------------------------


@st.composite
def broadcast_cases(draw):
    shape = draw(mst.shapes(max_rank=3))
    return draw(mst.float_arrays(shape)), draw(mst.expand_targets(shape))


@given(case=broadcast_cases())
@example(case=(np.array(2.0), (3, 2)))
@example(case=(np.ones((3, 1)), (2, -1, 4)))
def test_broadcast_to_matches_torch(case):
    x, size = case
    for ours, theirs in [
        (lambda t: mg.broadcast_to(t, size), lambda t: torch.broadcast_to(t, size)),
        (lambda t: t.broadcast_to(size), lambda t: t.broadcast_to(size)),
    ]:
        _both(ours, theirs, x, name=f"broadcast_to({size})")


@given(case=broadcast_cases())
def test_expand_as_matches_torch(case):
    x, size = case
    target = torch.empty(torch.empty(x.shape).expand(size).shape)
    _both(
        lambda t: t.expand_as(mg.Tensor(target)),
        lambda t: t.expand_as(target),
        x,
        name=f"expand_as{tuple(target.shape)}",
    )


@pytest.mark.parametrize("size", [(3,), (2,), (2, -1, 3), (3, 2)], ids=str)
def test_broadcast_to_refuses_what_torch_refuses_and_says_why(size):
    with pytest.raises(RuntimeError):
        torch.ones(2, 2).broadcast_to(size)
    with pytest.raises(ShapeError, match=r"broadcast_to\(.*shape \(2, 2\) cannot.*from the right"):
        mg.broadcast_to(mg.ones(2, 2), size)


def test_broadcast_to_takes_sizes_as_torchs_method_does():
    x = mg.arange(3.0)
    assert x.broadcast_to(2, 3).shape == torch.arange(3.0).broadcast_to(2, 3).shape


# ---- atleast_1d, atleast_2d, atleast_3d ----------------------------------------------------------

AT_LEAST = {
    "atleast_1d": (mg.atleast_1d, torch.atleast_1d),
    "atleast_2d": (mg.atleast_2d, torch.atleast_2d),
    "atleast_3d": (mg.atleast_3d, torch.atleast_3d),
}


@pytest.mark.parametrize("name", AT_LEAST)
@given(x=mst.float_arrays(mst.shapes(max_rank=4)), y=mst.float_arrays(mst.shapes(max_rank=2)))
@example(x=np.array(1.5), y=np.array([1.0, 2.0]))
@example(x=np.ones((2, 3)), y=np.ones((0,)))
def test_atleast_nd_matches_torch(name, x, y):
    ours, theirs = AT_LEAST[name]
    _both(ours, theirs, x, name=name)
    # several tensors, as arguments or as a list: a tuple back
    for pack in [lambda f, a, b: f(a, b), lambda f, a, b: f([a, b]), lambda f, a, b: f((a,))]:
        mine, torchs = lambda a, b, p=pack: p(ours, a, b), lambda a, b, p=pack: p(theirs, a, b)
        _same_shapes(mine, torchs, x, y)
        _several_against_torch(mine, torchs, x, y, name=f"{name} of several")


@pytest.mark.parametrize("name", AT_LEAST)
def test_atleast_nd_gives_the_tensor_itself_when_it_has_the_dims_as_torch(name):
    ours, theirs = AT_LEAST[name]
    x, t = mg.ones(2, 2, 2), torch.ones(2, 2, 2)
    assert ours(x) is x and theirs(t) is t
    assert ours() == theirs() == ()


# ---- hstack, vstack, dstack, column_stack --------------------------------------------------------


@st.composite
def hstack_shapes(draw):
    """Vectors and numbers (joined along dim 0), or tensors of 2 dims or more equal but in dim 1."""
    count = draw(st.integers(1, 3))
    if draw(st.booleans()):
        return [draw(st.sampled_from([(), (draw(SIDE),)])) for _ in range(count)]
    base = draw(mst.shapes(2, 3, max_side=3))
    return [(base[0], draw(SIDE), *base[2:]) for _ in range(count)]


@st.composite
def vstack_shapes(draw):
    """Rows: (n,) and (k, n) mixed (and () when n is 1), or tensors of 3 dims equal but in dim 0."""
    count = draw(st.integers(1, 3))
    if draw(st.booleans()):
        n = draw(SIDE)
        kinds = [(n,), (draw(SIDE), n)] + ([()] if n == 1 else [])
        return [draw(st.sampled_from(kinds)) for _ in range(count)]
    base = draw(mst.shapes(3, 3, max_side=3))
    return [(draw(SIDE), *base[1:]) for _ in range(count)]


@st.composite
def dstack_shapes(draw):
    """(m, n) and (m, n, k) mixed (and (n,) when m is 1, () when both are), or rank-4 tensors
    equal but in dim 2."""
    count = draw(st.integers(1, 3))
    if draw(st.booleans()):
        m, n = draw(SIDE), draw(SIDE)
        kinds = [(m, n), (m, n, draw(SIDE))] + ([(n,)] if m == 1 else [])
        kinds += [()] if m == n == 1 else []
        return [draw(st.sampled_from(kinds)) for _ in range(count)]
    base = draw(mst.shapes(4, 4, max_side=3))
    return [(base[0], base[1], draw(SIDE), base[3]) for _ in range(count)]


@st.composite
def column_stack_shapes(draw):
    """Columns (n,) and blocks (n, k) mixed (and () when n is 1), or rank-3 tensors equal but in
    dim 1."""
    count = draw(st.integers(1, 3))
    n = draw(SIDE)
    if draw(st.booleans()):
        kinds = [(n,), (n, draw(SIDE))] + ([()] if n == 1 else [])
        return [draw(st.sampled_from(kinds)) for _ in range(count)]
    last = draw(SIDE)
    return [(n, draw(SIDE), last) for _ in range(count)]


STACKS = {
    "hstack": (mg.hstack, torch.hstack, hstack_shapes()),
    "vstack": (mg.vstack, torch.vstack, vstack_shapes()),
    "dstack": (mg.dstack, torch.dstack, dstack_shapes()),
    "column_stack": (mg.column_stack, torch.column_stack, column_stack_shapes()),
}


@pytest.mark.parametrize("name", STACKS)
@given(data=st.data())
def test_numpy_style_stacks_match_torch(name, data):
    ours, theirs, shapes = STACKS[name]
    arrays = [data.draw(mst.float_arrays(s)) for s in data.draw(shapes)]
    _both(lambda *ts: ours(list(ts)), lambda *ts: theirs(list(ts)), *arrays, name=name)
    _both(lambda *ts: ours(tuple(ts)), lambda *ts: theirs(tuple(ts)), *arrays, name=name)


@pytest.mark.parametrize("name", STACKS)
def test_numpy_style_stacks_promote_dtypes_as_torch(name):
    ours, theirs, _ = STACKS[name]
    a, b = torch.ones(2, 2), torch.arange(4).reshape(2, 2)
    got, expected = ours([mg.tensor(a), mg.tensor(b)]), theirs([a, b])
    assert got.dtype == expected.dtype and torch.equal(got._data, expected)


@pytest.mark.parametrize("name", STACKS)
def test_numpy_style_stacks_refuse_what_torch_refuses_and_say_why(name):
    ours, theirs, _ = STACKS[name]
    with pytest.raises(RuntimeError):
        theirs([])
    with pytest.raises(RuntimeError, match=rf"{name} needs at least one tensor"):
        ours([])
    with pytest.raises(TypeError):
        theirs(torch.ones(2))
    with pytest.raises(TypeError, match=rf"{name} takes a list or tuple.*\[a, b\]"):
        ours(mg.ones(2))
    mismatched = [(2, 2), (3, 3)] if name != "hstack" else [(2,), (3, 3)]
    with pytest.raises(RuntimeError):
        theirs([torch.ones(s) for s in mismatched])
    with pytest.raises(ShapeError, match=rf"{name} joins tensors along dim \d.*\(3, 3"):
        ours([mg.ones(s) for s in mismatched])


# ---- tensor_split, hsplit, vsplit, dsplit --------------------------------------------------------


@st.composite
def split_cases(draw):
    """(x, indices_or_sections, dim): sections 1 to 6 (more than the dim's size too), or up to
    4 indices anywhere from before the start (negative) to past the end, in any order."""
    shape = draw(mst.shapes(1, 3))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    sections = st.integers(1, 6)
    indices = st.lists(st.integers(-n - 1, n + 2), max_size=4)
    return draw(mst.float_arrays(shape)), draw(sections | indices), dim


@given(case=split_cases())
@example(case=(np.arange(5.0), [3, 1], 0))  # out of order: an empty piece, then x[1:]
@example(case=(np.arange(5.0), [7, -1], 0))  # past the end, then from the end
@example(case=(np.arange(5.0), 3, 0))  # 5 in 3: (2, 2, 1)
@example(case=(np.ones((2, 7)), 4, -1))
def test_tensor_split_matches_torch(case):
    x, cut, dim = case
    for ours, theirs in [
        (lambda t: t.tensor_split(cut, dim), lambda t: t.tensor_split(cut, dim)),
        (lambda t: mg.tensor_split(t, cut, dim=dim), lambda t: torch.tensor_split(t, cut, dim=dim)),
    ]:
        _same_shapes(ours, theirs, x)
        _several_against_torch(ours, theirs, x, name=f"tensor_split({cut}, dim={dim})")


@pytest.mark.parametrize("cut", [2, [1, 3], (0,)], ids=str)
def test_tensor_split_takes_a_tensor_of_indices_or_sections_as_torch(cut):
    x = torch.arange(8.0).reshape(4, 2)
    given_as = torch.tensor(cut)
    expected = x.tensor_split(given_as)
    for as_tensor in (mg.tensor(given_as), given_as):
        got = mg.tensor(x).tensor_split(as_tensor)
        assert [p.tolist() for p in got] == [p.tolist() for p in expected]


NUMPY_SPLITS = {
    "hsplit": (lambda t, c: t.hsplit(c), lambda t, c: t.hsplit(c), 1),
    "vsplit": (lambda t, c: mg.vsplit(t, c), lambda t, c: torch.vsplit(t, c), 2),
    "dsplit": (lambda t, c: t.dsplit(c), lambda t, c: t.dsplit(c), 3),
}


@pytest.mark.parametrize("name", NUMPY_SPLITS)
@given(data=st.data())
def test_hsplit_vsplit_dsplit_match_torch(name, data):
    ours, theirs, min_rank = NUMPY_SPLITS[name]
    shape = data.draw(mst.shapes(min_rank, 4))
    dim = {"hsplit": 0 if len(shape) == 1 else 1, "vsplit": 0, "dsplit": 2}[name]
    n = shape[dim]
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    cut = data.draw(st.sampled_from(divisors) | st.lists(st.integers(-n, n + 1), max_size=3))
    x = data.draw(mst.float_arrays(shape))
    _same_shapes(lambda t: ours(t, cut), lambda t: theirs(t, cut), x)
    _several_against_torch(lambda t: ours(t, cut), lambda t: theirs(t, cut), x, name=f"{name}")


SPLIT_ERRORS = [  # (call, what torch raises, minigrad's words)
    (lambda m, x: m.tensor_split(x, 0), RuntimeError, r"number of sections must be at least 1"),
    (lambda m, x: m.tensor_split(x[0], 2), RuntimeError, r"0-d.*reshape\(1\)"),
    (lambda m, x: m.tensor_split(x, 2.0), TypeError, r"sections \(an int\) or indices"),
    (lambda m, x: m.tensor_split(x, [1.5]), TypeError, r"sections \(an int\) or indices"),
    (lambda m, x: m.tensor_split(x, m.tensor([1.0])), RuntimeError, r"int64.*float32"),
    (lambda m, x: m.tensor_split(x, m.tensor([[1]])), RuntimeError, r"0-d.*1-d.*\(1, 1\)"),
    (lambda m, x: m.tensor_split(x, 2, dim=1), IndexError, r"[Dd]im"),
    (lambda m, x: m.hsplit(x, 2), RuntimeError, r"hsplit\(2\).*5 elements.*tensor_split"),
    (lambda m, x: m.hsplit(x, 0), RuntimeError, r"hsplit\(0\).*5 elements"),
    (lambda m, x: m.hsplit(x[0], 1), RuntimeError, r"hsplit needs a tensor of at least 1 dim,"),
    (lambda m, x: m.vsplit(x, 1), RuntimeError, r"vsplit needs .* 2 dims.*\(5,\)"),
    (lambda m, x: m.dsplit(x.reshape(1, 5), 1), RuntimeError, r"dsplit needs .* 3 dims"),
    (lambda m, x: m.hsplit(x, m.tensor([1])), TypeError, r"hsplit takes a number of sections"),
]


@pytest.mark.parametrize("call, error, words", SPLIT_ERRORS)
def test_splits_refuse_what_torch_refuses_and_say_why(call, error, words):
    with pytest.raises(error):
        call(torch, torch.arange(5.0))
    with pytest.raises(error, match=words):
        call(mg, mg.arange(5.0))


# ---- rot90 ---------------------------------------------------------------------------------------


@st.composite
def rot90_cases(draw):
    shape = draw(mst.shapes(2, 4))
    rank = len(shape)
    first = draw(st.integers(-rank, rank - 1))
    second = draw(st.integers(-rank, rank - 1).filter(lambda d: (d - first) % rank))
    return draw(mst.float_arrays(shape)), draw(st.integers(-5, 6)), (first, second)


@given(case=rot90_cases())
@example(case=(np.arange(6.0).reshape(2, 3), 1, (0, 1)))
@example(case=(np.arange(6.0).reshape(2, 3), 0, (1, 0)))  # k = 0: a copy
@example(case=(np.arange(6.0).reshape(2, 3), -1, (-1, -2)))
def test_rot90_matches_torch(case):
    x, k, dims = case
    for ours, theirs in [
        (lambda t: t.rot90(k, dims), lambda t: t.rot90(k, dims)),
        (lambda t: mg.rot90(t, k=k, dims=list(dims)), lambda t: torch.rot90(t, k, list(dims))),
    ]:
        _both(ours, theirs, x, name=f"rot90(k={k}, dims={dims})")


def test_rot90_by_default_turns_dims_0_and_1_and_k_0_copies():
    x = mg.arange(6.0).reshape(2, 3)
    assert mg.rot90(x).tolist() == torch.rot90(torch.arange(6.0).reshape(2, 3)).tolist()
    same = x.rot90(4)
    assert same is not x and same.tolist() == x.tolist()
    same[0, 0] = 100.0
    assert x[0, 0].item() == 0.0  # a copy, as torch's


ROT90_ERRORS = [
    (lambda m, x: m.rot90(x, 1, [0]), RuntimeError, r"dims must name two dims.*\(0,\)"),
    (lambda m, x: m.rot90(x, 1, [0, 0]), RuntimeError, r"two different dims.*\(0, 0\)"),
    (lambda m, x: m.rot90(x, 1, [-1, 1]), RuntimeError, r"two different dims.*\(-1, 1\)"),
    (lambda m, x: m.rot90(x, 1, [0, 2]), IndexError, r"[Dd]im"),
    (lambda m, x: m.rot90(x[0]), RuntimeError, r"at least 2 dims.*\(3,\)"),
]


@pytest.mark.parametrize("call, error, words", ROT90_ERRORS)
def test_rot90_refuses_what_torch_refuses_and_says_why(call, error, words):
    with pytest.raises(error):
        call(torch, torch.ones(2, 3))
    with pytest.raises(error, match=words):
        call(mg, mg.ones(2, 3))


# ---- diff ----------------------------------------------------------------------------------------


@st.composite
def diff_cases(draw):
    """(x, n, dim, prepend, append): n from 0 to past the dim's size; prepend and append of
    x's shape but along dim (0 to 2 there), or None."""
    shape = draw(mst.shapes(1, 3))
    dim = draw(st.integers(-len(shape), len(shape) - 1))

    def extra():
        at = dim % len(shape)
        side = draw(st.integers(0, 2))
        return draw(st.none() | mst.float_arrays((*shape[:at], side, *shape[at + 1 :])))

    return draw(mst.float_arrays(shape)), draw(st.integers(0, 6)), dim, extra(), extra()


@given(case=diff_cases())
@example(case=(np.arange(4.0) ** 2, 1, -1, None, None))
@example(case=(np.arange(3.0), 5, 0, None, None))  # more passes than elements: empty
@example(case=(np.arange(3.0), 0, 0, np.array([10.0]), None))  # n = 0: x copied (no prepend)
@example(case=(np.ones((2, 3)), 2, 0, np.zeros((0, 3)), np.zeros((1, 3))))
def test_diff_matches_torch(case):
    x, n, dim, prepend, append = case
    arrays = [a for a in (x, prepend, append) if a is not None]

    def call(diff):
        def run(t, *extras):
            given = iter(extras)
            before = next(given) if prepend is not None else None
            after = next(given) if append is not None else None
            return diff(t, n=n, dim=dim, prepend=before, append=after)

        return run

    _both(call(mg.diff), call(torch.diff), *arrays, name=f"diff(n={n}, dim={dim})")
    _both(call(mg.Tensor.diff), call(torch.Tensor.diff), *arrays, name="x.diff")


def test_diff_of_integers_and_bools_matches_torch():
    for values in (torch.tensor([1, 4, 9, 16]), torch.tensor([True, False, False, True])):
        for n in (1, 2):
            got, expected = mg.tensor(values).diff(n=n), values.diff(n=n)
            assert got.dtype == expected.dtype and torch.equal(got._data, expected)


DIFF_ERRORS = [
    (lambda m, x: m.diff(x, n=-1), RuntimeError, r"n=-1.*0 or more"),
    (lambda m, x: m.diff(x[0]), RuntimeError, r"0-d.*reshape\(1\)"),
    (lambda m, x: m.diff(x, dim=3), IndexError, r"[Dd]im"),
    (lambda m, x: m.diff(x, prepend=x[0]), RuntimeError, r"prepend has shape \(\).*\(3,\)"),
    (lambda m, x: m.diff(x, append=m.ones(2, 2)), RuntimeError, r"append has shape \(2, 2\)"),
    (lambda m, x: m.diff(x, prepend=1.0), TypeError, r"prepend must be a tensor.*full_like"),
]


@pytest.mark.parametrize("call, error, words", DIFF_ERRORS)
def test_diff_refuses_what_torch_refuses_and_says_why(call, error, words):
    with pytest.raises(error):
        call(torch, torch.arange(3.0))
    with pytest.raises((error, ShapeError), match=words):
        call(mg, mg.arange(3.0))


# ---- meshgrid, cartesian_prod --------------------------------------------------------------------


@st.composite
def grid_vectors(draw, allow_0d=True):
    count = draw(st.integers(1, 3))
    kinds = st.sampled_from([(), (1,), (2,), (3,), (4,)] if allow_0d else [(1,), (2,), (4,)])
    return [draw(mst.float_arrays(draw(kinds))) for _ in range(count)]


@given(vectors=grid_vectors(), indexing=st.sampled_from(["ij", "xy"]))
@example(vectors=[np.arange(3.0), np.arange(2.0)], indexing="xy")
@example(vectors=[np.arange(3.0), np.array(5.0), np.arange(2.0)], indexing="xy")
def test_meshgrid_matches_torch(vectors, indexing):
    _same_shapes(
        lambda *ts: mg.meshgrid(*ts, indexing=indexing),
        lambda *ts: torch.meshgrid(*ts, indexing=indexing),
        *vectors,
    )
    _both(
        lambda *ts: mg.stack(mg.meshgrid(list(ts), indexing=indexing)),
        lambda *ts: torch.stack(torch.meshgrid(list(ts), indexing=indexing)),
        *vectors,
        name=f"meshgrid(indexing={indexing!r})",
    )


def test_meshgrid_without_indexing_warns_as_torch_and_uses_ij():
    x, y = torch.arange(3.0), torch.arange(2.0)
    with pytest.warns(UserWarning, match="indexing"):
        expected = torch.meshgrid(x, y)
    with pytest.warns(UserWarning, match=r"indexing='ij'.*'xy'") as caught:
        got = mg.meshgrid(mg.tensor(x), mg.tensor(y))
    assert caught[0].filename == __file__  # at the caller's line
    assert [g.tolist() for g in got] == [g.tolist() for g in expected]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mg.meshgrid(mg.tensor(x), indexing="ij")  # no warning when it is given


@given(vectors=grid_vectors(allow_0d=False))
@example(vectors=[np.arange(3.0), np.arange(2.0)])
@example(vectors=[np.arange(2.0), np.zeros(0)])
def test_cartesian_prod_matches_torch(vectors):
    _both(mg.cartesian_prod, torch.cartesian_prod, *vectors, name="cartesian_prod")


def test_cartesian_prod_of_one_vector_is_the_vector_as_torch():
    x, t = mg.arange(3.0), torch.arange(3.0)
    assert mg.cartesian_prod(x) is x and torch.cartesian_prod(t) is t


GRID_ERRORS = [
    (lambda m, a: m.meshgrid(a.reshape(1, 3), indexing="ij"), r"tensor 0 must be 0-d or 1-d"),
    (lambda m, a: m.meshgrid(a, indexing="rc"), r"'ij'.*'xy'.*got 'rc'"),
    (lambda m, a: m.meshgrid([], indexing="ij"), r"meshgrid needs at least one tensor"),
    (lambda m, a: m.meshgrid(a, m.arange(2), indexing="ij"), r"one dtype.*tensor 1 .*int64"),
    (lambda m, a: m.cartesian_prod(a, a[0]), r"tensor 1 must be a vector.*\(\)"),
    (lambda m, a: m.cartesian_prod(a.reshape(3, 1)), r"tensor 0 must be a vector.*\(3, 1\)"),
    (lambda m, a: m.cartesian_prod(), r"cartesian_prod needs at least one tensor"),
]


@pytest.mark.parametrize("call, words", GRID_ERRORS)
def test_grids_refuse_what_torch_refuses_and_say_why(call, words):
    with pytest.raises(RuntimeError):
        call(torch, torch.arange(3.0))
    with pytest.raises((RuntimeError, ShapeError), match=words):
        call(mg, mg.arange(3.0))


# ---- part 2: elementwise maths -------------------------------------------------------------------
# atan2 (arctan2), hypot, logaddexp, logaddexp2, xlogy, copysign, heaviside (ops/arithmetic.py),
# sinc, nan_to_num (ops/unary.py) and nansum (ops/reductions.py) are ops of their own: each
# backward is torch's formula, so where the function or its slope has no limit (0 / 0) the
# values are torch's, NaN or the number torch picks. deg2rad, rad2deg and nanmean are
# compositions; heaviside and signbit have no gradient.

NAN, INF = float("nan"), float("inf")


def zero_or_apart(shape, low=0.1, high=10.0):
    """Values 0 (either sign) or at least `low` in size: the derivatives of atan2, hypot and
    copysign grow as 1 / size, and at 1e-300 the squares underflow (in both, but then the two
    round differently)."""
    elements = st.sampled_from([0.0, -0.0]) | st.floats(low, high) | st.floats(-high, -low)
    return mst.hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def pairs(draw, elements=zero_or_apart, rank=4):
    shape_a, shape_b = draw(mst.broadcastable_shapes(2, max_rank=rank))
    return draw(elements(shape_a)), draw(elements(shape_b))


def _any_floats(low, high):
    return lambda shape: mst.float_arrays(shape, low, high)


BINARY = {  # name: (minigrad's, torch's, what to draw)
    "atan2": (mg.atan2, torch.atan2, pairs()),
    "x.atan2": (mg.Tensor.atan2, torch.Tensor.atan2, pairs()),
    "arctan2": (mg.arctan2, torch.arctan2, pairs()),
    "x.arctan2": (mg.Tensor.arctan2, torch.Tensor.arctan2, pairs()),
    "hypot": (mg.hypot, torch.hypot, pairs()),
    "x.hypot": (mg.Tensor.hypot, torch.Tensor.hypot, pairs()),
    "logaddexp": (mg.logaddexp, torch.logaddexp, pairs(_any_floats(-40, 40))),
    "x.logaddexp": (mg.Tensor.logaddexp, torch.Tensor.logaddexp, pairs(_any_floats(-40, 40))),
    "logaddexp2": (mg.logaddexp2, torch.logaddexp2, pairs(_any_floats(-40, 40))),
    "x.logaddexp2": (mg.Tensor.logaddexp2, torch.Tensor.logaddexp2, pairs(_any_floats(-40, 40))),
    "xlogy": (mg.xlogy, torch.xlogy, pairs()),
    "x.xlogy": (mg.Tensor.xlogy, torch.Tensor.xlogy, pairs()),
    "copysign": (mg.copysign, torch.copysign, pairs()),
    "x.copysign": (mg.Tensor.copysign, torch.Tensor.copysign, pairs()),
}

EDGES = (  # zeros of both signs against each other and against numbers, inf and NaN
    np.array([0.0, 0.0, -0.0, 0.0, 0.0, 0.0, 1.0, -2.0, INF, -INF, NAN, 3.0]),
    np.array([0.0, -0.0, 0.0, 2.0, INF, NAN, 0.0, -0.0, 1.0, INF, 1.0, -INF]),
)


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_maths_match_torch(name, data):
    ours, theirs, drawn = BINARY[name]
    a, b = data.draw(drawn)
    _both(ours, theirs, a, b, name=name)


@pytest.mark.parametrize("name", BINARY)
def test_binary_maths_match_torch_at_zeros_infinities_and_nans(name):
    """At (0, 0) atan2's and hypot's derivatives are 0 / 0; xlogy is 0 at x = 0 but for y NaN,
    and its derivatives there are torch's (ln y, 0 at y <= 0; x / y); copysign's slope at 0 is
    0: each as torch's, first and second order, NaNs where torch has NaNs."""
    ours, theirs, _ = BINARY[name]
    _both(ours, theirs, *EDGES, name=name)


GRADCHECKED = {  # name: (function, the second operand's values: off 0, where xlogy's ln jumps)
    "atan2": (mg.atan2, (-5.0, 5.0)),
    "hypot": (mg.hypot, (-5.0, 5.0)),
    "logaddexp": (mg.logaddexp, (-5.0, 5.0)),
    "logaddexp2": (mg.logaddexp2, (-5.0, 5.0)),
    "xlogy": (mg.xlogy, (0.5, 5.0)),
    "copysign": (mg.copysign, (-5.0, 5.0)),
}


@pytest.mark.parametrize("name", GRADCHECKED)
@given(data=st.data())
def test_binary_maths_pass_gradcheck(name, data):
    """Finite differences, no torch: values distinct and half a grid step from 0, so away from
    (0, 0) (atan2, hypot), from copysign's jump at a = 0 and its sign flip at b = 0."""
    function, (low, high) = GRADCHECKED[name]
    shape = data.draw(mst.small_shapes(max_rank=2))
    a = data.draw(mst.distinct_arrays(shape))
    b = data.draw(mst.distinct_arrays(shape, low, high))
    gradcheck(function, a, b, name=name)


@given(x=mst.distinct_arrays(mst.small_shapes(max_rank=2), -3, 3))
def test_sinc_passes_gradcheck(x):
    gradcheck(mg.sinc, x, name="sinc")


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
def test_logaddexp_does_not_overflow_where_a_composition_would(name):
    ours, theirs, _ = BINARY[name]
    big = np.array([1e308, -1e308, 800.0, -800.0, 1000.0, INF, -INF, 5.0])
    other = np.array([1e308, -1e308, 800.0, -800.0, -1000.0, INF, -INF, INF])
    _both(ours, theirs, big, other, name=name)
    got = ours(mg.tensor(big), mg.tensor(other))
    assert torch.isfinite(got._data[:5]).all()  # exp(800) alone is inf
    naive = (mg.tensor(big).exp() + mg.tensor(other).exp()).log()
    assert not torch.isfinite(naive._data[:5]).all()


def test_hypot_does_not_overflow_or_underflow_where_a_composition_would():
    values = np.array([1e200, 1e-200, 3e300])
    _both(mg.hypot, torch.hypot, values, values, name="hypot")
    assert torch.isfinite(mg.hypot(mg.tensor(values), mg.tensor(values))._data).all()
    assert mg.hypot(mg.tensor(values), mg.tensor(values))._data[1] > 0


@pytest.mark.parametrize("name", ["xlogy", "x.xlogy", "copysign", "x.copysign"])
@given(x=zero_or_apart(mst.shapes()), number=st.sampled_from([0.0, -0.0, 0.5, 2.0, -3.0]))
def test_xlogy_and_copysign_take_a_number_as_torch(name, x, number):
    ours, theirs, _ = BINARY[name]
    _both(lambda t: ours(t, number), lambda t: theirs(t, number), x, name=f"{name}(x, {number})")


@given(y=zero_or_apart(mst.shapes()), number=st.sampled_from([0.0, 0.5, 2.0, -3.0]))
def test_xlogy_takes_a_number_first_as_torch(y, number):
    _both(
        lambda t: mg.xlogy(number, t),
        lambda t: torch.xlogy(number, t),
        y,
        name=f"xlogy({number}, y)",
    )


@pytest.mark.parametrize("name", ["atan2", "hypot", "logaddexp", "logaddexp2", "heaviside"])
def test_functions_torch_takes_only_tensors_refuse_numbers_and_say_how(name):
    with pytest.raises(TypeError):
        getattr(torch, name)(torch.ones(2), 2.0)
    with pytest.raises(TypeError, match=rf"{name}'s (other|values) must be a tensor.*full_like"):
        getattr(mg, name)(mg.ones(2), 2.0)


@pytest.mark.parametrize("name", ["hypot", "logaddexp", "logaddexp2"])
def test_functions_without_integer_kernels_refuse_integers_as_torch(name):
    with pytest.raises(NotImplementedError):
        getattr(torch, name)(torch.arange(3), torch.arange(3))
    with pytest.raises(NotImplementedError, match=r"floating-point.*int64.*\.float\(\)"):
        getattr(mg, name)(mg.arange(3), mg.arange(3))
    mixed = getattr(mg, name)(mg.arange(3), mg.ones(3))  # a float operand: promoted, as torch
    assert torch.equal(mixed._data, getattr(torch, name)(torch.arange(3), torch.ones(3)))


@pytest.mark.parametrize("name", ["atan2", "xlogy", "copysign", "sinc", "deg2rad", "rad2deg"])
def test_integers_give_floats_as_torch(name):
    x = torch.arange(-3, 4)
    args = () if name in ("sinc", "deg2rad", "rad2deg") else (torch.arange(1, 8),)
    got = getattr(mg.tensor(x), name)(*[mg.tensor(a) for a in args])
    expected = getattr(x, name)(*args)
    assert got.dtype == expected.dtype
    assert torch.allclose(got._data, expected, equal_nan=True)


# ---- sinc, deg2rad, rad2deg, nan_to_num ----------------------------------------------------------

UNARY = {
    "sinc": (mg.sinc, torch.sinc),
    "x.sinc": (mg.Tensor.sinc, torch.Tensor.sinc),
    "deg2rad": (mg.deg2rad, torch.deg2rad),
    "x.deg2rad": (mg.Tensor.deg2rad, torch.Tensor.deg2rad),
    "rad2deg": (mg.rad2deg, torch.rad2deg),
    "x.rad2deg": (mg.Tensor.rad2deg, torch.Tensor.rad2deg),
}


@pytest.mark.parametrize("name", UNARY)
@given(x=zero_or_apart(mst.shapes(), 0.01, 10))
@example(x=np.array([0.0, -0.0, 1.0, -2.0, 0.5, 1e-200]))  # sinc at 0: 1, slope 0 (2nd: NaN)
@example(x=np.array([INF, -INF, NAN]))
def test_unary_maths_match_torch(name, x):
    ours, theirs = UNARY[name]
    _both(ours, theirs, x, name=name)


@st.composite
def with_nans_and_infinities(draw, shape=None):
    shape = draw(mst.shapes() if shape is None else st.just(shape))
    elements = st.sampled_from([NAN, INF, -INF]) | st.floats(-10, 10)
    return draw(mst.hnp.arrays(np.float64, shape, elements=elements))


@given(
    x=with_nans_and_infinities(),
    options=st.fixed_dictionaries(
        {},
        optional={
            "nan": st.floats(-5, 5),
            "posinf": st.floats(-5, 5) | st.none(),
            "neginf": st.floats(-5, 5) | st.none(),
        },
    ),
)
@example(x=np.array([NAN, INF, -INF, 1.5]), options={})
def test_nan_to_num_matches_torch(x, options):
    _both(
        lambda t: mg.nan_to_num(t, **options),
        lambda t: torch.nan_to_num(t, **options),
        x,
        name=f"nan_to_num({options})",
    )
    _both(
        lambda t: t.nan_to_num(**options),
        lambda t: t.nan_to_num(**options),
        x,
        name="x.nan_to_num",
    )


def test_nan_to_num_keeps_the_dtype_and_its_largest_numbers_as_torch():
    for dtype in (torch.float32, torch.float16, torch.int64):
        x = torch.tensor([NAN, INF, -INF, 2.0]).to(dtype) if dtype.is_floating_point else None
        x = torch.arange(3) if x is None else x
        got, expected = mg.tensor(x).nan_to_num(), x.nan_to_num()
        assert got.dtype == expected.dtype and torch.equal(got._data, expected)


def test_nan_to_num_passes_an_inf_arriving_at_a_replaced_place_as_nan_as_torch():
    # torch's gradient is a product with isfinite(x): inf * 0 is NaN there
    x = np.array([NAN, INF, 1.0])
    _both(mg.nan_to_num, torch.nan_to_num, x, name="nan_to_num")
    assert_matches_torch(mg.nan_to_num, torch.nan_to_num, x, upstream=np.array([INF, 1.0, INF]))


# ---- copysign, heaviside, signbit ----------------------------------------------------------------


def test_copysign_gives_the_sign_a_gradient_of_zeros_as_torch():
    a = mg.tensor([1.0, -2.0, 0.0], requires_grad=True)
    b = mg.tensor([-1.0, 1.0, -0.0], requires_grad=True)
    a.copysign(b).sum().backward()
    assert b.grad is not None and b.grad.tolist() == [0.0, 0.0, 0.0]
    assert a.grad.tolist() == [-1.0, -1.0, 0.0]


@given(
    x=mst.float_arrays(mst.shapes()).map(lambda a: np.where(np.abs(a) < 1, 0.0, a)),
    values=mst.float_arrays(mst.shapes(max_rank=2)),
)
@example(x=np.array([-1.0, 0.0, -0.0, 2.0, NAN]), values=np.array(0.5))
def test_heaviside_matches_torch_and_refuses_backward_as_torch(x, values):
    try:
        expected = torch.heaviside(torch.tensor(x, requires_grad=True), torch.tensor(values))
    except RuntimeError:  # shapes that do not broadcast: refused by both
        with pytest.raises(ShapeError, match="do not broadcast"):
            mg.heaviside(mg.tensor(x), mg.tensor(values))
        return
    got = mg.tensor(x, requires_grad=True).heaviside(mg.tensor(values))
    assert got.dtype == expected.dtype and torch.equal(got._data, expected.detach())
    assert got.requires_grad and expected.requires_grad  # recorded, as torch records it
    with pytest.raises(RuntimeError, match="derivative for aten::heaviside"):
        expected.sum().backward()
    with pytest.raises(mg.GradientError, match=r"heaviside.*no gradient.*detach"):
        got.sum().backward()


def test_heaviside_refuses_values_of_another_dtype_as_torch():
    with pytest.raises(RuntimeError):
        torch.heaviside(torch.ones(2), torch.tensor(0.5, dtype=torch.float64))
    with pytest.raises(RuntimeError, match=r"one dtype.*float32 and.*float64.*values.to"):
        mg.heaviside(mg.ones(2), mg.tensor(0.5, dtype=torch.float64))


def test_signbit_matches_torch_and_has_no_gradient():
    values = torch.tensor([-0.0, 0.0, -1.0, 2.0, NAN, -NAN, INF, -INF], dtype=torch.float64)
    for given_values in (values, torch.arange(-2, 3)):
        got = mg.signbit(mg.tensor(given_values))
        assert torch.equal(got._data, torch.signbit(given_values))
    leaf = mg.tensor(values, requires_grad=True)
    assert not leaf.signbit().requires_grad


# ---- nansum, nanmean -----------------------------------------------------------------------------


@st.composite
def nan_reductions(draw):
    """(x with NaNs, dim, keepdim): a slice of NaNs alone too (nanmean's count is 0 there)."""
    shape = draw(mst.shapes())
    elements = st.just(NAN) | st.floats(-10, 10)
    x = draw(mst.hnp.arrays(np.float64, shape, elements=elements))
    return x, draw(mst.reduction_dims(len(shape))), draw(st.booleans())


@pytest.mark.parametrize("name", ["nansum", "nanmean"])
@given(case=nan_reductions())
@example(case=(np.array([[NAN, NAN], [1.0, NAN]]), 1, False))  # a row of NaNs alone
@example(case=(np.array([NAN, 2.0]), None, True))
def test_nansum_and_nanmean_match_torch(name, case):
    x, dim, keepdim = case
    _both(
        lambda t: getattr(mg, name)(t, dim, keepdim),
        lambda t: getattr(torch, name)(t, dim, keepdim),
        x,
        name=f"{name}(dim={dim}, keepdim={keepdim})",
    )
    # (first order: a float32 input's second derivatives round at float32's precision)
    assert_matches_torch(
        lambda t: getattr(t, name)(dim=dim, keepdim=keepdim, dtype=torch.float64),
        lambda t: getattr(t, name)(dim=dim, keepdim=keepdim, dtype=torch.float64),
        x.astype(np.float32),
        name=f"x.{name}(dtype=float64) of float32",
    )


def test_nansum_of_integers_and_nanmean_of_integers_as_torch():
    x = torch.arange(6).reshape(2, 3)
    assert torch.equal(mg.tensor(x).nansum(1)._data, x.nansum(1))
    with pytest.raises(RuntimeError):
        x.nanmean()
    with pytest.raises(RuntimeError, match=r"nanmean takes a floating-point.*int64.*float\(\)"):
        mg.tensor(x).nanmean()


# ---- in place ------------------------------------------------------------------------------------

IN_PLACE = {
    "atan2_": lambda y, o: y.atan2_(o),
    "arctan2_": lambda y, o: y.arctan2_(o),
    "hypot_": lambda y, o: y.hypot_(o),
    "xlogy_": lambda y, o: y.xlogy_(o),
    "copysign_": lambda y, o: y.copysign_(o),
    "sinc_": lambda y, o: y.sinc_(),
    "deg2rad_": lambda y, o: y.deg2rad_(),
    "rad2deg_": lambda y, o: y.rad2deg_(),
    "nan_to_num_": lambda y, o: y.nan_to_num_(posinf=3.0),
}


@pytest.mark.parametrize("name", IN_PLACE)
@given(pair=pairs(lambda shape: zero_or_apart(shape, 0.5, 5), rank=2))
def test_in_place_forms_match_torch(name, pair):
    x, other = pair
    if np.broadcast_shapes(x.shape, other.shape) != x.shape:
        other = other.reshape(-1)[:1].reshape(())  # in place: the result keeps x's shape
    change = IN_PLACE[name]

    def run(t, o):
        y = t * 1  # (a leaf that requires grad cannot be changed in place)
        assert change(y, o) is y
        return y

    _both(run, run, x, other, name=name)


def test_heaviside_in_place_matches_torch():
    x = torch.tensor([-1.0, 0.0, 2.0])
    mine = mg.tensor(x.clone())
    mine.heaviside_(mg.tensor(0.5))
    assert torch.equal(mine._data, x.heaviside_(torch.tensor(0.5)))
