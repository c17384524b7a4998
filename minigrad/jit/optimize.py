"""A leaner replay: the recorded calls, less the work a replay need not do again.

`step.code` shows the recording as it ran (it reads as the maths); the function a replay runs
is written from the same recording after these rewrites, each one giving the same numbers bit
for bit (the replay checks and the compiler fuzzer compare it with the eager step):

- *constants folded*: a call that reads no input, no parameter and nothing made from them
  (`torch.ones_like(loss)` starts the backward pass: it reads only the loss's shape; then
  `d_loss / 8`, `.expand(...)`) is computed once, when the replay is written, and the replay
  reads its result; unless the step changes it in place or returns it, or it shares memory with
  a tensor that does;
- *operators merged*: `a + -b` is `a - b` (IEEE's a - b is a + (-b), bit for bit); a sum kept
  2-d and then reshaped to the shape it would have had without keepdim is that sum;
  `x * 1.0` (`p.grad * lr` at lr = 1) is x itself, where x is not changed while the product is
  read and nothing changes the product;
- *updates fused* (CPU only): in a stretch of in-place updates, those of one kind on different
  tensors (`buf.mul_(momentum)` for each parameter, `.grad += d_p` for each) run as one call of
  torch's `_foreach_` kernels, which on the CPU runs the same kernel for each tensor in turn:
  one Python call and one dispatch instead of one per parameter. A call moves ahead of another
  only when neither writes memory the other reads or writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch

from .recording import Call, Recording, Ref, Region, Value

# Calls that read only the shape, dtype and device of their first argument.
LIKE = {"ones_like", "zeros_like", "full_like", "new_ones", "new_zeros", "new_full"}
# Calls that change tensors other than the one they are called on (running statistics).
HIDDEN_WRITES = ("batch_norm", "instance_norm", "group_norm", "layer_norm", "embedding_renorm")
ADDS = {"add", "__add__", "__radd__"}
MULS = {"mul", "__mul__", "__rmul__"}


@dataclasses.dataclass
class Meta:
    """What the rewrites need to know of a value: its layout, and which memory it is in."""

    shape: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: torch.dtype
    device: torch.device
    storage: int


def describe(recording: Recording) -> list[Meta | None]:
    """Each value's Meta, read while the recording still holds its tensors."""
    metas: list[Meta | None] = []
    for value in recording.values:
        t = value.tensor
        if not isinstance(t, torch.Tensor):
            metas.append(None)
            continue
        try:
            storage = t.untyped_storage().data_ptr()
        except (RuntimeError, NotImplementedError):
            storage = -1 - len(metas)  # (a tensor without storage: alone)
        metas.append(Meta(tuple(t.shape), tuple(t.stride()), t.dtype, t.device, storage))
    return metas


def lean(recording: Recording, outputs: list[Ref], metas: list[Meta | None]) -> Recording:
    """The recording a replay runs (see the module's docstring): a copy, with other calls."""
    if not metas:
        return recording
    values = list(recording.values)
    calls = list(recording.calls)
    result = dataclasses.replace(recording, values=values, calls=calls)
    state = _State(result, outputs, list(metas))
    for rewrite in (state.fold_constants, state.merge_operators, state.share, state.fuse_updates):
        rewrite()
        _renumber(calls, values)
    # The values alone in their memory, among those the leaner calls use (a sum's reshape gone,
    # the sum is alone: a copy of it into .grad can be skipped).
    live = set(outputs) | set(recording.inputs)
    for call in calls:
        live.update(call.reads)
        live.update(_refs(call.out))
    holders: dict[int, int] = {}
    for ref in live:
        holders[state.storage(ref)] = holders.get(state.storage(ref), 0) + 1
    result.alone = {ref for ref in live if holders[state.storage(ref)] == 1}
    return result


def _renumber(calls: list[Call], values: list[Value]) -> None:
    """Each value made by a call: the index of the call that makes it now."""
    seen: set[Ref] = set()
    for i, call in enumerate(calls):
        for ref in _refs(call.out):
            if ref not in seen:
                seen.add(ref)
                value = values[ref.index]
                if value.kind == "internal" and value.call != i:
                    values[ref.index] = dataclasses.replace(value, call=i)
    for index, value in enumerate(values):  # made by a call no longer there: unused
        if value.kind == "internal" and value.call is not None and Ref(index) not in seen:
            values[index] = dataclasses.replace(value, call=None)


