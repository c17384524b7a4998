"""Train an MNIST digit classifier with minigrad.nn, minigrad.optim and a Learner.

    python examples/digits.py                               # fours vs eights, linear, 20 epochs
    python examples/digits.py --model mlp                   # 784-30-1 with a ReLU
    python examples/digits.py --digits all --model mlp      # all ten digits, 784-256-128-10
    python examples/digits.py --digits all --model cnn      # fastbook chapter 13's CNN, 1cycle
    python examples/digits.py --lr find --plot curves.png --save model.pt
    torchrun --nproc_per_node 2 examples/digits.py --digits all --model mlp --distributed

Two digits: one output, a logit (the first digit is 1, the second 0), trained with fastbook
chapter 4's mnist_loss. More digits: one output per digit, trained with cross-entropy.
The CNN sees (1, 28, 28) images, normalised by the training images' mean and std; the others
see rows of 784 pixels in [0, 1].
20% of the training images of those digits (a seeded random choice) are kept for validation;
the test accuracy is on the official test images of the same digits.

The last line is for scripts (tests, benchmarks) to read:
    result: digits=4,8 model=linear epochs=20 valid_acc=0.9883 test_acc=0.9871 epoch_s=0.021 ...
"""

from __future__ import annotations

import argparse
import difflib
import functools
import math
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import torch

import minigrad as mg
import minigrad.distributed as dist
from minigrad import nn
from minigrad.data import DataLoader, DataLoaders, DistributedSampler, TensorDataset, load_mnist
from minigrad.data.mnist import MNISTError, default_cache_dir, find_mnist
from minigrad.learner import Learner, save_model
from minigrad.nn import functional as F
from minigrad.nn.parallel import DistributedDataParallel
from minigrad.optim import SGD, Adam, AdamW

PIXELS = 28 * 28
MODELS = ["linear", "mlp", "cnn"]


@dataclass(frozen=True)
class Recipe:
    """What trains well in one setting (measured; see the README's figures)."""

    epochs: int
    lr: float
    opt: str  # "sgd" or "adam"
    batch_size: int = 256
    momentum: float = 0.0  # for SGD
    decay_at: float = 1.0  # after this fraction of the epochs, train on at lr / 10
    one_cycle: bool = False  # fastai's fit_one_cycle, lr the peak (then decay_at is unused)


# (two digits?, model) -> recipe
RECIPES = {
    (True, "linear"): Recipe(epochs=20, lr=1.0, opt="sgd"),  # the chapter's settings
    (True, "mlp"): Recipe(epochs=20, lr=1.0, opt="sgd"),
    (False, "linear"): Recipe(epochs=10, lr=1e-3, opt="adam", batch_size=128),
    # 784-256-128-10, batch 128. Test accuracy after 10 epochs, measured in plain PyTorch:
    # Adam lr 1e-3: 0.976; with the lr cut tenfold for the last 3 epochs: 0.980. SGD with
    # momentum 0.9 and that cut: lr 0.05: 0.980, lr 0.1: 0.982 (minigrad, seed 42: 0.983).
    (False, "mlp"): Recipe(
        epochs=10, lr=0.1, opt="sgd", batch_size=128, momentum=0.9, decay_at=0.7
    ),
    # fastbook chapter 13's last model (stride-2 convs, ReLU, batch norm; 1cycle at lr 0.1 with
    # fastai's AdamW), four times as wide. Test accuracy after 5 epochs, seed 42 (seed 0):
    # in plain PyTorch, as in the book (8-16-32-64 channels), batch 512: 0.9914; batch 128:
    # 0.9919; twice as wide: 0.9930 (0.9936); four times: 0.9939. minigrad, twice as wide:
    # 0.9924 (0.9927); four times: 0.9940.  (The 2-core CI machine, torch 2.13 CPU.)
    (False, "cnn"): Recipe(epochs=5, lr=0.1, opt="adamw", batch_size=128, one_cycle=True),
    (True, "cnn"): Recipe(epochs=2, lr=0.1, opt="adamw", batch_size=128, one_cycle=True),
}
CNN_CHANNELS = (32, 64, 128, 256)  # fastbook's 8, 16, 32, 64, four times


# ---- the command line --------------------------------------------------------------------------


class UsageError(Exception):
    """A mistake on the command line: shown as one line, `digits.py: error: ...`, exit 2."""


