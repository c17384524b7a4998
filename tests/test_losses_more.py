"""The margin, embedding, ranking and likelihood losses and pairwise_distance against torch:
values and gradients in float64 at tight tolerances, over shapes, values and every option that
Hypothesis draws (kept off the kinks, where a hinge is exactly 0, by construction or by
`assume`); the kinks themselves in tests of their own; the modules against torch's; bad input
refused where torch refuses it, in minigrad's words."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.testing import assert_matches_torch
from minigrad.testing import strategies as mst

TF = torch.nn.functional
TOL = dict(rtol=1e-10, atol=1e-12)
reductions = st.sampled_from(["mean", "sum", "none"])
few = settings(max_examples=20)  # the file runs in seconds


def signs(shape) -> st.SearchStrategy[np.ndarray]:
    """Targets of 1 and -1 (as floats, as these losses take them)."""
    return mst.float_arrays(shape, -1, 1).map(lambda a: np.where(a >= 0, 1.0, -1.0))


def off_zero(shape, low=-5.0, high=5.0) -> st.SearchStrategy[np.ndarray]:
    """Values at least 1e-3 away from 0: a hinge's argument kept off its kink."""
    piece = st.floats(low, -1e-3) | st.floats(1e-3, high)
    return mst.float_arrays(shape, 0, 1).flatmap(
        lambda a: st.lists(piece, min_size=a.size, max_size=a.size).map(
            lambda v: np.array(v, dtype=np.float64).reshape(a.shape)
        )
    )


def matches(ours, theirs, *arrays, order=1, name=None):
    assert_matches_torch(ours, theirs, *arrays, order=order, name=name, **TOL)


def constant(array) -> tuple[mg.Tensor, torch.Tensor]:
    """The same values as a minigrad and a torch tensor, for an argument without gradient."""
    data = torch.as_tensor(np.asarray(array))
    return mg.Tensor(data.clone()), data.clone()


# ---- pairwise_distance --------------------------------------------------------------------------

P_NORMS = st.sampled_from([1.0, 2.0, 3.0, 1.5, math.inf])


@st.composite
def distance_pairs(draw):
    """x1 and x2 of shapes (N, D), (D,), (1, D) against (N, D), (D,) against (N, D) either way
    round, or 0-d, with every x1 - x2 + eps (what the norm sees) at least 1e-3 from 0 and
    distinct (for p = inf: a row's largest |x1 - x2 + eps| is one element)."""
    n, d = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    eps = draw(st.sampled_from([1e-6, 0.0, 0.1]))
    form = draw(
        st.sampled_from(["rows", "vector", "broadcast", "x1 a vector", "x2 a vector", "scalar"])
    )
    shape = (d,) if form == "vector" else () if form == "scalar" else (n, d)
    seen = draw(mst.distinct_arrays(shape, 0.5, 5)) * draw(signs(shape))  # x1 - x2 + eps
    x1 = draw(mst.float_arrays(shape, -5, 5))
    if form in ("broadcast", "x1 a vector"):  # one row of x1 for all of x2's
        x1 = x1[:1] if form == "broadcast" else x1[0]
    x2 = x1 + eps - seen
    if form == "x2 a vector":  # one row of x2 for all of x1's
        x2 = x2[0]
        x1 = x2 - eps + seen
    return x1, x2, eps


@few
@given(pair=distance_pairs(), p=P_NORMS, keepdim=st.booleans())
def test_pairwise_distance_matches_torch(pair, p, keepdim):
    x1, x2, eps = pair
    matches(
        lambda a, b: F.pairwise_distance(a, b, p, eps, keepdim),
        lambda a, b: TF.pairwise_distance(a, b, p, eps, keepdim),
        x1,
        x2,
        name=f"pairwise_distance(p={p}, eps={eps}, keepdim={keepdim})",
    )


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, math.inf])
def test_pairwise_distance_at_zero_difference_has_torchs_gradient(p):
    """x1 - x2 + eps exactly 0 (eps = 0, equal rows; or x2 = x1 + eps, exact for these values):
    the norm at 0, whose gradient torch takes as 0; and ties for p = inf."""
    x = np.array([[1.0, -2.0, 0.5], [0.25, 0.25, -0.25], [3.0, 3.0, 1.0]])
    matches(
        lambda a, b: F.pairwise_distance(a, b, p, 0.0),
        lambda a, b: TF.pairwise_distance(a, b, p, 0.0),
        x,
        x.copy(),
        name=f"pairwise_distance(p={p}) of equal rows",
    )
    matches(
        lambda a, b: F.pairwise_distance(a, b, p, 0.5),
        lambda a, b: TF.pairwise_distance(a, b, p, 0.5),
        x,
        x + 0.5,
        name=f"pairwise_distance(p={p}, eps=0.5) at 0",
    )
    y = x + np.array([[1.0, -1.0, 0.5], [2.0, 2.0, -2.0], [0.0, 0.0, 0.0]])  # ties in |x1 - x2|
    matches(
        lambda a, b: F.pairwise_distance(a, b, p, 0.0),
        lambda a, b: TF.pairwise_distance(a, b, p, 0.0),
        x,
        y,
        name=f"pairwise_distance(p={p}) with ties",
    )


