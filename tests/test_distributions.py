"""minigrad.distributions against torch.distributions: log_prob, cdf, icdf, entropy, mean, mode,
variance and kl_divergence, values and gradients with respect to every parameter (and the value)
in float64, over parameters and values Hypothesis draws strictly inside each support and off
every kink (|x - loc| = 0 for a Laplace) by construction; samples and rsamples equal to torch's
under the same seed, and rsample's gradient; shapes, expand, the argument checks, the KL
registry, and a REINFORCE loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as TD
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.distributions as MD
from minigrad.testing import assert_close
from minigrad.testing import strategies as mst

TOL = dict(rtol=1e-9, atol=1e-12)
LIBS = {MD: mg, TD: torch}  # each distributions package and its tensor library


def flat(lib, *outputs):
    """The outputs as one vector, so one comparison (and one random upstream gradient) checks
    every output's values and its gradient with respect to every input."""
    return LIBS[lib].cat([out.reshape(-1) for out in outputs])


def scores(lib, p, value, q=None, probabilities=None, moments=True):
    """Everything p computes from its parameters: log_prob(value), entropy, the moments, cdf and
    icdf where the family has them, and kl_divergence(p, q)."""
    outputs = [p.log_prob(value), p.entropy()]
    if moments:
        outputs += [p.mean, p.variance, p.stddev]
    if probabilities is not None:
        outputs += [p.cdf(value), p.icdf(probabilities)]
    if q is not None:
        outputs.append(lib.kl_divergence(p, q))
    return flat(lib, *outputs)


def matches(fn, *arrays):
    """fn(MD, *inputs) equals fn(TD, *inputs), and so do the gradients of a random weighting
    of its outputs with respect to every float input (the value included)."""
    ours, theirs = [], []
    for array in arrays:
        data = torch.as_tensor(np.asarray(array))
        differentiable = data.is_floating_point()
        ours.append(mg.tensor(data.clone(), requires_grad=differentiable))
        theirs.append(data.clone().requires_grad_(differentiable))
    got, want = fn(MD, *ours), fn(TD, *theirs)
    assert_close(got._data, want, what="forward", **TOL)
    upstream = torch.randn(want.shape, dtype=want.dtype, generator=torch.Generator().manual_seed(0))
    got.backward(upstream)
    inputs = [i for i, t in enumerate(theirs) if t.requires_grad]
    grads = torch.autograd.grad(want, [theirs[i] for i in inputs], upstream, allow_unused=True)
    for i, expected in zip(inputs, grads):
        if expected is None:
            assert ours[i].grad is None, f"argument {i}: minigrad gives a gradient, torch none"
        else:
            assert ours[i].grad is not None, f"argument {i}: torch gives a gradient, minigrad none"
            assert_close(ours[i].grad._data, expected, what=f"gradient of argument {i}", **TOL)


def signed(draw, shape, low, high):
    """Values of |v| in [low, high] with random signs: offsets kept off 0."""
    size = draw(mst.float_arrays(shape, low, high))
    return size * np.where(draw(mst.float_arrays(shape, -1, 1)) >= 0, 1.0, -1.0)


# ---- the univariate families: one shape, every parameter and the value drawn ------------------


@st.composite
def univariate_cases(draw):
    """A family, its parameters and a second distribution's for the KL, a value inside the
    support, and for cdf/icdf a probability in (0, 1) (off 1/2 for the Laplace's kink)."""
    family = draw(st.sampled_from(["Normal", "Laplace", "Exponential", "Uniform"]))
    shape = draw(mst.shapes(0, 2, max_side=3))
    value_shape = draw(st.sampled_from([shape, (2, *shape), shape[1:]]))  # broadcasting values
    positive = lambda: draw(mst.float_arrays(shape, 0.2, 3.0))  # noqa: E731
    probabilities = draw(mst.float_arrays(value_shape, 0.02, 0.45))
    if family == "Exponential":
        value = draw(mst.float_arrays(value_shape, 0.01, 5.0))
        return family, (positive(),), (positive(),), value, probabilities
    if family == "Uniform":
        low, width = draw(mst.float_arrays(shape, -3, 3)), positive()
        fraction = draw(mst.float_arrays(value_shape, 0.05, 0.95))
        value = low + fraction * width
        covering = (low - positive(), low + width + positive())  # q's interval covers p's
        return family, (low, low + width), covering, value, probabilities
    loc, scale = draw(mst.float_arrays(shape, -3, 3)), positive()
    value = loc + signed(draw, value_shape, 0.05, 4.0)
    q = (loc + signed(draw, shape, 0.05, 3.0), positive())  # off |loc_p - loc_q| = 0
    if family == "Laplace":
        probabilities = probabilities + 0.5 * draw(st.sampled_from([0.0, 1.05]))
    return family, (loc, scale), q, value, probabilities


