"""F.affine_grid and F.grid_sample against torch: values, and the gradients of the image, the grid
and theta against torch autograd in float64 (rtol 1e-10), over shapes, modes, padding modes,
align_corners and points (outside [-1, 1] too) drawn by Hypothesis; a small spatial transformer
(localization net -> theta -> affine_grid -> grid_sample -> classifier) whose loss and every
gradient equal torch's; bad input refused as torch refuses it.

Kinks. Bilinear and bicubic sampling bend where a point crosses a pixel centre (a whole number
of pixels), clipping where it meets the image's border, reflection where it meets a mirror (a
pixel centre, or with align_corners=False a pixel edge, half way between two centres); nearest
jumps half way between centres. The random points are built in pixels, a whole number plus a
fraction kept at least 0.02 away from 0, 1/2 and 1, then normalized: never on a kink. The kinks
themselves are tested alone with align_corners=True, where a lattice of normalized points lands
exactly on whole pixels (no rounding on either side), so torch's one-sided conventions there
(the slope towards the next pixel; 0 on the clipping boundary) are compared exactly.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.testing import assert_close, assert_matches_torch

TOL = dict(rtol=1e-10, atol=1e-12)
MODES = {2: ["bilinear", "nearest", "bicubic"], 3: ["bilinear", "nearest"]}
PADDINGS = ["zeros", "border", "reflection"]
FEW = settings(max_examples=20)  # for the spatial transformer: the file runs in seconds


def normalized(p: np.ndarray, side: int, align_corners: bool) -> np.ndarray:
    """Pixel positions p along a side of `side` pixels, as the normalized coordinates that
    grid_sample turns back into p (the inverse of its unnormalizing)."""
    if align_corners:
        return 2 * p / (side - 1) - 1
    return (2 * p + 1) / side - 1


def pixel_positions(g: np.ndarray, side: int, align_corners: bool) -> np.ndarray:
    """grid_sample's unnormalizing: normalized coordinates g in pixels."""
    if align_corners:
        return (g + 1) * (side - 1) / 2
    return (g + 1) * side / 2 - 0.5


def off_kink_points(
    rng: np.random.Generator, shape: tuple[int, ...], side: int, align_corners: bool
) -> np.ndarray:
    """Normalized coordinates along a side of `side` pixels, of points k + f pixels with k a whole
    number from two sides before the image to two after it (so reflection folds up to twice
    both ways) and f in [0.02, 0.48] or [0.52, 0.98]: off every kink (see the docstring). A side
    of one pixel with align_corners=True sends every point to its centre, whatever the point
    (grid_sample's slope there is 0): then any point will do."""
    if align_corners and side == 1:
        return rng.uniform(-3, 3, shape)
    whole = rng.integers(-2 * side, 3 * side, shape)
    fraction = rng.uniform(0.02, 0.48, shape) + 0.5 * rng.integers(0, 2, shape)
    return normalized(whole + fraction, side, align_corners)


@st.composite
def sampling_cases(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, dict]:
    """An image (N, C, *in), a grid (N, *out, n) of points off the kinks, and grid_sample's
    options: 2-d or 3-d, every mode the dims allow, every padding mode, align_corners both
    ways."""
    n_dims = draw(st.sampled_from([2, 2, 3]))
    options = {
        "mode": draw(st.sampled_from(MODES[n_dims])),
        "padding_mode": draw(st.sampled_from(PADDINGS)),
        "align_corners": draw(st.booleans()),
    }
    largest = 5 if n_dims == 2 else 3
    spatial_in = tuple(draw(st.integers(1, largest)) for _ in range(n_dims))
    spatial_out = tuple(draw(st.integers(1, largest - 1)) for _ in range(n_dims))
    batch, channels = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    image = rng.normal(size=(batch, channels, *spatial_in))
    axes = [  # x along the last side (W), y along the one before, z before that
        off_kink_points(rng, (batch, *spatial_out), side, options["align_corners"])
        for side in reversed(spatial_in)
    ]
    return image, np.stack(axes, axis=-1), options


def sampler(**options):
    """grid_sample with these options, in minigrad and in torch."""
    return (
        lambda image, grid: F.grid_sample(image, grid, **options),
        lambda image, grid: TF.grid_sample(image, grid, **options),
    )


