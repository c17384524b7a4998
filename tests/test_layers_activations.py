"""Layer norm, GELU, leaky relu, silu, elu, hardtanh and relu6 against torch (float64, rtol 1e-7,
atol 1e-9, random upstream gradients) and finite differences: the ops over drawn shapes and
options, the functions' errors, the layers (repr, state_dict, initial values, train/eval, device
and dtype), and a tiny transformer block that trains with SGD exactly as torch's does.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_compile import sgd_step
from test_no_torch_autograd import forbid_torch_autograd
from torch.overrides import TorchFunctionMode

import minigrad as mg
from minigrad import nn
from minigrad.autograd.function import formulas_only
from minigrad.errors import ShapeError
from minigrad.nn import functional as F
from minigrad.testing import assert_matches_torch, gradcheck
from minigrad.testing import strategies as mst

# ---- layer norm ---------------------------------------------------------------------------------

EPSILONS = st.sampled_from([1e-5, 1e-3, 0.1, 1.0])


@st.composite
def layer_norm_cases(
    draw: st.DrawFn, small: bool = False, distinct: bool = False
) -> tuple[tuple, dict]:
    """x with 0 to 2 batch dims before 1 to 3 normalised ones; weight and bias of the normalised
    dims' shape, both, one or neither; an eps. Returns (arrays, options) for `_layer_norm`.
    Distinct values (small: for gradcheck too)."""
    dims = draw(st.integers(1, 3), label="normalised dims")
    batch = draw(st.integers(0, 2), label="batch dims")
    shape = draw(mst.shapes(dims + batch, dims + batch, max_side=3 if small else 4), label="shape")
    normalized = shape[batch:]
    arrays = mst.distinct_arrays if small or distinct else mst.float_arrays
    x = draw(arrays(shape), label="x")
    has_weight, has_bias = draw(st.booleans(), label="weight"), draw(st.booleans(), label="bias")
    params = [draw(arrays(normalized), label=name) for name in ("weight", "bias")]
    params = [p for p, has in zip(params, (has_weight, has_bias)) if has]
    options = {
        "normalized_shape": normalized,
        "eps": draw(EPSILONS, label="eps"),
        "weight": has_weight,
        "bias": has_bias,
    }
    return (x, *params), options


def _layer_norm(functional, options):
    """layer_norm of `functional` (minigrad's F or torch's) taking x and the weight and bias
    that options say are there, as positional arguments."""

    def call(x, *params):
        given = iter(params)
        weight = next(given) if options["weight"] else None
        bias = next(given) if options["bias"] else None
        return functional.layer_norm(x, options["normalized_shape"], weight, bias, options["eps"])

    return call


def _case(*arrays, shape, eps=1e-5, weight=False, bias=False):
    return arrays, {"normalized_shape": shape, "eps": eps, "weight": weight, "bias": bias}


@given(case=layer_norm_cases())
@example(case=_case(np.zeros((2, 3)), shape=(3,)))  # zero variance: x_hat = 0
@example(
    case=_case(np.full((2, 1), 4.0), np.ones(1), np.zeros(1), shape=(1,), weight=True, bias=True)
)  # one value per example
@example(
    case=_case(np.arange(6.0).reshape(2, 3), np.full((2, 3), 2.0), shape=(2, 3), eps=0.1, bias=True)
)  # no batch dims: nothing to sum weight's gradient over
def test_layer_norm_matches_torch(case):
    arrays, options = case
    assert_matches_torch(
        _layer_norm(F, options), _layer_norm(TF, options), *arrays, name=f"layer_norm{options}"
    )


@given(case=layer_norm_cases(small=True))
def test_layer_norm_passes_gradcheck(case):
    arrays, options = case
    gradcheck(_layer_norm(F, options), *arrays, name=f"layer_norm{options}")


@given(case=layer_norm_cases(distinct=True))
@example(case=_case(np.zeros((2, 3)), shape=(3,)))  # zero variance, exactly: x_hat = 0
@example(
    case=_case(np.full((2, 1), 4.0), np.ones(1), np.zeros(1), shape=(1,), weight=True, bias=True)
)  # one value per example
def test_layer_norm_second_derivatives_match_torch(case):
    """Each example's mean and istd computed again from x, in the graph. Distinct values, as
    for batch norm (tests/test_normalization.py): where an example's values are all equal,
    rounding noise times istd^3 is all either side computes for a second derivative of 0.
    A bias without a weight is compared with torch's layer norm with a weight of ones, the same
    function: torch's own second derivative fails there (see the test below)."""
    arrays, options = case
    theirs = _layer_norm(TF, options)
    if options["bias"] and not options["weight"]:
        ones = torch.ones(options["normalized_shape"], dtype=torch.float64)
        theirs = _layer_norm(TF, {**options, "weight": True})
        assert_matches_torch(
            _layer_norm(F, options), lambda x, bias: theirs(x, ones, bias), *arrays, order=2,
            name=f"layer_norm{options}",
        )  # fmt: skip
        return
    assert_matches_torch(
        _layer_norm(F, options), theirs, *arrays, order=2, name=f"layer_norm{options}"
    )


