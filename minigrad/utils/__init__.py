"""`minigrad.utils.data`, where torch code looks for its data loading: `from torch.utils.data
import DataLoader` runs with `import minigrad as torch` (the code lives in minigrad/data/)."""

from . import data

__all__ = ["data"]
