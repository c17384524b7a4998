"""A one-line progress bar for training loops, drawn only when a person is watching.

When output goes to a file, a pipe or a test's capture (`stream.isatty()` is False), the bar
draws nothing at all: logs stay clean and carriage returns never end up in them.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """`bar.update(done)` redraws `label [#####.....] done/total`; `bar.close()` erases it.

    Redraws at most every `interval` seconds: a terminal write per batch would cost more than
    a small model's whole training step.
    """

    def __init__(
        self,
        total: int | None,
        label: str = "",
        stream: TextIO | None = None,
        width: int = 30,
        interval: float = 0.1,
    ) -> None:
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stdout
        self.width = width
        self.interval = interval
        self.enabled = _is_terminal(self.stream)
        self._last_draw = float("-inf")

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_draw < self.interval and done != self.total:
            return
        self._last_draw = now
        self.stream.write("\r" + self._line(done))
        self.stream.flush()

    def close(self) -> None:
        """Erase the bar, so that the next line prints where it was."""
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _line(self, done: int) -> str:
        if not self.total:
            return f"{self.label} {done}"
        filled = self.width * done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        return f"{self.label} [{bar}] {done}/{self.total}"


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
