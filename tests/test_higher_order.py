"""Gradients of gradients: create_graph with torch's semantics, the checks users run
(gradcheck, gradgradcheck), custom Functions that can or cannot be differentiated twice, and
derivatives of any order, exact. Each op's own second derivative is proven in its family's test
file (assert_matches_torch(..., order=2)); here the machinery around them, against torch.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.autograd import GradcheckError, Variable, gradcheck, gradgradcheck
from minigrad.autograd.function import Context, once_differentiable
from minigrad.testing import assert_close
from minigrad.testing import strategies as mst

RTOL, ATOL = 1e-7, 1e-9


def pair(values, requires_grad: bool = True) -> tuple[mg.Tensor, torch.Tensor]:
    t = torch.as_tensor(np.asarray(values, dtype=np.float64))
    return mg.Tensor(t.clone(), requires_grad=requires_grad), t.clone().requires_grad_(
        requires_grad
    )


def close(got: mg.Tensor, expected: torch.Tensor, what: str) -> None:
    assert_close(got._data, expected.detach(), what=what, rtol=RTOL, atol=ATOL)


def program(lib, x, w):
    """Made of ops whose formulas run on Tensors: a small model with a tanh and a softplus-ish
    log(1 + e^z)."""
    z = (x @ w).tanh() * x.sum(1, keepdim=True)
    return ((z.exp() + 1).log() * z).mean()


# ---- create_graph, as torch ----------------------------------------------------------------------


@given(x=mst.float_arrays((3, 2), -2, 2), w=mst.float_arrays((2, 2), -2, 2))
def test_a_gradient_made_with_create_graph_can_be_differentiated_again_as_in_torch(x, w):
    (xm, xt), (wm, wt) = pair(x), pair(w)
    (gm,) = mg.autograd.grad(program(mg, xm, wm), [wm], create_graph=True)
    (gt,) = torch.autograd.grad(program(torch, xt, wt), [wt], create_graph=True)
    close(gm, gt, "first derivative")
    assert gm.requires_grad and gm.grad_fn is not None
    penalty_m, penalty_t = (gm * gm).sum(), (gt * gt).sum()  # a gradient penalty
    close_all = zip(mg.autograd.grad(penalty_m, [xm, wm]), torch.autograd.grad(penalty_t, [xt, wt]))
    for what, (a, b) in zip(["d penalty / dx", "d penalty / dw"], close_all):
        close(a, b, what)


def test_backward_with_create_graph_leaves_a_grad_that_has_a_graph_and_keeps_the_graph():
    (xm, xt) = pair([0.5, -1.0, 2.0])
    ym, yt = (xm * xm * xm).sum(), (xt * xt * xt).sum()
    ym.backward(create_graph=True)
    yt.backward(create_graph=True)
    assert xm.grad.requires_grad and xt.grad.requires_grad
    close(xm.grad, xt.grad, "x.grad")
    ym.backward(retain_graph=True)  # the graph is still there: retain_graph followed create_graph
    yt.backward(retain_graph=True)
    close(xm.grad, xt.grad, "x.grad after a second backward")  # 3x^2 twice, as torch adds it
    xm.grad.sum().backward()  # the gradient of the gradient, added into .grad as torch does
    xt.grad.sum().backward()
    close(xm.grad, xt.grad, "x.grad after backward through x.grad")


def test_a_first_order_backward_frees_what_the_gradient_s_graph_needs_as_in_torch():
    (xm, xt) = pair([0.5, -1.0, 2.0])
    ym, yt = (xm * xm * xm).sum(), (xt * xt * xt).sum()
    ym.backward(create_graph=True)
    yt.backward(create_graph=True)
    ym.backward()  # no retain_graph: the forward graph's saved tensors go
    yt.backward()
    with pytest.raises(RuntimeError, match="second time"):
        xt.grad.sum().backward()
    with pytest.raises(mg.GradientError, match="freed by an earlier backward"):
        xm.grad.sum().backward()


def test_grad_outputs_that_require_grad_are_differentiated_through():
    (xm, xt), (um, ut) = pair([[0.5, -1.0], [2.0, 0.3]]), pair([[1.0, -2.0], [0.5, 3.0]])
    (gm,) = mg.autograd.grad(xm.tanh() * xm, [xm], um, create_graph=True)
    (gt,) = torch.autograd.grad(xt.tanh() * xt, [xt], ut, create_graph=True)
    for a, b, what in zip(
        mg.autograd.grad(gm.sum(), [xm, um]), torch.autograd.grad(gt.sum(), [xt, ut]), "xu"
    ):
        close(a, b, f"d(sum of the vjp)/d{what}")


def test_a_constant_first_derivative_has_no_graph_and_differentiating_it_fails_as_in_torch():
    (xm, xt) = pair([1.0, 2.0])
    (gm,) = mg.autograd.grad((3 * xm).sum(), [xm], create_graph=True)
    (gt,) = torch.autograd.grad((3 * xt).sum(), [xt], create_graph=True)
    assert gm.requires_grad == gt.requires_grad == False  # noqa: E712  (d/dx 3x = 3: a constant)
    with pytest.raises(RuntimeError):
        torch.autograd.grad(gt.sum(), [xt])
    with pytest.raises(mg.GradientError, match="does not require grad"):
        mg.autograd.grad(gm.sum(), [xm])


def test_a_value_times_its_detached_self_differentiates_twice_as_torch():
    """x * x.detach(): the op saves two tensors over one memory, only the first in the graph.
    The second derivative must treat the detached one as the constant it is (the fuzzer found
    detach() handing back x's own torch tensor, which made them indistinguishable)."""
    (xm, xt) = pair([0.5, -1.5, 2.0])
    direction = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64)
    hessian_vector = []
    for lib, x in ((mg, xm), (torch, xt)):
        y = x * x.detach()
        (g,) = lib.autograd.grad((y * y).sum(), [x], create_graph=True)
        (h,) = lib.autograd.grad((g * lib.tensor(direction.numpy())).sum(), [x])
        hessian_vector.append(h)
    close(*hessian_vector, "d/dx of sum(dL/dx * v), L = sum((x * x.detach())^2)")
    assert xm.detach()._data is not xm._data  # a torch tensor of its own, as torch's
    assert xm.detach()._data.data_ptr() == xm._data.data_ptr()  # over the same memory


