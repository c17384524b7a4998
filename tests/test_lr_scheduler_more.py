"""LinearLR, ConstantLR, MultiplicativeLR, PolynomialLR, CosineAnnealingWarmRestarts, CyclicLR,
SequentialLR and ChainedScheduler against torch.optim.lr_scheduler's.

Each schedule is built the same way on a torch optimizer and on a minigrad one (parameter groups
with different lrs), over settings Hypothesis draws, and stepped side by side: at every step the
learning rates (and CyclicLR's momenta or Adam's betas) are torch's exactly, bit for bit, and so
is every other setting of every group. Halfway, the state_dicts (minigrad's, and torch's) are
loaded into freshly built schedules, which must go on with the same sequence.
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

THEIRS = (torch.optim, torch.optim.lr_scheduler, torch.zeros)
OURS = (optim, lr_scheduler, mg.zeros)


class Run:
    """One schedule, built by `build(lr_scheduler_module, optimizer)`, on torch and on minigrad."""

    def __init__(self, opt_name, opt_settings, lrs, build):
        self.opt_name, self.opt_settings, self.lrs, self.build = opt_name, opt_settings, lrs, build
        with warnings.catch_warnings(record=True) as warned_theirs:
            warnings.simplefilter("always")
            self.opt_theirs, self.sched_theirs = self.make(*THEIRS)
        with warnings.catch_warnings(record=True) as warned_ours:
            warnings.simplefilter("always")
            self.opt_ours, self.sched_ours = self.make(*OURS)
        # as many warnings (a ChainedScheduler first in a SequentialLR steps its schedules
        # again, before optimizer.step(): torch warns, and so does minigrad)
        assert len(warned_ours) == len(warned_theirs)
        self.resumed = []
        self.check("after construction")

    def make(self, optim_module, sched_module, zeros):
        groups = [{"params": [zeros(2, requires_grad=True)], "lr": lr} for lr in self.lrs]
        opt = getattr(optim_module, self.opt_name)(groups, **self.opt_settings)
        return opt, self.build(sched_module, opt)

    def step(self, where, epoch=None):
        """optimizer.step() (no gradients: only the order of calls matters), then the schedules'
        step(), or step(epoch)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # step(epoch) is deprecated, in both
            pairs = [(self.opt_theirs, self.sched_theirs), (self.opt_ours, self.sched_ours)]
            for opt, sched in pairs + self.resumed:
                opt.step()
                sched.step() if epoch is None else sched.step(epoch)
        self.check(where)
        for opt, sched in self.resumed:
            assert sched.get_last_lr() == self.sched_theirs.get_last_lr(), f"resumed, {where}"
            assert settings(opt) == settings(self.opt_theirs), f"resumed, {where}"

    def check(self, where):
        assert self.sched_ours.get_last_lr() == self.sched_theirs.get_last_lr(), where
        assert getattr(self.sched_ours, "last_epoch", None) == getattr(
            self.sched_theirs, "last_epoch", None
        ), where
        assert settings(self.opt_ours) == settings(self.opt_theirs), where

    def resume(self):
        """Build the schedule afresh, load the optimizer's and the scheduler's state_dicts (one
        copy from minigrad's, one from torch's), and follow along from now on."""
        self.check_state()
        for sched_state in (self.sched_ours.state_dict(), torch_state(self.sched_theirs)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # (what __init__ counted: a schedule built again)
                opt, sched = self.make(*OURS)
            opt.load_state_dict(copy.deepcopy(self.opt_ours.state_dict()))
            sched.load_state_dict(copy.deepcopy(sched_state))
            assert sched.get_last_lr() == self.sched_theirs.get_last_lr()
            self.resumed.append((opt, sched))

    def check_state(self):
        assert self.sched_ours.state_dict() == torch_state(self.sched_theirs)


def settings(opt):
    """Each group's settings: lr, initial_lr, momentum or betas, max_momentum, ..."""
    return [{k: v for k, v in group.items() if k != "params"} for group in opt.param_groups]


def torch_state(scheduler):
    """torch's scheduler state (and its inner schedules'), less the flag torch keeps for a
    warning of its own."""
    state = scheduler.state_dict()
    state.pop("_get_lr_called_within_step", None)
    if "_schedulers" in state:
        for inner in state["_schedulers"]:
            inner.pop("_get_lr_called_within_step", None)
            for nested in inner.get("_schedulers", []):
                nested.pop("_get_lr_called_within_step", None)
    return state


def follow(run, steps, jumps=()):
    """Step `steps` times (at a step listed in `jumps`, step(epoch) to that epoch instead),
    resuming copies from the state_dicts halfway, then compare the final states."""
    jumps = dict(jumps)
    for step in range(1, steps + 1):
        run.step(f"step {step}", epoch=jumps.get(step))
        if step == steps // 2:
            run.resume()
    run.check_state()


optimizers = st.sampled_from(
    [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01)), ("RMSprop", dict(lr=0.01))]
)
group_lrs = st.lists(st.floats(1e-3, 1.0), min_size=1, max_size=3)


