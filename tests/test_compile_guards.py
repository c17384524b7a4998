"""minigrad.compile when the world changes between calls: every case ends as torch's eager run
ends, or stops with a clear error at the call that made the difference.

Each case is one program written once for both libraries (`lib` is torch or minigrad; their
interfaces are the same), run three ways: torch eager, minigrad eager, and minigrad compiled.
After every call, the compiled run must equal minigrad's eager run bit for bit (the same torch
calls), and minigrad's eager run must equal torch's (float64, to the tolerance of the optimizer
tests). A case that is refused names the call where the compiled run stopped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch

import minigrad as mg
from minigrad.jit import CompileError
from minigrad.jit.check import identical

RTOL, ATOL = 1e-7, 1e-9


def as_torch(value: Any) -> torch.Tensor | None:
    if value is None:
        return None
    return value._data if isinstance(value, mg.Tensor) else value.detach()


def eager(fn: Callable) -> Callable:
    return fn


Program = Callable[[Any, Callable], Iterator[list[Any]]]


def run(program: Program, lib: Any, compile: Callable) -> tuple[list[list[Any]], Exception | None]:
    """What the program leaves after each call (tensors or None), and the error that stopped it."""
    states: list[list[Any]] = []
    try:
        for state in program(lib, compile):
            states.append([t if t is None else as_torch(t).clone() for t in state])
    except CompileError as error:
        return states, error
    return states, None


def side_by_side(program: Program, refused_at: int | None = None, match: str = "") -> Any:
    """Run `program` three ways and compare (see the module's docstring). With `refused_at`,
    the compiled run must stop at that call (1 is the first) with an error matching `match`."""
    theirs, error = run(program, torch, eager)
    assert error is None
    ours, error = run(program, mg, eager)
    assert error is None
    compiled, error = run(program, mg, _compile_unchecked)
    assert len(theirs) == len(ours)
    for call, (a, b) in enumerate(zip(ours, theirs), 1):
        for i, (x, y) in enumerate(zip(a, b)):
            where = f"value {i} after call {call}"
            assert (x is None) == (y is None), where
            if x is not None:
                torch.testing.assert_close(x, y, rtol=RTOL, atol=ATOL, msg=where)
    if refused_at is None:
        assert error is None, f"compiled run refused: {error}"
        assert len(compiled) == len(ours)
    else:
        assert error is not None, f"the compiled run should stop at call {refused_at}"
        assert len(compiled) == refused_at - 1, f"it stopped at call {len(compiled) + 1}: {error}"
        assert re.search(match, str(error)), str(error)
    for call, (a, b) in enumerate(zip(compiled, ours), 1):
        for i, (x, y) in enumerate(zip(a, b)):
            assert (x is None) == (y is None), f"value {i} after call {call}"
            if x is not None:
                assert identical(x, y), f"value {i} after call {call}: compiled differs from eager"
    return compiled


def _compile_unchecked(fn: Callable) -> Callable:
    """Replays never checked against eager: the guards alone must keep them right."""
    return mg.compile(fn, check=False)


def data(lib: Any, call: int, rows: int = 6, features: int = 4, classes: int = 3):
    generator = torch.Generator().manual_seed(call)
    x = torch.randn(rows, features, dtype=torch.float64, generator=generator)
    y = torch.randint(0, classes, (rows,), generator=generator)
    return (x, y) if lib is torch else (mg.Tensor(x), mg.Tensor(y))


def classifier(lib: Any, seed: int = 0):
    lib.manual_seed(seed)
    return lib.nn.Sequential(
        lib.nn.Linear(4, 5, dtype=torch.float64),
        lib.nn.Tanh(),
        lib.nn.Linear(5, 3, dtype=torch.float64),
    )


def training_step(lib: Any, model: Any, opt: Any) -> Callable:
    def train_step(xb, yb):
        loss = lib.nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    return train_step


def state(model: Any, loss: Any) -> list[Any]:
    return [loss, *model.parameters(), *(p.grad for p in model.parameters())]


# ---- class 1: minigrad's own state, changed between calls ---------------------------------------


# Hooks of the user's, each registered on `model` (a classifier) by one of these, and the words
# of minigrad.compile's refusal: a forward hook that doubles a layer's output, a gradient hook
# that zeroes a weight's gradient, a module's backward hook that doubles its grad_input and a
# backward pre-hook that halves its grad_output (none of which a replay would do).
HOOKS = {
    "forward hook": (
        lambda model: model[2].register_forward_hook(lambda module, args, out: out * 2),
        r"a Linear that has forward hooks.*remove",
    ),
    "module backward hook": (
        lambda model: model[2].register_full_backward_hook(
            lambda module, grad_input, grad_output: (grad_input[0] * 2,)
        ),
        r"a Linear that has backward hooks.*remove",
    ),
    "module backward pre-hook": (
        lambda model: model[2].register_full_backward_pre_hook(
            lambda module, grad_output: (grad_output[0] / 2,)
        ),
        r"a Linear that has backward hooks.*remove",
    ),
    "gradient hook": (
        lambda model: model[0].weight.register_hook(lambda grad: grad * 0),
        r"backward runs a hook of yours.*remove",
    ),
}


@pytest.mark.parametrize("kind", sorted(HOOKS))
@pytest.mark.parametrize("from_call", [1, 3])
def test_hooks_are_refused_when_recorded_and_when_registered_after_a_recording(kind, from_call):
    """A hook runs Python on each call (fastai's activation stats); a replay runs only torch
    calls, so it would skip it: refused at the recording, and one registered after it fails a
    guard."""
    register, refusal = HOOKS[kind]

    def program(lib, compile):
        model = classifier(lib)
        step = compile(training_step(lib, model, lib.optim.SGD(model.parameters(), lr=0.1)))
        for call in range(1, 5):
            if call == from_call:
                register(model)
            loss = step(*data(lib, call))
            yield state(model, loss)

    side_by_side(program, refused_at=from_call, match=refusal)


def test_a_scheduler_stepped_inside_the_step_is_refused_at_the_first_call():
    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        scheduler = lib.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)

        @compile
        def train_step(xb, yb):
            loss = lib.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            scheduler.step()
            return loss

        for call in range(6):
            yield state(model, train_step(*data(lib, call)))

    side_by_side(program, refused_at=1, match=r"calls StepLR\.step\(\).*outside the compiled step")


def test_a_scheduler_stepped_between_calls_moves_the_replays_lr():
    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        scheduler = lib.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        train_step = compile(training_step(lib, model, opt))
        for call in range(8):
            yield state(model, train_step(*data(lib, call)))
            scheduler.step()

    side_by_side(program)


def test_load_state_dict_between_calls_is_what_the_replay_reads():
    """The issue's case: the state loaded sets lr to 0 (and replaces the momentum buffers and
    the groups): the parameters must stop moving, as in torch."""

    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        train_step = compile(training_step(lib, model, opt))
        for call in range(8):
            yield state(model, train_step(*data(lib, call)))
            if call == 3:
                saved = opt.state_dict()
                saved["param_groups"][0]["lr"] = 0.0
                opt.load_state_dict(saved)

    states = side_by_side(program)
    assert all(identical(a, b) for a, b in zip(states[-1][1:5], states[-2][1:5]))


def test_load_state_dict_inside_the_step_is_refused():
    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.Adam(model.parameters(), lr=0.01)
        saved = lib.optim.Adam(model.parameters(), lr=0.0).state_dict()

        @compile
        def train_step(xb, yb):
            opt.load_state_dict(saved)
            return training_step(lib, model, opt)(xb, yb)

        for call in range(3):
            yield state(model, train_step(*data(lib, call)))

    side_by_side(program, refused_at=1, match=r"Adam\.load_state_dict\(\)")


def test_add_param_group_between_calls_trains_the_new_group():
    def program(lib, compile):
        model = classifier(lib)
        body, head = model[0], model[2]
        opt = lib.optim.SGD(head.parameters(), lr=0.3, momentum=0.5)
        train_step = compile(training_step(lib, model, opt))
        for call in range(7):
            yield state(model, train_step(*data(lib, call)))
            if call == 2:  # fine-tuning: start training the body
                opt.add_param_group({"params": list(body.parameters()), "lr": 0.1})

    side_by_side(program)


def test_a_group_added_to_an_optimizer_that_stepped_nothing_is_trained():
    """The compiler fuzzer's case: the head is replaced, so the optimizer (over the old head
    only) steps no parameter while the step is recorded; a group added to it afterwards must
    record again (the optimizer was left unguarded, and the replay trained nothing)."""

    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model[2].parameters(), lr=0.3)
        train_step = compile(training_step(lib, model, opt))
        for call in range(7):
            yield state(model, train_step(*data(lib, call)))
            if call == 0:
                lib.manual_seed(7)
                setattr(model, "2", lib.nn.Linear(5, 3, dtype=torch.float64))  # model[2] = ...
            if call == 3:  # train what the optimizer does not hold: the body and the new head
                held = {id(p) for group in opt.param_groups for p in group["params"]}
                new = [p for p in model.parameters() if id(p) not in held]
                opt.add_param_group({"params": new, "lr": 0.1})

    side_by_side(program)


def test_a_submodule_replaced_between_calls_is_the_one_trained():
    """The issue's case: net.fc = Linear(...), the same optimizer: the replay must run the new
    layer (which the optimizer does not hold, so only the old layer's ... are left alone)."""

    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5)
        train_step = compile(training_step(lib, model, opt))
        for call in range(6):
            yield state(model, train_step(*data(lib, call)))
            if call == 2:
                lib.manual_seed(7)
                setattr(model, "2", lib.nn.Linear(5, 3, dtype=torch.float64))  # model[2] = ...

    side_by_side(program)


