"""Reading the IDX files, the format MNIST was published in, and refusing a damaged one.

An IDX file is a header (a magic number that gives the type of the values and the number of
dimensions, then each dimension's size as a big-endian 32-bit integer) followed by the values.
read_idx gunzips the file when it is gzipped, checks its MD5 when given the official one, checks
the header against the file's length, and reads the values into a numpy array in one go.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path

import numpy as np

from .dataset import (
    IMAGE_SIDE,
    MNIST,
    OFFICIAL_MD5,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    MNISTError,
)
from .places import _idx_file

# IDX magic number: two zero bytes, a type code (0x08 = unsigned byte), the number of dims.
IDX_UBYTE = 0x08
IDX_HEADER_MAGIC_SIZE = 4


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
