"""word2vec (Mikolov et al. 2013): skip-gram and CBOW with negative sampling, as built in notebook 03.

The pieces, in the order the notebook builds them:

- ``keep_probabilities(counts, t)`` and ``subsample(ids, keep, generator)``: drop frequent words at random
  (a word of relative frequency f survives with probability min(1, sqrt(t / f)));
- ``noise_distribution(counts, power=0.75)``: the distribution negatives are drawn from, proportional to count^0.75;
- ``skipgram_pairs(ids, window)``: every (center, context) pair within ``window`` positions;
- ``cbow_examples(ids, window)``: every center with its (up to 2 * window) context words, padded with -1;
- ``negative_sampling_loss(v_in, v_out, v_noise)``: -log sigmoid(v'_O . v_I) - sum_k log sigmoid(-v'_k . v_I),
  averaged over the batch (Mikolov et al. 2013b, eq. 4, in their notation: v input vectors, v' output vectors);
- ``SkipGram`` and ``CBOW``: two embedding tables, ``inp`` (the input vectors v_w: the rows of the input weight
  matrix W, V x D) and ``out`` (the output vectors v'_w: the columns of the output weight matrix W', D x V, stored
  as rows so that they can be looked up), and that loss;
- ``train(model, ids, counts, ...)``: minibatch training with SparseAdam, one fresh subsample per epoch;
- ``nearest_neighbours(vectors, vocab, word)`` and ``most_similar(vectors, vocab, positive, negative)``: cosine
  similarity queries, the second one for analogies (king - man + woman).

Word ids come from ``helpers.words.Vocab`` (id 0 is ``<unk>``); ``counts`` is a (V,) tensor of how often each id
occurs in the training stream (``torch.bincount(ids, minlength=V)``).

>>> model = SkipGram(len(vocab), dim=100)
>>> losses = train(model, ids, counts, window=5, negatives=5, epochs=1)
>>> nearest_neighbours(model.vectors(), vocab, "king")
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

PAD = -1  # context slot with no word (near the ends of the stream), in cbow_examples


def _as_ids(ids, name: str = "ids") -> torch.Tensor:
    ids = torch.as_tensor(ids, dtype=torch.long)
    if ids.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of word ids, got shape {tuple(ids.shape)}")
    if ids.numel() == 0:
        raise ValueError(f"{name} is empty: word2vec needs a corpus with at least two words")
    if int(ids.min()) < 0:
        raise ValueError(f"{name} must be non-negative word ids, got {int(ids.min())}")
    return ids


def _check_window(window: int) -> None:
    if not isinstance(window, int) or window < 1:
        raise ValueError(f"window must be an integer >= 1 (context words on each side), got {window!r}")


def _as_counts(counts) -> torch.Tensor:
    counts = torch.as_tensor(counts, dtype=torch.float64)
    if counts.ndim != 1 or counts.numel() == 0:
        raise ValueError(f"counts must be a non-empty 1-D tensor (one count per word id), got shape {tuple(counts.shape)}")
    if (counts < 0).any():
        raise ValueError("counts must be non-negative")
    if counts.sum() <= 0:
        raise ValueError("counts are all zero: the corpus is empty")
    return counts


def keep_probabilities(counts, t: float = 1e-3) -> torch.Tensor:
    """(V,) probability of keeping each word id when subsampling frequent words.

    A word with relative frequency f = count / total is kept with probability min(1, sqrt(t / f)): words rarer than
    t are always kept, a word 100 times more frequent than t survives one time in ten. (The paper writes the
    discard probability, 1 - sqrt(t / f); the original C code uses the slightly gentler sqrt(t / f) + t / f.)
    Ids with count 0 get probability 1 (they never occur anyway).
    """
    if not t > 0:
        raise ValueError(f"the subsampling threshold t must be > 0, got {t}")
    counts = _as_counts(counts)
    freq = counts / counts.sum()
    keep = torch.sqrt(t / freq.clamp_min(1e-300)).clamp(max=1.0)
    return keep.float()


def subsample(ids, keep: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Keep each position of ``ids`` (N,) with probability ``keep[ids[i]]``; return the kept ids (M,), in order."""
    ids = _as_ids(ids)
    if int(ids.max()) >= keep.numel():
        raise ValueError(f"id {int(ids.max())} is outside the {keep.numel()} keep probabilities")
    draw = torch.rand(ids.shape, generator=generator)
    return ids[draw < keep[ids]]


