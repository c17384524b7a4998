"""minigrad.optim against torch.optim: same parameters, same gradients, same steps.

Each optimizer runs beside torch's for STEPS steps, in float64, over settings, parameter groups,
missing gradients and settings changed between steps that Hypothesis draws; the parameters and
the whole optimizer state must agree after every step, within the suite's usual tolerance.
(They agree to the last bit, as the same kernels run in the same order, but for a last-bit
difference now and then in Adam's sqrt(1 - beta2^t): torch takes Python's pow(x, 0.5), which
is not always correctly rounded; minigrad takes sqrt, which is.)
"""

from __future__ import annotations

import contextlib
import copy
import io
import math

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from torch.overrides import TorchFunctionMode

import minigrad as mg
from minigrad import nn, optim
from minigrad.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

RTOL, ATOL = 1e-7, 1e-9
SHAPES = [(3, 4), (4,), (), (2, 1, 3)]
STEPS = 30

lrs = st.floats(1e-4, 1.0)
decays = st.sampled_from([0.0, 1e-2, 0.5])
momenta = st.sampled_from([0.0, 0.5, 0.9])
betas = st.tuples(st.sampled_from([0.0, 0.5, 0.9]), st.sampled_from([0.9, 0.99, 0.999]))
adam_settings = dict(
    lr=lrs,
    betas=betas,
    eps=st.sampled_from([1e-8, 1e-3]),
    weight_decay=decays,
    amsgrad=st.booleans(),
    maximize=st.booleans(),
)
# every setting of each optimizer, and those that may change between steps (as a scheduler
# changes lr and momentum); flags that decide what state exists stay fixed, as in torch
SETTINGS = {
    "SGD": dict(
        lr=lrs,
        momentum=momenta,
        dampening=st.sampled_from([0.0, 0.1, 0.5]),
        weight_decay=decays,
        nesterov=st.booleans(),
        maximize=st.booleans(),
    ),
    "Adam": adam_settings,
    "AdamW": adam_settings,
    "RMSprop": dict(
        lr=st.floats(1e-4, 0.1),
        alpha=st.sampled_from([0.5, 0.9, 0.99]),
        eps=st.sampled_from([1e-8, 1e-2]),
        weight_decay=decays,
        momentum=momenta,
        centered=st.booleans(),
        maximize=st.booleans(),
    ),
    "Adagrad": dict(
        lr=lrs,
        lr_decay=st.sampled_from([0.0, 0.01, 0.5]),
        weight_decay=decays,
        initial_accumulator_value=st.sampled_from([0.0, 0.1, 1.0]),
        eps=st.sampled_from([1e-10, 1e-3]),
        maximize=st.booleans(),
    ),
    "Adadelta": dict(
        lr=st.floats(1e-2, 2.0),
        rho=st.sampled_from([0.0, 0.5, 0.9, 0.99]),
        eps=st.sampled_from([1e-6, 1e-2]),
        weight_decay=decays,
        maximize=st.booleans(),
    ),
}
CHANGEABLE = {
    "SGD": ["lr", "momentum", "dampening", "weight_decay"],
    "Adam": ["lr", "betas", "eps", "weight_decay"],
    "AdamW": ["lr", "betas", "eps", "weight_decay"],
    "RMSprop": ["lr", "alpha", "eps", "weight_decay"],
    "Adagrad": ["lr", "lr_decay", "eps", "weight_decay"],
    "Adadelta": ["lr", "rho", "eps", "weight_decay"],
}


