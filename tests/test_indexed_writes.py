"""Writes at indices, against torch autograd (float64, rtol 1e-7): scatter, scatter_add,
index_add, index_copy, index_fill, index_put, masked_scatter, take_along_dim and index_select,
as methods and as functions; their in-place forms, written into a tensor of the graph; second
derivatives (create_graph=True) through each op's backward and its adjoint's; and the indices
torch refuses, refused with torch's exception types.

Hypothesis draws x (rank 1 to 3), a dim (negative too), the indices and the upstream gradient.
Indices repeat where torch defines the result (index_add, scatter_add, index_fill, the
gathers); scatter and index_copy get one write per place, since torch leaves the result of a
repeated write unsaid.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.testing import assert_matches_torch
from minigrad.testing import strategies as mst


def times_itself(fn):
    """fn(*ts) * fn(*ts). Each op here is linear in its float inputs, so its second derivative
    would be 0; squared, the second derivative runs both the op's backward and the backward of
    that backward (the adjoint op), each on minigrad Tensors."""
    return lambda *ts: fn(*ts) * fn(*ts)


def resized(shape: tuple[int, ...], dim: int, side: int) -> tuple[int, ...]:
    sides = list(shape)
    sides[dim] = side
    return tuple(sides)


def corner(index) -> tuple[slice, ...]:
    """The part of src that a scatter with this index reads: index's extent from 0 on."""
    return tuple(slice(0, n) for n in index.shape)


@st.composite
def x_and_dim(draw: st.DrawFn) -> tuple[np.ndarray, int]:
    x = draw(mst.float_arrays(mst.shapes(min_rank=1, max_rank=3)), label="x")
    return x, draw(st.integers(-x.ndim, x.ndim - 1), label="dim")


# ---- index_select, index_add, index_copy, index_fill: slices along dim at a vector of indices --


@st.composite
def slice_cases(draw: st.DrawFn, unique: bool = False, negatives: bool = False):
    """(x, dim, index): index a vector of positions along dim, of any length (0 too), repeats
    allowed unless `unique`; negative positions (from the end) where `negatives`."""
    x, dim = draw(x_and_dim())
    side = x.shape[dim]
    if unique:
        order = draw(st.permutations(range(side)), label="order")
        index = np.array(order[: draw(st.integers(0, side))], dtype=np.int64)
    else:
        low = -side if negatives else 0
        length = draw(st.integers(0, 5), label="length")
        index = draw(hnp.arrays(np.int64, (length,), elements=st.integers(low, side - 1)))
    return x, dim, index


def upstream_for(draw: st.DrawFn, shape: tuple[int, ...]) -> np.ndarray:
    return draw(mst.float_arrays(shape), label="upstream")


@given(case=slice_cases(), data=st.data())
@example(case=(np.arange(12.0).reshape(4, 3), -2, np.array([3, 0, 3])), data=None)
def test_index_select_matches_torch(case, data):
    x, dim, index = case
    shape = resized(x.shape, dim, len(index))
    upstream = upstream_for(data.draw, shape) if data is not None else None
    select = lambda t, i: t.index_select(dim, i)  # noqa: E731
    assert_matches_torch(select, select, x, index, upstream=upstream, name="index_select")
    assert_matches_torch(
        lambda t, i: mg.index_select(t, dim, i),
        lambda t, i: torch.index_select(t, dim, i),
        x,
        index,
        upstream=upstream,
    )
    twice = times_itself(select)
    assert_matches_torch(twice, twice, x, index, upstream=upstream, order=2, name="index_select")


@st.composite
def index_add_cases(draw: st.DrawFn):
    x, dim, index = draw(slice_cases())
    source = draw(mst.float_arrays(resized(x.shape, dim, len(index))), label="source")
    alpha = draw(st.sampled_from([1, 2.5, -0.5]), label="alpha")
    return x, dim, index, source, alpha, upstream_for(draw, x.shape)