def test_pairwise_distance_module_is_torchs():
    x1, x2 = np.random.default_rng(0).normal(size=(2, 4, 3))
    for options in [dict(), dict(p=1.0, eps=0.0, keepdim=True), dict(p=3.0, eps=0.1)]:
        ours, theirs = nn.PairwiseDistance(**options), torch.nn.PairwiseDistance(**options)
        assert repr(ours) == repr(theirs)
        assert (ours.norm, ours.eps, ours.keepdim) == (theirs.norm, theirs.eps, theirs.keepdim)
        matches(ours, theirs, x1, x2, name=f"PairwiseDistance({options})")


# ---- margin_ranking_loss, hinge_embedding_loss, soft_margin_loss --------------------------------


@st.composite
def ranking_cases(draw):
    """x1, x2 and targets y = +-1 of one shape, with -y (x1 - x2) + margin off 0."""
    shape, margin = draw(mst.shapes()), draw(st.sampled_from([0.0, 0.5, 1.0, -0.5]))
    y, x2 = draw(signs(shape)), draw(mst.float_arrays(shape, -5, 5))
    hinge = draw(off_zero(shape))
    x1 = x2 + (margin - hinge) * y  # so -y (x1 - x2) + margin = hinge
    return x1, x2, y, margin, draw(reductions)


@few
@given(case=ranking_cases())
def test_margin_ranking_loss_matches_torch(case):
    x1, x2, y, margin, reduction = case
    matches(
        lambda a, b, t: F.margin_ranking_loss(a, b, t, margin, reduction=reduction),
        lambda a, b, t: TF.margin_ranking_loss(a, b, t, margin, reduction=reduction),
        x1,
        x2,
        y,
        name=f"margin_ranking_loss(margin={margin}, {reduction})",
    )


@st.composite
def hinge_cases(draw):
    """Distances x and targets y (mostly +-1, sometimes neither: torch gives both terms), with
    margin - x off 0."""
    shape, margin = draw(mst.shapes()), draw(st.sampled_from([1.0, 0.5, 2.0, 0.0]))
    x = margin - draw(off_zero(shape))
    y = draw(signs(shape))
    if draw(st.booleans()):
        y = np.where(draw(mst.float_arrays(shape, 0, 1)) > 0.8, 0.0, y)  # neither 1 nor -1
    return x, y, margin, draw(reductions)


@few
@given(case=hinge_cases())
def test_hinge_embedding_loss_matches_torch(case):
    x, y, margin, reduction = case
    matches(
        lambda a, t: F.hinge_embedding_loss(a, t, margin, reduction=reduction),
        lambda a, t: TF.hinge_embedding_loss(a, t, margin, reduction=reduction),
        x,
        y,
        name=f"hinge_embedding_loss(margin={margin}, {reduction})",
    )


@few
@given(data=st.data(), reduction=reductions)
@example(data=None, reduction="sum")  # saturated: e^30 and e^-30
def test_soft_margin_loss_matches_torch(data, reduction):
    """torch has no gradient for the target (it is a label): it is a constant here."""
    if data is None:
        x, y = np.array([30.0, -30.0, 30.0, 0.0]), np.array([1.0, 1.0, -1.0, -1.0])
    else:
        shape = data.draw(mst.shapes())
        x, y = data.draw(mst.float_arrays(shape, -30, 30)), data.draw(signs(shape))
    ours_y, their_y = constant(y)
    for order in (1, 2):
        matches(
            lambda a: F.soft_margin_loss(a, ours_y, reduction=reduction),
            lambda a: TF.soft_margin_loss(a, their_y, reduction=reduction),
            x,
            order=order,
            name=f"soft_margin_loss({reduction})",
        )


def test_margin_and_hinge_losses_at_their_kinks_have_torchs_gradient():
    """At a hinge's 0 torch's clamp_min lets the gradient through (1, not relu's 0)."""
    x, y = np.array([1.0, 2.0, -0.5]), np.array([1.0, -1.0, 1.0])
    for reduction in ("mean", "sum", "none"):
        matches(
            lambda a, b, t, r=reduction: F.margin_ranking_loss(a, b, t, reduction=r),
            lambda a, b, t, r=reduction: TF.margin_ranking_loss(a, b, t, reduction=r),
            x,
            x.copy(),
            y,
        )
        matches(
            lambda a, t, r=reduction: F.hinge_embedding_loss(a, t, 1.0, reduction=r),
            lambda a, t, r=reduction: TF.hinge_embedding_loss(a, t, 1.0, reduction=r),
            np.array([1.0, 1.0, 0.5]),
            np.array([-1.0, 1.0, -1.0]),
        )
    matches(
        lambda a, b, t: F.margin_ranking_loss(a, b, t, margin=1.0),
        lambda a, b, t: TF.margin_ranking_loss(a, b, t, margin=1.0),
        np.array([2.0, 0.0]),
        np.array([1.0, 1.0]),
        np.array([1.0, -1.0]),
    )


# ---- cosine_embedding_loss ----------------------------------------------------------------------


