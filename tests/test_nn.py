"""minigrad.nn: Module bookkeeping, Linear against torch.nn.Linear, Sequential, Flatten."""

from __future__ import annotations

import copy
import math
import warnings

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn

RTOL, ATOL = 1e-7, 1e-9


def copy_torch_linear(theirs: torch.nn.Linear, device: str = "cpu") -> nn.Linear:
    ours = nn.Linear(theirs.in_features, theirs.out_features, bias=theirs.bias is not None)
    ours.weight = nn.Parameter(theirs.weight.detach().clone().to(device))
    if theirs.bias is not None:
        ours.bias = nn.Parameter(theirs.bias.detach().clone().to(device))
    return ours


# ---- Linear -------------------------------------------------------------------------------------


def test_linear_init_is_uniform_within_one_over_sqrt_fan_in():
    mg.manual_seed(0)
    layer = nn.Linear(100, 400)
    bound = 1 / math.sqrt(100)
    for p, n in ((layer.weight, 40_000), (layer.bias, 400)):
        values = p._data
        assert values.numel() == n
        assert values.abs().max() <= bound
        assert values.min() < -0.9 * bound and values.max() > 0.9 * bound  # fills the range
    w = layer.weight._data
    assert abs(w.mean().item()) < 0.01 * bound  # uniform: mean 0, std bound / sqrt(3)
    assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)


def test_linear_init_draws_the_same_numbers_as_torch_for_the_same_seed():
    torch.manual_seed(3)
    theirs = torch.nn.Linear(7, 5)
    mg.manual_seed(3)
    ours = nn.Linear(7, 5, device="cpu")
    assert torch.equal(ours.weight._data, theirs.weight.detach())
    assert torch.equal(ours.bias._data, theirs.bias.detach())


@given(fan_in=st.integers(1, 1000), dtype=st.sampled_from([torch.float32, torch.float64]))
@example(fan_in=3, dtype=torch.float64)  # (1 / sqrt(3) is one bit above torch's bound)
def test_linear_and_conv_init_draw_torchs_numbers_in_both_dtypes(fan_in, dtype):
    # torch works the weight's bound out as sqrt(3) * gain / sqrt(fan_in), not 1 / sqrt(fan_in):
    # equal in exact arithmetic, but in float64 the draws differ in the last bit for most fan_in
    for make in (
        lambda lib: lib.nn.Linear(fan_in, 3, dtype=dtype),
        lambda lib: lib.nn.Conv1d(fan_in, 2, 1, dtype=dtype),
    ):
        torch.manual_seed(0)
        theirs = make(torch)
        torch.manual_seed(0)
        ours = make(mg)
        assert torch.equal(ours.weight._data, theirs.weight.detach())
        assert torch.equal(ours.bias._data, theirs.bias.detach())


def test_linear_shapes_dtype_device_and_no_bias(device):
    layer = nn.Linear(3, 2, bias=False, device=device, dtype=torch.float64)
    assert layer.weight.shape == (2, 3) and layer.bias is None
    assert layer.weight.dtype == torch.float64 and layer.weight.device.type == device
    assert layer.weight.requires_grad and layer.weight.is_leaf
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)"


@given(
    batch=st.integers(1, 5),
    in_features=st.integers(1, 6),
    out_features=st.integers(1, 6),
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_linear_matches_torch_values_and_gradients(batch, in_features, out_features, bias, seed):
    torch.manual_seed(seed)
    theirs = torch.nn.Linear(in_features, out_features, bias=bias, dtype=torch.float64)
    x = torch.randn(batch, in_features, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(batch, out_features, dtype=torch.float64)
    ours = copy_torch_linear(theirs)
    x_ours = mg.Tensor(x.detach().clone(), requires_grad=True)

    out = ours(x_ours)
    expected = theirs(x)
    torch.testing.assert_close(out._data, expected.detach(), rtol=RTOL, atol=ATOL)
    out.backward(upstream)
    expected.backward(upstream)
    pairs = [(x_ours, x), (ours.weight, theirs.weight)]
    if bias:
        pairs.append((ours.bias, theirs.bias))
    for mine, torchs in pairs:
        assert mine.grad.shape == torchs.grad.shape
        torch.testing.assert_close(mine.grad._data, torchs.grad, rtol=RTOL, atol=ATOL)


def test_linear_on_a_batch_of_images_flattened(device):
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10, device=device))
    out = model(mg.randn(4, 1, 28, 28, device=device))
    assert out.shape == (4, 10) and out.device.type == device


