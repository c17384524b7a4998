"""Muon against torch.optim.Muon: parameters and momentum buffers equal to the bit after every
step, float32 and float64, over matrix shapes (tall, wide, square) and settings Hypothesis
draws; its defaults, repr, state_dict and errors are torch's; minigrad.compile replays its
step as eager runs it."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_compile import assert_replays_as_eager, optimizer_step

import minigrad as mg
from minigrad import nn

settings_drawn = st.fixed_dictionaries(
    {},
    optional={
        "lr": st.sampled_from([1e-3, 0.02, 0.3]),
        "momentum": st.sampled_from([0.0, 0.5, 0.95]),
        "nesterov": st.booleans(),
        "weight_decay": st.sampled_from([0.0, 0.1]),
        "ns_steps": st.integers(0, 6),
        "adjust_lr_fn": st.sampled_from([None, "original", "match_rms_adamw"]),
        "eps": st.sampled_from([1e-7, 1e-2]),
    },
)
shapes = st.lists(st.tuples(st.integers(1, 6), st.integers(1, 6)), min_size=1, max_size=3)


def side_by_side(shapes, settings, dtype, seed, steps=5, groups=False):
    """The same matrices and gradients through torch's Muon and minigrad's, compared after each
    step (with groups=True, the last matrix in a group of its own, at another lr, and the first
    group's lr changed after step 2, as a scheduler changes it)."""
    gen = torch.Generator().manual_seed(seed)
    theirs = [torch.randn(s, generator=gen, dtype=dtype, requires_grad=True) for s in shapes]
    ours = [mg.Tensor(t.detach().clone(), requires_grad=True) for t in theirs]

    def params(tensors):
        if not groups or len(tensors) < 2:
            return tensors
        return [{"params": tensors[:-1]}, {"params": tensors[-1:], "lr": 0.05}]

    opt_theirs = torch.optim.Muon(params(theirs), **settings)
    opt_ours = mg.optim.Muon(params(ours), **settings)
    for step in range(steps):
        for a, b in zip(theirs, ours):
            a.grad = torch.randn(a.shape, generator=gen, dtype=dtype)
            b.grad = mg.Tensor(a.grad.clone())
        if groups and step == 2:
            opt_theirs.param_groups[0]["lr"] = opt_ours.param_groups[0]["lr"] = 0.01
        opt_theirs.step()
        opt_ours.step()
        for a, b in zip(theirs, ours):
            assert torch.equal(b._data, a.detach()), (step, (b._data - a.detach()).abs().max())
            mine, theirs_buffer = opt_ours.state[b], opt_theirs.state[a]
            assert torch.equal(mine["momentum_buffer"], theirs_buffer["momentum_buffer"]), step
    return opt_ours, opt_theirs


@settings(max_examples=20)  # (torch's Muon takes 15 ms a step here, minigrad's 0.5)
@given(shapes, settings_drawn, st.sampled_from([torch.float32, torch.float64]), st.integers(0, 99))
@example([(3, 5), (5, 3), (4, 4)], {}, torch.float32, 0)  # torch's defaults
@example([(6, 1)], {"nesterov": False, "adjust_lr_fn": "match_rms_adamw"}, torch.float64, 1)
def test_muon_steps_are_torchs_to_the_bit(shapes, settings, dtype, seed):
    side_by_side(shapes, settings, dtype, seed)


def test_muon_with_groups_and_an_lr_changed_between_steps_is_torchs():
    opt_ours, opt_theirs = side_by_side([(3, 4), (2, 5)], {"lr": 0.1}, torch.float32, 3, True)
    assert opt_ours.state_dict()["param_groups"] == opt_theirs.state_dict()["param_groups"]


def test_defaults_repr_and_state_dict_are_torchs():
    ours = mg.optim.Muon([mg.zeros(3, 2, requires_grad=True)])
    theirs = torch.optim.Muon([torch.zeros(3, 2, requires_grad=True)])
    assert ours.defaults == theirs.defaults
    assert repr(ours) == repr(theirs)
    opt_ours, opt_theirs = side_by_side([(3, 4)], {"lr": 0.1}, torch.float32, 4)
    for source in (opt_ours, opt_theirs):  # each loads the other's state and steps on as torch
        loaded = mg.optim.Muon([mg.zeros(3, 4, requires_grad=True)], lr=0.1)
        loaded.load_state_dict(copy.deepcopy(source.state_dict()))
        (mine,) = loaded.state.values()
        (reference,) = opt_theirs.state.values()
        assert torch.equal(mine["momentum_buffer"], reference["momentum_buffer"])


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda lib: lib.optim.Muon([lib.zeros(3, requires_grad=True)]), "2-d parameters"),
        (lambda lib: lib.optim.Muon([lib.zeros(2, 2, 2, requires_grad=True)]), "2-d"),
        (lambda lib: lib.optim.Muon([lib.zeros(2, 2, requires_grad=True)], lr=-1.0), "lr must"),
        (lambda lib: lib.optim.Muon([lib.zeros(2, 2, requires_grad=True)], momentum=-0.5), "mom"),
        (
            lambda lib: lib.optim.Muon([lib.zeros(2, 2, requires_grad=True)], adjust_lr_fn="x"),
            "match_rms_adamw",
        ),
    ],
)
def test_muon_refuses_what_torch_refuses(make, words):
    with pytest.raises(ValueError):
        make(torch)
    with pytest.raises(ValueError, match=words):
        make(mg)


def test_too_many_newton_schulz_steps_are_refused_at_the_step_as_torch():
    for lib in (torch, mg):
        w = lib.zeros(2, 2, requires_grad=True)
        opt = lib.optim.Muon([w], ns_steps=100)
        w.grad = lib.ones(2, 2)
        with pytest.raises(ValueError, match="100"):
            opt.step()


def test_a_compiled_step_with_muon_replays_eager_to_the_bit():
    """Muon moves the matrices, AdamW the biases (as torch's Muon asks), in one step."""

    def model_and_optimizers():
        mg.manual_seed(0)
        model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 5))
        matrices = [p for p in model.parameters() if p.ndim == 2]
        others = [p for p in model.parameters() if p.ndim != 2]
        muon, adamw = mg.optim.Muon(matrices, lr=0.02), mg.optim.AdamW(others, lr=1e-2)
        return model, Both(muon, adamw)

    eager_model, eager_opt = model_and_optimizers()
    compiled_model, compiled_opt = model_and_optimizers()
    eager = optimizer_step(eager_model, eager_opt)
    compiled = mg.compile(optimizer_step(compiled_model, compiled_opt))
    assert_replays_as_eager(compiled, eager, compiled_model, eager_model, steps=12, seed=5)
    assert compiled.replays >= 9


class Both:
    """Two optimizers stepped as one (the usual way to use Muon beside another)."""

    def __init__(self, *optimizers):
        self.optimizers = optimizers

    def step(self):
        for opt in self.optimizers:
            opt.step()

    def zero_grad(self):
        for opt in self.optimizers:
            opt.zero_grad()
