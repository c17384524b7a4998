"""RMSNorm, the parameter containers (ParameterList, ParameterDict), the shrink activations,
instance norm, local response norm, Bilinear, more padding layers, channel shuffle and the
Fold/Unfold modules, against torch: float64, rtol 1e-10, upstream gradients drawn at random,
outputs and the gradients of the input and of every parameter, seeded init, names and repr.
Values are drawn off the kinks (the shrinks' edges) by construction; the kinks are tested
alone.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st
from test_layers_activations import float_arrays_off

import minigrad as mg
from minigrad import nn
from minigrad.errors import ShapeError
from minigrad.nn import functional as F
from minigrad.testing import assert_matches_torch
from minigrad.testing import strategies as mst

RTOL, ATOL = 1e-10, 1e-12
FEW = settings(max_examples=15, deadline=None)  # a few seconds in all


def close(mine, theirs, what=""):
    torch.testing.assert_close(mine, theirs, rtol=RTOL, atol=ATOL, msg=what or None)


def layers_agree(mine, theirs, x: np.ndarray, modes=("train", "eval"), seed: int = 0):
    """Run both layers (float64, the same state) on x, twice per mode: the outputs, the input's
    gradient and every parameter's gradient must agree, and the buffers after each call."""
    mine.double()
    theirs.double()
    mine.load_state_dict(theirs.state_dict())
    upstreams = torch.Generator().manual_seed(seed)
    for mode in modes:
        getattr(mine, mode)()
        getattr(theirs, mode)()
        for _ in range(2):
            leaf = mg.tensor(x, requires_grad=True)
            their_leaf = torch.tensor(x, requires_grad=True)
            out, expected = mine(leaf), theirs(their_leaf)
            close(out._data, expected.detach(), f"{mode}: output")
            upstream = torch.randn(expected.shape, dtype=torch.float64, generator=upstreams)
            mine.zero_grad()
            theirs.zero_grad()
            out.backward(upstream)
            expected.backward(upstream)
            close(leaf.grad._data, their_leaf.grad, f"{mode}: the input's gradient")
            for (name, p), q in zip(mine.named_parameters(), theirs.parameters(), strict=True):
                close(p.grad._data, q.grad, f"{mode}: {name}'s gradient")
            for (name, b), (their_name, c) in zip(
                mine.named_buffers(), theirs.named_buffers(), strict=True
            ):
                assert name == their_name
                close(b._data.double(), c.double(), f"{mode}: buffer {name}")


