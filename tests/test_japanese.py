"""helpers.japanese: Japanese text is recognised, and the English-trained tools say so in one line."""

import warnings

import pytest

from helpers.japanese import english_only_note, japanese_chars
from helpers.words import words


@pytest.mark.parametrize("text, n", [
    ("To be, or not to be", 0),
    ("café, naïve, Ærø, ½, —", 0),               # Latin letters with accents and symbols are not Japanese
    ("生きるべきか", 6),                           # kanji and hiragana
    ("ラーメン", 4),                               # katakana with the prolonged sound mark
    ("To be, 生きるべきか、死ぬべきか。", 11),      # Japanese punctuation is not counted
])
def test_japanese_characters_are_counted(text, n):
    assert japanese_chars(text) == n


def test_the_note_is_one_line_naming_the_count_and_none_for_english():
    assert english_only_note("Friends, Romans, countrymen") is None
    note = english_only_note("こんにちは")
    assert "5 Japanese characters" in note and "\n" not in note
    assert english_only_note("猫").startswith("Note: this text has 1 Japanese character.")
    with pytest.raises(TypeError, match="expected a str"):
        japanese_chars(b"bytes")


def test_the_word_splitter_warns_on_japanese_and_keeps_a_sentence_as_one_word():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # English: no warning at all
        assert words("To be, or not") == ["to", "be", ",", "or", "not"]
    with pytest.warns(UserWarning, match="7 Japanese characters.*word splitter"):
        split = words("吾輩は猫である")
    assert split == ["吾輩は猫である"]  # no spaces between Japanese words: one "word"
