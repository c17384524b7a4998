"""Batch norm, group norm and dropout against torch (float64, rtol 1e-7, atol 1e-9, random
upstream gradients): training and evaluation outputs and gradients, running statistics after
several steps, the layers' train()/eval() switch, and Module buffers (register_buffer,
state_dict, to()).
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.autograd.function import formulas_only
from minigrad.errors import ShapeError
from minigrad.nn import functional as F
from minigrad.testing import assert_matches_torch, gradcheck
from minigrad.testing import strategies as mst


@st.composite
def batch_norm_cases(
    draw: st.DrawFn, small: bool = False, distinct: bool = False
) -> tuple[np.ndarray, ...]:
    """x of shape (N, C), (N, C, L) or (N, C, H, W) with at least 2 values per channel, and a
    weight and bias per channel, or neither. Distinct values (small: for gradcheck too)."""
    rank = draw(st.integers(2, 4))
    max_side = 3 if small else 4
    shape = draw(mst.shapes(min_rank=rank, max_rank=rank, max_side=max_side))
    if shape[0] * int(np.prod(shape[2:])) < 2:  # one value per channel: no batch statistics
        shape = (shape[0] + 1, *shape[1:])
    arrays = mst.distinct_arrays if small or distinct else mst.float_arrays
    x = draw(arrays(shape), label="x")
    if not draw(st.booleans(), label="affine"):
        return (x,)
    channels = (shape[1],)
    return x, draw(arrays(channels), label="weight"), draw(arrays(channels), label="bias")


def _training_fns(momentum: float = 0.1):
    """minigrad's and torch's batch norm in training, each with its own running statistics
    (returned too, to be compared after the call)."""
    stats = {}

    def mine(x, weight=None, bias=None):
        channels = x.shape[1]
        stats["mine"] = (mg.zeros(channels, dtype=x.dtype), mg.ones(channels, dtype=x.dtype))
        return F.batch_norm(x, *stats["mine"], weight, bias, True, momentum)

    def theirs(x, weight=None, bias=None):
        channels = x.shape[1]
        stats["torch"] = (torch.zeros(channels, dtype=x.dtype), torch.ones(channels, dtype=x.dtype))
        return TF.batch_norm(x, *stats["torch"], weight, bias, True, momentum)

    return mine, theirs, stats


@given(arrays=batch_norm_cases())
@example(arrays=(np.array([[1.0, 2.0], [3.0, 5.0]]),))  # two examples, two features
@example(arrays=(np.full((3, 2, 2), 4.0), np.ones(2), np.zeros(2)))  # zero variance
def test_batch_norm_training_matches_torch(arrays):
    mine, theirs, stats = _training_fns(momentum=0.3)
    assert_matches_torch(mine, theirs, *arrays, name="batch_norm(training=True)")
    for got, expected, what in zip(stats["mine"], stats["torch"], ("mean", "var")):
        torch.testing.assert_close(got._data, expected, rtol=1e-7, atol=1e-9, msg=what)


@pytest.mark.parametrize("order", [1, 2])  # first derivatives, and second (create_graph)
@given(arrays=batch_norm_cases(), data=st.data())
def test_batch_norm_eval_matches_torch(order, arrays, data):
    channels = arrays[0].shape[1]
    mean = data.draw(mst.float_arrays((channels,)), label="running_mean")
    var = data.draw(mst.float_arrays((channels,), 0.1, 10), label="running_var")

    def mine(x, weight=None, bias=None):
        return F.batch_norm(x, mg.tensor(mean), mg.tensor(var), weight, bias, training=False)

    def theirs(x, weight=None, bias=None):
        return TF.batch_norm(x, torch.tensor(mean), torch.tensor(var), weight, bias)

    assert_matches_torch(mine, theirs, *arrays, order=order, name="batch_norm(training=False)")


@given(arrays=batch_norm_cases(small=True))
def test_batch_norm_training_passes_gradcheck(arrays):
    mine, _, _ = _training_fns()
    gradcheck(mine, *arrays, name="batch_norm(training=True)")


@given(arrays=batch_norm_cases(distinct=True))
@example(arrays=(np.array([[1.0, 2.0], [3.0, 5.0]]),))
@example(arrays=(np.full((3, 2, 2), 4.0), np.ones(2), np.zeros(2)))  # zero variance, exactly
def test_batch_norm_training_second_derivatives_match_torch(arrays):
    """Under create_graph the batch's mean and istd are computed again from x, in the graph:
    the second derivative sees how they move with x (as constants, it would not).

    The values are distinct: where a channel's values are all equal, the second derivative is
    0 (x_hat is), but each side computes it as rounding noise times istd^3 = eps^-1.5 (3e7), and
    the noise differs (6.24148869 three times: torch -2.5e-8, minigrad -1.4e-8). Equal values
    that the mean reproduces exactly (4.0) give both sides their exact 0."""
    mine, theirs, _ = _training_fns()
    assert_matches_torch(mine, theirs, *arrays, order=2, name="batch_norm(training=True)")


@given(arrays=batch_norm_cases(), training=st.booleans(), needs=st.data())
def test_batch_norm_kernel_gives_its_formulas_gradients(arrays, training, needs):
    """backward() calls torch's native_batch_norm_backward with the statistics the forward
    kernel returned; the formula (what create_graph records and explain shows) computes them
    from x again. Both give the same gradients to rtol 1e-7, for whichever inputs need one."""
    wanted = needs.draw(st.lists(st.booleans(), min_size=len(arrays), max_size=len(arrays))
                        .filter(any), label="requires_grad")  # fmt: skip
    channels = arrays[0].shape[1]
    running = (torch.linspace(-1, 1, channels, dtype=torch.float64),
               torch.linspace(0.5, 2, channels, dtype=torch.float64))  # fmt: skip
    upstream = torch.randn(arrays[0].shape, dtype=torch.float64,
                           generator=torch.Generator().manual_seed(0))  # fmt: skip

    def gradients() -> list:
        tensors = [mg.tensor(a, requires_grad=w) for a, w in zip(arrays, wanted)]
        stats = [mg.Tensor(r.clone()) for r in running]
        F.batch_norm(tensors[0], *stats, *tensors[1:], training=training).backward(upstream)
        return [t.grad._data if w else None for t, w in zip(tensors, wanted)]

    by_kernel = gradients()
    with formulas_only():
        by_formula = gradients()
    for k, f in zip(by_kernel, by_formula):
        assert (k is None) == (f is None)
        if k is not None:
            torch.testing.assert_close(k, f, rtol=1e-7, atol=1e-9)


def test_batch_norm_backward_is_one_op():
    x = mg.randn(4, 3, 2, 2, requires_grad=True)
    out = F.batch_norm(x, None, None, mg.ones(3, requires_grad=True), mg.zeros(3), True)
    assert out.grad_fn.op_name == "BatchNorm"
    assert [type(i).__name__ for i in out.grad_fn.inputs[:2]] == ["Tensor", "Tensor"]


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("dims", [2, 3, 4])
def test_batch_norm_layer_matches_torch_over_several_steps(momentum, dims):
    """Outputs, gradients and running statistics after 4 training steps, then eval."""
    make = {2: "BatchNorm1d", 3: "BatchNorm1d", 4: "BatchNorm2d"}[dims]
    mine = getattr(nn, make)(3, momentum=momentum).double()
    theirs = getattr(torch.nn, make)(3, momentum=momentum).double()
    generator = torch.Generator().manual_seed(0)
    shape = (5, 3, 4, 2)[:dims]
    for step in range(4):
        x = torch.randn(shape, generator=generator, dtype=torch.float64) * (step + 1) + step
        upstream = torch.randn(shape, generator=generator, dtype=torch.float64)
        out, expected = mine(mg.Tensor(x)), theirs(x)
        torch.testing.assert_close(out._data, expected, rtol=1e-7, atol=1e-9)
        out.backward(upstream)
        expected.backward(upstream)
    for name, value in theirs.state_dict().items():
        torch.testing.assert_close(mine.state_dict()[name], value, rtol=1e-7, atol=1e-9, msg=name)
    torch.testing.assert_close(mine.weight.grad._data, theirs.weight.grad, rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(mine.bias.grad._data, theirs.bias.grad, rtol=1e-7, atol=1e-9)
    mine.eval()
    theirs.eval()
    x = torch.randn(shape, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(mine(mg.Tensor(x))._data, theirs(x), rtol=1e-7, atol=1e-9)
    assert int(mine.num_batches_tracked) == 4  # eval steps are not counted


# minigrad follows torch 2.13, whose BatchNorm takes bias= (and shows it in its repr); an older
# torch (2.11, on the lent GPU machines) has neither, and nothing to compare bias=False against.
TORCH_BATCH_NORM_TAKES_BIAS = "bias" in inspect.signature(torch.nn.BatchNorm2d).parameters


@pytest.mark.parametrize(
    "options", [{"affine": False}, {"track_running_stats": False}, {"bias": False}]
)
def test_batch_norm_options_match_torch(options):
    if "bias" in options and not TORCH_BATCH_NORM_TAKES_BIAS:
        pytest.skip(f"torch {torch.__version__}'s BatchNorm2d takes no bias= to compare with")
    mine, theirs = nn.BatchNorm2d(2, **options).double(), torch.nn.BatchNorm2d(2, **options)
    theirs = theirs.double()
    if TORCH_BATCH_NORM_TAKES_BIAS:
        assert repr(mine) == repr(theirs)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    x = torch.randn(3, 2, 2, 2, dtype=torch.float64)
    for mode in ("train", "eval"):
        getattr(mine, mode)()
        getattr(theirs, mode)()
        torch.testing.assert_close(mine(mg.Tensor(x))._data, theirs(x), rtol=1e-7, atol=1e-9)


def test_batch_norm_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(mg.randn(1, 3))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input"):
        nn.BatchNorm2d(3)(mg.randn(4, 3))
    with pytest.raises(ValueError, match="running_mean and running_var must be given"):
        F.batch_norm(mg.randn(4, 3), None, None, training=False)
    with pytest.raises(
        ValueError, match=r"input \(4, 5\) has 5 channels.*one value per channel \(5\)"
    ):
        nn.BatchNorm1d(3)(mg.randn(4, 5))


# ---- dropout ------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_draws_torchs_mask_and_sends_the_gradient_through_it(p):
    x = torch.randn(40, 30, dtype=torch.float64)
    torch.manual_seed(7)
    expected = TF.dropout(x, p)
    torch.manual_seed(7)
    leaf = mg.tensor(x, requires_grad=True)
    out = F.dropout(leaf, p)
    assert torch.equal(out._data, expected)  # the same mask as torch, on the CPU
    mask = out._data / x
    kept = mask != 0
    torch.testing.assert_close(mask[kept], torch.full_like(mask[kept], 1 / (1 - p)))
    assert abs(kept.double().mean().item() - (1 - p)) < 0.05  # 1200 draws: 4+ sigmas
    upstream = torch.randn_like(x)
    out.backward(upstream)
    torch.testing.assert_close(leaf.grad._data, upstream * mask, rtol=1e-12, atol=0)


def test_dropout_edge_cases_and_eval():
    x = mg.randn(5, 4, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    dropped = F.dropout(x, 1.0)
    dropped.sum().backward()
    assert not bool(dropped._data.any()) and not bool(x.grad._data.any())
    with pytest.raises(ValueError, match=r"p=1.5 is the probability .* between 0 and 1"):
        F.dropout(x, 1.5)
    layer = nn.Dropout(0.3)
    assert repr(layer) == repr(torch.nn.Dropout(0.3))
    assert layer.eval()(x) is x
    assert not torch.equal(layer.train()(x)._data, x._data)


@given(x=mst.float_arrays(mst.shapes(min_rank=1)), p=st.sampled_from([0.2, 0.5, 1.0]),
       seed=st.integers(0, 100))  # fmt: skip
def test_dropout_second_derivatives_match_torch(x, p, seed):
    """The mask depends on no input: a constant of the graph (an argument of the op, drawn
    before it), the same in every derivative. Times x, so that the first derivative depends on
    x too."""

    def dropped(functional):
        def fn(t):
            torch.manual_seed(seed)
            return functional.dropout(t, p) * t

        return fn

    assert_matches_torch(dropped(F), dropped(TF), x, order=2, name=f"dropout(p={p}) * x")


# ---- Module buffers --------------------------------------------------------------------------


class WithBuffers(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(2, 2)
        self.register_buffer("steps", mg.zeros(1))
        self.register_buffer("scratch", mg.ones(3), persistent=False)
        self.norm = nn.BatchNorm1d(2)


class TorchWithBuffers(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 2)
        self.register_buffer("steps", torch.zeros(1))
        self.register_buffer("scratch", torch.ones(3), persistent=False)
        self.norm = torch.nn.BatchNorm1d(2)


def test_buffers_are_named_saved_loaded_and_not_parameters():
    model = WithBuffers()
    names = [name for name, _ in model.named_buffers()]
    assert names == [
        "steps",
        "scratch",
        "norm.running_mean",
        "norm.running_var",
        "norm.num_batches_tracked",
    ]
    assert len(list(model.buffers())) == 5
    assert not any(b is p for b in model.buffers() for p in model.parameters())
    # torch's order: each module's own parameters and persistent buffers, then its submodules'
    assert list(model.state_dict()) == list(TorchWithBuffers().state_dict())
    model.norm(mg.randn(4, 2) * 3)
    saved = model.state_dict()
    other = WithBuffers()
    other.load_state_dict(saved)
    for name, value in other.state_dict().items():
        assert torch.equal(value, saved[name]), name
    assert int(other.norm.num_batches_tracked) == 1
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "norm.running_var"'):
        other.load_state_dict({k: v for k, v in saved.items() if k != "norm.running_var"})


def buffered_model(lib, start):
    """A Linear, a buffer by nn.Buffer and one not persistent: in torch or minigrad."""

    class Model(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.nn.Linear(2, 2)
            self.total = lib.nn.Buffer(start)
            self.scratch = lib.nn.Buffer(lib.ones(3), persistent=False)

    return Model()


def test_a_buffer_assigned_as_an_attribute_is_registered_as_torch_s():
    """self.x = nn.Buffer(t) is register_buffer("x", t); persistent=False leaves the
    state_dict; the buffer shares t's values and is moved with the module."""
    sides = []
    for lib in (torch, mg):
        start = lib.zeros(2)
        model, sharing = buffered_model(lib, start).double(), buffered_model(lib, start)
        start[0] = 5.0
        sides.append((
            [name for name, _ in model.named_buffers()], list(model.state_dict()),
            len(list(model.parameters())), model.total.dtype, model.total.requires_grad,
            sharing.total.tolist(),
        ))  # fmt: skip
    assert sides[0] == sides[1]
    assert sides[1][:2] == (["total", "scratch"], ["total", "lin.weight", "lin.bias"])