@given(univariate_cases())
@settings(max_examples=25)
def test_univariate_scores_and_gradients_match_torch(case):
    family, p_params, q_params, value, probabilities = case
    k = len(p_params)

    def fn(lib, *t):
        cls = getattr(lib, family)
        p, q = cls(*t[:k]), cls(*t[k : 2 * k])
        return scores(lib, p, t[-2], q, t[-1])

    matches(fn, *p_params, *q_params, value, probabilities)


# ---- the discrete families: probs or logits ---------------------------------------------------


@st.composite
def discrete_cases(draw):
    """Bernoulli, Categorical or OneHotCategorical from probs (unnormalised weights for the
    categoricals) or logits, a second one for the KL, and values of the support."""
    family = draw(st.sampled_from(["Bernoulli", "Categorical", "OneHotCategorical"]))
    batch = draw(mst.shapes(0, 2, max_side=3))
    by = draw(st.sampled_from(["probs", "logits"]))
    k = draw(st.integers(2, 4))
    shape = batch if family == "Bernoulli" else (*batch, k)
    low, high = (0.05, 0.95) if by == "probs" else (-4.0, 4.0)
    p, q = draw(mst.float_arrays(shape, low, high)), draw(mst.float_arrays(shape, low, high))
    value_shape = draw(st.sampled_from([batch, (2, *batch)]))
    if family == "Bernoulli":
        value = draw(mst.float_arrays(value_shape, 0, 1)).round()
    else:
        value = draw(category_indices(value_shape, k))
        if family == "OneHotCategorical":
            value = np.eye(k)[value]
    return family, by, p, q, value


def category_indices(shape, k):
    """Integer arrays of outcomes 0..k-1."""
    return mst.float_arrays(shape, 0, k - 1).map(lambda a: a.round().astype(np.int64))


@given(discrete_cases())
@settings(max_examples=25)
def test_discrete_scores_and_gradients_match_torch(case):
    family, by, p_param, q_param, value = case
    moments = family != "Categorical"  # an index has no mean: NaN, checked in its own test

    def fn(lib, p_param, q_param, value):
        cls = getattr(lib, family)
        p, q = cls(**{by: p_param}), cls(**{by: q_param})
        return flat(lib, scores(lib, p, value, q, moments=moments), p.probs, p.logits)

    matches(fn, p_param, q_param, value)


def test_categorical_mean_variance_and_modes_are_torchs():
    probs = torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]], dtype=torch.float64)
    for name in ("Categorical", "OneHotCategorical", "Bernoulli"):
        ours, theirs = getattr(MD, name)(probs=mg.tensor(probs)), getattr(TD, name)(probs=probs)
        for attribute in ("mean", "variance", "mode"):
            torch.testing.assert_close(
                getattr(ours, attribute)._data, getattr(theirs, attribute), equal_nan=True
            )
    # a Bernoulli's mode at p = 1/2 is undefined: NaN, as torch's
    half = MD.Bernoulli(probs=mg.tensor([0.5, 0.7])).mode._data
    assert torch.isnan(half[0]) and half[1] == 1


# ---- MultivariateNormal and Independent --------------------------------------------------------