@given(case=index_add_cases())
def test_index_add_matches_torch(case):
    x, dim, index, source, alpha, upstream = case
    add = lambda t, i, s: t.index_add(dim, i, s, alpha=alpha)  # noqa: E731
    assert_matches_torch(add, add, x, index, source, upstream=upstream, name=f"index_add({dim})")
    assert_matches_torch(
        lambda t, i, s: mg.index_add(t, dim, i, s, alpha=alpha),
        lambda t, i, s: torch.index_add(t, dim, i, s, alpha=alpha),
        x,
        index,
        source,
        upstream=upstream,
    )


@given(case=index_add_cases())
@example(case=(np.ones(3), 0, np.array([2, 2]), np.array([1.0, -2.0]), 2.5, np.ones(3)))
def test_index_add_differentiated_twice_matches_torch(case):
    """IndexAdd's backward picks (IndexSelect), whose backward adds again (IndexAdd)."""
    x, dim, index, source, alpha, upstream = case
    twice = times_itself(lambda t, i, s: t.index_add(dim, i, s, alpha=alpha))
    assert_matches_torch(twice, twice, x, index, source, upstream=upstream, order=2)


@st.composite
def index_copy_cases(draw: st.DrawFn):
    x, dim, index = draw(slice_cases(unique=True))
    source = draw(mst.float_arrays(resized(x.shape, dim, len(index))), label="source")
    return x, dim, index, source, upstream_for(draw, x.shape)


@given(case=index_copy_cases())
def test_index_copy_matches_torch(case):
    x, dim, index, source, upstream = case
    copy = lambda t, i, s: t.index_copy(dim, i, s)  # noqa: E731
    assert_matches_torch(copy, copy, x, index, source, upstream=upstream, name=f"index_copy({dim})")
    assert_matches_torch(
        lambda t, i, s: mg.index_copy(t, dim, i, s),
        lambda t, i, s: torch.index_copy(t, dim, i, s),
        x,
        index,
        source,
        upstream=upstream,
    )
    twice = times_itself(copy)
    assert_matches_torch(twice, twice, x, index, source, upstream=upstream, order=2)


@given(case=slice_cases(negatives=True), value=st.floats(-5, 5), data=st.data())
def test_index_fill_with_a_number_matches_torch(case, value, data):
    """A number: x's filled slices get no gradient. Negative indices count from the end."""
    x, dim, index = case
    upstream = upstream_for(data.draw, x.shape)
    fill = lambda t, i: t.index_fill(dim, i, value)  # noqa: E731
    assert_matches_torch(fill, fill, x, index, upstream=upstream, name=f"index_fill({dim})")
    assert_matches_torch(
        lambda t, i: mg.index_fill(t, dim, i, value),
        lambda t, i: torch.index_fill(t, dim, i, value),
        x,
        index,
        upstream=upstream,
    )


@given(case=slice_cases(), value=st.floats(-5, 5), data=st.data())
@example(
    case=(np.arange(12.0).reshape(4, 3), 0, np.array([1, 3, 1, 1])), value=2.0, data=None
)  # a slice named three times: its gradients count once
def test_index_fill_with_a_0d_tensor_matches_torch(case, value, data):
    """A 0-d tensor value gets the sum of G over the filled slices, each slice once."""
    x, dim, index = case
    upstream = upstream_for(data.draw, x.shape) if data is not None else None
    fill = lambda t, i, v: t.index_fill(dim, i, v)  # noqa: E731
    value = np.array(value)
    assert_matches_torch(fill, fill, x, index, value, upstream=upstream, name="index_fill")
    twice = times_itself(fill)
    assert_matches_torch(twice, twice, x, index, value, upstream=upstream, order=2)


