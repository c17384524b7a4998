"""Adamax, NAdam, RAdam, Rprop, ASGD and LBFGS against torch.optim's.

The first five run beside torch's, step by step, with tests/test_optim.py's machinery
(SideBySide, setups): float64 over settings, groups, missing gradients and settings changed
between steps that Hypothesis draws; parameters and state must agree after every step. In
float32 they agree to the bit; minigrad.compile replays their steps as eager runs them. LBFGS,
which drives its own loop of closure calls, must visit torch's iterates on a least-squares
problem, with either line search.
"""

from __future__ import annotations

import copy

import pytest
import test_optim as base
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import optim
from minigrad.jit import CompileError

lrs = st.floats(1e-4, 1.0)
decays = st.sampled_from([0.0, 1e-2, 0.5])
betas = st.tuples(st.sampled_from([0.0, 0.5, 0.9]), st.sampled_from([0.9, 0.99, 0.999]))
adam_like = dict(
    lr=lrs,
    betas=betas,
    eps=st.sampled_from([1e-8, 1e-3]),
    weight_decay=decays,
    maximize=st.booleans(),
)
SETTINGS = {
    "Adamax": adam_like,
    "NAdam": dict(
        adam_like,
        momentum_decay=st.sampled_from([0.0, 4e-3, 0.1]),
        decoupled_weight_decay=st.booleans(),
    ),
    # (beta2 from 0.9 on: rho_t passes 5 after a few steps, so both of RAdam's branches run)
    "RAdam": dict(adam_like, decoupled_weight_decay=st.booleans()),
    "Rprop": dict(
        lr=st.floats(1e-4, 0.1),
        etas=st.tuples(st.sampled_from([0.3, 0.5, 0.9]), st.sampled_from([1.1, 1.2, 2.0])),
        step_sizes=st.tuples(st.sampled_from([1e-6, 1e-3]), st.sampled_from([0.05, 50.0])),
        maximize=st.booleans(),
    ),
    "ASGD": dict(
        lr=st.floats(1e-4, 0.5),
        lambd=st.sampled_from([0.0, 1e-4, 0.1]),
        alpha=st.sampled_from([0.5, 0.75, 1.0]),
        t0=st.sampled_from([0.0, 5.0, 1e6]),  # averaging from the start, midway, never
        weight_decay=decays,
        maximize=st.booleans(),
    ),
}
CHANGEABLE = {
    "Adamax": ["lr", "betas", "eps", "weight_decay"],
    "NAdam": ["lr", "betas", "eps", "weight_decay", "momentum_decay"],
    "RAdam": ["lr", "betas", "eps", "weight_decay"],
    "Rprop": ["lr", "etas", "step_sizes"],
    "ASGD": ["lr", "lambd", "alpha", "t0", "weight_decay"],
}
NAMES = list(SETTINGS)
STEPS = 12  # (RAdam's rho_t passes 5 at step 6 or 7, ASGD with t0 = 5 averages from step 6)


def named_setups():
    return st.sampled_from(NAMES).flatmap(
        lambda name: st.tuples(st.just(name), base.setups(name, SETTINGS, CHANGEABLE, STEPS))
    )


@given(named_setups(), base.seeds)
@example(("Adamax", ({}, None, set(), {})), 0)  # the defaults, each
@example(("NAdam", ({}, None, set(), {})), 0)
@example(("RAdam", ({}, None, set(), {})), 0)
@example(("Rprop", ({}, None, set(), {})), 0)
@example(("ASGD", ({}, None, set(), {})), 0)
@example(("ASGD", ({"t0": 3.0, "lambd": 0.1, "weight_decay": 0.1}, None, set(), {})), 1)
@example(("NAdam", ({"weight_decay": 0.1, "decoupled_weight_decay": True}, None, set(), {})), 0)
def test_each_matches_torch_step_by_step(named_setup, seed):
    """(One test for the five, to keep within the suite's time: 60 examples share it.)"""
    name, setup = named_setup
    base.run(name, setup, seed, STEPS)


