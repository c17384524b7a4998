"""MNIST: find it, download it if allowed, check it and load it as numpy arrays.

MNIST comes in two shapes and this package reads both:

* the four original IDX files (``train-images-idx3-ubyte`` and friends, gzipped or not).
  They are fast to read and have official MD5 checksums, so they are preferred.
* fast.ai's PNG tree ``<root>/training/<digit>/<index>.png`` and ``<root>/testing/...``,
  or the ``mnist_png.tgz`` archive holding it. This is the layout the fastbook chapter 4
  walkthrough reads (``path/"training"/"4"``). ``<index>`` is the record's position in
  the IDX file, so sorting by it gives the very same arrays as the IDX files.

Where the data is looked for, in this order (the first folder that has it wins):

1. ``root`` if given, else ``$MINIGRAD_DATA``; then its subfolders ``mnist/`` and ``mnist_png/``.
2. the cache folder (``cache_dir``, else ``$MINIGRAD_CACHE``, else ``~/.cache/minigrad``),
   and its subfolders ``mnist/`` and ``mnist_png/``.

With source="auto", IDX files found in any of these folders beat PNGs. For PNGs, a folder's
unpacked tree beats its ``mnist_png.tgz``. load_mnist decodes PNGs straight from the .tgz
(no unpacking) and keeps the decoded arrays as an .npz in ``<cache>/decoded/``, so only the
first load is slow; mnist_png_path unpacks the .tgz into ``<cache>/mnist_png``.

The decoded cache is keyed on the content of what was decoded (the bytes of the .tgz, or the
name and bytes of every PNG of a tree), never on modification times: a PNG rewritten in place
within the same clock tick, even with the same size, still gives a new key, so the cache can
never serve stale pixels. Hashing the 70,000 files of a tree takes about a second, decoding
them about thirty.

Long steps (downloading, unpacking, decoding) say what they do on stderr and show a tqdm
progress bar: in a terminal, or as a widget in a notebook (``tqdm.auto``).

If nothing is found and ``download=True``, the files are downloaded into the cache folder.
Downloads go to a temporary file in the same folder and are renamed into place only after
they were checked, so an interrupted download never leaves a half-written file behind.

Checksums: with ``verify=True`` (the default) every IDX file with an official name is
checked against the official MD5 of its (gunzipped) bytes and refused if it differs.
Tests that write small made-up IDX files under the official names pass ``verify=False``.

This package only uses the standard library, numpy and tqdm (PIL is imported when PNGs are
decoded), so it works without the rest of minigrad. Each of its modules does one job and
imports only from the ones above it in this list:

    dataset.py    what MNIST is: its official files and their MD5s, its four arrays (MNIST),
                  and MNISTError, the one error every step raises
    progress.py   telling the user about a slow step: a line on stderr, a tqdm progress bar
    places.py     where to look, in the order above, and the error that lists every place
    idx.py        reading an IDX file: gunzip, MD5, header, then the array
    png.py        decoding the PNG tree or its .tgz into the same arrays; unpacking the .tgz
    download.py   fetching a file into place atomically, kept only if its check passed

This file puts them together: the entry points (load_mnist, mnist_png_path, find_mnist), the
cache of decoded PNGs, and what is downloaded from where (IDX_MIRRORS, PNG_TGZ_URL). Those
steps look up the names they use here, when they run, so replacing one on this package changes
what they do: a mirror of your own in IDX_MIRRORS, or, in a test, a decoder that must not run.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np

from .dataset import MNIST, OFFICIAL_MD5, PNG_TGZ_NAME, MNISTError
from .download import _atomic_path, _download
from .idx import _load_idx_folder, read_idx
from .places import (
    _find_png_source,
    _first_folder_with_idx,
    _idx_file,
    _Place,
    _require_download,
    _resolve_cache_dir,
    _search_folders,
    default_cache_dir,
)
from .png import _check_tgz, _png_files, _unpack_png_tgz, read_png_tgz, read_png_tree
from .progress import _say

# isort: split
# Importable from here as they were before mnist.py became a package (nothing here needs them).
from .dataset import IMAGE_SIDE, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS  # noqa: F401
from .idx import IDX_HEADER_MAGIC_SIZE, IDX_UBYTE  # noqa: F401
from .places import HOW_TO_PROVIDE_DATA  # noqa: F401

__all__ = [
    "MNIST",
    "MNISTError",
    "default_cache_dir",
    "find_mnist",
    "load_mnist",
    "mnist_png_path",
    "read_idx",
    "read_png_tgz",
    "read_png_tree",
]

# Module-level so that tests can point them at local ``file://`` URLs.
IDX_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
PNG_TGZ_URL = "https://s3.amazonaws.com/fast-ai-imageclas/mnist_png.tgz"


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def load_mnist(
    root: str | os.PathLike | None = None,
    *,
    source: str = "auto",
    download: bool = True,
    cache_dir: str | os.PathLike | None = None,
    verify: bool = True,
) -> MNIST:
    """Load MNIST as numpy arrays, from IDX files or fast.ai's PNG tree.

    source: "auto" (IDX files if found anywhere, since they are fast and checksummed,
    else PNGs), "idx" or "png". root overrides $MINIGRAD_DATA. verify=False skips the
    official-MD5 check (for tests with small made-up files).
    """
    if source not in ("auto", "idx", "png"):
        raise MNISTError(f"source must be 'auto', 'idx' or 'png', not {source!r}.")
    cache = _resolve_cache_dir(cache_dir)
    places = _search_folders(root, cache)

    if source in ("auto", "idx"):
        idx_folder = _first_folder_with_idx(places)
        if idx_folder is not None:
            return _load_idx_folder(idx_folder, verify)
    if source in ("auto", "png"):
        png_source = _find_png_source(places)
        if png_source is not None:
            return _load_png_cached(png_source, cache)

    # Nothing found: download. "auto" fetches the IDX files, which are smaller and checksummed.
    if source == "png":
        return _load_png_cached(_download_png_tgz(places, cache, download), cache)
    _require_download(download, places, "the IDX files" if source == "idx" else "IDX or PNG")
    return _load_idx_folder(_download_idx(cache / "mnist", verify, places), verify)


def mnist_png_path(
    root: str | os.PathLike | None = None,
    *,
    download: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """Return a folder with fast.ai's ``training/`` and ``testing/`` PNG subfolders.

    If only ``mnist_png.tgz`` is found, it is unpacked into the cache folder first.
    """
    cache = _resolve_cache_dir(cache_dir)
    places = _search_folders(root, cache)
    png_source = _find_png_source(places) or _download_png_tgz(places, cache, download)
    return png_source if png_source.is_dir() else _unpack_png_tgz(png_source, cache)


def find_mnist(
    root: str | os.PathLike | None = None,
    *,
    source: str = "auto",
    cache_dir: str | os.PathLike | None = None,
) -> Path | None:
    """Where load_mnist would read MNIST from, without reading it: the folder holding the four
    IDX files, an unpacked PNG tree, or an mnist_png.tgz. None when load_mnist would download.

    A command line uses it to check a data folder before anything slow happens.
    """
    if source not in ("auto", "idx", "png"):
        raise MNISTError(f"source must be 'auto', 'idx' or 'png', not {source!r}.")
    places = _search_folders(root, _resolve_cache_dir(cache_dir))
    if source in ("auto", "idx"):
        folder = _first_folder_with_idx(places)
        if folder is not None:
            return folder
    return _find_png_source(places) if source in ("auto", "png") else None


# --------------------------------------------------------------------------------------
# PNGs: decoded once, then read from the cache
# --------------------------------------------------------------------------------------


def _load_png_cached(source: Path, cache: Path) -> MNIST:
    """Decode the PNGs (a tree or the .tgz) once, then reuse the arrays from an .npz file.

    The file's name holds a hash of the source's path and one of its content (see the module's
    docstring), so a changed PNG gives a new name; older files for the same path are removed.
    """
    if source.is_dir():
        content, decode, what = _png_tree_digest(source), read_png_tree, "the PNG tree"
    else:
        content, decode, what = _file_digest(source), read_png_tgz, "the PNGs of"
    prefix = f"mnist-png-{_short_hash(source.resolve())}-"
    cached = cache / "decoded" / f"{prefix}{content[:16]}.npz"
    if cached.is_file():
        with np.load(cached) as arrays:
            return MNIST(*(arrays[name] for name in MNIST.__dataclass_fields__))
    _say(f"Decoding {what} {source} (once: the arrays are kept in {cached})")
    mnist = MNIST(*decode(source))
    # Through a file object, so that savez does not append ".npz" to the temporary name.
    with _atomic_path(cached) as temporary, open(temporary, "wb") as file:
        np.savez(file, **{name: getattr(mnist, name) for name in MNIST.__dataclass_fields__})
    for stale in cached.parent.glob(f"{prefix}*.npz"):  # the same source, older content
        if stale != cached:
            stale.unlink(missing_ok=True)
    return mnist


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _png_tree_digest(png_root: Path) -> str:
    """A hash of the name and bytes of every PNG of a tree: any change to any file changes it."""
    digest = hashlib.sha256()
    for split in ("training", "testing"):
        for digit, png in _png_files(png_root / split):
            data = png.read_bytes()
            digest.update(f"{split}/{digit}/{png.name}:{len(data)}:".encode())
            digest.update(data)
    return digest.hexdigest()


def _short_hash(*parts: object) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------------
# What to download, from where, and how each file is checked
# --------------------------------------------------------------------------------------


def _download_idx(folder: Path, verify: bool, places: list[_Place]) -> Path:
    """Download the four gzipped IDX files into folder, each checked before it is kept."""
    for name, official_md5 in OFFICIAL_MD5.items():
        if _idx_file(folder, name):
            continue
        check = functools.partial(
            read_idx,
            expected_md5=official_md5 if verify else None,
            expected_ndim=3 if "images" in name else 1,
        )
        urls = [f"{mirror}{name}.gz" for mirror in IDX_MIRRORS]
        _download(urls, folder / f"{name}.gz", check, places)
    return folder


def _download_png_tgz(places: list[_Place], cache: Path, download: bool) -> Path:
    _require_download(download, places, f"the PNG tree or {PNG_TGZ_NAME}")
    archive = cache / PNG_TGZ_NAME
    _download([PNG_TGZ_URL], archive, _check_tgz, places)
    return archive
