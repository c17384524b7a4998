"""`MultiheadAttention`: num_heads attentions side by side, each over its own slice of learnt
projections of query, key and value, their outputs joined and projected again, as torch's."""

from __future__ import annotations

import math
import warnings

import torch

from ..creation import DeviceLike, _device, cat
from ..errors import ShapeError, shape_str
from ..tensor import Tensor
from . import functional as F
from . import init
from .modules import Linear, Module, Parameter


class MultiheadAttention(Module):
    """Multi-head attention with torch's parameters: in_proj_weight (3E, E) stacks the query,
    key and value projections (q_proj_weight (E, E), k_proj_weight (E, kdim), v_proj_weight
    (E, vdim) instead when kdim or vdim differ from E), in_proj_bias (3E), out_proj a Linear
    (E, E), bias_k and bias_v (1, 1, E) with add_bias_kv. Initialised as torch's (xavier
    uniform projections, zero biases, xavier normal bias_k and bias_v), drawing in torch's order,
    so a seed gives torch's values.

    forward(query (L, N, E), key (S, N, kdim), value (S, N, vdim)) (N first with batch_first;
    no N for one unbatched example) returns (output (L, N, E), weights (N, L, S) averaged over
    heads, or (N, H, L, S), or None with need_weights=False). key_padding_mask (N, S) and a bool
    attn_mask (L, S) or (N * H, L, S) mark with True what may NOT be attended to (the opposite of
    F.scaled_dot_product_attention's bool mask); float masks are added to the scores."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: DeviceLike = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} "
                f"and num_heads={num_heads} instead"
            )
        if embed_dim % num_heads:
            raise ValueError(
                f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads}): each "
                "head takes embed_dim // num_heads of the features."
            )
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim, self.batch_first = embed_dim // num_heads, batch_first
        self.add_zero_attn = add_zero_attn

        def empty(*shape: int) -> Parameter:
            return Parameter(torch.empty(shape, dtype=dtype, device=_device(device)))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty(3 * embed_dim, embed_dim)
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.in_proj_weight = None
            self.q_proj_weight = empty(embed_dim, embed_dim)
            self.k_proj_weight = empty(embed_dim, self.kdim)
            self.v_proj_weight = empty(embed_dim, self.vdim)
        self.in_proj_bias = empty(3 * embed_dim) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k, self.bias_v = empty(1, 1, embed_dim), empty(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # torch's order of draws, after out_proj's own (Linear's): a seed gives its values
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        batched = query.ndim == 3
        self._check_inputs(query, key, value, batched)
        if is_causal and attn_mask is None:
            raise ValueError(
                "MultiheadAttention: is_causal=True is a hint that attn_mask is causal; give "
                "that attn_mask too (for example, ones(L, L, dtype=bool).triu(1))."
            )
        if self.batch_first and batched:  # to (length, batch, features) inside
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if not batched:  # a batch of one
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        length, batch, embed = query.shape
        heads, head_dim = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value)
        if key_padding_mask is not None and attn_mask is not None:
            if (key_padding_mask.dtype == torch.bool) != (attn_mask.dtype == torch.bool):
                warnings.warn(
                    "MultiheadAttention: a key_padding_mask and an attn_mask of different kinds "
                    "(one bool, one float) are taken, as torch takes them for now, but torch "
                    "means to refuse them: give both as bool, or both as float.",
                    UserWarning,
                    stacklevel=2,
                )
        kpm = _additive("key_padding_mask", key_padding_mask, q.dtype)
        mask = _additive("attn_mask", attn_mask, q.dtype)
        if self.bias_k is not None:  # one more key and value, learnt, that every query sees
            k = cat([k, self.bias_k.expand(1, batch, embed)])
            v = cat([v, self.bias_v.expand(1, batch, embed)])
            kpm, mask = _one_more_key(kpm), _one_more_key(mask)
        # (length, batch, E) -> (batch * heads, length, head_dim): one attention per (n, h)
        q, k, v = (
            t.reshape(t.shape[0], batch * heads, head_dim).transpose(0, 1) for t in (q, k, v)
        )
        if self.add_zero_attn:  # one more key and value of zeros
            zeros = Tensor(torch.zeros(batch * heads, 1, head_dim, dtype=k.dtype, device=k.device))
            k, v = cat([k, zeros], dim=1), cat([v, zeros], dim=1)
            kpm, mask = _one_more_key(kpm), _one_more_key(mask)
        source = k.shape[1]
        self._check_masks(kpm, mask, batch, length, source)
        if mask is not None and mask.ndim == 2:
            mask = mask.unsqueeze(0)
        if kpm is not None:  # (batch, S) -> (batch * heads, 1, S), added to attn_mask
            kpm = kpm.reshape(batch, 1, 1, source).expand(batch, heads, 1, source)
            kpm = kpm.reshape(batch * heads, 1, source)
            mask = kpm if mask is None else mask + kpm
        dropout_p = self.dropout if self.training else 0.0
        if need_weights:
            # the weights as they are, a query that sees no key giving NaN, as torch's
            scores = (q * (1 / math.sqrt(head_dim))).matmul(k.transpose(1, 2))
            weights = (scores if mask is None else scores + mask).softmax(-1)
            if dropout_p > 0:  # the weights returned are the dropped ones, as torch's
                weights = F.dropout(weights, dropout_p)
            out = weights.matmul(v)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p)
        out = out.transpose(0, 1).reshape(length * batch, embed)
        out = self.out_proj(out).reshape(length, batch, embed)
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(1)
        if not need_weights:
            return out, None
        weights = weights.reshape(batch, heads, length, source)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        return out, weights if batched else weights.squeeze(0)

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, ...]:
        """query, key and value times their projections (and biases)."""
        if self._qkv_same_embed_dim:
            weights = self.in_proj_weight.chunk(3)
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        biases = self.in_proj_bias.chunk(3) if self.in_proj_bias is not None else (None,) * 3
        return tuple(
            F.linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases, strict=True)
        )

    def _check_inputs(self, query: Tensor, key: Tensor, value: Tensor, batched: bool) -> None:
        dims = 3 if batched else 2
        form = ("(N, L, E)" if self.batch_first else "(L, N, E)") if batched else "(L, E)"
        if query.ndim not in (2, 3) or key.ndim != dims or value.ndim != dims:
            raise ShapeError(
                f"MultiheadAttention: query, key and value must all be 3-d, {form}, or all 2-d "
                f"(unbatched), got shapes {shape_str(query.shape)}, {shape_str(key.shape)} and "
                f"{shape_str(value.shape)}."
            )
        wanted = (("query", query, self.embed_dim), ("key", key, self.kdim))
        for name, t, features in (*wanted, ("value", value, self.vdim)):
            if t.shape[-1] != features:
                raise ShapeError(
                    f"MultiheadAttention: {name} must have {features} features (its last dim), "
                    f"got shape {shape_str(t.shape)}."
                )
        if key.shape[:-1] != value.shape[:-1]:
            raise ShapeError(
                f"MultiheadAttention: key and value must have the same length and batch, got "
                f"shapes {shape_str(key.shape)} and {shape_str(value.shape)}."
            )
        if batched and query.shape[1 - self.batch_first] != key.shape[1 - self.batch_first]:
            raise ShapeError(
                f"MultiheadAttention: query and key must have the same batch size, got shapes "
                f"{shape_str(query.shape)} and {shape_str(key.shape)} ({form})."
            )

    def _check_masks(
        self, kpm: Tensor | None, mask: Tensor | None, batch: int, length: int, source: int
    ) -> None:
        if kpm is not None and tuple(kpm.shape) != (batch, source):
            raise ShapeError(
                f"MultiheadAttention: key_padding_mask must be (N, S) = ({batch}, {source}) "
                f"(or (S,) unbatched), got shape {shape_str(kpm.shape)}."
            )
        expected = ((length, source), (batch * self.num_heads, length, source))
        if mask is not None and tuple(mask.shape) not in expected:
            raise ShapeError(
                f"MultiheadAttention: attn_mask must be (L, S) = {expected[0]} or "
                f"(N * num_heads, L, S) = {expected[1]}, got shape {shape_str(mask.shape)}."
            )


def _additive(name: str, mask: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    """A mask to add to the scores: a bool one's True (do not attend) as -inf, a float one as it
    is."""
    if mask is None:
        return None
    if mask.dtype == torch.bool:
        zeros = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
        return Tensor(zeros.masked_fill_(mask._data, -math.inf))
    if mask.dtype != dtype:
        raise TypeError(
            f"MultiheadAttention: {name} must be bool or of the inputs' dtype ({dtype}), got "
            f"{mask.dtype}."
        )
    return mask


def _one_more_key(mask: Tensor | None) -> Tensor | None:
    """mask with one more key (last dim), that may be attended to."""
    return None if mask is None else F.pad(mask, (0, 1))
