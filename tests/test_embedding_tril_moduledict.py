"""What "Let's build GPT"-style code needs: embedding (F.embedding, nn.Embedding), tril/triu and
nn.ModuleDict, against torch (float64, rtol 1e-7, atol 1e-9, random upstream gradients) and
finite differences; then a tiny attention language model trained side by side with torch.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from test_no_torch_autograd import forbid_torch_autograd

import minigrad as mg
from minigrad import nn
from minigrad.errors import GradientError, ShapeError
from minigrad.nn import functional as F
from minigrad.testing import assert_close, assert_matches_torch, gradcheck
from minigrad.testing import strategies as mst

TF = torch.nn.functional


# ---- F.embedding: the op against torch -----------------------------------------------------------


@st.composite
def lookups(draw: st.DrawFn, max_rows: int = 6, max_side: int = 4):
    """A float64 table (rows, dim), indices of any shape (empty and 0-d included, repeats
    likely: few rows), padding_idx (None, or any row, counted from either end) and
    scale_grad_by_freq."""
    rows = draw(st.integers(1, max_rows), label="num_embeddings")
    dim = draw(st.integers(1, 4), label="embedding_dim")
    weight = draw(mst.float_arrays((rows, dim)), label="weight")
    shape = draw(mst.shapes(max_rank=3, min_side=0, max_side=max_side), label="index shape")
    indices = draw(
        st.lists(st.integers(0, rows - 1), min_size=math.prod(shape), max_size=math.prod(shape)),
        label="indices",
    )
    padding = draw(st.none() | st.integers(-rows, rows - 1), label="padding_idx")
    scale = draw(st.booleans(), label="scale_grad_by_freq")
    return weight, np.array(indices, dtype=np.int64).reshape(shape), padding, scale


@given(case=lookups())
@example(case=(np.arange(8.0).reshape(4, 2), np.array([[0, 0, 3], [0, 1, 0]]), None, False))
@example(case=(np.arange(8.0).reshape(4, 2), np.array([[0, 0, 3], [0, 1, 0]]), 0, True))
@example(case=(np.arange(8.0).reshape(4, 2), np.array([3, 3, 1]), -1, True))  # -1: row 3
@example(case=(np.arange(8.0).reshape(4, 2), np.array(2), None, False))  # a 0-d index
@example(case=(np.arange(8.0).reshape(4, 2), np.zeros((2, 0), np.int64), 1, True))  # none
def test_embedding_matches_torch(case):
    weight, indices, padding_idx, scale = case
    options = {"padding_idx": padding_idx, "scale_grad_by_freq": scale}
    assert_matches_torch(
        lambda w, i: F.embedding(i, w, **options),
        lambda w, i: TF.embedding(i, w, **options),
        weight,
        indices,
        name=f"embedding({options})",
    )


class EmbeddingWrittenOut(torch.autograd.Function):
    """torch's embedding, its backward written with torch's ops so that torch's autograd
    differentiates it as the maths says: the reference for the second derivatives torch's own
    embedding gets wrong. torch's double backward of embedding leaves scale_grad_by_freq's
    scale out (embedding_dense_double_backward: "the first backward takes care of scaling"), so
    its gradient with respect to the upstream gradient is count times too large (see the test
    below); and it fails on an empty batch of indices (a view to (0, -1)). The first derivative
    is torch's own, tested above."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        ctx.save_for_backward(indices)
        ctx.rows, ctx.padding_idx, ctx.scale = weight.shape[0], padding_idx, scale_grad_by_freq
        return TF.embedding(indices, weight, padding_idx=padding_idx)

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        rows = indices.reshape(-1)
        grads = grad.reshape(rows.numel(), grad.shape[-1])
        if ctx.scale:
            counts = torch.bincount(rows, minlength=ctx.rows)[rows].to(grad.dtype)
            grads = grads / counts.unsqueeze(1)
        table = grads.new_zeros(ctx.rows, grads.shape[1]).index_add(0, rows, grads)
        if ctx.padding_idx is not None:
            keep = torch.ones(ctx.rows, 1, dtype=grad.dtype)
            keep[ctx.padding_idx] = 0
            table = table * keep
        return table, None, None, None


