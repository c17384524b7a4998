"""The edges of autograd that issue 21 found or listed, each against torch: retain_grad() on a
tensor later changed in place, the version counter (`_version`), and the behaviours no test
pinned before (grad mode nested and recursive, autograd.grad's corners, custom Functions that
return views or their input, index tensors changed in place after use, a gradient shared by
two .grad's).

Each program runs on minigrad and on torch (the same code, `lib` standing for either module);
values and gradients are compared in float64.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_inplace import IN_PLACE

import minigrad as mg
from minigrad.testing import assert_close

VALUES = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


def leaf(lib, values=VALUES, requires_grad=True):
    return lib.tensor(values, dtype=lib.float64, requires_grad=requires_grad)


def grads(tensors) -> list:
    """Each tensor's .grad as nested lists (None where it has none)."""
    return [None if t.grad is None else t.grad.tolist() for t in tensors]


def assert_same(ours, theirs, what: str) -> None:
    assert (ours is None) == (theirs is None), f"{what}: minigrad {ours}, torch {theirs}"
    if theirs is not None:
        assert_close(torch.tensor(ours), torch.tensor(theirs), what=what)


# ---- retain_grad() on a tensor changed in place afterwards ---------------------------------


def retained_then_changed(lib, x):
    h = x * 2
    h.retain_grad()
    h.mul_(3)  # h now holds new values: its .grad is for them
    return h * h, [h]


def retained_then_changed_twice(lib, x):
    h = x * 2
    h.retain_grad()
    h.mul_(3)
    h.add_(1)
    return h.exp(), [h]


def retained_base_changed_through_a_view(lib, x):
    h = x * 2
    h.retain_grad()
    h[1].mul_(3)  # a write through a view changes h too
    return h * h, [h]


def retained_view_changed_then_base_used(lib, x):
    h = x * 2
    v = h[1]
    v.retain_grad()
    v.mul_(3)
    return h * h, [v]  # v's new values are not used: its .grad stays None


def retained_view_made_again_after_its_base_changed(lib, x):
    h = x * 2
    v = h[1]
    v.retain_grad()
    h.add_(1)  # v catches up with its base when next used: .grad is for those values
    return v * v, [v]


def retained_used_before_and_after_the_change(lib, x):
    h = x * 2
    h.retain_grad()
    before = h * 5  # (keeps only the 5 for backward: h may change)
    h.add_(1)
    return before + h * h, [h]


def retained_piece_of_a_split_changed(lib, x):
    a, b = x.split(1, dim=0)
    c = b * 1
    c.retain_grad()
    c.mul_(2)
    return a * c, [c]


def retained_in_place_under_no_grad(lib, x):
    h = x * 2
    h.retain_grad()
    with lib.no_grad():
        h.mul_(3)  # not recorded: h keeps its node, and its .grad
    return h + 0, [h]


RETAIN_PROGRAMS = [
    retained_then_changed,
    retained_then_changed_twice,
    retained_base_changed_through_a_view,
    retained_view_changed_then_base_used,
    retained_view_made_again_after_its_base_changed,
    retained_used_before_and_after_the_change,
    retained_piece_of_a_split_changed,
    retained_in_place_under_no_grad,
]


@pytest.mark.parametrize("program", RETAIN_PROGRAMS, ids=lambda p: p.__name__)
def test_retain_grad_follows_a_tensor_changed_in_place_as_in_torch(program):
    """torch gives .grad for the tensor's values at backward (its retain_grad hook moves to the
    tensor's new node with each in-place change); the node of its old values keeps none."""
    results = []
    for lib in (mg, torch):
        x = leaf(lib)
        out, watched = program(lib, x)
        upstream = torch.linspace(-1, 1, out.numel(), dtype=torch.float64).reshape(out.shape)
        out.backward(upstream if lib is torch else mg.Tensor(upstream))
        results.append((grads(watched), grads([x])))
    (ours, ours_x), (theirs, theirs_x) = results
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert_same(o, t, f"{program.__name__}: .grad of the retained tensor {i}")
    assert_same(ours_x[0], theirs_x[0], f"{program.__name__}: the leaf's .grad")


def test_the_old_values_node_keeps_the_tensors_name_however_it_was_changed():
    """h changed in place, directly or through a view of it: the graph then holds h's old
    values and its new ones, and viz names both after h (h, h_2). (Only a tensor that asked for
    retain_grad() leaves its old node for good: that node's .grad is not h's any more.)"""
    from minigrad.viz import node_names

    for change in (lambda h: h.mul_(3), lambda h: h[0:2].mul_(3)):
        x = mg.Tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
        h = x * 2
        h.name = "h"
        before = h * 5
        change(h)
        names = node_names((before + h).sum())
        assert {"h", "h_2"} <= set(names.values())


