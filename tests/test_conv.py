"""Convolutions, transposed convolutions, unfold/fold and pad against torch autograd (float64,
rtol 1e-7, atol 1e-9, random upstream gradients), their gradients of gradients too (order=2),
and finite differences; the Conv1d/Conv2d/ConvTranspose1d/ConvTranspose2d layers against torch's;
the first-order backward's kernel (convolution_backward) against the formula it computes.

Hypothesis draws batch, channels, groups, odd and even sizes, non-square images and kernels,
strides, paddings (numbers, per-dim pairs, 'same', 'valid'), output paddings and dilations. A
convolution is linear in x and in W, so it has no kinks: any values will do.
"""

from __future__ import annotations

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
from minigrad.nn import functional as F
from minigrad.testing import assert_close, assert_matches_torch, gradcheck
from minigrad.testing import strategies as mst


@st.composite
def conv_cases(draw: st.DrawFn, dims: int = 2, max_side: int = 3) -> dict:
    """Arrays x, weight, maybe bias, and the settings of one conv{dims}d call that fit them."""
    groups = draw(st.integers(1, 3), label="groups")
    in_channels = groups * draw(st.integers(1, 2))
    out_channels = groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, max_side)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    padding_kind = draw(st.sampled_from(["numbers", "same", "valid"]))
    if padding_kind == "numbers":
        padding = tuple(draw(st.integers(0, 2)) for _ in range(dims))
    else:
        padding = padding_kind
        stride = (1,) * dims if padding == "same" else stride
    pads = padding if isinstance(padding, tuple) else (0,) * dims
    reach = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    # the smallest input the kernel fits in (after padding), up to 4 more: odd and even sides
    size = tuple(max(1, r - 2 * p) + draw(st.integers(0, 4)) for r, p in zip(reach, pads))
    if padding == "valid":
        size = tuple(max(s, r) for s, r in zip(size, reach))
    batch = draw(st.integers(1, 3), label="batch")
    case = {
        "x": draw(mst.float_arrays((batch, in_channels, *size)), label="x"),
        "weight": draw(mst.float_arrays((out_channels, in_channels // groups, *kernel))),
        "bias": draw(st.none() | mst.float_arrays((out_channels,)), label="bias"),
        "stride": _maybe_int(draw, stride),
        "padding": _maybe_int(draw, padding) if isinstance(padding, tuple) else padding,
        "dilation": _maybe_int(draw, dilation),
        "groups": groups,
    }
    return case


def _maybe_int(draw: st.DrawFn, values: tuple[int, ...]) -> int | tuple[int, ...]:
    """Equal sides sometimes written as one int, as users write them."""
    return values[0] if len(set(values)) == 1 and draw(st.booleans()) else values


def check_conv(case: dict, dims: int, order: int = 1) -> None:
    mine, theirs = (F.conv1d, TF.conv1d) if dims == 1 else (F.conv2d, TF.conv2d)
    options = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    arrays = [case["x"], case["weight"]] + ([case["bias"]] if case["bias"] is not None else [])
    assert_matches_torch(
        lambda *a: mine(*a, **options),
        lambda *a: theirs(*a, **options),
        *arrays,
        name=f"conv{dims}d(x, W{', b' if len(arrays) == 3 else ''}, **{options})",
        order=order,
    )


def _case(x_shape, w_shape, bias=True, **options) -> dict:
    """A hand-written case for @example: distinct values, so that swapped indices show."""
    x = np.linspace(-2, 3, np.prod(x_shape)).reshape(x_shape)
    weight = np.linspace(1, -1.5, np.prod(w_shape)).reshape(w_shape)
    defaults = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1}
    b = np.linspace(-1, 1, w_shape[0]) if bias else None
    return {"x": x, "weight": weight, "bias": b, **defaults, **options}


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's, about its own copy
@given(case=conv_cases(dims=2))
@example(case=_case((2, 3, 5, 7), (4, 3, 3, 2)))  # non-square image and kernel
@example(case=_case((1, 2, 8, 7), (2, 2, 3, 3), stride=2, padding=1))  # stride skips a row
@example(case=_case((2, 4, 6, 6), (4, 1, 3, 3), groups=4, padding=1))  # depthwise
@example(case=_case((1, 3, 6, 5), (2, 3, 2, 4), padding="same", dilation=(1, 2)))  # uneven same
@example(case=_case((1, 1, 28, 28), (4, 1, 5, 5), stride=2, padding=2))  # fastbook's first conv
def test_conv2d_matches_torch(case):
    check_conv(case, dims=2)


@given(case=conv_cases(dims=1, max_side=4))
@example(case=_case((2, 2, 9), (3, 2, 4), padding="same"))
@example(case=_case((1, 4, 10), (2, 2, 3), stride=3, groups=2, dilation=2))
def test_conv1d_matches_torch(case):
    check_conv(case, dims=1)


@st.composite
def small_conv_cases(draw: st.DrawFn) -> dict:
    """At most a few dozen elements: finite differences run the op twice per element."""
    groups = draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    size = [d * (k - 1) + 1 + draw(st.integers(0, 2)) for k, d in zip(kernel, dilation)]
    out_channels = groups * draw(st.integers(1, 2))
    return {
        "x": draw(mst.distinct_arrays((1, groups, *size))),
        "weight": draw(mst.distinct_arrays((out_channels, 1, *kernel))),
        "bias": draw(st.none() | mst.distinct_arrays((out_channels,))),
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
    }


@given(case=small_conv_cases())
def test_conv2d_passes_gradcheck(case):
    options = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    arrays = [case["x"], case["weight"]] + ([case["bias"]] if case["bias"] is not None else [])
    gradcheck(lambda *a: F.conv2d(*a, **options), *arrays, name=f"conv2d(**{options})")


def test_unbatched_input_matches_torch():
    x, w = np.linspace(-1, 1, 3 * 5 * 6).reshape(3, 5, 6), np.linspace(2, -1, 2 * 3 * 9)
    w = w.reshape(2, 3, 3, 3)
    assert_matches_torch(
        lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1), x, w
    )
    x1 = np.linspace(-1, 1, 2 * 7).reshape(2, 7)
    w1 = np.linspace(1, 0, 2 * 2 * 3).reshape(2, 2, 3)
    assert_matches_torch(F.conv1d, TF.conv1d, x1, w1, name="conv1d unbatched")


def test_conv_gradients_stay_float32():
    x = mg.randn(2, 3, 6, 6, requires_grad=True)
    conv = nn.Conv2d(3, 4, 3, stride=2)
    conv(x).sum().backward()
    assert x.grad.dtype == conv.weight.grad.dtype == conv.bias.grad.dtype == mg.float32


def test_conv_errors_name_the_shapes_and_the_rule():
    x = mg.randn(2, 3, 8, 8)
    with pytest.raises(mg.ShapeError, match=r"input \(2, 3, 8, 8\) has 3 channels.*expects 4"):
        F.conv2d(x, mg.randn(5, 2, 3, 3), groups=2)
    with pytest.raises(mg.ShapeError, match=r"10 wide in spatial dim 0 after padding, smaller"):
        F.conv2d(x, mg.randn(5, 3, 11, 3), padding=1)
    with pytest.raises(mg.ShapeError, match=r"takes input of shape \(N, C, H, W\)"):
        F.conv2d(mg.randn(8, 8), mg.randn(5, 3, 3, 3))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        F.conv2d(x, mg.randn(5, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv2d(3, 5, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"divisible by groups \(2\)"):
        nn.Conv2d(3, 4, 3, groups=2)


@pytest.mark.parametrize(
    "conv, x_shape, weight_shape, message",
    [
        (
            "conv2d",
            (1, 3, 5, 5),
            (4, 3, 3),
            r"conv2d: the weight must have 4 dims, \(out_channels, in_channels/groups, kh, kw\), "
            r"got shape \(4, 3, 3\) \(a weight of 3 dims is conv1d's\)",
        ),
        ("conv2d", (3, 5, 5), (4, 3, 3), r"conv2d: the weight must have 4 dims"),
        ("conv2d", (1, 3, 5, 5), (4, 3, 3, 3, 3), r"got shape \(4, 3, 3, 3, 3\) \(a weight of 5"),
        (
            "conv1d",
            (1, 3, 5),
            (4, 3),
            r"conv1d: the weight must have 3 dims, .* got shape \(4, 3\)\.",
        ),
        ("conv1d", (1, 3, 5), (4, 3, 3, 3), r"conv1d: the weight must have 3 dims"),
        (
            "conv2d",
            (1, 3, 5, 5, 5),
            (4, 3, 3, 3),
            r"conv2d takes input of shape \(N, C, H, W\), "
            r"or \(C, H, W\) for one example, got \(1, 3, 5, 5, 5\)",
        ),
    ],
)
def test_conv_with_a_weight_or_input_of_the_wrong_dims_says_what_it_wants(
    conv, x_shape, weight_shape, message
):
    # conv2d with a 3-d weight used to speak of conv1d's input shape (issue 21); conv1d with a
    # 2-d weight failed with a KeyError. torch refuses each of these too.
    with pytest.raises(RuntimeError):
        getattr(torch.nn.functional, conv)(torch.zeros(x_shape), torch.zeros(weight_shape))
    with pytest.raises(mg.ShapeError, match=message):
        getattr(F, conv)(mg.zeros(*x_shape), mg.zeros(*weight_shape))


# ---- unfold, fold, pad --------------------------------------------------------------------------


@st.composite
def window_cases(draw: st.DrawFn) -> tuple[np.ndarray, dict]:
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = [
        max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 3))
        for k, d, p in zip(kernel, dilation, padding)
    ]
    x = draw(mst.float_arrays((draw(st.integers(1, 2)), draw(st.integers(1, 3)), *size)))
    return x, {"kernel_size": kernel, "dilation": dilation, "padding": padding, "stride": stride}


@given(case=window_cases())
@example(case=(np.arange(12.0).reshape(1, 1, 3, 4), {"kernel_size": 2, "stride": 1}))
def test_unfold_matches_torch(case):
    x, options = case
    assert_matches_torch(
        lambda x: F.unfold(x, **options), lambda x: TF.unfold(x, **options), x, name="unfold"
    )


@given(case=window_cases())
def test_fold_matches_torch(case):
    x, options = case
    columns = TF.unfold(torch.as_tensor(x), **options).numpy()  # a valid input for fold
    size = x.shape[-2:]
    assert_matches_torch(
        lambda c: F.fold(c, size, **options),
        lambda c: TF.fold(c, size, **options),
        columns,
        name="fold",
    )


@given(case=window_cases())
def test_unfold_and_fold_second_derivatives_match_torch(case):
    """Unfold's backward is a Fold, and Fold's an Unfold: each differentiated again."""
    x, options = case
    assert_matches_torch(
        lambda x: F.unfold(x, **options), lambda x: TF.unfold(x, **options), x, order=2
    )
    columns, size = TF.unfold(torch.as_tensor(x), **options).numpy(), x.shape[-2:]
    assert_matches_torch(
        lambda c: F.fold(c, size, **options),
        lambda c: TF.fold(c, size, **options),
        columns,
        name="fold",
        order=2,
    )


def test_unfold_then_matmul_is_the_convolution():
    """The docstring's im2col view, checked: unfold, then one matmul with the flattened weight."""
    x, w = mg.randn(2, 3, 6, 5, dtype=mg.float64), mg.randn(4, 3, 3, 2, dtype=mg.float64)
    columns = F.unfold(x, (3, 2))  # (2, 3*3*2, 4*4)
    out = (w.reshape(4, -1) @ columns).reshape(2, 4, 4, 4)
    torch.testing.assert_close(out._data, F.conv2d(x, w)._data, rtol=1e-12, atol=1e-12)


@st.composite
def pad_cases(draw: st.DrawFn) -> tuple[np.ndarray, tuple[int, ...], str]:
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    if mode == "constant":
        shape = draw(mst.shapes(min_rank=1, max_rank=4, min_side=2, max_side=5))
        padded = draw(st.integers(1, len(shape)))
    else:  # torch pads the last 1 or 2 dims of a tensor with 1 or 2 more (batch, channels)
        padded = draw(st.integers(1, 2))
        rank = padded + draw(st.integers(1, 2))
        shape = draw(mst.shapes(min_rank=rank, max_rank=rank, min_side=2, max_side=5))
    pads = []
    for dim in reversed(shape[-padded:]):  # F.pad's order: the last dim first
        if mode == "constant":
            side = st.integers(-(dim // 2), 3)  # negative: crop
        elif mode == "reflect":
            side = st.integers(0, dim - 1)  # reflect needs pad < size
        else:
            side = st.integers(0, dim)  # circular needs pad <= size
        pads += [draw(side), draw(side)]
    return draw(mst.float_arrays(shape)), tuple(pads), mode


@given(case=pad_cases())
@example(case=(np.arange(6.0).reshape(1, 2, 3), (2, 2), "reflect"))
@example(case=(np.arange(8.0).reshape(1, 2, 4), (1, -2), "constant"))
@example(case=(np.arange(9.0).reshape(1, 1, 3, 3), (3, 3, 3, 3), "circular"))
def test_pad_matches_torch(case):
    x, pads, mode = case
    assert_matches_torch(
        lambda x: F.pad(x, pads, mode),
        lambda x: TF.pad(x, pads, mode),
        x,
        name=f"pad(x, {pads}, {mode!r})",
    )


@given(case=pad_cases())
@example(case=(np.arange(8.0).reshape(1, 2, 4), (1, -2), "constant"))
@example(case=(np.arange(12.0).reshape(1, 3, 4), (3, 3, 2, 1), "reflect"))
@example(case=(np.arange(9.0).reshape(1, 1, 3, 3), (3, 3, 3, 3), "circular"))
def test_pad_second_derivatives_match_torch(case):
    """A constant pad's backward is a pad by the negated amounts (a slicing), itself padded
    back; a copying pad's is an index_add (IndexAdd), whose backward picks by index."""
    x, pads, mode = case
    assert_matches_torch(
        lambda x: F.pad(x, pads, mode),
        lambda x: TF.pad(x, pads, mode),
        x,
        name=f"pad(x, {pads}, {mode!r})",
        order=2,
    )


def test_pad_with_a_value_and_bad_arguments():
    x = np.arange(6.0).reshape(2, 3)
    assert_matches_torch(
        lambda x: F.pad(x, (1, 2), value=7.5), lambda x: TF.pad(x, (1, 2), value=7.5), x
    )
    with pytest.raises(ValueError, match="two numbers per padded dim"):
        F.pad(mg.tensor(x), (1, 2, 3))
    with pytest.raises(ValueError, match="mode must be 'constant', 'reflect'"):
        F.pad(mg.tensor(x), (1, 2), mode="mirror")


# ---- the layers ---------------------------------------------------------------------------------


LAYERS = {
    "conv2d": lambda m: m.Conv2d(3, 4, 3, stride=2, padding=1),
    "conv2d non-square, no bias": lambda m: m.Conv2d(2, 6, (3, 2), dilation=(2, 1), bias=False),
    "conv2d grouped, same, reflect": lambda m: m.Conv2d(
        4, 6, (3, 2), padding="same", groups=2, padding_mode="reflect"
    ),
    "conv2d circular": lambda m: m.Conv2d(2, 2, 3, padding=2, padding_mode="circular"),
    "conv1d replicate": lambda m: m.Conv1d(2, 3, 4, padding=1, padding_mode="replicate"),
    "conv1d": lambda m: m.Conv1d(2, 3, 3, stride=2),
    "conv_transpose2d": lambda m: m.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
    "conv_transpose2d grouped, dilated, no bias": lambda m: m.ConvTranspose2d(
        4, 6, (3, 2), groups=2, dilation=(1, 2), bias=False
    ),
    "conv_transpose1d": lambda m: m.ConvTranspose1d(2, 3, 4, stride=3),
}


@pytest.mark.parametrize("name", LAYERS)
def test_conv_layer_matches_torch_init_repr_forward_and_backward(name):
    torch.manual_seed(0)
    mine = LAYERS[name](nn)
    torch.manual_seed(0)
    theirs = LAYERS[name](torch.nn)
    assert repr(mine) == repr(theirs)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert torch.equal(mine.state_dict()[key], value), f"{name}: {key} initialised differently"
    mine.double()
    theirs.double()
    spatial = (7, 6) if theirs.weight.ndim == 4 else (9,)
    x = torch.randn(2, theirs.in_channels, *spatial, dtype=torch.float64)
    expected = theirs(x)
    out = mine(mg.Tensor(x))
    torch.testing.assert_close(out._data, expected, rtol=1e-7, atol=1e-9)
    upstream = torch.randn_like(expected)
    out.backward(upstream)
    expected.backward(upstream)
    for (key, p), q in zip(mine.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad._data, q.grad, rtol=1e-7, atol=1e-9, msg=key)


def test_conv_transpose_layer_output_size_and_its_refusals_as_torch():
    torch.manual_seed(0)
    mine, theirs = (
        nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1),
        torch.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1),
    )
    x = torch.randn(1, 3, 5, 5)
    for size in ([9, 9], [10, 9], (1, 4, 10, 10)):  # the sizes stride 2 allows, and the batch's
        assert mine(mg.Tensor(x), output_size=size).shape == theirs(x, output_size=size).shape
    with pytest.raises(ValueError, match="valid sizes range from 9 to 10"):
        mine(mg.Tensor(x), output_size=[11, 9])
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported'):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(mg.ShapeError, match=r"has 3 channels \(dim 1\), but weight \(4, 3, 3, 3\)"):
        F.conv_transpose2d(mg.randn(1, 3, 5, 5), mg.randn(4, 3, 3, 3))
    with pytest.raises(mg.ShapeError, match=r"\(in_channels, out_channels/groups, kh, kw\)"):
        F.conv_transpose2d(mg.randn(1, 3, 5, 5), mg.randn(3, 3, 3))
    unbatched = mg.randn(3, 5, 5)
    assert F.conv_transpose2d(unbatched, mine.weight).shape == (4, 7, 7)


# ---- gradients of gradients: Convolution's backward is a ConvTranspose and a Convolution -------


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@given(case=conv_cases(dims=2))
@example(case=_case((1, 2, 8, 7), (2, 2, 3, 3), stride=2, padding=1))  # stride skips a row
@example(case=_case((2, 4, 6, 6), (4, 1, 3, 3), groups=4, padding=1, dilation=2))
@example(case=_case((1, 1, 28, 28), (4, 1, 5, 5), stride=2, padding=2))  # fastbook's first conv
def test_conv2d_second_derivatives_match_torch(case):
    check_conv(case, dims=2, order=2)


@given(case=conv_cases(dims=1, max_side=4))
@example(case=_case((1, 4, 10), (2, 2, 3), stride=3, groups=2, dilation=2))
def test_conv1d_second_derivatives_match_torch(case):
    check_conv(case, dims=1, order=2)


@st.composite
def conv_transpose_cases(draw: st.DrawFn, dims: int = 2) -> dict:
    """Arrays x, weight (C, O/g, k...), maybe bias, and settings of one conv_transpose{dims}d:
    output_padding below the stride or the dilation (torch's rule), and the padding no more
    than leaves an output of at least one element."""
    groups = draw(st.integers(1, 3), label="groups")
    in_channels = groups * draw(st.integers(1, 2))
    out_channels = groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    longest = [  # the output's side without padding
        (n - 1) * s + d * (k - 1) + op + 1
        for n, s, d, k, op in zip(size, stride, dilation, kernel, output_padding)
    ]
    padding = tuple(draw(st.integers(0, min(2, (n - 1) // 2))) for n in longest)
    batch = draw(st.integers(1, 3), label="batch")
    return {
        "x": draw(mst.float_arrays((batch, in_channels, *size)), label="x"),
        "weight": draw(mst.float_arrays((in_channels, out_channels // groups, *kernel))),
        "bias": draw(st.none() | mst.float_arrays((out_channels,)), label="bias"),
        "stride": _maybe_int(draw, stride),
        "padding": _maybe_int(draw, padding),
        "output_padding": _maybe_int(draw, output_padding),
        "groups": groups,
        "dilation": _maybe_int(draw, dilation),
    }


def check_conv_transpose(case: dict, dims: int, order: int) -> None:
    mine, theirs = (
        (F.conv_transpose1d, TF.conv_transpose1d)
        if dims == 1
        else (F.conv_transpose2d, TF.conv_transpose2d)
    )
    options = {k: case[k] for k in ("stride", "padding", "output_padding", "groups", "dilation")}
    arrays = [case["x"], case["weight"]] + ([case["bias"]] if case["bias"] is not None else [])
    assert_matches_torch(
        lambda *a: mine(*a, **options),
        lambda *a: theirs(*a, **options),
        *arrays,
        name=f"conv_transpose{dims}d(x, W{', b' if len(arrays) == 3 else ''}, **{options})",
        order=order,
    )


def _transposed_case(x_shape, w_shape, bias=True, **options) -> dict:
    defaults = {"stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "dilation": 1}
    case = _case(x_shape, w_shape, bias=False, **{**defaults, **options})
    case["bias"] = np.linspace(-1, 1, w_shape[1] * case["groups"]) if bias else None
    return case


@given(case=conv_transpose_cases(dims=2))
@example(case=_transposed_case((2, 3, 4, 5), (3, 2, 3, 3), stride=2, padding=1, output_padding=1))
@example(case=_transposed_case((1, 4, 3, 3), (4, 1, 3, 2), groups=2, dilation=2, output_padding=1))
def test_conv_transpose2d_matches_torch(case):
    check_conv_transpose(case, dims=2, order=1)
    check_conv_transpose(case, dims=2, order=2)


@given(case=conv_transpose_cases(dims=1))
@example(case=_transposed_case((2, 2, 4), (2, 3, 3), stride=3, output_padding=2))
def test_conv_transpose1d_matches_torch(case):
    check_conv_transpose(case, dims=1, order=1)
    check_conv_transpose(case, dims=1, order=2)


def test_conv_transpose_is_the_gradient_conv2d_sends_to_its_input():
    """The adjoint, checked: for any x and G, <conv2d(x, W), G> = <x, conv_transpose2d(G, W)>.
    (The stride skips x's last row: output_padding gives it back.)"""
    x, w = mg.randn(2, 3, 8, 6, dtype=mg.float64), mg.randn(4, 3, 3, 2, dtype=mg.float64)
    out = F.conv2d(x, w, stride=2, padding=1)
    g = mg.randn(*out.shape, dtype=mg.float64)
    back = F.conv_transpose2d(g, w, stride=2, padding=1, output_padding=(1, 0))
    assert back.shape == x.shape
    assert abs((out * g).sum().item() - (x * back).sum().item()) < 1e-10


def test_conv2d_differentiated_three_times_matches_torch():
    """tanh(conv2d(x, W)) summed, differentiated three times with respect to W (the third
    derivative runs Convolution's backward's backward's backward)."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 2, 6, 5, generator=generator, dtype=torch.float64)
    w = torch.randn(3, 2, 3, 3, generator=generator, dtype=torch.float64) * 0.3
    v = torch.randn(3, 2, 3, 3, generator=generator, dtype=torch.float64)
    results = []
    for lib, fn in ((mg, F.conv2d), (torch, TF.conv2d)):
        xs = lib.tensor(x.numpy(), requires_grad=True)
        ws = lib.tensor(w.numpy(), requires_grad=True)
        loss = fn(xs, ws, stride=2, padding=1).tanh().sum()
        (g,) = lib.autograd.grad(loss, ws, create_graph=True)
        (h,) = lib.autograd.grad((g * lib.tensor(v.numpy())).sum(), ws, create_graph=True)
        (third,) = lib.autograd.grad((h * h).sum(), [xs])
        results.append(third._data if lib is mg else third)
    assert_close(results[0], results[1], what="third derivative of tanh(conv2d)")


# ---- the first-order backward: torch's kernel for the formulas, proven equal to them ----------


def _conv_gradients(case: dict, dims: int, kernels: bool) -> list:
    options = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    arrays = [case["x"], case["weight"]] + ([case["bias"]] if case["bias"] is not None else [])
    inputs = [mg.tensor(a, requires_grad=True) for a in arrays]
    out = (F.conv1d if dims == 1 else F.conv2d)(*inputs, **options)
    upstream = torch.randn(out.shape, generator=torch.Generator().manual_seed(0), dtype=mg.float64)
    if kernels:
        return list(mg.autograd.grad(out, inputs, upstream))
    with formulas_only():
        return list(mg.autograd.grad(out, inputs, upstream))


def check_kernel_equals_formula(case: dict, dims: int) -> None:
    kernel, formula = _conv_gradients(case, dims, True), _conv_gradients(case, dims, False)
    for i, (k, f) in enumerate(zip(kernel, formula)):
        assert_close(k._data, f._data, what=f"conv{dims}d: kernel against formula, argument {i}")


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@given(case=conv_cases(dims=2))
@example(case=_case((1, 1, 28, 28), (4, 1, 5, 5), stride=2, padding=2))  # fastbook's first conv
def test_conv2d_kernel_backward_equals_its_formula(case):
    """convolution_backward (asked for every gradient) against the readable formulas (a
    transposed convolution, a convolution of x with G, a sum), float64, rtol 1e-7."""
    check_kernel_equals_formula(case, dims=2)


@given(case=conv_cases(dims=1, max_side=4))
def test_conv1d_kernel_backward_equals_its_formula(case):
    check_kernel_equals_formula(case, dims=1)


def test_conv_backward_runs_the_kernel_and_formulas_only_the_formula():
    def calls(*shapes, x_needs_grad=True):
        x = mg.randn(2, 3, 6, 6, dtype=mg.float64, requires_grad=x_needs_grad)
        leaves = [mg.randn(*shape, dtype=mg.float64, requires_grad=True) for shape in shapes]
        out = F.conv2d(x, *leaves, stride=2)
        upstream = torch.ones(out.shape, dtype=out.dtype)
        with CountCalls() as counter:
            out.backward(upstream)
        return [name for name in counter.names if name != "clone"]  # (.grad's copies)

    assert calls((4, 3, 3, 3), (4,)) == ["convolution_backward"]
    # the first layer's input (the batch) needs no gradient: the kernel is asked for dL/dW only
    assert calls((4, 3, 3, 3), x_needs_grad=False) == ["convolution_backward"]
    with formulas_only():
        assert "conv_transpose2d" in calls((4, 3, 3, 3))
        assert "convolution_backward" not in calls((4, 3, 3, 3))


def test_a_compiled_conv_step_replays_the_kernel_bit_for_bit():
    """convolution_backward asked for dL/dW and dL/db only (the batch needs no gradient) gives
    None for dL/dx: the recording keeps the hole (`_, d_weight, d_bias = ...`) and replays."""
    torch.manual_seed(0)

    def make():
        mg.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 3, 3, stride=2, padding=1), nn.ReLU(),
                              nn.Conv2d(3, 2, 3, stride=2), nn.Flatten())  # fmt: skip
        optimizer = mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(x, y):
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss

        return model, step

    (eager, eager_step), (compiled, step) = make(), make()
    step = mg.compile(step)
    batches = [(mg.randn(4, 1, 9, 9), mg.tensor([0, 5, 2, 7])) for _ in range(3)]
    for x, y in batches * 2:
        assert torch.equal(eager_step(x, y)._data, step(x, y)._data)
    for p, q in zip(eager.parameters(), compiled.parameters()):
        assert torch.equal(p._data, q._data)
    lines = [line for line in step.code.splitlines() if "convolution_backward" in line]
    assert len(lines) == 2 and lines[-1].lstrip().startswith("_, d_weight")


# ---- flip: a kernel turned 180 degrees (the convolution chapter's dL/dx) -------------------------


@given(
    x=mst.float_arrays(mst.shapes(min_rank=1, max_rank=4)),
    data=st.data(),
)
def test_flip_matches_torch_twice_differentiated(x, data):
    dims = data.draw(st.lists(st.integers(-x.ndim, x.ndim - 1), max_size=x.ndim, unique_by=lambda
                              d: d % x.ndim), label="dims")  # fmt: skip
    assert_matches_torch(lambda t: t.flip(*dims), lambda t: t.flip(dims), x, order=2)
