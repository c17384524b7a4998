"""`Function`: the base class of every op, shaped like `torch.autograd.Function`.

An op is a pair of static methods side by side:

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):                 # x is a plain torch.Tensor
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad):             # grad: dLoss/dOutput, a torch.Tensor
            (x,) = ctx.saved_tensors
            return grad * 3 * x**2           # dLoss/dx, by the chain rule

    y = Cube.apply(x)                        # x, y: minigrad Tensors

`forward` and `backward` see plain torch tensors and do the maths; `apply` does the bookkeeping:
it unwraps minigrad Tensors, runs `forward`, and, if any input needs a gradient, records a
`Context` node that links the output to its inputs. `backward` returns one gradient per
argument of `forward` (None where there is none to give). A forward may return several tensors
(a tuple); its backward then receives one gradient per output: `backward(ctx, *grads)`.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.hooks import RemovableHandle

from ..errors import DeviceError, GradientError, ShapeError, broadcast_mismatch, shape_str
from ..tensor import Tensor, unwrap
from . import events, graph
from .grad_mode import is_grad_enabled, no_grad
from .grad_mode import state as grad_state

Links = tuple[tuple[Any, ...], tuple[int, ...]]  # a node's parents and parent_outputs


def node_of(tensor: Tensor) -> Any:
    """The node that made `tensor` now: its op's Context, or the tensor itself for a leaf."""
    return tensor._ctx if tensor._ctx is not None else tensor


