"""n-gram language models by counting (notebook 01): smoothing, perplexity, sampling, sparsity.

An n-gram model predicts the next word from the ``n - 1`` words before it, with probabilities read off counts
made on a training text. Three smoothings, each giving a proper distribution over the whole vocabulary (the
probabilities of every possible next word add up to 1, so perplexity means something):

- ``"add-k"``: ``P(w | h) = (c(h w) + k) / (c(h) + k V)``: pretend every n-gram was seen ``k`` more times.
- ``"interpolation"`` (Witten-Bell): mix the n-gram estimate with the (n-1)-gram one, recursively down to the
  uniform distribution ``1 / V``: ``P(w | h) = (c(h w) + T(h) P(w | h')) / (c(h) + T(h))``, where ``h'`` drops the
  oldest word of ``h`` and ``T(h)`` is the number of different words seen after ``h``. A history followed by many
  different words leaves more weight to the shorter history; an unseen history uses the shorter one entirely.
- ``"kneser-ney"``: interpolated Kneser-Ney (Kneser & Ney 1995; in the interpolated form of Chen & Goodman 1998),
  the standard n-gram baseline. Subtract a discount ``D`` from every seen count and give the freed mass to the
  shorter history: ``P(w | h) = max(c(h w) - D, 0) / c(h) + D N1+(h .) / c(h) * P(w | h')``, where
  ``N1+(h .)`` is the number of different words seen after ``h``. The shorter histories do not use raw counts but
  **continuation counts** ``N1+(. h' w)``, the number of different words seen *before* ``h' w``: a word that is
  frequent but only ever follows one word (*Francisco* after *San*) is a poor guess after a new history. The
  recursion ends at the uniform ``1 / V``. ``D`` is estimated for each order from the counts of counts,
  ``D = n1 / (n1 + 2 n2)`` (Ney, Essen & Kneser 1994), or given.

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

SMOOTHINGS = ("add-k", "interpolation", "kneser-ney")


class NGramLM:
    """A count-based n-gram language model over a fixed vocabulary.

    ``n``: the order (1 = unigram, 2 = bigram, ...). ``vocab``: a ``helpers.words.Vocab`` (to accept words and
    decode samples) or the vocabulary size ``V`` (ids only). ``smoothing``: ``"interpolation"`` (Witten-Bell,
    the default), ``"add-k"`` with ``k > 0``, or ``"kneser-ney"`` (interpolated Kneser-Ney) with ``discount``:
    ``None`` (the default) estimates one discount per order from the counts, ``D = n1 / (n1 + 2 n2)``; a number
    in (0, 1] uses it at every order; a sequence of ``n`` numbers in [0, 1] gives the discount of each order
    1 .. n (a discount of 0 at order 1 ends the recursion at the continuation unigram, without the uniform
    distribution, as NLTK's ``KneserNeyInterpolated`` does; words never seen after another word then get 0).

    After ``fit(tokens)``, ``counts[m]`` maps each m-gram (a tuple of m ids) to its count, for m = 1 .. n.
    """

    def __init__(self, n: int, vocab: Vocab | int, smoothing: str = "interpolation", k: float = 1.0,
                 discount: float | Sequence[float] | None = None):
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
        self.discount = _check_discount(discount, n)
        self.counts: list[dict[tuple, int]] = []
        self._types: list[dict[tuple, int]] = []  # T(h): how many different words followed history h
        self._end: tuple = ()  # the last n - 1 tokens of the training text
        self._size = 0  # the number of training tokens
        self._continuation: dict[int, tuple[dict, dict, dict]] = {}  # Kneser-Ney tables, built when first needed
        self._discounts: list[float] | None = None

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
        self._continuation, self._discounts = {}, None
        return self

    def truncated(self, n: int, smoothing: str | None = None, k: float | None = None,
                  discount: float | Sequence[float] | None = None) -> NGramLM:
        """The same counts as a model of lower order ``n`` (and, if given, another smoothing): no re-counting.

        A table of 5-gram counts holds the 1- to 4-gram counts too, so one ``fit`` serves every order.
        A single Kneser-Ney ``discount`` is inherited; per-order discounts are not (``None`` estimates them again
        for the new top order).
        """
        self._check_fitted()
        if not isinstance(n, int) or not 1 <= n <= self.n:
            raise ValueError(f"can only lower the order to 1 .. {self.n}, got {n!r}")
        lower = NGramLM(n, self.vocab if self.vocab is not None else self.V,
                        self.smoothing if smoothing is None else smoothing, self.k if k is None else k,
                        discount if discount is not None or isinstance(self.discount, list) else self.discount)
        lower.counts, lower._types, lower._size = self.counts[: n + 1], self._types[: n + 1], self._size
        lower._end = self._end[max(0, len(self._end) - n + 1):] if n > 1 else ()
        lower._continuation = self._continuation  # continuation counts of order m < n do not depend on n: shared
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
        if self.smoothing == "kneser-ney":
            return self._prob_kn(w, h)
        p = 1.0 / self.V  # order 0: uniform over the vocabulary
        for m in range(1, len(h) + 2):  # interpolate upwards: unigram, bigram, ..., up to the full history
            hist = h[len(h) - m + 1:] if m > 1 else ()
            total = self._total(hist)
            if total == 0:  # history never seen: the longer ones are unseen too
                break
            types = self._types[m][hist]
            p = (self.counts[m].get(hist + (w,), 0) + types * p) / (total + types)
        return p

    # ----- Kneser-Ney ------------------------------------------------------------------------------------------
    def continuation_counts(self, m: int) -> tuple[dict, dict, dict]:
        """Kneser-Ney's tables for order ``m`` < n, built from the (m+1)-gram counts (once, then kept).

        Returns ``(cc, total, types)``: ``cc[g]`` = N1+(. g), the number of different words seen right before the
        m-gram ``g``; for each history ``h`` of m - 1 ids, ``total[h]`` = sum of ``cc[h + (w,)]`` over w and
        ``types[h]`` = the number of words w with ``cc[h + (w,)] > 0``.
        """
        self._check_fitted()
        if not isinstance(m, int) or not 1 <= m < self.n:
            raise ValueError(f"continuation counts exist for orders 1 .. {self.n - 1}, got {m!r}")
        if m not in self._continuation:
            cc = Counter(g[1:] for g in self.counts[m + 1])  # each (m+1)-gram type adds 1 to its last m words
            total: Counter = Counter()
            types: Counter = Counter()
            for g, c in cc.items():
                total[g[:-1]] += c
                types[g[:-1]] += 1
            self._continuation[m] = (dict(cc), dict(total), dict(types))
        return self._continuation[m]

    @property
    def discounts(self) -> list[float]:
        """Kneser-Ney's discount for each order 1 .. n (estimated from the counts of counts unless given)."""
        self._check_fitted()
        if self._discounts is None:
            if isinstance(self.discount, list):
                self._discounts = list(self.discount)
            elif self.discount is not None:
                self._discounts = [self.discount] * self.n
            else:  # D = n1 / (n1 + 2 n2) over the counts each order uses (raw at the top, continuation below)
                self._discounts = []
                for m in range(1, self.n + 1):
                    used = self.counts[m] if m == self.n else self.continuation_counts(m)[0]
                    n1 = sum(c == 1 for c in used.values())
                    n2 = sum(c == 2 for c in used.values())
                    self._discounts.append(n1 / (n1 + 2 * n2) if n1 > 0 else 0.5)  # no singletons: a middle value
        return self._discounts

    def _prob_kn(self, w: int, h: tuple) -> float:
        discounts = self.discounts
        p = 1.0 / self.V  # order 0: uniform over the vocabulary
        for m in range(1, len(h) + 2):  # unigram, bigram, ..., up to the full history
            hist = h[len(h) - m + 1:] if m > 1 else ()
            if m == self.n:  # the model's own order: raw counts
                total = self._total(hist)
                if total == 0:  # history never seen (with a follower): keep the shorter history's estimate
                    continue
                count, types = self.counts[m].get(hist + (w,), 0), self._types[m][hist]
            else:  # shorter histories: continuation counts
                cc, totals, all_types = self.continuation_counts(m)
                total = totals.get(hist, 0)
                if total == 0:  # never seen after another word: this order has nothing to add
                    continue
                count, types = cc.get(hist + (w,), 0), all_types[hist]
            d = discounts[m - 1]
            p = (max(count - d, 0.0) + d * types * p) / total
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


def _check_discount(discount, n: int) -> float | list[float] | None:
    """None, one number in (0, 1], or n numbers in [0, 1] (one per order): Kneser-Ney's discount(s)."""
    if discount is None:
        return None
    if isinstance(discount, numbers.Real):
        if not 0 < discount <= 1:
            raise ValueError(f"the Kneser-Ney discount must lie in (0, 1], got {discount}")
        return float(discount)
    values = list(discount)
    if len(values) != n or not all(isinstance(d, numbers.Real) and 0 <= d <= 1 for d in values):
        raise ValueError(f"give one discount per order 1 .. {n}, each in [0, 1], got {discount!r}")
    return [float(d) for d in values]


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
