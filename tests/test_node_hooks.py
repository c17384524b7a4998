"""Hooks on a node of the graph, as torch's: `y.grad_fn.register_prehook(hook)` sees (and may
replace) the gradients that reach the node, `y.grad_fn.register_hook(hook)` those its backward
gave its inputs (in next_functions' order: nn.Linear's as torch's addmm has them) with the ones
it was given; and Module.register_backward_hook, torch's older module hook built on them, with
torch's warning where its gradients are not the module's. Each against torch: what the hooks
see, what flows on after they replace it, the warnings, the refusals."""

from __future__ import annotations

import warnings

import pytest
import torch

import minigrad as mg
from minigrad import GradientError
from minigrad.jit import CompileError


def seen(values):
    return [None if v is None else v.detach().tolist() for v in values]


def program(lib, hooks: bool):
    """y = sum(tanh(x * w) * 3): a chain of nodes, hooks on two of them; returns what they saw
    and the leaves' gradients."""
    x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
    w = lib.tensor([1.5, 0.25, -0.5], dtype=lib.float64, requires_grad=True)
    product = x * w
    y = (product.tanh() * 3).sum()
    log = []
    handles = []
    if hooks:
        handles.append(product.register_hook(lambda g: log.append(("tensor", g.tolist()))))
        mul = product.grad_fn
        handles.append(mul.register_prehook(lambda go: log.append(("pre", seen(go)))))
        handles.append(mul.register_hook(lambda gi, go: log.append(("post", seen(gi), seen(go)))))
        doubled = mul.register_prehook(lambda go: tuple(g * 2 for g in go))  # changes what flows
        halved = y.grad_fn.next_functions[0][0].register_hook(
            lambda gi, go: tuple(None if g is None else g / 4 for g in gi)
        )
        handles += [doubled, halved]
    y.backward()
    return log, x.grad.tolist(), w.grad.tolist(), handles


def test_node_hooks_see_and_replace_what_torch_s_do():
    ours, theirs = program(mg, True), program(torch, True)
    assert ours[0] == theirs[0]  # what each hook saw, in torch's order (tensor hooks first)
    assert [kind for kind, *_ in ours[0]] == ["tensor", "pre", "post"]
    torch.testing.assert_close(ours[1:3], theirs[1:3])  # after the replacements
    assert ours[1] != program(mg, False)[1]  # (the replacements changed the gradients)


def test_a_removed_node_hook_runs_no_more():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).sum()
    calls = []
    handle = y.grad_fn.register_prehook(lambda go: calls.append(1))
    post = y.grad_fn.register_hook(lambda gi, go: calls.append(2))
    handle.remove()
    post.remove()
    y.backward()
    assert calls == [] and x.grad.tolist() == [3.0, 3.0]


def test_a_linear_node_s_hook_sees_its_gradients_in_torch_s_addmm_order():
    """(bias, x, weight.T), as next_functions shows them; what the hook returns flows on."""
    results = {}
    for lib in (torch, mg):
        torch.manual_seed(0)
        layer = lib.nn.Linear(3, 2)
        x = lib.ones(4, 3, requires_grad=True)
        out = layer(x * 1)
        log = []

        def hook(grad_input, grad_output, log=log):
            log.append(([tuple(g.shape) for g in grad_input], seen(grad_input)))
            return tuple(g * 2 for g in grad_input)

        out.grad_fn.register_hook(hook)
        (out * out).sum().backward()
        results[lib] = log, x.grad.tolist(), layer.weight.grad.tolist(), layer.bias.grad.tolist()
    assert results[mg][0][0][0] == [(2,), (4, 3), (3, 2)]
    torch.testing.assert_close(results[mg], results[torch])


