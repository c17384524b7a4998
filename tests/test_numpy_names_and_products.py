"""torch's NumPy-style names (multiply, divide, subtract, greater...), the rest of addmm's family
(addmv, addr, baddbmm, addbmm), inner and vdot, the flips, msort, diagflat, the conjugate
transposes, sum_to_size, and a few questions a tensor answers about itself: each against torch,
as a method and as a function, values and gradients in float64 at rtol 1e-7 (second
derivatives too where the result is differentiable), over arrays Hypothesis draws.
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

# ---- NumPy's names for arithmetic and comparisons --------------------------------------------


@given(pair=mst.broadcastable_shapes(2).flatmap(lambda s: st.tuples(*map(mst.float_arrays, s))))
def test_numpy_names_of_arithmetic_match_torch(pair):
    a, b = pair
    b = np.where(np.abs(b) < 0.5, 0.5, b)  # (divide: off 0 by construction)
    for name, options in [("multiply", {}), ("subtract", {"alpha": 2.5}), ("divide", {})]:
        ours, theirs = getattr(mg, name), getattr(torch, name)
        assert_matches_torch(
            lambda x, y, f=ours, o=options: f(x, y, **o),
            lambda x, y, f=theirs, o=options: f(x, y, **o),
            a, b, order=2, name=name,
        )  # fmt: skip
        method = lambda x, y, n=name, o=options: getattr(x, n)(y, **o)  # noqa: E731
        assert_matches_torch(method, method, a, b, name=f"x.{name}")


@given(mst.float_arrays(mst.shapes(min_rank=1)), st.integers(-3, 3))
def test_rsub_matches_torch(x, number):
    """other - alpha * input: with a number for other, torch's RsubBackward1."""
    assert_matches_torch(
        lambda t: mg.rsub(t, number, alpha=0.5),
        lambda t: torch.rsub(t, number, alpha=0.5),
        x, order=2,
    )  # fmt: skip
    ours, theirs = (
        mg.rsub(mg.tensor(x, requires_grad=True), 1),
        torch.rsub(torch.tensor(x, requires_grad=True), 1),
    )
    assert ours.grad_fn.node_name == type(theirs.grad_fn).__name__ == "RsubBackward1"


@given(pair=mst.broadcastable_shapes(2).flatmap(lambda s: st.tuples(*map(mst.float_arrays, s))))
@example(pair=(np.array([1.0, 2.0, 0.0]), np.array([2.0, 2.0, 0.0])))
def test_numpy_names_of_comparisons_match_torch(pair):
    a, b = pair
    names = ["greater", "greater_equal", "less", "less_equal", "not_equal", "logical_xor"]
    for name in names:
        ours = getattr(mg, name)(mg.tensor(a), mg.tensor(b))
        theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
        assert ours.dtype == theirs.dtype == torch.bool and torch.equal(ours._data, theirs)
        assert torch.equal(getattr(mg.tensor(a), name)(b)._data, theirs)  # (b an array too)


def test_tests_of_infinities_and_reality_match_torch():
    values = torch.tensor([1.0, float("inf"), -float("inf"), float("nan"), -0.0])
    for name in ("isposinf", "isneginf", "isreal"):
        ours, theirs = getattr(mg, name)(mg.tensor(values)), getattr(torch, name)(values)
        assert torch.equal(ours._data, theirs), name


def test_a_tensor_answers_questions_about_itself_as_torch():
    ours, theirs = mg.ones(2, 3), torch.ones(2, 3)
    assert ours.is_cpu == theirs.is_cpu and ours.get_device() == theirs.get_device()
    assert ours.is_same_size(mg.zeros(2, 3)) and not ours.is_same_size(mg.zeros(3, 2))
    assert mg.tensor([2.0]).is_nonzero() and not mg.is_nonzero(mg.tensor(0.0))
    with pytest.raises(RuntimeError, match="ambiguous"):  # (torch's words: more than one value)
        ours.is_nonzero()


# ---- addmm's family: beta * input + alpha * a product ----------------------------------------