@st.composite
def multivariate_cases(draw):
    """loc, a positive-definite matrix given as covariance, precision or scale_tril (a lower
    triangle with a diagonal in [0.5, 2], well conditioned), a value, and a second one for the
    KL, with batch dims that broadcast between loc and the matrix."""
    n = draw(st.integers(1, 3))
    by = draw(st.sampled_from(["covariance_matrix", "precision_matrix", "scale_tril"]))
    loc_batch, matrix_batch = draw(
        st.sampled_from([((), ()), ((2,), ()), ((), (2,)), ((2,), (2,))])
    )

    def matrix():
        L = np.tril(draw(mst.float_arrays((*matrix_batch, n, n), -0.5, 0.5)), -1)
        L = L + np.eye(n) * draw(mst.float_arrays((*matrix_batch, n, 1), 0.5, 2.0))
        return L if by == "scale_tril" else L @ np.swapaxes(L, -1, -2)

    loc = lambda: draw(mst.float_arrays((*loc_batch, n), -2, 2))  # noqa: E731
    batch = np.broadcast_shapes(loc_batch, matrix_batch)
    value = draw(mst.float_arrays((*draw(st.sampled_from([(), (3,)])), *batch, n), -3, 3))
    return by, loc(), matrix(), loc(), matrix(), value


@given(multivariate_cases())
@settings(max_examples=10)
def test_multivariate_normal_matches_torch(case):
    by, p_loc, p_matrix, q_loc, q_matrix, value = case

    def fn(lib, p_loc, p_matrix, q_loc, q_matrix, value):
        # (the checks' own Cholesky factorisations are left out here: tested on their own)
        p = lib.MultivariateNormal(p_loc, **{by: p_matrix}, validate_args=False)
        q = lib.MultivariateNormal(q_loc, **{by: q_matrix}, validate_args=False)
        matrices = (p.covariance_matrix, p.precision_matrix, p.scale_tril)
        return flat(lib, scores(lib, p, value, q), *matrices)

    matches(fn, p_loc, p_matrix, q_loc, q_matrix, value)


@given(st.data())
@settings(max_examples=10)
def test_independent_sums_the_reinterpreted_dims_as_torch(data):
    shape = data.draw(mst.shapes(1, 3, max_side=3))
    ndims = data.draw(st.integers(0, len(shape)))
    loc, q_loc = (data.draw(mst.float_arrays(shape, -3, 3)) for _ in range(2))
    scale, q_scale = (data.draw(mst.float_arrays(shape, 0.2, 3)) for _ in range(2))
    value = data.draw(mst.float_arrays(shape, -3, 3))

    def fn(lib, loc, scale, q_loc, q_scale, value):
        p = lib.Independent(lib.Normal(loc, scale), ndims)
        q = lib.Independent(lib.Normal(q_loc, q_scale), ndims)
        assert p.batch_shape == shape[: len(shape) - ndims]
        assert p.event_shape == shape[len(shape) - ndims :]
        return scores(lib, p, value, q)

    matches(fn, loc, scale, q_loc, q_scale, value)


# ---- random draws: torch's numbers under the same seed ----------------------------------------


def build(lib, family, params):
    """A distribution of each family from float64 numpy parameters (minigrad's require grad)."""
    tensors = [
        mg.tensor(torch.as_tensor(a), requires_grad=True) if lib is MD else torch.as_tensor(a)
        for a in params
    ]
    if lib is TD:
        tensors = [t.requires_grad_() for t in tensors]
    if family == "MultivariateNormal":
        return lib.MultivariateNormal(tensors[0], scale_tril=tensors[1]), tensors
    if family in ("Bernoulli", "Categorical", "OneHotCategorical"):
        return getattr(lib, family)(probs=tensors[0]), tensors
    return getattr(lib, family)(*tensors), tensors


CONTINUOUS = ["Normal", "Laplace", "Exponential", "Uniform", "MultivariateNormal"]


