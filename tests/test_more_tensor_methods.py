"""Smaller corners of torch's Tensor surface, against torch: what a tensor tells of itself
(type(), element_size, storage_offset...), conversions, the update rules torch's own optimizers
are written with (addcmul_, addcdiv_, lerp_), fill_diagonal_, unfold's windows, diag_embed,
dist, argwhere, isin, asarray and set_printoptions. Values and gradients in float64 at rtol 1e-7
(first and second order where the method is differentiable), over arrays Hypothesis draws.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.testing import assert_matches_torch
from minigrad.testing import strategies as mst

F64 = torch.float64


# ---- what a tensor tells of itself -----------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.uint8])
def test_a_tensor_describes_itself_as_torch(dtype):
    theirs = torch.arange(12).to(dtype).reshape(3, 4)
    ours = mg.tensor(theirs.clone())
    for view in (lambda t: t, lambda t: t[1:, 2:], lambda t: t.T):
        a, b = view(ours), view(theirs)
        assert a.type() == b.type()
        assert (a.storage_offset(), a.element_size(), a.itemsize, a.nbytes) == (
            b.storage_offset(), b.element_size(), b.itemsize, b.nbytes,
        )  # fmt: skip
        assert (a.is_complex(), a.is_signed(), a.ndimension()) == (
            b.is_complex(), b.is_signed(), b.ndimension(),
        )  # fmt: skip
    assert ours[0].data_ptr() == ours.data_ptr() != ours[1].data_ptr()


@pytest.mark.parametrize("name", ["byte", "char", "short", "bfloat16", "half", "int", "long"])
def test_conversions_as_torch(name):
    values = torch.tensor([[0.0, 1.5, 7.25], [3.0, 100.0, 2.75]])
    ours, theirs = getattr(mg.tensor(values), name)(), getattr(values, name)()
    assert ours.dtype == theirs.dtype and torch.equal(ours._data, theirs)


def test_type_with_a_dtype_or_a_name_converts_as_torch():
    values = torch.tensor([1.5, -2.5])
    for target in (torch.int32, "torch.DoubleTensor", "torch.IntTensor"):
        ours, theirs = mg.tensor(values).type(target), values.type(target)
        assert ours.dtype == theirs.dtype and torch.equal(ours._data, theirs)


def test_retains_grad_says_whether_retain_grad_was_called():
    for lib in (torch, mg):
        x = lib.ones(2, requires_grad=True)
        h = x * 2
        assert not h.retains_grad and not x.retains_grad
        h.retain_grad()
        assert h.retains_grad


def test_set_printoptions_is_torch_s_and_minigrad_prints_by_it():
    x = mg.tensor([1 / 3, 2 / 3])
    try:
        mg.set_printoptions(precision=2)
        assert repr(x) == repr(x._data) == "tensor([0.33, 0.67])"
    finally:
        mg.set_printoptions(profile="default")
    assert repr(x) == "tensor([0.3333, 0.6667])"


# ---- the update rules of torch's optimizers, out of place and in place -----------------------


def positive(shape):
    return mst.float_arrays(shape, 0.5, 3.0)


@st.composite
def three_arrays(draw):
    """x, t1, t2 of shapes that broadcast to x's (as an in-place update needs); t2 in [0.5, 3]
    (a divisor, and lerp's weight: off 0 by construction)."""
    shapes = draw(mst.broadcastable_shapes(3, max_rank=3), label="shapes")
    x = draw(mst.float_arrays(np.broadcast_shapes(*shapes)), label="x")
    t1 = draw(mst.float_arrays(shapes[1]), label="t1")
    return x, t1, draw(positive(shapes[2]), label="t2")


@pytest.mark.parametrize("form", ["function", "method"])
@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
@given(arrays=three_arrays(), value=st.sampled_from([1, -0.5, 2.0]))
def test_addcmul_and_addcdiv_match_torch(name, form, arrays, value):
    ours, theirs = (mg, torch) if form == "function" else (mg.Tensor, torch.Tensor)
    assert_matches_torch(
        lambda x, a, b: getattr(ours, name)(x, a, b, value=value),
        lambda x, a, b: getattr(theirs, name)(x, a, b, value=value),
        *arrays,
        order=2,
        name=f"{name} ({form})",
    )


UPDATES = {  # in place on a tensor of the graph: (call, its arguments besides x)
    "addcmul_": lambda x, a, b: x.addcmul_(a, b, value=-0.5),
    "addcdiv_": lambda x, a, b: x.addcdiv_(a, b, value=2.0),
    "lerp_": lambda x, a, b: x.lerp_(a, 0.3),
    "lerp_ (tensor weight)": lambda x, a, b: x.lerp_(a, b),
    "square_": lambda x, a, b: x.square_(),
    "true_divide_": lambda x, a, b: x.true_divide_(b),
}


@pytest.mark.parametrize("name", UPDATES)
@given(arrays=three_arrays())
def test_in_place_updates_match_torch_through_backward(name, arrays):
    update = UPDATES[name]

    def run(x, a, b):
        h = x * 1.0  # a tensor of the graph, changed in place
        assert update(h, a, b) is h
        return h

    assert_matches_torch(run, run, *arrays, order=2, name=name)


@pytest.mark.parametrize("name", UPDATES)
def test_in_place_updates_refuse_a_leaf_that_requires_grad_and_work_under_no_grad(name):
    """As torch's optimizers use them: on a parameter, under no_grad."""
    update = UPDATES[name]
    for lib in (torch, mg):
        leaf = lib.ones(3, dtype=F64, requires_grad=True)
        a, b = lib.full((3,), 2.0, dtype=F64), lib.full((3,), 4.0, dtype=F64)
        with pytest.raises(RuntimeError, match="leaf"):
            update(leaf, a, b)
        with lib.no_grad():
            update(leaf, a, b)
        assert leaf.is_leaf and leaf.requires_grad
    ours, theirs = (lib.ones(3, dtype=F64) for lib in (mg, torch))
    update(ours, mg.full((3,), 2.0, dtype=F64), mg.full((3,), 4.0, dtype=F64))
    update(theirs, torch.full((3,), 2.0, dtype=F64), torch.full((3,), 4.0, dtype=F64))
    assert torch.equal(ours._data, theirs)


def test_adam_written_with_torch_s_update_rules_matches_torch_s_adam():
    """One parameter, three steps of Adam as torch writes it (exp_avg.lerp_,
    exp_avg_sq.mul_().addcmul_, p.addcdiv_), against torch.optim.Adam."""
    start = torch.tensor([0.5, -1.5, 2.0], dtype=F64)
    reference = start.clone().requires_grad_()
    adam = torch.optim.Adam([reference], lr=0.1)
    p = mg.tensor(start.clone(), requires_grad=True)
    exp_avg, exp_avg_sq = mg.zeros_like(p), mg.zeros_like(p)
    for step in range(1, 4):
        adam.zero_grad()
        (reference**3).sum().backward()
        adam.step()
        p.grad = None
        (p**3).sum().backward()
        with mg.no_grad():
            exp_avg.lerp_(p.grad, 1 - 0.9)
            exp_avg_sq.mul_(0.999).addcmul_(p.grad, p.grad, value=1 - 0.999)
            denom = (exp_avg_sq / (1 - 0.999**step)).sqrt() + 1e-8
            p.addcdiv_(exp_avg, denom, value=-0.1 / (1 - 0.9**step))
    torch.testing.assert_close(p._data, reference.detach(), rtol=1e-12, atol=0)


# ---- fill_diagonal_, diag_embed, unfold ------------------------------------------------------


@pytest.mark.parametrize(
    "shape, wrap",
    [((3, 3), False), ((7, 3), False), ((7, 3), True), ((3, 5), True), ((2, 2, 2), False)],
)
def test_fill_diagonal_matches_torch_through_backward(shape, wrap):
    x = np.arange(float(np.prod(shape))).reshape(shape) / 7

    def fill(t):
        h = t * 2.0
        assert h.fill_diagonal_(-1.5, wrap=wrap) is h
        return h

    assert_matches_torch(fill, fill, x, name=f"fill_diagonal_ {shape} wrap={wrap}")
    with pytest.raises(RuntimeError, match="leaf"):
        mg.ones(3, 3, requires_grad=True).fill_diagonal_(0.0)


@given(x=mst.float_arrays(mst.shapes(min_rank=1, max_rank=3)), data=st.data())
@example(x=np.ones((2, 3)), data=None)
def test_diag_embed_matches_torch(x, data):
    offset, dim1, dim2 = 0, -2, -1
    if data is not None:
        offset = data.draw(st.integers(-2, 2), label="offset")
        n = x.ndim + 1
        dim1, dim2 = data.draw(
            st.lists(st.integers(-n, n - 1), min_size=2, max_size=2, unique_by=lambda d: d % n),
            label="dims",
        )
    for ours, theirs in ((mg.diag_embed, torch.diag_embed), (mg.Tensor.diag_embed, None)):
        theirs = theirs or torch.Tensor.diag_embed
        assert_matches_torch(
            lambda t, f=ours: f(t, offset, dim1, dim2),
            lambda t, f=theirs: f(t, offset, dim1, dim2),
            x,
            order=2,
            name=f"diag_embed({offset}, {dim1}, {dim2})",
        )


@st.composite
def windows(draw):
    """x, and (dimension, size, step) of windows that fit along that dim (size <= its length)."""
    x = draw(mst.float_arrays(mst.shapes(max_rank=3)), label="x")
    dim = draw(st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1), label="dim")
    length = x.shape[dim] if x.ndim else 1
    size = draw(st.integers(0 if length else 0, length), label="size")
    return x, dim, size, draw(st.integers(1, 3), label="step")


