"""Reductions against torch autograd (float64, rtol 1e-7, atol 1e-9) and finite differences.

sum, mean (with a dtype too), var, std, norm, max and min (whole tensor and along a dim), topk,
sort, logsumexp, log_softmax, softmax and cumsum, over every kind of `dim`: None, one dim,
negative dims, tuples of dims, with and without keepdim (and NumPy's names: axis, keepdims).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

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
            + t.min(-1).values.sum()
            + t.var(0).sum()
            + t.std((1, 2), correction=0).sum()
            + t.norm(dim=1).sum()
            + t.softmax(0)[1, 2, 3]
            + t.topk(2).values.sum()
        )

    assert_matches_torch(fn, fn, x, device=device)


# ---- var, std -------------------------------------------------------------------------------

CORRECTIONS = st.sampled_from(["default", "unbiased=False", 0, 1, 2, 0.5])


def variance_kwargs(correction) -> dict:
    if correction == "default":
        return {}
    if correction == "unbiased=False":
        return {"unbiased": False}
    return {"correction": correction}


# torch warns where n - correction <= 0, for minigrad's forward (which is torch's) and its own
IGNORE_DOF_WARNING = pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0")


@IGNORE_DOF_WARNING
@pytest.mark.parametrize("name", ["var", "std"])
@given(case=reduction_cases(), correction=CORRECTIONS)
@example(case=(np.array([1.0, 2.0, 4.0]), None, False), correction="default")
@example(case=(np.ones((2, 3)), 1, True), correction=0)  # all equal: std' is 0 there, not NaN
@example(case=(np.array([[1.0], [3.0]]), 1, False), correction=1)  # n - correction = 0: inf/NaN
@example(case=(np.array([1.0, 2.0]), 0, False), correction=2)  # n - correction < 0
@example(case=(np.array(2.0), None, False), correction=0)  # 0-d
def test_var_and_std_match_torch(name, case, correction):
    x, dim, keepdim = case
    kwargs = variance_kwargs(correction)
    if dim is None and not keepdim:

        def reduce(t):
            return getattr(t, name)(**kwargs)
    else:

        def reduce(t):
            return getattr(t, name)(dim, keepdim=keepdim, **kwargs)

    assert_matches_torch(reduce, reduce, x, name=f"{name}(dim={dim}, {kwargs})")


@IGNORE_DOF_WARNING
@pytest.mark.parametrize("name", ["var", "std"])
@given(x=mst.float_arrays(mst.shapes(min_rank=1)), unbiased=st.booleans(), keepdim=st.booleans())
def test_var_and_std_positional_arguments_match_torch(name, x, unbiased, keepdim):
    # torch's older signature: var(dim, unbiased, keepdim), and var(unbiased) with no dim
    assert_matches_torch(
        lambda t: getattr(t, name)(0, unbiased, keepdim),
        lambda t: getattr(t, name)(0, unbiased, keepdim),
        x,
    )
    assert_matches_torch(
        lambda t: getattr(t, name)(unbiased), lambda t: getattr(t, name)(unbiased), x
    )


@st.composite
def spread_reduction_cases(draw: st.DrawFn) -> tuple[np.ndarray, object, bool, int]:
    """(x, dim, keepdim, correction) with distinct values and n - correction >= 1 for each
    reduced group: var and std are smooth there, so finite differences can check them."""
    x, dim, keepdim = draw(
        reduction_cases(arrays=mst.distinct_arrays, shapes=lambda: mst.small_shapes(min_rank=1))
    )
    reduced = np.ones_like(x).sum(axis=dim).size
    count = x.size // reduced
    return x, dim, keepdim, draw(st.integers(0, count - 1), label="correction")


@pytest.mark.parametrize("name", ["var", "std"])
@given(case=spread_reduction_cases())
def test_var_and_std_pass_gradcheck(name, case):
    x, dim, keepdim, correction = case
    gradcheck(
        lambda t: getattr(t, name)(dim, correction=correction, keepdim=keepdim),
        x,
        name=f"{name}(dim={dim}, correction={correction})",
    )


# ---- norm -------------------------------------------------------------------------------------

NORM_ORDERS = st.sampled_from([None, "fro", 2, 1, 3, 0.5, 1.5, 0, float("inf"), -float("inf")])


@given(case=reduction_cases(), p=NORM_ORDERS)
@example(case=(np.zeros(3), None, False), p=2)  # at 0: torch's subgradient 0, not NaN
@example(case=(np.zeros((2, 2)), 1, True), p=1.5)
@example(case=(np.array([[0.0, 2.0], [0.0, 0.0]]), 1, False), p=0.5)  # p < 1 at x = 0
@example(case=(np.array([3.0, -3.0, 1.0]), None, False), p=float("inf"))  # ties share
@example(case=(np.array([[1.0, -1.0], [0.0, 2.0]]), -1, False), p=-float("inf"))
@example(case=(np.array([1.0, 0.0, -2.0]), 0, False), p=0)  # a count: no gradient at all
def test_norm_matches_torch(case, p):
    x, dim, keepdim = case
    if p == "fro" and isinstance(dim, tuple) and len(dim) > 2:
        with pytest.raises(NotImplementedError, match="matrix norm"):
            mg.tensor(x).norm(p, dim)
        return
    assert_matches_torch(
        lambda t: t.norm(p, dim, keepdim),
        lambda t: t.norm(p, dim, keepdim),
        x,
        name=f"norm(p={p}, dim={dim}, keepdim={keepdim})",
    )


@given(case=reduction_cases(), p=NORM_ORDERS.filter(lambda p: p not in (None, "fro")))
def test_norm_function_matches_torch(case, p):
    x, dim, keepdim = case
    assert_matches_torch(
        lambda t: mg.norm(t, p=p, dim=dim, keepdim=keepdim),
        lambda t: torch.norm(t, p=p, dim=dim, keepdim=keepdim),
        x,
        name=f"minigrad.norm(p={p}, dim={dim})",
    )


@given(
    case=reduction_cases(arrays=mst.distinct_arrays, shapes=mst.small_shapes),
    p=NORM_ORDERS.filter(lambda p: p != 0),
)
def test_norm_passes_gradcheck(case, p):
    x, dim, keepdim = case  # distinct values: off 0, and no ties for inf
    if p == "fro" and isinstance(dim, tuple) and len(dim) > 2:  # refused: see test_norm_matches
        with pytest.raises(NotImplementedError, match="matrix norm"):
            mg.tensor(x).norm(p, dim)
        return
    gradcheck(lambda t: t.norm(p, dim, keepdim), x, name=f"norm(p={p}, dim={dim})")


# ---- softmax, min, topk, sort -----------------------------------------------------------------


def float32_arrays(shape):
    return mst.float_arrays(shape).map(lambda a: a.astype(np.float32))


@given(x=float32_arrays(mst.shapes(min_rank=1)), data=st.data())
def test_softmax_with_a_dtype_computes_in_that_dtype(x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    for name in ("softmax", "log_softmax"):
        assert_matches_torch(
            lambda t, name=name: getattr(t, name)(dim, dtype=torch.float64),
            lambda t, name=name: getattr(t, name)(dim, dtype=torch.float64),
            x,
            name=f"{name}({dim}, dtype=float64)",
        )


@given(x=mst.distinct_arrays(mst.small_shapes(min_rank=1)), data=st.data())
def test_softmax_passes_gradcheck(x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    gradcheck(lambda t: t.softmax(dim), x, name=f"softmax({dim})")


@pytest.mark.parametrize("name", ["sum", "mean"])
@given(case=reduction_cases(arrays=float32_arrays))
def test_sum_and_mean_with_a_dtype_match_torch(name, case):
    x, dim, keepdim = case  # float32 in, float64 out; the gradient comes back as float32
    assert_matches_torch(
        lambda t: getattr(t, name)(dim, keepdims=keepdim, dtype=torch.float64),
        lambda t: getattr(t, name)(dim, keepdims=keepdim, dtype=torch.float64),
        x,
        name=f"{name}(dim={dim}, dtype=float64)",
    )


@given(x=mst.float_arrays())
@example(x=np.array([1.0, -3.0, -3.0, 2.0]))  # a tie: torch splits the gradient
@example(x=np.array(5.0))
def test_min_of_everything_matches_torch(x):
    assert_matches_torch(lambda t: t.min(), lambda t: t.min(), x, name="min()")


@given(case=reduction_cases(dim_required=True).filter(lambda c: isinstance(c[1], int)))
@example(case=(np.array([[1.0, -3.0, -3.0], [0.0, 0.0, 2.0]]), 1, False))  # ties: one index
@example(case=(np.array(4.0), 0, True))
def test_min_along_dim_matches_torch(case):
    x, dim, keepdim = case
    assert_matches_torch(
        lambda t: t.min(dim, keepdims=keepdim).values,
        lambda t: t.min(dim, keepdims=keepdim).values,
        x,
        name=f"min(dim={dim}, keepdim={keepdim}).values",
    )
    ours, theirs = mg.tensor(x).min(dim, keepdim), torch.tensor(x).min(dim, keepdim)
    assert ours.indices.tolist() == theirs.indices.tolist()


@st.composite
def topk_cases(draw: st.DrawFn) -> tuple[np.ndarray, int, int, bool]:
    x = draw(mst.float_arrays(mst.shapes(min_rank=1)), label="x")
    dim = draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    k = draw(st.integers(0, x.shape[dim]), label="k")
    return x, k, dim, draw(st.booleans(), label="largest")


@given(case=topk_cases())
@example(case=(np.array([2.0, 5.0, 5.0, 1.0]), 2, 0, True))  # ties
def test_topk_matches_torch(case):
    x, k, dim, largest = case
    assert_matches_torch(
        lambda t: t.topk(k, dim, largest).values,
        lambda t: t.topk(k, dim, largest).values,
        x,
        name=f"topk({k}, dim={dim}, largest={largest}).values",
    )
    ours, theirs = mg.topk(mg.tensor(x), k, dim, largest), torch.tensor(x).topk(k, dim, largest)
    assert ours.indices.tolist() == theirs.indices.tolist()


@given(x=mst.float_arrays(mst.shapes(min_rank=1)), data=st.data())
@example(x=np.array([3.0, 1.0, 3.0, 2.0]), data=None)  # ties: stable order
def test_sort_matches_torch(x, data):
    dim, descending = (
        (0, True)
        if data is None
        else (
            data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim"),
            data.draw(st.booleans(), label="descending"),
        )
    )
    options = {"dim": dim, "descending": descending, "stable": True}
    assert_matches_torch(
        lambda t: t.sort(**options).values,
        lambda t: t.sort(**options).values,
        x,
        name=f"sort(dim={dim}, descending={descending})",
    )
    ours = mg.tensor(x).sort(**options).indices
    assert ours.tolist() == torch.tensor(x).sort(**options).indices.tolist()
    assert mg.tensor(x).argsort(**options).tolist() == ours.tolist()


@given(x=mst.distinct_arrays(mst.small_shapes(min_rank=1)), data=st.data())
def test_min_topk_and_sort_pass_gradcheck(x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    gradcheck(lambda t: t.min(), x, name="min()")
    gradcheck(lambda t: t.min(dim).values, x, name=f"min({dim}).values")
    gradcheck(lambda t: t.topk(1, dim).values, x, name=f"topk(1, {dim}).values")
    gradcheck(lambda t: t.sort(dim).values, x, name=f"sort({dim}).values")


@pytest.mark.parametrize(
    "name", ["sum", "mean", "var", "std", "max", "min", "argmax", "argmin", "logsumexp"]
)
def test_reductions_take_numpys_argument_names_as_torch_does(name):
    x = np.arange(6.0).reshape(2, 3)
    ours = getattr(mg.tensor(x), name)(axis=1, keepdims=True)
    theirs = getattr(torch.tensor(x), name)(axis=1, keepdims=True)
    ours, theirs = (ours.values, theirs.values) if name in ("max", "min") else (ours, theirs)
    assert ours.shape == theirs.shape == (2, 1)
    assert ours.tolist() == theirs.tolist()
    dim = (0,) if name == "logsumexp" else ()  # logsumexp needs a dim
    ours = getattr(mg, name)(mg.tensor(x), *dim)
    theirs = getattr(torch, name)(torch.tensor(x), *dim)
    assert ours.tolist() == theirs.tolist()  # the function form


@given(x=mst.float_arrays(mst.shapes()), data=st.data())
@example(x=np.array(2.0), data=None)  # 0-d
def test_cumsum_matches_torch(x, data):
    dim = 0 if data is None else data.draw(st.integers(-max(x.ndim, 1), max(x.ndim - 1, 0)))
    assert_matches_torch(lambda t: t.cumsum(dim), lambda t: t.cumsum(dim), x, name=f"cumsum({dim})")
    assert_matches_torch(lambda t: mg.cumsum(t, axis=dim), lambda t: torch.cumsum(t, axis=dim), x)


@given(x=mst.distinct_arrays(mst.small_shapes(min_rank=1)), data=st.data())
def test_cumsum_passes_gradcheck(x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    gradcheck(lambda t: t.cumsum(dim), x, name=f"cumsum({dim})")


@given(pair=mst.broadcastable_shapes(2).flatmap(lambda s: st.tuples(*map(mst.float_arrays, s))))
@example(pair=(np.array([1.0, 2.0]), np.array([1.0, 3.0])))  # a tie: torch splits the gradient
def test_min_with_a_tensor_is_the_elementwise_minimum_as_in_torch(pair):
    assert_matches_torch(lambda a, b: a.min(b), lambda a, b: a.min(b), *pair, name="a.min(b)")
    assert_matches_torch(lambda a, b: mg.min(a, b), lambda a, b: torch.min(a, b), *pair)


# ---- second derivatives: create_graph=True through each reduction, against torch ------------
#
# assert_matches_torch(order=2): the first derivatives taken with create_graph=True, then the
# gradient of sum(dL/dx * v) with respect to x and to the upstream gradient, against torch's,
# over the drawn shapes, dims and options of the tests above. A linear reduction is also taken
# squared, so that its backward's graph meets one that depends on x. Where a reduction selects
# (max, min, topk, sort, norm's inf) the values are distinct: no tie splits a gradient.


def squared(fn):
    return lambda t: fn(t) ** 2


@pytest.mark.parametrize("name", ["sum", "mean"])
@given(case=reduction_cases())
@example(case=(np.array(2.0), None, False))
@example(case=(np.ones((2, 1, 3)), (0, -1), True))
def test_sum_and_mean_second_derivatives_match_torch(name, case):
    x, dim, keepdim = case

    def reduce(t):
        return getattr(t, name)() if dim is None else getattr(t, name)(dim, keepdim=keepdim)

    assert_matches_torch(reduce, reduce, x, order=2, name=f"{name}(dim={dim})")
    assert_matches_torch(squared(reduce), squared(reduce), x, order=2, name=f"{name}(dim={dim})^2")


@IGNORE_DOF_WARNING
@pytest.mark.parametrize("name", ["var", "std"])
@given(case=spread_reduction_cases())
def test_var_and_std_second_derivatives_match_torch(name, case):
    x, dim, keepdim, correction = case  # distinct values: std > 0, n - correction >= 1

    def reduce(t):
        return getattr(t, name)(dim, correction=correction, keepdim=keepdim)

    assert_matches_torch(reduce, reduce, x, order=2, name=f"{name}(dim={dim}, {correction})")


@st.composite
def off_zero_and_ties(draw: st.DrawFn, shapes=mst.shapes) -> np.ndarray:
    """Values whose magnitudes are distinct and at least 0.1, with drawn signs: off the kinks
    of |x| (0) and off ties of |x| (the largest and smallest magnitudes)."""
    magnitudes = draw(mst.distinct_arrays(shapes(), 0.1, 5.0, avoid=-1.0), label="|x|")
    signs = draw(mst.hnp.arrays(np.float64, magnitudes.shape,
                                elements=st.sampled_from([-1.0, 1.0])), label="signs")  # fmt: skip
    return magnitudes * signs


@given(x=off_zero_and_ties(), data=st.data(), p=NORM_ORDERS)
def test_norm_second_derivatives_match_torch(x, data, p):
    dim = data.draw(mst.reduction_dims(x.ndim), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    if p == "fro" and isinstance(dim, tuple) and len(dim) > 2:
        return  # a matrix norm: refused (test_norm_matches_torch)
    assert_matches_torch(
        lambda t: t.norm(p, dim, keepdim),
        lambda t: t.norm(p, dim, keepdim),
        x,
        order=2,
        name=f"norm(p={p}, dim={dim}, keepdim={keepdim})",
    )


@given(x=mst.distinct_arrays(mst.shapes()), data=st.data())
def test_max_min_topk_and_sort_second_derivatives_match_torch(x, data):
    assert_matches_torch(squared(lambda t: t.max()), squared(lambda t: t.max()), x, order=2)
    assert_matches_torch(squared(lambda t: t.min()), squared(lambda t: t.min()), x, order=2)
    if x.ndim == 0:
        return
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    keepdim = data.draw(st.booleans(), label="keepdim")
    k = data.draw(st.integers(0, x.shape[dim]), label="k")
    programs = {
        f"max({dim}, keepdim={keepdim})": lambda t: t.max(dim, keepdim=keepdim).values,
        f"min({dim}, keepdim={keepdim})": lambda t: t.min(dim, keepdim=keepdim).values,
        f"topk({k}, {dim})": lambda t: t.topk(k, dim).values,
        f"sort({dim})": lambda t: t.sort(dim).values,
    }
    for name, program in programs.items():
        assert_matches_torch(program, program, x, order=2, name=name)
        assert_matches_torch(squared(program), squared(program), x, order=2, name=f"{name}^2")


@given(case=reduction_cases(dim_required=True))
@example(case=(np.array([[1000.0, -1000.0, 0.0]]), 1, False))
def test_logsumexp_second_derivatives_match_torch(case):
    x, dim, keepdim = case
    assert_matches_torch(
        lambda t: t.logsumexp(dim, keepdim=keepdim),
        lambda t: t.logsumexp(dim, keepdim=keepdim),
        x,
        order=2,
        name=f"logsumexp(dim={dim}, keepdim={keepdim})",
    )


@pytest.mark.parametrize("name", ["log_softmax", "softmax"])
@given(x=mst.float_arrays(mst.shapes(min_rank=1)), data=st.data())
@example(x=np.array([[1000.0, -1000.0, 30.0]]), data=None)  # saturated
def test_log_softmax_and_softmax_second_derivatives_match_torch(name, x, data):
    dim = -1 if data is None else data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    assert_matches_torch(
        lambda t: getattr(t, name)(dim), lambda t: getattr(t, name)(dim), x, order=2,
        name=f"{name}(dim={dim})",
    )  # fmt: skip


@given(x=mst.float_arrays(mst.shapes()), data=st.data())
def test_cumsum_second_derivatives_match_torch(x, data):
    dim = data.draw(st.integers(-max(x.ndim, 1), max(x.ndim - 1, 0)), label="dim")
    cumsum = squared(lambda t: t.cumsum(dim))
    assert_matches_torch(cumsum, cumsum, x, order=2, name=f"cumsum({dim})^2")


@given(x=mst.float_arrays(mst.shapes(min_rank=1)), data=st.data())
def test_flip_second_derivatives_match_torch(x, data):
    dims = data.draw(st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=1, max_size=x.ndim,
                              unique_by=lambda d: d % x.ndim), label="dims")  # fmt: skip
    flip = squared(lambda t: t.flip(dims) * t)
    assert_matches_torch(flip, flip, x, order=2, name=f"flip({dims})")
    assert_matches_torch(lambda t: t.flip(*dims), lambda t: t.flip(dims), x, name="flip(*dims)")


def test_a_reductions_gradient_differentiated_three_times_is_torchs():
    """d/dx of d/dx of d/dx: each backward recorded in turn (softmax, logsumexp, std, prod)."""
    x = np.array([[0.3, -1.2, 2.0], [1.5, 0.1, -0.7]])
    programs = [
        lambda t: t.softmax(1)[:, 0].sum(),
        lambda t: t.logsumexp(0).sum(),
        lambda t: t.std(1).sum(),
        lambda t: t.prod(1).sum(),
        lambda t: t.norm(3, dim=0).sum(),
    ]
    for program in programs:
        ours, theirs = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        d_ours, d_theirs = program(ours), program(theirs)
        for _ in range(3):
            (d_ours,) = mg.autograd.grad(d_ours.sum(), ours, create_graph=True)
            (d_theirs,) = torch.autograd.grad(d_theirs.sum(), theirs, create_graph=True)
            torch.testing.assert_close(d_ours._data, d_theirs.detach(), rtol=1e-7, atol=1e-9)


# ---- amax and amin: ties share the gradient evenly ---------------------------------------------

FEW_VALUES = st.sampled_from([-1.0, 0.0, 0.5, 2.0])  # so that ties are common


@st.composite
def tied_reduction_cases(draw: st.DrawFn) -> tuple[np.ndarray, object, bool]:
    """(x, dim, keepdim) with x's values among four: several elements often tie for the
    extreme; dim None, () (torch's default: every dim), one dim or a tuple."""
    x = draw(hnp.arrays(np.float64, mst.shapes(), elements=FEW_VALUES), label="x")
    dim = draw(mst.reduction_dims(x.ndim) | st.just(()), label="dim")
    return x, dim, draw(st.booleans(), label="keepdim")


AMAX_AMIN = {
    "amax": (mg.Tensor.amax, torch.amax),
    "amin": (mg.amin, torch.amin),
}


@pytest.mark.parametrize("name", AMAX_AMIN)
@given(case=tied_reduction_cases())
@example(case=(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]), 1, False))  # two ties of two
@example(case=(np.full((2, 3), 2.0), (), False))  # all six tie: 1/6 each
@example(case=(np.array([1.0, np.nan, 3.0, np.nan]), 0, False))  # NaN is nobody's equal: NaN
@example(case=(np.array(2.0), 0, True))  # 0-d
@example(case=(np.ones((2, 1, 3)), (0, -1), True))  # a tuple with a negative dim, keepdim
def test_amax_and_amin_share_ties_evenly_as_torch(name, case):
    x, dim, keepdim = case
    ours, theirs = AMAX_AMIN[name]
    label = f"{name}(dim={dim}, keepdim={keepdim})"
    assert_matches_torch(
        lambda t: ours(t, dim, keepdim), lambda t: theirs(t, dim, keepdim), x, name=label
    )


