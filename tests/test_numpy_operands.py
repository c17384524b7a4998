"""numpy values next to a Tensor: the result is a minigrad Tensor that keeps the graph, with the
dtype torch gives for the same array, on either side of + - * / ** @ and the comparisons."""

from __future__ import annotations

import operator

import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad import DeviceError
from minigrad.testing import assert_close

OPS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}
COMPARISONS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}


def leaf(values, dtype=mg.float64):
    return mg.tensor(values, dtype=dtype, requires_grad=dtype.is_floating_point)


@pytest.mark.parametrize("symbol", OPS)
@pytest.mark.parametrize("side", ["array left", "array right"])
def test_an_array_on_either_side_keeps_the_graph(symbol, side):
    op = OPS[symbol]
    array = np.array([[0.5, 2.0, 1.5], [1.0, 0.25, 3.0]])
    w = leaf([1.0, 2.0, 0.5])
    out = op(array, w) if side == "array left" else op(w, array)
    assert isinstance(out, mg.Tensor) and out.requires_grad
    (out * out).sum().backward()
    # torch, with the array as a tensor (torch itself refuses arrays next to a tensor that
    # requires grad: numpy takes over and asks for the tensor's numbers)
    w_t = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64, requires_grad=True)
    a_t = torch.from_numpy(array)
    out_t = op(a_t, w_t) if side == "array left" else op(w_t, a_t)
    (out_t * out_t).sum().backward()
    assert_close(out._data, out_t.detach(), what=f"array {symbol} w")
    assert_close(w.grad._data, w_t.grad, what=f"gradient of w in array {symbol} w")


def test_matmul_with_an_array_on_either_side():
    array = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    w = leaf([[0.5, -1.0], [2.0, 1.0]])
    (array @ w).sum().backward()
    assert_close(w.grad._data, torch.from_numpy(array.T @ np.ones((3, 2))), what="array @ w")
    v = leaf([1.0, -1.0, 2.0])
    out = v @ array
    assert isinstance(out, mg.Tensor) and out.requires_grad


def test_numpy_scalars_count_as_python_numbers():
    w = leaf([1.0, 2.0])
    loss = np.float64(1e-2) * (w**2).sum()  # the example: the term was lost
    assert isinstance(loss, mg.Tensor)
    loss.backward()
    assert_close(w.grad._data, torch.tensor([0.02, 0.04], dtype=torch.float64), what="w.grad")
    f32 = mg.tensor([1.0, 2.0])
    assert (np.float64(2) * f32).dtype == torch.float32  # a number does not promote, as in torch
    assert (f32 + np.int64(1)).dtype == torch.float32


@pytest.mark.parametrize(
    "dtype, array",
    [
        (mg.float32, np.array([1.0, 2.0])),  # a float64 array promotes float32 to float64
        (mg.float32, np.array(2.0)),  # a 0-d array too (torch treats it as an array, not a number)
        (mg.int32, np.array(2)),
        (mg.float16, np.array(2.0, dtype=np.float32)),
        (mg.float64, np.array([1, 2])),
    ],
)
def test_result_dtypes_are_torchs(dtype, array):
    ours = mg.tensor([3.0, 4.0]).to(dtype)
    theirs = torch.tensor([3.0, 4.0]).to(dtype)  # not requiring grad: torch takes the array
    for op in (operator.add, operator.mul):
        got, expected = op(ours, array), op(theirs, array)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert_close(got._data, expected, what=f"{dtype} with {array!r}")
        assert op(array, ours).dtype == expected.dtype  # and with the array on the left


@pytest.mark.parametrize("symbol", COMPARISONS)
def test_comparisons_with_an_array_on_either_side(symbol):
    op = COMPARISONS[symbol]
    array = np.array([0.5, 2.0, 3.0])
    t = mg.tensor([1.0, 2.0, 2.5], dtype=mg.float64)
    expected = op(torch.tensor([1.0, 2.0, 2.5], dtype=torch.float64), torch.from_numpy(array))
    assert op(t, array).tolist() == expected.tolist()
    left = op(array, t)
    assert isinstance(left, mg.Tensor)
    assert left.tolist() == op(torch.from_numpy(array), t._data).tolist()


def test_in_place_with_an_array():
    w = leaf([1.0, 2.0])
    h = w * 1
    h += np.array([0.5, 0.5])
    h.mul_(np.array([2.0, 3.0]))
    h.sum().backward()
    assert w.grad.tolist() == [2.0, 3.0]


def test_a_numpy_function_of_a_tensor_is_an_error_not_a_lost_graph():
    w = leaf([1.0, 2.0])
    with pytest.raises(TypeError):
        np.exp(w)  # would return an array and drop the graph; write w.exp()
    assert np.asarray(w.detach()).tolist() == [1.0, 2.0]  # an explicit conversion still works


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU: arrays live on the CPU")
def test_an_array_next_to_a_cuda_tensor_is_a_device_error():
    w = mg.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    with pytest.raises(DeviceError):
        w + np.array([1.0, 2.0])
