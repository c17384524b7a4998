"""In-place changes in the graph, against torch: every in-place op on a tensor of the graph, a
plain tensor joining the graph, history rebased (ops that used the old value keep it), writes
through views (CopySlices) and views catching up with their base, and what is refused.

Values and gradients in float64 at rtol 1e-7, atol 1e-9, with random upstream gradients. The
programs that write into a tensor (x[k] = v, copy_, fill_, zero_, a write through a view) are
also differentiated twice (`check_twice`): the backward of SetItem, Copy and CopySlices then
runs on minigrad Tensors and is differentiated in turn.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import GradientError, ShapeError
from minigrad.testing import assert_close, assert_matches_torch
from minigrad.testing import strategies as mst


def both(values, requires_grad=True):
    """The same float64 leaf for minigrad and for torch."""
    array = np.asarray(values, dtype=np.float64)
    return (
        mg.tensor(array, dtype=mg.float64, requires_grad=requires_grad),
        torch.tensor(array, dtype=torch.float64, requires_grad=requires_grad),
    )


def check(program, *arrays, seed=0):
    """Run `program(lib, *leaves)` on minigrad and torch; compare the result, then every leaf's
    gradient for a random upstream gradient."""
    ours, theirs = zip(*(both(a) for a in arrays))
    out_ours, out_theirs = program(mg, *ours), program(torch, *theirs)
    assert_close(out_ours._data, out_theirs.detach(), what="forward")
    generator = torch.Generator().manual_seed(seed)
    g = torch.randn(out_theirs.shape, generator=generator, dtype=torch.float64)
    out_ours.backward(g)
    out_theirs.backward(g)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert (o.grad is None) == (t.grad is None), f"leaf {i}: minigrad {o.grad}, torch {t.grad}"
        if t.grad is not None:
            assert_close(o.grad._data, t.grad, what=f"gradient of leaf {i}")


def check_twice(program, *arrays, name=None):
    """`program(lib, *leaves)` differentiated twice on minigrad and torch: the gradients with
    create_graph=True, then the gradient of sum(dL/dx * v) for every leaf and for the upstream
    gradient (assert_matches_torch's order=2)."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    assert_matches_torch(
        lambda *ts: program(mg, *ts),
        lambda *ts: program(torch, *ts),
        *arrays,
        order=2,
        name=name or program.__name__,
    )


# Each in-place op with its out-of-place maths; `other` is a second tensor of the same shape.
IN_PLACE = {
    "+=": lambda x, other: x.__iadd__(other),
    "-=": lambda x, other: x.__isub__(other),
    "*=": lambda x, other: x.__imul__(other),
    "/=": lambda x, other: x.__itruediv__(other * other + 1),
    "**=": lambda x, other: x.__ipow__(2),
    "add_ alpha": lambda x, other: x.add_(other, alpha=-0.5),
    "sub_ alpha": lambda x, other: x.sub_(other, alpha=2.0),
    "mul_": lambda x, other: x.mul_(other),
    "div_": lambda x, other: x.div_(2.0),
    "pow_ tensor": lambda x, other: x.abs_().add_(0.5).pow_(other.tanh()),
    "neg_": lambda x, other: x.neg_(),
    "exp_": lambda x, other: x.mul_(0.5).exp_(),
    "log_": lambda x, other: x.abs_().add_(1.0).log_(),
    "sigmoid_": lambda x, other: x.sigmoid_(),
    "tanh_": lambda x, other: x.tanh_(),
    "relu_": lambda x, other: x.relu_(),
    "abs_": lambda x, other: x.abs_(),
    "clamp_min_": lambda x, other: x.clamp_min_(0.25),
    "clamp_": lambda x, other: x.clamp_(-0.5, 1.0),
    "clamp_ tensors": lambda x, other: x.clamp_(other, other + 1),
    "clip_": lambda x, other: x.clip_(max=0.5),
    "sqrt_": lambda x, other: x.abs_().add_(0.5).sqrt_(),
    "sin_": lambda x, other: x.sin_(),
    "cos_": lambda x, other: x.cos_(),
    "masked_fill_": lambda x, other: x.masked_fill_(other > 0, -1.0),
    "zero_": lambda x, other: x.zero_(),
    "fill_ number": lambda x, other: x.fill_(1.5),
    "fill_ tensor": lambda x, other: x.fill_(other.sum()),
    "copy_": lambda x, other: x.copy_(other),
    "copy_ broadcast": lambda x, other: x.copy_(other[..., :1]),
    "x[k] = v": lambda x, other: x.__setitem__((..., 0), other[..., 1] * 3),
    "x[mask] = number": lambda x, other: x.__setitem__(x > 0, 0.5),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE))
