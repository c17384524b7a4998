"""minigrad.func's vmap, jvp and jacfwd, and grad of a dict of tensors, against torch.func in
float64 over shapes and dims Hypothesis draws: the same values (vmap calls the function once
per example where torch batches it), gradients through a vmap, torch's per-sample-gradients
recipe, and the errors torch raises, with the same exception types."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.func as TF
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import func as MF
from minigrad.testing import assert_close
from minigrad.testing import strategies as mst

RTOL, ATOL = 1e-7, 1e-9


def same(got, expected, what: str) -> None:
    """Nested tuples, lists and dicts of minigrad Tensors against torch's, leaf by leaf."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and list(got) == list(expected), what
        for key in expected:
            same(got[key], expected[key], f"{what}[{key!r}]")
        return
    if isinstance(expected, (tuple, list)):
        assert type(got) is type(expected) and len(got) == len(expected), what
        for i, (g, e) in enumerate(zip(got, expected)):
            same(g, e, f"{what}[{i}]")
        return
    assert isinstance(got, mg.Tensor), f"{what}: got a {type(got).__name__}"
    assert got.shape == expected.shape, f"{what}: shape {got.shape} against {expected.shape}"
    assert_close(got._data, expected.detach(), what=what, rtol=RTOL, atol=ATOL)


def pair(array: np.ndarray) -> tuple[mg.Tensor, torch.Tensor]:
    t = torch.as_tensor(array)
    return mg.Tensor(t.clone()), t.clone()


def example(a, b):
    """One example's outputs: a's shape and b's; every value of each input reaches both."""
    return (a.tanh() * b.sum() + a.mean()).sin(), b.exp() * a.sum()


@st.composite
def mapped_arguments(draw):
    """Two arrays, the dim of each that vmap maps (None for one given whole: at least one is
    mapped, with one size), and where the results stack."""
    size = draw(st.integers(1, 4))
    shapes, dims = [], []
    for _ in range(2):
        rest = draw(mst.shapes(max_rank=2))
        dim = draw(st.none() | st.integers(-len(rest) - 1, len(rest)))
        if dim is None:
            shapes.append(rest)
        else:
            at = dim % (len(rest) + 1)
            shapes.append(rest[:at] + (size,) + rest[at:])
        dims.append(dim)
    if dims == [None, None]:
        dims[0] = 0
        shapes[0] = (size, *shapes[0])
    arrays = [draw(mst.float_arrays(shape, -2, 2)) for shape in shapes]
    ranks = [len(shape) - (d is not None) for shape, d in zip(shapes, dims)]
    out_dims = tuple(draw(st.integers(-rank - 1, rank)) for rank in ranks)  # each output's
    return arrays, tuple(dims), out_dims


@given(mapped_arguments())
def test_vmap_gives_torch_funcs_values_for_drawn_dims(arguments):
    arrays, in_dims, out_dims = arguments
    (am, at), (bm, bt) = pair(arrays[0]), pair(arrays[1])
    ours = MF.vmap(example, in_dims=in_dims, out_dims=out_dims)(am, bm)
    theirs = TF.vmap(example, in_dims=in_dims, out_dims=out_dims)(at, bt)
    same(ours, theirs, f"vmap(in_dims={in_dims}, out_dims={out_dims})")


@given(mst.float_arrays(st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3)), -2, 2))
def test_vmap_nests_and_gradients_flow_back_through_it(array):
    """vmap(vmap(f)) maps over two dims; a weight the function closes over gets, from a
    backward() through the stacked results, torch's gradient."""
    xm, xt = pair(array)
    w_m = mg.tensor(np.linspace(-1.0, 1.0, array.shape[-1]), requires_grad=True)
    w_t = torch.linspace(-1.0, 1.0, array.shape[-1], dtype=torch.float64, requires_grad=True)

    def f(w):
        return lambda row: (row * w).sin().sum() * row.mean()

    ours = MF.vmap(MF.vmap(f(w_m)))(xm)
    theirs = TF.vmap(TF.vmap(f(w_t)))(xt)
    same(ours, theirs, "vmap(vmap(f))")
    (ours * ours).sum().backward()
    (theirs * theirs).sum().backward()
    same(w_m.grad, w_t.grad, "the closed-over weight's gradient")


