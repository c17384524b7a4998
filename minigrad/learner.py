"""`Learner`: fastbook chapter 4's training loop, packaged the way fastai packages it.

    learn = Learner(dls, model, loss_func=mnist_loss, opt_func=SGD, metrics=batch_accuracy)
    learn.fit(10, lr=1.0)

For each epoch, `fit` runs the loop the chapter writes by hand, then prints one row of a table:

    for xb, yb in dls.train:                  # train: one step per mini-batch
        loss = loss_func(model(xb), yb)
        loss.backward()                       # gradients into each parameter's .grad
        opt.step()                            # p -= lr * p.grad
        opt.zero_grad()                       # gradients add up: clear them for the next batch
    with no_grad():                           # validate: no graph needed, nothing to learn
        loss and metrics over dls.valid, averaged over the examples

    epoch  train_loss  valid_loss  batch_accuracy  time
    0      0.636857    0.503549    0.495584        0.02

`lr_find` is fastbook chapter 5's learning-rate finder. `recorder` keeps the history to plot.

Speed: on a GPU, turning a tensor into a Python number (`.item()`, `float()`) makes the CPU wait
for the GPU to finish. So the losses of an epoch are kept as tensors and read back once, at
its end, not once per batch.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, TextIO

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from .autograd.grad_mode import no_grad
from .creation import stack
from .optim import SGD
from .serialization import save
from .tensor import Tensor

Batches = Iterable[tuple[Any, Any]]
Metric = Callable[[Tensor, Any], Any]


class DataLoadersLike(Protocol):
    """What a Learner needs from `dls`: the training and validation batches."""

    train: Batches
    valid: Batches


class Optimizer(Protocol):
    """What a Learner needs from an optimizer: step() and zero_grad(), and a learning rate it
    can set: torch's `param_groups[i]["lr"]`, or an `lr` attribute (fastbook's BasicOptim)."""

    def step(self) -> None: ...

    def zero_grad(self) -> None: ...


OptFunc = Callable[[list[Tensor], float], Optimizer]


@dataclass
class EpochRow:
    """One row of the table that `fit` prints."""

    epoch: int
    train_loss: float
    valid_loss: float
    metrics: dict[str, float]
    time: float  # seconds, training and validation together


@dataclass
class Recorder:
    """What happened during training: the loss of every batch, and one row per epoch.

    fastai's names read it the way fastbook does:
        values    per epoch, [train_loss, valid_loss, *metrics]   (L(values).itemgot(2): accuracy)
        losses    the training loss of every batch, smoothed as fastai smooths it
        iters     the number of training batches at the end of each epoch
        plot_loss()  those curves, the validation loss at each epoch's end
    """

    metric_names: list[str]
    batch_losses: list[float] = field(default_factory=list)
    rows: list[EpochRow] = field(default_factory=list)
    iters: list[int] = field(default_factory=list)
    lr_find: LRFinderResult | None = None

    @property
    def values(self) -> list[list[float]]:
        """Per epoch, [train_loss, valid_loss, *metrics]: the numbers of the table's rows."""
        return [
            [row.train_loss, row.valid_loss, *(row.metrics[name] for name in self.metric_names)]
            for row in self.rows
        ]

    @property
    def losses(self) -> list[float]:
        """Each batch's training loss, smoothed: an exponential moving average (weight 0.98 on
        the past), debiased, as fastai's recorder keeps it. Raw ones: `batch_losses`."""
        return _smooth(self.batch_losses, beta=0.98)

    def plot_loss(
        self,
        skip_start: int = 5,
        with_valid: bool = True,
        log: bool = False,
        show_epochs: bool = False,
        ax: Any = None,
        path: str | os.PathLike | None = None,
    ) -> Any:
        """fastai's learning curve: the smoothed training loss per batch (leaving out the first
        `skip_start`), and the validation loss at the end of each epoch. Draws on `ax` (a
        matplotlib Axes), or on pyplot's current one, which a notebook shows; log=True puts
        both axes on log scales, show_epochs marks where each epoch ends; `path` also writes
        the figure there (a PNG). Returns the Axes."""
        if ax is None:
            ax = _pyplot().gca()
        losses = self.losses
        steps = list(range(skip_start, len(losses)))
        draw = ax.loglog if log else ax.plot
        draw(steps, losses[skip_start:], label="train")
        if show_epochs:
            for end in self.iters:
                ax.axvline(end, color="grey", ls=":")
        ax.set(xlabel="steps", ylabel="loss", title="learning curve")
        if with_valid:
            shown = [(end, row.valid_loss) for end, row in zip(self.iters, self.rows)]
            shown = [(end, loss) for end, loss in shown if end >= skip_start]
            ax.plot([end for end, _ in shown], [loss for _, loss in shown], label="valid")
            ax.legend()
        if path is not None:
            ax.figure.savefig(path)
        return ax

    def plot(self, path: str) -> None:
        """Write a PNG: losses (train per batch, valid per epoch) and the metrics per epoch."""
        figure = _new_figure(width=10)
        loss_axes, metric_axes = figure.subplots(1, 2)
        loss_axes.plot(self.batch_losses, label="train (per batch)", alpha=0.6)
        ends = [end - 1 for end in self.iters]  # the last batch of each epoch
        loss_axes.plot(ends, [row.valid_loss for row in self.rows], "o-", label="valid")
        loss_axes.set(xlabel="batch", ylabel="loss", title="loss")
        loss_axes.legend()
        epochs = [row.epoch for row in self.rows]
        for name in self.metric_names:
            metric_axes.plot(epochs, [row.metrics[name] for row in self.rows], "o-", label=name)
        metric_axes.set(xlabel="epoch", title="validation metrics")
        if self.metric_names:
            metric_axes.legend()
        figure.savefig(path)


