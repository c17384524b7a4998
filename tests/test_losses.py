"""Losses and activations against torch: values and gradients in float64, over shapes, values
(ordinary and saturated) and every option (reduction, weight, ignore_index, label_smoothing,
pos_weight) that Hypothesis draws; the loss modules against torch's modules."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from test_first_order_calls import CountCalls
from test_layers_activations import float_arrays_off

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, ops
from minigrad.autograd.function import formulas_only
from minigrad.testing import assert_matches_torch, gradcheck
from minigrad.testing import strategies as mst

TF = torch.nn.functional
RTOL, ATOL = 1e-7, 1e-9
SATURATED = [-1000.0, -100.0, -30.0, 30.0, 100.0, 1000.0]
logit = st.one_of(st.floats(-10, 10), st.sampled_from(SATURATED + [0.0]))
reductions = st.sampled_from(["mean", "sum", "none"])


def check_against_torch(ours_fn, theirs_fn, logits, targets, upstream=0.7):
    """Same value; same gradient for the logits after backpropagating `upstream`."""
    x_theirs = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    x_ours = mg.Tensor(x_theirs.detach().clone(), requires_grad=True)
    expected = theirs_fn(x_theirs, targets)
    loss = ours_fn(x_ours, mg.Tensor(targets.clone()))
    assert loss.shape == () and torch.isfinite(loss._data)
    torch.testing.assert_close(loss._data, expected.detach(), rtol=RTOL, atol=ATOL)
    g = torch.tensor(upstream, dtype=torch.float64)
    loss.backward(g)
    (expected_grad,) = torch.autograd.grad(expected, x_theirs, grad_outputs=g)
    assert x_ours.grad.shape == x_theirs.shape and x_ours.grad.dtype == torch.float64
    assert torch.isfinite(x_ours.grad._data).all()
    torch.testing.assert_close(x_ours.grad._data, expected_grad, rtol=RTOL, atol=ATOL)


def as_torch(kwargs):
    """The same keyword arguments with minigrad Tensors (weights) turned into torch's."""
    return {k: v._data if isinstance(v, mg.Tensor) else v for k, v in kwargs.items()}


# ---- cross_entropy and nll_loss -----------------------------------------------------------------


@st.composite
def class_problems(draw):
    """Logits (N, C) or (N, C, d1[, d2]) or one example (C,), class targets (with some equal to
    ignore_index), and the options."""
    c = draw(st.integers(1, 5))
    form = draw(st.sampled_from(["rows", "rows", "spatial", "single"]))
    n = draw(st.integers(1, 5))
    extra = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)) if form == "spatial" else []
    shape = (c,) if form == "single" else (n, c, *extra)
    target_shape = () if form == "single" else (n, *extra)
    logits = np.array(draw(st.lists(logit, min_size=int(np.prod(shape)),
                                    max_size=int(np.prod(shape))))).reshape(shape)  # fmt: skip
    ignore_index = draw(st.sampled_from([-100, 0, 2]))
    classes = st.integers(0, c - 1) | st.just(ignore_index)
    size = int(np.prod(target_shape))
    targets = np.array(draw(st.lists(classes, min_size=size, max_size=size))).reshape(target_shape)
    weight = draw(st.none() | st.lists(st.floats(0.1, 3), min_size=c, max_size=c))
    options = dict(ignore_index=ignore_index, reduction=draw(reductions))
    if weight is not None:
        options["weight"] = mg.tensor(weight, dtype=torch.float64)
    return logits, targets.astype(np.int64), options


@pytest.mark.parametrize("order", [1, 2])  # first derivatives, and second (create_graph)
@given(class_problems(), st.sampled_from([0.0, 0.1, 0.5, 1.0]))
@example(  # every target ignored: NaN mean, no gradient, as torch
    (np.zeros((2, 3)), np.array([-100, -100]), dict(ignore_index=-100, reduction="mean")), 0.1
)
def test_cross_entropy_matches_torch(order, problem, label_smoothing):
    logits, targets, options = problem
    options["label_smoothing"] = label_smoothing
    assert_matches_torch(
        lambda x, t: F.cross_entropy(x, t, **options),
        lambda x, t: TF.cross_entropy(x, t, **as_torch(options)),
        logits,
        targets,
        order=order,
    )


@given(class_problems())
def test_nll_loss_matches_torch(problem):
    logits, targets, options = problem
    class_dim = 0 if logits.ndim == 1 else 1
    log_probs = torch.tensor(logits).clamp(-50, 50).log_softmax(class_dim).numpy()
    assert_matches_torch(
        lambda x, t: F.nll_loss(x, t, **options),
        lambda x, t: TF.nll_loss(x, t, **as_torch(options)),
        log_probs,
        targets,
    )


@pytest.mark.parametrize("order", [1, 2])  # first derivatives, and second (create_graph)
@given(
    n=st.integers(1, 4),
    c=st.integers(1, 5),
    seed=st.integers(0, 2**16),
    weighted=st.booleans(),
    reduction=reductions,
    label_smoothing=st.sampled_from([0.0, 0.2]),
)
def test_cross_entropy_with_class_probabilities_matches_torch(
    order, n, c, seed, weighted, reduction, label_smoothing
):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, 2, dtype=torch.float64, generator=gen) * 3
    probabilities = torch.rand(n, c, 2, dtype=torch.float64, generator=gen).softmax(1)
    options = dict(reduction=reduction, label_smoothing=label_smoothing)
    if weighted:
        options["weight"] = mg.Tensor(torch.rand(c, dtype=torch.float64, generator=gen) + 0.5)
    assert_matches_torch(  # the targets get a gradient too, as in torch
        lambda x, y: F.cross_entropy(x, y, **options),
        lambda x, y: TF.cross_entropy(x, y, **as_torch(options)),
        logits.numpy(),
        probabilities.numpy(),
        order=order,
    )