class _State:
    def __init__(self, recording: Recording, outputs: list[Ref], metas: list[Meta | None]):
        self.recording = recording
        self.values = recording.values
        self.outputs = set(outputs)
        self.metas = metas

    # ---- what calls read and write ------------------------------------------------------------

    def storage(self, ref: Ref) -> int:
        meta = self.metas[ref.index] if ref.index < len(self.metas) else None
        return meta.storage if meta is not None else -1 - ref.index

    def written(self, call: Call) -> list[Ref]:
        """The values an in-place call changes (all it reads, for calls that hide their
        writes); none for a call that changes nothing."""
        if any(part in call.name for part in HIDDEN_WRITES):
            return list(call.reads)
        if not call.in_place:
            return []
        targets = []
        if "out" in call.kwargs:
            targets += _refs(call.kwargs["out"])
        if call.name.startswith("_foreach_"):
            targets += _refs(call.args[0])
        elif call.args and isinstance(call.args[0], Ref):
            targets.append(call.args[0])
        return targets or list(call.reads)

    def write_storages(self, calls: list[Call]) -> set[int]:
        return {self.storage(ref) for call in calls for ref in self.written(call)}

    # ---- constants --------------------------------------------------------------------------

    def fold_constants(self) -> None:
        calls, values = self.recording.calls, self.values
        constant: dict[Ref, int] = {}  # value -> the call that makes it
        for i, call in enumerate(calls):
            if call.in_place or call.random or call.name == "=" or call.value_shapes:
                continue
            if not isinstance(call.out, Ref) or values[call.out.index].call != i:
                continue
            reads = call.reads[1:] if call.name in LIKE else call.reads
            if call.name in LIKE and (not call.args or call.args[0] != call.reads[0]):
                continue
            if all(ref in constant for ref in reads) and not self.written(call):
                constant[call.out] = i
        if not constant:
            return
        # Not constant: what the step returns or changes in place, nor anything in its memory.
        unsafe = {self.storage(ref) for ref in self.outputs}
        unsafe |= self.write_storages(calls)
        for call in calls:  # a copy the replay may skip (y = x.clone()): x may be returned
            if call.name in ("clone", "="):
                unsafe |= {self.storage(ref) for ref in call.reads}
        constant = {ref: i for ref, i in constant.items() if self.storage(ref) not in unsafe}
        # A constant whose maker reads a value no longer constant: not constant either.
        changed = True
        while changed:
            changed = False
            for ref, i in list(constant.items()):
                call = calls[i]
                reads = call.reads[1:] if call.name in LIKE else call.reads
                if not all(r in constant for r in reads):
                    del constant[ref]
                    changed = True
        used = {r for i, call in enumerate(calls) if call.out not in constant for r in call.reads}
        used |= self.outputs
        # Compute them, in order; the replay keeps those that other calls read.
        tensors: dict[Ref, torch.Tensor] = {}
        for ref, i in sorted(constant.items(), key=lambda item: item[1]):
            call = calls[i]
            first = call.args[0] if call.name in LIKE else None

            def real(value: Any, first: Any = first) -> Any:
                if isinstance(value, Ref):
                    if value is first or (first is not None and value == first):
                        meta = self.metas[value.index]
                        if meta is None:
                            raise _CannotFold
                        return torch.empty_strided(
                            meta.shape, meta.stride, dtype=meta.dtype, device=meta.device
                        )
                    return tensors[value]
                if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
                    return type(value)(real(v) for v in value)
                return value

            try:
                args = tuple(real(a, first) for a in call.args)
                kwargs = {k: real(v, None) for k, v in call.kwargs.items()}
                tensors[ref] = call.func(*args, **kwargs)
            except _CannotFold:
                return
        calls[:] = [call for call in calls if call.out not in constant]
        for ref, tensor in tensors.items():
            if ref in used:
                value = values[ref.index]
                values[ref.index] = dataclasses.replace(
                    value, tensor=tensor, kind="outside", call=None
                )

    # ---- operators --------------------------------------------------------------------------

    def merge_operators(self) -> None:
        calls, values = self.recording.calls, self.values
        uses: dict[Ref, int] = {}
        for call in calls:
            for ref in call.reads:
                uses[ref] = uses.get(ref, 0) + 1
        made = {call.out: i for i, call in enumerate(calls) if isinstance(call.out, Ref)}
        drop: set[int] = set()
        replace: dict[Ref, Ref] = {}  # x * 1.0 -> x
        for i, call in enumerate(calls):
            args = call.args
            # a + -b -> a - b
            if call.name in ADDS and len(args) == 2 and not call.kwargs:
                left, right = (args[1], args[0]) if call.name == "__radd__" else args
                j = made.get(right) if isinstance(right, Ref) else None
                neg = calls[j] if j is not None else None
                if (
                    isinstance(left, Ref)
                    and neg is not None
                    and neg.name in ("neg", "__neg__")
                    and len(neg.args) == 1
                    and not neg.kwargs
                    and uses.get(right) == 1
                    and right not in self.outputs
                    and values[right.index].call == j
                    and not self._changed_between(neg.args[0], j, i)
                ):
                    calls[i] = dataclasses.replace(
                        call,
                        func=torch.Tensor.sub,
                        name="sub",
                        args=(left, neg.args[0]),
                        reads=(left, neg.args[0]),
                    )
                    drop.add(j)
                    continue
            # x.sum(dims, keepdim=True).reshape(the shape without them) -> x.sum(dims)
            if call.name == "reshape" and len(args) == 2 and isinstance(args[0], Ref):
                j = made.get(args[0])
                total = calls[j] if j is not None else None
                if (
                    total is not None
                    and total.name == "sum"
                    and total.kwargs.get("keepdim") is True
                    and set(total.kwargs) <= {"dim", "keepdim"}
                    and len(total.args) == 1
                    and uses.get(args[0]) == 1
                    and args[0] not in self.outputs
                    and values[args[0].index].call == j
                    and self._squeezed_shape(total) == tuple(args[1])
                    and not self._changed_between(total.args[0], j, i)
                ):
                    calls[i] = dataclasses.replace(
                        total,
                        kwargs={**total.kwargs, "keepdim": False},
                        out=call.out,
                        region=call.region,
                    )
                    drop.add(j)
                    continue
            # x * 1.0 -> x
            if call.name in MULS and len(args) == 2 and not call.kwargs:
                x, one = (args[1], args[0]) if call.name == "__rmul__" else args
                if isinstance(one, Ref) and not isinstance(x, Ref):
                    x, one = one, x
                if (
                    isinstance(x, Ref)
                    and type(one) in (int, float)
                    and one == 1
                    and isinstance(call.out, Ref)
                    and self._same_layout(x, call.out)
                    and call.out not in self.outputs
                    and self._free_alias(x, call.out, i)
                ):
                    replace[call.out] = replace.get(x, x)
                    drop.add(i)
        if not drop:
            return
        kept = [call for i, call in enumerate(calls) if i not in drop]
        if replace:
            kept = [_substitute(call, replace) for call in kept]
        calls[:] = kept

    def _squeezed_shape(self, total: Call) -> tuple[int, ...] | None:
        meta = self.metas[total.args[0].index]
        if meta is None:
            return None
        dims = total.kwargs.get("dim")
        if dims is None:
            return ()
        dims = [dims] if isinstance(dims, int) else list(dims)
        n = len(meta.shape)
        gone = {d % n for d in dims} if n else set()
        return tuple(size for d, size in enumerate(meta.shape) if d not in gone)

    def _same_layout(self, a: Ref, b: Ref) -> bool:
        ma, mb = self.metas[a.index], self.metas[b.index]
        return (
            ma is not None
            and mb is not None
            and ma.dtype == mb.dtype
            and ma.shape == mb.shape
            and ma.dtype.is_floating_point
            and ma.stride == mb.stride
        )

    def _changed_between(self, ref: Ref, start: int, end: int) -> bool:
        """Whether a call after `start` and before `end` changes memory `ref` is in."""
        where = self.storage(ref)
        calls = self.recording.calls
        return any(where in self.write_storages([calls[k]]) for k in range(start + 1, end))

    def _free_alias(self, x: Ref, product: Ref, at: int) -> bool:
        """Whether `product` (made at call `at`) may be `x` itself: nothing changes the product,
        and nothing changes x while the product is still read."""
        calls = self.recording.calls
        last = max((k for k, c in enumerate(calls) if product in c.reads), default=at)
        mine, theirs = self.storage(product), self.storage(x)
        for k in range(at + 1, len(calls)):
            writes = self.write_storages([calls[k]])
            if mine in writes or (k <= last and theirs in writes):
                return False
        return True

    # ---- the same call twice ----------------------------------------------------------------

    def share(self) -> None:
        """A call made again with the same arguments (`1 - sigmoid` in the forward and in
        sigmoid's backward), nothing having changed them in between: its first result."""
        calls = self.recording.calls
        written = self.write_storages(calls)
        seen: dict[Any, tuple[int, Ref]] = {}
        replace: dict[Ref, Ref] = {}
        drop: set[int] = set()
        for i, call in enumerate(calls):
            if replace:
                call = calls[i] = _substitute(call, replace)
            if (
                call.in_place
                or call.random
                or call.value_shapes
                or not isinstance(call.out, Ref)
                or call.name in ("=", "clone")
                or self.written(call)
                or call.out in self.outputs
                or self.storage(call.out) in written
            ):
                continue
            try:
                key = (call.func, _freeze(call.args), _freeze(call.kwargs))
                hash(key)
            except TypeError:
                continue
            earlier = seen.get(key)
            if earlier is not None and not any(
                self._changed_between(ref, earlier[0], i) for ref in call.reads
            ):
                replace[call.out] = earlier[1]
                drop.add(i)
            else:
                seen[key] = (i, call.out)
        if drop:
            calls[:] = [call for i, call in enumerate(calls) if i not in drop]

    # ---- updates ----------------------------------------------------------------------------

    def fuse_updates(self) -> None:
        calls = self.recording.calls
        fused: list[Call] = []
        i = 0
        while i < len(calls):
            j = i
            while j < len(calls) and self._fusable(calls[j]):
                j += 1
            if j - i >= 2:
                fused += self._schedule(calls[i:j])
                i = j
            else:
                fused.append(calls[i])
                i += 1
        calls[:] = fused

    def _fusable(self, call: Call) -> bool:
        """An update torch has a _foreach_ kernel for, on CPU tensors: in place, or p.grad * lr."""
        if "out" in call.kwargs or call.name not in FOREACH:
            return False
        if call.in_place == (call.name in OUT_OF_PLACE):
            return False
        if call.name in OUT_OF_PLACE and not isinstance(call.out, Ref):
            return False
        if not call.args or not isinstance(call.args[0], Ref):
            return False
        for ref in call.reads:
            meta = self.metas[ref.index] if ref.index < len(self.metas) else None
            if meta is None or meta.device.type != "cpu":
                return False
        return FOREACH[call.name](call) is not None

    def _schedule(self, window: list[Call]) -> list[Call]:
        """The window's calls in an order that keeps every dependence, the calls of one kind
        that are ready together run as one _foreach_ call."""
        reads = [{self.storage(r) for r in call.reads} for call in window]
        writes = [self.write_storages([call]) for call in window]
        for k, call in enumerate(window):  # an out-of-place call (p.grad * lr) makes its output:
            if not call.in_place:  # a call reading that must come after it
                writes[k] |= {self.storage(ref) for ref in _refs(call.out)}
        after: list[set[int]] = [set() for _ in window]  # k must wait for these
        for k in range(len(window)):
            for m in range(k):
                if writes[m] & (reads[k] | writes[k]) or writes[k] & reads[m]:
                    after[k].add(m)
        done: set[int] = set()
        out: list[Call] = []
        while len(done) < len(window):
            ready = [k for k in range(len(window)) if k not in done and after[k] <= done]
            first = ready[0]
            key = FOREACH[window[first].name](window[first])
            group = [k for k in ready if FOREACH[window[k].name](window[k]) == key]
            # One call per tensor: the same target twice must stay two calls.
            targets, chosen = set(), []
            for k in group:
                target = self.storage(window[k].args[0])
                if window[k].name in OUT_OF_PLACE:
                    target = -1 - k  # (reads it only)
                if target not in targets:
                    targets.add(target)
                    chosen.append(k)
            done.update(chosen)
            if len(chosen) == 1:
                out.append(window[chosen[0]])
            else:
                out.append(_foreach(key, [window[k] for k in chosen]))
        return out


