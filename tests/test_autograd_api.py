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


class SpyMul(mg.autograd.function.Op):
    """out = a * b, noting which gradients each backward was asked for."""

    asked: list[tuple[bool, ...]] = []

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        SpyMul.asked.append(tuple(ctx.needs_input_grad))
        return (grad * b if ctx.needs_input_grad[0] else None,
                grad * a if ctx.needs_input_grad[1] else None)  # fmt: skip


@pytest.mark.parametrize("how", ["autograd.grad", "backward(inputs=)", "autograd.backward"])
def test_only_the_gradients_flowing_to_the_inputs_asked_for_are_computed(how):
    """As torch: d(out)/dx computes no weight gradient on the way (a WGAN-GP penalty's
    autograd.grad(critic(x), x) costs one matmul per layer, not two)."""
    x = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
    w = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
    h = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
    SpyMul.asked = []
    out = (SpyMul.apply(x, w) * h.tanh()).sum()  # h's branch leads only to h
    if how == "autograd.grad":
        (dx,) = mg.autograd.grad(out, x)
    elif how == "backward(inputs=)":
        out.backward(inputs=[x])
        dx = x.grad
    else:
        mg.autograd.backward(out, inputs=x)
        dx = x.grad
    assert SpyMul.asked == [(True, False)]
    assert w.grad is None and h.grad is None
    assert torch.equal(dx._data, (w._data * h._data.tanh()))


def test_a_function_of_yours_sees_every_input_it_needs_and_the_unasked_gradient_is_dropped():
    """torch's ctx.needs_input_grad is what forward saw, whatever the pass asks for."""
    seen = []

    class Times(mg.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            seen.append(tuple(ctx.needs_input_grad))
            a, b = ctx.saved_tensors
            return grad * b, grad * a

    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    (da,) = mg.autograd.grad(Times.apply(a, b).sum(), a)
    assert seen == [(True, True)]
    assert da.tolist() == [3.0, 4.0] and b.grad is None


def test_a_tensor_asked_for_that_is_made_from_the_others_gets_its_own_gradient():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    out = (h * h).sum()
    dh, dx = mg.autograd.grad(out, [h, x])
    assert dh.tolist() == [6.0, 12.0] and dx.tolist() == [18.0, 36.0]
    (dh,) = mg.autograd.grad((h * h).sum(), h)  # its inputs lead to nothing asked for
    assert dh.tolist() == [6.0, 12.0]


def test_outputs_that_do_not_depend_on_the_inputs_run_nothing():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor([3.0, 4.0], requires_grad=True)
    SpyMul.asked = []
    out = SpyMul.apply(w, w).sum()
    assert mg.autograd.grad(out, x, allow_unused=True) == (None,)
    assert SpyMul.asked == [] and w.grad is None
    out.backward()  # its graph was not used, so not freed either
    assert w.grad.tolist() == [6.0, 8.0]
