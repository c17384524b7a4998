"""Errors that teach: each names the shapes, devices or rule involved, and says how to fix it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad import ShapeError, nn

# A device other than the CPU: a GPU when there is one, else torch's "meta" device (tensors with
# a shape but no data), which takes the same code path for a mismatch on any machine.
OTHER_DEVICE = "cuda" if torch.cuda.is_available() else "meta"


def on_other_device(*shape: int) -> mg.Tensor:
    return mg.Tensor(torch.zeros(shape, device=OTHER_DEVICE))


def test_matmul_of_mismatched_shapes_names_both_shapes_and_the_inner_dims():
    x = mg.randn(200, 728)
    w = mg.randn(1, 728, requires_grad=True)
    with pytest.raises(mg.ShapeError) as error:
        x @ w
    message = str(error.value)
    assert "(200, 728) @ (1, 728)" in message
    assert "inner dims 728 and 1" in message
    assert ".T" in message  # the likely fix


def test_batched_matmul_with_batch_dims_that_do_not_broadcast():
    with pytest.raises(mg.ShapeError, match=r"\(2, 3, 4\) @ \(5, 4, 6\).*batch dims"):
        mg.randn(2, 3, 4) @ mg.randn(5, 4, 6)


def test_broadcast_failure_names_both_shapes_and_the_rule():
    with pytest.raises(mg.ShapeError) as error:
        mg.ones(2, 3) + mg.ones(4)
    message = str(error.value)
    assert "(2, 3)" in message and "(4,)" in message
    assert "equal, or one of them must be 1" in message


def test_code_written_for_torch_catches_a_shape_error_as_a_runtime_error():
    """torch raises RuntimeError for shapes that do not fit; Python's convention is ValueError.
    A ShapeError is both, so that `except RuntimeError` in torch code still catches it."""
    for library in (torch, mg):
        try:
            library.ones(2, 3) @ library.ones(2, 3)
        except RuntimeError as error:
            caught = error
        assert isinstance(caught, RuntimeError)
    assert isinstance(caught, mg.ShapeError) and isinstance(caught, ValueError)


def test_mixing_devices_names_both_devices(device):
    here = mg.ones(3, device=device)
    other_device = "cpu" if device != "cpu" else OTHER_DEVICE
    there = mg.Tensor(torch.ones(3, device=other_device))
    with pytest.raises(mg.DeviceError) as error:
        here * there
    message = str(error.value)
    assert str(here.device) in message and str(there.device) in message
    assert ".to(" in message


def test_backward_on_a_non_scalar_says_what_to_pass():
    y = mg.ones(2, 3, requires_grad=True) * 2.0
    with pytest.raises(mg.GradientError) as error:
        y.backward()
    message = str(error.value)
    assert "(2, 3)" in message
    assert "ones_like" in message and ".mean().backward()" in message


def test_backward_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(mg.GradientError, match="requires_grad_"):
        (mg.ones(2) * 2).sum().backward()


@pytest.mark.parametrize("data", [[1, 2], [True, False]])
def test_requires_grad_on_an_integer_or_bool_tensor(data):
    t = mg.tensor(data)
    with pytest.raises(mg.GradientError) as error:
        t.requires_grad_()
    message = str(error.value)
    assert str(t.dtype) in message
    assert "float().requires_grad_()" in message


def test_backward_with_a_wrong_shaped_gradient_names_both_shapes():
    y = mg.ones(2, 3, requires_grad=True) * 2.0
    with pytest.raises(mg.GradientError) as error:
        y.backward(mg.ones(3, 2))
    message = str(error.value)
    assert "(2, 3)" in message and "(3, 2)" in message


@pytest.mark.parametrize("update", ["+=", "-=", "*=", "zero_"])
def test_in_place_on_a_leaf_that_requires_grad_outside_no_grad(update):
    p = mg.ones(3, requires_grad=True)
    with pytest.raises(mg.GradientError) as error:
        if update == "+=":
            p += 1.0
        elif update == "-=":
            p -= 1.0
        elif update == "*=":
            p *= 2.0
        else:
            p.zero_()
    message = str(error.value)
    assert update in message
    assert "no_grad()" in message and "p.data" in message
    assert p.tolist() == [1.0, 1.0, 1.0]  # left unchanged


class ForgetsAGradient(mg.Function):
    """A broken op: two inputs, but backward returns one gradient."""

    @staticmethod
    def forward(ctx, a, b):
        return a * b

    @staticmethod
    def backward(ctx, grad):
        return grad


class WrongGradientShape(mg.Function):
    """A broken op: backward returns a gradient of a shape its input cannot have."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return torch.ones(4, dtype=grad.dtype)


