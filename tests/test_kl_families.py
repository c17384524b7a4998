"""kl_divergence(p, q) between distributions of different families (and Binomial, Geometric and
TransformedDistribution pairs) against torch.distributions, in float64 at rtol 1e-7: the values,
inf in the same places (where q gives no density to part of p's support), and the gradients with
respect to every float parameter of p and q wherever the KL is finite. Parameters are drawn by
Hypothesis with batch shapes that broadcast between (and within) p and q, inside ranges where
every formula is well conditioned; where a support bound decides, they are drawn on it, inside
it and past it."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
import torch.distributions as TD
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
import minigrad.distributions as MD
from minigrad.testing import assert_close
from minigrad.testing import strategies as mst

TOL = dict(rtol=1e-7, atol=1e-9)
# examples per pair: 31 pairs run in the suite, so a few each there; the thorough profile
# (HYPOTHESIS_PROFILE=thorough) is the long search.
EXAMPLES = {"ci": 15, "dev": 10, "thorough": 200}.get(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"), 10
)


# ---- the check: values, inf in the same places, gradients where finite -------------------------


def kl_matches(build, *arrays):
    """build(D, *tensors) -> (p, q) with D minigrad's or torch's distributions package. The KLs
    agree, inf where torch's is, over the batch shapes broadcast. Then a random upstream gradient,
    0 where the KL is inf, goes back through both, and each parameter's gradient agrees with
    torch's wherever torch's is finite (torch's is 0 * nan = nan where a masked-out entry went
    through the log of a negative number, or at an end on x log x's 0 / 0 slope)."""
    ours = [mg.tensor(torch.as_tensor(a).clone(), requires_grad=True) for a in arrays]
    theirs = [torch.as_tensor(a).clone().requires_grad_() for a in arrays]
    p, q = build(MD, *ours)
    got = MD.kl_divergence(p, q)
    p_torch, q_torch = build(TD, *theirs)
    batch = torch.broadcast_shapes(p_torch.batch_shape, q_torch.batch_shape)
    assert got.shape == batch, f"KL shape {tuple(got.shape)}, batch shapes broadcast {batch}"
    # torch's are expanded to the common batch shape first: torch masks its infinite entries
    # with a boolean index of one side's shape, which fails (IndexError) when the other side's
    # batch is larger, and fills an everywhere-infinite KL in the shape of p's parameter alone
    want = TD.kl_divergence(p_torch.expand(batch), q_torch.expand(batch))
    assert_close(got._data, want.detach(), what="KL", **TOL)
    assert not torch.isnan(want).any(), "a draw torch itself gets NaN for: out of range"
    if not want.requires_grad:  # inf whatever the parameters: no graph, in both
        assert not got.requires_grad
        return
    finite = torch.isfinite(want)
    generator = torch.Generator().manual_seed(0)
    upstream = torch.randn(batch, dtype=torch.float64, generator=generator) * finite
    got.backward(upstream)
    expected = torch.autograd.grad(want, theirs, upstream, allow_unused=True)
    for i, (mine, grad) in enumerate(zip(ours, expected)):
        if grad is None:
            assert mine.grad is None, f"parameter {i}: minigrad gives a gradient, torch none"
            continue
        assert mine.grad is not None, f"parameter {i}: torch gives a gradient, minigrad none"
        mine = mine.grad._data
        assert mine.shape == grad.shape, f"parameter {i}: gradient shape {tuple(mine.shape)}"
        known = torch.isfinite(grad)
        assert_close(mine[known], grad[known], what=f"gradient of parameter {i}", **TOL)


# ---- parameters ---------------------------------------------------------------------------------


def floats(shape, low, high):
    return mst.float_arrays(shape, low, high)


def mixed(shape, *parts):
    """Arrays whose entries each come from one of `parts` (strategies for one number)."""
    return hnp.arrays(np.float64, shape, elements=st.one_of(*parts))


def interval(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)


GENERIC = {  # family: a range for each parameter, where its formulas are well conditioned
    "Normal": [(-3.0, 3.0), (0.2, 3.0)],
    "Laplace": [(-3.0, 3.0), (0.2, 3.0)],
    "Exponential": [(0.2, 3.0)],
    "Gamma": [(0.2, 5.0), (0.2, 3.0)],
    "Beta": [(0.2, 5.0), (0.2, 5.0)],
    "Poisson": [(0.1, 5.0)],
}
COINS = {"probs": (0.05, 0.95), "logits": (-4.0, 4.0)}  # Bernoulli, Geometric, Binomial


# How a Uniform's ends sit against the other side's support, drawn per example: strictly inside
# (every gradient is compared), some exactly on the bounds (where torch's x log x has a 0 / 0
# slope, so only values and the other parameters' gradients are), or some past them (inf there).
PLACEMENTS = ["inside", "on the bounds", "past the bounds"]


def ends(shape, inside, bound, past, placement):
    """Arrays of one end of a Uniform: entries inside, and on or past the bound as placed."""
    parts = [interval(*inside)]
    parts += [st.just(bound)] if placement != "inside" else []
    parts += [interval(*past)] if placement == "past the bounds" else []
    return mixed(shape, *parts)


@st.composite
def uniform_bounds(draw, shapes, support):
    """low and high for a Uniform p. support is None (anywhere: low in [-3, 3], width in
    [0.1, 3]), "positive" (an Exponential's or a Gamma's [0, inf)) or "unit" (a Beta's [0, 1])."""
    if support is None:
        low = draw(floats(shapes[0], -3.0, 3.0))
        return [low, low + draw(floats(shapes[1], 0.1, 3.0))]
    placement = draw(st.sampled_from(PLACEMENTS))
    if support == "positive":
        low = draw(ends(shapes[0], (0.02, 3.0), 0.0, (-2.0, -0.02), placement))
        return [low, low + draw(floats(shapes[1], 0.1, 3.0))]
    low = draw(ends(shapes[0], (0.02, 0.45), 0.0, (-1.0, -0.02), placement))
    high = draw(ends(shapes[1], (0.55, 0.98), 1.0, (1.02, 2.0), placement))
    return [low, high]


@st.composite
def covering_bounds(draw, shapes):
    """low and high for a Uniform q against a Beta p: [low, high] covering [0, 1] with room, on
    its ends, or (placed "past the bounds") some ends inside (0, 1), where the KL is inf."""
    placement = draw(st.sampled_from(PLACEMENTS))
    low = draw(ends(shapes[0], (-2.0, -0.01), 0.0, (0.01, 0.4), placement))
    high = draw(ends(shapes[1], (1.01, 3.0), 1.0, (0.6, 0.99), placement))
    return [low, high]


def arity(family):
    return 2 if family in ("Uniform", "Binomial") else len(GENERIC.get(family, [None]))


@st.composite
def side(draw, family, shapes, bounds=None):
    """One distribution's parameters (float64 arrays of the given shapes) and how to make it from
    them: make(D, *tensors)."""
    if family in ("Bernoulli", "Geometric"):
        by = draw(st.sampled_from(sorted(COINS)))
        return [draw(floats(shapes[0], *COINS[by]))], lambda D, x: getattr(D, family)(**{by: x})
    if family == "Binomial":
        by = draw(st.sampled_from(sorted(COINS)))
        counts = draw(floats(shapes[0], 0, 6)).round()
        arrays = [counts, draw(floats(shapes[1], *COINS[by]))]
        return arrays, lambda D, n, x: D.Binomial(n, **{by: x})
    if family == "Uniform":
        if bounds == "covering":
            return draw(covering_bounds(shapes)), MD_or_TD("Uniform")
        return draw(uniform_bounds(shapes, bounds)), MD_or_TD("Uniform")
    arrays = [draw(floats(shape, *limits)) for shape, limits in zip(shapes, GENERIC[family])]
    return arrays, MD_or_TD(family)


def MD_or_TD(family):
    return lambda D, *tensors: getattr(D, family)(*tensors)


SUPPORT = {"Beta": "unit", "Exponential": "positive", "Gamma": "positive"}

PAIRS = [  # (p's family, q's family) for the 31 cross-family, Binomial and Geometric pairs
    ("Bernoulli", "Poisson"),
    ("Beta", "Exponential"),
    ("Beta", "Gamma"),
    ("Beta", "Normal"),
    ("Beta", "Uniform"),
    ("Binomial", "Binomial"),
    ("Exponential", "Beta"),
    ("Exponential", "Gamma"),
    ("Exponential", "Normal"),
    ("Exponential", "Uniform"),
    ("Gamma", "Beta"),
    ("Gamma", "Exponential"),
    ("Gamma", "Normal"),
    ("Gamma", "Uniform"),
    ("Geometric", "Geometric"),
    ("Laplace", "Beta"),
    ("Laplace", "Exponential"),
    ("Laplace", "Gamma"),
    ("Laplace", "Normal"),
    ("Laplace", "Uniform"),
    ("Normal", "Beta"),
    ("Normal", "Exponential"),
    ("Normal", "Gamma"),
    ("Normal", "Laplace"),
    ("Normal", "Uniform"),
    ("Poisson", "Bernoulli"),
    ("Poisson", "Binomial"),
    ("Uniform", "Beta"),
    ("Uniform", "Exponential"),
    ("Uniform", "Gamma"),
    ("Uniform", "Normal"),
]


@st.composite
def pair_cases(draw, p_family, q_family):
    """p's and q's parameters, each with its own shape, all broadcasting together."""
    k, m = arity(p_family), arity(q_family)
    shapes = draw(mst.broadcastable_shapes(k + m, max_rank=3, max_side=3))
    bounds = SUPPORT.get(q_family) if p_family == "Uniform" else None
    p_arrays, make_p = draw(side(p_family, shapes[:k], bounds))
    q_bounds = "covering" if (p_family, q_family) == ("Beta", "Uniform") else None
    q_arrays, make_q = draw(side(q_family, shapes[k:], q_bounds))
    if (p_family, q_family) == ("Binomial", "Binomial"):
        # p's total_count at least q's (else refused): equal, or (in about half the draws) more
        more = draw(floats(shapes[0], 0, 2).map(np.round)) * draw(st.booleans())
        p_arrays[0] = q_arrays[0] + more
    return p_arrays, q_arrays, make_p, make_q


@pytest.mark.parametrize("p_family, q_family", PAIRS, ids=[f"{p}-{q}" for p, q in PAIRS])
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_kl_across_families_matches_torch(p_family, q_family, data):
    p_arrays, q_arrays, make_p, make_q = data.draw(pair_cases(p_family, q_family))
    k = len(p_arrays)

    def build(D, *t):
        return make_p(D, *t[:k]), make_q(D, *t[k:])

    kl_matches(build, *p_arrays, *q_arrays)


# ---- TransformedDistribution: the same transforms on both sides --------------------------------


TRANSFORMS = {  # name: transforms for D (minigrad's or torch's distributions), event dims added
    "exp": (lambda D: [D.ExpTransform()], 0),
    "affine": (lambda D: [D.AffineTransform(0.5, -2.0)], 0),
    "sigmoid, affine": (lambda D: [D.SigmoidTransform(), D.AffineTransform(1.0, 3.0)], 0),
    "tanh.inv, exp": (lambda D: [D.TanhTransform().inv, D.ExpTransform()], 0),
    "compose": (lambda D: [D.ComposeTransform([D.ExpTransform(), D.AffineTransform(0, 2)])], 0),
    "affine on vectors": (lambda D: [D.AffineTransform(0.0, 2.0, event_dim=1)], 1),
    "affine on matrices": (lambda D: [D.ExpTransform(), D.AffineTransform(1, 1, event_dim=2)], 2),
}
BASES = [("Normal", "Normal"), ("Normal", "Laplace"), ("Gamma", "Exponential"), ("Beta", "Gamma")]


@given(st.sampled_from(sorted(TRANSFORMS)), st.sampled_from(BASES), st.data())
@settings(max_examples=3 * EXAMPLES)
def test_kl_of_transformed_distributions_is_the_bases_as_torchs(name, bases, data):
    """The bases' KL, summed over the event dims the transforms add (torch makes the base an
    Independent over them)."""
    transforms, added = TRANSFORMS[name]
    p_family, q_family = bases
    k, m = arity(p_family), arity(q_family)
    # batch dims that broadcast, then the event dims, whole in every parameter of p and q
    tail = data.draw(mst.shapes(added, added, max_side=3))
    shapes = [(*s, *tail) for s in data.draw(mst.broadcastable_shapes(k + m, max_rank=2))]
    p_arrays, make_p = data.draw(side(p_family, shapes[:k]))
    q_arrays, make_q = data.draw(side(q_family, shapes[k:]))

    def build(D, *t):
        p, q = make_p(D, *t[:k]), make_q(D, *t[k:])
        return D.TransformedDistribution(p, transforms(D)), D.TransformedDistribution(
            q, transforms(D)
        )

    kl_matches(build, *p_arrays, *q_arrays)


# ---- refusals, as torch's -----------------------------------------------------------------------


def test_binomials_with_a_larger_total_count_in_q_are_refused_as_torchs():
    for D, t in ((TD, torch.tensor), (MD, mg.tensor)):
        p = D.Binomial(t([5.0, 3.0]), probs=t([0.3, 0.4]))
        q = D.Binomial(t([5.0, 4.0]), probs=t([0.5, 0.5]))
        words = "p.total_count >= q.total_count" if D is MD else None
        with pytest.raises(NotImplementedError, match=words):
            D.kl_divergence(p, q)


REFUSED = {  # name: (p, q) for D, t; the words minigrad's message holds
    "other transforms": (
        lambda D, t: (
            D.TransformedDistribution(D.Normal(t([0.0]), 1.0), [D.ExpTransform()]),
            D.TransformedDistribution(D.Normal(t([1.0]), 1.0), [D.SigmoidTransform()]),
        ),
        "same transforms",
    ),
    "another affine map": (
        lambda D, t: (
            D.TransformedDistribution(D.Normal(t([0.0]), 1.0), D.AffineTransform(0.0, 2.0)),
            D.TransformedDistribution(D.Normal(t([1.0]), 1.0), D.AffineTransform(0.0, 3.0)),
        ),
        "same transforms",
    ),
    "one transform more": (
        lambda D, t: (
            D.TransformedDistribution(D.Normal(t([0.0]), 1.0), [D.ExpTransform()]),
            D.TransformedDistribution(D.Normal(t([0.0]), 1.0), [D.ExpTransform()] * 2),
        ),
        "same transforms",
    ),
    # torch's affine maps are equal whatever their event_dim: the event shapes then differ
    "other event shapes": (
        lambda D, t: (
            D.TransformedDistribution(D.Normal(t([0.0, 1]), 1.0), D.AffineTransform(0, 2.0, 1)),
            D.TransformedDistribution(D.Normal(t([0.0, 1]), 1.0), D.AffineTransform(0, 2.0, 0)),
        ),
        "same event_shape",
    ),
}


@pytest.mark.parametrize("make, words", REFUSED.values(), ids=list(REFUSED))
def test_transformed_distributions_unlike_each_other_are_refused_as_torchs(make, words):
    with pytest.raises(NotImplementedError):
        TD.kl_divergence(*make(TD, torch.tensor))
    with pytest.raises(NotImplementedError, match=words):
        MD.kl_divergence(*make(MD, mg.tensor))


def test_transforms_are_equal_where_torchs_are():
    """== on transforms (what the KL of two TransformedDistributions asks), as torch's."""
    makers = [
        lambda D, t: D.ExpTransform(),
        lambda D, t: D.SigmoidTransform(),
        lambda D, t: D.TanhTransform(),
        lambda D, t: D.TanhTransform().inv,
        lambda D, t: D.SigmoidTransform().inv,
        lambda D, t: D.AffineTransform(0.5, 2.0),
        lambda D, t: D.AffineTransform(0.5, 2.0, event_dim=1),
        lambda D, t: D.AffineTransform(t([0.5, 0.5]), 2.0),
        lambda D, t: D.AffineTransform(t([0.5, 1.0]), 2.0),
        lambda D, t: D.AffineTransform(0.5, -2.0),
        lambda D, t: D.ComposeTransform([D.ExpTransform(), D.AffineTransform(0.5, 2.0)]),
        lambda D, t: D.ComposeTransform([D.ExpTransform()]),
    ]
    for a in makers:
        for b in makers:
            theirs = a(TD, torch.tensor) == b(TD, torch.tensor)
            ours = a(MD, mg.tensor) == b(MD, mg.tensor)
            assert ours == theirs, (a(MD, mg.tensor), b(MD, mg.tensor))
    with pytest.raises(TypeError):
        hash(MD.ExpTransform())  # unhashable once == is by value, as torch's


# ---- where minigrad's gradient or value is finite and torch's is not ---------------------------


def test_entries_whose_kl_is_inf_send_no_nan_back_to_the_parameters():
    """Uniform(low, high) against a Beta or a Gamma: x log x at an end below 0 is NaN, so torch's
    gradient for the parameters that reach an infinite entry is 0 * NaN; minigrad's puts a number
    log takes there before it is masked, so the finite entries' gradients come through clean."""
    low, high = torch.tensor([0.2, -0.5]), torch.tensor([0.7, 0.5])
    for q in (
        lambda x: MD.Beta(x, x + 1),
        lambda x: MD.Gamma(x, x + 1),
    ):
        ours_low, ours_high = (
            mg.tensor(low, requires_grad=True),
            mg.tensor(high, requires_grad=True),
        )
        shared = mg.tensor(2.0, requires_grad=True)  # q's parameter, shared by both entries
        kl = MD.kl_divergence(MD.Uniform(ours_low, ours_high), q(shared))
        assert math.isfinite(kl[0].item()) and kl[1].item() == math.inf
        kl[0].backward()
        for grad in (ours_low.grad, ours_high.grad, shared.grad):
            assert bool(torch.isfinite(grad._data).all())
        assert ours_low.grad[1].item() == 0 and ours_high.grad[1].item() == 0


def test_bernoulli_against_a_poisson_of_rate_zero():
    """p log rate is xlogy's: 0 at p = 0 (KL(Bernoulli(0) || Poisson(0)) = 0, two point masses at
    0), inf for p > 0 (the Poisson cannot draw a 1); torch reads 0 * log 0 as NaN there."""
    kl = MD.kl_divergence(MD.Bernoulli(probs=mg.tensor([0.0, 0.3])), MD.Poisson(mg.tensor(0.0)))
    assert abs(kl[0].item()) < 1e-12 and kl[1].item() == math.inf
