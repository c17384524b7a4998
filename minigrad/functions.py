"""torch's functions of tensors: `minigrad.sin(x)` is `x.sin()`, `minigrad.sum(x, 1)` is `x.sum(1)`.

torch spells most ops both ways. minigrad writes each one once, as a Tensor method that calls
its op, and makes the function form here by forwarding to the method, so the two cannot
differ. Below them, the functions that are not methods: cat's other names, var_mean...
(`where`, `cat` and `stack` live in creation.py, with the other functions that make tensors.)
"""

from __future__ import annotations

import builtins  # (all, any: this module's own are torch's)
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from . import ops
from .autograd.grad_mode import is_grad_enabled
from .creation import cat, stack, where
from .errors import ShapeError, shape_str, warn_at_user_line
from .ops.products import sum_lone_indices
from .tensor import Tensor, unwrap

__all__ = ["cat", "stack", "where"]  # and every name defined below (see the end of the file)


def _method_as_function(name: str) -> Callable[..., Any]:
    """The function `name(x, *args, out=None, **kwargs)`, which calls `x.name(*args, **kwargs)`
    (and writes the result into `out` when given, as torch's functions do)."""

    def function(input: Tensor, *args: Any, out: Any = None, **kwargs: Any) -> Any:  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(
                f"minigrad.{name}() takes a minigrad Tensor as its first argument, got "
                f"{type(input).__name__}. Make one with minigrad.tensor(...)."
            )
        result = getattr(input, name)(*args, **kwargs)
        return result if out is None else _written_into(out, result, name)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"minigrad.{name}(x, ...) is x.{name}(...): see Tensor.{name}."
    return function


def _written_into(out: Any, result: Any, name: str) -> Any:
    """torch's `out=`: the result written into the tensor(s) given, which are returned. As in
    torch, out= takes no part in autograd: it is refused where a gradient would be needed."""
    several = isinstance(result, tuple)
    outs = tuple(out) if several and isinstance(out, (tuple, list)) else (out,)
    results = result if several else (result,)
    if len(outs) != len(results) or not builtins.all(isinstance(o, Tensor) for o in outs):
        raise TypeError(
            f"minigrad.{name}(..., out=...): out must be "
            + (f"a tuple of {len(results)} Tensors" if several else "a minigrad Tensor")
            + f", one for each result; got {type(out).__name__}"
        )
    if is_grad_enabled() and builtins.any(t.requires_grad for t in results + outs):
        raise RuntimeError(
            f"minigrad.{name}(..., out=...): a result written into out= has no gradient (as in "
            "torch), but one of the arguments requires grad. Use the returned tensor instead "
            f"(y = minigrad.{name}(...)), or compute under minigrad.no_grad()."
        )
    for into, value in zip(outs, results):
        _write(into._data, value._data, name)
    return type(result)(*outs) if hasattr(result, "_fields") else out


def _write(into: torch.Tensor, value: torch.Tensor, name: str) -> None:
    """value into `into`, resized to value's shape if need be, as torch writes an out=."""
    if not torch.can_cast(value.dtype, into.dtype):
        raise RuntimeError(
            f"minigrad.{name}(..., out=...): the result is {value.dtype}, which can't be cast to "
            f"out's {into.dtype} (as torch). Give an out= of dtype {value.dtype}."
        )
    if into.shape != value.shape:
        if into.numel() != 0:
            warn_at_user_line(
                f"minigrad.{name}(..., out=...): out had shape {shape_str(into.shape)} and was "
                f"resized to the result's {shape_str(value.shape)} (as torch, which deprecates "
                "resizing an out= that has elements: resize it to 0 elements first)."
            )
        into.resize_(value.shape)
    into.copy_(value)


