"""The digits every training benchmark uses: real MNIST if it can be found, else a stand-in."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Digits:
    """MNIST as float32 pixels in [0, 1], flattened to 784 values, and int64 labels."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    source: str  # says where the numbers came from, so a report on synthetic data is marked

    def to(self, device: str) -> Digits:
        return Digits(
            *(t.to(device) for t in (self.train_x, self.train_y, self.test_x, self.test_y)),
            source=self.source,
        )


def _flat(images) -> torch.Tensor:
    return torch.from_numpy(images).reshape(len(images), -1).float() / 255


def load_digits(device: str) -> Digits:
    """Real MNIST through `minigrad.data.load_mnist()` (no download), else synthetic digits."""
    try:
        from minigrad.data import load_mnist

        mnist = load_mnist(download=False)
        digits = Digits(
            _flat(mnist.train_images),
            torch.from_numpy(mnist.train_labels).long(),
            _flat(mnist.test_images),
            torch.from_numpy(mnist.test_labels).long(),
            source="MNIST (minigrad.data.load_mnist)",
        )
    except Exception as error:  # noqa: BLE001  (any failure: fall back, and say why)
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        digits = synthetic_digits(reason=f"{type(error).__name__}: {first_line}")
    return digits.to(device)


def synthetic_digits(reason: str, train: int = 60_000, test: int = 10_000) -> Digits:
    """Ten random 'prototype' images plus noise: learnable like MNIST, same shapes and sizes.
    Timings on it are comparable; accuracies are not MNIST's."""
    generator = torch.Generator().manual_seed(0)
    prototypes = torch.rand(10, 784, generator=generator)

    def sample(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.randint(10, (n,), generator=generator)
        noise = torch.rand(n, 784, generator=generator)
        return (0.5 * prototypes[labels] + 0.5 * noise), labels

    train_x, train_y = sample(train)
    test_x, test_y = sample(test)
    return Digits(
        train_x, train_y, test_x, test_y, source=f"SYNTHETIC digits (MNIST not found: {reason})"
    )
