"""A griffe extension (mkdocs.yml loads it for the API reference): minigrad's docstrings are
prose and maths (`out[i][j] = x[index[i][j]][j]`, `a * b`), not Markdown, so their brackets,
stars and underscores are escaped before Markdown reads them. Code stays as written: `spans`
and indented blocks (the examples)."""

from __future__ import annotations

import re
from typing import Any

import griffe

SPECIAL = re.compile(r"([\\*_\[\]<>])")


def as_markdown(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        if line.startswith("    "):  # an indented block: an example, shown as code
            lines.append(line)
            continue
        parts = re.split(r"(`[^`]*`)", line)  # odd parts are `code`
        lines.append("".join(p if i % 2 else SPECIAL.sub(r"\\\1", p) for i, p in enumerate(parts)))
    return "\n".join(lines)


class ProseDocstrings(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = as_markdown(obj.docstring.value)
