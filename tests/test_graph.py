"""The graph as a whole: shared subexpressions, accumulation, grad mode, freeing, deep graphs.

Per-op gradients live in the op tests; here every check is about how the engine walks and keeps
the graph. Gradients are compared with torch autograd in float64 at rtol 1e-7, atol 1e-9.
"""

from __future__ import annotations

import gc
import weakref

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_ops_elementwise import CallNames

import minigrad as mg

RTOL, ATOL = 1e-7, 1e-9


def assert_close(actual: mg.Tensor | torch.Tensor, expected: torch.Tensor) -> None:
    actual = actual._data if isinstance(actual, mg.Tensor) else actual
    torch.testing.assert_close(actual.to(expected.device), expected, rtol=RTOL, atol=ATOL)


def leaf(values, device: str | None = None) -> mg.Tensor:
    return mg.tensor(values, dtype=mg.float64, device=device, requires_grad=True)


# ---- random programs with shared subexpressions, against torch ----------------------------

# Leaves of shapes that broadcast together, so that the engine's sum back to shape takes part.
LEAF_SHAPES = [(2, 3), (3,), (2, 1)]
BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b}
UNARY = {"tanh": lambda a: a.tanh(), "sigmoid": lambda a: a.sigmoid(), "neg": lambda a: -a}

Step = tuple[str, int, int]  # (op, index of operand 1, index of operand 2): values so far


@st.composite
def programs(draw: st.DrawFn) -> list[Step]:
    """A few ops over the leaves and the results so far: operands are drawn from every value made
    up to that step, so intermediate results get reused (b = a + a; c = b * b + b)."""
    steps: list[Step] = []
    for n_values in range(len(LEAF_SHAPES), len(LEAF_SHAPES) + draw(st.integers(1, 6))):
        op = draw(st.sampled_from(sorted(BINARY) + sorted(UNARY)))
        operand = st.integers(0, n_values - 1)
        steps.append((op, draw(operand), draw(operand)))
    return steps


def run_program(program: list[Step], leaves: list):
    """Run the program on minigrad or torch tensors alike; the last value is the output."""
    values = list(leaves)
    for op, i, j in program:
        if op in BINARY:
            values.append(BINARY[op](values[i], values[j]))
        else:
            values.append(UNARY[op](values[i]))
    return values[-1]


# b = a + a; c = b * b + b (leaves are values 0, 1, 2; results are numbered from 3)
@example(program=[("add", 0, 0), ("mul", 3, 3), ("add", 4, 3)], seed=0)
# b = a + a; c = b + b
@example(program=[("add", 0, 0), ("add", 3, 3)], seed=1)
@given(program=programs(), seed=st.integers(0, 2**31 - 1))
@settings(
    suppress_health_check=[*settings().suppress_health_check, HealthCheck.function_scoped_fixture]
)
def test_random_program_with_shared_subexpressions_matches_torch(program, seed, device):
    generator = torch.Generator().manual_seed(seed)
    values = [
        3 * torch.rand(s, generator=generator, dtype=torch.float64) - 1.5 for s in LEAF_SHAPES
    ]
    mg_leaves = [leaf(v, device) for v in values]
    torch_leaves = [v.to(device).requires_grad_() for v in values]

    mg_out = run_program(program, mg_leaves)
    torch_out = run_program(program, torch_leaves)
    assert_close(mg_out, torch_out.detach())

    upstream = torch.randn(torch_out.shape, generator=generator, dtype=torch.float64).to(device)
    mg_out.backward(mg.tensor(upstream))
    expected = torch.autograd.grad(torch_out, torch_leaves, upstream, allow_unused=True)
    for i, (mg_leaf, torch_grad) in enumerate(zip(mg_leaves, expected)):
        if torch_grad is None:  # this leaf took no part in the output
            assert mg_leaf.grad is None, f"leaf {i} took no part but got a gradient"
        else:
            assert mg_leaf.grad is not None, f"leaf {i} took part but got no gradient"
            assert mg_leaf.grad.shape == mg_leaf.shape
            assert mg_leaf.grad.dtype == torch.float64
            assert_close(mg_leaf.grad, torch_grad)