# elementwise
abs = _method_as_function("abs")  # noqa: A001 (torch's names shadow Python's here, as in torch)
absolute = _method_as_function("absolute")
acos = _method_as_function("acos")
acosh = _method_as_function("acosh")
add = _method_as_function("add")
addcdiv = _method_as_function("addcdiv")
addcmul = _method_as_function("addcmul")
arccos = _method_as_function("arccos")
arccosh = _method_as_function("arccosh")
arcsin = _method_as_function("arcsin")
arcsinh = _method_as_function("arcsinh")
arctan = _method_as_function("arctan")
arctan2 = _method_as_function("arctan2")
arctanh = _method_as_function("arctanh")
as_strided = _method_as_function("as_strided")
asin = _method_as_function("asin")
asinh = _method_as_function("asinh")
atan = _method_as_function("atan")
atan2 = _method_as_function("atan2")
atanh = _method_as_function("atanh")
ceil = _method_as_function("ceil")
clamp = _method_as_function("clamp")
clamp_max = _method_as_function("clamp_max")
clamp_min = _method_as_function("clamp_min")
clip = _method_as_function("clip")
clone = _method_as_function("clone")
copysign = _method_as_function("copysign")
cos = _method_as_function("cos")
cosh = _method_as_function("cosh")
deg2rad = _method_as_function("deg2rad")
detach = _method_as_function("detach")
div = _method_as_function("div")
divide = _method_as_function("divide")
digamma = _method_as_function("digamma")
erf = _method_as_function("erf")
erfc = _method_as_function("erfc")
erfinv = _method_as_function("erfinv")
exp = _method_as_function("exp")
exp2 = _method_as_function("exp2")
expm1 = _method_as_function("expm1")
fix = _method_as_function("fix")
floor = _method_as_function("floor")
floor_divide = _method_as_function("floor_divide")
fmax = _method_as_function("fmax")
fmin = _method_as_function("fmin")
fmod = _method_as_function("fmod")
frac = _method_as_function("frac")
heaviside = _method_as_function("heaviside")
hypot = _method_as_function("hypot")
lerp = _method_as_function("lerp")
lgamma = _method_as_function("lgamma")
log = _method_as_function("log")
log1p = _method_as_function("log1p")
log2 = _method_as_function("log2")
log10 = _method_as_function("log10")
logaddexp = _method_as_function("logaddexp")
logaddexp2 = _method_as_function("logaddexp2")
logit = _method_as_function("logit")
masked_fill = _method_as_function("masked_fill")
masked_scatter = _method_as_function("masked_scatter")
masked_select = _method_as_function("masked_select")
mul = _method_as_function("mul")
multiply = _method_as_function("multiply")
mvlgamma = _method_as_function("mvlgamma")
nan_to_num = _method_as_function("nan_to_num")
neg = _method_as_function("neg")
negative = _method_as_function("negative")
positive = _method_as_function("positive")
rad2deg = _method_as_function("rad2deg")
reciprocal = _method_as_function("reciprocal")
relu = _method_as_function("relu")
remainder = _method_as_function("remainder")
round = _method_as_function("round")  # noqa: A001
rsqrt = _method_as_function("rsqrt")
sgn = _method_as_function("sgn")
sigmoid = _method_as_function("sigmoid")
sign = _method_as_function("sign")
signbit = _method_as_function("signbit")
sin = _method_as_function("sin")
sinc = _method_as_function("sinc")
sinh = _method_as_function("sinh")
sqrt = _method_as_function("sqrt")
square = _method_as_function("square")
sub = _method_as_function("sub")
subtract = _method_as_function("subtract")
tan = _method_as_function("tan")
tanh = _method_as_function("tanh")
true_divide = _method_as_function("true_divide")
trunc = _method_as_function("trunc")

# reductions
all = _method_as_function("all")  # noqa: A001
amax = _method_as_function("amax")
amin = _method_as_function("amin")
aminmax = _method_as_function("aminmax")
any = _method_as_function("any")  # noqa: A001
argmax = _method_as_function("argmax")
argmin = _method_as_function("argmin")
argsort = _method_as_function("argsort")
cummax = _method_as_function("cummax")
cummin = _method_as_function("cummin")
cumprod = _method_as_function("cumprod")
cumsum = _method_as_function("cumsum")
dist = _method_as_function("dist")
log_softmax = _method_as_function("log_softmax")
logcumsumexp = _method_as_function("logcumsumexp")
logsumexp = _method_as_function("logsumexp")
kthvalue = _method_as_function("kthvalue")
max = _method_as_function("max")  # noqa: A001
mean = _method_as_function("mean")
median = _method_as_function("median")
min = _method_as_function("min")  # noqa: A001
mode = _method_as_function("mode")
nanmedian = _method_as_function("nanmedian")
nanquantile = _method_as_function("nanquantile")
nanmean = _method_as_function("nanmean")
nansum = _method_as_function("nansum")
norm = _method_as_function("norm")
prod = _method_as_function("prod")
quantile = _method_as_function("quantile")
softmax = _method_as_function("softmax")
sort = _method_as_function("sort")
msort = _method_as_function("msort")
std = _method_as_function("std")
sum = _method_as_function("sum")  # noqa: A001
topk = _method_as_function("topk")
var = _method_as_function("var")

