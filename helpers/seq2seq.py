"""Sequence-to-sequence RNNs (notebook 02): an encoder-decoder with a fixed-length context vector, and the same
model with additive attention (Bahdanau et al. 2015).

The encoder reads the source with a bidirectional GRU (``helpers.rnn.GRU``, one per direction): the annotation of
position j is ``h_j = [forward h_j ; backward h_j]`` (Bahdanau et al. 2015, section 3.2). The decoder is a GRU cell
that, at output step i, reads the previous output token ``y_{i-1}`` and a context vector ``c_i``:

- **no attention** (Cho et al. 2014): ``c_i = c`` for every i, one fixed-length vector, the last annotation of
  each direction ``[forward h_L ; backward h_1]``: the whole source squeezed into ``2H`` numbers;
- **additive attention** (Bahdanau et al. 2015): ``e_ij = v^T tanh(W s_{i-1} + U h_j)``,
  ``alpha_ij = softmax_j(e_ij)``, ``c_i = sum_j alpha_ij h_j``: a new context at every step, a weighted average of
  all annotations, weighted by how well each matches the decoder's previous state ``s_{i-1}``.

Everything else is shared, so the two models differ only in where ``c_i`` comes from (and in the attention's
``W``, ``U``, ``v``). The decoder starts from ``s_0 = tanh(W_init c)`` and scores the next token from
``[s_i ; c_i]``.

The toy task is reversal: the target is the source read backwards. Its difficulty grows with the length: the
whole source must pass through the context vector, while with attention output i only has to find position
``L - 1 - i``. The decoder emits as many tokens as the source has (no end-of-sequence token), so exact match asks
for the right tokens in the right order, nothing about the length.

Shapes: ``B`` batch, ``L`` source length, ``L_out`` output length, ``E`` embedding size, ``H`` hidden units,
``A`` attention units, ``V`` the number of tokens.

>>> model = Seq2Seq(n_tokens=10, embed_size=32, hidden_size=64, attention=True)
>>> src, tgt = reversal_task(8, 12, generator=torch.Generator().manual_seed(0))   # (8, 12) each
>>> logits, weights = model(src, tgt)          # teacher forcing: (8, 12, 10), (8, 12, 12)
>>> tokens, weights = model.greedy(src)       # greedy decoding: (8, 12), (8, 12, 12)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from helpers.rnn import GRU, GRUCell


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def reversal_task(batch_size: int, length: int, n_tokens: int = 10,
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random source sequences and their reversals: src, tgt, both (batch_size, length) ids in 0..n_tokens-1.

    tgt[:, i] = src[:, length - 1 - i]. Every token is drawn uniformly, so a model that guesses is right with
    probability 1 / n_tokens per token and (1 / n_tokens) ** length per sequence.
    """
    _check_sizes(batch_size=batch_size, length=length, n_tokens=n_tokens)
    if n_tokens < 2:
        raise ValueError(f"n_tokens must be at least 2 (one token has nothing to reverse), got {n_tokens}")
    src = torch.randint(0, n_tokens, (batch_size, length), generator=generator)
    return src, src.flip(1)


def additive_scores(s: torch.Tensor, keys: torch.Tensor, W: torch.Tensor, U: torch.Tensor,
                    v: torch.Tensor) -> torch.Tensor:
    """Bahdanau's alignment scores e_j = v^T tanh(W s + U h_j) for every key h_j.

    s: (B, S) the decoder state; keys: (B, L, D) the annotations h_j; W: (A, S); U: (A, D); v: (A,).
    Returns (B, L) scores (before the softmax).
    """
    if s.ndim != 2 or keys.ndim != 3 or keys.shape[0] != s.shape[0]:
        raise ValueError(f"s must be (B, S) and keys (B, L, D) with the same B, got {tuple(s.shape)} and "
                         f"{tuple(keys.shape)}")
    if W.shape != (v.shape[0], s.shape[1]) or U.shape != (v.shape[0], keys.shape[2]) or v.ndim != 1:
        raise ValueError(f"expected W (A, {s.shape[1]}), U (A, {keys.shape[2]}), v (A,), got {tuple(W.shape)}, "
                         f"{tuple(U.shape)}, {tuple(v.shape)}")
    return torch.tanh((s @ W.T)[:, None, :] + keys @ U.T) @ v  # (B, 1, A) + (B, L, A) -> (B, L)