# ---- Module bookkeeping ---------------------------------------------------------------------


class TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(mg.ones(1))  # on the default device, as the layers
        self.body = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
        self.heads = [nn.Linear(2, 1), nn.Linear(2, 1)]
        self.not_a_parameter = mg.randn(2, requires_grad=True)  # as in torch: not found

    def forward(self, x):
        h = self.body(x) * self.scale
        return sum(head(h) for head in self.heads)


def test_parameters_recurse_in_attribute_order_and_carry_their_qualified_names():
    model = TwoLayers()
    names = [name for name, _ in model.named_parameters()]
    assert names == [
        "scale",
        "body.0.weight",
        "body.0.bias",
        "body.2.weight",
        "body.2.bias",
        "heads.0.weight",
        "heads.0.bias",
        "heads.1.weight",
        "heads.1.bias",
    ]
    assert [p.name for _, p in model.named_parameters()] == names
    assert [id(p) for p in model.parameters()] == [id(p) for _, p in model.named_parameters()]
    assert [name for name, _ in model.named_children()] == ["body", "heads.0", "heads.1"]
    assert len(list(model.modules())) == 1 + 4 + 2


def test_sequential_names_its_layers_by_position():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1))
    assert [p.name for p in model.parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_a_shared_parameter_is_listed_once():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2


def test_module_trains_end_to_end_and_zero_grad_clears():
    model = TwoLayers()
    model(mg.randn(5, 4)).mean().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(torch.count_nonzero(p.grad._data) == 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def shared_body_model(nn_module):
    """The same model in minigrad or torch: a body used twice, around a Tanh."""
    body = nn_module.Sequential(nn_module.Linear(4, 3), nn_module.ReLU(), nn_module.Linear(3, 4))
    return nn_module.Sequential(body, nn_module.Tanh(), body, nn_module.Flatten())


def test_module_tree_walks_as_torchs():
    ours, theirs = shared_body_model(nn), shared_body_model(torch.nn)

    def names(pairs):
        return [name for name, _ in pairs]

    assert names(ours.named_modules()) == names(theirs.named_modules())
    assert names(ours.named_modules(prefix="m", remove_duplicate=False)) == names(
        theirs.named_modules(prefix="m", remove_duplicate=False)
    )
    assert names(ours.named_children()) == names(theirs.named_children())
    assert names(ours.named_parameters(prefix="model")) == names(
        theirs.named_parameters(prefix="model")
    )
    assert names(ours.named_parameters(remove_duplicate=False)) == names(
        theirs.named_parameters(remove_duplicate=False)
    )
    assert names(ours[0].named_parameters(recurse=False)) == []
    assert names(ours[0][0].named_parameters(recurse=False)) == ["weight", "bias"]
    assert len(list(ours.modules())) == len(list(theirs.modules())) == 7
    assert len(ours) == len(theirs) == 4  # the shared body still runs twice
    x = torch.randn(2, 4)
    for mine, theirs_p in zip(ours.parameters(), theirs.parameters()):
        mine._data.copy_(theirs_p.detach())
    torch.testing.assert_close(ours(mg.Tensor(x))._data, theirs(x).detach())


def test_apply_visits_children_before_parents_as_torch():
    ours, theirs = shared_body_model(nn), shared_body_model(torch.nn)
    visited = {"ours": [], "theirs": []}
    assert ours.apply(lambda m: visited["ours"].append(type(m).__name__)) is ours
    theirs.apply(lambda m: visited["theirs"].append(type(m).__name__))
    assert visited["ours"] == visited["theirs"]

    def init_weights(m):  # the usual use
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    ours.apply(init_weights)
    assert all(torch.count_nonzero(m.weight._data) == 0 for m in ours.modules()
               if isinstance(m, nn.Linear))  # fmt: skip


def test_requires_grad_freezes_and_unfreezes():
    model = shared_body_model(nn)
    assert model[0].requires_grad_(False) is model[0]
    assert not any(p.requires_grad for p in model.parameters())
    model.requires_grad_()
    assert all(p.requires_grad and p.is_leaf for p in model.parameters())


def test_train_and_eval_reach_every_submodule():
    model = TwoLayers()
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_state_dict_is_torchs_and_round_trips(device):
    source = nn.Sequential(
        nn.Linear(3, 2, device=device), nn.ReLU(), nn.Linear(2, 1, device=device)
    )
    state = source.state_dict()
    torch_model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    assert list(state) == list(torch_model.state_dict())
    assert all(isinstance(v, torch.Tensor) and v.device.type == device for v in state.values())
    assert not any(v.requires_grad for v in state.values())
    snapshot = copy.deepcopy(state)
    state["0.bias"].add_(1.0)  # the module's own values, as torch's: not a copy
    assert torch.equal(state["0.bias"], source[0].bias._data)
    assert not torch.equal(snapshot["0.bias"], source[0].bias._data)
    assert source.state_dict(keep_vars=True)["0.weight"] is source[0].weight
    assert list(source.state_dict(prefix="model.")) == [f"model.{k}" for k in state]

    target = nn.Sequential(
        nn.Linear(3, 2, device=device), nn.ReLU(), nn.Linear(2, 1, device=device)
    )
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    x = mg.randn(4, 3, device=device)
    assert torch.equal(target(x)._data, source(x)._data)
    assert target[0].weight.device.type == device
    # a torch model's state loads into minigrad's, and minigrad's into torch's
    target.load_state_dict(torch_model.state_dict())
    assert torch.equal(target[0].weight._data.cpu(), torch_model[0].weight.detach())
    torch_model.load_state_dict({k: v.cpu() for k, v in source.state_dict().items()})
    assert torch.equal(torch_model[2].bias.detach(), source[2].bias._data.cpu())


def test_load_state_dict_names_missing_unexpected_and_wrong_shapes():
    model = nn.Sequential(nn.Linear(3, 2))
    state = copy.deepcopy(model.state_dict())
    with pytest.raises(
        RuntimeError,
        match=r'for Sequential:\n\tUnexpected key\(s\) in state_dict: "0.extra".\n\tMissing '
        r'key\(s\) in state_dict: "0.bias"',
    ):
        model.load_state_dict({"0.weight": state["0.weight"], "0.extra": torch.zeros(1)})
    result = model.load_state_dict(
        {"0.weight": torch.zeros(2, 3), "x": torch.ones(1)}, strict=False
    )
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["x"]
    assert torch.count_nonzero(model[0].weight._data) == 0
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(
        RuntimeError,
        match=r"size mismatch for 0.bias: copying a param with shape \(3,\) from checkpoint, "
        r"the shape in current model is \(2,\)",
    ):
        model.load_state_dict({**state, "0.bias": torch.zeros(3)})
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())  # all or none


def test_sequential_indexing_iteration_and_composition():
    layers = [nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.Sigmoid()]
    model = nn.Sequential(*layers)
    assert len(model) == 4 and model[0] is layers[0] and model[-1] is layers[-1]
    assert list(model) == layers
    head = model[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    x = mg.randn(5, 4)
    expected = layers[2](layers[1](layers[0](x))).sigmoid()
    assert torch.equal(model(x)._data, expected._data)
    with pytest.raises(TypeError, match="argument 1 is a function"):
        nn.Sequential(nn.Linear(1, 1), lambda x: x)


def test_add_module_builds_a_model_in_a_loop_as_torchs():
    """Layers named at run time: the same names, order and keys as torch's, and a clear error for
    a name with a dot or a value that is not a module."""

    def build(lib):
        model = lib.nn.Sequential(lib.nn.Linear(4, 3))
        for i in range(2):
            model.add_module(f"block{i}", lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Linear(3, 3)))
        model.register_module("head", lib.nn.Linear(3, 1))
        return model

    ours, theirs = build(mg), build(torch)
    assert len(ours) == len(theirs) == 4
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: mg.Tensor(v) for k, v in theirs.state_dict().items()})
    x = torch.randn(2, 4)
    assert torch.allclose(ours(mg.Tensor(x))._data, theirs(x).detach())
    with pytest.raises(KeyError, match=r"without a '\.'.*'a\.b'"):
        ours.add_module("a.b", nn.ReLU())
    with pytest.raises(TypeError, match="takes a Module, not a function"):
        ours.add_module("act", lambda x: x)