# comparisons, tests and histograms (no gradient)
allclose = _method_as_function("allclose")
argwhere = _method_as_function("argwhere")
bincount = _method_as_function("bincount")
bucketize = _method_as_function("bucketize")
count_nonzero = _method_as_function("count_nonzero")
eq = _method_as_function("eq")
equal = _method_as_function("equal")
ge = _method_as_function("ge")
greater = _method_as_function("greater")
greater_equal = _method_as_function("greater_equal")
gt = _method_as_function("gt")
histc = _method_as_function("histc")
histogram = _method_as_function("histogram")
is_complex = _method_as_function("is_complex")
is_floating_point = _method_as_function("is_floating_point")
is_signed = _method_as_function("is_signed")
isclose = _method_as_function("isclose")
isfinite = _method_as_function("isfinite")
isinf = _method_as_function("isinf")
isnan = _method_as_function("isnan")
isneginf = _method_as_function("isneginf")
isposinf = _method_as_function("isposinf")
isreal = _method_as_function("isreal")
is_nonzero = _method_as_function("is_nonzero")
is_same_size = _method_as_function("is_same_size")
le = _method_as_function("le")
less = _method_as_function("less")
less_equal = _method_as_function("less_equal")
logical_and = _method_as_function("logical_and")
logical_not = _method_as_function("logical_not")
logical_or = _method_as_function("logical_or")
logical_xor = _method_as_function("logical_xor")
bitwise_and = _method_as_function("bitwise_and")
bitwise_or = _method_as_function("bitwise_or")
bitwise_xor = _method_as_function("bitwise_xor")
bitwise_not = _method_as_function("bitwise_not")
bitwise_left_shift = _method_as_function("bitwise_left_shift")
bitwise_right_shift = _method_as_function("bitwise_right_shift")
gcd = _method_as_function("gcd")
lcm = _method_as_function("lcm")
lt = _method_as_function("lt")
ne = _method_as_function("ne")
not_equal = _method_as_function("not_equal")
nonzero = _method_as_function("nonzero")
searchsorted = _method_as_function("searchsorted")
unique = _method_as_function("unique")
unique_consecutive = _method_as_function("unique_consecutive")

# shapes
broadcast_to = _method_as_function("broadcast_to")
chunk = _method_as_function("chunk")
diag = _method_as_function("diag")
diagflat = _method_as_function("diagflat")
diag_embed = _method_as_function("diag_embed")
diagonal = _method_as_function("diagonal")
diff = _method_as_function("diff")
dsplit = _method_as_function("dsplit")
flatten = _method_as_function("flatten")
flip = _method_as_function("flip")
fliplr = _method_as_function("fliplr")
flipud = _method_as_function("flipud")
gather = _method_as_function("gather")
hsplit = _method_as_function("hsplit")
index_add = _method_as_function("index_add")
index_copy = _method_as_function("index_copy")
index_fill = _method_as_function("index_fill")
index_put = _method_as_function("index_put")
index_select = _method_as_function("index_select")
moveaxis = _method_as_function("moveaxis")
movedim = _method_as_function("movedim")
narrow = _method_as_function("narrow")
numel = _method_as_function("numel")
permute = _method_as_function("permute")
ravel = _method_as_function("ravel")
repeat_interleave = _method_as_function("repeat_interleave")
reshape = _method_as_function("reshape")
roll = _method_as_function("roll")
rot90 = _method_as_function("rot90")
scatter = _method_as_function("scatter")
scatter_add = _method_as_function("scatter_add")
scatter_reduce = _method_as_function("scatter_reduce")
select = _method_as_function("select")
split = _method_as_function("split")
squeeze = _method_as_function("squeeze")
swapaxes = _method_as_function("swapaxes")
swapdims = _method_as_function("swapdims")
t = _method_as_function("t")
take_along_dim = _method_as_function("take_along_dim")
tensor_split = _method_as_function("tensor_split")
tile = _method_as_function("tile")
transpose = _method_as_function("transpose")
tril = _method_as_function("tril")
triu = _method_as_function("triu")
unbind = _method_as_function("unbind")
unflatten = _method_as_function("unflatten")
unsqueeze = _method_as_function("unsqueeze")
vsplit = _method_as_function("vsplit")

