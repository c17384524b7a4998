"""Copies: to another dtype or device, or a plain clone. The gradient goes back unchanged,
converted back to the input's dtype and device."""

from __future__ import annotations

from typing import Any

import torch

from ..autograd.function import Context, Op


class To(Op):
    """out = x on another device or with another (floating) dtype.   grad: moved back."""

    torch_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        ctx.dtype, ctx.device = x.dtype, x.device
        return x.to(*args, **kwargs)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        rest = (None,) * (len(ctx.needs_input_grad) - 1)  # the dtype, the device: no gradient
        return (grad.to(device=ctx.device, dtype=ctx.dtype), *rest)


class Clone(Op):
    """out = a copy of x.   grad: passes through.

    The copy is laid out in memory as x is, or row after row with
    `memory_format=torch.contiguous_format` (what contiguous() asks for, as torch's).
    """

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, memory_format: Any = None) -> torch.Tensor:
        return x.clone() if memory_format is None else x.clone(memory_format=memory_format)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return grad
