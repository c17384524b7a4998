"""Tests for minigrad.data.mnist: small made-up files in tmp_path, plus the real data set
when $MINIGRAD_DATA points at it (.ci/run sets it; otherwise those tests are skipped)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minigrad.data import mnist
from minigrad.data.mnist import MNISTError, load_mnist, mnist_png_path, read_idx, read_png_tree

# Read before any test runs: the autouse fixture below removes it from the environment.
REAL_DATA = Path(os.environ["MINIGRAD_DATA"]).resolve() if os.environ.get("MINIGRAD_DATA") else None
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """No test may see the real $MINIGRAD_DATA or write to ~/.cache."""
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    monkeypatch.setenv("MINIGRAD_CACHE", str(tmp_path / "default-cache"))


# ----------------------------------------------------------------------------- helpers


def idx_bytes(array: np.ndarray, magic_ndim: int | None = None) -> bytes:
    ndim = array.ndim if magic_ndim is None else magic_ndim
    header = bytes([0, 0, 0x08, ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray, gzipped: bool = True) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if gzipped else data)
    return path


def small_mnist(train: int = 20, test: int = 10) -> mnist.MNIST:
    """Random images whose labels cover every digit, as a learner's tiny test set would."""
    rng = np.random.default_rng(0)
    return mnist.MNIST(
        rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        np.arange(train, dtype=np.int64) % 10,
        rng.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        np.arange(test, dtype=np.int64)[::-1] % 10,
    )


def write_idx_folder(folder: Path, data: mnist.MNIST, gzipped: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    arrays = [data.train_images, data.train_labels, data.test_images, data.test_labels]
    for name, array in zip(mnist.OFFICIAL_MD5, arrays, strict=True):
        write_idx(folder / (f"{name}.gz" if gzipped else name), array, gzipped)
    return folder


def write_png_tree(root: Path, data: mnist.MNIST) -> Path:
    splits = {
        "training": (data.train_images, data.train_labels),
        "testing": (data.test_images, data.test_labels),
    }
    for split, (images, labels) in splits.items():
        for digit in range(10):
            (root / split / str(digit)).mkdir(parents=True, exist_ok=True)
        for index, (image, label) in enumerate(zip(images, labels, strict=True)):
            Image.fromarray(image).save(root / split / str(label) / f"{index}.png")
    return root


def write_tgz(archive: Path, tree: Path) -> Path:
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree, arcname="mnist_png")
    return archive


def assert_same(a: mnist.MNIST, b: mnist.MNIST) -> None:
    for name in mnist.MNIST.__dataclass_fields__:
        left, right = getattr(a, name), getattr(b, name)
        assert left.dtype == right.dtype, name
        np.testing.assert_array_equal(left, right, err_msg=name)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


# ----------------------------------------------------------------------------- IDX files


@pytest.mark.parametrize("gzipped", [True, False])
def test_read_idx_round_trip(tmp_path, gzipped):
    images = small_mnist().train_images
    result = read_idx(write_idx(tmp_path / "images", images, gzipped))
    np.testing.assert_array_equal(result, images)
    assert result.dtype == np.uint8 and result.flags.writeable


def test_truncated_gzip_is_named(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(1000, np.uint8)))[:-30])
    with pytest.raises(MNISTError, match="truncated") as error:
        read_idx(path)
    assert str(path) in str(error.value)


def test_wrong_magic_number_says_what_was_expected(tmp_path):
    path = tmp_path / "images.idx"
    path.write_bytes(b"<html>Not Found</html>")
    with pytest.raises(MNISTError, match="magic") as error:
        read_idx(path, expected_ndim=3)
    assert "0x00000803" in str(error.value) and str(path) in str(error.value)


def test_images_and_labels_swapped_is_a_magic_error(tmp_path):
    path = write_idx(tmp_path / "labels.gz", np.zeros(10, np.uint8))
    with pytest.raises(MNISTError, match="0x00000803"):
        read_idx(path, expected_ndim=3)


def test_size_that_does_not_match_the_header(tmp_path):
    path = tmp_path / "images"
    path.write_bytes(idx_bytes(np.zeros((5, 28, 28), np.uint8))[:-100])
    with pytest.raises(MNISTError, match="header announces shape") as error:
        read_idx(path)
    assert "(5, 28, 28)" in str(error.value)


