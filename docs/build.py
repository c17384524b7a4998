"""Build what the docs' chapters show, from the chapters themselves.

    python docs/build.py     # each chapter's notebook and pictures (needs MINIGRAD_DATA)

A chapter is `docs/<name>.md`: a story in Markdown whose ```python blocks run in order, in one
namespace, as if pasted one after the other into a `python` prompt. A ```text block right after
a python block is what that block prints. tests/test_docs.py runs every chapter this way and
compares what it prints; it also checks that the files below are up to date and runs each
notebook. From a chapter, this script makes:

- `docs/<name>.ipynb`: the same chapter as a Jupyter notebook (with jupytext), less the ```text
  blocks, run (with nbclient) and kept with its outputs: a notebook shows the real outputs
  under each cell, on a code host and on the site (`make docs`), which shows the chapters
  from their notebooks;
- the pictures named in FIGURES: after the chapter has run, the DOT text that a variable of it
  holds, drawn with Graphviz's `dot` program as an SVG that records which text it was drawn
  from (so the tests can tell when the code draws something else).

A new chapter is one more name in CHAPTERS.
"""

from __future__ import annotations

import code
import contextlib
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
CHAPTERS = ["tutorial", "stepper", "convolutions", "compile", "higher_order"]
FIGURES = {"tutorial": {"tutorial-graph.svg": "dot"}}  # chapter: {picture: variable with DOT}

FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SOURCE_NOTE = "<!-- drawn from DOT text with sha256 {} -->"


# ---- running a chapter -------------------------------------------------------------------------


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
    for i, (language, source, line) in enumerate(blocks):
        if language != "python":
            continue
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        expected = following[1] if following and following[0] == "text" else None
        steps.append((source, expected, line))
    return steps


class Prompt(code.InteractiveConsole):
    """Python's own prompt (the `code` module), line by line, as a paste into `python` runs: a
    block that only works as a file (a blank line inside a function, no blank line after an
    indented block) is a SyntaxError here too. Errors are raised, not printed."""

    def showsyntaxerror(self, *args: Any, **kwargs: Any) -> None:
        raise  # called while the SyntaxError is being handled: re-raise it

    def showtraceback(self, *args: Any, **kwargs: Any) -> None:
        raise  # the exception being handled

    def paste(self, source: str, where: str) -> None:
        self.filename = where
        try:
            for line in [*source.splitlines(), ""]:  # the empty line: Enter, closing a block
                self.push(line)
        except SyntaxError as error:
            raise SyntaxError(
                f"{where}: this block fails when pasted into a python prompt ({error.msg}, its "
                f"line {error.lineno}). A prompt ends an indented block at the first empty "
                "line, and needs one before the next unindented line."
            ) from error


def run_page(path: Path) -> dict[str, Any]:
    """Run a chapter's python blocks at a Python prompt, checking what each prints; return the
    prompt's namespace."""
    prompt = Prompt({"__name__": "__console__"})
    for source, expected, line in python_steps(path.read_text()):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            prompt.paste(source, f"{path.name}:{line}")
        if expected is not None and printed.getvalue() != expected:
            raise AssertionError(
                f"{path.name}, the python block at line {line} printed:\n{printed.getvalue()}\n"
                f"but the docs show:\n{expected}"
            )
    return prompt.locals


# ---- the notebook ------------------------------------------------------------------------------


METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
# What a notebook keeps of its outputs: what a reader sees (printed text, values, pictures, HTML
# such as the stepper), not the progress bars and warnings that a run writes to stderr.
KEPT_OUTPUT_TYPES = {"text/plain", "text/html", "image/svg+xml", "image/png"}


def notebook_text(chapter: str) -> str:
    """docs/<chapter>.ipynb's cells as they should be, without outputs: the chapter, less its
    ```text blocks, as a notebook with fixed cell ids and metadata (so that the same chapter
    always gives the same file)."""
    import jupytext
    import nbformat

    markdown = (DOCS / f"{chapter}.md").read_text()
    without_outputs = re.sub(r"(^```python\n.*?^```\n)\s*^```text\n.*?^```\n", r"\1", markdown,
                             flags=re.MULTILINE | re.DOTALL)  # fmt: skip
    notebook = jupytext.reads(without_outputs, fmt="md")
    notebook.metadata = METADATA
    for i, cell in enumerate(notebook.cells):
        cell.id = f"{chapter}-{i}"
    return nbformat.writes(notebook) + "\n"


def without_outputs(notebook_json: str) -> str:
    """A notebook's text with its outputs and execution counts taken out."""
    import nbformat

    notebook = nbformat.reads(notebook_json, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nbformat.writes(notebook) + "\n"


def executed_notebook_text(chapter: str, folder: Path) -> str:
    """The chapter's notebook, run in `folder` (on the CPU), with the outputs a reader sees."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.reads(notebook_text(chapter), as_version=4)
    resources = {"metadata": {"path": str(folder)}}
    NotebookClient(notebook, timeout=600, resources=resources, record_timing=False).execute()
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.outputs:
            if output.output_type == "stream" and output.name != "stdout":
                continue
            if output.output_type in ("display_data", "execute_result"):
                output.data = {k: v for k, v in output.data.items() if k in KEPT_OUTPUT_TYPES}
                output.metadata = {}
                if not output.data:
                    continue
            kept.append(output)
        cell.outputs = kept
    notebook.metadata = METADATA
    return nbformat.writes(notebook) + "\n"


def printed(cell: Any) -> str:
    """What a notebook cell printed (its stdout)."""
    return "".join(o.text for o in cell.outputs if o.get("name") == "stdout")


# ---- the pictures ------------------------------------------------------------------------------


def dot_digest(dot_text: str) -> str:
    return hashlib.sha256(dot_text.encode()).hexdigest()


def recorded_digest(svg: str) -> str | None:
    """The digest of the DOT text an SVG made by `render` was drawn from."""
    found = re.search(SOURCE_NOTE.format(r"([0-9a-f]{64})"), svg)
    return found.group(1) if found else None


def render(dot_text: str) -> str:
    """The SVG that Graphviz's `dot` draws from dot_text, noting which text it was."""
    if shutil.which("dot") is None:
        raise SystemExit(
            "docs/build.py draws the pictures with Graphviz's `dot` program, which is not "
            "installed: apt-get install graphviz (or brew install graphviz), then run it again."
        )
    svg = subprocess.run(
        ["dot", "-Tsvg"], input=dot_text, capture_output=True, text=True, check=True
    ).stdout
    declaration, rest = svg.split("\n", 1)
    return f"{declaration}\n{SOURCE_NOTE.format(dot_digest(dot_text))}\n{rest}"


def main() -> None:
    os.environ.setdefault("MINIGRAD_DEVICE", "cpu")  # the outputs shown are the CPU's
    for chapter in CHAPTERS:
        notebook = DOCS / f"{chapter}.ipynb"
        with tempfile.TemporaryDirectory() as scratch:  # files the notebook writes land here
            notebook.write_text(executed_notebook_text(chapter, Path(scratch)))
        print(f"wrote {notebook}")
        if chapter not in FIGURES:
            continue
        here = Path.cwd()
        with tempfile.TemporaryDirectory() as scratch:
            os.chdir(scratch)  # files the chapter writes land here
            try:
                namespace = run_page(DOCS / f"{chapter}.md")
            finally:
                os.chdir(here)
        for picture, variable in FIGURES[chapter].items():
            (DOCS / picture).write_text(render(namespace[variable]))
            print(f"wrote {DOCS / picture}")


if __name__ == "__main__":
    sys.exit(main())
