"""random_split and Subset (minigrad.utils.data), and ReduceLROnPlateau
(minigrad.optim.lr_scheduler), against torch's.

random_split must give torch's split exactly for a seed (the same randperm, cut the same way),
whether the lengths are counts or fractions; ReduceLROnPlateau must set torch's learning rates
to the last bit after every step(metric), over drawn sequences of metrics.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.utils.data import DataLoader, RandomSampler, Subset, TensorDataset, random_split

# ---- random_split -------------------------------------------------------------------------------


def split_outcome(split, dataset, lengths, seed, use_global):
    """What a random_split call did: the indices of each part (or the error), and its warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if use_global:
                torch.manual_seed(seed)  # what minigrad.manual_seed does
                parts = split(dataset, lengths)
            else:
                parts = split(dataset, lengths, generator=torch.Generator().manual_seed(seed))
            result = [list(part.indices) for part in parts]
        except ValueError as error:
            result = ("ValueError", str(error).split("!")[0])  # torch's words, before our advice
    return result, [str(w.message) for w in caught]


@st.composite
def sizes_and_lengths(draw):
    n = draw(st.integers(0, 60))
    parts = draw(st.integers(1, 5))
    if draw(st.booleans()):  # counts that sum to n (or, sometimes, do not)
        cuts = sorted(draw(st.lists(st.integers(0, n), min_size=parts - 1, max_size=parts - 1)))
        lengths = [b - a for a, b in zip([0, *cuts], [*cuts, n])]
        if draw(st.booleans()) and lengths:
            lengths[0] += draw(st.sampled_from([-1, 1, 2]))
            lengths[0] = max(lengths[0], 0)
    else:  # fractions that sum to 1, or nearly (a sum just above 1 is not taken as fractions)
        weights = draw(st.lists(st.integers(0, 20), min_size=parts, max_size=parts))
        total = sum(weights) or 1
        lengths = [w / total for w in weights] if sum(weights) else [1.0] + [0.0] * (parts - 1)
    return n, lengths


@given(sizes_and_lengths(), st.integers(0, 2**32), st.booleans())
@example((10, [0.3, 0.7]), 42, False)
@example((10, [0.1, 0.1, 0.1, 0.7]), 0, True)  # remainders round-robin
@example((7, [0.5, 0.5]), 3, False)
@example((3, [0.25, 0.25, 0.25, 0.25]), 1, False)  # a part of length 0: the warning
@example((10, [3, 6]), 0, False)  # counts that do not sum to the size
@example((1, [1, 0]), 0, False)  # counts that sum to 1 are taken as fractions, as torch does
@example((0, [0.5, 0.5]), 0, False)
def test_random_split_gives_torchs_split_for_a_seed(size_and_lengths, seed, use_global):
    n, lengths = size_and_lengths
    dataset = list(range(100, 100 + n))
    ours = split_outcome(random_split, dataset, lengths, seed, use_global)
    theirs = split_outcome(torch.utils.data.random_split, dataset, lengths, seed, use_global)
    assert ours == theirs


def test_random_split_parts_are_subsets_of_the_dataset():
    x = mg.arange(20.0).reshape(10, 2)
    y = mg.arange(10)
    dataset = TensorDataset(x, y)
    train, valid = random_split(dataset, [0.8, 0.2], generator=mg.Generator().manual_seed(0))
    assert isinstance(train, Subset) and train.dataset is dataset
    assert len(train) == 8 and len(valid) == 2
    assert sorted(train.indices + valid.indices) == list(range(10))
    xb, yb = train[3]
    assert yb.item() == train.indices[3] and xb.tolist() == x[train.indices[3]].tolist()
    # the global generator, seeded by minigrad.manual_seed, as torch's default
    mg.manual_seed(5)
    ours = [p.indices for p in random_split(range(9), [4, 5])]
    torch.manual_seed(5)
    assert ours == [p.indices for p in torch.utils.data.random_split(range(9), [4, 5])]


