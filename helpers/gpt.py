"""A decoder-only Transformer with the GPT-2 architecture, small enough for a laptop.

Token and learned position embeddings, pre-LayerNorm blocks (LayerNorm -> causal
self-attention -> residual, LayerNorm -> GELU MLP -> residual), a final LayerNorm and
an output layer tied to the token embedding. ``n_kv_head`` (default: ``n_head``) sets
how many key/value heads the query heads share: equal is multi-head attention,
1 is multi-query, in between is grouped-query attention.

>>> model = GPT(GPTConfig(vocab_size=2048, n_layer=4, n_head=4, n_embd=128, block_size=64))
>>> logits, loss = model(idx, targets)                         # idx: (B, T) token ids
>>> logits, loss, attn = model(idx, return_attention=True)     # attn: n_layer x (B, n_head, T, T)
>>> cache = KVCache()                                          # generation: keys and values kept
>>> logits, _ = model(prompt_ids, cache=cache)                 # reads the prompt, fills the cache
>>> logits, _ = model(next_id, cache=cache)                    # (B, 1): only the new token is computed

``to_hf`` / ``from_hf`` convert to and from Hugging Face's ``GPT2LMHeadModel``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from helpers.attention import causal_mask


@dataclass
class GPTConfig:
    vocab_size: int = 2048
    block_size: int = 128  # longest context the model can see (learned positions)
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    n_kv_head: int | None = None  # None: same as n_head (multi-head attention)
    dropout: float = 0.0
    bias: bool = True  # GPT-2 has biases in Linear and LayerNorm layers

    def __post_init__(self):
        if self.n_kv_head is None:
            self.n_kv_head = self.n_head
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.n_head % self.n_kv_head:
            raise ValueError(f"n_head ({self.n_head}) must be divisible by n_kv_head ({self.n_kv_head})")
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "n_kv_head"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)


class KVCache:
    """The keys and values of the tokens already read, per layer: what generation keeps instead of recomputing.

    ``k[i]`` and ``v[i]`` are (B, n_kv_head, T, head_dim) for layer i (None before the first call). They hold
    ``n_kv_head`` heads, not ``n_head``: the cache of multi-query attention is n_head times smaller than that of
    multi-head attention. Pass the same cache to successive ``model(idx, cache=cache)`` calls; each call appends.
    """

    def __init__(self):
        self.k: list[torch.Tensor | None] = []
        self.v: list[torch.Tensor | None] = []

    def __len__(self) -> int:
        """How many tokens (positions) are cached."""
        return self.cached(0)

    def cached(self, layer: int) -> int:
        """How many tokens are cached for ``layer`` (0 before its first call)."""
        return 0 if layer >= len(self.k) or self.k[layer] is None else self.k[layer].shape[2]

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Add the new tokens' k, v (B, n_kv_head, T_new, hd) for ``layer``; return all of them (B, n_kv_head, T, hd)."""
        while len(self.k) <= layer:
            self.k.append(None)
            self.v.append(None)
        if self.k[layer] is not None:
            k = torch.cat([self.k[layer], k], dim=2)
            v = torch.cat([self.v[layer], v], dim=2)
        self.k[layer], self.v[layer] = k, v
        return k, v

    def clear(self) -> None:
        """Forget every cached token."""
        self.k, self.v = [], []

    def reorder(self, index: torch.Tensor | list[int]) -> None:
        """Keep the rows ``index`` of the batch, in that order (beam search: the surviving beams' parents)."""
        index = torch.as_tensor(index, dtype=torch.long)
        self.k = [None if t is None else t[index.to(t.device)] for t in self.k]
        self.v = [None if t is None else t[index.to(t.device)] for t in self.v]

    def nbytes(self) -> int:
        """Memory held by the cached keys and values, in bytes."""
        return sum(t.numel() * t.element_size() for t in self.k + self.v if t is not None)


def kv_cache_bytes(cfg: GPTConfig, seq_len: int, batch: int = 1, bytes_per_value: int = 4) -> int:
    """Size of a full KV cache: 2 (keys and values) x n_layer x n_kv_head x head_dim x seq_len x batch x bytes."""
    return 2 * cfg.n_layer * cfg.n_kv_head * cfg.head_dim * seq_len * batch * bytes_per_value


