"""Saving and loading parameters: an exact round trip, written atomically."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest
import torch

import minigrad as mg
from minigrad import nn
from minigrad.learner import load_model, save_model


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(5, 4, device="cpu"), nn.ReLU(), nn.Linear(4, 2, device="cpu"))


def parameters(model: nn.Module) -> list[list]:
    return [p.tolist() for p in model.parameters()]


def test_round_trip_is_exact(tmp_path: Path) -> None:
    mg.manual_seed(0)
    saved, fresh = make_model(), make_model()
    assert parameters(saved) != parameters(fresh)
    save_model(saved, tmp_path / "model.pt")
    load_model(fresh, tmp_path / "model.pt")
    assert parameters(fresh) == parameters(saved)  # bit for bit: == on floats


def test_no_temporary_file_is_left(tmp_path: Path) -> None:
    save_model(make_model(), tmp_path / "model.pt")
    save_model(make_model(), tmp_path / "model.pt")  # over an existing file
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_a_failed_write_leaves_the_previous_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.pt"
    first = make_model()
    save_model(first, path)
    before = path.read_bytes()

    def write_half_then_fail(obj, file, *args, **kwargs):
        file.write(b"half a file")
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", write_half_then_fail)
    with pytest.raises(OSError, match="No space"):
        save_model(make_model(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]
    monkeypatch.undo()
    restored = make_model()
    load_model(restored, path)
    assert parameters(restored) == parameters(first)


def test_loading_into_a_different_model_says_what_differs(tmp_path: Path) -> None:
    save_model(make_model(), tmp_path / "model.pt")
    other = nn.Sequential(nn.Linear(5, 3, device="cpu"))
    with pytest.raises(RuntimeError, match="Error.* in loading state_dict for Sequential"):
        load_model(other, tmp_path / "model.pt")


@pytest.mark.skipif(
    not os.environ.get("MINIGRAD_DATA"),
    reason="MINIGRAD_DATA is not set: this test trains on the real MNIST files",
)
def test_digits_save_then_load_gives_the_same_accuracies(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "example_digits", Path(__file__).resolve().parent.parent / "examples" / "digits.py"
    )
    digits = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = digits  # dataclasses look their module up there
    spec.loader.exec_module(digits)
    path = tmp_path / "digits.pt"
    trained = digits.main(["--epochs", "1", "--save", str(path), "--device", "cpu"])
    loaded = digits.main(["--epochs", "0", "--load", str(path), "--device", "cpu"])

    def accuracies(line: str) -> list[str]:
        return re.findall(r"(?:valid|test)_acc=\S+", line)

    assert accuracies(loaded) == accuracies(trained)
    assert [p.name for p in tmp_path.iterdir()] == ["digits.pt"]
