"""A differential fuzzer: random short programs, run on torch and on minigrad, must agree.

Each program starts from three float64 leaves that require grad (shapes that broadcast together)
and a plain float64 tensor, then applies steps drawn from a grammar: out-of-place ops, numpy
operands on either side, views (slices, transposes, reshapes), and in-place changes (+=, mul_,
copy_, zero_, clamp_min_, triu_, x[key] = v, ...) on any value made so far: leaves, views, results.
After every step the two runs must agree on whether the step raised, and on every value's
numbers and requires_grad. At the end, a loss made of every value that requires grad is
backpropagated with random weights, and every leaf's gradient must agree (rtol 1e-7): or both
runs must refuse the backward (a value needed for backward was changed in place).

The same programs are differentiated twice: the leaves' gradients of a loss with squares (every
value's gradient then has a graph) made with create_graph=True, then the gradient of
sum(dL/dx * v) (v a random direction per leaf) against torch's, rtol 1e-7:
a Hessian-vector product through every op the program used, in-place changes included.

A failure prints the program as Python, one line per step, after Hypothesis shrank it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minigrad as mg

RTOL, ATOL = 1e-7, 1e-9
LEAF_SHAPES = [(2, 3), (3,), (2, 1)]
CONSTANT_SHAPE = (2, 3)
# Programs per run: sized so the ci profile stays well under a minute on 2 cores.
EXAMPLES = {"ci": 300, "dev": 100, "thorough": 5000}.get(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"), 100
)


@dataclass(frozen=True)
class Step:
    """One line of a program: `op` on two of the values made so far, with a parameter `p` (a
    key, a number, ...). `a` counts back from the newest value (0: the last one made, so that
    in-place ops and views mostly meet results, not leaves), `b` from the first (0: a leaf);
    both modulo how many values exist, so that a shrunk program stays valid."""

    op: str
    a: int
    b: int
    p: Any

    def operands(self, n: int) -> tuple[int, int]:
        return n - 1 - self.a % n, self.b % n

    def source(self, n: int) -> str:
        a, b = self.operands(n)
        return SOURCE[self.op].format(a=f"v{a}", b=f"v{b}", p=self.p, new=f"v{n}")


# How each step reads as Python: {new} is the value it makes, if it makes one.
SOURCE = {
    "add": "{new} = {a} + {b}",
    "sub": "{new} = {a} - {b}",
    "mul": "{new} = {a} * {b}",
    "div": "{new} = {a} / ({b} * {b} + 1)",
    "maximum": "{new} = {a}.maximum({b})",
    "pow": "{new} = ({a} * {a} + 0.5) ** {b}.tanh()",
    "rpow": "{new} = {p} ** {a}.tanh()",
    "tanh": "{new} = {a}.tanh()",
    "sigmoid": "{new} = {a}.sigmoid()",
    "relu": "{new} = {a}.relu()",
    "gelu": "{new} = F.gelu({a}, approximate={p!r})",
    "leaky_relu": "{new} = F.leaky_relu({a}, {p})",
    "layer_norm": "{new} = F.layer_norm({a}, {a}.shape[-1:])",
    "matmul": "{new} = {a} @ {b}.mT",
    "einsum": "{new} = einsum('...ij,...kj->...ik', {a}, {b})",
    "where": "{new} = where({a} > 0, {a}, {b})",
    "max_dim": "{new} = {a}.max(-1).values",
    "clone": "{new} = {a}.clone()",
    "index_adv": "{new} = {a}[{p}]",
    "sum": "{new} = {a}.sum({p}, keepdim=True)",
    "np_left": "{new} = np.array({p}) * {a}",
    "np_right": "{new} = {a} - np.array({p})",
    "np_scalar": "{new} = np.float64({p}) * {a}",
    "index": "{new} = {a}[{p}]",
    "transpose": "{new} = {a}.mT",
    "reshape": "{new} = {a}.reshape(-1)",
    "unsqueeze": "{new} = {a}.unsqueeze(0)",
    "detach": "{new} = {a}.detach()",
    "tril": "{new} = {a}.tril({p})",
    "iadd": "{a} += {b}",
    "isub": "{a} -= {b}",
    "imul": "{a} *= {b}",
    "add_alpha": "{a}.add_({b}, alpha={p})",
    "mul_number": "{a}.mul_({p})",
    "copy_": "{a}.copy_({b})",
    "zero_": "{a}.zero_()",
    "fill_": "{a}.fill_({p})",
    "clamp_min_": "{a}.clamp_min_({p})",
    "tanh_": "{a}.tanh_()",
    "relu_": "{a}.relu_()",
    "triu_": "{a}.triu_({p})",
    "setitem": "{a}[{p}] = {b}.sum()",
    "setitem_number": "{a}[{p}] = 0.5",
    "setitem_mask": "{a}[{a} > 0] = {b}.sum()",
    "view_setitem": "{a}.mT[{p}] = {b}.sum()",
    "no_grad_iadd": "with no_grad(): {a} += {b}",
}

MAKES_A_VALUE = {op for op, text in SOURCE.items() if text.startswith("{new}")}


def run_step(lib: Any, values: list[Any], step: Step) -> None:
    """Apply one step with `lib` (torch or minigrad: the same code for both)."""
    i, j = step.operands(len(values))
    a, b, p = values[i], values[j], step.p
    op = step.op
    made = {
        "add": lambda: a + b,
        "sub": lambda: a - b,
        "mul": lambda: a * b,
        "div": lambda: a / (b * b + 1),
        "maximum": lambda: a.maximum(b),
        "pow": lambda: (a * a + 0.5) ** b.tanh(),
        "rpow": lambda: p ** a.tanh(),
        "tanh": lambda: a.tanh(),
        "sigmoid": lambda: a.sigmoid(),
        "relu": lambda: a.relu(),
        "gelu": lambda: lib.nn.functional.gelu(a, approximate=p),
        "leaky_relu": lambda: lib.nn.functional.leaky_relu(a, p),
        "layer_norm": lambda: lib.nn.functional.layer_norm(a, a.shape[-1:]),  # 0-d: both refuse
        "matmul": lambda: a @ b.mT,
        "einsum": lambda: lib.einsum("...ij,...kj->...ik", a, b),  # the same, with einsum
        "where": lambda: lib.where(a > 0, a, b),
        "max_dim": lambda: a.max(-1).values,
        "clone": lambda: a.clone(),
        "index_adv": lambda: a[p],
        "sum": lambda: a.sum(p, keepdim=True),
        # torch refuses arrays next to a tensor that requires grad (numpy takes over and asks
        # for the tensor's numbers); minigrad must keep the graph: it must give what torch gives
        # for the array as a tensor. (All are float64 here; the dtype rules have unit tests.)
        "np_left": lambda: lib_array(lib, p) * a,
        "np_right": lambda: a - lib_array(lib, p),
        "np_scalar": lambda: np.float64(p) * a,
        "index": lambda: a[p],
        "transpose": lambda: a.mT,
        "reshape": lambda: a.reshape(-1),
        "unsqueeze": lambda: a.unsqueeze(0),
        "detach": lambda: a.detach(),
        "tril": lambda: a.tril(p),
    }.get(op)
    if made is not None:
        values.append(made())
        return
    if op == "iadd":
        a += b
    elif op == "isub":
        a -= b
    elif op == "imul":
        a *= b
    elif op == "add_alpha":
        a.add_(b, alpha=p)
    elif op == "mul_number":
        a.mul_(p)
    elif op == "copy_":
        a.copy_(b)
    elif op == "zero_":
        a.zero_()
    elif op == "fill_":
        a.fill_(p)
    elif op == "clamp_min_":
        a.clamp_min_(p)
    elif op == "tanh_":
        a.tanh_()
    elif op == "relu_":
        a.relu_()
    elif op == "triu_":
        a.triu_(p)
    elif op == "setitem":
        a[p] = b.sum()
    elif op == "setitem_number":
        a[p] = 0.5
    elif op == "setitem_mask":
        a[a > 0] = b.sum()
    elif op == "view_setitem":
        a.mT[p] = b.sum()
    elif op == "no_grad_iadd":
        with lib.no_grad():
            a += b
    else:
        raise AssertionError(f"unknown step {op}")


def lib_array(lib: Any, values: Any) -> Any:
    """A numpy array for minigrad; for torch, the same numbers as a torch tensor."""
    array = np.array(values)
    return torch.from_numpy(array) if lib is torch else array


# ---- drawing programs ---------------------------------------------------------------------------

numbers = st.sampled_from([-1.5, -0.5, 0.0, 0.5, 2.0])
keys = st.sampled_from(
    [0, -1, slice(0, 1), slice(1, None), (Ellipsis, 0), (Ellipsis, slice(0, 2)), (0, slice(None))]
)
dims = st.sampled_from([0, -1, (0, -1)])
arrays = st.sampled_from([[0.5, -2.0, 1.5], [[2.0], [-1.0]], 0.25, [[1.0, 0.0, -1.0]]])
PARAMS = {
    "rpow": st.sampled_from([2.0, 0.5, 0.0, -2.0]),
    "gelu": st.sampled_from(["none", "tanh"]),
    "leaky_relu": st.sampled_from([0.01, -0.5, 0.0, 2.0]),  # at 0 (zero_, fill_): the slope
    "sum": dims,
    "np_left": arrays,
    "np_right": arrays,
    "np_scalar": numbers,
    "index": keys,
    "add_alpha": numbers,
    "mul_number": numbers,
    "fill_": numbers,
    "clamp_min_": numbers,
    "setitem": keys,
    "setitem_number": keys,
    "view_setitem": keys,
    "tril": st.sampled_from([-1, 0, 1]),
    "triu_": st.sampled_from([-1, 0, 2]),
    "index_adv": st.sampled_from([[0, 0], [1, 0, 1], (Ellipsis, [0, 0])]),  # repeats add up
}


@st.composite
def steps(draw: st.DrawFn, ops: list[str] | None = None) -> Step:
    op = draw(st.sampled_from(ops or sorted(SOURCE)))
    index = st.integers(0, 12)
    param = draw(PARAMS[op]) if op in PARAMS else None
    return Step(op, draw(index), draw(index), param)


@st.composite
def programs(
    draw: st.DrawFn, ops: list[str] | None = None
) -> tuple[list[np.ndarray], list[Step], int]:
    elements = st.floats(-3, 3, allow_nan=False, width=64)
    leaves = [
        np.array(draw(st.lists(elements, min_size=n, max_size=n))).reshape(shape)
        for shape in [*LEAF_SHAPES, CONSTANT_SHAPE]
        for n in [int(np.prod(shape))]
    ]
    return leaves, draw(st.lists(steps(ops), min_size=1, max_size=8)), draw(st.integers(0, 2**31))


# ---- running them ----------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one run did: per step, the error it raised (or None); then the values, the loss
    and the leaves' gradients (or the error backward raised)."""

    errors: list[str | None]
    values: list[Any]
    backward_error: str | None
    loss: Any
    grads: list[Any]


