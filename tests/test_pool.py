"""Pooling against torch autograd (float64, rtol 1e-7, atol 1e-9, random upstream gradients) and
finite differences: max_pool2d (ties pinned: the gradient goes where torch sends it),
avg_pool2d in all its modes, adaptive_avg_pool2d; their gradients of gradients (order=2); the
kernel that computes avg_pool2d's first-order backward against its formula; the layers' repr;
max_pool1d and avg_pool1d (the 2-d pooling of windows one row high) the same way.

Max pooling has kinks where two elements of a window tie: against finite differences its
inputs are distinct by construction (distinct_arrays); against torch, ties are drawn on purpose.
The settings are drawn so that torch defines the result (see pool_settings); a max-pooling
window that would see padding alone is minigrad's error, pinned on its own.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import example, given
from hypothesis import strategies as st
from test_first_order_calls import CountCalls

import minigrad as mg
from minigrad import nn
from minigrad.autograd.function import formulas_only
from minigrad.errors import ShapeError
from minigrad.nn import functional as F
from minigrad.testing import assert_close, assert_matches_torch, gradcheck
from minigrad.testing import strategies as mst


@st.composite
def pool_settings(draw: st.DrawFn, dilation: bool, sees_input: bool = True) -> dict:
    """kernel, stride, padding (at most half the kernel, torch's rule), dilation, ceil_mode,
    and an (N, C, H, W) shape torch accepts: the padded input as long as a window's reach.

    With `sees_input`, each side is also at least the dilation (for kernels over 1): then
    every window sees part of the input, so torch's results are defined. (With padding at most
    half the kernel, a window begins in the input or in the padding just before it, and its
    reads, d apart, cannot step over d or more input positions. A side under the dilation
    leaves at most one read per window in the input, and, the rules above worked through, no
    window with one: such settings are refused, or have a window of padding alone.)
    """
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilations = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    reach = [d * (k - 1) + 1 for k, d in zip(kernel, dilations)]
    least = [max(1, r - 2 * p) for r, p in zip(reach, padding)]
    if sees_input:
        least = [max(n, d if k > 1 else 1) for n, k, d in zip(least, kernel, dilations)]
    size = [n + draw(st.integers(0, 4)) for n in least]
    batch, channels = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    settings = {
        "shape": (batch, channels, *size),
        "kernel_size": kernel,
        "stride": stride,
        "padding": padding,
        "ceil_mode": draw(st.booleans()),
    }
    if dilation:
        settings["dilation"] = dilations
    return settings


def _options(settings: dict) -> dict:
    return {k: v for k, v in settings.items() if k != "shape"}


@st.composite
def max_pool_cases(draw: st.DrawFn, distinct: bool = False) -> tuple[np.ndarray, dict]:
    settings = draw(pool_settings(dilation=True))
    if distinct:
        x = draw(mst.distinct_arrays(settings["shape"]))
    else:  # few values, so windows often tie
        values = st.sampled_from([-1.0, 0.0, 2.0, 3.5])
        x = draw(mst.hnp.arrays(np.float64, settings["shape"], elements=values))
    return x, settings


def _tie_case(x: np.ndarray, **options) -> tuple[np.ndarray, dict]:
    return x, {"shape": x.shape, "stride": None, "padding": 0, "ceil_mode": False, **options}


def check_max_pool(case: tuple[np.ndarray, dict], order: int = 1) -> None:
    x, settings = case
    options = _options(settings)
    assert_matches_torch(
        lambda t: F.max_pool2d(t, **options),
        lambda t: TF.max_pool2d(t, **options),
        x,
        name=f"max_pool2d(**{options})",
        order=order,
    )


@given(case=max_pool_cases())
@example(case=_tie_case(np.ones((1, 1, 4, 4)), kernel_size=2))  # every window a 4-way tie
@example(case=_tie_case(np.ones((1, 1, 4, 4)), kernel_size=3, stride=1))  # overlapping ties
@example(case=_tie_case(np.array([[[[1.0, 2.0, 2.0, 1.0]]]]), kernel_size=(1, 2), stride=1))
@example(case=_tie_case(np.zeros((1, 2, 5, 5)), kernel_size=3, stride=2, padding=1))
def test_max_pool2d_matches_torch(case):
    check_max_pool(case)


@given(case=max_pool_cases(distinct=True))
@example(case=_tie_case(np.arange(16.0).reshape(1, 1, 4, 4), kernel_size=3, stride=1, padding=1))
def test_max_pool2d_second_derivatives_match_torch(case):
    """The backward is a scatter-add of G by the saved indices (ScatterAdd), linear in G: its
    gradient with respect to G gathers at the indices, and with respect to x it is 0. Distinct
    values, so that no window ties (where the derivative is not defined)."""
    check_max_pool(case, order=2)


@given(case=max_pool_cases(distinct=True))
def test_max_pool2d_passes_gradcheck(case):
    x, settings = case
    options = _options(settings)
    gradcheck(lambda t: F.max_pool2d(t, **options), x[:1, :1], name=f"max_pool2d(**{options})")


def test_max_pool2d_return_indices_and_unbatched_input():
    x = mg.tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    out, indices = F.max_pool2d(x, 2, return_indices=True)
    expected, expected_indices = TF.max_pool2d(x._data, 2, return_indices=True)
    assert torch.equal(out._data, expected) and torch.equal(indices._data, expected_indices)
    assert not indices.requires_grad
    layer_out, layer_indices = nn.MaxPool2d(2, return_indices=True)(x)
    assert torch.equal(layer_indices._data, expected_indices)
    unbatched = np.arange(18.0).reshape(2, 3, 3)
    assert_matches_torch(
        lambda t: F.max_pool2d(t, 2, 1), lambda t: TF.max_pool2d(t, 2, 1), unbatched
    )


def test_max_pool2d_refuses_a_window_of_padding_alone():
    # Dilation 3 steps over a 2-row input: the window of rows -1 and 2 sees padding alone.
    # torch outputs -inf there, with an index outside the input that its backward then reads
    # (the process may abort); minigrad refuses, naming the window, the settings and the rule.
    x = mg.tensor(np.arange(6.0).reshape(1, 1, 2, 3), requires_grad=True)
    with pytest.raises(ShapeError) as error:
        F.max_pool2d(x, 2, padding=1, dilation=3)
    message = str(error.value)
    assert message.startswith("max_pool2d: with kernel_size=(2, 2), stride=(2, 2), padding=(1, 1)")
    for words in ("dilation=(3, 3)", "output row 0 reads input rows -1 and 2", "(1, 1, 2, 3)"):
        assert words in message
    assert "Every window must see at least one element of the input" in message
    assert bool(TF.max_pool2d(x._data, 2, padding=1, dilation=3).isinf().any())  # torch's -inf


def test_max_pool2d_layer_refuses_the_issues_window_of_padding_alone():
    # The case of issue 21: a 1x1 input, kernel (1, 2), padding (0, 1), dilation (1, 2).
    layer = nn.MaxPool2d((1, 2), padding=(0, 1), dilation=(1, 2), return_indices=True)
    with pytest.raises(ShapeError, match=r"output column 0 reads input columns -1 and 1, all in"):
        layer(mg.zeros(1, 1, 1, 1, requires_grad=True))


@st.composite
def padding_only_settings(draw: st.DrawFn) -> tuple[dict, int]:
    """Settings torch accepts whose first window along one dim (drawn) sees padding alone: in
    that dim kernel 2, padding 1, dilation d >= 2 and d - 1 input positions, so the window reads
    positions -1 and d - 1. (With padding at most half the kernel, this is the only way a window
    sees padding alone; see pool_settings.)"""
    settings = draw(pool_settings(dilation=True))
    dim, dilation = draw(st.integers(0, 1)), draw(st.integers(2, 4))
    for key, value in (("kernel_size", 2), ("padding", 1), ("dilation", dilation)):
        settings[key] = tuple(value if i == dim else v for i, v in enumerate(settings[key]))
    shape = list(settings["shape"])
    shape[2 + dim] = dilation - 1
    settings["shape"] = tuple(shape)
    return settings, dim


@given(case=padding_only_settings())
def test_max_pool2d_refuses_every_window_of_padding_alone(case):
    settings, dim = case
    options = _options(settings)
    x = torch.randn(settings["shape"], dtype=torch.float64)
    assert bool(TF.max_pool2d(x, **options).isinf().any())  # torch: -inf, then undefined
    side = ("row", "column")[dim]
    reads = f"output {side} 0 reads input {side}s -1 and {options['dilation'][dim] - 1}, all in"
    for layer in (False, True):
        with pytest.raises(ShapeError, match=reads):
            if layer:
                nn.MaxPool2d(**options)(mg.Tensor(x, requires_grad=True))
            else:
                F.max_pool2d(mg.Tensor(x, requires_grad=True), **options)


@given(settings=pool_settings(dilation=True, sees_input=False))
@example(
    settings={
        "shape": (1, 1, 1, 1),
        "kernel_size": (1, 2),
        "stride": None,
        "padding": (0, 1),
        "dilation": (1, 2),
        "ceil_mode": False,
    }
)
def test_max_pool2d_refuses_exactly_where_torch_gives_a_window_of_padding_alone(settings):
    # Any size torch accepts, small ones included: minigrad refuses exactly the settings where
    # torch's forward gives -inf for a finite input, and otherwise gives torch's values.
    options = _options(settings)
    x = torch.zeros(settings["shape"], dtype=torch.float64)
    expected = TF.max_pool2d(x, **options)  # torch's forward is defined; its backward is not
    if bool(expected.isinf().any()):
        with pytest.raises(ShapeError, match="Every window must see at least one element"):
            F.max_pool2d(mg.Tensor(x), **options)
    else:
        assert torch.equal(F.max_pool2d(mg.Tensor(x), **options)._data, expected)


@st.composite
def avg_pool_cases(draw: st.DrawFn) -> tuple[np.ndarray, dict]:
    settings = draw(pool_settings(dilation=False))
    settings["count_include_pad"] = draw(st.booleans())
    settings["divisor_override"] = draw(st.none() | st.integers(1, 5))
    return draw(mst.float_arrays(settings["shape"])), settings


def _avg_case(shape, **options) -> tuple[np.ndarray, dict]:
    defaults = {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True}
    x = np.linspace(-3, 4, np.prod(shape)).reshape(shape)
    return x, {"shape": shape, "divisor_override": None, **defaults, **options}


@given(case=avg_pool_cases())
@example(case=_avg_case((1, 1, 5, 5), kernel_size=2))  # the last row and column never pooled
@example(case=_avg_case((1, 2, 5, 6), kernel_size=3, stride=2, padding=1, ceil_mode=True))
@example(case=_avg_case((2, 1, 5, 5), kernel_size=3, padding=1, count_include_pad=False))
@example(case=_avg_case((1, 1, 4, 7), kernel_size=(2, 3), stride=(1, 2), divisor_override=4))
def test_avg_pool2d_matches_torch(case):
    x, settings = case
    options = _options(settings)
    assert_matches_torch(
        lambda t: F.avg_pool2d(t, **options),
        lambda t: TF.avg_pool2d(t, **options),
        x,
        name=f"avg_pool2d(**{options})",
    )


@given(case=avg_pool_cases())
@example(case=_avg_case((1, 2, 5, 6), kernel_size=3, stride=2, padding=1, ceil_mode=True))
@example(case=_avg_case((2, 1, 5, 5), kernel_size=3, padding=1, count_include_pad=False))
def test_avg_pool2d_second_derivatives_match_torch(case):
    """The backward is a transposed convolution of G / divisor by a kernel of ones
    (ConvTranspose), whose own backward is a convolution: average pooling again."""
    x, settings = case
    options = _options(settings)
    assert_matches_torch(
        lambda t: F.avg_pool2d(t, **options),
        lambda t: TF.avg_pool2d(t, **options),
        x,
        name=f"avg_pool2d(**{options})",
        order=2,
    )


@given(case=avg_pool_cases())
@example(case=_avg_case((1, 2, 5, 6), kernel_size=3, stride=2, padding=1, ceil_mode=True))
def test_avg_pool2d_kernel_backward_equals_its_formula(case):
    """avg_pool2d_backward, which computes the first-order backward, against the formula
    (float64, rtol 1e-7); the kernel is what runs, and formulas_only() runs the formula."""
    x, settings = case
    options = _options(settings)
    gradients, names = [], []
    for formulas in (False, True):
        t = mg.tensor(x, requires_grad=True)
        out = F.avg_pool2d(t, **options)
        upstream = torch.linspace(-2, 3, out.numel(), dtype=torch.float64).reshape(out.shape)
        with formulas_only() if formulas else contextlib.nullcontext(), CountCalls() as calls:
            out.backward(upstream)
        gradients.append(t.grad._data)
        names.append(calls.names)
    assert_close(gradients[0], gradients[1], what=f"avg_pool2d(**{options}): kernel, formula")
    assert "avg_pool2d_backward" in names[0] and "avg_pool2d_backward" not in names[1]


@given(case=avg_pool_cases())
def test_avg_pool2d_passes_gradcheck(case):
    x, settings = case
    options = _options(settings)
    gradcheck(lambda t: F.avg_pool2d(t, **options), x[:1, :1], name=f"avg_pool2d(**{options})")


@st.composite
def adaptive_cases(draw: st.DrawFn) -> tuple[np.ndarray, object]:
    shape = draw(mst.shapes(min_rank=3, max_rank=4, max_side=7))
    side = st.integers(1, 8)  # larger than the input too: windows then overlap
    size = draw(side | st.tuples(side | st.none(), side | st.none()))
    return draw(mst.float_arrays(shape)), size


@given(case=adaptive_cases())
@example(case=(np.arange(2 * 3 * 7 * 5.0).reshape(2, 3, 7, 5), 1))  # global average pooling
@example(case=(np.arange(25.0).reshape(1, 1, 5, 5), (3, 2)))  # uneven, overlapping windows
@example(case=(np.arange(12.0).reshape(1, 3, 4), (None, 3)))  # unbatched, one side kept
def test_adaptive_avg_pool2d_matches_torch(case):
    x, size = case
    assert_matches_torch(
        lambda t: F.adaptive_avg_pool2d(t, size),
        lambda t: TF.adaptive_avg_pool2d(t, size),
        x,
        name=f"adaptive_avg_pool2d(x, {size})",
    )


@given(case=adaptive_cases())
@example(case=(np.arange(25.0).reshape(1, 1, 5, 5), (3, 2)))  # uneven, overlapping windows
def test_adaptive_avg_pool2d_second_derivatives_match_torch(case):
    """The backward is A_h^T @ G @ A_w, two matrix products with constant matrices."""
    x, size = case
    assert_matches_torch(
        lambda t: F.adaptive_avg_pool2d(t, size),
        lambda t: TF.adaptive_avg_pool2d(t, size),
        x,
        name=f"adaptive_avg_pool2d(x, {size})",
        order=2,
    )


def test_adaptive_avg_pool2d_passes_gradcheck():
    x = np.linspace(-2, 2, 2 * 5 * 4).reshape(1, 2, 5, 4)
    gradcheck(lambda t: F.adaptive_avg_pool2d(t, (3, 3)), x)


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.MaxPool2d(2),
        lambda m: m.MaxPool2d((3, 2), stride=1, padding=1, dilation=2, ceil_mode=True),
        lambda m: m.AvgPool2d(3, 2, 1),
        lambda m: m.AvgPool2d(2, count_include_pad=False),
        lambda m: m.AdaptiveAvgPool2d((1, None)),
    ],
)
def test_pool_layers_match_torch(make):
    mine, theirs = make(nn), make(torch.nn)
    assert repr(mine) == repr(theirs)
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64)
    torch.testing.assert_close(mine(mg.Tensor(x))._data, theirs(x), rtol=1e-7, atol=1e-9)


# ---- 1-d pooling: the 2-d pooling of windows one row high -----------------------------------


@st.composite
def pool1d_settings(draw: st.DrawFn, dilation: bool) -> dict:
    """pool_settings' width alone: (N, C, L) and one int each, so torch defines the result."""
    settings = draw(pool_settings(dilation=dilation))
    batch, channels, _, length = settings["shape"]
    one_d = {
        "shape": (batch, channels, length),
        "kernel_size": settings["kernel_size"][1],
        "stride": None if settings["stride"] is None else settings["stride"][1],
        "padding": settings["padding"][1],
        "ceil_mode": settings["ceil_mode"],
    }
    if dilation:
        one_d["dilation"] = settings["dilation"][1]
    return one_d


