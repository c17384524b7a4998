"""Every chapter of the docs runs as pasted into a Python prompt and prints what it shows; its
notebook is up to date with it and runs too; its pictures are what its code draws.

The chapters and the machinery are in docs/build.py (a new chapter is one more name in its
CHAPTERS). The real MNIST is needed: set MINIGRAD_DATA (CI sets it to ../shared/data).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import torch

import minigrad

DOCS = Path(__file__).resolve().parent.parent / "docs"
spec = importlib.util.spec_from_file_location("docs_build", DOCS / "build.py")
build = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = build
spec.loader.exec_module(build)

needs_mnist = pytest.mark.skipif(
    not os.environ.get("MINIGRAD_DATA"),
    reason="the chapters read the real MNIST: set MINIGRAD_DATA to the folder holding it "
    "(CI sets it to ../shared/data)",
)
REBUILD = "run `python docs/build.py` (it needs MINIGRAD_DATA and Graphviz) and commit the result"


# ---- the runner itself -------------------------------------------------------------------------


def test_the_runner_compares_output_and_can_fail(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nx = 2\nprint(x + 1)\n```\n\n```text\n3\n```\n")
    build.run_page(page)
    page.write_text("```python\nprint(4)\n```\n```text\n5\n```\n")
    with pytest.raises(AssertionError, match="printed:\n4\n"):
        build.run_page(page)


def test_blocks_share_one_namespace_and_other_languages_are_not_run(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\na = 1\n```\n```bash\nexit 1\n```\n```python\nprint(a)\n```\n")
    steps = build.python_steps(page.read_text())
    assert [source for source, _, _ in steps] == ["a = 1\n", "print(a)\n"]
    assert build.run_page(page)["a"] == 1


@pytest.mark.parametrize(
    "block",
    [
        "with open('x', 'w') as f:\n    pass\nprint(1)\n",  # no empty line after an indented block
        "def f():\n    a = 1\n\n    return a\n",  # an empty line inside one
    ],
)
def test_a_block_that_fails_at_a_python_prompt_fails_here(tmp_path, monkeypatch, block):
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "as a file", "exec"), {})  # fine as a file...
    page = tmp_path / "page.md"
    page.write_text(f"```python\n{block}```\n")
    with pytest.raises(SyntaxError, match="fails when pasted into a python prompt"):
        build.run_page(page)  # ...not at a prompt


def test_the_prompt_shows_expression_values_as_a_prompt_does(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\n1 + 1\n```\n```text\n2\n```\n")
    build.run_page(page)


# ---- the chapters ------------------------------------------------------------------------------


@pytest.fixture
def on_the_cpu(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # files a chapter writes land here
    # The outputs shown are the CPU's: on CUDA, randn draws other numbers (seen on an H200).
    monkeypatch.setenv("MINIGRAD_DEVICE", "cpu")  # for the notebook's kernel
    minigrad.set_default_device("cpu")
    yield
    minigrad.set_default_device(None)


@needs_mnist
@pytest.mark.parametrize("chapter", build.CHAPTERS)
def test_chapter_runs_at_a_prompt_and_its_pictures_are_what_it_draws(chapter, on_the_cpu):
    namespace = build.run_page(DOCS / f"{chapter}.md")
    for picture, variable in build.FIGURES.get(chapter, {}).items():
        svg = (DOCS / picture).read_text()
        dot_text = namespace[variable]
        assert build.recorded_digest(svg) == build.dot_digest(dot_text), (
            f"docs/{picture} was drawn from other DOT text than `{variable}` holds now: {REBUILD}"
        )
        if shutil.which("dot") and _graphviz_version() in svg:
            assert build.render(dot_text) == svg, f"docs/{picture} is not what dot draws: {REBUILD}"


def _graphviz_version() -> str:
    import subprocess

    version = subprocess.run(["dot", "-V"], capture_output=True, text=True).stderr
    found = re.search(r"version (\S+)", version)
    return f"graphviz version {found.group(1)}" if found else "?"


@pytest.mark.parametrize("chapter", build.CHAPTERS)
def test_committed_notebook_is_the_chapter(chapter):
    committed = (DOCS / f"{chapter}.ipynb").read_text()
    assert build.without_outputs(committed) == build.notebook_text(chapter), (
        f"docs/{chapter}.ipynb is stale: {REBUILD}"
    )


@pytest.mark.parametrize("chapter", build.CHAPTERS)
def test_committed_notebook_was_run_and_shows_what_the_chapter_shows(chapter):
    import nbformat

    notebook = nbformat.reads((DOCS / f"{chapter}.ipynb").read_text(), as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    steps = build.python_steps((DOCS / f"{chapter}.md").read_text())
    assert [cell.execution_count for cell in code_cells] == list(range(1, len(steps) + 1)), (
        f"docs/{chapter}.ipynb was committed without running it: {REBUILD}"
    )
    for cell, (_, expected, line) in zip(code_cells, steps):
        assert all(output.output_type != "error" for output in cell.outputs)
        if expected is not None:
            assert build.printed(cell) == expected, f"docs/{chapter}.ipynb, {chapter}.md:{line}"


@needs_mnist
@pytest.mark.parametrize("chapter", build.CHAPTERS)
def test_notebook_runs_and_prints_what_the_chapter_shows(chapter, on_the_cpu, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.reads((DOCS / f"{chapter}.ipynb").read_text(), as_version=4)
    NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(tmp_path)}}).execute()
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    steps = build.python_steps((DOCS / f"{chapter}.md").read_text())
    assert len(code_cells) == len(steps)
    for cell, (_, expected, line) in zip(code_cells, steps):
        printed = build.printed(cell)
        if expected is not None:
            assert printed == expected, (
                f"the notebook's cell for {chapter}.md:{line} printed {printed!r}"
            )


def test_the_readmes_idea_on_one_screen_prints_the_trace_it_shows(capsys):
    readme = (DOCS.parent / "README.md").read_text()
    source, expected, _ = build.python_steps(readme)[0]  # "The idea on one screen"
    exec(compile(source, "README.md", "exec"), {})
    assert capsys.readouterr().out == expected


def test_the_readmes_gradients_of_gradients_give_tanh_s_derivatives():
    readme = (DOCS.parent / "README.md").read_text()
    section = readme[readme.index("## Gradients of gradients") :]
    source = section[section.index("```python") + len("```python") : section.index("```\n", 20)]
    scope: dict = {}
    exec(compile(source, "README.md", "exec"), scope)
    t = torch.tanh(scope["x"]._data)
    assert torch.allclose(scope["dy"]._data, 1 - t**2)
    assert torch.allclose(scope["d2y"]._data, -2 * t * (1 - t**2))
