"""x.as_strided(size, stride, storage_offset): memory seen with other strides, against torch.

Values, gradients and second derivatives (float64) over drawn windows: sizes, strides (0 too:
a place read again), offsets, on inputs laid out row after row, transposed, sliced (their own
offset) and expanded (a place held twice); a write through the view; the errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.errors import ShapeError
from minigrad.testing import assert_matches_torch

LAYOUTS = {
    "rows": lambda x: x,
    "transposed": lambda x: x.reshape(2, -1).t(),
    "sliced": lambda x: x[1:],  # (its storage_offset is 1)
    "expanded": lambda x: x[: x.shape[0] // 2].expand(2, x.shape[0] // 2),  # each place twice
}


@st.composite
def windows(draw):
    """A window geometry, and a float64 memory long enough for it (even, for the transpose)."""
    ndim = draw(st.integers(1, 3))
    size = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
    stride = tuple(draw(st.lists(st.integers(0, 3), min_size=ndim, max_size=ndim)))
    offset = draw(st.sampled_from([None, 0, 1, 2]))
    last = (offset or 1) + sum((n - 1) * s for n, s in zip(size, stride))  # (1: "sliced")
    length = last + 1 + draw(st.integers(0, 3))
    length += length % 2
    values = draw(st.lists(st.floats(-3, 3), min_size=length, max_size=length))
    return np.array(values, dtype=np.float64), size, stride, offset


@given(windows(), st.sampled_from(sorted(LAYOUTS)))
def test_as_strided_matches_torch_twice_differentiated(window, layout):
    values, size, stride, offset = window
    lay_out = LAYOUTS[layout]

    def fn(x):
        return lay_out(x).as_strided(size, stride, offset)

    # An expanded input holds only the first half of the memory. Where the windows read past
    # it, torch's second derivative is NaN (its share of a place held by no element: 0 / 0);
    # minigrad's is 0, as the first derivative is in both: compared to first order there.
    held = len(values) // 2 if layout == "expanded" else len(values)
    last = (0 if offset is None else offset) + sum((n - 1) * s for n, s in zip(size, stride))
    order = 2 if last < held else 1
    assert_matches_torch(fn, fn, values, order=order, name=f"as_strided on {layout}")


def test_a_write_through_the_view_reaches_the_tensor_as_torchs():
    """The windows are a view: scaling one place through them scales it in the tensor, and the
    gradients follow that history (the overlapping windows read the place twice)."""

    def fn(x):
        y = x * 1.0
        windows = y.as_strided((2, 2), (1, 1))  # [[y0, y1], [y1, y2]]
        windows[0, 1].mul_(3.0)  # y1, seen by both windows
        return y * windows.sum()

    assert_matches_torch(fn, fn, np.linspace(-1.0, 2.0, 5), order=2)


def test_the_node_and_the_function_form_are_torchs():
    x = mg.arange(6.0, requires_grad=True)
    windows = mg.as_strided(x, (4, 2), (1, 1))
    assert windows.grad_fn.name() == "AsStridedBackward0"
    assert windows.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    expected = torch.arange(6.0).as_strided((4, 2), (1, 1))
    assert torch.equal(windows._data, expected)


def test_windows_past_the_memory_or_strides_that_do_not_match_say_so():
    x = mg.arange(6.0)
    with pytest.raises(ShapeError, match=r"reads up to place 9 of a memory of 6 elements"):
        x.as_strided((10,), (1,))
    with pytest.raises(ShapeError, match=r"one stride per dim of size: size \(2, 2\) has 2"):
        x.as_strided((2, 2), (1,))
    with pytest.raises(RuntimeError):  # torch's own refusal, for comparison
        torch.arange(6.0).as_strided((10,), (1,))


def test_a_convolution_written_with_as_strided_matches_torchs_conv2d():
    """The sliding-window convolution of NumPy tutorials: each output position's window taken
    with as_strided (no copy), then one einsum with the kernel; values and gradients equal
    torch's conv2d, whose kernels it does not use."""
    torch.manual_seed(0)
    x0 = torch.randn(2, 3, 6, 5, dtype=torch.float64)
    w0 = torch.randn(4, 3, 3, 2, dtype=torch.float64)
    n, c, h, w = x0.shape
    o, _, kh, kw = w0.shape
    size = (n, c, h - kh + 1, w - kw + 1, kh, kw)
    stride = (c * h * w, h * w, w, 1, w, 1)

    x = mg.Tensor(x0.clone(), requires_grad=True)
    weight = mg.Tensor(w0.clone(), requires_grad=True)
    windows = x.as_strided(size, stride)  # windows[n, c, i, j] = x[n, c, i:i+kh, j:j+kw]
    out = mg.einsum("ncijkl,ockl->noij", windows, weight)

    x_t, w_t = x0.clone().requires_grad_(), w0.clone().requires_grad_()
    expected = torch.nn.functional.conv2d(x_t, w_t)
    upstream = torch.randn_like(expected)
    out.backward(mg.Tensor(upstream))
    expected.backward(upstream)
    torch.testing.assert_close(out._data, expected.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(x.grad._data, x_t.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(weight.grad._data, w_t.grad, rtol=1e-12, atol=1e-12)
