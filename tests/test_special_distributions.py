"""lgamma, digamma, polygamma and erfinv against torch: values, gradients and second derivatives
in float64 over inputs Hypothesis draws inside each domain (off the poles at 0, -1, -2, ... by
construction); and the distributions built on them (Gamma, Beta, Dirichlet, Poisson): log_prob,
entropy, mean, mode, variance and kl_divergence, values and gradients with respect to every
parameter and the value, and seeded samples equal to torch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as TD
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.distributions as MD
from minigrad.testing import assert_close, assert_matches_torch
from minigrad.testing import strategies as mst

TOL = dict(rtol=1e-9, atol=1e-12)
LIBS = {MD: mg, TD: torch}


@st.composite
def off_the_poles(draw):
    """Points k + f with k a whole number in [-4, 6] and f in [0.05, 0.95]: never within 0.05
    of a pole of lgamma (0, -1, -2, ...), on either side of the origin."""
    shape = draw(mst.small_shapes())
    whole = draw(mst.float_arrays(shape, -4, 6)).round()
    return whole + draw(mst.float_arrays(shape, 0.05, 0.95))


@given(off_the_poles(), st.integers(0, 3))
def test_lgamma_digamma_polygamma_and_their_second_derivatives_match_torch(x, n):
    assert_matches_torch(lambda t: t.lgamma(), torch.lgamma, x, order=2)
    assert_matches_torch(mg.digamma, torch.digamma, x, order=2)
    assert_matches_torch(lambda t: mg.polygamma(n, t), lambda t: torch.polygamma(n, t), x, order=2)
    assert_matches_torch(lambda t: t.polygamma(n), lambda t: t.polygamma(n), x, order=2)


@given(mst.float_arrays(mst.small_shapes(), -0.999, 0.999))
def test_erfinv_and_its_second_derivative_match_torch(y):
    assert_matches_torch(lambda t: t.erfinv(), torch.erfinv, y, order=2)
    assert_matches_torch(mg.erfinv, torch.erfinv, y, order=2)


def test_the_function_forms_take_torchs_arguments():
    x = mg.tensor([0.5, 2.5], dtype=torch.float64)
    assert_close(mg.lgamma(x)._data, torch.lgamma(x._data), what="lgamma", rtol=0, atol=0)
    assert_close(
        mg.polygamma(2, x)._data, torch.polygamma(2, x._data), what="polygamma", rtol=0, atol=0
    )
    assert_close(
        mg.erfinv(mg.tensor([1.0, -1.0]))._data, torch.tensor([np.inf, -np.inf]), what="erfinv"
    )


# ---- the distributions --------------------------------------------------------------------


def matches(fn, *arrays):
    """fn(MD, *inputs) equals fn(TD, *inputs), and so do the gradients of a random weighting
    of its outputs with respect to every float input."""
    ours, theirs = [], []
    for array in arrays:
        data = torch.as_tensor(np.asarray(array))
        ours.append(mg.tensor(data.clone(), requires_grad=True))
        theirs.append(data.clone().requires_grad_(True))
    got, want = fn(MD, *ours), fn(TD, *theirs)
    assert_close(got._data, want, what="forward", **TOL)
    upstream = torch.randn(want.shape, dtype=want.dtype, generator=torch.Generator().manual_seed(0))
    got.backward(upstream)
    grads = torch.autograd.grad(want, theirs, upstream, allow_unused=True)
    for i, expected in enumerate(grads):
        assert (ours[i].grad is None) == (expected is None), f"argument {i}'s gradient"
        if expected is not None:
            assert_close(ours[i].grad._data, expected, what=f"gradient of argument {i}", **TOL)


def flat(lib, p, value, q=None):
    """Everything p computes: log_prob(value), entropy, mean, mode, variance, KL(p || q)."""
    outputs = [p.log_prob(value), p.entropy(), p.mean, p.mode, p.variance]
    if q is not None:
        outputs.append(
            LIBS[lib].distributions.kl_divergence(p, q) if lib is MD else TD.kl_divergence(p, q)
        )
    return LIBS[lib].cat([out.reshape(-1) for out in outputs])


def shapes_and(draw, low, high, shape=None):
    shape = draw(mst.small_shapes(1, 2)) if shape is None else shape
    return shape, draw(mst.float_arrays(shape, low, high))


def off_one(draw, shape):
    """Concentrations in [0.1, 1.95] kept 0.05 or more from 1, where the mode has its kink."""
    size = draw(mst.float_arrays(shape, 0.05, 0.9))
    return 1 + size * np.where(draw(mst.float_arrays(shape, -1, 1)) >= 0, 1.0, -1.0)


@given(st.data())
def test_gamma_matches_torch(data):
    shape, rate = shapes_and(data.draw, 0.2, 5)
    a, a_q = off_one(data.draw, shape), data.draw(mst.float_arrays(shape, 0.2, 5))
    rate_q, value = (
        data.draw(mst.float_arrays(shape, 0.2, 5)),
        data.draw(mst.float_arrays(shape, 0.1, 8)),
    )
    matches(
        lambda lib, a, r, aq, rq, v: flat(lib, lib.Gamma(a, r), v, lib.Gamma(aq, rq)),
        a,
        rate,
        a_q,
        rate_q,
        value,
    )


@given(st.data())
def test_beta_matches_torch(data):
    shape, b = shapes_and(data.draw, 0.2, 5)
    # concentration1 above 1 keeps the mode off the all-below-one corner rule (tested below)
    a = 1 + data.draw(mst.float_arrays(shape, 0.05, 4))
    a_q, b_q = (
        data.draw(mst.float_arrays(shape, 0.2, 5)),
        data.draw(mst.float_arrays(shape, 0.2, 5)),
    )
    value = data.draw(mst.float_arrays(shape, 0.01, 0.99))
    matches(
        lambda lib, a, b, aq, bq, v: flat(lib, lib.Beta(a, b), v, lib.Beta(aq, bq)),
        a,
        b,
        a_q,
        b_q,
        value,
    )


@given(st.data())
def test_dirichlet_matches_torch(data):
    shape = data.draw(mst.small_shapes(1, 2))
    concentration = data.draw(mst.float_arrays(shape, 0.2, 5))
    concentration[..., 0] += 1  # one entry above 1: the mode is off the corner rule
    other = data.draw(mst.float_arrays(shape, 0.2, 5))
    weights = data.draw(mst.float_arrays(shape, 0.05, 1))
    value = weights / weights.sum(-1, keepdims=True)
    matches(
        lambda lib, a, aq, v: flat(lib, lib.Dirichlet(a), v, lib.Dirichlet(aq)),
        concentration,
        other,
        value,
    )


def test_dirichlet_and_beta_modes_below_one_are_torchs_corners():
    a = torch.tensor([[0.5, 0.7, 0.2], [2.0, 0.5, 3.0]], dtype=torch.float64)
    assert_close(
        MD.Dirichlet(mg.tensor(a)).mode._data, TD.Dirichlet(a).mode, what="mode", rtol=0, atol=0
    )
    b = torch.tensor([0.5, 0.3, 2.0], dtype=torch.float64)
    got = MD.Beta(mg.tensor(b), mg.tensor(b.flip(0))).mode._data
    assert_close(got, TD.Beta(b, b.flip(0)).mode, what="mode", rtol=0, atol=0)


@given(st.data())
def test_poisson_matches_torch(data):
    shape, rate = shapes_and(data.draw, 0.1, 20)
    rate_q = data.draw(mst.float_arrays(shape, 0.1, 20))
    counts = data.draw(mst.float_arrays(shape, 0, 30)).round()

    def scores(lib, r, rq, k):
        p = lib.Poisson(r)
        kl = (
            MD.kl_divergence(p, lib.Poisson(rq))
            if lib is MD
            else TD.kl_divergence(p, lib.Poisson(rq))
        )
        return LIBS[lib].cat([p.log_prob(k), p.mean, p.variance, kl])

    matches(scores, rate, rate_q, counts)
    assert_close(
        MD.Poisson(mg.tensor(rate)).mode._data, TD.Poisson(torch.tensor(rate)).mode, what="mode"
    )


@given(st.integers(0, 2**31), st.data())
def test_seeded_samples_are_torchs(seed, data):
    shape = data.draw(mst.small_shapes(1, 2))
    a, b = data.draw(mst.float_arrays(shape, 0.1, 5)), data.draw(mst.float_arrays(shape, 0.1, 5))
    ta, tb = torch.tensor(a), torch.tensor(b)
    pairs = [
        (MD.Gamma(mg.tensor(a), mg.tensor(b)), TD.Gamma(ta, tb)),
        (MD.Beta(mg.tensor(a), mg.tensor(b)), TD.Beta(ta, tb)),
        (MD.Dirichlet(mg.tensor(a)), TD.Dirichlet(ta)),
        (MD.Poisson(mg.tensor(a)), TD.Poisson(ta)),
        (MD.Geometric(mg.tensor(a / 5)), TD.Geometric(ta / 5)),
        (MD.LogNormal(mg.tensor(a), mg.tensor(b)), TD.LogNormal(ta, tb)),
        (MD.StudentT(mg.tensor(a), mg.tensor(b), mg.tensor(a)), TD.StudentT(ta, tb, ta)),
        (MD.Binomial(mg.tensor(a).round(), mg.tensor(b / 5)), TD.Binomial(ta.round(), tb / 5)),
    ]
    for ours, theirs in pairs:
        torch.manual_seed(seed)
        got = ours.sample((2,))
        torch.manual_seed(seed)
        want = theirs.sample((2,))
        assert_close(got._data, want, rtol=0, atol=0, what=type(ours).__name__)


@given(st.data(), st.booleans())
def test_geometric_matches_torch_from_probs_or_logits(data, from_logits):
    shape = data.draw(mst.small_shapes(1, 2))
    if from_logits:
        param = data.draw(mst.float_arrays(shape, -4, 4))
    else:
        param = data.draw(mst.float_arrays(shape, 0.05, 1))  # p = 1 included: a sure success
    counts = data.draw(mst.float_arrays(shape, 0, 20)).round()

    def scores(lib, param, k):
        p = lib.Geometric(logits=param) if from_logits else lib.Geometric(probs=param)
        return LIBS[lib].cat([p.log_prob(k), p.mean, p.variance, p.mode] + entropy(p))

    def entropy(p):  # at p = 1 both entropies are NaN (log 0 * 0 in the coin's): compared apart
        return [] if (p.probs == 1).any() else [p.entropy()]

    matches(scores, param, counts)


@given(st.data(), st.booleans())
def test_binomial_matches_torch_from_probs_or_logits(data, from_logits):
    shape = data.draw(mst.small_shapes(1, 2))
    n = float(data.draw(st.integers(0, 12)))  # one n for the batch: entropy needs it
    if from_logits:
        param = data.draw(mst.float_arrays(shape, -4, 4))
    else:
        param = data.draw(mst.float_arrays(shape, 0.02, 0.98))
    counts = np.minimum(data.draw(mst.float_arrays(shape, 0, 12)).round(), n)

    def scores(lib, total, param, k):  # total_count a tensor too: its gradient is compared
        kind = "logits" if from_logits else "probs"
        p = lib.Binomial(total, **{kind: param})
        return LIBS[lib].cat([p.log_prob(k), p.entropy(), p.mean, p.variance, p.mode])

    matches(scores, np.full(shape, n), param, counts)


@given(st.data())
def test_student_t_matches_torch(data):
    # df on both sides of 1 and 2, where the mean turns NaN and the variance inf then NaN
    shape, df = shapes_and(data.draw, 0.3, 8)
    loc, scale = (
        data.draw(mst.float_arrays(shape, -3, 3)),
        data.draw(mst.float_arrays(shape, 0.2, 3)),
    )
    value = data.draw(mst.float_arrays(shape, -10, 10))
    matches(lambda lib, d, m, s, v: flat(lib, lib.StudentT(d, m, s), v), df, loc, scale, value)


def test_student_t_moments_at_df_one_and_two_are_torchs():
    """The edges of the mean's and variance's cases: d = 1 (NaN mean, NaN variance), d = 2
    (inf variance), on either side of each."""
    matches(lambda lib, d: flat(lib, lib.StudentT(d), 0.5 * d), [0.5, 1.0, 1.5, 2.0, 3.0])


def test_geometric_sure_success_scores_zero_failures_as_torch():
    """p = 1 and k = 0: log_prob 0 (not 0 * log 0 = NaN), and torch's gradient there."""
    matches(lambda lib, p, k: lib.Geometric(probs=p).log_prob(k), [1.0, 0.5], [0.0, 2.0])


