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


def english_only_note(text: str, what: str = "The course GPT and its tokenizer were",
                      trained_on: str = "English Shakespeare only") -> str | None:
    """One line to show when ``text`` holds Japanese (None when it holds none).

    ``what`` names the tool, e.g. ``"The word splitter was"``; ``trained_on`` says on what it was trained.
    """
    n = japanese_chars(text)
    if n == 0:
        return None
    return (f"Note: this text has {n} Japanese character{'s' if n != 1 else ''}. {what} trained on {trained_on}, "
            "so Japanese comes out as byte fragments or one long 'word' (notebook 09 shows why). "
            "(注: 日本語が含まれていますが、これは英語で訓練されています。)")


# ----- notebook 09: tokenizing Japanese ------------------------------------------------------------------------

def utf8_bytes_per_char(text: str) -> float:
    """UTF-8 bytes per character of ``text`` (1 for ASCII, 3 for kana and most kanji)."""
    if not text:
        raise ValueError("empty text: no characters to average over")
    return len(text.encode("utf-8")) / len(text)


def piece_label(piece: bytes) -> str:
    """A token's bytes as text; bytes that are not (yet) a whole UTF-8 character are shown in hex: ``<E3 81>``."""
    try:
        return piece.decode("utf-8")
    except UnicodeDecodeError as err:
        head = piece[:err.start].decode("utf-8")
        return head + "<" + " ".join(f"{b:02X}" for b in piece[err.start:]) + ">"


def chars_per_token(text: str, encode) -> float:
    """Characters per token when ``encode`` (str -> list of ids) reads ``text`` one line at a time."""
    lines = [line for line in text.splitlines() if line]
    n_tokens = sum(len(encode(line)) for line in lines)
    if n_tokens == 0:
        raise ValueError("empty text: no tokens to count")
    return sum(len(line) for line in lines) / n_tokens


def train_sentencepiece(text: str, vocab_size: int, model_type: str = "unigram"):
    """A SentencePiece model (``"unigram"`` or ``"bpe"``) trained in memory on ``text``, one line per sentence.

    Returns a ``sentencepiece.SentencePieceProcessor``. One thread (reproducible); ``byte_fallback`` spells a
    character the vocabulary lacks as its UTF-8 bytes (``<0xE7>``), so nothing is unknown, as in byte-level BPE.
    """
    import io

    import sentencepiece as spm

    if model_type not in ("unigram", "bpe"):
        raise ValueError(f"model_type must be 'unigram' or 'bpe', got {model_type!r}")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("empty text: nothing to train SentencePiece on")
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model, vocab_size=vocab_size,
                                   model_type=model_type, character_coverage=0.9995, byte_fallback=True,
                                   num_threads=1, minloglevel=2)
    return spm.SentencePieceProcessor(model_proto=model.getvalue())


def draw_chars_per_token(results: dict[str, float], title: str = ""):
    """Horizontal bars of characters per token, one per tokenizer (labels may be Japanese). Returns the figure."""
    import matplotlib.pyplot as plt

    if not results:
        raise ValueError("no results to draw")
    names = list(results)
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(names) + 1.2))
    bars = ax.barh(range(len(names)), [results[n] for n in names], color="tab:blue")
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.bar_label(bars, fmt="%.2f", padding=3)
    ax.set_xlabel("characters per token (1トークンあたりの文字数)")
    ax.set_xlim(0, max(results.values()) * 1.2)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
