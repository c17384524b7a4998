"""Feeding a model mini-batches: datasets, samplers, `DataLoader`, and fastai's `DataLoaders`.

A sampler decides the order of the samples (in turn, shuffled, or a shuffled subset); the
`DataLoader` cuts that order into batches and builds each batch on the chosen device:

    dset = list(zip(train_x, train_y))           # fastbook's way: a list of (x, y) pairs
    dl = DataLoader(dset, batch_size=256, shuffle=True)
    xb, yb = next(iter(dl))                       # xb: (256, 784), yb: (256, 1)

A list of pairs costs one Python lookup per sample and one `torch.stack` per field per batch.
A `TensorDataset` is the fast path: its tensors move to the device once, and each batch is one
indexing op per tensor. Batches are plain minigrad Tensors: data, outside any graph.

Shuffling draws from torch's global generator, so `minigrad.manual_seed(n)` repeats a run.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from ..devices import as_device, default_device
from ..errors import shape_str
from ..tensor import Tensor

DeviceLike = str | torch.device | None


_torch_data = operator.attrgetter("_data")  # minigrad Tensor -> its torch tensor


def _raw(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


# ---- datasets --------------------------------------------------------------------------------


class TensorDataset:
    """Samples are rows: sample i is `(t[i] for t in tensors)`, as in torch.

    `TensorDataset(train_x, train_y)` with train_x (N, 784) and train_y (N, 1) holds N pairs.
    """

    def __init__(self, *tensors: Tensor | torch.Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor, e.g. TensorDataset(x, y)")
        raw = [_raw(t) for t in tensors]
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
        self.tensors = tuple(Tensor(t.detach()) for t in raw)  # data: never part of a graph

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(Tensor(t._data[_raw(index)]) for t in self.tensors)

    def __repr__(self) -> str:
        shapes = ", ".join(shape_str(t.shape) for t in self.tensors)
        return f"TensorDataset({shapes})"


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
        return torch.randperm(len(self.data_source), generator=self.generator)

    def __len__(self) -> int:
        return len(self.data_source)


class SubsetRandomSampler(Sampler):
    """Only the given indices, in a new random order each epoch (e.g. a train/valid split)."""

    def __init__(self, indices: Sequence[int], generator: torch.Generator | None = None):
        self.indices = torch.as_tensor(_raw(indices), dtype=torch.int64).reshape(-1).cpu()
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


def collate(samples: list[Any]) -> Any:
    """Turn a list of samples into one batch, as torch's `default_collate` does.

    Tuples become tuples of batches (field by field), tensors are stacked along a new first dim,
    numbers become a tensor (int64 for ints, float64 for floats, as in torch), and anything else
    (strings) is kept as a tuple. Returns torch tensors; the loader wraps them.
    """
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(collate(list(field)) for field in zip(*samples))
    if isinstance(first, Tensor):  # map(attrgetter): the unwrapping runs once per sample, in C
        return torch.stack(list(map(_torch_data, samples)))
    if isinstance(first, torch.Tensor):
        return torch.stack(samples)
    if isinstance(first, np.ndarray):
        return torch.from_numpy(np.stack(samples))
    if isinstance(first, (bool, int, np.integer)):
        return torch.tensor(samples, dtype=torch.bool if isinstance(first, bool) else torch.int64)
    if isinstance(first, (float, np.floating)):
        return torch.tensor(samples, dtype=torch.float64)
    return tuple(samples)


def _wrap(batch: Any, device: torch.device) -> Any:
    """torch tensors (nested in tuples) -> minigrad Tensors on `device`."""
    if isinstance(batch, tuple):
        return tuple(_wrap(b, device) for b in batch)
    if isinstance(batch, torch.Tensor):
        return Tensor(batch.to(device))
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
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        sampler: Any = None,
        drop_last: bool = False,
        device: DeviceLike = None,
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
        if sampler is None:
            sampler = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
        self.sampler = sampler
        # Fast path: the dataset's tensors, moved to the device once (no copy if already there).
        self._tensors: tuple[torch.Tensor, ...] | None = None
        if isinstance(dataset, TensorDataset):
            self._tensors = tuple(t._data.to(self.device) for t in dataset.tensors)
        elif isinstance(dataset, (Tensor, torch.Tensor)):
            self._tensors = (_raw(dataset).detach().to(self.device),)

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        order = _epoch_order(self.sampler)
        if self.drop_last:
            order = order[: len(order) - len(order) % self.batch_size]
        if len(order) == 0:  # split() would give one empty batch
            return
        if self._tensors is not None:
            yield from self._tensor_batches(order.to(self.device))
        else:
            order = order.tolist()  # Python ints, to index the dataset with
            for start in range(0, len(order), self.batch_size):
                samples = [self.dataset[i] for i in order[start : start + self.batch_size]]
                yield _wrap(collate(samples), self.device)

    def _tensor_batches(self, order: torch.Tensor) -> Iterator[Any]:
        """One indexing op per stored tensor per batch, all on the device."""
        single = not isinstance(self.dataset, TensorDataset)
        for indices in order.split(self.batch_size):
            batch = tuple(Tensor(t[indices]) for t in self._tensors)
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
