"""einsum, outer and prod against torch autograd (float64, rtol 1e-7, atol 1e-9) and finite
differences.

einsum: equations drawn together with their operands' shapes: 1 to 3 operands of 0 to 4 dims,
indices shared between operands, repeated within one (a diagonal), found in one operand only
(summed away), '...' with broadcasting (size-1 dims, and fewer dims under one operand's '...'),
labelled size-1 dims that broadcast, explicit and implicit outputs. Then d2l-style attention
written with einsum, and the errors for equations that cannot work.

Then einsum's and outer's second derivatives (create_graph=True) against torch's, einsum's third,
and OntoDiagonal (the diagonal einsum's backward writes).

prod: over everything and along one dim, with zeros placed by construction: none, exactly one,
two in the same slice. Nonzero values have magnitudes in [0.5, 2], so that no product of up to
625 elements over- or underflows: where x has no zero, torch's backward divides the product by
x, which is off where the product underflowed, and the comparison would test torch's rounding.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.testing import assert_close, assert_matches_torch, gradcheck
from minigrad.testing import strategies as mst

# ---- einsum ------------------------------------------------------------------------------------

INDICES = "ijkA"  # an upper-case one too: the implicit output sorts 'A' before 'i'


@st.composite
def einsum_cases(draw: st.DrawFn, max_side: int = 3) -> tuple[str, list[np.ndarray]]:
    """An equation and operands that fit it, drawn together."""
    size = {c: draw(st.integers(1, max_side), label=f"size of {c}") for c in INDICES}
    # what each operand has under '...' if it has one: shapes that broadcast together, of
    # different ranks (lined up from the right), with size-1 and missing dims
    under = draw(mst.broadcastable_shapes(3, max_rank=2, max_side=max_side), label="'...' dims")
    terms, shapes = [], []
    for i in range(draw(st.integers(1, 3), label="operands")):
        ellipsis = draw(st.booleans(), label="has '...'")
        max_size = 4 - len(under[i]) if ellipsis else 4
        letters = draw(st.lists(st.sampled_from(INDICES), max_size=max_size), label="indices")
        shape = []
        for c in letters:
            # a labelled size-1 dim broadcasts against the others (not if repeated here)
            one = letters.count(c) == 1 and draw(st.integers(0, 5)) == 0
            shape.append(1 if one else size[c])
        term = "".join(letters)
        if ellipsis:
            at = draw(st.integers(0, len(letters)))
            term = term[:at] + "..." + term[at:]
            shape = shape[:at] + list(under[i]) + shape[at:]
        terms.append(term)
        shapes.append(tuple(shape))
    equation = ",".join(terms)
    if draw(st.booleans(), label="explicit output"):
        used = sorted(set("".join(terms).replace(".", "")))
        output = draw(st.permutations(used), label="output order")
        output = "".join(output[: draw(st.integers(0, len(used)))])
        if any("..." in t for t in terms) and draw(st.booleans(), label="keep '...'"):
            at = draw(st.integers(0, len(output)))
            output = output[:at] + "..." + output[at:]
        equation += "->" + output
    arrays = [draw(mst.float_arrays(shape), label=f"operand {i}") for i, shape in enumerate(shapes)]
    return equation, arrays


def ones(*shapes: tuple[int, ...]) -> list[np.ndarray]:
    return [np.linspace(-1, 2, math.prod(s)).reshape(s) for s in shapes]


def check_einsum(equation: str, arrays: list[np.ndarray]) -> None:
    assert_matches_torch(
        lambda *ts: mg.einsum(equation, *ts),
        lambda *ts: torch.einsum(equation, *ts),
        *arrays,
        name=f"einsum({equation!r})",
    )


@given(case=einsum_cases())
@example(case=("ij,jk->ik", ones((2, 3), (3, 4))))  # matmul
@example(case=("ij,jk", ones((2, 3), (3, 4))))  # implicit: the same
@example(case=("ii->i", ones((3, 3))))  # the diagonal
@example(case=("ii->", ones((3, 3))))  # the trace
@example(case=("ii", ones((3, 3))))  # implicit trace
@example(case=("iji->j", ones((2, 3, 2))))  # a repeated index, not side by side
@example(case=("ij->", ones((2, 3))))  # everything summed away
@example(case=("ij->ji", ones((2, 3))))  # a transpose (torch returns a view)
@example(case=("i,j->ij", ones((2,), (3,))))  # outer
@example(case=(",->", ones((), ())))  # two numbers
@example(case=("i,i->i", ones((1,), (3,))))  # a labelled size-1 dim broadcasts
@example(case=("iA,Ai", ones((2, 3), (3, 2))))  # implicit output: 'A' sorts first
@example(case=("...ij,...jk->...ik", ones((2, 1, 2, 3), (4, 3, 2))))  # batched, broadcast
@example(case=("...i,...i", ones((2, 3), (4, 1, 3))))  # implicit: '...' first
@example(case=("i...->i", ones((3, 2, 2))))  # '...' summed away
@example(case=("...ii->...i", ones((2, 3, 3))))  # a batch of diagonals
@example(case=("bqd,bkd->bqk", ones((2, 3, 4), (2, 5, 4))))  # attention scores
@example(case=("ij,jk,kl->il", ones((2, 3), (3, 4), (4, 2))))  # a chain of three
@example(case=("ijk,j->", ones((2, 3, 2), (3,))))  # i and k only in operand 0: summed away
def test_einsum_matches_torch(case):
    check_einsum(*case)


@given(case=einsum_cases())
@example(case=("ij,jk->ik", ones((2, 3), (3, 4))))  # matmul
@example(case=("ii->i", ones((3, 3))))  # the diagonal: its gradient is OntoDiagonal
@example(case=("iji->j", ones((2, 3, 2))))
@example(case=("ij->", ones((2, 3))))
@example(case=("ijk,j->", ones((2, 3, 2), (3,))))  # i and k only in operand 0: summed first
@example(case=("...ij,...jk->...ik", ones((2, 1, 2, 3), (4, 3, 2))))
@example(case=("bj,j,bb->b", ones((2, 3), (3,), (2, 2))))  # three, with a diagonal
@example(case=("i,i->i", ones((1,), (3,))))  # a labelled size-1 dim broadcasts
def test_einsum_second_derivatives_match_torch(case):
    """einsum is linear in each operand, so its second derivatives are the cross terms: how
    dL/d(operand k), an einsum of G and the others, changes with the others and with G."""
    equation, arrays = case
    assert_matches_torch(
        lambda *ts: mg.einsum(equation, *ts),
        lambda *ts: torch.einsum(equation, *ts),
        *arrays,
        order=2,
        name=f"einsum({equation!r})",
    )


@given(case=einsum_cases(max_side=2))
def test_einsum_third_derivatives_match_torch(case):
    """Differentiated three times: the gradient of the second derivatives, which goes through
    the einsums (and OntoDiagonal) that the backward formulas recorded."""
    equation, arrays = case
    results = []
    for lib in (mg, torch):
        inputs = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = lib.einsum(equation, *inputs)
        total = (out * out).sum() if out.ndim else out * out  # not linear: something to find
        for _ in range(3):
            grads = lib.autograd.grad(total, inputs, create_graph=True, allow_unused=True)
            grads = [g for g in grads if g is not None and g.requires_grad]
            if not grads:
                break
            total = sum((g * g).sum() for g in grads)
        results.append(total)
    ours, theirs = results
    assert_close(ours._data, theirs.detach(), what=f"einsum({equation!r}), third order")


def test_onto_diagonal_matches_torchs_diagonal_scatter():
    """The op einsum's backward writes a diagonal with: 'ii' puts g on a matrix's diagonal,
    'iji' g[i, j] at out[i, j, i] (torch's diagonal_scatter over dims 0 and 2 takes it as j, i)."""
    g = np.linspace(-1, 2, 6).reshape(2, 3)
    assert_matches_torch(
        lambda t: mg.ops.OntoDiagonal.apply(t * t, subscripts="iji", shape=(2, 3, 2)),
        lambda t: torch.diagonal_scatter(torch.zeros(2, 3, 2, dtype=t.dtype), (t * t).T, 0, 0, 2),
        g,
        order=2,
        name="OntoDiagonal('iji')",
    )
    v = np.array([1.5, -2.0, 0.5])
    assert_matches_torch(
        lambda t: mg.ops.OntoDiagonal.apply(t, subscripts="ii", shape=(3, 3)),
        torch.diag_embed,
        v,
        order=2,
        name="OntoDiagonal('ii')",
    )


@given(case=einsum_cases())
def test_einsum_takes_a_list_of_operands(case):
    equation, arrays = case
    assert_matches_torch(
        lambda *ts: mg.einsum(equation, list(ts)),
        lambda *ts: torch.einsum(equation, list(ts)),
        *arrays,
        name=f"einsum({equation!r}, [...])",
    )


@given(case=einsum_cases(max_side=2))
@example(case=("ii,i->", ones((2, 2), (2,))))
def test_einsum_passes_gradcheck(case):
    equation, arrays = case
    gradcheck(lambda *ts: mg.einsum(equation, *ts), *arrays, name=f"einsum({equation!r})")


@given(
    under=mst.broadcastable_shapes(3, max_rank=3, max_side=3),
    side=st.integers(1, 3),
    output=st.sampled_from(["->...i", "->i...", "->...", "->", ""]),
    data=st.data(),
)
@example(under=((2, 3), (3,), (1, 1, 1)), side=2, output="->...i", data=None)
def test_einsum_broadcasts_the_dims_under_ellipsis(under, side, output, data):
    """Three operands, each with '...' over dims of its own rank, lined up from the right."""
    equation = "...i,i...,..." + output
    shapes = [(*under[0], side), (side, *under[1]), under[2]]
    if data is None:
        arrays = ones(*shapes)
    else:
        arrays = [
            data.draw(mst.float_arrays(s), label=f"operand {i}") for i, s in enumerate(shapes)
        ]
    check_einsum(equation, arrays)


def test_einsum_gradient_of_matmul_is_the_einsum_the_docstring_gives():
    """'ij,jk->ik': dA = einsum('ik,jk->ij', G, B), dB = einsum('ik,ij->jk', G, A)."""
    a, b = (mg.tensor(x, requires_grad=True) for x in ones((2, 3), (3, 4)))
    g = torch.linspace(-2, 1, 8, dtype=torch.float64).reshape(2, 4)
    mg.einsum("ij,jk->ik", a, b).backward(mg.Tensor(g))
    assert torch.equal(a.grad._data, torch.einsum("ik,jk->ij", g, b._data))
    assert torch.equal(b.grad._data, torch.einsum("ik,ij->jk", g, a._data))


def test_einsum_result_is_a_tensor_of_its_own():
    """torch returns a view for 'ij->ji'; minigrad a copy: writing into it leaves x alone."""
    x = mg.tensor(ones((2, 3))[0], requires_grad=True)
    y = mg.einsum("ij->ji", x) * 1
    z = mg.einsum("ij->ji", x.detach())
    z[0, 0] = 100.0
    assert x[0, 0].item() == -1.0
    y.sum().backward()
    assert x.grad.tolist() == [[1.0] * 3] * 2


def attention(lib, queries, keys, values):
    """Scaled dot-product attention as d2l writes it, with einsum for the two batched products."""
    d = queries.shape[-1]
    scores = lib.einsum("bqd,bkd->bqk", queries, keys) / math.sqrt(d)
    weights = lib.nn.functional.softmax(scores, dim=-1)
    return lib.einsum("bqk,bkd->bqd", weights, values)


@given(sides=st.tuples(*[st.integers(1, 4)] * 5), data=st.data())
@example(sides=(2, 3, 5, 4, 6), data=None)
def test_einsum_attention_matches_torch(sides, data):
    batch, n_queries, n_keys, d, d_value = sides
    shapes = [(batch, n_queries, d), (batch, n_keys, d), (batch, n_keys, d_value)]
    if data is None:
        arrays = ones(*shapes)
    else:
        arrays = [data.draw(mst.float_arrays(s, -3, 3)) for s in shapes]
    assert_matches_torch(
        lambda q, k, v: attention(mg, q, k, v),
        lambda q, k, v: attention(torch, q, k, v),
        *arrays,
        name="attention with einsum",
    )


BAD_EQUATIONS = [
    (
        "ij,jk->ik",
        [(2, 3), (4, 5)],
        r"einsum\('ij,jk->ik'\): index 'j' has size 3 in operand 0 of shape \(2, 3\) but 4 "
        r"in operand 1 of shape \(4, 5\): an index has one size throughout",
    ),
    (
        "ii->i",
        [(2, 3)],
        r"einsum\('ii->i'\): index 'i' is repeated in operand 0 of shape \(2, 3\) with sizes "
        r"2 and 3: a repeated index takes a diagonal",
    ),
    (
        "ij",
        [(2, 3, 4)],
        r"einsum\('ij'\): operand 0 of shape \(2, 3, 4\) has 3 dim\(s\), but its term 'ij' "
        r"names 2: one index per dim",
    ),
    (
        "...ijk",
        [(2, 3)],
        r"operand 0 of shape \(2, 3\) has 2 dim\(s\), but its term '...ijk' names 3 "
        r"\(and '...' covers any number of dims\)",
    ),
    ("ij,jk", [(2, 3)], r"einsum\('ij,jk'\): the equation has 2 operand term\(s\).* but 1"),
    ("ij->k", [(2, 3)], r"output index 'k' appears in no operand's term"),
    ("ij->ii", [(2, 3)], r"output index 'i' appears more than once in the output 'ii'"),
    ("i1", [(2, 3)], r"index '1' in 'i1' is not a letter: indices are a-z and A-Z"),
    ("..i", [(2, 3)], r"a '.' in '..i' that is not part of one '...'"),
    ("i->i->i", [(2,)], r"more than one '->'"),
    (
        "...i,...i",
        [(2, 3), (4, 3)],
        r"a dim under '...' has size 2 in operand 0 of shape \(2, 3\) but 4 in operand 1 of "
        r"shape \(4, 3\)",
    ),
]


@pytest.mark.parametrize(("equation", "shapes", "message"), BAD_EQUATIONS)
def test_einsum_refuses_what_torch_refuses_and_says_why(equation, shapes, message):
    with pytest.raises(RuntimeError):
        torch.einsum(equation, *[torch.ones(s) for s in shapes])
    with pytest.raises(mg.ShapeError, match=message):
        mg.einsum(equation, *[mg.ones(s, requires_grad=True) for s in shapes])


def test_einsum_refuses_other_forms_and_mixed_dtypes():
    a = mg.ones(2, 3)
    with pytest.raises(TypeError, match=r"einsum\(a, \[0, 1\], b, \[1, 2\]\), is not supported"):
        mg.einsum(a, [0, 1])
    with pytest.raises(TypeError, match=r"einsum\('ij->'.*operand 0 is a ndarray"):
        mg.einsum("ij->", np.ones((2, 3)))
    with pytest.raises(TypeError, match="dtype"):
        mg.einsum("ij,jk", a, mg.ones(3, 2, dtype=mg.float64))


def test_einsum_letters_for_ellipsis_do_not_clash_with_the_equations():
    """'...' dims get letters the equation leaves unused, counted down from 'Z'."""
    check_einsum("YZ...,X->YZ...", ones((2, 3, 2, 4), (2,)))
    check_einsum("...,W...,XYZ->ZWY...", ones((2,), (3, 2), (2, 4, 2)))


# ---- outer --------------------------------------------------------------------------------------

vectors = mst.float_arrays(mst.shapes(1, 1))


@given(a=vectors, b=vectors)
@example(a=np.array([1.0, 2.0]), b=np.array([3.0, -1.0, 0.5]))
@example(a=np.array([2.0]), b=np.array([3.0]))
def test_outer_matches_torch(a, b):
    assert_matches_torch(lambda x, y: x.outer(y), lambda x, y: x.outer(y), a, b, name="outer")
    assert_matches_torch(mg.outer, torch.outer, a, b, name="minigrad.outer")
    assert_matches_torch(mg.ger, torch.ger, a, b, name="minigrad.ger")


@given(a=vectors, b=vectors)
def test_outer_second_derivatives_match_torch(a, b):
    assert_matches_torch(mg.outer, torch.outer, a, b, order=2, name="outer")
    assert_matches_torch(
        mg.outer, torch.outer, a.astype(np.float32), b, order=2, name="outer, float32 and float64"
    )


@given(a=mst.distinct_arrays(mst.shapes(1, 1, max_side=3)), b=vectors)
def test_outer_passes_gradcheck(a, b):
    gradcheck(mg.outer, a, b, name="outer")


def test_outer_promotes_dtypes_as_torch_and_gives_each_input_its_dtype_back():
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0, 5.0], dtype=mg.float64, requires_grad=True)
    out = mg.outer(a, b)
    assert out.dtype == torch.outer(a._data, b._data).dtype == torch.float64
    out.sum().backward()
    assert a.grad.dtype == torch.float32 and a.grad.tolist() == [12.0, 12.0]
    assert b.grad.dtype == torch.float64 and b.grad.tolist() == [3.0, 3.0, 3.0]