def same_state(mine, theirs):
    """The same names, in the same order, dtypes and values."""
    assert list(mine.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert mine.state_dict()[key].dtype == value.dtype, key
        assert torch.equal(mine.state_dict()[key], value), key


# ---- RMSNorm ------------------------------------------------------------------------------


@st.composite
def rms_norm_cases(draw):
    """(x, normalized_shape, eps): 1 or 2 normalised dims after 0 to 2 batch dims."""
    norm = draw(mst.shapes(1, 2, min_side=1, max_side=4), label="normalized_shape")
    batch = draw(mst.shapes(0, 2, max_side=3), label="batch")
    x = draw(mst.float_arrays((*batch, *norm), -10, 10), label="x")
    eps = draw(st.sampled_from([None, 1e-5, 0.5]), label="eps")
    return x, norm, eps


@FEW
@given(case=rms_norm_cases(), affine=st.booleans())
def test_rms_norm_layer_is_torchs(case, affine):
    x, norm, eps = case
    mine, theirs = nn.RMSNorm(norm, eps, affine), torch.nn.RMSNorm(norm, eps, affine)
    if affine:  # a weight other than ones, so that its gradient and its product are seen
        with torch.no_grad():
            theirs.weight.uniform_(-2, 2, generator=torch.Generator().manual_seed(3))
    layers_agree(mine, theirs, x)


@pytest.mark.parametrize("order", [1, 2])
@FEW
@given(case=rms_norm_cases())
def test_rms_norm_function_matches_torch(order, case):
    x, norm, eps = case
    w = np.random.default_rng(0).uniform(-2, 2, norm)
    assert_matches_torch(
        lambda t, w: F.rms_norm(t, norm, w, eps), lambda t, w: TF.rms_norm(t, norm, w, eps),
        x, w, order=order, rtol=RTOL, atol=ATOL, name="rms_norm",
    )  # fmt: skip


def test_rms_norm_eps_is_the_dtypes_and_keeps_zeros_finite():
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor([[0.0, 0.0], [1e-9, -1e-9]], dtype=dtype)
        ours = F.rms_norm(mg.Tensor(x), (2,))._data
        torch.testing.assert_close(ours, TF.rms_norm(x, (2,)), rtol=0, atol=0)
        assert ours[0].tolist() == [0.0, 0.0]
    leaf = mg.zeros(3, dtype=mg.float64, requires_grad=True)
    F.rms_norm(leaf, 3).sum().backward()
    assert torch.isfinite(leaf.grad._data).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_rms_norm_in_half_precision_is_torchs_bit_for_bit(dtype):
    """torch computes a half-precision input (and the weight) in float32 and rounds once at
    the end: the same values and gradients, to the last bit, come out of minigrad's."""
    rng = np.random.default_rng(2)
    x, w, g = (torch.tensor(rng.normal(size=s)).to(dtype) for s in [(3, 5, 8), (5, 8), (3, 5, 8)])
    theirs_x, theirs_w = x.clone().requires_grad_(), w.clone().requires_grad_()
    expected = TF.rms_norm(theirs_x, (5, 8), theirs_w)
    expected.backward(g)
    ours_x, ours_w = mg.Tensor(x, requires_grad=True), mg.Tensor(w, requires_grad=True)
    got = F.rms_norm(ours_x, (5, 8), ours_w)
    got.backward(g)
    assert got.dtype == dtype and torch.equal(got._data, expected.detach())
    assert torch.equal(ours_x.grad._data, theirs_x.grad)
    assert torch.equal(ours_w.grad._data, theirs_w.grad)


def test_rms_norm_repr_init_and_errors():
    for args, kwargs in [((3,), {}), (((2, 3),), {"eps": 1e-6, "elementwise_affine": False})]:
        mine, theirs = nn.RMSNorm(*args, **kwargs), torch.nn.RMSNorm(*args, **kwargs)
        assert repr(mine) == repr(theirs)
        same_state(mine, theirs)
    assert nn.RMSNorm(4, dtype=mg.float64).weight.dtype == mg.float64
    with pytest.raises(ShapeError, match=r"normalized_shape \(2,\) must be the last dims"):
        F.rms_norm(mg.ones(2, 3), (2,))
    with pytest.raises(RuntimeError):
        TF.rms_norm(torch.ones(2, 3), (2,))
    with pytest.raises(ShapeError, match=r"weight has shape \(2,\).*normalized_shape \(3,\)"):
        F.rms_norm(mg.ones(2, 3), (3,), mg.ones(2))
    with pytest.raises(RuntimeError):
        TF.rms_norm(torch.ones(2, 3), (3,), torch.ones(2))


# ---- ParameterList and ParameterDict --------------------------------------------------------


class _Holder:
    """A model holding a list, a dict and a parameter of its own: built in either library."""

    def __init__(self, lib):
        class Model(lib.Module):
            def __init__(self):
                super().__init__()
                self.scale = lib.Parameter(torch.full((2,), 3.0))
                self.plist = lib.ParameterList([torch.ones(2), lib.Parameter(torch.zeros(3))])
                self.pdict = lib.ParameterDict({"b": torch.ones(1), "a": torch.zeros(2, 2)})

        self.model = Model()


def test_parameter_containers_register_as_torchs():
    mine, theirs = _Holder(nn).model, _Holder(torch.nn).model
    for model in (mine, theirs):
        model.plist.append(torch.full((4,), 2.0))
        model.plist.extend([torch.ones(1)])
        model.plist += [torch.ones(5)]
        model.plist[0] = torch.full((2,), 7.0)
        model.plist[-1] = torch.ones(6)
        model.pdict["c"] = torch.ones(3)
        model.pdict.update(OrderedDict([("z", torch.ones(1)), ("b", torch.full((1,), 4.0))]))
        model.pdict.update([("y", torch.ones(2))])
    assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    same_state(mine, theirs)
    assert repr(mine) == repr(theirs)
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in mine.parameters())
    assert len(mine.plist) == len(theirs.plist) == 5 and len(mine.pdict) == 5
    assert list(mine.pdict) == list(theirs.pdict) == list(mine.pdict.keys())
    assert mine.plist[1:3][0] is mine.plist[1] and len(mine.plist[1:3]) == 2
    # the model loads torch's state and trains what the containers hold
    theirs.load_state_dict({k: v + 1 for k, v in theirs.state_dict().items()})
    mine.load_state_dict(theirs.state_dict())
    same_state(mine, theirs)
    sum(p.sum() for p in mine.parameters()).backward()
    assert mine.pdict["a"].grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert mine.plist[2].grad.tolist() == [1.0] * 4


def test_parameter_containers_hold_other_objects_and_forget_deleted_entries():
    for lib in (nn, torch.nn):
        plist = lib.ParameterList([torch.ones(2), "note", 3])
        pdict = lib.ParameterDict({"w": torch.ones(2), "tag": "x"})
        assert list(plist.state_dict()) == ["0"] and list(pdict.state_dict()) == ["w"]
        assert plist[1] == "note" and pdict["tag"] == "x"
        assert "w" in pdict and pdict.get("q", 5) == 5 and pdict.setdefault("q", 6) == 6
        del pdict["w"]
        assert "w" not in pdict and list(pdict.state_dict()) == []
        assert pdict.pop("tag") == "x" and list(pdict) == ["q"]
        pdict.clear()
        assert len(pdict) == 0
    for lib in (nn, torch.nn):
        with pytest.raises(IndexError):
            lib.ParameterList([torch.ones(1)])[1]
        with pytest.raises(TypeError):
            lib.ParameterDict()[3] = torch.ones(1)
    for lib in (nn, torch.nn):  # a name the module already uses
        with pytest.raises(KeyError, match="attribute 'keys' already exists"):
            lib.ParameterDict({"keys": torch.ones(1)})
    with pytest.raises(KeyError):  # a dict's error (torch's getattr gives an AttributeError)
        nn.ParameterDict()["missing"]
    shared = mg.ones(2)
    assert nn.ParameterList([shared])[0]._data is shared._data  # wrapped, not copied (as torch)
    copied = nn.ParameterDict({"a": torch.ones(1)}).copy()
    assert isinstance(copied, nn.ParameterDict) and list(copied) == ["a"]