@given(case=lookups())
@example(case=(np.arange(8.0).reshape(4, 2), np.array([[0, 0, 3], [0, 1, 0]]), None, False))
@example(case=(np.arange(8.0).reshape(4, 2), np.array([[0, 0, 3], [0, 1, 0]]), 0, True))
@example(case=(np.arange(8.0).reshape(4, 2), np.array([3, 3, 1]), -1, True))
def test_embedding_differentiated_twice_matches_torch(case):
    """Embedding's backward adds rows into zeros (IndexAdd), whose backward looks rows up (an
    IndexSelect): differentiated twice, alone (linear in the weight: the second derivative is in
    the upstream gradient) and squared (in both)."""
    weight, indices, padding_idx, scale = case
    ours = lambda w, i: F.embedding(  # noqa: E731
        i, w, padding_idx=padding_idx, scale_grad_by_freq=scale
    )
    if scale or indices.size == 0:
        theirs = lambda w, i: EmbeddingWrittenOut.apply(w, i, padding_idx, scale)  # noqa: E731
    else:
        theirs = lambda w, i: TF.embedding(i, w, padding_idx=padding_idx)  # noqa: E731
    name = f"embedding(padding_idx={padding_idx}, scale_grad_by_freq={scale})"
    assert_matches_torch(ours, theirs, weight, indices, order=2, name=name)
    squared = lambda f: lambda w, i: f(w, i) * f(w, i)  # noqa: E731
    assert_matches_torch(squared(ours), squared(theirs), weight, indices, order=2, name=name)


@given(case=lookups())
def test_embedding_differentiated_three_times_matches_torch(case):
    """The weight's gradient of sum(embedding^3), taken with create_graph=True (IndexAdd in its
    graph), differentiated twice: IndexAdd's backward (a lookup) then runs on minigrad Tensors
    as an IndexSelect, differentiated in turn."""
    weight, indices, padding_idx, scale = case
    written_out = scale or indices.size == 0  # where torch's double backward is wrong

    def gradient(lib):
        def of(w, i):
            if lib is torch and written_out:
                rows = EmbeddingWrittenOut.apply(w, i, padding_idx, scale)
            else:
                F_ = lib.nn.functional
                rows = F_.embedding(i, w, padding_idx=padding_idx, scale_grad_by_freq=scale)
            return lib.autograd.grad((rows * rows * rows).sum(), w, create_graph=True)[0]

        return of

    assert_matches_torch(gradient(mg), gradient(torch), weight, indices, order=2)


def test_torchs_double_backward_of_embedding_misses_the_frequency_scale_and_empty_indices():
    """Why the test above checks scale_grad_by_freq=True and empty indices against a reference
    of its own: the gradient of the weight's gradient, with respect to the upstream gradient G,
    should divide by each index's count as the weight's gradient does; torch's does not (torch
    2.13), and minigrad's does. With no indices, torch's fails. (If torch changes, this says
    so.)"""
    weight = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    indices = torch.tensor([0, 0, 2])
    out = TF.embedding(indices, weight, scale_grad_by_freq=True)
    upstream = torch.ones(3, 2, dtype=torch.float64, requires_grad=True)
    (grad_weight,) = torch.autograd.grad(out, weight, upstream, create_graph=True)
    (torchs,) = torch.autograd.grad(grad_weight.sum(), upstream)
    assert torchs.tolist() == [[1.0, 1.0]] * 3  # row 0 was picked twice: it should be 1/2
    ours_weight = mg.tensor(weight.detach(), requires_grad=True)
    ours_upstream = mg.ones(3, 2, dtype=mg.float64, requires_grad=True)
    out = F.embedding(mg.tensor(indices), ours_weight, scale_grad_by_freq=True)
    (grad_weight,) = mg.autograd.grad(out, ours_weight, ours_upstream, create_graph=True)
    (ours,) = mg.autograd.grad(grad_weight.sum(), ours_upstream)
    assert ours.tolist() == [[0.5, 0.5], [0.5, 0.5], [1.0, 1.0]]
    # and no indices at all: torch's double backward refuses; minigrad's gives no gradient
    for lib in (torch, mg):
        weight = lib.zeros(3, 2, dtype=lib.float64, requires_grad=True)
        out = lib.nn.functional.embedding(lib.zeros(0, dtype=lib.int64), weight)
        upstream = lib.zeros(0, 2, dtype=lib.float64, requires_grad=True)
        (grad_weight,) = lib.autograd.grad(out, weight, upstream, create_graph=True)
        if lib is torch:
            with pytest.raises(RuntimeError, match="0 elements"):
                torch.autograd.grad(grad_weight.sum(), upstream)
        else:
            assert mg.autograd.grad(grad_weight.sum(), upstream)[0].shape == (0, 2)


