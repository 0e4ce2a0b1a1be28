"""Attention from scratch (notebooks 04 and 05) against PyTorch's own implementations."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.attention import MultiHeadAttention, causal_mask, padding_mask, scaled_dot_product_attention


@pytest.mark.parametrize("masking", ["none", "causal", "padding", "both"])
def test_scaled_dot_product_attention_equals_pytorch(masking):
    torch.manual_seed(0)
    B, h, T, d = 3, 2, 7, 16
    q, k, v = (torch.randn(B, h, T, d) for _ in range(3))
    mask = {"none": None, "causal": causal_mask(T), "padding": padding_mask([7, 4, 1], T),
            "both": causal_mask(T) & padding_mask([7, 4, 1], T)}[masking]
    ours, weights = scaled_dot_product_attention(q, k, v, mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, h, T))
    if mask is not None:
        assert (weights[~mask.expand(B, h, T, T)] == 0).all()


def test_attention_temperature_and_validation():
    q = k = v = torch.randn(1, 4, 8)
    _, w1 = scaled_dot_product_attention(q, k, v)
    _, w_hot = scaled_dot_product_attention(q, k, v, temperature=0.1)
    assert w_hot.max(-1).values.mean() > w1.max(-1).values.mean()  # lower temperature: sharper
    with pytest.raises(ValueError, match="temperature"):
        scaled_dot_product_attention(q, k, v, temperature=0)
    with pytest.raises(ValueError, match="d_k"):
        scaled_dot_product_attention(q, torch.randn(1, 4, 9), v)
    with pytest.raises(TypeError, match="boolean"):
        scaled_dot_product_attention(q, k, v, mask=torch.ones(4, 4))
    with pytest.raises(ValueError, match="every length"):
        padding_mask([0, 3], 4)


@pytest.mark.parametrize("masking", ["none", "causal", "padding"])
def test_multi_head_attention_equals_torch_multiheadattention(masking):
    torch.manual_seed(0)
    B, T, d, h = 2, 6, 32, 4
    ours = MultiHeadAttention(d, h)
    ref = nn.MultiheadAttention(d, h, batch_first=True)
    with torch.no_grad():  # copy weights: PyTorch stacks q, k, v in in_proj
        ref.in_proj_weight.copy_(torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight]))
        ref.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
        ref.out_proj.weight.copy_(ours.out_proj.weight)
        ref.out_proj.bias.copy_(ours.out_proj.bias)
    x = torch.randn(B, T, d)
    if masking == "none":
        mask, kwargs = None, {}
    elif masking == "causal":
        mask, kwargs = causal_mask(T), {"attn_mask": ~causal_mask(T)}  # PyTorch: True = blocked
    else:
        mask = padding_mask([6, 3], T)
        kwargs = {"key_padding_mask": ~mask[:, 0, 0, :]}
    out, weights = ours(x, mask=mask)
    ref_out, ref_weights = ref(x, x, x, need_weights=True, average_attn_weights=False, **kwargs)
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(weights, ref_weights, atol=1e-5, rtol=1e-5)


def test_multi_head_attention_cross_attention_and_shapes():
    mha = MultiHeadAttention(12, 3)
    out, weights = mha(torch.randn(2, 5, 12), kv=torch.randn(2, 9, 12))
    assert out.shape == (2, 5, 12) and weights.shape == (2, 3, 5, 9)
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, 3)
    with pytest.raises(ValueError, match=r"\(B, T, 12\)"):
        mha(torch.randn(5, 12))


def test_causal_mask_with_cached_positions():
    """Query i of T new tokens, after `past` cached ones, sees keys 0..past + i; past = 0 is the square mask."""
    expected = torch.tensor([[1, 1, 1, 0, 0],
                             [1, 1, 1, 1, 0],
                             [1, 1, 1, 1, 1]], dtype=torch.bool)
    assert torch.equal(causal_mask(3, past=2), expected)
    assert torch.equal(causal_mask(4), torch.ones(4, 4, dtype=torch.bool).tril())
    assert torch.equal(causal_mask(2, past=3), causal_mask(5)[3:])  # the last rows of the full mask
