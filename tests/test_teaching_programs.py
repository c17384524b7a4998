"""Teaching programs written for PyTorch run on minigrad with only the import swapped.

Each program below is plain PyTorch code in the style of PyTorch's "Learning PyTorch with
Examples" (a polynomial fitted by hand-written gradient steps, by a custom autograd Function) and
of the torch half of micrograd's engine test. Each runs twice: as written, with `import
torch`, and with that one line made `import minigrad as torch`. Every number either run prints
must agree: equal text between the numbers, integers equal, floats within 1e-5 relative (the
issue's bar; most are bit-equal).
"""

from __future__ import annotations

import contextlib
import io
import re

import pytest
import torch

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

NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|nan)")


def run(source: str) -> str:
    """Run a program (its `import torch` is the first import line) and return what it prints.
    torch's default device, set by a program, is put back afterwards, and so is minigrad's."""
    before = torch.get_default_device()
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
