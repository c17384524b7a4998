"""Anomaly mode: the first op whose backward makes a NaN or an infinity is named, with its rule
and the line of the user's code that created it."""

from __future__ import annotations

import pytest

import minigrad as mg
from minigrad import GradientError


def loss_with_a_log_at_zero(x):
    probabilities = (x * 0).sigmoid() - 0.5  # all exactly 0
    return probabilities.log().mean()  # THE LINE: log at 0


def test_detect_anomaly_names_the_op_its_rule_and_the_line():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.autograd.detect_anomaly():
        loss = loss_with_a_log_at_zero(x)
        with pytest.raises(GradientError) as caught:
            loss.backward()
    message = str(caught.value)
    assert "Log.backward gave infinite values" in message
    assert "dout/dx = 1/x" in message  # the rule, from the op's docstring
    assert "test_anomaly_mode.py" in message and "THE LINE: log at 0" in message
    assert not mg.autograd.is_anomaly_enabled()


def test_set_detect_anomaly_as_a_call_and_a_block():
    mg.autograd.set_detect_anomaly(True)
    try:
        assert mg.autograd.is_anomaly_enabled()
    finally:
        mg.autograd.set_detect_anomaly(False)
    with mg.autograd.set_detect_anomaly(True):
        x = mg.tensor([0.0], requires_grad=True)
        with pytest.raises(GradientError, match="Div.backward gave"):
            (1 / x).sum().backward()
    assert not mg.autograd.is_anomaly_enabled()


def test_without_anomaly_mode_the_nan_gradient_is_computed_silently_as_in_torch():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    loss_with_a_log_at_zero(x).backward()
    assert x.grad is not None  # (NaN): anomaly mode is the tool to find where it came from


def test_check_nan_false_records_but_does_not_check():
    x = mg.tensor([0.0], requires_grad=True)
    with mg.autograd.detect_anomaly(check_nan=False):
        y = x.log()
        assert y.grad_fn.created_at is not None
        y.sum().backward()


class SignedRoot(mg.Function):
    """y = (2/3) x |x|^(1/2).   dy/dx = |x|^(1/2): finite at 0, but its derivative is not."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x.abs().sqrt() * (2 / 3)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.abs().sqrt()


def test_a_nan_in_a_second_pass_names_the_op_whose_backward_made_the_node():
    x = mg.tensor([0.0, 4.0], dtype=mg.float64, requires_grad=True)
    with mg.autograd.detect_anomaly():
        y = SignedRoot.apply(x)  # the line the message points to
        (slope,) = mg.autograd.grad(y.sum(), [x], create_graph=True)  # finite: [0, 2]
        assert slope.tolist() == [0.0, 2.0]
        with pytest.raises(mg.GradientError) as caught:
            mg.autograd.grad(slope.sum(), [x])
    message = str(caught.value)
    assert "Sqrt.backward gave infinite values" in message
    assert "made by the backward of SignedRoot" in message
    assert "y = SignedRoot.apply(x)  # the line the message points to" in message
