"""Losses against torch: values and gradients in float64, for ordinary and saturated logits."""

from __future__ import annotations

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn

RTOL, ATOL = 1e-7, 1e-9
SATURATED = [-1000.0, -100.0, -30.0, 30.0, 100.0, 1000.0]
logit = st.one_of(st.floats(-10, 10), st.sampled_from(SATURATED + [0.0]))


def check_against_torch(ours_fn, theirs_fn, logits, targets, upstream=0.7):
    """Same value; same gradient for the logits after backpropagating `upstream`."""
    x_theirs = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    x_ours = mg.Tensor(x_theirs.detach().clone(), requires_grad=True)
    expected = theirs_fn(x_theirs, targets)
    loss = ours_fn(x_ours, mg.Tensor(targets.clone()))
    assert loss.shape == () and torch.isfinite(loss._data)
    torch.testing.assert_close(loss._data, expected.detach(), rtol=RTOL, atol=ATOL)
    g = torch.tensor(upstream, dtype=torch.float64)
    loss.backward(g)
    (expected_grad,) = torch.autograd.grad(expected, x_theirs, grad_outputs=g)
    assert x_ours.grad.shape == x_theirs.shape and x_ours.grad.dtype == torch.float64
    assert torch.isfinite(x_ours.grad._data).all()
    torch.testing.assert_close(x_ours.grad._data, expected_grad, rtol=RTOL, atol=ATOL)


@st.composite
def logits_and_classes(draw):
    n, c = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    logits = draw(st.lists(st.lists(logit, min_size=c, max_size=c), min_size=n, max_size=n))
    classes = draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n))
    return logits, torch.tensor(classes)


@st.composite
def logits_and_binary_targets(draw):
    n = draw(st.integers(1, 8))
    logits = draw(st.lists(logit, min_size=n, max_size=n))
    soft = draw(st.booleans())
    target = st.floats(0, 1) if soft else st.sampled_from([0.0, 1.0])
    targets = draw(st.lists(target, min_size=n, max_size=n))
    column = draw(st.booleans())  # fastbook's (n, 1) shapes as well as (n,)
    shape = (n, 1) if column else (n,)
    return torch.tensor(logits).reshape(shape).tolist(), torch.tensor(
        targets, dtype=torch.float64
    ).reshape(shape)


def test_cross_entropy_is_exact_for_logits_of_plus_minus_1000():
    logits = [[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0], [1000.0, 1000.0, -1000.0]]
    check_against_torch(
        F.cross_entropy, torch.nn.functional.cross_entropy, logits, torch.tensor([1, 2, 0])
    )


@given(logits_and_classes(), st.floats(-2, 2))
def test_cross_entropy_matches_torch(data, upstream):
    logits, targets = data
    check_against_torch(
        F.cross_entropy, torch.nn.functional.cross_entropy, logits, targets, upstream
    )


@given(logits_and_classes(), st.floats(-2, 2))
def test_nll_loss_matches_torch(data, upstream):
    logits, targets = data
    log_probs = torch.tensor(logits, dtype=torch.float64).clamp(-50, 50).log_softmax(1).tolist()
    check_against_torch(F.nll_loss, torch.nn.functional.nll_loss, log_probs, targets, upstream)


@given(logits_and_binary_targets(), st.floats(-2, 2))
@example(([0.0, 0.0], torch.tensor([0.0, 1.0], dtype=torch.float64)), 1.0)  # the kink of |x|
@example(([-1000.0, 1000.0], torch.tensor([0.0, 1.0], dtype=torch.float64)), 1.0)
@example(([-1000.0, 1000.0], torch.tensor([1.0, 0.0], dtype=torch.float64)), 1.0)
def test_binary_cross_entropy_with_logits_matches_torch(data, upstream):
    logits, targets = data
    theirs = torch.nn.functional.binary_cross_entropy_with_logits
    check_against_torch(F.binary_cross_entropy_with_logits, theirs, logits, targets, upstream)


def fastbook_mnist_loss(predictions, targets):
    predictions = predictions.sigmoid()
    return torch.where(targets == 1, 1 - predictions, predictions).mean()


@given(logits_and_binary_targets(), st.floats(-2, 2))
def test_mnist_loss_is_fastbooks(data, upstream):
    logits, targets = data
    targets = targets.round()  # 0/1 labels, as in the chapter
    check_against_torch(F.mnist_loss, fastbook_mnist_loss, logits, targets, upstream)


def test_softplus_matches_torch_everywhere():
    x = torch.tensor([-1000.0, -30.0, -1.0, 0.0, 1e-8, 2.0, 30.0, 1000.0], dtype=torch.float64)
    ours = mg.Tensor(x.clone(), requires_grad=True)
    out = F.softplus(ours)
    torch.testing.assert_close(out._data, torch.nn.functional.softplus(x), rtol=RTOL, atol=ATOL)
    out.sum().backward()
    torch.testing.assert_close(ours.grad._data, torch.sigmoid(x), rtol=RTOL, atol=ATOL)


def test_loss_modules_call_the_functions():
    logits = mg.randn(4, 3, dtype=torch.float64)
    classes = mg.tensor([0, 2, 1, 2])
    assert nn.CrossEntropyLoss()(logits, classes).item() == F.cross_entropy(logits, classes).item()
    log_probs = logits.log_softmax(1)
    assert nn.NLLLoss()(log_probs, classes).item() == F.nll_loss(log_probs, classes).item()
    x, y = mg.randn(5, dtype=torch.float64), mg.tensor([0.0, 1, 1, 0, 1], dtype=torch.float64)
    bce = F.binary_cross_entropy_with_logits(x, y).item()
    assert nn.BCEWithLogitsLoss()(x, y).item() == bce


def test_losses_work_on_the_device(device):
    logits = mg.randn(4, 3, device=device, requires_grad=True)
    loss = F.cross_entropy(logits, mg.tensor([0, 2, 1, 2], device=device))
    loss.backward()
    assert loss.device.type == device and logits.grad.device.type == device


def test_cross_entropy_errors_teach():
    logits = mg.randn(4, 3)
    with pytest.raises(ValueError, match=r"targets.squeeze\(1\)"):
        F.cross_entropy(logits, mg.tensor([[0], [1], [2], [1]]))
    with pytest.raises(TypeError, match=r"class indices .* got torch.float32.*targets.long\(\)"):
        F.cross_entropy(logits, mg.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match=r"logits of shape \(N, C\).*got \(3,\)"):
        F.cross_entropy(mg.randn(3), mg.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"logits \(4,\) and targets \(4, 1\) must have the same"):
        F.binary_cross_entropy_with_logits(mg.randn(4), mg.zeros(4, 1))
