"""Extract the course's own Japanese prose into ``data/ja/`` (notebook 09's Japanese corpus).

Usage::

    python data/build_japanese.py            # from translations/ja/*.po into data/ja/, and its manifest entry
    python data/build_japanese.py --out DIR  # write somewhere else

No public-domain Japanese corpus ships on PyPI or npm, but the course has one of its own: the Japanese text of
its notebooks, written for this course (``translations/ja/NN_name.po``, see ``helpers.translation``). This script
takes the translated markdown of every catalogue except notebook 09's own (the lesson does not read itself),
keeps the prose (code, LaTeX, links' addresses, tables and HTML are dropped; link texts are kept), and writes:

- ``ja/course_ja.txt``: one paragraph per line, in notebook and cell order, UTF-8, one final newline;
- ``ja/manifest.json``: the file's entry (characters, bytes, sha256, and the catalogues it came from), apart from
  ``manifest.json`` so that ``build_corpus.py`` still rebuilds that one byte for byte from PyPI's archive.

The text is a snapshot: when translations change, rerunning this script changes the file, its checksum and the
figures of notebook 09's Japanese section (re-run the notebook afterwards). Running it twice on the same catalogues
gives byte-identical output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path

import polib

DATA_DIR = Path(__file__).resolve().parent
CATALOGUES = DATA_DIR.parent / "translations" / "ja"
EXCLUDED = {"09_bpe_tokenization"}  # the tokenization lesson's own text is not part of its corpus
FILE = "ja/course_ja.txt"
MANIFEST = "ja/manifest.json"


def prose(markdown: str) -> list[str]:
    """The prose paragraphs of one markdown cell: no code blocks, LaTeX, tables, HTML or URLs; markup removed.

    A heading and each list item are paragraphs of their own; code spans keep their text without the backticks.
    """
    text = re.sub(r"```.*?```", "\n\n", markdown, flags=re.S)  # fenced code blocks
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]+\$", "", text, flags=re.S)  # LaTeX
    text = re.sub(r"<[^>]+>", "", text)  # HTML tags (details, summary)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links and images: keep the text
    text = re.sub(r"`([^`\n]*)`", r"\1", text)  # code spans: keep the text
    paragraphs, current = [], []

    def flush():
        paragraph = re.sub(r"\s+", " ", " ".join(current)).strip()
        paragraph = re.sub(r"\(\s*\)", "", paragraph).strip()  # parentheses emptied by the removals
        if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", paragraph):  # keep paragraphs with Japanese in them
            paragraphs.append(paragraph)
        current.clear()

    for line in text.split("\n"):
        line = re.sub(r"^(\s*>)+", "", line).strip()  # block quotes
        if not line or line.startswith("|"):  # blank lines end a paragraph; tables are dropped
            flush()
            continue
        starts = re.match(r"^(#+|[-*]|\d+\.)\s+", line)  # a heading or a list item starts a new paragraph
        if starts:
            flush()
            line = line[starts.end():]
        current.append(line.replace("**", "").replace("*", ""))
    flush()
    return paragraphs


def extract(catalogues: Path = CATALOGUES) -> tuple[str, list[str]]:
    """The corpus text and the catalogue names it came from (translated, non-fuzzy entries only)."""
    names, paragraphs = [], []
    for path in sorted(catalogues.glob("[0-9][0-9]_*.po")):
        if path.stem in EXCLUDED:
            continue
        names.append(path.name)
        for entry in polib.pofile(str(path), wrapwidth=0):
            if entry.obsolete or "fuzzy" in entry.flags or not entry.msgstr.strip():
                continue
            paragraphs.extend(prose(entry.msgstr))
    if not paragraphs:
        raise SystemExit(f"no translated catalogue in {catalogues}: nothing to extract")
    return "\n".join(paragraphs) + "\n", names


def build(out: Path = DATA_DIR, catalogues: Path = CATALOGUES) -> dict:
    """Write ``ja/course_ja.txt`` and ``ja/manifest.json`` under ``out``; return the entry."""
    text, names = extract(catalogues)
    data = text.encode("utf-8")
    (out / FILE).parent.mkdir(parents=True, exist_ok=True)
    (out / FILE).write_bytes(data)
    entry = {
        "file": FILE,
        "description": "the Japanese prose of the course's notebooks (translations/ja), written for this course; "
                       "notebook 09's Japanese corpus. Rebuild with: python data/build_japanese.py",
        "catalogues": names,
        "license": "same as the course (written for it)",
        "characters": len(text),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    (out / MANIFEST).write_text(json.dumps(entry, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return entry


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="output folder (default: data/)")
    args = parser.parse_args(argv)
    entry = build(args.out)
    print(f"wrote {entry['file']} ({entry['characters']:,} characters from {len(entry['catalogues'])} catalogues) "
          f"to {args.out}")


if __name__ == "__main__":
    main()
