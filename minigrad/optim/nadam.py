"""NAdam: Adam whose momentum looks one step ahead, as Nesterov's does (Dozat, 2016)."""

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


class NAdam(Optimizer):
    """torch's NAdam. The momentum coefficient mu_t warms up from beta1 / 2 towards beta1
    (momentum_decay sets how fast), and the step splits into the gradient's own share and
    momentum's share, the latter taken with next step's coefficient (the Nesterov look-ahead).

    Step t, for gradient g (-gradient with maximize=True):
        g = g + weight_decay * p       (or, decoupled as AdamW: p = p - lr * weight_decay * p)
        mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)),  mu_t+1 likewise with t + 1
        prod = prod * mu_t                         (state["mu_product"]: mu_1 * ... * mu_t)
        m = beta1 * m + (1 - beta1) * g            (the average gradient)
        v = beta2 * v + (1 - beta2) * g^2          (the average squared gradient)
        d = sqrt(v / (1 - beta2^t)) + eps
        p = p - lr * (1 - mu_t) / (1 - prod) * g / d
        p = p - lr * mu_t+1 / (1 - prod * mu_t+1) * m / d
    """

    def __init__(
        self,
        params: Params,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_non_negative(lr=lr, eps=eps)
        check_betas(betas)
        check_non_negative(weight_decay=weight_decay, momentum_decay=momentum_decay)
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
            **implementation_flags(
                foreach=foreach, capturable=capturable, differentiable=differentiable
            ),
        )
        super().__init__(params, defaults)

    def update(
        self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: Group
    ) -> None:
        if not state:
            state["step"] = step_counter(param)
            state["mu_product"] = step_counter(param).add_(1)  # a product of none: 1
            state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        lr = self.hyperparameter(group, "lr", like=param)
        beta1, beta2 = self.hyperparameter(group, "betas", like=param)
        eps = self.hyperparameter(group, "eps", like=param)
        momentum_decay = self.hyperparameter(group, "momentum_decay", like=param)
        step, mu_product = state["step"], state["mu_product"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        if self.option(group, "maximize"):
            grad = -grad
        step += 1
        if self.option(group, "weight_decay", nonzero=True):
            weight_decay = self.hyperparameter(group, "weight_decay", like=param)
            if self.option(group, "decoupled_weight_decay"):
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.addcmul(param, weight_decay)
        mu = beta1 * (1 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        # (mu rounded to the product's dtype first: torch multiplies by it as a Python number)
        mu_product.mul_(mu.to(mu_product.dtype))
        m.lerp_(grad, 1 - beta1)  # m + (1 - beta1) * (g - m)
        v.mul_(beta2).addcmul_(grad, grad * (1 - beta2))
        denom = v.div(1 - beta2**step).sqrt_().add_(eps)
        product = mu_product.to(mu.dtype)  # (torch reads it into a Python float, a double)
        grad_share = -lr * (1 - mu) / (1 - product)
        momentum_share = -lr * mu_next / (1 - product * mu_next)
        param.addcdiv_(grad_share * grad, denom)
        param.addcdiv_(momentum_share * m, denom)