class _CannotFold(Exception):
    pass


def _refs(value: Any) -> list[Ref]:
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, (list, tuple)):
        return [r for v in value for r in _refs(v)]
    return []


def _freeze(value: Any) -> Any:
    if isinstance(value, Ref):
        return ("ref", int(value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_freeze(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, float) and value != value:
        raise TypeError  # nan != nan: never the same key
    if isinstance(value, torch.Tensor):
        raise TypeError
    return (type(value), value)


def _substitute(call: Call, replace: dict[Ref, Ref]) -> Call:
    def sub(value: Any) -> Any:
        if isinstance(value, Ref):
            return replace.get(value, value)
        if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
            return type(value)(sub(v) for v in value)
        if isinstance(value, dict):
            return {k: sub(v) for k, v in value.items()}
        return value

    if not any(ref in replace for ref in call.reads):
        return call
    return dataclasses.replace(
        call,
        args=sub(call.args),
        kwargs=sub(call.kwargs),
        reads=tuple(replace.get(r, r) for r in call.reads),
    )


# Each fusable call's kind: calls of the same kind can run as one _foreach_ call. The kind holds
# what is the same for all (the kernel, and a number or tensor shared by all).


def _kind_binary(name: str) -> Callable[[Call], Any]:
    def kind(call: Call) -> Any:
        if len(call.args) != 2 or call.kwargs:
            return None
        other = call.args[1]
        if isinstance(other, Ref):
            return (name, "list")
        if type(other) in (int, float):
            return (name, "scalar", type(other), other)
        return None

    return kind


def _kind_zero(call: Call) -> Any:
    return ("_foreach_zero_",) if len(call.args) == 1 and not call.kwargs else None


def _kind_scaled(call: Call) -> Any:
    """p.grad * lr (lr a number): _foreach_mul(grads, lr) gives each product."""
    if call.name == "__rmul__":
        return None
    kind = _kind_binary("_foreach_mul")(call)
    return kind if kind is not None and kind[1] == "scalar" else None


def _kind_ternary(name: str) -> Callable[[Call], Any]:
    """p.addcmul_(a, b, value=v): _foreach_addcmul_(ps, as, bs, value=v)."""

    def kind(call: Call) -> Any:
        if len(call.args) != 3 or set(call.kwargs) - {"value"}:
            return None
        if not all(isinstance(a, Ref) for a in call.args):
            return None
        value = call.kwargs.get("value", 1)
        return (name, "ternary", type(value), value) if type(value) in (int, float) else None

    return kind


OUT_OF_PLACE = {"mul", "__mul__"}
FOREACH: dict[str, Callable[[Call], Any]] = {
    "mul": _kind_scaled,
    "__mul__": _kind_scaled,
    "add_": _kind_binary("_foreach_add_"),
    "sub_": _kind_binary("_foreach_sub_"),
    "mul_": _kind_binary("_foreach_mul_"),
    "div_": _kind_binary("_foreach_div_"),
    "zero_": _kind_zero,
    "addcmul_": _kind_ternary("_foreach_addcmul_"),
    "addcdiv_": _kind_ternary("_foreach_addcdiv_"),
}


def _foreach(key: Any, calls: list[Call]) -> Call:
    """One _foreach_ call for `calls`, all of kind `key`."""
    name = key[0]
    targets = [call.args[0] for call in calls]
    kwargs: dict[str, Any] = {}
    if name == "_foreach_zero_":
        args: tuple[Any, ...] = (targets,)
    elif key[1] == "ternary":
        args = (targets, [call.args[1] for call in calls], [call.args[2] for call in calls])
        kwargs = {"value": key[3]}
    elif key[1] == "list":
        args = (targets, [call.args[1] for call in calls])
    else:
        args = (targets, key[3])
    reads = tuple(r for call in calls for r in call.reads)
    region = calls[0].region
    if any(call.region is not region for call in calls):
        region = Region("update", "the updates above, each tensor's in one call")
    in_place = name.endswith("_")
    out = None if in_place else tuple(call.out for call in calls)
    return Call(getattr(torch, name), name, args, kwargs, out, region, in_place, False, reads)


__all__ = ["Meta", "Value", "describe", "lean"]
