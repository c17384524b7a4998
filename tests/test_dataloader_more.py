"""torch.utils.data's other names: Dataset subclasses, streams, batch samplers, weighted sampling,
concatenated and stacked datasets, and the DataLoader's worker and pinning options.

Each test runs the same program on minigrad and on torch (the import swapped, nothing else) and
compares every batch and the random numbers drawn after them. Worker tests start processes, so
there are few of them, on tiny datasets.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import pytest
import torch
import torch.utils.data as tud
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.utils.data as mud

TABLE = torch.arange(40, dtype=torch.float64).reshape(20, 2) ** 1.5  # row i is sample i's x


class Rows(tud.Dataset):
    """A tutorial's `class CustomDataset(Dataset)`: sample i is (x_i, label i), with x_i a
    minigrad Tensor for minigrad (ours=True) and a torch tensor for torch. Which process loaded
    the sample rides along, to show that the workers did the loading."""

    def __init__(self, n: int, ours: bool) -> None:
        self.n, self.ours = n, ours

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[Any, int, int]:
        x = mg.Tensor(TABLE[i]) if self.ours else TABLE[i]
        info = tud.get_worker_info()
        return x, i, -1 if info is None else info.id


class Stream(tud.IterableDataset):
    """0, 1, ..., n-1 (squared as floats alongside); each worker takes every num_workers-th,
    from its id on, as torch's docs shard a stream."""

    def __init__(self, n: int, with_len: bool = True) -> None:
        self.n, self.with_len = n, with_len

    def __iter__(self):
        info = mud.get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter((i, float(i * i)) for i in range(start, self.n, step))

    def __len__(self) -> int:
        if not self.with_len:
            raise TypeError("this stream has no length")
        return self.n


def plain(batch: Any, ours: bool) -> Any:
    """A batch as nested Python lists; minigrad's must be minigrad Tensors on its device."""
    if ours and isinstance(batch, mg.Tensor):
        assert batch.device.type == mg.default_device().type
        return ("tensor", str(batch.dtype), batch._data.tolist())
    if not ours and isinstance(batch, torch.Tensor):
        return ("tensor", str(batch.dtype), batch.tolist())
    assert not isinstance(batch, (torch.Tensor, mg.Tensor)), f"a {type(batch)} in a batch"
    if isinstance(batch, (list, tuple)):
        return [type(batch).__name__] + [plain(b, ours) for b in batch]
    if isinstance(batch, dict):
        return {key: plain(value, ours) for key, value in batch.items()}
    return batch


def run(make_loader, seed: int, ours: bool, epochs: int = 2) -> tuple:
    """Every batch of a few epochs, then two numbers from the global generator."""
    torch.manual_seed(seed)
    loader = make_loader(mud if ours else tud, ours)
    batches = [plain(batch, ours) for _ in range(epochs) for batch in loader]
    try:
        length = len(loader)
    except TypeError:  # a stream without len(), as ChainDataset
        length = None
    return batches, length, torch.rand(2).tolist()


def assert_as_torch(make_loader, seed: int = 0, epochs: int = 2) -> None:
    assert run(make_loader, seed, True, epochs) == run(make_loader, seed, False, epochs)


# ---- map-style datasets, in this process -------------------------------------------------------


