"""Functions of tensors that layers and losses use: `import minigrad.nn.functional as F`.

Each is written with minigrad's ops, so its gradient comes from theirs: nothing new to derive.
The losses return the mean over the batch.
"""

from __future__ import annotations

import torch

from .. import ops
from ..creation import where
from ..errors import missing_name_getattr as _missing_name_getattr
from ..errors import shape_str
from ..tensor import Tensor


def relu(x: Tensor) -> Tensor:
    return x.relu()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias, with weight of shape (out_features, in_features)."""
    return ops.Linear.apply(x, weight, bias)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, a smooth relu whose gradient is sigmoid(beta x); x itself
    where beta x > threshold, as in torch (see ops.Softplus)."""
    return ops.Softplus.apply(x, beta=beta, threshold=threshold)


def mnist_loss(predictions: Tensor, targets: Tensor) -> Tensor:
    """fastbook chapter 4's loss: how far each prediction is from its target (1 or 0), after
    a sigmoid squashes it into (0, 1)."""
    predictions = predictions.sigmoid()
    return where(targets == 1, 1 - predictions, predictions).mean()


def binary_cross_entropy_with_logits(logits: Tensor, targets: Tensor) -> Tensor:
    """mean of -[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], for logits x and targets y
    in [0, 1], computed stably.

    Since log sigmoid(x) = -softplus(-x) and log(1 - sigmoid(x)) = -x - softplus(-x), the loss
    is (1 - y) x + softplus(-x): no sigmoid that rounds to 0 or 1, no log(0) for |x| large.
    """
    _check_same_shape("binary_cross_entropy_with_logits", logits, targets)
    return ((1 - targets) * logits + softplus(-logits)).mean()


def nll_loss(log_probs: Tensor, targets: Tensor) -> Tensor:
    """mean of -log_probs[i, targets[i]]: the negative log-likelihood of each row's class."""
    return ops.NLLLoss.apply(log_probs, targets)


def cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Softmax then negative log-likelihood, for (N, C) logits and N integer classes in [0, C).

    log_softmax computes log(e^x_j / sum e^x) as x_j - logsumexp(x): stable for any logits.
    """
    _check_class_targets(logits, targets)
    return nll_loss(logits.log_softmax(dim=1), targets)


def _check_same_shape(name: str, logits: Tensor, targets: Tensor) -> None:
    if tuple(logits.shape) != tuple(targets.shape):
        raise ValueError(
            f"{name}: logits {shape_str(logits.shape)} and targets {shape_str(targets.shape)} "
            "must have the same shape (one target per logit); reshape one of them."
        )


def _check_class_targets(logits: Tensor, targets: Tensor) -> None:
    if logits.ndim != 2:
        raise ValueError(
            f"cross_entropy takes logits of shape (N, C), one row of class scores per example; "
            f"got {shape_str(logits.shape)}."
        )
    dtype, shape = targets.dtype, tuple(targets.shape)
    if dtype.is_floating_point or dtype == torch.bool:
        raise TypeError(
            f"cross_entropy takes class indices (integers, e.g. int64) as targets, got {dtype}. "
            "Convert them with targets.long(); for 0/1 targets with one logit per example, use "
            "binary_cross_entropy_with_logits."
        )
    if shape != (logits.shape[0],):
        hint = " (squeeze the extra dim: targets.squeeze(1))" if shape == (len(logits), 1) else ""
        raise ValueError(
            f"cross_entropy takes one class index per row of logits: targets of shape "
            f"({logits.shape[0]},) for logits {shape_str(logits.shape)}, got {shape_str(shape)}"
            f"{hint}."
        )


# F.gelu, a torch name minigrad lacks, raises an AttributeError that says so (surface.py).
__getattr__ = _missing_name_getattr(__name__, "torch.nn.functional")
