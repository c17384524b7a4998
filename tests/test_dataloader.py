"""DataLoader, samplers, TensorDataset and DataLoaders: batches, order, seeds, devices, errors."""

from __future__ import annotations

import string

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.data import (
    DataLoader,
    DataLoaders,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
)


def make_xy(n: int = 10, device: str = "cpu") -> tuple[mg.Tensor, mg.Tensor]:
    """fastbook's shapes: x (n, 4) floats, y (n, 1) labels; rows numbered so order shows."""
    x = mg.tensor(torch.arange(n * 4, dtype=torch.float32).reshape(n, 4), device=device)
    y = mg.tensor(torch.arange(n).reshape(n, 1), device=device)
    return x, y


def batches_as_lists(loader: DataLoader) -> list:
    return [tuple(t.tolist() for t in batch) for batch in loader]


@given(
    n=st.integers(1, 23),
    batch_size=st.integers(1, 9),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_list_of_pairs_and_tensor_dataset_give_the_same_batches(
    n, batch_size, shuffle, drop_last, seed
):
    x, y = make_xy(n)
    loaders = [
        DataLoader(data, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, device="cpu")
        for data in (list(zip(x, y)), TensorDataset(x, y))
    ]
    got = []
    for loader in loaders:
        mg.manual_seed(seed)
        got.append(batches_as_lists(loader))
    assert got[0] == got[1]
    assert len(got[0]) == len(loaders[0]) == len(loaders[1])
    expected_len = n // batch_size if drop_last else -(-n // batch_size)
    assert len(loaders[0]) == expected_len
    # every sample appears once (drop_last: all but the last n % batch_size)
    rows = [row[0] for batch in got[0] for row in batch[1]]
    assert len(rows) == len(set(rows)) == (n - n % batch_size if drop_last else n)
    if not shuffle:
        assert rows == list(range(len(rows)))


def test_batches_have_the_stacked_shapes_and_values():
    x, y = make_xy(10)
    xb, yb = next(iter(DataLoader(list(zip(x, y)), batch_size=4, device="cpu")))
    assert isinstance(xb, mg.Tensor) and isinstance(yb, mg.Tensor)
    assert xb.shape == (4, 4) and yb.shape == (4, 1)
    assert xb.dtype == torch.float32 and yb.dtype == torch.int64
    assert torch.equal(xb._data, x._data[:4]) and torch.equal(yb._data, y._data[:4])


def test_last_batch_is_smaller_unless_drop_last():
    x, y = make_xy(10)
    sizes = [len(xb) for xb, _ in DataLoader(TensorDataset(x, y), batch_size=4)]
    assert sizes == [4, 4, 2]
    sizes = [len(xb) for xb, _ in DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True)]
    assert sizes == [4, 4]


def test_shuffle_with_a_seed_is_reproducible_and_differs_between_epochs():
    loader = DataLoader(range(50), batch_size=50, shuffle=True, device="cpu")
    mg.manual_seed(0)
    first, second = next(iter(loader)).tolist(), next(iter(loader)).tolist()
    mg.manual_seed(0)
    assert next(iter(loader)).tolist() == first
    assert first != second  # a new order each epoch
    assert sorted(first) == list(range(50))


def test_subset_random_sampler_covers_exactly_its_indices():
    indices = [3, 7, 8, 15, 20, 21, 40]
    x, y = make_xy(50)
    loader = DataLoader(TensorDataset(x, y), batch_size=3, sampler=SubsetRandomSampler(indices))
    labels = [label for _, yb in loader for label in yb.reshape(-1).tolist()]
    assert sorted(labels) == indices
    assert len(loader) == 3
    mg.manual_seed(1)
    order = list(SubsetRandomSampler(indices))
    mg.manual_seed(1)
    assert list(SubsetRandomSampler(indices)) == order and sorted(order) == indices


def test_samplers_as_torch():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    mg.manual_seed(0)
    ours = list(RandomSampler(range(20)))
    assert sorted(ours) == list(range(20)) and len(RandomSampler(range(20))) == 20
    generator = torch.Generator().manual_seed(5)
    theirs = list(torch.utils.data.RandomSampler(range(20), generator=generator))
    assert list(RandomSampler(range(20), generator=torch.Generator().manual_seed(5))) == theirs


def test_any_iterable_of_ints_works_as_a_sampler():
    loader = DataLoader(range(10, 20), batch_size=2, sampler=[9, 0, 4], device="cpu")
    assert [b.tolist() for b in loader] == [[19, 10], [14]]
    assert len(loader) == 2