@st.composite
def sampling_cases(draw):
    family = draw(st.sampled_from([*CONTINUOUS, "Bernoulli", "Categorical", "OneHotCategorical"]))
    batch = draw(mst.shapes(0, 2, max_side=3))
    positive = lambda shape: draw(mst.float_arrays(shape, 0.2, 3.0))  # noqa: E731
    if family in ("Normal", "Laplace"):
        params = [draw(mst.float_arrays(batch, -3, 3)), positive(batch)]
    elif family == "Exponential":
        params = [positive(batch)]
    elif family == "Uniform":
        low = draw(mst.float_arrays(batch, -3, 3))
        params = [low, low + positive(batch)]
    elif family == "MultivariateNormal":
        n = draw(st.integers(1, 3))
        L = np.tril(draw(mst.float_arrays((*batch, n, n), -1, 1)), -1) + 2 * np.eye(n)
        params = [draw(mst.float_arrays((*batch, n), -3, 3)), L]
    elif family == "Bernoulli":
        params = [draw(mst.float_arrays(batch, 0.0, 1.0))]
    else:
        params = [draw(mst.float_arrays((*batch, draw(st.integers(1, 4))), 0.1, 1.0))]
    sample_shape = draw(st.sampled_from([(), (2,), (3, 1)]))
    return family, params, sample_shape, draw(st.integers(0, 2**16))


@given(sampling_cases())
@settings(max_examples=30)
def test_samples_and_rsamples_are_torchs_under_the_same_seed(case):
    family, params, sample_shape, seed = case
    ours, our_params = build(MD, family, params)
    theirs, their_params = build(TD, family, params)
    torch.manual_seed(seed)
    ours_drawn = ours.sample(sample_shape)
    torch.manual_seed(seed)
    theirs_drawn = theirs.sample(sample_shape)
    assert (
        ours_drawn.shape == theirs.sample(sample_shape).shape == ours._extended_shape(sample_shape)
    )
    torch.testing.assert_close(ours_drawn._data, theirs_drawn, rtol=0, atol=0)
    assert not ours_drawn.requires_grad  # sample() is cut off from the graph
    if family not in CONTINUOUS:
        assert not ours.has_rsample
        return
    assert ours.has_rsample
    torch.manual_seed(seed)
    ours_drawn = ours.rsample(sample_shape)
    torch.manual_seed(seed)
    theirs_drawn = theirs.rsample(sample_shape)
    torch.testing.assert_close(ours_drawn._data, theirs_drawn, **TOL)
    # the reparameterization trick: the draw's gradient reaches every parameter, as torch's
    upstream = torch.randn(theirs_drawn.shape, dtype=torch.float64)
    ours_drawn.backward(upstream)
    expected = torch.autograd.grad(theirs_drawn, their_params, upstream)
    for mine, want in zip(our_params, expected):
        torch.testing.assert_close(mine.grad._data, want, **TOL)


# ---- shapes, expand, scalars -------------------------------------------------------------------


@given(st.data())
@settings(max_examples=8)
def test_shapes_broadcasting_and_expand_are_torchs(data):
    batch = data.draw(mst.shapes(0, 2, max_side=3))
    loc = torch.as_tensor(data.draw(mst.float_arrays(batch, -3, 3)))
    extra = data.draw(st.sampled_from([(), (2,), (4, 1)]))
    sample_shape = data.draw(st.sampled_from([(), (2,), (3, 2)]))
    n = 2
    cases = [
        (lambda lib, x: lib.Normal(x, 1.0), loc),  # a number broadcast against a tensor
        (lambda lib, x: lib.Uniform(x - 1, 2.0), loc),
        (lambda lib, x: lib.Bernoulli(logits=x), loc),
        (lambda lib, x: lib.Categorical(logits=x), loc.unsqueeze(-1).expand(*batch, 3)),
        (lambda lib, x: lib.OneHotCategorical(logits=x), loc.unsqueeze(-1).expand(*batch, 3)),
        (
            lambda lib, x: lib.MultivariateNormal(
                x, torch_or_mg(lib, torch.eye(n, dtype=torch.float64))
            ),
            loc[..., None].expand(*batch, n),
        ),
        (lambda lib, x: lib.Independent(lib.Normal(x, 1.0), min(1, len(batch))), loc),
    ]
    for make, param in cases:
        ours, theirs = make(MD, mg.tensor(param)), make(TD, param)
        assert (ours.batch_shape, ours.event_shape) == (theirs.batch_shape, theirs.event_shape)
        assert ours.sample(sample_shape).shape == theirs.sample(sample_shape).shape
        new_batch = (*extra, *theirs.batch_shape)
        ours_big, theirs_big = ours.expand(new_batch), theirs.expand(new_batch)
        assert type(ours_big) is type(ours)
        assert (ours_big.batch_shape, ours_big.event_shape) == (
            theirs_big.batch_shape,
            theirs_big.event_shape,
        )
        value = theirs_big.sample()
        torch.testing.assert_close(
            ours_big.log_prob(mg.tensor(value))._data, theirs_big.log_prob(value), **TOL
        )
    assert MD.Normal(0.0, 1.0).batch_shape == torch.Size()
    assert MD.Normal(0.0, 1.0).log_prob(mg.tensor(0.5)).dtype == torch.get_default_dtype()