def test_index_fill_counts_a_slice_named_from_both_ends_once():
    """-1 and size - 1 name one slice: the value's gradient counts it once (torch's own
    backward refuses a negative index there; its forward takes it from the end)."""
    x = np.arange(12.0).reshape(4, 3)
    both_ends, once = np.array([-1, 3, 0]), np.array([3, 0])
    assert_matches_torch(
        lambda t, i, v: t.index_fill(0, i, v),
        lambda t, i, v: t.index_fill(0, torch.as_tensor(once), v),
        x,
        both_ends,
        np.array(2.0),
    )


def test_index_fill_takes_a_value_of_another_dtype_as_torch():
    x = mg.zeros(2, 3, dtype=mg.float64, requires_grad=True)
    value = mg.tensor(2.0, requires_grad=True)  # float32
    out = x.index_fill(1, mg.tensor([0, 2]), value)
    out.backward(mg.ones(2, 3, dtype=mg.float64))
    assert out.dtype == mg.float64 and value.grad.dtype == mg.float32
    assert value.grad.item() == 4.0


def test_index_fill_refuses_a_value_with_dims_as_torch():
    x = mg.zeros(2, 3)
    with pytest.raises(RuntimeError):
        x._data.index_fill(0, torch.tensor([0]), torch.ones(1))
    with pytest.raises(RuntimeError, match=re.escape("a number or a 0-d tensor")):
        x.index_fill(0, mg.tensor([0]), mg.ones(1))


# ---- scatter, scatter_add: elements along dim at an index of x's rank ---------------------------


@st.composite
def scatter_cases(draw: st.DrawFn, unique: bool = False):
    """(x, dim, index, src, upstream): index of x's rank, its sides no larger than x's except
    along dim, values in [0, x.shape[dim]). `unique`: each line along dim names each place at
    most once (a shuffled prefix of range(side)). src no smaller than index, sometimes larger
    (its extra values are never read)."""
    x, dim = draw(x_and_dim())
    d = dim % x.ndim
    side = x.shape[d]
    sides = [draw(st.integers(1, n)) for n in x.shape]
    if unique:
        sides[d] = draw(st.integers(1, side))
        keys = draw(mst.distinct_arrays(resized(tuple(sides), d, side)), label="keys")
        index = np.take(np.argsort(keys, axis=d), range(sides[d]), axis=d).astype(np.int64)
    else:
        sides[d] = draw(st.integers(1, 4))
        index = draw(hnp.arrays(np.int64, tuple(sides), elements=st.integers(0, side - 1)))
    src_shape = tuple(n + draw(st.integers(0, 1)) for n in sides)
    src = draw(mst.float_arrays(src_shape), label="src")
    return x, dim, index, src, upstream_for(draw, x.shape)


@given(case=scatter_cases(unique=True))
@example(  # src larger than index: its extra values get 0 (torch's backward refuses this)
    case=(np.zeros((2, 3)), 1, np.array([[2], [0]]), np.ones((3, 3)), np.arange(6.0).reshape(2, 3))
)
def test_scatter_matches_torch(case):
    x, dim, index, src, upstream = case
    ours = lambda t, i, s: t.scatter(dim, i, s)  # noqa: E731
    theirs = lambda t, i, s: t.scatter(dim, i, s[corner(i)])  # noqa: E731  (see the example)
    assert_matches_torch(ours, theirs, x, index, src, upstream=upstream, name=f"scatter({dim})")
    assert_matches_torch(
        lambda t, i, s: mg.scatter(t, dim, i, s),
        lambda t, i, s: torch.scatter(t, dim, i, s[corner(i)]),
        x,
        index,
        src,
        upstream=upstream,
    )
    assert_matches_torch(
        times_itself(ours), times_itself(theirs), x, index, src, upstream=upstream, order=2
    )


