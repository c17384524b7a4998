"""Functions of tensors that layers and losses use: `import minigrad.nn.functional as F`.

Each is written with minigrad's ops, so its gradient comes from theirs: nothing new to derive
(but for the losses that have an op of their own: nll_loss, binary_cross_entropy). The losses
take torch's arguments and return the mean by default (reduction="mean", "sum" or "none").
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch

from .. import ops
from ..autograd.grad_mode import no_grad
from ..creation import cat, where
from ..errors import DtypeError, ShapeError, shape_str
from ..errors import missing_name_getattr as _missing_name_getattr
from ..functions import einsum, stack
from ..ops.conv import dims_mismatch
from ..ops.embedding import index_added
from ..tensor import Tensor, unwrap
from .sampling import affine_grid, grid_sample  # noqa: F401 (F.affine_grid, F.grid_sample)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0). inplace=True writes the result into x (x.relu_()) and returns x, as torch."""
    return input.relu_() if inplace else input.relu()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias, with weight of shape (out_features, in_features)."""
    return ops.Linear.apply(x, weight, bias)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, a smooth relu whose gradient is sigmoid(beta x); x itself
    where beta x > threshold, as in torch (see ops.Softplus)."""
    return ops.Softplus.apply(input, beta=beta, threshold=threshold)


def mnist_loss(predictions: Tensor, targets: Tensor) -> Tensor:
    """fastbook chapter 4's loss: how far each prediction is from its target (1 or 0), after
    a sigmoid squashes it into (0, 1)."""
    predictions = predictions.sigmoid()
    return where(targets == 1, 1 - predictions, predictions).mean()


