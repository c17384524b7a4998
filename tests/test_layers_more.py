"""More activations (softsign, softplus's layer, mish, hardswish, hardsigmoid, selu, celu, glu,
logsigmoid, threshold, softmin, tanhshrink, prelu, the in-place F forms) and more layers made of
existing functions (padding, pixel shuffle, adaptive_avg_pool1d, channel dropout, Softmax2d),
against torch: float64, rtol 1e-7, atol 1e-9, random upstream gradients, first and second
derivatives. Values are drawn off the kinks by construction; @examples at the kinks check the
value and torch's one-sided gradient there.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import example, given
from hypothesis import strategies as st
from test_layers_activations import float_arrays_off

import minigrad as mg
from minigrad import nn
from minigrad.errors import ShapeError
from minigrad.nn import functional as F
from minigrad.testing import assert_matches_torch, gradcheck
from minigrad.testing import strategies as mst

# ---- smooth activations: first and second derivatives everywhere -----------------------------

SMOOTH = {  # name: (minigrad's, torch's, low, high)
    "softsign": (F.softsign, TF.softsign, -30, 30),
    "tanhshrink": (F.tanhshrink, TF.tanhshrink, -30, 30),
    "mish": (F.mish, TF.mish, -40, 40),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid, -800, 800),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", SMOOTH)
@given(data=st.data())
def test_smooth_activations_match_torch(name, order, data):
    """Smooth everywhere (softsign's |x| at 0 too: x / (1 + |x|) has slope 1 from both sides,
    and its second derivative jumps, -2 sign(x) there, which torch's composition agrees on)."""
    ours, theirs, low, high = SMOOTH[name]
    x = data.draw(mst.float_arrays(mst.shapes(), low, high), label="x")
    assert_matches_torch(ours, theirs, x, order=order, name=name)


@pytest.mark.parametrize("name", SMOOTH)
def test_smooth_activations_at_their_edges_match_torch(name):
    """0, tiny values, and values where e^x overflows (logsigmoid: stable for any |x|)."""
    ours, theirs, _, _ = SMOOTH[name]
    x = np.array([0.0, -0.0, 1e-300, -1e-12, 20.5, -20.5, 30.0, -30.0, 750.0, -750.0])
    assert_matches_torch(ours, theirs, x, name=name)


@pytest.mark.parametrize("name", SMOOTH)
@given(x=mst.distinct_arrays(mst.small_shapes(), -5, 5))
def test_smooth_activations_pass_gradcheck(name, x):
    gradcheck(SMOOTH[name][0], x, name=name)


def test_logsigmoid_is_exact_far_out_where_softplus_stops():
    """-softplus(-x) is x itself for x < -20 (slope 1, curvature 0); logsigmoid keeps the e^x,
    as torch's."""
    x = np.array([-20.5, -25.0, 40.0, 0.0])
    assert_matches_torch(F.logsigmoid, TF.logsigmoid, x, order=2, name="logsigmoid")
    t = mg.tensor(x, requires_grad=True)
    (slope,) = mg.autograd.grad(F.logsigmoid(t).sum(), t, create_graph=True)
    (curvature,) = mg.autograd.grad(slope.sum(), t)
    # -e^x (1 + e^x)^-2; rtol 1e-5: sigmoid's second derivative, s (1 - s) at s = sigmoid(-x)
    # near 1, loses digits to the cancellation in 1 - s (torch's is no closer: atol 1e-9 above)
    expected = -np.exp(x[:2]) / (1 + np.exp(x[:2])) ** 2
    np.testing.assert_allclose(curvature._data[:2].numpy(), expected, rtol=1e-5)
    # far right the slope is e^-x, tiny but not 0 (1 - sigmoid(x) would round it to 0), as torch's
    far = np.array([40.0, 700.0])
    t, theirs = mg.tensor(far, requires_grad=True), torch.tensor(far, requires_grad=True)
    F.logsigmoid(t).sum().backward()
    TF.logsigmoid(theirs).sum().backward()
    np.testing.assert_allclose(t.grad._data.numpy(), np.exp(-far), rtol=1e-12)
    torch.testing.assert_close(t.grad._data, theirs.grad, rtol=1e-12, atol=0)


# float32 alphas: torch 2.13's celu slope is off by up to 1e-7 (relative) for an alpha that
# float32 cannot hold (a float32 step in its kernel, it seems); for one it holds, it is exact
CELU_ALPHAS = st.sampled_from([1.0, 0.5, 2.0, -1.0]) | st.floats(0.125, 3, width=32).map(float)


def test_torchs_celu_slope_rounds_alpha_to_float32():
    """Why CELU_ALPHAS are float32 numbers. If this fails, torch's slope is exact now."""
    x = torch.tensor(-0.7, dtype=torch.float64, requires_grad=True)
    (slope,) = torch.autograd.grad(TF.celu(x, 0.1), x)
    assert slope.item() != pytest.approx(np.exp(-0.7 / 0.1), rel=5e-8, abs=0)
    ours = mg.tensor(-0.7, dtype=mg.float64, requires_grad=True)
    F.celu(ours, 0.1).backward()
    assert ours.grad.item() == pytest.approx(np.exp(-0.7 / 0.1), rel=1e-12, abs=0)


@pytest.mark.parametrize("order", [1, 2])
@given(x=float_arrays_off([0.0], -20, 20), alpha=CELU_ALPHAS)
@example(x=np.array([800.0, -3.0]), alpha=0.1)  # e^(x / alpha) would overflow at 800
def test_celu_matches_torch_for_any_alpha(order, x, alpha):
    """The slope is continuous at 0 (1 from both sides), but the second derivative jumps there
    (1 / alpha on the left, 0 on the right): drawn off 0."""
    assert_matches_torch(
        lambda t: F.celu(t, alpha), lambda t: TF.celu(t, alpha), x, order=order,
        name=f"celu(alpha={alpha})",
    )  # fmt: skip


@pytest.mark.parametrize("alpha", [1.0, 0.5, -1.0])
def test_celu_at_zero_has_slope_one(alpha):
    x = np.array([0.0, -0.0, 1.0, -1.0])
    assert_matches_torch(lambda t: F.celu(t, alpha), lambda t: TF.celu(t, alpha), x)


@given(x=mst.distinct_arrays(mst.small_shapes(), -5, 5), alpha=st.sampled_from([1.0, 0.5, -2.0]))
def test_celu_passes_gradcheck(x, alpha):
    gradcheck(lambda t: F.celu(t, alpha), x, name=f"celu(alpha={alpha})")


@pytest.mark.parametrize("order", [1, 2])
@given(x=float_arrays_off([0.0], -30, 30))
@example(x=np.array([0.0, -0.0, 1.0, -1.0]))  # at 0: the left slope, scale * alpha
def test_selu_matches_torch(order, x):
    power = 1 if order == 1 else 2  # times x for order 2, so that the second derivative is not 0
    assert_matches_torch(
        lambda t: F.selu(t) * t ** (power - 1), lambda t: TF.selu(t) * t ** (power - 1), x,
        order=order, name="selu",
    )  # fmt: skip


BETAS = st.sampled_from([1.0, 2.0, 0.5]) | st.floats(0.1, 5, width=64)


@pytest.mark.parametrize("order", [1, 2])
@given(x=mst.float_arrays(mst.shapes(), -30, 30), beta=BETAS, threshold=st.floats(1, 30))
@example(x=np.array([10.0, 10.5, -10.0, 0.0]), beta=2.0, threshold=20.0)  # beta x across it
def test_softplus_beta_and_threshold_are_torchs(order, x, beta, threshold):
    """x itself where beta x > threshold, log(1 + e^(beta x)) / beta below: a jump in the value
    and the slope at the threshold, so x is drawn off beta x = threshold."""
    x = np.where(np.abs(beta * x - threshold) < 1e-3, x + 2e-3 / beta, x)
    assert_matches_torch(
        lambda t: nn.Softplus(beta, threshold)(t),
        lambda t: torch.nn.Softplus(beta, threshold)(t),
        x,
        order=order,
        name=f"Softplus(beta={beta}, threshold={threshold})",
    )


# ---- kinked activations: drawn off the kinks, the kinks themselves as examples ------------------


@pytest.mark.parametrize("order", [1, 2])
@given(x=float_arrays_off([-3.0, 3.0], -8, 8))
@example(x=np.array([-3.0, 3.0, 0.0, -4.0, 4.0]))  # at -3: 0, at 3: 1, torch's
def test_hardswish_matches_torch(order, x):
    """Its gradient at -3 and 3 is that of the outer pieces (0 and 1), torch's choice."""
    assert_matches_torch(F.hardswish, TF.hardswish, x, order=order, name="hardswish")


@given(x=float_arrays_off([-3.0, 3.0], -8, 8))
@example(x=np.array([-3.0, 3.0, 0.0, -4.0, 4.0]))  # 0 at both kinks, torch's
def test_hardsigmoid_matches_torch(x):
    assert_matches_torch(F.hardsigmoid, TF.hardsigmoid, x, name="hardsigmoid")


@given(x=float_arrays_off([-3.0, 3.0], -8, 8))
def test_hardsigmoid_second_derivative_is_zero(x):
    """Straight pieces: the slope (1/6 between -3 and 3, else 0) does not depend on x, so it
    has no graph: the second derivative is 0 (torch 2.13 has no double backward for
    hardsigmoid: it raises, see below)."""
    t = mg.tensor(x, requires_grad=True)
    (slope,) = mg.autograd.grad(F.hardsigmoid(t).sum(), t, create_graph=True)
    assert not slope.requires_grad
    np.testing.assert_allclose(slope._data.numpy(), np.where(np.abs(x) < 3, 1 / 6, 0.0))


def test_torchs_hardsigmoid_cannot_be_differentiated_twice():
    """Why the test above does not compare with torch. If this fails, torch can now."""
    x = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    (slope,) = torch.autograd.grad(TF.hardsigmoid(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="hardsigmoid_backward is not implemented"):
        torch.autograd.grad(slope.sum(), x)


@st.composite
def threshold_cases(draw):
    """(x, threshold, value): x drawn off the threshold."""
    threshold = draw(st.floats(-5, 5, width=64), label="threshold")
    value = draw(st.floats(-10, 10, width=64), label="value")
    return draw(float_arrays_off([threshold], -8, 8)), threshold, value


@pytest.mark.parametrize("order", [1, 2])
@given(case=threshold_cases())
@example(case=(np.array([0.5, 1.0, 2.0, -1.0]), 1.0, 20.0))  # at the threshold: value, slope 0
@example(case=(np.array([0.0, -0.0, 1.0]), 0.0, 0.0))  # relu
@example(case=(np.array([np.nan, 1.0, 0.5]), 0.7, 3.0))  # NaN is kept, its slope 1, as torch's
def test_threshold_matches_torch(order, case):
    x, threshold, value = case
    power = 1 if order == 1 else 2
    assert_matches_torch(
        lambda t: F.threshold(t, threshold, value) * t ** (power - 1),
        lambda t: TF.threshold(t, threshold, value) * t ** (power - 1),
        x, order=order, name=f"threshold({threshold}, {value})",
    )  # fmt: skip


@st.composite
def prelu_cases(draw):
    """(x, weight): x of 0 to 4 dims drawn off 0; one slope, or one per channel (dim 1)."""
    x = draw(float_arrays_off([0.0], -5, 5, shape=mst.shapes()), label="x")
    channels = x.shape[1] if x.ndim >= 2 else 1
    size = draw(st.sampled_from([1, channels]), label="slopes")
    shape = () if size == 1 and draw(st.booleans(), label="0-d weight") else (size,)
    return x, draw(mst.float_arrays(shape, -2, 2), label="weight")


@pytest.mark.parametrize("order", [1, 2])
@given(case=prelu_cases())
def test_prelu_matches_torch(order, case):
    """The weight gets x where x <= 0."""
    assert_matches_torch(F.prelu, TF.prelu, *case, order=order, name="prelu")


@pytest.mark.parametrize(
    "case",
    [
        (np.array([[0.0, -0.0, 1.0], [-1.0, 2.0, 0.0]]), np.array([0.25, -0.5, 2.0])),
        (np.array([[0.0, -0.0, 1.0], [-1.0, 2.0, 0.0]]).T, np.array([0.25, -0.5])),
        (np.array(0.0), np.array([0.3])),
        (np.array([0.0, -2.0]), np.array(0.3)),
        (np.array([np.nan, -1.0]), np.array([0.5])),  # NaN: the weight's slope, as torch's
    ],
)
def test_prelu_at_zero_takes_the_weight_as_its_slope(case):
    """torch's one-sided choice at 0: the left slope, the weight (and the weight's gradient
    there is x = 0)."""
    assert_matches_torch(F.prelu, TF.prelu, *case, name="prelu")


@given(case=prelu_cases())
def test_prelu_passes_gradcheck(case):
    gradcheck(F.prelu, *case, name="prelu")


# ---- glu and softmin ----------------------------------------------------------------------------


@st.composite
def glu_cases(draw):
    """(x, dim): dim of x even-sized (0 included: an empty half)."""
    shape = list(draw(mst.shapes(1, 4), label="shape"))
    dim = draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    shape[dim] = draw(st.sampled_from([0, 2, 4, 6]), label="size along dim")
    return draw(mst.float_arrays(tuple(shape), -10, 10), label="x"), dim


@pytest.mark.parametrize("order", [1, 2])
@given(case=glu_cases())
def test_glu_matches_torch(order, case):
    x, dim = case
    assert_matches_torch(
        lambda t: F.glu(t, dim), lambda t: TF.glu(t, dim), x, order=order, name=f"glu(dim={dim})"
    )


@pytest.mark.parametrize("order", [1, 2])
@given(x=mst.float_arrays(mst.shapes(1), -10, 10), data=st.data())
def test_softmin_matches_torch(order, x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    assert_matches_torch(
        lambda t: F.softmin(t, dim), lambda t: TF.softmin(t, dim), x, order=order,
        name=f"softmin(dim={dim})",
    )  # fmt: skip


def test_softmin_takes_dtype_and_warns_without_dim_as_torch():
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    out = F.softmin(mg.Tensor(x.float()), 1, dtype=mg.float64)
    torch.testing.assert_close(out._data, TF.softmin(x.float(), 1, dtype=torch.float64))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        implicit = F.softmin(mg.Tensor(x))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        torch.testing.assert_close(implicit._data, TF.softmin(x))


# ---- in place -----------------------------------------------------------------------------------

INPLACE = {  # name: (minigrad's in place, torch's out of place)
    "mish": (lambda t: F.mish(t, inplace=True), TF.mish),
    "hardswish": (lambda t: F.hardswish(t, inplace=True), TF.hardswish),
    "hardsigmoid": (lambda t: F.hardsigmoid(t, inplace=True), TF.hardsigmoid),
    "selu": (lambda t: F.selu(t, inplace=True), TF.selu),
    "selu_": (F.selu_, TF.selu),
    "celu": (lambda t: F.celu(t, 0.5, inplace=True), lambda t: TF.celu(t, 0.5)),
    "celu_": (lambda t: F.celu_(t, 2.0), lambda t: TF.celu(t, 2.0)),
    "threshold": (lambda t: F.threshold(t, 0.3, -2.0, True), lambda t: TF.threshold(t, 0.3, -2)),
    "threshold_": (lambda t: F.threshold_(t, 0.3, -2.0), lambda t: TF.threshold(t, 0.3, -2)),
    "elu_": (lambda t: F.elu_(t, 0.5), lambda t: TF.elu(t, 0.5)),
    "hardtanh_": (lambda t: F.hardtanh_(t, -0.5, 2.5), lambda t: TF.hardtanh(t, -0.5, 2.5)),
    "leaky_relu_": (lambda t: F.leaky_relu_(t, 0.2), lambda t: TF.leaky_relu(t, 0.2)),
    "relu_": (F.relu_, TF.relu),
}


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_activations_change_the_input_and_keep_the_gradient(name):
    """As tests/test_layers_activations.py's: the input itself changed and returned, the
    gradient through it exact, torch's kernel on a tensor that records nothing, a leaf that
    requires grad refused."""
    ours, theirs = INPLACE[name]
    values = torch.tensor([[-1.5, 0.25, 2.0], [0.5, -0.25, 3.5]], dtype=torch.float64)
    upstream = torch.randn(2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    leaf = mg.Tensor(values, requires_grad=True)
    h = leaf * 2
    out = ours(h)
    assert out is h
    out.backward(upstream)
    their_leaf = values.clone().requires_grad_()
    expected = theirs(their_leaf * 2)
    expected.backward(upstream)
    torch.testing.assert_close(h._data, expected.detach(), rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(leaf.grad._data, their_leaf.grad, rtol=1e-7, atol=1e-9)
    plain = mg.Tensor(values.clone())
    assert ours(plain) is plain
    torch.testing.assert_close(plain._data, theirs(values), rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="leaf"):
        ours(mg.Tensor(values.clone(), requires_grad=True))


# ---- errors -----------------------------------------------------------------------------------


def test_activation_errors_say_what_is_wrong():
    for name in ("mish", "hardswish", "hardsigmoid", "selu", "celu"):
        with pytest.raises(TypeError, match=rf"{name}: .* floating-point tensor, got torch.int64"):
            getattr(F, name)(mg.tensor([1, 2]))
        with pytest.raises(NotImplementedError):  # torch refuses too
            getattr(TF, name)(torch.tensor([1, 2]))
    with pytest.raises(TypeError, match=r"LogSigmoid: .* floating-point tensor"):
        F.logsigmoid(mg.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="alpha cannot be 0"):
        F.celu(mg.randn(3), 0.0)
    with pytest.raises(ShapeError, match=r"glu: dim=1 of the input \(2, 3\) has size 3, an odd"):
        F.glu(mg.randn(2, 3), 1)
    with pytest.raises(ShapeError, match="glu: the input is a 0-d tensor"):
        F.glu(mg.tensor(1.0))
    with pytest.raises(ShapeError, match=r"prelu: weight holds 3 slopes, but the input \(2, 4\) "
                       r"has 4 channels"):  # fmt: skip
        F.prelu(mg.randn(2, 4), mg.randn(3))
    with pytest.raises(ShapeError, match=r"input \(3,\) has 1 channels"):  # as torch: 1-d is 1
        F.prelu(mg.randn(3), mg.randn(3))
    with pytest.raises(ShapeError, match=r"prelu: weight must be a scalar or a 1-d tensor"):
        F.prelu(mg.randn(2, 3), mg.randn(1, 3))
    with pytest.raises(TypeError, match=r"prelu: the weight \(torch.float64\) must have the "
                       r"input's dtype \(torch.float32\)"):  # fmt: skip
        F.prelu(mg.randn(2, 3), mg.randn(3, dtype=mg.float64))
    with pytest.raises(RuntimeError, match="Type promoting not supported"):
        TF.prelu(torch.randn(2, 3), torch.randn(3, dtype=torch.float64))
    with pytest.raises(ShapeError, match="Softmax2d: expected input to be 3D or 4D, got 2D"):
        nn.Softmax2d()(mg.randn(3, 4))
    # integers where torch's kernels take them: softsign, tanhshrink and threshold
    ints = torch.tensor([-2, 1, 3])
    for ours, theirs in [
        (F.softsign, TF.softsign),
        (F.tanhshrink, TF.tanhshrink),
        (lambda t: F.threshold(t, 1, 7), lambda t: TF.threshold(t, 1, 7)),
        (lambda t: F.threshold(t, 1.5, 7.5), lambda t: TF.threshold(t, 1.5, 7.5)),  # value: 7
    ]:
        got, want = ours(mg.Tensor(ints)), theirs(ints)
        assert got.dtype == want.dtype and torch.equal(got._data, want)


# ---- the layers -------------------------------------------------------------------------------

LAYERS = [
    ("Softsign", (), {}),
    ("Tanhshrink", (), {}),
    ("LogSigmoid", (), {}),
    ("Softplus", (), {}),
    ("Softplus", (2, 10), {}),
    ("Softplus", (), {"beta": 0.5, "threshold": 5.0}),
    ("Mish", (), {}),
    ("Mish", (True,), {}),
    ("Hardswish", (), {}),
    ("Hardswish", (True,), {}),
    ("Hardsigmoid", (), {}),
    ("Hardsigmoid", (), {"inplace": True}),
    ("SELU", (), {}),
    ("SELU", (True,), {}),
    ("CELU", (), {}),
    ("CELU", (0.5, True), {}),
    ("CELU", (), {"alpha": -2.0}),
    ("Threshold", (0.1, 20), {}),
    ("Threshold", (0.1, -2.0, True), {}),
    ("GLU", (), {}),
    ("GLU", (0,), {}),
    ("Softmin", (1,), {}),
    ("Softmin", (), {"dim": -1}),
    ("Softmax2d", (), {}),
    ("PReLU", (), {}),
    ("PReLU", (3, 0.1), {}),
    ("PReLU", (), {"num_parameters": 3, "init": -0.5}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), LAYERS, ids=lambda v: repr(v))
def test_layer_is_torchs(name, args, kwargs):
    """repr, state_dict names and values, outputs and gradients (the weight's too) in train and
    in eval."""
    mine, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(mine) == repr(theirs)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert mine.state_dict()[key].dtype == value.dtype
        assert torch.equal(mine.state_dict()[key], value), key
    mine.double()
    theirs.double()
    shape = (2, 3, 4) if name != "GLU" or args != (0,) else (4, 3)
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x = x * 4  # across hardswish's and hardsigmoid's bends, at random points
    for mode in ("train", "eval"):
        getattr(mine, mode)()
        getattr(theirs, mode)()
        leaf, their_leaf = mg.Tensor(x.clone(), requires_grad=True), x.clone().requires_grad_()
        out, expected = mine(leaf * 1), theirs(their_leaf * 1)
        torch.testing.assert_close(out._data, expected.detach(), rtol=1e-7, atol=1e-9)
        upstream = torch.randn_like(expected)
        out.backward(upstream)
        expected.backward(upstream)
        torch.testing.assert_close(leaf.grad._data, their_leaf.grad, rtol=1e-7, atol=1e-9)
    for (key, p), q in zip(mine.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad._data, q.grad, rtol=1e-7, atol=1e-9, msg=key)


def test_prelu_layer_trains_its_slopes_and_takes_device_and_dtype():
    layer = nn.PReLU(3, init=0.1, dtype=mg.float64)
    assert layer.weight.dtype == mg.float64 and layer.weight.requires_grad
    assert layer.init == 0.1 and layer.num_parameters == 3
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    x = mg.tensor([[-1.0, 2.0, -3.0], [-4.0, -5.0, 6.0]], dtype=mg.float64)
    layer(x).sum().backward()
    assert layer.weight.grad.tolist() == [-5.0, -5.0, -3.0]
    layer.weight.data.mul_(3)
    layer.reset_parameters()
    assert layer.weight.tolist() == [0.1] * 3
    assert nn.PReLU().weight.dtype == mg.float32  # torch's default dtype


# ---- padding layers -----------------------------------------------------------------------------

PADDINGS = [  # (name, args, input shape)
    ("ZeroPad2d", (2,), (2, 3, 4, 5)),
    ("ZeroPad2d", ((1, 0, 2, -1),), (3, 4, 5)),  # negative: crops
    ("ConstantPad1d", (2, 3.5), (2, 3, 4)),
    ("ConstantPad1d", ((1, 3), -1.0), (3, 4)),
    ("ConstantPad2d", ((1, 2, 3, 0), 1.5), (2, 3, 4, 5)),
    ("ConstantPad2d", (1, 0.0), (4, 5)),  # a 2-d input: one image, no channel dim
    ("ReflectionPad1d", (2,), (2, 3, 4)),
    ("ReflectionPad1d", ((3, 1),), (3, 5)),
    ("ReflectionPad2d", (1,), (2, 3, 4, 5)),
    ("ReflectionPad2d", ((1, 0, 2, 3),), (3, 4, 5)),
    ("ReplicationPad1d", ((1, 2),), (2, 3, 4)),
    ("ReplicationPad1d", (3,), (3, 2)),
    ("ReplicationPad2d", (1,), (2, 3, 4, 5)),
    ("ReplicationPad2d", ((2, 0, 1, 3),), (3, 4, 5)),
]


@pytest.mark.parametrize(("name", "args", "shape"), PADDINGS, ids=lambda v: repr(v))
def test_padding_layer_is_torchs(name, args, shape):
    """repr and attributes, values and first and second derivatives (the second: of the layer's
    output squared, since padding is linear)."""
    mine, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(mine) == repr(theirs)
    assert mine.padding == theirs.padding
    assert getattr(mine, "value", None) == getattr(theirs, "value", None)
    x = np.random.default_rng(0).normal(size=shape)
    assert_matches_torch(lambda t: mine(t) ** 2, lambda t: theirs(t) ** 2, x, order=2, name=name)


def test_padding_layers_refuse_what_torch_refuses():
    for lib, make in ((nn, mg.randn), (torch.nn, torch.randn)):  # a reflection past the edge
        with pytest.raises(RuntimeError, match="Padding size should be less than"):
            lib.ReflectionPad1d(3)(make(1, 3))


# ---- pixel shuffle ------------------------------------------------------------------------------


@st.composite
def pixel_shuffle_cases(draw, unshuffle: bool = False):
    """(x, r): x of shape (*, C r^2, H, W) (unshuffle: (*, C, H r, W r)), 0 to 2 batch dims."""
    r = draw(st.integers(1, 3), label="factor")
    batch = draw(mst.shapes(0, 2, max_side=2), label="batch")
    c, h, w = (draw(st.integers(1, 3)) for _ in range(3))
    shape = (*batch, c, h * r, w * r) if unshuffle else (*batch, c * r * r, h, w)
    return draw(mst.float_arrays(shape), label="x"), r


@pytest.mark.parametrize("order", [1, 2])
@given(case=pixel_shuffle_cases())
def test_pixel_shuffle_matches_torch(order, case):
    x, r = case
    assert_matches_torch(
        lambda t: F.pixel_shuffle(t, r) ** order, lambda t: TF.pixel_shuffle(t, r) ** order, x,
        order=order, name=f"pixel_shuffle(r={r})",
    )  # fmt: skip


@pytest.mark.parametrize("order", [1, 2])
@given(case=pixel_shuffle_cases(unshuffle=True))
def test_pixel_unshuffle_matches_torch(order, case):
    x, r = case
    assert_matches_torch(
        lambda t: F.pixel_unshuffle(t, r) ** order, lambda t: TF.pixel_unshuffle(t, r) ** order,
        x, order=order, name=f"pixel_unshuffle(r={r})",
    )  # fmt: skip


def test_pixel_shuffle_of_an_empty_batch_has_a_gradient_where_torchs_backward_fails():
    """torch 2.13's backward of pixel_shuffle refuses an empty batch (its gradient's shape is
    wrong); minigrad's view and permutation give the empty gradient."""
    x = torch.zeros(0, 8, 2, 3, dtype=torch.float64, requires_grad=True)
    out = TF.pixel_shuffle(x, 2)
    with pytest.raises(RuntimeError, match="PixelShuffleBackward0 returned an invalid gradient"):
        out.backward(torch.zeros_like(out))
    ours = mg.zeros(0, 8, 2, 3, dtype=mg.float64, requires_grad=True)
    mine = F.pixel_shuffle(ours, 2)
    assert mine.shape == out.shape
    mine.backward(mg.zeros(0, 2, 4, 6, dtype=mg.float64))
    assert ours.grad.shape == (0, 8, 2, 3)


@given(case=pixel_shuffle_cases())
def test_pixel_unshuffle_undoes_pixel_shuffle(case):
    x, r = case
    t = mg.tensor(x)
    assert torch.equal(F.pixel_unshuffle(F.pixel_shuffle(t, r), r)._data, t._data)


def test_pixel_shuffle_layers_are_torchs_and_refuse_what_torch_refuses():
    for name, r in (("PixelShuffle", 2), ("PixelUnshuffle", 3)):
        assert repr(getattr(nn, name)(r)) == repr(getattr(torch.nn, name)(r))
    x = torch.arange(2 * 8 * 2 * 3, dtype=torch.float64).reshape(2, 8, 2, 3)
    assert torch.equal(nn.PixelShuffle(2)(mg.Tensor(x))._data, torch.nn.PixelShuffle(2)(x))
    y = torch.arange(2 * 2 * 6 * 9, dtype=torch.float64).reshape(2, 2, 6, 9)
    assert torch.equal(nn.PixelUnshuffle(3)(mg.Tensor(y))._data, torch.nn.PixelUnshuffle(3)(y))
    with pytest.raises(ShapeError, match=r"must be divisible by upscale_factor squared, 4: got 5"):
        F.pixel_shuffle(mg.randn(2, 5, 3, 3), 2)
    with pytest.raises(ShapeError, match=r"divisible by upscale_factor squared, 4: got 6"):
        F.pixel_shuffle(mg.randn(1, 6, 2, 2), 2)  # divisible by 2, not by 4
    with pytest.raises(ShapeError, match=r"at least 3 dims, \(\*, C, H, W\), got shape \(4, 3\)"):
        F.pixel_shuffle(mg.randn(4, 3), 2)
    with pytest.raises(ValueError, match="positive upscale_factor, but got 0"):
        F.pixel_shuffle(mg.randn(2, 4, 3, 3), 0)
    with pytest.raises(ShapeError, match=r"height \(dim -2\) .* divisible by downscale_factor=2"):
        F.pixel_unshuffle(mg.randn(2, 5, 3, 4), 2)
    with pytest.raises(ShapeError, match=r"width \(dim -1\) .* divisible by downscale_factor=2"):
        F.pixel_unshuffle(mg.randn(2, 5, 4, 3), 2)
    with pytest.raises(ValueError, match="positive downscale_factor, but got -1"):
        F.pixel_unshuffle(mg.randn(2, 4, 3, 3), -1)


# ---- adaptive_avg_pool1d ------------------------------------------------------------------------


@st.composite
def adaptive_pool1d_cases(draw):
    """(x, output_size): x (N, C, L) or (C, L); output_size an int or a tuple of one, any
    size from 1 to L + 2 (larger than L: windows overlap)."""
    shape = draw(mst.shapes(2, 3, max_side=7), label="shape")
    size = draw(st.integers(1, shape[-1] + 2), label="output_size")
    return draw(mst.float_arrays(shape), label="x"), draw(st.sampled_from([size, (size,)]))


@pytest.mark.parametrize("order", [1, 2])
@given(case=adaptive_pool1d_cases())
def test_adaptive_avg_pool1d_matches_torch(order, case):
    x, size = case
    assert_matches_torch(
        lambda t: F.adaptive_avg_pool1d(t, size) ** order,
        lambda t: TF.adaptive_avg_pool1d(t, size) ** order,
        x, order=order, name=f"adaptive_avg_pool1d({size})",
    )  # fmt: skip


def test_adaptive_avg_pool1d_layer_is_torchs_and_refuses_what_torch_refuses():
    assert repr(nn.AdaptiveAvgPool1d(3)) == repr(torch.nn.AdaptiveAvgPool1d(3))
    x = torch.randn(2, 3, 7, dtype=torch.float64)
    expected = torch.nn.AdaptiveAvgPool1d(3)(x)
    torch.testing.assert_close(nn.AdaptiveAvgPool1d(3)(mg.Tensor(x))._data, expected)
    with pytest.raises(ShapeError, match=r"adaptive_avg_pool1d: the input must be \(N, C, L\)"):
        F.adaptive_avg_pool1d(mg.randn(7), 3)
    with pytest.raises(ValueError, match="output_size must be an int or a tuple of one int"):
        F.adaptive_avg_pool1d(mg.randn(2, 3, 7), (2, 3))


# ---- channel dropout and Softmax2d --------------------------------------------------------------

CHANNEL_DROPOUTS = [  # (function, input shape): torch's warnings for dropout2d's odd dims
    ("dropout1d", (4, 6, 5)),
    ("dropout1d", (6, 5)),
    ("dropout2d", (3, 4, 2, 3)),
    ("dropout2d", (4, 6, 5)),
    ("dropout2d", (6, 5)),
    ("dropout2d", (2, 3, 2, 2, 2)),
]


@pytest.mark.parametrize(("name", "shape"), CHANNEL_DROPOUTS, ids=lambda v: repr(v))
@pytest.mark.parametrize("p", [0.5, 0.2, 1.0])
@pytest.mark.filterwarnings("ignore:dropout2d")
def test_channel_dropout_draws_torchs_mask_from_a_seed(name, shape, p):
    """The same seed, the same channels zeroed as torch's; the others times 1/(1-p); the
    gradient is the mask; every value of a channel kept or dropped together."""
    x = torch.rand(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) + 1
    torch.manual_seed(7)
    their_leaf = x.clone().requires_grad_()
    expected = getattr(TF, name)(their_leaf, p)
    torch.manual_seed(7)
    leaf = mg.Tensor(x.clone(), requires_grad=True)
    out = getattr(F, name)(leaf, p)
    torch.testing.assert_close(out._data, expected.detach(), rtol=1e-15, atol=0)
    upstream = torch.randn(shape, dtype=torch.float64)
    out.backward(upstream)
    expected.backward(upstream)
    torch.testing.assert_close(leaf.grad._data, their_leaf.grad, rtol=1e-15, atol=0)
    kept = (out._data != 0).reshape(*shape[:2], -1) if len(shape) > 2 else None
    if kept is not None:  # whole channels
        assert torch.equal(kept.all(-1), kept.any(-1))


def test_channel_dropout_warns_refuses_and_passes_through_as_torch():
    with pytest.warns(UserWarning, match=r"dropout2d: a 3-d input .* taken as \(N, C, L\)"):
        F.dropout2d(mg.randn(2, 3, 4))
    with pytest.warns(UserWarning, match="dropout2d: a 2-d input"):
        F.dropout2d(mg.randn(2, 3))
    with pytest.raises(ShapeError, match=r"dropout1d: expected a 2-d or 3-d input, .* \(3,\)"):
        F.dropout1d(mg.randn(3))
    with pytest.raises(ShapeError, match=r"dropout1d: expected a 2-d or 3-d input"):
        F.dropout1d(mg.randn(2, 3, 4, 5))
    for make in (lambda p: nn.Dropout1d(p), lambda p: nn.Dropout2d(p)):
        with pytest.raises(ValueError, match=r"p=1.5 is the probability .* between 0 and 1"):
            make(1.5)
    with pytest.raises(ValueError, match=r"p=-0.5 is the probability .* between 0 and 1"):
        F.dropout1d(mg.randn(2, 3), -0.5)
    x = mg.randn(2, 3, 4, 5)
    assert F.dropout2d(x, training=False) is x and F.dropout2d(x, 0.0) is x
    for lib in (nn, torch.nn):  # channel dropout is not a Dropout (a check for Dropout layers)
        assert not isinstance(lib.Dropout2d(), lib.Dropout)
        assert not isinstance(lib.Dropout1d(), lib.Dropout)
    layer = nn.Dropout2d(0.3, inplace=True)
    assert repr(layer) == repr(torch.nn.Dropout2d(0.3, inplace=True))
    assert repr(nn.Dropout1d()) == repr(torch.nn.Dropout1d())
    assert layer.eval()(x) is x
    h = mg.ones(2, 3, 4, 5, requires_grad=True) * 1
    assert layer.train()(h) is h  # in place: the input itself
    assert set(h._data.unique().tolist()) <= {0.0, torch.tensor(1 / 0.7).item()}  # float32
    g = mg.ones(3, 4, requires_grad=True) * 1
    assert F.dropout1d(g, 0.3, inplace=True) is g
    assert set(g._data.unique().tolist()) <= {0.0, torch.tensor(1 / 0.7).item()}


def test_softmax2d_is_torchs():
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5))
    assert_matches_torch(nn.Softmax2d(), torch.nn.Softmax2d(), x, order=2, name="Softmax2d")
    assert_matches_torch(nn.Softmax2d(), torch.nn.Softmax2d(), x[0], name="Softmax2d, 3-d")
    assert repr(nn.Softmax2d()) == repr(torch.nn.Softmax2d())