def test_torchs_layer_norm_with_a_bias_and_no_weight_cannot_be_differentiated_twice():
    """Why the test above compares that case with a weight of ones: torch 2.13 raises. If this
    fails, torch has fixed it, and the test above can compare with torch's own case."""
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, dtype=torch.float64, requires_grad=True)
    out = TF.layer_norm(x, (3,), None, bias)
    dx, d_bias = torch.autograd.grad(out.pow(2).sum(), (x, bias), create_graph=True)
    with pytest.raises(RuntimeError, match="Expected a proper Tensor but got None"):
        torch.autograd.grad(dx.sum() + d_bias.sum(), x)
    ours, our_bias = (mg.tensor(t.detach(), requires_grad=True) for t in (x, bias))
    out = F.layer_norm(ours, (3,), None, our_bias)
    dx, d_bias = mg.autograd.grad(out.pow(2).sum(), (ours, our_bias), create_graph=True)
    mg.autograd.grad(dx.sum() + d_bias.sum(), ours)  # minigrad's runs


@given(case=layer_norm_cases(), needs=st.data())
def test_layer_norm_kernel_gives_its_formulas_gradients(case, needs):
    """backward() calls native_layer_norm_backward on the mean and istd the forward kernel
    computed; the formula (what create_graph records and explain shows) computes them from x
    again: the same gradients to rtol 1e-7, for whichever inputs need one."""
    arrays, options = case
    wanted = needs.draw(st.lists(st.booleans(), min_size=len(arrays), max_size=len(arrays))
                        .filter(any), label="requires_grad")  # fmt: skip
    upstream = torch.randn(arrays[0].shape, dtype=torch.float64,
                           generator=torch.Generator().manual_seed(0))  # fmt: skip

    def gradients() -> list:
        tensors = [mg.tensor(a, requires_grad=w) for a, w in zip(arrays, wanted)]
        _layer_norm(F, options)(*tensors).backward(upstream)
        return [t.grad._data if w else None for t, w in zip(tensors, wanted)]

    with CallNames() as calls:
        by_kernel = gradients()
    assert ("native_layer_norm_backward" in calls) == any(wanted[: 1 + options["weight"]])
    with formulas_only(), CallNames() as calls:
        by_formula = gradients()
    assert "native_layer_norm_backward" not in calls
    for k, f in zip(by_kernel, by_formula):
        assert (k is None) == (f is None)
        if k is not None:
            torch.testing.assert_close(k, f, rtol=1e-7, atol=1e-9)


