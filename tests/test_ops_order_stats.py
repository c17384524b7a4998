"""Order statistics against torch autograd (float64, rtol 1e-7, atol 1e-9), second order too.

median and nanmedian (of everything: ties share the gradient; along a dim: (values, indices),
the gradient to torch's index), kthvalue, mode, quantile and nanquantile (q a number or a 1-d
tensor, every interpolation; q gets torch's gradient too). Values are distinct by construction
where a tie would leave the gradient's place to a choice; the ties themselves are @examples,
checked against torch's choice of index. cummax and cummin (the gradient to each running
extreme's place, torch's on a tie) and aminmax (ties share, as amin and amax).
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
from minigrad.testing import assert_close, assert_matches_torch
from minigrad.testing import strategies as mst

NAN = np.nan
TIES = np.array([[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 1.0, 1.0]])


@st.composite
def along_a_dim(draw: st.DrawFn, arrays=mst.distinct_arrays) -> tuple[np.ndarray, int, bool]:
    """(x, dim, keepdim): x of rank 0 to 4 (distinct values by default), dim written either way."""
    x = draw(arrays(mst.shapes()), label="x")
    dim = draw(st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1), label="dim")
    return x, dim, draw(st.booleans(), label="keepdim")


def assert_pair_matches_torch(name, case, *args):
    """x.name(*args, dim, keepdim): values (and gradients) and indices equal torch's."""
    x, dim, keepdim = case
    for fn in (
        lambda t: getattr(t, name)(*args, dim, keepdim),
        lambda t: getattr(t, name)(*args, dim=dim, keepdim=keepdim),
    ):
        assert_matches_torch(
            lambda t, fn=fn: fn(t).values, lambda t, fn=fn: fn(t).values, x,
            name=f"{name}({args}, dim={dim}, keepdim={keepdim})", order=2,
        )  # fmt: skip
    got = getattr(mg.tensor(x), name)(*args, dim, keepdim)
    want = getattr(torch.tensor(x), name)(*args, dim, keepdim)
    assert torch.equal(got.indices._data, want.indices), (got.indices, want.indices)
    assert got.values.shape == want.values.shape
    assert type(got).__name__ == type(want).__name__ == name  # (torch.return_types.<name>)
    assert got._fields == ("values", "indices")


@pytest.mark.parametrize("name", ["median", "nanmedian"])
@given(x=mst.float_arrays())
@example(x=np.array([1.0, 3.0, 3.0, 2.0, 3.0]))  # the median ties: the 3s share the gradient
@example(x=np.array([4.0, 1.0, 2.0, 3.0]))  # even count: the lower of the middle two
@example(x=np.array(5.0))
@example(x=np.array([[1.0, NAN, 3.0], [NAN, NAN, NAN]]))  # median NaN (NaNs share); nanmedian 1
@example(x=np.array([NAN, NAN]))  # nanmedian of only NaNs: NaN
def test_median_of_everything_matches_torch(name, x):
    assert_matches_torch(
        lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), x, name=f"{name}()", order=2
    )
    assert_matches_torch(
        getattr(mg, name), getattr(torch, name), x, name=f"minigrad.{name}", order=2
    )


@pytest.mark.parametrize("name", ["median", "nanmedian"])
@given(case=along_a_dim())
@example(case=(TIES, 1, False))  # ties: torch's index gets the gradient
@example(case=(TIES, -2, True))
@example(case=(np.array(4.0), 0, False))
@example(case=(np.array([[1.0, NAN, 3.0], [NAN, NAN, NAN], [2.0, 0.0, 1.0]]), 1, False))
def test_median_along_a_dim_matches_torch(name, case):
    assert_pair_matches_torch(name, case)


@given(case=along_a_dim(), data=st.data())
@example(case=(TIES, 1, False), data=None)  # k=2 lands on a tie
@example(case=(np.array(4.0), 0, True), data=None)
def test_kthvalue_matches_torch(case, data):
    x, dim, _ = case
    n = x.shape[dim] if x.ndim else 1
    k = 2 if data is None and x.ndim else 1 if data is None else data.draw(st.integers(1, n))
    assert_pair_matches_torch("kthvalue", case, k)