def test_forward_hooks_see_and_change_what_layers_compute_as_torchs():
    """fastai's way of watching a model train (a hook per layer appending its activations'
    mean and std), a hook that replaces a layer's output, a pre-hook that replaces its input,
    the order of hooks (prepend=True first) and removal: the same calls and numbers as torch."""

    def run(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))
        seen = []

        def stats(module, args, output):
            seen.append((type(module).__name__, output.mean().item(), output.std().item()))

        handles = [layer.register_forward_hook(stats) for layer in model]
        model[2].register_forward_hook(lambda m, a, out: out * 2)  # replaces the output
        model[2].register_forward_hook(lambda m, a, out: seen.append("last"))
        model[2].register_forward_hook(lambda m, a, out: seen.append("first"), prepend=True)
        model[0].register_forward_pre_hook(lambda m, args: args[0] + 1)  # replaces the input
        x = lib.ones(5, 3)
        first = model(x)
        for handle in handles:
            handle.remove()
        with model[1].register_forward_hook(lambda m, a, out: seen.append("within")):
            second = model(x)
        third = model(x)  # the handle's `with` is over: that hook is gone too
        return seen, torch.tensor([out.tolist() for out in (first, second, third)])

    (ours, our_outputs), (theirs, their_outputs) = run(mg), run(torch)
    assert [entry[0] if isinstance(entry, tuple) else entry for entry in ours] == [
        "Linear", "ReLU", "first", "Linear", "last", "within", "first", "last", "first", "last",
    ]  # fmt: skip
    assert [e for e in ours if isinstance(e, str)] == [e for e in theirs if isinstance(e, str)]
    stats = [torch.tensor([e[1:] for e in seen if isinstance(e, tuple)]) for seen in (ours, theirs)]
    torch.testing.assert_close(*stats)  # each layer's mean and std, as torch's
    torch.testing.assert_close(our_outputs, their_outputs)
    with pytest.raises(TypeError, match="a hook is a function"):
        nn.Linear(1, 1).register_forward_hook("print")