class CallNames(TorchFunctionMode, list):
    """The names of the torch functions called inside it."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.append(getattr(func, "__name__", str(func)).split(".")[0])
        return func(*args, **(kwargs or {}))


def test_layer_norm_backward_is_one_op_of_minigrads_own(monkeypatch):
    """One LayerNorm node (not a chain of mean, var, sub...); its first-order backward calls
    torch's native_layer_norm_backward (the kernel for its formula), never torch's autograd;
    under formulas_only() it calls no kernel at all."""
    x = mg.randn(4, 3, 5, requires_grad=True, dtype=mg.float64)
    weight, bias = mg.ones(5, requires_grad=True), mg.zeros(5, requires_grad=True)
    out = F.layer_norm(x, (5,), weight.double(), bias.double())
    assert out.grad_fn.op_name == "LayerNorm"
    kernel = torch.ops.aten.native_layer_norm_backward
    calls = []
    with monkeypatch.context() as patch:
        forbid_torch_autograd(patch)
        patch.setattr(torch.ops.aten, "native_layer_norm_backward",
                      lambda *a: calls.append(a) or kernel(*a))  # fmt: skip
        out.backward(torch.randn(4, 3, 5, dtype=torch.float64), retain_graph=True)
        assert len(calls) == 1
        patch.setattr(torch.ops.aten, "native_layer_norm_backward", _forbidden)
        with formulas_only():
            out.backward(torch.randn(4, 3, 5, dtype=torch.float64))
    assert x.grad is not None and weight.grad is not None and bias.grad is not None


def _forbidden(*args, **kwargs):
    raise AssertionError("minigrad called torch's own differentiation")


def test_layer_norm_accepts_the_shapes_torch_accepts():
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    for shape in ([4], (3, 4), torch.Size([2, 3, 4])):
        torch.testing.assert_close(F.layer_norm(mg.Tensor(x), shape)._data, TF.layer_norm(x, shape))


def test_nanogpts_layer_norm_passes_the_weights_shape():
    """nanoGPT's LayerNorm with optional bias calls F.layer_norm(input, self.weight.shape, ...)."""

    def layer_norm_class(lib):
        class LayerNorm(lib.nn.Module):
            def __init__(self, ndim, bias):
                super().__init__()
                self.weight = lib.nn.Parameter(lib.ones(ndim, dtype=lib.float64))
                self.bias = lib.nn.Parameter(lib.zeros(ndim, dtype=lib.float64)) if bias else None

            def forward(self, input):
                shape = self.weight.shape
                return lib.nn.functional.layer_norm(input, shape, self.weight, self.bias, 1e-5)

        return LayerNorm

    x = torch.randn(2, 5, 6, dtype=torch.float64)
    upstream = torch.randn(2, 5, 6, dtype=torch.float64)
    for bias in (True, False):
        mine, theirs = layer_norm_class(mg)(6, bias), layer_norm_class(torch)(6, bias)
        leaf, their_leaf = mg.Tensor(x, requires_grad=True), x.clone().requires_grad_()
        out, expected = mine(leaf), theirs(their_leaf)
        torch.testing.assert_close(out._data, expected.detach(), rtol=1e-7, atol=1e-9)
        out.backward(upstream)
        expected.backward(upstream)
        torch.testing.assert_close(leaf.grad._data, their_leaf.grad, rtol=1e-7, atol=1e-9)
        torch.testing.assert_close(mine.weight.grad._data, theirs.weight.grad)


def test_layer_norm_errors_say_what_is_wrong():
    x = mg.randn(2, 3)
    with pytest.raises(ShapeError, match=r"normalized_shape \(4,\) .* input, which has shape "
                       r"\(2, 3\): an input of shape \(\*, 4\) was expected"):  # fmt: skip
        F.layer_norm(x, (4,))
    with pytest.raises(ShapeError, match=r"normalized_shape \(2, 3, 1\) .* shape \(2, 3\)"):
        F.layer_norm(x, (2, 3, 1))
    with pytest.raises(ShapeError, match=r"weight has shape \(2,\), but it must have "
                       r"normalized_shape \(3,\)"):  # fmt: skip
        F.layer_norm(x, (3,), mg.ones(2))
    with pytest.raises(ShapeError, match=r"bias has shape \(3, 1\).*normalized_shape \(3,\)"):
        F.layer_norm(x, (3,), None, mg.ones(3, 1))
    with pytest.raises(TypeError, match=r"tuple or list of ints .* got int 3: write \(3,\)"):
        F.layer_norm(x, 3)  # torch's F.layer_norm refuses a bare int too (nn.LayerNorm takes it)
    with pytest.raises(ValueError, match=r"at least one dim .* got \(\)"):
        F.layer_norm(x, ())
    with pytest.raises(TypeError, match=r"floating-point tensor, got torch.int64 of shape"):
        F.layer_norm(mg.tensor([[1, 2]]), (2,))
    with pytest.raises(TypeError, match=r"dtype torch.float32 but weight has torch.float64"):
        F.layer_norm(x, (3,), mg.ones(3, dtype=mg.float64))
    with pytest.raises(ShapeError, match=r"shape \(2, 3\): an input of shape \(\*, 4\)"):
        nn.LayerNorm(4)(x)  # the layer built for another width: the message names both


