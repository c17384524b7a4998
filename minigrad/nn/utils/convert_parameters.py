"""A model's parameters as one long vector, and back, as torch.nn.utils.parameters_to_vector
and vector_to_parameters: the parameters flattened one after another in the order given.

    vec = parameters_to_vector(model.parameters())    # (total number of values,)
    vector_to_parameters(vec * 0.5, model.parameters())  # each parameter gets its slice back

parameters_to_vector is differentiable (a cat of flattened views); vector_to_parameters sets
each parameter's values (`.data`), outside the graph, as torch's.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from ...creation import cat
from ...tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The values of every parameter, each flattened, one after another: a 1-d tensor."""
    pieces, device = [], None
    for param in parameters:
        device = _same_device(param, device)
        pieces.append(param.reshape(-1))
    return cat(pieces)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Cut vec into consecutive slices, one per parameter (as many values as it has), and make
    each slice, shaped as the parameter, its new values."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected a minigrad Tensor for vec, but got: {type(vec).__name__}")
    start, device = 0, None
    for param in parameters:
        device = _same_device(param, device)
        count = param.numel()
        param.data = vec[start : start + count].view_as(param).data
        start += count


def _same_device(param: Tensor, device: torch.device | None) -> torch.device:
    """param's device, checked against the first parameter's (torch refuses a mix too)."""
    if device is not None and param.device != device:
        raise TypeError(
            "Found two parameters on different devices, this is currently not supported: "
            f"{device} and {param.device}. Move the model to one device first (model.to(...))."
        )
    return param.device