class Context:
    """One node of the graph: which op ran, on which inputs, and what it saved for backward.

    `ctx.needs_input_grad[i]` says whether input i needs a gradient, so `backward` can skip work
    (no gradient for the data batch in `x @ w`). Ops may keep other facts on `ctx` (a shape).

    `ctx.parents[i]` is the node that made input i when the op ran (None for an argument that is
    not a Tensor), and `ctx.parent_outputs[i]` which of that node's outputs it was (0 but for
    ops with several outputs); torch calls these pairs `next_functions`. The backward pass
    follows these links, not the input tensors: a tensor changed in place afterwards (`h += 1`)
    gets a new node of its own, and the ops that used its old value still lead to the node
    that made that old value.
    """

    # Every op has these (slots: a graph has thousands of nodes, and a node without a __dict__
    # is one object fewer for Python's garbage collector to walk). An op may keep facts of its
    # own on ctx (ctx.shape = ...): those go in a __dict__, made only then.
    __slots__ = (
        "function",
        "inputs",
        "needs_input_grad",
        "parents",
        "parent_outputs",
        "output_ref",
        "_saved",
        "_saved_versions",
        "_saved_outputs",
        "released",
        "__dict__",
        "__weakref__",
    )

    # What the rarer facts start as; a node sets its own value when it has one.
    outputs: tuple[weakref.ref[Tensor] | None, ...] = ()  # (ops with several outputs)
    output_meta: tuple[tuple[Any, ...], ...] = ()  # their shapes, dtypes, devices (several)
    retains_grad = False  # set by retain_grad() on one of its outputs
    _grad_hooks: Any = None  # hooks on its outputs' gradients (Tensor.register_hook, prehooks)
    _post_hooks: Any = None  # hooks on what its backward gives (grad_fn.register_hook)
    created_at: Any = None  # the user's line that made it, in anomaly mode
    materialize_grads = True  # zeros, not None, for an output nobody used (set_materialize_grads)
    _non_differentiable: tuple[Any, ...] = ()  # outputs marked so by forward
    input_meta: tuple[Any, ...] = ()  # (shape, dtype) per input, once released
    _unpack: Any = None  # saved_tensors_hooks' unpack, once what it saved was packed
    _saved_sources: tuple[Any, ...] = ()  # where each packed value came from (see pack_saved)
    renamed = ""  # torch's name for the node where the call that made it decides it (x.t_())

    def __init__(
        self,
        function: type[Function],
        inputs: tuple[Any, ...],
        needs: tuple[bool, ...],
        links: Links = ((), ()),
    ):
        self.function = function
        self.inputs = inputs  # () when the op is not in the graph (nothing needs a gradient)
        self.needs_input_grad = needs
        self.parents, self.parent_outputs = links  # (see _read_inputs)
        self.output_ref: weakref.ref[Tensor] | None = None  # weak: it does not keep it alive
        self._saved: tuple[Any, ...] = ()
        self._saved_versions: tuple[int | None, ...] = ()  # None for a value not a tensor
        self._saved_outputs: dict[int, int] | None = None  # saved value i is output k
        self.released = False  # by backward, once it has used the node (see release())

    def save_for_backward(self, *values: Any) -> None:
        """Keep what backward will need (tensors, or None and numbers as placeholders), and each
        tensor's version, so that a later in-place change to it is caught instead of giving a
        silently wrong gradient."""
        if not self.inputs:  # not in the graph: no backward will ask
            return
        if not self.function.on_torch_tensors:  # a Function of yours saves minigrad Tensors
            values = tuple([unwrap(v) for v in values])
        self._saved = values
        versions = []  # (a plain loop: a list comprehension costs a call per op here)
        for v in values:
            versions.append(v._version if isinstance(v, torch.Tensor) else None)
        self._saved_versions = tuple(versions)  # (a tuple of numbers: the collector drops it)

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """What forward saved. During `backward(create_graph=True)` (grad mode is on then), as
        minigrad Tensors in the graph: an input through the link taken when the op ran, an
        output through this node, so that the backward formula is recorded as it runs."""
        if self.released:
            raise self._freed()
        if self._unpack is not None:  # kept by saved_tensors_hooks (no version check, as torch)
            return self._unpacked()
        for t, version in zip(self._saved, self._saved_versions):
            if version is not None and t._version != version:
                i = next(i for i, saved in enumerate(self._saved) if saved is t)
                raise GradientError(
                    f"tensor {i} saved by {self.function.__name__} for backward (shape "
                    f"{tuple(t.shape)}) was modified in place after it was saved (its version "
                    f"went from {version} to {t._version}), so its gradient would be wrong. "
                    "Don't change it in place before backward(): use an out-of-place op "
                    "(x = x + 1, not x += 1), or .clone() it first."
                )
        if grad_state.enabled:  # backward(create_graph=True): the formula will be recorded
            return tuple([self._in_graph(i, value) for i, value in enumerate(self._saved)])
        if not self.function.on_torch_tensors:
            return tuple([Tensor(v) if isinstance(v, torch.Tensor) else v for v in self._saved])
        return self._saved

    def pack_saved(self, outputs: Any) -> None:
        """saved_tensors_hooks: each tensor this node saved goes to the innermost block's `pack`
        as the Tensor it is (an input, an output; a value of the op's own as a Tensor of its
        own), and what pack returns is kept instead, for `unpack` in backward (see
        autograd/graph.py). The ops pack runs save nothing through the hooks, as in torch."""
        pack, unpack = graph.hooks.stack[-1]
        held, graph.hooks.stack = graph.hooks.stack, []
        try:
            self._pack(outputs, pack, unpack)
        finally:
            graph.hooks.stack = held

    def _pack(self, outputs: Any, pack: Callable[..., Any], unpack: Callable[..., Any]) -> None:
        made = outputs if type(outputs) is tuple else (outputs,)
        packed, sources = [], []
        for index, value in enumerate(self._saved):
            source = self._source_of(index, value) if isinstance(value, torch.Tensor) else None
            if source is None:
                packed.append(value)  # (None, a number: kept as it is)
            elif source[0] == "output":
                packed.append(pack(made[source[1]]))
            elif source[0] == "input":
                packed.append(pack(self.inputs[source[1]]))
            else:
                packed.append(pack(Tensor(value)))
            sources.append(source)
        self._saved, self._saved_sources, self._unpack = tuple(packed), tuple(sources), unpack

    def _source_of(self, index: int, value: torch.Tensor) -> tuple[str, int]:
        """Where saved value `index` comes from: ("output", k), ("input", i) for input i's
        data, ("constant", i) for argument i given as a torch tensor (no gradient flows to
        it), or ("own", index) for a value the op computed."""
        if self._saved_outputs is not None and index in self._saved_outputs:
            return "output", self._saved_outputs[index]
        for i, arg in enumerate(self.inputs):
            if arg is value:
                return "constant", i
            if isinstance(arg, Tensor) and arg._data is value:
                return "input", i
        return "own", index

    def _unpacked(self) -> tuple[Any, ...]:
        """The saved values from what saved_tensors_hooks' pack kept: unpack's results (as the
        graph's Tensors during create_graph, through where each came from)."""
        values = []
        for packed, source in zip(self._saved, self._saved_sources):
            if source is None:
                values.append(packed)
                continue
            value = unwrap(self._unpack(packed))
            if not is_grad_enabled():
                values.append(value if self.function.on_torch_tensors else Tensor(value))
            elif source[0] == "output":
                values.append(Tensor._from_op(value, self, source[1]))
            elif source[0] == "input":
                parent, which = self.parents[source[1]], self.parent_outputs[source[1]]
                values.append(parent if type(parent) is not Context
                              else Tensor._from_op(value, parent, which))  # fmt: skip
            elif source[0] == "constant":
                values.append(Tensor(value))
            else:
                values.append(self._own_value(source[1], value))
        return tuple(values)

    def _in_graph(self, index: int, value: Any) -> Any:
        """Saved value `index` as a Tensor of the graph (see saved_tensors)."""
        if not isinstance(value, torch.Tensor):
            return value  # a number, None
        if self._saved_outputs is not None and index in self._saved_outputs:
            return Tensor._from_op(value, self, self._saved_outputs[index])
        links = zip(self.inputs, self.parents, self.parent_outputs)
        for i, (arg, parent, which) in enumerate(links):
            if arg is value:  # a torch tensor given as an argument: nothing flows to it
                return Tensor(value)
            if isinstance(arg, Tensor) and arg._data is value:
                self._check_unambiguous(i, value)
                if type(parent) is not Context:
                    return parent  # a leaf: the tensor itself
                return Tensor._from_op(value, parent, which)
        return self._own_value(index, value)

    def _own_value(self, index: int, value: torch.Tensor) -> Tensor:
        """A saved value that is neither an input nor the output, as a constant of the graph:
        refused if floating-point, since the second derivative would miss how it depends on
        the inputs."""
        if not value.is_floating_point():
            return Tensor(value)  # indices, masks: nothing could flow through them
        raise GradientError(
            f"{self.op_name} saved a value for backward (tensor {index}, shape "
            f"{shape_str(value.shape)}) that is neither one of its inputs nor its output. Under "
            "create_graph=True it would enter the gradient's graph as a constant, and the "
            f"second derivative would miss how it depends on the inputs. {self.op_name}.backward "
            "must recompute it from the saved inputs when it gets minigrad Tensors (or save "
            "only inputs and outputs)."
        )

    def _check_unambiguous(self, index: int, value: torch.Tensor) -> None:
        """Input `index` holds saved `value`: refuse if another input holds the same torch tensor
        but not the same gradient path (`x * x.data`: one requires grad, one does not), since
        which of the two the op saved cannot be told, and the second derivative depends on it."""
        for j, arg in enumerate(self.inputs):
            if j != index and isinstance(arg, Tensor) and arg._data is value:
                if arg._requires_grad != self.inputs[index]._requires_grad:
                    raise GradientError(
                        f"{self.op_name}'s inputs {index} and {j} are one torch tensor (shape "
                        f"{shape_str(value.shape)}), but only one of them requires grad (one "
                        "was taken out of the graph with .data, or wrapped again with "
                        "Tensor(...)). backward(create_graph=True) cannot tell which of them "
                        f"{self.op_name} saved. Take it out of the graph with x.detach(), which "
                        "gives a tensor of its own."
                    )

    def note_saved_outputs(self, outputs: Any) -> None:
        """Which saved values are this op's own outputs (create_graph hands them back through
        this node). Called once forward has run: by apply, for an op with several outputs that
        saved something, or one whose one output is among what it saved."""
        several = type(outputs) is tuple or type(outputs) is list
        made = [unwrap(out) for out in outputs] if several else [unwrap(outputs)]
        found = {}
        for i, value in enumerate(self._saved):
            for k, out in enumerate(made):
                if value is out:
                    found[i] = k
        self._saved_outputs = found or None

    def mark_non_differentiable(self, *outputs: Any) -> None:
        """These outputs of forward get no gradient (an argmax's indices, a mask), as torch's."""
        self._non_differentiable = tuple(unwrap(out) for out in outputs)

    def marked(self, output: torch.Tensor) -> bool:
        """Whether forward marked this output non-differentiable."""
        return any(output is marked for marked in self._non_differentiable)

    def set_materialize_grads(self, value: bool) -> None:
        """False: backward gets None, not zeros, for an output that no gradient reached."""
        self.materialize_grads = value

    def release(self) -> None:
        """Free what backward needed, as torch does once a graph has been used: the saved
        tensors and the inputs (so their memory can go), keeping the links to the nodes before.
        A second backward through this node then works if its op saved nothing (Add, Sum): for
        those, each input's shape and dtype are kept. Otherwise it raises, as in torch."""
        if not self._saved:
            self.input_meta = tuple(
                [(a._data.shape, a._data.dtype) if needs else None
                 for a, needs in zip(self.inputs, self.needs_input_grad)]
            )  # fmt: skip
        self._saved = ()
        self.inputs = ()
        self.released = True

    def _freed(self) -> GradientError:
        return GradientError(
            f"{self.function.__name__}'s saved tensors were freed by an earlier backward(). "
            "Trying to backward through the graph a second time: pass retain_graph=True to the "
            "first backward() to keep the graph, or recompute the forward pass."
        )

    def input_shape_dtype(self, index: int) -> tuple[torch.Size, torch.dtype]:
        """Input `index`'s shape and dtype (what its gradient must have)."""
        if self.released:
            if not self.input_meta:  # it saved tensors: a second backward cannot run here
                raise self._freed()
            return self.input_meta[index]
        data = self.inputs[index]._data
        return data.shape, data.dtype

    @property
    def op_name(self) -> str:
        """The op's own name ("Mul"): what explain, the trace and the errors say."""
        return self.function.__name__

    def name(self) -> str:
        """torch's name for this node, as torch's method grad_fn.name() gives it: MulBackward0
        (with torch's namespace for the nodes torch writes by hand, as its name() does)."""
        name = self.node_name
        return f"torch::autograd::{name}" if name in ("CopySlices", "CopyBackwards") else name

    @property
    def metadata(self) -> dict[Any, Any]:
        """A dict of your own for this node, as torch's Node.metadata: empty until you fill it
        (a hook may keep what it saw there)."""
        if "_metadata" not in self.__dict__:
            self.__dict__["_metadata"] = {}
        return self.__dict__["_metadata"]

    def register_prehook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Call `hook(grad_outputs)` each time backward reaches this node, before the op's
        backward runs, as torch's Node.register_prehook: grad_outputs is a tuple, one gradient
        per output of the op (None for one nobody used). It may return a new tuple, which the
        op's backward gets instead. It runs after the outputs' own hooks (Tensor.register_hook),
        as in torch. Returns a handle: `handle.remove()` unregisters it."""
        if self._grad_hooks is None:
            self._grad_hooks = OrderedDict()  # (shared with the tensor hooks: None, all outputs)
        handle = RemovableHandle(self._grad_hooks)
        self._grad_hooks[handle.id] = (None, hook)
        return handle

    def register_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Call `hook(grad_inputs, grad_outputs)` each time this node's backward has run, as
        torch's Node.register_hook: grad_inputs has the gradient it gave each input (None where
        it gave none), grad_outputs those it was given. It may return a new grad_inputs tuple,
        which flows on to the inputs instead. Returns a handle, as register_prehook."""
        if self._post_hooks is None:
            self._post_hooks = OrderedDict()
        handle = RemovableHandle(self._post_hooks)
        self._post_hooks[handle.id] = hook
        return handle

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """(node, output index) per input, torch's name for the links to the nodes before, shown
        as torch shows them: a leaf that requires grad as its AccumulateGrad, and None for an
        input that needs no gradient (a number, a tensor outside the graph); in torch's order,
        where its graph has them in another (see Function.shown_links)."""
        links = zip(self.parents, self.parent_outputs, self.needs_input_grad)
        return self.function.shown_links(self, tuple(
            [(parent if type(parent) is Context else AccumulateGrad(parent) if needs else None, k)
             for parent, k, needs in links]
        ))  # fmt: skip

    def output(self, index: int = 0) -> Tensor | None:
        """The tensor this node made (None once nothing else holds it)."""
        ref = self.output_ref if index == 0 and not self.outputs else None
        if self.outputs and index < len(self.outputs):
            ref = self.outputs[index]
        return ref() if ref is not None else None

    def set_output(self, index: int, tensor: Tensor | None) -> None:
        """`tensor` is now output `index` of this node (in-place ops move an output); None: the
        output has moved to another node, and this one no longer gives it a gradient."""
        ref = weakref.ref(tensor) if tensor is not None else _no_output
        if not self.outputs:
            self.output_ref = ref
        else:
            refs = list(self.outputs)
            refs[index] = ref
            self.outputs = tuple(refs)

    @property
    def node_name(self) -> str:
        """What torch calls this node (`type(grad_fn).__name__` there): SigmoidBackward0."""
        return self.renamed or self.function.node_name(self)

    def __repr__(self) -> str:
        return f"<{self.node_name} object at {id(self):#x}>"  # (as torch prints a node)


