"""Ops that move values around, against torch autograd (float64, rtol 1e-7, atol 1e-9) and
finite differences: reshape/view, transpose/.T/permute, unsqueeze/squeeze, expand, indexing,
cat/stack, gather, repeat/tile, split/chunk/unbind/narrow/select, flatten; and the copies:
.float()/.double()/.to() and clone.

Each op is also differentiated twice (`order=2`: create_graph=True, then the gradient of
sum(dL/dx * v) for the inputs and the upstream gradient). These ops are linear, so the op is
multiplied by itself (`times_itself`): the second derivative then runs both the op's backward
and its adjoint's (AddAt for indexing, ScatterAdd for gather) in the graph of the first.
"""

from __future__ import annotations

import re
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


def same_on_both(method: str, *args, **kwargs):
    """x.method(*args, **kwargs): the same call works on a minigrad Tensor and a torch tensor."""
    return lambda t: getattr(t, method)(*args, **kwargs)


def times_itself(fn):
    """fn(*ts) * fn(*ts). For a linear fn, the gradient u -> fn's adjoint of u is linear in u
    alone, so a second derivative would only check it for u; squared, the first gradient
    2 adjoint(u * fn(x)) depends on x through fn and on u through the adjoint, and the
    second derivative runs both backwards, the op's and its adjoint's."""
    return lambda *ts: fn(*ts) * fn(*ts)


# ---- reshape, view ----------------------------------------------------------------------------


@st.composite
def arrays_and(draw: st.DrawFn, argument, shapes=None) -> tuple[np.ndarray, object]:
    """An array and an argument drawn for its shape by `argument(shape)`."""
    x = draw(mst.float_arrays(shapes if shapes is not None else mst.shapes()), label="x")
    return x, draw(argument(x.shape), label="argument")


@pytest.mark.parametrize("method", ["reshape", "view"])
@given(case=arrays_and(mst.reshape_targets))
@example(case=(np.array(2.0), (1, 1)))  # 0-d to size-1 dims
@example(case=(np.ones((1, 1)), ()))  # and back
@example(case=(np.ones((2, 3)), (-1,)))
def test_reshape_and_view_match_torch(method, case):
    x, shape = case
    fn = same_on_both(method, shape)
    assert_matches_torch(fn, fn, x, name=f"{method}{shape}")


@pytest.mark.parametrize("method", ["reshape", "view"])
@given(case=arrays_and(mst.reshape_targets))
def test_reshape_and_view_differentiated_twice_match_torch(method, case):
    x, shape = case
    fn = same_on_both(method, shape)
    assert_matches_torch(fn, fn, x, order=2, name=f"{method}{shape}")
    assert_matches_torch(times_itself(fn), times_itself(fn), x, order=2)


@given(x=mst.float_arrays(mst.shapes(min_rank=2)))
def test_contiguous_lays_a_transpose_out_row_after_row_as_torch(x):
    """contiguous() is what makes a transpose viewable: the copy must be laid out row after row
    (a clone keeps the transpose's layout), with torch's strides."""
    fn = lambda t: t.transpose(0, -1).contiguous()  # noqa: E731
    ours, theirs = fn(mg.tensor(x)), fn(torch.from_numpy(x))
    assert ours.is_contiguous() and ours.stride() == theirs.stride()
    assert_matches_torch(fn, fn, x, name="transpose(0, -1).contiguous()")


@given(x=mst.float_arrays(mst.shapes(min_rank=2)), data=st.data())
@example(x=np.ones((2, 3)), data=None)  # (3, 2) strides (1, 3) to (6,): refused
def test_view_of_a_transpose_works_where_torch_s_does_and_says_why_where_it_refuses(x, data):
    """A view never copies, so of a transpose it works only where the new shape reads the
    elements in the order they lie in memory (torch decides it from the strides). Where torch
    refuses, minigrad refuses too, naming the shape, the strides and reshape."""
    flipped = (x.shape[-1], *x.shape[1:-1], x.shape[0])  # the transpose's shape
    shape = data.draw(mst.reshape_targets(flipped), label="shape") if data else (x.size,)
    fn = lambda t: t.transpose(0, -1).view(shape)  # noqa: E731
    try:
        fn(torch.from_numpy(x))
    except RuntimeError:
        with pytest.raises(mg.ShapeError) as error:
            fn(mg.tensor(x))
        strides = torch.from_numpy(x).transpose(0, -1).stride()
        for words in ("cannot view", str(tuple(flipped)), f"strides {strides}", ".reshape("):
            assert words in str(error.value)
    else:
        assert_matches_torch(fn, fn, x, name=f"transpose(0, -1).view{shape}")


@given(x=mst.float_arrays(mst.shapes(min_rank=2)))
def test_reshape_of_a_transpose_matches_torch(x):  # a non-contiguous input
    fn = lambda t: t.transpose(0, -1).reshape(-1)  # noqa: E731
    assert_matches_torch(fn, fn, x, name="transpose(0, -1).reshape(-1)")


# ---- transpose, .T, permute -------------------------------------------------------------------


def two_dims(shape):
    dim = st.integers(-len(shape), len(shape) - 1) if shape else st.sampled_from([0, -1])
    return st.tuples(dim, dim)


@given(case=arrays_and(two_dims))
@example(case=(np.array(1.0), (0, -1)))
@example(case=(np.ones((2, 3, 4)), (0, 0)))
def test_transpose_matches_torch(case):
    x, dims = case
    assert_matches_torch(same_on_both("transpose", *dims), same_on_both("transpose", *dims), x)


