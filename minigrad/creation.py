"""Making tensors: from data (`tensor`, `from_numpy`), at random (`randn`, `randint`,
`multinomial`), filled (`zeros`, `full`, `eye`), in ranges (`arange`, `linspace`), or from other
tensors (`zeros_like`, `cat`, `stack`, `where`).

Names, arguments and defaults follow torch's, so code written for torch runs with
`import minigrad as torch`. New tensors go to the default device (`minigrad.devices`) unless
`device=` says otherwise; the `_like` functions follow their input's dtype and device, as in
torch. Random functions take a `generator=` (a `minigrad.Generator`, which is torch's).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from . import ops
from .devices import as_device, default_device
from .errors import warn_at_user_line
from .tensor import Tensor, _size_args, check_memory_format, numpy_names, random_device, unwrap

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
    if isinstance(data, Tensor):  # (a torch tensor is foreign data here, as a NumPy array is)
        warn_at_user_line(  # as torch warns: the call copies, and leaves the graph
            "To copy construct from a tensor, it is recommended to use sourceTensor.detach()"
            ".clone() or sourceTensor.detach().clone().requires_grad_(True), rather than "
            "torch.tensor(sourceTensor)."
        )
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
    """Like `tensor`, but with no copy where none is needed, as torch's: a Tensor comes back as
    it is (converted with `.to` when another dtype or device is asked for), and a NumPy array
    or torch tensor that already has the dtype and device shares its memory with the result."""
    if isinstance(data, Tensor):
        asked = {"dtype": dtype, "device": device}
        return data.to(**{k: v for k, v in asked.items() if v is not None})
    if isinstance(data, torch.Tensor):  # (on its own device unless told: torch's rule)
        moved = data.detach() if device is None else data.detach().to(as_device(device))
        return Tensor(torch.as_tensor(moved, dtype=dtype))
    if isinstance(data, np.ndarray):
        return Tensor(torch.as_tensor(data, dtype=dtype, device=_device(device)))
    return tensor(data, dtype=dtype, device=device)


def asarray(
    obj: Any,
    *,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    copy: bool | None = None,
    requires_grad: bool | None = None,
) -> Tensor:
    """obj as a Tensor, as torch.asarray: sharing memory where it can (as as_tensor: a Tensor
    comes back as it is), a copy with copy=True; copy=False refuses where a copy would be
    needed. requires_grad: as obj's unless given."""
    if copy is False:
        torch.asarray(unwrap(obj), dtype=dtype, device=device, copy=False)  # (torch's refusal)
    out = as_tensor(obj, dtype=dtype, device=device)
    if copy:
        out = Tensor(out._data.clone())
    if requires_grad is None or requires_grad == out.requires_grad:
        return out
    return out.requires_grad_() if requires_grad else out.detach()


def _filled(
    make: Any, size: Sequence[Any], dtype: Any, device: DeviceLike, requires_grad: bool
) -> Tensor:
    data = make(_size_args(tuple(size)), dtype=dtype, device=_device(device))
    return Tensor(data, requires_grad=requires_grad)


def _random(
    make: Any,
    size: Sequence[Any],
    generator: torch.Generator | None,
    dtype: Any,
    device: DeviceLike,
    requires_grad: bool,
    **options: Any,
) -> Tensor:
    """make(size, ...) drawn with `generator` on its device, then moved to the tensor's device
    (see `tensor.random_device`: a CPU generator gives the numbers torch gives on the CPU)."""
    target = _device(device)
    at = random_device(generator, target)
    data = make(_size_args(tuple(size)), generator=generator, dtype=dtype, device=at, **options)
    return Tensor(data.to(target), requires_grad=requires_grad)