# matrix products
addmm = _method_as_function("addmm")
addbmm = _method_as_function("addbmm")
addmv = _method_as_function("addmv")
addr = _method_as_function("addr")
adjoint = _method_as_function("adjoint")
baddbmm = _method_as_function("baddbmm")
bmm = _method_as_function("bmm")
det = _method_as_function("det")
dot = _method_as_function("dot")
ger = _method_as_function("ger")
inner = _method_as_function("inner")
inverse = _method_as_function("inverse")
matmul = _method_as_function("matmul")
matrix_exp = _method_as_function("matrix_exp")
matrix_power = _method_as_function("matrix_power")
mm = _method_as_function("mm")
mv = _method_as_function("mv")
outer = _method_as_function("outer")
vdot = _method_as_function("vdot")
svd = _method_as_function("svd")  # torch's older linear algebra (linalg's ops underneath)
qr = _method_as_function("qr")
cholesky = _method_as_function("cholesky")
cholesky_solve = _method_as_function("cholesky_solve")
cholesky_inverse = _method_as_function("cholesky_inverse")
logdet = _method_as_function("logdet")
slogdet = _method_as_function("slogdet")
pinverse = _method_as_function("pinverse")

# in place: minigrad.exp_(x) is x.exp_(), so the graph's in-place rules (autograd/inplace.py:
# x's history rebased, its version counted, a leaf that requires grad refused) are the method's
_IN_PLACE = (
    "abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_",
    "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_",
    "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_", "detach_", "erf_", "erfc_", "exp_",
    "exp2_", "expm1_", "fill_", "fix_", "floor_", "frac_", "gcd_", "index_put_", "lcm_", "log_",
    "log10_", "log1p_", "log2_", "logit_", "nan_to_num_", "neg_", "negative_", "rad2deg_",
    "reciprocal_", "relu_", "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_",
    "square_", "tan_", "tanh_", "trunc_", "xlogy_", "zero_",
)  # fmt: skip
globals().update({name: _method_as_function(name) for name in _IN_PLACE})


# ---- functions that are not methods ---------------------------------------------------------


def is_tensor(obj: Any) -> bool:
    """Whether obj is a minigrad Tensor."""
    return isinstance(obj, Tensor)


def isin(
    elements: Tensor | float, test_elements: Tensor | float, *, assume_unique: bool = False,
    invert: bool = False,
) -> Tensor:  # fmt: skip
    """Whether each of `elements` is among `test_elements` (True where not, with invert=True):
    a bool tensor of elements' shape, outside the graph."""
    found = torch.isin(
        unwrap(elements), unwrap(test_elements), assume_unique=assume_unique, invert=invert
    )
    return Tensor(found)


def rsub(input: Tensor, other: Tensor | float, *, alpha: float = 1) -> Tensor:  # noqa: A002
    """other - alpha * input: sub with its operands swapped, as torch.rsub."""
    return other - (input if alpha == 1 else input * alpha)


def xlogy(input: Tensor | float, other: Tensor | float) -> Tensor:  # noqa: A002
    """input * ln(other), 0 where input is 0 (see Tensor.xlogy); either may be a number."""
    if isinstance(input, Tensor):
        return input.xlogy(other)
    if isinstance(other, Tensor) and isinstance(input, (int, float)):
        return ops.Xlogy.apply(input, other)
    raise TypeError(
        f"minigrad.xlogy takes tensors, or a number and a tensor, as torch's; got "
        f"{type(input).__name__} and {type(other).__name__}. Make one with minigrad.tensor(...)."
    )


_float_power = _method_as_function("float_power")


def float_power(input: Tensor | complex, exponent: Any, *, out: Any = None) -> Tensor:  # noqa: A002
    """input ** exponent computed in float64 (see Tensor.float_power); as in torch, input may be
    a number when exponent is a tensor."""
    if isinstance(input, (int, float, complex)) and isinstance(exponent, Tensor):
        dtype = torch.complex128 if isinstance(input, complex) else torch.float64
        input = Tensor(torch.tensor(input, dtype=dtype, device=exponent.device))
    return _float_power(input, exponent, out=out)


def polygamma(n: int, input: Tensor) -> Tensor:  # noqa: A002
    """The n-th derivative of digamma at input (torch's order: n first)."""
    return input.polygamma(n)


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