@st.composite
def plus_product_operands(draw: st.DrawFn) -> tuple[str, list[np.ndarray], float, float]:
    """One of addmv, addr, baddbmm, addbmm; its input (of a shape that broadcasts to the
    product's), its two operands; beta and alpha."""
    name = draw(st.sampled_from(["addmv", "addr", "baddbmm", "addbmm"]))
    b, n, k, m = (draw(st.integers(1, 3), label=side) for side in "bnkm")
    shapes, out = {
        "addmv": (((n, k), (k,)), (n,)),
        "addr": (((n,), (m,)), (n, m)),
        "baddbmm": (((b, n, k), (b, k, m)), (b, n, m)),
        "addbmm": (((b, n, k), (b, k, m)), (n, m)),
    }[name]
    dropped = draw(st.integers(0, len(out)), label="leading dims dropped")
    input_shape = tuple(draw(st.sampled_from([1, side])) for side in out[dropped:])
    beta, alpha = (draw(st.sampled_from([1.0, 0.0, 0.5, -2.0]), label=w) for w in ("beta", "a"))
    arrays = [draw(mst.float_arrays(shape)) for shape in (input_shape, *shapes)]
    return name, arrays, beta, alpha


@given(plus_product_operands())
@example(("addmv", [np.array([np.nan]), np.ones((1, 2)), np.ones(2)], 0.0, 2.0))
def test_addmm_s_family_matches_torch(operands):
    """First and second derivatives; with beta=0 input's values are left out (a NaN in it stays
    out of the result) and its gradient is zeros, as torch's."""
    name, arrays, beta, alpha = operands
    assert_matches_torch(
        lambda i, a, b: getattr(mg, name)(i, a, b, beta=beta, alpha=alpha),
        lambda i, a, b: getattr(torch, name)(i, a, b, beta=beta, alpha=alpha),
        *arrays, order=2, name=f"{name}(beta={beta}, alpha={alpha})",
    )  # fmt: skip
    assert_matches_torch(
        lambda i, a, b: getattr(i, name)(a, b, beta=beta, alpha=alpha),
        lambda i, a, b: getattr(i, name)(a, b, beta=beta, alpha=alpha),
        *arrays, name=f"input.{name}",
    )  # fmt: skip


def test_addmm_s_family_names_the_shapes_when_they_do_not_fit():
    with pytest.raises(ValueError, match=r"addmv takes 2-D and 1-D operands.*\(2, 3\) and \(2, 3"):
        mg.addmv(mg.ones(2), mg.ones(2, 3), mg.ones(2, 3))
    with pytest.raises(mg.ShapeError, match=r"addr adds self \(input\) of shape \(3,\).*\(3, 2\)"):
        mg.addr(mg.ones(3), mg.ones(3), mg.ones(2))
    with pytest.raises(mg.ShapeError, match=r"baddbmm adds self.*\(2, 1, 3, 3\).*\(1, 3, 3\)"):
        mg.baddbmm(mg.ones(2, 1, 3, 3), mg.ones(1, 3, 2), mg.ones(1, 2, 3))


# ---- inner and vdot --------------------------------------------------------------------------


@st.composite
def inner_operands(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(1, 4), label="k")
    a_shape = draw(st.one_of(st.just(()), mst.shapes(0, 2, max_side=3).map(lambda s: (*s, k))))
    b_shape = draw(st.one_of(st.just(()), mst.shapes(0, 2, max_side=3).map(lambda s: (*s, k))))
    return draw(mst.float_arrays(a_shape)), draw(mst.float_arrays(b_shape))


@given(inner_operands())
def test_inner_matches_torch(operands):
    """Over the last dims of any two tensors (a 0-d one multiplies)."""
    assert_matches_torch(mg.inner, torch.inner, *operands, order=2)
    assert_matches_torch(lambda a, b: a.inner(b), lambda a, b: a.inner(b), *operands)


@given(st.integers(1, 5).flatmap(lambda k: st.tuples(*[mst.float_arrays((k,))] * 2)))
def test_vdot_matches_torch(operands):
    assert_matches_torch(mg.vdot, torch.vdot, *operands, order=2)


def test_inner_names_the_shapes_when_they_do_not_fit():
    with pytest.raises(mg.ShapeError, match=r"last dims, which must match.*\(2, 3\) and \(4,\)"):
        mg.inner(mg.ones(2, 3), mg.ones(4))


