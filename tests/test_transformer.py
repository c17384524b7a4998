"""TransformerEncoderLayer, TransformerDecoderLayer, TransformerEncoder, TransformerDecoder and
Transformer against torch's (float64, rtol 1e-10 and atol 1e-12, random upstream
gradients): outputs and the gradients of every input and parameter, over drawn sizes and
options (norm_first, batch_first, bias, activations, unbatched inputs, bool and float masks,
key padding masks) in train (dropout 0) and eval mode, with torch's weights loaded; initial
values under a seed with torch's names, state_dict both ways, dropout under a seed, SGD steps,
the causal mask and its hint, and the errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st
from test_no_torch_autograd import forbid_torch_autograd

import minigrad as mg
from minigrad import nn
from minigrad.errors import ShapeError
from minigrad.nn import functional as F
from minigrad.testing import assert_close
from minigrad.testing import strategies as mst

# torch's own warnings, about its fast path and about masks of two kinds (minigrad warns of
# the latter in its words, tested in test_attention.py)
pytestmark = [
    pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
    pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors"),
    pytest.mark.filterwarnings("ignore:Support for mismatched"),
    pytest.mark.filterwarnings("ignore:MultiheadAttention. a key_padding_mask and an attn_mask"),
]

# float64 and the same operations as torch's, in the same order: agreement to about 1e-10
TOL = {"rtol": 1e-10, "atol": 1e-12}

# each activation as (minigrad's, torch's)
ACTIVATIONS = {
    "relu": ("relu", "relu"),
    "gelu": ("gelu", "gelu"),
    "function": (F.silu, TF.silu),
    "layer": (lambda: nn.GELU(approximate="tanh"), lambda: torch.nn.GELU(approximate="tanh")),
}


def _activation(kind: str, side: int):
    made = ACTIVATIONS[kind][side]
    return made() if kind == "layer" else made


def _twins(cls: str, args: tuple, options: dict, activation: str = "relu", seed: int = 0):
    """torch's module `cls` in float64, its parameters redrawn from N(0, 1) (biases and norms
    start at 0 and 1: make them tell), and minigrad's, loaded with torch's state_dict."""
    torch.manual_seed(seed)
    extra = {} if cls in ("TransformerEncoder", "TransformerDecoder") else {"dtype": torch.float64}
    theirs = _make(torch.nn, cls, args, {**options, **extra}, activation, side=1)
    for p in theirs.parameters():
        p.data.normal_()
    ours = _make(nn, cls, args, {**options, **extra}, activation, side=0)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _make(lib, cls: str, args: tuple, options: dict, activation: str, side: int):
    if cls in ("TransformerEncoder", "TransformerDecoder"):  # a layer, copied num_layers times
        layer_cls = cls + "Layer"
        layer = _make(lib, layer_cls, args[0], {**options, "dtype": torch.float64}, activation,
                      side)  # fmt: skip
        norm = lib.LayerNorm(args[0][0], dtype=torch.float64) if args[2] else None
        return getattr(lib, cls)(layer, args[1], norm=norm)
    return getattr(lib, cls)(*args, activation=_activation(activation, side), **options)


def _run_both(ours, theirs, arrays: dict, grads: tuple[str, ...], seed: int | None = None, **flags):
    """forward on the same inputs (arrays by keyword, then flags such as is_causal as they
    are; torch seeded with `seed` first if given)
    and backward of one random upstream gradient: torch's autograd for torch's module, minigrad's
    backward (torch's autograd forbidden) for minigrad's. Compares the outputs and the gradients
    of the inputs named in `grads` and of every parameter."""
    upstream = None
    results = []
    for module, make in ((theirs, torch.tensor), (ours, mg.tensor)):
        inputs = {name: make(a) for name, a in arrays.items()}
        for name in grads:
            inputs[name].requires_grad_(True)
        with pytest.MonkeyPatch.context() as patch:
            if module is ours:
                forbid_torch_autograd(patch)
            if seed is not None:
                torch.manual_seed(seed)
            out = module(**inputs, **flags)
            if upstream is None:
                upstream = np.random.default_rng(1).normal(size=tuple(out.shape))
            out.backward(make(upstream))
        params = {name: p.grad for name, p in module.named_parameters()}
        results.append((out, {name: inputs[name].grad for name in grads}, params))
    (t_out, t_grads, t_params), (out, got_grads, params) = results
    name = type(ours).__name__
    assert_close(out._data, t_out.detach(), what=f"{name} output", **TOL)
    for n in grads:
        assert_close(got_grads[n]._data, t_grads[n], what=f"{name} gradient of {n}", **TOL)
    assert list(params) == list(t_params)
    for n, expected in t_params.items():
        got = params[n]
        if expected is None:  # a parameter the output does not depend on
            assert got is None or not got._data.any(), f"{name}: {n} has a gradient"
        else:
            assert_close(got._data, expected, what=f"{name} gradient of {n}", **TOL)


# ---- drawn cases ------------------------------------------------------------------------------


@st.composite
def layer_options(draw: st.DrawFn, activations=tuple(ACTIVATIONS)) -> tuple[tuple, dict, str, str]:
    """(d_model, nhead, dim_feedforward), the layer's options, its activation and the mode."""
    heads, head_dim = draw(st.integers(1, 2), label="nhead"), draw(st.integers(1, 2), label="hd")
    args = (heads * head_dim, heads, draw(st.integers(1, 4), label="dim_feedforward"))
    options = {
        "dropout": 0.0,
        "norm_first": draw(st.booleans(), label="norm_first"),
        "batch_first": draw(st.booleans(), label="batch_first"),
        "bias": draw(st.booleans(), label="bias"),
        "layer_norm_eps": draw(st.sampled_from([1e-5, 0.1]), label="layer_norm_eps"),
    }
    activation = draw(st.sampled_from(activations), label="activation")
    return args, options, activation, draw(st.sampled_from(["train", "eval"]), label="mode")


def _sequence(draw, batch: int | None, length: int, e: int, batch_first: bool, label: str):
    """A drawn sequence whose features at each position differ (by at least 1): LayerNorm of
    equal features divides by a variance of 0 (its gradients, some 1e20, then agree with
    torch's to a few digits only)."""
    if batch is None:
        shape: tuple[int, ...] = (length, e)
    else:
        shape = (batch, length, e) if batch_first else (length, batch, e)
    return draw(mst.float_arrays(shape, -1.0, 1.0), label=label) + 3.0 * np.arange(e)


def _masks(draw, arrays: dict, names: tuple[str, str], batch, length, source, heads) -> None:
    """An attention mask (L, S) or (N * nhead, L, S) and a key padding mask (N, S) or (S,),
    each absent, bool or float, into arrays."""
    mask_name, kpm_name = names
    kind = draw(st.sampled_from(["none", "bool", "float"]), label=mask_name)
    if kind != "none":
        per_head = draw(st.booleans(), label=f"{mask_name} per head")
        lead = ((batch or 1) * heads,) if per_head else ()
        mask = draw(mst.float_arrays((*lead, length, source), -2.0, 2.0), label=mask_name)
        arrays[mask_name] = mask > 1.5 if kind == "bool" else mask
    kind = draw(st.sampled_from(["none", "bool", "float"]), label=kpm_name)
    if kind != "none":
        shape = (source,) if batch is None else (batch, source)
        kpm = draw(mst.float_arrays(shape, -2.0, 2.0), label=kpm_name)
        arrays[kpm_name] = kpm > 1.5 if kind == "bool" else kpm


def _set_mode(mode: str, *modules) -> None:
    for m in modules:
        getattr(m, mode)()


@settings(max_examples=20)
@given(case=layer_options(), data=st.data())
def test_encoder_layer_matches_torch(case, data):
    args, options, activation, mode = case
    e, heads, _ = args
    batch = data.draw(st.sampled_from([None, 1, 2]), label="N (None: unbatched)")
    length = data.draw(st.integers(1, 3), label="S")
    arrays = {"src": _sequence(data.draw, batch, length, e, options["batch_first"], "src")}
    _masks(data.draw, arrays, ("src_mask", "src_key_padding_mask"), batch, length, length, heads)
    ours, theirs = _twins("TransformerEncoderLayer", args, options, activation)
    _set_mode(mode, ours, theirs)
    _run_both(ours, theirs, arrays, ("src",))


@settings(max_examples=20)
@given(case=layer_options(), data=st.data())
def test_decoder_layer_matches_torch(case, data):
    args, options, activation, mode = case
    e, heads, _ = args
    first = options["batch_first"]
    batch = data.draw(st.sampled_from([None, 1, 2]), label="N (None: unbatched)")
    length, source = (
        data.draw(st.integers(1, 3), label="T"),
        data.draw(st.integers(1, 3), label="S"),
    )
    arrays = {
        "tgt": _sequence(data.draw, batch, length, e, first, "tgt"),
        "memory": _sequence(data.draw, batch, source, e, first, "memory"),
    }
    _masks(data.draw, arrays, ("tgt_mask", "tgt_key_padding_mask"), batch, length, length, heads)
    names = ("memory_mask", "memory_key_padding_mask")
    _masks(data.draw, arrays, names, batch, length, source, heads)
    ours, theirs = _twins("TransformerDecoderLayer", args, options, activation)
    _set_mode(mode, ours, theirs)
    _run_both(ours, theirs, arrays, ("tgt", "memory"))


# not an activation layer: torch's copies of a decoder layer lose it (see the quirk's test below)
@settings(max_examples=6)
@given(case=layer_options(("relu", "gelu", "function")), data=st.data())
def test_transformer_matches_torch(case, data):
    """Two encoder and two decoder layers (their weights differ: N(0, 1) each), the final
    norms, a causal tgt_mask (with its hint, or without) and padding masks."""
    (e, heads, ff), options, activation, mode = case
    first = options["batch_first"]
    batch = data.draw(st.sampled_from([None, 2]), label="N (None: unbatched)")
    source, length = (
        data.draw(st.integers(1, 3), label="S"),
        data.draw(st.integers(1, 3), label="T"),
    )
    arrays = {
        "src": _sequence(data.draw, batch, source, e, first, "src"),
        "tgt": _sequence(data.draw, batch, length, e, first, "tgt"),
        "tgt_mask": np.triu(np.full((length, length), -np.inf), 1),  # causal
    }
    hint = data.draw(st.sampled_from([None, True]), label="tgt_is_causal")
    _masks(data.draw, arrays, ("src_mask", "src_key_padding_mask"), batch, source, source, heads)
    _masks(data.draw, arrays, ("memory_mask", "memory_key_padding_mask"), batch, length, source,
           heads)  # fmt: skip
    ours, theirs = _twins("Transformer", (e, heads, 2, 2, ff), options, activation)
    _set_mode(mode, ours, theirs)
    _run_both(ours, theirs, arrays, ("src", "tgt"), tgt_is_causal=hint)


def test_torch_loses_an_activation_layer_when_it_copies_a_decoder_layer_and_minigrad_keeps_it():
    """A torch quirk minigrad does not copy: deepcopy runs TransformerDecoderLayer.__setstate__,
    which finds no "activation" in the instance's dict (a layer lives among the submodules)
    and puts F.relu there, in front of it. So torch's TransformerDecoder (and Transformer) with
    activation=nn.GELU() applies relu; minigrad's copies apply the GELU they were given."""
    theirs = torch.nn.TransformerDecoder(
        torch.nn.TransformerDecoderLayer(4, 2, 3, activation=torch.nn.GELU()), 1
    )
    ours = nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, 3, activation=nn.GELU()), 1)
    assert theirs.layers[0].activation is TF.relu
    assert isinstance(ours.layers[0].activation, nn.GELU)