@example(program=[("add", 0, 0)], seed=0)  # both uses of a leaf get the user's gradient
@example(program=[("add", 0, 1)], seed=0)  # two leaves get one gradient (one summed to shape)
@given(program=programs(), seed=st.integers(0, 2**31 - 1))
def test_each_leaf_grad_is_memory_of_its_own(program, seed):
    """Whether the engine hands a gradient nothing else holds over as .grad or copies it, each
    .grad is its leaf's own: changing one in place changes no other .grad, nor the gradient
    the user passed to backward(), and a second backward adds into each as torch's does."""
    generator = torch.Generator().manual_seed(seed)
    values = [torch.rand(s, generator=generator, dtype=torch.float64) for s in LEAF_SHAPES]
    leaves = [leaf(v) for v in values]
    torch_leaves = [v.clone().requires_grad_() for v in values]
    out, torch_out = run_program(program, leaves), run_program(program, torch_leaves)
    upstream = torch.randn(out.shape, generator=generator, dtype=torch.float64)
    passed = upstream.clone()
    out.backward(upstream, retain_graph=True)
    torch_out.backward(upstream, retain_graph=True)

    grads = [x.grad._data for x in leaves if x.grad is not None]
    before = [g.clone() for g in grads]
    for g in grads:
        g.add_(1.0)
    for g, was in zip(grads, before):
        assert torch.equal(g, was + 1.0), "a .grad shares memory with another leaf's .grad"
    assert torch.equal(upstream, passed), "a .grad shares memory with the gradient passed"

    out.backward(upstream)
    torch_out.backward(upstream)
    for x, t in zip(leaves, torch_leaves):
        if t.grad is not None:
            assert_close(x.grad, t.grad + 1.0)  # two passes (t.grad too), and the 1 added


@pytest.mark.parametrize(
    "program",
    [
        lambda a, b: (a + b.view(2, 3)) * 1.5,  # b's gradient is a view of a's
        lambda a, b: (b.view(2, 3) + a) * 1.5,  # (the other order of the engine's walk)
        lambda a, b: mg.cat([a, b.view(2, 3)]) * 1.5,  # each gets a view of one gradient
    ],
)
def test_a_gradient_and_a_view_of_it_reaching_two_leaves_are_two_grads(program):
    a = leaf(torch.rand(2, 3, dtype=torch.float64))
    b = leaf(torch.rand(6, dtype=torch.float64))
    out = program(a, b)
    out.backward(torch.ones(out.shape, dtype=torch.float64))
    first_b = b.grad._data.clone()
    a.grad._data.add_(1.0)
    assert torch.equal(b.grad._data, first_b), "b.grad shares memory with a.grad"


