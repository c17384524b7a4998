"""The backward trace: each step of backward, in order, with its numbers."""

from __future__ import annotations

import contextlib
import io

import pytest

import minigrad as mg
from minigrad.trace import BackwardTrace, tracing
from minigrad.viz import summarize

# loss = sum(x * w + x), x = [1, 2], w = 3: by hand, dloss/dx = w + 1 = 4 (x is used twice,
# so its gradient is the sum of two contributions, 3 and 1) and dloss/dw = x1 + x2 = 3.
EXPECTED = """\
backward from loss, dLoss/dloss = () 1.0000
[1] Sum -> loss ()
    grad in:  () 1.0000
    rule:     out = sum of x over dim.   dout/dx_i = 1 for every summed x_i.
    to t1 (x): (2,) [1.0000, 1.0000]
[2] Add -> t1 (2,)
    grad in:  (2,) [1.0000, 1.0000]
    rule:     out = a + b.   dout/da = 1, dout/db = 1: the gradient passes through unchanged.
    to t0 (a): (2,) [1.0000, 1.0000]
    to x (b): (2,) [1.0000, 1.0000]
[3] Mul -> t0 (2,)
    grad in:  (2,) [1.0000, 1.0000]
    rule:     out = a * b.   dout/da = b, dout/db = a: each operand's gradient is the other operand.
    to x (a): (2,) [3.0000, 3.0000]
    to w (b): () 3.0000
leaf w (): .grad = 3.0000
leaf x (2,) (the sum of 2 contributions): .grad = [4.0000, 4.0000]
"""


def tiny_loss() -> mg.Tensor:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor(3.0, requires_grad=True)
    x.name, w.name = "x", "w"
    return (x * w + x).sum()


def test_trace_true_prints_each_step_in_backward_order(capsys):
    tiny_loss().backward(trace=True)
    assert capsys.readouterr().out == EXPECTED


def test_a_quiet_trace_object_collects_the_same_lines_without_printing(capsys):
    trace = BackwardTrace(echo=False)
    tiny_loss().backward(trace=trace)
    assert capsys.readouterr().out == ""
    assert trace.text == EXPECTED


def test_backward_without_trace_prints_nothing(capsys):
    loss = tiny_loss()
    loss.backward()
    assert capsys.readouterr().out == ""


def test_tracing_block_traces_every_backward_inside_and_none_after():
    out = io.StringIO()
    with tracing(BackwardTrace(file=out)) as trace:
        tiny_loss().backward()
        tiny_loss().backward()
    assert out.getvalue() == EXPECTED + EXPECTED
    assert trace.text == EXPECTED + EXPECTED
    with contextlib.redirect_stdout(io.StringIO()) as after:
        tiny_loss().backward()
    assert after.getvalue() == ""


def test_tracing_restores_the_engine_when_backward_raises():
    loss = tiny_loss()
    loss.backward()
    with pytest.raises(mg.GradientError), tracing(BackwardTrace(echo=False)):
        loss.backward()  # the graph was released: a second backward fails
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        tiny_loss().backward()
    assert quiet.getvalue() == ""


def test_big_gradients_are_summarized_by_norm_min_and_max():
    mg.manual_seed(0)
    w = mg.randn(784, 1, dtype=mg.float64, requires_grad=True)
    w.name = "weights"
    x = mg.ones(2, 784, dtype=mg.float64)
    trace = BackwardTrace(echo=False)
    (x @ w).sum().backward(trace=trace)
    # d/dw sum(x @ w) = column sums of x = 2 everywhere: norm 2 * sqrt(784) = 56
    assert trace.lines[-1] == (
        "leaf weights (784, 1): .grad = norm 56.0000, min 2.0000, max 2.0000"
    )


def test_seed_model_trace_for_two_images_names_every_step():
    mg.manual_seed(0)
    weights = mg.randn(784, 1, dtype=mg.float64).requires_grad_()
    bias = mg.randn(1, dtype=mg.float64).requires_grad_()
    weights.name, bias.name = "weights", "bias"
    xb = mg.rand(2, 784, dtype=mg.float64) * 0.01
    yb = mg.tensor([[1], [0]])
    predictions = (xb @ weights + bias).sigmoid()
    loss = mg.where(yb == 1, 1 - predictions, predictions).mean()
    trace = BackwardTrace(echo=False)
    loss.backward(trace=trace)
    steps = [line.split(" -> ")[0] for line in trace.lines if line.startswith("[")]
    assert steps == ["[1] Mean", "[2] Where", "[3] Sub", "[4] Sigmoid", "[5] Add", "[6] MatMul"]
    assert "    to bias (b): (1,) " + summarize(bias.grad._data) in trace.lines
    assert trace.lines[-2].startswith("leaf weights (784, 1): .grad = norm ")
