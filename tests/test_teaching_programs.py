"""Teaching programs written for PyTorch run on minigrad with only the import swapped.

Each program below is plain PyTorch code in the style of PyTorch's "Learning PyTorch with
Examples" (a polynomial fitted by hand-written gradient steps, by a custom autograd Function, by
nn layers, by an optimizer, as a Module of its own, with a changing depth), of "Learn the
Basics" (tensors, then autograd), of the torch half of
micrograd's engine test, of a small classifier with a learning-rate schedule, of "What is
torch.nn really?", of a small character-level transformer (Karpathy's "Let's build GPT") and of
a GPT in nanoGPT's style, of makemore (a bigram model counted, then trained; a WaveNet-like
stack of hand-written layers; backpropagation by hand, every gradient of an MLP with batch norm
written out and checked against autograd's), of d2l.ai's chapters written from
scratch (regressions, dropout, weight decay, batch norm, an RNN, attention's masked softmax);
and programs that differentiate gradients (create_graph): a WGAN-GP gradient penalty, a
physics-informed network, MAML's inner step, custom Functions checked with gradgradcheck,
Newton's method with a Hessian; and torch.func as PyTorch's tutorials on it use it (per-sample
gradients, Jacobians and Hessians batched by vmap, an ensemble in one call).
Each runs twice: as written, with `import torch`, and with that one line made
`import minigrad as torch`.
Every number either run prints must agree: equal text between the numbers, integers equal,
floats within 1e-5 relative (the issue's bar; most are bit-equal).
"""

from __future__ import annotations

import contextlib
import io
import re

import pytest
import torch
import torch.utils._device

import minigrad

PROGRAMS: dict[str, str] = {}

# Hand-written gradient descent on a cubic, the device chosen as the tutorials now do.
PROGRAMS["polynomial by hand"] = """
import math
import torch

dtype = torch.float
device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
print(f"running on {device}")
torch.set_default_device(device)
torch.manual_seed(3)

xs = torch.linspace(-2.0, 2.0, 1500, dtype=dtype)
target = torch.cos(xs) * 0.5

w0 = torch.randn((), dtype=dtype, requires_grad=True)
w1 = torch.randn((), dtype=dtype, requires_grad=True)
w2 = torch.randn((), dtype=dtype, requires_grad=True)
w3 = torch.randn((), dtype=dtype, requires_grad=True)

step_size = 2e-5
for step in range(1200):
    guess = w0 + w1 * xs + w2 * xs ** 2 + w3 * xs ** 3
    loss = (guess - target).pow(2).sum()
    if step % 200 == 199:
        print(step, loss.item())
    loss.backward()
    with torch.no_grad():
        w0 -= step_size * w0.grad
        w1 -= step_size * w1.grad
        w2 -= step_size * w2.grad
        w3 -= step_size * w3.grad
        w0.grad = None
        w1.grad = None
        w2.grad = None
        w3.grad = None
print(f"fit: {w0.item()} + {w1.item()} x + {w2.item()} x^2 + {w3.item()} x^3")
"""

# A custom autograd Function: the degree-3 Hermite polynomial, with its derivative by hand.
PROGRAMS["custom Function"] = """
import torch


class Hermite3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t):
        ctx.save_for_backward(t)
        return 8 * t ** 3 - 12 * t

    @staticmethod
    def backward(ctx, grad_out):
        t, = ctx.saved_tensors
        return grad_out * (24 * t ** 2 - 12)


dtype = torch.float
device = torch.device("cpu")
xs = torch.linspace(-1.5, 1.5, 1000, device=device, dtype=dtype)
target = torch.sin(2 * xs)

scale = torch.full((), 0.1, device=device, dtype=dtype, requires_grad=True)
shift = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
stretch = torch.full((), 0.4, device=device, dtype=dtype, requires_grad=True)
offset = torch.full((), -0.05, device=device, dtype=dtype, requires_grad=True)

rate = 3e-6
for step in range(1500):
    H3 = Hermite3.apply
    guess = offset + scale * H3(shift + stretch * xs)
    loss = (guess - target).pow(2).sum()
    if step % 250 == 249:
        print(step, loss.item())
    loss.backward()
    with torch.no_grad():
        for w in (scale, shift, stretch, offset):
            w -= rate * w.grad
            w.grad = None
print(f"{offset.item()} + {scale.item()} * H3({shift.item()} + {stretch.item()} x)")
"""

# The torch half of a micrograd-style engine check: scalars made with torch.Tensor([...]),
# double precision, requires_grad set by assignment, then values and gradients printed.
PROGRAMS["micrograd engine check"] = """
import torch

p = torch.Tensor([-3.0]).double()
q = torch.Tensor([1.5]).double()
p.requires_grad = True
q.requires_grad = True
r = p * q + q ** 3
s = (p - q).relu() + (q - p).relu() * 2
r = r + r * 3 + s
s = s + 1 + s / 2 + (-p)
u = (r - s) ** 2
v = u / 4.0 + 7.0 / u
v = v + (p * 0.5).tanh() + (q / 3).exp()
v.backward()
print(v.data.item(), p.grad.item(), q.grad.item())

for start in [-1.0, 0.25, 2.0]:
    t = torch.Tensor([start]).double()
    t.requires_grad = True
    out = torch.Tensor.tanh(t * 2) + torch.Tensor.exp(t) * 0.5
    out.backward()
    print(start, out.data.item(), t.grad.item())
"""

# A cubic as an nn.Sequential, with a summed MSELoss and the update written by hand.
PROGRAMS["polynomial with nn"] = """
import math
import torch

torch.manual_seed(7)
xs = torch.linspace(-math.pi / 2, math.pi / 2, 1200)
ys = torch.sin(xs) - 0.3 * xs
powers = torch.tensor([1, 2, 3])
features = xs.unsqueeze(-1).pow(powers)

model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
loss_fn = torch.nn.MSELoss(reduction="sum")
rate = 2e-5
for step in range(800):
    loss = loss_fn(model(features), ys)
    if step % 200 == 199:
        print(step, loss.item())
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= rate * param.grad
layer = model[0]
print(f"{layer.bias.item()} + {layer.weight[:, 0].item()} x + {layer.weight[:, 2].item()} x^3")
"""

# The same cubic trained by an optimizer (RMSprop), as the optim tutorials do.
PROGRAMS["polynomial with optim"] = """
import math
import torch

torch.manual_seed(11)
xs = torch.linspace(-2.0, 2.0, 1500)
ys = torch.tanh(xs) * 1.5
features = xs.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))

model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
loss_fn = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.RMSprop(model.parameters(), lr=2e-3)
for step in range(1000):
    loss = loss_fn(model(features), ys)
    if step % 250 == 249:
        print(step, loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print("weights", model[0].weight.tolist(), "bias", model[0].bias.item())
"""

# A Module subclass with scalar Parameters, trained by SGD.
PROGRAMS["custom Module"] = """
import math
import torch


class Cubic(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c0 = torch.nn.Parameter(torch.randn(()))
        self.c1 = torch.nn.Parameter(torch.randn(()))
        self.c2 = torch.nn.Parameter(torch.randn(()))
        self.c3 = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        return self.c0 + self.c1 * x + self.c2 * x ** 2 + self.c3 * x ** 3

    def describe(self):
        c0, c1, c2, c3 = (c.item() for c in (self.c0, self.c1, self.c2, self.c3))
        return f"{c0} + {c1} x + {c2} x^2 + {c3} x^3"


torch.manual_seed(5)
xs = torch.linspace(-math.pi, math.pi, 1000)
ys = torch.cos(xs)
model = Cubic()
criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=5e-7)
for step in range(1000):
    loss = criterion(model(xs), ys)
    if step % 250 == 249:
        print(step, loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print("fitted:", model.describe())
print([name for name, _ in model.named_parameters()])
"""