def noise_distribution(counts, power: float = 0.75) -> torch.Tensor:
    """(V,) distribution for drawing negative samples: count^power, normalised to sum to 1.

    power = 1 is the unigram distribution, 0 the uniform one; Mikolov et al. found 3/4 best: frequent words are
    drawn less often than their share of the text, rare words more often.
    """
    counts = _as_counts(counts)
    weights = counts ** power
    weights[counts == 0] = 0.0  # 0 ** 0 would be 1
    return (weights / weights.sum()).float()


def _windows(ids: torch.Tensor, window: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Context positions (N, 2w) around every position, and which of them count (in the stream, in the window)."""
    offsets = torch.cat([torch.arange(-window, 0), torch.arange(1, window + 1)])  # (2w,)
    pos = torch.arange(len(ids))[:, None] + offsets[None, :]  # (N, 2w)
    valid = (pos >= 0) & (pos < len(ids))  # (N, 2w)
    if generator is not None:  # word2vec's reduced window: each center draws its own size in 1..window
        size = torch.randint(1, window + 1, (len(ids), 1), generator=generator)  # (N, 1)
        valid &= offsets.abs()[None, :] <= size
    return pos.clamp(0, len(ids) - 1), valid


def skipgram_pairs(ids, window: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """All (center, context) pairs with the context at most ``window`` positions away.

    ids: (N,) word ids. Returns (centers (P,), contexts (P,)), ordered by center position, then by offset
    -window, ..., -1, 1, ..., window. Near the ends of the stream there are fewer pairs. With a ``generator``, each
    center uses a window drawn uniformly from 1..window, as word2vec does: nearer words are paired more often, and
    there are about (window + 1) / (2 * window) as many pairs.
    """
    ids = _as_ids(ids)
    _check_window(window)
    pos, valid = _windows(ids, window, generator)
    centers = ids[:, None].expand_as(pos)[valid]
    contexts = ids[pos][valid]
    return centers, contexts


def cbow_examples(ids, window: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Every position as a CBOW example: its context words and the center word to predict.

    ids: (N,) word ids, N >= 2. Returns (contexts (N, 2 * window) with ``PAD`` (-1) where the window runs past the
    ends of the stream, centers (N,)). Slots are ordered -window, ..., -1, 1, ..., window. With a ``generator``, each
    center uses a window drawn uniformly from 1..window (the slots beyond it are ``PAD``).
    """
    ids = _as_ids(ids)
    _check_window(window)
    if len(ids) < 2:
        raise ValueError("cbow_examples needs at least two words (a center and one context word)")
    pos, valid = _windows(ids, window, generator)
    contexts = torch.where(valid, ids[pos], torch.full_like(pos, PAD))
    return contexts, ids.clone()


def negative_sampling_loss(v_in: torch.Tensor, v_out: torch.Tensor, v_noise: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of -log sigmoid(v'_O . v_I) - sum_k log sigmoid(-v'_k . v_I).

    v_in: (B, D) input vectors v_I (the center word for skip-gram, the mean of the context for CBOW);
    v_out: (B, D) output vectors v'_O of the true word; v_noise: (B, K, D) output vectors of K noise words.
    Returns a scalar.
    """
    if v_in.ndim != 2 or v_out.shape != v_in.shape:
        raise ValueError(f"v_in and v_out must both be (B, D), got {tuple(v_in.shape)} and {tuple(v_out.shape)}")
    if v_noise.ndim != 3 or v_noise.shape[0] != v_in.shape[0] or v_noise.shape[2] != v_in.shape[1]:
        raise ValueError(f"v_noise must be (B={v_in.shape[0]}, K, D={v_in.shape[1]}), got {tuple(v_noise.shape)}")
    positive = F.logsigmoid((v_in * v_out).sum(-1))  # (B,)
    negative = F.logsigmoid(-(v_noise * v_in[:, None, :]).sum(-1)).sum(-1)  # (B, K) -> (B,)
    return -(positive + negative).mean()


class _Word2Vec(nn.Module):
    """Two tables: ``inp`` (V, D), the input vectors v_w (rows of the input weight matrix W; the word vectors we
    keep), and ``out`` (V, D), the output vectors v'_w (columns of the output weight matrix W', stored as rows)."""

    def __init__(self, vocab_size: int, dim: int = 100, sparse: bool = True):
        super().__init__()
        if vocab_size < 2 or dim < 1:
            raise ValueError(f"need vocab_size >= 2 and dim >= 1, got {vocab_size} and {dim}")
        self.inp = nn.Embedding(vocab_size, dim, sparse=sparse)  # (V, D): W, row w = v_w
        self.out = nn.Embedding(vocab_size, dim, sparse=sparse)  # (V, D): W' transposed, row w = v'_w
        # as in the C code: small random input vectors, zero output vectors
        nn.init.uniform_(self.inp.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.out.weight)

    def vectors(self) -> torch.Tensor:
        """(V, D) copy of the input vectors: the word embeddings."""
        return self.inp.weight.detach().cpu().clone()


class SkipGram(_Word2Vec):
    """Skip-gram: the center word's vector predicts each context word. forward(centers (B,), contexts (B,),
    negatives (B, K)) -> scalar negative-sampling loss."""

    def forward(self, centers: torch.Tensor, contexts: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        v_in = self.inp(centers)  # (B, D): v_I, the center word's input vector (the hidden layer h)
        return negative_sampling_loss(v_in, self.out(contexts), self.out(negatives))


class CBOW(_Word2Vec):
    """Continuous bag of words: the mean of the context vectors predicts the center word.
    forward(contexts (B, 2w) padded with -1, centers (B,), negatives (B, K)) -> scalar loss."""

    def forward(self, contexts: torch.Tensor, centers: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        mask = (contexts != PAD).float()  # (B, 2w)
        vecs = self.inp(contexts.clamp_min(0)) * mask[..., None]  # (B, 2w, D), padding zeroed
        h = vecs.sum(1) / mask.sum(1, keepdim=True).clamp_min(1.0)  # (B, D): mean of the real context words
        return negative_sampling_loss(h, self.out(centers), self.out(negatives))


def train(model: _Word2Vec, ids, counts, *, window: int = 5, negatives: int = 5, epochs: int = 1,
          batch_size: int = 1024, lr: float = 0.02, t: float = 1e-3, power: float = 0.75,
          max_steps: int | None = None, optimizer: str = "adam", seed: int = 0,
          progress: bool = True) -> list[float]:
    """Train a ``SkipGram`` or ``CBOW`` model on the word-id stream ``ids`` (N,); return the loss of every step.

    Each epoch: subsample frequent words (threshold ``t``), build the skip-gram pairs or CBOW examples with a
    reduced window (a size drawn from 1..``window`` for each center), shuffle them, and take minibatches of
    ``batch_size``, each example with ``negatives`` noise words drawn from count^``power``. ``optimizer="adam"``
    uses SparseAdam (Adam for dense tables), ``"sgd"`` plain SGD; the learning rate falls linearly to 0, as in
    word2vec. ``counts`` (V,) gives each id's count in ``ids``. ``max_steps`` stops early (for quick runs).
    The random draws (subsampling, windows, order, negatives) come from one generator seeded with ``seed``.
    """
    ids = _as_ids(ids)
    _check_window(window)
    if not isinstance(model, (SkipGram, CBOW)):
        raise TypeError(f"model must be a SkipGram or CBOW, got {type(model).__name__}")
    if negatives < 1 or epochs < 1 or batch_size < 1 or not lr > 0:
        raise ValueError(f"need negatives, epochs, batch_size >= 1 and lr > 0, got {negatives}, {epochs}, "
                         f"{batch_size}, {lr}")
    V = model.inp.num_embeddings
    if int(ids.max()) >= V:
        raise ValueError(f"id {int(ids.max())} is outside the model's vocabulary of {V}")
    counts = _as_counts(counts)
    if counts.numel() != V:
        raise ValueError(f"counts has {counts.numel()} entries, the model's vocabulary {V}")
    keep = keep_probabilities(counts, t)
    noise = noise_distribution(counts, power)
    g = torch.Generator().manual_seed(seed)
    device = model.inp.weight.device
    if optimizer == "sgd":
        opt = torch.optim.SGD(list(model.parameters()), lr=lr)
    elif optimizer == "adam":
        opt = (torch.optim.SparseAdam if model.inp.sparse else torch.optim.Adam)(list(model.parameters()), lr=lr)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")

    def examples():
        kept = subsample(ids, keep, g)
        if isinstance(model, SkipGram):
            return skipgram_pairs(kept, window, g)
        return cbow_examples(kept, window, g)

    # the number of steps is fixed by the first epoch's subsample (later ones differ by a fraction of a percent)
    first = examples()
    steps_per_epoch = math.ceil(len(first[1]) / batch_size)
    total = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    losses: list[float] = []
    bar = tqdm(total=total, desc=type(model).__name__, unit="step", disable=not progress)
    model.train()
    data = first
    for _epoch in range(epochs):
        if len(losses) >= total:
            break
        if data is None:
            data = examples()
        order = torch.randperm(len(data[1]), generator=g)
        for start in range(0, len(order), batch_size):
            if len(losses) >= total:
                break
            idx = order[start:start + batch_size]
            a, b = data[0][idx].to(device), data[1][idx].to(device)
            neg = torch.multinomial(noise, len(idx) * negatives, replacement=True, generator=g)
            neg = neg.view(len(idx), negatives).to(device)  # (B, K)
            for group in opt.param_groups:
                group["lr"] = lr * max(1e-4, 1 - len(losses) / total)
            loss = model(a, b, neg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            bar.update(1)
        data = None
    bar.close()
    return losses


def _unit(vectors: torch.Tensor) -> torch.Tensor:
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be (V, D), got shape {tuple(vectors.shape)}")
    return F.normalize(vectors.float(), dim=1)


def _word_id(vocab, word: str) -> int:
    if word not in vocab:
        raise KeyError(f"{word!r} is not in the vocabulary ({len(vocab)} words)")
    return vocab.stoi[word]


def most_similar(vectors: torch.Tensor, vocab, positive: Iterable[str], negative: Iterable[str] = (),
                 k: int = 5) -> list[tuple[str, float]]:
    """The k words whose vectors are closest (cosine) to sum(positive) - sum(negative), of unit vectors.

    vectors: (V, D), row i for vocab id i. The query words themselves and ``<unk>`` are never returned.
    ``most_similar(v, vocab, ["king", "woman"], ["man"])`` answers "man is to king as woman is to ?" (3CosAdd).
    Returns [(word, cosine)], most similar first. Unknown words raise ``KeyError``.
    """
    positive, negative = list(positive), list(negative)
    if not positive:
        raise ValueError("most_similar needs at least one positive word")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if vectors.shape[0] != len(vocab):
        raise ValueError(f"vectors has {vectors.shape[0]} rows, the vocabulary {len(vocab)} words")
    unit = _unit(vectors)  # (V, D)
    pos = [_word_id(vocab, w) for w in positive]
    neg = [_word_id(vocab, w) for w in negative]
    query = unit[pos].sum(0) - (unit[neg].sum(0) if neg else 0)  # (D,)
    sims = unit @ F.normalize(query, dim=0)  # (V,)
    sims[[0, *pos, *neg]] = -float("inf")  # never answer <unk> or a query word
    top = sims.topk(min(k, len(vocab) - 1 - len(set(pos + neg))))
    return [(vocab.itos[i], round(float(s), 4)) for s, i in zip(top.values, top.indices, strict=True)]


def nearest_neighbours(vectors: torch.Tensor, vocab, word: str, k: int = 5) -> list[tuple[str, float]]:
    """The k words with the highest cosine similarity to ``word`` (itself excluded): [(word, cosine)]."""
    return most_similar(vectors, vocab, [word], k=k)


def pair_similarities(vectors: torch.Tensor, vocab, pairs: Iterable[tuple[str, str]]) -> torch.Tensor:
    """(P,) cosine similarity of each (word, word) pair. Unknown words raise ``KeyError``."""
    pairs = list(pairs)
    if not pairs:
        raise ValueError("pair_similarities needs at least one pair")
    unit = _unit(vectors)
    a = torch.tensor([_word_id(vocab, x) for x, _ in pairs])
    b = torch.tensor([_word_id(vocab, y) for _, y in pairs])
    return (unit[a] * unit[b]).sum(1)
