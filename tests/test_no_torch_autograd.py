"""torch does the maths, minigrad does the differentiation: torch's autograd plays no part."""

from __future__ import annotations

import pytest
import torch

import minigrad as mg
from minigrad.autograd.function import Context
from minigrad.viz import graph_nodes, node_tensor


def forbid_torch_autograd(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every entry point into torch's autograd fail loudly."""

    def forbidden(*args, **kwargs):
        raise AssertionError("minigrad called into torch's autograd")

    monkeypatch.setattr(torch.autograd, "backward", forbidden)
    monkeypatch.setattr(torch.autograd, "grad", forbidden)
    monkeypatch.setattr(torch.Tensor, "backward", forbidden)


def small_model(device: str):
    """A two-layer classifier's float64 parameters and a batch (x, y)."""
    generator = torch.Generator().manual_seed(0)

    def random(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, dtype=torch.float64)

    params = [
        mg.tensor(random(6, 4), device=device, requires_grad=True),
        mg.tensor(random(4) * 0.1, device=device, requires_grad=True),
        mg.tensor(random(4, 3), device=device, requires_grad=True),
    ]
    x = mg.tensor(random(5, 6), device=device)
    y = mg.tensor([0, 2, 1, 1, 0], device=device)
    return params, x, y


def loss_of(params, x, y):
    w1, b1, w2 = params
    logits = (x @ w1 + b1).relu() @ w2
    return -logits.log_softmax(1)[mg.arange(len(y), device=x.device), y].mean()


def assert_no_torch_graph(t: torch.Tensor, what: str) -> None:
    assert not t.requires_grad, f"{what} has torch's requires_grad set"
    assert t.grad_fn is None, f"{what} has a torch grad_fn"


def test_forward_and_backward_run_with_torch_autograd_forbidden(monkeypatch, device):
    forbid_torch_autograd(monkeypatch)
    params, x, y = small_model(device)
    loss = loss_of(params, x, y)
    loss.backward()
    for i, p in enumerate(params):
        assert p.grad is not None and p.grad.shape == p.shape, f"param {i} got no gradient"
        assert bool(p.grad._data.abs().sum() > 0), f"param {i} got an all-zero gradient"


def test_no_wrapped_tensor_ever_has_torch_autograd_state(device):
    params, x, y = small_model(device)
    loss = loss_of(params, x, y)
    nodes = graph_nodes(loss)
    assert len(nodes) > 8
    saved = [s for n in nodes if isinstance(n, Context) for s in n._saved]
    for i, node in enumerate(nodes):
        tensor = node_tensor(node)
        assert_no_torch_graph(tensor._data, f"graph node {i} ({node})")
    for i, s in enumerate(saved):
        if isinstance(s, torch.Tensor):
            assert_no_torch_graph(s, f"saved tensor {i}")
    loss.backward()
    for i, p in enumerate(params):
        assert_no_torch_graph(p._data, f"param {i} after backward")
        assert_no_torch_graph(p.grad._data, f"param {i}'s gradient")


def test_gradients_match_torch_autograd_computed_separately():
    params, x, y = small_model("cpu")
    loss_of(params, x, y).backward()
    torch_params = [p._data.clone().requires_grad_() for p in params]
    w1, b1, w2 = torch_params
    logits = (x._data @ w1 + b1).relu() @ w2
    expected_loss = torch.nn.functional.cross_entropy(logits, y._data)
    expected = torch.autograd.grad(expected_loss, torch_params)
    for p, g in zip(params, expected):
        torch.testing.assert_close(p.grad._data, g, rtol=1e-7, atol=1e-9)


def test_minigrad_differentiates_under_torch_no_grad():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with torch.no_grad():  # switches torch's autograd off, not minigrad's
        (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_tensor_from_a_torch_tensor_that_requires_grad_detaches_it():
    source = torch.ones(3, requires_grad=True)
    for wrapped in (mg.tensor(source), mg.Tensor(source), mg.tensor(source * 2)):
        assert_no_torch_graph(wrapped._data, "a wrapped tensor")
        assert not wrapped.requires_grad  # minigrad's flag is the user's to set
    assert source.requires_grad  # the user's own tensor is left as it was
    kept = mg.tensor(source, requires_grad=True)
    assert kept.requires_grad and not kept._data.requires_grad