# ---- flips, sorting, diagonals, transposes, sums ---------------------------------------------


@given(mst.float_arrays(mst.shapes(min_rank=2)))
def test_fliplr_and_flipud_match_torch(x):
    for name in ("fliplr", "flipud"):
        assert_matches_torch(getattr(mg, name), getattr(torch, name), x, order=2, name=name)


def test_fliplr_and_flipud_say_which_dim_is_missing():
    with pytest.raises(mg.ShapeError, match=r"fliplr flips dim 1.*\(3,\)"):
        mg.ones(3).fliplr()
    with pytest.raises(mg.ShapeError, match="flipud flips dim 0"):
        mg.tensor(1.0).flipud()


@given(mst.distinct_arrays(mst.shapes(min_rank=1)))  # (distinct: no ties, where sort has a kink)
def test_msort_matches_torch(x):
    assert_matches_torch(mg.msort, torch.msort, x, order=2)
    assert_matches_torch(lambda t: t.msort(), lambda t: t.msort(), x)


@given(mst.float_arrays(mst.shapes(max_rank=3, max_side=3)), st.integers(-2, 2))
def test_diagflat_matches_torch(x, offset):
    assert_matches_torch(
        lambda t: mg.diagflat(t, offset), lambda t: torch.diagflat(t, offset), x, order=2
    )


@given(mst.float_arrays(mst.shapes(min_rank=2)))
def test_conjugate_transposes_match_torch(x):
    """For real tensors, the transposes: mH and adjoint() of a batch, H of a matrix."""
    assert_matches_torch(lambda t: t.mH, lambda t: t.mH, x, order=2)
    assert_matches_torch(mg.adjoint, torch.adjoint, x)
    if x.ndim == 2:
        assert_matches_torch(lambda t: t.H, lambda t: t.H, x)


def test_h_is_for_matrices_as_torch_s():
    for lib in (torch, mg):
        with pytest.raises(RuntimeError, match="tensor.H is only supported on matrices"):
            _ = lib.ones(2, 3, 4).H


@st.composite
def sum_to_size_operands(draw: st.DrawFn) -> tuple[np.ndarray, tuple[int, ...]]:
    shape = draw(mst.shapes())
    dropped = draw(st.integers(0, len(shape)))
    size = tuple(draw(st.sampled_from([1, side])) for side in shape[dropped:])
    return draw(mst.float_arrays(shape)), size


@given(sum_to_size_operands())
def test_sum_to_size_matches_torch(operands):
    x, size = operands
    assert_matches_torch(lambda t: t.sum_to_size(size), lambda t: t.sum_to_size(size), x, order=2)
    if size:  # (x.sum_to_size() says what it misses, in both)
        assert_matches_torch(lambda t: t.sum_to_size(*size), lambda t: t.sum_to_size(*size), x)


def test_sum_to_size_says_when_the_size_does_not_broadcast():
    for size in ((2,), (1, 2, 3)):
        with pytest.raises(RuntimeError, match="not expandable"):  # torch's words
            torch.ones(2, 3).sum_to_size(size)
        with pytest.raises(mg.ShapeError, match=r"does not broadcast to this tensor's \(2, 3\)"):
            mg.ones(2, 3).sum_to_size(size)


# ---- matrix_power, as a method -----------------------------------------------------------------


@given(st.integers(-2, 3))
def test_matrix_power_as_a_method_matches_torch(n):
    well_conditioned = np.array([[2.0, 0.5, 0.1], [0.3, 3.0, -0.4], [0.2, -0.1, 1.5]])
    assert_matches_torch(
        lambda a: a.matrix_power(n), lambda a: a.matrix_power(n), well_conditioned, order=2
    )
    assert_matches_torch(
        lambda a: mg.matrix_power(a, n), lambda a: torch.matrix_power(a, n), well_conditioned
    )


# ---- broadcasting, blocks, covariances, integrals ---------------------------------------------


