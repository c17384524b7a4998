"""random_split and Subset (minigrad.utils.data), and ReduceLROnPlateau
(minigrad.optim.lr_scheduler), against torch's.

random_split must give torch's split exactly for a seed (the same randperm, cut the same way),
whether the lengths are counts or fractions; ReduceLROnPlateau must set torch's learning rates
to the last bit after every step(metric), over drawn sequences of metrics.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.optim import lr_scheduler
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


# ---- ReduceLROnPlateau --------------------------------------------------------------------------


class PlateauPair:
    """A minigrad optimizer and its ReduceLROnPlateau, and torch's, with the same settings."""

    def __init__(self, opt_name, groups, settings, **kwargs):
        def make(module, tensor):
            params = [tensor(torch.zeros(2, dtype=torch.float64)) for _ in groups]
            param_groups = [{"params": [p], "lr": lr} for p, lr in zip(params, groups)]
            opt = getattr(module.optim, opt_name)(param_groups, **settings)
            return params, opt, module.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)

        self.params, self.opt, self.ours = make(mg, lambda t: mg.Tensor(t, requires_grad=True))
        self.torch_params, self.torch_opt, self.theirs = make(torch, torch.nn.Parameter)
        self.check("after construction")

    def step(self, metric, where):
        self.ours.step(mg.tensor(metric) if isinstance(metric, int) else metric)
        self.theirs.step(metric)
        self.check(where)

    def check(self, where):
        ours, theirs = self.ours, self.theirs
        assert ours.get_last_lr() == theirs.get_last_lr() == theirs._last_lr, where
        assert [g["lr"] for g in self.opt.param_groups] == theirs.get_last_lr(), where
        for name in ("num_bad_epochs", "cooldown_counter", "last_epoch", "min_lrs"):
            assert getattr(ours, name) == getattr(theirs, name), (where, name)
        assert ours.best == theirs.best or (math.isnan(ours.best) and math.isnan(theirs.best))
        assert plateau_state(ours) == plateau_state(theirs), where


def plateau_state(scheduler):
    state = scheduler.state_dict()
    assert not math.isnan(state["best"])  # a NaN never becomes the best: it never improves
    return state


# a metric: a level, a small wiggle around it (within the threshold or not), or a NaN
metrics = st.one_of(
    st.floats(-3.0, 3.0, allow_nan=False),
    st.sampled_from([1.0, 1.0, 1.0, 0.99995, 0.9999, 0.999, 1.0001, 1.01, -1.0, 0.0]),
    st.just(float("nan")),
    st.integers(-2, 3),  # sent to minigrad as a 0-d int Tensor
)


@given(
    opt=st.sampled_from([("SGD", dict(momentum=0.9)), ("Adam", {}), ("RMSprop", {})]),
    groups=st.lists(st.sampled_from([0.1, 0.5, 1e-3, 1e-6]), min_size=1, max_size=3),
    mode=st.sampled_from(["min", "max"]),
    factor=st.sampled_from([0.1, 0.5, 0.9, 0.0]),
    patience=st.integers(0, 4),
    threshold=st.sampled_from([0.0, 1e-4, 1e-2, 0.5]),
    threshold_mode=st.sampled_from(["rel", "abs"]),
    cooldown=st.integers(0, 3),
    min_lr=st.sampled_from([0, 1e-3, "per group"]),
    eps=st.sampled_from([1e-8, 1e-3, 0.0]),
    sequence=st.lists(metrics, min_size=1, max_size=40),
)
@example(
    opt=("SGD", {}),
    groups=[0.1, 0.5],
    mode="min",
    factor=0.5,
    patience=1,
    threshold=1e-2,
    threshold_mode="rel",
    cooldown=1,
    min_lr="per group",
    eps=1e-8,
    sequence=[1.0, 0.995, 0.995, 0.995, float("nan"), 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
)
def test_reduce_lr_on_plateau_matches_torch_at_every_step(
    opt, groups, mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps, sequence
):
    if min_lr == "per group":
        min_lr = [0.05 / (i + 1) for i in range(len(groups))]
    kwargs = dict(
        mode=mode,
        factor=factor,
        patience=patience,
        threshold=threshold,
        threshold_mode=threshold_mode,
        cooldown=cooldown,
        min_lr=min_lr,
        eps=eps,
    )
    pair = PlateauPair(opt[0], groups, opt[1], **kwargs)
    for epoch, metric in enumerate(sequence):
        pair.step(metric, f"epoch {epoch}: {metric}")
        if epoch == len(sequence) // 2:  # a copy resumed from the state dict carries on the same
            resumed = PlateauPair(opt[0], groups, opt[1], **kwargs)
            for group, theirs in zip(resumed.opt.param_groups, pair.opt.param_groups):
                group["lr"] = theirs["lr"]
            for group, theirs in zip(resumed.torch_opt.param_groups, pair.opt.param_groups):
                group["lr"] = theirs["lr"]
            resumed.ours.load_state_dict(pair.ours.state_dict())
            resumed.theirs.load_state_dict(pair.theirs.state_dict())
            resumed.check("resumed")
            pair = resumed


def test_the_lr_drops_after_patience_bad_epochs_then_waits_the_cooldown():
    p = mg.zeros(1, requires_grad=True)
    opt = mg.optim.SGD([p], lr=1.0)
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=2)
    lrs = []
    for loss in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5]:
        scheduler.step(loss)
        lrs.append(opt.param_groups[0]["lr"])
    # epoch 1 sets the best; 2, 3, 4 are bad (3 > patience 2): halve; 5, 6 cooldown; 7, 8, then
    # 9 improves (0.5): no third reduction.
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert scheduler.best == 0.5 and scheduler.num_bad_epochs == 1
    scheduler.step(mg.tensor(0.25, requires_grad=True))  # a 0-d Tensor, as the loss comes
    assert scheduler.best == 0.25


