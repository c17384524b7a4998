"""Transformer layers, as torch's: `TransformerEncoderLayer` (self-attention, then a two-layer
feed-forward network), `TransformerDecoderLayer` (self-attention, attention over the encoder's
output, then the feed-forward network), the stacks `TransformerEncoder` and
`TransformerDecoder`, and `Transformer`, an encoder and a decoder together ("Attention Is All
You Need").

Each is built from minigrad's own layers (MultiheadAttention, Linear, LayerNorm, Dropout), so
the gradients come from theirs. Parameters have torch's names and are drawn in torch's order,
so `load_state_dict(torch_model.state_dict())` works and a seed gives torch's initial values.
Torch's eval-mode "fast path" (fused kernels, nested tensors) is not here: minigrad always runs
the plain equations, which give the same numbers.

Masks mean what they mean for MultiheadAttention: a bool mask's True marks what may NOT be
attended to; a float mask is added to the attention scores.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import torch

from ..creation import DeviceLike, _device
from ..errors import ShapeError, shape_str
from ..tensor import Tensor
from . import functional as F
from . import init
from .attention import MultiheadAttention
from .dropout import Dropout
from .modules import Linear, Module, ModuleList
from .normalization import LayerNorm

Activation = str | Callable[[Tensor], Tensor]


# ---- shared checks --------------------------------------------------------------------------


def _activation(layer: str, activation: Activation) -> Callable[[Tensor], Tensor]:
    """By name, 'relu' and 'gelu'; any callable (a function, or a layer such as nn.GELU()) as is."""
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if isinstance(activation, str) or not callable(activation):
        raise ValueError(
            f"{layer}: activation must be 'relu', 'gelu' or a callable that takes a tensor "
            f"(such as F.silu), got {activation!r}"
        )
    return activation


def _check_heads(layer: str, d_model: int, nhead: int) -> None:
    if nhead <= 0 or d_model <= 0 or d_model % nhead:
        raise ValueError(
            f"{layer}: d_model ({d_model}) must be divisible by nhead ({nhead}), both at least "
            "1: each of the nhead attention heads takes d_model // nhead of the features."
        )


def _form(length: str, batch_first: bool) -> str:
    """How a sequence is laid out: (S, N, E), or (N, S, E) with batch_first; or (S, E)."""
    return f"({'N, ' + length if batch_first else length + ', N'}, E) or ({length}, E)"


def _check_sequence(
    layer: str, name: str, x: Tensor, length: str, d_model: int, batch_first: bool
) -> tuple[int | None, int]:
    """x is (L, N, E), (N, L, E) with batch_first, or (L, E) unbatched, with E = d_model.
    Returns (N, or None when unbatched, and L)."""
    if x.ndim not in (2, 3) or x.shape[-1] != d_model:
        raise ShapeError(
            f"{layer}: {name} must be {_form(length, batch_first)} unbatched, with "
            f"E = d_model = {d_model} features, got shape {shape_str(x.shape)}"
        )
    if x.ndim == 2:
        return None, x.shape[0]
    return (x.shape[0], x.shape[1]) if batch_first else (x.shape[1], x.shape[0])


def _check_mask(layer: str, name: str, mask: Tensor | None, shapes: dict[str, tuple], x: Tensor):
    """mask is None, or bool or of x's dtype, and of one of the shapes (by their forms)."""
    if mask is None:
        return
    if mask.dtype not in (torch.bool, x.dtype):
        raise TypeError(
            f"{layer}: {name} must be bool (True: may not attend) or of the input's dtype "
            f"({x.dtype}, added to the attention scores), got {mask.dtype}"
        )
    if tuple(mask.shape) not in shapes.values():
        wanted = " or ".join(f"{form} = {shape_str(s)}" for form, s in shapes.items())
        raise ShapeError(f"{layer}: {name} must be {wanted}, got shape {shape_str(mask.shape)}")


def _check_attention(
    layer: str,
    masks: tuple[str, str],
    attn_mask: Tensor | None,
    key_padding_mask: Tensor | None,
    batch: int | None,
    sizes: tuple[tuple[str, int], tuple[str, int]],
    nhead: int,
    x: Tensor,
) -> None:
    """One attention's masks: attn_mask (L, S), or one per example and head (N * nhead, L, S);
    key_padding_mask (N, S), or (S,) unbatched. sizes: (name, size) of L and of S."""
    (l_name, length), (s_name, source) = sizes
    per_head = ("(N * nhead" if batch else "(nhead", (batch or 1) * nhead)
    shapes = {
        f"({l_name}, {s_name})": (length, source),
        f"{per_head[0]}, {l_name}, {s_name})": (per_head[1], length, source),
    }
    _check_mask(layer, masks[0], attn_mask, shapes, x)
    padding = {f"({s_name},)": (source,)} if batch is None else {f"(N, {s_name})": (batch, source)}
    _check_mask(layer, masks[1], key_padding_mask, padding, x)