def _as_lists(grads):
    """A hook's tuple of gradients, comparable across torch and minigrad (None stays None)."""
    return tuple(None if g is None else torch.as_tensor(g.tolist(), dtype=g.dtype) for g in grads)


def _assert_same_records(ours, theirs):
    assert [r[0] for r in ours] == [r[0] for r in theirs]
    for (_, *our_grads), (_, *their_grads) in zip(ours, theirs):
        for our_tuple, their_tuple in zip(our_grads, their_grads):
            assert len(our_tuple) == len(their_tuple)
            for a, b in zip(our_tuple, their_tuple):
                assert (a is None) == (b is None)
                if a is not None:  # (tanh's and sin's backward differ from torch's in the last bit)
                    torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-9)


def test_full_backward_hooks_see_and_change_gradients_as_torchs():
    """Each layer's grad_input and grad_output as a hook sees them (the first layer, on data
    that needs no grad: grad_input (None,), called from its output side with a warning), a
    pre-hook that doubles grad_output, a hook that halves grad_input, the order of hooks
    (pre-hooks first, prepend=True first), the hooks a call had when it was made, removal:
    the same calls, gradients and .grad as torch."""

    def run(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(
            lib.nn.Linear(3, 4, dtype=torch.float64), lib.nn.Tanh(),
            lib.nn.Linear(4, 2, dtype=torch.float64),
        )  # fmt: skip
        seen = []

        def record(module, grad_input, grad_output):
            seen.append((type(module).__name__, _as_lists(grad_input), _as_lists(grad_output)))

        handles = [layer.register_full_backward_hook(record) for layer in model]
        model[2].register_full_backward_pre_hook(lambda m, grad_output: (grad_output[0] * 2,))
        model[2].register_full_backward_pre_hook(lambda m, g: seen.append(("pre last",)))
        model[2].register_full_backward_pre_hook(lambda m, g: seen.append(("pre",)), prepend=True)
        model[1].register_full_backward_hook(lambda m, grad_input, g: (grad_input[0] / 2,))
        model[1].register_full_backward_hook(lambda m, gi, g: seen.append(("first",)), prepend=True)
        x = lib.linspace(-1, 1, 15, dtype=torch.float64).reshape(5, 3)
        with pytest.warns(UserWarning):  # Linear 0: none of its inputs requires grad
            out = model(x)
            handles[1].remove()  # after the call: this call still runs it, as torch
            model[0].register_full_backward_hook(lambda m, gi, g: seen.append(("late",)))
            out.pow(2).sum().backward()
        for handle in handles:
            handle.remove()
        grads = [p.grad.clone() for p in model.parameters()]
        with model[2].register_full_backward_hook(lambda m, gi, g: seen.append(("within",))):
            with pytest.warns(UserWarning):
                model(x).sum().backward()
        with pytest.warns(UserWarning):  # the handle's `with` is over: that hook is gone
            model(x).sum().backward()
        grads += [p.grad for p in model.parameters()]
        return seen, [torch.as_tensor(g.tolist(), dtype=torch.float64) for g in grads]

    (ours, our_grads), (theirs, their_grads) = run(mg), run(torch)
    assert [record[0] for record in ours] == [
        "pre", "pre last", "Linear", "first", "Tanh", "Linear",  # the first backward
        "pre", "pre last", "within", "first", "late",  # with the `with` hook
        "pre", "pre last", "first", "late",
    ]  # fmt: skip
    _assert_same_records(ours, theirs)
    tanh, linear = ours[4], ours[5]  # what the halving hook returned is what flowed on, exactly
    assert torch.equal(linear[2][0], tanh[1][0] / 2)
    for a, b in zip(our_grads, their_grads):
        torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-9)


