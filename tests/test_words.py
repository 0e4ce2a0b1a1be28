"""Word splitting and the word vocabulary of notebooks 01-03."""

import pytest

from helpers.words import UNK, Vocab, words


def test_words_lowercases_and_keeps_punctuation_and_inner_apostrophes():
    assert words("To be, or NOT to be: that is the question.") == [
        "to", "be", ",", "or", "not", "to", "be", ":", "that", "is", "the", "question", "."]
    assert words("Don't o'er-leap 'tis 1599 (Act III)") == ["don't", "o'er", "leap", "tis", "act", "iii"]
    assert words("") == []


def test_words_rejects_non_text():
    with pytest.raises(TypeError, match="str"):
        words(b"bytes")


def test_vocab_orders_by_count_then_alphabet_and_maps_unknowns_to_zero():
    v = Vocab.build(words("b a b c c c d"), min_count=2)
    assert v.itos == [UNK, "c", "b"]
    assert v.encode(["c", "a", "zzz"]) == [1, 0, 0]
    assert v.decode([2, 1, 0]) == ["b", "c", UNK]
    assert v.counts["a"] == 1 and "a" not in v and "b" in v


def test_vocab_max_size_and_errors():
    assert len(Vocab.build("a a a b b c".split(), max_size=3)) == 3
    with pytest.raises(ValueError, match="empty"):
        Vocab.build([])
    with pytest.raises(ValueError, match="min_count"):
        Vocab.build(["a"], min_count=0)
    with pytest.raises(IndexError, match="id 7"):
        Vocab.build(["a"]).decode([7])
