"""Induction heads and in-context learning, measured on a course GPT (notebook 05, section 9).

An **induction head** (Olsson et al. 2022; Elhage et al. 2021) completes ``[A][B] ... [A] -> [B]``: at a token
[A] it attends to the token that followed an earlier [A] and copies it. On a sequence of random tokens repeated
twice, nothing in the first copy is predictable, while every token of the second copy is, by copying: the clean
test of the mechanism.

>>> idx = repeated_random_tokens(16, 60, vocab_size=2048, prefix=[2047], seed=0)   # (16, 1 + 2 * 60)
>>> losses = token_losses(model, idx)                                               # (16, 120)
>>> first, second = copy_losses(losses, length=60, offset=1)                        # mean nats per token
>>> _, _, att = model(idx, return_attention=True)
>>> scores = induction_scores(att, length=60, offset=1)                             # (n_layer, n_head)
>>> with ablate_heads(model, [(2, 3), (4, 0)]):                                     # zero two heads' outputs
...     ablated = token_losses(model, idx)
>>> curve = loss_by_position(model, stream, n_windows=64)                           # (block_size,)
>>> in_context_learning_score(curve, early=10, late=100)                            # late minus early, nats

Token positions are 0-based. ``token_losses(...)[:, t]`` is the loss of the prediction made at position t (after
reading tokens 0..t), i.e. of the token at position t + 1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence

import torch
import torch.nn.functional as F

from helpers.gpt import GPT


def repeated_random_tokens(n_seq: int, length: int, vocab_size: int, *, prefix: Sequence[int] = (),
                           exclude: Iterable[int] = (), seed: int = 0) -> torch.Tensor:
    """Random token sequences, each repeated twice: (n_seq, len(prefix) + 2 * length) int64.

    Row i is ``prefix + s_i + s_i`` with s_i ``length`` tokens drawn uniformly (with replacement) from
    ``range(vocab_size)`` minus ``exclude`` (e.g. special tokens), by a generator seeded with ``seed``.
    """
    if n_seq < 1 or length < 2:
        raise ValueError(f"need n_seq >= 1 and length >= 2, got n_seq={n_seq}, length={length}")
    allowed = torch.tensor(sorted(set(range(vocab_size)) - {int(i) for i in exclude}), dtype=torch.long)
    if len(allowed) < 2:
        raise ValueError(f"fewer than 2 tokens left to draw from (vocab_size={vocab_size}, exclude={exclude})")
    gen = torch.Generator().manual_seed(seed)
    first = allowed[torch.randint(len(allowed), (n_seq, length), generator=gen)]  # (n_seq, length)
    pre = torch.tensor(list(prefix), dtype=torch.long).expand(n_seq, len(prefix))  # (n_seq, P)
    return torch.cat([pre, first, first], dim=1)  # (n_seq, P + 2 * length)


@torch.no_grad()
def token_losses(model: GPT, idx: torch.Tensor) -> torch.Tensor:
    """Next-token loss (nats) at every position: idx (B, T) -> (B, T - 1); column t predicts idx[:, t + 1]."""
    if idx.dim() != 2 or idx.shape[1] < 2:
        raise ValueError(f"idx must be (batch, time) with time >= 2, got shape {tuple(idx.shape)}")
    logits, _ = model(idx[:, :-1])  # (B, T-1, vocab)
    return F.cross_entropy(logits.transpose(1, 2), idx[:, 1:], reduction="none")  # (B, T-1)


def copy_losses(losses: torch.Tensor, length: int, offset: int = 0) -> tuple[float, float]:
    """Mean loss on the first and on the second copy of ``repeated_random_tokens`` (from ``token_losses``).

    Each copy's first token is left out: nothing before it says what it is (in the second copy it follows the
    last token of the first copy, which occurred nowhere before). So both means are over ``length - 1`` tokens:
    the tokens at positions offset + 1 .. offset + length - 1 and offset + length + 1 .. offset + 2 * length - 1.
    """
    if losses.dim() != 2 or losses.shape[1] < offset + 2 * length - 1:
        raise ValueError(f"losses (B, T-1) with T-1 >= offset + 2 * length - 1 = {offset + 2 * length - 1} "
                         f"expected, got {tuple(losses.shape)}")
    # losses[:, t] is the loss of the token at position t + 1
    first = losses[:, offset:offset + length - 1]  # tokens offset + 1 .. offset + length - 1
    second = losses[:, offset + length:offset + 2 * length - 1]  # tokens offset + length + 1 ..
    return first.mean().item(), second.mean().item()


def _stack_attention(att) -> torch.Tensor:
    """A list of per-layer (B, H, T, T) weights, or (L, H, T, T), or (B, L, H, T, T) -> (B, L, H, T, T)."""
    if isinstance(att, (list, tuple)):
        att = torch.stack(list(att), dim=1)  # (B, L, H, T, T)
    if att.dim() == 4:
        att = att[None]
    if att.dim() != 5 or att.shape[-1] != att.shape[-2]:
        raise ValueError(f"attention must be (L, H, T, T), (B, L, H, T, T) or a list of (B, H, T, T), "
                         f"got {tuple(att.shape)}")
    return att


def induction_scores(att, length: int, offset: int = 0) -> torch.Tensor:
    """Per-head induction score on ``repeated_random_tokens``: (L, H), each in [0, 1].

    For every query q in the second copy (positions offset + length .. offset + 2 * length - 1), the weight it
    puts on key q - length + 1: the token *after* the earlier occurrence of the query's token. Averaged over
    those queries and the batch. A perfect induction head scores 1; uniform causal attention about 1 / q.
    """
    att = _stack_attention(att)
    T = att.shape[-1]
    if length < 2 or offset < 0 or offset + 2 * length > T:
        raise ValueError(f"offset + 2 * length = {offset + 2 * length} must fit the {T} positions")
    q = torch.arange(offset + length, offset + 2 * length)  # (length,) queries of the second copy
    return att[..., q, q - length + 1].mean(dim=(0, -1))  # (L, H)


def previous_token_scores(att, start: int = 1) -> torch.Tensor:
    """Per-head weight on the token just before the query, averaged over queries start .. T-1: (L, H)."""
    att = _stack_attention(att)
    T = att.shape[-1]
    if not 1 <= start < T:
        raise ValueError(f"start must lie in [1, {T - 1}], got {start}")
    q = torch.arange(start, T)
    return att[..., q, q - 1].mean(dim=(0, -1))  # (L, H)


@contextlib.contextmanager
def ablate_heads(model: GPT, heads: Iterable[tuple[int, int]]) -> Iterator[GPT]:
    """Within the ``with`` block, zero the outputs of ``heads`` ((layer, head) pairs) before the output projection.

    Each attention layer concatenates its heads' outputs, (B, T, n_head * head_dim), and ``c_proj`` mixes them;
    a forward pre-hook on ``c_proj`` zeroes the columns of the chosen heads, so they add nothing but the shared
    bias. The model itself is not changed; the hooks are removed on leaving the block, even after an error.
    """
    cfg = model.config
    by_layer: dict[int, list[int]] = {}
    for layer, head in heads:
        if not (0 <= layer < cfg.n_layer and 0 <= head < cfg.n_head):
            raise ValueError(f"head ({layer}, {head}) does not exist: {cfg.n_layer} layers of {cfg.n_head} heads")
        by_layer.setdefault(int(layer), []).append(int(head))
    hd = cfg.head_dim
    handles = []

    def make_hook(layer_heads: list[int]):
        def hook(module, args):
            (y,) = args  # (B, T, n_head * hd): heads side by side
            keep = torch.ones(cfg.n_head, 1, dtype=y.dtype, device=y.device)
            keep[layer_heads] = 0
            return (y * keep.expand(cfg.n_head, hd).reshape(-1),)  # (B, T, C) with those heads zeroed
        return hook

    try:
        for layer, layer_heads in by_layer.items():
            handles.append(model.h[layer].attn.c_proj.register_forward_pre_hook(make_hook(layer_heads)))
        yield model
    finally:
        for handle in handles:
            handle.remove()


@torch.no_grad()
def loss_by_position(model: GPT, ids: torch.Tensor, n_windows: int = 0, block_size: int | None = None,
                     batch_size: int = 32, per_window: bool = False) -> torch.Tensor:
    """Mean next-token loss at every position of a context window, over windows of held-out text: (block_size,).

    ``ids`` (N,) is a token stream, cut into consecutive windows of ``block_size + 1`` tokens (default: the
    model's context); ``n_windows`` of them spread evenly over the stream (0: all). Entry t is the mean loss of
    the prediction made after reading t + 1 tokens of a window. ``per_window=True`` returns every window's
    losses instead, (windows, block_size), e.g. for a standard error.
    """
    block_size = block_size or model.config.block_size
    if ids.dim() != 1:
        raise ValueError(f"ids must be a 1-D token stream, got shape {tuple(ids.shape)}")
    available = (len(ids) - 1) // block_size
    if available < 1:
        raise ValueError(f"the stream of {len(ids)} tokens is shorter than one window of {block_size + 1}")
    starts = torch.arange(available) * block_size
    if n_windows and n_windows < available:
        starts = starts[torch.linspace(0, available - 1, n_windows).long()]
    rows = []
    for part in starts.split(batch_size):
        windows = torch.stack([ids[s:s + block_size + 1] for s in part.tolist()])  # (b, block_size + 1)
        rows.append(token_losses(model, windows))  # (b, block_size)
    losses = torch.cat(rows)  # (windows, block_size)
    return losses if per_window else losses.mean(dim=0)


def in_context_learning_score(losses: torch.Tensor, early: int = 10, late: int = 100, width: int = 0) -> float:
    """Olsson et al.'s (2022) in-context learning score: loss at a late position minus loss at an early one.

    ``losses`` is ``loss_by_position``'s curve (index t: the prediction made after t + 1 tokens), or its
    per-window losses (windows, T), which are averaged first. Olsson et al. take the loss of the 500th token
    minus that of the 50th; a model with a 128-token context takes e.g. 100 and 10. ``width`` > 0 averages
    each end over positions early - width .. early + width (and the same around ``late``): less noise from a
    few thousand windows than one position gives. Negative means later tokens are predicted better: the model
    uses its context.
    """
    if losses.dim() == 2:
        losses = losses.mean(dim=0)
    fits = width >= 0 and 0 <= early - width and early + width < late - width and late + width < losses.shape[-1]
    if losses.dim() != 1 or not fits:
        raise ValueError(f"need 0 <= early - width, early + width < late - width and late + width < "
                         f"{losses.shape[-1]} on a loss curve; got early={early}, late={late}, width={width}")
    at = lambda t: losses[t - width:t + width + 1].mean()  # noqa: E731
    return (at(late) - at(early)).item()