@given(case=arrays_and(two_dims))
def test_transpose_and_T_differentiated_twice_match_torch(case):
    x, dims = case
    transpose = times_itself(same_on_both("transpose", *dims))
    assert_matches_torch(transpose, transpose, x, order=2, name=f"transpose{dims}")
    T = times_itself(lambda t: t.T)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "(The use of `x.T`|Tensor.T is deprecated)")
        assert_matches_torch(T, T, x, order=2, name=".T")


@given(x=mst.float_arrays())
@example(x=np.ones((2, 3)))
@example(x=np.ones((2, 3, 4)))
@pytest.mark.filterwarnings("ignore:(The use of `x.T`|Tensor.T is deprecated)")
def test_T_matches_torch(x):
    """A matrix transposed; on other tensors (torch warns that this is deprecated) all the dims
    reversed (tests/test_torch_warnings.py checks the warnings)."""
    assert_matches_torch(lambda t: t.T, lambda t: t.T, x, name=".T")


@given(x=mst.float_arrays(mst.shapes(max_rank=2)))
def test_t_matches_torch(x):
    """x.t(): a matrix transposed, a vector or a number as it is (a view, in both)."""
    t = times_itself(lambda t: t.t())
    assert_matches_torch(t, t, x, order=2, name="t()")
    with pytest.raises(RuntimeError, match="expects a tensor with <= 2 dimensions"):
        mg.ones(2, 2, 2).t()


@given(case=arrays_and(lambda shape: st.permutations(range(len(shape)))))
@example(case=(np.ones((2, 3, 4)), [2, 0, 1]))
def test_permute_matches_torch(case):
    x, dims = case
    assert_matches_torch(
        same_on_both("permute", tuple(dims)), same_on_both("permute", tuple(dims)), x
    )


@given(case=arrays_and(lambda shape: st.permutations(range(len(shape)))))
def test_permute_with_negative_dims_matches_torch(case):
    x, dims = case
    negative = [d - x.ndim for d in dims]
    assert_matches_torch(same_on_both("permute", negative), same_on_both("permute", negative), x)


@given(case=arrays_and(lambda shape: st.permutations(range(len(shape)))))
@example(case=(np.ones((2, 3, 4)), [2, 0, 1]))  # not its own inverse
def test_permute_differentiated_twice_matches_torch(case):
    x, dims = case
    permute = times_itself(same_on_both("permute", tuple(dims)))
    assert_matches_torch(permute, permute, x, order=2, name=f"permute{tuple(dims)}")


# ---- unsqueeze, squeeze, expand ---------------------------------------------------------------


@given(case=arrays_and(lambda shape: st.integers(-len(shape) - 1, len(shape))))
@example(case=(np.array(1.0), 0))
@example(case=(np.ones((2, 3)), -1))
def test_unsqueeze_matches_torch(case):
    x, dim = case
    assert_matches_torch(same_on_both("unsqueeze", dim), same_on_both("unsqueeze", dim), x)


@given(
    case=arrays_and(
        lambda shape: st.none() | st.integers(-max(len(shape), 1), max(len(shape) - 1, 0))
    )
)
@example(case=(np.ones((2, 1, 3, 1)), None))
@example(case=(np.ones((2, 1, 3)), 1))
@example(case=(np.ones((2, 1, 3)), 0))  # not size 1: nothing to squeeze
@example(case=(np.array(1.0), None))
def test_squeeze_matches_torch(case):
    x, dim = case
    fn = same_on_both("squeeze") if dim is None else same_on_both("squeeze", dim)
    assert_matches_torch(fn, fn, x, name=f"squeeze({dim})")


@given(case=arrays_and(lambda shape: st.integers(-len(shape) - 1, len(shape))), data=st.data())
def test_unsqueeze_and_squeeze_differentiated_twice_match_torch(case, data):
    x, dim = case
    unsqueeze = times_itself(same_on_both("unsqueeze", dim))
    assert_matches_torch(unsqueeze, unsqueeze, x, order=2, name=f"unsqueeze({dim})")
    ones = data.draw(st.none() | st.integers(-max(x.ndim, 1), max(x.ndim - 1, 0)), label="dim")
    squeeze = same_on_both("squeeze") if ones is None else same_on_both("squeeze", ones)
    assert_matches_torch(times_itself(squeeze), times_itself(squeeze), x, order=2)


@given(case=arrays_and(mst.expand_targets))
@example(case=(np.array(1.0), (2, 3)))  # 0-d
@example(case=(np.ones((3, 1)), (2, -1, 4)))  # new leading dim, -1, stretched size-1 dim
def test_expand_matches_torch(case):
    x, shape = case
    assert_matches_torch(same_on_both("expand", shape), same_on_both("expand", shape), x)


@given(case=arrays_and(mst.expand_targets))
@example(case=(np.ones((3, 1)), (2, -1, 4)))
def test_expand_differentiated_twice_matches_torch(case):
    """Expand's backward is a sum (to x's shape), whose backward is an expand again."""
    x, shape = case
    expand = same_on_both("expand", shape)
    assert_matches_torch(expand, expand, x, order=2, name=f"expand{shape}")
    assert_matches_torch(times_itself(expand), times_itself(expand), x, order=2)


# ---- indexing ---------------------------------------------------------------------------------


