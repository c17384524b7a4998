"""Errors that teach: each says what was wrong, names the shapes or devices, and the rule."""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any


class ShapeError(ValueError, RuntimeError):
    """Operand shapes that an op cannot combine. A ValueError, as Python calls a wrong value,
    and a RuntimeError, as torch raises for shapes: code written for either catches it."""


class DtypeError(TypeError, RuntimeError):
    """A dtype an op cannot take or produce. A TypeError, as Python calls a wrong type, and a
    RuntimeError, as torch raises for dtypes: code written for either catches it."""


class DeviceError(RuntimeError):
    """Operands that live on different devices."""


class GradientError(RuntimeError):
    """A backward pass that cannot run, or would give a wrong gradient."""


class DistributedError(RuntimeError):
    """Processes training together that cannot go on: no process group, a rank that stopped."""


def shape_str(shape: Sequence[int]) -> str:
    """(3, 4) for a torch.Size, (3,) for one dim, () for a scalar: how Python writes tuples."""
    return str(tuple(shape))


def broadcast_mismatch(a: Sequence[int], b: Sequence[int]) -> str | None:
    """Describe why shapes a and b do not broadcast, or None if they do.

    The rule: line the shapes up from the right; each pair of dims must be equal, or one must be 1.
    """
    for offset in range(1, min(len(a), len(b)) + 1):
        da, db = a[-offset], b[-offset]
        if da != db and da != 1 and db != 1:
            return (
                f"shapes {shape_str(a)} and {shape_str(b)} do not broadcast: dim {-offset} "
                f"(counting from the right) is {da} in one and {db} in the other. "
                "Broadcasting lines shapes up from the right; each pair of dims must be "
                "equal, or one of them must be 1."
            )
    return None


def matmul_mismatch(a: Sequence[int], b: Sequence[int]) -> str | None:
    """Describe why a @ b is impossible for these shapes, or None if it is possible."""
    if len(a) == 0 or len(b) == 0:
        return (
            f"{shape_str(a)} @ {shape_str(b)}: matmul needs operands with at least 1 dim. "
            "Use * to multiply by a scalar."
        )
    inner_a = a[-1]
    inner_b = b[0] if len(b) == 1 else b[-2]
    if inner_a != inner_b:
        which_b = "its only dim" if len(b) == 1 else "its second-to-last dim"
        return (
            f"{shape_str(a)} @ {shape_str(b)}: inner dims {inner_a} and {inner_b} differ. "
            f"For A @ B, A's last dim must equal B's {which_b.removeprefix('its ')}"
            f" (A is (..., n, k), B is (..., k, m)). Did you mean to transpose one of them, "
            "e.g. A @ B.T?"
        )
    batch_a, batch_b = a[:-2], b[:-2]
    if batch_a and batch_b:
        problem = broadcast_mismatch(batch_a, batch_b)
        if problem:
            return f"{shape_str(a)} @ {shape_str(b)}: the batch dims must broadcast, but {problem}"
    return None


def dtype_mismatch(a: Any, b: Any, a_is: str = "A", b_is: str = "B") -> TypeError | None:
    """The error for a matrix product of a and b in two dtypes, or None if their dtypes match.

    The usual cause is a batch of raw pixels (uint8) or of float64 numpy data meeting float32
    weights, so the advice says how to convert the batch (a)."""
    if a.dtype == b.dtype:
        return None
    if not a.dtype.is_floating_point:
        advice = f"convert {a_is} with .float() (pixels from 0 to 255: .float() / 255)"
    else:
        advice = f"convert {a_is} with .to({b.dtype}), or {b_is} with .to({a.dtype})"
    return TypeError(
        f"{a_is} has dtype {a.dtype} but {b_is} has {b.dtype}, and a matrix product needs "
        f"one dtype: {advice}."
    )


# ---- torch names that minigrad lacks ----------------------------------------------------------

