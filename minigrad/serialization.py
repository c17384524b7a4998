"""`minigrad.save` and `minigrad.load`: torch.save and torch.load, for objects holding Tensors.

A minigrad Tensor is written as the torch tensor it wraps (its `requires_grad` kept), so the
file is an ordinary torch file: torch.load reads it, and `minigrad.load` reads files torch
wrote. Loading turns torch tensors back into minigrad Tensors, inside dicts, lists and tuples
(a state_dict, a checkpoint); other objects come back as pickle made them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Any

import torch

from .tensor import Tensor

__all__ = ["load", "save"]

FileLike = str | os.PathLike | IO[bytes]


def save(obj: Any, f: FileLike, **kwargs: Any) -> None:
    """torch.save(obj, f), with each minigrad Tensor inside dicts, lists and tuples written as
    its torch tensor. Given a path, the file is written atomically: the bytes go to a
    temporary file in the same folder, which then replaces `f` in one step (`os.replace`), so
    a crash or a full disk midway leaves the previous file as it was."""
    obj = _map_tensors(obj, _to_torch)
    if not isinstance(f, (str, os.PathLike)):  # an open file or a BytesIO: torch writes to it
        torch.save(obj, f, **kwargs)
        return
    path = Path(f)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            torch.save(obj, file, **kwargs)
            file.flush()
            os.fsync(file.fileno())  # on disk before the rename makes it the real file
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def load(f: FileLike, map_location: Any = None, *, weights_only: bool = True, **kwargs: Any) -> Any:
    """torch.load(f, map_location, weights_only=...), with each torch tensor inside dicts,
    lists and tuples returned as a minigrad Tensor (its `requires_grad` kept).

    As in torch (2.6 and later), `weights_only=True` is the default: the file may hold tensors,
    numbers, strings and containers, nothing that runs code when unpickled. A whole model saved
    with `save(model, f)` needs `weights_only=False`, for a file you trust."""
    obj = torch.load(f, map_location=map_location, weights_only=weights_only, **kwargs)
    return _map_tensors(obj, _to_minigrad)


def _to_torch(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value._data.detach().requires_grad_(value.requires_grad)
    return value


def _to_minigrad(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return Tensor(value.detach(), requires_grad=value.requires_grad)
    return value


def _map_tensors(obj: Any, convert: Any) -> Any:
    """`obj` with `convert` applied to every value inside its dicts, lists and tuples (the
    containers keep their types: an OrderedDict stays one, a NamedTuple too)."""
    if isinstance(obj, dict):
        mapped = type(obj)()
        for key, value in obj.items():
            mapped[key] = _map_tensors(value, convert)
        return mapped
    if isinstance(obj, list):
        return [_map_tensors(value, convert) for value in obj]
    if isinstance(obj, tuple):
        values = [_map_tensors(value, convert) for value in obj]
        return type(obj)(*values) if hasattr(obj, "_fields") else type(obj)(values)
    return convert(obj)