@given(case=windows())
@example(case=(np.arange(5.0), 0, 3, 1))  # windows that overlap: places in several add up
@example(case=(np.arange(5.0), 0, 2, 2))  # the last place is in no window: gradient 0
@example(case=(np.array(2.0), 0, 1, 1))  # a number: one window of one place
def test_unfold_matches_torch(case):
    x, dim, size, step = case
    unfold = lambda t: t.unfold(dim, size, step)  # noqa: E731
    assert_matches_torch(unfold, unfold, x, order=2, name=f"unfold({dim}, {size}, {step})")


def test_unfold_is_a_view_as_torch_s():
    x = mg.arange(6.0)
    windows_of_x = x.unfold(0, 3, 3)
    x[4] = 40.0
    assert windows_of_x.tolist() == [[0.0, 1.0, 2.0], [3.0, 40.0, 5.0]]


# ---- dist, argwhere, isin, asarray, moveaxis, true_divide ------------------------------------


@st.composite
def apart(draw):
    """x, and y = x + d with each |d| in [0.1, 2] and distinct (off x = y, where a p-norm has
    no derivative, and off ties of the largest |d|, where the inf-norm has none)."""
    x = draw(mst.float_arrays(mst.shapes(min_rank=1, max_rank=2)), label="x")
    steps = draw(mst.distinct_arrays(x.shape, 0.1, 2.0), label="|d|")
    signs = draw(mst.float_arrays(x.shape, -1, 1), label="signs")
    return x, x + np.where(signs < 0, -steps, steps)


