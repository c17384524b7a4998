"""Telling the user about the slow steps (downloading, unpacking, decoding): one line on stderr
that says what is happening, and a tqdm progress bar, in a terminal or as a widget in a notebook
(``tqdm.auto``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from tqdm.auto import tqdm
from tqdm.utils import CallbackIOWrapper


def _say(message: str) -> None:
    """One line on stderr, also in logs, where no progress bar is drawn."""
    print(message, file=sys.stderr, flush=True)


def _progress(total: int | None, description: str, unit: str) -> tqdm:
    """tqdm's bar, in a terminal or as a notebook widget; nothing in a log or a pipe
    (disable=None), and erased when done (leave=False): the lines of _say stay."""
    scale = {"unit_scale": True, "unit_divisor": 1024} if unit == "B" else {}
    return tqdm(total=total, desc=description, unit=unit, leave=False, disable=None, **scale)


@contextmanager
def _reading_with_progress(path: Path, description: str) -> Iterator[BinaryIO]:
    """The file opened for reading, with a bar that follows the bytes read."""
    with open(path, "rb") as file, _progress(path.stat().st_size, description, "B") as bar:
        yield CallbackIOWrapper(bar.update, file, "read")