@given(shapes=mst.broadcastable_shapes(3, max_rank=3, max_side=3), data=st.data())
def test_broadcast_tensors_matches_torch(shapes, data):
    arrays = [data.draw(mst.float_arrays(shape), label=f"x{i}") for i, shape in enumerate(shapes)]
    for i in range(3):  # each output, its gradient summed back over the stretched dims
        assert_matches_torch(
            lambda *t, i=i: mg.broadcast_tensors(*t)[i] * (i + 1),
            lambda *t, i=i: torch.broadcast_tensors(*t)[i] * (i + 1),
            *arrays, order=2, name=f"broadcast_tensors(...)[{i}]",
        )  # fmt: skip
    assert mg.broadcast_shapes(*shapes) == torch.broadcast_shapes(*shapes)


def test_dtype_questions_are_torch_s():
    assert mg.result_type(mg.tensor([1]), 1.0) == torch.result_type(torch.tensor([1]), 1.0)
    assert mg.promote_types(torch.int64, torch.float16) == torch.float16
    assert not mg.can_cast(torch.float64, torch.int32)


@given(st.lists(mst.float_arrays(mst.shapes(max_rank=2, max_side=3)), min_size=1, max_size=3))
def test_block_diag_matches_torch(blocks):
    assert_matches_torch(mg.block_diag, torch.block_diag, *blocks, order=2)


def test_block_diag_promotes_dtypes_and_refuses_more_dims_as_torch():
    ours = mg.block_diag(mg.ones(1, dtype=torch.int64), mg.ones(2, 2, dtype=torch.float32))
    theirs = torch.block_diag(torch.ones(1, dtype=torch.int64), torch.ones(2, 2))
    assert ours.dtype == theirs.dtype and torch.equal(ours._data, theirs)
    assert torch.equal(mg.block_diag()._data, torch.block_diag())
    with pytest.raises(mg.ShapeError, match=r"tensor 1 has shape \(1, 1, 1\)"):
        mg.block_diag(mg.ones(1), mg.ones(1, 1, 1))


