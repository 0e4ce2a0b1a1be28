"""A Llama-style decoder in plain PyTorch (Touvron et al. 2023), the architecture of SmolLM2 (notebook 14).

The course GPT (``helpers.gpt``) is GPT-2's recipe. Llama keeps its skeleton (token embedding, a stack of pre-norm
blocks with a residual stream, a final norm, an output layer) and changes four parts:

- **RMSNorm** instead of LayerNorm: divide by the root mean square of the features, times a learned gain; no mean
  subtraction, no bias (Zhang & Sennrich 2019).
- **Rotary position embeddings** (RoPE, 回転位置埋め込み; Su et al. 2021) instead of learned positions: no position
  vector is added; the queries and keys of each head are rotated, pair of features by pair, by angles
  proportional to the token's position, so that q . k depends on the positions only through their offset.
- **SwiGLU** feed-forward (Shazeer 2020): down(silu(gate(x)) * up(x)), three matrices instead of two.
- **Grouped-query attention** (Ainslie et al. 2023): ``n_head`` query heads share ``n_kv_head`` key/value heads
  (SmolLM2-135M: 9 and 3), which shrinks the KV cache; no biases anywhere.

>>> model = Llama(LlamaConfig(vocab_size=256, n_layer=2, n_head=4, n_kv_head=2, n_embd=64, d_ff=128))
>>> logits, loss = model(idx, targets)                 # idx: (B, T) token ids, the course GPT's interface
>>> cache = KVCache(); logits, _ = model(prompt, cache=cache); logits, _ = model(next_id, cache=cache)

``from_hf`` turns Hugging Face's ``LlamaForCausalLM`` into this model (the same tensors, no copy);
``parameter_count`` is the size by formula. The weights of SmolLM2 are loaded by ``helpers.smollm2``.
RoPE uses Hugging Face's layout ("rotate half": feature i is paired with feature i + head_dim / 2), not the
paper's adjacent pairs (2i, 2i + 1); the two differ by a fixed permutation of each head's features, which the
converted weights already contain, so the model computes the same function.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from helpers import param_count
from helpers.attention import causal_mask
from helpers.gpt import KVCache


@dataclass
class LlamaConfig:
    """The architecture. Defaults are SmolLM2-135M's (``config.json`` of HuggingFaceTB/SmolLM2-135M)."""

    vocab_size: int = 49152
    block_size: int = 8192  # the context window (max_position_embeddings); named as in the course GPT
    n_layer: int = 30
    n_head: int = 9
    n_kv_head: int = 3
    n_embd: int = 576
    d_ff: int = 1536  # width of the SwiGLU feed-forward (intermediate_size)
    rope_base: float = 100000.0  # theta: the slowest pair turns once every 2 pi * base**(1 - 2 / head_dim) tokens
    norm_eps: float = 1e-5
    tie_embeddings: bool = True  # output layer = token embedding (入出力埋め込みの重み共有)

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_kv_head", "n_embd", "d_ff"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.n_head % self.n_kv_head:
            raise ValueError(f"n_head ({self.n_head}) must be divisible by n_kv_head ({self.n_kv_head})")
        if self.head_dim % 2:
            raise ValueError(f"RoPE rotates pairs of features: head_dim ({self.head_dim}) must be even")
        if not self.rope_base > 1 or not self.norm_eps > 0:
            raise ValueError(f"rope_base must be > 1 and norm_eps > 0, got {self.rope_base} and {self.norm_eps}")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def as_dict(self) -> dict:
        return asdict(self)