def test_batches_are_on_the_requested_device(device):
    x, y = make_xy(6)
    for data in (list(zip(x, y)), TensorDataset(x, y), x):
        batch = next(iter(DataLoader(data, batch_size=4, device=device)))
        for t in batch if isinstance(batch, list) else (batch,):
            assert t.device.type == device
            assert not t.requires_grad and t.is_leaf  # data that requires no grad: plain data


DATASET_KINDS = ("pairs", "tensors", "bare tensor", "subset", "collate_fn")


def _dataset(lib, kind: str, x, y):
    """The same dataset of x's rows (and labels y) for minigrad and torch."""
    data = lib.utils.data if lib is torch else mg.data
    if kind == "pairs":
        return list(zip(x, y))
    if kind == "bare tensor":
        return x
    if kind == "subset":
        return data.Subset(data.TensorDataset(x, y), [i for i in (4, 0, 3, 1) if i < len(x)])
    return data.TensorDataset(x, y)


@given(
    kind=st.sampled_from(DATASET_KINDS),
    n=st.integers(1, 7),
    batch_size=st.integers(1, 4),
    shuffle=st.booleans(),
    non_leaf=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_batches_of_tensors_that_require_grad_keep_the_graph_as_torchs(
    kind, n, batch_size, shuffle, non_leaf, seed
):
    """A dataset whose tensor requires grad (a leaf, or made from one): each batch is in its
    graph, and the gradient of every batch flows back to the leaf, as with torch's DataLoader
    (which stacks samples with torch.stack, keeping their graph)."""
    values = torch.linspace(-1, 2, n * 3, dtype=torch.float64).reshape(n, 3)

    def run(lib):
        leaf = lib.tensor(values.numpy(), dtype=lib.float64, requires_grad=True)
        x = leaf * 2 if non_leaf else leaf
        y = lib.arange(n)
        loader_class = torch.utils.data.DataLoader if lib is torch else DataLoader
        options = {"collate_fn": lambda samples: lib.stack([s[0] for s in samples])}
        loader = loader_class(
            _dataset(lib, kind, x, y),
            batch_size=batch_size,
            shuffle=shuffle,
            **(options if kind == "collate_fn" else {}),
        )
        torch.manual_seed(seed)
        seen = []
        for batch in loader:
            xb = batch[0] if isinstance(batch, list) else batch
            assert xb.requires_grad and not xb.is_leaf
            weights = lib.arange(1.0, 1.0 + xb.numel(), dtype=lib.float64).reshape(xb.shape)
            (xb * weights).sum().backward(retain_graph=non_leaf)
            seen.append(xb.tolist())
        return seen, leaf.grad.tolist()

    assert run(mg) == run(torch)


@pytest.mark.parametrize("changed", [False, True])
def test_samples_that_view_a_tensor_changed_in_place_since_follow_its_history_as_torchs(changed):
    """Samples that are views (rows of h) made before h was changed in place by an op with a
    tensor that requires grad: each row now requires grad, so the batch is in the graph and
    w's gradient comes through it, as with torch's DataLoader; unchanged, plain data."""

    def run(lib):
        w = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        h = lib.arange(12.0, dtype=lib.float64).reshape(4, 3) * 1.0
        rows = [h[i] for i in range(4)]
        if changed:
            h += w
        loader_class = torch.utils.data.DataLoader if lib is torch else DataLoader
        batch = next(iter(loader_class(rows, batch_size=4)))
        if not batch.requires_grad:
            return batch.tolist(), None
        (batch * batch).sum().backward()
        return batch.tolist(), w.grad.tolist()

    expected = run(torch)
    assert (expected[1] is not None) is changed
    assert run(mg) == expected


def test_a_batch_made_under_no_grad_is_plain_data_as_in_torch():
    x, y = make_xy(5)
    x.requires_grad_()
    for data in (list(zip(x, y)), TensorDataset(x, y), x):
        with mg.no_grad():
            batch = next(iter(DataLoader(data, batch_size=2, device="cpu")))
        for t in batch if isinstance(batch, list) else (batch,):
            assert not t.requires_grad and t.is_leaf


def test_tensor_dataset_keeps_the_tensors_themselves_as_torchs():
    x, y = make_xy(4)
    x.requires_grad_()
    ds = TensorDataset(x, y)
    assert ds.tensors[0] is x and ds.tensors[1] is y
    xi, _ = ds[2]
    assert xi.requires_grad and xi.grad_fn is not None
    xi.sum().backward()
    assert x.grad.tolist() == [[0.0] * 4, [0.0] * 4, [1.0] * 4, [0.0] * 4]


def test_default_device_is_minigrads():
    loader = DataLoader(range(3), batch_size=2)
    assert loader.device == mg.default_device()
    assert next(iter(loader)).device.type == mg.default_device().type


def test_a_bare_tensor_gives_tensor_batches():
    x, _ = make_xy(5)
    batches = list(DataLoader(x, batch_size=2, device="cpu"))
    assert [tuple(b.shape) for b in batches] == [(2, 4), (2, 4), (1, 4)]
    assert torch.equal(torch.cat([b._data for b in batches]), x._data)


def test_collate_follows_torch_for_numbers_and_strings():
    pairs = list(enumerate(string.ascii_lowercase))
    numbers, letters = next(iter(DataLoader(pairs, batch_size=3, device="cpu")))
    assert numbers.tolist() == [0, 1, 2] and numbers.dtype == torch.int64
    assert letters == ("a", "b", "c")  # strings stay as they are, as in torch
    floats = next(iter(DataLoader([0.5, 1.5], batch_size=2, device="cpu")))
    assert floats.dtype == torch.float64  # torch's default_collate makes float64 too


def test_tensor_dataset_indexing_and_length():
    x, y = make_xy(5)
    ds = TensorDataset(x, y)
    assert len(ds) == 5
    xi, yi = ds[2]
    assert xi.tolist() == [8.0, 9.0, 10.0, 11.0] and yi.tolist() == [2]


def test_tensor_dataset_names_the_lengths_when_they_differ():
    with pytest.raises(ValueError, match=r"lengths 10, 9 \(shapes \(10, 4\), \(9,\)\)"):
        TensorDataset(mg.zeros(10, 4), mg.zeros(9))
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()
    with pytest.raises(TypeError, match="first dim"):
        TensorDataset(mg.tensor(3.0))


def test_loader_errors():
    with pytest.raises(ValueError, match="both a sampler and shuffle=True"):
        DataLoader(range(5), shuffle=True, sampler=SequentialSampler(range(5)))
    for bad in (0, -1, 2.5):  # (None turns batching off, as in torch)
        with pytest.raises(ValueError, match="batch_size must be a positive int"):
            DataLoader(range(5), batch_size=bad)


def test_dataloaders_holds_train_and_valid():
    train, valid = DataLoader(range(4)), DataLoader(range(2))
    dls = DataLoaders(train, valid)
    assert dls.train is train and dls.valid is valid
    assert dls[0] is train and dls[1] is valid and list(dls) == [train, valid]
    with pytest.raises(ValueError, match="training and a validation loader"):
        DataLoaders(train)


def test_an_empty_epoch_gives_no_batches():
    assert list(DataLoader([], batch_size=2, device="cpu")) == []
    assert list(DataLoader(range(3), batch_size=4, drop_last=True, device="cpu")) == []
    assert len(DataLoader(range(3), batch_size=4, drop_last=True)) == 0


@given(
    n=st.integers(1, 40),
    batch_size=st.integers(1, 12),
    shuffle=st.booleans(),
    own_generator=st.booleans(),
    drop_last=st.booleans(),
    pairs=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_seed_gives_torchs_batches_and_torchs_random_numbers_after_them(
    n, batch_size, shuffle, own_generator, drop_last, pairs, seed
):
    """Three epochs, then one number from the global generator and one from the loader's own:
    all as torch's DataLoader gives them. (torch draws a worker seed as each epoch starts, and
    its RandomSampler a permutation more as each epoch ends: minigrad draws them too.)"""
    x, y = torch.arange(n * 2.0).reshape(n, 2), torch.arange(n)

    def run(lib):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed + 1) if own_generator else None
        if lib is torch:
            data = list(zip(x, y)) if pairs else torch.utils.data.TensorDataset(x, y)
            loader_class, values = torch.utils.data.DataLoader, lambda t: t.tolist()
        else:
            data = list(zip(x, y)) if pairs else TensorDataset(mg.Tensor(x), mg.Tensor(y))
            loader_class, values = DataLoader, lambda t: t._data.tolist()
        loader = loader_class(
            data, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, generator=generator
        )
        batches = [values(labels) for _ in range(3) for _, labels in loader]
        after = (
            torch.rand(2).tolist(),
            (torch.rand(2, generator=generator).tolist() if generator else None),
        )
        return batches, after

    assert run(mg) == run(torch)