@given(data=st.data())
def test_in_place_op_on_a_tensor_of_the_graph_matches_torch(name, data):
    shape = data.draw(mst.shapes(min_rank=1, max_rank=3, min_side=2))
    x = data.draw(mst.float_arrays(shape, -3, 3))
    other = data.draw(mst.float_arrays(shape, -3, 3))

    def program(lib, x, other):
        h = x * 2  # a tensor of the graph: its history gets rebased
        IN_PLACE[name](h, other)
        return h * other

    check(program, x, other)


# The writes of assign.py (SetItem, Copy), and += and *= (Add, Mul), whose backward formulas
# run on minigrad Tensors: differentiated twice. (The others join as their op families do.)
WRITES = ["x[k] = v", "x[mask] = number", "zero_", "fill_ number", "fill_ tensor", "copy_",
          "copy_ broadcast", "+=", "*=", "add_ alpha", "mul_"]  # fmt: skip


@pytest.mark.parametrize("name", WRITES)
@given(data=st.data())
def test_in_place_write_on_a_tensor_of_the_graph_differentiated_twice_matches_torch(name, data):
    shape = data.draw(mst.shapes(min_rank=1, max_rank=3, min_side=2))
    x = data.draw(mst.float_arrays(shape, -3, 3))
    other = data.draw(mst.float_arrays(shape, -3, 3))

    def program(lib, x, other):
        h = x * x  # a tensor of the graph, its second derivative not zero
        IN_PLACE[name](h, other)
        return h * h * other

    check_twice(program, x, other, name=name)


def test_a_plain_tensor_that_receives_a_gradient_joins_the_graph():
    def program(lib, w):
        acc = lib.zeros(2, dtype=lib.float64)
        acc += w * 3
        acc.add_(w)
        return acc

    check(program, [1.0, -2.0])
    w, _ = both([1.0, 2.0])
    acc = mg.zeros(2, dtype=mg.float64)
    acc += w * 3
    assert acc.requires_grad and not acc.is_leaf and acc.grad_fn.op_name == "Add"


def test_item_assignment_sends_the_written_region_its_gradient():
    # The example: w.grad was [2, 4] (the assignment was invisible); torch gives [8, 10].
    def program(lib, w):
        out = lib.zeros(3, dtype=lib.float64)
        for i in range(3):
            out[i] = (w * (i + 1)).sum()
        return out.sum() + (w**2).sum()

    check(program, [1.0, 2.0])
    w, _ = both([1.0, 2.0])
    program(mg, w).backward()
    assert w.grad.tolist() == [8.0, 10.0]

    def twice(lib, w):  # a plain tensor filled with values of the graph, then squared
        out = lib.zeros(3, dtype=lib.float64)
        for i in range(3):
            out[i] = (w * w * (i + 1)).sum()
        return out * out

    check_twice(twice, [1.0, 2.0])


def test_ops_that_used_the_old_value_keep_it():
    def program(lib, w):
        h = w * 2
        s = h * 3  # uses the old h
        h *= w  # h rebased: new h = old h * w
        return s + h

    check(program, [1.5, -2.0])

    def micrograd_style(lib, a):
        c = a + 1
        c += c + 1  # the c + 1 uses the old c: new c = 2 * old c + 1
        c = c * c
        c += 1 + c + (-a)
        return c

    check(micrograd_style, [-4.0, 0.5])