@st.composite
def max_pool1d_cases(draw: st.DrawFn, distinct: bool = False) -> tuple[np.ndarray, dict]:
    settings = draw(pool1d_settings(dilation=True))
    if distinct:
        x = draw(mst.distinct_arrays(settings["shape"]))
    else:  # few values, so windows often tie
        values = st.sampled_from([-1.0, 0.0, 2.0, 3.5])
        x = draw(mst.hnp.arrays(np.float64, settings["shape"], elements=values))
    return x, settings


def check_max_pool1d(case: tuple[np.ndarray, dict], order: int = 1) -> None:
    x, settings = case
    options = _options(settings)
    assert_matches_torch(
        lambda t: F.max_pool1d(t, **options),
        lambda t: TF.max_pool1d(t, **options),
        x,
        name=f"max_pool1d(**{options})",
        order=order,
    )


@given(case=max_pool1d_cases())
@example(case=_tie_case(np.ones((1, 1, 4)), kernel_size=2))  # every window a 2-way tie
@example(case=_tie_case(np.array([[[1.0, 2.0, 2.0, 1.0]]]), kernel_size=2, stride=1))
@example(case=_tie_case(np.zeros((1, 2, 5)), kernel_size=3, stride=2, padding=1))  # overlapping
def test_max_pool1d_matches_torch(case):
    check_max_pool1d(case)