@st.composite
def cosine_cases(draw):
    """Rows (N, D) with targets (N,), or one pair (D,) with a 0-d target; cos - margin off 0."""
    n, d = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    single = draw(st.booleans())
    shape, target_shape = ((d,), ()) if single else ((n, d), (n,))
    x1, x2 = draw(mst.float_arrays(shape, -3, 3)), draw(mst.float_arrays(shape, -3, 3))
    y = draw(signs(target_shape))
    if draw(st.booleans()):
        y = np.where(draw(mst.float_arrays(target_shape, 0, 1)) > 0.8, 0.0, y)  # neither
    margin = draw(st.sampled_from([0.0, 0.5, -0.5, 0.9]))
    e = float(np.float32(1e-12))
    cos = (x1 * x2).sum(-1) / np.sqrt(((x1 * x1).sum(-1) + e) * ((x2 * x2).sum(-1) + e))
    assume(np.all(np.abs(cos - margin) > 1e-6))
    return x1, x2, y, margin, draw(reductions)


@few
@given(case=cosine_cases())
@example(case=(np.zeros((2, 3)), np.ones((2, 3)), np.array([1.0, -1.0]), 0.5, "mean"))  # 0 rows
def test_cosine_embedding_loss_matches_torch(case):
    """First derivatives only: the second ones of a cosine of near-parallel vectors (all of
    them, for D = 1) are sums of terms of size 1/|x|^2 that cancel to far less, and minigrad's
    and torch's differ there by rounding alone (4e-9 relative for x1 = 1/128, x2 = 2, where
    both are 5e-9 from the exact d^2L/dx1^2, worked out in 50 digits with mpmath)."""
    x1, x2, y, margin, reduction = case
    ours_y, their_y = constant(y)
    matches(
        lambda a, b: F.cosine_embedding_loss(a, b, ours_y, margin, reduction=reduction),
        lambda a, b: TF.cosine_embedding_loss(a, b, their_y, margin, reduction=reduction),
        x1,
        x2,
        name=f"cosine_embedding_loss(margin={margin}, {reduction})",
    )


def test_cosine_embedding_loss_at_its_kink_has_torchs_gradient():
    """cos exactly equal to the margin (0 for orthogonal rows; 1 for equal ones)."""
    x1, x2 = (
        np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]),
        np.array([[0.0, 3.0], [1.0, 0.0], [2.0, 2.0]]),
    )
    ours_y, their_y = constant(np.array([-1.0, -1.0, 1.0]))
    matches(
        lambda a, b: F.cosine_embedding_loss(a, b, ours_y, 0.0),
        lambda a, b: TF.cosine_embedding_loss(a, b, their_y, 0.0),
        x1,
        x2,
    )


# ---- triplet losses -----------------------------------------------------------------------------


@st.composite
def triplet_cases(draw):
    """anchor, positive, negative of one shape ((N, D) or (D,)), with margin + d(a, p) - d(a, n)
    off 0 and, for swap, d(a, n) and d(p, n) apart (torch's minimum splits a tie)."""
    n, d = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    shape = draw(st.sampled_from([(n, d), (d,)]))
    a, pos, neg = (draw(mst.float_arrays(shape, -3, 3)) for _ in range(3))
    margin, p = draw(st.sampled_from([1.0, 0.5, 2.0])), draw(st.sampled_from([1.0, 2.0, 3.0]))
    eps, swap = draw(st.sampled_from([1e-6, 0.0])), draw(st.booleans())

    def dist(x, y):
        diff = np.abs(x - y + eps)
        return diff.max(-1) if p == math.inf else (diff**p).sum(-1) ** (1 / p)

    to_neg, swapped = dist(a, neg), dist(pos, neg)
    for value in (to_neg, swapped, dist(a, pos)):
        assume(np.all(value > 1e-3))  # no norm at 0
    assume(np.all(np.abs(to_neg - swapped) > 1e-6))
    hardest = np.minimum(to_neg, swapped) if swap else to_neg
    assume(np.all(np.abs(margin + dist(a, pos) - hardest) > 1e-6))
    return (a, pos, neg), dict(margin=margin, p=p, eps=eps, swap=swap, reduction=draw(reductions))


@few
@given(case=triplet_cases())
def test_triplet_margin_loss_matches_torch(case):
    arrays, options = case
    matches(
        lambda *t: F.triplet_margin_loss(*t, **options),
        lambda *t: TF.triplet_margin_loss(*t, **options),
        *arrays,
        name=f"triplet_margin_loss({options})",
    )


def _cosine_distance(lib_functional):
    return lambda x, y: 1 - lib_functional.cosine_similarity(x, y, dim=-1)


