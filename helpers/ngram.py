"""n-gram language models by counting (notebook 01): smoothing, perplexity, sampling, sparsity.

An n-gram model predicts the next word from the ``n - 1`` words before it, with probabilities read off counts
made on a training text. Two smoothings, both giving a proper distribution over the whole vocabulary (the
probabilities of every possible next word add up to 1, so perplexity means something):

- ``"add-k"``: ``P(w | h) = (c(h w) + k) / (c(h) + k V)``: pretend every n-gram was seen ``k`` more times.
- ``"interpolation"`` (Witten-Bell): mix the n-gram estimate with the (n-1)-gram one, recursively down to the
  uniform distribution ``1 / V``: ``P(w | h) = (c(h w) + T(h) P(w | h')) / (c(h) + T(h))``, where ``h'`` drops the
  oldest word of ``h`` and ``T(h)`` is the number of different words seen after ``h``. A history followed by many
  different words leaves more weight to the shorter history; an unseen history uses the shorter one entirely.

>>> from helpers.ngram import NGramLM
>>> from helpers.words import Vocab, words
>>> train = words("the cat sat on the mat . the dog sat on the cat .")
>>> vocab = Vocab.build(train)
>>> lm = NGramLM(2, vocab).fit(train)
>>> round(lm.prob("sat", ["cat"]), 3), round(lm.perplexity(words("the dog sat on the mat .")), 2)

Tokens are words (``str``, mapped to ids by the ``Vocab``; unknown words become ``<unk>``, id 0) or ids
(``int`` in ``0 .. V-1``). Histories shorter than ``n - 1`` (at the start of a text) use the lower orders.
"""

from __future__ import annotations

import math
import numbers
import random
from collections import Counter
from collections.abc import Sequence

from helpers.words import Vocab

SMOOTHINGS = ("add-k", "interpolation")


