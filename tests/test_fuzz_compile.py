"""A differential fuzzer for minigrad.compile: random training programs, compiled and eager.

A program is a model (layers drawn: Linear, activations, in-place ReLU, Dropout, LayerNorm,
BatchNorm), an optimizer with its settings (one or two groups, the lr maybe a tensor), maybe a
scheduler, a training step with drawn parts (zero_grad first or last, to None or not, gradient
clipping, .grad scaled in place, a term whose shape depends on the values, x[mask]), and a
series of calls; before each call, changes drawn from a grammar: a hyperparameter or an option
set, the optimizer's state dict loaded, a layer or the optimizer replaced, a group added, a
layer frozen, train/eval, a Python value the step reads (a dict entry, a Module attribute), a
parameter's data replaced, .grad cleared, optimizer state dropped or replaced, the scheduler
stepped; and, inside the step, what a replay cannot follow (the scheduler stepped in the step,
a list appended to), switched on from some call.

The same program runs twice, from the same start: eagerly, and compiled with no replay checked
against eager (the guards alone must keep the replays right). After every call the two must be
bit for bit equal (the loss, every parameter and .grad, the optimizer's state and settings, the
modes); or, from the call where the step first does what a replay cannot follow, the compiled
run must stop with a CompileError that says so, at that call. A failure prints the program.

Profiles: ci (fixed examples, in the suite), dev (a few, random), thorough (many: CI runs it
with a seed drawn from the date, printed so that a failure can be run again with
`HYPOTHESIS_PROFILE=thorough pytest tests/test_fuzz_compile.py --hypothesis-seed=SEED`).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.jit.check import identical

FEATURES, CLASSES = 6, 3
# Programs per run: the ci profile stays well under a minute on 2 cores.
EXAMPLES = {"ci": 60, "dev": 30, "thorough": 500}.get(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"), 30
)


# ---- the grammar ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One change between calls: `kind`, with `a` picking what it applies to (modulo how many
    there are, so that a shrunk program stays valid) and a value."""

    kind: str
    a: int = 0
    value: Any = None


@dataclass(frozen=True)
class Program:
    layers: tuple[tuple[str, Any], ...]  # the body's layers, each (kind, option)
    dtype: str
    optimizer: tuple[str, tuple[tuple[str, Any], ...]]  # (kind, settings)
    groups: str  # "one", "two" (body and head), "head only" (the body added later, maybe)
    lr_tensor: bool
    scheduler: str | None
    step: tuple[tuple[str, Any], ...]  # the step's parts: cfg's first values
    batches: tuple[int, ...]  # rows of each call's batch
    changes: tuple[tuple[Change, ...], ...]  # before each call (the first: before call 1)

    def source(self) -> str:
        """The program, as a reader would want it in a failure report."""
        lines = [
            f"model: body {list(self.layers)}, head Linear, {self.dtype}",
            f"optimizer: {self.optimizer[0]}({dict(self.optimizer[1])}), groups: {self.groups}"
            + (", lr as a tensor" if self.lr_tensor else ""),
            f"scheduler: {self.scheduler}",
            f"step: {dict(self.step)}",
        ]
        for call, (rows, changes) in enumerate(zip(self.batches, self.changes), 1):
            done = "; ".join(f"{c.kind}({c.a}, {c.value!r})" for c in changes)
            lines.append(f"call {call}: batch of {rows}" + (f", after {done}" if done else ""))
        return "\n    ".join(lines)