class SharedMemoryGradients(mg.autograd.Function):
    """out = a + b, whose backward gives a and b gradients that are two tensors over one memory
    (not views of each other: only the memory tells)."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        fresh = grad._data * 1.0
        alias = torch.empty(0, dtype=fresh.dtype).set_(
            fresh.untyped_storage(), 0, fresh.shape, fresh.stride()
        )
        return mg.Tensor(fresh), mg.Tensor(alias)


def test_two_gradients_over_one_memory_reaching_two_leaves_are_two_grads():
    a, b = leaf(torch.rand(3, dtype=torch.float64)), leaf(torch.rand(3, dtype=torch.float64))
    SharedMemoryGradients.apply(a, b).backward(torch.ones(3, dtype=torch.float64))
    a.grad._data.add_(1.0)
    assert torch.equal(b.grad._data, torch.ones(3, dtype=torch.float64))


class GappedGradient(mg.autograd.Function):
    """out = a, whose backward gives a new tensor with gaps between its elements (stride 2)."""

    @staticmethod
    def forward(ctx, a):
        return a * 1

    @staticmethod
    def backward(ctx, grad):
        gapped = torch.empty_strided(grad.shape, (2,), dtype=grad.dtype).copy_(grad._data)
        return mg.Tensor(gapped)


def test_a_gradient_with_gaps_becomes_a_compact_grad_as_a_copy_makes_it():
    a = leaf(torch.rand(3, dtype=torch.float64))
    GappedGradient.apply(a).backward(torch.ones(3, dtype=torch.float64))
    assert a.grad._data.is_contiguous()
    assert torch.equal(a.grad._data, torch.ones(3, dtype=torch.float64))


def test_a_fresh_gradient_becomes_grad_without_a_copy():
    """A weight's gradient (x.T @ g) and a bias's (g summed over the batch) are new tensors
    nothing else holds: .grad is that tensor, not a copy of it (torch steals it too)."""
    w = mg.Tensor(torch.randn(5, 3, dtype=torch.float64), requires_grad=True)
    b = mg.Tensor(torch.randn(3, dtype=torch.float64), requires_grad=True)
    x = mg.Tensor(torch.randn(4, 5, dtype=torch.float64))
    loss = ((x @ w + b) ** 2).sum()
    with CallNames() as calls:
        loss.backward()
    assert "clone" not in calls.names, calls.names
    assert w.grad._data.is_contiguous() and b.grad._data.is_contiguous()


def test_reused_non_leaf_b_plus_b(device):
    a = leaf([1.5, -2.0], device)
    b = a + a
    c = b + b  # c = 4a: a plain recursion that visits b once per use would double-count
    c.sum().backward()
    assert a.grad.tolist() == [4.0, 4.0]


def test_leaf_used_several_times_gets_the_sum_of_its_gradients(device):
    x = leaf([2.0, 3.0], device)
    y = x * x + x * 3.0 + x.exp()  # dy/dx = 2x + 3 + e^x
    y.sum().backward()
    assert_close(x.grad, (2 * x._data + 3 + x._data.exp()))


# ---- backward twice ----------------------------------------------------------------------


def test_two_backward_calls_accumulate_into_grad(device):
    x = leaf([0.5, -1.0, 2.0], device)
    loss = (x.sigmoid() * x).sum()
    loss.backward(retain_graph=True)
    first = x.grad._data.clone()
    loss.backward()
    assert torch.equal(x.grad._data, 2 * first)  # the same gradient again, added


def test_a_second_backward_through_ops_that_saved_nothing_works_as_in_torch():
    x = leaf([0.5, -1.0])
    h = x + 1  # Add saves nothing
    h.sum().backward()
    (h * 3).sum().backward()  # back through the released Add: torch allows it too
    assert x.grad.tolist() == [4.0, 4.0]


# The same code on torch and minigrad (`lib`): ops whose node keeps nothing that backward frees
# (slices, views, sums) and ops that keep a tensor (an index tensor, an input, an output).
SECOND_BACKWARD = {
    "x[1:3]": lambda lib, x: x[1:3],
    "x[1]": lambda lib, x: x[1],
    "x[None]": lambda lib, x: x[None],
    "x[None, :, None].squeeze()": lambda lib, x: x[None, :, None].squeeze(),
    "x[None].expand(3, 4)": lambda lib, x: x[None].expand(3, 4),
    "x.split(2)[0]": lambda lib, x: x.split(2)[0],
    "x.chunk(2)[1]": lambda lib, x: x.chunk(2)[1],
    "x.unbind()[0]": lambda lib, x: x.unbind()[0],
    "x.narrow(0, 1, 2)": lambda lib, x: x.narrow(0, 1, 2),
    "x.reshape(2, 2).t()": lambda lib, x: x.reshape(2, 2).t(),
    "x.flip(0)": lambda lib, x: x.flip(0),
    "cat([x, x])": lambda lib, x: lib.cat([x, x]),
    "x.repeat(2)": lambda lib, x: x.repeat(2),
    "x.mean()": lambda lib, x: x.mean(),
    "x.double()": lambda lib, x: x.double(),
    "2 - x": lambda lib, x: 2 - x,
    "x[index tensor]": lambda lib, x: x[lib.tensor([0, 2])],
    "x[mask]": lambda lib, x: x[lib.tensor([True, False, True, False])],
    "x * x": lambda lib, x: x * x,
    "x.exp()": lambda lib, x: x.exp(),
    "x.relu()": lambda lib, x: x.relu(),
    "x.max()": lambda lib, x: x.max(),
    "x.softmax(0)": lambda lib, x: x.softmax(0),
    "x.reshape(2, 2).gather(1, index)": lambda lib, x: x.reshape(2, 2).gather(
        1, lib.tensor([[0], [1]])
    ),
    "x @ ones": lambda lib, x: x @ lib.ones(4, 2, dtype=lib.float64),
    # A gradient with a graph (x[1:3]'s backward, placing x[0:2] + 1 at 1:3): saves nothing.
    "grad(x[1:3], x, x[0:2] + 1, create_graph)": lambda lib, x: lib.autograd.grad(
        x[1:3], x, x[0:2] + 1, create_graph=True
    )[0],
}


@pytest.mark.parametrize("name", sorted(SECOND_BACKWARD))
def test_a_second_backward_without_retain_graph_fails_exactly_where_torch_s_does(name):
    """Freeing a graph frees the tensors its nodes saved, nothing else: a second backward through
    a node that saved none (a slice, a view, a sum) works and adds into .grad, through one that
    saved a tensor it raises. A node must not refuse where torch's goes on (x[1:3] did)."""
    outcomes = []
    for lib in (torch, mg):
        x = lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64, requires_grad=True)
        h = SECOND_BACKWARD[name](lib, x)
        h.sum().backward()
        try:
            (h * 3).sum().backward()
        except RuntimeError as error:  # (minigrad's GradientError is one)
            assert "second time" in str(error)
            outcomes.append(None)
        else:
            outcomes.append(x.grad._data if lib is mg else x.grad)
    theirs, ours = outcomes
    said = {True: "failed", False: "worked"}
    assert (ours is None) == (theirs is None), (
        f"torch's second backward {said[theirs is None]}, minigrad's {said[ours is None]}"
    )
    if theirs is not None:
        assert_close(ours, theirs)  # the first gradient and 3 times it, added


