"""Lazy layers (LazyLinear, LazyConv*, LazyConvTranspose*, LazyBatchNorm*) against torch's under
the same seed: the values drawn on the first call, the names and shapes, the class they become,
a few SGD steps with the optimizer built before or after a dry run, state_dict, and the errors
for using a placeholder's values. Then RReLU and the alpha dropouts: torch's draws under a seed
(on the CPU), values and gradients in float64 to rtol 1e-10.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.errors import ShapeError
from minigrad.nn import functional as F
from minigrad.nn.modules import UninitializedError
from minigrad.testing import assert_matches_torch
from minigrad.testing import strategies as mst

# (minigrad's layer, torch's, constructor args, input shape without the batch's in-size)
LAZY = {
    "Linear": (nn.LazyLinear, torch.nn.LazyLinear, (3,), lambda n, c: (n, 2, c)),
    "Conv1d": (nn.LazyConv1d, torch.nn.LazyConv1d, (4, 3), lambda n, c: (n, c, 6)),
    "Conv2d": (nn.LazyConv2d, torch.nn.LazyConv2d, (4, 2), lambda n, c: (n, c, 4, 5)),
    "ConvTranspose1d": (
        nn.LazyConvTranspose1d,
        torch.nn.LazyConvTranspose1d,
        (4, 3),
        lambda n, c: (n, c, 5),
    ),  # fmt: skip
    "ConvTranspose2d": (
        nn.LazyConvTranspose2d,
        torch.nn.LazyConvTranspose2d,
        (2, 2),
        lambda n, c: (n, c, 3, 4),
    ),  # fmt: skip
    "BatchNorm1d": (nn.LazyBatchNorm1d, torch.nn.LazyBatchNorm1d, (), lambda n, c: (n, c)),
    "BatchNorm2d": (nn.LazyBatchNorm2d, torch.nn.LazyBatchNorm2d, (), lambda n, c: (n, c, 3, 2)),
}
BECOMES = {name: getattr(nn, name) for name in LAZY}


def pair(name: str, seed: int, **kwargs):
    ours_cls, theirs_cls, args, _ = LAZY[name]
    torch.manual_seed(seed)
    theirs = theirs_cls(*args, **kwargs)
    mg.manual_seed(seed)
    ours = ours_cls(*args, **kwargs)
    return ours, theirs


def first_call(ours, theirs, x: torch.Tensor, seed: int):
    """Call both on x with the generator at the same state: the draws happen in the call."""
    torch.manual_seed(seed)
    expected = theirs(x)
    mg.manual_seed(seed)
    got = ours(mg.Tensor(x.clone()))
    return got, expected


@pytest.mark.parametrize("name", LAZY)
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(2, 4), c=st.integers(1, 5), bias=st.booleans())
def test_lazy_layers_draw_torchs_values_and_become_the_plain_layer(name, seed, n, c, bias):
    kwargs = {"bias": bias}
    ours, theirs = pair(name, seed, **kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.has_uninitialized_params() and theirs.has_uninitialized_params()
    names = [k for k, _ in ours.named_parameters()]
    assert names == [k for k, _ in theirs.named_parameters()]
    assert all(repr(p) == "<UninitializedParameter>" for p in ours.parameters())
    x = torch.randn(LAZY[name][3](n, c), dtype=torch.float64)
    ours.double(), theirs.double()
    got, expected = first_call(ours, theirs, x, seed + 1)
    assert type(ours) is BECOMES[name] and type(theirs).__name__ == name
    assert not hasattr(ours, "has_uninitialized_params")  # (as torch: a plain layer now)
    assert repr(ours) == repr(theirs)
    assert all(type(p) is nn.Parameter for p in ours.parameters())
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key, value in theirs_state.items():
        assert ours_state[key].dtype == value.dtype, key
        torch.testing.assert_close(ours_state[key], value, rtol=0, atol=0, msg=key)
    torch.testing.assert_close(got._data, expected.detach(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("optimizer_first", [False, True])
def test_an_mlp_of_lazy_linears_trains_as_torchs(optimizer_first):
    """d2l's way: a dry run, then the optimizer; and the optimizer built first (torch's works:
    the placeholders become the parameters it holds)."""

    def make(lib):
        return lib.Sequential(lib.LazyLinear(8), lib.ReLU(), lib.LazyLinear(3))

    torch.manual_seed(0)
    theirs = make(torch.nn).double()
    ours = make(nn).double()
    x, y = torch.randn(6, 5, dtype=torch.float64), torch.tensor([0, 2, 1, 1, 0, 2])
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.1) if optimizer_first else None
    opt_ours = mg.optim.SGD(ours.parameters(), lr=0.1) if optimizer_first else None
    torch.manual_seed(1)
    theirs(x[:2])  # the dry run
    torch.manual_seed(1)
    ours(mg.Tensor(x[:2].clone()))
    opt_theirs = opt_theirs or torch.optim.SGD(theirs.parameters(), lr=0.1)
    opt_ours = opt_ours or mg.optim.SGD(ours.parameters(), lr=0.1)
    for _ in range(4):
        loss_theirs = torch.nn.functional.cross_entropy(theirs(x), y)
        opt_theirs.zero_grad(), loss_theirs.backward(), opt_theirs.step()
        loss_ours = nn.functional.cross_entropy(ours(mg.Tensor(x.clone())), mg.Tensor(y))
        opt_ours.zero_grad(), loss_ours.backward(), opt_ours.step()
        assert loss_ours.item() == pytest.approx(loss_theirs.item(), rel=1e-10)
    for (k, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        torch.testing.assert_close(a._data, b.detach(), rtol=1e-10, atol=1e-12, msg=k)


def test_lazy_batchnorm_updates_running_stats_as_torchs():
    ours, theirs = pair("BatchNorm2d", 0, momentum=None)
    x = torch.randn(3, 4, 2, 2, dtype=torch.float64) * 3 + 1
    ours.double(), theirs.double()
    for _ in range(2):
        first_call(ours, theirs, x, 0)
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value, rtol=1e-12, atol=0, msg=key)
    assert ours.state_dict()["num_batches_tracked"].item() == 2


def test_placeholders_state_dict_and_device_dtype_before_the_first_call():
    ours = nn.LazyBatchNorm1d(affine=True, dtype=torch.float64)
    state = ours.state_dict()
    assert list(state) == list(torch.nn.LazyBatchNorm1d().state_dict())
    assert [repr(v) for v in state.values()][:4] == ["<UninitializedParameter>"] * 2 + [
        "<UninitializedBuffer>"
    ] * 2
    assert ours.weight.dtype == torch.float64 and ours.weight.requires_grad
    ours.float()
    assert ours.weight.dtype == ours.running_mean.dtype == torch.float32
    ours(mg.randn(4, 3))
    assert ours.weight.shape == ours.running_var.shape == (3,)
    assert type(ours.running_mean) is mg.Tensor and ours.weight.dtype == torch.float32


def test_using_a_placeholder_raises_in_minigrads_words():
    layer = nn.LazyLinear(3)
    for use in (lambda: layer.weight.shape, lambda: layer.weight + 1, lambda: layer.weight.sum()):
        with pytest.raises(UninitializedError, match="no shape and no values yet.*dry run"):
            use()
    with pytest.raises(RuntimeError), pytest.raises(ValueError):  # torch's two kinds, both
        layer.weight.numpy()
    with pytest.raises(RuntimeError, match="uninitialized"):
        _ = torch.nn.LazyLinear(3).weight.shape


def test_load_state_dict_into_a_lazy_layer_materialises_it_as_torch():
    source = nn.Linear(4, 3)
    layer = nn.LazyLinear(3)
    layer.load_state_dict(source.state_dict())
    assert type(layer) is nn.LazyLinear and type(layer.weight) is nn.Parameter
    torch.testing.assert_close(layer.weight._data, source.weight._data)
    x = mg.randn(2, 4)
    out = layer(x)
    assert type(layer) is nn.Linear and layer.in_features == 4
    torch.testing.assert_close(out._data, source(x)._data, rtol=0, atol=0)
    again = nn.LazyLinear(3)
    again.load_state_dict(source.state_dict())
    with pytest.raises(ValueError, match="in_features=5.*in_features=4"):
        again(mg.randn(2, 5))
    with pytest.raises(AssertionError):  # torch raises there too
        theirs = torch.nn.LazyLinear(3)
        theirs.load_state_dict(torch.nn.Linear(4, 3).state_dict())
        theirs(torch.randn(2, 5))
    with pytest.raises(RuntimeError, match="placeholder"):
        source.load_state_dict(nn.LazyLinear(3).state_dict())
    with pytest.raises(RuntimeError):
        torch.nn.Linear(4, 3).load_state_dict(torch.nn.LazyLinear(3).state_dict())


def test_lazy_conv_errors_where_torch_raises():
    with pytest.raises(ValueError, match=r"in_channels \(3.*groups \(2\)"):
        nn.LazyConv2d(4, 3, groups=2)(mg.randn(1, 3, 5, 5))
    with pytest.raises(ValueError, match="divisible by groups"):
        torch.nn.LazyConv2d(4, 3, groups=2)(torch.randn(1, 3, 5, 5))
    with pytest.raises(ValueError, match=r"3-d \(unbatched\) or 4-d.*\(3, 5\)"):
        nn.LazyConv2d(4, 3)(mg.randn(3, 5))
    with pytest.raises(RuntimeError, match="Expected 3D"):
        torch.nn.LazyConv2d(4, 3)(torch.randn(3, 5))


def test_lazy_linear_reads_the_last_dim_and_works_unbatched():
    layer = nn.LazyLinear(2)
    assert layer(mg.randn(7, 3, 5)).shape == (7, 3, 2)
    assert layer.weight.shape == (2, 5)
    unbatched = nn.LazyConv1d(2, 3)
    assert unbatched(mg.randn(4, 9)).shape == (2, 7) and unbatched.in_channels == 4


# ---- RReLU, AlphaDropout, FeatureAlphaDropout: torch's draws under a seed (on the CPU) --------


def seeded(fn, seed):
    """fn with the generator set to `seed` on each call: every call draws the same numbers."""

    def call(*args):
        torch.manual_seed(seed)
        return fn(*args)

    return call


@settings(max_examples=15, deadline=None)
@given(
    x=mst.float_arrays(mst.shapes(), -5, 5),
    bounds=st.tuples(st.floats(0, 1), st.floats(0, 1)).map(sorted),
    training=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_rrelu_matches_torch_values_and_gradients(x, bounds, training, seed):
    lower, upper = bounds
    assert_matches_torch(
        seeded(lambda t: F.rrelu(t, lower, upper, training), seed),
        seeded(lambda t: TF.rrelu(t, lower, upper, training), seed),
        x, rtol=1e-10, atol=1e-12, device="cpu", name="rrelu",
    )  # fmt: skip


def test_rrelu_at_zero_and_float32_and_in_place_match_torch():
    """x = 0 draws a slope (torch's x <= 0) and its gradient is that slope; float32 rounds the
    bounds and the slopes as torch's kernel does."""
    x = np.array([0.0, -0.0, -1.0, 2.0, -3.0, 0.0])
    assert_matches_torch(
        seeded(lambda t: F.rrelu(t, training=True), 5),
        seeded(lambda t: TF.rrelu(t, training=True), 5),
        x, rtol=1e-10, atol=1e-12, device="cpu", name="rrelu at 0",
    )  # fmt: skip
    for dtype in (torch.float64, torch.float32):  # the very numbers (uniform_(lower, upper)
        x = torch.randn(40, 30, dtype=dtype)  # would fuse its multiply-add: one bit apart)
        torch.manual_seed(2)
        expected = TF.rrelu(x, 0.1, 0.7, training=True)
        torch.manual_seed(2)
        assert torch.equal(F.rrelu(mg.Tensor(x), 0.1, 0.7, training=True)._data, expected)
    x32 = torch.randn(40, 30)
    torch.manual_seed(2)
    expected = TF.rrelu(x32, 0.1, 0.7, training=True)
    torch.manual_seed(2)
    got = F.rrelu_(mg.Tensor(x32.clone()), 0.1, 0.7, training=True)
    assert torch.equal(got._data, expected)
    layer = nn.RReLU(0.1, 0.3)
    assert repr(layer) == repr(torch.nn.RReLU(0.1, 0.3))
    layer.eval()
    assert torch.equal(layer(mg.Tensor(x32))._data, torch.nn.RReLU(0.1, 0.3).eval()(x32))


def test_rrelu_refuses_bounds_in_the_wrong_order_as_torch():
    with pytest.raises(ValueError, match=r"lower \(0.5\) must not be greater than upper \(0.2\)"):
        F.rrelu(mg.randn(3), 0.5, 0.2)
    with pytest.raises(RuntimeError, match="Lower bound"):
        TF.rrelu(torch.randn(3), 0.5, 0.2)


ALPHA = {
    "alpha_dropout": (F.alpha_dropout, TF.alpha_dropout),
    "feature_alpha_dropout": (F.feature_alpha_dropout, TF.feature_alpha_dropout),
}


@pytest.mark.parametrize("name", ALPHA)
@settings(max_examples=15, deadline=None)
@given(
    x=mst.float_arrays(mst.shapes(min_rank=2), -5, 5),
    p=st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]) | st.floats(0, 1),
    training=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_alpha_dropouts_match_torch_values_and_gradients(name, x, p, training, seed):
    ours, theirs = ALPHA[name]
    assert_matches_torch(
        seeded(lambda t: ours(t, p, training), seed),
        seeded(lambda t: theirs(t, p, training), seed),
        x, rtol=1e-10, atol=1e-12, device="cpu", name=name,
    )  # fmt: skip