OPTIMIZERS = {
    "SGD": {
        "lr": st.sampled_from([0.1, 0.5]),
        "momentum": st.sampled_from([0.0, 0.9]),
        "dampening": st.sampled_from([0.0, 0.0, 0.5]),
        "weight_decay": st.sampled_from([0.0, 0.01]),
        "nesterov": st.booleans(),
        "maximize": st.booleans(),
    },
    "Adam": {
        "lr": st.sampled_from([0.01, 0.05]),
        "weight_decay": st.sampled_from([0.0, 0.01]),
        "amsgrad": st.booleans(),
    },
    "AdamW": {"lr": st.sampled_from([0.01, 0.05]), "amsgrad": st.booleans()},
    "RMSprop": {
        "lr": st.sampled_from([0.01]),
        "momentum": st.sampled_from([0.0, 0.5]),
        "centered": st.booleans(),
    },
    "Adagrad": {"lr": st.sampled_from([0.1]), "weight_decay": st.sampled_from([0.0, 0.01])},
    "Adadelta": {"lr": st.sampled_from([1.0]), "rho": st.sampled_from([0.5, 0.9])},
}
LAYERS = {
    "Linear": st.sampled_from([4, 7]),
    "ReLU": st.just(None),
    "ReLU inplace": st.just(None),
    "Tanh": st.just(None),
    "GELU": st.sampled_from(["none", "tanh"]),
    "LeakyReLU": st.sampled_from([0.01, 0.2]),
    "Dropout": st.sampled_from([0.25, 0.5]),
    "LayerNorm": st.just(None),
    "BatchNorm1d": st.just(None),
}
CHANGES = {
    "lr": st.sampled_from([0.0, 0.02, 0.3]),
    "weight_decay": st.sampled_from([0.0, 0.05]),
    "maximize": st.booleans(),
    "nesterov": st.booleans(),
    "load_state_dict": st.sampled_from([None, 0.0, 0.07]),  # the lr it loads (None: as saved)
    "replace_layer": st.integers(0, 100),  # a seed for the new layer
    "replace_optimizer": st.sampled_from(sorted(OPTIMIZERS)),
    "add_param_group": st.just(None),
    "freeze": st.booleans(),  # requires_grad of a layer's parameters
    "train": st.booleans(),
    "scale": st.sampled_from([1.0, 2.0, 1, 0.5]),  # cfg["scale"] (1 and 1.0: other calls)
    "module_scale": st.sampled_from([1.0, 3.0]),  # model.scale
    "clip": st.sampled_from([None, 0.1, 1.0]),
    "mask": st.booleans(),
    "grad_scale": st.booleans(),
    "zero_first": st.booleans(),
    "set_to_none": st.booleans(),
    "dropout_p": st.sampled_from([0.0, 0.3]),
    "replace_data": st.sampled_from([1.0, -0.5]),
    "clear_grad": st.sampled_from(["None", "zeros"]),
    "drop_state": st.just(None),
    "replace_state": st.just(None),
    "scheduler_step": st.just(None),
    "lr_tensor_in_place": st.sampled_from([0.5, 2.0]),
    "scheduler_inside": st.just(True),  # from now on the step steps the scheduler: refused
    "log_inside": st.just(True),  # from now on the step appends to a list: refused
}


@st.composite
def changes(draw: st.DrawFn) -> Change:
    kind = draw(st.sampled_from(sorted(CHANGES)))
    return Change(kind, draw(st.integers(0, 7)), draw(CHANGES[kind]))


@st.composite
def programs(draw: st.DrawFn) -> Program:
    layers = []
    for kind in draw(st.lists(st.sampled_from(sorted(LAYERS)), min_size=0, max_size=4)):
        layers.append((kind, draw(LAYERS[kind])))
    kind = draw(st.sampled_from(sorted(OPTIMIZERS)))
    optimizer = (kind, tuple((k, draw(v)) for k, v in OPTIMIZERS[kind].items()))
    step = (
        ("scale", draw(st.sampled_from([1.0, 2.0]))),
        ("clip", draw(st.sampled_from([None, 0.5]))),
        ("mask", draw(st.sampled_from([False, False, False, True]))),
        ("grad_scale", draw(st.booleans())),
        ("zero_first", draw(st.booleans())),
        ("set_to_none", draw(st.booleans())),
        ("scheduler_inside", False),
        ("log_inside", False),
    )
    calls = draw(st.integers(2, 12))
    batches = tuple(draw(st.sampled_from([4, 4, 4, 4, 4, 5])) for _ in range(calls))
    # Most calls come after no change (they replay), some after one or two.
    counts = [draw(st.sampled_from([0, 0, 0, 1, 1, 2])) if i else 0 for i in range(calls)]
    drawn = tuple(tuple(draw(changes()) for _ in range(n)) for n in counts)
    return Program(
        tuple(layers),
        draw(st.sampled_from(["float32", "float64"])),
        optimizer,
        draw(st.sampled_from(["one", "two", "head only"])),
        draw(st.booleans()),
        draw(st.sampled_from([None, "StepLR", "ExponentialLR", "OneCycleLR"])),
        step,
        batches,
        drawn,
    )