# A network whose depth changes from one forward pass to the next, reusing its parameters,
# trained by SGD with momentum.
PROGRAMS["dynamic depth"] = """
import math
import random
import torch


class VariableDepth(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.randn(()))
        self.b = torch.nn.Parameter(torch.randn(()))
        self.c = torch.nn.Parameter(torch.randn(()))
        self.d = torch.nn.Parameter(torch.randn(()))
        self.e = torch.nn.Parameter(torch.randn(()))

    def forward(self, x):
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        for power in range(4, random.randint(4, 6)):
            y = y + self.e * x ** power
        return y


random.seed(2)
torch.manual_seed(2)
xs = torch.linspace(-1.0, 1.0, 800)
ys = torch.exp(xs) - 1
model = VariableDepth()
criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-5, momentum=0.9)
for step in range(1000):
    loss = criterion(model(xs), ys)
    if step % 250 == 249:
        print(step, loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print([round(p.item(), 4) for p in model.parameters()])
"""

# A small classifier: CrossEntropyLoss, Adam, a OneCycleLR schedule, a state_dict round trip.
PROGRAMS["classifier with a schedule"] = """
import torch

nn, F = torch.nn, torch.nn.functional
torch.manual_seed(0)
x = torch.randn(240, 6)
labels = (x[:, 0] + 0.5 * x[:, 1] > 0).long() + (x[:, 2] > 1).long()
model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, total_steps=60)
loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
for step in range(60):
    batch = slice(step % 6 * 40, (step % 6 + 1) * 40)
    loss = loss_fn(model(x[batch]), labels[batch])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    schedule.step()
    if step % 15 == 14:
        print(step, loss.item(), schedule.get_last_lr()[0])
with torch.no_grad():
    probabilities = F.softmax(model(x), dim=1)
accuracy = (probabilities.argmax(dim=1) == labels).float().mean()
print("accuracy", accuracy.item())
state = model.state_dict()
fresh = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
fresh.load_state_dict(state)
print("same after reload:", torch.equal(fresh(x), model(x)), list(state))
"""

# A digit classifier in the style of PyTorch's MNIST example (pytorch/examples, mnist): two
# convolutions, max pooling, dropout, log_softmax with nll_loss, Adadelta under StepLR, and a
# test loop that sums the loss and counts pred.eq(target) (on made-up images of 4 classes).
PROGRAMS["MNIST example's style"] = """
import torch

nn, F = torch.nn, torch.nn.functional
DataLoader, TensorDataset = torch.utils.data.DataLoader, torch.utils.data.TensorDataset

torch.manual_seed(1)
templates = torch.zeros(4, 1, 12, 12)
templates[0, :, :6, :6] = 1.0
templates[1, :, :6, 6:] = 1.0
templates[2, :, 6:, :6] = 1.0
templates[3, :, 6:, 6:] = 1.0
labels = torch.randint(0, 4, (320,))
images = torch.rand(320, 1, 12, 12) * 0.8 + templates[labels] * 0.5
train = DataLoader(TensorDataset(images[:256], labels[:256]), batch_size=32, shuffle=True)
test = DataLoader(TensorDataset(images[256:], labels[256:]), batch_size=64)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, 1)
        self.conv2 = nn.Conv2d(4, 8, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(8 * 4 * 4, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(self.dropout1(x), 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def train_epoch(model, optimizer, epoch):
    model.train()
    for batch, (data, target) in enumerate(train):
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        if batch % 4 == 0:
            print(f"epoch {epoch} batch {batch} loss {loss.item():.6f}")


def evaluate(model):
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for data, target in test:
            output = model(data)
            total += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    print(f"test loss {total / len(test.dataset):.6f}, accuracy {correct}/{len(test.dataset)}")


model = Net()
optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
for epoch in range(1, 4):
    train_epoch(model, optimizer, epoch)
    evaluate(model)
    scheduler.step()
    print("lr", scheduler.get_last_lr()[0])
"""

# Tensors, then autograd, in the style of PyTorch's "Learn the Basics": tensors from lists and
# from numpy (sharing memory both ways), *_like constructors, indexing and assignment, cat, the
# three spellings of a product (@, .matmul, out=), in-place add_, and a first backward: the
# gradients of a linear layer under binary cross-entropy, grad_fn, no_grad, detach, and
# gradients that accumulate over calls until zeroed.
PROGRAMS["tensors and autograd basics"] = """
import numpy as np
import torch

data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
np_array = np.array(data)
x_np = torch.from_numpy(np_array)
x_ones = torch.ones_like(x_data)
print(f"Ones Tensor: \\n {x_ones} \\n")
torch.manual_seed(0)
x_rand = torch.rand_like(x_data, dtype=torch.float)
print(f"Random Tensor: \\n {x_rand} \\n")
shape = (2, 3,)
print(torch.rand(shape), torch.ones(shape), torch.zeros(shape))
tensor = torch.rand(3, 4)
print(f"Shape of tensor: {tensor.shape}")
print(f"Datatype of tensor: {tensor.dtype}")
print(f"Device tensor is stored on: {tensor.device}")
if torch.accelerator.is_available():
    tensor = tensor.to(torch.accelerator.current_accelerator())
tensor = torch.ones(4, 4)
print(f"First row: {tensor[0]}")
print(f"First column: {tensor[:, 0]}")
print(f"Last column: {tensor[..., -1]}")
tensor[:, 1] = 0
print(tensor)
t1 = torch.cat([tensor, tensor, tensor], dim=1)
print(t1)
y1 = tensor @ tensor.T
y2 = tensor.matmul(tensor.T)
y3 = torch.rand_like(y1)
torch.matmul(tensor, tensor.T, out=y3)
z1 = tensor * tensor
z2 = tensor.mul(tensor)
z3 = torch.rand_like(tensor)
torch.mul(tensor, tensor, out=z3)
print(y1, y2, y3, z1, z2, z3)
agg = tensor.sum()
agg_item = agg.item()
print(agg_item, type(agg_item))
print(f"{tensor} \\n")
tensor.add_(5)
print(tensor)
t = torch.ones(5)
print(f"t: {t}")
n = t.numpy()
print(f"n: {n}")
t.add_(1)
print(f"t: {t}")
print(f"n: {n}")
n = np.ones(5)
t = torch.from_numpy(n)
np.add(n, 1, out=n)
print(f"t: {t}")
print(f"n: {n}")

x = torch.ones(5)
y = torch.zeros(3)
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
print(f"Gradient function for z = {z.grad_fn}".split(" at 0x")[0])  # (an address)
print(f"Gradient function for loss = {loss.grad_fn}".split(" at 0x")[0])
loss.backward()
print(w.grad)
print(b.grad)
z = torch.matmul(x, w) + b
print(z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w) + b
print(z.requires_grad)
z = torch.matmul(x, w) + b
z_det = z.detach()
print(z_det.requires_grad)
inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\\nSecond call\\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\\nCall after zeroing gradients\\n{inp.grad}")
"""