def config_from_dict(config: dict) -> LlamaConfig:
    """The ``LlamaConfig`` of a Hugging Face Llama ``config.json`` (as a dict; transformers 4.45 and 5.x keys)."""
    rope = config.get("rope_parameters") or {}
    theta = rope.get("rope_theta", config.get("rope_theta", 10000.0))
    if rope.get("rope_type", "default") != "default" or config.get("rope_scaling"):
        raise ValueError(f"only plain RoPE is implemented; this config scales it: {rope or config['rope_scaling']}")
    if config.get("attention_bias") or config.get("mlp_bias"):
        raise ValueError("this Llama has biases; the course model has none (as Llama and SmolLM2)")
    if config.get("hidden_act", "silu") != "silu":
        raise ValueError(f"the feed-forward must be SwiGLU (silu), got {config['hidden_act']}")
    width, n_head = config["hidden_size"], config["num_attention_heads"]
    if (config.get("head_dim") or width // n_head) * n_head != width:
        raise ValueError("head_dim x n_head must equal the width (as in SmolLM2)")
    return LlamaConfig(vocab_size=config["vocab_size"], block_size=config["max_position_embeddings"],
                       n_layer=config["num_hidden_layers"], n_head=n_head,
                       n_kv_head=config.get("num_key_value_heads") or n_head, n_embd=width,
                       d_ff=config["intermediate_size"], rope_base=float(theta),
                       norm_eps=float(config.get("rms_norm_eps", 1e-6)),
                       tie_embeddings=bool(config.get("tie_word_embeddings", False)))


def config_from_hf(hf_config) -> LlamaConfig:
    """The ``LlamaConfig`` of a Hugging Face ``transformers.LlamaConfig`` object."""
    return config_from_dict(hf_config.to_dict())


# ----- the parts --------------------------------------------------------------------------------------------
class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * gain, over the last dimension (computed in float32, as Llama does)."""

    def __init__(self, d: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps)  # (..., d) unit root mean square
        return self.weight * x.to(dtype)


def rope_frequencies(head_dim: int, base: float = 10000.0) -> torch.Tensor:
    """The rotation speed of each feature pair: theta_i = base^(-2i / head_dim), i = 0 .. head_dim/2 - 1 (radians
    per position). Pair 0 turns one radian per token; the last pair almost not at all."""
    if head_dim < 2 or head_dim % 2:
        raise ValueError(f"head_dim must be even and >= 2, got {head_dim}")
    return 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))  # (head_dim / 2,)


def rope_cos_sin(positions: torch.Tensor, head_dim: int, base: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the angles position x theta_i, each (T, head_dim): the half-split layout, so feature i and
    feature i + head_dim/2 share the angle of pair i."""
    angles = positions.float()[:, None] * rope_frequencies(head_dim, base).to(positions.device)[None, :]  # (T, hd/2)
    angles = torch.cat([angles, angles], dim=-1)  # (T, hd)
    return angles.cos(), angles.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(x1, x2) -> (-x2, x1) on the two halves of the last dimension: a 90-degree turn of every pair."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each pair (x_i, x_{i + hd/2}) of ``x`` (..., T, hd) by its angle: x cos + rotate_half(x) sin."""
    return x * cos + rotate_half(x) * sin


class Attention(nn.Module):
    """Causal grouped-query self-attention with RoPE on queries and keys; no biases."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.n_head, self.n_kv_head, self.head_dim = cfg.n_head, cfg.n_kv_head, cfg.head_dim
        self.q_proj = nn.Linear(cfg.n_embd, cfg.n_head * cfg.head_dim, bias=False)
        self.k_proj = nn.Linear(cfg.n_embd, cfg.n_kv_head * cfg.head_dim, bias=False)
        self.v_proj = nn.Linear(cfg.n_embd, cfg.n_kv_head * cfg.head_dim, bias=False)
        self.o_proj = nn.Linear(cfg.n_head * cfg.head_dim, cfg.n_embd, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, return_attention: bool = False,
                cache: KVCache | None = None, layer: int = 0):
        """x (B, T, C), cos/sin (T, hd) of the new tokens' positions -> (B, T, C) and the weights or None."""
        B, T, C = x.shape
        nh, nkv, hd = self.n_head, self.n_kv_head, self.head_dim
        q = self.q_proj(x).view(B, T, nh, hd).transpose(1, 2)  # (B, nh, T, hd)
        k = self.k_proj(x).view(B, T, nkv, hd).transpose(1, 2)  # (B, nkv, T, hd)
        v = self.v_proj(x).view(B, T, nkv, hd).transpose(1, 2)  # (B, nkv, T, hd)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)  # positions enter here, and only here
        past = 0
        if cache is not None:  # the cache keeps rotated keys: a key's position never changes
            past = cache.cached(layer)
            k, v = cache.append(layer, k, v)  # (B, nkv, past + T, hd)
        if nkv != nh:  # each key/value head serves nh // nkv consecutive query heads
            k = k.repeat_interleave(nh // nkv, dim=1)  # (B, nh, T_keys, hd)
            v = v.repeat_interleave(nh // nkv, dim=1)
        att = None
        if return_attention:
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(hd)  # (B, nh, T, T_keys)
            scores = scores.masked_fill(~causal_mask(T, x.device, past), float("-inf"))
            att = scores.softmax(dim=-1)
            y = att @ v  # (B, nh, T, hd)
        else:
            mask = causal_mask(T, x.device, past) if past and T > 1 else None
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=not past and T > 1)
        y = y.transpose(1, 2).contiguous().view(B, T, nh * hd)  # (B, T, C)
        return self.o_proj(y), att


class SwiGLU(nn.Module):
    """The gated feed-forward: down(silu(gate(x)) * up(x)), C -> d_ff -> C; silu(z) = z * sigmoid(z)."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.n_embd, cfg.d_ff, bias=False)
        self.up_proj = nn.Linear(cfg.n_embd, cfg.d_ff, bias=False)
        self.down_proj = nn.Linear(cfg.d_ff, cfg.n_embd, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    """Pre-norm block: x + attn(norm(x)), then x + mlp(norm(x)), with RMSNorm."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.mlp = SwiGLU(cfg)

    def forward(self, x, cos, sin, return_attention=False, cache=None, layer=0):
        a, att = self.self_attn(self.input_layernorm(x), cos, sin, return_attention, cache, layer)
        x = x + a
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, att


class Llama(nn.Module):
    """The whole decoder. Parameter names follow Hugging Face's ``LlamaModel`` (without its ``model.`` prefix), so
    a state dict of SmolLM2 loads as it is."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.config = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        for module in self.modules():  # a fresh model gets small random weights (pretrained ones replace them)
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_parameters(self) -> int:
        """Parameters, counting a tied output matrix once."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, return_attention: bool = False,
                cache: KVCache | None = None):
        """idx (B, T) token ids -> logits (B, T, vocab) and the mean cross-entropy if targets (B, T) are given.

        The course GPT's interface: ``return_attention=True`` adds a list (one per layer) of (B, n_head, T, T_keys)
        weights; with a ``cache`` (``helpers.gpt.KVCache``) idx holds only the tokens after the cached ones, which
        get the positions len(cache) .. len(cache) + T - 1.
        """
        if idx.dim() != 2:
            raise ValueError(f"idx must be (batch, time) token ids, got shape {tuple(idx.shape)}")
        B, T = idx.shape
        past = 0 if cache is None else len(cache)
        if past + T > self.config.block_size:
            raise ValueError(f"{past} cached + {T} new tokens exceed the context window ({self.config.block_size})")
        if cache is not None and past and cache.k[0].shape[0] != B:
            raise ValueError(f"the cache holds a batch of {cache.k[0].shape[0]} sequences but idx has {B} rows")
        if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= self.config.vocab_size):
            raise ValueError(f"token ids must lie in [0, {self.config.vocab_size}), got {int(idx.min())}..{int(idx.max())}")
        cos, sin = rope_cos_sin(torch.arange(past, past + T, device=idx.device), self.config.head_dim,
                                self.config.rope_base)  # (T, hd) each
        x = self.embed_tokens(idx)  # (B, T, C): no position vector is added
        cos, sin = cos.to(x.dtype), sin.to(x.dtype)
        attentions = []
        for i, block in enumerate(self.layers):
            x, att = block(x, cos, sin, return_attention, cache, i)
            attentions.append(att)
        logits = self.lm_head(self.norm(x))  # (B, T, vocab)
        loss = None
        if targets is not None:
            if targets.shape != idx.shape:
                raise ValueError(f"targets shape {tuple(targets.shape)} must equal idx shape {tuple(idx.shape)}")
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)).float(), targets.reshape(-1))
        if return_attention:
            return logits, loss, attentions
        return logits, loss


