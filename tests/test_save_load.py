"""Saving and loading: an exact round trip, written atomically, in torch's file format.

`minigrad.save` / `minigrad.load` are torch.save / torch.load for objects that hold minigrad
Tensors (code written for torch calls them with `import minigrad as torch`); the Learner's and
the command line's save_model / load_model use them."""

from __future__ import annotations

import collections
import importlib.util
import io
import os
import pickle
import re
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.learner import load_model, save_model
from minigrad.testing import strategies as mst


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


# ---- minigrad.save and minigrad.load: torch.save and torch.load -------------------------------


class Checkpoint(NamedTuple):
    weights: object
    epoch: int


@given(
    shape=mst.small_shapes(),
    dtype=st.sampled_from([mg.float32, mg.float64, mg.int64, mg.bool]),
    requires_grad=st.booleans(),
)
def test_tensors_in_containers_come_back_equal_with_their_types(shape, dtype, requires_grad):
    x = mg.Tensor(torch.randn(shape).to(dtype))
    requires_grad = requires_grad and dtype.is_floating_point
    x.requires_grad_(requires_grad)
    saved = collections.OrderedDict(x=x, nested=[x, (x, 3)], note="epoch 3", rate=0.5)
    buffer = io.BytesIO()
    mg.save(saved, buffer)
    buffer.seek(0)
    loaded = mg.load(buffer)  # weights_only=True: torch tensors only, as torch.save wrote them
    assert type(loaded) is collections.OrderedDict and list(loaded) == list(saved)
    assert (loaded["note"], loaded["rate"], loaded["nested"][1][1]) == ("epoch 3", 0.5, 3)
    buffer = io.BytesIO()
    mg.save(Checkpoint(x, epoch=7), buffer)
    buffer.seek(0)
    checkpoint = mg.load(buffer, weights_only=False)  # (a NamedTuple of ours is code to torch)
    assert type(checkpoint) is Checkpoint and checkpoint.epoch == 7
    for y in (loaded["x"], loaded["nested"][0], loaded["nested"][1][0], checkpoint.weights):
        assert isinstance(y, mg.Tensor) and y.is_leaf
        assert y.requires_grad == requires_grad
        assert y.dtype == dtype and torch.equal(y._data, x._data)


def test_files_are_torchs_both_ways(tmp_path: Path) -> None:
    """What minigrad writes, torch reads; what torch writes, minigrad reads."""
    mg.manual_seed(0)
    model = make_model()
    mg.save(model.state_dict(), tmp_path / "mine.pt")
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    theirs.load_state_dict(torch.load(tmp_path / "mine.pt", weights_only=True))
    assert [p.tolist() for p in theirs.parameters()] == parameters(model)
    with torch.no_grad():
        for p in theirs.parameters():
            p.mul_(2)
    torch.save(theirs.state_dict(), tmp_path / "theirs.pt")
    model.load_state_dict(mg.load(tmp_path / "theirs.pt"))
    assert parameters(model) == [p.tolist() for p in theirs.parameters()]


def test_an_optimizer_resumes_from_its_saved_state(tmp_path: Path) -> None:
    def step(model, optimizer):
        loss = (model(mg.ones(3, 5)) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    mg.manual_seed(0)
    model = make_model()
    optimizer = mg.optim.Adam(model.parameters(), lr=0.01)
    step(model, optimizer)
    mg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, tmp_path / "c.pt")
    resumed = make_model()
    resumed_optimizer = mg.optim.Adam(resumed.parameters(), lr=0.01)
    checkpoint = mg.load(tmp_path / "c.pt")
    resumed.load_state_dict(checkpoint["model"])
    resumed_optimizer.load_state_dict(checkpoint["optimizer"])
    step(model, optimizer)
    step(resumed, resumed_optimizer)
    assert parameters(resumed) == parameters(model)  # Adam's moments and step count came back


def test_a_whole_model_needs_weights_only_false_as_in_torch(tmp_path: Path) -> None:
    model = make_model()
    mg.save(model, tmp_path / "model.pth")
    with pytest.raises(pickle.UnpicklingError, match="weights_only"):
        mg.load(tmp_path / "model.pth")  # torch's default refuses to run pickled code
    loaded = mg.load(tmp_path / "model.pth", weights_only=False)
    assert type(loaded) is nn.Sequential and parameters(loaded) == parameters(model)


def test_save_to_a_path_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.pt"
    mg.save({"x": mg.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        mg.save({"x": mg.zeros(2), "f": lambda: 0}, path)  # a lambda cannot be pickled
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.pt"]


def test_a_tensor_pickled_before_the_gradient_hooks_existed_still_trains():
    # The bytes an older minigrad wrote for a whole Tensor: its slots then, without the two
    # hook slots added since. Unpickled, those must start empty, not be missing.
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    _, slots = x.__reduce_ex__(2)[2]
    older = {
        k: v for k, v in slots.items() if k not in ("_grad_hooks", "_post_accumulate_grad_hooks")
    }

    class PickledByAnOlderMinigrad:
        def __reduce__(self):
            return mg.Tensor.__new__, (mg.Tensor,), (None, older)

    y = pickle.loads(pickle.dumps(PickledByAnOlderMinigrad()))
    (y * 3).sum().backward()
    assert y.grad.tolist() == [3.0, 3.0]
    assert y.requires_grad and y.is_leaf