FLOAT32_SETTINGS = {
    "Adamax": dict(lr=0.01, weight_decay=0.1),
    "NAdam": dict(lr=0.01, weight_decay=0.1, momentum_decay=0.05),
    "NAdam decoupled": dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
    "RAdam": dict(lr=0.01, weight_decay=0.1, betas=(0.9, 0.9)),
    "RAdam decoupled": dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
    "Rprop": dict(lr=0.01, etas=(0.3, 1.5), step_sizes=(1e-3, 0.1)),
    "ASGD": dict(lr=0.01, weight_decay=0.1, lambd=0.1, t0=10.0),
    "ASGD big steps": dict(lr=0.5, t0=10.0),  # p changes sign: ax + (p - ax) is not always p
}


@pytest.mark.parametrize("case", sorted(FLOAT32_SETTINGS))
def test_float32_steps_are_torchs_to_the_bit(case):
    """float32 parameters of one dim or more (a 0-d one gets settings in its own dtype, see
    Optimizer.hyperparameter): the same kernels on the same numbers, so the same bits, state
    included. Every fifth gradient has zeros, for Rprop's sign products of 0."""
    name = case.split()[0]
    gen = torch.Generator().manual_seed(5)
    theirs = [torch.randn(s, generator=gen, requires_grad=True) for s in [(3, 4), (5,)]]
    ours = [mg.Tensor(t.detach().clone(), requires_grad=True) for t in theirs]
    opt_theirs = getattr(torch.optim, name)(theirs, **FLOAT32_SETTINGS[case])
    opt_ours = getattr(optim, name)(ours, **FLOAT32_SETTINGS[case])
    for step in range(base.STEPS):
        for a, b in zip(theirs, ours):
            a.grad = torch.randn(a.shape, generator=gen)
            if step % 5 == 0:
                a.grad.view(-1)[::2] = 0
            b.grad = mg.Tensor(a.grad.clone())
        opt_theirs.step()
        opt_ours.step()
        for a, b in zip(theirs, ours):
            assert b.dtype == torch.float32 and torch.equal(b._data, a.detach()), step
            for key, value in opt_theirs.state[a].items():
                mine = opt_ours.state[b][key]
                assert mine.dtype == value.dtype and torch.equal(mine, value), (step, key)


# ---- settings, state_dict, errors: torch's ------------------------------------------------------


def test_defaults_and_repr_are_torchs():
    for name in NAMES + ["LBFGS"]:
        ours = getattr(optim, name)([mg.zeros(2, requires_grad=True)])
        theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)])
        assert ours.defaults == theirs.defaults, name
        assert repr(ours) == repr(theirs), name


@pytest.mark.parametrize(
    "name, settings",
    [
        ("Adamax", dict(lr=0.1, weight_decay=0.1)),
        ("NAdam", dict(lr=0.1, decoupled_weight_decay=True, weight_decay=0.1)),
        ("RAdam", dict(lr=0.1, betas=(0.9, 0.9))),
        ("Rprop", dict(lr=0.1)),
        ("ASGD", dict(lr=0.1, t0=2.0)),
    ],
)
def test_state_dict_is_torchs_and_loads_both_ways(name, settings):
    """The saved state is torch's; a fresh minigrad optimizer loads torch's, a fresh torch one
    loads minigrad's, and each then steps as torch does from there. (Not always bit for bit as
    the optimizer that was saved: loading casts ASGD's eta and mu and NAdam's mu_product to the
    parameters' dtype, in torch as in minigrad.)"""
    groups = [([0, 2], {}), ([1, 3], {"lr": 0.05})]
    pair = base.SideBySide(name, settings, groups, seed=3)
    for _ in range(4):
        pair.step(skip={(0, 1)})
    ours, theirs = pair.opt_ours.state_dict(), pair.opt_theirs.state_dict()
    assert ours["param_groups"] == theirs["param_groups"]
    assert sorted(ours["state"]) == sorted(theirs["state"])
    for index, state in theirs["state"].items():
        assert sorted(ours["state"][index]) == sorted(state)
        for key, value in state.items():
            base.assert_close(ours["state"][index][key], value, f"state {index} {key}")
    for source in (pair.opt_theirs, pair.opt_ours):
        resumed = base.SideBySide(name, settings, groups, seed=3)
        for mine, theirs_p, p in zip(resumed.ours, resumed.theirs, pair.ours):
            mine._data.copy_(p._data)
            theirs_p.data.copy_(p._data)
        # (copies: torch's load_state_dict keeps the given tensors, so they would be shared)
        resumed.opt_ours.load_state_dict(copy.deepcopy(source.state_dict()))
        resumed.opt_theirs.load_state_dict(copy.deepcopy(source.state_dict()))
        resumed.check()
        for _ in range(5):
            resumed.step()  # compares minigrad's with torch's, state included