def test_outer_refuses_what_is_not_a_vector():
    with pytest.raises(mg.ShapeError, match=r"outer takes two 1-D.*shapes \(2, 1\) and \(3,\)"):
        mg.outer(mg.ones(2, 1), mg.ones(3))
    with pytest.raises(mg.ShapeError, match=r"shapes \(\) and \(3,\)"):
        mg.tensor(2.0).outer(mg.ones(3))


# ---- prod ---------------------------------------------------------------------------------------


@st.composite
def prod_cases(
    draw: st.DrawFn, dim_required: bool = False, shapes=mst.shapes
) -> tuple[np.ndarray, object, bool]:
    """(x, dim, keepdim), x with none, one, or two zeros (the two in one slice along dim)."""
    shape = draw(shapes(1 if dim_required else 0), label="shape")
    magnitudes = draw(mst.float_arrays(shape, 0.5, 2.0), label="magnitudes")
    signs = draw(mst.float_arrays(shape, -1, 1).map(np.sign), label="signs")
    x = np.where(signs < 0, -magnitudes, magnitudes)
    dim = draw(st.integers(-len(shape), len(shape) - 1), label="dim") if shape else 0
    if not dim_required and draw(st.booleans(), label="over everything"):
        dim = None
    zeros = draw(st.sampled_from([0, 1, 2]), label="zeros")
    if zeros and shape:
        at = [draw(st.integers(0, side - 1)) for side in shape]
        x[tuple(at)] = 0.0
        along = 0 if dim is None else dim % len(shape)
        if zeros == 2 and shape[along] > 1:  # a second one in the same slice
            at[along] = (at[along] + draw(st.integers(1, shape[along] - 1))) % shape[along]
            x[tuple(at)] = 0.0
    elif zeros:
        x = np.zeros(())
    return x, dim, draw(st.booleans(), label="keepdim")


