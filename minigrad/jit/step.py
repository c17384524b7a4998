"""`minigrad.compile(step)`: run a training step once while recording it, then replay it.

    @minigrad.compile
    def train_step(xb, yb):
        loss = loss_func(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    for xb, yb in dl:
        loss = train_step(xb, yb)       # first call: eager, recorded; later calls: a replay
    print(train_step.code)              # the replay, as Python
    print(train_step.guards)            # what it assumed: checked before each replay

A replay makes the same torch calls as the eager step (forward, backward, the gradients landing
in .grad, the optimizer's update) with none of minigrad's bookkeeping: no graph, no Context, no
topological sort. So it gives the same numbers, bit for bit on the CPU, faster.

A recording holds only while what it assumed still holds (its *guards*, see guards.py);
otherwise the step is recorded again, and both recordings are kept, one per situation:
- the key: the inputs' shapes, strides, dtypes, devices and requires_grad (a smaller last
  batch gets its own, and so does a batch laid out otherwise in memory, channels last or
  transposed: what the step read of its layout, a view, as_strided, a branch on
  is_contiguous(), was read for the recorded batch's), the other arguments' values, grad mode;
- what the step's names reach: the objects its globals and closure name, plain Python values
  (numbers, strings, lists and dicts of them) by value, each Module's layers, parameters,
  settings and train/eval mode;
- what the recording used: every tensor from outside the step is still held by the same Tensor
  (after `p.data = ...` the step is recorded again); whether each .grad was None; each
  optimizer's groups, the options that chose its calls (nesterov...) and its state entries
  (the first step creates momentum buffers: the second call records again, and later calls
  replay that).
Python numbers that reached a torch call are constants of the recording, pinned by the guards.
The optimizers keep what changes between steps (lr, Adam's step count) in tensors, which a
replay refreshes first; a setting given as a tensor is read as it is.

A replay runs torch calls, not Python, so some Python is refused while recording, with what to
write instead: reading a tensor's numbers (`loss.item()`); changing Python values the step can
reach (`losses.append(loss)`, a counter: return the value instead, or opt in with
python_side_effects="once"); a scheduler's step() or an optimizer's load_state_dict() inside
the step. What a replay leaves behind is what the eager step did: new .grad tensors, optimizer
state, each Module setting the step set (model.train()), each optimizer's count of steps.
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from .codegen import Generator
from .guards import Guards, Line, Surroundings, copy_plain, is_plain, recording_lines
from .optimize import describe, lean
from .recording import (
    CompileError,
    Recorder,
    Recording,
    Ref,
    ValueShapeChanged,
    alone_in_memory,
)

MAX_RECORDINGS = 8  # per signature; past it the step runs eagerly (something changes every call)
SIDE_EFFECTS = ("error", "once")


def compile(  # noqa: A001  (torch's name: torch.compile)
    fn: Callable[..., Any] | None = None,
    *,
    check: int | bool = 2,
    check_every: int | float | None = None,
    python_side_effects: str = "error",
    cuda_graph: bool = True,
) -> Any:
    """Record `fn` (a whole training step) on its first call; replay the recording afterwards.

    `check`: for this many replays after each recording (True: every one), run the step
    eagerly too, from the same state, and raise at the first tensor that differs.
    `check_every`: also check one call in N (an int), or this fraction of the calls (a float
    in (0, 1], spread evenly), for as long as the step runs: a drift that starts late shows too.
    `python_side_effects`: "error" (a step that changes Python values while it is recorded,
    `losses.append(loss)`, is refused) or "once" (such changes happen while recording only,
    as in jax.jit, and are not guarded). `cuda_graph`: on a GPU, capture the replay in a CUDA
    graph (one launch for the whole step). Usable as `@compile` or `@compile(check=False)`.
    """
    _check_options(check, check_every, python_side_effects)
    if fn is None:
        return functools.partial(
            compile,
            check=check,
            check_every=check_every,
            python_side_effects=python_side_effects,
            cuda_graph=cuda_graph,
        )
    return CompiledStep(fn, check, cuda_graph, check_every, python_side_effects)


def _check_options(check: Any, check_every: Any, python_side_effects: Any) -> None:
    if not isinstance(check, (bool, int)) or check < 0:
        raise TypeError(
            f"compile(check={check!r}): check is how many replays after each recording to "
            "compare with the eager step: a count (0, 2, ...), True (every replay) or False. "
            "To check a replay now and then for as long as the step runs, add check_every=N."
        )
    every_ok = check_every is None or (
        not isinstance(check_every, bool)
        and (
            (isinstance(check_every, int) and check_every >= 1)
            or (isinstance(check_every, float) and 0 < check_every <= 1)
        )
    )
    if not every_ok:
        raise TypeError(
            f"compile(check_every={check_every!r}): give a whole number N >= 1 (one call in N "
            "is checked against the eager step) or a fraction in (0, 1] (check_every=0.01: one "
            "call in 100), or None."
        )
    if python_side_effects not in SIDE_EFFECTS:
        raise ValueError(
            f"compile(python_side_effects={python_side_effects!r}): 'error' (the default: a step "
            "that changes Python values while recorded is refused) or 'once' (the changes happen "
            "while recording only, as in jax.jit)."
        )


class CompiledStep:
    """A step function with its recordings (see the module's docstring)."""

    def __init__(
        self,
        fn: Callable[..., Any],
        check: int | bool = 2,
        cuda_graph: bool = True,
        check_every: int | float | None = None,
        python_side_effects: str = "error",
    ) -> None:
        _check_options(check, check_every, python_side_effects)
        try:
            functools.update_wrapper(self, fn)
        except AttributeError:  # a Module or another callable object: no __name__ to take
            self.__name__ = type(fn).__name__
        self.fn = fn
        self.check = check
        self.check_every = check_every
        self.python_side_effects = python_side_effects
        self.cuda_graph = cuda_graph
        self.recordings: dict[Any, list[Replay]] = {}
        self.last: Replay | None = None
        self.calls = self.traces = self.replays = self.eager_calls = 0
        self._warned = False

    @property
    def code(self) -> str:
        """The Python of the recording used last: forward, backward, update."""
        return self._last("code").code()

    @property
    def guards(self) -> str:
        """What the recording used last assumed, as the Python that checks it before each
        replay (every line must hold)."""
        return self._last("guards").guards.source()

    def _last(self, what: str) -> Replay:
        if self.last is None:
            raise CompileError(
                f"nothing is recorded yet, so there is no {what}: call the step once"
            )
        return self.last

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        tensors: list[Tensor] = []
        key = _signature(args, kwargs, tensors)
        if any(t._grad is not None for t in tensors if t._requires_grad):
            # An input that requires grad and already has a .grad: the step's backward adds to
            # that tensor, new in every call, which no recording can hold. Run it eagerly.
            self.eager_calls += 1
            return self.fn(*args, **kwargs)
        known = self.recordings.setdefault(key, [])
        for i, replay in enumerate(known):
            if replay.guards.check():
                if i:  # the one that held is likely to hold next time: try it first then
                    known.insert(0, known.pop(i))
                self.last = replay
                self.replays += 1
                inputs = [t._data for t in tensors]
                return replay.run(self, inputs, args, kwargs, self._checking(replay))
        if len(known) >= MAX_RECORDINGS:
            if not self._warned:
                failing = known[0].guards.failing()
                reason = f" (this time: `{failing[0].text}` does not hold)" if failing else ""
                warnings.warn(
                    f"{self.__name__} was recorded {MAX_RECORDINGS} times for the same inputs: "
                    f"something it depends on changes every call{reason}. Running it eagerly "
                    "from now on.",
                    stacklevel=2,
                )
                self._warned = True
            self.eager_calls += 1
            return self.fn(*args, **kwargs)
        replay, result = self._record(args, kwargs)
        known.append(replay)
        self.last = replay
        self.traces += 1
        return result

    def _checking(self, replay: Replay) -> bool:
        """Whether this replay is also run eagerly and compared (see compile's check=)."""
        replay.replays += 1
        if self.check is True or replay.replays <= int(self.check):
            return True
        every = self.check_every
        if every is None:
            return False
        if isinstance(every, int):
            return self.calls % every == 0
        return math.floor(self.calls * every) > math.floor((self.calls - 1) * every)

    def _record(self, args: tuple, kwargs: dict) -> tuple[Replay, Any]:
        tensors, names = _tensor_arguments(self.fn, args, kwargs)
        guards = Guards(_function_name(self.fn), header=_key_text(self, args, kwargs))
        surroundings = Surroundings(guards)
        surroundings.walk_step(self.fn, args, kwargs, _argument_names(self.fn, args, kwargs))
        watched = list(guards.lines)  # what the step's names reach, before it runs
        with Recorder([t._data for t in tensors], names, guards.tensor_names()) as recorder:
            result = self.fn(*args, **kwargs)
        recording = recorder.recording
        settings = self._python_changes(guards, watched)
        used = {
            id(recording.values[ref.index].tensor) for call in recording.calls for ref in call.reads
        }
        for owner in recording.owners:  # .grad matters if read before set, or used by a call
            owner.grad_guarded = bool(owner.grad_read_first) or id(owner.grad) in used
        # Each optimizer's count of steps: what one call adds (opt.step() counts even when no
        # parameter had a gradient to step with, so it is counted for the optimizers reached;
        # and guarded as those that stepped are: a group added to it records again).
        counted = dict(zip(map(id, recording.optimizers), recording.steps_taken))
        for optimizer, before in surroundings.optimizers:
            if id(optimizer) not in counted:
                recording.optimizers.append(optimizer)
            counted[id(optimizer)] = before
        recording_lines(guards, recording)
        leaves, rebuild = _flatten(result)
        result_refs = [recorder.ref(t._data) for t in leaves]
        effects = _effects(recorder, recording)
        # The gradient the step left in an input's .grad (xb.requires_grad_(): a saliency map,
        # an adversarial step): the input is new in every call, so it goes by its position.
        for i, tensor in enumerate(tensors):
            if tensor._grad is not None:
                effects.append((i, "input grad", recorder.ref(tensor._grad._data)))
        outputs = result_refs + [ref for _, _, ref in effects if ref is not None]
        steps = [opt._steps_taken - counted[id(opt)] for opt in recording.optimizers]
        replay = Replay(
            recording,
            _function_name(self.fn),
            guards=guards,
            n_results=len(result_refs),
            rebuild=rebuild,
            effects=effects,
            settings=settings,
            steps=steps,
            cuda_graph=self.cuda_graph,
            step=self.fn,
            outputs=outputs,
            graph_needed=_graph_needed(recording, leaves),
        )
        return replay, result

    def _python_changes(self, guards: Guards, watched: list[Line]) -> list[tuple[Any, str, Any]]:
        """What the step changed in Python while recorded: a Module setting it set (a replay
        sets it again: model.train()) or, refused unless python_side_effects="once", anything
        else (a list it appended to, a counter, a global)."""
        settings, refused = [], []
        for line in guards.failing(watched):
            if line.settable is not None:
                module, attribute = line.settable
                value = getattr(module, attribute, None)
                if is_plain(value):
                    settings.append((module, attribute, copy_plain(value)))
                    continue
            if self.python_side_effects == "once":
                line.guard = False  # changed by the step itself: not an assumption any more
                continue
            refused.append(line)
        if refused:
            what = ", ".join(dict.fromkeys(line.what or line.text for line in refused))
            name = self.__name__
            raise CompileError(
                f"{name} changed {what} while it was recorded (`{refused[0].text}` held before "
                f"the call, not after). A replay runs only the step's torch calls, so it would "
                "not make that change again: it would happen once, now. Return what you need from "
                f"the step instead (losses.append(loss) outside: loss = {name}(...); "
                "losses.append(loss)), or keep the value in a tensor that the step changes in "
                f"place. If a change made only while recording is what you want (a count of "
                f"recordings, a debug print), compile with python_side_effects='once'."
            )
        return settings


def _graph_needed(recording: Recording, leaves: list[Tensor]) -> list[bool]:
    """Which results required grad without the step having run a backward pass: a forward
    alone was compiled (`model = minigrad.compile(model)`), and the caller may call backward."""
    if any(call.region.kind == "backward" for call in recording.calls):
        return []
    return [leaf._requires_grad for leaf in leaves]


class _ReplayedResult(Function):
    """A replay's result that eager would have given with a graph: backward through it is an
    error that says why (a replay builds no graph to go back through)."""

    @staticmethod
    def forward(ctx: Any, anchor: Any, value: torch.Tensor) -> torch.Tensor:
        return value

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> Any:
        raise CompileError(
            "backward() reached the result of a replay of a compiled function that ran no "
            "backward itself (as after model = minigrad.compile(model)). A replay runs the "
            "recorded torch calls without building minigrad's graph, so there is nothing to go "
            "back through to the parameters. Compile the whole training step instead, loss."
            "backward() and opt.step() included (@minigrad.compile def train_step(xb, yb): "
            "...), or call the model without compiling it while it trains."
        )


@dataclass
class Replay:
    """One recording, ready to run again: its guards, its function, what it leaves behind."""

    recording: Recording
    name: str  # the step function's, for the generated one
    guards: Guards
    n_results: int
    rebuild: Callable[[list[Any]], Any]
    effects: list[tuple[Any, str, Ref | None]]  # (object, what to set, the value's Ref)
    cuda_graph: bool
    step: Callable[..., Any]  # the step function, for check runs
    settings: list[tuple[Any, str, Any]] = field(default_factory=list)  # (module, attr, value)
    steps: list[int] = field(default_factory=list)  # each optimizer's steps in one call
    outputs: list[Ref] = field(default_factory=list)
    graph_needed: list[bool] = field(default_factory=list)
    replays: int = 0
    graph: Any = field(default=None, repr=False)
    _function: Any = field(default=None, repr=False)
    names: dict[Ref, str] = field(default_factory=dict, repr=False)  # each value's, in the code
    _code: str | None = field(default=None, repr=False)
    lean_source: str | None = field(default=None, repr=False)  # what `function` runs

    def __post_init__(self) -> None:
        self.recording.alone = alone_in_memory(self.recording)  # (needs the tensors)
        self._metas = describe(self.recording)  # (so does the leaner replay: optimize.py)
        for value in self.recording.values:  # the trace's activations: not needed any more
            if value.kind == "internal" or value.kind == "input":
                value.tensor = None
        self._anchor = next((o.tensor for o in self.recording.owners if o.requires_grad), None)
        # Calls whose result's shape depends on values: the replay checks each shape, and runs
        # the step eagerly when one differs, from the state it started from (a snapshot, if
        # something is changed in place before the last check; else torch's random state).
        checks = [i for i, c in enumerate(self.recording.calls) if c.value_shapes is not None]
        self.value_shaped = bool(checks)
        self._changes_before_checks = bool(checks) and any(
            c.in_place for c in self.recording.calls[: checks[-1]]
        )

    @property
    def function(self) -> Callable[..., Any]:
        """The replay as a Python function, written the first time it is needed: a recording
        that never replays (the first step's, made before any .grad existed) costs no code.
        It is the code without its comments (writing and wrapping them is most of the work),
        made leaner first (optimize.py: constants folded, operators merged, updates fused), and
        with a `del` after each value's last use (codegen's drop_dead)."""
        if self._function is None:
            recording = lean(self.recording, self.outputs, self._metas)
            program = Generator(
                recording, self.name, self.outputs, comments=False, drop_dead=True
            ).program()
            self.names, self._function = program.names, program.function()
            self.lean_source = program.source
        return self._function

    def code(self) -> str:
        """The recording's Python, with a comment on each stretch of calls (what `function`
        runs is the same lines without the comments)."""
        if self._code is None:
            generator = Generator(self.recording, self.name, self.outputs, comments=True)
            self._code = generator.source()
        return self._code

    def holds(self) -> bool:
        """Whether everything the recording assumed is still so."""
        return self.guards.check()

    def run(
        self,
        owner: CompiledStep,
        inputs: list[torch.Tensor],
        args: tuple,
        kwargs: dict,
        check: bool,
    ) -> Any:
        for refresh in self.recording.refreshers:
            refresh()  # lr and the like, from the optimizer's param_groups
        if check:
            return self._run_checked(owner, inputs, args, kwargs)
        if not self.value_shaped:
            return self._finish(self._call(inputs), args, kwargs)
        from .check import Snapshot

        before = Snapshot(self, inputs) if self._changes_before_checks else _RandomState()
        try:
            outputs = self._call(inputs)
        except ValueShapeChanged:  # x[mask] picked another number of elements: run eagerly
            before.restore()
            owner.eager_calls += 1
            return self.step(*args, **kwargs)
        return self._finish(outputs, args, kwargs)

    def _call(self, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        if self.graph is not None:
            return self.graph(*inputs)
        function = self._function or self.function
        if self.cuda_graph and inputs and inputs[0].is_cuda and not self.value_shaped:
            from .cuda_graph import GraphedFunction

            self.graph = GraphedFunction(function)
            return self.graph(*inputs)
        return function(*inputs)

    def _finish(self, outputs: tuple[torch.Tensor, ...], args: tuple, kwargs: dict) -> Any:
        """Leave behind what the eager step would have: new .grad tensors (or None), optimizer
        state, the Module settings it set, the optimizers' counts of steps; and give back the
        step's result as Tensors."""
        extra = iter(outputs[self.n_results :])
        for target, what, ref in self.effects:
            value = next(extra) if ref is not None else None
            if what == "grad":
                target._grad = Tensor(value) if value is not None else None
            elif what == "data":
                target._data = value
            elif what == "input grad":  # this call's input at that position
                _tensors_of(args, kwargs)[target]._grad = Tensor(value)
            else:  # an optimizer state entry made by the step: optimizer.state[p][name]
                mapping, key, name = target
                mapping.setdefault(key, {})[name] = value
        for module, attribute, value in self.settings:
            setattr(module, attribute, copy_plain(value))
        for optimizer, count in zip(self.recording.optimizers, self.steps):
            optimizer._steps_taken += count
        results = [Tensor(t) for t in outputs[: self.n_results]]
        if self.graph_needed and self._anchor is not None:
            results = [
                _ReplayedResult.apply(self._anchor, t._data) if needed else t
                for t, needed in zip(results, self.graph_needed)
            ]
        return self.rebuild(results)

    def _run_checked(
        self, owner: CompiledStep, inputs: list[torch.Tensor], args: tuple, kwargs: dict
    ) -> Any:
        """Run eagerly, then put everything back and replay; the two must agree exactly. On a
        difference, the state is left as the eager step left it, and the error says where."""
        from .check import Snapshot, compare

        before = Snapshot(self, inputs)
        eager_result = self.step(*args, **kwargs)
        eager = Snapshot(self, inputs)
        before.restore()
        try:
            outputs = self._call(inputs)
        except ValueShapeChanged:  # the replay could not follow this call: eager's result stands
            eager.restore()
            owner.eager_calls += 1
            return eager_result
        result = self._finish(outputs, args, kwargs)
        try:
            compare(self, eager, Snapshot(self, inputs), eager_result, result)
        except CompileError as error:
            eager.restore()
            where = f"replay check at call {owner.calls} of {owner.__name__}:"
            raise CompileError(str(error).replace("replay check:", where, 1)) from None
        return result


class _RandomState:
    """torch's random number generators as they are now, to put back."""

    def __init__(self) -> None:
        self.cpu = torch.get_rng_state()
        self.cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None

    def restore(self) -> None:
        torch.set_rng_state(self.cpu)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)


def _signature(args: tuple, kwargs: dict, tensors: list[Tensor]) -> Any:
    """What picks a recording: the arguments' shapes, strides, dtypes, devices (tensors) or
    values. The Tensors among them are added to `tensors`, in the order _tensors_of gives them."""
    return (
        is_grad_enabled(),
        tuple(_describe(a, tensors) for a in args),
        tuple((k, _describe(kwargs[k], tensors)) for k in sorted(kwargs)),
    )


def _describe(value: Any, tensors: list[Tensor]) -> Any:
    if isinstance(value, Tensor):
        tensors.append(value)
        data = value._data
        return (data.shape, data.stride(), data.dtype, data.device, value._requires_grad)
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_describe(v, tensors) for v in value))
    if type(value) is dict:  # by what it holds: a new dict of the same settings is the same key
        return ("dict", tuple((k, _describe(v, tensors)) for k, v in value.items()))
    if type(value) is set:
        return (
            ("set", frozenset(value)) if all(_hashable(v) for v in value) else ("object", id(value))
        )
    try:
        hash(value)
    except TypeError:
        return ("object", id(value))
    return value


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _key_text(step: CompiledStep, args: tuple, kwargs: dict) -> str:
    """The key of a recording in words, for the top of its guards (the key is checked first)."""
    names = _argument_names(step.fn, args, kwargs)
    parts = [f"grad mode {'on' if is_grad_enabled() else 'off'}"]
    for name, value in zip(names, [*args, *kwargs.values()]):
        if isinstance(value, Tensor):
            data = value._data
            grad = ", requires grad" if value._requires_grad else ""
            layout = "" if data.is_contiguous() else f" with strides {data.stride()}"
            parts.append(
                f"{name} {str(data.dtype).removeprefix('torch.')} {tuple(data.shape)}{layout}{grad}"
            )
        elif is_plain(value):
            parts.append(f"{name} == {value!r}")
        else:
            parts.append(f"{name} is the same {type(value).__name__}")
    return (
        f"What the recording of {_function_name(step.fn)} assumed: every line must hold for a "
        f"replay (else the step is recorded again). Its key, checked first: {'; '.join(parts)}."
    )


