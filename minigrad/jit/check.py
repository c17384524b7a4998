"""Checking a replay against the eager step: run both from the same state; they must agree.

A `Snapshot` keeps what a step can change: the values of the tensors from outside it (parameters,
.grad, optimizer state), which Tensor each .grad and .data is, the optimizer state's entries and
torch's random number generators. `compare` raises at the first value that differs.
"""

from __future__ import annotations

from typing import Any

import torch

from .guards import copy_plain
from .recording import CompileError, Recording


class Snapshot:
    def __init__(self, replay: Any, inputs: list[torch.Tensor]) -> None:
        recording: Recording = replay.recording
        self.recording = recording
        outside = [v.tensor for v in recording.values if v.kind == "outside"]
        self.outside = [(t, t.clone()) for t in outside]
        self.inputs = [(t, t.clone()) for t in inputs]  # a step may change its batch in place
        self.owners = [(o.tensor, o.tensor._data, o.tensor._grad) for o in recording.owners]
        self.grads = [
            (o.tensor, None if o.tensor._grad is None else o.tensor._grad._data.clone())
            for o in recording.owners
        ]
        # Each optimizer state entry: the dict itself (put back in place: the guards know it by
        # identity) and what it held.
        self.states = [
            (mapping, key, mapping.get(key), None if key not in mapping else dict(mapping[key]))
            for mapping, key, _ in recording.states
        ]
        self.state_values = [
            (key, {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in items.items()})
            for _, key, _, items in self.states
            if items is not None
        ]
        self.settings = [
            (module, attribute, copy_plain(getattr(module, attribute, None)))
            for module, attribute, _ in replay.settings
        ]
        self.steps_taken = [(opt, opt._steps_taken) for opt in recording.optimizers]
        self.rng = torch.get_rng_state()
        self.cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None

    def restore(self) -> None:
        """Put everything back as it was when the snapshot was taken."""
        for tensor, value in self.outside + self.inputs:
            tensor.copy_(value)
        for tensor, data, grad in self.owners:
            tensor._data, tensor._grad = data, grad
        for mapping, key, entry, items in self.states:
            if entry is None:
                mapping.pop(key, None)
            else:
                entry.clear()
                entry.update(items)
                mapping[key] = entry
        for module, attribute, value in self.settings:
            setattr(module, attribute, copy_plain(value))
        for optimizer, count in self.steps_taken:
            optimizer._steps_taken = count
        torch.set_rng_state(self.rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)


def compare(replay: Any, eager: Snapshot, replayed: Snapshot, eager_out: Any, out: Any) -> None:
    """Raise at the first value the eager step and its replay do not share exactly."""
    names = {id(v.tensor): replay.names.get(ref) for ref, v in _values(replay)}

    def same(a: Any, b: Any, what: str) -> None:
        if (a is None) != (b is None):
            raise CompileError(
                f"replay check: {what} is {_show(b)} after the replay but {_show(a)} after the "
                "eager step."
            )
        if a is None:
            return
        if not isinstance(a, torch.Tensor):
            a, b = a._data, b._data
        if not identical(a, b):
            raise CompileError(
                f"replay check: {what} differs between the eager step and its replay (largest "
                f"difference {_largest_difference(a, b)}). The step depends on something the "
                "recording did not see; print(step.code) shows what it replays."
            )

    for (tensor, theirs), (_, ours) in zip(eager.outside, replayed.outside):
        same(theirs, ours, names.get(id(tensor)) or "a tensor from outside the step")
    for i, ((_, theirs), (_, ours)) in enumerate(zip(eager.inputs, replayed.inputs)):
        same(theirs, ours, f"the step's input {i}")
    for (tensor, theirs), (_, ours) in zip(eager.grads, replayed.grads):
        same(theirs, ours, f"{tensor.name or 'a parameter'}'s .grad")
    for (param, theirs), (_, ours) in zip(eager.state_values, replayed.state_values):
        of = f"the optimizer state of {getattr(param, 'name', None) or 'a parameter'}"
        if theirs.keys() != ours.keys():
            raise CompileError(
                f"replay check: {of} holds {sorted(map(str, theirs))} after the eager step but "
                f"{sorted(map(str, ours))} after the replay."
            )
        for key in theirs:
            if isinstance(theirs[key], torch.Tensor):
                same(theirs[key], ours[key], f"{of}, {key!r}")
    flat_eager, flat = _leaves(eager_out), _leaves(out)
    for i, (theirs, ours) in enumerate(zip(flat_eager, flat)):
        same(theirs, ours, f"the step's result {i}")


def identical(a: torch.Tensor, b: torch.Tensor) -> bool:
    """The same shape, dtype and numbers (NaN where the other has NaN: a NaN is not == itself)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.is_floating_point() or a.is_complex():
        return torch.allclose(a, b, rtol=0, atol=0, equal_nan=True)
    return torch.equal(a, b)


def _values(replay: Any) -> list[tuple[Any, Any]]:
    from .recording import Ref

    return [(Ref(i), v) for i, v in enumerate(replay.recording.values)]


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return [] if value is None else [value]


def _show(value: Any) -> str:
    return "None" if value is None else "a tensor"


def _largest_difference(a: torch.Tensor, b: torch.Tensor) -> str:
    if a.shape != b.shape or a.dtype != b.dtype:
        return f"shapes {tuple(a.shape)} and {tuple(b.shape)}, dtypes {a.dtype} and {b.dtype}"
    return f"{(a.double() - b.double()).abs().max().item():.3g}"
