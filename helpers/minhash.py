"""Near-duplicate detection: shingles, Jaccard similarity, MinHash signatures and LSH bands (notebook 08).

Two documents are near-duplicates when their sets of **shingles** (overlapping pieces of text) overlap a lot:
Jaccard similarity J(A, B) = |A ∩ B| / |A ∪ B|. Comparing every pair of sets is too slow for a corpus, so:

1. **MinHash** (Broder 1997) squeezes each set into ``num_perm`` numbers. For a random hash function h,
   P[min h(A) = min h(B)] = J(A, B); with ``num_perm`` independent functions, the fraction of positions where
   two signatures agree estimates J with standard error sqrt(J (1 - J) / num_perm).
2. **Locality-sensitive hashing** (LSH) cuts each signature into ``bands`` bands of ``rows`` rows. Documents
   that agree on all rows of at least one band land in the same bucket and become *candidates*; a pair with
   Jaccard s becomes a candidate with probability 1 - (1 - s^rows)^bands, an S-curve that rises near
   (1 / bands)^(1 / rows).

This is the fuzzy deduplication of GPT-3 (Spark's MinHashLSH), Gopher (13-gram Jaccard above 0.8) and RefinedWeb
(9,000 hashes over 5-grams). Dolma's web pipeline, by contrast, removes exact duplicates only, with Bloom filters.

Everything is vectorised with NumPy: each document's shingles are hashed once (``shingle_hashes``), and all
permutations are applied at once as (a * x + b) mod p in arrays (``minhash_signatures``).

>>> sets = [shingle_hashes(t, k=2) for t in ["To be, or not to be", "To be, or not to bee", "Hello world"]]
>>> sig = minhash_signatures(sets, num_perm=128, seed=0)      # (3, 128)
>>> estimate_jaccard(sig[0], sig[1]), jaccard(sets[0], sets[1])
"""

from __future__ import annotations

import re
import zlib
from collections import defaultdict

import numpy as np

PRIME = (1 << 32) - 5  # 4,294,967,291: the largest prime below 2**32, so (a * x + b) fits in uint64
_NOT_TEXT = re.compile(r"[\W\d_]+")  # anything that is not a letter (any script)
_ASCII_NOT_LETTER = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalpha()})
_MASK64 = (1 << 64) - 1
_POLY = 0x100000001B3  # the 64-bit FNV prime: the base of the polynomial that joins a shingle's pieces
UNITS = ("word", "char")


def normalize(text: str) -> str:
    """Lower-case ``text`` and turn every run of non-letters (punctuation, digits, line breaks) into one space.

    Near-duplicate detection should not care about line breaks, capitals or punctuation: CCNet and most
    dedup pipelines normalise like this before they hash.
    """
    if not isinstance(text, str):
        raise TypeError(f"normalize() takes a str, got {type(text).__name__}")
    if text.isascii():  # the same result, four times faster: one table lookup per character
        return " ".join(text.lower().translate(_ASCII_NOT_LETTER).split())
    return _NOT_TEXT.sub(" ", text.lower()).strip()


def shingles(text: str, k: int = 2, unit: str = "word") -> set[str]:
    """The set of ``k``-shingles of ``normalize(text)``: every ``k`` consecutive words (``unit="word"``, joined
    by one space) or characters (``unit="char"``).

    The readable version, for teaching and for reference libraries; ``shingle_hashes`` is the fast one.
    A text with fewer than ``k`` words (characters) has no shingles: the empty set.
    """
    _check_k(k, unit)
    t = normalize(text)
    if unit == "char":
        return {t[i:i + k] for i in range(len(t) - k + 1)}
    words = t.split()
    return {" ".join(words[i:i + k]) for i in range(len(words) - k + 1)}


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: mixes every input bit into every output bit (uint64 in, uint64 out)."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def hash_shingle(shingle: str, unit: str = "word") -> int:
    """The 32-bit hash ``shingle_hashes`` gives one shingle, computed step by step in pure Python.

    Each piece (a word's CRC-32, or a character's code point) is folded in as h = h * P + piece (mod 2**64),
    then MurmurHash3's finaliser mixes the bits and the top 32 bits are kept.
    """
    pieces = [zlib.crc32(w.encode("utf-8")) for w in shingle.split(" ")] if unit == "word" else map(ord, shingle)
    h = 0
    for piece in pieces:
        h = (h * _POLY + piece) & _MASK64
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _MASK64
    h ^= h >> 33
    return h >> 32