HOW_TO_ADD_AN_OP = (
    "To add it, write its maths as an op: a Function subclass with forward and backward side "
    "by side (one small class in minigrad/ops/), its gradient proven against torch's with "
    'minigrad.testing (the README\'s "Prove an op of your own"), then a Tensor method that '
    "calls it (and the function form in minigrad/functions.py)."
)
HOW_TO_ADD_A_MODULE = (
    "To add it, subclass minigrad.nn.Module and write its forward with minigrad's ops; if its "
    "maths needs a derivative minigrad lacks, write that as an op first (the README's \"Prove "
    'an op of your own").'
)
COVERED = "docs/torch-surface.md lists the torch names minigrad covers."
OP_NAMESPACES = ("torch", "torch.Tensor", "torch.nn.functional")  # where a missing name is an op


def missing_attribute(owner: str, torch_owner: str, name: str, obj: Any = None) -> AttributeError:
    """The AttributeError for `owner.name` (owner: "minigrad.nn", "minigrad.Tensor"...), which
    says whether `torch_owner.name` exists and, if so, how to add it to minigrad."""
    theirs = getattr(resolve(torch_owner), name, None)
    if theirs is None:
        return AttributeError(
            f"{owner} has no attribute {name!r}, and neither has {torch_owner}", name=name, obj=obj
        )
    if name.startswith("_"):
        return AttributeError(
            f"{owner} has no attribute {name!r}. {torch_owner}.{name} exists, but it belongs to "
            "torch's internals (its name begins with _), which minigrad does not copy.",
            name=name,
            obj=obj,
        )
    message = f"{torch_owner}.{name} exists, but {owner} does not have it yet."
    out_of_place = name.removesuffix("_")
    if name.endswith("_") and obj is not None and hasattr(type(obj), out_of_place):
        message += f" It changes the tensor in place; write x = x.{out_of_place}(...) instead."
    elif isinstance(theirs, type) and _is_torch_module_class(theirs):
        message += f" It is a layer (an nn.Module). {HOW_TO_ADD_A_MODULE}"
    elif torch_owner in OP_NAMESPACES and callable(theirs) and not isinstance(theirs, type):
        message += f" {HOW_TO_ADD_AN_OP}"
    return AttributeError(f"{message} {COVERED}", name=name, obj=obj)


def missing_name_getattr(module_name: str, torch_name: str) -> Callable[[str], Any]:
    """A module `__getattr__` (PEP 562) for the minigrad module that stands for a torch module.

    Python calls it only for names the module lacks. A submodule of a minigrad package loads
    on first use (as torch's do: `minigrad.testing` works after `import minigrad`); any other
    name raises `missing_attribute`'s error.
    """

    def __getattr__(name: str) -> Any:
        module = sys.modules[module_name]
        if not name.startswith("_") and "__path__" in vars(module):  # a package: try a submodule
            try:
                return importlib.import_module(f"{module_name}.{name}")
            except ModuleNotFoundError as error:
                if error.name != f"{module_name}.{name}":  # the submodule exists, but failed
                    raise
        raise missing_attribute(module_name, torch_name, name, obj=module)

    return __getattr__


def resolve(dotted: str) -> Any:
    """torch, torch.nn, torch.Tensor...: the object that a dotted name stands for."""
    if dotted.endswith(".Tensor"):
        return importlib.import_module(dotted.removesuffix(".Tensor")).Tensor
    return importlib.import_module(dotted)


def _is_torch_module_class(cls: type) -> bool:
    import torch

    return issubclass(cls, torch.nn.Module)


def warn_at_user_line(message: str, category: type[Warning] = UserWarning) -> None:
    """warnings.warn, pointing at the first line outside minigrad (the user's `loss.backward()`,
    say), however deep in minigrad the warning arose, as torch's C++ warnings point at the
    Python line that called into torch."""
    level, frame = 2, sys._getframe(1)  # level 2: the caller of this function
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


_given_once: set[str] = set()  # the warnings torch gives once a process, given so far


def warn_once_at_user_line(message: str, category: type[Warning] = UserWarning) -> None:
    """warn_at_user_line, the first time only: torch gives some warnings once a process
    (TORCH_WARN_ONCE), and so does minigrad."""
    if message not in _given_once:
        _given_once.add(message)
        warn_at_user_line(message, category)


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
