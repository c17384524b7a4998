"""Adamax: Adam with the gradient's scale measured by a decaying maximum instead of an average."""

from __future__ import annotations

from typing import Any

import torch

from .optimizer import (
    Group,
    Optimizer,
    Params,
    check_betas,
    check_non_negative,
    implementation_flags,
    step_counter,
)


class Adamax(Optimizer):
    """torch's Adamax (Kingma & Ba's Adam paper, section 7.1: Adam in the infinity norm).

    Step t, for gradient g (-gradient with maximize=True):
        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g            (the average gradient: momentum)
        u = max(beta2 * u, |g| + eps)              (a slowly forgotten largest |g|: its scale)
        p = p - lr / (1 - beta1^t) * m / u         (m starts at 0: unbias it; u needs no such fix)
    """

    def __init__(
        self,
        params: Params,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_non_negative(lr=lr, eps=eps)
        check_betas(betas)
        check_non_negative(weight_decay=weight_decay)
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            **implementation_flags(differentiable=differentiable, capturable=capturable),
        )
        super().__init__(params, defaults)

    def update(
        self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: Group
    ) -> None:
        if not state:
            state["step"] = step_counter(param)
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_inf"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        lr = self.hyperparameter(group, "lr", like=param)
        beta1, beta2 = self.hyperparameter(group, "betas", like=param)
        eps = self.hyperparameter(group, "eps", like=param)
        step, m, u = state["step"], state["exp_avg"], state["exp_inf"]
        if self.option(group, "maximize"):
            grad = -grad
        step += 1
        if self.option(group, "weight_decay", nonzero=True):
            grad = grad.addcmul(param, self.hyperparameter(group, "weight_decay", like=param))
        m.lerp_(grad, 1 - beta1)  # m + (1 - beta1) * (g - m)
        torch.maximum(u.mul_(beta2), grad.abs().add_(eps), out=u)
        step_size = lr / (1 - beta1**step)
        param.addcdiv_(-step_size * m, u)  # p -= step_size * m / u
