"""Where to look for MNIST, in order: ``root`` (else $MINIGRAD_DATA), then the cache folder, each
with its subfolders ``mnist/`` and ``mnist_png/``. The first of these folders that holds the four
IDX files, or the PNG tree or its .tgz, is where the data is read from.

When none does, the error lists every folder looked in and what each one holds, and says how to
provide the data: a learner should not have to guess where minigrad looked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .dataset import OFFICIAL_MD5, PNG_TGZ_NAME, MNISTError

HOW_TO_PROVIDE_DATA = (
    "To fix this, set the environment variable MINIGRAD_DATA to a folder holding one of:\n"
    f"  * {PNG_TGZ_NAME} (fast.ai's archive),\n"
    "  * the unpacked PNG tree (a folder with training/ and testing/ in it),\n"
    "  * the four IDX files (" + ", ".join(f"{name}.gz" for name in OFFICIAL_MD5) + "),\n"
    "for example `export MINIGRAD_DATA=/path/to/data`, or pass root=... to load_mnist;\n"
    "or run with download=True on a machine that can reach the internet."
)


def default_cache_dir() -> Path:
    """$MINIGRAD_CACHE if set, else ~/.cache/minigrad."""
    from_env = os.environ.get("MINIGRAD_CACHE")
    return Path(from_env) if from_env else Path.home() / ".cache" / "minigrad"


@dataclass(frozen=True)
class _Place:
    """A folder to search, and why we search it (shown in the 'not found' error)."""

    folder: Path
    why: str


def _resolve_cache_dir(cache_dir: str | os.PathLike | None) -> Path:
    return Path(cache_dir) if cache_dir is not None else default_cache_dir()


_SUBFOLDERS = ("mnist", "mnist_png")


def _search_folders(root: str | os.PathLike | None, cache: Path) -> list[_Place]:
    places: list[_Place] = []
    if root is not None:
        base, why = Path(root), "root argument"
    elif os.environ.get("MINIGRAD_DATA"):
        base, why = Path(os.environ["MINIGRAD_DATA"]), "$MINIGRAD_DATA"
    else:
        base, why = None, ""
    if base is not None:
        places += [_Place(base / sub, why) for sub in (".", *_SUBFOLDERS)]
    places += [_Place(cache / sub, "cache folder") for sub in (".", *_SUBFOLDERS)]
    # Path("x") / "." is Path("x"), so the first entry of each group is the folder itself.
    return places


def _idx_file(folder: Path, name: str) -> Path | None:
    """The IDX file called ``name`` in ``folder``, plain or gzipped, if there is one."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _first_folder_with_idx(places: list[_Place]) -> Path | None:
    for place in places:
        if all(_idx_file(place.folder, name) for name in OFFICIAL_MD5):
            return place.folder
    return None


def _is_png_tree(folder: Path) -> bool:
    return (folder / "training").is_dir() and (folder / "testing").is_dir()


def _find_png_source(places: list[_Place]) -> Path | None:
    """The first searched folder's unpacked PNG tree or, failing that, its mnist_png.tgz."""
    for place in places:
        if _is_png_tree(place.folder):
            return place.folder
        if (place.folder / PNG_TGZ_NAME).is_file():
            return place.folder / PNG_TGZ_NAME
    return None


def _describe(folder: Path) -> str:
    """What a searched folder holds, in a few words, for the 'not found' error."""
    if not folder.is_dir():
        return "does not exist"
    found = [name for name in OFFICIAL_MD5 if _idx_file(folder, name)]
    if found:
        missing = [name for name in OFFICIAL_MD5 if name not in found]
        return f"has {len(found)} of the 4 IDX files, missing: {', '.join(missing)}"
    if (folder / "training").is_dir() or (folder / "testing").is_dir():
        return "has only one of training/ and testing/"
    return "holds no MNIST files"


def _not_found_error(
    places: list[_Place], what: str, reason: str, summary: str | None = None
) -> MNISTError:
    looked = "\n".join(f"  - {p.folder}  ({p.why}): {_describe(p.folder)}" for p in places)
    env_note = "" if os.environ.get("MINIGRAD_DATA") else "\n($MINIGRAD_DATA is not set.)"
    return MNISTError(
        f"MNIST data ({what}) not found. Places looked in, in order:\n{looked}{env_note}\n"
        f"{reason}\n{HOW_TO_PROVIDE_DATA}",
        summary=f"MNIST data ({what}) not found in {_folders(places)}; {summary or reason}",
    )


def _folders(places: list[_Place]) -> str:
    """The searched folders in a few words: each base folder once, its subfolders implied."""
    bases = dict.fromkeys(str(p.folder) for p in places if p.folder.name not in _SUBFOLDERS)
    return " or ".join(f"{base} (and its {', '.join(_SUBFOLDERS)})" for base in bases)


def _require_download(download: bool, places: list[_Place], what: str) -> None:
    if not download:
        raise _not_found_error(places, what, "Downloading is switched off (download=False).")