# ---- joining: NumPy's stacks, grids -----------------------------------------------------------


def atleast_1d(*tensors: Tensor | Sequence[Tensor]) -> Tensor | tuple[Tensor, ...]:
    """Each tensor with at least 1 dim: a 0-d one becomes shape (1,), others are kept as they
    are. One tensor gives a tensor; several (or a list) a tuple."""
    return _at_least("atleast_1d", tensors, 1)


def atleast_2d(*tensors: Tensor | Sequence[Tensor]) -> Tensor | tuple[Tensor, ...]:
    """Each tensor with at least 2 dims: () becomes (1, 1), (n,) becomes (1, n)."""
    return _at_least("atleast_2d", tensors, 2)


def atleast_3d(*tensors: Tensor | Sequence[Tensor]) -> Tensor | tuple[Tensor, ...]:
    """Each tensor with at least 3 dims: () becomes (1, 1, 1), (n,) becomes (1, n, 1), and
    (m, n) becomes (m, n, 1) (NumPy's rule: a vector is a row, a matrix gets a depth)."""
    return _at_least("atleast_3d", tensors, 3)


def _at_least(name: str, args: tuple[Any, ...], ndim: int) -> Tensor | tuple[Tensor, ...]:
    if len(args) == 1 and isinstance(args[0], Tensor):
        return _with_dims(args[0], ndim)
    tensors = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
    return tuple(_with_dims(t, ndim) for t in _tensor_list(name, tensors, allow_empty=True))


