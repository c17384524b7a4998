"""Guards: what a recording assumed about the world, as Python that checks it before a replay.

    print(train_step.guards)

A recording is right only in the world it was made in: the same parameters holding the same
tensors, the same layers in the model, the same optimizer with the same groups and state, the
same Python numbers in the step's configuration. Each assumption is one line of Python, an
expression that was true when the step was recorded; a replay runs only if every line is still
true, and otherwise the step is recorded again. The lines are the `and` of one function,
written and compiled once per recording, as the step's code is.

The names in the lines stand for the objects as they were recorded: `model.fc is model_fc`
says that the model still holds the layer the recording used. So a line can go on from an
object a line above checked (`model_fc.weight is model_fc_weight`, then that weight's tensor).

What the lines check comes from two places:

- `Surroundings`: before the step first runs, a walk from the names its code reads (its
  globals, the variables it closes over, those of the functions it calls, its non-tensor
  arguments): plain Python values (numbers, strings, and lists, tuples, dicts and sets of
  them) by value, other objects by identity, and inside minigrad's own objects (a Module's
  layers, parameters and settings; a scheduler's) what they hold. The same lines, read again
  after the recording, show what the step itself changed in Python (`changes`).
- the recording: the tensors it read and changed (each Tensor's data, requires_grad and
  .grad), each optimizer's groups, options and state entries.
"""

from __future__ import annotations

import builtins
import dis
import math
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..tensor import Tensor
from .recording import Recording, identifier, literal

PLAIN_SCALARS = (type(None), bool, int, float, complex, str, bytes)
PLAIN_CONTAINERS = (list, tuple, dict, set, frozenset)
# Containers longer than this are compared by one call of `same`, not element by element.
LONG = 16
# The libraries whose objects the walk does not look inside (their code is not the step's).
LIBRARIES = ("minigrad", "torch", "numpy", "builtins", "math", "functools", "typing")


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (2 is not 2.0, a tensor is not a number);
    objects other than plain values compare by identity."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (a != a and b != b)  # NaN: as recorded
    if isinstance(a, PLAIN_SCALARS):
        return a == b
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (set, frozenset)):
        return a == b
    return False


def is_plain(value: Any, depth: int = 0) -> bool:
    """A number, string, None, or a list/tuple/dict/set of them (nested a few levels)."""
    if isinstance(value, PLAIN_SCALARS) and type(value) in PLAIN_SCALARS:
        return True
    if depth > 4 or type(value) not in PLAIN_CONTAINERS:
        return False
    if isinstance(value, dict):
        return all(is_plain(k, depth + 1) and is_plain(v, depth + 1) for k, v in value.items())
    return all(is_plain(v, depth + 1) for v in value)


def copy_plain(value: Any) -> Any:
    """A copy of plain data that later changes to the original cannot reach."""
    if isinstance(value, dict):
        return {k: copy_plain(v) for k, v in value.items()}
    if type(value) in (list, set):
        return type(value)(copy_plain(v) for v in value)
    if type(value) in (tuple, frozenset):
        return type(value)(copy_plain(v) for v in value)
    return value


@dataclass
class Line:
    """One assumption: a Python expression, under a comment saying what the stretch checks."""

    text: str
    section: str
    what: str = ""  # what it is about, in the user's words (for errors): "model.fc", "cfg"
    guard: bool = True  # checked before each replay (False: only against the step's own changes)
    settable: tuple[Any, str] | None = None  # (module, attribute): a setting a replay sets again