@given(case=lookups(max_rows=4, max_side=3))
def test_embedding_passes_gradcheck(case):
    """The plain lookup only: padding_idx and scale_grad_by_freq change the gradient on
    purpose (no gradient for the padding row; a scaled one), away from the derivative that
    finite differences measure. torch is their reference, above."""
    weight, indices, _, _ = case
    gradcheck(lambda w: F.embedding(mg.tensor(indices), w), weight)


def test_repeated_indices_add_up_and_the_padding_row_gets_nothing():
    weight = mg.zeros(4, 2, dtype=mg.float64, requires_grad=True)
    out = F.embedding(mg.tensor([[1, 3, 1], [1, 0, 3]]), weight, padding_idx=3)
    out.backward(mg.ones(2, 3, 2, dtype=mg.float64))
    assert weight.grad.tolist() == [[1, 1], [3, 3], [0, 0], [0, 0]]


def test_int32_indices_work_as_in_torch():
    weight = np.random.default_rng(0).normal(size=(5, 3))
    indices = np.array([[4, 0], [0, 2]], dtype=np.int32)
    assert_matches_torch(
        lambda w, i: F.embedding(i, w), lambda w, i: TF.embedding(i, w), weight, indices
    )


@given(
    weight=mst.float_arrays((5, 3), -3, 3),
    indices=st.lists(st.integers(0, 4), min_size=1, max_size=6),
    max_norm=st.sampled_from([0.1, 1.0, 2.5, 100.0]),
    norm_type=st.sampled_from([1.0, 2.0, 3.0, math.inf]),
)
def test_max_norm_renormalises_the_picked_rows_in_place_as_torch(
    weight, indices, max_norm, norm_type
):
    """torch rescales, in place and outside the graph, each picked row whose norm is over
    max_norm; the rows not picked stay as they are. Same values, weights and gradients."""
    theirs = torch.tensor(weight, requires_grad=True)
    ours = mg.tensor(weight, requires_grad=True)
    index = torch.tensor(indices)
    expected = TF.embedding(index, theirs, max_norm=max_norm, norm_type=norm_type)
    got = F.embedding(mg.tensor(index), ours, max_norm=max_norm, norm_type=norm_type)
    assert_close(ours._data, theirs.detach(), what="the renormalised weight")
    assert_close(got._data, expected.detach(), what="the rows looked up")
    upstream = torch.randn(expected.shape, dtype=torch.float64)
    expected.backward(upstream)
    got.backward(upstream)
    assert_close(ours.grad._data, theirs.grad, what="the weight's gradient")


def test_max_norm_changes_the_weight_in_place_so_an_earlier_use_cannot_backward():
    """torch's documented trap: with max_norm the lookup changes the weight in place, so a
    differentiable use of the weight before it must clone it (else backward refuses)."""
    for lib in (torch, mg):
        layer = lib.nn.Embedding(3, 2, max_norm=0.1, dtype=torch.float64)
        earlier = (layer.weight * layer.weight).sum()  # Mul saved the weight
        layer(lib.tensor([0, 1]))
        with pytest.raises(RuntimeError, match="modified (by an inplace operation|in place)"):
            earlier.backward()
        earlier = (layer.weight.clone() ** 2).sum()
        layer(lib.tensor([0, 2]))
        earlier.backward()  # the clone was saved, not the weight


