"""Errors that teach: each says what was wrong, names the shapes or devices, and the rule."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ShapeError(ValueError):
    """Operand shapes that an op cannot combine."""


class DeviceError(RuntimeError):
    """Operands that live on different devices."""


class GradientError(RuntimeError):
    """A backward pass that cannot run, or would give a wrong gradient."""


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
