"""torch's functions of tensors: `minigrad.sin(x)` is `x.sin()`, `minigrad.sum(x, 1)` is `x.sum(1)`.

torch spells most ops both ways. minigrad writes each one once, as a Tensor method that calls
its op, and makes the function form here by forwarding to the method, so the two cannot
differ. Below them, the functions that are not methods: cat's other names, var_mean...
(`where`, `cat` and `stack` live in creation.py, with the other functions that make tensors.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import ops
from .creation import cat, stack, where
from .ops.products import sum_lone_indices
from .tensor import Tensor

__all__ = ["cat", "stack", "where"]  # and every name defined below (see the end of the file)


def _method_as_function(name: str) -> Callable[..., Any]:
    """The function `name(x, *args, **kwargs)`, which calls `x.name(*args, **kwargs)`."""

    def function(input: Tensor, *args: Any, **kwargs: Any) -> Any:  # noqa: A002 (torch's name)
        if not isinstance(input, Tensor):
            raise TypeError(
                f"minigrad.{name}() takes a minigrad Tensor as its first argument, got "
                f"{type(input).__name__}. Make one with minigrad.tensor(...)."
            )
        return getattr(input, name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"minigrad.{name}(x, ...) is x.{name}(...): see Tensor.{name}."
    return function


# elementwise
abs = _method_as_function("abs")  # noqa: A001 (torch's names shadow Python's here, as in torch)
add = _method_as_function("add")
ceil = _method_as_function("ceil")
clamp = _method_as_function("clamp")
clamp_max = _method_as_function("clamp_max")
clamp_min = _method_as_function("clamp_min")
clip = _method_as_function("clip")
clone = _method_as_function("clone")
cos = _method_as_function("cos")
detach = _method_as_function("detach")
div = _method_as_function("div")
erf = _method_as_function("erf")
exp = _method_as_function("exp")
expm1 = _method_as_function("expm1")
fix = _method_as_function("fix")
floor = _method_as_function("floor")
floor_divide = _method_as_function("floor_divide")
fmod = _method_as_function("fmod")
frac = _method_as_function("frac")
lerp = _method_as_function("lerp")
log = _method_as_function("log")
log1p = _method_as_function("log1p")
log10 = _method_as_function("log10")
logit = _method_as_function("logit")
masked_fill = _method_as_function("masked_fill")
masked_select = _method_as_function("masked_select")
mul = _method_as_function("mul")
neg = _method_as_function("neg")
reciprocal = _method_as_function("reciprocal")
relu = _method_as_function("relu")
remainder = _method_as_function("remainder")
round = _method_as_function("round")  # noqa: A001
rsqrt = _method_as_function("rsqrt")
sigmoid = _method_as_function("sigmoid")
sign = _method_as_function("sign")
sin = _method_as_function("sin")
sqrt = _method_as_function("sqrt")
square = _method_as_function("square")
sub = _method_as_function("sub")
tanh = _method_as_function("tanh")
trunc = _method_as_function("trunc")

# reductions
all = _method_as_function("all")  # noqa: A001
amax = _method_as_function("amax")
amin = _method_as_function("amin")
any = _method_as_function("any")  # noqa: A001
argmax = _method_as_function("argmax")
argmin = _method_as_function("argmin")
argsort = _method_as_function("argsort")
cumprod = _method_as_function("cumprod")
cumsum = _method_as_function("cumsum")
log_softmax = _method_as_function("log_softmax")
logsumexp = _method_as_function("logsumexp")
max = _method_as_function("max")  # noqa: A001
mean = _method_as_function("mean")
min = _method_as_function("min")  # noqa: A001
norm = _method_as_function("norm")
prod = _method_as_function("prod")
softmax = _method_as_function("softmax")
sort = _method_as_function("sort")
std = _method_as_function("std")
sum = _method_as_function("sum")  # noqa: A001
topk = _method_as_function("topk")
var = _method_as_function("var")

# comparisons, tests and histograms (no gradient)
allclose = _method_as_function("allclose")
count_nonzero = _method_as_function("count_nonzero")
eq = _method_as_function("eq")
equal = _method_as_function("equal")
ge = _method_as_function("ge")
gt = _method_as_function("gt")
histogram = _method_as_function("histogram")
is_floating_point = _method_as_function("is_floating_point")
isclose = _method_as_function("isclose")
isfinite = _method_as_function("isfinite")
isinf = _method_as_function("isinf")
isnan = _method_as_function("isnan")
le = _method_as_function("le")
logical_and = _method_as_function("logical_and")
logical_not = _method_as_function("logical_not")
logical_or = _method_as_function("logical_or")
lt = _method_as_function("lt")
ne = _method_as_function("ne")
nonzero = _method_as_function("nonzero")

# shapes
chunk = _method_as_function("chunk")
diag = _method_as_function("diag")
diagonal = _method_as_function("diagonal")
flatten = _method_as_function("flatten")
flip = _method_as_function("flip")
gather = _method_as_function("gather")
index_select = _method_as_function("index_select")
movedim = _method_as_function("movedim")
narrow = _method_as_function("narrow")
numel = _method_as_function("numel")
permute = _method_as_function("permute")
repeat_interleave = _method_as_function("repeat_interleave")
reshape = _method_as_function("reshape")
roll = _method_as_function("roll")
select = _method_as_function("select")
split = _method_as_function("split")
squeeze = _method_as_function("squeeze")
swapaxes = _method_as_function("swapaxes")
swapdims = _method_as_function("swapdims")
t = _method_as_function("t")
tile = _method_as_function("tile")
transpose = _method_as_function("transpose")
tril = _method_as_function("tril")
triu = _method_as_function("triu")
unbind = _method_as_function("unbind")
unflatten = _method_as_function("unflatten")
unsqueeze = _method_as_function("unsqueeze")

# matrix products
addmm = _method_as_function("addmm")
bmm = _method_as_function("bmm")
dot = _method_as_function("dot")
ger = _method_as_function("ger")
matmul = _method_as_function("matmul")
mm = _method_as_function("mm")
mv = _method_as_function("mv")
outer = _method_as_function("outer")


# ---- functions that are not methods ---------------------------------------------------------


def is_tensor(obj: Any) -> bool:
    """Whether obj is a minigrad Tensor."""
    return isinstance(obj, Tensor)


def concat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """torch's other name for cat."""
    return cat(tensors, dim)


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """torch's NumPy-style name for cat."""
    return cat(tensors, axis)