def test_official_name_with_wrong_content_is_refused(tmp_path):
    folder = write_idx_folder(tmp_path / "data", small_mnist())
    with pytest.raises(MNISTError, match="refusing") as error:
        load_mnist(folder, download=False, cache_dir=tmp_path / "cache")
    message = str(error.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert mnist.OFFICIAL_MD5["train-images-idx3-ubyte"] in message  # expected MD5
    actual = hashlib.md5(idx_bytes(small_mnist().train_images)).hexdigest()
    assert actual in message


def test_verify_false_reads_small_made_up_files(tmp_path):
    data = small_mnist()
    for gzipped in (True, False):
        folder = write_idx_folder(tmp_path / f"data-{gzipped}", data, gzipped)
        loaded = load_mnist(folder, source="idx", verify=False, download=False, cache_dir=tmp_path)
        assert_same(loaded, data)


# ----------------------------------------------------------------------------- PNG files


def test_png_tree_tgz_and_idx_give_the_same_arrays(tmp_path):
    data = small_mnist()
    tree = write_png_tree(tmp_path / "tree", data)
    (tmp_path / "tgz").mkdir()
    write_tgz(tmp_path / "tgz" / "mnist_png.tgz", tree)
    write_idx_folder(tmp_path / "idx", data)
    cache = tmp_path / "cache"

    from_tree = load_mnist(tree, source="png", download=False, cache_dir=cache)
    from_tgz = load_mnist(tmp_path / "tgz", source="png", download=False, cache_dir=cache)
    from_idx = load_mnist(tmp_path / "idx", verify=False, download=False, cache_dir=cache)
    for loaded in (from_tree, from_tgz, from_idx):
        assert_same(loaded, data)


def test_png_of_the_wrong_size_is_named(tmp_path):
    tree = write_png_tree(tmp_path / "tree", small_mnist())
    bad = tree / "training" / "3" / "3.png"
    Image.new("L", (30, 28)).save(bad)
    with pytest.raises(MNISTError, match="30x28") as error:
        read_png_tree(tree)
    assert str(bad) in str(error.value) and "28x28" in str(error.value)


def test_missing_digit_folder_is_named(tmp_path):
    tree = write_png_tree(tmp_path / "tree", small_mnist())
    for png in (tree / "training" / "7").iterdir():
        png.unlink()
    (tree / "training" / "7").rmdir()
    with pytest.raises(MNISTError, match="Missing digit folder") as error:
        read_png_tree(tree)
    assert str(tree / "training" / "7") in str(error.value)


def test_missing_digit_in_the_tgz_is_named(tmp_path):
    tree = write_png_tree(tmp_path / "tree", small_mnist())
    for png in (tree / "testing" / "4").iterdir():
        png.unlink()
    archive = write_tgz(tmp_path / "mnist_png.tgz", tree)
    with pytest.raises(MNISTError, match="Missing digit folder.*testing/4"):
        mnist.read_png_tgz(archive)


def test_decoded_pngs_are_cached(tmp_path, monkeypatch):
    data = small_mnist()
    tree = write_png_tree(tmp_path / "tree", data)
    cache = tmp_path / "cache"
    load_mnist(tree, source="png", cache_dir=cache)
    assert len(list((cache / "decoded").glob("*.npz"))) == 1

    def must_not_decode(root):
        raise AssertionError("decoded again instead of using the cache")

    monkeypatch.setattr(mnist, "read_png_tree", must_not_decode)
    assert_same(load_mnist(tree, source="png", cache_dir=cache), data)


def rewrite_in_place(png: Path, pixels: np.ndarray) -> None:
    """Write other pixels under the same name, with the same size and modification time: what a
    rewrite within one clock tick of the file system looks like to stat()."""
    before = png.stat()
    Image.fromarray(pixels).save(png, compress_level=0)  # stored: the size depends on 28x28 only
    os.utime(png, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = png.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_a_png_rewritten_in_place_is_never_served_stale_from_the_cache(tmp_path):
    data = small_mnist()
    tree = write_png_tree(tmp_path / "tree", data)
    png = tree / "training" / str(data.train_labels[3]) / "3.png"
    Image.fromarray(data.train_images[3]).save(png, compress_level=0)
    cache = tmp_path / "cache"
    assert_same(load_mnist(tree, source="png", cache_dir=cache), data)

    changed = data.train_images.copy()
    changed[3] = 255 - changed[3]
    rewrite_in_place(png, changed[3])
    reloaded = load_mnist(tree, source="png", cache_dir=cache)
    np.testing.assert_array_equal(reloaded.train_images, changed)
    assert len(list((cache / "decoded").glob("*.npz"))) == 1  # the stale arrays were removed


def test_a_tgz_rewritten_in_place_is_never_served_stale_from_the_cache(tmp_path):
    data = small_mnist()
    tree = write_png_tree(tmp_path / "tree", data)
    (tmp_path / "data").mkdir()
    archive = write_tgz(tmp_path / "data" / "mnist_png.tgz", tree)
    cache = tmp_path / "cache"
    assert_same(load_mnist(archive.parent, source="png", cache_dir=cache), data)

    before = archive.stat()
    changed = data.test_images.copy()
    changed[0] = 255 - changed[0]
    Image.fromarray(changed[0]).save(tree / "testing" / str(data.test_labels[0]) / "0.png")
    write_tgz(archive, tree)
    os.utime(archive, ns=(before.st_atime_ns, before.st_mtime_ns))
    reloaded = load_mnist(archive.parent, source="png", cache_dir=cache)
    np.testing.assert_array_equal(reloaded.test_images, changed)


def test_find_mnist_says_where_load_mnist_would_read_without_reading(tmp_path):
    data = small_mnist()
    tree = write_png_tree(tmp_path / "data" / "mnist_png", data)
    cache = tmp_path / "cache"
    assert mnist.find_mnist(tmp_path / "data", cache_dir=cache) == tree
    write_idx_folder(tmp_path / "data" / "mnist", data)
    assert mnist.find_mnist(tmp_path / "data", cache_dir=cache) == tmp_path / "data" / "mnist"
    assert mnist.find_mnist(tmp_path / "data", source="png", cache_dir=cache) == tree
    assert mnist.find_mnist(tmp_path / "nowhere", cache_dir=cache) is None
    assert not cache.exists()  # nothing was written


def test_decoding_says_what_it_does_and_where_it_keeps_the_arrays(tmp_path, capsys):
    tree = write_png_tree(tmp_path / "tree", small_mnist())
    load_mnist(tree, source="png", cache_dir=tmp_path / "cache")
    err = capsys.readouterr().err
    assert f"Decoding the PNG tree {tree}" in err and str(tmp_path / "cache" / "decoded") in err
    assert "\r" not in err  # no progress bar when stderr is not a terminal
    load_mnist(tree, source="png", cache_dir=tmp_path / "cache")
    assert capsys.readouterr().err == ""  # from the cache: nothing to say


def test_different_trees_do_not_share_a_cache_file(tmp_path):
    cache = tmp_path / "cache"
    first, second = small_mnist(20, 10), small_mnist(30, 10)
    assert_same(
        load_mnist(write_png_tree(tmp_path / "a", first), source="png", cache_dir=cache), first
    )
    assert_same(
        load_mnist(write_png_tree(tmp_path / "b", second), source="png", cache_dir=cache), second
    )


def test_mnist_png_path_unpacks_the_tgz_into_the_cache(tmp_path, capsys):
    tree = write_png_tree(tmp_path / "tree", small_mnist())
    data_folder = tmp_path / "data"
    data_folder.mkdir()
    write_tgz(data_folder / "mnist_png.tgz", tree)
    cache = tmp_path / "cache"

    path = mnist_png_path(data_folder, download=False, cache_dir=cache)
    assert path == cache / "mnist_png"
    unpacking = f"Unpacking {data_folder / 'mnist_png.tgz'} into {path} (once)\n"
    assert capsys.readouterr().err == unpacking
    assert sorted(p.name for p in (path / "training").iterdir()) == [str(d) for d in range(10)]
    assert [p.name for p in cache.iterdir()] == ["mnist_png"]  # No temporary folder left.
    assert mnist_png_path(data_folder, download=False, cache_dir=cache) == path


def test_mnist_png_path_finds_an_unpacked_tree_in_minigrad_data(tmp_path, monkeypatch):
    write_png_tree(tmp_path / "data" / "mnist_png", small_mnist())
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "data"))
    assert mnist_png_path(download=False) == tmp_path / "data" / "mnist_png"


