"""Where new tensors live: CUDA when a GPU is there, else the CPU.

Override with `MINIGRAD_DEVICE=cpu` (or `cuda`, `cuda:1`) in the environment, with
`set_default_device(...)`, or per call with `device=`.
"""

from __future__ import annotations

import os

import torch

_default: torch.device | None = None


def as_device(device: str | torch.device) -> torch.device:
    """Parse a device name, failing clearly when it is not usable here."""
    try:
        parsed = torch.device(device)
    except RuntimeError as error:
        raise ValueError(
            f"unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:N' (N a GPU index)"
        ) from error
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device {str(device)!r} was asked for, but torch sees no CUDA GPU here "
            f"(torch {torch.__version__}). Use device='cpu', or unset MINIGRAD_DEVICE."
        )
    return parsed


def default_device() -> torch.device:
    """The device that creation functions (`tensor`, `randn`, ...) use when given none."""
    global _default
    if _default is None:
        requested = os.environ.get("MINIGRAD_DEVICE")
        if requested:
            _default = as_device(requested)
        else:
            _default = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return _default


def set_default_device(device: str | torch.device | None) -> None:
    """Choose the default device; None goes back to `MINIGRAD_DEVICE` or the automatic choice."""
    global _default
    _default = None if device is None else as_device(device)