def _check_causal(layer: str, is_causal: bool | None, mask_name: str, mask: Tensor | None) -> None:
    # is_causal only says that the mask is causal (torch may then skip reading it): the mask
    # is needed all the same, and minigrad always applies it
    if is_causal and mask is None:
        raise ValueError(
            f"{layer}: is_causal=True is a hint that {mask_name} is causal; give {mask_name} "
            "too (Transformer.generate_square_subsequent_mask(length) makes one)"
        )


# ---- layers ---------------------------------------------------------------------------------


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward network (linear1, activation, linear2), each inside a
    residual connection x + block(x) and a LayerNorm: after the sum (norm_first=False, the
    paper's) or before the block (norm_first=True, easier to train deep). Dropout follows the
    attention, the activation and linear2.

    forward(src (S, N, E), or (N, S, E) with batch_first, or (S, E) unbatched; src_mask (S, S)
    or (N * nhead, S, S); src_key_padding_mask (N, S) or (S,)) returns src's shape."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        _check_heads(type(self).__name__, d_model, nhead)
        activation = _activation(type(self).__name__, activation)
        like = {"device": device, "dtype": dtype}
        # created in torch's order, so that a seed draws torch's values
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **like
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **like)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **like)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **like)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **like)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = activation

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        self._check(src, src_mask, src_key_padding_mask, is_causal)
        x = src
        if self.norm_first:  # normalise what each block reads; the residual path stays raw
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:  # normalise each sum
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _check(self, src, src_mask, src_key_padding_mask, is_causal) -> None:
        name, attn = type(self).__name__, self.self_attn
        batch, length = _check_sequence(name, "src", src, "S", attn.embed_dim, attn.batch_first)
        masks, sizes = ("src_mask", "src_key_padding_mask"), (("S", length), ("S", length))
        _check_attention(
            name, masks, src_mask, src_key_padding_mask, batch, sizes, attn.num_heads, src
        )
        _check_causal(name, is_causal, "src_mask", src_mask)

    def _sa_block(
        self, x: Tensor, mask: Tensor | None, key_padding_mask: Tensor | None, is_causal: bool
    ) -> Tensor:
        """Each position attends to the others (need_weights=False: only the output)."""
        x = self.self_attn(
            x, x, x, attn_mask=mask, key_padding_mask=key_padding_mask, need_weights=False,
            is_causal=is_causal,
        )[0]  # fmt: skip
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        """The same two-layer network at each position, on its own."""
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerDecoderLayer(Module):
    """Self-attention over tgt, then attention from tgt to the encoder's output (memory), then
    a feed-forward network, each inside a residual connection and a LayerNorm (norm1, norm2,
    norm3; after each sum, or before each block with norm_first=True), with dropout after each.

    forward(tgt (T, N, E), memory (S, N, E) (N first with batch_first; no N unbatched);
    tgt_mask (T, T) or (N * nhead, T, T); memory_mask (T, S) or (N * nhead, T, S);
    tgt_key_padding_mask (N, T); memory_key_padding_mask (N, S)) returns tgt's shape."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        _check_heads(type(self).__name__, d_model, nhead)
        activation = _activation(type(self).__name__, activation)
        like = {"device": device, "dtype": dtype}
        attention = {"dropout": dropout, "batch_first": batch_first, "bias": bias, **like}
        # created in torch's order, so that a seed draws torch's values
        self.self_attn = MultiheadAttention(d_model, nhead, **attention)
        self.multihead_attn = MultiheadAttention(d_model, nhead, **attention)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **like)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **like)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **like)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **like)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **like)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = activation

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        self._check(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                    memory_key_padding_mask, tgt_is_causal, memory_is_causal)  # fmt: skip
        x = tgt
        if self.norm_first:  # normalise what each block reads; the residual path stays raw
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(
                self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            x = x + self._ff_block(self.norm3(x))
        else:  # normalise each sum
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(
                x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                    memory_is_causal)
            )  # fmt: skip
            x = self.norm3(x + self._ff_block(x))
        return x

    def _check(self, tgt, memory, tgt_mask, memory_mask, tgt_kpm, memory_kpm,
               tgt_is_causal, memory_is_causal) -> None:  # fmt: skip
        name, attn = type(self).__name__, self.self_attn
        e, first = attn.embed_dim, attn.batch_first
        batch, length = _check_sequence(name, "tgt", tgt, "T", e, first)
        memory_batch, source = _check_sequence(name, "memory", memory, "S", e, first)
        if memory.ndim != tgt.ndim or memory_batch != batch:
            raise ShapeError(
                f"{name}: memory must have tgt's batch size (both batched or both not), got "
                f"tgt {shape_str(tgt.shape)} and memory {shape_str(memory.shape)} "
                f"({'(N, length, E)' if first else '(length, N, E)'})"
            )
        heads = attn.num_heads
        masks = ("tgt_mask", "tgt_key_padding_mask")
        sizes = (("T", length), ("T", length))
        _check_attention(name, masks, tgt_mask, tgt_kpm, batch, sizes, heads, tgt)
        masks = ("memory_mask", "memory_key_padding_mask")
        sizes = (("T", length), ("S", source))
        _check_attention(name, masks, memory_mask, memory_kpm, batch, sizes, heads, tgt)
        _check_causal(name, tgt_is_causal, "tgt_mask", tgt_mask)
        _check_causal(name, memory_is_causal, "memory_mask", memory_mask)

    def _sa_block(
        self, x: Tensor, mask: Tensor | None, key_padding_mask: Tensor | None, is_causal: bool
    ) -> Tensor:
        """Each target position attends to the target positions (those the mask allows)."""
        x = self.self_attn(
            x, x, x, attn_mask=mask, key_padding_mask=key_padding_mask, need_weights=False,
            is_causal=is_causal,
        )[0]  # fmt: skip
        return self.dropout1(x)

    def _mha_block(
        self,
        x: Tensor,
        memory: Tensor,
        mask: Tensor | None,
        key_padding_mask: Tensor | None,
        is_causal: bool,
    ) -> Tensor:
        """Each target position asks (query) the encoder's output (keys and values)."""
        x = self.multihead_attn(
            x, memory, memory, attn_mask=mask, key_padding_mask=key_padding_mask,
            need_weights=False, is_causal=is_causal,
        )[0]  # fmt: skip
        return self.dropout2(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        """The same two-layer network at each position, on its own."""
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)