def test_second_backward_without_retain_graph_raises_a_clear_error(device):
    x = leaf([0.5, -1.0], device)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(mg.GradientError, match="retain_graph=True") as error:
        loss.backward()
    assert "second time" in str(error.value)


def test_backward_frees_the_graph_and_what_it_saved():
    x = leaf(torch.randn(1000, 1000, dtype=torch.float64))
    big = x.exp()  # Exp saves its output for backward: the graph keeps it alive
    loss = (big * 2.0).sum()
    saved = weakref.ref(big._data)
    del big
    gc.collect()
    assert saved() is not None, "the graph should keep the saved tensor until backward"
    loss.backward()
    gc.collect()
    assert saved() is None, "backward() should release the tensors saved for it"
    assert loss.grad_fn.inputs == ()


def test_retain_graph_keeps_saved_tensors():
    x = leaf([1.0, 2.0])
    big = x.exp()
    loss = big.sum()
    loss.backward(retain_graph=True)
    assert loss.grad_fn.inputs == (big,)
    with mg.no_grad():  # (with grad on, saved_tensors come back in the graph, as Tensors)
        assert big.grad_fn.saved_tensors[0] is big._data


# ---- grad mode -----------------------------------------------------------------------------


def test_no_grad_records_nothing(device):
    x = leaf([1.0, 2.0], device)
    with mg.no_grad():
        y = x * 2 + 1
    assert not y.requires_grad
    assert y.grad_fn is None and y.is_leaf
    assert mg.is_grad_enabled()  # switched back on leaving the block


def test_no_grad_as_a_decorator():
    @mg.no_grad()
    def predict(x: mg.Tensor) -> mg.Tensor:
        assert not mg.is_grad_enabled()
        return x * 2

    y = predict(leaf([1.0]))
    assert not y.requires_grad and y.grad_fn is None
    assert mg.is_grad_enabled()


def test_enable_grad_inside_no_grad_records_again():
    x = leaf([1.0, 2.0])
    with mg.no_grad():
        with mg.enable_grad():
            y = x * 3
        z = x * 3
    assert y.requires_grad and y.grad_fn is not None
    assert not z.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(KeyError), mg.no_grad():
        raise KeyError("something failed inside the block")
    assert mg.is_grad_enabled()


# ---- requires_grad, leaves and .grad --------------------------------------------------------


def test_requires_grad_propagates_through_ops():
    x = leaf([1.0, 2.0])
    c = mg.tensor([3.0, 4.0], dtype=mg.float64)
    assert (x * c).requires_grad and not (x * c).is_leaf
    assert (2.0 * x).requires_grad
    plain = c * c + 1
    assert not plain.requires_grad and plain.is_leaf and plain.grad_fn is None


