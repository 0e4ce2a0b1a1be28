"""Byte-level BPE (byte pair encoding, バイト対符号化), as in GPT-2: train, encode, decode, save, load.

Text becomes UTF-8 bytes (ids 0-255), so every string, Japanese and emoji included,
can be encoded with no unknown token. Training repeats: count adjacent pairs of ids,
merge the most frequent pair into a new id. Ties are broken by taking the smallest
pair (left id, then right id): a stated, deterministic rule.

>>> tok = BPETokenizer.train(text, vocab_size=2048)
>>> ids = tok.encode("To be, or not to be")
>>> tok.decode(ids)
'To be, or not to be'
>>> tok.save("tokenizer.json"); BPETokenizer.load("tokenizer.json")

Training does not recount every pair after every merge: it keeps the pair counts and,
for each merge, updates them only in the (unique) words that contain the merged pair.
``tok.words_touched`` records how many distinct words each merge updated (notebook 09 prints it).

A real model's vocabulary reads in too (notebook 14): ``BPETokenizer.from_tokenizer_json(path)`` takes Hugging
Face's ``tokenizer.json`` of a byte-level BPE (GPT-2, SmolLM2), whose ids are not the course's (byte b is not id b,
special tokens come first), so the tokenizer can carry its own id of each byte (``byte_ids``) and of each merge's
result (``merge_ids``); the algorithm is the same.
"""

from __future__ import annotations

import heapq
import json
import os
from collections import Counter, defaultdict
from pathlib import Path

import regex

# GPT-2's pre-tokenization pattern: split text into words, numbers, punctuation runs and
# spaces first, so that merges never cross those boundaries ("dog." and "dog!" share "dog").
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
END_OF_TEXT = "<|endoftext|>"


class TokenizerError(ValueError):
    """Bad input to a tokenizer, or a tokenizer file that cannot be read."""


def count_pairs(ids: list[int], counts: dict | None = None, weight: int = 1) -> dict[tuple[int, int], int]:
    """Add the counts of adjacent (overlapping) pairs in ``ids`` to ``counts``: 'aaa' has 2 of 'aa'."""
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + weight
    return counts


def merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every non-overlapping occurrence of ``pair`` in ``ids`` (left to right) by ``new_id``."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's table from the 256 byte values to printable characters, the alphabet of byte-level vocabulary files.

    Printable bytes stand for themselves ('a' is 'a'); the others (controls, space, ...) are moved to characters
    from U+0100 up, in byte order: the space 0x20 is 'Ġ' (U+0120), the newline 0x0A is 'Ċ' (U+010A). So the
    token " the" is written "Ġthe" in ``tokenizer.json``.
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in printable}
    for n, b in enumerate(b for b in range(256) if b not in table):
        table[b] = chr(256 + n)
    return dict(sorted(table.items()))


