"""Matrix multiplication against torch autograd (float64, rtol 1e-7, atol 1e-9) and finite
differences: 1-D @ 1-D, 1-D @ 2-D, 2-D @ 1-D, 2-D @ 2-D, and batched with broadcast batch dims;
its second derivatives (create_graph=True) against torch's; and linear (x @ W^T + b) the same,
and addmm (beta * input + alpha * mat1 @ mat2, input broadcast; beta or alpha 0 included).

Inner and outer dims are drawn independently, so most matrices are not square and a missing
transpose shows up; square ones are tested too, where only the values can catch a swapped
operand.
"""

from __future__ import annotations

import operator

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.testing import assert_matches_torch, gradcheck
from minigrad.testing import strategies as mst


@st.composite
def matmul_operands(draw: st.DrawFn, square: bool = False) -> tuple[np.ndarray, np.ndarray]:
    shape_a, shape_b = draw(mst.square_matmul_shapes() if square else mst.matmul_shapes())
    return draw(mst.float_arrays(shape_a), label="a"), draw(mst.float_arrays(shape_b), label="b")


@given(operands=matmul_operands())
@example(operands=(np.ones(3), np.full(3, 2.0)))  # 1-D @ 1-D: a 0-d result
@example(operands=(np.ones(3), np.ones((3, 2))))  # 1-D @ 2-D
@example(operands=(np.ones((2, 3)), np.ones(3)))  # 2-D @ 1-D
@example(operands=(np.ones((2, 3)), np.ones((3, 4))))  # non-square
@example(operands=(np.ones((2, 1, 1, 3)), np.ones((4, 3, 1))))  # batch dims broadcast, size-1
@example(operands=(np.ones(3), np.ones((2, 3, 4))))  # 1-D @ batched
def test_matmul_matches_torch(operands):
    assert_matches_torch(operator.matmul, operator.matmul, *operands, name="a @ b")


@given(operands=matmul_operands(square=True))
@example(operands=(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0], [7.0, 8.0]])))
def test_square_matmul_matches_torch(operands):
    assert_matches_torch(operator.matmul, operator.matmul, *operands, name="a @ b")


@given(operands=matmul_operands())
@example(operands=(np.ones(3), np.full(3, 2.0)))  # 1-D @ 1-D
@example(operands=(np.ones((2, 1, 1, 3)), np.ones((4, 3, 1))))  # batch dims broadcast
def test_matmul_second_derivatives_match_torch(operands):
    """a @ b is linear in each: d2/da2 = 0, but dL/da = G @ b^T depends on b and on G, and the
    gradient of sum(dL/da * v) by b is G^T @ v, by G is v @ b (adjoints of each other)."""
    assert_matches_torch(operator.matmul, operator.matmul, *operands, order=2, name="a @ b")


@given(operands=matmul_operands(square=True))
def test_square_matmul_second_derivatives_match_torch(operands):
    assert_matches_torch(operator.matmul, operator.matmul, *operands, order=2, name="a @ b")


@given(operands=matmul_operands())
def test_matmul_function_matches_torch(operands):
    assert_matches_torch(mg.matmul, torch.matmul, *operands, name="minigrad.matmul")