@dataclass
class LRFinderResult:
    """The learning-rate finder's curve: the smoothed loss at each learning rate tried, up to
    and including the first point where it blew up (past 4x its minimum), and the rates that
    `lr_find` suggested from it."""

    lrs: list[float]
    losses: list[float]
    suggested: SuggestedLRs | None = None

    def plot(self, path: str) -> None:
        """Write `figure()` to `path` (a PNG, or any format matplotlib knows by its suffix)."""
        self.figure().savefig(path)

    def figure(self, skip_end: int = 5) -> Any:
        """Loss against learning rate (log scale), as fastai's `lr_find` shows it: the curve
        until the loss turns up, less its last `skip_end` points (where it explodes, which would
        squash the rest of the curve flat), and a dot on it at each suggested learning rate."""
        figure = _new_figure(width=6)
        axes = figure.subplots()
        shown = len(self.lrs) - skip_end if len(self.lrs) > 2 * skip_end else len(self.lrs)
        axes.plot(self.lrs[:shown], self.losses[:shown])
        axes.set(xscale="log", xlabel="learning rate", ylabel="loss (smoothed)", title="lr_find")
        if self.suggested is not None:
            log_lrs = [math.log(lr) for lr in self.lrs]
            for (name, lr), color in zip(self.suggested._asdict().items(), ("C1", "C2")):
                loss = float(np.interp(math.log(lr), log_lrs, self.losses))
                axes.plot([lr], [loss], "o", color=color, label=f"{name} = {lr:.2g}")
            axes.legend()
        return figure


class SuggestedLRs(NamedTuple):
    """fastbook chapter 5's two rules of thumb for a learning rate, read off the lr_find curve.

    lr_min:   a tenth of the learning rate where the loss was lowest (past it, training
              diverges soon, so stay an order of magnitude below).
    lr_steep: the learning rate where the loss fell fastest.
    """

    lr_min: float
    lr_steep: float