# ---- GELU ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@given(x=mst.float_arrays(mst.shapes(), -30, 30))
@example(x=np.array([0.0, -0.0, 1e-8, -3.0, 30.0]))
def test_gelu_matches_torch(approximate, x):
    assert_matches_torch(
        lambda t: F.gelu(t, approximate=approximate),
        lambda t: TF.gelu(t, approximate=approximate),
        x,
        name=f"gelu(approximate={approximate!r})",
    )


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@given(x=mst.distinct_arrays(mst.small_shapes(), -5, 5))
def test_gelu_passes_gradcheck(approximate, x):
    gradcheck(lambda t: F.gelu(t, approximate), x, name=f"gelu({approximate!r})")


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@given(x=mst.float_arrays(mst.shapes(), -30, 30))
@example(x=np.array([0.0, -0.0, 1e-8, -3.0, 30.0]))
def test_gelu_second_derivatives_match_torch(approximate, x):
    """GELU is smooth: its backward, differentiated again (create_graph=True), through erf, exp
    and tanh, against torch's double backward (gelu_double_backward)."""
    assert_matches_torch(
        lambda t: F.gelu(t, approximate=approximate),
        lambda t: TF.gelu(t, approximate=approximate),
        x,
        order=2,
        name=f"gelu(approximate={approximate!r})",
    )


def test_gelu_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"'none' .* or 'tanh' .*, got 'erf'"):
        F.gelu(mg.randn(3), approximate="erf")
    layer = nn.GELU("erf")  # as torch's, the layer takes it and refuses in forward
    with pytest.raises(ValueError, match=r"got 'erf'"):
        layer(mg.randn(3))
    with pytest.raises(TypeError, match=r"GELU: .* floating-point tensor, got torch.int64 of "
                       r"shape \(2,\)"):  # fmt: skip
        F.gelu(mg.tensor([1, 2]))


# ---- leaky relu ---------------------------------------------------------------------------------

# torch takes any slope: 0 (relu), negative ones (not monotonic), ones above 1 (steeper left)
SLOPES = st.sampled_from([0.01, 0.2, 0.0, 1.0, -0.5, -2.0, 3.0]) | st.floats(-5, 5, width=64)


@given(x=mst.float_arrays(), slope=SLOPES)
@example(x=np.array([-1.0, 0.0, -0.0, 2.0]), slope=0.01)  # the slope at 0 is negative_slope
@example(x=np.array([0.0, 0.0]), slope=-0.5)
@example(x=np.array(0.0), slope=3.0)
@example(x=np.array([np.nan, 1.0]), slope=0.2)  # NaN takes negative_slope too, as torch's
def test_leaky_relu_matches_torch(x, slope):
    """Exact zeros included: the derivative there is negative_slope, as torch's (x > 0 ?)."""
    assert_matches_torch(
        lambda t: F.leaky_relu(t, slope),
        lambda t: TF.leaky_relu(t, slope),
        x,
        name=f"leaky_relu(negative_slope={slope})",
    )


@given(x=mst.distinct_arrays(mst.small_shapes(), -5, 5), slope=SLOPES)
def test_leaky_relu_passes_gradcheck(x, slope):
    gradcheck(lambda t: F.leaky_relu(t, slope), x, name=f"leaky_relu({slope})")


@given(x=mst.distinct_arrays(mst.shapes(), -10, 10), slope=SLOPES)  # none at the kink, 0
def test_leaky_relu_second_derivatives_match_torch(x, slope):
    assert_matches_torch(
        lambda t: F.leaky_relu(t, slope) * t,
        lambda t: TF.leaky_relu(t, slope) * t,
        x,
        order=2,
        name=f"leaky_relu(x, {slope}) * x",
    )
    both = (lambda t: F.leaky_relu(t, slope), lambda t: TF.leaky_relu(t, slope))
    assert_matches_torch(*both, x, order=2, name=f"leaky_relu(x, {slope})")


def test_leaky_relu_at_zero_takes_negative_slope():
    x = mg.tensor([0.0, -0.0], requires_grad=True)
    F.leaky_relu(x, 0.3).sum().backward()
    assert x.grad.tolist() == pytest.approx([0.3, 0.3])