def test_cross_entropy_is_exact_for_logits_of_plus_minus_1000():
    logits = [[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0], [1000.0, 1000.0, -1000.0]]
    check_against_torch(F.cross_entropy, TF.cross_entropy, logits, torch.tensor([1, 2, 0]))


# ---- binary cross-entropy -----------------------------------------------------------------------


@st.composite
def binary_problems(draw, probabilities):
    n = draw(st.integers(1, 8))
    value = (
        st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0, 1e-20, 1 - 1e-16]))
        if probabilities
        else logit
    )
    inputs = draw(st.lists(value, min_size=n, max_size=n))
    soft = draw(st.booleans())
    target = st.floats(0, 1) if soft else st.sampled_from([0.0, 1.0])
    targets = draw(st.lists(target, min_size=n, max_size=n))
    shape = draw(st.sampled_from([(n,), (n, 1), (1, n)]))  # fastbook's (n, 1) shapes too
    options = dict(reduction=draw(reductions))
    if draw(st.booleans()):  # a weight per element, or one broadcast along the last dim
        weight_shape = draw(st.sampled_from([shape, shape[-1:]]))
        weights = draw(st.lists(st.floats(0, 2), min_size=int(np.prod(weight_shape)),
                                max_size=int(np.prod(weight_shape))))  # fmt: skip
        options["weight"] = mg.tensor(weights, dtype=torch.float64).reshape(weight_shape)
    return np.array(inputs).reshape(shape), np.array(targets).reshape(shape), options


@given(binary_problems(probabilities=True))
@example((np.array([0.0, 1.0, 0.5]), np.array([1.0, 0.0, 0.5]), dict(reduction="mean")))
def test_binary_cross_entropy_matches_torch_even_at_0_and_1(problem):
    """x = 0 or 1 (a saturated float32 sigmoid): torch's clamped log and gradient, finite."""
    x, y, options = problem
    assert_matches_torch(
        lambda x, y: F.binary_cross_entropy(x, y, **options),
        lambda x, y: TF.binary_cross_entropy(x, y, **as_torch(options)),
        x,
        y,
    )


@given(
    st.lists(st.floats(0.05, 0.95), min_size=1, max_size=6),
    st.lists(st.floats(0.01, 0.99), min_size=6, max_size=6),  # gradcheck nudges y too
    reductions,
)
def test_binary_cross_entropy_op_passes_gradcheck(x, y, reduction):
    y = y[: len(x)]
    gradcheck(lambda x, y: ops.BinaryCrossEntropy.apply(x, y, reduction=reduction), x, y)


@given(binary_problems(probabilities=False), st.booleans())
@example((np.array([0.0, 0.0]), np.array([0.0, 1.0]), dict(reduction="mean")), False)
@example((np.array([-1000.0, 1000.0]), np.array([0.0, 1.0]), dict(reduction="sum")), True)
@example((np.array([-1000.0, 1000.0]), np.array([1.0, 0.0]), dict(reduction="none")), True)
def test_binary_cross_entropy_with_logits_matches_torch(problem, pos_weighted):
    x, y, options = problem
    if pos_weighted:
        options["pos_weight"] = mg.tensor([3.0], dtype=torch.float64)
    assert_matches_torch(
        lambda x, y: F.binary_cross_entropy_with_logits(x, y, **options),
        lambda x, y: TF.binary_cross_entropy_with_logits(x, y, **as_torch(options)),
        x,
        y,
    )


@given(binary_problems(probabilities=False), st.booleans(), st.booleans())
def test_binary_cross_entropy_with_logits_is_torch_s_to_the_bit(problem, weighted, pos_weighted):
    """One op, as torch's: the loss and both gradients are torch's own numbers in float32, with
    and without weight and pos_weight (torch's formulas, in torch's order)."""
    x, y, options = problem
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    weights = {}
    if weighted:
        weights["weight"] = torch.linspace(0.2, 1.7, x.numel()).reshape(x.shape)
    if pos_weighted:
        weights["pos_weight"] = torch.tensor([3.1])
    xt, yt = x.clone().requires_grad_(), y.clone().requires_grad_()
    xm, ym = mg.Tensor(x.clone(), requires_grad=True), mg.Tensor(y.clone(), requires_grad=True)
    reduction = options["reduction"]
    theirs = TF.binary_cross_entropy_with_logits(xt, yt, reduction=reduction, **weights)
    ours = F.binary_cross_entropy_with_logits(xm, ym, reduction=reduction, **weights)
    upstream = torch.linspace(-1.3, 2.7, theirs.numel()).reshape(theirs.shape)
    theirs.backward(upstream)
    ours.backward(upstream)
    assert ours.grad_fn.node_name == type(theirs.grad_fn).__name__
    assert torch.equal(ours._data, theirs.detach())
    assert torch.equal(xm.grad._data, xt.grad) and torch.equal(ym.grad._data, yt.grad)


