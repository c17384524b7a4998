"""`Tensor`: a torch tensor plus the bookkeeping that backpropagation needs.

A Tensor wraps exactly one torch tensor (`_data`), which does the maths and never has torch's own
`requires_grad` set. What makes it differentiable is minigrad's: `requires_grad`, `grad`, and
`_ctx`, the graph node of the op that made it (None for a leaf: a tensor the user made).

Every operator and method here is a one-liner that calls an op from `minigrad.ops`; the in-place
ones (`+=`, `add_`, `x[k] = v`, ...) go through `autograd.inplace`, which explains how a tensor
changed in place gets a new history.
"""

from __future__ import annotations

import functools
import html
import math
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from itertools import accumulate
from math import prod
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch._prims_common import suggest_memory_format
from torch.utils.hooks import RemovableHandle

from . import return_types
from .autograd.grad_mode import is_grad_enabled
from .devices import as_device, default_device
from .errors import (
    GradientError,
    ShapeError,
    missing_attribute,
    shape_str,
    warn_at_user_line,
    warn_once_at_user_line,
)

if TYPE_CHECKING:
    from .autograd.function import Context
    from .autograd.inplace import View

Scalar = int | float | bool
Operand = "Tensor | Scalar"
Dims = int | Sequence[int] | None


def unwrap(x: Any) -> Any:
    """The torch tensor inside a minigrad Tensor; anything else as it is."""
    return x._data if isinstance(x, Tensor) else x