def test_full_backward_hooks_of_a_module_with_several_inputs_and_outputs_as_torchs():
    """grad_input has one entry per positional argument (None for a number, zeros for a tensor
    that needs no grad), grad_output one per output (None for one the loss did not use); what
    a hook returns flows on, also into a second derivative (create_graph=True)."""

    def run(lib):
        class Two(lib.nn.Module):
            def forward(self, x, y, k, scale=1.0):
                return (x * y).tanh() * k * scale, x.sin()

        two, seen = Two(), []
        two.register_full_backward_pre_hook(
            lambda m, grad_output: seen.append(("pre", _as_lists(grad_output)))
        )
        two.register_full_backward_hook(
            lambda m, grad_input, grad_output: seen.append(
                ("hook", _as_lists(grad_input), _as_lists(grad_output))
            )
        )
        two.register_full_backward_hook(lambda m, gi, go: (gi[0] * gi[0], gi[1], gi[2]))
        x = lib.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
        y = lib.tensor([1.5, 0.25, -0.5], dtype=torch.float64)
        first, _ = two(x, y, 3, scale=2.0)
        first.sum().backward()  # the second output unused: None in grad_output
        once = x.grad.clone()
        x.grad = None
        first, second = two(x, y, 3)
        (grad_x,) = lib.autograd.grad((first * second).sum(), x, create_graph=True)
        grad_x.sum().backward()
        values = [once, grad_x.detach(), x.grad]
        return seen, [torch.as_tensor(v.tolist(), dtype=torch.float64) for v in values]

    (ours, our_values), (theirs, their_values) = run(mg), run(torch)
    assert [record[0] for record in ours] == ["pre", "hook", "pre", "hook", "pre", "hook"]
    _assert_same_records(ours, theirs)
    assert ours[1][1][1].eq(0).all() and ours[1][1][2] is None and ours[0][1][1] is None
    for a, b in zip(our_values, their_values):
        torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-9)