@pytest.mark.parametrize(
    "write",
    [
        lambda h, v: h[0:2].mul_(v),  # a slice
        lambda h, v: h.T[1].add_(v),  # a view of a view
        lambda h, v: h.reshape(-1)[1:3].copy_(v),  # through a reshape
        lambda h, v: h[1].__setitem__(0, v.sum()),  # item assignment in a view
        lambda h, v: h[:, 0].zero_(),
    ],
    ids=["slice", "transposed row", "reshape", "setitem in a view", "zero a column"],
)
def test_writing_through_a_view_changes_its_base_as_in_torch(write):
    def program(lib, w, v):
        h = w * 2
        write(h, v)
        return h * h

    check(program, [[1.0, 2.0], [-3.0, 0.5]], [0.5, -1.5])

    check_twice(program, [[1.0, 2.0], [-3.0, 0.5]], [0.5, -1.5])


WRITES_THROUGH_VIEWS = {
    "h[1:] *= v": lambda h, v: h[1:].mul_(v),
    "h.transpose(0, 1)[1] += v[0]": lambda h, v: h.transpose(0, 1)[1].add_(v[0]),
    "h.reshape(-1)[::2] = v": lambda h, v: h.reshape(-1)[::2].copy_(v.reshape(-1)[:1]),
    "h[0][-1] = v.sum()": lambda h, v: h[0].__setitem__(-1, v.sum()),
    "h[:, 0].zero_()": lambda h, v: h[:, 0].zero_(),
    "h[0] += v": lambda h, v: h[0].__iadd__(v),
}


@pytest.mark.parametrize("name", WRITES_THROUGH_VIEWS)
@given(data=st.data())
def test_writing_through_a_view_differentiated_twice_matches_torch(name, data):
    """CopySlices' backward reads the region of the gradient (the view ops, recorded) and
    zeroes it (a CopySlices of zeros): both differentiated again, against torch."""
    shape = data.draw(mst.shapes(min_rank=2, max_rank=3, min_side=2))
    w = data.draw(mst.float_arrays(shape, -3, 3), label="w")
    v = data.draw(mst.float_arrays(shape[1:], -3, 3), label="v")

    def program(lib, w, v):
        h = w * w
        WRITES_THROUGH_VIEWS[name](h, v * w[0])
        return h * h

    check_twice(program, w, v, name=name)


def test_a_view_made_before_its_base_changed_follows_the_base():
    def program(lib, w, v):
        h = w * 2
        row = h[0]  # made before the change
        h.mul_(v)  # row's values change with h's; so must its history
        return row * 3 + h.sum()

    check(program, [[1.0, 2.0], [-3.0, 0.5]], [[0.5, -1.5], [2.0, 1.0]])

    def two_views(lib, w, v):
        h = w * 2
        first, second = h[0:1], h[0:2]
        first.mul_(v[0])  # changes the memory second views too
        return second * second

    check(two_views, [1.0, 2.0, 3.0], [0.5, -1.5])

    check_twice(program, [[1.0, 2.0], [-3.0, 0.5]], [[0.5, -1.5], [2.0, 1.0]])
    check_twice(two_views, [1.0, 2.0, 3.0], [0.5, -1.5])


def test_x_index_plus_equals_works_as_in_torch():
    def program(lib, w, v):
        h = w * 2
        h[0] += v[0]  # a view, changed in place, then assigned back
        return h * h

    check(program, [1.0, 2.0], [0.5, -1.5])
    check_twice(program, [1.0, 2.0], [0.5, -1.5])


def test_a_value_backward_needs_changed_in_place_is_caught():
    w, _ = both([1.0, 2.0])
    h = w * 2
    s = h * h  # saves h
    h += 1
    with pytest.raises(GradientError, match="modified in place"):
        s.sum().backward()
    t = w.tanh()
    t.tanh_()  # tanh_ keeps its output, the new t: changing t again must be caught too
    t.add_(1)
    with pytest.raises(GradientError, match="modified in place"):
        t.sum().backward()


