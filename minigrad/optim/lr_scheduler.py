"""Learning-rate schedules: torch.optim.lr_scheduler's StepLR, MultiStepLR, ExponentialLR,
LambdaLR, MultiplicativeLR, ConstantLR, LinearLR, PolynomialLR, CosineAnnealingLR,
CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR, and ReduceLROnPlateau (which follows the loss
instead of a timetable: `scheduler.step(val_loss)` once per epoch). SequentialLR runs schedules
one after another (a warmup, then a decay); ChainedScheduler runs several at once.

A scheduler changes `group["lr"]` (and for OneCycleLR and CyclicLR the momentum) of its
optimizer's groups. Call `scheduler.step()` after `optimizer.step()`: once per epoch for StepLR
and usually CosineAnnealingLR, once per batch for OneCycleLR and CyclicLR.

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = OneCycleLR(opt, max_lr=0.1, total_steps=epochs * len(dls.train))
    for xb, yb in batches:
        loss_func(model(xb), yb).backward()
        opt.step()
        opt.zero_grad()
        sched.step()

The learning rates are Python numbers computed with the same formulas, in the same order, as
torch's, so they are equal to torch's to the last bit. The optimizer turns them into tensors
(see `Optimizer.hyperparameter`).
"""

from __future__ import annotations

import bisect
import functools
import math
import types
import warnings
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from ..autograd import events
from .optimizer import Optimizer

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]


class LRScheduler:
    """Base class: a subclass's `get_lr()` gives each group's learning rate for epoch
    `last_epoch` (a count of `step()` calls; the constructor makes the first, epoch 0).

    base_lrs: each group's starting lr (`group["initial_lr"]`, set from group["lr"]).
    get_last_lr(): the learning rates the last step set.
    state_dict() / load_state_dict(): everything but the optimizer, to resume a schedule.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__} schedules a minigrad.optim optimizer, got "
                f"{type(optimizer).__module__}.{type(optimizer).__name__}. Build the optimizer "
                "from minigrad.optim (e.g. minigrad.optim.SGD(model.parameters(), lr=0.1))."
            )
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}]: resuming a "
                        f"schedule with last_epoch={last_epoch} needs the optimizer state it "
                        "was saved with (load the optimizer's state_dict first), or start at "
                        "last_epoch=-1."
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """The constructor's own step, to epoch 0 (SequentialLR makes it again for the schedule
        it starts with). `_is_initial` lets a recursive get_lr keep the lr as it is."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """Each group's learning rate for epoch `self.last_epoch`."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr(self)")

    def step(self, epoch: int | None = None) -> None:
        """Move to the next epoch (or batch) and set each group's lr for it.

        `step(epoch)` (deprecated in torch, kept for old code) jumps to that epoch instead, and
        computes its lr from base_lrs in closed form where the schedule has one."""
        if events.current is not None:  # (minigrad.compile: a replay would not step it again)
            events.current.settings_changed(self, f"{type(self).__name__}.step()")
        self._step_count += 1
        counts_steps = type(self.optimizer).step is Optimizer.step  # (an own step() may not)
        if self._step_count == 2 and counts_steps and self.optimizer._steps_taken == 0:
            warnings.warn(
                f"{type(self).__name__}.step() was called before optimizer.step(). Call "
                "optimizer.step() first, then the scheduler's step(): the other way round the "
                "schedule's first learning rate is never used (as in torch).",
                UserWarning,
                stacklevel=2,
            )
        if epoch is not None:
            warnings.warn(
                f"{type(self).__name__}.step(epoch) is deprecated, as in torch: call step() "
                "once per epoch without an argument. With an epoch, the lr is computed from "
                "base_lrs in closed form, where the schedule has one.",
                UserWarning,
                stacklevel=2,
            )
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        """Set each group's lr for the next epoch, or for `epoch` (then in closed form if the
        schedule has `_get_closed_form_lr`, as torch; SequentialLR restarts a schedule so)."""
        if epoch is None:
            self.last_epoch += 1
            lrs = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            lrs = closed_form() if closed_form is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates the last `step()` set, one per parameter group."""
        return self._last_lr

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (save the optimizer's own state_dict beside it)."""
        return {key: value for key, value in vars(self).items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        vars(self).update(state_dict)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.get_last_lr()})"