def test_an_attribute_layer_replaced_between_calls_is_the_one_run():
    def program(lib, compile):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.body = lib.nn.Linear(4, 5, dtype=torch.float64)
                self.fc = lib.nn.Linear(5, 3, dtype=torch.float64)

            def forward(self, x):
                return self.fc(self.body(x).relu())

        lib.manual_seed(0)
        net = Net()
        opt = lib.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
        train_step = compile(training_step(lib, net, opt))
        for call in range(6):
            yield state(net, train_step(*data(lib, call)))
            if call == 2:
                lib.manual_seed(3)
                net.fc = lib.nn.Linear(5, 3, dtype=torch.float64)  # not in the optimizer

    side_by_side(program)


def test_the_optimizer_replaced_in_a_dict_between_calls_is_the_one_stepped():
    def program(lib, compile):
        model = classifier(lib)
        holder = {"opt": lib.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)}

        @compile
        def train_step(xb, yb):
            loss = lib.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            holder["opt"].step()
            holder["opt"].zero_grad()
            return loss

        for call in range(7):
            yield state(model, train_step(*data(lib, call)))
            if call == 2:
                holder["opt"] = lib.optim.Adam(model.parameters(), lr=0.01)

    side_by_side(program)


def test_the_optimizer_rebound_after_recording_is_the_one_stepped():
    def program(lib, compile):
        model = classifier(lib)
        scope = {"opt": lib.optim.SGD(model.parameters(), lr=0.5), "lib": lib, "model": model}
        exec(
            "def train_step(xb, yb):\n"
            "    loss = lib.nn.functional.cross_entropy(model(xb), yb)\n"
            "    loss.backward()\n"
            "    opt.step()\n"
            "    opt.zero_grad()\n"
            "    return loss\n",
            scope,
        )
        train_step = compile(scope["train_step"])
        for call in range(6):
            yield state(model, train_step(*data(lib, call)))
            if call == 2:  # opt = ... at module level: a new optimizer under the same name
                scope["opt"] = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    side_by_side(program)


@pytest.mark.parametrize("change", ["replaced", "changed in place", "float32"])
def test_a_tensor_learning_rate_is_read_as_it_is_now(change):
    """group["lr"] given as a tensor: replaced by another tensor, or changed in place, between
    calls; or float32 (the optimizer reads a float64 copy: the replay makes it anew)."""

    def program(lib, compile):
        model = classifier(lib)
        dtype = torch.float32 if change == "float32" else torch.float64
        lr = lib.tensor(0.5, dtype=dtype)
        opt = lib.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        train_step = compile(training_step(lib, model, opt))
        for call in range(7):
            yield state(model, train_step(*data(lib, call)))
            if change == "replaced":
                opt.param_groups[0]["lr"] = lib.tensor(0.5 / (call + 2), dtype=dtype)
            else:
                with lib.no_grad():
                    lr.mul_(0.5)

    side_by_side(program)


def test_optimizer_state_replaced_between_calls_is_the_one_read():
    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        train_step = compile(training_step(lib, model, opt))
        first = next(model.parameters())
        for call in range(7):
            yield state(model, train_step(*data(lib, call)))
            if call == 2:  # a new buffer for one parameter
                opt.state[first]["momentum_buffer"] = torch.full_like(as_torch(first), 0.25)
            if call == 4:  # the whole entry, dropped: the next step starts it again
                del opt.state[first]

    side_by_side(program)


def test_a_parameter_frozen_after_recording_stops_moving():
    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=0.1)
        train_step = compile(training_step(lib, model, opt))
        for call in range(7):
            yield state(model, train_step(*data(lib, call)))
            if call == 2:
                model[0].requires_grad_(False)
            if call == 4:
                model[0].weight.requires_grad_(True)

    side_by_side(program)


def test_a_module_switched_to_eval_and_back_runs_in_its_mode():
    def program(lib, compile):
        lib.manual_seed(0)
        model = lib.nn.Sequential(
            lib.nn.Linear(4, 6, dtype=torch.float64),
            lib.nn.Dropout(0.5),
            lib.nn.Linear(6, 3, dtype=torch.float64),
        )
        opt = lib.optim.SGD(model.parameters(), lr=0.5)
        train_step = compile(training_step(lib, model, opt))
        for call in range(6):
            lib.manual_seed(100 + call)  # dropout's masks: the same on each side
            yield state(model, train_step(*data(lib, call)))
            model.train(call % 3 != 1)
            model[1].p = 0.25 if call >= 3 else 0.5

    side_by_side(program)