@given(sampling_cases())
def test_grid_sample_matches_torch(case):
    """Values, and the gradients of the image and of the grid, for points inside and outside
    the image: torch's coordinates, padding, weights, and slopes of unnormalizing, clipping and
    reflecting ('nearest' gives the grid a gradient of zeros, as torch's)."""
    image, grid, options = case
    ours, theirs = sampler(**options)
    assert_matches_torch(ours, theirs, image, grid, name=f"grid_sample({options})", **TOL)


LATTICE = [-3.0, -2.0, -1.5, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 1.5, 2.5]


@pytest.mark.parametrize("n_dims", [2, 3])
def test_grid_sample_on_the_kinks_follows_torch(n_dims):
    """Points on the kinks, with align_corners=True: sides of 5 and 3 pixels put each point of
    LATTICE on a whole pixel (a centre, the clipping boundary, a mirror), exactly, in minigrad and
    in torch. The grid's gradient is torch's one-sided one there: towards the next pixel at a
    centre, 0 on the clipping boundary (torch counts it as outside)."""
    rng = np.random.default_rng(n_dims)
    spatial = (5, 3) if n_dims == 2 else (3, 5, 3)
    image = rng.normal(size=(1, 2, *spatial))
    points = np.array(np.meshgrid(*[LATTICE] * n_dims, indexing="ij"))  # (n, L, ..., L)
    grid = np.moveaxis(points, 0, -1)[None]
    for mode in MODES[n_dims]:
        for padding_mode in PADDINGS:
            ours, theirs = sampler(mode=mode, padding_mode=padding_mode, align_corners=True)
            name = f"grid_sample(mode={mode!r}, padding_mode={padding_mode!r}) on the kinks"
            assert_matches_torch(ours, theirs, image, grid, name=name, **TOL)


@st.composite
def affine_cases(draw: st.DrawFn) -> tuple[np.ndarray, tuple[int, ...], bool]:
    """theta (N, 2, 3) with a 4-d size, or (N, 3, 4) with a 5-d one; align_corners both ways
    (with True, a side of one pixel: torch's special case)."""
    n_dims = draw(st.sampled_from([2, 3]))
    batch = draw(st.integers(1, 3))
    size = (batch, draw(st.integers(1, 3)), *[draw(st.integers(1, 4)) for _ in range(n_dims)])
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.normal(size=(batch, n_dims, n_dims + 1)), size, draw(st.booleans())


@given(affine_cases())
def test_affine_grid_matches_torch(case):
    """The grid's values (the pixel centres that torch's affine_grid uses) and theta's
    gradient."""
    theta, size, align_corners = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (a side of one pixel with align_corners=True)
        assert_matches_torch(
            lambda t: F.affine_grid(t, size, align_corners=align_corners),
            lambda t: TF.affine_grid(t, size, align_corners=align_corners),
            theta,
            name=f"affine_grid(size={size}, align_corners={align_corners})",
            **TOL,
        )


class TransformerNet:
    """A spatial transformer classifier, as the PyTorch tutorial's but small: a localization
    net (conv, tanh, linear) predicts theta for each image, which affine_grid and grid_sample
    apply; a linear layer classifies the result. Built the same way in both frameworks (`nn` is
    torch.nn or minigrad.nn, `F` their functional)."""

    @staticmethod
    def build(nn, F, options: dict):  # noqa: N803 (torch's spellings)
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.localization = nn.Sequential(
                    nn.Conv2d(1, 2, kernel_size=3), nn.Tanh(), nn.Flatten(), nn.Linear(2 * 4 * 5, 6)
                )
                self.classifier = nn.Linear(6 * 7, 3)

            def forward(self, x):
                theta = self.localization(x).view(-1, 2, 3)
                grid = F.affine_grid(theta, x.size(), align_corners=options["align_corners"])
                x = F.grid_sample(x, grid, **options)
                return self.classifier(x.flatten(1))

        return Net().double()