def test_alpha_dropout_keeps_mean_0_and_variance_1():
    """What the affine correction is for: a standard normal input stays standard."""
    mg.manual_seed(0)
    out = F.alpha_dropout(mg.randn(400_000, dtype=torch.float64), 0.3, training=True)._data
    assert abs(out.mean().item()) < 0.01 and abs(out.var().item() - 1) < 0.01


def test_alpha_dropout_layers_and_their_errors_as_torch():
    pairs = [
        (nn.AlphaDropout(0.2), torch.nn.AlphaDropout(0.2)),
        (nn.FeatureAlphaDropout(0.3, True), torch.nn.FeatureAlphaDropout(0.3, True)),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        x = torch.randn(3, 4, 5)
        torch.manual_seed(1)
        expected = theirs(x.clone())
        torch.manual_seed(1)
        assert torch.equal(ours(mg.Tensor(x.clone()))._data, expected)
        assert torch.equal(ours.eval()(mg.Tensor(x))._data, x)
    with pytest.raises(ShapeError, match=r"\(N, C, \*\).*\(3,\)"):
        F.feature_alpha_dropout(mg.randn(3), 0.3, training=True)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        TF.feature_alpha_dropout(torch.randn(3), 0.3, training=True)
    with pytest.raises(ValueError, match="p=1.5.*between 0 and 1"):
        F.alpha_dropout(mg.randn(3), 1.5)
    with pytest.raises(ValueError):
        TF.alpha_dropout(torch.randn(3), 1.5)


# ---- pdist, gumbel_softmax ----------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(
    x=mst.float_arrays(mst.shapes(min_rank=2, max_rank=2, max_side=6), -3, 3),
    p=st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, float("inf")]),
    rounded=st.booleans(),
)
def test_pdist_matches_torch_values_and_gradients(x, p, rounded):
    """Rounded values give equal rows and tied features: torch's gradients there too."""
    x = np.round(x) if rounded else x
    assert_matches_torch(
        lambda t: F.pdist(t, p), lambda t: torch.pdist(t, p), x,
        rtol=1e-10, atol=1e-12, name=f"pdist p={p}",
    )  # fmt: skip