class Learner:
    """Trains `model` on `dls.train` with `loss_func`, and reports `metrics` on `dls.valid`.

    dls:       anything with `.train` and `.valid`, iterables of `(xb, yb)` batches.
    model:     a callable `model(xb) -> predictions`, with a `parameters()` method.
    loss_func: `loss_func(predictions, yb) -> a scalar Tensor`, the mean over the batch.
    opt_func:  `opt_func(parameters, lr) -> optimizer` with `step()`, `zero_grad()` and torch's
               `param_groups`, or an `lr` attribute (default `minigrad.optim.SGD`).
    metrics:   a function `metric(predictions, yb)` or a list of them; each gets a column,
               named after the function, averaged over the validation examples.
    """

    def __init__(
        self,
        dls: DataLoadersLike,
        model: Any,
        loss_func: Callable[[Any, Any], Tensor],
        opt_func: OptFunc = SGD,
        metrics: Metric | Sequence[Metric] | None = None,
        compile: bool = False,  # noqa: A002  (minigrad.compile's name)
    ) -> None:
        self.dls = dls
        self.model = model
        self.loss_func = loss_func
        self.opt_func = opt_func
        self.metrics = _as_list(metrics)
        self.opt: Optimizer | None = None  # made by the first fit, kept (with its state) after
        self.recorder = Recorder([metric_name(m) for m in self.metrics])
        # With compile=True each training step is recorded once and then replayed (one replay
        # per optimizer: lr_find trains with its own): minigrad.compile.
        self.compile = compile
        self._steps: dict[int, Callable[[Any, Any], Tensor]] = {}

    # ---- training ------------------------------------------------------------------------

    def fit(self, epochs: int, lr: float = 1e-3) -> None:
        """Train for `epochs` passes over `dls.train` at learning rate `lr`, printing a row
        after each epoch (a tqdm bar shows the batches, in a terminal or a notebook)."""
        self._fit(epochs, self._optimizer(lr))

    def fit_one_cycle(
        self,
        n_epoch: int,
        lr_max: float = 1e-3,
        div: float = 25.0,
        div_final: float = 1e5,
        pct_start: float = 0.25,
        moms: tuple[float, float, float] = (0.95, 0.85, 0.95),
    ) -> None:
        """fastai's 1cycle training (fastbook chapter 13): the learning rate warms up from
        lr_max / div to lr_max over the first `pct_start` of the batches, then anneals to
        lr_max / div_final, both along a cosine; the momentum (SGD's, or Adam's beta1) goes the
        other way, from moms[0] down to moms[1] and back to moms[2]. One scheduler step per
        batch: torch's OneCycleLR (minigrad.optim.lr_scheduler) with fastai's defaults."""
        from .optim.lr_scheduler import OneCycleLR

        if moms[2] != moms[0]:  # torch's OneCycleLR ends where it starts
            raise ValueError(f"fit_one_cycle: moms must end where they start, got {moms}")
        opt = self._optimizer(lr_max / div)
        steps = _length(self.dls.train)
        if not steps:
            raise ValueError(
                "fit_one_cycle needs to know how many batches an epoch has, to shape the cycle: "
                "dls.train must have a len() (a DataLoader has)."
            )
        defaults = getattr(opt, "defaults", {})
        schedule = OneCycleLR(
            opt,
            max_lr=lr_max,
            epochs=n_epoch,
            steps_per_epoch=steps,
            pct_start=pct_start,
            div_factor=div,
            final_div_factor=div_final / div,  # torch's is relative to the start, lr_max / div
            cycle_momentum="momentum" in defaults or "betas" in defaults,
            max_momentum=moms[0],
            base_momentum=moms[1],
        )
        self._fit(n_epoch, opt, after_step=schedule.step)

    def _fit(self, epochs: int, opt: Optimizer, after_step: Callable[[], None] | None = None):
        columns = ["epoch", "train_loss", "valid_loss", *self.recorder.metric_names, "time"]
        table = _Table(columns, sys.stdout)
        table.print_header()
        for _ in range(epochs):
            epoch = len(self.recorder.rows)
            start = time.perf_counter()
            _set_sampler_epoch(self.dls.train, epoch)
            train_loss = self._train_epoch(opt, f"epoch {epoch} train", after_step)
            valid_loss, *metric_values = self.validate()
            row = EpochRow(
                epoch=epoch,
                train_loss=train_loss,
                valid_loss=valid_loss,
                metrics=dict(zip(self.recorder.metric_names, metric_values)),
                time=time.perf_counter() - start,
            )
            self.recorder.rows.append(row)
            self.recorder.iters.append(len(self.recorder.batch_losses))
            table.print_row([epoch, train_loss, valid_loss, *metric_values, row.time])

    def _optimizer(self, lr: float) -> Optimizer:
        if self.opt is None:
            self.opt = self.opt_func(self._parameters(), lr)
        set_lr(self.opt, lr)
        return self.opt

    def _parameters(self) -> list[Tensor]:
        parameters = getattr(self.model, "parameters", None)
        if parameters is None:
            raise TypeError(
                f"the model ({type(self.model).__name__}) has no parameters() method, so the "
                "Learner cannot tell what to train. Use a minigrad.nn.Module, or give the "
                "object a parameters() method returning the tensors to update."
            )
        return list(parameters())

    def _train_step(self, xb: Any, yb: Any, opt: Optimizer) -> Tensor:
        """One mini-batch: forward, loss, backward, update, clear the gradients."""
        step = self._steps.get(id(opt))
        if step is None:
            self._steps = {id(opt): self._make_step(opt)}  # (a new optimizer: a new step)
            step = self._steps[id(opt)]
        return step(xb, yb).detach()

    def _make_step(self, opt: Optimizer) -> Callable[[Any, Any], Tensor]:
        model, loss_func = self.model, self.loss_func

        def train_step(xb: Any, yb: Any) -> Tensor:
            loss = loss_func(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        if not self.compile:
            return train_step
        from .jit import compile as record_and_replay

        return record_and_replay(train_step)

    def _train_epoch(
        self, opt: Optimizer, label: str, after_step: Callable[[], None] | None = None
    ) -> float:
        """Train on every batch of dls.train (calling `after_step` after each: a learning-rate
        schedule); return the mean loss over the examples."""
        _set_mode(self.model, training=True)
        losses: list[Tensor] = []  # tensors, read back once at the end (see the module's doc)
        sizes: list[int] = []
        for xb, yb in _progress(self.dls.train, label, total=_length(self.dls.train)):
            losses.append(self._train_step(xb, yb, opt))
            if after_step is not None:
                after_step()
            sizes.append(len(xb))
        if not losses:
            raise ValueError("dls.train gave no batches: the training set is empty.")
        batch_losses = stack(losses).tolist()
        self.recorder.batch_losses.extend(batch_losses)
        return sum(loss * n for loss, n in zip(batch_losses, sizes)) / sum(sizes)

    # ---- validation ----------------------------------------------------------------------

    def validate(self, dl: Batches | None = None) -> list[float]:
        """[loss, *metrics] over `dl` (default `dls.valid`), each averaged over the examples."""
        dl = self.dls.valid if dl is None else dl
        _set_mode(self.model, training=False)
        totals: list[Any] = [0.0] * (1 + len(self.metrics))  # tensors once batches come in
        count = 0
        with no_grad():
            for xb, yb in dl:
                predictions = self.model(xb)
                values = [self.loss_func(predictions, yb)]
                values += [metric(predictions, yb) for metric in self.metrics]
                n = len(xb)
                totals = [total + value * n for total, value in zip(totals, values)]
                count += n
        if count == 0:
            raise ValueError("the validation batches were empty: nothing to measure.")
        return [float(total) / count for total in totals]

    # ---- the learning-rate finder -----------------------------------------------------------

    def lr_find(
        self,
        start_lr: float = 1e-7,
        end_lr: float = 10.0,
        num_it: int = 100,
        stop_div: bool = True,
        beta: float = 0.98,
        check_every: int = 10,
    ) -> SuggestedLRs:
        """fastbook chapter 5's learning-rate finder.

        Train on up to `num_it` mini-batches (going round dls.train again if needed), the
        learning rate growing by the same factor at each one, from `start_lr` to `end_lr`.
        The loss, smoothed (an exponential moving average, weight `beta`), first falls, then
        turns up and explodes; with `stop_div`, stop once it exceeds 4 times its minimum, as
        fastai does. The model's parameters are then put back as they were. The curve, up to
        that first point past 4x, is kept in `recorder.lr_find` with the suggested rates
        (`.plot(path)` draws both). Divergence is checked every `check_every` batches, so that
        the losses are read back from the device once per check, not once per batch.
        """
        if num_it < 2 or not 0 < start_lr < end_lr:
            raise ValueError(
                f"lr_find needs num_it >= 2 and 0 < start_lr < end_lr; got num_it={num_it}, "
                f"start_lr={start_lr}, end_lr={end_lr}."
            )
        parameters = self._parameters()
        saved = [p.detach().clone() for p in parameters]
        opt = self.opt_func(parameters, start_lr)  # a fresh one: self.opt's state is untouched
        growth = (end_lr / start_lr) ** (1 / (num_it - 1))
        lrs: list[float] = []
        losses: list[Tensor] = []
        _set_mode(self.model, training=True)
        batches = _progress(_cycle(self.dls.train, num_it), "lr_find", total=num_it)
        try:
            for i, (xb, yb) in enumerate(batches):
                lrs.append(start_lr * growth**i)
                set_lr(opt, lrs[-1])
                losses.append(self._train_step(xb, yb, opt))
                if stop_div and (i + 1) % check_every == 0 and _diverged(_read(losses), beta):
                    break
        finally:
            batches.close()
            _restore(parameters, saved)
        smoothed = _smooth(_read(losses), beta)
        keep = _through_divergence(smoothed) if stop_div else len(smoothed)
        result = LRFinderResult(lrs[:keep], smoothed[:keep])
        result.suggested = _suggest(result)
        self.recorder.lr_find = result
        return result.suggested

    # ---- saving and loading ------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the model's parameters to `path` (see `save_model`)."""
        save_model(self.model, path)

    def load(self, path: str | os.PathLike) -> None:
        """Read parameters written by `save` into the model (see `load_model`)."""
        load_model(self.model, path)


def save_model(model: Any, path: str | os.PathLike) -> None:
    """Write `model.state_dict()` to `path` (minigrad.save: torch's format, written atomically:
    a crash midway leaves the previous file as it was, never a half-written one)."""
    save(model.state_dict(), path)


def load_model(model: Any, path: str | os.PathLike) -> None:
    """Load parameters written by `save_model` into `model` (a model built the same way)."""
    state = torch.load(path, map_location="cpu", weights_only=True)  # tensors only, no code
    model.load_state_dict(state)


# ---- helpers -------------------------------------------------------------------------------


def set_lr(opt: Optimizer, lr: float) -> None:
    """Set the learning rate of every parameter group (torch's optimizers), or the `lr`
    attribute of an optimizer written by hand."""
    groups = getattr(opt, "param_groups", None)
    if groups is None:
        opt.lr = lr  # type: ignore[attr-defined]
        return
    for group in groups:
        group["lr"] = lr


def metric_name(metric: Callable[..., Any]) -> str:
    """The column name of a metric: its function's name (also through functools.partial)."""
    target = getattr(metric, "func", metric)
    return getattr(target, "__name__", type(target).__name__)


def _as_list(metrics: Metric | Sequence[Metric] | None) -> list[Metric]:
    if metrics is None:
        return []
    if callable(metrics):
        return [metrics]
    return list(metrics)


def _set_mode(model: Any, training: bool) -> None:
    """model.train() or model.eval(), for models that have them (a plain function has not)."""
    method = getattr(model, "train" if training else "eval", None)
    if callable(method):
        method()


def _progress(batches: Iterable[Any], description: str, total: int | None) -> tqdm:
    """The batches under tqdm's bar: in a terminal, or a widget in a notebook (tqdm.auto);
    nothing in a log or a pipe (disable=None). Erased when done: the table's row follows.
    In data-parallel training, rank 0's bar only, as fastai does."""
    other_rank = dist.is_available() and dist.is_initialized() and dist.get_rank() != 0
    disable = True if other_rank else None
    return tqdm(batches, desc=description, total=total, unit="batch", leave=False, disable=disable)


def _set_sampler_epoch(batches: Batches, epoch: int) -> None:
    """Tell a sampler that shuffles per epoch (a DistributedSampler) which epoch starts, as
    torch's training loops do by hand: without it, every epoch repeats the first one's order."""
    set_epoch = getattr(getattr(batches, "sampler", None), "set_epoch", None)
    if callable(set_epoch):
        set_epoch(epoch)


def _length(batches: Batches) -> int | None:
    try:
        return len(batches)  # type: ignore[arg-type]
    except TypeError:
        return None


def _cycle(batches: Batches, count: int) -> Iterator[tuple[Any, Any]]:
    """`count` batches, going through `batches` again (a new shuffle) as often as needed."""
    given = 0
    while given < count:
        empty = True
        for batch in batches:
            empty = False
            yield batch
            given += 1
            if given == count:
                return
        if empty:
            raise ValueError("dls.train gave no batches: the training set is empty.")


def _read(losses: list[Tensor]) -> list[float]:
    return stack(losses).tolist()


def _restore(parameters: list[Tensor], saved: list[Tensor]) -> None:
    with no_grad():
        for p, value in zip(parameters, saved):
            p.copy_(value)
            p.grad = None


def _smooth(values: list[float], beta: float) -> list[float]:
    """An exponential moving average, debiased (as fastai's recorder smooths the loss): the
    early values are not dragged towards the average's starting point, 0."""
    average, smoothed = 0.0, []
    for i, value in enumerate(values, start=1):
        average = beta * average + (1 - beta) * value
        smoothed.append(average / (1 - beta**i))
    return smoothed


def _first_divergence(smoothed: list[float]) -> int | None:
    """The index of the first loss above 4x the minimum before it (or NaN); None if none is."""
    best = math.inf
    for i, loss in enumerate(smoothed):
        if not math.isfinite(loss) or loss > 4 * best:
            return i
        best = min(best, loss)
    return None


def _through_divergence(smoothed: list[float]) -> int:
    """How many points to keep: all, up to the first that blew up, which shows the turn (fastai
    keeps it too); without it when it is not a number, which no plot can show."""
    first = _first_divergence(smoothed)
    if first is None:
        return len(smoothed)
    return max(first + 1 if math.isfinite(smoothed[first]) else first, 1)


def _diverged(losses: list[float], beta: float) -> bool:
    return _first_divergence(_smooth(losses, beta)) is not None


def _suggest(result: LRFinderResult) -> SuggestedLRs:
    """fastai's rules, after dropping the first 10% of points (the smoothing is still warming
    up) and, when enough remain, the last 5 (the loss is exploding)."""
    lrs, losses = result.lrs, result.losses
    start = len(lrs) // 10
    end = len(lrs) - 5 if len(lrs) - start > 10 else len(lrs)
    lrs, losses = lrs[start:end], losses[start:end]
    lowest = min(range(len(losses)), key=losses.__getitem__)
    if len(lrs) < 2:
        return SuggestedLRs(lrs[lowest] / 10, lrs[lowest])
    slopes = [  # d loss / d log(lr) between neighbouring points
        (losses[i + 1] - losses[i]) / (math.log(lrs[i + 1]) - math.log(lrs[i]))
        for i in range(len(lrs) - 1)
    ]
    steepest = min(range(len(slopes)), key=slopes.__getitem__)
    return SuggestedLRs(lr_min=lrs[lowest] / 10, lr_steep=lrs[steepest])


class _Table:
    """fastai's epoch table: a header, then one left-aligned row per epoch."""

    def __init__(self, columns: list[str], stream: TextIO) -> None:
        self.widths = [max(len(name), 8) + 2 for name in columns]
        self.columns = columns
        self.stream = stream

    def print_header(self) -> None:
        self._print(self.columns)

    def print_row(self, values: list[Any]) -> None:
        epoch, *numbers, seconds = values
        self._print([str(epoch), *(f"{v:.6f}" for v in numbers), f"{seconds:.2f}"])

    def _print(self, cells: list[str]) -> None:
        line = "".join(cell.ljust(width) for cell, width in zip(cells, self.widths))
        print(line.rstrip(), file=self.stream, flush=True)


def _pyplot() -> Any:
    """matplotlib.pyplot, for plots drawn where a notebook shows them."""
    return _matplotlib("matplotlib.pyplot")


def _new_figure(width: float) -> Any:
    """A matplotlib Figure (no pyplot, so no window and no backend to choose)."""
    Figure = _matplotlib("matplotlib.figure").Figure  # noqa: N806  (a class)
    return Figure(figsize=(width, 4), layout="tight")


def _matplotlib(module: str) -> Any:
    """Import a matplotlib module, or say how to install matplotlib."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            "plotting needs matplotlib, which is not installed: pip install matplotlib "
            "(or pip install -e '.[plot]')"
        ) from error
