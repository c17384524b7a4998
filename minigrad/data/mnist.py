"""MNIST: find it, download it if allowed, check it and load it as numpy arrays.

MNIST comes in two shapes and this module reads both:

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

This module only uses the standard library, numpy and tqdm (PIL is imported when PNGs are
decoded), so it works without the rest of minigrad.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import itertools
import os
import sys
import tarfile
import tempfile
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np
from tqdm.auto import tqdm
from tqdm.utils import CallbackIOWrapper

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

IMAGE_SIDE = 28

# Official MD5s of the *gunzipped* IDX files, as published with the data set.
OFFICIAL_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = OFFICIAL_MD5

# Module-level so that tests can point them at local ``file://`` URLs.
IDX_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
PNG_TGZ_URL = "https://s3.amazonaws.com/fast-ai-imageclas/mnist_png.tgz"
PNG_TGZ_NAME = "mnist_png.tgz"

# IDX magic number: two zero bytes, a type code (0x08 = unsigned byte), the number of dims.
IDX_UBYTE = 0x08
IDX_HEADER_MAGIC_SIZE = 4

HOW_TO_PROVIDE_DATA = (
    "To fix this, set the environment variable MINIGRAD_DATA to a folder holding one of:\n"
    f"  * {PNG_TGZ_NAME} (fast.ai's archive),\n"
    "  * the unpacked PNG tree (a folder with training/ and testing/ in it),\n"
    "  * the four IDX files (" + ", ".join(f"{name}.gz" for name in OFFICIAL_MD5) + "),\n"
    "for example `export MINIGRAD_DATA=/path/to/data`, or pass root=... to load_mnist;\n"
    "or run with download=True on a machine that can reach the internet."
)


class MNISTError(RuntimeError):
    """Anything wrong with finding, downloading or reading MNIST. The message says how to fix it;
    `summary` says what went wrong in one line, for a command line to show."""

    def __init__(self, message: str, summary: str | None = None) -> None:
        super().__init__(message)
        self.summary = summary or message.splitlines()[0]


@dataclass(frozen=True, repr=False)
class MNIST:
    """The four MNIST arrays: images are uint8 (N, 28, 28), labels are int64 (N,)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray

    def __repr__(self) -> str:
        # The default repr would print 55 MB of pixels; shapes are what one wants to see.
        return (
            f"MNIST(train_images={self.train_images.shape}, train_labels={self.train_labels.shape},"
            f" test_images={self.test_images.shape}, test_labels={self.test_labels.shape})"
        )


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


def default_cache_dir() -> Path:
    """$MINIGRAD_CACHE if set, else ~/.cache/minigrad."""
    from_env = os.environ.get("MINIGRAD_CACHE")
    return Path(from_env) if from_env else Path.home() / ".cache" / "minigrad"


# --------------------------------------------------------------------------------------
# Where to look
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# IDX files
# --------------------------------------------------------------------------------------


def read_idx(
    path: str | os.PathLike,
    expected_md5: str | None = None,
    expected_ndim: int | None = None,
) -> np.ndarray:
    """Read one IDX file (gzipped or not) into a uint8 numpy array shaped as its header says.

    expected_md5 is checked against the gunzipped bytes; expected_ndim (3 for images,
    1 for labels) is checked against the magic number.
    """
    path = Path(path)
    data = _read_maybe_gzipped(path)
    if expected_md5 is not None:
        _check_md5(path, data, expected_md5)
    dims = _parse_idx_header(path, data, expected_ndim)
    header_size = IDX_HEADER_MAGIC_SIZE + 4 * len(dims)
    expected_size = header_size + int(np.prod(dims))
    if len(data) != expected_size:
        raise MNISTError(
            f"{path}: its header announces shape {tuple(dims)}, which needs {expected_size:,} "
            f"bytes, but the (gunzipped) file has {len(data):,} bytes. The file is truncated "
            "or damaged: delete it and download or copy it again."
        )
    # frombuffer reads the bytes without a Python loop; copy() makes the array writable.
    pixels = np.frombuffer(data, dtype=np.uint8, offset=header_size)
    return pixels.reshape(dims).copy()


