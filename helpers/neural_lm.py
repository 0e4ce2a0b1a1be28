"""A small neural language model in the style of Bengio et al. (2003) (notebook 01).

The previous ``context`` words are looked up in an embedding table, their vectors are concatenated, a hidden
layer with tanh mixes them, and a linear layer gives a score (logit) for every word of the vocabulary; softmax
turns the scores into ``P(next word | previous words)``. Words used in similar places get similar vectors, so what
the model learns about one word carries over to its neighbours: the thing a count table cannot do.

>>> from helpers.neural_lm import NeuralLM, make_windows, train_lm, perplexity, nearest_neighbours
>>> X, Y = make_windows(ids, context=3)              # (N, 3) histories, (N,) next words
>>> model = NeuralLM(vocab_size=len(vocab), context=3)
>>> losses = train_lm(model, X, Y, steps=1000)
>>> perplexity(model, X_valid, Y_valid), nearest_neighbours(model.embedding.weight, vocab, "king", k=5)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from helpers.words import Vocab


class NeuralLM(nn.Module):
    """Embeddings of the previous ``context`` words, concatenated -> tanh hidden layer -> logits over the vocabulary.

    ``forward(x)`` takes ids ``(B, context)`` and returns logits ``(B, vocab_size)``. ``dropout`` is applied to
    the concatenated embeddings and to the hidden layer while training. The word vectors start small (normal,
    std 0.1), so that after training their directions reflect what was learned more than the random start.
    """

    def __init__(self, vocab_size: int, context: int = 3, emb_dim: int = 32, hidden: int = 128,
                 dropout: float = 0.0):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("context", context), ("emb_dim", emb_dim),
                            ("hidden", hidden)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        self.vocab_size, self.context = vocab_size, context
        self.embedding = nn.Embedding(vocab_size, emb_dim)  # one vector per word: (V, E)
        nn.init.normal_(self.embedding.weight, std=0.1)  # small: what training learns soon outweighs the start
        self.hidden = nn.Linear(context * emb_dim, hidden)
        self.output = nn.Linear(hidden, vocab_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.context:
            raise ValueError(f"expected ids of shape (B, {self.context}), got {tuple(x.shape)}")
        e = self.embedding(x).flatten(1)  # (B, context * E): the word vectors side by side
        h = torch.tanh(self.hidden(self.dropout(e)))  # (B, H)
        return self.output(self.dropout(h))  # (B, V): a score for every possible next word


def make_windows(ids: Sequence[int] | torch.Tensor, context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (history, next word) pair of a token stream.

    Returns ``X`` of shape ``(N, context)`` and ``Y`` of shape ``(N,)`` with ``N = len(ids) - context``:
    ``X[i] = ids[i : i + context]`` and ``Y[i] = ids[i + context]``. The first ``context`` tokens are only history.
    """
    if context < 1:
        raise ValueError(f"context must be at least 1, got {context}")
    ids = torch.as_tensor(ids, dtype=torch.long)
    if ids.dim() != 1:
        raise ValueError(f"ids must be a 1-D sequence, got shape {tuple(ids.shape)}")
    if len(ids) <= context:
        raise ValueError(f"need more than context = {context} tokens to make a window, got {len(ids)}")
    windows = ids.unfold(0, context + 1, 1)  # (N, context + 1), a view: no copy
    return windows[:, :-1].contiguous(), windows[:, -1].contiguous()


def train_lm(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, *, steps: int, batch_size: int = 256,
             lr: float = 1e-2, weight_decay: float = 0.01, seed: int = 0, device: str | torch.device = "cpu",
             progress: bool = True, desc: str = "training") -> list[float]:
    """Minimise the cross-entropy of ``Y`` given ``X`` with AdamW on shuffled minibatches; return the losses.

    Each epoch takes the windows in a new random order (fixed by ``seed``), in full batches: the few windows that
    do not fill a last batch are left out of that epoch. The learning rate decays from ``lr`` to 0 along a cosine
    over ``steps`` steps. The model is left in eval mode on ``device``.
    """
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive, got {steps} and {batch_size}")
    if len(X) != len(Y) or len(X) == 0:
        raise ValueError(f"X and Y must hold the same, non-zero number of windows, got {len(X)} and {len(Y)}")
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    g = torch.Generator().manual_seed(seed)
    order, pos, losses = torch.randperm(len(X), generator=g), 0, []
    for step in tqdm(range(steps), desc=desc, disable=not progress):
        if pos + batch_size > len(order):  # a new epoch: a new random order
            order, pos = torch.randperm(len(X), generator=g), 0
        idx = order[pos:pos + batch_size]
        pos += batch_size
        for group in optimizer.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        loss = F.cross_entropy(model(X[idx].to(device)), Y[idx].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return losses


@torch.no_grad()
def perplexity(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, batch_size: int = 4096) -> float:
    """``exp`` of the mean cross-entropy of ``Y`` given ``X`` (the model is put in eval mode: no dropout)."""
    if len(X) != len(Y) or len(X) == 0:
        raise ValueError(f"X and Y must hold the same, non-zero number of windows, got {len(X)} and {len(Y)}")
    model.eval()
    device = next(model.parameters()).device
    total = 0.0
    for i in range(0, len(X), batch_size):
        logits = model(X[i:i + batch_size].to(device))  # (b, V)
        total += F.cross_entropy(logits, Y[i:i + batch_size].to(device), reduction="sum").item()
    return math.exp(total / len(X))


def nearest_neighbours(embedding: torch.Tensor, vocab: Vocab, word: str, k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` words whose vectors have the highest cosine similarity with ``word``'s, best first.

    ``embedding`` is a ``(V, E)`` matrix (e.g. ``model.embedding.weight``). The word itself comes first
    (similarity 1). Returns ``[(word, cosine similarity), ...]``.
    """
    if word not in vocab:
        raise KeyError(f"{word!r} is not in the vocabulary of {len(vocab)} words")
    if embedding.dim() != 2 or embedding.shape[0] != len(vocab):
        raise ValueError(f"embedding must be (V, E) with V = {len(vocab)}, got {tuple(embedding.shape)}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    i = vocab.stoi[word]
    with torch.no_grad():
        unit = F.normalize(embedding.detach().float().cpu(), dim=1)  # (V, E), every row of length 1
        sims = unit @ unit[i]  # (V,): cosine similarity with every word
        sims[i] = -math.inf  # the word itself goes first anyway, even if another word had the same vector
        best = sims.topk(min(k, len(vocab)) - 1)
    return [(word, 1.0)] + [(vocab.itos[j], s) for s, j in zip(best.values.tolist(), best.indices.tolist())]