class Shrink:
    """A callable object as lr_lambda or scale_fn: its attributes go into the state_dict."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, x):
        return 1.0 / (1.0 + self.rate * x)


LAMBDAS = [lambda epoch: 0.95, lambda epoch: 1 - 0.01 * (epoch % 7), Shrink(0.1)]


# ---- LinearLR, ConstantLR, PolynomialLR, MultiplicativeLR (and step(epoch) in closed form) -------


@st.composite
def simple_schedules(draw, groups):
    """(name, settings) of one of the four, torch's defaults among them."""
    name = draw(st.sampled_from(["LinearLR", "ConstantLR", "PolynomialLR", "MultiplicativeLR"]))
    total_iters = draw(st.integers(1, 15))
    if name == "LinearLR":
        factors = st.one_of(st.just(1.0), st.floats(0.01, 1.0))
        start, end = draw(factors), draw(st.one_of(st.just(0.0), factors))
        return name, dict(start_factor=start, end_factor=end, total_iters=total_iters)
    if name == "ConstantLR":
        factor = draw(st.one_of(st.just(1.0 / 3), st.floats(0.01, 1.0)))
        return name, dict(factor=factor, total_iters=total_iters)
    if name == "PolynomialLR":
        power = draw(st.one_of(st.just(1.0), st.floats(0.1, 3.0)))
        return name, dict(total_iters=total_iters, power=power)
    per_group = draw(st.booleans())
    pick = st.sampled_from(LAMBDAS)
    lr_lambda = [draw(pick) for _ in range(groups)] if per_group else draw(pick)
    return name, dict(lr_lambda=lr_lambda)


@given(
    optimizer=optimizers,
    lrs=group_lrs,
    data=st.data(),
    steps=st.integers(2, 30),
    jumps=st.lists(st.tuples(st.integers(1, 30), st.integers(0, 20)), max_size=3),
)
@example(("SGD", dict(lr=0.1, momentum=0.9)), [0.1], None, 20, []).via("the defaults")
def test_warmups_and_decays_match_torch_at_every_step(optimizer, lrs, data, steps, jumps):
    if data is None:
        name, kwargs = "LinearLR", {}
    else:
        name, kwargs = data.draw(simple_schedules(len(lrs)))
    run = Run(*optimizer, lrs, lambda m, opt: getattr(m, name)(opt, **kwargs))
    follow(run, steps, jumps)