def test_in_dims_for_a_dict_give_each_entry_its_dim():
    """A dict argument's in_dims give each entry its own dim (in the argument's key order: torch
    pairs them by order, so another order is refused rather than silently swapped)."""
    generator = torch.Generator().manual_seed(0)
    a, b = (torch.randn(4, 3, generator=generator), torch.randn(2, 4, generator=generator))

    def f(p):
        return p["a"] * p["b"].sum()

    in_dims = ({"a": 0, "b": 1},)
    ours = MF.vmap(f, in_dims=in_dims)({"a": mg.Tensor(a), "b": mg.Tensor(b)})
    same(ours, TF.vmap(f, in_dims=in_dims)({"a": a, "b": b}), "in_dims for a dict")
    same(ours, torch.stack([a[i] * b[:, i].sum() for i in range(4)]), "in_dims for a dict")
    with pytest.raises(ValueError, match="in the argument's order"):
        MF.vmap(f, in_dims=({"b": 1, "a": 0},))({"a": mg.Tensor(a), "b": mg.Tensor(b)})


def test_per_sample_gradients_as_torchs_recipe():
    """vmap(grad(loss), in_dims=(None, 0, 0)) over a dict of parameters, through
    functional_call: one gradient per example, each in the parameters' shape, as torch.func."""
    torch.manual_seed(0)
    model_t = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 4))
    model_t = model_t.double()
    model_m = mg.nn.Sequential(mg.nn.Linear(3, 5), mg.nn.Tanh(), mg.nn.Linear(5, 4))
    model_m = model_m.to(dtype=mg.float64)
    model_m.load_state_dict({k: mg.Tensor(v.clone()) for k, v in model_t.state_dict().items()})
    x, y = torch.randn(6, 3, dtype=torch.float64), torch.randint(0, 4, (6,))

    def loss_of(lib, call, model):
        def loss(params, sample, target):
            scores = call(model, params, (sample.unsqueeze(0),))
            return lib.nn.functional.cross_entropy(scores, target.unsqueeze(0))

        return loss

    params_t = {k: v.detach() for k, v in model_t.named_parameters()}
    params_m = {k: v.detach() for k, v in model_m.named_parameters()}
    theirs = TF.vmap(TF.grad(loss_of(torch, TF.functional_call, model_t)), in_dims=(None, 0, 0))
    ours = MF.vmap(MF.grad(loss_of(mg, MF.functional_call, model_m)), in_dims=(None, 0, 0))
    same(ours(params_m, mg.Tensor(x), mg.Tensor(y)), theirs(params_t, x, y), "per-sample grads")


@given(mst.float_arrays(st.tuples(st.integers(1, 3), st.integers(1, 3)), -2, 2), st.data())
def test_grad_of_a_dict_and_a_tuple_of_tensors_comes_back_in_their_shape(array, data):
    other = data.draw(mst.float_arrays(array.shape[-1:], -2, 2))
    (am, at), (bm, bt) = pair(array), pair(other)

    def f(params, pair_of):
        first, second = pair_of
        return ((params["w"] @ params["b"]).tanh() * first.sum() + second.exp().sum()).sum()

    ours = MF.grad(f, argnums=(0, 1))({"w": am, "b": bm}, (bm * 2, am))
    theirs = TF.grad(f, argnums=(0, 1))({"w": at, "b": bt}, (bt * 2, at))
    same(ours, theirs, "grad with respect to a dict and a tuple")


pairs = st.tuples(st.integers(1, 3), st.integers(1, 3)).flatmap(
    lambda shape: st.tuples(*[mst.float_arrays(shape, -2, 2) for _ in range(4)])
)


