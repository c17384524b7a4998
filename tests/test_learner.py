"""The Learner on tiny synthetic data, with stand-ins for the model, optimizer and loaders.

The stand-ins are the few lines of fastbook chapter 4, so these tests depend only on the core
(Tensor, autograd) and on the Learner itself.
"""

from __future__ import annotations

import functools
import io
import math

import pytest
import torch

import minigrad as mg
from minigrad.learner import Learner, SuggestedLRs, metric_name

# ---- stand-ins -----------------------------------------------------------------------------


class LinearModel:
    """xb @ weights + bias, one output: fastbook's linear1."""

    def __init__(self, n_in: int, dtype=mg.float32) -> None:
        self.weights = (mg.randn(n_in, 1, dtype=dtype) * 0.1).requires_grad_()
        self.bias = mg.zeros(1, dtype=dtype, requires_grad=True)

    def parameters(self) -> list[mg.Tensor]:
        return [self.weights, self.bias]

    def __call__(self, xb: mg.Tensor) -> mg.Tensor:
        return xb @ self.weights + self.bias


class PlainSGD:
    """The chapter's update, p -= lr * grad, behind the optimizer interface."""

    def __init__(self, params: list[mg.Tensor], lr: float) -> None:
        self.params, self.lr = params, lr
        self.steps = 0

    def step(self) -> None:
        self.steps += 1
        for p in self.params:
            p.data -= p.grad * self.lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


class Batches:
    """Consecutive mini-batches of (x, y), the last one possibly smaller."""

    def __init__(self, x: mg.Tensor, y: mg.Tensor, batch_size: int) -> None:
        self.x, self.y, self.batch_size = x, y, batch_size

    def __iter__(self):
        for start in range(0, len(self.x), self.batch_size):
            yield self.x[start : start + self.batch_size], self.y[start : start + self.batch_size]

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)


class DataLoaders:
    def __init__(self, train: Batches, valid: Batches) -> None:
        self.train, self.valid = train, valid


def mnist_loss(predictions: mg.Tensor, targets: mg.Tensor) -> mg.Tensor:
    predictions = predictions.sigmoid()
    return mg.where(targets == 1, 1 - predictions, predictions).mean()


def batch_accuracy(predictions: mg.Tensor, targets: mg.Tensor) -> mg.Tensor:
    return ((predictions > 0).float() == targets).float().mean()


def mse(predictions: mg.Tensor, targets: mg.Tensor) -> mg.Tensor:
    return ((predictions - targets) ** 2).mean()


def separable_data(n: int = 300, n_in: int = 4, dtype=mg.float32) -> DataLoaders:
    """Points labelled by the side of a random plane they fall on: learnable to ~100%."""
    x = mg.randn(n, n_in, dtype=dtype)
    y = (x @ mg.randn(n_in, 1, dtype=dtype) > 0).to(dtype)
    cut = n * 4 // 5
    return DataLoaders(Batches(x[:cut], y[:cut], 32), Batches(x[cut:], y[cut:], 25))


@pytest.fixture
def learner() -> Learner:
    mg.manual_seed(0)
    dls = separable_data()
    return Learner(dls, LinearModel(4), mnist_loss, PlainSGD, metrics=batch_accuracy)


# ---- fit -----------------------------------------------------------------------------------


def test_fit_reduces_the_loss_and_learns(learner: Learner) -> None:
    learner.fit(6, lr=1.0)
    rows = learner.recorder.rows
    assert [row.epoch for row in rows] == list(range(6))
    assert rows[-1].train_loss < rows[0].train_loss
    assert rows[-1].valid_loss < rows[0].valid_loss
    assert rows[-1].metrics["batch_accuracy"] > 0.9
    assert learner.opt.steps == 6 * len(learner.dls.train)


def test_fit_again_continues_with_the_same_optimizer_at_the_new_lr(learner: Learner) -> None:
    learner.fit(1, lr=1.0)
    first_opt = learner.opt
    learner.fit(2, lr=0.5)
    assert learner.opt is first_opt and learner.opt.lr == 0.5
    assert [row.epoch for row in learner.recorder.rows] == [0, 1, 2]


