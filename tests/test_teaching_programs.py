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

# Backpropagation by hand through a character-level MLP with batch norm, one small step at a
# time, each hand-made gradient checked against autograd's (.retain_grad() on every step), in the
# style of Karpathy's makemore ("becoming a backprop ninja"); then sampling under no_grad.
PROGRAMS["backprop by hand, step by step"] = """
import torch

F = torch.nn.functional

g = torch.Generator().manual_seed(2147483647)
words = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn"]
chars = sorted(set("".join(words)))
stoi = {ch: i + 1 for i, ch in enumerate(chars)}
stoi["."] = 0
vocab = len(stoi)
block = 3
X, Y = [], []
for w in words:
    context = [0] * block
    for ch in w + ".":
        X.append(context)
        Y.append(stoi[ch])
        context = context[1:] + [stoi[ch]]
X, Y = torch.tensor(X), torch.tensor(Y)
print(X.shape, Y.shape, X.dtype)

n_embd, n_hidden = 4, 16
C = torch.randn((vocab, n_embd), generator=g)
W1 = torch.randn((n_embd * block, n_hidden), generator=g) * (5 / 3) / ((n_embd * block) ** 0.5)
b1 = torch.randn(n_hidden, generator=g) * 0.1
W2 = torch.randn((n_hidden, vocab), generator=g) * 0.1
b2 = torch.randn(vocab, generator=g) * 0.1
bngain = torch.randn((1, n_hidden), generator=g) * 0.1 + 1.0
bnbias = torch.randn((1, n_hidden), generator=g) * 0.1
parameters = [C, W1, b1, W2, b2, bngain, bnbias]
print(sum(p.nelement() for p in parameters))
for p in parameters:
    p.requires_grad = True

n = 16
ix = torch.randint(0, X.shape[0], (n,), generator=g)
Xb, Yb = X[ix], Y[ix]

# forward, cut into small steps so that each can be checked
emb = C[Xb]
embcat = emb.view(emb.shape[0], -1)
hprebn = embcat @ W1 + b1
bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
bndiff = hprebn - bnmeani
bndiff2 = bndiff**2
bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)
bnvar_inv = (bnvar + 1e-5) ** -0.5
bnraw = bndiff * bnvar_inv
hpreact = bngain * bnraw + bnbias
h = torch.tanh(hpreact)
logits = h @ W2 + b2
logit_maxes = logits.max(1, keepdim=True).values
norm_logits = logits - logit_maxes
counts = norm_logits.exp()
counts_sum = counts.sum(1, keepdims=True)
counts_sum_inv = counts_sum**-1
probs = counts * counts_sum_inv
logprobs = probs.log()
loss = -logprobs[range(n), Yb].mean()

for p in parameters:
    p.grad = None
steps = [logprobs, probs, counts, counts_sum, counts_sum_inv, norm_logits, logit_maxes, logits,
         h, hpreact, bnraw, bnvar_inv, bnvar, bndiff2, bndiff, hprebn, bnmeani, embcat, emb]
for t in steps:
    t.retain_grad()
loss.backward()
print("loss", loss.item())


def cmp(name, mine, t):
    approximate = torch.allclose(mine, t.grad)
    print(f"{name:15s} | approximate: {str(approximate):5s} | shape {tuple(mine.shape)}")


dlogprobs = torch.zeros_like(logprobs)
dlogprobs[range(n), Yb] = -1.0 / n
dprobs = (1.0 / probs) * dlogprobs
dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)
dcounts = counts_sum_inv * dprobs
dcounts_sum = (-counts_sum**-2) * dcounts_sum_inv
dcounts += torch.ones_like(counts) * dcounts_sum
dnorm_logits = counts * dcounts
dlogits = dnorm_logits.clone()
dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)
dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes
dh = dlogits @ W2.T
dW2 = h.T @ dlogits
db2 = dlogits.sum(0)
dhpreact = (1.0 - h**2) * dh
dbngain = (bnraw * dhpreact).sum(0, keepdim=True)
dbnraw = bngain * dhpreact
dbnbias = dhpreact.sum(0, keepdim=True)
dbndiff = bnvar_inv * dbnraw
dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv
dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar
dbndiff += (2 * bndiff) * dbndiff2
dhprebn = dbndiff.clone()
dbnmeani = (-dbndiff).sum(0)
dhprebn += 1.0 / n * (torch.ones_like(hprebn) * dbnmeani)
dembcat = dhprebn @ W1.T
dW1 = embcat.T @ dhprebn
db1 = dhprebn.sum(0)
demb = dembcat.view(emb.shape)
dC = torch.zeros_like(C)
for k in range(Xb.shape[0]):
    for j in range(Xb.shape[1]):
        dC[Xb[k, j]] += demb[k, j]

cmp("logprobs", dlogprobs, logprobs)
cmp("probs", dprobs, probs)
cmp("counts_sum_inv", dcounts_sum_inv, counts_sum_inv)
cmp("counts_sum", dcounts_sum, counts_sum)
cmp("counts", dcounts, counts)
cmp("norm_logits", dnorm_logits, norm_logits)
cmp("logit_maxes", dlogit_maxes, logit_maxes)
cmp("logits", dlogits, logits)
cmp("h", dh, h)
cmp("W2", dW2, W2)
cmp("b2", db2, b2)
cmp("hpreact", dhpreact, hpreact)
cmp("bngain", dbngain, bngain)
cmp("bnbias", dbnbias, bnbias)
cmp("bnraw", dbnraw, bnraw)
cmp("bnvar_inv", dbnvar_inv, bnvar_inv)
cmp("bnvar", dbnvar, bnvar)
cmp("bndiff2", dbndiff2, bndiff2)
cmp("bndiff", dbndiff, bndiff)
cmp("bnmeani", dbnmeani, bnmeani)
cmp("hprebn", dhprebn, hprebn)
cmp("embcat", dembcat, embcat)
cmp("W1", dW1, W1)
cmp("b1", db1, b1)
cmp("emb", demb, emb)
cmp("C", dC, C)

# the loss in one call, and its gradient in closed form: softmax minus the one-hot, over n
loss_fast = F.cross_entropy(logits, Yb)
print("same loss", (loss_fast - loss).abs().item() < 1e-6)
dlogits_fast = F.softmax(logits, 1)
dlogits_fast[range(n), Yb] -= 1
dlogits_fast /= n
cmp("logits (fast)", dlogits_fast, logits)

# sample from the model, with no graph
with torch.no_grad():
    out = []
    context = [0] * block
    for _ in range(8):
        x = C[torch.tensor([context])].view(1, -1) @ W1 + b1
        x = bngain * (x - bnmeani) * bnvar_inv + bnbias
        p = F.softmax(torch.tanh(x) @ W2 + b2, dim=1)
        nxt = torch.multinomial(p, num_samples=1, generator=g).item()
        context = context[1:] + [nxt]
        out.append(nxt)
print(out)
"""