def test_a_view_of_a_base_whose_data_was_replaced_is_a_tensor_of_its_own():
    """After `h.data = ...`, a view taken before holds the old values: it no longer views h,
    and its gradient is that of the values it holds (2 per element of x), however h changes
    later. (torch sends it h's new history instead: 3 * 2 more, for values it does not hold.)"""
    x = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64, requires_grad=True)
    h = x * 2
    view = h[0:2]
    h.data = mg.tensor([10.0, 20.0, 30.0], dtype=mg.float64)
    h.mul_(3)
    (view * 1).sum().backward()
    assert view.tolist() == [2.0, 4.0] and x.grad.tolist() == [2.0, 2.0, 0.0]


# ---- the version counter --------------------------------------------------------------------


@pytest.mark.parametrize("name", list(IN_PLACE))
@pytest.mark.parametrize("recorded", [False, True], ids=["plain", "in the graph"])
def test_version_counts_in_place_changes_as_torchs(name, recorded):
    """x._version, and that of a view of x (which shares it), after each in-place op: whether
    the change is recorded in the graph or is a plain in-place kernel."""
    counts = []
    for lib in (mg, torch):
        x = leaf(lib, requires_grad=recorded)
        x = x * 1.0 if recorded else x.clone()
        view = x[0]
        before = (x._version, view._version)
        IN_PLACE[name](x, leaf(lib, VALUES[::-1].copy(), requires_grad=False))
        counts.append((before, x._version, view._version))
    assert counts[0] == counts[1]


def test_version_of_a_new_tensor_is_0_and_out_of_place_ops_leave_it():
    for lib in (mg, torch):
        x = leaf(lib, requires_grad=False)
        assert x._version == 0
        _ = x + 1, x.T, x.sum()
        assert x._version == 0
        x.T.add_(1)  # through a view: the base's count moves too
        assert x._version == 1


# ---- the same program on both: equal results, or an error from both ---------------------------


def run_both(program):
    """program(lib) on minigrad and on torch: both refuse (torch with a RuntimeError, minigrad
    with its GradientError), or both return the same nested values (floats to float64
    rounding)."""
    results = []
    for lib in (mg, torch):
        try:
            results.append(("returned", program(lib)))
        except RuntimeError as error:
            results.append(("raised", error))
        finally:
            torch.set_grad_enabled(True)  # (a failed grad-mode program may have left it off)
            mg.set_grad_enabled(True)
    (ours_kind, ours), (theirs_kind, theirs) = results
    assert ours_kind == theirs_kind, (
        f"minigrad {ours_kind} {ours!r}, torch {theirs_kind} {theirs!r}"
    )
    if theirs_kind == "returned":
        assert_nested_equal(ours, theirs)
    else:
        assert isinstance(ours, mg.GradientError), f"minigrad raised {ours!r}"
    return results[0][1]


def assert_nested_equal(ours, theirs, where="result"):
    if isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs), where
        for i, (o, t) in enumerate(zip(ours, theirs)):
            assert_nested_equal(o, t, f"{where}[{i}]")
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12), where
    else:
        assert ours == theirs, where


def values(tensors):
    return [None if t is None else t.tolist() for t in tensors]


# ---- grad mode: nested, recursive, decorated ------------------------------------------------


def grad_on(lib):
    return lib.is_grad_enabled()


def nested_blocks(lib):
    seen = [grad_on(lib)]
    with lib.no_grad():
        seen.append(grad_on(lib))
        with lib.enable_grad():
            seen.append(grad_on(lib))
            with lib.set_grad_enabled(False):
                seen.append(grad_on(lib))
                with lib.inference_mode(False):
                    seen.append(grad_on(lib))
                seen.append(grad_on(lib))
                with lib.inference_mode():
                    seen.append(grad_on(lib))
                    with lib.enable_grad():
                        seen.append(grad_on(lib))
                    seen.append(grad_on(lib))
            seen.append(grad_on(lib))
        seen.append(grad_on(lib))
    seen.append(grad_on(lib))
    return seen