@given(case=arrays_and(mst.index_keys, mst.shapes()))
@example(case=(np.arange(4.0), (np.array([0, 0, 3, 0]),)))  # repeats: gradients add up
@example(case=(np.ones((3, 2)), (slice(None), np.array([[1, 1], [0, 1]]))))
@example(case=(np.ones((3, 2)), np.array([True, False, True])))
@example(case=(np.ones((3, 2)), (Ellipsis, None, 1)))
@example(case=(np.ones((3, 2)), (-1, slice(None, None, 2))))
@example(case=(np.array(2.0), np.array(True)))  # x[x > 0] of a 0-d x: its backward crashed
@example(case=(np.ones((3, 2)), np.array(False)))  # a 0-d mask on a matrix: (0, 3, 2)
def test_indexing_matches_torch(case):
    x, key = case
    key = tuple(torch.from_numpy(k) if isinstance(k, np.ndarray) else k for k in _parts(key))
    assert_matches_torch(lambda t: t[key], lambda t: t[key], x, name=f"x[{key}]")


@given(case=arrays_and(mst.index_keys, mst.shapes()))
@example(case=(np.arange(4.0), (np.array([0, 0, 3, 0]),)))  # repeats: AddAt adds them up
@example(case=(np.ones((3, 2)), (slice(1, None), np.array([[1, 1], [0, 1]]))))  # mixed key
@example(case=(np.ones((3, 2)), np.array([True, False, True])))
@example(case=(np.ones((3, 2)), (Ellipsis, None, 1)))
@example(case=(np.array(2.0), np.array(True)))
def test_indexing_differentiated_twice_matches_torch(case):
    """Index's backward adds the gradient at [key] into zeros (AddAt, repeats adding up), and
    AddAt's backward reads at [key] again: each key kind (basic, tensors, mixed, mask)."""
    x, key = case
    key = tuple(torch.from_numpy(k) if isinstance(k, np.ndarray) else k for k in _parts(key))
    index = lambda t: t[key]  # noqa: E731
    assert_matches_torch(index, index, x, order=2, name=f"x[{key}]")
    assert_matches_torch(times_itself(index), times_itself(index), x, order=2)


def test_repeated_indices_add_up_their_gradients():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[mg.tensor([0, 0, 2, 0])].backward(mg.tensor([1.0, 10.0, 100.0, 1000.0]))
    assert x.grad.tolist() == [1011.0, 0.0, 100.0]


@given(case=arrays_and(mst.index_keys, mst.shapes()))
def test_indexing_with_a_minigrad_tensor_key_matches_torch(case):
    x, key = case
    key = _parts(key)
    theirs = tuple(torch.from_numpy(k) if isinstance(k, np.ndarray) else k for k in key)
    ours = tuple(mg.tensor(k) if isinstance(k, np.ndarray) else k for k in key)
    assert_matches_torch(lambda t: t[ours], lambda t: t[theirs], x, name=f"x[{key}]")


def _parts(key) -> tuple:
    return key if isinstance(key, tuple) else (key,)


@given(case=arrays_and(mst.index_keys, mst.small_shapes()))
def test_indexing_passes_gradcheck(case):
    x, key = case
    key = tuple(torch.from_numpy(k) if isinstance(k, np.ndarray) else k for k in _parts(key))
    gradcheck(lambda t: t[key], x, name=f"x[{key}]")


# ---- cat, stack -------------------------------------------------------------------------------


@st.composite
def cat_operands(draw: st.DrawFn, max_side: int = 5) -> tuple[list[np.ndarray], int]:
    shapes, dim = draw(mst.cat_shapes(max_side=max_side))
    return [draw(mst.distinct_arrays(s)) for s in shapes], dim


@given(operands=cat_operands())
@example(operands=([np.ones((2, 1)), np.zeros((2, 3))], -1))
def test_cat_matches_torch(operands):
    arrays, dim = operands
    assert_matches_torch(
        lambda *ts: mg.cat(ts, dim=dim), lambda *ts: torch.cat(ts, dim=dim), *arrays, name="cat"
    )


@given(operands=cat_operands())
def test_cat_differentiated_twice_matches_torch(operands):
    arrays, dim = operands
    ours, theirs = lambda *ts: mg.cat(ts, dim=dim), lambda *ts: torch.cat(ts, dim=dim)
    assert_matches_torch(ours, theirs, *arrays, order=2, name=f"cat(dim={dim})")
    assert_matches_torch(times_itself(ours), times_itself(theirs), *arrays, order=2)


@st.composite
def stack_operands(draw: st.DrawFn) -> tuple[list[np.ndarray], int]:
    shape = draw(mst.shapes(max_rank=3))
    count = draw(st.integers(1, 3))
    dim = draw(st.integers(-len(shape) - 1, len(shape)))
    return [draw(mst.float_arrays(shape)) for _ in range(count)], dim


@given(operands=stack_operands())
@example(operands=([np.array(1.0), np.array(2.0)], 0))  # 0-d tensors stack into a vector
def test_stack_matches_torch(operands):
    arrays, dim = operands
    assert_matches_torch(
        lambda *ts: mg.stack(ts, dim=dim), lambda *ts: torch.stack(ts, dim=dim), *arrays
    )


@given(operands=stack_operands())
def test_stack_differentiated_twice_matches_torch(operands):
    arrays, dim = operands
    ours, theirs = lambda *ts: mg.stack(ts, dim=dim), lambda *ts: torch.stack(ts, dim=dim)
    assert_matches_torch(ours, theirs, *arrays, order=2, name=f"stack(dim={dim})")
    assert_matches_torch(times_itself(ours), times_itself(theirs), *arrays, order=2)