@pytest.mark.parametrize("view", [lambda h: h.reshape(-1), lambda h: h[1:], lambda h: h])
def test_an_output_kept_for_backward_and_changed_again_through_a_view_is_caught(view):
    """relu_ (tanh_, exp_, sigmoid_) keeps its output for backward. Written through a view, that
    output lives in the base's memory, and a later change to the base must be caught, as torch
    catches it (a view shares its base's version counter). Found by the fuzzer (seed 3)."""
    for lib in (torch, mg):
        w = lib.tensor([-1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        h = w * 1
        v = view(h)
        v.relu_()
        v.relu_()  # overwrites what the first relu_ kept
        with pytest.raises((RuntimeError, GradientError), match="modified (by an )?in.?place"):
            h.sum().backward()
    grads = []
    for lib in (torch, mg):  # once: backward works, as in torch
        w = lib.tensor([-1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        h = w * 1
        view(h).relu_()
        (h * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
        grads.append(w.grad.tolist())
    assert grads[0] == grads[1]


def test_in_place_on_a_parameter_is_refused_but_allowed_under_no_grad():
    w, _ = both([1.0, 2.0])
    with pytest.raises(GradientError, match="leaf tensor that requires grad.*no_grad"):
        w.add_(1)
    with pytest.raises(GradientError, match="view of a leaf tensor that requires grad"):
        w[0:1].mul_(2)
    (w * w).sum().backward()
    with mg.no_grad():
        w -= 0.1 * w.grad
    w.data -= 0.1 * w.grad  # the fastbook way
    assert w.is_leaf and w.grad_fn is None
    assert_close(w._data, torch.tensor([0.6, 1.2], dtype=torch.float64), what="w")


def test_a_view_made_under_no_grad_is_refused_in_place_with_grad_on():
    w, _ = both([1.0, 2.0])
    h = w * 2
    with mg.no_grad():
        first = h[0:1]
    with pytest.raises(GradientError, match="made under no_grad"):
        first.mul_(w[0])


def test_a_detached_alias_changed_in_place_is_a_separate_tensor_for_the_graph():
    # As torch's detach(): the numbers are shared, the histories are not.
    def program(lib, w):
        h = w * 2
        alias = h.detach()
        alias.add_(w)  # h's numbers change too, not h's history
        return h * 1 + alias

    check(program, [1.0, -2.0])
    w, _ = both([1.0, 2.0])
    part = mg.Tensor(torch.zeros(4, dtype=torch.float64)[1:3])  # wraps a torch view
    part.add_(w)  # a tensor of its own for the graph
    part.sum().backward()
    assert w.grad.tolist() == [1.0, 1.0]


def test_a_view_made_by_a_function_of_your_own_is_tracked_but_not_changed_in_place():
    """A Function of the user's that returns a view of its input is tracked as one (it shares
    the input's memory and version counter), without declaring it. But its backward is its own:
    as torch does for a custom Function, minigrad refuses to change such a view in place, or to
    use it after the input was changed in place, since either would bypass that backward
    (tests/test_autograd_edges.py compares more such programs with torch's)."""

    class FirstRow(mg.Function):  # returns a view of its input, as torch's x[0] does
        @staticmethod
        def forward(ctx, x):
            return x[0]

        @staticmethod
        def backward(ctx, grad):
            return mg.stack([grad, mg.zeros_like(grad)])

    w, w_t = both([[1.0, 2.0], [3.0, 4.0]])
    h, h_t = w * 2, w_t * 2
    row = FirstRow.apply(h)
    assert row._view is not None and row._version == h._version
    (row * h[1]).sum().backward()
    (h_t[0] * h_t[1]).sum().backward()
    assert_close(w.grad._data, w_t.grad, what="w.grad")
    with pytest.raises(GradientError, match=r"an output of FirstRow .* is a view of its input"):
        row.mul_(3)
    h.add_(1)
    with pytest.raises(GradientError, match="the tensor it views was changed in place"):
        row * 2


def test_in_place_results_must_fit_the_tensor_they_go_into():
    w, _ = both([1.0, 2.0])
    h = w * 2
    with pytest.raises(ShapeError, match=r"in-place \+=.*\(2, 2\).*\(2,\)"):
        h += w.reshape(2, 1)
    counts = mg.zeros(2, dtype=mg.int64)
    with pytest.raises(TypeError, match="int64 cannot hold"):
        counts += w
    with pytest.raises(TypeError, match="int64 cannot hold"):
        counts += torch.tensor([0.5, 0.5])  # nothing to record: torch's kernel refuses, we explain
    halves = mg.zeros(2, dtype=mg.float32)
    halves += w  # float64 into float32: allowed, as in torch
    assert halves.dtype == torch.float32 and halves.requires_grad


def test_outside_the_graph_in_place_ops_record_nothing_and_keep_the_memory():
    x = mg.zeros(3)
    data = x._data
    x += 1
    x.mul_(3).sub_(1)
    x[0] = 7
    assert x._data is data and x.tolist() == [7.0, 2.0, 2.0]
    assert x.is_leaf and not x.requires_grad
    view = x[1:]
    view.zero_()  # the base sees it
    assert x.tolist() == [7.0, 0.0, 0.0]


def test_in_place_ops_return_the_tensor_itself():
    w, _ = both([1.0, 2.0])
    h = w * 2
    assert h.add_(1) is h and h.mul_(2) is h and h.zero_() is h and h.copy_(w) is h
    h += 1
    assert isinstance(h, mg.Tensor)


def test_an_operand_that_partly_shares_the_memory_written_to_is_refused_as_in_torch():
    w, w_t = both([[1.0], [3.0]])
    for leaf in (w, w_t):  # minigrad's, then torch's
        pair = leaf[..., [0, 0]]  # (2, 2), a copy that requires grad
        with pytest.raises(RuntimeError, match="same memory|single memory location"):
            pair.mT.copy_(pair)  # the transpose reads what the copy writes
    h = w * 1
    h += h  # the very same memory: allowed, as in torch
    assert h.tolist() == [[2.0], [6.0]]


def test_mT_of_a_single_number_is_itself_and_of_a_vector_an_error_as_in_torch():
    x = mg.tensor(2.0, requires_grad=True)
    assert x.mT.shape == () and x.mT.requires_grad
    with pytest.raises(ShapeError, match=r"\.mT transposes matrices"):
        mg.ones(3).mT  # noqa: B018  (the attribute raises)


@pytest.mark.parametrize("layer", ["F.relu", "nn.ReLU", "F.dropout", "nn.Dropout"])
def test_inplace_true_writes_into_the_input_as_torch(layer):
    """inplace=True of relu and dropout, as a function or a layer: x itself changes, is returned,
    and the gradient flows through the write (dropout's mask drawn as torch's from the seed)."""

    def run(lib, x0):
        nn, F = lib.nn, lib.nn.functional
        apply = {
            "F.relu": lambda h: F.relu(h, inplace=True),
            "nn.ReLU": nn.ReLU(inplace=True),
            "F.dropout": lambda h: F.dropout(h, 0.5, training=True, inplace=True),
            "nn.Dropout": nn.Dropout(0.5, inplace=True),
        }[layer]
        x = lib.tensor(x0, requires_grad=True)
        h = x * 2
        lib.manual_seed(0)
        out = apply(h)
        (h * lib.tensor(np.arange(1.0, 9.0))).sum().backward()  # h, not out: it changed
        data = lambda t: getattr(t, "_data", t).detach()  # noqa: E731
        return out is h, data(h), data(x.grad)

    x0 = np.linspace(-1.0, 1.0, 8)
    returned_mine, h_mine, grad_mine = run(mg, x0)
    returned_theirs, h_theirs, grad_theirs = run(torch, x0)
    assert returned_mine and returned_theirs
    torch.testing.assert_close(h_mine, h_theirs, rtol=0, atol=0)
    torch.testing.assert_close(grad_mine, grad_theirs, rtol=0, atol=0)


def test_inplace_relu_on_a_leaf_that_requires_grad_is_refused():
    leaf = mg.randn(3, requires_grad=True)
    with pytest.raises(GradientError, match="leaf"):
        mg.nn.functional.relu(leaf, inplace=True)


def test_an_in_place_cast_torch_refuses_is_a_runtime_error_as_in_torch():
    """minigrad's error is a TypeError (a wrong dtype) and a RuntimeError, which torch raises:
    `except RuntimeError` written for torch catches it."""
    for lib in (mg, torch):
        x = lib.arange(3)
        with pytest.raises(RuntimeError):
            x.exp_()
        with pytest.raises(RuntimeError):
            x += 1.5
    with pytest.raises(mg.DtypeError, match="int64 cannot hold"):
        mg.arange(3).exp_()
