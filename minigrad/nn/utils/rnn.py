"""Batches of sequences of different lengths, as torch.nn.utils.rnn: padded, packed, and back.

A batch of sentences rarely has one length. Padding them to the longest gives a tensor
(T, B, *) (or (B, T, *) with batch_first) whose short sequences end in filler; a recurrent layer
would read the filler as input and carry it into its last state. Packing keeps only the real
steps, time step after time step, the longest sequences first:

    sequences  a = [a0 a1 a2], b = [b0], c = [c0 c1]      (lengths 3, 1, 2)
    sorted     a, c, b                                     sorted_indices = [0, 2, 1]
    data       [a0 c0 b0 | a1 c1 | a2]                     batch_sizes    = [3, 2, 1]

At step t only the first batch_sizes[t] sequences (in sorted order) are still running, so an
RNN reading `data` step by step just shrinks its batch (nn.RNN, nn.LSTM and nn.GRU take a
PackedSequence and return one). unsorted_indices undoes the sort: padding a PackedSequence
back gives the sequences in the order they came.

Packing and padding are index look-ups into the tensor they read (built from the lengths,
outside the graph), so gradients flow from the packed data back to the padded input and the
other way: each value goes back to the place it was read from, the filler gets none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import torch

from ...creation import cat
from ...tensor import Tensor

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpad_sequence",
    "pack_sequence",
    "unpack_sequence",
]


class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedFields):
    """A batch of sequences packed time step after time step (a named tuple, as torch's):

    - data (N, *): the steps of every sequence, step 0 of each (longest first), then step 1...
    - batch_sizes (T,): how many sequences are still running at each step; an int64 tensor on
      the CPU (loops read it), whatever data's device.
    - sorted_indices (B,): sorted position -> original position (None if they came sorted).
    - unsorted_indices (B,): original position -> sorted position, its inverse.

    Made by pack_padded_sequence or pack_sequence rather than by hand. unsorted_indices is
    computed from sorted_indices when left out; PackedSequence((data, batch_sizes)) works too.
    """

    def __new__(
        cls,
        data: Any,
        batch_sizes: Tensor | None = None,
        sorted_indices: Tensor | None = None,
        unsorted_indices: Tensor | None = None,
    ) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes), ...)
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError(
                    "PackedSequence: without batch_sizes, data must be a pair (data, batch_sizes)"
                )
            data, batch_sizes = data
        if batch_sizes.device.type != "cpu":
            raise ValueError(
                "PackedSequence: batch_sizes should always be on the CPU (it is read by loops). "
                "Make PackedSequences with pack_padded_sequence or pack_sequence rather than by "
                "hand."
            )
        fields = (data, batch_sizes, sorted_indices, unsorted_indices)
        return super().__new__(cls, *(_minigrad(field) for field in fields))

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """data converted as data.to(...) would be; the index tensors follow it to its device,
        batch_sizes stays on the CPU. self when nothing changes."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self

        def follow(indices: Tensor | None) -> Tensor | None:
            return None if indices is None else indices.to(data.device)

        return type(self)(
            data, self.batch_sizes, follow(self.sorted_indices), follow(self.unsorted_indices)
        )

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self, device: Any = None) -> PackedSequence:
        return self.to(device or "cuda")

    def double(self) -> PackedSequence:
        return self.to(torch.float64)

    def float(self) -> PackedSequence:
        return self.to(torch.float32)

    def half(self) -> PackedSequence:
        return self.to(torch.float16)

    def long(self) -> PackedSequence:
        return self.to(torch.int64)

    def int(self) -> PackedSequence:
        return self.to(torch.int32)

    def short(self) -> PackedSequence:
        return self.to(torch.int16)

    def char(self) -> PackedSequence:
        return self.to(torch.int8)

    def byte(self) -> PackedSequence:
        return self.to(torch.uint8)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation of 0..n-1: inverse[permutation[i]] = i (None for None)."""
    if permutation is None:
        return None
    raw = permutation._data if isinstance(permutation, Tensor) else permutation
    inverse = torch.empty_like(raw)
    inverse[raw] = torch.arange(raw.numel(), device=raw.device)
    return Tensor(inverse)


# ---- padded -> packed -------------------------------------------------------------------


def pack_padded_sequence(
    input: Tensor,
    lengths: Tensor | Sequence[int],
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """Pack a padded batch input (T, B, *) ((B, T, *) with batch_first) whose sequence b has
    lengths[b] real steps. With enforce_sorted, lengths must already decrease; otherwise the
    sequences are sorted by length first (sorted_indices records how). Steps past a length
    are left out, whatever they hold."""
    if input.dim() < 2:
        raise ValueError(
            f"pack_padded_sequence: input must have a time and a batch dim, (T, B, *) or "
            f"(B, T, *) with batch_first; got shape {tuple(input.shape)}"
        )
    time_major = input.transpose(0, 1) if batch_first else input
    lengths = _lengths(lengths, batch=time_major.shape[1], steps=time_major.shape[0])
    sorted_indices = None
    if enforce_sorted:
        if bool((lengths[1:] > lengths[:-1]).any()):
            raise RuntimeError(
                f"pack_padded_sequence: `lengths` {lengths.tolist()} must be sorted in "
                "decreasing order when `enforce_sorted` is True. Pass enforce_sorted=False to "
                "have them sorted (the PackedSequence remembers the order)."
            )
    else:
        lengths, order = torch.sort(lengths, descending=True)
        sorted_indices = order.to(input.device)
    # (step, sorted sequence) of every real step, step by step: the order of `data`
    running = torch.arange(int(lengths[0])).unsqueeze(1) < lengths.unsqueeze(0)
    batch_sizes = running.sum(1)
    steps, rows = (index.to(input.device) for index in running.nonzero(as_tuple=True))
    if sorted_indices is not None:
        rows = sorted_indices[rows]  # the sorted sequence's place in input
    data = time_major[steps, rows]
    return PackedSequence(data, Tensor(batch_sizes), _wrap(sorted_indices), None)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences, each (L_i, *): pad_sequence, then pack_padded_sequence."""
    lengths = [len(sequence) for sequence in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def _lengths(lengths: Any, batch: int, steps: int) -> torch.Tensor:
    """lengths (a list or a 1-d tensor on the CPU) as an int64 CPU tensor, checked."""
    if isinstance(lengths, Tensor):
        lengths = lengths._data
    if isinstance(lengths, torch.Tensor):
        if lengths.dim() != 1 or lengths.device.type != "cpu":
            raise RuntimeError(
                "pack_padded_sequence: 'lengths' argument should be a 1D CPU int64 tensor, but "
                f"got a {lengths.dim()}D tensor on {lengths.device} (lengths.cpu() moves it)"
            )
        lengths = lengths.to(torch.int64)
    else:
        lengths = torch.as_tensor(lengths, dtype=torch.int64)
    if len(lengths) != batch:
        raise RuntimeError(
            f"pack_padded_sequence: Expected `len(lengths)` to be equal to batch_size, but got "
            f"{len(lengths)} (batch_size={batch}): one length per sequence"
        )
    if batch == 0:
        raise RuntimeError("pack_padded_sequence: Cannot pack empty tensors (a batch of 0)")
    if bool((lengths <= 0).any()):
        raise RuntimeError(
            "pack_padded_sequence: Length of all samples has to be greater than 0, but found "
            f"an element in 'lengths' that is <= 0: {lengths.tolist()}. Leave empty sequences "
            "out of the batch."
        )
    if bool((lengths > steps).any()):
        raise RuntimeError(
            f"pack_padded_sequence: `lengths` {lengths.tolist()} has a length beyond the "
            f"input's {steps} time steps"
        )
    return lengths


def _wrap(indices: torch.Tensor | None) -> Tensor | None:
    return None if indices is None else Tensor(indices)


def _minigrad(field: Any) -> Any:
    """A PackedSequence's field as a minigrad Tensor (one given as a torch tensor is wrapped)."""
    return Tensor(field) if isinstance(field, torch.Tensor) else field


# ---- packed -> padded -------------------------------------------------------------------


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Undo pack_padded_sequence: (padded (T, B, *) or (B, T, *) with batch_first, lengths (B,)),
    the sequences in their original order, padding_value after each one's end. T is the
    longest length, or total_length if given (which must not be shorter)."""
    data = sequence.data
    batch_sizes = sequence.batch_sizes._data
    steps = len(batch_sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "pad_packed_sequence: Expected total_length to be at least the length of the "
                f"longest sequence in input, but got total_length={total_length} and max "
                f"sequence length being {steps}"
            )
        steps = total_length
    batch = int(batch_sizes[0])
    # sequence b (sorted order) runs for as many steps as have a batch larger than b
    lengths = (batch_sizes.unsqueeze(0) > torch.arange(batch).unsqueeze(1)).sum(1)
    running = torch.arange(steps).unsqueeze(1) < lengths.unsqueeze(0)  # (T, B)
    # where each (step, sequence) is read from: its row of data, or the padding row after them
    rows = torch.full((steps, batch), data.shape[0], dtype=torch.int64)
    rows[running] = torch.arange(data.shape[0])
    if sequence.unsorted_indices is not None:
        unsorted = sequence.unsorted_indices._data.cpu()
        rows, lengths = rows[:, unsorted], lengths[unsorted]
    if batch_first:
        rows = rows.T
    padding = data.new_full((1, *data.shape[1:]), padding_value)
    padded = cat([data, padding])[rows.to(data._data.device)]
    return padded, Tensor(lengths)


def pad_sequence(
    sequences: Tensor | Iterable[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack sequences of lengths L_i (each (L_i, *)) into one tensor (T, B, *) ((B, T, *)
    with batch_first), T the longest, the shorter ones filled with padding_value after their
    end (padding_side='right') or before their start ('left')."""
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    if not isinstance(sequences, Iterable):
        raise RuntimeError(
            "pad_sequence: Expected iterable for input sequences, but got arg of type: "
            f"{type(sequences).__name__}"
        )
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"pad_sequence: Expected padding_side to be one of left or right, but got "
            f"{padding_side}."
        )
    trailing = {tuple(s.shape[1:]) for s in sequences}
    if len(trailing) > 1 or sequences[0].dim() == 0:
        raise RuntimeError(
            "pad_sequence: every sequence must be (L_i, *) with the same trailing dims *; got "
            f"shapes {[tuple(s.shape) for s in sequences]}"
        )
    lengths = torch.tensor([s.shape[0] for s in sequences])
    steps = int(lengths.max())
    starts = torch.cumsum(lengths, 0) - lengths  # each sequence's first row in the cat
    offset = torch.arange(steps).unsqueeze(1)  # (T, 1): position in the padded output
    if padding_side == "left":
        offset = offset - (steps - lengths).unsqueeze(0)  # the sequence starts late
    real = (offset >= 0) & (offset < lengths.unsqueeze(0))  # (T, B)
    everything = cat(sequences)
    rows = torch.where(real, starts.unsqueeze(0) + offset, everything.shape[0])
    if batch_first:
        rows = rows.T
    padding = everything.new_full((1, *everything.shape[1:]), padding_value)
    return cat([everything, padding])[rows.to(everything._data.device)]


def unpad_sequence(
    padded_sequences: Tensor, lengths: Tensor | Sequence[int], batch_first: bool = False
) -> list[Tensor]:
    """Undo pad_sequence: the list of sequences, sequence b its first lengths[b] steps."""
    batch_major = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    raw = lengths._data if isinstance(lengths, Tensor) else torch.as_tensor(lengths)
    if raw.numel() != batch_major.shape[0]:
        raise ValueError(
            f"unpad_sequence: {raw.numel()} lengths for a batch of {batch_major.shape[0]} "
            "sequences: give one length per sequence"
        )
    # one slice per sequence, as torch's: the result is a list of tensors of different lengths
    return [batch_major[b, :length] for b, length in enumerate(raw.tolist())]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Undo pack_sequence: the list of sequences, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