class AccumulateGrad:
    """A leaf as torch's `next_functions` shows it: the node that adds the leaf's gradient into
    its `.grad`; `.variable` is the leaf. minigrad's graph links to the leaf itself (`parents`):
    this is only how it is shown, so that code that walks torch's graph walks minigrad's."""

    __slots__ = ("variable",)
    next_functions = ()  # (a leaf: nothing before it)

    def __init__(self, variable: Tensor):
        self.variable = variable

    def __eq__(self, other: object) -> bool:  # (one per look: the same leaf's are equal)
        return type(other) is AccumulateGrad and other.variable is self.variable

    def __hash__(self) -> int:
        return id(self.variable)

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"  # (torch's)

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


class ShownTranspose:
    """The transpose that torch's addmm puts between nn.Linear's weight and its node
    (TBackward0). minigrad's Linear links to the weight itself; this is only how it is shown in
    next_functions, so that code that walks torch's graph prints what it prints there."""

    __slots__ = ("weight",)

    def __init__(self, weight: tuple[Any, int]):
        self.weight = weight  # (the weight's AccumulateGrad or node, output index)

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        return (self.weight,)

    def __eq__(self, other: object) -> bool:  # (one per look: the same weight's are equal)
        return type(other) is ShownTranspose and other.weight == self.weight

    def __hash__(self) -> int:
        return hash(self.weight)

    def name(self) -> str:
        return "TBackward0"

    def __repr__(self) -> str:
        return f"<TBackward0 object at {id(self):#x}>"


