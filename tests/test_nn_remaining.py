"""The last torch.nn names minigrad lacked, against torch in float64: fractional max pooling
(functions and modules, the same windows for the same _random_samples and the same draw for the
same seed), the *_with_indices functions, max_unpool3d, the deprecated F.upsample*, the lazy 3-d
and instance-norm layers, AdaptiveLogSoftmaxWithLoss (and ModuleList's repr, which folds equal
layers as torch's) and SyncBatchNorm. Values and gradients (rtol 1e-10), indices exactly,
seeded weights, parameter names, reprs and errors. Max pooling inputs hold distinct values by
construction (no ties), so the gradient is defined.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import example, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.testing import assert_matches_torch
from minigrad.testing import strategies as mst

RTOL, ATOL = 1e-10, 1e-12
FEW = settings(max_examples=15, deadline=None)  # for the layers that cost most per example


def close(mine, theirs, what=""):
    torch.testing.assert_close(mine, theirs, rtol=RTOL, atol=ATOL, msg=what or None)


# ---- fractional max pooling -----------------------------------------------------------------


@st.composite
def fractional_cases(draw):
    """(x, kernel, output_size, samples): 2 or 3 spatial dims, batched or not; each output
    size at most input - kernel + 1 (input - kernel in 3-d), as torch requires; samples in
    [0, 1)."""
    dims = draw(st.sampled_from([2, 3]))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    out = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    spare = 0 if dims == 2 else 1  # torch's 3-d rule needs one more element than its 2-d one
    spatial = tuple(o + k - 1 + spare + draw(st.integers(0, 3)) for o, k in zip(out, kernel))
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    channels = draw(st.integers(1, 3))
    x = draw(mst.distinct_arrays((*batch, channels, *spatial)))
    n = batch[0] if batch else 1
    u = draw(mst.float_arrays((n, channels, dims), min_value=0.0, max_value=0.999))
    return x, kernel, out, u


@given(fractional_cases(), st.booleans())
def test_fractional_max_pool_matches_torch(case, kernel_as_int):
    """The same windows as torch's for the same samples: values, gradient, indices."""
    x, kernel, out, u = case
    dims = len(kernel)
    if kernel_as_int and len(set(kernel)) == 1:
        kernel = kernel[0]
    mine = getattr(F, f"fractional_max_pool{dims}d")
    theirs = getattr(TF, f"fractional_max_pool{dims}d")
    samples = torch.tensor(u)
    assert_matches_torch(
        lambda t: mine(t, kernel, out, _random_samples=samples),
        lambda t: theirs(t, kernel, out, _random_samples=samples),
        x,
        rtol=RTOL,
        atol=ATOL,
    )
    values, indices = getattr(F, f"fractional_max_pool{dims}d_with_indices")(
        mg.tensor(x), kernel, out, _random_samples=samples
    )
    expected, expected_indices = theirs(
        torch.tensor(x), kernel, out, return_indices=True, _random_samples=samples
    )
    assert indices.dtype == torch.long
    assert torch.equal(indices._data, expected_indices)
    assert torch.equal(values._data, expected)