class BPETokenizer:
    """A byte-level BPE: ``merges`` in order (merge i makes id 256 + i), plus special tokens.

    ``byte_ids`` and ``merge_ids`` (keyword-only) give the ids of another vocabulary: the id of each byte value
    (None where the vocabulary has no token for that byte) and the id each merge makes. ``special_tokens`` is a
    sequence (ids follow the merges) or a dict text -> id.
    """

    def __init__(self, merges: list[tuple[int, int]], pattern: str | None = GPT2_PATTERN,
                 special_tokens: list[str] | tuple[str, ...] | dict[str, int] = (), *,
                 byte_ids: list[int | None] | None = None, merge_ids: list[int] | None = None):
        self.merges = [tuple(m) for m in merges]
        self.pattern = pattern
        self._regex = regex.compile(pattern) if pattern else None
        if byte_ids is not None and len(byte_ids) != 256:
            raise TokenizerError(f"byte_ids must give an id (or None) for each of the 256 bytes, got {len(byte_ids)}")
        if merge_ids is not None and len(merge_ids) != len(self.merges):
            raise TokenizerError(f"merge_ids must give one id per merge: {len(merge_ids)} ids, {len(self.merges)} merges")
        self.byte_ids = list(range(256)) if byte_ids is None else list(byte_ids)  # byte value -> token id
        self.merge_ids = [256 + i for i in range(len(self.merges))] if merge_ids is None else list(merge_ids)
        self._course_ids = byte_ids is None and merge_ids is None  # the course's own numbering
        self.ranks = {}  # pair -> rank (its position in the merge list: lower merges first)
        for i, pair in enumerate(self.merges):
            self.ranks.setdefault(pair, i)
        self.vocab = {i: bytes([b]) for b, i in enumerate(self.byte_ids) if i is not None}  # id -> bytes
        if len(self.vocab) != sum(i is not None for i in self.byte_ids):
            raise TokenizerError("byte_ids gives two bytes the same id")
        for i, ((a, b), new) in enumerate(zip(self.merges, self.merge_ids, strict=True)):
            if a not in self.vocab or b not in self.vocab:
                raise TokenizerError(f"merge {i} uses an id that does not exist yet: {(a, b)}")
            piece = self.vocab[a] + self.vocab[b]
            if self.vocab.setdefault(new, piece) != piece:
                raise TokenizerError(f"merge {i} makes id {new}, which already stands for {self.vocab[new]!r}")
        if isinstance(special_tokens, dict):
            self.special_tokens = {str(s): int(i) for s, i in special_tokens.items()}
        else:
            first_special = 256 + len(self.merges)
            self.special_tokens = {s: first_special + i for i, s in enumerate(special_tokens)}
        clash = [s for s, i in self.special_tokens.items() if i in self.vocab]
        if clash:
            raise TokenizerError(f"special tokens {clash[:3]} have ids that byte or merge tokens already use")
        self._special_by_id = {i: s.encode("utf-8") for s, i in self.special_tokens.items()}
        self._size = 1 + max([*self.vocab, *self._special_by_id], default=-1)
        longest_first = sorted(self.special_tokens, key=len, reverse=True)  # '<|a|>x' before '<|a|>'
        self._special_regex = (regex.compile("(" + "|".join(regex.escape(s) for s in longest_first) + ")")
                               if self.special_tokens else None)
        self._cache: dict[str, list[int]] = {}
        # Set by ``train``: for each merge, how many distinct words contained the merged pair (the words it
        # updated). None for a tokenizer built from a merge list or loaded from a file.
        self.words_touched: list[int] | None = None

    # ----- sizes and names -------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """One more than the largest id (bytes, merges and special tokens)."""
        return self._size

    @property
    def eot_id(self) -> int:
        """Id of the end-of-text token (raises if the tokenizer has none)."""
        if END_OF_TEXT not in self.special_tokens:
            raise TokenizerError(f"this tokenizer has no {END_OF_TEXT} token")
        return self.special_tokens[END_OF_TEXT]

    def token_bytes(self, i: int) -> bytes:
        """The bytes a token id stands for (a special token's own text for special ids)."""
        if i in self._special_by_id:
            return self._special_by_id[i]
        if i not in self.vocab:
            raise TokenizerError(f"token id {i} is outside the vocabulary (size {self.vocab_size})")
        return self.vocab[i]

    # ----- training --------------------------------------------------------------------------
    @classmethod
    def train(cls, text: str, vocab_size: int, pattern: str | None = GPT2_PATTERN,
              special_tokens: list[str] | tuple[str, ...] = (END_OF_TEXT,), verbose: bool = False) -> BPETokenizer:
        """Learn ``vocab_size - 256 - len(special_tokens)`` merges from ``text``.

        With a pattern, text is first split into chunks that merges never cross; each distinct
        chunk is a "word" weighted by how often it occurs. Pair counts live in a dict and a
        heap; a merge updates only the words that contain the merged pair, found through an index
        pair -> words that is kept exact (a word leaves a pair's set when a merge removes the pair
        from it). The returned tokenizer's ``words_touched`` lists, per merge, how many words it updated.
        """
        n_merges = vocab_size - 256 - len(special_tokens)
        if not text:
            raise TokenizerError("cannot train on empty text")
        if n_merges < 0:
            raise TokenizerError(f"vocab_size {vocab_size} is smaller than 256 bytes + {len(special_tokens)} special tokens")
        chunks = regex.findall(pattern, text) if pattern else [text]
        word_counts = Counter(chunks)
        words = [list(w.encode("utf-8")) for w in word_counts]  # each distinct chunk as byte ids
        freqs = list(word_counts.values())

        counts: dict[tuple[int, int], int] = defaultdict(int)
        where: dict[tuple[int, int], set[int]] = defaultdict(set)  # pair -> words that contain it
        for w, (ids, f) in enumerate(zip(words, freqs, strict=True)):
            for pair in zip(ids, ids[1:]):
                counts[pair] += f
                where[pair].add(w)
        heap = [(-c, pair) for pair, c in counts.items()]
        heapq.heapify(heap)

        merges: list[tuple[int, int]] = []
        touched: list[int] = []  # per merge: the words that held the pair
        while len(merges) < n_merges and heap:
            neg, pair = heapq.heappop(heap)
            current = counts.get(pair, 0)
            if current != -neg:  # a stale entry: the count changed since it was pushed
                if current > 0:
                    heapq.heappush(heap, (-current, pair))
                continue
            if current < 2:  # nothing left worth merging
                break
            new_id = 256 + len(merges)
            merges.append(pair)
            if verbose:
                print(f"merge {len(merges)}: {pair} -> {new_id} ({current} times)")
            changed: set[tuple[int, int]] = set()
            touched.append(len(where[pair]))
            for w in list(where[pair]):
                ids, f = words[w], freqs[w]
                new_ids = merge(ids, pair, new_id)
                old_pairs = list(zip(ids, ids[1:]))
                new_pairs = list(zip(new_ids, new_ids[1:]))
                for p in old_pairs:  # remove the word's old pairs ...
                    counts[p] -= f
                for p in new_pairs:  # ... and add its new ones
                    counts[p] += f
                    where[p].add(w)
                    changed.add(p)
                for p in set(old_pairs).difference(new_pairs):  # pairs the merge took out of this word
                    if p != pair:  # (its count fell: the heap's stale-entry check handles that)
                        where[p].discard(w)
                words[w] = new_ids
            del counts[pair], where[pair]
            for p in changed:
                if counts.get(p, 0) > 0:
                    heapq.heappush(heap, (-counts[p], p))
        tok = cls(merges, pattern=pattern, special_tokens=special_tokens)
        tok.words_touched = touched
        return tok

    # ----- encoding and decoding --------------------------------------------------------------
    def _encode_chunk(self, chunk: str) -> list[int]:
        """Apply the merges, lowest rank first, to one pre-tokenized chunk (cached)."""
        cached = self._cache.get(chunk)
        if cached is not None:
            return cached
        ids = [self.byte_ids[b] for b in chunk.encode("utf-8")]
        if None in ids:
            byte = chunk.encode("utf-8")[ids.index(None)]
            raise TokenizerError(f"byte 0x{byte:02x} (in {chunk!r}) has no token in this vocabulary")
        while len(ids) >= 2:
            ranked = [(self.ranks.get(p, 1 << 30), p) for p in zip(ids, ids[1:])]
            rank, pair = min(ranked)  # the earliest-learned merge present; ties: the smaller pair
            if rank == 1 << 30:
                break
            ids = merge(ids, pair, self.merge_ids[rank])
        if len(self._cache) < 500_000:
            self._cache[chunk] = ids
        return ids

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode ``text`` treating special-token strings as plain text."""
        if not isinstance(text, str):
            raise TokenizerError(f"encode expects a str, got {type(text).__name__}")
        chunks = self._regex.findall(text) if self._regex else [text]
        out: list[int] = []
        try:
            for chunk in chunks:
                out.extend(self._encode_chunk(chunk))
        except UnicodeEncodeError as e:
            raise TokenizerError(f"text is not valid Unicode at position {e.start}: a lone surrogate "
                                 f"{text[e.start]!r} has no UTF-8 bytes") from None
        return out

    def encode(self, text: str, allow_special: bool = True) -> list[int]:
        """Encode ``text`` to token ids. Special-token strings (e.g. ``<|endoftext|>``) become
        their single id, unless ``allow_special=False``, where they are encoded as plain text."""
        if not isinstance(text, str):
            raise TokenizerError(f"encode expects a str, got {type(text).__name__}")
        if not allow_special or self._special_regex is None:
            return self.encode_ordinary(text)
        out: list[int] = []
        for part in self._special_regex.split(text):
            if part in self.special_tokens:
                out.append(self.special_tokens[part])
            elif part:
                out.extend(self.encode_ordinary(part))
        return out

    def decode(self, ids) -> str:
        """Token ids back to text. Byte sequences that are not valid UTF-8 (a cut in the middle of a
        character) become U+FFFD; for the ids of a whole encoded string the round trip is exact."""
        return b"".join(self.token_bytes(int(i)) for i in ids).decode("utf-8", errors="replace")

    # ----- files -------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write a readable JSON file (merges with the text they stand for), atomically."""
        path = Path(path)
        data = {
            "format": "course byte-level BPE v1",
            "pattern": self.pattern,
            "special_tokens": self.special_tokens,
            "vocab_size": self.vocab_size,
            "merges": [[a, b, self.vocab[new].decode("utf-8", errors="backslashreplace")]
                       for (a, b), new in zip(self.merges, self.merge_ids, strict=True)],
        }
        if not self._course_ids:  # another vocabulary's numbering
            data["byte_ids"], data["merge_ids"] = self.byte_ids, self.merge_ids
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> BPETokenizer:
        """Read a file written by ``save``; a missing or damaged file raises ``TokenizerError``."""
        path = Path(path)
        if not path.exists():
            raise TokenizerError(f"tokenizer file {path} does not exist")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            merges = [(int(m[0]), int(m[1])) for m in data["merges"]]
            if "byte_ids" in data:
                tok = cls(merges, pattern=data["pattern"], special_tokens=data["special_tokens"],
                          byte_ids=data["byte_ids"], merge_ids=data["merge_ids"])
            else:
                specials = sorted(data["special_tokens"], key=data["special_tokens"].get)
                tok = cls(merges, pattern=data["pattern"], special_tokens=specials)
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, IndexError, ValueError) as e:
            raise TokenizerError(f"tokenizer file {path} is damaged or not a course tokenizer ({e!r})") from None
        if tok.special_tokens != data["special_tokens"] or tok.vocab_size != data.get("vocab_size", tok.vocab_size):
            raise TokenizerError(f"tokenizer file {path} is inconsistent: special token ids or vocab_size do not match")
        return tok

    @classmethod
    def from_tokenizer_json(cls, path: str | os.PathLike) -> BPETokenizer:
        """Read a Hugging Face ``tokenizer.json`` of a byte-level BPE (GPT-2, SmolLM2) into the course tokenizer.

        The file lists the vocabulary as text -> id in GPT-2's byte alphabet (``bytes_to_unicode``: "Ġthe" is
        " the"), the merges in order ("Ġ t" or ["Ġ", "t"]), and the added (special) tokens with their ids. The
        merges become pairs of ids and each makes the id of its joined text; the pre-tokenization must be GPT-2's
        byte-level regex (anything else raises: the ids would not match). Encoding then gives Hugging Face's ids.
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            model = data["model"]
            vocab: dict[str, int] = model["vocab"]
            merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as e:
            raise TokenizerError(f"{path} is not a readable tokenizer.json ({e!r})") from None
        if model.get("type") != "BPE" or model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
            raise TokenizerError(f"{path}: only a plain byte-level BPE model can be read, got {model.get('type')}")
        pre = data.get("pre_tokenizer") or {}
        if not (pre.get("type") == "ByteLevel" and pre.get("use_regex", True) and not pre.get("add_prefix_space")):
            raise TokenizerError(f"{path}: pre-tokenizer {pre} is not GPT-2's byte-level regex; ids would differ")
        if data.get("normalizer"):
            raise TokenizerError(f"{path}: a normalizer ({data['normalizer'].get('type')}) changes the text first")
        to_byte = {c: b for b, c in bytes_to_unicode().items()}
        byte_ids = [vocab.get(c) for c in bytes_to_unicode().values()]
        try:
            pairs = [(vocab[a], vocab[b]) for a, b in merges]
            merge_ids = [vocab[a + b] for a, b in merges]
        except KeyError as e:
            raise TokenizerError(f"{path}: a merge uses the token {e.args[0]!r}, which the vocabulary lacks") from None
        for text in vocab:
            if any(ch not in to_byte for ch in text):
                raise TokenizerError(f"{path}: vocabulary entry {text!r} is not in GPT-2's byte alphabet")
        specials = {t["content"]: t["id"] for t in data.get("added_tokens", [])}
        return cls(pairs, pattern=GPT2_PATTERN, special_tokens=specials, byte_ids=byte_ids, merge_ids=merge_ids)

    def __repr__(self) -> str:
        return (f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)}, "
                f"special_tokens={list(self.special_tokens)}, pattern={'GPT-2' if self.pattern == GPT2_PATTERN else self.pattern!r})")


def main(argv: list[str] | None = None) -> None:
    """Train the course tokenizer on the training plays (modern spelling) and save it."""
    import argparse
    import time

    from helpers.data import data_dir, load_corpus

    parser = argparse.ArgumentParser(prog="python -m helpers.tokenizer", description=main.__doc__)
    parser.add_argument("--vocab-size", type=int, default=2048, help="bytes + merges + special tokens")
    parser.add_argument("--out", default=str(data_dir() / "tokenizer.json"), help="where to write the JSON file")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    tok = BPETokenizer.train(load_corpus("modern", "train"), args.vocab_size)
    tok.save(args.out)
    print(f"{tok} trained in {time.perf_counter() - start:.1f} s, saved to {args.out}")


if __name__ == "__main__":
    main()