class AdditiveAttention(nn.Module):
    """Additive attention (Bahdanau et al. 2015): score(s, h_j) = v^T tanh(W s + U h_j), softmax over j.

    forward(s (B, S), keys (B, L, D), projected_keys (B, L, A) or None) -> (context (B, D), weights (B, L)).
    ``U h_j`` does not depend on the decoder step, so ``project_keys`` computes it once per source (Bahdanau et
    al. 2015, appendix A.1.2) and the decoder passes it back at every step.
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int):
        super().__init__()
        _check_sizes(query_size=query_size, key_size=key_size, attention_size=attention_size)
        self.W = nn.Linear(query_size, attention_size, bias=False)  # (A, S)
        self.U = nn.Linear(key_size, attention_size, bias=False)  # (A, D)
        self.v = nn.Parameter(torch.empty(attention_size).uniform_(-attention_size ** -0.5, attention_size ** -0.5))

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        return self.U(keys)  # (B, L, A)

    def forward(self, s: torch.Tensor, keys: torch.Tensor,
                projected_keys: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if projected_keys is None:
            projected_keys = self.project_keys(keys)
        scores = torch.tanh(self.W(s)[:, None, :] + projected_keys) @ self.v  # (B, L)
        weights = torch.softmax(scores, dim=-1)  # (B, L), each row sums to 1
        context = torch.bmm(weights[:, None, :], keys)[:, 0]  # (B, 1, L) @ (B, L, D) -> (B, D): sum_j alpha_j h_j
        return context, weights


class BiGRUEncoder(nn.Module):
    """Embedding, then a GRU reading forwards and another reading backwards; like ``nn.GRU(bidirectional=True)``.

    forward(src (B, L) ids) -> (annotations (B, L, 2H): [forward h_j ; backward h_j] at every position j,
    summary (B, 2H): [forward h_L ; backward h_1], the last state of each direction, which has read everything).
    """

    def __init__(self, n_tokens: int, embed_size: int, hidden_size: int):
        super().__init__()
        _check_sizes(n_tokens=n_tokens, embed_size=embed_size, hidden_size=hidden_size)
        self.n_tokens, self.hidden_size = n_tokens, hidden_size
        self.embed = nn.Embedding(n_tokens, embed_size)
        self.forward_rnn = GRU(embed_size, hidden_size)
        self.backward_rnn = GRU(embed_size, hidden_size)

    def load_torch_weights(self, ref: nn.GRU) -> None:
        """Copy both directions of a one-layer bidirectional ``torch.nn.GRU`` (its ``_reverse`` weights)."""
        if not isinstance(ref, nn.GRU) or not ref.bidirectional or ref.num_layers != 1:
            raise ValueError("expected a one-layer torch.nn.GRU with bidirectional=True")
        if (ref.input_size, ref.hidden_size) != (self.forward_rnn.input_size, self.hidden_size):
            raise ValueError(f"sizes differ: torch GRU (input, hidden) = {(ref.input_size, ref.hidden_size)}, "
                             f"this encoder {(self.forward_rnn.input_size, self.hidden_size)}")
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(self.forward_rnn.cells[0], name).copy_(getattr(ref, f"{name}_l0"))
                getattr(self.backward_rnn.cells[0], name).copy_(getattr(ref, f"{name}_l0_reverse"))

    def forward(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_ids(src, self.n_tokens, "src")
        x = self.embed(src)  # (B, L, E)
        fwd, _ = self.forward_rnn(x)  # (B, L, H): position j has read 0..j
        bwd, _ = self.backward_rnn(x.flip(1))  # (B, L, H), in reversed order
        bwd = bwd.flip(1)  # position j has read L-1..j
        annotations = torch.cat([fwd, bwd], dim=-1)  # (B, L, 2H)
        summary = torch.cat([fwd[:, -1], bwd[:, 0]], dim=-1)  # (B, 2H)
        return annotations, summary


def _check_ids(ids: torch.Tensor, n_tokens: int, name: str) -> None:
    if not isinstance(ids, torch.Tensor) or ids.ndim != 2 or ids.dtype != torch.long or ids.shape[1] == 0:
        shape = tuple(ids.shape) if isinstance(ids, torch.Tensor) else type(ids).__name__
        raise ValueError(f"{name} must be a non-empty (B, L) tensor of token ids (torch.long), got {shape}")
    if ids.min() < 0 or ids.max() >= n_tokens:
        raise ValueError(f"{name} ids must lie in 0..{n_tokens - 1}, got {ids.min()}..{ids.max()}")


class Seq2Seq(nn.Module):
    """A GRU encoder-decoder, with a fixed context vector (``attention=False``) or additive attention.

    forward(src (B, L), tgt (B, L_out)) -> (logits (B, L_out, V), weights (B, L_out, L) or None): teacher forcing,
    the decoder reads the true previous token (a start token, id ``n_tokens``, before the first).
    ``loss(src, tgt)``: the mean cross-entropy of every output token. ``greedy(src, length)``: the most likely token
    at each step, fed back in; returns (tokens (B, length), weights or None). ``length`` defaults to L.
    ``attention_size`` (A, default H) is the width of the attention's ``W``, ``U`` and ``v``; it adds
    ``A * H + A * 2H + A`` parameters.
    """

    def __init__(self, n_tokens: int, embed_size: int, hidden_size: int, attention: bool,
                 attention_size: int | None = None):
        super().__init__()
        _check_sizes(n_tokens=n_tokens, embed_size=embed_size, hidden_size=hidden_size)
        if attention_size is not None:
            if not attention:
                raise ValueError("attention_size is given but attention=False: the fixed-context model has no "
                                 "attention layer")
            _check_sizes(attention_size=attention_size)
        H = hidden_size
        self.n_tokens, self.start = n_tokens, n_tokens  # the start token's id is one past the real tokens
        self.hidden_size = H
        self.encoder = BiGRUEncoder(n_tokens, embed_size, H)
        self.init = nn.Linear(2 * H, H)  # s_0 = tanh(W_init c)
        self.embed = nn.Embedding(n_tokens + 1, embed_size)  # the decoder's own embedding, with the start token
        self.decoder = GRUCell(embed_size + 2 * H, H)  # reads [embedding of y_{i-1} ; c_i]
        self.attention = AdditiveAttention(H, 2 * H, attention_size or H) if attention else None
        self.out = nn.Linear(H + 2 * H, n_tokens)  # scores the next token from [s_i ; c_i]

    def _decode(self, src: torch.Tensor, steps: int, tgt: torch.Tensor | None):
        annotations, summary = self.encoder(src)  # (B, L, 2H), (B, 2H)
        s = torch.tanh(self.init(summary))  # (B, H)
        keys = self.attention.project_keys(annotations) if self.attention is not None else None  # (B, L, A)
        prev = torch.full((len(src),), self.start, dtype=torch.long, device=src.device)  # (B,)
        logits, weights = [], []
        for i in range(steps):
            if self.attention is None:
                context = summary  # the same fixed-length vector at every step
            else:
                context, alpha = self.attention(s, annotations, keys)  # (B, 2H), (B, L): from s_{i-1}
                weights.append(alpha)
            s = self.decoder(torch.cat([self.embed(prev), context], dim=-1), s)  # (B, H): s_i
            logits.append(self.out(torch.cat([s, context], dim=-1)))  # (B, V)
            prev = tgt[:, i] if tgt is not None else logits[-1].argmax(dim=-1)  # teacher forcing or greedy
        weights = torch.stack(weights, dim=1) if weights else None  # (B, L_out, L)
        return torch.stack(logits, dim=1), weights  # (B, L_out, V)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        _check_ids(tgt, self.n_tokens, "tgt")
        if len(tgt) != len(src):
            raise ValueError(f"src and tgt must have the same batch size, got {len(src)} and {len(tgt)}")
        return self._decode(src, tgt.shape[1], tgt)

    def loss(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        logits, _ = self(src, tgt)
        return F.cross_entropy(logits.reshape(-1, self.n_tokens), tgt.reshape(-1))

    @torch.no_grad()
    def greedy(self, src: torch.Tensor, length: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        length = src.shape[1] if length is None else length
        _check_sizes(length=length)
        logits, weights = self._decode(src, length, None)
        return logits.argmax(dim=-1), weights  # (B, length), (B, length, L) or None


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters (entries) of a model."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def train_reversal(model: Seq2Seq, steps: int, min_length: int, max_length: int, batch_size: int = 64,
                   lr: float = 3e-3, clip: float = 1.0, generator: torch.Generator | None = None,
                   progress=None) -> list[float]:
    """Train on reversal with teacher forcing: each step one batch of one length drawn uniformly from
    min_length..max_length. Adam, gradient clipping. Returns the loss of every step.

    ``progress`` (optional) is anything with ``update()`` (a tqdm bar), called once per step.
    """
    _check_sizes(steps=steps, min_length=min_length, max_length=max_length, batch_size=batch_size)
    if min_length > max_length:
        raise ValueError(f"min_length={min_length} is larger than max_length={max_length}")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        length = int(torch.randint(min_length, max_length + 1, (1,), generator=generator))
        src, tgt = reversal_task(batch_size, length, model.n_tokens, generator=generator)
        loss = model.loss(src, tgt)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        losses.append(loss.item())
        if progress is not None:
            progress.update()
    return losses


@torch.no_grad()
def reversal_accuracy(model: Seq2Seq, lengths, n_examples: int = 200,
                      generator: torch.Generator | None = None) -> dict[int, tuple[float, float]]:
    """Greedy decoding on new sequences of each length: {length: (exact match, token accuracy)}.

    Exact match: the share of sequences whose whole reversal is right; token accuracy: the share of right tokens.
    """
    _check_sizes(n_examples=n_examples)
    result = {}
    for length in lengths:
        src, tgt = reversal_task(n_examples, int(length), model.n_tokens, generator=generator)
        tokens, _ = model.greedy(src)
        right = tokens == tgt  # (n, L)
        result[int(length)] = (right.all(dim=1).float().mean().item(), right.float().mean().item())
    return result
