"""`Optimizer`: the base class of minigrad's optimizers (SGD, Adam...), with torch's interface.

An optimizer holds parameter groups: lists of parameters, each with its own settings.

    opt = SGD(model.parameters(), lr=0.1)                        # one group
    opt = SGD([{"params": body.parameters()},                    # two groups: the head trains
               {"params": head.parameters(), "lr": 1.0}],        # at its own lr, the rest at
              lr=0.1, momentum=0.9)                               # the defaults given after
    opt.param_groups[1]["lr"] = 0.5                               # change it between steps

After `loss.backward()`, `opt.step()` moves every parameter that has a gradient (a subclass's
`update` says how one parameter moves), and `opt.zero_grad()` clears the gradients (they add up
otherwise). `opt.state[p]` is what the optimizer remembers about parameter p (momentum...).
`state_dict()` and `load_state_dict()` save and restore all of it, in torch's layout.

Hyperparameters as tensors. A step runs the same torch calls every time; only the numbers in
them change (a scheduler moves lr, Adam's step count grows). So the numbers that enter the maths
reach torch as 0-d tensors, never as Python numbers: `hyperparameter(group, "lr", like=p)` keeps
one tensor per setting and refreshes it (`fill_`) when the group's value changes. A recording of
the step's torch calls (minigrad.compile) then stays right on later steps: it reads the same
tensors, and their values are current. Settings that decide *which* calls run (nesterov,
whether weight_decay is 0) are read through `option(...)`, which a recording can guard on.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import torch

from ..autograd import events
from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor, unwrap

Params = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]
Group = dict[str, Any]

# The dtype of the hyperparameter tensors (see Optimizer.hyperparameter).
HYPERPARAMETER_DTYPE = torch.float64


_SET_ERROR = (
    "parameters must come in an ordered collection (a list), not a set: a set's order changes "
    "between runs, and with it which saved state belongs to which parameter."
)


class _Required:
    """The default of a setting that every group must give (SGD's lr in old torch)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    def __init__(self, params: Params, defaults: dict[str, Any]) -> None:
        if isinstance(params, (Tensor, torch.Tensor)):
            raise TypeError(
                f"{type(self).__name__} takes an iterable of Tensors or of dicts (parameter "
                f"groups), got a single {type(params).__name__}. Pass a list: [tensor], or "
                "model.parameters()."
            )
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[Group] = []
        self._steps_taken = 0  # lets a scheduler warn when it is stepped first
        self._hyperparameters: dict[tuple[Any, ...], _Hyperparameter] = {}
        if isinstance(params, set):
            raise TypeError(_SET_ERROR)
        groups = list(params)
        if not groups:
            raise ValueError(
                f"{type(self).__name__} got an empty parameter list: nothing to train. Pass "
                "model.parameters() (a Module with Parameters), or a list of tensors that "
                "require grad."
            )
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)
        if not any(p.requires_grad for group in self.param_groups for p in group["params"]):
            raise ValueError(
                f"none of the {type(self).__name__}'s parameters requires grad, so none will "
                "ever get a gradient to step with. Make parameters with "
                "minigrad.nn.Parameter(...) or tensor.requires_grad_()."
            )

    # ---- parameter groups ---------------------------------------------------------------------

    def add_param_group(self, param_group: Group) -> None:
        """Add a group: {"params": tensors, and any setting that differs from the defaults}.
        Fine-tuning uses it to start training layers that were frozen."""
        if events.current is not None:  # (minigrad.compile: a replay would not add it again)
            events.current.settings_changed(self, f"{type(self).__name__}.add_param_group()")
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group is a dict, got {type(param_group).__name__}")
        group = param_group  # kept, not copied, as torch: the caller's dict is the group
        if "params" not in group:
            raise ValueError(
                "a parameter group needs a 'params' entry: {'params': model.parameters(), ...}"
            )
        params = group["params"]
        if isinstance(params, set):
            raise TypeError(_SET_ERROR)
        params = [params] if isinstance(params, Tensor) else list(params)
        if params and all(isinstance(p, tuple) for p in params):  # model.named_parameters()
            group["param_names"] = [name for name, _ in params]
            params = [p for _, p in params]
        for i, p in enumerate(params):
            _check_parameter(type(self).__name__, len(self.param_groups), i, p)
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    f"parameter group {len(self.param_groups)} gives no {name}, and "
                    f"{type(self).__name__} has no default for it: add '{name}': ... to the "
                    "group, or pass it as an argument."
                )
            group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            raise ValueError(
                f"parameter group {len(self.param_groups)} lists a parameter twice: it would "
                "be stepped twice per step. Pass each parameter once."
            )
        taken = {id(p): i for i, g in enumerate(self.param_groups) for p in g["params"]}
        for p in params:
            if id(p) in taken:
                raise ValueError(
                    f"a parameter{_named(p)} is in parameter group {taken[id(p)]} and again in "
                    f"group {len(self.param_groups)}; each parameter belongs to one group."
                )
        self.param_groups.append(group)

    # ---- a step -------------------------------------------------------------------------------

    @no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Move each parameter that has a gradient, in place (its torch tensor is updated).

        `closure`, if given, recomputes the loss (with gradients) first and is returned, as in
        torch (LBFGS needs it; the others accept it)."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        listener = events.current  # (minigrad.compile writes each parameter's update down)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if listener is not None:
                        listener.update_begin(self, p)
                    state = self.state.get(p, {})
                    self.update(p._data, p.grad._data, state, group)
                    if state:  # kept only once there is some (plain SGD keeps none), as torch
                        self.state[p] = state
                    if listener is not None:
                        listener.update_end(self, p)
        self._steps_taken += 1
        return loss

    def update(
        self, param: torch.Tensor, grad: torch.Tensor, state: dict[str, Any], group: Group
    ) -> None:
        """Change `param` in place, given its gradient, its `state` and its group's settings."""
        raise NotImplementedError(
            f"{type(self).__name__} must define update(self, param, grad, state, group): how one "
            "parameter moves, given its gradient"
        )

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients: set them to None (the default, as torch), or fill with 0."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad._data.zero_()

    # ---- the settings that enter the maths, and those that choose it ---------------------------

    def hyperparameter(self, group: Group, name: str, like: torch.Tensor) -> Any:
        """`group[name]` as a 0-d tensor on `like`'s device (a tuple of them for a tuple setting
        such as Adam's betas), to enter torch calls in place of a Python number.

        The tensor is made once per (group, name, device, dtype) and kept: the same object every
        step. When the group's value has changed since (a scheduler or the user set group["lr"]
        to a new float), it is refreshed in place with fill_. A setting given as a tensor is
        used as it is (moved to `like`'s device and dtype if needed).

        Its dtype is float64, the precision of the Python numbers torch computes with, so that
        `1 - beta2` or a bias correction is as exact as torch's; torch's kernels round it to the
        parameter's dtype where it meets the parameter, as they round a Python number. For a
        0-d parameter it takes the parameter's dtype instead: two 0-d tensors promote to the
        wider dtype, and the update would run in float64 where torch's runs in float32.
        """
        listener = events.current
        if listener is None:
            return self._hyperparameter(group, name, like)
        with events.aside():  # making or refreshing the tensor is not part of the step
            value = self._hyperparameter(group, name, like)
        listener.hyperparameter(self, name, value)
        return value

    def _hyperparameter(self, group: Group, name: str, like: torch.Tensor) -> Any:
        dtype = like.dtype if like.ndim == 0 else HYPERPARAMETER_DTYPE
        value = group[name]
        if isinstance(value, (Tensor, torch.Tensor)):
            return unwrap(value).to(device=like.device, dtype=dtype)
        key = (id(group), name, like.device, dtype)
        cached = self._hyperparameters.get(key)
        if cached is None:
            cached = self._hyperparameters[key] = _Hyperparameter(group, name, like.device, dtype)
        elif cached.value != value:
            cached.refresh()
        return cached.tensor

    def refresh_hyperparameters(self) -> None:
        """Bring every hyperparameter tensor up to date with its group's current value.

        `hyperparameter()` does this itself for the settings a step reads; a replay of recorded
        torch calls, which runs no Python, calls this first instead."""
        for cached in self._hyperparameters.values():
            if cached.value != cached.group[cached.name]:
                cached.refresh()

    def option(self, group: Group, name: str, nonzero: bool = False) -> Any:
        """A setting that decides which torch calls a step makes: `group[name]` (nesterov,
        amsgrad, maximize...), or with nonzero=True whether it is non-zero (weight_decay,
        momentum: a zero skips their calls). Never enters the maths as a number."""
        value = group[name] != 0 if nonzero else group[name]
        if events.current is not None:  # (minigrad.compile: a replay assumes the same choice)
            events.current.option(Setting(group, name, nonzero), value)
        return value

    # ---- saving and loading -------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """{"state": {index: that parameter's state}, "param_groups": [settings, with "params"
        as indices]}: torch's layout, parameters numbered in order across groups. The state's
        tensors are the optimizer's own (not copies), as in torch; torch.save writes them."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what `state_dict()` saved (from minigrad or from torch.optim) into an
        optimizer over parameters of the same shapes, in the same groups. State tensors move to
        each parameter's device, and floating ones to its dtype (the step count keeps its own)."""
        if events.current is not None:  # (minigrad.compile: a replay would not load it again)
            events.current.settings_changed(self, f"{type(self).__name__}.load_state_dict()")
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"load_state_dict: the saved state has {len(saved_groups)} parameter groups, "
                f"this {type(self).__name__} has {len(self.param_groups)}. Build the optimizer "
                "with the same groups as the one that was saved."
            )
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"load_state_dict: parameter group {i} has {len(saved['params'])} parameters "
                    f"in the saved state but {len(group['params'])} here. Build the optimizer "
                    "over the same model as the one that was saved."
                )
        by_index = {
            saved_index: p
            for saved, group in zip(saved_groups, self.param_groups)
            for saved_index, p in zip(saved["params"], group["params"])
        }
        self.state = defaultdict(dict)
        for saved_index, saved_state in state_dict["state"].items():
            p = by_index.get(saved_index)
            if p is not None:
                self.state[p] = {k: _state_value(k, v, p) for k, v in saved_state.items()}
        for saved, group in zip(saved_groups, self.param_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.param_groups = saved_groups
        self._hyperparameters.clear()  # they belonged to the groups just replaced

    # ---- printing -------------------------------------------------------------------------------

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"


# ---- helpers ------------------------------------------------------------------------------------


class Setting(NamedTuple):
    """A group setting that `option()` read: calling it reads it again (group[name], or
    whether it is non-zero), which is what a recording of the step checks before a replay."""

    group: Group
    name: str
    nonzero: bool

    def __call__(self) -> Any:
        value = self.group[self.name]
        return value != 0 if self.nonzero else value


class _Hyperparameter:
    """One group setting as 0-d tensor(s) on one device, and the value they hold."""

    __slots__ = ("group", "name", "value", "tensor")

    def __init__(self, group: Group, name: str, device: torch.device, dtype: torch.dtype) -> None:
        self.group, self.name, self.value = group, name, group[name]
        values = self.value if isinstance(self.value, (tuple, list)) else (self.value,)
        tensors = [torch.full((), v, dtype=dtype, device=device) for v in values]
        self.tensor = tuple(tensors) if isinstance(self.value, (tuple, list)) else tensors[0]

    def refresh(self) -> None:
        """Write the group's current value into the tensor(s), in place."""
        self.value = self.group[self.name]
        if isinstance(self.tensor, tuple):
            for tensor, v in zip(self.tensor, self.value):
                tensor.fill_(v)
        else:
            self.tensor.fill_(self.value)


def _state_value(key: str, value: Any, param: Tensor) -> Any:
    """A loaded state value, on the parameter's device (floating tensors in its dtype; the step
    count, a float32 count, keeps its dtype), copied so the saved dict stays untouched."""
    if isinstance(value, Tensor):
        value = value._data
    if isinstance(value, torch.Tensor):
        if key != "step" and value.is_floating_point():
            return value.to(dtype=param.dtype, device=param.device, copy=True)
        return value.to(device=param.device, copy=True)
    return copy.deepcopy(value)


def _check_parameter(optimizer: str, group: int, i: int, p: Any) -> None:
    where = f"parameter {i} of group {group}" if group else f"parameter {i}"
    if not isinstance(p, Tensor):
        kind = f"{type(p).__module__}.{type(p).__qualname__}".removeprefix("builtins.")
        raise TypeError(
            f"{optimizer} can only update minigrad Tensors; {where} is a {kind}. Make "
            "parameters with minigrad.nn.Parameter(...) or minigrad.tensor(..., "
            "requires_grad=True) (a torch model's parameters go to a torch.optim optimizer)."
        )
    if not p.is_leaf:
        raise ValueError(
            f"{optimizer} can only update leaf Tensors (made by the user, not by an op); {where} "
            f"was made by {p.grad_fn.op_name}. Optimize the tensor it was computed from, or make a "
            "new leaf: x.detach().requires_grad_()."
        )


def _named(p: Tensor) -> str:
    return f" ({p.name})" if p.name else ""


def check_non_negative(**values: Any) -> None:
    """torch's checks: lr, eps, weight_decay, momentum... must be >= 0."""
    for name, value in values.items():
        if not unwrap(value) >= 0:
            raise ValueError(f"{name} must be >= 0, got {value}")


def check_betas(betas: Any) -> None:
    for i, beta in enumerate(betas):
        if not 0 <= unwrap(beta) < 1:
            raise ValueError(
                f"betas[{i}] must be in [0, 1), got {beta}: it is the weight of the running "
                "average's past (0.9 keeps 90%); 1 or more would never forget or would grow."
            )


def implementation_flags(**flags: Any) -> dict[str, Any]:
    """torch's switches between implementations of the same maths (foreach, fused, capturable):
    minigrad has one implementation, so they are accepted, kept in the groups as torch keeps
    them, and change nothing. differentiable=True would make the step itself differentiable,
    which minigrad does not do."""
    if flags.get("differentiable"):
        raise NotImplementedError(
            "differentiable=True (gradients through the optimizer's step) is not supported by "
            "minigrad's optimizers; leave it False."
        )
    return flags


def step_counter(param: torch.Tensor) -> torch.Tensor:
    """A parameter's step count, `state["step"]`: a 0-d tensor on its device (so that a step
    never reads a number back to Python), float32 as torch's (float64 under a float64 default)."""
    dtype = torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32
    return torch.zeros((), dtype=dtype, device=param.device)
