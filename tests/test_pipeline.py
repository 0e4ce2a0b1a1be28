"""helpers.pipeline: every stage, bad input, the whole run, the split and the card (the input: test_web_crawl.py)."""

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import pipeline as pl
from helpers import web_crawl as wc
from helpers.data import read_text, validation_works

# ----------------------------------------------------------------------------------------------- decoding


@pytest.mark.parametrize("content, reason", [
    ("", "empty"), ("   \n\t ", "empty"), (b"", "empty"), (b"\x00\x01\x02binary", "binary"),
    (bytes(range(256)) * 4, "binary"), ("text with \x00\x01\x02\x03 controls", "binary"),
    ("café".encode("latin-1"), "invalid_utf8"), (b"ok \xff\xfe", "invalid_utf8"), ("lone \udcff surrogate", "invalid_utf8"),
    (None, "not_text"), (42, "not_text"),
])
def test_decode_removes_bad_input_with_a_reason(content, reason):
    assert pl.decode(content) == (None, reason)


def test_decode_keeps_good_text_and_utf8_bytes():
    assert pl.decode("To be.") == ("To be.", "")
    assert pl.decode("注意機構 café".encode()) == ("注意機構 café", "")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_decode_never_raises(content):
    text, reason = pl.decode(content)
    assert (text is None) == bool(reason)
    assert reason in {"", "empty", "binary", "invalid_utf8", "not_text"}


# ----------------------------------------------------------------------------------------------- language


def test_language_scores_equal_the_plain_python_cosine():
    lid = pl.LanguageIdentifier()
    profiles = {lang: pl.char_ngrams(text) for lang, text in pl.REFERENCE_TEXTS.items()}
    for text in [read_text("hamlet")[5000:8000], wc.FOREIGN_SENTENCES["de"][0], wc.FOREIGN_SENTENCES["ja"][1], "?!"]:
        doc = pl.char_ngrams(text)
        got = lid.scores(text)
        for lang, profile in profiles.items():
            assert got[lang] == pytest.approx(pl.cosine(doc, profile), abs=1e-12)


def test_language_identifier_tells_the_languages_apart():
    lid = pl.LanguageIdentifier()
    for lang, sentences in wc.FOREIGN_SENTENCES.items():
        guess, score, margin = lid.predict(("" if lang == "ja" else " ").join(sentences))
        assert guess == lang and margin >= 0.1, (lang, guess, score, margin)
    for edition in ("modern", "folio"):
        guess, _, margin = lid.predict(read_text("macbeth", edition)[10_000:13_000])
        assert guess == "en" and margin >= 0.1
    title, body = wc.ARTICLES[0]
    assert lid.predict(body)[0] == "en"
    henry_v = read_text("henry_v")  # Act 3, Scene 4: Katherine's English lesson is written in French
    lesson = henry_v[henry_v.index("Alice, tu as") - 200:][:2500]
    assert lid.predict(lesson)[0] == "fr"


def test_language_identifier_errors():
    with pytest.raises(ValueError, match="at least one"):
        pl.LanguageIdentifier({})
    with pytest.raises(ValueError, match="no letters"):
        pl.LanguageIdentifier({"en": "1234 !!"})
    assert set(pl.LanguageIdentifier().scores("")) == set(pl.REFERENCE_TEXTS)  # nothing to compare: all 0
    assert max(pl.LanguageIdentifier().scores("").values()) == 0.0


# ----------------------------------------------------------------------------------------------- quality


def test_quality_signals_on_a_small_example():
    text = "the cat\nthe cat\nsat on the mat...\n#tag #tag"
    s = pl.quality_signals(text)
    assert s["words"] == 10
    assert s["mean_word_length"] == pytest.approx(sum(map(len, text.split())) / 10)
    assert s["duplicate_lines"] == pytest.approx(1 / 4)  # one line of four repeats an earlier one
    assert s["duplicate_line_chars"] == pytest.approx(7 / 40)  # its 7 characters of the lines' 40
    assert s["ellipsis_lines"] == pytest.approx(1 / 4)
    assert s["symbol_ratio"] == pytest.approx(3 / 10)  # two '#' and one '...'
    assert s["stop_words"] == 1  # only "the"
    assert s["alpha_words"] == 1.0


def _brute_top(words, n):
    grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    gram, count = grams.most_common(1)[0]
    return count * sum(map(len, gram)) / sum(map(len, words)) if count > 1 else 0.0


