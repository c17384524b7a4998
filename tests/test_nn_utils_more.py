"""nn.utils against torch's: get_total_norm and clip_grads_with_norm_, the hook forms of
weight_norm and spectral_norm (outputs, every parameter's gradient and the buffers over a few
training steps, the state_dict's keys, removal), BatchNorm fusion, skip_init, and the errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn

RTOL, ATOL = 1e-9, 1e-12  # float64 throughout: only rounding differs (torch fuses some steps)
FEW = settings(max_examples=20, deadline=None)  # building layers is slow-ish: a few seconds


def close(mine, theirs, what=""):
    mine = mine._data if isinstance(mine, mg.Tensor) else mine
    torch.testing.assert_close(mine, theirs.detach(), rtol=RTOL, atol=ATOL, msg=what or None)


def same_state(mine, theirs, what=""):
    """The same state_dict: the same keys in the same order, and the same values."""
    ours, reference = mine.state_dict(), theirs.state_dict()
    assert list(ours) == list(reference), what
    for key in reference:
        close(ours[key], reference[key], f"{what}: {key}")


# ---- get_total_norm, clip_grads_with_norm_ -------------------------------------------------


@given(
    shapes=st.lists(st.lists(st.integers(1, 4), max_size=3).map(tuple), min_size=1, max_size=4),
    norm_type=st.sampled_from([1.0, 2.0, 3.5, math.inf]),
    max_norm=st.floats(0.1, 20.0),
    seed=st.integers(0, 2**16),
)
def test_total_norm_then_clip_as_torch(shapes, norm_type, max_norm, seed):
    """get_total_norm of tensors, then clip_grads_with_norm_ of other gradients by it: the
    same norm and the same clipped gradients as torch's; clip_grad_norm_ is the two in turn."""
    generator = np.random.default_rng(seed)
    values = [generator.normal(size=s) * generator.uniform(0.1, 10) for s in shapes]
    grads = [generator.normal(size=s) for s in shapes]
    total = nn.utils.get_total_norm([mg.tensor(v) for v in values], norm_type)
    expected = torch.nn.utils.get_total_norm([torch.tensor(v) for v in values], norm_type)
    close(total, expected, "total norm")
    ours = [mg.tensor(v, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = mg.tensor(g), torch.tensor(g)
    assert nn.utils.clip_grads_with_norm_(ours, max_norm, total) is None
    torch.nn.utils.clip_grads_with_norm_(theirs, max_norm, expected)
    for p, q in zip(ours, theirs):
        close(p.grad, q.grad, "clipped gradient")
    # clip_grad_norm_ = get_total_norm of the gradients, then clip_grads_with_norm_
    again = [mg.tensor(v, requires_grad=True) for v in values]
    for p, g in zip(again, grads):
        p.grad = mg.tensor(g)
    norm = nn.utils.get_total_norm([p.grad for p in again], norm_type)
    returned = nn.utils.clip_grad_norm_(iter(again), max_norm, norm_type)
    assert torch.equal(returned._data, norm._data)
    by_hand = [mg.tensor(g) for g in grads]
    scale = (max_norm / (norm._data + 1e-6)).clamp(max=1.0)
    for p, g in zip(again, by_hand):
        assert torch.equal(p.grad._data, g._data * scale)


def test_total_norm_edge_cases_as_torch():
    assert float(nn.utils.get_total_norm([])) == 0.0
    single = nn.utils.get_total_norm(mg.tensor([3.0, 4.0]))
    close(single, torch.nn.utils.get_total_norm(torch.tensor([3.0, 4.0])))
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.get_total_norm([mg.tensor([1.0, math.inf])], error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.get_total_norm([torch.tensor([1.0, math.inf])], error_if_nonfinite=True)
    assert math.isinf(float(nn.utils.get_total_norm([mg.tensor([1.0, math.inf])])))


# ---- weight_norm, spectral_norm: a few training steps side by side ---------------------------

LAYERS = {  # name: (the layer's class name, its arguments, an input's shape)
    "linear": ("Linear", (3, 4), (2, 3)),
    "conv1d": ("Conv1d", (2, 3, 2), (2, 2, 5)),
    "conv2d": ("Conv2d", (2, 3, 2), (1, 2, 4, 4)),
    "conv_transpose2d": ("ConvTranspose2d", (2, 3, 2), (1, 2, 3, 3)),
}


def _twins(kind):
    """The same float64 layer in minigrad and in torch, and an input's shape."""
    cls, args, input_shape = LAYERS[kind]
    theirs = getattr(torch.nn, cls)(*args).double()
    mine = getattr(nn, cls)(*args).double()
    mine.load_state_dict(theirs.state_dict())
    return mine, theirs, input_shape


def _train_side_by_side(mine, theirs, input_shape, seed, steps=3):
    """A few SGD steps on both: each step the same output, the same gradient of every
    parameter, the same state (parameters and buffers) after the step."""
    generator = np.random.default_rng(seed)
    ours = mg.optim.SGD(mine.parameters(), lr=0.1)
    reference = torch.optim.SGD(theirs.parameters(), lr=0.1)
    for step in range(steps):
        x = generator.normal(size=input_shape)
        out, expected = mine(mg.tensor(x)), theirs(torch.tensor(x))
        close(out, expected, f"step {step}: output")
        upstream = torch.tensor(generator.normal(size=tuple(expected.shape)))
        ours.zero_grad()
        reference.zero_grad()
        out.backward(upstream)
        expected.backward(upstream)
        for (name, p), (their_name, q) in zip(
            mine.named_parameters(), theirs.named_parameters(), strict=True
        ):
            assert name == their_name
            close(p.grad, q.grad, f"step {step}: {name}'s gradient")
        ours.step()
        reference.step()
        same_state(mine, theirs, f"step {step}")


@FEW
@given(
    kind=st.sampled_from(sorted(LAYERS)),
    name=st.sampled_from(["weight", "bias"]),
    dim=st.integers(-2, 3) | st.none(),
    seed=st.integers(0, 2**16),
)
def test_weight_norm_trains_as_torch(kind, name, dim, seed):
    """<name>_g and <name>_v as torch's for every dim (None and -1: the whole tensor's norm;
    -2 counts from the end; a 1-d bias: each entry its own norm), the same weight, gradients
    of g and v, and removal."""
    mine, theirs, input_shape = _twins(kind)
    ndim = getattr(mine, name).ndim
    if dim is not None and (dim >= 0 or dim < -ndim):
        dim %= ndim
    with pytest.warns(FutureWarning):
        assert nn.utils.weight_norm(mine, name, dim=dim) is mine
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.nn.utils.weight_norm(theirs, name, dim=dim)
    same_state(mine, theirs, "after weight_norm")
    assert not isinstance(getattr(mine, name), nn.Parameter)
    close(getattr(mine, name), getattr(theirs, name), "the weight before any forward")
    _train_side_by_side(mine, theirs, input_shape, seed)
    close(getattr(mine, name), getattr(theirs, name), "the weight of the last forward")
    assert nn.utils.remove_weight_norm(mine, name) is mine
    torch.nn.utils.remove_weight_norm(theirs, name)
    same_state(mine, theirs, "after remove_weight_norm")
    assert isinstance(getattr(mine, name), nn.Parameter) and not mine._forward_pre_hooks
    _train_side_by_side(mine, theirs, input_shape, seed, steps=1)


@FEW
@given(
    kind=st.sampled_from(sorted(LAYERS)),
    n_power_iterations=st.integers(1, 3),
    dim=st.none() | st.integers(0, 1),
    seed=st.integers(0, 2**16),
)
def test_spectral_norm_trains_as_torch(kind, n_power_iterations, dim, seed):
    """The same u and v drawn from the same seed, the same power iterations in training (u and
    v updated in place), none in eval, the same gradient of weight_orig through sigma."""
    mine, theirs, input_shape = _twins(kind)
    mg.manual_seed(seed)
    assert nn.utils.spectral_norm(mine, n_power_iterations=n_power_iterations, dim=dim) is mine
    torch.manual_seed(seed)
    torch.nn.utils.spectral_norm(theirs, n_power_iterations=n_power_iterations, dim=dim)
    same_state(mine, theirs, "after spectral_norm")
    close(mine.weight, theirs.weight, "the weight before any forward (not yet normalized)")
    _train_side_by_side(mine, theirs, input_shape, seed)
    u_before = mine.weight_u._data.clone()
    mine.eval()
    theirs.eval()
    _train_side_by_side(mine, theirs, input_shape, seed, steps=2)
    assert torch.equal(mine.weight_u._data, u_before)  # no power iteration in eval
    assert nn.utils.remove_spectral_norm(mine) is mine
    torch.nn.utils.remove_spectral_norm(theirs)
    same_state(mine, theirs, "after remove_spectral_norm")
    assert isinstance(mine.weight, nn.Parameter) and list(mine.buffers()) == []


def test_hook_forms_errors_as_torch():
    layer = nn.Linear(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        nn.utils.weight_norm(layer)
        with pytest.raises(RuntimeError, match="two weight_norm hooks"):
            nn.utils.weight_norm(layer)
    with pytest.raises(ValueError, match="weight_norm of 'bias' not found"):
        nn.utils.remove_weight_norm(layer, "bias")
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found"):
        nn.utils.remove_spectral_norm(layer)
    other = nn.Linear(2, 3)
    with pytest.raises(ValueError, match="n_power_iterations=0"):
        nn.utils.spectral_norm(other, n_power_iterations=0)
    nn.utils.spectral_norm(other)
    with pytest.raises(RuntimeError, match="two spectral_norm hooks"):
        nn.utils.spectral_norm(other)
    with pytest.raises(ValueError, match="Linear's 'bias' is None"):
        nn.utils.spectral_norm(nn.Linear(2, 3, bias=False), name="bias")
    with pytest.raises(ValueError, match="uninitialized"):
        nn.utils.spectral_norm(nn.LazyLinear(3))


# ---- fusion, skip_init ---------------------------------------------------------------------


@FEW
@given(
    kind=st.sampled_from(["linear", "conv1d", "conv2d", "conv_transpose2d"]),
    bias=st.booleans(),
    affine=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_fusion_as_torch(kind, bias, affine, seed):
    """The fused layer's weight and bias equal torch's, and it computes bn(layer(x))."""
    generator = np.random.default_rng(seed)
    cls, args, input_shape = LAYERS[kind]
    theirs = getattr(torch.nn, cls)(*args, bias=bias).double()
    channels = args[1]
    bn_cls = {"linear": "BatchNorm1d", "conv1d": "BatchNorm1d"}.get(kind, "BatchNorm2d")
    their_bn = getattr(torch.nn, bn_cls)(channels, affine=affine).double()
    with torch.no_grad():
        their_bn.running_mean.copy_(torch.tensor(generator.normal(size=channels)))
        their_bn.running_var.copy_(torch.tensor(generator.uniform(0.5, 2, size=channels)))
        if affine:
            their_bn.weight.copy_(torch.tensor(generator.normal(size=channels)))
            their_bn.bias.copy_(torch.tensor(generator.normal(size=channels)))
    mine = getattr(nn, cls)(*args, bias=bias).double()
    bn = getattr(nn, bn_cls)(channels, affine=affine).double()
    mine.load_state_dict(theirs.state_dict())
    bn.load_state_dict(their_bn.state_dict())
    for layer in (mine, bn, theirs, their_bn):
        layer.eval()
    if kind == "linear" and not affine:  # torch's linear fusion needs the affine weight too
        with pytest.raises(TypeError):
            torch.nn.utils.fuse_linear_bn_eval(theirs, their_bn)
        with pytest.raises(TypeError):
            nn.utils.fuse_linear_bn_eval(mine, bn)
        return
    if kind == "linear":
        fused = nn.utils.fuse_linear_bn_eval(mine, bn)
        expected = torch.nn.utils.fuse_linear_bn_eval(theirs, their_bn)
    else:
        transpose = kind == "conv_transpose2d"
        fused = nn.utils.fuse_conv_bn_eval(mine, bn, transpose=transpose)
        expected = torch.nn.utils.fuse_conv_bn_eval(theirs, their_bn, transpose=transpose)
    assert type(fused) is type(mine) and fused is not mine
    assert isinstance(fused.weight, nn.Parameter) and isinstance(fused.bias, nn.Parameter)
    same_state(fused, expected, "fused")
    same_state(mine, theirs, "the layer itself is left as it was")
    x = generator.normal(size=input_shape)
    close(fused(mg.tensor(x)), their_bn(theirs(torch.tensor(x))), "fused(x) = bn(layer(x))")


def test_fusion_errors_and_skip_init():
    layer, bn = nn.Linear(2, 3), nn.BatchNorm1d(3)
    with pytest.raises(AssertionError, match="only for eval"):
        nn.utils.fuse_linear_bn_eval(layer, bn)
    with pytest.raises(AssertionError, match="out_features == bn.num_features"):
        nn.utils.fuse_linear_bn_eval(layer.eval(), nn.BatchNorm1d(4).eval())
    with pytest.raises(AssertionError, match="must not be None"):
        nn.utils.fuse_linear_bn_eval(layer, nn.BatchNorm1d(3, track_running_stats=False).eval())
    built = nn.utils.skip_init(nn.Linear, 3, 4, dtype=mg.float64)
    reference = torch.nn.utils.skip_init(torch.nn.Linear, 3, 4, dtype=torch.float64)
    assert type(built) is nn.Linear and list(built.state_dict()) == list(reference.state_dict())
    for p, q in zip(built.parameters(), reference.parameters(), strict=True):
        assert p.shape == q.shape and p.dtype == q.dtype and isinstance(p, nn.Parameter)
    with pytest.raises(RuntimeError, match="Expected a Module"):
        nn.utils.skip_init(int)
    with pytest.raises(RuntimeError, match="'device' arg"):
        nn.utils.skip_init(nn.ReLU)


# ---- parametrize: register_parametrization, parametrizations.weight_norm --------------------


def _parametrizations(framework):
    """Two parametrizations, the same code for minigrad's nn and torch's: Symmetric (no
    right_inverse) and Scale (x -> 2x, with right_inverse x -> x / 2)."""

    class Symmetric(framework.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(-1, -2)

    class Scale(framework.Module):
        def forward(self, x):
            return x * 2.0

        def right_inverse(self, x):
            return x / 2.0

    return Symmetric, Scale


@FEW
@given(
    kind=st.sampled_from(sorted(LAYERS)),
    dim=st.none() | st.integers(-1, 1),
    seed=st.integers(0, 2**16),
)
def test_parametrized_weight_norm_trains_as_torch(kind, dim, seed):
    """parametrizations.weight_norm: original0 (g) and original1 (v) as torch's, the same
    training steps; removal leaves the parametrized weight as a plain parameter."""
    mine, theirs, input_shape = _twins(kind)
    assert nn.utils.parametrizations.weight_norm(mine, dim=dim) is mine
    torch.nn.utils.parametrizations.weight_norm(theirs, dim=dim)
    same_state(mine, theirs, "after weight_norm")
    assert type(mine).__name__ == type(theirs).__name__  # ParametrizedLinear, ...
    _train_side_by_side(mine, theirs, input_shape, seed)
    P, TP = nn.utils.parametrize, torch.nn.utils.parametrize
    assert P.is_parametrized(mine) and P.is_parametrized(mine, "weight")
    assert not P.is_parametrized(mine, "bias")
    with pytest.raises(ValueError, match="sequence of tensors"):
        P.remove_parametrizations(mine, "weight", leave_parametrized=False)
    P.remove_parametrizations(mine, "weight")
    TP.remove_parametrizations(theirs, "weight")
    same_state(mine, theirs, "after remove_parametrizations")
    assert type(mine) is getattr(nn, LAYERS[kind][0]) and not P.is_parametrized(mine)
    _train_side_by_side(mine, theirs, input_shape, seed, steps=1)


@FEW
@given(
    kind=st.sampled_from(sorted(LAYERS)),
    n_power_iterations=st.integers(1, 3),
    dim=st.none() | st.integers(-1, 1),
    seed=st.integers(0, 2**16),
)
def test_parametrized_spectral_norm_trains_as_torch(kind, n_power_iterations, dim, seed):
    """parametrizations.spectral_norm: the same u and v from the same seed (and their 15 first
    power iterations), the same weight and training steps (one iteration per forward in
    training, none in eval), the same state_dict keys; removal leaves the normalized weight."""
    mine, theirs, input_shape = _twins(kind)
    SN, TSN = nn.utils.parametrizations.spectral_norm, torch.nn.utils.parametrizations.spectral_norm
    mg.manual_seed(seed)
    assert SN(mine, n_power_iterations=n_power_iterations, dim=dim) is mine
    torch.manual_seed(seed)
    TSN(theirs, n_power_iterations=n_power_iterations, dim=dim)
    same_state(mine, theirs, "after spectral_norm")
    close(mine.weight, theirs.weight, "the weight divided by sigma")
    _train_side_by_side(mine, theirs, input_shape, seed)
    same_state(mine, theirs, "after training")
    u_before = mine.parametrizations.weight[0]._u._data.clone()
    mine.eval()
    theirs.eval()
    _train_side_by_side(mine, theirs, input_shape, seed, steps=2)
    assert torch.equal(mine.parametrizations.weight[0]._u._data, u_before)  # none in eval
    nn.utils.parametrize.remove_parametrizations(mine, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight")
    same_state(mine, theirs, "after remove_parametrizations")
    for module in (mine, theirs):  # read twice before backward(): each read iterates u and v
        module.train()
        torch.manual_seed(seed)
        SN(module) if module is mine else TSN(module)
        (module.weight.sum() + (module.weight**2).sum()).backward()
    close(mine.parametrizations.weight.original.grad, theirs.parametrizations.weight.original.grad)
    bias_m = nn.utils.parametrizations.spectral_norm(nn.Linear(3, 2).double(), "bias")
    bias_t = torch.nn.utils.parametrizations.spectral_norm(torch.nn.Linear(3, 2).double(), "bias")
    bias_m.load_state_dict(bias_t.state_dict())
    close(bias_m.bias, bias_t.bias, "a 1-d tensor: divided by its norm")
    with pytest.raises(IndexError, match="dim=2 is out of range"):
        SN(nn.Linear(3, 2), dim=2)
    with pytest.raises(IndexError):
        TSN(torch.nn.Linear(3, 2), dim=2)


ORTHOGONAL = [  # (out_features, in_features, orthogonal_map, use_trivialization)
    (3, 3, None, True),  # square: matrix_exp
    (5, 3, None, True),  # tall: householder
    (3, 5, None, True),  # wide: householder on the transpose
    (4, 4, "cayley", True),
    (5, 3, "matrix_exp", True),  # a tall matrix embedded in a square one
    (4, 4, "householder", True),
    (5, 3, "householder", False),  # the reflections themselves are the original
]


@FEW
@given(case=st.sampled_from(ORTHOGONAL), seed=st.integers(0, 2**16))
def test_parametrized_orthogonal_trains_as_torch(case, seed):
    """parametrizations.orthogonal, each map: the same original and base from the same seed
    (the random columns that complete a tall weight included), the same weight, with
    orthonormal columns (or rows) before and after training steps as torch's; assigning a
    weight goes through right_inverse as torch's."""
    rows, columns, orthogonal_map, trivial = case
    mine, theirs = nn.Linear(columns, rows).double(), torch.nn.Linear(columns, rows).double()
    mine.load_state_dict(theirs.state_dict())
    for module, library in ((mine, nn), (theirs, torch.nn)):
        torch.manual_seed(seed)
        library.utils.parametrizations.orthogonal(
            module, orthogonal_map=orthogonal_map, use_trivialization=trivial
        )
    same_state(mine, theirs, "after orthogonal")
    close(mine.weight, theirs.weight, "the orthogonal weight")
    _train_side_by_side(mine, theirs, (2, columns), seed)
    same_state(mine, theirs, "after training")
    weight = mine.weight._data
    gram = weight.mT @ weight if rows >= columns else weight @ weight.mT
    torch.testing.assert_close(gram, torch.eye(min(rows, columns), dtype=gram.dtype))
    assigned = torch.linalg.qr(torch.randn(max(rows, columns), min(rows, columns)))[0].double()
    assigned = assigned if rows >= columns else assigned.mT
    torch.manual_seed(seed + 1)
    mine.weight = mg.Tensor(assigned.clone())
    torch.manual_seed(seed + 1)
    theirs.weight = assigned.clone()
    same_state(mine, theirs, "after assigning a weight")
    close(mine.weight, theirs.weight, "the assigned weight")


def test_orthogonal_householder_takes_a_weight_lapack_does_not_reflect_as_torch():
    """Assigning eye(5, 3) without use_trivialization: each column is already e_i, so LAPACK
    makes no reflection (tau = 0), and the original's diagonal is flipped there, as torch's."""
    mine, theirs = nn.Linear(3, 5).double(), torch.nn.Linear(3, 5).double()
    mine.load_state_dict(theirs.state_dict())
    nn.utils.parametrizations.orthogonal(mine, use_trivialization=False)
    torch.nn.utils.parametrizations.orthogonal(theirs, use_trivialization=False)
    mine.weight = mg.eye(5, 3, dtype=mg.float64)
    theirs.weight = torch.eye(5, 3, dtype=torch.float64)
    same_state(mine, theirs, "eye assigned")
    close(mine.weight, theirs.weight, "the weight read back")


def test_orthogonal_errors_as_torch():
    orthogonal = nn.utils.parametrizations.orthogonal
    with pytest.raises(ValueError, match="orthogonal_map must be one of"):
        orthogonal(nn.Linear(3, 3), orthogonal_map="qr")
    with pytest.raises(ValueError, match="at least 2 dims"):
        orthogonal(nn.Linear(3, 3), "bias")
    square = orthogonal(nn.Linear(3, 3), use_trivialization=False)
    with pytest.raises(NotImplementedError, match="use_trivialization"):
        square.weight = mg.eye(3)
    theirs = torch.nn.utils.parametrizations.orthogonal(
        torch.nn.Linear(3, 3), use_trivialization=False
    )
    with pytest.raises(NotImplementedError):
        theirs.weight = torch.eye(3)


@FEW
@given(leave_parametrized=st.booleans(), seed=st.integers(0, 2**16))
def test_register_parametrization_as_torch(leave_parametrized, seed):
    """Two parametrizations composed (first registered innermost), trained side by side; cached
    reads, assignment through right_inverse, removal either way."""
    P, TP = nn.utils.parametrize, torch.nn.utils.parametrize
    mine, theirs = nn.Linear(3, 3).double(), torch.nn.Linear(3, 3).double()
    mine.load_state_dict(theirs.state_dict())
    for module, framework, parametrize in ((mine, nn, P), (theirs, torch.nn, TP)):
        symmetric, scale = _parametrizations(framework)
        parametrize.register_parametrization(module, "weight", scale())
        parametrize.register_parametrization(module, "weight", symmetric())
    same_state(mine, theirs, "registered")
    close(mine.weight, theirs.weight, "2 * symmetric(original)")
    assert P.type_before_parametrizations(mine) is nn.Linear
    _train_side_by_side(mine, theirs, (2, 3), seed)
    assert mine.weight is not mine.weight  # computed on each read
    with P.cached():
        assert mine.weight is mine.weight  # once per block
    # the weight computed last, removed either as it is or back to the original
    P.remove_parametrizations(mine, "weight", leave_parametrized=leave_parametrized)
    TP.remove_parametrizations(theirs, "weight", leave_parametrized=leave_parametrized)
    same_state(mine, theirs, "removed")
    assert isinstance(mine.weight, nn.Parameter) and not hasattr(mine, "parametrizations")
    # assigning a parametrized tensor stores right_inverse(value) in the original
    value = np.random.default_rng(seed).normal(size=(3, 3))
    for module, framework, parametrize in ((mine, nn, P), (theirs, torch.nn, TP)):
        parametrize.register_parametrization(module, "bias", _parametrizations(framework)[1]())
    mine.bias = mg.tensor(value[0])
    with torch.no_grad():
        theirs.bias = torch.tensor(value[0])
    same_state(mine, theirs, "assigned")
    close(mine.bias, theirs.bias, "the assigned value back")


def test_parametrize_errors_as_torch():
    P = nn.utils.parametrize
    symmetric, scale = _parametrizations(nn)
    layer = nn.Linear(3, 3)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        P.register_parametrization(layer, "kernel", scale())
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        P.remove_parametrizations(layer, "weight")

    class Halve(nn.Module):  # changes the shape: refused unless unsafe=True
        def forward(self, x):
            return x[:1]

    with pytest.raises(ValueError, match="shape"):
        P.register_parametrization(nn.Linear(3, 3), "weight", Halve())
    unsafe = P.register_parametrization(nn.Linear(3, 3), "weight", Halve(), unsafe=True)
    assert unsafe.weight.shape == (1, 3)
    P.register_parametrization(layer, "weight", symmetric())
    with pytest.raises(RuntimeError, match="right_inverse"):
        layer.weight = mg.zeros(3, 3)