def einsum(equation: str, *operands: Tensor | Sequence[Tensor]) -> Tensor:
    """Einstein summation, as torch.einsum: einsum('ij,jk->ik', a, b) is a @ b.

    Each operand's dims are named by letters; the output keeps the indices after '->' (without
    '->': those used once, in alphabetical order) and sums over the rest. '...' stands for any
    number of dims, which broadcast. The operands may also come as one list: einsum(eq, [a, b]).
    """
    if not isinstance(equation, str):
        raise TypeError(
            f"einsum takes the equation as a string first, as in einsum('ij,jk->ik', a, b); got "
            f"{type(equation).__name__}. torch's other form, einsum(a, [0, 1], b, [1, 2]), is "
            "not supported by minigrad: write the letters instead."
        )
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for i, x in enumerate(operands):
        if not isinstance(x, Tensor):
            raise TypeError(
                f"einsum({equation!r}, ...): operand {i} is a {type(x).__name__}, not a minigrad "
                "Tensor; make one with minigrad.tensor(...)."
            )
    # an index that one operand alone has is summed away first, as torch does (sum_lone_indices)
    return ops.Einsum.apply(*sum_lone_indices(equation, operands), equation=equation)


def var_mean(input: Tensor, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:  # noqa: A002
    """(x.var(...), x.mean(...)) over the same dims."""
    variance = input.var(*args, **kwargs)
    return variance, _mean_like(input, args, kwargs)


def std_mean(input: Tensor, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:  # noqa: A002
    """(x.std(...), x.mean(...)) over the same dims."""
    deviation = input.std(*args, **kwargs)
    return deviation, _mean_like(input, args, kwargs)


def _mean_like(x: Tensor, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Tensor:
    """The mean over the dims that var/std arguments name (positional: dim, unbiased, keepdim)."""
    dim = args[0] if args else kwargs.get("dim")
    if isinstance(dim, bool):  # var(x, unbiased): no dim
        dim = None
    keepdim = args[2] if len(args) > 2 else kwargs.get("keepdim", kwargs.get("keepdims", False))
    return x.mean(dim, keepdim=keepdim)


__all__ += [
    name
    for name, value in list(globals().items())
    if callable(value) and getattr(value, "__module__", None) == __name__ and name[0] != "_"
]
