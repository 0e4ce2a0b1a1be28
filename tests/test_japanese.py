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


# ----- notebook 09's Japanese section ---------------------------------------------------------------------------
import importlib.util  # noqa: E402
import io  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib  # noqa: E402

from helpers import japanese as jp  # noqa: E402
from helpers.data import DataError, load_japanese  # noqa: E402
from helpers.tokenizer import BPETokenizer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("build_japanese", ROOT / "data" / "build_japanese.py")
build_japanese = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_japanese)


def test_the_corpus_is_checked_and_split_by_lines(tmp_path, monkeypatch):
    whole, train, val = load_japanese(), load_japanese("train"), load_japanese("validation")
    assert train + val == whole and len(val.splitlines()) == -(-len(whole.splitlines()) // 10)
    assert jp.japanese_chars(whole) > 0.5 * len(whole)  # mostly Japanese, with English terms in it
    shutil.copytree(ROOT / "data" / "ja", tmp_path / "ja")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    (tmp_path / "ja" / "course_ja.txt").write_text("改ざん\n", encoding="utf-8")
    with pytest.raises(DataError, match="sha256.*build_japanese"):
        load_japanese()
    (tmp_path / "ja" / "manifest.json").unlink()
    with pytest.raises(DataError, match="missing.*build_japanese"):
        load_japanese()


def test_prose_keeps_the_japanese_text_and_drops_code_formulas_tables_and_addresses():
    cell = ("## 1. 見出し\n\n本文の `code` と $x^2$ と[リンク](https://example.org)。\n- 項目\n\n"
            "| a | 表 |\n|---|---|\n\n```python\nx = '漢字'\n```\n> **講義**ノート\n\nEnglish only.")
    assert build_japanese.prose(cell) == ["1. 見出し", "本文の code と とリンク。", "項目", "講義ノート"]


def test_the_extraction_is_deterministic_and_leaves_notebook_09_out(tmp_path):
    a = build_japanese.build(tmp_path / "a")
    b = build_japanese.build(tmp_path / "b")
    assert (tmp_path / "a" / "ja" / "course_ja.txt").read_bytes() == (tmp_path / "b" / "ja" / "course_ja.txt").read_bytes()
    assert a == b and "09_bpe_tokenization.po" not in a["catalogues"] and a["characters"] > 50_000


def test_pieces_that_are_not_whole_characters_are_shown_in_hex():
    assert jp.piece_label("猫".encode()) == "猫"
    assert jp.piece_label("猫".encode()[:2]) == "<E7 8C>"
    assert jp.piece_label("コー".encode() + b"\xe3\x83") == "コー<E3 83>"
    assert jp.utf8_bytes_per_char("あa") == 2.0
    with pytest.raises(ValueError, match="empty"):
        jp.utf8_bytes_per_char("")


def test_byte_level_bpe_on_japanese_starts_inside_characters():
    tok = BPETokenizer.train(load_japanese("train")[:20_000], 300)
    first = tok.vocab[256]
    assert first[0] == 0xE3 and len(first) == 2  # the lead byte of kana and Japanese punctuation, plus one
    assert jp.chars_per_token("ですます。", tok.encode) > jp.chars_per_token("ですます。", lambda s: list(s.encode()))


def test_sentencepiece_trains_reproducibly_and_falls_back_to_bytes():
    text = load_japanese("train")[:30_000]
    a, b = jp.train_sentencepiece(text, 1500, "unigram"), jp.train_sentencepiece(text, 1500, "unigram")
    assert a.serialized_model_proto() == b.serialized_model_proto()
    pieces = a.encode("猫", out_type=str)  # not in the text: spelled as its three UTF-8 bytes
    assert [p for p in pieces if p.startswith("<0x")] == ["<0xE7>", "<0x8C>", "<0xAB>"]
    assert a.decode(a.encode("猫がいます。")) == "猫がいます。"
    with pytest.raises(ValueError, match="model_type"):
        jp.train_sentencepiece(text, 1500, "wordpiece")


def test_a_figure_with_japanese_labels_has_no_missing_glyphs():
    from helpers.plotting import use_course_style

    def missing_glyphs():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig = jp.draw_chars_per_token({"日本語で学習した BPE": 1.6, "English BPE": 0.4}, title="検証用の日本語")
            fig.savefig(io.BytesIO(), format="png")
            matplotlib.pyplot.close(fig)
        return [w for w in caught if "missing from font" in str(w.message)]

    assert use_course_style(), "no Japanese font: pip install matplotlib-fontja"
    assert not missing_glyphs()
    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):  # the check can fail: a font without kana
        assert missing_glyphs()
