"""Layouts in memory as torch's: memory_format= on contiguous, to, the _like functions, empty
and Module.to; a channels-last CNN (what PyTorch's channels-last tutorial does for speed) with
the gradients and layouts torch gives.

Each layout is compared with torch's own: the strides of the result, and the values (for the
random functions, the numbers drawn from the same seed, which torch lays down in memory order).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st
from test_cnn import cnn

import minigrad as mg
from minigrad import nn

CL = torch.channels_last
FORMATS = [torch.contiguous_format, torch.channels_last, torch.preserve_format]


@st.composite
def laid_out(draw, ranks=(4,)):
    """A float64 tensor of a drawn shape, laid out row after row, channels last, or with its
    dims in a drawn order in memory (a permuted tensor, as a transpose is), perhaps a slice
    that skips every other element along some dims."""
    rank = draw(st.sampled_from(ranks))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)))
    order = draw(st.permutations(range(rank)))
    steps = draw(st.lists(st.sampled_from([1, 2]), min_size=rank, max_size=rank))
    numbers = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    values = torch.randn(
        [shape[d] * steps[d] for d in order], dtype=torch.float64, generator=numbers
    )
    inverse = [order.index(d) for d in range(rank)]
    # shape `shape`, dims in memory in the order drawn, every other element where a step is 2
    return values.permute(inverse)[tuple(slice(None, None, step) for step in steps)]


@given(laid_out(), st.sampled_from(FORMATS[:2]))
def test_contiguous_and_to_lay_out_as_torch_with_the_gradient_passing_through(data, layout):
    x = mg.Tensor(data, requires_grad=True)  # (its memory: the same layout)
    for method in ("contiguous", "to"):
        expected = getattr(data, method)(memory_format=layout)
        out = getattr(x, method)(memory_format=layout)
        assert out.stride() == expected.stride() and torch.equal(out._data, expected)
        assert (out is x) == (expected is data)  # already laid out so: the tensor itself
        assert x.is_contiguous(memory_format=layout) == data.is_contiguous(memory_format=layout)
        weights = torch.randn(data.shape, dtype=torch.float64)
        (out * mg.Tensor(weights)).sum().backward()
        assert torch.equal(x.grad._data, weights)  # a copy's gradient: the upstream one
        x.grad = None


def test_to_with_a_layout_records_torchs_copy_node():
    x = mg.randn(2, 3, 4, 5, dtype=mg.float64, requires_grad=True)
    assert x.to(memory_format=CL).grad_fn.name() == "ToCopyBackward0"
    assert x.contiguous(memory_format=CL).grad_fn.name() == "CloneBackward0"
    moved = x.to(mg.float32, memory_format=CL)
    assert moved.dtype == mg.float32 and moved.is_contiguous(memory_format=CL)


@given(laid_out(), st.sampled_from(FORMATS))
def test_like_functions_keep_or_take_the_layout_as_torch(data, layout):
    x = mg.Tensor(data)
    for name, extra in [("zeros_like", ()), ("ones_like", ()), ("full_like", (2.5,))]:
        mine = getattr(mg, name)(x, *extra, memory_format=layout)
        theirs = getattr(torch, name)(data, *extra, memory_format=layout)
        assert mine.stride() == theirs.stride() and torch.equal(mine._data, theirs), name
    assert mg.empty_like(x, memory_format=layout).stride() == (
        torch.empty_like(data, memory_format=layout).stride()
    )
    assert mg.zeros_like(x).stride() == torch.zeros_like(data).stride()  # preserve, by default
    for name, extra in [("rand_like", ()), ("randn_like", ()), ("randint_like", (3, 9))]:
        torch.manual_seed(7)
        theirs = getattr(torch, name)(data, *extra, memory_format=layout)
        mg.manual_seed(7)
        mine = getattr(mg, name)(x, *extra, memory_format=layout)
        assert mine.stride() == theirs.stride() and torch.equal(mine._data, theirs), name
        generator = torch.Generator().manual_seed(3)
        theirs = getattr(torch, name)(data, *extra, generator=generator)
        generator = torch.Generator().manual_seed(3)
        assert torch.equal(getattr(mg, name)(x, *extra, generator=generator)._data, theirs)


def test_module_to_channels_last_refuses_a_5d_parameter_as_torch():
    with pytest.raises(mg.ShapeError, match=r"Module.to\(memory_format=torch.channels_last\)"):
        nn.Conv3d(1, 2, 3).to(memory_format=CL)
    with pytest.raises(RuntimeError, match="required rank 4"):  # (torch's, for comparison)
        torch.nn.Conv3d(1, 2, 3).to(memory_format=CL)
    model = nn.Conv3d(1, 2, 3).to(memory_format=mg.channels_last_3d)
    expected = torch.nn.Conv3d(1, 2, 3).to(memory_format=torch.channels_last_3d)
    assert model.weight.stride() == expected.weight.stride()


def test_empty_takes_a_layout():
    assert mg.empty(2, 3, 4, 5, memory_format=CL).stride() == (
        torch.empty(2, 3, 4, 5, memory_format=CL).stride()
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.contiguous(memory_format=CL),
        lambda x: x.to(memory_format=CL),
        lambda x: x.clone(memory_format=CL),
        lambda x: mg.zeros_like(x, memory_format=CL),
        lambda x: mg.rand_like(x, memory_format=CL),
        lambda x: x.reshape(1, 2, 3, 1, 1).contiguous(memory_format=CL),
    ],
)
def test_channels_last_on_a_tensor_of_another_rank_says_which_rank(call):
    with pytest.raises(mg.ShapeError, match=r"lays out 4-d tensors \(N, C, H, W.*shape \("):
        call(mg.randn(2, 3))
    with pytest.raises(mg.ShapeError, match=r"channels_last_3d\) lays out 5-d tensors"):
        mg.randn(1, 2, 3, 4).contiguous(memory_format=mg.channels_last_3d)


@pytest.mark.filterwarnings("ignore:Using padding=.same.")  # torch's, about its own copy
def test_a_channels_last_cnn_trains_as_torchs_with_its_layouts():
    """Module.to(memory_format=...) lays out the 4-d parameters (convolution weights) as torch's
    and leaves the others; the network then gives torch's activations, layouts, loss and
    gradients, float64."""
    torch.manual_seed(0)
    theirs = cnn(torch.nn).double().to(memory_format=CL)
    mine = cnn(nn).double()
    mine.load_state_dict(theirs.state_dict())
    assert mine.to(memory_format=CL) is mine
    for (name, p), q in zip(mine.named_parameters(), theirs.parameters()):
        assert p.stride() == q.stride(), name
    x = torch.randn(5, 1, 12, 10, dtype=torch.float64).contiguous(memory_format=CL)
    y = torch.tensor([0, 2, 1, 1, 0])
    activations = {}
    for side, model, h in [("mine", mine, mg.Tensor(x)), ("theirs", theirs, x)]:
        torch.manual_seed(1)  # the same dropout mask on both sides
        activations[side] = [h := layer(h) for layer in model]
    for layer, h, expected in zip(mine, activations["mine"], activations["theirs"]):
        assert h.stride() == expected.stride(), layer
        torch.testing.assert_close(h._data, expected, rtol=1e-12, atol=1e-12)
    TF.cross_entropy(activations["theirs"][-1], y).backward()
    mg.nn.functional.cross_entropy(activations["mine"][-1], mg.Tensor(y)).backward()
    for (name, p), q in zip(mine.named_parameters(), theirs.parameters()):
        assert p.grad.stride() == q.grad.stride(), name
        torch.testing.assert_close(p.grad._data, q.grad, rtol=1e-7, atol=1e-9, msg=name)
    # back to rows: the parameters and their gradients, as torch's Module.to moves both
    mine.to(memory_format=torch.contiguous_format)
    theirs.to(memory_format=torch.contiguous_format)
    for (name, p), q in zip(mine.named_parameters(), theirs.parameters()):
        assert (p.stride(), p.grad.stride()) == (q.stride(), q.grad.stride()), name
