"""`Variable`, torch's pre-0.4 wrapper, kept as torch keeps it: older teaching code writes
`Variable(x, requires_grad=True)`, and torch still runs it.

Since torch 0.4 a tensor is its own Variable: `Variable(x, requires_grad=True)` gives a tensor that
shares x's memory and requires grad, `isinstance(t, Variable)` holds for every tensor, and
`volatile=True` (the old no_grad) has no effect and says so.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..tensor import Tensor, unwrap


class _VariableType(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, Tensor)


class Variable(metaclass=_VariableType):
    """Variable(data, requires_grad=False, volatile=False): a Tensor, as in torch today."""

    def __new__(cls, data: Any, requires_grad: bool = False, volatile: bool = False) -> Any:
        if volatile:
            warnings.warn(
                "volatile was removed and now has no effect. Use `with minigrad.no_grad():` "
                "instead.",
                UserWarning,
                stacklevel=2,
            )
        tensor = Tensor(unwrap(data))  # shares the memory, as torch's does
        return tensor.requires_grad_() if requires_grad else tensor
