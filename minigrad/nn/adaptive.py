"""`AdaptiveLogSoftmaxWithLoss`, as torch's: a softmax over many classes (a language model's
words) made cheap by sorting the classes by frequency and splitting them at `cutoffs`.

The `head` scores the frequent classes 0 .. cutoffs[0] - 1 and one entry per rarer cluster;
cluster i's own classes are scored by `tail[i]`, a projection down to
in_features // div_value ** (i + 1) features and then up to the cluster's size, so the rare
classes cost less. A class c in cluster i has

    log p(c | x) = log_softmax(head(x))[shortlist + i] + log_softmax(tail[i](x))[c - cutoffs[i]]

and a frequent one just log_softmax(head(x))[c] (Grave et al., Efficient softmax approximation
for GPUs, 2016).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence

import torch

from ..creation import DeviceLike, cat
from ..errors import shape_str
from ..tensor import Tensor, unwrap
from . import functional as F
from .modules import Linear, Module, ModuleList, Sequential

# forward's result: the log-probability of each target, and the mean loss -output.mean()
_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """head: Linear(in_features, cutoffs[0] + n_clusters, bias=head_bias); tail[i]:
    Sequential(Linear(in_features, hidden_i, bias=False), Linear(hidden_i, size_i,
    bias=False)), made in this order (torch's, so a seed gives torch's weights)."""

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        cutoffs: Sequence[int],
        div_value: float = 4.0,
        head_bias: bool = False,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if not cutoffs:
            raise ValueError("AdaptiveLogSoftmaxWithLoss: cutoffs must hold at least one value")
        if (
            cutoffs != sorted(cutoffs)
            or min(cutoffs) <= 0
            or max(cutoffs) > n_classes - 1
            or len(set(cutoffs)) != len(cutoffs)
            or any(int(c) != c for c in cutoffs)
        ):
            raise ValueError(
                f"AdaptiveLogSoftmaxWithLoss: cutoffs must be distinct integers in increasing "
                f"order, each between 1 and n_classes - 1 = {n_classes - 1}, got {cutoffs}"
            )
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        place = {"device": device, "dtype": dtype}
        self.head = Linear(in_features, self.head_size, bias=head_bias, **place)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(
                Sequential(
                    Linear(in_features, hidden, bias=False, **place),
                    Linear(hidden, size, bias=False, **place),
                )
            )

    def reset_parameters(self) -> None:
        """Draw every weight again, in the order they were made."""
        self.head.reset_parameters()
        for down, up in self.tail:
            down.reset_parameters()
            up.reset_parameters()

    def forward(self, input: Tensor, target: Tensor) -> _ASMoutput:
        """input (N, in_features) and target (N) class indices (or (in_features) and a 0-d
        target) -> (output, loss): output[n] = log p(target[n] | input[n]), loss = -mean."""
        target_data = unwrap(target)
        if target_data.ndim == 1:
            if input.ndim != 2 or input.shape[0] != target_data.shape[0]:
                raise RuntimeError(
                    f"AdaptiveLogSoftmaxWithLoss: a target of shape "
                    f"{shape_str(target_data.shape)} needs an input (N, in_features) with the "
                    f"same N, got shape {shape_str(input.shape)}"
                )
        elif target_data.ndim == 0:
            if input.ndim != 1:
                raise RuntimeError(
                    f"AdaptiveLogSoftmaxWithLoss: a 0-d target needs a 1-d input "
                    f"(in_features), got shape {shape_str(input.shape)}"
                )
        else:
            raise RuntimeError(
                f"AdaptiveLogSoftmaxWithLoss: the target must be 0-d or 1-d (one class per "
                f"example), got shape {shape_str(target_data.shape)}"
            )
        batched = target_data.ndim == 1
        x = input if batched else input.unsqueeze(0)
        classes = target_data if batched else target_data.unsqueeze(0)
        if classes.numel() and ((classes < 0) | (classes >= self.n_classes)).any():
            raise RuntimeError(
                f"AdaptiveLogSoftmaxWithLoss: target values must be in [0, "
                f"{self.n_classes - 1}], got values in [{int(classes.min())}, "
                f"{int(classes.max())}]"
            )
        # which head entry each target reads: its own class, or its cluster's entry
        cluster = torch.bucketize(classes, classes.new_tensor(self.cutoffs[:-1]), right=True)
        head_entry = torch.where(cluster == 0, classes, self.shortlist_size + cluster - 1)
        head_logprob = F.log_softmax(self.head(x), dim=1)
        output = head_logprob.gather(1, head_entry.unsqueeze(1)).squeeze(1)
        for i, tail in enumerate(self.tail):  # one pass per cluster, over its rows only
            rows = (cluster == i + 1).nonzero().squeeze(1)
            if rows.numel() == 0:
                continue
            local = (classes[rows] - self.cutoffs[i]).unsqueeze(1)
            cluster_logprob = F.log_softmax(tail(x[rows]), dim=1).gather(1, local).squeeze(1)
            in_place = cluster_logprob.new_zeros(classes.shape)  # the cluster's rows, 0 elsewhere
            in_place[rows] = cluster_logprob
            output = output + in_place
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def log_prob(self, input: Tensor) -> Tensor:
        """input (N, in_features) -> (N, n_classes): log p(c | x) for every class c."""
        head_logprob = F.log_softmax(self.head(input), dim=1)
        parts = [head_logprob[:, : self.shortlist_size]]
        for i, tail in enumerate(self.tail):
            entry = head_logprob[:, self.shortlist_size + i].unsqueeze(1)
            parts.append(F.log_softmax(tail(input), dim=1) + entry)
        return cat(parts, dim=1)

    def predict(self, input: Tensor) -> Tensor:
        """input (N, in_features) -> (N): the most probable class of each example,
        log_prob(input).argmax(dim=1). (torch skips the tails when the head's best entry is a
        frequent class, which gives the same answer: a cluster's classes are each at most as
        probable as the cluster's head entry.)"""
        return self.log_prob(input).argmax(dim=1)
