"""Adagrad: each parameter's step shrinks with the sum of all its squared gradients so far."""

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


class Adagrad(Optimizer):
    """torch's Adagrad, step t (g = the gradient, or -gradient with maximize=True):
    g = g + weight_decay * p
    lr_t = lr / (1 + (t - 1) * lr_decay)
    sum = sum + g^2                      (starts at initial_accumulator_value)
    p = p - lr_t * g / (sqrt(sum) + eps)
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_non_negative(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
            **implementation_flags(differentiable=differentiable, fused=fused),
        )
        super().__init__(params, defaults)
        for group in self.param_groups:  # as torch: the state exists before the first step
            for p in group["params"]:
                self._init_state(p._data, self.state[p], group)

    def _init_state(self, param: torch.Tensor, state: dict[str, Any], group: Group) -> None:
        state["step"] = step_counter(param)
        state["sum"] = torch.full_like(
            param, group["initial_accumulator_value"], memory_format=torch.preserve_format
        )

    def update(
        self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: Group
    ) -> None:
        if not state:  # a group added after construction
            self._init_state(param, state, group)
        lr = self.hyperparameter(group, "lr", like=param)
        lr_decay = self.hyperparameter(group, "lr_decay", like=param)
        eps = self.hyperparameter(group, "eps", like=param)
        step, state_sum = state["step"], state["sum"]
        if self.option(group, "maximize"):
            grad = -grad
        step += 1
        if self.option(group, "weight_decay", nonzero=True):
            grad = grad.addcmul(param, self.hyperparameter(group, "weight_decay", like=param))
        decayed_lr = lr / (1 + (step - 1) * lr_decay)
        state_sum.addcmul_(grad, grad)
        std = state_sum.sqrt().add_(eps)
        param.addcdiv_(-decayed_lr * grad, std)  # p -= decayed_lr * g / std