def test_embedding_refuses_what_it_cannot_look_up():
    weight = mg.randn(5, 3)
    with pytest.raises(TypeError, match=r"got torch.float32.*indices.long\(\)"):
        F.embedding(mg.tensor([1.0, 2.0]), weight)
    with pytest.raises(TypeError, match="got torch.bool"):
        F.embedding(mg.tensor([True]), weight)
    with pytest.raises(IndexError, match=r"index 7 is out of range .*num_embeddings=5"):
        F.embedding(mg.tensor([[0, 7], [2, 1]]), weight)
    with pytest.raises(IndexError, match=r"index -1 is out of range .*num_embeddings=5"):
        F.embedding(mg.tensor([-1, 2]), weight)
    with pytest.raises(TypeError, match="integer Tensor, got list"):
        F.embedding([0, 1], weight)
    with pytest.raises(ValueError, match=r"weight must be a 2-d Tensor .* got \(5,\)"):
        F.embedding(mg.tensor([0]), mg.randn(5))
    with pytest.raises(AssertionError, match="padding_idx=5 names no row of .* num_embeddings=5"):
        F.embedding(mg.tensor([0]), weight, padding_idx=5)
    with pytest.raises(AssertionError, match="padding_idx=-6"):
        nn.Embedding(5, 3, padding_idx=-6)
    for make in (
        lambda: F.embedding(mg.tensor([0]), weight, sparse=True),
        lambda: nn.Embedding(5, 3, sparse=True),
        lambda: nn.Embedding.from_pretrained(torch.zeros(2, 2), sparse=True),
    ):
        with pytest.raises(NotImplementedError, match="sparse=True .* Leave sparse=False"):
            make()
    # torch refuses the same cases (its exception types: RuntimeError for a float index)
    with pytest.raises(RuntimeError):
        TF.embedding(torch.tensor([1.0]), torch.randn(5, 3))
    with pytest.raises(IndexError):
        TF.embedding(torch.tensor([7]), torch.randn(5, 3))
    with pytest.raises(AssertionError):
        TF.embedding(torch.tensor([0]), torch.randn(5, 3), padding_idx=5)


def test_a_compiled_step_looks_up_rows_as_the_eager_one():
    """minigrad.compile records the lookup, max_norm's renormalisation, tril's mask and the
    backward's index_add_; check=True compares every replay with the eager step from the same
    state."""
    mg.manual_seed(0)
    table = nn.Embedding(10, 4, padding_idx=0, max_norm=1.0, dtype=mg.float64)
    head = nn.Linear(4, 10, dtype=mg.float64)
    optimizer = mg.optim.SGD([*table.parameters(), *head.parameters()], lr=0.1)

    @mg.compile(check=True)
    def step(x, y):
        h = table(x)
        T = h.shape[1]
        mask = mg.ones(T, T).tril() == 0
        h = (h @ h.mT).masked_fill(mask, float("-inf")).softmax(-1) @ h
        loss = F.cross_entropy(head(h).view(-1, 10), y.view(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    for _ in range(4):
        step(mg.randint(0, 10, (2, 5)), mg.randint(0, 10, (2, 5)))
    assert (step.traces, step.replays) == (1, 3)


# ---- nn.Embedding --------------------------------------------------------------------------------


@pytest.mark.parametrize("padding_idx", [None, 0, 3, -1])
def test_embedding_layer_is_initialised_as_torchs_for_the_same_seed(padding_idx):
    torch.manual_seed(5)
    theirs = torch.nn.Embedding(7, 4, padding_idx=padding_idx)
    mg.manual_seed(5)
    ours = nn.Embedding(7, 4, padding_idx=padding_idx)
    assert torch.equal(ours.weight._data, theirs.weight.detach())
    assert ours.padding_idx == theirs.padding_idx  # a negative one counted from the end
    if padding_idx is not None:
        assert ours.weight._data[padding_idx].abs().sum() == 0
    assert isinstance(ours.weight, nn.Parameter) and ours.weight.requires_grad
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]


def test_embedding_layer_init_is_standard_normal():
    mg.manual_seed(0)
    values = nn.Embedding(1000, 100).weight._data
    assert abs(values.mean().item()) < 0.01 and values.std().item() == pytest.approx(1, rel=0.01)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"padding_idx": 2},
        {"padding_idx": -1, "max_norm": 1.5},
        {"norm_type": 1.0, "scale_grad_by_freq": True},
        {"max_norm": 2, "norm_type": 2.0},
    ],
)
def test_embedding_layer_repr_matches_torch(options):
    assert repr(nn.Embedding(10, 3, **options)) == repr(torch.nn.Embedding(10, 3, **options))