# ---- losses: each reduces with reduction="mean" (the default), "sum", or "none" ----------------


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """The mean squared error: mean of (input - target)^2. See ops.MSELoss."""
    reduction = _reduction(size_average, reduce, reduction)
    _warn_if_broadcast("mse_loss", input, target)
    return ops.MSELoss.apply(input, target, reduction=reduction)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """The mean absolute error: mean of |input - target| (its gradient at 0 is 0, as torch's)."""
    reduction = _reduction(size_average, reduce, reduction)
    _warn_if_broadcast("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere, for d = input - target: a
    squared error near 0 that turns into an absolute one (Fast R-CNN's box loss). The two pieces
    meet with the same slope (d / beta = sign(d) at |d| = beta), so the gradient is continuous.
    beta = 0 is l1_loss, as in torch."""
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError(
            f"smooth_l1_loss does not support negative values for beta, got beta={beta}: it is "
            "the |input - target| below which the loss is squared (0 gives l1_loss)."
        )
    _check_floating("smooth_l1_loss", input, target)
    _warn_if_broadcast("smooth_l1_loss", input, target)
    if beta == 0:  # the squared piece would divide by 0
        return l1_loss(input, target, reduction=reduction)
    difference = input - target
    size = difference.abs()
    return _reduce(where(size < beta, 0.5 * difference**2 / beta, size - 0.5 * beta), reduction)


def huber_loss(
    input: Tensor,
    target: Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Tensor | None = None,
) -> Tensor:
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere, for d = input - target:
    smooth_l1_loss times delta (with beta = delta), so its slope beyond delta is delta, not 1.
    `weight` (input's shape) weighs each element's loss before the reduction, as torch's."""
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError(
            f"huber_loss does not support non-positive values for delta, got delta={delta}: it "
            "is the |input - target| below which the loss is squared."
        )
    _check_floating("huber_loss", input, target)
    _warn_if_broadcast("huber_loss", input, target)
    if weight is not None and tuple(weight.shape) != tuple(input.shape):
        raise ValueError(
            f"huber_loss: Weights and input must have the same size: weight "
            f"{shape_str(weight.shape)}, input {shape_str(input.shape)} (one weight per element)."
        )
    difference = input - target
    size = difference.abs()
    loss = where(size < delta, 0.5 * difference**2, delta * (size - 0.5 * delta))
    return _reduce(loss if weight is None else loss * weight, reduction)


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """The Kullback-Leibler divergence of the model's distribution from the target's: for
    log-probabilities `input` and probabilities `target` (log-probabilities if log_target),
    each element's loss is target (log target - input), 0 where target is 0 (as torch's xlogy).

    reduction="batchmean" (the sum divided by the batch size, input.shape[0]) is the KL
    divergence itself; "mean" divides by every element, and warns so, as torch does.
    """
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn(
            "kl_div(reduction='mean') divides the summed loss by every element (the batch size "
            "times the number of classes), which is not the KL divergence. 'batchmean' divides "
            "only by the batch size, as the divergence is defined; torch warns likewise, and "
            "means to make 'mean' behave as 'batchmean' in a later release.",
            UserWarning,
            stacklevel=2,
        )
    elif reduction != "batchmean":
        _reduction(None, None, reduction)  # says which reductions there are
    if not (input.dtype.is_floating_point and target.dtype.is_floating_point):
        raise TypeError(
            f"kl_div takes floating-point log-probabilities and targets, got input {input.dtype} "
            f"and target {target.dtype}: integral inputs are not supported. Convert with .float()."
        )
    if log_target:
        losses = target.exp() * (target - input)
    else:  # target * log(target) is 0 where target is 0 (0 log 0 would be NaN)
        losses = where(target == 0, 0.0, target * target.log()) - target * input
    if reduction == "batchmean":
        return losses.sum() / input.shape[0] if input.ndim else losses.sum()
    return _reduce(losses, reduction)


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-[y log x + (1 - y) log(1 - x)] for probabilities x in [0, 1] (after a sigmoid) and
    targets y in [0, 1], times `weight` if given. See ops.BinaryCrossEntropy; from logits,
    binary_cross_entropy_with_logits is the stable choice."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_same_shape("binary_cross_entropy", input, target, "input")
    weight = _constant("binary_cross_entropy", "weight", weight)
    return ops.BinaryCrossEntropy.apply(input, target, weight, reduction=reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """-[p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))], for logits x and targets y in
    [0, 1], computed stably; p is `pos_weight` (1 by default), the weight of positive targets,
    and the whole is multiplied by `weight` if given. See ops.BinaryCrossEntropyWithLogits."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    weights = [_constant("binary_cross_entropy_with_logits", name, value)
               for name, value in (("weight", weight), ("pos_weight", pos_weight))]  # fmt: skip
    return ops.BinaryCrossEntropyWithLogits.apply(input, target, *weights, reduction=reduction)


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """The mean of -input[i, target[i]]: the negative log-likelihood of each row's class, for
    log-probabilities `input` (N, C) and class indices `target` (N,) (or (N, C, d1, ...) and
    (N, d1, ...); or one example: (C,) and ()). `weight` (C,) weighs each class (the mean then
    divides by the weights' sum); targets equal to `ignore_index` count for nothing."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_class_targets("nll_loss", input, target)
    weight = _constant("nll_loss", "weight", weight)
    return _nll_loss(input, target, weight, ignore_index, reduction)


def _nll_loss(
    input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, reduction: str
) -> Tensor:
    """nll_loss on arguments already checked."""
    if input.ndim == 1:  # one example: a batch of one
        loss = _nll_loss(input.unsqueeze(0), target.unsqueeze(0), weight, ignore_index, reduction)
        return loss.squeeze(0) if reduction == "none" else loss
    return ops.NLLLoss.apply(
        input, target, unwrap(weight), ignore_index=ignore_index, reduction=reduction
    )


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax then negative log-likelihood, for logits `input` (N, C) and `target` either N
    class indices in [0, C) or (N, C) class probabilities. (More dims as nll_loss: the class
    dim is 1.) log_softmax computes log(e^x_j / sum e^x) as x_j - logsumexp(x): stable for any
    logits.

    label_smoothing = e aims at 1 - e + e / C for the true class and e / C for the others:
    the loss is (1 - e) * nll + e * (the mean over classes of -log p), so the model is not
    pushed to ever larger logits. `weight` and `ignore_index` as in nll_loss.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}: it is the "
            "share of the target spread over all classes."
        )
    class_dim = 0 if input.ndim == 1 else 1
    log_probs = input.log_softmax(dim=class_dim)
    if target.dtype.is_floating_point and tuple(target.shape) == tuple(input.shape):
        return _cross_entropy_with_probabilities(
            log_probs, target, weight, ignore_index, reduction, label_smoothing, class_dim
        )
    _check_class_targets("cross_entropy", input, target)
    weight = _constant("cross_entropy", "weight", weight)  # (for class probabilities, above, a
    # weight may require grad: torch differentiates that loss with respect to it too)
    loss = _nll_loss(log_probs, target, weight, ignore_index, reduction)
    if label_smoothing == 0.0:
        return loss
    n_classes = input.shape[class_dim]
    weighted = log_probs if weight is None else log_probs * _along(weight, class_dim, input.ndim)
    counted = target._data != ignore_index
    smooth = where(Tensor(counted), -weighted.sum(class_dim), 0.0)  # ignored targets: 0
    if reduction == "mean":  # divided by what nll_loss divides by: the targets' weights
        picked = target._data.where(counted, 0)
        weights = counted.to(input.dtype) if weight is None else unwrap(weight)[picked]
        total = (weights * counted).sum()
        smooth = smooth.sum() / Tensor(torch.where(total == 0, 1.0, total))  # all ignored: 0
    else:
        smooth = _reduce(smooth, reduction)
    return (1 - label_smoothing) * loss + smooth * (label_smoothing / n_classes)


def _cross_entropy_with_probabilities(
    log_probs: Tensor,
    target: Tensor,
    weight: Tensor | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
    class_dim: int,
) -> Tensor:
    """-sum_j y_j log p_j for class probabilities y, averaged over the examples (and any dims
    past the class dim)."""
    if ignore_index >= 0:
        raise ValueError(
            "cross_entropy: ignore_index is for class-index targets; these targets are class "
            "probabilities (floats of the logits' shape). Give an ignored example all-zero "
            "probabilities instead."
        )
    n_classes = log_probs.shape[class_dim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    products = log_probs * target
    if weight is not None:
        products = products * _along(weight, class_dim, log_probs.ndim)
    loss = -products.sum(class_dim)
    if reduction == "mean":
        return loss.sum() / (log_probs.numel() // n_classes)
    return _reduce(loss, reduction)


def _along(weight: Tensor, class_dim: int, ndim: int) -> Tensor:
    """A per-class weight (C,) shaped to broadcast along the class dim of an ndim-d input."""
    weight = weight if isinstance(weight, Tensor) else Tensor(torch.as_tensor(weight))
    return weight.reshape([-1] + [1] * (ndim - class_dim - 1))


_REDUCTIONS = ("mean", "sum", "none")


def _reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """The reduction asked for; torch's old size_average/reduce flags map onto it as in torch
    (both default True: reduce=False keeps each loss, size_average=False sums them)."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else "mean" if size_average else "sum"
        warnings.warn(
            f"size_average and reduce args will be deprecated, please use "
            f"reduction='{reduction}' instead.",
            UserWarning,
            stacklevel=3,
        )
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"{reduction} is not a valid value for reduction: use 'mean' (the default), 'sum', "
            "or 'none' (one loss per element)."
        )
    return reduction


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _warn_if_broadcast(name: str, input: Tensor, target: Tensor) -> None:
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(
            f"{name}: Using a target size {shape_str(target.shape)} that is different to the "
            f"input size {shape_str(input.shape)}. This will likely lead to incorrect results "
            "due to broadcasting: (N, 1) predictions against (N,) targets compare every "
            "prediction with every target. Please ensure they have the same size, e.g. "
            "predictions.squeeze(1) or targets.unsqueeze(1).",
            UserWarning,
            stacklevel=3,
        )


def _check_floating(name: str, input: Tensor, target: Tensor) -> None:
    if not (input.dtype.is_floating_point and target.dtype.is_floating_point):
        raise TypeError(
            f"{name} takes floating-point inputs and targets, got input {input.dtype} of shape "
            f"{shape_str(input.shape)} and target {target.dtype} of shape "
            f"{shape_str(target.shape)}. Convert them with .float() first."
        )


def _constant(function: str, argument: str, value: Tensor | None) -> torch.Tensor | None:
    """A weight of a loss, which gets no gradient: refused if it requires one, as in torch (where
    it would otherwise be silently taken as a constant, its .grad left None)."""
    if isinstance(value, Tensor) and value.requires_grad:
        raise RuntimeError(
            f"{function} is not differentiable with respect to its {argument} (as in torch), "
            f"but the {argument} given requires grad: pass {argument}=w.detach()."
        )
    return unwrap(value)


def _check_same_shape(name: str, input: Tensor, target: Tensor, what: str = "logits") -> None:
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"{name}: {what} {shape_str(input.shape)} and targets {shape_str(target.shape)} "
            f"must have the same shape (one target per {what.rstrip('s')}); reshape one of them."
        )


def _check_class_targets(name: str, input: Tensor, target: Tensor) -> None:
    """Class-index targets: integers, one per position of the input but its class dim."""
    input, target = unwrap(input), unwrap(target)  # (torch's attributes cost less to read)
    if input.ndim == 0:
        raise ValueError(
            f"{name} takes scores of shape (N, C), one row of class scores per example (or (C,) "
            "for one example); got a 0-d tensor."
        )
    dtype, shape = target.dtype, tuple(target.shape)
    if dtype not in (torch.int64, torch.uint8):  # what torch's kernel takes
        raise DtypeError(
            f"{name} takes class indices (int64, or uint8) as targets, got {dtype} of shape "
            f"{shape_str(shape)}. Convert them with targets.long(); for 0/1 targets with one "
            "logit per example, use binary_cross_entropy_with_logits. (Float targets are class "
            f"probabilities, and must have the input's shape {shape_str(input.shape)}.)"
        )
    expected = tuple(input.shape[:1] + input.shape[2:]) if input.ndim > 1 else ()
    if shape != expected:
        hint = ""
        if input.ndim == 2 and shape == (input.shape[0], 1):
            hint = " (squeeze the extra dim: targets.squeeze(1))"
        raise ValueError(
            f"{name} takes one class index per row of logits: targets of shape "
            f"{shape_str(expected)} for logits {shape_str(input.shape)}, got "
            f"{shape_str(shape)}{hint}."
        )


# ---- losses with margins: ranking, embeddings, triplets, several classes ----------------------
# Each is a composition of minigrad's ops. Where a loss is max(0, m) and torch's kernel keeps the
# gradient at m = 0 (its clamp_min does), clamp_min(0) is used (gradient 1 there, as torch's);
# where torch's kernel counts only m > 0, relu (gradient 0 there).


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -y (x1 - x2) + margin): for y = 1, x1 should rank above x2 by at least margin
    (y = -1: below). No loss once it does; the gradient is -y for x1 and y for x2 until then."""
    reduction = _reduction(size_average, reduce, reduction)
    if not input1.ndim == input2.ndim == target.ndim:
        raise ShapeError(
            f"margin_ranking_loss: input1 {shape_str(input1.shape)}, input2 "
            f"{shape_str(input2.shape)} and target {shape_str(target.shape)} must have the same "
            "number of dims (one target, 1 or -1, per pair of scores)."
        )
    _broadcast_all("margin_ranking_loss", input1=input1, input2=input2, target=target)
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1: `input` is a distance, small for
    similar pairs (y = 1) and at least margin for dissimilar ones (y = -1). As torch, a target
    that is neither gets both terms."""
    reduction = _reduction(size_average, reduce, reduction)
    _broadcast_all("hinge_embedding_loss", input=input, target=target)
    pushed_apart = where(target != 1, (margin - input).clamp_min(0), 0.0)
    pulled_together = where(target != -1, input, 0.0)
    return _reduce(pushed_apart + pulled_together, reduction)


def soft_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """log(1 + e^(-y x)) for targets y = 1 or -1: a smooth hinge (logistic regression's loss
    with labels +-1). Its gradient, -y e^(-y x) / (1 + e^(-y x)), comes from exp and log1p."""
    reduction = _reduction(size_average, reduce, reduction)
    _broadcast_all("soft_margin_loss", input=input, target=target)
    return _reduce((-input * target).exp().log1p(), reduction)


_COSINE_EPS = float(torch.tensor(1e-12, dtype=torch.float32))  # torch's constant, a float


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1: pairs of rows
    (N, D) with targets (N,), or one pair (D,) with a 0-d target. As torch computes it,

        cos = sum(x1 x2) / sqrt((sum(x1^2) + e) (sum(x2^2) + e))

    where e = 1e-12 keeps a zero row from dividing by 0 (1e-12 rounded to float32, as torch's
    kernel holds it: 9.99999996e-13). A target that is neither 1 nor -1 gives 0."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.ndim not in (0, 1):
        raise ShapeError(
            f"cosine_embedding_loss: target {shape_str(target.shape)} must be 0-d (one pair of "
            "vectors) or 1-d (one target per row of input1 and input2)."
        )
    if not input1.ndim == input2.ndim == target.ndim + 1:
        raise ShapeError(
            f"cosine_embedding_loss: a {target.ndim}-d target {shape_str(target.shape)} needs "
            f"{target.ndim + 1}-d inputs (each row a vector), got input1 "
            f"{shape_str(input1.shape)} and input2 {shape_str(input2.shape)}."
        )
    _broadcast_all("cosine_embedding_loss", input1=input1, input2=input2)
    dim = target.ndim  # the vectors' dim
    products = (input1 * input2).sum(dim)
    squares1 = (input1 * input1).sum(dim) + _COSINE_EPS
    squares2 = (input2 * input2).sum(dim) + _COSINE_EPS
    cos = products / (squares1 * squares2).sqrt()
    similar = where(target == 1, 1 - cos, 0.0)
    dissimilar = where(target == -1, (cos - margin).clamp_min(0), 0.0)
    return _reduce(similar + dissimilar, reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, d(a, p) + margin - d(a, n)), d the pairwise_distance of order p (with eps): the
    anchor should be closer to the positive than to the negative, by at least margin.
    swap=True takes d(p, n) for d(a, n) where it is smaller (the harder negative)."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_triplet("triplet_margin_loss", anchor, positive, negative, margin)

    def distance(x1: Tensor, x2: Tensor) -> Tensor:
        return pairwise_distance(x1, x2, p, eps)

    return _triplet_loss(anchor, positive, negative, distance, margin, swap, reduction)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function: Any = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """triplet_margin_loss with a distance of your own: distance_function(x1, x2) returns one
    non-negative distance per row (pairwise_distance by default; 1 - cosine_similarity is a
    common other)."""
    reduction = _reduction(None, None, reduction)
    _check_triplet("triplet_margin_with_distance_loss", anchor, positive, negative, margin)
    distance = pairwise_distance if distance_function is None else distance_function
    return _triplet_loss(anchor, positive, negative, distance, margin, swap, reduction)


def _triplet_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    distance: Any,
    margin: float,
    swap: bool,
    reduction: str,
) -> Tensor:
    to_positive, to_negative = distance(anchor, positive), distance(anchor, negative)
    if swap:  # ties split the gradient between the two distances, as torch's minimum does
        to_negative = to_negative.minimum(distance(positive, negative))
    return _reduce((margin + to_positive - to_negative).clamp_min(0), reduction)


def _check_triplet(
    name: str, anchor: Tensor, positive: Tensor, negative: Tensor, margin: float
) -> None:
    if margin <= 0:
        raise ValueError(
            f"{name}: margin must be greater than 0, got {margin}: it is how much farther the "
            "negative must be than the positive (with 0 the loss could never push them apart)."
        )
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ShapeError(
            f"{name}: anchor {shape_str(anchor.shape)}, positive {shape_str(positive.shape)} "
            f"and negative {shape_str(negative.shape)} must have the same number of dims (rows "
            "of vectors, (N, D), or one vector each, (D,))."
        )


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """The negative log-likelihood of counts `target` under a Poisson distribution of rate r,
    less the terms that do not depend on r: r - y log r. With log_input (the default) `input`
    is log r, and the loss e^x - y x; otherwise it is r itself, and the loss x - y log(x + eps).

    full=True adds log(y!), approximated as torch does by Stirling's y log y - y +
    log(2 pi y) / 2, only where y > 1 (log(0!) = log(1!) = 0)."""
    reduction = _reduction(size_average, reduce, reduction)
    _broadcast_all("poisson_nll_loss", input=input, target=target)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var: Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """The negative log-likelihood of `target` under normal distributions of mean `input` and
    variance `var`: (log var + (x - y)^2 / var) / 2, plus log(2 pi) / 2 if full.

    var has input's shape, or one dim fewer (one variance for the last dim), or input's dims
    with a single one of size 1 (one variance shared along it); a number is one variance for
    all. As torch, var is kept >= eps outside the graph (clamped in place under no_grad): the
    loss uses max(var, eps), but the gradient flows on to var as if it had not been clamped."""
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError(f"gaussian_nll_loss: var={var} is a variance, and must be >= 0.")
        var = Tensor(torch.full_like(unwrap(input), var))
    elif bool((unwrap(var) < 0).any()):  # (torch asks too: a wait for the GPU)
        raise ValueError(
            f"gaussian_nll_loss: var {shape_str(var.shape)} has negative entries: it holds "
            "variances, which must be >= 0."
        )
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):  # one variance per vector
            var = var.unsqueeze(-1)
        elif not (  # torch's rule: one differing dim, of size 1 in var
            var.ndim == input.ndim and sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1
        ):
            raise ValueError(
                f"gaussian_nll_loss: var {shape_str(var.shape)} does not fit input "
                f"{shape_str(input.shape)}: give var the input's shape, the input's shape less "
                "its last dim, or the input's shape with one dim of size 1."
            )
    reduction = _reduction(None, None, reduction)
    var = var.clone()  # (the clamp below changes it in place; the caller's var stays as it was)
    with no_grad():
        var.clamp_min_(eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """For scores (N, C) and 0/1 targets (N, C), each example may have several classes: the
    binary cross-entropy of every class from its logit, -[y log sigmoid(x) + (1 - y) log
    sigmoid(-x)], times `weight` (per class) if given, averaged over the C classes. One loss
    per example, then the reduction."""
    reduction = _reduction(size_average, reduce, reduction)
    _broadcast_all("multilabel_soft_margin_loss", input=input, target=target)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.sum(-1) / input.shape[-1], reduction)


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """A multi-class hinge (an SVM's loss) for scores (N, C) and class indices (N,): each
    other class j costs max(0, margin - x[y] + x[j])^p, p = 1 or 2, times weight[y] if given;
    the sum is divided by C. (One example: (C,) and a 0-d target.) As torch's kernel, only
    terms above 0 count, so at 0 the gradient is 0 (relu's)."""
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError(
            f"multi_margin_loss: p={p}, but only p=1 (the hinge) and p=2 (the squared hinge) "
            "are supported."
        )
    if weight is not None and weight.ndim != 1:
        raise ValueError(
            f"multi_margin_loss: weight {shape_str(weight.shape)} must be 1-d: one weight per "
            "class."
        )
    rows, classes = _margin_rows("multi_margin_loss", input, target)
    if target.ndim > 1 or target.numel() != rows.shape[0]:
        raise ShapeError(
            f"multi_margin_loss: target {shape_str(target.shape)} must hold one class index per "
            f"example of input {shape_str(input.shape)}: {rows.shape[0]} of them, in a 1-d "
            "tensor (or 0-d for one example)."
        )
    if weight is not None and weight.numel() != classes:
        raise ShapeError(
            f"multi_margin_loss: weight {shape_str(weight.shape)} must hold one weight per class: "
            f"{classes} for input {shape_str(input.shape)}."
        )
    labels = unwrap(target).reshape(-1, 1)
    _check_class_range("multi_margin_loss", labels, classes, low=0)
    true_score = rows.gather(1, Tensor(labels))  # x[y], (N, 1)
    hinge = (margin - true_score + rows).relu()
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * Tensor(unwrap(weight)[labels])  # (torch gives the weight no gradient)
    others = Tensor(torch.arange(classes, device=labels.device) != labels)  # j != y
    loss = where(others, hinge, 0.0).sum(1) / classes
    return _reduce(loss if input.ndim == 2 else loss.squeeze(0), reduction)


def multilabel_margin_loss(
    input: Tensor,
    target: Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """A multi-label hinge for scores (N, C) and targets (N, C) of class indices: each row of
    target lists an example's classes, ended by the first -1 (or the row's end). Every listed
    class j against every class k not listed costs max(0, 1 - (x[j] - x[k])); the sum is
    divided by C. (One example: (C,) and (C,).) Only terms above 0 count, as in torch's kernel.

    Written as one (N, C, C) tensor of 1 - x[j] + x[k], times how often j is listed where k is
    not: C^2 numbers per example, simple rather than frugal."""
    reduction = _reduction(size_average, reduce, reduction)
    rows, classes = _margin_rows("multilabel_margin_loss", input, target)
    if input.ndim == 2:
        fits = tuple(target.shape) == tuple(input.shape)
    else:  # one example: any 0-d or 1-d target of C indices
        fits = target.ndim <= 1 and target.numel() == classes
    if not fits:
        raise ShapeError(
            f"multilabel_margin_loss: target {shape_str(target.shape)} must have input's shape "
            f"{shape_str(input.shape)}: for each example a row of class indices, ended by -1."
        )
    labels = unwrap(target).reshape(rows.shape)
    _check_class_range("multilabel_margin_loss", labels, classes, low=-1)
    listed = (labels >= 0).cumprod(1).bool()  # the indices before the first -1
    counts = torch.zeros(rows.shape, dtype=rows.dtype, device=labels.device)
    counts.scatter_add_(1, labels.clamp_min(0), listed.to(rows.dtype))  # times each is listed
    pairs = counts.unsqueeze(2) * (counts == 0).unsqueeze(1)  # [n, j, k]: j listed, k not
    hinges = (1 - rows.unsqueeze(2) + rows.unsqueeze(1)).relu()  # [n, j, k]: 1 - x[j] + x[k]
    loss = (hinges * Tensor(pairs)).sum((1, 2)) / classes
    return _reduce(loss if input.ndim == 2 else loss.squeeze(0), reduction)


def _margin_rows(name: str, input: Tensor, target: Tensor) -> tuple[Tensor, int]:
    """The scores as rows (N, C) (one row for (C,), a 1 x 1 for a 0-d input), and C; the
    targets must be int64, as torch's kernels take."""
    if input.ndim > 2 or (input.ndim and input.shape[-1] == 0):
        raise ShapeError(
            f"{name}: input {shape_str(input.shape)} must be (N, C) scores, or (C,) for one "
            "example, with C > 0."
        )
    if target.dtype != torch.int64:
        raise TypeError(
            f"{name}: target must hold class indices as int64, got {target.dtype} of shape "
            f"{shape_str(target.shape)}. Convert them with target.long()."
        )
    classes = input.shape[-1] if input.ndim else 1
    return input.reshape(-1, classes), classes


def _check_class_range(name: str, labels: torch.Tensor, classes: int, low: int) -> None:
    """Every class index in [low, classes) (a wait for the GPU, as torch's kernel check)."""
    if labels.numel() and bool(((labels < low) | (labels >= classes)).any()):
        bad = labels[(labels < low) | (labels >= classes)][0].item()
        raise RuntimeError(
            f"{name}: target holds {bad}, which names no class: indices must be in [{low}, "
            f"{classes - 1}] for input of {classes} classes"
            + (" (-1 ends a row's list)." if low == -1 else ".")
        )


def _broadcast_all(name: str, **tensors: Tensor) -> tuple[int, ...]:
    """The shape the named tensors broadcast to; if they do not, an error that names them."""
    try:
        return tuple(torch.broadcast_shapes(*(t.shape for t in tensors.values())))
    except RuntimeError:
        shapes = ", ".join(f"{key} {shape_str(t.shape)}" for key, t in tensors.items())
        raise ShapeError(
            f"{name}: {shapes} must broadcast to one shape (each dim equal, or 1 in all but "
            "one of them); the loss compares them element by element."
        ) from None


# ---- ctc_loss: frames against a shorter sequence of labels, every alignment summed --------------


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Tensor | tuple[int, ...] | list[int],
    target_lengths: Tensor | tuple[int, ...] | list[int],
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """Connectionist temporal classification: -log p(y | x) for label sequences y of S labels
    read from T >= S frames of log-probabilities over C classes, one of them `blank`.

    An alignment picks one class per frame; it spells y once repeats are merged and blanks
    dropped (so a label repeated in y needs a blank between its copies). p(y | x) sums, over
    all alignments, the product of their frames' probabilities. The sum is the forward
    recursion over y' = (blank, y_1, blank, y_2, ..., y_S, blank), of 2S + 1 positions s:
        alpha_t(s) = log p_t(y'_s) + logsumexp(alpha_{t-1}(s), alpha_{t-1}(s - 1),
                                               alpha_{t-1}(s - 2) if y'_s is a label != y'_{s-2})
    from alpha_{-1} = (0, -inf, -inf, ...) (before the first frame), and log p(y | x) =
    logsumexp(alpha_{T-1}(2S), alpha_{T-1}(2S - 1)). Each step is minigrad's ops on the whole
    batch and every position at once, so the gradient is backprop through the recursion: the
    Python loop runs over the frames only.

    log_probs is (T, N, C) (or (T, C): one sequence); targets are padded, (N, S), or the N
    sequences concatenated, 1-d; input_lengths and target_lengths hold each sequence's T and
    S (tensors, tuples or lists). reduction="mean" divides each loss by its target length
    (at least 1), then averages over the batch, as torch. A target that no alignment spells
    (too long for its frames) costs inf; zero_infinity=True makes it 0, with a 0 gradient.

    The gradient for log_probs is the loss's derivative, -q, where q[t, c] is the share of
    p(y | x) from the alignments that pick class c at frame t. torch's kernel returns
    exp(log_probs) - q instead, the gradient of the logits under log_probs = log_softmax(logits):
    through log_softmax, as users write it, the two give the logits the same gradient (its
    backward subtracts each frame's gradient sum times the probabilities, and q and
    exp(log_probs) both sum to 1 over the classes), but a leaf log_probs gets torch's extra
    exp(log_probs) there and not here. For an infinite loss (zero_infinity=False) torch's
    gradient is NaN (it divides by p(y | x) = 0); here the paths that do not exist give 0."""
    reduction = _reduction(None, None, reduction)
    if log_probs.ndim not in (2, 3):
        raise RuntimeError(
            f"ctc_loss: log_probs {shape_str(log_probs.shape)} must be (T, N, C): frames, "
            "sequences, classes (or (T, C) for one sequence)."
        )
    batched = log_probs.ndim == 3
    frames = log_probs if batched else log_probs.unsqueeze(1)
    steps, batch, classes = frames.shape
    device = unwrap(log_probs).device
    input_lengths = _ctc_lengths("input_lengths", input_lengths, batch, device)
    target_lengths = _ctc_lengths("target_lengths", target_lengths, batch, device)
    longest_input = int(input_lengths.max()) if batch else 0  # (torch reads them too)
    if longest_input > steps:
        raise RuntimeError(
            f"ctc_loss: input_lengths holds {longest_input}, more than log_probs' "
            f"{steps} frames (its first dim, T)."
        )
    if not 0 <= blank < classes:
        raise RuntimeError(
            f"ctc_loss: blank={blank} names no class: log_probs has {classes} classes (its "
            f"last dim), so blank must be in [0, {classes - 1}]."
        )
    labels = _ctc_padded_targets(targets, target_lengths, batch, classes, blank)
    log_likelihood = _ctc_log_likelihood(frames, labels, input_lengths, target_lengths, blank)
    loss = -log_likelihood
    if zero_infinity:
        loss = where(loss.isinf(), 0.0, loss)
    if reduction == "mean":
        loss = loss / Tensor(target_lengths.clamp_min(1).to(loss.dtype))
    return _reduce(loss if batched else loss.squeeze(0), reduction)


def _ctc_lengths(name: str, lengths: Any, batch: int, device: torch.device) -> torch.Tensor:
    """One length per sequence, as an int64 tensor on log_probs' device."""
    if isinstance(lengths, (Tensor, torch.Tensor)):
        lengths = unwrap(lengths).reshape(-1).to(device=device, dtype=torch.int64)
    elif isinstance(lengths, (tuple, list)):
        lengths = torch.tensor(lengths, dtype=torch.int64, device=device).reshape(-1)
    else:
        raise TypeError(
            f"ctc_loss: {name} must be a tensor, a tuple or a list of lengths (one per "
            f"sequence), got {type(lengths).__name__}: for one length n write ({name[:-1]}=) "
            "(n,) or torch.tensor(n)."
        )
    if lengths.numel() != batch:
        raise RuntimeError(
            f"ctc_loss: {name} holds {lengths.numel()} lengths, but log_probs has {batch} "
            "sequences (its dim 1): give one length per sequence."
        )
    if batch and int(lengths.min()) < 0:
        raise RuntimeError(f"ctc_loss: {name} holds {int(lengths.min())}: lengths are >= 0.")
    return lengths


def _ctc_padded_targets(
    targets: Tensor, target_lengths: torch.Tensor, batch: int, classes: int, blank: int
) -> torch.Tensor:
    """The targets as (N, S) labels, S the longest target length, padded with blank: from
    padded targets (N, S') or from the N sequences one after another (1-d)."""
    labels = unwrap(targets).to(torch.int64)
    longest = int(target_lengths.max()) if batch else 0
    position = torch.arange(longest, device=target_lengths.device)
    inside = position < target_lengths.unsqueeze(1)  # (N, S): a label, not padding
    if labels.ndim == 2:
        if labels.shape[0] != batch or labels.shape[1] < longest:
            raise RuntimeError(
                f"ctc_loss: padded targets {shape_str(labels.shape)} must have one row per "
                f"sequence ({batch}) and at least the longest target length ({longest}) "
                "columns."
            )
        labels = labels[:, :longest]
    elif labels.ndim == 1:
        total = int(target_lengths.sum())
        if labels.numel() != total:
            raise RuntimeError(
                f"ctc_loss: 1-d targets are the sequences one after another, so they hold "
                f"sum(target_lengths) = {total} labels, got {labels.numel()}. (Padded targets "
                "are 2-d: (N, S).)"
            )
        starts = target_lengths.cumsum(0) - target_lengths
        where_each = (starts.unsqueeze(1) + position).clamp_max(max(total - 1, 0))
        labels = labels[where_each] if total else torch.zeros_like(where_each)
    else:
        raise RuntimeError(
            f"ctc_loss: targets {shape_str(labels.shape)} must be padded, (N, S), or the "
            "sequences concatenated, 1-d."
        )
    labels = torch.where(inside, labels, blank)
    if bool(((labels < 0) | (labels >= classes)).any()):  # (a wait for the GPU)
        bad = labels[(labels < 0) | (labels >= classes)][0].item()
        raise RuntimeError(
            f"ctc_loss: targets hold {bad}, which names no class: labels must be in "
            f"[0, {classes - 1}] for log_probs of {classes} classes."
        )
    return labels


def _ctc_log_likelihood(
    frames: Tensor,
    labels: torch.Tensor,
    input_lengths: torch.Tensor,
    target_lengths: torch.Tensor,
    blank: int,
) -> Tensor:
    """log p(y | x) for each sequence, (N,): the forward recursion over blank-interleaved
    labels (see ctc_loss), alpha of shape (N, 2S + 1) carried through the frames."""
    steps, batch, _ = frames.shape
    width = 2 * labels.shape[1] + 1
    extended = torch.full((batch, width), blank, dtype=torch.int64, device=labels.device)
    extended[:, 1::2] = labels
    position = torch.arange(width, device=labels.device)
    # alpha may come from two positions back onto a label unlike the one before it (a blank
    # between two equal labels cannot be skipped: the pair would merge into one)
    skip = (position % 2 == 1) & (position >= 3) & (extended != extended.roll(2, dims=1))
    emissions = frames.gather(2, Tensor(extended.expand(steps, batch, width)))  # (T, N, 2S+1)
    running = Tensor(torch.arange(steps, device=labels.device).unsqueeze(1) < input_lengths)
    alpha = Tensor(torch.where(position == 0, 0.0, -math.inf).to(frames.dtype).expand(batch, -1))
    no_path = Tensor(torch.full((batch, 2), -math.inf, dtype=frames.dtype, device=labels.device))
    for t in range(steps):
        before = cat([no_path, alpha], dim=1)  # alpha moved right by 0, 1 and 2 positions
        paths = stack([alpha, before[:, 1:-1], where(Tensor(skip), before[:, :-2], -math.inf)], 2)
        stepped = _logsumexp_of_paths(paths, dim=2) + emissions[t]
        alpha = where(running[t].unsqueeze(1), stepped, alpha)  # a sequence's frames ended
    # y' ends on its last blank, 2S, or on its last label, 2S - 1 (if it has one)
    last = (2 * target_lengths).unsqueeze(1)
    on_blank = alpha.gather(1, Tensor(last))
    on_label = alpha.gather(1, Tensor((last - 1).clamp_min(0)))
    on_label = where(Tensor(last > 0), on_label, -math.inf)
    return _logsumexp_of_paths(cat([on_blank, on_label], dim=1), dim=1)


def _logsumexp_of_paths(log_terms: Tensor, dim: int) -> Tensor:
    """logsumexp along dim, where all terms -inf (no path) give -inf with a 0 gradient: the
    plain one gives there exp(-inf - (-inf)) = NaN, which backprop would carry everywhere.
    Those terms are set to 0 before (so nothing flows back to them) and -inf after."""
    no_path = (unwrap(log_terms) == -math.inf).all(dim)
    safe = where(Tensor(no_path.unsqueeze(dim)), 0.0, log_terms)
    return where(Tensor(no_path), -math.inf, safe.logsumexp(dim))


# ---- normalising vectors, and comparing them ----------------------------------------------------


def normalize(
    input: Tensor, p: float = 2.0, dim: Any = 1, eps: float = 1e-12, out: Any = None
) -> Tensor:
    """Each vector along `dim` divided by its p-norm: v / max(||v||_p, eps), as torch's (the
    norm is kept >= eps, so a zero vector stays zero instead of dividing by 0; below eps the
    gradient of the clamped norm is 0, as clamp_min's). A composition of norm, clamp_min and /,
    so the gradient is theirs."""
    if out is not None:
        raise TypeError(
            "normalize: out= is not supported: minigrad's functions return a new tensor. Write "
            "y = F.normalize(x, ...) instead (torch's result with out= has no gradient anyway)."
        )
    return input / input.norm(p, dim, keepdim=True).clamp_min(eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """The cosine of the angle between the vectors along `dim` of x1 and x2 (which broadcast):
    sum(x1 / ||x1|| * x2 / ||x2||), as torch computes it: each vector divided by its norm first,
    so the result stays within [-1, 1] even for long vectors. Each norm is kept >= eps.

    As in torch, the norms are clamped to eps outside the graph (in place, under no_grad): the
    division uses max(||x||, eps), but the gradient flows on through ||x|| itself, as if it
    had not been clamped. (F.normalize's clamp is in the graph: below eps its gradient is 0.)
    """
    dtype = torch.result_type(unwrap(x1), unwrap(x2))
    if not dtype.is_floating_point:
        raise TypeError(
            f"cosine_similarity: x1 ({x1.dtype}, shape {shape_str(x1.shape)}) and x2 "
            f"({x2.dtype}, shape {shape_str(x2.shape)}) must have a floating-point common dtype, "
            f"got {dtype}: convert one with .float() first."
        )
    shape = _broadcast_shape("cosine_similarity", x1, x2)
    x1, x2 = x1.to(dtype).expand(shape), x2.to(dtype).expand(shape)
    # clone: the norm's op keeps its output for backward, and the clamp below changes it in place
    norm1, norm2 = x1.norm(2, dim, keepdim=True).clone(), x2.norm(2, dim, keepdim=True).clone()
    with no_grad():
        norm1.clamp_min_(eps)
        norm2.clamp_min_(eps)
    return ((x1 / norm1) * (x2 / norm2)).sum(dim)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """The p-norm of x1 - x2 + eps along the last dim: the distance between each pair of rows
    (x1 and x2 broadcast). As torch, eps is added to every difference, so that the norm of
    equal rows is not at 0, where its gradient has no direction (at 0 itself the gradient is
    0, as torch's norm gives)."""
    _broadcast_all("pairwise_distance", x1=x1, x2=x2)
    last = max(x1.ndim, x2.ndim) - 1  # (-1 for two 0-d tensors)
    return (x1 - x2 + eps).norm(p, last, keepdim=keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distance between each pair of rows i < j of input (N, M), as a flat tensor
    of N (N - 1) / 2 distances in the order (0, 1), (0, 2), ..., (1, 2), ...: the upper
    triangle of cdist(input, input) without its diagonal (each row's distance to itself, 0).

    Gradients as torch's pdist: p = 2 and other p > 0 through `norm` (0 at a zero
    difference); p = 0 counts the differing features (gradient 0); p = inf is the largest
    |difference|, and every feature that ties for it gets the whole gradient (amax would
    share it among them)."""
    if input.ndim != 2:
        raise ShapeError(
            f"pdist takes rows as (N, M), a 2-d input; got shape {shape_str(input.shape)}"
        )
    if p < 0:
        raise ValueError(f"pdist takes p >= 0 (a p-norm), got p={p}")
    n = input.shape[0]
    rows, cols = torch.triu_indices(n, n, offset=1, device=input.device)  # i < j: no diagonal
    diff = input.index_select(0, Tensor(rows)) - input.index_select(0, Tensor(cols))
    if p == 0:  # how many features differ: a count, whose gradient is 0
        count = (diff._data != 0).sum(-1).to(diff.dtype)
        return (diff * 0).sum(-1) + Tensor(count)
    if math.isinf(p):
        size = diff.abs()
        largest = size._data.amax(-1, keepdim=True) if diff.shape[-1] else size._data.sum(-1, True)
        ties = (size._data == largest).to(diff.dtype)
        # the largest value itself, plus 0 that carries the gradient to every tie
        return Tensor(largest.squeeze(-1)) + ((size - size.detach()) * Tensor(ties)).sum(-1)
    # torch sums |d|^p, which underflows to 0 for tiny differences (|d| ~ 1e-200): its distance
    # is then 0, and so is its gradient; norm would keep both. Zeroed there, as torch's.
    underflow = (diff._data.abs() ** p).sum(-1) == 0
    return diff.norm(p, dim=-1) * Tensor((~underflow).to(diff.dtype))


def gumbel_softmax(
    logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Tensor:
    """A differentiable sample of a categorical distribution: softmax((logits + g) / tau) along
    dim, with g = -log(E), E ~ Exponential(1) (Gumbel noise, drawn as torch's, so a seed gives
    torch's sample on the CPU). A small tau gives nearly one-hot samples.

    hard=True returns the one-hot vector of the sample's largest entry, with the soft sample's
    gradient (the straight-through trick): y_hard - y_soft.detach() + y_soft."""
    if eps != 1e-10:
        warnings.warn("gumbel_softmax: eps is unused (as torch's); leave it out", stacklevel=2)
    gumbels = -torch.empty_like(logits._data).exponential_().log()
    y_soft = ((logits + Tensor(gumbels)) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft._data.max(dim, keepdim=True)[1]
    y_hard = torch.zeros_like(logits._data).scatter_(dim, index, 1.0)
    return Tensor(y_hard) - y_soft.detach() + y_soft


def _broadcast_shape(name: str, x1: Tensor, x2: Tensor) -> tuple[int, ...]:
    try:
        return tuple(torch.broadcast_shapes(x1.shape, x2.shape))
    except RuntimeError:
        raise ShapeError(
            f"{name}: x1 of shape {shape_str(x1.shape)} and x2 of shape {shape_str(x2.shape)} "
            "must broadcast to one shape (each dim equal, or 1 in one of them)."
        ) from None


# ---- embedding --------------------------------------------------------------------------------


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Row input[p] of weight for each index in `input` (integers of any shape): the result
    has shape input.shape + (weight.shape[1],). See `minigrad.ops.Embedding` for the gradient.

    As torch's: `padding_idx` (negative counts from the end) is a row that gets no gradient;
    `max_norm` first rescales, in place and outside the graph, every row that `input` picks and
    whose norm (of order `norm_type`) exceeds max_norm, to norm max_norm;
    `scale_grad_by_freq` divides each row's gradient by how often its index occurs in `input`.
    `sparse=True` (a sparse gradient) is refused: minigrad's gradients are dense tensors.
    """
    _refuse_sparse("embedding", sparse)
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        shape = shape_str(weight.shape) if hasattr(weight, "shape") else type(weight).__name__
        raise ValueError(
            f"embedding: weight must be a 2-d Tensor (num_embeddings, embedding_dim), got {shape}"
        )
    num_embeddings = weight.shape[0]
    indices = _check_indices(input)
    padding_idx = _padding_index(padding_idx, num_embeddings)
    if max_norm is not None:
        _renorm_rows_(weight._data, indices, max_norm, norm_type)
    return ops.Embedding.apply(
        weight, indices, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq
    )


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """The sum, mean or max of the embedding rows of each bag of indices, (bags, embedding_dim),
    without making the (indices, embedding_dim) rows per bag first in torch (here they are made:
    it is embedding, then a sum per bag). As torch's:

    input 2-d (B, N): B bags of N indices each (offsets must be None). input 1-d: the bags one
    after another; offsets (1-d) says where each starts (offsets[0] = 0), the last one running
    to the end, unless include_last_offset=True, where the last offset is that end.
    mode "sum": sum of the rows (times per_sample_weights, one weight per index, if given);
    "mean": their mean; "max": the largest value of each feature, whose gradient goes to the
    row it came from. An index equal to padding_idx is left out of its bag (and of the count a
    mean divides by); an empty bag gives zeros.
    Gradients: dL/dweight[r] = the sum of G[bag] (times the index's weight, or / the bag's
    size for a mean) over every place index r sits in; dL/dper_sample_weights[i] =
    weight[input[i]] . G[bag of i]."""
    indices, starts, ends = _bags("embedding_bag", input, offsets, include_last_offset)
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode must be 'sum', 'mean' or 'max', got {mode!r}")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                f"embedding_bag: per_sample_weights weigh the rows of a sum: they need "
                f"mode='sum' (got mode={mode!r}), as torch's"
            )
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(
                f"embedding_bag: per_sample_weights has shape "
                f"{shape_str(per_sample_weights.shape)}; it must have the input's shape "
                f"{shape_str(input.shape)} (one weight per index)"
            )
    try:
        rows = embedding(
            Tensor(indices), weight, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse
        )  # (L, D): one row per index, bags one after another
    except IndexError as error:  # (torch's embedding_bag raises a RuntimeError there)
        raise RuntimeError(f"embedding_bag: {error}") from error
    padding_idx = _padding_index(padding_idx, weight.shape[0])
    bag = _bag_of_each_index(indices, starts)
    in_bag = torch.ones_like(indices, dtype=torch.bool)
    if padding_idx is not None:  # a padding index is left out of its bag
        in_bag = indices != padding_idx
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1, 1)
    shape = (starts.numel(), rows.shape[1])
    if shape[0] == 0:  # no bags: (0, embedding_dim), still in the graph
        return index_added(rows[:0], shape, 0, bag[:0])
    if mode == "max":
        return _bag_max(rows, bag, in_bag, shape)
    # each bag's rows added up (padding's times 0)
    sums = index_added(rows * Tensor(in_bag[:, None].to(rows.dtype)), shape, 0, bag)
    if mode == "sum":
        return sums
    counts = torch.zeros(shape[0], 1, dtype=rows.dtype, device=rows.device)
    counts.index_add_(0, bag, in_bag[:, None].to(rows.dtype))
    return sums / Tensor(counts.clamp_min(1))  # an empty bag: 0 / 1


def _bag_of_each_index(indices: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
    """Which bag each index falls in: the last one starting at or before it (the bags cover the
    indices one after another, from offsets[0] = 0 to the end)."""
    position = torch.arange(indices.numel(), device=indices.device)
    return (torch.searchsorted(starts, position, right=True) - 1).clamp_min(0)  # (0: no bags)


def _bag_max(rows: Tensor, bag: torch.Tensor, in_bag: torch.Tensor, shape: tuple) -> Tensor:
    """Each bag's largest value per feature, taken from the first row that has it (as torch,
    whose gradient goes to that row); zeros for an empty bag."""
    if rows.shape[0] == 0:  # no indices at all: every bag is empty
        return index_added(rows, shape, 0, bag)
    values, length = rows._data, rows.shape[0]
    outside = ~in_bag[:, None]
    spread = bag[:, None].expand_as(values)
    peak = values.new_full(shape, -math.inf)
    peak.scatter_reduce_(0, spread, values.masked_fill(outside, -math.inf), "amax")
    position = torch.arange(length, device=values.device)[:, None].expand_as(values)
    is_peak = (values == peak[bag]) & ~outside
    first = torch.full(shape, length, dtype=torch.long, device=values.device)
    first.scatter_reduce_(0, spread, position.masked_fill(~is_peak, length), "amin")
    nonempty = first < length
    picked = rows.gather(0, Tensor(first.clamp_max(length - 1)))
    return picked * Tensor(nonempty.to(rows.dtype))  # (an empty bag's gradient: 0)


def _bags(
    name: str, input: Tensor, offsets: Tensor | None, include_last_offset: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(the indices, flat; where each bag starts; where it ends), as torch reads them."""
    indices = _check_indices(input)
    if indices.ndim == 2:
        if offsets is not None:
            raise ValueError(
                f"{name}: a 2-d input (B, N) is B bags of N indices each, so offsets must be "
                f"None; got offsets of shape {shape_str(offsets.shape)}"
            )
        bags, size = indices.shape
        starts = torch.arange(bags, device=indices.device) * size
        return indices.reshape(-1), starts, starts + size
    if indices.ndim != 1:
        raise ValueError(
            f"{name}: input must be 1-d (bags one after another, with offsets) or 2-d (B, N); "
            f"got shape {shape_str(indices.shape)}"
        )
    if offsets is None or unwrap(offsets).ndim != 1:
        got = "None" if offsets is None else f"shape {shape_str(offsets.shape)}"
        raise ValueError(
            f"{name}: a 1-d input needs offsets, a 1-d tensor of where each bag starts; got {got}"
        )
    offsets = unwrap(offsets).to(device=indices.device, dtype=torch.long)
    length = indices.numel()
    if offsets.numel() and offsets[0] != 0:
        raise RuntimeError(  # (torch's type)
            f"{name}: offsets[0] must be 0 (the first bag starts at the first index); got "
            f"{int(offsets[0])}"
        )
    if offsets.numel() and (offsets[-1] > length or (offsets[1:] < offsets[:-1]).any()):
        raise RuntimeError(  # (torch's type)
            f"{name}: offsets must not decrease and must stay within the input's length "
            f"{length}; got {offsets.tolist()}"
        )
    if include_last_offset:  # the last offset is where the last bag ends
        if offsets.numel() == 0 or offsets[-1] != length:
            # (torch does not check, and its modes then disagree on the indices left over)
            raise ValueError(
                f"{name}: with include_last_offset=True the last offset is the end of the last "
                f"bag, which must be the input's length {length}; got offsets "
                f"{offsets.tolist()}. Append {length} to the offsets, or pass "
                "include_last_offset=False."
            )
        return indices, offsets[:-1], offsets[1:]
    ends = torch.cat([offsets[1:], offsets.new_tensor([length])])
    return indices, offsets, ends


def _refuse_sparse(name: str, sparse: bool) -> None:
    if sparse:
        raise NotImplementedError(
            f"{name}: sparse=True (a sparse gradient for the weight) is not supported: minigrad's "
            "gradients are dense tensors. Leave sparse=False (the default): the gradient is a "
            "dense tensor of the weight's shape, which every optimizer takes."
        )


def _check_indices(input: Any) -> torch.Tensor:
    """The indices as a torch tensor: int64 or int32, as torch's embedding takes."""
    if not isinstance(input, (Tensor, torch.Tensor)):
        raise TypeError(
            f"embedding takes its indices as an integer Tensor, got {type(input).__name__}. "
            "Make one with minigrad.tensor([...])."
        )
    indices = unwrap(input)
    if indices.dtype not in (torch.int64, torch.int32):
        raise TypeError(
            f"embedding: the indices must be integers (int64 or int32), got {indices.dtype}. "
            "Each index picks a row of the weight; convert them with indices.long()."
        )
    return indices  # (one out of range: ops.Embedding says which, when the lookup fails)


def _padding_index(padding_idx: int | None, num_embeddings: int) -> int | None:
    """padding_idx in [0, num_embeddings), a negative one counted from the end (as torch)."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise AssertionError(  # torch's exception type
            f"embedding: padding_idx={padding_idx} names no row of a table of "
            f"num_embeddings={num_embeddings} rows: it must be in [-{num_embeddings}, "
            f"{num_embeddings - 1}] (a negative one counts from the end)"
        )
    return padding_idx % num_embeddings


def _renorm_rows_(
    weight: torch.Tensor, indices: torch.Tensor, max_norm: float, norm_type: float
) -> None:
    """torch's embedding_renorm_: each row that `indices` picks (once, however often it is
    picked) whose norm exceeds max_norm is multiplied, in place, by max_norm / (norm + 1e-7).
    Outside the graph: no gradient flows through the rescaling."""
    rows = indices.reshape(-1).unique()
    norms = torch.linalg.vector_norm(weight[rows], ord=norm_type, dim=1).double()
    too_long = norms > max_norm
    rows, scale = rows[too_long], (max_norm / (norms[too_long] + 1e-7)).to(weight.dtype)
    weight[rows] = weight[rows] * scale.unsqueeze(1)


# ---- activations and friends ------------------------------------------------------------------


def softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: torch.dtype | None = None
) -> Tensor:
    """e^x_j / sum_k e^x_k along `dim`: each slice becomes probabilities that sum to 1."""
    if dtype is not None:
        input = input.to(dtype)
    return input.softmax(_softmax_dim("softmax", input, dim, _stacklevel))


def log_softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: torch.dtype | None = None
) -> Tensor:
    """log(softmax(x)) along `dim`, computed stably as x - logsumexp(x)."""
    if dtype is not None:
        input = input.to(dtype)
    return input.log_softmax(_softmax_dim("log_softmax", input, dim, _stacklevel))


def _softmax_dim(name: str, input: Tensor, dim: int | None, stacklevel: int) -> int:
    """torch's old implicit dim (0 for 0-, 1- and 3-d inputs, else 1), with torch's warning."""
    if dim is not None:
        return dim
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return 0 if input.ndim in (0, 1, 3) else 1


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices (int64) as rows of 0s with a 1 at each index: shape (*tensor.shape, C),
    C = num_classes, or the largest index + 1 when -1. An int64 tensor, outside the graph."""
    if tensor.dtype != torch.int64:
        raise TypeError(
            f"one_hot takes class indices of dtype int64 (torch.long), got {tensor.dtype}. "
            "Convert with .long()."
        )
    return Tensor(torch.nn.functional.one_hot(tensor._data, num_classes))


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


GELU_APPROXIMATIONS = ("none", "tanh")


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF: a smooth relu (BERT's, GPT's). approximate='tanh'
    computes Phi with GPT-2's tanh formula instead of erf. See ops.GELU for both derivatives."""
    if approximate not in GELU_APPROXIMATIONS:
        raise ValueError(
            f"gelu: approximate must be 'none' (the exact erf form, the default) or 'tanh' "
            f"(GPT-2's tanh formula), got {approximate!r}"
        )
    return ops.GELU.apply(input, approximate)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, negative_slope * x elsewhere: a relu that lets a little gradient through
    on the left. inplace=True changes `input` itself and returns it (as torch; its gradient is
    still exact, also for a negative slope, where torch's backward refuses)."""
    if inplace:
        return input._update(
            "leaky_relu_",
            (),
            lambda data: torch.nn.functional.leaky_relu_(data, negative_slope),
            lambda x: ops.LeakyReLU.apply(x, negative_slope),
        )
    return ops.LeakyReLU.apply(input, negative_slope)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish): a smooth relu that dips a little below 0 for negative
    x. inplace=True changes `input` itself and returns it, as torch. See ops.SiLU."""
    if inplace:
        return input._update(
            "silu_", (), lambda data: torch.nn.functional.silu(data, inplace=True), ops.SiLU.apply
        )
    return ops.SiLU.apply(input)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, alpha (e^x - 1) elsewhere: a relu whose left side bends down to -alpha.
    inplace=True changes `input` itself and returns it, as torch. See ops.ELU."""
    if inplace:
        return input._update(
            "elu_",
            (),
            lambda data: torch.nn.functional.elu(data, alpha, inplace=True),
            lambda x: ops.ELU.apply(x, alpha),
        )
    return ops.ELU.apply(input, alpha)


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """x kept within [min_val, max_val]; its gradient is 0 at the bounds themselves (clamp's is
    1 there). inplace=True changes `input` itself and returns it, as torch. See ops.Hardtanh."""
    if min_val > max_val:
        raise ValueError(
            f"hardtanh: min_val cannot be greater than max_val, got min_val={min_val} and "
            f"max_val={max_val}: they are the lowest and the highest output."
        )
    if inplace:
        return input._update(
            "hardtanh_",
            (),
            lambda data: torch.nn.functional.hardtanh(data, min_val, max_val, inplace=True),
            lambda x: ops.Hardtanh.apply(x, min_val, max_val),
        )
    return ops.Hardtanh.apply(input, min_val, max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6): hardtanh(x, 0, 6), as in torch (MobileNet's activation)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """elu(input, alpha, inplace=True): changes `input` itself and returns it, as torch."""
    return elu(input, alpha, inplace=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """hardtanh(input, min_val, max_val, inplace=True), as torch."""
    return hardtanh(input, min_val, max_val, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """leaky_relu(input, negative_slope, inplace=True), as torch."""
    return leaky_relu(input, negative_slope, inplace=True)


def relu_(input: Tensor) -> Tensor:
    """relu(input, inplace=True), as torch."""
    return input.relu_()


def _activation(
    input: Tensor, inplace: bool, what: str, kernel: Any, compute: Any, floating: str = ""
) -> Tensor:
    """compute(input), or with inplace=True written into `input` (torch's in-place `kernel`
    when nothing is recorded) and `input` returned. `floating`: the name of a function whose
    torch kernel has no integer version, so that integers are refused in its words."""
    if floating and not input.dtype.is_floating_point:
        raise TypeError(
            f"{floating}: the input must be a floating-point tensor, got {input.dtype} of shape "
            f"{shape_str(input.shape)}. Convert it with .float() first."
        )
    return input._update(what, (), kernel, compute) if inplace else compute(input)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|): a tanh-like curve into (-1, 1) that approaches its bounds slowly, as
    1/|x|. A composition: at 0 the slope is 1 (|x|'s gradient there is 0, as torch's)."""
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x): what tanh takes off x (cubic near 0, x - 1 for large x)."""
    return input - input.tanh()


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, 0 in [-lambd, lambd]: small values are dropped, large ones kept
    whole. A composition (where): the slope is 1 outside and 0 inside, the edges included, as
    torch's."""
    _check_floating_input("hardshrink", input)
    inside = (input >= -lambd) & (input <= lambd)  # (a NaN is not inside: it stays NaN)
    return where(inside, 0.0, input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between: every value moved lambd
    towards 0, and stopped there (the proximal step of an L1 penalty). The slope is 1 outside
    and 0 in [-lambd, lambd], the edges included, as torch's."""
    _check_floating_input("softshrink", input)
    if lambd < 0:
        raise ValueError(
            f"softshrink: lambd must be >= 0 (the distance each value moves towards 0), got "
            f"{lambd}; torch refuses it too."
        )
    inside = (input >= -lambd) & (input <= lambd)  # (a NaN is not inside: it stays NaN)
    return where(inside, 0.0, where(input > lambd, input - lambd, input + lambd))


def _check_floating_input(name: str, input: Tensor) -> None:
    if not input.dtype.is_floating_point:
        raise TypeError(
            f"{name}: the input must be a floating-point tensor, got {input.dtype} of shape "
            f"{shape_str(input.shape)}; torch has no integer version either. Convert it with "
            ".float() first."
        )


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x)): a smooth relu that dips a little below 0, as silu does (YOLOv4's).
    inplace=True changes `input` itself and returns it, as torch."""
    return _activation(
        input,
        inplace,
        "mish_",
        lambda data: torch.nn.functional.mish(data, inplace=True),
        lambda x: x * softplus(x).tanh(),
        "mish",
    )


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, a straight line between (MobileNetV3's cheap
    sigmoid). Its gradient at -3 and 3 is 0, torch's: hardtanh's at its bounds."""
    return _activation(
        input,
        inplace,
        "hardsigmoid_",
        lambda data: torch.nn.functional.hardsigmoid(data, inplace=True),
        lambda x: hardtanh(x + 3, 0.0, 6.0) / 6,
        "hardsigmoid",
    )


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6, x times hardsigmoid(x): 0 below -3, x above 3, x (x + 3) / 6
    between (MobileNetV3's cheap silu). Its gradient at -3 is 0 and at 3 is 1, torch's: the
    slope of the outer piece, as hardtanh's 0 at its bounds gives."""
    return _activation(
        input,
        inplace,
        "hardswish_",
        lambda data: torch.nn.functional.hardswish(data, inplace=True),
        lambda x: x * hardtanh(x + 3, 0.0, 6.0) / 6,
        "hardswish",
    )


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha), with the constants of the self-normalising networks paper (they
    keep activations near mean 0 and variance 1 through many layers). inplace=True changes
    `input` itself and returns it, as torch."""
    return _activation(
        input,
        inplace,
        "selu_",
        torch.selu_,
        lambda x: SELU_SCALE * ops.ELU.apply(x, SELU_ALPHA),
        "selu",
    )


def selu_(input: Tensor) -> Tensor:
    """selu(input, inplace=True), as torch."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, alpha (e^(x / alpha) - 1) elsewhere: elu with its slope at 0 always 1, so
    the curve is smooth there whatever alpha (alpha 0 has no meaning: refused, as torch's)."""
    if alpha == 0:
        raise RuntimeError(
            "celu: alpha cannot be 0: the left side is alpha (e^(x / alpha) - 1). Use elu, "
            "whose left side is alpha (e^x - 1), for a flat one."
        )

    def compute(x: Tensor) -> Tensor:
        # the exponential sees x <= 0 only: for large x, where picks x, and its gradient of 0
        # must not meet an infinite slope in the branch it drops (0 * inf is NaN)
        return where(x <= 0, alpha * (x.clamp_max(0) / alpha).expm1(), x)

    return _activation(
        input,
        inplace,
        "celu_",
        lambda data: torch.celu_(data, alpha),
        compute,
        "celu",
    )


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """celu(input, alpha, inplace=True), as torch."""
    return celu(input, alpha, inplace=True)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, `value` elsewhere: relu is threshold(x, 0, 0). The gradient is 1
    where x is kept, 0 elsewhere (at the threshold itself too, as torch's)."""
    return _activation(
        input,
        inplace,
        "threshold_",
        lambda data: torch.threshold_(data, threshold, value),
        # masked_fill keeps x's dtype (an integer x gets value rounded, as torch's) and NaN
        lambda x: x.masked_fill(x <= threshold, value),
    )


_threshold = threshold  # for threshold_, whose argument `threshold` hides the function


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """threshold(input, threshold, value, inplace=True), as torch."""
    return _threshold(input, threshold, value, inplace=True)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """The gated linear unit: a * sigmoid(b), for a and b the two halves of `input` along
    `dim` (whose size must be even): b decides how much of a goes through."""
    if input.ndim == 0:
        raise ShapeError(
            "glu: the input is a 0-d tensor, but glu splits the input in two halves along "
            "`dim` (the values and their gates), and a 0-d tensor has no dim to split."
        )
    size = input.shape[dim]
    if size % 2:
        raise ShapeError(
            f"glu: dim={dim} of the input {shape_str(input.shape)} has size {size}, an odd "
            "number: glu splits it in two equal halves, the values and their gates."
        )
    a, b = input.split([size // 2, size // 2], dim)
    return a * b.sigmoid()


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), stable for any x (see ops.LogSigmoid)."""
    return ops.LogSigmoid.apply(input)


def softmin(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: torch.dtype | None = None
) -> Tensor:
    """softmax(-x) along `dim`: probabilities that favour the smallest values."""
    if dtype is not None:
        input = input.to(dtype)
    return (-input).softmax(_softmax_dim("softmin", input, dim, _stacklevel))


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, weight * x elsewhere: leaky relu with learnt slopes, `weight` one slope
    for every channel (dim 1; a 1-d input has one channel) or a single one. At 0 the slope is
    the weight, torch's choice; the weight's gradient is the sum of x times the upstream
    gradient over the places where x <= 0."""
    if weight.dtype != input.dtype:
        raise TypeError(
            f"prelu: the weight ({weight.dtype}) must have the input's dtype ({input.dtype}): "
            "torch does not promote here either. Convert one with .to(other.dtype)."
        )
    if weight.ndim > 1:
        raise ShapeError(
            f"prelu: weight must be a scalar or a 1-d tensor of slopes, got shape "
            f"{shape_str(weight.shape)}."
        )
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.numel() != 1 and weight.numel() != channels:
        raise ShapeError(
            f"prelu: weight holds {weight.numel()} slopes, but the input "
            f"{shape_str(input.shape)} has {channels} channels (dim 1): give one slope per "
            "channel, or a single one. Was nn.PReLU built with another num_parameters?"
        )
    # one slope for all: 0-d, so that it broadcasts to any input; else one along dim 1
    slopes = () if weight.numel() == 1 else (channels,) + (1,) * (input.ndim - 2)
    weight = weight.reshape(slopes)
    return where(input > 0, input, weight * input)


# ---- convolution, pooling, normalisation (ops/conv.py, ops/pool.py, ops/normalization.py) ----


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution of (N, C, L) (or unbatched (C, L)) with weight (O, C/groups, k)."""
    return _convolution(input, weight, bias, stride, padding, dilation, groups, dims=1)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution of (N, C, H, W) (or unbatched (C, H, W)) with weight (O, C/groups, kh, kw).

    padding: a number, one per side of each dim, or 'valid' (none) or 'same' (the output keeps
    the input's size; stride 1 only). See `minigrad.ops.Convolution` for the maths.
    """
    return _convolution(input, weight, bias, stride, padding, dilation, groups, dims=2)


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """3-D (volumetric) convolution of (N, C, D, H, W) (or unbatched (C, D, H, W)) with weight
    (O, C/groups, kd, kh, kw): conv2d with one more spatial dim, depth, slid over like the
    other two. Padding as conv2d's. See `minigrad.ops.Convolution` for the maths."""
    return _convolution(input, weight, bias, stride, padding, dilation, groups, dims=3)


def _convolution(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
    dims: int,
) -> Tensor:
    name = f"conv{dims}d"
    problem = dims_mismatch(name, dims, x.shape, weight.shape)
    if problem:
        raise ShapeError(problem)
    stride, dilation = (
        _ntuple(stride, dims, "stride", name),
        _ntuple(dilation, dims, "dilation", name),
    )
    if x.ndim == dims + 1:  # one unbatched example, as torch allows
        out = _convolution(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups, dims)
        return out.squeeze(0)
    if isinstance(padding, str):
        padding, extra = _padding_for_mode(padding, weight.shape[2:], stride, dilation, name)
        if any(extra):  # 'same' with an even reach: one more zero after than before, as torch
            x = pad(x, [side for k in reversed(range(dims)) for side in (0, extra[k])])
    else:
        padding = _ntuple(padding, dims, "padding", name)
    return ops.Convolution.apply(
        x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups
    )


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """1-D transposed convolution of (N, C, L) (or (C, L)) with weight (C, O/groups, k)."""
    return _transposed(input, weight, bias, stride, padding, output_padding, groups, dilation, 1)


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """2-D transposed convolution of (N, C, H, W) (or (C, H, W)) with weight (C, O/groups, kh,
    kw): each input position adds input * weight onto its window of the output, the adjoint of
    conv2d with the same weight and settings (the gradient conv2d sends to its input).
    H_out = (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1 (W alike).
    See `minigrad.ops.ConvTranspose` for the maths."""
    return _transposed(input, weight, bias, stride, padding, output_padding, groups, dilation, 2)


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
) -> Tensor:
    """3-D transposed convolution of (N, C, D, H, W) (or (C, D, H, W)) with weight (C, O/groups,
    kd, kh, kw): the adjoint of conv3d with the same weight and settings. D_out = (D - 1) stride
    - 2 padding + dilation (kd - 1) + output_padding + 1 (H, W alike).
    See `minigrad.ops.ConvTranspose` for the maths."""
    return _transposed(input, weight, bias, stride, padding, output_padding, groups, dilation, 3)


def _transposed(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    dilation: Any,
    dims: int,
) -> Tensor:
    name = f"conv_transpose{dims}d"
    problem = dims_mismatch(name, dims, x.shape, weight.shape, transposed=True)
    if problem:
        raise ShapeError(problem)
    stride, padding, output_padding, dilation = (
        _ntuple(value, dims, what, name)
        for value, what in zip(
            (stride, padding, output_padding, dilation),
            ("stride", "padding", "output_padding", "dilation"),
        )
    )
    options = {"stride": stride, "padding": padding, "output_padding": output_padding}
    options.update(groups=groups, dilation=dilation)
    if x.ndim == dims + 1:  # one unbatched example, as torch allows
        return ops.ConvTranspose.apply(x.unsqueeze(0), weight, bias, **options).squeeze(0)
    return ops.ConvTranspose.apply(x, weight, bias, **options)


def _padding_for_mode(
    mode: str,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    name: str,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """'valid' or 'same' as (padding on both sides, one extra after) per spatial dim."""
    if mode == "valid":
        return (0,) * len(kernel), (0,) * len(kernel)
    if mode != "same":
        raise ValueError(
            f"{name}: padding must be a number, a tuple, 'valid' or 'same', got {mode!r}"
        )
    if any(s != 1 for s in stride):
        raise ValueError(
            f"{name}: padding='same' is not supported for strided convolutions (stride={stride}): "
            "the output could not keep the input's size. Give the padding as a number instead."
        )
    reach = [d * (k - 1) for k, d in zip(kernel, dilation)]  # the zeros 'same' needs per dim
    return tuple(r // 2 for r in reach), tuple(r % 2 for r in reach)


def _ntuple(value: Any, n: int, what: str, name: str) -> tuple[int, ...]:
    """3 -> (3, 3) for a 2-d op; (2, 3) stays (2, 3)."""
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) == 1:
        return value * n
    if len(value) != n or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{name}: {what} must be an int or {n} ints, got {value}")
    return value


def unfold(
    input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
) -> Tensor:
    """im2col: every kernel_size window of (N, C, H, W) as a column of (N, C*kh*kw, L)."""
    options = [
        _ntuple(v, 2, w, "unfold")
        for v, w in zip(
            (kernel_size, dilation, padding, stride),
            ("kernel_size", "dilation", "padding", "stride"),
        )
    ]
    return ops.Unfold.apply(input, *options)


def fold(
    input: Tensor,
    output_size: Any,
    kernel_size: Any,
    dilation: Any = 1,
    padding: Any = 0,
    stride: Any = 1,
) -> Tensor:
    """col2im: add the columns of (N, C*kh*kw, L) back onto their windows of (N, C, H, W)."""
    options = [
        _ntuple(v, 2, w, "fold")
        for v, w in zip(
            (output_size, kernel_size, dilation, padding, stride),
            ("output_size", "kernel_size", "dilation", "padding", "stride"),
        )
    ]
    return ops.Fold.apply(input, *options)


def pad(input: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last dims: pad = (left, right) for the last dim, then (top, bottom) for the one
    before, and so on. mode 'constant' (with `value`, 0 by default), 'reflect', 'replicate' or
    'circular'. Negative pads crop."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(
            f"pad: pad must hold two numbers per padded dim (at most {input.ndim} dims for an "
            f"input of shape {shape_str(input.shape)}), got {pad}"
        )
    if mode == "constant":
        return ops.ConstantPad.apply(input, pad, value or 0.0)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(
            f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}"
        )
    if value:
        raise ValueError(f"pad: a padding value only goes with mode='constant', not {mode!r}")
    return ops.CopyPad.apply(input, pad, mode)


def max_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The maximum of each window of (N, C, H, W) (or (C, H, W)); stride defaults to the kernel.
    With return_indices, also the flat position (in H*W) of each maximum."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool2d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """The average of each window of (N, C, H, W) (or (C, H, W)); stride defaults to the kernel."""
    kernel_size, stride, padding = _checked_pool_sizes(
        "avg_pool2d", 2, kernel_size, stride, padding
    )
    return ops.AvgPool2d.apply(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def max_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The maximum of each window of (N, C, D, H, W) (or (C, D, H, W)); stride defaults to the
    kernel. With return_indices, also the flat position (in D*H*W) of each maximum."""
    _check_pool3d_input("max_pool3d", input)
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _max_pool(
    dims: int,
    input: Tensor,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    return_indices: bool,
) -> Any:
    """max_pool2d and max_pool3d, once their input is checked."""
    name = f"max_pool{dims}d"
    kernel_size, stride, padding = _checked_pool_sizes(name, dims, kernel_size, stride, padding)
    dilation = _ntuple(dilation, dims, "dilation", name)
    op = ops.MaxPool2d if dims == 2 else ops.MaxPool3d
    out = op.apply(input, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices:
        return out
    find = torch.nn.functional.max_pool2d if dims == 2 else torch.nn.functional.max_pool3d
    _, indices = find(  # where each maximum is, again: rarely asked
        input._data, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True
    )
    return out, Tensor(indices)


def avg_pool3d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """The average of each window of (N, C, D, H, W) (or (C, D, H, W)); stride defaults to the
    kernel. The divisor: the window's volume, padding included (count_include_pad) or not, or
    divisor_override."""
    name = "avg_pool3d"
    _check_pool3d_input(name, input)
    kernel_size, stride, padding = _checked_pool_sizes(name, 3, kernel_size, stride, padding)
    spatial = tuple(input.shape[-3:])
    if any(size < k for size, k in zip(spatial, kernel_size)):  # torch's 3-d rule (not 2-d's)
        raise ShapeError(
            f"{name}: the input's (D, H, W) = {spatial} (shape {shape_str(input.shape)}) is "
            f"smaller than kernel_size={kernel_size} in some dim: 3-d average pooling needs each "
            "side of the input, before padding, at least the kernel's. Use a smaller kernel_size."
        )
    if divisor_override is not None and divisor_override == 0:
        raise ValueError(f"{name}: divisor_override must be a nonzero int, got 0")
    return ops.AvgPool3d.apply(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def _pool_sizes(
    name: str, dims: int, kernel_size: Any, stride: Any, padding: Any
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """kernel_size, stride (the kernel's by default, as torch) and padding as `dims` ints each."""
    kernel = _ntuple(kernel_size, dims, "kernel_size", name)
    stride = kernel if stride is None or stride == [] else _ntuple(stride, dims, "stride", name)
    return kernel, stride, _ntuple(padding, dims, "padding", name)


def _checked_pool_sizes(
    name: str, dims: int, kernel_size: Any, stride: Any, padding: Any
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """_pool_sizes, with the padding checked against the kernel (_check_pool_padding)."""
    sizes = _pool_sizes(name, dims, kernel_size, stride, padding)
    _check_pool_padding(name, sizes[0], sizes[2], (kernel_size, padding))
    return sizes


def _check_pool3d_input(name: str, input: Tensor) -> None:
    if input.ndim not in (4, 5):
        raise ShapeError(
            f"{name}: the input must be (N, C, D, H, W) or (C, D, H, W), a volume of depth D in "
            f"each channel, got shape {shape_str(input.shape)}."
        )


def max_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The maximum of each window of (N, C, L) (or (C, L)); stride defaults to the kernel. With
    return_indices, also the position (in L) of each maximum.

    A composition: max_pool2d over (N, C, 1, L), windows one row high, then that row dropped;
    the gradient is max_pool2d's."""
    kernel, stride, padding = _pool1d_sizes("max_pool1d", input, kernel_size, stride, padding)
    out = max_pool2d(
        input.unsqueeze(-2),
        (1, kernel),
        (1, stride),
        (0, padding),
        (1, _single(dilation, "dilation", "max_pool1d")),
        ceil_mode,
        return_indices,
    )
    if return_indices:  # flat positions in 1 x L: already positions in L
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def avg_pool1d(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """The average of each window of (N, C, L) (or (C, L)); stride defaults to the kernel.

    A composition: avg_pool2d over (N, C, 1, L), windows one row high, then that row dropped;
    the gradient is avg_pool2d's."""
    kernel, stride, padding = _pool1d_sizes("avg_pool1d", input, kernel_size, stride, padding)
    out = avg_pool2d(
        input.unsqueeze(-2),
        (1, kernel),
        (1, stride),
        (0, padding),
        ceil_mode,
        count_include_pad,
    )
    return out.squeeze(-2)


def _pool1d_sizes(
    name: str, input: Tensor, kernel_size: Any, stride: Any, padding: Any
) -> tuple[int, int, int]:
    """A 1-d pool's input checked, and its kernel_size, stride (the kernel's by default) and
    padding as ints, the padding at most half the kernel."""
    _check_pool1d_input(name, input)
    kernel = _single(kernel_size, "kernel_size", name)
    stride = kernel if stride is None or stride == [] else _single(stride, "stride", name)
    padding_1d = _single(padding, "padding", name)
    _check_pool_padding(name, (kernel,), (padding_1d,), (kernel, padding))
    return kernel, stride, padding_1d


def _check_pool_padding(
    name: str, kernel_size: tuple[int, ...], padding: tuple[int, ...], written: tuple[Any, Any]
) -> None:
    """torch's rule: padding at most half the kernel on each side, so that no window can hold
    padding alone (torch checks it against the kernel size, dilated or not). `written`: the
    kernel_size and padding as the caller gave them, for the message."""
    limits = tuple(k // 2 for k in kernel_size)
    if any(not 0 <= p <= limit for p, limit in zip(padding, limits)):
        most = limits[0] if len(set(limits)) == 1 else limits
        raise ValueError(
            f"{name}: padding={written[1]!r} is more than half of kernel_size={written[0]!r}: "
            f"padding must be between 0 and {most}, or a window at the edge could hold padding "
            "alone. Use a smaller padding or a larger kernel_size."
        )


def _single(value: Any, what: str, name: str) -> int:
    """3 or (3,) -> 3, for a 1-d op."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, int):
        raise ValueError(f"{name}: {what} must be an int or a tuple of one int, got {value!r}")
    return value


def _check_pool1d_input(name: str, input: Tensor) -> None:
    if input.ndim not in (2, 3):
        raise ShapeError(
            f"{name}: the input must be (N, C, L) or (C, L), a sequence of length L in each "
            f"channel, got shape {shape_str(input.shape)}."
        )


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling to an (H_out, W_out) output (an int for both; None keeps that side)."""
    sizes = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    sizes = tuple(input.shape[-2 + i] if s is None else s for i, s in enumerate(sizes))
    return ops.AdaptiveAvgPool2d.apply(input, sizes)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling of (N, C, D, H, W) (or (C, D, H, W)) to (D_out, H_out, W_out) (an int
    for all three; None keeps that side), whatever the input's sizes: output slice i averages
    depth slices floor(i D / D_out) ... ceil((i + 1) D / D_out) - 1, rows and columns alike."""
    sizes = _adaptive_sizes3("adaptive_avg_pool3d", input, output_size)
    return ops.AdaptiveAvgPool3d.apply(input, sizes)


def _adaptive_sizes3(name: str, input: Tensor, output_size: Any) -> tuple[int, ...]:
    _check_pool3d_input(name, input)
    sizes = (output_size,) * 3 if isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != 3:
        raise ValueError(
            f"{name}: output_size must be an int or 3 sizes (D_out, H_out, W_out), got "
            f"{output_size!r}"
        )
    return tuple(input.shape[-3 + i] if s is None else s for i, s in enumerate(sizes))


_INTERPOLATE_MODES = {
    "nearest": (1, 2, 3),
    "nearest-exact": (1, 2, 3),
    "linear": (1,),
    "bilinear": (2,),
    "bicubic": (2,),
    "trilinear": (3,),
    "area": (1, 2),
}


def interpolate(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """input (N, C, *spatial) resized to `size`, or by `scale_factor` (an int, a float, or one per
    spatial dim), as torch's: the same output sizes, positions and weights (see
    ops/pool.py, which reads them from torch).

    mode: 'nearest' and 'nearest-exact' copy one input position per output position (their
    gradient adds up the gradients of the copies); 'linear' (1 spatial dim), 'bilinear' (2),
    'bicubic' (2) and 'trilinear' (3) mix their neighbours, the corner pixels' centres aligned
    with align_corners=True; 'area' averages windows (adaptive average pooling). With
    recompute_scale_factor=True, the output size floor(in * scale_factor) is computed first and
    the positions follow from the sizes alone, not from the scale_factor given."""
    name = "interpolate"
    n_dims = input.ndim - 2
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError(
            f"{name}: align_corners={align_corners} was given with mode={mode!r}, which has no "
            "corners to align: it only applies to the modes that mix neighbours (linear, "
            "bilinear, bicubic, trilinear). Leave align_corners out (None)."
        )
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError(
            f"{name}: both size={size!r} and scale_factor={scale_factor!r} were given; give "
            "only one of them (the output size, or the factor that computes it)."
        )
    if size is None and scale_factor is None:
        raise ValueError(
            f"{name}: neither size nor scale_factor was given; give one of them (the output "
            "size, or the factor that computes it from the input's)."
        )
    if size is not None:
        sizes = _per_spatial_dim(name, "size", size, spatial)
        if not all(
            isinstance(s, int) or (isinstance(s, torch.Tensor) and not s.is_floating_point())
            for s in sizes
        ):
            raise TypeError(
                f"{name}: size must be whole numbers (an int, or one per spatial dim), got "
                f"{size!r}."
            )
        sizes, scales = [int(s) for s in sizes], None
        if recompute_scale_factor:
            raise ValueError(
                f"{name}: recompute_scale_factor=True was given with size={size!r}: there is no "
                "scale_factor to recompute. Leave recompute_scale_factor out, or give "
                "scale_factor instead of size."
            )
    else:
        sizes, scales = (
            None,
            [float(s) for s in _per_spatial_dim(name, "scale_factor", scale_factor, spatial)],
        )
        if recompute_scale_factor or mode == "area":  # area pools to sizes: always recomputed
            sizes, scales = [math.floor(n * s) for n, s in zip(spatial, scales)], None
    if antialias and not (mode in ("bilinear", "bicubic") and n_dims == 2):
        raise ValueError(
            f"{name}: antialias=True applies to mode 'bilinear' or 'bicubic' on 4-d input "
            f"(N, C, H, W), got mode={mode!r} on {input.ndim}-d input of shape "
            f"{shape_str(input.shape)}."
        )
    if mode not in _INTERPOLATE_MODES or n_dims not in (1, 2, 3):
        raise NotImplementedError(
            f"{name}: got mode={mode!r} for {input.ndim}-d input of shape "
            f"{shape_str(input.shape)}. The input must be 3-d (N, C, L), 4-d (N, C, H, W) or "
            "5-d (N, C, D, H, W), and mode one of 'nearest', 'nearest-exact', 'linear', "
            "'bilinear', 'bicubic', 'trilinear', 'area'."
        )
    if n_dims not in _INTERPOLATE_MODES[mode]:
        wanted = {1: "3-d (N, C, L)", 2: "4-d (N, C, H, W)", 3: "5-d (N, C, D, H, W)"}
        needs = " or ".join(wanted[n] for n in _INTERPOLATE_MODES[mode])
        raise NotImplementedError(
            f"{name}: mode={mode!r} needs {needs} "
            f"input, got {input.ndim}-d input of shape {shape_str(input.shape)}."
        )
    if antialias:
        raise NotImplementedError(
            f"{name}: antialias=True is not in minigrad (torch's antialiasing filter); leave it "
            "False."
        )
    out_sizes = sizes or [math.floor(n * s) for n, s in zip(spatial, scales)]
    if min(spatial + out_sizes) <= 0:
        raise RuntimeError(
            f"{name}: the input's spatial sizes {spatial} and the output's {out_sizes} must all "
            f"be at least 1 (size={size!r}, scale_factor={scale_factor!r})."
        )
    if mode == "area":  # each output averages its window: adaptive average pooling
        if n_dims == 1:
            return adaptive_avg_pool2d(input.unsqueeze(-2), (1, sizes[0])).squeeze(-2)
        return adaptive_avg_pool2d(input, sizes)
    resize = {"size": sizes, "scale_factor": scales, "mode": mode}
    if mode in ("nearest", "nearest-exact"):  # a copy of one input position per output
        return ops.NearestInterpolate.apply(input, resize)
    resize["align_corners"] = bool(align_corners)
    return ops.LinearInterpolate.apply(input, resize)


def _per_spatial_dim(name: str, what: str, value: Any, spatial: list[int]) -> list[Any]:
    """`value` (a number, or one per spatial dim) as a list of one per spatial dim."""
    if not isinstance(value, (list, tuple)):
        return [value] * len(spatial)
    if len(value) != len(spatial):
        raise ValueError(
            f"{name}: {what}={tuple(value)!r} has {len(value)} values, but the input has "
            f"{len(spatial)} spatial dims {tuple(spatial)} (the dims after N and C): give one "
            f"{what} per spatial dim, or a single number for all."
        )
    return list(value)


def upsample(
    input: Tensor,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """interpolate's older name, kept as torch keeps it (with a warning): use F.interpolate."""
    warnings.warn(
        "F.upsample is deprecated (as torch's): call F.interpolate, which it calls", stacklevel=2
    )
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """interpolate(..., mode='nearest') under its older name (deprecated, with a warning)."""
    warnings.warn(
        "F.upsample_nearest is deprecated (as torch's): call F.interpolate(..., mode='nearest')",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """interpolate(..., mode='bilinear', align_corners=True) under its older name (deprecated,
    with a warning)."""
    warnings.warn(
        "F.upsample_bilinear is deprecated (as torch's): call F.interpolate(..., "
        "mode='bilinear', align_corners=True)",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling of (N, C, L) (or (C, L)) to length `output_size` (an int, or a tuple of
    one), whatever L. A composition, as avg_pool1d's: adaptive_avg_pool2d over (N, C, 1, L) to
    (1, output_size), then that row dropped; the gradient is adaptive_avg_pool2d's."""
    _check_pool1d_input("adaptive_avg_pool1d", input)
    size = _single(output_size, "output_size", "adaptive_avg_pool1d")
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, size)).squeeze(-2)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """The maximum of each window of (N, C, H, W) (or (C, H, W)) when the image is cut into an
    (H_out, W_out) grid of windows (an int for both; None keeps that side), whatever H and W:
    output row i takes rows floor(i H / H_out) ... ceil((i + 1) H / H_out) - 1, columns alike.
    With return_indices, also the flat position (in H*W) of each maximum.

    A composition: torch's kernel says where each maximum is (no gradient flows through a
    position), and the values are gathered from there, so the gradient is gather's: G added
    at each maximum, 0 elsewhere, as max pooling's."""
    if input.ndim not in (3, 4):
        raise ShapeError(
            f"adaptive_max_pool2d: the input must be (N, C, H, W) or (C, H, W), got shape "
            f"{shape_str(input.shape)}."
        )
    sizes = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != 2:
        raise ValueError(
            f"adaptive_max_pool2d: output_size must be an int or 2 sizes (H_out, W_out), got "
            f"{output_size!r}"
        )
    sizes = tuple(input.shape[-2 + i] if s is None else s for i, s in enumerate(sizes))
    _, indices = torch.nn.functional.adaptive_max_pool2d(input._data, sizes, True)
    out = input.flatten(-2).gather(-1, indices.flatten(-2)).unflatten(-1, indices.shape[-2:])
    return (out, Tensor(indices)) if return_indices else out


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """The maximum of each of `output_size` windows of (N, C, L) (or (C, L)), whatever L (see
    adaptive_max_pool2d). A composition: adaptive_max_pool2d over (N, C, 1, L) to
    (1, output_size), then that row dropped; the positions in 1 x L are positions in L."""
    _check_pool1d_input("adaptive_max_pool1d", input)
    size = _single(output_size, "output_size", "adaptive_max_pool1d")
    out = adaptive_max_pool2d(input.unsqueeze(-2), (1, size), return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """The maximum of each window of (N, C, D, H, W) (or (C, D, H, W)) when the volume is cut
    into a (D_out, H_out, W_out) grid of windows (see adaptive_avg_pool3d for the windows).
    With return_indices, also the flat position (in D*H*W) of each maximum.

    A composition, as adaptive_max_pool2d's: torch's kernel says where each maximum is, the
    values are gathered from there, and the gradient is gather's (G added at each maximum)."""
    sizes = _adaptive_sizes3("adaptive_max_pool3d", input, output_size)
    _, indices = torch.nn.functional.adaptive_max_pool3d(input._data, sizes, True)
    out = input.flatten(-3).gather(-1, indices.flatten(-3)).unflatten(-1, indices.shape[-3:])
    return (out, Tensor(indices)) if return_indices else out


def max_pool1d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """max_pool1d and where each maximum is, always both (torch's name for return_indices=True;
    its return_indices argument is there for the signature and changes nothing)."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """max_pool2d and the flat position (in H*W) of each maximum, always both."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(
    input: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[Tensor, Tensor]:
    """max_pool3d and the flat position (in D*H*W) of each maximum, always both."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = False
) -> tuple[Tensor, Tensor]:
    """adaptive_max_pool1d and where each maximum is, always both."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = False
) -> tuple[Tensor, Tensor]:
    """adaptive_max_pool2d and the flat position (in H*W) of each maximum, always both."""
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = False
) -> tuple[Tensor, Tensor]:
    """adaptive_max_pool3d and the flat position (in D*H*W) of each maximum, always both."""
    return adaptive_max_pool3d(input, output_size, True)


def fractional_max_pool2d(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Any = None,
) -> Any:
    """Max pooling of (N, C, H, W) (or (C, H, W)) to `output_size` (or the input's size times
    `output_ratio`, rounded down) with kernel_size windows placed at pseudo-random steps of
    about H / H_out (Graham's fractional max pooling). With return_indices, also the flat
    position (in H*W) of each maximum.

    The windows, as torch's: each (n, c) has a number u in [0, 1) per dim (`_random_samples`,
    (N, C, 2): u[..., 0] for the width, u[..., 1] for the height; drawn with torch.rand in the
    input's dtype when not given, so a seed gives torch's). Along a dim of size L cut into
    L_out windows of size k, with a = (L - k) / (L_out - 1), window i starts at
        floor((i + u) a) - floor(u a)   for i < L_out - 1,   and the last at L - k.

    A composition: the windows' values are gathered and their maximum taken (max over a dim),
    so the gradient is G added at each window's maximum, as max pooling's."""
    return _fractional_max_pool(
        "fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio,
        return_indices, _random_samples,
    )  # fmt: skip


def fractional_max_pool3d(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Any = None,
) -> Any:
    """fractional_max_pool2d's pooling over volumes (N, C, D, H, W) (or (C, D, H, W)); the
    numbers u are (N, C, 3): u[..., 0] for the depth, 1 the height, 2 the width. With
    return_indices, also the flat position (in D*H*W) of each maximum."""
    return _fractional_max_pool(
        "fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio,
        return_indices, _random_samples,
    )  # fmt: skip


def fractional_max_pool2d_with_indices(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Any = None,
) -> tuple[Tensor, Tensor]:
    """fractional_max_pool2d and where each maximum is, always both."""
    return fractional_max_pool2d(
        input, kernel_size, output_size, output_ratio, True, _random_samples
    )


def fractional_max_pool3d_with_indices(
    input: Tensor,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Any = None,
) -> tuple[Tensor, Tensor]:
    """fractional_max_pool3d and where each maximum is, always both."""
    return fractional_max_pool3d(
        input, kernel_size, output_size, output_ratio, True, _random_samples
    )


def _fractional_max_pool(
    name: str,
    dims: int,
    input: Tensor,
    kernel_size: Any,
    output_size: Any,
    output_ratio: Any,
    return_indices: bool,
    samples: Any,
) -> Any:
    if input.ndim not in (dims + 1, dims + 2):
        raise ShapeError(
            f"{name}: the input must be (N, C, *spatial) or (C, *spatial) with {dims} spatial "
            f"dims, got shape {shape_str(input.shape)}."
        )
    spatial = tuple(input.shape[-dims:])
    kernel = _ntuple(kernel_size, dims, "kernel_size", name)
    if output_size is None:
        if output_ratio is None:
            raise ValueError(f"{name}: give output_size or output_ratio (neither was given)")
        ratio = (output_ratio,) * dims if isinstance(output_ratio, (int, float)) else output_ratio
        if len(ratio) not in (1, dims):
            raise ValueError(f"{name}: output_ratio must be a number or {dims}, got {ratio}")
        ratio = tuple(ratio) * dims if len(ratio) == 1 else tuple(ratio)
        output_size = tuple(int(size * r) for size, r in zip(spatial, ratio))
    out_size = _ntuple(output_size, dims, "output_size", name)
    # torch's bounds: the last window ends inside the input, in 2-d; in 3-d it must end
    # before the input does (one more element)
    spare = 0 if dims == 2 else 1
    for size, k, out in zip(spatial, kernel, out_size):
        if out + k - 1 + spare > size:
            raise RuntimeError(
                f"{name}: output_size {out_size} with kernel_size {kernel} needs an input of at "
                f"least output_size + kernel_size - {1 - spare} per dim, but the input's spatial "
                f"sizes are {spatial}. Use a smaller output_size or kernel_size."
            )
    batched = input.ndim == dims + 2
    x = input if batched else input.unsqueeze(0)
    n, c = x.shape[0], x.shape[1]
    if samples is None:  # torch's draw: same shape, dtype and device, so a seed gives torch's
        samples = torch.rand(n, c, dims, dtype=input.dtype, device=input._data.device)
    samples = unwrap(samples)
    if samples.ndim != 3 or samples.shape[0] < n or tuple(samples.shape[1:]) != (c, dims):
        raise RuntimeError(
            f"{name}: _random_samples must have shape (N, C, {dims}) = {(n, c, dims)} for an "
            f"input of shape {shape_str(input.shape)}, got {shape_str(samples.shape)}"
        )
    if samples.dtype != input.dtype:
        raise RuntimeError(
            f"{name}: _random_samples must have the input's dtype ({input.dtype}), got "
            f"{samples.dtype}"
        )
    samples = samples[:n]  # (torch reads the first N rows of a longer one)
    order = (1, 0) if dims == 2 else (0, 1, 2)  # which sample goes with which dim (torch's)
    starts = [
        _fractional_starts(samples[..., order[d]], spatial[d], out_size[d], kernel[d])
        for d in range(dims)
    ]
    positions = _window_positions(starts, kernel, spatial)  # (N, C, *out_size, *kernel)
    windows = x.flatten(2).gather(2, positions.flatten(2))
    windows = windows.reshape((n, c, *out_size, math.prod(kernel)))
    out, best = windows.max(-1)
    indices = positions.flatten(2 + dims).gather(-1, unwrap(best).unsqueeze(-1)).squeeze(-1)
    if not batched:
        out, indices = out.squeeze(0), indices.squeeze(0)
    return (out, Tensor(indices)) if return_indices else out


def _fractional_starts(u: torch.Tensor, size: int, out: int, kernel: int) -> torch.Tensor:
    """Where each of the `out` windows starts along a dim of `size`, for each (n, c)'s u:
    (N, C) -> (N, C, out). The arithmetic is in u's dtype, as torch's kernel."""
    last = torch.full((*u.shape, 1), size - kernel, dtype=torch.long, device=u.device)
    if out == 1:
        return last
    step = torch.tensor(size - kernel, dtype=u.dtype) / torch.tensor(out - 1, dtype=u.dtype)
    i = torch.arange(out - 1, dtype=u.dtype, device=u.device)
    first = ((i + u.unsqueeze(-1)) * step).long() - (u * step).long().unsqueeze(-1)
    return torch.cat([first, last], dim=-1)


def _window_positions(
    starts: list[torch.Tensor], kernel: tuple[int, ...], spatial: tuple[int, ...]
) -> torch.Tensor:
    """The flat position (in the product of `spatial`) of each window's each element:
    (N, C, *out_sizes, *kernel), from each dim's starts (N, C, out_d)."""
    dims = len(starts)
    flat = None
    for d, (start, k) in enumerate(zip(starts, kernel)):
        along = start.unsqueeze(-1) + torch.arange(k, device=start.device)  # (N, C, out_d, k)
        shape = [1] * (2 * dims)
        shape[d], shape[dims + d] = along.shape[2], k
        along = along.reshape((*along.shape[:2], *shape))
        term = along * math.prod(spatial[d + 1 :])  # row-major: the later dims vary fastest
        flat = term if flat is None else flat + term
    return flat


def max_unpool2d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """max_pool2d undone, as far as it can be: an (N, C, H_out, W_out) image of zeros with each
    value of (N, C, H, W) written back at its flat position in `indices` (max_pool2d's, with
    return_indices=True). H_out = (H - 1) stride - 2 padding + kernel_size by default (widths
    alike); `output_size` picks another within stride of it (the size before pooling, when
    several give the same pooled size).

    A composition: an assignment into zeros (out[n, c, index] = x), whose gradient is the
    upstream gradient read back at the same positions (gather)."""
    name = "max_unpool2d"
    kernel, stride, padding = _pool_sizes(name, 2, kernel_size, stride, padding)
    if input.ndim not in (3, 4):
        raise ShapeError(
            f"{name}: the input must be (N, C, H, W) or (C, H, W), got shape "
            f"{shape_str(input.shape)}."
        )
    size = _unpool_size(name, input, kernel, stride, padding, output_size)
    return _unpool(name, input, indices, size)


def max_unpool1d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """max_pool1d undone: (N, C, L) (or (C, L)) written back at its positions `indices` into
    zeros of length (L - 1) stride - 2 padding + kernel_size, or `output_size` (see
    max_unpool2d)."""
    name = "max_unpool1d"
    kernel = (_single(kernel_size, "kernel_size", name),)
    stride = kernel if stride is None or stride == [] else (_single(stride, "stride", name),)
    padding = (_single(padding, "padding", name),)
    _check_pool1d_input(name, input)
    size = _unpool_size(name, input, kernel, stride, padding, output_size)
    return _unpool(name, input, indices, size)


def max_unpool3d(
    input: Tensor,
    indices: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
) -> Tensor:
    """max_pool3d undone: (N, C, D, H, W) (or (C, D, H, W)) written back at its flat positions
    `indices` (in D_out*H_out*W_out, max_pool3d's) into zeros of D_out = (D - 1) stride -
    2 padding + kernel_size (heights and widths alike), or `output_size` (see max_unpool2d).
    The gradient is the upstream gradient read back at the same positions."""
    name = "max_unpool3d"
    kernel, stride, padding = _pool_sizes(name, 3, kernel_size, stride, padding)
    _check_pool3d_input(name, input)
    size = _unpool_size(name, input, kernel, stride, padding, output_size)
    return _unpool(name, input, indices, size)


def _unpool_size(
    name: str, input: Tensor, kernel: tuple, stride: tuple, padding: tuple, output_size: Any
) -> tuple[int, ...]:
    """The unpooled sizes: those the pool's arithmetic gives, or output_size (with or without
    its N and C) if it is within stride of them, as torch's rule."""
    dims = len(kernel)
    default = tuple(
        (input.shape[d - dims] - 1) * stride[d] + kernel[d] - 2 * padding[d] for d in range(dims)
    )
    if output_size is None:
        return default
    sizes = tuple(output_size)
    if len(sizes) == dims + 2:  # (N, C, *spatial): the spatial sizes count
        sizes = sizes[2:]
    if len(sizes) != dims:
        raise ValueError(
            f"{name}: output_size must hold {dims} sizes (or {dims + 2}, with N and C), got "
            f"{tuple(output_size)}"
        )
    for d in range(dims):
        low, high = default[d] - stride[d], default[d] + stride[d]
        if not low < sizes[d] < high:
            raise ValueError(
                f"{name}: output_size {sizes} is not one the pool could have come from: dim "
                f"{d} must be between {low} and {high} (both excluded), within stride="
                f"{stride[d]} of {default[d]}, the size the kernel, stride and padding give."
            )
    return sizes


def _unpool(name: str, input: Tensor, indices: Tensor, size: tuple[int, ...]) -> Tensor:
    """zeros(*batch, *size) with out[..., index] = x along the flattened positions."""
    indices = unwrap(indices)
    if tuple(indices.shape) != tuple(input.shape):
        raise ShapeError(
            f"{name}: indices has shape {shape_str(indices.shape)}, but it must have the "
            f"input's shape {shape_str(input.shape)}: one position per value."
        )
    dims = len(size)
    flat = ops.MaxUnpool.apply(input.flatten(-dims), indices.flatten(-dims), math.prod(size))
    return flat.unflatten(-1, size)


def lp_pool2d(
    input: Tensor,
    norm_type: float,
    kernel_size: Any,
    stride: Any = None,
    ceil_mode: bool = False,
) -> Tensor:
    """The p-norm of each window of (N, C, H, W) (or (C, H, W)), p = norm_type:

        out = (sum over the window of x^p) ^ (1/p)

    p = 1 sums the window, p = 2 is its Euclidean norm, a large p nears its maximum. A
    composition, torch's: avg_pool2d of x^p times the window's size, then the 1/p power (an
    average of 0 stays 0: sign(s) relu(|s|) ^ (1/p), whose slope at 0 is 0, as torch's).
    p = inf is the largest |x| of each window (max_pool2d of |x|), p = -inf the smallest."""
    kernel = _ntuple(kernel_size, 2, "kernel_size", "lp_pool2d")
    if norm_type == math.inf:
        return max_pool2d(input.abs(), kernel, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return -max_pool2d(-input.abs(), kernel, stride, 0, 1, ceil_mode)
    sums = avg_pool2d(input**norm_type, kernel, stride, 0, ceil_mode)
    return _lp_root(sums, kernel[0] * kernel[1], norm_type)


def lp_pool1d(
    input: Tensor,
    norm_type: float,
    kernel_size: Any,
    stride: Any = None,
    ceil_mode: bool = False,
) -> Tensor:
    """The p-norm of each window of (N, C, L) (or (C, L)): see lp_pool2d (p = inf and -inf
    too)."""
    kernel = _single(kernel_size, "kernel_size", "lp_pool1d")
    if norm_type == math.inf:
        return max_pool1d(input.abs(), kernel, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return -max_pool1d(-input.abs(), kernel, stride, 0, 1, ceil_mode)
    sums = avg_pool1d(input**norm_type, kernel, stride, 0, ceil_mode)
    return _lp_root(sums, kernel, norm_type)


def lp_pool3d(
    input: Tensor,
    norm_type: float,
    kernel_size: Any,
    stride: Any = None,
    ceil_mode: bool = False,
) -> Tensor:
    """The p-norm of each window of (N, C, D, H, W) (or (C, D, H, W)): see lp_pool2d. As
    torch's, p = inf is the largest |x| of each window (max_pool3d of |x|), p = -inf the
    smallest."""
    kernel = _ntuple(kernel_size, 3, "kernel_size", "lp_pool3d")
    if norm_type == math.inf:
        return max_pool3d(input.abs(), kernel, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return -max_pool3d(-input.abs(), kernel, stride, 0, 1, ceil_mode)
    sums = avg_pool3d(input**norm_type, kernel, stride, 0, ceil_mode)
    return _lp_root(sums, math.prod(kernel), norm_type)


def _lp_root(means: Tensor, window: int, norm_type: float) -> Tensor:
    return (means.sign() * means.abs().relu() * window) ** (1.0 / norm_type)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r), r = upscale_factor: each group of r^2 channels
    becomes an r x r block of pixels (out[c, h r + i, w r + j] = in[c r^2 + i r + j, h, w]), a
    sub-pixel convolution's upsampling. A view and a permutation: the gradient is theirs."""
    r = upscale_factor
    batch, (channels, height, width) = _image_dims("pixel_shuffle", input, r, "upscale_factor")
    if channels % (r * r):
        raise ShapeError(
            f"pixel_shuffle: the channels (dim -3) of the input {shape_str(input.shape)} must be "
            f"divisible by upscale_factor squared, {r * r}: got {channels}. Each output channel "
            f"is made of {r * r} input channels."
        )
    n = len(batch)
    blocks = input.reshape(*batch, channels // (r * r), r, r, height, width)
    pixels = blocks.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)  # (c, h, i, w, j)
    return pixels.reshape(*batch, channels // (r * r), height * r, width * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W), r = downscale_factor: pixel_shuffle undone, each
    r x r block of pixels becomes r^2 channels. A view and a permutation."""
    r = downscale_factor
    batch, (channels, height, width) = _image_dims("pixel_unshuffle", input, r, "downscale_factor")
    for side, size in (("height", height), ("width", width)):
        if size % r:
            dim = -2 if side == "height" else -1
            raise ShapeError(
                f"pixel_unshuffle: the {side} (dim {dim}) of the input {shape_str(input.shape)} "
                f"must be divisible by downscale_factor={r}, got {size}."
            )
    n = len(batch)
    blocks = input.reshape(*batch, channels, height // r, r, width // r, r)
    channels_first = blocks.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)  # (c, i, j, h, w)
    return channels_first.reshape(*batch, channels * r * r, height // r, width // r)


def _image_dims(name: str, input: Tensor, factor: int, what: str) -> tuple[tuple, tuple]:
    """The batch dims and (C, H, W) of an input of shape (*, C, H, W), its factor checked."""
    if factor <= 0:
        raise ValueError(f"{name} expects a positive {what}, but got {factor}")
    if input.ndim < 3:
        raise ShapeError(
            f"{name} expects an input of at least 3 dims, (*, C, H, W), got shape "
            f"{shape_str(input.shape)}."
        )
    return tuple(input.shape[:-3]), tuple(input.shape[-3:])


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (dim 1): by the batch's statistics when training (and update the
    running ones in place, if given), by the running ones otherwise. See ops.BatchNorm."""
    if training:
        per_channel = input.shape[0] * math.prod(input.shape[2:]) if input.ndim >= 2 else 1
        if per_channel == 1:  # (0 is fine: an empty batch passes through, as in torch)
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input "
                f"of shape {shape_str(input.shape)}: the batch statistics of one value are "
                "meaningless (its variance is 0). Use a batch of 2 or more, or call .eval()."
            )
    elif running_mean is None or running_var is None:
        raise ValueError(
            "batch_norm: evaluation (training=False) normalises with the running statistics, so "
            "running_mean and running_var must be given."
        )
    channels = input.shape[1]
    per_channel = {"running_mean": running_mean, "running_var": running_var}
    for name, value in {**per_channel, "weight": weight, "bias": bias}.items():
        if value is not None and tuple(value.shape) != (channels,):
            raise ValueError(
                f"batch_norm: input {shape_str(input.shape)} has {channels} channels (dim 1), "
                f"but {name} has shape {shape_str(value.shape)}: it must hold one value per "
                f"channel ({channels}). Was the layer built for another number of channels?"
            )
    return ops.BatchNorm.apply(
        input,
        weight,
        bias,
        running_mean,
        running_var,
        training=training,
        momentum=momentum,
        eps=eps,
    )


def layer_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each example over its last dims, those of `normalized_shape` (a tuple or list:
    (C,) for the last dim, (H, W) for the last two), to mean 0 and variance 1, then scale by
    `weight` and shift by `bias` (each of shape normalized_shape, if given). The same in training
    and eval. See ops.LayerNorm."""
    if isinstance(normalized_shape, int) or not isinstance(
        normalized_shape, (tuple, list, torch.Size)
    ):
        raise TypeError(
            f"layer_norm: normalized_shape must be a tuple or list of ints (the sizes of the last "
            f"dims to normalise over), got {type(normalized_shape).__name__} "
            f"{normalized_shape!r}: write ({normalized_shape!r},) for the last dim alone. "
            "(nn.LayerNorm takes a bare int.)"
        )
    shape = tuple(normalized_shape)
    if not all(isinstance(side, int) for side in shape):
        raise TypeError(f"layer_norm: normalized_shape must hold ints, got {shape}")
    if not shape:
        raise ValueError(
            "layer_norm: normalized_shape must name at least one dim (the last dims to "
            "normalise over), got ()"
        )
    if tuple(input.shape[input.ndim - len(shape) :]) != shape or input.ndim < len(shape):
        expected = "(*, " + ", ".join(map(str, shape)) + ")"
        raise ShapeError(
            f"layer_norm: normalized_shape {shape_str(shape)} must be the last dims of the input, "
            f"which has shape {shape_str(input.shape)}: an input of shape {expected} was expected. "
            "Was the layer built for another size?"
        )
    for name, value in {"weight": weight, "bias": bias}.items():
        if value is not None and tuple(value.shape) != shape:
            raise ShapeError(
                f"layer_norm: {name} has shape {shape_str(value.shape)}, but it must have "
                f"normalized_shape {shape_str(shape)}: one value per position of the "
                f"normalised dims (input shape {shape_str(input.shape)})."
            )
    return ops.LayerNorm.apply(input, weight, bias, normalized_shape=shape, eps=eps)


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Split the C channels of (N, C, *) into num_groups groups of C / num_groups channels and
    normalise each example's group (its channels and every position) to mean 0 and variance 1,
    then scale by `weight` and shift by `bias` (each of shape (C,): one value per channel).

    A composition: each group is one row of (N, num_groups, -1), and layer norm over that last
    dim normalises it; the gradient (and the second derivative) is then layer norm's."""
    if input.ndim < 2:
        raise ShapeError(
            f"group_norm: the input must have a batch and a channel dim, (N, C, *), got shape "
            f"{shape_str(input.shape)}. Add a batch dim with .unsqueeze(0)."
        )
    batch, channels = input.shape[0], input.shape[1]
    if num_groups <= 0 or channels % num_groups:
        raise ShapeError(
            f"group_norm: num_groups={num_groups} must divide the input's {channels} channels "
            f"(dim 1 of {shape_str(input.shape)}) into groups of equal size."
        )
    if batch * (channels // num_groups) * math.prod(input.shape[2:]) == 1:
        # torch's rule (that of batch norm in training): these statistics would be of one value
        raise ValueError(
            f"group_norm: an input of shape {shape_str(input.shape)} with num_groups="
            f"{num_groups} has one example, one channel per group and one position, so each "
            "group's mean and variance would be of a single value; torch refuses it too. Give "
            "a batch of more than one, or fewer groups."
        )
    for name, value in {"weight": weight, "bias": bias}.items():
        if value is not None and tuple(value.shape) != (channels,):
            raise ShapeError(
                f"group_norm: {name} has shape {shape_str(value.shape)}, but it must have shape "
                f"({channels},): one value per channel of the input {shape_str(input.shape)}."
            )
    group_size = math.prod(input.shape[1:]) // num_groups  # (not -1: an empty batch has 0)
    groups = input.reshape(batch, num_groups, group_size)
    out = layer_norm(groups, (group_size,), eps=eps).reshape(input.shape)
    per_channel = (channels,) + (1,) * (input.ndim - 2)  # broadcasts along dim 1
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    return out


def rms_norm(
    input: Tensor, normalized_shape: Any, weight: Tensor | None = None, eps: float | None = None
) -> Tensor:
    """Divide each example by its root mean square over its last dims (those of
    `normalized_shape`), then scale by `weight` (of shape normalized_shape, if given):

        y = x / sqrt(mean(x^2) + eps) * weight

    Layer norm without the centring (no mean taken off, no bias): Llama's normalisation. eps
    None: float64's machine epsilon for a float64 input, float32's for any other, as torch's;
    half-precision inputs are computed in float32, as torch's. A composition: the gradient
    flows through the mean of squares."""
    shape = _normalized_shape("rms_norm", input, normalized_shape)
    if weight is not None and tuple(weight.shape) != shape:
        raise ShapeError(
            f"rms_norm: weight has shape {shape_str(weight.shape)}, but it must have "
            f"normalized_shape {shape_str(shape)}: one scale per position of the normalised "
            f"dims (input shape {shape_str(input.shape)})."
        )
    if eps is None:
        eps = torch.finfo(torch.float64 if input.dtype == torch.float64 else torch.float32).eps
    dims = tuple(range(-len(shape), 0))
    # half precision: computed in float32 (the weight too) and rounded once at the end, as torch
    x = input.float() if input.dtype in (torch.float16, torch.bfloat16) else input
    # eps inside the root: it keeps an all-zero example finite (its output is 0, not NaN)
    out = x * (x.square().mean(dims, keepdim=True) + eps).rsqrt()
    if weight is not None:
        out = out * weight
    return out if x is input else out.to(input.dtype)


def _normalized_shape(name: str, input: Tensor, normalized_shape: Any) -> tuple[int, ...]:
    """normalized_shape as a tuple (an int is the last dim alone), checked to be the input's
    last dims."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    shape = tuple(normalized_shape)
    if input.ndim < len(shape) or tuple(input.shape[input.ndim - len(shape) :]) != shape:
        expected = "(*, " + ", ".join(map(str, shape)) + ")"
        raise ShapeError(
            f"{name}: normalized_shape {shape_str(shape)} must be the last dims of the input, "
            f"which has shape {shape_str(input.shape)}: an input of shape {expected} was "
            "expected. Was the layer built for another size?"
        )
    return shape


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel of each example of (N, C, *) over its positions alone:

        y = (x - mean) / sqrt(var + eps) * weight + bias

    mean and var (biased) over the positions of one (example, channel), when use_input_stats;
    else the running ones. weight and bias: one value per channel, if given. With running
    statistics given and use_input_stats, they are updated in place, as batch norm's, by the
    average over the batch of each instance's mean and unbiased variance:

        running = (1 - momentum) running + momentum mean_n(statistic)

    A composition: each (example, channel) is one row of (N, C, -1), which layer norm over its
    last dim normalises; the gradient through the mean and the variance is layer norm's."""
    if input.ndim < 2:
        raise ShapeError(
            f"instance_norm: the input must have a batch and a channel dim, (N, C, *), got shape "
            f"{shape_str(input.shape)}."
        )
    batch, channels, positions = input.shape[0], input.shape[1], math.prod(input.shape[2:])
    per_channel = {"running_mean": running_mean, "running_var": running_var}
    for name, value in {**per_channel, "weight": weight, "bias": bias}.items():
        if value is not None and tuple(value.shape) != (channels,):
            raise ShapeError(
                f"instance_norm: input {shape_str(input.shape)} has {channels} channels (dim 1), "
                f"but {name} has shape {shape_str(value.shape)}: it must hold one value per "
                f"channel ({channels}). Was the layer built for another number of channels?"
            )
    along_channels = (channels,) + (1,) * (input.ndim - 2)  # broadcasts along dim 1
    if use_input_stats:
        if positions == 1:  # (torch's rule: the variance of one value is 0)
            raise ValueError(
                f"instance_norm: expected more than 1 position per channel when using the "
                f"input's statistics, got input of shape {shape_str(input.shape)}: each "
                "instance's mean and variance would be of a single value."
            )
        rows = input.reshape(batch, channels, positions)
        out = layer_norm(rows, (positions,), eps=eps).reshape(input.shape)
        if running_mean is not None and running_var is not None:
            _update_running_stats(rows._data, running_mean, running_var, momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(
                "instance_norm: use_input_stats=False normalises with the running statistics, "
                "so running_mean and running_var must be given."
            )
        scale = (running_var.reshape(along_channels) + eps).rsqrt()
        out = (input - running_mean.reshape(along_channels)) * scale
    if weight is not None:
        out = out * weight.reshape(along_channels)
    if bias is not None:
        out = out + bias.reshape(along_channels)
    return out


def _update_running_stats(
    rows: torch.Tensor, running_mean: Tensor, running_var: Tensor, momentum: float
) -> None:
    """running = (1 - momentum) running + momentum (the batch's average of each instance's
    mean, or unbiased variance), in place; on torch's tensors: no gradient goes through it."""
    rows = rows.detach()
    mean, var = rows.mean(-1).mean(0), rows.var(-1, unbiased=True).mean(0)
    running_mean._data.mul_(1 - momentum).add_(mean.to(running_mean.dtype), alpha=momentum)
    running_var._data.mul_(1 - momentum).add_(var.to(running_var.dtype), alpha=momentum)


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """Divide each value of (N, C, *) by a power of the squares of its neighbours across
    channels (AlexNet's normalisation):

        y_c = x_c / (k + alpha / size * sum_{c' in window(c)} x_c'^2) ^ beta

    window(c): the `size` channels c - size // 2 ... c + (size - 1) // 2, those past the edges
    counting as 0. A composition: the sum is of `size` shifted slices of the zero-padded
    squares, so the gradient reaches every neighbour through it."""
    if input.ndim < 3:
        raise ShapeError(
            f"local_response_norm: expected an input of 3 or more dims, (N, C, *), got shape "
            f"{shape_str(input.shape)}: the window runs across the channels of each position."
        )
    if input.numel() == 0:
        return input
    channels = input.shape[1]
    squares = input.square().movedim(1, -1)  # channels last, so that pad reaches them
    padded = pad(squares, (size // 2, (size - 1) // 2))
    window = padded[..., 0:channels]
    for shift in range(1, size):
        window = window + padded[..., shift : shift + channels]
    divisor = (window.movedim(-1, 1) * (alpha / size) + k) ** beta
    return input / divisor


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_o = sum_ij x1_i weight_oij x2_j + bias_o, for each of the batch's pairs (x1, x2) of
    shapes (*, in1) and (*, in2), weight (out, in1, in2): one bilinear form per output. A
    composition (einsum), whose gradient is einsum's."""
    if input1.shape[:-1] != input2.shape[:-1]:
        raise ShapeError(
            f"bilinear: input1 {shape_str(input1.shape)} and input2 {shape_str(input2.shape)} "
            "must have the same batch dims (all but the last): each x1 is paired with one x2."
        )
    if weight.ndim != 3 or (input1.shape[-1], input2.shape[-1]) != tuple(weight.shape[1:]):
        raise ShapeError(
            f"bilinear: weight has shape {shape_str(weight.shape)}, but it must be (out, in1, "
            f"in2) = (out, {input1.shape[-1]}, {input2.shape[-1]}) for inputs of shapes "
            f"{shape_str(input1.shape)} and {shape_str(input2.shape)}."
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ShapeError(
            f"bilinear: bias has shape {shape_str(bias.shape)}, but it must be "
            f"({weight.shape[0]},): one value per output (weight {shape_str(weight.shape)})."
        )
    out = einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Split the C channels of (N, C, *) into `groups` groups and interleave them: channel
    g * (C / groups) + i goes to i * groups + g (ShuffleNet's mixing of grouped convolutions).
    A reshape, a transpose and a reshape back."""
    if input.ndim < 3:
        raise ShapeError(
            f"channel_shuffle: expected an input of 3 or more dims, (N, C, *), got shape "
            f"{shape_str(input.shape)}."
        )
    channels = input.shape[1]
    if groups <= 0:
        raise ValueError(f"channel_shuffle: groups must be positive, got {groups}")
    if channels % groups:
        raise ShapeError(
            f"channel_shuffle: groups={groups} must divide the {channels} channels (dim 1 of "
            f"{shape_str(input.shape)}) into groups of equal size."
        )
    batch, rest = input.shape[0], tuple(input.shape[2:])
    grouped = input.reshape(batch, groups, channels // groups, *rest)
    return grouped.transpose(1, 2).reshape(input.shape)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) when training; the
    identity otherwise. inplace=True writes the result into x and returns x, as torch."""
    _check_probability(p)
    if not training or p == 0:
        return input
    out = ops.Dropout.apply(input, ops.Dropout.draw_mask(input._data, p))
    return input.copy_(out) if inplace else out


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero each channel of (N, C, L) (or (C, L)) whole, with probability p, and scale the
    others by 1/(1-p) when training; the identity otherwise. For sequences whose neighbouring
    positions are alike, where dropping single elements would teach little."""
    _check_probability(p)
    if input.ndim not in (2, 3):
        raise ShapeError(
            f"dropout1d: expected a 2-d or 3-d input, (C, L) or (N, C, L), got shape "
            f"{shape_str(input.shape)}: it zeroes whole channels of sequences."
        )
    if input.ndim == 2:  # one example: a batch of one
        out = _feature_dropout(input.unsqueeze(0), p, training).squeeze(0)
    else:
        out = _feature_dropout(input, p, training)
    return input.copy_(out) if inplace and out is not input else out


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero each channel of (N, C, H, W) whole, with probability p, and scale the others by
    1/(1-p) when training; the identity otherwise. As torch's, a 3-d input is taken as
    (N, C, L) (dropout1d's), with a warning; inputs of other dims warn, and are dropped by
    (dim 0, dim 1) slices."""
    _check_probability(p)
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: a {input.ndim}-d input (shape {shape_str(input.shape)}) is deprecated "
            "and torch means to refuse it: dropout2d zeroes whole channels of images, (N, C, H, "
            "W) or (N, C, L). Use dropout for single elements.",
            UserWarning,
            stacklevel=2,
        )
    if input.ndim == 3:
        warnings.warn(
            f"dropout2d: a 3-d input (shape {shape_str(input.shape)}) is taken as (N, C, L), a "
            "batch of sequences, as torch does for now (torch means to take it as one image, "
            "(C, H, W), later): use dropout1d for sequences.",
            UserWarning,
            stacklevel=2,
        )
    out = _feature_dropout(input, p, training)
    return input.copy_(out) if inplace and out is not input else out


def dropout3d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero each channel of (N, C, D, H, W) (or (C, D, H, W)) whole, a whole volume, with
    probability p, and scale the others by 1/(1-p) when training; the identity otherwise. As
    torch's, an input of other dims warns and is taken as one example (a batch of one)."""
    _check_probability(p)
    if input.ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: a {input.ndim}-d input (shape {shape_str(input.shape)}) is deprecated "
            "and torch means to refuse it: dropout3d zeroes whole channels of volumes, (N, C, "
            "D, H, W) or (C, D, H, W). Use dropout for single elements.",
            UserWarning,
            stacklevel=2,
        )
    if input.ndim != 5:  # one example: a batch of one
        out = _feature_dropout(input.unsqueeze(0), p, training).squeeze(0)
    else:
        out = _feature_dropout(input, p, training)
    return input.copy_(out) if inplace and out is not input else out


def _feature_dropout(input: Tensor, p: float, training: bool) -> Tensor:
    """Each (example, channel) slice zeroed whole with probability p, the others times
    1/(1-p): the mask (N, C, 1, ...) is drawn as torch draws it, so a seed gives torch's."""
    if not training or p == 0 or input.numel() == 0:
        return input
    if input.ndim < 2:
        raise ShapeError(
            f"channel dropout needs a batch and a channel dim, (N, C, *), got shape "
            f"{shape_str(input.shape)}."
        )
    noise_shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    mask = ops.Dropout.draw_mask(input._data.new_empty(noise_shape), p)
    return ops.Dropout.apply(input, mask.expand(input.shape))


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Dropout for SELU networks: keeps a zero-mean, unit-variance input so, in training.

    Each element is kept (probability 1 - p) or set to SELU's floor -alpha' (alpha' = SELU's
    scale * alpha = 1.7580993408473766), then the result is moved back to mean 0 and variance 1
    by an affine map a x + b, with a = 1 / sqrt((alpha'^2 p + 1)(1 - p)), b = a alpha' p:
        out = a (mask x + (1 - mask)(-alpha')) + a alpha' p = x (a mask) + b',
        b' = (mask - 1) a alpha' + a alpha' p;   dL/dx = G a mask.
    The mask is drawn as torch's (bernoulli_(1 - p) on the CPU), so a seed gives torch's. The
    identity in eval (training=False, the default here, as torch's)."""
    return _alpha_dropout(input, p, training, inplace, feature=False)


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """alpha_dropout with one draw per channel of (N, C, *): a whole channel is set to -alpha'
    (then moved by the same affine map). See alpha_dropout."""
    return _alpha_dropout(input, p, training, inplace, feature=True)


_SELU_ALPHA_SCALED = 1.7580993408473766  # SELU's scale * alpha: SELU's output for x -> -inf


def _alpha_dropout(input: Tensor, p: float, training: bool, inplace: bool, feature: bool) -> Tensor:
    name = "feature_alpha_dropout" if feature else "alpha_dropout"
    _check_probability(p)
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:  # nothing kept: zeros, as torch's
        out = input * 0
        return input.copy_(out) if inplace else out
    shape = tuple(input.shape)
    if feature:
        if input.ndim < 2:
            raise ShapeError(
                f"{name}: needs a batch and a channel dim, (N, C, *), to drop whole channels; "
                f"got shape {shape_str(input.shape)}."
            )
        shape = shape[:2] + (1,) * (input.ndim - 2)  # one draw per (example, channel)
    mask = input._data.new_empty(shape).bernoulli_(1 - p)
    a = 1.0 / math.sqrt((_SELU_ALPHA_SCALED**2 * p + 1) * (1 - p))
    shift = mask.add(-1).mul_(_SELU_ALPHA_SCALED * a).add_(_SELU_ALPHA_SCALED * a * p)
    out = input * Tensor(mask.mul_(a)) + Tensor(shift)  # (torch's steps, so torch's roundings)
    return input.copy_(out) if inplace else out


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Randomized leaky relu: x where x > 0, a x elsewhere, with a slope a drawn uniformly in
    [lower, upper] for each element at x <= 0 in training; in eval the fixed slope
    (lower + upper) / 2 (leaky_relu). dL/dx = G where x > 0, G a elsewhere (the drawn slope).
    The slopes are drawn as torch's on the CPU (one float64 uniform per element at x <= 0, in
    order), so a seed gives torch's."""
    if lower > upper:
        raise ValueError(
            f"rrelu: lower ({lower}) must not be greater than upper ({upper}): the slopes are "
            "drawn uniformly between them (and (lower + upper) / 2 is eval's slope)."
        )
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    slopes = _rrelu_slopes(input._data, lower, upper)
    out = input * Tensor(slopes)  # slope 1 at x > 0
    return input.copy_(out) if inplace else out


def rrelu_(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False
) -> Tensor:
    """rrelu(input, lower, upper, training, inplace=True), as torch."""
    return rrelu(input, lower, upper, training, inplace=True)


def _rrelu_slopes(x: torch.Tensor, lower: float, upper: float) -> torch.Tensor:
    """1 where x > 0; where x <= 0, in order, u (upper - lower) + lower for a float64 uniform
    u in [0, 1), as torch's CPU kernel: its bounds first rounded to x's dtype, a multiply then
    an add (uniform_(lower, upper) fuses them, one bit apart), then rounded to x's dtype."""
    low_bound, high_bound = torch.tensor([lower, upper], dtype=x.dtype).tolist()
    at_or_below_0 = x.detach().cpu() <= 0
    u = torch.empty(int(at_or_below_0.sum()), dtype=torch.float64).uniform_(0, 1)
    slopes = torch.ones(x.shape, dtype=x.dtype)
    slopes[at_or_below_0] = (u * (high_bound - low_bound) + low_bound).to(x.dtype)
    return slopes.to(x.device)


def _check_probability(p: float, name: str = "p") -> None:
    """Dropout's p (the chance that each element is zeroed), as torch's: a probability."""
    if not 0 <= p <= 1:
        raise ValueError(
            f"dropout: {name}={p} is the probability of zeroing each element, so it must lie "
            "between 0 and 1 (0 keeps everything, 1 zeroes everything)."
        )


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """Attention, as torch's: for query (..., L, E), key (..., S, E) and value (..., S, Ev),

        weights = softmax(query @ key^T * scale + mask, dim=-1)     (..., L, S)
        output  = dropout(weights, dropout_p) @ value               (..., L, Ev)

    with scale = 1 / sqrt(E) unless given. A bool attn_mask says which (query, key) pairs take
    part (True: they do; a False one adds -inf), a float one is added; both broadcast to
    (..., L, S). is_causal lets query i see keys 0..i only (the lower triangle of an (L, S)
    mask, from the top-left corner, as torch). A query that sees no key at all gets zeros (and
    zero gradients), where the softmax alone would give 0/0. enable_gqa lets key and value have
    fewer heads (dim -3) than query, each shared by a group of query heads. Dropout, unlike
    F.dropout's, has no training flag: it is applied whenever dropout_p > 0.

    Gradients (of query, key, value and a float mask) come from matmul, softmax and where."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim < 2:
            raise ShapeError(
                f"scaled_dot_product_attention: {name} must be at least 2-d, (..., length, "
                f"features), got shape {shape_str(t.shape)}."
            )
    if not query.dtype == key.dtype == value.dtype:
        raise TypeError(
            f"scaled_dot_product_attention: query, key and value must have one dtype, got "
            f"{query.dtype}, {key.dtype} and {value.dtype}."
        )
    if not query.dtype.is_floating_point:
        raise TypeError(
            f"scaled_dot_product_attention: query, key and value must be floating point, got "
            f"{query.dtype}."
        )
    if query.shape[-1] != key.shape[-1]:
        raise ShapeError(
            f"scaled_dot_product_attention: query and key must have the same last dim (E), got "
            f"shapes {shape_str(query.shape)} and {shape_str(key.shape)}."
        )
    if key.shape[-2] != value.shape[-2]:
        raise ShapeError(
            f"scaled_dot_product_attention: key and value must have the same length (dim -2, "
            f"S), got shapes {shape_str(key.shape)} and {shape_str(value.shape)}."
        )
    _check_probability(dropout_p, "dropout_p")
    if is_causal and attn_mask is not None:
        raise ValueError(
            "scaled_dot_product_attention: give attn_mask or is_causal=True, not both (the "
            "causal mask is made for you)."
        )
    # torch takes a float32 mask whatever query's dtype (the sum then has the wider one)
    if attn_mask is not None and attn_mask.dtype not in (torch.bool, torch.float32, query.dtype):
        raise TypeError(
            f"scaled_dot_product_attention: attn_mask must be bool, float32 or of query's dtype "
            f"({query.dtype}), got {attn_mask.dtype}."
        )
    if enable_gqa:
        key, value = _shared_heads(query, key), _shared_heads(query, value)
    length, source = query.shape[-2], key.shape[-2]
    if scale is None:
        scale = 1 / math.sqrt(query.shape[-1]) if query.shape[-1] else math.inf
    # scaling query, not the scores: with E = 0 the scores are 0, not 0 * inf
    scores = (query * scale).matmul(key.transpose(-2, -1))
    if is_causal:
        attn_mask = Tensor(torch.ones(length, source, dtype=torch.bool, device=scores.device))
        attn_mask = attn_mask.tril()
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(Tensor(~attn_mask._data), -math.inf)
        else:
            scores = scores + attn_mask
    # a row that is all -inf: softmax would give NaN; torch gives weights of 0. The row is
    # set to 0 before the softmax too, so that no NaN reaches the backward either. (Always,
    # not after asking whether a row is empty: the answer would wait for the GPU.)
    empty = Tensor((scores._data == -math.inf).all(-1, keepdim=True))
    weights = scores.masked_fill(empty, 0.0).softmax(-1).masked_fill(empty, 0.0)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return weights.matmul(value)


def _shared_heads(query: Tensor, kv: Tensor) -> Tensor:
    """key or value with each head (dim -3) repeated for the group of query heads that share it
    (grouped-query attention)."""
    if query.ndim < 3 or kv.ndim < 3:
        raise ShapeError(
            f"scaled_dot_product_attention: enable_gqa needs heads (dim -3) in query, key and "
            f"value, got shapes {shape_str(query.shape)} and {shape_str(kv.shape)}."
        )
    heads, kv_heads = query.shape[-3], kv.shape[-3]
    if kv_heads == 0 or heads % kv_heads:
        raise ShapeError(
            f"scaled_dot_product_attention: with enable_gqa, key and value's heads (dim -3, "
            f"{kv_heads}) must divide query's ({heads})."
        )
    return kv.repeat_interleave(heads // kv_heads, dim=-3)


# F.rrelu, a torch name minigrad lacks, raises an AttributeError that says so (errors.py).
__getattr__ = _missing_name_getattr(__name__, "torch.nn.functional")