# torch.nn built up step by step, in the style of PyTorch's "What is torch.nn really?": numpy
# arrays through map(torch.tensor, ...), logistic regression by hand (its own log_softmax, an
# nll that indexes with range(), a no_grad update), then F.cross_entropy, a Module, an optimizer,
# DataLoaders in a fit loop whose validation loss numpy weighs, and a CNN behind a generator
# that reshapes each batch, with a Lambda layer and adaptive average pooling (on made-up data).
PROGRAMS["torch.nn step by step"] = """
import math
import numpy as np
import torch

nn, F, optim = torch.nn, torch.nn.functional, torch.optim
TensorDataset, DataLoader = torch.utils.data.TensorDataset, torch.utils.data.DataLoader

rng = np.random.default_rng(0)
classes = rng.random((4, 64)).astype(np.float32)
y_all = rng.integers(0, 4, 600)
x_all = (classes[y_all] + 0.7 * rng.standard_normal((600, 64))).astype(np.float32)
splits = (x_all[:500], y_all[:500], x_all[500:], y_all[500:])
x_train, y_train, x_valid, y_valid = map(torch.tensor, splits)
n, c = x_train.shape
print(n, c, y_train.min().item(), y_train.max().item())

torch.manual_seed(0)
weights = torch.randn(64, 4) / math.sqrt(64)
weights.requires_grad_()
bias = torch.zeros(4, requires_grad=True)

def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)

def model(xb):
    return log_softmax(xb @ weights + bias)

def nll(input, target):
    return -input[range(target.shape[0]), target].mean()

def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()

loss_func = nll
bs, lr, epochs = 50, 0.5, 2
xb, yb = x_train[0:bs], y_train[0:bs]
print("before", loss_func(model(xb), yb).item(), accuracy(model(xb), yb).item())
for epoch in range(epochs):
    for i in range((n - 1) // bs + 1):
        start_i = i * bs
        xb, yb = x_train[start_i:start_i + bs], y_train[start_i:start_i + bs]
        loss = loss_func(model(xb), yb)
        loss.backward()
        with torch.no_grad():
            weights -= weights.grad * lr
            bias -= bias.grad * lr
            weights.grad.zero_()
            bias.grad.zero_()
print("by hand", loss_func(model(xb), yb).item(), accuracy(model(xb), yb).item())
loss_func = F.cross_entropy
print("cross_entropy agrees", loss_func(xb @ weights + bias, yb).item())


class Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(64, 4)

    def forward(self, xb):
        return self.lin(xb)


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)
    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()
    return loss.item(), len(xb)


def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_batch(model, loss_func, xb, yb, opt)
        model.eval()
        with torch.no_grad():
            losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
        print(epoch, val_loss)


def get_data(train_ds, valid_ds, bs):
    return (
        DataLoader(train_ds, batch_size=bs, shuffle=True),
        DataLoader(valid_ds, batch_size=bs * 2),
    )


train_dl, valid_dl = get_data(TensorDataset(x_train, y_train), TensorDataset(x_valid, y_valid), bs)
model = Logistic()
fit(2, model, loss_func, optim.SGD(model.parameters(), lr=lr), train_dl, valid_dl)


class Lambda(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def forward(self, x):
        return self.func(x)


def preprocess(x, y):
    return x.view(-1, 1, 8, 8), y


class WrappedDataLoader:
    def __init__(self, dl, func):
        self.dl = dl
        self.func = func

    def __len__(self):
        return len(self.dl)

    def __iter__(self):
        for b in self.dl:
            yield self.func(*b)


train_dl = WrappedDataLoader(train_dl, preprocess)
valid_dl = WrappedDataLoader(valid_dl, preprocess)
model = nn.Sequential(
    nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1),
    nn.ReLU(),
    nn.Conv2d(8, 8, kernel_size=3, stride=2, padding=1),
    nn.ReLU(),
    nn.Conv2d(8, 4, kernel_size=3, stride=2, padding=1),
    nn.ReLU(),
    nn.AdaptiveAvgPool2d(1),
    Lambda(lambda x: x.view(x.size(0), -1)),
)
opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
fit(2, model, loss_func, opt, train_dl, valid_dl)
pooled = F.avg_pool2d(x_valid.view(-1, 1, 8, 8), 4)
print("pooled", tuple(pooled.shape), pooled.sum().item(), len(train_dl))
"""

# A character-level transformer in the style of "Let's build GPT": token and position
# embeddings, causal self-attention over a tril mask, LayerNorm, GELU, dropout, AdamW, and
# sampling with multinomial (the same draws on both sides, dropout's masks included).
PROGRAMS["character-level transformer"] = """
import torch

nn, F = torch.nn, torch.nn.functional

torch.manual_seed(1337)
text = "the quick brown fox jumps over the lazy dog. " * 20 + "a stitch in time saves nine. " * 20
chars = sorted(set(text))
vocab_size = len(chars)
stoi = {ch: i for i, ch in enumerate(chars)}
itos = {i: ch for i, ch in enumerate(chars)}
encode = lambda s: [stoi[c] for c in s]
decode = lambda l: "".join(itos[i] for i in l)

data = torch.tensor(encode(text), dtype=torch.long)
n = int(0.9 * len(data))
train_data, val_data = data[:n], data[n:]
batch_size, block_size, n_embd, n_head, n_layer, dropout = 8, 8, 16, 2, 2, 0.1


def get_batch(split):
    source = train_data if split == "train" else val_data
    ix = torch.randint(len(source) - block_size, (batch_size,))
    x = torch.stack([source[i : i + block_size] for i in ix])
    y = torch.stack([source[i + 1 : i + block_size + 1] for i in ix])
    return x, y


class Head(nn.Module):
    def __init__(self, head_size):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, T, C = x.shape
        k, q = self.key(x), self.query(x)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        wei = self.dropout(F.softmax(wei, dim=-1))
        return wei @ self.value(x)


class MultiHeadAttention(nn.Module):
    def __init__(self, num_heads, head_size):
        super().__init__()
        self.heads = nn.ModuleList([Head(head_size) for _ in range(num_heads)])
        self.proj = nn.Linear(head_size * num_heads, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        out = torch.cat([h(x) for h in self.heads], dim=-1)
        return self.dropout(self.proj(out))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.sa = MultiHeadAttention(n_head, n_embd // n_head)
        self.ffwd = nn.Sequential(
            nn.Linear(n_embd, 4 * n_embd),
            nn.GELU(),
            nn.Linear(4 * n_embd, n_embd),
            nn.Dropout(dropout),
        )
        self.ln1, self.ln2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        return x + self.ffwd(self.ln2(x))


class TinyGPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block() for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        x = self.token_embedding_table(idx) + self.position_embedding_table(torch.arange(T))
        logits = self.lm_head(self.ln_f(self.blocks(x)))
        if targets is None:
            return logits, None
        B, T, C = logits.shape
        return logits, F.cross_entropy(logits.view(B * T, C), targets.view(B * T))

    def generate(self, idx, max_new_tokens):
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -block_size:])
            probs = F.softmax(logits[:, -1, :], dim=-1)
            idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
        return idx


@torch.no_grad()
def estimate_loss(model):
    out = {}
    model.eval()
    for split in ["train", "val"]:
        losses = torch.zeros(5)
        for k in range(5):
            X, Y = get_batch(split)
            _, loss = model(X, Y)
            losses[k] = loss.item()
        out[split] = losses.mean()
    model.train()
    return out


model = TinyGPT()
print(sum(p.numel() for p in model.parameters()), "parameters")
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
for step in range(31):
    if step % 10 == 0:
        losses = estimate_loss(model)
        print(f"step {step}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
    xb, yb = get_batch("train")
    logits, loss = model(xb, yb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
model.eval()
print(decode(model.generate(torch.zeros((1, 1), dtype=torch.long), max_new_tokens=30)[0].tolist()))
"""

