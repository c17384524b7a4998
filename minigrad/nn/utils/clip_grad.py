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

import warnings
from collections.abc import Iterable

import torch

from ...autograd.grad_mode import no_grad
from ...creation import stack, tensor
from ...tensor import Tensor

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
]

Parameters = Tensor | Iterable[Tensor]


def get_total_norm(
    tensors: Parameters,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The norm (of order norm_type; inf for the largest |value|) of `tensors` seen as one long
    vector, as torch.nn.utils.get_total_norm: the norm of the vector of their norms. Outside
    the graph. error_if_nonfinite=True raises when it is nan or inf. (foreach is accepted for
    torch's signature.)"""
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if not tensors:
        return tensor(0.0)
    with no_grad():
        # the norm of the vector of every value = the norm of the per-tensor norms
        total = stack([t.norm(norm_type) for t in tensors]).norm(norm_type)
    if error_if_nonfinite and not torch.isfinite(total._data):
        raise RuntimeError(
            f"The total norm of order {float(norm_type)} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return total


def clip_grads_with_norm_(
    parameters: Parameters,
    max_norm: float,
    total_norm: Tensor,
    foreach: bool | None = None,
) -> None:
    """Multiply the gradients of `parameters` in place by min(1, max_norm / (total_norm +
    1e-6)), as torch.nn.utils.clip_grads_with_norm_: the second half of clip_grad_norm_, with
    a norm computed beforehand (by get_total_norm, over these or other gradients). (The
    gradients are always multiplied, by 1 when they are short enough: no test of the norm on
    the host, as torch.)"""
    grads = _grads(parameters)
    if not grads:
        return
    with no_grad():
        scale = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.to(g.dtype))


def clip_grad_norm_(
    parameters: Parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale the gradients of `parameters` in place so that, seen as one vector, their norm (of
    order norm_type; inf for the largest |value|) is at most max_norm. Returns the norm they had
    before: get_total_norm of the gradients, then clip_grads_with_norm_ with it."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    parameters = list(parameters)  # (read twice: a generator would be spent by the first read)
    total = get_total_norm(_grads(parameters), norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
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


def clip_grad_norm(
    parameters: Parameters,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Deprecated (in torch too, with this warning): clip_grad_norm_, older code's spelling."""
    warnings.warn(
        "`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
        "`torch.nn.utils.clip_grad_norm_`.",
        FutureWarning,
        stacklevel=2,
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)