def test_custom_op_returning_the_wrong_number_of_gradients():
    a, b = mg.ones(3, requires_grad=True), mg.ones(3, requires_grad=True)
    with pytest.raises(mg.GradientError) as error:
        ForgetsAGradient.apply(a, b).sum().backward()
    message = str(error.value)
    assert "ForgetsAGradient.backward returned 1 gradients" in message
    assert "2 inputs" in message and "None" in message


def test_custom_op_returning_a_gradient_of_the_wrong_shape():
    x = mg.ones(3, requires_grad=True)
    with pytest.raises(mg.GradientError) as error:
        WrongGradientShape.apply(x).sum().backward()
    message = str(error.value)
    assert "WrongGradientShape.backward, input 0" in message
    assert "(4,)" in message and "(3,)" in message


def test_dot_t_on_a_3d_tensor_points_to_mT(monkeypatch):
    """torch reverses all the dims there (deprecated) and warns, pointing to .mT: so does
    minigrad (once a process, as torch: the record of warnings given is emptied first)."""
    monkeypatch.setattr(mg.errors, "_given_once", set())
    with pytest.warns(UserWarning, match=r"Consider `x\.mT` to transpose batches of matrices"):
        assert mg.ones(2, 3, 4).T.shape == (4, 3, 2)


def test_reshape_to_an_incompatible_shape_counts_the_elements():
    with pytest.raises(mg.ShapeError) as error:
        mg.ones(2, 3).reshape(4, 2)
    message = str(error.value)
    assert "(2, 3)" in message and "(4, 2)" in message and "6 elements" in message


@pytest.mark.parametrize("shape", [(4, 2), (-1, 4), (0, -1)])
def test_a_view_to_a_shape_of_other_size_counts_the_elements(shape):
    with pytest.raises(RuntimeError):
        torch.ones(2, 3).view(shape)
    with pytest.raises(mg.ShapeError, match=r"cannot view .*\(2, 3\) \(6 elements\)") as error:
        mg.ones(2, 3).view(shape)
    assert "keeps the number of elements" in str(error.value)


def test_numpy_off_the_cpu_says_to_copy_first():
    t = on_other_device(3)
    with pytest.raises(TypeError, match=r"x\.cpu\(\)\.numpy\(\)") as error:
        t.numpy()
    assert str(t.device) in str(error.value)


@pytest.mark.parametrize("to_array", ["x.numpy()", "np.asarray(x)"])
def test_an_array_of_a_tensor_that_requires_grad_is_refused_as_torch_does(to_array):
    make = {"x.numpy()": lambda t: t.numpy(), "np.asarray(x)": np.asarray}[to_array]
    with pytest.raises(RuntimeError, match="requires grad"):
        make(torch.ones(3, requires_grad=True))  # torch's own rule
    x = mg.ones(3, requires_grad=True)
    for tensor in (x, x * 2):  # a leaf, and a value of the graph
        with pytest.raises(mg.GradientError, match=r"requires grad.*x\.detach\(\)\.numpy\(\)"):
            make(tensor)
    np.testing.assert_array_equal(make(x.detach()), [1.0, 1.0, 1.0])
    with mg.no_grad():
        np.testing.assert_array_equal(make(x * 2), [2.0, 2.0, 2.0])  # made outside the graph


def test_tensor_from_ragged_lists():
    with pytest.raises(TypeError, match="nested lists of equal lengths"):
        mg.tensor([[1, 2], [3]])


def test_len_of_a_scalar():
    with pytest.raises(TypeError, match="0-d tensor"):
        len(mg.tensor(1.0))


# ---- dtype problems that used to read as shape problems ------------------------------------------


def test_a_uint8_batch_into_a_linear_layer_is_a_dtype_error_that_says_how_to_convert():
    layer = nn.Linear(784, 10)
    pixels = mg.zeros(4, 784, dtype=mg.uint8)
    with pytest.raises(TypeError, match=r"uint8.*float32.*\.float\(\) / 255"):
        layer(pixels)


def test_a_float64_batch_into_a_float32_layer_names_both_dtypes():
    with pytest.raises(TypeError, match=r"float64.*float32.*\.to\(torch.float32\)"):
        nn.Linear(3, 2)(mg.zeros(4, 3, dtype=mg.float64))
    with pytest.raises(TypeError, match="A has dtype torch.float64 but B has torch.float32"):
        mg.zeros(4, 3, dtype=mg.float64) @ mg.zeros(3, 2)


def test_cat_of_single_numbers_says_to_stack_them():
    with pytest.raises(ShapeError, match=r"0-d tensors.*minigrad.stack"):
        mg.cat([mg.tensor(1.0), mg.tensor(2.0)])
