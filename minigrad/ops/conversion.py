"""Copies: to another dtype or device, or a plain clone. The gradient goes back unchanged,
converted back to the input's dtype and device."""

from __future__ import annotations

from typing import Any

import torch

from ..autograd.function import Context, Op


class To(Op):
    """out = x on another device or with another (floating) dtype.   grad: moved back."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        ctx.dtype, ctx.device = x.dtype, x.device
        return x.to(*args, **kwargs)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        rest = (None,) * (len(ctx.needs_input_grad) - 1)  # the dtype, the device: no gradient
        return (grad.to(device=ctx.device, dtype=ctx.dtype), *rest)


class Clone(Op):
    """out = a copy of x.   grad: passes through."""

    @staticmethod
    def forward(ctx: Context, x: torch.Tensor) -> torch.Tensor:
        return x.clone()

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        return grad