@st.composite
def observations(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A matrix of variables (rows) by observations (columns), spread out so that no variable
    is constant (its correlation would divide by 0); integer and real weights; a correction."""
    variables, n = draw(st.integers(1, 3)), draw(st.integers(3, 6))
    x = draw(mst.distinct_arrays((variables, n)))
    fweights = draw(hnp.arrays(np.int64, n, elements=st.integers(1, 3)))
    aweights = draw(mst.float_arrays(n, 0.5, 2.0))
    return x, fweights, aweights, draw(st.integers(0, 2))


@given(observations(), st.booleans())
@example(  # a correlation of -1 that rounds past it (corrcoef clips it, as torch's)
    (np.array([[1.0, 2.0, 4.0], [-3.0, -6.0, -12.0]]), np.ones(3, np.int64), np.ones(3), 1),
    False,
)
def test_cov_and_corrcoef_match_torch(case, one_variable):
    x, fweights, aweights, correction = case
    x = x[0] if one_variable else x
    assert_matches_torch(
        lambda t: mg.cov(t, correction=correction),
        lambda t: torch.cov(t, correction=correction),
        x, order=2,
    )  # fmt: skip
    assert_matches_torch(
        lambda t, a: mg.cov(t, correction=correction, fweights=mg.tensor(fweights), aweights=a),
        lambda t, a: torch.cov(
            t, correction=correction, fweights=torch.tensor(fweights), aweights=a
        ),
        x, aweights, order=2, name="cov, weighted",
    )  # fmt: skip
    assert_matches_torch(mg.corrcoef, torch.corrcoef, x, order=2)


@st.composite
def integrals(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray | None, int]:
    """y, points x (None, 1-D along dim, or y's shape, increasing), and the dim."""
    y = draw(mst.float_arrays(mst.shapes(min_rank=1, max_rank=3, max_side=4)))
    dim = draw(st.integers(-y.ndim, y.ndim - 1))
    kind = draw(st.sampled_from(["none", "vector", "full"]))
    if kind == "none":
        return y, None, dim
    shape = (y.shape[dim],) if kind == "vector" else y.shape
    steps = draw(mst.float_arrays(shape, 0.1, 2.0))
    return y, np.cumsum(steps, axis=0 if kind == "vector" else dim), dim


@given(integrals())
def test_trapezoid_and_cumulative_trapezoid_match_torch(case):
    y, x, dim = case
    for name in ("trapezoid", "trapz", "cumulative_trapezoid"):
        ours, theirs = getattr(mg, name), getattr(torch, name)
        if x is None:
            assert_matches_torch(
                lambda t, f=ours: f(t, dx=0.5, dim=dim),
                lambda t, f=theirs: f(t, dx=0.5, dim=dim),
                y, order=2, name=name,
            )  # fmt: skip
        else:
            assert_matches_torch(
                lambda t, p, f=ours: f(t, p, dim=dim),
                lambda t, p, f=theirs: f(t, p, dim=dim),
                y, x, order=2, name=f"{name} with points",
            )  # fmt: skip


# ---- triangles' indices, numbers, random integers, bits, combinations ------------------------


@pytest.mark.parametrize("row, col, offset", [(3, 3, 0), (4, 2, 1), (2, 5, -1), (0, 3, 0)])
def test_triangle_indices_are_torch_s(row, col, offset):
    for name in ("tril_indices", "triu_indices"):
        ours = getattr(mg, name)(row, col, offset)
        assert torch.equal(ours._data, getattr(torch, name)(row, col, offset)), name
    m = mg.arange(12.0).reshape(3, 4)
    picked = m[tuple(mg.tril_indices(3, 4))]
    assert picked.tolist() == [0.0, 4.0, 5.0, 8.0, 9.0, 10.0]


def test_scalar_tensor_and_randint_like_are_torch_s():
    for options in ({}, {"dtype": torch.float64}, {"dtype": torch.int32}):
        ours, theirs = mg.scalar_tensor(2.5, **options), torch.scalar_tensor(2.5, **options)
        assert ours.dtype == theirs.dtype and torch.equal(ours._data, theirs)
    assert mg.scalar_tensor(1.0, requires_grad=True).requires_grad
    x = torch.zeros(3, 4, dtype=torch.float64)
    for args in ((5,), (2, 9)):
        torch.manual_seed(0)
        theirs = torch.randint_like(x, *args)
        mg.manual_seed(0)
        ours = mg.randint_like(mg.tensor(x), *args)
        assert ours.dtype == theirs.dtype == torch.float64
        assert torch.equal(ours._data, theirs)


@given(
    hnp.arrays(np.int64, (2, 3), elements=st.integers(-50, 50)),
    hnp.arrays(np.int64, (3,), elements=st.integers(0, 5)),
)
def test_bit_operations_gcd_and_lcm_match_torch(a, b):
    ours, theirs = mg.tensor(a), torch.tensor(a)
    other = torch.tensor(b)
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "gcd", "lcm"):
        got = getattr(mg, name)(ours, mg.tensor(b))
        assert torch.equal(got._data, getattr(torch, name)(theirs, other)), name
    for name in ("bitwise_left_shift", "bitwise_right_shift"):
        got = getattr(ours, name)(mg.tensor(b))
        assert torch.equal(got._data, getattr(theirs, name)(other)), name
    assert torch.equal(mg.bitwise_not(ours)._data, torch.bitwise_not(theirs))
    for op in (lambda x, y: x ^ y, lambda x, y: x << y, lambda x, y: x >> y):
        assert torch.equal(op(ours, mg.tensor(b))._data, op(theirs, other))
    flags = torch.tensor(a > 0)
    assert torch.equal((mg.tensor(flags) ^ True)._data, flags ^ True)


def test_row_stack_is_vstack():
    a, b = mg.arange(3.0), mg.arange(3.0) * 2
    assert torch.equal(mg.row_stack([a, b])._data, torch.row_stack([a._data, b._data]))


@given(
    mst.distinct_arrays(st.integers(0, 4).map(lambda n: (n,))),
    st.integers(0, 3),
    st.booleans(),
)
def test_combinations_match_torch(x, r, with_replacement):
    assert_matches_torch(
        lambda t: mg.combinations(t, r, with_replacement),
        lambda t: torch.combinations(t, r, with_replacement),
        x, order=2, name=f"combinations(r={r}, with_replacement={with_replacement})",
    )  # fmt: skip
