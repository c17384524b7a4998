"""Feeding a model mini-batches: datasets, samplers, `DataLoader`, and fastai's `DataLoaders`.

A sampler decides the order of the samples (in turn, shuffled, or a shuffled subset); the
`DataLoader` cuts that order into batches and builds each batch on the chosen device:

    dset = list(zip(train_x, train_y))           # fastbook's way: a list of (x, y) pairs
    dl = DataLoader(dset, batch_size=256, shuffle=True)
    xb, yb = next(iter(dl))                       # xb: (256, 784), yb: (256, 1)

A list of pairs costs one Python lookup per sample and one `torch.stack` per field per batch.
A `TensorDataset` is the fast path: its tensors move to the device once, and each batch is one
indexing op per tensor. Batches are minigrad Tensors; as in torch, a batch of tensors that
require grad keeps their graph (the gradient flows back to the dataset's tensors).

Shuffling draws from torch's global generator, so `minigrad.manual_seed(n)` repeats a run.
"""

from __future__ import annotations

import copy
import itertools
import math
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any

import numpy as np
import torch

from ..autograd.grad_mode import is_grad_enabled
from ..autograd.inplace import any_base_changed
from ..creation import stack
from ..devices import as_device, default_device
from ..errors import shape_str
from ..tensor import Tensor, unwrap

DeviceLike = str | torch.device | None


# ---- datasets --------------------------------------------------------------------------------


class TensorDataset:
    """Samples are rows: sample i is `(t[i] for t in tensors)`, as in torch.

    `TensorDataset(train_x, train_y)` with train_x (N, 784) and train_y (N, 1) holds N pairs.
    It keeps the tensors themselves (`ds.tensors[0] is train_x`), so a sample of a tensor that
    requires grad is part of its graph, as in torch.
    """

    def __init__(self, *tensors: Tensor | torch.Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor, e.g. TensorDataset(x, y)")
        raw = [unwrap(t) for t in tensors]
        for t in raw:
            if not isinstance(t, torch.Tensor) or t.ndim == 0:
                raise TypeError(
                    "TensorDataset takes tensors with a first dim (one row per sample), got "
                    f"{type(t).__name__} of shape {tuple(getattr(t, 'shape', ()))}"
                )
        lengths = [len(t) for t in raw]
        if len(set(lengths)) > 1:
            shapes = ", ".join(shape_str(t.shape) for t in raw)
            raise ValueError(
                f"TensorDataset needs tensors of the same length (first dim: one row per "
                f"sample), got lengths {', '.join(map(str, lengths))} (shapes {shapes})."
            )
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __repr__(self) -> str:
        shapes = ", ".join(shape_str(t.shape) for t in self.tensors)
        return f"TensorDataset({shapes})"


class Subset:
    """The samples of `dataset` at `indices`, in that order: sample i is dataset[indices[i]].

    A view, not a copy: `subset.dataset` and `subset.indices` are what was given. A list of
    positions, `subset[[0, 2]]`, indexes the dataset once with the list of their indices, as
    torch's Subset does (a TensorDataset gives a batch; a plain list cannot be indexed so).
    """

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)

    def __repr__(self) -> str:
        return f"Subset({len(self)} samples of a {type(self.dataset).__name__})"