@few
@given(case=triplet_cases(), cosine=st.booleans())
def test_triplet_margin_with_distance_loss_matches_torch(case, cosine):
    arrays, options = case
    options = dict(margin=options["margin"], swap=options["swap"], reduction=options["reduction"])
    if cosine:  # another distance: off its kinks too
        a, pos, neg = arrays

        def cos(x, y):
            lengths = np.linalg.norm(x, axis=-1) * np.linalg.norm(y, axis=-1)
            return (x * y).sum(-1) / np.maximum(lengths, 1e-16)

        assume(np.all(np.linalg.norm(arrays, axis=-1) > 1e-3))
        d_neg, d_swap, d_pos = 1 - cos(a, neg), 1 - cos(pos, neg), 1 - cos(a, pos)
        assume(np.all(np.abs(d_neg - d_swap) > 1e-6))
        hardest = np.minimum(d_neg, d_swap) if options["swap"] else d_neg
        assume(np.all(np.abs(options["margin"] + d_pos - hardest) > 1e-6))
    ours = dict(options, distance_function=_cosine_distance(F) if cosine else None)
    theirs = dict(options, distance_function=_cosine_distance(TF) if cosine else None)
    matches(
        lambda *t: F.triplet_margin_with_distance_loss(*t, **ours),
        lambda *t: TF.triplet_margin_with_distance_loss(*t, **theirs),
        *arrays,
        name=f"triplet_margin_with_distance_loss({options}, cosine={cosine})",
    )


@pytest.mark.parametrize("swap", [False, True])
def test_triplet_losses_at_their_kinks_have_torchs_gradient(swap):
    """margin + d(a, p) - d(a, n) exactly 0 (clamp_min: the gradient goes through), and with
    swap a tie d(a, n) = d(p, n) (minimum: each gets half)."""
    a, pos, neg = (
        np.zeros((2, 2)),
        np.array([[1.0, 0.0], [2.0, 0.0]]),
        np.array([[2.0, 0.0], [1.0, 0.0]]),
    )
    options = dict(margin=1.0, eps=0.0, swap=swap)
    for p in (1.0, 2.0):
        matches(
            lambda *t, p=p: F.triplet_margin_loss(*t, p=p, **options),
            lambda *t, p=p: TF.triplet_margin_loss(*t, p=p, **options),
            a,
            pos,
            neg,
        )
    matches(
        lambda *t: F.triplet_margin_with_distance_loss(*t, swap=swap),
        lambda *t: TF.triplet_margin_with_distance_loss(*t, swap=swap),
        a,
        pos,
        neg,
    )


# ---- poisson_nll_loss, gaussian_nll_loss --------------------------------------------------------


@st.composite
def poisson_cases(draw):
    """Log-rates (or rates > 0) and counts (whole or not, both sides of 1: full's Stirling term
    is for counts > 1 only), off 0 where full's y log y has no gradient."""
    shape, log_input = draw(mst.shapes()), draw(st.booleans())
    x = draw(mst.float_arrays(shape, -4, 4) if log_input else mst.float_arrays(shape, 0.01, 20))
    count = st.floats(0.01, 20) | st.sampled_from([1.0, 2.0, 3.0, 0.5])
    y = np.array(draw(st.lists(count, min_size=x.size, max_size=x.size))).reshape(shape)
    options = dict(log_input=log_input, full=draw(st.booleans()), reduction=draw(reductions))
    options["eps"] = draw(st.sampled_from([1e-8, 0.1]))
    return x, y, options


@few
@given(case=poisson_cases())
def test_poisson_nll_loss_matches_torch(case):
    """The target (counts) gets its gradient too, as in torch."""
    x, y, options = case
    for order in (1, 2):
        matches(
            lambda a, t: F.poisson_nll_loss(a, t, **options),
            lambda a, t: TF.poisson_nll_loss(a, t, **options),
            x,
            y,
            order=order,
            name=f"poisson_nll_loss({options})",
        )


@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_loss_at_count_0_is_torchs(full):
    """y = 0: no Stirling term (y <= 1); the input's gradient is e^x (or 1), and the target's,
    with full, torch's NaN (0 times log 0 in the masked term's backward)."""
    x, y = np.array([0.5, -1.0, 2.0]), np.array([0.0, 1.0, 4.0])
    ours_y, their_y = constant(y)
    for log_input in (True, False):
        matches(
            lambda a, log=log_input: F.poisson_nll_loss(a, ours_y, log, full, reduction="sum"),
            lambda a, log=log_input: TF.poisson_nll_loss(a, their_y, log, full, reduction="sum"),
            np.abs(x) if not log_input else x,
        )
    ours, theirs = mg.tensor(y, requires_grad=True), torch.tensor(y, requires_grad=True)
    F.poisson_nll_loss(mg.tensor(x), ours, full=full).backward()
    TF.poisson_nll_loss(torch.tensor(x), theirs, full=full).backward()
    torch.testing.assert_close(ours.grad._data, theirs.grad, equal_nan=True, **TOL)


@st.composite
def gaussian_cases(draw):
    """Means, targets and variances: of the input's shape, one dim fewer, a dim of size 1, or
    a number; some variances below eps (clamped) or 0."""
    shape = draw(mst.shapes(min_rank=1))
    x, y = draw(mst.float_arrays(shape, -5, 5)), draw(mst.float_arrays(shape, -5, 5))
    form = draw(st.sampled_from(["same", "one fewer", "size 1", "number"]))
    variance = st.floats(0.05, 5) | st.sampled_from([0.0, 1e-8, 1e-6, 1e-3])
    if form == "number":
        var = draw(st.floats(0.05, 5))
    else:
        var_shape = {"same": shape, "one fewer": shape[:-1]}.get(form)
        if var_shape is None:
            dim = draw(st.integers(0, len(shape) - 1))
            assume(shape[dim] > 1)
            var_shape = shape[:dim] + (1,) + shape[dim + 1 :]
        size = int(np.prod(var_shape))
        var = np.array(draw(st.lists(variance, min_size=size, max_size=size))).reshape(var_shape)
    options = dict(full=draw(st.booleans()), eps=draw(st.sampled_from([1e-6, 1e-2])))
    return x, y, var, dict(options, reduction=draw(reductions))


