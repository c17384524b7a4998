"""In-place ops on tensors of the graph: how a tensor gets a new history.

`h += 1` (and `add_`, `mul_`, `x[k] = v`, `copy_`, ...) changes h's values in its own memory, as
in torch: every tensor that shares that memory (a view such as `h[0]` or `h.T`, or `h.data`)
sees the new values. For the graph, minigrad follows torch's rules:

1. Nothing to record (grad is off, or neither h nor the other operands require grad): torch's
   own in-place kernel runs, and that is all. This is the optimizer's `p -= lr * p.grad`.

2. Otherwise the op runs out of place on h's old values, `new = old_h + 1`, recording a node as
   usual; `new` is written into h's memory, and h takes new's node as its own. That is, h's
   history is *rebased* onto the op. The ops that used h before still lead to h's old node:
   their edges (`Context.parents`) were taken when they ran. So in `c = a + b; c += c + 1`, the
   `c + 1` uses the old c, and the new c is old_c + (old_c + 1), as the maths says.
   (The op runs on a copy of h's old values, so that what it saves for backward stays intact
   after h's memory is overwritten; torch does the same for ops that need the old value.)

3. h is a view (`h = base[0:2]`, `base.T`, ...): writing into h writes into base. So it is
   base's history that is rebased, onto `CopySlices(old base, new h)`, whose backward sends the
   gradient of the written region to new h and the rest to the old base. h becomes the same
   view of the new base. Any other view of base catches up the next time it is used: it is
   made again from base's new history (`refresh_view`).

4. Refused, with an error that says what to write instead: a leaf that requires grad (a
   parameter: its `.grad` must be the gradient at the values the forward pass used; update
   parameters under `no_grad()` or through `p.data`), a view of one, a view made under
   `no_grad()` of a tensor that requires grad (and the use of such a view after its base was
   changed in place with grad on), and, as torch, a piece of `split`, `chunk` or `unbind` (one
   of several views an op returns at once: changed in place, or used after its base was).
   Values that backward needs and that were overwritten are caught later, by their version
   numbers (`Context.saved_tensors`).

5. A Function of your own whose forward returns a view of its input, or the input itself:
   minigrad cannot make such a view again from its base, nor write through it, without going
   around the backward you wrote. As in torch, changing it in place is refused, and so is using
   it after its base (or another view of the base) was changed in place. (minigrad's own view
   ops, in minigrad.ops, are the ones it knows how to replay.)

   (A tensor that shares memory without being a view in minigrad's sense, `x.detach()`, `x.data`
   or a `Tensor` wrapped around a torch view, is a separate tensor for the graph, as torch's
   `detach()` is: changing it changes the numbers, not the other tensor's history.)

6. Two kinds of in-place op need no rebasing. One with no derivative (x.logical_and_(y), the
   bitwise ones, gcd_): torch records nothing, and neither does minigrad (`change_outside_graph`).
   A shape change (x.unsqueeze_(0), x.t_()): x takes the shape of its own view, and in the graph
   that view op's node (`change_shape`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from ..errors import DtypeError, GradientError, ShapeError, shape_str
from ..tensor import Tensor
from . import events
from .function import node_of
from .grad_mode import is_grad_enabled, no_grad

if TYPE_CHECKING:
    from .function import Function

# A view op, its other arguments and options, and which of its outputs (None: its only one).
ViewStep = tuple["type[Function]", tuple[Any, ...], dict[str, Any], "int | None"]


@dataclass
class View:
    """How a view was made from the tensor whose memory it shares."""

    base: Tensor  # the tensor whose memory this views (never a view itself)
    steps: tuple[ViewStep, ...]  # the view ops from base to here: (op, other arguments, options)
    base_node: Any  # the node base had when this view's history was last made
    made_with_grad: bool  # made while grad was on (torch refuses in-place on the others)
    custom_function: type[Function] | None = None  # a Function of the user's made it (rule 5)


def memory_of(data: torch.Tensor) -> torch.Tensor:
    """The torch tensor that owns `data`'s memory: its base if it is a view, else itself."""
    return data._base if data._base is not None else data


