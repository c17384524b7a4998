"""Products of several tensors: einsum (Einstein summation: matmul, batched matmul, traces,
diagonals, outer products... in one notation) and outer (the outer product of two vectors)."""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import torch

from ..autograd.engine import sum_to_shape
from ..autograd.function import Context, Op
from ..autograd.grad_mode import is_grad_enabled
from ..errors import ShapeError, dtype_mismatch, shape_str
from ..tensor import Tensor

LETTERS = string.ascii_letters  # einsum's subscripts: a-z and A-Z, as in torch


class Einsum(Op):
    """out = einsum(equation, *operands).   dL/d(operand k) = einsum(G, the others -> k's indices).

    An equation names each operand's dims with letters, and the output's: 'ij,jk->ik' is
    out[i, k] = sum over j of A[i, j] B[j, k], matmul. Every index missing from the output is
    summed over; an index shared by operands multiplies their elements where the indices agree.

    Backward: out is linear in each operand, and dout[i, k]/dA[i, j] = B[j, k], so
    dL/dA[i, j] = sum over k of G[i, k] B[j, k]: einsum('ik,jk->ij', G, B), G = dL/dout. In
    general dL/d(operand k) is the einsum of G (with the output's indices) and the other
    operands, written back to operand k's indices. Three cases need more than that:
    (a) an index of operand k found nowhere else ('ij->i' sums j away): the output does not
        depend on where along j an element sits, so the gradient is expanded along j;
    (b) an index repeated in operand k ('ii->i', the diagonal; 'ii->', the trace): only the
        diagonal elements were read, so the gradient lands on the diagonal of a zeros tensor
        (OntoDiagonal, whose own gradient takes the diagonal back: einsum('ii->i', G));
    (c) a size-1 dim that broadcast against the others (under '...', or a labelled one): the
        element was used once per position, so its gradient is summed back (sum_to_shape).
    '...' dims are given letters of their own first, so they follow the same rules.

    The gradient is einsums, expands, sums and OntoDiagonal: ops with gradients of their own,
    so that backward(create_graph=True) can differentiate it again.
    """

    @staticmethod
    def forward(ctx: Context, *operands: torch.Tensor, equation: str) -> torch.Tensor:
        ctx.shapes = [tuple(x.shape) for x in operands]
        ctx.input_indices, ctx.output_indices = parse_einsum(equation, ctx.shapes)
        # Operand k is kept only if another operand needs a gradient (as torch keeps): einsum
        # is linear in each operand, so k's own gradient is made of the others.
        needs = ctx.needs_input_grad
        kept = [
            x if any(need for j, need in enumerate(needs) if j != k) else None
            for k, x in enumerate(operands)
        ]
        ctx.save_for_backward(*kept)
        out = torch.einsum(equation, *operands)
        # torch returns a view for some equations ('ij->ji', 'ii->i'); minigrad's result is a
        # tensor of its own (a copy), so that writing into it changes no operand
        if any(
            out.untyped_storage().data_ptr() == x.untyped_storage().data_ptr() for x in operands
        ):
            out = out.clone()
        return out

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        kept = ctx.saved_tensors
        indices, output, shapes = ctx.input_indices, ctx.output_indices, ctx.shapes
        return tuple(
            _einsum_operand_grad(grad, kept, shapes, indices, output, k) if needs else None
            for k, needs in enumerate(ctx.needs_input_grad)
        )

    @staticmethod
    def explain_failure(*operands: Any, equation: str) -> str | Exception | None:
        for other in operands[1:]:
            problem = dtype_mismatch(operands[0], other, "one operand", "another")
            if problem:
                return problem
        return None


def sum_lone_indices(equation: str, operands: Sequence[Tensor]) -> list[Tensor]:
    """The operands, each summed first over the indices that no other operand needs, when
    another operand needs a gradient: einsum then keeps that sum for backward, not the operand,
    as torch does (so a later in-place change of the operand is no error here either). The
    sum is an op of its own, so that under create_graph what was kept is in the graph."""
    shapes = [tuple(x.shape) for x in operands]
    subscripts, output = parse_einsum(equation, shapes)
    wanted = [is_grad_enabled() and x.requires_grad for x in operands]
    summed = []
    for k, x in enumerate(operands):
        dims = _lone_dims(k, subscripts, output, shapes)
        kept = any(want for j, want in enumerate(wanted) if j != k)  # (see Einsum.forward)
        summed.append(x.sum(dims, keepdim=True) if dims and kept else x)
    return summed


def _lone_dims(
    k: int, subscripts: Sequence[str], output: str, shapes: Sequence[Sequence[int]]
) -> list[int]:
    """The dims of operand k whose index the output lacks, that it has once, and that every
    other operand lacks or has with size 1: summing them out first leaves the einsum the same."""
    mine = subscripts[k]
    return [
        dim
        for dim, index in enumerate(mine)
        if index not in output
        and mine.count(index) == 1
        and shapes[k][dim] != 1
        and all(
            shape[term.index(index)] == 1
            for j, (term, shape) in enumerate(zip(subscripts, shapes))
            if j != k and index in term
        )
    ]