class CausalSelfAttention(nn.Module):
    """Masked multi-head self-attention; key/value heads may be shared (``n_kv_head``)."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head, self.n_kv_head, self.head_dim = cfg.n_head, cfg.n_kv_head, cfg.head_dim
        # one matrix makes queries, keys and values: (C) -> (n_head + 2 * n_kv_head) * head_dim
        self.c_attn = nn.Linear(cfg.n_embd, (cfg.n_head + 2 * cfg.n_kv_head) * cfg.head_dim, bias=cfg.bias)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.attn_dropout = nn.Dropout(cfg.dropout)
        self.resid_dropout = nn.Dropout(cfg.dropout)
        self.dropout = cfg.dropout

    def forward(self, x: torch.Tensor, return_attention: bool = False, cache: KVCache | None = None,
                layer: int = 0):
        """x (B, T, C) -> (B, T, C) and the attention weights (B, nh, T, T_keys) or None.

        With a ``cache``, x holds only the new tokens: their keys and values are appended to ``cache`` (slot
        ``layer``) and their queries attend to every cached position plus the new ones up to themselves.
        """
        B, T, C = x.shape
        hd, nh, nkv = self.head_dim, self.n_head, self.n_kv_head
        q, k, v = self.c_attn(x).split([nh * hd, nkv * hd, nkv * hd], dim=2)
        q = q.view(B, T, nh, hd).transpose(1, 2)  # (B, nh, T, hd)
        k = k.view(B, T, nkv, hd).transpose(1, 2)  # (B, nkv, T, hd)
        v = v.view(B, T, nkv, hd).transpose(1, 2)  # (B, nkv, T, hd)
        past = 0
        if cache is not None:  # keys and values of earlier tokens come from the cache
            past = cache.cached(layer)
            k, v = cache.append(layer, k, v)  # (B, nkv, past + T, hd)
        if nkv != nh:  # each key/value head serves nh // nkv query heads
            k = k.repeat_interleave(nh // nkv, dim=1)  # (B, nh, T_keys, hd)
            v = v.repeat_interleave(nh // nkv, dim=1)
        att = None
        if return_attention:  # the plain path: softmax(q k^T / sqrt(hd)) v, weights kept
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(hd)  # (B, nh, T, T_keys)
            scores = scores.masked_fill(~causal_mask(T, x.device, past), float("-inf"))
            att = scores.softmax(dim=-1)
            y = self.attn_dropout(att) @ v  # (B, nh, T, hd)
        else:  # the fused path (flash / memory-efficient kernels where available)
            # without a cache the kernel applies the causal mask itself; one new token may see every cached key
            mask = causal_mask(T, x.device, past) if past and T > 1 else None
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=not past and T > 1,
                                               dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C): heads side by side again
        return self.resid_dropout(self.c_proj(y)), att


class MLP(nn.Module):
    """Position-wise feed-forward: C -> 4C -> GELU (GPT-2's tanh approximation) -> C."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x), approximate="tanh")))


class Block(nn.Module):
    """Pre-LN Transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, return_attention: bool = False, cache: KVCache | None = None,
                layer: int = 0):
        a, att = self.attn(self.ln_1(x), return_attention, cache, layer)
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return x, att


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)  # token embedding
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)  # learned position embedding
        self.drop = nn.Dropout(cfg.dropout)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying: one matrix reads and writes tokens
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2: scale residual projections by depth
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_parameters(self, non_embedding: bool = False) -> int:
        """Parameters, counting the tied embedding once; ``non_embedding`` leaves out both embeddings."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.wte.weight.numel() - self.wpe.weight.numel() if non_embedding else n

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, return_attention: bool = False,
                cache: KVCache | None = None):
        """idx (B, T) token ids -> logits (B, T, vocab); loss (mean cross-entropy) if targets (B, T) are given.

        With ``return_attention=True`` also returns a list (one per layer) of (B, n_head, T, T_keys) weights.
        With a ``cache`` (a ``KVCache``), idx holds only the tokens that follow the cached ones: they get the
        positions len(cache) .. len(cache) + T - 1, their keys and values are appended to the cache, and the
        logits equal those of the whole sequence read at once (for these positions).
        """
        if idx.dim() != 2:
            raise ValueError(f"idx must be (batch, time) token ids, got shape {tuple(idx.shape)}")
        B, T = idx.shape
        past = 0 if cache is None else len(cache)
        if past + T > self.config.block_size:
            where = f"{past} cached + {T} new tokens" if past else f"sequence length {T}"
            raise ValueError(f"{where} exceeds the context window (block_size {self.config.block_size})"
                             + ("; start a new KVCache from the last block_size tokens" if past else ""))
        if cache is not None and past and cache.k[0].shape[0] != B:
            raise ValueError(f"the cache holds a batch of {cache.k[0].shape[0]} sequences but idx has {B} rows")
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= self.config.vocab_size):
            raise ValueError(f"token ids must lie in [0, {self.config.vocab_size}), got {int(idx.min())}..{int(idx.max())}")
        pos = torch.arange(past, past + T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C)
        attentions = []
        for i, block in enumerate(self.h):
            x, att = block(x, return_attention, cache, i)
            attentions.append(att)
        logits = self.lm_head(self.ln_f(x))  # (B, T, vocab)
        loss = None
        if targets is not None:
            if targets.shape != idx.shape:
                raise ValueError(f"targets shape {tuple(targets.shape)} must equal idx shape {tuple(idx.shape)}")
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))
        if return_attention:
            return logits, loss, attentions
        return logits, loss