@FEW
@given(st.integers(0, 2**31 - 1), st.sampled_from([2, 3]), st.sampled_from([0.5, 0.7]))
def test_fractional_max_pool_seeded_draw_and_modules(seed, dims, ratio):
    """Without _random_samples, the same seed gives torch's output (the same draw); the module
    with output_ratio too, and with its samples buffer fixed."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randperm(2 * 2 * 7**dims, generator=g).double().reshape(2, 2, *(7,) * dims)
    name = f"fractional_max_pool{dims}d"
    fn, their_fn = getattr(F, name), getattr(TF, name)
    torch.manual_seed(seed)
    mine = fn(mg.tensor(x), 2, output_ratio=(ratio,) * dims)
    torch.manual_seed(seed)
    assert torch.equal(mine._data, their_fn(x, 2, output_ratio=(ratio,) * dims))
    layer = getattr(nn, f"FractionalMaxPool{dims}d")(2, output_ratio=ratio, return_indices=True)
    their_layer = getattr(torch.nn, f"FractionalMaxPool{dims}d")(
        2, output_ratio=ratio, return_indices=True
    )
    assert repr(layer) == repr(their_layer)
    assert layer.output_ratio == their_layer.output_ratio and layer.output_size is None
    torch.manual_seed(seed)
    out, where = layer(mg.tensor(x))
    torch.manual_seed(seed)
    their_out, their_where = their_layer(x)
    assert torch.equal(out._data, their_out) and torch.equal(where._data, their_where)
    samples = torch.rand(2, 2, dims, dtype=torch.float64, generator=g)
    fixed = getattr(nn, f"FractionalMaxPool{dims}d")(3, output_size=2, _random_samples=samples)
    their_fixed = getattr(torch.nn, f"FractionalMaxPool{dims}d")(
        3, output_size=2, _random_samples=samples
    )
    assert [name for name, _ in fixed.named_buffers()] == ["_random_samples"]
    assert torch.equal(fixed(mg.tensor(x))._data, their_fixed(x))


def test_fractional_max_pool_errors():
    x = mg.randn(1, 1, 4, 4)
    with pytest.raises(ValueError, match="output_size or output_ratio"):
        F.fractional_max_pool2d(x, 2)
    with pytest.raises(RuntimeError, match="output_size \\+ kernel_size - 1"):
        F.fractional_max_pool2d(x, 3, output_size=3)
    with pytest.raises(RuntimeError, match="_random_samples must have shape"):
        F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=torch.rand(1, 2, 2))
    with pytest.raises(RuntimeError, match="the input's dtype"):
        F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=torch.rand(1, 1, 2).double())
    with pytest.raises(RuntimeError, match="kernel_size - 0"):  # 3-d: one more than 2-d's
        F.fractional_max_pool3d(mg.randn(1, 1, 4, 4, 4), 2, output_size=3)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.FractionalMaxPool2d(2, output_ratio=1.5)
    with pytest.raises(ValueError, match="not both"):
        nn.FractionalMaxPool3d(2, output_size=2, output_ratio=0.5)
    with pytest.raises(ValueError, match="output_size or output_ratio"):
        nn.FractionalMaxPool3d(2)
    with pytest.raises(ValueError, match="kernel_size must be positive"):
        nn.FractionalMaxPool3d(0, output_size=2)


# ---- *_with_indices, max_unpool3d, upsample ---------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_with_indices_and_max_unpool3d(data):
    """The *_with_indices functions give (values, indices) as torch's; max_unpool3d puts
    max_pool3d's values back as torch's does, gradient included."""
    dims = data.draw(st.sampled_from([1, 2, 3]))
    spatial = tuple(data.draw(st.integers(2, 5)) for _ in range(dims))
    x = data.draw(mst.distinct_arrays((2, 2, *spatial)))
    kernel = data.draw(st.integers(1, 2))
    for name, args in (
        (f"max_pool{dims}d_with_indices", (kernel,)),
        (f"adaptive_max_pool{dims}d_with_indices", (2,)),
    ):
        values, indices = getattr(F, name)(mg.tensor(x), *args)
        expected, expected_indices = getattr(TF, name)(torch.tensor(x), *args)
        assert torch.equal(values._data, expected), name
        assert torch.equal(indices._data, expected_indices), name
    if dims != 3:
        return
    pooled, where = TF.max_pool3d(torch.tensor(x), kernel, return_indices=True)
    # the size before pooling, which the pool's arithmetic alone may not give back
    size = data.draw(st.sampled_from([spatial, (2, 2, *spatial)]))
    assert_matches_torch(
        lambda t: F.max_unpool3d(t, mg.Tensor(where), kernel, output_size=size),
        lambda t: TF.max_unpool3d(t, where, kernel, output_size=size),
        pooled.numpy(),
        rtol=RTOL,
        atol=ATOL,
    )
    layer, their_layer = nn.MaxUnpool3d(kernel), torch.nn.MaxUnpool3d(kernel)
    assert repr(layer) == repr(their_layer)
    out = layer(mg.Tensor(pooled), mg.Tensor(where), output_size=size)
    assert torch.equal(out._data, their_layer(pooled, where, output_size=size))


def test_max_unpool3d_errors():
    x = mg.randn(1, 1, 2, 2, 2)
    where = mg.zeros(1, 1, 2, 2, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="output_size"):
        F.max_unpool3d(x, where, 2, output_size=(9, 4, 4))
    with pytest.raises(mg.errors.ShapeError, match="max_unpool3d"):
        F.max_unpool3d(mg.randn(2, 2, 2), where, 2)


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("past", [-1, 0])
def test_max_unpool_refuses_an_index_outside_the_output_as_torch(dims, past):
    """An index outside the output is refused with torch's exception type: one past its end,
    and a negative one (Python's indexing would have written -1 at the end, silently)."""
    x = torch.arange(2.0**dims).reshape(1, 1, *[2] * dims)
    where = torch.arange(2**dims).reshape(x.shape)
    where.view(-1)[-1] = past if past < 0 else 4**dims  # the output's positions: 0 ... 4^dims - 1
    name = f"max_unpool{dims}d"
    with pytest.raises(RuntimeError):
        getattr(TF, name)(x, where, 2)
    with pytest.raises(RuntimeError, match="index outside the output"):
        getattr(F, name)(mg.Tensor(x), mg.Tensor(where), 2)


def _peaked() -> np.ndarray:
    """5x5 images whose maximum is at the centre: every 3x3 window picks that one element."""
    i, j = np.meshgrid(np.arange(5), np.arange(5), indexing="ij")
    peak = -((i - 2.0) ** 2 + (j - 2.0) ** 2) + (i * 5 + j) * 1e-3
    return np.broadcast_to(peak, (2, 3, 5, 5)) + np.arange(6).reshape(2, 3, 1, 1)


@settings(max_examples=30, deadline=None)
@given(mst.distinct_arrays((2, 3, 5, 5)))
@example(_peaked())
def test_max_unpool2d_of_overlapping_windows_as_torch(x):
    """With stride below the kernel, one maximum can be picked by several windows: all write
    the same value to one place, and each gets that place's gradient, as torch's."""
    pooled, where = TF.max_pool2d(torch.tensor(x), 3, 1, return_indices=True)
    assert_matches_torch(
        lambda t: F.max_unpool2d(t, mg.Tensor(where), 3, 1, output_size=(5, 5)),
        lambda t: TF.max_unpool2d(t, where, 3, 1, output_size=(5, 5)),
        pooled.numpy(),
        rtol=RTOL,
        atol=ATOL,
    )


@given(mst.float_arrays((2, 1, 3, 4)), st.sampled_from(["nearest", "bilinear"]))
def test_deprecated_upsample_warns_and_matches(x, mode):
    align = True if mode == "bilinear" else None
    for mine, theirs in (
        (lambda t: F.upsample(t, scale_factor=2, mode=mode, align_corners=align),
         lambda t: TF.upsample(t, scale_factor=2, mode=mode, align_corners=align)),
        (lambda t: F.upsample_nearest(t, size=(5, 7)), lambda t: TF.upsample_nearest(t, (5, 7))),
        (lambda t: F.upsample_bilinear(t, scale_factor=2),
         lambda t: TF.upsample_bilinear(t, scale_factor=2)),
    ):  # fmt: skip
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert_matches_torch(mine, theirs, x, rtol=RTOL, atol=ATOL)
        ours = [w for w in caught if "deprecated" in str(w.message)]
        assert ours and all(w.filename == __file__ for w in ours)  # pointed at the caller


def test_rnn_bases_are_exported():
    assert issubclass(nn.RNN, nn.RNNBase) and issubclass(nn.LSTM, nn.RNNBase)
    assert issubclass(nn.GRUCell, nn.RNNCellBase) and issubclass(nn.RNNCell, nn.RNNCellBase)


# ---- lazy layers --------------------------------------------------------------------------


@settings(max_examples=8, deadline=None)  # six layers an example, the slowest of this file
@given(st.integers(0, 2**31 - 1), st.integers(1, 3), st.booleans())
def test_lazy_3d_and_instance_norm_layers(seed, channels, batched):
    """Each lazy layer reads its size from the first input, becomes the ordinary layer, and
    holds torch's weights for the same seed; the outputs agree."""
    g = torch.Generator().manual_seed(seed)
    cases = [
        (lambda: nn.LazyConv3d(2, 2, padding=1), lambda: torch.nn.LazyConv3d(2, 2, padding=1), 5),
        (lambda: nn.LazyConvTranspose3d(2, 2, stride=2),
         lambda: torch.nn.LazyConvTranspose3d(2, 2, stride=2), 5),
        (lambda: nn.LazyBatchNorm3d(), lambda: torch.nn.LazyBatchNorm3d(), 5),
        (lambda: nn.LazyInstanceNorm1d(), lambda: torch.nn.LazyInstanceNorm1d(), 3),
        (lambda: nn.LazyInstanceNorm2d(), lambda: torch.nn.LazyInstanceNorm2d(), 4),
        (lambda: nn.LazyInstanceNorm3d(affine=False),
         lambda: torch.nn.LazyInstanceNorm3d(affine=False), 5),
    ]  # fmt: skip
    for make, make_theirs, ndim in cases:
        x = torch.randn(2, channels, *(2,) * (ndim - 2), dtype=torch.float64, generator=g)
        # unbatched: the convolutions only (BatchNorm3d takes no unbatched input, and torch
        # reads dim 1 of an unbatched lazy instance norm's input, then fails)
        if not batched and "Conv" in repr(make()):
            x = x[0]
        layer, theirs = make().double(), make_theirs().double()
        assert repr(layer) == repr(theirs)
        torch.manual_seed(seed)  # the weights are drawn at the first call
        out = layer(mg.Tensor(x))
        torch.manual_seed(seed)
        expected = theirs(x)
        assert type(layer).__name__ == type(theirs).__name__
        assert repr(layer) == repr(theirs)
        close(out._data, expected.detach())
        names = [n for n, _ in layer.named_parameters()]
        assert names == [n for n, _ in theirs.named_parameters()]
        for (name, p), q in zip(layer.named_parameters(), theirs.parameters(), strict=True):
            assert torch.equal(p._data, q.detach()), name
        for (name, b), (_, c) in zip(layer.named_buffers(), theirs.named_buffers(), strict=True):
            close(b._data.double(), c.double(), name)


def test_lazy_instance_norm_reads_unbatched_channels():
    """minigrad reads an unbatched input's channels from dim 0 (torch reads dim 1, then
    fails): (C, L) with C = 3 makes num_features 3."""
    layer = nn.LazyInstanceNorm1d()
    layer(mg.randn(3, 5))
    assert type(layer) is nn.InstanceNorm1d and layer.num_features == 3
    assert layer.weight.shape == (3,)


# ---- AdaptiveLogSoftmaxWithLoss ---------------------------------------------------------------


@st.composite
def adaptive_softmax_cases(draw):
    n_classes = draw(st.integers(3, 12))
    cutoffs = sorted(draw(st.sets(st.integers(1, n_classes - 1), min_size=1, max_size=3)))
    in_features = draw(st.integers(4, 9))
    div_value = draw(st.sampled_from([1.0, 2.0, 4.0]))
    head_bias = draw(st.booleans())
    n = draw(st.integers(1, 6))
    # distinct values, none near 0: the classes' log-probabilities do not tie (predict's argmax)
    x = draw(mst.distinct_arrays((n, in_features), min_value=-3, max_value=3))
    target = draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n))
    return (in_features, n_classes, cutoffs, div_value, head_bias), x, np.array(target)


