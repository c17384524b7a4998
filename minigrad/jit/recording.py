"""Recording: every torch call made while a step runs, as a list a replay can run again.

A `Recorder` is a torch `TorchFunctionMode`: while it is on, torch hands it every call of a torch
function or Tensor method, with its arguments, before running it. The recorder runs the call and
writes it down, with each tensor replaced by a `Ref` to one of three kinds of value:

- an *input*: the data of a Tensor given to the step (new in every call: the batch);
- an *outside* tensor: one that existed before the step and that it reads or changes (a
  parameter's data, a `.grad`, an optimizer's buffer), the same object in every replay;
- an *internal* tensor: one that a recorded call made.

A call that reads a tensor's numbers into Python (`loss.item()`, `if loss > 3:`) is refused:
a replay runs torch calls, not the Python that looked at their results, so it could not follow.
Calls that read only shapes, dtypes and devices are not recorded: the replay's guards check those.

minigrad's own code tells the recorder what each call is for (`forward` of an op, its `backward`,
a `.grad` landing in a leaf, an optimizer's `update`), so that the code made from a recording
reads as the lesson it is; and which minigrad objects the step used, so that it knows what a
replay assumes (`Assumptions`) and what it must leave behind (a new `.grad`).
"""

from __future__ import annotations

import functools
import keyword
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from ..autograd import events
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor, unwrap

# The recorder now listening, if any (minigrad's own code asks before telling it anything).
active: Recorder | None = None


class CompileError(RuntimeError):
    """A step that cannot be recorded as it is, with what to write instead."""


# Calls that read a tensor's shape, dtype, device or bookkeeping, not its numbers.
METADATA = {
    "size", "dim", "numel", "stride", "storage_offset", "is_contiguous", "is_floating_point",
    "is_complex", "element_size", "data_ptr", "untyped_storage", "nelement", "ndimension",
    "get_device", "is_pinned", "is_shared", "__len__", "__hash__", "is_set_to",
    "has_names", "is_inference", "is_signed", "_is_view", "is_nonzero_numel",
}  # fmt: skip
# Tensor attributes (getset descriptors) of the same kind; `_base` is a tensor, but minigrad
# only asks whether two tensors share memory, which the guards on inputs and owners settle.
METADATA_ATTRIBUTES = {
    "shape", "dtype", "device", "ndim", "_version", "_base", "is_leaf", "requires_grad",
    "grad_fn", "is_cuda", "is_cpu", "is_meta", "layout", "names", "nbytes", "itemsize",
    "is_sparse", "is_quantized", "is_mps", "grad", "_grad_fn", "output_nr",
}  # fmt: skip
# Calls that give Python a tensor's numbers: a replay cannot follow what Python did with them.
READS_NUMBERS = {
    "item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__", "__complex__",
    "__repr__", "__str__", "__format__", "equal", "allclose", "is_nonzero", "__array__",
}  # fmt: skip
# Calls whose result differs from run to run: never moved or merged by the code generator.
RANDOM = {
    "rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like",
    "bernoulli", "bernoulli_", "multinomial", "normal", "normal_", "uniform_", "random_",
    "exponential_", "geometric_", "log_normal_", "cauchy_", "dropout", "dropout_",
    "native_dropout", "poisson",
}  # fmt: skip


_KINDS: dict[Any, tuple[str, str]] = {}  # func -> (its name, what the recorder does with it)


def _kind(func: Callable[..., Any]) -> tuple[str, str]:
    name = func_name(func)
    if name in METADATA or name in METADATA_ATTRIBUTES:
        return name, "metadata"
    if name in READS_NUMBERS:
        return name, "reads numbers"
    return name, "record"


def func_name(func: Callable[..., Any]) -> str:
    """The name a call goes by: a method's or function's name, or the attribute's (x.T)."""
    owner = getattr(func, "__self__", None)
    if getattr(func, "__name__", None) == "__get__" and owner is not None:
        return owner.__name__  # a getset descriptor: x.T, x.mT
    return getattr(func, "__name__", repr(func))


class Ref(int):
    """A tensor in a recording: the index of its Value (an int, to be quick to hash)."""

    @property
    def index(self) -> int:
        return int(self)

    def __repr__(self) -> str:
        return f"Ref({int(self)})"