def test_fit_sets_the_lr_of_every_parameter_group_of_a_torch_style_optimizer() -> None:
    mg.manual_seed(0)
    learn = Learner(separable_data(), LinearModel(4), mnist_loss, mg.optim.SGD)
    learn.fit(1, lr=1.0)
    assert [g["lr"] for g in learn.opt.param_groups] == [1.0]
    learn.fit(1, lr=0.25)
    assert [g["lr"] for g in learn.opt.param_groups] == [0.25]
    learn.lr_find(num_it=20)  # its own optimizer: this one is left at 0.25
    assert learn.opt.param_groups[0]["lr"] == 0.25
    result = learn.recorder.lr_find
    assert result.lrs[0] == pytest.approx(1e-7) and len(result.lrs) == 20


def test_recorder_keeps_every_batch_loss(learner: Learner) -> None:
    learner.fit(3, lr=1.0)
    recorder = learner.recorder
    assert len(recorder.batch_losses) == 3 * len(learner.dls.train)
    assert all(math.isfinite(loss) for loss in recorder.batch_losses)
    # the epoch's train_loss is the batch losses' mean weighted by batch size
    sizes = [len(xb) for xb, _ in learner.dls.train]
    last = recorder.batch_losses[-len(sizes) :]
    expected = sum(loss * n for loss, n in zip(last, sizes)) / sum(sizes)
    assert recorder.rows[-1].train_loss == pytest.approx(expected, rel=1e-12)


def test_recorder_values_are_fastais_one_row_per_epoch(learner: Learner) -> None:
    learner.fit(3, lr=1.0)
    recorder = learner.recorder
    assert recorder.values == [
        [row.train_loss, row.valid_loss, row.metrics["batch_accuracy"]] for row in recorder.rows
    ]
    accuracies = [values[2] for values in recorder.values]  # fastbook: L(values).itemgot(2)
    assert all(0 <= a <= 1 for a in accuracies) and accuracies[-1] > 0.9
    batches = len(learner.dls.train)
    assert recorder.iters == [batches, 2 * batches, 3 * batches]


def test_recorder_losses_are_the_batch_losses_smoothed_as_fastai(learner: Learner) -> None:
    learner.fit(2, lr=1.0)
    raw, smoothed = learner.recorder.batch_losses, learner.recorder.losses
    assert len(smoothed) == len(raw) and smoothed[0] == pytest.approx(raw[0])
    average = 0.0
    for i, loss in enumerate(raw, start=1):  # fastai's AvgSmoothLoss: EMA 0.98, debiased
        average = 0.98 * average + 0.02 * loss
        assert smoothed[i - 1] == pytest.approx(average / (1 - 0.98**i), rel=1e-12)