@dataclass
class Guards:
    """Lines of Python, the objects their names stand for, and the function that checks them."""

    step_name: str
    header: str = ""
    lines: list[Line] = field(default_factory=list)
    namespace: dict[str, Any] = field(default_factory=dict)
    _names: dict[int, str] = field(default_factory=dict)
    _check: Callable[[], bool] | None = None
    section: str = ""

    def __post_init__(self) -> None:
        self.namespace.update({"same": same, "math": math})

    def name(self, obj: Any, wanted: str) -> str:
        """The name `obj` goes by in the lines (a new one, made from `wanted`, if it has none)."""
        known = self._names.get(id(obj))
        if known is not None and self.namespace.get(known) is obj:
            return known
        base = name = identifier(wanted)
        k = 2
        while name in self.namespace or name in _TAKEN:
            name, k = f"{base}_{k}", k + 1
        self.namespace[name] = obj
        self._names[id(obj)] = name
        return name

    def named(self, obj: Any) -> str | None:
        known = self._names.get(id(obj))
        return known if known is not None and self.namespace.get(known) is obj else None

    def tensor_names(self) -> dict[int, str]:
        """The names the lines give Tensors, by id (the code calls an unnamed Tensor so too)."""
        return {id(obj): name for name, obj in self.namespace.items() if isinstance(obj, Tensor)}

    def add(self, text: str, what: str = "", guard: bool = True, settable: Any = None) -> None:
        self.lines.append(Line(text, self.section, what, guard, settable))
        self._check = None

    # ---- as Python ---------------------------------------------------------------------------

    def source(self) -> str:
        """The function that checks every line (what `step.guards` prints)."""
        body, section = [], None
        first = True
        for line in self.lines:
            if not line.guard:
                continue
            if line.section != section:
                section = line.section
                body += [f"        # {part}" for part in _wrap(section, 88)]
            body.append(f"        {'' if first else 'and '}{line.text}")
            first = False
        if first:
            body.append("        True")
        head = [f"def {identifier(self.step_name)}_guards():"]
        head += [f"    # {part}" for part in _wrap(self.header, 92)] if self.header else []
        return "\n".join(head + ["    return (", *body, "    )"]) + "\n"

    def __str__(self) -> str:
        return self.source()

    def check(self) -> bool:
        """Whether every line holds (an error while checking, e.g. an attribute gone: no)."""
        check = self._check
        if check is None:
            check = self._check = self._compile()
        try:
            return check()
        except Exception:
            return False

    def _compile(self) -> Callable[[], bool]:
        scope = dict(self.namespace)
        exec(compile(self.source(), f"<guards of {self.step_name}>", "exec"), scope)
        return scope[f"{identifier(self.step_name)}_guards"]

    def failing(self, lines: list[Line] | None = None) -> list[Line]:
        """The lines that do not hold now, each evaluated alone (by default, the guards)."""
        if lines is None:
            lines = [line for line in self.lines if line.guard]
        return [line for line in lines if not self.holds(line)]

    def holds(self, line: Line) -> bool:
        try:
            return bool(eval(line.text, dict(self.namespace)))
        except Exception:
            return False


_TAKEN = set(dir(__builtins__) if isinstance(__builtins__, dict) else dir(__builtins__)) | {
    "is_grad_enabled", "same", "math", "Tensor", "True", "False", "None",
}  # fmt: skip


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [""]


# ---- the walk from the step's names -------------------------------------------------------------


def names_read(code: types.CodeType) -> tuple[set[str], set[str]]:
    """The global names a function's code reads and those it sets (its nested functions' too:
    a comprehension, a lambda, a def inside it)."""
    read, written = set(), set()
    for instruction in dis.get_instructions(code):
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            read.add(instruction.argval)
        elif instruction.opname in ("STORE_GLOBAL", "DELETE_GLOBAL"):
            written.add(instruction.argval)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            inner_read, inner_written = names_read(const)
            read |= inner_read
            written |= inner_written
    return read, written