@few
@given(case=gaussian_cases())
def test_gaussian_nll_loss_matches_torch(case):
    """Below eps the variance is clamped outside the graph: its gradient is computed at eps
    but flows on as if unclamped, as torch's."""
    x, y, var, options = case
    if isinstance(var, float):
        matches(
            lambda a, t: F.gaussian_nll_loss(a, t, var, **options),
            lambda a, t: TF.gaussian_nll_loss(a, t, var, **options),
            x,
            y,
            name=f"gaussian_nll_loss(var={var}, {options})",
        )
        return
    matches(
        lambda a, t, v: F.gaussian_nll_loss(a, t, v, **options),
        lambda a, t, v: TF.gaussian_nll_loss(a, t, v, **options),
        x,
        y,
        var,
        name=f"gaussian_nll_loss(var {var.shape}, {options})",
    )


# ---- multi-class and multi-label losses -------------------------------------------------------


@st.composite
def multilabel_soft_cases(draw):
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    shape = draw(st.sampled_from([(n, c), (c,)]))
    x = draw(mst.float_arrays(shape, -30, 30))
    y = draw(mst.float_arrays(shape, 0, 1))
    if draw(st.booleans()):
        y = np.round(y)  # 0/1 labels
    weight = draw(st.none() | mst.float_arrays((c,), 0, 3))
    return x, y, weight, draw(reductions)


@few
@given(case=multilabel_soft_cases())
def test_multilabel_soft_margin_loss_matches_torch(case):
    x, y, weight, reduction = case
    if weight is None:
        matches(
            lambda a, t: F.multilabel_soft_margin_loss(a, t, reduction=reduction),
            lambda a, t: TF.multilabel_soft_margin_loss(a, t, reduction=reduction),
            x,
            y,
        )
        return
    matches(
        lambda a, t, w: F.multilabel_soft_margin_loss(a, t, w, reduction=reduction),
        lambda a, t, w: TF.multilabel_soft_margin_loss(a, t, w, reduction=reduction),
        x,
        y,
        weight,
        name=f"multilabel_soft_margin_loss(weighted, {reduction})",
    )


@st.composite
def multi_margin_cases(draw):
    """Scores (N, C) and classes (N,), or (C,) and a 0-d class; margin - x[y] + x[j] off 0."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    single = draw(st.booleans())
    shape = (c,) if single else (n, c)
    x = draw(mst.float_arrays(shape, -3, 3))
    y = np.array(
        draw(
            st.lists(
                st.integers(0, c - 1), min_size=1 if single else n, max_size=1 if single else n
            )
        ),
        dtype=np.int64,
    )
    y = y.reshape(()) if single else y
    margin = draw(st.sampled_from([1.0, 0.5, 0.0, 2.0]))
    rows, labels = x.reshape(-1, c), y.reshape(-1)
    hinge = margin - rows[np.arange(len(labels)), labels][:, None] + rows
    assume(np.all(np.abs(hinge) > 1e-6))
    options = dict(p=draw(st.sampled_from([1, 2])), margin=margin, reduction=draw(reductions))
    weight = draw(st.none() | mst.float_arrays((c,), 0, 3))
    return x, y, weight, options


@few
@given(case=multi_margin_cases())
def test_multi_margin_loss_matches_torch(case):
    """torch gives the weight no gradient: it is a constant here."""
    x, y, weight, options = case
    if weight is not None:
        ours_w, their_w = constant(weight)
        options_ours, options_theirs = dict(options, weight=ours_w), dict(options, weight=their_w)
    else:
        options_ours = options_theirs = options
    matches(
        lambda a, t: F.multi_margin_loss(a, t, **options_ours),
        lambda a, t: TF.multi_margin_loss(a, t, **options_theirs),
        x,
        y,
        name=f"multi_margin_loss({options}, weighted={weight is not None})",
    )


@st.composite
def multilabel_margin_cases(draw):
    """Scores (N, C) (or (C,)) and rows of class indices: some classes (repeats too), then -1,
    then anything in [-1, C) (ignored); 1 - x[j] + x[k] off 0."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    single = draw(st.booleans())
    shape = (c,) if single else (n, c)
    x = draw(mst.float_arrays(shape, -2, 2))
    rows = []
    for _ in range(1 if single else n):
        listed = draw(st.lists(st.integers(0, c - 1), max_size=c))
        rest = draw(st.lists(st.integers(-1, c - 1), min_size=c, max_size=c))
        rows.append((listed + [-1] + rest)[:c])
    y = np.array(rows, dtype=np.int64).reshape(shape)
    scores = x.reshape(-1, c)
    assume(np.all(np.abs(1 - scores[:, :, None] + scores[:, None, :]) > 1e-6))
    return x, y, draw(reductions)


