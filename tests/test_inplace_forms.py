"""The in-place forms torch has beside its ops (x.rsqrt_(), x.cumsum_(1), x.eq_(y), x.addmm_(a, b),
mask &= other, ...), against torch:

- on a tensor of the graph: the values, the gradients of every leaf in float64 for a random
  upstream gradient, the node torch records (its name), the version counter, and the tensor
  itself returned;
- outside the graph: the same numbers and dtype, written into the same memory;
- the ops that have no derivative (logical, bitwise, gcd, lcm): torch changes the numbers and
  records nothing, so a tensor of the graph keeps its history (and its gradient path), as here.

Inputs are kept off the points where an op has no derivative by construction (distinct_arrays:
every value half a grid step from the kink), never by a looser tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import GradientError
from minigrad.testing import assert_close
from minigrad.testing import strategies as mst

F64 = torch.float64

# name: (the change made to h, a tensor of the graph, with `other` of h's shape; the interval
# h's values are drawn from; a value none of them comes near: the op's kink, if it has one)
CHANGES = {
    "rsqrt_": (lambda h, o: h.rsqrt_(), (0.2, 3.0), None),
    "sign_": (lambda h, o: h.sign_(), (-3.0, 3.0), 0.0),
    "log10_": (lambda h, o: h.log10_(), (0.2, 3.0), None),
    "log1p_": (lambda h, o: h.log1p_(), (-0.8, 3.0), None),
    "expm1_": (lambda h, o: h.expm1_(), (-2.0, 2.0), None),
    "erf_": (lambda h, o: h.erf_(), (-2.0, 2.0), None),
    "erfc_": (lambda h, o: h.erfc_(), (-2.0, 2.0), None),
    "erfinv_": (lambda h, o: h.erfinv_(), (-0.9, 0.9), None),
    "lgamma_": (lambda h, o: h.lgamma_(), (0.2, 4.0), None),
    "digamma_": (lambda h, o: h.digamma_(), (0.2, 4.0), None),
    "polygamma_": (lambda h, o: h.polygamma_(1), (0.2, 4.0), None),
    "logit_": (lambda h, o: h.logit_(), (0.05, 0.95), None),
    "logit_ eps": (lambda h, o: h.logit_(eps=0.3), (0.05, 0.95), 0.3),  # (and 0.7: see below)
    "cumsum_": (lambda h, o: h.cumsum_(-1), (-2.0, 2.0), None),
    "cumprod_": (lambda h, o: h.cumprod_(0), (-2.0, 2.0), 0.0),
    "clamp_max_ number": (lambda h, o: h.clamp_max_(0.5), (-3.0, 3.0), 0.5),
    # (a bound within 0.001 of 0.5, which every value misses by more: half a grid step)
    "clamp_max_ tensor": (lambda h, o: h.clamp_max_(o.sum().tanh() / 1000 + 0.5), (-3, 3), 0.5),
    "multiply_": (lambda h, o: h.multiply_(o), (-3.0, 3.0), None),
    "divide_": (lambda h, o: h.divide_(o.abs() + 0.5), (-3.0, 3.0), None),
    "divide_ floor": (lambda h, o: h.divide_(2.0, rounding_mode="floor"), (-3.0, 3.0), None),
    "subtract_ alpha": (lambda h, o: h.subtract_(o, alpha=2.0), (-3.0, 3.0), None),
    "eq_ number": (lambda h, o: h.eq_(0.5), (-3.0, 3.0), None),
    "ne_ tensor": (lambda h, o: h.ne_(o), (-3.0, 3.0), None),
    "lt_ tensor": (lambda h, o: h.lt_(o), (-3.0, 3.0), None),
    "le_ number": (lambda h, o: h.le_(0.0), (-3.0, 3.0), None),
    "gt_ tensor": (lambda h, o: h.gt_(o[..., :1]), (-3.0, 3.0), None),  # o broadcast
    "ge_ number": (lambda h, o: h.ge_(1.0), (-3.0, 3.0), None),
    "not_equal_": (lambda h, o: h.not_equal_(o), (-3.0, 3.0), None),
    "less_": (lambda h, o: h.less_(o), (-3.0, 3.0), None),
    "less_equal_": (lambda h, o: h.less_equal_(o), (-3.0, 3.0), None),
    "greater_": (lambda h, o: h.greater_(0.25), (-3.0, 3.0), None),
    "greater_equal_": (lambda h, o: h.greater_equal_(o), (-3.0, 3.0), None),
}


def leaf(lib, values: np.ndarray):
    if lib is torch:
        return torch.tensor(values, dtype=F64, requires_grad=True)
    return mg.tensor(values, dtype=mg.float64, requires_grad=True)


def run_change(lib, change, x: np.ndarray, other: np.ndarray, upstream: torch.Tensor):
    """h = x * 1 (a tensor of the graph), changed in place, then used with `other`: returns
    h, the name of h's node, h's version, and both leaves' gradients."""
    a, b = leaf(lib, x), leaf(lib, other)
    h = a * 1
    before = h._version
    assert change(h, b) is h
    name, version = h.grad_fn.name(), h._version - before
    (h * b * (upstream if lib is torch else mg.Tensor(upstream))).sum().backward()
    return h, name, version, a.grad, b.grad


