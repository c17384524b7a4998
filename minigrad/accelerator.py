"""`minigrad.accelerator`: torch's device-agnostic questions (`torch.accelerator.is_available()`,
`current_accelerator()`), answered by torch itself, since minigrad computes with torch. The
accelerator minigrad uses is CUDA, when there is one."""

from torch.accelerator import (
    current_accelerator,
    current_device_index,
    device_count,
    is_available,
    synchronize,
)

from .errors import missing_name_getattr as _missing_name_getattr

__all__ = [
    "current_accelerator",
    "current_device_index",
    "device_count",
    "is_available",
    "synchronize",
]

__getattr__ = _missing_name_getattr(__name__, "torch.accelerator")