# ---- the stacks -------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ["TransformerEncoder", "TransformerDecoder"])
@pytest.mark.parametrize("norm", [True, False])
@pytest.mark.parametrize("norm_first", [True, False])
def test_stacks_match_torch(cls, norm, norm_first):
    """Three copies of a layer, their weights redrawn (N(0, 1)) to differ, with a final norm
    or none; a bool causal mask and a key padding mask with a whole example padded (torch's
    plain path gives that example's attention zeros: so does minigrad's)."""
    options = {"dropout": 0.0, "norm_first": norm_first}
    ours, theirs = _twins(cls, ((4, 2, 3), 3, norm), options)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 2, 4)) + 3.0 * np.arange(4)
    causal = np.triu(np.ones((3, 3), dtype=bool), 1)
    padding = np.array([[False, False, True], [True, True, True]])
    if cls == "TransformerEncoder":
        arrays = {"src": x, "mask": causal, "src_key_padding_mask": padding}
        _run_both(ours, theirs, arrays, ("src",), is_causal=True)
    else:
        memory = rng.normal(size=(3, 2, 4)) + 3.0 * np.arange(4)
        arrays = {"tgt": x, "memory": memory, "tgt_mask": causal,
                  "memory_key_padding_mask": padding}  # fmt: skip
        _run_both(ours, theirs, arrays, ("tgt", "memory"))


