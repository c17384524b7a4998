"""Attention against torch (float64, rtol 1e-7, atol 1e-9, random upstream gradients, second
order too): F.scaled_dot_product_attention over drawn shapes, masks (bool, float, causal,
broadcast, rows with nothing to see), scales and grouped heads; its dropout (the same mask as
torch's for the same seed on the CPU); its errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import example, given
from hypothesis import strategies as st
from torch.nn.attention import SDPBackend, sdpa_kernel

import minigrad as mg
from minigrad.errors import ShapeError
from minigrad.nn import functional as F
from minigrad.testing import assert_close, assert_matches_torch
from minigrad.testing import strategies as mst

# ---- scaled_dot_product_attention ---------------------------------------------------------------

MASKS = ("none", "bool", "float", "causal")


@st.composite
def attention_cases(draw: st.DrawFn) -> tuple[tuple, dict]:
    """query (*batch, L, E), key (*batch, S, E), value (*batch, S, Ev), with 0 to 2 batch dims,
    and a mask of one kind (broadcast over some dims or not), a scale or None.
    Returns (arrays, options) for `_attention`."""
    batch = draw(mst.shapes(0, 2, max_side=3), label="batch")
    length, source, e, ev = (draw(st.integers(1, 4), label=n) for n in ("L", "S", "E", "Ev"))
    values = dict(min_value=-3.0, max_value=3.0)
    q = draw(mst.float_arrays((*batch, length, e), **values), label="query")
    k = draw(mst.float_arrays((*batch, source, e), **values), label="key")
    v = draw(mst.float_arrays((*batch, source, ev), **values), label="value")
    kind = draw(st.sampled_from(MASKS), label="mask")
    arrays: tuple = (q, k, v)
    if kind in ("bool", "float"):
        full = (*batch, length, source)
        kept = draw(st.integers(2, len(full)), label="mask dims")  # broadcast over the others
        shape = tuple(n if draw(st.booleans()) else 1 for n in full[len(full) - kept :])
        if kind == "bool":
            mask = draw(mst.float_arrays(shape), label="mask") > -5  # a quarter False
        else:
            mask = draw(mst.float_arrays(shape, **values), label="mask")
        arrays = (q, k, v, mask)
    scale = draw(st.one_of(st.none(), st.floats(-2, 2, width=64)), label="scale")
    return arrays, {"is_causal": kind == "causal", "scale": scale}


def _attention(functional, options):
    """scaled_dot_product_attention of `functional` (minigrad's F or torch's), taking q, k, v
    and a mask if there is one. Torch's runs its plain (math) kernel: its fused CPU kernel has
    no second derivative."""

    def call(q, k, v, mask=None):
        with sdpa_kernel(SDPBackend.MATH):
            return functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, **options)

    return call


def _case(*arrays, is_causal=False, scale=None, **more):
    return arrays, {"is_causal": is_causal, "scale": scale, **more}


RNG = np.random.default_rng(0)
Q, K, V = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 5, 4)), RNG.normal(size=(2, 5, 6))
NO_ROW_1 = np.ones((3, 5), dtype=bool)
NO_ROW_1[1] = False
MINUS_INF_ROW_1 = np.where(NO_ROW_1, RNG.normal(size=(3, 5)), -np.inf)
MINUS_INF_ROW_1[0, 2] = -np.inf


@given(case=attention_cases())
@example(case=_case(Q, K, V, is_causal=True))  # L < S: the triangle from the top-left corner
@example(case=_case(K, Q, Q[..., :2], is_causal=True))  # L > S
@example(case=_case(Q, K, V, NO_ROW_1))  # query 1 sees nothing: zeros, as torch
@example(case=_case(Q, K, V, MINUS_INF_ROW_1))  # the same with a float mask of -inf
@example(case=_case(Q, K, V, np.zeros((3, 5), dtype=bool)))  # nothing at all
@example(case=_case(Q, K, V, scale=0.0))  # the mean of the values
@example(case=_case(Q[..., :0], K[..., :0], V))  # E = 0: scores of 0
def test_scaled_dot_product_attention_matches_torch(case):
    arrays, options = case
    assert_matches_torch(
        _attention(F, options), _attention(TF, options), *arrays, order=2, name="sdpa"
    )


@given(
    heads=st.sampled_from([(2, 1), (2, 2), (4, 2), (6, 3), (6, 2)]),
    batch=mst.shapes(0, 1, max_side=2),
    data=st.data(),
)
def test_grouped_query_attention_matches_torch(heads, batch, data):
    """enable_gqa: each key/value head shared by heads // kv_heads query heads, in order."""
    h, kv_h = heads
    q = data.draw(mst.float_arrays((*batch, h, 3, 2), -3, 3), label="query")
    k = data.draw(mst.float_arrays((*batch, kv_h, 4, 2), -3, 3), label="key")
    v = data.draw(mst.float_arrays((*batch, kv_h, 4, 3), -3, 3), label="value")
    causal = data.draw(st.booleans(), label="is_causal")
    options = {"is_causal": causal, "enable_gqa": True}
    assert_matches_torch(_attention(F, options), _attention(TF, options), q, k, v, order=2)


