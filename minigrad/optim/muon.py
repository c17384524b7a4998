"""Muon: momentum, then each matrix's update orthogonalized (its singular values made about 1)."""

from __future__ import annotations

import math
from typing import Any

import torch

from .optimizer import Group, Optimizer, Params, check_non_negative

# The quintic Newton-Schulz iteration's coefficients (Keller Jordan's, torch's defaults): chosen
# for a steep slope at 0, so that five steps bring every singular value near 1 (to [0.5, 1.5]).
NEWTON_SCHULZ = (3.4445, -4.7750, 2.0315)


class Muon(Optimizer):
    """torch's Muon, for 2-d parameters (the weight matrices; their biases and embeddings go to
    another optimizer, AdamW say). Step t, for gradient g of a matrix p:
        buf = momentum * buf + (1 - momentum) * g
        u = (1 - momentum) * g + momentum * buf if nesterov else buf
        O = u with its singular values pushed to about 1 (`orthogonalized`: U S V^T -> U V^T,
            nearly), so that every direction of the update moves as far
        p = p - lr * weight_decay * p                (decoupled weight decay, as AdamW)
        p = p - lr * ratio * O, ratio = sqrt(max(1, rows / columns)) ("original"), or
            0.2 * sqrt(max(rows, columns)) with adjust_lr_fn="match_rms_adamw"
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = NEWTON_SCHULZ,
        eps: float = 1e-7,
        ns_steps: int = 5,
        adjust_lr_fn: str | None = None,
    ) -> None:
        check_non_negative(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if adjust_lr_fn not in (None, "original", "match_rms_adamw"):
            raise ValueError(
                f"adjust_lr_fn is None or 'original' (lr times sqrt(max(1, rows / columns))) or "
                f"'match_rms_adamw' (lr times 0.2 sqrt(max(rows, columns))), as torch's; got "
                f"{adjust_lr_fn!r}"
            )
        defaults = dict(
            lr=lr,
            weight_decay=weight_decay,
            momentum=momentum,
            nesterov=nesterov,
            ns_coefficients=tuple(ns_coefficients),
            eps=eps,
            ns_steps=ns_steps,
            adjust_lr_fn=adjust_lr_fn,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(
                        f"Muon moves matrices (2-d parameters), but got one of shape "
                        f"{tuple(p.shape)}: give biases, gains and other parameters to another "
                        "optimizer (AdamW, say), as torch's Muon asks."
                    )

    def update(
        self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: Group
    ) -> None:
        if not state:
            state["momentum_buffer"] = torch.zeros_like(grad, memory_format=torch.preserve_format)
        lr = self.hyperparameter(group, "lr", like=param)
        momentum = self.hyperparameter(group, "momentum", like=param)
        buf = state["momentum_buffer"]
        buf.lerp_(grad, 1 - momentum)  # buf + (1 - momentum) * (g - buf)
        update = grad.lerp(buf, momentum) if self.option(group, "nesterov") else buf
        steps, coefficients = self.option(group, "ns_steps"), self.option(group, "ns_coefficients")
        update = orthogonalized(update, coefficients, steps, self.option(group, "eps"))
        if self.option(group, "weight_decay", nonzero=True):
            param.mul_(1 - lr * self.hyperparameter(group, "weight_decay", like=param))
        ratio = lr_ratio(self.option(group, "adjust_lr_fn"), param.shape)
        param.addcmul_(update, lr * ratio, value=-1)  # p -= lr * ratio * O


def orthogonalized(
    g: torch.Tensor, coefficients: tuple[float, float, float], steps: int, eps: float
) -> torch.Tensor:
    """g with its singular values brought near 1, its singular vectors kept: a few steps of the
    quintic Newton-Schulz iteration X = a X + b (X X^T) X + c (X X^T)^2 X, on X = g / |g| (its
    singular values then at most 1), in bfloat16 as torch's. Each step maps a singular value s
    to a s + b s^3 + c s^5, which sends every s in (0, 1] towards 1."""
    if steps >= 100:
        raise ValueError(f"ns_steps must be below 100 (each is two matrix products), got {steps}")
    a, b, c = coefficients
    x = g.bfloat16()
    tall = g.size(0) > g.size(1)
    if tall:  # (the iteration's products are then of the smaller side's size)
        x = x.T
    x.div_(x.norm().clamp(min=eps))
    for _ in range(steps):
        gram = x @ x.T
        polynomial = torch.addmm(gram, gram, gram, beta=b, alpha=c)  # b X X^T + c (X X^T)^2
        x = torch.addmm(x, polynomial, x, beta=a)  # a X + (b X X^T + c (X X^T)^2) X
    return x.T if tall else x


def lr_ratio(adjust_lr_fn: str | None, shape: torch.Size) -> float:
    """How much a matrix of this shape scales Muon's lr (see Muon)."""
    rows, columns = shape[:2]
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(rows, columns))
    return math.sqrt(max(1, rows / columns))
