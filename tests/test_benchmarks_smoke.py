"""The benchmark harness runs end to end and writes a valid report.

A correctness test of the harness, not a timing: the smoke mode uses the smallest sizes, and no
assertion here is about speed.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks/ is a folder of the repo, not an installed package

from benchmarks.graph import fitted_slope  # noqa: E402
from benchmarks.timing import Stats, by_mode, compare  # noqa: E402


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    """`python -m benchmarks --smoke` run as a user runs it, from the repository root."""
    out = tmp_path_factory.mktemp("bench")
    command = [sys.executable, "-m", "benchmarks", "--smoke", "--threads", "1", "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((out / "latest-cpu.json").read_text())
    markdown = (out / "latest-cpu.md").read_text()
    return results, markdown


def _positive_stats(stats: dict) -> None:
    assert stats["samples"] >= 1
    assert 0 < stats["min"] <= stats["q1"] <= stats["median"] <= stats["q3"] <= stats["max"]


def test_report_names_the_machine(report: tuple[dict, str]) -> None:
    results, markdown = report
    machine = results["machine"]
    assert machine["device"] == "cpu" and machine["cores"] >= 1
    assert machine["cpu"] and machine["torch"] and machine["date"]
    assert results["mode"] == "smoke"
    assert machine["cpu"] in markdown and machine["date"] in markdown


def test_every_section_is_in_the_json_and_the_markdown(report: tuple[dict, str]) -> None:
    results, markdown = report
    for section, title in [
        ("training", "### Training"),
        ("compile", "### minigrad.compile"),
        ("ops", "### Ops"),
        ("graph", "### Graph overhead"),
        ("memory", "### Memory"),
        ("peers", "### Peers"),
    ]:
        assert section in results
        assert title in markdown


def test_ops_rows_time_both_sides(report: tuple[dict, str]) -> None:
    results, _ = report
    ops = {row["op"] for row in results["ops"]}
    assert ops == {
        "matmul",
        "add (broadcast)",
        "sigmoid",
        "where",
        "mean",
        "cross_entropy",
        "conv2d",
    }
    for row in results["ops"]:
        _positive_stats(row["minigrad"])
        _positive_stats(row["torch"])
        assert math.isclose(row["ratio"], row["minigrad"]["median"] / row["torch"]["median"])


def test_training_runs_the_same_model_on_both_sides(report: tuple[dict, str]) -> None:
    results, _ = report
    batches = sorted(row["batch_size"] for row in results["training"])
    assert batches == [64, 64, 128, 256, 256, 256]  # the MLP by nn.Linear and by hand at each
    by_hand = [row["batch_size"] for row in results["training"] if "by hand" in row["case"]]
    assert by_hand == [256, 64]
    for row in results["training"]:
        _positive_stats(row["minigrad"])
        _positive_stats(row["torch"])
        # same initial weights and batch order: the two runs end with the same weights, to
        # float32's rounding (the smoke run trains the CNN in float64: see training.run).
        bound = 1e-10 if "CNN" in row["case"] else 1e-4
        assert row["max_param_difference"] < bound, row["case"]
        assert 0 <= row["minigrad_accuracy"] <= 1
        assert abs(row["minigrad_accuracy"] - row["torch_accuracy"]) < 0.01


def test_compile_rows_time_four_ways_and_the_first_call(report: tuple[dict, str]) -> None:
    results, _ = report
    rows = results["compile"]["rows"]
    assert [r["batch_size"] for r in rows] == [256, 256, 64, 256, 64, 128, 128, 64]
    assert "CNN" in rows[5]["case"] and rows[6]["case"] == rows[5]["case"] + ", channels last"
    assert "by hand" in rows[4]["case"] and rows[4]["guards / replay"] > 0
    assert rows[-1]["case"].startswith("WGAN-GP") and rows[-1]["guards / replay"] > 0
    for row in rows:
        for side in ("torch", "minigrad", "minigrad.compile"):
            _positive_stats(row[side])
        assert row["minigrad.compile ratio"] == pytest.approx(
            row["minigrad.compile"]["median"] / row["torch"]["median"]
        )
    assert all(row["first call / eager step"] > 0 for row in rows if row["batch_size"] != 256)
    assert "torch.compile" not in rows[0]  # inductor runs only in a full run (tens of seconds)


def test_kernels_time_formula_and_kernel_side_by_side(capsys: pytest.CaptureFixture) -> None:
    """`python -m benchmarks.kernels`: every row times both sides (batch 2 here)."""
    from benchmarks import kernels

    kernels.main(["--smoke"])
    printed = capsys.readouterr().out
    assert "load average" in printed and "at the end" in printed
    rows = [line for line in printed.splitlines() if line.startswith("| ") and "ms" not in line]
    ops = [line.split(" | ")[0][2:] for line in rows]
    assert ops.count("conv2d") == 8 and ops.count("avg_pool2d") == 3, printed
    assert {"max_pool2d", "adaptive_avg_pool2d"} <= set(ops)


def test_graph_and_memory_rows(report: tuple[dict, str]) -> None:
    results, _ = report
    graph = results["graph"]
    assert [row["ops"] for row in graph["rows"]] == [100, 200]
    for row in graph["rows"]:
        assert row["minigrad"]["total_us_per_op"] > 0 and row["torch"]["total_us_per_op"] > 0
    memory = results["memory"]
    assert [row["step"] for row in memory["rows"]] == [2, 4]
    # backward frees the graph: at most the last loss's own node is alive between steps
    assert all(row["live_graph_nodes"] <= 1 for row in memory["rows"])


def test_peers_say_what_happened(report: tuple[dict, str]) -> None:
    results, _ = report
    assert {row["peer"] for row in results["peers"]} == {"micrograd", "tinygrad"}
    for row in results["peers"]:
        assert row["status"]
        assert row["epoch_s"] is None or row["epoch_s"] > 0


def test_compare_interleaves_and_counts_samples() -> None:
    calls: list[str] = []
    stats = compare(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
        "cpu",
        budget_s=0.0,
        min_samples=3,
        max_samples=3,
        warmup=1,
        sample_s=0.0,
    )
    # warm-up and estimate, then the samples in turn, each side first every other round
    assert calls == ["a", "a", "b", "b"] + ["a", "b", "b", "a", "a", "b"]
    assert stats["a"].samples == stats["b"].samples == 3


def test_stats_and_slope_arithmetic() -> None:
    stats = Stats.of([4.0, 1.0, 3.0, 2.0, 5.0], calls_per_sample=1)
    assert (stats.min, stats.q1, stats.median, stats.q3, stats.max) == (1, 2, 3, 4, 5)
    assert fitted_slope([1, 2, 3], [5.0, 7.0, 9.0]) == pytest.approx(2.0)
    assert by_mode("quick", smoke=1, quick=2, full=3) == 2
    with pytest.raises(ValueError, match="mode must be one of"):
        by_mode("fast", smoke=1, quick=2, full=3)


def test_results_folder_is_ignored_by_git() -> None:
    ignore = ROOT / "benchmarks" / ".gitignore"
    assert "results/" in ignore.read_text().split()
