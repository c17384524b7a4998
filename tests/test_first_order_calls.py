"""The first-order backward pass makes the torch calls it made before gradients of gradients
existed: each op's backward formula now also runs on minigrad Tensors (create_graph=True), and
that must cost the usual pass nothing. For one small program per op family, the number of torch
calls (not counting reads of shapes and dtypes) that `backward()` makes is pinned here; a change
to a formula that adds a call shows up as a failure, and a deliberate change (a faster kernel)
updates the table in the same commit. (A leaf's gradient that nothing else holds becomes its
.grad without a copy, as in torch: only a gradient the caller or another leaf holds is copied,
as `add`'s `a` gets the gradient passed to backward.) And the gradients themselves are bit for
bit the same with and without create_graph.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch.overrides import TorchFunctionMode

import minigrad as mg
from minigrad.autograd.function import formulas_only
from minigrad.jit.recording import METADATA, METADATA_ATTRIBUTES, func_name
from minigrad.nn import functional as F


class CountCalls(TorchFunctionMode):
    """Counts the torch calls made inside it that compute something."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: Any = None):
        name = func_name(func)
        if name not in METADATA and name not in METADATA_ATTRIBUTES:
            self.names.append(name)
        return func(*args, **(kwargs or {}))


def inputs(*shapes: tuple[int, ...]) -> list[mg.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [
        mg.Tensor(torch.randn(shape, generator=gen, dtype=torch.float64), requires_grad=True)
        for shape in shapes
    ]


TARGETS = torch.tensor([0, 2, 1])

# name: (the program, the shapes of its inputs, the torch calls its backward makes)
PROGRAMS: dict[str, tuple[Callable[..., mg.Tensor], list[tuple[int, ...]], int]] = {
    "add": (lambda a, b: a + b, [(3, 4), (4,)], 2),
    "mul": (lambda a, b: a * b, [(3, 4), (3, 4)], 2),
    "div": (lambda a, b: a / b.exp(), [(3, 4), (3, 4)], 6),
    "pow": (lambda a: a**3, [(3, 4)], 3),  # a number exponent: no tensor made to compare to 0
    "exp_log": (lambda a: (a.exp() + 1).log(), [(3, 4)], 2),
    "sigmoid_tanh": (lambda a: a.sigmoid() * a.tanh(), [(3, 4)], 9),
    "relu": (lambda a: a.relu(), [(3, 4)], 1),  # torch's threshold_backward for its formula
    "gelu": (lambda a: F.gelu(a), [(3, 4)], 11),
    "sum_mean": (lambda a: a.sum(0) + a.mean(0), [(3, 4)], 6),
    "max_dim": (lambda a: a.max(dim=1).values, [(3, 4)], 3),
    "log_softmax": (lambda a: a.log_softmax(1), [(3, 4)], 4),
    "matmul": (lambda a, b: a @ b, [(3, 4), (4, 5)], 4),
    "linear": (lambda x, w, b: F.linear(x, w, b), [(3, 4), (5, 4), (5,)], 6),
    "einsum": (lambda a, b: mg.einsum("ij,jk->ik", a, b), [(3, 4), (4, 5)], 4),  # (no expand)
    "shape": (lambda a: a.reshape(4, 3).T[1:3].unsqueeze(0), [(3, 4)], 5),
    "index_cat": (lambda a: mg.cat([a[[0, 2]], a[1:]], 0), [(3, 4)], 12),
    "cross_entropy": (lambda a: F.cross_entropy(a, TARGETS), [(3, 4)], 5),  # nll_loss_backward
    "mse_loss": (lambda a, b: F.mse_loss(a, b), [(3, 4), (3, 4)], 6),  # one op, 2/n (a - b) G
    "bce_with_logits": (
        lambda a, b: F.binary_cross_entropy_with_logits(a, b.sigmoid()),
        [(3, 4), (3, 4)],
        10,  # one op (it was 15 as a composition of ops), and b.sigmoid()'s 3
    ),  # fmt: skip
    # conv2d and avg_pool2d: torch's kernels for their formulas (convolution_backward,
    # avg_pool2d_backward), one call each; max_pool2d's zeros are made flat (scatter_added)
    "conv2d": (lambda x, w: F.conv2d(x, w, stride=2, padding=1), [(2, 3, 6, 6), (4, 3, 3, 3)], 1),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), [(2, 3, 6, 6)], 6),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2), [(2, 3, 6, 6)], 1),
    "batch_norm": (
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        [(4, 3, 2, 2), (3,), (3,)],
        1,
    ),  # fmt: skip  (native_batch_norm_backward)
    # layer_norm: native_layer_norm_backward, and a sum for dL/dbias
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)], 2),
    "embedding": (lambda w: F.embedding(TARGETS, w), [(3, 4)], 4),
}


def backward_calls(program: Callable[..., mg.Tensor], shapes: list[tuple[int, ...]]) -> list[str]:
    out = program(*inputs(*shapes))
    gradient = torch.ones_like(out._data)
    with CountCalls() as counter:
        out.backward(gradient)
    return counter.names


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_the_first_order_backward_makes_the_torch_calls_it_made(name):
    program, shapes, expected = PROGRAMS[name]
    calls = backward_calls(program, shapes)
    assert len(calls) == expected, calls


# The families whose first-order backward calls a torch kernel that computes their formula in
# another order of summation (conv2d's dL/dW by convolution_backward; batch norm's and layer
# norm's backward kernels, on the statistics their forward kernels returned): equal to the
# formula to rounding (rtol 1e-7, proven over drawn shapes in tests/test_conv.py,
# tests/test_normalization.py, tests/test_layers_activations.py, and below), not bit for bit.
# Their first-order side runs the formula here (formulas_only), so that what is compared bit
# for bit is the one formula, on torch tensors and on Tensors. (Every family's backward runs on
# Tensors now: issue 19's list of those not yet converted is empty, and gone.)
KERNEL_TO_ROUNDING = {"batch_norm", "conv2d", "layer_norm"}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_gradients_are_the_same_bit_for_bit_with_and_without_create_graph(name):
    program, shapes, _ = PROGRAMS[name]
    plain, graphed = inputs(*shapes), inputs(*shapes)
    out = program(*plain)
    with formulas_only() if name in KERNEL_TO_ROUNDING else contextlib.nullcontext():
        out.backward(torch.ones_like(out._data))
    out = program(*graphed)
    out.backward(torch.ones_like(out._data), create_graph=True)
    for p, g in zip(plain, graphed):
        assert (p.grad is None) == (g.grad is None)
        if p.grad is not None:
            assert torch.equal(p.grad._data, g.grad._data), name


@pytest.mark.parametrize("name", sorted(KERNEL_TO_ROUNDING))
def test_a_kernel_that_rounds_otherwise_gives_its_formulas_gradients(name):
    program, shapes, _ = PROGRAMS[name]
    kernel, formula = inputs(*shapes), inputs(*shapes)
    out = program(*kernel)
    out.backward(torch.ones_like(out._data))
    out = program(*formula)
    with formulas_only():
        out.backward(torch.ones_like(out._data))
    for k, f in zip(kernel, formula):
        torch.testing.assert_close(k.grad._data, f.grad._data, rtol=1e-7, atol=1e-9)