# A GPT in the style of nanoGPT's model.py: heads split from one projection, weight tying,
# init through Module.apply, an nn.ModuleDict of layers, AdamW parameter groups, ignore_index,
# gradient clipping, and top-k sampling by boolean assignment.
PROGRAMS["GPT in nanoGPT's style"] = """
import math
import torch

nn, F = torch.nn, torch.nn.functional
torch.manual_seed(0)
V, T, C, H, L = 20, 8, 16, 2, 2


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.register_buffer("bias", torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def forward(self, x):
        B, t, _ = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        k = k.view(B, t, H, C // H).transpose(1, 2)
        q = q.view(B, t, H, C // H).transpose(1, 2)
        v = v.view(B, t, H, C // H).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :t, :t] == 0, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, t, C))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1, self.attn, self.ln_2 = nn.LayerNorm(C), Attention(), nn.LayerNorm(C)
        self.mlp = nn.Sequential(
            nn.Linear(C, 4 * C), nn.GELU(approximate="tanh"), nn.Linear(4 * C, C)
        )

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(V, C),
                wpe=nn.Embedding(T, C),
                drop=nn.Dropout(0.1),
                h=nn.ModuleList([Block() for _ in range(L)]),
                ln_f=nn.LayerNorm(C),
            )
        )
        self.lm_head = nn.Linear(C, V, bias=False)
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * L))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is not None:
            logits = self.lm_head(x)
            flat = logits.view(-1, logits.size(-1))
            return logits, F.cross_entropy(flat, targets.view(-1), ignore_index=-1)
        return self.lm_head(x[:, [-1], :]), None

    @torch.no_grad()
    def generate(self, idx, n, top_k=5):
        for _ in range(n):
            logits, _ = self(idx[:, -T:])
            logits = logits[:, -1, :]
            v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
            logits[logits < v[:, [-1]]] = -float("Inf")
            probs = F.softmax(logits, dim=-1)
            idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
        return idx


model = GPT()
params = {pn: p for pn, p in model.named_parameters() if p.requires_grad}
groups = [
    {"params": [p for p in params.values() if p.dim() >= 2], "weight_decay": 0.1},
    {"params": [p for p in params.values() if p.dim() < 2], "weight_decay": 0.0},
]
print(len(params), sum(p.numel() for p in model.parameters()))
opt = torch.optim.AdamW(groups, lr=1e-2, betas=(0.9, 0.95))
data = torch.randint(0, V, (200,))
for it in range(20):
    ix = torch.randint(len(data) - T, (4,))
    x = torch.stack([data[i:i + T] for i in ix])
    y = torch.stack([data[i + 1:i + 1 + T] for i in ix])
    y[0, 0] = -1
    _, loss = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if it % 5 == 0:
        print(it, loss.item(), norm.item())
model.eval()
print(model.generate(torch.zeros((1, 1), dtype=torch.long), 10).tolist())
"""

# A WGAN-GP step in the style of the improved-WGAN tutorials: an MLP critic on a ring of points,
# the gradient penalty from autograd.grad(..., create_graph=True) at random interpolates, Adam.
PROGRAMS["WGAN-GP gradient penalty"] = """
import math
import torch

nn = torch.nn
torch.manual_seed(0)
critic = nn.Sequential(
    nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1)
)
generator = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 2))
critic_opt = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
generator_opt = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.9))
lambda_gp, n_critic, batch_size = 10.0, 5, 64


def real_samples(n):
    angle = torch.rand(n) * 2 * math.pi
    ring = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    return ring + 0.05 * torch.randn(n, 2)


def gradient_penalty(critic, real, fake):
    alpha = torch.rand(real.size(0), 1).expand_as(real)
    interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(interpolates)
    gradients = torch.autograd.grad(
        outputs=scores,
        inputs=interpolates,
        grad_outputs=torch.ones_like(scores),
        create_graph=True,
        retain_graph=True,
        only_inputs=True,
    )[0]
    gradients = gradients.view(gradients.size(0), -1)
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean()


for iteration in range(12):
    for _ in range(n_critic):
        real = real_samples(batch_size)
        fake = generator(torch.randn(batch_size, 4)).detach()
        critic_opt.zero_grad()
        penalty = gradient_penalty(critic, real, fake)
        wasserstein = critic(real).mean() - critic(fake).mean()
        critic_loss = -wasserstein + lambda_gp * penalty
        critic_loss.backward()
        critic_opt.step()
    generator_opt.zero_grad()
    generator_loss = -critic(generator(torch.randn(batch_size, 4))).mean()
    generator_loss.backward()
    generator_opt.step()
    if iteration % 3 == 2:
        print(iteration, critic_loss.item(), penalty.item(), generator_loss.item())
print("critic's last layer grad norm", critic[4].weight.grad.norm().item())
"""

# A physics-informed network fitting u'' = -u with u(0) = 0, u'(0) = 1 (so u = sin x): u' and u''
# from two autograd.grad calls with create_graph, float64 as PINN code often is.
PROGRAMS["physics-informed network"] = """
import math
import torch

torch.manual_seed(0)
# u'' = -u on [0, 2], u(0) = 0, u'(0) = 1: the answer is sin(x).
net = torch.nn.Sequential(
    torch.nn.Linear(1, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
    torch.nn.Linear(16, 1),
).double()
x = torch.linspace(0, 2, 25, dtype=torch.float64).reshape(-1, 1).requires_grad_(True)
x0 = torch.zeros(1, 1, dtype=torch.float64, requires_grad=True)
optimizer = torch.optim.Adam(net.parameters(), lr=0.01)


def derivative(outputs, inputs):
    return torch.autograd.grad(outputs, inputs, grad_outputs=torch.ones_like(outputs),
                               create_graph=True)[0]


for epoch in range(200):
    u = net(x)
    u_x = derivative(u, x)
    u_xx = derivative(u_x, x)
    physics = torch.mean((u_xx + u) ** 2)
    u0 = net(x0)
    boundary = (u0 ** 2).sum() + ((derivative(u0, x0) - 1) ** 2).sum()
    loss = physics + boundary
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if epoch % 50 == 49:
        print(epoch, physics.item(), boundary.item())

test = torch.tensor([[0.5], [1.0], [1.5]], dtype=torch.float64)
with torch.no_grad():
    print("u(x)   ", net(test).flatten().tolist())
print("sin(x) ", torch.sin(test).flatten().tolist())
"""