@given(case=max_pool1d_cases(distinct=True))
def test_max_pool1d_second_derivatives_match_torch(case):
    check_max_pool1d(case, order=2)


@given(case=max_pool1d_cases(distinct=True))
def test_max_pool1d_passes_gradcheck(case):
    x, settings = case
    options = _options(settings)
    gradcheck(lambda t: F.max_pool1d(t, **options), x[:1], name=f"max_pool1d(**{options})")


def test_max_pool1d_return_indices_and_unbatched_input():
    x = mg.tensor(np.array([[[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0]]]))
    out, indices = F.max_pool1d(x, 3, 2, 1, return_indices=True)
    expected, expected_indices = TF.max_pool1d(x._data, 3, 2, 1, return_indices=True)
    assert torch.equal(out._data, expected) and torch.equal(indices._data, expected_indices)
    assert out.shape == (1, 1, 4) and not indices.requires_grad
    _, layer_indices = nn.MaxPool1d(3, 2, 1, return_indices=True)(x)
    assert torch.equal(layer_indices._data, expected_indices)
    unbatched = np.arange(12.0).reshape(2, 6)
    assert_matches_torch(
        lambda t: F.max_pool1d(t, 2, 1), lambda t: TF.max_pool1d(t, 2, 1), unbatched
    )
    assert_matches_torch(
        lambda t: F.avg_pool1d(t, (3,), [2], 1), lambda t: TF.avg_pool1d(t, (3,), [2], 1), unbatched
    )


