"""F.interpolate and the Upsample layers against torch: the forward bit-equal to torch's (float32
and float64, 1-d, 2-d and 3-d, every mode, sizes and scale factors drawn, awkward factors such
as 1.7, 2.0000001, 0.5 and 1/3 among them), the gradients and second derivatives against torch
autograd (float64, rtol 1e-7, atol 1e-9) and finite differences, the errors, the layers' repr.

torch's own backward is not always the derivative of its forward: where an output side has the
input's size (or twice it, for nearest) but the positions come from a scale_factor that is not
exactly 1 (or 2), 1-d and 3-d 'nearest' and 2-d 'bicubic' compute their forward with the scale
and their backward with a shortcut for those sizes
(`test_torch_backward_is_not_the_adjoint_of_its_forward_here`).
minigrad's gradient is the derivative of the forward (torch's, bit for bit): where torch's
backward disagrees with its forward, the gradients are checked against the derivative of torch's
forward, which torch's autograd computes through the matrix of the map (`reference`).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.testing import assert_close, assert_matches_torch, gradcheck
from minigrad.testing import strategies as mst

AWKWARD_SCALES = [1.7, 2.0000001, 0.5, 1 / 3, 2.0, 1.0, 3.0, 1.0000001, 0.999999, 2.5, 0.7, 1.3]
MODES = {
    1: ["nearest", "nearest-exact", "linear", "area"],
    2: ["nearest", "nearest-exact", "bilinear", "bicubic", "area"],
    3: ["nearest", "nearest-exact", "trilinear"],
}
DTYPES = {"float32": np.float32, "float64": np.float64}


@st.composite
def resize_cases(draw: st.DrawFn, n_dims: int | None = None) -> tuple[tuple[int, ...], dict]:
    """An input shape (N, C, *spatial) and F.interpolate's options: a mode for that many spatial
    dims, size or scale_factor (one number or one per dim; the factors drawn from the awkward
    ones and from any in [0.2, 4]), align_corners where the mode has corners,
    recompute_scale_factor sometimes. Every output side is at least 1, as torch requires."""
    n_dims = n_dims or draw(st.sampled_from([1, 2, 2, 3]))
    spatial = tuple(draw(st.integers(1, 9 if n_dims < 3 else 4)) for _ in range(n_dims))
    mode = draw(st.sampled_from(MODES[n_dims]))
    options: dict = {"mode": mode}
    if mode not in ("nearest", "nearest-exact", "area"):
        options["align_corners"] = draw(st.sampled_from([None, False, True]))
    if draw(st.booleans()):
        sides = [draw(st.integers(1, 12)) for _ in range(n_dims)]
        options["size"] = sides[0] if n_dims == 1 and draw(st.booleans()) else tuple(sides)
    else:
        factor = st.sampled_from(AWKWARD_SCALES) | st.floats(0.2, 4.0)
        factors = [draw(factor) for _ in range(n_dims)]
        for i, (side, f) in enumerate(zip(spatial, factors)):
            if math.floor(side * f) < 1:
                factors[i] = 1 / side  # the smallest factor torch accepts for this side
        same = draw(st.booleans())
        options["scale_factor"] = factors[0] if same and n_dims == 1 else tuple(factors)
        if same and len(set(factors)) == 1:
            options["scale_factor"] = factors[0]
        if draw(st.booleans()):
            options["recompute_scale_factor"] = draw(st.booleans())
    batch, channels = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    return (batch, channels, *spatial), options


def matrix_of(shape: tuple[int, ...], options: dict, dtype: torch.dtype) -> torch.Tensor:
    """torch's forward as a matrix (out positions x in positions, flattened), read by
    interpolating the identity: whole images at once, not one dim at a time as minigrad reads."""
    n = math.prod(shape[2:])
    identity = torch.eye(n, dtype=dtype).reshape(n, 1, *shape[2:])
    return TF.interpolate(identity, **options).reshape(n, -1).T


def reference(shape: tuple[int, ...], options: dict):
    """torch's interpolate where torch's backward is the derivative of its forward; else torch's
    forward as a product with its matrix (so that torch autograd differentiates that forward)."""
    if torch_backward_is_adjoint(shape, options):
        return lambda t: TF.interpolate(t, **options)
    matrix = matrix_of(shape, options, torch.float64)

    def through_the_matrix(t: torch.Tensor) -> torch.Tensor:
        out = t.flatten(2) @ matrix.T
        return out.reshape(*t.shape[:2], *TF.interpolate(t.detach(), **options).shape[2:])

    return through_the_matrix


def torch_backward_is_adjoint(shape: tuple[int, ...], options: dict) -> bool:
    """Whether torch's backward gives, for each output position, the weights its forward used."""
    x = torch.zeros(1, 1, *shape[2:], dtype=torch.float64, requires_grad=True)
    out = TF.interpolate(x, **options)
    m = out.numel()
    units = torch.eye(m, dtype=torch.float64).reshape(m, *out.shape)
    (rows,) = torch.autograd.grad(out, x, units, is_grads_batched=True)
    forward = matrix_of(shape, options, torch.float64)  # (rounding apart: sums in other orders)
    return torch.allclose(rows.reshape(m, -1), forward, rtol=1e-12, atol=1e-12)


