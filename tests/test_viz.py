"""Graph pictures: DOT text for the seed's loss and an MLP's, rendering when Graphviz is there."""

from __future__ import annotations

import importlib.util
import re
import shutil

import pytest

import minigrad as mg
from minigrad import viz


def seed_loss(batch: int = 2) -> tuple[mg.Tensor, mg.Tensor, mg.Tensor]:
    """fastbook chapter 4's model: mnist_loss(linear1(xb), yb) with `weights` and `bias`."""
    mg.manual_seed(0)
    weights = mg.randn(28 * 28, 1).requires_grad_()
    bias = mg.randn(1).requires_grad_()
    weights.name, bias.name = "weights", "bias"
    xb = mg.rand(batch, 28 * 28)
    yb = mg.tensor([[1]] * (batch // 2) + [[0]] * (batch - batch // 2))
    predictions = (xb @ weights + bias).sigmoid()
    return mg.where(yb == 1, 1 - predictions, predictions).mean(), weights, bias


def mlp_loss() -> mg.Tensor:
    """A ten-digit MLP's cross-entropy, from core ops."""
    mg.manual_seed(1)
    w1 = mg.randn(784, 30, requires_grad=True)
    b1 = mg.zeros(30, requires_grad=True)
    w2 = mg.randn(30, 10, requires_grad=True)
    b2 = mg.zeros(10, requires_grad=True)
    for p, name in zip((w1, b1, w2, b2), ("0.weight", "0.bias", "2.weight", "2.bias")):
        p.name = name
    x, y = mg.rand(4, 784), mg.tensor([3, 7, 0, 9])
    logits = (x @ w1 + b1).relu() @ w2 + b2
    return -logits.log_softmax(dim=1)[mg.arange(4), y].mean()


def test_seed_loss_dot_has_every_op_and_tensor_with_parameters_marked():
    loss, _, _ = seed_loss()
    dot = viz.to_dot(loss)
    assert dot.startswith("digraph minigrad {") and dot.rstrip().endswith("}")
    ops = re.findall(r'shape=oval[^\]]*label="(\w+)"', dot)
    assert sorted(ops) == sorted(["MatMul", "Add", "Sigmoid", "Sub", "Where", "Mean"])
    assert f'{viz.PARAMETER_STYLE}, label="weights  (parameter)\\n(784, 1) float32"' in dot
    assert f'{viz.PARAMETER_STYLE}, label="bias  (parameter)\\n(1,) float32"' in dot
    assert f'{viz.DATA_STYLE}, label="t1  (data)\\n(2, 784) float32"' in dot  # the images
    assert 'label="loss  (output)\\n() float32"' in dot
    assert dot.count(viz.PARAMETER_STYLE) == 2
    # operand order is labelled for ops where it matters: 1 - p, not p - 1
    assert re.search(r'c0 \[shape=plaintext, label="1"\];\n  c0 -> (op\d+) \[label="a"\];', dot)


def test_values_and_grads_appear_when_asked():
    loss, weights, bias = seed_loss()
    before = viz.to_dot(loss, show_values=True, show_grads=True)
    assert f"value {viz.summarize(bias._data)}" in before
    assert weights.grad is None  # the picture's own backward pass left .grad alone
    loss.backward(retain_graph=True)
    for dot in (before, viz.to_dot(loss, show_values=True, show_grads=True)):
        assert f"grad {viz.summarize(weights.grad._data)}" in dot
        assert f"grad {viz.summarize(bias.grad._data)}" in dot
        assert 'label="loss  (output)\\n() float32\\nvalue' in dot
        assert dot.count("\\ngrad ") == 10  # every node: 6 ops, 2 parameters, 2 data
        assert dot.count("\\ngrad -") == 2  # the images and the mask yb == 1: data, no gradient
        assert "\\ngrad 1.0000" in dot  # dloss/dloss


def test_after_a_backward_that_released_the_graph_the_leaves_grad_is_what_is_left():
    loss, weights, bias = seed_loss()
    loss.backward()
    dot = viz.to_dot(loss, show_grads=True)
    assert "\\ngrad -" in dot  # the one op left to draw: its output's gradient is gone


def test_mlp_cross_entropy_graph_names_its_parameters():
    dot = viz.to_dot(mlp_loss())
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert f'label="{name}  (parameter)' in dot
    for op in ("MatMul", "ReLU", "LogSoftmax", "Index", "Mean", "Neg"):
        assert f'label="{op}"' in dot


def test_a_chain_of_5000_ops_is_drawn_without_recursion():
    x = mg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    dot = viz.to_dot(y)
    assert dot.count('label="Mul"') == 5000


def test_a_tensor_used_twice_is_one_node_with_two_edges():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    dot = viz.to_dot((x * x).sum())
    assert dot.count('label="t0  (parameter)') == 1
    assert 't0 -> op1 [label="a"];\n  t0 -> op1 [label="b"];' in dot


def test_labels_with_quotes_are_escaped():
    x = mg.tensor([1.0], requires_grad=True)
    x.name = 'say "hi"'
    assert 'label="say \\"hi\\"  (parameter)' in viz.to_dot(x * 2)


def test_draw_without_graphviz_writes_the_dot_file_and_says_how_to_render(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(viz.graph.shutil, "which", lambda name: None)  # as on a machine without dot
    loss, _, _ = seed_loss()
    written = viz.draw(loss, tmp_path / "loss.png")
    assert written == tmp_path / "loss.dot"
    assert written.read_text() == viz.to_dot(loss)
    assert f"dot -Tpng {written} -o {tmp_path / 'loss.png'}" in capsys.readouterr().out
    assert not (tmp_path / "loss.png").exists()


def test_draw_to_a_dot_path_writes_the_text(tmp_path):
    loss, _, _ = seed_loss()
    assert viz.draw(loss, tmp_path / "g.dot", show_values=True).read_text() == viz.to_dot(
        loss, show_values=True
    )


HAS_GRAPHVIZ = shutil.which("dot") is not None and importlib.util.find_spec("graphviz") is not None


@pytest.mark.skipif(
    not HAS_GRAPHVIZ,
    reason="rendering needs Graphviz's `dot` program and the graphviz Python package "
    "(pip install minigrad[viz]); the .dot fallback is tested above",
)
@pytest.mark.parametrize(("suffix", "magic"), [(".svg", b"<svg"), (".png", b"\x89PNG")])
def test_draw_renders_svg_and_png_with_graphviz(tmp_path, suffix, magic):
    written = viz.draw(mlp_loss(), tmp_path / f"mlp{suffix}", show_values=True)
    assert written == tmp_path / f"mlp{suffix}"
    content = written.read_bytes()
    assert magic in content[:400]