# MAML's inner step on sine regression (Finn et al.'s toy): fast weights w - lr * grad made with
# create_graph, so the outer loss differentiates through the inner update.
PROGRAMS["MAML on sine regression"] = """
import math
import torch

F = torch.nn.functional
torch.manual_seed(4)


def sine_task():
    amplitude = torch.rand(1).item() * 4.9 + 0.1
    phase = torch.rand(1).item() * math.pi

    def sample(n):
        x = torch.rand(n, 1) * 10 - 5
        return x, amplitude * torch.sin(x + phase)

    return sample


def init(fan_out, fan_in):
    bound = 1 / math.sqrt(fan_in)
    weight = (torch.rand(fan_out, fan_in) * 2 - 1) * bound
    bias = (torch.rand(fan_out) * 2 - 1) * bound
    return [weight.requires_grad_(), bias.requires_grad_()]


params = init(40, 1) + init(40, 40) + init(1, 40)


def model(x, weights):
    h = F.relu(F.linear(x, weights[0], weights[1]))
    h = F.relu(F.linear(h, weights[2], weights[3]))
    return F.linear(h, weights[4], weights[5])


inner_lr, tasks_per_batch, shots = 0.01, 4, 10
meta_optimizer = torch.optim.Adam(params, lr=1e-3)
for iteration in range(40):
    meta_optimizer.zero_grad()
    outer_loss = 0.0
    for _ in range(tasks_per_batch):
        sample = sine_task()
        x_support, y_support = sample(shots)
        x_query, y_query = sample(shots)
        inner_loss = F.mse_loss(model(x_support, params), y_support)
        grads = torch.autograd.grad(inner_loss, params, create_graph=True)
        fast_weights = [w - inner_lr * g for w, g in zip(params, grads)]
        outer_loss = outer_loss + F.mse_loss(model(x_query, fast_weights), y_query)
    outer_loss = outer_loss / tasks_per_batch
    outer_loss.backward()
    meta_optimizer.step()
    if iteration % 10 == 9:
        print(iteration, outer_loss.item(), params[0].grad.norm().item())

sample = sine_task()
x_support, y_support = sample(shots)
x_test = torch.linspace(-5, 5, 5).reshape(-1, 1)
weights = params
for step in range(3):
    loss = F.mse_loss(model(x_support, weights), y_support)
    grads = torch.autograd.grad(loss, weights)
    weights = [w - inner_lr * g for w, g in zip(weights, grads)]
    print("adaptation step", step, loss.item())
print(model(x_test, weights).detach().flatten().tolist())
"""

# In the style of PyTorch's "Double Backward with Custom Functions" tutorial: backward written with
# differentiable ops (an input saved, an output saved, an intermediate returned as an output so it
# is tracked), checked with gradcheck and gradgradcheck.
PROGRAMS["double backward with custom Functions"] = """
import torch


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad_out):
        x, = ctx.saved_tensors
        return grad_out * 3 * x ** 2


class Sigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        out = 1 / (1 + torch.exp(-x))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        out, = ctx.saved_tensors
        return grad_out * out * (1 - out)


class SoftplusKeepingExp(torch.autograd.Function):
    # exp(x) is an intermediate: returned as an output, so that autograd tracks it
    @staticmethod
    def forward(ctx, x):
        e = torch.exp(x)
        out = torch.log(1 + e)
        ctx.save_for_backward(e)
        return out, e

    @staticmethod
    def backward(ctx, grad_out, grad_e):
        e, = ctx.saved_tensors
        return grad_out * e / (1 + e) + grad_e * e


def softplus(x):
    out, _ = SoftplusKeepingExp.apply(x)
    return out


torch.manual_seed(0)
x = torch.randn(5, dtype=torch.double, requires_grad=True)
for name, f in [("cube", Cube.apply), ("sigmoid", Sigmoid.apply), ("softplus", softplus)]:
    first_ok = torch.autograd.gradcheck(f, (x,))
    second_ok = torch.autograd.gradgradcheck(f, (x,))
    y = f(x)
    dy, = torch.autograd.grad(y.sum(), x, create_graph=True)
    d2y, = torch.autograd.grad(dy.sum(), x)
    print(name, first_ok, second_ok, y[0].item(), dy[0].item(), d2y[0].item())

check = torch.nn.functional.softplus(x)
print("softplus agrees with F.softplus:", torch.allclose(softplus(x), check))
"""

# Newton's method with autograd.functional.hessian on a small convex problem (regularised logistic
# regression); H p = g solved by conjugate gradient, exact after 3 steps in 3-D.
PROGRAMS["Newton's method with a Hessian"] = """
import torch

F = torch.nn.functional
torch.manual_seed(0)
# L2-regularised logistic regression on 60 points in 3-D, minimised by Newton's method.
X = torch.randn(60, 3, dtype=torch.float64)
true_w = torch.tensor([1.5, -2.0, 0.5], dtype=torch.float64)
y = (torch.sigmoid(X @ true_w) > torch.rand(60, dtype=torch.float64)).double()


def loss(w):
    z = X @ w
    return (F.softplus(z) - y * z).mean() + 0.05 * (w ** 2).sum()


def conjugate_gradient(A, b, steps):
    # solves A x = b for a symmetric positive definite A: exact after len(b) steps
    x = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    for _ in range(steps):
        Ap = A @ p
        alpha = (r @ r) / (p @ Ap)
        x = x + alpha * p
        r_next = r - alpha * Ap
        p = r_next + (r_next @ r_next) / (r @ r) * p
        r = r_next
    return x


w = torch.zeros(3, dtype=torch.float64)
for step in range(5):
    w.requires_grad_(True)
    grad, = torch.autograd.grad(loss(w), w)
    hessian = torch.autograd.functional.hessian(loss, w)
    with torch.no_grad():
        w = w - conjugate_gradient(hessian, grad, len(w))
    print(step, loss(w).item(), grad.norm().item())
print("w", w.tolist())
print("Hessian", hessian.tolist())
print("symmetric:", torch.allclose(hessian, hessian.T))
"""

# torch.func in the style of PyTorch's tutorials on it: per-sample gradients (vmap of grad
# through functional_call), Jacobians and Hessians of a layer, and an ensemble run as one call.
PROGRAMS["torch.func transforms"] = """
import copy
import torch

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
data = torch.randn(16, 6)
targets = torch.randint(0, 3, (16,))

params = {name: p.detach() for name, p in model.named_parameters()}
buffers = {name: b.detach() for name, b in model.named_buffers()}

def loss_of(params, buffers, sample, target):
    scores = torch.func.functional_call(model, (params, buffers), (sample.unsqueeze(0),))
    return torch.nn.functional.cross_entropy(scores, target.unsqueeze(0))

per_example = torch.func.vmap(torch.func.grad(loss_of), in_dims=(None, None, 0, 0))
grads = per_example(params, buffers, data, targets)
for name, g in grads.items():
    print(name, tuple(g.shape), g.norm().item())
for i in (0, 9):  # the same gradient from a backward() on example i alone
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(data[i : i + 1]), targets[i : i + 1]).backward()
    agree = all(torch.allclose(p.grad, grads[n][i], atol=1e-6) for n, p in model.named_parameters())
    print("example", i, "agrees:", agree)

def predict(weight, bias, x):
    return torch.nn.functional.linear(x, weight, bias).tanh()

weight, bias, xs = torch.randn(5, 5), torch.randn(5), torch.randn(4, 5)
jacobians = torch.func.vmap(torch.func.jacrev(predict, argnums=2), in_dims=(None, None, 0))
jac = jacobians(weight, bias, xs)
print("jacobians", tuple(jac.shape), jac.sum().item())
by_jacfwd = torch.func.jacfwd(predict, argnums=2)(weight, bias, xs[1])
print("by jacfwd too:", torch.allclose(by_jacfwd, jac[1]))
hess = torch.func.hessian(predict, argnums=2)(weight, bias, xs[0])
print("hessian", tuple(hess.shape), hess.abs().sum().item())
total = lambda x: predict(weight, bias, x).sum()
_, hvp = torch.func.jvp(torch.func.grad(total), (xs[0],), (torch.ones(5),))
print("hvp", hvp.tolist())

models = [
    torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    for _ in range(4)
]
stacked, stacked_buffers = torch.func.stack_module_state(models)
base = copy.deepcopy(models[0]).to("meta")

def run_one(params, buffers, x):
    return torch.func.functional_call(base, (params, buffers), (x,))

predictions = torch.func.vmap(run_one, in_dims=(0, 0, None))(stacked, stacked_buffers, data)
print("ensemble", tuple(predictions.shape), predictions.sum().item())
print("model 2 alone agrees:", torch.allclose(predictions[2], models[2](data), atol=1e-6))
"""

