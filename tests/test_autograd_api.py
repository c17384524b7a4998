"""torch.autograd's surface: autograd.grad and autograd.backward, and custom Functions written
as torch's are (several outputs, a backward that returns minigrad Tensors)."""

from __future__ import annotations

import pytest
import torch

import minigrad as mg
from minigrad import GradientError
from minigrad.testing import assert_close


def pair(values):
    return (
        mg.tensor(values, dtype=mg.float64, requires_grad=True),
        torch.tensor(values, dtype=torch.float64, requires_grad=True),
    )


def test_grad_returns_gradients_and_leaves_dot_grad_alone():
    (w, w_t), (v, v_t) = pair([1.0, -2.0]), pair([0.5, 3.0])
    h, h_t = w * v, w_t * v_t  # a non-leaf input too
    loss, loss_t = (h * h).sum() + v.sum(), (h_t * h_t).sum() + v_t.sum()
    ours = mg.autograd.grad(loss, [w, h, v])
    theirs = torch.autograd.grad(loss_t, [w_t, h_t, v_t])
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert_close(o._data, t, what=f"gradient {i}")
    assert w.grad is None and v.grad is None


def test_grad_with_grad_outputs_and_several_outputs():
    (w, w_t) = pair([1.0, 2.0, 3.0])
    g = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    (ours,) = mg.autograd.grad([w * w, w.sum()], w, grad_outputs=[g, None])
    (theirs,) = torch.autograd.grad([w_t * w_t, w_t.sum()], w_t, grad_outputs=[g, None])
    assert_close(ours._data, theirs, what="d/dw")


def test_grad_of_an_unused_input_is_an_error_unless_allowed():
    (w, _), (v, _) = pair([1.0]), pair([2.0])
    loss = (w * 3).sum()
    with pytest.raises(GradientError, match="input 1.*not used.*allow_unused=True"):
        mg.autograd.grad(loss, [w, v], retain_graph=True)
    dw, dv = mg.autograd.grad(loss, [w, v], allow_unused=True, retain_graph=True)
    assert dw.tolist() == [3.0] and dv is None
    _, dv = mg.autograd.grad(loss, [w, v], materialize_grads=True)
    assert dv.tolist() == [0.0]


def test_backward_from_several_tensors_adds_up():
    (w, w_t) = pair([1.0, 2.0])
    mg.autograd.backward([(w * w).sum(), (w * 3).sum()])
    torch.autograd.backward([(w_t * w_t).sum(), (w_t * 3).sum()])
    assert_close(w.grad._data, w_t.grad, what="w.grad")


class SplitHalves:
    """The same custom op for both libraries (`lib` is torch or minigrad, as with the import
    swapped): forward returns two tensors."""

    @staticmethod
    def make(lib):
        class Halves(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                n = x.shape[0] // 2
                return x[:n] * 2, x[n:] ** 2

            @staticmethod
            def backward(ctx, grad_first, grad_second):
                (x,) = ctx.saved_tensors
                n = x.shape[0] // 2
                return lib.cat([grad_first * 2, grad_second * 2 * x[n:]])

        return Halves


def test_a_custom_function_may_return_several_tensors():
    (x, x_t) = pair([1.0, 2.0, 3.0, 4.0])
    first, second = SplitHalves.make(mg).apply(x)
    first_t, second_t = SplitHalves.make(torch).apply(x_t)
    assert first.grad_fn is second.grad_fn
    ((first * 3).sum() + second.sum()).backward()
    ((first_t * 3).sum() + second_t.sum()).backward()
    assert_close(x.grad._data, x_t.grad, what="x.grad")


def test_an_unused_output_gets_a_zero_gradient():
    (x, x_t) = pair([1.0, 2.0, 3.0, 4.0])
    _, second = SplitHalves.make(mg).apply(x)
    _, second_t = SplitHalves.make(torch).apply(x_t)
    second.sum().backward()
    second_t.sum().backward()
    assert_close(x.grad._data, x_t.grad, what="x.grad")


def test_backward_may_return_minigrad_tensors():
    class Double(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return mg.Tensor(grad * 2)

    (x, _) = pair([1.0, 2.0])
    Double.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0] and isinstance(x.grad._data, torch.Tensor)