# ---- class 2: Python values and Python side effects ---------------------------------------------


def test_a_number_read_from_a_dict_is_guarded():
    """The issue's case: cfg["scale"] read by the step, changed later."""

    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5)
        cfg = {"scale": 1.0, "clip": (0.5,)}

        @compile
        def train_step(xb, yb):
            loss = lib.nn.functional.cross_entropy(model(xb) * cfg["scale"], yb)
            loss.backward()
            lib.nn.utils.clip_grad_value_(model.parameters(), cfg["clip"][0])
            opt.step()
            opt.zero_grad()
            return loss

        for call in range(8):
            yield state(model, train_step(*data(lib, call)))
            if call in (2, 5):
                cfg["scale"] *= 2
            if call == 4:
                cfg["clip"] = (0.1,)

    side_by_side(program)


def test_a_global_number_and_a_closed_over_list_are_guarded():
    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5)
        weights = [1.0, 0.5]
        scope = {"lib": lib, "model": model, "opt": opt, "SCALE": 2, "weights": weights}
        exec(
            "def train_step(xb, yb):\n"
            "    out = model(xb) * SCALE * weights[0] + weights[1]\n"
            "    loss = lib.nn.functional.cross_entropy(out, yb)\n"
            "    loss.backward()\n"
            "    opt.step()\n"
            "    opt.zero_grad()\n"
            "    return loss\n",
            scope,
        )
        train_step = compile(scope["train_step"])
        for call in range(8):
            yield state(model, train_step(*data(lib, call)))
            if call == 2:
                scope["SCALE"] = 2.0  # the same number, as a float: another torch call
            if call == 4:
                weights[1] = -1.0
            if call == 5:
                weights.append(3.0)

    side_by_side(program)


@pytest.mark.parametrize(
    "effect",
    [
        "losses.append(loss)",
        "counter['calls'] += 1",
        "global CALLS; CALLS += 1",
        "global CALLS; CALLS = 1",  # a global the step sets and never reads
        "global LAST; LAST = loss",  # a global that does not exist yet
        "model.calls = 1",
    ],
)
def test_python_changes_inside_the_step_are_refused_at_the_first_call(effect):
    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5)
        scope = {"lib": lib, "model": model, "opt": opt, "losses": [], "counter": {"calls": 0}}
        scope["CALLS"] = 0
        lines = effect.split("; ")
        exec(
            "def train_step(xb, yb):\n"
            + "".join(f"    {line}\n" for line in lines[:-1])
            + "    loss = lib.nn.functional.cross_entropy(model(xb), yb)\n"
            "    loss.backward()\n"
            "    opt.step()\n"
            "    opt.zero_grad()\n"
            f"    {lines[-1]}\n"
            "    return loss\n",
            scope,
        )
        train_step = compile(scope["train_step"])
        for call in range(4):
            yield state(model, train_step(*data(lib, call)))

    side_by_side(program, refused_at=1, match=r"changed .* while it was recorded.*Return what")


def test_python_side_effects_once_runs_them_while_recording_only():
    model = classifier(mg)
    opt = mg.optim.SGD(model.parameters(), lr=0.5)
    recorded = []

    def train_step(xb, yb):
        recorded.append(len(recorded))  # a count of recordings, as jax users write
        return training_step(mg, model, opt)(xb, yb)

    compiled = mg.compile(train_step, python_side_effects="once", check=False)
    for call in range(5):
        compiled(*data(mg, call))
    assert recorded == [0] and compiled.traces == 1 and compiled.replays == 4
    # A checked replay runs the step eagerly too: its Python runs then as well.
    recorded.clear()
    compiled = mg.compile(train_step, python_side_effects="once", check=1)
    for call in range(5):
        compiled(*data(mg, call))
    assert recorded == [0, 1] and compiled.traces == 1 and compiled.replays == 4


# ---- .grad after a replay, in every starting state ---------------------------------------------


@pytest.mark.parametrize("start", ["None", "zeros", "a gradient", "set by hand", "mixed"])
@pytest.mark.parametrize("clear", ["none", "zero_grad()", "zero_grad(set_to_none=False)"])
def test_grad_after_a_replay_is_eagers_in_every_starting_state(start, clear):
    """The step accumulates into .grad (or clears it at its end): whatever .grad held before
    each call (None, zeros, an older gradient, one set by hand, a mix), the replay leaves what
    eager leaves."""

    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
        params = list(model.parameters())

        @compile
        def train_step(xb, yb):
            loss = lib.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            if clear != "none":
                opt.zero_grad(set_to_none=clear == "zero_grad()")
            return loss

        for call in range(7):
            for i, p in enumerate(params):
                if call % 2 or start == "a gradient":
                    continue  # keep what the last step left
                if start == "None" or (start == "mixed" and i % 2):
                    p.grad = None
                elif start == "zeros":
                    p.grad = lib.zeros_like(p).data
                else:
                    p.grad = lib.ones_like(p).data * (call + i)
            yield state(model, train_step(*data(lib, call)))

    side_by_side(program)


# ---- check= and check_every=: which replays run the step eagerly too -----------------------------


def checked_calls(check: Any, check_every: Any, calls: int, recorded: set[int]) -> set[int]:
    """The calls a compiled step checks, by the rule of compile()'s docstring: the first
    `check` replays after each recording (True: all), and with check_every, one call in N or
    that fraction of the calls, spread evenly."""
    checked, since = set(), 0
    for call in range(1, calls + 1):
        if call in recorded:
            since = 0
            continue
        since += 1
        first = check is True or since <= int(check)
        if isinstance(check_every, float):
            every = int(call * check_every) > int((call - 1) * check_every)
        else:
            every = check_every is not None and call % check_every == 0
        if first or every:
            checked.add(call)
    return checked


@pytest.mark.parametrize("check", [False, 0, 1, 2, 5, True])
@pytest.mark.parametrize("check_every", [None, 1, 3, 7, 0.25, 0.1, 1.0])
def test_check_and_check_every_are_honoured_for_every_value(check, check_every):
    """Each eager run of the step (the recording, and each checked replay) is counted by the
    step itself (python_side_effects='once' lets it): the counted calls are the rule's."""
    model = classifier(mg)
    opt = mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ran: list[int] = []
    step = training_step(mg, model, opt)

    def counted(xb, yb):
        ran.append(compiled.calls)
        return step(xb, yb)

    compiled = mg.compile(counted, check=check, check_every=check_every, python_side_effects="once")
    for call in range(24):
        compiled(*data(mg, call))
    recorded = {1, 2}  # no momentum buffer yet; then one
    assert compiled.traces == 2
    assert set(ran) == recorded | checked_calls(check, check_every, 24, recorded)