# ----- size, cache, conversion -----------------------------------------------------------------------------
def parameter_count(cfg: LlamaConfig) -> param_count.ParamCount:
    """The parameters by formula, as a ``helpers.param_count.ParamCount`` (the parts notebook 07 uses for GPT-2):

    embeddings V d; positions 0 (RoPE has no table); per layer attention d (n_head hd) + 2 d (n_kv_head hd)
    + (n_head hd) d, SwiGLU feed-forward 3 d d_ff, two RMSNorm gains d; a final RMSNorm d; an output layer V d
    only if it is not tied to the embedding. No biases anywhere.
    """
    hd = cfg.head_dim
    return param_count.ParamCount(
        embeddings=param_count.embedding(cfg.vocab_size, cfg.n_embd),
        positions=0,
        attention=cfg.n_layer * param_count.attention(cfg.n_embd, bias=False, d_inner=cfg.n_head * hd,
                                                      d_kv_total=cfg.n_kv_head * hd),
        feed_forward=cfg.n_layer * param_count.feed_forward(cfg.n_embd, cfg.d_ff, bias=False, gated=True),
        norms=(2 * cfg.n_layer + 1) * param_count.rms_norm(cfg.n_embd),
        heads=0 if cfg.tie_embeddings else param_count.linear(cfg.n_embd, cfg.vocab_size, bias=False),
    )


