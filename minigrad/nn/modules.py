"""Layers as objects that hold their parameters: `Module`, `Parameter`, `Linear`, `Sequential`...

A `Module` is a function with state. Its parameters are the `Parameter`s found in its
attributes, in the order they were set, then inside its submodules (attributes that are Modules,
or lists of Modules), so that an optimizer can be handed `model.parameters()`:

    model = Sequential(Linear(28 * 28, 30), ReLU(), Linear(30, 1))
    [name for name, _ in model.named_parameters()]  # ['0.weight', '0.bias', '2.weight', ...]

Each parameter's `name` is set to that qualified name, so graph pictures can label it.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import Any, NamedTuple

import torch
from torch.utils.hooks import RemovableHandle

from .. import ops
from ..autograd import events
from ..creation import DeviceLike, _device
from ..errors import shape_str
from ..tensor import Tensor, check_memory_format
from . import functional as F
from .backward_hooks import BOTH_KINDS_OF_BACKWARD_HOOKS, ModuleBackwardHooks, hook_output_node


class Parameter(Tensor):
    """A leaf Tensor that a Module trains: it requires grad, and `Module.parameters()` finds it.

    (Only Parameters are found, as in torch: a plain tensor attribute with requires_grad=True is
    not a parameter of the module, and an optimizer given `parameters()` would not update it.)
    """

    __slots__ = ()

    def __init__(
        self, data: Tensor | torch.Tensor, requires_grad: bool = True, name: str | None = None
    ) -> None:
        super().__init__(data, requires_grad=requires_grad, name=name)

    def __repr__(self) -> str:
        return f"Parameter containing:\n{super().__repr__()}"


class Buffer(Tensor):
    """State that a Module keeps but does not train, named by assignment: `self.mean =
    nn.Buffer(torch.zeros(3))` is `self.register_buffer("mean", torch.zeros(3))`, as torch's
    (persistent=False: left out of the state_dict). It shares data's values."""

    __slots__ = ("persistent",)

    def __init__(self, data: Tensor | torch.Tensor | None = None, *, persistent: bool = True):
        data = torch.empty(0) if data is None else data
        super().__init__(data, requires_grad=data.requires_grad)
        self.persistent = persistent


class UninitializedError(RuntimeError, ValueError):
    """A lazy module's parameter used before the module has seen an input (torch raises a
    RuntimeError for its shape and a ValueError for its values: this error is both)."""


_SLOT = Tensor._data  # the slot where a Tensor keeps its torch tensor (read past the property)


class _Uninitialized:
    """What UninitializedParameter and UninitializedBuffer share: a placeholder with a dtype, a
    device and requires_grad, but no shape and no values until `materialize(shape)` makes it
    the ordinary class (`cls_to_become`), in place: whoever holds it (an optimizer built from
    `model.parameters()` early) then holds the real one."""

    __slots__ = ()
    cls_to_become: type[Tensor] = Tensor

    @property
    def _data(self) -> torch.Tensor:  # every read of the values lands here, and is refused
        name = f" {self.name!r}" if self.name else ""
        raise UninitializedError(
            f"the {type(self).__name__}{name} has no shape and no values yet: a lazy module "
            "(nn.LazyLinear, ...) makes its parameters from the first input it sees. Call the "
            "model once on a batch (a dry run: net(X)) before reading or using its parameters "
            "(minigrad.compile and DistributedDataParallel need it done first too)."
        )

    @_data.setter
    def _data(self, data: torch.Tensor) -> None:
        _SLOT.__set__(self, data)

    @property
    def _placeholder(self) -> torch.Tensor:
        """The empty torch tensor that carries the dtype and device the values will have."""
        return _SLOT.__get__(self)

    @_placeholder.setter
    def _placeholder(self, data: torch.Tensor) -> None:
        _SLOT.__set__(self, data)

    @property
    def dtype(self) -> torch.dtype:
        return self._placeholder.dtype

    @property
    def device(self) -> torch.device:
        return self._placeholder.device

    def requires_grad_(self, requires_grad: bool = True) -> Any:
        self._requires_grad = requires_grad
        return self

    def materialize(
        self, shape: tuple[int, ...], device: Any = None, dtype: torch.dtype | None = None
    ) -> None:
        """Become `cls_to_become` with uninitialised memory of `shape` (the layer then draws
        its values): on the placeholder's device and dtype unless told otherwise."""
        place = self._placeholder
        self._placeholder = torch.empty(
            shape, device=place.device if device is None else device,
            dtype=place.dtype if dtype is None else dtype,
        )  # fmt: skip
        self.__class__ = self.cls_to_become

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __getstate__(self) -> Any:
        """For copy.deepcopy and pickle: the slots as they are (Python's default would read
        `_data`, and be refused)."""
        slots = {}
        for name in Tensor.__slots__:
            if name != "__weakref__" and hasattr(Tensor, name):
                try:
                    slots[name] = getattr(Tensor, name).__get__(self)
                except AttributeError:  # a slot never set
                    pass
        return None, slots