@given(arrays=apart(), p=st.sampled_from([2, 1, 3, float("inf")]))
def test_dist_matches_torch(arrays, p):
    x, y = arrays
    assert_matches_torch(
        lambda a, b: mg.dist(a, b, p), lambda a, b: torch.dist(a, b, p), x, y, name=f"dist p={p}"
    )
    assert_matches_torch(lambda a, b: a.dist(b, p), lambda a, b: a.dist(b, p), x, y)


def test_argwhere_isin_moveaxis_and_true_divide_as_torch():
    values = torch.tensor([[0.0, 1.5, 0.0], [2.0, 0.0, 3.0]])
    x = mg.tensor(values)
    assert torch.equal(x.argwhere()._data, values.argwhere())
    assert torch.equal(mg.argwhere(x)._data, torch.argwhere(values))
    for test, invert in ((torch.tensor([0.0, 3.0]), False), (torch.tensor([2.0]), True)):
        theirs = torch.isin(values, test, invert=invert)
        assert torch.equal(mg.isin(x, mg.tensor(test), invert=invert)._data, theirs)
    assert torch.equal(mg.isin(x, 1.5)._data, torch.isin(values, 1.5))
    cube = torch.arange(24.0).reshape(2, 3, 4)
    assert torch.equal(mg.moveaxis(mg.tensor(cube), 0, -1)._data, torch.moveaxis(cube, 0, -1))
    assert torch.equal(mg.true_divide(x, 4)._data, torch.true_divide(values, 4))


def test_asarray_shares_memory_copies_or_refuses_as_torch():
    array = np.ones(3)
    shared = mg.asarray(array)
    array[0] = 5.0
    assert shared.tolist() == [5.0, 1.0, 1.0]  # the array's own memory
    copied = mg.asarray(array, copy=True)
    array[1] = 7.0
    assert copied.tolist() == [5.0, 1.0, 1.0]
    t = mg.ones(2)
    assert mg.asarray(t) is t  # (torch.asarray of a tensor is that tensor too)
    assert mg.asarray([1.5, 2]).dtype == torch.asarray([1.5, 2]).dtype
    for asarray in (torch.asarray, mg.asarray):
        with pytest.raises(ValueError):
            asarray([1, 2], copy=False)  # a list has no memory to share
    leaf = mg.asarray([1.0, 2.0], requires_grad=True)
    assert leaf.requires_grad and leaf.is_leaf
    assert not mg.asarray(leaf, requires_grad=False).requires_grad and leaf.requires_grad