@FEW
@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")  # torch's, hidden size 0
@given(adaptive_softmax_cases(), st.integers(0, 2**31 - 1), st.booleans())
def test_adaptive_log_softmax_matches_torch(case, seed, unbatched):
    """Seeded weights, names and repr as torch's; forward's (output, loss), its gradients
    (input and every weight), log_prob and predict."""
    args, x, target = case
    torch.manual_seed(seed)
    layer = nn.AdaptiveLogSoftmaxWithLoss(*args, dtype=torch.float64)
    torch.manual_seed(seed)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(*args, dtype=torch.float64)
    assert repr(layer) == repr(theirs)  # (equal tails fold into "(0-1): 2 x Sequential(...")
    names = [n for n, _ in layer.named_parameters()]
    assert names == [n for n, _ in theirs.named_parameters()]
    for (name, p), q in zip(layer.named_parameters(), theirs.parameters(), strict=True):
        assert torch.equal(p._data, q.detach()), name
    if unbatched:
        x, target = x[0], target[0]
    leaf, their_leaf = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = layer(leaf, mg.tensor(target))
    expected = theirs(their_leaf, torch.tensor(target))
    assert type(out).__name__ == "_ASMoutput" and out._fields == ("output", "loss")
    close(out.output._data, expected.output.detach(), "output")
    close(out.loss._data, expected.loss.detach(), "loss")
    upstream = torch.randn(expected.output.shape, dtype=torch.float64)
    (out.output * mg.Tensor(upstream)).sum().add(out.loss).backward()
    ((expected.output * upstream).sum() + expected.loss).backward()
    close(leaf.grad._data, their_leaf.grad, "the input's gradient")
    for (name, p), q in zip(layer.named_parameters(), theirs.parameters(), strict=True):
        assert (p.grad is None) == (q.grad is None), name  # None: a cluster no target is in
        if q.grad is not None:
            close(p.grad._data, q.grad, f"{name}'s gradient")
    batch = np.atleast_2d(x)
    assert_matches_torch(layer.log_prob, theirs.log_prob, batch, rtol=RTOL, atol=ATOL)
    assert torch.equal(layer.predict(mg.tensor(batch))._data, theirs.predict(torch.tensor(batch)))