def test_parameter_dict_popitem_fromkeys_reversed_and_union_as_torchs():
    results = []
    for lib in (nn, torch.nn):
        first = lib.ParameterDict(OrderedDict([("b", torch.ones(1)), ("a", torch.ones(2))]))
        second = lib.ParameterDict({"c": torch.ones(3), "a": torch.zeros(4)})
        union = first | second
        first |= lib.ParameterDict({"d": torch.ones(5)})
        key, value = first.popitem()
        made = first.fromkeys(["x", "y"], torch.ones(6))
        shapes = [tuple(p.shape) for p in union.values()]
        results.append((list(union), shapes, list(reversed(union)), key, tuple(value.shape)))
        results.append((list(first), list(made), isinstance(made, lib.ParameterDict)))
    assert results[:2] == results[2:]
    with pytest.raises(KeyError):
        nn.ParameterDict().popitem()


def test_parameter_containers_reprs_are_torchs():
    for make in (
        lambda lib: lib.ParameterList(),
        lambda lib: lib.ParameterList([torch.ones(2, 3)]),
        lambda lib: lib.ParameterList([torch.ones(2), torch.ones(1, dtype=torch.float64), 1]),
        lambda lib: lib.ParameterDict(),
        lambda lib: lib.ParameterDict({"a": torch.ones(2)}),
        lambda lib: lib.ParameterDict({"b": torch.ones(2), "a": torch.ones(3, 1), "c": "s"}),
    ):
        assert repr(make(nn)) == repr(make(torch.nn))


# ---- the shrinks --------------------------------------------------------------------------

SHRINKS = {"hardshrink": (F.hardshrink, TF.hardshrink), "softshrink": (F.softshrink, TF.softshrink)}
LAMBDAS = st.sampled_from([0.5, 0.0, 2.0]) | st.floats(0.01, 3, width=64)


@pytest.mark.parametrize("name", SHRINKS)
@FEW
@given(data=st.data(), lambd=LAMBDAS)
def test_shrinks_match_torch_off_their_edges(name, data, lambd):
    """Drawn at least 1e-3 from -lambd and lambd, on both sides of each."""
    x = data.draw(float_arrays_off(sorted({-lambd, lambd}), -10, 10), label="x")
    ours, theirs = SHRINKS[name]
    assert_matches_torch(
        lambda t: ours(t, lambd), lambda t: theirs(t, lambd), x, rtol=RTOL, atol=ATOL,
        name=f"{name}({lambd})",
    )  # fmt: skip


@pytest.mark.parametrize("name", SHRINKS)
@pytest.mark.parametrize("lambd", [0.5, 0.0, 1.25])
def test_shrinks_at_their_edges_are_torchs(name, lambd):
    """At +-lambd exactly the value is 0 and so is the slope (torch's: the band is closed)."""
    x = np.array([lambd, -lambd, 0.0, -0.0, lambd + 1e-12, -lambd - 1e-12, np.nan])
    ours, theirs = SHRINKS[name]
    assert_matches_torch(lambda t: ours(t, lambd), lambda t: theirs(t, lambd), x, name=name)


def test_shrink_layers_are_torchs_and_refuse_what_torch_refuses():
    x = np.random.default_rng(1).uniform(-3, 3, (2, 3, 4))
    for name, args in [("Hardshrink", ()), ("Hardshrink", (1.5,)), ("Softshrink", (0.25,))]:
        mine, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
        assert repr(mine) == repr(theirs) and mine.lambd == theirs.lambd
        layers_agree(mine, theirs, x)
    assert not isinstance(nn.Softshrink(), nn.Hardshrink)
    kept = F.hardshrink(mg.tensor([-1.0, 0.2], dtype=mg.float64), -0.5)  # a band that is empty
    assert kept.tolist() == [-1.0, 0.2]  # (torch's too)
    with pytest.raises(ValueError, match="softshrink: lambd must be >= 0"):
        F.softshrink(mg.ones(2), -0.5)
    with pytest.raises(RuntimeError, match="lambda must be in range"):
        TF.softshrink(torch.ones(2), -0.5)
    for ours, theirs in SHRINKS.values():
        with pytest.raises(TypeError, match="must be a floating-point tensor"):
            ours(mg.tensor([1, 2]))
        with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
            theirs(torch.tensor([1, 2]))


# ---- instance norm ------------------------------------------------------------------------


