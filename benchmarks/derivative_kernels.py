"""Formula against kernel: an op's first-order backward as its readable formula and as torch's
derivative kernel for that formula (issue 20), side by side at the sizes the examples use.

    python -m benchmarks.derivative_kernels [--threads 1] [--budget 2]

Each row times one backward on the same saved values and upstream gradient: the op's own
`backward` under `formulas_only()` (its formula, also what create_graph records) against the
kernel, interleaved (A B B A ...), float32 on the CPU. For an adopted kernel that is the op's
own first-order backward; for a candidate not taken (log_softmax's, softmax's), the kernel called
directly. The ratio is formula / kernel: above 1.00 the kernel is faster. Both the median and
the fastest sample are shown: on a busy machine (load above the cores) the fastest is the
steadier figure. Use --threads 1 there.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

import torch

import minigrad as mg
from minigrad.autograd.function import formulas_only
from minigrad.nn import functional as F

from .timing import compare

Backward = Callable[[], object]


def kernel_and_formula(out: mg.Tensor, kernel: Callable[..., object] | None = None) -> tuple:
    """The kernel and the formula for the backward of the op that made `out`, on one upstream
    gradient. `kernel(grad, *saved)` when the op does not call it itself."""
    ctx = out.grad_fn
    generator = torch.Generator().manual_seed(0)
    grad = torch.randn(out.shape, generator=generator, dtype=out.dtype)

    def by_kernel() -> object:
        with mg.no_grad():  # as backward() runs: the saved values as torch tensors
            if kernel is not None:
                return kernel(grad, *ctx.saved_tensors)
            return ctx.function.backward(ctx, grad)

    def by_formula() -> object:
        with mg.no_grad(), formulas_only():
            return ctx.function.backward(ctx, grad)

    return by_kernel, by_formula


def leaf(*shape: int) -> mg.Tensor:
    return mg.randn(*shape, requires_grad=True)


def log_softmax_kernel(grad: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten._log_softmax_backward_data(grad, out, 1, out.dtype)


def softmax_kernel(grad: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten._softmax_backward_data(grad, out, -1, out.dtype)


def sigmoid_kernel(grad: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten.sigmoid_backward(grad, s)


def tanh_kernel(grad: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return torch.ops.aten.tanh_backward(grad, t)


def cases() -> dict[str, tuple[Backward, Backward]]:
    """The examples' sizes: fastbook's linear model (sigmoid of 256x1), the MLP 784-128-10 at
    batch 64 and 256 and the CNN's loss at 128
    (cross_entropy: log_softmax, then nll_loss), and the fastbook CNN's BatchNorm2d layers at
    batch 128 on 28x28 inputs (14x14 down to 2x2, and the last layer's 1x1); softmax and layer
    norm, which no example uses, at those rows and at a small transformer's (32x64 tokens)."""
    targets = {n: mg.randint(0, 10, (n,)) for n in (64, 128, 256)}
    rows = {}
    for n in (64, 128, 256):
        out = leaf(n, 10).log_softmax(1)
        rows[f"log_softmax {n}x10 (not taken)"] = kernel_and_formula(out, log_softmax_kernel)
    for shape in ((64, 10), (256, 10), (32, 64, 64)):
        out = leaf(*shape).softmax(-1)
        name = "x".join(map(str, shape))
        rows[f"softmax {name} (not taken)"] = kernel_and_formula(out, softmax_kernel)
    for shape in ((256, 1), (64, 128), (256, 128), (128, 32, 14, 14)):
        name = "x".join(map(str, shape))
        rows[f"sigmoid {name} (not taken)"] = kernel_and_formula(
            leaf(*shape).sigmoid(), sigmoid_kernel
        )
        rows[f"tanh {name} (not taken)"] = kernel_and_formula(leaf(*shape).tanh(), tanh_kernel)
    for n in (64, 128, 256):
        rows[f"nll_loss {n}x10"] = kernel_and_formula(F.nll_loss(leaf(n, 10), targets[n]))
    weighted = F.nll_loss(leaf(256, 10), targets[256], weight=mg.rand(10) + 0.5, ignore_index=3)
    rows["nll_loss 256x10, weight, ignore_index=3"] = kernel_and_formula(weighted)
    for n, c, s in ((128, 32, 14), (128, 64, 7), (128, 128, 4), (128, 256, 2), (128, 10, 1)):
        out = F.batch_norm(leaf(n, c, s, s), None, None, leaf(c), leaf(c), training=True)
        rows[f"batch_norm {n}x{c}x{s}x{s}"] = kernel_and_formula(out)
    stats = mg.randn(64), mg.rand(64) + 0.5
    out = F.batch_norm(leaf(128, 64, 7, 7), *stats, leaf(64), leaf(64), training=False)
    rows["batch_norm 128x64x7x7, eval"] = kernel_and_formula(out)
    for shape in ((64, 128), (256, 128), (32, 64, 256)):
        out = F.layer_norm(leaf(*shape), shape[-1:], leaf(shape[-1]), leaf(shape[-1]))
        name = "x".join(map(str, shape))
        rows[f"layer_norm {name}"] = kernel_and_formula(out)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.derivative_kernels")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per row")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    mg.manual_seed(0)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), load {load}\n")
    print("| backward | formula | kernel | formula / kernel | fastest: formula / kernel |")
    print("|---|---|---|---|---|")
    for name, (by_kernel, by_formula) in cases().items():
        stats = compare({"formula": by_formula, "kernel": by_kernel}, "cpu",
                        budget_s=args.budget, max_samples=60)  # fmt: skip
        f, k = stats["formula"], stats["kernel"]
        print(f"| {name} | {_us(f.median)} | {_us(k.median)} | {f.median / k.median:.2f} | "
              f"{_us(f.min)} / {_us(k.min)} = {f.min / k.min:.2f} |", flush=True)  # fmt: skip
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\nload at the end {load}")


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs" if seconds < 1e-2 else f"{seconds * 1e3:.1f} ms"


if __name__ == "__main__":
    main()
