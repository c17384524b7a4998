"""Autograd: the graph nodes (`function.py`), the backward pass (`engine.py`), in-place changes
(`inplace.py`), grad mode and anomaly mode; and torch.autograd's names for them:

    minigrad.autograd.Function, grad, backward, set_detect_anomaly, detect_anomaly, no_grad, ...
    minigrad.autograd.graph.saved_tensors_hooks, save_on_cpu (hooks on what ops save)
"""

from typing import Any

from ..errors import missing_name_getattr as _missing_name_getattr
from .anomaly_mode import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled

_LATER = {
    "Function": "function",
    "once_differentiable": "function",
    "grad": "gradients",
    "backward": "gradients",
    "gradcheck": "gradient_checks",
    "gradgradcheck": "gradient_checks",
    "GradcheckError": "gradient_checks",
    "Variable": "variable",
    "functional": None,  # the module itself
    "graph": None,
}


def __getattr__(name: str) -> Any:
    """Function, grad and backward, loaded when first asked for: they need the Tensor class,
    which itself needs this package first."""
    if name in _LATER:
        from importlib import import_module

        if _LATER[name] is None:
            return import_module(f"{__name__}.{name}")
        return getattr(import_module(f"{__name__}.{_LATER[name]}"), name)
    return _missing(name)  # a torch.autograd name minigrad lacks says so (errors.py)


_missing = _missing_name_getattr(__name__, "torch.autograd")


__all__ = [
    "Function",
    "GradcheckError",
    "Variable",
    "functional",
    "gradcheck",
    "gradgradcheck",
    "once_differentiable",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "inference_mode",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "no_grad",
    "set_detect_anomaly",
    "set_grad_enabled",
]