@few
@given(case=multilabel_margin_cases())
@example(
    case=(np.array([[0.1, 0.5, -1.0], [2.0, 0.25, 0.0]]), np.array([[1, 1, 0], [2, -1, 1]]), "none")
)  # a class listed twice counts twice
def test_multilabel_margin_loss_matches_torch(case):
    x, y, reduction = case
    matches(
        lambda a, t: F.multilabel_margin_loss(a, t, reduction=reduction),
        lambda a, t: TF.multilabel_margin_loss(a, t, reduction=reduction),
        x,
        y,
        name=f"multilabel_margin_loss({reduction})",
    )


def test_multi_class_margin_losses_at_their_kinks_have_torchs_gradient():
    """A term exactly 0: torch's kernels count only terms above 0, so the gradient there is 0
    (relu's)."""
    x = np.array([[1.0, 2.0, 1.0], [0.5, -0.5, 1.5]])
    for p in (1, 2):
        matches(
            lambda a, t, p=p: F.multi_margin_loss(a, t, p=p),
            lambda a, t, p=p: TF.multi_margin_loss(a, t, p=p),
            x,
            np.array([1, 2]),
        )
    matches(
        F.multilabel_margin_loss, TF.multilabel_margin_loss, x, np.array([[1, -1, 0], [2, 0, -1]])
    )
    matches(F.multi_margin_loss, TF.multi_margin_loss, np.array(0.5), np.array(0))  # 0-d input


# ---- the modules -------------------------------------------------------------------------------


def module_cases():
    rng = np.random.default_rng(0)
    x, z = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    y = np.array([1.0, -1.0, -1.0, 1.0])
    classes, weight = np.array([0, 2, 1, 2]), np.array([1.0, 2.0, 0.5])
    listed = np.array([[0, -1, 1], [2, 1, -1], [1, 1, 1], [0, 1, 2]])
    return [
        ("MarginRankingLoss", dict(margin=0.5), (x[:, 0], z[:, 0], y)),
        ("MarginRankingLoss", dict(reduction="none"), (x[:, 0], z[:, 0], y)),
        ("HingeEmbeddingLoss", dict(margin=2.0, reduction="sum"), (np.abs(x), np.ones((4, 3)))),
        ("SoftMarginLoss", dict(), (x, np.sign(z))),
        ("CosineEmbeddingLoss", dict(margin=0.2), (x, z, y)),
        ("TripletMarginLoss", dict(margin=0.5, p=1.0, swap=True, eps=0.0), (x, z, z + 0.1)),
        ("TripletMarginLoss", dict(reduction="none"), (x, z, x * 2)),
        ("TripletMarginWithDistanceLoss", dict(swap=True), (x, z, z + 0.1)),
        ("TripletMarginWithDistanceLoss", dict(margin=0.3, reduction="sum"), (x, z, x * 2)),
        ("PoissonNLLLoss", dict(log_input=False, full=True, eps=1e-3), (np.exp(x), np.exp(z) * 3)),
        ("PoissonNLLLoss", dict(reduction="none"), (x, np.exp(z))),
        ("GaussianNLLLoss", dict(full=True, eps=1e-3), (x, z, np.exp(x[:, :1]))),
        ("MultiLabelSoftMarginLoss", dict(weight=weight), (x, (z > 0) * 1.0)),
        ("MultiMarginLoss", dict(p=2, margin=0.5, weight=weight), (x, classes)),
        ("MultiMarginLoss", dict(reduction="none"), (x, classes)),
        ("MultiLabelMarginLoss", dict(reduction="sum"), (x, listed)),
    ]


@pytest.mark.parametrize("name, options, args", module_cases())
def test_loss_modules_are_torchs(name, options, args):
    ours = getattr(nn, name)(
        **{k: mg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}
    )
    theirs = getattr(torch.nn, name)(
        **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}
    )
    assert repr(ours) == repr(theirs)
    assert ours.reduction == theirs.reduction
    for attribute in ("margin", "p", "eps", "swap", "full", "log_input"):
        assert getattr(ours, attribute, None) == getattr(theirs, attribute, None), attribute
    expected = theirs(*(torch.tensor(a) for a in args))
    got = ours(*(mg.tensor(a) for a in args))
    torch.testing.assert_close(got._data, expected, **TOL)