@pytest.mark.parametrize(
    "options",
    [{"check": -1}, {"check": "always"}, {"check_every": 0}, {"check_every": 1.5},
     {"check_every": True}, {"check_every": "often"}, {"python_side_effects": "ignore"}],
)  # fmt: skip
def test_bad_check_options_are_refused_with_what_to_give(options):
    with pytest.raises((TypeError, ValueError), match=r"compile\(\w+=.*\): "):
        mg.compile(lambda x: x, **options)
    with pytest.raises((TypeError, ValueError), match=r"compile\(\w+=.*\): "):
        mg.compile(**options)


class OutOfSight:
    """An object of the user's own class: the guards do not look at its attributes."""

    scale = 1.0


@pytest.mark.parametrize("check_every", [5, 0.2])
def test_a_drift_late_in_training_is_caught_by_check_every_at_its_call(check_every):
    settings = OutOfSight()
    model = classifier(mg)
    opt = mg.optim.SGD(model.parameters(), lr=0.1)

    def train_step(xb, yb):
        loss = mg.nn.functional.cross_entropy(model(xb) * settings.scale, yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    unchecked = mg.compile(train_step)
    compiled = mg.compile(train_step, check_every=check_every)
    for call in range(1, 13):
        if call == 8:
            settings.scale = 3.0  # baked into the recordings as 1.0: out of the guards' sight
        unchecked(*data(mg, call))  # (a drift no check sees: it goes on)
        if call < 10:
            compiled(*data(mg, call))
            continue
        with pytest.raises(CompileError, match=r"replay check at call 10 of train_step: .*differs"):
            compiled(*data(mg, call))
        break
    assert compiled.calls == 10


# ---- model = minigrad.compile(model) ------------------------------------------------------------


def test_a_compiled_model_replays_its_forward_and_backward_outside_says_why():
    """torch.compile(model) compiles the forward, and loss.backward() outside runs through it.
    minigrad.compile replays torch calls without a graph: the forward replays bit for bit, and
    backward through a replayed output is an error that says what to compile instead."""
    model = classifier(mg)
    reference = classifier(mg)
    compiled = mg.compile(model)
    xb, yb = data(mg, 0)
    first = compiled(xb)
    mg.nn.functional.cross_entropy(first, yb).backward()  # the first call runs eagerly
    assert all(p.grad is not None for p in model.parameters())
    for call in range(1, 4):
        xb, yb = data(mg, call)
        out = compiled(xb)
        assert identical(out._data, reference(xb)._data) and out.requires_grad
        loss = mg.nn.functional.cross_entropy(out, yb)
        with pytest.raises(CompileError, match=r"Compile the whole training step"):
            loss.backward()
    with mg.no_grad():
        assert identical(compiled(xb)._data, reference(xb)._data)


# ---- shapes that depend on values --------------------------------------------------------------


@pytest.mark.parametrize("before", ["nothing", "an in-place update"])
def test_a_shape_that_depends_on_values_is_checked_and_the_step_runs_eagerly_when_it_differs(
    before,
):
    """h[h > 0].mean(): how many elements are averaged depends on the batch, and the recording
    divides by the count it saw. The replay checks the shape after the pick; when it differs,
    the step runs eagerly from where it began (a snapshot, when the step changed something in
    place before the pick)."""

    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.2, momentum=0.5)

        @compile
        def train_step(xb, yb):
            if before == "an in-place update":
                with lib.no_grad():
                    model[0].weight.mul_(0.99)
            h = model(xb)
            picked = h[h > h.mean()]  # never empty: not all equal
            loss = (picked**2).mean() + lib.nn.functional.cross_entropy(h, yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        for call in range(10):
            yield state(model, train_step(*data(lib, call % 4)))

    side_by_side(program)


# ---- the guards as text, and what they say when they fail --------------------------------------


def test_the_guards_read_as_python_one_assumption_a_line():
    model = classifier(mg)
    opt = mg.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    cfg = {"scale": 2.0}

    @mg.compile
    def train_step(xb, yb):
        loss = mg.nn.functional.cross_entropy(model(xb) * cfg["scale"], yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    with pytest.raises(CompileError, match="nothing is recorded yet, so there is no guards"):
        train_step.guards  # noqa: B018
    for call in range(3):
        train_step(*data(mg, call))
    guards = train_step.guards
    assert guards.startswith("def train_step_guards():\n")
    assert "Its key, checked first: grad mode on; xb float64 (6, 4); yb int64 (6,)." in guards
    for line in [
        "cell_model.cell_contents is model",
        "same(cell_cfg.cell_contents, {'scale': 2.0})",
        "getattr(model, '0') is model_0",
        "model_0.weight is model_0_weight",
        "model_0_weight._data is model_0_weight_data",
        "model_0_weight._requires_grad is True",
        "opt_group_0['momentum'] != 0",
        "opt_group_0['nesterov'] is False",
        "opt_state.get(model_0_weight) is state_model_0_weight",
        "len(state_model_0_weight) == 1",
        "state_model_0_weight['momentum_buffer'] is momentum_buffer_model_0_weight",
    ]:
        assert f"        and {line}\n" in guards or f"        {line}\n" in guards, line
    assert max(len(line) for line in guards.splitlines()) <= 100
    # What runs is that text: each line is a Python expression, true now.
    replay = train_step.last
    assert replay.guards.check() and not replay.guards.failing()
    cfg["scale"] = 3.0
    assert [line.text for line in replay.guards.failing()] == [
        "same(cell_cfg.cell_contents, {'scale': 2.0})"
    ]


def test_a_step_recorded_again_every_call_runs_eagerly_and_names_the_guard_that_fails():
    model = classifier(mg)
    opt = mg.optim.SGD(model.parameters(), lr=0.5)
    cfg = {"scale": 1.0}
    step = training_step(mg, model, opt)

    @mg.compile
    def train_step(xb, yb):
        return step(xb * cfg["scale"], yb)

    failing = r"`same\(cell_cfg.cell_contents, \{'scale': \d.0\}\)` does not hold"
    with pytest.warns(UserWarning, match=r"recorded 8 times.*" + failing):
        for call in range(12):
            cfg["scale"] = float(call)  # a new number each call: a new recording each call
            train_step(*data(mg, call))
    assert train_step.traces == 8 and train_step.eager_calls == 4


def test_a_batch_laid_out_otherwise_in_memory_is_recorded_again():
    """The key holds the inputs' strides: what a step reads of its batch's layout (a view, a
    branch on is_contiguous) was recorded for the layout it had, so a channels-last or
    transposed batch of the same shape gets a recording of its own, and eager's numbers and
    errors. (Before, the replay ran on it: the recorded branch's numbers, silently once the
    replay check had stopped checking, and torch's bare error for the view.)"""
    weight = mg.ones(3 * 4 * 5, requires_grad=True)
    opt = mg.optim.SGD([weight], lr=0.1)

    def step(x):
        scale = 2.0 if x.is_contiguous() else 3.0
        loss = (x.reshape(x.shape[0], -1) * weight).sum() * scale
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    def viewed(x):
        return (x.view(-1) * 2).sum()

    compiled, compiled_view = mg.compile(step), mg.compile(viewed)
    rows = mg.randn(2, 3, 4, 5)
    for _ in range(3):
        compiled(rows), compiled_view(rows)
    assert compiled.traces == 1
    transposed = rows.transpose(2, 3).contiguous().transpose(2, 3)  # the same shape, other strides
    start = weight._data.clone()
    eager = step(transposed)
    weight._data.copy_(start)
    assert compiled(transposed).item() == eager.item() and compiled.traces == 2
    comments = " ".join(line.strip().lstrip("# ") for line in compiled.guards.splitlines())
    assert "x float32 (2, 3, 4, 5) with strides (60, 20, 1, 4)." in comments
    channels_last = rows.contiguous(memory_format=mg.channels_last)
    with pytest.raises(mg.ShapeError, match="cannot view a tensor of shape"):
        viewed(channels_last)
    with pytest.raises(mg.ShapeError, match="cannot view a tensor of shape"):
        compiled_view(channels_last)  # eager's error, from the new recording's eager run


def test_a_dict_argument_is_part_of_the_key_by_what_it_holds():
    model = classifier(mg)
    opt = mg.optim.SGD(model.parameters(), lr=0.5)
    step = training_step(mg, model, opt)

    @mg.compile
    def train_step(xb, yb, options):
        return step(xb * options["scale"], yb)

    for call in range(4):
        train_step(*data(mg, call), {"scale": 2.0})  # a new dict each call, the same settings
    assert train_step.traces == 1 and train_step.replays == 3
    train_step(*data(mg, 5), {"scale": 3.0})
    assert train_step.traces == 2


@pytest.mark.parametrize(
    "inside",
    [
        "options['calls'] = 1",
        "opt.param_groups[0]['lr'] *= 0.5",
        "opt.add_param_group({'params': [extra]})",
    ],
)
def test_a_step_that_changes_its_argument_or_its_optimizer_in_python_is_refused(inside):
    model = classifier(mg)
    opt = mg.optim.SGD(model.parameters(), lr=0.5)
    scope = {"mg": mg, "model": model, "opt": opt, "extra": mg.zeros(2, requires_grad=True)}
    exec(
        "def train_step(xb, yb, options):\n"
        "    loss = mg.nn.functional.cross_entropy(model(xb), yb)\n"
        "    loss.backward()\n"
        "    opt.step()\n"
        "    opt.zero_grad()\n"
        f"    {inside}\n"
        "    return loss\n",
        scope,
    )
    train_step = mg.compile(scope["train_step"])
    with pytest.raises(CompileError, match=r"changed .*while it was recorded|add_param_group"):
        train_step(*data(mg, 0), {"calls": 0})


def test_names_read_by_the_functions_a_step_calls_and_by_forward_are_guarded():
    scope: dict[str, Any] = {"mg": mg, "SCALE": 1.0, "SHIFT": 0.0}
    exec(
        "def loss_of(out, yb):\n"
        "    return mg.nn.functional.cross_entropy(out * SCALE, yb)\n"
        "class Shifted(mg.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.linear = mg.nn.Linear(4, 3, dtype=mg.float64)\n"
        "    def forward(self, x):\n"
        "        return self.linear(x) * (1.0 + SHIFT)\n",  # (a shift alone: softmax ignores it)
        scope,
    )

    def program(compile):
        mg.manual_seed(0)
        model = scope["Shifted"]()
        opt = mg.optim.SGD(model.parameters(), lr=0.5)
        loss_of = scope["loss_of"]

        @compile
        def train_step(xb, yb):
            loss = loss_of(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        scope["SCALE"], scope["SHIFT"] = 1.0, 0.0
        states = []
        for call in range(6):
            states.append(as_torch(train_step(*data(mg, call))).clone())
            # One change at a time, each followed by a replay of its own recording:
            scope["SCALE"] = 1.0 + (call >= 1)  # read by loss_of, a function the step calls
            scope["SHIFT"] = float(call >= 3)  # read by forward only
        return states + [as_torch(p).clone() for p in model.parameters()]

    for a, b in zip(program(eager), program(_compile_unchecked)):
        assert identical(a, b)


def test_a_failed_check_leaves_the_state_eager_left():
    settings = OutOfSight()
    model, reference = classifier(mg), classifier(mg)
    opt = mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    reference_opt = mg.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)

    def make(model, opt):
        def train_step(xb, yb):
            loss = mg.nn.functional.cross_entropy(model(xb) * settings.scale, yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        return train_step

    compiled, eager_step = mg.compile(make(model, opt), check=True), make(reference, reference_opt)
    for call in range(5):
        if call == 3:
            settings.scale = 2.0
        eager_step(*data(mg, call))
        if call < 3:
            compiled(*data(mg, call))
            continue
        with pytest.raises(CompileError, match="replay check at call 4"):
            compiled(*data(mg, call))
        break
    for p, q in zip(model.parameters(), reference.parameters()):
        assert identical(p._data, q._data)
    for p, q in zip(opt.param_groups[0]["params"], reference_opt.param_groups[0]["params"]):
        assert identical(opt.state[p]["momentum_buffer"], reference_opt.state[q]["momentum_buffer"])


@pytest.mark.parametrize("zero_first", [True, False])
def test_a_grad_the_step_sets_to_none_is_none_after_each_replay_whatever_it_held(zero_first):
    """A frozen layer's .grad, given by hand between calls: the step's zero_grad() sets it to
    None. The recording saw it None already; the replay must still set it (the fuzzer's find)."""

    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.Adagrad(model.parameters(), lr=0.1)
        model[0].requires_grad_(False)

        @compile
        def train_step(xb, yb):
            if zero_first:
                opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            if not zero_first:
                opt.zero_grad()
            return loss

        for call in range(6):
            if call >= 3:
                model[0].weight.grad = lib.zeros_like(model[0].weight).detach()
            yield state(model, train_step(*data(lib, call)))

    side_by_side(program)


@pytest.mark.parametrize("where", ["a global", "a dict entry"])
def test_an_int_replaced_by_an_equal_float_records_again(where):
    """2 and 2.0 are equal, but not the same to torch: an int64 tensor times 2 stays int64,
    times 2.0 becomes float32. The guards compare types too."""
    factor = "K" if where == "a global" else "cfg['k']"

    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5)
        scope = {"lib": lib, "model": model, "opt": opt, "K": 2, "cfg": {"k": 2}}
        exec(
            "def train_step(xb, yb):\n"
            "    loss = lib.nn.functional.cross_entropy(model(xb), yb)\n"
            "    loss.backward()\n"
            "    opt.step()\n"
            "    opt.zero_grad()\n"
            f"    return loss, yb * {factor}\n",
            scope,
        )
        train_step = compile(scope["train_step"])
        for call in range(5):
            loss, scaled = train_step(*data(lib, call))
            yield [loss, scaled, *model.parameters()]
            if call == 2:
                scope["K"], scope["cfg"]["k"] = 2.0, 2.0

    states = side_by_side(program)
    assert states[-1][1].dtype == torch.float32 and states[0][1].dtype == torch.int64


def test_a_name_read_only_inside_a_comprehension_or_a_lambda_is_guarded():
    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5)
        scope = {"lib": lib, "model": model, "opt": opt, "WEIGHT": 1.0, "SHIFT": 0.0}
        exec(
            "def train_step(xb, yb):\n"
            "    shift = lambda out: out + SHIFT\n"
            "    parts = [lib.nn.functional.cross_entropy(shift(model(x)) * WEIGHT, y)\n"
            "             for x, y in ((xb, yb),)]\n"
            "    loss = parts[0]\n"
            "    loss.backward()\n"
            "    opt.step()\n"
            "    opt.zero_grad()\n"
            "    return loss\n",
            scope,
        )
        train_step = compile(scope["train_step"])
        for call in range(6):
            yield state(model, train_step(*data(lib, call)))
            scope["WEIGHT"] = 1.0 + call  # read inside the comprehension only
            scope["SHIFT"] = 0.5 * call  # read inside the lambda only

    side_by_side(program)


def test_model_train_inside_the_step_is_set_again_by_each_replay():
    """The step puts the model in training mode; between calls the user evaluates in eval
    mode. Each replay must leave the model in training mode, as eager does, and run dropout."""

    def program(lib, compile):
        lib.manual_seed(0)
        model = lib.nn.Sequential(
            lib.nn.Linear(4, 6, dtype=torch.float64),
            lib.nn.Dropout(0.5),
            lib.nn.Linear(6, 3, dtype=torch.float64),
        )
        opt = lib.optim.SGD(model.parameters(), lr=0.5)

        @compile
        def train_step(xb, yb):
            model.train()
            return training_step(lib, model, opt)(xb, yb)

        for call in range(8):
            lib.manual_seed(100 + call)
            loss = train_step(*data(lib, call))
            yield [*state(model, loss), lib.tensor(float(model[1].training))]
            model.eval()  # the user's evaluation between steps
            with lib.no_grad():
                model(data(lib, 50)[0])

    side_by_side(program)


def test_a_list_of_layers_the_step_runs_grown_between_calls_runs_them_all():
    def program(lib, compile):
        lib.manual_seed(0)
        trunk = lib.nn.Linear(4, 3, dtype=torch.float64)
        heads = [lib.nn.Linear(3, 3, dtype=torch.float64)]
        opt = lib.optim.SGD(trunk.parameters(), lr=0.5)

        @compile
        def train_step(xb, yb):
            h = trunk(xb)
            for head in heads:
                h = head(h).tanh()
            loss = lib.nn.functional.cross_entropy(h, yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        for call in range(6):
            yield state(trunk, train_step(*data(lib, call)))
            if call == 2:
                lib.manual_seed(5)
                heads.append(lib.nn.Linear(3, 3, dtype=torch.float64))

    side_by_side(program)


def test_param_groups_replaced_by_hand_between_calls_are_the_ones_read():
    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5)  # no state: only the groups change
        train_step = compile(training_step(lib, model, opt))
        for call in range(6):
            yield state(model, train_step(*data(lib, call)))
            if call == 2:
                opt.param_groups = [{**group, "lr": 0.05} for group in opt.param_groups]

    side_by_side(program)


def test_an_optimizer_with_nothing_to_step_still_counts_its_steps_as_eager():
    """opt.step() with every parameter frozen moves nothing, but counts a step (a scheduler
    stepped before any optimizer step warns, as torch does): a replay counts it too."""

    def run_steps(compile: Callable) -> list[int]:
        model = classifier(mg)
        opt = mg.optim.SGD(model[2].parameters(), lr=0.5)
        model[2].requires_grad_(False)  # the head, the optimizer's only parameters: frozen
        train_step = compile(training_step(mg, model, opt))
        counts = []
        for call in range(5):
            train_step(*data(mg, call))
            counts.append(opt._steps_taken)
        return counts

    checked = run_steps(lambda fn: mg.compile(fn, check=True))  # (eager, put back, replayed)
    assert run_steps(_compile_unchecked) == checked == run_steps(eager) == [1, 2, 3, 4, 5]


def test_a_custom_op_that_picks_with_a_mask_checks_its_shape_in_the_replay():
    """A Function whose forward sums the positive elements (x[x > 0] inside, a shape that
    depends on values) and whose backward uses the count it saw: the replay checks the shape
    of the pick even where the code writes it into the line that uses it."""

    class MeanOfPositives(mg.Function):
        @staticmethod
        def forward(ctx, x):
            mask = x > 0
            ctx.save_for_backward(mask)
            return x[mask].sum() / 4

        @staticmethod
        def backward(ctx, grad):
            (mask,) = ctx.saved_tensors
            return grad * mask / 4

    model = classifier(mg)

    def run_steps(compile: Callable) -> list[torch.Tensor]:
        mg.manual_seed(0)
        w = mg.randn(6, 3, dtype=mg.float64, requires_grad=True)

        @compile
        def train_step(xb, yb):
            loss = MeanOfPositives.apply(model(xb) @ w.mT)
            loss.backward()
            with mg.no_grad():
                w.sub_(w.grad * 0.1)
            w.grad = None
            return loss

        return [as_torch(train_step(*data(mg, call))).clone() for call in range(8)]

    assert all(map(identical, run_steps(_compile_unchecked), run_steps(eager)))


class Trainer:
    """An object of the user's own: what it holds is out of the guards' sight, but the
    modules the step calls through it are noted as they run."""


def test_a_module_reached_through_an_object_of_yours_runs_in_its_mode():
    def program(lib, compile):
        lib.manual_seed(0)
        trainer = Trainer()
        trainer.model = lib.nn.Sequential(
            lib.nn.Linear(4, 6, dtype=torch.float64),
            lib.nn.Dropout(0.5),
            lib.nn.Linear(6, 3, dtype=torch.float64),
        )
        opt = lib.optim.SGD(trainer.model.parameters(), lr=0.5)

        @compile
        def train_step(xb, yb):
            return training_step(lib, trainer.model, opt)(xb, yb)

        for call in range(6):
            lib.manual_seed(100 + call)
            yield state(trainer.model, train_step(*data(lib, call)))
            trainer.model.train(call % 2 == 1)

    side_by_side(program)


def test_a_value_an_optimizer_computes_before_an_out_call_is_read_before_it():
    """A custom optimizer that reads its state, then overwrites it with torch.maximum(...,
    out=...): the value read first must not be computed after (a call with out= changes its
    output in place, as add_ does)."""

    class PeakSGD(mg.optim.Optimizer):
        def __init__(self, params, lr):
            super().__init__(params, {"lr": lr})

        def update(self, param, grad, state, group):
            if not state:
                state["peak"] = torch.zeros_like(param)
            half_of_old_peak = state["peak"] * 0.5
            torch.maximum(state["peak"], grad.abs(), out=state["peak"])
            param.sub_(grad * self.hyperparameter(group, "lr", like=param) + half_of_old_peak)

    def run_steps(compile: Callable) -> list[torch.Tensor]:
        model = classifier(mg)
        opt = PeakSGD(model.parameters(), lr=0.1)
        train_step = compile(training_step(mg, model, opt))
        for call in range(5):
            train_step(*data(mg, call))
        return [as_torch(p).clone() for p in model.parameters()]

    assert all(map(identical, run_steps(_compile_unchecked), run_steps(eager)))


# ---- found by the mutation run of tests/mutations.md (minigrad.compile: guards and codegen) -----


def test_a_key_added_to_or_removed_from_a_dict_the_step_reads_records_again():
    """cfg.get("weight", 1.0): the step reads a key that may not be there; adding or removing
    it later changes what the step computes, so the guard on the dict compares its keys."""

    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5)
        cfg = {"scale": 1.5, "shift": 0.25}

        @compile
        def train_step(xb, yb):
            out = model(xb) * cfg["scale"] + cfg.get("shift", 0.0)
            loss = lib.nn.functional.cross_entropy(out, yb) * cfg.get("weight", 1.0)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        for call in range(6):
            yield state(model, train_step(*data(lib, call)))
            if call == 1:
                cfg["weight"] = 3.0  # a key added between calls: the loss triples
            if call == 3:
                del cfg["shift"]  # a key removed: the shift is gone

    side_by_side(program)