# A network's anatomy, printed, in the style of PyTorch's "Build the Neural Network": a Module
# of Flatten and a Sequential stack, its repr, one layer's output before and after ReLU, softmax
# probabilities, and a peek at each parameter's first rows, whose grad_fn a learner sees printed
# (SliceBackward0 under a Parameter sliced, AddmmBackward0 out of a Linear, ReluBackward0).
PROGRAMS["a network's anatomy"] = """
import torch

torch.manual_seed(3)


class Classifier(torch.nn.Module):
    def __init__(self, pixels=36, hidden=16, classes=4):
        super().__init__()
        self.flatten = torch.nn.Flatten()
        self.stack = torch.nn.Sequential(
            torch.nn.Linear(pixels, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, classes),
        )

    def forward(self, images):
        return self.stack(self.flatten(images))


net = Classifier()
print(net)
images = torch.rand(2, 6, 6)
scores = net(images)
print("scores", scores)
chances = torch.nn.Softmax(dim=1)(scores)
print("chances", chances, "guess", chances.argmax(1))
flat = torch.nn.Flatten()(images)
print(flat.size(), flat.shape[1])
layer = torch.nn.Linear(in_features=36, out_features=5)
hidden = layer(flat)
print(f"before relu: {hidden}")
print(f"after relu: {torch.nn.ReLU()(hidden)}")
for name, param in net.named_parameters():
    print(f"{name} | {tuple(param.size())} | {param[:1]}")
print(net.stack[0].weight[:2, :3], net.stack[2].bias[1:])
"""

# Backpropagation by hand through a character-level MLP with batch norm, in the style of
# makemore's exercise: the forward pass cut into small named steps, every step's gradient
# written out and checked against autograd's (.retain_grad() on each); then sampling.
PROGRAMS["backprop by hand, step by step"] = """
import torch

F = torch.nn.functional

# a handful of names, cut into (three letters of context -> next letter) examples
names = ["ada", "lena", "otto", "marie", "hugo", "ines", "karl", "nora", "paul", "rosa", "emil"]
letters = ["."] + sorted(set("".join(names)))
index = {letter: i for i, letter in enumerate(letters)}
contexts, nexts = [], []
for name in names:
    window = [0, 0, 0]
    for letter in name + ".":
        contexts.append(window)
        nexts.append(index[letter])
        window = window[1:] + [index[letter]]
contexts, nexts = torch.tensor(contexts), torch.tensor(nexts)
print(contexts.shape, nexts.shape, contexts.dtype, len(letters))

gen = torch.Generator().manual_seed(7)
width, hidden_size = 5, 12
table = torch.randn((len(letters), width), generator=gen)
W1 = torch.randn((3 * width, hidden_size), generator=gen) * 0.4
b1 = torch.randn(hidden_size, generator=gen) * 0.1
W2 = torch.randn((hidden_size, len(letters)), generator=gen) * 0.1
b2 = torch.randn(len(letters), generator=gen) * 0.1
gamma = 1.0 + 0.1 * torch.randn((1, hidden_size), generator=gen)
beta = 0.1 * torch.randn((1, hidden_size), generator=gen)
weights = [table, W1, b1, W2, b2, gamma, beta]
for w in weights:
    w.requires_grad = True
print(sum(w.nelement() for w in weights))

batch = 20
rows = torch.randint(0, contexts.shape[0], (batch,), generator=gen)
xb, yb = contexts[rows], nexts[rows]

# the forward pass, one small named step at a time
looked_up = table[xb]
flat = looked_up.view(batch, -1)
pre = flat @ W1 + b1
mean = pre.sum(0, keepdim=True) / batch
centred = pre - mean
squares = centred**2
var = squares.sum(0, keepdim=True) / (batch - 1)
inv_std = (var + 1e-5) ** -0.5
normed = centred * inv_std
scaled = gamma * normed + beta
act = torch.tanh(scaled)
scores = act @ W2 + b2
row_max = scores.max(1, keepdim=True).values
shifted = scores - row_max
exps = shifted.exp()
total = exps.sum(1, keepdims=True)
inv_total = total**-1
probs = exps * inv_total
log_probs = probs.log()
loss = -log_probs[range(batch), yb].mean()

steps = [log_probs, probs, exps, total, inv_total, shifted, row_max, scores, act, scaled,
         normed, inv_std, var, squares, centred, pre, mean, flat, looked_up]
for t in steps:
    t.retain_grad()
loss.backward()
print("loss", loss.item())

# the backward pass by hand, in the reverse order, each step the chain rule once
d_log_probs = torch.zeros_like(log_probs)
d_log_probs[range(batch), yb] = -1.0 / batch
d_probs = d_log_probs / probs
d_inv_total = (d_probs * exps).sum(1, keepdim=True)
d_exps = d_probs * inv_total
d_total = -d_inv_total / total**2
d_exps += d_total.expand_as(exps)
d_shifted = d_exps * exps
d_scores = d_shifted.clone()
d_row_max = -d_shifted.sum(1, keepdim=True)
d_scores += F.one_hot(scores.max(1).indices, num_classes=scores.shape[1]) * d_row_max
d_act = d_scores @ W2.T
d_W2 = act.T @ d_scores
d_b2 = d_scores.sum(0)
d_scaled = d_act * (1.0 - act**2)
d_gamma = (d_scaled * normed).sum(0, keepdim=True)
d_beta = d_scaled.sum(0, keepdim=True)
d_normed = d_scaled * gamma
d_centred = d_normed * inv_std
d_inv_std = (d_normed * centred).sum(0, keepdim=True)
d_var = d_inv_std * -0.5 * (var + 1e-5) ** -1.5
d_squares = d_var.expand_as(squares) / (batch - 1)
d_centred += d_squares * 2 * centred
d_mean = -d_centred.sum(0, keepdim=True)
d_pre = d_centred + d_mean.expand_as(pre) / batch
d_flat = d_pre @ W1.T
d_W1 = flat.T @ d_pre
d_b1 = d_pre.sum(0)
d_looked_up = d_flat.view(looked_up.shape)
d_table = torch.zeros_like(table)
for i in range(batch):
    for j in range(3):
        d_table[xb[i, j]] += d_looked_up[i, j]


def check(label, by_hand, t):
    print(f"{label:10s} close: {str(torch.allclose(by_hand, t.grad)):5s} {tuple(by_hand.shape)}")


check("log_probs", d_log_probs, log_probs)
check("probs", d_probs, probs)
check("inv_total", d_inv_total, inv_total)
check("total", d_total, total)
check("exps", d_exps, exps)
check("shifted", d_shifted, shifted)
check("row_max", d_row_max, row_max)
check("scores", d_scores, scores)
check("act", d_act, act)
check("W2", d_W2, W2)
check("b2", d_b2, b2)
check("scaled", d_scaled, scaled)
check("gamma", d_gamma, gamma)
check("beta", d_beta, beta)
check("normed", d_normed, normed)
check("inv_std", d_inv_std, inv_std)
check("var", d_var, var)
check("squares", d_squares, squares)
check("centred", d_centred, centred)
check("mean", d_mean, mean)
check("pre", d_pre, pre)
check("flat", d_flat, flat)
check("W1", d_W1, W1)
check("b1", d_b1, b1)
check("looked_up", d_looked_up, looked_up)
check("table", d_table, table)

# the same loss in one call, and its gradient in closed form: softmax less the one-hot, / batch
print("same loss", abs(F.cross_entropy(scores, yb).item() - loss.item()) < 1e-6)
d_scores_closed = F.softmax(scores, 1)
d_scores_closed[range(batch), yb] -= 1
d_scores_closed /= batch
check("closed", d_scores_closed, scores)

# draw a few letters with no graph
with torch.no_grad():
    drawn, window = [], [0, 0, 0]
    for _ in range(8):
        h = table[torch.tensor([window])].view(1, -1) @ W1 + b1
        h = gamma * (h - mean) * inv_std + beta
        p = F.softmax(torch.tanh(h) @ W2 + b2, dim=1)
        pick = torch.multinomial(p, num_samples=1, generator=gen).item()
        window = window[1:] + [pick]
        drawn.append(letters[pick])
print("".join(drawn))
"""