few_values = hnp.arrays(np.float64, mst.shapes(), elements=st.sampled_from([-1.5, 0.0, 2.0]))


@given(case=along_a_dim(arrays=lambda shapes: few_values))  # repeats: the point of a mode
@example(case=(np.array([[3.0, 1.0, 3.0, 1.0], [2.0, 0.0, 2.0, 7.0]]), 1, False))  # tied counts
@example(case=(np.array([1.0, 2.0, 3.0]), 0, True))  # no repeats: the smallest
@example(case=(np.array(4.0), 0, False))
def test_mode_matches_torch(case):
    assert_pair_matches_torch("mode", case)


def test_mode_and_kthvalue_defaults_are_the_last_dim():
    x = mg.tensor([[2.0, 2.0, 1.0], [0.0, 3.0, 3.0]])
    assert x.mode().values.tolist() == [2.0, 3.0]
    assert mg.kthvalue(x, 1).values.tolist() == [1.0, 0.0]


INTERPOLATIONS = ["linear", "lower", "higher", "midpoint", "nearest"]


@st.composite
def quantile_cases(draw: st.DrawFn):
    """(x, q, dim, keepdim): x of distinct values, q a number or a 1-d float64 array, dim None or
    one dim."""
    x = draw(mst.distinct_arrays(mst.shapes()), label="x")
    qs = st.floats(0.0, 1.0, allow_nan=False)
    q = draw(st.one_of(qs, hnp.arrays(np.float64, st.integers(1, 4), elements=qs)), label="q")
    dims = st.none() if x.ndim == 0 else st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1))
    return x, q, draw(dims, label="dim"), draw(st.booleans(), label="keepdim")


def assert_quantile_matches_torch(name, case, interpolation):
    x, q, dim, keepdim = case

    def quantile(module):
        def fn(t, *q_tensor):
            q_arg = q_tensor[0] if q_tensor else q  # a tensor q as an input (it gets a gradient)
            return getattr(module, name)(t, q_arg, dim, keepdim, interpolation=interpolation)

        return fn

    arrays = (x, q) if isinstance(q, np.ndarray) else (x,)
    label = f"{name}(q={q}, dim={dim}, keepdim={keepdim}, interpolation={interpolation})"
    assert_matches_torch(quantile(mg), quantile(torch), *arrays, name=label, order=2)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@given(case=quantile_cases())
@example(case=(np.arange(4.0), np.array([0.0, 0.5, 1.0, 1 / 3]), None, False))  # whole ranks
@example(case=(np.arange(2.0), 0.5, 0, True))  # rank 0.5: nearest rounds half to even
@example(case=(np.arange(4.0), 0.5, -1, False))  # rank 1.5
@example(case=(np.array(3.0), np.array([0.25]), None, True))  # 0-d
@example(case=(np.array(3.0), 0.25, 0, True))
@example(case=(np.array([[2.0, 1.0, 2.0], [0.0, 0.0, 0.0]]), 0.5, 1, False))  # ties
@example(case=(np.array([[1.0, NAN, 3.0, 0.5], [NAN] * 4]), np.array([0.3, 0.9]), 1, False))
@example(case=(np.array([1.0, NAN, 3.0]), 0.7, None, True))
def test_quantile_matches_torch(name, interpolation, case):
    assert_quantile_matches_torch(name, case, interpolation)


def test_quantile_method_and_keyword_forms():
    x = mg.tensor([[0.0, 4.0, 1.0], [3.0, 2.0, 5.0]], dtype=mg.float64)
    t = torch.tensor(x.tolist(), dtype=torch.float64)
    got = x.quantile(mg.tensor([0.25, 0.75], dtype=mg.float64), dim=1, keepdim=True)
    assert torch.equal(got._data, t.quantile(torch.tensor([0.25, 0.75]).double(), 1, True))
    assert x.nanquantile(0.5, axis=0).tolist() == t.nanquantile(0.5, 0).tolist()


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda x: x.quantile(0.5, interpolation="cubic"), "interpolation"),
        (lambda x: x.quantile(1.5), r"\[0, 1\]"),
        (lambda x: x.nanquantile(-0.1), r"\[0, 1\]"),
        (lambda x: x.quantile(mg.tensor([0.5, 1.25], dtype=mg.float64)), r"\[0, 1\], got \[0.5"),
        (lambda x: x.quantile(mg.tensor([[0.5]], dtype=mg.float64)), "1-d"),
        (lambda x: x.quantile(mg.tensor([0.5])), "dtype"),
        (lambda x: mg.tensor([1, 2]).quantile(0.5), "floating-point"),
        (lambda x: x[:0].quantile(0.5), "empty"),
    ],
)
def test_quantile_refuses_what_torch_refuses(call, words):
    x = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)
    with pytest.raises((ValueError, TypeError), match=words):
        call(x)