def _brute_dup(words, n):
    grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    covered = set()
    for i in range(len(words) - n + 1):
        if grams[tuple(words[i:i + n])] > 1:
            covered.update(range(i, i + n))
    return sum(len(words[i]) for i in covered) / sum(map(len, words))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["a", "bb", "ccc", "dd", "e"]), min_size=12, max_size=80))
def test_repetition_signals_match_a_brute_force_count(words):
    s = pl.quality_signals(" ".join(words))
    for n in (2, 3, 4):
        most = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1)).most_common()
        if len(most) > 1 and most[0][1] == most[1][1]:
            continue  # a tie between n-grams of different lengths: either answer is the most common
        assert s[f"top_{n}gram"] == pytest.approx(_brute_top(words, n))
    for n in range(5, 11):
        assert s[f"duplicate_{n}grams"] == pytest.approx(_brute_dup(words, n))


GOOD = wc.ARTICLES[3][1]


@pytest.mark.parametrize("text, rule", [
    ("Too short to be a page.", "too_few_words"),
    (" ".join(["internationalisation"] * 40 + ["of", "the"] * 5), "mean_word_length"),
    (GOOD + " #a #b" * 20, "symbol_ratio"),
    ("\n".join(f"• item {i} of the list and the menu" for i in range(12)), "bullet_lines"),
    ("\n".join(f"Story number {i} of the day is about the town..." for i in range(12)), "ellipsis_lines"),
    (GOOD + " 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28", "alpha_words"),
    (" ".join(["cheap flights tokyo best deals"] * 15), "stop_words"),
    (GOOD + "\nBuy now!\nBuy now!\nBuy now!\nBuy now!", "duplicate_lines"),
    (GOOD + "\n\n" + "Lorem ipsum dolor sit amet.", "lorem_ipsum"),
    (GOOD + "\n.box { display: flex; }", "curly_bracket"),
    (GOOD + "\nWe use cookies.\nEnable JavaScript.\nPrivacy policy.", "boilerplate_lines"),
    (" ".join(["the cat sat on the mat"] * 20), "top_2gram"),
])
def test_each_rule_catches_its_example(text, rule):
    assert rule in pl.quality_failures(text)


def test_good_pages_and_most_plays_pass_the_quality_rules():
    for _, body in wc.ARTICLES:
        assert pl.quality_failures(body) == []
    chunks = wc.chunk_text(read_text("macbeth"))
    failing = [c for c in chunks if pl.quality_failures(c)]
    assert len(failing) <= 0.1 * len(chunks)
    with pytest.raises(TypeError, match="str"):
        pl.quality_signals(None)


# ----------------------------------------------------------------------------------------------- dedup, PII


def test_exact_duplicates_point_at_the_first_copy():
    assert pl.exact_duplicates(["a", "b", "a", "a", "c", "b"]) == [None, None, 0, 0, None, 1]
    assert pl.exact_hash("a") != pl.exact_hash("a ")  # exact means exact


@pytest.mark.parametrize("phone", ["+1 (555) 014-2368", "555-014-2368", "+44 20 7946 0958", "03-1234-5678",
                                   "(555) 123-4567", "+81 90 1234 5678", "555.014.2368"])
def test_phone_numbers_are_masked(phone):
    masked, counts = pl.mask_pii(f"Call {phone} today.")
    assert masked == "Call <PHONE> today." and counts == {"email": 0, "phone": 1}


def test_emails_are_masked_and_the_rest_kept():
    text = "Write to anna.schmidt@example.org or kenji+club@mail.example.net, in 1599 or 1623, Act 3, Scene 2."
    masked, counts = pl.mask_pii(text)
    assert masked == "Write to <EMAIL> or <EMAIL>, in 1599 or 1623, Act 3, Scene 2."
    assert counts == {"email": 2, "phone": 0}
    with pytest.raises(TypeError, match="str"):
        pl.mask_pii(b"x@example.com")


def test_the_plays_hold_no_pii():
    for work in ("hamlet", "henry_v", "sonnets"):
        for edition in ("modern", "folio"):
            if work == "sonnets" and edition == "folio":
                continue
            text = read_text(work, edition)
            assert pl.mask_pii(text) == (text, {"email": 0, "phone": 0})


# ----------------------------------------------------------------------------------------------- the whole run


