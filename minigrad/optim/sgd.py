"""Stochastic gradient descent, with torch's momentum, dampening, weight decay and Nesterov."""

from __future__ import annotations

from typing import Any

import torch

from .optimizer import Group, Optimizer, Params, check_non_negative, implementation_flags


class SGD(Optimizer):
    """p -= lr * g, where g is the gradient, or with momentum a running sum of gradients.

    torch's rule, step by step (g = the gradient, or -gradient with maximize=True):
        g = g + weight_decay * p                  (L2 penalty)
        buf = g on the first step, then buf = momentum * buf + (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_non_negative(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"Nesterov momentum needs momentum > 0 and dampening = 0 (as torch); got "
                f"momentum={momentum}, dampening={dampening}."
            )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
            **implementation_flags(foreach=foreach, differentiable=differentiable, fused=fused),
        )
        super().__init__(params, defaults)

    def update(
        self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: Group
    ) -> None:
        if self.option(group, "maximize"):
            grad = -grad
        if self.option(group, "weight_decay", nonzero=True):
            grad = grad.addcmul(param, self.hyperparameter(group, "weight_decay", like=param))
        if self.option(group, "momentum", nonzero=True):
            momentum = self.hyperparameter(group, "momentum", like=param)
            damped = self.option(group, "dampening", nonzero=True)  # usually not: a kernel fewer
            dampening = self.hyperparameter(group, "dampening", like=param) if damped else None
            buf = state.get("momentum_buffer")
            if buf is None:  # the first step: the buffer starts as the gradient itself
                buf = state["momentum_buffer"] = grad.clone()
            elif damped:
                buf.mul_(momentum).addcmul_(grad, 1 - dampening)
            else:
                buf.mul_(momentum).add_(grad)
            grad = grad.addcmul(buf, momentum) if self.option(group, "nesterov") else buf
        param.addcmul_(grad, self.hyperparameter(group, "lr", like=param), value=-1)