def prod_of(case):
    x, dim, keepdim = case
    return lambda t: t.prod() if dim is None else t.prod(dim, keepdim=keepdim)


@given(case=prod_cases())
@example(case=(np.array([2.0, 3.0, -0.5]), None, False))  # no zero
@example(case=(np.array([2.0, 0.0, -0.5]), None, False))  # one zero: only it gets a gradient
@example(case=(np.array([0.0, 3.0, 0.0]), None, False))  # two zeros: no gradient anywhere
@example(case=(np.array(0.0), None, False))  # 0-d
@example(case=(np.array(1.5), 0, True))  # 0-d along its only "dim"
@example(
    case=(np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0], [1.0, 2.0, 4.0]]), 1, False)
)  # per row: one zero, two zeros, none
@example(case=(np.array([[2.0, 0.0], [0.0, 1.5], [3.0, 0.0]]), 0, True))
@example(case=(np.array([[2.0, 0.0], [0.5, 1.5]]), -1, False))
def test_prod_matches_torch(case):
    x, dim, keepdim = case
    assert_matches_torch(prod_of(case), prod_of(case), x, name=f"prod({dim}, keepdim={keepdim})")


@given(case=prod_cases())
@example(case=(np.array([2.0, 0.0, -0.5]), None, False))  # one zero
@example(case=(np.array([0.0, 3.0, 0.0]), None, False))  # two zeros
@example(case=(np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0], [1.0, 2.0, 4.0]]), 1, False))
def test_prod_second_derivatives_match_torch(case):
    """Under create_graph the product of the others is taken by Prod itself (each position's
    row of x with itself replaced by 1): exact with zeros, as the running products are."""
    x, dim, keepdim = case
    name = f"prod({dim}, keepdim={keepdim})"
    assert_matches_torch(prod_of(case), prod_of(case), x, order=2, name=name)


