"""Random draws with torch's names: `bernoulli` (a function, a method, and in place),
`poisson`, and the other fills in place (random_, exponential_, geometric_, log_normal_,
cauchy_). Each draws torch's numbers from the same generator, and, as in torch, nothing flows
back through a draw: its input gets a zero gradient (with `x.bernoulli(p)` for a number p, torch
has no gradient at all, and neither has minigrad). torch's process settings (threads, matmul
precision, determinism) are torch's own functions under minigrad's name.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import GradientError, Tensor
from minigrad.testing import assert_matches_torch
from minigrad.testing import strategies as mst

SEEDS = st.integers(0, 2**32 - 1)


def seeded(seed: int) -> torch.Generator:
    """A CPU generator: the comparisons with torch run on the CPU (device="cpu"), where torch
    draws with it (minigrad draws there too, then moves the numbers: see random_device)."""
    return torch.Generator().manual_seed(seed)


@given(probabilities=mst.float_arrays(min_value=0.0, max_value=1.0), seed=SEEDS)
def test_bernoulli_draws_torch_s_numbers_and_passes_back_zeros(probabilities, seed):
    assert_matches_torch(
        lambda p: mg.bernoulli(p, generator=seeded(seed)),
        lambda p: torch.bernoulli(p, generator=seeded(seed)),
        probabilities,
        name="bernoulli",
        device="cpu",
    )
    assert_matches_torch(
        lambda p: p.bernoulli(generator=seeded(seed)),
        lambda p: p.bernoulli(generator=seeded(seed)),
        probabilities,
        name="x.bernoulli()",
        device="cpu",
    )


@given(rates=mst.float_arrays(min_value=0.0, max_value=20.0), seed=SEEDS)
def test_poisson_draws_torch_s_numbers_and_passes_back_zeros(rates, seed):
    assert_matches_torch(
        lambda r: mg.poisson(r, generator=seeded(seed)),
        lambda r: torch.poisson(r, generator=seeded(seed)),
        rates,
        name="poisson",
        device="cpu",
    )


def test_the_gradient_of_a_draw_is_zeros_not_none():
    x = mg.tensor([0.2, 0.9], dtype=mg.float64, requires_grad=True)
    (mg.bernoulli(x) + mg.poisson(x) + x).sum().backward()
    assert torch.equal(x.grad._data, torch.ones(2, dtype=torch.float64))  # only the + x
    assert mg.bernoulli(x).grad_fn.name() == "BernoulliBackward0"


@given(x=mst.float_arrays(), p=st.floats(0.0, 1.0), seed=SEEDS)
def test_bernoulli_with_a_number_draws_torch_s_numbers_and_has_no_gradient(x, p, seed):
    """torch records x.bernoulli(p) but cannot differentiate it: backward raises, and so it does
    in minigrad, with a way round it."""
    ours = Tensor(torch.as_tensor(x), requires_grad=True).bernoulli(p, generator=seeded(seed))
    theirs = torch.as_tensor(x).requires_grad_().bernoulli(p, generator=seeded(seed))
    assert torch.equal(ours._data, theirs.detach())
    with pytest.raises(RuntimeError, match="bernoulli"):
        theirs.sum().backward()
    with pytest.raises(GradientError, match=r"bernoulli\(\) has no gradient.*detach"):
        ours.sum().backward()


@given(x=mst.float_arrays(), p=st.floats(0.0, 1.0), seed=SEEDS)
def test_bernoulli__with_a_number_fills_in_torch_s_numbers(x, p, seed):
    """In place, x's old values get a zero gradient: they are gone."""
    assert_matches_torch(
        lambda a: (a * 1).bernoulli_(p, generator=seeded(seed)),
        lambda a: (a * 1).bernoulli_(p, generator=seeded(seed)),
        x,
        name="bernoulli_(p)",
        device="cpu",
    )


