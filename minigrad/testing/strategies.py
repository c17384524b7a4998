"""Hypothesis strategies for testing ops: shapes, arrays, and the arguments ops take.

Shapes are small (rank 0 to 4, sides 1 to 5) so that a shrunk failure is readable, and include
0-d tensors and size-1 dims, where broadcasting and reductions most often go wrong. Arrays are
float64 NumPy arrays, finite, within bounds chosen per op (exp on [-5, 5], log on [0.1, 10]).

    from hypothesis import given
    from minigrad.testing import strategies as mst

    @given(mst.float_arrays(mst.shapes(), -5, 5))
    def test_exp(x): ...
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "broadcastable_shapes",
    "cat_shapes",
    "distinct_arrays",
    "expand_targets",
    "float_arrays",
    "index_keys",
    "matmul_shapes",
    "reduction_dims",
    "reshape_targets",
    "shapes",
    "small_shapes",
    "square_matmul_shapes",
]

MAX_RANK = 4
MAX_SIDE = 5

Shape = tuple[int, ...]


def shapes(
    min_rank: int = 0, max_rank: int = MAX_RANK, min_side: int = 1, max_side: int = MAX_SIDE
) -> st.SearchStrategy[Shape]:
    """Tensor shapes: rank 0 (a single number) to 4, each side 1 to 5."""
    return hnp.array_shapes(
        min_dims=min_rank, max_dims=max_rank, min_side=min_side, max_side=max_side
    )


def small_shapes(min_rank: int = 0, max_rank: int = MAX_RANK) -> st.SearchStrategy[Shape]:
    """Shapes with sides 1 to 3 (at most 81 elements), for `gradcheck`: finite differences run
    two forward passes per input element."""
    return shapes(min_rank, max_rank, max_side=3)


def float_arrays(
    shape: Shape | st.SearchStrategy[Shape] | None = None,
    min_value: float = -10.0,
    max_value: float = 10.0,
) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of the given shape (or shape strategy; default `shapes()`), with finite
    values in [min_value, max_value]: no NaN, no infinity. Exact zeros and repeated values do
    come up, so ops with kinks need `@example`s or `distinct_arrays`."""
    elements = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False, width=64)
    return hnp.arrays(np.float64, shape if shape is not None else shapes(), elements=elements)


@st.composite
def distinct_arrays(
    draw: st.DrawFn,
    shape: Shape | st.SearchStrategy[Shape] | None = None,
    min_value: float = -5.0,
    max_value: float = 5.0,
    avoid: float = 0.0,
) -> np.ndarray:
    """float64 arrays whose values are all different and at least half a grid step from `avoid`.

    Built, not filtered: the values are points of the grid avoid + (k + 1/2) * step inside
    [min_value, max_value], with step = (max_value - min_value) / (n + 1) for n elements, taken
    in a shuffled order. So no two tie (max has one winner) and none sits on the kink at `avoid`
    (relu and abs at 0), which keeps finite differences honest.
    """
    shape = draw(shape if isinstance(shape, st.SearchStrategy) else st.just(shape or ()))
    n = math.prod(shape)
    step = (max_value - min_value) / (n + 1)
    first = math.ceil((min_value - avoid) / step - 0.5)
    last = math.floor((max_value - avoid) / step - 0.5)
    order = draw(st.permutations(range(last - first + 1)))[:n]
    values = avoid + (np.array(order, dtype=np.float64) + first + 0.5) * step
    return values.reshape(shape)


