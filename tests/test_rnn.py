"""RNNCell, LSTMCell, GRUCell, RNN, LSTM and GRU against torch's (float64, rtol 1e-7, atol 1e-9,
random upstream gradients): outputs, hidden states and the gradients of the input, the initial
states and every parameter, over drawn sizes and options, with the same weights (torch's loaded
by load_state_dict); second derivatives on small cells; initial values under a seed,
state_dict keys, reprs, dropout between layers, and the errors torch raises.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from test_no_torch_autograd import forbid_torch_autograd

import minigrad as mg
from minigrad import nn
from minigrad.testing import assert_close, assert_matches_torch

CELLS = {"RNNCell": 1, "LSTMCell": 4, "GRUCell": 3}
LAYERS = ("RNN", "LSTM", "GRU")


def _flat(out):
    """The tensors of a module's output, in order: (o, (h, c)) -> [o, h, c]."""
    if isinstance(out, (tuple, list)):
        return [t for part in out for t in _flat(part)]
    return [out]


def _compare(torch_module, mg_module, x, states, seed):
    """Run both modules on x and the initial states (None, an array, or a pair of arrays for
    an LSTM), backpropagate the same random upstream gradients through every output, and check
    the outputs and the gradients of x, the states and every parameter."""
    mg_module.load_state_dict(torch_module.state_dict())
    state_list = [] if states is None else list(states) if isinstance(states, tuple) else [states]
    t_in = [torch.tensor(a, requires_grad=True) for a in (x, *state_list)]
    m_in = [mg.tensor(a, requires_grad=True) for a in (x, *state_list)]

    def packed(inputs):
        if states is None:
            return (inputs[0],)
        return (inputs[0], tuple(inputs[1:]) if isinstance(states, tuple) else inputs[1])

    t_out = _flat(torch_module(*packed(t_in)))
    generator = torch.Generator().manual_seed(seed)
    upstream = [torch.randn(o.shape, dtype=o.dtype, generator=generator) for o in t_out]
    t_params = dict(torch_module.named_parameters())
    t_grads = torch.autograd.grad(t_out, [*t_in, *t_params.values()], upstream, allow_unused=True)
    with pytest.MonkeyPatch.context() as patch:
        forbid_torch_autograd(patch)
        m_out = _flat(mg_module(*packed(m_in)))
        assert len(m_out) == len(t_out)
        loss = sum((o * mg.tensor(u)).sum() for o, u in zip(m_out, upstream))
        loss.backward()
    for i, (got, expected) in enumerate(zip(m_out, t_out)):
        assert_close(got._data, expected, what=f"{type(mg_module).__name__} output {i}")
    m_params = dict(mg_module.named_parameters())
    assert list(m_params) == list(t_params)
    names = ["input", *(f"state {i}" for i in range(len(state_list))), *t_params]
    m_leaves = [*m_in, *m_params.values()]
    for name, leaf, expected in zip(names, m_leaves, t_grads):
        what = f"{type(mg_module).__name__} grad of {name}"
        if expected is None:
            assert leaf.grad is None or not leaf.grad._data.any(), what
        else:
            assert leaf.grad is not None, f"{what}: no gradient"
            assert_close(leaf.grad._data, expected, what=what)


def _array(draw, shape, label):
    elements = st.floats(-2, 2, allow_nan=False, width=64)
    values = draw(st.lists(elements, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))),
                  label=label)  # fmt: skip
    return np.asarray(values, dtype=np.float64).reshape(shape)


# ---- cells ---------------------------------------------------------------------------------------