def _case(shape, **options):
    return (shape, options)


# ---- the forward: torch's values, bit for bit ----------------------------------------------------


@given(case=resize_cases(), dtype=st.sampled_from(["float32", "float64"]), data=st.data())
@example(case=_case((1, 1, 7), scale_factor=2.0000001), dtype="float32", data=None)
@example(case=_case((1, 1, 7), scale_factor=2.0000001), dtype="float64", data=None)
@example(
    case=_case((1, 1, 10), scale_factor=2.0000001), dtype="float32", data=None
)  # not float64's
@example(case=_case((1, 1, 5, 5), scale_factor=2.0000001), dtype="float32", data=None)
@example(case=_case((1, 1, 4, 6), scale_factor=(1.0000001, 0.5)), dtype="float64", data=None)
@example(
    case=_case((2, 1, 6), scale_factor=1 / 3, mode="nearest-exact"), dtype="float32", data=None
)
@example(case=_case((1, 2, 3, 5), scale_factor=1.7, mode="bilinear"), dtype="float32", data=None)
@example(case=_case((1, 1, 1, 1), size=(3, 4), mode="bicubic"), dtype="float64", data=None)
def test_forward_is_torchs_bit_for_bit(case, dtype, data):
    shape, options = case
    x = np.arange(math.prod(shape), dtype=DTYPES[dtype]).reshape(shape)
    if data is not None and data.draw(st.booleans(), label="random values"):
        x = data.draw(mst.float_arrays(shape), label="x").astype(DTYPES[dtype])
    expected = TF.interpolate(torch.from_numpy(x), **options)
    got = F.interpolate(mg.tensor(x), **options)
    assert got.shape == expected.shape and got.dtype == expected.dtype, (got, expected)
    assert torch.equal(got._data, expected), f"interpolate(**{options}) of {shape}"


