"""The one call at the top of every notebook, and the map of the course.

>>> from helpers.course import setup
>>> course = setup()          # prints one line saying what it chose
>>> course.fast, course.device
>>> steps = course.pick(fast=50, full=2000)

Environment variables (all optional):

- ``COURSE_FAST``: ``1`` for fast mode (CI sets it), unset or ``0`` for full mode.
- ``COURSE_DEVICE``: ``auto`` (default: cuda, then mps, then cpu), ``cpu``, ``cuda`` or ``mps``.
- ``COURSE_THREADS``: how many CPU threads torch may use (default: all cores this process may use).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from helpers.plotting import use_course_style

DEVICES = ("auto", "cpu", "cuda", "mps")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class Course:
    """What ``setup()`` chose: fast or full mode, the device, the seed and the thread count."""

    fast: bool
    device: torch.device
    seed: int
    threads: int
    japanese_font: bool

    @property
    def mode(self) -> str:
        return "fast" if self.fast else "full"

    def pick(self, *, fast, full):
        """Return ``fast`` in fast mode and ``full`` in full mode (e.g. a number of steps)."""
        return fast if self.fast else full


def fast_mode(value: str | None = None) -> bool:
    """Read fast mode from ``value`` or the ``COURSE_FAST`` environment variable."""
    raw = os.environ.get("COURSE_FAST", "") if value is None else value
    flag = raw.strip().lower()
    if flag in _TRUE:
        return True
    if flag in _FALSE:
        return False
    raise ValueError(f"COURSE_FAST={raw!r} is not understood: use 1 for fast mode, or 0 (or unset it) for full mode")


def pick_device(name: str | None = None) -> torch.device:
    """Turn a device name (or ``COURSE_DEVICE``) into a ``torch.device``.

    ``auto`` takes cuda if there is a GPU, else Apple's mps, else cpu. Asking for a
    device that is not there, or one not in ``DEVICES``, raises ``ValueError``.
    """
    raw = os.environ.get("COURSE_DEVICE", "auto") if name is None else name
    wanted = (raw or "auto").strip().lower()
    if wanted not in DEVICES:
        raise ValueError(f"unknown device {raw!r}: use one of {', '.join(DEVICES)} (COURSE_DEVICE or setup(device=...))")
    has_cuda = torch.cuda.is_available()
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if wanted == "auto":
        wanted = "cuda" if has_cuda else "mps" if has_mps else "cpu"
    if (wanted == "cuda" and not has_cuda) or (wanted == "mps" and not has_mps):
        raise ValueError(f"device {wanted!r} was asked for but this machine has none: use 'auto' or 'cpu'")
    return torch.device(wanted)


def available_cores() -> int:
    """CPU cores this process may run on (respects taskset/cgroup affinity where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def set_threads(threads: int | None = None) -> int:
    """Set torch's intra-op thread count (default ``COURSE_THREADS`` or all cores); return it."""
    if threads is None:
        raw = os.environ.get("COURSE_THREADS", "")
        threads = int(raw) if raw.strip() else available_cores()
    if threads < 1:
        raise ValueError(f"thread count must be at least 1, got {threads}")
    torch.set_num_threads(threads)
    return threads


def seed_everything(seed: int = 0) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and every GPU) with one number."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def setup(seed: int = 0, *, device: str | None = None, threads: int | None = None,
          fast: bool | None = None, quiet: bool = False) -> Course:
    """Prepare a notebook: seeds, threads, figure style, Japanese font, device, fast/full mode.

    Arguments override the environment variables (see the module docstring).
    Prints one line saying what was chosen, and returns it as a ``Course``.
    """
    is_fast = fast_mode() if fast is None else bool(fast)
    dev = pick_device(device)
    n_threads = set_threads(threads)
    seed_everything(seed)
    has_font = use_course_style()
    course = Course(fast=is_fast, device=dev, seed=seed, threads=n_threads, japanese_font=has_font)
    if not quiet:
        how = "COURSE_FAST=1" if is_fast else "set COURSE_FAST=1 for fast"
        font = "" if has_font else " | no Japanese font (pip install matplotlib-fontja)"
        print(f"course setup: {course.mode} mode ({how}) | device {dev.type} | "
              f"{n_threads} CPU threads | seed {seed} | torch {torch.__version__}{font}")
    return course


@dataclass(frozen=True)
class Notebook:
    number: int
    name: str
    title: str
    summary: str

    @property
    def filename(self) -> str:
        return f"{self.number:02d}_{self.name}.ipynb"


COURSE_MAP = [
    Notebook(0, "setup", "Setup and course map", "check the environment; how notebooks, helpers and data fit; a first look at the corpus"),
    Notebook(1, "language_models", "Language models", "next-word probabilities, n-grams and their sparsity, perplexity, a small neural LM"),
    Notebook(2, "rnn_vanishing_gradients", "RNNs and vanishing gradients", "an RNN LM, backprop through time, vanishing/exploding gradients, LSTM, the seq2seq bottleneck and attention"),
    Notebook(3, "word_embeddings", "Word embeddings", "one-hot vs distributed vectors, CBOW and skip-gram with negative sampling"),
    Notebook(4, "scaled_dot_product_attention", "Scaled dot-product attention", "Q, K, V, why divide by sqrt(d_k), masks, an interactive heatmap, RNN vs attention timed"),
    Notebook(5, "multi_head_attention", "Multi-head attention", "split and merge heads, what trained heads look at, bertviz, induction heads"),
    Notebook(6, "transformer_block", "The Transformer block", "feed-forward, LayerNorm vs BatchNorm, residuals, positional encodings"),
    Notebook(7, "gpt_bert_t5", "GPT, BERT, T5", "decoder-only, encoder-only, encoder-decoder; masks; T5 multi-task mixing; parameter counts"),
    Notebook(8, "pretraining_data", "Pretraining data", "a Dolma-style pipeline: filters, dedup, MinHash, PII, a data card"),
    Notebook(9, "bpe_tokenization", "BPE tokenization", "byte-level BPE from the toy example to the corpus, vs Hugging Face tokenizers; Japanese text"),
    Notebook(10, "pretraining", "Pretraining a GPT", "next-token prediction, AdamW + warmup/cosine, checkpoints, why one epoch, scaling, compute-optimal"),
    Notebook(11, "efficient_attention", "Efficient attention", "sparse patterns, multi-query and grouped-query attention, the KV cache"),
    Notebook(12, "decoding", "Decoding", "greedy, beam search, temperature, top-k and top-p sampling, repetition penalties, with sliders"),
    Notebook(13, "evaluation", "Evaluation", "perplexity, MMLU-style multiple choice, fine-tuning, exact match, a skill report"),
    Notebook(14, "real_llm", "From the course GPT to a real LLM", "a Llama-style decoder running SmolLM2-135M offline; prompting without fine-tuning, measured"),
]


def notebooks_dir() -> Path:
    """The repository's ``notebooks/`` folder (next to this package)."""
    return Path(__file__).resolve().parent.parent / "notebooks"


def course_map(folder: Path | None = None) -> list[dict]:
    """Every notebook of the course map, each with ``status`` 'ready' if its file exists, else 'coming'."""
    folder = notebooks_dir() if folder is None else Path(folder)
    return [{"notebook": nb.filename, "title": nb.title, "summary": nb.summary,
             "status": "ready" if (folder / nb.filename).exists() else "coming"} for nb in COURSE_MAP]
