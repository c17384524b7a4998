"""ctc_loss and CTCLoss against torch's: losses, and the gradients of the logits (log_probs =
log_softmax(logits), as users write it) in float64, over batches, lengths, labels (repeats
included), both layouts of the targets, every reduction, zero_infinity and blank that
Hypothesis draws. Targets too long for their frames (an infinite loss) are among them. Bad
lengths and shapes refused as torch refuses them, in minigrad's words. For a leaf log_probs,
where torch's kernel returns the logits' gradient (exp(log_probs) - q) rather than the loss's
derivative (-q), the gradient is checked against central differences instead."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.testing import gradcheck
from minigrad.testing import strategies as mst

TF = torch.nn.functional
TOL = dict(rtol=1e-10, atol=1e-12)


def frames_needed(labels: list[int]) -> int:
    """The fewest frames that spell the labels: one each, and a blank between equal ones."""
    return len(labels) + sum(a == b for a, b in zip(labels, labels[1:]))


@st.composite
def ctc_cases(draw):
    """Logits (T, N, C) (or (T, C)), targets in either layout, lengths as a tuple, a list or a
    tensor, and the options. Target lengths run past what the frames allow (an infinite
    loss); labels come from few classes, so repeats are common."""
    unbatched = draw(st.sampled_from([False, False, False, True]))  # log_probs (T, C)
    steps, classes = draw(st.integers(1, 6)), draw(st.integers(2, 5))
    batch = 1 if unbatched else draw(st.integers(1, 3))
    blank = draw(st.sampled_from([0, classes - 1]) | st.integers(0, classes - 1))
    letters = [c for c in range(classes) if c != blank]
    input_lengths = [draw(st.integers(0, steps) | st.just(steps)) for _ in range(batch)]
    targets = [
        draw(st.lists(st.sampled_from(letters), max_size=min(steps + 1, 4))) for _ in range(batch)
    ]
    target_lengths = [len(t) for t in targets]
    layout = draw(st.sampled_from(["padded", "concatenated"]))
    if layout == "padded":  # padding of any class (or -1): only the first target_lengths count
        width = max(target_lengths) + draw(st.integers(0, 2))
        filler = st.integers(-1, classes - 1)
        rows = [t + [draw(filler) for _ in range(width - len(t))] for t in targets]
        target_array = np.array(rows, dtype=np.int64).reshape(batch, width)
    else:
        target_array = np.array([c for t in targets for c in t], dtype=np.int64)
    logits = draw(
        mst.float_arrays((steps, classes) if unbatched else (steps, batch, classes), -3, 3)
    )
    form = draw(st.sampled_from(["tuple", "list", "int64 tensor", "int32 tensor"]))
    return dict(
        logits=logits,
        targets=target_array,
        lengths=(input_lengths, target_lengths, form),
        impossible=[frames_needed(t) > n for t, n in zip(targets, input_lengths)],
        blank=blank,
        reduction=draw(st.sampled_from(["mean", "sum", "none"])),
        zero_infinity=draw(st.booleans()),
        leaf=draw(st.booleans()),  # log_probs a leaf rather than log_softmax of the logits
    )


def as_lengths(lengths: list[int], form: str):
    if form == "tuple":
        return tuple(lengths)
    if form == "list":
        return list(lengths)
    return torch.tensor(lengths, dtype=torch.int64 if form == "int64 tensor" else torch.int32)


def both_losses(case):
    """The loss, and the logits' gradient for a random upstream, from minigrad and torch."""
    input_lengths, target_lengths, form = case["lengths"]
    options = dict(blank=case["blank"], reduction=case["reduction"])
    options["zero_infinity"] = case["zero_infinity"]
    results = []
    for lib, functional in ((mg, F), (torch, TF)):
        logits = lib.tensor(case["logits"], requires_grad=True)
        log_probs = logits if case["leaf"] else logits.log_softmax(-1)
        targets = lib.tensor(case["targets"])
        lengths = (as_lengths(input_lengths, form), as_lengths(target_lengths, form))
        loss = functional.ctc_loss(log_probs, targets, *lengths, **options)
        upstream = np.random.default_rng(0).normal(size=tuple(loss.shape))
        loss.backward(lib.tensor(upstream))
        results.append((loss.detach(), logits.grad))
    (ours, our_grad), (theirs, their_grad) = results
    return ours._data, our_grad._data, theirs, their_grad