def random_split(
    dataset: Any,
    lengths: Sequence[int | float],
    generator: torch.Generator | None = torch.default_generator,
) -> list[Subset]:
    """Split `dataset` at random into non-overlapping `Subset`s of the given lengths, as torch:

        train_ds, valid_ds = random_split(dset, [0.8, 0.2], generator=Generator().manual_seed(42))

    lengths: how many samples in each part (summing to len(dataset)), or fractions summing to 1.
    Fractions become floor(fraction * len(dataset)) each, then the samples left over go one by one
    to the first part, the second, ... round-robin; a part left with none is warned about.

    The parts are consecutive slices of one `randperm(len(dataset), generator=generator)`, drawn as
    torch draws it, so a seed gives torch's split (the default draws from the global generator
    that `minigrad.manual_seed` seeds).
    """
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:  # fractions
        counts = []
        for i, fraction in enumerate(lengths):
            if fraction < 0 or fraction > 1:
                raise ValueError(
                    f"Fraction at index {i} is not between 0 and 1 (it is {fraction}): "
                    "fractions of the dataset are in [0, 1] and sum to 1, e.g. [0.8, 0.2]."
                )
            counts.append(math.floor(n * fraction))
        for i in range(n - sum(counts)):  # the samples left over, one per part in turn
            counts[i % len(counts)] += 1
        lengths = counts
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=2,
                )
    for i, length in enumerate(lengths):
        if length < 0:
            raise ValueError(
                f"Length of split at index {i} is {length}: a part holds zero or more samples."
            )
    if sum(lengths) != n:
        raise ValueError(
            f"Sum of input lengths does not equal the length of the input dataset! The lengths "
            f"{list(lengths)} sum to {sum(lengths)}, but the dataset has {n} samples: give "
            f"lengths that sum to {n}, or fractions that sum to 1 (e.g. [0.8, 0.2])."
        )
    indices = torch.randperm(sum(lengths), generator=generator).tolist()
    return [
        Subset(dataset, indices[end - length : end])
        for end, length in zip(itertools.accumulate(lengths), lengths)
    ]


# ---- samplers: which samples, in which order ---------------------------------------------------


class Sampler:
    """An order of sample indices for one epoch. `order()` gives it as an int64 tensor (the
    DataLoader's fast path); iterating gives Python ints, as torch's samplers do."""

    def order(self) -> torch.Tensor:
        raise NotImplementedError

    def __iter__(self) -> Iterator[int]:
        return iter(self.order().tolist())

    def __len__(self) -> int:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, 2, ..., n-1: the validation set's order."""

    def __init__(self, data_source: Sequence[Any]) -> None:
        self.data_source = data_source

    def order(self) -> torch.Tensor:
        return torch.arange(len(self.data_source))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Every sample once, in a new random order each epoch."""

    def __init__(self, data_source: Sequence[Any], generator: torch.Generator | None = None):
        self.data_source = data_source
        self.generator = generator

    def order(self) -> torch.Tensor:
        n, generator = len(self.data_source), self.generator
        if generator is None:  # as torch: a generator of its own, seeded from the global one
            seed = int(torch.empty((), dtype=torch.int64).random_().item())
            return torch.randperm(n, generator=torch.Generator().manual_seed(seed))
        order = torch.randperm(n, generator=generator)
        # torch's sampler draws one more permutation as the epoch ends and keeps none of it;
        # drawn here too, so that the generator you gave goes on as torch's does
        torch.randperm(n, generator=generator)
        return order

    def __len__(self) -> int:
        return len(self.data_source)


class SubsetRandomSampler(Sampler):
    """Only the given indices, in a new random order each epoch (e.g. a train/valid split)."""

    def __init__(self, indices: Sequence[int], generator: torch.Generator | None = None):
        self.indices = torch.as_tensor(unwrap(indices), dtype=torch.int64).reshape(-1).cpu()
        self.generator = generator

    def order(self) -> torch.Tensor:
        return self.indices[torch.randperm(len(self.indices), generator=self.generator)]

    def __len__(self) -> int:
        return len(self.indices)


def _epoch_order(sampler: Any) -> torch.Tensor:
    """The sampler's order as an int64 tensor; any iterable of ints works as a sampler."""
    if isinstance(sampler, Sampler):
        return sampler.order()
    return torch.as_tensor(list(sampler), dtype=torch.int64)


# ---- putting a batch together --------------------------------------------------------------------

_STRING_DTYPES = "SaUO"  # NumPy dtype kinds of text and Python objects: nothing to stack
_WHAT_COLLATE_TAKES = (
    "collate (like torch's default_collate) batches tensors, NumPy arrays, numbers, strings, and "
    "dicts, tuples and lists of them"
)