def randn(
    *sizes: Any,
    size: Sequence[int] | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Samples from the standard normal distribution: randn(2, 3), randn((2, 3)) or
    randn(size=(2, 3))."""
    return _random(torch.randn, _size(sizes, size), generator, dtype, device, requires_grad)


def rand(
    *sizes: Any,
    size: Sequence[int] | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Samples from the uniform distribution on [0, 1)."""
    return _random(torch.rand, _size(sizes, size), generator, dtype, device, requires_grad)


def randint(
    *args: Any,
    low: int | None = None,
    high: int | None = None,
    size: Sequence[int] | None = None,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Random integers in [low, high): randint(high, size) or randint(low, high, size), low 0
    by default; int64 unless `dtype` says otherwise."""
    positional = list(args)
    size = positional.pop() if size is None and positional else size
    high = positional.pop() if high is None and positional else high
    low = (positional.pop() if positional else 0) if low is None else low
    if not isinstance(size, (tuple, list, torch.Size)) or high is None or positional:
        raise TypeError(
            f"randint takes (high, size) or (low, high, size), the size a tuple, as torch does: "
            f"randint(10, (3,)), randint(0, 10, size=(3,)); got {args!r} and "
            f"low={low!r}, high={high!r}, size={size!r}."
        )

    def draw(shape: tuple[int, ...], **options: Any) -> torch.Tensor:
        return torch.randint(low, high, shape, **options)

    return _random(draw, size, generator, dtype, device, requires_grad)


def randperm(
    n: int,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.int64,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """A random permutation of 0..n-1, drawn on the CPU (or the generator's device), so a seed
    gives the same permutation on any device."""
    at = torch.device("cpu") if generator is None else generator.device
    data = torch.randperm(n, generator=generator, dtype=dtype, device=at)
    return Tensor(data.to(_device(device)), requires_grad=requires_grad)


def multinomial(
    input: Tensor,  # noqa: A002 (torch's name)
    num_samples: int,
    replacement: bool = False,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Indices drawn with the probabilities in each row of input (see Tensor.multinomial)."""
    return input.multinomial(num_samples, replacement, generator=generator)


def bernoulli(
    input: Tensor,  # noqa: A002 (torch's name)
    p: float | None = None,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """0s and 1s, each 1 with probability input_i (or p): see Tensor.bernoulli."""
    return input.bernoulli(p, generator=generator)


def poisson(input: Tensor, generator: torch.Generator | None = None) -> Tensor:  # noqa: A002
    """A count per element drawn from the Poisson distribution with rate input_i, with torch's
    generator. Nothing flows back through the draw: the gradient is zeros, as torch's."""
    at = random_device(generator, input.device)

    def draw(rates: torch.Tensor) -> torch.Tensor:
        return torch.poisson(rates.to(at), generator=generator).to(rates.device)

    return ops.Draw.apply(input, function=draw, name="poisson")


def normal(
    mean: float,
    std: float,
    size: Sequence[int],
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Samples from N(mean, std^2) of the given size (numbers for mean and std)."""
    target = _device(device)
    at = random_device(generator, target)
    data = torch.normal(mean, std, tuple(size), generator=generator, dtype=dtype, device=at)
    return Tensor(data.to(target), requires_grad=requires_grad)


def _like(
    make_like: Any,
    input: Tensor,  # noqa: A002
    dtype: torch.dtype | None,
    device: DeviceLike,
    requires_grad: bool,
    memory_format: torch.memory_format,
    **options: Any,
) -> Tensor:
    """make_like(input) (torch's zeros_like...) with input's dtype, device and layout in memory
    unless told otherwise, as torch: a channels-last batch gives a channels-last one."""
    check_memory_format(input.shape, memory_format, make_like.__name__)
    data = make_like(
        unwrap(input),
        dtype=dtype,
        device=None if device is None else as_device(device),
        memory_format=memory_format,
        **options,
    )
    return Tensor(data, requires_grad=requires_grad)


def _random_like(
    fill: Callable[[torch.Tensor, torch.Generator | None], Any],
    input: Tensor,  # noqa: A002
    generator: torch.Generator | None,
    dtype: torch.dtype | None,
    device: DeviceLike,
    requires_grad: bool,
    memory_format: torch.memory_format,
    name: str,
) -> Tensor:
    """A tensor laid out as input (see _like), filled by `fill(data, generator)` in the order
    its elements lie in memory, as torch's rand_like (empty_like, then uniform_), drawn where
    `random_device` says and then moved."""
    check_memory_format(input.shape, memory_format, name)
    target = input.device if device is None else as_device(device)
    data = torch.empty_like(
        unwrap(input),
        dtype=dtype,
        device=random_device(generator, target),
        memory_format=memory_format,
    )
    fill(data, generator)
    return Tensor(data.to(target), requires_grad=requires_grad)


def zeros(
    *sizes: Any,
    size: Sequence[int] | None = None,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    return _filled(torch.zeros, _size(sizes, size), dtype, device, requires_grad)


def ones(
    *sizes: Any,
    size: Sequence[int] | None = None,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    return _filled(torch.ones, _size(sizes, size), dtype, device, requires_grad)


def empty(
    *sizes: Any,
    size: Sequence[int] | None = None,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> Tensor:
    """A tensor of that size whose values are whatever the memory held: fill it before use.
    memory_format=torch.channels_last lays a batch of images out channels last."""
    shape = _size_args(tuple(_size(sizes, size)))
    check_memory_format(shape, memory_format, "empty")
    data = torch.empty(shape, dtype=dtype, device=_device(device), memory_format=memory_format)
    return Tensor(data, requires_grad=requires_grad)


def full(
    size: Sequence[int],
    fill_value: Any,
    *,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of that size filled with fill_value (its dtype follows the value, as torch)."""
    data = torch.full(tuple(size), _number(fill_value), dtype=dtype, device=_device(device))
    return Tensor(data, requires_grad=requires_grad)


def tril_indices(
    row: int,
    col: int,
    offset: int = 0,
    *,
    dtype: torch.dtype = torch.int64,
    device: DeviceLike = None,
) -> Tensor:
    """The (row, column) places of a row x col matrix's lower triangle (column - row <= offset),
    as a 2 x N tensor, row by row: m[idx[0], idx[1]] picks the triangle out of m."""
    return Tensor(torch.tril_indices(row, col, offset, dtype=dtype, device=_device(device)))


def triu_indices(
    row: int,
    col: int,
    offset: int = 0,
    *,
    dtype: torch.dtype = torch.int64,
    device: DeviceLike = None,
) -> Tensor:
    """The (row, column) places of a row x col matrix's upper triangle (column - row >=
    offset), as a 2 x N tensor, row by row."""
    return Tensor(torch.triu_indices(row, col, offset, dtype=dtype, device=_device(device)))


def scalar_tensor(
    s: float,
    *,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """A 0-d tensor holding the number s (float32 unless `dtype` says otherwise, as torch's)."""
    data = torch.scalar_tensor(s, dtype=dtype, device=_device(device))
    return Tensor(data, requires_grad=requires_grad)


def eye(
    n: int,
    m: int | None = None,
    *,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """The n x m identity matrix (n x n when m is left out): ones on the diagonal."""
    m = n if m is None else m
    data = torch.eye(n, m, dtype=dtype, device=_device(device))
    return Tensor(data, requires_grad=requires_grad)


# ---- windows (signal processing: the taper a spectrogram multiplies each frame by) ----------


def _window(make: Callable[..., torch.Tensor], formula: str) -> Callable[..., Tensor]:
    """torch's window function `make`, its numbers on minigrad's default device. n runs over
    0 .. window_length - 1; N is window_length (periodic=True, the default) or window_length - 1
    (periodic=False: a symmetric window)."""

    def window(
        window_length: int,
        *args: Any,
        dtype: torch.dtype | None = None,
        device: DeviceLike = None,
        requires_grad: bool = False,
        **kwargs: Any,
    ) -> Tensor:
        data = make(window_length, *args, dtype=dtype, device=_device(device), **kwargs)
        return Tensor(data, requires_grad=requires_grad)

    window.__name__ = window.__qualname__ = make.__name__
    window.__doc__ = f"{formula}, as torch.{make.__name__} (window_length, periodic, ...)."
    return window


hann_window = _window(torch.hann_window, "sin^2(pi n / N)")
hamming_window = _window(torch.hamming_window, "alpha - beta cos(2 pi n / N)")
blackman_window = _window(
    torch.blackman_window, "0.42 - 0.5 cos(2 pi n / N) + 0.08 cos(4 pi n / N)"
)
bartlett_window = _window(torch.bartlett_window, "1 - |2n / N - 1|, a triangle")
kaiser_window = _window(torch.kaiser_window, "I0(beta sqrt(1 - (2n / N - 1)^2)) / I0(beta)")


def zeros_like(
    input: Tensor,  # noqa: A002
    *,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
    memory_format: torch.memory_format = torch.preserve_format,
) -> Tensor:
    return _like(torch.zeros_like, input, dtype, device, requires_grad, memory_format)


def ones_like(
    input: Tensor,  # noqa: A002
    *,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
    memory_format: torch.memory_format = torch.preserve_format,
) -> Tensor:
    return _like(torch.ones_like, input, dtype, device, requires_grad, memory_format)


def empty_like(
    input: Tensor,  # noqa: A002
    *,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
    memory_format: torch.memory_format = torch.preserve_format,
) -> Tensor:
    return _like(torch.empty_like, input, dtype, device, requires_grad, memory_format)


def full_like(
    input: Tensor,  # noqa: A002
    fill_value: Any,
    *,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
    memory_format: torch.memory_format = torch.preserve_format,
) -> Tensor:
    fill_value = _number(fill_value)
    return _like(
        torch.full_like, input, dtype, device, requires_grad, memory_format, fill_value=fill_value
    )


def rand_like(
    input: Tensor,  # noqa: A002
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
    memory_format: torch.memory_format = torch.preserve_format,
) -> Tensor:
    def fill(data: torch.Tensor, generator: torch.Generator | None) -> None:
        data.uniform_(generator=generator)

    return _random_like(
        fill, input, generator, dtype, device, requires_grad, memory_format, "rand_like"
    )


def randint_like(
    input: Tensor,  # noqa: A002
    low_or_high: int,
    high: int | None = None,
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
    memory_format: torch.memory_format = torch.preserve_format,
) -> Tensor:
    """Random integers in [low, high) of input's shape and dtype (randint_like(x, high) or
    randint_like(x, low, high)), as torch's."""
    low, high = (0, low_or_high) if high is None else (low_or_high, high)

    def fill(data: torch.Tensor, generator: torch.Generator | None) -> None:
        data.random_(low, high, generator=generator)

    return _random_like(
        fill, input, generator, dtype, device, requires_grad, memory_format, "randint_like"
    )


def randn_like(
    input: Tensor,  # noqa: A002
    *,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
    memory_format: torch.memory_format = torch.preserve_format,
) -> Tensor:
    def fill(data: torch.Tensor, generator: torch.Generator | None) -> None:
        data.normal_(generator=generator)

    return _random_like(
        fill, input, generator, dtype, device, requires_grad, memory_format, "randn_like"
    )


def arange(
    *args: Any,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
    **start_end_step: Any,
) -> Tensor:
    """Evenly spaced values in [start, end), step apart: arange(5), arange(1, 4),
    arange(0, 1, 0.25). int64 when every argument is an integer, else float32 (torch's
    default dtype)."""
    data = torch.arange(*args, **start_end_step, dtype=dtype, device=_device(device))
    return Tensor(data, requires_grad=requires_grad)


def range_inclusive(
    start: float,
    end: float,
    step: float = 1,
    *,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """torch.range: values from start to end *included*, step apart, float32 by default.
    torch deprecates it for arange, which leaves end out as Python's range does, and warns at
    each call; so does minigrad.range. (Named so here: minigrad.range is this function.)"""
    warn_at_user_line(
        "torch.range is deprecated and will be removed in a future release because its "
        "behavior is inconsistent with Python's range builtin. Instead, use torch.arange, "
        "which produces values in [start, end)."
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # (torch's own, said above at your line)
        data = torch.range(start, end, step, dtype=dtype, device=_device(device))
    return Tensor(data, requires_grad=requires_grad)


def linspace(
    start: float,
    end: float,
    steps: int,
    *,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """`steps` evenly spaced values from start to end, both included."""
    data = torch.linspace(_number(start), _number(end), steps, dtype=dtype, device=_device(device))
    return Tensor(data, requires_grad=requires_grad)


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    *,
    dtype: torch.dtype | None = None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """base ** linspace(start, end, steps): values evenly spaced on a log scale."""
    data = torch.logspace(
        _number(start), _number(end), steps, base, dtype=dtype, device=_device(device)
    )
    return Tensor(data, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor that shares the array's memory (changing one changes the other), with its
    dtype, as torch.from_numpy. Move it with .to(device) as in torch."""
    return Tensor(torch.from_numpy(array))


def manual_seed(seed: int) -> torch.Generator:
    """Seed torch's generators (CPU and every GPU), so random tensors repeat run after run."""
    return torch.manual_seed(seed)


def _size(sizes: tuple[Any, ...], size: Sequence[int] | None) -> tuple[Any, ...]:
    """The size given as randn(2, 3), randn((2, 3)) or randn(size=(2, 3)), as torch takes it."""
    return sizes if size is None else (tuple(size),)


def _number(value: Any) -> Any:
    """A Python number from a number or a one-element tensor (torch accepts both)."""
    return value.item() if isinstance(value, Tensor) else value


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


@numpy_names
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    return ops.Stack.apply(*tensors, dim=dim)


@numpy_names
def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    return ops.Cat.apply(*tensors, dim=dim)