def shingle_hashes(text: str, k: int = 2, unit: str = "word") -> np.ndarray:
    """The sorted, distinct 32-bit hashes of the ``k``-shingles of ``normalize(text)`` (uint64 array (n,)).

    Vectorised: the text becomes an array of pieces (each word's CRC-32, computed once per distinct word, or
    each character's code point), and every shingle's hash is computed for all positions at once. Equal to
    ``{hash_shingle(s, unit) for s in shingles(text, k, unit)}``.
    """
    _check_k(k, unit)
    t = normalize(text)
    if unit == "char":
        pieces = np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)  # (characters,)
    else:
        words = t.split()
        vocab: dict[str, int] = {}
        ids = [vocab.setdefault(w, len(vocab)) for w in words]
        crc = np.array([zlib.crc32(w.encode("utf-8")) for w in vocab], dtype=np.uint64)
        pieces = crc[np.array(ids, dtype=np.int64)] if ids else np.zeros(0, dtype=np.uint64)  # (words,)
    n = len(pieces) - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    for j in range(k):  # h = ((p0 * P + p1) * P + p2) ... for every start position at once, wrapping at 2**64
        h = h * np.uint64(_POLY) + pieces[j:j + n]
    return np.unique(_fmix64(h) >> np.uint64(32))


def jaccard(a, b) -> float:
    """Exact Jaccard similarity |A ∩ B| / |A ∪ B| of two sets, or of two sorted distinct arrays.

    Two empty sets have Jaccard 0 here (nothing to compare: they are not duplicates of each other).
    """
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        inter = len(np.intersect1d(a, b, assume_unique=True))
        union = len(a) + len(b) - inter
    else:
        inter = len(set(a) & set(b))
        union = len(set(a) | set(b))
    return inter / union if union else 0.0


def jaccard_matrix(queries: list, pool: list) -> np.ndarray:
    """Exact Jaccard of every query set with every pool set: an array (len(queries), len(pool)).

    Sets are sorted distinct hash arrays (from ``shingle_hashes``). The pool is indexed once: its distinct
    hashes, sorted, each with the list of pool sets that hold it. A query then looks its hashes up with a
    binary search and counts, for every pool set, how many it shares: all intersections at once.
    """
    sizes = np.array([len(p) for p in pool], dtype=np.int64)
    out = np.zeros((len(queries), len(pool)))
    if not len(pool) or sizes.sum() == 0:
        return out
    flat = np.concatenate([np.asarray(p, dtype=np.uint64) for p in pool])  # (total,)
    owner = np.repeat(np.arange(len(pool)), sizes)  # (total,): which pool set each hash belongs to
    uniq, inverse = np.unique(flat, return_inverse=True)  # (U,) distinct hashes
    owners = owner[np.argsort(inverse.ravel(), kind="stable")]  # owners grouped by distinct hash
    bounds = np.r_[0, np.cumsum(np.bincount(inverse.ravel(), minlength=len(uniq)))]  # (U + 1,) group edges
    for q, query in enumerate(queries):
        query = np.asarray(query, dtype=np.uint64)
        pos = np.clip(np.searchsorted(uniq, query), 0, len(uniq) - 1)
        pos = pos[uniq[pos] == query]  # the query's hashes that some pool set holds
        lengths = bounds[pos + 1] - bounds[pos]
        offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        inter = np.bincount(owners[np.repeat(bounds[pos], lengths) + offsets], minlength=len(pool))
        union = len(query) + sizes - inter
        out[q] = np.divide(inter, union, out=np.zeros(len(pool)), where=union > 0)
    return out