def collate(samples: list[Any]) -> Any:
    """Turn a list of samples into one batch by torch's `default_collate` rules.

    The first sample's type decides, recursively:

    - a Tensor (minigrad or torch): the samples are stacked along a new first dim;
    - a NumPy array: stacked, keeping its dtype; a NumPy number: a tensor of its dtype;
    - a Python int: an int64 tensor (bools: a bool tensor); a float: a float64 tensor;
    - a str or bytes: kept as they are (the list or tuple of them);
    - a dict: a dict with the same keys, each collated over the samples;
    - a tuple or list: collated field by field into a list (a namedtuple stays one), so
      `(x, y)` samples give `[xb, yb]`. Every sample must have as many fields.

    Anything else (None, an object of your own) is a TypeError saying where it was and what to do.
    Returns torch tensors; the DataLoader turns them into minigrad Tensors on its device. Where
    the samples are minigrad Tensors that require grad (and grad is on), the batch is minigrad's
    `stack` of them instead, a Tensor in their graph: torch's stack keeps the graph too.
    """
    return _collate(samples, "")


def _collate(samples: Sequence[Any], where: str) -> Any:
    """collate, for the part of each sample at `where` (e.g. "[1]['label']"; "" for all)."""
    first = samples[0]
    if isinstance(first, np.ndarray) and first.dtype.kind in _STRING_DTYPES:
        raise _unbatchable(first, where, f"a NumPy array of dtype {first.dtype}")
    try:
        if isinstance(first, Tensor):
            # One pass, reading slots: a batch's samples lie all over memory, a cache miss
            # each, and asking each one's requires_grad property cost fastbook's epoch a tenth.
            data, needs_grad, views = [], False, []
            for sample in samples:
                data.append(sample._data)
                needs_grad = needs_grad or sample._requires_grad
                if sample._view is not None:
                    views.append(sample._view)
            if is_grad_enabled() and (needs_grad or any_base_changed(views)):
                return stack(samples)  # in their graph (a view catches up with its base first)
            return torch.stack(data)
        if isinstance(first, torch.Tensor):
            return torch.stack(samples)
        if isinstance(first, np.ndarray):
            return torch.stack([torch.as_tensor(sample) for sample in samples])
        if isinstance(first, (np.bool_, np.number)):
            return torch.as_tensor(samples)  # the NumPy dtype decides, as in torch
        if isinstance(first, float):
            return torch.tensor(samples, dtype=torch.float64)
        if isinstance(first, int):  # bool too: torch.tensor makes int64, or bool for bools
            return torch.tensor(samples)
    except (TypeError, RuntimeError, AttributeError, ValueError) as error:
        raise _mismatch(samples, where, error) from error
    if isinstance(first, (str, bytes)):
        return samples  # as they came: a field of tuples gives a tuple, as in torch
    if isinstance(first, Mapping):
        return _collate_mapping(samples, where)
    if isinstance(first, Sequence):
        return _collate_sequence(samples, where)
    raise _unbatchable(first, where, type(first).__name__)


def _collate_mapping(samples: list[Any], where: str) -> Any:
    first = samples[0]
    for i, sample in enumerate(samples):
        if not isinstance(sample, Mapping) or sample.keys() != first.keys():
            keys = sorted(sample.keys(), key=str) if isinstance(sample, Mapping) else sample
            raise RuntimeError(
                f"collate: sample 0{where} has the keys {sorted(first.keys(), key=str)} but "
                f"sample {i}{where} is {keys!r}: every sample must have the same keys."
            )
    batch = {key: _collate([s[key] for s in samples], f"{where}[{key!r}]") for key in first}
    if isinstance(first, MutableMapping):  # keep the sample's mapping type, as torch does
        clone = copy.copy(first)
        clone.update(batch)
        return clone
    return batch


def _collate_sequence(samples: list[Any], where: str) -> Any:
    first = samples[0]
    if len(set(map(type, samples))) == 1 and len(set(map(len, samples))) == 1:
        return _collate_fields(samples, where)  # the usual case, checked in two passes in C
    for i, sample in enumerate(samples):
        if not isinstance(sample, Sequence) or len(sample) != len(first):
            what = f"has {len(sample)} fields" if isinstance(sample, Sequence) else f"is {sample!r}"
            raise RuntimeError(
                f"collate: sample 0{where} has {len(first)} fields but sample {i}{where} {what}: "
                "every sample must have as many fields, since field k of the batch stacks "
                "field k of every sample."
            )
    return _collate_fields(samples, where)


