"""The notebook policy (README, "Contributing"): structure, stored outputs, badge, bootstrap cell."""

import json
import re
from pathlib import Path

import pytest

from helpers import nbtools, slides
from helpers.course import COURSE_MAP

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_there_are_notebooks_and_each_is_in_the_course_map():
    assert NOTEBOOKS, "no notebooks found"
    known = {nb.filename for nb in COURSE_MAP}
    assert {p.name for p in NOTEBOOKS} <= known


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_the_policy(path):
    assert nbtools.problems(path) == []


def _good_notebook(name="01_language_models.ipynb"):
    md = lambda s: {"cell_type": "markdown", "metadata": {}, "source": s}  # noqa: E731
    code = lambda s, n, out=(): {"cell_type": "code", "metadata": {}, "source": s,  # noqa: E731
                                 "execution_count": n, "outputs": list(out)}
    setup_out = {"output_type": "stream", "name": "stdout", "text": "course setup: full mode ...\n"}
    nb = {"metadata": {}, "nbformat": 4, "nbformat_minor": 5, "cells": [
        md(f"# Title\n\n{nbtools.colab_badge(name)}"),
        md("Colab."), code(nbtools.bootstrap_source(), 1),
        md("Setup."), code("from helpers.course import setup\ncourse = setup()", 2, [setup_out]),
        md("## Exercises"), code("# SELF-CHECK\nassert True", 3),
        md("## Glossary\n\n| attention | 注意機構 |"),
    ]}
    slides.apply_slide_metadata(nb)
    return nb


def test_policy_accepts_a_good_notebook(tmp_path):
    path = tmp_path / "01_language_models.ipynb"
    nbtools.save(_good_notebook(), path)
    assert nbtools.problems(path) == []


@pytest.mark.parametrize("breakage, expected", [
    (lambda nb: nb["cells"][0].update(source="# Title"), "Colab badge"),
    (lambda nb: nb["cells"][2].update(source="print('hi')"), "bootstrap"),
    (lambda nb: nb["cells"][4].update(execution_count=5), "not 1, 2, 3"),
    (lambda nb: nb["cells"][6].update(execution_count=None), "stored outputs"),
    (lambda nb: nb["cells"][6]["outputs"].append({"output_type": "error", "ename": "ValueError",
                                                  "evalue": "x", "traceback": []}), "error output"),
    (lambda nb: nb["cells"][4]["outputs"][0].update(text="course setup: fast mode ...\n"), "fast mode"),
    (lambda nb: nb["metadata"].update(widgets={"state": {}}), "widget state"),
    (lambda nb: nb["cells"][6]["outputs"].append({"output_type": "display_data", "metadata": {}, "data": {
        "application/vnd.jupyter.widget-view+json": {}}}), "widget or JavaScript"),
    (lambda nb: nb["cells"].pop(5), "no markdown cell before"),
    (lambda nb: nb["cells"][6].update(source="assert True"), "self-check"),
    (lambda nb: nb["cells"].pop(), "glossary"),
    (lambda nb: nb["cells"][1].update(source="$P(w \\\\mid h)$"), "doubled backslash"),
    (lambda nb: nb["cells"][5]["metadata"].update(slideshow={"slide_type": "-"}), "slide type"),
    (lambda nb: nb["cells"][3].update(source="Setup.\n\n## 2. A section"), "heading in its middle"),
], ids=["badge", "bootstrap", "order", "unrun", "error", "fast", "widget-state", "widget-view", "markdown",
        "exercise", "glossary", "latex", "slides", "mid-cell-heading"])
def test_policy_catches_each_breakage(tmp_path, breakage, expected):
    nb = _good_notebook()
    breakage(nb)
    path = tmp_path / "01_language_models.ipynb"
    nbtools.save(nb, path)
    found = nbtools.problems(path)
    assert any(expected in p for p in found), found


def test_doubled_backslashes_in_code_are_not_latex(tmp_path):
    nb = _good_notebook()
    nb["cells"][1]["source"] = "Split on `\\\\n`, as in\n```python\nre.split(r'\\\\s+', text)\n```\nand $P(w \\mid h)$."
    path = tmp_path / "01_language_models.ipynb"
    nbtools.save(nb, path)
    assert nbtools.problems(path) == []