@pytest.mark.parametrize("argument", ["weight", "pos_weight"])
def test_a_loss_weight_that_requires_grad_is_refused_as_in_torch(argument):
    """torch's binary cross-entropies are not differentiable in their weights: torch raises, and
    so does minigrad, rather than leave the weight's .grad silently None."""
    x, y = mg.zeros(2, 3), mg.full((2, 3), 0.5)
    w = mg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=f"not differentiable with respect to its {argument}"):
        F.binary_cross_entropy_with_logits(x, y, **{argument: w})
    with pytest.raises(RuntimeError, match=f"pass {argument}=w.detach()"):
        F.binary_cross_entropy_with_logits(x, y, **{argument: w})
    if argument == "weight":
        with pytest.raises(RuntimeError, match="not differentiable with respect to its weight"):
            F.binary_cross_entropy(x.sigmoid(), y, weight=w)
    with pytest.raises(RuntimeError, match="not differentiable"):  # (torch's own refusal)
        TF.binary_cross_entropy_with_logits(
            x._data, y._data, **{argument: torch.ones(3, requires_grad=True)}
        )
    F.binary_cross_entropy_with_logits(x, y, **{argument: w.detach()})  # the way round it


@pytest.mark.parametrize(
    "loss",
    [
        lambda lib, x, t, w: lib.cross_entropy(x, t, weight=w),
        lambda lib, x, t, w: lib.cross_entropy(x, t, weight=w, label_smoothing=0.1),
        lambda lib, x, t, w: lib.nll_loss(x.log_softmax(1), t, weight=w),
    ],
    ids=["cross_entropy", "label_smoothing", "nll_loss"],
)
def test_a_class_weight_that_requires_grad_is_refused_with_class_targets_as_in_torch(loss):
    """With class-index targets torch's nll_loss is not differentiable in its weight and says
    so; minigrad left the weight's .grad None (with label smoothing, it got only the smoothing
    term's part: a wrong gradient, silently)."""
    x, t = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        loss(TF, x.requires_grad_(), t, torch.rand(3, requires_grad=True))
    w = mg.rand(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="not differentiable with respect to its weight"):
        loss(F, mg.Tensor(x.detach(), requires_grad=True), mg.Tensor(t), w)
    loss(F, mg.Tensor(x.detach(), requires_grad=True), mg.Tensor(t), w.detach()).backward()


def test_a_class_weight_gets_its_gradient_with_class_probabilities_as_in_torch():
    """Class probabilities as targets: the loss is a sum of products, and torch differentiates
    it with respect to the weight too; so does minigrad."""
    x, p, w = torch.randn(4, 3), torch.rand(4, 3), torch.rand(3)
    xt, wt = x.clone().requires_grad_(), w.clone().requires_grad_()
    xm, wm = mg.Tensor(x.clone(), requires_grad=True), mg.Tensor(w.clone(), requires_grad=True)
    TF.cross_entropy(xt, p, weight=wt, label_smoothing=0.1).backward()
    F.cross_entropy(xm, mg.Tensor(p), weight=wm, label_smoothing=0.1).backward()
    torch.testing.assert_close(wm.grad._data, wt.grad)
    torch.testing.assert_close(xm.grad._data, xt.grad)


def fastbook_mnist_loss(predictions, targets):
    predictions = predictions.sigmoid()
    return torch.where(targets == 1, 1 - predictions, predictions).mean()


@given(binary_problems(probabilities=False), st.floats(-2, 2))
def test_mnist_loss_is_fastbooks(problem, upstream):
    logits, targets, _ = problem
    targets = torch.tensor(targets).round()  # 0/1 labels, as in the chapter
    check_against_torch(F.mnist_loss, fastbook_mnist_loss, logits.tolist(), targets, upstream)


def test_softplus_matches_torch_everywhere():
    x = torch.tensor([-1000.0, -30.0, -1.0, 0.0, 1e-8, 2.0, 30.0, 1000.0], dtype=torch.float64)
    ours = mg.Tensor(x.clone(), requires_grad=True)
    out = F.softplus(ours)
    torch.testing.assert_close(out._data, TF.softplus(x), rtol=RTOL, atol=ATOL)
    out.sum().backward()
    torch.testing.assert_close(ours.grad._data, torch.sigmoid(x), rtol=RTOL, atol=ATOL)


# ---- regression losses ------------------------------------------------------------------------

pairs_of_arrays = st.integers(1, 4).flatmap(
    lambda rank: st.lists(st.integers(1, 4), min_size=rank, max_size=rank).flatmap(
        lambda shape: st.tuples(
            *[
                st.lists(st.floats(-10, 10), min_size=int(np.prod(shape)),
                         max_size=int(np.prod(shape))).map(lambda v, s=shape: np.reshape(v, s))
                for _ in range(2)
            ]
        )
    )
)  # fmt: skip


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@given(arrays=pairs_of_arrays, reduction=reductions)
@example(arrays=(np.array([1.0, 2.0]), np.array([1.0, 3.0])), reduction="mean")  # |x - y| at 0
def test_regression_losses_match_torch(name, arrays, reduction):
    """The target gets its gradient too (an autoencoder's target can be the model's output)."""
    assert_matches_torch(
        lambda x, y: getattr(F, name)(x, y, reduction=reduction),
        lambda x, y: getattr(TF, name)(x, y, reduction=reduction),
        *arrays,
    )


def test_mse_loss_warns_of_broadcasting_as_torch():
    with pytest.warns(UserWarning, match=r"target size \(4,\) .* input size \(4, 1\).*squeeze"):
        F.mse_loss(mg.zeros(4, 1), mg.zeros(4))


@st.composite
def broadcasting_pairs(draw, dtype=np.float64):
    """An input and a target whose shapes broadcast (equal, most of the time)."""
    shape_x, shape_y = draw(mst.broadcastable_shapes(2))
    if draw(st.booleans()):
        shape_y = shape_x
    return tuple(draw(mst.float_arrays(shape)).astype(dtype) for shape in (shape_x, shape_y))