class StepLR(LRScheduler):
    """Multiply the learning rate by `gamma` every `step_size` epochs:
    lr = base_lr * gamma ** (epoch // step_size)."""

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return lrs
        return [lr * self.gamma for lr in lrs]

    def _get_closed_form_lr(self) -> list[float]:
        return [
            base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs
        ]


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by `gamma` at each epoch in `milestones` (once per time it is
    listed): lr = base_lr * gamma ** (the number of milestones passed)."""

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.milestones, self.gamma = Counter(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch not in self.milestones:
            return lrs
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in lrs]

    def _get_closed_form_lr(self) -> list[float]:
        passed = bisect.bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [base_lr * self.gamma**passed for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by `gamma` every epoch: lr = base_lr * gamma ** epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        return lrs if self._is_initial else [lr * self.gamma for lr in lrs]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma**self.last_epoch for base_lr in self.base_lrs]


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch): a function of your own (one for all groups, or a list
    with one per group), e.g. lambda epoch: 0.95 ** epoch. Its state_dict keeps no functions
    (only the attributes of callable objects), as torch's."""

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        self.lr_lambdas = _lambdas_per_group(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [
            base_lr * lr_lambda(self.last_epoch)
            for lr_lambda, base_lr in zip(self.lr_lambdas, self.base_lrs)
        ]

    def state_dict(self) -> dict[str, Any]:
        return _state_with_lambdas(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _load_state_with_lambdas(self, state_dict)


def _lambdas_per_group(optimizer: Optimizer, lr_lambda: Any) -> list[Any]:
    """LambdaLR's and MultiplicativeLR's functions: one per group, or one for all."""
    groups = optimizer.param_groups if isinstance(optimizer, Optimizer) else []
    if isinstance(lr_lambda, (list, tuple)):
        if len(lr_lambda) != len(groups):
            raise ValueError(f"Expected {len(groups)} lr_lambdas, but got {len(lr_lambda)}")
        return list(lr_lambda)
    return [lr_lambda] * len(groups)


def _state_with_lambdas(scheduler: LambdaLR | MultiplicativeLR) -> dict[str, Any]:
    """The state, with each lr_lambda's attributes if it is a callable object (a function or
    lambda is saved as None: it cannot be pickled), as torch's."""
    state = {k: v for k, v in vars(scheduler).items() if k not in ("optimizer", "lr_lambdas")}
    state["lr_lambdas"] = [
        None if isinstance(f, types.FunctionType) else dict(vars(f)) for f in scheduler.lr_lambdas
    ]
    return state


def _load_state_with_lambdas(
    scheduler: LambdaLR | MultiplicativeLR, state_dict: dict[str, Any]
) -> None:
    state = dict(state_dict)
    lambdas = state.pop("lr_lambdas")
    vars(scheduler).update(state)
    for f, saved in zip(scheduler.lr_lambdas, lambdas):
        if saved is not None:
            vars(f).update(saved)


class CosineAnnealingLR(LRScheduler):
    """Lower the learning rate along half a cosine, from base_lr to `eta_min` in `T_max` epochs
    (and back up over the next T_max, if stepped further):

        lr(t) = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2

    As torch, each step computes it from the previous lr (lr(t) - eta_min is lr(t-1) - eta_min
    times the ratio of consecutive cosine factors), so that a change made to the lr between
    steps carries on along the curve.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,
        eta_min: float = 0.0,
        last_epoch: int = -1,  # noqa: N803
    ) -> None:
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups, t = self.optimizer.param_groups, self.last_epoch
        t_max, eta_min = self.T_max, self.eta_min
        if self._is_initial:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and t > 0:  # resumed at epoch t: the closed form
            return [
                eta_min + (base_lr - eta_min) * (1 + math.cos(t * math.pi / t_max)) / 2
                for base_lr in self.base_lrs
            ]
        if (t - 1 - t_max) % (2 * t_max) == 0:  # at the bottom: the factor's ratio is 0/0
            return [
                group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
                for base_lr, group in zip(self.base_lrs, groups)
            ]
        ratio = (1 + math.cos(math.pi * t / t_max)) / (1 + math.cos(math.pi * (t - 1) / t_max))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        cosine = 1 + math.cos(math.pi * self.last_epoch / self.T_max)
        return [self.eta_min + (base_lr - self.eta_min) * cosine / 2 for base_lr in self.base_lrs]


class MultiplicativeLR(LRScheduler):
    """Multiply the learning rate by `lr_lambda(epoch)` at each step after the first:
    lr(t) = lr(t-1) * lr_lambda(t), so lr(t) = base_lr * lr_lambda(1) * ... * lr_lambda(t).
    Unlike LambdaLR (base_lr times the function), the factors accumulate. One function for all
    groups, or a list with one per group; its state_dict keeps the attributes of callable
    objects (not functions), as LambdaLR's."""

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        self.lr_lambdas = _lambdas_per_group(optimizer, lr_lambda)
        for f in self.lr_lambdas:
            if not callable(f):
                raise TypeError(
                    f"lr_lambda should be a function, but got {type(f).__name__}: give a "
                    "function of the epoch that returns the factor, e.g. lambda epoch: 0.95."
                )
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        return [group["lr"] * f(self.last_epoch) for f, group in zip(self.lr_lambdas, groups)]

    def state_dict(self) -> dict[str, Any]:
        return _state_with_lambdas(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _load_state_with_lambdas(self, state_dict)


class ConstantLR(LRScheduler):
    """Run the first `total_iters` epochs at a fraction of the learning rate, then at the full
    rate (a simple warmup):

        lr(t) = base_lr * factor   for t < total_iters,
        lr(t) = base_lr            from t = total_iters on.

    As torch, each step works on the current lr: it multiplies it by `factor` at epoch 0 and by
    1 / factor at epoch total_iters, and leaves it alone otherwise."""

    def __init__(
        self,
        optimizer: Optimizer,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if factor > 1.0 or factor < 0:
            raise ValueError(
                f"Constant multiplicative factor expected to be between 0 and 1, got "
                f"factor={factor}: the lr during the first total_iters epochs is lr * factor."
            )
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0:
            return [lr * self.factor for lr in lrs]
        if self.last_epoch != self.total_iters:
            return lrs
        return [lr * (1.0 / self.factor) for lr in lrs]

    def _get_closed_form_lr(self) -> list[float]:
        done = self.last_epoch >= self.total_iters  # (True counts as 1, as in torch's sum)
        return [base_lr * (self.factor + done * (1 - self.factor)) for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Move the learning rate's factor in a straight line from `start_factor` to `end_factor`
    over `total_iters` epochs, then keep it (the usual linear warmup, with end_factor=1):

        lr(t) = base_lr * (start_factor + (end_factor - start_factor) * min(t, total_iters)
                           / total_iters)

    As torch, each step multiplies the current lr by the ratio of consecutive factors,
    1 + (end - start) / (total_iters * start + (t - 1) * (end - start)), so that a change made to
    the lr between steps carries on (`step(epoch)` uses the formula above)."""

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(
                "Starting multiplicative factor expected to be greater than 0 and less or equal "
                f"to 1, got start_factor={start_factor} (the first lr is lr * start_factor)."
            )
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError(
                "Ending multiplicative factor expected to be between 0 and 1, got "
                f"end_factor={end_factor} (the lr after total_iters epochs is lr * end_factor)."
            )
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in lrs]
        if self._is_initial or self.last_epoch > self.total_iters:
            return lrs
        change = self.end_factor - self.start_factor
        previous = self.total_iters * self.start_factor + (self.last_epoch - 1) * change
        return [lr * (1.0 + change / previous) for lr in lrs]

    def _get_closed_form_lr(self) -> list[float]:
        change = self.end_factor - self.start_factor
        progress = min(self.total_iters, self.last_epoch)
        factor = self.start_factor + change * progress / self.total_iters
        return [base_lr * factor for base_lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Bring the learning rate down to 0 along a polynomial in `total_iters` epochs, then keep it:

        lr(t) = base_lr * (1 - min(t, total_iters) / total_iters) ** power

    (power=1 is a straight line). As torch, each step multiplies the current lr by
    ((1 - t / total_iters) / (1 - (t - 1) / total_iters)) ** power; `step(epoch)` uses the
    formula above."""

    def __init__(
        self,
        optimizer: Optimizer,
        total_iters: int = 5,
        power: float = 1.0,
        last_epoch: int = -1,
    ) -> None:
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        t, total = self.last_epoch, self.total_iters
        if self._is_initial or t > total:
            return lrs
        decay = ((1.0 - t / total) / (1.0 - (t - 1) / total)) ** self.power
        return [lr * decay for lr in lrs]

    def _get_closed_form_lr(self) -> list[float]:
        left = 1.0 - min(self.total_iters, self.last_epoch) / self.total_iters
        return [base_lr * left**self.power for base_lr in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR: cosine annealing from base_lr down to `eta_min` over `T_i` epochs, then a restart at
    base_lr; each period is `T_mult` times longer than the one before (T_0 first):

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    where T_cur counts the epochs since the last restart. `step()` moves one epoch on;
    `step(epoch)` jumps to an epoch, which may be fractional to anneal within an epoch:
    `scheduler.step(epoch + i / iters_per_epoch)` after batch i. The lr is always this closed
    form (no recursion)."""

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,  # noqa: N803
        T_mult: int = 1,  # noqa: N803
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(
                f"Expected positive integer T_0, but got {T_0}: T_0 is the number of epochs "
                "before the first restart."
            )
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(
                f"Expected integer T_mult >= 1, but got {T_mult}: each period is T_mult times "
                "the one before (1 keeps them all T_0 long)."
            )
        if not isinstance(eta_min, (float, int)):
            raise ValueError(
                f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}: "
                "eta_min is the lowest lr, a number."
            )
        self.T_0, self.T_i, self.T_mult = T_0, T_0, T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        cosine = 1 + math.cos(math.pi * self.T_cur / self.T_i)
        return [self.eta_min + (base_lr - self.eta_min) * cosine / 2 for base_lr in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """The next epoch, or `epoch` (a number of epochs, fractional to step within one).
        As torch's, this step neither counts calls nor warns about their order."""
        if events.current is not None:  # (minigrad.compile: a replay would not step it again)
            events.current.settings_changed(self, f"{type(self).__name__}.step()")
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:  # a restart
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        elif epoch < 0:
            raise ValueError(f"Expected non-negative epoch, but got {epoch}")
        elif epoch < self.T_0:
            self.T_i, self.T_cur = self.T_0, epoch
        elif self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        else:  # periods T_0 * T_mult**k: n restarts so far, a geometric sum of them behind
            n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult**n
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


class CyclicLR(LRScheduler):
    """Leslie Smith's cyclical learning rates: the lr goes up from `base_lr` towards `max_lr`
    in `step_size_up` batches and back down in `step_size_down` (default: as many), again and
    again. Step it after every batch. With t the batch count and a cycle of
    total = step_size_up + step_size_down batches:

        cycle = floor(1 + t / total)                 (1 for the first cycle)
        x     = 1 + t / total - cycle                (how far into this cycle, 0 to 1)
        scale = x / r if x <= r else (x - 1) / (r - 1),   r = step_size_up / total
        lr    = base_lr + (max_lr - base_lr) * scale * scale_fn(cycle, or t)

    mode picks scale_fn: 'triangular' 1 (plain triangles), 'triangular2' 1 / 2**(cycle - 1)
    (each cycle half as high), 'exp_range' gamma**t (shrinking at every batch). A `scale_fn` of
    your own replaces mode, called with the cycle number (scale_mode='cycle') or the batch count
    ('iterations'). With `cycle_momentum`, the momentum (SGD's momentum, Adam's beta1) moves the
    other way: momentum = max_momentum - (max_momentum - base_momentum) * scale * scale_fn(...).
    The constructor sets each group's lr to base_lr (and its momentum to max_momentum).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | list[float],
        max_lr: float | list[float],
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.8,
        max_momentum: float | list[float] = 0.9,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            super().__init__(optimizer, last_epoch)  # raises the base class's TypeError
        self.optimizer = optimizer
        groups = optimizer.param_groups
        base_lrs = _per_group("base_lr", base_lr, groups)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, groups):
                group["lr"] = lr
        self.max_lrs = _per_group("max_lr", max_lr, groups)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(
                f"mode is invalid and scale_fn is None: mode={mode!r}; use 'triangular', "
                "'triangular2' or 'exp_range', or pass a scale_fn of your own."
            )
        self.mode, self.gamma = mode, gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    "optimizer must support momentum or beta1 with `cycle_momentum` option "
                    f"enabled: {type(optimizer).__name__} has neither; pass cycle_momentum=False "
                    "(or use SGD, RMSprop, Adam...)."
                )
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group("base_momentum", base_momentum, groups)
            self.max_momentums = _per_group("max_momentum", max_momentum, groups)
            if last_epoch == -1:
                for high, low, group in zip(self.max_momentums, self.base_momentums, groups):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs  # (as torch: after the first step, which used initial_lr)

    def _init_scale_fn(self) -> None:
        """The built-in scale_fn of `mode` (and the scale_mode it goes with), unless the user
        gave one. Kept out of state_dict: load_state_dict calls this again."""
        if self._scale_fn_custom is not None:
            return
        if self.mode == "triangular":
            self._scale_fn_ref, self.scale_mode = _triangular_scale, "cycle"
        elif self.mode == "triangular2":
            self._scale_fn_ref, self.scale_mode = _triangular2_scale, "cycle"
        elif self.mode == "exp_range":
            self._scale_fn_ref = functools.partial(_exp_range_scale, self.gamma)
            self.scale_mode = "iterations"

    def scale_fn(self, x: float) -> float:
        """How much of the cycle's height to use at x (the cycle number or the batch count)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        return self._scale_fn_ref(x)

    def _set_momentum(self, group: dict[str, Any], momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle
        if x <= self.step_ratio:  # going up
            scale = x / self.step_ratio
        else:  # coming down
            scale = (x - 1) / (self.step_ratio - 1)
        shrink = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        lrs = [
            base_lr + (max_lr - base_lr) * scale * shrink
            for base_lr, max_lr in zip(self.base_lrs, self.max_lrs)
        ]
        if self.cycle_momentum:
            momenta = [
                high - (high - low) * scale * shrink
                for low, high in zip(self.base_momentums, self.max_momentums)
            ]
            for group, momentum in zip(self.optimizer.param_groups, momenta):
                self._set_momentum(group, momentum)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """As torch's: no built-in scale_fn, and of your own scale_fn only a callable object's
        attributes (a function or lambda is saved as None)."""
        state = super().state_dict()
        state.pop("_scale_fn_ref", None)
        custom = state.pop("_scale_fn_custom")
        keep = custom is not None and not isinstance(custom, types.FunctionType)
        state["_scale_fn_custom"] = dict(vars(custom)) if keep else None
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        custom = state.pop("_scale_fn_custom")
        vars(self).update(state)
        if custom is not None:
            vars(self._scale_fn_custom).update(custom)
        self._init_scale_fn()


def _triangular_scale(x: float) -> float:
    return 1.0


def _triangular2_scale(x: float) -> float:
    return 1 / (2.0 ** (x - 1))


def _exp_range_scale(gamma: float, x: float) -> float:
    return gamma**x


class OneCycleLR(LRScheduler):
    """Leslie Smith's 1cycle policy, as fastai and torch run it: over `total_steps` batches
    (or `epochs * steps_per_epoch`), the learning rate climbs from max_lr / div_factor to
    max_lr during the first `pct_start` of the steps, then anneals down to
    max_lr / div_factor / final_div_factor. Momentum (SGD's momentum, or Adam's beta1) moves the
    other way, from max_momentum down to base_momentum and back, when `cycle_momentum`.

    Each phase goes from `start` to `end` as pct goes from 0 to 1:
        'cos':    end + (start - end) / 2 * (1 + cos(pi * pct))
        'linear': start + (end - start) * pct
    `three_phase=True` climbs, comes back down to the start symmetrically, then anneals.
    Step it after every batch; stepping past total_steps is an error.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            super().__init__(optimizer, last_epoch)  # raises the base class's TypeError
        self.optimizer = optimizer
        self.total_steps = _total_steps(total_steps, epochs, steps_per_epoch)
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(
                f"pct_start is the fraction of the steps spent raising the lr: a float in "
                f"[0, 1], got {pct_start!r}."
            )
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}.")
        self._anneal_func_type = anneal_strategy
        # each phase: the step it ends at, and the group settings it goes from and to
        top, last = float(pct_start * self.total_steps) - 1, self.total_steps - 1
        self._schedule_phases = [
            _phase(top, "initial_lr", "max_lr", "momentum down"),
            _phase(last, "max_lr", "min_lr", "momentum up"),
        ]
        if three_phase:  # up, back down to the start, then on down to min_lr
            back = float(2 * pct_start * self.total_steps) - 2
            self._schedule_phases[1:] = [
                _phase(back, "max_lr", "initial_lr", "momentum up"),
                _phase(last, "initial_lr", "min_lr", "momentum flat"),
            ]
        groups = optimizer.param_groups
        max_lrs = _per_group("max_lr", max_lr, groups)
        if last_epoch == -1:
            for group, group_max_lr in zip(groups, max_lrs):
                group["initial_lr"] = group_max_lr / div_factor
                group["max_lr"] = group_max_lr
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    f"cycle_momentum=True needs an optimizer with momentum or betas (SGD, "
                    f"RMSprop, Adam...), and {type(optimizer).__name__} has neither; pass "
                    "cycle_momentum=False."
                )
            self.use_beta1 = "betas" in optimizer.defaults
            max_momentums = _per_group("max_momentum", max_momentum, groups)
            base_momentums = _per_group("base_momentum", base_momentum, groups)
            if last_epoch == -1:
                for group, high, low in zip(groups, max_momentums, base_momentums):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _set_momentum(self, group: dict[str, Any], momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"Tried to step {step} times. The specified number of total steps is "
                f"{self.total_steps}: OneCycleLR's schedule ends there. Give total_steps (or "
                "epochs and steps_per_epoch) for the whole run, and step once per batch."
            )
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        start, end = group[phase["start_momentum"]], group[phase["end_momentum"]]
                        self._set_momentum(group, self._anneal(start, end, pct))
                    break
                start_step = end_step
        return lrs


def _phase(end_step: float, start_lr: str, end_lr: str, momentum: str) -> dict[str, Any]:
    """A phase of OneCycleLR, in torch's layout (so that state_dicts are interchangeable)."""
    start_momentum, end_momentum = {
        "momentum down": ("max_momentum", "base_momentum"),
        "momentum up": ("base_momentum", "max_momentum"),
        "momentum flat": ("max_momentum", "max_momentum"),
    }[momentum]
    return dict(
        end_step=end_step,
        start_lr=start_lr,
        end_lr=end_lr,
        start_momentum=start_momentum,
        end_momentum=end_momentum,
    )


def _total_steps(total_steps: int | None, epochs: int | None, steps_per_epoch: int | None) -> int:
    if total_steps is not None:
        if not isinstance(total_steps, int) or total_steps <= 0:
            raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
        return total_steps
    if epochs is None or steps_per_epoch is None:
        raise ValueError(
            "OneCycleLR needs the length of the cycle: total_steps, or both epochs and "
            "steps_per_epoch (e.g. steps_per_epoch=len(train_loader))."
        )
    for name, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f"Expected positive integer {name}, but got {value}")
    return epochs * steps_per_epoch


def _per_group(name: str, value: Any, groups: list[dict[str, Any]]) -> list[Any]:
    """One value per parameter group: a list given as one per group, or a number for all."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise ValueError(
                f"{name} has {len(value)} values but the optimizer has {len(groups)} parameter "
                "groups: give one per group, or a single number for all."
            )
        return list(value)
    return [value] * len(groups)


class ReduceLROnPlateau(LRScheduler):
    """Lower the learning rate when the loss stops improving: no timetable, it watches a number.

        scheduler = ReduceLROnPlateau(opt, factor=0.5, patience=3)
        for epoch in range(epochs):
            train_one_epoch()
            scheduler.step(validation_loss)   # a float, or a 0-d Tensor

    The rule, at each step(metric):
      - An epoch counts as an improvement if the metric beats the best so far by more than
        `threshold`: in 'min' mode, metric < best * (1 - threshold) ('rel') or
        metric < best - threshold ('abs'); in 'max' mode (an accuracy), metric > best * (1 +
        threshold) or metric > best + threshold. An improvement becomes the new best and resets
        the count of bad epochs; any other epoch (a NaN metric too) adds one bad epoch.
      - When there have been more than `patience` bad epochs in a row, every group's lr is
        multiplied by `factor` (but not below its `min_lr`, and not at all if that would change it
        by no more than `eps`), and the count starts again.
      - After a reduction, the next `cooldown` epochs count no bad epochs: the model gets time
        to profit from the smaller lr before it is judged again.

    The first step always improves on the starting best (inf, or -inf in 'max' mode).
    Attributes as torch's: best, num_bad_epochs, cooldown_counter, last_epoch (steps taken),
    min_lrs; `state_dict()` holds everything but the optimizer, with the same keys as torch's.
    A compiled training step reads the lr from the optimizer's param_groups before each replay,
    so a reduction takes effect at the next step, compiled or not.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0,
        eps: float = 1e-8,
    ) -> None:
        if factor >= 1.0:
            raise ValueError(
                f"Factor should be < 1.0. (got factor={factor}): the new lr is lr * factor, so "
                "a factor of 1 or more would not lower it; e.g. factor=0.1 or 0.5."
            )
        self.factor = factor
        if not isinstance(optimizer, Optimizer):
            super().__init__(optimizer)  # raises the base class's TypeError
        self.optimizer = optimizer
        groups = optimizer.param_groups
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(groups):
                raise ValueError(
                    f"expected {len(groups)} min_lrs, got {len(min_lr)}: give min_lr one value "
                    "per parameter group of the optimizer, or a single number for all."
                )
            self.default_min_lr: float | None = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(groups)
        self.patience, self.cooldown, self.eps = patience, cooldown, eps
        self.last_epoch = 0  # no step() made by the constructor, unlike the other schedules
        self._last_lr = [group["lr"] for group in groups]
        self._init_is_better(mode, threshold, threshold_mode)
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(
                f"mode {mode!r} is unknown! Use mode='min' for a metric that should go down (a "
                "loss) or mode='max' for one that should go up (an accuracy)."
            )
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"threshold mode {threshold_mode!r} is unknown! Use threshold_mode='rel' (beat "
                "the best by a fraction, threshold * best) or 'abs' (by threshold itself)."
            )
        self.mode_worse = math.inf if mode == "min" else -math.inf  # any metric beats it
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode

    def _is_better(self, metric: float, best: float) -> bool:
        """Whether `metric` improves on `best` by more than the threshold (False for a NaN)."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return metric < best * (1.0 - self.threshold)
        if self.mode == "min":
            return metric < best - self.threshold
        if self.threshold_mode == "rel":
            return metric > best * (self.threshold + 1.0)
        return metric > best + self.threshold

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def step(self, metrics: Any) -> None:  # type: ignore[override]
        """One epoch's metric (a float, or a one-element Tensor): count it as an improvement or a
        bad epoch, and lower the lr if the bad epochs have outlasted `patience`."""
        if events.current is not None:  # (minigrad.compile: a replay would not step it again)
            events.current.settings_changed(self, f"{type(self).__name__}.step()")
        current = _metric_value(metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):  # a group was added since
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"The number of param groups in the `optimizer` ({len(groups)}) differs "
                    f"from when `ReduceLROnPlateau` was initialized ({len(self.min_lrs)}), "
                    "usually due to a new param group being added to the optimizer. Please "
                    "modify the `min_lrs` field to match the length of the `optimizer` param "
                    "groups (scheduler.min_lrs.append(its min_lr))."
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        vars(self).update(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)


def _metric_value(metrics: Any) -> float:
    """The metric as a Python float: a number, or a one-element minigrad or torch tensor."""
    if hasattr(metrics, "numel") and metrics.numel() != 1:
        raise ValueError(
            f"ReduceLROnPlateau.step takes one number (the epoch's loss or accuracy), got a "
            f"tensor of shape {tuple(metrics.shape)}: reduce it first, e.g. losses.mean()."
        )
    return float(metrics)


def _check_inner_schedulers(
    owner: str, optimizer: Optimizer, schedulers: list[LRScheduler]
) -> None:
    """SequentialLR and ChainedScheduler take step()-able schedules of their own optimizer."""
    for i, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise TypeError(
                f"{owner} at index {i} should have `optimizer` as its attribute: give "
                f"schedulers built on the optimizer, got a {type(scheduler).__name__}."
            )
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(
                f"{owner} does not support `ReduceLROnPlateau` scheduler as it requires "
                f"additional kwargs to be specified when calling `step`, but got one at index "
                f"{i} in the given schedulers sequence."
            )
        if optimizer != scheduler.optimizer:
            raise ValueError(
                f"{owner} expects all schedulers to belong to the same optimizer, but got "
                f"scheduler {type(scheduler).__name__} at index {i} has {scheduler.optimizer}, "
                f"which is different from {type(optimizer).__name__}."
            )


class SequentialLR(LRScheduler):
    """One schedule after another: `schedulers[0]` until epoch `milestones[0]`, then
    `schedulers[1]` (restarted at its epoch 0) until `milestones[1]`, and so on. The usual
    warmup recipe:

        warmup = LinearLR(opt, start_factor=0.01, total_iters=5)
        cosine = CosineAnnealingLR(opt, T_max=epochs - 5)
        scheduler = SequentialLR(opt, schedulers=[warmup, cosine], milestones=[5])

    The constructor undoes the first step each schedule's own constructor made (lr back to
    initial_lr, last_epoch back by one) and starts the first one again. At a milestone the next
    schedule jumps to its epoch 0 in closed form (`step(0)`). state_dict holds each schedule's.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: list[LRScheduler],
        milestones: list[int],
        last_epoch: int = -1,
    ) -> None:
        if len(schedulers) < 1:
            raise ValueError(
                f"{type(self).__name__} expects at least one scheduler, but got no scheduler."
            )
        _check_inner_schedulers(type(self).__name__, optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more than "
                f"the number of milestone points, but got number of schedulers {len(schedulers)} "
                f"and the number of milestones to be equal to {len(milestones)}: milestones are "
                "the epochs where one schedule hands over to the next."
            )
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:  # undo the steps the schedules' constructors made
            group["lr"] = group["initial_lr"]
        self.recursive_undo()
        first = self._schedulers[bisect.bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def recursive_undo(self, sched: Any = None) -> None:
        """Take one epoch off every schedule inside (and inside those), to undo the step their
        constructors made."""
        scheds = self if sched is None else sched
        if hasattr(scheds, "_schedulers"):
            for inner in scheds._schedulers:
                self.recursive_undo(inner)
        elif hasattr(scheds, "last_epoch"):
            scheds.last_epoch -= 1

    def step(self) -> None:  # type: ignore[override]
        """Step the schedule of this epoch; at a milestone, start the next one at its epoch 0."""
        if events.current is not None:  # (minigrad.compile: a replay would not step it again)
            events.current.settings_changed(self, f"{type(self).__name__}.step()")
        self.last_epoch += 1
        idx = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        return _state_with_schedulers(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _load_state_with_schedulers(self, state_dict)


class ChainedScheduler(LRScheduler):
    """Several schedules at once: each step() steps every one of them, in order, so their
    factors multiply (each works on the lr the one before it set), e.g. a ConstantLR warmup
    with an ExponentialLR decay. The schedules must be chainable (recursive, as ConstantLR,
    ExponentialLR, StepLR, LinearLR...; not LambdaLR, which overwrites the lr).
    state_dict holds each schedule's."""

    def __init__(self, schedulers: list[LRScheduler], optimizer: Optimizer | None = None) -> None:
        if len(schedulers) < 1:
            raise ValueError(
                f"{type(self).__name__} expects at least one scheduler to be chained, but got "
                "no scheduler."
            )
        optimizer = optimizer or schedulers[0].optimizer
        _check_inner_schedulers(type(self).__name__, optimizer, schedulers)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = [group["lr"] for group in self._schedulers[-1].optimizer.param_groups]

    def step(self) -> None:  # type: ignore[override]
        """Step each schedule, in order."""
        if events.current is not None:  # (minigrad.compile: a replay would not step it again)
            events.current.settings_changed(self, f"{type(self).__name__}.step()")
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = [group["lr"] for group in self._schedulers[-1].optimizer.param_groups]

    def get_lr(self) -> list[float]:
        raise NotImplementedError(
            "ChainedScheduler has no learning rate of its own for an epoch (its step() steps its "
            "schedules), so a SequentialLR cannot start it at a milestone, as in torch: put it "
            "first in the SequentialLR, or build the SequentialLR inside the ChainedScheduler."
        )

    def __repr__(self) -> str:
        names = ", ".join(type(scheduler).__name__ for scheduler in self._schedulers)
        return f"ChainedScheduler([{names}], lr={self.get_last_lr()})"

    def state_dict(self) -> dict[str, Any]:
        return _state_with_schedulers(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _load_state_with_schedulers(self, state_dict)


def _state_with_schedulers(owner: SequentialLR | ChainedScheduler) -> dict[str, Any]:
    """The state of SequentialLR or ChainedScheduler, with each inner schedule's state_dict."""
    state = {k: v for k, v in vars(owner).items() if k not in ("optimizer", "_schedulers")}
    state["_schedulers"] = [scheduler.state_dict() for scheduler in owner._schedulers]
    return state


def _load_state_with_schedulers(
    owner: SequentialLR | ChainedScheduler, state_dict: dict[str, Any]
) -> None:
    state = dict(state_dict)
    inner = state.pop("_schedulers")
    vars(owner).update(state)
    for scheduler, saved in zip(owner._schedulers, inner):
        scheduler.load_state_dict(saved)