def _collate_fields(samples: list[Any], where: str) -> Any:
    first = samples[0]
    fields = [_collate(field, f"{where}[{k}]") for k, field in enumerate(zip(*samples))]
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple keeps its type
        return type(first)(*fields)
    return fields  # tuples and lists both become lists, as in torch


def _unbatchable(value: Any, where: str, what: str) -> TypeError:
    inside = f" at sample{where}" if where else " as a sample"
    return TypeError(
        f"collate cannot batch {what} (found{inside}, e.g. {_short(value)}): {_WHAT_COLLATE_TAKES}."
        " Make the dataset return one of those (a tensor or a number, not None), or pass "
        "DataLoader(..., collate_fn=your_function) to build the batch yourself."
    )


def _mismatch(samples: list[Any], where: str, error: Exception) -> Exception:
    """A clear error for samples that cannot go into one tensor: another type, or another shape."""
    first = samples[0]
    for i, sample in enumerate(samples):
        if type(sample) is not type(first) and not _both_numbers(first, sample):
            return TypeError(
                f"collate: sample 0{where} is {_kind(first)} but sample {i}{where} is "
                f"{_kind(sample)}: a batch puts the same field of every sample into one tensor, "
                "so every sample must have it of the same kind (no None among numbers)."
            )
        shape, first_shape = getattr(sample, "shape", None), getattr(first, "shape", None)
        if shape is not None and tuple(shape) != tuple(first_shape):
            return RuntimeError(
                f"collate: sample 0{where} has shape {shape_str(first_shape)} but sample "
                f"{i}{where} has shape {shape_str(shape)}: stacking needs one shape. Resize or "
                "pad them in the dataset, or pass DataLoader(..., collate_fn=your_function)."
            )
    return error


def _both_numbers(a: Any, b: Any) -> bool:
    number = (int, float, np.number, np.bool_)
    return isinstance(a, number) and isinstance(b, number)


def _kind(value: Any) -> str:
    """None, an int, a Tensor of shape (2, 3)..."""
    if value is None:
        return "None"
    name = type(value).__name__
    shape = getattr(value, "shape", None)
    of_shape = f" of shape {shape_str(shape)}" if shape is not None else ""
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}{of_shape}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


default_collate = collate  # torch's name for it (torch.utils.data.default_collate)


def _wrap(batch: Any, device: torch.device) -> Any:
    """torch tensors (nested in lists, tuples and dicts) -> minigrad Tensors on `device`; a
    minigrad Tensor (a batch in a graph) moves there by minigrad's op, keeping the graph."""
    if isinstance(batch, torch.Tensor):
        return Tensor(batch.to(device))
    if isinstance(batch, Tensor):
        return batch.to(device)
    if isinstance(batch, list):
        return [_wrap(b, device) for b in batch]
    if isinstance(batch, tuple):
        wrapped = [_wrap(b, device) for b in batch]
        return type(batch)(*wrapped) if hasattr(batch, "_fields") else tuple(wrapped)
    if isinstance(batch, dict):
        clone = copy.copy(batch)  # the same kind of dict, as collate made it
        clone.update({key: _wrap(value, device) for key, value in batch.items()})
        return clone
    return batch


# ---- the loader -------------------------------------------------------------------------------


