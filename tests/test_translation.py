"""The Japanese edition's machinery (helpers.translation), and every Japanese notebook against its sources."""

import collections
import copy
import re

import polib
import pytest

from helpers import nbtools, translation


def _notebook() -> dict:
    md = {"cell_type": "markdown", "metadata": {}}
    code = {"cell_type": "code", "metadata": {}, "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "42\n"}]}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {**md, "id": "title", "source": "# 01 · Title\n\n" + nbtools.colab_badge("01_x.ipynb") + "\n\nIntro."},
        {**code, "id": "c1", "source": "print(42)"},
        {**md, "id": "m1", "source": "## 1. A section\n\nWhy the next cell runs."},
        {**code, "id": "c2", "source": "x = 1"},
    ]}


def _translated(nb: dict) -> polib.POFile:
    po = translation.update_catalogue(nb)
    for entry in po:
        entry.msgstr = "訳: " + entry.msgid
    return po


def test_a_new_catalogue_has_one_empty_entry_per_markdown_cell_without_the_badge():
    po = translation.update_catalogue(_notebook())
    assert [e.msgctxt for e in po] == ["title", "m1"]
    assert po[0].msgid == "# 01 · Title\n\nIntro."  # the generated badge line is not for translators
    assert all(e.msgstr == "" for e in po)
    assert translation.status(_notebook(), po).missing == ["title", "m1"]


def test_changed_english_makes_the_entry_fuzzy_and_keeps_the_old_text_and_translation():
    nb = _notebook()
    po = _translated(nb)
    nb["cells"][2]["source"] = "## 1. A section\n\nWhy the next cell runs, now longer."
    po = translation.update_catalogue(nb, po)
    entry = next(e for e in po if e.msgctxt == "m1")
    assert "fuzzy" in entry.flags
    assert entry.previous_msgid == "## 1. A section\n\nWhy the next cell runs."
    assert entry.msgstr.startswith("訳: ")
    st = translation.status(nb, po)
    assert (st.translated, st.fuzzy, st.missing) == (1, ["m1"], [])


def test_a_removed_cell_becomes_obsolete_and_a_new_cell_gets_an_empty_entry():
    nb = _notebook()
    po = _translated(nb)
    nb["cells"][2]["id"] = "m2"  # the section was replaced by a new cell
    po = translation.update_catalogue(nb, po)
    assert [(e.msgctxt, e.obsolete) for e in po] == [("title", False), ("m2", False), ("m1", True)]
    assert translation.status(nb, po).missing == ["m2"]


def test_the_catalogue_survives_a_round_trip_through_a_po_file(tmp_path):
    nb = _notebook()
    po = _translated(nb)
    path = tmp_path / "01_x.po"
    po.save(str(path))
    again = polib.pofile(str(path), wrapwidth=0)
    assert [(e.msgctxt, e.msgid, e.msgstr) for e in again] == [(e.msgctxt, e.msgid, e.msgstr) for e in po]
    assert translation.status(nb, again).complete


def test_the_build_translates_markdown_and_copies_code_and_outputs():
    nb = _notebook()
    ja = translation.build_japanese(nb, _translated(nb), "01_x.ipynb")
    assert [c["source"] for c in ja["cells"] if c["cell_type"] == "code"] == ["print(42)", "x = 1"]
    assert ja["cells"][1]["outputs"] == nb["cells"][1]["outputs"]
    assert ja["cells"][2]["source"] == "訳: ## 1. A section\n\nWhy the next cell runs."
    title = ja["cells"][0]["source"]
    assert title.startswith("訳: # 01 · Title\n\n" + nbtools.colab_badge("ja/01_x.ipynb"))
    assert "**English edition**: [../01_x.ipynb](../01_x.ipynb)" in title
    assert nb["cells"][2]["source"] == "## 1. A section\n\nWhy the next cell runs."  # the English is untouched


@pytest.mark.parametrize("spoil", ["empty", "fuzzy", "absent"])
def test_the_build_refuses_a_catalogue_without_a_current_translation_and_names_the_cell(spoil):
    nb = _notebook()
    po = _translated(nb)
    entry = next(e for e in po if e.msgctxt == "m1")
    if spoil == "empty":
        entry.msgstr = ""
    elif spoil == "fuzzy":
        entry.flags.append("fuzzy")
    else:
        po.remove(entry)
    with pytest.raises(ValueError, match=r"\['m1'\]"):
        translation.build_japanese(nb, po, "01_x.ipynb")


def test_the_english_title_links_the_japanese_once():
    nb = _notebook()
    assert translation.link_japanese(nb, "01_x.ipynb")
    assert not translation.link_japanese(nb, "01_x.ipynb")  # idempotent
    title = nb["cells"][0]["source"]
    assert title.count("**日本語版**: [ja/01_x.ipynb](ja/01_x.ipynb)") == 1
    assert title.index("colab-badge") < title.index("日本語版")
    assert translation.english_text(nb["cells"][0]) == "# 01 · Title\n\nIntro."


# --- the real catalogues and Japanese notebooks -------------------------------------------------------------
CATALOGUED = [p for p in sorted(nbtools.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) if translation.catalogue_path(p).exists()]