def broadcastable_shapes(
    n: int, min_rank: int = 0, max_rank: int = MAX_RANK, max_side: int = MAX_SIDE
) -> st.SearchStrategy[tuple[Shape, ...]]:
    """n shapes that broadcast together: size-1 or missing dims on either side, in the middle,
    and across ranks ((3, 1, 4) with (5, 4) and ())."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=n, min_dims=min_rank, max_dims=max_rank, min_side=1, max_side=max_side
    ).map(lambda shapes: shapes.input_shapes)


@st.composite
def matmul_shapes(draw: st.DrawFn, max_side: int = MAX_SIDE) -> tuple[Shape, Shape]:
    """Shape pairs (a, b) for a @ b under torch's rules: 1-D @ 1-D, 1-D @ 2-D, 2-D @ 1-D,
    2-D @ 2-D, and batched with batch dims that broadcast (a 1-D operand included). n, k and m
    are drawn independently, so most matrices are not square: a missing transpose shows up as
    a shape error instead of hiding."""
    side = st.integers(1, max_side)
    n, k, m = draw(side), draw(side), draw(side)
    batch_a, batch_b = draw(broadcastable_shapes(2, min_rank=0, max_rank=2, max_side=3))
    kind = draw(st.sampled_from(["vv", "vm", "mv", "mm", "batched"]))
    if kind == "vv":
        return (k,), (k,)
    if kind == "vm":
        return (k,), (*batch_b, k, m)
    if kind == "mv":
        return (*batch_a, n, k), (k,)
    if kind == "mm":
        return (n, k), (k, m)
    return (*batch_a, n, k), (*batch_b, k, m)


@st.composite
def square_matmul_shapes(draw: st.DrawFn, max_side: int = MAX_SIDE) -> tuple[Shape, Shape]:
    """Square matrices (n, n) @ (n, n), batched or not: shapes cannot reveal a swapped operand
    or a missing transpose here, only values can."""
    n = draw(st.integers(1, max_side))
    batch_a, batch_b = draw(broadcastable_shapes(2, min_rank=0, max_rank=2, max_side=3))
    return (*batch_a, n, n), (*batch_b, n, n)


@st.composite
def reduction_dims(draw: st.DrawFn, ndim: int) -> int | tuple[int, ...] | None:
    """A `dim` argument for a reduction over a tensor of rank `ndim`: None (everything), one dim,
    or a tuple of distinct dims, each written positive or negative at random."""
    if ndim == 0:
        return draw(st.sampled_from([None, 0, -1]))
    one = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
    choice = draw(st.one_of(st.none(), one, several))
    if isinstance(choice, list):
        return tuple(d - ndim if draw(st.booleans()) else d for d in choice)
    return choice


@st.composite
def reshape_targets(draw: st.DrawFn, shape: Shape) -> tuple[int, ...]:
    """A shape with as many elements as `shape`: its sides' prime factors shuffled and regrouped,
    with size-1 dims sprinkled in, and sometimes one dim written as -1."""
    factors = [p for side in shape for p in _prime_factors(side)]
    factors = draw(st.permutations(factors))
    target: list[int] = []
    for p in factors:
        if target and draw(st.booleans()):
            target[-1] *= p
        else:
            target.append(p)
    for _ in range(draw(st.integers(0, max(0, MAX_RANK - len(target))))):
        target.insert(draw(st.integers(0, len(target))), 1)
    if target and draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return tuple(target)


@st.composite
def expand_targets(draw: st.DrawFn, shape: Shape) -> tuple[int, ...]:
    """A shape that `shape` expands to: each size-1 dim stretched (or kept), up to two new
    leading dims, and sometimes -1 for a dim that stays as it is."""
    side = st.integers(1, MAX_SIDE)
    stretched = [draw(side) if n == 1 else n for n in shape]
    kept = [-1 if draw(st.booleans()) else n for n in stretched]
    leading = draw(st.lists(side, max_size=min(2, MAX_RANK - len(shape) + 1)))
    return (*leading, *kept)


@st.composite
def cat_shapes(
    draw: st.DrawFn, min_rank: int = 1, max_side: int = MAX_SIDE
) -> tuple[list[Shape], int]:
    """(shapes, dim) for `cat`: 1 to 3 shapes equal except along `dim` (negative too), where
    their sides vary."""
    base = list(draw(shapes(min_rank=min_rank, max_side=max_side)))
    dim = draw(st.integers(-len(base), len(base) - 1))
    sides = draw(st.lists(st.integers(1, max_side), min_size=1, max_size=3))
    at = dim % len(base)
    return [(*base[:at], side, *base[at + 1 :]) for side in sides], dim


@st.composite
def index_keys(draw: st.DrawFn, shape: Shape) -> Any:
    """A key for x[key] with x of this shape (any rank), of one of three kinds:

    - basic: ints (negative too), slices with positive steps, None and Ellipsis;
    - `(:, ..., indices)`: an integer array (NumPy int64, 1-D or 2-D, negative entries too)
      on one dim (x of rank >= 1). A 2-D array puts its own shape in that dim's place
      (x[:, [[0], [1]]]). Repeats are common: x[[0, 0]] picks row 0 twice, and its gradient
      must add up;
    - a boolean mask (a bare array) over the leading dims, or over none: a 0-d mask
      (x[x.sum() > 0]) adds a dim of 1 place or 0 in front.

    Code that inspects a drawn key must accept all three, and index arrays of either rank.
    """
    kind = draw(st.sampled_from(["basic", "integers", "mask"] if shape else ["basic", "mask"]))
    if kind == "mask":
        lead = draw(st.integers(0, len(shape)))
        return draw(hnp.arrays(np.bool_, shape[:lead]))
    if kind == "integers":
        dim = draw(st.integers(0, len(shape) - 1))
        side = shape[dim]
        indices = draw(
            hnp.arrays(np.int64, shapes(1, 2, 1, 4), elements=st.integers(-side, side - 1))
        )
        return (*[slice(None)] * dim, indices)
    return _basic_key(draw, shape)


def _basic_key(draw: st.DrawFn, shape: Shape) -> tuple[Any, ...]:
    """Ints and slices for some leading dims; maybe an Ellipsis, then some trailing dims; with a
    None (a new dim of size 1) somewhere."""
    lead = draw(st.integers(0, len(shape)))
    parts = [_basic_part(draw, side) for side in shape[:lead]]
    if draw(st.booleans()):
        trail = draw(st.integers(0, len(shape) - lead))
        parts += [Ellipsis] + [_basic_part(draw, side) for side in shape[len(shape) - trail :]]
    if draw(st.booleans()):
        parts.insert(draw(st.integers(0, len(parts))), None)
    return tuple(parts)


def _basic_part(draw: st.DrawFn, side: int) -> int | slice:
    """An int (negative too) or a slice with a positive step (torch has no negative steps)."""
    if draw(st.booleans()):
        return draw(st.integers(-side, side - 1))
    start = draw(st.none() | st.integers(-side, side))
    stop = draw(st.none() | st.integers(-side, side))
    return slice(start, stop, draw(st.none() | st.integers(1, 3)))


def _prime_factors(n: int) -> list[int]:
    factors, p = [], 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    return factors
