"""helpers.data: the shipped corpus, its checksums, its split and its error messages."""

import shutil

import pytest

from helpers import data
from helpers.data import DataError, list_texts, load_corpus, read_text, verify_all


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of data/ that a test may break; helpers.data reads it via COURSE_DATA_DIR."""
    src = data.data_dir()
    dst = tmp_path / "data"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.py", "__pycache__", "gpt"))
    monkeypatch.setenv("COURSE_DATA_DIR", str(dst))
    data._manifest_at.cache_clear()
    yield dst
    data._manifest_at.cache_clear()


def test_every_shipped_file_matches_its_checksum_and_size():
    entries = verify_all()
    assert len(entries) == 77
    for e in entries[:5]:
        assert len(read_text(e.work, e.edition)) == e.characters


def test_two_editions_of_the_expected_size():
    modern = sum(e.characters for e in list_texts(edition="modern"))
    folio = sum(e.characters for e in list_texts(edition="folio"))
    assert 5_000_000 < modern < 5_100_000  # FACTS.md: 5,057,198 before a final newline per file
    assert 4_400_000 < folio < 4_550_000
    assert {e.work for e in list_texts(edition="folio")} <= {e.work for e in list_texts(edition="modern")}


def test_validation_holds_out_whole_works_in_both_editions():
    held = set(data.validation_works())
    assert held == {"hamlet", "julius_caesar", "tempest"}
    for edition in data.EDITIONS:
        val = {e.work for e in list_texts(edition=edition, split="validation")}
        train = {e.work for e in list_texts(edition=edition, split="train")}
        assert val == held and not (val & train)


def test_training_text_never_contains_held_out_lines():
    train = load_corpus("modern", "train")
    hamlet = read_text("hamlet")
    assert "To be, or not to be" in hamlet
    assert "To be, or not to be" not in train
    assert "Friends, Romans, countrymen" not in train


def test_loading_does_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert read_text("tempest").startswith("THE TEMPEST") or "Prospero" in read_text("tempest")


def test_missing_file_says_how_to_rebuild(data_copy):
    (data_copy / "shakespeare/modern/hamlet.txt").unlink()
    with pytest.raises(DataError) as err:
        read_text("hamlet")
    msg = str(err.value)
    assert "hamlet.txt is missing" in msg and "make data" in msg and "\n" not in msg


def test_changed_file_fails_its_checksum(data_copy):
    path = data_copy / "shakespeare/folio/tempest.txt"
    path.write_bytes(path.read_bytes().replace(b"Prospero", b"Prosper0", 1))
    with pytest.raises(DataError) as err:
        read_text("tempest", "folio")
    msg = str(err.value)
    assert "sha256" in msg and "corrupt" in msg and "make data" in msg and "\n" not in msg
    assert read_text("tempest", "folio", verify=False)  # the raw text is still readable on request


def test_missing_manifest_names_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    data._manifest_at.cache_clear()
    with pytest.raises(DataError, match="manifest.json is missing: run `make data`"):
        list_texts()
    data._manifest_at.cache_clear()


def test_bad_arguments_are_named():
    with pytest.raises(KeyError, match="no work 'hamlett'"):
        read_text("hamlett")
    with pytest.raises(ValueError, match="edition must be one of modern, folio"):
        list_texts(edition="quarto")