# ---- a program's world, built the same way for each run ------------------------------------------


class Net(nn.Module):
    """The model: a body of drawn layers, a Linear head, and a setting its forward reads."""

    def __init__(self, layers: tuple[tuple[str, Any], ...], dtype: torch.dtype) -> None:
        super().__init__()
        built, width = [], FEATURES
        for kind, option in layers:
            if kind == "Linear":
                built.append(nn.Linear(width, option, dtype=dtype))
                width = option
            elif kind == "ReLU":
                built.append(nn.ReLU())
            elif kind == "ReLU inplace":
                built.append(nn.ReLU(inplace=True))
            elif kind == "Tanh":
                built.append(nn.Tanh())
            elif kind == "GELU":
                built.append(nn.GELU(approximate=option))
            elif kind == "LeakyReLU":
                built.append(nn.LeakyReLU(option))
            elif kind == "Dropout":
                built.append(nn.Dropout(option))
            elif kind == "LayerNorm":
                built.append(nn.LayerNorm(width, dtype=dtype))
            elif kind == "BatchNorm1d":
                built.append(nn.BatchNorm1d(width, dtype=dtype))
        if not any(kind == "Linear" for kind, _ in layers):
            built.insert(0, nn.Linear(FEATURES, width, dtype=dtype))
        self.body = nn.Sequential(*built)
        self.head = nn.Linear(width, CLASSES, dtype=dtype)
        self.scale = 1.0

    def forward(self, x: Any) -> Any:
        return self.head(self.body(x)) * self.scale


@dataclass
class World:
    """Everything the step reads and the changes touch."""

    program: Program
    model: Net
    holder: dict[str, Any]
    cfg: dict[str, Any]
    scheduler: Any
    log: list[Any] = field(default_factory=list)
    saved: Any = None  # a state dict kept at the start, for load_state_dict
    forbidden: int | None = None  # the first call whose step did what a replay cannot follow

    @property
    def dtype(self) -> torch.dtype:
        return getattr(torch, self.program.dtype)


def make_optimizer(program: Program, model: Net, kind: str, settings: dict[str, Any]) -> Any:
    settings = dict(settings)
    if kind == "SGD" and settings.get("nesterov"):
        settings.update(momentum=0.9, dampening=0.0)  # nesterov needs them
    if program.lr_tensor:
        settings["lr"] = torch.tensor(settings["lr"], dtype=torch.float64)
    body, head = list(model.body.parameters()), list(model.head.parameters())
    if program.groups == "two":
        params: Any = [{"params": body}, {"params": head, "lr": settings["lr"] * 0.5}]
    elif program.groups == "head only":
        params = head
    else:
        params = body + head
    return getattr(mg.optim, kind)(params, **settings)


def make_scheduler(name: str | None, opt: Any) -> Any:
    if name is None:
        return None
    if name == "StepLR":
        return mg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    if name == "ExponentialLR":
        return mg.optim.lr_scheduler.ExponentialLR(opt, gamma=0.8)
    cycle = "momentum" in opt.defaults or "betas" in opt.defaults
    return mg.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=100, cycle_momentum=cycle)


def build(program: Program) -> World:
    mg.manual_seed(0)
    model = Net(program.layers, getattr(torch, program.dtype))
    kind, settings = program.optimizer
    opt = make_optimizer(program, model, kind, dict(settings))
    world = World(program, model, {"opt": opt}, dict(program.step), None)
    world.scheduler = make_scheduler(program.scheduler, opt)
    world.saved = opt.state_dict()
    return world


