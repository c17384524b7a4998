"""Order statistics against torch autograd (float64, rtol 1e-7, atol 1e-9), second order too.

median and nanmedian (of everything: ties share the gradient; along a dim: (values, indices),
the gradient to torch's index), kthvalue, mode, quantile and nanquantile (q a number or a 1-d
tensor, every interpolation; q gets torch's gradient too). Values are distinct by construction
where a tie would leave the gradient's place to a choice; the ties themselves are @examples,
checked against torch's choice of index.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.testing import assert_matches_torch
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
    assert type(got).__name__ == "ValuesIndices" and got._fields == ("values", "indices")


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