@given(st.data())
def test_log_normal_matches_torch_and_its_rsample_is_torchs(data):
    shape, loc = shapes_and(data.draw, -2, 2)
    scale, value = (
        data.draw(mst.float_arrays(shape, 0.1, 2)),
        data.draw(mst.float_arrays(shape, 0.05, 8)),
    )
    matches(lambda lib, m, s, v: flat(lib, lib.LogNormal(m, s), v), loc, scale, value)

    def draw(lib, m, s):
        torch.manual_seed(0)
        return lib.LogNormal(m, s).rsample((2,))

    matches(draw, loc, scale)


def test_no_rsample_where_torchs_gradient_is_not_reproduced():
    for p in (
        MD.Gamma(1.0, 2.0),
        MD.Beta(1.0, 2.0),
        MD.Dirichlet(mg.tensor([1.0, 2.0])),
        MD.StudentT(3.0),
    ):
        assert not p.has_rsample
        with pytest.raises(NotImplementedError, match="rsample"):
            p.rsample()


def test_argument_checks_name_the_parameter():
    with pytest.raises(ValueError, match="concentration"):
        MD.Gamma(mg.tensor([-1.0]), mg.tensor([1.0]))
    with pytest.raises(ValueError, match="rate"):
        MD.Poisson(mg.tensor([-1.0]))
    with pytest.raises(ValueError, match="one-dimensional"):
        MD.Dirichlet(mg.tensor(1.0))
    with pytest.raises(ValueError, match="`probs` or `logits`"):
        MD.Binomial(3)
    with pytest.raises(ValueError, match="support"):
        MD.Binomial(3, probs=0.5).log_prob(mg.tensor(4.0))
    with pytest.raises(NotImplementedError, match="Inhomogeneous"):
        MD.Binomial(mg.tensor([2.0, 3.0]), probs=0.5).entropy()
