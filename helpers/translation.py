"""The Japanese edition: gettext catalogues of the notebooks' markdown, and the Japanese notebooks built from them.

Each English notebook ``notebooks/NN_name.ipynb`` has a catalogue ``translations/ja/NN_name.po`` (gettext, read and
written with ``polib``, the format Poedit and Weblate read). One entry per markdown cell:

- ``msgctxt``: the cell's id (stable across edits, so an entry follows its cell when cells move);
- ``msgid``: the English markdown, without the lines the tools write (the Colab badge, the link to the other
  edition);
- ``msgstr``: the Japanese.

``update_catalogue`` brings a catalogue in step with its notebook: a new cell gets an empty entry, a cell whose
English changed keeps its old Japanese but is marked *fuzzy* (with the previous English as ``#| msgid``, so a
translator sees what changed), a removed cell's entry becomes obsolete. ``build_japanese`` makes
``notebooks/ja/NN_name.ipynb``: the English notebook with every markdown cell replaced by its translation, code
cells and stored outputs untouched, and a title cell that carries the Japanese notebook's Colab badge and a link
to the English one. It refuses a catalogue with an entry missing, empty or fuzzy, naming the cells.

Command line (``make sync-notebooks`` runs ``sync``)::

    python -m helpers.translation sync     # update every catalogue, build every complete Japanese notebook
    python -m helpers.translation status   # per notebook: cells translated, fuzzy, missing
"""

from __future__ import annotations

import argparse
import copy
import sys
from dataclasses import dataclass
from pathlib import Path

import polib

from helpers import nbtools

CATALOGUES = nbtools.REPO_ROOT / "translations" / "ja"
JA_NOTEBOOKS = nbtools.NOTEBOOKS / "ja"
# The line the tools write into a title cell to link the other edition (never translated, never in a catalogue).
JA_LINK = "**日本語版**: [ja/{name}](ja/{name})"
EN_LINK = "**English edition**: [../{name}](../{name})"
_GENERATED = ("colab-badge.svg", "**日本語版**: [ja/", "**English edition**: [../")


def catalogue_path(notebook: Path) -> Path:
    """``notebooks/NN_name.ipynb`` -> ``translations/ja/NN_name.po``."""
    return CATALOGUES / (Path(notebook).stem + ".po")


def japanese_path(notebook: Path) -> Path:
    """``notebooks/NN_name.ipynb`` -> ``notebooks/ja/NN_name.ipynb``."""
    return JA_NOTEBOOKS / Path(notebook).name


def english_text(cell: dict) -> str:
    """A markdown cell's source without the generated lines (badge, edition link), blank runs collapsed."""
    lines = [ln for ln in nbtools._source(cell).split("\n") if not any(g in ln for g in _GENERATED)]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip("\n")


def markdown_cells(nb: dict) -> list[tuple[str, str]]:
    """``(cell id, English text)`` of every markdown cell, in order. Raises if a cell has no id."""
    out = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        if not cell.get("id"):
            raise ValueError(f"markdown cell {i} has no id: save the notebook with helpers.nbtools.save first")
        out.append((cell["id"], english_text(cell)))
    return out


def update_catalogue(nb: dict, po: polib.POFile | None = None, name: str = "") -> polib.POFile:
    """Bring catalogue ``po`` (None: a new one) in step with notebook ``nb``; returns it, in the notebook's order.

    Unchanged entries stay as they are; a changed English text keeps its translation, marked fuzzy, with the old
    English as ``previous_msgid``; a new cell gets an empty entry; an entry whose cell is gone becomes obsolete.
    """
    old = {e.msgctxt: e for e in (po or []) if not e.obsolete}
    new = polib.POFile(wrapwidth=0)
    new.metadata = dict(po.metadata) if po is not None else {
        "Project-Id-Version": f"transformers-and-pretraining {name}".strip(),
        "Language": "ja",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
    }
    for cell_id, text in markdown_cells(nb):
        entry = old.pop(cell_id, None)
        if entry is None:
            entry = polib.POEntry(msgctxt=cell_id, msgid=text, msgstr="")
        elif entry.msgid != text:
            entry.previous_msgid, entry.msgid = entry.msgid, text
            if entry.msgstr and "fuzzy" not in entry.flags:
                entry.flags.append("fuzzy")
        new.append(entry)
    for entry in old.values():  # cells that are gone: kept for reference, ignored by the build
        entry.obsolete = True
        new.append(entry)
    return new


@dataclass
class Status:
    """How far a catalogue is: entries ``translated`` (current), ``fuzzy`` (English changed) and ``missing``."""
    translated: int
    fuzzy: list[str]
    missing: list[str]

    @property
    def complete(self) -> bool:
        return not self.fuzzy and not self.missing


