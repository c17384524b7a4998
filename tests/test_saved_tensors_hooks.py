"""Hooks on what ops save for backward (torch.autograd.graph.saved_tensors_hooks, save_on_cpu,
disable_saved_tensors_hooks), against torch: which tensors pack sees (the input or output they
are, with their grad_fn), that backward computes with what unpack returns (a copy, a value
moved elsewhere and back, even a changed one), gradients and second derivatives through them,
nesting, and the refusals. Programs draw their values with Hypothesis, in float64. (Which
values an op saves follows its backward formula, minigrad's own: the tensors pack sees are those,
so a program's count of them may differ from torch's.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from test_higher_order import CubeKeepingSquare

import minigrad as mg
from minigrad.jit import CompileError
from minigrad.testing import assert_close
from minigrad.testing import strategies as mst

values = mst.float_arrays(mst.shapes(min_rank=1, max_rank=2, min_side=1, max_side=4), -2, 2)


def program(lib, a, b):
    """Ops that save inputs (mul, pow), outputs (sigmoid, exp, softmax) and values of their own
    (layer norm's statistics)."""
    h = a * b
    normed = lib.nn.functional.layer_norm(h, h.shape[-1:])
    return (h.sigmoid() * a.exp()).sum() + h.softmax(-1).pow(2).mean() + (normed * b).sum()


def run(lib, arrays, pack, unpack, create_graph=False):
    """program under the hooks: what pack saw (values, whether it was a leaf, its node's name),
    the leaves' gradients (and, with create_graph, the gradient of their sum)."""
    a, b = (lib.tensor(x, dtype=lib.float64, requires_grad=True) for x in arrays)
    seen = []

    def packing(t):
        seen.append((tuple(t.shape), t.grad_fn.name() if t.grad_fn is not None else ""))
        return pack(t)

    with lib.autograd.graph.saved_tensors_hooks(packing, unpack):
        out = program(lib, a, b)
    grads = lib.autograd.grad(out, (a, b), create_graph=create_graph)
    result = [g.detach() if lib is torch else g._data for g in grads]
    if create_graph:
        result += [g.detach() if lib is torch else g._data
                   for g in lib.autograd.grad(sum(g.sum() for g in grads), (a, b))]  # fmt: skip
    return sorted(seen), result


def plain(lib, arrays):
    a, b = (lib.tensor(x, dtype=lib.float64, requires_grad=True) for x in arrays)
    grads = lib.autograd.grad(program(lib, a, b), (a, b))
    return [g.detach() if lib is torch else g._data for g in grads]


@given(a=values, b=values)
def test_pack_sees_the_saved_tensors_and_backward_computes_with_what_unpack_returns(a, b):
    b = np.resize(b, a.shape)
    for pack, unpack in [
        (lambda t: t, lambda t: t),  # as they are
        (lambda t: t.detach().clone(), lambda t: t),  # a copy
        (lambda t: (t.dtype, t.detach().tolist()), lambda p: torch.tensor(p[1], dtype=p[0])),
    ]:
        ours, theirs = run(mg, (a, b), pack, unpack), run(torch, (a, b), pack, unpack)
        # (which values each saves is each one's own: minigrad's formulas are not torch's)
        assert ours[0] and theirs[0]
        for mine, torchs in zip(ours[1], theirs[1]):
            assert_close(mine, torchs, what="gradient through the hooks")
        for mine, plain_gradient in zip(ours[1], plain(mg, (a, b))):
            assert_close(mine, plain_gradient, what="the same as without hooks")


@given(a=values, b=values)
def test_second_derivatives_through_the_hooks_match_torch(a, b):
    b = np.resize(b, a.shape)
    ours = run(mg, (a, b), lambda t: t * 1, lambda t: t, create_graph=True)
    theirs = run(torch, (a, b), lambda t: t * 1, lambda t: t, create_graph=True)
    for mine, torchs in zip(ours[1], theirs[1]):
        assert_close(mine, torchs, what="create_graph through the hooks")


def test_unpack_decides_what_backward_computes_with():
    """What unpack returns is used, whatever it is (here: twice the saved value): as torch."""
    grads = {}
    for lib in (torch, mg):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t * 2):
            y = (x * x).sum()
        y.backward()
        grads[lib] = x.grad.tolist()
    assert grads[mg] == grads[torch] == [4.0, -8.0, 12.0]  # 2 * (2x), not 2x