@given(operands=cat_operands(max_side=3))
def test_cat_and_stack_pass_gradcheck(operands):
    arrays, dim = operands
    gradcheck(lambda *ts: mg.cat(ts, dim=dim) * 2, *arrays, name="cat")
    same = [a for a in arrays if a.shape == arrays[0].shape]
    gradcheck(lambda *ts: mg.stack(ts, dim=dim).sigmoid(), *same, name="stack")


# ---- copies: dtype conversions and clone ------------------------------------------------------

CONVERSIONS = {
    "float": same_on_both("float"),
    "double": same_on_both("double"),
    "to(float32)": same_on_both("to", torch.float32),
    "to(dtype=float16)": same_on_both("to", dtype=torch.float16),
    "to(cpu)": same_on_both("to", "cpu"),
    "clone": same_on_both("clone"),
    "contiguous": same_on_both("contiguous"),
}


@pytest.mark.parametrize("name", CONVERSIONS)
@given(x=mst.float_arrays())
@example(x=np.array(1.0 / 3.0))
def test_conversion_matches_torch_and_casts_the_gradient_back(name, x):
    # the forward in float32 or float16 rounds; the gradient must come back as float64
    fn = CONVERSIONS[name]
    assert_matches_torch(lambda t: fn(t) * 2, lambda t: fn(t) * 2, x, name=name)


def test_float32_to_double_gives_a_float32_gradient():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * mg.tensor([3.0, 4.0], dtype=mg.float64)
    y.sum().backward()
    assert y.dtype == mg.float64
    assert x.grad.dtype == mg.float32
    assert x.grad.tolist() == [3.0, 4.0]


@given(x=mst.distinct_arrays(mst.small_shapes()))
def test_shape_ops_pass_gradcheck(x):
    t = x.ndim
    gradcheck(lambda a: a.reshape(-1)[::2] * a.sum(), x, name="reshape(-1)[::2]")
    gradcheck(lambda a: a.permute(*reversed(range(t))).unsqueeze(0).squeeze() ** 2, x)
    gradcheck(lambda a: a.expand(2, *a.shape).double().clone().exp(), x, name="expand")


def test_shape_ops_on_device(device):
    x = np.linspace(-1, 1, 24).reshape(2, 3, 4)

    def fn(t):
        parts = [t[:, 0], t[..., 1:3].sum(-1), t[t > 0], t[:, [0, 0, 2]].reshape(2, -1)]
        joined = torch_or_mg(t).cat([p.reshape(-1) for p in parts])
        return joined.unsqueeze(0).expand(3, -1).T.permute(1, 0).clone().float().double()

    assert_matches_torch(fn, fn, x, device=device)


def torch_or_mg(t):
    return mg if isinstance(t, mg.Tensor) else torch


# ---- gather -----------------------------------------------------------------------------------


@st.composite
def gather_cases(draw: st.DrawFn, shapes=mst.shapes) -> tuple[np.ndarray, int, np.ndarray]:
    """(x, dim, index) for x.gather(dim, index): index has x's rank, sides no larger than x's
    except along dim (any length there), and values in [0, x.shape[dim]), repeats included."""
    x = draw(mst.distinct_arrays(shapes(min_rank=1)), label="x")
    dim = draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    sides = [
        draw(st.integers(1, 4)) if d == dim % x.ndim else draw(st.integers(1, n))
        for d, n in enumerate(x.shape)
    ]
    values = st.integers(0, x.shape[dim] - 1)
    index = draw(mst.hnp.arrays(np.int64, tuple(sides), elements=values), label="index")
    return x, dim, index


@given(case=gather_cases())
@example(case=(np.array([1.0, 2.0, 3.0]), 0, np.array([2, 2, 0, 2])))  # repeats add up
@example(case=(np.arange(6.0).reshape(2, 3), 1, np.array([[0], [2]])))  # one pick per row
def test_gather_matches_torch(case):
    x, dim, index = case
    assert_matches_torch(
        lambda t, i: t.gather(dim, i), lambda t, i: t.gather(dim, i), x, index, name="gather"
    )
    assert_matches_torch(
        lambda t, i: mg.gather(t, dim, i), lambda t, i: torch.gather(t, dim, i), x, index
    )


@given(case=gather_cases())
@example(case=(np.array([1.0, 2.0, 3.0]), 0, np.array([2, 2, 0, 2])))  # repeats add up
def test_gather_differentiated_twice_matches_torch(case):
    """Gather's backward scatter-adds into zeros (ScatterAdd), whose backward gathers again."""
    x, dim, index = case
    gather = lambda t, i: t.gather(dim, i)  # noqa: E731
    assert_matches_torch(gather, gather, x, index, order=2, name=f"gather({dim})")
    assert_matches_torch(times_itself(gather), times_itself(gather), x, index, order=2)


@given(case=gather_cases(shapes=mst.small_shapes))
def test_gather_passes_gradcheck(case):
    x, dim, index = case
    gradcheck(lambda t: t.gather(dim, torch.from_numpy(index)), x, name=f"gather({dim})")


def test_gather_with_a_bad_index_says_what_it_needs():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    with pytest.raises(mg.ShapeError, match="gather.*int64 with as many dims as x"):
        x.gather(1, mg.tensor([0, 1]))


# ---- repeat, tile -----------------------------------------------------------------------------


