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

A replay makes the same torch calls as the eager step (forward, backward, the gradients landing
in .grad, the optimizer's update) with none of minigrad's bookkeeping: no graph, no Context, no
topological sort. So it gives the same numbers, bit for bit on the CPU, faster.

A recording holds only while what it assumed still holds (its *guards*); otherwise the step is
recorded again, and both recordings are kept, one per situation:
- the inputs' shapes, dtypes, devices and requires_grad (a smaller last batch gets its own), the
  other arguments' values, grad mode;
- every tensor from outside the step that it used (a parameter's data, its .grad, optimizer
  state) is still the same object: after `p.data = ...` the step is recorded again;
- whether each .grad was None, which optimizer state existed (the first step creates momentum
  buffers: the second call records again, and later calls replay that), each Module's train/eval
  mode, and the optimizer options that chose which calls ran (nesterov...).
Python numbers that reached a torch call are constants of the recording. The optimizers keep
what changes between steps (lr, Adam's step count) in tensors, which a replay refreshes first.
A step that reads a tensor's numbers into Python (`loss.item()`) cannot be recorded: it says so.
A replay does nothing else your Python did (a print, a list append): return what you need.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from .codegen import Generator
from .recording import CompileError, Recorder, Recording, Ref, alone_in_memory

MAX_RECORDINGS = 8  # per signature; past it the step runs eagerly (something changes every call)


def compile(  # noqa: A001  (torch's name: torch.compile)
    fn: Callable[..., Any] | None = None,
    *,
    check: int | bool = 2,
    cuda_graph: bool = True,
) -> Any:
    """Record `fn` (a whole training step) on its first call; replay the recording afterwards.

    `check`: for this many replays after each recording (True: always), run the step eagerly
    too, from the same state, and raise at the first tensor that differs. `cuda_graph`: on a
    GPU, capture the replay in a CUDA graph (one launch for the whole step).
    Usable as `@compile` or `@compile(check=False)`.
    """
    if fn is None:
        return functools.partial(compile, check=check, cuda_graph=cuda_graph)
    return CompiledStep(fn, check=check, cuda_graph=cuda_graph)


class CompiledStep:
    """A step function with its recordings (see the module's docstring)."""

    def __init__(self, fn: Callable[..., Any], check: int | bool, cuda_graph: bool) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.check = check
        self.cuda_graph = cuda_graph
        self.recordings: dict[Any, list[Replay]] = {}
        self.last: Replay | None = None
        self.traces = self.replays = 0
        self._warned = False

    @property
    def code(self) -> str:
        """The Python of the recording used last: forward, backward, update."""
        if self.last is None:
            raise CompileError("nothing is recorded yet: call the step once first")
        return self.last.code()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tensors: list[Tensor] = []
        key = _signature(args, kwargs, tensors)
        known = self.recordings.setdefault(key, [])
        for i, replay in enumerate(known):
            if replay.holds():
                if i:  # the one that held is likely to hold next time: try it first then
                    known.insert(0, known.pop(i))
                self.last = replay
                self.replays += 1
                return replay.run([t._data for t in tensors], args, kwargs, self._checking(replay))
        if len(known) >= MAX_RECORDINGS:
            if not self._warned:
                warnings.warn(
                    f"{self.__name__} was recorded {MAX_RECORDINGS} times for the same inputs: "
                    "something it depends on changes every call (a tensor replaced, a .grad "
                    "set to a new one). Running it eagerly from now on.",
                    stacklevel=2,
                )
                self._warned = True
            return self.fn(*args, **kwargs)
        replay, result = self._record(args, kwargs)
        known.append(replay)
        self.last = replay
        self.traces += 1
        return result

    def _checking(self, replay: Replay) -> bool:
        if self.check is True:
            return True
        replay.replays += 1
        return replay.replays <= int(self.check)

    def _record(self, args: tuple, kwargs: dict) -> tuple[Replay, Any]:
        tensors, names = _tensor_arguments(self.fn, args, kwargs)
        with Recorder([t._data for t in tensors], names) as recorder:
            result = self.fn(*args, **kwargs)
        recording = recorder.recording
        used = {
            id(recording.values[ref.index].tensor) for call in recording.calls for ref in call.reads
        }
        for owner in recording.owners:  # .grad matters if read before set, or used by a call
            owner.grad_guarded = bool(owner.grad_read_first) or id(owner.grad) in used
        leaves, rebuild = _flatten(result)
        result_refs = [recorder.ref(t._data) for t in leaves]
        effects = _effects(recorder, recording)
        outputs = result_refs + [ref for _, _, ref in effects if ref is not None]
        replay = Replay(
            recording,
            _function_name(self.fn),
            grad_enabled=is_grad_enabled(),
            n_results=len(result_refs),
            rebuild=rebuild,
            effects=effects,
            cuda_graph=self.cuda_graph,
            step=self.fn,
            globals=_globals_read(self.fn),
            outputs=outputs,
        )
        return replay, result


@dataclass
class Replay:
    """One recording, ready to run again: its guards, its function, what it leaves behind."""

    recording: Recording
    name: str  # the step function's, for the generated one
    grad_enabled: bool
    n_results: int
    rebuild: Callable[[list[Any]], Any]
    effects: list[tuple[Any, str, Ref | None]]  # (object, what to set, the value's Ref)
    cuda_graph: bool
    step: Callable[..., Any]  # the step function, for check runs
    globals: list[tuple[Callable[[], Any], Any]] = field(default_factory=list)
    outputs: list[Ref] = field(default_factory=list)
    replays: int = 0
    graph: Any = field(default=None, repr=False)
    _function: Any = field(default=None, repr=False)
    names: dict[Ref, str] = field(default_factory=dict, repr=False)  # each value's, in the code
    _code: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.recording.alone = alone_in_memory(self.recording)  # (needs the tensors)
        for value in self.recording.values:  # the trace's activations: not needed any more
            if value.kind == "internal" or value.kind == "input":
                value.tensor = None
        # The guards, laid out for holds(), which runs before every replay.
        recording = self.recording
        self._owners = [
            (o.tensor, o.data, o.requires_grad, o.grad_guarded, o.grad) for o in recording.owners
        ]
        self._states = [
            (mapping, key, entry, [(k, v) for k, v in (entry or {}).items() if _is_tensor(v)])
            for mapping, key, entry in recording.states
        ]

    @property
    def function(self) -> Callable[..., Any]:
        """The replay as a Python function, written the first time it is needed: a recording
        that never replays (the first step's, made before any .grad existed) costs no code.
        It is the code without its comments: writing and wrapping them is most of the work."""
        if self._function is None:
            program = Generator(self.recording, self.name, self.outputs, comments=False).program()
            self.names, self._function = program.names, program.function()
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
        if is_grad_enabled() != self.grad_enabled:
            return False
        for tensor, data, requires_grad, grad_guarded, grad_data in self._owners:
            if tensor._data is not data or tensor._requires_grad != requires_grad:
                return False
            if grad_guarded:
                grad = tensor._grad
                if (grad._data if grad is not None else None) is not grad_data:
                    return False
        for mapping, key, entry, tensors in self._states:
            state = mapping.get(key)
            if state is None or entry is None:
                if state is not entry:
                    return False
                continue
            if state.keys() != entry.keys() or any(state[k] is not v for k, v in tensors):
                return False
        if any(get() is not value for get, value in self.globals):
            return False
        if any(module.training != training for module, training in self.recording.modules):
            return False
        return all(read() == value for read, value in self.recording.options)

    def run(self, inputs: list[torch.Tensor], args: tuple, kwargs: dict, check: bool) -> Any:
        for refresh in self.recording.refreshers:
            refresh()  # lr and the like, from the optimizer's param_groups
        if check:
            return self._run_checked(inputs, args, kwargs)
        return self._finish(self._call(inputs))

    def _call(self, inputs: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        if self.graph is not None:
            return self.graph(*inputs)
        function = self._function or self.function
        if self.cuda_graph and inputs and inputs[0].is_cuda:
            from .cuda_graph import GraphedFunction

            self.graph = GraphedFunction(function)
            return self.graph(*inputs)
        return function(*inputs)

    def _finish(self, outputs: tuple[torch.Tensor, ...]) -> Any:
        """Leave behind what the eager step would have: new .grad tensors (or None), optimizer
        state; and give back the step's result as Tensors."""
        extra = iter(outputs[self.n_results :])
        for target, what, ref in self.effects:
            value = next(extra) if ref is not None else None
            if what == "grad":
                target._grad = Tensor(value) if value is not None else None
            elif what == "data":
                target._data = value
            else:  # an optimizer state entry made by the step: optimizer.state[p][name]
                mapping, key, name = target
                mapping.setdefault(key, {})[name] = value
        return self.rebuild([Tensor(t) for t in outputs[: self.n_results]])

    def _run_checked(self, inputs: list[torch.Tensor], args: tuple, kwargs: dict) -> Any:
        """Run eagerly, then put everything back and replay; the two must agree exactly."""
        from .check import Snapshot, compare

        before = Snapshot(self.recording, inputs)
        eager_result = self.step(*args, **kwargs)
        eager = Snapshot(self.recording, inputs)
        before.restore()
        result = self._finish(self._call(inputs))
        compare(self, eager, Snapshot(self.recording, inputs), eager_result, result)
        return result


def _signature(args: tuple, kwargs: dict, tensors: list[Tensor]) -> Any:
    """What picks a recording: the arguments' shapes, dtypes, devices (tensors) or values.
    The Tensors among them are added to `tensors`, in the order _tensors_of gives them."""
    return (
        is_grad_enabled(),
        tuple(_describe(a, tensors) for a in args),
        tuple((k, _describe(kwargs[k], tensors)) for k in sorted(kwargs)),
    )


def _describe(value: Any, tensors: list[Tensor]) -> Any:
    if isinstance(value, Tensor):
        tensors.append(value)
        data = value._data
        return (data.shape, data.dtype, data.device, value._requires_grad)
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_describe(v, tensors) for v in value))
    try:
        hash(value)
    except TypeError:
        return ("object", id(value))
    return value


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
        if grad is not owner.grad:
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


def _globals_read(fn: Callable[..., Any]) -> list[tuple[Callable[[], Any], Any]]:
    """The objects the step function finds by name (its closure's and the module globals it
    reads: the model, the optimizer). A replay is tied to them: if `opt` now names another
    optimizer, the step is recorded again instead of updating the old one."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return []
    reads: list[tuple[Callable[[], Any], Any]] = []
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            reads.append((lambda cell=cell: cell.cell_contents, cell.cell_contents))
        except ValueError:  # an empty cell
            continue
    namespace = getattr(fn, "__globals__", {})
    for name in code.co_names:
        if name in namespace:
            reads.append((lambda name=name: namespace.get(name), namespace[name]))
    return reads


def _function_name(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__name__", "step")
    return name if name.isidentifier() and name != "<lambda>" else "step"