def test_embedding_layer_dtype_device_and_frozen(device):
    layer = nn.Embedding(4, 3, device=device, dtype=torch.float64, _freeze=True)
    assert layer.weight.dtype == torch.float64 and layer.weight.device.type == device
    assert not layer.weight.requires_grad
    out = layer(mg.tensor([[0, 3]], device=device))
    assert out.shape == (1, 2, 3) and not out.requires_grad


def test_embedding_layer_loads_torchs_weights_and_computes_as_torch():
    theirs = torch.nn.Embedding(6, 3, padding_idx=1, scale_grad_by_freq=True).double()
    ours = nn.Embedding(6, 3, padding_idx=1, scale_grad_by_freq=True).double()
    ours.load_state_dict(theirs.state_dict())
    index = torch.tensor([[1, 2, 2], [5, 1, 2]])
    upstream = torch.randn(2, 3, 3, dtype=torch.float64)
    expected, got = theirs(index), ours(mg.tensor(index))
    assert_close(got._data, expected.detach(), what="forward")
    expected.backward(upstream)
    got.backward(upstream)
    assert_close(ours.weight.grad._data, theirs.weight.grad, what="weight gradient")


@pytest.mark.parametrize("freeze", [True, False])
def test_from_pretrained_shares_the_table_and_keeps_its_padding_row(freeze):
    table = torch.arange(12.0).reshape(4, 3)
    for embeddings in (table.clone(), mg.tensor(table.clone())):
        ours = nn.Embedding.from_pretrained(embeddings, freeze=freeze, padding_idx=0)
        theirs = torch.nn.Embedding.from_pretrained(table.clone(), freeze=freeze, padding_idx=0)
        assert repr(ours) == repr(theirs) == "Embedding(4, 3, padding_idx=0)"
        assert torch.equal(ours.weight._data, theirs.weight.detach())  # row 0 not zeroed
        assert ours.weight.requires_grad == theirs.weight.requires_grad == (not freeze)
        raw = embeddings._data if isinstance(embeddings, mg.Tensor) else embeddings
        assert ours.weight._data.data_ptr() == raw.data_ptr()  # the same memory, as torch's
    with pytest.raises(AssertionError, match="2-dimensional, got shape"):
        nn.Embedding.from_pretrained(torch.zeros(3))
    with pytest.raises(AssertionError, match=r"got \(2, 2\), expected \(3, 2\)"):
        nn.Embedding(3, 2, _weight=torch.zeros(2, 2))


# ---- tril and triu -------------------------------------------------------------------------------


@st.composite
def matrices_and_diagonals(draw: st.DrawFn, shapes=None):
    """A batch of matrices (..., M, N) and a diagonal from below the last row to beyond the
    last column."""
    x = draw(mst.float_arrays(shapes if shapes is not None else mst.shapes(min_rank=2)))
    rows, cols = x.shape[-2:]
    return x, draw(st.integers(-rows - 2, cols + 2), label="diagonal")


@pytest.mark.parametrize("name", ["tril", "triu"])
@pytest.mark.parametrize("form", ["method", "function"])
@given(case=matrices_and_diagonals())
@example(case=(np.ones((3, 4)), 0))
@example(case=(np.ones((4, 3)), -1))
@example(case=(np.ones((2, 3, 3)), 1))
@example(case=(np.ones((3, 3)), 5))  # beyond the matrix: all kept (tril) or none (triu)
@example(case=(np.ones((3, 3)), -5))
def test_tril_and_triu_match_torch(name, form, case):
    x, diagonal = case

    def call(lib):
        if form == "method":
            return lambda t: getattr(t, name)(diagonal)
        return lambda t: getattr(lib, name)(t, diagonal=diagonal)

    assert_matches_torch(call(mg), call(torch), x, name=f"{form} {name}({diagonal})")


@pytest.mark.parametrize("name", ["tril", "triu"])
@given(case=matrices_and_diagonals())
@example(case=(np.ones((2, 3, 3)), 1))
def test_tril_and_triu_second_derivatives_match_torch(name, case):
    """The gradient is the same triangle of G, linear in G: of sum(dL/dx * v), by G it is the
    triangle of v; times x, the mask meets x's own gradient."""
    x, diagonal = case
    for ours in (
        lambda t: getattr(t, name)(diagonal),
        lambda t: getattr(t, name)(diagonal) * t,
    ):
        assert_matches_torch(ours, ours, x, order=2, name=f"{name}({diagonal})")