@st.composite
def instance_norm_cases(draw, spatial_dims: int):
    """(x, C): (N, C, *spatial) or (C, *spatial), at least 2 positions per channel, the values
    all different (a constant instance has variance 0: its gradients are rounding noise, in
    torch too; test_instance_norm_of_a_constant_instance_is_torchs checks it alone)."""
    channels = draw(st.integers(1, 3), label="C")
    spatial = draw(mst.shapes(spatial_dims, spatial_dims, max_side=4), label="spatial")
    if int(np.prod(spatial)) == 1:
        spatial = (2,) + spatial[1:]
    batched = draw(st.booleans(), label="batched")
    batch = (draw(st.integers(1, 3), label="N"),) if batched else ()
    return draw(mst.distinct_arrays((*batch, channels, *spatial), -10, 10), label="x"), channels


INSTANCE_NORMS = {"InstanceNorm1d": 1, "InstanceNorm2d": 2}


@pytest.mark.parametrize("name", INSTANCE_NORMS)
@FEW
@given(
    data=st.data(),
    affine=st.booleans(),
    track=st.booleans(),
    momentum=st.sampled_from([0.1, 0.5, None]),
)
def test_instance_norm_layers_are_torchs(name, data, affine, track, momentum):
    """Outputs and gradients in train and in eval, twice each (the running statistics move in
    training, and are used in eval when tracked), and the buffers after every call."""
    x, channels = data.draw(instance_norm_cases(INSTANCE_NORMS[name]))
    options = {"affine": affine, "track_running_stats": track, "momentum": momentum}
    mine, theirs = (
        getattr(nn, name)(channels, **options),
        getattr(torch.nn, name)(channels, **options),
    )
    assert repr(mine) == repr(theirs)
    same_state(mine, theirs)
    if affine:  # not the ones and zeros they start at, so that the product and shift are seen
        with torch.no_grad():
            theirs.weight.uniform_(-2, 2, generator=torch.Generator().manual_seed(1))
            theirs.bias.uniform_(-2, 2, generator=torch.Generator().manual_seed(2))
    layers_agree(mine, theirs, x)


@pytest.mark.parametrize("order", [1, 2])
@FEW
@given(case=instance_norm_cases(2), use_input_stats=st.booleans())
def test_instance_norm_function_matches_torch(order, case, use_input_stats):
    """The gradient through the per-instance mean and variance (and second derivatives), the
    weight's and bias's; the running statistics it updates."""
    x, channels = case
    x = x if x.ndim == 4 else x[None]
    rng = np.random.default_rng(0)
    w, b = rng.uniform(-2, 2, channels), rng.uniform(-2, 2, channels)
    stats = rng.uniform(-1, 1, channels), rng.uniform(0.5, 2, channels)
    ours_stats = [mg.tensor(s) for s in stats]
    theirs_stats = [torch.tensor(s) for s in stats]
    assert_matches_torch(
        lambda t, w, b: F.instance_norm(t, *ours_stats, w, b, use_input_stats, 0.3, 1e-3),
        lambda t, w, b: TF.instance_norm(t, *theirs_stats, w, b, use_input_stats, 0.3, 1e-3),
        x, w, b, order=order, rtol=RTOL, atol=ATOL, name="instance_norm",
    )  # fmt: skip
    for ours, theirs in zip(ours_stats, theirs_stats):
        close(ours._data, theirs, "running statistics")


def test_instance_norm_uses_each_instances_statistics_not_the_batchs():
    """Two examples on different scales come out alike: each is normalised by its own."""
    x = mg.tensor([[[1.0, 2.0, 3.0]], [[100.0, 200.0, 300.0]]], dtype=mg.float64)
    out = nn.InstanceNorm1d(1, eps=0.0)(x)  # (eps would weigh differently on the two scales)
    close(out._data[0], out._data[1])
    assert abs(out._data[0].mean().item()) < 1e-12


def test_instance_norm_of_a_constant_instance_is_torchs():
    """Variance 0: the output is 0 (x - mean is 0), finite thanks to eps, as torch's."""
    x = np.array([[[2.5, 2.5, 2.5, 2.5], [1.0, -1.0, 0.5, 3.0]]])
    assert_matches_torch(F.instance_norm, TF.instance_norm, x, name="instance_norm")


def test_instance_norm_refuses_what_torch_refuses():
    for lib, make in ((nn, mg.ones), (torch.nn, torch.ones)):
        with pytest.raises(ValueError, match="expected 2D or 3D input"):
            lib.InstanceNorm1d(3)(make(3))
        with pytest.raises(ValueError, match="expected 3D or 4D input"):
            lib.InstanceNorm2d(3)(make(2, 3))
        with pytest.raises(ValueError, match="more than 1"):  # one position per channel
            lib.InstanceNorm1d(3)(make(2, 3, 1))
        with pytest.raises(ValueError, match="num_features"):  # affine: the sizes must agree
            lib.InstanceNorm1d(3, affine=True)(make(2, 4, 5))
        with pytest.warns(UserWarning, match="num_features"):  # without affine: a warning
            lib.InstanceNorm1d(3)(make(2, 4, 5))
    with pytest.raises(ValueError, match="running_mean and running_var must be given"):
        F.instance_norm(mg.ones(2, 3, 4), use_input_stats=False)
    with pytest.raises(ShapeError, match=r"weight has shape \(2,\).*one value per\s+channel \(3\)"):
        F.instance_norm(mg.ones(2, 3, 4), weight=mg.ones(2))


# ---- local response norm, Bilinear, channel shuffle ------------------------------------------


@pytest.mark.parametrize("order", [1, 2])
@FEW
@given(
    x=mst.float_arrays(mst.shapes(3, 5, max_side=4), -3, 3),
    size=st.integers(1, 5),
    alpha=st.sampled_from([1e-4, 0.5, 2.0]),
    beta=st.sampled_from([0.75, 0.5, 2.0]),
    k=st.sampled_from([1.0, 2.0, 0.5]),
)
def test_local_response_norm_matches_torch(order, x, size, alpha, beta, k):
    """Windows wider than the channels too, and 3-d to 5-d inputs (torch pools 3-d inputs in
    2-d and the others in 3-d)."""
    assert_matches_torch(
        lambda t: F.local_response_norm(t, size, alpha, beta, k),
        lambda t: TF.local_response_norm(t, size, alpha, beta, k),
        x, order=order, rtol=RTOL, atol=ATOL, name="local_response_norm",
    )  # fmt: skip


def test_local_response_norm_layer_is_torchs_and_refuses_what_torch_refuses():
    mine, theirs = (
        nn.LocalResponseNorm(3, 0.1, 0.5, 2.0),
        torch.nn.LocalResponseNorm(3, 0.1, 0.5, 2.0),
    )
    assert repr(mine) == repr(theirs)
    layers_agree(mine, theirs, np.random.default_rng(0).normal(size=(2, 5, 3)))
    assert F.local_response_norm(mg.ones(0, 3, 2), 2).shape == (0, 3, 2)
    with pytest.raises(ShapeError, match=r"3 or more dims.*\(2, 3\)"):
        F.local_response_norm(mg.ones(2, 3), 2)
    with pytest.raises(ValueError, match="Expected 3D or higher"):
        TF.local_response_norm(torch.ones(2, 3), 2)


@FEW
@given(
    batch=mst.shapes(0, 2, max_side=3),
    sizes=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_bilinear_is_torchs_from_the_same_seed(batch, sizes, bias, seed):
    """The same seed gives torch's weight and bias; outputs and every gradient agree."""
    torch.manual_seed(seed)
    theirs = torch.nn.Bilinear(*sizes, bias=bias)
    torch.manual_seed(seed)
    mine = nn.Bilinear(*sizes, bias=bias)
    assert repr(mine) == repr(theirs)
    same_state(mine, theirs)
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=(*batch, sizes[0])), rng.normal(size=(*batch, sizes[1]))
    mine.double()
    theirs.double()
    args = [(x1, x2), (x1, x2)]
    assert_matches_torch(
        lambda a, b, *p: F.bilinear(a, b, *p), lambda a, b, *p: TF.bilinear(a, b, *p),
        *args[0], *[p.detach().numpy() for p in theirs.parameters()], rtol=RTOL, atol=ATOL,
        name="bilinear",
    )  # fmt: skip
    leaf1, leaf2 = mg.tensor(x1, requires_grad=True), mg.tensor(x2, requires_grad=True)
    t1, t2 = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    mine(leaf1, leaf2).sum().backward()
    theirs(t1, t2).sum().backward()
    close(leaf1.grad._data, t1.grad)
    close(leaf2.grad._data, t2.grad)
    for p, q in zip(mine.parameters(), theirs.parameters(), strict=True):
        close(p.grad._data, q.grad)


def test_bilinear_refuses_what_torch_refuses():
    cases = [  # (input1, input2, weight, bias)
        ((2, 3), (3, 4), (5, 3, 4), None),  # batch dims differ
        ((2, 3), (2, 4), (5, 2, 4), None),  # in1 is not weight's
        ((2, 3), (2, 4), (5, 3, 4), (4,)),  # one bias per output
    ]
    for shapes in cases:
        mine = [None if s is None else mg.ones(*s) for s in shapes]
        theirs = [None if s is None else torch.ones(*s) for s in shapes]
        with pytest.raises(ShapeError, match="bilinear: "):
            F.bilinear(*mine)
        with pytest.raises(RuntimeError, match="bilinear"):
            TF.bilinear(*theirs)


@st.composite
def channel_shuffle_cases(draw):
    groups, per_group = draw(st.integers(1, 3), label="groups"), draw(st.integers(1, 3))
    batch = draw(st.integers(1, 2), label="N")
    spatial = draw(mst.shapes(1, 2, max_side=3), label="spatial")
    return draw(mst.float_arrays((batch, groups * per_group, *spatial)), label="x"), groups


@FEW
@given(case=channel_shuffle_cases())
def test_channel_shuffle_matches_torch(case):
    x, groups = case
    assert_matches_torch(
        lambda t: F.channel_shuffle(t, groups), lambda t: TF.channel_shuffle(t, groups), x,
        rtol=RTOL, atol=ATOL, name="channel_shuffle",
    )  # fmt: skip
    mine, theirs = nn.ChannelShuffle(groups), torch.nn.ChannelShuffle(groups)
    assert repr(mine) == repr(theirs)
    layers_agree(mine, theirs, x, modes=("train",))


def test_channel_shuffle_refuses_what_torch_refuses():
    for shape, groups in [((2, 3, 4), 2), ((2, 4, 4), 0), ((2, 4), 2)]:
        with pytest.raises(ValueError, match="channel_shuffle: "):
            F.channel_shuffle(mg.ones(*shape), groups)
        with pytest.raises(RuntimeError):
            TF.channel_shuffle(torch.ones(*shape), groups)


# ---- padding layers, Fold and Unfold -----------------------------------------------------------

PADS = [  # (name, args, input shape)
    ("ZeroPad1d", (2,), (2, 3, 4)),
    ("ZeroPad1d", ((1, -1),), (3, 4)),
    ("ZeroPad3d", (1,), (2, 3, 2, 3, 4)),
    ("ZeroPad3d", ((1, 0, 2, 0, 0, 1),), (3, 2, 3, 4)),
    ("ConstantPad3d", ((1, 0, 2, 0, 0, 1), 0.5), (2, 3, 2, 3, 4)),
    ("ConstantPad3d", (1, -2.0), (2, 2, 2, 2)),
    ("CircularPad1d", (2,), (2, 3, 4)),
    ("CircularPad1d", ((3, 0),), (3, 4)),
    ("CircularPad2d", ((1, 0, 2, 1),), (2, 3, 4, 5)),
    ("CircularPad2d", (1,), (3, 4, 5)),
]


@pytest.mark.parametrize(("name", "args", "shape"), PADS, ids=lambda v: repr(v))
def test_more_padding_layers_are_torchs(name, args, shape):
    """repr and attributes, values, first and second derivatives (of the output squared)."""
    mine, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(mine) == repr(theirs)
    assert mine.padding == theirs.padding
    assert getattr(mine, "value", None) == getattr(theirs, "value", None)
    for base in ("ConstantPad1d", "ConstantPad2d", "CircularPad1d"):  # torch's classes
        assert isinstance(mine, getattr(nn, base)) == isinstance(theirs, getattr(torch.nn, base))
    x = np.random.default_rng(0).normal(size=shape)
    assert_matches_torch(
        lambda t: mine(t) ** 2, lambda t: theirs(t) ** 2, x, order=2, rtol=RTOL, atol=ATOL,
        name=name,
    )  # fmt: skip


def test_circular_pads_refuse_what_torch_refuses():
    for lib, make in ((nn, mg.ones), (torch.nn, torch.ones)):
        with pytest.raises(ValueError, match="expected 2D or 3D input"):
            lib.CircularPad1d(1)(make(4))
        with pytest.raises(ValueError, match="expected 3D or 4D input"):
            lib.CircularPad2d(1)(make(4, 4))
    with pytest.raises(ValueError, match=r"CircularPad1d: padding 3 on a dim of size 2"):
        nn.CircularPad1d(3)(mg.ones(1, 2, 2))
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        torch.nn.CircularPad1d(3)(torch.ones(1, 2, 2))
    with pytest.raises(ValueError, match=r"CircularPad2d: padding 4 on a dim of size 3"):
        nn.CircularPad2d((0, 1, 4, 0))(mg.ones(1, 3, 2))
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        torch.nn.CircularPad2d((0, 1, 4, 0))(torch.ones(1, 3, 2))


@pytest.mark.parametrize(
    ("args", "shape"),
    [((2,), (2, 3, 4, 5)), (((2, 3), 1, (1, 0), (2, 1)), (1, 2, 5, 4)), ((2, 2, 1, 2), (3, 4, 4))],
)
def test_unfold_and_fold_layers_are_torchs(args, shape):
    unfold, their_unfold = nn.Unfold(*args), torch.nn.Unfold(*args)
    assert repr(unfold) == repr(their_unfold)
    x = np.random.default_rng(0).normal(size=shape)
    layers_agree(unfold, their_unfold, x, modes=("train",))
    columns = their_unfold(torch.tensor(x))
    fold, their_fold = nn.Fold(shape[-2:], *args), torch.nn.Fold(shape[-2:], *args)
    assert repr(fold) == repr(their_fold)
    layers_agree(fold, their_fold, columns.numpy(), modes=("train",))


# ---- adaptive max pooling, max unpooling, LP pooling ---------------------------------------


@st.composite
def adaptive_max_cases(draw, dims: int):
    """(x, output_size): (N, C, *spatial) or (C, *spatial), the values all different (so that
    each window has one maximum), output sizes up to the input's and beyond."""
    batch = draw(mst.shapes(1, 2, max_side=2), label="batch")
    spatial = draw(mst.shapes(dims, dims, max_side=6), label="spatial")
    x = draw(mst.distinct_arrays((*batch, *spatial), -10, 10), label="x")
    sizes = tuple(draw(st.integers(1, side + 1), label="output side") for side in spatial)
    if dims == 2 and draw(st.booleans(), label="a None side"):
        sizes = (None, sizes[1])
    return x, sizes[0] if dims == 1 else sizes


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("dims", [1, 2])
@FEW
@given(data=st.data())
def test_adaptive_max_pool_matches_torch(order, dims, data):
    """Values, the gradient (to each window's maximum; the sum where windows overlap) and the
    second derivatives of the output squared; the indices are torch's."""
    x, size = data.draw(adaptive_max_cases(dims))
    ours, theirs = (
        (F.adaptive_max_pool1d, TF.adaptive_max_pool1d)
        if dims == 1
        else (F.adaptive_max_pool2d, TF.adaptive_max_pool2d)
    )
    assert_matches_torch(
        lambda t: ours(t, size) ** 2, lambda t: theirs(t, size) ** 2, x, order=order,
        rtol=RTOL, atol=ATOL, name=f"adaptive_max_pool{dims}d",
    )  # fmt: skip
    _, indices = ours(mg.tensor(x), size, return_indices=True)
    assert torch.equal(indices._data, theirs(torch.tensor(x), size, return_indices=True)[1])


def test_adaptive_max_pool_ties_go_where_torchs_do():
    """A window of equal values: torch's kernel picks one, and the gradient goes to it alone."""
    x = np.array([[[1.0, 1.0, 3.0, 3.0, 2.0]]])
    for size in (1, 2, 3):
        assert_matches_torch(
            lambda t, size=size: F.adaptive_max_pool1d(t, size),
            lambda t, size=size: TF.adaptive_max_pool1d(t, size),
            x, name="adaptive_max_pool1d at ties",
        )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "args", "shape"),
    [
        ("AdaptiveMaxPool1d", (3,), (2, 3, 7)),
        ("AdaptiveMaxPool1d", (2, True), (3, 5)),
        ("AdaptiveMaxPool2d", ((3, None),), (2, 3, 5, 4)),
        ("AdaptiveMaxPool2d", (2, True), (3, 5, 4)),
    ],
)
def test_adaptive_max_pool_layers_are_torchs(name, args, shape):
    mine, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(mine) == repr(theirs)
    x = np.random.default_rng(0).normal(size=shape)
    if mine.return_indices:
        out, indices = mine(mg.tensor(x))
        expected, their_indices = theirs(torch.tensor(x))
        close(out._data, expected)
        assert torch.equal(indices._data, their_indices)
    else:
        layers_agree(mine, theirs, x, modes=("train",))