def run(lib: Any, leaves: list[np.ndarray], program: list[Step], seed: int) -> Outcome:
    def new(array: np.ndarray, requires_grad: bool) -> Any:
        return lib.tensor(array, dtype=lib.float64, requires_grad=requires_grad)

    inputs = [new(array, True) for array in leaves[:-1]]
    values = [*inputs, new(leaves[-1], False)]
    errors: list[str | None] = []
    for step in program:
        if lib is torch:  # torch remakes a view's history only when its grad_fn is read, so that
            for value in values:  # an in-place change may see a stale one: read them all, as
                value.grad_fn  # noqa: B018  (minigrad catches up by itself)
        try:
            run_step(lib, values, step)
            errors.append(None)
        except Exception as error:  # both libraries must refuse the same steps
            errors.append(f"{type(error).__name__}: {error}")
    generator = torch.Generator().manual_seed(seed)
    weights = [torch.randn(v.shape, generator=generator, dtype=torch.float64) for v in values]
    graded = [(v, w) for v, w in zip(values, weights) if v.requires_grad]
    loss, backward_error = None, None
    if graded:
        try:
            loss = sum((v * lib.tensor(w.numpy())).sum() for v, w in graded)
            loss.backward()
        except Exception as error:
            backward_error = f"{type(error).__name__}: {error}"
    return Outcome(errors, values, backward_error, loss, [t.grad for t in inputs])


