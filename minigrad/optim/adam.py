"""Adam and AdamW: per-parameter step sizes from running averages of the gradient and its square."""

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


class Adam(Optimizer):
    """torch's Adam (weight decay as an L2 penalty added to the gradient, as torch.optim.Adam).

    Step t, for gradient g (-gradient with maximize=True):
        g = g + weight_decay * p                   (or, decoupled as AdamW: p = p - lr * wd * p)
        m = beta1 * m + (1 - beta1) * g            (the average gradient: momentum)
        v = beta2 * v + (1 - beta2) * g^2          (the average squared gradient: its scale)
        v_max = max(v_max, v) with amsgrad, and v_max stands for v below
        m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)   (m, v start at 0: unbias them)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)

    t is `state["step"]`, a tensor, and the bias corrections are tensor maths on it (see
    `Optimizer.hyperparameter` for why no number is read back into Python).
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        check_non_negative(lr=lr, eps=eps, weight_decay=weight_decay)
        check_betas(betas)
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            **implementation_flags(
                foreach=foreach, capturable=capturable, differentiable=differentiable, fused=fused
            ),
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def update(
        self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: Group
    ) -> None:
        if not state:
            state["step"] = step_counter(param)
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            if self.option(group, "amsgrad"):
                state["max_exp_avg_sq"] = torch.zeros_like(param)
        lr = self.hyperparameter(group, "lr", like=param)
        beta1, beta2 = self.hyperparameter(group, "betas", like=param)
        eps = self.hyperparameter(group, "eps", like=param)
        step, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if self.option(group, "maximize"):
            grad = -grad
        step += 1
        if self.option(group, "weight_decay", nonzero=True):
            weight_decay = self.hyperparameter(group, "weight_decay", like=param)
            if self.option(group, "decoupled_weight_decay"):
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.addcmul(param, weight_decay)
        m.lerp_(grad, 1 - beta1)  # m + (1 - beta1) * (g - m)
        v.mul_(beta2).addcmul_(grad, grad * (1 - beta2))
        if self.option(group, "amsgrad"):
            v = torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        denom = (v.sqrt() / bias_correction2.sqrt()).add_(eps)
        param.addcdiv_(-step_size * m, denom)  # p -= step_size * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p = p - lr * weight_decay * p
    before the Adam step, instead of weight_decay * p added to the gradient (where Adam's
    scaling would shrink it for parameters with large gradients). Default weight_decay 1e-2."""

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )
