"""RMSNorm, the parameter containers (ParameterList, ParameterDict), the shrink activations,
instance norm, local response norm, Bilinear, more padding layers, channel shuffle and the
Fold/Unfold modules, against torch: float64, rtol 1e-10, upstream gradients drawn at random,
outputs and the gradients of the input and of every parameter, seeded init, names and repr.
Values are drawn off the kinks (the shrinks' edges) by construction; the kinks are tested
alone.
"""

from __future__ import annotations

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
FEW = settings(max_examples=25, deadline=None)


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
    with pytest.raises(KeyError):  # a dict's error (torch's getattr gives an AttributeError)
        nn.ParameterDict()["missing"]
    shared = mg.ones(2)
    assert nn.ParameterList([shared])[0]._data is shared._data  # wrapped, not copied (as torch)
    copied = nn.ParameterDict({"a": torch.ones(1)}).copy()
    assert isinstance(copied, nn.ParameterDict) and list(copied) == ["a"]


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
