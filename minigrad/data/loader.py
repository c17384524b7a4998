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

Plain data plumbing with no gradients in it is torch's own, re-exported as it is: `Dataset` (the
base class to write your own map-style dataset on; `a + b` concatenates two), `IterableDataset`
(a stream of samples), `ConcatDataset`, `ChainDataset`, `StackDataset`, `BatchSampler`,
`get_worker_info` and `default_convert`. They take minigrad Tensors and work with minigrad's
`DataLoader` unchanged. With `num_workers > 0` the loader hands the loading to torch's own
DataLoader (its worker processes) and wraps the batches it gives as minigrad Tensors.
"""

from __future__ import annotations

import copy
import itertools
import math
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any, Generic, TypeVar

import numpy as np
import torch

# torch's own classes, unchanged: they only index, count and chain datasets and samplers, so
# they work as they are with minigrad Tensors and minigrad's DataLoader.
from torch.utils.data import BatchSampler as BatchSampler
from torch.utils.data import ChainDataset as ChainDataset
from torch.utils.data import ConcatDataset as ConcatDataset
from torch.utils.data import Dataset, IterableDataset
from torch.utils.data import StackDataset as StackDataset
from torch.utils.data import default_convert as default_convert
from torch.utils.data import get_worker_info as get_worker_info

from ..autograd.grad_mode import is_grad_enabled
from ..autograd.inplace import any_base_changed
from ..creation import stack
from ..devices import as_device, default_device
from ..errors import shape_str
from ..tensor import Tensor, unwrap

DeviceLike = str | torch.device | None
_Index = TypeVar("_Index", covariant=True)  # what a sampler gives: an index, or a batch's list


# ---- datasets --------------------------------------------------------------------------------


class TensorDataset(Dataset):
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


class Subset(Dataset):
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


class Sampler(Generic[_Index]):
    """An order of sample indices for one epoch. `order()` gives it as an int64 tensor (the
    DataLoader's fast path); iterating gives Python ints, as torch's samplers do.

    A sampler of your own, written as for torch (`class MySampler(Sampler[int])` with `__iter__`
    and `__len__`), works as it is: its order is what its `__iter__` gives. One whose `__iter__`
    gives lists of indices is a batch sampler (`DataLoader(..., batch_sampler=MySampler())`).
    """

    def order(self) -> torch.Tensor:
        if type(self).__iter__ is Sampler.__iter__:
            raise NotImplementedError(
                f"{type(self).__name__} gives no order: a Sampler subclass defines __iter__ "
                "(the indices of one epoch, as for torch) or order() (them as an int64 tensor)."
            )
        return torch.as_tensor(list(iter(self)), dtype=torch.int64)

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


class WeightedRandomSampler(torch.utils.data.WeightedRandomSampler):
    """`num_samples` indices drawn at random, index i with probability weights[i] / sum(weights):

        sampler = WeightedRandomSampler(weights, num_samples=len(dataset), replacement=True)

    With replacement, a rare class (a large weight) comes up in most batches. torch's sampler
    (one `torch.multinomial` draw per epoch, from `generator` or the global generator, so a seed
    gives torch's indices); only the weights may also be a minigrad Tensor, whose numbers it takes.
    """

    def __init__(
        self,
        weights: Sequence[float] | Tensor | torch.Tensor,
        num_samples: int,
        replacement: bool = True,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(unwrap(weights), num_samples, replacement, generator)


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


def _check_worker_options(
    num_workers: int,
    timeout: float,
    prefetch_factor: int | None,
    persistent_workers: bool,
    multiprocessing_context: Any,
) -> None:
    """The options about worker processes that torch's DataLoader refuses, with its ValueErrors."""
    if num_workers < 0:
        raise ValueError(
            f"num_workers must be 0 or more, got {num_workers}: 0 loads in this process, "
            "n > 0 starts n worker processes."
        )
    if timeout < 0:
        raise ValueError(
            f"timeout (seconds to wait for a worker's batch) must be >= 0, got {timeout}"
        )
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError(
            f"prefetch_factor={prefetch_factor} is the number of batches each worker loads ahead, "
            "so it needs worker processes: pass num_workers > 0, or leave prefetch_factor out."
        )
    if prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError(f"prefetch_factor must be >= 0, got {prefetch_factor}")
    if persistent_workers and num_workers == 0:
        raise ValueError(
            "persistent_workers=True keeps worker processes alive between epochs, so it needs "
            "num_workers > 0."
        )
    if multiprocessing_context is not None and num_workers == 0:
        raise ValueError(
            "multiprocessing_context chooses how worker processes start, so it needs "
            f"num_workers > 0, but got num_workers={num_workers}."
        )


def _pinned(batch: Any) -> Any:
    """The torch tensors of a batch (nested in lists, tuples and dicts) in page-locked memory,
    which copies to an accelerator without a stop; a minigrad Tensor (in a graph) stays."""
    if isinstance(batch, torch.Tensor):
        return batch.pin_memory()
    if isinstance(batch, list):
        return [_pinned(b) for b in batch]
    if isinstance(batch, tuple):
        pinned = [_pinned(b) for b in batch]
        return type(batch)(*pinned) if hasattr(batch, "_fields") else tuple(pinned)
    if isinstance(batch, dict):
        clone = copy.copy(batch)
        clone.update({key: _pinned(value) for key, value in batch.items()})
        return clone
    return batch


class DataLoader:
    """Batches of `batch_size` samples from `dataset`, as torch's DataLoader.

    dataset: a `TensorDataset` or tensor (fast path), anything with `len()` and `[i]` (a list
        of (x, y) pairs, a range, a `Dataset` of your own), or an `IterableDataset` (a stream:
        its samples are batched in the order they come; no sampler, no shuffle).
    shuffle: a new random order every epoch (for training). sampler: choose the order yourself
        (e.g. `SubsetRandomSampler(train_indices)`); not together with shuffle.
    batch_sampler: gives each batch's indices itself (e.g. `BatchSampler(sampler, 32, False)`);
        then batch_size, shuffle, sampler and drop_last are left out.
    batch_size=None: no batching, as torch's: each sample comes as the dataset gives it (for a
        dataset whose samples are batches already), its NumPy arrays made tensors
        (`default_convert`, or collate_fn when given, called on one sample).
    drop_last: skip the last, smaller batch.
    collate_fn: turns a list of samples into a batch (default `collate`, torch's rules); its
        tensors are moved to `device` as minigrad Tensors.
    generator: the random numbers for shuffle (default: the global generator, which
        `minigrad.manual_seed` seeds). A seed gives torch's order, and torch's numbers after it.
    num_workers: 0 loads in this process. n > 0 hands loading to torch's own DataLoader with n
        worker processes (with timeout, worker_init_fn, multiprocessing_context,
        prefetch_factor, persistent_workers and in_order, which only matter there); its batches
        are the same, wrapped as minigrad Tensors on `device`.
    pin_memory: put batches in page-locked memory for a fast copy to an accelerator; without one,
        a warning and nothing else, as in torch. pin_memory_device is deprecated, as in torch.
    device (minigrad's, keyword only): where batches go (default `minigrad.default_device()`).
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: torch.Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        device: DeviceLike = None,
    ) -> None:
        _check_worker_options(
            num_workers, timeout, prefetch_factor, persistent_workers, multiprocessing_context
        )
        self._iterable = isinstance(dataset, IterableDataset)
        self._unbatched = False  # batch_size=None: each sample as it is, no batching
        if self._iterable:
            _check_stream_options(shuffle, sampler, batch_sampler)
        if sampler is not None and shuffle:
            raise ValueError(
                "DataLoader got both a sampler and shuffle=True: the sampler already decides the "
                "order. Pass shuffle=False (or leave it out), or drop the sampler."
            )
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last: the batch sampler already decides each batch's "
                    "indices. Leave those four out, or drop batch_sampler."
                )
            batch_size = None  # as torch: the batch sampler decides
        elif batch_size is None:
            if drop_last:
                raise ValueError(
                    "batch_size=None turns batching off (each sample comes as it is), so there "
                    "is no last, smaller batch for drop_last=True to drop: leave drop_last out."
                )
            self._unbatched = True
        elif not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(
                f"batch_size must be a positive int (or None: no batching), got {batch_size!r}"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.device = default_device() if device is None else as_device(device)
        self.generator = generator
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator) if shuffle else SequentialSampler(dataset)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        default = default_convert if self._unbatched else collate
        self.collate_fn = default if collate_fn is None else collate_fn
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = 2 if num_workers > 0 and prefetch_factor is None else prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._pin = False  # set as each epoch starts
        # Fast path: the dataset's tensors, and their data moved to the device once (no copy if
        # already there).
        self._sources: tuple[Tensor, ...] | None = None
        self._tensors: tuple[torch.Tensor, ...] | None = None
        self._rows: torch.Tensor | None = None  # for a Subset: sample i is row _rows[i]
        self._workers: torch.utils.data.DataLoader | None = None
        if num_workers > 0:
            self._workers = self._torch_loader()  # the workers load; nothing for this process
        elif collate_fn is not None or self._unbatched:
            pass  # the user's collate_fn sees every sample; unbatched, each comes as it is
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

    def _torch_loader(self) -> torch.utils.data.DataLoader:
        """torch's DataLoader over the same dataset, order and collate_fn, to run the workers.
        It is built once, so that persistent_workers keeps its processes between epochs."""
        if self.batch_sampler is not None:
            order = {"batch_sampler": self.batch_sampler}
        else:
            order = {"batch_size": self.batch_size, "drop_last": self.drop_last}
            order["sampler"] = self.sampler  # None for a stream
        return torch.utils.data.DataLoader(
            self.dataset,
            **order,
            num_workers=self.num_workers,
            collate_fn=self.collate_fn,
            pin_memory=self.pin_memory,
            timeout=self.timeout,
            worker_init_fn=self.worker_init_fn,
            multiprocessing_context=self.multiprocessing_context,
            generator=self.generator,
            prefetch_factor=self.prefetch_factor,
            persistent_workers=self.persistent_workers,
            pin_memory_device=self.pin_memory_device,
            in_order=self.in_order,
        )

    def __len__(self) -> int:
        if self._iterable:  # as torch: the stream's own len(), if it has one, in batches
            n = len(self.dataset)
        elif self.batch_sampler is not None:
            return len(self.batch_sampler)
        else:
            n = len(self.sampler)
        if self._unbatched:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        if self._workers is not None:
            # torch's iterator starts the workers and draws their seed now, as torch's does
            return (_wrap(batch, self.device) for batch in self._workers)
        # torch draws a seed for its worker processes as each epoch starts, from `generator` or
        # the global generator. minigrad has no workers but draws it too, so that the random
        # numbers after an epoch (dropout's masks, the next shuffle) are torch's for a seed.
        self._pin = self._will_pin()
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        return self._batches()

    def _will_pin(self) -> bool:
        """Whether to pin this epoch's batches; torch's warnings, once per epoch as torch's."""
        if self.pin_memory and self.pin_memory_device:
            warnings.warn(
                f"pin_memory_device is deprecated: the current accelerator is used, and "
                f"pin_memory_device={self.pin_memory_device!r} is ignored.",
                stacklevel=3,
            )
        if self.pin_memory and not torch.accelerator.is_available():
            warnings.warn(
                "pin_memory=True, but no accelerator is found: batches stay in ordinary memory "
                "(pinning only speeds up copies to an accelerator). Leave pin_memory out here.",
                stacklevel=3,
            )
        return self.pin_memory and torch.accelerator.is_available()

    def _batches(self) -> Iterator[Any]:
        if self._iterable:
            yield from self._stream_batches()
            return
        if self.batch_sampler is not None:
            for indices in self.batch_sampler:
                if self._tensors is not None:
                    rows = torch.as_tensor(indices, dtype=torch.int64).to(self.device)
                    yield self._tensor_batch(rows if self._rows is None else self._rows[rows])
                else:
                    yield self._collated([self.dataset[i] for i in indices])
            return
        if self._tensors is not None:
            order = _epoch_order(self.sampler)
        elif isinstance(self.sampler, Sampler):
            order = self.sampler.order().tolist()  # Python ints, to index the dataset with
        else:
            order = list(self.sampler)  # the indices as they come, as torch's DataLoader
        if self._unbatched:
            for i in order:
                yield self._collated(self.dataset[i])
            return
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
                yield self._collated(samples)

    def _stream_batches(self) -> Iterator[Any]:
        """An IterableDataset's samples in the order they come, batch_size at a time."""
        samples = []
        for sample in self.dataset:
            if self._unbatched:
                yield self._collated(sample)
                continue
            samples.append(sample)
            if len(samples) == self.batch_size:
                yield self._collated(samples)
                samples = []
        if samples and not self.drop_last:
            yield self._collated(samples)

    def _collated(self, samples: Any) -> Any:
        """collate_fn of the samples (of one sample, unbatched), wrapped and moved."""
        batch = self.collate_fn(samples)
        return _wrap(_pinned(batch) if self._pin else batch, self.device)

    def _tensor_batches(self, order: torch.Tensor) -> Iterator[Any]:
        for indices in order.split(self.batch_size):
            yield self._tensor_batch(indices)

    def _tensor_batch(self, indices: torch.Tensor) -> Any:
        """One indexing op per stored tensor, all on the device. A dataset tensor that requires
        grad is indexed and moved by minigrad's ops instead, so that its batches keep the
        graph, as torch's do: the gradient flows back to the dataset's tensor. (On the fast
        path the batch is on the device already: nothing to pin.)"""
        batch = [  # a list, as collate makes
            source[indices.to(source.device)].to(self.device)
            if source.requires_grad and is_grad_enabled()
            else Tensor(moved[indices])
            for source, moved in zip(self._sources, self._tensors)
        ]
        return batch[0] if isinstance(self.dataset, (Tensor, torch.Tensor)) else batch

    def __repr__(self) -> str:
        order = (
            "an IterableDataset"
            if self._iterable
            else f"sampler={type(self.sampler).__name__}"
            if self.batch_sampler is None
            else f"batch_sampler={type(self.batch_sampler).__name__}"
        )
        samples = f"{len(self.sampler)} samples, " if self.sampler is not None else ""
        batches = "" if self._iterable else f"{len(self)} batches, "
        return (
            f"DataLoader({samples}batch_size={self.batch_size}, {batches}{order}, "
            f"device={self.device})"
        )


def _check_stream_options(shuffle: Any, sampler: Any, batch_sampler: Any) -> None:
    """An IterableDataset gives its samples in its own order: torch refuses to reorder them."""
    for name, value, given in (
        ("shuffle", shuffle, shuffle not in (None, False)),
        ("sampler", sampler, sampler is not None),
        ("batch_sampler", batch_sampler, batch_sampler is not None),
    ):
        if given:
            raise ValueError(
                f"DataLoader with IterableDataset: expected unspecified {name} option, but got "
                f"{name}={value!r}. A stream gives its samples in its own order; shuffle or "
                "sample inside its __iter__ instead, or use a map-style Dataset."
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
