"""Reductions against torch autograd (float64, rtol 1e-7, atol 1e-9) and finite differences.

sum, mean, max (whole tensor and along a dim), logsumexp, log_softmax and softmax, over every
kind of `dim`: None, one dim, negative dims, tuples of dims, with and without keepdim.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.testing import assert_matches_torch, gradcheck
from minigrad.testing import strategies as mst


@st.composite
def reduction_cases(
    draw: st.DrawFn, dim_required: bool = False, arrays=mst.float_arrays, shapes=mst.shapes
) -> tuple[np.ndarray, object, bool]:
    """(x, dim, keepdim) for a reduction; dim is never None when `dim_required`."""
    x = draw(arrays(shapes()), label="x")
    dims = mst.reduction_dims(x.ndim)
    dim = draw(dims.filter(lambda d: d is not None) if dim_required else dims, label="dim")
    return x, dim, draw(st.booleans(), label="keepdim")


@pytest.mark.parametrize("name", ["sum", "mean"])
@given(case=reduction_cases())
@example(case=(np.array(2.0), None, False))  # 0-d
@example(case=(np.array(2.0), 0, False))  # 0-d reduced over its only "dim", as torch allows
@example(case=(np.ones((2, 1, 3)), (0, -1), True))  # a tuple with a negative dim, keepdim
@example(case=(np.ones((2, 1, 3)), 1, False))  # a size-1 dim
def test_sum_and_mean_match_torch(name, case):
    x, dim, keepdim = case

    def reduce(t):
        return getattr(t, name)() if dim is None else getattr(t, name)(dim, keepdim=keepdim)

    assert_matches_torch(reduce, reduce, x, name=f"{name}(dim={dim}, keepdim={keepdim})")


@given(x=mst.float_arrays())
@example(x=np.array([1.0, 3.0, 3.0, -2.0]))  # a tie: torch splits the gradient between ties
@example(x=np.zeros((2, 2)))  # everything ties
@example(x=np.array(5.0))
@example(x=np.array([1.0, np.nan, 3.0, np.nan]))  # NaN is the max: the NaNs share the gradient
def test_max_of_everything_matches_torch(x):
    assert_matches_torch(lambda t: t.max(), lambda t: t.max(), x, name="max()")


@given(case=reduction_cases(dim_required=True).filter(lambda c: isinstance(c[1], int)))
@example(case=(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]), 1, False))  # ties: one index wins
@example(case=(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]), -2, True))
@example(case=(np.array(4.0), 0, False))
def test_max_along_dim_matches_torch(case):
    x, dim, keepdim = case
    assert_matches_torch(
        lambda t: t.max(dim, keepdim=keepdim).values,
        lambda t: t.max(dim, keepdim=keepdim).values,
        x,
        name=f"max(dim={dim}, keepdim={keepdim}).values",
    )
    indices = mg.tensor(x).max(dim, keepdim=keepdim).indices
    assert indices.tolist() == torch.tensor(x).max(dim, keepdim=keepdim).indices.tolist()


@given(case=reduction_cases(dim_required=True))
@example(case=(np.array([[1000.0, -1000.0, 0.0]]), 1, False))  # no overflow
def test_logsumexp_matches_torch(case):
    x, dim, keepdim = case
    assert_matches_torch(
        lambda t: t.logsumexp(dim, keepdim=keepdim),
        lambda t: t.logsumexp(dim, keepdim=keepdim),
        x,
        name=f"logsumexp(dim={dim}, keepdim={keepdim})",
    )


@pytest.mark.parametrize("name", ["log_softmax", "softmax"])
@given(data=st.data())
@example(data=None)
def test_log_softmax_and_softmax_match_torch(name, data):
    if data is None:  # the @example: 0-d, and a size-1 dim (softmax over one element is 1)
        cases = [(np.array(1.5), 0), (np.ones((3, 1)), -1)]
    else:
        x = data.draw(mst.float_arrays(mst.shapes(min_rank=1)), label="x")
        cases = [(x, data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim"))]
    for x, dim in cases:
        assert_matches_torch(
            lambda t, dim=dim: getattr(t, name)(dim),
            lambda t, dim=dim: getattr(t, name)(dim),
            x,
            name=f"{name}(dim={dim})",
        )


@given(
    magnitude=mst.float_arrays(mst.shapes(min_rank=1), 30, 1000),
    signs=st.data(),
)
@example(magnitude=np.array([1000.0, 1000.0, 30.0]), signs=None)
def test_log_softmax_saturates_with_finite_values(magnitude, signs):
    if signs is None:
        sign = np.array([1.0, -1.0, 1.0])
    else:
        sign = signs.draw(
            mst.hnp.arrays(np.float64, magnitude.shape, elements=st.sampled_from([-1.0, 1.0]))
        )
    x = magnitude * sign
    assert_matches_torch(lambda t: t.log_softmax(-1), lambda t: t.log_softmax(-1), x)
    t = mg.tensor(x, requires_grad=True)
    out = t.log_softmax(-1)
    out.backward(mg.ones_like(out))
    assert torch.isfinite(out._data).all()
    assert torch.isfinite(t.grad._data).all()


def test_log_softmax_gradient_vanishes_when_one_logit_dominates():
    x = mg.tensor([[1000.0, -1000.0, 0.0]], dtype=mg.float64, requires_grad=True)
    x.log_softmax(-1)[0, 0].backward()  # d log p_0 / dx = onehot(0) - p, and p = onehot(0)
    assert (x.grad._data.abs() < 1e-12).all()


# ---- finite differences: distinct values, so max has one winner --------------------------------


REDUCTIONS = {
    "sum": lambda t, dim, keepdim: t.sum(dim, keepdim=keepdim),
    "mean": lambda t, dim, keepdim: t.mean(dim, keepdim=keepdim),
    "logsumexp": lambda t, dim, keepdim: t.logsumexp(dim, keepdim=keepdim),
}


@pytest.mark.parametrize("name", REDUCTIONS)
@given(case=reduction_cases(dim_required=True, arrays=mst.distinct_arrays, shapes=mst.small_shapes))
def test_reduction_passes_gradcheck(name, case):
    x, dim, keepdim = case
    gradcheck(lambda t: REDUCTIONS[name](t, dim, keepdim), x, name=f"{name}(dim={dim})")


@given(x=mst.distinct_arrays(mst.small_shapes(min_rank=1)), data=st.data())
def test_max_and_log_softmax_pass_gradcheck(x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    gradcheck(lambda t: t.max(), x, name="max()")
    gradcheck(lambda t: t.max(dim).values, x, name=f"max({dim}).values")
    gradcheck(lambda t: t.log_softmax(dim), x, name=f"log_softmax({dim})")


def test_reductions_on_device(device):
    x = np.linspace(-2, 2, 24).reshape(2, 3, 4)

    def fn(t):
        return (
            t.sum(0).mean()
            + t.max(1).values.sum()
            + t.max()
            + t.logsumexp((0, 2)).sum()
            + t.log_softmax(-1)[0, 1, 2]
        )

    assert_matches_torch(fn, fn, x, device=device)