def test_strip_removes_widgets_and_javascript_but_keeps_images():
    nb = _good_notebook()
    nb["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    outs = nb["cells"][6]["outputs"]
    outs.append({"output_type": "display_data", "metadata": {},
                 "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "w"}})
    outs.append({"output_type": "display_data", "metadata": {},
                 "data": {"text/html": "<div id='bertviz'></div><script>require(...)</script>"}})
    outs.append({"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBOR"}})
    nbtools.strip(nb)
    assert "widgets" not in nb["metadata"]
    assert [list(o["data"]) for o in nb["cells"][6]["outputs"]] == [["image/png"]]


def test_sync_writes_badge_and_bootstrap_from_the_repository_url():
    nb = _good_notebook("00_setup.ipynb")
    url = "https://github.com/someone/fork"
    assert nbtools.sync(nb, "00_setup.ipynb", url)
    assert "github/someone/fork/blob/main/notebooks/00_setup.ipynb" in nb["cells"][0]["source"]
    assert nb["cells"][0]["source"].startswith("# Title\n\n[![Open In Colab]")
    assert '"https://github.com/someone/fork"' in nb["cells"][2]["source"]
    assert not nbtools.sync(nb, "00_setup.ipynb", url)  # idempotent


def test_repository_url_is_written_once_in_pyproject():
    url = nbtools.repo_url()
    assert url.startswith("https://github.com/")
    for path in NOTEBOOKS:
        text = path.read_text(encoding="utf-8")
        assert url in text  # the bootstrap cell clones it
        assert f"colab.research.google.com/github/{url.removeprefix('https://github.com/')}/blob/main/notebooks/{path.name}" in text


def test_colab_cell_installs_every_dependency_colab_lacks_and_never_torch():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    deps = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M).group(1)
    names = {re.match(r'\s*"([A-Za-z0-9_.-]+)', line).group(1).lower()
             for line in deps.splitlines() if line.strip().startswith('"')}
    installed = {pip for _, pip in nbtools.COLAB_PACKAGES}
    assert names <= installed | nbtools.COLAB_PREINSTALLED | nbtools.COLAB_NOT_NEEDED
    assert not installed & {"torch", "numpy", "ipywidgets"}


def _readme_rows():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return {int(m.group(1)): m.group(0) for m in re.finditer(r"^\| (\d\d) \|.*\|$", readme, re.M)}


def test_readme_course_map_lists_every_notebook_and_marks_what_exists():
    rows = _readme_rows()
    assert sorted(rows) == [nb.number for nb in COURSE_MAP]
    for nb in COURSE_MAP:
        exists = (ROOT / "notebooks" / nb.filename).exists()
        row = rows[nb.number]
        assert (f"(notebooks/{nb.filename})" in row) == exists, row
        assert row.rstrip("| ").endswith("ready" if exists else "coming"), row


def test_notebooks_are_valid_json_with_a_python_kernel():
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        assert nb["nbformat"] == 4
        assert nb["metadata"]["kernelspec"]["language"] == "python"


# Where lecture 3's notes get something wrong, the notebook that teaches the topic says so in a box
# (COURSE.md, "Conventions"): the claim with its Japanese, then the computed output that settles it.
LECTURE_BOX = "**The lecture notes say / what the numbers show**"
LECTURE_BOXES = {  # notebook number -> how many of the lecture's claims it corrects
    "02": 1,  # gradients vanish "because tanh is below 1"
    "04": 1,  # the inner product "is" similarity
    "05": 1,  # multi-query attention "lowers computation"
    "06": 1,  # BatchNorm "cannot be applied" to varying lengths
    "09": 1,  # BPE's second step: "'Aa' no longer exists", "'Ab': 2"
    "10": 1,  # "more than one epoch overfits and degrades"
    "11": 1,  # multi-query attention "lowers computation"
    "12": 1,  # "random sampling picks from the likely tokens"
    "13": 2,  # Gemini Ultra's 90% on MMLU; "MATH does not improve with scale"
}


@pytest.mark.parametrize("number", sorted(LECTURE_BOXES), ids=lambda n: f"notebook {n}")
def test_lecture_notes_boxes_quote_the_claim_and_point_at_a_number(number):
    path = next(p for p in NOTEBOOKS if p.name.startswith(number))
    boxes = [nbtools._source(c) for c in nbtools.load(path)["cells"]
             if c["cell_type"] == "markdown" and LECTURE_BOX in nbtools._source(c)]
    assert len(boxes) >= LECTURE_BOXES[number], f"{path.name}: {len(boxes)} lecture-notes boxes"
    for box in boxes:
        assert "*The lecture notes say:*" in box and "*What the numbers show:*" in box, box[:200]
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", box.split("*What the numbers show:*")[0]), \
            f"{path.name}: the claim needs its Japanese"
        assert re.search(r"\d", box.split("*What the numbers show:*")[1]), f"{path.name}: the box quotes no number"


def _split_term(english: str, japanese: str) -> list[tuple[str, str]]:
    """'a / b' or 'a, b' rows split into their terms when both sides have as many parts."""
    for sep in (" / ", ", "):
        en, ja = english.split(sep), japanese.split(sep)
        if len(en) > 1 and len(en) == len(ja):
            return [pair for e, j in zip(en, ja) for pair in _split_term(e, j)]
    return [(english, japanese)]


def _glossary(markdown: str) -> dict[str, str]:
    """English term (lower case, without a parenthesis) -> Japanese, from a '| English | 日本語 |' table."""
    rows = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 2 or cells[0] in ("English", "") or set(cells[0]) <= set("-: "):
            continue
        for en, ja in _split_term(*cells):
            rows[re.sub(r"\s*\(.*?\)", "", en).strip().lower()] = ja.strip()
    return rows


def test_notebook_glossaries_use_the_course_terms():
    """A term in the README's glossary has the same Japanese in every notebook's glossary (issue 13)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    course_terms = _glossary(readme.split("\n## Glossary", 1)[1].split("\n## ", 1)[0])
    assert len(course_terms) > 30
    wrong = []
    for path in NOTEBOOKS:
        for cell in nbtools.load(path)["cells"]:
            text = nbtools._source(cell)
            if cell["cell_type"] != "markdown" or not re.search(r"^#+ .*Glossary", text, re.M):
                continue
            for en, ja in _glossary(text).items():
                want = course_terms.get(en)
                if want and want.split(" (")[0] not in ja:
                    wrong.append(f"{path.name}: {en!r} is {ja!r}, the course says {want!r}")
    assert not wrong, "\n".join(wrong)


def test_glossary_rows_split_into_terms():
    table = "| English | 日本語 |\n|---|---|\n| greedy decoding / beam search | 貪欲法 / ビームサーチ |\n| RNN (x) | 再帰 |"
    assert _glossary(table) == {"greedy decoding": "貪欲法", "beam search": "ビームサーチ", "rnn": "再帰"}


def _timed(cell: dict, seconds: float) -> dict:
    start = "2026-12-01T10:00:00.000000Z"
    end = f"2026-12-01T10:{int(seconds) // 60:02d}:{seconds % 60:09.6f}Z"
    cell["metadata"]["execution"] = {"iopub.execute_input": start, "shell.execute_reply": end}
    return cell


@pytest.mark.parametrize("seconds, before, flagged", [
    (45, "Setup.", True),                                      # long, and nobody said so
    (45, "Trains for about 45 s on 2 cores.", False),
    (95, "This cell takes 1-2 minutes in full mode.", False),
    (95, "It runs for a few minutes; the stored output shows the result.", False),
    (12, "Setup.", False),                                     # short cells need no warning
])
def test_policy_wants_long_cells_announced(tmp_path, seconds, before, flagged):
    nb = _good_notebook()
    nb["cells"][3]["source"] = before
    _timed(nb["cells"][4], seconds)
    path = tmp_path / "01_language_models.ipynb"
    nbtools.save(nb, path)
    assert nbtools.cell_seconds(nbtools.load(path)["cells"][4]) == pytest.approx(seconds)
    assert any("say how long it takes" in p for p in nbtools.problems(path)) is flagged


def test_times_sums_the_stored_run_and_names_long_cells(tmp_path):
    nb = _good_notebook()
    _timed(nb["cells"][4], 45)
    _timed(nb["cells"][6], 2.5)
    path = tmp_path / "01_language_models.ipynb"
    nbtools.save(nb, path)
    line = nbtools.times_line(path)
    assert re.search(r"\s48 s\s+long cells: c4 45 s$", line), line