def status(nb: dict, po: polib.POFile) -> Status:
    """Which markdown cells of ``nb`` have a current translation in ``po`` (by cell id and English text)."""
    entries = {e.msgctxt: e for e in po if not e.obsolete}
    done, fuzzy, missing = 0, [], []
    for cell_id, text in markdown_cells(nb):
        entry = entries.get(cell_id)
        if entry is None or not entry.msgstr.strip():
            missing.append(cell_id)
        elif "fuzzy" in entry.flags or entry.msgid != text:
            fuzzy.append(cell_id)
        else:
            done += 1
    return Status(done, fuzzy, missing)


def build_japanese(nb: dict, po: polib.POFile, name: str, url: str | None = None) -> dict:
    """The Japanese notebook: ``nb`` (English, file name ``name``) with every markdown cell translated.

    Code cells, outputs and metadata are copied unchanged. The title cell gets the Japanese notebook's Colab badge
    and a link to the English notebook under its first line. Raises ``ValueError`` naming the cells whose
    translation is missing, empty or fuzzy.
    """
    st = status(nb, po)
    if not st.complete:
        raise ValueError(f"{name}: no current translation for cells {st.missing + st.fuzzy} "
                         f"({len(st.missing)} missing or empty, {len(st.fuzzy)} fuzzy): "
                         f"translate them in {catalogue_path(Path(name)).relative_to(nbtools.REPO_ROOT)}")
    entries = {e.msgctxt: e for e in po if not e.obsolete}
    ja = copy.deepcopy(nb)
    for cell in ja["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = entries[cell["id"]].msgstr
    title = ja["cells"][0]
    first, _, rest = nbtools._source(title).partition("\n")
    badge = nbtools.colab_badge(f"ja/{name}", url)
    title["source"] = f"{first}\n\n{badge}\n\n{EN_LINK.format(name=name)}\n\n{rest.strip(chr(10))}".rstrip("\n")
    return ja


def link_japanese(nb: dict, name: str) -> bool:
    """Put the link to the Japanese notebook under the English title cell's badge. True if it changed."""
    title = nb["cells"][0]
    lines = [ln for ln in nbtools._source(title).split("\n") if not ln.startswith("**日本語版**: [ja/")]
    badge = next((i for i, ln in enumerate(lines) if "colab-badge.svg" in ln), 0)
    lines[badge + 1:badge + 1] = ["", JA_LINK.format(name=name)]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    changed = text != nbtools._source(title)
    title["source"] = text
    return changed


def sync(notebooks: list[Path] | None = None, quiet: bool = False) -> list[str]:
    """Update every existing catalogue from its English notebook and build the complete ones into
    ``notebooks/ja/``; English title cells of built notebooks link the Japanese. Returns what is incomplete."""
    notebooks = notebooks or sorted(nbtools.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    incomplete = []
    for path in notebooks:
        po_path = catalogue_path(path)
        if not po_path.exists():
            continue
        nb = nbtools.load(path)
        po = update_catalogue(nb, polib.pofile(str(po_path), wrapwidth=0), path.stem)
        po.save(str(po_path))
        st = status(nb, po)
        if not st.complete:
            incomplete.append(f"{path.name}: {st.translated} translated, {len(st.fuzzy)} fuzzy, "
                              f"{len(st.missing)} missing")
            continue
        if link_japanese(nb, path.name):
            nbtools.save(nb, path)
            nb = nbtools.load(path)
        JA_NOTEBOOKS.mkdir(exist_ok=True)
        nbtools.save(build_japanese(nb, po, path.name), japanese_path(path))
    if not quiet:
        for line in incomplete:
            print(f"not built (translation incomplete): {line}")
    return incomplete


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The Japanese edition's catalogues and notebooks.")
    parser.add_argument("command", choices=["sync", "status", "new"])
    parser.add_argument("notebooks", nargs="*", type=Path, help="English notebooks (default: all)")
    args = parser.parse_args(argv)
    if args.command == "sync":
        sync(args.notebooks or None)
        return 0
    notebooks = args.notebooks or sorted(nbtools.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    for path in notebooks:
        po_path = catalogue_path(path)
        if args.command == "new":  # start a catalogue (all entries empty) for a notebook that has none
            if po_path.exists():
                print(f"{po_path} exists")
                continue
            po_path.parent.mkdir(parents=True, exist_ok=True)
            update_catalogue(nbtools.load(path), None, path.stem).save(str(po_path))
            print(f"wrote {po_path}")
        elif po_path.exists():
            st = status(nbtools.load(path), polib.pofile(str(po_path), wrapwidth=0))
            print(f"{path.name}: {st.translated} translated, {len(st.fuzzy)} fuzzy, {len(st.missing)} missing")
        else:
            print(f"{path.name}: no catalogue")
    return 0


if __name__ == "__main__":
    sys.exit(main())