# In the style of d2l.ai's chapters written from scratch: a line fitted with minibatches and
# SGD by hand, a softmax classifier written out, dropout, weight decay (a penalty, and a
# parameter group's option), batch norm with running statistics, a recurrent net with a
# clipped gradient and a detached state, attention's softmax over valid positions.
PROGRAMS["d2l.ai from scratch"] = """
import random
import torch

F = torch.nn.functional
torch.manual_seed(3)
random.seed(3)

# a line fitted from scratch: made-up data, shuffled minibatches, a hand-written SGD step
slope, intercept = torch.tensor([1.5, -2.0]), 0.7
inputs = torch.normal(0, 1, (150, 2))
outputs = (inputs @ slope + intercept + torch.normal(0, 0.01, (150,))).reshape(-1, 1)


def minibatches(size):
    order = list(range(len(inputs)))
    random.shuffle(order)
    for start in range(0, len(order), size):
        picked = torch.tensor(order[start:start + size])
        yield inputs[picked], outputs[picked]


def step(params, lr, n):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / n
            param.grad.zero_()


w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
b = torch.zeros(1, requires_grad=True)
for epoch in range(3):
    for xb, yb in minibatches(10):
        half_squares = (torch.matmul(xb, w) + b - yb.reshape(-1, 1)) ** 2 / 2
        half_squares.sum().backward()
        step([w, b], 0.05, 10)
    with torch.no_grad():
        print(f"epoch {epoch}: {float(((inputs @ w + b - outputs) ** 2 / 2).mean()):f}")
print("off by", slope - w.reshape(slope.shape), intercept - b)

# classes from scratch: a softmax written out, its cross-entropy by picking, the accuracy
features = torch.randn(48, 12)
classes = torch.randint(0, 4, (48,))
W = torch.normal(0, 0.01, size=(12, 4), requires_grad=True)
c = torch.zeros(4, requires_grad=True)
for i in range(5):
    e = torch.exp(features.reshape((-1, W.shape[0])) @ W + c)
    chances = e / e.sum(1, keepdims=True)
    picked = -torch.log(chances[range(len(chances)), classes])
    picked.mean().backward()
    step([W, c], 0.5, 1)
    hits = chances.argmax(axis=1).type(classes.dtype) == classes
    print(i, float(picked.mean()), float(hits.type(classes.dtype).sum()) / len(classes))


# dropout written out: keep each value with probability 1 - p, and scale the kept up
def drop(values, p):
    if p == 1:
        return torch.zeros_like(values)
    keep = (torch.rand(values.shape) > p).float()
    return keep * values / (1.0 - p)


grid = torch.arange(12, dtype=torch.float32).reshape((3, 4))
for p in (0.0, 0.5, 1.0):
    print(drop(grid, p))

# weight decay: as a penalty by hand, and as an option of one parameter group
net = torch.nn.Sequential(torch.nn.Linear(12, 1))
for param in net.parameters():
    param.data.normal_()
sgd = torch.optim.SGD([{"params": net[0].weight, "weight_decay": 2.0},
                       {"params": net[0].bias}], lr=0.02)
errors = torch.nn.MSELoss(reduction="none")
xs, ys = torch.randn(24, 12), torch.randn(24, 1)
for i in range(3):
    sgd.zero_grad()
    per_example = errors(net(xs), ys)
    per_example.mean().backward()
    sgd.step()
    penalty = torch.sum(net[0].weight.pow(2)) / 2
    print(i, per_example.mean().item(), penalty.item())


# batch norm by hand, with running statistics kept outside the graph
class HandNorm(torch.nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones((1, channels, 1, 1)))
        self.bias = torch.nn.Parameter(torch.zeros((1, channels, 1, 1)))
        self.running_mean = torch.zeros((1, channels, 1, 1))
        self.running_var = torch.ones((1, channels, 1, 1))

    def forward(self, x):
        if torch.is_grad_enabled():
            mean = x.mean(dim=(0, 2, 3), keepdim=True)
            var = ((x - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
            self.running_mean = (0.9 * self.running_mean + 0.1 * mean).data
            self.running_var = (0.9 * self.running_var + 0.1 * var).data
        else:
            mean, var = self.running_mean, self.running_var
        return self.weight * (x - mean) / torch.sqrt(var + 1e-5) + self.bias


norm = HandNorm(3)
pictures = torch.randn(4, 3, 5, 5) * 3 - 1
norm(pictures).square().mean().backward()
print(norm.running_mean.reshape(-1), norm.weight.grad.reshape(-1), norm.bias.grad.reshape(-1))
with torch.no_grad():
    print(norm(pictures).mean().item())

# a recurrent net by hand: one-hot steps, a clipped gradient, a state cut from the past
vocab, width = 5, 7
Wx, Wh = torch.randn(vocab, width) * 0.2, torch.randn(width, width) * 0.2
bh, Wo, bo = torch.zeros(width), torch.randn(width, vocab) * 0.2, torch.zeros(vocab)
params = [Wx, Wh, bh, Wo, bo]
for param in params:
    param.requires_grad_(True)
tokens = torch.randint(0, vocab, (3, 6))
state = torch.zeros((3, width))
for i in range(3):
    state.detach_()
    steps = F.one_hot(tokens.T, vocab).type(torch.float32)
    outs = []
    for x in steps:
        state = torch.tanh(torch.mm(x, Wx) + torch.mm(state, Wh) + bh)
        outs.append(torch.mm(state, Wo) + bo)
    loss = F.cross_entropy(torch.cat(outs, dim=0), tokens.T.reshape(-1))
    loss.backward()
    length = torch.sqrt(sum(torch.sum(param.grad**2) for param in params))
    if length > 0.05:
        for param in params:
            param.grad[:] *= 0.05 / length
    with torch.no_grad():
        for param in params:
            param -= 1.0 * param.grad
            param.grad.zero_()
    print(i, loss.item(), length.item(), Wx.sum().item())


# attention's softmax over the valid positions only
def valid_softmax(scores, lengths):
    shape = scores.shape
    if lengths.dim() == 1:
        lengths = torch.repeat_interleave(lengths, shape[1])
    flat = scores.reshape(-1, shape[-1])
    positions = torch.arange(shape[-1], dtype=torch.float32)
    flat[~(positions[None, :] < lengths[:, None])] = -1e6
    return F.softmax(flat.reshape(shape), dim=-1)


raw = torch.rand(2, 3, 4, requires_grad=True)
attention = valid_softmax(raw * 1, torch.tensor([1, 3]))
print(attention)
values = torch.arange(32, dtype=torch.float32).reshape(1, 4, 8).repeat(2, 1, 1)
mixed = torch.bmm(attention, values)
mixed.sum().backward()
print(mixed.shape, raw.grad)
"""

