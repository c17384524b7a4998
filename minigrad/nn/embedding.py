"""nn.Embedding: a table of learned vectors, one row per token id (or position); nn.EmbeddingBag
sums (or averages, or takes the max of) the rows of each bag of ids.

    tok_emb = nn.Embedding(vocab_size, n_embd)    # weight: (vocab_size, n_embd), N(0, 1)
    x = tok_emb(idx)                              # idx (B, T) integers -> x (B, T, n_embd)

Looking a row up is multiplying a one-hot vector by the table, so only the rows that were
looked up get a gradient (see `minigrad.ops.Embedding`).
"""

from __future__ import annotations

import torch

from ..creation import DeviceLike, _device
from ..tensor import Tensor
from . import functional as F
from .modules import Module, Parameter


class Embedding(Module):
    """Row i of `weight` (num_embeddings, embedding_dim) for each index i of the input, as
    torch's nn.Embedding: the same arguments, initialisation (N(0, 1), the padding_idx row
    zeroed), repr and state_dict ('weight'). See `F.embedding` for the options."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | torch.Tensor | None = None,
        _freeze: bool = False,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        F._refuse_sparse("nn.Embedding", sparse)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if padding_idx is not None:
            padding_idx = F._padding_index(padding_idx, num_embeddings)
        self.padding_idx = padding_idx
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        if _weight is None:
            # Drawn on the CPU, then moved: a seed gives torch's numbers on any device.
            values = torch.empty((num_embeddings, embedding_dim), dtype=dtype).normal_()
            self.weight = Parameter(values.to(_device(device)), requires_grad=not _freeze)
            self._fill_padding_idx_with_zero()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise AssertionError(  # torch's exception type
                    f"Shape of weight does not match num_embeddings and embedding_dim: got "
                    f"{tuple(_weight.shape)}, expected ({num_embeddings}, {embedding_dim})"
                )
            self.weight = Parameter(_weight, requires_grad=not _freeze)  # shares its memory
        self.sparse = sparse

    def reset_parameters(self) -> None:
        """Draw the weight again from N(0, 1), and zero the padding row."""
        self.weight._data.normal_()
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input: Tensor) -> Tensor:
        return F.embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            text += ", sparse=True"
        return text

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor | torch.Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding whose weight is `embeddings` (2-d, its memory shared, as torch's),
        frozen (no gradient) unless freeze=False. The padding_idx row is kept as given."""
        if embeddings.dim() != 2:
            raise AssertionError(  # torch's exception type
                f"Embeddings parameter is expected to be 2-dimensional, got shape "
                f"{tuple(embeddings.shape)}"
            )
        rows, cols = embeddings.shape
        return cls(
            rows,
            cols,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
            _weight=embeddings,
            _freeze=freeze,
        )


class EmbeddingBag(Module):
    """The sum, mean or max of the embedding rows of each bag of indices, as torch's
    nn.EmbeddingBag (a text classifier's bag of words): weight (num_embeddings,
    embedding_dim), N(0, 1), the padding_idx row zeroed. See `F.embedding_bag`."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Tensor | torch.Tensor | None = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        F._refuse_sparse("nn.EmbeddingBag", sparse)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset = include_last_offset
        self.padding_idx = F._padding_index(padding_idx, num_embeddings)
        if _weight is None:
            # Drawn on the CPU, then moved: a seed gives torch's numbers on any device.
            values = torch.empty((num_embeddings, embedding_dim), dtype=dtype).normal_()
            self.weight = Parameter(values.to(_device(device)))
            if self.padding_idx is not None:
                self.weight._data[self.padding_idx] = 0
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise AssertionError(  # torch's exception type
                    f"Shape of weight does not match num_embeddings and embedding_dim: got "
                    f"{tuple(_weight.shape)}, expected ({num_embeddings}, {embedding_dim})"
                )
            self.weight = Parameter(_weight)  # shares its memory

    def forward(
        self,
        input: Tensor,
        offsets: Tensor | None = None,
        per_sample_weights: Tensor | None = None,
    ) -> Tensor:
        return F.embedding_bag(
            input, self.weight, offsets, self.max_norm, self.norm_type,
            self.scale_grad_by_freq, self.mode, self.sparse, per_sample_weights,
            self.include_last_offset, self.padding_idx,
        )  # fmt: skip

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        text += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text
