"""ASGD: SGD that also keeps the running average of the parameters it visits (Polyak and
Juditsky's averaging); the average, state["ax"], is the answer it offers, the parameters go on
as SGD's."""

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


class ASGD(Optimizer):
    """torch's ASGD. The step size eta decays as lr / (1 + lambd * lr * t)^alpha; averaging
    starts after t0 steps (until then mu = 1: the "average" is the parameter itself).

    Step t, for gradient g (-gradient with maximize=True):
        g = g + weight_decay * p
        p = p * (1 - lambd * eta) - eta * g        (an SGD step, with decay lambd)
        ax = ax + mu * (p - ax)                    (the average of p over steps t0 on)
        eta = lr / (1 + lambd * lr * t)^alpha      (the next step's size)
        mu = 1 / max(1, t - t0)                    (the next average's weight of p)

    eta starts at lr and mu at 1; both are 0-d tensors in the step count's dtype, as torch's.
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_non_negative(lr=lr, weight_decay=weight_decay)
        defaults = dict(
            lr=lr,
            lambd=lambd,
            alpha=alpha,
            t0=t0,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            **implementation_flags(differentiable=differentiable, capturable=capturable),
        )
        super().__init__(params, defaults)

    def update(
        self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: Group
    ) -> None:
        lr = self.hyperparameter(group, "lr", like=param)
        if not state:
            state["step"] = step_counter(param)
            state["eta"] = lr.to(state["step"].dtype, copy=True)
            state["mu"] = torch.ones_like(state["step"])
            state["ax"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        lambd = self.hyperparameter(group, "lambd", like=param)
        alpha = self.hyperparameter(group, "alpha", like=param)
        t0 = self.hyperparameter(group, "t0", like=param)
        step, eta, mu, ax = state["step"], state["eta"], state["mu"], state["ax"]
        if self.option(group, "maximize"):
            grad = -grad
        step += 1
        if self.option(group, "weight_decay", nonzero=True):
            grad = grad.addcmul(param, self.hyperparameter(group, "weight_decay", like=param))
        param.mul_(1 - lambd * eta)
        param.addcmul_(grad, eta, value=-1)  # p -= eta * g
        # (while mu is 1, ax is p itself, exactly: ax + (p - ax) could differ in the last bit)
        ax.copy_(torch.where(mu == 1, param, ax.add(param.sub(ax).mul_(mu))))
        # (both rounded to the step count's dtype, as torch's: it makes them tensors of Python
        # numbers, in the default dtype, and copies those in, even once a load made eta float64)
        eta.copy_((lr / (1 + lambd * lr * step) ** alpha).to(step.dtype))
        mu.copy_(torch.clamp(step - t0, min=1).reciprocal().to(step.dtype))