@st.composite
def setups(draw, name, every_setting=SETTINGS, changeable=CHANGEABLE, steps=STEPS):
    """Defaults, parameter groups with their own settings, gradients left out, and settings
    changed between steps, for optimizer `name` (its strategies in `every_setting`, those that
    may change between steps in `changeable`) over `steps` steps."""
    settings = every_setting[name]
    defaults = {key: draw(strategy) for key, strategy in settings.items()}
    if defaults.get("nesterov") and (defaults["momentum"] == 0 or defaults["dampening"] != 0):
        defaults["nesterov"] = False  # torch refuses these defaults (tested below)
    n_groups = draw(st.integers(1, 3))
    owner = draw(st.lists(st.integers(0, n_groups - 1), min_size=4, max_size=4))
    groups = []
    for g in range(n_groups):
        members = [i for i, o in enumerate(owner) if o == g]
        if members:
            own = {k: v for k, v in settings.items() if k != "initial_accumulator_value"}
            groups.append((members, draw(st.fixed_dictionaries({}, optional=own))))
    skip = draw(st.sets(st.tuples(st.integers(0, steps - 1), st.integers(0, 3)), max_size=8))
    changes = {}
    for step in draw(st.sets(st.integers(1, steps - 1), max_size=4)):
        key = draw(st.sampled_from(changeable[name]))
        changes[step] = (draw(st.integers(0, len(groups) - 1)), key, draw(settings[key]))
    return defaults, groups, skip, changes


class SideBySide:
    """Copies of the same parameters under a minigrad optimizer and under torch's."""

    def __init__(self, name, defaults, groups=None, seed=0, shapes=SHAPES):
        self.gen = torch.Generator().manual_seed(seed)
        start = [torch.randn(s, dtype=torch.float64, generator=self.gen) for s in shapes]
        self.theirs = [t.clone().requires_grad_() for t in start]
        self.ours = [mg.Tensor(t.clone(), requires_grad=True) for t in start]
        groups = groups or [(list(range(len(shapes))), {})]

        def grouped(params):
            return [{"params": [params[i] for i in m], **dict(s)} for m, s in groups]

        self.opt_theirs = getattr(torch.optim, name)(grouped(self.theirs), **defaults)
        self.opt_ours = getattr(optim, name)(grouped(self.ours), **defaults)
        self.steps = 0

    def step(self, skip=()):
        for i, (p_theirs, p_ours) in enumerate(zip(self.theirs, self.ours)):
            if (self.steps, i) in skip:
                p_theirs.grad = p_ours.grad = None
                continue
            g = torch.randn(p_theirs.shape, dtype=torch.float64, generator=self.gen)
            p_theirs.grad, p_ours.grad = g.clone(), mg.Tensor(g.clone())
        self.opt_theirs.step()
        self.opt_ours.step()
        self.steps += 1
        self.check()

    def set(self, group, key, value):
        self.opt_theirs.param_groups[group][key] = value
        self.opt_ours.param_groups[group][key] = value

    def check(self):
        for i, (p_theirs, p_ours) in enumerate(zip(self.theirs, self.ours)):
            where = f"parameter {i} after step {self.steps}"
            assert_close(p_ours._data, p_theirs.detach(), where)
            state_theirs = self.opt_theirs.state.get(p_theirs, {})
            state_ours = self.opt_ours.state.get(p_ours, {})
            assert sorted(state_ours) == sorted(state_theirs), where
            for key, value in state_theirs.items():
                assert_close(state_ours[key], value, f"state[{key!r}] of {where}")


def assert_close(ours, theirs, where):
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, where
    if torch.equal(ours, theirs):  # the usual case, and much quicker to check
        return
    torch.testing.assert_close(ours, theirs, rtol=RTOL, atol=ATOL, msg=lambda m: f"{where}: {m}")


def run(name, setup, seed, steps=STEPS):
    defaults, groups, skip, changes = setup
    pair = SideBySide(name, defaults, groups, seed)
    for step in range(steps):
        if step in changes:
            pair.set(*changes[step])
        pair.step(skip)
    return pair


# ---- every optimizer against torch ------------------------------------------------------------

seeds = st.integers(0, 2**16)