def test_pdist_leaves_out_the_diagonal_and_keeps_torchs_order():
    x = mg.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    assert F.pdist(x).tolist() == [5.0, 10.0, 5.0]
    assert F.pdist(mg.randn(1, 3)).shape == (0,)


def test_pdist_errors_where_torch_raises():
    with pytest.raises(ShapeError, match=r"\(N, M\), a 2-d input; got shape \(3,\)"):
        F.pdist(mg.randn(3))
    with pytest.raises(RuntimeError, match="2D"):
        torch.pdist(torch.randn(3))
    with pytest.raises(ValueError, match="p >= 0.*p=-1"):
        F.pdist(mg.randn(3, 2), -1)
    with pytest.raises(RuntimeError, match="non-negative"):
        torch.pdist(torch.randn(3, 2), -1)


@settings(max_examples=20, deadline=None)
@given(
    x=mst.float_arrays(mst.shapes(min_rank=1), -3, 3),
    tau=st.floats(0.1, 3),
    hard=st.booleans(),
    data=st.data(),
    seed=st.integers(0, 2**31),
)
def test_gumbel_softmax_matches_torch_under_a_seed(x, tau, hard, data, seed):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    assert_matches_torch(
        seeded(lambda t: F.gumbel_softmax(t, tau, hard, dim=dim), seed),
        seeded(lambda t: TF.gumbel_softmax(t, tau, hard, dim=dim), seed),
        x, rtol=1e-10, atol=1e-12, device="cpu", name="gumbel_softmax",
    )  # fmt: skip


