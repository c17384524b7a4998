"""nn.utils.rnn (PackedSequence, pack_padded_sequence, pad_packed_sequence, pad_sequence,
unpad_sequence, pack_sequence, unpack_sequence), RNN, LSTM and GRU on packed input, LSTM's
proj_size, and nn.utils.parameters_to_vector / vector_to_parameters, against torch's.

In float64, over Hypothesis-drawn lengths (unsorted, enforce_sorted either way), batch_first,
bidirectional, num_layers and proj_size: the packed data, batch_sizes and indices equal torch's
exactly; the layers' outputs, h_n and c_n, and the gradients of the padded input, the initial
states and every weight agree with torch autograd's (rtol 1e-7, atol 1e-9: the maths is the
same, only the order of a few float sums may differ); torch's errors for bad lengths.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from test_no_torch_autograd import forbid_torch_autograd

import minigrad as mg
from minigrad import nn
from minigrad.nn.utils import rnn
from minigrad.testing import assert_close

TR = torch.nn.utils.rnn


def _array(draw, shape, label):
    size = int(np.prod(shape))
    elements = st.floats(-2, 2, allow_nan=False, width=64)
    values = draw(st.lists(elements, min_size=size, max_size=size), label=label)
    return np.asarray(values, dtype=np.float64).reshape(shape)


@st.composite
def batches(draw, max_batch=4, max_steps=4):
    """Sequence lengths (>= 1, in any order, or decreasing when enforce_sorted), the padded
    length (the longest, maybe a step more: padding past every sequence), and the options."""
    lengths = draw(
        st.lists(st.integers(1, max_steps), min_size=1, max_size=max_batch), label="lengths"
    )
    enforce_sorted = draw(st.booleans(), label="enforce_sorted")
    if enforce_sorted:
        lengths = sorted(lengths, reverse=True)
    steps = max(lengths) + draw(st.integers(0, 1), label="extra padding")
    batch_first = draw(st.booleans(), label="batch_first")
    return lengths, steps, enforce_sorted, batch_first


def _padded_shape(lengths, steps, batch_first, features):
    batch = len(lengths)
    return ((batch, steps) if batch_first else (steps, batch)) + tuple(features)


def _same_packed(got: rnn.PackedSequence, expected, what: str) -> None:
    assert isinstance(got, rnn.PackedSequence), what
    assert_close(got.data._data, expected.data, what=f"{what} data")
    assert torch.equal(got.batch_sizes._data, expected.batch_sizes), what
    assert got.batch_sizes._data.device.type == "cpu", what
    for name in ("sorted_indices", "unsorted_indices"):
        ours, theirs = getattr(got, name), getattr(expected, name)
        assert (ours is None) == (theirs is None), (what, name)
        if theirs is not None:
            assert torch.equal(ours._data, theirs), (what, name)


def _backward_both(t_outs, m_outs, t_leaves, m_leaves, seed, names):
    """The same random upstream gradients through every output of both; compare the gradients
    of every leaf."""
    generator = torch.Generator().manual_seed(seed)
    upstream = [torch.randn(o.shape, dtype=o.dtype, generator=generator) for o in t_outs]
    t_grads = torch.autograd.grad(t_outs, t_leaves, upstream, allow_unused=True)
    with pytest.MonkeyPatch.context() as patch:
        forbid_torch_autograd(patch)
        sum((o * mg.tensor(u)).sum() for o, u in zip(m_outs, upstream)).backward()
    for name, leaf, expected in zip(names, m_leaves, t_grads):
        if expected is None:
            assert leaf.grad is None or not leaf.grad._data.any(), name
        else:
            assert leaf.grad is not None, f"grad of {name}: none"
            assert_close(leaf.grad._data, expected, what=f"grad of {name}")


# ---- packing and padding ------------------------------------------------------------------------


@given(batch=batches(), data=st.data())
def test_pack_and_pad_match_torch_with_gradients(batch, data):
    lengths, steps, enforce_sorted, batch_first = batch
    draw = data.draw
    features = draw(st.sampled_from([(), (2,), (1, 2)]), label="features")
    x = _array(draw, _padded_shape(lengths, steps, batch_first, features), "x")
    as_tensor = draw(st.booleans(), label="lengths as a tensor")
    given_lengths = torch.tensor(lengths) if as_tensor else lengths
    padding_value = draw(st.sampled_from([0.0, -1.5]), label="padding_value")
    total_length = draw(st.sampled_from([None, steps + 1]), label="total_length")

    t_x, m_x = torch.tensor(x, requires_grad=True), mg.tensor(x, requires_grad=True)
    t_packed = TR.pack_padded_sequence(t_x, given_lengths, batch_first, enforce_sorted)
    m_lengths = mg.tensor(lengths) if as_tensor else lengths
    m_packed = rnn.pack_padded_sequence(m_x, m_lengths, batch_first, enforce_sorted)
    _same_packed(m_packed, t_packed, "pack_padded_sequence")

    options = dict(batch_first=batch_first, padding_value=padding_value, total_length=total_length)
    t_padded, t_lengths = TR.pad_packed_sequence(t_packed, **options)
    m_padded, m_lengths_back = rnn.pad_packed_sequence(m_packed, **options)
    assert_close(m_padded._data, t_padded, what="pad_packed_sequence")
    assert torch.equal(m_lengths_back._data, t_lengths) and t_lengths.tolist() == lengths
    # the round trip: each sequence's real steps come back where they were, padding after
    keep = torch.arange(m_padded.shape[1 if batch_first else 0]).unsqueeze(0) < t_lengths.unsqueeze(
        1
    )
    keep = keep if batch_first else keep.T
    width = min(steps, m_padded.shape[1 if batch_first else 0])
    cut = (slice(None), slice(0, width)) if batch_first else (slice(0, width),)
    assert torch.equal(m_padded._data[cut][keep[cut]], torch.tensor(x)[cut][keep[cut]])
    assert (m_padded._data[~keep] == padding_value).all()

    _backward_both(
        [t_packed.data, t_padded], [m_packed.data, m_padded], [t_x], [m_x],
        seed=draw(st.integers(0, 100), label="upstream seed"), names=["padded input"],
    )  # fmt: skip


@given(batch=batches(), data=st.data())
def test_sequence_lists_match_torch_with_gradients(batch, data):
    """pad_sequence (either side), unpad_sequence, pack_sequence and unpack_sequence."""
    lengths, _, enforce_sorted, batch_first = batch
    draw = data.draw
    features = draw(st.sampled_from([(), (2,)]), label="features")
    arrays = [_array(draw, (n, *features), f"sequence {i}") for i, n in enumerate(lengths)]
    side = draw(st.sampled_from(["right", "left"]), label="padding_side")
    t_seqs = [torch.tensor(a, requires_grad=True) for a in arrays]
    m_seqs = [mg.tensor(a, requires_grad=True) for a in arrays]

    t_padded = TR.pad_sequence(t_seqs, batch_first, 0.5, side)
    m_padded = rnn.pad_sequence(m_seqs, batch_first, 0.5, side)
    assert_close(m_padded._data, t_padded, what="pad_sequence")
    t_plain = TR.pad_sequence(t_seqs, batch_first)  # right-padded: what unpad_sequence reads
    m_plain = rnn.pad_sequence(m_seqs, batch_first)
    m_unpadded = rnn.unpad_sequence(m_plain, mg.tensor(lengths), batch_first)
    assert m_plain.shape == t_plain.shape  # left as it was (torch's transposes it in place)
    t_unpadded = TR.unpad_sequence(t_plain.clone(), torch.tensor(lengths), batch_first)
    t_packed = TR.pack_sequence(t_seqs, enforce_sorted)
    m_packed = rnn.pack_sequence(m_seqs, enforce_sorted)
    _same_packed(m_packed, t_packed, "pack_sequence")
    t_unpacked, m_unpacked = TR.unpack_sequence(t_packed), rnn.unpack_sequence(m_packed)
    for i, (a, t_u, m_u, t_v, m_v) in enumerate(
        zip(arrays, t_unpadded, m_unpadded, t_unpacked, m_unpacked)
    ):
        assert torch.equal(m_u._data, torch.tensor(a)), f"unpad_sequence {i}"
        assert torch.equal(m_v._data, torch.tensor(a)), f"unpack_sequence {i}"
        assert torch.equal(t_u, t_v)
    _backward_both(
        [t_padded, t_packed.data, *t_unpadded, *t_unpacked],
        [m_padded, m_packed.data, *m_unpadded, *m_unpacked],
        t_seqs, m_seqs, seed=draw(st.integers(0, 100), label="upstream seed"),
        names=[f"sequence {i}" for i in range(len(arrays))],
    )  # fmt: skip


def test_packed_sequence_is_torchs_named_tuple_with_conversions():
    packed = rnn.pack_sequence([mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0, 5.0])], False)
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    assert rnn.PackedSequence._fields == TR.PackedSequence._fields
    assert torch.equal(sorted_indices._data, torch.tensor([1, 0]))
    assert torch.equal(unsorted_indices._data, torch.tensor([1, 0]))
    assert torch.equal(data._data, torch.tensor([3.0, 1.0, 4.0, 2.0, 5.0]))
    assert torch.equal(batch_sizes._data, torch.tensor([2, 2, 1]))
    assert packed.to(torch.float32) is packed and packed.float() is packed
    double = packed.double()
    assert isinstance(double, rnn.PackedSequence) and double.data.dtype == torch.float64
    assert double.batch_sizes is packed.batch_sizes and not double.is_cuda
    assert packed.long().data.dtype == torch.int64
    rebuilt = rnn.PackedSequence((data, batch_sizes), sorted_indices=sorted_indices)
    assert torch.equal(rebuilt.unsorted_indices._data, unsorted_indices._data)
    from_torch = rnn.PackedSequence(data, torch.tensor([2, 2, 1]), torch.tensor([1, 0]))
    assert all(isinstance(field, mg.Tensor) for field in from_torch)
    padded, lengths = rnn.pad_packed_sequence(from_torch, batch_first=True)
    assert torch.equal(padded._data, torch.tensor([[1.0, 2.0, 0.0], [3.0, 4.0, 5.0]]))
    assert lengths.tolist() == [2, 3]
    with pytest.raises(AssertionError, match="a pair"):
        rnn.PackedSequence(data)
    assert torch.equal(
        rnn.invert_permutation(mg.tensor([2, 0, 1]))._data,
        TR.invert_permutation(torch.tensor([2, 0, 1])),
    )


def test_packing_refuses_what_torch_refuses():
    x = mg.zeros(3, 2, 4)
    for lengths, message in (
        ([2, 3], "sorted in decreasing order when `enforce_sorted` is True"),
        ([3, 0], "greater than 0"),
        ([3], "equal to batch_size"),
    ):
        with pytest.raises(RuntimeError, match=message):
            TR.pack_padded_sequence(torch.zeros(3, 2, 4), lengths)
        with pytest.raises(RuntimeError, match=message):
            rnn.pack_padded_sequence(x, lengths)
    with pytest.raises(RuntimeError, match="greater than 0"):
        rnn.pack_padded_sequence(x, [0, 3], enforce_sorted=False)
    with pytest.raises(RuntimeError, match="beyond the input's 3 time steps"):
        rnn.pack_padded_sequence(x, [4, 1])
    with pytest.raises(RuntimeError, match="1D CPU int64 tensor"):
        rnn.pack_padded_sequence(x, mg.tensor([[3, 2]]))
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        rnn.pack_sequence([mg.zeros(2), mg.zeros(3)])
    packed = rnn.pack_padded_sequence(x, [3, 1])
    with pytest.raises(ValueError, match="total_length=2 and max sequence length being 3"):
        rnn.pad_packed_sequence(packed, total_length=2)
    with pytest.raises(RuntimeError, match="empty list of sequences"):
        rnn.pad_sequence([])
    with pytest.raises(RuntimeError, match="padding_side to be one of left or right"):
        rnn.pad_sequence([mg.zeros(2)], padding_side="up")
    with pytest.raises(RuntimeError, match="same trailing dims"):
        rnn.pad_sequence([mg.zeros(2, 3), mg.zeros(2, 4)])


# ---- the recurrent layers on packed input, and LSTM's proj_size ----------------------------------


@given(batch=batches(max_batch=3, max_steps=3), data=st.data())
def test_layers_on_packed_or_padded_input_match_torch(batch, data):
    """Packed input: output (a PackedSequence), h_n and c_n (each sequence's state at its own
    last step, in the original order), hx given in that order; padded input with proj_size.
    Gradients of the padded input, h0, c0 and every weight."""
    lengths, steps, enforce_sorted, batch_first = batch
    draw = data.draw
    kind = draw(st.sampled_from(["RNN", "LSTM", "GRU"]), label="layer")
    input_size, hidden = (
        draw(st.integers(1, 3), label="input"),
        draw(st.integers(2, 3), label="hidden"),
    )
    num_layers, bidirectional = (
        draw(st.integers(1, 2), label="layers"),
        draw(st.booleans(), label="bidirectional"),
    )
    options = dict(num_layers=num_layers, bias=draw(st.booleans(), label="bias"),
                   batch_first=batch_first, bidirectional=bidirectional,
                   dtype=torch.float64)  # fmt: skip
    if kind == "RNN":
        options["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]), label="nonlinearity")
    proj = 0
    if kind == "LSTM":
        proj = options["proj_size"] = draw(st.integers(0, hidden - 1), label="proj_size")
    packed = draw(st.booleans(), label="packed")
    torch.manual_seed(draw(st.integers(0, 100), label="seed"))
    t_layer = getattr(torch.nn, kind)(input_size, hidden, **options)
    m_layer = getattr(nn, kind)(input_size, hidden, **options)
    m_layer.load_state_dict(t_layer.state_dict())

    x = _array(draw, _padded_shape(lengths, steps, batch_first, (input_size,)), "x")
    layers = num_layers * (2 if bidirectional else 1)
    states = []
    if draw(st.booleans(), label="given state"):
        states.append(_array(draw, (layers, len(lengths), proj or hidden), "h0"))
        if kind == "LSTM":
            states.append(_array(draw, (layers, len(lengths), hidden), "c0"))
    t_leaves = [torch.tensor(a, requires_grad=True) for a in (x, *states)]
    m_leaves = [mg.tensor(a, requires_grad=True) for a in (x, *states)]

    def run(lib, layer, leaves):
        x, *states = leaves
        if packed:
            x = lib.pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
        hx = None if not states else tuple(states) if kind == "LSTM" else states[0]
        output, final = layer(x, hx)
        return output, list(final) if kind == "LSTM" else [final]

    t_out, t_finals = run(TR, t_layer, t_leaves)
    with pytest.MonkeyPatch.context() as patch:
        forbid_torch_autograd(patch)
        m_out, m_finals = run(rnn, m_layer, m_leaves)
    if packed:
        _same_packed(m_out, t_out, f"{kind} output")
        t_out, m_out = t_out.data, m_out.data
    else:
        assert_close(m_out._data, t_out, what=f"{kind} output")
    for i, (got, expected) in enumerate(zip(m_finals, t_finals, strict=True)):
        assert_close(got._data, expected, what=f"{kind} final state {i}")
    t_params = dict(t_layer.named_parameters())
    m_params = dict(m_layer.named_parameters())
    assert list(m_params) == list(t_params)
    _backward_both(
        [t_out, *t_finals], [m_out, *m_finals],
        [*t_leaves, *t_params.values()], [*m_leaves, *m_params.values()],
        seed=draw(st.integers(0, 100), label="upstream seed"),
        names=["input", *(f"state {i}" for i in range(len(states))), *t_params],
    )  # fmt: skip


def test_lstm_with_proj_size_initialises_and_prints_as_torch():
    for options in ({"proj_size": 2}, {"proj_size": 1, "num_layers": 2, "bidirectional": True,
                                        "bias": False}):  # fmt: skip
        torch.manual_seed(4)
        expected = torch.nn.LSTM(3, 4, **options)
        torch.manual_seed(4)
        got = nn.LSTM(3, 4, **options)
        assert list(got.state_dict()) == list(expected.state_dict())
        for name, value in expected.state_dict().items():
            assert torch.equal(got.state_dict()[name], value), name
        assert repr(got) == repr(expected)


def test_layers_refuse_a_wrong_state_for_packed_input():
    packed = rnn.pack_padded_sequence(mg.zeros(3, 2, 2), [3, 1])
    with pytest.raises(ValueError, match=r"Expected hx of size \(1, 2, 3\)"):
        nn.GRU(2, 3)(packed, mg.zeros(1, 3, 3))
    with pytest.raises(ValueError, match=r"Expected h_0 of size \(1, 2, 1\) .*proj_size"):
        nn.LSTM(2, 3, proj_size=1)(packed, (mg.zeros(1, 2, 3), mg.zeros(1, 2, 3)))
    with pytest.raises(ValueError, match="packed input, hx should be 3-D"):
        nn.RNN(2, 3)(packed, mg.zeros(2, 3))
    with pytest.raises(ValueError, match="input has 2 features .* input_size=4"):
        nn.RNN(4, 3)(packed)


# ---- parameters as one vector --------------------------------------------------------------------


def test_parameters_to_vector_and_back_match_torch():
    torch.manual_seed(0)
    t_model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1)).double()
    m_model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1)).double()
    m_model.load_state_dict(t_model.state_dict())
    t_vec = torch.nn.utils.parameters_to_vector(t_model.parameters())
    m_vec = nn.utils.parameters_to_vector(m_model.parameters())
    assert torch.equal(m_vec._data, t_vec.detach())
    weights = torch.arange(t_vec.numel(), dtype=torch.float64)
    (m_vec * mg.tensor(weights)).sum().backward()
    for param, expected in zip(
        m_model.parameters(), weights.split([p.numel() for p in t_model.parameters()])
    ):
        assert torch.equal(param.grad._data, expected.view(param.shape))
    new = torch.linspace(-1, 1, t_vec.numel(), dtype=torch.float64)
    torch.nn.utils.vector_to_parameters(new, t_model.parameters())
    nn.utils.vector_to_parameters(mg.tensor(new), m_model.parameters())
    for name, value in t_model.state_dict().items():
        assert torch.equal(m_model.state_dict()[name], value), name
    with pytest.raises(TypeError, match="but got: list"):
        nn.utils.vector_to_parameters([1.0], m_model.parameters())