def test_a_second_derivative_that_reaches_a_modules_inputs_not_through_its_outputs_runs_no_hook():
    """d/dx of sum(sin(x)) is cos(x), whose own gradient comes back to x without passing the
    module's output: its hooks ran in the first backward and do not run again (torch's rule:
    the grad_output a hook sees is gone once the hooks have used it)."""

    def run(lib):
        class Sine(lib.nn.Module):
            def forward(self, x):
                return x.sin()

        calls, sine = [], Sine()
        sine.register_full_backward_hook(lambda m, gi, go: calls.append(1) or (gi[0] * 3,))
        x = lib.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
        (grad_x,) = lib.autograd.grad(sine(x).sum(), x, create_graph=True)
        grad_x.sum().backward()
        return len(calls), torch.as_tensor(grad_x.tolist()), torch.as_tensor(x.grad.tolist())

    ours, theirs = run(mg), run(torch)
    assert ours[0] == theirs[0] == 1
    for a, b in zip(ours[1:], theirs[1:]):
        torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("lib", [mg, torch], ids=["minigrad", "torch"])
def test_full_backward_hooks_refuse_what_torch_refuses(lib):
    """A hook's tuple of the wrong length, gradients for a module whose inputs need none, a
    gradient of another shape: RuntimeError, as torch; minigrad's messages say what to return.
    A module returning neither a Tensor nor a tuple gets a warning: its hooks cannot run."""
    ours = lib is mg

    def words(pattern):  # (torch's messages are its own)
        return pattern if ours else None

    def backward_through(hook=None, pre_hook=None, x_requires_grad=True):
        layer = lib.nn.Linear(2, 2)
        if hook is not None:
            layer.register_full_backward_hook(hook)
        if pre_hook is not None:
            layer.register_full_backward_pre_hook(pre_hook)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (the one for inputs that need no grad)
            layer(lib.ones(1, 2, requires_grad=x_requires_grad)).sum().backward()

    with pytest.raises(RuntimeError, match=words("returned 2 entries where grad_input has 1")):
        backward_through(hook=lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match=words("returned 2 entries where grad_output has 1")):
        backward_through(pre_hook=lambda m, go: (go[0], go[0]))
    with pytest.raises(RuntimeError, match=words("returned gradients for inputs that do not")):
        backward_through(hook=lambda m, gi, go: (lib.ones(1, 2),), x_requires_grad=False)
    with pytest.raises(RuntimeError, match=words(r"shape \(3,\) for grad_input\[0\]")):
        backward_through(hook=lambda m, gi, go: (lib.ones(3),))
    if ours:  # (torch indexes a bare Tensor as if it were the tuple: a shape error, or none)
        with pytest.raises(RuntimeError, match="returned a Tensor where grad_output has 1"):
            backward_through(pre_hook=lambda m, go: go[0] * 2)

    class AsDict(lib.nn.Module):
        def forward(self, x):
            return {"double": x * 2}

    as_dict = AsDict()
    as_dict.register_full_backward_hook(lambda m, gi, go: pytest.fail("it cannot run"))
    with pytest.warns(UserWarning, match=words("AsDict returned a dict")):
        out = as_dict(lib.ones(2, requires_grad=True))
    out["double"].sum().backward()


@pytest.mark.parametrize("lib", [mg, torch], ids=["minigrad", "torch"])
def test_full_backward_hooks_refuse_an_in_place_change_of_what_they_hand_on_as_torch(lib):
    """A hooked module's input changed in place by its own first layer (ReLU(inplace=True)), or
    its output by the layer after it: refused, as torch, and minigrad's message speaks of the
    module's hooks and the layer's inplace=, not of the Functions the hooks are made of."""
    ours = lib is mg

    def hooked(module):
        module.register_full_backward_hook(lambda m, gi, go: None)
        return module

    first_layer = hooked(lib.nn.Sequential(lib.nn.ReLU(inplace=True), lib.nn.Linear(3, 2)))
    hooks = "a module with full backward hooks"
    words = f"an input that {hooks} .* its first layer" if ours else None
    with pytest.raises(RuntimeError, match=words):
        first_layer(lib.ones(1, 3, requires_grad=True) * 1).sum().backward()
    layer_after = lib.nn.Sequential(hooked(lib.nn.Linear(3, 2)), lib.nn.ReLU(inplace=True))
    words = f"an output that {hooks} .* the layer after it" if ours else None
    with pytest.raises(RuntimeError, match=words):
        layer_after(lib.ones(1, 3, requires_grad=True)).sum().backward()
    if ours:  # (the refusal names neither Function the hooks are made of)
        with pytest.raises(RuntimeError) as refusal:
            layer_after(lib.ones(1, 3, requires_grad=True)).sum().backward()
        assert "SeeGrad" not in str(refusal.value)