@pytest.mark.parametrize("name", ["tril", "triu"])
@given(case=matrices_and_diagonals(mst.small_shapes(min_rank=2)))
def test_tril_and_triu_pass_gradcheck(name, case):
    x, diagonal = case
    gradcheck(lambda t: getattr(t, name)(diagonal) * t, x, name=f"{name}({diagonal}) * x")


@pytest.mark.parametrize("name", ["tril_", "triu_"])
@given(case=matrices_and_diagonals(mst.shapes(min_rank=2, max_rank=3)))
def test_in_place_tril_and_triu_match_torch(name, case):
    """In place on a result, and through a transposed view of one (the write goes back to
    the viewed tensor's history)."""
    x, diagonal = case

    def in_place(t):
        h = t * 1
        getattr(h, name)(diagonal)
        return h

    def through_a_view(t):
        h = t * 1
        getattr(h.mT, name)(diagonal)
        return h

    assert_matches_torch(in_place, in_place, x, name=f"h.{name}({diagonal})")
    assert_matches_torch(through_a_view, through_a_view, x, name=f"h.mT.{name}({diagonal})")


def test_tril_and_triu_of_integers_and_their_refusals():
    assert torch.equal(
        mg.arange(9).reshape(3, 3).tril()._data, torch.arange(9).reshape(3, 3).tril()
    )
    assert torch.equal(
        mg.triu(mg.ones(2, 3, dtype=mg.bool), 1)._data, torch.ones(2, 3).bool().triu(1)
    )
    for name in ("tril", "triu"):
        with pytest.raises(ShapeError, match=rf"{name} works on matrices .* shape \(3,\)"):
            getattr(mg.ones(3), name)()
        with pytest.raises(RuntimeError):  # torch refuses too
            getattr(torch.ones(3), name)()
    leaf = mg.ones(2, 2, requires_grad=True)
    with pytest.raises(GradientError, match="in-place tril_ on a leaf"):
        leaf.tril_()


def causal_attention(lib, mask_form):
    """One head of masked self-attention, as "Let's build GPT" writes it, for torch or minigrad
    (x: (B, T, C); q, k, v: the projections)."""

    def attend(x, wq, wk, wv):
        T = x.shape[1]
        ones = lib.ones(T, T, dtype=x.dtype)
        tril = ones.tril() if mask_form == "method" else lib.tril(ones)
        q, k, v = x @ wq, x @ wk, x @ wv
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        wei = wei.masked_fill(tril == 0, float("-inf"))
        wei = lib.nn.functional.softmax(wei, dim=-1)
        return wei @ v

    return attend


@pytest.mark.parametrize("mask_form", ["method", "function"])
@given(
    x=mst.float_arrays(st.tuples(st.integers(1, 3), st.integers(1, 5), st.just(4)), -2, 2),
    weights=mst.float_arrays((3, 4, 4), -1, 1),
)
def test_the_causal_attention_mask_idiom_matches_torch(mask_form, x, weights):
    assert_matches_torch(
        causal_attention(mg, mask_form),
        causal_attention(torch, mask_form),
        x,
        *weights,
        name=f"masked self-attention ({mask_form} tril)",
    )


def test_a_causal_mask_sends_no_gradient_to_the_future():
    x = mg.randn(1, 4, 4, dtype=mg.float64, requires_grad=True)
    weights = [mg.randn(4, 4, dtype=mg.float64) for _ in range(3)]
    out = causal_attention(mg, "method")(x, *weights)
    out[0, 1].sum().backward()  # position 1 sees positions 0 and 1 only
    assert x.grad._data[0, 2:].abs().sum() == 0
    assert x.grad._data[0, :2].abs().sum() > 0


# ---- nn.ModuleDict -------------------------------------------------------------------------------

KEYS = ["a", "b", "c", "0", "training", "keys", "x.y", ""]  # the last four: refused names
DICT_OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            ["set", "delete", "pop", "get", "update_dict", "update_pairs", "clear", "attribute"]
        ),
        st.lists(st.sampled_from(KEYS), min_size=1, max_size=3),
    ),
    max_size=8,
)


