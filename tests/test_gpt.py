"""helpers.gpt: the course GPT against Hugging Face's GPT-2, published sizes, and its checks."""

import pytest
import torch

from helpers.gpt import GPT, GPTConfig, KVCache, from_hf, kv_cache_bytes, to_hf

transformers = pytest.importorskip("transformers")


def _model(**kw):
    torch.manual_seed(0)
    cfg = GPTConfig(**{"vocab_size": 300, "block_size": 32, "n_layer": 2, "n_head": 4, "n_embd": 64, **kw})
    model = GPT(cfg).eval()
    with torch.no_grad():  # non-zero biases and LayerNorm parameters, so the copy is really tested
        for name, p in model.named_parameters():
            if "ln" in name or name.endswith("bias"):
                p.add_(0.1 * torch.randn_like(p))
    return model


def test_logits_equal_hugging_face_gpt2_after_a_weight_copy():
    model = _model()
    hf = to_hf(model)
    idx = torch.randint(0, 300, (3, 32))
    with torch.no_grad():
        ours = model(idx)[0]
        theirs = hf(idx).logits
    assert ours.shape == theirs.shape == (3, 32, 300)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


def test_round_trip_through_hugging_face():
    model = _model()
    back = from_hf(to_hf(model))
    idx = torch.randint(0, 300, (2, 17))
    with torch.no_grad():
        torch.testing.assert_close(back(idx)[0], model(idx)[0], atol=1e-6, rtol=0)
    assert back.lm_head.weight.data_ptr() == back.wte.weight.data_ptr()  # tying survives


def test_gpt2_small_has_124m_parameters():
    cfg = GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768)
    with torch.device("meta"):
        model = GPT(cfg)
    assert round(model.num_parameters() / 1e6) == 124  # published: 124M
    hf = transformers.GPT2LMHeadModel(transformers.GPT2Config())
    assert model.num_parameters() == hf.num_parameters()


def test_attention_paths_agree_and_weights_are_causal():
    model = _model()
    idx = torch.randint(0, 300, (2, 20))
    with torch.no_grad():
        fused = model(idx)[0]
        plain, _, attn = model(idx, return_attention=True)
    torch.testing.assert_close(fused, plain, atol=1e-5, rtol=0)
    assert len(attn) == 2 and attn[0].shape == (2, 4, 20, 20)
    torch.testing.assert_close(attn[1].sum(-1), torch.ones(2, 4, 20))
    assert torch.all(attn[0].triu(diagonal=1) == 0)  # no position looks ahead


def test_future_tokens_do_not_change_past_logits():
    model = _model()
    idx = torch.randint(0, 300, (1, 16))
    changed = idx.clone()
    changed[0, 10:] = (changed[0, 10:] + 1) % 300
    with torch.no_grad():
        torch.testing.assert_close(model(idx)[0][:, :10], model(changed)[0][:, :10])


@pytest.mark.parametrize("n_kv_head", [1, 2, 4])
def test_grouped_query_attention_shapes_and_kv_size(n_kv_head):
    model = _model(n_kv_head=n_kv_head)
    logits, loss = model(torch.randint(0, 300, (2, 8)), torch.randint(0, 300, (2, 8)))
    assert logits.shape == (2, 8, 300) and loss.ndim == 0
    assert model.h[0].attn.c_attn.out_features == (4 + 2 * n_kv_head) * 16


@pytest.mark.parametrize("n_kv_head", [4, 2, 1])
def test_kv_cache_gives_the_logits_of_reading_everything_at_once(n_kv_head):
    """Reading a sequence in pieces through a KVCache (a prompt, single tokens, a chunk) equals one full pass."""
    model = _model(n_kv_head=n_kv_head)
    idx = torch.randint(0, 300, (3, 30))
    cache = KVCache()
    with torch.no_grad():
        full = model(idx)[0]
        pieces = [model(idx[:, a:b], cache=cache)[0] for a, b in ((0, 7), (7, 8), (8, 9), (9, 30))]
        plain, _, attn = model(idx[:, 28:], return_attention=True, cache=KVCache())  # fresh cache: positions 0, 1
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, atol=1e-5, rtol=0)
    assert len(cache) == 30 and cache.k[0].shape == (3, n_kv_head, 30, 16)
    assert cache.nbytes() == kv_cache_bytes(model.config, 30, batch=3) == 2 * 2 * n_kv_head * 16 * 30 * 3 * 4
    torch.testing.assert_close(plain, model(idx[:, 28:])[0], atol=1e-5, rtol=0)
    assert attn[0].shape == (3, 4, 2, 2)


def test_kv_cache_attention_weights_cover_cached_keys_causally():
    model = _model(n_kv_head=2)
    idx = torch.randint(0, 300, (1, 12))
    cache = KVCache()
    with torch.no_grad():
        _, _, full_attn = model(idx, return_attention=True)
        model(idx[:, :8], cache=cache)
        _, _, attn = model(idx[:, 8:], return_attention=True, cache=cache)
    assert attn[1].shape == (1, 4, 4, 12)  # 4 new queries over 8 cached + 4 new keys
    torch.testing.assert_close(attn[1], full_attn[1][:, :, 8:], atol=1e-5, rtol=0)


def test_kv_cache_reorder_follows_the_chosen_rows():
    model = _model()
    idx = torch.randint(0, 300, (3, 10))
    cache, again = KVCache(), KVCache()
    with torch.no_grad():
        model(idx[:, :9], cache=cache)
        cache.reorder([2, 2, 0])
        model(idx[[2, 2, 0], :9], cache=again)
        torch.testing.assert_close(model(idx[[2, 2, 0], 9:], cache=cache)[0],
                                   model(idx[[2, 2, 0], 9:], cache=again)[0])
    cache.clear()
    assert len(cache) == 0 and cache.nbytes() == 0


def test_kv_cache_errors_name_the_problem():
    model = _model()
    cache = KVCache()
    with torch.no_grad():
        model(torch.zeros(2, 30, dtype=torch.long), cache=cache)
        with pytest.raises(ValueError, match="30 cached \\+ 3 new tokens exceeds the context window"):
            model(torch.zeros(2, 3, dtype=torch.long), cache=cache)
        with pytest.raises(ValueError, match="holds a batch of 2 sequences but idx has 1"):
            model(torch.zeros(1, 1, dtype=torch.long), cache=cache)


def test_bad_inputs_are_named():
    model = _model()
    with pytest.raises(ValueError, match="exceeds the context window"):
        model(torch.zeros(1, 33, dtype=torch.long))
    with pytest.raises(ValueError, match="must be \\(batch, time\\)"):
        model(torch.zeros(33, dtype=torch.long))
    with pytest.raises(ValueError, match="token ids must lie in"):
        model(torch.full((1, 4), 300))
    with pytest.raises(ValueError, match="divisible by n_head"):
        GPTConfig(n_embd=100, n_head=3)
    with pytest.raises(ValueError, match="divisible by n_kv_head"):
        GPTConfig(n_head=4, n_kv_head=3)
    with pytest.raises(ValueError, match="multi-head attention with biases"):
        to_hf(_model(n_kv_head=2))
