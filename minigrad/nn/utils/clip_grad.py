"""Gradient clipping, as torch.nn.utils: scale or cap the gradients after backward, before the
optimizer's step.

    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()

A gradient that is suddenly huge (a spike in the loss, an exploding recurrent net) would throw
the weights far away in one step. Clipping by norm keeps the step's direction and caps its
length: with all the gradients seen as one long vector g, of norm |g|,

    g <- g * min(1, max_norm / (|g| + 1e-6))

Nothing here is differentiated: the gradients are changed in place, outside the graph.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from ...autograd.grad_mode import no_grad
from ...creation import stack, tensor
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]

Parameters = Tensor | Iterable[Tensor]


def clip_grad_norm_(
    parameters: Parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale the gradients of `parameters` in place so that, seen as one vector, their norm (of
    order norm_type; inf for the largest |value|) is at most max_norm. Returns the norm they had
    before. (The gradients are always multiplied, by 1 when they are short enough: no test of
    the norm on the host, as torch. foreach is accepted for torch's signature.)"""
    grads = _grads(parameters)
    if not grads:
        return tensor(0.0)
    with no_grad():
        # the norm of the vector of every value = the norm of the per-gradient norms
        total = stack([g.norm(norm_type) for g in grads]).norm(norm_type)
        if error_if_nonfinite and not torch.isfinite(total._data):
            raise RuntimeError(
                f"The total norm of order {float(norm_type)} for gradients from `parameters` is "
                "non-finite, so it cannot be clipped. To disable this error and scale the "
                "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
            )
        scale = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.to(g.dtype))
    return total


def clip_grad_value_(
    parameters: Parameters, clip_value: float, foreach: bool | None = None
) -> None:
    """Cap every gradient value of `parameters` to [-clip_value, clip_value], in place."""
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)


def _grads(parameters: Parameters) -> list[Tensor]:
    """The gradients of the parameters that have one (a single Tensor counts as a list)."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]
