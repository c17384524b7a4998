"""The 3-d (volumetric) layers against torch's autograd (float64, rtol 1e-10, atol 1e-12, random
upstream gradients): conv3d and conv_transpose3d with their gradients of gradients, the
first-order kernel against the formulas, and the layers Conv3d and ConvTranspose3d (torch's
seeded weights, names, repr, every padding mode); max, average, adaptive and LP pooling in 3-d
(second derivatives too); BatchNorm3d and InstanceNorm3d in train and eval; Dropout3d's mask
for a seed; the copying 3-d pads. Bad shapes get minigrad's own words where torch refuses.

Hypothesis draws small volumes (batch <= 2, channels <= 3 per group, sides <= 5): a 3-d
convolution is costly on two cores. A convolution is linear in x and in W: no kinks, any
values will do. Max pooling's inputs are distinct (no ties); the ties are tested on their own.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_conv import _case, _maybe_int, _transposed_case
from test_layers_misc import layers_agree, same_state

import minigrad as mg
from minigrad import nn
from minigrad.autograd.function import formulas_only
from minigrad.nn import functional as F
from minigrad.testing import assert_close, assert_matches_torch
from minigrad.testing import strategies as mst

TOLERANCE = {"rtol": 1e-10, "atol": 1e-12}
FEW = settings(max_examples=30)  # each example runs a dozen 3-d convolutions


# ---- conv3d -------------------------------------------------------------------------------------


@st.composite
def conv3d_cases(draw: st.DrawFn) -> dict:
    """Arrays x (N, C, D, H, W), weight, maybe bias, and settings of one conv3d call that fit."""
    groups = draw(st.integers(1, 2), label="groups")
    in_channels = groups * draw(st.integers(1, 2))
    out_channels = groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 2)) for _ in range(3))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(3))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(3))
    padding_kind = draw(st.sampled_from(["numbers", "same", "valid"]))
    if padding_kind == "numbers":
        padding = tuple(draw(st.integers(0, 1)) for _ in range(3))
    else:
        padding = padding_kind
        stride = (1,) * 3 if padding == "same" else stride
    pads = padding if isinstance(padding, tuple) else (0,) * 3
    reach = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    size = tuple(min(5, max(1, r - 2 * p) + draw(st.integers(0, 2))) for r, p in zip(reach, pads))
    if padding == "valid":
        size = tuple(max(s, r) for s, r in zip(size, reach))
    batch = draw(st.integers(1, 2), label="batch")
    return {
        "x": draw(mst.float_arrays((batch, in_channels, *size)), label="x"),
        "weight": draw(mst.float_arrays((out_channels, in_channels // groups, *kernel))),
        "bias": draw(st.none() | mst.float_arrays((out_channels,)), label="bias"),
        "stride": _maybe_int(draw, stride),
        "padding": _maybe_int(draw, padding) if isinstance(padding, tuple) else padding,
        "dilation": _maybe_int(draw, dilation),
        "groups": groups,
    }


def _arrays(case: dict) -> list:
    return [case["x"], case["weight"]] + ([case["bias"]] if case["bias"] is not None else [])


def check_conv3d(case: dict, order: int) -> None:
    options = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    assert_matches_torch(
        lambda *a: F.conv3d(*a, **options),
        lambda *a: TF.conv3d(*a, **options),
        *_arrays(case),
        name=f"conv3d(**{options})",
        order=order,
        **TOLERANCE,
    )


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@FEW
@given(case=conv3d_cases())
@example(case=_case((2, 2, 3, 4, 5), (3, 2, 2, 3, 2)))  # every side different
@example(case=_case((1, 2, 5, 4, 4), (2, 2, 2, 2, 2), stride=(2, 1, 1), padding=(1, 0, 0)))
@example(case=_case((1, 4, 3, 3, 3), (4, 1, 2, 2, 2), groups=4, dilation=(2, 1, 1)))  # depthwise
@example(case=_case((1, 2, 4, 3, 3), (2, 2, 2, 1, 2), padding="same"))  # even reach in depth
def test_conv3d_and_its_second_derivatives_match_torch(case):
    check_conv3d(case, order=1)
    check_conv3d(case, order=2)


def _conv3d_gradients(case: dict, kernels: bool) -> list:
    options = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
    inputs = [mg.tensor(a, requires_grad=True) for a in _arrays(case)]
    out = F.conv3d(*inputs, **options)
    upstream = torch.randn(out.shape, generator=torch.Generator().manual_seed(0), dtype=mg.float64)
    if kernels:
        return list(mg.autograd.grad(out, inputs, upstream))
    with formulas_only():
        return list(mg.autograd.grad(out, inputs, upstream))


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@FEW
@given(case=conv3d_cases())
@example(case=_case((1, 2, 5, 4, 4), (2, 2, 2, 2, 2), stride=(2, 1, 1), padding=(1, 0, 0)))
def test_conv3d_kernel_backward_equals_its_formula(case):
    """convolution_backward against the formulas (a transposed convolution, a convolution of x
    with G, a sum), which create_graph=True and formulas_only() run."""
    kernel, formula = _conv3d_gradients(case, True), _conv3d_gradients(case, False)
    for i, (k, f) in enumerate(zip(kernel, formula)):
        assert_close(k._data, f._data, what=f"conv3d: kernel against formula, argument {i}")


def test_unbatched_conv3d_matches_torch():
    x = np.linspace(-1, 1, 2 * 3 * 4 * 3).reshape(2, 3, 4, 3)  # (C, D, H, W): one example
    w = np.linspace(2, -1, 3 * 2 * 8).reshape(3, 2, 2, 2, 2)
    assert_matches_torch(
        lambda x, w: F.conv3d(x, w, padding=1),
        lambda x, w: TF.conv3d(x, w, padding=1),
        x,
        w,
        **TOLERANCE,
    )


def test_conv3d_differentiated_three_times_matches_torch():
    """tanh(conv3d(x, W)) summed, differentiated three times (W, W, then x)."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, 4, 3, 4, generator=generator, dtype=torch.float64)
    w = torch.randn(2, 2, 2, 2, 2, generator=generator, dtype=torch.float64) * 0.3
    v = torch.randn(2, 2, 2, 2, 2, generator=generator, dtype=torch.float64)
    results = []
    for lib, fn in ((mg, F.conv3d), (torch, TF.conv3d)):
        xs = lib.tensor(x.numpy(), requires_grad=True)
        ws = lib.tensor(w.numpy(), requires_grad=True)
        loss = fn(xs, ws, stride=(2, 1, 2), padding=1).tanh().sum()
        (g,) = lib.autograd.grad(loss, ws, create_graph=True)
        (h,) = lib.autograd.grad((g * lib.tensor(v.numpy())).sum(), ws, create_graph=True)
        (third,) = lib.autograd.grad((h * h).sum(), [xs])
        results.append(third._data if lib is mg else third)
    assert_close(results[0], results[1], what="third derivative of tanh(conv3d)", **TOLERANCE)