# d2l.ai's chapters written from scratch, in their style: linear regression with a minibatch
# iterator and SGD by hand, softmax regression and its accuracy, dropout, weight decay (a penalty
# by hand, and per-group weight_decay), batch norm as a module with moving statistics, an RNN
# with gradient clipping by hand and a detached state, the masked softmax of attention.
PROGRAMS["d2l.ai from scratch"] = """
import random
import torch

F = torch.nn.functional
torch.manual_seed(0)
random.seed(0)

# linear regression from scratch: synthetic data, a shuffled minibatch iterator, SGD by hand
def synthetic_data(w, b, num_examples):
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))

true_w, true_b = torch.tensor([2, -3.4]), 4.2
features, labels = synthetic_data(true_w, true_b, 200)

def data_iter(batch_size, features, labels):
    num_examples = len(features)
    indices = list(range(num_examples))
    random.shuffle(indices)
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]

w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
b = torch.zeros(1, requires_grad=True)

def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2

def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()

for epoch in range(3):
    for X, y in data_iter(10, features, labels):
        l = squared_loss(torch.matmul(X, w) + b, y)
        l.sum().backward()
        sgd([w, b], 0.03, 10)
    with torch.no_grad():
        train_l = squared_loss(torch.matmul(features, w) + b, labels)
        print(f"epoch {epoch + 1}, loss {float(train_l.mean()):f}")
print("error in w", true_w - w.reshape(true_w.shape), "error in b", true_b - b)

# softmax regression from scratch, and its accuracy
def softmax(X):
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdims=True)
    return X_exp / partition

def cross_entropy(y_hat, y):
    return -torch.log(y_hat[range(len(y_hat)), y])

def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())

Xs = torch.randn(64, 20)
ys = torch.randint(0, 5, (64,))
W = torch.normal(0, 0.01, size=(20, 5), requires_grad=True)
b2 = torch.zeros(5, requires_grad=True)
for step in range(5):
    y_hat = softmax(torch.matmul(Xs.reshape((-1, W.shape[0])), W) + b2)
    l = cross_entropy(y_hat, ys)
    l.mean().backward()
    sgd([W, b2], 0.5, 1)
    print(step, float(l.mean()), accuracy(y_hat, ys) / len(ys))

# dropout from scratch
def dropout_layer(X, dropout):
    assert 0 <= dropout <= 1
    if dropout == 1:
        return torch.zeros_like(X)
    mask = (torch.rand(X.shape) > dropout).float()
    return mask * X / (1.0 - dropout)

X = torch.arange(16, dtype=torch.float32).reshape((2, 8))
for p in (0.0, 0.5, 1.0):
    print(dropout_layer(X, p))

# weight decay: an L2 penalty by hand, and per-group weight_decay in the optimizer
def l2_penalty(w):
    return torch.sum(w.pow(2)) / 2

net = torch.nn.Sequential(torch.nn.Linear(20, 1))
for param in net.parameters():
    param.data.normal_()
trainer = torch.optim.SGD([{"params": net[0].weight, "weight_decay": 3.0},
                           {"params": net[0].bias}], lr=0.01)
loss = torch.nn.MSELoss(reduction="none")
Xr, yr = torch.randn(32, 20), torch.randn(32, 1)
for step in range(3):
    trainer.zero_grad()
    l = loss(net(Xr), yr)
    l.mean().backward()
    trainer.step()
    print(step, l.mean().item(), l2_penalty(net[0].weight).item(), net[0].weight.norm().item())

# batch normalization from scratch, as a module with moving statistics
def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if not torch.is_grad_enabled():
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        assert len(X.shape) in (2, 4)
        if len(X.shape) == 2:
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
        moving_var = (1.0 - momentum) * moving_var + momentum * var
    Y = gamma * X_hat + beta
    return Y, moving_mean.data, moving_var.data

class BatchNorm(torch.nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = torch.nn.Parameter(torch.ones(shape))
        self.beta = torch.nn.Parameter(torch.zeros(shape))
        self.moving_mean = torch.zeros(shape)
        self.moving_var = torch.ones(shape)

    def forward(self, X):
        if self.moving_mean.device != X.device:
            self.moving_mean = self.moving_mean.to(X.device)
            self.moving_var = self.moving_var.to(X.device)
        Y, self.moving_mean, self.moving_var = batch_norm(
            X, self.gamma, self.beta, self.moving_mean, self.moving_var, eps=1e-5, momentum=0.1)
        return Y

bn = BatchNorm(3, 4)
images = torch.randn(4, 3, 5, 5) * 2 + 1
out = bn(images)
out.square().mean().backward()
print(out.shape, bn.moving_mean.reshape(-1), bn.gamma.grad.reshape(-1), bn.beta.grad.reshape(-1))
with torch.no_grad():
    print(bn(images).mean().item())

# an RNN step by hand: one-hot inputs, gradient clipping by hand, a detached state
vocab, hidden = 6, 8
params = [torch.randn(vocab, hidden) * 0.1, torch.randn(hidden, hidden) * 0.1,
          torch.zeros(hidden), torch.randn(hidden, vocab) * 0.1, torch.zeros(vocab)]
for p in params:
    p.requires_grad_(True)

def rnn(inputs, state, params):
    W_xh, W_hh, b_h, W_hq, b_q = params
    H, = state
    outputs = []
    for X in inputs:
        H = torch.tanh(torch.mm(X, W_xh) + torch.mm(H, W_hh) + b_h)
        Y = torch.mm(H, W_hq) + b_q
        outputs.append(Y)
    return torch.cat(outputs, dim=0), (H,)

def grad_clipping(params, theta):
    norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm

tokens = torch.randint(0, vocab, (2, 5))
state = (torch.zeros((2, hidden)),)
for step in range(3):
    for s in state:
        s.detach_()
    X = F.one_hot(tokens.T, vocab).type(torch.float32)
    y_hat, state = rnn(X, state, params)
    y = tokens.T.reshape(-1)
    l = torch.nn.functional.cross_entropy(y_hat, y.long()).mean()
    l.backward()
    grad_clipping(params, 0.01)
    with torch.no_grad():
        for p in params:
            p -= 1.0 * p.grad
            p.grad.zero_()
    print(step, l.item(), params[0].sum().item())

# masked softmax for attention: valid lengths, a sequence mask, bmm
def sequence_mask(X, valid_len, value=0):
    maxlen = X.size(1)
    positions = torch.arange((maxlen), dtype=torch.float32, device=X.device)
    mask = positions[None, :] < valid_len[:, None]
    X[~mask] = value
    return X

def masked_softmax(X, valid_lens):
    if valid_lens is None:
        return torch.nn.functional.softmax(X, dim=-1)
    shape = X.shape
    if valid_lens.dim() == 1:
        valid_lens = torch.repeat_interleave(valid_lens, shape[1])
    else:
        valid_lens = valid_lens.reshape(-1)
    X = sequence_mask(X.reshape(-1, shape[-1]), valid_lens, value=-1e6)
    return torch.nn.functional.softmax(X.reshape(shape), dim=-1)

scores = torch.rand(2, 2, 4, requires_grad=True)
weights = masked_softmax(scores * 1, torch.tensor([2, 3]))
print(weights)
values = torch.arange(40, dtype=torch.float32).reshape(1, 4, 10).repeat(2, 1, 1)
context = torch.bmm(weights, values)
context.sum().backward()
print(context.shape, scores.grad)
"""