def test_grad_stays_none_where_no_gradient_flows():
    used = leaf([1.0, 2.0])
    unused = leaf([3.0, 4.0])
    constant = mg.tensor([5.0, 6.0], dtype=mg.float64)  # a leaf without requires_grad
    middle = used * constant
    middle.sum().backward()
    assert used.grad is not None
    assert unused.grad is None
    assert constant.grad is None
    with pytest.warns(UserWarning, match="not a leaf"):  # (torch warns there too)
        assert middle.grad is None  # a non-leaf keeps no .grad unless asked to


def hooked_program(lib):
    """Hooks on a value of the graph (one looks, one doubles), on a leaf (before .grad), on one
    piece of a split, with retain_grad, then one removed and autograd.grad: what the hooks saw
    and the gradients, for torch or minigrad alike."""
    x = lib.tensor([0.5, -1.0, 2.0, 1.5], dtype=lib.float64, requires_grad=True)
    w = lib.tensor([1.5, 0.25, -0.5, 2.0], dtype=lib.float64, requires_grad=True)
    seen = []
    h = (x * w).tanh()
    h.retain_grad()
    h.register_hook(lambda g: seen.append(("h", g.tolist())))
    doubling = h.register_hook(lambda g: g * 2)  # runs after the one above: it sees g
    x.register_hook(lambda g: seen.append(("x", g.tolist())))
    w.register_hook(lambda g: g + 1)  # before w.grad gets it
    first, second = h.split(2)
    second.register_hook(lambda g: g * -3)  # one output of the split
    (first**2 + second.exp().sum()).sum().backward(retain_graph=True)
    grads = [x.grad.tolist(), w.grad.tolist(), h.grad.tolist()]
    doubling.remove()
    again = (h * h).sum()
    found = lib.autograd.grad(again, [x], retain_graph=True)  # hooks run here too
    return seen, grads, [g.tolist() for g in found]


def test_register_hook_sees_and_replaces_gradients_as_torchs():
    ours, theirs = hooked_program(mg), hooked_program(torch)
    assert [name for name, _ in ours[0]] == [name for name, _ in theirs[0]]
    for (_, mine), (_, reference) in zip(ours[0], theirs[0]):
        assert_close(torch.tensor(mine), torch.tensor(reference))
    for mine, reference in zip(ours[1] + ours[2], theirs[1] + theirs[2]):
        assert_close(torch.tensor(mine), torch.tensor(reference))


def test_a_hook_belongs_to_the_value_it_was_registered_on_as_in_torch():
    """h changed in place after the hook: the hook still gets the gradient of h's old value,
    and one registered afterwards that of the new (torch's rule for in-place changes)."""

    def program(lib):
        x = lib.tensor([0.5, -1.0], dtype=lib.float64, requires_grad=True)
        h = x * 3
        seen = []
        h.register_hook(lambda g: seen.append(("old", g.tolist())))
        h.mul_(2.0)
        h.register_hook(lambda g: seen.append(("new", g.tolist())))
        (h * h).sum().backward()
        return seen, x.grad.tolist()

    assert program(mg) == program(torch)


