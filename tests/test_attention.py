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
from minigrad import nn
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
    with pytest.raises(TypeError, match="query, key and value must have one dtype"):
        F.scaled_dot_product_attention(q, k.double(), v)
    with pytest.raises(TypeError, match="query, key and value must have one dtype"):
        F.scaled_dot_product_attention(q, k, v.double())
    with pytest.raises(TypeError, match="bool, float32 or of query's dtype"):
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


# ---- nn.MultiheadAttention ----------------------------------------------------------------------


@st.composite
def mha_cases(draw: st.DrawFn) -> tuple[dict, dict, dict]:
    """(constructor options, input arrays, forward options) for MultiheadAttention: heads and
    head size, biases, bias_kv, zero_attn, kdim/vdim, batch_first, batched or not, masks (bool or
    float) for keys and for (query, key) pairs, need_weights and averaging."""
    heads, head_dim = draw(st.integers(1, 3), label="heads"), draw(st.integers(1, 3), label="hd")
    e = heads * head_dim
    kdim = draw(st.sampled_from([None, e, 2]), label="kdim")
    vdim = draw(st.sampled_from([None, e, 3]), label="vdim")
    module = {
        "embed_dim": e,
        "num_heads": heads,
        "bias": draw(st.booleans(), label="bias"),
        "add_bias_kv": draw(st.booleans(), label="add_bias_kv"),
        "add_zero_attn": draw(st.booleans(), label="add_zero_attn"),
        "kdim": kdim,
        "vdim": vdim,
        "batch_first": draw(st.booleans(), label="batch_first"),
    }
    batched = draw(st.booleans(), label="batched")
    n, length, source = (draw(st.integers(1, 3), label=x) for x in ("N", "L", "S"))

    def shape(seq: int, features: int) -> tuple[int, ...]:
        if not batched:
            return (seq, features)
        return (n, seq, features) if module["batch_first"] else (seq, n, features)

    values = {"min_value": -2.0, "max_value": 2.0}
    arrays = {
        "query": draw(mst.float_arrays(shape(length, e), **values), label="query"),
        "key": draw(mst.float_arrays(shape(source, kdim or e), **values), label="key"),
        "value": draw(mst.float_arrays(shape(source, vdim or e), **values), label="value"),
    }
    kpm_kind = draw(st.sampled_from(["none", "bool", "float"]), label="key_padding_mask")
    if kpm_kind != "none":
        kpm = draw(mst.float_arrays((n, source) if batched else (source,), **values))
        arrays["key_padding_mask"] = kpm > 1.5 if kpm_kind == "bool" else kpm
    mask_kind = draw(st.sampled_from(["none", "bool", "float"]), label="attn_mask")
    if mask_kind != "none":
        per_head = draw(st.booleans(), label="a mask per head")
        lead = ((n if batched else 1) * heads,) if per_head else ()
        mask = draw(mst.float_arrays((*lead, length, source), **values), label="attn_mask")
        arrays["attn_mask"] = mask > 1.5 if mask_kind == "bool" else mask
    forward = {
        "need_weights": draw(st.booleans(), label="need_weights"),
        "average_attn_weights": draw(st.booleans(), label="average_attn_weights"),
    }
    return module, arrays, forward


QKV = ("query", "key", "value")