def test_a_state_dict_has_torchs_keys_and_loads_into_torchs_scheduler():
    p = mg.zeros(1, requires_grad=True)
    opt = mg.optim.SGD([p], lr=0.1)
    ours = lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=1, min_lr=[1e-3])
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(
        torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1),
        mode="max",
        patience=1,
        min_lr=[1e-3],
    )
    for metric in [0.5, 0.4, 0.3, 0.9]:
        ours.step(metric)
        theirs.step(metric)
    assert ours.state_dict() == theirs.state_dict()
    assert list(ours.state_dict()) == list(theirs.state_dict())  # the same keys, in order
    fresh = torch.optim.lr_scheduler.ReduceLROnPlateau(
        torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    )
    fresh.load_state_dict(ours.state_dict())
    assert fresh.mode == "max" and fresh.best == 0.9 and fresh._is_better(1.0, fresh.best)


def test_a_compiled_step_uses_the_reduced_lr():
    def run(compiled):
        torch.manual_seed(0)
        model = mg.nn.Sequential(mg.nn.Linear(4, 8), mg.nn.ReLU(), mg.nn.Linear(8, 1))
        opt = mg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        scheduler = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0, threshold=0.5)

        def train_step(xb, yb):
            loss = mg.nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        step = mg.compile(train_step) if compiled else train_step
        generator, losses, lrs = torch.Generator().manual_seed(1), [], []
        for _ in range(12):
            xb = mg.Tensor(torch.randn(16, 4, generator=generator))
            yb = mg.Tensor(torch.randn(16, 1, generator=generator))
            loss = step(xb, yb)
            losses.append(loss._data.clone())
            scheduler.step(loss)  # threshold 0.5: most epochs are bad, the lr keeps halving
            lrs.append(scheduler.get_last_lr()[0])
        return losses, lrs, model, step

    eager_losses, eager_lrs, eager_model, _ = run(False)
    losses, lrs, model, step = run(True)
    assert lrs == eager_lrs and len(set(lrs)) > 3  # the lr did change, several times
    assert all(torch.equal(a, b) for a, b in zip(losses, eager_losses))
    for p, q in zip(model.parameters(), eager_model.parameters()):
        assert torch.equal(p._data, q._data)
    assert step.traces == 2  # the lr is read before each replay: no new recording


def test_reduce_lr_on_plateau_errors_teach():
    opt = mg.optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match=r"Factor should be < 1.0. \(got factor=1.5\)"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        torch.optim.lr_scheduler.ReduceLROnPlateau(
            torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))]), factor=1.0
        )
    with pytest.raises(ValueError, match="mode 'minimum' is unknown! Use mode='min'"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="minimum")
    with pytest.raises(ValueError, match="threshold mode 'relative' is unknown!"):
        lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="relative")
    with pytest.raises(ValueError, match="expected 1 min_lrs, got 2: give min_lr one value"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1, 0.2])
    torch_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(TypeError, match="schedules a minigrad.optim optimizer, got torch.optim"):
        lr_scheduler.ReduceLROnPlateau(torch_opt)
    scheduler = lr_scheduler.ReduceLROnPlateau(opt)
    with pytest.raises(ValueError, match=r"one number .* shape \(3,\): reduce it first"):
        scheduler.step(mg.ones(3))
    # a group added after the scheduler: a single min_lr extends to it, a list cannot
    listed = lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0])
    opt.add_param_group({"params": [mg.zeros(1, requires_grad=True)], "lr": 0.2})
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    scheduler.min_lrs = [0]  # as if built before the group was added
    scheduler.step(1.0)
    scheduler.step(2.0)
    assert scheduler.min_lrs == [0, 0] and scheduler.get_last_lr() == [0.1 * 0.1, 0.2 * 0.1]
    listed.step(1.0)
    with pytest.raises(RuntimeError, match="differs from when `ReduceLROnPlateau` was initialized"):
        listed.step(2.0)