def recursive_decorated_functions(lib):
    """Each call of a decorated function restores the mode its caller had, however deep."""
    seen = []

    @lib.no_grad()
    def down(n):
        seen.append(("down", n, grad_on(lib)))
        if n > 0:
            with lib.enable_grad():
                down(n - 1)
                seen.append(("back in", n, grad_on(lib)))
            up(n - 1)
        seen.append(("down leaves", n, grad_on(lib)))

    @lib.enable_grad()
    def up(n):
        seen.append(("up", n, grad_on(lib)))
        if n > 0:
            down(n - 1)
        seen.append(("up leaves", n, grad_on(lib)))

    down(3)
    seen.append(grad_on(lib))
    with lib.no_grad():
        up(2)
        seen.append(grad_on(lib))
    return seen


def recursive_bare_decorator(lib):
    seen = []

    @lib.no_grad
    def count(n):
        seen.append(grad_on(lib))
        with lib.enable_grad():
            seen.append(grad_on(lib))
            if n:
                count(n - 1)
            seen.append(grad_on(lib))
        return n

    return seen, count(2), grad_on(lib)


def direct_recursion(lib):
    """A decorated function calling itself straight away: the inner call starts in the mode the
    outer one set, and each must restore its own caller's mode on the way out."""
    seen = []

    @lib.no_grad()
    def descend(n):
        seen.append(("descend", n, grad_on(lib)))
        if n:
            descend(n - 1)
        seen.append(("descend leaves", n, grad_on(lib)))

    @lib.enable_grad()
    def climb(n):
        seen.append(("climb", n, grad_on(lib)))
        if n:
            climb(n - 1)
        seen.append(("climb leaves", n, grad_on(lib)))

    descend(2)
    seen.append(grad_on(lib))
    with lib.no_grad():
        climb(2)
        seen.append(grad_on(lib))
    return seen


def errors_inside(lib):
    seen = []
    try:
        with lib.no_grad():
            with lib.enable_grad():
                raise ValueError
    except ValueError:
        seen.append(grad_on(lib))

    @lib.no_grad()
    def fails():
        raise KeyError

    with lib.no_grad():
        with lib.enable_grad():
            try:
                fails()
            except KeyError:
                seen.append(grad_on(lib))
        seen.append(grad_on(lib))
    return seen


def set_grad_enabled_called_inside_blocks(lib):
    seen = []
    with lib.no_grad():
        lib.set_grad_enabled(True)  # a plain call: switches now; the block still restores
        seen.append(grad_on(lib))
    seen.append(grad_on(lib))
    with lib.enable_grad():
        lib.set_grad_enabled(False)
        seen.append(grad_on(lib))
    seen.append(grad_on(lib))
    lib.set_grad_enabled(False)
    with lib.set_grad_enabled(True):
        seen.append(grad_on(lib))
    seen.append(grad_on(lib))
    lib.set_grad_enabled(True)
    switch = lib.set_grad_enabled(False)  # switches at once, even before `with`
    seen.append(grad_on(lib))
    with switch:
        seen.append(grad_on(lib))
    seen.append(grad_on(lib))
    lib.set_grad_enabled(True)
    return seen


def one_switch_object_entered_twice(lib):
    seen = []
    switch = lib.no_grad()
    with switch:
        with lib.enable_grad():
            with switch:  # the same object, nested in itself: torch's rule, kept
                seen.append(grad_on(lib))
            seen.append(grad_on(lib))
        seen.append(grad_on(lib))
    seen.append(grad_on(lib))
    lib.set_grad_enabled(True)
    return seen


def nested_generators(lib):
    seen = []

    @lib.no_grad()
    def inner():
        for i in range(2):
            seen.append(("inner", grad_on(lib)))
            got = yield i
            seen.append(("inner got", got, grad_on(lib)))

    @lib.enable_grad()
    def outer():
        seen.append(("outer", grad_on(lib)))
        yield from inner()
        seen.append(("outer ends", grad_on(lib)))

    with lib.no_grad():
        steps = outer()
        seen.append(next(steps))
        seen.append(("caller", grad_on(lib)))
        seen.append(steps.send("a"))
        with pytest.raises(StopIteration):
            steps.send("b")
        seen.append(("caller", grad_on(lib)))

    @lib.no_grad()
    def catches():
        try:
            yield 1
        except ValueError:
            seen.append(("caught", grad_on(lib)))
            yield 2
        finally:
            seen.append(("finally", grad_on(lib)))

    thrown = catches()
    next(thrown)
    seen.append(thrown.throw(ValueError))
    seen.append(grad_on(lib))
    closed = catches()
    next(closed)
    closed.close()  # its finally runs under its own mode
    seen.append(grad_on(lib))
    return seen