def test_hooks_may_not_change_how_many_gradients_nor_their_shapes():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.grad_fn.register_prehook(lambda go: (go[0], go[0]))
    with pytest.raises(GradientError, match=r"register_prehook\) got 1 gradients and returned 2"):
        y.backward()
    z = (x * 2).sum()
    z.grad_fn.next_functions[0][0].register_hook(lambda gi, go: (mg.ones(3), None))
    with pytest.raises(GradientError, match=r"shape \(2,\).*returned one of shape \(3,\)"):
        z.backward()


def test_node_hooks_under_create_graph_are_differentiated_through_as_torch_s():
    grads = {}
    for lib in (torch, mg):
        x = lib.tensor([0.5, -1.5], dtype=lib.float64, requires_grad=True)
        y = (x * x * x).sum()
        y.grad_fn.next_functions[0][0].register_hook(
            lambda gi, go: tuple(None if g is None else g * g for g in gi)
        )
        (first,) = lib.autograd.grad(y, x, create_graph=True)
        (second,) = lib.autograd.grad(first.sum(), x)
        grads[lib] = first.tolist(), second.tolist()
    torch.testing.assert_close(grads[mg], grads[torch])


# ---- Module.register_backward_hook: torch's older module hook -----------------------------------


def older_hook_run(lib, layer_of, through: bool):
    """A layer with an older backward hook, called on x * 1 (through another op) or on a leaf;
    returns what the hook saw, the warnings' texts and the leaf's gradient."""
    torch.manual_seed(0)
    layer = layer_of(lib)
    log = []
    layer.register_backward_hook(lambda m, gi, go: log.append((m is layer, seen(gi), seen(go))))
    x = lib.linspace(-1, 1, 12).reshape(4, 3).requires_grad_()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = layer(x * 1 if through else x)
    (out * out).sum().backward()
    return log, sorted({str(w.message) for w in caught}), x.grad.tolist()


LAYERS = {
    "ReLU": lambda lib: lib.nn.ReLU(),
    "Linear": lambda lib: lib.nn.Linear(3, 2),
    "Sequential": lambda lib: lib.nn.Sequential(lib.nn.Linear(3, 3), lib.nn.Tanh()),
}


@pytest.mark.parametrize("through", [True, False])
@pytest.mark.parametrize("layer", LAYERS)
def test_the_older_module_backward_hook_sees_warns_and_returns_as_torch_s(layer, through):
    ours = older_hook_run(mg, LAYERS[layer], through)
    theirs = older_hook_run(torch, LAYERS[layer], through)
    assert all(entry[0] for entry in ours[0])  # (the hook is given the module)
    torch.testing.assert_close(ours[0], theirs[0])  # what the hook saw
    assert ours[1] == theirs[1]  # torch's warnings, word for word (none for a ReLU on a node)
    torch.testing.assert_close(ours[2], theirs[2])


def test_both_kinds_of_module_backward_hooks_on_one_module_are_refused_as_in_torch():
    for lib in (torch, mg):
        layer = lib.nn.ReLU()
        layer.register_backward_hook(lambda m, gi, go: None)
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks"):
            layer.register_full_backward_hook(lambda m, gi, go: None)
        other = lib.nn.ReLU()
        other.register_full_backward_hook(lambda m, gi, go: None)
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks"):
            other.register_backward_hook(lambda m, gi, go: None)


def test_a_compiled_step_refuses_a_node_hook():
    w = mg.tensor([1.0, 2.0], requires_grad=True)

    def step(x):
        loss = (x * w).sum()
        loss.grad_fn.register_hook(lambda gi, go: None)
        loss.backward()
        return loss

    with pytest.raises(CompileError, match="runs a hook of yours"):
        mg.compile(step)(mg.tensor([1.0, 1.0]))


def test_a_node_s_metadata_is_a_dict_of_your_own_as_torch_s():
    for lib in (torch, mg):
        y = (lib.ones(2, requires_grad=True) * 2).sum()
        assert y.grad_fn.metadata == {}
        y.grad_fn.metadata["seen"] = 1
        assert y.grad_fn.metadata == {"seen": 1}
        assert y.grad_fn.next_functions[0][0].metadata == {}
