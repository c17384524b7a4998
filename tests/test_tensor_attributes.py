"""requires_grad, grad and data are checked when they are set, as torch checks them: a wrong
value is an error at the assignment, never a wrong gradient or an AttributeError later."""

from __future__ import annotations

import pytest
import torch

import minigrad as mg
from minigrad import GradientError


def test_requires_grad_can_be_set_the_micrograd_way():
    x = mg.tensor([-4.0], dtype=mg.float64)
    x.requires_grad = True
    y = (x * x).sum()
    y.backward()
    assert x.grad.tolist() == [-8.0]


def test_requires_grad_only_on_floating_point_tensors():
    counts = mg.tensor([1, 2])
    with pytest.raises(GradientError, match="only floating-point.*int64.*x.float"):
        counts.requires_grad = True  # was accepted, then gave a truncated int64 gradient
    assert not counts.requires_grad
    with pytest.raises(TypeError, match="True or False"):
        mg.tensor([1.0]).requires_grad = "yes"


def test_requires_grad_can_be_turned_off_only_on_leaves():
    w = mg.tensor([1.0], requires_grad=True)
    h = w * 2
    with pytest.raises(GradientError, match="only on leaves.*Mul.*detach"):
        h.requires_grad = False
    h.requires_grad_()  # already true: torch's method allows it
    w.requires_grad = False
    assert not w.requires_grad


def test_requires_grad_is_set_only_on_leaves_and_points_a_non_leaf_at_retain_grad():
    """torch refuses `h.requires_grad = True` on a value of the graph too: a learner who meant
    to keep h's gradient learns of retain_grad() instead of finding h.grad None."""
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
        (torch.ones(1, requires_grad=True) * 2).requires_grad = True
    h = mg.ones(1, requires_grad=True) * 2
    with pytest.raises(GradientError, match="only on leaves.*Mul.*retain_grad"):
        h.requires_grad = True


def test_grad_must_match_its_tensor():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    w.grad = mg.tensor([0.5, 0.5])
    w.grad = torch.tensor([0.5, 0.5])  # a raw torch tensor is wrapped
    assert isinstance(w.grad, mg.Tensor) and w.grad.tolist() == [0.5, 0.5]
    (w * w).sum().backward()  # and accumulates
    assert w.grad.tolist() == [2.5, 4.5]
    w.grad = None
    assert w.grad is None
    with pytest.raises(ValueError, match=r"shape \(3,\) where the tensor has \(2,\)"):
        w.grad = mg.zeros(3)
    with pytest.raises(ValueError, match="dtype torch.float64 where the tensor has torch.float32"):
        w.grad = mg.zeros(2, dtype=mg.float64)
    with pytest.raises(TypeError, match="Tensor or None, got list"):
        w.grad = [0.0, 0.0]


def test_data_takes_tensors_only():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    w.data = mg.tensor([3.0, 4.0])
    w.data = torch.tensor([5.0, 6.0])
    assert w.tolist() == [5.0, 6.0] and w.requires_grad and w.is_leaf
    with pytest.raises(TypeError, match=r"\.data must be set to a Tensor.*got list"):
        w.data = [1.0, 2.0]
    theirs = torch.tensor([1.0], requires_grad=True)
    w.data = theirs * 2  # torch's own graph never comes in
    assert not w._data.requires_grad