# ----- Hugging Face conversion -------------------------------------------------------------------
# GPT-2 in transformers keeps its linear layers as Conv1D with weights stored (in, out):
# the transpose of nn.Linear's (out, in).
_TRANSPOSED = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def hf_config(cfg: GPTConfig):
    """The ``transformers.GPT2Config`` with the same architecture (MHA with biases only)."""
    from transformers import GPT2Config

    if cfg.n_kv_head != cfg.n_head or not cfg.bias:
        raise ValueError("Hugging Face GPT-2 has multi-head attention with biases: needs n_kv_head == n_head and bias=True")
    return GPT2Config(vocab_size=cfg.vocab_size, n_positions=cfg.block_size, n_embd=cfg.n_embd,
                      n_layer=cfg.n_layer, n_head=cfg.n_head, activation_function="gelu_new",
                      resid_pdrop=cfg.dropout, embd_pdrop=cfg.dropout, attn_pdrop=cfg.dropout,
                      layer_norm_epsilon=1e-5, tie_word_embeddings=True,
                      bos_token_id=cfg.vocab_size - 1, eos_token_id=cfg.vocab_size - 1)


def to_hf(model: GPT):
    """Copy a course GPT into a new ``transformers.GPT2LMHeadModel`` (same logits)."""
    from transformers import GPT2LMHeadModel

    hf = GPT2LMHeadModel(hf_config(model.config))
    ours = model.state_dict()
    new = {}
    for name, tensor in ours.items():
        if name == "lm_head.weight":
            continue
        key = "transformer." + name
        new[key] = tensor.t() if name.endswith(_TRANSPOSED) else tensor
    missing, unexpected = hf.load_state_dict(new, strict=False)
    missing = [k for k in missing if k != "lm_head.weight" and not k.endswith(".attn.bias") and not k.endswith("masked_bias")]
    if missing or unexpected:
        raise RuntimeError(f"weight copy to Hugging Face failed: missing {missing}, unexpected {unexpected}")
    hf.tie_weights()
    return hf.eval()


def from_hf(hf) -> GPT:
    """Copy a ``transformers.GPT2LMHeadModel`` into a course GPT (same logits)."""
    c = hf.config
    cfg = GPTConfig(vocab_size=c.vocab_size, block_size=c.n_positions, n_layer=c.n_layer, n_head=c.n_head,
                    n_embd=c.n_embd, dropout=0.0, bias=True)
    model = GPT(cfg)
    state = {}
    for key, tensor in hf.state_dict().items():
        if not key.startswith("transformer.") or key.endswith((".attn.bias", ".attn.masked_bias")):
            continue
        name = key.removeprefix("transformer.")
        state[name] = tensor.t() if name.endswith(_TRANSPOSED) else tensor
    state["lm_head.weight"] = state["wte.weight"]
    model.load_state_dict(state)
    return model.eval()