@given(setups("SGD"), seeds)
@example(({"lr": 0.1, "momentum": 0.9, "nesterov": True}, None, set(), {}), 0)
@example(({"lr": 0.1, "momentum": 0.9, "dampening": 0.5}, None, set(), {}), 0)
def test_sgd_matches_torch_step_by_step(setup, seed):
    run("SGD", setup, seed)


@given(setups("Adam"), seeds)
@example(({}, None, set(), {}), 0)  # the defaults
@example(({"amsgrad": True, "weight_decay": 0.1}, None, set(), {}), 0)
def test_adam_matches_torch_step_by_step(setup, seed):
    run("Adam", setup, seed)


@given(setups("AdamW"), seeds)
@example(({}, None, set(), {}), 0)
def test_adamw_matches_torch_step_by_step(setup, seed):
    run("AdamW", setup, seed)


@given(setups("RMSprop"), seeds)
@example(({}, None, set(), {}), 0)
@example(({"momentum": 0.9, "centered": True}, None, set(), {}), 0)
def test_rmsprop_matches_torch_step_by_step(setup, seed):
    run("RMSprop", setup, seed)


@given(setups("Adagrad"), seeds)
@example(({}, None, set(), {}), 0)
@example(({"lr_decay": 0.1, "initial_accumulator_value": 0.5}, None, set(), {}), 0)
def test_adagrad_matches_torch_step_by_step(setup, seed):
    run("Adagrad", setup, seed)


@given(setups("Adadelta"), seeds)
@example(({}, None, set(), {}), 0)
@example(({"rho": 0.5, "weight_decay": 0.5, "maximize": True}, None, set(), {}), 0)
def test_adadelta_matches_torch_step_by_step(setup, seed):
    run("Adadelta", setup, seed)


NAMES = list(SETTINGS)


@pytest.mark.parametrize("name", NAMES)
def test_float32_steps_are_torchs_to_the_bit(name):
    """float32 parameters (of one dim or more): the same kernels on the same numbers, so the
    same bits, although minigrad's settings reach torch as float64 0-d tensors."""
    gen = torch.Generator().manual_seed(5)
    theirs = [torch.randn(s, generator=gen, requires_grad=True) for s in [(3, 4), (5,)]]
    ours = [mg.Tensor(t.detach().clone(), requires_grad=True) for t in theirs]
    settings = dict(lr=0.01, weight_decay=0.1)
    opt_theirs = getattr(torch.optim, name)(theirs, **settings)
    opt_ours = getattr(optim, name)(ours, **settings)
    for _ in range(STEPS):
        for a, b in zip(theirs, ours):
            a.grad = torch.randn(a.shape, generator=gen)
            b.grad = mg.Tensor(a.grad.clone())
        opt_theirs.step()
        opt_ours.step()
    for a, b in zip(theirs, ours):
        assert b.dtype == torch.float32 and torch.equal(b._data, a.detach())


def test_a_model_learns_a_linear_map():
    mg.manual_seed(0)
    x = mg.randn(64, 3)
    y = x @ mg.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    makers = [
        lambda ps: SGD(ps, lr=0.1, momentum=0.9),
        lambda ps: Adam(ps, lr=0.05),
        lambda ps: AdamW(ps, lr=0.05, weight_decay=0.0),
        lambda ps: RMSprop(ps, lr=0.02),
        lambda ps: Adagrad(ps, lr=0.5),
    ]
    for make_opt in makers:
        model = nn.Linear(3, 1, device=x.device)
        opt = make_opt(model.parameters())
        for _ in range(300):
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
        assert loss.item() < 1e-3, type(opt).__name__


