"""minigrad.optim.lr_scheduler against torch.optim.lr_scheduler.

Each schedule runs beside torch's, over settings Hypothesis draws, with an optimizer stepping
in between: the learning rates (and OneCycleLR's momenta) must be torch's exactly, at every step
(the same formulas in the same order give the same bits), and the trained parameters must agree
within the suite's tolerance.
"""

from __future__ import annotations

import copy
import math
import warnings

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import optim
from minigrad.optim import lr_scheduler

SHAPES = [(3, 2), (4,)]


class Pair:
    """The same parameters, optimizer and scheduler in minigrad and in torch."""

    def __init__(self, opt_name, opt_settings, groups=1, seed=0):
        self.gen = torch.Generator().manual_seed(seed)
        start = [torch.randn(s, dtype=torch.float64, generator=self.gen) for s in SHAPES]
        self.theirs = [t.clone().requires_grad_() for t in start]
        self.ours = [mg.Tensor(t.clone(), requires_grad=True) for t in start]

        def grouped(params):
            if groups == 1:
                return params
            return [{"params": [p]} for p in params]

        self.opt_theirs = getattr(torch.optim, opt_name)(grouped(self.theirs), **opt_settings)
        self.opt_ours = getattr(optim, opt_name)(grouped(self.ours), **opt_settings)

    def schedule(self, name, *args, **kwargs):
        self.sched_theirs = getattr(torch.optim.lr_scheduler, name)(
            self.opt_theirs, *args, **kwargs
        )
        self.sched_ours = getattr(lr_scheduler, name)(self.opt_ours, *args, **kwargs)
        self.check("after construction")

    def train_step(self):
        for p_theirs, p_ours in zip(self.theirs, self.ours):
            g = torch.randn(p_theirs.shape, dtype=torch.float64, generator=self.gen)
            p_theirs.grad, p_ours.grad = g.clone(), mg.Tensor(g.clone())
        self.opt_theirs.step()
        self.opt_ours.step()

    def step(self, where):
        self.train_step()
        self.sched_theirs.step()
        self.sched_ours.step()
        self.check(where)

    def check(self, where):
        assert self.sched_ours.get_last_lr() == self.sched_theirs.get_last_lr(), where
        assert self.sched_ours.last_epoch == self.sched_theirs.last_epoch, where
        for ours, theirs in zip(self.opt_ours.param_groups, self.opt_theirs.param_groups):
            settings = {k: v for k, v in theirs.items() if k != "params"}
            assert {k: v for k, v in ours.items() if k != "params"} == settings, where
        for p_ours, p_theirs in zip(self.ours, self.theirs):
            torch.testing.assert_close(
                p_ours._data, p_theirs.detach(), rtol=1e-7, atol=1e-9, msg=lambda m: f"{where}: {m}"
            )


def torch_state(scheduler):
    """torch's scheduler state, less the flag torch keeps for a warning of its own."""
    state = scheduler.state_dict()
    state.pop("_get_lr_called_within_step", None)
    return state


optimizers = st.sampled_from(
    [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01)), ("RMSprop", dict(lr=0.01))]
)


# ---- OneCycleLR ---------------------------------------------------------------------------------


@given(
    optimizer=optimizers,
    groups=st.integers(1, 2),
    total_steps=st.integers(2, 60),
    by_epochs=st.booleans(),
    max_lr=st.one_of(st.floats(1e-3, 1.0), st.lists(st.floats(1e-3, 1.0), min_size=2, max_size=2)),
    pct_start=st.floats(0.0, 1.0),
    anneal_strategy=st.sampled_from(["cos", "linear"]),
    cycle_momentum=st.booleans(),
    momenta=st.sampled_from([(0.85, 0.95), (0.5, 0.99)]),
    div_factor=st.sampled_from([25.0, 4.0]),
    final_div_factor=st.sampled_from([1e4, 10.0]),
    three_phase=st.booleans(),
)
@example(
    ("SGD", dict(lr=0.1, momentum=0.9)),
    1,
    30,
    False,
    0.1,
    0.3,
    "cos",
    True,
    (0.85, 0.95),
    25.0,
    1e4,
    False,
)  # fmt: skip  (the defaults)
@example(("Adam", dict(lr=0.01)), 2, 40, True, [0.1, 0.01], 0.25, "linear", True,
         (0.85, 0.95), 25.0, 1e4, True)  # fmt: skip