def decorated_methods_and_set_grad_enabled(lib):
    class Model:
        @lib.no_grad()
        def predict(self):
            return grad_on(lib)

    @lib.set_grad_enabled(False)
    def evaluate():
        return grad_on(lib)

    @lib.inference_mode  # bare, as @no_grad may be too
    def infer():
        return grad_on(lib)

    @lib.enable_grad
    def train():
        return grad_on(lib)

    seen = [Model().predict(), grad_on(lib), infer(), grad_on(lib)]
    with lib.no_grad():
        seen.append((train(), grad_on(lib)))
    with lib.no_grad():
        with lib.set_grad_enabled(True):
            seen.append((evaluate(), grad_on(lib)))
    seen.append((evaluate(), grad_on(lib)))
    return seen


def records_per_mode(lib):
    """Not only the switch: whether ops record, at each depth."""
    x = leaf(lib, [1.0, 2.0])
    seen = []
    with lib.no_grad():
        seen.append((x * 2).requires_grad)
        with lib.enable_grad():
            y = x * 2
            seen.append(y.requires_grad)
            with lib.inference_mode():
                seen.append((y * 2).requires_grad)
        seen.append((y + 1).requires_grad)
    (y * y).sum().backward()
    return seen, x.grad.tolist()


GRAD_MODE_PROGRAMS = [
    nested_blocks,
    recursive_decorated_functions,
    recursive_bare_decorator,
    direct_recursion,
    errors_inside,
    set_grad_enabled_called_inside_blocks,
    one_switch_object_entered_twice,
    nested_generators,
    decorated_methods_and_set_grad_enabled,
    records_per_mode,
]


@pytest.mark.parametrize("program", GRAD_MODE_PROGRAMS, ids=lambda p: p.__name__)
def test_grad_mode_nested_recursive_and_decorated_as_torchs(program):
    run_both(program)
    assert mg.is_grad_enabled()


# ---- autograd.grad: a freed graph, an op's second output, an implicit gradient ----------------


def grad_twice_on_a_freed_graph(lib):
    x = leaf(lib, [1.0, 2.0])
    loss = (x * x).sum()
    lib.autograd.grad(loss, x)
    lib.autograd.grad(loss, x)  # its saved tensors are gone: an error, in both


def grad_then_backward_on_a_freed_graph(lib):
    x = leaf(lib, [1.0, 2.0])
    loss = x.exp().sum()
    lib.autograd.grad(loss, x)
    loss.backward()


def grad_twice_with_retain_graph(lib):
    x = leaf(lib, [1.0, 2.0])
    loss = (x * x.exp()).sum()
    first = lib.autograd.grad(loss, x, retain_graph=True)
    second = lib.autograd.grad(loss, x)
    return values(first), values(second), x.grad


def autograd_backward_twice_on_a_freed_graph(lib):
    x = leaf(lib, [1.0, 2.0])
    loss = (x * x).sum()
    lib.autograd.backward([loss])
    lib.autograd.backward([loss])


def autograd_backward_twice_with_retain_graph(lib):
    x = leaf(lib, [1.0, 2.0])
    loss = (x * x).sum()
    lib.autograd.backward([loss], retain_graph=True)
    lib.autograd.backward([loss])
    return x.grad.tolist()


def grad_of_a_graph_that_saved_nothing_twice(lib):
    x = leaf(lib, [1.0, 2.0])
    loss = (x + 1).sum()  # nothing saved: a second pass through a freed graph still runs
    return values(lib.autograd.grad(loss, x)), values(lib.autograd.grad(loss, x))


