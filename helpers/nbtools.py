"""Notebook maintenance: the Colab cell and badge, the notebook policy, and re-running.

Every notebook starts the same way: a title cell with the "Open in Colab" badge, the
Colab bootstrap cell (identical in every notebook), then ``setup()``. The repository's
address is written once, in ``pyproject.toml`` (``[project.urls] Repository``); the
badge and the bootstrap cell are made from it here.

Command line (also through ``make``)::

    python -m helpers.nbtools sync            # rewrite badges and bootstrap cells, split headings, slide metadata
    python -m helpers.nbtools check           # report policy problems (the tests run the same checks)
    python -m helpers.nbtools run [NB ...]    # execute in full mode, top to bottom, save outputs, strip
    python -m helpers.nbtools times           # stored full-mode run time of each notebook and its long cells
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from helpers import slides

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO_ROOT / "notebooks"
BOOTSTRAP_MARKER = "# Colab bootstrap"

# What the notebooks need that a Colab runtime may lack, as (module to import, pip name).
# Colab already has torch, numpy, matplotlib, ipywidgets, tqdm and safetensors; the
# cell never reinstalls what imports, so it cannot touch those.
COLAB_PACKAGES = [
    ("matplotlib_fontja", "matplotlib-fontja"),
    ("safetensors", "safetensors"),
    ("tqdm", "tqdm"),
    ("regex", "regex"),
    ("tokenizers", "tokenizers"),  # notebook 09's reference; Colab has it (it comes with transformers)
    ("bertviz", "bertviz"),  # notebook 05's attention views; Colab has the internet its JavaScript needs
    ("datasketch", "datasketch"),  # notebook 08's MinHash reference
    ("sentencepiece", "sentencepiece"),  # notebook 09's Japanese section (installed only where missing)
]
# Project dependencies the bootstrap cell deliberately leaves to Colab.
COLAB_PREINSTALLED = {"torch", "numpy", "matplotlib", "ipywidgets", "jupyterlab"}
# Project dependencies Colab does not need: RISE slides run in JupyterLab, not in Colab's own front end.
COLAB_NOT_NEEDED = {"jupyterlab-rise"}

# Outputs that do not survive a clone (JupyterLab does not trust them) and are large.
STRIPPED_MIME = ("application/vnd.jupyter.widget-view+json", "application/javascript")


def repo_url(pyproject: Path = REPO_ROOT / "pyproject.toml") -> str:
    """The ``Repository`` URL from ``pyproject.toml`` (parsed by hand: no tomllib on 3.10)."""
    match = re.search(r'^Repository\s*=\s*"([^"]+)"', pyproject.read_text(encoding="utf-8"), re.M)
    if not match:
        raise ValueError(f"{pyproject} has no Repository = \"...\" line under [project.urls]")
    return match.group(1).rstrip("/")


def colab_badge(notebook_name: str, url: str | None = None) -> str:
    """Markdown for the "Open in Colab" badge of ``notebooks/<notebook_name>``."""
    url = url or repo_url()
    if not url.startswith("https://github.com/"):
        raise ValueError(f"Colab opens notebooks from GitHub; the repository URL {url!r} is not a github.com URL")
    path = url.removeprefix("https://github.com/")
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{path}/blob/main/notebooks/{notebook_name})")


def bootstrap_source(url: str | None = None) -> str:
    """The first code cell of every notebook. In Colab it fetches the course; elsewhere it does nothing."""
    url = url or repo_url()
    packages = ", ".join(f"({m!r}, {p!r})" for m, p in COLAB_PACKAGES)
    return f'''{BOOTSTRAP_MARKER}: in Google Colab, fetch the course and install what Colab lacks
# (never torch, numpy or ipywidgets). Everywhere else this cell does nothing.
import importlib.util, os, subprocess, sys
try:
    import google.colab  # noqa: F401  (exists only in Colab)
    IN_COLAB = True
except ImportError:
    IN_COLAB = False
if IN_COLAB:
    REPO_URL = os.environ.get("COURSE_REPO_URL", "{url}")
    REPO_DIR = os.path.join(os.environ.get("COURSE_COLAB_HOME", "/content"), REPO_URL.rstrip("/").split("/")[-1])
    if not os.path.isdir(REPO_DIR):
        subprocess.run(["git", "clone", "--depth", "1", "--quiet", REPO_URL, REPO_DIR], check=True)
    missing = [pip for module, pip in [{packages}] if importlib.util.find_spec(module) is None]
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing], check=True)
    if REPO_DIR not in sys.path:
        sys.path.insert(0, REPO_DIR)  # an editable install would only show after a restart
    from google.colab import output
    output.enable_custom_widget_manager()
    print("Colab: course ready in", REPO_DIR)'''


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def save(nb: dict, path: Path) -> None:
    """Write ``nb`` as Jupyter does (sources split into lines), so re-saving gives small diffs."""
    import uuid

    import nbformat

    for cell in nb.get("cells", []):  # nbformat 4.5 wants an id on every cell; hand-made notebooks lack them
        cell.setdefault("id", uuid.uuid4().hex[:8])
    nbformat.write(nbformat.from_dict(nb), str(path))


def sync(nb: dict, name: str, url: str | None = None) -> bool:
    """Put the current badge in the title cell and the current bootstrap cell first, give every section heading
    its own cell and write the slide metadata (``helpers.slides``). True if changed."""
    split = slides.split_at_headings(nb)
    decked = slides.apply_slide_metadata(nb)
    before = json.dumps(_flat_sources(nb), sort_keys=True)
    title = nb["cells"][0]
    lines = [ln for ln in _source(title).split("\n") if "colab-badge.svg" not in ln]
    rest = "\n".join(lines[1:]).strip("\n")
    title["source"] = f"{lines[0]}\n\n{colab_badge(name, url)}\n\n{rest}".rstrip("\n")
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    if code and _source(code[0]).startswith(BOOTSTRAP_MARKER):
        code[0]["source"] = bootstrap_source(url)
    return split or decked or json.dumps(_flat_sources(nb), sort_keys=True) != before


def _flat_sources(nb: dict) -> list[str]:
    """Every cell's source as one string (Jupyter stores a list of lines, ``sync`` writes a string)."""
    return [_source(c) for c in nb["cells"]]