def make_step(world: World) -> Any:
    """The training step, reading the world through names (as a user's step does)."""
    model, holder, cfg, log = world.model, world.holder, world.cfg, world.log
    F = nn.functional

    def body(xb: Any, yb: Any) -> Any:
        opt = holder["opt"]
        if cfg["zero_first"]:
            opt.zero_grad(set_to_none=cfg["set_to_none"])
        h = model(xb)
        loss = F.cross_entropy(h * cfg["scale"], yb)
        if cfg["mask"]:  # a term whose shape depends on the values
            loss = loss + (h[h > h.mean()] ** 2).mean() * 0.1
        loss.backward()
        if cfg["clip"] is not None:
            nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"])
        if cfg["grad_scale"]:
            with mg.no_grad():
                for p in model.parameters():
                    if p.grad is not None:
                        p.grad.mul_(0.5)
        opt.step()
        if not cfg["zero_first"]:
            opt.zero_grad(set_to_none=cfg["set_to_none"])
        return loss

    if world.scheduler is None:
        if not any(c.kind == "log_inside" for cs in world.program.changes for c in cs):
            return body

        def train_step(xb: Any, yb: Any) -> Any:
            loss = body(xb, yb)
            if cfg["log_inside"]:
                log.append(loss)
            return loss

        return train_step
    scheduler = world.scheduler

    def train_step_with_scheduler(xb: Any, yb: Any) -> Any:
        loss = body(xb, yb)
        if cfg["scheduler_inside"]:
            scheduler.step()
        if cfg["log_inside"]:
            log.append(loss)
        return loss

    return train_step_with_scheduler