def test_stacks_hold_copies_that_learn_apart():
    layer = nn.TransformerEncoderLayer(4, 2, 3)
    stack = nn.TransformerEncoder(layer, 2)
    first, second = stack.layers[0], stack.layers[1]
    assert first is not layer and first.linear1.weight is not second.linear1.weight
    assert torch.equal(first.linear1.weight._data, second.linear1.weight._data)
    first.linear1.weight._data.add_(1.0)
    assert not torch.equal(first.linear1.weight._data, second.linear1.weight._data)
    assert torch.equal(second.linear1.weight._data, layer.linear1.weight._data)


# ---- initial values, names, state_dict --------------------------------------------------------


def _build(lib, cls: str, options: dict):
    if cls == "TransformerEncoder":
        return lib.TransformerEncoder(lib.TransformerEncoderLayer(6, 2, 5, **options), 2,
                                      norm=lib.LayerNorm(6))  # fmt: skip
    if cls == "TransformerDecoder":
        return lib.TransformerDecoder(lib.TransformerDecoderLayer(6, 2, 5, **options), 2)
    if cls == "Transformer":
        return lib.Transformer(6, 2, 2, 1, 5, **options)
    return getattr(lib, cls)(6, 2, 5, **options)


CLASSES = ["TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder",
           "TransformerDecoder", "Transformer"]  # fmt: skip


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(
    "options", [{}, {"bias": False, "norm_first": True}, {"dtype": torch.float64}]
)
def test_initial_values_names_and_shapes_are_torchs_for_a_seed(cls, options):
    """Drawn in torch's order, bit for bit, in float64 too."""
    torch.manual_seed(3)
    theirs = _build(torch.nn, cls, options)
    torch.manual_seed(3)
    ours = _build(nn, cls, options)
    expected, got = theirs.state_dict(), ours.state_dict()
    assert list(got) == list(expected)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for name, values in expected.items():
        assert_close(got[name], values, what=f"{cls} initial {name}", rtol=0, atol=0)