# ---- counting: no gradients (torch has none) ---------------------------------------------------


def assert_same_results(got, want):
    """Tensors or tuples of tensors: the same types, shapes, dtypes and values as torch's."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            assert_same_results(g, w)
        return
    assert isinstance(got, mg.Tensor), type(got)
    assert got.dtype == want.dtype and got.shape == want.shape, (got, want)
    assert torch.equal(got._data, want) or torch.allclose(got._data, want, equal_nan=True)
    assert got.requires_grad == want.requires_grad, (got, want)


repeats = hnp.arrays(np.float64, mst.shapes(), elements=st.sampled_from([-1.5, 0.0, 2.0, 3.0]))


@st.composite
def unique_cases(draw: st.DrawFn):
    x = draw(repeats, label="x")
    dim = draw(st.none() | st.integers(-x.ndim, x.ndim - 1) if x.ndim else st.none(), label="dim")
    flags = draw(st.tuples(st.booleans(), st.booleans()), label="inverse, counts")
    return x, dim, flags


@given(case=unique_cases(), requires_grad=st.booleans())
@example(case=(np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 5.0]]), 0, (True, True)), requires_grad=True)
@example(case=(np.array(3.0), None, (True, True)), requires_grad=False)
@example(case=(np.zeros((0, 2)), 0, (True, True)), requires_grad=False)  # empty
def test_unique_and_unique_consecutive_match_torch(case, requires_grad):
    x, dim, (inverse, counts) = case
    t, m = torch.tensor(x, requires_grad=requires_grad), mg.tensor(x, requires_grad=requires_grad)
    args = {"return_inverse": inverse, "return_counts": counts, "dim": dim}
    assert_same_results(m.unique(**args), t.unique(**args))
    assert_same_results(mg.unique(m, sorted=True, **args), torch.unique(t, sorted=True, **args))
    assert_same_results(m.unique_consecutive(**args), t.unique_consecutive(**args))
    assert_same_results(mg.unique_consecutive(m, **args), torch.unique_consecutive(t, **args))


def test_unique_of_a_tensor_that_requires_grad_refuses_backward_as_torch():
    x = mg.tensor([3.0, 1.0, 3.0], requires_grad=True)
    values, inverse = x.unique(return_inverse=True)
    assert values.requires_grad and not inverse.requires_grad  # as torch's
    with pytest.raises(mg.errors.GradientError, match="unique.. has no gradient"):
        values.sum().backward()


@given(
    x=hnp.arrays(np.int64, st.integers(0, 6), elements=st.integers(0, 7)),
    weighted=st.booleans(),
    minlength=st.integers(0, 10),
)
@example(x=np.zeros(0, dtype=np.int64), weighted=False, minlength=0)  # empty: no bins
def test_bincount_matches_torch(x, weighted, minlength):
    weights = np.linspace(-1.0, 2.0, len(x)) if weighted else None
    t_w = None if weights is None else torch.tensor(weights, requires_grad=True)
    m_w = None if weights is None else mg.tensor(weights, requires_grad=True)
    want = torch.bincount(torch.tensor(x), t_w, minlength)
    assert_same_results(mg.bincount(mg.tensor(x), m_w, minlength), want)
    assert_same_results(mg.tensor(x).bincount(weights=m_w, minlength=minlength), want)
    if weighted and len(x):  # torch records it but has no derivative: backward refuses in both
        with pytest.raises(mg.errors.GradientError, match="bincount.. has no gradient"):
            mg.bincount(mg.tensor(x), m_w).sum().backward()


@given(x=mst.float_arrays(), bins=st.integers(1, 6), bounds=st.sampled_from([(0, 0), (-2, 3)]))
@example(x=np.array([1.0, 1.0]), bins=3, bounds=(0, 0))  # one value: bins around it
def test_histc_matches_torch(x, bins, bounds):
    want = torch.histc(torch.tensor(x, requires_grad=True), bins, *bounds)
    assert_same_results(mg.histc(mg.tensor(x, requires_grad=True), bins, *bounds), want)
    assert_same_results(mg.tensor(x).histc(bins=bins, min=bounds[0], max=bounds[1]), want)


grid = st.sampled_from([-1.0, 0.0, 0.5, 2.0, 3.0])  # few values: many equal to a boundary


@given(
    sequence=hnp.arrays(np.float64, mst.shapes(min_rank=1, max_rank=2), elements=grid),
    values=hnp.arrays(np.float64, st.integers(0, 5), elements=grid),
    side=st.sampled_from(["left", "right"]),
    out_int32=st.booleans(),
    sorted_by=st.sampled_from(["sort", "sorter"]),
)
@example(  # values equal to boundaries: right decides which side of them they go
    sequence=np.array([2.0, 0.0, 0.5, 0.5]),
    values=np.array([0.5, 2.0, -1.0, 3.0]),
    side="right",
    out_int32=False,
    sorted_by="sort",
)
def test_searchsorted_and_bucketize_match_torch(sequence, values, side, out_int32, sorted_by):
    seq = torch.tensor(sequence)
    if sequence.ndim == 2:  # one row of values per row of the sequence
        vals = torch.tensor(values).expand(seq.shape[0], -1).contiguous()
    else:
        vals = torch.tensor(values)
    kwargs = {"out_int32": out_int32}
    if sorted_by == "sort":
        seq = seq.sort(-1).values
    else:
        kwargs["sorter"] = seq.argsort(-1)
    right = side == "right"
    want = torch.searchsorted(seq, vals, side=side, **kwargs)
    m_kwargs = {k: mg.Tensor(v) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
    assert_same_results(
        mg.searchsorted(mg.Tensor(seq), mg.Tensor(vals), side=side, **m_kwargs), want
    )
    got = mg.Tensor(seq).searchsorted(mg.Tensor(vals), right=right, **m_kwargs)
    assert_same_results(got, torch.searchsorted(seq, vals, right=right, **kwargs))
    if sequence.ndim == 1 and sorted_by == "sort":
        want = torch.bucketize(vals, seq, out_int32=out_int32, right=right)
        got = mg.bucketize(mg.Tensor(vals), mg.Tensor(seq), out_int32=out_int32, right=right)
        assert_same_results(got, want)
        assert_same_results(
            mg.Tensor(vals).bucketize(mg.Tensor(seq), right=right),
            torch.bucketize(vals, seq, right=right),
        )


# ---- products ------------------------------------------------------------------------------------


@st.composite
def tensordot_cases(draw: st.DrawFn):
    """(a, b, dims): dims an int n (a's last n dims the sizes of b's first n), or two lists
    of paired dims in any order, written either way."""
    paired = draw(mst.shapes(0, 3, max_side=3), label="paired sizes")
    free_a = draw(mst.shapes(0, 2, max_side=3), label="a's own")
    free_b = draw(mst.shapes(0, 2, max_side=3), label="b's own")
    if draw(st.booleans(), label="int dims"):
        a = draw(mst.float_arrays(free_a + paired))
        return a, draw(mst.float_arrays(paired + free_b)), len(paired)
    n = len(paired)
    order_a = draw(st.permutations(range(len(free_a) + n)), label="a's order")
    order_b = draw(st.permutations(range(len(free_b) + n)), label="b's order")
    a = draw(mst.float_arrays(free_a + paired)).transpose(order_a)
    b = draw(mst.float_arrays(paired + free_b)).transpose(order_b)
    # where paired dim k of each went
    dims_a = [order_a.index(len(free_a) + k) for k in range(n)]
    dims_b = [order_b.index(k) for k in range(n)]
    dims_a = [d - a.ndim if draw(st.booleans()) else d for d in dims_a]
    return a, b, (dims_a, dims_b)


@given(case=tensordot_cases())
@example(case=(np.array(2.0), np.array([1.0, 3.0]), 0))  # 0-d: an outer product
def test_tensordot_matches_torch(case):
    a, b, dims = case
    assert_matches_torch(
        lambda x, y: mg.tensordot(x, y, dims), lambda x, y: torch.tensordot(x, y, dims), a, b,
        name=f"tensordot(dims={dims})", order=2,
    )  # fmt: skip


@given(shapes=st.tuples(mst.shapes(0, 3, max_side=3), mst.shapes(0, 3, max_side=3)), data=st.data())
def test_kron_matches_torch(shapes, data):
    a, b = (data.draw(mst.float_arrays(shape)) for shape in shapes)
    assert_matches_torch(mg.kron, torch.kron, a, b, order=2)
    assert_matches_torch(lambda x, y: x.kron(y), lambda x, y: x.kron(y), a, b, order=2)


@pytest.mark.filterwarnings("ignore:cross without dim")  # (checked once, with pytest.warns)
@given(shapes=mst.broadcastable_shapes(2, min_rank=1, max_rank=3, max_side=3), data=st.data())
@example(shapes=((1, 3), (2, 3)), data=None)
def test_cross_matches_torch(shapes, data):
    rank = max(len(s) for s in shapes)  # torch's cross broadcasts sizes, not ranks
    shapes = [(1,) * (rank - len(s)) + s[:-1] + (3,) for s in shapes]  # 3-vectors along the last
    a, b = (
        np.arange(np.prod(s), dtype=np.float64).reshape(s) % 5 - 2 if data is None
        else data.draw(mst.float_arrays(s))
        for s in shapes
    )  # fmt: skip
    ndim = max(a.ndim, b.ndim)
    for dim in (-1, ndim - 1):
        assert_matches_torch(
            lambda x, y, d=dim: mg.cross(x, y, dim=d), lambda x, y, d=dim: torch.cross(x, y, dim=d),
            a, b,
            name=f"cross(dim={dim})", order=2,
        )  # fmt: skip
    first_3 = a.shape.index(3)  # dim None: a's first dim of size 3, as torch's
    with pytest.warns(UserWarning, match="deprecated"):  # as torch's
        mg.tensor(a).cross(mg.tensor(a))
    if b.shape[first_3] == 3:
        assert_matches_torch(
            lambda x, y: x.cross(y), lambda x, y: torch.cross(x, y, dim=first_3), a, b, order=2
        )
    else:  # torch broadcasts the other dims, not the vectors' own
        with pytest.raises(RuntimeError):
            torch.cross(torch.tensor(a), torch.tensor(b), dim=first_3)
        with pytest.raises(mg.errors.ShapeError, match="3-vectors"):
            mg.tensor(a).cross(mg.tensor(b))


@pytest.mark.filterwarnings("ignore:cross without dim")  # (checked once, with pytest.warns)
def test_cross_refuses_what_is_not_3_vectors():
    with pytest.raises(mg.errors.ShapeError, match="3-vectors"):
        mg.cross(mg.ones(2, 4), mg.ones(2, 4))
    with pytest.raises(mg.errors.ShapeError, match="3-vectors"):
        mg.cross(mg.ones(3, 4), mg.ones(3, 4), dim=1)
    with pytest.raises(mg.errors.ShapeError, match="one rank"):  # torch refuses it too
        mg.cross(mg.ones(3), mg.ones(2, 3))


@given(x=mst.float_arrays(), data=st.data())
@example(x=np.array(2.0), data=None)
def test_take_matches_torch(x, data):
    n = x.size
    if data is None:
        index = np.array([0, -1, 0])
    else:
        shape = data.draw(mst.shapes(0, 2, max_side=4), label="index shape")
        index = data.draw(hnp.arrays(np.int64, shape, elements=st.integers(-n, n - 1)))
    assert_matches_torch(mg.take, torch.take, x, index, order=2)  # repeats add up
    assert_matches_torch(lambda t, i: t.take(i), lambda t, i: t.take(i), x, index, order=2)


@given(case=along_a_dim(arrays=mst.float_arrays))
@example(case=(np.array([-1000.0, 0.0, 1000.0, -5.0]), 0, False))  # any spread: stable
@example(case=(np.array([2.0, 2.0, 2.0]), -1, False))  # ties: nothing special
@example(case=(np.array(3.0), 0, False))
def test_logcumsumexp_matches_torch(case):
    x, dim, _ = case
    assert_matches_torch(
        lambda t: t.logcumsumexp(dim), lambda t: t.logcumsumexp(dim), x, order=2,
        name=f"logcumsumexp({dim})",
    )  # fmt: skip
    assert_matches_torch(
        lambda t: mg.logcumsumexp(t, dim=dim), lambda t: torch.logcumsumexp(t, dim=dim), x
    )


@st.composite
def cdist_cases(draw: st.DrawFn):
    """(x1, x2): rows (..., P, M) and (..., R, M), batch dims broadcasting; every coordinate of
    either distinct from every other, so no two rows are equal (distance 0 has no gradient)
    and no difference is 0 (|d| has a kink there)."""
    batch1, batch2 = draw(mst.broadcastable_shapes(2, 0, 2, max_side=3), label="batches")
    p, r, m = draw(st.tuples(*[st.integers(1, 4)] * 3), label="P, R, M")
    s1, s2 = batch1 + (p, m), batch2 + (r, m)
    values = draw(mst.distinct_arrays((int(np.prod(s1)) + int(np.prod(s2)),)), label="values")
    return values[: np.prod(s1)].reshape(s1), values[np.prod(s1) :].reshape(s2)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5])
@given(case=cdist_cases())
def test_cdist_matches_torch(p, case):
    assert_matches_torch(
        lambda a, b: mg.cdist(a, b, p), lambda a, b: torch.cdist(a, b, p), *case,
        name=f"cdist(p={p})",
    )  # fmt: skip

    # torch's cdist has no second derivative (its backward's backward is not implemented):
    # the second derivatives against torch's autograd of the same formula written out
    def by_formula(a, b):
        return ((a.unsqueeze(-2) - b.unsqueeze(-3)).abs() ** p).sum(-1) ** (1 / p)

    assert_matches_torch(
        lambda a, b: mg.cdist(a, b, p), by_formula, *case, name=f"cdist(p={p})", order=2
    )


def test_cdist_refuses_what_torch_refuses_and_what_it_has_not():
    rows = mg.ones(2, 3, dtype=mg.float64)
    with pytest.raises(mg.errors.ShapeError, match="at least 2 dims"):
        mg.cdist(mg.ones(3), rows)
    with pytest.raises(mg.errors.ShapeError, match="features"):
        mg.cdist(rows, mg.ones(2, 4, dtype=mg.float64))
    with pytest.raises(ValueError, match="p >= 0"):
        mg.cdist(rows, rows, -1.0)
    for p in (0.0, float("inf")):
        with pytest.raises(NotImplementedError, match="not in minigrad yet"):
            mg.cdist(rows, rows, p)


@pytest.mark.parametrize("p", [0.5, 1.0, 1.5, 2.0, 3.0])
def test_cdist_of_rows_with_themselves_has_torchs_gradient(p):
    """cdist(x, x): every row meets itself at distance 0, where a norm has no derivative;
    torch's gradient takes 0 there (a composition of sqrt and sum gave NaN)."""
    x = torch.tensor([[0.0, 1.0, -2.0], [0.5, 1.0, 3.0], [0.0, 1.0, -2.0]], dtype=torch.float64)
    theirs = x.clone().requires_grad_(True)
    weights = torch.arange(1.0, 10.0, dtype=torch.float64).reshape(3, 3)
    (torch.cdist(theirs, theirs, p=p) * weights).sum().backward()
    ours = mg.tensor(x, requires_grad=True)
    (mg.cdist(ours, ours, p=p) * mg.tensor(weights)).sum().backward()
    assert torch.isfinite(ours.grad._data).all()
    assert_close(ours.grad._data, theirs.grad, what=f"cdist(x, x, p={p})", rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@given(case=along_a_dim(arrays=mst.float_arrays))
@example(case=(TIES, 1, False))  # ties: the place torch picks gets the gradient
@example(case=(np.array(3.0), 0, False))  # 0-d
def test_cummax_and_cummin_match_torch(name, case):
    x, dim, _ = case
    ours, theirs = getattr(mg, name), getattr(torch, name)
    assert_matches_torch(
        lambda t: ours(t, dim).values, lambda t: theirs(t, dim).values, x, order=2, name=name
    )
    method = lambda t: getattr(t, name)(dim=dim)[0]  # noqa: E731
    assert_matches_torch(method, method, x, name=name)
    data = torch.from_numpy(x)
    assert torch.equal(ours(mg.tensor(data), dim).indices._data, theirs(data, dim).indices)


@pytest.mark.parametrize("part", ["min", "max"])
@given(case=along_a_dim(arrays=mst.float_arrays), everything=st.booleans())
@example(case=(TIES, 1, False), everything=False)  # ties share the gradient
@example(case=(TIES, 0, True), everything=True)
def test_aminmax_matches_torch(part, case, everything):
    x, dim, keepdim = case
    options = {"keepdim": keepdim} if everything else {"dim": dim, "keepdim": keepdim}
    assert_matches_torch(
        lambda t: getattr(mg.aminmax(t, **options), part),
        lambda t: getattr(torch.aminmax(t, **options), part),
        x,
        order=2,
        name=f"aminmax({options}).{part}",
    )
    assert mg.tensor(x).aminmax(**options)._fields == ("min", "max")


def test_named_results_print_as_torch_s():
    """x.max(1), x.sort(), linalg.qr(A)...: torch.return_types.<name>(...), a field per line, as
    torch prints them (outside the graph here: where minigrad's node differs from torch's, as
    a sort's gather, its grad_fn would too)."""
    x = torch.tensor([[1.0, 3.0, 2.0], [4.0, 0.5, 0.5]], dtype=torch.float64)
    A = x[:, :2] @ x[:, :2].T + torch.eye(2, dtype=torch.float64)
    calls = {
        "max": lambda t, lib, a: t.max(1),
        "min": lambda t, lib, a: t.min(dim=0, keepdim=True),
        "sort": lambda t, lib, a: t.sort(descending=True),
        "topk": lambda t, lib, a: t.topk(2),
        "kthvalue": lambda t, lib, a: t.kthvalue(2),
        "median": lambda t, lib, a: t.median(1),
        "nanmedian": lambda t, lib, a: t.nanmedian(0),
        "mode": lambda t, lib, a: t.mode(1),
        "cummax": lambda t, lib, a: t.cummax(1),
        "cummin": lambda t, lib, a: t.cummin(0),
        "aminmax": lambda t, lib, a: t.aminmax(),
        "histogram": lambda t, lib, a: t.histogram(3),
        "svd": lambda t, lib, a: a.svd(),
        "slogdet": lambda t, lib, a: a.slogdet(),
        "linalg_qr": lambda t, lib, a: lib.linalg.qr(a),
        "linalg_slogdet": lambda t, lib, a: lib.linalg.slogdet(a),
        "linalg_svd": lambda t, lib, a: lib.linalg.svd(a),
        "linalg_eigh": lambda t, lib, a: lib.linalg.eigh(a),
        "linalg_lstsq": lambda t, lib, a: lib.linalg.lstsq(a, a[:, :1]),
    }
    computed_otherwise = ("svd", "linalg_svd", "linalg_eigh", "linalg_lstsq")  # (last digits)
    for name, call in calls.items():
        theirs = call(x, torch, A)
        ours = call(mg.tensor(x), mg, mg.tensor(A))
        assert type(ours).__name__ == type(theirs).__name__ == name
        fields = [re.findall(r"^(\w+)=", repr(r), re.MULTILINE) for r in (ours, theirs)]
        assert fields[0] == fields[1] == list(ours._fields), name
        if name not in computed_otherwise:
            assert repr(ours) == repr(theirs), name
