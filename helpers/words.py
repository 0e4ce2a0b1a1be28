"""Word-level text for notebooks 01-03: split text into words, and a vocabulary that maps words to ids.

The Transformer notebooks use the BPE tokenizer (``helpers.tokenizer``); the older models of notebooks 01-03
(n-grams, RNNs, word2vec) are easier to read over whole words. One rule for everyone:

- lower-case the text;
- a word is a run of letters, possibly with inner apostrophes (``'tis`` keeps its apostrophe only inside:
  ``don't``, ``o'er``); the punctuation marks ``. , ; : ! ?`` are words of their own;
- everything else (digits, brackets, dashes, line breaks) separates words.

>>> words("To be, or not to be: that is the question.")
['to', 'be', ',', 'or', 'not', 'to', 'be', ':', 'that', 'is', 'the', 'question', '.']
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterable

import regex

from helpers.japanese import english_only_note

WORD_PATTERN = regex.compile(r"\p{L}+(?:'\p{L}+)*|[.,;:!?]")
UNK = "<unk>"


def words(text: str) -> list[str]:
    """Split ``text`` into lower-case words and punctuation marks (see the module docstring).

    Japanese text is split too (a run of kana and kanji is one "word": Japanese puts no spaces between words),
    with a one-line warning that says so.
    """
    if not isinstance(text, str):
        raise TypeError(f"words() takes a str, got {type(text).__name__}")
    note = english_only_note(text, what="The word splitter was written for English and the word models were")
    if note:
        warnings.warn(note, stacklevel=2)
    return WORD_PATTERN.findall(text.lower())


class Vocab:
    """A word <-> id table built from counts. Id 0 is ``<unk>``, for every word not in the table.

    ``Vocab.build(tokens, min_count=2)`` keeps the words seen at least ``min_count`` times (and at most
    ``max_size`` of them, the most frequent first; ties in alphabetical order, so the table is reproducible).
    """

    def __init__(self, itos: list[str], counts: dict[str, int] | None = None):
        if not itos or itos[0] != UNK:
            raise ValueError(f"a Vocab's first entry must be {UNK!r}")
        if len(set(itos)) != len(itos):
            raise ValueError("a Vocab's entries must be distinct")
        self.itos = list(itos)
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.counts = dict(counts or {})

    @classmethod
    def build(cls, tokens: Iterable[str], min_count: int = 1, max_size: int | None = None) -> Vocab:
        """Count ``tokens`` and keep the frequent ones (see the class docstring)."""
        if min_count < 1:
            raise ValueError(f"min_count must be at least 1, got {min_count}")
        counts = Counter(tokens)
        if not counts:
            raise ValueError("cannot build a vocabulary from no tokens (is the text empty?)")
        kept = sorted((w for w, c in counts.items() if c >= min_count and w != UNK), key=lambda w: (-counts[w], w))
        if max_size is not None:
            if max_size < 2:
                raise ValueError(f"max_size must be at least 2 (<unk> and one word), got {max_size}")
            kept = kept[: max_size - 1]
        return cls([UNK, *kept], counts)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, word: str) -> bool:
        return word in self.stoi

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Map words to ids; unknown words get id 0 (``<unk>``)."""
        return [self.stoi.get(w, 0) for w in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Map ids back to words; an id outside the table raises ``IndexError`` naming it."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.itos):
                raise IndexError(f"id {i} is outside the vocabulary of {len(self.itos)} words")
            out.append(self.itos[i])
        return out