# ---- stacks ---------------------------------------------------------------------------------


def _clones(layer: Module, num_layers: int) -> ModuleList:
    # copies, not the layer itself: each starts with the layer's values, then learns its own
    return ModuleList(copy.deepcopy(layer) for _ in range(num_layers))


class TransformerEncoder(Module):
    """num_layers copies of encoder_layer (layers.0, layers.1, ..., all starting with the same
    values, as torch's), run in turn, then `norm` (a LayerNorm, say) if given.

    enable_nested_tensor and mask_check choose torch's fast path; minigrad, which has none,
    keeps them only so that torch's calls work."""

    def __init__(
        self,
        encoder_layer: TransformerEncoderLayer,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        output = src
        for layer in self.layers:
            output = layer(output, mask, src_key_padding_mask, is_causal=bool(is_causal))
        return output if self.norm is None else self.norm(output)


class TransformerDecoder(Module):
    """num_layers copies of decoder_layer run in turn, each reading the same memory (the
    encoder's output), then `norm` if given."""

    def __init__(
        self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None
    ) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        output = tgt
        for layer in self.layers:
            output = layer(
                output, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                memory_key_padding_mask, bool(tgt_is_causal), memory_is_causal,
            )  # fmt: skip
        return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """An encoder (num_encoder_layers TransformerEncoderLayers, then a LayerNorm) reads src;
    a decoder (num_decoder_layers TransformerDecoderLayers, then a LayerNorm) reads tgt and the
    encoder's output. custom_encoder and custom_decoder replace either. Every parameter of
    more than one dim is then redrawn xavier-uniform, as torch's (in the same order: a seed
    gives torch's values).

    forward(src (S, N, E), tgt (T, N, E), ...) (N first with batch_first; no N unbatched)
    returns (T, N, E); the masks are the encoder's and decoder's, named src_, tgt_, memory_."""

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = F.relu,
        custom_encoder: Any | None = None,
        custom_decoder: Any | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        like = {"device": device, "dtype": dtype}
        layer_options = (dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                         norm_first, bias)  # fmt: skip
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, *layer_options, **like)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **like)
            self.encoder = TransformerEncoder(layer, num_encoder_layers, norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, *layer_options, **like)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **like)
            self.decoder = TransformerDecoder(layer, num_decoder_layers, norm)
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def _reset_parameters(self) -> None:
        # the copies made by the stacks start alike; this gives each its own weights
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        batch = 0 if self.batch_first else 1
        if src.ndim != tgt.ndim or (src.ndim == 3 and src.shape[batch] != tgt.shape[batch]):
            raise ShapeError(
                f"Transformer: src and tgt must have the same batch size (dim {batch}, both "
                f"batched or both not), got shapes {shape_str(src.shape)} and "
                f"{shape_str(tgt.shape)}"
            )
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ShapeError(
                f"Transformer: src and tgt must have d_model = {self.d_model} features (their "
                f"last dim), got shapes {shape_str(src.shape)} and {shape_str(tgt.shape)}"
            )
        memory = self.encoder(src, src_mask, src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(
            tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal,
        )  # fmt: skip

    @staticmethod
    def generate_square_subsequent_mask(
        sz: int, device: DeviceLike = None, dtype: torch.dtype | None = None
    ) -> Tensor:
        """The causal mask (sz, sz): 0 on and below the diagonal, -inf above, so that
        position i attends to positions 0..i only (a float mask, added to the scores)."""
        full = torch.full((sz, sz), -math.inf, dtype=dtype, device=_device(device))
        return Tensor(full.triu(1))