def test_gumbel_softmax_hard_is_one_hot_with_the_soft_gradient():
    logits = mg.randn(6, 5, dtype=torch.float64, requires_grad=True)
    mg.manual_seed(0)
    hard = F.gumbel_softmax(logits, 0.5, hard=True)
    assert (hard._data.sum(-1) == 1).all() and ((hard._data == 0) | (hard._data == 1)).all()
    w = mg.randn(6, 5, dtype=torch.float64)
    (hard * w).sum().backward()
    soft_logits = mg.tensor(logits._data.clone(), requires_grad=True)
    mg.manual_seed(0)
    (F.gumbel_softmax(soft_logits, 0.5) * w).sum().backward()
    assert torch.equal(logits.grad._data, soft_logits.grad._data)


# ---- embedding_bag ----------------------------------------------------------------------------


@st.composite
def bags(draw):
    """A table, indices and how they fall into bags: 2-d (B, N), or 1-d with offsets (empty
    bags included), with or without include_last_offset."""
    rows = draw(st.integers(1, 6))
    table = draw(mst.float_arrays(st.just((rows, draw(st.integers(1, 4)))), -3, 3))
    if draw(st.booleans()):  # ties between rows: max must pick torch's row
        table = np.round(table)
    ids = st.integers(0, rows - 1)
    if draw(st.booleans()):
        b, n = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        return (
            table,
            np.array(draw(st.lists(ids, min_size=b * n, max_size=b * n))).reshape(b, n),
            None,
            False,
        )
    indices = np.array(draw(st.lists(ids, max_size=8)), dtype=np.int64)
    cuts = sorted(draw(st.lists(st.integers(0, len(indices)), max_size=4)))
    include_last = draw(st.booleans())
    offsets = [0, *cuts] + ([len(indices)] if include_last else [])
    return table, indices, np.array(offsets, dtype=np.int64), include_last