def test_module_list_repr_folds_runs_as_torchs():
    def build(nn):
        same = [nn.Sequential(nn.Linear(1, 2), nn.ReLU()) for _ in range(2)]
        return nn.ModuleList([*(nn.Linear(2, 2) for _ in range(3)), nn.ReLU(), *same])

    assert repr(build(nn)) == repr(build(torch.nn))
    assert "(0-2): 3 x Linear" in repr(build(nn))
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())


def test_adaptive_log_softmax_errors():
    with pytest.raises(ValueError, match="at least one"):
        nn.AdaptiveLogSoftmaxWithLoss(4, 10, [])
    for cutoffs in ([5, 3], [0, 3], [3, 10], [3, 3]):
        with pytest.raises(ValueError, match="cutoffs must be distinct"):
            nn.AdaptiveLogSoftmaxWithLoss(4, 10, cutoffs)
    layer = nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3])
    with pytest.raises(RuntimeError, match=r"target values must be in \[0, 9\]"):
        layer(mg.randn(2, 4), mg.tensor([1, 10]))
    with pytest.raises(RuntimeError, match="same N"):
        layer(mg.randn(3, 4), mg.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="0-d or 1-d"):
        layer(mg.randn(3, 4), mg.tensor([[1, 2]]))


# ---- SyncBatchNorm ------------------------------------------------------------------------