def _from_library(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module.split(".")[0] in LIBRARIES


def _is_minigrad_object(value: Any) -> bool:
    """A Module, an optimizer or a scheduler (minigrad's, or a subclass the user wrote): the
    objects whose insides the walk pins down. (Others, a DataLoader, a compiled step, are
    checked by identity only.)"""
    from ..nn.modules import Module
    from ..optim.lr_scheduler import LRScheduler
    from ..optim.optimizer import Optimizer

    return isinstance(value, (Module, Optimizer, LRScheduler))


def _attribute(owner: str, name: str) -> str:
    return f"{owner}.{name}" if name.isidentifier() else f"getattr({owner}, {name!r})"


class Surroundings:
    """The lines that pin down what the step can reach from its names (see the module's
    docstring), written before it first runs."""

    def __init__(self, guards: Guards) -> None:
        self.guards = guards
        self._seen: set[int] = set()  # objects whose insides are already pinned down
        self._walked_code: set[int] = set()
        # The optimizers reached, with their count of steps before the step runs.
        self.optimizers: list[tuple[Any, int]] = []

    def walk_step(self, fn: Any, args: tuple, kwargs: dict, parameter_names: list[str]) -> None:
        guards = self.guards
        function = getattr(fn, "__func__", fn)  # a bound method: its function
        if isinstance(fn, types.MethodType):
            guards.section = f"the object {guards.step_name} is a method of"
            self.value(guards.name(fn.__self__, "self"), fn.__self__, "self")
        if not isinstance(function, types.FunctionType):
            if _is_minigrad_object(fn):  # compile(model): the module itself
                guards.section = f"the {type(fn).__name__} compiled"
                name = guards.name(fn, type(fn).__name__.lower())
                self.value(name, fn, name)
            return
        self.function(function, guards.step_name)
        guards.section = f"the arguments of {guards.step_name} that are not tensors"
        for name, value in zip(parameter_names, [*args, *kwargs.values()]):
            if isinstance(value, (Tensor, torch.Tensor)):
                continue
            if not is_plain(value):
                self.value(guards.name(value, name), value, name)
            elif type(value) in PLAIN_CONTAINERS:  # the key holds its values: only watched
                live = guards.name(value, name)
                guards.add(_plain(live, value, guards, name), what=name, guard=False)

    def function(self, function: types.FunctionType, label: str) -> None:
        """The names a function reads: its globals and the variables it closes over (first
        that each still names what it named, then what those objects hold)."""
        if id(function.__code__) in self._walked_code:
            return
        self._walked_code.add(id(function.__code__))
        guards = self.guards
        read, written = names_read(function.__code__)
        namespace = function.__globals__
        named: list[tuple[str, Any, str]] = []
        if read or written:
            g = guards.named(namespace) or guards.name(namespace, "G")
            guards.section = (
                f"the globals {label} reads ({g}: its module's globals): still the same objects, "
                "plain values still equal"
            )
            for name in sorted(read | written):
                if name in namespace:
                    named.append((f"{g}[{name!r}]", namespace[name], name))
                    self.value(f"{g}[{name!r}]", namespace[name], name, inside=False)
                elif name in written or not hasattr(builtins, name):
                    guards.add(f"{name!r} not in {g}", what=f"the global {name}")
        cells = function.__closure__ or ()
        if cells:
            guards.section = f"the variables {label} closes over: still the same, or equal"
        for name, cell in zip(function.__code__.co_freevars, cells):
            try:
                value = cell.cell_contents
            except ValueError:  # not set yet
                continue
            live = f"{guards.name(cell, f'cell_{name}')}.cell_contents"
            named.append((live, value, name))
            self.value(live, value, name, inside=False)
        for _, value, name in named:
            if type(value) in PLAIN_CONTAINERS:
                self._inside_container(value, name)
            elif not is_plain(value):
                self.inside(guards.named(value), value, name)

    def value(
        self, live: str, value: Any, what: str, settable: Any = None, inside: bool = True
    ) -> None:
        """Lines saying that `live` (Python that reads it now) is still `value`; and, unless
        inside=False, what it holds."""
        guards = self.guards
        if is_plain(value):
            guards.add(_plain(live, value, guards, what), what=what, settable=settable)
            return
        if type(value) in PLAIN_CONTAINERS:
            self.container(live, value, what, inside)
            return
        name = guards.named(value) or guards.name(value, what)
        if live != name:
            guards.add(f"{live} is {name}", what=what)
        if inside:
            self.inside(name, value, what)

    def container(self, live: str, value: Any, what: str, inside: bool = True) -> None:
        """A list, tuple, dict or set holding objects: its length, and each item."""
        guards = self.guards
        kind = type(value).__name__
        keys = value.keys() if isinstance(value, dict) else ()
        if len(value) > LONG or kind in ("set", "frozenset") or not all(_key(k) for k in keys):
            guards.add(f"same({live}, {guards.name(_shallow(value), f'{what}_as_recorded')})")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:  # named, so that what they hold can be checked
                if not is_plain(item) and type(item) not in PLAIN_CONTAINERS:
                    guards.named(item) or guards.name(item, f"{what}[{key!r}]")
            if inside:
                self._inside_container(value, what)
            return
        guards.add(f"type({live}) is {kind} and len({live}) == {len(value)}", what=what)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            self.value(f"{live}[{key!r}]", item, f"{what}[{key!r}]", inside=inside)

    def inside(self, name: str, value: Any, what: str) -> None:
        """What an object holds that a replay depends on: a user function's names; a minigrad
        object's attributes (a Module's layers, parameters, settings and train/eval mode)."""
        if id(value) in self._seen:
            return
        self._seen.add(id(value))
        if isinstance(value, types.FunctionType) and not _from_library(value):
            section = self.guards.section
            self.function(value, f"{what} (called by {self.guards.step_name})")
            self.guards.section = section
            return
        if isinstance(value, types.MethodType) and not _from_library(value.__func__):
            self.value(f"{name}.__self__", value.__self__, f"{what}.__self__")
            self.inside(name, value.__func__, what)
            return
        if isinstance(value, (Tensor, torch.Tensor)) or not _is_minigrad_object(value):
            return  # a Tensor's data is the recording's to check; other objects: out of sight
        from ..optim.optimizer import Optimizer

        if isinstance(value, Optimizer):  # its groups and state: from the recording
            self.optimizers.append((value, value._steps_taken))
            self._groups_watched(name, value, what)
            return
        section = self.guards.section
        self.guards.section = f"what {what} holds: the same objects, settings equal"
        held = [(a, item) for a, item in vars(value).items() if not a.startswith("__")]
        attributes = self.guards.name(tuple(a for a, _ in held), f"{what}_attributes")
        self.guards.add(  # an attribute the step adds (model.calls = 1): seen, not a guard
            f"tuple(vars({name})) == {attributes}", what=f"{what}'s attributes", guard=False
        )
        for attribute, item in held:  # first what it holds, then what they hold
            # model.train() inside the step: a replay sets the mode again (other changes to a
            # Module's settings are refused).
            settable = (value, attribute) if attribute == "training" else None
            live = _attribute(name, attribute)
            self.value(live, item, f"{what}.{attribute}", settable=settable, inside=False)
        for attribute, item in held:
            if not is_plain(item) and type(item) not in PLAIN_CONTAINERS:
                self.inside(self.guards.named(item), item, f"{what}.{attribute}")
            elif type(item) in PLAIN_CONTAINERS:  # a list of layers
                self._inside_container(item, f"{what}.{attribute}")
        forward = getattr(type(value), "forward", None)
        if isinstance(forward, types.FunctionType) and not _from_library(forward):
            self.function(forward, f"{type(value).__name__}.forward")
        self.guards.section = section

    def _groups_watched(self, name: str, optimizer: Any, what: str) -> None:
        """An optimizer's settings, read again after the recording only: a step that sets
        group["lr"] itself is refused (a replay would not set it); between calls they may
        change (a replay reads the current ones), so these lines are not guards."""
        groups = self.guards.name(optimizer.param_groups, f"{what}.param_groups")
        size = len(optimizer.param_groups)
        self.guards.add(
            f"{name}.param_groups is {groups}", what=f"{what}.param_groups", guard=False
        )
        self.guards.add(f"len({groups}) == {size}", what=f"{what}.param_groups", guard=False)
        for i, group in enumerate(optimizer.param_groups):
            g = self.guards.name(group, f"{what}.group_{i}")
            self.guards.add(f"{groups}[{i}] is {g}", what=f"{what}.param_groups[{i}]", guard=False)
            for key, setting in group.items():
                if key != "params" and is_plain(setting):
                    where = f"{what}.param_groups[{i}][{key!r}]"
                    text = _plain(f"{g}[{key!r}]", setting, self.guards, where)
                    self.guards.add(text, what=where, guard=False)

    def _inside_container(self, container: Any, what: str) -> None:
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, item in items:
            if type(item) in PLAIN_CONTAINERS:
                self._inside_container(item, f"{what}[{key!r}]")
                continue
            name = self.guards.named(item)
            if name is not None:
                self.inside(name, item, f"{what}[{key!r}]")


def _key(key: Any) -> bool:
    """A dict key a line can write: a str or an int (not a bool)."""
    return type(key) in (str, int)


def _plain(live: str, value: Any, guards: Guards, what: str) -> str:
    """A line saying that `live` still equals plain `value`, type included."""
    if value is None or isinstance(value, bool):
        return f"{live} is {value!r}"
    if isinstance(value, float) and math.isnan(value):
        return f"type({live}) is float and math.isnan({live})"
    if type(value) in (int, float, complex):
        number = literal(value) or repr(value)
        return f"type({live}) is {type(value).__name__} and {live} == {number}"
    if type(value) in (str, bytes):
        return f"{live} == {value!r}"
    text = _literal(value)
    if text is None or len(text) > 60:
        text = guards.name(copy_plain(value), f"{what}_as_recorded")
    return f"same({live}, {text})"


def _literal(value: Any) -> str | None:
    try:
        text = repr(value)
    except Exception:
        return None
    try:
        return text if same(eval(text, {"math": math}), value) else None
    except Exception:
        return None


def _shallow(value: Any) -> Any:
    """A copy of a container whose plain parts are copied and whose objects are the same."""
    if isinstance(value, dict):
        return {k: _shallow(v) for k, v in value.items()}
    if type(value) in (list, tuple, set, frozenset):
        return type(value)(_shallow(v) for v in value)
    return value


# ---- the lines from a recording -----------------------------------------------------------------


def recording_lines(guards: Guards, recording: Recording) -> None:
    """The tensors, optimizers and modules the recording used, as it found them."""
    if recording.owners:
        guards.section = (
            "the tensors the code reads and changes: still held by the same Tensors, which "
            "require grad as they did (with no hooks of yours, register_hook); each .grad read "
            "before it was set: as it was"
        )
    grads = {id(o.grad) for o in recording.owners if o.grad_guarded and o.grad is not None}
    for owner in recording.owners:
        tensor = owner.tensor
        if id(owner.data) in grads and not owner.requires_grad:
            continue  # a .grad the step computes with: checked as its parameter's .grad above
        name = guards.named(tensor) or guards.name(tensor, tensor.name or "tensor")
        data = guards.name(owner.data, f"{name}_data")
        guards.add(f"{name}._data is {data}", what=f"{name}.data")
        guards.add(f"{name}._requires_grad is {owner.requires_grad}", what=f"{name}.requires_grad")
        if owner.requires_grad:  # a hook registered since would run in backward, not in a replay
            guards.add(f"not {name}._grad_hooks", what=f"{name}'s hooks (register_hook)")
        if owner.grad_guarded:
            if owner.grad is None:
                guards.add(f"{name}._grad is None", what=f"{name}.grad")
            else:
                grad = guards.name(owner.grad, f"{name}_grad")
                guards.add(f"{name}._grad._data is {grad}", what=f"{name}.grad")
    for optimizer in recording.optimizers:
        _optimizer_lines(guards, recording, optimizer)
    if recording.options:
        guards.section = "other Python values that chose which calls ran: as they were"
    for read, value in recording.options:
        read_name = guards.name(read, "option")
        if is_plain(value):
            guards.add(_plain(f"{read_name}()", value, guards, read_name), what=read_name)
        else:
            guards.add(f"{read_name}() is {guards.name(value, f'{read_name}_value')}")
    called = [(m, t) for m, t in recording.modules if guards.named(m) is None]
    if called:
        guards.section = "the modules called (reached through objects of yours): their mode"
    for module, training in called:
        name = guards.name(module, type(module).__name__.lower())
        guards.add(f"{name}.training is {training}", what=f"{name}.training")
    if recording.modules:
        guards.section = (
            "the modules called: still without forward or backward hooks (a replay skips them)"
        )
    for module, _ in recording.modules:
        name = guards.named(module) or guards.name(module, type(module).__name__.lower())
        hooks = f"{name}._forward_hooks or {name}._forward_pre_hooks"
        guards.add(f"not ({hooks})", what=f"{name}'s forward hooks")
        hooks = f"{name}._backward_hooks or {name}._backward_pre_hooks"
        guards.add(f"not ({hooks})", what=f"{name}'s backward hooks")


def _optimizer_lines(guards: Guards, recording: Recording, optimizer: Any) -> None:
    kind = type(optimizer).__name__
    opt = guards.named(optimizer) or guards.name(optimizer, kind.lower())
    guards.section = (
        f"{opt} ({kind}): the same parameter groups, each over the same parameters, with the "
        "options that chose the calls; its state: the same entries"
    )
    groups = guards.name(optimizer.param_groups, f"{opt}_param_groups")
    guards.add(f"{opt}.param_groups is {groups}", what=f"{opt}.param_groups")
    guards.add(f"len({groups}) == {len(optimizer.param_groups)}", what=f"{opt}.param_groups")
    for i, group in enumerate(optimizer.param_groups):
        g = guards.name(group, f"{opt}_group_{i}")
        guards.add(f"{groups}[{i}] is {g}", what=f"{opt}.param_groups[{i}]")
        params = group["params"]
        p = guards.name(params, f"{g}_params")
        guards.add(f"{g}['params'] is {p}", what=f"{g}['params']")
        guards.add(f"len({p}) == {len(params)}", what=f"{g}['params']")
        for j, param in enumerate(params):
            param_name = guards.named(param) or guards.name(param, param.name or "param")
            guards.add(f"{p}[{j}] is {param_name}", what=f"{g}['params'][{j}]")
        for key, value in recording.tensor_settings.get(id(group), {}).items():
            setting = guards.name(value, f"{g}_{key}")
            guards.add(f"{g}[{key!r}] is {setting}", what=f"{g}[{key!r}]")
            if isinstance(value, Tensor):
                data = guards.name(value._data, f"{setting}_data")
                guards.add(f"{setting}._data is {data}", what=f"{g}[{key!r}]")
    for group, key, nonzero, value in recording.settings:
        if not any(group is g for g in optimizer.param_groups):
            continue
        g = guards.named(group)
        if nonzero:
            text = f"{g}[{key!r}] {'!=' if value else '=='} 0"
        else:
            text = _plain(f"{g}[{key!r}]", value, guards, f"{g}_{key}")
        guards.add(text, what=f"{g}[{key!r}]")
    state = guards.name(optimizer.state, f"{opt}_state")
    guards.add(f"{opt}.state is {state}", what=f"{opt}.state")
    for (mapping, key, entry), entry_dict in zip(recording.states, recording.state_dicts):
        if mapping is not optimizer.state:
            continue
        param = guards.named(key) or guards.name(key, getattr(key, "name", None) or "param")
        if entry is None:
            guards.add(f"{state}.get({param}) is None", what=f"{opt}.state[{param}]")
            continue
        e = guards.name(entry_dict, f"state_{param}")
        guards.add(f"{state}.get({param}) is {e}", what=f"{opt}.state[{param}]")
        guards.add(f"len({e}) == {len(entry)}", what=f"{opt}.state[{param}]")
        for name, value in entry.items():
            if isinstance(value, torch.Tensor):
                t = guards.name(value, f"{name}_{param}")
                guards.add(f"{e}[{name!r}] is {t}", what=f"{opt}.state[{param}][{name!r}]")
            else:
                guards.add(
                    _plain(f"{e}[{name!r}]", value, guards, name),
                    what=f"{opt}.state[{param}][{name!r}]",
                )