@pytest.mark.parametrize("name", CHANGES)
@given(data=st.data())
def test_an_in_place_form_on_a_tensor_of_the_graph_matches_torch(name, data):
    change, (low, high), kink = CHANGES[name]
    shape = data.draw(mst.shapes(min_rank=1, max_rank=3, min_side=2, max_side=4))
    x = data.draw(mst.distinct_arrays(shape, low, high, avoid=kink if kink is not None else low))
    if name == "logit_ eps":  # off the upper bound 1 - eps too, by construction
        x = np.where(np.abs(x - 0.7) < 0.01, x - 0.02, x)
    other = data.draw(mst.distinct_arrays(shape, -2.0, 2.0))
    upstream = torch.randn(shape, dtype=F64, generator=torch.Generator().manual_seed(0))

    ours = run_change(mg, change, x, other, upstream)
    theirs = run_change(torch, change, x, other, upstream)
    assert_close(ours[0]._data, theirs[0].detach(), what=f"{name}: the values")
    assert ours[1] == theirs[1], f"{name}: minigrad's node {ours[1]}, torch's {theirs[1]}"
    assert ours[2] == theirs[2], f"{name}: the version went up by {ours[2]}, torch's {theirs[2]}"
    for i, (mine, torchs) in enumerate(zip(ours[3:], theirs[3:])):
        assert (mine is None) == (torchs is None), f"{name}: leaf {i}'s gradient"
        if torchs is not None:
            assert_close(mine._data, torchs, what=f"{name}: the gradient of leaf {i}")


@pytest.mark.parametrize("name", CHANGES)
def test_an_in_place_form_outside_the_graph_writes_torchs_numbers_into_the_same_memory(name):
    change = CHANGES[name][0]
    values = torch.tensor([[0.3, 0.6, 0.9], [0.45, 0.15, 0.75]], dtype=torch.float32)
    other = torch.tensor([[0.5, -0.2, 0.9], [0.1, 0.15, -0.4]], dtype=torch.float32)
    x = mg.tensor(values.clone())
    memory = x._data.data_ptr()
    assert change(x, mg.tensor(other)) is x
    expected = change(values.clone(), other)
    assert x._data.data_ptr() == memory and x.dtype == expected.dtype
    torch.testing.assert_close(x._data, expected, rtol=0, atol=0)


PRODUCTS = {  # name: (h's shape, the two operands' shapes)
    "addmm_": ((2, 3), (2, 4), (4, 3)),
    "addmv_": ((2,), (2, 3), (3,)),
    "addr_": ((2, 3), (2,), (3,)),
    "baddbmm_": ((2, 3, 4), (2, 3, 2), (2, 2, 4)),
    "addbmm_": ((3, 4), (2, 3, 2), (2, 2, 4)),
}


@pytest.mark.parametrize("name", PRODUCTS)
@settings(max_examples=20)
@given(
    seed=st.integers(0, 2**16), beta=st.sampled_from([1, 0.5, 0]), alpha=st.sampled_from([1, -2.0])
)
def test_a_product_added_in_place_matches_torch(name, seed, beta, alpha):
    generator = torch.Generator().manual_seed(seed)
    arrays = [torch.randn(s, dtype=F64, generator=generator).numpy() for s in PRODUCTS[name]]
    upstream = torch.randn(PRODUCTS[name][0], dtype=F64, generator=generator)

    def run(lib):
        x, a, b = (leaf(lib, v) for v in arrays)
        h = x * 2
        assert getattr(h, name)(a, b, beta=beta, alpha=alpha) is h
        (h * (upstream if lib is torch else mg.Tensor(upstream))).sum().backward()
        return h, h.grad_fn.name(), x.grad, a.grad, b.grad

    ours, theirs = run(mg), run(torch)
    assert_close(ours[0]._data, theirs[0].detach(), what=f"{name}: the values")
    # (the node: minigrad's addmm family is a product and a sum, so its node is the sum's,
    # AddBackward0, where torch's is AddmmBackward0, in place or not)
    assert ours[1] == "AddBackward0"
    for i in (2, 3, 4):
        assert_close(ours[i]._data, theirs[i], what=f"{name}: gradient {i - 2}")