@pytest.mark.parametrize("name, settings", [
    ("RMSprop", dict(lr=1e-3)),  # the recipe of PyTorch's "polynomial_optim" example
    ("SGD", dict(lr=1e-6, momentum=0.9)),
    ("Adam", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2)),
    ("Adagrad", dict(lr=0.1)),
])  # fmt: skip
def test_a_float32_model_trains_to_torchs_losses_bit_for_bit(name, settings):
    """A cubic fitted to sin(x), in float32 as a tutorial runs it: nn.Linear, MSELoss(sum),
    the optimizer; the same losses as torch's to the last bit, step after step."""
    x = torch.linspace(-math.pi, math.pi, 2000)
    features, y = torch.stack([x, x**2, x**3], -1), torch.sin(x)
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
    mg.manual_seed(0)
    ours = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))
    opt_theirs = getattr(torch.optim, name)(theirs.parameters(), **settings)
    opt_ours = getattr(optim, name)(ours.parameters(), **settings)
    loss_theirs, loss_ours = torch.nn.MSELoss(reduction="sum"), nn.MSELoss(reduction="sum")
    for step in range(300):
        expected = loss_theirs(theirs(features), y)
        loss = loss_ours(ours(mg.Tensor(features)), mg.Tensor(y))
        assert loss.item() == expected.item(), f"step {step}"
        for opt, value in ((opt_theirs, expected), (opt_ours, loss)):
            opt.zero_grad()
            value.backward()
            opt.step()


def test_a_classifier_with_one_cycle_trains_to_torchs_losses():
    """An MLP, cross-entropy with label smoothing, SGD with momentum and weight decay under
    OneCycleLR (which moves momentum too): torch's losses within 1e-5 for 100 steps."""
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(256, 20, generator=gen), torch.randint(0, 5, (256,), generator=gen)
    models = []
    for library, seed in ((torch.nn, torch.manual_seed), (nn, mg.manual_seed)):
        seed(1)
        models.append(library.Sequential(library.Linear(20, 32), library.ReLU(),
                                         library.Linear(32, 5)))  # fmt: skip
    theirs, ours = models
    settings = dict(lr=0.1, momentum=0.9, weight_decay=1e-4)
    opt_theirs = torch.optim.SGD(theirs.parameters(), **settings)
    opt_ours = SGD(ours.parameters(), **settings)
    schedules = [
        torch.optim.lr_scheduler.OneCycleLR(opt_theirs, max_lr=0.5, total_steps=100),
        optim.lr_scheduler.OneCycleLR(opt_ours, max_lr=0.5, total_steps=100),
    ]
    loss_theirs = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    loss_ours = nn.CrossEntropyLoss(label_smoothing=0.1)
    for step in range(100):
        batch = slice(step % 8 * 32, (step % 8 + 1) * 32)
        expected = loss_theirs(theirs(x[batch]), y[batch])
        loss = loss_ours(ours(mg.Tensor(x[batch])), mg.Tensor(y[batch]))
        assert loss.item() == pytest.approx(expected.item(), rel=1e-5), f"step {step}"
        for opt, value, schedule in zip((opt_theirs, opt_ours), (expected, loss), schedules):
            value.backward()
            opt.step()
            opt.zero_grad()
            schedule.step()
        if step == 0:
            first = loss.item()
    assert loss.item() < first / 2  # it learned


def test_plain_sgd_is_p_minus_lr_times_grad():
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    p.grad = mg.tensor([0.5, 4.0])
    SGD([p], lr=0.1).step()
    assert p.tolist() == pytest.approx([0.95, -2.4], abs=1e-7)


def test_step_updates_in_place_without_building_a_graph(device):
    p = mg.randn(3, device=device, requires_grad=True)
    storage = p._data.data_ptr()
    p.grad = mg.ones(3, device=device)
    for opt in (SGD([p], lr=0.1, momentum=0.9), Adam([p]), RMSprop([p]), Adagrad([p])):
        opt.step()
        assert p.is_leaf and p.requires_grad and p._data.data_ptr() == storage
        assert mg.is_grad_enabled()  # step's no_grad ends with it
        state = opt.state[p]
        assert all(v.device == p.device for v in state.values() if isinstance(v, torch.Tensor))