@settings(max_examples=40, deadline=None)
@given(
    bag=bags(),
    mode=st.sampled_from(["sum", "mean", "max"]),
    weighted=st.booleans(),
    padding=st.none() | st.integers(-2, 1),
)
def test_embedding_bag_matches_torch_values_and_gradients(bag, mode, weighted, padding):
    table, indices, offsets, include_last = bag
    padding = (
        None if padding is None or not -table.shape[0] <= padding < table.shape[0] else padding
    )
    weighted = weighted and mode == "sum"
    psw = np.random.default_rng(0).normal(size=indices.shape)

    def call(lib, index, as_tensor):
        def f(weight, *per_sample):
            return lib.embedding_bag(
                as_tensor(index), weight, None if offsets is None else as_tensor(offsets),
                mode=mode, per_sample_weights=per_sample[0] if per_sample else None,
                include_last_offset=include_last, padding_idx=padding,
            )  # fmt: skip

        return f

    arrays = (table, psw) if weighted else (table,)
    assert_matches_torch(
        call(F, indices, mg.tensor), call(TF, indices, torch.tensor), *arrays,
        rtol=1e-10, atol=1e-12, name=f"embedding_bag {mode}",
    )  # fmt: skip


def test_embedding_bag_mean_divides_by_the_bags_own_size_without_padding():
    weight = mg.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 6.0], [5.0, 10.0]])
    out = F.embedding_bag(mg.tensor([1, 2, 3, 0, 1]), weight, mg.tensor([0, 3]), padding_idx=0)
    assert out.tolist() == [[3.0, 6.0], [1.0, 2.0]]
    layer = nn.EmbeddingBag(4, 2, mode="max", padding_idx=0, _weight=weight._data)
    assert repr(layer) == repr(torch.nn.EmbeddingBag(4, 2, mode="max", padding_idx=0))
    assert layer(mg.tensor([[1, 2], [0, 0]])).tolist() == [[3.0, 6.0], [0.0, 0.0]]


def test_embedding_bag_layer_draws_torchs_weight():
    torch.manual_seed(4)
    theirs = torch.nn.EmbeddingBag(7, 3, mode="sum", padding_idx=2)
    torch.manual_seed(4)
    ours = nn.EmbeddingBag(7, 3, mode="sum", padding_idx=2)
    assert torch.equal(ours.weight._data, theirs.weight.detach())
    x, offsets = torch.tensor([1, 2, 6, 6, 0]), torch.tensor([0, 1])
    torch.testing.assert_close(
        ours(mg.tensor(x), mg.tensor(offsets))._data, theirs(x, offsets).detach(), rtol=1e-6, atol=0
    )


