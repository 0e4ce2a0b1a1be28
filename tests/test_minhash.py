"""helpers.minhash: shingles, exact Jaccard, MinHash signatures, LSH; checked against datasketch."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import minhash
from helpers.data import read_text
from helpers.web_crawl import chunk_text


def test_normalize_lowercases_and_turns_non_letters_into_single_spaces():
    assert minhash.normalize("To be, or NOT to be:\n 1599!") == "to be or not to be"
    assert minhash.normalize("Café—über 注意機構。") == "café über 注意機構"
    assert minhash.normalize("  ...  ") == ""
    with pytest.raises(TypeError, match="str"):
        minhash.normalize(b"bytes")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_fast_path_equals_the_regex(text):
    assert minhash.normalize(text) == re.sub(r"[\W\d_]+", " ", text.lower()).strip()


@pytest.mark.parametrize("unit, k", [("word", 1), ("word", 2), ("word", 3), ("char", 5), ("char", 7)])
def test_vectorised_hashes_equal_the_pure_python_hash_of_every_shingle(unit, k):
    text = chunk_text(read_text("macbeth", "folio"))[3]
    expected = {minhash.hash_shingle(s, unit) for s in minhash.shingles(text, k, unit)}
    got = minhash.shingle_hashes(text, k, unit)
    assert set(got.tolist()) == expected
    assert len(got) == len(expected)  # distinct: the 32-bit hashes of these shingles do not collide
    assert np.all(np.diff(got.astype(np.int64)) > 0) and got.max() < 2**32  # sorted, distinct, 32-bit


def test_shingles_of_short_or_empty_text_are_empty():
    assert minhash.shingles("one", 2) == set() and minhash.shingles("", 5, "char") == set()
    assert len(minhash.shingle_hashes("one", 2)) == 0 and len(minhash.shingle_hashes("!!!", 3, "char")) == 0
    assert minhash.shingles("To be, or not", 2) == {"to be", "be or", "or not"}


def test_jaccard_on_sets_and_on_arrays_agree():
    a, b = set(range(0, 100)), set(range(50, 200))
    assert minhash.jaccard(a, b) == pytest.approx(50 / 200)
    assert minhash.jaccard(np.array(sorted(a)), np.array(sorted(b))) == pytest.approx(50 / 200)
    assert minhash.jaccard(set(), set()) == 0.0 and minhash.jaccard(a, a) == 1.0


def test_jaccard_matrix_equals_pairwise_jaccard():
    texts = chunk_text(read_text("twelfth_night", "folio"))[:4] + chunk_text(read_text("twelfth_night"))[:6] + [""]
    sets = [minhash.shingle_hashes(t) for t in texts]
    matrix = minhash.jaccard_matrix(sets[:4], sets[4:])
    assert matrix.shape == (4, 7)
    for i in range(4):
        for j in range(7):
            assert matrix[i, j] == pytest.approx(minhash.jaccard(sets[i], sets[4 + j]))
    assert minhash.jaccard_matrix(sets[:2], []).shape == (2, 0)


def test_signature_is_the_minimum_of_each_permutation_computed_with_python_integers():
    hashes = minhash.shingle_hashes("It is a tale told by an idiot, full of sound and fury, signifying nothing.")
    a, b = minhash.make_permutations(16, seed=3)
    expected = [min((int(ai) * (int(x) % minhash.PRIME) + int(bi)) % minhash.PRIME for x in hashes)
                for ai, bi in zip(a, b)]
    assert minhash.minhash_signature(hashes, 16, seed=3).tolist() == expected


def test_signatures_do_not_depend_on_the_block_size():
    texts = chunk_text(read_text("tempest"))[:6] + ["", "two words"]
    sets = [minhash.shingle_hashes(t) for t in texts]
    big = minhash.minhash_signatures(sets, 64, seed=1)
    for block in (1, 7, 333):  # blocks that cut documents in pieces, many times over
        assert np.array_equal(minhash.minhash_signatures(sets, 64, seed=1, block=block), big)
    assert (big[6] == minhash.PRIME).all()  # the empty document
    assert big.shape == (8, 64) and big.dtype == np.uint64


def test_estimates_fall_within_the_standard_error_on_sets_of_known_jaccard():
    rng = np.random.default_rng(5)  # random-looking hash values, as shingle hashes are
    values = np.unique(rng.integers(0, 2**32, size=5000, dtype=np.uint64))[:4000]
    rng.shuffle(values)
    a, b = np.sort(values[:3000]), np.sort(values[1000:])  # 2,000 shared of 4,000: J = 0.5
    true_j = 0.5
    se = minhash.standard_error(true_j, 128)
    errors = []
    for seed in range(40):
        sig = minhash.minhash_signatures([a, b], 128, seed)
        errors.append(minhash.estimate_jaccard(sig[0], sig[1]) - true_j)
    errors = np.array(errors)
    assert np.abs(errors).max() < 4 * se  # every estimate within 4 standard errors
    assert abs(errors.mean()) < 3 * se / np.sqrt(len(errors))  # unbiased: the mean error shrinks like 1/sqrt(n)
    assert 0.6 * se < errors.std() < 1.4 * se  # and the spread is the standard error


@pytest.fixture(scope="module")
def edition_pairs():
    """(modern chunk, Folio chunk) text pairs of the same passage, and pairs from different plays."""
    modern, folio = chunk_text(read_text("macbeth", "modern")), chunk_text(read_text("macbeth", "folio"))
    other = chunk_text(read_text("othello", "modern"))
    same = []
    for f in folio[2:12]:
        fs = minhash.shingle_hashes(f)
        best = max(modern, key=lambda m: minhash.jaccard(fs, minhash.shingle_hashes(m)))
        same.append((best, f))
    different = list(zip(modern[5:15], other[5:15]))
    return same, different


def test_minhash_agrees_with_datasketch_on_the_same_shingle_sets(edition_pairs):
    datasketch = pytest.importorskip("datasketch")
    same, different = edition_pairs
    num_perm = 128
    for x, y in same + different:
        sx, sy = minhash.shingles(x), minhash.shingles(y)
        exact = minhash.jaccard(sx, sy)
        ours = minhash.minhash_signatures([minhash.shingle_hashes(x), minhash.shingle_hashes(y)], num_perm)
        ds = []
        for s in (sx, sy):
            m = datasketch.MinHash(num_perm=num_perm, seed=1)
            m.update_batch([w.encode("utf-8") for w in sorted(s)])
            ds.append(m)
        est_ours, est_ds = minhash.estimate_jaccard(ours[0], ours[1]), ds[0].jaccard(ds[1])
        se = minhash.standard_error(max(exact, 0.05), num_perm)  # small J: a floor, the normal law is too narrow
        assert abs(est_ours - exact) < 4 * se
        assert abs(est_ds - exact) < 4 * se
        assert abs(est_ours - est_ds) < 4 * np.sqrt(2) * se  # two independent estimates of the same number
    assert min(minhash.jaccard(minhash.shingles(x), minhash.shingles(y)) for x, y in same) > 0.15
    assert max(minhash.jaccard(minhash.shingles(x), minhash.shingles(y)) for x, y in different) < 0.08


def test_lsh_candidates_are_exactly_the_pairs_that_share_a_band():
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 4, size=(40, 12)).astype(np.uint64)  # few values: many accidental band matches
    sig[7] = sig[3]
    sig[20, :4] = minhash.PRIME  # half-empty is still a document
    sig[21] = minhash.PRIME  # an empty document is never a candidate
    bands, rows = 4, 3
    brute = {(i, j) for i in range(40) for j in range(i + 1, 40)
             if 21 not in (i, j) and any((sig[i, b * rows:(b + 1) * rows] == sig[j, b * rows:(b + 1) * rows]).all()
                                         for b in range(bands))}
    got = minhash.lsh_candidates(sig, bands, rows)
    assert {tuple(p) for p in got.tolist()} == brute
    assert (3, 7) in brute and all(i < j for i, j in got.tolist())


def test_lsh_probability_matches_the_candidate_rate():
    rng = np.random.default_rng(1)
    n, num_perm, bands, rows = 400, 64, 16, 4
    base = rng.integers(0, 2**32, size=(n, num_perm)).astype(np.uint64)
    twin = rng.integers(0, 2**32, size=(n, num_perm)).astype(np.uint64)
    s = 0.6
    agree = rng.random((n, num_perm)) < s  # each position agrees with probability s, like Jaccard s
    twin[agree] = base[agree]
    sig = np.concatenate([base, twin])
    pairs = {tuple(p) for p in minhash.lsh_candidates(sig, bands, rows).tolist()}
    rate = np.mean([(i, i + n) in pairs for i in range(n)])
    expected = float(minhash.lsh_probability(s, bands, rows))
    assert abs(rate - expected) < 4 * np.sqrt(expected * (1 - expected) / n)
    assert minhash.lsh_threshold(bands, rows) == pytest.approx((1 / 16) ** (1 / 4))


def test_near_duplicates_keeps_the_first_of_each_group_and_follows_the_order():
    texts = ["the quick brown fox jumps over the lazy dog again and again today",
             "a completely different sentence about cooking rice in a small pot",
             "the quick brown fox jumps over the lazy dog again and again tonight"]
    sig = minhash.minhash_signatures([minhash.shingle_hashes(t) for t in texts], 128)
    keep, matches = minhash.near_duplicates(sig, 64, 2, 0.5)
    assert keep.tolist() == [True, True, False]
    assert [(d, k) for d, k, _ in matches] == [(2, 0)] and matches[0][2] > 0.5
    keep, matches = minhash.near_duplicates(sig, 64, 2, 0.5, order=[2, 1, 0])
    assert keep.tolist() == [False, True, True]


@pytest.mark.parametrize("call, message", [
    (lambda: minhash.shingles("x", 0), "positive integer"),
    (lambda: minhash.shingle_hashes("x", 2, unit="byte"), "unit"),
    (lambda: minhash.make_permutations(0), "num_perm"),
    (lambda: minhash.minhash_signatures(np.zeros(3)), "list of arrays"),
    (lambda: minhash.lsh_candidates(np.zeros((3, 8), np.uint64), 5, 2), "exceeds|more than"),
    (lambda: minhash.lsh_candidates(np.zeros(8, np.uint64), 2, 2), "2-D"),
    (lambda: minhash.lsh_threshold(0, 2), "at least 1"),
    (lambda: minhash.near_duplicates(np.zeros((2, 8), np.uint64), 4, 2, 0.0), "threshold"),
    (lambda: minhash.near_duplicates(np.zeros((2, 8), np.uint64), 4, 2, 0.5, order=[0, 0]), "permutation"),
    (lambda: minhash.estimate_jaccard(np.zeros(4), np.zeros(5)), "same shape"),
])
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