@st.composite
def repeat_cases(draw: st.DrawFn, shapes=mst.shapes) -> tuple[np.ndarray, tuple[int, ...]]:
    x = draw(mst.distinct_arrays(shapes(max_rank=3)), label="x")
    extra = draw(st.integers(0, 4 - x.ndim), label="new leading dims")
    counts = st.integers(0, 3) if shapes is mst.shapes else st.integers(1, 2)
    return x, tuple(draw(counts) for _ in range(x.ndim + extra))


@given(case=repeat_cases())
@example(case=(np.array(2.0), (3,)))  # 0-d: new dims only
@example(case=(np.array([1.0, 2.0]), (2, 0)))  # a count of 0: empty
def test_repeat_matches_torch(case):
    x, repeats = case
    assert_matches_torch(
        same_on_both("repeat", *repeats), same_on_both("repeat", repeats), x, name="repeat"
    )


@given(case=repeat_cases())
def test_repeat_differentiated_twice_matches_torch(case):
    x, repeats = case
    repeat = same_on_both("repeat", repeats)
    assert_matches_torch(repeat, repeat, x, order=2, name=f"repeat{repeats}")
    assert_matches_torch(times_itself(repeat), times_itself(repeat), x, order=2)


@given(case=repeat_cases(shapes=mst.small_shapes))
def test_repeat_passes_gradcheck(case):
    x, repeats = case
    gradcheck(same_on_both("repeat", repeats), x, name=f"repeat{repeats}")


@given(x=mst.float_arrays(mst.shapes(max_rank=3)), dims=st.lists(st.integers(1, 3), max_size=3))
def test_tile_matches_torch(x, dims):
    assert_matches_torch(same_on_both("tile", dims), same_on_both("tile", dims), x, name="tile")
    assert_matches_torch(
        lambda t: mg.tile(t, dims), lambda t: torch.tile(t, dims), x, name="minigrad.tile"
    )


def test_repeat_with_fewer_counts_than_dims_says_so():
    with pytest.raises(mg.ShapeError, match=r"repeat\(2,\) of a tensor of shape \(2, 3\)"):
        mg.ones(2, 3, requires_grad=True).repeat(2)


# ---- split, chunk, unbind, narrow, select ----------------------------------------------------


def joined(pieces):
    """Every piece flattened and joined, each scaled by its own weight, so that a gradient
    sent to the wrong piece shows up (and a piece's shape is checked by torch's own)."""
    lib = mg if isinstance(pieces[0], mg.Tensor) else torch
    return lib.cat([piece.reshape(-1) * (i + 1) for i, piece in enumerate(pieces)])


@st.composite
def split_cases(draw: st.DrawFn, shapes=mst.shapes) -> tuple[np.ndarray, object, int]:
    """(x, sizes, dim): a piece size (the last piece may be smaller) or a list of sizes that add
    up to x's side along dim."""
    x = draw(mst.distinct_arrays(shapes(min_rank=1)), label="x")
    dim = draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    side = x.shape[dim]
    if draw(st.booleans()):
        return x, draw(st.integers(1, side + 1), label="size"), dim
    cuts = draw(st.lists(st.integers(0, side), max_size=3), label="cuts")
    edges = [0, *sorted(cuts), side]
    return x, [b - a for a, b in zip(edges, edges[1:])], dim


@given(case=split_cases())
@example(case=(np.arange(5.0), 2, 0))  # pieces of 2, 2, 1
@example(case=(np.arange(6.0).reshape(2, 3), [0, 3], -1))  # an empty piece
def test_split_matches_torch(case):
    x, sizes, dim = case
    assert_matches_torch(
        lambda t: joined(t.split(sizes, dim)),
        lambda t: joined(t.split(sizes, dim)),
        x,
        name=f"split({sizes}, {dim})",
    )
    ours, theirs = mg.split(mg.tensor(x), sizes, dim), torch.split(torch.tensor(x), sizes, dim)
    assert [p.shape for p in ours] == [p.shape for p in theirs]


@given(case=split_cases())
def test_split_unbind_narrow_and_select_differentiated_twice_match_torch(case):
    """split's and unbind's backward joins the pieces' gradients (Cat, Stack), whose backward
    cuts them again; narrow and select are indexes of x, whose backward is AddAt (the piece's
    gradient put back in its place among zeros), whose backward reads the piece again."""
    x, sizes, dim = case
    side = x.shape[dim]
    calls = {
        f"split({sizes}, {dim})": lambda t: joined(t.split(sizes, dim)),
        f"unbind({dim})": lambda t: joined(t.unbind(dim)),
        f"narrow({dim}, {side // 3}, {side - side // 3})": same_on_both(
            "narrow", dim, side // 3, side - side // 3
        ),
        f"select({dim}, -1)": same_on_both("select", dim, -1),
    }
    for name, call in calls.items():
        assert_matches_torch(times_itself(call), times_itself(call), x, order=2, name=name)


@given(case=split_cases(), chunks=st.integers(1, 6))
@example(case=(np.arange(5.0), 1, 0), chunks=4)  # torch gives 3 chunks of 2, 2, 1, not 4
def test_chunk_matches_torch(case, chunks):
    x, _, dim = case
    assert_matches_torch(
        lambda t: joined(t.chunk(chunks, dim)),
        lambda t: joined(t.chunk(chunks, dim)),
        x,
        name=f"chunk({chunks}, {dim})",
    )
    ours, theirs = mg.chunk(mg.tensor(x), chunks, dim), torch.chunk(torch.tensor(x), chunks, dim)
    assert [p.shape for p in ours] == [p.shape for p in theirs]