@pytest.mark.parametrize("name", AMAX_AMIN)
@given(case=reduction_cases(arrays=mst.distinct_arrays, shapes=mst.small_shapes))
def test_amax_and_amin_pass_gradcheck_and_their_second_derivatives_match_torch(name, case):
    x, dim, keepdim = case
    ours, theirs = AMAX_AMIN[name]
    gradcheck(lambda t: ours(t, dim, keepdim), x, name=f"{name}(dim={dim})")
    assert_matches_torch(
        squared(lambda t: ours(t, dim=dim, keepdim=keepdim)),
        squared(lambda t: theirs(t, dim=dim, keepdim=keepdim)),
        x,
        order=2,
        name=f"{name}(dim={dim})^2",
    )


def test_amax_defaults_to_every_dim_and_takes_numpy_s_names():
    x = np.array([[1.0, 5.0], [5.0, -2.0]])
    assert_matches_torch(lambda t: t.amax(), lambda t: t.amax(), x)
    assert_matches_torch(
        lambda t: t.amin(axis=0, keepdims=True), lambda t: t.amin(0, keepdim=True), x
    )
    with pytest.raises(IndexError):
        torch.zeros(0, 3).amax(0)
    with pytest.raises(IndexError):
        mg.zeros(0, 3).amax(0)