BAD_SETTINGS = [
    ("Adamax", dict(lr=-1.0), "lr must be >= 0, got -1.0"),
    ("Adamax", dict(eps=-1e-8), "eps must be >= 0"),
    ("Adamax", dict(betas=(1.0, 0.9)), r"betas\[0\] must be in \[0, 1\), got 1.0"),
    ("Adamax", dict(weight_decay=-0.1), "weight_decay must be >= 0"),
    ("NAdam", dict(betas=(0.9, 1.5)), r"betas\[1\] must be in \[0, 1\)"),
    ("NAdam", dict(momentum_decay=-1e-3), "momentum_decay must be >= 0, got -0.001"),
    ("NAdam", dict(weight_decay=-0.1), "weight_decay must be >= 0"),
    ("RAdam", dict(lr=-0.1), "lr must be >= 0"),
    ("RAdam", dict(betas=(-0.1, 0.9)), r"betas\[0\] must be in \[0, 1\)"),
    ("Rprop", dict(lr=-0.1), "lr must be >= 0"),
    ("Rprop", dict(etas=(1.2, 0.5)), r"0 < etaminus < 1 < etaplus, got \(1.2, 0.5\)"),
    ("Rprop", dict(etas=(0.0, 1.2)), "etas must be"),
    ("Rprop", dict(etas=(0.5, 1.0)), "etas must be"),
    ("ASGD", dict(lr=-0.1), "lr must be >= 0"),
    ("ASGD", dict(weight_decay=-0.1), "weight_decay must be >= 0"),
]


@pytest.mark.parametrize("name, settings, message", BAD_SETTINGS)
def test_bad_settings_raise_torchs_error_with_a_clear_message(name, settings, message):
    with pytest.raises(ValueError):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **settings)
    with pytest.raises(ValueError, match=message):
        getattr(optim, name)([mg.zeros(2, requires_grad=True)], **settings)


@pytest.mark.parametrize(
    "name, settings",
    [
        ("Adamax", dict(lr=0.0123, betas=(0.87, 0.973), eps=0.00017, weight_decay=0.031)),
        ("NAdam", dict(lr=0.0123, betas=(0.87, 0.973), eps=0.00017, weight_decay=0.031,
                       momentum_decay=0.0061)),
        ("RAdam", dict(lr=0.0123, betas=(0.87, 0.973), eps=0.00017, weight_decay=0.031,
                       decoupled_weight_decay=True)),
        ("Rprop", dict(lr=0.0123, etas=(0.43, 1.17), step_sizes=(0.00019, 0.77))),
        ("ASGD", dict(lr=0.0123, lambd=0.0027, alpha=0.67, t0=3.0, weight_decay=0.031)),
    ],
)  # fmt: skip
def test_a_step_passes_no_setting_to_torch_as_a_number_and_reads_nothing_back(
    name, settings, device
):
    """What minigrad.compile needs (see test_optim's test of the same name): the settings and
    the step count reach torch as tensors, and nothing is read back into Python; on a GPU,
    the CPU never waits for it."""
    base.test_a_step_passes_no_setting_to_torch_as_a_number_and_reads_nothing_back(
        name, settings, device
    )