@pytest.fixture(scope="module")
def run():
    docs = wc.raw_documents(works=["macbeth", "twelfth_night", "hamlet", "tempest", "julius_caesar"])
    rng = random.Random(0)
    bad = [wc.Document("bad/0", "web", "web", None, "broken"), wc.Document("bad/1", "web", "web", b"\xff\xfe\x00", "x"),
           wc.Document("bad/2", "web", "web", bytes(rng.randrange(256) for _ in range(500)), "x"),
           wc.Document("bad/3", "web", "web", "  ", "x"), wc.Document("bad/4", "web", "web", "\udc80 x", "x")]
    return docs + bad, pl.run_pipeline(docs + bad)


def test_bad_input_is_counted_never_a_crash(run):
    docs, result = run
    assert len(result.records) == len(docs)
    reasons = result.reasons("decode")
    assert reasons["not_text"] == 1 and reasons["binary"] >= 5 and reasons["invalid_utf8"] >= 4
    assert reasons["empty"] >= 4
    assert all(r.doc.kind not in ("empty", "binary", "invalid_utf8", "broken") for r in result.kept())


def test_every_removed_document_has_a_stage_and_a_reason(run):
    _, result = run
    for r in result.records:
        assert (r.stage is None) == (r.reason == "")
        assert r.stage is None or r.stage in pl.STAGES
    funnel = result.funnel()
    assert [row["stage"] for row in funnel] == ["raw", *pl.STAGES]
    totals = [sum(row[s] for s in pl.SOURCES) for row in funnel]
    assert totals[0] == len(result.records) and totals[-1] == len(result.kept())
    assert all(a >= b for a, b in zip(totals, totals[1:]))


def test_folio_chunks_are_found_as_near_duplicates_of_the_same_play(run):
    _, result = run
    folio = [r for r in result.records if r.doc.source == "folio" and r.stage in (None, "near_dedup")]
    caught = [r for r in folio if r.stage == "near_dedup"]
    assert len(caught) >= 0.85 * len(folio)
    by_id = {r.doc.doc_id: r for r in result.records}
    for dropped, kept, estimate in result.near_dup_matches:
        a, b = result.records[dropped], result.records[kept]
        assert estimate >= result.config.near_dup_threshold
        if a.doc.source != "web" and b.doc.source != "web":
            assert a.doc.work == b.doc.work  # different plays are never near-duplicates
            assert b.doc.source == "modern"  # the modern edition comes first and is kept
        assert by_id[b.doc.doc_id].kept
    assert not [r for r in result.records if r.doc.source == "modern" and r.stage == "near_dedup"]


def test_generated_junk_is_removed_and_good_pages_kept_with_pii_masked(run):
    _, result = run
    web = [r for r in result.records if r.doc.source == "web" and r.doc.doc_id.startswith("web/")]
    kept_kinds = Counter(r.doc.kind for r in web if r.kept)
    assert set(kept_kinds) <= {"article", "article_pii"}
    assert kept_kinds["article"] == wc.WEB_MIX["article"] and kept_kinds["article_pii"] == wc.WEB_MIX["article_pii"]
    for r in web:
        if r.doc.kind in ("exact_copy", "near_copy", "quote"):
            assert not r.kept
        if r.kept and r.doc.kind == "article_pii":
            assert r.pii["email"] == 1 and r.pii["phone"] == 1
            assert "<EMAIL>" in r.text and "<PHONE>" in r.text and "@" not in r.text
    assert not any(r.kept and r.doc.kind.startswith("non_english") for r in web)


def test_split_holds_out_whole_works_and_the_card_reports_it(run):
    _, result = run
    split = pl.split_by_work(result)
    held = set(validation_works())
    assert {r.doc.work for r in split["validation"]} == held
    assert not [r for r in split["train"] if r.doc.work in held]
    assert len(split["train"]) + len(split["validation"]) == len(result.kept())
    card = pl.data_card(result, split, tokens={"train": 1, "validation": 2})
    for heading in ("## Sources", "## Documents after each stage", "## Splits", "## Languages",
                    "## What was removed, and why", "## Known limitations"):
        assert heading in card
    assert f"| train | {len(split['train']):,} |" in card
    assert "6 or more PII spans" in card  # the card says how our PII rule differs from Dolma's


def test_pipeline_arguments_are_checked():
    with pytest.raises(TypeError, match="list of Document"):
        pl.run_pipeline("not a list")
    with pytest.raises(ValueError, match="exceeds num_perm"):
        pl.PipelineConfig(bands=100, rows=2)
    with pytest.raises(ValueError, match="near_dup_threshold"):
        pl.PipelineConfig(near_dup_threshold=0)
    with pytest.raises(ValueError, match="min_language_margin"):
        pl.PipelineConfig(min_language_margin=2)