def torch_or_mg(lib, tensor):
    return mg.tensor(tensor) if lib is MD else tensor


# ---- argument checks ---------------------------------------------------------------------------

EYE = [[1.0, 0.0], [0.0, 1.0]]
# (name, a bad construction or call given a distributions package D and its tensor maker t,
#  words minigrad's message holds)
BAD_ARGUMENTS = [
    ("Normal", lambda D, t: D.Normal(t([0.0]), t([-1.0])), "scale"),
    ("Normal value", lambda D, t: D.Normal(t([0.0]), t([1.0])).log_prob(t([np.nan])), "support"),
    ("Laplace", lambda D, t: D.Laplace(t([0.0]), t([0.0])), "scale"),
    ("Exponential", lambda D, t: D.Exponential(t([-2.0])), "rate"),
    ("Exponential value", lambda D, t: D.Exponential(t([2.0])).log_prob(t([-1.0])), "support"),
    ("Uniform", lambda D, t: D.Uniform(t([1.0]), t([0.0])), "low"),
    ("Uniform value", lambda D, t: D.Uniform(t([0.0]), t([1.0])).log_prob(t([2.0])), "support"),
    ("Bernoulli", lambda D, t: D.Bernoulli(probs=t([1.5])), "probs"),
    ("Bernoulli both", lambda D, t: D.Bernoulli(probs=t([0.5]), logits=t([0.0])), "not both"),
    ("Bernoulli value", lambda D, t: D.Bernoulli(probs=t([0.5])).log_prob(t([0.5])), "support"),
    ("Categorical", lambda D, t: D.Categorical(probs=t([0.5, -0.5])), "probs"),
    ("Categorical 0-d", lambda D, t: D.Categorical(logits=t(1.0)), "one-dimensional"),
    ("Categorical value", lambda D, t: D.Categorical(t([0.5, 0.5])).log_prob(t(2.0)), "support"),
    (
        "OneHot value",
        lambda D, t: D.OneHotCategorical(t([0.5, 0.5])).log_prob(t([1.0, 1.0])),
        "support",
    ),
    (
        "value shape",
        lambda D, t: D.Normal(t([0.0, 1.0]), 1.0).log_prob(t([1.0, 2.0, 3.0])),
        "broadcastable",
    ),
    (
        "event shape",
        lambda D, t: D.MultivariateNormal(t([0.0, 0.0]), t(EYE)).log_prob(t([1.0])),
        "event_shape",
    ),
    (
        "not positive-definite",
        lambda D, t: D.MultivariateNormal(t([0.0, 0.0]), t([[1.0, 2.0], [2.0, 1.0]])),
        "covariance_matrix",
    ),
    (
        "not lower-triangular",
        lambda D, t: D.MultivariateNormal(t([0.0, 0.0]), scale_tril=t([[1.0, 1.0], [0.0, 1.0]])),
        "scale_tril",
    ),
    (
        "two matrices",
        lambda D, t: D.MultivariateNormal(t([0.0]), t([[1.0]]), scale_tril=t([[1.0]])),
        "Exactly one",
    ),
    (
        "Independent",
        lambda D, t: D.Independent(D.Normal(t([0.0]), t([1.0])), 2),
        "reinterpreted_batch_ndims",
    ),
]


@pytest.mark.parametrize(
    "make, words", [c[1:] for c in BAD_ARGUMENTS], ids=[c[0] for c in BAD_ARGUMENTS]
)
def test_bad_arguments_raise_torchs_value_error(make, words):
    with pytest.raises(ValueError):
        make(TD, torch.tensor)
    with pytest.raises(ValueError, match=words):
        make(MD, mg.tensor)