@st.composite
def distinct_matmul_operands(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    shape_a, shape_b = draw(mst.matmul_shapes(max_side=3))
    return draw(mst.distinct_arrays(shape_a)), draw(mst.distinct_arrays(shape_b))


@given(operands=distinct_matmul_operands())
def test_matmul_passes_gradcheck(operands):
    gradcheck(operator.matmul, *operands, name="a @ b")


def test_matmul_on_device(device):
    a, b = np.linspace(-1, 1, 24).reshape(2, 3, 4), np.linspace(0, 2, 20).reshape(4, 5)
    assert_matches_torch(
        lambda x, y: (x @ y) @ y.T, lambda x, y: (x @ y) @ y.T, a, b, device=device
    )


# ---- linear: x @ W^T + b in one op (what nn.Linear runs) ---------------------------------------


@st.composite
def linear_operands(draw: st.DrawFn, max_side: int = 5) -> tuple[np.ndarray, ...]:
    """x (batch dims..., in), weight (out, in), and a bias (out,) or none, sides drawn apart."""
    batch = draw(mst.shapes(min_rank=0, max_rank=2, max_side=max_side), label="batch dims")
    n_in, n_out = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    x = draw(mst.float_arrays((*batch, n_in)), label="x")
    weight = draw(mst.float_arrays((n_out, n_in)), label="weight")
    bias = draw(st.none() | mst.float_arrays((n_out,)), label="bias")
    return (x, weight) if bias is None else (x, weight, bias)


@given(operands=linear_operands())
@example(operands=(np.ones(3), np.ones((2, 3)), np.ones(2)))  # one example, no batch dim
@example(operands=(np.ones((4, 3)), np.ones((3, 3))))  # square weight, no bias
def test_linear_matches_torch(operands):
    assert_matches_torch(
        mg.ops.Linear.apply, torch.nn.functional.linear, *operands, name="linear(x, W, b)"
    )


@given(operands=linear_operands())
@example(operands=(np.ones(3), np.ones((2, 3)), np.ones(2)))
def test_linear_second_derivatives_match_torch(operands):
    assert_matches_torch(
        mg.ops.Linear.apply, torch.nn.functional.linear, *operands, order=2, name="linear"
    )
    # and in a network, where the second derivatives by the weights are not zero
    assert_matches_torch(
        lambda x, w, *b: mg.ops.Linear.apply(x, w, *b).tanh(),
        lambda x, w, *b: torch.nn.functional.linear(x, w, *b).tanh(),
        *operands,
        order=2,
        name="tanh(linear)",
    )


@given(operands=linear_operands(max_side=3))
def test_linear_passes_gradcheck(operands):
    gradcheck(mg.ops.Linear.apply, *operands)


def test_linear_names_the_shapes_when_they_do_not_fit():
    with pytest.raises(mg.ShapeError, match=r"^Linear: x of shape \(2, 5\) and weight of shape"):
        mg.ops.Linear.apply(mg.randn(2, 5), mg.randn(3, 4))
    with pytest.raises(mg.ShapeError, match=r"weight of shape \(3, 4\) and bias of shape \(2,\)"):
        mg.ops.Linear.apply(mg.randn(2, 4), mg.randn(3, 4), mg.randn(2))


@st.composite
def addmm_operands(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """input (of a shape that broadcasts to (n, m)), mat1 (n, k), mat2 (k, m), beta, alpha."""
    n, k, m = (draw(st.integers(1, 4), label=side) for side in "nkm")
    input_shape = draw(st.sampled_from([(n, m), (m,), (1, m), (n, 1), (1,), ()]), label="input")
    beta, alpha = (draw(st.sampled_from([1.0, 0.0, 0.5, -2.0]), label=w) for w in ("beta", "a"))
    arrays = [draw(mst.float_arrays(shape)) for shape in (input_shape, (n, k), (k, m))]
    return (*arrays, beta, alpha)


@given(operands=addmm_operands())
@example(operands=(np.array([1.0, np.nan]), np.ones((1, 3)), np.ones((3, 2)), 0.0, 2.0))
def test_addmm_matches_torch(operands):
    """Its first and second derivatives; with beta=0 input's values are left out (a NaN in it
    stays out of the result) and its gradient is zeros, as torch's."""
    *arrays, beta, alpha = operands
    name = f"addmm(beta={beta}, alpha={alpha})"
    assert_matches_torch(
        lambda i, a, b: mg.addmm(i, a, b, beta=beta, alpha=alpha),
        lambda i, a, b: torch.addmm(i, a, b, beta=beta, alpha=alpha),
        *arrays,
        order=2,
        name=name,
    )
    assert_matches_torch(
        lambda i, a, b: i.addmm(a, b, beta=beta, alpha=alpha),
        lambda i, a, b: i.addmm(a, b, beta=beta, alpha=alpha),
        *arrays,
        name=name,
    )


@given(operands=addmm_operands())
def test_addmm_passes_gradcheck(operands):
    *arrays, beta, alpha = operands
    gradcheck(lambda i, a, b: mg.addmm(i, a, b, beta=beta, alpha=alpha), *arrays)


def test_addmm_names_the_shapes_when_they_do_not_fit():
    with pytest.raises(ValueError, match=r"addmm takes 2-D and 2-D operands.*\(2, 4, 1\)"):
        mg.addmm(mg.ones(3), mg.ones(2, 4, 1), mg.ones(4, 3))
    with pytest.raises(mg.ShapeError, match=r"self \(input\) of shape \(4,\).*\(2, 3\)"):
        mg.addmm(mg.ones(4), mg.ones(2, 4), mg.ones(4, 3))
    with pytest.raises(mg.ShapeError, match=r"of shape \(2, 3, 1\)"):
        mg.ones(2, 3, 1).addmm(mg.ones(2, 4), mg.ones(4, 3))
    with pytest.raises(mg.ShapeError, match=r"of shape \(1, 2, 3\)"):  # torch's expand refuses
        mg.ones(1, 2, 3).addmm(mg.ones(2, 4), mg.ones(4, 3))  # a dim more, even of size 1