def test_linear_constant_and_polynomial_follow_their_formulas():
    """The closed forms of the docstrings, stepped recursively (within rounding)."""
    opt = optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.5)
    linear = lr_scheduler.LinearLR(opt, start_factor=0.2, end_factor=0.8, total_iters=6)
    lrs = [linear.get_last_lr()[0]]
    for _ in range(9):
        opt.step()
        linear.step()
        lrs.append(linear.get_last_lr()[0])
    expected = [0.5 * (0.2 + 0.6 * min(t, 6) / 6) for t in range(10)]
    assert lrs == pytest.approx(expected, rel=1e-13)

    opt = optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.5)
    poly = lr_scheduler.PolynomialLR(opt, total_iters=4, power=2.0)
    lrs = [poly.get_last_lr()[0]]
    for _ in range(6):
        opt.step()
        poly.step()
        lrs.append(poly.get_last_lr()[0])
    assert lrs == pytest.approx([0.5 * (1 - min(t, 4) / 4) ** 2 for t in range(7)], abs=1e-15)

    opt = optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.5)
    constant = lr_scheduler.ConstantLR(opt, factor=0.25, total_iters=3)
    lrs = [constant.get_last_lr()[0]]
    for _ in range(5):
        opt.step()
        constant.step()
        lrs.append(constant.get_last_lr()[0])
    assert lrs == [0.125, 0.125, 0.125, 0.5, 0.5, 0.5]


# ---- CosineAnnealingWarmRestarts ----------------------------------------------------------------


@given(
    optimizer=optimizers,
    lrs=group_lrs,
    t_0=st.integers(1, 6),
    t_mult=st.integers(1, 3),
    eta_min=st.sampled_from([0.0, 1e-3, 0]),
    epochs=st.lists(
        st.one_of(
            st.none(),
            st.integers(0, 40),
            st.floats(0.0, 40.0),
            st.tuples(st.integers(0, 20), st.integers(0, 4)).map(lambda e: e[0] + e[1] / 5),
        ),
        min_size=2,
        max_size=30,
    ),
)
@example(("SGD", dict(lr=0.1, momentum=0.9)), [0.1, 0.05], 3, 2, 0.0, [None] * 25)
def test_warm_restarts_match_torch_stepped_or_given_epochs(
    optimizer, lrs, t_0, t_mult, eta_min, epochs
):
    """step() and step(epoch), fractional epochs too (stepping within an epoch), mixed."""
    run = Run(
        *optimizer,
        lrs,
        lambda m, opt: m.CosineAnnealingWarmRestarts(opt, T_0=t_0, T_mult=t_mult, eta_min=eta_min),
    )
    for i, epoch in enumerate(epochs):
        run.step(f"step {i + 1}, epoch {epoch}", epoch=epoch)
        assert (run.sched_ours.T_cur, run.sched_ours.T_i) == (
            run.sched_theirs.T_cur,
            run.sched_theirs.T_i,
        )
        if i == len(epochs) // 2:
            run.resume()
    run.check_state()


def test_warm_restarts_restart_at_base_lr_with_longer_periods():
    opt = optim.SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    sched = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=0.1)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(14):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    restarts = [t for t, lr in enumerate(lrs) if lr == 1.0]
    assert restarts == [0, 2, 6, 14]  # periods of 2, 4, 8
    cosine = [0.1 + 0.9 * (1 + math.cos(math.pi * t / 8)) / 2 for t in range(8)]
    assert lrs[6:14] == pytest.approx(cosine, rel=1e-14)


# ---- CyclicLR -----------------------------------------------------------------------------------


def per_group_or_one(values, groups):
    return st.one_of(values, st.lists(values, min_size=groups, max_size=groups))