def test_validate_args_false_lets_values_through_as_torch():
    ours = MD.Normal(mg.tensor([0.0]), mg.tensor([-1.0]), validate_args=False)
    theirs = TD.Normal(torch.tensor([0.0]), torch.tensor([-1.0]), validate_args=False)
    value = torch.tensor([0.5])
    torch.testing.assert_close(
        ours.log_prob(mg.tensor(value))._data, theirs.log_prob(value), equal_nan=True
    )
    out_of_support = MD.Uniform(0.0, 1.0, validate_args=False).log_prob(mg.tensor(2.0))
    assert out_of_support._data == -torch.inf


# ---- the KL registry ---------------------------------------------------------------------------


def test_kl_of_an_unregistered_pair_raises_and_register_kl_adds_one():
    normal, laplace = MD.Normal(0.0, 1.0), MD.Laplace(0.0, 1.0)
    with pytest.raises(NotImplementedError, match="Exponential.*Laplace"):
        MD.kl_divergence(MD.Exponential(1.0), laplace)
    with pytest.raises(NotImplementedError):
        TD.kl_divergence(TD.Exponential(1.0), TD.Laplace(0.0, 1.0))

    class MyNormal(MD.Normal):
        pass

    # a subclass uses its base class's formula until it registers one of its own
    torch.testing.assert_close(
        MD.kl_divergence(MyNormal(0.0, 2.0), normal)._data,
        MD.kl_divergence(MD.Normal(0.0, 2.0), normal)._data,
    )
    MD.register_kl(MyNormal, MD.Laplace)(lambda p, q: p.loc * 0 + 7.0)
    assert MD.kl_divergence(MyNormal(0.0, 1.0), laplace).item() == 7.0
    with pytest.raises(TypeError):
        MD.register_kl(int, MD.Normal)


def test_kl_is_infinite_where_q_misses_ps_mass_as_torchs():
    ours = MD.kl_divergence(MD.Uniform(0.0, 2.0), MD.Uniform(mg.tensor([0.5, -1.0]), 3.0))
    theirs = TD.kl_divergence(TD.Uniform(0.0, 2.0), TD.Uniform(torch.tensor([0.5, -1.0]), 3.0))
    torch.testing.assert_close(ours._data, theirs)
    probs = torch.tensor([[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]])
    q = torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]])
    ours = MD.kl_divergence(
        MD.Categorical(probs=mg.tensor(probs)), MD.Categorical(probs=mg.tensor(q))
    )
    theirs = TD.kl_divergence(TD.Categorical(probs=probs), TD.Categorical(probs=q))
    torch.testing.assert_close(ours._data, theirs)
    p1 = torch.tensor([0.0, 1.0, 0.3])
    ours = MD.kl_divergence(
        MD.Bernoulli(probs=mg.tensor(p1)), MD.Bernoulli(probs=mg.tensor([0.5, 0.0, 1.0]))
    )
    theirs = TD.kl_divergence(
        TD.Bernoulli(probs=p1), TD.Bernoulli(probs=torch.tensor([0.5, 0.0, 1.0]))
    )
    torch.testing.assert_close(ours._data, theirs)


# ---- REINFORCE ---------------------------------------------------------------------------------


@given(st.data())
@settings(max_examples=10)
def test_reinforce_loss_gradient_is_torchs(data):
    """A policy's logits = states @ W; the loss -log_prob(action) * reward, summed: its gradient
    with respect to W is the score-function estimator's, equal to torch's."""
    batch, features, actions = data.draw(st.integers(1, 4)), 3, data.draw(st.integers(2, 4))
    states = data.draw(mst.float_arrays((batch, features), -2, 2))
    weights = data.draw(mst.float_arrays((features, actions), -1, 1))
    rewards = data.draw(mst.float_arrays((batch,), -1, 1))
    seed = data.draw(st.integers(0, 1000))

    def fn(lib, states, weights, rewards):
        torch.manual_seed(seed)
        policy = lib.Categorical(logits=states @ weights)
        action = policy.sample()
        return (-policy.log_prob(action) * rewards).sum()

    matches(fn, states, weights, rewards)