@given(ctc_cases())
def test_ctc_loss_and_its_gradient_are_torchs(case):
    ours, our_grad, theirs, their_grad = both_losses(case)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype == torch.float64
    torch.testing.assert_close(ours, theirs, **TOL)  # inf where torch's is inf
    impossible = torch.tensor(case["impossible"])
    if case["reduction"] == "none" and not case["zero_infinity"]:  # inf just where impossible
        assert torch.equal(ours.isinf().reshape(-1), impossible)
    if case["leaf"]:  # (torch's is the logits' gradient: see the next test)
        assert our_grad.isfinite().all()
        return
    if case["zero_infinity"] or not impossible.any():
        torch.testing.assert_close(our_grad, their_grad, **TOL)
        assert our_grad.isfinite().all()  # no NaN from the paths that do not exist
        return
    # An infinite loss without zero_infinity: torch's gradient is NaN on that sequence's frames
    # (it divides by a probability of 0), minigrad's finite; every other sequence's agrees.
    if our_grad.ndim == 2:  # one sequence: (T, C) as (T, 1, C)
        our_grad, their_grad = our_grad.unsqueeze(1), their_grad.unsqueeze(1)
    finite = their_grad.isfinite().all(2).all(0)  # (N,): the sequences torch's is finite for
    assert bool((finite | impossible).all())  # torch's NaN comes from the impossible only
    assert our_grad.isfinite().all()
    torch.testing.assert_close(our_grad[:, finite], their_grad[:, finite], **TOL)
    zeros = torch.zeros_like(our_grad[:, ~finite])  # no path: nothing flows back
    torch.testing.assert_close(our_grad[:, ~finite], zeros, **TOL)


@settings(max_examples=20)  # (each example differentiates numerically: 2 losses per entry)
@given(ctc_cases())
def test_ctc_loss_gradient_for_a_leaf_log_probs_is_the_losss_derivative(case):
    """The gradient is d loss / d log_probs, -q, by central differences. An infinite loss has
    none: those cases run with zero_infinity=True (a loss of 0, a gradient of 0)."""
    input_lengths, target_lengths, form = case["lengths"]
    options = dict(blank=case["blank"], reduction=case["reduction"])
    options["zero_infinity"] = case["zero_infinity"] or any(case["impossible"])
    lengths = (as_lengths(input_lengths, form), as_lengths(target_lengths, form))
    targets = mg.tensor(case["targets"])
    gradcheck(
        lambda log_probs: F.ctc_loss(log_probs, targets, *lengths, **options),
        case["logits"],
        name="ctc_loss",
    )


def test_impossible_targets_cost_inf_and_zero_infinity_makes_them_free():
    """Targets (1, 1, 2) need 4 frames (a blank between the 1s), so 3 cannot spell them; the
    second sequence can be spelled, and its loss and gradient stay torch's."""
    logits = np.random.default_rng(1).normal(size=(3, 2, 4))
    case = dict(
        logits=logits,
        targets=np.array([[1, 1, 2], [1, 2, 3]]),
        lengths=([3, 3], [3, 2], "tuple"),
        impossible=[True, False],
        blank=0,
        reduction="none",
        leaf=False,
    )
    for zero_infinity in (False, True):
        case["zero_infinity"] = zero_infinity
        ours, our_grad, theirs, their_grad = both_losses(case)
        torch.testing.assert_close(ours, theirs, **TOL)
        assert ours[0] == (0.0 if zero_infinity else float("inf")) and ours[1].isfinite()
        torch.testing.assert_close(our_grad[:, 1], their_grad[:, 1], **TOL)
        torch.testing.assert_close(our_grad[:, 0], torch.zeros(3, 4, dtype=torch.float64), **TOL)


