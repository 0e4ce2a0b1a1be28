"""Grouped-query attention (notebook 11): pooling K/V heads, MHA -> GQA conversion, K/V parameter counts,
GQA against torch's scaled_dot_product_attention(enable_gqa=True), the short training helper."""

import pytest
import torch
import torch.nn.functional as F

from helpers.course import set_threads
from helpers.gpt import GPT, GPTConfig, KVCache
from helpers.gqa import attention_flops, kv_parameters, mha_to_gqa, pool_heads, torch_has_enable_gqa, train_steps


@pytest.fixture(scope="module", autouse=True)
def threads():
    set_threads(1)


def small(n_head=6, n_kv_head=None, **kw) -> GPT:
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=97, block_size=16, n_layer=2, n_head=n_head, n_kv_head=n_kv_head, n_embd=48, **kw)
    return GPT(cfg).eval()


def tokens(B=2, T=12, V=97):
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(1))


def test_same_number_of_heads_is_identity():
    model = small()
    same = mha_to_gqa(model, 6)
    x = tokens()
    assert torch.equal(model(x)[0], same(x)[0])


@pytest.mark.parametrize("n_kv", [3, 2, 1])
def test_shapes_and_copied_weights(n_kv):
    model = small()
    new = mha_to_gqa(model, n_kv)
    hd = model.config.head_dim
    assert new.config.n_kv_head == n_kv and new.config.n_head == 6
    for old_b, new_b in zip(model.h, new.h, strict=True):
        assert new_b.attn.c_attn.weight.shape == ((6 + 2 * n_kv) * hd, 48)
        assert new_b.attn.c_attn.bias.shape == ((6 + 2 * n_kv) * hd,)
        # queries, output projection and MLP unchanged
        assert torch.equal(new_b.attn.c_attn.weight[:6 * hd], old_b.attn.c_attn.weight[:6 * hd])
        assert torch.equal(new_b.attn.c_proj.weight, old_b.attn.c_proj.weight)
        assert torch.equal(new_b.mlp.c_fc.weight, old_b.mlp.c_fc.weight)
    assert torch.equal(new.wte.weight, model.wte.weight)
    assert new.lm_head.weight is new.wte.weight  # still tied
    assert new(tokens())[0].shape == (2, 12, 97)


@pytest.mark.parametrize("n_kv", [3, 2, 1])
def test_pooling_identical_heads_is_exact(n_kv):
    """If the K/V heads within each group are equal, the GQA model computes exactly what the MHA model does."""
    model = small()
    hd, group = model.config.head_dim, 6 // n_kv
    with torch.no_grad():
        for block in model.h:
            for p in (block.attn.c_attn.weight, block.attn.c_attn.bias):
                for start in (6 * hd, 12 * hd):  # keys, then values
                    heads = p[start:start + 6 * hd].view(6, hd, *p.shape[1:])
                    heads.copy_(heads[::group].repeat_interleave(group, dim=0))  # each group repeats its first head
    x = tokens()
    for how in ("mean", "first"):
        torch.testing.assert_close(mha_to_gqa(model, n_kv, how)(x)[0], model(x)[0], rtol=1e-5, atol=1e-5)


def test_pooled_rows_are_group_means():
    w = torch.arange(6 * 2 * 3, dtype=torch.float).view(12, 3)  # 6 heads of head_dim 2
    pooled = pool_heads(w, 6, 2)
    torch.testing.assert_close(pooled[:2], w.view(6, 2, 3)[:3].mean(0))
    torch.testing.assert_close(pooled[2:], w.view(6, 2, 3)[3:].mean(0))
    assert torch.equal(pool_heads(w, 6, 2, "first"), torch.cat([w[:2], w[6:8]]))


def test_gqa_to_mqa_chain_equals_direct():
    model = small()
    x = tokens()
    torch.testing.assert_close(mha_to_gqa(mha_to_gqa(model, 2), 1)(x)[0], mha_to_gqa(model, 1)(x)[0])


def test_conversion_keeps_mode_and_leaves_original():
    model = small().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    new = mha_to_gqa(model, 2)
    assert new.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_kv_parameters_counts_real_tensors():
    for n_kv in (6, 3, 2, 1):
        model = small(n_kv_head=n_kv)
        hd = model.config.head_dim
        counted = sum(b.attn.c_attn.weight[6 * hd:].numel() + b.attn.c_attn.bias[6 * hd:].numel() for b in model.h)
        assert kv_parameters(model.config) == counted
    no_bias = GPTConfig(vocab_size=97, block_size=16, n_layer=2, n_head=6, n_kv_head=2, n_embd=48, bias=False)
    assert kv_parameters(no_bias) == 2 * 2 * 2 * 8 * 48