def numpy_names(method: Callable[..., Any]) -> Callable[..., Any]:
    """Let a method take NumPy's names for two arguments, as torch's methods do: axis= for dim=
    and keepdims= for keepdim= (d2l.ai writes x.sum(axis=0), makemore x.sum(1, keepdims=True))."""

    @functools.wraps(method)
    def with_numpy_names(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            if "axis" in kwargs:
                kwargs["dim"] = kwargs.pop("axis")
            if "keepdims" in kwargs:
                kwargs["keepdim"] = kwargs.pop("keepdims")
        return method(*args, **kwargs)

    return with_numpy_names


def _in_place_with(what: str, op: str) -> Callable[..., Tensor]:
    """The in-place method `x <what> y` (x += y, x.add_(y)...): x.<op>(y) written into x."""

    kernel = op + "_"  # torch's in-place method

    def method(self: Tensor, other: Operand, **options: Any) -> Tensor:
        other = _operand(other, self)
        return self._update(
            what,
            (other,),
            lambda d: getattr(d, kernel)(unwrap(other), **options),
            lambda x: getattr(x, op)(other, **options),
        )

    method.__name__ = method.__qualname__ = what if what.endswith("_") else _DUNDERS[what]
    method.__doc__ = f"x.{op}(other) written into x's own memory, as torch's {op}_ (in place)."
    return method


def _in_place(op: str) -> Callable[..., Tensor]:
    """The in-place method x.<op>_(): x.<op>() written into x (with the same arguments, which
    are numbers and dims, not tensors: x.cumsum_(1), x.polygamma_(2))."""

    kernel = op + "_"  # torch's in-place method

    def method(self: Tensor, *args: Any, **options: Any) -> Tensor:
        return self._update(
            kernel,
            (),
            lambda d: getattr(d, kernel)(*args, **options),
            lambda x: getattr(x, op)(*args, **options),
        )

    method.__name__ = method.__qualname__ = op + "_"
    method.__doc__ = f"x.{op}() written into x's own memory, as torch's {op}_ (in place)."
    return method


def _in_place_without_gradient(op: str) -> Callable[[Tensor], Tensor]:
    """x.<op>_(), recorded with a backward that refuses, as torch's: torch has no derivative
    for this in-place form (though it has one for x.<op>())."""

    kernel = op + "_"
    advice = f"The out-of-place x = x.{op}() has one (in torch too): write that instead."

    def compute(x: Tensor) -> Tensor:
        return ops.NoDerivative.apply(x, function=getattr(torch, op), name=kernel, advice=advice)

    def method(self: Tensor) -> Tensor:
        return self._update(kernel, (), lambda d: getattr(d, kernel)(), compute)

    method.__name__ = method.__qualname__ = kernel
    method.__doc__ = f"x.{op}() written into x's own memory, as torch's {kernel} (no gradient)."
    return method


_DUNDERS = {"+=": "__iadd__", "-=": "__isub__", "*=": "__imul__", "/=": "__itruediv__"}
_DUNDERS["**="] = "__ipow__"
_DUNDERS["//="], _DUNDERS["%="] = "__ifloordiv__", "__imod__"


def _plus_product_in_place(op: str) -> Callable[..., Tensor]:
    """x.<op>_(a, b, beta=1, alpha=1): beta * x + alpha * (a's product with b) written into x
    (addmm_, addmv_, addr_, baddbmm_, addbmm_)."""

    kernel = op + "_"

    def method(self: Tensor, a: Operand, b: Operand, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        a, b = _operand(a, self), _operand(b, self)
        return self._update(
            kernel,
            (a, b),
            lambda d: getattr(d, kernel)(unwrap(a), unwrap(b), beta=beta, alpha=alpha),
            lambda x: getattr(x, op)(a, b, beta=beta, alpha=alpha),
        )

    method.__name__ = method.__qualname__ = kernel
    method.__doc__ = f"x.{op}(a, b, beta=, alpha=) written into x's memory, as torch's {kernel}."
    return method


def _compared_in_place(what: str, comparison: str) -> Callable[[Tensor, Operand], Tensor]:
    """x.<what>(y), a comparison in place: 1 where x <comparison> y holds and 0 elsewhere, in
    x's own dtype (as torch's x.eq_(y), x.lt_(0)); in the graph, its gradient is 0."""

    def method(self: Tensor, other: Operand) -> Tensor:
        other = _operand(other, self)
        return self._update(
            what,
            (other,),
            lambda d: getattr(d, what)(unwrap(other)),
            lambda x: ops.Compare.apply(x, other, comparison=comparison),
        )

    method.__name__ = method.__qualname__ = what
    method.__doc__ = f"1 where x.{comparison}(other), else 0, written into x (as torch's {what})."
    return method


def _in_place_outside_graph(kernel: str) -> Callable[..., Tensor]:
    """x.<kernel>(y) for an op with no derivative (logical, bitwise, gcd): torch's in-place
    kernel on x's memory, and nothing recorded, as in torch (see inplace.change_outside_graph)."""

    def method(self: Tensor, *others: Operand) -> Tensor:
        others = tuple(unwrap(_operand(other, self)) for other in others)
        return inplace.change_outside_graph(self, lambda d: getattr(d, kernel)(*others))

    method.__name__ = method.__qualname__ = kernel
    method.__doc__ = f"x.{kernel[:-1]}(...) written into x's own memory, as torch's {kernel}."
    return method


class Tensor:
    __slots__ = (
        "_data",
        "_requires_grad",
        "_grad",
        "_ctx",
        "_output_nr",
        "_retains_grad",
        "_view",
        "name",
        "_post_accumulate_grad_hooks",
        "_grad_hooks",
        "__weakref__",
    )

    _data: torch.Tensor
    _requires_grad: bool
    _grad: Tensor | None
    _ctx: Context | None
    _output_nr: int  # which output of its op it is (ops with several outputs)
    _retains_grad: bool
    _view: View | None  # how it views another tensor's memory, if it does (autograd.inplace)
    name: str | None  # optional, for pictures and traces of the graph ("weights", "bias")
    _post_accumulate_grad_hooks: OrderedDict[int, Callable[[Tensor], None]] | None
    _grad_hooks: OrderedDict[int, tuple[int, Callable[..., Any]]] | None  # a leaf's register_hook

    # numpy must not turn a Tensor into an array behind the graph's back: with this, `array + t`
    # and `np.float64(2) * t` hand over to the Tensor's own operators (NEP 13).
    __array_ufunc__ = None

    def __init__(
        self,
        *data: Any,
        device: str | torch.device | None = None,
        requires_grad: bool = False,
        name: str | None = None,
    ) -> None:
        """`Tensor(t)` wraps the torch tensor t without copying it (and a minigrad Tensor's
        data, sharing it, as torch.Tensor(t) does).

        Anything else goes to torch.Tensor's own constructor, as in torch: `Tensor([1, 2])`
        copies data into a float32 tensor (torch's default dtype), `Tensor(2, 3)` is an
        uninitialised tensor of that shape, `Tensor()` an empty one; on minigrad's default
        device unless `device=` says otherwise. `minigrad.tensor(data)` keeps the data's dtype.
        """
        if len(data) == 1 and isinstance(data[0], (torch.Tensor, Tensor)):
            data = unwrap(data[0])
        else:
            data = _legacy_constructor(data, device)
        if data.requires_grad:  # minigrad computes gradients itself: torch's autograd stays out
            data = data.detach()
        self._data = data
        self._grad = None
        self._ctx = None
        self._output_nr = 0
        self._retains_grad = False
        self._view = None
        self._requires_grad = False
        self.name = name
        self._post_accumulate_grad_hooks = None
        self._grad_hooks = None
        if requires_grad:
            self.requires_grad_()

    @staticmethod  # (not a classmethod: every op's output is made here, and binding one costs)
    def _from_op(data: torch.Tensor, ctx: Context | None, output_nr: int = 0) -> Tensor:
        """The output of an op: a node of the graph if `ctx` is given, else a plain value."""
        out = Tensor.__new__(Tensor)
        out._data = data
        out._grad = None
        out._ctx = ctx
        out._output_nr = output_nr
        out._retains_grad = False
        out._view = None
        out._requires_grad = ctx is not None
        out.name = None
        out._post_accumulate_grad_hooks = None
        out._grad_hooks = None
        return out

    def __setstate__(self, state: Any) -> None:
        """Unpickling (and copy.deepcopy): the slots as pickled. A Tensor pickled by an older
        minigrad lacks the slots added since (gradient hooks...): those start as a new
        Tensor's do, instead of failing later with an AttributeError."""
        attributes, slots = state if isinstance(state, tuple) else (state, None)
        for name, value in {**_FRESH_SLOTS, **(slots or {})}.items():
            setattr(self, name, value)
        if attributes:  # (a subclass with a __dict__)
            self.__dict__.update(attributes)

    # ---- the graph ---------------------------------------------------------------------------

    def _catch_up(self) -> None:
        """A view whose base was changed in place takes the base's new history (lazily, as in
        torch), so that requires_grad and grad_fn describe the values it now holds."""
        if self._view is not None and is_grad_enabled():
            inplace.refresh_view(self)

    @property
    def requires_grad(self) -> bool:
        self._catch_up()
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, requires_grad: bool) -> None:
        if requires_grad is True and self.grad_fn is not None:  # (False: requires_grad_ says)
            raise GradientError(
                "requires_grad can be set only on leaves, as in torch; this tensor was made by "
                f"{self._ctx.op_name} and already requires grad (gradients flow through it). For "
                "its own .grad after backward(), call retain_grad() on it."
            )
        self.requires_grad_(requires_grad)

    @property
    def output_nr(self) -> int:
        """Which output of the op that made it this tensor is (0 but for ops with several)."""
        self._catch_up()
        return self._output_nr

    @property
    def is_leaf(self) -> bool:
        """Made by the user, not by an op. Only leaves (and `retain_grad()` ones) keep `.grad`."""
        self._catch_up()
        return self._ctx is None

    @property
    def grad_fn(self) -> Context | None:
        """The graph node of the op that made this tensor (torch's name for it)."""
        self._catch_up()
        return self._ctx

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Ask for this leaf's gradient in backward(). Returns self, so it chains."""
        if not isinstance(requires_grad, bool):
            raise TypeError(
                f"requires_grad must be True or False, got {type(requires_grad).__name__}."
            )
        if requires_grad and not (self._data.is_floating_point() or self._data.is_complex()):
            raise GradientError(
                f"only floating-point tensors can require gradients, but this one has dtype "
                f"{self._data.dtype}: a gradient is a rate of change, and integers or bools "
                "cannot change by a small step. Convert first: x.float().requires_grad_()."
            )
        if not requires_grad and self.grad_fn is not None:
            raise GradientError(
                "requires_grad can be turned off only on leaves; this tensor was made by "
                f"{self._ctx.op_name}. Use .detach() to get a copy outside the graph."
            )
        self._requires_grad = requires_grad
        return self

    @property
    def retains_grad(self) -> bool:
        """Whether retain_grad() was called on this tensor (torch's attribute)."""
        return self._retains_grad

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf too (backward normally keeps it only on leaves). Returns
        None, as torch's: `h.retain_grad()` on a line of its own."""
        if not self.requires_grad:
            raise GradientError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = True
        if self._ctx is not None:
            self._ctx.retains_grad = True

    @property
    def _version(self) -> int:
        """How many in-place changes the values have had (a view shares its base's count), as
        torch's: a tensor saved for backward is checked against it (autograd.Context)."""
        return self._data._version

    @property
    def grad(self) -> Tensor | None:
        """dLoss/dThis after backward(): set on leaves that require grad (and retain_grad())."""
        if events.current is not None:  # (minigrad.compile notes which .grad a step reads)
            events.current.grad_used(self, write=False)
        if self._grad is None and not self._retains_grad and not self.is_leaf:
            warn_at_user_line(NOT_A_LEAF)  # (the classic surprise: h.grad is None after backward)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | torch.Tensor | None) -> None:
        if events.current is not None:  # (minigrad.compile notes .grad as it was before)
            events.current.grad_used(self, write=True)
        if value is None:
            self._grad = None
            return
        raw = unwrap(value)
        if not isinstance(raw, torch.Tensor):
            raise TypeError(
                f".grad must be a Tensor or None, got {type(value).__name__}. To clear a "
                "gradient write x.grad = None; to set one, a tensor of x's shape."
            )
        problems = [
            f"{what} {theirs} where the tensor has {ours}"
            for what, theirs, ours in (
                ("shape", shape_str(raw.shape), shape_str(self.shape)),
                ("dtype", raw.dtype, self.dtype),
                ("device", raw.device, self.device),
            )
            if theirs != ours
        ]
        if problems:
            raise ValueError(
                "a gradient must match its tensor, but the one given has "
                + "; ".join(problems)
                + ". A gradient holds dLoss/dx for each element of x: same shape, dtype, device."
            )
        self._grad = value if isinstance(value, Tensor) else Tensor(raw)

    def detach_(self) -> Tensor:
        """Take this tensor out of the graph, in place: it becomes a leaf that requires no grad,
        as torch's (a hidden state carried between batches: h.detach_()). The ops that used it
        before keep their links. A view cannot be detached in place, as in torch: use detach()."""
        if self._view is not None:
            raise GradientError(
                f"detach_() on a view (shape {shape_str(self.shape)}, sharing another tensor's "
                "memory): a view cannot be detached in place, as in torch. Use x = x.detach()."
            )
        inplace.leave_node(self)
        self._ctx, self._output_nr, self._requires_grad = None, 0, False
        return self

    def detach(self) -> Tensor:
        """The same values (shared storage) outside the graph: no gradient flows through it.

        A torch tensor of its own over that storage, as torch's detach gives: were it the same
        torch tensor, `x * x.detach()` would save one tensor twice, and backward(create_graph=
        True) could not tell which of the two was cut off from the graph."""
        return Tensor(self._data.detach())

    def _accumulate_grad(self, grad: torch.Tensor | Tensor, owned: bool = False) -> None:
        """Add a gradient into `.grad`: gradients add up over uses and over backward() calls.

        The first time, store a copy: `grad` may be shared with other tensors (`x + y` gives both
        the same gradient) and `.grad` must be this tensor's own, to be changed in place safely;
        or `grad` itself, when the engine says nothing else holds it (`owned`). Under
        backward(create_graph=True) the gradient is a Tensor with a graph, and `.grad` keeps
        that graph: a copy recorded as an op, then sums out of place, as in torch.
        """
        listener = events.current
        if listener is not None:
            listener.accumulate_begin(self, grad)
        if isinstance(grad, Tensor):  # (a gradient with a graph: pictures call it d_<name>)
            self._grad = grad.clone() if self._grad is None else self._grad + grad
            self._grad.name = f"d_{self.name}" if self.name else None
        elif self._grad is None:
            self._grad = Tensor(grad if owned else grad.clone())
        else:
            self._grad._data += grad
        if listener is not None:
            listener.accumulate_end(self)
        if self._post_accumulate_grad_hooks:  # e.g. DistributedDataParallel's
            for hook in tuple(self._post_accumulate_grad_hooks.values()):
                hook(self)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call `hook(grad)` each time backward computes this tensor's gradient, as torch's: to
        look at it, or to replace it by returning another of the same shape, which is then
        what flows on (into the op that made this tensor, or into a leaf's .grad). Returns a
        handle: `handle.remove()` unregisters the hook.

        The hook belongs to the tensor as it is now: changed in place afterwards, the tensor
        has a new history, and the hook still gets the gradient of its old value (torch's rule).
        """
        if not self.requires_grad:
            raise GradientError(
                "register_hook on a tensor that does not require grad: backward() never "
                "computes its gradient, so the hook would never run. Call .requires_grad_() "
                "first, or hook a tensor of the graph."
            )
        node = self.grad_fn if self.grad_fn is not None else self  # where its gradient arrives
        if node._grad_hooks is None:
            node._grad_hooks = OrderedDict()  # handle id: (which output of the node, hook)
        handle = RemovableHandle(node._grad_hooks)
        node._grad_hooks[handle.id] = (self._output_nr, hook)
        return handle

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call `hook(self)` each time backward() has added this leaf's gradient into `.grad`.

        The engine adds a leaf's gradient once per backward(), after summing it over all the
        leaf's uses, so the hook sees `.grad` final for that pass (and can, say, send it to
        other processes while backward goes on with the other leaves). As torch's: leaves
        only; returns a handle whose `remove()` unregisters the hook.
        """
        if not self.requires_grad:
            raise GradientError(
                "register_post_accumulate_grad_hook on a tensor that does not require grad: "
                "backward() never gives it a gradient, so the hook would never run. Call "
                ".requires_grad_() first."
            )
        if self._ctx is not None:
            raise GradientError(
                "post-accumulate-grad hooks are for leaves (tensors you made), whose .grad "
                f"backward() fills; this tensor was made by {self._ctx.op_name}."
            )
        if self._post_accumulate_grad_hooks is None:
            self._post_accumulate_grad_hooks = OrderedDict()  # weakly referenced by handles
        handle = RemovableHandle(self._post_accumulate_grad_hooks)
        self._post_accumulate_grad_hooks[handle.id] = hook
        return handle

    def backward(
        self,
        gradient: Tensor | torch.Tensor | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Tensor | Sequence[Tensor] | None = None,
        trace: Any = False,
    ) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad, into `leaf.grad`.

        `gradient` is dLoss/d(self); leave it out when self is a scalar (it is then 1).
        `create_graph=True` records the backward pass too, so that `.grad` has a graph of its
        own and can be differentiated again (`retain_graph` then defaults to True).
        `inputs`: add gradients into these tensors' `.grad` only (the others are left as they are).
        `trace=True` prints each step of the backward pass (see `minigrad.trace`).
        """
        if not self.requires_grad:  # (a view catches up with its base first)
            raise GradientError(
                "backward() on a tensor that does not require grad: none of the tensors it was "
                "computed from had requires_grad=True (or it was computed under no_grad()). Call "
                ".requires_grad_() on the parameters before the forward pass."
            )
        if gradient is None and self._data.numel() != 1:
            raise GradientError(
                f"backward() on a tensor of shape {shape_str(self.shape)} needs a gradient: "
                "the implicit one, 1, exists only for a single number. Reduce it first "
                "(loss.mean().backward()), or pass dLoss/dTensor of the same shape: "
                "y.backward(minigrad.ones_like(y))."
            )
        grad = None if gradient is None else self._given_gradient(gradient, create_graph)
        retain = create_graph if retain_graph is None else retain_graph
        targets = None if inputs is None else gradients._as_list(inputs, "inputs")
        arrive = None if targets is None else gradients.accumulate_into(targets)
        run = functools.partial(
            engine.run_backward, [(self, grad)], retain, create_graph, arrive, targets
        )
        if not trace:
            run()
            return
        with events.listening(events.make_trace() if isinstance(trace, bool) else trace):
            run()

    def _given_gradient(self, gradient: Tensor | torch.Tensor, create_graph: bool) -> Any:
        """The gradient passed to backward(gradient), checked: dLoss/dSelf, one per element.
        With create_graph a Tensor that requires grad keeps its graph (gradgradcheck)."""
        grad = unwrap(gradient)
        if not isinstance(grad, torch.Tensor) or grad.shape != self._data.shape:
            is_tensor = isinstance(grad, torch.Tensor)
            got = f"shape {shape_str(grad.shape)}" if is_tensor else type(grad).__name__
            raise GradientError(
                f"backward(gradient) needs a gradient of the tensor's shape "
                f"{shape_str(self.shape)}, got {got}. It is dLoss/dTensor: one number per "
                "element of the tensor."
            )
        if create_graph and isinstance(gradient, Tensor):
            return gradient if gradient.device == self.device else gradient.to(self.device)
        return grad if grad.device == self._data.device else grad.to(self._data.device)

    # ---- what a tensor is --------------------------------------------------------------------

    @property
    def data(self) -> Tensor:
        """The values outside the graph, sharing storage: `p.data -= lr * p.grad` updates p."""
        return Tensor._from_op(self._data, None)  # (a plain value: as Tensor(self._data), faster)

    @data.setter
    def data(self, value: Tensor | torch.Tensor) -> None:
        raw = unwrap(value)
        if events.current is not None:  # (minigrad.compile notes .data as it was before)
            events.current.data_set(self)
        if not isinstance(raw, torch.Tensor):
            raise TypeError(
                f".data must be set to a Tensor (or a torch tensor), got {type(value).__name__}. "
                "To change the values in place, write x.data.copy_(...) or x.data[...] = ...; "
                "to build a tensor from numbers, use minigrad.tensor(...)."
            )
        self._data = raw.detach() if raw.requires_grad else raw  # (p.data -= x sets it back)

    @property
    def shape(self) -> torch.Size:
        return self._data.shape

    def size(self, dim: int | None = None) -> Any:
        return self._data.size() if dim is None else self._data.size(dim)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> torch.dtype:
        return self._data.dtype

    @property
    def device(self) -> torch.device:
        return self._data.device

    def numel(self) -> int:
        return self._data.numel()

    def nelement(self) -> int:
        return self._data.numel()

    def is_floating_point(self) -> bool:
        return self._data.is_floating_point()

    def is_complex(self) -> bool:
        return self._data.is_complex()

    def is_signed(self) -> bool:
        return self._data.is_signed()

    def ndimension(self) -> int:
        return self._data.ndim

    @property
    def is_cuda(self) -> bool:
        return self._data.is_cuda

    @property
    def is_cpu(self) -> bool:
        return self._data.is_cpu

    def get_device(self) -> int:
        """The CUDA device's index, -1 on the CPU (as torch's)."""
        return self._data.get_device()

    def is_same_size(self, other: Tensor) -> bool:
        return self.shape == other.shape

    def is_nonzero(self) -> bool:
        """Whether the one number this tensor holds is not 0 (torch's error for more numbers)."""
        return self._data.is_nonzero()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it holds one number and has no first axis")
        return self._data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        """Iterate over the first axis, as torch does (`list(zip(x, y))` pairs up rows)."""
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor: it has no first axis")
        if self.requires_grad and is_grad_enabled():
            return (self[i] for i in range(len(self)))
        return map(Tensor, self._data.unbind(0))

    def item(self) -> Scalar:
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def numpy(self) -> np.ndarray:
        self._refuse_numpy_in_graph("numpy()")
        if self._data.device.type != "cpu":
            raise TypeError(
                f"numpy() needs a tensor on the CPU; this one is on {self.device}. "
                "Copy it over first: x.cpu().numpy()."
            )
        return self._data.numpy()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        self._refuse_numpy_in_graph("a NumPy array of it (np.asarray, plotting)")
        array = self._data.cpu().numpy()
        return array if dtype is None else array.astype(dtype)

    def _refuse_numpy_in_graph(self, asked: str) -> None:
        """As torch: an array shares the tensor's memory but not its graph, so a tensor that
        requires grad must be taken out of the graph on purpose first."""
        if self.requires_grad:
            raise GradientError(
                f"{asked} on a tensor that requires grad: NumPy knows nothing of the graph, so "
                "the values would leave it without a word. Take them out on purpose, as in "
                "torch: x.detach().numpy() (or x.detach() wherever an array is made of it)."
            )

    def __float__(self) -> float:
        """The number, outside the graph: so torch warns (once) when the tensor is in one."""
        if self._requires_grad and is_grad_enabled():
            warn_once_at_user_line(
                "Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
                "behavior.\nConsider using tensor.detach() first."
            )
        return float(self._data)

    def __int__(self) -> int:
        return int(self._data)

    def __index__(self) -> int:
        return self._data.__index__()

    def __bool__(self) -> bool:
        return bool(self._data)

    def __format__(self, spec: str) -> str:
        """f"{loss}" and f"{loss:.4f}" of a 0-d tensor format its number, as torch's (2.0304...,
        not tensor(2.0304)); any other tensor is printed whole, and takes no format spec."""
        if self.ndim == 0 and type(self) is Tensor:
            return format(self._data.item(), spec)
        return object.__format__(self, spec)

    def __repr__(self) -> str:
        body = repr(self._data)[:-1]  # torch's "tensor([...])" less its closing parenthesis
        if self._ctx is not None:  # torch's words: the node that backpropagates through it
            return _with_suffix(body, f"grad_fn=<{self._ctx.node_name}>")
        if self.requires_grad:
            return _with_suffix(body, "requires_grad=True")
        return f"{body})"

    def _repr_html_(self) -> str:
        """How a notebook shows a Tensor: what it is in one line, then its numbers in a table."""
        return _tensor_html(self)

    __hash__ = object.__hash__  # identity, never value: two equal tensors are two nodes

    def __dir__(self) -> list[str]:
        """What a Tensor has (tab completion, dir(x)): less the names only torch's has."""
        return [n for n in super().__dir__() if not isinstance(vars(Tensor).get(n), TorchOnly)]

    # ---- devices and dtypes --------------------------------------------------------------

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """Another dtype, device or layout in memory (memory_format=torch.channels_last), as
        torch's `.to(...)`. Differentiable for floating dtypes."""
        for arg in (*args, kwargs.get("device")):
            if isinstance(arg, (str, torch.device)):
                as_device(arg)  # a clear error for a device that is not here (cuda without a GPU)
        layout = kwargs.get("memory_format", torch.preserve_format)
        check_memory_format(self.shape, layout, "to")
        out_dtype = _target_dtype(self._data, args, kwargs)
        if not out_dtype.is_floating_point:
            return Tensor(self._data.to(*args, **kwargs))  # integers carry no gradient
        device = _target_device(self._data, args, kwargs)
        # torch keeps the tensor when the format it suggests for its strides is the one asked
        # for (torch's own Python copy of that rule: is_contiguous differs on dims of size 1)
        same_layout = layout == torch.preserve_format or suggest_memory_format(self._data) == layout
        same = out_dtype == self.dtype and device == self.device and same_layout
        if same and not kwargs.get("copy"):
            return self  # nothing to change: torch returns the tensor itself too
        return ops.To.apply(self, *args, **kwargs)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: int | str | None = None) -> Tensor:
        if isinstance(device, int):
            device = f"cuda:{device}"
        return self.to(device or "cuda")

    def float(self) -> Tensor:
        return self.to(torch.float32)

    def double(self) -> Tensor:
        return self.to(torch.float64)

    def half(self) -> Tensor:
        return self.to(torch.float16)

    def long(self) -> Tensor:
        return self.to(torch.int64)

    def int(self) -> Tensor:
        return self.to(torch.int32)

    def bool(self) -> Tensor:
        return self.to(torch.bool)

    def bfloat16(self) -> Tensor:
        return self.to(torch.bfloat16)

    def byte(self) -> Tensor:
        return self.to(torch.uint8)

    def char(self) -> Tensor:
        return self.to(torch.int8)

    def short(self) -> Tensor:
        return self.to(torch.int16)

    def type(self, dtype: torch.dtype | str | None = None) -> Any:
        """x.type(): the name of x's type, as torch's ("torch.FloatTensor"); x.type(dtype), or
        a name such as "torch.DoubleTensor": x converted to it."""
        if dtype is None:
            return self._data.type()
        if isinstance(dtype, str):  # (a name may say the device too: torch.cuda.FloatTensor)
            named = torch.empty(0).type(dtype)
            return self.to(device=named.device, dtype=named.dtype)
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        """Converted to other's dtype and device."""
        return self.to(device=other.device, dtype=other.dtype)

    # ---- new tensors like this one (its dtype and device unless told otherwise) -------------

    def new_tensor(self, data: Any, **options: Any) -> Tensor:
        return Tensor(self._data.new_tensor(unwrap(data), **_factory(options)), **_grad(options))

    def new_zeros(self, *size: Any, **options: Any) -> Tensor:
        return Tensor(self._data.new_zeros(_size_args(size), **_factory(options)), **_grad(options))

    def new_ones(self, *size: Any, **options: Any) -> Tensor:
        return Tensor(self._data.new_ones(_size_args(size), **_factory(options)), **_grad(options))

    def new(self, *args: Any, **options: Any) -> Tensor:
        """torch's oldest constructor, called on a tensor of the dtype and device wanted:
        x.new(2, 3) (uninitialised values, as new_empty(2, 3)), x.new([1, 2]) (from data, as
        new_tensor). Newer code writes new_empty, new_tensor, new_zeros."""
        return Tensor(self._data.new(*[unwrap(a) for a in args], **options))

    def new_empty(self, *size: Any, **options: Any) -> Tensor:
        return Tensor(self._data.new_empty(_size_args(size), **_factory(options)), **_grad(options))

    def new_full(self, size: Sequence[int], fill_value: Scalar, **options: Any) -> Tensor:
        data = self._data.new_full(tuple(size), fill_value, **_factory(options))
        return Tensor(data, **_grad(options))

    def clone(self, memory_format: torch.memory_format | None = None) -> Tensor:
        check_memory_format(self.shape, memory_format, "clone")
        return ops.Clone.apply(self, memory_format=memory_format)

    def contiguous(self, memory_format: torch.memory_format = torch.contiguous_format) -> Tensor:
        """This tensor if its elements lie in memory row after row, else such a copy of it.
        With memory_format=torch.channels_last, a batch of images (N, C, H, W) laid out with
        the channels last (each pixel's C values side by side), as torch's."""
        check_memory_format(self.shape, memory_format, "contiguous")
        if self._data.is_contiguous(memory_format=memory_format):
            return self
        return ops.Clone.apply(self, memory_format=memory_format)

    def is_contiguous(self, memory_format: torch.memory_format = torch.contiguous_format) -> bool:
        """Whether the elements lie in memory in row order, as a new tensor's do (a transpose's
        do not): what view() needs. With memory_format=, in that order instead."""
        return self._data.is_contiguous(memory_format=memory_format)

    def stride(self, dim: int | None = None) -> Any:
        """How far apart in memory, in elements, neighbours along each dim lie (one dim's when
        `dim` is given)."""
        return self._data.stride() if dim is None else self._data.stride(dim)

    def storage_offset(self) -> int:
        """Where the first element lies in the memory this tensor uses, in elements (a slice
        that starts further in has a larger one)."""
        return self._data.storage_offset()

    def data_ptr(self) -> int:
        """The address of the first element: a view that starts where its base does has its
        base's."""
        return self._data.data_ptr()

    def element_size(self) -> int:
        """Bytes per element: 4 for float32, 8 for float64 and int64."""
        return self._data.element_size()

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        """Bytes the elements take: numel() * element_size()."""
        return self._data.nbytes

    def untyped_storage(self) -> torch.UntypedStorage:
        """The memory this tensor's elements lie in (torch's storage object): a view and its
        base have the same one (`a.untyped_storage().data_ptr() == b.untyped_storage()...`)."""
        return self._data.untyped_storage()

    def storage(self) -> Any:
        """The memory this tensor's elements lie in, typed (torch's older TypedStorage: torch
        warns once that it is deprecated, and so does this; untyped_storage() is the new name)."""
        warn_once_at_user_line(TYPED_STORAGE_REMOVAL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # (torch's own, said above instead)
            return self._data.storage()

    @property
    def layout(self) -> torch.layout:
        """torch.strided: elements at offsets given by the strides (minigrad has no sparse
        layouts)."""
        return self._data.layout

    @property
    def is_sparse(self) -> bool:
        return self._data.is_sparse

    @property
    def is_meta(self) -> bool:
        return self._data.is_meta

    @property
    def is_quantized(self) -> bool:
        return self._data.is_quantized

    def is_inference(self) -> bool:
        """Whether it was made under inference mode (minigrad has none: False)."""
        return self._data.is_inference()

    def is_shared(self) -> bool:
        """Whether its memory is shared between processes (share_memory_())."""
        return self._data.is_shared()

    def share_memory_(self) -> Tensor:
        """Move its memory into shared memory, for worker processes to change the same numbers
        (torch.multiprocessing, Hogwild! training). Returns the tensor itself."""
        self._data.share_memory_()
        return self

    def is_pinned(self) -> bool:
        """Whether its memory is page-locked (pin_memory()), for faster copies to a GPU."""
        return self._data.is_pinned()

    def pin_memory(self) -> Tensor:
        """A copy outside the graph in page-locked memory (a GPU must be present: torch's
        rule), from which copies to the GPU are faster and can overlap the computation
        (.to('cuda', non_blocking=True)): what DataLoader(pin_memory=True) does to a batch."""
        return Tensor(self._data.pin_memory())

    # ---- arithmetic (numbers and numpy arrays are welcome on either side) ----------------

    def __add__(self, other: Operand) -> Tensor:
        return ops.Add.apply(self, _operand(other, self))

    def __radd__(self, other: Operand) -> Tensor:
        return ops.Add.apply(_operand(other, self), self)

    def __sub__(self, other: Operand) -> Tensor:
        return ops.Sub.apply(self, _operand(other, self))

    def __rsub__(self, other: Operand) -> Tensor:
        return ops.Sub.apply(_operand(other, self), self)

    def __mul__(self, other: Operand) -> Tensor:
        return ops.Mul.apply(self, _operand(other, self))

    def __rmul__(self, other: Operand) -> Tensor:
        return ops.Mul.apply(_operand(other, self), self)

    def __truediv__(self, other: Operand) -> Tensor:
        return ops.Div.apply(self, _operand(other, self))

    def __rtruediv__(self, other: Operand) -> Tensor:
        return ops.Div.apply(_operand(other, self), self)

    def __floordiv__(self, other: Operand) -> Tensor:
        return ops.FloorDivide.apply(self, _operand(other, self))

    def __rfloordiv__(self, other: Operand) -> Tensor:
        return ops.FloorDivide.apply(_operand(other, self), self)

    def __mod__(self, other: Operand) -> Tensor:
        return ops.Remainder.apply(self, _operand(other, self))

    def __rmod__(self, other: Operand) -> Tensor:
        return ops.Remainder.apply(_operand(other, self), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self.positive()

    def __pow__(self, exponent: Operand) -> Tensor:
        return ops.Pow.apply(self, _operand(exponent, self))

    def __rpow__(self, base: Operand) -> Tensor:
        return ops.Pow.apply(_operand(base, self), self)

    def __matmul__(self, other: Tensor) -> Tensor:
        return ops.MatMul.apply(self, _operand(other, self))

    def __rmatmul__(self, other: Tensor) -> Tensor:
        return ops.MatMul.apply(_operand(other, self), self)

    def add(self, other: Operand, *, alpha: Scalar = 1) -> Tensor:
        """self + alpha * other, as torch's add."""
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other: Operand, *, alpha: Scalar = 1) -> Tensor:
        """self - alpha * other, as torch's sub."""
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other: Operand) -> Tensor:
        return self * other

    def div(self, other: Operand, *, rounding_mode: str | None = None) -> Tensor:
        """self / other; with rounding_mode 'floor' or 'trunc', rounded down or toward 0 (an
        integer tensor stays integer), and then, as in torch, with gradient 0."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("floor", "trunc"):
            raise RuntimeError(
                f"div's rounding_mode is None (true division), 'floor' (round down) or 'trunc' "
                f"(round toward 0), as in torch; got {rounding_mode!r}."
            )
        return ops.DivRounded.apply(self, _operand(other, self), rounding_mode)

    def true_divide(self, other: Operand) -> Tensor:
        """self / other (torch's older name for div)."""
        return self / other

    # NumPy's names, which torch has too
    def multiply(self, other: Operand) -> Tensor:
        """self * other (NumPy's name for mul)."""
        return self * other

    def divide(self, other: Operand, *, rounding_mode: str | None = None) -> Tensor:
        """self / other (NumPy's name for div), rounding_mode as div's."""
        return self.div(other, rounding_mode=rounding_mode)

    def subtract(self, other: Operand, *, alpha: Scalar = 1) -> Tensor:
        """self - alpha * other (NumPy's name for sub)."""
        return self.sub(other, alpha=alpha)

    def addcmul(self, tensor1: Operand, tensor2: Operand, *, value: Operand = 1) -> Tensor:
        """self + value * tensor1 * tensor2 (how torch's Adam adds grad^2 to its average)."""
        return self + value * _operand(tensor1, self) * tensor2

    def addcdiv(self, tensor1: Operand, tensor2: Operand, *, value: Operand = 1) -> Tensor:
        """self + value * tensor1 / tensor2 (how torch's Adam takes its step)."""
        return self + value * _operand(tensor1, self) / tensor2

    def floor_divide(self, other: Operand) -> Tensor:
        """self // other: floor(self / other). As in torch, it has no gradient: backward
        through it raises (div(other, rounding_mode='floor') has the values, and gradient 0)."""
        return self // other

    def remainder(self, other: Operand) -> Tensor:
        """self % other = self - floor(self / other) * other, with other's sign (Python's %)."""
        return self % other

    def fmod(self, other: Operand) -> Tensor:
        """self - trunc(self / other) * other, with self's sign (C's fmod): fmod(-3, 2) is -1,
        where -3 % 2 is 1."""
        return ops.Fmod.apply(self, _operand(other, self))

    def neg(self) -> Tensor:
        return -self

    def pow(self, exponent: Operand) -> Tensor:
        return self**exponent

    def matmul(self, other: Tensor) -> Tensor:
        return self @ other

    def maximum(self, other: Tensor) -> Tensor:
        """The larger of self and other, element by element (torch.maximum)."""
        return ops.Maximum.apply(self, _operand(other, self))

    def minimum(self, other: Tensor) -> Tensor:
        """The smaller of self and other, element by element (torch.minimum)."""
        return ops.Minimum.apply(self, _operand(other, self))

    def lerp(self, end: Tensor, weight: Operand) -> Tensor:
        """self + weight * (end - self): the straight line from self (weight 0) to end
        (weight 1). end is a tensor, weight a number or a tensor; the three broadcast."""
        end = _operand(end, self)
        if not isinstance(end, Tensor):
            raise TypeError(
                f"lerp's end must be a tensor, as in torch; got {type(end).__name__}. For a "
                f"number write x.lerp(minigrad.full_like(x, {end!r}), weight)."
            )
        return ops.Lerp.apply(self, end, _operand(weight, self))

    def lerp_(self, end: Tensor, weight: Operand) -> Tensor:
        """self moved in place toward end by weight (an average of weights kept as
        avg.lerp_(w, 0.01), as an exponential moving average is)."""
        end, weight = _operand(end, self), _operand(weight, self)
        return self._update(
            "lerp_",
            tuple(t for t in (end, weight) if isinstance(t, Tensor)),
            lambda d: d.lerp_(unwrap(end), unwrap(weight)),
            lambda x: x.lerp(end, weight),
        )

    def addcmul_(self, tensor1: Operand, tensor2: Operand, *, value: Operand = 1) -> Tensor:
        """self += value * tensor1 * tensor2, in place."""
        t1, t2 = _operand(tensor1, self), _operand(tensor2, self)
        return self._update(
            "addcmul_",
            (t1, t2),
            lambda d: d.addcmul_(unwrap(t1), unwrap(t2), value=unwrap(value)),
            lambda x: x.addcmul(t1, t2, value=value),
        )

    def addcdiv_(self, tensor1: Operand, tensor2: Operand, *, value: Operand = 1) -> Tensor:
        """self += value * tensor1 / tensor2, in place."""
        t1, t2 = _operand(tensor1, self), _operand(tensor2, self)
        return self._update(
            "addcdiv_",
            (t1, t2),
            lambda d: d.addcdiv_(unwrap(t1), unwrap(t2), value=unwrap(value)),
            lambda x: x.addcdiv(t1, t2, value=value),
        )

    # ---- comparisons: bool tensors outside the graph --------------------------------------

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return Tensor(self._data == unwrap(_operand(other, self)))

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return Tensor(self._data != unwrap(_operand(other, self)))

    def __lt__(self, other: Operand) -> Tensor:
        return Tensor(self._data < unwrap(_operand(other, self)))

    def __le__(self, other: Operand) -> Tensor:
        return Tensor(self._data <= unwrap(_operand(other, self)))

    def __gt__(self, other: Operand) -> Tensor:
        return Tensor(self._data > unwrap(_operand(other, self)))

    def __ge__(self, other: Operand) -> Tensor:
        return Tensor(self._data >= unwrap(_operand(other, self)))

    # torch's method names for the comparisons above (x.eq(y) is x == y): bool tensors
    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__
    # and NumPy's, which torch has too
    not_equal, less, less_equal, greater, greater_equal = __ne__, __lt__, __le__, __gt__, __ge__

    def logical_xor(self, other: Operand) -> Tensor:
        """Where exactly one of the two is nonzero (a bool tensor)."""
        return Tensor(self._data.logical_xor(unwrap(_operand(other, self))))

    def logical_and(self, other: Operand) -> Tensor:
        """Where both are nonzero (a bool tensor; numbers count as true unless 0)."""
        return Tensor(self._data.logical_and(unwrap(_operand(other, self))))

    def logical_or(self, other: Operand) -> Tensor:
        """Where either is nonzero (a bool tensor)."""
        return Tensor(self._data.logical_or(unwrap(_operand(other, self))))

    def logical_not(self) -> Tensor:
        """Where the values are zero (a bool tensor)."""
        return Tensor(self._data.logical_not())

    def isnan(self) -> Tensor:
        """Where the values are NaN (a bool tensor)."""
        return Tensor(self._data.isnan())

    def isinf(self) -> Tensor:
        """Where the values are +inf or -inf (a bool tensor)."""
        return Tensor(self._data.isinf())

    def isposinf(self) -> Tensor:
        """Where the values are +inf (a bool tensor)."""
        return Tensor(self._data.isposinf())

    def isneginf(self) -> Tensor:
        """Where the values are -inf (a bool tensor)."""
        return Tensor(self._data.isneginf())

    def isreal(self) -> Tensor:
        """Where the values have no imaginary part (all of a real tensor's: a bool tensor)."""
        return Tensor(self._data.isreal())

    def isfinite(self) -> Tensor:
        """Where the values are neither inf nor NaN (a bool tensor)."""
        return Tensor(self._data.isfinite())

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """The indices of the nonzero elements: one row per element (one tensor per dim with
        as_tuple=True, what x[...] takes)."""
        if as_tuple:
            return tuple(Tensor(index) for index in self._data.nonzero(as_tuple=True))
        return Tensor(self._data.nonzero())

    def argwhere(self) -> Tensor:
        """The indices of the nonzero elements, one row per element (as nonzero())."""
        return Tensor(self._data.argwhere())

    def count_nonzero(self, dim: Dims = None) -> Tensor:
        """How many elements (along dim) are nonzero."""
        return Tensor(self._data.count_nonzero(dim))

    def isclose(
        self, other: Operand, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
    ) -> Tensor:
        """Where |self - other| <= atol + rtol * |other|, elementwise (a bool tensor)."""
        return Tensor(torch.isclose(self._data, unwrap(other), rtol, atol, equal_nan))

    def allclose(
        self, other: Operand, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False
    ) -> bool:
        """Whether isclose holds everywhere."""
        return torch.allclose(self._data, unwrap(other), rtol, atol, equal_nan)

    def equal(self, other: Tensor) -> bool:
        """Whether the two have the same shape and the same values."""
        return torch.equal(self._data, unwrap(other))

    @numpy_names
    def all(self, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """Whether every element (along dim) is nonzero: a bool tensor."""
        return Tensor(self._data.all() if dim is None else self._data.all(dim, keepdim))

    @numpy_names
    def any(self, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """Whether some element (along dim) is nonzero: a bool tensor."""
        return Tensor(self._data.any() if dim is None else self._data.any(dim, keepdim))

    def histogram(
        self,
        bins: int | Tensor = 100,
        *,
        range: tuple[float, float] | None = None,  # noqa: A002 (torch's name)
        weight: Tensor | None = None,
        density: bool = False,
    ) -> return_types.histogram:
        """Counts of values in equal-width bins (a CPU float tensor), and the bins' edges."""
        hist, edges = torch.histogram(
            self._data, unwrap(bins), range=range, weight=unwrap(weight), density=density
        )
        return return_types.histogram(Tensor(hist), Tensor(edges))

    # ---- counting: integer answers, or values torch has no derivative for -----------------

    def unique(
        self,
        sorted: bool = True,  # noqa: A002 (torch's name)
        return_inverse: bool = False,
        return_counts: bool = False,
        dim: int | None = None,
    ) -> Any:
        """The distinct values (or distinct slices along dim), in order; with return_inverse,
        where each element (slice) of x is among them, with return_counts how often each comes.
        A tuple where either is asked for, as torch's. No gradient: torch has none."""
        return self._counted(
            "unique",
            lambda x: torch.unique(
                x,
                sorted=sorted,
                return_inverse=return_inverse,
                return_counts=return_counts,
                dim=dim,
            ),
        )

    def unique_consecutive(
        self, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
    ) -> Any:
        """unique of each run of equal neighbours: [1, 1, 2, 1] gives [1, 2, 1]."""
        return self._counted(
            "unique_consecutive",
            lambda x: torch.unique_consecutive(
                x, return_inverse=return_inverse, return_counts=return_counts, dim=dim
            ),
        )

    def bincount(self, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
        """How many times each of 0, 1, ..., max(x) comes in x (1-d, integers, none negative),
        at least minlength of them; with weights, the sum of the weights of each, not the count
        (no gradient for the weights: torch has none)."""
        if weights is None or not isinstance(weights, Tensor):
            return Tensor(torch.bincount(self._data, unwrap(weights), minlength))
        return weights._counted("bincount", lambda w: torch.bincount(self._data, w, minlength))

    def histc(self, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
        """Counts of the values in `bins` equal bins between min and max (x's own smallest and
        largest where both are 0); values outside are left out. No gradient, as torch's."""
        return Tensor(torch.histc(self._data, bins, min, max))

    def searchsorted(
        self,
        values: Operand,
        *,
        out_int32: bool = False,
        right: bool = False,
        side: str | None = None,
        sorter: Tensor | None = None,
    ) -> Tensor:
        """x is sorted along its last dim (or put in order by `sorter`): for each of `values`,
        the index where it would go to keep it sorted (after its equals with right=True or
        side="right")."""
        found = torch.searchsorted(
            self._data, unwrap(values), out_int32=out_int32, right=right, side=side,
            sorter=unwrap(sorter),
        )  # fmt: skip
        return Tensor(found)

    def bucketize(
        self, boundaries: Tensor, *, out_int32: bool = False, right: bool = False
    ) -> Tensor:
        """For each element, the index of its bucket among the sorted 1-d `boundaries`
        (searchsorted with the roles swapped; right=True puts a value equal to a boundary
        before it, as torch's)."""
        found = torch.bucketize(self._data, unwrap(boundaries), out_int32=out_int32, right=right)
        return Tensor(found)

    def _counted(self, name: str, function: Callable[[torch.Tensor], Any]) -> Any:
        """function(x): tensors torch records without a derivative (NoDerivative: backward
        refuses) where x is a float tensor that requires grad; otherwise plain results."""
        if self.requires_grad and is_grad_enabled():
            out = ops.NoDerivative.apply(self, function=function, name=name)
        else:
            out = function(self._data)
            out = tuple(map(Tensor, out)) if isinstance(out, tuple) else Tensor(out)
        return out

    def __invert__(self) -> Tensor:
        return Tensor(~self._data)

    def __and__(self, other: Operand) -> Tensor:
        return Tensor(self._data & unwrap(_operand(other, self)))

    def __or__(self, other: Operand) -> Tensor:
        return Tensor(self._data | unwrap(_operand(other, self)))

    def __xor__(self, other: Operand) -> Tensor:
        return Tensor(self._data ^ unwrap(_operand(other, self)))

    def __lshift__(self, other: Operand) -> Tensor:
        return Tensor(self._data << unwrap(_operand(other, self)))

    def __rshift__(self, other: Operand) -> Tensor:
        return Tensor(self._data >> unwrap(_operand(other, self)))

    # torch's method names for the bit operators above (integer and bool tensors: no gradient)
    bitwise_and, bitwise_or, bitwise_xor, bitwise_not = __and__, __or__, __xor__, __invert__
    bitwise_left_shift, bitwise_right_shift = __lshift__, __rshift__

    def gcd(self, other: Operand) -> Tensor:
        """The greatest common divisor of each pair of integers (no gradient)."""
        return Tensor(self._data.gcd(unwrap(_operand(other, self))))

    def lcm(self, other: Operand) -> Tensor:
        """The least common multiple of each pair of integers (no gradient)."""
        return Tensor(self._data.lcm(unwrap(_operand(other, self))))

    @numpy_names
    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return Tensor(self._data.argmax(dim=dim, keepdim=keepdim))

    @numpy_names
    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return Tensor(self._data.argmin(dim=dim, keepdim=keepdim))

    # ---- elementwise functions ------------------------------------------------------------

    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def logit(self, eps: float | None = None) -> Tensor:
        """log(p / (1 - p)), the inverse of sigmoid (for probabilities p in (0, 1)); with eps,
        p clamped to [eps, 1 - eps] first."""
        return ops.Logit.apply(self, eps=eps)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def sign(self) -> Tensor:
        """-1, 0 or 1, elementwise: the slope of abs (its own gradient is 0)."""
        return ops.Sign.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def rsqrt(self) -> Tensor:
        return ops.Rsqrt.apply(self)

    def square(self) -> Tensor:
        return self**2  # torch's square is pow(2) too

    def sin(self) -> Tensor:
        return ops.Sin.apply(self)

    def cos(self) -> Tensor:
        return ops.Cos.apply(self)

    def tan(self) -> Tensor:
        return ops.Tan.apply(self)

    def asin(self) -> Tensor:
        """The angle in [-pi/2, pi/2] whose sine is x, for x in [-1, 1] (NaN outside)."""
        return ops.Asin.apply(self)

    def acos(self) -> Tensor:
        """The angle in [0, pi] whose cosine is x, for x in [-1, 1] (NaN outside)."""
        return ops.Acos.apply(self)

    def atan(self) -> Tensor:
        """The angle in (-pi/2, pi/2) whose tangent is x (for a quadrant, see atan2)."""
        return ops.Atan.apply(self)

    def sinh(self) -> Tensor:
        return ops.Sinh.apply(self)

    def cosh(self) -> Tensor:
        return ops.Cosh.apply(self)

    def asinh(self) -> Tensor:
        """The inverse of sinh: ln(x + sqrt(x^2 + 1))."""
        return ops.Asinh.apply(self)

    def acosh(self) -> Tensor:
        """The inverse of cosh on [0, inf): ln(x + sqrt(x^2 - 1)), for x >= 1 (NaN below)."""
        return ops.Acosh.apply(self)

    def atanh(self) -> Tensor:
        """The inverse of tanh: ln((1 + x) / (1 - x)) / 2, for x in (-1, 1) (+-inf at +-1)."""
        return ops.Atanh.apply(self)

    def arcsin(self) -> Tensor:
        """NumPy's name for asin."""
        return self.asin()

    def arccos(self) -> Tensor:
        """NumPy's name for acos."""
        return self.acos()

    def arctan(self) -> Tensor:
        """NumPy's name for atan."""
        return self.atan()

    def arcsinh(self) -> Tensor:
        """NumPy's name for asinh."""
        return self.asinh()

    def arccosh(self) -> Tensor:
        """NumPy's name for acosh."""
        return self.acosh()

    def arctanh(self) -> Tensor:
        """NumPy's name for atanh."""
        return self.atanh()

    def log2(self) -> Tensor:
        return ops.Log2.apply(self)

    def exp2(self) -> Tensor:
        """2^x (torch.special.exp2 too)."""
        return ops.Exp2.apply(self)

    def sgn(self) -> Tensor:
        """sign(x) for a real tensor, as torch's sgn. (For a complex one, x / |x|, and 0 at 0:
        torch's values, with no gradient, as minigrad's complex tensors have none.)"""
        if self._data.is_complex():
            return Tensor(self._data.sgn())
        return self.sign()

    def absolute(self) -> Tensor:
        """torch's other name for abs."""
        return self.abs()

    def negative(self) -> Tensor:
        """torch's other name for neg (-x)."""
        return self.neg()

    def positive(self) -> Tensor:
        """+x: the tensor itself, as torch's positive (not a copy). A bool tensor is refused,
        as in torch."""
        if self.dtype == torch.bool:
            raise RuntimeError(
                "positive (the unary + operator) does not take a bool tensor, as in torch: a "
                "mask has no sign. Use the mask as it is, or convert it first (x.int())."
            )
        return self

    def float_power(self, exponent: Operand) -> Tensor:
        """self ** exponent computed in double precision, as torch's: the result is float64
        (complex128 where an operand is complex) whatever the dtypes given. Each tensor's
        gradient comes back in its own dtype."""
        exponent = _operand(exponent, self)
        complex_ = torch.result_type(self._data, unwrap(exponent)).is_complex
        wide = torch.complex128 if complex_ else torch.float64
        if isinstance(exponent, Tensor):
            exponent = exponent.to(wide)
        return self.to(wide) ** exponent

    def fmax(self, other: Tensor) -> Tensor:
        """The larger of self and other, element by element, ignoring NaN (torch.fmax): NaN
        only where both are. The gradient goes to the one chosen (to self at a tie, as torch)."""
        return ops.Fmax.apply(self, _tensor_operand("fmax", other, self))

    def fmin(self, other: Tensor) -> Tensor:
        """The smaller of self and other, element by element, ignoring NaN (torch.fmin): NaN
        only where both are. The gradient goes to the one chosen (to self at a tie, as torch)."""
        return ops.Fmin.apply(self, _tensor_operand("fmin", other, self))

    def mvlgamma(self, p: int) -> Tensor:
        """The log of the multivariate gamma function of dimension p (the Wishart's normalising
        constant; torch.special.multigammaln): p (p - 1) / 4 ln pi + the sum over j = 0 ...
        p - 1 of lgamma(x - j / 2). Defined for x > (p - 1) / 2; below, as torch's, the same
        sum of lgamma (ln |Gamma|)."""
        if p < 1:
            raise RuntimeError(f"mvlgamma: p must be at least 1 (the dimension), got {p}")
        total = sum((self - j / 2).lgamma() for j in range(p))
        return total + p * (p - 1) / 4 * math.log(math.pi)

    def log1p(self) -> Tensor:
        return ops.Log1p.apply(self)

    def log10(self) -> Tensor:
        return ops.Log10.apply(self)

    def expm1(self) -> Tensor:
        return ops.Expm1.apply(self)

    def erf(self) -> Tensor:
        """The error function (the normal CDF is (1 + erf(x / sqrt 2)) / 2)."""
        return ops.Erf.apply(self)

    def erfc(self) -> Tensor:
        """1 - erf(x), the normal tails' function, accurate where erf(x) rounds to 1."""
        return ops.Erfc.apply(self)

    def erfinv(self) -> Tensor:
        """The inverse error function: the x with erf(x) = self, for self in [-1, 1]."""
        return ops.Erfinv.apply(self)

    def lgamma(self) -> Tensor:
        """ln |Gamma(x)|, the log of the gamma function (Gamma(n) = (n - 1)! at whole n)."""
        return ops.Lgamma.apply(self)

    def digamma(self) -> Tensor:
        """d/dx ln Gamma(x), the slope of lgamma."""
        return ops.Digamma.apply(self)

    def polygamma(self, n: int) -> Tensor:
        """The n-th derivative of digamma: polygamma(0, x) is digamma(x)."""
        return ops.Polygamma.apply(self, n)

    def floor(self) -> Tensor:
        """The largest integer <= x, elementwise (gradient 0, as in torch)."""
        return ops.Floor.apply(self)

    def ceil(self) -> Tensor:
        """The smallest integer >= x, elementwise (gradient 0, as in torch)."""
        return ops.Ceil.apply(self)

    def round(self, *, decimals: int | None = None) -> Tensor:
        """x rounded to `decimals` places (0 by default), halves to even as in torch (gradient
        0). An integer tensor rounds to itself, but only without decimals=, as in torch."""
        return ops.Round.apply(self, decimals=decimals)

    def trunc(self) -> Tensor:
        """x rounded toward 0 (its fraction cut off; gradient 0, as in torch)."""
        return ops.Trunc.apply(self)

    def fix(self) -> Tensor:
        """torch's other name for trunc."""
        return self.trunc()

    def frac(self) -> Tensor:
        """x - trunc(x): the fraction, with x's sign (gradient 1)."""
        return ops.Frac.apply(self)

    def reciprocal(self) -> Tensor:
        """1 / x, elementwise (floats, for an integer tensor too, as in torch)."""
        return ops.Reciprocal.apply(self)

    def clamp_min(self, minimum: Operand) -> Tensor:
        minimum = _operand(minimum, self)
        if isinstance(minimum, (Tensor, torch.Tensor)):  # a bound that may get a gradient
            return ops.Clamp.apply(self, minimum, None, method="clamp_min")
        return ops.ClampMin.apply(self, minimum)

    def clamp_max(self, maximum: Operand) -> Tensor:
        return ops.Clamp.apply(self, None, _operand(maximum, self), method="clamp_max")

    def clamp(self, min: Operand | None = None, max: Operand | None = None) -> Tensor:  # noqa: A002
        """Keep values within [min, max]; either bound may be None, a number or a tensor."""
        if min is None and max is None:
            raise ValueError(
                "clamp() needs a bound: give min=, max= or both (None leaves that side open)."
            )
        return ops.Clamp.apply(self, min, max)

    def clip(self, min: Operand | None = None, max: Operand | None = None) -> Tensor:  # noqa: A002
        """torch's other name for clamp."""
        return self.clamp(min, max)

    def where(self, condition: Tensor, other: Operand) -> Tensor:
        """self where condition is true, other elsewhere: torch.where(condition, self, other)."""
        return ops.Where.apply(condition, self, _operand(other, self))

    def masked_select(self, mask: Tensor) -> Tensor:
        """The elements where mask is True, in order, as one row: x[mask], after the two are
        broadcast to one shape (as torch's). The gradient goes back to the elements picked."""
        mask = _operand(mask, self)
        shape = torch.broadcast_shapes(self.shape, mask.shape)
        return self.expand(shape)[mask.expand(shape)]

    def masked_scatter(self, mask: Tensor, source: Tensor) -> Tensor:
        """x with source's values, in order, where mask is True (mask broadcast to x's shape):
        the places masked_select(mask) reads, written. source has at least that many values."""
        return ops.MaskedScatter.apply(self, unwrap(mask), _operand(source, self))

    def masked_fill(self, mask: Tensor, value: Operand) -> Tensor:
        """`value` where mask is True, x elsewhere: where(mask, value, x). The gradient reaches x
        where the mask is False (and a 0-d tensor `value` where it is True)."""
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise ValueError(
                    f"masked_fill takes a number or a 0-d tensor as the value, got one of shape "
                    f"{shape_str(value.shape)}; to fill from a tensor, use minigrad.where."
                )
            value = value.to(self.dtype)
        if not self._data.is_floating_point():  # no gradient: torch's own masked_fill
            return Tensor(self._data.masked_fill(unwrap(mask), unwrap(value)))
        return ops.MaskedFill.apply(mask, value, self)

    def __abs__(self) -> Tensor:
        return self.abs()

    # ---- angles, lengths, sums of exponentials, and other elementwise maths --------------------
    # (an op each where a composition would be wrong or less accurate: in ops/arithmetic.py,
    # ops/unary.py, and NanSum in ops/reductions.py)

    def atan2(self, other: Tensor) -> Tensor:
        """The angle of the point (other, self) from the x axis, in (-pi, pi]: atan(self / other)
        put in the right quadrant. Integers give floats, as in torch."""
        return ops.Atan2.apply(self, _tensor_operand("atan2", other, self))

    def arctan2(self, other: Tensor) -> Tensor:
        """NumPy's name for atan2."""
        return self.atan2(other)

    def hypot(self, other: Tensor) -> Tensor:
        """sqrt(self^2 + other^2), the length of the vector (self, other), without the overflow
        of squaring (hypot(1e200, 1e200) is 1.4e200, not inf)."""
        other = _tensor_operand("hypot", other, self)
        _floats_only("hypot", self, other)
        return ops.Hypot.apply(self, other)

    def logaddexp(self, other: Tensor) -> Tensor:
        """ln(e^self + e^other), without overflow for large inputs (log-probabilities added)."""
        other = _tensor_operand("logaddexp", other, self)
        _floats_only("logaddexp", self, other)
        return ops.LogAddExp.apply(self, other)

    def logaddexp2(self, other: Tensor) -> Tensor:
        """log2(2^self + 2^other), without overflow for large inputs."""
        other = _tensor_operand("logaddexp2", other, self)
        _floats_only("logaddexp2", self, other)
        return ops.LogAddExp2.apply(self, other)

    def xlogy(self, other: Operand) -> Tensor:
        """self * ln(other), and 0 wherever self is 0 (0 ln 0 = 0, as in entropy), unless other
        is NaN. other may be a number."""
        return ops.Xlogy.apply(self, _operand(other, self))

    def sinc(self) -> Tensor:
        """sin(pi x) / (pi x), and 1 at x = 0 (the normalised sinc)."""
        return ops.Sinc.apply(self)

    def deg2rad(self) -> Tensor:
        """Degrees to radians: x * pi / 180 (integers give floats, as in torch)."""
        return self * _RADIANS_PER_DEGREE

    def rad2deg(self) -> Tensor:
        """Radians to degrees: x * 180 / pi."""
        return self * _DEGREES_PER_RADIAN

    def copysign(self, other: Operand) -> Tensor:
        """|self| with the sign of other (a tensor or a number; -0.0 counts as negative). The
        gradient reaches self (+1 or -1; 0 at 0, as torch's) and other (zeros, as torch's)."""
        return ops.Copysign.apply(self, _operand(other, self))

    def heaviside(self, values: Tensor) -> Tensor:
        """The step: 0 where x < 0, 1 where x > 0, values where x == 0 (values a tensor of x's
        dtype). No gradient: as in torch, backward through it raises."""
        return ops.Heaviside.apply(self, _tensor_operand("heaviside", values, self, "values"))

    def nan_to_num(
        self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
    ) -> Tensor:
        """NaN, +inf and -inf replaced by nan, posinf and neginf (by default 0, and the dtype's
        largest and smallest finite numbers). The gradient passes where x was finite."""
        return ops.NanToNum.apply(self, nan=nan, posinf=posinf, neginf=neginf)

    def signbit(self) -> Tensor:
        """Where the sign bit is set (a bool tensor): x < 0, and -0.0 too (no gradient)."""
        return Tensor(self._data.signbit())

    @numpy_names
    def nansum(
        self, dim: Dims = None, keepdim: bool = False, *, dtype: torch.dtype | None = None
    ) -> Tensor:
        """The sum with NaNs counted as 0. The gradient reaches the other elements."""
        return ops.NanSum.apply(self, dim=dim, keepdim=keepdim, dtype=dtype)

    @numpy_names
    def nanmean(
        self, dim: Dims = None, keepdim: bool = False, *, dtype: torch.dtype | None = None
    ) -> Tensor:
        """The mean of the elements that are not NaN (NaN where all are): nansum over their
        count, as torch computes it."""
        if not self.is_floating_point():
            raise RuntimeError(
                f"nanmean takes a floating-point tensor, as in torch; got {self.dtype}, which "
                "has no NaN. Use x.float().nanmean(...), or x.float().mean(...)."
            )
        counted = (~self.isnan()).sum(dim, keepdim)
        return self.nansum(dim, keepdim, dtype=dtype) / counted

    # ---- reductions ------------------------------------------------------------------------

    @numpy_names
    def sum(
        self,
        dim: Dims = None,
        keepdim: bool = False,
        *,
        dtype: torch.dtype | None = None,
    ) -> Tensor:
        return ops.Sum.apply(self, dim=dim, keepdim=keepdim, dtype=dtype)

    @numpy_names
    def mean(
        self,
        dim: Dims = None,
        keepdim: bool = False,
        *,
        dtype: torch.dtype | None = None,
    ) -> Tensor:
        return ops.Mean.apply(self, dim=dim, keepdim=keepdim, dtype=dtype)

    @numpy_names
    def var(
        self,
        dim: Dims | bool = None,
        unbiased: bool | None = None,
        keepdim: bool = False,
        *,
        correction: float | None = None,
    ) -> Tensor:
        """The variance over dim, divided by n - correction (correction=1 unless
        `unbiased=False` or `correction=` says otherwise), as torch.var."""
        dim, correction = _variance_args(dim, unbiased, correction)
        return ops.Var.apply(self, dim=dim, correction=correction, keepdim=keepdim)

    @numpy_names
    def std(
        self,
        dim: Dims | bool = None,
        unbiased: bool | None = None,
        keepdim: bool = False,
        *,
        correction: float | None = None,
    ) -> Tensor:
        """The standard deviation: the square root of `var` with the same arguments."""
        dim, correction = _variance_args(dim, unbiased, correction)
        return ops.Std.apply(self, dim=dim, correction=correction, keepdim=keepdim)

    def dist(self, other: Operand, p: float = 2) -> Tensor:
        """The p-norm of self - other (broadcast): the distance between them."""
        return (self - other).norm(p)

    def norm(
        self,
        p: float | str | None = "fro",
        dim: Dims = None,
        keepdim: bool = False,
        dtype: torch.dtype | None = None,
    ) -> Tensor:
        """The p-norm over dim (all of x by default), as torch.norm: p=2 ("fro") the Euclidean
        length, 1 the sum of |x|, inf the largest |x|, any other number (sum |x|^p)^(1/p)."""
        x = self if dtype is None else self.to(dtype)
        dims = (dim,) if isinstance(dim, int) else dim
        if p is None or (p == "fro" and (dims is None or len(dims) <= 2)):
            p = 2.0
        if isinstance(p, str):
            raise NotImplementedError(
                f"norm(p={p!r}{f', dim={dim}' if dim is not None else ''}) is a matrix norm, "
                "which minigrad does not have yet; it has the vector norms: p a number (2 by "
                'default), or "fro" over at most 2 dims. See the README, "Prove an op of your own".'
            )
        return ops.Norm.apply(x, p=float(p), dim=dim, keepdim=keepdim)

    @numpy_names
    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        """`x.max()`: the largest value. `x.max(dim)`: (values, indices) along dim, as in torch.
        `x.max(other)`, with a tensor: the elementwise maximum (torch.maximum)."""
        if isinstance(dim, (Tensor, torch.Tensor, np.ndarray)):
            return self.maximum(dim)
        if dim is None:
            return ops.Max.apply(self)
        indices = self._data.argmax(dim=dim, keepdim=keepdim)
        values = ops.MaxAlongDim.apply(self, indices, dim=dim, keepdim=keepdim)
        return return_types.max(values, Tensor(indices))

    @numpy_names
    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        """`x.min()`: the smallest value (ties share the gradient, as in torch). `x.min(dim)`:
        (values, indices) along dim; the gradient goes to each index. `x.min(other)`, with a
        tensor: the elementwise minimum (torch.minimum)."""
        if isinstance(dim, (Tensor, torch.Tensor, np.ndarray)):
            return self.minimum(dim)
        if dim is None:
            return ops.Min.apply(self)
        indices = self._data.argmin(dim=dim, keepdim=keepdim)
        values = ops.MinAlongDim.apply(self, indices, dim=dim, keepdim=keepdim)
        return return_types.min(values, Tensor(indices))

    @numpy_names
    def amax(self, dim: Dims = (), keepdim: bool = False) -> Tensor:
        """The largest value over dim (an int, a tuple; all dims by default). Ties share the
        gradient evenly, as in torch (x.max(dim) gives it all to one index)."""
        return ops.AMax.apply(self, dim=dim, keepdim=keepdim)

    @numpy_names
    def amin(self, dim: Dims = (), keepdim: bool = False) -> Tensor:
        """The smallest value over dim (all dims by default); ties share the gradient."""
        return ops.AMin.apply(self, dim=dim, keepdim=keepdim)

    def aminmax(self, *, dim: int | None = None, keepdim: bool = False) -> return_types.aminmax:
        """(amin, amax) over dim (all dims by default), as torch's: each with its gradient."""
        over = () if dim is None else dim
        return return_types.aminmax(self.amin(over, keepdim), self.amax(over, keepdim))

    @numpy_names
    def topk(
        self,
        k: int,
        dim: int = -1,
        largest: bool = True,
        sorted: bool = True,  # noqa: A002
    ) -> return_types.topk:
        """The k largest (or smallest) values along dim, and their indices. The values are
        gathered from x at those indices, so each one's gradient goes back to its place."""
        indices = self._data.topk(k, dim, largest, sorted).indices
        values = ops.TopK.apply(self, indices, dim=dim, keepdim=True)
        return return_types.topk(values, Tensor(indices))

    @numpy_names
    def sort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Any:
        """The values along dim in order, and the index each came from (gathered, like topk)."""
        indices = self._data.sort(dim=dim, descending=descending, stable=stable).indices
        values = ops.Sorted.apply(self, indices, dim=dim, keepdim=True)
        return return_types.sort(values, Tensor(indices))

    def msort(self) -> Tensor:
        """The values sorted along dim 0 (sort(0)'s values)."""
        return self.sort(0).values

    # ---- order statistics: a value picked by its rank ---------------------------------------

    @numpy_names
    def median(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """`x.median()`: the middle value of all of x, the lower of the two middle ones for an
        even count (ties share the gradient, as in torch). `x.median(dim)`: (values, indices)
        along dim, the gradient going to each index (torch's choice among ties)."""
        if dim is None:
            return ops.Median.apply(self, ignore_nan=False)
        indices = self._data.median(dim, keepdim).indices
        values = ops.MedianAlongDim.apply(self, indices, dim=dim, keepdim=keepdim)
        return return_types.median(values, Tensor(indices))

    @numpy_names
    def nanmedian(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """median of the values that are not NaN (NaN where all of them are)."""
        if dim is None:
            return ops.Median.apply(self, ignore_nan=True)
        indices = self._data.nanmedian(dim, keepdim).indices
        values = ops.NanMedianAlongDim.apply(self, indices, dim=dim, keepdim=keepdim)
        return return_types.nanmedian(values, Tensor(indices))

    @numpy_names
    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> return_types.kthvalue:
        """The k-th smallest value along dim (k from 1), and its index."""
        indices = self._data.kthvalue(k, dim, keepdim).indices
        values = ops.KthValue.apply(self, indices, dim=dim, keepdim=keepdim)
        return return_types.kthvalue(values, Tensor(indices))

    @numpy_names
    def mode(self, dim: int = -1, keepdim: bool = False) -> return_types.mode:
        """The most frequent value along dim (the smallest of those tied for it), and an index
        where it is."""
        indices = self._data.mode(dim, keepdim).indices
        values = ops.Mode.apply(self, indices, dim=dim, keepdim=keepdim)
        return return_types.mode(values, Tensor(indices))

    @numpy_names
    def quantile(
        self,
        q: Operand,
        dim: int | None = None,
        keepdim: bool = False,
        *,
        interpolation: str = "linear",
    ) -> Tensor:
        """The q-quantile along dim (of all of x by default): the value at rank q (n - 1) of
        the sorted values, between two neighbours by `interpolation`: "linear" (lerp, the
        gradient split between them by the fraction; q gets one too, as in torch), "lower",
        "higher", "nearest" (one of them), "midpoint" (half each). q a number or a 1-d tensor
        (then the quantiles are stacked along a new first dim). A NaN in a slice makes it NaN."""
        return self._quantile("quantile", q, dim, keepdim, interpolation, ignore_nan=False)

    @numpy_names
    def nanquantile(
        self,
        q: Operand,
        dim: int | None = None,
        keepdim: bool = False,
        *,
        interpolation: str = "linear",
    ) -> Tensor:
        """quantile of the values that are not NaN (NaN where all of them are)."""
        return self._quantile("nanquantile", q, dim, keepdim, interpolation, ignore_nan=True)

    def _quantile(
        self, name: str, q: Any, dim: int | None, keepdim: bool, how: str, ignore_nan: bool
    ) -> Tensor:
        """Sort, then take the value at rank q (n - 1) (n the count of values not NaN, for
        nanquantile) from its neighbours below and above."""
        kinds = ("linear", "lower", "higher", "midpoint", "nearest")
        if how not in kinds:
            raise ValueError(f"{name}() interpolation is one of {', '.join(kinds)}; got {how!r}")
        if not self.is_floating_point():
            raise TypeError(f"{name}() takes a floating-point tensor, got {self.dtype}")
        if self.numel() == 0:
            raise ValueError(f"{name}() of an empty tensor: it has no values to rank")
        q_given_as_number = not isinstance(q, (Tensor, torch.Tensor))
        if q_given_as_number:
            if not 0 <= q <= 1:  # (checked here: on the device, it would wait for the GPU)
                raise ValueError(f"{name}() takes q in [0, 1], got {q}")
            q = Tensor(torch.tensor(float(q), dtype=self.dtype, device=self.device))
        elif isinstance(q, torch.Tensor):
            q = Tensor(q)
        if q.ndim > 1:
            raise ValueError(f"{name}() takes q a number or a 1-d tensor, got shape {q.shape}")
        if q.dtype != self.dtype:
            raise TypeError(f"{name}() needs q of x's dtype ({self.dtype}), got {q.dtype}")
        if not q_given_as_number and ((q._data < 0) | (q._data > 1)).any():  # (as torch's)
            raise ValueError(f"{name}() takes q in [0, 1], got {q._data.tolist()}")
        if dim is None:
            rows = self.reshape(-1)
        else:
            rows = self.reshape(1) if self.ndim == 0 else self.movedim(dim, -1)
        ordered = rows.sort(-1).values  # NaNs last
        n = ordered.shape[-1]
        nan = ordered._data.isnan()
        # Where the answer is NaN, the rank of a NaN, as torch's: the first of the sorted values
        # for nanquantile (all NaN), the last for quantile (NaNs sort last).
        if ignore_nan:
            last = (~nan).sum(-1, keepdim=True) - 1  # the rank of each slice's largest value
            no_rank, nan_rank = last < 0, 0
        else:
            last = torch.full_like(nan[..., :1], n - 1, dtype=torch.int64)
            no_rank, nan_rank = nan.any(-1, keepdim=True), n - 1
        qs = q.reshape(-1, *[1] * rows.ndim)  # (m, 1, ..., 1): one rank per q, per slice
        ranks = (qs * last.to(self.dtype)).masked_fill(Tensor(no_rank), nan_rank)
        if how in ("lower", "higher", "nearest"):
            rounded = {"lower": torch.floor, "higher": torch.ceil, "nearest": torch.round}
            ranks = Tensor(rounded[how](ranks._data))
        below = ranks._data.floor().long()
        above = ranks._data.ceil().long()
        ordered = ordered.expand(qs.shape[0], *ordered.shape)
        values = ordered.gather(-1, below)
        if how in ("linear", "midpoint"):  # (also where they are one element: as torch's)
            weights = ranks - below.to(self.dtype) if how == "linear" else 0.5
            values = values.lerp(ordered.gather(-1, above), weights)
        values = values.squeeze(-1)  # (m, ...): the slices' quantiles, per q
        if keepdim:
            kept = [1] * self.ndim if dim is None else [*values.shape[1:]]
            if dim is not None and self.ndim:
                kept.insert(dim % self.ndim, 1)
            values = values.reshape(values.shape[0], *kept)
        return values.squeeze(0) if q.ndim == 0 else values

    # ---- products ----------------------------------------------------------------------------

    def take(self, index: Tensor) -> Tensor:
        """The elements of x (read as one flat row) at `index`, in index's shape: x.flatten()
        indexed, so the gradient adds up at repeated indices."""
        return self.reshape(-1)[index]

    def kron(self, other: Tensor) -> Tensor:
        """The Kronecker product: a block per element of x, that element times other. Along
        each dim (the ranks padded to one with leading 1s), x's index i and other's j give
        place i * other's size + j: x's dims interleaved with size 1, other's the other way
        round, multiplied (broadcasting makes every pair), then the pairs merged."""
        other = _operand(other, self)
        n = max(self.ndim, other.ndim)
        a_shape = (1,) * (n - self.ndim) + tuple(self.shape)
        b_shape = (1,) * (n - other.ndim) + tuple(other.shape)
        a = self.reshape([size for d in a_shape for size in (d, 1)])
        b = other.reshape([size for d in b_shape for size in (1, d)])
        return (a * b).reshape([p * q for p, q in zip(a_shape, b_shape)])

    def cross(self, other: Tensor, dim: int | None = None) -> Tensor:
        """The cross product of 3-vectors along dim (broadcasting the rest): out_i =
        x_(i+1) y_(i+2) - x_(i+2) y_(i+1), indices mod 3, as rolls. dim None: x's first dim of
        size 3, as torch's (which warns that this default is deprecated)."""
        other = _operand(other, self)
        if self.ndim != other.ndim:
            raise ShapeError(
                f"cross takes tensors of one rank, as torch's (it broadcasts sizes, not ranks); "
                f"got shapes {shape_str(self.shape)} and {shape_str(other.shape)}. Add the "
                "missing dims with unsqueeze(0) first."
            )
        shape = torch.broadcast_shapes(self.shape, other.shape)
        if dim is None:
            warn_at_user_line(
                "cross without dim takes x's first dim of size 3, a default torch has "
                "deprecated (it will become the last dim, as linalg.cross's): pass dim="
            )
            dim = next((d for d, size in enumerate(self.shape) if size == 3), None)
            if dim is None:
                raise ShapeError(
                    f"cross: no dim of size 3 in shapes {shape_str(self.shape)} and "
                    f"{shape_str(other.shape)}: it takes 3-vectors; give dim="
                )
        in_range = -len(shape) <= dim < len(shape)
        if not in_range or self.shape[dim] != 3 or other.shape[dim] != 3:  # both, as torch's
            raise ShapeError(
                f"cross takes 3-vectors along dim {dim}; shapes {shape_str(self.shape)} and "
                f"{shape_str(other.shape)} broadcast to {shape_str(shape)}"
            )
        a, b = self.broadcast_to(shape), other.broadcast_to(shape)
        a1, a2, b1, b2 = a.roll(-1, dim), a.roll(-2, dim), b.roll(-1, dim), b.roll(-2, dim)
        return a1 * b2 - a2 * b1

    @numpy_names
    def cumsum(self, dim: int, *, dtype: torch.dtype | None = None) -> Tensor:
        """Running totals along dim: out[i] = x[0] + ... + x[i]."""
        return ops.CumSum.apply(self, dim=dim, dtype=dtype)

    def cummax(self, dim: int) -> return_types.cummax:
        """Running maxima along dim, and where each was found (the latest place, on a tie):
        x gathered at those places, so that each gradient goes back to its maximum's place."""
        indices = torch.cummax(self._data, dim).indices
        values = ops.CumMax.apply(self, indices, dim=dim, keepdim=True)
        return return_types.cummax(values, Tensor(indices))

    def cummin(self, dim: int) -> return_types.cummin:
        """Running minima along dim, and where each was found (as cummax)."""
        indices = torch.cummin(self._data, dim).indices
        values = ops.CumMin.apply(self, indices, dim=dim, keepdim=True)
        return return_types.cummin(values, Tensor(indices))

    @numpy_names
    def logcumsumexp(self, dim: int) -> Tensor:
        """Running log-sum-exps along dim: out[i] = log(e^x[0] + ... + e^x[i]), stably."""
        return ops.LogCumSumExp.apply(self, dim=dim)

    @numpy_names
    def cumprod(self, dim: int, *, dtype: torch.dtype | None = None) -> Tensor:
        """Running products along dim: out[i] = x[0] * ... * x[i]."""
        return ops.CumProd.apply(self, dim=dim, dtype=dtype)

    @numpy_names
    def prod(
        self, dim: int | None = None, keepdim: bool = False, *, dtype: torch.dtype | None = None
    ) -> Tensor:
        """The product of all elements, or along one dim (torch's prod takes one dim, not a
        tuple)."""
        if dim is not None and not isinstance(dim, int):
            raise TypeError(
                f"prod takes one dim (an int), as torch's does; got {dim!r}. For several dims, "
                "take the product one dim at a time."
            )
        return ops.Prod.apply(self, dim=dim, keepdim=keepdim, dtype=dtype)

    @numpy_names
    def argsort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
        return Tensor(self._data.argsort(dim=dim, descending=descending, stable=stable))

    @numpy_names
    def logsumexp(self, dim: Dims, keepdim: bool = False) -> Tensor:
        return ops.LogSumExp.apply(self, dim=dim, keepdim=keepdim)

    @numpy_names
    def log_softmax(self, dim: int, dtype: torch.dtype | None = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)  # torch converts first, then computes
        return ops.LogSoftmax.apply(x, dim=dim)

    @numpy_names
    def softmax(self, dim: int, dtype: torch.dtype | None = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        return ops.Softmax.apply(x, dim=dim)

    # ---- shapes ----------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> Tensor:
        return ops.Reshape.apply(self, shape=_size_args(shape))

    def view(self, *shape: Any) -> Tensor:
        """This tensor's own memory seen with a new shape, never a copy: so, as torch's, it
        refuses where the elements do not lie in memory in the order the shape reads them
        (x.t().view(6)); reshape copies there."""
        return ops.View.apply(self, shape=_size_args(shape))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Dims start_dim..end_dim as one: a reshape to the shape worked out here (asking torch
        for it would be one more torch call, and a line of its own in a compiled step's code)."""
        n = max(self.ndim, 1)  # (a number flattens to one element, as in torch)

        def problem(rule: str) -> str:
            return (
                f"flatten(start_dim={start_dim}, end_dim={end_dim}) on a tensor of shape "
                f"{shape_str(self.shape)}: {rule}."
            )

        if not (-n <= start_dim < n and -n <= end_dim < n):  # (torch's kinds of error)
            raise IndexError(problem(f"each dim must be from {-n} to {n - 1}"))
        if start_dim % n > end_dim % n:
            raise RuntimeError(problem("start_dim must not come after end_dim"))
        start, end, sizes = start_dim % n, end_dim % n, tuple(self.shape)  # (a number: ())
        return self.reshape((*sizes[:start], prod(sizes[start : end + 1]), *sizes[end + 1 :]))

    def ravel(self) -> Tensor:
        """The elements in one dim, in order (NumPy's name for flatten(); a number gives one)."""
        return self.reshape(-1)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return ops.Transpose.apply(self, dim0=dim0, dim1=dim1)

    def permute(self, *dims: Any) -> Tensor:
        return ops.Permute.apply(self, dims=_size_args(dims))

    def flip(self, *dims: Any) -> Tensor:
        """The elements in reverse order along each of dims (x.flip(0), x.flip((0, 1)); a
        kernel turned 180 degrees is kernel.flip(-2, -1)). The op Flip: its gradient is G
        flipped back."""
        return ops.Flip.apply(self, dims=_size_args(dims))

    def fliplr(self) -> Tensor:
        """Left and right swapped: flip(1), for a tensor of at least 2 dims."""
        if self.ndim < 2:
            raise ShapeError(
                f"fliplr flips dim 1 (the columns), and this tensor of shape "
                f"{shape_str(self.shape)} has no dim 1: use flip(0), or flipud."
            )
        return self.flip(1)

    def flipud(self) -> Tensor:
        """Up and down swapped: flip(0), for a tensor of at least 1 dim."""
        if self.ndim < 1:
            raise ShapeError("flipud flips dim 0 (the rows), and a 0-d tensor has no dim 0.")
        return self.flip(0)

    def roll(self, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
        """Each element moved `shifts` places along dims, those pushed off the end coming back
        at the start (without dims: along the flattened tensor, its shape then restored). Two
        pieces of x put back together the other way round: the gradient rolls back with them."""
        if dims is None:
            return self.flatten().roll(shifts, 0).view(self.shape)
        shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        if len(shifts) != len(dims):
            raise ShapeError(
                f"roll(shifts={shifts}, dims={dims}): one shift per dim, got {len(shifts)} "
                f"shifts for {len(dims)} dims."
            )
        out = self
        for shift, dim in zip(shifts, dims):
            n = out.size(dim)  # (torch's error for a dim out of range)
            kept = n - shift % n if n else n
            if 0 < kept < n:  # the last n - kept elements go first
                pieces = out.narrow(dim, kept, n - kept), out.narrow(dim, 0, kept)
                out = ops.Cat.apply(*pieces, dim=dim)
        return out

    @property
    def T(self) -> Tensor:
        """The transpose of a matrix: its dims swapped, by a permute (as torch's, whose node is a
        PermuteBackward0). On other tensors torch reverses all the dims and warns, once, that
        this is deprecated (.mT transposes the last two dims of a batch of matrices): so does
        minigrad."""
        ndim = self._data.ndim
        if ndim == 0:
            warn_once_at_user_line(
                "Tensor.T is deprecated on 0-D tensors. This function is the identity in these "
                "cases."
            )
        elif ndim != 2:
            warn_once_at_user_line(
                "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is "
                "deprecated and it will throw an error in a future release. Consider `x.mT` to "
                "transpose batches of matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` "
                "to reverse the dimensions of a tensor."
            )
        return self.permute(*range(ndim - 1, -1, -1))

    @property
    def mH(self) -> Tensor:
        """The conjugate transpose of a batch of matrices: mT, for a real tensor."""
        return self.mT if not self._data.is_complex() else Tensor(self._data.mH)

    def adjoint(self) -> Tensor:
        """The conjugate transpose of a batch of matrices (as mH)."""
        return self.mH

    @property
    def H(self) -> Tensor:
        """The conjugate transpose of a matrix: T, for a real tensor (a 0-d tensor is its own)."""
        if self._data.ndim not in (0, 2):
            raise ShapeError(
                f"tensor.H is only supported on matrices (2-D tensors), as torch's; this tensor "
                f"has shape {shape_str(self.shape)}. For a batch of matrices use .mH."
            )
        return self.T if not self._data.is_complex() else Tensor(self._data.H)

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped: a batch of matrices transposed. (As torch, a 0-d tensor
        gives itself back, as a view; a 1-d one has no matrix to transpose.)"""
        if self._data.ndim == 0:
            return self.reshape(())
        if self._data.ndim == 1:
            raise ShapeError(
                f".mT transposes matrices (the last two dims); this tensor has shape "
                f"{shape_str(self.shape)}, one dim. Make it a row first, x.unsqueeze(0), or use "
                ".T, which leaves a 1-d tensor as it is."
            )
        return self.transpose(-2, -1)

    @numpy_names
    def unsqueeze(self, dim: int) -> Tensor:
        return ops.Unsqueeze.apply(self, dim=dim)

    @numpy_names
    def squeeze(self, dim: int | None = None) -> Tensor:
        return ops.Squeeze.apply(self, dim=dim)

    def sum_to_size(self, *size: Any) -> Tensor:
        """The sum over the dims along which a tensor of shape `size` would be broadcast to this
        one's shape: what broadcasting's gradient does (the tensor itself when size is its own)."""
        if not size:
            raise TypeError("sum_to_size takes the size to sum to: x.sum_to_size(1, 3), or (1, 3)")
        shape = torch.Size(_size_args(size))
        pairs = zip(reversed(shape), reversed(self.shape))
        if len(shape) > self.ndim or any(n not in (1, m) for n, m in pairs):
            raise ShapeError(
                f"sum_to_size{shape_str(shape)}: that shape does not broadcast to this tensor's "
                f"{shape_str(self.shape)}. Each of its dims must be this tensor's there (counted "
                "from the right) or 1, and it may have fewer dims, not more."
            )
        return self if shape == self.shape else engine.sum_to_shape(self, shape)

    def expand(self, *shape: Any) -> Tensor:
        return ops.Expand.apply(self, shape=_size_args(shape))

    def __getitem__(self, key: Any) -> Tensor:
        return ops.Index.apply(self, key=_raw_key(key))

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def broadcast_to(self, *size: Any) -> Tensor:
        """x broadcast to `size` (NumPy's name for expand): size-1 dims stretched, new leading
        dims added. Its gradient is the sum over the copies (Expand's)."""
        target = _size_args(size)
        try:
            self._data.broadcast_to(target)  # a view, no copy: torch's checks
        except RuntimeError as error:
            raise ShapeError(
                f"broadcast_to{shape_str(target)}: a tensor of shape {shape_str(self.shape)} "
                "cannot be broadcast to it. Line the shapes up from the right: each dim of the "
                "tensor must equal the target's there, or be 1 (stretched); the target may add "
                "dims on the left (and say -1 to keep a dim), never take any away."
            ) from error
        return self.expand(target)

    def t(self) -> Tensor:
        """The transpose of a matrix (a vector or a number as it is); torch's t() refuses more
        than 2 dims, and says so."""
        return ops.MatrixTranspose.apply(self)

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        """NumPy's name for transpose(axis0, axis1)."""
        return self.transpose(axis0, axis1)

    def swapdims(self, dim0: int, dim1: int) -> Tensor:
        """Another name for transpose(dim0, dim1)."""
        return self.transpose(dim0, dim1)

    def as_strided(
        self, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None
    ) -> Tensor:
        """x's memory seen with another shape and strides, a view (as torch's): out[i] is the
        element at place storage_offset + sum(i_k * stride_k) of the memory x lies in (x's own
        storage_offset when not given). Windows that overlap share elements: the sliding
        windows of a convolution written by hand. Its gradient adds up at each place read."""
        return ops.AsStrided.apply(
            self, size=tuple(size), stride=tuple(stride), storage_offset=storage_offset
        )

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """The windows of `size` places along `dimension`, one every `step` places, each as a
        new last dim: x.unfold(0, 2, 1) of [1, 2, 3] is [[1, 2], [2, 3]] (a view of x)."""
        return ops.UnfoldDim.apply(self, dim=dimension, size=size, step=step)

    def moveaxis(self, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
        """NumPy's name for movedim."""
        return self.movedim(source, destination)

    def movedim(self, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
        """Dims moved to new places, the others keeping their order (x.movedim(1, -1) puts an
        image's channels last): a permute."""
        self._data.movedim(source, destination)  # a view, no copy: torch's checks of the dims
        if self.ndim == 0:
            return self.view(())
        sources = [source] if isinstance(source, int) else list(source)
        destinations = [destination] if isinstance(destination, int) else list(destination)
        order: list[int | None] = [None] * self.ndim  # order[d]: the dim that goes to d
        for s, d in zip(sources, destinations):
            order[d % self.ndim] = s % self.ndim
        moved = {s % self.ndim for s in sources}
        rest = iter([d for d in range(self.ndim) if d not in moved])
        return self.permute([next(rest) if d is None else d for d in order])

    @numpy_names
    def gather(self, dim: int, index: Tensor) -> Tensor:
        """out[i][j] = x[index[i][j]][j] for dim=0: along dim, pick the elements `index` names."""
        return ops.Gather.apply(self, dim, index)

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of each matrix (the last two dims): x[..., i, j] where
        j - i <= diagonal, 0 elsewhere. `minigrad.ones(T, T).tril()` is attention's causal mask."""
        return ops.Tril.apply(self, diagonal=diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of each matrix: x[..., i, j] where j - i >= diagonal, else 0."""
        return ops.Triu.apply(self, diagonal=diagonal)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The diagonal x[..., i, i + offset] of the matrices over dim1 and dim2, as a new last
        dim. Picked with index tensors, so the gradient puts G back on the diagonal (AddAt) and
        zeros elsewhere."""
        length = self._data.diagonal(offset, dim1, dim2).shape[-1]  # a view: torch's checks
        steps = torch.arange(length, device=self._data.device)
        rows, columns = steps + max(-offset, 0), steps + max(offset, 0)
        return self.movedim((dim1, dim2), (-2, -1))[..., rows, columns]

    def trace(self) -> Tensor:
        """The sum of a matrix's diagonal."""
        if self.ndim != 2:
            raise ShapeError(
                f"trace() sums the diagonal of a matrix; this tensor has shape "
                f"{shape_str(self.shape)}. For a batch of matrices: x.diagonal(dim1=-2, "
                "dim2=-1).sum(-1)."
            )
        return self.diagonal().sum()

    def diagflat(self, offset: int = 0) -> Tensor:
        """The square matrix with the flattened tensor on diagonal `offset` (zeros elsewhere)."""
        return self.flatten().diag(offset)

    def diag(self, diagonal: int = 0) -> Tensor:
        """For a vector, the square matrix with it on diagonal `diagonal` (0 the main one, > 0
        above it) and zeros elsewhere; for a matrix, that diagonal as a vector."""
        if self.ndim == 2:
            return self.diagonal(diagonal)
        if self.ndim != 1:
            raise ShapeError(
                f"diag() takes a vector (to make a matrix) or a matrix (to take its diagonal); "
                f"this tensor has shape {shape_str(self.shape)}. For a batch of matrices: "
                "x.diagonal(offset, dim1, dim2)."
            )
        n = self.shape[0] + abs(diagonal)
        out = self.new_zeros(n, n)
        steps = torch.arange(self.shape[0], device=self._data.device)
        out[steps + max(-diagonal, 0), steps + max(diagonal, 0)] = self
        return out

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        """Each vector along the last dim as diagonal `offset` of a matrix over the result's dims
        dim1 and dim2, zeros elsewhere (diagonal's adjoint: a batch of diag())."""
        n = self.shape[-1] + abs(offset)
        out = self.new_zeros(*self.shape[:-1], n, n)
        steps = torch.arange(self.shape[-1], device=self._data.device)
        out[..., steps + max(-offset, 0), steps + max(offset, 0)] = self
        return out.movedim((-2, -1), (dim1, dim2))

    def repeat(self, *repeats: Any) -> Tensor:
        """Tile x: x.repeat(2, 3) is 2 copies down and 3 across (more counts add leading dims)."""
        return ops.Repeat.apply(self, repeats=_size_args(repeats))

    def tile(self, *dims: Any) -> Tensor:
        """repeat, but with fewer counts than dims allowed: the missing leading ones are 1."""
        dims = _size_args(dims)
        return self.repeat((1,) * (self.ndim - len(dims)) + dims)

    def repeat_interleave(
        self, repeats: int | Tensor, dim: int | None = None, *, output_size: int | None = None
    ) -> Tensor:
        """Each element (each slice along dim) repeated `repeats` times in place, where repeat
        tiles the whole: [a, b] -> [a, a, b, b]. Without dim, over the flattened tensor."""
        if dim is None:
            return self.flatten().repeat_interleave(repeats, 0, output_size=output_size)
        positions = torch.arange(self.size(dim), device=self._data.device)
        index = positions.repeat_interleave(unwrap(repeats), output_size=output_size)
        return self.index_select(dim, index)

    @numpy_names
    def select(self, dim: int, index: int) -> Tensor:
        """x[..., index, ...] with the index at dim: that dim goes away."""
        self._data.select(dim, index)  # a view, no copy: torch's checks of dim and index
        return self[_along(dim, self.ndim, index)]

    @numpy_names
    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        """The `length` elements from `start` along dim: x[..., start:start + length, ...]."""
        self._data.narrow(dim, start, length)  # a view, no copy: torch's checks
        if start < 0:
            start += self.size(dim)
        return self[_along(dim, self.ndim, slice(start, start + length))]

    @numpy_names
    def index_select(self, dim: int, index: Tensor) -> Tensor:
        """The slices along dim that `index` (a vector of integers) names, in its order, repeats
        allowed: x[..., index, ...], but, as torch's, each index in [0, size): a negative one is
        refused, not counted from the end. The gradients go back to their places and add up."""
        raw = unwrap(index)
        if not isinstance(raw, torch.Tensor) or raw.ndim > 1 or raw.dtype not in _INDEX_DTYPES:
            got = (
                f"a tensor of shape {shape_str(raw.shape)}, {raw.dtype}"
                if isinstance(raw, torch.Tensor)
                else type(index).__name__
            )
            # torch's exception type: TypeError for no tensor, IndexError for a tensor of more
            # dims, RuntimeError for one of another dtype
            error = TypeError
            if isinstance(raw, torch.Tensor):
                error = IndexError if raw.ndim > 1 else RuntimeError
            raise error(
                f"index_select(dim={dim}, index=...): index must be a vector (1-d tensor) of "
                f"int64 or int32 positions, got {got}. For other index shapes use "
                "x[..., index] (indexing), or x.gather(dim, index)."
            )
        return ops.IndexSelect.apply(self, dim, raw)

    # ---- writes at indices: scatter, index_add, index_copy, index_fill (and their x_ forms) ----
    # Each out-of-place form is one op (ops/shape.py, ops/embedding.py), forward by torch's own
    # op; the in-place forms write it into x (see "in-place changes" below).

    def scatter(
        self,
        dim: int,
        index: Tensor,
        src: Operand | None = None,
        value: Operand | None = None,
        *,
        reduce: str | None = None,
    ) -> Tensor:
        """x with the places `index` names along dim overwritten: out[index[i][j]][j] = src[i][j]
        for dim=0, and so on; with a number `value`, that number at every place named. The
        overwritten places pass no gradient to x; src's gradient is G.gather(dim, index)."""
        source = _scatter_source("scatter", self, src, value, reduce)
        return ops.Scatter.apply(self, dim, unwrap(index), source)

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        """x with src's values added at the places `index` names along dim (for dim=0,
        out[index[i][j]][j] += src[i][j]); values sent to one place add up. dL/dx = G,
        dL/dsrc = G.gather(dim, index)."""
        return ops.ScatterAdd.apply(self, dim, unwrap(index), _operand(src, self))

    def index_put(
        self, indices: Sequence[Tensor], values: Operand, accumulate: bool = False
    ) -> Tensor:
        """x with values at the places the index tensors name (x[indices] = values, out of
        place); with accumulate=True added there instead, a place named twice getting both."""
        key, values = tuple(unwrap(i) for i in indices), _operand(values, self)
        if accumulate:
            return ops.IndexPut.apply(self, values, key)
        return ops.SetItem.apply(self, values, key)

    def scatter_reduce(
        self, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True
    ) -> Tensor:
        """x with src's values reduced into the places `index` names along dim, as scatter_add
        adds them: reduce is "sum", "prod", "mean", "amax" or "amin", and x's own value at a
        place takes part unless include_self=False (a message-passing layer's aggregation)."""
        if reduce not in ("sum", "prod", "mean", "amax", "amin"):
            raise ValueError(
                f"scatter_reduce: reduce must be 'sum', 'prod', 'mean', 'amax' or 'amin', got "
                f"{reduce!r}."
            )
        return ops.ScatterReduce.apply(
            self,
            dim,
            unwrap(index),
            _operand(src, self),
            reduce=reduce,
            include_self=include_self,
        )

    def index_add(self, dim: int, index: Tensor, source: Tensor, *, alpha: Scalar = 1) -> Tensor:
        """x with alpha times source's slice k added to x's slice index[k] along dim (slices
        named several times add up). dL/dx = G, dL/dsource = alpha * G.index_select(dim, index)."""
        return ops.IndexAdd.apply(self, dim, unwrap(index), _operand(source, self), alpha=alpha)

    def index_copy(self, dim: int, index: Tensor, source: Tensor) -> Tensor:
        """x with its slice index[k] along dim replaced by source's slice k. The replaced slices
        pass no gradient to x; dL/dsource = G.index_select(dim, index)."""
        return ops.IndexCopy.apply(self, dim, unwrap(index), _operand(source, self))

    def index_fill(self, dim: int, index: Tensor, value: Operand) -> Tensor:
        """x with its slices at index along dim filled with value (a number, or a 0-d tensor,
        which then gets the sum of G over the filled slices); a negative index counts from the
        end, as torch's. The filled slices pass no gradient to x."""
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise RuntimeError(
                    f"index_fill takes a number or a 0-d tensor as the value, got one of shape "
                    f"{shape_str(value.shape)}; to write a tensor's slices, use index_copy."
                )
            value = value.to(self.dtype)
        return ops.IndexFill.apply(self, dim, unwrap(index), value)

    def take_along_dim(self, indices: Tensor, dim: int | None = None) -> Tensor:
        """out[i][j] = x[indices[i][j]][j] for dim=0 (NumPy's take_along_axis): gather, after x
        and indices are broadcast to each other's shape except along dim. Without dim, picks
        from the flattened x. With dim, a negative index counts from the end (as torch's)."""
        raw = unwrap(indices)
        if not isinstance(raw, torch.Tensor) or raw.dtype != torch.int64 or raw.ndim != self.ndim:
            got = (
                f"{raw.ndim} dims, {raw.dtype}"
                if isinstance(raw, torch.Tensor)
                else type(indices).__name__
            )
            raise RuntimeError(
                f"take_along_dim: indices must be an int64 tensor with as many dims as x "
                f"({self.ndim}), got {got}."
            )
        if dim is None:
            return self.reshape(-1).gather(0, raw.reshape(-1))
        if self.ndim == 0:
            return self.reshape(1).take_along_dim(raw.reshape(1), 0).reshape(())
        size = self._data.size(dim)  # (torch's check of dim)
        positions = torch.where(raw < 0, raw + size, raw)  # a negative one from the end
        x_sides, index_sides = list(self.shape), list(raw.shape)
        x_sides[dim], index_sides[dim] = raw.shape[dim], size
        index_shape = torch.broadcast_shapes(tuple(x_sides), raw.shape)
        x_shape = torch.broadcast_shapes(tuple(index_sides), self.shape)
        try:
            return self.expand(x_shape).gather(dim, positions.expand(index_shape))
        except RuntimeError as error:
            outside = raw[(raw < -size) | (raw >= size)]
            if outside.numel() == 0:
                raise
            raise RuntimeError(
                f"take_along_dim(dim={dim}): index {outside[0].item()} is out of range for x "
                f"of shape {shape_str(self.shape)}, whose dim {dim} has {size} places "
                f"(indices allowed: [{-size}, {size - 1}])."
            ) from error

    @numpy_names
    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        """Dim `dim` split into dims of these sizes (one may be -1, worked out): flatten undone."""
        return self.view(self._data.unflatten(dim, sizes).shape)  # (torch's checks and -1)

    @numpy_names
    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        """The slices along dim, each without that dim: x.unbind(0) is (x[0], x[1], ...), one
        op (Unbind) whose gradient stacks theirs back."""
        return ops.Unbind.apply(self, dim)

    @numpy_names
    def split(self, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple:
        """Cut x along dim into pieces of that size (the last may be smaller), or of the sizes
        listed: one op (Split), whose gradient joins the pieces' gradients back together."""
        if not isinstance(split_size_or_sections, int):
            split_size_or_sections = list(split_size_or_sections)
        return ops.Split.apply(self, split_size_or_sections, dim)

    def split_with_sizes(self, split_sizes: Sequence[int], dim: int = 0) -> tuple:
        """x.split(split_sizes, dim) with a list of sizes, under torch's other name for it."""
        return self.split(list(split_sizes), dim)

    @numpy_names
    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        """Cut x along dim into `chunks` pieces of equal size (the last may be smaller, and
        there may be fewer pieces than asked for, as in torch): a split, as torch's."""
        sizes = [piece.shape[dim] for piece in self._data.chunk(chunks, dim)]  # (torch's checks)
        if 0 in sizes:  # (an empty dim: `chunks` empty pieces, which no single size gives)
            return self.split(sizes, dim)
        return self.split(sizes[0], dim)  # all but the last of that size: torch's split of it

    def tensor_split(self, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        """Cut x along dim into `sections` pieces as equal as can be (the first n % sections one
        longer), or at the listed indices: [2, 3] gives x[:2], x[2:3], x[3:], each read as a
        Python slice (an index past the end gives an empty piece, a negative one counts from
        the end). Each piece is an index of x, so its gradient goes back to its place."""
        cut = _split_points("tensor_split", indices_or_sections)
        if self.ndim == 0:
            raise RuntimeError(
                "tensor_split cuts along a dim, but this tensor is 0-d (a single number). Give "
                "it a dim first: x.reshape(1).tensor_split(...)."
            )
        n = self.size(dim)  # (torch's IndexError for a dim out of range)
        if isinstance(cut, int):
            if cut <= 0:
                raise RuntimeError(
                    f"tensor_split({cut}): the number of sections must be at least 1, got {cut}."
                )
            size, longer = divmod(n, cut)
            cut = list(accumulate([size + 1] * longer + [size] * (cut - longer - 1)))
        starts, stops = [0, *cut], [*cut, None]
        return tuple(
            self[_along(dim, self.ndim, slice(start, stop))] for start, stop in zip(starts, stops)
        )

    def hsplit(self, indices_or_sections: int | Sequence[int]) -> tuple[Tensor, ...]:
        """tensor_split along dim 1 (dim 0 for a vector), with `sections` dividing it evenly."""
        return self._numpy_split("hsplit", indices_or_sections, 1, 0 if self.ndim == 1 else 1)

    def vsplit(self, indices_or_sections: int | Sequence[int]) -> tuple[Tensor, ...]:
        """tensor_split along dim 0 of a tensor of 2 dims or more, `sections` dividing it evenly."""
        return self._numpy_split("vsplit", indices_or_sections, 2, 0)

    def dsplit(self, indices_or_sections: int | Sequence[int]) -> tuple[Tensor, ...]:
        """tensor_split along dim 2 of a tensor of 3 dims or more, `sections` dividing it evenly."""
        return self._numpy_split("dsplit", indices_or_sections, 3, 2)

    def _numpy_split(self, name: str, cut: Any, min_ndim: int, dim: int) -> tuple[Tensor, ...]:
        """hsplit, vsplit, dsplit: NumPy's splits, stricter than tensor_split about sections."""
        if self.ndim < min_ndim:
            raise RuntimeError(
                f"{name} needs a tensor of at least {min_ndim} dim{'s' * (min_ndim > 1)}, got "
                f"one of shape {shape_str(self.shape)}. Add dims first (minigrad.atleast_"
                f"{min_ndim}d(x)), or use x.tensor_split(..., dim=...), which cuts any dim."
            )
        if isinstance(cut, int) and not isinstance(cut, bool):
            n = self.size(dim)
            if cut == 0 or n % cut:
                raise RuntimeError(
                    f"{name}({cut}) on a tensor of shape {shape_str(self.shape)}: dim {dim} has "
                    f"{n} elements, which {cut} sections cannot share equally. Give a number of "
                    f"sections that divides {n}, or a list of indices to cut at; "
                    f"x.tensor_split({cut}, dim={dim}) allows pieces of unequal sizes."
                )
        elif not isinstance(cut, (list, tuple)):
            raise TypeError(
                f"{name} takes a number of sections (an int) or a list of indices, got "
                f"{type(cut).__name__}. (tensor_split takes a tensor of indices too.)"
            )
        return self.tensor_split(cut, dim)

    def rot90(self, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
        """The tensor turned k quarter turns in the plane of dims, from the first dim towards
        the second (k < 0 turns the other way): a flip and a transpose, so the gradient is G
        turned back. As torch's: k = 1 flips dims[1] then swaps the two; k = 2 flips both;
        k = 3 flips dims[0] then swaps; k = 0 copies."""
        dims = tuple(dims)
        in_range = all(-self.ndim <= d < self.ndim for d in dims)
        problem = None
        if len(dims) != 2:
            problem = f"dims must name two dims, the plane of the turn, got {len(dims)}: {dims}"
        elif self.ndim < 2:
            problem = f"a turn needs at least 2 dims, but x has shape {shape_str(self.shape)}"
        elif in_range and (dims[0] - dims[1]) % self.ndim == 0:
            problem = f"dims must be two different dims, got {dims} (the same dim twice)"
        if problem:
            raise RuntimeError(f"rot90(k={k}, dims={dims}): {problem}.")
        for d in dims:
            self.size(d)  # (torch's IndexError for a dim out of range)
        first, second = dims
        turns = k % 4
        if turns == 1:
            return self.flip(second).transpose(first, second)
        if turns == 2:
            return self.flip(first, second)
        if turns == 3:
            return self.flip(first).transpose(first, second)
        return self.clone()

    def diff(
        self,
        n: int = 1,
        dim: int = -1,
        prepend: Tensor | None = None,
        append: Tensor | None = None,
    ) -> Tensor:
        """The n-th forward difference along dim: out[i] = x[i + 1] - x[i], n times over (for
        bools, x[i + 1] != x[i]). prepend and append are joined to x along dim first. Each pass
        is a subtraction of two slices, so the gradient is theirs."""
        if self.ndim == 0:
            raise RuntimeError(
                "diff takes differences along a dim, but this tensor is 0-d (a single number): "
                "give it a dim first, x.reshape(1)."
            )
        if n < 0:
            raise RuntimeError(f"diff(n={n}): the order n must be 0 or more.")
        self.size(dim)  # (torch's IndexError for a dim out of range)
        parts = []
        for name, extra in (("prepend", prepend), ("self", self), ("append", append)):
            if extra is None:
                continue
            if name != "self":
                _check_diff_extra(name, extra, self, dim)
            parts.append(extra)
        if n == 0:
            return self.clone()  # (torch's: a copy of x, without prepend and append)
        x = self if len(parts) == 1 else ops.Cat.apply(*parts, dim=dim)
        passes = min(n, x.size(dim))  # (each pass is one shorter; none is left after size)
        if passes == 0:
            return x.clone()
        for _ in range(passes):
            length = x.size(dim) - 1
            later, earlier = x.narrow(dim, 1, length), x.narrow(dim, 0, length)
            x = later != earlier if x.dtype == torch.bool else later - earlier
        return x

    # ---- matrix products: @ under torch's shape-specific names ----------------------------

    def mm(self, mat2: Tensor) -> Tensor:
        """Matrix times matrix: (n, k) @ (k, m)."""
        _check_ndims("mm", (self, 2), (mat2, 2))
        return self @ mat2

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta * self + alpha * (mat1 @ mat2), as torch.addmm: a Linear layer's bias plus
        x @ W.T in one call. mat1 (n, k), mat2 (k, m); self broadcasts to (n, m)."""
        _check_ndims("addmm", (mat1, 2), (mat2, 2))
        return self._plus_product("addmm", mat1.mm(mat2), beta, alpha)

    def addmv(self, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta * self + alpha * (mat @ vec), as torch.addmv: mat (n, k), vec (k,); self
        broadcasts to (n,)."""
        _check_ndims("addmv", (mat, 2), (vec, 1))
        return self._plus_product("addmv", mat.mv(vec), beta, alpha)

    def addr(self, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta * self + alpha * outer(vec1, vec2), as torch.addr: vec1 (n,), vec2 (m,); self
        broadcasts to (n, m)."""
        _check_ndims("addr", (vec1, 1), (vec2, 1))
        return self._plus_product("addr", vec1.outer(vec2), beta, alpha)

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta * self + alpha * (batch1 @ batch2), as torch.baddbmm: batch1 (b, n, k), batch2
        (b, k, m); self broadcasts to (b, n, m)."""
        _check_ndims("baddbmm", (batch1, 3), (batch2, 3))
        return self._plus_product("baddbmm", batch1.bmm(batch2), beta, alpha)

    def addbmm(self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        """beta * self + alpha * (batch1[0] @ batch2[0] + batch1[1] @ batch2[1] + ...), as
        torch.addbmm: the products of a batch (b, n, k) @ (b, k, m) added up; self broadcasts
        to (n, m)."""
        _check_ndims("addbmm", (batch1, 3), (batch2, 3))
        return self._plus_product("addbmm", batch1.bmm(batch2).sum(0), beta, alpha)

    def _plus_product(self, name: str, product: Tensor, beta: Any, alpha: Any) -> Tensor:
        """beta * self + alpha * product, for addmm and its kin; self broadcasts to the product's
        shape. With beta=0, self's values are left out (a NaN or inf in it does not spread), as
        in torch, and it gets zeros as its gradient."""
        pairs = zip(reversed(self.shape), reversed(product.shape))
        if self.ndim > product.ndim or any(side not in (1, wanted) for side, wanted in pairs):
            raise ShapeError(
                f"{name} adds self (input) of shape {shape_str(self.shape)} to the product, of "
                f"shape {shape_str(product.shape)}: self must broadcast to that shape."
            )
        if alpha != 1:
            product = product * alpha
        if beta == 0:  # zeros where self was, whatever it held (0 * NaN would be NaN)
            return product + self.masked_fill(torch.ones((), dtype=torch.bool), 0)
        return product + (self if beta == 1 else self * beta)

    def bmm(self, batch2: Tensor) -> Tensor:
        """A batch of matrix products: (b, n, k) @ (b, k, m)."""
        _check_ndims("bmm", (self, 3), (batch2, 3))
        return self @ batch2

    def mv(self, vec: Tensor) -> Tensor:
        """Matrix times vector: (n, k) @ (k,)."""
        _check_ndims("mv", (self, 2), (vec, 1))
        return self @ vec

    def dot(self, other: Tensor) -> Tensor:
        """The dot product of two vectors: (k,) @ (k,)."""
        _check_ndims("dot", (self, 1), (other, 1))
        return self @ other

    def inner(self, other: Tensor) -> Tensor:
        """The sum of products over the last dim: for vectors, the dot product; for more dims,
        out[i.., j..] = sum_k self[i.., k] other[j.., k], of shape self's but the last followed
        by other's but the last. A 0-d operand multiplies the other (as torch's)."""
        if self.ndim == 0 or other.ndim == 0:
            return self * other
        k = self.shape[-1]
        if other.shape[-1] != k:
            raise ShapeError(
                f"inner multiplies along the last dims, which must match: got shapes "
                f"{shape_str(self.shape)} and {shape_str(other.shape)}."
            )
        rows = self.reshape(-1, k) @ other.reshape(-1, k).mT
        return rows.reshape(*self.shape[:-1], *other.shape[:-1])

    def vdot(self, other: Tensor) -> Tensor:
        """The dot product of two vectors, the first conjugated: dot, for real ones. (Complex
        vectors give torch's value, with no gradient: minigrad's complex tensors have none.)"""
        if self._data.is_complex() or other._data.is_complex():
            return Tensor(self._data.vdot(other._data))
        _check_ndims("vdot", (self, 1), (other, 1))
        return self @ other

    def matrix_power(self, n: int) -> Tensor:
        """self @ self @ ... @ self, n times, for each square matrix (..., m, m): n = 0 the
        identity (its gradient 0, as torch's), n < 0 the inverse's power -n times."""
        problem = ops.matmul.needs_square_matrices("matrix_power", self)
        if problem:
            raise ShapeError(problem)
        if n == 0:  # the identity for each matrix, written over a copy: gradient 0 (as torch's)
            identity = torch.eye(self.shape[-1], dtype=self.dtype, device=self.device)
            return self.clone().copy_(identity.expand(self.shape))
        A = self if n > 0 else self.inverse()
        out = A
        for _ in range(abs(n) - 1):
            out = out @ A
        return out

    def outer(self, vec2: Tensor) -> Tensor:
        """The outer product of two vectors: out[i, j] = self[i] vec2[j], shape (n, m)."""
        return ops.Outer.apply(self, _operand(vec2, self))

    def ger(self, vec2: Tensor) -> Tensor:
        """torch's old name for outer."""
        return self.outer(vec2)

    def det(self) -> Tensor:
        """The determinant of each square matrix (..., n, n): minigrad.linalg.det."""
        return ops.Det.apply(self)

    def matrix_exp(self) -> Tensor:
        """e^A of each square matrix (..., n, n): minigrad.linalg.matrix_exp."""
        return ops.MatrixExp.apply(self)

    def inverse(self) -> Tensor:
        """The inverse of each square matrix (..., n, n): minigrad.linalg.inv."""
        return ops.Inv.apply(self)

    # torch's older linear-algebra names, on linalg's ops (their gradients derived in ops/matmul)

    def svd(self, some: bool = True, compute_uv: bool = True) -> return_types.svd:
        """(U, S, V) with A = U diag(S) V^T: linalg.svd's, but V itself where linalg gives
        Vh = V^T. compute_uv=False: S alone is computed, U and V come back as zeros of shape
        (..., m, m) and (..., n, n), as torch's. some=False asks for the full U and V, which
        minigrad has for square matrices only (the same as the reduced ones there)."""
        if not compute_uv:
            S = ops.Svd.apply(self)[1]
            *batch, m, n = self.shape
            options = {"dtype": self.dtype, "device": self.device}
            U, V = torch.zeros((*batch, m, m), **options), torch.zeros((*batch, n, n), **options)
            return return_types.svd(Tensor(U), S, Tensor(V))
        if not some and self.ndim >= 2 and self.shape[-1] != self.shape[-2]:
            raise NotImplementedError(
                f"svd(some=False) of a tensor of shape {shape_str(self.shape)}: minigrad has the "
                "reduced SVD of a non-square matrix only (U (m, k), V (n, k), k = min(m, n)); "
                "pass some=True."
            )
        U, S, Vh = ops.Svd.apply(self)
        return return_types.svd(U, S, Vh.mT)

    def qr(self, some: bool = True) -> return_types.qr:
        """(Q, R) with A = Q R: linalg.qr with mode 'reduced' (some=True) or 'complete'.
        torch warns that this name is deprecated, and so does minigrad."""
        warn_at_user_line(
            "torch.qr is deprecated (torch warns so too): write linalg.qr(A, 'reduced' if some "
            "else 'complete') instead of qr(A, some)."
        )
        m, n = self.shape[-2:] if self.ndim >= 2 else (None, None)
        if m is not None and (m < n or (not some and m != n)):
            raise NotImplementedError(
                f"qr(some={some}) of a tensor of shape {shape_str(self.shape)}: minigrad's qr "
                "takes m >= n (at least as many rows as columns), with some=True unless m == n "
                "(the extra columns of the complete Q have no gradient). For a wide A, qr of "
                "A.mT gives the QR of A^T."
            )
        Q, R = ops.Qr.apply(self, mode="reduced" if some else "complete")
        return return_types.qr(Q, R)

    def cholesky(self, upper: bool = False) -> Tensor:
        """L, lower triangular, with A = L L^T (upper=True: U = L^T, A = U^T U): linalg.cholesky.
        torch warns that this name is deprecated, and so does minigrad."""
        warn_at_user_line(
            "torch.cholesky is deprecated (torch warns so too): write linalg.cholesky(A) "
            "instead of cholesky(A), and linalg.cholesky(A).mT for cholesky(A, upper=True)."
        )
        L = ops.Cholesky.apply(self)
        return L.mT if upper else L

    def cholesky_solve(self, input2: Tensor, upper: bool = False) -> Tensor:
        """X with A X = B (this tensor is B, (..., n, k)), given A's Cholesky factor input2:
        A = L L^T for a lower triangular L (upper=True: A = U^T U). Two triangular systems,
        L Y = B then L^T X = Y, solved with linalg's solve, whose gradients give torch's."""
        L = input2.mT if upper else input2  # A = L L^T either way
        square = L.ndim >= 2 and L.shape[-1] == L.shape[-2]
        if not square or self.ndim < 2 or self.shape[-2] != L.shape[-1]:
            raise ShapeError(
                f"cholesky_solve: B (self) of shape {shape_str(self.shape)} and the factor "
                f"(input2) of shape {shape_str(input2.shape)}: the factor is a square (..., n, n) "
                "and B a matrix (..., n, k) with as many rows."
            )
        return ops.Solve.apply(L.mT, ops.Solve.apply(L, self))

    def cholesky_inverse(self, upper: bool = False) -> Tensor:
        """A^{-1}, given A's Cholesky factor (this tensor): A = L L^T with L lower triangular
        (upper=True: A = U^T U). A^{-1} = L^{-T} L^{-1}, from linalg's inv."""
        L = self.mT if upper else self
        inverse = ops.Inv.apply(L)
        return inverse.mT @ inverse

    def slogdet(self) -> return_types.slogdet:
        """(sign, logabsdet) of each square matrix: linalg.slogdet."""
        sign, logabsdet = ops.SlogDet.apply(self)
        return return_types.slogdet(sign, logabsdet)

    def logdet(self) -> Tensor:
        """log det(A): linalg.slogdet's logabsdet, NaN where det(A) < 0 (no real logarithm;
        no gradient flows there), -inf where det(A) = 0."""
        sign, logabsdet = ops.SlogDet.apply(self)
        return logabsdet.masked_fill(sign == -1, math.nan)

    def pinverse(self, rcond: float = 1e-15) -> Tensor:
        """The pseudo-inverse (linalg.pinv), the singular values at most rcond times the
        largest counted as 0 (linalg.pinv's rtol=rcond, atol=0)."""
        return ops.Pinv.apply(self, atol=0.0, rtol=rcond)

    # ---- in-place changes ---------------------------------------------------------------------
    # Each names torch's in-place kernel (used when nothing is recorded) and its out-of-place twin
    # (recorded, then written into this tensor's memory): see `autograd.inplace`.

    def _update(
        self, what: str, operands: tuple[Any, ...], kernel: Any, compute: Any, region: Any = None
    ) -> Tensor:
        return inplace.update(self, operands, kernel, compute, what, region)

    # x += y, x.add_(y), x.exp_(), ...: the out-of-place op (x + y, x.exp()) written into x's
    # memory, with torch's in-place kernel (d.add_, d.exp_) when nothing is recorded.
    __iadd__ = _in_place_with("+=", "add")
    __isub__ = _in_place_with("-=", "sub")
    __imul__ = _in_place_with("*=", "mul")
    __itruediv__ = _in_place_with("/=", "div")
    __ipow__ = _in_place_with("**=", "pow")
    __ifloordiv__ = _in_place_with("//=", "floor_divide")
    __imod__ = _in_place_with("%=", "remainder")
    add_ = _in_place_with("add_", "add")  # alpha= too: x.add_(y, alpha=2) is x += 2 * y
    sub_ = _in_place_with("sub_", "sub")
    mul_ = _in_place_with("mul_", "mul")
    div_ = _in_place_with("div_", "div")
    pow_ = _in_place_with("pow_", "pow")
    floor_divide_ = _in_place_with("floor_divide_", "floor_divide")
    remainder_ = _in_place_with("remainder_", "remainder")
    fmod_ = _in_place_with("fmod_", "fmod")
    true_divide_ = _in_place_with("true_divide_", "div")
    neg_ = _in_place("neg")
    exp_ = _in_place("exp")
    log_ = _in_place("log")
    sigmoid_ = _in_place("sigmoid")
    tanh_ = _in_place("tanh")
    relu_ = _in_place("relu")
    abs_ = _in_place("abs")
    sqrt_ = _in_place("sqrt")
    sin_ = _in_place("sin")
    cos_ = _in_place("cos")
    floor_ = _in_place("floor")
    ceil_ = _in_place("ceil")
    trunc_ = _in_place("trunc")
    fix_ = _in_place("fix")
    frac_ = _in_place("frac")
    reciprocal_ = _in_place("reciprocal")
    atan2_ = _in_place_with("atan2_", "atan2")
    arctan2_ = _in_place_with("arctan2_", "arctan2")
    hypot_ = _in_place_with("hypot_", "hypot")
    xlogy_ = _in_place_with("xlogy_", "xlogy")
    copysign_ = _in_place_with("copysign_", "copysign")
    heaviside_ = _in_place_with("heaviside_", "heaviside")
    sinc_ = _in_place("sinc")
    deg2rad_ = _in_place("deg2rad")
    rad2deg_ = _in_place("rad2deg")
    square_ = _in_place("square")
    tan_ = _in_place("tan")
    asin_ = _in_place("asin")
    acos_ = _in_place("acos")
    atan_ = _in_place("atan")
    sinh_ = _in_place("sinh")
    cosh_ = _in_place("cosh")
    arcsin_ = _in_place("arcsin")
    arccos_ = _in_place("arccos")
    arctan_ = _in_place("arctan")
    # torch records these three (and their NumPy names) but its backward through them raises
    asinh_ = _in_place_without_gradient("asinh")
    acosh_ = _in_place_without_gradient("acosh")
    atanh_ = _in_place_without_gradient("atanh")
    arcsinh_ = _in_place_without_gradient("arcsinh")
    arccosh_ = _in_place_without_gradient("arccosh")
    arctanh_ = _in_place_without_gradient("arctanh")
    log2_ = _in_place("log2")
    exp2_ = _in_place("exp2")
    sgn_ = _in_place("sgn")
    absolute_ = _in_place("absolute")
    negative_ = _in_place("negative")
    rsqrt_ = _in_place("rsqrt")
    sign_ = _in_place("sign")
    log10_ = _in_place("log10")
    log1p_ = _in_place("log1p")
    expm1_ = _in_place("expm1")
    erf_ = _in_place("erf")
    erfc_ = _in_place("erfc")
    erfinv_ = _in_place("erfinv")
    lgamma_ = _in_place("lgamma")
    digamma_ = _in_place("digamma")
    logit_ = _in_place("logit")  # x.logit_(eps=None)
    cumsum_ = _in_place("cumsum")  # x.cumsum_(dim)
    cumprod_ = _in_place("cumprod")
    clamp_min_ = _in_place_with("clamp_min_", "clamp_min")
    clamp_max_ = _in_place_with("clamp_max_", "clamp_max")
    multiply_ = _in_place_with("multiply_", "mul")
    divide_ = _in_place_with("divide_", "div")  # rounding_mode= too
    subtract_ = _in_place_with("subtract_", "sub")  # alpha= too
    # comparisons in place keep x's dtype: 1 where it holds, 0 elsewhere (gradient 0)
    eq_ = _compared_in_place("eq_", "eq")
    ne_ = _compared_in_place("ne_", "ne")
    lt_ = _compared_in_place("lt_", "lt")
    le_ = _compared_in_place("le_", "le")
    gt_ = _compared_in_place("gt_", "gt")
    ge_ = _compared_in_place("ge_", "ge")
    not_equal_ = _compared_in_place("not_equal_", "ne")
    less_ = _compared_in_place("less_", "lt")
    less_equal_ = _compared_in_place("less_equal_", "le")
    greater_ = _compared_in_place("greater_", "gt")
    greater_equal_ = _compared_in_place("greater_equal_", "ge")
    # ops with no derivative: torch's kernel, nothing recorded (integer and bool tensors, mostly)
    logical_and_ = _in_place_outside_graph("logical_and_")
    logical_or_ = _in_place_outside_graph("logical_or_")
    logical_xor_ = _in_place_outside_graph("logical_xor_")
    logical_not_ = _in_place_outside_graph("logical_not_")
    bitwise_and_ = __iand__ = _in_place_outside_graph("bitwise_and_")
    bitwise_or_ = __ior__ = _in_place_outside_graph("bitwise_or_")
    bitwise_xor_ = __ixor__ = _in_place_outside_graph("bitwise_xor_")
    bitwise_not_ = _in_place_outside_graph("bitwise_not_")
    bitwise_left_shift_ = __ilshift__ = _in_place_outside_graph("bitwise_left_shift_")
    bitwise_right_shift_ = __irshift__ = _in_place_outside_graph("bitwise_right_shift_")
    addmm_ = _plus_product_in_place("addmm")
    addmv_ = _plus_product_in_place("addmv")
    addr_ = _plus_product_in_place("addr")
    baddbmm_ = _plus_product_in_place("baddbmm")
    addbmm_ = _plus_product_in_place("addbmm")
    gcd_ = _in_place_outside_graph("gcd_")
    lcm_ = _in_place_outside_graph("lcm_")

    def float_power_(self, exponent: Operand) -> Tensor:
        exponent = _operand(exponent, self)
        complex_ = torch.result_type(self._data, unwrap(exponent)).is_complex
        wide = torch.complex128 if complex_ else torch.float64
        if self.dtype != wide:
            raise RuntimeError(
                f"in-place float_power_: the result is computed in {wide}, which this "
                f"tensor of dtype {self.dtype} would have to round down (torch refuses it too). "
                "Convert first (x = x.double()), or write x = x.float_power(y)."
            )
        return self._update(
            "float_power_",
            (exponent,),
            lambda d: d.float_power_(unwrap(exponent)),
            lambda x: x.float_power(exponent),
        )

    def polygamma_(self, n: int) -> Tensor:
        def compute(x: Tensor) -> Tensor:
            out = x.polygamma(n)
            if out._ctx is not None:  # torch names the in-place form's node apart
                out._ctx.renamed = "PolygammaBackward1"
            return out

        return self._update("polygamma_", (), lambda d: d.polygamma_(n), compute)

    def mvlgamma_(self, p: int) -> Tensor:
        return self._update("mvlgamma_", (), lambda d: d.mvlgamma_(p), lambda x: x.mvlgamma(p))

    def nan_to_num_(
        self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
    ) -> Tensor:
        return self._update(
            "nan_to_num_",
            (),
            lambda d: d.nan_to_num_(nan, posinf, neginf),
            lambda x: x.nan_to_num(nan, posinf, neginf),
        )

    def round_(self, *, decimals: int | None = None) -> Tensor:
        options = {} if decimals is None else {"decimals": decimals}  # (as round's: see there)
        return self._update(
            "round_", (), lambda d: d.round_(**options), lambda x: x.round(**options)
        )

    # x.unsqueeze_(0), x.t_(), ...: x takes the shape of its own view; the values stay
    def unsqueeze_(self, dim: int) -> Tensor:
        return inplace.change_shape(
            self,
            lambda x: x.unsqueeze(dim),
            lambda d: d.unsqueeze_(dim),
            "unsqueeze_",
            "UnsqueezeBackward1",
        )

    def squeeze_(self, dim: Dims = None) -> Tensor:
        dims = () if dim is None else (dim,)
        form = 3 if dim is None else 4 if isinstance(dim, int) else 5  # (torch's node names)
        return inplace.change_shape(
            self,
            lambda x: x.squeeze(*dims),
            lambda d: d.squeeze_(*dims),
            "squeeze_",
            f"SqueezeBackward{form}",
        )

    def t_(self) -> Tensor:
        return inplace.change_shape(self, lambda x: x.t(), lambda d: d.t_(), "t_", "TBackward1")

    def transpose_(self, dim0: int, dim1: int) -> Tensor:
        return inplace.change_shape(
            self,
            lambda x: x.transpose(dim0, dim1),
            lambda d: d.transpose_(dim0, dim1),
            "transpose_",
            "TransposeBackward1",
        )

    swapaxes_ = swapdims_ = transpose_  # NumPy's names for it, which torch has too

    def clamp_(self, min: Operand | None = None, max: Operand | None = None) -> Tensor:  # noqa: A002
        low, high = _operand(min, self), _operand(max, self)
        return self._update(
            "clamp_",
            tuple(b for b in (low, high) if isinstance(b, Tensor)),
            lambda d: d.clamp_(unwrap(low), unwrap(high)),
            lambda x: x.clamp(low, high),
        )

    def clip_(self, min: Operand | None = None, max: Operand | None = None) -> Tensor:  # noqa: A002
        return self.clamp_(min, max)

    def masked_fill_(self, mask: Tensor, value: Operand) -> Tensor:
        return self._update(
            "masked_fill_",
            (value,),
            lambda d: d.masked_fill_(unwrap(mask), unwrap(value)),
            lambda x: x.masked_fill(mask, value),
        )

    def scatter_(
        self,
        dim: int,
        index: Tensor,
        src: Operand | None = None,
        value: Operand | None = None,
        *,
        reduce: str | None = None,
    ) -> Tensor:
        source, index = _scatter_source("scatter_", self, src, value, reduce), unwrap(index)
        return self._update(
            "scatter_",
            (source,),
            lambda d: d.scatter_(dim, index, unwrap(source)),
            lambda x: x.scatter(dim, index, source),
        )

    def masked_scatter_(self, mask: Tensor, source: Tensor) -> Tensor:
        mask, source = unwrap(mask), _operand(source, self)
        return self._update(
            "masked_scatter_",
            (source,),
            lambda d: d.masked_scatter_(mask, unwrap(source)),
            lambda x: x.masked_scatter(mask, source),
        )

    def index_put_(
        self, indices: Sequence[Tensor], values: Operand, accumulate: bool = False
    ) -> Tensor:
        key, values = tuple(unwrap(i) for i in indices), _operand(values, self)
        return self._update(
            "index_put_",
            (values,),
            lambda d: d.index_put_(key, unwrap(values), accumulate=accumulate),
            lambda x: x.index_put(key, values, accumulate=accumulate),
            lambda data: data[key],
        )

    def scatter_reduce_(
        self, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True
    ) -> Tensor:
        src, positions = _operand(src, self), unwrap(index)
        return self._update(
            "scatter_reduce_",
            (src,),
            lambda d: d.scatter_reduce_(
                dim, positions, unwrap(src), reduce, include_self=include_self
            ),
            lambda x: x.scatter_reduce(dim, index, src, reduce, include_self=include_self),
        )

    def scatter_add_(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        src, index = _operand(src, self), unwrap(index)
        return self._update(
            "scatter_add_",
            (src,),
            lambda d: d.scatter_add_(dim, index, unwrap(src)),
            lambda x: x.scatter_add(dim, index, src),
        )

    def index_add_(self, dim: int, index: Tensor, source: Tensor, *, alpha: Scalar = 1) -> Tensor:
        source, index = _operand(source, self), unwrap(index)
        return self._update(
            "index_add_",
            (source,),
            lambda d: d.index_add_(dim, index, unwrap(source), alpha=alpha),
            lambda x: x.index_add(dim, index, source, alpha=alpha),
        )

    def index_copy_(self, dim: int, index: Tensor, source: Tensor) -> Tensor:
        source, index = _operand(source, self), unwrap(index)
        return self._update(
            "index_copy_",
            (source,),
            lambda d: d.index_copy_(dim, index, unwrap(source)),
            lambda x: x.index_copy(dim, index, source),
        )

    def index_fill_(self, dim: int, index: Tensor, value: Operand) -> Tensor:
        index = unwrap(index)
        return self._update(
            "index_fill_",
            (value,),
            lambda d: d.index_fill_(dim, index, unwrap(value)),
            lambda x: x.index_fill(dim, index, value),
        )

    def tril_(self, diagonal: int = 0) -> Tensor:
        return self._update("tril_", (), lambda d: d.tril_(diagonal), lambda x: x.tril(diagonal))

    def triu_(self, diagonal: int = 0) -> Tensor:
        return self._update("triu_", (), lambda d: d.triu_(diagonal), lambda x: x.triu(diagonal))

    def zero_(self) -> Tensor:
        return self._update(
            "zero_", (), lambda d: d.zero_(), lambda x: ops.Copy.apply(x, 0, method="zero_")
        )

    def fill_diagonal_(self, fill_value: float, wrap: bool = False) -> Tensor:
        """The main diagonal set to fill_value, in place (x[i, i, ...] for every i; all dims of
        one size, or a matrix taller than wide, whose diagonal with wrap=True starts again
        below each square block, as torch's)."""

        def recorded(x: Tensor) -> Tensor:  # (the diagonal as a mask: made only when recorded)
            diagonal = torch.zeros_like(x._data, dtype=torch.bool).fill_diagonal_(True, wrap)
            return x.masked_fill(Tensor(diagonal), fill_value)

        return self._update(
            "fill_diagonal_", (), lambda d: d.fill_diagonal_(fill_value, wrap), recorded
        )

    def fill_(self, value: Operand) -> Tensor:
        """Every element set to `value` (a number, or a tensor with one element)."""
        return self._update(
            "fill_",
            (value,),
            lambda d: d.fill_(unwrap(value)),
            lambda x: ops.Copy.apply(x, value, method="fill_"),
        )

    def copy_(self, source: Tensor | torch.Tensor | np.ndarray) -> Tensor:
        """This tensor's values replaced by `source`'s (broadcast, converted to this dtype)."""
        source = _operand(source, self)
        if isinstance(source, torch.Tensor):
            source = Tensor(source)
        return self._update(
            "copy_",
            (source,),
            lambda d: d.copy_(unwrap(source)),
            lambda x: ops.Copy.apply(x, source),
        )

    def __setitem__(self, key: Any, value: Operand) -> None:
        key, value = _raw_key(key), _operand(value, self)

        def kernel(data: torch.Tensor) -> None:
            data[key] = unwrap(value)

        compute = lambda x: ops.SetItem.apply(x, value, key)  # noqa: E731
        self._update("item assignment", (value,), kernel, compute, lambda data: data[key])

    # ---- random fills, in place (for initialising weights) ----------------------------------

    def normal_(
        self, mean: float = 0.0, std: float = 1.0, *, generator: torch.Generator | None = None
    ) -> Tensor:
        """Fill with samples from the normal distribution N(mean, std^2)."""
        return self._fill_at_random(
            "normal_", generator, lambda t: t.normal_(mean, std, generator=generator)
        )

    def uniform_(
        self, low: float = 0.0, high: float = 1.0, *, generator: torch.Generator | None = None
    ) -> Tensor:
        """Fill with samples from the uniform distribution on [low, high)."""
        return self._fill_at_random(
            "uniform_", generator, lambda t: t.uniform_(low, high, generator=generator)
        )

    def random_(
        self, *bounds: int, to: int | None = None, generator: torch.Generator | None = None
    ) -> Tensor:
        """Fill with whole numbers drawn uniformly from [from, to): x.random_(from, to),
        x.random_(to) (from 0), or x.random_() (0 up to the largest whole number the dtype holds
        exactly, as torch's)."""
        bounds = bounds if to is None else (*bounds, to)
        method = ("random_", "random_ to", "random_ from to")[len(bounds)]
        return self._fill_at_random(
            "random_", generator, lambda t: t.random_(*bounds, generator=generator), method
        )

    def exponential_(
        self, lambd: float = 1.0, *, generator: torch.Generator | None = None
    ) -> Tensor:
        """Fill with samples from the exponential distribution of rate lambd (mean 1 / lambd)."""
        return self._fill_at_random(
            "exponential_", generator, lambda t: t.exponential_(lambd, generator=generator)
        )

    def geometric_(self, p: float, *, generator: torch.Generator | None = None) -> Tensor:
        """Fill with the number of tries up to the first success, each a success with
        probability p (1, 2, 3, ...)."""
        return self._fill_at_random(
            "geometric_", generator, lambda t: t.geometric_(p, generator=generator)
        )

    def log_normal_(
        self, mean: float = 1.0, std: float = 2.0, *, generator: torch.Generator | None = None
    ) -> Tensor:
        """Fill with e^z for z drawn from N(mean, std^2) (torch's defaults: mean 1, std 2)."""
        return self._fill_at_random(
            "log_normal_", generator, lambda t: t.log_normal_(mean, std, generator=generator)
        )

    def cauchy_(
        self, median: float = 0.0, sigma: float = 1.0, *, generator: torch.Generator | None = None
    ) -> Tensor:
        """Fill with samples from the Cauchy distribution at median with scale sigma."""
        return self._fill_at_random(
            "cauchy_", generator, lambda t: t.cauchy_(median, sigma, generator=generator)
        )

    def bernoulli_(
        self, p: float | Tensor = 0.5, *, generator: torch.Generator | None = None
    ) -> Tensor:
        """Fill with 0s and 1s, each 1 with probability p: a number, or a tensor of probabilities
        that broadcasts to this one's shape. No gradient flows back through a draw (zeros for a
        tensor p that requires grad, as in torch)."""
        if not isinstance(p, Tensor):
            return self._fill_at_random(
                "bernoulli_", generator, lambda t: t.bernoulli_(p, generator=generator)
            )

        def draw(probabilities: torch.Tensor) -> torch.Tensor:  # (x's shape, from p's)
            at = random_device(generator, self.device)
            drawn = torch.empty_like(self._data, device=at)
            return drawn.bernoulli_(probabilities.to(at), generator=generator).to(self.device)

        return self._update(
            "bernoulli_",
            (p,),
            lambda d: d.copy_(draw(p._data)),
            lambda x: ops.Copy.apply(
                x,
                ops.Draw.apply(p, function=draw, name="bernoulli"),
                method="bernoulli_ with probabilities",
            ),
        )

    def _fill_at_random(
        self,
        what: str,
        generator: torch.Generator | None,
        fill: Callable[[torch.Tensor], Any],
        method: str | None = None,
    ) -> Tensor:
        """fill(data) in place (on the generator's device, see `random_device`). In the graph
        the values come in by a Copy, as zero_ and fill_ do: nothing flows back through them.
        `method` names the fill for the node's name (`what` by default)."""

        def kernel(data: torch.Tensor) -> None:
            at = random_device(generator, data.device)
            if at == data.device:
                fill(data)
            else:
                data.copy_(fill(torch.empty_like(data, device=at)))

        def compute(x: Tensor) -> Tensor:
            values = torch.empty_like(x._data)
            kernel(values)
            return ops.Copy.apply(x, Tensor(values), method=method or what)

        return self._update(what, (), kernel, compute)

    def bernoulli(
        self, p: float | None = None, *, generator: torch.Generator | None = None
    ) -> Tensor:
        """A 0 or 1 per element, 1 with probability x_i (or p for every element, when given),
        drawn with torch's generator: torch's numbers from the same seed. Nothing flows back
        through the draw: the gradient is zeros, as torch's (with p, backward refuses, as
        torch's does)."""
        at = random_device(generator, self.device)
        number = () if p is None else (p,)

        def draw(probabilities: torch.Tensor) -> torch.Tensor:
            drawn = probabilities.to(at).bernoulli(*number, generator=generator)
            return drawn.to(probabilities.device)

        if p is None:
            return ops.Draw.apply(self, function=draw, name="bernoulli")
        return ops.NoDerivative.apply(self, function=draw, name="bernoulli")

    def multinomial(
        self,
        num_samples: int,
        replacement: bool = False,
        *,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Draw indices with these (unnormalised) probabilities, per row: int64, no gradient.
        With a generator, drawn on its device (see `random_device`)."""
        probs = self._data.to(random_device(generator, self.device))
        picks = torch.multinomial(probs, num_samples, replacement, generator=generator)
        return Tensor(picks.to(self.device))


# torch's words, so that a search for them finds the same answers
NOT_A_LEAF = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad field "
    "to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you "
    "access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead."
)
TYPED_STORAGE_REMOVAL = (
    "TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be the "
    "only storage class. This should only matter to you if you are using storages directly.  To "
    "access UntypedStorage directly, use tensor.untyped_storage() instead of tensor.storage()"
)


def _operand(value: Any, like: Tensor) -> Any:
    """The other operand of an op with `like`, with numpy's types made torch's, as torch does:
    a numpy scalar counts as a Python number; an array as a tensor (a 0-d array too: it
    promotes dtypes like a 1-element one), on the CPU as numpy's memory is."""
    if type(value) is float or type(value) is int or isinstance(value, Tensor):
        return value  # the usual case, first
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        data = torch.as_tensor(value)
        if data.ndim == 0 and like.ndim > 0:
            data = data.reshape(1)  # torch promotes a 0-d array as if it had a dim
        return Tensor(data)
    return value


def _size_args(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept both x.view(2, 3) and x.view((2, 3)), as torch does."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, torch.Size)):
        return tuple(shape[0])
    return tuple(shape)


def _raw_key(key: Any) -> Any:
    """An index with any minigrad Tensors in it replaced by their torch tensors."""
    if isinstance(key, tuple):
        return tuple(unwrap(k) for k in key)
    return unwrap(key)


def _target_device(
    data: torch.Tensor, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> torch.device:
    """The device that data.to(*args, **kwargs) would give ('cuda' means the current GPU)."""
    for arg in (*args, kwargs.get("device")):
        if isinstance(arg, (str, torch.device, int)) and not isinstance(arg, bool):
            device = torch.device(arg) if not isinstance(arg, int) else torch.device("cuda", arg)
            if device.type == "cuda" and device.index is None:
                device = torch.device("cuda", torch.cuda.current_device())
            return device
        if isinstance(arg, (Tensor, torch.Tensor)):
            return arg.device
    return data.device


def _target_dtype(data: torch.Tensor, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.dtype:
    """The dtype that data.to(*args, **kwargs) would give."""
    for arg in (*args, kwargs.get("dtype")):
        if isinstance(arg, torch.dtype):
            return arg
        if isinstance(arg, (Tensor, torch.Tensor)):
            return arg.dtype
    return data.dtype


def _with_suffix(body: str, suffix: str) -> str:
    """torch's repr with one more `name=value` (its _add_suffixes): on the last line when it
    fits in torch's print width, else on a line of its own under "tensor("."""
    last_line = body[body.rfind("\n") + 1 :]
    used = len(last_line) + 2  # (torch's count: 2 more than the line's length)
    if used + len(suffix) + 2 > torch._tensor_str.PRINT_OPTS.linewidth:
        return f"{body},\n{' ' * len('tensor(')}{suffix})"
    return f"{body}, {suffix})"


def _tensor_html(tensor: Tensor, max_side: int = 8) -> str:
    """A caption (name, shape, dtype, device, the op that made it or requires_grad, .grad) and,
    up to 2-D, the numbers as a table of at most max_side x max_side; torch's print beyond."""
    facts = [shape_str(tensor.shape), str(tensor.dtype).removeprefix("torch."), str(tensor.device)]
    if tensor._ctx is not None:
        facts.append(f"made by {tensor._ctx.op_name}")
    elif tensor.requires_grad:
        facts.append("requires_grad (a leaf)")
    if tensor._grad is not None:
        facts.append(".grad set")
    caption = html.escape(" ".join(filter(None, ["Tensor", tensor.name])) + ": " + ", ".join(facts))
    values = tensor._data.detach()
    if values.ndim > 2:
        return f"<div><b>{caption}</b><pre>{html.escape(repr(values))}</pre></div>"
    matrix = values.reshape(1, -1) if values.ndim < 2 else values
    rows, columns = matrix.shape
    shown = matrix[:max_side, :max_side].tolist()  # only what is shown leaves the device
    cells = [[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row] for row in shown]
    if columns > max_side:
        cells = [row + ["…"] for row in cells]
    if rows > max_side:
        cells.append(["⋮"] * len(cells[0]))
    body = "".join(
        "<tr>" + "".join(f'<td style="text-align:right">{c}</td>' for c in row) + "</tr>"
        for row in cells
    )
    return f"<table><caption>{caption}</caption>{body}</table>"


class TorchOnly:
    """A name torch.Tensor has and minigrad's Tensor does not (`x.frexp`): reading it raises an
    AttributeError that says so and how to add it (errors.missing_attribute).

    One on the class for each such name, rather than a `Tensor.__getattr__`: Python 3.11 reads
    every attribute of an object whose class defines __getattr__ the slow, unspecialised way
    (`x._data` took 25 ns instead of 6.5, and the bookkeeping of every op reads dozens)."""

    def __init__(self, name: str):
        self.name = name
        self.__doc__ = f"torch.Tensor.{name} exists; minigrad's Tensor does not have it yet."

    def __get__(self, tensor: Tensor | None, owner: type | None = None) -> Any:
        raise missing_attribute("minigrad.Tensor", "torch.Tensor", self.name, obj=tensor)


def name_what_only_torch_has() -> None:
    """Put a TorchOnly on Tensor for each name of torch.Tensor's it lacks (dunders aside: Python
    looks those up on the class to ask whether an object speaks a protocol)."""
    for name in dir(torch.Tensor):
        if not (name.startswith("__") and name.endswith("__")) and not hasattr(Tensor, name):
            setattr(Tensor, name, TorchOnly(name))


name_what_only_torch_has()

from . import ops  # noqa: E402  (the ops import Function, which imports this module's Tensor)
from .autograd import engine, events, gradients, inplace  # noqa: E402


def _variance_args(
    dim: Dims | bool, unbiased: bool | None, correction: float | None
) -> tuple[Dims, float]:
    """torch's var/std arguments as (dim, correction): `x.var(False)` means unbiased=False, and
    unbiased=False is correction=0 (divide by n), the default correction=1 (divide by n - 1)."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    if correction is None:
        correction = 0 if unbiased is False else 1
    return dim, correction


# What a new Tensor's slots hold, but its data (see __setstate__).
_FRESH_SLOTS = {
    "_requires_grad": False,
    "_grad": None,
    "_ctx": None,
    "_output_nr": 0,
    "_retains_grad": False,
    "_view": None,
    "name": None,
    "_post_accumulate_grad_hooks": None,
    "_grad_hooks": None,
}

_INDEX_DTYPES = (torch.int64, torch.int32)  # what index_select takes as positions


def _scatter_source(what: str, like: Tensor, src: Any, value: Any, reduce: str | None) -> Any:
    """What scatter writes: the tensor src, or the number value (given either way, as torch
    takes them); torch's reduce= refused."""
    if reduce is not None:
        raise NotImplementedError(
            f"{what}(..., reduce={reduce!r}): minigrad's scatter only overwrites (torch's reduce= "
            "argument of scatter is deprecated, and has no gradient). To add the values up, "
            "use scatter_add(dim, index, src); for other reductions, torch's scatter_reduce."
        )
    if (src is None) == (value is None):
        raise TypeError(
            f"{what}(dim, index, src) takes the values to write: a tensor src or a number "
            f"value, one of the two (got {'neither' if src is None else 'both'})."
        )
    return _operand(src if src is not None else value, like)


def _along(dim: int, ndim: int, part: Any) -> tuple[Any, ...]:
    """The key that takes `part` (an index, a slice, an index tensor) along dim and everything
    elsewhere."""
    return (slice(None),) * (dim % max(ndim, 1)) + (part,)


_RADIANS_PER_DEGREE = math.pi / 180
_DEGREES_PER_RADIAN = 180 / math.pi


def _tensor_operand(name: str, value: Any, like: Tensor, argument: str = "other") -> Tensor:
    """The other operand of an op that torch takes only as a tensor (atan2, hypot...)."""
    value = _operand(value, like)
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{name}'s {argument} must be a tensor, as in torch; got {type(value).__name__}. For "
            f"a number, make a tensor of it: x.{name}(minigrad.full_like(x, {value!r}))."
        )
    return value


def _floats_only(name: str, *tensors: Tensor) -> None:
    """torch has no integer kernel for these (hypot, logaddexp): say so, and how to convert."""
    dtype = torch.result_type(*(t._data for t in tensors))
    if not dtype.is_floating_point:
        raise NotImplementedError(
            f"{name} takes floating-point tensors, as in torch; these give {dtype}. Convert "
            "them first: x.float() (or .double())."
        )


def _split_points(name: str, cut: Any) -> int | list[int]:
    """tensor_split's indices_or_sections as a number of sections or a list of indices; a tensor
    of indices (int64: 0-d for sections, 1-d for indices) read as torch reads it."""
    if isinstance(cut, (Tensor, torch.Tensor)):
        raw = unwrap(cut)
        if raw.dtype != torch.int64 or raw.ndim > 1:
            raise RuntimeError(
                f"{name}: a tensor of indices_or_sections must be int64 and 0-d (the number of "
                f"sections) or 1-d (the indices), got {raw.dtype} of shape {shape_str(raw.shape)}."
            )
        return raw.item() if raw.ndim == 0 else raw.tolist()
    if isinstance(cut, int) and not isinstance(cut, bool):
        return cut
    if isinstance(cut, (list, tuple)) and all(
        isinstance(i, int) and not isinstance(i, bool) for i in cut
    ):
        return list(cut)
    raise TypeError(
        f"{name} takes a number of sections (an int) or indices to cut at (a list of ints, or an "
        f"int64 tensor), got {cut!r}."
    )


def _check_diff_extra(name: str, extra: Any, x: Tensor, dim: int) -> None:
    """diff's prepend or append: a tensor of x's shape but along dim."""
    if not isinstance(extra, Tensor):
        raise TypeError(
            f"diff's {name} must be a tensor, got {type(extra).__name__}. For one number, make "
            f"a tensor of x's dims: minigrad.full_like(x.narrow(dim, 0, 1), {extra!r})."
        )
    at = dim % x.ndim
    if extra.ndim != x.ndim or any(
        a != b for d, (a, b) in enumerate(zip(extra.shape, x.shape)) if d != at
    ):
        raise ShapeError(
            f"diff(dim={dim}): {name} has shape {shape_str(extra.shape)}, but it must have the "
            f"shape of the input {shape_str(x.shape)} in every dim but dim {dim}, where it is "
            "joined to it."
        )


def _check_ndims(name: str, *operands: tuple[Tensor, int]) -> None:
    shapes = " and ".join(shape_str(t.shape) for t, _ in operands)
    for t, ndim in operands:
        if t.ndim != ndim:
            wanted = " and ".join(f"{n}-D" for _, n in operands)
            raise ValueError(
                f"{name} takes {wanted} operands, got shapes {shapes}. "
                "For other shapes use matmul (@), which broadcasts batch dims."
            )


# The memory formats that lay out tensors of one rank only, and the dims they name.
_CHANNELS_LAST = {
    torch.channels_last: (4, "N, C, H, W", "a batch of images"),
    torch.channels_last_3d: (5, "N, C, D, H, W", "a batch of volumes"),
}


def check_memory_format(shape: torch.Size, memory_format: Any, call: str) -> None:
    """torch's rule for memory_format=, in words: channels_last lays out 4-d tensors only, and
    channels_last_3d 5-d ones (torch says "required rank 4 tensor")."""
    if memory_format not in _CHANNELS_LAST:  # (contiguous_format, preserve_format: any rank)
        return
    rank, dims, what = _CHANNELS_LAST[memory_format]
    if len(shape) != rank:
        raise ShapeError(
            f"{call}(memory_format={memory_format}) lays out {rank}-d tensors ({dims}: {what}, "
            f"each position's channels side by side in memory), but this tensor has shape "
            f"{shape_str(shape)}. Leave memory_format out for it, or reshape it to {rank} dims "
            "first."
        )


def random_device(generator: torch.Generator | None, device: torch.device) -> torch.device:
    """Where to draw random numbers for a tensor that goes to `device`.

    torch draws with a generator only on the generator's own device. minigrad's default device
    is CUDA where there is a GPU (torch's is the CPU), so a CPU generator draws on the CPU and
    the numbers are then moved: the same numbers as torch on the CPU, from the same seed.
    """
    return device if generator is None else generator.device


def _factory(options: dict[str, Any]) -> dict[str, Any]:
    """The options of torch's new_* methods (dtype, device...), less requires_grad."""
    return {k: v for k, v in options.items() if k != "requires_grad"}


def _grad(options: dict[str, Any]) -> dict[str, Any]:
    return {"requires_grad": options.get("requires_grad", False)}


def _legacy_constructor(args: tuple[Any, ...], device: Any) -> torch.Tensor:
    """torch.Tensor(...) with data or sizes: float32 (torch's default dtype), on `device` or
    minigrad's default device."""
    target = as_device(device) if device is not None else default_device()
    try:
        values = torch.Tensor(*(unwrap(a) for a in args))
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(
            f"Tensor(...) takes data (Tensor([1.0, 2.0]), a NumPy array), sizes (Tensor(2, 3)) "
            f"or a torch tensor to wrap, as torch.Tensor does; got "
            f"{', '.join(type(a).__name__ for a in args)} ({error}). For one number, or to keep "
            "the data's own dtype, use minigrad.tensor(data)."
        ) from error
    return values.to(target)