def test_one_cycle_matches_torch_at_every_step(
    optimizer,
    groups,
    total_steps,
    by_epochs,
    max_lr,
    pct_start,
    anneal_strategy,
    cycle_momentum,
    momenta,
    div_factor,
    final_div_factor,
    three_phase,
):
    if isinstance(max_lr, list) and groups == 1:
        max_lr = max_lr[0]
    if by_epochs and total_steps % 2 == 0:
        length = dict(epochs=2, steps_per_epoch=total_steps // 2)
    else:
        length = dict(total_steps=total_steps)
    pair = Pair(*optimizer, groups=groups)
    settings = dict(
        max_lr=max_lr,
        **length,
        pct_start=pct_start,
        anneal_strategy=anneal_strategy,
        cycle_momentum=cycle_momentum,
        base_momentum=momenta[0],
        max_momentum=momenta[1],
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        three_phase=three_phase,
    )
    try:
        torch.optim.lr_scheduler.OneCycleLR(copy.deepcopy(pair.opt_theirs), **settings)
    except ZeroDivisionError:  # a phase of no steps (pct_start * total_steps == 1)
        with pytest.raises(ZeroDivisionError):
            lr_scheduler.OneCycleLR(pair.opt_ours, **settings)
        return
    pair.schedule("OneCycleLR", **settings)
    for step in range(total_steps):
        try:
            pair.step(f"step {step + 1}")
        except ZeroDivisionError:
            with pytest.raises(ZeroDivisionError):
                pair.sched_ours.step()
            return
    assert torch_state(pair.sched_theirs) == pair.sched_ours.state_dict()
    with pytest.raises(ValueError, match=f"Tried to step {total_steps + 1} times"):
        pair.sched_ours.step()


def test_one_cycle_climbs_then_anneals_and_moves_momentum_the_other_way():
    p = mg.zeros(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=100)
    lrs, momenta = [], []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        momenta.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(1.0 / 25) and max(lrs) == pytest.approx(1.0, rel=1e-3)
    top = lrs.index(max(lrs))
    assert top == 29  # the end of the first 30% (steps 0..29)
    assert all(a < b for a, b in zip(lrs[:top], lrs[1 : top + 1]))
    assert all(a > b for a, b in zip(lrs[top:-1], lrs[top + 1 :]))
    assert lrs[-1] == pytest.approx(1.0 / 25 / 1e4, rel=1e-2)
    assert momenta[0] == 0.95 and min(momenta) == pytest.approx(0.85, rel=1e-3)
    assert momenta.index(min(momenta)) == top


# ---- CosineAnnealingLR and StepLR ---------------------------------------------------------------


@given(
    optimizer=optimizers,
    groups=st.integers(1, 2),
    t_max=st.integers(1, 12),
    eta_min=st.sampled_from([0.0, 1e-3]),
    user_lr=st.one_of(st.none(), st.tuples(st.integers(1, 30), st.floats(1e-3, 0.5))),
)
@example(("SGD", dict(lr=0.1, momentum=0.9)), 1, 10, 0.0, None)
def test_cosine_annealing_matches_torch_for_three_periods(
    optimizer, groups, t_max, eta_min, user_lr
):
    pair = Pair(*optimizer, groups=groups)
    pair.schedule("CosineAnnealingLR", T_max=t_max, eta_min=eta_min)
    for step in range(max(3 * t_max + 2, 30)):  # down, back up, down again
        if user_lr is not None and step == user_lr[0]:  # the recursive form carries it on
            for opt in (pair.opt_ours, pair.opt_theirs):
                opt.param_groups[0]["lr"] = user_lr[1]
        pair.step(f"step {step + 1}")
    assert torch_state(pair.sched_theirs) == pair.sched_ours.state_dict()


def test_cosine_annealing_follows_the_closed_form_without_interference():
    p = mg.zeros(1, requires_grad=True)
    opt = optim.SGD([p], lr=0.5)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=8, eta_min=0.1)
    for t in range(1, 9):
        opt.step()
        sched.step()
        expected = 0.1 + (0.5 - 0.1) * (1 + math.cos(t * math.pi / 8)) / 2
        assert sched.get_last_lr()[0] == pytest.approx(expected, rel=1e-12)


