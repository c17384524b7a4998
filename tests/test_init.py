"""nn.init against torch.nn.init: the same numbers for the same seed, on every device."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn

weight_shapes = st.lists(st.integers(1, 6), min_size=2, max_size=4).map(tuple)
DRAWS = {  # name: (settings drawn by Hypothesis)
    "uniform_": st.fixed_dictionaries({"a": st.floats(-2, 0), "b": st.floats(0.5, 2)}),
    "normal_": st.fixed_dictionaries({"mean": st.floats(-1, 1), "std": st.floats(0.1, 2)}),
    "xavier_uniform_": st.fixed_dictionaries({"gain": st.floats(0.5, 2)}),
    "xavier_normal_": st.fixed_dictionaries({"gain": st.floats(0.5, 2)}),
    "kaiming_uniform_": st.fixed_dictionaries(
        {
            "a": st.sampled_from([0, 0.01, math.sqrt(5)]),
            "mode": st.sampled_from(["fan_in", "fan_out"]),
            "nonlinearity": st.sampled_from(["leaky_relu", "relu", "tanh", "linear"]),
        }
    ),
    "kaiming_normal_": st.fixed_dictionaries(
        {
            "a": st.sampled_from([0, 0.2]),
            "mode": st.sampled_from(["fan_in", "fan_out"]),
            "nonlinearity": st.sampled_from(["leaky_relu", "relu", "selu", "sigmoid"]),
        }
    ),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
@given(data=st.data(), shape=weight_shapes, seed=st.integers(0, 2**16))
def test_init_draws_torchs_numbers_for_the_same_seed(name, data, shape, seed):
    settings = data.draw(DRAWS[name])
    p = nn.Parameter(torch.empty(shape, dtype=torch.float64))
    expected = torch.empty(shape, dtype=torch.float64)
    torch.manual_seed(seed)
    getattr(torch.nn.init, name)(expected, **settings)
    mg.manual_seed(seed)
    out = getattr(nn.init, name)(p, **settings)
    assert out is p and p.is_leaf and p.requires_grad and p.grad is None
    assert torch.equal(p._data, expected)
    # and with a generator of one's own, as torch
    generator = torch.Generator().manual_seed(seed + 1)
    getattr(torch.nn.init, name)(expected, **settings, generator=generator)
    getattr(nn.init, name)(p, **settings, generator=torch.Generator().manual_seed(seed + 1))
    assert torch.equal(p._data, expected)


def test_init_on_the_device_draws_as_torch_does_there(device):
    p = nn.Parameter(torch.empty(30, 20, device=device))
    expected = torch.empty(30, 20, device=device)
    torch.manual_seed(4)
    torch.nn.init.kaiming_normal_(expected, nonlinearity="relu")
    mg.manual_seed(4)
    nn.init.kaiming_normal_(p, nonlinearity="relu")
    assert p.device.type == device and torch.equal(p._data, expected)


def test_fill_functions_and_gain():
    p = nn.Parameter(torch.empty(2, 3))
    assert nn.init.zeros_(p)._data.eq(0).all() and nn.init.ones_(p)._data.eq(1).all()
    assert nn.init.constant_(p, 0.25)._data.eq(0.25).all()
    for name in ["linear", "conv2d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]:
        assert nn.init.calculate_gain(name) == torch.nn.init.calculate_gain(name)
    assert nn.init.calculate_gain("leaky_relu", 0.2) == torch.nn.init.calculate_gain(
        "leaky_relu", 0.2
    )


def test_kaiming_and_xavier_give_the_promised_scale():
    mg.manual_seed(0)
    w = nn.Parameter(torch.empty(500, 400))
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert w._data.std().item() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    nn.init.xavier_uniform_(w)
    bound = math.sqrt(6 / (400 + 500))
    assert w._data.abs().max().item() <= bound
    assert w._data.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    conv = nn.Parameter(torch.empty(8, 3, 5, 5))  # fan_in = 3 * 25
    nn.init.kaiming_uniform_(conv, a=math.sqrt(5))
    assert conv._data.abs().max().item() <= 1 / math.sqrt(75)


def test_init_errors_teach():
    with pytest.raises(ValueError, match=r"fewer than 2 dimensions .* shape \(4,\).* zeros_"):
        nn.init.xavier_uniform_(nn.Parameter(torch.empty(4)))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        nn.init.kaiming_uniform_(nn.Parameter(torch.empty(2, 2)), mode="fan_avg")
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        nn.init.calculate_gain("gelu")
    with pytest.raises(TypeError, match="fills a Tensor in place"):
        nn.init.zeros_([0.0, 1.0])
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        nn.init.kaiming_normal_(nn.Parameter(torch.empty(0, 3)))
