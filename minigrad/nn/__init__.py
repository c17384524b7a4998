"""Neural-network building blocks: layers as Modules (`modules.py`), functions and losses
(`functional.py`, imported as `F`), and the losses as modules (`losses.py`)."""

from ..errors import missing_name_getattr as _missing_name_getattr
from . import functional, init
from . import functional as F  # noqa: N812  (torch's spelling: nn.functional as F)
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, NLLLoss
from .modules import Flatten, Linear, Module, Parameter, ReLU, Sequential, Sigmoid

__all__ = [
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "F",
    "Flatten",
    "Linear",
    "Module",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "functional",
    "init",
]

# nn.GELU, a torch name minigrad lacks, raises an AttributeError that says so (surface.py).
__getattr__ = _missing_name_getattr(__name__, "torch.nn")
