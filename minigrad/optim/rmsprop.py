"""RMSprop: divide each gradient by the running root-mean-square of its recent values."""

from __future__ import annotations

from typing import Any

import torch

from .optimizer import (
    Group,
    Optimizer,
    Params,
    check_non_negative,
    implementation_flags,
    step_counter,
)


class RMSprop(Optimizer):
    """torch's RMSprop (Hinton's lecture 6e), step by step (g = the gradient, or -gradient
    with maximize=True):
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g^2             (the average squared gradient)
        centered: a = alpha * a + (1 - alpha) * g, and v - a^2 (the variance) stands for v
        d = sqrt(v) + eps
        momentum: buf = momentum * buf + g / d, p = p - lr * buf
        otherwise: p = p - lr * g / d
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_non_negative(
            lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha
        )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            **implementation_flags(capturable=capturable, foreach=foreach),
            maximize=maximize,
            **implementation_flags(differentiable=differentiable),
        )
        super().__init__(params, defaults)

    def update(
        self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: Group
    ) -> None:
        if not state:
            state["step"] = step_counter(param)
            state["square_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            if self.option(group, "momentum", nonzero=True):
                state["momentum_buffer"] = torch.zeros_like(param)
            if self.option(group, "centered"):
                state["grad_avg"] = torch.zeros_like(param)
        lr = self.hyperparameter(group, "lr", like=param)
        alpha = self.hyperparameter(group, "alpha", like=param)
        eps = self.hyperparameter(group, "eps", like=param)
        if self.option(group, "maximize"):
            grad = -grad
        state["step"] += 1
        if self.option(group, "weight_decay", nonzero=True):
            grad = grad.addcmul(param, self.hyperparameter(group, "weight_decay", like=param))
        square_avg = state["square_avg"]
        square_avg.mul_(alpha).addcmul_(grad, grad * (1 - alpha))
        if self.option(group, "centered"):
            grad_avg = state["grad_avg"]
            grad_avg.lerp_(grad, 1 - alpha)
            avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        else:
            avg = square_avg.sqrt()
        avg = avg.add_(eps)
        if self.option(group, "momentum", nonzero=True):
            buf = state["momentum_buffer"]
            buf.mul_(self.hyperparameter(group, "momentum", like=param)).addcdiv_(grad, avg)
            param.addcmul_(buf, lr, value=-1)
        else:
            param.addcdiv_(-lr * grad, avg)  # p -= lr * g / avg