def as_torch(value: Any) -> torch.Tensor:
    return value._data if isinstance(value, mg.Tensor) else value.detach()


def check_same(program: list[Step], theirs: Outcome, ours: Outcome) -> None:
    lines = [f"v{i} = <leaf>" for i in range(len(LEAF_SHAPES))] + [f"v{len(LEAF_SHAPES)} = <data>"]
    sources, n = [], len(LEAF_SHAPES) + 1
    for step in program:
        sources.append(step.source(n))
        n += step.op in MAKES_A_VALUE
    listing = "\n    ".join(lines + sources)

    def fail(what: str) -> None:
        raise AssertionError(f"{what}\n  program:\n    {listing}")

    for i, (their_error, our_error) in enumerate(zip(theirs.errors, ours.errors)):
        if (their_error is None) != (our_error is None):
            fail(f"step {i} ({sources[i]}): torch says {their_error}, minigrad {our_error}")
    if len(theirs.values) != len(ours.values):
        fail(f"torch made {len(theirs.values)} values, minigrad {len(ours.values)}")
    for i, (their, our) in enumerate(zip(theirs.values, ours.values)):
        if their.requires_grad != our.requires_grad:
            fail(f"v{i}.requires_grad: torch {their.requires_grad}, minigrad {our.requires_grad}")
        close(as_torch(our), as_torch(their), f"value v{i}", fail)
    if (theirs.backward_error is None) != (ours.backward_error is None):
        fail(f"backward: torch says {theirs.backward_error}, minigrad {ours.backward_error}")
    if theirs.backward_error is None and theirs.loss is not None:
        close(as_torch(ours.loss), as_torch(theirs.loss), "loss", fail)
        for i, (their, our) in enumerate(zip(theirs.grads, ours.grads)):
            if (their is None) != (our is None):
                fail(f"leaf v{i}'s gradient: torch {their}, minigrad {our}")
            if their is not None:
                close(as_torch(our), their, f"gradient of leaf v{i}", fail)