@st.composite
def avg_pool1d_cases(draw: st.DrawFn) -> tuple[np.ndarray, dict]:
    settings = draw(pool1d_settings(dilation=False))
    settings["count_include_pad"] = draw(st.booleans())
    return draw(mst.float_arrays(settings["shape"])), settings


def _avg1d_case(shape, **options) -> tuple[np.ndarray, dict]:
    defaults = {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True}
    x = np.linspace(-3, 4, np.prod(shape)).reshape(shape)
    return x, {"shape": shape, **defaults, **options}


@given(case=avg_pool1d_cases())
@example(case=_avg1d_case((1, 1, 5), kernel_size=2))  # the last element never pooled
@example(case=_avg1d_case((1, 2, 6), kernel_size=3, stride=2, padding=1, ceil_mode=True))
@example(case=_avg1d_case((2, 1, 5), kernel_size=3, padding=1, count_include_pad=False))
def test_avg_pool1d_matches_torch(case):
    x, settings = case
    options = _options(settings)
    name = f"avg_pool1d(**{options})"
    mine, theirs = (lambda t: F.avg_pool1d(t, **options)), (lambda t: TF.avg_pool1d(t, **options))
    assert_matches_torch(mine, theirs, x, name=name)
    assert_matches_torch(mine, theirs, x, name=name, order=2)