def apply(world: World, change: Change) -> None:
    """Make one change to the world, between calls (a change that does not apply: nothing)."""
    model, cfg, opt = world.model, world.cfg, world.holder["opt"]
    kind, a, value = change.kind, change.a, change.value
    groups = opt.param_groups
    group = groups[a % len(groups)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if kind == "lr":
        if isinstance(group["lr"], torch.Tensor):
            group["lr"] = torch.tensor(value, dtype=torch.float64)
        else:
            group["lr"] = value
    elif kind in ("weight_decay", "maximize") and kind in group:
        group[kind] = value
    elif kind == "nesterov" and "nesterov" in group:
        if not value or (group["momentum"] > 0 and group["dampening"] == 0):
            group["nesterov"] = value
    elif kind == "load_state_dict":
        saved = opt.state_dict() if a % 2 else world.saved
        if len(saved["param_groups"]) == len(groups) and type(opt).__name__ == saved.get(
            "kind", type(opt).__name__
        ):
            saved = {
                "state": saved["state"],
                "param_groups": [dict(g) for g in saved["param_groups"]],
            }
            if value is not None:
                for g in saved["param_groups"]:
                    g["lr"] = value
            try:
                opt.load_state_dict(saved)
            except (ValueError, KeyError):
                pass  # another optimizer's state: refused the same way on both sides
    elif kind == "replace_layer":
        old = linears[a % len(linears)]
        mg.manual_seed(value)
        new = nn.Linear(old.in_features, old.out_features, dtype=world.dtype)
        for parent in model.modules():
            for name, child in list(vars(parent).items()):
                if child is old:
                    setattr(parent, name, new)
    elif kind == "replace_optimizer":
        settings = {"lr": 0.05}
        world.holder["opt"] = make_optimizer(world.program, model, value, settings)
    elif kind == "add_param_group":
        held = {id(p) for g in groups for p in g["params"]}
        new = [p for p in model.parameters() if id(p) not in held]
        if new:
            lr = 0.01 if not isinstance(group["lr"], torch.Tensor) else torch.tensor(0.01)
            opt.add_param_group({"params": new, "lr": lr})
    elif kind == "freeze":
        linears[a % len(linears)].requires_grad_(value)
    elif kind == "train":
        model.train(value)
    elif kind in ("scale", "clip", "mask", "grad_scale", "zero_first", "set_to_none"):
        cfg[kind] = value
    elif kind == "module_scale":
        model.scale = value
    elif kind == "dropout_p":
        for m in model.modules():
            if isinstance(m, nn.Dropout):
                m.p = value
    elif kind == "replace_data":
        p = list(model.parameters())[a % len(list(model.parameters()))]
        p.data = p.data.clone() * value
    elif kind == "clear_grad":
        for i, p in enumerate(model.parameters()):
            if (i + a) % 2 == 0:
                p.grad = None if value == "None" else mg.zeros_like(p).detach()
    elif kind == "drop_state" and opt.state:
        keys = list(opt.state)
        del opt.state[keys[a % len(keys)]]
    elif kind == "replace_state" and opt.state:
        entry = opt.state[list(opt.state)[a % len(opt.state)]]
        for key in list(entry):
            if isinstance(entry[key], torch.Tensor) and key != "step":
                entry[key] = entry[key].clone() * 0.5
    elif kind == "scheduler_step" and world.scheduler is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            world.scheduler.step()
    elif kind == "lr_tensor_in_place" and isinstance(group["lr"], torch.Tensor):
        group["lr"].mul_(value)
    elif kind == "scheduler_inside" and world.scheduler is not None:
        cfg["scheduler_inside"] = True
    elif kind == "log_inside":
        cfg["log_inside"] = True


def batch(world: World, call: int, rows: int) -> tuple[mg.Tensor, mg.Tensor]:
    generator = torch.Generator().manual_seed(call)
    x = torch.randn(rows, FEATURES, generator=generator, dtype=world.dtype)
    y = torch.randint(0, CLASSES, (rows,), generator=generator)
    return mg.Tensor(x), mg.Tensor(y)


def snapshot(world: World, loss: Any) -> list[Any]:
    """What a call leaves: the loss, parameters, .grad, the optimizer's state and settings,
    the modes and settings of the model, the scheduler's place."""
    opt = world.holder["opt"]
    values: list[Any] = [loss]
    for p in world.model.parameters():
        values += [p, p.grad, p.requires_grad]
    for m in world.model.modules():
        values += [m.training, *(b for b in m.buffers(recurse=False))]
    for group in opt.param_groups:
        values += [group[k] for k in sorted(group) if k != "params"]
    for p in (p for g in opt.param_groups for p in g["params"]):
        for key, value in sorted(opt.state.get(p, {}).items()):
            values += [key, value]
    values.append(opt._steps_taken)
    if world.scheduler is not None:
        values.append(world.scheduler.last_epoch)
    return [_frozen(v) for v in values]


def _frozen(value: Any) -> Any:
    if isinstance(value, mg.Tensor):
        return value._data.clone()
    if isinstance(value, torch.Tensor):
        return value.clone()
    return value


def run(
    program: Program, compiled: bool
) -> tuple[list[list[Any]], list[str | None], list[bool], World]:
    """Each call's snapshot, each call's error (None if it ran), and whether the compiled step
    ran that call eagerly (past its limit of recordings: then it is the eager step)."""
    world = build(program)
    step = make_step(world)
    if compiled:
        step = mg.compile(step, check=False)
    states, errors, eager_calls = [], [], []
    for call, (rows, changes) in enumerate(zip(program.batches, program.changes), 1):
        for change in changes:
            try:
                apply(world, change)
            except Exception:  # noqa: BLE001  (refused the same way in both runs: a no-op)
                pass
        doing = world.cfg["log_inside"] or (
            world.cfg["scheduler_inside"] and world.scheduler is not None
        )
        if doing and world.forbidden is None:
            world.forbidden = call
        mg.manual_seed(1000 + call)  # dropout's masks: the same on each side
        eager_before = step.eager_calls if compiled else 0
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loss = step(*batch(world, call, rows))
        except Exception as error:  # noqa: BLE001  (compared between the runs)
            errors.append(f"{type(error).__name__}: {error}")
            states.append([])
            eager_calls.append(False)
            break
        errors.append(None)
        states.append(snapshot(world, loss))
        eager_calls.append(compiled and step.eager_calls > eager_before)
    return states, errors, eager_calls, world


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and identical(a, b)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same_value, a, b))
    if isinstance(a, float) and a != a:
        return isinstance(b, float) and b != b
    return type(a) is type(b) and a == b