def make_permutations(num_perm: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``num_perm`` random hash functions x -> (a * x + b) mod ``PRIME``: the arrays (a, b), each (num_perm,).

    a is drawn from [1, PRIME), b from [0, PRIME), with NumPy's generator seeded by ``seed``.
    """
    if num_perm < 1:
        raise ValueError(f"num_perm must be at least 1, got {num_perm}")
    rng = np.random.default_rng(seed)
    a = rng.integers(1, PRIME, size=num_perm, dtype=np.uint64)
    b = rng.integers(0, PRIME, size=num_perm, dtype=np.uint64)
    return a, b


def minhash_signatures(hash_sets, num_perm: int = 128, seed: int = 0, block: int = 4096) -> np.ndarray:
    """MinHash signatures of many shingle sets: an array (N, num_perm) of uint64.

    ``hash_sets`` is a list of N arrays of shingle hashes (from ``shingle_hashes``). All sets are concatenated
    and processed in blocks of ``block`` hashes: for each block the (num_perm, block) array
    (a * x + b) mod PRIME is computed at once, and its minimum taken per document (``np.minimum.reduceat``).
    An empty set gets the signature PRIME everywhere (larger than any hash value): ``lsh_candidates`` skips it.
    """
    if not isinstance(hash_sets, (list, tuple)):
        raise TypeError(f"hash_sets must be a list of arrays, got {type(hash_sets).__name__}")
    if block < 1:
        raise ValueError(f"block must be at least 1, got {block}")
    a, b = make_permutations(num_perm, seed)
    a, b = a[:, None], b[:, None]  # (num_perm, 1): broadcast against (1, block)
    n_docs = len(hash_sets)
    sig = np.full((n_docs, num_perm), PRIME, dtype=np.uint64)
    if n_docs == 0:
        return sig
    lengths = np.array([len(h) for h in hash_sets])
    if lengths.sum() == 0:
        return sig
    x = np.concatenate([np.asarray(h, dtype=np.uint64) for h in hash_sets]) % np.uint64(PRIME)  # (total,)
    owner = np.repeat(np.arange(n_docs), lengths)  # (total,): which document each hash belongs to
    buffer = np.empty((num_perm, min(block, len(x))), dtype=np.uint64)  # reused: no new arrays per block
    for start in range(0, len(x), block):
        xb, ob = x[start:start + block], owner[start:start + block]
        values = buffer[:, :len(xb)]  # (num_perm, block): every permutation of every hash at once
        np.multiply(a, xb[None, :], out=values)
        np.add(values, b, out=values)
        np.remainder(values, np.uint64(PRIME), out=values)  # (a * x + b) mod p, below 2**64 since a, x < p
        cuts = np.flatnonzero(np.r_[True, ob[1:] != ob[:-1]])  # where a new document starts in this block
        mins = np.minimum.reduceat(values, cuts, axis=1).T  # (docs in block, num_perm)
        docs = ob[cuts]
        sig[docs] = np.minimum(sig[docs], mins)  # a document cut by a block boundary keeps the smaller
    return sig


def minhash_signature(hashes: np.ndarray, num_perm: int = 128, seed: int = 0) -> np.ndarray:
    """The MinHash signature (num_perm,) of one set of shingle hashes: min over x of (a * x + b) mod PRIME."""
    return minhash_signatures([np.asarray(hashes, dtype=np.uint64)], num_perm, seed)[0]


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """The MinHash estimate of Jaccard: the fraction of positions where two signatures agree."""
    sig_a, sig_b = np.asarray(sig_a), np.asarray(sig_b)
    if sig_a.shape != sig_b.shape or sig_a.ndim != 1:
        raise ValueError(f"signatures must be 1-D and the same shape, got {sig_a.shape} and {sig_b.shape}")
    return float(np.mean(sig_a == sig_b))


def standard_error(j: float, num_perm: int) -> float:
    """Standard error of the MinHash estimate of a Jaccard similarity ``j``: sqrt(j (1 - j) / num_perm)."""
    return float(np.sqrt(j * (1 - j) / num_perm))


def lsh_threshold(bands: int, rows: int) -> float:
    """The similarity where the LSH S-curve rises most steeply, approximately (1 / bands) ** (1 / rows)."""
    _check_bands(bands, rows)
    return (1 / bands) ** (1 / rows)


def lsh_probability(s, bands: int, rows: int):
    """Probability that a pair with Jaccard ``s`` shares at least one band: 1 - (1 - s**rows)**bands."""
    _check_bands(bands, rows)
    return 1 - (1 - np.asarray(s, dtype=float) ** rows) ** bands


def lsh_candidates(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Candidate pairs from LSH banding: an int array (n_pairs, 2) of document indices i < j, sorted.

    ``signatures`` is (N, num_perm) with bands * rows <= num_perm (extra columns are unused). Two documents
    are a candidate pair when all ``rows`` values of some band are equal: each band's values become one 64-bit
    bucket key (a hash; two different bands share a key only by a collision, about 1 in 2**64), and documents
    with the same key are paired. Documents with an empty signature (all values PRIME, from an empty shingle set)
    are never candidates.
    """
    signatures = np.asarray(signatures)
    if signatures.ndim != 2:
        raise ValueError(f"signatures must be 2-D (documents, num_perm), got shape {signatures.shape}")
    _check_bands(bands, rows)
    if bands * rows > signatures.shape[1]:
        raise ValueError(f"bands * rows = {bands * rows} is more than the {signatures.shape[1]} values per signature")
    live = np.flatnonzero(~(signatures == PRIME).all(axis=1))  # (N live,)
    n = len(signatures)
    found = []
    for band in range(bands):
        block = signatures[live, band * rows:(band + 1) * rows]  # (N live, rows)
        key = np.zeros(len(live), dtype=np.uint64)
        for j in range(rows):  # one bucket key per document: a hash of the band's rows
            key = _fmix64(key * np.uint64(_POLY) + block[:, j])
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
        sizes = np.diff(np.r_[starts, len(order)])
        for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist()):
            members = np.sort(live[order[start:start + size]])  # documents that share this bucket
            i, j = np.triu_indices(size, k=1)
            found.append(members[i] * n + members[j])
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    codes = np.unique(np.concatenate(found))  # each pair once, sorted
    return np.stack([codes // n, codes % n], axis=1)


def near_duplicates(signatures: np.ndarray, bands: int, rows: int, threshold: float,
                    order=None) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    """Decide which documents to drop as near-duplicates; returns (keep, matches).

    LSH proposes candidate pairs; a pair is confirmed when its MinHash estimate is at least ``threshold``.
    Documents are visited in ``order`` (default: index order, so earlier documents win); a document is dropped
    when a confirmed partner was already kept. ``keep`` is a bool array (N,); ``matches`` lists
    ``(dropped, kept_partner, estimate)`` for each dropped document (its most similar kept partner).
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    n = len(signatures)
    order = np.arange(n) if order is None else np.asarray(order)
    if sorted(order.tolist()) != list(range(n)):
        raise ValueError("order must be a permutation of the document indices")
    cands = lsh_candidates(signatures, bands, rows)
    partners = defaultdict(list)
    if len(cands):
        est = (signatures[cands[:, 0]] == signatures[cands[:, 1]]).mean(axis=1)  # (n_pairs,)
        for (i, j), e in zip(cands.tolist(), est.tolist()):
            if e >= threshold:
                partners[i].append((j, e))
                partners[j].append((i, e))
    keep = np.ones(n, dtype=bool)
    seen = np.zeros(n, dtype=bool)
    matches = []
    for i in order.tolist():
        kept = [(j, e) for j, e in partners[i] if seen[j] and keep[j]]
        if kept:
            j, e = max(kept, key=lambda je: (je[1], -je[0]))
            keep[i] = False
            matches.append((i, j, e))
        seen[i] = True
    return keep, matches


def _check_k(k: int, unit: str = "word") -> None:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"shingle size k must be a positive integer, got {k!r}")
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")


def _check_bands(bands: int, rows: int) -> None:
    if bands < 1 or rows < 1:
        raise ValueError(f"bands and rows must be at least 1, got bands={bands}, rows={rows}")