def strip(nb: dict) -> dict:
    """Drop widget state and widget/JavaScript/bertviz HTML outputs; keep text and images."""
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if any(m in data for m in STRIPPED_MIME) or "<script" in "".join(data.get("text/html", "")):
                continue
            kept.append(out)
        cell["outputs"] = kept
        cell.get("metadata", {}).pop("widgets", None)
    return nb


LONG_CELL_S = 30  # a code cell that ran longer than this in the stored full-mode run is announced before it runs
DURATION = re.compile(r"\d+(?:\.\d+)?\s*(?:(?:-|–|to)\s*\d+(?:\.\d+)?\s*)?(?:s|sec|seconds?|min|minutes?)\b"
                      r"|\b(?:a|one|two|three|four|five|a few|several)\s+(?:seconds|minutes?)\b", re.I)


def cell_seconds(cell: dict) -> float | None:
    """How long a code cell ran in the stored run, from the timestamps Jupyter keeps in its metadata."""
    from datetime import datetime

    times = cell.get("metadata", {}).get("execution", {})
    start, end = times.get("iopub.execute_input"), times.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731  (3.10 lacks "Z")
    return (parse(end) - parse(start)).total_seconds()


def times_line(path: Path) -> str:
    """One line: the notebook's stored full-mode run time (sum of its cells) and its cells over LONG_CELL_S."""
    cells = load(path)["cells"]
    seconds = [(i, cell_seconds(c)) for i, c in enumerate(cells) if c["cell_type"] == "code"]
    total = sum(s for _, s in seconds if s)
    long = ", ".join(f"c{i} {s:.0f} s" for i, s in seconds if s and s > LONG_CELL_S)
    return f"{Path(path).name:40s} {total:6.0f} s" + (f"   long cells: {long}" if long else "")


