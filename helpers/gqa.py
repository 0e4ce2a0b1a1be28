"""Grouped-query attention: fewer key/value heads, and converting a multi-head checkpoint (notebook 11).

The course GPT (``helpers.gpt``) already runs multi-head (MHA, ``n_kv_head == n_head``), grouped-query (GQA,
``1 < n_kv_head < n_head``) and multi-query attention (MQA, ``n_kv_head == 1``). This module adds:

>>> gqa = mha_to_gqa(model, n_kv_head=2)              # Ainslie et al. 2023: mean-pool the K/V heads of each group
>>> kv_parameters(model.config)                       # weights and biases that make keys and values
>>> attention_flops(model.config, seq_len=128)        # FLOPs of one attention layer, part by part
>>> model, losses = train_steps(model, train_ids, steps=200)   # a short AdamW run (warmup + cosine)

In ``c_attn`` (one Linear) the output rows are the queries (n_head * head_dim), then the keys, then the values
(n_kv_head * head_dim each); query head h uses key/value head h // (n_head // n_kv_head).

What sharing saves and what it does not: fewer K/V heads shrink the K/V projection weights (``kv_parameters``)
and the KV cache (``helpers.gpt.kv_cache_bytes``), so less memory and fewer bytes read per decoding step. The
attention arithmetic itself, q k^T and weights @ v, is still done once per *query* head (the shared K/V heads
are read by every query head of their group), so its FLOPs are the same for MHA, GQA and MQA
(``attention_flops``).
"""

from __future__ import annotations

import dataclasses

import torch

from helpers import pretrain
from helpers.gpt import GPT, GPTConfig
from helpers.pretrain import TrainConfig

POOLING = ("mean", "first")


def torch_has_enable_gqa() -> bool:
    """Whether this torch's ``scaled_dot_product_attention`` takes ``enable_gqa`` (torch 2.5 and later)."""
    q = torch.zeros(1, 2, 1, 4)
    k = torch.zeros(1, 1, 1, 4)
    try:
        torch.nn.functional.scaled_dot_product_attention(q, k, k, enable_gqa=True)
    except (TypeError, RuntimeError):
        return False
    return True


def kv_parameters(cfg: GPTConfig) -> int:
    """Parameters that make keys and values, over all layers: 2 * n_layer * n_kv_head * head_dim * (n_embd + bias)."""
    return 2 * cfg.n_layer * cfg.n_kv_head * cfg.head_dim * (cfg.n_embd + int(cfg.bias))


