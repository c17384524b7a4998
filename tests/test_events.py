"""The listening mechanism (minigrad/autograd/events.py): what the core announces, in which order,
with which values, and how listeners are installed and removed.

The backward pass is checked as a whole over random programs: every node is announced once,
begin then end, after all the nodes that send it gradients; what a node is told it received is
the sum of what its users said they sent; a leaf's announced gradient is what lands in `.grad`.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import given
from test_graph import LEAF_SHAPES, programs, run_program

import minigrad as mg
from minigrad import nn, optim
from minigrad.autograd import anomaly_mode, events
from minigrad.autograd.engine import is_op_node, topological_order
from minigrad.autograd.function import node_of


class Log(events.Listener):
    """Writes down every event it hears, as (event name, the values it came with)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


def _logged(event: str):
    def method(self: Log, *args: Any, **kwargs: Any) -> None:
        self.events.append((event, args + tuple(kwargs.values())))

    return method


for _event in [name for name in vars(events.Listener) if not name.startswith("_")]:
    setattr(Log, _event, _logged(_event))


def leaves() -> list[mg.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [
        mg.Tensor(torch.randn(shape, generator=gen, dtype=torch.float64), requires_grad=True)
        for shape in LEAF_SHAPES
    ]


# ---- installing listeners ------------------------------------------------------------------


def test_nobody_listens_by_default():
    assert events.listeners == ()
    assert events.current is None


def test_a_listener_hears_only_inside_its_block_and_is_removed_after_an_error():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with events.listening(Log()) as log:
        assert events.current is log
        (x * 2).sum()
    assert log.names() == ["op_begin", "op_end", "op_begin", "op_end"]
    assert events.current is None
    with pytest.raises(ZeroDivisionError), events.listening(Log()):
        raise ZeroDivisionError
    assert events.listeners == ()


def test_two_listeners_both_hear_each_event_in_the_order_they_were_installed():
    heard = []

    class Named(events.Listener):
        def __init__(self, name: str) -> None:
            self.name = name

        def op_begin(self, function: type, args: tuple[Any, ...]) -> None:
            heard.append((self.name, function.__name__))

        def grad_used(self, tensor: Any, write: bool) -> None:
            heard.append((self.name, "grad written" if write else "grad read"))

    x = mg.tensor([1.0], requires_grad=True)
    with events.listening(Named("outer")), events.listening(Named("inner")):
        assert isinstance(events.current, events.Chorus)
        x.exp()
        x.grad = None
    assert heard == [
        ("outer", "Exp"),
        ("inner", "Exp"),
        ("outer", "grad written"),
        ("inner", "grad written"),
    ]


def test_removing_one_of_two_listeners_leaves_the_other_listening():
    first, second = Log(), Log()
    events.add(first)
    events.add(second)
    try:
        events.remove(first)
        assert events.current is second
        mg.tensor([1.0], requires_grad=True).exp()
        assert first.events == [] and second.names() == ["op_begin", "op_end"]
    finally:
        events.remove(second)
    assert events.current is None


def test_anomaly_mode_is_a_listener_while_it_is_on():
    with mg.autograd.detect_anomaly():
        assert anomaly_mode._LISTENER in events.listeners
        with mg.autograd.detect_anomaly():  # nested: installed once
            assert events.listeners.count(anomaly_mode._LISTENER) == 1
        assert anomaly_mode._LISTENER in events.listeners
    assert anomaly_mode._LISTENER not in events.listeners


# ---- the forward pass --------------------------------------------------------------------------


def test_each_op_is_announced_before_and_after_it_runs_with_its_node_and_output():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    data = mg.tensor([3.0, 4.0])
    with events.listening(Log()) as log:
        y = x * data
        z = data.exp()  # needs no gradient: a bare Context, no node
    (begin_mul, (function, args)), (end_mul, (_, ctx, out)) = log.events[:2]
    assert (begin_mul, end_mul, function) == ("op_begin", "op_end", mg.ops.Mul)
    assert args[0] is x and args[1] is data
    assert out is y and ctx is y.grad_fn and ctx.parents == (x, data)
    _, (_, bare, out_z) = log.events[3]
    assert out_z is z and bare.parents == () and z.grad_fn is None


def test_an_op_that_fails_is_announced_as_begun_but_not_ended():
    with events.listening(Log()) as log, pytest.raises(mg.ShapeError):
        mg.ones(2, 3) @ mg.ones(2, 3)
    assert log.names() == ["op_begin"]


def test_an_in_place_change_announces_the_op_that_computes_the_new_values():
    h = mg.tensor([1.0, 2.0], requires_grad=True) * 1
    with events.listening(Log()) as log:
        h += 1
    ops_run = [args[0].__name__ for name, args in log.events if name == "op_begin"]
    assert "Add" in ops_run
    assert log.events[-1] == ("changed_in_place", (h,))  # after the op, h holding its result


def test_every_in_place_change_is_announced_once_recorded_or_not():
    h = mg.tensor([1.0, 2.0], requires_grad=True) * 1
    plain = mg.tensor([1.0, 2.0])
    with events.listening(Log()) as log:
        plain.mul_(2)  # nothing to record: torch's kernel
        h[0] = 5.0  # recorded, through a view's region
        with mg.no_grad():
            h.zero_()
    changed = [args for name, args in log.events if name == "changed_in_place"]
    assert changed == [(plain,), (h,), (h,)]


# ---- the backward pass ------------------------------------------------------------------------


def backward_events(log: Log) -> list[tuple[str, tuple[Any, ...]]]:
    return [(n, a) for n, a in log.events if n.startswith(("backward", "node"))]


@given(programs())
def test_every_node_is_announced_once_in_the_engines_order_with_the_gradients_it_got(program):
    xs = leaves()
    out = run_program(program, xs)
    loss = (out * out).sum()
    order = list(reversed(topological_order([node_of(loss)])))
    with events.listening(Log()) as log:
        loss.backward()
    seen = backward_events(log)
    assert seen[0][0] == "backward_begin" and seen[-1][0] == "backward_end"
    ((root, gradient),) = seen[0][1][0]  # backward_begin(roots): one root, 1 implied
    assert root is loss and gradient is None
    steps = seen[1:-1]
    # begin, end, begin, end...: one node at a time, each node once, in the engine's order
    assert [name for name, _ in steps] == ["node_begin", "node_end"] * len(order)
    assert [args[0] for _, args in steps[::2]] == order
    assert all(b[1][0] is e[1][0] for b, e in zip(steps[::2], steps[1::2]))

    sent: dict[tuple[int, int], torch.Tensor] = {}  # what users sent each (node, output)
    for (_, (node, grads)), (_, (_, _, input_grads, totals)) in zip(steps[::2], steps[1::2]):
        if node is node_of(loss):
            torch.testing.assert_close(grads[0], torch.ones_like(loss._data))
        else:  # it received what its users said they sent, summed
            for output, grad in enumerate(grads):
                torch.testing.assert_close(grad, sent[(id(node), output)], rtol=0, atol=0)
        if not is_op_node(node):
            assert input_grads == [] and totals == []
            torch.testing.assert_close(grads[0], node.grad._data, rtol=0, atol=0)
            continue
        assert len(input_grads) == len(totals) == len(node.parents)
        for parent, output, grad, total in zip(
            node.parents, node.parent_outputs, input_grads, totals
        ):
            if grad is None:
                assert total is None
                continue
            key = (id(parent), output)
            sent[key] = sent[key] + grad if key in sent else grad
            torch.testing.assert_close(total, sent[key], rtol=0, atol=0)
    for x in xs:  # every leaf that got a gradient was announced, once
        announced = [a[0] for n, a in steps if n == "node_begin" and a[0] is x]
        assert len(announced) == (1 if x.grad is not None else 0)


def test_autograd_grad_announces_the_leaves_it_reaches_and_leaves_grad_alone():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    with events.listening(Log()) as log:
        (dx,) = mg.autograd.grad(loss, [x])
    leaf_begins = [a for n, a in log.events if n == "node_begin" and a[0] is x]
    assert len(leaf_begins) == 1
    torch.testing.assert_close(leaf_begins[0][1][0], dx._data)
    assert x.grad is None


def test_a_listener_that_raises_stops_the_pass_and_is_still_removed():
    class Stop(events.Listener):
        def node_begin(self, node: Any, grads: list[Any]) -> None:
            raise RuntimeError("stop")

    x = mg.tensor([1.0], requires_grad=True)
    loss = (x * 3).sum()
    with pytest.raises(RuntimeError, match="stop"), events.listening(Stop()):
        loss.backward()
    assert events.current is None and x.grad is None


# ---- the state a training step reads and changes --------------------------------------------


def test_grad_reads_and_writes_data_writes_modules_and_updates_are_announced():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = mg.randn(4, 2)
    with events.listening(Log()) as log:
        loss = model(x).pow(2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        model.weight.data = model.weight.data * 1
    names = log.names()
    assert ("module_called", (model,)) in log.events
    updates = [(n, a[1]) for n, a in log.events if n.startswith("update_")]
    weight, bias = model.weight, model.bias
    assert [(n, p is weight, p is bias) for n, p in updates] == [
        ("update_begin", True, False),
        ("update_end", True, False),
        ("update_begin", False, True),
        ("update_end", False, True),
    ]
    hyper = [a[1] for n, a in log.events if n == "hyperparameter"]
    assert "lr" in hyper and "momentum" in hyper
    assert names.count("aside_begin") == names.count("aside_end") >= 1
    assert any(n == "option" for n in names)
    reads = [a for n, a in log.events if n == "grad_used" and a[0] is weight]
    assert (weight, False) in reads and (weight, True) in reads  # step reads, zero_grad sets
    assert ("data_set", (weight,)) in log.events


def test_a_gradient_landing_in_grad_is_announced_and_autograd_grad_lands_only_retained_ones():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    with events.listening(Log()) as log:
        (h * h).sum().backward(retain_graph=True)
    landed = [(n, a[0]) for n, a in log.events if n.startswith("accumulate")]
    assert [(n, t is h, t is x) for n, t in landed] == [
        ("accumulate_begin", True, False),
        ("accumulate_end", True, False),
        ("accumulate_begin", False, True),
        ("accumulate_end", False, True),
    ]
    with events.listening(Log()) as log:
        mg.autograd.grad((h * h).sum(), [x])
    landed = [(n, a[0]) for n, a in log.events if n.startswith("accumulate")]
    # only h's: it retains its gradient; x's is returned, not added into x.grad
    assert [(n, t is h) for n, t in landed] == [
        ("accumulate_begin", True),
        ("accumulate_end", True),
    ]