def test_subset_indexing_as_torchs():
    data = torch.arange(24.0).reshape(8, 3)
    labels = torch.arange(8)
    indices = [6, 1, 4, 4, 0]
    ours = Subset(TensorDataset(mg.Tensor(data), mg.Tensor(labels)), indices)
    theirs = torch.utils.data.Subset(torch.utils.data.TensorDataset(data, labels), indices)
    assert len(ours) == len(theirs) == 5
    assert ours.indices is indices
    for idx in (0, 3, -1, [0, 2, 4], [1]):
        for a, b in zip(ours[idx], theirs[idx]):
            assert torch.equal(a._data, b)
    plain = Subset(["a", "b", "c"], [2, 0])
    assert plain[0] == "c" and plain[-1] == "a" and len(plain) == 2
    with pytest.raises(TypeError):  # a Python list cannot be indexed by a list: torch's too
        plain[[0, 1]]
    with pytest.raises(TypeError):
        torch.utils.data.Subset(["a", "b", "c"], [2, 0])[[0, 1]]


def batches(loader):
    def plain(batch):
        if isinstance(batch, (list, tuple)):
            return [plain(b) for b in batch]
        return batch._data.tolist() if isinstance(batch, mg.Tensor) else batch.tolist()

    return [plain(batch) for batch in loader]


@given(
    n=st.integers(1, 40),
    fraction=st.sampled_from([0.5, 0.7, 0.8, 0.9]),
    seed=st.integers(0, 2**31),
    batch_size=st.integers(1, 9),
    drop_last=st.booleans(),
    shuffle=st.booleans(),
    as_list=st.booleans(),
)
@pytest.mark.filterwarnings("ignore:Length of split at index")
def test_a_split_through_the_dataloader_gives_torchs_batches(
    n, fraction, seed, batch_size, drop_last, shuffle, as_list
):
    x = torch.randn(n, 3, generator=torch.Generator().manual_seed(seed))
    y = torch.arange(n) % 4
    if as_list:  # fastbook's list of (x, y) pairs: the collate path
        ours_data = list(zip(mg.Tensor(x), mg.Tensor(y)))
        theirs_data = list(zip(x, y))
    else:  # a TensorDataset: the loader's fast path
        ours_data, theirs_data = (
            TensorDataset(mg.Tensor(x), mg.Tensor(y)),
            (torch.utils.data.TensorDataset(x, y)),
        )
    ours = random_split(ours_data, [fraction, 1 - fraction], mg.Generator().manual_seed(seed))
    theirs = torch.utils.data.random_split(
        theirs_data, [fraction, 1 - fraction], torch.Generator().manual_seed(seed)
    )
    for our_part, their_part in zip(ours, theirs):
        if shuffle and len(their_part) == 0:
            continue  # torch's RandomSampler refuses an empty dataset
        options = dict(batch_size=batch_size, drop_last=drop_last)
        our_sampler = their_sampler = None  # in order
        if shuffle:  # the same seeded shuffle on both sides
            our_sampler = RandomSampler(our_part, generator=torch.Generator().manual_seed(seed))
            their_sampler = torch.utils.data.RandomSampler(
                their_part, generator=torch.Generator().manual_seed(seed)
            )
        our_loader = DataLoader(our_part, sampler=our_sampler, **options)
        their_loader = torch.utils.data.DataLoader(their_part, sampler=their_sampler, **options)
        assert batches(our_loader) == batches(their_loader)
        assert len(our_loader) == len(their_loader)


def test_a_split_shuffled_by_the_loader_covers_its_part_once_per_epoch():
    dataset = TensorDataset(mg.arange(30.0).reshape(15, 2), mg.arange(15))
    train, _ = random_split(dataset, [10, 5], generator=mg.Generator().manual_seed(2))
    mg.manual_seed(0)
    seen = [yb.tolist() for _, yb in DataLoader(train, batch_size=4, shuffle=True)]
    assert sorted(sum(seen, [])) == sorted(train.indices)


def test_random_split_errors_name_what_was_wrong():
    with pytest.raises(ValueError, match=r"lengths \[3, 3\] sum to 6, but the dataset has 10"):
        random_split(range(10), [3, 3])
    with pytest.raises(
        ValueError, match=r"Fraction at index 0 is not between 0 and 1 \(it is 1.5\)"
    ):
        random_split(range(10), [1.5, -0.5])
    with pytest.raises(ValueError, match="Length of split at index 0 is -2"):
        random_split(range(10), [-2, 12])
    with pytest.warns(UserWarning, match="Length of split at index 2 is 0"):
        random_split(range(2), [0.5, 0.5, 0.0])
