"""Devices: where new tensors go, how to choose, moving tensors, and gradients across a move."""

from __future__ import annotations

import pytest
import torch

import minigrad as mg
from minigrad import devices


@pytest.fixture(autouse=True)
def fresh_default_device(monkeypatch: pytest.MonkeyPatch):
    """Each test starts with no MINIGRAD_DEVICE and no cached default, and leaves none behind."""
    monkeypatch.delenv("MINIGRAD_DEVICE", raising=False)
    mg.set_default_device(None)
    yield
    mg.set_default_device(None)  # recomputed, from the restored environment, on next use


def pretend_cuda_is_available(monkeypatch: pytest.MonkeyPatch, available: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)


# ---- the default device ----------------------------------------------------------------------


def test_default_is_cuda_when_a_gpu_is_there_else_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert mg.default_device().type == expected
    assert mg.zeros(2).device.type == expected


@pytest.mark.parametrize("available", [True, False])
def test_automatic_choice_follows_cuda_availability(monkeypatch, available):
    pretend_cuda_is_available(monkeypatch, available)
    assert mg.default_device() == torch.device("cuda" if available else "cpu")


def test_minigrad_device_env_var_overrides_the_automatic_choice(monkeypatch):
    pretend_cuda_is_available(monkeypatch, True)
    monkeypatch.setenv("MINIGRAD_DEVICE", "cpu")
    assert mg.default_device() == torch.device("cpu")


def test_default_device_is_cached_until_reset(monkeypatch):
    monkeypatch.setenv("MINIGRAD_DEVICE", "cpu")
    assert mg.default_device() == torch.device("cpu")
    monkeypatch.setenv("MINIGRAD_DEVICE", "meta")
    assert mg.default_device() == torch.device("cpu")  # read once
    mg.set_default_device(None)
    assert mg.default_device() == torch.device("meta")


def test_minigrad_device_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    pretend_cuda_is_available(monkeypatch, False)
    monkeypatch.setenv("MINIGRAD_DEVICE", "cuda")
    with pytest.raises(RuntimeError) as error:
        mg.default_device()
    message = str(error.value)
    assert "'cuda'" in message and "no CUDA GPU" in message
    assert "MINIGRAD_DEVICE" in message and "device='cpu'" in message


def test_an_unknown_device_name_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("MINIGRAD_DEVICE", "gpu")
    with pytest.raises(ValueError, match="unknown device 'gpu'.*'cuda:N'"):
        mg.default_device()


def test_set_default_device_is_used_by_creation(device):
    mg.set_default_device(device)
    for made in (mg.zeros(2), mg.ones(2), mg.randn(2), mg.tensor([1.0]), mg.randperm(3)):
        assert made.device.type == device


def test_cuda_without_a_gpu_is_a_clear_error_when_moving(monkeypatch):
    pretend_cuda_is_available(monkeypatch, False)
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        mg.ones(2, device="cpu").cuda()
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        mg.ones(2, device="cpu").to("cuda")


# ---- device= and moving ----------------------------------------------------------------------


def test_device_argument_of_creation_functions(device):
    made = [
        mg.tensor([1.0, 2.0], device=device),
        mg.randn(2, 3, device=device),
        mg.zeros(2, device=device),
        mg.ones(2, device=device),
        mg.randperm(4, device=device),
        mg.arange(3, device=device),
    ]
    for t in made:
        assert t.device.type == device
        assert t._data.device.type == device


def test_to_cpu_and_cuda_move_the_values(device):
    x = mg.tensor([1.0, 2.0], device="cpu")
    moved = x.to(device)
    assert moved.device.type == device
    assert moved.tolist() == [1.0, 2.0]
    back = moved.cpu()
    assert back.device.type == "cpu" and back.tolist() == [1.0, 2.0]
    if device == "cuda":
        assert x.cuda().device.type == "cuda"


def test_to_changes_dtype_and_device_together(device):
    x = mg.tensor([1, 2], device="cpu")
    y = x.to(device, mg.float64)
    assert y.device.type == device and y.dtype == torch.float64


def test_gradients_flow_back_through_to(device):
    x = mg.tensor([1.0, -2.0, 3.0], dtype=mg.float64, device="cpu", requires_grad=True)
    y = x.to(device)
    assert y.requires_grad
    assert (y is x) == (device == "cpu")  # as torch: no copy to make, the tensor itself
    w = mg.tensor([0.5, 0.25, 2.0], dtype=mg.float64, device=device)
    (y * y * w).sum().backward()
    assert x.grad.device.type == "cpu"  # the gradient comes back to where x lives
    torch.testing.assert_close(x.grad._data, 2 * x._data * w._data.cpu(), rtol=1e-7, atol=1e-9)


def test_to_what_it_already_is_returns_the_tensor_itself(device):
    x = mg.randn(3, dtype=mg.float64, device=device, requires_grad=True)
    assert x.to(device) is x and x.double() is x and x.to(x) is x
    assert x.float() is not x and x.float().grad_fn is not None


def test_gradients_flow_back_through_a_dtype_change(device):
    x = mg.tensor([1.0, 2.0], device=device, requires_grad=True)  # float32
    (x.double() ** 2).sum().backward()
    assert x.grad.dtype == torch.float32
    assert x.grad.tolist() == [2.0, 4.0]


def test_a_small_model_gives_the_same_gradients_on_every_device(device):
    generator = torch.Generator().manual_seed(0)
    x_values = torch.randn(8, 5, generator=generator, dtype=torch.float64)
    w_values = torch.randn(5, 3, generator=generator, dtype=torch.float64)

    def gradient_on(where: str) -> torch.Tensor:
        x = mg.tensor(x_values, device=where)
        w = mg.tensor(w_values, device=where, requires_grad=True)
        (x @ w).relu().log_softmax(1).mean().backward()
        return w.grad._data.cpu()

    torch.testing.assert_close(gradient_on(device), gradient_on("cpu"), rtol=1e-7, atol=1e-9)


def test_as_device_parses_names():
    assert devices.as_device("cpu") == torch.device("cpu")
    assert devices.as_device(torch.device("cpu")) == torch.device("cpu")
