"""Recurrent layers, as torch's: the cells `RNNCell`, `LSTMCell`, `GRUCell` (one time step), and
`RNN`, `LSTM`, `GRU` (a whole sequence, stacked layers, either direction).

Each is written with minigrad's own ops (linear, sigmoid, tanh, chunk, stack, cat), so the
gradients, first and second order, come from theirs. A sequence is run one step at a time in a
Python loop, as the equations read: no fused kernels.

RNN, LSTM and GRU also take a PackedSequence (nn.utils.rnn): sequences of different lengths,
longest first, whose batch shrinks as the short ones end. A padded batch is read the same way,
its batch never shrinking: the input becomes rows (steps * batch, features), cut step by step.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch

from ..creation import DeviceLike, cat, stack, zeros
from ..errors import ShapeError, shape_str
from ..tensor import Tensor
from . import functional as F
from .modules import Module, _uniform
from .utils.rnn import PackedSequence

# ---- one time step, as equations ----------------------------------------------------------------


def _rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity: str) -> Tensor:
    pre = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    return pre.tanh() if nonlinearity == "tanh" else F.relu(pre)


def _lstm_step(x, state, w_ih, w_hh, b_ih, b_hh, w_hr=None) -> tuple[Tensor, Tensor]:
    h, c = state
    gates = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, dim=-1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c = f * c + i * g
    h = o * c.tanh()
    if w_hr is not None:  # LSTM's proj_size: h projected down to proj_size features
        h = F.linear(h, w_hr)
    return h, c


def _gru_step(x, h, w_ih, w_hh, b_ih, b_hh) -> Tensor:
    x_r, x_z, x_n = F.linear(x, w_ih, b_ih).chunk(3, dim=-1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, dim=-1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()  # r gates the hidden part only, bias b_hn included
    return (1 - z) * n + z * h


def _check_features(name: str, input: Tensor, input_size: int) -> None:
    if input.shape[-1] != input_size:
        raise ShapeError(
            f"{name}: input has {input.shape[-1]} features (its last dim), expected "
            f"input_size={input_size}; input shape {shape_str(input.shape)}"
        )


_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _check_sizes(input_size: Any, hidden_size: Any) -> None:
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} is a number of features, an int; got {value!r}")
    if hidden_size <= 0:
        raise ValueError(f"hidden_size must be at least 1 (the state's size), got {hidden_size}")


def _check_nonlinearity(nonlinearity: str) -> None:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"nonlinearity is 'tanh' or 'relu', got {nonlinearity!r}")


# ---- cells ----------------------------------------------------------------------------------


class RNNCellBase(Module):
    """What the three cells share: weight_ih (gates * hidden_size, input_size), weight_hh
    (gates * hidden_size, hidden_size), bias_ih and bias_hh (gates * hidden_size,), all drawn
    uniform in ±1/sqrt(hidden_size) in that order, as torch's (so a seed gives torch's values)."""

    _gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        _check_sizes(input_size, hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rows, bound = self._gates * hidden_size, 1 / math.sqrt(hidden_size)
        self.weight_ih = _uniform((rows, input_size), bound, dtype, device)
        self.weight_hh = _uniform((rows, hidden_size), bound, dtype, device)
        self.bias_ih = _uniform((rows,), bound, dtype, device) if bias else None
        self.bias_hh = _uniform((rows,), bound, dtype, device) if bias else None

    def _weights(self) -> tuple[Any, ...]:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def _batched(self, input: Tensor, hx: Tensor | None) -> tuple[Tensor, Tensor | None, bool]:
        """(input, hx) as (batch, features), and whether input came unbatched."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(
                f"{name}: input must be 1-D (input_size,) or 2-D (batch, input_size), got "
                f"{input.dim()}-D"
            )
        _check_features(name, input, self.input_size)
        unbatched = input.dim() == 1
        if hx is not None and hx.dim() != input.dim():
            raise ValueError(
                f"{name}: the hidden state must have as many dims as input ({input.dim()}-D), "
                f"got {hx.dim()}-D"
            )
        if unbatched:
            input = input.unsqueeze(0)
            hx = hx.unsqueeze(0) if hx is not None else None
        if hx is not None and tuple(hx.shape) != (input.shape[0], self.hidden_size):
            raise ShapeError(
                f"{name}: hidden state of shape {shape_str(hx.shape)} for an input of batch "
                f"{input.shape[0]}; expected (batch, hidden_size) = "
                f"{shape_str((input.shape[0], self.hidden_size))}"
            )
        return input, hx, unbatched

    def _zeros(self, input: Tensor) -> Tensor:
        return zeros(input.shape[0], self.hidden_size, dtype=input.dtype, device=input.device)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        if nonlinearity != "tanh":
            text += f", nonlinearity={nonlinearity}"
        return text