@given(
    optimizer=optimizers,
    groups=st.integers(1, 2),
    step_size=st.integers(1, 10),
    gamma=st.sampled_from([0.1, 0.5, 0.9]),
)
def test_step_lr_matches_torch(optimizer, groups, step_size, gamma):
    pair = Pair(*optimizer, groups=groups)
    pair.schedule("StepLR", step_size, gamma=gamma)
    for step in range(35):
        pair.step(f"step {step + 1}")
    assert torch_state(pair.sched_theirs) == pair.sched_ours.state_dict()
    base = pair.sched_ours.base_lrs[0]
    assert pair.sched_ours.get_last_lr()[0] == pytest.approx(base * gamma ** (35 // step_size))


class Warmup:
    """A callable object as lr_lambda: its attributes go into the state_dict."""

    def __init__(self, epochs):
        self.epochs = epochs

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.epochs)


@pytest.mark.parametrize(
    "name, args",
    [
        ("MultiStepLR", dict(milestones=[3, 7, 7, 12], gamma=0.5)),  # 7 twice: gamma squared
        ("ExponentialLR", dict(gamma=0.9)),
        ("LambdaLR", dict(lr_lambda=lambda epoch: 0.95**epoch)),
        ("LambdaLR", dict(lr_lambda=[Warmup(5), lambda epoch: 1 / (1 + epoch)])),
    ],
)
def test_more_schedules_match_torch(name, args):
    pair = Pair("SGD", dict(lr=0.1, momentum=0.9), groups=2)
    pair.schedule(name, **args)
    for step in range(35):
        pair.step(f"step {step + 1}")
    assert torch_state(pair.sched_theirs) == pair.sched_ours.state_dict()
    if name == "LambdaLR" and isinstance(args["lr_lambda"], list):
        fresh = lr_scheduler.LambdaLR(pair.opt_ours, [Warmup(1), lambda epoch: 1.0])
        fresh.load_state_dict(pair.sched_ours.state_dict())
        assert fresh.lr_lambdas[0].epochs == 5 and fresh.last_epoch == 35


# ---- resuming ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, args",
    [
        ("OneCycleLR", dict(max_lr=0.5, total_steps=40)),
        ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
        ("StepLR", dict(step_size=4, gamma=0.5)),
    ],
)
def test_a_schedule_resumes_from_state_dicts_as_torchs_does(name, args):
    """Stop after 12 steps, rebuild optimizer and scheduler, load both state_dicts (minigrad's,
    or torch's), go on: the same learning rates as without the stop."""
    pair = Pair("SGD", dict(lr=0.1, momentum=0.9))
    pair.schedule(name, **args)
    for step in range(12):
        pair.step(f"step {step + 1}")
    saved = [
        (pair.opt_ours.state_dict(), pair.sched_ours.state_dict()),
        (pair.opt_theirs.state_dict(), torch_state(pair.sched_theirs)),
    ]
    resumed = []
    for opt_state, sched_state in saved:
        opt = optim.SGD([p.detach().clone().requires_grad_() for p in pair.ours], lr=0.1)
        sched = getattr(lr_scheduler, name)(opt, **args)  # as torch: build, then load
        opt.load_state_dict(copy.deepcopy(opt_state))
        sched.load_state_dict(copy.deepcopy(sched_state))
        resumed.append((opt, sched))
    for step in range(12, 24):
        pair.step(f"step {step + 1}")
        for opt, sched in resumed:
            opt.step()
            sched.step()
            assert sched.get_last_lr() == pair.sched_theirs.get_last_lr(), f"step {step + 1}"
            assert opt.param_groups[0]["momentum"] == pair.opt_theirs.param_groups[0]["momentum"]


def test_resuming_at_an_epoch_uses_initial_lr_as_torch():
    ours = optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.1)
    theirs = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    for opt in (ours, theirs):
        opt.param_groups[0]["initial_lr"] = 0.2
    mine = lr_scheduler.CosineAnnealingLR(ours, T_max=10, last_epoch=4)
    torchs = torch.optim.lr_scheduler.CosineAnnealingLR(theirs, T_max=10, last_epoch=4)
    assert mine.get_last_lr() == torchs.get_last_lr() and mine.base_lrs == [0.2]
    fresh = optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(KeyError, match=r"'initial_lr' is not specified in param_groups\[0\]"):
        lr_scheduler.StepLR(fresh, 3, last_epoch=4)


# ---- order of calls and errors ------------------------------------------------------------------


def test_stepping_the_scheduler_before_the_optimizer_warns():
    opt = optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.1)
    sched = lr_scheduler.StepLR(opt, 2)
    with pytest.warns(UserWarning, match=r"called before optimizer.step\(\)"):
        sched.step()
    opt = optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.1)
    sched = lr_scheduler.StepLR(opt, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()

    class OwnStep(optim.Optimizer):  # torch-style: a step() of its own, that the base never sees
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    p.data -= group["lr"] * p.grad

    p = mg.zeros(1, requires_grad=True)
    p.grad = mg.ones(1)
    opt = OwnStep([p], dict(lr=0.1))
    sched = lr_scheduler.StepLR(opt, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()
    assert p.item() == pytest.approx(-0.1)


def test_scheduler_errors_teach():
    opt = optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    torch_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(TypeError, match="schedules a minigrad.optim optimizer, got torch.optim"):
        lr_scheduler.StepLR(torch_opt, 3)
    with pytest.raises(TypeError, match="schedules a minigrad.optim optimizer"):
        lr_scheduler.OneCycleLR(torch_opt, max_lr=0.1, total_steps=10)
    with pytest.raises(ValueError, match="total_steps, or both epochs and steps_per_epoch"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, epochs=3)
    with pytest.raises(ValueError, match="positive integer total_steps, but got 0"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=0)
    with pytest.raises(ValueError, match=r"pct_start .* a float in \[0, 1\], got 30"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=30)
    with pytest.raises(ValueError, match="anneal_strategy must be 'cos' or 'linear'"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10, anneal_strategy="exp")
    with pytest.raises(ValueError, match="max_lr has 2 values but the optimizer has 1"):
        lr_scheduler.OneCycleLR(opt, max_lr=[0.1, 0.2], total_steps=10)
    adagrad = optim.Adagrad([mg.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="cycle_momentum=True needs .* cycle_momentum=False"):
        lr_scheduler.OneCycleLR(adagrad, max_lr=0.1, total_steps=10)
    lr_scheduler.OneCycleLR(adagrad, max_lr=0.1, total_steps=10, cycle_momentum=False)