@pytest.mark.parametrize("slope", [0.1, 2.0, -0.5])
def test_leaky_relu_inplace_changes_the_input_and_keeps_the_gradient(slope):
    values = torch.tensor([[-1.5, 0.0, 2.0], [0.5, -0.25, 3.0]], dtype=torch.float64)
    upstream = torch.randn(2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    leaf = mg.Tensor(values, requires_grad=True)
    h = leaf * 2
    out = F.leaky_relu(h, slope, inplace=True)
    assert out is h
    out.backward(upstream)
    their_leaf = values.clone().requires_grad_()
    expected = TF.leaky_relu(their_leaf * 2, slope)  # out of place: torch's in-place backward
    expected.backward(upstream)  # refuses a negative slope; minigrad's is exact for any
    torch.testing.assert_close(h._data, expected.detach(), rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(leaf.grad._data, their_leaf.grad, rtol=1e-7, atol=1e-9)
    plain = mg.Tensor(values.clone())
    assert F.leaky_relu(plain, slope, inplace=True) is plain
    assert torch.equal(plain._data, TF.leaky_relu(values, slope))


def test_leaky_relu_errors_say_what_is_wrong():
    with pytest.raises(RuntimeError, match="leaf"):  # as torch: a leaf that requires grad
        F.leaky_relu(mg.randn(3, requires_grad=True), inplace=True)
    with pytest.raises(TypeError, match=r"LeakyReLU: .* floating-point tensor, got torch.int64"):
        F.leaky_relu(mg.tensor([1, 2]))


# ---- silu, elu, hardtanh, relu6 ------------------------------------------------------------------


def float_arrays_off(kinks, low: float = -10.0, high: float = 10.0, gap: float = 1e-3, shape=None):
    """float64 arrays (of `shape`, default `mst.shapes()`) with values in [low, high] but none
    within `gap` of a kink: drawn from the intervals between the kinks, so finite differences and
    second derivatives never straddle one. (The kinks themselves are @examples.)"""
    edges = [low, *sorted(kinks), high]
    pieces = [
        st.floats(a + gap * (a != low), b - gap * (b != high), width=64)
        for a, b in zip(edges, edges[1:])
        if b - a > 2 * gap
    ]
    shape = mst.shapes() if shape is None else shape
    return hnp.arrays(np.float64, shape, elements=st.one_of(pieces))


ALPHAS = st.sampled_from([1.0, 0.5, 2.0, 0.0, -1.0]) | st.floats(-3, 3, width=64)


@pytest.mark.parametrize("order", [1, 2])
@given(x=mst.float_arrays(mst.shapes(), -30, 30))
@example(x=np.array([0.0, -0.0, 1e-8, -30.0, 30.0]))
def test_silu_matches_torch(order, x):
    """silu is smooth: its first and second derivatives everywhere, against torch's."""
    assert_matches_torch(F.silu, TF.silu, x, order=order, name="silu")


@given(x=mst.distinct_arrays(mst.small_shapes(), -5, 5))
def test_silu_passes_gradcheck(x):
    gradcheck(F.silu, x, name="silu")


@pytest.mark.parametrize("order", [1, 2])
@given(x=float_arrays_off([0.0]), alpha=ALPHAS)
@example(x=np.array([-1.0, 0.0, -0.0, 2.0]), alpha=2.0)  # at 0 the slope is alpha
@example(x=np.array([0.0, -0.0, 1.0]), alpha=-1.0)
@example(x=np.array([np.nan, -1.0, 1.0]), alpha=0.5)  # NaN: the slope is 1, as torch's
def test_elu_matches_torch(order, x, alpha):
    """Off 0 (a kink for alpha != 1) by construction; at 0 torch's choice, the left slope."""
    power = 1 if order == 1 else 2  # times x for order 2, so that the second derivative is not 0
    assert_matches_torch(
        lambda t: F.elu(t, alpha) * t ** (power - 1),
        lambda t: TF.elu(t, alpha) * t ** (power - 1),
        x,
        order=order,
        name=f"elu(alpha={alpha})",
    )


@given(x=mst.distinct_arrays(mst.small_shapes(), -5, 5), alpha=ALPHAS)
def test_elu_passes_gradcheck(x, alpha):
    gradcheck(lambda t: F.elu(t, alpha), x, name=f"elu(alpha={alpha})")


@st.composite
def hardtanh_cases(draw):
    """(x, min_val, max_val): bounds from [-5, 5], max_val above min_val, x off both bounds."""
    min_val = draw(st.floats(-5, 4, width=64))
    max_val = draw(st.floats(min_val + 0.01, 5, width=64))
    return draw(float_arrays_off([min_val, max_val])), min_val, max_val


@pytest.mark.parametrize("order", [1, 2])
@given(case=hardtanh_cases())
@example(case=(np.array([-1.0, 1.0, 0.0, -2.0, 2.0]), -1.0, 1.0))  # at the bounds: 0
@example(case=(np.array([0.0, 6.0, -0.0, 3.0]), 0.0, 6.0))  # relu6's
@example(case=(np.array([2.0, 3.0, 1.0]), 2.0, 2.0))  # min_val == max_val: torch allows it
def test_hardtanh_matches_torch(order, case):
    """Off the bounds by construction; at a bound the gradient is 0, torch's choice (clamp's is
    1 there: a composition with clamp would be wrong at the bounds)."""
    x, low, high = case
    power = 1 if order == 1 else 2  # times x for order 2, so that the second derivative is not 0
    assert_matches_torch(
        lambda t: F.hardtanh(t, low, high) * t ** (power - 1),
        lambda t: TF.hardtanh(t, low, high) * t ** (power - 1),
        x,
        order=order,
        name=f"hardtanh({low}, {high})",
    )


@given(x=float_arrays_off([0.0, 6.0], -3, 9))
@example(x=np.array([0.0, 6.0, -0.0, 3.0, 7.0, -1.0]))  # at its bounds: 0, as torch's
@example(x=np.array([np.nan, 1.0]))  # NaN: the gradient passes, as torch's
def test_relu6_matches_torch(x):
    assert_matches_torch(F.relu6, TF.relu6, x, name="relu6")


@given(x=mst.distinct_arrays(mst.small_shapes(), -3, 3, avoid=1.0))  # the grid misses 1 and -1
def test_hardtanh_passes_gradcheck(x):
    gradcheck(F.hardtanh, x, name="hardtanh")


INPLACE_ACTIVATIONS = {  # name: (minigrad's in place, torch's out of place)
    "silu": (lambda t: F.silu(t, inplace=True), TF.silu),
    "elu": (lambda t: F.elu(t, 0.5, inplace=True), lambda t: TF.elu(t, 0.5)),
    "elu(alpha=-1)": (lambda t: F.elu(t, -1.0, True), lambda t: TF.elu(t, -1.0)),
    "hardtanh": (lambda t: F.hardtanh(t, -0.5, 2.5, True), lambda t: TF.hardtanh(t, -0.5, 2.5)),
    "relu6": (lambda t: F.relu6(t, inplace=True), TF.relu6),
}


@pytest.mark.parametrize("name", INPLACE_ACTIVATIONS)
def test_inplace_activations_change_the_input_and_keep_the_gradient(name):
    """Out of place on torch's side: torch's in-place elu backward refuses a negative alpha;
    minigrad's is exact for any."""
    ours, theirs = INPLACE_ACTIVATIONS[name]
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
    with pytest.raises(RuntimeError, match="leaf"):  # as torch: a leaf that requires grad
        ours(mg.Tensor(values.clone(), requires_grad=True))


def test_silu_elu_hardtanh_errors_say_what_is_wrong():
    with pytest.raises(TypeError, match=r"SiLU: .* floating-point tensor, got torch.int64"):
        F.silu(mg.tensor([1, 2]))
    with pytest.raises(TypeError, match=r"ELU: .* floating-point tensor, got torch.int64"):
        F.elu(mg.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"min_val cannot be greater than max_val, got "
                       r"min_val=2 and max_val=1"):  # fmt: skip
        F.hardtanh(mg.randn(3), 2, 1)
    with pytest.raises(AssertionError, match=r"max_val \(1\) must be greater than min_val \(1\)"):
        nn.Hardtanh(1, 1)  # the layer is stricter than the function, as torch's
    with pytest.warns(FutureWarning, match="`min_value` is deprecated and renamed to `min_val`"):
        assert nn.Hardtanh(min_value=-2.0).min_val == -2.0
    assert F.hardtanh(mg.tensor([-3, 0, 3])).tolist() == [-1, 0, 1]  # integers: as torch's clamp


@pytest.mark.parametrize(
    "make",
    [
        lambda f: f.gelu(X23()),
        lambda f: f.leaky_relu(X23(), -0.5),
        lambda f: f.silu(X23()),
        lambda f: f.elu(X23(), 2.0),
        lambda f: f.hardtanh(X23(), -0.5, 2.0),
    ],
    ids=["gelu", "leaky", "silu", "elu", "hardtanh"],
)
def test_activation_backward_is_minigrads_own(monkeypatch, make):
    out = make(F)
    with monkeypatch.context() as patch:
        forbid_torch_autograd(patch)
        for name in ("gelu_backward", "leaky_relu_backward", "silu_backward", "elu_backward",
                     "hardtanh_backward"):  # fmt: skip
            patch.setattr(torch.ops.aten, name, _forbidden)
        out.backward(torch.ones(2, 3, dtype=torch.float64))


def X23():  # noqa: N802
    return mg.tensor([[0.5, -1.5, 2.0], [0.0, 3.0, -0.25]], dtype=mg.float64, requires_grad=True)


# ---- the layers -----------------------------------------------------------------------------

LAYERS = [
    ("LayerNorm", (5,), {}),
    ("LayerNorm", ((3, 4),), {"eps": 1e-6}),
    ("LayerNorm", ([4],), {"elementwise_affine": False}),
    ("LayerNorm", (4,), {"bias": False}),
    ("LayerNorm", (4,), {"elementwise_affine": False, "bias": False}),
    ("GELU", (), {}),
    ("GELU", ("tanh",), {}),
    ("GELU", (), {"approximate": "none"}),
    ("LeakyReLU", (), {}),
    ("LeakyReLU", (0.2,), {}),
    ("LeakyReLU", (0.2, True), {}),
    ("LeakyReLU", (), {"negative_slope": -1, "inplace": False}),
    ("SiLU", (), {}),
    ("SiLU", (True,), {}),
    ("ELU", (), {}),
    ("ELU", (0.5, True), {}),
    ("ELU", (), {"alpha": -1.0}),
    ("Hardtanh", (), {}),
    ("Hardtanh", (-2, 3, True), {}),
    ("Hardtanh", (), {"min_val": -0.5, "max_val": 0.5}),
    ("ReLU6", (), {}),
    ("ReLU6", (True,), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), LAYERS, ids=lambda v: repr(v))
def test_layer_is_torchs(name, args, kwargs):
    """repr, state_dict names and values (LayerNorm: weight ones, bias zeros), outputs in train
    and in eval (LayerNorm has no running statistics: both the same), and gradients."""
    mine, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(mine) == repr(theirs)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for key, value in theirs.state_dict().items():
        assert torch.equal(mine.state_dict()[key], value), key
    mine.double()
    theirs.double()
    shape = (2, 3, 4) if name != "LayerNorm" else (2, *theirs.normalized_shape)
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    upstream = torch.randn_like(x)
    for mode in ("train", "eval"):
        getattr(mine, mode)()
        getattr(theirs, mode)()
        leaf, their_leaf = mg.Tensor(x.clone(), requires_grad=True), x.clone().requires_grad_()
        # an in-place layer changes its input: give it a copy that is not a leaf, on both sides
        out, expected = mine(leaf * 1), theirs(their_leaf * 1)
        torch.testing.assert_close(out._data, expected.detach(), rtol=1e-7, atol=1e-9)
        out.backward(upstream)
        expected.backward(upstream)
        torch.testing.assert_close(leaf.grad._data, their_leaf.grad, rtol=1e-7, atol=1e-9)
    for (key, p), q in zip(mine.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad._data, q.grad, rtol=1e-7, atol=1e-9, msg=key)


def test_layer_norm_layer_takes_device_and_dtype(device):
    layer = nn.LayerNorm((2, 3), device=device, dtype=mg.float64)
    for p in (layer.weight, layer.bias):
        assert p.device.type == device and p.dtype == mg.float64 and p.requires_grad
        assert p.shape == (2, 3)
    assert layer.normalized_shape == (2, 3)
    x = mg.randn(4, 2, 3, dtype=mg.float64, device=device)
    assert layer(x).device.type == device
    layer.weight.data.mul_(3)
    layer.reset_parameters()
    assert layer.weight.tolist() == [[1.0] * 3] * 2 and layer.bias.tolist() == [[0.0] * 3] * 2
    assert nn.LayerNorm(3).weight.dtype == mg.float32  # torch's default dtype


def test_a_torch_layer_norm_state_dict_loads_into_minigrad():
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4), torch.nn.GELU())
    with torch.no_grad():
        theirs[1].weight.uniform_(0.5, 2)
        theirs[1].bias.uniform_(-1, 1)
    mine = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.GELU())
    mine.load_state_dict(theirs.state_dict())
    x = torch.randn(5, 3)
    torch.testing.assert_close(mine(mg.Tensor(x))._data, theirs(x))