@st.composite
def values_and_probabilities(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """x, and probabilities of a shape that broadcasts to x's."""
    shape, p_shape = draw(mst.broadcastable_shapes(2))
    x = draw(mst.float_arrays(shape))
    target = np.broadcast_shapes(shape, p_shape)
    x = np.broadcast_to(x, target).copy()  # (bernoulli_ keeps x's shape: p broadcasts to it)
    return x, draw(mst.float_arrays(p_shape, 0.0, 1.0))


@given(pair=values_and_probabilities(), seed=SEEDS)
def test_bernoulli__with_a_tensor_of_probabilities_gives_both_zero_gradients(pair, seed):
    assert_matches_torch(
        lambda a, p: (a * 1).bernoulli_(p, generator=seeded(seed)),
        lambda a, p: (a * 1).bernoulli_(p, generator=seeded(seed)),
        *pair,
        name="bernoulli_(tensor)",
        device="cpu",
    )


FILLS = {  # torch's other random fills in place (what its distributions draw from)
    "random_ from to": lambda x, g: x.random_(-3, 7, generator=g),
    "random_ to": lambda x, g: x.random_(10, generator=g),
    "random_ to=": lambda x, g: x.random_(to=10, generator=g),
    "random_": lambda x, g: x.random_(generator=g),
    "exponential_": lambda x, g: x.exponential_(2.5, generator=g),
    "geometric_": lambda x, g: x.geometric_(0.3, generator=g),
    "log_normal_": lambda x, g: x.log_normal_(0.5, 0.25, generator=g),
    "cauchy_": lambda x, g: x.cauchy_(1.0, 0.5, generator=g),
}


@pytest.mark.parametrize("name", FILLS)
@given(x=mst.float_arrays(), seed=SEEDS)
def test_the_other_random_fills_give_torch_s_numbers_its_node_and_zero_gradients(name, x, seed):
    fill = FILLS[name]
    assert_matches_torch(
        lambda a: fill(a * 1, seeded(seed)),
        lambda a: fill(a * 1, seeded(seed)),
        x,
        name=name,
        device="cpu",
    )
    ours, theirs = mg.tensor(x, requires_grad=True) * 1, torch.tensor(x, requires_grad=True) * 1
    assert fill(ours, seeded(seed)) is ours
    fill(theirs, seeded(seed))
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    plain = mg.tensor(x)  # outside the graph: torch's kernel, the same memory
    memory = plain._data.data_ptr()
    assert fill(plain, seeded(seed)) is plain and plain._data.data_ptr() == memory
    assert torch.equal(plain._data, fill(torch.tensor(x), seeded(seed)))


def test_bernoulli__without_a_graph_uses_torch_s_kernel_and_numbers():
    probabilities = torch.rand(3, 4, generator=seeded(1))
    ours = mg.zeros(3, 4).bernoulli_(Tensor(probabilities), generator=seeded(2))
    theirs = torch.zeros(3, 4).bernoulli_(probabilities, generator=seeded(2))
    assert ours.grad_fn is None and torch.equal(ours._data, theirs)
    assert torch.equal(mg.zeros(5).bernoulli_(generator=seeded(3))._data,
                       torch.zeros(5).bernoulli_(generator=seeded(3)))  # fmt: skip


def test_a_compiled_step_draws_new_numbers_on_each_replay():
    """Dropout written by hand with bernoulli_: each replay draws as eager does (from the seed
    set before the call), never the mask the recording drew."""

    def run(compile):
        w = Tensor(torch.randn(4, 3, generator=seeded(0), dtype=torch.float64), requires_grad=True)

        def step(x):
            h = x @ w
            keep = mg.empty_like(h).bernoulli_(0.5)
            loss = (h * keep / 0.5).square().sum()
            loss.backward()
            with mg.no_grad():
                w.sub_(0.01 * w.grad)
                w.grad = None
            return loss

        step = compile(step)
        losses = []
        for call in range(6):
            mg.manual_seed(100 + call)
            x = Tensor(torch.randn(5, 4, generator=seeded(call), dtype=torch.float64))
            losses.append(step(x)._data.clone())
        return losses, w._data.clone()

    (eager_losses, eager_w), (replayed_losses, replayed_w) = run(lambda f: f), run(mg.compile)
    assert all(map(torch.equal, eager_losses, replayed_losses)) and torch.equal(eager_w, replayed_w)
    assert len({round(loss.item(), 12) for loss in eager_losses}) == 6  # masks differ per call


SETTINGS = [
    "get_num_threads",
    "set_num_threads",
    "get_num_interop_threads",
    "set_num_interop_threads",
    "get_float32_matmul_precision",
    "set_float32_matmul_precision",
    "are_deterministic_algorithms_enabled",
    "use_deterministic_algorithms",
    "set_flush_denormal",
]


@pytest.mark.parametrize("name", SETTINGS)
def test_torch_s_process_settings_are_torch_s_own(name):
    """They set how torch's kernels run, and torch's kernels are minigrad's maths."""
    assert getattr(mg, name) is getattr(torch, name)


def test_setting_the_threads_through_minigrad_sets_torch_s():
    before = torch.get_num_threads()
    try:
        mg.set_num_threads(1)
        assert torch.get_num_threads() == 1 == mg.get_num_threads()
    finally:
        torch.set_num_threads(before)