def _argument_names(fn: Callable[..., Any], args: tuple, kwargs: dict) -> list[str]:
    """A name for each argument: its parameter's (xb, yb), or arg_0, ..."""
    try:
        parameters = list(_parameters_of(fn).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = []
    for i in range(len(args)):
        usable = i < len(parameters) and parameters[i].kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        )
        names.append(parameters[i].name if usable else f"arg_{i}")
    return names + list(kwargs)


def _tensors_of(args: tuple, kwargs: dict) -> list[Tensor]:
    found: list[Tensor] = []

    def walk(value: Any) -> None:
        if isinstance(value, Tensor):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(args)
    walk([kwargs[k] for k in sorted(kwargs)])
    return found


@functools.lru_cache(maxsize=64)  # inspect.signature is slow, and a step is recorded often
def _parameters_of(fn: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(fn)


def _tensor_arguments(
    fn: Callable[..., Any], args: tuple, kwargs: dict
) -> tuple[list[Tensor], list[str]]:
    """The Tensors among the arguments, and names for them (the parameters' names: xb, yb)."""
    tensors = _tensors_of(args, kwargs)
    try:
        bound = _parameters_of(fn).bind(*args, **kwargs)
        names = {}
        for name, value in bound.arguments.items():
            for i, t in enumerate(_tensors_of((value,), {})):
                names[id(t)] = name if i == 0 else f"{name}_{i}"
        return tensors, [names.get(id(t), f"input_{i}") for i, t in enumerate(tensors)]
    except (TypeError, ValueError):
        return tensors, [f"input_{i}" for i in range(len(tensors))]


def _flatten(result: Any) -> tuple[list[Tensor], Callable[[list[Any]], Any]]:
    """The Tensors in what the step returned, and how to put the result together again."""
    if isinstance(result, Tensor):
        return [result], lambda values: values[0]
    if isinstance(result, (tuple, list)) and all(isinstance(r, Tensor) for r in result):
        kind = type(result)
        return list(result), lambda values: kind(values)
    if isinstance(result, dict) and all(isinstance(r, Tensor) for r in result.values()):
        keys = list(result)
        return [result[k] for k in keys], lambda values: dict(zip(keys, values))
    if result is None:
        return [], lambda values: None
    raise CompileError(
        f"a compiled step returns Tensors (one, a tuple, a list or a dict of them) or None; this "
        f"one returned {type(result).__name__}. Return the loss tensor, and read its value "
        "outside the step."
    )


def _effects(recorder: Recorder, recording: Recording) -> list[tuple[Any, str, Ref | None]]:
    """What the step changed besides tensors' values: which .grad (or .data) it set, and which
    optimizer state entries it added; as (object, what, the Ref of the new value)."""
    effects: list[tuple[Any, str, Ref | None]] = []
    for owner in recording.owners:
        tensor = owner.tensor
        grad = tensor._grad._data if tensor._grad is not None else None
        if grad is not owner.grad or owner.grad_written:  # (p.grad = None: None after a replay)
            effects.append((tensor, "grad", recorder.ref(grad) if grad is not None else None))
        if tensor._data is not owner.data:
            effects.append((tensor, "data", recorder.ref(tensor._data)))
    for mapping, key, entry in recording.states:
        state = mapping.get(key) or {}
        for name, value in state.items():
            if entry is None or name not in entry or entry[name] is not value:
                if not _is_tensor(value):
                    raise CompileError(
                        f"the step sets optimizer state {name!r} to a Python "
                        f"{type(value).__name__}; a replay could not keep it up to date. Keep "
                        "state that changes between steps in tensors."
                    )
                effects.append(((mapping, key, name), "state", recorder.ref(value)))
    return effects


def _is_tensor(value: Any) -> bool:
    return isinstance(value, torch.Tensor)


def _function_name(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__name__", "step")
    return name if name.isidentifier() and name != "<lambda>" else "step"