def _twin_modules(options, seed=0):
    """torch's MultiheadAttention in float64 and minigrad's, loaded with torch's parameters."""
    torch.manual_seed(seed)
    theirs = torch.nn.MultiheadAttention(**options, dtype=torch.float64)
    for p in theirs.parameters():  # biases start at zero: make them tell
        p.data.normal_()
    ours = nn.MultiheadAttention(**options, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _run_both(ours, theirs, arrays, forward, seed=None):
    """Both modules' forward on the same inputs (torch seeded with `seed` before each, if
    given); backward of one random upstream gradient per output. Returns ours and theirs:
    (outputs, inputs' gradients, parameters' gradients)."""
    results = []
    for module, make in ((ours, lambda a: mg.tensor(a)), (theirs, torch.tensor)):
        if seed is not None:
            torch.manual_seed(seed)
        inputs = {name: make(a) for name, a in arrays.items()}
        for name in ("query", "key", "value"):
            inputs[name].requires_grad_(True)
        outputs = [o for o in module(**inputs, **forward) if o is not None]
        gen = np.random.default_rng(1)
        for o in outputs:
            o.backward(torch.tensor(gen.normal(size=tuple(o.shape))), retain_graph=True)
        grads = {n: inputs[n].grad for n in ("query", "key", "value")}
        params = {n: p.grad for n, p in module.named_parameters()}
        results.append((outputs, grads, params))
    return results


def _unwrapped(t):
    return t._data if isinstance(t, mg.Tensor) else t


def _assert_twins(ours, theirs):
    (outs, grads, params), (t_outs, t_grads, t_params) = ours, theirs
    assert len(outs) == len(t_outs)
    for i, (o, t) in enumerate(zip(outs, t_outs, strict=True)):
        assert_close(o._data.detach(), t.detach(), what=f"MultiheadAttention output {i}")
    for name in t_grads:
        assert_close(_unwrapped(grads[name]), t_grads[name], what=f"gradient of {name}")
    assert params.keys() == t_params.keys()
    for name in t_params:
        assert_close(_unwrapped(params[name]), t_params[name], what=f"gradient of {name}")


# mixed mask kinds (one bool, one float) are drawn too: both warn, the test below checks it
@pytest.mark.filterwarnings("ignore:MultiheadAttention. a key_padding_mask and an attn_mask")
@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@given(case=mha_cases())
def test_multihead_attention_matches_torch(case):
    options, arrays, forward = case
    ours, theirs = _twin_modules(options)
    _assert_twins(*_run_both(ours, theirs, arrays, forward))


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"bias": False},
        {"kdim": 2, "vdim": 3},
        {"add_bias_kv": True},
        {"kdim": 5, "add_bias_kv": True, "bias": False},
    ],
)
def test_multihead_attention_has_torchs_parameters_and_initial_values_for_a_seed(options):
    """The same names, shapes and order; and, drawn in torch's order, the same values."""
    torch.manual_seed(3)
    theirs = torch.nn.MultiheadAttention(6, 2, **options)
    torch.manual_seed(3)
    ours = nn.MultiheadAttention(6, 2, **options)
    expected = theirs.state_dict()
    got = ours.state_dict()
    assert list(got) == list(expected)
    for name, values in expected.items():
        assert_close(got[name], values, what=f"initial {name}", rtol=0, atol=0)


@pytest.mark.skipif(mg.cuda.is_available(), reason="torch's CUDA dropout draws its mask fused")
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_dropout_matches_torch_for_a_seed_in_training_only(need_weights):
    ours, theirs = _twin_modules({"embed_dim": 4, "num_heads": 2, "dropout": 0.4})
    arrays = {name: RNG.normal(size=(3 + 2 * (name != "query"), 2, 4)) for name in QKV}
    forward = {"need_weights": need_weights}
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        _assert_twins(*_run_both(ours, theirs, arrays, forward, seed=5))
    ours.train()
    torch.manual_seed(5)
    dropped = ours(*(mg.tensor(arrays[n]) for n in QKV))[0]
    ours.eval()
    plain = ours(*(mg.tensor(arrays[n]) for n in QKV))[0]
    assert not torch.equal(dropped._data, plain._data)


def test_multihead_attention_is_causal_is_a_hint_that_needs_the_mask_as_torch():
    ours, theirs = _twin_modules({"embed_dim": 4, "num_heads": 2})
    x = RNG.normal(size=(3, 2, 4))
    causal = np.triu(np.ones((3, 3), dtype=bool), 1)
    arrays = {"query": x, "key": x, "value": x, "attn_mask": causal}
    _assert_twins(*_run_both(ours, theirs, arrays, {"is_causal": True}))
    with pytest.raises(RuntimeError):
        theirs(*(torch.tensor(x),) * 3, is_causal=True)
    with pytest.raises(ValueError, match="give that attn_mask"):
        ours(*(mg.tensor(x),) * 3, is_causal=True)


