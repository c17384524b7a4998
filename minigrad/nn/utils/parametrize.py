"""Parametrizations (torch.nn.utils.parametrize): a module's tensor computed by a function of
other tensors, each time it is read. After

    register_parametrization(layer, "weight", Symmetric())

`layer.weight` is `Symmetric()(original)` with `original` the parameter that trains (held at
layer.parametrizations.weight.original), so the gradient flows through the function to it.
Several parametrizations on one tensor compose, first registered innermost.

How: the module's class is swapped, for this module only, for a subclass of it with a property
`weight`; other modules and Module's attribute lookup are left alone. The property's getter
runs the parametrizations (once per `with cached():` block), its setter stores
right_inverse(value) in the originals. A parametrization with a `right_inverse` that returns
several tensors (weight_norm's g and v) gets original0, original1, ...
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ...autograd.grad_mode import no_grad
from ...errors import missing_name_getattr as _missing_name_getattr
from ...tensor import Tensor
from ..modules import Module, ModuleDict, ModuleList, Parameter

__all__ = [
    "ParametrizationList",
    "cached",
    "is_parametrized",
    "register_parametrization",
    "remove_parametrizations",
    "type_before_parametrizations",
]

_cache_depth = 0  # how many `with cached():` blocks are open
_cache: dict[tuple[int, str], Tensor] = {}


@contextmanager
def cached() -> Iterator[None]:
    """Inside the block, each parametrized tensor is computed once, on first read, then reused
    (an RNN reading its weight each step computes it once). The cache is emptied on leaving
    the outermost block."""
    global _cache_depth
    _cache_depth += 1
    try:
        yield
    finally:
        _cache_depth -= 1
        if not _cache_depth:
            _cache.clear()


def _hold(module: Module, name: str, value: Tensor, as_buffer: bool) -> None:
    """Keep `value` on `module` as a buffer or (a Parameter) as a parameter."""
    if as_buffer:
        module.register_buffer(name, value)
    else:
        setattr(module, name, value)


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor (entries "0", "1", ...) and the originals they read:
    `original`, or original0, original1, ... when right_inverse gives several tensors."""

    def __init__(self, modules: Sequence[Module], original: Tensor, unsafe: bool = False):
        if not modules:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        as_buffer = not isinstance(original, Parameter)
        with no_grad():
            new = original
            for parametrization in reversed(list(self)):
                if hasattr(parametrization, "right_inverse"):
                    try:
                        new = parametrization.right_inverse(new)
                    except NotImplementedError:
                        pass  # as torch: a right_inverse that can't is the identity here
        if not isinstance(new, (Tensor, Sequence)):
            raise ValueError(
                "'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                f"Got {type(new).__name__}"
            )
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if not unsafe:
                _check_same("right_inverse(original)", new, original, "right_inverse")
            with no_grad():  # the same parameter object, so an optimizer holding it still works
                original._data = new._data.detach()
            _hold(self, "original", original, as_buffer)
        else:
            for i, value in enumerate(new):
                if not isinstance(value, Tensor):
                    raise ValueError(
                        "'right_inverse' must return a Tensor or a Sequence of tensors. Got "
                        f"element {i} of the sequence with type {type(value).__name__}."
                    )
                if not as_buffer:
                    value = Parameter(value.detach(), original.requires_grad)
                _hold(self, f"original{i}", value, as_buffer)
        if not unsafe:
            _check_same("the parametrization's output", self(), original, "forward")

    def right_inverse(self, value: Tensor) -> None:
        """Store `value` (what the parametrized tensor is set to) in the originals, through each
        right_inverse, last parametrization first."""
        with no_grad():
            for parametrization in reversed(list(self)):
                if not hasattr(parametrization, "right_inverse"):
                    raise RuntimeError(
                        f"parametrization {type(parametrization).__name__} does not implement "
                        "right_inverse: the parametrized tensor can't be assigned to."
                    )
                value = parametrization.right_inverse(value)
            if self.is_tensor:
                self.original._data = value._data.detach()
            else:
                for i, part in enumerate(value):
                    getattr(self, f"original{i}")._data = part._data.detach()

    def forward(self) -> Tensor:
        parametrizations = list(self)
        if self.is_tensor:
            x = parametrizations[0](self.original)
        else:
            x = parametrizations[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for parametrization in parametrizations[1:]:
            x = parametrization(x)
        return x


def _check_same(what: str, value: Any, original: Tensor, where: str) -> None:
    """A parametrization (unless unsafe=True) keeps the tensor's dtype and shape."""
    if not isinstance(value, Tensor):
        raise ValueError(f"A parametrization's {where} must return a tensor, got {type(value)}")
    if value.dtype != original.dtype or value.shape != original.shape:
        raise ValueError(
            f"Registering a parametrization may not change the dtype or shape of the tensor, "
            f"unless the `unsafe` flag is enabled: {what} is {value.dtype} of shape "
            f"{tuple(value.shape)}, the tensor {original.dtype} of shape {tuple(original.shape)}."
        )


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether `module` has a parametrization (on `tensor_name`, when given)."""
    parametrizations = vars(module).get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def type_before_parametrizations(module: Module) -> type:
    """The module's class before parametrizations swapped it."""
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def _property(tensor_name: str) -> property:
    """The property that computes module.<tensor_name> from its parametrizations."""

    def get(module: Module) -> Tensor:
        parametrization = module.parametrizations[tensor_name]
        if not _cache_depth:
            return parametrization()
        key = (id(module), tensor_name)
        if key not in _cache:
            _cache[key] = parametrization()
        return _cache[key]

    def set_(module: Module, value: Tensor) -> None:
        module.parametrizations[tensor_name].right_inverse(value)

    return property(get, set_)


def register_parametrization(
    module: Module, tensor_name: str, parametrization: Module, *, unsafe: bool = False
) -> Module:
    """Make module.<tensor_name> = parametrization(original) on every read, as torch's: the
    parameter or buffer `tensor_name` becomes the original (through
    parametrization.right_inverse, when it has one). On an already parametrized tensor, the new
    parametrization is applied last. unsafe=True skips the checks that dtype and shape are
    kept. Returns the module."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            current = getattr(module, tensor_name)
            _check_same(
                "the parametrization's output", parametrization(current), current, "forward"
            )
            if hasattr(parametrization, "right_inverse"):
                back = parametrization.right_inverse(parametrization(current))
                _check_same("its right_inverse", back, current, "right_inverse")
        parametrizations = module.parametrizations[tensor_name]
        parametrizations.append(parametrization)
        parametrizations.unsafe |= unsafe
        return module
    original = vars(module).get(tensor_name)
    if not isinstance(original, Tensor) or (
        not isinstance(original, Parameter) and tensor_name not in module._buffer_flags()
    ):
        raise ValueError(
            f"Module '{module}' does not have a parameter, a buffer, or a parametrized element "
            f"with name '{tensor_name}'"
        )
    parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)
    delattr(module, tensor_name)
    module._buffer_flags().pop(tensor_name, None)
    if not is_parametrized(module):
        cls = type(module)
        module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {})
        module.parametrizations = ModuleDict()
    setattr(type(module), tensor_name, _property(tensor_name))
    module.parametrizations[tensor_name] = parametrizations
    return module


def remove_parametrizations(
    module: Module, tensor_name: str, leave_parametrized: bool = True
) -> Module:
    """Undo register_parametrization on `tensor_name`: it becomes a plain parameter (or buffer)
    again, holding its current parametrized value (leave_parametrized=True) or the original
    (False; only when there is one original). Returns the module."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with no_grad():
                original._data = getattr(module, tensor_name)._data.detach()
    else:
        if not leave_parametrized:
            raise ValueError(
                "Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
                "parametrized in terms of a sequence of tensors."
            )
        with no_grad():
            value = getattr(module, tensor_name).detach()
        first = parametrizations.original0
        original = Parameter(value, first.requires_grad) if isinstance(first, Parameter) else value
    as_buffer = not isinstance(original, Parameter)
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _hold(module, tensor_name, original, as_buffer)
    if not is_parametrized(module):
        del module.parametrizations
        module.__class__ = type(module).__bases__[0]
    return module


# A torch name minigrad lacks raises an AttributeError that says so.
__getattr__ = _missing_name_getattr(__name__, "torch.nn.utils.parametrize")