def _einsum_operand_grad(
    grad: torch.Tensor,
    operands: Sequence[torch.Tensor | None],
    shapes: Sequence[Sequence[int]],
    subscripts: Sequence[str],
    output: str,
    k: int,
) -> torch.Tensor:
    """dL/d(operand k) for out = einsum(subscripts -> output), G = grad: see Einsum."""
    mine = subscripts[k]
    others = [j for j in range(len(operands)) if j != k]
    elsewhere = set(output).union(*(subscripts[j] for j in others))
    labels = "".join(dict.fromkeys(mine))  # operand k's indices, each once, in order
    kept = "".join(index for index in labels if index in elsewhere)
    if others or kept != output:  # (einsum('ij->ij', G) would be G itself)
        equation = ",".join([output, *(subscripts[j] for j in others)]) + "->" + kept
        grad = _einsum(equation, grad, *(operands[j] for j in others))
    g = grad
    for i, index in enumerate(labels):
        if index not in elsewhere:  # (a): summed away in forward, so expanded here
            g = g.unsqueeze(i)
    size = dict(zip(mine, shapes[k]))
    target = tuple(size[index] for index in labels)
    if g.shape != target:
        g = g.expand(torch.broadcast_shapes(g.shape, target))  # (a)
        g = sum_to_shape(g, target)  # (c): operand k's size-1 dims that were broadcast
    if len(labels) == len(mine):
        return g
    # (b): a repeated index. g holds the diagonal: written into zeros of operand k's shape.
    if isinstance(g, Tensor):  # create_graph: the op, so that it is recorded
        return OntoDiagonal.apply(g, subscripts=mine, shape=shapes[k])
    return onto_diagonal(g, mine, shapes[k])


def _einsum(equation: str, *operands: Any) -> Any:
    """einsum on torch tensors (backward()), or minigrad's Einsum on Tensors (create_graph)."""
    if isinstance(operands[0], Tensor):
        return Einsum.apply(*operands, equation=equation)
    return torch.einsum(equation, *operands)


class OntoDiagonal(Op):
    """out = zeros of `shape` with g on the diagonal that `subscripts` names.   grad: that
    diagonal of G, einsum(subscripts -> its indices once, G).

    'ii' makes a matrix whose diagonal is the vector g: out[i, i] = g[i], 0 elsewhere; 'iji'
    puts g[i, j] at out[i, j, i]. It is einsum's diagonal read backwards, and what einsum's
    backward writes for a repeated index: the elements off the diagonal were never read, so
    their gradient is 0. Each out element is one g element or 0, so dL/dg[i] = G[i, i]: the
    diagonal of G, which einsum('ii->i', G) takes.
    """

    @staticmethod
    def forward(
        ctx: Context, g: torch.Tensor, subscripts: str, shape: Sequence[int]
    ) -> torch.Tensor:
        ctx.subscripts = subscripts
        return onto_diagonal(g, subscripts, shape)

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> torch.Tensor:
        labels = "".join(dict.fromkeys(ctx.subscripts))
        return _einsum(f"{ctx.subscripts}->{labels}", grad)


def onto_diagonal(g: torch.Tensor, subscripts: str, shape: Sequence[int]) -> torch.Tensor:
    """Zeros of `shape`, with g (one dim per distinct index of `subscripts`) written on the
    diagonal: the view of the zeros whose stride for each index is the sum of its dims' strides."""
    full = torch.zeros(shape, dtype=g.dtype, device=g.device)
    labels = "".join(dict.fromkeys(subscripts))
    strides = full.stride()
    diagonal_strides = [
        sum(s for i, s in zip(subscripts, strides) if i == index) for index in labels
    ]
    full.as_strided(g.shape, diagonal_strides).copy_(g)
    return full