def kv_cache_bytes(cfg: LlamaConfig, seq_len: int, batch: int = 1, bytes_per_value: int = 4) -> int:
    """Size of a full KV cache: 2 (keys, values) x n_layer x n_kv_head x head_dim x seq_len x batch x bytes."""
    return 2 * cfg.n_layer * cfg.n_kv_head * cfg.head_dim * seq_len * batch * bytes_per_value


def from_state_dict(cfg: LlamaConfig, state: dict[str, torch.Tensor], share: bool = True) -> Llama:
    """A ``Llama`` holding the tensors of a Hugging Face Llama state dict (keys ``model.*`` and ``lm_head.weight``,
    or already without the prefix). ``share=True`` uses the tensors themselves (no copy: changing one model
    changes the other); False copies them. Raises if a tensor is missing, extra or of the wrong shape."""
    model = Llama(cfg)
    ours = {}
    for key, tensor in state.items():
        name = key.removeprefix("model.")
        if name.endswith("rotary_emb.inv_freq"):  # older transformers keep RoPE's frequencies as a buffer
            continue
        ours[name] = tensor
    if cfg.tie_embeddings:  # one matrix under either name (safetensors files keep only one of the two)
        head = ours.pop("lm_head.weight", None)
        if "embed_tokens.weight" not in ours and head is not None:
            ours["embed_tokens.weight"] = head
    expected = {k for k in model.state_dict() if not (cfg.tie_embeddings and k == "lm_head.weight")}
    missing, extra = sorted(expected - set(ours)), sorted(set(ours) - expected)
    if missing or extra:
        raise ValueError(f"state dict does not fit the config: missing {missing[:4]}, unexpected {extra[:4]}")
    mine = model.state_dict()
    for name, tensor in ours.items():
        if tensor.shape != mine[name].shape:
            raise ValueError(f"{name}: shape {tuple(tensor.shape)}, the config wants {tuple(mine[name].shape)}")
    model.load_state_dict(ours, strict=False, assign=share)
    if cfg.tie_embeddings:
        model.lm_head.weight = model.embed_tokens.weight  # assign=True replaced the tied parameter: tie again
    return model.eval()


def from_hf(hf_model, share: bool = True) -> Llama:
    """The course ``Llama`` with the weights of a ``transformers`` ``LlamaForCausalLM`` (shared, not copied)."""
    return from_state_dict(config_from_hf(hf_model.config), hf_model.state_dict(), share=share)