def _with_dims(x: Tensor, ndim: int) -> Tensor:
    """x reshaped to at least ndim dims (atleast_1d/2d/3d's rule); x itself if it has them."""
    if x.ndim >= ndim:
        return x
    if ndim == 3 and x.ndim == 2:
        return x.unsqueeze(-1)
    if ndim == 3 and x.ndim == 1:
        return x.reshape(1, x.shape[0], 1)
    return x.reshape((1,) * (ndim - x.ndim) + tuple(x.shape))


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """The tensors side by side: joined along dim 1, or dim 0 if they are vectors (0-d ones
    count as vectors of one)."""
    tensors = atleast_1d(_tensor_list("hstack", tensors))
    return _joined("hstack", tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """The tensors one below the other: joined along dim 0, vectors as rows (atleast_2d)."""
    return _joined("vstack", atleast_2d(_tensor_list("vstack", tensors)), 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """The tensors one behind the other: joined along dim 2, after atleast_3d."""
    return _joined("dstack", atleast_3d(_tensor_list("dstack", tensors)), 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """The tensors as columns side by side: vectors (and 0-d tensors) become columns (n, 1),
    then all are joined along dim 1."""
    tensors = _tensor_list("column_stack", tensors)
    columns = [t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in tensors]
    return _joined("column_stack", columns, 1)


def _tensor_list(name: str, tensors: Any, allow_empty: bool = False) -> list[Tensor]:
    """The tensors that a joining function got, checked: a list or tuple of Tensors."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(
            f"{name} takes a list or tuple of tensors, got {type(tensors).__name__}: write "
            f"minigrad.{name}([a, b])."
        )
    if not tensors and not allow_empty:
        raise RuntimeError(f"{name} needs at least one tensor, got an empty list.")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{name}: element {i} of the list is a {type(t).__name__}, not a minigrad "
                "Tensor; make one with minigrad.tensor(...)."
            )
    return list(tensors)


def _joined(name: str, tensors: Sequence[Tensor], dim: int) -> Tensor:
    """cat along dim, once the shapes are checked in the words of the function called."""
    first = tensors[0]
    for t in tensors[1:]:
        mismatched = [d for d, (a, b) in enumerate(zip(t.shape, first.shape)) if a != b]
        if t.ndim != first.ndim or [d for d in mismatched if d != dim]:
            shapes = ", ".join(shape_str(each.shape) for each in tensors)
            raise ShapeError(
                f"{name} joins tensors along dim {dim}, so they must have the same number of "
                f"dims and the same sizes in every other dim; got shapes {shapes} (as "
                f"{name} sees them, vectors and numbers given their extra dims)."
            )
    return cat(tensors, dim)


def meshgrid(*tensors: Tensor | Sequence[Tensor], indexing: str | None = None) -> tuple:
    """Grids of coordinates from vectors: for vectors of sizes n1, n2, ..., one tensor per
    vector, each of shape (n1, n2, ...), that vector's values copied along the other dims
    (indexing='ij'). indexing='xy' swaps the first two dims, NumPy's and plotting's order:
    x along the columns, y along the rows. Each grid is an expand, so its gradient is summed
    over the copies. Without indexing, 'ij', with torch's warning that it should be given."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warn_at_user_line(
            "minigrad.meshgrid: pass indexing='ij' (the default, which this call used) or "
            "indexing='xy'; as in torch, leaving it out will be refused in a later release."
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f"meshgrid's indexing is 'ij' (matrix order: the first vector down the rows) or "
            f"'xy' (Cartesian order: the first vector along the columns), got {indexing!r}."
        )
    tensors = _tensor_list("meshgrid", tensors)
    _check_grid_inputs("meshgrid", tensors)
    sizes = [t.numel() for t in tensors]
    along = list(range(len(tensors)))  # the dim each vector runs along
    if indexing == "xy" and len(tensors) >= 2:
        along[0], along[1] = 1, 0
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for t, dim in zip(tensors, along):
        shape = [1] * len(tensors)
        shape[dim] = t.numel()
        grids.append(t.reshape(shape).expand(sizes))
    return tuple(grids)


def _check_grid_inputs(name: str, tensors: list[Tensor]) -> None:
    """meshgrid's and cartesian_prod's inputs: vectors (meshgrid takes 0-d ones too) of one
    dtype and one device."""
    vectors_only = name == "cartesian_prod"
    for i, t in enumerate(tensors):
        if t.ndim > 1 or (vectors_only and t.ndim == 0):
            wanted = "a vector (1-d)" if vectors_only else "0-d or 1-d"
            raise ShapeError(
                f"{name} takes vectors: tensor {i} must be {wanted}, got shape "
                f"{shape_str(t.shape)}. Flatten it first (t.flatten()) to use all its values."
            )
    for i, t in enumerate(tensors[1:], 1):
        for what in ("dtype", "device"):
            if getattr(t, what) != getattr(tensors[0], what):
                raise RuntimeError(
                    f"{name} needs tensors of one {what}: tensor 0 has {getattr(tensors[0], what)}"
                    f" and tensor {i} {getattr(t, what)}. Convert one with .to(...) first."
                )


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of one value from each vector, as the rows of a (n1 * n2 * ..., k)
    tensor, in order (the last vector varying fastest): itertools.product's order. One vector
    comes back as it is. The rows are meshgrid's grids flattened and stacked as columns."""
    tensors = _tensor_list("cartesian_prod", list(tensors))
    _check_grid_inputs("cartesian_prod", tensors)
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([grid.reshape(-1) for grid in grids], dim=1)


def tensordot(
    a: Tensor, b: Tensor, dims: int | tuple[Sequence[int], Sequence[int]] | list[Any] = 2
) -> Tensor:
    """The sum over pairs of dims of a and b: dims=n pairs a's last n dims with b's first n,
    ([1, 0], [0, 2]) pairs a's dim 1 with b's 0 and a's 0 with b's 2. The other dims stay,
    a's then b's. A matmul: a with the paired dims moved last, b with them first, each made
    2-d, then the result given its dims back."""
    if isinstance(dims, int):
        if dims < 0:
            raise ValueError(f"tensordot takes dims >= 0 (how many dims to pair), got {dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(dims_a) != len(dims_b):
        raise ShapeError(f"tensordot pairs dims: got {len(dims_a)} of a and {len(dims_b)} of b")
    dims_a = [d % a.ndim for d in dims_a] if a.ndim else dims_a
    dims_b = [d % b.ndim for d in dims_b] if b.ndim else dims_b
    for i, j in zip(dims_a, dims_b):
        if a.shape[i] != b.shape[j]:
            raise ShapeError(
                f"tensordot: a's dim {i} (size {a.shape[i]}) and b's dim {j} (size "
                f"{b.shape[j]}) are paired but differ in size; shapes {shape_str(a.shape)} and "
                f"{shape_str(b.shape)}"
            )
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    paired = math.prod(a.shape[d] for d in dims_a)
    a2 = a.permute(*free_a, *dims_a).reshape(-1, paired) if a.ndim else a.reshape(1, 1)
    b2 = b.permute(*dims_b, *free_b).reshape(paired, -1) if b.ndim else b.reshape(1, 1)
    shape = [a.shape[d] for d in free_a] + [b.shape[d] for d in free_b]
    return (a2 @ b2).reshape(shape)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str | None = None) -> Tensor:
    """The p-norm distance between each row of x1 (..., P, M) and each row of x2 (..., R, M),
    as (..., P, R): (sum over m of |x1[i, m] - x2[j, m]|^p)^(1/p), from every difference
    (broadcasting the rows against each other). p = 2, 1 or any other p > 0; not yet p = 0 or
    inf (torch's gradient there is not a composition's). `compute_mode` is accepted for torch's
    signature: the differences are always taken directly (torch's matmul shortcut for p = 2
    on many rows gives the same values up to rounding).

    Each distance is the p-norm of a difference (`norm`), whose gradient at a zero difference
    is 0, as torch's cdist gives where two rows are equal (cdist(x, x) has a zero diagonal: a
    composition of sqrt and sum would give NaN there). Unlike torch's, differentiable twice
    (torch's second backward through cdist raises: it has no formula for it)."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise ShapeError(
            f"cdist takes rows as (..., rows, features): shapes {shape_str(x1.shape)} and "
            f"{shape_str(x2.shape)} need at least 2 dims each"
        )
    if x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(
            f"cdist: rows of x1 and x2 need one number of features; shapes "
            f"{shape_str(x1.shape)} and {shape_str(x2.shape)}"
        )
    if p < 0:
        raise ValueError(f"cdist takes p >= 0, got {p}")
    if p == 0 or math.isinf(p):
        raise NotImplementedError(
            f"cdist with p={p} is not in minigrad yet (p > 0 and finite is): torch's gradient "
            "there is not what a composition of minigrad's ops gives"
        )
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)  # (..., P, R, M)
    return diff.norm(p, dim=-1)


def row_stack(tensors: Sequence[Tensor]) -> Tensor:
    """torch's other name for vstack."""
    return vstack(tensors)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:  # noqa: A002
    """Every r-element combination of the vector's elements, as the rows of a (count, r) tensor
    in itertools.combinations' order: each row picked from input by index, so each value's
    gradient goes back to the element it came from."""
    if input.ndim != 1:
        raise ShapeError(f"combinations takes a vector, got shape {shape_str(input.shape)}.")
    picks = torch.combinations(torch.arange(len(input), device=input.device), r, with_replacement)
    return input[picks]


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """The tensors expanded to the one shape they broadcast to together (views, as torch's):
    each one's gradient is summed back over the dims it was stretched along."""
    shape = torch.broadcast_shapes(*(t.shape for t in _tensor_list("broadcast_tensors", tensors)))
    return tuple(t.expand(shape) for t in tensors)


def result_type(tensor1: Any, tensor2: Any) -> torch.dtype:
    """The dtype torch gives an op on these two (tensors or numbers)."""
    return torch.result_type(unwrap(tensor1), unwrap(tensor2))


def block_diag(*tensors: Tensor) -> Tensor:
    """One matrix with the tensors along its diagonal, zeros elsewhere (a vector counts as a
    row, a number as a 1 x 1 block); each block's gradient is its own region of the result's.
    Built as rows of blocks padded with zeros, joined (cat)."""
    tensors = _tensor_list("block_diag", tensors, allow_empty=True)
    if not tensors:
        return Tensor(torch.block_diag())  # (torch's empty matrix, 1 x 0)
    blocks = [t.reshape(1, -1) if t.ndim < 2 else t for t in tensors]
    for i, block in enumerate(blocks):
        if block.ndim > 2:
            raise ShapeError(
                f"block_diag takes matrices, vectors and numbers; tensor {i} has shape "
                f"{shape_str(block.shape)}."
            )
    widths = [block.shape[1] for block in blocks]
    rows, left = [], 0
    for block, width in zip(blocks, widths):  # (cat promotes the dtypes, as torch's block_diag)
        right = builtins.sum(widths) - left - width
        zeros_left, zeros_right = (block.new_zeros(block.shape[0], n) for n in (left, right))
        rows.append(cat([zeros_left, block, zeros_right], dim=1))
        left += width
    return cat(rows, dim=0)


def cov(
    input: Tensor,  # noqa: A002
    *,
    correction: int = 1,
    fweights: Tensor | None = None,
    aweights: Tensor | None = None,
) -> Tensor:
    """The covariance matrix of the variables in input's rows (observations in its columns;
    a vector is one variable): C[i, j] = sum over observations of (x_i - mean_i)(x_j - mean_j),
    divided by N - correction. With integer frequency weights `fweights` and observation
    weights `aweights`, torch's weighted means and divisor."""
    if input.ndim > 2:
        raise ShapeError(
            f"cov takes a matrix (variables in rows, observations in columns) or a vector; "
            f"got shape {shape_str(input.shape)}."
        )
    x = input if input.ndim == 2 else input.reshape(1, -1)
    if fweights is not None and aweights is not None:
        weights = fweights * aweights
    else:
        weights = fweights if fweights is not None else aweights
    if weights is None:
        total = x.shape[1]
        mean = x.mean(1, keepdim=True)
        divisor = total - correction
    else:
        total = weights.sum()
        mean = (x * weights).sum(1, keepdim=True) / total
        if aweights is None or correction == 0:
            divisor = total - correction
        else:
            divisor = total - correction * (weights * aweights).sum() / total
    if not isinstance(divisor, Tensor) and divisor <= 0:  # (a weighted divisor is a tensor:
        # checking it would wait for the device)
        warn_at_user_line(
            f"cov: {x.shape[1]} observations and correction={correction} leave no degrees of "
            "freedom (N - correction <= 0): the covariances are inf or NaN, as in torch."
        )
    divisor = divisor.clamp(min=0) if isinstance(divisor, Tensor) else builtins.max(divisor, 0)
    centered = x - mean
    weighted = centered if weights is None else centered * weights
    return ((weighted @ centered.mT) / divisor).squeeze()


def corrcoef(input: Tensor) -> Tensor:  # noqa: A002
    """The correlation matrix of the variables in input's rows: cov divided by each pair's
    standard deviations, clipped to [-1, 1] (as torch's: rounding can step past 1)."""
    c = cov(input)
    if c.ndim == 0:
        return c / c  # one variable: 1 (NaN where it does not vary, as torch's)
    std = c.diagonal().sqrt()
    c = c / std.unsqueeze(1) / std.unsqueeze(0)
    return c.clamp(-1, 1)


def trapezoid(
    y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1
) -> Tensor:
    """The integral of y along dim by the trapezoidal rule: the sum of (y[i] + y[i + 1]) / 2
    times each step, the spacing dx (1 by default) or the differences of the points x."""
    return _trapezoids("trapezoid", y, x, dx, dim).sum(dim)


def trapz(y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    """torch's older name for trapezoid."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(
    y: Tensor, x: Tensor | None = None, *, dx: float | None = None, dim: int = -1
) -> Tensor:
    """The running integral of y along dim by the trapezoidal rule (trapezoid's sum, running:
    one number fewer than y has along dim)."""
    return _trapezoids("cumulative_trapezoid", y, x, dx, dim).cumsum(dim)


def _trapezoids(name: str, y: Tensor, x: Tensor | None, dx: float | None, dim: int) -> Tensor:
    """Each trapezoid's area along dim: (y[i] + y[i + 1]) / 2 times the step from i to i + 1."""
    if x is not None and dx is not None:
        raise TypeError(f"{name} takes the points x or the spacing dx, not both.")
    n = y.size(dim)
    intervals = builtins.max(n - 1, 0)  # (builtins: this module's max is minigrad.max)
    heights = (y.narrow(dim, builtins.min(n, 1), intervals) + y.narrow(dim, 0, intervals)) / 2
    if x is None:
        return heights * (1 if dx is None else dx)
    if x.ndim == 1:  # the points along dim, the same for every row
        along = [1] * y.ndim
        along[dim] = intervals
        return heights * x.diff().reshape(along)
    return heights * x.diff(dim=dim)


def unravel_index(indices: Tensor, shape: Sequence[int]) -> tuple[Tensor, ...]:
    """The coordinates, in a tensor of `shape`, of each flat index (row-major, as reshape(-1)
    numbers the elements): one int64 tensor per dim, as torch.unravel_index."""
    return tuple(Tensor(part) for part in torch.unravel_index(unwrap(indices), shape))


kron = _method_as_function("kron")
take = _method_as_function("take")
cross = _method_as_function("cross")


__all__ += [
    name
    for name, value in list(globals().items())
    if callable(value) and getattr(value, "__module__", None) == __name__ and name[0] != "_"
]