@st.composite
def cyclic_settings(draw, groups, optimizer_name):
    low = draw(per_group_or_one(st.floats(1e-4, 0.1), groups))
    high = draw(per_group_or_one(st.floats(0.1, 2.0), groups))
    settings = dict(
        base_lr=low,
        max_lr=high,
        step_size_up=draw(st.integers(1, 8)),
        step_size_down=draw(st.one_of(st.none(), st.integers(1, 8))),
        mode=draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),
        gamma=draw(st.sampled_from([1.0, 0.99, 0.9])),
        cycle_momentum=draw(st.booleans()),
        base_momentum=draw(per_group_or_one(st.floats(0.5, 0.85), groups)),
        max_momentum=draw(per_group_or_one(st.floats(0.85, 0.99), groups)),
    )
    if draw(st.booleans()):  # a scale_fn of one's own (mode then ignored)
        settings["scale_fn"] = draw(st.sampled_from([lambda x: 0.5 ** (x / 3), Shrink(0.05)]))
        settings["scale_mode"] = draw(st.sampled_from(["cycle", "iterations"]))
        if draw(st.booleans()):
            settings["mode"] = "not a mode"  # ignored too
    return settings


@given(optimizer=optimizers, lrs=group_lrs, data=st.data(), steps=st.integers(2, 40))
@example(("Adam", dict(lr=0.01)), [0.1, 0.2], None, 30).via("the defaults, with Adam's betas")
def test_cyclic_lr_and_its_momenta_match_torch_at_every_step(optimizer, lrs, data, steps):
    if data is None:
        kwargs = dict(base_lr=0.01, max_lr=0.1, step_size_up=4)
    else:
        kwargs = data.draw(cyclic_settings(len(lrs), optimizer[0]))
    run = Run(*optimizer, lrs, lambda m, opt: m.CyclicLR(opt, **kwargs))
    follow(run, steps)


def test_cyclic_lr_climbs_and_falls_with_momentum_the_other_way():
    opt = optim.Adam([mg.zeros(1, requires_grad=True)], lr=1.0)
    sched = lr_scheduler.CyclicLR(
        opt, base_lr=0.1, max_lr=0.5, step_size_up=2, step_size_down=4, mode="triangular2"
    )
    lrs, beta1s = [], []
    for _ in range(13):
        lrs.append(sched.get_last_lr()[0])
        beta1s.append(opt.param_groups[0]["betas"][0])
        opt.step()
        sched.step()
    first = [0.1, 0.3, 0.5, 0.4, 0.3, 0.2, 0.1]  # up in 2, down in 4
    second = [0.1, 0.2, 0.3, 0.25, 0.2, 0.15, 0.1]  # half as high
    assert lrs == pytest.approx(first + second[1:], rel=1e-12)
    assert beta1s[0] == 0.9 and beta1s[2] == pytest.approx(0.8, rel=1e-12)
    assert opt.param_groups[0]["betas"][1] == 0.999


# ---- SequentialLR and ChainedScheduler ----------------------------------------------------------

# Schedules to combine: (name, settings), each built on the same optimizer.
PARTS = [
    ("LinearLR", dict(start_factor=0.1, total_iters=4)),
    ("ConstantLR", dict(factor=0.5, total_iters=3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5], gamma=0.5)),
    ("CosineAnnealingLR", dict(T_max=6, eta_min=1e-3)),
    ("PolynomialLR", dict(total_iters=5, power=2.0)),
    ("MultiplicativeLR", dict(lr_lambda=Shrink(0.1))),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3, cycle_momentum=False)),
    ("LambdaLR", dict(lr_lambda=Shrink(0.2))),
]


def build_combination(kind, parts, milestones):
    """A builder of SequentialLR or ChainedScheduler of `parts` (a part may be a list: a
    ChainedScheduler inside)."""

    def build_part(m, opt, part):
        if isinstance(part, list):
            return m.ChainedScheduler([build_part(m, opt, p) for p in part], optimizer=opt)
        name, kwargs = part
        return getattr(m, name)(opt, **copy.deepcopy(kwargs))

    def build(m, opt):
        schedulers = [build_part(m, opt, part) for part in parts]
        if kind == "SequentialLR":
            return m.SequentialLR(opt, schedulers=schedulers, milestones=milestones)
        return m.ChainedScheduler(schedulers, optimizer=opt)

    return build


