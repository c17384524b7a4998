"""examples/digits.py answers every command-line mistake in one line, before loading any data.

Each mistake: exit status 2 (argparse's), one line on stderr naming the flag (or the variable)
and the fix, and no traceback. These run without MNIST: the checks come before the data.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import minigrad as mg
from minigrad.data import mnist
from minigrad.learner import save_model

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def digits():
    spec = importlib.util.spec_from_file_location("example_digits_cli", EXAMPLES / "digits.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def no_data_loading(digits, monkeypatch, tmp_path):
    """Any attempt to load MNIST fails the test: the mistakes must be caught before."""

    def must_not_load(*args, **kwargs):
        raise AssertionError("loaded the data before checking the command line")

    monkeypatch.setattr(digits, "load_mnist", must_not_load)
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    monkeypatch.delenv("MINIGRAD_DEVICE", raising=False)
    monkeypatch.chdir(tmp_path)


def answer(digits, argv: list[str], capsys) -> str:
    """What digits.py says to argv: one line on stderr, exit status 2."""
    with pytest.raises(SystemExit) as exit:
        digits.main(argv)
    assert exit.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("digits.py: error: ")
    return lines[0]


MISTAKES = {  # argv: words the answer must contain (the flag, what was wrong, the fix)
    "--epochs 0": ["argument --epochs", "0 trains nothing", "e.g. --epochs 5", "--load FILE"],
    "--epochs -1": ["argument --epochs", "0 or more, got '-1'", "e.g. --epochs 5"],
    "--epochs 2.5": ["argument --epochs", "whole number"],
    "--batch-size -5": ["argument --batch-size", "got '-5'", "e.g. --batch-size 64"],
    "--batch-size 0": ["argument --batch-size", "got '0'"],
    "--lr -1": ["argument --lr", "above 0 or 'find'", "e.g. --lr 0.1"],
    "--lr 0": ["argument --lr", "got '0'"],
    "--lr inf": ["argument --lr", "got 'inf'"],
    "--lr fast": ["argument --lr", "got 'fast'"],
    "--threads 0": ["argument --threads", "got '0'"],
    "--seed x": ["argument --seed", "e.g. --seed 1"],
    "--digits 3": ["argument --digits", "two or more different digits", "e.g. --digits 3 7"],
    "--digits 3 3": ["argument --digits", "got 3 3"],
    "--digits x y": ["argument --digits", "or 'all'"],
    "--model resnet": ["argument --model", "invalid choice: 'resnet'"],
    "--epoch-count 3": ["unrecognized arguments: --epoch-count 3", "did you mean --epochs?"],
    "--data nowhere": ["argument --data", "nowhere does not exist", "mnist_png.tgz"],
    "--data .": ["argument --data", ". holds no MNIST", "IDX files"],
    "--device gpu": ["argument --device", "'gpu' is not a device", "--device cpu"],
    "--device mps": ["argument --device", "cpu or cuda"],
    "--load missing.pt": ["argument --load", "missing.pt does not exist", "written by --save"],
    "--plot nowhere/curves.png": ["argument --plot", "nowhere does not exist", "create it"],
    "--plot curves.txt": ["argument --plot", "end it in .png"],
    "--save nowhere/model.pt": ["argument --save", "nowhere does not exist"],
}


@pytest.mark.parametrize("argv", MISTAKES, ids=list(MISTAKES))
def test_a_mistake_gets_a_one_line_answer_before_any_data(digits, no_data_loading, capsys, argv):
    line = answer(digits, argv.split(), capsys)
    for words in MISTAKES[argv]:
        assert words in line, line


def test_cuda_without_a_gpu_names_the_flag_or_the_variable(
    digits, no_data_loading, capsys, monkeypatch
):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    line = answer(digits, ["--device", "cuda"], capsys)
    assert "argument --device: cuda asked for, but torch sees no CUDA GPU" in line
    assert "use --device cpu" in line
    monkeypatch.setenv("MINIGRAD_DEVICE", "cuda:0")
    line = answer(digits, [], capsys)
    assert "MINIGRAD_DEVICE: cuda:0 asked for" in line and "unset MINIGRAD_DEVICE" in line


def test_a_gpu_index_past_the_last_gpu_is_named(digits, no_data_loading, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    line = answer(digits, ["--device", "cuda:1"], capsys)
    assert "there are 1 GPU(s), cuda:0 to cuda:0" in line


def test_a_load_file_that_does_not_fit_the_model_is_named(digits, no_data_loading, capsys):
    save_model(digits.make_model("linear", 1, mg.device("cpu")), "linear.pt")
    line = answer(digits, ["--load", "linear.pt", "--model", "mlp", "--device", "cpu"], capsys)
    assert "argument --load: linear.pt holds 0.weight (1, 784), 0.bias (1,)" in line
    assert "--model mlp --digits 4 8 needs 0.weight (30, 784)" in line
    assert "load it with the --model and --digits it was saved with" in line
    line = answer(digits, ["--load", "linear.pt", "--digits", "all", "--device", "cpu"], capsys)
    assert "--digits all needs 0.weight (10, 784)" in line
    Path("text.pt").write_text("not a model")
    line = answer(digits, ["--load", "text.pt", "--device", "cpu"], capsys)
    assert "text.pt is not a file written by --save" in line
    torch.save(torch.zeros(3), "tensor.pt")
    line = answer(digits, ["--load", "tensor.pt", "--device", "cpu"], capsys)
    assert "it holds a Tensor, not named tensors" in line


def test_a_data_variable_that_does_not_exist_is_named(digits, no_data_loading, capsys, monkeypatch):
    monkeypatch.setenv("MINIGRAD_DATA", "nowhere")
    line = answer(digits, [], capsys)
    assert "MINIGRAD_DATA (read when --data is not given): nowhere does not exist" in line


def test_missing_data_after_a_failed_download_is_one_line(digits, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    monkeypatch.setenv("MINIGRAD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(mnist, "IDX_MIRRORS", [(tmp_path / "offline").as_uri() + "/"])
    line = answer(digits, ["--device", "cpu"], capsys)
    assert "MNIST data (train-images-idx3-ubyte.gz) not found in " + str(tmp_path) in line
    assert "downloading it failed" in line
    assert "Fix: pass --data FOLDER holding mnist_png.tgz" in line


def test_help_shows_every_default(digits, capsys):
    with pytest.raises(SystemExit) as exit:
        digits.main(["--help"])
    assert exit.value.code == 0
    text = capsys.readouterr().out
    entries = re.findall(r"^  (--[\w-]+)(.*?)(?=^  -|^\S|\Z)", text, re.MULTILINE | re.DOTALL)
    assert len(entries) == 15  # every option but --help
    from_table = {"--epochs", "--lr", "--opt", "--batch-size"}
    for flag, help_text in entries:
        assert flag in from_table or "(default: " in " ".join(help_text.split()), flag
    assert "how to train (defaults: the table below)" in text
    for recipe in digits.RECIPES.values():  # the table gives --epochs, --lr, --opt, --batch-size
        assert f"{recipe.epochs} epochs, lr {recipe.lr:g}, {recipe.opt}" in text
    assert "curves_lr_find.png" in text  # the second file that --lr find --plot writes


def test_the_real_command_line_exits_2_with_one_line_and_no_traceback(tmp_path):
    script = EXAMPLES / "digits.py"
    env = {**os.environ, "MINIGRAD_DATA": str(tmp_path / "nowhere")}
    run = subprocess.run(
        [sys.executable, str(script), "--batch-size", "-5"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.splitlines() == [
        "digits.py: error: argument --batch-size: takes a whole number, 1 or more, got '-5' "
        "(e.g. --batch-size 64)"
    ]