# ---- minigrad.compile -------------------------------------------------------------------------

COMPILED = {
    "Adamax": lambda ps: optim.Adamax(ps, lr=1e-2, weight_decay=1e-2),
    "NAdam": lambda ps: optim.NAdam(ps, lr=1e-2, weight_decay=1e-2, decoupled_weight_decay=True),
    "RAdam": lambda ps: optim.RAdam(ps, lr=1e-2, betas=(0.9, 0.9)),  # rho_t > 5 from step 6
    "Rprop": lambda ps: optim.Rprop(ps, lr=1e-3),
    "ASGD": lambda ps: optim.ASGD(ps, lr=0.1, lambd=0.01, t0=4.0),  # averaging from step 5
}


def five_layers_five_optimizers():
    """An MLP of five Linear layers, each trained by one of the five optimizers, and its
    training step (cross-entropy; each optimizer steps, then zero_grad)."""
    mg.manual_seed(0)
    widths = [20, 16, 16, 16, 16, 5]
    layers = [mg.nn.Linear(a, b) for a, b in zip(widths, widths[1:])]
    model = mg.nn.Sequential(*[m for layer in layers for m in (layer, mg.nn.ReLU())][:-1])
    opts = [make(layer.parameters()) for make, layer in zip(COMPILED.values(), layers)]

    def train_step(xb, yb):
        loss = mg.nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        for opt in opts:
            opt.step()
            opt.zero_grad()
        return loss

    return model, opts, train_step


def test_compiled_steps_replay_as_eager():
    """The step under minigrad.compile: recorded on the first two steps, replayed after; the
    losses, parameters and every optimizer's state as eager's, bit for bit (RAdam's switch
    and ASGD's start of averaging happen during the replays)."""
    eager_model, eager_opts, eager = five_layers_five_optimizers()
    model, opts, step = five_layers_five_optimizers()
    compiled = mg.compile(step)
    gen = torch.Generator().manual_seed(3)
    for i in range(8):
        xb = mg.Tensor(torch.randn(8, 20, generator=gen))
        yb = mg.Tensor(torch.randint(0, 5, (8,), generator=gen))
        assert torch.equal(compiled(xb, yb)._data, eager(xb, yb)._data), f"loss at step {i}"
    for p, q in zip(model.parameters(), eager_model.parameters()):
        assert torch.equal(p._data, q._data)
    for name, opt, eager_opt in zip(COMPILED, opts, eager_opts):
        for ours, theirs in zip(opt.state.values(), eager_opt.state.values()):
            for key in theirs:
                assert torch.equal(ours[key], theirs[key]), f"{name}'s state {key}"
    assert compiled.replays == 6 and compiled.traces == 2


# ---- LBFGS --------------------------------------------------------------------------------------


