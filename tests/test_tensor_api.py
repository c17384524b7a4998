"""The PyTorch-shaped surface that fastbook's chapter 4 uses with `import minigrad as torch`."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

import minigrad as mg
from minigrad.testing import strategies as mst

# ---- tensor(...) from every kind of data ---------------------------------------------------


@pytest.mark.parametrize(
    ("data", "dtype", "shape"),
    [
        ([1.0, 2.5], torch.float32, (2,)),  # Python floats: float32, as in torch
        ([[1, 2], [3, 4]], torch.int64, (2, 2)),  # Python ints: int64
        (3.5, torch.float32, ()),
        (7, torch.int64, ()),
        ([True, False], torch.bool, (2,)),
        (np.array([1.0, 2.0]), torch.float64, (2,)),  # a float64 array stays float64
        (np.array([1.0, 2.0], dtype=np.float32), torch.float32, (2,)),
        (np.arange(6, dtype=np.uint8).reshape(2, 3), torch.uint8, (2, 3)),
    ],
)
def test_tensor_from_data_keeps_torchs_dtype_rules(data, dtype, shape):
    t = mg.tensor(data)
    assert isinstance(t, mg.Tensor)
    assert t.dtype == dtype
    assert t.shape == shape
    assert t.tolist() == torch.tensor(data).tolist()


def test_tensor_copies_a_numpy_array():
    array = np.array([1.0, 2.0])
    t = mg.tensor(array, device="cpu")
    array[0] = 100.0
    assert t.tolist() == [1.0, 2.0]


def test_tensor_from_a_torch_tensor_copies_it():
    source = torch.tensor([1.0, 2.0], dtype=torch.float64)
    t = mg.tensor(source, device="cpu")
    source[0] = 100.0
    assert t.dtype == torch.float64
    assert t.tolist() == [1.0, 2.0]


def test_tensor_from_a_pil_image():
    image = Image.new("L", (3, 2))  # width 3, height 2
    image.putdata([0, 10, 20, 30, 40, 255])
    t = mg.tensor(image)
    assert t.shape == (2, 3)  # rows first, as in numpy and torch
    assert t.dtype == torch.uint8
    assert t.tolist() == [[0, 10, 20], [30, 40, 255]]
    rgb = mg.tensor(Image.new("RGB", (4, 5), color=(1, 2, 3)))
    assert rgb.shape == (5, 4, 3)
    assert rgb[0, 0].tolist() == [1, 2, 3]


def test_tensor_with_dtype_and_requires_grad():
    t = mg.tensor([1, 2], dtype=mg.float64, requires_grad=True)
    assert t.dtype == torch.float64 and t.requires_grad and t.is_leaf and t.grad is None


# ---- random and filled tensors ---------------------------------------------------------------


def test_randn_takes_sizes_or_a_tuple():
    assert mg.randn(2, 3).shape == (2, 3)
    assert mg.randn((2, 3)).shape == (2, 3)
    assert mg.randn(4).shape == (4,)
    assert mg.randn(2, 3).dtype == torch.float32


def test_manual_seed_makes_random_tensors_repeat():
    mg.manual_seed(42)
    first = (mg.randn(3, 4).tolist(), mg.randperm(10).tolist())
    mg.manual_seed(42)
    second = (mg.randn(3, 4).tolist(), mg.randperm(10).tolist())
    assert first == second


def test_manual_seed_gives_torchs_numbers_on_the_cpu():
    mg.manual_seed(0)
    ours = mg.randn(5, device="cpu")
    torch.manual_seed(0)
    assert torch.equal(ours._data, torch.randn(5))


def test_zeros_ones_randperm():
    assert mg.zeros(2, 3).tolist() == [[0.0] * 3] * 2
    assert mg.ones((2,)).tolist() == [1.0, 1.0]
    assert mg.zeros(2).dtype == torch.float32
    perm = mg.randperm(10)
    assert perm.dtype == torch.int64
    assert sorted(perm.tolist()) == list(range(10))


def test_where_stack_cat():
    t = mg.tensor([-1.0, 2.0, -3.0])
    assert mg.where(t > 0, t, 0.0).tolist() == [0.0, 2.0, 0.0]
    assert mg.where(t > 0, 1.0, t).tolist() == [-1.0, 1.0, -3.0]
    a, b = mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0])
    assert mg.stack([a, b]).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert mg.stack([a, b], dim=1).tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert mg.cat([a, b]).tolist() == [1.0, 2.0, 3.0, 4.0]


# ---- parameters: requires_grad_, .grad, .data, zero_, in-place updates ---------------------


def test_requires_grad_returns_self_so_it_chains():
    p = (mg.randn(3) * 0.5).requires_grad_()
    assert p.requires_grad and p.is_leaf and p.grad is None


def test_sgd_step_through_data_updates_the_parameter_in_place():
    p = mg.tensor([1.0, 2.0]).requires_grad_()
    storage = p._data.data_ptr()
    (p * p).sum().backward()
    assert p.grad.tolist() == [2.0, 4.0]
    p.data -= p.grad * 0.5
    assert p.tolist() == [0.0, 0.0]
    assert p._data.data_ptr() == storage  # updated in place, not replaced
    assert p.requires_grad and p.is_leaf
    p.grad.zero_()
    assert p.grad.tolist() == [0.0, 0.0]


def test_data_shares_storage_and_is_outside_the_graph():
    p = mg.tensor([1.0, 2.0], requires_grad=True)
    d = p.data
    assert not d.requires_grad and d.is_leaf
    d[1] = 5.0
    assert p.tolist() == [1.0, 5.0]


def test_in_place_updates_on_leaves_under_no_grad():
    p = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.no_grad():
        p -= 1.0
        p += mg.tensor([10.0, 10.0])
        p *= 2.0
    assert p.tolist() == [20.0, 22.0]
    assert p.requires_grad and p.is_leaf
    (p * 3.0).sum().backward()  # still a working parameter
    assert p.grad.tolist() == [3.0, 3.0]


# ---- what a tensor is ------------------------------------------------------------------------


def test_conversions_to_python_and_numpy():
    t = mg.tensor([[1.0, 2.0], [3.0, 4.0]], device="cpu")
    assert t.sum().item() == 10.0
    assert isinstance(t.sum().item(), float)
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    array = t.numpy()
    assert isinstance(array, np.ndarray) and array.dtype == np.float32
    np.testing.assert_array_equal(array, [[1.0, 2.0], [3.0, 4.0]])


def test_shape_ndim_dtype_len():
    t = mg.zeros(4, 28, 28)
    assert t.shape == (4, 28, 28) and isinstance(t.shape, torch.Size)
    assert t.ndim == 3
    assert t.dtype == torch.float32 == mg.float32 == mg.float
    assert len(t) == 4


def test_iterating_over_the_first_axis_pairs_rows():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    y = mg.tensor([0, 1, 1])
    pairs = list(zip(x, y))
    assert len(pairs) == 3
    assert pairs[1][0].tolist() == [3.0, 4.0]
    assert pairs[1][1].item() == 1


def test_iterating_over_a_parameter_keeps_the_graph():
    w = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = list(w)
    (rows[0] * 2.0 + rows[1]).sum().backward()
    assert w.grad.tolist() == [[2.0, 2.0], [1.0, 1.0]]


def test_float_view_unsqueeze():
    labels = mg.tensor([1, 0, 1])
    assert labels.float().dtype == torch.float32
    assert labels.float().tolist() == [1.0, 0.0, 1.0]
    images = mg.zeros(5, 28, 28)
    assert images.view(-1, 28 * 28).shape == (5, 784)
    assert labels.unsqueeze(1).shape == (3, 1)


def test_comparisons_give_bool_tensors_outside_the_graph():
    x = mg.tensor([0.2, 0.7], requires_grad=True)
    for result in (x > 0.5, x < 0.5, x >= 0.5, x <= 0.5, x == 0.2, x != 0.2):
        assert result.dtype == torch.bool
        assert not result.requires_grad and result.grad_fn is None
    assert (x > 0.5).tolist() == [False, True]
    assert ((x > 0.5) == mg.tensor([0, 1])).float().mean().item() == 1.0


# ---- printing --------------------------------------------------------------------------------


def test_repr_shows_values_and_where_a_tensor_came_from():
    plain = mg.tensor([1.0, 2.0], device="cpu")
    assert repr(plain) == "tensor([1., 2.])"  # exactly torch's
    leaf = mg.tensor([1.0, 2.0], device="cpu", requires_grad=True)
    assert repr(leaf) == "tensor([1., 2.], requires_grad=True)"
    made = mg.tensor([0.0], device="cpu", requires_grad=True).sigmoid()
    theirs = torch.tensor([0.0], requires_grad=True).sigmoid()
    assert repr(made) == repr(theirs) == "tensor([0.5000], grad_fn=<SigmoidBackward0>)"
    assert re.fullmatch(r"<SigmoidBackward0 object at 0x[0-9a-f]+>", repr(made.grad_fn))
    assert re.fullmatch(r"<SigmoidBackward0 object at 0x[0-9a-f]+>", repr(theirs.grad_fn))


@given(
    values=mst.float_arrays(mst.shapes(max_rank=3, max_side=12), -1e3, 1e3),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    made=st.booleans(),
)
def test_repr_of_a_tensor_in_the_graph_is_torch_s_line_breaks_included(values, dtype, made):
    """grad_fn= or requires_grad=True goes on the last line when it fits in torch's 80
    columns, else on a line of its own, as torch prints it (dtype= before it, when shown)."""
    theirs = torch.tensor(values, dtype=dtype, requires_grad=True)
    ours = mg.tensor(values, dtype=dtype, requires_grad=True)
    if made:
        theirs, ours = theirs * 2, ours * 2
    assert repr(ours) == repr(theirs)


def test_grad_prints_as_numbers():
    w = mg.tensor([1.0, 2.0], device="cpu", requires_grad=True)
    (w * 3.0).sum().backward()
    assert repr(w.grad) == "tensor([3., 3.])"
    assert str(w.grad) == "tensor([3., 3.])"


@pytest.mark.parametrize(
    "make, spec",
    [
        (lambda lib: lib.tensor(0.123456), ".4f"),
        (lambda lib: lib.tensor(0.123456, requires_grad=True) * 2, ""),  # f"{loss}": its number
        (lambda lib: lib.tensor(3), "d"),
        (lambda lib: lib.tensor([2.5]), ""),  # not 0-d: printed whole
        (lambda lib: lib.tensor([2.5]), ".1f"),  # and no spec taken: a TypeError
        (lambda lib: lib.nn.Parameter(lib.tensor(1.5)), ""),  # a Parameter, printed whole
    ],
)
def test_format_of_a_tensor_is_torchs(make, spec):
    results = []
    for lib in (torch, mg):
        try:
            results.append(format(make(lib), spec))
        except TypeError:
            results.append(TypeError)
    assert results[0] == results[1]
    assert float(mg.tensor(0.123456)) == pytest.approx(0.123456)