@given(case=avg_pool1d_cases())
def test_avg_pool1d_passes_gradcheck(case):
    x, settings = case
    options = _options(settings)
    gradcheck(lambda t: F.avg_pool1d(t, **options), x[:1], name=f"avg_pool1d(**{options})")


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.MaxPool1d(2),
        lambda m: m.MaxPool1d(3, stride=1, padding=1, dilation=2, ceil_mode=True),
        lambda m: m.MaxPool1d((2,), [1]),
        lambda m: m.AvgPool1d(3, 2, 1),
        lambda m: m.AvgPool1d([2], count_include_pad=False, ceil_mode=True),
    ],
)
def test_pool1d_layers_match_torch(make):
    mine, theirs = make(nn), make(torch.nn)
    assert repr(mine) == repr(theirs)
    x = torch.randn(2, 3, 7, dtype=torch.float64)
    torch.testing.assert_close(mine(mg.Tensor(x))._data, theirs(x), rtol=1e-7, atol=1e-9)


def test_pool1d_errors_say_what_is_wrong():
    for pool in (F.max_pool1d, F.avg_pool1d):
        name = pool.__name__
        with pytest.raises(ShapeError, match=rf"{name}: .*\(N, C, L\) or \(C, L\).*\(1, 2, 3, 7\)"):
            pool(mg.randn(1, 2, 3, 7), 2)
        with pytest.raises(ShapeError, match=rf"{name}: .*got shape \(7,\)"):
            pool(mg.randn(7), 2)
        with pytest.raises(ValueError, match=rf"{name}: kernel_size must be an int .* \(2, 3\)"):
            pool(mg.randn(2, 3, 7), (2, 3))
        with pytest.raises(ValueError, match=rf"{name}: stride must be an int"):
            pool(mg.randn(2, 3, 7), 2, (1, 1))