def test_a_long_list_the_step_reads_changed_in_place_records_again():
    """A list too long to write into a guard line is kept as a copy: a change made in place
    to the list the step reads must not reach the copy."""

    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5)
        class_weights = [1.0 + i / 7 for i in range(3)] + [0.123456789] * 20  # 23 numbers

        @compile
        def train_step(xb, yb):
            w = lib.tensor(class_weights[:3], dtype=torch.float64)
            loss = lib.nn.functional.cross_entropy(model(xb), yb, weight=w)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        for call in range(6):
            yield state(model, train_step(*data(lib, call)))
            if call == 2:
                class_weights[0] = 5.0

    side_by_side(program)


class Holder:
    """An object of the user's own holding two tensors that have no names: the guards call
    both after what they are (a tensor), and must keep the two apart."""


def test_two_unnamed_tensors_reached_through_an_object_are_guarded_apart():
    def program(lib, compile):
        lib.manual_seed(0)
        held = Holder()
        held.w1 = lib.randn(4, 5, dtype=torch.float64, requires_grad=True)
        held.w2 = lib.randn(5, 3, dtype=torch.float64, requires_grad=True)

        @compile
        def train_step(xb, yb):
            loss = lib.nn.functional.cross_entropy((xb @ held.w1).tanh() @ held.w2, yb)
            loss.backward()
            with lib.no_grad():
                for w in (held.w1, held.w2):
                    w.sub_(w.grad * 0.5)
                    w.grad = None
            return loss

        for call in range(6):
            yield [train_step(*data(lib, call)), held.w1, held.w2]
            if call == 2:  # the first one's data replaced: the replay must read the new data
                held.w1.data = held.w1.data * 0.5

    side_by_side(program)


