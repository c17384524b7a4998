"""fastbook chapter 4 ("MNIST basics") runs with `import minigrad as torch`.

`chapter4` below is the chapter's code, kept as written there, with the module passed in as
`torch`; synthetic 28x28 "threes" and "sevens" (uint8 arrays, as PIL would give) stand in for
MNIST. It must learn, and give the same numbers as the same code on real torch.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
import torch as real_torch

import minigrad

N_TRAIN, N_VALID, EPOCHS = 200, 100, 8  # per class


def synthetic_digits(n: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Noisy uint8 images: "threes" a little brighter on the left half, "sevens" on the right.
    Linearly separable in aggregate, but not from any single pixel."""
    rng = np.random.default_rng(seed)
    left = np.zeros((28, 28))
    left[:, :14] = 1.0

    def images(pattern: np.ndarray) -> list[np.ndarray]:
        noise = rng.uniform(0, 155, size=(n, 28, 28))
        return list((noise + 100 * pattern).astype(np.uint8))

    return images(left), images(1.0 - left)


def data_loader(torch: ModuleType, dset: list, batch_size: int) -> list:
    """fastai's DataLoader(dset, batch_size) without shuffling: (stacked xs, stacked ys)."""
    batches = []
    for start in range(0, len(dset), batch_size):
        xs, ys = zip(*dset[start : start + batch_size])
        batches.append((torch.stack(list(xs)), torch.stack(list(ys))))
    return batches


def chapter4(torch: ModuleType, train: tuple, valid: tuple) -> dict:
    """fastbook chapter 4, from the stacked tensors to `train_epoch` and `validate_epoch`."""
    torch.manual_seed(42)
    threes, sevens = train
    valid_threes, valid_sevens = valid

    three_tensors = [torch.tensor(o) for o in threes]
    seven_tensors = [torch.tensor(o) for o in sevens]
    stacked_threes = torch.stack(three_tensors).float() / 255
    stacked_sevens = torch.stack(seven_tensors).float() / 255
    valid_3_tens = torch.stack([torch.tensor(o) for o in valid_threes]).float() / 255
    valid_7_tens = torch.stack([torch.tensor(o) for o in valid_sevens]).float() / 255

    train_x = torch.cat([stacked_threes, stacked_sevens]).view(-1, 28 * 28)
    train_y = torch.tensor([1] * len(threes) + [0] * len(sevens)).unsqueeze(1)
    dset = list(zip(train_x, train_y))
    valid_x = torch.cat([valid_3_tens, valid_7_tens]).view(-1, 28 * 28)
    valid_y = torch.tensor([1] * len(valid_3_tens) + [0] * len(valid_7_tens)).unsqueeze(1)
    valid_dset = list(zip(valid_x, valid_y))

    def init_params(size, std=1.0):
        return (torch.randn(size) * std).requires_grad_()

    weights = init_params((28 * 28, 1))
    bias = init_params(1)

    def linear1(xb):
        return xb @ weights + bias

    with torch.no_grad():
        weights[0] *= 1.0001

    def mnist_loss(predictions, targets):
        predictions = predictions.sigmoid()
        return torch.where(targets == 1, 1 - predictions, predictions).mean()

    dl = data_loader(torch, dset, batch_size=256)
    valid_dl = data_loader(torch, valid_dset, batch_size=256)

    def calc_grad(xb, yb, model):
        preds = model(xb)
        loss = mnist_loss(preds, yb)
        loss.backward()

    def train_epoch(model, lr, params):
        for xb, yb in dl:
            calc_grad(xb, yb, model)
            for p in params:
                p.data -= p.grad * lr
                p.grad.zero_()

    def batch_accuracy(xb, yb):
        preds = xb.sigmoid()
        correct = (preds > 0.5) == yb
        return correct.float().mean()

    def validate_epoch(model):
        accs = [batch_accuracy(model(xb), yb) for xb, yb in valid_dl]
        return round(torch.stack(accs).mean().item(), 4)

    def train_loss():
        with torch.no_grad():
            return mnist_loss(linear1(train_x), train_y).item()

    lr = 1.0
    params = weights, bias
    accuracies, losses = [validate_epoch(linear1)], [train_loss()]
    for _ in range(EPOCHS):
        train_epoch(linear1, lr, params)
        accuracies.append(validate_epoch(linear1))
        losses.append(train_loss())
    return {
        "accuracies": accuracies,
        "losses": losses,
        "loss_text": f"{losses[-1]:.4f}",
        "weights": weights.tolist(),
        "bias": bias.tolist(),
    }


@pytest.fixture(scope="module")
def digits() -> tuple[tuple, tuple]:
    return synthetic_digits(N_TRAIN, seed=0), synthetic_digits(N_VALID, seed=1)


@pytest.fixture
def default_device_reset():
    yield minigrad.set_default_device
    minigrad.set_default_device(None)


def test_chapter4_learns_with_minigrad(digits, device, default_device_reset):
    default_device_reset(device)
    result = chapter4(minigrad, *digits)
    accuracies, losses = result["accuracies"], result["losses"]
    # lr=1 makes the path bumpy (as in the book), so compare the start with the end
    assert losses[-1] < 0.1 * losses[0], losses
    assert max(losses[-3:]) < min(losses[:2]), losses
    assert accuracies[0] < 0.7 and accuracies[-1] >= 0.95, accuracies


def test_chapter4_gives_torchs_numbers(digits, default_device_reset):
    default_device_reset("cpu")  # real torch draws its random numbers on the CPU too
    ours = chapter4(minigrad, *digits)
    theirs = chapter4(real_torch, *digits)
    assert ours["accuracies"] == theirs["accuracies"]
    assert ours["loss_text"] == theirs["loss_text"]
    # float32 over several epochs: the two differ by a few units in the last place
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-5)
    np.testing.assert_allclose(ours["weights"], theirs["weights"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours["bias"], theirs["bias"], rtol=1e-5, atol=1e-6)
