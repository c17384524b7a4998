"""Formula against kernel: torch's derivative kernels that the convolution and pooling ops call
for their first-order backward, or were measured for, timed side by side with the formula each
computes, at the sizes the examples use (issue 20's rule: adopt a kernel where it wins).

    python -m benchmarks.kernels [--threads 1] [--device cpu] [--budget 1.0]

Each row times one op's backward for one upstream gradient, both sides interleaved (A B B A ...):
"formula" is the op's backward under formulas_only() (what create_graph=True records), "kernel"
the op's backward as the first-order pass runs it where the kernel was adopted, else a direct
call of the candidate kernel. The sizes: the five convolutions of fastbook's CNN at batch 128
(benchmarks/training.py's `_fastbook_cnn`; the first layer's input needs no gradient), the ops
benchmark's conv2d at 28x28 and 64x64, and pooling over the CNN's activations (128x32x14x14 to
128x256x2x2). The machine's load is printed before and after: on a busy machine use --threads 1.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

import torch

import minigrad
from minigrad import Tensor
from minigrad.autograd.function import formulas_only
from minigrad.nn import functional as F

from .machine import cpu_model, load_average
from .timing import compare

Case = tuple[str, str, bool, Callable[[], Any], Callable[[], Any]]  # op, size, adopted, sides


def _node_and_upstream(out: Tensor) -> tuple[Any, torch.Tensor]:
    return out._ctx, torch.randn(out.shape, dtype=out.dtype, device=out.device)


def _formula(ctx: Any, upstream: torch.Tensor) -> Callable[[], Any]:
    """The op's backward formula, on torch tensors (grad mode off, as in backward())."""

    def run() -> Any:
        with formulas_only(), minigrad.no_grad():
            return ctx.function.backward(ctx, upstream)

    return run


def _op_backward(ctx: Any, upstream: torch.Tensor) -> Callable[[], Any]:
    """The op's backward as backward() runs it: with the kernel, where adopted."""

    def run() -> Any:
        with minigrad.no_grad():
            return ctx.function.backward(ctx, upstream)

    return run