@pytest.mark.parametrize(
    "x_shape, weight_shape, options, message",
    [
        (
            (2, 3, 5),  # 3 dims: neither a batch nor one example of volumes
            (4, 3, 2, 2, 2),
            {},
            r"conv3d takes input of shape \(N, C, D, H, W\), or \(C, D, H, W\) for one example, "
            r"got \(2, 3, 5\)",
        ),
        (
            (1, 3, 4, 4, 4),
            (4, 3, 2, 2),
            {},
            r"conv3d: the weight must have 5 dims, \(out_channels, in_channels/groups, kd, kh, "
            r"kw\), got shape \(4, 3, 2, 2\) \(a weight of 4 dims is conv2d's\)",
        ),
        (
            (1, 3, 4, 4, 4),
            (4, 2, 2, 2, 2),
            {"groups": 2},
            r"conv3d: input \(1, 3, 4, 4, 4\) has 3 channels \(dim 1\), but weight "
            r"\(4, 2, 2, 2, 2\) with groups=2 expects 4 \(weight's dim 1 times groups\)",
        ),
        (
            (1, 2, 3, 6, 6),
            (4, 2, 4, 2, 2),
            {},
            r"conv3d: input \(1, 2, 3, 6, 6\) is 3 wide in spatial dim 0 after padding, smaller "
            r"than the kernel's reach there \(4 = dilation \* \(kernel - 1\) \+ 1\)",
        ),
        (
            (1, 2, 6, 6, 3),
            (4, 2, 2, 2, 3),
            {"padding": (0, 0, 1), "dilation": (1, 1, 3)},
            r"is 5 wide in spatial dim 2 after padding, smaller than the kernel's reach there \(7",
        ),
    ],
)
def test_conv3d_refuses_bad_shapes_in_its_own_words(x_shape, weight_shape, options, message):
    with pytest.raises(RuntimeError):  # torch refuses each of these too
        TF.conv3d(torch.zeros(x_shape), torch.zeros(weight_shape), **options)
    with pytest.raises(mg.ShapeError, match=message):
        F.conv3d(mg.zeros(*x_shape), mg.zeros(*weight_shape), **options)


