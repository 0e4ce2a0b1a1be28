"""Slide metadata from headings, and static decks that name only local scripts (the browser opens one in tests/e2e)."""

import re

import pytest

from helpers import nbtools, slides


def _nb(*cells):
    kinds = {"md": "markdown", "code": "code"}
    return {"metadata": {}, "nbformat": 4, "nbformat_minor": 5, "cells": [
        {"cell_type": kinds[k], "metadata": {}, "source": s, **({"outputs": [], "execution_count": None}
                                                                  if k == "code" else {})} for k, s in cells]}


TOY = _nb(("md", "# 04 · Title"), ("md", "Colab."), ("code", nbtools.BOOTSTRAP_MARKER + ": ..."),
          ("md", "## 1. Setup"), ("code", "course = setup()"),
          ("md", "## 2. Attention"), ("md", "### 2.1 Scores"), ("code", "scores = q @ k.T"),
          ("md", "## 3. BatchNorm in detail (optional · 発展)"), ("code", "bn()"), ("md", "### 3.1 more"),
          ("md", "## 4. Exercises"), ("code", "# SELF-CHECK"),
          ("md", "## 5. More"), ("md", "### 5.1 Core"), ("code", "a"), ("md", "### 5.2 Depth (optional · 発展)"),
          ("code", "b"), ("md", "### 5.3 Core again"), ("code", "c"))


def test_headings_make_the_deck_and_optional_sections_are_skipped():
    assert slides.slide_types(TOY) == ["slide", "-", "skip", "slide", "-", "slide", "subslide", "-",
                                       "skip", "skip", "skip", "slide", "-",
                                       "slide", "subslide", "-", "skip", "skip", "subslide", "-"]


def test_slide_metadata_is_written_once_and_then_current():
    nb = _nb(*[(c["cell_type"][:4].replace("mark", "md"), c["source"]) for c in TOY["cells"]])
    assert slides.slide_metadata_problems(nb)
    assert slides.apply_slide_metadata(nb) is True
    assert slides.apply_slide_metadata(nb) is False  # idempotent
    assert slides.slide_metadata_problems(nb) == []
    assert nb["metadata"]["rise"]["scroll"] is True
    nb["cells"][5]["metadata"]["slideshow"] = {"slide_type": "-"}  # someone edits a section heading's type by hand
    assert "cell 5" in slides.slide_metadata_problems(nb)[0]


def test_a_static_deck_loads_its_scripts_from_the_local_vendor_folder(tmp_path):
    pytest.importorskip("nbconvert")
    path = tmp_path / "04_toy.ipynb"
    nbtools.save(_nb(("md", "# 04 · Toy deck"), ("md", "## 1. First"), ("code", "x = 1"), ("md", "## 2. Second")), path)
    html = slides.build_deck(path, tmp_path / "out").read_text(encoding="utf-8")
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html) + re.findall(r'"([^"]*reveal[^"]*\.js)"', html)
    assert scripts and all(s.startswith(("vendor/", "./vendor/")) for s in scripts), scripts
    assert "unpkg.com" not in html and "cdnjs" not in html  # nothing a classroom without network would wait for
    assert html.count('<section') >= 2  # one per section


def test_a_heading_in_the_middle_of_a_cell_starts_a_new_cell():
    nb = _nb(("md", "# 03 · Title"), ("md", "Tail of section 1.\n\n## 2. Next\n\nText.\n### 2.1 Sub\nMore."),
             ("md", "```python\n## not a heading: a comment in code\n```"), ("code", "x = 1  ## comment"))
    nb["cells"][1]["id"] = "keep-me"
    assert slides.slide_metadata_problems(nb)[-1].startswith("markdown cell 1 has a section heading")
    assert slides.split_at_headings(nb) is True
    assert [c["source"] for c in nb["cells"][1:4]] == ["Tail of section 1.", "## 2. Next\n\nText.", "### 2.1 Sub\nMore."]
    assert nb["cells"][1]["id"] == "keep-me" and "id" not in nb["cells"][2]
    assert slides.split_at_headings(nb) is False and len(nb["cells"]) == 6


def test_a_japanese_deck_keeps_the_english_slide_metadata_and_skips_the_same_sections(tmp_path):
    pytest.importorskip("nbconvert")
    english = _nb(("md", "# 04 · Toy deck"), ("md", "## 1. First"), ("code", "x = 1"),
                  ("md", "## 2. Depth (optional · 発展)"), ("md", "Deep text."), ("md", "## 3. Last"))
    slides.apply_slide_metadata(english)
    japanese = _nb(("md", "# 04 · 小さなデッキ"), ("md", "## 1. 最初"), ("code", "x = 1"),
                   ("md", "## 2. 深掘り (発展)"), ("md", "深い話。"), ("md", "## 3. 最後"))
    for en, ja in zip(english["cells"], japanese["cells"], strict=True):  # what the build copies
        ja["metadata"] = en["metadata"]
    japanese["metadata"] = english["metadata"]
    (tmp_path / "ja").mkdir()
    nbtools.save(japanese, tmp_path / "ja" / "04_toy.ipynb")
    deck = slides.build_deck(tmp_path / "ja" / "04_toy.ipynb", tmp_path / "out")
    assert deck.name == "04_toy.ja.slides.html"
    html = deck.read_text(encoding="utf-8")
    assert "最初" in html and "最後" in html
    assert "深い話" not in html  # the optional section stays out, though its Japanese heading lacks the English mark