@given(case=split_cases())
def test_unbind_narrow_and_select_match_torch(case):
    x, _, dim = case
    side = x.shape[dim]
    start, length = side // 3, side - side // 3 - side // 4
    unbind = lambda t: joined(t.unbind(dim))  # noqa: E731
    assert_matches_torch(unbind, unbind, x, name=f"unbind({dim})")
    for begin in (start, start - side):  # a negative start counts from the end
        narrow = same_on_both("narrow", dim, begin, length)
        assert_matches_torch(narrow, narrow, x, name=f"narrow({dim}, {begin}, {length})")
    for index in (0, -1):
        select = same_on_both("select", dim, index)
        assert_matches_torch(select, select, x, name=f"select({dim}, {index})")


CUTS = {
    "split": lambda t: t.split(2, 1),
    "split_with_sizes": lambda t: t.split([1, 3], 1),
    "chunk": lambda t: t.chunk(2, 1),
    "unbind": lambda t: t.unbind(1),
}


@pytest.mark.parametrize("cut", CUTS)
def test_pieces_are_one_node_of_torch_s_name_and_an_unused_piece_gets_zeros(cut):
    """One node with a gradient per piece, as torch's SplitBackward0 (UnbindBackward0...): a
    piece nobody used sends zeros."""
    x = np.arange(12.0).reshape(3, 4) / 7
    xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    for t in (xm, xt):
        pieces = CUTS[cut](t)
        assert len({id(p.grad_fn) for p in pieces}) == 1
        (pieces[-1].exp().sum() * 2).backward()  # the other pieces unused
    theirs, ours = pieces[0].grad_fn, CUTS[cut](xm)[0].grad_fn  # (pieces: torch's, the last pass)
    assert ours.name() == theirs.name() and ours.node_name == type(theirs).__name__
    torch.testing.assert_close(xm.grad._data, xt.grad, rtol=1e-12, atol=0)


@pytest.mark.parametrize("cut", CUTS)
def test_a_piece_changed_in_place_is_refused_as_in_torch(cut):
    """torch refuses to change one of several views an op returned at once while recording,
    and to use one after its base was changed in place; so does minigrad, saying what to do.
    Under no_grad, or with nothing requiring grad, the change is made."""
    for lib in (torch, mg):
        x = lib.ones(3, 4, requires_grad=True) * 1
        with pytest.raises(RuntimeError, match="being modified inplace|in-place mul_ would"):
            CUTS[cut](x)[0].mul_(2)
        assert (x == 1).all()  # refused before anything was written
        piece = CUTS[cut](x)[0]
        x.mul_(2)
        with pytest.raises(RuntimeError, match="multiple views|returned at once"):
            piece.sum().backward()
        pieces = CUTS[cut](x)
        with lib.no_grad():
            pieces[0].mul_(0)
        assert (x[:, 0] == 0).all()
        CUTS[cut](lib.ones(3, 4))[0].mul_(2)  # nothing requires grad: nothing to refuse
    with pytest.raises(mg.GradientError, match=r"Clone the piece first \(q = q.clone\(\)\)"):
        mg.ones(2, requires_grad=True).mul(1).split(1)[0].add_(1)


@given(case=split_cases(shapes=mst.small_shapes))
def test_split_and_unbind_pass_gradcheck(case):
    x, sizes, dim = case
    gradcheck(lambda t: joined(t.split(sizes, dim)), x, name=f"split({sizes}, {dim})")
    gradcheck(lambda t: joined(t.unbind(dim)), x, name=f"unbind({dim})")


def test_narrow_and_select_out_of_range_fail_as_in_torch():
    x = mg.ones(2, 3)
    for call in (lambda t: t.narrow(1, 2, 2), lambda t: t.select(1, 3), lambda t: t.unbind(2)):
        with pytest.raises((IndexError, RuntimeError)):
            call(x)
        with pytest.raises((IndexError, RuntimeError)):
            call(torch.ones(2, 3))


# ---- flatten, and shapes of others -----------------------------------------------------------


@given(x=mst.float_arrays(mst.shapes(min_rank=1)), data=st.data())
def test_flatten_matches_torch(x, data):
    start = data.draw(st.integers(-x.ndim, x.ndim - 1), label="start")
    end = data.draw(st.integers(start % x.ndim, x.ndim - 1), label="end")
    assert_matches_torch(
        lambda t: mg.flatten(t, start, end),
        lambda t: torch.flatten(t, start, end),
        x,
        name=f"flatten({start}, {end})",
    )


@given(x=mst.float_arrays(mst.shapes()))
@example(x=np.ones((2, 3)).T)  # not contiguous: a copy, as torch's
def test_ravel_matches_torch(x):
    for ours, theirs in ((mg.ravel, torch.ravel), (mg.Tensor.ravel, torch.Tensor.ravel)):
        assert_matches_torch(ours, theirs, x, name="ravel")


def test_a_number_flattens_to_one_element_as_in_torch():
    assert mg.tensor(3.0).flatten().shape == torch.tensor(3.0).flatten().shape == (1,)
    assert mg.tensor(3.0).flatten(-1, 0).shape == torch.tensor(3.0).flatten(-1, 0).shape


