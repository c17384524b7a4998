"""Adadelta: steps sized by the running root-mean-square of past steps over that of past
gradients, so that no learning rate has to be tuned by hand (lr scales the step, 1 by default)."""

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


class Adadelta(Optimizer):
    """torch's Adadelta (Zeiler, 2012), step by step (g = the gradient, or -gradient with
    maximize=True):
        g = g + weight_decay * p
        v = rho * v + (1 - rho) * g^2                 (the average squared gradient)
        delta = sqrt(u + eps) / sqrt(v + eps) * g     (u: the average squared step)
        u = rho * u + (1 - rho) * delta^2
        p = p - lr * delta
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_non_negative(lr=lr, eps=eps, weight_decay=weight_decay)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta's rho is a decay rate, from 0 to 1; got {rho}.")
        defaults = dict(
            lr=lr,
            rho=rho,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            **implementation_flags(capturable=capturable, foreach=foreach),
            **implementation_flags(differentiable=differentiable),
        )
        super().__init__(params, defaults)

    def update(
        self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: Group
    ) -> None:
        if not state:
            state["step"] = step_counter(param)
            state["square_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["acc_delta"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        lr = self.hyperparameter(group, "lr", like=param)
        rho = self.hyperparameter(group, "rho", like=param)
        eps = self.hyperparameter(group, "eps", like=param)
        if self.option(group, "maximize"):
            grad = -grad
        state["step"] += 1
        if self.option(group, "weight_decay", nonzero=True):
            grad = grad.addcmul(param, self.hyperparameter(group, "weight_decay", like=param))
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg.mul_(rho).addcmul_(grad, grad * (1 - rho))
        std = square_avg.add(eps).sqrt_()
        delta = acc_delta.add(eps).sqrt_().div_(std).mul_(grad)
        acc_delta.mul_(rho).addcmul_(delta, delta * (1 - rho))
        param.addcmul_(delta, lr, value=-1)  # p -= lr * delta