# ----------------------------------------------------------------------------- missing data


def test_missing_data_names_minigrad_data_and_every_place_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "nowhere"))
    cache = tmp_path / "cache"
    with pytest.raises(MNISTError, match="MINIGRAD_DATA") as error:
        load_mnist(download=False, cache_dir=cache)
    message = str(error.value)
    for folder in (tmp_path / "nowhere", tmp_path / "nowhere" / "mnist", cache / "mnist_png"):
        assert str(folder) in message
    assert "download=False" in message


def test_failed_download_also_names_minigrad_data(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "IDX_MIRRORS", [(tmp_path / "no-mirror").as_uri() + "/"])
    with pytest.raises(MNISTError, match="MINIGRAD_DATA") as error:
        load_mnist(cache_dir=tmp_path / "cache")
    assert "no-mirror" in str(error.value)
    assert files_in(tmp_path / "cache" / "mnist") == []


# ----------------------------------------------------------------------------- downloading


def test_download_from_a_file_url_mirror(tmp_path, monkeypatch, capsys):
    data = small_mnist()
    mirror = write_idx_folder(tmp_path / "mirror", data)
    broken_mirror = (tmp_path / "broken").as_uri() + "/"
    monkeypatch.setattr(mnist, "IDX_MIRRORS", [broken_mirror, mirror.as_uri() + "/"])
    cache = tmp_path / "cache"

    loaded = load_mnist(tmp_path / "empty", verify=False, cache_dir=cache)
    assert_same(loaded, data)
    assert files_in(cache / "mnist") == sorted(f"{name}.gz" for name in mnist.OFFICIAL_MD5)
    # stderr is not a terminal here: one line per file, no progress bar.
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 4 and all(line.startswith("Downloading file://") for line in lines)
    assert "\r" not in err