@given(case=scatter_cases(), value=st.floats(-5, 5))
def test_scatter_of_a_number_matches_torch(case, value):
    """A number written at the places named (repeats write the same number)."""
    x, dim, index, _, upstream = case
    for scatter in (
        lambda t, i: t.scatter(dim, i, value),
        lambda t, i: t.scatter(dim, i, value=value),
    ):
        assert_matches_torch(scatter, scatter, x, index, upstream=upstream, name="scatter(value)")
    assert_matches_torch(
        lambda t, i: mg.scatter(t, dim, i, value),
        lambda t, i: torch.scatter(t, dim, i, value),
        x,
        index,
        upstream=upstream,
    )


@given(case=scatter_cases())
@example(  # three values sent to one place add up; the other column's to two
    case=(np.zeros((2, 2)), 0, np.array([[1, 0], [1, 0], [1, 1]]), np.arange(6.0).reshape(3, 2),
          np.array([[1.0, -2.0], [0.5, 3.0]]))
)  # fmt: skip
def test_scatter_add_matches_torch(case):
    x, dim, index, src, upstream = case
    ours = lambda t, i, s: t.scatter_add(dim, i, s)  # noqa: E731
    theirs = lambda t, i, s: t.scatter_add(dim, i, s[corner(i)])  # noqa: E731
    assert_matches_torch(ours, theirs, x, index, src, upstream=upstream, name=f"scatter_add({dim})")
    assert_matches_torch(
        lambda t, i, s: mg.scatter_add(t, dim, i, s),
        lambda t, i, s: torch.scatter_add(t, dim, i, s[corner(i)]),
        x,
        index,
        src,
        upstream=upstream,
    )


@given(case=scatter_cases())
def test_scatter_add_differentiated_twice_matches_torch(case):
    """ScatterAdd's backward gathers (Gather), whose backward scatter-adds again."""
    x, dim, index, src, upstream = case
    ours = times_itself(lambda t, i, s: t.scatter_add(dim, i, s))
    theirs = times_itself(lambda t, i, s: t.scatter_add(dim, i, s[corner(i)]))
    assert_matches_torch(ours, theirs, x, index, src, upstream=upstream, order=2)


def test_scatter_refuses_reduce_and_says_what_to_use():
    x, index, src = mg.zeros(2, 3), mg.tensor([[0, 1, 0]]), mg.ones(1, 3)
    for call in (
        lambda: x.scatter(0, index, src, reduce="add"),
        lambda: x.scatter_(0, index, src, reduce="multiply"),
        lambda: mg.scatter(x, 0, index, 2.0, reduce="add"),
    ):
        with pytest.raises(NotImplementedError, match="scatter_add.*scatter_reduce"):
            call()
    assert torch.equal(x._data, torch.zeros(2, 3))  # scatter_ refused before writing


def test_scatter_wants_src_or_value():
    x, index = mg.zeros(2, 3), mg.tensor([[0, 1, 0]])
    with pytest.raises(TypeError, match="one of the two"):
        x.scatter(0, index)
    with pytest.raises(TypeError, match="one of the two"):
        x.scatter(0, index, mg.ones(1, 3), value=2.0)


# ---- take_along_dim: gather after broadcasting -------------------------------------------------


@st.composite
def take_cases(draw: st.DrawFn):
    """(x, indices, dim, upstream) for x.take_along_dim(indices, dim): with dim, each other dim
    of indices is x's side, or 1, or any side where x's is made 1 (both broadcast), and along
    dim any length, its values in [-side, side) (negative from the end, as torch's). Without
    dim, indices of x's rank pick from the flattened x."""
    x_sides = list(draw(mst.shapes(min_rank=1, max_rank=3), label="x shape"))
    dim = draw(st.none() | st.integers(-len(x_sides), len(x_sides) - 1), label="dim")
    if dim is None:
        shape = draw(mst.shapes(min_rank=len(x_sides), max_rank=len(x_sides), max_side=3))
        values = st.integers(0, int(np.prod(x_sides)) - 1)
    else:
        d, shape = dim % len(x_sides), []
        for k, n in enumerate(x_sides):
            kind = draw(st.sampled_from(["same", "one", "x broadcast"]))
            if k == d:
                shape.append(draw(st.integers(1, 4)))
            elif kind == "same":
                shape.append(n)
            elif kind == "one":
                shape.append(1)
            else:
                x_sides[k] = 1
                shape.append(draw(st.integers(1, 3)))
        values = st.integers(-x_sides[d], x_sides[d] - 1)
    indices = draw(hnp.arrays(np.int64, tuple(shape), elements=values), label="indices")
    x = draw(mst.float_arrays(tuple(x_sides)), label="x")
    out = torch.take_along_dim(torch.zeros(x.shape), torch.from_numpy(indices), dim)
    return x, indices, dim, upstream_for(draw, tuple(out.shape))