# ---- the ops with no derivative -----------------------------------------------------------------

NO_DERIVATIVE = {  # name: (the change, with `other`), on integer or bool tensors
    "logical_and_": lambda x, o: x.logical_and_(o),
    "logical_or_": lambda x, o: x.logical_or_(o),
    "logical_xor_": lambda x, o: x.logical_xor_(o),
    "logical_not_": lambda x, o: x.logical_not_(),
    "bitwise_and_": lambda x, o: x.bitwise_and_(o),
    "bitwise_or_": lambda x, o: x.bitwise_or_(o),
    "bitwise_xor_": lambda x, o: x.bitwise_xor_(o),
    "bitwise_not_": lambda x, o: x.bitwise_not_(),
    "bitwise_left_shift_": lambda x, o: x.bitwise_left_shift_(o.abs() % 4),
    "bitwise_right_shift_": lambda x, o: x.bitwise_right_shift_(o.abs() % 4),
    "gcd_": lambda x, o: x.gcd_(o),
    "lcm_": lambda x, o: x.lcm_(o),
    "&=": lambda x, o: x.__iand__(o),
    "|=": lambda x, o: x.__ior__(o),
    "^=": lambda x, o: x.__ixor__(o),
    "<<=": lambda x, o: x.__ilshift__(o.abs() % 4),
    ">>=": lambda x, o: x.__irshift__(o.abs() % 4),
}


INTEGERS_ONLY = {"bitwise_left_shift_", "bitwise_right_shift_", "<<=", ">>=", "gcd_", "lcm_"}


@pytest.mark.parametrize(
    "name, dtype",
    [(name, torch.int64) for name in NO_DERIVATIVE]
    + [(name, torch.bool) for name in NO_DERIVATIVE if name not in INTEGERS_ONLY],
)
@settings(max_examples=20)
@given(pair=st.lists(st.tuples(st.integers(-20, 20), st.integers(-20, 20)), min_size=1, max_size=6))
def test_an_in_place_op_without_a_derivative_matches_torch(name, dtype, pair):
    values = torch.tensor([p[0] for p in pair]).to(dtype)
    other = torch.tensor([p[1] for p in pair]).to(dtype)
    x = mg.tensor(values.clone())
    alias = x  # `mask &= other` changes the mask itself: every name for it sees the change
    memory = x._data.data_ptr()
    NO_DERIVATIVE[name](x, mg.tensor(other))
    expected = values.clone()
    NO_DERIVATIVE[name](expected, other)
    assert alias is x and x._data.data_ptr() == memory
    assert x.dtype == expected.dtype and torch.equal(x._data, expected)


@pytest.mark.parametrize("name", ["logical_and_", "logical_xor_", "logical_not_"])
def test_an_op_without_a_derivative_leaves_the_history_of_a_tensor_of_the_graph_as_torch(name):
    """torch records nothing for it: h keeps its node and its gradient path (the numbers change,
    and the version counter counts it)."""

    def run(lib):
        a = lib.tensor([0.5, 0.0, -2.0], dtype=F64, requires_grad=True)
        h = a * 3
        version = h._version
        NO_DERIVATIVE[name](h, lib.tensor([1.0, 1.0, 0.0], dtype=F64))
        h.sum().backward()
        return h.detach(), h.grad_fn.name(), h._version - version, a.grad

    ours, theirs = run(mg), run(torch)
    assert torch.equal(ours[0]._data, theirs[0])
    assert ours[1:3] == theirs[1:3]
    assert torch.equal(ours[3]._data, theirs[3])


# ---- refused, as in torch ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["rsqrt_", "cumsum_", "eq_ number", "clamp_max_ number"])
def test_an_in_place_form_on_a_leaf_that_requires_grad_is_refused_as_in_torch(name):
    change = CHANGES[name][0]
    with pytest.raises(RuntimeError, match="leaf"):
        change(torch.ones(3, requires_grad=True), torch.ones(3))
    with pytest.raises(GradientError, match="leaf"):
        change(mg.ones(3, requires_grad=True), mg.ones(3))
    with mg.no_grad():  # the parameter update's way: allowed
        x = mg.ones(3, requires_grad=True)
        assert change(x, mg.ones(3)) is x


# ---- shape changes in place: x takes the shape of its own view ----------------------------------