def conv_cases(device: str, smoke: bool = False) -> list[Case]:
    """(batch, in, out, side, kernel, stride, input needs grad): the CNN's five layers, then the
    ops benchmark's conv2d at 28x28 and 64x64 (padding kernel // 2 throughout). `smoke`: a
    batch of 2, to test the harness."""
    sizes = [
        (128, 1, 32, 28, 5, 2, False),
        (128, 32, 64, 14, 3, 2, True),
        (128, 64, 128, 7, 3, 2, True),
        (128, 128, 256, 4, 3, 2, True),
        (128, 256, 10, 2, 3, 2, True),
        (64, 16, 32, 28, 3, 1, True),
        (32, 3, 16, 64, 3, 2, True),
        (32, 16, 32, 64, 3, 1, True),
    ]
    cases = []
    for batch, c, o, side, k, s, x_needs in sizes:
        batch = 2 if smoke else batch
        x = Tensor(torch.randn(batch, c, side, side, device=device), requires_grad=x_needs)
        w = Tensor(torch.randn(o, c, k, k, device=device) * 0.1, requires_grad=True)
        b = Tensor(torch.zeros(o, device=device), requires_grad=True)
        ctx, upstream = _node_and_upstream(F.conv2d(x, w, b, stride=s, padding=k // 2))
        size = f"{batch}x{c}x{side}x{side} k{k} s{s} -> {o}" + ("" if x_needs else ", no dL/dx")
        cases.append(("conv2d", size, True, _formula(ctx, upstream), _op_backward(ctx, upstream)))
    return cases


POOL_SIZES = [  # (shape, kernel, stride, padding)
    ((128, 32, 14, 14), 2, 2, 0),
    ((128, 32, 14, 14), 3, 2, 1),
    ((128, 64, 7, 7), 2, 2, 0),
]
ADAPTIVE_SIZES = [((128, 256, 2, 2), 1), ((128, 64, 7, 7), 1), ((128, 32, 14, 14), 3)]


def pool_cases(device: str, smoke: bool = False) -> list[Case]:
    cases = []
    for shape, k, s, p in POOL_SIZES:
        shape = (2, *shape[1:]) if smoke else shape
        size = "x".join(map(str, shape)) + f" k{k} s{s} p{p}"
        x = Tensor(torch.randn(shape, device=device), requires_grad=True)
        ctx, upstream = _node_and_upstream(F.max_pool2d(x, k, s, p))
        (indices,) = ctx._saved

        def max_kernel(
            upstream: torch.Tensor = upstream,
            indices: torch.Tensor = indices,
            x: torch.Tensor = x._data,
            k: int = k,
            s: int = s,
            p: int = p,
        ) -> Any:
            return torch.ops.aten.max_pool2d_with_indices_backward(
                upstream, x, [k, k], [s, s], [p, p], [1, 1], False, indices
            )  # fmt: skip

        cases.append(("max_pool2d", size, False, _formula(ctx, upstream), max_kernel))
        ctx, upstream = _node_and_upstream(F.avg_pool2d(x, k, s, p))
        average = (_formula(ctx, upstream), _op_backward(ctx, upstream))
        cases.append(("avg_pool2d", size, True, *average))
    for shape, out_size in ADAPTIVE_SIZES:
        shape = (2, *shape[1:]) if smoke else shape
        size = "x".join(map(str, shape)) + f" -> {out_size}x{out_size}"
        x = Tensor(torch.randn(shape, device=device), requires_grad=True)
        ctx, upstream = _node_and_upstream(F.adaptive_avg_pool2d(x, out_size))

        def adaptive_kernel(upstream: torch.Tensor = upstream, x: torch.Tensor = x._data) -> Any:
            return torch.ops.aten._adaptive_avg_pool2d_backward(upstream, x)

        cases.append(("adaptive_avg_pool2d", size, False, _formula(ctx, upstream), adaptive_kernel))
    return cases


def run(
    device: str = "cpu",
    budget_s: float = 1.0,
    smoke: bool = False,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    rows = []
    cases = conv_cases(device, smoke) + pool_cases(device, smoke)
    for op, size, adopted, formula, kernel in cases:
        stats = compare({"formula": formula, "kernel": kernel}, device, budget_s=budget_s)
        row = {
            "op": op,
            "size": size,
            "adopted": adopted,
            "formula_ms": stats["formula"].median * 1e3,
            "kernel_ms": stats["kernel"].median * 1e3,
        }
        row["formula / kernel"] = row["formula_ms"] / row["kernel_ms"]
        rows.append(row)
        log(
            f"| {op} | {size} | {row['formula_ms']:.3f} | {row['kernel_ms']:.3f} | "
            f"{row['formula / kernel']:.2f} | {'yes' if adopted else 'no'} |"
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kernels", description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per row, roughly")
    parser.add_argument("--smoke", action="store_true", help="batch 2: to test the harness")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"{cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__} with "
          f"{torch.get_num_threads()} threads, minigrad {minigrad.__version__}, {args.device}; "
          f"load average {load_average()} (1, 5, 15 min) at the start")  # fmt: skip
    print("\n| op | size | formula ms | kernel ms | formula / kernel | adopted |")
    print("|---|---|---|---|---|---|")
    rows = run(args.device, 0.01 if args.smoke else args.budget, args.smoke)
    conv = [r for r in rows if r["op"] == "conv2d"][:5]
    print(f"\nthe CNN's five convolutions: formula {sum(r['formula_ms'] for r in conv):.1f} ms, "
          f"kernel {sum(r['kernel_ms'] for r in conv):.1f} ms")  # fmt: skip
    print(f"load average {load_average()} at the end")


if __name__ == "__main__":
    main()