def test_prod_differentiated_three_times_with_zeros_is_torchs():
    x = np.array([[2.0, 0.0, 3.0, -1.5], [0.0, 0.0, 5.0, 0.5], [2.0, 3.0, 4.0, 0.5]])
    ours, theirs = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    d_ours, d_theirs = ours.prod(1), theirs.prod(1)
    for _ in range(3):
        (d_ours,) = mg.autograd.grad(d_ours.sum(), ours, create_graph=True)
        (d_theirs,) = torch.autograd.grad(d_theirs.sum(), theirs, create_graph=True)
        assert_close(d_ours._data, d_theirs.detach(), what="d^k prod / dx^k")


@given(case=prod_cases(dim_required=True))
def test_prod_function_matches_torch(case):
    x, dim, keepdim = case
    assert_matches_torch(
        lambda t: mg.prod(t, dim, keepdim),
        lambda t: torch.prod(t, dim, keepdim),
        x,
        name=f"minigrad.prod(x, {dim}, {keepdim})",
    )


def test_prod_gradient_with_zeros_by_hand():
    x = mg.tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [2.0, 3.0, 4.0]], requires_grad=True)
    x.prod(1).sum().backward()
    assert x.grad.tolist() == [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0], [12.0, 8.0, 6.0]]
    y = mg.tensor([2.0, 0.0, 3.0], requires_grad=True)
    y.prod().backward()
    assert y.grad.tolist() == [0.0, 6.0, 0.0]  # not NaN: no division by y


