"""Scaled dot-product attention and multi-head attention, as built in notebooks 04 and 05.

Mask convention (the same as ``torch.nn.functional.scaled_dot_product_attention`` with a boolean mask):
``True`` means "may attend", ``False`` means "blocked". A mask broadcasts against the scores, shaped
``(..., T_q, T_k)``. ``causal_mask(T)`` and ``padding_mask(lengths, T)`` build the two common ones.
(``torch.nn.MultiheadAttention`` uses the opposite convention: there ``True`` means blocked.)
"""

from __future__ import annotations

import math

import torch
from torch import nn


def causal_mask(T: int, device=None, past: int = 0) -> torch.Tensor:
    """(T, past + T) boolean mask: query i, at position past + i, may attend to keys 0..past + i.

    ``past`` = 0 (the default) is the square (T, T) mask; ``past`` > 0 serves T new tokens that follow ``past``
    cached ones (a KV cache): every cached key is visible to every new query.
    """
    return torch.ones(T, past + T, dtype=torch.bool, device=device).tril(diagonal=past)


def padding_mask(lengths, T: int) -> torch.Tensor:
    """(B, 1, 1, T) boolean mask from the true lengths of B padded sequences: keys past a length are blocked."""
    lengths = torch.as_tensor(lengths)
    if lengths.ndim != 1:
        raise ValueError(f"lengths must be a 1-D list of sequence lengths, got shape {tuple(lengths.shape)}")
    if (lengths < 1).any() or (lengths > T).any():
        raise ValueError(f"every length must lie in 1..{T}, got {lengths.tolist()}")
    keep = torch.arange(T)[None, :] < lengths[:, None]  # (B, T)
    return keep[:, None, None, :]


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None, scale: float | None = None,
                                 temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q k^T * scale / temperature) v, and the attention weights.

    q: (..., T_q, d_k), k: (..., T_k, d_k), v: (..., T_k, d_v); mask: boolean, broadcastable to (..., T_q, T_k),
    True = may attend. ``scale`` defaults to 1 / sqrt(d_k). Returns (output (..., T_q, d_v), weights (..., T_q, T_k)).
    A query whose keys are all blocked gets zero weights (not NaN).
    """
    if q.ndim < 2 or k.ndim != q.ndim or v.ndim != q.ndim:
        raise ValueError(f"q, k, v must have the same number (>= 2) of dimensions, got shapes "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must have the same last dimension d_k, got {q.shape[-1]} and {k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same number of positions, got {k.shape[-2]} and {v.shape[-2]}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ k.transpose(-2, -1) * (scale / temperature)  # (..., T_q, T_k)
    if mask is not None:
        if mask.dtype != torch.bool:
            raise TypeError(f"mask must be boolean (True = may attend), got {mask.dtype}")
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    weights = torch.nan_to_num(weights, nan=0.0)  # rows with every key blocked
    return weights @ v, weights


class MultiHeadAttention(nn.Module):
    """Multi-head attention: project to n_head heads of d_model / n_head, attend in each, merge, project.

    forward(x, kv=None, mask=None) -> (out, weights): x is (B, T_q, d_model); kv (B, T_k, d_model) defaults to x
    (self-attention); mask is boolean, broadcastable to (B, n_head, T_q, T_k). out is (B, T_q, d_model) and
    weights (B, n_head, T_q, T_k).
    """

    def __init__(self, d_model: int, n_head: int, bias: bool = True):
        super().__init__()
        if d_model % n_head:
            raise ValueError(f"d_model={d_model} must be divisible by n_head={n_head}")
        self.d_model, self.n_head, self.d_head = d_model, n_head, d_model // n_head
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, d_model) -> (B, n_head, T, d_head)."""
        B, T, _ = x.shape
        return x.view(B, T, self.n_head, self.d_head).transpose(1, 2)

    def merge_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, n_head, T, d_head) -> (B, T, d_model)."""
        B, _, T, _ = x.shape
        return x.transpose(1, 2).reshape(B, T, self.d_model)

    def forward(self, x: torch.Tensor, kv: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            raise ValueError(f"x must be (B, T, {self.d_model}), got {tuple(x.shape)}")
        kv = x if kv is None else kv
        if kv.ndim != 3 or kv.shape[0] != x.shape[0] or kv.shape[-1] != self.d_model:
            raise ValueError(f"kv must be (B={x.shape[0]}, T_k, {self.d_model}), got {tuple(kv.shape)}")
        q = self.split_heads(self.q_proj(x))  # (B, h, T_q, d_head)
        k = self.split_heads(self.k_proj(kv))  # (B, h, T_k, d_head)
        v = self.split_heads(self.v_proj(kv))  # (B, h, T_k, d_head)
        out, weights = scaled_dot_product_attention(q, k, v, mask)
        return self.out_proj(self.merge_heads(out)), weights