def test_a_hook_under_create_graph_is_differentiated_too():
    """A hook that multiplies by x the gradient it gets (2 sin x, which depends on x): both
    the hook's graph and the gradient's are in the result, so the second derivative goes
    through both, as torch's."""

    def program(lib):
        x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        h = x.sin()
        h.register_hook(lambda g: g * x)
        (g,) = lib.autograd.grad((h * h).sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        return g.tolist(), gg.tolist()

    ours, theirs = program(mg), program(torch)
    for mine, reference in zip(ours, theirs):
        assert_close(torch.tensor(mine), torch.tensor(reference))


def test_register_hook_refuses_a_tensor_without_grad_and_a_gradient_of_another_shape():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        torch.ones(2).register_hook(print)
    with pytest.raises(mg.GradientError, match="does not require grad.*never run"):
        mg.ones(2).register_hook(print)
    h = leaf([1.0, 2.0]) * 2
    h.register_hook(lambda g: g.sum())
    with pytest.raises(mg.GradientError, match=r"shape \(2,\).*returned one of shape \(\)"):
        h.sum().backward()


def test_retain_grad_keeps_the_gradient_of_a_non_leaf():
    a = leaf([1.0, -2.0])
    b = a * 2.0
    assert b.retain_grad() is None  # as torch's (nothing to chain)
    (b * b).sum().backward()
    assert_close(b.grad, 2 * b._data)
    assert_close(a.grad, 2 * 2 * b._data)


def test_detach_shares_storage_and_stops_the_gradient():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    d = y.detach()
    assert not d.requires_grad and d.is_leaf
    d[0] = 100.0  # the same storage: y sees the change
    assert y[0].item() == 100.0
    (x.detach() * x).sum().backward()  # only the second factor carries a gradient
    assert x.grad.tolist() == [1.0, 2.0]


def test_random_upstream_gradient_reaches_the_leaves():
    generator = torch.Generator().manual_seed(0)
    values = torch.randn(3, 4, generator=generator, dtype=torch.float64)
    upstream = torch.randn(3, 4, generator=generator, dtype=torch.float64)
    x = leaf(values)
    x.tanh().backward(upstream)  # also accepts a raw torch tensor
    expected_x = values.clone().requires_grad_()
    (expected,) = torch.autograd.grad(expected_x.tanh(), expected_x, upstream)
    assert_close(x.grad, expected)


# ---- identity, not value, makes a node ------------------------------------------------------


def test_equal_values_stay_two_nodes():
    a = leaf([1.0, 2.0])
    b = leaf([1.0, 2.0])
    (a + b * 3.0).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0]
    assert b.grad.tolist() == [3.0, 3.0]


def test_tensors_hash_by_identity():
    a = leaf([1.0, 2.0])
    b = leaf([1.0, 2.0])
    assert len({a, b}) == 2
    assert a in {a} and b in {b}
    assert {a: "a", b: "b"}[b] == "b"


# ---- big graphs: no recursion --------------------------------------------------------------


def test_a_chain_of_100_000_ops_backpropagates():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y + 1.0  # a recursive topological sort would overflow Python's stack here
    y.backward()
    assert y.item() == 100_001.0
    assert x.grad.item() == 1.0


def test_a_wide_graph_backpropagates():
    x = leaf([1.0, 2.0])
    terms = [x * float(k) for k in range(10_000)]
    mg.stack(terms).sum().backward()
    expected = float(sum(range(10_000)))
    assert x.grad.tolist() == [expected, expected]


# ---- in-place changes to saved tensors are caught --------------------------------------------


def test_saved_input_changed_under_no_grad_is_caught_naming_the_op():
    x = leaf([1.0, 2.0])
    loss = x.log().sum()  # Log saves x
    with mg.no_grad():
        x += 1.0
    with pytest.raises(mg.GradientError, match="Log") as error:
        loss.backward()
    assert "modified in place" in str(error.value)
    assert x.grad is None  # nothing wrong was written


def test_saved_output_changed_through_data_is_caught_naming_the_op():
    x = leaf([1.0, 2.0])
    y = x.exp()  # Exp saves its output, y
    loss = (y * 2.0).sum()
    y.data += 1.0
    with pytest.raises(mg.GradientError, match="Exp.*modified in place"):
        loss.backward()


def test_saved_index_tensor_changed_in_place_is_caught():
    x = leaf([1.0, 2.0, 3.0])
    index = mg.tensor([0, 0, 1])
    loss = (x[index] * mg.tensor([1.0, 2.0, 4.0], dtype=mg.float64)).sum()
    index += 1  # index needs no gradient, so this is allowed, but Index's backward needs it
    with pytest.raises(mg.GradientError, match="Index.*modified in place"):
        loss.backward()


def test_in_place_change_to_an_unsaved_tensor_is_harmless():
    x = leaf([1.0, 2.0])
    c = mg.tensor([3.0, 4.0], dtype=mg.float64)
    loss = (x + c).sum()  # Add saves nothing: its gradient does not depend on the values
    c += 10.0
    loss.backward()
    assert x.grad.tolist() == [1.0, 1.0]