@given(case=take_cases())
@example(case=(np.arange(6.0).reshape(2, 3), np.array([[-1], [0]]), 1, np.ones((2, 1))))
def test_take_along_dim_matches_torch(case):
    x, indices, dim, upstream = case
    take = lambda t, i: t.take_along_dim(i, dim)  # noqa: E731
    assert_matches_torch(take, take, x, indices, upstream=upstream, name=f"take_along_dim({dim})")
    assert_matches_torch(
        lambda t, i: mg.take_along_dim(t, i, dim=dim),
        lambda t, i: torch.take_along_dim(t, i, dim=dim),
        x,
        indices,
        upstream=upstream,
    )
    twice = times_itself(take)
    assert_matches_torch(twice, twice, x, indices, upstream=upstream, order=2)


# ---- in-place forms ------------------------------------------------------------------------------


def in_place(method: str, *args, **options):
    """y = x * 1 (a tensor of the graph, not a leaf), y.method(*args) in place, then y: the
    change is recorded (the out-of-place op written into y), in minigrad as in torch."""

    def fn(t, i, *operands):
        y = t * 1
        out = getattr(y, method)(args[0], i, *operands, *args[1:], **options)
        assert out is y
        return y

    return fn


@st.composite
def in_place_cases(draw: st.DrawFn):
    """(method, dim, arrays (x, index, other float operands), upstream): one of the five."""
    method = draw(
        st.sampled_from(["scatter_", "scatter_add_", "index_add_", "index_copy_", "index_fill_"])
    )
    if method.startswith("scatter"):
        x, dim, index, src, upstream = draw(scatter_cases(unique=method == "scatter_"))
        src = src[corner(index)]  # (torch's backward takes no larger src)
        return method, dim, (x, index, src), upstream
    x, dim, index = draw(slice_cases(unique=method == "index_copy_"))
    upstream = upstream_for(draw, x.shape)
    if method == "index_fill_":
        return method, dim, (x, index, np.array(draw(st.floats(-5, 5)))), upstream
    source = draw(mst.float_arrays(resized(x.shape, dim, len(index))), label="source")
    return method, dim, (x, index, source), upstream


@given(case=in_place_cases())
def test_in_place_forms_written_into_a_tensor_of_the_graph_match_torch(case):
    method, dim, arrays, upstream = case
    fn = in_place(method, dim)
    assert_matches_torch(fn, fn, *arrays, upstream=upstream, name=method)


def test_index_add_in_place_with_alpha_and_a_view_matches_torch():
    """alpha reaches the in-place form; a write into a view (a row of y) rebases y."""
    x, source = np.arange(12.0).reshape(4, 3), np.array([[1.0, -2.0], [0.5, 3.0]])

    def fn(t, i, s):
        y = t * 1
        y[1:3].index_add_(1, i, s, alpha=-1.5)
        return y * y

    assert_matches_torch(fn, fn, x, np.array([2, 2]), source, order=2)