@given(pair=broadcasting_pairs(np.float32), reduction=reductions)
def test_mse_loss_is_torch_s_to_the_bit(pair, reduction):
    """One op, as torch's: the loss and both gradients are torch's own numbers, in float32,
    target broadcast or not (torch's order of products in the backward: 2/n (x - y) G)."""
    x, y = (torch.tensor(a) for a in pair)
    xt, yt = x.clone().requires_grad_(), y.clone().requires_grad_()
    xm, ym = mg.Tensor(x.clone(), requires_grad=True), mg.Tensor(y.clone(), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the broadcast warning, tested above)
        theirs, ours = (
            TF.mse_loss(xt, yt, reduction=reduction),
            F.mse_loss(xm, ym, reduction=reduction),
        )
    upstream = torch.linspace(-1.3, 2.7, theirs.numel()).reshape(theirs.shape)
    theirs.backward(upstream)
    ours.backward(upstream)
    assert ours.grad_fn is not None and ours.grad_fn.node_name == "MseLossBackward0"
    assert torch.equal(ours._data, theirs.detach())
    assert torch.equal(xm.grad._data, xt.grad) and torch.equal(ym.grad._data, yt.grad)


@given(pair=broadcasting_pairs(), reduction=reductions)
def test_mse_loss_second_derivatives_match_torch(pair, reduction):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_matches_torch(
            lambda x, y: F.mse_loss(x, y, reduction=reduction),
            lambda x, y: TF.mse_loss(x, y, reduction=reduction),
            *pair,
            order=2,
        )


# ---- smooth_l1_loss, huber_loss, kl_div ----------------------------------------------------------

BETAS = st.sampled_from([1.0, 0.5, 2.0, 0.0]) | st.floats(0.01, 5, width=64)  # 0: l1_loss
DELTAS = st.sampled_from([1.0, 0.5, 2.0]) | st.floats(0.01, 5, width=64)


@st.composite
def piecewise_cases(draw, kink: st.SearchStrategy, weighted: bool = False):
    """(arrays, reduction, kink): a target t and input t + d, with every difference d at least
    1e-3 from the kinks -kink and kink (where the squared piece meets the absolute one; for
    beta = 0, l1's kink at 0), so no second derivative straddles one; a weight too, if asked."""
    at, shape = draw(kink), draw(mst.shapes())
    target = draw(mst.float_arrays(shape))
    difference = draw(float_arrays_off([-at, at], shape=shape))
    arrays = (target + difference, target)
    if weighted:
        arrays += (draw(mst.float_arrays(shape, -2, 2)),)
    return arrays, draw(reductions), at


def _smooth_l1(lib_functional, beta, reduction):
    return lambda x, y: lib_functional.smooth_l1_loss(x, y, reduction=reduction, beta=beta)


def _huber(lib_functional, delta, reduction):
    return lambda x, y, w=None: lib_functional.huber_loss(
        x, y, reduction=reduction, delta=delta, weight=w
    )


@pytest.mark.parametrize("order", [1, 2])
@given(case=piecewise_cases(BETAS))
@example(case=((np.array([1.0, -1.0, 0.5, 3.0, 0.0]), np.zeros(5)), "sum", 1.0))  # |d| = beta
@example(case=((np.array([2.5, 0.0, -3.5]), np.array([2.0, 0.0, -3.0])), "none", 0.5))
@example(case=((np.array([1.0, 2.0]), np.array([1.0, 3.0])), "mean", 0.0))  # l1's d = 0
def test_smooth_l1_loss_matches_torch(order, case):
    """At |d| = beta both pieces have the slope sign(d), and torch's second derivative is the
    absolute piece's, 0: minigrad's `where(|d| < beta, ...)` picks that piece there too."""
    arrays, reduction, beta = case
    assert_matches_torch(_smooth_l1(F, beta, reduction), _smooth_l1(TF, beta, reduction),
                         *arrays, order=order, name=f"smooth_l1_loss(beta={beta})")  # fmt: skip


@pytest.mark.parametrize("order", [1, 2])
@given(case=piecewise_cases(DELTAS, weighted=True), weighted=st.booleans())
@example(case=((np.array([1.0, -1.0, 0.5, 3.0]), np.zeros(4), np.ones(4)), "mean", 1.0),
         weighted=False)  # |d| = delta  # fmt: skip
@example(case=((np.array([2.5, 0.0, -4.0]), np.array([0.5, 0.0, -2.0]), np.array([1.0, -2, 0.5])),
               "sum", 2.0), weighted=True)  # fmt: skip
def test_huber_loss_matches_torch(order, case, weighted):
    arrays, reduction, delta = case
    arrays = arrays if weighted else arrays[:2]
    assert_matches_torch(_huber(F, delta, reduction), _huber(TF, delta, reduction), *arrays,
                         order=order, name=f"huber_loss(delta={delta})")  # fmt: skip


@st.composite
def small_piecewise_cases(draw):
    """As piecewise_cases, in small shapes for gradcheck: the target stays a constant."""
    at, shape = draw(DELTAS), draw(mst.small_shapes())
    target = draw(mst.float_arrays(shape))
    return target + draw(float_arrays_off([-at, at], shape=shape)), target, draw(reductions), at


@given(case=small_piecewise_cases())
def test_smooth_l1_and_huber_pass_gradcheck(case):
    x, y, reduction, kink = case
    y = mg.Tensor(torch.as_tensor(y))
    gradcheck(lambda t: F.smooth_l1_loss(t, y, reduction=reduction, beta=kink), x)
    gradcheck(lambda t: F.huber_loss(t, y, reduction=reduction, delta=kink), x)


