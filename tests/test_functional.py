"""minigrad.autograd.functional (vjp, jvp, jacobian, hessian, hvp, vhp) and minigrad.func (grad,
grad_and_value, vjp, jacrev, hessian, functional_call) against torch's, in float64, over shapes
Hypothesis draws; and their errors, as torch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.functional as TAF
import torch.func as TF
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import func as MF
from minigrad.autograd import functional as MAF
from minigrad.testing import assert_close
from minigrad.testing import strategies as mst

RTOL, ATOL = 1e-7, 1e-9


def f_two(lib):
    """Two inputs, two outputs, nonlinear in both."""

    def f(x, w):
        z = (x * w).tanh()
        return z.sum(-1) * x.exp().sum(), (z * x).sigmoid()

    return f


def f_scalar(lib):
    def f(x, w):
        return ((x * w).tanh() * x * x).sum() + (w.exp() * x).mean()

    return f


def same(got, expected, what: str) -> None:
    """Nested tuples of minigrad Tensors against torch's, entry by entry."""
    if isinstance(expected, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(expected), what
        for i, (g, e) in enumerate(zip(got, expected)):
            same(g, e, f"{what}[{i}]")
        return
    assert isinstance(got, mg.Tensor), what
    assert_close(got._data, expected.detach(), what=what, rtol=RTOL, atol=ATOL)


def both(array: np.ndarray) -> tuple[mg.Tensor, torch.Tensor]:
    t = torch.as_tensor(array)
    return mg.Tensor(t.clone()), t.clone()


pairs_of_arrays = mst.shapes(max_rank=2).flatmap(
    lambda shape: st.tuples(mst.float_arrays(shape, -2, 2), mst.float_arrays(shape, -2, 2))
)


@given(pairs_of_arrays, st.integers(0, 2**16))
def test_vjp_and_jvp_match_torch(arrays, seed):
    (xm, xt), (wm, wt) = both(arrays[0]), both(arrays[1])
    gen = torch.Generator().manual_seed(seed)
    out_t = f_two(torch)(xt, wt)
    v_out = tuple(torch.randn(o.shape, generator=gen, dtype=torch.float64) for o in out_t)
    v_in = tuple(torch.randn(x.shape, generator=gen, dtype=torch.float64) for x in (xt, wt))
    same(MAF.vjp(f_two(mg), (xm, wm), tuple(map(mg.Tensor, v_out))),
         TAF.vjp(f_two(torch), (xt, wt), v_out), "vjp")  # fmt: skip
    same(MAF.jvp(f_two(mg), (xm, wm), tuple(map(mg.Tensor, v_in))),
         TAF.jvp(f_two(torch), (xt, wt), v_in), "jvp")  # fmt: skip


@given(pairs_of_arrays)
def test_jacobian_and_hessian_match_torch(arrays):
    (xm, xt), (wm, wt) = both(arrays[0]), both(arrays[1])
    same(MAF.jacobian(f_two(mg), (xm, wm)), TAF.jacobian(f_two(torch), (xt, wt)), "jacobian")
    same(MAF.jacobian(lambda x: x.tanh() * x, xm), TAF.jacobian(lambda x: x.tanh() * x, xt),
         "jacobian of one tensor")  # fmt: skip
    same(MAF.hessian(f_scalar(mg), (xm, wm)), TAF.hessian(f_scalar(torch), (xt, wt)), "hessian")


@given(pairs_of_arrays, st.integers(0, 2**16))
def test_hvp_and_vhp_match_torch(arrays, seed):
    (xm, xt), (wm, wt) = both(arrays[0]), both(arrays[1])
    gen = torch.Generator().manual_seed(seed)
    v = tuple(torch.randn(x.shape, generator=gen, dtype=torch.float64) for x in (xt, wt))
    vm = tuple(map(mg.Tensor, v))
    same(MAF.hvp(f_scalar(mg), (xm, wm), vm), TAF.hvp(f_scalar(torch), (xt, wt), v), "hvp")
    same(MAF.vhp(f_scalar(mg), (xm, wm), vm), TAF.vhp(f_scalar(torch), (xt, wt), v), "vhp")


def test_results_carry_a_graph_only_with_create_graph_as_in_torch():
    xm, xt = both(np.array([0.5, -1.0]))
    xm.requires_grad_()
    xt.requires_grad_()
    for create_graph in (False, True):
        jm = MAF.jacobian(lambda x: x.tanh() * x, xm, create_graph=create_graph)
        jt = TAF.jacobian(lambda x: x.tanh() * x, xt, create_graph=create_graph)
        assert jm.requires_grad == jt.requires_grad == create_graph
    (dm,) = mg.autograd.grad(MAF.hessian(lambda x: (x * x * x).sum(), xm, True).sum(), [xm])
    (dt,) = torch.autograd.grad(TAF.hessian(lambda x: (x**3).sum(), xt, True).sum(), [xt])
    same(dm, dt, "the gradient of the sum of a Hessian")


def test_strict_refuses_an_output_that_does_not_depend_on_an_input_as_torch():
    xm, xt = both(np.array([0.5, -1.0]))
    wm, wt = both(np.array([1.0, 2.0]))
    for module, x, w in ((MAF, xm, wm), (TAF, xt, wt)):
        with pytest.raises(RuntimeError, match="independent of input 1"):
            module.jacobian(lambda a, b: a * 2, (x, w), strict=True)
        assert module.jacobian(lambda a, b: a * 2, (x, w))[1].abs().sum() == 0
        with pytest.raises(RuntimeError, match="v has invalid size"):
            module.vjp(lambda a: a * 2, x, v=x[:1])


# ---- minigrad.func ------------------------------------------------------------------------------


@given(mst.float_arrays(mst.shapes(max_rank=2), -2, 2))
def test_func_grad_hessian_and_jacrev_match_torch_func(array):
    xm, xt = both(array)

    def f(x):
        return (x.tanh() * x * x).sum()

    same(MF.grad(f)(xm), TF.grad(f)(xt), "grad")
    same(MF.hessian(f)(xm), TF.hessian(f)(xt), "hessian")
    same(MF.jacrev(lambda x: x.tanh() * x)(xm), TF.jacrev(lambda x: x.tanh() * x)(xt), "jacrev")
    gm, vm = MF.grad_and_value(f)(xm)
    gt, vt = TF.grad_and_value(f)(xt)
    same((gm, vm), (gt, vt), "grad_and_value")
    out_m, vjp_m = MF.vjp(lambda x: x.tanh() * x, xm)
    out_t, vjp_t = TF.vjp(lambda x: x.tanh() * x, xt)
    same((out_m, vjp_m(mg.ones_like(out_m))), (out_t, vjp_t(torch.ones_like(out_t))), "vjp")


def test_func_grad_nests_and_its_result_has_no_graph_unless_it_depends_on_one():
    s = torch.tensor(0.7, dtype=torch.float64)
    third_m = MF.grad(MF.grad(MF.grad(lambda x: x.tanh())))(mg.Tensor(s))
    third_t = TF.grad(TF.grad(TF.grad(torch.tanh)))(s)
    same(third_m, third_t, "d^3 tanh / dx^3")
    assert not third_m.requires_grad
    w = mg.tensor(2.0, dtype=mg.float64, requires_grad=True)  # closed over, requires grad
    g = MF.grad(lambda x: (x * w).tanh())(mg.Tensor(s))
    assert g.requires_grad  # it depends on w: an outer backward reaches w through it
    g.backward()
    wt = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    TF.grad(lambda x: (x * wt).tanh())(s).backward()
    same(w.grad, wt.grad, "w.grad through func.grad")


def test_func_grad_with_argnums_and_aux_as_torch():
    xm, xt = both(np.array([0.5, -1.0]))
    ym, yt = both(np.array([2.0, 0.3]))

    def f(lib):
        return lambda x, y: ((x * y).tanh().sum(), x * 2)

    (gm, aux_m), (gt, aux_t) = (
        MF.grad(f(mg), argnums=(0, 1), has_aux=True)(xm, ym),
        TF.grad(f(torch), argnums=(0, 1), has_aux=True)(xt, yt),
    )
    same((gm, aux_m), (gt, aux_t), "grad with argnums and aux")
    with pytest.raises(RuntimeError, match="single number"):
        MF.grad(lambda x: x * 2)(xm)


def test_functional_call_runs_a_maml_step_as_torch_func():
    """MAML's inner step: the loss after one gradient step, differentiated with respect to
    the starting weights (a second derivative through the step)."""
    torch.manual_seed(0)
    model_t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    model_t = model_t.double()
    model_m = mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.Tanh(), mg.nn.Linear(4, 1))
    model_m = model_m.to(dtype=mg.float64)
    state = {k: mg.Tensor(v.detach().clone()) for k, v in model_t.state_dict().items()}
    model_m.load_state_dict(state)
    x = torch.randn(5, 3, dtype=torch.float64)
    y = torch.randn(5, 1, dtype=torch.float64)

    def adapted_loss(lib, call, model, params, x, y):
        inner = ((call(model, params, (x,)) - y) ** 2).mean()
        grads = lib.autograd.grad(inner, list(params.values()), create_graph=True)
        fast = {k: p - 0.1 * g for (k, p), g in zip(params.items(), grads)}
        return ((call(model, fast, (x,)) - y) ** 2).mean()

    params_t = dict(model_t.named_parameters())
    params_m = dict(model_m.named_parameters())
    loss_t = adapted_loss(torch, TF.functional_call, model_t, params_t, x, y)
    loss_m = adapted_loss(mg, MF.functional_call, model_m, params_m, mg.Tensor(x), mg.Tensor(y))
    same(loss_m, loss_t, "the adapted loss")
    loss_t.backward()
    loss_m.backward()
    for name in params_t:
        same(params_m[name].grad, params_t[name].grad, f"{name}.grad")
    assert model_m[0].weight is params_m["0.weight"]  # the module's own weights are back
    with pytest.raises(ValueError, match="no parameter or buffer named 'nope'"):
        MF.functional_call(model_m, {"nope": mg.zeros(1)}, (mg.Tensor(x),))
