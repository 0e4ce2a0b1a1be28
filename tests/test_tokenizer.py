"""helpers.tokenizer: the toy example, round trips on any Unicode, files, errors, and Hugging Face."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.data import load_corpus
from helpers.tokenizer import END_OF_TEXT, BPETokenizer, TokenizerError, count_pairs, merge


def test_toy_example_pair_counts_and_encoding():
    ids = list(b"aaabdaaabac")
    first = count_pairs(ids)
    named = {bytes(p).decode(): c for p, c in first.items()}
    assert named == {"aa": 4, "ab": 2, "bd": 1, "da": 1, "ba": 1, "ac": 1}  # overlapping pairs: aa is 4
    ids = merge(ids, (97, 97), 256)
    assert ids == [256, 97, 98, 100, 256, 97, 98, 97, 99]  # ZabdZabac
    tok = BPETokenizer.train("aaabdaaabac", 256 + 3, pattern=None, special_tokens=())
    assert tok.merges == [(97, 97), (97, 98), (256, 257)]  # tie Za/ab (2 each): the smaller pair wins
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]


def test_training_matches_the_naive_recount_on_real_text():
    text = load_corpus("modern", "train")[:20_000]
    tok = BPETokenizer.train(text, 256 + 40, pattern=None, special_tokens=())
    ids, naive = list(text.encode()), []
    for i in range(40):  # recount everything after every merge, same tie rule
        counts = count_pairs(ids)
        best = max(counts.items(), key=lambda kv: (kv[1], (-kv[0][0], -kv[0][1])))[0]
        naive.append(best)
        ids = merge(ids, best, 256 + i)
    assert tok.merges == naive
    assert tok.encode(text) == ids


def test_pre_tokenized_training_matches_a_per_word_recount_and_counts_the_words_it_touches():
    """With pre-tokenization, each merge must equal a full recount over the distinct words (weighted by
    frequency), and ``words_touched`` must be the number of distinct words that hold the pair at that step."""
    import regex

    from helpers.tokenizer import GPT2_PATTERN

    text = load_corpus("modern", "train")[:30_000]
    tok = BPETokenizer.train(text, 256 + 60, special_tokens=())
    words = {}
    for chunk in regex.findall(GPT2_PATTERN, text):
        words.setdefault(chunk, [list(chunk.encode()), 0])[1] += 1
    naive, touched = [], []
    for i in range(60):
        counts = {}
        for ids, f in words.values():
            count_pairs(ids, counts, f)
        best = max(counts.items(), key=lambda kv: (kv[1], (-kv[0][0], -kv[0][1])))[0]
        touched.append(sum(best in set(zip(ids, ids[1:])) for ids, _ in words.values()))
        naive.append(best)
        for entry in words.values():
            entry[0] = merge(entry[0], best, 256 + i)
    assert tok.merges == naive
    assert tok.words_touched == touched
    assert max(touched) > 10 * min(touched)  # merges differ a lot in how much work they do
    assert BPETokenizer(tok.merges).words_touched is None  # only a trained tokenizer knows


@pytest.fixture(scope="module")
def corpus_tok():
    return BPETokenizer.train(load_corpus("modern", "train")[:300_000], 512)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_round_trip_any_unicode(corpus_tok, s):
    assert corpus_tok.decode(corpus_tok.encode(s)) == s


@pytest.mark.parametrize("s", ["", "   \n\n\t  ", "注意機構は全ての位置をつなぐ。", "emoji 👩‍👩‍👧 🎭!",
                               "e\u0301 (combining acute) Å", "To be, or not to be" * 3, "\x00\x7f\ud7ff"])
def test_round_trip_examples(corpus_tok, s):
    ids = corpus_tok.encode(s)
    assert corpus_tok.decode(ids) == s
    assert all(0 <= i < corpus_tok.vocab_size for i in ids)


def test_special_tokens_are_single_ids_unless_disallowed(corpus_tok):
    text = f"The end.{END_OF_TEXT}A new play."
    ids = corpus_tok.encode(text)
    assert ids.count(corpus_tok.eot_id) == 1 and corpus_tok.eot_id == corpus_tok.vocab_size - 1
    assert corpus_tok.decode(ids) == text
    plain = corpus_tok.encode(text, allow_special=False)
    assert corpus_tok.eot_id not in plain and corpus_tok.decode(plain) == text


def test_pre_tokenization_keeps_merges_inside_words(corpus_tok):
    for i in range(256, 256 + len(corpus_tok.merges)):
        piece = corpus_tok.vocab[i]
        assert b" " not in piece.strip(b" ")[:-1] or piece.isspace(), piece  # no merge spans two words


def test_save_and_load_give_the_same_tokenizer(corpus_tok, tmp_path):
    path = tmp_path / "tok.json"
    corpus_tok.save(path)
    again = BPETokenizer.load(path)
    text = "Friends, Romans, countrymen, lend me your ears; 日本語も"
    assert again.encode(text) == corpus_tok.encode(text)
    assert again.vocab_size == corpus_tok.vocab_size and again.special_tokens == corpus_tok.special_tokens
    assert '"merges"' in path.read_text() and "\n" in path.read_text()  # readable JSON


def test_bad_input_and_bad_files_give_clear_errors(corpus_tok, tmp_path):
    with pytest.raises(TokenizerError, match="empty text"):
        BPETokenizer.train("", 300)
    with pytest.raises(TokenizerError, match="smaller than 256"):
        BPETokenizer.train("abc", 200)
    with pytest.raises(TokenizerError, match="expects a str"):
        corpus_tok.encode(b"bytes")
    with pytest.raises(TokenizerError, match="lone surrogate"):
        corpus_tok.encode("a\ud800b")
    with pytest.raises(TokenizerError, match="outside the vocabulary"):
        corpus_tok.decode([corpus_tok.vocab_size + 5])
    with pytest.raises(TokenizerError, match="does not exist"):
        BPETokenizer.load(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"merges": [[97, 97, "aa"]], "pattern": null')  # truncated
    with pytest.raises(TokenizerError, match="damaged"):
        BPETokenizer.load(bad)


def test_compression_within_two_percent_of_hugging_face_tokenizers():
    tokenizers = pytest.importorskip("tokenizers")
    text = load_corpus("modern", "train")
    ours = BPETokenizer.train(text, 2048)
    hf = tokenizers.ByteLevelBPETokenizer()
    hf.train_from_iterator([text], vocab_size=2048, min_frequency=2, special_tokens=[END_OF_TEXT], show_progress=False)
    val = load_corpus("modern", "validation")
    ours_n, hf_n = len(ours.encode(val)), len(hf.encode(val).ids)
    assert hf.get_vocab_size() == ours.vocab_size == 2048
    assert abs(ours_n / hf_n - 1) < 0.02, (ours_n, hf_n)
    assert hf.decode(hf.encode(val).ids) == val and ours.decode(ours.encode(val)) == val


# ----- reading a real model's vocabulary (notebook 14) ------------------------------------------------------------
def test_bytes_to_unicode_is_gpt2s_table():
    from helpers.tokenizer import bytes_to_unicode

    table = bytes_to_unicode()
    assert len(set(table.values())) == 256 and table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ"
    assert table[ord("a")] == "a" and table[0] == chr(256)


def test_from_tokenizer_json_gives_the_ids_of_a_hugging_face_byte_level_bpe(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    train = load_corpus("modern", "train")[:300_000]
    hf = tokenizers.ByteLevelBPETokenizer()
    hf.train_from_iterator([train], vocab_size=600, min_frequency=2, special_tokens=["<|endoftext|>", "<|x|>"],
                           show_progress=False)
    hf.save(str(tmp_path / "tokenizer.json"))
    ours = BPETokenizer.from_tokenizer_json(tmp_path / "tokenizer.json")
    assert ours.special_tokens == {"<|endoftext|>": 0, "<|x|>": 1}  # special tokens first, as HF numbers them
    text = load_corpus("modern", "validation")[:50_000] + " naïve café 東京 🙂\n\n  x"
    assert ours.encode(text) == hf.encode(text).ids
    assert ours.decode(ours.encode(text)) == text
    assert ours.encode("a<|x|>b") == hf.encode("a<|x|>b").ids and len(ours.encode("<|x|>")) == 1
    ours.save(tmp_path / "course.json")  # the course format keeps the foreign numbering
    assert BPETokenizer.load(tmp_path / "course.json").encode(text) == ours.encode(text)


def test_from_tokenizer_json_refuses_what_it_cannot_match(tmp_path):
    import json

    tokenizers = pytest.importorskip("tokenizers")
    hf = tokenizers.ByteLevelBPETokenizer()
    hf.train_from_iterator(["abc abd abe " * 50], vocab_size=270, show_progress=False)
    hf.save(str(tmp_path / "tokenizer.json"))
    data = json.loads((tmp_path / "tokenizer.json").read_text())
    for change, message in (({"pre_tokenizer": {"type": "Whitespace"}}, "not GPT-2's byte-level regex"),
                            ({"normalizer": {"type": "Lowercase"}}, "normalizer"),
                            ({"model": {**data["model"], "type": "WordPiece"}}, "plain byte-level BPE")):
        (tmp_path / "bad.json").write_text(json.dumps({**data, **change}))
        with pytest.raises(TokenizerError, match=message):
            BPETokenizer.from_tokenizer_json(tmp_path / "bad.json")
    with pytest.raises(TokenizerError, match="not a readable"):
        BPETokenizer.from_tokenizer_json(tmp_path / "missing.json")


def _smollm2_or_skip():
    from helpers import smollm2

    if smollm2.missing_requirements():
        pytest.skip("SmolLM2 (the llm extra) is not installed: `make install` adds it")
    loaded = smollm2.load(quiet=True)
    return loaded.hf_tokenizer, smollm2.load_tokenizer()


def test_smollm2_vocabulary_gives_hugging_face_ids_on_held_out_plays_and_the_readme():
    from pathlib import Path

    from helpers.data import read_text, validation_works

    hf, ours = _smollm2_or_skip()
    assert ours.vocab_size == len(hf) == 49152
    texts = {work: read_text(work) for work in validation_works()}
    texts["README.md"] = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for name, text in texts.items():
        ids = ours.encode(text)
        assert ids == hf.encode(text), name
        assert ours.decode(ids) == text
    chat = "<|im_start|>user\nWhat is 12 + 30?<|im_end|>\n<|im_start|>assistant\n"
    assert ours.encode(chat) == hf.encode(chat) and ours.encode(chat)[0] == 1  # <|im_start|> is one id