@pytest.mark.parametrize("cls", CLASSES)
def test_state_dict_round_trips_through_torch(cls):
    torch.manual_seed(1)
    theirs, again = _build(torch.nn, cls, {}), _build(torch.nn, cls, {})
    ours = _build(nn, cls, {})
    ours.load_state_dict(theirs.state_dict())
    again.load_state_dict(ours.state_dict())
    for name, values in theirs.state_dict().items():
        assert_close(again.state_dict()[name], values, what=name, rtol=0, atol=0)


# ---- dropout, training ------------------------------------------------------------------------


@pytest.mark.skipif(mg.cuda.is_available(), reason="torch's CUDA dropout draws its mask fused")
@pytest.mark.parametrize(
    "cls", ["TransformerEncoderLayer", "TransformerDecoderLayer", "Transformer"]
)
@pytest.mark.parametrize("batch_first", [False, True])
def test_dropout_drops_what_torch_drops_for_a_seed(cls, batch_first):
    """In training, seeded alike, the attention weights, the block outputs and the hidden
    layer are dropped where torch drops them: minigrad draws torch's masks, in torch's order.
    In eval, none is dropped."""
    args = (4, 2, 2, 1, 3) if cls == "Transformer" else (4, 2, 3)
    ours, theirs = _twins(cls, args, {"dropout": 0.3, "batch_first": batch_first})
    rng = np.random.default_rng(2)
    x, y = (rng.normal(size=(2, 3, 4)) + 3.0 * np.arange(4) for _ in range(2))
    names = {"TransformerEncoderLayer": ("src",), "TransformerDecoderLayer": ("tgt", "memory"),
             "Transformer": ("src", "tgt")}[cls]  # fmt: skip
    arrays = dict(zip(names, (x, y)))
    for mode in ("train", "eval"):
        _set_mode(mode, ours, theirs)
        _run_both(ours, theirs, arrays, names, seed=5)
    ours.train()
    torch.manual_seed(5)
    dropped = ours(*(mg.tensor(a) for a in arrays.values()))
    ours.eval()
    assert not torch.equal(dropped._data, ours(*(mg.tensor(a) for a in arrays.values()))._data)