def test_pack_sees_the_input_and_output_tensors_themselves_as_torch():
    for lib in (torch, mg):
        a, b = lib.ones(3, requires_grad=True), lib.ones(3, requires_grad=True) * 2
        seen = []
        with lib.autograd.graph.saved_tensors_hooks(lambda t, seen=seen: seen.append(t) or t,
                                                    lambda t: t):  # fmt: skip
            y = a * b
            s = y.sigmoid()
        assert {id(t) for t in seen} == {id(a), id(b), id(s)}


def test_the_innermost_block_s_hooks_apply_and_ops_inside_pack_save_nothing_through_them():
    for lib in (torch, mg):
        calls = []
        outer = lib.autograd.graph.saved_tensors_hooks(
            lambda t, calls=calls: calls.append("outer") or t, lambda t: t
        )

        def inner_pack(t, calls=calls):
            calls.append("inner")
            return (t * t).detach() / t.detach()  # (ops that save: not packed again)

        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with outer, lib.autograd.graph.saved_tensors_hooks(inner_pack, lambda t: t):
            y = (x * x).sum()
        y.backward()
        assert calls == ["inner", "inner"] and x.grad.tolist() == [2.0, 4.0]


def test_save_on_cpu_gives_the_same_gradients():
    grads = {}
    for lib in (torch, mg):
        x = lib.linspace(-1, 1, 6, dtype=lib.float64).requires_grad_()
        with lib.autograd.graph.save_on_cpu():
            y = (x.exp() * x.tanh()).sum()
        y.backward()
        grads[lib] = x.grad.tolist()
    assert grads[mg] == grads[torch]


def test_a_value_changed_in_place_after_packing_is_not_checked_as_in_torch():
    """Once packed, a saved value is the hooks' (they may have copied it): no version check."""
    grads = {}
    for lib in (torch, mg):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t.detach().clone(), lambda t: t):
            h = x * 1
            y = (h * h).sum()
        h.add_(10)  # after forward: the packed copies keep the old values
        y.backward()
        grads[lib] = x.grad.tolist()
    assert grads[mg] == grads[torch] == [2.0, 4.0]


def test_disable_saved_tensors_hooks_refuses_them_with_its_message_as_torch():
    for lib in (torch, mg):
        graph = lib.autograd.graph
        with graph.disable_saved_tensors_hooks("not in this block"):
            with pytest.raises(RuntimeError, match="not in this block"):
                with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                    pass
        with graph.saved_tensors_hooks(lambda t: t, lambda t: t):  # allowed again after
            with pytest.raises(RuntimeError, match="hooks set"):
                with graph.disable_saved_tensors_hooks("hooks set"):
                    pass
    assert mg.autograd.graph.Node is type(((mg.ones(1, requires_grad=True)) * 2).grad_fn)


def test_a_compiled_step_refuses_saved_tensors_hooks():
    w = mg.tensor([1.0, 2.0], requires_grad=True)

    def step(x):
        with mg.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            loss = (x * w).sum()
        loss.backward()
        return loss

    with pytest.raises(CompileError, match="saved_tensors_hooks"):
        mg.compile(step)(mg.tensor([1.0, 1.0]))


def test_a_value_an_op_computed_is_refused_under_create_graph_through_the_hooks_too():
    """A Function that keeps x^2 (neither an input nor its output) for backward: under
    create_graph it would enter the gradient's graph as a constant, with hooks as without."""
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with mg.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        y = CubeKeepingSquare.apply(x).sum()
    with pytest.raises(mg.GradientError, match="neither one of its inputs nor its output"):
        mg.autograd.grad(y, x, create_graph=True)
    (first,) = mg.autograd.grad(y, x)  # (first order: fine)
    assert first.tolist() == [3.0, 12.0]
