"""Making tensors: from data (`tensor`), at random (`randn`, `randperm`), or filled (`zeros`).

Names and arguments follow torch's, so fastbook's code runs with `import minigrad as torch`.
New tensors go to the default device (`minigrad.devices`) unless `device=` says otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from . import ops
from .devices import as_device, default_device
from .tensor import Tensor, _size_args

DeviceLike = str | torch.device | None


def _device(device: DeviceLike) -> torch.device:
    return default_device() if device is None else as_device(device)


def tensor(
    data: Any,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """A new tensor holding a copy of `data`: a number, a (nested) list, a NumPy array, a PIL
    image, a torch tensor or a minigrad Tensor. The dtype follows the data, as in torch.tensor:
    float32 for Python floats, int64 for ints, float64 kept from a float64 array."""
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, torch.Tensor):
        values = data.detach().clone() if dtype is None else data.detach().to(dtype, copy=True)
    else:
        if not isinstance(data, (int, float, bool, list, tuple, np.ndarray, np.generic)):
            data = np.asarray(data)  # e.g. a PIL image
        try:
            values = torch.tensor(data, dtype=dtype)
        except (TypeError, ValueError, RuntimeError) as error:
            raise TypeError(
                f"minigrad.tensor cannot build a tensor from {type(data).__name__}: {error}. "
                "Give it numbers, nested lists of equal lengths, or a NumPy array; to join "
                "tensors use minigrad.stack or minigrad.cat."
            ) from error
    return Tensor(values.to(_device(device)), requires_grad=requires_grad)


def as_tensor(data: Any, dtype: torch.dtype | None = None, device: DeviceLike = None) -> Tensor:
    """Like `tensor`, but returns a Tensor as it is when no conversion is asked for."""
    if isinstance(data, Tensor) and dtype in (None, data.dtype) and device is None:
        return data
    return tensor(data, dtype=dtype, device=device)


def _filled(
    make: Any, size: Sequence[Any], dtype: Any, device: DeviceLike, requires_grad: bool
) -> Tensor:
    data = make(_size_args(tuple(size)), dtype=dtype, device=_device(device))
    return Tensor(data, requires_grad=requires_grad)


def randn(
    *size: Any,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Samples from the standard normal distribution: randn(2, 3) or randn((2, 3))."""
    return _filled(torch.randn, size, dtype, device, requires_grad)


def rand(
    *size: Any,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Samples from the uniform distribution on [0, 1)."""
    return _filled(torch.rand, size, dtype, device, requires_grad)


def zeros(
    *size: Any,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    return _filled(torch.zeros, size, dtype, device, requires_grad)


def ones(
    *size: Any,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    return _filled(torch.ones, size, dtype, device, requires_grad)


def zeros_like(x: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    return Tensor(torch.zeros_like(x._data, dtype=dtype))


def ones_like(x: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    return Tensor(torch.ones_like(x._data, dtype=dtype))


def arange(*args: Any, dtype: torch.dtype | None = None, device: DeviceLike = None) -> Tensor:
    return Tensor(torch.arange(*args, dtype=dtype, device=_device(device)))


def randperm(n: int, device: DeviceLike = None) -> Tensor:
    """A random permutation of 0..n-1 (drawn on the CPU, so a seed gives the same on any device)."""
    return Tensor(torch.randperm(n).to(_device(device)))


def manual_seed(seed: int) -> torch.Generator:
    """Seed torch's generators (CPU and every GPU), so random tensors repeat run after run."""
    return torch.manual_seed(seed)


def where(condition: Tensor, a: Tensor | float, b: Tensor | float) -> Tensor:
    """a where condition is true, b elsewhere (elementwise, broadcasting)."""
    return ops.Where.apply(condition, a, b)


def maximum(a: Tensor, b: Tensor) -> Tensor:
    """The larger of a and b, element by element (ties split the gradient, as in torch)."""
    return a.maximum(b)


def minimum(a: Tensor, b: Tensor) -> Tensor:
    """The smaller of a and b, element by element."""
    return a.minimum(b)


def pow(base: Tensor | float, exponent: Tensor | float) -> Tensor:  # noqa: A001 (torch's name)
    """base ** exponent, either of them a tensor or a number (torch.pow)."""
    return base**exponent


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    return ops.Stack.apply(*tensors, dim=dim)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    return ops.Cat.apply(*tensors, dim=dim)


def matmul(a: Tensor, b: Tensor) -> Tensor:
    return ops.MatMul.apply(a, b)


def exp(x: Tensor) -> Tensor:
    return x.exp()


def log(x: Tensor) -> Tensor:
    return x.log()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def relu(x: Tensor) -> Tensor:
    return x.relu()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def logsumexp(x: Tensor, dim: int, keepdim: bool = False) -> Tensor:
    return x.logsumexp(dim, keepdim)


def log_softmax(x: Tensor, dim: int) -> Tensor:
    return x.log_softmax(dim)
