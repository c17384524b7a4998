"""Every Python block of the docs runs, and prints what the docs say it prints.

A docs page is a story in Markdown. Its ```python blocks run in order, in one namespace (like
cells of a notebook); a ```text block right after a python block is that block's expected
output, compared exactly. Blocks in other languages (```bash) are shown, not run.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

import minigrad

DOCS = Path(__file__).resolve().parent.parent / "docs"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def code_blocks(markdown: str) -> list[tuple[str, str, int]]:
    """(language, code, line number) of each fenced block."""
    return [
        (m.group(1), m.group(2), markdown.count("\n", 0, m.start()) + 1)
        for m in FENCE.finditer(markdown)
    ]


def python_steps(markdown: str) -> list[tuple[str, str | None, int]]:
    """Each python block with the text block that follows it (None when there is none)."""
    blocks = code_blocks(markdown)
    steps = []
    for i, (language, code, line) in enumerate(blocks):
        if language != "python":
            continue
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        expected = following[1] if following and following[0] == "text" else None
        steps.append((code, expected, line))
    return steps


def run_page(path: Path) -> None:
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for code, expected, line in python_steps(path.read_text()):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, f"{path.name}:{line}", "exec"), namespace)
        if expected is not None and printed.getvalue() != expected:
            raise AssertionError(
                f"{path.name}, the python block at line {line} printed:\n{printed.getvalue()}\n"
                f"but the docs show:\n{expected}"
            )


def test_the_runner_compares_output_and_can_fail(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nx = 2\nprint(x + 1)\n```\n\n```text\n3\n```\n")
    run_page(page)
    page.write_text("```python\nprint(4)\n```\n```text\n5\n```\n")
    with pytest.raises(AssertionError, match="printed:\n4\n"):
        run_page(page)


def test_blocks_share_one_namespace_and_other_languages_are_not_run(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\na = 1\n```\n```bash\nexit 1\n```\n```python\nprint(a)\n```\n")
    assert [code for code, _, _ in python_steps(page.read_text())] == ["a = 1\n", "print(a)\n"]
    run_page(page)


PAGES = sorted(DOCS.glob("*.md"))


@pytest.mark.skipif(
    not os.environ.get("MINIGRAD_DATA"),
    reason="the tutorial reads the real MNIST: set MINIGRAD_DATA to the folder holding it "
    "(CI sets it to ../shared/data)",
)
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_docs_page_runs_and_prints_what_it_shows(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # files a page writes land here
    # The outputs shown are the CPU's: on CUDA, randn draws other numbers (seen on an H200).
    minigrad.set_default_device("cpu")
    try:
        run_page(page)
    finally:
        minigrad.set_default_device(None)
