"""Adam: per-parameter step sizes from running averages of the gradient and its square."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from ..tensor import Tensor
from .optimizer import Optimizer, _check_non_negative


class Adam(Optimizer):
    """torch's Adam (weight decay as an L2 penalty added to the gradient, as torch.optim.Adam).

    Step t, for gradient g:
        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g            (the average gradient: momentum)
        v = beta2 * v + (1 - beta2) * g^2          (the average squared gradient: its scale)
        m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)   (m, v start at 0: unbias them)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
    ) -> None:
        super().__init__(params, lr)
        _check_non_negative(eps=eps, weight_decay=weight_decay)
        for i, beta in enumerate(betas):
            if not 0 <= beta < 1:
                raise ValueError(f"betas[{i}] must be in [0, 1), got {beta}")
        self.betas, self.eps, self.weight_decay = tuple(betas), eps, weight_decay

    def update(self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any]) -> None:
        beta1, beta2 = self.betas
        if not state:
            state.update(
                step=0, exp_avg=torch.zeros_like(param), exp_avg_sq=torch.zeros_like(param)
            )
        state["step"] += 1
        step, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if self.weight_decay != 0:
            grad = grad.add(param, alpha=self.weight_decay)
        m.mul_(beta1).add_(grad, alpha=1 - beta1)
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step_size = self.lr / (1 - beta1**step)
        denom = (v.sqrt() / math.sqrt(1 - beta2**step)).add_(self.eps)
        param.addcdiv_(m, denom, value=-step_size)
