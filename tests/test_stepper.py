"""The backward stepper (minigrad.viz.stepper): its steps are the engine's, in the engine's
order, and the gradients it shows are backward()'s. (tests/test_site.py clicks through its page
in a real browser.)"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.autograd.engine import topological_order
from minigrad.autograd.function import node_of
from minigrad.viz import stepper
from minigrad.viz.stepper import values_text

# A small program: three leaves (two that require grad, one data), then ops drawn from these,
# each on one or two of the values made so far (every value is (rows, 3) or (1, 3), so any two
# broadcast); the loss sums the last value and w.
UNARY = {
    "sigmoid": lambda a: a.sigmoid(),
    "tanh": lambda a: a.tanh(),
    "relu": lambda a: a.relu(),
    "exp": lambda a: (a * 0.5).exp(),
    "square": lambda a: a * a,
    "sum0": lambda a: a.sum(dim=0, keepdim=True),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "matmul": lambda a, b: (a @ b.T) @ b,  # (r, 3) @ (3, r') @ (r', 3): a's shape again
}


@st.composite
def programs(draw: st.DrawFn) -> tuple[mg.Tensor, list[mg.Tensor]]:
    rows = draw(st.integers(1, 3))
    values = [
        mg.tensor(draw(_arrays((rows, 3))), requires_grad=True),
        mg.tensor(draw(_arrays((1, 3))), requires_grad=True),  # broadcast: its gradient sums
        mg.tensor(draw(_arrays((rows, 3)))),  # data: no gradient
    ]
    for leaf, name in zip(values, ["w", "b", "x"]):
        leaf.name = name
    for _ in range(draw(st.integers(1, 6))):
        a = values[draw(st.integers(0, len(values) - 1))]
        b = values[draw(st.integers(0, len(values) - 1))]
        op = draw(st.sampled_from(sorted(UNARY) + sorted(BINARY)))
        values.append(UNARY[op](a) if op in UNARY else BINARY[op](a, b))
    loss = (values[-1] * 1.0 + values[0]).sum()  # w always takes part
    return loss, values[:2]


def _arrays(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    size = int(np.prod(shape))
    numbers = st.lists(st.floats(-2, 2), min_size=size, max_size=size)
    return numbers.map(lambda v: np.array(v, dtype=np.float64).reshape(shape))


@given(program=programs())
def test_the_steps_are_the_engines_order_and_end_with_backwards_gradients(program):
    loss, leaves = program
    engine_order = list(reversed(topological_order([node_of(loss)])))
    steps = stepper(loss)
    assert [id(node) for node in steps.order] == [id(node) for node in engine_order]
    data = steps.data()
    assert len(data["steps"]) == len(engine_order)
    for leaf in leaves:  # the numbers shown at the end are .grad's, as backward() left it
        if leaf.grad is None:  # b, when the program never used it
            assert leaf.name not in steps.leaf_grads
            continue
        assert (steps.leaf_grads[leaf.name] == leaf.grad._data).all()
        shown = [s["grad"] for s in data["steps"] if data["names"][s["node"]] == leaf.name]
        assert shown == [values_text(leaf.grad._data)]


@given(program=programs())
def test_each_step_shows_what_the_engine_sent(program):
    loss, _ = program
    steps = stepper(loss)
    for step, shown in zip(steps.steps, steps.data()["steps"]):
        assert shown["arriving"] == [values_text(g) for g in step.grads]
        if "sends" in shown:
            sent = [g for g in step.input_grads if g is not None]
            assert [s["grad"] for s in shown["sends"]] == [values_text(g) for g in sent]


def test_a_tensor_used_twice_gets_the_sum_and_says_how_many():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    w = mg.tensor(3.0, requires_grad=True)
    x.name, w.name = "x", "w"
    steps = stepper((x * w + x).sum())
    leaf_x = next(s for s in steps.data()["steps"] if s["node"] == steps.nodes.index(x))
    assert leaf_x["uses"] == 2
    assert leaf_x["grad"] == "(2,) [4.0000, 4.0000]"
    assert x.grad.tolist() == [4.0, 4.0]  # stepper ran the real backward


def test_the_page_is_one_file_with_no_address_outside_it(tmp_path):
    mg.manual_seed(0)
    w = mg.randn(3, 2, requires_grad=True)
    loss = (mg.rand(4, 3) @ w).relu().mean()
    page = stepper(loss).save(tmp_path / "backward.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "<script>" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # no CDN, no network
    assert 'data-keys="page"' in page  # arrow keys anywhere on the page
    data = re.search(r'<script type="application/json" class="mg-data">(.*?)</script>', page)
    assert len(json.loads(data.group(1))["steps"]) == 4  # MatMul, ReLU, Mean, w


def test_in_a_notebook_it_is_a_fragment_and_two_of_them_do_not_collide():
    a = mg.tensor([1.0], requires_grad=True)
    first, second = stepper((a * 2).sum()), stepper((a * 3).sum())
    html = first._repr_html_()
    assert html.startswith('<div class="mg-stepper"') and "<html" not in html
    ids = {re.search(r'id="(mg-stepper-\w+)"', s._repr_html_()).group(1) for s in (first, second)}
    assert len(ids) == 2
    assert first._repr_html_() == html  # the same graph gives the same file


def test_small_gradients_are_shown_in_full_and_large_ones_summarized():
    import torch

    assert values_text(torch.tensor([[1.0, -0.5]])) == "(1, 2) [[1.0000, -0.5000]]"
    big = values_text(torch.ones(5, 5))
    assert big.startswith("(5, 5) norm 5.0000")


def test_a_released_graph_is_refused_with_the_fix():
    w = mg.tensor([1.0], requires_grad=True)
    loss = (w.exp() * 2).sum()
    loss.backward()
    with pytest.raises(mg.GradientError, match="retain_graph=True"):
        stepper(loss)
