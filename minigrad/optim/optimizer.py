"""`Optimizer`: the base class. It holds the parameters and the learning rate; a subclass's
`update` says how one parameter moves, given its gradient.

After `loss.backward()`, `opt.step()` moves every parameter that has a gradient, and
`opt.zero_grad()` clears the gradients (they add up otherwise). `opt.lr` may change between
steps (a learning-rate finder or schedule does that).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor


class Optimizer:
    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(
                f"{type(self).__name__} got an empty parameter list: nothing to train. Pass "
                "model.parameters() (a Module with Parameters), or a list of tensors that "
                "require grad."
            )
        for i, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.requires_grad or not p.is_leaf:
                raise TypeError(
                    f"{type(self).__name__} can only update leaf Tensors that require grad; "
                    f"parameter {i} is {_describe(p)}. Make parameters with "
                    "minigrad.nn.Parameter(...) or tensor.requires_grad_()."
                )
        _check_non_negative(lr=lr)
        self.lr = lr
        self.state: dict[Tensor, dict[str, Any]] = {}  # per parameter: momentum buffers...

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients: set them to None (the default, as torch), or fill with 0."""
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad._data.zero_()

    @no_grad()
    def step(self) -> None:
        """Move each parameter that has a gradient, in place (its torch tensor is updated)."""
        for p in self.params:
            if p.grad is not None:
                self.update(p._data, p.grad._data, self.state.setdefault(p, {}))

    def update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any]) -> None:
        """Change `param` in place, given its gradient and this parameter's `state`."""
        raise NotImplementedError

    def __repr__(self) -> str:
        settings = ", ".join(
            f"{k}={v}" for k, v in vars(self).items() if k not in ("params", "state")
        )
        return f"{type(self).__name__}({len(self.params)} parameters, {settings})"


def _describe(p: Any) -> str:
    if not isinstance(p, Tensor):
        return f"a {type(p).__name__}"
    if not p.requires_grad:
        return "a Tensor that does not require grad"
    return f"not a leaf (it was made by {p.grad_fn.name})"


def _check_non_negative(**values: float) -> None:
    for name, value in values.items():
        if not value >= 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