def _read_maybe_gzipped(path: Path) -> bytes:
    raw = path.read_bytes()
    # Recognise gzip by its first two bytes, not by the name: people rename files.
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as error:
        raise MNISTError(
            f"{path}: this gzip file is truncated or corrupt ({error}). It was probably cut "
            "short while downloading or copying: delete it and download or copy it again."
        ) from error


def _check_md5(path: Path, data: bytes, expected_md5: str) -> None:
    actual = hashlib.md5(data).hexdigest()
    if actual != expected_md5:
        raise MNISTError(
            f"{path}: refusing this file, its content does not match the official MNIST file.\n"
            f"  expected MD5 (of the gunzipped bytes): {expected_md5}\n"
            f"  actual MD5:                            {actual}\n"
            "Delete it and download or copy it again. (Small made-up test files with the "
            "official names need verify=False.)"
        )


def _parse_idx_header(path: Path, data: bytes, expected_ndim: int | None) -> list[int]:
    if len(data) < IDX_HEADER_MAGIC_SIZE:
        raise MNISTError(f"{path}: only {len(data)} bytes, too short to be an IDX file.")
    magic = int.from_bytes(data[:4], "big")
    ndim = data[3]
    wanted = (
        f"0x{IDX_UBYTE << 8 | expected_ndim:08X}"
        if expected_ndim is not None
        else "0x00000801 (labels) or 0x00000803 (images)"
    )
    if data[0:2] != b"\0\0" or data[2] != IDX_UBYTE or ndim == 0:
        raise MNISTError(
            f"{path}: wrong magic number 0x{magic:08X}, expected {wanted}. This is not an "
            "IDX file of unsigned bytes: perhaps an HTML error page saved by a failed "
            "download, or a file of another format. Delete it and download it again."
        )
    if expected_ndim is not None and ndim != expected_ndim:
        raise MNISTError(
            f"{path}: wrong magic number 0x{magic:08X}, expected {wanted} (an IDX file with "
            f"{expected_ndim} dimension(s), it has {ndim}). Are images and labels swapped?"
        )
    header_size = IDX_HEADER_MAGIC_SIZE + 4 * ndim
    if len(data) < header_size:
        raise MNISTError(f"{path}: the file ends inside its {header_size}-byte header.")
    dims = np.frombuffer(data, dtype=">u4", count=ndim, offset=IDX_HEADER_MAGIC_SIZE)
    return [int(d) for d in dims]


def _load_idx_split(folder: Path, images_name: str, labels_name: str, verify: bool):
    images_path, labels_path = _idx_file(folder, images_name), _idx_file(folder, labels_name)
    images = read_idx(images_path, OFFICIAL_MD5[images_name] if verify else None, 3)
    labels = read_idx(labels_path, OFFICIAL_MD5[labels_name] if verify else None, 1)
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise MNISTError(f"{images_path}: images are {images.shape[1:]}, expected 28x28.")
    if len(images) != len(labels):
        raise MNISTError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} "
            "labels: the two files do not belong together."
        )
    return images, labels.astype(np.int64)


def _load_idx_folder(folder: Path, verify: bool) -> MNIST:
    train = _load_idx_split(folder, TRAIN_IMAGES, TRAIN_LABELS, verify)
    test = _load_idx_split(folder, TEST_IMAGES, TEST_LABELS, verify)
    return MNIST(*train, *test)


# --------------------------------------------------------------------------------------
# PNG tree
# --------------------------------------------------------------------------------------