class RNNCell(RNNCellBase):
    """One step of an Elman RNN, as torch's nn.RNNCell:

        h' = tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)   (relu for nonlinearity='relu')

    input (batch, input_size) or (input_size,); hx likewise with hidden_size, zeros if left out.
    Returns h'.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        _check_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, unbatched = self._batched(input, hx)
        h = self._zeros(x) if h is None else h
        h = _rnn_step(x, h, *self._weights(), self.nonlinearity)
        return h.squeeze(0) if unbatched else h


class LSTMCell(RNNCellBase):
    """One step of an LSTM, as torch's nn.LSTMCell (gates in the order i, f, g, o):

        i = sigmoid(x @ W_ii.T + b_ii + h @ W_hi.T + b_hi)   input gate
        f = sigmoid(x @ W_if.T + b_if + h @ W_hf.T + b_hf)   forget gate
        g = tanh(x @ W_ig.T + b_ig + h @ W_hg.T + b_hg)      candidate cell
        o = sigmoid(x @ W_io.T + b_io + h @ W_ho.T + b_ho)   output gate
        c' = f * c + i * g
        h' = o * tanh(c')

    weight_ih is [W_ii; W_if; W_ig; W_io] stacked by rows (4 * hidden_size, input_size), and so
    on. hx is a pair (h, c), zeros if left out. Returns (h', c').
    """

    _gates = 4

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(
        self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor, Tensor]:
        if hx is None:
            x, _, unbatched = self._batched(input, None)
            h = c = self._zeros(x)
        else:
            x, h, unbatched = self._batched(input, hx[0])
            _, c, _ = self._batched(input, hx[1])
        h, c = _lstm_step(x, (h, c), *self._weights())
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    """One step of a GRU, as torch's nn.GRUCell (gates in the order r, z, n):

        r = sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)   reset gate
        z = sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)   update gate
        n = tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
        h' = (1 - z) * n + z * h

    Returns h'.
    """

    _gates = 3

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, h, unbatched = self._batched(input, hx)
        h = self._zeros(x) if h is None else h
        h = _gru_step(x, h, *self._weights())
        return h.squeeze(0) if unbatched else h


# ---- whole sequences ------------------------------------------------------------------------


class _Input(NamedTuple):
    """A layer's input read as rows: data (steps of every sequence, features), time step after
    time step; batch_sizes[t] rows for step t. packed is the PackedSequence it came as (None
    for a padded tensor, whose batch_sizes are all equal)."""

    data: Tensor
    batch_sizes: list[int]
    packed: PackedSequence | None
    unbatched: bool


def _rows(state: Any, start: int, stop: int) -> Any:
    """Sequences start..stop-1 of a state (a tensor, or an LSTM's pair (h, c))."""
    if start == 0 and stop == _batch(state):
        return state
    return tuple(s[start:stop] for s in state) if isinstance(state, tuple) else state[start:stop]


def _join(parts: list[Any]) -> Any:
    """The states of consecutive groups of sequences as one state, group after group."""
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], tuple):
        return tuple(cat(list(group)) for group in zip(*parts))
    return cat(parts)


def _batch(state: Any) -> int:
    return (state[0] if isinstance(state, tuple) else state).shape[0]


