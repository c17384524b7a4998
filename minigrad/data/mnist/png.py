"""fast.ai's PNG form of MNIST, ``<root>/training/<digit>/<index>.png`` and ``testing/...``, as the
fastbook reads it: decoding it into the same arrays as the IDX files, from the unpacked tree or
straight out of mnist_png.tgz, and unpacking the .tgz (all of it or nothing) for code that wants
the files themselves.

Every PNG is checked on the way in (its folder is a digit, its name an index, its image 28x28,
no index twice), and an error names the file that is wrong and says how to fix it.
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
import tarfile
import tempfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import numpy as np

from .dataset import IMAGE_SIDE, MNISTError
from .places import _is_png_tree
from .progress import _progress, _reading_with_progress, _say


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
