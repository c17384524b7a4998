"""explain() of the ops of issue 9 (sin ... repeat): the backward pass it writes out, run on the
recorded tensors, gives the gradients backward() gives, in every case their backward tells
apart (number or tensor bounds, degrees of freedom <= 0, the orders of a norm, 0-d inputs).
"""

from __future__ import annotations

import math
import re

import pytest
import torch

import minigrad as mg
from minigrad.explain import explain_graph
from minigrad.nn import functional as F


def leaf(*values, shape=None):
    data = torch.tensor(values, dtype=torch.float64)
    return mg.Tensor(data.reshape(shape) if shape is not None else data, requires_grad=True)


def x23():
    return leaf(0.5, -1.5, 2.0, 0.0, 3.0, -0.25, shape=(2, 3))


CASES = {
    "sin": lambda: x23().sin(),
    "cos": lambda: x23().cos(),
    "sqrt": lambda: x23().abs().sqrt()[:, :2],
    "rsqrt": lambda: (x23().abs() + 1).rsqrt(),
    "log10": lambda: (x23().abs() + 0.5).log10(),
    "log1p": lambda: x23().abs().log1p(),
    "expm1": lambda: x23().expm1(),
    "softplus": lambda: F.softplus(x23() * 10, beta=2.0, threshold=15.0),
    "clamp(numbers)": lambda: x23().clamp(-1.0, 1.0),
    "clamp(min)": lambda: x23().clamp(min=0.0),
    "clamp(tensors)": lambda: x23().clamp(leaf(0.0, -2.0, 1.0), leaf(0.1, 3.0, 0.5)),
    "clamp(max tensor)": lambda: x23().clamp(max=leaf(0.0, -2.0, 1.0)),
    "var": lambda: x23().var(1),
    "var(all, keepdim)": lambda: x23().var(correction=0, keepdim=True),
    "var(dof 0)": lambda: leaf(1.0, 2.0).var(correction=2),
    "var(dim, dof 0)": lambda: x23().var(0, correction=2),
    "std": lambda: x23().std((0, 1)),
    "std(equal values)": lambda: (x23() * 0).std(0),
    "norm": lambda: x23().norm(),
    "norm(p=1, dim)": lambda: x23().norm(1, 1),
    "norm(p=0.5)": lambda: x23().norm(0.5, -1, keepdim=True),
    "norm(p=3)": lambda: x23().norm(3),
    "norm(p=inf)": lambda: leaf(3.0, -3.0, 1.0).norm(math.inf),
    "norm(p=-inf, dim)": lambda: x23().norm(-math.inf, 0),
    "norm(p=0)": lambda: (lambda x: x.norm(0) + x.sum())(x23()),  # the count sends nothing
    "softmax": lambda: x23().softmax(1),
    "cumsum": lambda: x23().cumsum(0),
    "cumsum(0-d)": lambda: leaf(2.0, shape=()).cumsum(0),
    "cumprod": lambda: x23().cumprod(1),
    "cumprod(zeros)": lambda: leaf(2.0, 0.0, 3.0, 0.0, -1.5).cumprod(0),
    "cumprod(0-d)": lambda: leaf(2.0, shape=()).cumprod(0),
    "gather": lambda: x23().gather(1, mg.tensor([[0, 0], [2, 1]])),
    "repeat": lambda: x23().repeat(2, 1, 2),
    "embedding": lambda: F.embedding(mg.tensor([2, 0, 2, 1]), x23().T),
    "embedding(padding, by frequency)": lambda: F.embedding(
        mg.tensor([[2, 0], [2, 1]]), x23().T, padding_idx=-1, scale_grad_by_freq=True
    ),
    "tril": lambda: x23().tril(),
    "triu(diagonal)": lambda: x23().triu(-1),
    "topk": lambda: x23().topk(2).values,
    "min(dim)": lambda: x23().min(0).values,
}


@pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0")
@pytest.mark.parametrize("name", CASES)
def test_explain_gives_the_gradients_of_backward(name):
    out = CASES[name]()
    gradient = torch.linspace(-1, 2, out.numel(), dtype=torch.float64).reshape(out.shape)
    explanation = explain_graph(out, gradient)
    out.backward(gradient)
    results = explanation.run()
    assert explanation.leaves
    for leaf_name, x in explanation.leaves.items():
        expected = x.grad._data if x.grad is not None else torch.zeros_like(x._data)
        assert torch.allclose(results[leaf_name], expected, rtol=1e-12, atol=0, equal_nan=True), (
            leaf_name,
            results[leaf_name],
            expected,
            explanation.code,
        )


def test_every_ops_one_line_rule_states_its_gradient():
    """The rule the trace, explain and step.code print: the formula and the gradient, never a
    sentence cut off at a colon (as Convolution's, BatchNorm's, LayerNorm's, AvgPool2d's were)."""
    import inspect as _inspect

    from minigrad import ops
    from minigrad.autograd.function import Function

    for op in vars(ops).values():
        if _inspect.isclass(op) and issubclass(op, Function):
            rule = op.rule()
            assert not rule.endswith(":"), f"{op.__name__}: {rule}"
            assert re.search(r"/d|grad", rule), f"{op.__name__}'s rule has no gradient: {rule}"