class RNNBase(Module):
    """What RNN, LSTM and GRU share: num_layers stacked layers, each one or two directions. Layer
    k's parameters are weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} (and the same
    with _reverse for the backward direction), as torch names them; layer 0 takes input_size
    features, the others num_directions * hidden_size (the outputs of the layer below). An LSTM
    with proj_size > 0 has weight_hr_l{k} too, and its outputs have proj_size features."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        _check_sizes(input_size, hidden_size)
        if (
            not isinstance(dropout, numbers.Number)
            or isinstance(dropout, bool)
            or not 0 <= dropout <= 1
        ):
            raise ValueError(
                "dropout is the probability of zeroing each output of a layer but the last: "
                f"a number in [0, 1], got {dropout!r}"
            )
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"num_layers must be an int of at least 1, got {num_layers!r}")
        _check_proj_size(proj_size, hidden_size)
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"dropout={dropout} with num_layers=1 does nothing: dropout is applied to the "
                "outputs of every layer but the last, so it needs num_layers > 1",
                UserWarning,
                stacklevel=3,
            )
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        directions = 2 if bidirectional else 1
        rows, bound = _GATES[mode] * hidden_size, 1 / math.sqrt(hidden_size)
        output_size = proj_size or hidden_size  # the features of h: what the next layer reads
        # Set in torch's order (layer, direction, then w_ih, w_hh, b_ih, b_hh, w_hr), each drawn
        # as it is set: a seed gives torch's values.
        for layer in range(num_layers):
            features = input_size if layer == 0 else directions * output_size
            for suffix in ("", "_reverse")[:directions]:
                names = self._names(layer, suffix)
                setattr(self, names[0], _uniform((rows, features), bound, dtype, device))
                setattr(self, names[1], _uniform((rows, output_size), bound, dtype, device))
                if bias:
                    setattr(self, names[2], _uniform((rows,), bound, dtype, device))
                    setattr(self, names[3], _uniform((rows,), bound, dtype, device))
                if proj_size:
                    shape = (proj_size, hidden_size)
                    setattr(self, names[4], _uniform(shape, bound, dtype, device))

    def _names(self, layer: int, suffix: str) -> tuple[str, ...]:
        kinds = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
        if self.proj_size:
            kinds.append("weight_hr")
        return tuple(f"{kind}_l{layer}{suffix}" for kind in kinds)

    def _weights(self, layer: int, suffix: str) -> tuple[Any, ...]:
        return tuple(getattr(self, name, None) for name in self._names(layer, suffix))

    def _step(self, x: Tensor, state: Any, weights: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    def _output(self, state: Any) -> Tensor:
        return state  # an RNN's or a GRU's state is its output; an LSTM's is the pair (h, c)

    def _run(self, data: Tensor, batch_sizes: list[int], states: list[Any]) -> tuple[Tensor, list]:
        """data (rows, features): the steps of every sequence, batch_sizes[t] rows for step t;
        states[k] is the initial state of layer k // directions, direction k % directions.
        Returns (the last layer's outputs as rows, in the same order; the final states)."""
        directions = 2 if self.bidirectional else 1
        finals = []
        for layer in range(self.num_layers):
            if layer > 0:  # between layers only, and only in training
                data = F.dropout(data, self.dropout, self.training)
            steps = data.split(batch_sizes)
            outputs = []
            for direction, suffix in enumerate(("", "_reverse")[:directions]):
                weights = self._weights(layer, suffix)
                state = states[layer * directions + direction]
                read = self._forwards if direction == 0 else self._backwards
                out, final = read(steps, state, weights)
                outputs.append(cat(out))
                finals.append(final)
            data = outputs[0] if directions == 1 else cat(outputs, dim=1)
        return data, finals

    def _forwards(self, steps: Sequence[Tensor], state: Any, weights: tuple) -> tuple[list, Any]:
        """Read steps 0, 1, ...: when the batch shrinks, the sequences that have ended (the last
        rows: the shortest sequences come last) put their state aside, their final one."""
        outputs, ended = [], []
        for x in steps:
            running = x.shape[0]
            if running < _batch(state):
                ended.append(_rows(state, running, _batch(state)))
                state = _rows(state, 0, running)
            state = self._step(x, state, weights)
            outputs.append(self._output(state))
        return outputs, _join([state, *reversed(ended)])

    def _backwards(self, steps: Sequence[Tensor], initial: Any, weights: tuple) -> tuple[list, Any]:
        """Read steps T-1, ..., 0: when the batch grows, the sequences that join (their last
        step comes) start from their initial state. Every sequence ends at step 0."""
        outputs: list[Any] = [None] * len(steps)
        state = None
        for t in reversed(range(len(steps))):
            x = steps[t]
            done = 0 if state is None else _batch(state)
            if x.shape[0] > done:
                joining = _rows(initial, done, x.shape[0])
                state = joining if state is None else _join([state, joining])
            state = self._step(x, state, weights)
            outputs[t] = self._output(state)
        return outputs, state

    def _read(self, input: Tensor | PackedSequence) -> _Input:
        """Checks input: a PackedSequence, or a padded tensor (seq, batch, features) ((batch, seq,
        features) with batch_first, (seq, features) unbatched), which is read as rows."""
        name = type(self).__name__
        if isinstance(input, PackedSequence):
            if input.data.dim() != 2:
                raise ValueError(
                    f"{name}: a PackedSequence's data must be 2-D (rows, input_size), got "
                    f"{input.data.dim()}-D"
                )
            _check_features(name, input.data, self.input_size)
            sizes = input.batch_sizes._data.tolist()  # on the CPU: no device round trip
            return _Input(input.data, sizes, input, False)
        if not isinstance(input, Tensor):
            raise TypeError(
                f"{name}: input must be a minigrad Tensor or an nn.utils.rnn.PackedSequence, "
                f"got {type(input).__name__}"
            )
        if input.dim() not in (2, 3):
            raise ValueError(
                f"{name}: input must be 2-D (seq, input_size) or 3-D (seq, batch, input_size) "
                f"or (batch, seq, input_size) with batch_first, got {input.dim()}-D"
            )
        _check_features(name, input, self.input_size)
        unbatched = input.dim() == 2
        if unbatched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        steps, batch = input.shape[0], input.shape[1]
        return _Input(input.reshape(steps * batch, -1), [batch] * steps, None, unbatched)

    def _initial(self, hx: Tensor | None, input: _Input, size: int, what: str) -> Tensor:
        """A checked initial state h0 or c0 (size features), as (num_layers * num_directions,
        batch, size) with the sequences in the order of input's rows; zeros if hx is None."""
        name = type(self).__name__
        layers = self.num_layers * (2 if self.bidirectional else 1)
        batch = input.batch_sizes[0] if input.batch_sizes else 0
        data = input.data
        if hx is None:
            return zeros(layers, batch, size, dtype=data.dtype, device=data.device)
        unbatched = input.unbatched
        if hx.dim() != (2 if unbatched else 3):
            kind = "unbatched 2-D" if unbatched else "batched 3-D"
            if input.packed is not None:
                kind = "packed"
            raise ValueError(
                f"{name}: for {kind} input, {what} should be {2 if unbatched else 3}-D but got "
                f"{hx.dim()}-D"
            )
        if unbatched:
            hx = hx.unsqueeze(1)
        expected = (layers, batch, size)
        if tuple(hx.shape) != expected:
            shown = expected if not unbatched else (layers, size)
            got = hx.shape if not unbatched else (hx.shape[0], hx.shape[2])
            features = "hidden_size" if size == self.hidden_size else "proj_size"
            raise ShapeError(
                f"{name}: Expected {what} of size {shape_str(shown)} "
                f"(num_layers * num_directions, batch, {features}), got {shape_str(got)}"
            )
        if input.packed is not None and input.packed.sorted_indices is not None:
            hx = hx.index_select(1, input.packed.sorted_indices)  # the sequences, sorted
        return hx

    def _output_of(self, data: Tensor, input: _Input) -> Tensor | PackedSequence:
        """The last layer's output rows in the form the input came: packed, or padded."""
        if input.packed is not None:
            packed = input.packed
            return PackedSequence(
                data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
            )
        output = data.reshape(len(input.batch_sizes), input.batch_sizes[0], -1)
        if input.unbatched:
            return output.squeeze(1)
        return output.transpose(0, 1) if self.batch_first else output

    def _final(self, finals: list[Tensor], input: _Input) -> Tensor:
        """The final states stacked (num_layers * num_directions, batch, features), the
        sequences in the order they came."""
        state = stack(finals)
        if input.packed is not None and input.packed.unsorted_indices is not None:
            state = state.index_select(1, input.packed.unsorted_indices)
        return state.squeeze(1) if input.unbatched else state

    # RNN's and GRU's forward (an LSTM's state is a pair: LSTM has its own)
    def forward(
        self, input: Tensor | PackedSequence, hx: Tensor | None = None
    ) -> tuple[Tensor | PackedSequence, Tensor]:
        rows = self._read(input)
        h0 = self._initial(hx, rows, self.hidden_size, "hx")
        output, finals = self._run(rows.data, rows.batch_sizes, list(h0.unbind(0)))
        return self._output_of(output, rows), self._final(finals, rows)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text


def _check_proj_size(proj_size: Any, hidden_size: int) -> None:
    if not isinstance(proj_size, int) or isinstance(proj_size, bool) or proj_size < 0:
        raise ValueError(
            "proj_size should be a positive integer or zero to disable projections, got "
            f"{proj_size!r}"
        )
    if proj_size >= hidden_size:
        raise ValueError(
            f"proj_size has to be smaller than hidden_size: got proj_size={proj_size}, "
            f"hidden_size={hidden_size} (the projection maps h's hidden_size features down to "
            "proj_size)"
        )


class RNN(RNNBase):
    """An Elman RNN over a sequence, as torch's nn.RNN: each layer runs RNNCell's step

        h_t = tanh(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh)   (or relu)

    over t, the outputs h_t of one layer (dropout applied in training) being the inputs x_t of
    the next. input (seq, batch, input_size), (batch, seq, input_size) with batch_first,
    (seq, input_size) unbatched, or a PackedSequence; h0 (num_layers * num_directions, batch,
    hidden_size), zeros if left out. Returns (output: the last layer's h_t for every t, both
    directions side by side, a PackedSequence for a packed input; h_n: every layer's and
    direction's last state, each sequence's own last step for a packed input).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        _check_nonlinearity(nonlinearity)
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, 0, device, dtype,
        )  # fmt: skip
        self.nonlinearity = nonlinearity

    def _step(self, x: Tensor, h: Tensor, weights: tuple[Any, ...]) -> Tensor:
        return _rnn_step(x, h, *weights, self.nonlinearity)


class GRU(RNNBase):
    """A GRU over a sequence, as torch's nn.GRU: each layer runs GRUCell's step (see GRUCell for
    the equations) over t; otherwise as RNN. Returns (output, h_n)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            "GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, 0, device, dtype,
        )  # fmt: skip

    def _step(self, x: Tensor, h: Tensor, weights: tuple[Any, ...]) -> Tensor:
        return _gru_step(x, h, *weights)