@pytest.mark.parametrize(
    "start, end, error, rule",
    [
        (2, -1, IndexError, "each dim must be from -2 to 1"),
        (-3, -1, IndexError, "each dim must be from -2 to 1"),
        (0, 2, IndexError, "each dim must be from -2 to 1"),
        (1, 0, RuntimeError, "start_dim must not come after end_dim"),
    ],
)
def test_flatten_refuses_dims_out_of_range_or_in_the_wrong_order_as_torch_in_words(
    start, end, error, rule
):
    with pytest.raises(error):
        torch.zeros(2, 3).flatten(start, end)
    with pytest.raises(
        error,
        match=rf"flatten\(start_dim={start}, end_dim={end}\) on a tensor "
        rf"of shape \(2, 3\): {rule}",
    ):
        mg.zeros(2, 3).flatten(start, end)


def test_view_reshape_expand_and_type_as_take_the_other_tensors_shape_or_dtype():
    x = mg.arange(6.0, requires_grad=True)
    other = mg.zeros(2, 3, dtype=mg.float64)
    assert x.view_as(other).shape == x.reshape_as(other).shape == (2, 3)
    assert mg.ones(1, 3).expand_as(other).shape == (2, 3)
    assert x.type_as(other).dtype == mg.float64
    (x.view_as(other).type_as(other) * 2).sum().backward()
    assert x.grad.tolist() == [2.0] * 6


# ---- three times: the adjoints' own backward, on minigrad Tensors ------------------------------


def gradient_with_a_graph(fn):
    """x -> the gradient of sum(fn(x)^3), taken with create_graph=True: a function made of
    fn's backward (AddAt, ScatterAdd, sums, splits...). Differentiated twice by
    assert_matches_torch(order=2), that is three derivatives of fn's program; the backward of
    each adjoint then runs on minigrad Tensors and is recorded in turn."""

    def gradient(t):
        lib = torch_or_mg(t)
        cubed = (fn(t) * fn(t) * fn(t)).sum()
        return lib.autograd.grad(cubed, t, create_graph=True)[0]

    return gradient


THRICE = {
    "x[[0, 0, 2], 1:]": lambda t: t[torch.tensor([0, 0, 2]), 1:],
    "x[rows, cols]": lambda t: t[torch.tensor([0, 2, 2]), torch.tensor([1, 1, 3])],
    "x[1:, ::2]": lambda t: t[1:, ::2],
    "x[mask]": lambda t: t[torch.tensor([True, False, True])],
    "gather": lambda t: t.gather(1, torch.tensor([[0, 0, 3], [1, 1, 1], [2, 0, 2]])),
    "expand": lambda t: t[:, None].expand(3, 2, 4),
    "repeat": lambda t: t.repeat(2, 1, 3),
    "cat": lambda t: torch_or_mg(t).cat([t, t[1:]], 0),
    "stack": lambda t: torch_or_mg(t).stack([t, t.T.reshape(3, 4)], 1),
    "permute": lambda t: t.reshape(3, 2, 2).permute(2, 0, 1),
}


@pytest.mark.parametrize("name", THRICE)
@given(x=mst.float_arrays((3, 4)))
def test_differentiated_three_times_matches_torch(name, x):
    fn = gradient_with_a_graph(THRICE[name])
    assert_matches_torch(fn, fn, x, order=2, name=f"{name}, three times")


# ---- movedim, swapaxes, unflatten, roll, index_select, repeat_interleave, diagonal, diag, trace -
# Each made of the ops above (a permute, a view, slices and cat, indexing): compared with torch's
# own function over drawn shapes and arguments, differentiated once and twice.


@st.composite
def dim_moves(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[object, object]:
    """movedim's source and destination for this shape: one dim or several, negative too."""
    n = max(len(shape), 1)
    count = draw(st.integers(1, n))
    sources = draw(st.permutations(range(n)))[:count]
    destinations = draw(st.permutations(range(n)))[:count]
    signed = [d - n if draw(st.booleans()) else d for d in sources]
    if count == 1 and draw(st.booleans()):
        return signed[0], destinations[0]  # plain ints
    return tuple(signed), tuple(destinations)


@st.composite
def rolls(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[object, object]:
    """roll's shifts and dims: dims None (the flattened tensor), one dim or several."""
    shift = st.integers(-12, 12)
    if not shape or draw(st.booleans()):
        return draw(shift), None
    dims = draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1, max_size=3))
    return tuple(draw(shift) for _ in dims), tuple(dims)


