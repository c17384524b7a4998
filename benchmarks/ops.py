"""Forward plus backward of single ops, minigrad against torch autograd, small to large.

Small sizes show minigrad's own cost per op (Python bookkeeping around torch's kernel); large
ones show that it reaches the same kernels, so the ratio should approach 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

import minigrad
from minigrad import Tensor

from . import compat
from .timing import by_mode, compare, ratio

Pair = tuple[Callable[[], object], Callable[[], object]]  # (minigrad step, torch step)


@dataclass
class OpCase:
    op: str
    size: str
    build: Callable[[str, int], Pair]


def _leaves(device: str, *shapes: tuple[int, ...]) -> tuple[list[Tensor], list[torch.Tensor]]:
    """The same random values twice: as minigrad leaves and as torch leaves."""
    values = [torch.randn(shape, device=device) for shape in shapes]
    mine = [Tensor(v.clone(), requires_grad=True) for v in values]
    theirs = [v.clone().requires_grad_() for v in values]
    return mine, theirs


def _step(leaves: list[Any], forward: Callable[[], Any], grad: Any = None) -> Callable[[], None]:
    """One timed call: clear the gradients, run forward, run backward."""

    def step() -> None:
        for leaf in leaves:
            leaf.grad = None
        out = forward()
        out.backward(grad)

    return step


def _elementwise(
    mine_op: Callable[..., Any], torch_op: Callable[..., Any], shapes: Callable[[int], list]
) -> Callable[[int], Callable[[str, int], Pair]]:
    def for_size(n: int) -> Callable[[str, int], Pair]:
        def build(device: str, seed: int) -> Pair:
            torch.manual_seed(seed)
            mine, theirs = _leaves(device, *shapes(n))
            grad = torch.randn(n, n, device=device)
            return (
                _step(mine, lambda: mine_op(*mine), Tensor(grad)),
                _step(theirs, lambda: torch_op(*theirs), grad),
            )

        return build

    return for_size


def _where_case(n: int) -> Callable[[str, int], Pair]:
    def build(device: str, seed: int) -> Pair:
        torch.manual_seed(seed)
        mine, theirs = _leaves(device, (n, n), (n, n))
        condition = torch.rand(n, n, device=device) > 0.5
        grad = torch.randn(n, n, device=device)
        mine_condition = Tensor(condition)
        return (
            _step(mine, lambda: minigrad.where(mine_condition, *mine), Tensor(grad)),
            _step(theirs, lambda: torch.where(condition, *theirs), grad),
        )

    return build


def _mean_case(n: int) -> Callable[[str, int], Pair]:
    def build(device: str, seed: int) -> Pair:
        torch.manual_seed(seed)
        mine, theirs = _leaves(device, (n, n))
        return _step(mine, lambda: mine[0].mean()), _step(theirs, lambda: theirs[0].mean())

    return build


def _cross_entropy_case(batch: int, classes: int) -> Callable[[str, int], Pair]:
    def build(device: str, seed: int) -> Pair:
        torch.manual_seed(seed)
        mine, theirs = _leaves(device, (batch, classes))
        targets = torch.randint(classes, (batch,), device=device)
        mine_targets = Tensor(targets)
        return (
            _step(mine, lambda: compat.cross_entropy(mine[0], mine_targets)),
            _step(theirs, lambda: F.cross_entropy(theirs[0], targets)),
        )

    return build


_matmul = _elementwise(lambda a, b: a @ b, lambda a, b: a @ b, lambda n: [(n, n), (n, n)])
_add = _elementwise(lambda x, b: x + b, lambda x, b: x + b, lambda n: [(n, n), (n,)])
_sigmoid = _elementwise(lambda x: x.sigmoid(), torch.sigmoid, lambda n: [(n, n)])


def _conv2d_case(
    batch: int, channels: int, out_channels: int, side: int, kernel: int, stride: int
) -> Callable[[str, int], Pair]:
    """A conv2d with bias, padding kernel // 2: forward, then backward to x, weight and bias."""

    def build(device: str, seed: int) -> Pair:
        torch.manual_seed(seed)
        shapes = [(batch, channels, side, side), (out_channels, channels, kernel, kernel)]
        mine, theirs = _leaves(device, *shapes, (out_channels,))
        options = {"stride": stride, "padding": kernel // 2}
        out_side = (side + 2 * (kernel // 2) - kernel) // stride + 1
        grad = torch.randn(batch, out_channels, out_side, out_side, device=device)
        return (
            _step(mine, lambda: minigrad.nn.functional.conv2d(*mine, **options), Tensor(grad)),
            _step(theirs, lambda: F.conv2d(*theirs, **options), grad),
        )

    return build


def cases(mode: str) -> list[OpCase]:
    matmul_sizes = by_mode(
        mode, smoke=[8], quick=[8, 64, 256, 1024], full=[8, 64, 256, 1024, 2048, 4096]
    )
    elementwise_sizes = by_mode(mode, smoke=[8], quick=[8, 256, 1024], full=[8, 256, 1024, 4096])
    ce_sizes = by_mode(
        mode,
        smoke=[(8, 10)],
        quick=[(64, 10), (1024, 100)],
        full=[(64, 10), (1024, 100), (8192, 1000)],
    )
    out = [OpCase("matmul", f"{n}x{n}", _matmul(n)) for n in matmul_sizes]
    for name, make in (("add (broadcast)", _add), ("sigmoid", _sigmoid)):
        out += [OpCase(name, f"{n}x{n}", make(n)) for n in elementwise_sizes]
    out += [OpCase("where", f"{n}x{n}", _where_case(n)) for n in elementwise_sizes]
    out += [OpCase("mean", f"{n}x{n}", _mean_case(n)) for n in elementwise_sizes]
    out += [OpCase("cross_entropy", f"{b}x{c}", _cross_entropy_case(b, c)) for b, c in ce_sizes]
    # (batch, in, out channels, side, kernel, stride): fastbook chapter 13's first two layers at
    # 28x28, then wider layers at 28x28 and 64x64
    conv_sizes = by_mode(
        mode,
        smoke=[(2, 1, 2, 8, 3, 1)],
        quick=[(64, 1, 16, 28, 5, 2), (64, 16, 32, 14, 3, 2), (32, 16, 32, 64, 3, 1)],
        full=[
            (64, 1, 16, 28, 5, 2),
            (64, 16, 32, 14, 3, 2),
            (64, 16, 32, 28, 3, 1),
            (32, 3, 16, 64, 3, 2),
            (32, 16, 32, 64, 3, 1),
        ],
    )
    out += [
        OpCase("conv2d", f"{b}x{c}x{n}x{n} k{k} s{st} -> {o} ch", _conv2d_case(b, c, o, n, k, st))
        for b, c, o, n, k, st in conv_sizes
    ]
    return out


def run(device: str, mode: str, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    rows = []
    budget = by_mode(mode, smoke=0.01, quick=0.25, full=1.0)
    for case in cases(mode):
        mine, theirs = case.build(device, 0)
        stats = compare({"minigrad": mine, "torch": theirs}, device, budget_s=budget)
        row = {
            "op": case.op,
            "size": case.size,
            "minigrad": stats["minigrad"].to_dict(),
            "torch": stats["torch"].to_dict(),
            "ratio": ratio(stats),
        }
        log(f"  {case.op:16} {case.size:>10}  ratio {row['ratio']:.2f}")
        rows.append(row)
    return rows
