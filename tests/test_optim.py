"""minigrad.optim against torch.optim: same parameters, same gradients, same steps."""

from __future__ import annotations

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.optim import SGD, Adam, Optimizer

RTOL, ATOL = 1e-7, 1e-9
SHAPES = [(3, 4), (4,), (), (2, 1, 3)]
STEPS = 5


def run_side_by_side(ours_cls, theirs_cls, kwargs, seed, skip=None, lrs=None):
    """Take STEPS steps with both optimizers on copies of the same parameters, with the same
    random gradients set by hand, and compare the parameters after every step.

    skip: (step, parameter index) pairs whose gradient is left out (None), which both skip.
    lrs: a learning rate per step, set between steps (as a learning-rate finder does).
    """
    gen = torch.Generator().manual_seed(seed)
    start = [torch.randn(s, dtype=torch.float64, generator=gen) for s in SHAPES]
    theirs = [t.clone().requires_grad_() for t in start]
    ours = [mg.Tensor(t.clone(), requires_grad=True) for t in start]
    opt_theirs, opt_ours = theirs_cls(theirs, **kwargs), ours_cls(ours, **kwargs)
    for step in range(STEPS):
        if lrs is not None:
            opt_ours.lr = opt_theirs.param_groups[0]["lr"] = lrs[step]
        for i, (p_theirs, p_ours) in enumerate(zip(theirs, ours)):
            if skip and (step, i) in skip:
                p_theirs.grad = p_ours.grad = None
                continue
            g = torch.randn(p_theirs.shape, dtype=torch.float64, generator=gen)
            p_theirs.grad, p_ours.grad = g.clone(), mg.Tensor(g.clone())
        opt_theirs.step()
        opt_ours.step()
        for i, (p_theirs, p_ours) in enumerate(zip(theirs, ours)):
            torch.testing.assert_close(
                p_ours._data,
                p_theirs.detach(),
                rtol=RTOL,
                atol=ATOL,
                msg=lambda m, i=i, step=step: f"parameter {i} after step {step + 1}: {m}",
            )
    return ours


lrs = st.floats(1e-4, 1.0)
decays = st.sampled_from([0.0, 1e-2, 0.5])


@given(
    lr=lrs,
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    dampening=st.sampled_from([0.0, 0.1, 0.5]),
    weight_decay=decays,
    nesterov=st.booleans(),
    seed=st.integers(0, 2**16),
)
@example(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.01, nesterov=True, seed=0)
@example(lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.0, nesterov=False, seed=0)
def test_sgd_matches_torch_step_by_step(lr, momentum, dampening, weight_decay, nesterov, seed):
    if nesterov and (momentum == 0 or dampening != 0):
        nesterov = False  # torch refuses this combination (tested below)
    kwargs = dict(
        lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov
    )
    run_side_by_side(SGD, torch.optim.SGD, kwargs, seed)


@given(
    lr=lrs,
    beta1=st.sampled_from([0.0, 0.5, 0.9]),
    beta2=st.sampled_from([0.9, 0.99, 0.999]),
    eps=st.sampled_from([1e-8, 1e-3]),
    weight_decay=decays,
    seed=st.integers(0, 2**16),
)
@example(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, seed=0)  # the defaults
def test_adam_matches_torch_step_by_step(lr, beta1, beta2, eps, weight_decay, seed):
    kwargs = dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
    run_side_by_side(Adam, torch.optim.Adam, kwargs, seed)


@pytest.mark.parametrize(
    "ours, theirs, kwargs",
    [
        (SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.1)),
        (Adam, torch.optim.Adam, dict(lr=0.1, weight_decay=0.1)),
    ],
)
def test_parameters_without_a_gradient_are_skipped_and_keep_their_state(ours, theirs, kwargs):
    # parameter 1 has no gradient at steps 0 and 2: no move, no momentum or Adam step counted
    run_side_by_side(ours, theirs, kwargs, seed=1, skip={(0, 1), (2, 1), (3, 0)})


@pytest.mark.parametrize("ours, theirs", [(SGD, torch.optim.SGD), (Adam, torch.optim.Adam)])
def test_lr_changed_between_steps_is_used(ours, theirs):
    run_side_by_side(ours, theirs, dict(lr=0.1), seed=2, lrs=[1e-3, 1e-2, 0.1, 1.0, 0.3])


def test_plain_sgd_is_p_minus_lr_times_grad():
    p = mg.tensor([1.0, -2.0], requires_grad=True)
    p.grad = mg.tensor([0.5, 4.0])
    SGD([p], lr=0.1).step()
    assert p.tolist() == pytest.approx([0.95, -2.4], abs=1e-7)


def test_step_updates_in_place_without_building_a_graph(device):
    p = mg.randn(3, device=device, requires_grad=True)
    storage = p._data.data_ptr()
    p.grad = mg.ones(3, device=device)
    for opt in (SGD([p], lr=0.1, momentum=0.9), Adam([p])):
        opt.step()
        assert p.is_leaf and p.requires_grad and p._data.data_ptr() == storage
        assert mg.is_grad_enabled()  # step's no_grad ends with it


def test_zero_grad_sets_to_none_or_fills_zeros():
    p = mg.randn(3, requires_grad=True)
    p.grad = mg.ones(3)
    opt = SGD([p], lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert p.grad.tolist() == [0.0, 0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_a_model_learns_a_linear_map():
    mg.manual_seed(0)
    x = mg.randn(64, 3)
    y = x @ mg.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    for make_opt in (lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.05)):
        model = nn.Linear(3, 1, device=x.device)
        opt = make_opt(model.parameters())
        for _ in range(200):
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
        assert loss.item() < 1e-4


def test_optimizer_errors_teach():
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="parameter 0 is a Tensor that does not require grad"):
        SGD([mg.zeros(2)], lr=0.1)
    p = mg.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match=r"parameter 1 is not a leaf \(it was made by Mul\)"):
        Adam([p, p * 2])
    with pytest.raises(ValueError, match="lr must be >= 0"):
        SGD([p], lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum needs momentum > 0"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"betas\[1\] must be in \[0, 1\)"):
        Adam([p], betas=(0.9, 1.0))
    with pytest.raises(NotImplementedError):
        p.grad = mg.zeros(2)
        Optimizer([p], lr=0.1).step()