class UninitializedParameter(_Uninitialized, Parameter):
    """A Parameter whose shape is not known yet (a lazy layer's, before its first input):
    `parameters()` yields it, an optimizer can hold it, and it becomes a Parameter in place."""

    __slots__ = ()
    cls_to_become = Parameter

    def __init__(
        self,
        requires_grad: bool = True,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(torch.empty(0, device=_device(device), dtype=dtype), requires_grad)


class UninitializedBuffer(_Uninitialized, Tensor):
    """A buffer whose shape is not known yet (LazyBatchNorm's running statistics)."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(
        self,
        requires_grad: bool = False,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(torch.empty(0, device=_device(device), dtype=dtype))
        self._requires_grad = requires_grad


def is_lazy(value: Any) -> bool:
    """An UninitializedParameter or UninitializedBuffer (torch.nn.parameter.is_lazy)."""
    return isinstance(value, _Uninitialized)


class Module:
    """Base class of layers and models: subclass it, set parameters and layers in `__init__`,
    write `forward`. Calling the module calls `forward` (and the hooks around it)."""

    training: bool = True  # a class default, so a subclass that skips super().__init__() works
    # Hooks around forward, by handle id: none until one is registered (class defaults too).
    _forward_pre_hooks: OrderedDict[int, Callable[..., Any]] | None = None
    _forward_hooks: OrderedDict[int, Callable[..., Any]] | None = None
    _backward_pre_hooks: OrderedDict[int, Callable[..., Any]] | None = None
    _backward_hooks: OrderedDict[int, Callable[..., Any]] | None = None
    _older_backward_hooks: OrderedDict[int, Callable[..., Any]] | None = None

    def __init__(self) -> None:
        self.training = True

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward(self, ...)")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if events.current is not None:  # (minigrad.compile: a replay assumes this train/eval mode)
            events.current.module_called(self)
        if self._forward_pre_hooks:
            for hook in tuple(self._forward_pre_hooks.values()):
                changed = hook(self, args)
                if changed is not None:  # the hook replaced the arguments
                    args = changed if isinstance(changed, tuple) else (changed,)
        backward_hooks = None
        if self._backward_hooks or self._backward_pre_hooks:  # (see nn/backward_hooks.py)
            backward_hooks = ModuleBackwardHooks(
                self, list((self._backward_pre_hooks or {}).values()),
                list((self._backward_hooks or {}).values()),
            )  # fmt: skip
            args = backward_hooks.wrap_inputs(args)
        output = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for hook in tuple(self._forward_hooks.values()):
                changed = hook(self, args, output)
                if changed is not None:  # the hook replaced the output
                    output = changed
        if backward_hooks is not None:
            output = backward_hooks.wrap_output(output)
        if self._older_backward_hooks:  # (register_backward_hook: on the output's node)
            hook_output_node(self, args, output, list(self._older_backward_hooks.values()))
        return output

    def register_forward_pre_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False
    ) -> RemovableHandle:
        """Call `hook(module, args)` before each forward, as torch's: it may return new
        arguments (a tuple, or one value). Returns a handle: `handle.remove()` unregisters it,
        as does leaving `with handle:`."""
        if self._forward_pre_hooks is None:
            self._forward_pre_hooks = OrderedDict()
        return _register(self._forward_pre_hooks, hook, prepend)

    def register_forward_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False
    ) -> RemovableHandle:
        """Call `hook(module, args, output)` after each forward, as torch's: how fastai's
        `Hooks` look at each layer's activations (their mean and std, say) while a model
        trains. It may return a new output. Hooks run in the order registered (first with
        prepend=True); returns a handle, as register_forward_pre_hook."""
        if self._forward_hooks is None:
            self._forward_hooks = OrderedDict()
        return _register(self._forward_hooks, hook, prepend)

    def register_full_backward_pre_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False
    ) -> RemovableHandle:
        """Call `hook(module, grad_output)` in backward, once the gradients of this module's
        outputs are known, as torch's: grad_output is a tuple, one entry per output (None for
        one that no gradient reached). It may return a new tuple, which flows on instead.
        The hooks of a call are those the module had when called; returns a handle, as
        register_forward_pre_hook."""
        if self._backward_pre_hooks is None:
            self._backward_pre_hooks = OrderedDict()
        return _register(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False
    ) -> RemovableHandle:
        """Call `hook(module, grad_input, grad_output)` in backward, once the gradients of this
        module's inputs are known, as torch's: grad_input has one entry per positional argument
        (None for one that is not a tensor; zeros for a tensor that does not require grad while
        another does), grad_output one per output. It may return a new grad_input tuple,
        which flows on to the inputs instead. A module none of whose inputs requires grad (the
        first layer, on data) has its hooks called with grad_input all None, as soon as
        grad_output is known. Hooks run after the pre-hooks, in the order registered (first
        with prepend=True); returns a handle, as register_forward_pre_hook."""
        if self._older_backward_hooks:
            raise RuntimeError(BOTH_KINDS_OF_BACKWARD_HOOKS)
        if self._backward_hooks is None:
            self._backward_hooks = OrderedDict()
        return _register(self._backward_hooks, hook, prepend)

    def register_backward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """torch's older backward hook, which register_full_backward_hook replaces: `hook(module,
        grad_input, grad_output)` is called with the gradients of the inputs of the *last op*
        of forward (the node that made the output: see hook_output_node), which are the
        module's own only when its forward is that one op (a ReLU). torch warns where they are
        not, and so does minigrad. Older gradient-visualisation code uses it."""
        if self._backward_hooks or self._backward_pre_hooks:
            raise RuntimeError(BOTH_KINDS_OF_BACKWARD_HOOKS)
        if self._older_backward_hooks is None:
            self._older_backward_hooks = OrderedDict()
        return _register(self._older_backward_hooks, hook, False)

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Buffer) and name not in self._buffer_flags():
            self.register_buffer(name, value, value.persistent)  # (which sets it)
            return
        super().__setattr__(name, value)
        _label_parameters(name, value)

    def add_module(self, name: str, module: Module | None) -> None:
        """Hold `module` under a name made at run time, as `setattr(self, name, module)` does:
        a model built in a loop (`model.add_module(f"block{i}", block)`), as torch's."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(
                f"add_module: the name must be a non-empty str without a '.', got {name!r} "
                "(a dot would read as a path to a submodule in the state_dict's keys)."
            )
        if module is not None and not isinstance(module, Module):
            raise TypeError(
                f"add_module({name!r}, ...) takes a Module, not a {type(module).__name__}"
            )
        setattr(self, name, module)

    register_module = add_module  # torch's other name for it

    # ---- what the module holds ------------------------------------------------------------

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Direct submodules, in attribute order; a list of modules `layers` gives layers.0, ...
        A module held twice is given once, as in torch."""
        seen: set[int] = set()
        for name, module in self._submodules():
            if id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def _submodules(self) -> Iterator[tuple[str, Module]]:
        """Every (name, submodule) attribute, in order, a module held twice included."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def children(self) -> Iterator[Module]:
        return (module for _, module in self.named_children())

    def modules(self) -> Iterator[Module]:
        """This module and every module inside it, depth first (a shared one once)."""
        return (module for _, module in self.named_modules())

    def get_submodule(self, target: str) -> Module:
        """The module at a dotted path of names, as named_modules gives them: 'body.0.conv'
        ('' is this module itself)."""
        module = self
        for name in target.split(".") if target else ():
            children = dict(module.named_children())
            if name not in children:
                raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
            module = children[name]
        return module

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Put `module` at a dotted path: 'body.0' (a model's layer swapped for another, as
        torch's). A name not there yet is added, unless strict=True."""
        if not target:
            raise ValueError("set_submodule needs a target: the dotted path of the module to set.")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{type(parent).__name__} has no attribute `{name}`")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at a dotted path: 'body.0.weight'."""
        return self._held_at(target, "parameter", Module.named_parameters)

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at a dotted path: 'bn.running_mean'."""
        return self._held_at(target, "buffer", Module.named_buffers)

    def _held_at(self, target: str, kind: str, named: Callable[..., Any]) -> Any:
        """The tensor of `kind` at a dotted path, of the module the path before its last name
        leads to (`named`: named_parameters or named_buffers)."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        found = dict(named(module, recurse=False))
        if name not in found:
            raise AttributeError(f"{type(module).__name__} has no {kind} `{name}`")
        return found[name]

    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """(qualified name, module) for this module (named '') and every module inside it,
        depth first: ('', model), ('body', ...), ('body.0', ...). A module reached twice (a
        layer used twice) is given once, unless remove_duplicate=False."""
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._submodules():
            child_prefix = f"{prefix}.{name}" if prefix else name
            yield from child.named_modules(memo, child_prefix, remove_duplicate)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call fn on every submodule, then on this module (`model.apply(init_weights)`, with
        init_weights checking isinstance(m, nn.Linear)). Returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(qualified name, parameter) pairs: own parameters first, then each submodule's
        (recurse=False: own ones only). Names start with `prefix.` when a prefix is given. A
        parameter shared by two layers is given once, unless remove_duplicate=False."""
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
        for module_prefix, module in modules if recurse else [(prefix, self)]:
            for name, p in module._own_parameters(f"{module_prefix}." if module_prefix else ""):
                if not remove_duplicate or id(p) not in seen:
                    seen.add(id(p))
                    yield name, p

    def _own_parameters(self, prefix: str) -> Iterator[tuple[str, Parameter]]:
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Parameter):
                        yield f"{prefix}{name}.{i}", item

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        return (p for _, p in self.named_parameters(recurse=recurse))

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Turn gradients on or off for every parameter: model.requires_grad_(False) freezes
        a model (a pretrained body, say). Returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # ---- buffers: state that is saved and moved with the module, but not trained -----------

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Keep `tensor` as `self.<name>`: state that is not a parameter (BatchNorm's running
        mean), so the optimizer leaves it alone, but `state_dict()` saves it (unless
        persistent=False) and `.to()` moves it. Assigning `self.<name> = t` later replaces it."""
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(
                f"register_buffer: a buffer's name is a non-empty str without '.', got {name!r}"
            )
        if isinstance(tensor, torch.Tensor):
            tensor = Tensor(tensor)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: buffer {name!r} must be a Tensor or None, got "
                f"{type(tensor).__name__}"
            )
        if name in vars(self) and name not in self._buffer_flags():
            raise KeyError(f"register_buffer: attribute {name!r} already exists")
        if "_buffers" not in vars(self):  # a subclass may skip Module.__init__
            self._buffers: dict[str, bool] = {}
        self._buffers[name] = persistent
        setattr(self, name, tensor)

    def _buffer_flags(self) -> dict[str, bool]:
        """{buffer name: persistent?} for this module's own buffers."""
        return vars(self).get("_buffers", {})

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """(qualified name, buffer) pairs: own buffers first, then each submodule's (if
        recurse). Buffers set to None are left out, as in torch."""
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
        for module_prefix, module in modules if recurse else [(prefix, self)]:
            dot = f"{module_prefix}." if module_prefix else ""
            for name in module._buffer_flags():
                value = getattr(module, name)
                if value is not None and (not remove_duplicate or id(value) not in seen):
                    seen.add(id(value))
                    yield dot + name, value

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        return (b for _, b in self.named_buffers(recurse=recurse))

    # ---- moving between devices and dtypes ---------------------------------------------------

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Move every parameter (and its gradient) and buffer to a device and/or floating dtype,
        in place, as torch's Module.to: `model.to('cuda')`, `model.to(torch.float64)`.
        Integer buffers (BatchNorm's num_batches_tracked) change device only.
        `memory_format=torch.channels_last` lays out the 4-d ones (convolution weights) channels
        last, as torch's (channels_last_3d the 5-d ones). Returns self."""
        device, dtype = _device_and_dtype(args, kwargs)
        layout = kwargs.get("memory_format")

        def move(t: torch.Tensor) -> torch.Tensor:
            dtype_of_t = dtype if t.is_floating_point() else None
            if layout is not None and t.dim() in (4, 5):  # (torch's rule: the others stay)
                check_memory_format(t.shape, layout, "Module.to")
                return t.to(device=device, dtype=dtype_of_t, memory_format=layout)
            return t.to(device=device, dtype=dtype_of_t)

        for t in [*self.parameters(), *self.buffers()]:
            if is_lazy(t):  # no values yet: the dtype and device they will be made with
                t._placeholder = move(t._placeholder)
                continue
            t._data = move(t._data)
            if t._grad is not None:  # (the slot: a buffer may be a non-leaf, whose .grad warns)
                t._grad._data = move(t._grad._data)
        return self

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self, device: int | str | None = None) -> Module:
        return self.to(f"cuda:{device}" if isinstance(device, int) else device or "cuda")

    def float(self) -> Module:
        return self.to(torch.float32)

    def double(self) -> Module:
        return self.to(torch.float64)

    def half(self) -> Module:
        return self.to(torch.float16)

    def bfloat16(self) -> Module:
        return self.to(torch.bfloat16)

    def share_memory(self) -> Module:
        """Move every parameter and buffer into shared memory, so that worker processes
        (torch.multiprocessing, Hogwild! training) change the same numbers. Returns self."""
        for t in [*self.parameters(), *self.buffers()]:
            t._data.share_memory_()
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad._data.zero_()

    # ---- modes ------------------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Training mode (the default), for this module and all inside it. Returns self."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode: `train(False)`."""
        return self.train(False)

    # ---- saving and loading -------------------------------------------------------------------

    def state_dict(
        self, *args: Any, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Any]:
        """{qualified name: values} for every parameter, as torch's: the values are this
        module's own torch tensors, detached, on its device; no copy. `torch.save` writes them;
        to keep a snapshot while training goes on, copy it: copy.deepcopy(model.state_dict()).
        keep_vars=True gives the Parameters themselves."""
        destination = OrderedDict() if destination is None else destination
        for name, tensor in self._named_state():
            keep = keep_vars or is_lazy(tensor)  # a placeholder is saved as itself, as torch
            destination[prefix + name] = tensor if keep else tensor._data.detach()
        return destination

    def _named_state(self) -> Iterator[tuple[str, Tensor]]:
        """What state_dict saves, by qualified name: module by module (a layer used twice under
        each of its names, as torch), its parameters, then its persistent buffers."""
        for module_prefix, module in self.named_modules(remove_duplicate=False):
            dot = f"{module_prefix}." if module_prefix else ""
            yield from module._own_parameters(dot)
            for name, persistent in module._buffer_flags().items():
                value = getattr(module, name)
                if persistent and value is not None:
                    yield dot + name, value

    def load_state_dict(
        self, state_dict: dict[str, Any], strict: bool = True, assign: bool = False
    ) -> IncompatibleKeys:
        """Copy values saved by `state_dict()` (minigrad's or a torch model's) into this module's
        parameters, onto their device and dtype. With strict=True (the default) the names must
        match exactly; with strict=False those that match are loaded, and the others returned.
        Shapes must always match. Nothing is loaded unless everything can be (torch loads what
        it can before it raises). assign=True takes the given tensors instead of copying."""
        own = dict(self._named_state())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        errors = []
        if strict and unexpected:
            errors.append(f"Unexpected key(s) in state_dict: {_quoted(unexpected)}.")
        if strict and missing:
            errors.append(f"Missing key(s) in state_dict: {_quoted(missing)}.")
        given = {name: state_dict[name] for name in own if name in state_dict}
        for name, value in given.items():
            if is_lazy(value) and not is_lazy(own[name]):
                errors.append(
                    f"{name} in the state_dict is a lazy module's placeholder (no values yet), "
                    "and this model's is not: run the saved model once on a batch before saving."
                )
        values = {n: _torch_values(v) for n, v in given.items() if not is_lazy(v)}
        for name, value in values.items():
            if not is_lazy(own[name]) and value.shape != own[name].shape:
                errors.append(
                    f"size mismatch for {name}: copying a param with shape "
                    f"{shape_str(value.shape)} from checkpoint, the shape in current model is "
                    f"{shape_str(own[name].shape)}."
                )
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
                + "\nWas the state saved from a model built the same way? (strict=False loads "
                "the names that match; nothing was loaded.)"
            )
        for name, value in values.items():
            if is_lazy(own[name]):  # a lazy layer's placeholder takes the saved shape (as torch)
                own[name].materialize(value.shape)
            if assign:
                own[name]._data = value.detach()
            else:
                own[name]._data.copy_(value)
        return IncompatibleKeys(missing, unexpected)

    # ---- printing -----------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The arguments shown in this module's repr, e.g. 'in_features=784, out_features=30'."""
        return ""

    def __repr__(self) -> str:
        children = [f"  ({name}): {_indent(repr(m))}" for name, m in self.named_children()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n" + "\n".join(children) + "\n)"


class IncompatibleKeys(NamedTuple):
    """What load_state_dict(strict=False) did not match, as torch's."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        missing, unexpected = self.missing_keys, self.unexpected_keys
        return f"IncompatibleKeys(missing_keys={missing}, unexpected_keys={unexpected})"


def _quoted(names: list[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _torch_values(value: Any) -> torch.Tensor:
    return value._data if isinstance(value, Tensor) else torch.as_tensor(value)


def _device_and_dtype(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """What Module.to(...) was asked for: (device or None, dtype or None)."""
    device, dtype = kwargs.get("device"), kwargs.get("dtype")
    for arg in args:
        if isinstance(arg, torch.dtype):
            dtype = arg
        elif isinstance(arg, (str, torch.device)):
            device = arg
        elif isinstance(arg, (Tensor, torch.Tensor)):
            device, dtype = arg.device, arg.dtype
        else:
            raise TypeError(
                f"Module.to takes a device ('cpu', 'cuda'), a dtype or a tensor, got "
                f"{type(arg).__name__}"
            )
    return (_device(device) if device is not None else None), dtype


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")


def _label_parameters(name: str, value: Any) -> None:
    """Name the parameters just attached under `name`: 'weight', or '0.weight' for a layer's."""
    if isinstance(value, Parameter):
        value.name = name
    elif isinstance(value, Module):
        for qualified, p in value.named_parameters(prefix=name):
            p.name = qualified
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _label_parameters(f"{name}.{i}", item)


# ---- layers -----------------------------------------------------------------------------------


def _weight_bound(fan_in: int) -> float:
    """The bound of torch's default weight init for Linear and convolutions,
    kaiming_uniform_(a=sqrt(5)): 1/sqrt(fan_in), worked out in torch's steps (sqrt(3) times
    gain / sqrt(fan_in)), whose rounding can differ from 1/sqrt(fan_in) in the last bit: so a
    float64 layer draws torch's values exactly too."""
    if fan_in == 0:
        return 0.0
    gain = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))  # leaky_relu's, slope sqrt(5)
    return math.sqrt(3.0) * (gain / math.sqrt(fan_in))


def _uniform(
    shape: tuple[int, ...], bound: float, dtype: torch.dtype | None, device: DeviceLike
) -> Parameter:
    """Values uniform in [-bound, bound], drawn on the CPU (so a seed gives the same numbers as
    torch's nn.Linear, on any device), then moved."""
    data = torch.empty(shape, dtype=dtype).uniform_(-bound, bound)
    return Parameter(data.to(_device(device)))


def _empty(shape: tuple[int, ...], dtype: torch.dtype | None, device: DeviceLike) -> Parameter:
    """A Parameter of that shape whose values reset_parameters then draws."""
    return Parameter(torch.empty(shape, dtype=dtype, device=_device(device)))


def _redraw_uniform(p: Tensor, bound: float) -> None:
    """Fill p in place with values uniform in [-bound, bound], drawn on the CPU in p's dtype (a
    seed gives torch's numbers on any device)."""
    p._data.copy_(torch.empty(p.shape, dtype=p.dtype).uniform_(-bound, bound))


class Linear(Module):
    """y = x @ weight.T + bias, with weight of shape (out_features, in_features), as torch.

    Initialised as torch does: weight and bias uniform in ±1/sqrt(in_features) (that is what
    torch's kaiming_uniform_(a=sqrt(5)) works out to), so outputs start at a moderate scale.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = _empty((out_features, in_features), dtype, device)
        self.bias = _empty((out_features,), dtype, device) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw weight, then bias, afresh, as torch's reset_parameters (same order, same
        bounds, so the same seed gives the same values)."""
        fan_in = self.weight.shape[1]
        _redraw_uniform(self.weight, _weight_bound(fan_in))
        if self.bias is not None:
            _redraw_uniform(self.bias, 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0)

    def forward(self, x: Tensor) -> Tensor:
        return ops.Linear.apply(x, self.weight, self.bias)  # x @ weight.T + bias, fused

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Bilinear(Module):
    """y = x1^T weight_o x2 + bias_o for each output o, weight of shape (out_features,
    in1_features, in2_features): F.bilinear. Initialised as torch does: weight and bias
    uniform in +-1/sqrt(in1_features), weight drawn first."""

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        bound = 1 / math.sqrt(in1_features) if in1_features > 0 else 0.0
        shape = (out_features, in1_features, in2_features)
        self.weight = _uniform(shape, bound, dtype, device)
        self.bias = _uniform((out_features,), bound, dtype, device) if bias else None

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )


class ReLU(Module):
    """max(x, 0), elementwise; with inplace=True written into x, which is returned (as torch)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        return x.relu_() if self.inplace else x.relu()

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Identity(Module):
    """Returns its input: a placeholder layer (e.g. to drop a model's head). Arguments are
    accepted and ignored, as torch's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input


class Sigmoid(Module):
    """1 / (1 + e^-x), elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sigmoid()


class Flatten(Module):
    """Flatten dims start_dim..end_dim into one; by default, all but the batch dim."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Dim `dim` split into dims of `unflattened_size` (Flatten undone): Unflatten(1, (1, 28, 28))
    turns a batch of 784-pixel rows back into images."""

    def __init__(self, dim: int, unflattened_size: tuple[int, ...]) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        return x.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Unfold(Module):
    """Every kernel_size window of (N, C, H, W) as a column of (N, C*kh*kw, L): F.unfold."""

    def __init__(
        self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
    ) -> None:
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
            f"padding={self.padding}, stride={self.stride}"
        )


class Fold(Module):
    """The columns of (N, C*kh*kw, L) added back onto their windows of an (N, C, *output_size)
    image, Unfold undone but for the sum where windows overlap: F.fold."""

    def __init__(
        self,
        output_size: Any,
        kernel_size: Any,
        dilation: Any = 1,
        padding: Any = 0,
        stride: Any = 1,
    ) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(
            input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride
        )

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
            f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
        )


class Sequential(Module):
    """Layers applied one after the other: Sequential(Linear(784, 30), ReLU(), Linear(30, 1)).
    The layers are attributes named "0", "1", ..., as in torch; model[0] is the first."""

    def __init__(self, *layers: Module) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            setattr(self, str(i), _checked("Sequential takes Modules; argument", i, layer))

    def _layers(self) -> list[Module]:
        return [module for _, module in self._submodules()]  # a layer used twice runs twice

    def __getitem__(self, index: int | slice) -> Any:
        layers = self._layers()
        return Sequential(*layers[index]) if isinstance(index, slice) else layers[index]

    def __len__(self) -> int:
        return len(self._layers())

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers())

    def forward(self, x: Any) -> Any:
        for layer in self._layers():
            x = layer(x)
        return x


class ModuleList(Module):
    """A list of layers whose parameters belong to the model that holds it (torch's ModuleList):
    `self.blocks = nn.ModuleList(Linear(8, 8) for _ in range(3))` gives blocks.0.weight, ...
    Unlike Sequential it has no forward: the model's own forward says how the layers are used.
    The layers are attributes named "0", "1", ..., renumbered when one is inserted or removed."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _layers(self) -> list[Module]:
        return [module for _, module in self._submodules()]

    def _renumber(self, layers: list[Module]) -> None:
        for name, _ in list(self._submodules()):
            delattr(self, name)
        for i, layer in enumerate(layers):
            setattr(self, str(i), _checked(_LIST_ITEM, i, layer))

    def append(self, module: Module) -> ModuleList:
        i = len(self)
        setattr(self, str(i), _checked(_LIST_ITEM, i, module))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        layers = self._layers()
        layers.insert(index, module)
        self._renumber(layers)

    def __getitem__(self, index: int | slice) -> Any:
        layers = self._layers()
        return ModuleList(layers[index]) if isinstance(index, slice) else layers[index]

    def __setitem__(self, index: int, module: Module) -> None:
        layers = self._layers()
        layers[index] = module  # (raises IndexError as a list does)
        self._renumber(layers)

    def __delitem__(self, index: int | slice) -> None:
        layers = self._layers()
        del layers[index]
        self._renumber(layers)

    def __len__(self) -> int:
        return len(self._layers())

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers())

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __repr__(self) -> str:
        """As torch's: a run of layers that print the same shows once, "(0-2): 3 x Linear(...)"."""
        reprs = [repr(layer) for layer in self._layers()]
        if not reprs:
            return f"{type(self).__name__}()"
        runs: list[list[Any]] = []  # [first index, last index, repr]
        for i, text in enumerate(reprs):
            if runs and runs[-1][2] == text:
                runs[-1][1] = i
            else:
                runs.append([i, i, text])
        lines = [
            f"  ({first}): {_indent(text)}"
            if first == last
            else f"  ({first}-{last}): {last - first + 1} x {_indent(text)}"
            for first, last, text in runs
        ]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


_LIST_ITEM = "ModuleList holds Modules; item"


class ModuleDict(Module):
    """Layers by name, whose parameters belong to the model that holds it (torch's ModuleDict):
    `self.heads = nn.ModuleDict({"cls": Linear(8, 3), "box": Linear(8, 4)})` gives
    heads.cls.weight, ... A dict in insertion order (replacing a layer keeps its place), with
    no forward: the model's own forward picks the layers, `self.heads[task](x)`. Each layer is
    the attribute of its name, so a name can't be one the module already uses ("training",
    "keys"...), contain "." or be empty, as in torch."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _entries(self) -> dict[str, Module]:
        return dict(self._submodules())  # name -> layer, in the order they were added

    def __getitem__(self, key: str) -> Module:
        return self._entries()[key]  # (raises KeyError as a dict does)

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict keys are strs (module names), got {type(key).__name__}")
        _checked(_DICT_ITEM, repr(key), module)
        if hasattr(self, key) and key not in self._entries():
            raise KeyError(
                f"ModuleDict: attribute {key!r} already exists (the module's own attribute or "
                "method): choose another name for the layer"
            )
        if "." in key or not key:
            raise KeyError(
                f"ModuleDict: a layer's name can't be empty or contain '.' (it is a part of "
                f"the parameters' qualified names, as in 'heads.cls.weight'), got {key!r}"
            )
        setattr(self, key, module)

    def __delitem__(self, key: str) -> None:
        if key not in self._entries():
            raise KeyError(key)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._entries())

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries())

    def __contains__(self, key: object) -> bool:
        return key in self._entries()

    def keys(self) -> KeysView[str]:
        return self._entries().keys()

    def values(self) -> ValuesView[Module]:
        return self._entries().values()

    def items(self) -> ItemsView[str, Module]:
        return self._entries().items()

    def pop(self, key: str) -> Module:
        """Remove the layer named `key` and return it."""
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        for key in list(self._entries()):
            delattr(self, key)

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add (or replace) layers from a dict or a ModuleDict, in its order, or from (name,
        layer) pairs, as torch's update."""
        if isinstance(modules, (Mapping, ModuleDict)):
            for key, module in modules.items():
                self[key] = module
            return
        if not isinstance(modules, Iterable):
            raise TypeError(
                "ModuleDict.update takes a dict of layers or an iterable of (name, layer) pairs, "
                f"got {type(modules).__name__}"
            )
        for i, pair in enumerate(modules):
            if not isinstance(pair, Iterable):
                raise TypeError(
                    f"ModuleDict.update: item {i} must be a (name, layer) pair, got a "
                    f"{type(pair).__name__}"
                )
            pair = list(pair)
            if len(pair) != 2:
                raise ValueError(
                    f"ModuleDict.update: item {i} must be a (name, layer) pair, got "
                    f"{len(pair)} values"
                )
            self[pair[0]] = pair[1]

    def __repr__(self) -> str:  # every entry, a layer held under two names included (as torch)
        children = [f"  ({name}): {_indent(repr(m))}" for name, m in self.items()]
        if not children:
            return "ModuleDict()"
        return "ModuleDict(\n" + "\n".join(children) + "\n)"


_DICT_ITEM = "ModuleDict holds Modules; key"


def _as_parameter(value: Any) -> Any:
    """A tensor (torch's or minigrad's) that is not a Parameter becomes one, sharing its
    values, as torch's parameter containers do; anything else is kept as it is."""
    if isinstance(value, (Tensor, torch.Tensor)) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _entry_repr(value: Any, type_name: Callable[[Tensor], str]) -> str:
    """One line of a parameter container's repr: what it holds, not its values."""
    if not isinstance(value, Tensor):
        return f"Object of type: {type(value).__name__}"
    size = "x".join(str(side) for side in value.shape)
    device = "" if value.device.type == "cpu" else f" ({value.device})"
    kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
    return f"{kind} containing: [{type_name(value)} of size {size}{device}]"


def _typename(tensor: Tensor) -> str:
    return torch.typename(tensor._data)  # torch.FloatTensor, torch.cuda.DoubleTensor...


def _container_repr(name: str, lines: list[str]) -> str:
    """torch's layout for a module whose repr lines are its own: each line "  (key): ...",
    one line inline (its indent kept, as torch), several indented once more below."""
    lines = [f"  {line}" for line in lines]
    if len(lines) == 1:
        return f"{name}({lines[0]})"
    return f"{name}(" + "".join(f"\n  {line}" for line in lines) + ("\n)" if lines else ")")


class ParameterList(Module):
    """A list of Parameters that belong to the model holding it (torch's ParameterList):
    `self.scales = nn.ParameterList(torch.ones(4) for _ in range(3))` gives scales.0,
    scales.1, scales.2 in parameters() and state_dict(). A tensor put in it is made a
    Parameter (sharing its values); any other object is kept, but is not a parameter. Each
    entry is the attribute named "0", "1", ..., as in torch."""

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        self._size = 0
        if values is not None:
            self.extend(values)

    def _index(self, index: int) -> str:
        """The attribute name of entry `index` (negative counts from the end)."""
        if not -self._size <= index < self._size:
            raise IndexError(
                f"ParameterList: index {index} is out of range for {self._size} entries"
            )
        return str(index % self._size)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return ParameterList(list(self)[index])
        return getattr(self, self._index(index))

    def __setitem__(self, index: int, value: Any) -> None:
        setattr(self, self._index(index), _as_parameter(value))

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return (getattr(self, str(i)) for i in range(self._size))

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def append(self, value: Any) -> ParameterList:
        """Add `value` at the end, under the next number."""
        self._size += 1
        self[self._size - 1] = value
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        if not isinstance(values, Iterable) or isinstance(values, (Tensor, torch.Tensor)):
            raise TypeError(
                f"ParameterList.extend takes an iterable of parameters, got "
                f"{type(values).__name__} (append adds one)"
            )
        for value in values:
            self.append(value)
        return self

    def __repr__(self) -> str:
        lines = [f"({i}): {_entry_repr(v, lambda t: str(t.dtype))}" for i, v in enumerate(self)]
        return _container_repr("ParameterList", lines)


class ParameterDict(Module):
    """Parameters by name that belong to the model holding it (torch's ParameterDict):
    `nn.ParameterDict({"scale": torch.ones(4)})` gives the parameter "scale". A dict in
    insertion order (a plain dict given at once is taken in sorted key order, as torch does);
    a tensor put in it is made a Parameter, any other object kept but not a parameter. Each
    entry is the attribute of its name, so a name can't be one the module already uses."""

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        self._keys: dict[str, None] = {}  # the names, in order (a dict: ordered, fast lookups)
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(
                f"ParameterDict keys are strs (the parameters' names), got "
                f"{type(key).__name__} {key!r}"
            )
        if "." in key or not key:
            raise KeyError(
                f"ParameterDict: a name can't be empty or contain '.' (it is a part of the "
                f"parameters' qualified names), got {key!r}"
            )
        if hasattr(self, key) and key not in self._keys:  # ("keys", "training", "_keys"...)
            raise KeyError(
                f"ParameterDict: attribute {key!r} already exists (the module's own attribute or "
                "method): choose another name for the parameter"
            )
        self._keys[key] = None
        setattr(self, key, _as_parameter(value))

    def __delitem__(self, key: str) -> None:
        del self._keys[key]  # (KeyError as a dict's)
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._keys))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def keys(self) -> KeysView[str]:
        return self._keys.keys()

    def values(self) -> list[Any]:
        return [self[key] for key in self._keys]

    def items(self) -> list[tuple[str, Any]]:
        return [(key, self[key]) for key in self._keys]

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def pop(self, key: str) -> Any:
        """Remove the entry `key` and return it."""
        value = self[key]
        del self[key]
        return value

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def popitem(self) -> tuple[str, Any]:
        """Remove the last entry added and return it as (name, value)."""
        if not self._keys:
            raise KeyError("popitem(): ParameterDict is empty")
        key = next(reversed(self._keys))
        return key, self.pop(key)

    def fromkeys(self, keys: Iterable[str], default: Any = None) -> ParameterDict:
        """A new ParameterDict with each of `keys` holding `default` (one object, shared)."""
        return ParameterDict((key, default) for key in keys)

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._keys))

    def __or__(self, other: ParameterDict) -> ParameterDict:
        """A new ParameterDict: this one's entries, then other's (replacing those of the same
        name), as a dict's `|`."""
        merged = self.copy()
        merged.update(other)
        return merged

    def __ior__(self, other: ParameterDict) -> ParameterDict:
        self.update(other)
        return self

    def clear(self) -> None:
        for key in list(self._keys):
            del self[key]

    def copy(self) -> ParameterDict:
        """A new ParameterDict holding the same parameters (not copies of them)."""
        return ParameterDict(OrderedDict(self.items()))

    def update(self, parameters: Any) -> None:
        """Add (or replace) entries from an OrderedDict or a ParameterDict (in its order), a
        plain dict or mapping (in sorted key order, as torch's), or (name, value) pairs."""
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = list(parameters.items())
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())
        elif isinstance(parameters, Iterable):
            pairs = []
            for i, pair in enumerate(parameters):
                if not isinstance(pair, Iterable) or len(pair := list(pair)) != 2:
                    raise ValueError(
                        f"ParameterDict.update: item {i} must be a (name, value) pair, got {pair!r}"
                    )
                pairs.append(pair)
        else:
            raise TypeError(
                "ParameterDict.update takes a dict of parameters or an iterable of (name, "
                f"value) pairs, got {type(parameters).__name__}"
            )
        for key, value in pairs:
            self[key] = value

    def __repr__(self) -> str:
        lines = [f"({k}): {_entry_repr(v, _typename)}" for k, v in self.items()]
        return _container_repr("ParameterDict", lines)


def _register(hooks: OrderedDict[int, Any], hook: Callable[..., Any], prepend: bool) -> Any:
    if not callable(hook):
        raise TypeError(f"a hook is a function to call, got {type(hook).__name__}")
    handle = RemovableHandle(hooks)  # (refers to `hooks` weakly, as torch's handles do)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def _checked(what: str, index: int | str, module: Any) -> Module:
    """`module`, if it is a Module; else a TypeError that says "{what} {index} is a ..."."""
    if not isinstance(module, Module):
        raise TypeError(
            f"{what} {index} is a {type(module).__name__}. Wrap a function in a Module "
            "subclass with that function as forward."
        )
    return module