def two_outputs(lib):
    class Halves(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x[:2] * 2, x[2:] ** 2

        @staticmethod
        def backward(ctx, grad_first, grad_second):
            (x,) = ctx.saved_tensors
            return lib.cat([grad_first * 2, grad_second * 2 * x[2:]])

    x = leaf(lib, [1.0, 2.0, 3.0, 4.0])
    return (x, *Halves.apply(x))


def grad_of_an_ops_second_output(lib):
    x, first, second = two_outputs(lib)
    loss = (first * 3).sum() + (second * second).sum()
    return (
        values(lib.autograd.grad(loss, [second], retain_graph=True)),
        values(lib.autograd.grad(loss, [first, second, x], retain_graph=True)),
        values(lib.autograd.grad(loss, [second, first])),
    )


def grad_of_an_unused_first_output(lib):
    x, first, second = two_outputs(lib)
    loss = (second * second).sum()
    return (
        values(lib.autograd.grad(loss, [first, second], allow_unused=True, retain_graph=True)),
        values(lib.autograd.grad(loss, [first, second], materialize_grads=True)),
    )


def grad_of_the_unused_output_alone_is_an_error(lib):
    x, first, second = two_outputs(lib)
    lib.autograd.grad((second * 2).sum(), [first])


def implicit_gradient_for_one_element_of_any_shape(lib):
    x = leaf(lib, [[1.0, 2.0]])
    results = []
    for out in ((x * x).sum(), (x * x).sum(1, keepdim=True), (x * x).sum(1, keepdim=True)[None]):
        results.append(values(lib.autograd.grad(out, x)))
    (x * x.exp()).sum(1, keepdim=True).backward()  # backward(), the same rule
    return results, x.grad.tolist()


def implicit_gradient_for_two_elements(lib):
    x = leaf(lib, [[1.0, 2.0]])
    lib.autograd.grad(x * x, x)


def implicit_gradient_for_no_element(lib):
    x = leaf(lib, [[1.0, 2.0]])
    lib.autograd.grad((x * x)[:, :0], x)


def implicit_backward_for_two_elements(lib):
    (leaf(lib, [1.0, 2.0]) * 3).backward()


def grad_outputs_given_as_one_tensor_and_as_a_list(lib):
    x = leaf(lib, [1.0, 2.0])
    g = lib.tensor([0.5, -1.0], dtype=lib.float64)
    one = lib.autograd.grad(x * x, x, grad_outputs=g, retain_graph=True)
    listed = lib.autograd.grad([x * x, x.exp().sum()], [x], grad_outputs=[g, None])
    return values(one), values(listed)


def grad_of_a_tensor_changed_in_place_and_of_its_old_use(lib):
    x = leaf(lib, [1.0, 2.0, 3.0])
    h = x * 2
    before = (h * 5).sum()
    h.mul_(3)
    loss = before + (h * h).sum()
    return values(lib.autograd.grad(loss, [h, x]))


def grad_leaves_dot_grad_alone(lib):
    x = leaf(lib, [1.0, 2.0])
    x.grad = lib.tensor([7.0, 7.0], dtype=lib.float64)
    lib.autograd.grad((x * x).sum(), x)
    return x.grad.tolist()


AUTOGRAD_GRAD_PROGRAMS = [
    grad_twice_on_a_freed_graph,
    grad_then_backward_on_a_freed_graph,
    grad_twice_with_retain_graph,
    autograd_backward_twice_on_a_freed_graph,
    autograd_backward_twice_with_retain_graph,
    grad_of_a_graph_that_saved_nothing_twice,
    grad_of_an_ops_second_output,
    grad_of_an_unused_first_output,
    grad_of_the_unused_output_alone_is_an_error,
    implicit_gradient_for_one_element_of_any_shape,
    implicit_gradient_for_two_elements,
    implicit_gradient_for_no_element,
    implicit_backward_for_two_elements,
    grad_outputs_given_as_one_tensor_and_as_a_list,
    grad_of_a_tensor_changed_in_place_and_of_its_old_use,
    grad_leaves_dot_grad_alone,
]


@pytest.mark.parametrize("program", AUTOGRAD_GRAD_PROGRAMS, ids=lambda p: p.__name__)
def test_autograd_grad_corners_as_torchs(program):
    run_both(program)


def test_the_errors_of_autograd_grad_say_what_to_do():
    x = leaf(mg, [1.0, 2.0])
    loss = (x * x).sum()
    mg.autograd.grad(loss, x)
    with pytest.raises(mg.GradientError, match="freed by an earlier backward.*retain_graph=True"):
        mg.autograd.grad(loss, x)
    with pytest.raises(mg.GradientError, match=r"output 0 has shape \(2,\): give its gradient"):
        mg.autograd.grad(x * 3, x)
    with pytest.raises(ValueError, match="got 1 gradients for 2 outputs"):
        mg.autograd.grad([x * 3, x * 4], x, grad_outputs=[None])
    with pytest.raises(mg.GradientError, match=r"the gradient for output 0 has shape \(3,\)"):
        mg.autograd.grad(x * 3, x, grad_outputs=mg.ones(3, dtype=mg.float64))
    with pytest.raises(mg.GradientError, match="output 0 does not require grad"):
        mg.autograd.grad(mg.ones(2), x)
    with pytest.raises(mg.GradientError, match="input 0 .* does not require grad"):
        mg.autograd.grad((x * 2).sum(), mg.ones(2))
    with pytest.raises(TypeError, match="inputs\\[0\\] must be a minigrad Tensor"):
        mg.autograd.grad((x * 2).sum(), [torch.ones(2)])


# ---- custom Functions that return views of their input, or the input itself -------------------


def custom_functions(lib):
    class Rows(lib.autograd.Function):  # two views of its input
        @staticmethod
        def forward(ctx, x):
            return x[0], x[1]

        @staticmethod
        def backward(ctx, grad_first, grad_second):
            return lib.stack([grad_first, grad_second]) * 10

    class Itself(lib.autograd.Function):  # its input, as it is
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad * 10

    class Flat(lib.autograd.Function):  # one view of its input
        @staticmethod
        def forward(ctx, x):
            return x.view(-1)

        @staticmethod
        def backward(ctx, grad):
            return grad.view(2, 3) * 10

    return Rows, Itself, Flat


def custom_views_used_as_they_are(lib):
    Rows, Itself, Flat = custom_functions(lib)
    x = leaf(lib)
    h = x * 1
    a, b = Rows.apply(h)
    loss = (a * 2 + b).sum() + (Itself.apply(h) * 3).sum() + (Flat.apply(h) ** 2).sum()
    loss = loss + (Itself.apply(x) * 5).sum()  # a leaf returned as it is
    loss.backward()
    return x.grad.tolist()


def custom_view_of_several_changed_in_place(lib):
    Rows, _, _ = custom_functions(lib)
    a, b = Rows.apply(leaf(lib) * 1)
    a.mul_(2)


def custom_view_of_several_used_after_its_input_changed(lib):
    Rows, _, _ = custom_functions(lib)
    h = leaf(lib) * 1
    a, b = Rows.apply(h)
    h.mul_(2)
    return (a + b).sum()


def custom_input_returned_as_it_is_changed_in_place(lib):
    _, Itself, _ = custom_functions(lib)
    Itself.apply(leaf(lib) * 1).mul_(2)


def custom_input_returned_as_it_is_used_after_the_input_changed(lib):
    _, Itself, _ = custom_functions(lib)
    h = leaf(lib) * 1
    y = Itself.apply(h)
    h.add_(1)
    return y * 2


def custom_view_changed_through_a_view_of_it(lib):
    _, _, Flat = custom_functions(lib)
    Flat.apply(leaf(lib) * 1)[1:3].mul_(2)


def custom_view_changed_without_anything_to_record(lib):
    _, Itself, Flat = custom_functions(lib)
    x = leaf(lib, requires_grad=False)
    Itself.apply(x).mul_(2)  # nothing requires grad: torch's kernel runs, no error
    Flat.apply(x)[0] = 7.0
    return x.tolist()


def custom_view_changed_under_no_grad(lib):
    _, Itself, _ = custom_functions(lib)
    x = leaf(lib)
    h = x * 1
    y = Itself.apply(h)
    with lib.no_grad():
        y.mul_(2)  # not recorded: the values change, as in torch
    (h * h).sum().backward()
    return h.tolist()


CUSTOM_VIEW_PROGRAMS = [
    custom_views_used_as_they_are,
    custom_view_of_several_changed_in_place,
    custom_view_of_several_used_after_its_input_changed,
    custom_input_returned_as_it_is_changed_in_place,
    custom_input_returned_as_it_is_used_after_the_input_changed,
    custom_view_changed_through_a_view_of_it,
    custom_view_changed_without_anything_to_record,
    custom_view_changed_under_no_grad,
]


@pytest.mark.parametrize("program", CUSTOM_VIEW_PROGRAMS, ids=lambda p: p.__name__)
def test_custom_functions_returning_views_or_their_input_as_torchs(program):
    run_both(program)


def test_a_custom_view_changed_in_place_is_refused_in_words_before_anything_changes():
    for lib in (torch, mg):
        _, Itself, _ = custom_functions(lib)
        h = leaf(lib) * 1
        y = Itself.apply(h)
        with pytest.raises(RuntimeError) as error:
            y.mul_(2)
        assert h.tolist() == y.tolist() == VALUES.tolist()  # refused first, as torch does
    assert str(error.value).startswith(
        "an output of Itself (a Function of your own) is a view of its input, or the input "
        "itself, and in-place mul_ would change it"
    )
    _, _, Flat = custom_functions(mg)
    h = leaf(mg) * 1
    flat = Flat.apply(h)
    h += 1
    with pytest.raises(mg.GradientError, match=r"Flat.*the tensor it views was changed in place"):
        flat.sum()


# ---- a view made under no_grad() ---------------------------------------------------------


def no_grad_view_used_after_its_base_changed_with_grad(lib):
    h = leaf(lib, [1.0, 2.0, 3.0]) * 1
    with lib.no_grad():
        view = h[0:2]
    h.mul_(2)
    return (view * 3).tolist()


def no_grad_view_of_a_buffer_used_after_it_joined_the_graph(lib):
    buffer = lib.zeros(3, dtype=lib.float64)
    with lib.no_grad():
        view = buffer[0:2]
    buffer += leaf(lib, [1.0, 2.0, 3.0])  # the buffer now has a history
    return (view * 3).tolist()


def no_grad_view_changed_in_place_with_grad(lib):
    h = leaf(lib, [1.0, 2.0, 3.0]) * 1
    with lib.no_grad():
        view = h[0:2]
    view.mul_(2)


def no_grad_view_and_change_both_under_no_grad(lib):
    x = leaf(lib, [1.0, 2.0, 3.0])
    h = x * 1
    with lib.no_grad():
        view = h[0:2]
        view.mul_(2)
        out = view * 3
    (h * h).sum().backward()
    return out.tolist(), h.tolist(), x.grad.tolist()


@pytest.mark.parametrize(
    "program",
    [
        no_grad_view_used_after_its_base_changed_with_grad,
        no_grad_view_of_a_buffer_used_after_it_joined_the_graph,
        no_grad_view_changed_in_place_with_grad,
        no_grad_view_and_change_both_under_no_grad,
    ],
    ids=lambda p: p.__name__,
)
def test_views_made_under_no_grad_as_torchs(program):
    run_both(program)


# ---- index tensors changed in place after use ---------------------------------------------


def index_changed_after_indexing(lib):
    x = leaf(lib, [1.0, 2.0, 3.0])
    i = lib.tensor([0, 2])
    y = x[i]
    i.add_(0)  # the same values, but changed in place: torch refuses, by the version
    y.sum().backward()


def mask_changed_after_indexing(lib):
    x = leaf(lib, [1.0, 2.0, 3.0])
    mask = lib.tensor([True, False, True])
    y = x[mask]
    mask[1] = True
    y.sum().backward()


def index_and_slice_changed_after_indexing(lib):
    x = leaf(lib, [[1.0, 2.0], [3.0, 4.0]])
    i = lib.tensor([1, 0])
    y = x[i, 1:]
    i.mul_(1)
    y.sum().backward()


def index_changed_after_item_assignment(lib):
    x, v = leaf(lib, [1.0, 2.0, 3.0]), leaf(lib, [5.0, 6.0])
    h = x * 1
    i = lib.tensor([0, 2])
    h[i] = v
    i.add_(0)
    (h * h).sum().backward()


def mask_changed_after_item_assignment(lib):
    x = leaf(lib, [1.0, 2.0, 3.0])
    h = x * 1
    mask = lib.tensor([True, False, True])
    h[mask] = 0.0
    mask[1] = True
    (h * h).sum().backward()


def index_changed_after_embedding(lib):
    weight = leaf(lib, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    i = lib.tensor([[0, 2], [0, 1]])
    out = lib.nn.functional.embedding(i, weight)
    i.add_(0)
    out.sum().backward()


def index_changed_after_gather(lib):
    x = leaf(lib, [[1.0, 2.0], [3.0, 4.0]])
    i = lib.tensor([[0, 0], [1, 0]])
    out = x.gather(1, i)
    i.add_(0)
    out.sum().backward()


def condition_changed_after_where(lib):
    x = leaf(lib, [1.0, 2.0])
    condition = lib.tensor([True, False])
    out = lib.where(condition, x, x * 2)
    condition[1] = True
    out.sum().backward()


def index_changed_before_use_is_fine(lib):
    x = leaf(lib, [1.0, 2.0, 3.0])
    i = lib.tensor([0, 2])
    i.add_(0)
    y = x[i]
    i_again = i.clone()
    i_again.mul_(0)  # a copy changed: nothing that was kept
    y.sum().backward()
    weight = leaf(lib, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    lib.nn.functional.embedding(i_again, weight).sum().backward()
    return x.grad.tolist(), weight.grad.tolist()


INDEX_PROGRAMS = [
    index_changed_after_indexing,
    mask_changed_after_indexing,
    index_and_slice_changed_after_indexing,
    index_changed_after_item_assignment,
    mask_changed_after_item_assignment,
    index_changed_after_embedding,
    index_changed_after_gather,
    condition_changed_after_where,
    index_changed_before_use_is_fine,
]


@pytest.mark.parametrize("program", INDEX_PROGRAMS, ids=lambda p: p.__name__)
def test_index_tensors_changed_in_place_after_use_as_torchs(program):
    run_both(program)


# ---- one gradient, two .grad's ---------------------------------------------------------------


def a_sum_gives_both_leaves_the_same_gradient(lib):
    x, y = leaf(lib, [1.0, 2.0]), leaf(lib, [3.0, 4.0])
    (x + y).sum().backward()  # the engine hands both the one tensor: each .grad is its own
    x.grad.add_(1)
    return x.grad.tolist(), y.grad.tolist()


def a_retained_gradient_and_a_leafs(lib):
    x = leaf(lib, [1.0, 2.0])
    h = x + 0
    h.retain_grad()
    h.sum().backward()
    h.grad.mul_(5)
    return x.grad.tolist(), h.grad.tolist()


def two_retained_gradients_of_one_node(lib):
    x = leaf(lib, [1.0, 2.0, 3.0, 4.0])
    first, second = x.split(2)
    first.retain_grad(), second.retain_grad()
    (first.sum() + second.sum()).backward()
    first.grad.add_(1)
    return first.grad.tolist(), second.grad.tolist(), x.grad.tolist()


def one_tensor_given_as_two_grads(lib):
    x, y = leaf(lib, [1.0, 2.0]), leaf(lib, [3.0, 4.0])
    shared = lib.tensor([10.0, 10.0], dtype=lib.float64)
    x.grad = shared
    y.grad = shared  # the user's choice: one tensor, both accumulate into it, as in torch
    (x * 2 + y).sum().backward()
    return x.grad.tolist(), y.grad.tolist(), shared.tolist(), x.grad is y.grad


def a_gradient_accumulated_twice_stays_its_own(lib):
    x, y = leaf(lib, [1.0, 2.0]), leaf(lib, [3.0, 4.0])
    for _ in range(2):
        (x - y).sum().backward()
    y.grad.add_(100)
    return x.grad.tolist(), y.grad.tolist()


SHARED_GRADIENT_PROGRAMS = [
    a_sum_gives_both_leaves_the_same_gradient,
    a_retained_gradient_and_a_leafs,
    two_retained_gradients_of_one_node,
    one_tensor_given_as_two_grads,
    a_gradient_accumulated_twice_stays_its_own,
]


@pytest.mark.parametrize("program", SHARED_GRADIENT_PROGRAMS, ids=lambda p: p.__name__)
def test_one_gradient_reaching_two_grads_as_torchs(program):
    run_both(program)


def test_autograd_grad_fills_the_grad_of_a_tensor_that_retains_it_as_torch():
    for lib in (torch, mg):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h = x * 3
        h.retain_grad()
        lib.autograd.grad((h * h).sum(), [x])
        assert h.grad.tolist() == [6.0, 12.0] and x.grad is None, lib.__name__


@pytest.mark.parametrize("lib", [torch, mg], ids=["torch", "minigrad"])
def test_a_custom_function_s_view_of_its_second_input_refuses_in_place_changes_as_torch(lib):
    class SecondRow(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return b[1]

        @staticmethod
        def backward(ctx, grad):
            return None, lib.stack([lib.zeros_like(grad), grad])

    b = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True) * 1
    view = SecondRow.apply(lib.ones(2, requires_grad=True), b)
    with pytest.raises(RuntimeError, match="view"):
        view.mul_(2)


def test_detach_in_place_makes_a_leaf_as_torch_s():
    """h.detach_(): h leaves the graph (a leaf, no grad); ops that used it before keep their
    links; a view refuses, as torch's."""
    for lib in (torch, mg):
        x = lib.ones(3, requires_grad=True)
        h = x * 2
        later = h * 3
        assert h.detach_() is h
        assert (h.requires_grad, h.grad_fn, h.is_leaf) == (False, None, True)
        later.sum().backward()
        assert x.grad.tolist() == [6.0, 6.0, 6.0]
        (h * x).sum().backward()  # h now a constant
        assert x.grad.tolist() == [8.0, 8.0, 8.0]
        for view in (lambda t: t[0:2], lambda t: t.split(2)[0]):
            with pytest.raises(RuntimeError, match="detach views in-place|detached in place"):
                view(x * 2).detach_()
