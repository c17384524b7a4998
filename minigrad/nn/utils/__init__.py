"""torch.nn.utils: helpers around modules and their parameters, one file per topic as torch's.

- `clip_grad.py`: clip_grad_norm_ and clip_grad_value_, which scale or cap the gradients after
  backward, before the optimizer's step (clip_grad_norm_ is get_total_norm then
  clip_grads_with_norm_, both public too; clip_grad_norm, older code's name for it, warns that
  it is deprecated, as torch's does).
- `convert_parameters.py`: parameters_to_vector and vector_to_parameters, a model's parameters
  seen as one long vector and back.
- `weight_norm.py`, `spectral_norm.py`: the older hook forms of weight and spectral
  normalization: a forward pre-hook recomputes a layer's weight from other parameters before
  each forward.
- `parametrize.py` (the namespace `nn.utils.parametrize`): register_parametrization, a tensor
  of a module computed from others on each read; `parametrizations.py` (the namespace
  `nn.utils.parametrizations`): weight_norm in that form.
- `fusion.py`: an eval-mode BatchNorm folded into the convolution or linear layer before it.
- `init.py`: skip_init, a module built without its initialization.
- `rnn.py` (the namespace `nn.utils.rnn`): PackedSequence and the functions that pack a batch of
  sequences of different lengths for the recurrent layers, and unpack their outputs.
"""

from __future__ import annotations

from ...errors import missing_name_getattr as _missing_name_getattr
from . import parametrizations, parametrize, rnn
from .clip_grad import (
    clip_grad_norm,
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .fusion import (
    fuse_conv_bn_eval,
    fuse_conv_bn_weights,
    fuse_linear_bn_eval,
    fuse_linear_bn_weights,
)
from .init import skip_init
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm

__all__ = [
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
    "fuse_conv_bn_eval",
    "fuse_conv_bn_weights",
    "fuse_linear_bn_eval",
    "fuse_linear_bn_weights",
    "skip_init",
    "weight_norm",
    "remove_weight_norm",
    "spectral_norm",
    "remove_spectral_norm",
    "parameters_to_vector",
    "vector_to_parameters",
    "parametrizations",
    "parametrize",
    "rnn",
]

# A torch name minigrad lacks (nn.utils.weight_norm...) raises an AttributeError that says so.
__getattr__ = _missing_name_getattr(__name__, "torch.nn.utils")