def test_step_calls_the_closure_with_gradients_on_and_returns_its_loss():
    p = mg.tensor([3.0], requires_grad=True)
    opt = SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 9.0 and p.item() == 1.5  # 3 - 0.25 * 6


def test_zero_grad_sets_to_none_or_fills_zeros_in_every_group():
    a, b = mg.randn(3, requires_grad=True), mg.randn(2, requires_grad=True)
    a.grad, b.grad = mg.ones(3), mg.ones(2)
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0] * 3 and b.grad.tolist() == [0.0] * 2
    opt.zero_grad()
    assert a.grad is None and b.grad is None


# ---- parameter groups, state_dict, repr: torch's layout ---------------------------------------


def test_groups_fill_in_the_defaults_and_print_as_torchs():
    pair = SideBySide(
        "SGD", dict(lr=0.1, momentum=0.9), groups=[([0, 1], {}), ([2, 3], {"lr": 0.01})]
    )
    groups = pair.opt_ours.param_groups
    assert [g["lr"] for g in groups] == [0.1, 0.01]
    assert groups[1]["momentum"] == 0.9
    assert [g["params"] for g in groups] == [pair.ours[:2], pair.ours[2:]]
    for name in NAMES:  # every setting and default, under torch's names
        ours = getattr(optim, name)([mg.zeros(2, requires_grad=True)])
        theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)])
        assert repr(ours) == repr(theirs)
        assert ours.defaults == theirs.defaults


@pytest.mark.parametrize(
    "name, settings",
    [
        ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.1)),
        ("Adam", dict(lr=0.1, amsgrad=True)),
        ("AdamW", dict(lr=0.1)),
        ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
        ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
    ],
)
def test_state_dict_is_torchs_and_loads_both_ways(name, settings):
    groups = [([0, 2], {}), ([1, 3], {"lr": 0.05})]
    pair = SideBySide(name, settings, groups, seed=3)
    for _ in range(4):
        pair.step(skip={(0, 1)})
    ours, theirs = pair.opt_ours.state_dict(), pair.opt_theirs.state_dict()
    assert ours["param_groups"] == theirs["param_groups"]
    assert sorted(ours["state"]) == sorted(theirs["state"])
    for index, state in theirs["state"].items():
        assert sorted(ours["state"][index]) == sorted(state)
        for key, value in state.items():
            assert_close(ours["state"][index][key].cpu(), value, f"state {index} {key}")

    # a fresh minigrad optimizer resumes from torch's state, a fresh torch one from minigrad's,
    # each over copies of the parameters; all four then take the same steps
    resumed_ours = SideBySide(name, settings, groups, seed=3)
    resumed_theirs = SideBySide(name, settings, groups, seed=3)
    for resumed, source in ((resumed_ours, pair), (resumed_theirs, pair)):
        for mine, theirs_p, p_ours in zip(resumed.ours, resumed.theirs, source.ours):
            mine._data.copy_(p_ours._data)
            theirs_p.data.copy_(p_ours._data)
    # (copies: torch's load_state_dict keeps the given tensors, so they would be shared)
    resumed_ours.opt_ours.load_state_dict(copy.deepcopy(pair.opt_theirs.state_dict()))
    resumed_ours.opt_theirs.load_state_dict(copy.deepcopy(pair.opt_theirs.state_dict()))
    resumed_theirs.opt_ours.load_state_dict(copy.deepcopy(pair.opt_ours.state_dict()))
    resumed_theirs.opt_theirs.load_state_dict(copy.deepcopy(pair.opt_ours.state_dict()))
    for resumed in (resumed_ours, resumed_theirs):
        resumed.gen = torch.Generator().manual_seed(9)
    pair.gen = torch.Generator().manual_seed(9)
    for _ in range(5):
        for resumed in (pair, resumed_ours, resumed_theirs):
            resumed.step()
        for a, b in zip(resumed_ours.ours, pair.ours):
            assert torch.equal(a._data, b._data)
        for a, b in zip(resumed_theirs.ours, pair.ours):
            assert torch.equal(a._data, b._data)