@given(
    pool=st.sampled_from(["max_pool1d", "avg_pool1d", "max_pool2d", "avg_pool2d"]),
    kernel=st.integers(1, 4),
    padding=st.integers(-1, 3),
    dilation=st.integers(1, 3),
)
@example(pool="max_pool1d", kernel=2, padding=2, dilation=1)  # the probe's case
@example(pool="max_pool2d", kernel=3, padding=2, dilation=2)  # dilated: still half the kernel
def test_pools_refuse_padding_over_half_the_kernel_as_torch(pool, kernel, padding, dilation):
    """padding at most kernel_size // 2, torch's rule, refused in the pool's own words (torch's
    message says "pad", and max_pool1d's came from the max_pool2d it is made of)."""
    options = {"kernel_size": kernel, "padding": padding}
    if pool.startswith("max"):
        options["dilation"] = dilation
    shape = (1, 2, 13) if pool.endswith("1d") else (1, 2, 13, 13)
    x = torch.linspace(-2, 3, math.prod(shape), dtype=torch.float64).reshape(shape)
    try:
        expected = getattr(TF, pool)(x, **options)
    except RuntimeError:
        expected = None
    if expected is None:
        rule = rf"{pool}: padding={padding}.* more than half of kernel_size={kernel}: .* 0 and "
        with pytest.raises(ValueError, match=rule + str(kernel // 2)):
            getattr(F, pool)(mg.Tensor(x), **options)
    else:
        assert torch.equal(getattr(F, pool)(mg.Tensor(x), **options)._data, expected)