@pytest.mark.parametrize("path", CATALOGUED, ids=lambda p: p.stem)
def test_every_markdown_cell_has_a_current_translation(path):
    st = translation.status(nbtools.load(path), polib.pofile(str(translation.catalogue_path(path))))
    assert st.complete, (f"{path.name}: cells {st.missing} have no translation and {st.fuzzy} are fuzzy "
                         f"(English changed): edit {translation.catalogue_path(path).name}, then make sync-notebooks")


@pytest.mark.parametrize("path", CATALOGUED, ids=lambda p: p.stem)
def test_the_japanese_notebook_is_what_the_build_makes_from_its_sources(path):
    nb = nbtools.load(path)
    po = polib.pofile(str(translation.catalogue_path(path)))
    ja_path = translation.japanese_path(path)
    assert ja_path.exists(), f"{ja_path} is missing: run make sync-notebooks"
    built = translation.build_japanese(copy.deepcopy(nb), po, path.name)
    stored = nbtools.load(ja_path)
    flat = nbtools._flat_sources
    assert flat(stored) == flat(built), f"{ja_path.name} is out of date: run make sync-notebooks"
    assert [c.get("outputs") for c in stored["cells"]] == [c.get("outputs") for c in nb["cells"]]
    code = [(c["id"], nbtools._source(c)) for c in nb["cells"] if c["cell_type"] == "code"]
    assert [(c["id"], nbtools._source(c)) for c in stored["cells"] if c["cell_type"] == "code"] == code
    assert "**日本語版**: [ja/" in nbtools._source(nb["cells"][0]), f"{path.name}'s title cell does not link it"


def test_every_catalogue_belongs_to_a_notebook():
    names = {p.stem for p in nbtools.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")}
    orphans = [p.name for p in translation.CATALOGUES.glob("*.po") if p.stem not in names]
    assert not orphans, f"catalogues without an English notebook: {orphans}"


def test_the_japanese_readme_has_the_two_commands_and_links_every_notebook_in_its_best_edition():
    root = nbtools.REPO_ROOT
    ja = (root / "README.ja.md").read_text(encoding="utf-8")
    assert "[README.ja.md](README.ja.md)" in (root / "README.md").read_text(encoding="utf-8")[:400]
    assert "make lab" in ja and "make test" in ja and "[README.md](README.md)" in ja
    from helpers.course import COURSE_MAP
    for nb in COURSE_MAP:
        japanese = translation.japanese_path(nbtools.NOTEBOOKS / nb.filename)
        want = f"notebooks/ja/{nb.filename}" if japanese.exists() else f"notebooks/{nb.filename}"
        row = next((line for line in ja.splitlines() if line.startswith(f"| {nb.number:02d} |")), "")
        assert f"]({want})" in row, f"README.ja.md's row {nb.number:02d} should link {want}: {row!r}"


def test_nbtools_refuses_a_japanese_notebook_and_names_the_english_one():
    with pytest.raises(SystemExit, match=r"built from notebooks/09_bpe_tokenization.ipynb.*translation sync"):
        nbtools.main(["check", str(nbtools.NOTEBOOKS / "ja" / "09_bpe_tokenization.ipynb")])


def _kept(markdown: str) -> dict[str, collections.Counter]:
    """What a translation must carry over from the English unchanged: link and image targets, LaTeX, inline code
    (fenced code blocks aside: their prose comments may be translated), and each heading's level and number."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.S)
    return {"link targets": collections.Counter(re.findall(r"\]\(([^)]*)\)", text)),
            "formulas": collections.Counter(re.findall(r"\$\$.*?\$\$|\$[^$]+\$", text, flags=re.S)),
            "code spans": collections.Counter(re.findall(r"`[^`\n]+`", text)),
            "headings": collections.Counter(re.findall(r"^#+ (?:\d+(?:\.\d+)*\.?(?=\s))?", text, flags=re.M))}


@pytest.mark.parametrize("path", CATALOGUED, ids=lambda p: p.stem)
def test_translations_keep_the_links_formulas_code_and_heading_numbers(path):
    for entry in polib.pofile(str(translation.catalogue_path(path)), wrapwidth=0):
        if entry.obsolete or not entry.msgstr:
            continue
        english, japanese = _kept(entry.msgid), _kept(entry.msgstr)
        for kind in english:
            lost = english[kind] - japanese[kind]  # the Japanese may repeat a formula, never drop one
            assert not lost, f"{path.stem}.po, cell {entry.msgctxt}: the Japanese lost {kind} {sorted(lost)}"
        assert english["headings"] == japanese["headings"], (path.stem, entry.msgctxt)


def test_the_keep_check_finds_a_dropped_link_and_a_renumbered_heading():
    english = _kept("## 3. Attention\n\nSee [the paper](https://arxiv.org/abs/1706.03762) and $QK^T$, `softmax`.")
    japanese = _kept("## 4. アテンション\n\n[論文](https://arxiv.org/abs/1706.03762) と $QK^T$ を見てください。")
    assert english["link targets"] == japanese["link targets"] and english["formulas"] == japanese["formulas"]
    assert english["code spans"] - japanese["code spans"] and english["headings"] != japanese["headings"]
