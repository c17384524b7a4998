"""Hooks for the tensors an op saves for backward, as torch.autograd.graph's.

An op keeps what its backward will need (`ctx.save_for_backward`): mul keeps its operands,
sigmoid its output. Inside `saved_tensors_hooks(pack, unpack)`, each tensor an op saves goes
to `pack` (as the Tensor it is: the input, or the output, with its grad_fn), and what pack
returns is kept instead; backward gives that to `unpack`, and computes with what unpack
returns. So the saved values can live elsewhere in between (on the CPU, on disk, compressed):

    with minigrad.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = a * b             # pack(a), pack(b): what the gradients of b and a need
    y.sum().backward()        # unpack(...) for each

`save_on_cpu()` is such a pair: the saved tensors of a model on a GPU wait in the CPU's memory.
As in torch, a saved value that went through the hooks is not checked for changes in place (the
hooks may have copied it), and the hooks of the innermost block apply.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import torch

from ..tensor import Tensor


class _Hooks(threading.local):
    """Per thread, as torch's: the (pack, unpack) pairs of the blocks now open, innermost
    last; and why hooks may not be set now (disable_saved_tensors_hooks), if they may not."""

    def __init__(self) -> None:
        self.stack: list[tuple[Callable[[Any], Any], Callable[[Any], Any]]] = []
        self.disabled_because: str | None = None


hooks = _Hooks()


class saved_tensors_hooks:  # noqa: N801  (torch's name)
    """Within the block, each tensor an op saves for backward is `pack(tensor)` until backward,
    which computes with `unpack(packed)` (see the module's docstring)."""

    def __init__(self, pack_hook: Callable[[Tensor], Any], unpack_hook: Callable[[Any], Any]):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self) -> saved_tensors_hooks:
        if hooks.disabled_because is not None:
            raise RuntimeError(hooks.disabled_because)
        hooks.stack.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc: Any) -> None:
        hooks.stack.pop()


class save_on_cpu(saved_tensors_hooks):  # noqa: N801  (torch's name)
    """The saved tensors wait in the CPU's memory (pinned, for faster copies back, with
    pin_memory=True) and go back to their device when backward needs them: a model too large
    for the GPU's memory with all its saved activations."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack(tensor: Tensor) -> tuple[torch.device, torch.Tensor]:
            data = tensor._data
            on_cpu = data.to("cpu", copy=True)
            return data.device, on_cpu.pin_memory() if pin_memory else on_cpu

        def unpack(packed: tuple[torch.device, torch.Tensor]) -> torch.Tensor:
            device, data = packed
            return data.to(device, non_blocking=pin_memory)

        super().__init__(pack, unpack)


class disable_saved_tensors_hooks:  # noqa: N801  (torch's name)
    """Within the block, setting saved_tensors_hooks raises RuntimeError(error_message): for
    code that does not work with them."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message

    def __enter__(self) -> None:
        if hooks.stack:  # (hooks set already: as torch, refused now)
            raise RuntimeError(self.error_message)
        self.before, hooks.disabled_because = hooks.disabled_because, self.error_message

    def __exit__(self, *exc: Any) -> None:
        hooks.disabled_because = self.before


def __getattr__(name: str) -> Any:
    """Node: torch's name for the class of grad_fn, minigrad's Context (there once the ops are:
    function.py imports this module)."""
    if name == "Node":
        from .function import Context

        return Context
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