@given(
    n=st.integers(1, 20),
    batch_size=st.integers(1, 7),
    order=st.sampled_from(["plain", "shuffle", "batch_sampler", "weighted"]),
    own_generator=st.booleans(),
    drop_last=st.booleans(),
    replacement=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_dataset_subclass_gives_torchs_batches_for_every_way_of_ordering_it(
    n, batch_size, order, own_generator, drop_last, replacement, seed
):
    """shuffle, a BatchSampler over a random sampler, and a WeightedRandomSampler (minigrad Tensor
    weights for minigrad): the same indices as torch's for a seed, and the same numbers after."""
    weights = torch.rand(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    num_samples = n if replacement else max(1, n // 2)

    def make(lib, ours):
        data = Rows(n, ours)
        generator = torch.Generator().manual_seed(seed + 1) if own_generator else None
        options = {"batch_size": batch_size, "drop_last": drop_last, "generator": generator}
        if order == "shuffle":
            options["shuffle"] = True
        elif order == "batch_sampler":
            sampler = lib.RandomSampler(data, generator=generator)
            options = {"batch_sampler": lib.BatchSampler(sampler, batch_size, drop_last)}
        elif order == "weighted":
            w = mg.Tensor(weights) if ours else weights
            options["sampler"] = lib.WeightedRandomSampler(w, num_samples, replacement, generator)
        return lib.DataLoader(data, **options)

    assert_as_torch(make, seed)


def test_concat_stack_and_chain_datasets_of_minigrad_tensor_datasets_batch_as_torchs():
    def make(lib, ours):
        tensor = mg.Tensor if ours else (lambda t: t)
        a = lib.TensorDataset(tensor(TABLE[:5]), tensor(torch.arange(5)))
        b = lib.TensorDataset(tensor(TABLE[5:8]), tensor(torch.arange(5, 8)))
        both = a + b  # Dataset.__add__, as torch's
        assert isinstance(both, lib.ConcatDataset) and len(both) == 8
        stacked = lib.StackDataset(pair=both, label=range(8))
        return lib.DataLoader(stacked, batch_size=3, shuffle=True)

    assert_as_torch(make, seed=7)

    def make_chain(lib, ours):
        return lib.DataLoader(lib.ChainDataset([Stream(3), Stream(4)]), batch_size=2)

    assert_as_torch(make_chain)


def test_a_batch_sampler_on_a_tensor_dataset_indexes_its_tensors_as_torch():
    """The fast path (one indexing op per tensor) with a batch sampler, a split of the dataset
    too, and a plain list of index lists as the batch sampler, as torch takes."""

    def make(lib, ours):
        tensor = mg.Tensor if ours else (lambda t: t)
        data = lib.TensorDataset(tensor(TABLE), tensor(torch.arange(20)))
        part = lib.Subset(data, [3, 1, 4, 15, 9, 2])
        sampler = lib.BatchSampler(lib.RandomSampler(part), 4, drop_last=False)
        return lib.DataLoader(part, batch_sampler=sampler)

    assert_as_torch(make, seed=3)
    listed = mud.DataLoader(mud.TensorDataset(mg.Tensor(TABLE)), batch_sampler=[[19, 0], [5]])
    assert [b[0]._data.tolist() for b in listed] == [TABLE[[19, 0]].tolist(), [TABLE[5].tolist()]]
    assert len(listed) == 2 and listed.batch_size is None and not listed.drop_last


def test_samplers_of_your_own_written_as_for_torch_order_and_batch_as_torchs():
    """`class MySampler(Sampler[int])` with only __iter__ and __len__, as torch's docs write one,
    as a sampler (on a list dataset and on a TensorDataset's fast path) and as a batch sampler."""

    def make(lib, ours, fast=False, batches=False):
        class Odd(lib.Sampler[int]):
            def __init__(self, n: int) -> None:
                self.n = n

            def __iter__(self):
                return reversed(range(1, self.n, 2))

            def __len__(self) -> int:
                return len(range(1, self.n, 2))

        class Pairs(lib.Sampler[list[int]]):
            def __iter__(self):
                return iter([[5, 1], [0], [2, 3, 4]])

            def __len__(self) -> int:
                return 3

        tensor = mg.Tensor if ours else (lambda t: t)
        data = lib.TensorDataset(tensor(TABLE[:9])) if fast else Rows(9, ours)
        if batches:
            return lib.DataLoader(data, batch_sampler=Pairs())
        return lib.DataLoader(data, batch_size=2, sampler=Odd(9))

    for options in ({}, {"fast": True}, {"batches": True}, {"fast": True, "batches": True}):
        assert_as_torch(functools.partial(make, **options))


# ---- streams -----------------------------------------------------------------------------------


@given(n=st.integers(0, 12), batch_size=st.integers(1, 5), drop_last=st.booleans())
def test_an_iterable_dataset_is_batched_in_the_order_it_comes_as_torch(n, batch_size, drop_last):
    assert_as_torch(lambda lib, ours: lib.DataLoader(Stream(n), batch_size, drop_last=drop_last))
    with pytest.raises(TypeError):  # len() of a stream without one, as torch
        len(mud.DataLoader(Stream(n, with_len=False), batch_size))


# ---- batch_size=None: no batching ----------------------------------------------------------------


class Batches(tud.Dataset):
    """A dataset whose samples are batches already (what batch_size=None is for): sample i is
    rows 2i and 2i+1 of TABLE, their labels as a NumPy array (converted to a tensor), and i."""

    def __init__(self, ours: bool) -> None:
        self.ours = ours

    def __len__(self) -> int:
        return 10

    def __getitem__(self, i: int) -> tuple[Any, Any, int]:
        rows = TABLE[2 * i : 2 * i + 2]
        return (mg.Tensor(rows) if self.ours else rows), np.array([2 * i, 2 * i + 1]), i


@given(shuffle=st.booleans(), stream=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_batch_size_none_gives_each_sample_as_it_is_as_torch(shuffle, stream, seed):
    """batch_size=None: the samples themselves, in the sampler's order (shuffled as torch's for
    a seed), NumPy arrays made tensors; a stream's items as they come; len() in samples."""
    if stream:
        assert_as_torch(lambda lib, ours: lib.DataLoader(Stream(6), batch_size=None), seed)
    else:
        make = lambda lib, ours: lib.DataLoader(Batches(ours), batch_size=None, shuffle=shuffle)  # noqa: E731
        assert_as_torch(make, seed)
    rows = lambda ours: mg.Tensor(TABLE) if ours else TABLE  # noqa: E731
    make = lambda lib, ours: lib.DataLoader(lib.TensorDataset(rows(ours)), batch_size=None)  # noqa: E731
    assert_as_torch(make, seed, epochs=1)  # (the fast path for a TensorDataset is left out)


# ---- workers -----------------------------------------------------------------------------------


def test_workers_load_torchs_batches_in_torchs_order_as_minigrad_tensors():
    """Two worker processes, as torch's: the same batches as torch's workers give (which worker
    loaded each sample included) and as minigrad's own loading gives, persistent or not; a
    sharded stream; minigrad Tensors that a collate_fn sends back from a worker intact."""

    def make(lib, ours, **options):
        return lib.DataLoader(Rows(9, ours), batch_size=2, shuffle=True, num_workers=2, **options)

    assert_as_torch(make, seed=5)
    assert_as_torch(lambda lib, ours: make(lib, ours, persistent_workers=True), seed=6)
    with_workers = run(make, 5, ours=True)
    in_process = run(lambda lib, ours: lib.DataLoader(Rows(9, True), 2, shuffle=True), 5, True)
    assert [b[1:3] for b in with_workers[0]] == [b[1:3] for b in in_process[0]]  # same xs, ys
    loaded_by = {id_ for batch in with_workers[0] for id_ in batch[3][2]}
    assert loaded_by == {0, 1}

    assert_as_torch(lambda lib, ours: lib.DataLoader(Stream(7), 3, num_workers=2), epochs=1)

    def as_they_are(samples):  # the samples themselves, minigrad Tensors inside
        return [x for x, _, _ in samples]

    batches = list(mud.DataLoader(Rows(4, True), 2, num_workers=2, collate_fn=as_they_are))
    assert all(isinstance(x, mg.Tensor) for batch in batches for x in batch)
    assert [x._data.tolist() for batch in batches for x in batch] == TABLE[:4].tolist()


# ---- pinning and errors ------------------------------------------------------------------------


def test_pin_memory_warns_as_torch_without_an_accelerator_and_pins_with_one():
    def make(lib, ours):
        return lib.DataLoader(Rows(5, ours), 2, shuffle=True, pin_memory=True)

    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        got = run(make, 1, True)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        expected = run(make, 1, False)
    assert got == expected
    assert len(ours) == len(theirs)  # once per epoch without an accelerator, else never
    if not torch.accelerator.is_available():
        assert len(ours) == 2 and all("no accelerator is found" in str(w.message) for w in ours)
    else:  # a batch kept on the CPU is in pinned memory, as torch's
        batch = next(iter(mud.DataLoader(Rows(5, True), 2, pin_memory=True, device="cpu")))
        assert batch[0]._data.is_pinned()
    for lib in (mud, tud):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            iter(lib.DataLoader(range(3), pin_memory=True, pin_memory_device="cuda"))
        assert "pin_memory_device is deprecated" in str(caught[0].message)


def _refusal(make) -> type[BaseException] | None:
    try:
        make()
    except Exception as error:  # noqa: BLE001 - which type is what is compared
        return type(error)
    return None


@pytest.mark.parametrize(
    "options",
    [
        {"num_workers": -1},
        {"timeout": -1},
        {"prefetch_factor": 2},
        {"num_workers": 1, "prefetch_factor": -1},
        {"persistent_workers": True},
        {"multiprocessing_context": "fork"},
        {"batch_sampler": [[0]], "batch_size": 2},
        {"batch_sampler": [[0]], "shuffle": True},
        {"batch_sampler": [[0]], "sampler": [0]},
        {"batch_sampler": [[0]], "drop_last": True},
        {"sampler": [0], "shuffle": True},
        {"stream": True, "shuffle": True},
        {"stream": True, "sampler": [0]},
        {"stream": True, "batch_sampler": [[0]]},
        {"batch_size": None, "drop_last": True},
        {"batch_size": 0},
    ],
)
def test_options_torch_refuses_are_refused_with_its_exception(options):
    options = dict(options)
    stream = options.pop("stream", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's note on how many workers suit this machine
        ours = _refusal(lambda: mud.DataLoader(Stream(3) if stream else range(3), **options))
        theirs = _refusal(lambda: tud.DataLoader(Stream(3) if stream else range(3), **options))
    assert theirs is not None and ours is theirs
