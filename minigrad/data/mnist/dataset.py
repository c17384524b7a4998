"""What MNIST is: its official files (their names and MD5s, and fast.ai's archive of PNGs), its
four arrays in memory (MNIST), and MNISTError, the one error every step raises.

The other modules of the package import from this one; it imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IMAGE_SIDE = 28

# Official MD5s of the *gunzipped* IDX files, as published with the data set.
OFFICIAL_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = OFFICIAL_MD5

PNG_TGZ_NAME = "mnist_png.tgz"  # fast.ai's archive of the PNG tree


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