class LSTM(RNNBase):
    """An LSTM over a sequence, as torch's nn.LSTM: each layer runs LSTMCell's step (see
    LSTMCell for the equations) over t; the outputs h_t of one layer are the inputs of the next.
    hx is a pair (h0, c0), each (num_layers * num_directions, batch, hidden_size), zeros if left
    out. Returns (output, (h_n, c_n)); input as RNN's, a PackedSequence included.

    With proj_size > 0, h is projected down after each step, h_t = W_hr @ (o_t * tanh(c_t)),
    W_hr = weight_hr_l{k} (proj_size, hidden_size): h0, h_n, the outputs and weight_hh have
    proj_size features where they had hidden_size; c keeps hidden_size.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            "LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, proj_size, device, dtype,
        )  # fmt: skip

    def _step(self, x: Tensor, state: Any, weights: tuple[Any, ...]) -> tuple[Tensor, Tensor]:
        return _lstm_step(x, state, *weights)

    def _output(self, state: Any) -> Tensor:
        return state[0]

    def forward(
        self, input: Tensor | PackedSequence, hx: tuple[Tensor, Tensor] | None = None
    ) -> tuple[Tensor | PackedSequence, tuple[Tensor, Tensor]]:
        rows = self._read(input)
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError("LSTM: hx must be a pair (h_0, c_0) of tensors")
        h0, c0 = (None, None) if hx is None else hx
        h0 = self._initial(h0, rows, self.proj_size or self.hidden_size, "h_0")
        c0 = self._initial(c0, rows, self.hidden_size, "c_0")
        output, finals = self._run(
            rows.data, rows.batch_sizes, list(zip(h0.unbind(0), c0.unbind(0)))
        )
        h_n, c_n = (
            self._final([h for h, _ in finals], rows),
            self._final([c for _, c in finals], rows),
        )
        return self._output_of(output, rows), (h_n, c_n)