def test_a_fully_masked_row_gives_zeros_and_zero_gradients_as_torch():
    q, k, v = (mg.tensor(a, requires_grad=True) for a in (Q, K, V))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mg.tensor(NO_ROW_1))
    out.sum().backward()
    assert not out.isnan().any().item()
    assert (out[:, 1] == 0).all().item() and (q.grad[:, 1] == 0).all().item()


@pytest.mark.skipif(mg.cuda.is_available(), reason="torch's CUDA dropout draws its mask fused")
@pytest.mark.parametrize("p", [0.25, 0.5, 1.0])
def test_dropout_drops_what_torch_drops_for_the_same_seed(p):
    """Seeded alike, minigrad's dropout on the weights draws torch's mask (bernoulli_(1 - p) on
    the CPU), so outputs and gradients agree exactly."""
    options = {"dropout_p": p}

    def seeded(functional):
        def call(q, k, v):
            torch.manual_seed(7)
            return _attention(functional, options)(q, k, v)

        return call

    assert_matches_torch(seeded(F), seeded(TF), Q, K, V, order=2, device="cpu")


def test_dropout_zeroes_weights_and_scales_the_rest():
    """Structurally, on any device: with value the identity, the output is the weights
    themselves: each 0 or the undropped weight / (1 - p)."""
    q, k = mg.tensor(RNG.normal(size=(4, 30, 3))), mg.tensor(RNG.normal(size=(4, 20, 3)))
    eye = mg.tensor(np.broadcast_to(np.eye(20), (4, 20, 20)).copy())
    plain = F.scaled_dot_product_attention(q, k, eye)
    dropped = F.scaled_dot_product_attention(q, k, eye, dropout_p=0.5)
    kept = dropped != 0
    assert_close(dropped[kept]._data, (plain[kept] * 2)._data, what="the weights kept")
    assert 0.4 < kept.to(torch.float64).mean().item() < 0.6


def _sdpa_error(q, k, v, **options):
    return F.scaled_dot_product_attention(
        *(mg.tensor(np.zeros(s)) if isinstance(s, tuple) else s for s in (q, k, v)), **options
    )


@pytest.mark.parametrize(
    "args, options, error, words",
    [
        (((2, 3, 4), (2, 5, 3), (2, 5, 6)), {}, ShapeError, "same last dim"),
        (((2, 3, 4), (2, 5, 4), (2, 4, 6)), {}, ShapeError, "same length"),
        (((4,), (5, 4), (5, 6)), {}, ShapeError, "at least 2-d"),
        (((2, 3, 4), (2, 5, 4), (2, 5, 6)), {"dropout_p": 1.5}, ValueError, "between 0 and 1"),
        (((2, 3, 3, 4), (2, 2, 5, 4), (2, 2, 5, 6)), {"enable_gqa": True}, ShapeError, "divide"),
    ],
)
def test_sdpa_refuses_what_torch_refuses(args, options, error, words):
    with pytest.raises(RuntimeError):
        TF.scaled_dot_product_attention(*(torch.zeros(s) for s in args), **options)
    with pytest.raises(error, match=words):
        _sdpa_error(*args, **options)


def test_sdpa_refuses_mixed_dtypes_and_masks_of_other_dtypes_as_torch():
    q, k, v = mg.zeros(2, 3, 4), mg.zeros(2, 5, 4), mg.zeros(2, 5, 6)
    with pytest.raises(TypeError, match="one dtype"):
        F.scaled_dot_product_attention(q, k.double(), v)
    with pytest.raises(TypeError, match="bool or of query's dtype"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=mg.zeros(3, 5, dtype=torch.int64))
    with pytest.raises(ValueError, match="not both"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=mg.ones(3, 5) > 0, is_causal=True)
    with pytest.raises(RuntimeError):
        TF.scaled_dot_product_attention(
            torch.zeros(2, 3, 4), torch.zeros(2, 5, 4), torch.zeros(2, 5, 6),
            attn_mask=torch.zeros(3, 5, dtype=torch.int64),
        )  # fmt: skip


def test_sdpa_is_unbatched_for_2d_inputs_and_keeps_the_dtype():
    out = F.scaled_dot_product_attention(mg.zeros(3, 4), mg.zeros(5, 4), mg.ones(5, 6))
    assert out.shape == (3, 6) and out.dtype == torch.float32
    assert_close(out._data, torch.ones(3, 6), what="the mean of ones")