def test_conv3d_refuses_bad_settings_as_torch():
    x, w = mg.zeros(1, 2, 4, 4, 4), mg.zeros(2, 2, 2, 2, 2)
    with pytest.raises(ValueError, match=r"conv3d: stride must be an int or 3 ints, got \(1, 2\)"):
        F.conv3d(x, w, stride=(1, 2))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        F.conv3d(x, w, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"divisible by groups \(2\)"):
        nn.Conv3d(3, 4, 3, groups=2)
    with pytest.raises(ValueError):
        torch.nn.Conv3d(3, 4, 3, groups=2)


# ---- conv_transpose3d ---------------------------------------------------------------------------


@st.composite
def conv_transpose3d_cases(draw: st.DrawFn) -> dict:
    """Arrays x, weight (C, O/g, kd, kh, kw), maybe bias, and the settings of one
    conv_transpose3d: output_padding below the stride or the dilation (torch's rule), and the
    padding no more than leaves an output of at least one element per side."""
    groups = draw(st.integers(1, 2), label="groups")
    in_channels = groups * draw(st.integers(1, 2))
    out_channels = groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 2)) for _ in range(3))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(3))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(3))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size = tuple(draw(st.integers(1, 3)) for _ in range(3))
    longest = [
        (n - 1) * s + d * (k - 1) + op + 1
        for n, s, d, k, op in zip(size, stride, dilation, kernel, output_padding)
    ]
    padding = tuple(draw(st.integers(0, min(2, (n - 1) // 2))) for n in longest)
    batch = draw(st.integers(1, 2), label="batch")
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


def check_conv_transpose3d(case: dict, order: int) -> None:
    options = {k: case[k] for k in ("stride", "padding", "output_padding", "groups", "dilation")}
    assert_matches_torch(
        lambda *a: F.conv_transpose3d(*a, **options),
        lambda *a: TF.conv_transpose3d(*a, **options),
        *_arrays(case),
        name=f"conv_transpose3d(**{options})",
        order=order,
        **TOLERANCE,
    )


@FEW
@given(case=conv_transpose3d_cases())
@example(  # output_padding on the depth only: the last depth slice no input reaches
    case=_transposed_case(
        (1, 2, 2, 3, 2), (2, 2, 2, 2, 2), stride=(2, 1, 1), output_padding=(1, 0, 0)
    )
)
@example(
    case=_transposed_case(
        (2, 2, 2, 2, 3),
        (2, 1, 2, 1, 2),
        stride=(1, 2, 3),
        padding=(0, 1, 1),
        groups=2,
        output_padding=(0, 1, 2),
    )  # fmt: skip
)
def test_conv_transpose3d_and_its_second_derivatives_match_torch(case):
    check_conv_transpose3d(case, order=1)
    check_conv_transpose3d(case, order=2)


def test_conv_transpose3d_is_the_gradient_conv3d_sends_to_its_input():
    """<conv3d(x, W), G> = <x, conv_transpose3d(G, W)>, output_padding giving back the depth
    slice and the row the strides skipped."""
    x, w = mg.randn(2, 2, 5, 6, 4, dtype=mg.float64), mg.randn(3, 2, 2, 3, 2, dtype=mg.float64)
    out = F.conv3d(x, w, stride=(2, 2, 1), padding=(0, 1, 0))
    g = mg.randn(*out.shape, dtype=mg.float64)
    back = F.conv_transpose3d(g, w, stride=(2, 2, 1), padding=(0, 1, 0), output_padding=(1, 1, 0))
    assert back.shape == x.shape
    assert abs((out * g).sum().item() - (x * back).sum().item()) < 1e-10


def test_conv_transpose3d_refuses_bad_shapes_in_its_own_words():
    with pytest.raises(RuntimeError):
        TF.conv_transpose3d(torch.zeros(1, 3, 2, 2, 2), torch.zeros(4, 2, 2, 2, 2))
    with pytest.raises(
        mg.ShapeError, match=r"has 3 channels \(dim 1\), but weight \(4, 2, 2, 2, 2\)"
    ):
        F.conv_transpose3d(mg.zeros(1, 3, 2, 2, 2), mg.zeros(4, 2, 2, 2, 2))
    with pytest.raises(mg.ShapeError, match=r"\(in_channels, out_channels/groups, kd, kh, kw\)"):
        F.conv_transpose3d(mg.zeros(1, 3, 2, 2, 2), mg.zeros(3, 2, 2, 2))
    with pytest.raises(
        mg.ShapeError, match=r"conv_transpose3d takes input of shape \(N, C, D, H, W\)"
    ):
        F.conv_transpose3d(mg.zeros(3, 2, 2), mg.zeros(3, 2, 2, 2, 2))


# ---- the layers ---------------------------------------------------------------------------------


LAYERS = {
    "conv3d": lambda m: m.Conv3d(2, 3, 2, stride=(2, 1, 1), padding=1),
    "conv3d uneven, no bias": lambda m: m.Conv3d(2, 4, (2, 3, 1), dilation=(1, 1, 2), bias=False),
    "conv3d grouped, same, reflect": lambda m: m.Conv3d(
        2, 4, (2, 3, 2), padding="same", groups=2, padding_mode="reflect"
    ),
    "conv3d valid": lambda m: m.Conv3d(2, 2, 3, padding="valid"),
    "conv3d replicate": lambda m: m.Conv3d(2, 2, 2, padding=(1, 0, 2), padding_mode="replicate"),
    "conv3d circular": lambda m: m.Conv3d(2, 2, 3, padding=(2, 1, 0), padding_mode="circular"),
    "conv_transpose3d": lambda m: m.ConvTranspose3d(2, 3, 2, stride=2, padding=1, output_padding=1),
    "conv_transpose3d grouped, dilated, no bias": lambda m: m.ConvTranspose3d(
        2,
        4,
        (2, 1, 2),
        groups=2,
        dilation=(2, 1, 1),
        output_padding=(1, 0, 0),
        stride=(1, 2, 1),
        bias=False,
    ),  # fmt: skip
}


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("name", LAYERS)
def test_conv3d_layers_match_torch_init_names_repr_forward_and_backward(name):
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
    x = torch.randn(2, theirs.in_channels, 4, 5, 3, dtype=torch.float64, requires_grad=True)
    mine_x = mg.Tensor(x.detach(), requires_grad=True)
    expected, out = theirs(x), mine(mine_x)
    torch.testing.assert_close(out._data, expected, **TOLERANCE)
    upstream = torch.randn_like(expected)
    out.backward(upstream)
    expected.backward(upstream)
    torch.testing.assert_close(mine_x.grad._data, x.grad, **TOLERANCE)
    for (key, p), q in zip(mine.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad._data, q.grad, **TOLERANCE, msg=key)


def test_conv3d_layers_float32_init_and_output_size():
    torch.manual_seed(1)
    mine = nn.ConvTranspose3d(2, 3, 3, stride=2, padding=1)
    torch.manual_seed(1)
    theirs = torch.nn.ConvTranspose3d(2, 3, 3, stride=2, padding=1)
    assert torch.equal(mine.weight._data, theirs.weight) and mine.weight.dtype == mg.float32
    x = torch.randn(1, 2, 3, 3, 3)
    for size in ([5, 6, 5], [6, 6, 6], (1, 3, 5, 5, 6)):
        assert mine(mg.Tensor(x), output_size=size).shape == theirs(x, output_size=size).shape
    with pytest.raises(ValueError, match="valid sizes range from 5 to 6 in spatial dim 0"):
        mine(mg.Tensor(x), output_size=[7, 5, 5])
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported'):
        nn.ConvTranspose3d(2, 3, 3, padding_mode="reflect")


# ---- pooling ------------------------------------------------------------------------------------


@st.composite
def pool3d_settings(draw: st.DrawFn, dilation: bool) -> dict:
    """kernel, stride, padding (at most half the kernel, torch's rule), maybe dilation,
    ceil_mode, and an (N, C, D, H, W) shape in which every window sees part of the input (each
    side at least the dilation, for kernels over 1: see test_pool.pool_settings). Without
    dilation (average pooling), each side is at least the kernel's: torch's avg_pool3d refuses
    a smaller input, padded or not."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(3))
    stride = draw(st.none() | st.tuples(*[st.integers(1, 2)] * 3))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilations = tuple(draw(st.integers(1, 2)) for _ in range(3)) if dilation else (1, 1, 1)
    reach = [d * (k - 1) + 1 for k, d in zip(kernel, dilations)]
    least = [max(1, r - 2 * p) for r, p in zip(reach, padding)]
    least = [max(n, d if k > 1 else 1) for n, k, d in zip(least, kernel, dilations)]
    if not dilation:
        least = [max(n, k) for n, k in zip(least, kernel)]
    settings = {
        "shape": (
            draw(st.integers(1, 2)),
            draw(st.integers(1, 2)),
            *(n + draw(st.integers(0, 2)) for n in least),
        ),
        "kernel_size": _maybe_int(draw, kernel),
        "stride": stride,
        "padding": _maybe_int(draw, padding),
        "ceil_mode": draw(st.booleans()),
    }
    if dilation:
        settings["dilation"] = _maybe_int(draw, dilations)
    return settings


def _options(settings: dict) -> dict:
    return {k: v for k, v in settings.items() if k != "shape"}


def _check_pool(mine, theirs, x: np.ndarray, options: dict, order: int) -> None:
    assert_matches_torch(
        lambda t: mine(t, **options),
        lambda t: theirs(t, **options),
        x,
        name=f"{theirs.__name__}(**{options})",
        order=order,
        **TOLERANCE,
    )


@FEW
@given(settings=pool3d_settings(dilation=True), data=st.data())
def test_max_pool3d_and_its_second_derivatives_match_torch(settings, data):
    """Distinct values: no window ties, so the maximum and its gradient are well defined."""
    x = data.draw(mst.distinct_arrays(settings["shape"]), label="x")
    for order in (1, 2):
        _check_pool(F.max_pool3d, TF.max_pool3d, x, _options(settings), order)


def test_max_pool3d_ties_send_the_gradient_where_torch_sends_it():
    """The kink: every window a tie of 8 equal values, overlapping windows of ties, and a
    padded volume of zeros (max pooling pads with -inf: the padding never wins). torch's
    kernel picks one maximum, and the gradient goes there: the same element as torch's."""
    ones = np.ones((1, 2, 4, 4, 4))
    for options in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1}):
        _check_pool(F.max_pool3d, TF.max_pool3d, ones, options, 1)
    zeros = np.zeros((1, 1, 3, 3, 3))
    _check_pool(F.max_pool3d, TF.max_pool3d, zeros, {"kernel_size": 3, "padding": 1}, 1)


def test_max_pool3d_return_indices_unbatched_and_a_window_of_padding_alone():
    x = mg.tensor(np.arange(2 * 4 * 4 * 4.0).reshape(2, 4, 4, 4))  # (C, D, H, W): unbatched
    out, indices = F.max_pool3d(x, 2, return_indices=True)
    expected, expected_indices = TF.max_pool3d(x._data, 2, return_indices=True)
    assert torch.equal(out._data, expected) and torch.equal(indices._data, expected_indices)
    _, layer_indices = nn.MaxPool3d(2, return_indices=True)(x)
    assert torch.equal(layer_indices._data, expected_indices)
    # depth 1, dilation 2 and padding 1: the depth window reads slices -1 and 1, torch -inf
    x = mg.tensor(np.arange(9.0).reshape(1, 1, 1, 3, 3), requires_grad=True)
    assert bool(TF.max_pool3d(x._data, 2, padding=1, dilation=2).isinf().any())
    with pytest.raises(mg.ShapeError, match=r"output slice 0 reads input slices -1 and 1, all in"):
        F.max_pool3d(x, 2, padding=1, dilation=2)


@st.composite
def avg_pool3d_cases(draw: st.DrawFn) -> tuple[np.ndarray, dict]:
    settings = draw(pool3d_settings(dilation=False))
    settings["count_include_pad"] = draw(st.booleans())
    settings["divisor_override"] = draw(st.none() | st.integers(1, 5))
    return draw(mst.float_arrays(settings["shape"])), settings


def _avg_case(shape, **options) -> tuple[np.ndarray, dict]:
    defaults = {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True}
    x = np.linspace(-3, 4, np.prod(shape)).reshape(shape)
    return x, {"shape": shape, "divisor_override": None, **defaults, **options}


@FEW
@given(case=avg_pool3d_cases())
@example(case=_avg_case((1, 1, 5, 4, 4), kernel_size=2))  # the last depth slice never pooled
@example(case=_avg_case((1, 2, 5, 4, 3), kernel_size=3, stride=2, padding=1, ceil_mode=True))
@example(case=_avg_case((2, 1, 3, 4, 5), kernel_size=(3, 1, 3), padding=(1, 0, 1),
                        count_include_pad=False))  # fmt: skip
@example(case=_avg_case((1, 1, 4, 3, 4), kernel_size=(2, 1, 3), stride=1, divisor_override=4))
def test_avg_pool3d_and_its_second_derivatives_match_torch(case):
    x, settings = case
    for order in (1, 2):
        _check_pool(F.avg_pool3d, TF.avg_pool3d, x, _options(settings), order)


@FEW
@given(case=avg_pool3d_cases())
@example(case=_avg_case((1, 2, 5, 4, 3), kernel_size=3, stride=2, padding=1, ceil_mode=True))
def test_avg_pool3d_kernel_backward_equals_its_formula(case):
    """avg_pool3d_backward (what runs) against the formula formulas_only() runs."""
    x, settings = case
    options = _options(settings)
    gradients = []
    for formulas in (False, True):
        t = mg.tensor(x, requires_grad=True)
        out = F.avg_pool3d(t, **options)
        upstream = torch.linspace(-2, 3, out.numel(), dtype=torch.float64).reshape(out.shape)
        with formulas_only() if formulas else contextlib.nullcontext():
            out.backward(upstream)
        gradients.append(t.grad._data)
    assert_close(gradients[0], gradients[1], what=f"avg_pool3d(**{options}): kernel, formula")


@st.composite
def adaptive3d_cases(draw: st.DrawFn) -> tuple[np.ndarray, object]:
    """An (N, C, D, H, W) or (C, D, H, W) input and output sizes, some larger than the input
    (windows then overlap), some None (that side kept)."""
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    shape = (*batch, draw(st.integers(1, 2)), *(draw(st.integers(1, 5)) for _ in range(3)))
    side = st.integers(1, 6)
    size = draw(side | st.tuples(side | st.none(), side | st.none(), side | st.none()))
    return draw(mst.distinct_arrays(shape)), size


@FEW
@given(case=adaptive3d_cases())
@example(case=(np.arange(2 * 5 * 3 * 4.0).reshape(1, 2, 5, 3, 4), 1))  # global pooling
@example(case=(np.arange(5 * 4 * 5.0).reshape(1, 1, 5, 4, 5), (3, 3, 2)))  # uneven windows
@example(case=(np.arange(2 * 3 * 4 * 2.0).reshape(2, 3, 4, 2), (2, None, 3)))  # unbatched
def test_adaptive_pool3d_and_second_derivatives_match_torch(case):
    """Average and max (distinct values: no ties); the average's backward is three matrix
    products with constant matrices, differentiated again."""
    x, size = case
    for order in (1, 2):
        _check_pool(F.adaptive_avg_pool3d, TF.adaptive_avg_pool3d, x, {"output_size": size}, order)
        _check_pool(F.adaptive_max_pool3d, TF.adaptive_max_pool3d, x, {"output_size": size}, order)
    out, indices = F.adaptive_max_pool3d(mg.tensor(x), size, return_indices=True)
    assert torch.equal(indices._data, TF.adaptive_max_pool3d(torch.tensor(x), size, True)[1])


@FEW
@given(settings=pool3d_settings(dilation=False), p=st.sampled_from([1.0, 2.0, 3.0]), data=st.data())
def test_lp_pool3d_matches_torch(settings, p, data):
    """Positive values (x^p and its root are smooth there), no padding (lp_pool has none)."""
    x = data.draw(mst.distinct_arrays(settings["shape"], min_value=0.5, max_value=3.0))
    options = {k: settings[k] for k in ("kernel_size", "stride", "ceil_mode")}
    for order in (1, 2):
        _check_pool(F.lp_pool3d, TF.lp_pool3d, x, {"norm_type": p, **options}, order)


POOL_LAYERS = [
    lambda m: m.MaxPool3d(2),
    lambda m: m.MaxPool3d((3, 2, 2), stride=1, padding=1, dilation=(1, 2, 1), ceil_mode=True),
    lambda m: m.AvgPool3d(3, 2, 1),
    lambda m: m.AvgPool3d((2, 1, 2), count_include_pad=False, ceil_mode=True, padding=(1, 0, 1)),
    lambda m: m.AvgPool3d(2, divisor_override=3),
    lambda m: m.AdaptiveAvgPool3d((1, None, 2)),
    lambda m: m.AdaptiveMaxPool3d(2),
    lambda m: m.LPPool3d(2, (2, 2, 1), stride=1),
]


@pytest.mark.parametrize("make", POOL_LAYERS)
def test_pool3d_layers_match_torch(make):
    mine, theirs = make(nn), make(torch.nn)
    assert repr(mine) == repr(theirs)
    x = torch.randn(2, 3, 5, 4, 6, dtype=torch.float64).abs() + 0.1  # (LPPool: positive)
    x = x + torch.arange(x.numel(), dtype=torch.float64).reshape(x.shape) * 1e-3  # distinct
    _check_pool(lambda t: mine(t), lambda t: theirs(t), x.numpy(), {}, 1)


def test_pool3d_refuses_what_torch_refuses_in_its_own_words():
    x = mg.zeros(1, 1, 4, 4, 4)
    for pool, theirs in ((F.max_pool3d, TF.max_pool3d), (F.avg_pool3d, TF.avg_pool3d)):
        with pytest.raises(RuntimeError):
            theirs(torch.zeros(1, 1, 4, 4, 4), 2, padding=(0, 2, 0))
        with pytest.raises(ValueError, match=r"padding=\(0, 2, 0\) is more than half of kern"):
            pool(x, 2, padding=(0, 2, 0))
        with pytest.raises(RuntimeError):
            theirs(torch.zeros(4, 4, 4), 2)
        with pytest.raises(mg.ShapeError, match=r"must be \(N, C, D, H, W\) or \(C, D, H, W\)"):
            pool(mg.zeros(4, 4, 4), 2)
        with pytest.raises(ValueError, match=r"kernel_size must be an int or 3 ints, got \(2, 2\)"):
            pool(x, (2, 2))
    with pytest.raises(RuntimeError):  # torch's 3-d average pooling: no input under the kernel
        TF.avg_pool3d(torch.zeros(1, 1, 1, 3, 3), (2, 1, 1), padding=(1, 0, 0))
    with pytest.raises(mg.ShapeError, match=r"\(D, H, W\) = \(1, 3, 3\) .* smaller than kernel_s"):
        F.avg_pool3d(mg.zeros(1, 1, 1, 3, 3), (2, 1, 1), padding=(1, 0, 0))
    with pytest.raises(ValueError, match=r"output_size must be an int or 3 sizes"):
        F.adaptive_avg_pool3d(x, (2, 2))
    with pytest.raises(mg.ShapeError, match=r"adaptive_max_pool3d: the input must be"):
        F.adaptive_max_pool3d(mg.zeros(4, 4), 2)


# ---- normalisation, dropout, padding ------------------------------------------------------------


@st.composite
def volumes(draw: st.DrawFn, batched: bool | None = None) -> np.ndarray:
    """(N, C, D, H, W), or (C, D, H, W) when not batched: distinct values (no instance or
    channel is constant, whose variance 0 makes its gradients rounding noise)."""
    batched = draw(st.booleans()) if batched is None else batched
    batch = (draw(st.integers(1, 2)),) if batched else ()
    spatial = tuple(draw(st.integers(1, 3)) for _ in range(3))
    if spatial == (1, 1, 1):
        spatial = (2, 1, 1)
    return draw(mst.distinct_arrays((*batch, draw(st.integers(1, 3)), *spatial), -10, 10))


@FEW
@given(
    x=volumes(batched=True),
    affine=st.booleans(),
    track=st.booleans(),
    momentum=st.sampled_from([0.1, None]),
)
@example(x=np.linspace(-3, 2, 2 * 2 * 8).reshape(2, 2, 2, 2, 2), affine=True, track=True,
         momentum=0.1)  # fmt: skip
def test_batch_norm3d_is_torchs_in_train_and_eval(x, affine, track, momentum):
    """Outputs, the input's and parameters' gradients, the running statistics after each call
    (two in training, two in eval), against torch's layer; repr and state_dict names too."""
    channels = x.shape[1]
    options = {"affine": affine, "track_running_stats": track, "momentum": momentum}
    mine, theirs = nn.BatchNorm3d(channels, **options), torch.nn.BatchNorm3d(channels, **options)
    assert repr(mine) == repr(theirs)
    same_state(mine, theirs)
    if affine:
        with torch.no_grad():
            theirs.weight.uniform_(-2, 2, generator=torch.Generator().manual_seed(1))
            theirs.bias.uniform_(-2, 2, generator=torch.Generator().manual_seed(2))
    layers_agree(mine, theirs, x)


def test_batch_norm3d_normalises_over_the_batch_not_each_example():
    """Two examples of one channel, one the other plus 10: over the batch, the first is below
    the mean everywhere; per example each would be centred at 0."""
    one = np.arange(8.0).reshape(1, 1, 2, 2, 2)
    x = mg.tensor(np.concatenate([one, one + 10]))
    out = nn.BatchNorm3d(1).double()(x)
    assert bool((out._data[0] < 0).all()) and bool((out._data[1] > 0).all())
    with pytest.raises(ValueError, match=r"BatchNorm3d: expected 5D input \(got 4D input"):
        nn.BatchNorm3d(1)(mg.zeros(1, 2, 2, 2))
    with pytest.raises(ValueError, match="expected 5D input"):
        torch.nn.BatchNorm3d(1)(torch.zeros(1, 2, 2, 2))


@FEW
@given(x=volumes(), affine=st.booleans(), track=st.booleans())
def test_instance_norm3d_is_torchs_in_train_and_eval(x, affine, track):
    channels = x.shape[-4]
    options = {"affine": affine, "track_running_stats": track}
    mine, theirs = (
        nn.InstanceNorm3d(channels, **options),
        torch.nn.InstanceNorm3d(channels, **options),
    )
    assert repr(mine) == repr(theirs)
    same_state(mine, theirs)
    if affine:
        with torch.no_grad():
            theirs.weight.uniform_(-2, 2, generator=torch.Generator().manual_seed(1))
            theirs.bias.uniform_(-2, 2, generator=torch.Generator().manual_seed(2))
    layers_agree(mine, theirs, x)


@pytest.mark.filterwarnings("ignore:dropout3d")
@pytest.mark.parametrize("shape", [(2, 3, 2, 3, 2), (4, 2, 3, 2), (3, 4, 2)])
@pytest.mark.parametrize("p", [0.5, 0.2, 1.0])
def test_dropout3d_draws_torchs_channel_mask_from_a_seed(shape, p):
    """The same seed, the same channels zeroed as torch's (whole volumes); the others times
    1/(1-p); the gradient is the mask; the identity in eval."""
    x = torch.rand(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) + 1
    torch.manual_seed(7)
    their_leaf = x.clone().requires_grad_()
    expected = TF.dropout3d(their_leaf, p)
    torch.manual_seed(7)
    leaf = mg.Tensor(x.clone(), requires_grad=True)
    out = F.dropout3d(leaf, p)
    torch.testing.assert_close(out._data, expected.detach(), rtol=1e-15, atol=0)
    upstream = torch.randn(shape, dtype=torch.float64)
    out.backward(upstream)
    expected.backward(upstream)
    torch.testing.assert_close(leaf.grad._data, their_leaf.grad, rtol=1e-15, atol=0)
    channels = 2 if len(shape) == 5 else 1  # a 4-d (and, warned, 3-d) input: one example
    kept = (out._data != 0).reshape(*shape[:channels], -1)
    assert torch.equal(kept.all(-1), kept.any(-1))  # every channel kept or dropped whole
    layer = nn.Dropout3d(p)
    assert repr(layer) == repr(torch.nn.Dropout3d(p))
    layer.eval()
    assert layer(leaf) is leaf or torch.equal(layer(leaf)._data, x)


def test_dropout3d_drops_channels_not_elements_and_warns_as_torch():
    torch.manual_seed(0)
    out = nn.Dropout3d(0.5)(mg.ones(4, 8, 3, 3, 3))._data.reshape(4, 8, -1)
    assert torch.equal(out.amin(-1), out.amax(-1))  # one value per (example, channel)
    assert 0 < int((out[..., 0] == 0).sum()) < 32
    with pytest.warns(UserWarning, match="dropout3d: a 3-d input"):
        F.dropout3d(mg.randn(3, 4, 2))
    with pytest.warns(UserWarning, match="Received a 3-D input to dropout3d"):
        TF.dropout3d(torch.randn(3, 4, 2))
    with pytest.raises(ValueError, match="p=1.5 is the probability"):
        nn.Dropout3d(1.5)


PADS = [
    lambda m: m.ReflectionPad3d((1, 0, 2, 1, 0, 1)),
    lambda m: m.ReflectionPad3d(1),
    lambda m: m.ReplicationPad3d((2, 1, 0, 3, 1, 0)),
    lambda m: m.CircularPad3d((1, 2, 0, 1, 2, 1)),
    lambda m: m.CircularPad3d(1),
]


@pytest.mark.parametrize("make", PADS)
@pytest.mark.parametrize("shape", [(2, 2, 3, 3, 4), (2, 3, 3, 4)])
def test_copy_pads3d_and_their_second_derivatives_match_torch(make, shape):
    mine, theirs = make(nn), make(torch.nn)
    assert repr(mine) == repr(theirs)
    x = np.linspace(-2, 3, int(np.prod(shape))).reshape(shape)
    for order in (1, 2):
        assert_matches_torch(mine, theirs, x, name=repr(theirs), order=order, **TOLERANCE)


def test_copy_pads3d_refuse_what_torch_refuses():
    x = mg.zeros(1, 1, 2, 3, 3)
    for layer in (nn.CircularPad3d((0, 0, 0, 0, 3, 0)), nn.ReflectionPad3d((0, 0, 0, 0, 2, 0))):
        theirs = getattr(torch.nn, type(layer).__name__)(layer.padding)
        with pytest.raises((RuntimeError, ValueError)):
            theirs(torch.zeros(1, 1, 2, 3, 3))
        with pytest.raises((RuntimeError, ValueError)):
            layer(x)
    with pytest.raises(mg.ShapeError, match=r"CircularPad3d: expected 4D or 5D input"):
        nn.CircularPad3d(1)(mg.zeros(3, 3, 3))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("layer", ["Conv3d", "ConvTranspose3d"])
def test_conv3d_layers_draw_torchs_weights_for_a_seed_in_both_dtypes(layer, dtype):
    torch.manual_seed(3)
    mine = getattr(nn, layer)(4, 6, (3, 2, 1), groups=2, dtype=dtype)
    torch.manual_seed(3)
    theirs = getattr(torch.nn, layer)(4, 6, (3, 2, 1), groups=2, dtype=dtype)
    assert [name for name, _ in mine.named_parameters()] == ["weight", "bias"]
    for (name, p), q in zip(mine.named_parameters(), theirs.parameters()):
        assert p.dtype == q.dtype and torch.equal(p._data, q.detach()), name