@given(operations=DICT_OPERATIONS)
def test_module_dict_changes_as_torchs_and_names_its_layers_by_key(operations):
    """The same dict operations on torch's ModuleDict and ours, with layers told apart by their
    sizes: the same layers under the same keys in the same order, the same state_dict names,
    the same repr, the same errors."""
    counter = iter(range(1, 1000))

    def layers(n):  # the same sizes for both sides
        sizes = [next(counter) for _ in range(n)]
        return [torch.nn.Linear(1, k) for k in sizes], [nn.Linear(1, k) for k in sizes]

    (t0, t1), (m0, m1) = layers(2)
    theirs = torch.nn.ModuleDict({"b": t0, "a": t1})
    ours = nn.ModuleDict({"b": m0, "a": m1})
    for operation, keys in operations:
        their_layers, our_layers = layers(len(keys))
        results = []
        for side, new in ((theirs, their_layers), (ours, our_layers)):
            try:
                if operation == "set":
                    side[keys[0]] = new[0]
                    result = None
                elif operation == "delete":
                    del side[keys[0]]
                    result = None
                elif operation == "pop":
                    result = side.pop(keys[0]).out_features
                elif operation == "get":
                    result = side[keys[0]].out_features
                elif operation == "update_dict":
                    side.update(dict(zip(keys, new)))
                    result = None
                elif operation == "update_pairs":
                    side.update(list(zip(keys, new)))
                    result = None
                elif operation == "attribute":  # a layer is also the attribute of its name
                    result = getattr(side, keys[0]).out_features
                else:
                    side.clear()
                    result = None
            except (KeyError, TypeError, AttributeError) as error:
                result = type(error)
            results.append(result)
        assert results[0] == results[1], (operation, keys, results)
    assert list(ours) == list(theirs) == list(ours.keys()) == list(theirs.keys())
    sizes = [[(k, layer.out_features) for k, layer in side.items()] for side in (theirs, ours)]
    assert sizes[0] == sizes[1]
    assert [layer.out_features for layer in ours.values()] == [s for _, s in sizes[0]]
    assert len(ours) == len(theirs)
    assert [key in ours for key in KEYS] == [key in theirs for key in KEYS]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert repr(ours) == repr(theirs)


def test_a_module_dict_in_a_model_loads_torchs_weights_and_computes_as_torch():
    def heads(lib):  # a model written once, for torch.nn or minigrad.nn
        class Heads(lib.Module):
            def __init__(self):
                super().__init__()
                self.body = lib.Linear(4, 4)
                self.heads = lib.ModuleDict([("cls", lib.Linear(4, 3)), ("box", lib.Linear(4, 2))])

            def forward(self, x, task):
                return self.heads[task](self.body(x).relu())

        return Heads()

    theirs, ours = heads(torch.nn), heads(nn)
    ours.load_state_dict(theirs.state_dict())
    assert list(ours.state_dict()) == list(theirs.state_dict())  # heads.cls.weight, ...
    assert repr(ours) == repr(theirs)
    x = torch.randn(5, 4)
    for task in ("cls", "box"):
        torch.testing.assert_close(ours(mg.Tensor(x), task)._data, theirs(x, task).detach())


def test_module_dict_refuses_what_torch_refuses():
    ours, theirs = nn.ModuleDict(), torch.nn.ModuleDict()
    with pytest.raises(TypeError, match="ModuleDict holds Modules; key 'act' is a function"):
        ours["act"] = lambda x: x
    with pytest.raises(TypeError, match="keys are strs"):
        ours[1] = nn.ReLU()
    with pytest.raises(KeyError, match="attribute 'training' already exists"):
        ours["training"] = nn.ReLU()
    with pytest.raises(KeyError, match="can't be empty or contain '.'"):
        ours["a.b"] = nn.ReLU()
    with pytest.raises(KeyError):
        ours.pop("missing")
    for side in (ours, theirs):
        with pytest.raises(TypeError):  # not iterable
            side.update(3)
        with pytest.raises(TypeError):  # a pair that is not iterable
            side.update([3])
        with pytest.raises(ValueError):  # not a pair
            side.update([("a", nn.ReLU() if side is ours else torch.nn.ReLU(), 3)])
    assert repr(ours) == repr(theirs) == "ModuleDict()"


