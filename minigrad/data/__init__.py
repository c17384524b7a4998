"""Data: MNIST on disk (`mnist/`), mini-batches for training (`loader.py`), and each process's
shard of them in data-parallel training (`distributed.py`)."""

from .distributed import DistributedSampler
from .loader import (
    DataLoader,
    DataLoaders,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    collate,
    default_collate,
    random_split,
)
from .mnist import MNIST, MNISTError, load_mnist, mnist_png_path

__all__ = [
    "MNIST",
    "DataLoader",
    "DataLoaders",
    "DistributedSampler",
    "MNISTError",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "collate",
    "default_collate",
    "load_mnist",
    "mnist_png_path",
    "random_split",
]