@pytest.mark.parametrize("n_dims", [1, 2])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_side_and_factor_of_a_grid_gives_torchs_values_and_the_adjoint_gradient(
    n_dims, dtype
):
    """Every input side 1 to 12 with every awkward factor (and sizes 1 to 12), every mode (and
    align_corners=True where there are corners): the values are torch's, and the gradient of
    each input position is the sum of the upstream gradients times the weights torch's forward
    gave it (the transposed matrix of the map)."""
    for side in range(1, 13):
        shape = (1, 2, *[side] * n_dims)
        x = torch.linspace(-3, 5, math.prod(shape), dtype=dtype).reshape(shape)
        resizes = [{"scale_factor": f} for f in AWKWARD_SCALES if math.floor(side * f) >= 1]
        resizes += [{"size": n} for n in range(1, 13)]
        for resize in resizes:
            modes = [{"mode": mode} for mode in MODES[n_dims]]
            corners = {1: ["linear"], 2: ["bilinear", "bicubic"]}[n_dims]
            modes += [{"mode": mode, "align_corners": True} for mode in corners]
            for mode in modes:
                options = {**resize, **mode}
                expected = TF.interpolate(x, **options)
                ours = mg.tensor(x, requires_grad=True)
                out = F.interpolate(ours, **options)
                assert torch.equal(out._data, expected), f"{options} of {shape}"
                upstream = torch.cos(torch.arange(expected.numel(), dtype=dtype))
                out.backward(mg.tensor(upstream.reshape(expected.shape)))
                matrix = matrix_of(shape, options, dtype)
                adjoint = (upstream.reshape(2, -1) @ matrix).reshape(shape)
                tolerance = 1e-12 if dtype == torch.float64 else 1e-5
                assert_close(
                    ours.grad._data,
                    adjoint,
                    what=f"gradient of {options} of {shape}",
                    rtol=tolerance,
                    atol=tolerance,
                )


