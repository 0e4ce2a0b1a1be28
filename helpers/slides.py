"""Classroom decks: slide metadata from each notebook's headings, and static reveal.js decks that open offline.

A notebook is a deck without any hand-made metadata: its title cell and every ``## `` section start a slide,
``### `` sub-sections start sub-slides (reveal.js's vertical slides), and everything else continues the slide
above it. Optional depth (sections and sub-sections whose heading ends with ``(optional · 発展)``) and the Colab
bootstrap cell are skipped, so the deck is the core path of lecture 3. ``python -m helpers.nbtools sync`` writes
this metadata and the notebook policy checks that it is current.

Two ways to present:

- live, in ``make lab``: the RISE extension for JupyterLab (``jupyterlab-rise``) shows the open notebook as a
  slideshow (the "Render as slideshow" button, or ``/rise/<notebook>`` in the address bar); cells run and widgets
  work as in the notebook;
- static, with the stored outputs: ``make slides`` (``python -m helpers.slides``) writes
  ``build/slides/NN_name.slides.html`` (and ``NN_name.ja.slides.html`` from the Japanese edition) with reveal.js,
  jQuery, require.js and MathJax copied beside them from the npm registry (fetched once with ``npm pack`` into
  ``artifacts/npm``), so the decks open offline from disk.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
OPTIONAL_MARK = "(optional · 発展)"
BOOTSTRAP_MARKER = "# Colab bootstrap"
RISE_SETTINGS = {"scroll": True, "transition": "none", "enable_chalkboard": False}

# The scripts a static deck loads, as npm packages (name, version) and the file inside each that the page uses.
VENDOR = {
    "reveal.js": ("reveal.js", "4.6.1"),
    "jquery": ("jquery", "2.2.4"),
    "requirejs": ("requirejs", "2.3.6"),
    "mathjax": ("mathjax", "2.7.7"),
}
NPM_CACHE = REPO_ROOT / "artifacts" / "npm"
OUT_DIR = REPO_ROOT / "build" / "slides"


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def slide_types(nb: dict) -> list[str]:
    """One RISE/reveal.js slide type per cell: "slide", "subslide", "skip" or "-" (continue the slide above).

    An optional section (``## ... (optional · 発展)``) is skipped up to the next ``##`` heading; an optional
    sub-section (``### ... (optional · 発展)``) up to the next ``##`` or ``###`` heading.
    """
    types, optional_section, optional_sub = [], False, False
    for i, cell in enumerate(nb["cells"]):
        text = _source(cell)
        heading = text.splitlines()[0] if cell["cell_type"] == "markdown" and text else ""
        if heading.startswith("## "):
            optional_section, optional_sub = OPTIONAL_MARK in heading, False
            types.append("skip" if optional_section else "slide")
            continue
        if heading.startswith("### ") and not optional_section:
            optional_sub = OPTIONAL_MARK in heading
            types.append("skip" if optional_sub else "subslide")
            continue
        if i == 0:
            types.append("slide")
        elif optional_section or optional_sub or (cell["cell_type"] == "code" and text.startswith(BOOTSTRAP_MARKER)):
            types.append("skip")
        else:
            types.append("-")
    return types


def _mid_cell_heading(text: str) -> int | None:
    """Index of the first line after the first that starts a ``##``/``###`` heading, outside code fences."""
    fenced = False
    for i, line in enumerate(text.split("\n")):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif i and not fenced and re.match(r"#{2,3} ", line):
            return i
    return None


def split_at_headings(nb: dict) -> bool:
    """Give every ``##``/``###`` heading its own markdown cell start (the deck reads a cell's first line only).

    A markdown cell with a heading in its middle is cut before the heading; the first part keeps the cell's id.
    Returns True if anything was split.
    """
    changed, cells = False, []
    for cell in nb["cells"]:
        text = _source(cell)
        cut = _mid_cell_heading(text) if cell["cell_type"] == "markdown" else None
        while cut is not None:
            lines = text.split("\n")
            head, text = "\n".join(lines[:cut]).rstrip("\n"), "\n".join(lines[cut:])
            cells.append({**cell, "source": head})
            cell = {"cell_type": "markdown", "metadata": {}, "source": text}  # a new id comes with nbtools.save
            cut, changed = _mid_cell_heading(text), True
        cells.append(cell)
    nb["cells"] = cells
    return changed


def apply_slide_metadata(nb: dict) -> bool:
    """Write the slide type of every cell and the deck's RISE settings into ``nb``; True if anything changed."""
    changed = nb.setdefault("metadata", {}).get("rise") != RISE_SETTINGS
    nb["metadata"]["rise"] = dict(RISE_SETTINGS)
    for cell, kind in zip(nb["cells"], slide_types(nb), strict=True):
        meta = cell.setdefault("metadata", {})
        if meta.get("slideshow") != {"slide_type": kind}:
            meta["slideshow"] = {"slide_type": kind}
            changed = True
    return changed


def slide_metadata_problems(nb: dict) -> list[str]:
    """What differs from the derived slide metadata (empty when the notebook is a current deck)."""
    found = []
    if nb.get("metadata", {}).get("rise") != RISE_SETTINGS:
        found.append("the notebook's RISE settings are missing or old (run `make sync-notebooks`)")
    for i, (cell, kind) in enumerate(zip(nb["cells"], slide_types(nb), strict=True)):
        if cell.get("metadata", {}).get("slideshow") != {"slide_type": kind}:
            found.append(f"cell {i} is not marked as slide type {kind!r} (run `make sync-notebooks`)")
            break
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown" and _mid_cell_heading(_source(cell)) is not None:
            found.append(f"markdown cell {i} has a section heading in its middle: start a new cell there "
                         "(`make sync-notebooks` splits it), since the slides follow each cell's first line")
            break
    return found


def fetch_vendor(dest: Path, cache: Path = NPM_CACHE) -> None:
    """Unpack the npm packages in ``VENDOR`` into ``dest/<name>/``, fetching each tarball once with ``npm pack``."""
    cache.mkdir(parents=True, exist_ok=True)
    for folder, (package, version) in VENDOR.items():
        tarball = cache / f"{package}-{version}.tgz"
        if not tarball.exists():
            npm = shutil.which("npm")
            if npm is None:
                raise RuntimeError(f"static decks need {package} {version} from the npm registry and npm is not "
                                   f"installed: install Node.js, or put {tarball.name} in {cache}")
            subprocess.run([npm, "pack", "--silent", f"{package}@{version}"], cwd=cache, check=True,
                           stdout=subprocess.DEVNULL)
        target = dest / folder
        if (target / "package.json").exists():
            continue
        with tarfile.open(tarball) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("package/") and m.isreg()]
            for m in members:
                m.name = m.name.removeprefix("package/")
            tar.extractall(target, members=members)  # noqa: S202  (a package we fetched from the registry)
    # nbconvert's template imports mermaid from a CDN; the course has no diagrams, so a local no-op stands in.
    (dest / "no-mermaid.mjs").write_text("export default { initialize() {} };\n", encoding="utf-8")


def deck_name(notebook: Path) -> str:
    """``NN_name.slides.html``, or ``NN_name.ja.slides.html`` for the Japanese edition's ``notebooks/ja/NN_name``."""
    return f"{notebook.stem}{'.ja' if notebook.parent.name == 'ja' else ''}.slides.html"


def build_deck(notebook: Path, out_dir: Path = OUT_DIR) -> Path:
    """Write ``out_dir/<deck_name>`` from the notebook's stored outputs; scripts come from ``out_dir/vendor``.

    A Japanese notebook keeps the slide metadata its build copied from the English one: its headings say
    ``(発展)``, not ``(optional · 発展)``, so deriving the metadata again would put the optional sections back in.
    """
    import nbformat
    from nbconvert import SlidesExporter

    nb = nbformat.read(str(notebook), as_version=4)
    if notebook.parent.name != "ja":
        apply_slide_metadata(nb)  # the deck follows the headings even if the notebook was not synced
    exporter = SlidesExporter()
    exporter.reveal_url_prefix = "vendor/reveal.js"
    exporter.reveal_theme = "white"
    exporter.reveal_scroll = True
    exporter.jquery_url = "vendor/jquery/dist/jquery.min.js"
    exporter.require_js_url = "vendor/requirejs/require.js"
    exporter.mathjax_url = "vendor/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
    exporter.mermaid_js_url = "./vendor/no-mermaid.mjs"
    html, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": notebook.stem}})
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / deck_name(notebook)
    path.write_text(html, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write static reveal.js decks of the notebooks into build/slides.")
    parser.add_argument("notebooks", nargs="*",
                        help="notebook files (default: every notebook in notebooks/ and its Japanese edition)")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    folder = REPO_ROOT / "notebooks"
    notebooks = [Path(n) for n in args.notebooks] or [
        *sorted(folder.glob("[0-9][0-9]_*.ipynb")), *sorted((folder / "ja").glob("[0-9][0-9]_*.ipynb"))]
    try:
        fetch_vendor(args.out / "vendor")
    except (RuntimeError, subprocess.CalledProcessError) as err:
        print(f"make slides: {err}", file=sys.stderr)
        return 1
    for notebook in notebooks:
        print(f"wrote {build_deck(notebook, args.out)}")
    print(f"open {args.out / deck_name(notebooks[0])} in a browser (works offline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