def test_x_times_x_data_under_create_graph_is_a_clear_error_not_a_wrong_answer():
    """x.data shares x's torch tensor, so which of Mul's two inputs was saved cannot be told:
    a backward that records its formulas refuses, naming .data and what to write instead
    (a first-order backward needs no such choice, and gives torch's gradient)."""
    (xm, xt) = pair([0.5, -1.5, 2.0])
    (g,) = mg.autograd.grad((xm * xm.data).sum(), [xm])
    close(g, xt.detach(), "d/dx of sum(x * x.data)")
    with pytest.raises(mg.GradientError, match=r"Mul's inputs 0 and 1 .*\.data.*x\.detach\(\)"):
        mg.autograd.grad((xm * xm.data).sum(), [xm], create_graph=True)


def test_an_input_the_outputs_do_not_use_is_an_error_or_none_or_zeros_as_in_torch():
    (xm, _), (ym, _) = pair([1.0]), pair([2.0])
    out = (xm * xm).sum()
    with pytest.raises(mg.GradientError, match="was not used"):
        mg.autograd.grad(out, [xm, ym], retain_graph=True)
    assert mg.autograd.grad(out, [xm, ym], retain_graph=True, allow_unused=True)[1] is None
    zeros = mg.autograd.grad(out, [xm, ym], materialize_grads=True)[1]
    assert torch.equal(zeros._data, torch.zeros(1, dtype=torch.float64))
    with pytest.raises(ValueError, match="allow_unused"):
        mg.autograd.grad(out, [xm], allow_unused=False, materialize_grads=True)


