"""minigrad.special against torch.special, in float64 over values Hypothesis draws: values,
first derivatives and (for the ops of their own: erfc, ndtri, log_ndtr) second derivatives
against torch autograd, including far in the tails where a composition would lose its digits;
and torch's errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.testing import assert_matches_torch
from minigrad.testing import strategies as mst

RTOL, ATOL = 1e-7, 1e-12

CASES = {  # name: (where the values lie, the arguments after x, second derivatives too)
    "erf": ((-4, 4), (), False),
    "erfc": ((-5, 9), (), True),  # erfc(9) = 4e-37: 1 - erf(9) would be 0
    "erfinv": ((-0.95, 0.95), (), False),
    "expit": ((-30, 30), (), False),
    "logit": ((0.02, 0.98), (), False),
    "gammaln": ((0.2, 8), (), False),
    "digamma": ((0.2, 8), (), False),
    "psi": ((0.2, 8), (), False),
    "ndtr": ((-6, 8), (), False),  # below, torch's loses digits: see the next test
    "ndtri": ((1e-9, 1 - 1e-9), (), True),
    "log_ndtr": ((-40, 6), (), True),  # Phi(-40) underflows; its log does not
    "exp2": ((-10, 10), (), False),
    "expm1": ((-3, 3), (), False),
    "log1p": ((-0.9, 3), (), False),
    "sinc": ((0.1, 3), (), False),
}


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_each_function_and_its_gradient_match_torch_special(name, data):
    """Relative tolerance only (atol 1e-300): in the tails the values are tiny (erfc(9) =
    4e-37), and a composition that loses them (1 - erf) must fail here."""
    (low, high), args, second = CASES[name]
    x = data.draw(mst.float_arrays(mst.shapes(max_rank=2), low, high))
    ours = getattr(mg.special, name)
    theirs = getattr(torch.special, name)
    for order in (1, 2) if second else (1,):
        assert_matches_torch(
            lambda t: ours(t, *args),
            lambda t: theirs(t, *args),
            x,
            rtol=RTOL,
            atol=1e-300,
            name=name,
            order=order,
        )


@given(mst.float_arrays(mst.shapes(max_rank=2), -5, 9))
def test_erfc_as_a_function_and_a_method_as_torch(x):
    """torch.erfc(x) and x.erfc(), beside torch.special.erfc: one op, the same digits."""
    for ours, theirs in ((mg.erfc, torch.erfc), (mg.Tensor.erfc, torch.Tensor.erfc)):
        assert_matches_torch(ours, theirs, x, rtol=RTOL, atol=1e-300, name="erfc", order=2)


@given(mst.float_arrays(mst.shapes(max_rank=2), -30, 8))
@example(np.array([-7.0, -10.0, -30.0]))
def test_ndtr_keeps_its_digits_in_the_left_tail(x):
    """ndtr = erfc(-x / sqrt 2) / 2 against Python's math.erfc, and its gradient against the
    normal density, to 1e-12 relative, far into the left tail. (torch 2.13's CPU ndtr is off by
    2e-6 at -7, 2% at -8 and 100% at -10: 0 for 7.6e-24.)"""
    t = mg.tensor(x, requires_grad=True)
    out = mg.special.ndtr(t)
    exact = np.vectorize(lambda v: 0.5 * math.erfc(-v / math.sqrt(2)))(x)
    np.testing.assert_allclose(out._data.numpy(), exact, rtol=1e-12, atol=0)
    out.sum().backward()
    density = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(t.grad._data.numpy(), density, rtol=1e-12, atol=0)


@given(
    x=mst.float_arrays(mst.shapes(max_rank=2), 0.01, 0.99),
    eps=st.sampled_from([None, 0.05, 0.2]),
)
def test_logit_with_eps_clamps_first_as_torch(x, eps):
    assert_matches_torch(
        lambda t: mg.special.logit(t, eps=eps),
        lambda t: torch.special.logit(t, eps=eps),
        x,
        rtol=RTOL,
        atol=ATOL,
    )


@given(p=st.integers(1, 4), data=st.data())
def test_multigammaln_matches_torch(p, data):
    a = data.draw(mst.float_arrays(mst.shapes(max_rank=2), (p - 1) / 2 + 0.1, 6))
    assert_matches_torch(
        lambda t: mg.special.multigammaln(t, p),
        lambda t: torch.special.multigammaln(t, p),
        a,
        rtol=RTOL,
        atol=ATOL,
    )


@given(mst.float_arrays(mst.shapes(max_rank=2), -8, 8), st.integers(0, 3), st.data())
@example(np.array([-6.0, 0.0, 6.0]), 0, None)
def test_round_polygamma_softmax_and_xlogy_forms_match_torch(x, n, data):
    assert_matches_torch(mg.special.round, torch.special.round, x, rtol=RTOL, atol=ATOL)
    positive = np.abs(x) + 0.5
    assert_matches_torch(
        lambda t: mg.special.polygamma(n, t),
        lambda t: torch.special.polygamma(n, t),
        positive,
        rtol=RTOL,
        atol=ATOL,
    )
    if x.ndim:
        for name in ("softmax", "log_softmax"):
            ours, theirs = getattr(mg.special, name), getattr(torch.special, name)
            assert_matches_torch(
                lambda t, f=ours: f(t, -1),
                lambda t, f=theirs: f(t, -1),
                x,
                rtol=RTOL,
                atol=ATOL,
            )
        assert_matches_torch(
            lambda t: mg.special.logsumexp(t, -1),
            lambda t: torch.special.logsumexp(t, -1),
            x,
            rtol=RTOL,
            atol=ATOL,
        )
    assert_matches_torch(
        lambda t, u: mg.special.xlogy(t, u),
        lambda t, u: torch.special.xlogy(t, u),
        x,
        positive,
        rtol=RTOL,
        atol=ATOL,
    )


def test_errors_and_edges_as_torch():
    with pytest.raises(RuntimeError, match="p must be at least 1"):
        mg.special.multigammaln(mg.tensor([0.4]), 0)
    with pytest.raises(RuntimeError):
        torch.special.multigammaln(torch.tensor([0.4]), 0)
    below = mg.special.multigammaln(mg.tensor([0.4], dtype=mg.float64), 2)  # under (p - 1) / 2
    expected = torch.special.multigammaln(torch.tensor([0.4], dtype=torch.float64), 2)
    torch.testing.assert_close(below._data, expected, rtol=RTOL, atol=ATOL)
    with pytest.raises(AttributeError, match="torch.special.zeta exists"):
        mg.special.zeta  # noqa: B018