def test_long_sides_are_read_in_digits_in_a_short_dtype():
    """bfloat16 holds whole numbers exactly up to 256 only, float16 up to 2048: longer sides are
    read in digits. Random values, so that a wrong position shows."""
    generator = torch.Generator().manual_seed(0)
    for dtype, side in ((torch.bfloat16, 600), (torch.float16, 5000)):
        x = torch.randn(1, 2, side, generator=generator).to(dtype)
        for options in (
            {"size": 2 * side + 1},
            {"scale_factor": 1.7},
            {"size": side // 3, "mode": "nearest-exact"},
        ):
            got = F.interpolate(mg.tensor(x), **options)
            assert torch.equal(got._data, TF.interpolate(x, **options)), (dtype, options)
            # The gradient goes to the positions read in digits (the forward is torch's own):
            # <dL/dx, v> = <g, interpolate(v)> for any v, exact with small whole numbers.
            ours = mg.tensor(x, requires_grad=True)
            out = F.interpolate(ours, **options)
            g = torch.randint(-4, 5, out.shape, generator=generator).to(dtype)
            out.backward(mg.tensor(g))
            for _ in range(2):
                v = torch.randint(-4, 5, x.shape, generator=generator).to(dtype)
                moved = (ours.grad._data.double() * v.double()).sum()
                expected = (g.double() * TF.interpolate(v, **options).double()).sum()
                assert moved == expected, (dtype, options)


# ---- gradients and second derivatives -------------------------------------------------------


@given(case=resize_cases(), data=st.data())
@example(case=_case((1, 1, 7), scale_factor=2.0000001), data=None)
@example(case=_case((1, 1, 2), scale_factor=1.3), data=None)
@example(case=_case((1, 2, 3, 3), scale_factor=2.0000001), data=None)
@example(case=_case((1, 1, 1, 2), scale_factor=1.3, mode="bicubic"), data=None)
@example(
    case=_case((2, 1, 5, 4), scale_factor=(1 / 3, 1.7), mode="bilinear", align_corners=True),
    data=None,
)
@example(case=_case((1, 1, 2, 3, 2), size=(3, 2, 5), mode="trilinear"), data=None)
@example(case=_case((1, 2, 9), scale_factor=0.5, mode="area"), data=None)
def test_gradients_and_second_derivatives_match_torch(case, data):
    shape, options = case
    x = np.cos(np.arange(math.prod(shape), dtype=np.float64)).reshape(shape)
    if data is not None:
        x = data.draw(mst.float_arrays(shape), label="x")
    assert_matches_torch(
        lambda t: F.interpolate(t, **options),
        reference(shape, options),
        x,
        name=f"interpolate(**{options})",
        order=2,
    )


@given(case=resize_cases(n_dims=2))
def test_gradients_pass_gradcheck(case):
    shape, options = case
    x = np.sin(np.arange(math.prod(shape), dtype=np.float64)).reshape(shape)
    gradcheck(lambda t: F.interpolate(t, **options), x, name=f"interpolate(**{options})")


@pytest.mark.parametrize(
    "shape, options",
    [
        ((1, 1, 2), {"scale_factor": 1.3}),  # 2 -> 2
        ((1, 1, 7), {"scale_factor": 2.0000001}),  # 7 -> 14
        ((1, 1, 4), {"scale_factor": 1.0000001}),  # 4 -> 4
        ((1, 1, 2, 2, 2), {"scale_factor": 1.0000001}),  # 2 -> 2 (3-d)
        ((1, 1, 2, 3, 1), {"scale_factor": 2.0000001}),  # 2 -> 4, 3 -> 6, 1 -> 2 (3-d)
        ((1, 1, 1, 2), {"scale_factor": 1.3, "mode": "bicubic"}),  # 2 -> 2 across
        ((1, 1, 3, 3), {"scale_factor": 1.3, "mode": "bicubic"}),  # 3 -> 3
    ],
)
def test_torch_backward_is_not_the_adjoint_of_its_forward_here(shape, options):
    """Pinned torch behaviour (2.13): here torch's forward uses the scale_factor and its backward
    a shortcut for the sizes, so torch's gradient is not the derivative of its forward. minigrad's
    forward is torch's and its gradient that forward's derivative (finite differences agree)."""
    assert not torch_backward_is_adjoint(shape, options)
    x = np.linspace(-1, 2, math.prod(shape)).reshape(shape)
    gradcheck(lambda t: F.interpolate(t, **options), x, name=f"interpolate(**{options})")
    assert_matches_torch(
        lambda t: F.interpolate(t, **options), reference(shape, options), x, order=2
    )


@given(case=resize_cases())
@example(case=_case((1, 3, 2, 4), mode="bicubic", scale_factor=(2.5, 2.0000001)))
def test_float32_gradients_match_torch(case):
    shape, options = case
    if not torch_backward_is_adjoint(shape, options):
        return  # (torch's gradient is not its forward's derivative: see above)
    x = torch.sin(torch.arange(math.prod(shape), dtype=torch.float32)).reshape(shape)
    ours = mg.tensor(x, requires_grad=True)
    out = F.interpolate(ours, **options)
    upstream = torch.cos(torch.arange(out.numel(), dtype=torch.float32)).reshape(out.shape)
    out.backward(mg.tensor(upstream))
    theirs = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(TF.interpolate(theirs, **options), theirs, upstream)
    # Both add up, for each input position, k products w * g in float32, in their own orders:
    # each within k eps sum|w g| of the exact sum (the bound of a float sum), so the two within
    # twice that. (A tolerance of 1e-6 failed for a bicubic sum of 36 terms near 1.)
    weights = matrix_of(shape, options, torch.float64).abs()  # (out x in) positions
    magnitude = (upstream.flatten(2).double().abs() @ weights).reshape(x.shape)
    terms = (weights != 0).sum(0).reshape(x.shape[2:])
    bound = 2 * (terms + 1) * torch.finfo(torch.float32).eps * magnitude
    gap = (ours.grad._data.double() - expected.double()).abs()
    assert bool((gap <= bound).all()), f"{options}: gap {gap.max():.3g}, bound {bound.min():.3g}"


# ---- errors, in minigrad's words, where torch raises ----------------------------------------


@pytest.mark.parametrize(
    "shape, options, words",
    [
        ((1, 1, 4, 4), {"size": 3, "scale_factor": 2}, "only one of them"),
        ((1, 1, 4, 4), {}, "neither size nor scale_factor"),
        ((1, 1, 4, 4), {"size": (3,)}, "size=(3,) has 1 values, but the input has 2 spatial"),
        ((1, 1, 4, 4), {"scale_factor": (2, 2, 2)}, "scale_factor=(2, 2, 2) has 3 values"),
        ((1, 1, 4, 4), {"size": (3.0, 3)}, "size must be whole numbers"),
        ((1, 1, 4, 4), {"size": 3, "mode": "foo"}, "mode one of 'nearest'"),
        ((1, 1, 4, 4), {"size": 3, "mode": "linear"}, "mode='linear' needs 3-d (N, C, L)"),
        ((1, 1, 4), {"size": 3, "mode": "bilinear"}, "mode='bilinear' needs 4-d"),
        ((1, 1, 4), {"size": 3, "mode": "trilinear"}, "mode='trilinear' needs 5-d"),
        ((4, 4), {"size": 3}, "input must be 3-d (N, C, L)"),
        ((1, 1, 1, 1, 1, 1), {"size": 3}, "input must be 3-d (N, C, L)"),
        ((1, 1, 4, 4), {"size": 3, "align_corners": True}, "no corners to align"),
        ((1, 1, 4), {"size": 3, "mode": "nearest-exact", "align_corners": False}, "no corners"),
        ((1, 1, 4, 4), {"size": 3, "mode": "area", "align_corners": False}, "no corners"),
        ((1, 1, 4, 4), {"size": 3, "recompute_scale_factor": True}, "no scale_factor to"),
        ((1, 1, 4, 4), {"size": 3, "antialias": True}, "antialias=True applies to"),
        ((1, 1, 4, 4), {"size": 0}, "must all be at least 1"),
        ((1, 1, 4, 4), {"scale_factor": 0.1}, "must all be at least 1"),
        ((1, 1, 4), {"scale_factor": -1.0}, "must all be at least 1"),
    ],
)
def test_errors_as_torchs_in_minigrads_words(shape, options, words):
    with pytest.raises(Exception) as theirs:
        TF.interpolate(torch.zeros(shape), **options)
    with pytest.raises(type(theirs.value)) as ours:
        F.interpolate(mg.zeros(*shape), **options)
    assert words in str(ours.value), str(ours.value)
    assert "interpolate" in str(ours.value)


def test_antialias_is_refused_in_minigrads_words():
    x = mg.zeros(1, 1, 4, 4)
    with pytest.raises(NotImplementedError, match="antialias=True is not in minigrad"):
        F.interpolate(x, size=3, mode="bilinear", antialias=True)


# ---- the layers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda nn: nn.Upsample(scale_factor=2),
        lambda nn: nn.Upsample(size=(3, 5), mode="bilinear"),
        lambda nn: nn.Upsample(scale_factor=(1.5, 2), mode="bicubic", align_corners=True),
        lambda nn: nn.Upsample(scale_factor=1.7, mode="nearest-exact", recompute_scale_factor=True),
        lambda nn: nn.UpsamplingNearest2d(scale_factor=3),
        lambda nn: nn.UpsamplingNearest2d(size=7),
        lambda nn: nn.UpsamplingBilinear2d(scale_factor=1.7),
        lambda nn: nn.UpsamplingBilinear2d(size=(2, 9)),
    ],
)
def test_layers_match_torchs(make):
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    for setting in ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"):
        assert getattr(ours, setting) == getattr(theirs, setting), setting
    x = np.cos(np.arange(2 * 3 * 4 * 5, dtype=np.float64)).reshape(2, 3, 4, 5)
    assert_matches_torch(ours, theirs, x, name=repr(ours), order=2)


def test_upsample_of_a_sequence_and_a_volume():
    for shape, mode in (((2, 3, 5), "linear"), ((1, 2, 3, 2, 4), "trilinear")):
        layer = nn.Upsample(scale_factor=1.5, mode=mode)
        x = np.sin(np.arange(math.prod(shape), dtype=np.float64)).reshape(shape)
        assert_matches_torch(layer, torch.nn.Upsample(scale_factor=1.5, mode=mode), x, order=2)