def test_a_parameter_swapped_into_a_group_by_hand_is_the_one_stepped():
    """group["params"][1] = another parameter (the same list, the same length): the replay
    must update the parameter now in the group, not the one recorded."""

    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD([model[0].weight, model[2].weight], lr=0.5, momentum=0.9)
        train_step = compile(training_step(lib, model, opt))
        for call in range(6):
            yield state(model, train_step(*data(lib, call)))
            if call == 2:
                opt.param_groups[0]["params"][1] = model[2].bias

    side_by_side(program)


def test_optimizer_state_reset_to_a_new_mapping_between_calls_starts_again():
    """opt.state = defaultdict(dict) (a reset of the momentum, as some training loops do): the
    replay must not go on with the buffers of the mapping it recorded."""
    from collections import defaultdict

    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        train_step = compile(training_step(lib, model, opt))
        for call in range(7):
            yield state(model, train_step(*data(lib, call)))
            if call == 3:
                opt.state = defaultdict(dict)

    side_by_side(program)


def test_an_input_that_requires_grad_gets_its_gradient_from_each_replay():
    """The batch starts requiring grad from the fourth call (the gradient with respect to the
    input, as a saliency map or an adversarial step reads it): a recording of its own, whose
    replays leave xb.grad as eager does; one that already has a .grad gets the sum."""

    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5)
        train_step = compile(training_step(lib, model, opt))
        for call in range(7):
            xb, yb = data(lib, call)
            if call >= 3:
                xb.requires_grad_()
            if call >= 5:  # a .grad it already has: backward adds to it (run eagerly)
                xb.grad = lib.ones_like(xb).detach()
            yield [*state(model, train_step(xb, yb)), xb.grad]

    side_by_side(program)