@FEW
@given(
    seed=st.integers(0, 2**32 - 1),
    mode=st.sampled_from(["bilinear", "bicubic"]),
    padding_mode=st.sampled_from(PADDINGS),
    align_corners=st.booleans(),
)
def test_spatial_transformer_gradients_match_torch(seed, mode, padding_mode, align_corners):
    """The loss of a small spatial transformer and the gradients of every parameter (theta's
    through affine_grid) and of the images, against the same net in torch. The localization
    net's last layer starts near the identity map, as the tutorial's; its weights are drawn, so
    the grid's points lie off the kinks but for a chance of measure zero, which `assume` rules
    out."""
    options = {"mode": mode, "padding_mode": padding_mode, "align_corners": align_corners}
    theirs = TransformerNet.build(torch.nn, TF, options)
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for parameter in theirs.parameters():
            parameter.copy_(torch.from_numpy(rng.normal(0, 0.3, parameter.shape)))
        theirs.localization[-1].bias += torch.tensor([1.0, 0, 0, 0, 1, 0], dtype=torch.float64)
    mine = TransformerNet.build(nn, F, options)
    mine.load_state_dict(theirs.state_dict())
    images = rng.normal(size=(2, 1, 6, 7))
    labels = torch.from_numpy(rng.integers(0, 3, 2))

    x_theirs = torch.tensor(images, requires_grad=True)
    theta = theirs.localization(x_theirs).view(-1, 2, 3)
    grid = TF.affine_grid(theta, x_theirs.size(), align_corners=align_corners).detach().numpy()
    positions = [
        pixel_positions(grid[..., axis], side, align_corners) for axis, side in [(0, 7), (1, 6)]
    ]
    assume(min(np.abs(p * 2 - np.round(p * 2)).min() for p in positions) > 1e-6)  # off kinks

    loss_theirs = TF.cross_entropy(theirs(x_theirs), labels)
    loss_theirs.backward()
    x_mine = mg.tensor(images, requires_grad=True)
    loss_mine = F.cross_entropy(mine(x_mine), mg.tensor(labels.numpy()))
    loss_mine.backward()
    assert_close(loss_mine._data, loss_theirs.detach(), what="loss", **TOL)
    assert_close(x_mine.grad._data, x_theirs.grad, what="images' gradient", **TOL)
    for (name, p), q in zip(mine.named_parameters(), theirs.parameters(), strict=True):
        assert_close(p.grad._data, q.grad, what=f"{name}'s gradient", **TOL)