def shares_memory(out: torch.Tensor, data: torch.Tensor) -> bool:
    """Whether an op's output is a view of (or is) its input, which it then shares memory with
    (checked for every op: cheap, and a new view op needs no declaration)."""
    return (out._base is not None or out is data) and memory_of(out) is memory_of(data)


def track_view(
    out: Tensor,
    args: tuple[Any, ...],
    op: type[Function],
    options: dict[str, Any],
    grad_enabled: bool,
    output: int | None = None,
) -> None:
    """After an op whose output shares memory with its first input: remember how to make the
    output again from the base tensor (the one that owns the memory)."""
    x = args[0]
    if x._view is not None:
        base, steps, with_grad = x._view.base, x._view.steps, x._view.made_with_grad
        custom = x._view.custom_function
    else:
        base, steps, with_grad, custom = x, (), True, None
    if not op.on_torch_tensors:  # a Function of the user's own (rule 5)
        custom = custom or op
    step = (op, args[1:], options, output)
    out._view = View(base, (*steps, step), node_of(base), with_grad and grad_enabled, custom)


def replay_view(data: torch.Tensor, steps: Sequence[ViewStep]) -> torch.Tensor:
    """The same view, taken of another torch tensor of the base's shape (a gradient, a copy)."""
    from .function import Context

    for op, args, options, output in steps:
        data = op.forward(Context(op, (), ()), data, *args, **options)
        data = data if output is None else data[output]
    return data


def refresh_view(view: Tensor) -> None:
    """If the view's base got a new history since the view's was made, make the view again from
    the base: same memory, history through the base's new node."""
    record = view._view
    node = node_of(record.base)
    if node is record.base_node:
        return
    base = record.base
    if memory_of(view._data) is not memory_of(base._data):  # base.data was replaced since
        view._view = None
        return
    if not record.made_with_grad:
        raise GradientError(
            f"a view (shape {shape_str(view.shape)}) made under no_grad() is used after its base "
            f"(shape {shape_str(base.shape)}) was changed in place while grad was on: minigrad "
            "cannot tell whether the view should follow the base's new history (torch refuses "
            "this too). Make the view and the change both inside no_grad(), or both outside it."
        )
    if record.custom_function:
        raise _custom_view_error(record.custom_function, "the tensor it views was changed in place")
    several = _one_of_several(record)
    if several:
        raise _one_of_several_error(several, "the tensor it views was changed in place since")
    again = base
    for op, args, options, output in record.steps:
        again = op.apply(again, *args, **options)
        again = again if output is None else again[output]
    if _layout(again._data) != _layout(view._data):  # the base changed shape (x.t_()) since
        raise GradientError(
            f"a view (shape {shape_str(view.shape)}) of a tensor that has changed shape in place "
            f"since (now {shape_str(base.shape)}: unsqueeze_, t_, transpose_, squeeze_) is used "
            "after its base was changed: minigrad remakes a view's history from its base, and "
            "that view was made from the old shape. Make the view again after the change."
        )
    _take_history(view, again)
    record.base_node = node


def _layout(data: torch.Tensor) -> tuple[Any, ...]:
    """Where a tensor's elements lie: its shape, strides and offset into its memory."""
    return data.shape, data.stride(), data.storage_offset()


def any_base_changed(views: Iterable[View]) -> bool:
    """Whether any of these views views a tensor whose history has changed since the view's own
    was made, so that its requires_grad is out of date until it is next used (see
    refresh_view). For many views at once, in C but for one check per base: a DataLoader asks
    this of the samples of every batch."""
    # (usually one pair for all: the rows of one tensor, and the node it had then)
    bases = set(map(_BASE_AND_NODE, views))
    return any(node_of(base) is not node for base, node in bases)