def close(got: torch.Tensor, expected: torch.Tensor, what: str, fail: Any) -> None:
    if got.shape != expected.shape or got.dtype != expected.dtype:
        ours, theirs = (f"{t.dtype} {tuple(t.shape)}" for t in (got, expected))
        fail(f"{what}: minigrad {ours}, torch {theirs}")
    if not torch.allclose(got, expected, rtol=RTOL, atol=ATOL, equal_nan=True):
        fail(f"{what}: minigrad {got.tolist()}, torch {expected.tolist()}")


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_agree_with_torch(program_and_data):
    leaves, program, seed = program_and_data
    theirs = run(torch, leaves, program, seed)
    ours = run(mg, leaves, program, seed)
    check_same(program, theirs, ours)


# ---- differentiated twice --------------------------------------------------------------------


@dataclass
class SecondOrder:
    """The leaves' gradients of L = sum(w * v + u * v * v) over the values v that require grad
    (w, u random), made with create_graph (None: unused), and the gradients of
    sum(dL/dx * v) with respect to the leaves (zeros where nothing depends on them), or the
    error either pass raised."""

    error: str | None
    first: list[Any]
    second: list[Any]


def run_twice(lib: Any, leaves: list[np.ndarray], program: list[Step], seed: int) -> SecondOrder:
    def new(array: np.ndarray, requires_grad: bool) -> Any:
        return lib.tensor(array, dtype=lib.float64, requires_grad=requires_grad)

    inputs = [new(array, True) for array in leaves[:-1]]
    values = [*inputs, new(leaves[-1], False)]
    for step in program:
        if lib is torch:  # (as in run: torch's views catch up when grad_fn is read)
            for value in values:
                value.grad_fn  # noqa: B018
        try:
            run_step(lib, values, step)
        except Exception:  # the first-order test holds both libraries to the same refusals
            pass
    generator = torch.Generator().manual_seed(seed)
    weights = [torch.randn(v.shape, generator=generator, dtype=torch.float64) for v in values]
    squares = [torch.randn(v.shape, generator=generator, dtype=torch.float64) for v in values]
    directions = [torch.randn(x.shape, generator=generator, dtype=torch.float64) for x in inputs]
    graded = [(v, w, u) for v, w, u in zip(values, weights, squares) if v.requires_grad]
    if not graded:
        return SecondOrder(None, [], [])
    try:  # a loss with squares: every value's gradient w + 2 u v depends on the leaves, so
        # that each op's backward is differentiated with an upstream gradient that has a graph
        loss = sum(
            (v * lib.tensor(w.numpy()) + v * v * lib.tensor(u.numpy())).sum() for v, w, u in graded
        )
        first = list(lib.autograd.grad(loss, inputs, create_graph=True, allow_unused=True))
        terms = [
            (g * lib.tensor(d.numpy())).sum()
            for g, d in zip(first, directions)
            if g is not None and g.requires_grad
        ]
        if terms:  # sum(dL/dx * v) depends on the leaves: its gradient is H v
            second = lib.autograd.grad(sum(terms), inputs, allow_unused=True)
            second = [lib.zeros_like(x) if g is None else g for g, x in zip(second, inputs)]
        else:  # every dL/dx is a constant: H v is zero
            second = [lib.zeros_like(x) for x in inputs]
    except Exception as error:
        return SecondOrder(f"{type(error).__name__}: {error}", [], [])
    return SecondOrder(None, first, second)


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_differentiate_twice_as_torch(program_and_data):
    leaves, program, seed = program_and_data
    theirs = run_twice(torch, leaves, program, seed)
    ours = run_twice(mg, leaves, program, seed)
    sources, n = [], len(LEAF_SHAPES) + 1
    for step in program:
        sources.append(step.source(n))
        n += step.op in MAKES_A_VALUE
    listing = "\n    ".join(
        [f"v{i} = <leaf>" for i in range(len(LEAF_SHAPES))]
        + [f"v{len(LEAF_SHAPES)} = <data>"]
        + sources
    )

    def fail(what: str) -> None:
        raise AssertionError(f"{what}\n  program:\n    {listing}")

    if (theirs.error is None) != (ours.error is None):
        fail(f"differentiating twice: torch says {theirs.error}, minigrad {ours.error}")
    for i, (their, our) in enumerate(zip(theirs.first, ours.first)):
        if (their is None) != (our is None):
            fail(f"dL/dv{i} with create_graph: torch {their}, minigrad {our}")
        if their is not None:
            close(as_torch(our), their.detach(), f"dL/dv{i} with create_graph", fail)
    assert len(theirs.second) == len(ours.second)
    for i, (their, our) in enumerate(zip(theirs.second, ours.second)):
        close(as_torch(our), their.detach(), f"d/dv{i} of sum(dL/dx * v) (H v)", fail)
