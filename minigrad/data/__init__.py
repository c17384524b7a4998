"""Data: MNIST on disk (`mnist.py`) and mini-batches for training (`loader.py`)."""

from .loader import (
    DataLoader,
    DataLoaders,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
    collate,
    default_collate,
)
from .mnist import MNIST, MNISTError, load_mnist, mnist_png_path

__all__ = [
    "MNIST",
    "DataLoader",
    "DataLoaders",
    "MNISTError",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "TensorDataset",
    "collate",
    "default_collate",
    "load_mnist",
    "mnist_png_path",
]
