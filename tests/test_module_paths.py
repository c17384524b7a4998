"""A module's parts by their dotted names, and the module-wide casts and moves torch has:
get_submodule, set_submodule, get_parameter, get_buffer (what feature-extraction and fine-tuning
code calls: `model.get_submodule("features.3")`, a layer swapped in by its path), half(),
bfloat16(), share_memory(). Each against torch on the same model: what is found, what is
refused (AttributeError, with the name that was not there), the dtypes, the shared memory.
"""

from __future__ import annotations

import pytest
import torch

import minigrad as mg


def model(nn):
    """The same small model in torch and in minigrad: nested Sequentials, a batch norm (its
    buffers), a named child."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(4, 3),
        nn.Sequential(nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2)),
    )
    net.add_module("head", nn.Linear(2, 1))
    return net


PATHS = ["", "0", "1", "1.0", "1.2", "head"]
PARAMETERS = ["0.weight", "1.2.bias", "head.weight", "1.0.weight"]
BUFFERS = ["1.0.running_mean", "1.0.num_batches_tracked"]
MISSING = ["2", "1.5", "0.weight.x", "head.conv", "1.0.gamma"]


@pytest.mark.parametrize("path", PATHS)
def test_get_submodule_finds_what_torch_finds(path):
    ours, theirs = model(mg.nn).get_submodule(path), model(torch.nn).get_submodule(path)
    assert type(ours).__name__ == type(theirs).__name__
    assert [name for name, _ in ours.named_modules()] == [
        name for name, _ in theirs.named_modules()
    ]


@pytest.mark.parametrize("path", PARAMETERS)
def test_get_parameter_is_the_parameter_torch_finds(path):
    ours, theirs = model(mg.nn), model(torch.nn)
    found = ours.get_parameter(path)
    assert found is dict(ours.named_parameters())[path]
    assert found.shape == theirs.get_parameter(path).shape


@pytest.mark.parametrize("path", BUFFERS)
def test_get_buffer_is_the_buffer_torch_finds(path):
    ours, theirs = model(mg.nn), model(torch.nn)
    found = ours.get_buffer(path)
    assert found is dict(ours.named_buffers())[path]
    assert found.dtype == theirs.get_buffer(path).dtype


@pytest.mark.parametrize("path", MISSING)
def test_a_path_that_is_not_there_is_an_attribute_error_as_in_torch(path):
    for getter in ("get_submodule", "get_parameter", "get_buffer"):
        with pytest.raises(AttributeError):
            getattr(model(torch.nn), getter)(path)
        with pytest.raises(AttributeError, match=r"has no (attribute|parameter|buffer) `"):
            getattr(model(mg.nn), getter)(path)


def test_a_buffer_is_not_a_parameter_nor_a_parameter_a_buffer_as_in_torch():
    for net in (model(torch.nn), model(mg.nn)):
        with pytest.raises(AttributeError):
            net.get_parameter("1.0.running_mean")
        with pytest.raises(AttributeError):
            net.get_buffer("0.weight")


def test_set_submodule_swaps_a_layer_by_its_path_as_torch():
    for nn, lib in ((torch.nn, torch), (mg.nn, mg)):
        net = model(nn)
        replacement = nn.Linear(3, 2, bias=False)
        net.set_submodule("1.2", replacement)
        assert net.get_submodule("1.2") is replacement
        assert "1.2.bias" not in dict(net.named_parameters())
        assert net(lib.ones(5, 4)).shape == (5, 1)
        net.set_submodule("1.7", nn.ReLU())  # not there: added (strict=False, torch's default)
        assert type(net.get_submodule("1.7")).__name__ == "ReLU"
        with pytest.raises(AttributeError, match="has no attribute `8`"):
            net.set_submodule("1.8", nn.ReLU(), strict=True)
        with pytest.raises(AttributeError, match="`weight` is not an nn.Module"):
            net.set_submodule("head.weight", nn.ReLU())
        with pytest.raises(ValueError, match="is not an nn.Module"):
            net.set_submodule("head", lib.ones(3))


@pytest.mark.parametrize("cast, dtype", [("half", torch.float16), ("bfloat16", torch.bfloat16)])
def test_half_and_bfloat16_cast_the_floating_parameters_and_buffers_as_torch(cast, dtype):
    ours, theirs = getattr(model(mg.nn), cast)(), getattr(model(torch.nn), cast)()
    assert {k: v.dtype for k, v in ours.state_dict().items()} == {
        k: v.dtype for k, v in theirs.state_dict().items()
    }
    assert ours.get_parameter("0.weight").dtype == dtype


def test_share_memory_puts_every_parameter_and_buffer_in_shared_memory():
    net = model(mg.nn)
    assert not any(p._data.is_shared() for p in net.parameters())
    assert net.share_memory() is net
    assert all(t._data.is_shared() for t in [*net.parameters(), *net.buffers()])