# ---- a tiny attention language model, trained side by side with torch ----------------------------

TEXT = "first citizen: before we proceed any further, hear me speak. speak, speak."
VOCAB = sorted(set(TEXT))
BLOCK, EMBED, HEAD = 8, 12, 8


def tiny_gpt(lib):
    """Token and position embeddings, one masked self-attention head, a linear head: "Let's
    build GPT"'s first attention model, written once for torch or minigrad."""
    nn_ = lib.nn

    class Head(nn_.Module):
        def __init__(self):
            super().__init__()
            self.key = nn_.Linear(EMBED, HEAD, bias=False)
            self.query = nn_.Linear(EMBED, HEAD, bias=False)
            self.value = nn_.Linear(EMBED, HEAD, bias=False)
            self.register_buffer("tril", lib.tril(lib.ones(BLOCK, BLOCK)))

        def forward(self, x):
            B, T, C = x.shape
            k, q = self.key(x), self.query(x)
            wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
            wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
            wei = nn_.functional.softmax(wei, dim=-1)
            return wei @ self.value(x)

    class TinyGPT(nn_.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding_table = nn_.Embedding(len(VOCAB), EMBED)
            self.position_embedding_table = nn_.Embedding(BLOCK, EMBED)
            self.sa_head = Head()
            self.lm_head = nn_.Linear(HEAD, len(VOCAB))

        def forward(self, idx, targets):
            B, T = idx.shape
            tok_emb = self.token_embedding_table(idx)
            pos_emb = self.position_embedding_table(lib.arange(T))
            logits = self.lm_head(self.sa_head(tok_emb + pos_emb))
            B, T, C = logits.shape
            return nn_.functional.cross_entropy(logits.view(B * T, C), targets.view(B * T))

    return TinyGPT()


@pytest.mark.parametrize("optimizer", ["AdamW", "SGD"])
def test_a_tiny_attention_language_model_trains_as_torchs(monkeypatch, optimizer):
    """Same initial weights, same batches, float64: after every step each parameter equals
    torch's to rtol 1e-10. minigrad's steps run with torch's autograd and its embedding
    backward kernels forbidden."""
    data = torch.tensor([VOCAB.index(ch) for ch in TEXT])
    torch.manual_seed(0)
    theirs = tiny_gpt(torch).double()
    ours = tiny_gpt(mg).double()
    ours.load_state_dict(theirs.state_dict())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    options = {"lr": 1e-2, "weight_decay": 0.1} if optimizer == "AdamW" else {"lr": 0.5}
    their_opt = getattr(torch.optim, optimizer)(theirs.parameters(), **options)
    our_opt = getattr(mg.optim, optimizer)(ours.parameters(), **options)
    generator = torch.Generator().manual_seed(1)

    def forbidden(*args, **kwargs):
        raise AssertionError("minigrad called torch's own differentiation")

    for step in range(5):
        starts = torch.randint(len(data) - BLOCK, (4,), generator=generator)
        x = torch.stack([data[i : i + BLOCK] for i in starts])
        y = torch.stack([data[i + 1 : i + BLOCK + 1] for i in starts])
        their_loss = theirs(x, y)
        their_opt.zero_grad(set_to_none=True)
        their_loss.backward()
        their_opt.step()
        with monkeypatch.context() as patch:
            forbid_torch_autograd(patch)
            for kernel in ("embedding_backward", "embedding_dense_backward"):
                patch.setattr(torch.ops.aten, kernel, forbidden)
            our_loss = ours(mg.tensor(x), mg.tensor(y))
            our_opt.zero_grad(set_to_none=True)
            our_loss.backward()
            our_opt.step()
        assert our_loss.item() == pytest.approx(their_loss.item(), rel=1e-10, abs=0)
        theirs_now = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            torch.testing.assert_close(
                p._data, theirs_now[name].detach(), rtol=1e-10, atol=0, msg=f"step {step}: {name}"
            )
    assert our_loss.item() < math.log(len(VOCAB))  # it learned something