@st.composite
def combinations(draw):
    kind = draw(st.sampled_from(["SequentialLR", "ChainedScheduler"]))
    part = st.sampled_from(PARTS)
    if kind == "ChainedScheduler":  # chainable schedules only (CyclicLR, LambdaLR overwrite)
        part = st.sampled_from([p for p in PARTS if p[0] not in ("CyclicLR", "LambdaLR")])
        return kind, draw(st.lists(part, min_size=1, max_size=3)), []
    parts = draw(st.lists(part, min_size=1, max_size=3))
    if draw(st.booleans()):  # a ChainedScheduler first (later, torch has no epoch 0 for it)
        parts[0] = draw(st.lists(st.sampled_from(PARTS[:4]), min_size=1, max_size=2))
    gaps = draw(st.lists(st.integers(1, 8), min_size=len(parts) - 1, max_size=len(parts) - 1))
    milestones = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    return kind, parts, milestones


@given(optimizer=optimizers, lrs=group_lrs, combination=combinations(), steps=st.integers(2, 30))
@example(
    ("SGD", dict(lr=0.1, momentum=0.9)),
    [0.1, 0.3],
    ("SequentialLR", [PARTS[0], PARTS[5]], [4]),
    25,
).via("the warmup recipe")
@example(
    ("Adam", dict(lr=0.01)),
    [0.5],
    ("SequentialLR", [PARTS[2], PARTS[9]], [3]),
    12,
).via("CyclicLR second: initial_lr set before it, yet its base_lr is the low end")
def test_sequential_and_chained_schedules_match_torch(optimizer, lrs, combination, steps):
    run = Run(*optimizer, lrs, build_combination(*combination))
    follow(run, steps)
    if combination[0] == "SequentialLR":  # the inner schedules' states too
        for ours, theirs in zip(run.sched_ours._schedulers, run.sched_theirs._schedulers):
            assert ours.get_last_lr() == theirs.get_last_lr()
            assert getattr(ours, "last_epoch", None) == getattr(theirs, "last_epoch", None)


def test_warmup_then_cosine_follows_the_recipe():
    """LinearLR from 1% to the full lr in 5 epochs, then CosineAnnealingLR down to 0 in 10."""
    opt = optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.2, momentum=0.9)
    warmup = lr_scheduler.LinearLR(opt, start_factor=0.01, total_iters=5)
    cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    sched = lr_scheduler.SequentialLR(opt, schedulers=[warmup, cosine], milestones=[5])
    lrs = [sched.get_last_lr()[0]]
    for _ in range(15):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    up = [0.2 * (0.01 + 0.99 * t / 5) for t in range(5)]
    down = [0.2 * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(11)]
    assert lrs == pytest.approx(up + down, rel=1e-12, abs=1e-15)
    assert sched.last_epoch == 15 and cosine.last_epoch == 10 and warmup.last_epoch == 4


def test_chained_schedules_multiply():
    opt = optim.SGD([mg.zeros(1, requires_grad=True)], lr=1.0)
    constant = lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2)
    exponential = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    chained = lr_scheduler.ChainedScheduler([constant, exponential])
    lrs = [chained.get_last_lr()[0]]
    for _ in range(4):
        opt.step()
        chained.step()
        lrs.append(chained.get_last_lr()[0])
    assert lrs == [0.5, 0.25, 0.25, 0.125, 0.0625]
    assert repr(chained) == "ChainedScheduler([ConstantLR, ExponentialLR], lr=[0.0625])"


# ---- errors -------------------------------------------------------------------------------------


def other_optimizer(opt):
    return copy.deepcopy(opt)


