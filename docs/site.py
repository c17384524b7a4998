"""MkDocs hooks (mkdocs.yml names this file): the pages that are made, not written.

- the home page: the README, its links pointed at the site's pages;
- the derivative reference: one page per op family, from the ops (docs/reference.py);
- the API reference: mkdocstrings pages, one per part of minigrad;
- the benchmarks: the tables and a chart of the ratios, from benchmarks/latest-*.json;
- the chapters: shown from their notebooks, which hold the outputs the tests check (the
  chapter's .md is the source the notebook is made from, so the site leaves it out).
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent


def _load(name: str) -> Any:
    """A script of docs/ as a module (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


build = _load("build")

# The parts of minigrad the API reference has a page for: (page, title, modules).
API = [
    ("tensor", "Tensor", ["minigrad.tensor.Tensor"]),
    ("creation", "Making tensors", ["minigrad.creation"]),
    ("autograd", "autograd", ["minigrad.autograd.function", "minigrad.autograd.engine",
                              "minigrad.autograd.events", "minigrad.autograd.grad_mode",
                              "minigrad.autograd.gradients", "minigrad.autograd.anomaly_mode"]),
    ("nn", "nn", ["minigrad.nn.modules", "minigrad.nn.functional", "minigrad.nn.init"]),
    ("optim", "optim", ["minigrad.optim"]),
    ("data", "data", ["minigrad.data"]),
    ("learner", "Learner", ["minigrad.learner"]),
    ("viz", "Pictures: graph and stepper", ["minigrad.viz.graph", "minigrad.viz.stepper"]),
    ("trace", "trace and explain", ["minigrad.trace", "minigrad.explain"]),
    ("testing", "testing", ["minigrad.testing.checks", "minigrad.testing.strategies"]),
    ("compile", "compile", ["minigrad.jit"]),
]  # fmt: skip


# ---- the nav: the generated pages take their places ---------------------------------------------


def on_config(config: Any) -> Any:
    reference = _load("reference")
    families = list(reference.families())
    for section in config["nav"]:
        if "Derivatives" in section:
            index = section["Derivatives"]
            section["Derivatives"] = [{"All ops": index}] + [
                {f"{family}.py": f"derivatives/{family}.md"} for family in families
            ]
        if "API" in section:
            section["API"] = [{title: f"api/{page}.md"} for page, title, _ in API]
    return config


# ---- the pages ----------------------------------------------------------------------------------


def on_files(files: Files, config: Any) -> Files:
    for chapter in build.CHAPTERS:  # shown from its notebook
        source = files.get_file_from_path(f"{chapter}.md")
        if source is not None:
            files.remove(source)
    pages = {"index.md": home_page(), "benchmarks.md": benchmarks_page()}
    pages.update(_load("reference").pages())
    pages.update({f"api/{page}.md": api_page(title, modules) for page, title, modules in API})
    for path, text in pages.items():
        files.append(File.generated(config, path, content=text))
    files.append(File.generated(config, "benchmark-ratios.svg", content=ratio_chart()))
    return files


def home_page() -> str:
    """The README, with its links to files of the repository pointed at the site's pages (or
    at nothing: a file the site does not show is named, not linked)."""
    readme = (ROOT / "README.md").read_text()

    def relink(match: re.Match[str]) -> str:
        text, target = match.group(1), match.group(2)
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            return match.group(0)
        path, _, anchor = target.partition("#")
        page = _page_for(path)
        if page is None:
            return text
        return f"[{text}]({page}{'#' + anchor if anchor else ''})"

    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", relink, readme)


def _page_for(path: str) -> str | None:
    if path == "benchmarks/RESULTS.md":
        return "benchmarks.md"
    if not path.startswith("docs/"):
        return None
    name = path.removeprefix("docs/")
    stem = name.rsplit(".", 1)[0]
    if (DOCS / f"{stem}.ipynb").exists():
        return f"{stem}.ipynb"
    return name if (DOCS / name).exists() else None


def api_page(title: str, modules: list[str]) -> str:
    return f"# {title}\n\n" + "\n\n".join(f"::: {module}" for module in modules) + "\n"


# ---- the benchmarks -----------------------------------------------------------------------------


def latest_results() -> dict[str, dict[str, Any]]:
    """device -> the latest results file's contents (benchmarks/latest-<device>.json)."""
    return {
        path.stem.removeprefix("latest-"): json.loads(path.read_text())
        for path in sorted((ROOT / "benchmarks").glob("latest-*.json"))
    }


def ratios(results: dict[str, Any]) -> dict[str, float]:
    """workload -> minigrad's time / torch's, from one results file."""
    found = {}
    for row in results.get("training", []):
        found[f"epoch: {row['case']}, batch {row['batch_size']}"] = row["ratio"]
    for row in results.get("compile", {}).get("rows", []):
        if row.get("minigrad.compile ratio") is not None:
            found[f"compiled step: {row['case']}, batch {row['batch_size']}"] = row[
                "minigrad.compile ratio"
            ]
    for row in results.get("ops", []):
        found[f"op: {row['op']} {row['size']}"] = row["ratio"]
    return found


def ratio_chart() -> str:
    """A bar per workload and device: minigrad's time over torch's (below 1, minigrad is
    faster), as SVG drawn by matplotlib from the latest results files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_device = {device: ratios(results) for device, results in latest_results().items()}
    workloads = list(dict.fromkeys(w for found in by_device.values() for w in found))
    height = 0.8 / max(len(by_device), 1)
    figure, axes = plt.subplots(figsize=(9, 0.32 * len(workloads) * len(by_device) + 1.2))
    for k, (device, found) in enumerate(by_device.items()):
        rows = [i for i, w in enumerate(workloads) if w in found]
        axes.barh([i + k * height for i in rows], [found[workloads[i]] for i in rows],
                  height=height, label=device)  # fmt: skip
    axes.axvline(1.0, color="black", linewidth=1)
    axes.set_yticks([i + height * (len(by_device) - 1) / 2 for i in range(len(workloads))])
    axes.set_yticklabels(workloads, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("minigrad time / torch time (below 1: minigrad is faster)")
    axes.legend(loc="lower right")
    figure.tight_layout()
    svg = io.StringIO()
    plt.rcParams["svg.hashsalt"] = "minigrad"  # the same picture from the same numbers
    figure.savefig(svg, format="svg", metadata={"Date": None})
    plt.close(figure)
    return svg.getvalue()


def benchmarks_page() -> str:
    sys.path.insert(0, str(ROOT))
    from benchmarks import report

    narrative = (ROOT / "benchmarks" / "RESULTS.md").read_text().split("\n## CPU")[0]
    narrative = narrative.replace("# minigrad against PyTorch autograd: results", "").strip()
    lines = [
        "# Benchmarks: minigrad against PyTorch autograd",
        "",
        "Drawn when the site is built, from the latest results files "
        "(`benchmarks/latest-*.json`, written by `python -m benchmarks`).",
        "",
        "![minigrad's time over torch's per workload and device](benchmark-ratios.svg)",
        "",
    ]
    for results in latest_results().values():
        lines += [_demote(report.markdown(results)), ""]
    lines += ["## Reading the numbers", "", _demote(narrative), ""]
    return "\n".join(lines)


def _demote(markdown: str) -> str:
    """One heading level down, under the page's own title."""
    return re.sub(r"^(#+) ", r"#\1 ", markdown, flags=re.MULTILINE)


# ---- the chapters' links, in the notebooks' pages -----------------------------------------------


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    """A notebook's Markdown is rendered by nbconvert, which leaves links as written: point a
    chapter's `other.md` (or `other.ipynb`) at that chapter's page."""
    if not page.file.src_uri.endswith(".ipynb"):
        return html

    def relink(match: re.Match[str]) -> str:
        stem, anchor = match.group(1), match.group(3) or ""
        target = files.get_file_from_path(f"{stem}.ipynb") or files.get_file_from_path(f"{stem}.md")
        if target is None:
            return match.group(0)
        return f'href="{target.url_relative_to(page.file)}{anchor}"'

    return re.sub(r'href="([\w-]+)\.(md|ipynb)(#[\w-]+)?"', relink, html)
