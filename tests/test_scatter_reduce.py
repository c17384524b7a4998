"""scatter_reduce, against torch in float64: x with src's values reduced into the places an index
names along a dim (sum, prod, mean, amax, amin), with x's own value included or not. Values and
gradients over shapes, dims and indices Hypothesis draws; ties for amax and amin, which share
the gradient as torch's do (drawn on purpose: values from a small set), and zeros for prod
(none, one, or several at a place); the second derivatives where torch has them, and the
in-place form. src larger than the index: its other values take no part and get 0 (torch's
backward refuses that case, so the reference there is torch on the part the index reaches).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import ShapeError
from minigrad.testing import assert_matches_torch
from minigrad.testing import strategies as mst

REDUCTIONS = ["sum", "prod", "mean", "amax", "amin"]


@st.composite
def scatter_cases(
    draw: st.DrawFn, ties: bool = False, zeros: bool = False, larger_src: bool = False
) -> tuple:
    """x, src, an index into x along dim (of src's shape, or with `larger_src` no larger than
    it; but along dim no larger than x's), and dim. With `ties`, values from a handful (equal
    values come up often); with `zeros`, some values 0."""
    shape = draw(mst.shapes(min_rank=1, max_rank=3, min_side=1, max_side=4))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    index_shape = tuple(
        draw(st.integers(1, 5)) if d == dim % len(shape) else draw(st.integers(1, side))
        for d, side in enumerate(shape)
    )
    src_shape = tuple(n + draw(st.integers(0, 1 if larger_src else 0)) for n in index_shape)
    index = draw(mst.hnp.arrays(np.int64, index_shape, elements=st.integers(0, shape[dim] - 1)))
    if ties or zeros:
        choices = [-1.5, 0.5, 2.0] + ([0.0] if zeros else [])
        values = st.sampled_from(choices)
        x = draw(mst.hnp.arrays(np.float64, shape, elements=values))
        src = draw(mst.hnp.arrays(np.float64, src_shape, elements=values))
    else:
        x = draw(mst.float_arrays(shape, -3, 3))
        src = draw(mst.float_arrays(src_shape, -3, 3))
    return x, src, index, dim


def away_from_zero(values: np.ndarray) -> np.ndarray:
    """Each value of magnitude below 0.5 made 0.5, by construction (for products)."""
    return np.where(np.abs(values) < 0.5, 0.5, values)


def matches_torch(reduce: str, include_self: bool, case: tuple, name: str, order: int = 1):
    """x.scatter_reduce(dim, index, src, reduce) in minigrad against torch, on a drawn case."""
    x, src, index, dim = case
    assert_matches_torch(
        scatter_reduce(mg, reduce, include_self, dim),
        scatter_reduce(torch, reduce, include_self, dim),
        x,
        src,
        index,
        name=f"scatter_reduce(dim={dim}, {reduce!r}, include_self={include_self}){name}",
        order=order,
    )


def scatter_reduce(lib, reduce: str, include_self: bool, dim: int):
    return lambda x, src, index: x.scatter_reduce(
        dim, index, src, reduce, include_self=include_self
    )


@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("include_self", [True, False])
@given(case=scatter_cases())
def test_scatter_reduce_matches_torch(reduce, include_self, case):
    x, src, index, dim = case
    if reduce == "prod":  # (|values| >= 0.5: no product of up to 6 of them comes near 0)
        x, src = away_from_zero(x), away_from_zero(src)
    matches_torch(reduce, include_self, (x, src, index, dim), "")


@pytest.mark.parametrize("reduce", ["amax", "amin", "mean", "sum"])
@pytest.mark.parametrize("include_self", [True, False])
@given(case=scatter_cases(ties=True))
def test_ties_share_the_gradient_as_torch_s(reduce, include_self, case):
    matches_torch(reduce, include_self, case, " with ties")


@pytest.mark.parametrize("include_self", [True, False])
@given(case=scatter_cases(zeros=True))
def test_a_product_with_zeros_has_torch_s_gradient(include_self, case):
    matches_torch("prod", include_self, case, " with zeros")


@pytest.mark.parametrize("reduce", ["sum", "mean", "amax", "prod"])
@given(case=scatter_cases())
def test_scatter_reduce_differentiated_twice_matches_torch(reduce, case):
    x, src, index, dim = case
    if reduce == "prod":  # (torch's second derivative needs no zero at a place)
        x, src = away_from_zero(x), away_from_zero(src)
    matches_torch(reduce, True, (x, src, index, dim), ", twice", order=2)


@pytest.mark.parametrize("reduce", REDUCTIONS)
@given(case=scatter_cases(larger_src=True))
def test_src_larger_than_the_index_gives_its_other_values_a_zero_gradient(reduce, case):
    x, src, index, dim = case
    reached = tuple(slice(0, n) for n in index.shape)
    g = torch.randn(x.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ours_src = mg.tensor(src, requires_grad=True)
    mg.tensor(x).scatter_reduce(dim, mg.tensor(index), ours_src, reduce).backward(mg.tensor(g))
    theirs_src = torch.tensor(src[reached], requires_grad=True)
    torch.tensor(x).scatter_reduce(dim, torch.tensor(index), theirs_src, reduce).backward(g)
    expected = torch.zeros(src.shape, dtype=torch.float64)
    expected[reached] = theirs_src.grad
    torch.testing.assert_close(ours_src.grad._data, expected, rtol=1e-7, atol=1e-9)


def test_the_in_place_form_and_the_function_match_torch():
    index = torch.tensor([0, 1, 0, 1, 2])
    src = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=torch.float64)
    for reduce in REDUCTIONS:
        ours = mg.zeros(3, dtype=mg.float64).scatter_reduce_(
            0, mg.tensor(index), mg.tensor(src), reduce
        )
        theirs = torch.zeros(3, dtype=torch.float64).scatter_reduce_(0, index, src, reduce)
        assert torch.equal(ours._data, theirs)
        function = mg.scatter_reduce(mg.ones(3, dtype=mg.float64), 0, mg.tensor(index),
                                     mg.tensor(src), reduce, include_self=False)  # fmt: skip
        expected = torch.ones(3, dtype=torch.float64).scatter_reduce(
            0, index, src, reduce, include_self=False
        )
        assert torch.equal(function._data, expected)


def test_an_unknown_reduction_and_an_index_past_x_say_what_was_wrong():
    x, index, src = mg.zeros(3), mg.tensor([0, 5]), mg.ones(2)
    with pytest.raises(ValueError, match=r"reduce must be 'sum', 'prod', 'mean', 'amax' or 'amin'"):
        x.scatter_reduce(0, mg.tensor([0, 1]), src, "max")
    with pytest.raises((ShapeError, IndexError, RuntimeError), match="5"):
        x.scatter_reduce(0, index, src, "sum")