def test_grads_batched_give_one_vector_jacobian_product_per_row_as_torch():
    (xm, xt) = pair([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3]])
    vs = torch.randn(4, 2, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    (bm,) = mg.autograd.grad(xm.tanh() * xm, [xm], mg.Tensor(vs), is_grads_batched=True)
    (bt,) = torch.autograd.grad(xt.tanh() * xt, [xt], vs, is_grads_batched=True)
    close(bm, bt, "batched vector-Jacobian products")


def test_backward_inputs_adds_only_into_the_tensors_named_leaf_or_not():
    (xm, xt), (wm, wt) = pair([1.0, 2.0]), pair([3.0, -1.0])
    hm, ht = xm * wm, xt * wt
    hm.retain_grad()
    ht.retain_grad()
    (hm * hm).sum().backward(inputs=[wm, hm])
    (ht * ht).sum().backward(inputs=[wt, ht])
    assert xm.grad is None and xt.grad is None
    close(wm.grad, wt.grad, "w.grad")
    close(hm.grad, ht.grad, "h.grad")


# ---- derivatives of any order, exact -------------------------------------------------------------


def test_x_to_the_fifth_differentiated_three_times_is_60_x_squared():
    x = mg.tensor([-1.5, 0.5, 2.0], dtype=mg.float64, requires_grad=True)
    y = x * x * x * x * x
    for _ in range(3):
        (y,) = mg.autograd.grad(y.sum(), [x], create_graph=True)
    assert torch.equal(y._data, 60 * x._data**2)


def test_tanh_differentiated_six_times_matches_its_closed_forms():
    """With t = tanh x, each derivative is a polynomial in t: if f = P(t) then
    f' = P'(t) (1 - t^2). The polynomials come from that rule alone (numpy's), not from any
    autograd."""
    x = mg.tensor(np.linspace(-2, 2, 9), dtype=mg.float64, requires_grad=True)
    t = np.tanh(x._data.numpy())
    poly = np.polynomial.Polynomial([0, 1])  # P_0(t) = t
    one_minus_t2 = np.polynomial.Polynomial([1, 0, -1])
    y = x.tanh()
    for order in range(1, 7):
        (y,) = mg.autograd.grad(y.sum(), [x], create_graph=True)
        poly = poly.deriv() * one_minus_t2
        np.testing.assert_allclose(y._data.numpy(), poly(t), rtol=1e-12, atol=1e-12,
                                   err_msg=f"derivative {order} of tanh")  # fmt: skip


# ---- custom Functions, as torch's ----------------------------------------------------------------


class Cube(mg.Function):
    """y = x^3, its backward written with minigrad's ops: differentiable again."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x


class CubeKeepingSquare(mg.Function):
    """The same, but it keeps x^2 (neither an input nor its output) for backward."""

    @staticmethod
    def forward(ctx, x):
        square = x * x
        ctx.save_for_backward(square)
        return square * x

    @staticmethod
    def backward(ctx, grad):
        (square,) = ctx.saved_tensors
        return grad * 3 * square


class CubeWithWrongSecondDerivative(Cube):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x.detach()  # right value, but half of it is out of the graph


def test_a_custom_function_is_given_minigrad_tensors_as_torch_gives_its_own():
    seen = {}

    class Spy(mg.Function):
        @staticmethod
        def forward(ctx, x):
            seen["forward"] = (type(x), mg.is_grad_enabled())
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            seen["backward"] = type(grad)
            return grad * 2

    x = mg.tensor([1.0], requires_grad=True)
    Spy.apply(x).sum().backward()
    assert seen == {"forward": (mg.Tensor, False), "backward": mg.Tensor}


def test_a_custom_function_written_with_minigrad_ops_passes_gradgradcheck():
    x = mg.tensor([[0.5, -1.0], [2.0, 0.3]], dtype=mg.float64, requires_grad=True)
    assert gradcheck(Cube.apply, (x,))
    assert gradgradcheck(Cube.apply, (x,))


def test_gradgradcheck_fails_a_wrong_second_derivative_that_gradcheck_passes():
    x = mg.tensor([[0.5, -1.0], [2.0, 0.3]], dtype=mg.float64, requires_grad=True)
    assert gradcheck(CubeWithWrongSecondDerivative.apply, (x,))
    assert gradgradcheck(CubeWithWrongSecondDerivative.apply, (x,), raise_exception=False) is False
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to"):
        gradgradcheck(CubeWithWrongSecondDerivative.apply, (x,))


def test_a_custom_function_that_keeps_an_intermediate_refuses_create_graph_by_name():
    x = mg.tensor([0.5, 2.0], dtype=mg.float64, requires_grad=True)
    (g,) = mg.autograd.grad(CubeKeepingSquare.apply(x).sum(), [x])  # first order: fine
    assert torch.allclose(g._data, 3 * x._data**2)
    with pytest.raises(mg.GradientError, match="CubeKeepingSquare saved a value .* neither"):
        mg.autograd.grad(CubeKeepingSquare.apply(x).sum(), [x], create_graph=True)


def test_once_differentiable_gives_first_derivatives_and_refuses_a_second_one():
    class Square(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 2 * x

    x = mg.tensor([1.0, -3.0], dtype=mg.float64, requires_grad=True)
    y = Square.apply(x)
    (g,) = mg.autograd.grad((y * y).sum(), [x], create_graph=True)
    assert torch.equal(g._data, 4 * x._data**3)
    with pytest.raises(mg.GradientError, match="marked @once_differentiable"):
        mg.autograd.grad(g.sum(), [x])


def test_mark_non_differentiable_and_set_materialize_grads_as_torch():
    def make(lib):
        class SortedAndOrder(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                order = x.argsort()
                ctx.mark_non_differentiable(order)
                ctx.save_for_backward(order)
                return x[order], order

            @staticmethod
            def backward(ctx, grad, grad_order):
                (order,) = ctx.saved_tensors
                seen.append((grad is None, grad_order is None))
                result = lib.zeros_like(grad)
                result[order] = grad
                return result

        return SortedAndOrder

    xm, xt = pair([3.0, 1.0, 2.0])
    for lib, x in ((mg, xm), (torch, xt)):
        seen: list = []
        values, order = make(lib).apply(x)
        assert not order.requires_grad and values.requires_grad
        (values * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
        assert seen == [(False, True)]  # the unused output's gradient is None, not zeros
        assert x.grad.tolist() == [3.0, 1.0, 2.0]


def test_a_function_with_an_unused_output_differentiates_twice_as_torch():
    """The output nobody used gets zeros; under create_graph the other gradient is a Tensor,
    and finding the missing one must not compare Tensors with None (it did: `None in grads`)."""

    def make(lib):
        class SoftplusKeepingExp(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                e = lib.exp(x)
                ctx.save_for_backward(e)
                return lib.log(1 + e), e

            @staticmethod
            def backward(ctx, grad, grad_e):
                (e,) = ctx.saved_tensors
                return grad * e / (1 + e) + grad_e * e

        return SoftplusKeepingExp

    xm, xt = pair([0.5, -1.5, 2.0])
    results = []
    for lib, x in ((mg, xm), (torch, xt)):
        out, _ = make(lib).apply(x)
        (g,) = lib.autograd.grad(out.sum(), [x], create_graph=True)
        results.append((g, *lib.autograd.grad((g * g).sum(), [x])))
    for what, a, b in zip(["first derivative", "second"], results[0], results[1]):
        close(a, b, what)
    assert gradgradcheck(lambda x: make(mg).apply(x)[0], (xm,))


# ---- memory --------------------------------------------------------------------------------------


def test_the_x_grad_graph_x_cycle_is_collected():
    """backward(create_graph=True) makes x.grad hold a graph that leads back to x: a cycle,
    which Python's collector frees (torch warns about its leak, minigrad's is collectable)."""
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    (x * x * x).sum().backward(create_graph=True)
    alive = weakref.ref(x)
    del x
    gc.collect()
    assert alive() is None


def test_memory_stays_flat_over_1000_create_graph_steps():
    """A training step with a gradient penalty, 1000 times: the graph nodes alive afterwards
    are as many as after the first steps (nothing accumulates from step to step)."""
    gen = torch.Generator().manual_seed(0)
    w = mg.Tensor(torch.randn(4, 4, generator=gen, dtype=torch.float64) * 0.3, requires_grad=True)
    opt = mg.optim.SGD([w], lr=0.01)

    def step() -> None:
        x = mg.Tensor(torch.randn(8, 4, generator=gen, dtype=torch.float64), requires_grad=True)
        out = (x @ w).tanh().sum()
        (gx,) = mg.autograd.grad(out, [x], create_graph=True)
        loss = out + (gx * gx).mean()  # a penalty on the gradient with respect to the input
        opt.zero_grad()
        loss.backward()
        opt.step()

    def nodes_alive() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is Context)

    for _ in range(20):
        step()
    before = nodes_alive()
    for _ in range(1000):
        step()
    assert nodes_alive() <= before


# ---- torch's pre-1.0 names and the checks' own behaviour -----------------------------------------


def test_variable_is_a_tensor_as_in_torch_today():
    data = mg.tensor([1.0, 2.0])
    v = Variable(data, requires_grad=True)
    assert type(v) is mg.Tensor and v.requires_grad and isinstance(v, Variable)
    v.data.mul_(2)  # it shares the memory
    assert data.tolist() == [2.0, 4.0]
    with pytest.warns(UserWarning, match="volatile was removed"):
        Variable(data, volatile=True)


def test_grad_fn_structure_reads_as_torch_s():
    (xm, xt) = pair([1.0, 2.0])
    ym, yt = (xm * 2).sum(), (xt * 2).sum()
    (mul_m, index_m), (mul_t, index_t) = ym.grad_fn.next_functions[0], yt.grad_fn.next_functions[0]
    assert index_m == index_t == 0 and mul_m.name() == mul_t.name() == "MulBackward0"
    leaf_m, leaf_t = mul_m.next_functions[0][0], mul_t.next_functions[0][0]
    assert type(leaf_m).__name__ == type(leaf_t).__name__ == "AccumulateGrad"
    assert leaf_m.variable is xm and leaf_t.variable is xt and leaf_m.next_functions == ()
    assert mul_m.next_functions[1] == (None, 0) == mul_t.next_functions[1]  # the number 2
    assert mul_m.next_functions[0][0] == leaf_m and len({leaf_m, mul_m.next_functions[0][0]}) == 1


def test_gradcheck_refuses_what_minigrad_cannot_check_and_warns_on_float32():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="not a double precision"):
        gradcheck(lambda a: a * a, (x,), raise_exception=False)
    with pytest.raises(NotImplementedError, match="no forward-mode AD"):
        gradcheck(lambda a: a * a, (x.double(),), check_forward_ad=True)
    with pytest.raises(ValueError, match="at least one input"):
        gradcheck(lambda a: a * a, (mg.tensor([1.0], dtype=mg.float64),))


@given(st.integers(1, 3), st.integers(1, 3))
def test_gradcheck_agrees_with_torch_s_on_a_program(n, m):
    gen = torch.Generator().manual_seed(n * 10 + m)
    x = torch.randn(n, m, generator=gen, dtype=torch.float64)
    w = torch.randn(m, 2, generator=gen, dtype=torch.float64)
    xm, wm = mg.Tensor(x, requires_grad=True), mg.Tensor(w, requires_grad=True)
    assert gradcheck(lambda a, b: program(mg, a, b), (xm, wm))
    assert gradgradcheck(lambda a, b: program(mg, a, b), (xm, wm))
    assert torch.autograd.gradgradcheck(
        lambda a, b: program(torch, a, b),
        (x.clone().requires_grad_(), w.clone().requires_grad_()),
    )