KL_REDUCTIONS = st.sampled_from(["batchmean", "sum", "none", "mean"])


@st.composite
def kl_cases(draw, log_target: bool):
    """(input, target, reduction): log-probabilities of any value, and probabilities in
    [0.01, 1] (off 0, where the target's gradient is log 0), or log-probabilities."""
    shape = draw(mst.shapes())
    target = mst.float_arrays(shape, -5, 1) if log_target else mst.float_arrays(shape, 0.01, 1)
    return draw(mst.float_arrays(shape, -10, 2)), draw(target), draw(KL_REDUCTIONS)


def _kl(lib_functional, reduction, log_target):
    def kl_div(x, y):
        with warnings.catch_warnings():  # reduction="mean" warns, on both sides (tested below)
            warnings.simplefilter("ignore", UserWarning)
            return lib_functional.kl_div(x, y, reduction=reduction, log_target=log_target)

    return kl_div


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("log_target", [False, True])
@given(data=st.data())
def test_kl_div_matches_torch(order, log_target, data):
    """The target gets its gradient too: log t + 1 - input (log_target: e^t (t + 1 - input))."""
    x, y, reduction = data.draw(kl_cases(log_target))
    name = f"kl_div({reduction}, log_target={log_target})"
    both = _kl(F, reduction, log_target), _kl(TF, reduction, log_target)
    assert_matches_torch(*both, x, y, order=order, name=name)


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
def test_kl_div_at_target_0_is_0_with_torchs_nan_gradient_for_the_target(reduction):
    """0 log 0 counts 0 (torch's xlogy); the target's gradient there, log 0 + 1 - x, is NaN in
    both, the input's (-target) 0."""
    x, y = np.array([[-1.0, -0.5], [-2.0, 0.3]]), np.array([[0.0, 0.5], [1.0, 0.0]])
    assert_matches_torch(_kl(F, reduction, False), _kl(TF, reduction, False), x, y,
                         name=f"kl_div({reduction}) at target 0")  # fmt: skip
    assert_matches_torch(_kl(F, reduction, False), _kl(TF, reduction, False), np.array(-0.5),
                         np.array(0.25), name="kl_div of 0-d tensors")  # fmt: skip


def test_kl_div_warns_of_mean_as_torch_and_batchmean_is_the_divergence():
    log_p = mg.tensor([[0.2, 0.8], [0.5, 0.5]]).log()
    q = mg.tensor([[0.4, 0.6], [0.1, 0.9]])
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(log_p, q)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for the others, nor for the layer's default
        divergence = F.kl_div(log_p, q, reduction="batchmean")
        nn.KLDivLoss(reduction="batchmean")(log_p, q)
    by_hand = (q * (q.log() - log_p)).sum() / 2
    assert divergence.item() == pytest.approx(by_hand.item())


def test_smooth_l1_huber_kl_div_errors_say_what_is_wrong():
    x = mg.randn(4, 3)
    with pytest.raises(RuntimeError, match=r"negative values for beta, got beta=-1"):
        F.smooth_l1_loss(x, x, beta=-1)
    with pytest.raises(RuntimeError, match=r"non-positive values for delta, got delta=0"):
        F.huber_loss(x, x, delta=0)
    with pytest.raises(ValueError, match=r"Weights and input must have the same size: weight "
                       r"\(3,\), input \(4, 3\)"):  # fmt: skip
        F.huber_loss(x, x, weight=mg.ones(3))
    for loss in (F.smooth_l1_loss, F.huber_loss, F.kl_div):
        with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
            loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="batchmean is not a valid value for reduction"):
        F.huber_loss(x, x, reduction="batchmean")  # kl_div's alone
    with pytest.raises(TypeError, match=r"smooth_l1_loss takes floating-point .* got input "
                       r"torch.int64 of shape \(2,\)"):  # fmt: skip
        F.smooth_l1_loss(mg.tensor([1, 2]), mg.tensor([1, 3]))
    with pytest.raises(TypeError, match=r"kl_div takes floating-point .*integral inputs"):
        F.kl_div(mg.tensor([1, 2]), mg.tensor([1, 2]), reduction="sum")
    with pytest.warns(UserWarning, match=r"smooth_l1_loss: Using a target size \(4,\)"):
        F.smooth_l1_loss(mg.zeros(4, 1), mg.zeros(4))


# ---- the loss modules -------------------------------------------------------------------------


def loss_cases():
    logits = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    classes = torch.tensor([0, 3, 1, 2, -100, 1])
    probabilities = torch.rand(6, 4, dtype=torch.float64, generator=torch.Generator())
    weight = torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=torch.float64)
    return [
        ("MSELoss", dict(reduction="sum"), logits, probabilities),
        ("L1Loss", dict(), logits, probabilities),
        ("CrossEntropyLoss", dict(label_smoothing=0.1, weight=weight), logits, classes),
        ("CrossEntropyLoss", dict(reduction="none"), logits, probabilities),
        ("NLLLoss", dict(ignore_index=1), logits.log_softmax(1), classes.clamp_min(1)),
        ("BCELoss", dict(weight=weight), logits.sigmoid(), probabilities),
        ("BCEWithLogitsLoss", dict(pos_weight=weight, reduction="sum"), logits, probabilities),
        ("SmoothL1Loss", dict(beta=0.5), logits, probabilities),
        ("SmoothL1Loss", dict(reduction="none"), logits, probabilities),
        ("HuberLoss", dict(delta=2.0, reduction="sum"), logits * 3, probabilities),
        ("KLDivLoss", dict(reduction="batchmean"), logits.log_softmax(1), probabilities),
        ("KLDivLoss", dict(reduction="none", log_target=True), logits, logits.log_softmax(1)),
    ]