_BASE_AND_NODE = operator.attrgetter("base", "base_node")


def _take_history(tensor: Tensor, new: Tensor) -> None:
    """`tensor` becomes the output of the node that made `new` (which has the same values)."""
    if tensor._retains_grad:  # retain_grad() follows the tensor: .grad is for its new values
        leave_node(tensor)
        if new._ctx is not None:
            new._ctx.retains_grad = True
    tensor._ctx, tensor._output_nr = new._ctx, new._output_nr
    tensor._requires_grad = new._requires_grad
    if new._ctx is not None:
        new._ctx.set_output(new._output_nr, tensor)


def leave_node(tensor: Tensor) -> None:
    """The node that made `tensor`'s old values no longer gives it their gradient (a base
    changed through a view, a view made again, a tensor detached in place: each still stands
    as its old node's output)."""
    ctx = tensor._ctx
    if ctx is not None and ctx.output(tensor._output_nr) is tensor:
        ctx.set_output(tensor._output_nr, None)


def update(
    target: Tensor,
    operands: Sequence[Any],
    kernel: Callable[[torch.Tensor], Any],
    compute: Callable[[Tensor], Tensor],
    what: str,
    region: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> Tensor:
    """Change `target` in place to `compute(target)` (see the module's docstring).

    `kernel(data)` is torch's in-place kernel for the same change, used when nothing is recorded;
    `compute(x)` is the out-of-place op in minigrad ops; `operands` are the other values the
    change uses; `what` names the op for errors ("+=", "add_", "item assignment"); `region`
    picks the part of the tensor written to, if the change writes to part of it (x[k] = v).
    """
    grad_enabled = is_grad_enabled()
    if grad_enabled and target._view is not None:
        refresh_view(target)
        _check_view_made_with_grad(target, what)
    if not (grad_enabled and _any_requires_grad(target, operands)):
        try:
            kernel(target._data)
        except RuntimeError as error:
            with no_grad():
                _fit(target, compute(Tensor(target._data.clone())), what)  # says it clearly
            raise error
    else:
        _record(target, operands, compute, what, region)
    if events.current is not None:
        events.current.changed_in_place(target)
    return target


def change_shape(
    target: Tensor,
    view: Callable[[Tensor], Tensor],
    kernel: Callable[[torch.Tensor], Any],
    what: str,
    node_name: str,
) -> Tensor:
    """x.unsqueeze_(0), x.t_(), x.transpose_(0, 1), x.squeeze_(): x becomes `view(x)`, its own
    memory seen with another shape; the values do not change. As in torch, x's torch tensor
    itself takes the new shape (`kernel`), and its version counter counts it; in the graph x
    takes the view op's node, which torch names for the in-place form (`node_name`:
    UnsqueezeBackward1). A view of another tensor stays a view of it, one step further.

    Views made of x before it changed shape were made from its old shape: used after it with
    their history to remake, they are refused (see refresh_view)."""
    grad_enabled = is_grad_enabled()
    if grad_enabled and target._view is not None:
        refresh_view(target)
        _check_view_made_with_grad(target, what)
    recording = grad_enabled and target._requires_grad
    old = target
    if recording:  # the view op recorded on x as it is now, through a tensor that keeps its shape
        _check_may_change(target, what)
        old = Tensor._from_op(target._data.detach(), target._ctx, target._output_nr)
        old._view = target._view
        old._ctx.set_output(old._output_nr, old)
    new = view(old)
    kernel(target._data)
    if target._view is not None:  # the same base, with one more step to here
        target._view.steps = new._view.steps
    if recording:
        new._ctx.renamed = node_name
        _take_history(target, new)
    if events.current is not None:
        events.current.changed_in_place(target)
    return target


def change_outside_graph(target: Tensor, kernel: Callable[[torch.Tensor], Any]) -> Tensor:
    """An in-place op that has no derivative (x.logical_and_(y), x.bitwise_or_(y), x.gcd_(y)):
    torch's kernel on target's memory, and nothing recorded, even for a tensor of the graph.
    torch leaves such a tensor's history as it was (it records only ops a gradient can flow
    through); its version counter still counts the change, so a value saved for backward and
    overwritten so is caught as any other."""
    kernel(target._data)
    if events.current is not None:
        events.current.changed_in_place(target)
    return target


def _any_requires_grad(target: Tensor, operands: Sequence[Any]) -> bool:
    if target._requires_grad:
        return True
    for operand in operands:
        if isinstance(operand, Tensor) and operand._requires_grad:
            return True
    return False


def _record(
    target: Tensor,
    operands: Sequence[Any],
    compute: Callable[[Tensor], Tensor],
    what: str,
    region: Callable[[torch.Tensor], torch.Tensor] | None,
) -> None:
    """Rules 2 and 3 of the module's docstring: the change runs out of place on target's old
    values, recorded, and target (or the base it views) takes the new node as its history."""
    _check_may_change(target, what)
    written = target._data if region is None else region(target._data)
    _check_no_partial_overlap(written, operands, what)
    old = Tensor._from_op(target._data.clone(), target._ctx, target._output_nr)
    old.name = target.name
    if old._ctx is not None:  # the old node's output is now `old` (the values before the change)
        old._ctx.set_output(old._output_nr, old)
    new = _fit(target, compute(old), what)
    if target._view is None:
        target._data.copy_(new._data)
        _saved_output_is(target, new)
        _take_history(target, new)
        return
    from ..ops import CopySlices  # the ops import this module: import when first needed

    view = target._view
    new_base = CopySlices.apply(view.base, new, steps=view.steps)
    view.base._data.copy_(new_base._data)
    _take_history(view.base, new_base)
    refresh_view(target)  # target: the same view, of the new base
    _saved_output_is(target, new)  # (a view shares its base's version counter, as in torch)


def _saved_output_is(target: Tensor, new: Tensor) -> None:
    """The op's output now lives in target's memory. If the op saved its output for backward
    (tanh, exp, sigmoid do), it must see later changes to target, as in torch: a change to
    h after h.tanh_() makes backward through the tanh raise, instead of using stale values."""
    ctx = new._ctx
    if ctx is None or not any(s is new._data for s in ctx._saved):
        return
    outputs = [s is new._data for s in ctx._saved]
    ctx._saved = tuple(target._data if out else s for s, out in zip(ctx._saved, outputs))
    ctx._saved_versions = tuple(
        target._data._version if out else version
        for version, out in zip(ctx._saved_versions, outputs)
    )


def _fit(target: Tensor, new: Tensor, what: str) -> Tensor:
    """The new values must fit the tensor they go into: same shape; a dtype it can hold."""
    if new.shape != target.shape:
        raise ShapeError(
            f"in-place {what}: the result has shape {shape_str(new.shape)} but the tensor "
            f"changed in place has shape {shape_str(target.shape)}, and an in-place op cannot "
            "change a tensor's shape (the other operand must broadcast to it). To get a new "
            "tensor of the broadcast shape, write x = x + y instead of x += y."
        )
    if new.dtype != target.dtype:
        if not torch.can_cast(new.dtype, target.dtype):
            raise DtypeError(
                f"in-place {what}: the result has dtype {new.dtype}, which a tensor of dtype "
                f"{target.dtype} cannot hold (torch refuses this cast in place). Convert first "
                "(x = x.float()), or write x = x + y to get a new tensor of the result's dtype."
            )
        new = new.to(target.dtype)
    return new


def _dense(t: torch.Tensor) -> bool:
    """Its elements fill a block of memory exactly once, in some order of its dims (as a
    contiguous tensor, or a transposed one, does)."""
    expected = 1
    for stride, size in sorted((st, sz) for st, sz in zip(t.stride(), t.shape) if sz != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def _check_no_partial_overlap(out: torch.Tensor, operands: Sequence[Any], what: str) -> None:
    """Refuse an operand that shares part, not all, of the memory written to (`out`), as torch's
    kernels do (the result would depend on the order the elements are written in). Like torch,
    only for tensors dense in memory, where the byte ranges tell."""
    for operand in operands:
        data = getattr(operand, "_data", None)
        if data is None or memory_of(data) is not memory_of(out):
            continue
        if not (_dense(out) and _dense(data)):
            continue
        same = data.data_ptr() == out.data_ptr() and data.stride() == out.stride()
        ends = [t.data_ptr() + t.numel() * t.element_size() for t in (out, data)]
        if not same and data.data_ptr() < ends[0] and out.data_ptr() < ends[1]:
            raise RuntimeError(
                f"in-place {what}: some elements of the other operand and of the tensor written "
                "to are the same memory, so the result would depend on the order of the writes "
                "(torch refuses this too). Clone the operand first: x.copy_(y.clone())."
            )


def _check_view_made_with_grad(target: Tensor, what: str) -> None:
    view = target._view
    if not view.made_with_grad and view.base._requires_grad:
        raise GradientError(
            f"in-place {what} on a view that was made under no_grad() of a tensor that requires "
            "grad, while grad is on: minigrad cannot tell whether the change belongs in the "
            "graph (torch refuses this too). Do both inside no_grad(), or both outside it."
        )


def _custom_view_error(function: type[Function], what_happened: str) -> GradientError:
    """Rule 5's refusal, in the words of what the user wrote: a Function may say it in its own
    (`in_place_refusal`: a module's backward hooks are Functions the user never wrote)."""
    own_words = getattr(function, "in_place_refusal", None)
    if own_words:
        return GradientError(own_words.format(what_happened=what_happened))
    name = function.__name__
    return GradientError(
        f"an output of {name} (a Function of your own) is a view of its input, or the input "
        f"itself, and {what_happened}: the change would bypass {name}'s backward, so the "
        "gradient would be wrong (torch refuses this too). Clone the output "
        f"({name}.apply(x).clone()), or return x.clone() from forward instead of x or a view "
        "of it."
    )


def _one_of_several(view: View) -> type[Function] | None:
    """The op, if the view is one of several views that an op returned at once (split's)."""
    for op, _, _, output in view.steps:
        if output is not None:
            return op
    return None


def _one_of_several_error(op: type[Function], what_happened: str) -> GradientError:
    return GradientError(
        f"this tensor is one of the views {op.__name__.lower()} returned at once (the pieces of "
        f"split, chunk or unbind share x's memory), and {what_happened}: torch refuses that "
        "while gradients are recorded, and so does minigrad. Clone the piece first "
        "(q = q.clone()), or change x itself (x[0:2] *= 2), or make the change under no_grad()."
    )


def _check_may_change(target: Tensor, what: str) -> None:
    """Refuse the in-place changes that torch refuses while recording (rules 4 and 5 above)."""
    if target._view is not None and target._view.custom_function:
        raise _custom_view_error(target._view.custom_function, f"in-place {what} would change it")
    several = _one_of_several(target._view) if target._view is not None else None
    if several:
        raise _one_of_several_error(several, f"in-place {what} would change it")
    if target._ctx is None and target._requires_grad:
        raise GradientError(
            f"in-place {what} on a leaf tensor that requires grad (a parameter): its .grad must "
            "be the gradient at the values the forward pass used. Update parameters inside "
            "`with minigrad.no_grad():` (p -= lr * p.grad) or through p.data "
            "(p.data -= lr * p.grad); elsewhere write x = x + y instead of x += y."
        )
    view = target._view
    if view is not None and view.base._ctx is None and view.base._requires_grad:
        raise GradientError(
            f"in-place {what} on a view of a leaf tensor that requires grad (a parameter): it "
            "would change the parameter. Do it inside `with minigrad.no_grad():`, or work on "
            "a copy: x = p.clone(), then change x."
        )