@dataclass
class Value:
    """A tensor the step used or made."""

    tensor: torch.Tensor  # kept alive while recording, so that ids are not reused
    kind: str  # "input", "outside" or "internal"
    name: str | None = None  # a name for the code: the op's output, d_x for a gradient, ...
    call: int | None = None  # the call that made it (internal values)
    # A name made from another value's (d_{} for its gradient, {}_grad, momentum_buffer_{}):
    # the template and that value, so that the code derives it from the name it gives that one.
    derived: tuple[str, Ref] | None = None


@dataclass
class Region:
    """What a run of calls does, in minigrad's terms: one op's forward or backward, a gradient
    landing in a leaf, an optimizer's update of one parameter."""

    kind: str  # "forward", "backward", "accumulate", "update" or "user"
    title: str  # e.g. "{0} = Sigmoid({1})": {i} stands for the name the code gives refs[i]
    rule: str = ""  # the op's maths, from its docstring
    refs: tuple[Ref, ...] = ()


@dataclass
class Call:
    """One torch call: what ran, on what, giving what."""

    func: Callable[..., Any]
    name: str
    args: tuple[Any, ...]  # tensors replaced by Refs (inside lists and tuples too)
    kwargs: dict[str, Any]
    out: Any  # a Ref, a tuple of Refs (several outputs), or None
    region: Region
    in_place: bool  # changes one of its tensor arguments (add_, x[k] = v, copy_, out=)
    random: bool
    reads: tuple[Ref, ...] = ()  # the Refs among its arguments
    # A result whose shape depends on the values (x[mask], nonzero): its shape when recorded,
    # which a replay checks (later calls were recorded for that shape).
    value_shapes: tuple[tuple[int, ...], ...] | None = None


@dataclass
class Owner:
    """A minigrad Tensor whose data or .grad the step used, as it was when the step began."""

    tensor: Any  # the minigrad Tensor
    data: torch.Tensor
    grad: torch.Tensor | None
    requires_grad: bool
    grad_read_first: bool | None = None  # whether the step read .grad before setting it
    grad_written: bool = False  # whether the step set .grad (then a replay sets it too)
    grad_guarded: bool = True  # whether a replay needs .grad as it was (see step._record)


@dataclass
class Recording:
    """Everything a replay needs, and everything the code generator shows."""

    values: list[Value] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    inputs: list[Ref] = field(default_factory=list)
    owners: list[Owner] = field(default_factory=list)
    # (mapping, key, the entry at the start: a copy of the dict, or None): optimizer state
    states: list[tuple[Any, Any, dict[Any, Any] | None]] = field(default_factory=list)
    state_dicts: list[dict[Any, Any] | None] = field(default_factory=list)  # the entries themselves
    modules: list[tuple[Any, bool]] = field(default_factory=list)  # (module, training)
    refreshers: list[Callable[[], Any]] = field(default_factory=list)  # run before each replay
    options: list[tuple[Callable[[], Any], Any]] = field(default_factory=list)
    # The optimizers that stepped, and their count of steps when the step began.
    optimizers: list[Any] = field(default_factory=list)
    steps_taken: list[int] = field(default_factory=list)
    # The group settings that chose calls: (group, name, whether only != 0 mattered, value).
    settings: list[tuple[dict[str, Any], str, bool, Any]] = field(default_factory=list)
    # The group settings given as tensors, read as they are: {id(group): {name: the tensor}}.
    tensor_settings: dict[int, dict[str, Any]] = field(default_factory=dict)
    # the values whose memory no other value shares (see `alone_in_memory`)
    alone: set[Ref] = field(default_factory=set)


def alone_in_memory(recording: Recording) -> set[Ref]:
    """The values that share their memory with no other value of the recording (no view of
    them, nor they of anything): a copy of one of these that is its only use can be the value
    itself, since nothing else could see the difference."""
    if not any(call.name == "clone" for call in recording.calls):
        return set()  # no copy to skip: not worth reading every value's memory
    memory = [
        value.tensor.untyped_storage().data_ptr() if value.tensor is not None else 0
        for value in recording.values
    ]
    holders = Counter(memory)
    return {Ref(i) for i, pointer in enumerate(memory) if pointer != 0 and holders[pointer] == 1}