@pytest.mark.parametrize(
    "name, options",
    [
        ("MarginRankingLoss", dict(size_average=False)),
        ("HingeEmbeddingLoss", dict(reduce=False)),
        ("SoftMarginLoss", dict(size_average=True)),
        ("CosineEmbeddingLoss", dict(reduce=False)),
        ("TripletMarginLoss", dict(size_average=False)),
        ("PoissonNLLLoss", dict(reduce=False)),
        ("MultiLabelSoftMarginLoss", dict(size_average=False)),
        ("MultiMarginLoss", dict(reduce=False)),
        ("MultiLabelMarginLoss", dict(size_average=False, reduce=True)),
    ],
)
def test_old_size_average_and_reduce_flags_become_torchs_reduction(name, options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = getattr(torch.nn, name)(**options).reduction
    with pytest.warns(UserWarning, match=f"reduction='{expected}' instead"):
        assert getattr(nn, name)(**options).reduction == expected


def test_old_flags_in_the_functions_as_torch():
    x, z = mg.tensor([[1.0, -2.0], [0.5, 3.0]]), mg.tensor([[0.0, 1.0], [-1.0, 2.0]])
    with pytest.warns(UserWarning, match="reduction='none' instead"):
        out = F.soft_margin_loss(x, z, reduce=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = TF.soft_margin_loss(x._data, z._data, reduce=False)
        torch.testing.assert_close(out._data, expected)
        got = F.poisson_nll_loss(x, z.abs(), size_average=False)
        torch.testing.assert_close(
            got._data, TF.poisson_nll_loss(x._data, z._data.abs(), size_average=False)
        )


# ---- bad input: refused where torch refuses it, in minigrad's words ---------------------------


def _args(*arrays):
    """Each array as a minigrad and as a torch tensor (float64 or int64)."""
    return [mg.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


BAD_INPUT = [
    (
        "margin_ranking_loss",
        ([1.0, 2.0], [[1.0, 2.0]], [1.0, -1.0]),
        {},
        ValueError,
        r"input1 \(2,\), input2 \(1, 2\) and target \(2,\) must have the same number of dims",
    ),
    (
        "margin_ranking_loss",
        ([1.0, 2.0], [1.0, 2.0, 3.0], [1.0, -1.0]),
        {},
        ValueError,
        r"input1 \(2,\), input2 \(3,\), target \(2,\) must broadcast to one shape",
    ),
    (
        "hinge_embedding_loss",
        ([1.0, 2.0], [1.0, -1.0, 1.0]),
        {},
        ValueError,
        r"hinge_embedding_loss: input \(2,\), target \(3,\) must broadcast",
    ),
    (
        "soft_margin_loss",
        ([1.0, 2.0], [1.0, -1.0, 1.0]),
        {},
        ValueError,
        r"soft_margin_loss: input \(2,\), target \(3,\) must broadcast",
    ),
    (
        "soft_margin_loss",
        ([1.0, 2.0], [1.0, -1.0]),
        dict(reduction="avg"),
        ValueError,
        r"avg is not a valid value for reduction",
    ),
    (
        "cosine_embedding_loss",
        ([1.0, 2.0], [1.0, 2.0], [1.0]),
        {},
        ValueError,
        r"a 1-d target \(1,\) needs 2-d inputs .* got input1 \(2,\) and input2 \(2,\)",
    ),
    (
        "cosine_embedding_loss",
        ([[1.0]], [[1.0]], [[1.0]]),
        {},
        ValueError,
        r"target \(1, 1\) must be 0-d .* or 1-d",
    ),
    (
        "pairwise_distance",
        ([1.0, 2.0], [1.0, 2.0, 3.0]),
        {},
        ValueError,
        r"pairwise_distance: x1 \(2,\), x2 \(3,\) must broadcast",
    ),
    (
        "triplet_margin_loss",
        ([1.0, 2.0], [1.0, 2.0], [[1.0, 2.0]]),
        {},
        ValueError,
        r"anchor \(2,\), positive \(2,\) and negative \(1, 2\) must have the same number of dims",
    ),
    (
        "triplet_margin_loss",
        ([1.0, 2.0],) * 3,
        dict(margin=0.0),
        ValueError,
        r"margin must be greater than 0, got 0.0",
    ),
    (
        "triplet_margin_with_distance_loss",
        ([1.0, 2.0],) * 3,
        dict(margin=-1.0),
        ValueError,
        r"triplet_margin_with_distance_loss: margin must be greater than 0, got -1.0",
    ),
    (
        "triplet_margin_with_distance_loss",
        ([1.0, 2.0],) * 3,
        dict(reduction="avg"),
        ValueError,
        r"avg is not a valid value for reduction",
    ),
    (
        "poisson_nll_loss",
        ([1.0, 2.0], [1.0, 2.0, 3.0]),
        {},
        ValueError,
        r"poisson_nll_loss: input \(2,\), target \(3,\) must broadcast",
    ),
    (
        "poisson_nll_loss",
        ([1.0, 2.0], [1.0, 2.0]),
        dict(reduction="avg"),
        ValueError,
        r"avg is not a valid value for reduction",
    ),
    (
        "gaussian_nll_loss",
        ([1.0, 2.0], [1.0, 2.0], [-1.0, 2.0]),
        {},
        ValueError,
        r"var \(2,\) has negative entries: it holds variances, which must be >= 0",
    ),
    (
        "gaussian_nll_loss",
        ([[1.0, 2.0]], [[1.0, 2.0]], [[1.0, 2.0, 3.0]]),
        {},
        ValueError,
        r"var \(1, 3\) does not fit input \(1, 2\)",
    ),
    (
        "gaussian_nll_loss",
        ([1.0, 2.0], [1.0, 2.0], [1.0, 2.0]),
        dict(reduction="avg"),
        ValueError,
        r"avg is not a valid value for reduction",
    ),
    (
        "multilabel_soft_margin_loss",
        ([1.0, 2.0], [1.0, 0.0, 1.0]),
        {},
        ValueError,
        r"input \(2,\), target \(3,\) must broadcast",
    ),
    (
        "multi_margin_loss",
        ([1.0, 2.0], 0),
        dict(p=3),
        ValueError,
        r"p=3, but only p=1 \(the hinge\) and p=2 \(the squared hinge\)",
    ),
    (
        "multi_margin_loss",
        ([[1.0, 2.0]] * 3, [0, 1]),
        {},
        ValueError,
        r"target \(2,\) must hold one class index per example of input \(3, 2\): 3 of them",
    ),
    (
        "multi_margin_loss",
        ([1.0, 2.0], 2),
        {},
        RuntimeError,
        r"target holds 2, which names no class: indices must be in \[0, 1\]",
    ),
    (
        "multi_margin_loss",
        ([1.0, 2.0], 0.0),
        {},
        TypeError,
        r"target must hold class indices as int64, got torch.float32 of shape \(\)",
    ),
    (
        "multi_margin_loss",
        ([[[1.0, 2.0]]], [0]),
        {},
        ValueError,
        r"input \(1, 1, 2\) must be \(N, C\) scores, or \(C,\)",
    ),
    (
        "multilabel_margin_loss",
        ([[1.0, 2.0]] * 3, [0, 1, 1]),
        {},
        ValueError,
        r"target \(3,\) must have input's shape \(3, 2\)",
    ),
    (
        "multilabel_margin_loss",
        ([1.0, 2.0], [-1, 5]),
        {},
        RuntimeError,
        r"target holds 5, which names no class: indices must be in \[-1, 1\]",
    ),
]


@pytest.mark.parametrize("name, arrays, options, error, message", BAD_INPUT)
def test_bad_input_is_refused_where_torch_refuses_it(name, arrays, options, error, message):
    ours, theirs = _args(*arrays)
    with pytest.raises(Exception):  # noqa: B017  (torch's types and words are its own)
        getattr(TF, name)(*theirs, **options)
    with pytest.raises(error, match=message):
        getattr(F, name)(*ours, **options)


def test_weights_of_the_wrong_shape_are_refused_as_torch():
    x, y = _args([[1.0, 2.0]], [0])
    for bad, message in [
        ([[1.0, 2.0]], r"weight \(1, 2\) must be 1-d"),
        ([1.0, 2.0, 3.0], r"weight \(3,\) must hold one weight per class: 2"),
    ]:
        with pytest.raises(Exception):  # noqa: B017
            TF.multi_margin_loss(*y, weight=torch.tensor(bad))
        with pytest.raises(ValueError, match=message):
            F.multi_margin_loss(*x, weight=mg.tensor(bad))
    for name in ("MultiMarginLoss",):
        with pytest.raises(ValueError):
            getattr(torch.nn, name)(weight=torch.ones(1, 2))
        with pytest.raises(ValueError, match=r"MultiMarginLoss: weight must be None or 1-d"):
            getattr(nn, name)(weight=mg.ones(1, 2))
    with pytest.raises(ValueError):
        torch.nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match=r"MultiMarginLoss: p=3, but only p=1"):
        nn.MultiMarginLoss(p=3)
    for name in ("TripletMarginLoss", "TripletMarginWithDistanceLoss"):
        with pytest.raises(ValueError):
            getattr(torch.nn, name)(margin=0.0)
        with pytest.raises(ValueError, match=f"{name}: margin must be greater than 0, got 0.0"):
            getattr(nn, name)(margin=0.0)
    with pytest.raises(ValueError, match=r"var=-1.0 is a variance, and must be >= 0"):
        F.gaussian_nll_loss(mg.zeros(2), mg.zeros(2), -1.0)
    with pytest.raises(ValueError):
        TF.gaussian_nll_loss(torch.zeros(2), torch.zeros(2), -1.0)


def test_the_losses_work_on_the_device(device):
    """Each loss's helpers (class masks, counts, variances made from a number) are made on
    the input's device."""
    x = mg.randn(4, 3, device=device, requires_grad=True)
    z = mg.randn(4, 3, device=device)
    y = mg.tensor([1.0, -1.0, 1.0, -1.0], device=device)
    classes = mg.tensor([0, 2, 1, 2], device=device)
    listed = mg.tensor([[0, -1, 1], [2, 1, -1], [1, 1, 1], [0, 1, 2]], device=device)
    weight = mg.tensor([1.0, 2.0, 0.5], device=device)
    for loss in (
        F.pairwise_distance(x, z).sum(),
        F.margin_ranking_loss(x[:, 0], z[:, 0], y),
        F.hinge_embedding_loss(x, z.sign()),
        F.soft_margin_loss(x, z.sign()),
        F.cosine_embedding_loss(x, z, y),
        F.triplet_margin_loss(x, z, -z, swap=True),
        F.triplet_margin_with_distance_loss(x, z, -z),
        F.poisson_nll_loss(x, z.abs(), full=True),
        F.gaussian_nll_loss(x, z, 0.5),
        F.gaussian_nll_loss(x, z, z[:, 0].abs()),
        F.multilabel_soft_margin_loss(x, (z > 0).float(), weight),
        F.multi_margin_loss(x, classes, p=2, weight=weight),
        F.multilabel_margin_loss(x, listed),
    ):
        x.grad = None
        loss.backward()
        assert loss.device.type == device and x.grad.device.type == device
