"""helpers.param_count: the formulas against real models (Hugging Face, PyTorch, the course GPT) and papers."""

import json

import pytest
import torch
from torch import nn

from helpers.data import data_dir
from helpers.gpt import GPT, GPTConfig
from helpers.param_count import (
    GPT3_MODELS,
    ParamCount,
    attention,
    bert_params,
    count_parameters,
    feed_forward,
    from_config,
    gpt3_params,
    gpt_params,
    layer_norm,
    linear,
    t5_params,
)

transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()


def _meta_count(build) -> int:
    """Build a model on the meta device (shapes only, no memory, no initialisation cost) and count it."""
    with torch.device("meta"):
        return count_parameters(build())


T5_BASE = dict(d_model=768, d_ff=3072, num_layers=12, num_heads=12, vocab_size=32128, tie_word_embeddings=True)


def test_pieces_equal_pytorch_layers():
    d, d_ff = 48, 192
    assert linear(d, d_ff) == count_parameters(nn.Linear(d, d_ff))
    assert linear(d, d_ff, bias=False) == count_parameters(nn.Linear(d, d_ff, bias=False))
    assert layer_norm(d) == count_parameters(nn.LayerNorm(d))
    assert layer_norm(d, bias=False) == count_parameters(nn.LayerNorm(d, bias=False))
    assert attention(d) == count_parameters(nn.MultiheadAttention(d, 4)) == 4 * d * d + 4 * d
    assert attention(d, bias=False) == count_parameters(nn.MultiheadAttention(d, 4, bias=False)) == 4 * d * d
    assert feed_forward(d, 4 * d) == 8 * d * d + 5 * d


def test_gpt2_small_equals_hugging_face_and_is_124m():
    config = transformers.GPT2Config()
    ours = from_config(config)
    assert ours.total == _meta_count(lambda: transformers.GPT2LMHeadModel(config))
    assert round(ours.total / 1e6) == 124
    assert ours == gpt_params(n_layer=12, d_model=768, vocab_size=50257, n_ctx=1024)


def test_untied_gpt2_counts_its_output_layer():
    config = transformers.GPT2Config(n_layer=2, n_embd=64, n_head=4, tie_word_embeddings=False)
    ours = from_config(config)
    assert ours.heads == 64 * 50257
    assert ours.total == _meta_count(lambda: transformers.GPT2LMHeadModel(config))


def test_bert_base_equals_hugging_face_and_is_about_110m():
    config = transformers.BertConfig()
    ours = from_config(config)
    assert ours.total == _meta_count(lambda: transformers.BertModel(config))
    assert abs(ours.total - 110e6) / 110e6 < 0.01  # published: "110M"
    no_pooler = from_config(config, pooler=False)
    assert no_pooler.total == _meta_count(lambda: transformers.BertModel(config, add_pooling_layer=False))
    with_heads = from_config(config, pretraining_heads=True)
    assert with_heads.total == _meta_count(lambda: transformers.BertForPreTraining(config))


def test_roberta_base_equals_hugging_face_and_is_about_125m():
    # RoBERTa-base: BERT-base's layers with GPT-2's byte-level BPE (50,265 tokens), 514 positions, one segment type
    config = transformers.RobertaConfig(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1)
    ours = from_config(config)
    assert ours.total == _meta_count(lambda: transformers.RobertaModel(config))
    assert abs(ours.total - 125e6) / 125e6 < 0.01  # fairseq's model card: "125M"
    assert ours.total - from_config(transformers.BertConfig()).total == (50265 - 30522 + 2 - 1) * 768


def test_bert_large_is_about_340m():
    config = transformers.BertConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                     intermediate_size=4096)
    ours = from_config(config)
    assert ours.total == _meta_count(lambda: transformers.BertModel(config))
    assert abs(ours.total - 340e6) / 340e6 < 0.02  # published: "340M"


def test_t5_base_equals_hugging_face_and_is_about_220m():
    config = transformers.T5Config(**T5_BASE)
    ours = from_config(config)
    assert ours.total == _meta_count(lambda: transformers.T5ForConditionalGeneration(config))
    assert abs(ours.total - 220e6) / 220e6 < 0.02  # published: "220M"
    assert ours.positions == 2 * 32 * 12  # one relative-bias table in each stack
    assert ours == t5_params(12, 768, 32128, 3072, 12)


def test_t5_variants_equal_hugging_face():
    # T5 v1.1 style: gated feed-forward; uneven stacks; d_kv != d_model / n_head
    config = transformers.T5Config(d_model=96, d_ff=160, num_layers=3, num_decoder_layers=2, num_heads=6, d_kv=20,
                                   vocab_size=500, feed_forward_proj="gated-gelu")
    ours = from_config(config)
    assert ours.total == _meta_count(lambda: transformers.T5ForConditionalGeneration(config))
    # an untied output layer (T5 v1.1's checkpoints) adds one V x d matrix
    assert t5_params(3, 96, 500, 160, 6, d_kv=20, n_decoder_layer=2, gated=True, tied=False).total == (
        ours.total + 96 * 500)


@pytest.mark.parametrize("kw", [{}, {"n_kv_head": 2}, {"n_kv_head": 1, "bias": False},
                                {"n_layer": 1, "n_embd": 48, "n_head": 3, "block_size": 16, "vocab_size": 300}])
def test_course_gpt_equals_formula(kw):
    config = GPTConfig(**kw)
    with torch.device("meta"):
        model = GPT(config)
    assert from_config(config).total == model.num_parameters()
    assert from_config(config).non_embedding == model.num_parameters(non_embedding=True)


def test_shipped_course_model_equals_formula():
    config = GPTConfig(**json.loads((data_dir() / "gpt" / "config.json").read_text())["model"])
    with torch.device("meta"):
        model = GPT(config)
    assert from_config(config).total == model.num_parameters()


def test_gpt3_175b_matches_the_paper():
    count = gpt3_params("GPT-3 175B")
    assert abs(count.total - 175.0e9) / 175.0e9 < 0.01
    assert count.attention + count.feed_forward > 0.99 * count.total  # almost all of it is the 96 layers


def test_every_gpt3_size_matches_the_paper_table():
    for row in GPT3_MODELS:
        typo = row["name"] in ("GPT-3 XL", "GPT-3 13B")  # the table's n_head x d_head != d_model there
        assert (row["n_head"] * row["d_head"] == row["d_model"]) != typo
        assert abs(gpt3_params(row["name"]).total - row["params"]) / row["params"] < 0.025, row["name"]


def test_total_and_parts():
    count = gpt_params(2, 64, 100, 16)
    assert isinstance(count, ParamCount)
    assert count.total == sum(v for k, v in count.as_dict().items() if k != "total")
    assert count.non_embedding == count.total - 100 * 64 - 16 * 64
    assert bert_params(1, 8, 10, 4).total < bert_params(1, 8, 10, 4, pretraining_heads=True).total


def test_errors_are_clear():
    with pytest.raises(ValueError, match="n_layer"):
        gpt_params(0, 64, 100, 16)
    with pytest.raises(ValueError, match="d_model"):
        t5_params(2, 64.5, 100, 128, 4)
    with pytest.raises(ValueError, match="n_kv_head"):
        gpt_params(2, 64, 100, 16, n_head=4, n_kv_head=3)
    with pytest.raises(TypeError, match="no formula"):
        from_config(object())
    with pytest.raises(KeyError, match="175B"):
        gpt3_params("GPT-4")