def test_download_with_a_checksum_mismatch_leaves_no_file(tmp_path, monkeypatch):
    mirror = write_idx_folder(tmp_path / "mirror", small_mnist())
    monkeypatch.setattr(mnist, "IDX_MIRRORS", [mirror.as_uri() + "/"])
    cache = tmp_path / "cache"
    with pytest.raises(MNISTError, match="expected MD5"):
        load_mnist(cache_dir=cache)  # verify=True: made-up content is refused.
    assert files_in(cache / "mnist") == []


class BrokenConnection(io.BytesIO):
    """A response that delivers some bytes and then fails, like a dropped connection."""

    headers = {"Content-Length": "100000"}

    def read(self, size=-1):
        if self.tell() > 1000:
            raise ConnectionResetError("connection reset by peer")
        return super().read(min(size, 500))


def test_interrupted_download_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(
        urllib.request, "urlopen", lambda url, timeout: BrokenConnection(b"x" * 5000)
    )
    cache = tmp_path / "cache"
    with pytest.raises(MNISTError, match="connection reset"):
        load_mnist(cache_dir=cache)
    assert files_in(cache / "mnist") == []


def test_png_tgz_download(tmp_path, monkeypatch):
    tree = write_png_tree(tmp_path / "tree", small_mnist())
    served = write_tgz(tmp_path / "served.tgz", tree)
    monkeypatch.setattr(mnist, "PNG_TGZ_URL", served.as_uri())
    cache = tmp_path / "cache"
    path = mnist_png_path(cache_dir=cache)
    assert (path / "testing" / "9").is_dir()
    assert sorted(p.name for p in cache.iterdir()) == ["mnist_png", "mnist_png.tgz"]


def test_unknown_source_is_refused(tmp_path):
    with pytest.raises(MNISTError, match="source"):
        load_mnist(tmp_path, source="jpeg")


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="session")
def real_data() -> Path:
    if REAL_DATA is None:
        pytest.skip("MINIGRAD_DATA not set: the real MNIST tests need it (.ci/run sets it)")
    return REAL_DATA


@pytest.fixture(scope="session")
def real_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mnist-cache")


@pytest.fixture(scope="session")
def real_idx(real_data, real_cache) -> mnist.MNIST:
    return load_mnist(real_data, source="idx", download=False, cache_dir=real_cache)


def test_real_idx_shapes_and_digit_counts(real_idx):
    assert real_idx.train_images.shape == (60000, 28, 28)
    assert real_idx.test_images.shape == (10000, 28, 28)
    assert real_idx.train_images.dtype == np.uint8 and real_idx.train_labels.dtype == np.int64
    assert real_idx.test_labels.shape == (10000,)
    assert np.bincount(real_idx.train_labels).tolist() == TRAIN_COUNTS


def test_real_png_matches_idx_and_is_cached(real_data, real_cache, real_idx):
    # Decodes all 70,000 PNGs straight from mnist_png.tgz (about 15 s on 2 cores).
    start = time.perf_counter()
    from_png = load_mnist(real_data, source="png", download=False, cache_dir=real_cache)
    cold = time.perf_counter() - start
    assert_same(from_png, real_idx)

    start = time.perf_counter()
    again = load_mnist(real_data, source="png", download=False, cache_dir=real_cache)
    warm = time.perf_counter() - start
    assert_same(again, real_idx)
    assert warm < 1.0, f"cached load took {warm:.2f} s (cold decode took {cold:.1f} s)"


def test_real_download_through_a_file_mirror_is_verified(
    real_data, real_idx, tmp_path, monkeypatch
):
    monkeypatch.setattr(mnist, "IDX_MIRRORS", [(real_data / "mnist").as_uri() + "/"])
    downloaded = load_mnist(tmp_path / "empty", source="idx", cache_dir=tmp_path / "cache")
    assert_same(downloaded, real_idx)