class Recorder(TorchFunctionMode, events.Listener):
    """Records the torch calls made inside `with Recorder(...)` (see the module's docstring).

    It is two things at once: a torch function mode, which torch hands every call; and a
    listener to minigrad's events (`autograd.events`), which say what each call is for."""

    def __init__(
        self,
        inputs: list[torch.Tensor] = (),
        names: list[str] | None = None,
        known: dict[int, str] | None = None,
    ) -> None:
        super().__init__()
        self._known = known or {}  # names for Tensors without one: the user's (id -> "w")
        self.recording = Recording()
        self._ids: dict[int, Ref] = {}
        self._owners: dict[int, Owner] = {}
        self._states: dict[tuple[int, int], int] = {}
        self._modules: set[int] = set()
        self._made_by: dict[int, torch.Tensor] = {}  # a node's output, by id(node)
        self._suggested: dict[int, tuple[torch.Tensor, str]] = {}  # names for outside tensors
        self.region = Region("user", "your code")
        self._outer: list[Region] = []  # the regions to go back to, innermost last
        self._paused = 0
        self._ops: list[bool] = []  # for each op running now: whether it is differentiated
        self._updating: tuple[Any, Any] | None = None  # (optimizer, the parameter it updates)
        for i, tensor in enumerate(inputs):
            name = names[i] if names else f"input_{i}"
            ref = self._add(tensor, "input", name)
            self.recording.inputs.append(ref)

    # ---- as a TorchFunctionMode ----------------------------------------------------------------

    def __enter__(self) -> Recorder:
        global active
        if active is not None:
            raise CompileError("a step is already being recorded: compiled steps do not nest")
        super().__enter__()
        events.add(self)
        active = self
        return self

    def __exit__(self, *exc: Any) -> None:
        global active
        active = None
        events.remove(self)
        super().__exit__(*exc)

    def __torch_function__(
        self, func: Callable[..., Any], types: Any, args: tuple = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        kind = _KINDS.get(func)
        if kind is None:
            kind = _KINDS[func] = _kind(func)
        name, role = kind
        if role == "metadata" or self._paused:
            return func(*args, **kwargs)
        if role == "reads numbers":
            raise CompileError(
                f"the step reads a tensor's numbers into Python ({name}, e.g. loss.item(), "
                "float(x), if x > 0: ..., print(x)). A compiled step replays torch calls, not the "
                "Python that looked at their results, so it could not follow. Return the tensor "
                "from the step and read it outside: loss = step(x, y); print(loss.item())."
            )
        out = func(*args, **kwargs)
        if not _is_tensor_result(out):
            raise CompileError(
                f"the step calls {name}, which gives Python a {type(out).__name__} computed from "
                "tensor values; a replay could not follow what Python does with it. Keep the "
                "step to tensor operations, and read numbers outside it."
            )
        self._write(func, name, args, kwargs, out)
        return out

    # ---- writing calls down ----------------------------------------------------------------------

    def _add(
        self, tensor: torch.Tensor, kind: str, name: str | None = None, call: Any = None
    ) -> Ref:
        if name is None and id(tensor) in self._suggested:
            suggested, suggested_name = self._suggested[id(tensor)]
            name = suggested_name if suggested is tensor else None
        ref = Ref(len(self.recording.values))
        self.recording.values.append(Value(tensor, kind, name, call))
        self._ids[id(tensor)] = ref
        return ref

    def ref(self, tensor: torch.Tensor) -> Ref:
        """The Ref of a tensor seen before, or a new outside value."""
        known = self._ids.get(id(tensor))
        return known if known is not None else self._add(tensor, "outside")

    def is_internal(self, tensor: torch.Tensor) -> bool:
        known = self._ids.get(id(tensor))
        return known is not None and self.recording.values[known.index].kind == "internal"

    def _refs(self, value: Any, reads: list[Ref]) -> Any:
        """`value` with every tensor in it replaced by its Ref (each added to `reads`)."""
        if isinstance(value, torch.Tensor):
            ref = self.ref(value)
            reads.append(ref)
            return ref
        if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
            return type(value)([self._refs(v, reads) for v in value])
        return value

    def _write(
        self, func: Callable[..., Any], name: str, args: tuple, kwargs: dict, out: Any
    ) -> None:
        reads: list[Ref] = []
        arg_refs = self._refs(args, reads)
        kwarg_refs = {k: self._refs(v, reads) for k, v in kwargs.items()}
        index = len(self.recording.calls)
        in_place = (
            name.endswith("_")
            and not name.startswith("__")
            or name == "__setitem__"
            or "out" in kwargs
        )

        def output(tensor: torch.Tensor) -> Ref:
            known = self._ids.get(id(tensor))
            if known is not None and known in reads:  # an in-place op returns what it changed
                return known
            return self._add(tensor, "internal", call=index)

        if out is None:
            out_refs = None
        elif isinstance(out, torch.Tensor):
            out_refs = output(out)
        else:
            out_refs = tuple(None if t is None else output(t) for t in out)
        random = name in RANDOM or "generator" in kwargs
        value_shapes = None
        if _shape_from_values(name, args, kwargs) and out_refs is not None:
            results = (out,) if isinstance(out, torch.Tensor) else tuple(out)
            value_shapes = tuple(tuple(t.shape) for t in results)
        self.recording.calls.append(
            Call(
                func,
                name,
                arg_refs,
                kwarg_refs,
                out_refs,
                self.region,
                in_place,
                random,
                tuple(reads),
                value_shapes,
            )
        )

    # ---- what minigrad's code tells the recorder (its events) ------------------------------

    def enter(self, region: Region) -> None:
        """Calls from now on belong to `region`, until `leave()`."""
        self._outer.append(self.region)
        self.region = region

    def leave(self) -> None:
        """Back to the region before the last `enter`."""
        self.region = self._outer.pop()

    def op_begin(self, function: Any, args: tuple[Any, ...]) -> None:
        """An op's forward starts: note the minigrad Tensors it was given. An op that runs
        inside another's forward or backward (a Function of yours computes with minigrad's
        ops; create_graph records a backward's) is part of that one's stretch of code."""
        if self.region.kind != "user":
            self._ops.append(False)
            self.enter(self.region)
            return
        for arg in args:
            if isinstance(arg, Tensor):
                self.owner(arg)
        if not _differentiated(args):  # p -= lr * p.grad under no_grad: your code, no rule
            self._ops.append(False)
            self.enter(self.region)
            return
        self._ops.append(True)
        self.enter(Region("forward", function.__name__, function.rule()))

    def op_end(self, function: Any, ctx: Any, outputs: Any) -> None:
        """An op's forward is done: its output is called after the op (linear, relu, ...)."""
        self.leave()
        if not self._ops.pop():
            return  # (inside another op: that op names what it made; not differentiated: yours)
        name = function.__name__.lower()
        for tensor in outputs if isinstance(outputs, (tuple, list)) else (outputs,):
            data = getattr(tensor, "_data", tensor)
            if isinstance(data, torch.Tensor):
                self.name(data, name)
                self._made_by.setdefault(id(ctx), data)  # its backward's title names it

    def backward_begin(self, roots: list[tuple[Any, Any]]) -> None:
        """loss.backward(): the pass starts from dloss/dloss = 1."""
        title = self.backward_title
        self.enter(Region("backward", title, refs=(self.ref(roots[0][0]._data),)))

    # How the code introduces the backward pass ({0}: the root's name); explain says it its way.
    backward_title = "{0}.backward(): the backward pass starts, d{0}/d{0} = 1"

    def backward_end(self) -> None:
        self.leave()

    def node_begin(self, node: Any, grads: list[Any]) -> None:
        """An op's backward starts: the gradients it receives are d_<its output>. (Under
        create_graph the gradients are minigrad Tensors: the recording knows their torch
        tensors.) A leaf's step is where its gradient is complete: d_<leaf>."""
        if node._grad_hooks or (not isinstance(node, Tensor) and node._post_hooks):
            raise CompileError(
                "the step's backward runs a hook of yours (register_hook): it runs Python on "
                "each backward, and a replay runs only the torch calls it recorded, so it would "
                "skip it. Remove it (handle.remove()) before compiling the step, or call the "
                "step uncompiled while it watches."
            )
        if not isinstance(node, Tensor) and node._unpack is not None:
            raise CompileError(
                "the step saves tensors for backward through saved_tensors_hooks (or "
                "save_on_cpu): their pack and unpack run Python on each step, and a replay runs "
                "only the torch calls it recorded. Compile the step outside the hooks' block."
            )
        grads = [unwrap(grad) for grad in grads]
        if not isinstance(node, Tensor):
            self._enter_backward(node, grads)
            return
        self.name(grads[0], gradient_name(self.name_of(node._data) or "leaf"), node._data)
        self.enter(self.region)  # (a leaf's step runs no op of its own)

    def accumulate_begin(self, tensor: Any, grad: Any) -> None:
        """A gradient lands in a .grad (a copy of it, the first time)."""
        grad = unwrap(grad)
        self.grad_used(tensor, write=False)
        self.name(grad, gradient_name(self.name_of(tensor._data) or "leaf"), tensor._data)
        sign = "=" if tensor._grad is None else "+="
        refs = (self.ref(tensor._data), self.ref(grad))
        self.enter(Region("accumulate", f"{{0}}.grad {sign} {{1}}", refs=refs))

    def accumulate_end(self, tensor: Any) -> None:
        """The .grad it landed in is <tensor>_grad."""
        self.leave()
        name = self.name_of(tensor._data) or "leaf"
        self.name(tensor._grad._data, identifier(name) + "_grad", tensor._data, "{}_grad")

    def _enter_backward(self, ctx: Any, grads: list[Any]) -> None:
        out = ctx.output()
        out_data = out._data if out is not None else self._made_by.get(id(ctx))
        name = (self.name_of(out_data) if out_data is not None else None) or ctx.op_name.lower()
        refs: list[Ref] = []
        parts = [self._describe(out_data, refs)] + [self._describe(a, refs) for a in ctx.inputs]
        title = f"{parts[0]} = {ctx.op_name}({', '.join(parts[1:])})"
        self.enter(Region("backward", title, ctx.function.rule(), tuple(refs)))
        for grad in grads:
            if grad is not None:
                self.rename(grad, gradient_name(name), out_data)

    def node_end(
        self, node: Any, grads: list[Any], input_grads: list[Any], totals: list[Any]
    ) -> None:
        """Each input's gradient so far (the sum of what its users sent it) is d_<input>."""
        self.leave()
        if isinstance(node, Tensor):
            return
        for tensor, total in zip(node.inputs, totals):
            name = self.name_of(tensor._data) if total is not None else None
            if name is not None:
                self.name(unwrap(total), gradient_name(name), tensor._data)

    def _describe(self, arg: Any, refs: list[Ref]) -> str:
        """A placeholder for a tensor's name in a title (the code decides names), or a short
        literal."""
        data = arg if isinstance(arg, torch.Tensor) else getattr(arg, "_data", None)
        if isinstance(data, torch.Tensor):
            refs.append(self.ref(data))
            return f"{{{len(refs) - 1}}}"
        text = literal(arg)
        return "?" if arg is None else text if text is not None and len(text) < 20 else "..."

    def rename(self, tensor: torch.Tensor, name: str, of: torch.Tensor | None = None) -> None:
        """Call `tensor` `name` from here on. A gradient passed on unchanged (Add's backward
        gives its input the gradient it got) is the same tensor under a new name: the code
        says so with a line `d_a = d_out`, and later lines use the new name."""
        known = self._ids.get(id(tensor))
        if known is None:
            self._derive(self._add(tensor, "outside", name), of, "d_{}")
            return
        value = self.recording.values[known.index]
        if value.name == name:
            return
        if value.name is None and value.kind == "internal":
            value.name = name
            self._derive(known, of, "d_{}")
            return
        index = len(self.recording.calls)
        alias = self._add(tensor, "internal", name, call=index)
        self._derive(alias, of, "d_{}")
        self.recording.calls.append(
            Call(_same, "=", (known,), {}, alias, self.region, False, False, (known,))
        )

    def grad_used(self, tensor: Any, write: bool) -> None:
        """The step reads or sets a Tensor's .grad: what comes first decides whether a replay
        depends on the .grad the Tensor had before the step (zero_grad() first: it does not)."""
        self.owner(tensor)
        owner = self._owners.get(id(tensor))
        if owner is not None and owner.grad_read_first is None:
            owner.grad_read_first = not write
        if owner is not None and write:
            owner.grad_written = True

    def name_of(self, tensor: torch.Tensor) -> str | None:
        known = self._ids.get(id(tensor))
        return self.recording.values[known.index].name if known is not None else None

    def name(
        self,
        tensor: torch.Tensor,
        name: str,
        of: torch.Tensor | None = None,
        template: str = "d_{}",
    ) -> None:
        """A name for the code: the value this tensor holds (if it was made in the step). With
        `of`, the name is made from that tensor's (`template`: d_{} for its gradient), and the
        code makes it from the name it gives that tensor (d_param_2 for param_2's gradient)."""
        known = self._ids.get(id(tensor))
        if known is not None:
            value = self.recording.values[known.index]
            if value.kind == "internal" and value.name is None:
                value.name = name
                self._derive(known, of, template)

    def _derive(self, ref: Ref, of: torch.Tensor | None, template: str) -> None:
        """Value `ref`'s name is `template` filled with the name the code gives `of`."""
        source = self._ids.get(id(of)) if of is not None else None
        if source is not None and source != ref:
            self.recording.values[ref.index].derived = (template, source)

    def owner(self, tensor: Any) -> None:
        """A minigrad Tensor the step uses: remember its data and .grad as they are now (first
        sight comes before the step changes them), so that a replay can check they are still
        the same, and can leave behind what the step changed."""
        if id(tensor) in self._owners or self.is_internal(tensor._data):
            return
        if id(tensor._data) in self._ids and self._value(tensor._data).kind == "input":
            return  # the step's own argument: new in every call
        grad = tensor._grad._data if tensor._grad is not None else None
        owner = Owner(tensor, tensor._data, grad, tensor._requires_grad)
        self._owners[id(tensor)] = owner
        self.recording.owners.append(owner)
        name = tensor.name or self._known.get(id(tensor))
        name = name or ("param" if tensor._requires_grad else "data")
        self.name_outside(tensor._data, name)
        if grad is not None:
            self.name_outside(grad, identifier(name) + "_grad", tensor._data, "{}_grad")

    def _value(self, tensor: torch.Tensor) -> Value:
        return self.recording.values[self._ids[id(tensor)].index]

    def name_outside(
        self,
        data: torch.Tensor,
        name: str | None,
        of: torch.Tensor | None = None,
        template: str = "{}",
    ) -> None:
        """A name for a tensor from outside the step (a parameter's data, a graph's tensor);
        with `of`, made from that tensor's name (see `name`)."""
        ref = self.ref(data)
        value = self.recording.values[ref.index]
        if name and value.name is None:
            value.name = name
            self._derive(ref, of, template)

    def suggest_name(self, tensor: torch.Tensor, name: str) -> None:
        """A name for a tensor from outside the step, should a call use it (an optimizer's lr)."""
        if id(tensor) in self._ids:
            self.name_outside(tensor, name)
        else:
            self._suggested[id(tensor)] = (tensor, name)

    def update_begin(self, optimizer: Any, param: Any) -> None:
        """An optimizer's update of one parameter starts: note the parameter and its state (a
        replay assumes the same entries, and leaves behind those the step adds)."""
        self.owner(param)
        if not any(optimizer is known for known in self.recording.optimizers):
            self.recording.optimizers.append(optimizer)
            self.recording.steps_taken.append(optimizer._steps_taken)
        self._updating = (optimizer, param)
        self.state(optimizer.state, param)
        self._name_state(optimizer, param)
        title = f"{type(optimizer).__name__} updates {{0}}"
        self.enter(Region("update", title, refs=(self.ref(param._data),)))

    def update_end(self, optimizer: Any, param: Any) -> None:
        self._name_state(optimizer, param)  # the state the update made (its first step)
        self._updating = None
        self.leave()

    def _group_updating(self) -> dict[str, Any] | None:
        """The parameter group of the parameter being updated now, if any."""
        if self._updating is None:
            return None
        optimizer, param = self._updating
        return next(
            (g for g in optimizer.param_groups if any(p is param for p in g["params"])), None
        )

    def _name_state(self, optimizer: Any, param: Any) -> None:
        """Name the tensors of a parameter's optimizer state after it: momentum_buffer_weight_0."""
        param_name = identifier(self.name_of(param._data) or "param")
        for key, value in optimizer.state.get(param, {}).items():
            if isinstance(value, torch.Tensor) and id(value) in self._ids:
                name = f"{key}_{param_name}"
                template = identifier(key) + "_{}"
                if self.is_internal(value):
                    self.name(value, name, param._data, template)
                else:
                    self.name_outside(value, name, param._data, template)

    def state(self, mapping: Any, key: Any) -> None:
        """An entry of a mapping of state dicts (optimizer.state[p]), as it is now."""
        if (id(mapping), id(key)) not in self._states:
            entry = mapping.get(key)
            self._states[(id(mapping), id(key))] = len(self.recording.states)
            self.recording.states.append((mapping, key, dict(entry) if entry is not None else None))
            self.recording.state_dicts.append(entry)
            for value in (entry or {}).values():
                if isinstance(value, torch.Tensor):
                    self.ref(value)

    def module_called(self, module: Any) -> None:
        """A Module the step called: a replay assumes the same train/eval mode."""
        refusal = getattr(module, "cannot_compile", None)
        if refusal:
            raise CompileError(refusal)
        if module._forward_hooks or module._forward_pre_hooks:
            raise CompileError(
                f"the step calls a {type(module).__name__} that has forward hooks "
                "(register_forward_hook or register_forward_pre_hook): they run Python on each "
                "call, and a replay runs only the torch calls it recorded, so it would skip "
                "them. Remove them (handle.remove()) before compiling the step, or call the "
                "step uncompiled while they watch it."
            )
        if module._backward_hooks or module._backward_pre_hooks:
            raise CompileError(
                f"the step calls a {type(module).__name__} that has backward hooks "
                "(register_full_backward_hook or register_full_backward_pre_hook): they run "
                "Python in each backward, and a replay runs only the torch calls it recorded, "
                "so it would skip them. Remove them (handle.remove()) before compiling the "
                "step, or call the step uncompiled while they watch it."
            )
        if id(module) not in self._modules:
            self._modules.add(id(module))
            self.recording.modules.append((module, module.training))

    def data_set(self, tensor: Any) -> None:
        """`tensor.data = ...`: note its data as it was before."""
        self.owner(tensor)

    def hyperparameter(self, optimizer: Any, name: str, value: Any) -> None:
        """An optimizer's setting as a tensor: refresh it before each replay (it holds a Python
        number that may change between steps), and call it by its name (lr, not tmp26)."""
        self.refresher(optimizer.refresh_hyperparameters)
        group = self._group_updating()
        given = group.get(name) if group is not None else None
        if isinstance(given, (Tensor, torch.Tensor)):  # a setting given as a tensor: used as is
            self.recording.tensor_settings.setdefault(id(group), {})[name] = given
            raw = given._data if isinstance(given, Tensor) else given
            if value is not raw:  # a copy in the parameter's dtype: the replay makes it anew
                kwargs = {"device": value.device, "dtype": value.dtype}
                self._write(torch.Tensor.to, "to", (raw,), kwargs, value)
        if isinstance(value, tuple):  # betas: betas_0, betas_1
            for i, tensor in enumerate(value):
                self.suggest_name(tensor, f"{name}_{i}")
        else:
            self.suggest_name(value, name)

    def refresher(self, refresh: Callable[[], Any]) -> None:
        """Something to run before each replay: it puts the Python numbers that change between
        steps into the tensors the step reads (an optimizer's lr, from its param_groups)."""
        if not any(r == refresh for r in self.recording.refreshers):
            self.recording.refreshers.append(refresh)

    def aside_begin(self) -> None:
        self._paused += 1

    def aside_end(self) -> None:
        self._paused -= 1

    def paused(self) -> _Paused:
        """`with recorder.paused():` torch calls inside are run, not recorded."""
        return _Paused(self)

    def option(self, read: Callable[[], Any], value: Any) -> None:
        """A Python value that chose which torch calls ran (nesterov or not): a replay assumes it
        is the same. An optimizer's says which group setting it is (`read.group`, `.name`)."""
        group, name = getattr(read, "group", None), getattr(read, "name", None)
        if group is not None and name is not None:
            nonzero = bool(getattr(read, "nonzero", False))
            for known, known_name, known_nonzero, _ in self.recording.settings:
                if known is group and known_name == name and known_nonzero == nonzero:
                    return
            self.recording.settings.append((group, name, nonzero, value))
            return
        self.recording.options.append((read, value))

    def settings_changed(self, owner: Any, how: str) -> None:
        """A scheduler's step, an optimizer's load_state_dict or add_param_group, inside the
        step: Python that a replay would not run again, so the settings would stay as they
        were after this first call."""
        raise CompileError(
            f"the step calls {how}, which changes the settings of an optimizer in Python (its "
            "learning rate, its groups or its state). A replay runs only the step's torch calls, "
            f"so the settings would stop changing after this first call. Call {how} outside the "
            f"compiled step, after it: loss = train_step(xb, yb); {how.split('(')[0]}(...)."
        )


class _Paused:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def __enter__(self) -> None:
        self.recorder._paused += 1

    def __exit__(self, *exc: Any) -> None:
        self.recorder._paused -= 1


class ValueShapeChanged(Exception):
    """Raised by a replay when a result whose shape depends on values (x[mask]) has another
    shape than when it was recorded: the step then runs eagerly."""


# Calls whose result's shape depends on the values of their inputs, not only on their shapes.
SHAPE_FROM_VALUES = {
    "nonzero", "argwhere", "masked_select", "unique", "unique_consecutive", "bincount",
    "repeat_interleave", "nonzero_static",
}  # fmt: skip


def _shape_from_values(name: str, args: tuple, kwargs: dict) -> bool:
    if name in SHAPE_FROM_VALUES:
        return name != "repeat_interleave" or any(
            isinstance(a, torch.Tensor) for a in (*args[1:], kwargs.get("repeats"))
        )
    if name == "where":
        return len(args) + len(kwargs) == 1  # torch.where(condition): nonzero's indices
    if name in ("__getitem__", "index") and len(args) > 1:
        return _has_mask(args[1])
    return False


def _has_mask(key: Any) -> bool:
    """A key with a boolean mask in it (x[x > 0]): how many elements it picks depends on values."""
    if isinstance(key, torch.Tensor):
        return key.dtype in (torch.bool, torch.uint8)
    if isinstance(key, (tuple, list)):
        return any(_has_mask(k) for k in key)
    return False


def _differentiated(args: tuple) -> bool:
    """Whether an op given `args` records a node: grad mode on and a Tensor that requires grad
    among them (an op that does not is the user's own computing, as an optimizer's update)."""
    if not is_grad_enabled():
        return False

    def needs(value: Any) -> bool:
        if isinstance(value, Tensor):
            return value._requires_grad
        if isinstance(value, (list, tuple)):
            return any(needs(v) for v in value)
        return False

    return needs(args)


def _same(value: Any) -> Any:
    """What a renaming does to a value: nothing."""
    return value


def _is_tensor_result(out: Any) -> bool:
    """A tensor, None, or a tuple of tensors (torch's named tuples included; None among them
    where a kernel was asked not to compute that output, as convolution_backward's mask)."""
    if out is None or isinstance(out, torch.Tensor):
        return True
    return isinstance(out, (tuple, list)) and all(
        t is None or isinstance(t, torch.Tensor) for t in out
    )


@functools.lru_cache(maxsize=4096)
def identifier(name: str) -> str:
    """A Python name for a tensor's name: "0.weight" -> "weight_0" (numbers that come first in a
    module path go last), "fc1.weight" -> "fc1_weight"."""
    parts = [p for p in re.split(r"\W+", name) if p]
    numbers = []
    while parts and parts[0][0].isdigit():
        numbers.append(parts.pop(0))
    ident = "_".join(parts + numbers) or "t"
    if ident[0].isdigit() or keyword.iskeyword(ident):
        ident = "t_" + ident
    return ident


def gradient_name(name: str) -> str:
    """d_<name>, the name of dLoss/d<name>."""
    return "d_" + identifier(name)


def literal(value: Any) -> str | None:
    """Python source for a plain value in a call (None when it has none: a namespace constant)."""
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return repr(value)
        return "math.nan" if math.isnan(value) else ("math.inf" if value > 0 else "-math.inf")
    if value is Ellipsis:
        return "..."
    if isinstance(value, (torch.dtype, torch.memory_format, torch.layout)):
        return str(value)  # torch.float64, torch.contiguous_format
    if isinstance(value, torch.device):
        return repr(str(value))
    if isinstance(value, slice):
        parts = [literal(v) for v in (value.start, value.stop, value.step)]
        return None if None in parts else f"slice({', '.join(parts)})"
    if isinstance(value, (tuple, list, torch.Size)):
        parts = [literal(v) for v in value]
        if None in parts:
            return None
        if isinstance(value, list):
            return "[" + ", ".join(parts) + "]"
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    return None