def test_a_state_tensor_an_optimizer_replaces_each_step_is_the_new_one_after_a_replay():
    """A custom optimizer that keeps its state out of place (state["peak"] = torch.maximum(
    ...), a new tensor each step, where the built-in ones change theirs in place): after a
    replay the state entry holds the new tensor, as after eager."""

    class PeakSGD(mg.optim.Optimizer):
        def __init__(self, params, lr):
            super().__init__(params, {"lr": lr})

        def update(self, param, grad, state, group):
            peak = state.get("peak", torch.zeros_like(param))
            state["peak"] = torch.maximum(peak * 0.5, grad.abs())
            param.sub_(grad * self.hyperparameter(group, "lr", like=param) + state["peak"] * 0.1)

    def run_steps(compile: Callable) -> list[torch.Tensor]:
        model = classifier(mg)
        opt = PeakSGD(model.parameters(), lr=0.1)
        train_step = compile(training_step(mg, model, opt))
        for call in range(6):
            train_step(*data(mg, call))
        peaks = [opt.state[p]["peak"].clone() for p in model.parameters()]
        return [as_torch(p).clone() for p in model.parameters()] + peaks

    assert all(map(identical, run_steps(_compile_unchecked), run_steps(eager)))


def test_an_option_changed_in_the_second_group_only_records_again():
    """Two groups with their own momentum: turning it on in the second group only (the first
    group's already on) chooses other torch calls for that group's parameters."""

    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(
            [
                {"params": model[0].parameters(), "momentum": 0.9},
                {"params": model[2].parameters(), "momentum": 0.0},
            ],
            lr=0.5,
        )
        train_step = compile(training_step(lib, model, opt))
        for call in range(7):
            yield state(model, train_step(*data(lib, call)))
            if call == 3:
                opt.param_groups[1]["momentum"] = 0.5

    side_by_side(program)


