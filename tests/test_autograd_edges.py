"""The edges of autograd that issue 21 found or listed, each against torch: retain_grad() on a
tensor later changed in place, the version counter (`_version`), and the behaviours no test
pinned before (grad mode nested and recursive, autograd.grad's corners, custom Functions that
return views or their input, index tensors changed in place after use, a gradient shared by
two .grad's).

Each program runs on minigrad and on torch (the same code, `lib` standing for either module);
values and gradients are compared in float64.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_inplace import IN_PLACE

import minigrad as mg
from minigrad.testing import assert_close

VALUES = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


def leaf(lib, values=VALUES, requires_grad=True):
    return lib.tensor(values, dtype=lib.float64, requires_grad=requires_grad)


def grads(tensors) -> list:
    """Each tensor's .grad as nested lists (None where it has none)."""
    return [None if t.grad is None else t.grad.tolist() for t in tensors]


def assert_same(ours, theirs, what: str) -> None:
    assert (ours is None) == (theirs is None), f"{what}: minigrad {ours}, torch {theirs}"
    if theirs is not None:
        assert_close(torch.tensor(ours), torch.tensor(theirs), what=what)


# ---- retain_grad() on a tensor changed in place afterwards ---------------------------------


def retained_then_changed(lib, x):
    h = x * 2
    h.retain_grad()
    h.mul_(3)  # h now holds new values: its .grad is for them
    return h * h, [h]


def retained_then_changed_twice(lib, x):
    h = x * 2
    h.retain_grad()
    h.mul_(3)
    h.add_(1)
    return h.exp(), [h]


def retained_base_changed_through_a_view(lib, x):
    h = x * 2
    h.retain_grad()
    h[1].mul_(3)  # a write through a view changes h too
    return h * h, [h]


def retained_view_changed_then_base_used(lib, x):
    h = x * 2
    v = h[1]
    v.retain_grad()
    v.mul_(3)
    return h * h, [v]  # v's new values are not used: its .grad stays None


def retained_view_made_again_after_its_base_changed(lib, x):
    h = x * 2
    v = h[1]
    v.retain_grad()
    h.add_(1)  # v catches up with its base when next used: .grad is for those values
    return v * v, [v]


def retained_used_before_and_after_the_change(lib, x):
    h = x * 2
    h.retain_grad()
    before = h * 5  # (keeps only the 5 for backward: h may change)
    h.add_(1)
    return before + h * h, [h]


def retained_piece_of_a_split_changed(lib, x):
    a, b = x.split(1, dim=0)
    c = b * 1
    c.retain_grad()
    c.mul_(2)
    return a * c, [c]


def retained_in_place_under_no_grad(lib, x):
    h = x * 2
    h.retain_grad()
    with lib.no_grad():
        h.mul_(3)  # not recorded: h keeps its node, and its .grad
    return h + 0, [h]


RETAIN_PROGRAMS = [
    retained_then_changed,
    retained_then_changed_twice,
    retained_base_changed_through_a_view,
    retained_view_changed_then_base_used,
    retained_view_made_again_after_its_base_changed,
    retained_used_before_and_after_the_change,
    retained_piece_of_a_split_changed,
    retained_in_place_under_no_grad,
]


@pytest.mark.parametrize("program", RETAIN_PROGRAMS, ids=lambda p: p.__name__)
def test_retain_grad_follows_a_tensor_changed_in_place_as_in_torch(program):
    """torch gives .grad for the tensor's values at backward (its retain_grad hook moves to the
    tensor's new node with each in-place change); the node of its old values keeps none."""
    results = []
    for lib in (mg, torch):
        x = leaf(lib)
        out, watched = program(lib, x)
        upstream = torch.linspace(-1, 1, out.numel(), dtype=torch.float64).reshape(out.shape)
        out.backward(upstream if lib is torch else mg.Tensor(upstream))
        results.append((grads(watched), grads([x])))
    (ours, ours_x), (theirs, theirs_x) = results
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert_same(o, t, f"{program.__name__}: .grad of the retained tensor {i}")
    assert_same(ours_x[0], theirs_x[0], f"{program.__name__}: the leaf's .grad")


# ---- the version counter --------------------------------------------------------------------


@pytest.mark.parametrize("name", list(IN_PLACE))
@pytest.mark.parametrize("recorded", [False, True], ids=["plain", "in the graph"])
def test_version_counts_in_place_changes_as_torchs(name, recorded):
    """x._version, and that of a view of x (which shares it), after each in-place op: whether
    the change is recorded in the graph or is a plain in-place kernel."""
    counts = []
    for lib in (mg, torch):
        x = leaf(lib, requires_grad=recorded)
        x = x * 1.0 if recorded else x.clone()
        view = x[0]
        before = (x._version, view._version)
        IN_PLACE[name](x, leaf(lib, VALUES[::-1].copy(), requires_grad=False))
        counts.append((before, x._version, view._version))
    assert counts[0] == counts[1]


def test_version_of_a_new_tensor_is_0_and_out_of_place_ops_leave_it():
    for lib in (mg, torch):
        x = leaf(lib, requires_grad=False)
        assert x._version == 0
        _ = x + 1, x.T, x.sum()
        assert x._version == 0
        x.T.add_(1)  # through a view: the base's count moves too
        assert x._version == 1