class CommandLine(argparse.ArgumentParser):
    """argparse, answering each mistake in one line (its usage is in --help), exit status 2."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments:"):
            message += _did_you_mean(self, message.split(":", 1)[1].split())
        self.exit(2, f"{self.prog}: error: {message}\n")


def _did_you_mean(parser: argparse.ArgumentParser, words: list[str]) -> str:
    flags = [flag for action in parser._actions for flag in action.option_strings]
    for word in words:
        close = difflib.get_close_matches(word.split("=")[0], flags, n=1)
        if close:
            return f" (did you mean {close[0]}? digits.py --help lists every option)"
    return " (digits.py --help lists every option)"


def build_parser() -> CommandLine:
    parser = CommandLine(
        prog="digits.py",
        description=__doc__.split("\n\n")[0],
        epilog=_recipe_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = parser.add_argument_group("what to train")
    what.add_argument(
        "--digits",
        nargs="+",
        default=["4", "8"],
        metavar="D",
        help="two or more digits 0-9, or 'all' (default: 4 8)",
    )
    what.add_argument("--model", choices=MODELS, default="linear", help="(default: linear)")
    how = parser.add_argument_group("how to train (defaults: the table below)")
    how.add_argument(
        "--epochs",
        type=_count("--epochs", 5, least=0),
        metavar="N",
        help="passes over the training images (0 with --load: only measure the loaded model)",
    )
    how.add_argument(
        "--lr",
        type=_learning_rate,
        metavar="LR",
        help="the learning rate, or 'find' to run lr_find and train at its lr_min",
    )
    how.add_argument("--opt", choices=["sgd", "adam", "adamw"], help="the optimizer")
    how.add_argument(
        "--compile",
        action="store_true",
        help="record each training step once, then replay it (minigrad.compile): faster "
        "(default: off)",
    )
    how.add_argument(
        "--batch-size", type=_count("--batch-size", 64), metavar="N", help="images per step"
    )
    how.add_argument(
        "--seed",
        type=_seed,
        default=42,
        help="seeds the weights, the split and the order (default: 42)",
    )
    where = parser.add_argument_group("where")
    where.add_argument(
        "--data",
        metavar="FOLDER",
        help="the folder with MNIST: mnist_png.tgz, the PNG tree or the IDX files "
        f"(default: $MINIGRAD_DATA, now {_env('MINIGRAD_DATA')}; else the cache "
        f"{default_cache_dir()}, downloading into it when empty)",
    )
    where.add_argument(
        "--device",
        help="cpu, cuda or cuda:N (default: $MINIGRAD_DEVICE, now "
        f"{_env('MINIGRAD_DEVICE')}; else cuda when torch sees a GPU, else cpu)",
    )
    where.add_argument(
        "--threads",
        type=_count("--threads", 1),
        metavar="N",
        help="CPU threads for torch's maths (default: torch's choice, "
        f"{torch.get_num_threads()} here). On a busy machine, fewer threads than "
        "cores keep them from fighting: epochs can be several times faster",
    )
    where.add_argument(
        "--distributed",
        action="store_true",
        help="train on every process torchrun starts, each on its share of every batch of "
        "--batch-size (gloo between CPUs; NCCL when each process has a GPU, cuda:LOCAL_RANK); "
        "rank 0 prints and saves. Run: torchrun --nproc_per_node 2 examples/digits.py ... "
        "--distributed, see docs/distributed.md (default: off)",
    )
    files = parser.add_argument_group("files")
    files.add_argument(
        "--plot",
        metavar="FILE",
        help="write loss and accuracy curves to FILE, a PNG or any format matplotlib knows by "
        "its suffix; with --lr find, also the lr_find curve beside it: curves.png, "
        "curves_lr_find.png (default: none)",
    )
    files.add_argument(
        "--save", metavar="FILE", help="write the trained parameters (default: none)"
    )
    files.add_argument(
        "--load",
        metavar="FILE",
        help="start from parameters written by --save, for the same --model and "
        "--digits (default: none)",
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options, checked: any mistake ends the program with a one-line answer."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_args(args)
    except UsageError as mistake:
        parser.error(str(mistake))
    args.parser = parser
    return args


def check_args(args: argparse.Namespace) -> None:
    """Everything that can be checked before any data is loaded; fills in the defaults."""
    args.digits = parse_digits(args.digits)
    args.recipe = RECIPES[(len(args.digits) == 2, args.model)]
    if args.epochs is None:
        args.epochs = args.recipe.epochs
    elif args.epochs == 0 and not args.load:
        raise UsageError(
            "argument --epochs: 0 trains nothing, and would report an untrained model: give 1 "
            "or more (e.g. --epochs 5), or --load FILE to measure a saved model"
        )
    args.opt = args.opt or args.recipe.opt
    args.batch_size = args.batch_size or args.recipe.batch_size
    args.lr = args.lr or args.recipe.lr
    args.device = check_device(args.device)
    args.data = check_data_folder(args.data)
    for flag in ("plot", "save"):
        check_output_file(f"--{flag}", getattr(args, flag))
    if args.plot:
        check_plot_format(args.plot)
    if args.load and not Path(args.load).is_file():
        raise UsageError(
            f"argument --load: {args.load} does not exist: give a file written by --save"
        )
    if args.distributed:
        check_distributed(args)


def check_distributed(args: argparse.Namespace) -> None:
    """--distributed: started by torchrun, a batch that splits evenly, a GPU for each process."""
    if not dist.is_torchelastic_launched():
        raise UsageError(
            "argument --distributed: start digits.py with torchrun, which starts the processes "
            "and tells each its rank: torchrun --nproc_per_node 2 examples/digits.py ... "
            "--distributed"
        )
    if args.compile:
        raise UsageError(
            "argument --compile: a compiled step's replay would leave out the all-reduces "
            "between the processes: leave --compile out with --distributed"
        )
    processes = int(os.environ["WORLD_SIZE"])
    if args.batch_size % processes:
        raise UsageError(
            f"argument --batch-size: {args.batch_size} images per step do not split evenly "
            f"between {processes} processes: give a multiple of {processes} "
            f"(e.g. --batch-size {args.batch_size // processes * processes or processes})"
        )
    if args.device.type == "cuda":  # one GPU per process, the one torchrun numbers LOCAL_RANK
        here = int(os.environ["LOCAL_WORLD_SIZE"])
        if torch.cuda.device_count() < here:
            raise UsageError(
                f"argument --distributed: {here} processes on this machine need a GPU each, and "
                f"torch sees {torch.cuda.device_count()}: pass --device cpu to train on the CPU"
            )
        args.device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))


def _count(flag: str, example: int, least: int = 1) -> Callable[[str], int]:
    """argparse type: a whole number, `least` or more."""

    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = least - 1
        if value < least:
            raise argparse.ArgumentTypeError(
                f"takes a whole number, {least} or more, got {text!r} (e.g. {flag} {example})"
            )
        return value

    return count


def _learning_rate(text: str) -> float | str:
    if text == "find":
        return text
    try:
        lr = float(text)
    except ValueError:
        lr = math.nan
    if not (math.isfinite(lr) and lr > 0):
        raise argparse.ArgumentTypeError(
            f"takes a number above 0 or 'find', got {text!r} (e.g. --lr 0.1, --lr 3e-3, --lr find)"
        )
    return lr


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"takes a whole number, got {text!r} (e.g. --seed 1)"
        ) from None


def parse_digits(values: list[str]) -> list[int]:
    if values == ["all"]:
        return list(range(10))
    try:
        digits = [int(v) for v in values]
    except ValueError:
        raise UsageError(
            f"argument --digits: takes digits 0-9 or 'all', got {' '.join(values)} "
            "(e.g. --digits 3 7, --digits all)"
        ) from None
    if len(set(digits)) != len(digits) or len(digits) < 2 or not all(0 <= d <= 9 for d in digits):
        raise UsageError(
            f"argument --digits: needs two or more different digits 0-9, got {' '.join(values)}"
            " (e.g. --digits 3 7)"
        )
    return digits


def check_device(name: str | None) -> torch.device:
    """--device, else $MINIGRAD_DEVICE, else CUDA when there is a GPU; one that works here."""
    source = "argument --device" if name else "MINIGRAD_DEVICE"
    name = name or os.environ.get("MINIGRAD_DEVICE")
    if not name:
        return mg.default_device()
    if source == "MINIGRAD_DEVICE":
        fix = "unset MINIGRAD_DEVICE or set it to cpu, or pass --device cpu"
    else:
        fix = "use --device cpu, or leave --device out to use CUDA only when there is a GPU"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(f"{source}: {name!r} is not a device: {fix}") from None
    if device.type not in ("cpu", "cuda"):
        raise UsageError(f"{source}: digits.py runs on cpu or cuda, not {name!r}: {fix}")
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise UsageError(f"{source}: {name} asked for, but torch sees no CUDA GPU here: {fix}")
        if device.index is not None and device.index >= count:
            raise UsageError(
                f"{source}: {name} asked for, but there are {count} GPU(s), cuda:0 to "
                f"cuda:{count - 1}"
            )
    return device


def check_data_folder(folder: str | None) -> str | None:
    """--data (else $MINIGRAD_DATA) must exist and hold MNIST; without either, the cache or a
    download will do. Nothing is read here: find_mnist only looks at file names."""
    if folder:
        source, name = "argument --data", folder
    elif os.environ.get("MINIGRAD_DATA"):
        source, name = "MINIGRAD_DATA (read when --data is not given)", os.environ["MINIGRAD_DATA"]
    else:
        return None
    path = Path(name)
    holds = "mnist_png.tgz, the PNG tree (training/, testing/) or the four IDX files"
    if not path.is_dir():
        problem = "does not exist" if not path.exists() else "is not a folder"
        raise UsageError(f"{source}: {name} {problem}: give the folder that holds {holds}")
    found = find_mnist(path)
    if found is None or (found != path and path not in found.parents):
        raise UsageError(
            f"{source}: {name} holds no MNIST: put {holds} (train-images-idx3-ubyte.gz, ...) "
            "in it or in its mnist/ or mnist_png/ subfolder"
        )
    return name


def check_output_file(flag: str, name: str | None) -> None:
    if name is None:
        return
    folder = Path(name).parent
    if not folder.is_dir():
        raise UsageError(f"argument {flag}: the folder {folder} does not exist: create it first")
    if Path(name).is_dir():
        raise UsageError(f"argument {flag}: {name} is a folder: give a file name in it")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"argument {flag}: cannot write in {folder}: choose another folder")


def check_plot_format(name: str) -> None:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError(
            "argument --plot: plotting needs matplotlib: pip install matplotlib "
            "(or pip install -e '.[plot]' in a clone)"
        ) from None
    formats = Figure().canvas.get_supported_filetypes()
    suffix = Path(name).suffix.lstrip(".").lower()
    if suffix not in formats:
        raise UsageError(
            f"argument --plot: {name} has no picture suffix matplotlib knows: end it in .png "
            f"(or {', '.join('.' + f for f in sorted(formats) if f != 'png')})"
        )


def check_load_fits(model: nn.Module, path: str, args: argparse.Namespace) -> dict:
    """The parameters in --load, if they fit this model; else the mistake, in one line."""
    not_saved = f"argument --load: {path} is not a file written by --save"
    try:
        with warnings.catch_warnings():  # torch warns about some pickles before refusing them
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a text file, a truncated file, a pickle of other things...
        raise UsageError(f"{not_saved} (torch.load: {type(error).__name__})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UsageError(f"{not_saved}: it holds a {type(state).__name__}, not named tensors")
    saved = {name: tuple(value.shape) for name, value in state.items()}
    wanted = {name: tuple(p.shape) for name, p in model.state_dict().items()}
    if saved != wanted:
        digits = "all" if args.digits == list(range(10)) else " ".join(map(str, args.digits))
        raise UsageError(
            f"argument --load: {path} holds {_shapes(saved)}, but --model {args.model} "
            f"--digits {digits} needs {_shapes(wanted)}: load it with the --model and --digits "
            "it was saved with"
        )
    return state


def _shapes(state: dict[str, tuple[int, ...]]) -> str:
    return ", ".join(f"{name} {shape}" for name, shape in state.items())


def _env(variable: str) -> str:
    return os.environ.get(variable) or "not set"


def _recipe_table() -> str:
    """The defaults that depend on the digits and the model, one row per setting."""
    lines = ["defaults by setting (--epochs, --lr, --opt, --batch-size):"]
    for (two, model), r in RECIPES.items():
        setting = f"{'two digits' if two else 'more digits'}, {model}"
        opt = r.opt + (f" (momentum {r.momentum})" if r.momentum else "")
        slow = f", lr/10 for the last {1 - r.decay_at:.0%} of the epochs" if r.decay_at < 1 else ""
        lines.append(
            f"  {setting:20} {r.epochs} epochs, lr {r.lr:g}, {opt}, batch {r.batch_size}{slow}"
        )
    return "\n".join(lines)


# ---- data --------------------------------------------------------------------------------------


def select(images, labels, digits: list[int], device) -> tuple[mg.Tensor, mg.Tensor]:
    """The images of these digits as (N, 784) floats in [0, 1] and their targets, on `device`.

    Two digits: a float (N, 1) target, 1 for the first digit and 0 for the second (chapter 4).
    More: the digit's position in `digits` as an int64 class index.
    """
    keep = (labels[:, None] == digits).any(axis=1)
    x = mg.tensor(images[keep], device=device).view(-1, PIXELS).float() / 255
    if len(digits) == 2:
        y = mg.tensor(labels[keep] == digits[0], device=device).float().unsqueeze(1)
    else:
        positions = {d: i for i, d in enumerate(digits)}
        y = mg.tensor([positions[d] for d in labels[keep].tolist()], device=device)
    return x, y


def make_loaders(args: argparse.Namespace, device) -> tuple[DataLoaders, DataLoader]:
    try:
        mnist = load_mnist(args.data)
    except MNISTError as error:
        raise UsageError(
            f"{error.summary}. Fix: pass --data FOLDER holding mnist_png.tgz, the PNG tree or "
            "the four IDX files (or set MINIGRAD_DATA)"
        ) from None
    x, y = select(mnist.train_images, mnist.train_labels, args.digits, device)
    order = mg.randperm(len(x), device=device)  # seeded: the same split every run
    n_valid = len(x) // 5
    valid, train = order[:n_valid], order[n_valid:]
    batch = args.batch_size

    def loader(x, y, shuffle):
        if shuffle and args.distributed:  # this process's share of each batch, and of the epoch
            dataset = TensorDataset(x, y)
            share = batch // dist.get_world_size()
            sampler = DistributedSampler(dataset, seed=args.seed)  # Learner.fit sets its epoch
            return DataLoader(dataset, batch_size=share, sampler=sampler, device=device)
        return DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=shuffle, device=device)

    test_x, test_y = select(mnist.test_images, mnist.test_labels, args.digits, device)
    if args.model == "cnn":  # images, normalised as fastai's Normalize does, by training stats
        mean = x[train].mean().item()
        std = ((x[train] - mean) ** 2).mean().item() ** 0.5
        x, test_x = ((t.view(-1, 1, 28, 28) - mean) / std for t in (x, test_x))
    dls = DataLoaders(loader(x[train], y[train], True), loader(x[valid], y[valid], False))
    return dls, loader(test_x, test_y, False)


# ---- model, loss, metric -------------------------------------------------------------------


def conv(ni: int, nf: int, ks: int = 3, act: bool = True, device=None) -> nn.Sequential:
    """fastbook chapter 13's block: a stride-2 convolution (halving the image), ReLU, batch norm."""
    layers = [nn.Conv2d(ni, nf, stride=2, kernel_size=ks, padding=ks // 2, device=device)]
    if act:
        layers.append(nn.ReLU())
    layers.append(nn.BatchNorm2d(nf, device=device))
    return nn.Sequential(*layers)


def simple_cnn(n_out: int, channels: tuple[int, ...] = CNN_CHANNELS, device=None) -> nn.Module:
    """28x28 -> 14x14 -> 7x7 -> 4x4 -> 2x2 -> 1x1, then one score per class."""
    c1, c2, c3, c4 = channels
    return nn.Sequential(
        conv(1, c1, ks=5, device=device),
        conv(c1, c2, device=device),
        conv(c2, c3, device=device),
        conv(c3, c4, device=device),
        conv(c4, n_out, act=False, device=device),
        nn.Flatten(),
    )


def make_model(kind: str, n_out: int, device) -> nn.Module:
    if kind == "cnn":
        return simple_cnn(n_out, device=device)
    if kind == "linear":
        return nn.Sequential(nn.Linear(PIXELS, n_out, device=device))
    if n_out == 1:  # chapter 4's simple_net
        return nn.Sequential(nn.Linear(PIXELS, 30, device=device), nn.ReLU(), nn.Linear(30, 1))
    return nn.Sequential(
        nn.Linear(PIXELS, 256, device=device),
        nn.ReLU(),
        nn.Linear(256, 128, device=device),
        nn.ReLU(),
        nn.Linear(128, n_out, device=device),
    )


def binary_accuracy(logits: mg.Tensor, targets: mg.Tensor) -> mg.Tensor:
    """A logit above 0 (a sigmoid above 0.5) predicts the first digit."""
    return ((logits > 0).float() == targets).float().mean()


def accuracy(logits: mg.Tensor, targets: mg.Tensor) -> mg.Tensor:
    """The highest-scoring class is the prediction."""
    return (logits.argmax(dim=1) == targets).float().mean()


# ---- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> str:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device
    if args.distributed:
        start_distributed(device)
    mg.manual_seed(args.seed)
    two = len(args.digits) == 2
    model = make_model(args.model, 1 if two else len(args.digits), device)
    try:
        if args.load:  # before the data: a wrong file is a one-line answer, at once
            model.load_state_dict(check_load_fits(model, args.load, args))
        dls, test_dl = make_loaders(args, device)
    except UsageError as mistake:
        args.parser.error(str(mistake))
    if args.distributed:  # rank 0's weights on every rank; backward averages the gradients
        gpu = [device] if device.type == "cuda" else None
        model = DistributedDataParallel(model, device_ids=gpu)

    if two:
        loss_func, metric = F.mnist_loss, binary_accuracy
    else:
        loss_func, metric = F.cross_entropy, accuracy
    if args.opt == "sgd":
        opt_func = functools.partial(SGD, momentum=args.recipe.momentum)
    elif args.opt == "adamw":  # fastai's Adam: decoupled weight decay, betas (0.9, 0.99)
        opt_func = functools.partial(AdamW, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01)
    else:
        opt_func = Adam
    learn = Learner(dls, model, loss_func, opt_func, metrics=metric, compile=args.compile)

    lr = args.lr
    if lr == "find":
        suggestion = learn.lr_find()
        lr = suggestion.lr_min
        print(f"lr_find: lr_min={suggestion.lr_min:.3g} lr_steep={suggestion.lr_steep:.3g}")
        print(f"training at lr_min = {lr:.3g}")
    if args.recipe.one_cycle:
        learn.fit_one_cycle(args.epochs, lr)
    else:  # a step schedule: the last epochs at a tenth of the lr, to settle into the minimum
        slow = args.epochs - round(args.epochs * args.recipe.decay_at)
        if args.epochs - slow > 0:
            learn.fit(args.epochs - slow, lr)
        if slow > 0:
            print(f"the last {slow} epochs at lr {lr / 10:.3g}")
            learn.fit(slow, lr / 10)
    write_files(learn, args)

    _, valid_acc = learn.validate()
    _, test_acc = learn.validate(test_dl)
    rows = learn.recorder.rows
    epoch_s = sum(row.time for row in rows) / len(rows) if rows else math.nan
    digits = "all" if args.digits == list(range(10)) else ",".join(map(str, args.digits))
    result = (
        f"result: digits={digits} model={args.model} epochs={args.epochs} seed={args.seed} "
        f"valid_acc={valid_acc:.4f} test_acc={test_acc:.4f} epoch_s={epoch_s:.3f} device={device}"
    )
    if args.distributed:
        result += f" processes={dist.get_world_size()}"
        dist.destroy_process_group()
    print(result)
    return result


def start_distributed(device: torch.device) -> None:
    """Join the processes torchrun started (it set RANK, WORLD_SIZE, MASTER_ADDR...). Only
    rank 0 prints: the others' output would repeat it."""
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if dist.get_rank() != 0:
        sys.stdout = open(os.devnull, "w")  # for the rest of the process


def write_files(learn: Learner, args: argparse.Namespace) -> None:
    """--save and --plot, each file named as it is written."""
    if args.distributed and dist.get_rank() != 0:
        return  # rank 0 writes them
    if args.save:  # the model itself, not the wrapper: --load reads it without --distributed
        save_model(getattr(learn.model, "module", learn.model), args.save)
        print(f"wrote {args.save}: the trained parameters (start from them with --load)")
    if args.plot:
        learn.recorder.plot(args.plot)
        print(f"wrote {args.plot}: the loss per batch and epoch, and the validation accuracy")
        if learn.recorder.lr_find is not None:
            path = _beside(args.plot, "lr_find")
            learn.recorder.lr_find.plot(path)
            print(f"wrote {path}: loss against learning rate, lr_min and lr_steep marked")


def _beside(path: str, tag: str) -> str:
    """curves.png -> curves_lr_find.png"""
    stem, dot, extension = path.rpartition(".")
    return f"{stem}_{tag}.{extension}" if dot else f"{path}_{tag}"


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except KeyboardInterrupt:
        sys.exit("\ndigits.py: interrupted")