@pytest.mark.parametrize("lib", [mg, torch], ids=["minigrad", "torch"])
def test_the_warning_of_hooks_without_input_gradients_points_at_the_users_backward(lib):
    """Hooks of a module none of whose inputs requires grad: a warning, at the user's line (the
    backward() call), as torch's, not at a line inside minigrad's engine."""
    layer = lib.nn.Linear(2, 2)
    layer.register_full_backward_hook(lambda m, gi, go: None)
    loss = layer(lib.ones(1, 2)).sum()
    with pytest.warns(UserWarning, match="(?i)full backward hook") as warned:
        loss.backward()
    assert [w.filename for w in warned] == [__file__]


def test_activations_and_flatten():
    x = mg.randn(2, 3, 4)
    assert torch.equal(nn.ReLU()(x)._data, torch.relu(x._data))
    assert torch.equal(nn.Sigmoid()(x)._data, torch.sigmoid(x._data))
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)


def test_unflatten_undoes_flatten_as_torchs():
    x = mg.randn(2, 12)
    ours, theirs = nn.Unflatten(1, (3, -1)), torch.nn.Unflatten(1, (3, -1))
    assert torch.equal(ours(x)._data, theirs(x._data))
    assert repr(ours) == repr(theirs)
    assert torch.equal(nn.Flatten()(ours(x))._data, x._data)


def test_parameter_is_a_leaf_that_requires_grad():
    p = nn.Parameter(mg.zeros(3))
    assert isinstance(p, mg.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(")
    with pytest.raises(mg.GradientError, match="floating-point"):
        nn.Parameter(torch.arange(3))


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="must define forward"):
        nn.Module()(mg.zeros(1))


# ---- ModuleList -------------------------------------------------------------------------------

LIST_OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["append", "extend", "insert", "set", "delete", "+="]),
        st.integers(-4, 4),
    ),
    max_size=8,
)


@given(operations=LIST_OPERATIONS)
def test_module_list_changes_as_torchs_and_names_its_layers_by_position(operations):
    """The same list operations on torch's ModuleList and ours, with layers told apart by their
    sizes: the same layers in the same order, the same state_dict names, the same errors."""
    counter = iter(range(1, 100))

    def layers(n):  # the same sizes for both sides
        sizes = [next(counter) for _ in range(n)]
        return [torch.nn.Linear(1, k) for k in sizes], [nn.Linear(1, k) for k in sizes]

    theirs_init, ours_init = layers(2)
    theirs, ours = torch.nn.ModuleList(theirs_init), nn.ModuleList(ours_init)
    for operation, index in operations:
        (their_layer,), (our_layer,) = layers(1)
        if operation == "insert":  # torch's insert takes 0 <= index <= len (else a KeyError)
            index %= len(theirs) + 1
        results = []
        for side, layer in ((theirs, their_layer), (ours, our_layer)):
            try:
                if operation == "append":
                    side.append(layer)
                elif operation == "extend":
                    side.extend([layer])
                elif operation == "insert":
                    side.insert(index, layer)
                elif operation == "set":
                    side[index] = layer
                elif operation == "delete":
                    del side[index]
                else:
                    side += [layer]
                results.append(None)
            except IndexError as error:
                results.append(type(error))
        assert results[0] == results[1], (operation, index)
    sizes = [[layer.out_features for layer in side] for side in (theirs, ours)]
    assert sizes[0] == sizes[1]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [layer.out_features for layer in ours[1:]] == sizes[0][1:]
    assert isinstance(ours[1:], nn.ModuleList)


