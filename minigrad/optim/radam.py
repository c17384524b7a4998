"""RAdam: Adam with its adaptive step size switched off, then phased in, while the running
average of squared gradients is too short to trust (Liu et al., 2019)."""

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


class RAdam(Optimizer):
    """torch's RAdam. v, an average over about rho steps, says little about the gradient's
    scale in the first steps; rho_t measures how many it averages so far, and the adaptive
    step is used only once rho_t > 5, scaled by r_t, which corrects its variance.

    Step t, for gradient g (-gradient with maximize=True):
        g = g + weight_decay * p       (or, decoupled as AdamW: p = p - lr * weight_decay * p)
        m = beta1 * m + (1 - beta1) * g            (the average gradient)
        v = beta2 * v + (1 - beta2) * g^2          (the average squared gradient)
        m_hat = m / (1 - beta1^t)
        rho_inf = 2 / (1 - beta2) - 1              (the length of v's average, in the long run)
        rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)   (and at step t)
        if rho_t > 5:
            l_t = sqrt(1 - beta2^t) / (sqrt(v) + eps)   (Adam's adaptive step size)
            r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            p = p - lr * m_hat * l_t * r_t
        else:
            p = p - lr * m_hat                     (SGD with momentum)

    The choice is made per element by torch.where on tensors (both sides are computed), so
    that the step count is never read back into Python.
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_non_negative(lr=lr, eps=eps)
        check_betas(betas)
        check_non_negative(weight_decay=weight_decay)
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            **implementation_flags(foreach=foreach, capturable=capturable),
            decoupled_weight_decay=decoupled_weight_decay,
            **implementation_flags(differentiable=differentiable),
        )
        super().__init__(params, defaults)

    def update(
        self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: Group
    ) -> None:
        if not state:
            state["step"] = step_counter(param)
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
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
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        m_hat = m / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * beta2**step / bias_correction2
        # (1 / x as torch writes it, a number over a tensor: x's reciprocal times the number)
        adaptive_lr = v.sqrt().add_(eps).reciprocal() * bias_correction2**0.5
        rectification = (
            (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
        ) ** 0.5
        rectified = m_hat * lr * adaptive_lr * rectification
        plain = m_hat * lr
        param.sub_(torch.where(rho_t > 5, rectified, plain))