@pytest.mark.parametrize(
    "method",
    ["scatter_", "scatter_add_", "index_add_", "index_copy_", "index_fill_", "scatter_(value)"],
)
def test_in_place_forms_with_nothing_recorded_run_torch_s_kernel(method):
    x = torch.arange(6.0).reshape(2, 3)
    arguments = {
        "scatter_": (1, torch.tensor([[2, 0], [1, 2]]), torch.tensor([[5.0, 6.0], [7.0, 8.0]])),
        "scatter_(value)": (1, torch.tensor([[2, 0], [1, 2]]), 9.0),
        "scatter_add_": (0, torch.tensor([[1, 1, 0]]), torch.tensor([[5.0, 6.0, 7.0]])),
        "index_add_": (1, torch.tensor([0, 0]), torch.ones(2, 2)),
        "index_copy_": (1, torch.tensor([2, 0]), torch.ones(2, 2)),
        "index_fill_": (1, torch.tensor([-1]), 4.0),
    }[method]
    name = method.removesuffix("(value)")
    ours = mg.Tensor(x.clone())
    memory = ours._data.data_ptr()
    wrapped = [mg.Tensor(a) if isinstance(a, torch.Tensor) else a for a in arguments]
    assert getattr(ours, name)(*wrapped) is ours
    expected = getattr(x.clone(), name)(*arguments)
    assert torch.equal(ours._data, expected) and ours._data.data_ptr() == memory
    assert ours._ctx is None


def test_in_place_form_of_a_leaf_that_requires_grad_is_refused():
    x = mg.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x.index_add_(0, mg.tensor([0]), mg.ones(1, 3))


# ---- indices torch refuses, with torch's exception types -----------------------------------------


X = torch.arange(12.0).reshape(4, 3)
REFUSED = {
    # name: (torch's call on a torch tensor, words of minigrad's message)
    "index_select(-1)": (lambda x, t: x.index_select(0, t([0, -1])), "index -1 is out of range"),
    "index_select(4)": (lambda x, t: x.index_select(0, t([4])), "index 4 is out of range"),
    "index_add(-1)": (lambda x, t: x.index_add(0, t([-1]), x[:1]), "index -1 is out of range"),
    "index_add(4)": (lambda x, t: x.index_add(1, t([0, 3]), x[:, :2]), "dim 1 has 3 places"),
    "index_copy(-1)": (lambda x, t: x.index_copy(0, t([-1]), x[:1]), "index -1 is out of range"),
    "index_copy(4)": (lambda x, t: x.index_copy(0, t([4]), x[:1]), "index 4 is out of range"),
    "index_fill(-5)": (lambda x, t: x.index_fill(0, t([-5]), 1.0), "allowed: [-4, 3]"),
    "index_fill(4)": (lambda x, t: x.index_fill(0, t([4]), 1.0), "index 4 is out of range"),
    "scatter(-1)": (lambda x, t: x.scatter(0, t([[0, -1, 0]]), x), "index -1 is out of range"),
    "scatter(4)": (lambda x, t: x.scatter(0, t([[4]]), 2.0), "index 4 is out of range"),
    "scatter_add(-1)": (lambda x, t: x.scatter_add(1, t([[-1]]), x), "index -1 is out of range"),
    "gather(-1)": (lambda x, t: x.gather(0, t([[-1]])), "index -1 is out of range"),
    "take_along_dim(None, -1)": (
        lambda x, t: x.take_along_dim(t([[-1]])),
        "index -1 is out of range",
    ),
}
REFUSED_TYPES = {  # what torch raises for each
    "index_select": IndexError,
    "index_add": RuntimeError,
    "index_copy": IndexError,
    "index_fill": IndexError,
    "scatter": RuntimeError,
    "scatter_add": RuntimeError,
    "gather": RuntimeError,
    "take_along_dim": RuntimeError,
}


@pytest.mark.parametrize("case", REFUSED)
def test_an_index_outside_is_refused_with_torch_s_exception_type(case):
    call, words = REFUSED[case]
    error = REFUSED_TYPES[case.split("(")[0]]
    with pytest.raises(error):
        call(X.clone(), lambda v: torch.tensor(v))
    x = mg.Tensor(X.clone(), requires_grad=True)
    with pytest.raises(error, match=re.escape(words)) as caught:
        call(x, mg.tensor)
    assert type(caught.value) is error  # not a subclass: torch's own type


def test_index_select_no_longer_counts_a_negative_index_from_the_end():
    """It used to give x[[0, -1]]: a result where torch raises."""
    with pytest.raises(IndexError, match="not counted from the end"):
        mg.randn(4, 3).index_select(0, mg.tensor([0, -1]))


def test_take_along_dim_refuses_an_index_outside_dim():
    """With dim, torch takes a negative index from the end, as minigrad; an index outside
    [-side, side) minigrad refuses (torch 2.13 wraps it around without a word)."""
    x = mg.arange(12.0).reshape(4, 3)
    for outside in (-5, 4):
        with pytest.raises(RuntimeError, match=re.escape(f"index {outside} is out of range")):
            x.take_along_dim(mg.tensor([[0, outside, 0]]), 0)


def test_take_along_dim_wants_int64_indices_of_x_s_rank_as_torch():
    x = mg.zeros(2, 3)
    for indices in (mg.tensor([0, 1]), mg.tensor([[0]], dtype=mg.int32)):
        with pytest.raises(RuntimeError):
            torch.take_along_dim(x._data, indices._data, 1)
        with pytest.raises(RuntimeError, match="int64 tensor with as many dims as x"):
            x.take_along_dim(indices, 1)


def test_a_scatter_index_that_does_not_fit_says_the_rule():
    x = mg.zeros(2, 3)
    with pytest.raises(mg.ShapeError, match="index must have as many dims as x"):
        x.scatter_add(0, mg.tensor([0, 1]), mg.ones(2))


# ---- index_put: x[indices] = values, or added there with accumulate=True ----------------------


@st.composite
def index_put_cases(draw: st.DrawFn, unique: bool):
    """x (rank 1 to 3), a tuple of 1 to x.ndim index tensors of one shape (repeating places
    unless `unique`), and values of the indexed region's shape or a shape that broadcasts to
    it."""
    x = draw(mst.float_arrays(mst.shapes(min_rank=1, max_rank=3, min_side=1, max_side=4), -3, 3))
    count = draw(st.integers(1, x.ndim))
    places = [tuple(p) for p in np.ndindex(*x.shape[:count])]
    if unique:
        chosen = draw(st.lists(st.sampled_from(places), min_size=1, max_size=5, unique=True))
    else:
        chosen = draw(st.lists(st.sampled_from(places), min_size=1, max_size=6))
    indices = tuple(np.array([p[d] for p in chosen]) for d in range(count))
    region = (len(chosen), *x.shape[count:])
    shape = region if draw(st.booleans()) else region[1:]  # broadcast along the places
    values = draw(mst.float_arrays(shape, -3, 3))
    return x, indices, values


@pytest.mark.parametrize("accumulate", [True, False])
@given(data=st.data())
def test_index_put_matches_torch(accumulate, data):
    x, indices, values = data.draw(index_put_cases(unique=not accumulate))
    count = len(indices)

    def out_of_place(lib):
        return lambda t, v, *i: t.index_put(tuple(i), v, accumulate=accumulate)

    def in_place(lib):
        def run(t, v, *i):
            h = t * 1
            assert h.index_put_(tuple(i), v, accumulate=accumulate) is h
            return h

        return run

    for form in (out_of_place, in_place):
        assert_matches_torch(
            form(mg), form(torch), x, values, *indices, name=f"{form.__name__}, {count} indices"
        )
    if accumulate:  # differentiated twice: the op's backward (an index) and that one's
        assert_matches_torch(
            times_itself(out_of_place(mg)),
            times_itself(out_of_place(torch)),
            x,
            values,
            *indices,
            order=2,
            name="index_put(accumulate=True), twice",
        )