def read_png_tree(root: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Decode fast.ai's unpacked PNG tree: (train_images, train_labels, test_images, test_labels).

    Records are sorted by the ``<index>`` in their file names, which is their position in
    the IDX files, so the arrays come out in the same order as the IDX ones.
    """
    root = Path(root)
    splits = {split: _png_files(root / split) for split in ("training", "testing")}
    arrays = []
    total = sum(len(files) for files in splits.values())
    with _progress(total, f"decoding {root.name}", "png") as bar:
        for split, files in splits.items():
            records = []
            for digit, png in files:
                records.append((_png_index(png.name, png), digit, _decode_png(png, png)))
                bar.update()
            arrays += _stack_records(records, root / split)
    return tuple(arrays)


def read_png_tgz(archive: str | os.PathLike) -> tuple[np.ndarray, ...]:
    """Like read_png_tree, but straight out of mnist_png.tgz, without unpacking it to disk.

    Writing 70,000 tiny files is slow on many disks; reading the archive as one stream is not.
    """
    archive = Path(archive)
    splits: dict[str, list[_PngRecord]] = {"training": [], "testing": []}
    try:
        with (
            _reading_with_progress(archive, f"decoding {archive.name}") as stream,
            tarfile.open(
                fileobj=stream,
                mode="r|gz",  # "r|gz": one pass, front to back.
            ) as tar,
        ):
            for member in tar:
                parts = PurePosixPath(member.name).parts
                # Keep only <anything>/training|testing/<digit>/<index>.png.
                if not member.isfile() or len(parts) < 3 or parts[-3] not in splits:
                    continue
                split, digit_folder, file_name = parts[-3:]
                where = f"{archive} -> {member.name}"
                pixels = _decode_png(io.BytesIO(tar.extractfile(member).read()), where)
                record = (_png_index(file_name, where), _digit(digit_folder, where), pixels)
                splits[split].append(record)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise _damaged_archive_error(archive, error) from error
    arrays = []
    for split, records in splits.items():
        _check_every_digit_present({digit for _, digit, _ in records}, f"{archive} -> {split}/")
        arrays += _stack_records(records, f"{archive} -> {split}/")
    return tuple(arrays)


# (index in the IDX file, digit, 28x28 uint8 pixels)
_PngRecord = tuple[int, int, np.ndarray]


def _png_files(split: Path) -> list[tuple[int, Path]]:
    """(digit, path) of every PNG of one split of a tree, in a fixed order (digit, then name)."""
    if not split.is_dir():
        raise MNISTError(
            f"Missing folder {split}: a fast.ai MNIST tree has training/ and testing/ folders."
        )
    _check_every_digit_present({int(d.name) for d in split.iterdir() if d.name.isdigit()}, split)
    return [
        (digit, png) for digit in range(10) for png in sorted((split / str(digit)).glob("*.png"))
    ]


def _check_every_digit_present(digits: set[int], where: str | Path) -> None:
    missing = sorted(set(range(10)) - digits)
    if missing:
        raise MNISTError(
            f"Missing digit folder {Path(where) / str(missing[0])} (digits missing: {missing}): "
            f"{where} must have one subfolder of PNGs per digit, 0 to 9. The data is "
            "incomplete: unpack or download mnist_png.tgz again."
        )


def _digit(folder_name: str, where: str) -> int:
    if folder_name not in "0123456789" or len(folder_name) != 1:
        raise MNISTError(f"{where}: digit folders must be named 0 to 9, not {folder_name!r}.")
    return int(folder_name)


def _png_index(file_name: str, where: str | Path) -> int:
    stem = file_name.removesuffix(".png")
    if not file_name.endswith(".png") or not stem.isdigit():
        raise MNISTError(
            f"{where}: files must be named after the record's index, like 1234.png. "
            "Remove or rename this file."
        )
    return int(stem)


def _decode_png(png: Path | BinaryIO, where: str | Path) -> np.ndarray:
    from PIL import Image  # Imported here: only PNG decoding needs Pillow.

    with Image.open(png) as image:
        if image.size != (IMAGE_SIDE, IMAGE_SIDE):
            width, height = image.size
            raise MNISTError(
                f"{where}: image is {width}x{height}, expected 28x28. "
                "Replace it with the original file from mnist_png.tgz."
            )
        return np.asarray(image.convert("L"))


def _stack_records(records: list[_PngRecord], where: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Sort records by index, so that they line up with the IDX files, and stack them."""
    if not records:
        raise MNISTError(f"{where}: no PNG files found.")
    records.sort(key=lambda record: record[0])
    for (index, _, _), (next_index, _, _) in itertools.pairwise(records):
        if index == next_index:
            raise MNISTError(
                f"{where}: two PNGs have the index {index}; each index may appear only once. "
                "Unpack mnist_png.tgz again into an empty folder."
            )
    images = np.stack([pixels for _, _, pixels in records])
    labels = np.array([digit for _, digit, _ in records], dtype=np.int64)
    return images, labels


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


def _find_png_source(places: list[_Place]) -> Path | None:
    """The first searched folder's unpacked PNG tree or, failing that, its mnist_png.tgz."""
    for place in places:
        if _is_png_tree(place.folder):
            return place.folder
        if (place.folder / PNG_TGZ_NAME).is_file():
            return place.folder / PNG_TGZ_NAME
    return None


def _download_png_tgz(places: list[_Place], cache: Path, download: bool) -> Path:
    _require_download(download, places, f"the PNG tree or {PNG_TGZ_NAME}")
    archive = cache / PNG_TGZ_NAME
    _download([PNG_TGZ_URL], archive, _check_tgz, places)
    return archive


def _damaged_archive_error(archive: Path, error: Exception) -> MNISTError:
    return MNISTError(
        f"{archive}: could not read this archive ({error}). It is probably truncated "
        "or damaged: delete it and download or copy it again."
    )


def _check_tgz(path: Path) -> None:
    try:
        with tarfile.open(path, "r:gz") as archive:
            names = archive.getnames()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise MNISTError(f"{path}: not a readable .tgz archive ({error}).") from error
    if not any("training/" in name for name in names):
        raise MNISTError(f"{path}: this archive has no training/ folder, so it is not mnist_png.")


def _unpack_png_tgz(archive: Path, cache: Path) -> Path:
    """Unpack mnist_png.tgz into <cache>/mnist_png, all at once or not at all."""
    target = cache / "mnist_png"
    if _is_png_tree(target):
        return target
    cache.mkdir(parents=True, exist_ok=True)
    # Extract into a temporary folder next to the target, then rename it: a crash midway
    # leaves only a hidden temporary folder, never a half-filled mnist_png that looks complete.
    _say(f"Unpacking {archive} into {target} (once)")
    with tempfile.TemporaryDirectory(
        dir=cache, prefix=".mnist_png-", ignore_cleanup_errors=True
    ) as temporary:
        _extract_tgz(archive, Path(temporary))
        unpacked = _png_tree_inside(Path(temporary), archive)
        try:
            os.replace(unpacked, target)
        except OSError:
            if not _is_png_tree(target):  # Not just another process that got there first.
                raise
    return target


def _extract_tgz(archive: Path, destination: Path) -> None:
    """Write the archive's folders and regular files under destination, and nothing else.

    Why not tarfile's extractall? It is about twice as slow on 70,000 tiny files. Like its
    "data" filter, this refuses names that would land outside destination ("/x", "../x")
    and skips links and devices.
    """
    try:
        # "r|gz" reads the archive as one stream, front to back, which is the fastest way.
        with (
            _reading_with_progress(archive, f"unpacking {archive.name}") as stream,
            tarfile.open(fileobj=stream, mode="r|gz") as tar,
        ):
            for member in tar:
                path = _safe_member_path(destination, member.name, archive)
                if member.isdir():
                    path.mkdir(parents=True, exist_ok=True)
                elif member.isfile():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(tar.extractfile(member).read())
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise _damaged_archive_error(archive, error) from error


def _safe_member_path(destination: Path, name: str, archive: Path) -> Path:
    parts = Path(name).parts
    if Path(name).is_absolute() or ".." in parts:
        raise MNISTError(f"{archive}: refusing to unpack {name!r}, it points outside the folder.")
    return destination.joinpath(*parts)


def _png_tree_inside(folder: Path, archive: Path) -> Path:
    for candidate in (folder / "mnist_png", folder):
        if _is_png_tree(candidate):
            return candidate
    raise MNISTError(f"{archive}: unpacked, but found no training/ and testing/ folders in it.")


# --------------------------------------------------------------------------------------
# Downloading
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


# --------------------------------------------------------------------------------------
# Telling the user about the slow steps
# --------------------------------------------------------------------------------------


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