def problems(path: Path, url: str | None = None) -> list[str]:
    """Everything about one notebook that breaks the notebook policy (see the README)."""
    path = Path(path)
    nb = load(path)
    found = []
    cells = nb.get("cells", [])
    code = [c for c in cells if c["cell_type"] == "code"]
    number = int(path.name[:2]) if path.name[:2].isdigit() else None

    if not cells or cells[0]["cell_type"] != "markdown" or not _source(cells[0]).startswith("# "):
        found.append("the first cell must be markdown starting with the title ('# ...')")
    elif colab_badge(path.name, url) not in _source(cells[0]):
        found.append("the title cell lacks this notebook's Colab badge (run `make sync-notebooks`)")
    if not code or _source(code[0]) != bootstrap_source(url):
        found.append("the first code cell is not the current Colab bootstrap cell (run `make sync-notebooks`)")
    if len(code) < 2 or "setup(" not in _source(code[1]):
        found.append("the second code cell must call helpers.course.setup()")
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code" and i > 0 and cells[i - 1]["cell_type"] != "markdown":
            found.append(f"code cell {i} has no markdown cell before it saying why it runs")
    if not any(c["cell_type"] == "markdown" and re.search(r"^#+ .*Glossary", _source(c), re.M)
               and re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", _source(c)) for c in cells):
        found.append("no EN/JA glossary section ('## Glossary' with Japanese terms)")
    for i, cell in enumerate(cells):
        prose = re.sub(r"```.*?```|`[^`]*`", "", _source(cell), flags=re.S)  # code may double backslashes
        if cell["cell_type"] == "markdown" and re.search(r"\\\\[A-Za-z]", prose):
            found.append(f"markdown cell {i} has a doubled backslash before a LaTeX command (write \\text, not "
                         "\\\\text: MathJax reads \\\\ as a line break)")
    if number is not None and number >= 1 and not any("# SELF-CHECK" in _source(c) for c in code):
        found.append("no self-check exercise (a code cell marked '# SELF-CHECK')")

    counts = [c.get("execution_count") for c in code if _source(c).strip()]
    if not counts or any(n is None for n in counts):
        found.append("not every code cell has stored outputs: run it top to bottom (`make notebooks`)")
    elif counts != list(range(1, len(counts) + 1)):
        found.append(f"execution counts {counts} are not 1, 2, 3, ...: restart and run all")
    for c in code:
        for out in c.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"an error output is stored: {out.get('ename')}: {out.get('evalue')}")
            data = out.get("data", {})
            if any(m in data for m in STRIPPED_MIME) or "<script" in "".join(data.get("text/html", "")):
                found.append("widget or JavaScript output is stored (strip it: `python -m helpers.nbtools run`)")
            if "course setup: fast mode" in "".join(out.get("text", "")):
                found.append("stored outputs come from fast mode; commit a full-mode run")
    for i, cell in enumerate(cells):
        seconds = cell_seconds(cell) if cell["cell_type"] == "code" else None
        if seconds and seconds > LONG_CELL_S and not (i and DURATION.search(_source(cells[i - 1]))):
            found.append(f"code cell {i} ran {seconds:.0f} s in the stored run: say how long it takes in the "
                         f"markdown cell before it (e.g. 'trains for about {max(1, round(seconds / 60))} minute(s)')")
    found += slides.slide_metadata_problems(nb)
    if "widgets" in nb.get("metadata", {}):
        found.append("widget state is stored in the notebook metadata (strip it)")
    return found


def execute(path: Path, timeout: int = 3600) -> None:
    """Run a notebook top to bottom in full mode in its own folder, then strip and save it."""
    import os

    import nbformat
    from nbclient import NotebookClient

    os.environ.pop("COURSE_FAST", None)  # committed outputs come from full mode
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    nbformat.write(nb, path)
    save(strip(load(path)), path)


def _notebooks(names: list[str]) -> list[Path]:
    """The notebooks named (default: every English one). A Japanese notebook is refused: it is built."""
    paths = [Path(n) for n in names] if names else sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        if path.parent.name == "ja":
            raise SystemExit(f"{path} is built from notebooks/{path.name} and translations/ja/{path.stem}.po: "
                             f"run this on notebooks/{path.name}, then `python -m helpers.translation sync "
                             f"notebooks/{path.name}` (tests/test_translation.py checks the Japanese build)")
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Notebook maintenance for the course.")
    parser.add_argument("command", choices=["sync", "check", "run", "times"])
    parser.add_argument("notebooks", nargs="*", help="notebook files (default: all in notebooks/)")
    args = parser.parse_args(argv)
    if args.command == "times":
        for path in _notebooks(args.notebooks):
            print(times_line(path))
        return 0
    bad = 0
    for path in _notebooks(args.notebooks):
        if args.command == "sync":
            nb = load(path)
            if sync(nb, path.name):
                save(nb, path)
                print(f"updated {path}")
        elif args.command == "run":
            print(f"running {path} in full mode ...", flush=True)
            execute(path)
        issues = problems(path)
        for issue in issues:
            print(f"{path.name}: {issue}")
        bad += bool(issues)
    return 1 if bad and args.command != "sync" else 0


if __name__ == "__main__":
    sys.exit(main())