@given(case=prod_cases(shapes=mst.small_shapes))
def test_prod_passes_gradcheck(case):
    gradcheck(prod_of(case), case[0], name=f"prod({case[1]}, keepdim={case[2]})")


@given(x=mst.float_arrays(mst.shapes(1, 2, max_side=3), 0.5, 2.0).map(lambda a: a.astype("f4")))
def test_prod_with_a_dtype_matches_torch(x):
    # float32 in, float64 out; the gradient comes back as float32
    assert_matches_torch(
        lambda t: t.prod(dtype=torch.float64),
        lambda t: t.prod(dtype=torch.float64),
        x,
        name="prod(dtype=float64)",
    )
    assert_matches_torch(
        lambda t: t.prod(-1, dtype=torch.float64),
        lambda t: t.prod(-1, dtype=torch.float64),
        x,
        name="prod(-1, dtype=float64)",
    )


EXACT_HALVES = st.sampled_from([-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0])


@given(
    x=mst.hnp.arrays(np.float32, st.integers(1, 4), elements=EXACT_HALVES),
    data=st.data(),
)
def test_prod_with_a_dtype_differentiated_twice_is_its_hessian(x, data):
    """float32 in, float64 out, differentiated twice: H v, with H_ij the product of all x but
    x_i and x_j (0 on the diagonal). Halves multiply exactly, so H v is exact, and so must be
    minigrad's (torch's came out one float32 step off for x = [-2, -2])."""
    v = data.draw(mst.hnp.arrays(np.float32, x.shape, elements=EXACT_HALVES), label="v")
    t = mg.tensor(x, requires_grad=True)
    (first,) = mg.autograd.grad(t.prod(dtype=torch.float64), t, create_graph=True)
    (second,) = mg.autograd.grad((first * mg.tensor(v)).sum(), t)
    n = len(x)
    hessian = np.array([[np.prod(np.delete(x.astype(np.float64), [i, j])) if i != j else 0.0
                         for j in range(n)] for i in range(n)])  # fmt: skip
    assert second.dtype == torch.float32
    assert second.tolist() == (hessian @ v.astype(np.float64)).astype(np.float32).tolist()


