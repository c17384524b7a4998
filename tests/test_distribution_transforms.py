"""minigrad.distributions' transforms and TransformedDistribution against torch.distributions', in
float64 over values Hypothesis draws: each transform's map, inverse and log |dy/dx| with their
gradients; a tanh-squashed Normal (an agent's bounded actions: rsample under one seed, log_prob,
the gradients of both); a logistic distribution from a Uniform (cdf and icdf too, for scales of
either sign); transforms over event dims; expand; and torch's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as TD
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.distributions as MD
from minigrad.testing import assert_close
from minigrad.testing import strategies as mst

RTOL, ATOL = 1e-7, 1e-9


def pair(array, grad=False):
    t = torch.as_tensor(np.asarray(array, dtype=np.float64))
    return mg.Tensor(t.clone(), requires_grad=grad), t.clone().requires_grad_(grad)


def close(ours, theirs, what):
    assert_close(ours._data, theirs.detach(), what=what, rtol=RTOL, atol=ATOL)


TRANSFORMS = {  # name: (minigrad's, torch's, where x may lie)
    "exp": (lambda: MD.ExpTransform(), lambda: TD.ExpTransform(), (-3, 3)),
    "affine": (
        lambda: MD.AffineTransform(0.5, -2.0),
        lambda: TD.AffineTransform(0.5, -2.0),
        (-3, 3),
    ),
    "sigmoid": (lambda: MD.SigmoidTransform(), lambda: TD.SigmoidTransform(), (-8, 8)),
    "tanh": (lambda: MD.TanhTransform(), lambda: TD.TanhTransform(), (-4, 4)),
    "sigmoid.inv": (
        lambda: MD.SigmoidTransform().inv,
        lambda: TD.SigmoidTransform().inv,
        (0.01, 0.99),
    ),
    "tanh.inv": (lambda: MD.TanhTransform().inv, lambda: TD.TanhTransform().inv, (-0.99, 0.99)),
    "compose": (
        lambda: MD.ComposeTransform([MD.AffineTransform(1.0, 0.5), MD.TanhTransform()]),
        lambda: TD.ComposeTransform([TD.AffineTransform(1.0, 0.5), TD.TanhTransform()]),
        (-4, 4),
    ),
}


@given(st.sampled_from(sorted(TRANSFORMS)), st.data())
def test_each_transform_maps_inverts_and_scores_as_torchs(name, data):
    ours, theirs, (low, high) = TRANSFORMS[name]
    ours, theirs = ours(), theirs()
    x = data.draw(mst.float_arrays(mst.shapes(max_rank=2), low, high))
    xm, xt = pair(x, grad=True)
    ym, yt = ours(xm), theirs(xt)
    close(ym, yt, f"{name}: y")
    jm, jt = ours.log_abs_det_jacobian(xm, ym), theirs.log_abs_det_jacobian(xt, yt)
    close(jm, jt, f"{name}: log |dy/dx|")
    (ym.sum() + jm.sum()).backward()
    (gradient,) = torch.autograd.grad(yt.sum() + jt.sum(), xt)
    close(xm.grad, gradient, f"{name}: the gradient of y and log |dy/dx|")
    back = ours.inv(mg.Tensor(ym._data.clone()))  # a new y: the inverse computed, not cached
    close(back, theirs.inv(yt.detach().clone()), f"{name}: the inverse")
    assert_close(back._data, xt.detach(), what=f"{name}: inv(f(x)) = x", rtol=1e-6, atol=1e-9)
    assert ours.sign == theirs.sign


@given(
    loc=mst.float_arrays((3,), -1, 1),
    scale=mst.float_arrays((3,), 0.2, 1.5),
    seed=st.integers(0, 2**16),
    cache=st.booleans(),
)
def test_a_tanh_squashed_normal_samples_and_scores_as_torchs(loc, scale, seed, cache):
    """The policy of an agent with bounded actions: a Normal's rsample through tanh. The same
    actions under one seed; log_prob of them (with cache_size=1 from the cached x, else
    through atanh); the gradients of both reaching loc and scale."""
    (lm, lt), (sm, st_) = pair(loc, grad=True), pair(scale, grad=True)
    size = 1 if cache else 0
    ours = MD.TransformedDistribution(MD.Normal(lm, sm), [MD.TanhTransform(cache_size=size)])
    theirs = TD.TransformedDistribution(TD.Normal(lt, st_), [TD.TanhTransform(cache_size=size)])
    assert (ours.batch_shape, ours.event_shape) == (theirs.batch_shape, theirs.event_shape)
    assert ours.has_rsample and repr(ours.support) == repr(theirs.support)
    torch.manual_seed(seed)
    action_m = ours.rsample((4,))
    torch.manual_seed(seed)
    action_t = theirs.rsample((4,))
    close(action_m, action_t, "the actions")
    score_m, score_t = ours.log_prob(action_m), theirs.log_prob(action_t)
    close(score_m, score_t, "log_prob of the actions")
    (score_m.sum() + action_m.sum()).backward()
    grads = torch.autograd.grad(score_t.sum() + action_t.sum(), (lt, st_))
    close(lm.grad, grads[0], "loc's gradient")
    close(sm.grad, grads[1], "scale's gradient")
    if cache:  # the x behind the last y comes back itself, not atanh(tanh(x))
        x = ours.base_dist.loc * 0 + 0.25
        squash = ours.transforms[0]
        assert squash.inv(squash(x)) is x
    torch.manual_seed(seed)
    drawn = ours.sample((2,))
    torch.manual_seed(seed)
    close(drawn, theirs.sample((2,)), "sample")
    assert not drawn.requires_grad


@given(
    loc=st.floats(-2, 2),
    scale=st.floats(0.3, 3) | st.floats(-3, -0.3),
    values=mst.float_arrays((5,), -6, 6),
    quantiles=mst.float_arrays((4,), 0.05, 0.95),
)
def test_a_logistic_from_a_uniform_scores_and_inverts_its_cdf_as_torchs(
    loc, scale, values, quantiles
):
    """Logistic(loc, scale) = loc + scale * logit(U): log_prob, cdf and icdf as torch's, for a
    scale of either sign (a decreasing map flips the cdf)."""

    def logistic(lib, D):
        f64 = {"dtype": lib.float64}
        base = D.Uniform(lib.tensor(0.0, **f64), lib.tensor(1.0, **f64))
        tail = D.AffineTransform(lib.tensor(loc, **f64), lib.tensor(scale, **f64))
        return D.TransformedDistribution(base, [D.SigmoidTransform().inv, tail])

    ours, theirs = logistic(mg, MD), logistic(torch, TD)
    (vm, vt), (qm, qt) = pair(values), pair(quantiles)
    close(ours.log_prob(vm), theirs.log_prob(vt), "log_prob")
    close(ours.cdf(vm), theirs.cdf(vt), "cdf")
    close(ours.icdf(qm), theirs.icdf(qt), "icdf")


@given(
    scale=mst.float_arrays((3,), 0.3, 2),
    values=mst.float_arrays((2, 3), 0.2, 3),
    expanded=st.sampled_from([(2,), (4, 2)]),
)
def test_transforms_over_event_dims_and_expand_as_torchs(scale, values, expanded):
    """An affine map of whole vectors (event_dim=1) then exp: the vector is one event, its
    log |dy/dx| summed over it; expand broadcasts the batch."""
    (sm, st_), (vm, vt) = pair(scale), pair(values)

    def made(lib, D, s):
        f64 = {"dtype": lib.float64}
        base = D.Normal(lib.zeros(2, 3, **f64), lib.ones(2, 3, **f64))
        moves = [D.AffineTransform(lib.tensor(1.0, **f64), s, event_dim=1), D.ExpTransform()]
        return D.TransformedDistribution(base, moves)

    ours, theirs = made(mg, MD, sm), made(torch, TD, st_)
    assert (ours.batch_shape, ours.event_shape) == (theirs.batch_shape, theirs.event_shape)
    close(ours.log_prob(vm), theirs.log_prob(vt), "log_prob of vectors")
    ours, theirs = ours.expand(expanded), theirs.expand(expanded)
    assert (ours.batch_shape, ours.event_shape) == (theirs.batch_shape, theirs.event_shape)
    close(ours.log_prob(vm), theirs.log_prob(vt), "log_prob, expanded")


def test_errors_as_torchs():
    normal = MD.Normal(mg.tensor(0.0), mg.tensor(1.0))
    with pytest.raises(ValueError, match="list of Transforms"):
        MD.TransformedDistribution(normal, [lambda x: x])
    with pytest.raises(ValueError):
        TD.TransformedDistribution(TD.Normal(0.0, 1.0), [lambda x: x])
    with pytest.raises(ValueError, match="cache_size must be 0"):
        MD.TanhTransform(cache_size=2)
    with pytest.raises(ValueError):
        TD.TanhTransform(cache_size=2)
    cached = MD.TanhTransform().with_cache()  # a copy that keeps the last (x, y)
    x = mg.tensor([0.3, -2.0], dtype=mg.float64)
    assert cached.inv(cached(x)) is x
    nothing = MD.ComposeTransform([])  # no parts: the identity, log |dy/dx| = 0
    assert nothing(x) is x and torch.equal(nothing.log_abs_det_jacobian(x, x)._data, x._data * 0)
    vectors = MD.TransformedDistribution(
        MD.Normal(mg.zeros(3), mg.ones(3)), [MD.AffineTransform(0.0, 2.0, event_dim=1)]
    )
    with pytest.raises(NotImplementedError, match="distributions over numbers"):
        vectors.cdf(mg.zeros(3))