def test_plot_loss_draws_fastais_learning_curve(learner: Learner, tmp_path) -> None:
    from matplotlib.figure import Figure

    learner.fit(3, lr=1.0)
    recorder = learner.recorder
    ax = Figure().subplots()
    assert recorder.plot_loss(skip_start=2, ax=ax, show_epochs=True) is ax
    train, valid = ax.get_lines()[0], ax.get_lines()[-1]
    assert list(train.get_xdata()) == list(range(2, len(recorder.batch_losses)))
    assert list(train.get_ydata()) == pytest.approx(recorder.losses[2:])
    assert list(valid.get_xdata()) == recorder.iters
    assert list(valid.get_ydata()) == pytest.approx([v[1] for v in recorder.values])
    assert len(ax.get_lines()) == 2 + 3  # the two curves and a line per epoch's end
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "valid"]
    ax = Figure().subplots()
    recorder.plot_loss(skip_start=len(recorder.batch_losses) // 2, log=True, ax=ax)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert len(ax.get_lines()[-1].get_xdata()) == 2  # the first epoch's end was skipped
    ax = recorder.plot_loss(path=tmp_path / "curve.png")  # pyplot's axes, as in a notebook
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_validate_averages_over_examples_not_batches() -> None:
    # 25, 25, 25, 5 examples: a mean of batch means would overweight the last five
    mg.manual_seed(1)
    x, y = mg.randn(80, 3, dtype=mg.float64), mg.randn(80, 1, dtype=mg.float64)
    model = LinearModel(3, dtype=mg.float64)
    dls = DataLoaders(Batches(x, y, 25), Batches(x, y, 25))
    learn = Learner(dls, model, mse, PlainSGD, metrics=[mse])
    loss, metric = learn.validate()
    with mg.no_grad():
        whole = mse(model(x), y).item()
    assert loss == pytest.approx(whole, rel=1e-12)
    assert metric == pytest.approx(whole, rel=1e-12)


def test_losses_are_read_back_once_per_epoch_not_once_per_batch(
    learner: Learner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each read of a tensor into Python waits for the GPU: count them."""
    reads = []
    for name in ("item", "tolist", "__float__"):
        original = getattr(mg.Tensor, name)

        def counted(self, *args, _original=original, _name=name):
            reads.append(_name)
            return _original(self, *args)

        monkeypatch.setattr(mg.Tensor, name, counted)
    learner.fit(2, lr=1.0)
    # per epoch: the train losses once (tolist), the valid loss and the metric once each
    assert len(learner.dls.train) > 3
    assert len(reads) == 2 * 3


# ---- the table -----------------------------------------------------------------------------


def test_table_has_a_column_per_metric_named_after_it(learner: Learner, capsys) -> None:
    learner.metrics.append(functools.partial(mse))
    learner.recorder.metric_names.append(metric_name(learner.metrics[-1]))
    learner.fit(2, lr=1.0)
    lines = capsys.readouterr().out.splitlines()
    columns = ["epoch", "train_loss", "valid_loss", "batch_accuracy", "mse", "time"]
    assert lines[0].split() == columns
    assert len(lines) == 3
    for epoch, line in enumerate(lines[1:]):
        cells = line.split()
        assert len(cells) == 6 and cells[0] == str(epoch)
        row = learner.recorder.rows[epoch]
        assert float(cells[1]) == pytest.approx(row.train_loss, abs=1e-6)
        assert float(cells[3]) == pytest.approx(row.metrics["batch_accuracy"], abs=1e-6)
        assert float(cells[5]) >= 0


def test_no_progress_bar_when_output_is_not_a_terminal(learner: Learner, capsys) -> None:
    learner.fit(2, lr=1.0)
    learner.lr_find(num_it=20)
    captured = capsys.readouterr()
    assert "\r" not in captured.out and "\x1b" not in captured.out
    assert captured.err == ""
    assert len(captured.out.splitlines()) == 1 + 2  # the header and one row per epoch


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_tqdm_bar_follows_the_batches_on_a_terminal(learner: Learner, monkeypatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    learner.fit(1, lr=1.0)
    learner.lr_find(num_it=7)
    drawn = terminal.getvalue()
    batches = len(learner.dls.train)
    # tqdm redraws at most every 0.1 s, so only its first drawing is sure: 0 of the total
    assert f"epoch 0 train:   0%|          | 0/{batches}" in drawn
    assert "lr_find:   0%|          | 0/7" in drawn
    assert drawn.endswith("\r")  # erased when done (leave=False): the table's row follows


def test_metric_names() -> None:
    assert metric_name(batch_accuracy) == "batch_accuracy"
    assert metric_name(functools.partial(mse)) == "mse"


# ---- lr_find -------------------------------------------------------------------------------


def test_lr_find_restores_parameters_and_suggests_finite_lrs(learner: Learner) -> None:
    before = [p.detach().clone() for p in learner.model.parameters()]
    suggestion = learner.lr_find(num_it=50)
    assert isinstance(suggestion, SuggestedLRs)
    assert all(math.isfinite(lr) and 1e-7 <= lr <= 10 for lr in suggestion)
    for p, saved in zip(learner.model.parameters(), before):
        assert p.tolist() == saved.tolist()
        assert p.grad is None
    assert learner.opt is None  # the finder's optimizer is its own
    result = learner.recorder.lr_find
    assert len(result.lrs) == len(result.losses) == 50  # this loss is bounded: no divergence
    assert result.lrs[0] == pytest.approx(1e-7) and result.lrs[-1] == pytest.approx(10)
    ratios = [b / a for a, b in zip(result.lrs, result.lrs[1:])]
    assert ratios == pytest.approx([ratios[0]] * len(ratios))  # exponential growth


def test_lr_find_min_rule_is_a_tenth_of_the_lr_at_the_lowest_loss(learner: Learner) -> None:
    suggestion = learner.lr_find(num_it=60)
    result = learner.recorder.lr_find
    kept = slice(6, 55)  # the first 10% and last 5 points are left out, as in fastai
    lowest = min(zip(result.losses[kept], result.lrs[kept]))
    assert suggestion.lr_min == pytest.approx(lowest[1] / 10)


def test_lr_find_stops_when_the_loss_explodes() -> None:
    mg.manual_seed(2)
    x = mg.randn(64, 3)
    y = x @ mg.tensor([[1.0], [-2.0], [0.5]])
    dls = DataLoaders(Batches(x, y, 8), Batches(x, y, 8))
    learn = Learner(dls, LinearModel(3), mse, PlainSGD)
    before = [p.detach().clone() for p in learn.model.parameters()]
    suggestion = learn.lr_find(start_lr=1e-4, end_lr=1e3, num_it=200)
    losses = learn.recorder.lr_find.losses
    assert len(losses) < 200  # SGD on squared error diverges past lr ~ 1
    assert all(math.isfinite(loss) for loss in losses)
    running_min = [min(losses[: i + 1]) for i in range(len(losses))]
    # the curve runs until the loss turns up, as fastai's: its last point is the first past 4x
    assert all(loss <= 4 * best for loss, best in zip(losses[1:-1], running_min))
    assert losses[-1] > 4 * running_min[-2]
    assert suggestion.lr_min < 1
    for p, saved in zip(learn.model.parameters(), before):
        assert p.tolist() == saved.tolist()


def test_the_lr_find_plot_marks_each_suggested_rate_on_the_curve(learner: Learner) -> None:
    import matplotlib  # noqa: F401  (a dev dependency: missing it must fail, not skip)

    suggestion = learner.lr_find(num_it=40)
    result = learner.recorder.lr_find
    assert result.suggested == suggestion
    axes = result.figure().axes[0]
    curve, *marks = axes.get_lines()
    # as fastai's plot: all but the last 5 points, where the loss explodes
    assert list(curve.get_xdata()) == result.lrs[:-5]
    assert list(curve.get_ydata()) == result.losses[:-5]
    labels = [mark.get_label() for mark in marks]
    assert labels == [f"lr_min = {suggestion.lr_min:.2g}", f"lr_steep = {suggestion.lr_steep:.2g}"]
    for mark, lr in zip(marks, suggestion):
        assert list(mark.get_xdata()) == [lr]
        (y,) = mark.get_ydata()
        assert min(result.losses) <= y <= max(result.losses)  # on the curve
    assert [t.get_text() for t in axes.get_legend().get_texts()] == labels


def test_plots_are_written(learner: Learner, tmp_path) -> None:
    import matplotlib  # noqa: F401  (a dev dependency: missing it must fail, not skip)

    learner.lr_find(num_it=20)
    learner.fit(2, lr=1.0)
    learner.recorder.plot(tmp_path / "history.png")
    learner.recorder.lr_find.plot(tmp_path / "lr_find.png")
    for name in ("history.png", "lr_find.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- errors --------------------------------------------------------------------------------


def test_a_model_without_parameters_is_refused_with_a_reason(learner: Learner) -> None:
    learner.model = lambda xb: xb
    with pytest.raises(TypeError, match="parameters"):
        learner.fit(1, lr=0.1)


def test_empty_training_set_is_refused(learner: Learner) -> None:
    x = mg.zeros(0, 4)
    learner.dls.train = Batches(x, x, 8)
    with pytest.raises(ValueError, match="empty"):
        learner.fit(1, lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        learner.lr_find(num_it=5)


def test_compile_trains_exactly_as_eager_and_replays() -> None:
    def learner(compile: bool) -> Learner:
        mg.manual_seed(0)
        dls = separable_data()
        model = mg.nn.Sequential(mg.nn.Linear(4, 8), mg.nn.ReLU(), mg.nn.Linear(8, 1))
        opt = functools.partial(mg.optim.SGD, momentum=0.9)
        return Learner(dls, model, mnist_loss, opt, metrics=batch_accuracy, compile=compile)

    eager, compiled = learner(False), learner(True)
    for learn in (eager, compiled):
        learn.fit(3, lr=0.1)
    assert compiled.recorder.batch_losses == eager.recorder.batch_losses
    for p, q in zip(compiled.model.parameters(), eager.model.parameters()):
        assert torch.equal(p._data, q._data)
    (step,) = compiled._steps.values()
    # recorded: the first step (no momentum yet), the second, the smaller last batch
    assert step.traces == 3 and step.replays == 3 * len(compiled.dls.train) - 3