def test_a_torch_batch_norm_state_dict_loads_into_minigrad():
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    theirs(torch.randn(4, 1, 5, 5))  # running statistics move away from 0 and 1
    mine = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    mine.load_state_dict(theirs.state_dict())
    mine.eval()
    theirs.eval()
    x = torch.randn(3, 1, 5, 5)
    torch.testing.assert_close(mine(mg.Tensor(x))._data, theirs(x))


def test_module_to_moves_parameters_and_buffers_keeping_their_identity():
    model = WithBuffers()
    weight, mean = model.layer.weight, model.norm.running_mean
    model.double()
    assert model.layer.weight is weight and model.norm.running_mean is mean
    assert weight.dtype == mean.dtype == model.steps.dtype == mg.float64
    assert model.norm.num_batches_tracked.dtype == mg.int64  # integers keep their dtype
    model.to("cpu", torch.float32)
    assert weight.dtype == mean.dtype == mg.float32
    with pytest.raises(TypeError, match="takes a device"):
        model.to(3.5)


# ---- group norm ---------------------------------------------------------------------------------


@st.composite
def group_norm_cases(
    draw: st.DrawFn, small: bool = False, distinct: bool = False
) -> tuple[tuple, dict]:
    """x of shape (N, C, *) with 0 to 2 dims after the channels, C a multiple of num_groups;
    weight and bias of shape (C,), both, one or neither; an eps. Returns (arrays, options) for
    `_group_norm`. Distinct values (small: for gradcheck too)."""
    groups = draw(st.integers(1, 3), label="num_groups")
    channels = groups * draw(st.integers(1, 2 if small else 3), label="channels per group")
    rest = draw(mst.shapes(0, 2, max_side=3 if small else 4), label="positions")
    shape = (draw(st.integers(1, 3), label="batch"), channels, *rest)
    arrays = mst.distinct_arrays if small or distinct else mst.float_arrays
    x = draw(arrays(shape), label="x")
    has_weight, has_bias = draw(st.booleans(), label="weight"), draw(st.booleans(), label="bias")
    params = [draw(arrays((channels,)), label=name) for name in ("weight", "bias")]
    params = [p for p, has in zip(params, (has_weight, has_bias)) if has]
    options = {
        "num_groups": groups,
        "eps": draw(st.sampled_from([1e-5, 1e-3, 0.1, 1.0]), label="eps"),
        "weight": has_weight,
        "bias": has_bias,
    }
    return (x, *params), options