@FEW
@given(mst.float_arrays(st.sampled_from([(4, 3), (2, 3, 4), (2, 3, 2, 2), (2, 3, 2, 1, 2)])))
def test_sync_batch_norm_in_one_process_is_batch_norm(x):
    """Without a process group it normalises as torch's (training then eval), and it takes
    inputs of any rank from 2 on."""
    layer, theirs = nn.SyncBatchNorm(3).double(), torch.nn.SyncBatchNorm(3).double()
    assert repr(layer) == repr(theirs)
    for mode in ("train", "eval"):
        getattr(layer, mode)()
        getattr(theirs, mode)()
        leaf, their_leaf = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, expected = layer(leaf), theirs(their_leaf)
        close(out._data, expected.detach(), mode)
        out.sum().backward()
        expected.sum().backward()
        close(leaf.grad._data, their_leaf.grad, mode)
        for (name, b), (_, c) in zip(layer.named_buffers(), theirs.named_buffers(), strict=True):
            close(b._data.double(), c.double(), name)


def test_convert_sync_batchnorm_keeps_state():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 1),
        nn.BatchNorm2d(4),
        nn.Sequential(nn.BatchNorm1d(4, affine=False)),
        nn.InstanceNorm2d(4),
    )
    model[1].running_mean._data.fill_(0.5)
    model.eval()
    weight, mean = model[1].weight, model[1].running_mean
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    theirs = torch.nn.SyncBatchNorm.convert_sync_batchnorm(
        torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4),
            torch.nn.Sequential(torch.nn.BatchNorm1d(4, affine=False)), torch.nn.InstanceNorm2d(4),
        )
    )  # fmt: skip
    assert repr(converted) == repr(theirs)
    assert type(converted[1]) is nn.SyncBatchNorm and type(converted[2][0]) is nn.SyncBatchNorm
    assert type(converted[3]) is nn.InstanceNorm2d
    assert converted[1].weight is weight and converted[1].running_mean is mean
    assert not converted[1].training and converted[2][0].weight is None
    assert list(converted.state_dict()) == list(theirs.state_dict())
    layer = nn.BatchNorm1d(2)
    assert type(nn.SyncBatchNorm.convert_sync_batchnorm(layer)) is nn.SyncBatchNorm


def test_sync_batch_norm_errors():
    with pytest.raises(ValueError, match="at least 2 dims"):
        nn.SyncBatchNorm(3)(mg.randn(3))
    with pytest.raises(ValueError, match="no channels"):
        nn.SyncBatchNorm(0)(mg.randn(2, 0))