def check_program(program: Program) -> None:
    theirs, their_errors, _, world = run(program, compiled=False)
    ours, our_errors, ran_eagerly, _ = run(program, compiled=True)
    listing = program.source()

    def fail(what: str) -> None:
        raise AssertionError(f"{what}\n  program:\n    {listing}")

    refused_at = world.forbidden
    for call, (their_error, our_error) in enumerate(zip(their_errors, our_errors), 1):
        if refused_at == call and ran_eagerly[call - 1]:
            # Past its limit of recordings the step runs eagerly, so the Python side effects
            # are the eager step's own: nothing to refuse; from here it must simply be eager.
            refused_at = None
        if refused_at == call:
            if our_error is None or not our_error.startswith("CompileError"):
                fail(f"call {call} does what a replay cannot follow; compiled: {our_error}")
            if "outside the compiled step" not in our_error and "Return what" not in our_error:
                fail(f"call {call}: the refusal does not say what to do: {our_error}")
            return
        if (their_error is None) != (our_error is None):
            fail(f"call {call}: eager {their_error}, compiled {our_error}")
        if their_error is not None:
            if their_error.split(":")[0] != our_error.split(":")[0]:
                fail(f"call {call}: eager raised {their_error}, compiled {our_error}")
            return
        a, b = theirs[call - 1], ours[call - 1]
        if len(a) != len(b):
            fail(f"after call {call}: eager left {len(a)} values, compiled {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            if not same_value(x, y):
                fail(f"after call {call}: value {i} differs: eager {x!r}, compiled {y!r}")
    if refused_at is not None:
        fail(f"call {refused_at} should have been refused")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_training_programs_compiled_equal_eager_or_stop_clearly(program):
    check_program(program)


def test_a_failure_lists_the_program():
    program = Program(
        (("Linear", 4), ("ReLU", None)),
        "float32",
        ("SGD", (("lr", 0.1),)),
        "one",
        False,
        None,
        (("scale", 1.0), ("clip", None), ("mask", False), ("grad_scale", False),
         ("zero_first", False), ("set_to_none", True), ("scheduler_inside", False),
         ("log_inside", False)),
        (4, 4, 4),
        ((), (Change("lr", 0, 0.3),), (Change("log_inside", 0, True),)),
    )  # fmt: skip
    check_program(program)  # the log is refused at call 3, as it should be
    text = program.source()
    assert "call 3: batch of 4, after log_inside(0, True)" in text
    assert "optimizer: SGD({'lr': 0.1})" in text


def test_a_side_effect_after_the_step_gave_up_recording_runs_as_eager():
    """Found by the thorough profile: eight changes between calls, each one recorded again,
    then the step appends to a list. Past its limit of recordings the step runs eagerly, so
    the append happens as in eager (nothing to refuse), and every value must equal eager's."""
    program = Program(
        (("BatchNorm1d", None), ("BatchNorm1d", None), ("Dropout", 0.25), ("BatchNorm1d", None)),
        "float32",
        ("SGD", (("lr", 0.1), ("momentum", 0.0), ("dampening", 0.0), ("weight_decay", 0.0),
                 ("nesterov", True), ("maximize", True))),
        "head only",
        True,
        "OneCycleLR",
        (("scale", 1.0), ("clip", None), ("mask", False), ("grad_scale", False),
         ("zero_first", True), ("set_to_none", False), ("scheduler_inside", False),
         ("log_inside", False)),
        (4,) * 12,
        ((), (Change("nesterov", 7, True),), (Change("weight_decay", 1, 0.05),),
         (Change("set_to_none", 2, True), Change("add_param_group", 1, None)), (), (),
         (Change("drop_state", 4, None), Change("lr", 2, 0.0)), (),
         (Change("zero_first", 7, True), Change("clip", 5, 1.0)),
         (Change("lr_tensor_in_place", 2, 0.5),), (), (Change("log_inside", 6, True),)),
    )  # fmt: skip
    _, _, ran_eagerly, _ = run(program, compiled=True)
    assert ran_eagerly[-1], "the program no longer reaches the limit of recordings"
    check_program(program)
