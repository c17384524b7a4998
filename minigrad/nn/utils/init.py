"""skip_init (torch.nn.utils.skip_init): build a module without spending time on its
initialization, for weights that will be loaded right after."""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

import torch

from ..modules import Module

__all__ = ["skip_init"]

ModuleT = TypeVar("ModuleT", bound=Module)


def skip_init(module_cls: type[ModuleT], *args: Any, **kwargs: Any) -> ModuleT:
    """module_cls(*args, **kwargs) with its parameters and buffers left uninitialized (their
    values are whatever memory held: load or set them before use), as torch's. The class must
    take a `device` argument, as torch requires.

    (torch builds the module on its "meta" device, where nothing is computed, then allocates
    empty storage. minigrad has no meta device: it builds the module on `device` as usual, then
    swaps every parameter's and buffer's values for empty storage of the same shape, so the
    result is the same, only not faster.)"""
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    kwargs.setdefault("device", "cpu")
    module = module_cls(*args, **kwargs)
    for tensor in (*module.parameters(), *module.buffers()):
        tensor._data = torch.empty_like(tensor._data)
    return module