@st.composite
def selections(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[int, np.ndarray]:
    """index_select's dim and index: positions along that dim, repeats and any order, 0-d too."""
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    side = shape[dim]
    index_shape = draw(st.sampled_from([(), (draw(st.integers(0, 6)),)]))
    return dim, draw(mst.hnp.arrays(np.int64, index_shape, elements=st.integers(0, side - 1)))


@st.composite
def diagonals(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[int, int, int]:
    """diagonal's offset, dim1 and dim2: two different dims, an offset that may leave none."""
    dim1, dim2 = draw(st.permutations(range(len(shape))))[:2]
    return draw(st.integers(-5, 5)), dim1 - len(shape) * draw(st.integers(0, 1)), dim2


def unflatten_sizes(shape: tuple[int, ...]) -> st.SearchStrategy:
    """unflatten's dim and sizes: the dim's side as a product of factors, one of them maybe -1."""

    @st.composite
    def draw_sizes(draw: st.DrawFn) -> tuple[int, tuple[int, ...]]:
        dim = draw(st.integers(-len(shape), len(shape) - 1))
        side, sizes = shape[dim], []
        for factor in (2, 3, 5):
            while side % factor == 0 and draw(st.booleans()):
                sizes.append(factor)
                side //= factor
        sizes = [side, *sizes] if side > 1 or not sizes else sizes
        order = draw(st.permutations(sizes))
        if draw(st.booleans()):
            order[draw(st.integers(0, len(order) - 1))] = -1
        return dim, tuple(order)

    return draw_sizes()


RENAMED_AND_REARRANGED = {
    # name: (argument strategy for a shape, the call on a tensor and those arguments, min rank)
    "movedim": (dim_moves, lambda t, a: t.movedim(*a), 0),
    "swapaxes": (
        lambda shape: st.tuples(*[st.integers(-len(shape), len(shape) - 1)] * 2),
        lambda t, a: t.swapaxes(*a),
        1,
    ),
    "swapdims": (
        lambda shape: st.tuples(*[st.integers(-len(shape), len(shape) - 1)] * 2),
        lambda t, a: t.swapdims(*a),
        1,
    ),
    "unflatten": (unflatten_sizes, lambda t, a: t.unflatten(*a), 1),
    "roll": (rolls, lambda t, a: t.roll(*a), 0),
    "index_select": (
        selections,
        lambda t, a: t.index_select(a[0], torch.as_tensor(a[1])),
        1,
    ),
    "repeat_interleave": (
        lambda shape: st.tuples(
            st.integers(0, 3), st.none() | st.integers(-len(shape), len(shape) - 1)
        ),
        lambda t, a: t.repeat_interleave(a[0], dim=a[1]),
        1,
    ),
    "repeat_interleave(tensor)": (
        lambda shape: st.integers(0, len(shape) - 1).flatmap(
            lambda dim: st.tuples(
                st.just(dim),
                mst.hnp.arrays(np.int64, (shape[dim],), elements=st.integers(0, 3)),
            )
        ),
        lambda t, a: t.repeat_interleave(torch.as_tensor(a[1]), dim=a[0]),
        1,
    ),
    "diagonal": (diagonals, lambda t, a: t.diagonal(*a), 2),
}


@pytest.mark.parametrize("name", RENAMED_AND_REARRANGED)
@pytest.mark.parametrize("order", [1, 2])
@given(data=st.data())
def test_rearranging_functions_match_torch(name, order, data):
    arguments, call, min_rank = RENAMED_AND_REARRANGED[name]
    x = data.draw(mst.float_arrays(mst.shapes(min_rank=min_rank)), label="x")
    a = data.draw(arguments(x.shape), label="arguments")
    fn = (lambda t: call(t, a)) if order == 1 else times_itself(lambda t: call(t, a))
    assert_matches_torch(fn, fn, x, order=order, name=f"{name}{a}")


@pytest.mark.parametrize("name", ["movedim", "roll", "index_select", "repeat_interleave"])
def test_rearranging_functions_have_function_forms_as_torchs(name):
    x = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    arguments = {
        "movedim": (0, 1),
        "roll": (1, 1),
        "index_select": (1, mg.tensor([2, 0])),
        "repeat_interleave": (2,),
    }[name]
    torch_arguments = [getattr(a, "_data", a) for a in arguments]
    ours = getattr(mg, name)(x, *arguments)
    theirs = getattr(torch, name)(x._data, *torch_arguments)
    assert torch.equal(ours._data, theirs)


@given(x=mst.float_arrays(mst.shapes(min_rank=1, max_rank=2)), offset=st.integers(-4, 4))
@example(x=np.array([1.0, 2.0]), offset=1)  # a vector put above the main diagonal
@example(x=np.ones((2, 3)), offset=-1)  # a matrix's diagonal below the main one
def test_diag_matches_torch_for_vectors_and_matrices(x, offset):
    fn = lambda t: t.diag(offset)  # noqa: E731
    assert_matches_torch(fn, fn, x, name=f"diag({offset})")
    assert_matches_torch(times_itself(fn), times_itself(fn), x, order=2, name=f"diag({offset})")


@given(x=mst.float_arrays(mst.shapes(min_rank=2, max_rank=2)))
def test_trace_matches_torch(x):
    # (x.trace() only: minigrad.trace is the module that prints a backward pass)
    assert_matches_torch(lambda t: t.trace(), torch.trace, x, name="trace")


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda x, t: x.trace(), ShapeError, "shape (2, 3, 4)"),
        (lambda x, t: x.diag(), ShapeError, "a vector (to make a matrix) or a matrix"),
        (lambda x, t: x.index_select(0, t([[0, 1]])), IndexError, "shape (1, 2)"),
        (lambda x, t: x.index_select(0, t([0.0])), RuntimeError, "torch.float32"),
        (lambda x, t: x.index_select(0, [0, 1]), TypeError, "got list"),
        (lambda x, t: x.roll((1, 2), 0), ShapeError, "one shift per dim"),
    ],
    ids=["trace of 3 dims", "diag of 3 dims", "2-d index", "float index", "list index", "shifts"],
)
def test_rearranging_functions_say_what_they_take(call, error, words):
    """In minigrad's words, and of the type torch raises (a ShapeError is torch's RuntimeError
    too), checked on torch itself."""
    with pytest.raises(error, match=re.escape(words)) as caught:
        call(mg.zeros(2, 3, 4), mg.tensor)
    with pytest.raises(Exception) as theirs:
        call(torch.zeros(2, 3, 4), torch.tensor)
    assert isinstance(caught.value, type(theirs.value)), (caught.value, theirs.value)