def attention_flops(cfg: GPTConfig, seq_len: int, new_tokens: int | None = None) -> dict[str, int]:
    """Floating-point operations (FLOPs: one multiply-add counts 2) of one attention layer, part by part.

    ``new_tokens`` queries (default ``seq_len``: the whole sequence read at once; 1: one decoding step with a KV
    cache) attend over ``seq_len`` keys. Counted as dense matrix products, the way plain attention computes them
    (every query against every key, the causal mask applied afterwards), for batch 1:

    - ``"q projection"``: 2 * new_tokens * n_embd * (n_head * head_dim)
    - ``"k/v projections"``: 2 * new_tokens * n_embd * (2 * n_kv_head * head_dim): the only part sharing shrinks
    - ``"q k^T and weights @ v"``: 2 * 2 * n_head * new_tokens * seq_len * head_dim: per *query* head, so
      the same for MHA, GQA and MQA
    - ``"output projection"``: 2 * new_tokens * n_embd * n_embd
    - ``"total"``: the sum (biases, softmax and scaling are left out: they are small).
    """
    for name, value in (("seq_len", seq_len), ("new_tokens", new_tokens)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    t = seq_len if new_tokens is None else new_tokens
    if t > seq_len:
        raise ValueError(f"new_tokens ({t}) cannot exceed seq_len ({seq_len}): the new tokens are part of the sequence")
    C, hd, nh, nkv = cfg.n_embd, cfg.head_dim, cfg.n_head, cfg.n_kv_head
    flops = {"q projection": 2 * t * C * nh * hd,
             "k/v projections": 2 * t * C * 2 * nkv * hd,
             "q k^T and weights @ v": 2 * 2 * nh * t * seq_len * hd,
             "output projection": 2 * t * C * C}
    flops["total"] = sum(flops.values())
    return flops


def pool_heads(w: torch.Tensor, n_from: int, n_to: int, how: str = "mean") -> torch.Tensor:
    """Pool rows of a key or value projection from ``n_from`` heads to ``n_to`` heads.

    w: (n_from * head_dim, ...) weight or bias rows, head after head. Consecutive heads form a group
    (group g holds heads g * k .. g * k + k - 1, k = n_from // n_to), matching ``repeat_interleave`` in
    the attention. ``how``: "mean" averages the heads of a group (Ainslie et al. 2023), "first" keeps
    the first head of each group. Returns (n_to * head_dim, ...).
    """
    if how not in POOLING:
        raise ValueError(f"how must be one of {POOLING}, got {how!r}")
    if n_to < 1 or n_from % n_to:
        raise ValueError(f"cannot pool {n_from} heads into {n_to}: n_kv_head must divide the current {n_from}")
    if w.shape[0] % n_from:
        raise ValueError(f"{w.shape[0]} rows do not split into {n_from} heads")
    hd, k = w.shape[0] // n_from, n_from // n_to
    groups = w.reshape(n_to, k, hd, *w.shape[1:])  # (n_to, heads per group, head_dim, ...)
    pooled = groups.mean(dim=1) if how == "mean" else groups[:, 0]
    return pooled.reshape(n_to * hd, *w.shape[1:])


@torch.no_grad()
def mha_to_gqa(model: GPT, n_kv_head: int, how: str = "mean") -> GPT:
    """A copy of ``model`` with ``n_kv_head`` key/value heads, each pooled from a group of the current ones.

    Queries, output projections, MLPs, LayerNorms and embeddings are copied unchanged. ``n_kv_head`` must
    divide the model's current ``n_kv_head`` (e.g. 6 -> 3, 2 or 1). With ``n_kv_head`` equal to the current
    number the copy computes the same logits. The new model is in the same train/eval mode as the old.
    """
    if not isinstance(model, GPT):
        raise TypeError(f"model must be a helpers.gpt.GPT, got {type(model).__name__}")
    cfg = model.config
    if isinstance(n_kv_head, bool) or not isinstance(n_kv_head, int) or n_kv_head < 1:
        raise ValueError(f"n_kv_head must be a positive int, got {n_kv_head!r}")
    if cfg.n_kv_head % n_kv_head:
        raise ValueError(f"n_kv_head ({n_kv_head}) must divide the model's n_kv_head ({cfg.n_kv_head}): "
                         "each new key/value head is pooled from a whole group of old ones")
    if how not in POOLING:
        raise ValueError(f"how must be one of {POOLING}, got {how!r}")
    new_cfg = dataclasses.replace(cfg, n_kv_head=n_kv_head)
    new = GPT(new_cfg).to(next(model.parameters()).device)
    q_rows, kv_rows = cfg.n_head * cfg.head_dim, cfg.n_kv_head * cfg.head_dim
    state = {}
    for name, tensor in model.state_dict().items():
        if name.endswith("attn.c_attn.weight") or name.endswith("attn.c_attn.bias"):
            q, k, v = tensor.split([q_rows, kv_rows, kv_rows], dim=0)  # rows: queries, keys, values
            k = pool_heads(k, cfg.n_kv_head, n_kv_head, how)
            v = pool_heads(v, cfg.n_kv_head, n_kv_head, how)
            tensor = torch.cat([q, k, v], dim=0)
        state[name] = tensor.clone()
    new.load_state_dict(state)
    return new.train(model.training)


def train_steps(model: GPT, ids: torch.Tensor, steps: int, batch_size: int = 16, lr: float = 1e-3,
                warmup_steps: int = 20, min_lr: float | None = None, seed: int = 1337, desc: str = "training",
                progress: bool = True) -> tuple[GPT, list[float]]:
    """Train ``model`` in place for ``steps`` AdamW steps on chunks of the token stream ``ids`` (int64 (N,)).

    Notebook 10's loop, ``helpers.pretrain.train_steps``, with its recipe (weight decay on matrices, warmup then
    cosine decay to ``min_lr``, default lr / 10, clipping at 1) and keyword arguments instead of a
    ``TrainConfig``; chunks of the model's ``block_size`` tokens in an order fixed by ``seed``, so two models
    trained with the same arguments see the same batches. Returns (model in eval mode, training loss per step).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    tcfg = TrainConfig(lr=lr, min_lr=lr / 10 if min_lr is None else min_lr, warmup_steps=warmup_steps,
                       batch_size=batch_size, block_size=model.config.block_size, seed=seed)
    history = pretrain.train_steps(model, ids, steps, tcfg, desc=desc, progress=progress)
    model.eval()
    return model, history["train_loss"]
