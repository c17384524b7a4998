"""fastbook chapter 4, "Under the Hood: Training a Digit Classifier", on minigrad.

The chapter's own code, in the chapter's order, from the images on disk to a trained linear
model: fours against eights here (the chapter uses threes and sevens). Each step is the
chapter's; the comments say what it does. Run it:

    python examples/two_digits.py              # 20 epochs, about 0.99 validation accuracy
    python examples/two_digits.py --epochs 5 --seed 1

The data: fast.ai's MNIST PNG tree, found through $MINIGRAD_DATA (or --data), see
minigrad/data/mnist/. examples/digits.py trains the same model with minigrad.nn and a Learner.
"""

from __future__ import annotations

import argparse
import time

from PIL import Image

# `as torch`, so that each line below reads exactly as in the book: the chapter's code runs
# unchanged on minigrad. The real torch is not imported here; every `torch.` is minigrad.
import minigrad as torch
from minigrad import tensor
from minigrad.data import DataLoader, SubsetRandomSampler, mnist_png_path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", help="folder with MNIST (default: $MINIGRAD_DATA)")
    return parser.parse_args()


args = parse_args()
torch.manual_seed(args.seed)

# ---- the data: every training image of a 4 and of an 8, as tensors -------------------------

path = mnist_png_path(args.data)
fours = sorted((path / "training" / "4").glob("*.png"))
eights = sorted((path / "training" / "8").glob("*.png"))

# A PIL image becomes a rank-2 tensor of pixels, 0 (white) to 255 (black).
four_tensors = [tensor(Image.open(o)) for o in fours]
eight_tensors = [tensor(Image.open(o)) for o in eights]

# Stack them into one rank-3 tensor (image, row, column), as floats between 0 and 1.
stacked_fours = torch.stack(four_tensors).float() / 255
stacked_eights = torch.stack(eight_tensors).float() / 255
print(f"{len(fours)} fours and {len(eights)} eights, stacked: {tuple(stacked_fours.shape)}")

# One row of 28*28 = 784 pixels per image. The label: 1 for a four, 0 for an eight.
train_x = torch.cat([stacked_fours, stacked_eights]).view(-1, 28 * 28)
train_y = tensor([1] * len(fours) + [0] * len(eights)).unsqueeze(1)

# A dataset is a list of (x, y) pairs.
dset = list(zip(train_x, train_y))

# The chapter validates on MNIST's separate folder; here, 20% of the training images, chosen
# at random, are kept aside: the model never trains on them, so they measure how it does on
# images it has never seen.
indices = torch.randperm(len(dset))
n_valid = len(dset) // 5
valid_indices, train_indices = indices[:n_valid], indices[n_valid:]
valid_x, valid_y = train_x[valid_indices], train_y[valid_indices]

# ---- the model: one weight per pixel and a bias ---------------------------------------------


def init_params(size, std=1.0):
    return (torch.randn(size) * std).requires_grad_()


# The chapter draws the weights with std 1. Then x @ weights (784 pixels, about 100 of them
# inked) has a spread of about 10: the sigmoid in the loss starts flat (saturated) for most
# images, its gradient is near 0, and some seeds never recover (0.56 accuracy with seed 1, in
# plain PyTorch too). Weights ten times smaller start on the sigmoid's slope.
weights = init_params((28 * 28, 1), std=0.1)
bias = init_params(1, std=0.1)


def linear1(xb):
    return xb @ weights + bias


# ---- the loss: how far each prediction is from its target, smoothly -------------------------


def mnist_loss(predictions, targets):
    # sigmoid squeezes any prediction between 0 and 1; the loss is then the distance from the
    # target (1 - p for a four, p for an eight), so a small change in a weight changes it a little
    predictions = predictions.sigmoid()
    return torch.where(targets == 1, 1 - predictions, predictions).mean()


# ---- stochastic gradient descent, one mini-batch at a time ----------------------------------

dl = DataLoader(dset, batch_size=256, sampler=SubsetRandomSampler(train_indices))
valid_dl = DataLoader(dset, batch_size=256, sampler=SubsetRandomSampler(valid_indices))


def calc_grad(xb, yb, model):
    preds = model(xb)
    loss = mnist_loss(preds, yb)
    loss.backward()  # d(loss)/d(parameter) into each parameter's .grad


def train_epoch(model, lr, params):
    for xb, yb in dl:
        calc_grad(xb, yb, model)
        for p in params:
            p.data -= p.grad * lr  # step downhill, outside the graph
            p.grad.zero_()  # gradients add up: clear them for the next batch


# ---- the metric: what we care about, for people -----------------------------------------------


def batch_accuracy(xb, yb):
    preds = xb.sigmoid()
    correct = (preds > 0.5) == yb
    return correct.float().mean()


def validate_epoch(model):
    accs = [batch_accuracy(model(xb), yb) for xb, yb in valid_dl]
    return round(torch.stack(accs).mean().item(), 4)


# ---- train ----------------------------------------------------------------------------------

lr = 1.0
params = weights, bias
print(f"before training: accuracy {validate_epoch(linear1)}")
start = time.perf_counter()
for epoch in range(args.epochs):
    train_epoch(linear1, lr, params)
    print(f"epoch {epoch:2d}: accuracy {validate_epoch(linear1)}")
epoch_s = (time.perf_counter() - start) / max(args.epochs, 1)

# validate_epoch averages the batches' accuracies, and the last batch is smaller, so it is off
# by a little (and depends on the shuffle). The final figure: every validation image at once.
with torch.no_grad():
    valid_acc = batch_accuracy(linear1(valid_x), valid_y).item()
print(
    f"result: digits=4,8 model=linear epochs={args.epochs} valid_acc={valid_acc:.4f}"
    f" epoch_s={epoch_s:.3f} device={weights.device}"
)
