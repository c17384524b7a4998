"""`minigrad.cuda`: what torch code asks about the GPU (`torch.cuda.is_available()`...).

minigrad does its maths with torch, so it can use a GPU exactly when torch can: these are
torch's own functions. (minigrad puts new tensors on the GPU by itself when there is one; see
`minigrad.devices`.)
"""

from torch.cuda import (
    current_device,
    device_count,
    empty_cache,
    get_device_name,
    is_available,
    manual_seed,
    manual_seed_all,
    max_memory_allocated,
    memory_allocated,
    reset_peak_memory_stats,
    synchronize,
)

from .errors import missing_name_getattr as _missing_name_getattr

__all__ = [
    "current_device",
    "device_count",
    "empty_cache",
    "get_device_name",
    "is_available",
    "manual_seed",
    "manual_seed_all",
    "max_memory_allocated",
    "memory_allocated",
    "reset_peak_memory_stats",
    "synchronize",
]

__getattr__ = _missing_name_getattr(__name__, "torch.cuda")