RESHAPES = {
    "unsqueeze_": lambda t: t.unsqueeze_(0),
    "unsqueeze_ last": lambda t: t.unsqueeze_(-1),
    "squeeze_ dim": lambda t: t.unsqueeze_(1).squeeze_(1),
    "squeeze_ all": lambda t: t.unsqueeze_(0).squeeze_(),
    "squeeze_ dims": lambda t: t.unsqueeze_(0).unsqueeze_(-1).squeeze_((0, -1)),
    "t_": lambda t: t.t_(),
    "transpose_": lambda t: t.transpose_(0, -1),
    "swapaxes_": lambda t: t.swapaxes_(-1, 0),
    "swapdims_": lambda t: t.swapdims_(0, -1),
}


def run_reshape(lib, change, values, upstream_seed, through_view):
    """h = a * 1 (or its first row, a view of it) changed shape in place, then used: returns
    the tensor, its node's name, its version, and a's gradient."""
    a = lib.tensor(values, dtype=F64, requires_grad=True)
    h = a * 1
    target = h[0] if through_view else h
    assert change(target) is target
    name, version = target.grad_fn.name(), target._version
    generator = torch.Generator().manual_seed(upstream_seed)
    w = torch.randn(target.shape, dtype=F64, generator=generator)
    ((target * (w if lib is torch else mg.Tensor(w))).sum() + (h * h).sum()).backward()
    return target.detach(), name, version, a.grad


@pytest.mark.parametrize("name", RESHAPES)
@given(
    values=mst.float_arrays(mst.shapes(min_rank=2, max_rank=2, min_side=2, max_side=4), -3, 3),
    through_view=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_a_shape_change_in_place_matches_torch(name, values, through_view, seed):
    if through_view and name in ("t_", "transpose_", "swapaxes_", "swapdims_"):
        through_view = False  # (a row is 1-d: t_ leaves it, transpose_(0, -1) too)
    ours = run_reshape(mg, RESHAPES[name], values, seed, through_view)
    theirs = run_reshape(torch, RESHAPES[name], values, seed, through_view)
    assert ours[0].shape == theirs[0].shape and torch.equal(ours[0]._data, theirs[0])
    assert ours[1:3] == theirs[1:3], f"{name}: node and version {ours[1:3]}, torch's {theirs[1:3]}"
    assert_close(ours[3]._data, theirs[3], what=f"{name}: the gradient")


@pytest.mark.parametrize("name", RESHAPES)
def test_a_shape_change_outside_the_graph_is_torch_s_on_the_same_memory(name):
    values = torch.arange(6.0).reshape(2, 3)
    x = mg.tensor(values.clone())
    memory, version = x._data.data_ptr(), x._version
    assert RESHAPES[name](x) is x
    expected = RESHAPES[name](values.clone())
    assert x.shape == expected.shape and x._data.stride() == expected.stride()
    assert x._data.data_ptr() == memory and x._version > version and torch.equal(x._data, expected)


def test_a_view_changed_shape_then_written_through_writes_its_base_as_torch():
    def run(lib):
        a = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=F64, requires_grad=True)
        h = a * 1
        row = h[1]
        row.unsqueeze_(0)
        row.mul_(lib.tensor([[2.0, -1.0, 0.5]], dtype=F64))  # a write through the view
        (h * h).sum().backward()
        return h.detach(), row.shape, a.grad

    ours, theirs = run(mg), run(torch)
    assert torch.equal(ours[0]._data, theirs[0]) and ours[1] == theirs[1]
    assert_close(ours[2]._data, theirs[2], what="the gradient through the base")


def test_a_view_made_before_its_base_changed_shape_is_refused_not_wrong():
    """torch remakes such a view's history with as_strided; minigrad remakes it from the base's
    steps, which the shape change made stale: it refuses, where it would be silently wrong (a row
    of a square matrix made again from its transpose is a column)."""
    a = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    h = a * 1
    row = h[0]
    h.t_()
    with pytest.raises(GradientError, match=r"changed shape in place.*Make the view again"):
        (row * 2).sum()


def test_a_value_saved_for_backward_then_reshaped_in_place_is_caught_as_in_torch():
    for lib, error in ((torch, RuntimeError), (mg, GradientError)):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        h = a * 1
        y = h * a  # saves h
        h.unsqueeze_(0)
        with pytest.raises(error, match="modified (by an inplace operation|in place)"):
            y.sum().backward()


def test_a_leaf_that_requires_grad_changes_shape_only_under_no_grad_as_in_torch():
    for lib in (torch, mg):
        a = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            a.unsqueeze_(0)
        with lib.no_grad():
            a.unsqueeze_(0)
        assert a.shape == (1, 3) and a.requires_grad and a.grad_fn is None
        (a * 2).sum().backward()
        assert a.grad.shape == (1, 3)