class DataLoader:
    """Batches of `batch_size` samples from `dataset`, as torch's DataLoader.

    dataset: a `TensorDataset` or tensor (fast path), or anything with `len()` and `[i]` (a list
        of (x, y) pairs, a range, a string).
    shuffle: a new random order every epoch (for training). sampler: choose the order yourself
        (e.g. `SubsetRandomSampler(train_indices)`); not together with shuffle.
    drop_last: skip the last, smaller batch.
    device: where batches go (default `minigrad.default_device()`).
    collate_fn: turns a list of samples into a batch (default `collate`, torch's rules); its
        tensors are moved to `device` as minigrad Tensors.
    generator: the random numbers for shuffle (default: the global generator, which
        `minigrad.manual_seed` seeds). A seed gives torch's order, and torch's numbers after it.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        sampler: Any = None,
        drop_last: bool = False,
        device: DeviceLike = None,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if sampler is not None and shuffle:
            raise ValueError(
                "DataLoader got both a sampler and shuffle=True: the sampler already decides the "
                "order. Pass shuffle=False (or leave it out), or drop the sampler."
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.device = default_device() if device is None else as_device(device)
        self.generator = generator
        if sampler is None:
            sampler = RandomSampler(dataset, generator) if shuffle else SequentialSampler(dataset)
        self.sampler = sampler
        self.collate_fn = collate if collate_fn is None else collate_fn
        # Fast path: the dataset's tensors, and their data moved to the device once (no copy if
        # already there).
        self._sources: tuple[Tensor, ...] | None = None
        self._tensors: tuple[torch.Tensor, ...] | None = None
        self._rows: torch.Tensor | None = None  # for a Subset: sample i is row _rows[i]
        if collate_fn is not None:
            pass  # the user's collate_fn sees every sample
        elif isinstance(dataset, TensorDataset):
            self._sources = dataset.tensors
        elif isinstance(dataset, (Tensor, torch.Tensor)):
            self._sources = (dataset if isinstance(dataset, Tensor) else Tensor(dataset),)
        elif isinstance(dataset, Subset) and isinstance(dataset.dataset, TensorDataset):
            # a split of a TensorDataset: all of its tensors, and which of their rows are the split
            self._sources = dataset.dataset.tensors
            self._rows = torch.as_tensor(unwrap(dataset.indices), dtype=torch.int64).to(self.device)
        if self._sources is not None:
            self._tensors = tuple(t._data.to(self.device) for t in self._sources)

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        # torch draws a seed for its worker processes as each epoch starts, from `generator` or
        # the global generator. minigrad has no workers but draws it too, so that the random
        # numbers after an epoch (dropout's masks, the next shuffle) are torch's for a seed.
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        return self._batches()

    def _batches(self) -> Iterator[Any]:
        if self._tensors is not None:
            order = _epoch_order(self.sampler)
        elif isinstance(self.sampler, Sampler):
            order = self.sampler.order().tolist()  # Python ints, to index the dataset with
        else:
            order = list(self.sampler)  # the indices as they come, as torch's DataLoader
        if self.drop_last:
            order = order[: len(order) - len(order) % self.batch_size]
        if len(order) == 0:  # split() would give one empty batch
            return
        if self._tensors is not None:
            order = order.to(self.device)
            yield from self._tensor_batches(order if self._rows is None else self._rows[order])
        else:
            for start in range(0, len(order), self.batch_size):
                samples = [self.dataset[i] for i in order[start : start + self.batch_size]]
                yield _wrap(self.collate_fn(samples), self.device)

    def _tensor_batches(self, order: torch.Tensor) -> Iterator[Any]:
        """One indexing op per stored tensor per batch, all on the device. A dataset tensor
        that requires grad is indexed and moved by minigrad's ops instead, so that its batches
        keep the graph, as torch's do: the gradient flows back to the dataset's tensor."""
        single = isinstance(self.dataset, (Tensor, torch.Tensor))
        for indices in order.split(self.batch_size):
            batch = [  # a list, as collate makes
                source[indices.to(source.device)].to(self.device)
                if source.requires_grad and is_grad_enabled()
                else Tensor(moved[indices])
                for source, moved in zip(self._sources, self._tensors)
            ]
            yield batch[0] if single else batch

    def __repr__(self) -> str:
        return (
            f"DataLoader({len(self.sampler)} samples, batch_size={self.batch_size}, "
            f"{len(self)} batches, sampler={type(self.sampler).__name__}, device={self.device})"
        )


class DataLoaders:
    """fastai's pair of loaders: `dls.train` (dls[0]) and `dls.valid` (dls[1])."""

    def __init__(self, *loaders: DataLoader) -> None:
        if len(loaders) < 2:
            raise ValueError(
                f"DataLoaders takes a training and a validation loader, "
                f"DataLoaders(train_dl, valid_dl); got {len(loaders)}"
            )
        self.loaders = list(loaders)

    @property
    def train(self) -> DataLoader:
        return self.loaders[0]

    @property
    def valid(self) -> DataLoader:
        return self.loaders[1]

    def __getitem__(self, i: int) -> DataLoader:
        return self.loaders[i]

    def __len__(self) -> int:
        return len(self.loaders)

    def __iter__(self) -> Iterator[DataLoader]:
        return iter(self.loaders)