def _group_norm(functional, options):
    """group_norm of `functional` (minigrad's F or torch's) taking x and the weight and bias
    that options say are there, as positional arguments."""

    def call(x, *params):
        given = iter(params)
        weight = next(given) if options["weight"] else None
        bias = next(given) if options["bias"] else None
        return functional.group_norm(x, options["num_groups"], weight, bias, options["eps"])

    return call


def _group_case(*arrays, groups, eps=1e-5, weight=False, bias=False):
    return arrays, {"num_groups": groups, "eps": eps, "weight": weight, "bias": bias}


def _torchs_group_norm(options, channels):
    """torch's group_norm for `options`; a bias without a weight as torch's group norm with a
    weight of ones, the same function: torch 2.13's own backward fails there (see the test
    below)."""
    if not (options["bias"] and not options["weight"]):
        return _group_norm(TF, options)
    ones = torch.ones(channels, dtype=torch.float64)
    with_weight = _group_norm(TF, {**options, "weight": True})
    return lambda x, bias: with_weight(x, ones, bias)


def _one_value_in_all(shape, options) -> bool:
    """Whether torch refuses x of this shape: one example, one channel per group and one
    position (as batch norm refuses one value per channel); if so, check that both refuse."""
    if shape[0] * (shape[1] // options["num_groups"]) * math.prod(shape[2:]) != 1:
        return False
    for functional in (F, TF):
        x = mg.zeros(shape) if functional is F else torch.zeros(shape)
        with pytest.raises(ValueError, match="ingle value|more than 1 value"):
            functional.group_norm(x, options["num_groups"])
    return True


@given(case=group_norm_cases())
@example(case=_group_case(np.array([[1.5, -2.0]]), groups=2))  # refused: one value in all
@example(case=_group_case(np.zeros((2, 4, 3)), groups=2))  # zero variance: x_hat = 0
@example(case=_group_case(np.arange(8.0).reshape(2, 4), np.arange(4.0), groups=4, weight=True))
# (N, C) alone, one channel per group: each group is a single value
@example(case=_group_case(np.arange(24.0).reshape(2, 6, 2), np.ones(6), groups=1, bias=True))
# one group: every channel of an example together
def test_group_norm_matches_torch(case):
    arrays, options = case
    if _one_value_in_all(arrays[0].shape, options):
        return
    assert_matches_torch(
        _group_norm(F, options),
        _torchs_group_norm(options, arrays[0].shape[1]),
        *arrays,
        name=f"group_norm{options}",
    )


@given(case=group_norm_cases(small=True))
def test_group_norm_passes_gradcheck(case):
    arrays, options = case
    if _one_value_in_all(arrays[0].shape, options):
        return
    gradcheck(_group_norm(F, options), *arrays, name=f"group_norm{options}")


@given(case=group_norm_cases(distinct=True))
@example(case=_group_case(np.zeros((2, 4, 3)), groups=2))  # zero variance, exactly: x_hat = 0
def test_group_norm_second_derivatives_match_torch(case):
    """Through layer norm's formula backward."""
    arrays, options = case
    if _one_value_in_all(arrays[0].shape, options):
        return
    assert_matches_torch(
        _group_norm(F, options),
        _torchs_group_norm(options, arrays[0].shape[1]),
        *arrays,
        order=2,
        name=f"group_norm{options}",
    )


def test_torchs_group_norm_with_a_bias_and_no_weight_cannot_be_differentiated():
    """Why the tests above compare that case with a weight of ones: torch 2.13's backward
    raises, with create_graph or without. If this fails, torch has fixed it, and the tests
    above can compare with torch's own case."""
    x = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(4, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="tensor does not have a device"):
        TF.group_norm(x, 2, None, bias).sum().backward()
    with pytest.raises(RuntimeError, match="is invalid for input of size"):
        out = TF.group_norm(x, 2, None, bias).sum()
        torch.autograd.grad(out, (x, bias), create_graph=True)  # dL/dbias: it raises
    ours, our_bias = (mg.tensor(t.detach(), requires_grad=True) for t in (x, bias))
    out = F.group_norm(ours, 2, None, our_bias)
    dx, d_bias = mg.autograd.grad(out.pow(2).sum(), (ours, our_bias), create_graph=True)
    mg.autograd.grad(dx.sum() + d_bias.sum(), ours)  # minigrad's runs


def test_group_norm_of_an_empty_batch_is_empty():
    for shape in ((0, 4, 3), (2, 4, 0)):
        x = torch.randn(shape, dtype=torch.float64)
        assert F.group_norm(mg.tensor(x), 2).shape == TF.group_norm(x, 2).shape == shape


def test_group_norm_errors_say_what_is_wrong():
    with pytest.raises(
        ShapeError, match=r"batch and a channel dim, \(N, C, \*\), got shape \(4,\)"
    ):
        F.group_norm(mg.randn(4), 2)
    with pytest.raises(ShapeError, match=r"num_groups=2 must divide the input's 5 channels"):
        F.group_norm(mg.randn(2, 5, 3), 2)
    with pytest.raises(ShapeError, match=r"weight has shape \(3,\), but it must have shape \(4,\)"):
        F.group_norm(mg.randn(2, 4), 2, mg.ones(3))
    with pytest.raises(ShapeError, match=r"bias has shape \(4, 1\)"):
        F.group_norm(mg.randn(2, 4), 2, None, mg.ones(4, 1))
    with pytest.raises(TypeError, match=r"floating-point tensor, got torch.int64"):
        F.group_norm(mg.tensor([[1, 2]]), 1)
    with pytest.raises(ValueError, match=r"num_groups=3 must divide num_channels=4"):
        nn.GroupNorm(3, 4)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((2, 4), {}), ((1, 4), {"eps": 1e-3}), ((4, 4), {"affine": False}), ((2, 6), {"bias": False})],
    ids=repr,
)
def test_group_norm_layer_is_torchs(args, kwargs):
    """repr, state_dict names and values (weight ones, bias zeros), outputs and gradients."""
    mine, theirs = nn.GroupNorm(*args, **kwargs), torch.nn.GroupNorm(*args, **kwargs)
    assert repr(mine) == repr(theirs)
    assert list(mine.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert torch.equal(mine.state_dict()[key], value), key
    mine.double()
    theirs.double()
    x = torch.randn(3, args[1], 5, 2, dtype=torch.float64)
    upstream = torch.randn_like(x)
    leaf, their_leaf = mg.Tensor(x.clone(), requires_grad=True), x.clone().requires_grad_()
    out, expected = mine(leaf), theirs(their_leaf)
    torch.testing.assert_close(out._data, expected.detach(), rtol=1e-7, atol=1e-9)
    out.backward(upstream)
    expected.backward(upstream)
    torch.testing.assert_close(leaf.grad._data, their_leaf.grad, rtol=1e-7, atol=1e-9)
    for (key, p), q in zip(mine.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad._data, q.grad, rtol=1e-7, atol=1e-9, msg=key)


def test_group_norm_layer_takes_device_and_dtype(device):
    layer = nn.GroupNorm(2, 4, device=device, dtype=mg.float64)
    for p in (layer.weight, layer.bias):
        assert p.device.type == device and p.dtype == mg.float64 and p.shape == (4,)
    assert layer(mg.randn(3, 4, 2, dtype=mg.float64, device=device)).device.type == device
    assert nn.GroupNorm(2, 4).weight.dtype == mg.float32