@st.composite
def unpool_cases(draw, dims: int):
    """(pooled, indices, kernel, stride, padding, output_size): max_pool's output and indices
    on distinct values, stride >= kernel (the windows do not overlap: one value per place).
    (Without output_size, a padded pool's indices may fall outside the default size: torch
    refuses them too.)"""
    kernel = draw(st.integers(1, 3), label="kernel")
    stride = draw(st.integers(kernel, kernel + 1), label="stride")
    padding = draw(st.integers(0, kernel // 2), label="padding")
    batch = draw(mst.shapes(1, 2, max_side=2), label="batch")
    spatial = draw(mst.shapes(dims, dims, min_side=kernel, max_side=6), label="spatial")
    x = torch.tensor(draw(mst.distinct_arrays((*batch, *spatial), -10, 10), label="x"))
    pool = TF.max_pool1d if dims == 1 else TF.max_pool2d
    pooled, indices = pool(x, kernel, stride, padding, return_indices=True)
    # the size before pooling (always one torch's rule allows: within stride of the size the
    # pool's arithmetic gives), the spatial sides alone or with N and C
    with_batch = len(batch) == 2 and draw(st.booleans(), label="output_size with N and C")
    output_size = tuple(x.shape[-2 - dims :] if with_batch else spatial)
    return pooled.numpy(), indices, kernel, stride, padding, output_size


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("dims", [1, 2])
@FEW
@given(data=st.data())
def test_max_unpool_matches_torch(order, dims, data):
    pooled, indices, kernel, stride, padding, size = data.draw(unpool_cases(dims))
    ours, theirs = (
        (F.max_unpool1d, TF.max_unpool1d) if dims == 1 else (F.max_unpool2d, TF.max_unpool2d)
    )
    assert_matches_torch(
        lambda t: ours(t, mg.Tensor(indices), kernel, stride, padding, size) ** 2,
        lambda t: theirs(t, indices, kernel, stride, padding, size) ** 2,
        pooled, order=order, rtol=RTOL, atol=ATOL, name=f"max_unpool{dims}d",
    )  # fmt: skip


def test_max_unpool_layers_undo_max_pool_as_torchs():
    x = np.random.default_rng(0).normal(size=(2, 3, 6, 5))
    for dims, args in ((2, (2,)), (2, ((2, 3), (2, 1), (1, 0))), (1, (3, 2, 1))):
        data = torch.tensor(x if dims == 2 else x[..., 0])
        pool = getattr(torch.nn, f"MaxPool{dims}d")(*args, return_indices=True)
        pooled, indices = pool(data)
        mine = getattr(nn, f"MaxUnpool{dims}d")(*args)
        theirs = getattr(torch.nn, f"MaxUnpool{dims}d")(*args)
        assert repr(mine) == repr(theirs)
        assert (mine.kernel_size, mine.stride, mine.padding) == (
            theirs.kernel_size, theirs.stride, theirs.padding,
        )  # fmt: skip
        size = data.shape  # with N and C: the sizes before pooling
        out = mine(mg.tensor(pooled.numpy()), mg.Tensor(indices), size)
        close(out._data, theirs(pooled, indices, size))


def test_max_unpool_refuses_what_torch_refuses():
    pooled, indices = TF.max_pool2d(torch.randn(1, 2, 4, 4), 2, return_indices=True)
    for size in [(9, 4), (4,), (1, 2, 4, 6)]:  # too far from 4 x 4; too few sizes; 6 > 4 + 2
        with pytest.raises(ValueError, match="max_unpool2d: output_size"):
            F.max_unpool2d(mg.Tensor(pooled), mg.Tensor(indices), 2, output_size=size)
        with pytest.raises(ValueError, match="output_size"):
            TF.max_unpool2d(pooled, indices, 2, output_size=size)
    with pytest.raises(ShapeError, match=r"indices has shape \(1, 2, 2, 1\)"):
        F.max_unpool2d(mg.Tensor(pooled), mg.Tensor(indices[..., :1]), 2)
    with pytest.raises(RuntimeError):
        TF.max_unpool2d(pooled, indices[..., :1], 2)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("dims", [1, 2])
@FEW
@given(
    data=st.data(),
    norm_type=st.sampled_from([1.0, 2.0, 3.0, 1.5]),
    kernel=st.integers(1, 3),
    stride=st.sampled_from([None, 1, 2]),
    ceil_mode=st.booleans(),
)
def test_lp_pool_matches_torch(order, dims, data, norm_type, kernel, stride, ceil_mode):
    """Positive values (a window of negative ones has no real 1/p-th root for odd p, NaN in
    both); off 0, where the root's slope is infinite."""
    batch = data.draw(mst.shapes(1, 2, max_side=2), label="batch")
    spatial = data.draw(mst.shapes(dims, dims, min_side=kernel, max_side=5), label="spatial")
    x = data.draw(mst.float_arrays((*batch, *spatial), 0.1, 5), label="x")
    ours, theirs = (F.lp_pool1d, TF.lp_pool1d) if dims == 1 else (F.lp_pool2d, TF.lp_pool2d)
    assert_matches_torch(
        lambda t: ours(t, norm_type, kernel, stride, ceil_mode),
        lambda t: theirs(t, norm_type, kernel, stride, ceil_mode),
        x, order=order, rtol=RTOL, atol=ATOL, name=f"lp_pool{dims}d",
    )  # fmt: skip


def test_lp_pool_of_signed_values_and_of_zeros_is_torchs():
    """p = 2 over values of both signs; a window of zeros (its value 0, its slope 0)."""
    x = np.array([[[1.0, -2.0, 0.0, 0.0, -0.5, 3.0]]])
    assert_matches_torch(lambda t: F.lp_pool1d(t, 2, 2), lambda t: TF.lp_pool1d(t, 2, 2), x)
    assert_matches_torch(lambda t: F.lp_pool1d(t, 1, 3), lambda t: TF.lp_pool1d(t, 1, 3), x)


@pytest.mark.parametrize("norm_type", [math.inf, -math.inf])
def test_lp_pool_at_infinite_orders_is_the_largest_or_smallest_magnitude_as_torchs(norm_type):
    """p = inf: each window's largest |x|, p = -inf its smallest (torch's max pools of |x| and
    of -|x|); magnitudes all different, so no window has a tie, signs mixed."""
    rng = np.random.default_rng(5)
    magnitudes = rng.permutation(np.arange(1, 2 * 3 * 5 * 4 + 1)) / 7.0
    x = (magnitudes * rng.choice([-1.0, 1.0], magnitudes.size)).reshape(2, 3, 5, 4)
    for order in (1, 2):
        assert_matches_torch(
            lambda t: F.lp_pool2d(t, norm_type, (2, 3), 1, True),
            lambda t: TF.lp_pool2d(t, norm_type, (2, 3), 1, True),
            x, order=order, rtol=RTOL, atol=ATOL, name="lp_pool2d",
        )  # fmt: skip
        assert_matches_torch(
            lambda t: F.lp_pool1d(t, norm_type, 3, 2),
            lambda t: TF.lp_pool1d(t, norm_type, 3, 2),
            x[0], order=order, rtol=RTOL, atol=ATOL, name="lp_pool1d",
        )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "args", "shape"),
    [("LPPool1d", (2, 3), (2, 3, 7)), ("LPPool1d", (1.5, 2, 1, True), (3, 5)),
     ("LPPool2d", (2, 3), (2, 3, 5, 4)), ("LPPool2d", (3, (2, 1), (1, 2)), (3, 5, 4))],
)  # fmt: skip
def test_lp_pool_layers_are_torchs(name, args, shape):
    mine, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(mine) == repr(theirs)
    layers_agree(mine, theirs, np.random.default_rng(0).uniform(0.1, 3, shape), modes=("train",))