# In makemore's style, its first and last steps: letter pairs counted, smoothed and sampled,
# then the same model as a one-layer net trained by hand; and a deeper model of parts of
# one's own (a lookup, neighbours merged level by level, batch norm with running statistics),
# trained, then evaluated on the running statistics.
PROGRAMS["makemore, bigram to WaveNet"] = """
import torch

F = torch.nn.functional
names = ["ada", "lena", "otto", "marie", "hugo", "ines", "karl", "nora", "paul", "rosa", "emil",
         "greta", "fritz", "lotte", "bruno", "clara", "jonas", "hanna"]
letters = ["."] + sorted(set("".join(names)))
index = {letter: i for i, letter in enumerate(letters)}
size = len(letters)
pairs = [(index[a], index[b]) for name in names for a, b in zip("." + name, name + ".")]

# letter pairs counted, smoothed into probabilities, sampled
counts = torch.zeros((size, size), dtype=torch.int32)
for a, b in pairs:
    counts[a, b] += 1
table = (counts + 1).float()
table /= table.sum(1, keepdims=True)
gen = torch.Generator().manual_seed(11)
for _ in range(3):
    letter, word = 0, ""
    while True:
        letter = torch.multinomial(table[letter], num_samples=1, replacement=True,
                                   generator=gen).item()
        if letter == 0:
            break
        word += letters[letter]
    print(word)
nll = -sum(torch.log(table[a, b]) for a, b in pairs) / len(pairs)
print(f"average nll {nll.item():.4f}", counts.sum().item(), counts[0].max().item(), counts.dtype)

# the same model as one linear layer on one-hot letters, trained by plain gradient descent
firsts = torch.tensor([a for a, _ in pairs])
seconds = torch.tensor([b for _, b in pairs])
W = torch.randn((size, size), generator=gen, requires_grad=True)
for step in range(20):
    probs = F.one_hot(firsts, num_classes=size).float().matmul(W).softmax(dim=1)
    loss = -probs[torch.arange(len(pairs)), seconds].log().mean() + 0.01 * W.pow(2).mean()
    W.grad = None
    loss.backward()
    W.data -= 40 * W.grad
print("loss", loss.item())


# a deeper model from parts of one's own: pairs of neighbours merged level by level
class Lookup:
    def __init__(self, rows, width):
        self.weight = torch.randn((rows, width), generator=gen)

    def __call__(self, ids):
        self.out = self.weight[ids]
        return self.out

    def parameters(self):
        return [self.weight]


class MergePairs:
    def __call__(self, x):
        n, t, c = x.shape
        x = x.view(n, t // 2, c * 2)
        self.out = x.squeeze(1) if x.shape[1] == 1 else x
        return self.out

    def parameters(self):
        return []


class Dense:
    def __init__(self, inputs, outputs, bias=True):
        self.weight = torch.randn((inputs, outputs), generator=gen) * inputs**-0.5
        self.bias = torch.zeros(outputs) if bias else None

    def __call__(self, x):
        self.out = x @ self.weight
        if self.bias is not None:
            self.out += self.bias
        return self.out

    def parameters(self):
        return [self.weight] if self.bias is None else [self.weight, self.bias]


class Norm:
    def __init__(self, features, momentum=0.1):
        self.momentum, self.training = momentum, True
        self.scale, self.shift = torch.ones(features), torch.zeros(features)
        self.mean, self.var = torch.zeros(features), torch.ones(features)

    def __call__(self, x):
        dims = (0,) if x.ndim == 2 else (0, 1)
        if self.training:
            mean, var = x.mean(dims, keepdim=True), x.var(dims, keepdim=True)
            with torch.no_grad():
                self.mean = (1 - self.momentum) * self.mean + self.momentum * mean
                self.var = (1 - self.momentum) * self.var + self.momentum * var
        else:
            mean, var = self.mean, self.var
        self.out = self.scale * (x - mean) / torch.sqrt(var + 1e-5) + self.shift
        return self.out

    def parameters(self):
        return [self.scale, self.shift]


class Squash:
    def __call__(self, x):
        self.out = x.tanh()
        return self.out

    def parameters(self):
        return []


class Stack:
    def __init__(self, *parts):
        self.parts = list(parts)

    def __call__(self, x):
        for part in self.parts:
            x = part(x)
        return x

    def parameters(self):
        return [p for part in self.parts for p in part.parameters()]


contexts, targets = [], []
for name in names:
    window = [0] * 8
    for letter in name + ".":
        contexts.append(window)
        targets.append(index[letter])
        window = window[1:] + [index[letter]]
contexts, targets = torch.tensor(contexts), torch.tensor(targets)
model = Stack(
    Lookup(size, 6),
    MergePairs(), Dense(12, 16, bias=False), Norm(16), Squash(),
    MergePairs(), Dense(32, 16, bias=False), Norm(16), Squash(),
    MergePairs(), Dense(32, 16, bias=False), Norm(16), Squash(),
    Dense(16, size),
)
with torch.no_grad():
    model.parts[-1].weight *= 0.1
params = model.parameters()
for p in params:
    p.requires_grad = True
print(sum(p.nelement() for p in params))
history = []
for step in range(30):
    rows = torch.randint(0, len(contexts), (16,), generator=gen)
    loss = F.cross_entropy(model(contexts[rows]), targets[rows])
    for p in params:
        p.grad = None
    loss.backward()
    rate = 0.1 if step < 20 else 0.01
    for p in params:
        p.data -= rate * p.grad
    history.append(loss.log10().item())
print(torch.tensor(history).view(3, 10).mean(1))
print([(type(part).__name__, tuple(part.out.shape)) for part in model.parts])
for part in model.parts:
    if isinstance(part, Norm):
        part.training = False
with torch.no_grad():
    print("evaluated", F.cross_entropy(model(contexts), targets).item())
"""

NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|nan)")


def run(source: str) -> str:
    """Run a program (its `import torch` is the first import line) and return what it prints.
    torch's default device, set by a program, is put back afterwards, and so is minigrad's.
    (None when none was set: set_default_device(cpu) would leave torch's device mode on for the
    rest of the session, and under a mode torch skips its fast paths, the transformer's too.)"""
    before = torch.utils._device.CURRENT_DEVICE
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(source, "<teaching program>", "exec"), {"__name__": "__main__"})
    finally:
        torch.set_default_device(before)
        minigrad.set_default_device(None)
    return out.getvalue()


def with_minigrad(source: str) -> str:
    assert source.count("import torch\n") == 1
    return source.replace("import torch\n", "import minigrad as torch\n")


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_prints_the_same_numbers_with_minigrad(name):
    theirs = run(PROGRAMS[name])
    ours = run(with_minigrad(PROGRAMS[name]))
    assert NUMBER.sub("#", ours) == NUMBER.sub("#", theirs), (ours, theirs)
    their_numbers, our_numbers = NUMBER.findall(theirs), NUMBER.findall(ours)
    assert len(their_numbers) >= 4
    for i, (mine, reference) in enumerate(zip(our_numbers, their_numbers)):
        if re.fullmatch(r"[-+]?\d+", reference):
            assert mine == reference, f"number {i} printed: {mine}, torch printed {reference}"
        else:
            assert float(mine) == pytest.approx(float(reference), rel=1e-5, abs=1e-12), (
                f"number {i} printed: minigrad {mine}, torch {reference}\n{ours}"
            )


def test_the_import_swap_is_the_only_change():
    for source in PROGRAMS.values():
        swapped = with_minigrad(source)
        changed = [a for a, b in zip(source.splitlines(), swapped.splitlines()) if a != b]
        assert changed == ["import torch"]