@pytest.mark.parametrize("name, options, x, y", loss_cases())
def test_loss_modules_are_torchs(name, options, x, y):
    ours = getattr(nn, name)(**{k: mg.Tensor(v) if isinstance(v, torch.Tensor) else v
                                for k, v in options.items()})  # fmt: skip
    theirs = getattr(torch.nn, name)(**options)
    assert repr(ours) == repr(theirs)
    assert ours.reduction == theirs.reduction
    expected = theirs(x, y)
    torch.testing.assert_close(ours(mg.Tensor(x), mg.Tensor(y))._data, expected, rtol=RTOL,
                               atol=ATOL)  # fmt: skip


def test_old_size_average_and_reduce_flags_become_a_reduction():
    with pytest.warns(UserWarning, match="reduction='sum' instead"):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning, match="reduction='none' instead"):
        assert nn.CrossEntropyLoss(reduce=False).reduction == "none"


def test_losses_work_on_the_device(device):
    logits = mg.randn(4, 3, device=device, requires_grad=True)
    targets = mg.tensor([0, 2, 1, 2], device=device)
    for loss in (
        F.cross_entropy(logits, targets, label_smoothing=0.1),
        F.binary_cross_entropy(logits.sigmoid(), mg.ones(4, 3, device=device)),
        F.mse_loss(logits, mg.zeros(4, 3, device=device)),
    ):
        loss.backward()
        assert loss.device.type == device and logits.grad.device.type == device


# ---- activations --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_softmax_functions_match_torch(name, shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    assert_matches_torch(
        lambda x: getattr(F, name)(x, dim), lambda x: getattr(TF, name)(x, dim), x.numpy() * 5
    )


def test_softmax_dtype_and_torchs_implicit_dim():
    x = mg.randn(2, 3)
    assert F.softmax(x, dim=1, dtype=torch.float64).dtype == torch.float64
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        implicit = F.softmax(x)  # dim 1 for a 2-d input, as torch
    assert torch.allclose(implicit._data, TF.softmax(x._data, dim=1))
    with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
        assert nn.LogSoftmax()(mg.randn(3)).shape == (3,)


def test_activation_modules_are_torchs():
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    pairs = [
        (nn.Tanh(), torch.nn.Tanh()),
        (nn.Sigmoid(), torch.nn.Sigmoid()),
        (nn.ReLU(inplace=True), torch.nn.ReLU(inplace=True)),
        (nn.Softmax(dim=-1), torch.nn.Softmax(dim=-1)),
        (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)),
        (nn.Identity(54, unused="argument"), torch.nn.Identity(54, unused="argument")),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        torch.testing.assert_close(ours(mg.Tensor(x.clone()))._data, theirs(x.clone()))
    assert torch.equal(F.tanh(mg.Tensor(x))._data, torch.tanh(x))
    assert torch.equal(F.relu(mg.Tensor(x), inplace=True)._data, torch.relu(x))


def test_one_hot_is_torchs():
    classes = torch.tensor([[0, 2], [1, 0]])
    assert torch.equal(F.one_hot(mg.Tensor(classes))._data, TF.one_hot(classes))
    assert torch.equal(F.one_hot(mg.Tensor(classes), 5)._data, TF.one_hot(classes, 5))
    with pytest.raises(TypeError, match=r"int64 .* got torch.float32. Convert with .long\(\)"):
        F.one_hot(mg.zeros(3))


# ---- errors that teach ------------------------------------------------------------------------