# ---- cumprod ------------------------------------------------------------------------------------


def cumprod_of(case):
    x, dim, _ = case
    return lambda t: t.cumprod(dim)


CUMPROD_ZEROS = [  # by hand: one zero, two zeros in a slice, three, and a zero first or last
    (np.array([2.0, 3.0, 0.0, 5.0]), 0, False),
    (np.array([2.0, 0.0, 3.0, 0.0, -0.5]), 0, False),
    (np.array([[0.0, 2.0, 0.0, 0.0], [1.5, -2.0, 0.5, 0.0]]), 1, False),
    (np.array([[0.0, 2.0], [1.5, 0.0], [0.0, 0.0]]), 0, False),
]


@given(case=prod_cases(dim_required=True))
@example(case=(np.array(1.5), 0, False))  # 0-d: its own running product
@example(case=CUMPROD_ZEROS[0])
@example(case=CUMPROD_ZEROS[1])
@example(case=CUMPROD_ZEROS[2])
@example(case=CUMPROD_ZEROS[3])
def test_cumprod_matches_torch(case):
    x, dim, _ = case
    assert_matches_torch(cumprod_of(case), cumprod_of(case), x, name=f"cumprod({dim})")
    assert_matches_torch(
        lambda t: mg.cumprod(t, dim), lambda t: torch.cumprod(t, dim), x, name="mg.cumprod"
    )


