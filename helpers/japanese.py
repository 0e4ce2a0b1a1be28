"""Japanese text meets the course's English-trained tools: find kana and kanji, and say so in one line.

The course GPT, its BPE tokenizer and the word-level models of notebooks 01-03 were all trained on English
Shakespeare. Given Japanese they do not fail: the tokenizer spells each kana or kanji as its 3 UTF-8 bytes
(notebook 09), and the word splitter keeps an unsegmented Japanese sentence as one "word" (Japanese does not put
spaces between words). The widgets and the word splitter call ``english_only_note`` so that a learner who types
Japanese is told why the result looks the way it does, instead of silently seeing byte fragments.

>>> japanese_chars("To be, 生きるべきか")
6
>>> english_only_note("hello") is None
True
"""

from __future__ import annotations

import regex

# Hiragana, katakana (and the prolonged sound mark), and Han characters (kanji).
JAPANESE = regex.compile(r"[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}ー]")


def japanese_chars(text: str) -> int:
    """How many characters of ``text`` are kana or kanji."""
    if not isinstance(text, str):
        raise TypeError(f"expected a str, got {type(text).__name__}")
    return len(JAPANESE.findall(text))


def english_only_note(text: str, what: str = "The course GPT and its tokenizer were") -> str | None:
    """One line to show when ``text`` holds Japanese (None when it holds none).

    ``what`` names the tool, e.g. ``"The word splitter was"``.
    """
    n = japanese_chars(text)
    if n == 0:
        return None
    return (f"Note: this text has {n} Japanese character{'s' if n != 1 else ''}. {what} trained on English "
            "Shakespeare only, so Japanese comes out as byte fragments or one long 'word' (notebook 09 shows why). "
            "(注: 日本語が含まれていますが、これは英語だけで訓練されています。)")