# (exception, what minigrad's message says, build(lr_scheduler_module, optimizer))
BAD_ARGUMENTS = [
    (ValueError, "factor=1.5", lambda m, o: m.ConstantLR(o, factor=1.5)),
    (ValueError, "start_factor=0", lambda m, o: m.LinearLR(o, start_factor=0)),
    (ValueError, "end_factor=2", lambda m, o: m.LinearLR(o, end_factor=2)),
    (TypeError, "should be a function, but got float", lambda m, o: m.MultiplicativeLR(o, 0.9)),
    (ValueError, "Expected 1 lr_lambdas, but got 2",
     lambda m, o: m.MultiplicativeLR(o, LAMBDAS[:2])),
    (ValueError, "integer T_0, but got 0", lambda m, o: m.CosineAnnealingWarmRestarts(o, 0)),
    (ValueError, "integer T_0, but got 2.5", lambda m, o: m.CosineAnnealingWarmRestarts(o, 2.5)),
    (ValueError, "T_mult >= 1, but got 0", lambda m, o: m.CosineAnnealingWarmRestarts(o, 2, 0)),
    (ValueError, "eta_min, but got x", lambda m, o: m.CosineAnnealingWarmRestarts(o, 2, 1, "x")),
    (ValueError, "non-negative epoch, but got -1",
     lambda m, o: m.CosineAnnealingWarmRestarts(o, 2).step(-1)),
    (ValueError, "mode='cosine'", lambda m, o: m.CyclicLR(o, 0.01, 0.1, mode="cosine")),
    (ValueError, "base_lr has 2 values but the optimizer has 1",
     lambda m, o: m.CyclicLR(o, [0.01, 0.02], 0.1)),
    (ValueError, "max_momentum has 3 values",
     lambda m, o: m.CyclicLR(o, 0.01, 0.1, max_momentum=[0.9] * 3)),
    (ValueError, "at least one scheduler", lambda m, o: m.SequentialLR(o, [], [])),
    (ValueError, "one more than the number of milestone",
     lambda m, o: m.SequentialLR(o, [m.ConstantLR(o)], [3])),
    (ValueError, "does not support `ReduceLROnPlateau`",
     lambda m, o: m.SequentialLR(o, [m.ConstantLR(o), m.ReduceLROnPlateau(o)], [3])),
    (ValueError, "same optimizer",
     lambda m, o: m.SequentialLR(o, [m.ConstantLR(o), m.ConstantLR(other_optimizer(o))], [2])),
    (TypeError, "index 0 should have `optimizer`", lambda m, o: m.ChainedScheduler([3], o)),
    (ValueError, "at least one scheduler to be chained", lambda m, o: m.ChainedScheduler([])),
    (ValueError, "same optimizer",
     lambda m, o: m.ChainedScheduler([m.ConstantLR(o), m.ConstantLR(other_optimizer(o))])),
    (NotImplementedError, "cannot start it at a milestone",
     lambda m, o: m.SequentialLR(o, [m.ConstantLR(o), m.ChainedScheduler([m.ConstantLR(o)])], [1])
     .step()),
]  # fmt: skip


@pytest.mark.filterwarnings("ignore:.*step\\(\\).*before")  # (a schedule stepped first)
def test_bad_arguments_raise_torchs_errors_and_say_why():
    for exception, match, build in BAD_ARGUMENTS:
        opt_theirs = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
        with pytest.raises(exception):
            build(torch.optim.lr_scheduler, opt_theirs)
        opt_ours = optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
        with pytest.raises(exception, match=match):
            build(lr_scheduler, opt_ours)
    adagrad = optim.Adagrad([mg.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="momentum or beta1 .* pass cycle_momentum=False"):
        lr_scheduler.CyclicLR(adagrad, 0.01, 0.1)
    lr_scheduler.CyclicLR(adagrad, 0.01, 0.1, cycle_momentum=False)
    opt = optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.1)
    sched = lr_scheduler.LinearLR(opt)
    opt.step()
    with pytest.warns(UserWarning, match=r"step\(epoch\) is deprecated"):
        sched.step(3)
    assert sched.last_epoch == 3