def _counted_flops(attn, x, cache=None):
    """FLOPs of one attention layer as PyTorch's own FlopCounterMode counts them, per operator (plain math
    kernel, so that q k^T and weights @ v appear as batched matrix products)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        attn(x, cache=cache)
    return {str(op).split(".")[-1]: n for op, n in counter.get_flop_counts()["Global"].items()}


@pytest.mark.parametrize("n_kv", [6, 3, 2, 1])
def test_attention_flops_match_torch_flop_counter(n_kv):
    """attention_flops against torch.utils.flop_counter (a reference nobody here wrote): the projections are the
    addmm FLOPs, q k^T and weights @ v the bmm FLOPs; the latter do not change with the number of K/V heads."""
    model = small(n_kv_head=n_kv)
    counted = _counted_flops(model.h[0].attn, torch.randn(1, 12, 48))
    ours = attention_flops(model.config, 12)
    assert counted["bmm"] == ours["q k^T and weights @ v"] == 2 * 2 * 6 * 12 * 12 * 8  # the same for every n_kv
    assert counted["addmm"] == ours["q projection"] + ours["k/v projections"] + ours["output projection"]
    assert ours["k/v projections"] == 2 * 12 * 48 * 2 * n_kv * 8
    assert ours["total"] == counted["bmm"] + counted["addmm"]
    # one decoding step with 11 tokens cached: one query against 12 keys
    cache = KVCache()
    with torch.no_grad():
        model.h[0].attn(torch.randn(1, 11, 48), cache=cache)
    step = _counted_flops(model.h[0].attn, torch.randn(1, 1, 48), cache=cache)
    ours_step = attention_flops(model.config, 12, new_tokens=1)
    assert step["bmm"] == ours_step["q k^T and weights @ v"] == 2 * 2 * 6 * 1 * 12 * 8
    assert step["addmm"] == ours_step["total"] - ours_step["q k^T and weights @ v"]


def test_attention_flops_input_checks():
    cfg = small().config
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="seq_len"):
            attention_flops(cfg, bad)
    with pytest.raises(ValueError, match="cannot exceed"):
        attention_flops(cfg, 4, new_tokens=5)


@pytest.mark.skipif(not torch_has_enable_gqa(), reason="this torch has no enable_gqa")
def test_gpt_gqa_attention_matches_torch_enable_gqa():
    model = small(n_kv_head=2)
    attn = model.h[0].attn
    x = torch.randn(2, 10, 48)
    hd = model.config.head_dim
    q, k, v = attn.c_attn(x).split([6 * hd, 2 * hd, 2 * hd], dim=2)
    q, k, v = (t.view(2, 10, -1, hd).transpose(1, 2) for t in (q, k, v))
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    expected = attn.c_proj(y.transpose(1, 2).reshape(2, 10, 48))
    torch.testing.assert_close(attn(x)[0], expected)


def test_gqa_equals_mha_with_repeated_heads():
    """A GQA model equals the MHA model whose K/V heads are the GQA heads repeated per group (exact)."""
    gqa = small(n_kv_head=2)
    mha = small(n_kv_head=6)
    hd = gqa.config.head_dim
    state = {}
    for name, t in gqa.state_dict().items():
        if name.endswith("c_attn.weight") or name.endswith("c_attn.bias"):
            q, k, v = t.split([6 * hd, 2 * hd, 2 * hd], dim=0)
            rep = [u.view(2, hd, *u.shape[1:]).repeat_interleave(3, dim=0).reshape(6 * hd, *u.shape[1:]) for u in (k, v)]
            t = torch.cat([q, *rep])
        state[name] = t
    mha.load_state_dict(state)
    x = tokens()
    torch.testing.assert_close(mha(x)[0], gqa(x)[0], rtol=1e-5, atol=1e-5)
    assert torch.allclose(mha_to_gqa(mha, 2)(x)[0], gqa(x)[0], atol=1e-5)  # and pooling gets it back


@pytest.mark.parametrize("call, error, text", [
    (lambda: mha_to_gqa(small(), 4), ValueError, "must divide"),
    (lambda: mha_to_gqa(small(), 0), ValueError, "positive int"),
    (lambda: mha_to_gqa(small(), 2, how="max"), ValueError, "how must be one of"),
    (lambda: mha_to_gqa(torch.nn.Linear(2, 2), 1), TypeError, "helpers.gpt.GPT"),
    (lambda: pool_heads(torch.zeros(12, 3), 6, 4), ValueError, "cannot pool"),
    (lambda: pool_heads(torch.zeros(13, 3), 6, 2), ValueError, "do not split"),
    (lambda: train_steps(small(), torch.arange(50) % 97, 0), ValueError, "steps must be"),
    (lambda: train_steps(small(), torch.arange(50) % 97, 2), ValueError, "fewer than one batch"),
])
def test_errors(call, error, text):
    with pytest.raises(error, match=text):
        call()


def test_train_steps_reduces_loss_and_is_reproducible():
    ids = torch.arange(4000) % 13  # a periodic stream: easy to learn
    a, losses_a = train_steps(small(n_kv_head=2), ids, 30, batch_size=4, lr=3e-3, warmup_steps=3, progress=False)
    b, losses_b = train_steps(small(n_kv_head=2), ids, 30, batch_size=4, lr=3e-3, warmup_steps=3, progress=False)
    assert losses_a == losses_b  # same seed, same batches, same model
    assert sum(losses_a[-5:]) < 0.5 * sum(losses_a[:5])
    assert not a.training


@pytest.mark.parametrize("n_kv", [6, 2, 1])
def test_kv_cache_with_shared_heads(n_kv):
    """Cached and uncached greedy decoding agree for MHA, GQA and MQA, and the cache holds n_kv_head heads."""
    from helpers.decoding import greedy
    from helpers.gpt import KVCache, kv_cache_bytes

    model = small(n_kv_head=n_kv)
    assert greedy(model, [1, 2, 3], 12, use_cache=True) == greedy(model, [1, 2, 3], 12, use_cache=False)
    cache = KVCache()
    with torch.no_grad():
        model(tokens(B=1, T=10), cache=cache)
    assert cache.k[0].shape == (1, n_kv, 10, model.config.head_dim)
    assert cache.nbytes() == kv_cache_bytes(model.config, 10) == 2 * 2 * n_kv * 8 * 10 * 4


def test_converted_model_generates_with_cache():
    from helpers.decoding import greedy

    gqa = mha_to_gqa(small(), 2)
    assert greedy(gqa, [5], 15, use_cache=True) == greedy(gqa, [5], 15, use_cache=False)
