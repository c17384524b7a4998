"""A module's backward hooks (`register_full_backward_hook`, `register_full_backward_pre_hook`).

backward() knows ops, not modules: it never sees "the Linear's gradients". So a call of a
module with backward hooks puts two identity ops around its forward, as torch's BackwardHook
does: one on the tensors going in, one on the tensors coming out. Each is a node of the graph
whose backward gets, all at once, the gradients of those tensors, and whose backward's result
is what flows on: the place to show them to the hooks and let the hooks replace them.

    x --[SeeGradInput]--> forward(...) --[SeeGradOutput]--> output
             ^ hook(module, grad_input, grad_output)   ^ pre_hook(module, grad_output)

The output side runs first in backward (it is nearer the loss): the pre-hooks see grad_output
and may replace it, and it is kept for the hooks. The input side runs once the gradients
w.r.t. the module's inputs are complete: the hooks see grad_input (one entry per positional
argument: None for one that is not a tensor) with that grad_output, and may replace grad_input.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

from ..autograd.function import Context, Function
from ..autograd.grad_mode import is_grad_enabled
from ..errors import shape_str, warn_at_user_line
from ..tensor import Tensor


class SeeGradOutput(Function):
    """out_i = x_i (a module's outputs, unchanged).   dout_i/dx_i = 1: their gradients go back
    as they came, through the module's backward pre-hooks."""

    in_place_refusal = (
        "this tensor is an output that a module with full backward hooks "
        "(register_full_backward_hook or _pre_hook) hands on as it is, so that the hooks see its "
        "gradient, and {what_happened}: the change would go around the hooks, so the gradients "
        "they see would be wrong (torch refuses this too). Don't change a hooked module's "
        "output in place: use inplace=False in the layer after it (nn.ReLU(inplace=False)), or "
        ".clone() the output first."
    )

    @staticmethod
    def forward(ctx: Context, *outputs: Tensor, call: ModuleBackwardHooks) -> tuple[Tensor, ...]:
        ctx.call = call
        ctx.set_materialize_grads(False)  # an output nobody used: None in grad_output, as torch
        ctx.mark_non_differentiable(*[t for t in outputs if not t.requires_grad])
        return outputs

    @staticmethod
    def backward(ctx: Context, *grads: Tensor | None) -> tuple[Tensor | None, ...]:
        return ctx.call.output_gradients_arrived(grads)


class SeeGradInput(Function):
    """out_i = x_i (a module's tensor inputs, unchanged).   dout_i/dx_i = 1: their gradients go
    back as they came, through the module's full backward hooks."""

    in_place_refusal = (
        "this tensor is an input that a module with full backward hooks "
        "(register_full_backward_hook) hands on to its forward as it is, so that the hooks see "
        "its gradient, and {what_happened}: the change would go around the hooks, so grad_input "
        "would be wrong (torch refuses this too). Don't change a hooked module's input in "
        "place: use inplace=False in its first layer (nn.ReLU(inplace=False)), or .clone() the "
        "input first."
    )

    @staticmethod
    def forward(ctx: Context, *inputs: Tensor, call: ModuleBackwardHooks) -> tuple[Tensor, ...]:
        ctx.call = call  # (an input nobody used, or not requiring grad: zeros, as torch)
        ctx.mark_non_differentiable(*[t for t in inputs if not t.requires_grad])
        return inputs

    @staticmethod
    def backward(ctx: Context, *grads: Tensor) -> tuple[Tensor | None, ...]:
        return ctx.call.input_gradients_arrived(grads)


class ModuleBackwardHooks:
    """One call of a module with backward hooks: the hooks it had when called (one registered
    or removed later changes the next call, not this one, as in torch), where its tensor
    arguments and outputs were, and the grad_output between the two sides of backward."""

    def __init__(
        self, module: Any, pre_hooks: list[Callable[..., Any]], hooks: list[Callable[..., Any]]
    ) -> None:
        self.module, self.pre_hooks, self.hooks = module, pre_hooks, hooks
        self.input_count = self.output_count = 0
        self.input_positions: list[int] | None = None  # of the tensors wrapped; None: none
        self.output_positions: list[int] | None = None
        self.grad_output: tuple[Any, ...] | None = None  # from the output side, until used

    def wrap_inputs(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """The positional arguments, their tensors through SeeGradInput (when any needs grad)."""
        self.input_count = len(args)
        self.input_positions, wrapped = _wrap(args, SeeGradInput, self)
        return wrapped

    def wrap_output(self, output: Any) -> Any:
        """The output (a Tensor or a tuple), its tensors through SeeGradOutput."""
        if not isinstance(output, (Tensor, tuple)):
            warnings.warn(
                f"{type(self.module).__name__} returned a {type(output).__name__}: its backward "
                "hooks run only for a module that returns a Tensor or a tuple of Tensors, so "
                "they will not run for this call.",
                stacklevel=3,
            )
        several = isinstance(output, tuple)
        outputs = output if several else (output,)
        self.output_count = len(outputs)
        self.output_positions, wrapped = _wrap(outputs, SeeGradOutput, self)
        return wrapped if several else wrapped[0]

    def output_gradients_arrived(self, grads: tuple[Any, ...]) -> tuple[Any, ...]:
        """The pre-hooks see grad_output and may replace it; a module none of whose inputs needs
        grad has its hooks called now, as nothing will reach its input side."""
        assert self.output_positions is not None  # (this side exists only when some were wrapped)
        grad_output = _spread(grads, self.output_positions, self.output_count)
        for pre_hook in self.pre_hooks:
            changed = pre_hook(self.module, grad_output)
            if changed is not None:
                grad_output = _checked(changed, grad_output, "grad_output")
        self.grad_output = grad_output
        if self.input_positions is None:
            self._hooks_without_input_gradients()
        return tuple(grad_output[i] for i in self.output_positions)

    def input_gradients_arrived(self, grads: tuple[Any, ...]) -> tuple[Any, ...]:
        """The hooks see grad_input (with the grad_output kept) and may replace it."""
        assert self.input_positions is not None
        if self.grad_output is None:  # reached without going through the outputs: no hooks
            return grads
        grad_input = _spread(grads, self.input_positions, self.input_count)
        for hook in self.hooks:
            changed = hook(self.module, grad_input, self.grad_output)
            if changed is not None:
                grad_input = _checked(changed, grad_input, "grad_input")
        self.grad_output = None
        return tuple(grad_input[i] for i in self.input_positions)

    def _hooks_without_input_gradients(self) -> None:
        if self.hooks:
            warn_at_user_line(
                f"the full backward hooks of {type(self.module).__name__} run as soon as its "
                "output's gradient is known, because none of its inputs requires grad: their "
                "grad_input is all None."
            )
        grad_input = (None,) * self.input_count
        for hook in self.hooks:
            changed = hook(self.module, grad_input, self.grad_output)
            if changed is not None and any(grad is not None for grad in changed):
                raise RuntimeError(
                    f"a backward hook of {type(self.module).__name__} "
                    "(register_full_backward_hook) returned gradients for inputs that do not "
                    "require grad: none of its inputs does, so there is nothing to replace. "
                    "Return None (or a tuple of None)."
                )
        self.grad_output = None


def _wrap(
    values: tuple[Any, ...], identity: type[Function], call: ModuleBackwardHooks
) -> tuple[list[int] | None, tuple[Any, ...]]:
    """Where the tensors among `values` are, and `values` with them through `identity`; (None,
    values) when no tensor needs grad (or grad mode is off): backward will not come here."""
    positions = [i for i, value in enumerate(values) if isinstance(value, Tensor)]
    if not is_grad_enabled() or not any(values[i].requires_grad for i in positions):
        return None, values
    through = identity.apply(*[values[i] for i in positions], call=call)
    wrapped = list(values)
    for i, tensor in zip(positions, through):
        wrapped[i] = tensor
    return positions, tuple(wrapped)


def _spread(grads: tuple[Any, ...], positions: list[int], count: int) -> tuple[Any, ...]:
    """One entry per argument (or output): the tensors' gradients where they were, else None."""
    spread: list[Any] = [None] * count
    for i, grad in zip(positions, grads):
        spread[i] = grad
    return tuple(spread)


def _checked(changed: Any, grads: tuple[Any, ...], kind: str) -> tuple[Any, ...]:
    """What a hook returned, if it can replace `grads` (its grad_input or grad_output): a tuple
    (or list) as long, each gradient of the shape it replaces."""
    registered_by = f"register_full_backward{'_pre' if kind == 'grad_output' else ''}_hook"
    if not isinstance(changed, (tuple, list)) or len(changed) != len(grads):
        if isinstance(changed, (tuple, list)):
            got = f"{len(changed)} entries"
        else:  # (a Tensor, say: torch would read it as a tuple of its rows)
            got = f"a {type(changed).__name__}"
        raise RuntimeError(
            f"a hook ({registered_by}) returned {got} where {kind} has {len(grads)}: return a "
            f"tuple with one gradient (or None) per entry of {kind}, or None to keep it."
        )
    for i, (new, old) in enumerate(zip(changed, grads)):
        if new is not None and old is not None and tuple(new.shape) != tuple(old.shape):
            raise RuntimeError(
                f"a hook ({registered_by}) returned a gradient of shape {shape_str(new.shape)} "
                f"for {kind}[{i}], which has shape {shape_str(old.shape)}: a hook may change a "
                "gradient's values, not its shape."
            )
    return tuple(changed)


# ---- register_backward_hook: torch's older kind, on the node that made the output ---------------

BOTH_KINDS_OF_BACKWARD_HOOKS = (
    "Cannot use both regular backward hooks and full backward hooks on a single Module. Please "
    "use only one of them."
)


def hook_output_node(module: Any, args: tuple[Any, ...], output: Any, hooks: list[Any]) -> None:
    """register_backward_hook's hooks, as torch calls them: on the node that made the output
    (its first tensor), each as that node's hook (grad_fn.register_hook), so that it sees the
    gradients of that op's inputs and its outputs'; and torch's warning where those are not the
    module's (a forward of several ops, or not of tensors)."""
    first = output
    while not isinstance(first, Tensor):
        first = next(v for v in first.values() if isinstance(v, Tensor)) if isinstance(
            first, dict
        ) else first[0]  # fmt: skip
    node = first.grad_fn
    if node is None:
        return
    for hook in hooks:
        node.register_hook(functools.partial(_called_with_module, hook, module))
    problem = _not_one_op(args, output, node)
    if problem:
        warn_at_user_line(problem, FutureWarning)


def _called_with_module(hook: Any, module: Any, grad_input: Any, grad_output: Any) -> Any:
    return hook(module, grad_input, grad_output)


_DEPRECATED = " is deprecated and will be removed in future versions. This hook will be missing "
_FULL = " Please use register_full_backward_hook to get the documented behavior."


def _not_one_op(args: tuple[Any, ...], output: Any, node: Any) -> str | None:
    """torch's warning (its words) where the older hook's gradients are not the module's, or
    None: a forward from tensors to tensors by one op."""
    outputs = (output,) if isinstance(output, Tensor) else output
    if not (isinstance(outputs, tuple) and all(isinstance(t, Tensor) for t in outputs)):
        return ("Using non-full backward hooks on a Module that does not return a single Tensor "
                f"or a tuple of Tensors{_DEPRECATED}some of the grad_output.{_FULL}")  # fmt: skip
    if not all(isinstance(t, Tensor) for t in args):
        return ("Using non-full backward hooks on a Module that does not take as input a "
                "single Tensor or a tuple of Tensors"
                f"{_DEPRECATED}some of the grad_input.{_FULL}")  # fmt: skip
    nodes = {t.grad_fn for t in outputs if t.grad_fn is not None}
    if not nodes or (len(nodes) == 1 and node not in nodes):
        return ("Using a non-full backward hook when outputs are nested in python data structure"
                f"{_DEPRECATED}some grad_output.")  # fmt: skip
    if len(nodes) > 1:
        return ("Using a non-full backward hook when outputs are generated by different autograd "
                f"Nodes{_DEPRECATED}some grad_output.{_FULL}")  # fmt: skip
    if {t.grad_fn for t in args if t.grad_fn is not None} != {n for n, _ in node.next_functions}:
        return ("Using a non-full backward hook when the forward contains multiple autograd "
                f"Nodes{_DEPRECATED}some grad_input.{_FULL}")  # fmt: skip
    return None