class LeastSquares:
    """A small least-squares fit, sum((f(X W + b) - Y)^2) with f the identity or tanh (then
    not quadratic: the line search has to work), for torch's LBFGS and minigrad's side by
    side. Both closures compute the loss and gradients by the same torch formulas, so that
    only the optimizers differ; each call writes down where it was evaluated and its loss."""

    def __init__(self, seed, dtype, nonlinear, **settings):
        gen = torch.Generator().manual_seed(seed)
        self.X = 2 * torch.randn(8, 3, generator=gen, dtype=dtype)
        self.Y = torch.rand(8, 2, generator=gen, dtype=dtype)
        start = [torch.randn(s, generator=gen, dtype=dtype) for s in [(3, 2), (2,)]]
        self.nonlinear = nonlinear
        self.theirs = [t.clone().requires_grad_() for t in start]
        self.ours = [mg.Tensor(t.clone(), requires_grad=True) for t in start]
        self.opt_theirs = torch.optim.LBFGS(self.theirs, **settings)
        self.opt_ours = optim.LBFGS(self.ours, **settings)
        self.visits_theirs, self.visits_ours = [], []

    def loss_and_grads(self, W, b, visits):
        visits.append((W.clone(), b.clone()))
        fit = self.X @ W + b
        if self.nonlinear:
            fit = fit.tanh()
        residual = fit - self.Y
        d_fit = 2 * residual * (1 - fit**2) if self.nonlinear else 2 * residual
        loss = (residual**2).sum()
        visits[-1] += (loss,)
        return loss, self.X.T @ d_fit, d_fit.sum(0)

    def closure_theirs(self):
        W, b = self.theirs
        loss, W.grad, b.grad = self.loss_and_grads(W.detach(), b.detach(), self.visits_theirs)
        return loss

    def closure_ours(self):
        W, b = self.ours
        loss, grad_W, grad_b = self.loss_and_grads(W._data, b._data, self.visits_ours)
        W.grad, b.grad = mg.Tensor(grad_W), mg.Tensor(grad_b)
        return mg.Tensor(loss)

    def step(self, compare):
        loss_theirs = self.opt_theirs.step(self.closure_theirs)
        loss_ours = self.opt_ours.step(self.closure_ours)
        compare(loss_ours._data, loss_theirs.detach(), "the returned loss")
        assert len(self.visits_ours) == len(self.visits_theirs), "closure calls"
        for i, (ours, theirs) in enumerate(zip(self.visits_ours, self.visits_theirs)):
            for mine, their in zip(ours, theirs):
                compare(mine, their, f"closure call {i}: W, b, loss")
        state_theirs = self.opt_theirs.state[self.theirs[0]]
        state_ours = self.opt_ours.state[self.ours[0]]
        assert sorted(state_ours) == sorted(state_theirs)
        for key, value in state_theirs.items():
            same_state(state_ours[key], value, compare, f"state[{key!r}]")


def same_state(ours, theirs, compare, where):
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            same_state(a, b, compare, f"{where}[{i}]")
    elif isinstance(theirs, torch.Tensor) and theirs.ndim > 0:
        compare(ours, theirs, where)
    elif theirs is None or isinstance(theirs, int):  # al's empty slots, counts
        assert ours == theirs, where
    else:  # a number, or a 0-d tensor where torch's arithmetic made one
        compare(torch.as_tensor(ours).double(), torch.as_tensor(theirs).double(), where)


@given(
    seed=base.seeds,
    nonlinear=st.booleans(),
    settings=st.fixed_dictionaries(
        {},
        optional=dict(
            lr=st.floats(0.05, 2.0),
            max_iter=st.integers(1, 8),
            max_eval=st.integers(1, 12),
            tolerance_grad=st.sampled_from([1e-7, 1e-3]),
            tolerance_change=st.sampled_from([1e-9, 1e-4]),
            history_size=st.integers(1, 4),
            line_search_fn=st.sampled_from([None, "strong_wolfe"]),
        ),
    ),
)
@example(seed=0, nonlinear=True, settings={})
@example(seed=0, nonlinear=True, settings={"line_search_fn": "strong_wolfe", "history_size": 2})
def test_lbfgs_visits_torchs_iterates(seed, nonlinear, settings):
    """Two step(closure)s, float64: every point the closure is called at (line search trials
    included), every loss, and the state after each step, as torch's."""
    problem = LeastSquares(seed, torch.float64, nonlinear, **settings)
    for _ in range(2):
        problem.step(base.assert_close)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_in_float32_is_torchs_to_the_bit(line_search_fn):
    def identical(ours, theirs, where):
        assert ours.dtype == theirs.dtype and torch.equal(ours, theirs), where

    problem = LeastSquares(1, torch.float32, True, line_search_fn=line_search_fn, history_size=3)
    for _ in range(3):
        problem.step(identical)
    assert len(problem.visits_ours) > 20