def _no_output() -> None:
    """An output slot whose tensor has moved to another node: as a dead weak reference."""
    return None


class Function:
    """Base class of ops. Subclass it, write `forward` and `backward`, call `apply`.

    As torch's: `forward` gets the minigrad Tensors it was called with (grad mode off inside),
    `backward` gets and returns minigrad Tensors, so a backward written with minigrad's ops can
    itself be differentiated (`create_graph=True`). minigrad's own ops are `Op`s instead.
    """

    on_torch_tensors = False  # forward and backward see minigrad Tensors

    @staticmethod
    def forward(ctx: Context, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("an op must define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx: Context, *grads: torch.Tensor) -> Any:
        raise NotImplementedError("an op must define backward(ctx, grad)")

    # ---- the op in words: what the trace, explain, anomaly mode and step.code print ----------

    @classmethod
    @functools.cache  # read from the docstring once per op (a recorded step asks for every op)
    def rule(cls) -> str:
        """The op's forward rule and local gradient, in one line, from its docstring: the first
        line, followed by the next paragraph when the first line does not state the gradient."""
        paragraphs = (inspect.getdoc(cls) or cls.__name__).split("\n\n")
        first_lines = paragraphs[0].splitlines()
        rule = first_lines[0].strip()
        if not re.search(r"[.:;)]$", rule):  # the first line stops mid-sentence: finish it
            rest = " ".join(" ".join(first_lines[1:]).split())
            end = re.search(r"[.:;](\s|$)", rest)
            rule = f"{rule} {rest[: end.start() + 1] if end else rest}".strip()
        if not re.search(r"/d|grad", rule) and len(paragraphs) > 1:
            rule += " " + " ".join(paragraphs[1].split())
        return rule

    @classmethod
    def input_labels(cls, count: int) -> list[str]:
        """What each input is called in `forward` (a, b; condition, a, b; x, n), from its
        signature, so a new op needs no entry anywhere; ops taking any number of tensors (cat,
        stack) get 0, 1, 2, ..."""
        names = _forward_argument_names(cls)
        return [names[i] if i < len(names) else str(i) for i in range(count)]

    torch_name = ""  # torch's name for this op's node, where it is not the op's own + Backward0

    @staticmethod
    def node_name(ctx: Context) -> str:
        """What torch calls the node of this op, so that a printed `grad_fn=<...>` reads as in
        torch: `torch_name`, else the op's name and "Backward0" (a Function of yours: "Backward",
        as torch names a custom Function's node). Where torch's name depends on the call (a sum
        over dims is torch's SumBackward1), the op says which from what its ctx keeps."""
        if ctx.function.torch_name:
            return ctx.function.torch_name
        return f"{ctx.op_name}Backward{0 if ctx.function.on_torch_tensors else ''}"

    @staticmethod
    def shown_links(ctx: Context, links: tuple[tuple[Any, int], ...]) -> tuple[Any, ...]:
        """next_functions for this op's node as torch shows them, from minigrad's links (one
        per input): the same, but for an op whose node torch links otherwise (Linear's)."""
        return links

    @staticmethod
    def shown_gradients(ctx: Context, grads: tuple[Any, ...], back: bool = False) -> tuple:
        """The gradients of the op's inputs as torch's node has them, for its hooks
        (grad_fn.register_hook), in next_functions' order; back=True turns what a hook returned
        into minigrad's order again. The same, but for Linear's."""
        return grads

    @staticmethod
    def explain_failure(*inputs: Any, **options: Any) -> str | Exception | None:
        """Say in words why forward failed on these inputs and options (the keyword arguments of
        `apply`, such as a shape or a dim): a str for a shape problem (raised as ShapeError), or
        the exception to raise; None lets torch's error stand."""
        return None

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run forward on the torch tensors inside `args`; record a node if a gradient is needed.

        Tensor arguments may be mixed with Python numbers and other values (a dim, a shape).
        Returns a Tensor, or a tuple of Tensors when forward returns several.
        """
        grad_enabled = grad_state.enabled  # (is_grad_enabled(), without a call: every op is here)
        raw, needs, links = _read_inputs(args, grad_enabled)
        record = grad_enabled and True in needs
        ctx = Context(cls, args, needs, links) if record else Context(cls, (), needs)
        listener = events.current
        if listener is not None:
            listener.op_begin(cls, args)
        try:  # the maths: on the torch tensors (a Function of yours: on its Tensors, unrecorded)
            if cls.on_torch_tensors:
                out = cls.forward(ctx, *raw, **kwargs)
            else:
                with no_grad():
                    out = cls.forward(ctx, *args, **kwargs)
        except (RuntimeError, IndexError) as error:
            problem = _why_forward_failed(cls, args, kwargs)
            if problem is None:
                raise  # torch's own error says it best
            raise problem from error
        if type(out) is tuple or type(out) is list:
            if ctx._saved:
                ctx.note_saved_outputs(out)
            outputs = _wrap_outputs(ctx, record, out, args, kwargs, grad_enabled)
        else:
            if isinstance(out, Tensor):  # (a Function of yours may return a Tensor)
                out = out._data
            if ctx._saved and id(out) in map(id, ctx._saved):  # (by identity: `in` compares values)
                ctx.note_saved_outputs(out)  # it saved its own output
            outputs = _wrap_output(ctx, record, out, args, raw, kwargs, grad_enabled)
        if ctx._saved and graph.hooks.stack:  # (saved_tensors_hooks: packed from now on)
            ctx.pack_saved(outputs)
        if listener is not None:
            listener.op_end(cls, ctx, outputs)
        return outputs


@functools.cache
def _forward_argument_names(function: type[Function]) -> tuple[str, ...]:
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = []
    for param in list(inspect.signature(function.forward).parameters.values())[1:]:  # less ctx
        if param.kind not in positional:
            break  # *tensors: the rest are numbered
        names.append(param.name)
    return tuple(names)


def _read_inputs(
    args: tuple[Any, ...], grad_enabled: bool
) -> tuple[list[Any], tuple[bool, ...], Links]:
    """The torch tensor inside each Tensor argument (other arguments as they are), whether each
    argument needs a gradient, and the links the op's node will keep: the node that made each
    argument now (None for one that is not a Tensor), and which of that node's outputs it is."""
    raw, needs, parents = [], [], []
    several_outputs = False  # (whether an argument is not output 0 of its node: rare)
    for a in args:
        if isinstance(a, Tensor):
            if grad_enabled and a._view is not None:
                inplace.refresh_view(a)  # its base was changed in place since: catch up
            raw.append(a._data)
            needs.append(a._requires_grad)
            parents.append(a._ctx if a._ctx is not None else a)
            several_outputs = several_outputs or a._output_nr != 0
        else:
            raw.append(a)
            needs.append(False)
            parents.append(None)
    if several_outputs or len(args) >= len(_ZEROS):
        outputs = tuple([a._output_nr if isinstance(a, Tensor) else 0 for a in args])
    else:
        outputs = _ZEROS[len(args)]
    return raw, tuple(needs), (tuple(parents), outputs)


_ZEROS = tuple((0,) * n for n in range(8))  # the usual parent_outputs, shared


def _why_forward_failed(
    cls: type[Function], args: tuple[Any, ...], kwargs: dict
) -> Exception | None:
    """Where torch refused an op's forward: an error that names the shapes, devices and the
    rule (torch's message names none of them), or None to let torch's stand."""
    device_problem = _devices_mismatch(cls, args)
    if device_problem:
        return DeviceError(device_problem)
    problem = cls.explain_failure(*args, **kwargs)
    if isinstance(problem, Exception):
        problem.args = (f"{cls.__name__}: {problem}",)
        return problem
    if problem:
        return ShapeError(f"{cls.__name__}: {problem}")
    return None


def _wrap_output(
    ctx: Context,
    record: bool,
    out: Any,
    args: tuple[Any, ...],
    raw: list[Any],
    options: dict[str, Any],
    grad_enabled: bool,
) -> Tensor:
    """The Tensor for a forward's one output, linked to the node when there is one.

    A view op (reshape, transpose, x[1:3], ...) returns a tensor that shares memory with its
    input: minigrad remembers how it was made, so that an in-place change through it updates the
    history of the tensor it views (see `autograd.inplace`)."""
    record = record and not (ctx._non_differentiable and ctx.marked(out))
    result = Tensor._from_op(out, ctx if record else None)
    if record:
        ctx.output_ref = weakref.ref(result)
    if raw and (out._base is not None or out is raw[0]):
        viewed = _viewed_input(ctx.function, out, args, raw)
        if viewed is not None:
            inplace.track_view(result, viewed, ctx.function, options, grad_enabled)
    return result


def _viewed_input(
    function: type[Function], out: torch.Tensor, args: tuple[Any, ...], raw: list[Any]
) -> tuple[Any, ...] | None:
    """The arguments with the one `out` is a view of first (None when out views none): an op
    of minigrad's views its first input; a Function of yours may view any of them."""
    candidates = range(len(args)) if not function.on_torch_tensors else range(min(1, len(args)))
    for i in candidates:
        if isinstance(args[i], Tensor) and inplace.shares_memory(out, raw[i]):
            return (args[i], *args[:i], *args[i + 1 :])
    return None


def _wrap_outputs(
    ctx: Context,
    record: bool,
    outputs: Any,
    args: tuple[Any, ...],
    options: dict[str, Any],
    grad_enabled: bool,
) -> tuple[Tensor, ...]:
    """Tensors for the outputs of a forward that returned several (split's pieces, say). Only
    floating-point ones take part in backward; the node keeps each output's shape, to pass zeros
    for an unused one. Outputs that view the first input are tracked as views, as in apply."""
    results = []
    raw = [a._data if isinstance(a, Tensor) else a for a in args]
    for i, value in enumerate(outputs):
        value = value._data if isinstance(value, Tensor) else value
        differentiable = record and value.is_floating_point() and not ctx.marked(value)
        result = Tensor._from_op(value, ctx if differentiable else None, i)
        viewed = _viewed_input(ctx.function, value, args, raw) if args else None
        if viewed is not None:
            inplace.track_view(result, viewed, ctx.function, options, grad_enabled, output=i)
        results.append(result)
    if record:
        ctx.outputs = tuple(weakref.ref(t) for t in results)
        ctx.output_meta = tuple((t.shape, t.dtype, t.device) for t in results)
    return tuple(results)


def once_differentiable(backward: Any) -> Any:
    """For a Function's `backward` that cannot itself be differentiated (it computes with
    torch directly, say), as torch's decorator: it runs with grad off, and under
    create_graph=True its gradients come back through a node that refuses a second backward."""

    @functools.wraps(backward)
    def wrapper(ctx: Context, *grads: Any) -> Any:
        with no_grad():
            results = backward(ctx, *grads)
        if not is_grad_enabled() or not any(
            isinstance(g, Tensor) and g.requires_grad for g in grads
        ):
            return results
        many = isinstance(results, (tuple, list))
        refused = [
            None if r is None else _Refuse.apply(r, _anchor(grads), function=ctx.op_name)
            for r in (results if many else (results,))
        ]
        return tuple(refused) if many else refused[0]

    return wrapper


def _anchor(grads: tuple[Any, ...]) -> Any:
    """One incoming gradient that requires grad: it links a refusing node into the graph."""
    return next(g for g in grads if isinstance(g, Tensor) and g.requires_grad)


class Op(Function):
    """minigrad's own ops: `forward` and `backward` work on the torch tensors inside the
    Tensors, which costs nothing per call. Under `create_graph=True` the same `backward` gets
    minigrad Tensors (gradients, and saved_tensors in the graph) and its formula is recorded:
    so it is written with operators and methods that both kinds of tensor have.

    A few ops compute their first-order backward with one of torch's derivative kernels, where
    it was measured to be much faster than their formula (ReLU: `threshold_backward`); their
    formula is still the backward under create_graph and while `formulas_only()` is on."""

    on_torch_tensors = True
    kernels = True  # False under formulas_only(): every backward computes its formula

    @staticmethod
    def kernel_allowed(grad: Any) -> bool:
        """Whether backward may call torch's kernel for its formula: only on the first-order
        path (grad a torch tensor: a kernel cannot be recorded to differentiate it again), and
        not under formulas_only()."""
        return Op.kernels and type(grad) is torch.Tensor


@contextlib.contextmanager
def formulas_only() -> Iterator[None]:
    """Every op's backward computes its readable formula, none a torch kernel for it: what
    `explain` shows, and what the tests prove each kernel equal to."""
    before, Op.kernels = Op.kernels, False
    try:
        yield
    finally:
        Op.kernels = before


class _Refuse(Op):
    """out = value (a gradient from a backward marked @once_differentiable).   Its backward
    refuses: that backward cannot be differentiated again."""

    @staticmethod
    def forward(ctx: Context, value: Any, anchor: Any, function: str = "") -> Any:
        ctx.function_name = function
        return unwrap(value).clone()

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        raise GradientError(
            f"trying to differentiate twice the backward of {ctx.function_name}, which is "
            "marked @once_differentiable: it computes its gradient outside the graph. Write "
            "its backward with minigrad's ops (and drop the decorator) to differentiate it."
        )


class BroadcastingFunction(Op):
    """An elementwise op on two operands that broadcast (add, mul, where...)."""

    @staticmethod
    def explain_failure(*inputs: Any, **options: Any) -> str | None:
        shapes = [tuple(a.shape) for a in inputs if isinstance(a, Tensor)]
        for i in range(len(shapes)):
            for j in range(i + 1, len(shapes)):
                problem = broadcast_mismatch(shapes[i], shapes[j])
                if problem:
                    return problem
        return None


def _devices_mismatch(function: type[Function], args: tuple[Any, ...]) -> str | None:
    """Name both devices when an op got tensors from two (0-d tensors may mix, as in torch)."""
    placed = [(a.device, tuple(a.shape)) for a in args if isinstance(a, Tensor) and a.ndim > 0]
    for device, shape in placed[1:]:
        first_device, first_shape = placed[0]
        if device != first_device:
            return (
                f"{function.__name__} got tensors on different devices: {first_shape} on "
                f"{first_device} and {shape} on {device}. An op's tensors must share a device: "
                f"move one with .to({str(first_device)!r}) or .to({str(device)!r})."
            )
    return None


from . import inplace  # noqa: E402  (inplace applies ops, which are Functions)
