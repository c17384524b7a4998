"""nn.utils.clip_grad_norm_ and clip_grad_value_ against torch's: the same gradients after
clipping, the same returned norm, for drawn gradients, norm orders and thresholds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg

SHAPES = st.lists(
    st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple), min_size=1, max_size=4
)


def _pair(shapes, seed, with_grad):
    """The same parameters, with the same gradients (None where with_grad says so), in both."""
    generator = np.random.default_rng(seed)
    ours, theirs = [], []
    for shape, has_grad in zip(shapes, with_grad):
        value = generator.normal(size=shape) * generator.uniform(0.1, 10)
        grad = generator.normal(size=shape) * generator.uniform(0.1, 10)
        mine, reference = (
            mg.tensor(value, requires_grad=True),
            torch.tensor(value, requires_grad=True),
        )
        if has_grad:
            mine.grad, reference.grad = mg.tensor(grad), torch.tensor(grad)
        ours.append(mine)
        theirs.append(reference)
    return ours, theirs


@given(
    shapes=SHAPES,
    seed=st.integers(0, 2**32 - 1),
    max_norm=st.floats(0.01, 100.0),
    norm_type=st.sampled_from([1.0, 2.0, 3.0, math.inf]),
    data=st.data(),
)
def test_clip_grad_norm_matches_torch(shapes, seed, max_norm, norm_type, data):
    with_grad = data.draw(st.lists(st.booleans(), min_size=len(shapes), max_size=len(shapes)))
    ours, theirs = _pair(shapes, seed, with_grad)
    total_ours = mg.nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    total_theirs = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    torch.testing.assert_close(
        total_ours._data, total_theirs, rtol=1e-12, atol=0, check_dtype=False
    )
    for mine, reference in zip(ours, theirs):
        assert (mine.grad is None) == (reference.grad is None)
        if mine.grad is not None:
            torch.testing.assert_close(mine.grad._data, reference.grad, rtol=1e-12, atol=1e-300)


@given(shapes=SHAPES, seed=st.integers(0, 2**32 - 1), clip_value=st.floats(0.01, 10.0))
def test_clip_grad_value_matches_torch(shapes, seed, clip_value):
    ours, theirs = _pair(shapes, seed, [True] * len(shapes))
    mg.nn.utils.clip_grad_value_(ours, clip_value)
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    for mine, reference in zip(ours, theirs):
        assert torch.equal(mine.grad._data, reference.grad)


def test_a_short_gradient_is_left_as_it_was_and_a_long_one_keeps_its_direction():
    short = mg.tensor([3.0, 4.0], requires_grad=True)
    short.grad = mg.tensor([0.3, 0.4])
    assert mg.nn.utils.clip_grad_norm_(short, max_norm=1.0).item() == pytest.approx(0.5)
    assert short.grad.tolist() == pytest.approx([0.3, 0.4])
    long = mg.tensor([3.0, 4.0], requires_grad=True)
    long.grad = mg.tensor([30.0, 40.0])
    assert mg.nn.utils.clip_grad_norm_([long], max_norm=1.0).item() == pytest.approx(50.0)
    assert long.grad.tolist() == pytest.approx([0.6, 0.8], rel=1e-6)


def test_no_gradients_give_a_zero_norm_and_a_nonfinite_norm_can_be_refused():
    nothing = mg.zeros(3, requires_grad=True)
    assert mg.nn.utils.clip_grad_norm_([nothing], 1.0).item() == 0.0
    broken = mg.zeros(2, requires_grad=True)
    broken.grad = mg.tensor([1.0, float("inf")])
    with pytest.raises(RuntimeError, match="non-finite, so it cannot be clipped"):
        mg.nn.utils.clip_grad_norm_([broken], 1.0, error_if_nonfinite=True)
    reference = torch.zeros(2, requires_grad=True)
    reference.grad = torch.tensor([1.0, float("inf")])
    with pytest.raises(RuntimeError, match="non-finite, so it cannot be clipped"):
        torch.nn.utils.clip_grad_norm_([reference], 1.0, error_if_nonfinite=True)


def test_clipping_inside_a_training_step_matches_torch():
    """Backward, clip, step: a small model trained five steps as torch's, clipping every step."""
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    theirs = theirs.double()
    ours = mg.nn.Sequential(mg.nn.Linear(4, 8), mg.nn.Tanh(), mg.nn.Linear(8, 1)).double()
    ours.load_state_dict(theirs.state_dict())
    opt_ours = mg.optim.SGD(ours.parameters(), lr=0.5)
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.5)
    x, y = torch.randn(16, 4, dtype=torch.float64) * 5, torch.randn(16, 1, dtype=torch.float64)
    for _ in range(5):
        for model, opt, clip, wrap in (
            (ours, opt_ours, mg.nn.utils.clip_grad_norm_, mg.tensor),
            (theirs, opt_theirs, torch.nn.utils.clip_grad_norm_, lambda t: t),
        ):
            opt.zero_grad()
            ((model(wrap(x)) - wrap(y)) ** 2).mean().backward()
            clip(model.parameters(), 0.1)
            opt.step()
    for mine, reference in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(mine._data, reference.detach(), rtol=1e-12, atol=1e-14)
