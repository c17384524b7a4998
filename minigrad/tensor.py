"""`Tensor`: a torch tensor plus the bookkeeping that backpropagation needs.

A Tensor wraps exactly one torch tensor (`_data`), which does the maths and never has torch's own
`requires_grad` set. What makes it differentiable is minigrad's: `requires_grad`, `grad`, and
`_ctx`, the graph node of the op that made it (None for a leaf: a tensor the user made).

Every operator and method here is a one-liner that calls an op from `minigrad.ops`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch

from .autograd import engine
from .autograd.grad_mode import is_grad_enabled
from .devices import as_device
from .errors import GradientError, shape_str

if TYPE_CHECKING:
    from .autograd.function import Context

Scalar = int | float | bool
Operand = "Tensor | Scalar"


class MaxResult(NamedTuple):
    """What `x.max(dim)` returns, as in torch: the values and the index of each maximum."""

    values: Tensor
    indices: Tensor


def _raw(x: Any) -> Any:
    """The torch tensor inside a minigrad Tensor; anything else as it is."""
    return x._data if isinstance(x, Tensor) else x


class Tensor:
    __slots__ = ("_data", "requires_grad", "grad", "_ctx", "_retains_grad", "name", "__weakref__")

    _data: torch.Tensor
    requires_grad: bool
    grad: Tensor | None
    _ctx: Context | None
    _retains_grad: bool
    name: str | None  # optional, for pictures and traces of the graph ("weights", "bias")

    def __init__(
        self, data: torch.Tensor, requires_grad: bool = False, name: str | None = None
    ) -> None:
        """Wrap a torch tensor without copying it. To build one from lists, numbers or arrays,
        use `minigrad.tensor(...)`."""
        if not isinstance(data, torch.Tensor):
            raise TypeError(
                f"Tensor(...) wraps a torch.Tensor, got {type(data).__name__}. "
                "Use minigrad.tensor(data) to build a tensor from lists, numbers or arrays."
            )
        if data.requires_grad:  # minigrad computes gradients itself: torch's autograd stays out
            data = data.detach()
        self._data = data
        self.grad = None
        self._ctx = None
        self._retains_grad = False
        self.requires_grad = False
        self.name = name
        if requires_grad:
            self.requires_grad_()

    @classmethod
    def _from_op(cls, data: torch.Tensor, ctx: Context | None) -> Tensor:
        """The output of an op: a node of the graph if `ctx` is given, else a plain value."""
        out = cls.__new__(cls)
        out._data = data
        out.grad = None
        out._ctx = ctx
        out._retains_grad = False
        out.requires_grad = ctx is not None
        out.name = None
        return out

    # ---- the graph ---------------------------------------------------------------------------

    @property
    def is_leaf(self) -> bool:
        """Made by the user, not by an op. Only leaves (and `retain_grad()` ones) keep `.grad`."""
        return self._ctx is None

    @property
    def grad_fn(self) -> Context | None:
        """The graph node of the op that made this tensor (torch's name for it)."""
        return self._ctx

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Ask for this leaf's gradient in backward(). Returns self, so it chains."""
        if requires_grad and not (self._data.is_floating_point() or self._data.is_complex()):
            raise GradientError(
                f"only floating-point tensors can require gradients, but this one has dtype "
                f"{self._data.dtype}: a gradient is a rate of change, and integers or bools "
                "cannot change by a small step. Convert first: x.float().requires_grad_()."
            )
        if not requires_grad and self._ctx is not None:
            raise GradientError(
                "requires_grad_(False) only works on leaves; this tensor was made by "
                f"{self._ctx.name}. Use .detach() to get a copy outside the graph."
            )
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> Tensor:
        """Keep `.grad` on this non-leaf too (backward normally keeps it only on leaves)."""
        if not self.requires_grad:
            raise GradientError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = True
        return self

    def detach(self) -> Tensor:
        """The same values (shared storage) outside the graph: no gradient flows through it."""
        return Tensor(self._data)

    def _accumulate_grad(self, grad: torch.Tensor) -> None:
        """Add a gradient into `.grad`: gradients add up over uses and over backward() calls.

        The first time, store a copy: `grad` may be shared with other tensors (`x + y` gives both
        the same gradient) and `.grad` must be this tensor's own, to be changed in place safely.
        """
        if self.grad is None:
            self.grad = Tensor(grad.clone())
        else:
            self.grad._data += grad

    def backward(
        self,
        gradient: Tensor | torch.Tensor | None = None,
        retain_graph: bool = False,
        trace: Any = False,
    ) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad, into `leaf.grad`.

        `gradient` is dLoss/d(self); leave it out when self is a scalar (it is then 1).
        `trace=True` prints each step of the backward pass (see `minigrad.trace`).
        """
        if not self.requires_grad:
            raise GradientError(
                "backward() on a tensor that does not require grad: none of the tensors it was "
                "computed from had requires_grad=True (or it was computed under no_grad()). Call "
                ".requires_grad_() on the parameters before the forward pass."
            )
        if gradient is None:
            if self._data.numel() != 1:
                raise GradientError(
                    f"backward() on a tensor of shape {shape_str(self.shape)} needs a gradient: "
                    "the implicit one, 1, exists only for a single number. Reduce it first "
                    "(loss.mean().backward()), or pass dLoss/dTensor of the same shape: "
                    "y.backward(minigrad.ones_like(y))."
                )
            grad = torch.ones_like(self._data)
        else:
            grad = _raw(gradient)
            if not isinstance(grad, torch.Tensor) or grad.shape != self._data.shape:
                is_tensor = isinstance(grad, torch.Tensor)
                got = f"shape {shape_str(grad.shape)}" if is_tensor else type(grad).__name__
                raise GradientError(
                    f"backward(gradient) needs a gradient of the tensor's shape "
                    f"{shape_str(self.shape)}, got {got}. It is dLoss/dTensor: one number per "
                    "element of the tensor."
                )
            if grad.device != self._data.device:
                grad = grad.to(self._data.device)
        observer = engine.active_observer  # set inside `with minigrad.trace.tracing():`
        if trace:
            from .trace import BackwardTrace

            observer = trace if not isinstance(trace, bool) else BackwardTrace()
        engine.backward(self, grad, retain_graph=retain_graph, observer=observer)

    # ---- what a tensor is --------------------------------------------------------------------

    @property
    def data(self) -> Tensor:
        """The values outside the graph, sharing storage: `p.data -= lr * p.grad` updates p."""
        return Tensor(self._data)

    @data.setter
    def data(self, value: Tensor | torch.Tensor) -> None:
        self._data = _raw(value)

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
        if self._data.device.type != "cpu":
            raise TypeError(
                f"numpy() needs a tensor on the CPU; this one is on {self.device}. "
                "Copy it over first: x.cpu().numpy()."
            )
        return self._data.numpy()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = self._data.cpu().numpy()
        return array if dtype is None else array.astype(dtype)

    def __float__(self) -> float:
        return float(self._data)

    def __int__(self) -> int:
        return int(self._data)

    def __index__(self) -> int:
        return self._data.__index__()

    def __bool__(self) -> bool:
        return bool(self._data)

    def __format__(self, spec: str) -> str:
        if self._data.numel() == 1 and spec:
            return format(self._data.item(), spec)
        return format(repr(self), spec)

    def __repr__(self) -> str:
        body = repr(self._data)[:-1]  # torch's "tensor([...])" less its closing parenthesis
        if self._ctx is not None:
            return f"{body}, op={self._ctx.name})"
        if self.requires_grad:
            return f"{body}, requires_grad=True)"
        return f"{body})"

    __hash__ = object.__hash__  # identity, never value: two equal tensors are two nodes

    # ---- devices and dtypes --------------------------------------------------------------

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """Another dtype or device, as torch's `.to(...)`. Differentiable for floating dtypes."""
        for arg in (*args, kwargs.get("device")):
            if isinstance(arg, (str, torch.device)):
                as_device(arg)  # a clear error for a device that is not here (cuda without a GPU)
        out_dtype = _target_dtype(self._data, args, kwargs)
        if not out_dtype.is_floating_point:
            return Tensor(self._data.to(*args, **kwargs))  # integers carry no gradient
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

    def type(self, dtype: torch.dtype) -> Tensor:
        return self.to(dtype)

    def clone(self) -> Tensor:
        return ops.Clone.apply(self)

    def contiguous(self) -> Tensor:
        return self if self._data.is_contiguous() else ops.Clone.apply(self)

    # ---- arithmetic (Python numbers are welcome on either side) ---------------------------

    def __add__(self, other: Operand) -> Tensor:
        return ops.Add.apply(self, other)

    def __radd__(self, other: Operand) -> Tensor:
        return ops.Add.apply(other, self)

    def __sub__(self, other: Operand) -> Tensor:
        return ops.Sub.apply(self, other)

    def __rsub__(self, other: Operand) -> Tensor:
        return ops.Sub.apply(other, self)

    def __mul__(self, other: Operand) -> Tensor:
        return ops.Mul.apply(self, other)

    def __rmul__(self, other: Operand) -> Tensor:
        return ops.Mul.apply(other, self)

    def __truediv__(self, other: Operand) -> Tensor:
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other: Operand) -> Tensor:
        return ops.Div.apply(other, self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __pow__(self, exponent: Scalar) -> Tensor:
        return ops.Pow.apply(self, exponent)

    def __rpow__(self, base: Scalar) -> Tensor:
        return ops.Exp.apply(self * float(np.log(base)))  # b**x = e**(x ln b)

    def __matmul__(self, other: Tensor) -> Tensor:
        return ops.MatMul.apply(self, other)

    def __rmatmul__(self, other: Tensor) -> Tensor:
        return ops.MatMul.apply(other, self)

    def add(self, other: Operand) -> Tensor:
        return self + other

    def sub(self, other: Operand) -> Tensor:
        return self - other

    def mul(self, other: Operand) -> Tensor:
        return self * other

    def div(self, other: Operand) -> Tensor:
        return self / other

    def neg(self) -> Tensor:
        return -self

    def pow(self, exponent: Scalar) -> Tensor:
        return self**exponent

    def matmul(self, other: Tensor) -> Tensor:
        return self @ other

    # ---- comparisons: bool tensors outside the graph --------------------------------------

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return Tensor(self._data == _raw(other))

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return Tensor(self._data != _raw(other))

    def __lt__(self, other: Operand) -> Tensor:
        return Tensor(self._data < _raw(other))

    def __le__(self, other: Operand) -> Tensor:
        return Tensor(self._data <= _raw(other))

    def __gt__(self, other: Operand) -> Tensor:
        return Tensor(self._data > _raw(other))

    def __ge__(self, other: Operand) -> Tensor:
        return Tensor(self._data >= _raw(other))

    def __invert__(self) -> Tensor:
        return Tensor(~self._data)

    def __and__(self, other: Operand) -> Tensor:
        return Tensor(self._data & _raw(other))

    def __or__(self, other: Operand) -> Tensor:
        return Tensor(self._data | _raw(other))

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return Tensor(self._data.argmax(dim=dim, keepdim=keepdim))

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return Tensor(self._data.argmin(dim=dim, keepdim=keepdim))

    # ---- elementwise functions ------------------------------------------------------------

    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def sqrt(self) -> Tensor:
        return self**0.5

    def square(self) -> Tensor:
        return self**2

    def clamp_min(self, minimum: float) -> Tensor:
        return ops.ClampMin.apply(self, minimum)

    def __abs__(self) -> Tensor:
        return self.abs()

    # ---- reductions ------------------------------------------------------------------------

    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return ops.Sum.apply(self, dim=dim, keepdim=keepdim)

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return ops.Mean.apply(self, dim=dim, keepdim=keepdim)

    def max(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """`x.max()`: the largest value. `x.max(dim)`: (values, indices) along dim, as in torch."""
        if dim is None:
            return ops.Max.apply(self)
        indices = self._data.argmax(dim=dim, keepdim=keepdim)
        values = ops.MaxAlongDim.apply(self, indices, dim=dim, keepdim=keepdim)
        return MaxResult(values, Tensor(indices))

    def logsumexp(self, dim: int | Sequence[int], keepdim: bool = False) -> Tensor:
        return ops.LogSumExp.apply(self, dim=dim, keepdim=keepdim)

    def log_softmax(self, dim: int) -> Tensor:
        return ops.LogSoftmax.apply(self, dim=dim)

    def softmax(self, dim: int) -> Tensor:
        return self.log_softmax(dim).exp()

    # ---- shapes ----------------------------------------------------------------------------

    def reshape(self, *shape: Any) -> Tensor:
        return ops.Reshape.apply(self, shape=_size_args(shape))

    def view(self, *shape: Any) -> Tensor:
        """A reshape (minigrad copies when torch's view would refuse a non-contiguous tensor)."""
        return ops.Reshape.apply(self, shape=_size_args(shape))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        shape = self._data.flatten(start_dim, end_dim).shape
        return self.reshape(shape)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return ops.Transpose.apply(self, dim0=dim0, dim1=dim1)

    def permute(self, *dims: Any) -> Tensor:
        return ops.Permute.apply(self, dims=_size_args(dims))

    @property
    def T(self) -> Tensor:
        """The transpose of a matrix (a 0-d or 1-d tensor is its own transpose)."""
        if self._data.ndim < 2:
            return self
        if self._data.ndim > 2:
            raise ValueError(
                f".T is for matrices; this tensor has shape {shape_str(self.shape)}. Use "
                ".mT to transpose the last two dims, or .transpose(dim0, dim1)."
            )
        return self.transpose(0, 1)

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def unsqueeze(self, dim: int) -> Tensor:
        return ops.Unsqueeze.apply(self, dim=dim)

    def squeeze(self, dim: int | None = None) -> Tensor:
        return ops.Squeeze.apply(self, dim=dim)

    def expand(self, *shape: Any) -> Tensor:
        return ops.Expand.apply(self, shape=_size_args(shape))

    def __getitem__(self, key: Any) -> Tensor:
        return ops.Index.apply(self, key=_raw_key(key))

    # ---- in-place updates: only outside the graph -------------------------------------------

    def _check_inplace(self, op: str) -> None:
        if self.requires_grad and is_grad_enabled():
            raise GradientError(
                f"in-place {op} on a tensor that requires grad would change a value the graph "
                "depends on. Update parameters inside `with minigrad.no_grad():`, or through "
                "p.data (p.data -= lr * p.grad); elsewhere write x = x + y instead of x += y."
            )

    def __iadd__(self, other: Operand) -> Tensor:
        self._check_inplace("+=")
        self._data += _raw(other)
        return self

    def __isub__(self, other: Operand) -> Tensor:
        self._check_inplace("-=")
        self._data -= _raw(other)
        return self

    def __imul__(self, other: Operand) -> Tensor:
        self._check_inplace("*=")
        self._data *= _raw(other)
        return self

    def __itruediv__(self, other: Operand) -> Tensor:
        self._check_inplace("/=")
        self._data /= _raw(other)
        return self

    def add_(self, other: Operand, alpha: float = 1) -> Tensor:
        self._check_inplace("add_")
        self._data.add_(_raw(other), alpha=alpha)
        return self

    def sub_(self, other: Operand, alpha: float = 1) -> Tensor:
        self._check_inplace("sub_")
        self._data.sub_(_raw(other), alpha=alpha)
        return self

    def mul_(self, other: Operand) -> Tensor:
        self._check_inplace("mul_")
        self._data.mul_(_raw(other))
        return self

    def zero_(self) -> Tensor:
        self._check_inplace("zero_")
        self._data.zero_()
        return self

    def fill_(self, value: Scalar) -> Tensor:
        self._check_inplace("fill_")
        self._data.fill_(value)
        return self

    def copy_(self, source: Tensor | torch.Tensor) -> Tensor:
        self._check_inplace("copy_")
        self._data.copy_(_raw(source))
        return self

    def __setitem__(self, key: Any, value: Operand) -> None:
        self._check_inplace("item assignment")
        self._data[_raw_key(key)] = _raw(value)


def _size_args(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept both x.view(2, 3) and x.view((2, 3)), as torch does."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, torch.Size)):
        return tuple(shape[0])
    return tuple(shape)


def _raw_key(key: Any) -> Any:
    """An index with any minigrad Tensors in it replaced by their torch tensors."""
    if isinstance(key, tuple):
        return tuple(_raw(k) for k in key)
    return _raw(key)


def _target_dtype(data: torch.Tensor, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.dtype:
    """The dtype that data.to(*args, **kwargs) would give."""
    for arg in (*args, kwargs.get("dtype")):
        if isinstance(arg, torch.dtype):
            return arg
        if isinstance(arg, (Tensor, torch.Tensor)):
            return arg.dtype
    return data.dtype


from . import ops  # noqa: E402  (the ops import Function, which imports this module's Tensor)
