"""`Dropout`: zero random elements in training (scaling the rest up); the identity in eval.
`Dropout1d`, `Dropout2d` and `Dropout3d` zero whole channels instead. `AlphaDropout` and
`FeatureAlphaDropout` are their versions for SELU networks (they keep mean 0 and variance 1)."""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .modules import Module


class _DropoutNd(Module):
    """What the dropout layers share: p and inplace (as torch's _DropoutNd: Dropout2d is not a
    Dropout, so `isinstance(m, nn.Dropout)` picks the same layers as in torch)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        F._check_probability(p)
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Each element zeroed with probability p in training, the others scaled by 1/(1 - p)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Each channel of (N, C, L) (or (C, L)) zeroed whole with probability p in training, the
    others scaled by 1/(1 - p). See F.dropout1d."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Each channel of (N, C, H, W) zeroed whole with probability p in training, the others
    scaled by 1/(1 - p). See F.dropout2d (a 3-d input is taken as (N, C, L), as torch's)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Each channel of (N, C, D, H, W) (or (C, D, H, W)) zeroed whole with probability p in
    training, the others scaled by 1/(1 - p). See F.dropout3d."""

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Each element set to SELU's floor with probability p in training, then all moved back to
    mean 0 and variance 1 (for SELU networks). See F.alpha_dropout."""

    def forward(self, input: Tensor) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training, self.inplace)


class FeatureAlphaDropout(_DropoutNd):
    """AlphaDropout by whole channels of (N, C, *). See F.feature_alpha_dropout."""

    def forward(self, input: Tensor) -> Tensor:
        return F.feature_alpha_dropout(input, self.p, self.training, self.inplace)
