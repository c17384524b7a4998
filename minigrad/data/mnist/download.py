"""Downloading one file: from the first URL that answers, with a progress bar, into a temporary
file next to where it belongs, renamed into place only after its check passed. So an interrupted
or refused download never leaves behind a half-written file that looks complete. The cache of
decoded PNGs writes its files the same way (_atomic_path).
"""

from __future__ import annotations

import os
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .dataset import MNISTError
from .places import _not_found_error, _Place
from .progress import _progress, _say


def _download(
    urls: list[str],
    destination: Path,
    check: Callable[[Path], None],
    places: list[_Place],
) -> None:
    """Fetch the first URL that works into destination; keep it only if check() passes."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        try:
            with _atomic_path(destination) as temporary:
                _fetch(url, temporary)
                check(temporary)
            return
        except (OSError, MNISTError) as error:  # URLError is an OSError.
            failures.append(f"  - {url}: {error}")
    reason = f"Downloading {destination.name} failed:\n" + "\n".join(failures)
    summary = f"downloading it failed ({failures[0].removeprefix('  - ').splitlines()[0]})"
    raise _not_found_error(places, destination.name, reason, summary)


@contextmanager
def _atomic_path(destination: Path) -> Iterator[Path]:
    """Yield a temporary path next to destination; rename it there only if all went well.

    os.replace within one folder is atomic: readers see the old state or the whole new
    file, never a partial one. On any error (or Ctrl-C) the temporary file is removed.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def _fetch(url: str, path: Path, chunk_size: int = 1 << 16) -> None:
    with urllib.request.urlopen(url, timeout=30) as response, open(path, "wb") as file:
        _say(f"Downloading {url}")
        total = int(response.headers.get("Content-Length") or 0) or None
        with _progress(total, url.rsplit("/", 1)[-1], "B") as bar:
            while chunk := response.read(chunk_size):
                file.write(chunk)
                bar.update(len(chunk))