@given(pairs)
def test_jvp_and_jacfwd_give_torch_funcs_forward_mode_results(arrays):
    (xm, xt), (ym, yt), (vm, vt), (um, ut) = (pair(a) for a in arrays)

    def f(x, y):
        return (x * y).sin() + x.exp(), (x * x).sum() * y.tanh()

    ours = MF.jvp(f, (xm, ym), (vm, um))
    theirs = TF.jvp(f, (xt, yt), (vt, ut))
    same(ours, theirs, "jvp")
    with_aux = MF.jvp(lambda x: (x.sin(), x * 2), (xm,), (vm,), has_aux=True)
    same(with_aux, TF.jvp(lambda x: (x.sin(), x * 2), (xt,), (vt,), has_aux=True), "jvp, aux")
    same(MF.jacfwd(f, argnums=(0, 1))(xm, ym), TF.jacfwd(f, argnums=(0, 1))(xt, yt), "jacfwd")

    def g(x):
        return x.sin() * x, x.sum()

    same(MF.jacfwd(g, has_aux=True)(xm), TF.jacfwd(g, has_aux=True)(xt), "jacfwd, aux")
    same(MF.jacrev(g, has_aux=True)(xm), TF.jacrev(g, has_aux=True)(xt), "jacrev, aux")


def test_randomness_error_same_and_different_as_torch():
    x = mg.zeros(4, 3)

    def noisy(row):
        return row + mg.randn(3)

    with pytest.raises(RuntimeError, match="randomness='different'"):
        MF.vmap(noisy)(x)
    with pytest.raises(RuntimeError):
        TF.vmap(lambda row: row + torch.randn(3))(torch.zeros(4, 3))
    same_draws = MF.vmap(noisy, randomness="same")(x)
    assert torch.equal(same_draws._data, same_draws._data[:1].expand(4, 3))
    different = MF.vmap(noisy, randomness="different")(x)
    assert not torch.equal(different._data[0], different._data[1])
    mg.manual_seed(3)
    after_same = (MF.vmap(noisy, randomness="same")(x), mg.randn(3))
    mg.manual_seed(3)
    after_one = (noisy(x[0]), mg.randn(3))  # "same" draws once: the generator moves once
    assert torch.equal(after_same[0]._data[2], after_one[0]._data)
    assert torch.equal(after_same[1]._data, after_one[1]._data)


def test_vmaps_errors_say_what_was_wrong_with_torchs_exception_types():
    xt = torch.arange(12.0).reshape(4, 3)  # no two rows alike (out_dims None compares them)
    xm = mg.Tensor(xt.clone())
    cases = [  # (what to call on (function, x) for each library, the message minigrad gives)
        (lambda lib, v: lib(lambda a, b: a + b)(v, v[:2]), "different sizes"),
        (lambda lib, v: lib(lambda a, b: a, in_dims=(0, 1))(v, v), "different sizes"),
        (lambda lib, v: lib(lambda a: a, in_dims=(0, 1))(v), "one entry per"),
        (lambda lib, v: lib(lambda a: a, in_dims=2)(v), "dims run from -2 to 1"),
        (lambda lib, v: lib(lambda a, n: a * n, in_dims=(0, 0))(v, 2.0), "only Tensors"),
        (lambda lib, v: lib(lambda a: a, in_dims=None)(v), "nothing to map"),
        (lambda lib, v: lib(lambda a: a, out_dims=None)(v), "out_dims None"),
        (lambda lib, v: lib(lambda a: a, out_dims=3)(v), "out_dim=3"),
        (lambda lib, v: lib(lambda a: 1.0)(v), "must return Tensors"),
        (lambda lib, v: lib(lambda a: a, in_dims=({"x": 0},))(v), "does not match"),
        (lambda lib, v: lib(lambda a: a, randomness="never")(v), "randomness must be"),
    ]
    for call, words in cases:
        with pytest.raises(Exception) as theirs:
            call(TF.vmap, xt)
        with pytest.raises(type(theirs.value), match=words):
            call(MF.vmap, xm)
    with pytest.raises(ValueError, match="size 0"):
        MF.vmap(lambda a: a)(mg.zeros(0, 3))
    with pytest.raises(RuntimeError, match="one tangent per"):
        MF.jvp(lambda a: a, (xm,), (xm, xm))
    with pytest.raises(TypeError, match="must be tuples"):
        MF.jvp(lambda a: a, xm, xm)