def test_index_put_as_a_function_and_its_node_are_torch_s():
    x, values = torch.zeros(3, dtype=torch.float64), torch.tensor([1.0, 2.0], dtype=torch.float64)
    rows = torch.tensor([0, 0])
    for accumulate in (True, False):
        ours = mg.index_put(mg.tensor(x, requires_grad=True), (mg.tensor(rows),),
                            mg.tensor(values), accumulate)  # fmt: skip
        theirs = torch.index_put(x.clone().requires_grad_(), (rows,), values, accumulate)
        assert ours.grad_fn.name() == theirs.grad_fn.name() == "IndexPutBackward0"
        if accumulate:  # (a repeated write without accumulate: torch leaves which lands unsaid)
            assert torch.equal(ours._data, theirs.detach())


@given(case=index_put_cases(unique=False))
def test_index_put__outside_the_graph_is_torch_s_kernel_on_the_same_memory(case):
    x, indices, values = case
    ours = mg.tensor(x)
    memory = ours._data.data_ptr()
    ours.index_put_(tuple(mg.tensor(i) for i in indices), mg.tensor(values), accumulate=True)
    theirs = torch.tensor(x).index_put_(
        tuple(torch.tensor(i) for i in indices), torch.tensor(values), accumulate=True
    )
    assert ours._data.data_ptr() == memory
    torch.testing.assert_close(ours._data, theirs, rtol=0, atol=0)


# ---- masked_scatter: source's values, in order, where a mask is true ---------------------------


@st.composite
def masked_scatter_cases(draw: st.DrawFn):
    """x, a bool mask whose shape broadcasts to x's, and source with at least as many values as
    the mask (broadcast) has true places, of any shape."""
    x = draw(mst.float_arrays(mst.shapes(min_rank=1, max_rank=3, min_side=1, max_side=4), -3, 3))
    mask_shape = x.shape[draw(st.integers(0, x.ndim)) :]  # (a trailing part: it broadcasts)
    mask = draw(hnp.arrays(np.bool_, mask_shape))
    needed = int(np.broadcast_to(mask, x.shape).sum())
    count = needed + draw(st.integers(0, 3))
    source_shape = draw(
        st.sampled_from([(count,), (1, count)] + ([(count // 2, 2)] if count % 2 == 0 else []))
    )
    return x, mask, draw(mst.float_arrays(source_shape, -3, 3))


@given(case=masked_scatter_cases())
def test_masked_scatter_matches_torch(case):
    x, mask, source = case

    def out_of_place(t, m, s):
        return t.masked_scatter(m, s)

    def in_place(t, m, s):
        h = t * 1
        assert h.masked_scatter_(m, s) is h
        return h

    for form in (out_of_place, in_place):
        assert_matches_torch(form, form, x, mask, source, name=form.__name__)
    assert_matches_torch(
        times_itself(out_of_place), times_itself(out_of_place), x, mask, source, order=2,
        name="masked_scatter, twice",
    )  # fmt: skip


def test_masked_scatter_as_a_function_and_with_too_few_values_as_torch():
    x, mask = torch.zeros(2, 3), torch.tensor([[True, False, True], [False, True, True]])
    source = torch.arange(5.0)
    ours = mg.masked_scatter(mg.tensor(x), mg.tensor(mask), mg.tensor(source))
    assert torch.equal(ours._data, torch.masked_scatter(x, mask, source))
    plain = mg.tensor(x)  # in place outside the graph: torch's kernel, in the same memory
    memory = plain._data.data_ptr()
    plain.masked_scatter_(mg.tensor(mask), mg.tensor(source))
    assert plain._data.data_ptr() == memory
    assert torch.equal(plain._data, x.clone().masked_scatter_(mask, source))
    with pytest.raises(RuntimeError):
        x.masked_scatter(mask, torch.arange(3.0))
    with pytest.raises(RuntimeError):
        mg.tensor(x).masked_scatter(mg.tensor(mask), mg.arange(3.0))