@pytest.mark.parametrize(
    ("kwargs", "ours_error", "theirs_error"),
    [
        ({"input": [[1, 2]], "offsets": [0]}, "2-d input.*offsets must be None", ValueError),
        ({"input": [1, 2]}, "1-d input needs offsets", ValueError),
        ({"input": [1, 2], "offsets": [1]}, r"offsets\[0\] must be 0.*got 1", RuntimeError),
        ({"input": [1, 2], "offsets": [0, 3]}, "within the input's length 2", RuntimeError),
        ({"input": [1, 2], "offsets": [0], "mode": "median"}, "'sum', 'mean' or 'max'", ValueError),
        (
            {"input": [1, 2], "offsets": [0], "per_sample_weights": [1.0, 1.0]},
            "need mode='sum'",
            NotImplementedError,
        ),  # fmt: skip
        (
            {"input": [1, 2], "offsets": [0], "mode": "sum", "per_sample_weights": [1.0]},
            r"shape \(1,\).*input's shape \(2,\)",
            ValueError,
        ),  # fmt: skip
    ],
)
def test_embedding_bag_errors_where_torch_raises(kwargs, ours_error, theirs_error):
    weight = torch.randn(5, 2)

    def args(as_tensor):
        return {k: as_tensor(v) if isinstance(v, list) else v for k, v in kwargs.items()}

    with pytest.raises(theirs_error, match=ours_error) as ours:
        F.embedding_bag(weight=mg.Tensor(weight), **args(mg.tensor))
    assert type(ours.value) is theirs_error
    with pytest.raises(theirs_error):
        TF.embedding_bag(weight=weight, **args(torch.tensor))


@pytest.mark.parametrize("index", [5, -1])
def test_embedding_bag_index_outside_the_table_is_torch_s_runtime_error(index):
    weight, x, offsets = torch.randn(5, 2), [1, index], [0]
    with pytest.raises(RuntimeError):
        TF.embedding_bag(torch.tensor(x), weight, torch.tensor(offsets))
    with pytest.raises(RuntimeError, match=f"index {index} is out of range.*num_embeddings=5"):
        F.embedding_bag(mg.tensor(x), mg.Tensor(weight), mg.tensor(offsets))


def test_embedding_bag_refuses_a_last_offset_short_of_the_input():
    """include_last_offset=True: the last offset is the input's length. torch does not check,
    and then its modes disagree (sum leaves the indices after it out, max and mean take them);
    minigrad says what to pass instead."""
    weight, indices, offsets = mg.randn(5, 2), mg.tensor([0, 1, 2, 3, 4]), mg.tensor([0, 2, 3])
    for mode in ("sum", "mean", "max"):
        with pytest.raises(ValueError, match=r"input's length 5; got offsets \[0, 2, 3\]"):
            F.embedding_bag(indices, weight, offsets, mode=mode, include_last_offset=True)


def test_compile_refuses_a_lazy_model_before_its_dry_run_and_takes_it_after():
    net = nn.Sequential(nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(2))
    opt = mg.optim.SGD(net.parameters(), lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = net(x).pow(2).sum()
        loss.backward()
        opt.step()
        return loss

    x = mg.randn(3, 5)
    with pytest.raises(UninitializedError, match="0.weight.*dry run.*minigrad.compile"):
        mg.compile(step)(x)
    net(x)  # the dry run
    compiled = mg.compile(step)
    losses = [compiled(x).item() for _ in range(4)]
    assert losses == sorted(losses, reverse=True)


def test_a_lazy_model_deep_copies_and_pickles_before_its_first_call():
    """As torch's: each copy makes its own parameters on its own first call."""
    net = nn.Sequential(nn.LazyLinear(3), nn.LazyBatchNorm1d())
    twin = copy.deepcopy(net)
    assert twin[0].weight is not net[0].weight and repr(twin) == repr(net)
    twin(mg.randn(2, 4))
    assert type(twin[0]) is nn.Linear and type(net[0]) is nn.LazyLinear
    assert twin[0].weight.shape == (3, 4) and net[0].has_uninitialized_params()
    again = pickle.loads(pickle.dumps(net))
    assert repr(again[1].running_mean) == "<UninitializedBuffer>"
    assert again(mg.randn(5, 6)).shape == (5, 3)