# makemore's first and last steps, in their style: a bigram model counted, smoothed and sampled,
# then the same as a one-layer network trained by hand; and a WaveNet-like hierarchy of layers
# written as classes of one's own (Linear, BatchNorm1d with running statistics, Embedding,
# FlattenConsecutive), trained, then evaluated with the running statistics.
PROGRAMS["makemore, bigram to WaveNet"] = """
import torch

F = torch.nn.functional
words = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "harper",
         "evelyn", "abigail", "emily", "elizabeth", "mila", "ella", "avery", "sofia", "camila"]
chars = sorted(set("".join(words)))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
V = len(stoi)

# bigram counts, smoothed, sampled
N = torch.zeros((V, V), dtype=torch.int32)
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        N[stoi[ch1], stoi[ch2]] += 1
P = (N + 1).float()
P /= P.sum(1, keepdims=True)
g = torch.Generator().manual_seed(2147483647)
for _ in range(3):
    out, ix = [], 0
    while True:
        ix = torch.multinomial(P[ix], num_samples=1, replacement=True, generator=g).item()
        out.append(itos[ix])
        if ix == 0:
            break
    print("".join(out))
log_likelihood, n = 0.0, 0
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        log_likelihood += torch.log(P[stoi[ch1], stoi[ch2]])
        n += 1
print(f"nll={-log_likelihood / n:.4f}", N.sum().item(), N[0].max().item(), N.dtype)

# the same bigram as a one-layer network, trained by gradient descent
xs, ys = [], []
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        xs.append(stoi[ch1])
        ys.append(stoi[ch2])
xs, ys = torch.tensor(xs), torch.tensor(ys)
num = xs.nelement()
W = torch.randn((V, V), generator=g, requires_grad=True)
for k in range(20):
    xenc = F.one_hot(xs, num_classes=V).float()
    logits = xenc @ W
    counts = logits.exp()
    probs = counts / counts.sum(1, keepdims=True)
    loss = -probs[torch.arange(num), ys].log().mean() + 0.01 * (W**2).mean()
    W.grad = None
    loss.backward()
    W.data += -50 * W.grad
print("loss", loss.item())

# a WaveNet-style hierarchy of layers written by hand, as modules of one's own
class Linear:
    def __init__(self, fan_in, fan_out, bias=True):
        self.weight = torch.randn((fan_in, fan_out), generator=g) / fan_in**0.5
        self.bias = torch.zeros(fan_out) if bias else None

    def __call__(self, x):
        self.out = x @ self.weight
        if self.bias is not None:
            self.out += self.bias
        return self.out

    def parameters(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])


class BatchNorm1d:
    def __init__(self, dim, eps=1e-5, momentum=0.1):
        self.eps, self.momentum, self.training = eps, momentum, True
        self.gamma, self.beta = torch.ones(dim), torch.zeros(dim)
        self.running_mean, self.running_var = torch.zeros(dim), torch.ones(dim)

    def __call__(self, x):
        if self.training:
            dim = 0 if x.ndim == 2 else (0, 1)
            xmean = x.mean(dim, keepdim=True)
            xvar = x.var(dim, keepdim=True)
        else:
            xmean, xvar = self.running_mean, self.running_var
        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)
        self.out = self.gamma * xhat + self.beta
        if self.training:
            with torch.no_grad():
                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean
                self.running_var = (1 - self.momentum) * self.running_var + self.momentum * xvar
        return self.out

    def parameters(self):
        return [self.gamma, self.beta]


class Tanh:
    def __call__(self, x):
        self.out = torch.tanh(x)
        return self.out

    def parameters(self):
        return []


class Embedding:
    def __init__(self, num, dim):
        self.weight = torch.randn((num, dim), generator=g)

    def __call__(self, ix):
        self.out = self.weight[ix]
        return self.out

    def parameters(self):
        return [self.weight]


class FlattenConsecutive:
    def __init__(self, n):
        self.n = n

    def __call__(self, x):
        B, T, C = x.shape
        x = x.view(B, T // self.n, C * self.n)
        if x.shape[1] == 1:
            x = x.squeeze(1)
        self.out = x
        return self.out

    def parameters(self):
        return []


class Sequential:
    def __init__(self, layers):
        self.layers = layers

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        self.out = x
        return self.out

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]


block = 8
X, Y = [], []
for w in words:
    context = [0] * block
    for ch in w + ".":
        X.append(context)
        Y.append(stoi[ch])
        context = context[1:] + [stoi[ch]]
X, Y = torch.tensor(X), torch.tensor(Y)
model = Sequential([
    Embedding(V, 6),
    FlattenConsecutive(2), Linear(12, 16, bias=False), BatchNorm1d(16), Tanh(),
    FlattenConsecutive(2), Linear(32, 16, bias=False), BatchNorm1d(16), Tanh(),
    FlattenConsecutive(2), Linear(32, 16, bias=False), BatchNorm1d(16), Tanh(),
    Linear(16, V),
])
with torch.no_grad():
    model.layers[-1].weight *= 0.1
parameters = model.parameters()
print(sum(p.nelement() for p in parameters))
for p in parameters:
    p.requires_grad = True
lossi = []
for i in range(30):
    ix = torch.randint(0, X.shape[0], (16,), generator=g)
    logits = model(X[ix])
    loss = F.cross_entropy(logits, Y[ix])
    for p in parameters:
        p.grad = None
    loss.backward()
    lr = 0.1 if i < 20 else 0.01
    for p in parameters:
        p.data += -lr * p.grad
    lossi.append(loss.log10().item())
print(torch.tensor(lossi).view(-1, 10).mean(1))
for layer in model.layers:
    print(layer.__class__.__name__, ":", tuple(layer.out.shape))
for layer in model.layers:
    if isinstance(layer, BatchNorm1d):
        layer.training = False
with torch.no_grad():
    logits = model(X)
    print("eval loss", F.cross_entropy(logits, Y).item())
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