def test_loss_errors_teach():
    logits = mg.randn(4, 3)
    with pytest.raises(ValueError, match=r"targets.squeeze\(1\)"):
        F.cross_entropy(logits, mg.tensor([[0], [1], [2], [1]]))
    with pytest.raises(TypeError, match=r"class indices .* got torch.float32.*targets.long\(\)"):
        F.cross_entropy(logits, mg.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(TypeError, match=r"class indices \(int64, or uint8\).* got torch.int32"):
        F.nll_loss(logits, mg.tensor([0, 1, 2, 1], dtype=torch.int32))
    for library, module in ((mg, F), (torch, TF)):  # a RuntimeError too, as torch's
        with pytest.raises(RuntimeError):
            module.cross_entropy(
                library.randn(4, 3), library.tensor([0, 1, 2, 1], dtype=torch.int32)
            )
    with pytest.raises(
        ValueError, match=r"targets of shape \(4,\) for logits \(4, 3\), got \(3,\)"
    ):
        F.nll_loss(logits, mg.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"logits \(4,\) and targets \(4, 1\) must have the same"):
        F.binary_cross_entropy_with_logits(mg.randn(4), mg.zeros(4, 1))
    with pytest.raises(ValueError, match=r"input \(4,\) and targets \(4, 1\) must have the same"):
        F.binary_cross_entropy(mg.rand(4), mg.zeros(4, 1))
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        F.mse_loss(logits, logits, reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0"):
        F.cross_entropy(logits, mg.tensor([0, 1, 2, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="ignore_index is for class-index targets"):
        F.cross_entropy(logits, mg.rand(4, 3), ignore_index=1)


# ---- a tensor the loss keeps for backward, changed in place before it -------------------------


def _change_in_place(t):
    """Double the values, or move the class indices (kept in range) of an integer target."""
    return t.mul_(2) if t.dtype.is_floating_point else t.sub_(1).clamp_(min=0)


# (loss, the name of the tensor changed): each kept for backward by torch and by minigrad.
CHANGED_BEFORE_BACKWARD = [
    ("cross_entropy", lambda F, x, t, p, w: F.cross_entropy(x, t, weight=w), "w"),
    (
        "cross_entropy, label_smoothing",
        lambda F, x, t, p, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.2),
        "w",
    ),
    ("cross_entropy, probabilities", lambda F, x, t, p, w: F.cross_entropy(x, p, weight=w), "w"),
    ("cross_entropy", lambda F, x, t, p, w: F.cross_entropy(x, t), "t"),
    ("nll_loss", lambda F, x, t, p, w: F.nll_loss(x.log_softmax(1), t, weight=w), "w"),
    ("nll_loss, sum", lambda F, x, t, p, w: F.nll_loss(x, t, weight=w, reduction="sum"), "w"),
    ("nll_loss", lambda F, x, t, p, w: F.nll_loss(x.log_softmax(1), t), "t"),
    ("binary_cross_entropy", lambda F, x, t, p, w: F.binary_cross_entropy(x.sigmoid(), p, w), "w"),
    ("binary_cross_entropy", lambda F, x, t, p, w: F.binary_cross_entropy(x.sigmoid(), p), "p"),
    (
        "binary_cross_entropy_with_logits",
        lambda F, x, t, p, w: F.binary_cross_entropy_with_logits(x, p, weight=w),
        "w",
    ),
    ("CrossEntropyLoss", lambda F, x, t, p, w: _module(F, "CrossEntropyLoss", w)(x, t), "w"),
    ("NLLLoss", lambda F, x, t, p, w: _module(F, "NLLLoss", w)(x.log_softmax(1), t), "w"),
    ("BCELoss", lambda F, x, t, p, w: _module(F, "BCELoss", w)(x.sigmoid(), p), "w"),
]


def _module(F, name, weight):
    return getattr(nn if F is mg.nn.functional else torch.nn, name)(weight=weight)


@pytest.mark.parametrize(
    "loss, changed",
    [case[1:] for case in CHANGED_BEFORE_BACKWARD],
    ids=[f"{case[0]}, {case[2]} changed" for case in CHANGED_BEFORE_BACKWARD],
)
def test_a_tensor_the_loss_kept_changed_in_place_before_backward_is_refused_as_in_torch(
    loss, changed
):
    """The weight and the targets get no gradient, but backward reads them: changed in place
    after the loss was computed, they would give the gradient of a loss never computed. torch
    raises at backward (they are under its version counter); so does minigrad, instead of
    silently using the new values."""
    rng = np.random.default_rng(0)
    values = {
        "x": rng.standard_normal((4, 3)),
        "t": np.array([0, 2, 1, 2]),
        "p": rng.random((4, 3)),
        "w": rng.random(3) + 0.5,
    }
    for lib, functional in ((torch, TF), (mg, F)):
        x = lib.tensor(values["x"], dtype=lib.float64, requires_grad=True)
        t = lib.tensor(values["t"])
        p, w = (lib.tensor(values[k], dtype=lib.float64) for k in "pw")
        out = loss(functional, x, t, p, w)
        _change_in_place({"t": t, "p": p, "w": w}[changed])
        if lib is torch:
            with pytest.raises(RuntimeError, match="modified by an inplace operation"):
                out.backward()
        else:
            with pytest.raises(mg.GradientError, match=r"modified in place after it was saved"):
                out.backward()


# ---- explain() of the loss ops ------------------------------------------------------------------

weight4 = mg.tensor([1.0, 2.0, 0.5, 1.5], dtype=torch.float64)


@pytest.mark.parametrize(
    "loss_fn",
    [
        lambda x, t, p: F.cross_entropy(x, t),
        lambda x, t, p: F.cross_entropy(x, t, weight=weight4, ignore_index=1),
        lambda x, t, p: F.nll_loss(x.log_softmax(1), t, reduction="sum"),
        lambda x, t, p: F.nll_loss(x.log_softmax(1), t, weight=weight4, reduction="none").sum(),
        lambda x, t, p: F.binary_cross_entropy(x.sigmoid(), p),
        lambda x, t, p: F.binary_cross_entropy(x.sigmoid(), p, weight=weight4, reduction="sum"),
    ],
)
def test_explain_gives_backwards_gradients_for_the_loss_ops(loss_fn):
    from minigrad.explain import explain_graph

    mg.manual_seed(0)
    x = mg.randn(5, 4, dtype=torch.float64, requires_grad=True)
    p = mg.rand(5, 4, dtype=torch.float64, requires_grad=True)
    loss = loss_fn(x, mg.tensor([0, 3, 1, 1, 2]), p)
    explanation = explain_graph(loss)
    loss.backward()
    results = explanation.run()
    for name, leaf in explanation.leaves.items():
        assert torch.allclose(results[name], leaf.grad._data, rtol=1e-12, atol=0), name


# ---- second derivatives: create_graph=True through every loss, against torch -------------------
#
# assert_matches_torch(order=2) over the problems above: the first derivatives with
# create_graph=True, then the gradient of sum(dL/dx * v) with respect to the inputs and the
# upstream gradient (cross_entropy's own: order=2 of the tests above). Binary
# cross-entropy on probabilities keeps x off 0 and 1, where torch's second derivative adds its
# eps otherwise than its clamped first one.


@given(class_problems())
def test_nll_loss_second_derivatives_match_torch(problem):
    logits, targets, options = problem
    class_dim = 0 if logits.ndim == 1 else 1
    assert_matches_torch(  # log_softmax first: the loss is linear in its input
        lambda x, t: F.nll_loss(x.log_softmax(class_dim), t, **options),
        lambda x, t: TF.nll_loss(x.log_softmax(class_dim), t, **as_torch(options)),
        np.clip(logits, -50, 50),
        targets,
        order=2,
    )


@given(binary_problems(probabilities=True), st.data())
def test_binary_cross_entropy_second_derivatives_match_torch(problem, data):
    x, y, options = problem
    x = data.draw(mst.hnp.arrays(np.float64, x.shape, elements=st.floats(0.05, 0.95)), label="x")
    assert_matches_torch(
        lambda x, y: F.binary_cross_entropy(x, y, **options),
        lambda x, y: TF.binary_cross_entropy(x, y, **as_torch(options)),
        x,
        y,
        order=2,
    )


@given(binary_problems(probabilities=False), st.booleans())
@example((np.array([-1000.0, 1000.0]), np.array([0.0, 1.0]), dict(reduction="sum")), True)
def test_binary_cross_entropy_with_logits_second_derivatives_match_torch(problem, pos_weighted):
    x, y, options = problem
    if pos_weighted:
        options["pos_weight"] = mg.tensor([3.0], dtype=torch.float64)
    assert_matches_torch(
        lambda x, y: F.binary_cross_entropy_with_logits(x, y, **options),
        lambda x, y: TF.binary_cross_entropy_with_logits(x, y, **as_torch(options)),
        x,
        y,
        order=2,
    )


@given(binary_problems(probabilities=False))
def test_mnist_loss_second_derivatives_match_fastbooks(problem):
    logits, targets, _ = problem
    labels = np.round(targets)  # 0/1 labels, as in the chapter

    def fastbook(predictions, targets):
        return fastbook_mnist_loss(predictions, targets)

    assert_matches_torch(F.mnist_loss, fastbook, logits, labels.astype(np.int64), order=2)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@given(arrays=pairs_of_arrays, reduction=reductions)
def test_regression_losses_second_derivatives_match_torch(name, arrays, reduction):
    assert_matches_torch(
        lambda x, y: getattr(F, name)(x, y, reduction=reduction),
        lambda x, y: getattr(TF, name)(x, y, reduction=reduction),
        *arrays,
        order=2,
    )


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), data=st.data())
def test_softmax_functions_second_derivatives_match_torch(name, shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    x = data.draw(mst.float_arrays(shape), label="x")
    assert_matches_torch(
        lambda x: getattr(F, name)(x, dim), lambda x: getattr(TF, name)(x, dim), x, order=2
    )


# ---- nll_loss's kernel ---------------------------------------------------------------------------


@given(class_problems(), st.floats(-2, 2))
def test_nll_loss_kernel_gives_its_formulas_gradient(problem, upstream):
    """backward() of a batch of rows calls torch's nll_loss_backward; its formula (the one-hot
    of the targets times -G / sum(w)) is what create_graph records and explain shows. Over every
    option, the two agree (rtol 1e-7; in fact exactly, for these)."""
    logits, targets, options = problem
    log_probs = torch.tensor(logits).clamp(-50, 50).log_softmax(-1 if logits.ndim == 1 else 1)
    gradient = torch.full(
        targets.shape if options["reduction"] == "none" else (), upstream, dtype=torch.float64
    )

    def nll_gradient() -> torch.Tensor:
        x = mg.tensor(log_probs, requires_grad=True)
        F.nll_loss(x, mg.tensor(targets), **options).backward(mg.Tensor(gradient))
        return x.grad._data

    with CountCalls() as calls:
        by_kernel = nll_gradient()
    assert ("nll_loss_backward" in calls.names) == (log_probs.ndim <= 2)
    with formulas_only(), CountCalls() as calls:
        by_formula = nll_gradient()
    assert "nll_loss_backward" not in calls.names
    torch.testing.assert_close(by_kernel, by_formula, rtol=1e-7, atol=1e-9, equal_nan=True)


def test_nll_loss_backward_does_no_work_for_options_not_in_use():
    """Decided in Python from what the node knows: without a weight nothing is weighted, and an
    ignore_index outside the classes (-100, the default) needs no mask (the one-hot of such a
    target is all zeros); a class that is ignored needs one."""
    log_probs = mg.randn(6, 4, dtype=torch.float64).log_softmax(1)

    def formula_calls(targets: list[int], **options) -> list[str]:
        x = log_probs.detach().requires_grad_()
        loss = F.nll_loss(x, mg.tensor(targets), **options)
        with formulas_only(), CountCalls() as calls:
            loss.backward()
        return calls.names

    plain = formula_calls([0, 3, 1, 2, -100, 1])  # one target ignored, by the default -100
    one_hot_times_minus_g_over_n = ["arange", "view", "unsqueeze", "__eq__", "sum", "div", "neg",
                                    "where"]  # fmt: skip
    assert plain == ["ones_like", *one_hot_times_minus_g_over_n]
    ignored_class = formula_calls([0, 3, 1, 2, 3, 1], ignore_index=3)
    assert len(ignored_class) == len(plain) + 3  # its mask: ne, unsqueeze, __and__
    weighted = formula_calls([0, 3, 1, 2, -100, 1], weight=mg.rand(4, dtype=torch.float64))
    assert len(weighted) == len(plain) + 3  # the weight along the classes, where, mul