class NGramLM:
    """A count-based n-gram language model over a fixed vocabulary.

    ``n``: the order (1 = unigram, 2 = bigram, ...). ``vocab``: a ``helpers.words.Vocab`` (to accept words and
    decode samples) or the vocabulary size ``V`` (ids only). ``smoothing``: ``"interpolation"`` (Witten-Bell,
    the default) or ``"add-k"`` with ``k > 0``.

    After ``fit(tokens)``, ``counts[m]`` maps each m-gram (a tuple of m ids) to its count, for m = 1 .. n.
    """

    def __init__(self, n: int, vocab: Vocab | int, smoothing: str = "interpolation", k: float = 1.0):
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"the order n must be an integer >= 1, got {n!r}")
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"unknown smoothing {smoothing!r}: use one of {', '.join(SMOOTHINGS)}")
        if smoothing == "add-k" and not k > 0:
            raise ValueError(f"add-k smoothing needs k > 0 (k = 0 gives unseen words probability 0), got {k}")
        if isinstance(vocab, Vocab):
            self.vocab, self.V = vocab, len(vocab)
        elif isinstance(vocab, int) and vocab >= 1:
            self.vocab, self.V = None, vocab
        else:
            raise ValueError(f"vocab must be a helpers.words.Vocab or a vocabulary size >= 1, got {vocab!r}")
        self.n, self.smoothing, self.k = n, smoothing, float(k)
        self.counts: list[dict[tuple, int]] = []
        self._types: list[dict[tuple, int]] = []  # T(h): how many different words followed history h
        self._end: tuple = ()  # the last n - 1 tokens of the training text
        self._size = 0  # the number of training tokens

    def __repr__(self) -> str:
        state = f"{self._size:,} training tokens" if self.counts else "not fitted"
        return f"NGramLM(n={self.n}, V={self.V}, smoothing={self.smoothing!r}, {state})"

    # ----- counting -------------------------------------------------------------------------------------------
    def fit(self, tokens: Sequence) -> NGramLM:
        """Count every m-gram (m = 1 .. n) of ``tokens`` (words or ids). Returns ``self``."""
        ids = self._ids(tokens)
        if not ids:
            raise ValueError("cannot fit an n-gram model on an empty text")
        self.counts, self._types = [{}], [{}]  # index 0 unused: orders start at 1
        for m in range(1, self.n + 1):
            grams = Counter(zip(*(ids[i:] for i in range(m))))  # every m-gram, with its count
            self.counts.append(dict(grams))
            self._types.append(dict(Counter(g[:-1] for g in grams)))  # T(h): different words seen after h
        self._size = len(ids)
        self._end = tuple(ids[max(0, len(ids) - self.n + 1):]) if self.n > 1 else ()  # nothing follows these
        return self

    def truncated(self, n: int, smoothing: str | None = None, k: float | None = None) -> NGramLM:
        """The same counts as a model of lower order ``n`` (and, if given, another smoothing): no re-counting.

        A table of 5-gram counts holds the 1- to 4-gram counts too, so one ``fit`` serves every order.
        """
        self._check_fitted()
        if not isinstance(n, int) or not 1 <= n <= self.n:
            raise ValueError(f"can only lower the order to 1 .. {self.n}, got {n!r}")
        lower = NGramLM(n, self.vocab if self.vocab is not None else self.V,
                        self.smoothing if smoothing is None else smoothing, self.k if k is None else k)
        lower.counts, lower._types, lower._size = self.counts[: n + 1], self._types[: n + 1], self._size
        lower._end = self._end[max(0, len(self._end) - n + 1):] if n > 1 else ()
        return lower

    def count(self, *gram) -> int:
        """How often the words or ids ``gram`` occurred together in the training text (0 if never)."""
        self._check_fitted()
        if not 1 <= len(gram) <= self.n:
            raise ValueError(f"this model counts 1- to {self.n}-grams, got a {len(gram)}-gram")
        return self.counts[len(gram)].get(tuple(self._ids(gram)), 0)

    def followers(self, history: Sequence) -> Counter:
        """``Counter`` of the ids seen right after ``history`` (at most n - 1 words) in training."""
        self._check_fitted()
        h = tuple(self._ids(history))
        if len(h) >= self.n:
            raise ValueError(f"a history has at most n - 1 = {self.n - 1} tokens, got {len(h)}")
        grams = self.counts[len(h) + 1]
        return Counter({g[-1]: c for g, c in grams.items() if g[:-1] == h})

    # ----- probabilities --------------------------------------------------------------------------------------
    def prob(self, token, history: Sequence = ()) -> float:
        """``P(token | history)``; only the last ``n - 1`` tokens of ``history`` matter."""
        self._check_fitted()
        (w,) = self._ids([token])
        return self._prob(w, self._context(self._ids(history)))

    def log_prob(self, token, history: Sequence = ()) -> float:
        """Natural log of ``prob(token, history)``."""
        return math.log(self.prob(token, history))

    def distribution(self, history: Sequence = ()) -> list[float]:
        """``P(w | history)`` for every id ``w`` in ``0 .. V-1`` (a list of V numbers that sums to 1)."""
        self._check_fitted()
        h = self._context(self._ids(history))
        return [self._prob(w, h) for w in range(self.V)]

    def _context(self, ids: list[int]) -> tuple:
        """The last n - 1 ids (fewer at the start of a text): all the model looks at."""
        return tuple(ids[-(self.n - 1):]) if self.n > 1 else ()

    def _total(self, h: tuple) -> int:
        """c(h): how often history h was followed by a token (its count, less 1 if it ends the text)."""
        if not h:
            return self._size
        return self.counts[len(h)].get(h, 0) - (h == self._end[len(self._end) - len(h):])

    def _prob(self, w: int, h: tuple) -> float:
        if self.smoothing == "add-k":
            return (self.counts[len(h) + 1].get(h + (w,), 0) + self.k) / (self._total(h) + self.k * self.V)
        p = 1.0 / self.V  # order 0: uniform over the vocabulary
        for m in range(1, len(h) + 2):  # interpolate upwards: unigram, bigram, ..., up to the full history
            hist = h[len(h) - m + 1:] if m > 1 else ()
            total = self._total(hist)
            if total == 0:  # history never seen: the longer ones are unseen too
                break
            types = self._types[m][hist]
            p = (self.counts[m].get(hist + (w,), 0) + types * p) / (total + types)
        return p

    def perplexity(self, tokens: Sequence, start: int = 0) -> float:
        """``exp`` of the average negative log-probability of ``tokens[start:]``, each given the tokens before it.

        ``start`` lets two models score exactly the same positions (e.g. a neural model that needs ``start``
        words of history); the tokens before ``start`` still serve as history.
        """
        self._check_fitted()
        ids = self._ids(tokens)
        if not 0 <= start < len(ids):
            raise ValueError(f"nothing to score: {len(ids)} tokens, start={start}")
        nll = 0.0
        for t in range(start, len(ids)):
            nll -= math.log(self._prob(ids[t], tuple(ids[max(0, t - self.n + 1):t])))
        return math.exp(nll / (len(ids) - start))

    def sample(self, length: int, prompt: Sequence = (), seed: int = 0) -> list[int]:
        """Draw ``length`` ids one at a time from ``P(w | previous n - 1 tokens)``; returns prompt + new ids."""
        self._check_fitted()
        if length < 0:
            raise ValueError(f"length must be >= 0, got {length}")
        rng = random.Random(seed)
        out = self._ids(prompt)
        for _ in range(length):
            probs = self.distribution(out)
            out.append(rng.choices(range(self.V), weights=probs)[0])
        return out

    # ----- input checks ---------------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not self.counts:
            raise RuntimeError("the model has no counts yet: call fit(tokens) first")

    def _ids(self, tokens: Sequence) -> list[int]:
        if isinstance(tokens, str):
            raise TypeError("pass a list of words (e.g. helpers.words.words(text)), not one string")
        tokens = tokens.tolist() if hasattr(tokens, "tolist") else list(tokens)
        if all(isinstance(t, str) for t in tokens):
            if tokens and self.vocab is None:
                raise TypeError("this model was given a vocabulary size, not a Vocab: pass ids, not words")
            return self.vocab.encode(tokens) if tokens else []
        if not all(isinstance(t, numbers.Integral) for t in tokens):
            raise TypeError("tokens must be all words (str) or all ids (int)")
        tokens = [int(t) for t in tokens]
        if tokens and not 0 <= min(tokens) <= max(tokens) < self.V:
            raise ValueError(f"ids must lie in 0 .. {self.V - 1}, got {min(tokens)} .. {max(tokens)}")
        return tokens


def unseen_ngram_share(train: Sequence, valid: Sequence, n: int) -> float:
    """The share of the n-grams of ``valid`` (counted at every position) that never occur in ``train``.

    ``train`` and ``valid`` are sequences of words or ids. At n = 1 it is the share of unknown words; it climbs
    towards 1 as n grows, because longer word sequences are rarer.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if len(train) < n:
        raise ValueError(f"the training text has {len(train)} tokens, fewer than n = {n}")
    if len(valid) < n:
        raise ValueError(f"the validation text has {len(valid)} tokens, fewer than n = {n}")
    seen = set(zip(*(train[i:] for i in range(n))))
    grams = list(zip(*(valid[i:] for i in range(n))))
    return sum(g not in seen for g in grams) / len(grams)
