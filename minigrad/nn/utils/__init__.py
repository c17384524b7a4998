"""torch.nn.utils: helpers around modules and their parameters, one file per topic as torch's.

- `clip_grad.py`: clip_grad_norm_ and clip_grad_value_, which scale or cap the gradients after
  backward, before the optimizer's step.
- `convert_parameters.py`: parameters_to_vector and vector_to_parameters, a model's parameters
  seen as one long vector and back.
- `rnn.py` (the namespace `nn.utils.rnn`): PackedSequence and the functions that pack a batch of
  sequences of different lengths for the recurrent layers, and unpack their outputs.
"""

from __future__ import annotations

from ...errors import missing_name_getattr as _missing_name_getattr
from . import rnn
from .clip_grad import clip_grad_norm_, clip_grad_value_
from .convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "parameters_to_vector",
    "vector_to_parameters",
    "rnn",
]

# A torch name minigrad lacks (nn.utils.weight_norm...) raises an AttributeError that says so.
__getattr__ = _missing_name_getattr(__name__, "torch.nn.utils")