def test_lbfgs_state_dict_is_torchs_and_loads_both_ways():
    settings = dict(line_search_fn="strong_wolfe", history_size=3, max_iter=4)
    problem = LeastSquares(2, torch.float64, True, **settings)
    problem.step(base.assert_close)
    ours, theirs = problem.opt_ours.state_dict(), problem.opt_theirs.state_dict()
    assert ours["param_groups"] == theirs["param_groups"]
    assert sorted(ours["state"]) == sorted(theirs["state"]) == [0]
    # the next step, from each other's saved state, by fresh optimizers
    swapped = LeastSquares(2, torch.float64, True, **settings)
    for mine, theirs_p, p in zip(swapped.ours, swapped.theirs, problem.ours):
        mine._data.copy_(p._data)
        theirs_p.data.copy_(p._data)
    swapped.opt_ours.load_state_dict(copy.deepcopy(problem.opt_theirs.state_dict()))
    swapped.opt_theirs.load_state_dict(copy.deepcopy(problem.opt_ours.state_dict()))
    problem.visits_ours.clear(), problem.visits_theirs.clear()
    problem.step(base.assert_close)
    swapped.step(base.assert_close)
    for mine, theirs_p in zip(swapped.visits_ours, problem.visits_theirs):
        for a, b in zip(mine, theirs_p):
            base.assert_close(a, b, "resumed from torch's state")


def test_lbfgs_errors_are_torchs():
    a, b = mg.zeros(2, requires_grad=True), mg.zeros(2, requires_grad=True)
    c, d = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError):
        torch.optim.LBFGS([{"params": [c]}, {"params": [d], "lr": 0.1}])
    with pytest.raises(ValueError, match="LBFGS takes one parameter group.*got 2"):
        optim.LBFGS([{"params": [a]}, {"params": [b], "lr": 0.1}])
    with pytest.raises(ValueError, match="lr must be >= 0, got -1"):
        optim.LBFGS([a], lr=-1)

    def closure(p):
        loss = ((p - 1) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError):  # torch's type for it
        torch.optim.LBFGS([c], line_search_fn="armijo").step(lambda: closure(c))
    with pytest.raises(RuntimeError, match="line_search_fn must be None or 'strong_wolfe'"):
        optim.LBFGS([a], line_search_fn="armijo").step(lambda: closure(a))


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_fits_a_linear_model_with_minigrads_gradients(line_search_fn):
    """End to end: nn.Linear, MSELoss and backward in the closure; one step(closure) of up to
    20 iterations reaches the least-squares solution torch.linalg.lstsq computes."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(30, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(30, 1, generator=gen, dtype=torch.float64)
    mg.manual_seed(0)
    model = mg.nn.Linear(3, 1, dtype=torch.float64)
    opt = optim.LBFGS(model.parameters(), line_search_fn=line_search_fn, lr=1)

    def closure():
        opt.zero_grad()
        loss = mg.nn.functional.mse_loss(model(mg.Tensor(x)), mg.Tensor(y))
        loss.backward()
        return loss

    opt.step(closure)
    with_ones = torch.cat([x, torch.ones(30, 1, dtype=torch.float64)], 1)
    solution = torch.linalg.lstsq(with_ones, y).solution.view(-1)
    fitted = torch.cat([model.weight._data.view(-1), model.bias._data])
    torch.testing.assert_close(fitted, solution, rtol=1e-6, atol=1e-6)


def test_an_lbfgs_step_under_compile_is_refused_clearly():
    """LBFGS decides in Python (the loss, the line search's tests), so a recording of its
    torch calls could not replay it: minigrad.compile says so instead of replaying wrongly."""
    w = mg.Tensor(torch.randn(3), requires_grad=True)
    opt = optim.LBFGS([w])

    def closure():
        opt.zero_grad()
        loss = ((w - 1) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(CompileError, match="reads a tensor's numbers into Python"):
        mg.compile(lambda: opt.step(closure))()