@pytest.mark.parametrize("shared", ["w1 + w2", "w1.T + w2.T"])
def test_two_gradients_made_from_one_are_each_their_own_after_a_replay(shared):
    """w1 and w2 receive the same gradient (or two views of it) from one backward: each .grad
    is a tensor of its own in eager minigrad, so scaling one in place leaves the other; so
    after a replay. (Compiled against minigrad's eager only: torch's AccumulateGrad keeps the
    two transposed views as they come, so its two .grads share memory.)"""

    def run_steps(compile: Callable) -> list[torch.Tensor]:
        mg.manual_seed(0)
        rows, cols = (4, 3) if shared == "w1 + w2" else (3, 4)
        w1 = mg.randn(rows, cols, dtype=torch.float64, requires_grad=True)
        w2 = mg.randn(rows, cols, dtype=torch.float64, requires_grad=True)
        opt = mg.optim.SGD([w1, w2], lr=0.5)

        @compile
        def train_step(xb, yb):
            weight = w1 + w2 if shared == "w1 + w2" else w1.T + w2.T
            loss = mg.nn.functional.cross_entropy(xb @ weight, yb)
            loss.backward()
            w1.grad.mul_(2.0)  # a per-parameter scale, in place
            opt.step()
            return loss

        values = []
        for call in range(5):
            opt.zero_grad()
            loss = train_step(*data(mg, call))
            values += [as_torch(t).clone() for t in (loss, w1, w2, w1.grad, w2.grad)]
        return values

    assert all(map(identical, run_steps(_compile_unchecked), run_steps(eager)))


def test_a_power_of_a_power_in_a_function_of_yours_replays_as_written():
    """(x ** 3) ** 0.5 in a custom op's forward: the code writes both calls into one line,
    where ** groups from the right, so the inner power needs its parentheses."""

    class PowerOfPower(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return ((x**2 + 1) ** 3) ** 0.5

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x * ((x**2 + 1) ** 2) ** 0.25

    def run_steps(compile: Callable) -> list[torch.Tensor]:
        model = classifier(mg)
        opt = mg.optim.SGD(model.parameters(), lr=0.01)

        @compile
        def train_step(xb, yb):
            loss = PowerOfPower.apply(model(xb)).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        return [as_torch(train_step(*data(mg, call))).clone() for call in range(4)]

    assert all(map(identical, run_steps(_compile_unchecked), run_steps(eager)))


def test_picks_by_a_stepped_slice_and_by_two_numpy_arrays_replay_as_eager():
    """Rows picked with a step (out[1::2]) and by two numpy arrays: the code writes the step
    into the slice and keeps each array a constant of its own."""
    import numpy as np

    first, second = np.array([0, 2, 4]), np.array([5, 3])

    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5)

        @compile
        def train_step(xb, yb):
            out = model(xb)
            loss = lib.nn.functional.cross_entropy(out[1::2], yb[1::2])
            loss = loss + lib.nn.functional.cross_entropy(out[first], yb[first]) * 0.5
            loss = loss + lib.nn.functional.cross_entropy(out[second], yb[second]) * 0.25
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        for call in range(5):
            yield state(model, train_step(*data(lib, call)))

    side_by_side(program)


def test_a_drift_that_shows_only_in_grad_is_caught_by_the_check():
    """A step that only computes gradients (the update is the caller's): a value out of the
    guards' sight changes what lands in .grad and nothing else, and the check names it."""
    settings = OutOfSight()
    model = classifier(mg)

    def gradients(xb, yb):
        (mg.nn.functional.cross_entropy(model(xb), yb) * settings.scale).backward()

    compiled = mg.compile(gradients, check=True)
    for call in range(4):
        for p in model.parameters():
            p.grad = None
        compiled(*data(mg, call))
    settings.scale = 3.0  # baked into the recording as 1.0
    for p in model.parameters():
        p.grad = None
    with pytest.raises(CompileError, match=r"replay check at call 5 of gradients: .*\.grad"):
        compiled(*data(mg, 4))
    left = [p.grad for p in model.parameters()]  # what the failed check left: eager's
    for p in model.parameters():
        p.grad = None
    gradients(*data(mg, 4))
    assert all(identical(a._data, p.grad._data) for a, p in zip(left, model.parameters()))


def test_a_checked_replay_of_a_step_with_dropout_draws_eagers_masks():
    """check=True runs the step eagerly, puts everything back and replays: torch's random
    state included, so that the replay draws the masks eager drew, and the two agree."""

    def run_steps(compile: Callable) -> list[torch.Tensor]:
        mg.manual_seed(0)
        model = mg.nn.Sequential(
            mg.nn.Linear(4, 6, dtype=mg.float64),
            mg.nn.Dropout(0.5),
            mg.nn.Linear(6, 3, dtype=mg.float64),
        )
        opt = mg.optim.SGD(model.parameters(), lr=0.5)
        train_step = compile(training_step(mg, model, opt))
        losses = [as_torch(train_step(*data(mg, call))).clone() for call in range(5)]
        return losses + [as_torch(p).clone() for p in model.parameters()]

    checked = run_steps(lambda fn: mg.compile(fn, check=True))
    assert all(map(identical, checked, run_steps(eager)))


@pytest.mark.parametrize(
    "call",
    [
        "plateau.step(VAL_LOSS)",
        "opt.add_param_group({'params': [lib.zeros(3, requires_grad=True)]})",
    ],
)
def test_a_plateau_step_or_a_group_added_inside_the_step_is_refused_naming_the_call(call):
    """Each call that changes an optimizer's settings in Python says so by name (the change
    would also show as Python state changed while recording, in words less clear)."""

    def program(lib, compile):
        model = classifier(lib)
        opt = lib.optim.SGD(model.parameters(), lr=0.5)
        scope = {"lib": lib, "model": model, "opt": opt, "VAL_LOSS": 1.0}
        scope["plateau"] = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
        exec(
            "def train_step(xb, yb):\n"
            "    loss = lib.nn.functional.cross_entropy(model(xb), yb)\n"
            "    loss.backward()\n"
            "    opt.step()\n"
            "    opt.zero_grad()\n"
            f"    {call}\n"
            "    return loss\n",
            scope,
        )
        train_step = compile(scope["train_step"])
        for call_number in range(3):
            yield state(model, train_step(*data(lib, call_number)))

    name = "ReduceLROnPlateau.step" if "plateau" in call else "SGD.add_param_group"
    side_by_side(program, refused_at=1, match=rf"calls {name}\(\).*outside the compiled step")


def test_the_check_compares_bit_for_bit_a_drift_of_one_part_in_a_billion_is_caught():
    """A replay makes eager's torch calls, so the check asks for the same bits: a value out of
    the guards' sight that moves by 1e-9 is a difference, named at its call."""
    settings = OutOfSight()
    model = classifier(mg)
    opt = mg.optim.SGD(model.parameters(), lr=0.1)

    def train_step(xb, yb):
        return training_step(mg, model, opt)(xb * settings.scale, yb)

    compiled = mg.compile(train_step, check=True)
    for call in range(3):
        compiled(*data(mg, call))
    settings.scale = 1.0 + 1e-9
    with pytest.raises(CompileError, match=r"replay check at call 4 of train_step: .*differs"):
        compiled(*data(mg, 3))