def test_ctc_loss_module_is_torchs():
    log_probs = torch.randn(5, 2, 4, generator=torch.Generator().manual_seed(2)).log_softmax(2)
    targets, lengths = torch.tensor([[3, 3, 1], [2, 1, 0]]), ((5, 4), (3, 2))
    for options in (dict(), dict(blank=3, reduction="sum"), dict(reduction="none")):
        ours = nn.CTCLoss(**options)(mg.tensor(log_probs), mg.tensor(targets), *lengths)
        theirs = torch.nn.CTCLoss(**options)(log_probs, targets, *lengths)
        assert ours.dtype == theirs.dtype == torch.float32
        torch.testing.assert_close(ours._data, theirs)
    module = nn.CTCLoss(blank=2, zero_infinity=True)
    assert (module.blank, module.reduction, module.zero_infinity) == (2, "mean", True)


LOG_PROBS = torch.zeros(3, 2, 4, dtype=torch.float64)
TARGETS = torch.tensor([[1, 2], [3, 1]])
BAD_CALLS = {
    "log_probs 1-d": ((LOG_PROBS[0, 0], TARGETS, (3, 3), (2, 2)), {}, RuntimeError, "(T, N, C)"),
    "log_probs 4-d": ((LOG_PROBS[None], TARGETS, (3, 3), (2, 2)), {}, RuntimeError, "(T, N, C)"),
    "too few input lengths": ((LOG_PROBS, TARGETS, (3,), (2, 2)), {}, RuntimeError, "one length"),
    "too many target lengths": (
        (LOG_PROBS, TARGETS, (3, 3), (2, 2, 2)),
        {},
        RuntimeError,
        "target_lengths holds 3 lengths",
    ),
    "input length over T": ((LOG_PROBS, TARGETS, (4, 3), (2, 2)), {}, RuntimeError, "3 frames"),
    "negative input length": ((LOG_PROBS, TARGETS, (-1, 3), (2, 2)), {}, RuntimeError, ">= 0"),
    "negative target length": ((LOG_PROBS, TARGETS, (3, 3), (2, -1)), {}, RuntimeError, ">= 0"),
    "target length over S": ((LOG_PROBS, TARGETS, (3, 3), (3, 2)), {}, RuntimeError, "columns"),
    "padded targets, too few rows": (
        (LOG_PROBS, TARGETS[:1], (3, 3), (2, 2)),
        {},
        RuntimeError,
        "one row per sequence",
    ),
    "concatenated, wrong count": (
        (LOG_PROBS, TARGETS.flatten(), (3, 3), (2, 1)),
        {},
        RuntimeError,
        "sum\\(target_lengths\\) = 3 labels, got 4",
    ),
    "blank past the classes": (
        (LOG_PROBS, TARGETS, (3, 3), (2, 2)),
        dict(blank=4),
        RuntimeError,
        "blank=4 names no class",
    ),
    "negative blank": ((LOG_PROBS, TARGETS, (3, 3), (2, 2)), dict(blank=-1), RuntimeError, "blank"),
    "int lengths": ((LOG_PROBS[:, 0], TARGETS[0], 3, 2), {}, TypeError, "a tuple or a list"),
    "bad reduction": ((LOG_PROBS, TARGETS, (3, 3), (2, 2)), dict(reduction="x"), ValueError, "x"),
}


@pytest.mark.parametrize("what", BAD_CALLS)
def test_bad_arguments_are_refused_as_torch_refuses_them(what):
    args, options, error, message = BAD_CALLS[what]
    with pytest.raises(error):
        TF.ctc_loss(*args, **options)
    ours = [mg.tensor(a) if isinstance(a, torch.Tensor) else a for a in args]
    with pytest.raises(error, match=message):
        F.ctc_loss(*ours, **options)


def test_labels_that_name_no_class_are_refused():
    """torch's CPU kernel reads such labels out of bounds, without a word; minigrad refuses."""
    for label in (4, -1):
        targets = mg.tensor([[1, label], [3, 1]])
        with pytest.raises(RuntimeError, match=f"targets hold {label}, which names no class"):
            F.ctc_loss(mg.tensor(LOG_PROBS), targets, (3, 3), (2, 2))
