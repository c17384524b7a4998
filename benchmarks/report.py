"""Writing a run down: the full numbers as JSON, and Markdown tables for people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _time(seconds: float | None) -> str:
    """Seconds in the unit that reads best: 12.3 µs, 4.56 ms, 1.23 s."""
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _spread(stats: dict[str, Any]) -> str:
    return f"{_time(stats['q1'])} – {_time(stats['q3'])}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def machine_lines(results: dict[str, Any]) -> list[str]:
    m = results["machine"]
    gpu = m.get("gpu") or "none"
    return [
        f"- date: {m['date']}; device: **{m['device']}**; mode: {results['mode']}",
        f"- CPU: {m['cpu']} ({m['cores']} cores, torch threads {m['torch_threads']}); GPU: {gpu}",
        f"- torch {m['torch']}, minigrad {m['minigrad']}, Python {m['python']}; "
        f"load average at start / end: {m['load_average_at_start']} / "
        f"{m.get('load_average_at_end', '?')}",
        f"- data: {results.get('data_source', '-')}",
    ]


def markdown(results: dict[str, Any]) -> str:
    """The tables: ratio = minigrad median / torch median (below 1: minigrad is faster)."""
    out = [f"## {results['machine']['device']} — {results['machine']['date']}", ""]
    out += machine_lines(results)
    if results.get("stand_ins"):
        out.append(f"- minigrad pieces missing, stand-ins used: {', '.join(results['stand_ins'])}")
    out += ["", "Times are medians per call, spread is the interquartile range (q1 – q3);", ""]
    out += ["ratio = minigrad / torch (below 1.00: minigrad faster).", ""]
    if "training" in results:
        out += ["### Training: one epoch", ""]
        rows = [
            [
                r["case"],
                str(r["batch_size"]),
                _time(r["minigrad"]["median"]),
                _time(r["torch"]["median"]),
                f"**{r['ratio']:.2f}**",
                f"{r['minigrad_accuracy']:.4f} / {r['torch_accuracy']:.4f}",
                f"{r['max_param_difference']:.1e}",
                f"{_spread(r['minigrad'])} / {_spread(r['torch'])}",
            ]
            for r in results["training"]
        ]
        header = ["workload", "batch", "minigrad", "torch", "ratio", "test accuracy mg / torch"]
        header += ["max param gap", "spread mg / torch"]
        out += _table(header, rows) + [""]
    if "compile" in results:
        out += ["### minigrad.compile: whole training steps, recorded once and replayed", ""]
        rows = []
        for r in results["compile"]["rows"]:
            compiled_torch = "-"
            if "torch.compile" in r:
                compiled_torch = f"{_time(r['torch.compile']['median'])}"
                if "torch.compile first calls s" in r:
                    compiled_torch += f" ({r['torch.compile first calls s']:.0f} s to compile)"
            first = r.get("first call / eager step")
            guards = r.get("guards / replay")
            rows.append(
                [
                    r["case"],
                    str(r["batch_size"]),
                    _time(r["torch"]["median"]),
                    compiled_torch,
                    _time(r["minigrad"]["median"]),
                    _time(r["minigrad.compile"]["median"]),
                    f"**{r['minigrad.compile ratio']:.2f}**",
                    f"{r['minigrad ratio']:.2f}",
                    "-" if first is None else f"{first:.1f}",
                    "-" if guards is None else f"{guards:.2%}",
                ]
            )
        header = ["workload", "batch", "torch eager", "torch.compile", "minigrad eager"]
        header += ["minigrad.compile", "compiled / torch eager", "eager / torch eager"]
        header += ["first call / eager step", "guards / replay"]
        out += _table(header, rows) + [""]
        out += [
            "guards / replay: the check before each replay (`step.guards`), timed interleaved "
            "with the replayed calls in the same run. Machine load during the run (uptime): "
            f"{results['compile'].get('uptime', '?')}.",
            "",
        ]
    if "ops" in results:
        out += ["### Ops: forward + backward", ""]
        rows = [
            [
                r["op"],
                r["size"],
                _time(r["minigrad"]["median"]),
                _time(r["torch"]["median"]),
                f"**{r['ratio']:.2f}**",
                f"{_spread(r['minigrad'])} / {_spread(r['torch'])}",
            ]
            for r in results["ops"]
        ]
        header = ["op", "size", "minigrad", "torch", "ratio", "spread mg / torch"]
        out += _table(header, rows) + [""]
    if "graph" in results:
        graph = results["graph"]
        out += ["### Graph overhead: a chain of n tiny multiplications, forward + backward", ""]
        rows = []
        for r in graph["rows"]:
            mine, theirs = r["minigrad"], r["torch"]
            rows.append(
                [
                    f"{r['ops']:,}",
                    f"{mine['forward_us_per_op']:.1f} + {mine['backward_us_per_op']:.1f}",
                    f"{theirs['forward_us_per_op']:.1f} + {theirs['backward_us_per_op']:.1f}",
                    f"{mine['total_us_per_op']:.1f} / {theirs['total_us_per_op']:.1f}",
                    f"**{r['ratio']:.2f}**",
                ]
            )
        header = ["ops", "minigrad µs/op fwd + bwd", "torch µs/op fwd + bwd"]
        header += ["median total µs/op mg / torch", "ratio"]
        out += _table(header, rows)
        slopes = graph["slope_us_per_op"]
        out += [
            "",
            f"Fitted slope of time against n: minigrad {slopes['minigrad']:.1f} µs/op, torch "
            f"{slopes['torch']:.1f} µs/op (a flat µs/op column means linear growth).",
            "",
        ]
    if "memory" in results:
        mem = results["memory"]
        key = mem["measure"]
        out += [f"### Memory: ten-digit MLP training, batch {mem['batch_size']} ({key})", ""]
        rows = [[str(r["step"]), f"{r[key]:.1f}", str(r["live_graph_nodes"])] for r in mem["rows"]]
        out += _table(["step", f"{key}", "graph nodes alive between steps"], rows)
        out += [
            "",
            f"Growth from step {mem['rows'][0]['step']} to {mem['rows'][-1]['step']}: "
            f"{mem['growth_mib']:+.1f} MiB; peak {mem['peak_mib']:.1f} MiB.",
            "",
        ]
    if "peers" in results:
        out += ["### Peers (optional)", ""]
        rows = [
            [r["peer"], r["workload"], _time(r["epoch_s"]), r["status"]] for r in results["peers"]
        ]
        out += _table(["peer", "workload", "epoch", "how"], rows) + [""]
    return "\n".join(out)


def update_results_file(path: Path, device: str, table: str) -> None:
    """Put `table` into RESULTS.md between the device's markers, keeping everything else."""
    start, end = f"<!-- {device}:start -->", f"<!-- {device}:end -->"
    text = path.read_text() if path.exists() else ""
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = f"{before}{start}\n{table}\n{end}{after}"
    else:
        text = f"{text.rstrip()}\n\n{start}\n{table}\n{end}\n"
    path.write_text(text)


def write(results: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """`<device>-<date>.json` and `.md` in out_dir, plus `latest-<device>.*` copies."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = results["machine"]["date"].replace(" ", "_").replace(":", "")
    device = results["machine"]["device"]
    text = json.dumps(results, indent=1)
    table = markdown(results)
    for name in (f"{device}-{stamp}", f"latest-{device}"):
        (out_dir / f"{name}.json").write_text(text)
        (out_dir / f"{name}.md").write_text(table + "\n")
    return out_dir / f"latest-{device}.json", out_dir / f"latest-{device}.md"