def test_default_align_corners_warns_as_torch():
    """align_corners left out means False, with a UserWarning, in both functions; given, no
    warning. affine_grid warns of a side of one pixel with align_corners=True."""
    theta = mg.tensor([[[0.8, 0.1, 0.2], [-0.3, 0.9, 0.1]]], dtype=mg.float64)
    image = mg.randn(1, 2, 4, 5, dtype=mg.float64)
    with pytest.warns(UserWarning, match="align_corners=False"):
        grid = F.affine_grid(theta, (1, 2, 3, 3))
    with pytest.warns(UserWarning, match="align_corners=False"):
        out = F.grid_sample(image, grid)
    expected = F.grid_sample(image, F.affine_grid(theta, (1, 2, 3, 3), False), align_corners=False)
    assert torch.equal(out._data, expected._data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.grid_sample(
            image, F.affine_grid(theta, (1, 2, 3, 3), align_corners=True), align_corners=True
        )
    with pytest.warns(UserWarning, match="side of 1 pixel"):
        F.affine_grid(theta, (1, 2, 1, 3), align_corners=True)


def test_empty_batches_channels_and_outputs():
    """No images, no channels, or no output points: torch's shapes, and a backward that runs."""
    for image_shape, grid_shape in [
        ((0, 2, 3, 4), (0, 2, 2, 2)),
        ((2, 0, 3, 4), (2, 2, 2, 2)),
        ((2, 3, 3, 4), (2, 0, 5, 2)),
        ((1, 2, 2, 3, 4), (1, 2, 0, 2, 3)),
    ]:
        image = torch.randn(image_shape, dtype=torch.float64)
        grid = torch.rand(grid_shape, dtype=torch.float64) * 2 - 1
        x, g = mg.Tensor(image, requires_grad=True), mg.Tensor(grid, requires_grad=True)
        out = F.grid_sample(x, g, align_corners=False)
        assert out.shape == TF.grid_sample(image, grid, align_corners=False).shape
        out.sum().backward()
        assert x.grad.shape == x.shape and g.grad.shape == g.shape


@pytest.mark.parametrize("align_corners", [False, True])
def test_points_at_infinity_or_nan_read_what_torch_reads(align_corners):
    """Infinite and NaN points: 0 or NaN where torch gives 0 or NaN (zero padding, bicubic),
    the clipped edge for 'border', NaN clipped to the first pixel, as torch's kernels."""
    image = torch.randn(1, 2, 3, 4, dtype=torch.float64)
    special = [math.inf, -math.inf, math.nan]
    grid = torch.tensor(
        [[[[x, y] for x in special + [0.3, -2.7]] for y in special + [0.6]]], dtype=torch.float64
    )
    for mode in MODES[2]:
        for padding_mode in PADDINGS:
            options = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
            out = F.grid_sample(mg.Tensor(image), mg.Tensor(grid), **options)
            expected = TF.grid_sample(image, grid, **options)
            assert_close(out._data, expected, what=f"grid_sample({options})", **TOL)


def _bad_calls():
    """(what, call(F, lib)): calls torch refuses, each given torch's F and torch, or minigrad's
    F and minigrad."""
    image, grid = (2, 3, 4, 5), (2, 6, 7, 2)
    theta = (2, 2, 3)

    def rand(lib, *shape, dtype="float32"):
        values = np.random.default_rng(0).uniform(-1, 1, shape)
        return lib.tensor(values, dtype=getattr(lib, dtype))

    return [
        ("mode", lambda F, lib: F.grid_sample(rand(lib, *image), rand(lib, *grid), mode="area")),
        (
            "padding",
            lambda F, lib: F.grid_sample(rand(lib, *image), rand(lib, *grid), padding_mode="x"),
        ),
        ("batch", lambda F, lib: F.grid_sample(rand(lib, *image), rand(lib, 1, 6, 7, 2))),
        ("last dim", lambda F, lib: F.grid_sample(rand(lib, *image), rand(lib, 2, 6, 7, 3))),
        ("3-d input", lambda F, lib: F.grid_sample(rand(lib, 3, 4, 5), rand(lib, 2, 6, 2))),
        ("ndim", lambda F, lib: F.grid_sample(rand(lib, *image), rand(lib, 2, 6, 2))),
        ("empty side", lambda F, lib: F.grid_sample(rand(lib, 2, 3, 0, 5), rand(lib, *grid))),
        (
            "bicubic 3-d",
            lambda F, lib: F.grid_sample(
                rand(lib, 2, 3, 1, 4, 5), rand(lib, 2, 1, 6, 7, 3), "bicubic"
            ),
        ),
        (
            "dtypes",
            lambda F, lib: F.grid_sample(rand(lib, *image, dtype="float64"), rand(lib, *grid)),
        ),
        ("theta shape", lambda F, lib: F.affine_grid(rand(lib, 2, 3, 4), image)),
        ("theta 5-d", lambda F, lib: F.affine_grid(rand(lib, *theta), (2, 3, 4, 5, 6))),
        ("theta 2-d", lambda F, lib: F.affine_grid(rand(lib, 2, 3), image)),
        ("size 3-d", lambda F, lib: F.affine_grid(rand(lib, *theta), (2, 3, 4))),
        ("size 0", lambda F, lib: F.affine_grid(rand(lib, *theta), (2, 3, 0, 5))),
        ("theta batch", lambda F, lib: F.affine_grid(rand(lib, *theta), (3, 3, 4, 5))),
        ("theta int", lambda F, lib: F.affine_grid(rand(lib, *theta).long(), image)),
    ]


@pytest.mark.parametrize("what, call", _bad_calls(), ids=[w for w, _ in _bad_calls()])
def test_bad_input_raises_what_torch_raises(what, call):
    """The exception type torch raises, with a message that names the argument at fault."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as theirs:
            call(TF, torch)
        with pytest.raises(type(theirs.value)) as ours:
            call(F, mg)
    assert type(ours.value) is type(theirs.value)
    message = str(ours.value)
    assert any(name in message for name in ("input", "grid", "theta", "size", "mode")), message