def test_state_dict_survives_torch_save_and_restores_lr_changes():
    pair = SideBySide("Adam", dict(lr=0.1), seed=4)
    pair.step()
    pair.set(0, "lr", 0.02)
    buffer = io.BytesIO()
    torch.save(pair.opt_ours.state_dict(), buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    fresh = Adam(pair.ours, lr=0.1)
    fresh.load_state_dict(loaded)
    assert fresh.param_groups[0]["lr"] == 0.02
    assert fresh.param_groups[0]["params"] == pair.ours
    assert fresh.state[pair.ours[0]]["step"].item() == 1.0
    fresh.state[pair.ours[0]]["exp_avg"].add_(1.0)  # a copy: the source is untouched
    assert not torch.equal(
        pair.opt_ours.state[pair.ours[0]]["exp_avg"], fresh.state[pair.ours[0]]["exp_avg"]
    )


def test_load_state_dict_moves_state_to_each_parameters_device_and_dtype(device):
    source = [mg.zeros(3, dtype=torch.float64, requires_grad=True)]
    source[0].grad = mg.ones(3, dtype=torch.float64)
    opt = Adam(source)
    opt.step()
    target = [mg.zeros(3, device=device, requires_grad=True)]  # float32, maybe on the GPU
    fresh = Adam(target)
    fresh.load_state_dict(opt.state_dict())
    state = fresh.state[target[0]]
    assert state["exp_avg"].dtype == torch.float32 and state["exp_avg"].device.type == device
    assert state["step"].dtype == torch.float32 and state["step"].device.type == device


def torch_adagrad_steps_an_added_group() -> bool:
    """Some torch versions (2.11) make Adagrad's 'sum' state in __init__ only, so a group added
    later fails torch's own next step with KeyError('sum'); 2.13 makes it for added groups too."""
    weight = torch.zeros(1, requires_grad=True)
    adagrad = torch.optim.Adagrad([torch.zeros(1, requires_grad=True)])
    adagrad.add_param_group({"params": [weight]})
    weight.grad = torch.ones(1)
    try:
        adagrad.step()
    except KeyError:
        return False
    return True


@pytest.mark.parametrize("name", NAMES)
def test_add_param_group_mid_training_matches_torch(name):
    if name == "Adagrad" and not torch_adagrad_steps_an_added_group():
        pytest.skip(f"torch {torch.__version__}'s Adagrad cannot step a group added after __init__")
    pair = SideBySide(name, dict(lr=0.05), groups=[([0, 1], {})], seed=6)
    for _ in range(3):
        pair.step(skip={(s, i) for s in range(3) for i in (2, 3)})
    pair.opt_theirs.add_param_group({"params": pair.theirs[2:], "lr": 0.01})
    pair.opt_ours.add_param_group({"params": pair.ours[2:], "lr": 0.01})
    assert pair.opt_ours.param_groups[1] == {**pair.opt_ours.param_groups[0], "lr": 0.01,
                                             "params": pair.ours[2:]}  # fmt: skip
    for _ in range(5):
        pair.step()


def test_named_parameters_give_groups_their_names_as_torch():
    ours_model, theirs_model = nn.Linear(2, 1), torch.nn.Linear(2, 1)
    ours = SGD(ours_model.named_parameters(), lr=0.1)
    theirs = torch.optim.SGD(theirs_model.named_parameters(), lr=0.1)
    assert ours.param_groups[0]["param_names"] == ["weight", "bias"]
    assert ours.state_dict()["param_groups"] == theirs.state_dict()["param_groups"]


# ---- the settings reach torch as tensors (for minigrad.compile) --------------------------------


class RecordTorchCalls(TorchFunctionMode):
    """Every torch function and Tensor method called inside, with its arguments."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.calls.append((getattr(func, "__name__", str(func)), args, kwargs))
        return func(*args, **kwargs)


def numbers_in(value):
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from numbers_in(item)


@pytest.mark.parametrize(
    "name, settings",
    [
        ("SGD", dict(lr=0.0123, momentum=0.87, dampening=0.11, weight_decay=0.031)),
        ("SGD", dict(lr=0.0123, momentum=0.87, weight_decay=0.031, nesterov=True)),
        ("Adam", dict(lr=0.0123, betas=(0.87, 0.973), eps=0.00017, weight_decay=0.031)),
        ("AdamW", dict(lr=0.0123, betas=(0.87, 0.973), eps=0.00017, amsgrad=True)),
        ("RMSprop", dict(lr=0.0123, alpha=0.87, eps=0.00017, momentum=0.67, centered=True)),
        ("Adagrad", dict(lr=0.0123, lr_decay=0.041, eps=0.00017, weight_decay=0.031)),
    ],
)
def test_a_step_passes_no_setting_to_torch_as_a_number_and_reads_nothing_back(
    name, settings, device
):
    """What minigrad.compile relies on: a recording of a step's torch calls, replayed, must do
    what a later eager step does. So no setting, nor anything derived from the step count, may
    reach torch as a Python number; and nothing is read back into Python (.item(), bool), which
    on a GPU would also make the CPU wait (there, torch's sync debug mode must stay silent)."""
    params = [mg.randn(3, 2, dtype=torch.float64, device=device, requires_grad=True)]
    params.append(mg.randn((), dtype=torch.float64, device=device, requires_grad=True))
    opt = getattr(optim, name)(params, **settings)
    forbidden = set()
    for value in numbers_in(list(settings.values())):
        forbidden |= {value, -value, 1 - value, value - 1}
    for step in range(3):
        for p in params:
            p.grad = mg.randn(*p.shape, dtype=torch.float64, device=device)
        with RecordTorchCalls() as recorder, _no_device_waits(device, after_first_step=step > 0):
            opt.step()
        if step == 0:
            continue  # the first step makes the state (zeros_like...)
        names = [call[0] for call in recorder.calls]
        assert not {"item", "__bool__", "__float__", "tolist", "__int__"} & set(names), names
        for func, args, kwargs in recorder.calls:
            numbers = set(numbers_in(list(args) + list(kwargs.values())))
            assert not numbers & forbidden, f"{func} was given {numbers & forbidden}"


@contextlib.contextmanager
def _no_device_waits(device, after_first_step):
    """On CUDA, torch raises at any call that makes the CPU wait for the GPU."""
    if device != "cuda" or not after_first_step:
        yield
        return
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_hyperparameter_tensors_are_kept_and_refreshed_in_place():
    p = mg.zeros(2, 2, dtype=torch.float32, requires_grad=True)
    scalar = mg.zeros((), requires_grad=True)
    opt = Adam([p, scalar], lr=0.1, betas=(0.8, 0.9))
    group = opt.param_groups[0]
    lr = opt.hyperparameter(group, "lr", like=p._data)
    assert lr.shape == () and lr.dtype == torch.float64 and lr.item() == 0.1
    assert opt.hyperparameter(group, "lr", like=p._data) is lr  # the same tensor every time
    # a 0-d parameter gets its own dtype (two 0-d tensors would promote to float64)
    assert opt.hyperparameter(group, "lr", like=scalar._data).dtype == torch.float32
    beta1, beta2 = opt.hyperparameter(group, "betas", like=p._data)
    group["lr"], group["betas"] = 0.05, (0.7, 0.9)  # as a scheduler does, between steps
    opt.refresh_hyperparameters()  # what a replay calls first: no step needed
    assert lr.item() == 0.05 and beta1.item() == 0.7 and beta2.item() == 0.9
    group["lr"] = 0.01
    assert opt.hyperparameter(group, "lr", like=p._data) is lr and lr.item() == 0.01
    group["lr"] = torch.tensor(0.5)  # torch accepts a tensor lr: used as it is
    assert opt.hyperparameter(group, "lr", like=p._data).item() == 0.5


def test_option_reads_flags_and_whether_a_setting_is_zero():
    opt = SGD([mg.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9, nesterov=True)
    group = opt.param_groups[0]
    assert opt.option(group, "nesterov") is True
    assert opt.option(group, "momentum", nonzero=True) is True
    assert opt.option(group, "weight_decay", nonzero=True) is False


def test_adagrad_starts_each_groups_sum_at_its_own_initial_accumulator_value():
    # torch fills every group's sum from the constructor's argument; a group's own setting is
    # what the group says, so minigrad uses it
    a, b = mg.zeros(2, requires_grad=True), mg.zeros(2, requires_grad=True)
    opt = Adagrad([{"params": [a]}, {"params": [b], "initial_accumulator_value": 0.5}])
    assert opt.state[a]["sum"].tolist() == [0.0, 0.0]
    assert opt.state[b]["sum"].tolist() == [0.5, 0.5]


def test_a_tensor_lr_steps_like_a_number():
    a, b = mg.ones(3, requires_grad=True), mg.ones(3, requires_grad=True)
    lr = torch.tensor(0.1)
    opts = [SGD([a], lr=lr, momentum=0.5), SGD([b], lr=0.1, momentum=0.5)]
    for _ in range(3):
        for p, opt in zip((a, b), opts):
            p.grad = mg.ones(3)
            opt.step()
    assert torch.equal(a._data, b._data)


# ---- errors that teach ------------------------------------------------------------------------


def test_optimizer_errors_teach():
    p = mg.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match=r"got a single Tensor. Pass a list"):
        SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="none of the SGD's parameters requires grad"):
        SGD([mg.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match=r"parameter 1 was made by Mul.*detach\(\)"):
        Adam([p, p * 2])
    with pytest.raises(TypeError, match="minigrad Tensors; parameter 0 is a torch.Tensor"):
        SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        SGD({p}, lr=0.1)
    with pytest.raises(ValueError, match="lists a parameter twice"):
        SGD([p, p], lr=0.1)
    q = mg.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="in parameter group 0 and again in group 1"):
        SGD([{"params": [p, q]}, {"params": [q]}], lr=0.1)
    with pytest.raises(ValueError, match="needs a 'params' entry"):
        SGD([{"lr": 0.1}], lr=0.1)
    with pytest.raises(ValueError, match="lr must be >= 0, got -1"):
        SGD([p], lr=-1)
    with pytest.raises(ValueError, match="momentum must be >= 0"):
        SGD([p], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="Nesterov momentum needs momentum > 0"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"betas\[1\] must be in \[0, 1\), got 1.0"):
        Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match=r"betas\[0\] must be in \[0, 1\)"):
        AdamW([p], betas=(-0.1, 0.9))
    with pytest.raises(ValueError, match="eps must be >= 0"):
        RMSprop([p], eps=-1e-8)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        RMSprop([p], alpha=-0.5)
    with pytest.raises(ValueError, match="lr_decay must be >= 0"):
        Adagrad([p], lr_decay=-0.1)
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        Adam([p], differentiable=True)
    with pytest.raises(NotImplementedError, match="must define update"):
        p.grad = mg.zeros(2)
        Optimizer([p], {}).step()


def test_load_state_dict_errors_name_the_mismatch():
    a, b = mg.zeros(2, requires_grad=True), mg.zeros(2, requires_grad=True)
    saved = SGD([{"params": [a]}, {"params": [b]}], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="saved state has 2 parameter groups, this SGD has 1"):
        SGD([a, b], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="group 1 has 1 parameters in the saved state but 2"):
        SGD([{"params": [a]}, {"params": [b, mg.zeros(1, requires_grad=True)]}], lr=0.1) \
            .load_state_dict(saved)  # fmt: skip