def parse_einsum(equation: str, shapes: Sequence[Sequence[int]]) -> tuple[list[str], str]:
    """Each operand's indices and the output's, '...' replaced by letters the equation leaves
    unused: ('...ij,jk', [(5, 2, 3), (3, 4)]) gives (['Zij', 'jk'], 'Zik'). Checks torch's rules
    and raises a ShapeError naming the equation, the operand, its shape and the rule broken."""

    def fail(message: str) -> ShapeError:
        return ShapeError(f"einsum({equation!r}): {message}")

    compact = equation.replace(" ", "")
    left, arrow, right = compact.partition("->")
    if "->" in right:
        raise fail("more than one '->'; an equation has inputs '->' output.")
    terms = left.split(",")
    if len(terms) != len(shapes):
        raise fail(
            f"the equation has {len(terms)} operand term(s) ({', '.join(map(repr, terms))}) "
            f"but {len(shapes)} operand(s) were given: one term of indices per operand."
        )
    for term in [*terms, right]:
        _check_term(term, fail)
    unused = [c for c in reversed(LETTERS) if c not in compact]  # Z, Y, ...: for '...' dims
    ellipsis_dims = []
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        named = len(term.replace("...", ""))
        if ("..." in term and named > len(shape)) or ("..." not in term and named != len(shape)):
            cover = " (and '...' covers any number of dims)" if "..." in term else ""
            raise fail(
                f"operand {i} of shape {shape_str(shape)} has {len(shape)} dim(s), but its "
                f"term {term!r} names {named}{cover}: one index per dim, or '...' for the rest."
            )
        ellipsis_dims.append(len(shape) - named)
    spread = max(ellipsis_dims, default=0)
    if spread > len(unused):
        raise fail(f"'...' covers {spread} dims, more than the letters left unused can name.")
    broadcast = "".join(reversed(unused[:spread]))  # the '...' dims, lined up from the right
    subscripts = [
        term.replace("...", broadcast[spread - n :] if n else "")
        for term, n in zip(terms, ellipsis_dims)
    ]
    _check_sizes(equation, subscripts, shapes, set(broadcast), fail)

    if not arrow:  # implicit: '...', then the indices used once, in alphabetical order
        counts = "".join(terms).replace("...", "")
        once = sorted(c for c in set(counts) if counts.count(c) == 1)
        return subscripts, broadcast + "".join(once)
    for index in right.replace("...", ""):
        if right.count(index) > 1:
            raise fail(f"output index {index!r} appears more than once in the output {right!r}.")
        if index not in left:
            raise fail(
                f"output index {index!r} appears in no operand's term: an output dim must come "
                "from an operand."
            )
    return subscripts, right.replace("...", broadcast)


def _check_term(term: str, fail: Any) -> None:
    letters = term.replace("...", "", 1)
    for c in letters:
        if c == ".":
            raise fail(f"a '.' in {term!r} that is not part of one '...' (at most one per term).")
        if c not in LETTERS:
            raise fail(f"index {c!r} in {term!r} is not a letter: indices are a-z and A-Z.")


def _check_sizes(
    equation: str,
    subscripts: Sequence[str],
    shapes: Sequence[Sequence[int]],
    broadcast: set[str],
    fail: Any,
) -> None:
    """Each index has one size throughout; across operands, a size of 1 broadcasts."""
    seen: dict[str, tuple[int, int]] = {}  # index -> (size, the operand it came from)
    for i, (term, shape) in enumerate(zip(subscripts, shapes)):
        here: dict[str, int] = {}
        for index, n in zip(term, shape):
            name = "a dim under '...'" if index in broadcast else f"index {index!r}"
            if index in here and here[index] != n:
                raise fail(
                    f"{name} is repeated in operand {i} of shape {shape_str(shape)} with sizes "
                    f"{here[index]} and {n}: a repeated index takes a diagonal, whose dims must "
                    "be the same size."
                )
            here[index] = n
            if index not in seen:
                seen[index] = (n, i)
                continue
            size, j = seen[index]
            if n != size and 1 not in (n, size):
                raise fail(
                    f"{name} has size {size} in operand {j} of shape {shape_str(shapes[j])} but "
                    f"{n} in operand {i} of shape {shape_str(shape)}: an index has one size "
                    "throughout (a size of 1 broadcasts)."
                )
            if size == 1:
                seen[index] = (n, i)


class Outer(Op):
    """out[i, j] = a[i] b[j].   dL/da = G @ b,  dL/db = G^T @ a  (G = dL/dout).

    dout[i, j]/da[i] = b[j], so dL/da[i] = sum over j of G[i, j] b[j]: the rows of G dotted
    with b. Likewise dL/db[j] = sum over i of G[i, j] a[i]: the columns of G dotted with a.
    """

    torch_name = "MulBackward0"  # (torch's outer is a product of a column and a row)

    @staticmethod
    def forward(ctx: Context, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a_needs, b_needs = ctx.needs_input_grad
        ctx.save_for_backward(a if b_needs else None, b if a_needs else None)
        return torch.outer(a, b)  # a float32 and a float64 vector give float64, as in torch

    @staticmethod
    def backward(ctx: Context, grad: torch.Tensor) -> tuple:
        a, b = ctx.saved_tensors
        a_needs, b_needs = ctx.needs_input_grad
        grad_a = grad @ _as_dtype(b, grad.dtype) if a_needs else None
        grad_b = grad.mT @ _as_dtype(a, grad.dtype) if b_needs else None
        return grad_a, grad_b

    @staticmethod
    def explain_failure(a: Any, b: Any) -> str | None:
        if a.ndim == 1 and b.ndim == 1:
            return None
        return (
            f"outer takes two 1-D tensors (vectors), got shapes {shape_str(a.shape)} and "
            f"{shape_str(b.shape)}: out[i, j] = a[i] b[j]. Flatten them first, or use einsum "
            "for more dims."
        )


def _as_dtype(x: Any, dtype: torch.dtype) -> Any:
    """x in `dtype` (the output's, where float32 met float64), or x itself when it already is."""
    return x if x.dtype == dtype else x.to(dtype)
