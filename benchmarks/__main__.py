"""`python -m benchmarks [--quick] [--device cpu|cuda] [--out DIR] [--only SECTION ...]`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from . import compat, compiled, graph, machine, memory, ops, peers, report, training
from .data import load_digits

SECTIONS = ("training", "compile", "ops", "graph", "memory", "peers")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="minigrad against torch autograd, side by side."
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: under two minutes")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's choice). On a busy machine --threads 1 "
        "avoids threads waiting on each other, which swamps every timing.",
    )
    parser.add_argument(
        "--update-results",
        action="store_true",
        help="also put this run's tables into benchmarks/RESULTS.md (its device's section)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, to test the harness (numbers meaningless)"
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("--device cuda, but torch sees no GPU here: use --device cpu")
    if args.threads:
        torch.set_num_threads(args.threads)
    sections = args.only or SECTIONS
    info = machine.describe(args.device)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if args.device == "cpu" and load > (os.cpu_count() or 1) and torch.get_num_threads() > 1:
        print(
            f"warning: load average {load:.1f} exceeds {os.cpu_count()} cores; multi-threaded "
            "torch kernels will wait on each other. Timings will be noisy: try --threads 1."
        )
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    results: dict[str, Any] = {"machine": info, "mode": mode}
    start = time.perf_counter()
    digits = None
    if {"training", "compile", "memory", "peers"} & set(sections):
        digits = load_digits(args.device)
        if args.smoke:
            digits = _shrunk(digits)
        results["data_source"] = digits.source
        print(f"data: {digits.source}")
    for section in sections:
        print(f"{section}:")
        if section == "training":
            results["training"] = training.run(digits, args.device, mode)
        elif section == "compile":
            results["compile"] = compiled.run(digits, args.device, mode)
        elif section == "ops":
            results["ops"] = ops.run(args.device, mode)
        elif section == "graph":
            results["graph"] = graph.run(args.device, mode)
        elif section == "memory":
            results["memory"] = memory.run(digits, args.device, mode)
        elif section == "peers":
            results["peers"] = peers.run(digits, mode)
    info["load_average_at_end"] = machine.load_average()
    info["wall_time_s"] = round(time.perf_counter() - start, 1)
    results["stand_ins"] = compat.missing()
    return results


def _shrunk(digits: Any) -> Any:
    """A few thousand samples: enough to check the harness end to end, in seconds."""
    from .data import Digits

    return Digits(
        digits.train_x[:2048],
        digits.train_y[:2048],
        digits.test_x[:512],
        digits.test_y[:512],
        source=digits.source + " (first 2048 / 512 samples: smoke test)",
    )


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results = run(args)
    json_path, md_path = report.write(results, args.out)
    print(report.markdown(results))
    print(f"\nwrote {json_path} and {md_path} ({results['machine']['wall_time_s']} s)")
    if args.update_results:
        results_file = Path(__file__).parent / "RESULTS.md"
        report.update_results_file(results_file, args.device, report.markdown(results))
        print(f"updated the {args.device} section of {results_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