@pytest.mark.parametrize(
    "shapes, options, words",
    [
        (((3, 2, 4), (5, 2, 3), (5, 2, 4)), {}, "key must have 4 features"),
        (((3, 2, 4), (5, 2, 4), (4, 2, 4)), {}, "same length and batch"),
        (((3, 2, 4), (5, 1, 4), (5, 1, 4)), {}, "same batch size"),
        (((3, 2, 4), (5, 4), (5, 4)), {}, "must all be 3-d"),
        (((3, 2, 4), (5, 2, 4), (5, 2, 4)), {"key_padding_mask": (5, 2)}, "key_padding_mask"),
        (((3, 2, 4), (5, 2, 4), (5, 2, 4)), {"attn_mask": (3, 4)}, "attn_mask must be"),
        (((3, 2, 4), (5, 2, 4), (5, 2, 4)), {"attn_mask": (2, 3, 5)}, "attn_mask must be"),
    ],
)
def test_multihead_attention_refuses_what_torch_refuses(shapes, options, words):
    ours, theirs = _twin_modules({"embed_dim": 4, "num_heads": 2})
    masks = {name: np.zeros(shape, dtype=bool) for name, shape in options.items()}
    with pytest.raises((RuntimeError, AssertionError)):
        theirs(*(torch.zeros(s, dtype=torch.float64) for s in shapes),
               **{n: torch.tensor(m) for n, m in masks.items()})  # fmt: skip
    with pytest.raises(ShapeError, match=words):
        ours(*(mg.zeros(*s, dtype=torch.float64) for s in shapes),
             **{n: mg.tensor(m) for n, m in masks.items()})  # fmt: skip


def test_multihead_attention_refuses_heads_that_do_not_divide_embed_dim_as_torch():
    with pytest.raises(AssertionError):
        torch.nn.MultiheadAttention(5, 2)
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(5, 2)
    # torch's out_proj is a Linear subclass of its own, for quantisation
    expected = repr(torch.nn.MultiheadAttention(4, 2))
    assert repr(nn.MultiheadAttention(4, 2)) == expected.replace("NonDynamicallyQuantizable", "")


def test_sdpa_takes_a_float32_mask_for_a_float64_query_as_torch():
    q, k, v = (np.asarray(a) for a in (Q, K, V))
    mask = RNG.normal(size=(3, 5)).astype(np.float32)
    got = F.scaled_dot_product_attention(*(mg.tensor(a) for a in (q, k, v)), mg.tensor(mask))
    expected = TF.scaled_dot_product_attention(*(torch.tensor(a) for a in (q, k, v, mask)))
    assert_close(got._data, expected, what="float32 mask")


def test_multihead_attention_warns_of_mixed_mask_kinds_and_refuses_other_dtypes_as_torch():
    ours, theirs = _twin_modules({"embed_dim": 4, "num_heads": 2})
    x = RNG.normal(size=(3, 2, 4))
    arrays = {
        "query": x,
        "key": x,
        "value": x,
        "key_padding_mask": np.array([[False, True, False], [False, False, False]]),
        "attn_mask": RNG.normal(size=(3, 3)),
    }
    with pytest.warns(UserWarning) as record:
        _assert_twins(*_run_both(ours, theirs, arrays, {}))
    messages = [str(w.message) for w in record]
    assert any("different kinds" in m for m in messages)  # minigrad's words
    assert any("mismatched key_padding_mask" in m for m in messages)  # torch's
    with pytest.raises(RuntimeError):
        theirs(*(torch.tensor(x),) * 3, attn_mask=torch.zeros(3, 3))
    with pytest.raises(TypeError, match="bool or of the inputs' dtype"):
        ours(*(mg.tensor(x),) * 3, attn_mask=mg.zeros(3, 3))


@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_with_a_batch_that_sees_no_key_does_what_torch_does(need_weights):
    """Every key of example 1 padded: NaN when the weights are asked for (a plain softmax, as
    torch's), zeros before out_proj when not (scaled_dot_product_attention's rows)."""
    ours, theirs = _twin_modules({"embed_dim": 4, "num_heads": 2})
    arrays = {name: RNG.normal(size=(3 + 2 * (name != "query"), 2, 4)) for name in QKV}
    arrays["key_padding_mask"] = np.array([[False] * 4 + [True], [True] * 5])
    mine, torchs = _run_both(ours, theirs, arrays, {"need_weights": need_weights})
    assert mine[0][0][:, 1]._data.isnan().all().item() == need_weights
    _assert_twins(mine, torchs)