def test_a_transformer_trains_as_torchs_with_sgd():
    """A few SGD steps on a small Transformer and a causal mask: the same loss and weights as
    torch's, step after step."""
    torch.manual_seed(0)
    theirs = torch.nn.Transformer(4, 2, 1, 1, 6, dropout=0.0, dtype=torch.float64)
    ours = nn.Transformer(4, 2, 1, 1, 6, dropout=0.0, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(0)
    src, tgt, y = rng.normal(size=(3, 2, 4)), rng.normal(size=(2, 2, 4)), rng.normal(size=(2, 2, 4))
    t_mask = torch.nn.Transformer.generate_square_subsequent_mask(2, dtype=torch.float64)
    mask = nn.Transformer.generate_square_subsequent_mask(2, dtype=torch.float64)
    t_opt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    opt = mg.optim.SGD(ours.parameters(), lr=0.1)
    for _ in range(3):
        t_out = theirs(torch.tensor(src), torch.tensor(tgt), tgt_mask=t_mask)
        t_loss = ((t_out - torch.tensor(y)) ** 2).mean()
        t_opt.zero_grad()
        t_loss.backward()
        t_opt.step()
        loss = ((ours(mg.tensor(src), mg.tensor(tgt), tgt_mask=mask) - mg.tensor(y)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert_close(loss._data, t_loss, what="loss", **TOL)
    for name, value in theirs.state_dict().items():
        assert_close(ours.state_dict()[name], value, what=name, **TOL)


# ---- the causal mask and its hint -------------------------------------------------------------


@pytest.mark.parametrize("dtype", [None, torch.float64])
def test_generate_square_subsequent_mask_is_torchs(dtype):
    got = nn.Transformer.generate_square_subsequent_mask(4, dtype=dtype)
    expected = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=dtype)
    assert isinstance(got, mg.Tensor)
    assert_close(got._data, expected, what="causal mask", rtol=0, atol=0)


def test_is_causal_is_a_hint_that_needs_the_mask_as_torch():
    ours, theirs = _twins("TransformerEncoderLayer", (4, 2, 3), {"dropout": 0.0})
    x = np.random.default_rng(3).normal(size=(3, 2, 4)) + 3.0 * np.arange(4)
    causal = np.triu(np.full((3, 3), -np.inf), 1)
    _run_both(ours, theirs, {"src": x, "src_mask": causal}, ("src",), is_causal=True)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        theirs(torch.tensor(x), is_causal=True)
    with pytest.raises(ValueError, match="is_causal=True is a hint that src_mask is causal"):
        ours(mg.tensor(x), is_causal=True)
    decoder = nn.TransformerDecoderLayer(4, 2, 3)
    with pytest.raises(ValueError, match="hint that tgt_mask is causal"):
        decoder(mg.zeros(3, 2, 4), mg.zeros(5, 2, 4), tgt_is_causal=True)
    with pytest.raises(ValueError, match="hint that memory_mask is causal"):
        decoder(mg.zeros(3, 2, 4), mg.zeros(5, 2, 4), memory_is_causal=True)


# ---- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ["TransformerEncoderLayer", "TransformerDecoderLayer"])
def test_layers_refuse_bad_settings_in_minigrads_words(cls):
    with pytest.raises(AssertionError):
        getattr(torch.nn, cls)(5, 2)
    with pytest.raises(ValueError, match=r"d_model \(5\) must be divisible by nhead \(2\)"):
        getattr(nn, cls)(5, 2)
    with pytest.raises(RuntimeError):
        getattr(torch.nn, cls)(4, 2, activation="tanh")
    with pytest.raises(ValueError, match="activation must be 'relu', 'gelu' or a callable.*'tanh'"):
        getattr(nn, cls)(4, 2, activation="tanh")


def _zeros(shape, dtype=torch.float64):
    return np.zeros(shape, dtype=bool) if dtype == torch.bool else np.zeros(shape)


@pytest.mark.parametrize(
    "arrays, error, words",
    [
        ({"src": (3, 2, 5)}, ShapeError, r"src must be .*E = d_model = 4 .*\(3, 2, 5\)"),
        (
            {"src": (3, 2, 4), "src_mask": (3, 4)},
            ShapeError,
            r"src_mask must be \(S, S\) = \(3, 3\) or \(N \* nhead, S, S\) = \(4, 3, 3\), "
            r"got shape \(3, 4\)",
        ),
        ({"src": (3, 2, 4), "src_mask": (2, 3, 3)}, ShapeError, r"src_mask must be .*\(2, 3, 3\)"),
        (
            {"src": (3, 2, 4), "src_key_padding_mask": (3, 2)},
            ShapeError,
            r"src_key_padding_mask must be \(N, S\) = \(2, 3\)",
        ),
        (
            {"src": (3, 4), "src_key_padding_mask": (1, 3)},
            ShapeError,
            r"src_key_padding_mask must be \(S,\) = \(3,\)",
        ),
    ],
)
def test_encoder_layer_refuses_bad_shapes_in_minigrads_words(arrays, error, words):
    ours, theirs = _twins("TransformerEncoderLayer", (4, 2, 3), {"dropout": 0.0})
    kinds = {n: torch.bool if "mask" in n else torch.float64 for n in arrays}
    with pytest.raises((RuntimeError, AssertionError)):
        theirs(**{n: torch.tensor(_zeros(s, kinds[n])) for n, s in arrays.items()})
    with pytest.raises(error, match=words):
        ours(**{n: mg.tensor(_zeros(s, kinds[n])) for n, s in arrays.items()})


@pytest.mark.parametrize(
    "arrays, words",
    [
        ({"memory": (5, 3, 4)}, r"memory must have tgt's batch size"),
        ({"tgt_mask": (3, 5)}, r"tgt_mask must be \(T, T\) = \(3, 3\)"),
        (
            {"memory_mask": (3, 3)},
            r"memory_mask must be \(T, S\) = \(3, 5\) or \(N \* nhead, T, S\) = \(4, 3, 5\), "
            r"got shape \(3, 3\)",
        ),
        (
            {"memory_key_padding_mask": (2, 3)},
            r"memory_key_padding_mask must be \(N, S\) = \(2, 5\)",
        ),
    ],
)
def test_decoder_layer_refuses_bad_shapes_in_minigrads_words(arrays, words):
    ours, theirs = _twins("TransformerDecoderLayer", (4, 2, 3), {"dropout": 0.0})
    arrays = {"tgt": (3, 2, 4), "memory": (5, 2, 4), **arrays}
    kinds = {n: torch.bool if "mask" in n else torch.float64 for n in arrays}
    with pytest.raises((RuntimeError, AssertionError)):
        theirs(**{n: torch.tensor(_zeros(s, kinds[n])) for n, s in arrays.items()})
    with pytest.raises(ShapeError, match=words):
        ours(**{n: mg.tensor(_zeros(s, kinds[n])) for n, s in arrays.items()})


def test_masks_of_another_dtype_and_mismatched_transformer_inputs_are_refused():
    ours, theirs = _twins("Transformer", (4, 2, 1, 1, 3), {"dropout": 0.0})
    src, tgt = mg.zeros(3, 2, 4, dtype=torch.float64), mg.zeros(5, 2, 4, dtype=torch.float64)
    with pytest.raises(TypeError, match="src_mask must be bool .* got torch.int64"):
        ours(src, tgt, src_mask=mg.zeros(3, 3, dtype=torch.int64))
    with pytest.raises(RuntimeError):
        theirs(torch.zeros(3, 2, 4, dtype=torch.float64), torch.zeros(5, 3, 4, dtype=torch.float64))
    with pytest.raises(
        ShapeError, match=r"src and tgt must have the same batch size .*\(5, 3, 4\)"
    ):
        ours(src, mg.zeros(5, 3, 4, dtype=torch.float64))
    with pytest.raises(ShapeError, match=r"d_model = 4 features .*\(5, 2, 3\)"):
        ours(src, mg.zeros(5, 2, 3, dtype=torch.float64))


def test_torchs_eval_fast_path_gives_minigrads_plain_numbers():
    """In eval, with no gradient asked for and batch_first, torch runs fused kernels (and, with
    a padding mask, nested tensors, whose padded positions come out of the layers as zeros).
    Minigrad always runs the plain equations: the same numbers, at every position that is not
    padding."""
    ours, theirs = _twins("TransformerEncoder", ((4, 2, 3), 2, True), {"batch_first": True})
    _set_mode("eval", ours, theirs)
    x = np.random.default_rng(4).normal(size=(2, 3, 4)) + 3.0 * np.arange(4)
    padding = np.array([[False, False, True], [False, False, False]])
    with torch.no_grad():
        plain = theirs.layers[0](torch.tensor(x))
        padded = theirs(torch.tensor(x), src_key_padding_mask=torch.tensor(padding))
        # torch's fast path did run: the padding came out of the layers as zeros
        assert torch.equal(padded[0, 2], theirs.norm(torch.zeros(4, dtype=torch.float64)))
    assert_close(ours.layers[0](mg.tensor(x))._data, plain, what="fused layer", **TOL)
    got = ours(mg.tensor(x), src_key_padding_mask=mg.tensor(padding))._data
    kept = torch.tensor(~padding)
    assert_close(got[kept], padded[kept], what="nested-tensor encoder", **TOL)