# ---- a tiny transformer block, trained --------------------------------------------------------


def block(lib, channels: int, hidden: int, classes: int, approximate: str):
    """Pre-norm self-attention and MLP (LayerNorm, Linear, GELU), a final LayerNorm without
    bias, a LeakyReLU and a linear head: the same code for torch and for minigrad."""
    layers = lib.nn

    class Block(layers.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = layers.LayerNorm(channels)
            self.query, self.key = (
                layers.Linear(channels, channels),
                layers.Linear(channels, channels),
            )
            self.value = layers.Linear(channels, channels)
            self.ln2 = layers.LayerNorm(channels)
            self.mlp = layers.Sequential(
                layers.Linear(channels, hidden),
                layers.GELU(approximate=approximate),
                layers.Linear(hidden, channels),
            )
            self.ln_f = layers.LayerNorm(channels, bias=False)
            self.act = layers.LeakyReLU(0.1)
            self.head = layers.Linear(channels, classes)

        def forward(self, x):
            h = self.ln1(x)
            scores = self.query(h) @ self.key(h).mT / math.sqrt(channels)
            x = x + scores.softmax(-1) @ self.value(h)
            x = x + self.mlp(self.ln2(x))
            return self.head(self.act(self.ln_f(x)))

    return Block()


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_a_tiny_transformer_block_trains_as_torchs(approximate):
    torch.manual_seed(0)
    theirs = block(torch, 8, 16, 5, approximate).double()
    mine = block(mg, 8, 16, 5, approximate).double()
    mine.load_state_dict(theirs.state_dict())
    assert list(mine.state_dict()) == list(theirs.state_dict())
    their_sgd = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    my_sgd = mg.optim.SGD(mine.parameters(), lr=0.1, momentum=0.9)
    generator = torch.Generator().manual_seed(1)
    for step in range(5):
        x = torch.randn(3, 6, 8, dtype=torch.float64, generator=generator)
        y = torch.randint(0, 5, (3 * 6,), generator=generator)
        expected = TF.cross_entropy(theirs(x).reshape(-1, 5), y)
        loss = F.cross_entropy(mine(mg.Tensor(x)).reshape(-1, 5), mg.Tensor(y))
        torch.testing.assert_close(loss._data, expected.detach(), rtol=1e-10, atol=0)
        their_sgd.zero_grad()
        my_sgd.zero_grad()
        expected.backward()
        loss.backward()
        their_sgd.step()
        my_sgd.step()
        for (name, p), q in zip(mine.named_parameters(), theirs.parameters()):
            torch.testing.assert_close(
                p._data, q.detach(), rtol=1e-10, atol=1e-12, msg=f"{name} after step {step}"
            )
    assert loss.item() != pytest.approx(0.0)


def test_the_layers_compile_and_replay_bit_for_bit():
    """minigrad.compile records the new ops' forward and backward and replays them exactly."""

    def model():
        return nn.Sequential(
            nn.Linear(4, 6), nn.LayerNorm(6), nn.GELU("tanh"), nn.Linear(6, 6),
            nn.LeakyReLU(-0.2), nn.LayerNorm((6,), bias=False), nn.GELU(), nn.Linear(6, 3),
        )  # fmt: skip

    mg.manual_seed(0)
    eager_model, compiled_model = model(), model()
    compiled_model.load_state_dict(eager_model.state_dict())
    eager, compiled = sgd_step(eager_model, 0.1), mg.compile(sgd_step(compiled_model, 0.1))
    generator = torch.Generator().manual_seed(0)
    for _ in range(5):
        xb = mg.Tensor(torch.randn(5, 4, generator=generator))
        yb = mg.Tensor(torch.randint(0, 3, (5,), generator=generator))
        assert torch.equal(compiled(xb, yb)._data, eager(xb, yb)._data)
        for (name, p), q in zip(compiled_model.named_parameters(), eager_model.parameters()):
            assert torch.equal(p._data, q._data), name
    assert compiled.replays >= 3