@given(data=st.data())
def test_cells_match_torch(data):
    draw = data.draw
    kind = draw(st.sampled_from(sorted(CELLS)), label="cell")
    input_size, hidden = (
        draw(st.integers(1, 4), label="input"),
        draw(st.integers(1, 4), label="hidden"),
    )
    bias, batched = draw(st.booleans(), label="bias"), draw(st.booleans(), label="batched")
    batch = (draw(st.integers(1, 3), label="batch"),) if batched else ()
    kwargs = {"bias": bias, "dtype": torch.float64}
    if kind == "RNNCell":
        kwargs["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]), label="nonlinearity")
    torch.manual_seed(draw(st.integers(0, 100), label="seed"))
    torch_cell = getattr(torch.nn, kind)(input_size, hidden, **kwargs)
    cell = getattr(nn, kind)(input_size, hidden, **kwargs)
    x = _array(draw, (*batch, input_size), "x")
    states = None
    if draw(st.booleans(), label="given state"):
        states = _array(draw, (*batch, hidden), "h")
        if kind == "LSTMCell":
            states = (states, _array(draw, (*batch, hidden), "c"))
    _compare(torch_cell, cell, x, states, seed=draw(st.integers(0, 100), label="upstream seed"))


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cells_second_derivatives_match_torch(kind):
    """Hessian-vector products through one step, every weight and the state included."""
    torch.manual_seed(0)
    torch_cell = getattr(torch.nn, kind)(2, 3, dtype=torch.float64)
    cell = getattr(nn, kind)(2, 3, dtype=torch.float64)
    names = [name for name, _ in torch_cell.named_parameters()]
    params = [p.detach().numpy() for p in torch_cell.parameters()]
    rng = np.random.default_rng(0)
    lstm = kind == "LSTMCell"
    states = [rng.normal(size=(2, 3)) for _ in range(2 if lstm else 1)]

    def mg_fn(x, *rest):
        states, weights = rest[: len(rest) - len(names)], rest[len(rest) - len(names) :]
        for name, w in zip(names, weights):
            object.__setattr__(cell, name, w)  # the drawn tensors in place of the Parameters
        out = cell(x, tuple(states) if lstm else states[0])
        return out[0] * 2 + out[1] if lstm else out

    def torch_fn(x, *rest):
        states, weights = rest[: len(rest) - len(names)], rest[len(rest) - len(names) :]
        out = torch.func.functional_call(
            torch_cell, dict(zip(names, weights)), (x, tuple(states) if lstm else states[0])
        )
        return out[0] * 2 + out[1] if lstm else out

    x = rng.normal(size=(2, 2))
    assert_matches_torch(mg_fn, torch_fn, x, *states, *params, order=2, name=kind)


def test_cells_initialise_as_torch_under_a_seed_and_name_their_parameters_as_torch():
    for kind, gates in CELLS.items():
        for bias in (True, False):
            torch.manual_seed(3)
            expected = getattr(torch.nn, kind)(3, 5, bias=bias)
            torch.manual_seed(3)
            got = getattr(nn, kind)(3, 5, bias=bias)
            assert list(got.state_dict()) == list(expected.state_dict())
            for name, value in expected.state_dict().items():
                assert torch.equal(got.state_dict()[name], value), (kind, name)
            assert got.weight_ih.shape == (gates * 5, 3)
            assert repr(got) == repr(expected)
    assert repr(nn.RNNCell(2, 3, False, "relu")) == repr(torch.nn.RNNCell(2, 3, False, "relu"))


def test_cells_refuse_what_torch_refuses():
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNNCell(2, 3, nonlinearity="sigmoid")
    cell = nn.GRUCell(2, 3)
    with pytest.raises(ValueError, match=r"1-D \(input_size,\) or 2-D"):
        cell(mg.zeros(1, 1, 2))
    with pytest.raises(ValueError, match="input_size=2"):
        cell(mg.zeros(4, 3))
    with pytest.raises(ValueError, match=r"expected \(batch, hidden_size\)"):
        cell(mg.zeros(4, 2), mg.zeros(4, 2))
    with pytest.raises(ValueError, match="as many dims as input"):
        cell(mg.zeros(4, 2), mg.zeros(3))
    with pytest.raises(ValueError, match=r"hidden_size must be at least 1 .*, got 0"):
        nn.LSTMCell(2, 0)
    with pytest.raises(TypeError, match="input_size is a number of features, an int; got 2.0"):
        nn.LSTMCell(2.0, 3)


# ---- whole sequences -----------------------------------------------------------------------------


@given(data=st.data())
def test_layers_match_torch(data):
    draw = data.draw
    kind = draw(st.sampled_from(LAYERS), label="layer")
    seq, batch = draw(st.integers(1, 5), label="seq"), draw(st.integers(1, 3), label="batch")
    input_size, hidden = (
        draw(st.integers(1, 4), label="input"),
        draw(st.integers(1, 4), label="hidden"),
    )
    num_layers = draw(st.integers(1, 2), label="num_layers")
    bidirectional = draw(st.booleans(), label="bidirectional")
    batch_first = draw(st.booleans(), label="batch_first")
    batched = draw(st.booleans(), label="batched")
    kwargs = {
        "num_layers": num_layers,
        "bias": draw(st.booleans(), label="bias"),
        "batch_first": batch_first,
        "bidirectional": bidirectional,
        "dtype": torch.float64,
    }
    if kind == "RNN":
        kwargs["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]), label="nonlinearity")
    torch.manual_seed(draw(st.integers(0, 100), label="seed"))
    torch_module = getattr(torch.nn, kind)(input_size, hidden, **kwargs)
    module = getattr(nn, kind)(input_size, hidden, **kwargs)
    if not batched:
        shape = (seq, input_size)
    else:
        shape = (batch, seq, input_size) if batch_first else (seq, batch, input_size)
    x = _array(draw, shape, "x")
    state_shape = (num_layers * (2 if bidirectional else 1), *((batch,) if batched else ()), hidden)
    states = None
    if draw(st.booleans(), label="given state"):
        states = _array(draw, state_shape, "h0")
        if kind == "LSTM":
            states = (states, _array(draw, state_shape, "c0"))
    _compare(torch_module, module, x, states, seed=draw(st.integers(0, 100), label="upstream seed"))


@pytest.mark.parametrize("kind", LAYERS)
def test_layers_initialise_as_torch_under_a_seed_with_torchs_names_and_repr(kind):
    for options in ({}, {"num_layers": 2, "bidirectional": True, "bias": False}):
        torch.manual_seed(1)
        expected = getattr(torch.nn, kind)(3, 4, **options)
        torch.manual_seed(1)
        got = getattr(nn, kind)(3, 4, **options)
        assert list(got.state_dict()) == list(expected.state_dict())
        for name, value in expected.state_dict().items():
            assert torch.equal(got.state_dict()[name], value), (kind, name)
        assert repr(got) == repr(expected)
    for other in LAYERS:  # siblings, not subclasses of one another, as torch's
        same = other == kind
        assert isinstance(getattr(nn, kind)(2, 3), getattr(nn, other)) == same
        assert isinstance(getattr(torch.nn, kind)(2, 3), getattr(torch.nn, other)) == same
    options = {"num_layers": 2, "bias": False, "batch_first": True, "dropout": 0.5}
    assert repr(getattr(nn, kind)(2, 3, **options)) == repr(
        getattr(torch.nn, kind)(2, 3, **options)
    )


@pytest.mark.parametrize("kind", LAYERS)
def test_dropout_between_layers_as_torch(kind):
    """p=1 zeroes the second layer's input in training (deterministic, so comparable); eval
    ignores dropout; in training with 0 < p < 1 the output changes from eval's, and it never
    touches the last layer's output."""
    torch.manual_seed(0)
    options = {"num_layers": 2, "dropout": 1.0, "dtype": torch.float64}
    x = np.random.default_rng(0).normal(size=(4, 2, 3))
    _compare(getattr(torch.nn, kind)(3, 2, **options), getattr(nn, kind)(3, 2, **options), x,
             None, seed=0)  # fmt: skip
    options["dropout"] = 0.5
    torch_module, module = (
        getattr(torch.nn, kind)(3, 2, **options),
        getattr(nn, kind)(3, 2, **options),
    )
    _compare(torch_module.eval(), module.eval(), x, None, seed=1)
    evaluated = _flat(module(mg.tensor(x)))[0]._data
    module.train()
    mg.manual_seed(0)
    trained = [_flat(module(mg.tensor(x)))[0]._data for _ in range(3)]
    assert any(not torch.equal(t, evaluated) for t in trained)
    one_layer = getattr(nn, kind)(3, 2, dtype=torch.float64)
    one_layer.load_state_dict({k: v for k, v in module.state_dict().items() if "l0" in k})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one_layer_with_dropout = getattr(nn, kind)(3, 2, dropout=0.5, dtype=torch.float64)
    one_layer_with_dropout.load_state_dict(one_layer.state_dict())
    assert torch.equal(
        _flat(one_layer_with_dropout(mg.tensor(x)))[0]._data,
        _flat(one_layer(mg.tensor(x)))[0]._data,
    )


@pytest.mark.parametrize("kind", LAYERS)
def test_dropout_with_one_layer_warns_as_torch(kind):
    with pytest.warns(UserWarning, match="num_layers"):
        getattr(torch.nn, kind)(2, 3, dropout=0.5)
    with pytest.warns(UserWarning, match="num_layers"):
        getattr(nn, kind)(2, 3, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(nn, kind)(2, 3, num_layers=2, dropout=0.5)
        getattr(nn, kind)(2, 3, dropout=0.0)


@pytest.mark.parametrize("kind", LAYERS)
def test_layers_refuse_what_torch_refuses(kind):
    layer = getattr(nn, kind)(2, 3, num_layers=2)
    state = (lambda h: (h, h)) if kind == "LSTM" else (lambda h: h)
    with pytest.raises(ValueError, match="2-D .* or 3-D"):
        layer(mg.zeros(1, 1, 1, 2))
    with pytest.raises(ValueError, match="input has 4 features .* input_size=2"):
        layer(mg.zeros(5, 1, 4))
    with pytest.raises(ValueError, match=r"Expected (hx|h_0) of size \(2, 1, 3\)"):
        layer(mg.zeros(5, 1, 2), state(mg.zeros(1, 1, 3)))
    with pytest.raises(ValueError, match=r"unbatched 2-D input, (hx|h_0) should be 2-D"):
        layer(mg.zeros(5, 2), state(mg.zeros(2, 1, 3)))
    for bad in (-0.1, 1.5, "0.5"):
        with pytest.raises(ValueError, match=r"dropout .* a number in \[0, 1\]"):
            getattr(nn, kind)(2, 3, dropout=bad)
    with pytest.raises(ValueError, match="num_layers must be an int of at least 1, got 0"):
        getattr(nn, kind)(2, 3, num_layers=0)


def test_lstm_refuses_a_bad_proj_size_and_rnn_an_unknown_nonlinearity():
    for proj_size, message in ((4, "smaller than hidden_size"), (-1, "positive integer or zero")):
        with pytest.raises(ValueError, match=message):
            torch.nn.LSTM(3, 4, proj_size=proj_size)
        with pytest.raises(ValueError, match=message):
            nn.LSTM(3, 4, proj_size=proj_size)
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="gelu")


def test_an_lstm_trains_as_torchs_with_sgd():
    """A few SGD steps on a 2-layer bidirectional LSTM followed by a Linear: the same loss and
    weights as torch's, step after step."""
    torch.manual_seed(0)
    t_lstm, t_head = torch.nn.LSTM(2, 3, 2, bidirectional=True, dtype=torch.float64), None
    t_head = torch.nn.Linear(6, 1, dtype=torch.float64)
    lstm, head = nn.LSTM(2, 3, 2, bidirectional=True, dtype=torch.float64), None
    head = nn.Linear(6, 1, dtype=torch.float64)
    lstm.load_state_dict(t_lstm.state_dict())
    head.load_state_dict(t_head.state_dict())
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 3, 2)), rng.normal(size=(3, 1))
    t_opt = torch.optim.SGD([*t_lstm.parameters(), *t_head.parameters()], lr=0.1)
    opt = mg.optim.SGD([*lstm.parameters(), *head.parameters()], lr=0.1)
    for _ in range(3):
        t_loss = ((t_head(t_lstm(torch.tensor(x))[0][-1]) - torch.tensor(y)) ** 2).mean()
        t_opt.zero_grad()
        t_loss.backward()
        t_opt.step()
        loss = ((head(lstm(mg.tensor(x))[0][-1]) - mg.tensor(y)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert_close(loss._data, t_loss, what="loss")
    for name, value in t_lstm.state_dict().items():
        assert_close(lstm.state_dict()[name], value, what=name)