@given(
    st.integers(1, 4).flatmap(
        lambda d: st.tuples(
            mst.float_arrays((d, d), -1, 1),
            mst.float_arrays((d,), -1, 1),
            mst.float_arrays((3, d), -1, 1),
        )
    )
)
def test_jacobians_and_hessians_of_a_layer_batched_by_vmap_as_torch_func(arrays):
    """What torch's Jacobians-and-Hessians tutorial computes for a tanh layer: its Jacobian per
    example (vmap of jacrev), the Hessian of each output (hessian of a vector function), the
    same per example, and a Hessian-vector product as jvp of grad."""
    (wm, wt), (bm, bt), (xm, xt) = (pair(a) for a in arrays)

    def predict(lib):
        return lambda weight, bias, x: lib.nn.functional.linear(x, weight, bias).tanh()

    over_examples = (None, None, 0)
    same(
        MF.vmap(MF.jacrev(predict(mg), argnums=2), in_dims=over_examples)(wm, bm, xm),
        TF.vmap(TF.jacrev(predict(torch), argnums=2), in_dims=over_examples)(wt, bt, xt),
        "a Jacobian per example",
    )
    same(
        MF.hessian(predict(mg), argnums=2)(wm, bm, xm[0]),
        TF.hessian(predict(torch), argnums=2)(wt, bt, xt[0]),
        "the Hessian of each output",
    )
    same(
        MF.vmap(MF.hessian(predict(mg), argnums=2), in_dims=over_examples)(wm, bm, xm),
        TF.vmap(TF.hessian(predict(torch), argnums=2), in_dims=over_examples)(wt, bt, xt),
        "Hessians per example",
    )

    def energy(x):
        return (x.sin() * x).sum()

    tangent_m, tangent_t = pair(arrays[2][1])
    same(
        MF.jvp(MF.grad(energy), (xm[0],), (tangent_m,))[1],
        TF.jvp(TF.grad(energy), (xt[0],), (tangent_t,))[1],
        "a Hessian-vector product as jvp(grad(f))",
    )


def test_an_ensemble_runs_as_one_call_with_stack_module_state_and_vmap():
    """torch's model-ensembling recipe: the models' states stacked, a copy of one model on the
    meta device, functional_call under vmap; each model's own predictions, as torch.func's,
    and the stacked parameters are leaves that get their gradients."""
    torch.manual_seed(0)
    models_t = [
        torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
        .double()
        .eval()
        for _ in range(3)
    ]
    models_m = [
        mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.BatchNorm1d(4), mg.nn.Linear(4, 2))
        .to(dtype=mg.float64)
        .eval()
        for _ in range(3)
    ]
    for mm, mt in zip(models_m, models_t):
        mt[1].running_mean.uniform_(-1, 1)  # buffers that differ from model to model
        mm.load_state_dict({k: mg.Tensor(v.detach().clone()) for k, v in mt.state_dict().items()})
    x = torch.randn(3, 5, 3, dtype=torch.float64)  # a minibatch per model
    params_t, buffers_t = TF.stack_module_state(models_t)
    params_m, buffers_m = MF.stack_module_state(models_m)
    same(params_m, params_t, "stacked parameters")
    same(buffers_m, buffers_t, "stacked buffers")
    assert all(p.is_leaf and p.requires_grad for p in params_m.values())
    base_t, base_m = copy.deepcopy(models_t[0]).to("meta"), copy.deepcopy(models_m[0]).to("meta")

    def run(call, base):
        return lambda params, buffers, x: call(base, (params, buffers), (x,))

    ours = MF.vmap(run(MF.functional_call, base_m))(params_m, buffers_m, mg.Tensor(x))
    theirs = TF.vmap(run(TF.functional_call, base_t))(params_t, buffers_t, x)
    same(ours, theirs, "each model's predictions")
    same(ours[1], models_t[1](x[1]), "model 1 on its minibatch")
    ours.sum().backward()
    theirs.sum().backward()
    same(
        {k: p.grad for k, p in params_m.items()}, {k: p.grad for k, p in params_t.items()}, "grads"
    )
    with pytest.raises(RuntimeError, match="one architecture"):
        MF.stack_module_state([models_m[0], mg.nn.Linear(3, 4)])