@given(case=prod_cases(dim_required=True))
@example(case=CUMPROD_ZEROS[1])
@example(case=CUMPROD_ZEROS[2])
def test_cumprod_second_derivatives_match_torch(case):
    """Under create_graph the backward's formula is recorded (its cumprod is CumProd again)."""
    x, dim, _ = case
    assert_matches_torch(cumprod_of(case), cumprod_of(case), x, order=2, name=f"cumprod({dim})")


def test_cumprod_gradient_with_zeros_by_hand():
    """out = [2, 6, 0, 0]: x_1 is in every out_i, with the others 1, 3, 0, 0 -> 1 + 3 = 4;
    x_2: 2 + 0 + 0 = 2; the zero x_3: out_3 and out_4 without it, 6 + 6 * 5 = 36; x_4: 0."""
    x = mg.tensor([2.0, 3.0, 0.0, 5.0], requires_grad=True)
    x.cumprod(0).sum().backward()
    assert x.grad.tolist() == [4.0, 2.0, 36.0, 0.0]  # not NaN: no division by x


@given(case=prod_cases(dim_required=True, shapes=mst.small_shapes))
def test_cumprod_passes_gradcheck(case):
    gradcheck(cumprod_of(case), case[0], name=f"cumprod({case[1]})")


@given(x=mst.float_arrays(mst.shapes(1, 2, max_side=3), 0.5, 2.0).map(lambda a: a.astype("f4")))
def test_cumprod_with_a_dtype_matches_torch(x):
    # float32 in, float64 out; the gradient comes back as float32
    assert_matches_torch(
        lambda t: t.cumprod(-1, dtype=torch.float64),
        lambda t: t.cumprod(-1, dtype=torch.float64),
        x,
        name="cumprod(dtype=float64)",
    )


def test_prod_of_integers_and_numpy_names():
    assert mg.tensor([1, 2, 3, 4]).prod().tolist() == torch.tensor([1, 2, 3, 4]).prod().tolist()
    assert mg.tensor([1, 2, 3]).prod().dtype == torch.int64
    x = np.arange(1.0, 7.0).reshape(2, 3)
    ours = mg.tensor(x).prod(axis=1, keepdims=True)
    assert ours.tolist() == torch.tensor(x).prod(1, keepdim=True).tolist()


def test_prod_takes_one_dim():
    with pytest.raises(TypeError, match=r"prod takes one dim \(an int\), as torch's does"):
        mg.ones(2, 3).prod((0, 1))


@pytest.mark.parametrize(
    "shapes, grad_of, changed",
    [
        (((2, 3), (2, 3)), (True, False), (True, False)),  # a is not kept: b needs no gradient
        (((2, 3), (2, 3)), (True, False), (False, True)),  # b is kept, for a's gradient
        (((2, 3), (2, 1)), (False, True), (True, False)),  # a is kept summed over j (b's j: 1)
        (((2, 3), (4, 1)), (True, True), (True, True)),
    ],
)
def test_an_operand_changed_in_place_after_einsum_is_refused_where_torch_refuses(
    shapes, grad_of, changed
):
    """What backward keeps decides whether a later in-place change is an error: minigrad keeps
    what torch keeps (an operand only for the others' gradients; summed over an index that the
    other operand has with size 1), so both refuse, or both give the same gradients."""

    def run(lib):
        generator = torch.Generator().manual_seed(0)
        values = [torch.randn(s, dtype=torch.float64, generator=generator) for s in shapes]
        a, b = (lib.tensor(v.numpy(), requires_grad=g) for v, g in zip(values, grad_of))
        a2, b2 = a * 1, b * 1  # non-leaves, to change in place
        out = lib.einsum("...ij,...kj->...ik", a2, b2)
        for value, change in zip((a2, b2), changed):
            if change:
                value.mul_(2.0)
        try:
            out.sum().backward()
        except Exception as error:  # noqa: BLE001  (either library's error type)
            return "refused: " + type(error).__name__
        return [None if t.grad is None else getattr(t.grad, "_data", t.grad) for t in (a, b)]

    ours, theirs = run(mg), run(torch)
    assert isinstance(ours, str) == isinstance(theirs, str), (ours, theirs)
    if not isinstance(theirs, str):
        for mine, reference in zip(ours, theirs):
            assert (mine is None) == (reference is None)
            if reference is not None:
                torch.testing.assert_close(mine, reference, rtol=1e-12, atol=1e-12)