def test_a_module_list_in_a_model_loads_torchs_weights_and_computes_as_torch():
    def blocks(lib):  # a model written once, for torch.nn or minigrad.nn
        class Blocks(lib.Module):
            def __init__(self):
                super().__init__()
                self.blocks = lib.ModuleList(lib.Linear(4, 4) for _ in range(3))

            def forward(self, x):
                for block in self.blocks:
                    x = block(x).relu()
                return x

        return Blocks()

    theirs, ours = blocks(torch.nn), blocks(nn)
    ours.load_state_dict(theirs.state_dict())
    assert list(ours.state_dict()) == list(theirs.state_dict())  # blocks.0.weight, ...
    x = torch.randn(5, 4)
    torch.testing.assert_close(ours(mg.Tensor(x))._data, theirs(x).detach())
    with pytest.raises(TypeError, match="item 1 is a function"):
        nn.ModuleList([nn.Linear(1, 1), lambda x: x])


# ---- an empty batch -------------------------------------------------------------------------

EMPTY_BATCH_LAYERS = {
    "Conv2d": (lambda nn: nn.Conv2d(3, 4, 3), (0, 3, 5, 5)),
    "Conv2d stride, padding": (lambda nn: nn.Conv2d(3, 4, 3, stride=2, padding=1), (0, 3, 5, 5)),
    "Conv2d groups": (lambda nn: nn.Conv2d(4, 6, 3, groups=2), (0, 4, 5, 5)),
    "Conv1d": (lambda nn: nn.Conv1d(3, 4, 2, dilation=2), (0, 3, 6)),
    "Linear": (lambda nn: nn.Linear(3, 4), (0, 3)),
    "MaxPool2d": (lambda nn: nn.MaxPool2d(2), (0, 3, 4, 4)),
    "AvgPool2d": (lambda nn: nn.AvgPool2d(2, padding=1), (0, 3, 4, 4)),
    "AdaptiveAvgPool2d": (lambda nn: nn.AdaptiveAvgPool2d(3), (0, 3, 4, 4)),
    "BatchNorm2d training": (lambda nn: nn.BatchNorm2d(3), (0, 3, 4, 4)),
    "BatchNorm2d eval": (lambda nn: nn.BatchNorm2d(3).eval(), (0, 3, 4, 4)),
    "BatchNorm1d training": (lambda nn: nn.BatchNorm1d(3), (0, 3)),
    "LayerNorm": (lambda nn: nn.LayerNorm(3), (0, 3)),
    "Dropout": (lambda nn: nn.Dropout(0.5), (0, 3)),
    "Flatten": (lambda nn: nn.Flatten(), (0, 3, 4)),
    "a CNN": (
        lambda nn: nn.Sequential(
            nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2, 2)
        ),
        (0, 1, 4, 4),
    ),
}


@pytest.mark.parametrize("name", list(EMPTY_BATCH_LAYERS))
def test_an_empty_batch_goes_forward_and_backward_as_in_torch(name):
    """A batch of 0 examples (the last, empty part of a split, say): torch gives an empty
    output, an empty gradient for the input, zero gradients for the parameters, and leaves the
    running statistics as they were (counting the batch in num_batches_tracked)."""
    make, shape = EMPTY_BATCH_LAYERS[name]
    results = []
    for lib, module in ((torch, torch.nn), (mg, nn)):
        layer = make(module)
        x = lib.zeros(shape, dtype=lib.float64, requires_grad=True)
        layer.to(torch.float64) if lib is torch else layer.double()
        out = layer(x)
        out.sum().backward()
        results.append(
            (
                tuple(out.shape),
                tuple(x.grad.shape),
                {
                    n: (tuple(p.grad.shape), p.grad.abs().sum().item())
                    for n, p in layer.named_parameters()
                },
                {n: b.tolist() for n, b in layer.named_buffers()},
            )
        )
    assert results[1] == results[0]


def test_an_empty_batch_of_indices_through_embedding_is_torchs():
    for lib, module in ((torch, torch.nn), (mg, nn)):
        layer = module.Embedding(5, 3)
        out = layer(lib.zeros(0, 2, dtype=lib.int64))
        out.sum().backward()
        assert tuple(out.shape) == (0, 2, 3) and layer.weight.grad.abs().sum().item() == 0.0
