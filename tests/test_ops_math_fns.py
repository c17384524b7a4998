"""Joining, splitting and elementwise maths against torch autograd (float64, rtol 1e-7, atol 1e-9,
random upstream gradients, first and second derivatives).

Part 1, shapes: broadcast_to, expand_as, hstack, vstack, dstack, column_stack, atleast_1d/2d/3d,
tensor_split, hsplit, vsplit, dsplit, rot90, diff, meshgrid, cartesian_prod. All compositions of
minigrad's shape ops (expand, reshape, cat, slices, flip, transpose, stack), so their gradients
are those ops'; the tests draw shapes, dims, sections and indices (past the end, negative, out of
order), and check each piece's shape, the values and both derivatives, and torch's errors.
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
from minigrad.testing import assert_matches_torch
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


# ---- broadcast_to, expand_as --------------------------------------------------------------------


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


def test_broadcast_to_takes_sizes_as_torchs_method_does():
    x = mg.arange(3.0)
    assert x.broadcast_to(2, 3).shape == torch.arange(3.0).broadcast_to(2, 3).shape


# ---- atleast_1d, atleast_2d, atleast_3d ---------------------------------------------------------

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


# ---- tensor_split, hsplit, vsplit, dsplit ------------------------------------------------------


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


# ---- rot90 -----------------------------------------------------------------------------------


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


# ---- diff --------------------------------------------------------------------------------------


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
