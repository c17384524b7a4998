"""Rprop: each weight has its own step size, grown while its gradient keeps its sign and
shrunk when the sign flips; only the gradient's sign is used, never its size."""

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


class Rprop(Optimizer):
    """torch's Rprop (resilient backpropagation, Riedmiller & Braun 1993; torch's variant skips
    the step after a sign flip). Meant for full-batch training: noisy minibatch gradients flip
    sign by chance.

    Step, for gradient g (-gradient with maximize=True), with etas = (etaminus, etaplus):
        s = sign(g * g_prev)           (+1: same sign as last step, -1: flipped, 0: either is 0)
        step_size = step_size * (etaplus where s > 0, etaminus where s < 0, 1 where s = 0),
                    clamped to step_sizes = (smallest, largest)
        g = 0 where s < 0              (overshot: no move now, and no shrinking again next step)
        p = p - sign(g) * step_size
        g_prev = g

    step_size starts at lr for every element, g_prev at 0.
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_non_negative(lr=lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(
                f"etas must be (etaminus, etaplus) with 0 < etaminus < 1 < etaplus, got {etas}: "
                "a step size shrinks by etaminus after a sign flip and grows by etaplus "
                "otherwise (torch's default is (0.5, 1.2))."
            )
        defaults = dict(
            lr=lr,
            etas=etas,
            step_sizes=step_sizes,
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
            state["prev"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            lr = self.hyperparameter(group, "lr", like=param)
            state["step_size"] = torch.zeros_like(param).add_(lr)  # lr, rounded to p's dtype
        etaminus, etaplus = self.hyperparameter(group, "etas", like=param)
        smallest, largest = self.hyperparameter(group, "step_sizes", like=param)
        prev, step_size = state["prev"], state["step_size"]
        if self.option(group, "maximize"):
            grad = -grad
        state["step"] += 1
        agreement = grad.mul(prev).sign()
        factor = torch.ones_like(param)  # where the product is 0
        factor = torch.where(agreement > 0, etaplus, factor)
        factor = torch.where(agreement < 0, etaminus, factor)
        step_size.mul_(factor).clamp_(smallest, largest)
        grad = torch.where(agreement < 0, 0, grad)
        param.addcmul_(grad.sign(), step_size, value=-1)  # p -= sign(g) * step_size
        prev.copy_(grad)
