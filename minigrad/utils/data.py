"""torch.utils.data's names for minigrad's data loading, which lives in minigrad/data/."""

from ..data import *  # noqa: F403
from ..data import __all__  # noqa: F401
from ..errors import missing_name_getattr as _missing_name_getattr

__getattr__ = _missing_name_getattr(__name__, "torch.utils.data")
