"""The examples end to end, on the real MNIST files: they train, reach their accuracy, repeat.

Few epochs, to stay quick; the full runs' figures are in examples/digits.py and the README.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

pytestmark = pytest.mark.skipif(
    not os.environ.get("MINIGRAD_DATA"),
    reason="MINIGRAD_DATA is not set: these tests train on the real MNIST files "
    "(export MINIGRAD_DATA=/path/to/folder/with/mnist; CI sets it)",
)


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def parse_result(line: str) -> dict[str, str]:
    assert line.startswith("result: "), line
    return dict(field.split("=", 1) for field in line.removeprefix("result: ").split())


@pytest.fixture(scope="module")
def digits():
    return load_example("digits")


def test_fours_vs_eights_linear_passes_097_in_three_epochs(digits, capsys) -> None:
    result = parse_result(digits.main(["--epochs", "3", "--device", "cpu"]))
    assert result["digits"] == "4,8" and result["model"] == "linear" and result["epochs"] == "3"
    assert float(result["valid_acc"]) >= 0.97
    assert float(result["test_acc"]) >= 0.97
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == [
        "epoch",
        "train_loss",
        "valid_loss",
        "binary_accuracy",
        "time",
    ]
    assert out.splitlines()[-1].startswith("result: ")


def test_all_ten_digits_mlp_passes_090_in_one_epoch(digits) -> None:
    line = digits.main(["--digits", "all", "--model", "mlp", "--epochs", "1", "--device", "cpu"])
    result = parse_result(line)
    assert result["digits"] == "all" and result["model"] == "mlp"
    assert float(result["valid_acc"]) >= 0.90
    assert float(result["test_acc"]) >= 0.90


def test_a_seeded_run_repeats_exactly_on_the_cpu(digits) -> None:
    args = ["--epochs", "2", "--seed", "7", "--device", "cpu"]
    first, second = digits.main(args), digits.main(args)
    without_time = [re.sub(r"epoch_s=\S+", "", line) for line in (first, second)]
    assert without_time[0] == without_time[1]
    other_seed = digits.main(["--epochs", "2", "--seed", "8", "--device", "cpu"])
    assert re.sub(r"epoch_s=\S+", "", other_seed) != without_time[0]  # the seed matters


def test_lr_find_picks_a_learning_rate_that_trains(digits, capsys, tmp_path) -> None:
    import matplotlib  # noqa: F401  (a dev dependency: missing it must fail, not skip)

    plot = tmp_path / "curves.png"
    line = digits.main(["--epochs", "2", "--lr", "find", "--plot", str(plot), "--device", "cpu"])
    assert float(parse_result(line)["valid_acc"]) >= 0.95
    out = capsys.readouterr().out
    assert re.search(r"lr_find: lr_min=\S+ lr_steep=\S+", out)
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "curves_lr_find.png").read_bytes()[:4] == b"\x89PNG"
    assert f"wrote {plot}: " in out and f"wrote {tmp_path / 'curves_lr_find.png'}: " in out


def test_threads_save_and_load(digits, capsys, tmp_path) -> None:
    import torch

    threads = torch.get_num_threads()
    saved = tmp_path / "model.pt"
    try:
        digits.main(["--epochs", "1", "--threads", "1", "--save", str(saved), "--device", "cpu"])
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)
    assert f"wrote {saved}: the trained parameters" in capsys.readouterr().out
    line = digits.main(["--epochs", "1", "--load", str(saved), "--device", "cpu"])
    assert float(parse_result(line)["valid_acc"]) >= 0.97  # two epochs' worth, from the file


def test_two_digits_walkthrough_runs_and_accuracy_rises() -> None:
    script = EXAMPLES / "two_digits.py"
    run = subprocess.run(
        [sys.executable, str(script), "--epochs", "3"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MINIGRAD_DEVICE": "cpu"},
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    before = float(re.search(r"before training: accuracy (\S+)", run.stdout).group(1))
    epochs = [float(m.group(1)) for m in re.finditer(r"epoch +\d+: accuracy (\S+)", run.stdout)]
    assert len(epochs) == 3
    assert before < epochs[0] < epochs[-1]
    result = parse_result(lines[-1])
    assert result["digits"] == "4,8" and float(result["valid_acc"]) >= 0.95


def test_fours_vs_eights_cnn_passes_098_in_one_epoch(digits) -> None:
    line = digits.main(["--model", "cnn", "--epochs", "1", "--device", "cpu"])
    result = parse_result(line)
    assert result["digits"] == "4,8" and result["model"] == "cnn" and result["seed"] == "42"
    assert float(result["valid_acc"]) >= 0.98
    assert float(result["test_acc"]) >= 0.98
