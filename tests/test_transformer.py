"""The Transformer block's pieces (notebook 06) against PyTorch's own implementations."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.attention import causal_mask, padding_mask
from helpers.transformer import (
    FeedForward,
    LayerNorm,
    RMSNorm,
    TransformerBlock,
    from_torch_encoder_layer,
    sinusoidal_positions,
    to_torch_encoder_layer,
)


def _randomise_norms(block: TransformerBlock) -> None:
    """LayerNorms start at weight 1, bias 0: make them random so a mix-up of norm1/norm2 would show."""
    with torch.no_grad():
        for ln in (block.ln1, block.ln2):
            ln.weight.normal_(1.0, 0.3)
            ln.bias.normal_(0.0, 0.3)


@pytest.mark.parametrize("shape", [(5, 8), (2, 3, 8), (1, 1, 8)])
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_equals_torch(shape, affine):
    torch.manual_seed(0)
    ours, ref = LayerNorm(8, eps=1e-3, elementwise_affine=affine), nn.LayerNorm(8, eps=1e-3, elementwise_affine=affine)
    if affine:
        with torch.no_grad():
            ours.weight.normal_()
            ours.bias.normal_()
        ref.load_state_dict(ours.state_dict())  # same parameter names as nn.LayerNorm
    x = torch.randn(shape) * 3 + 2
    torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-5)
    if not affine:
        y = ours(x)  # no affine map: every row has mean 0 and (almost) variance 1
        torch.testing.assert_close(y.mean(-1), torch.zeros(shape[:-1]), atol=1e-5, rtol=0)
        assert (y.var(-1, unbiased=False) - 1).abs().max() < 1e-3


def test_rmsnorm_equals_torch_and_differs_from_layernorm():
    torch.manual_seed(0)
    ours, ref = RMSNorm(16, eps=1e-6), nn.RMSNorm(16, eps=1e-6)
    with torch.no_grad():
        ours.weight.normal_()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(4, 5, 16) + 1.5  # a non-zero mean: RMSNorm keeps it, LayerNorm removes it
    torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-5)
    plain = RMSNorm(16)
    assert plain(x).mean(-1).abs().min() > 0.1
    assert LayerNorm(16)(x).mean(-1).abs().max() < 1e-5
    centred = x - x.mean(-1, keepdim=True)  # on centred inputs the two agree
    torch.testing.assert_close(plain(centred), LayerNorm(16, eps=1e-6)(centred), atol=1e-5, rtol=1e-5)


def test_batchnorm_depends_on_the_batch_layernorm_does_not():
    torch.manual_seed(0)
    C = 6
    seq = torch.randn(1, 10, C)  # one sequence (B, T, C)
    others = torch.randn(7, 10, C) * 2 + 1
    padded = torch.cat([seq, torch.zeros(1, 5, C)], dim=1)  # the same sequence with 5 padding positions
    bn, ln = nn.BatchNorm1d(C).train(), LayerNorm(C)

    def batchnorm(x):  # BatchNorm1d wants (B, C, T): statistics per channel over batch and time
        return bn(x.transpose(1, 2)).transpose(1, 2)

    alone, in_batch, with_pad = batchnorm(seq)[0], batchnorm(torch.cat([seq, others]))[0], batchnorm(padded)[0, :10]
    assert (alone - in_batch).abs().max() > 0.1 and (alone - with_pad).abs().max() > 0.1
    ln_alone = ln(seq)[0]
    torch.testing.assert_close(ln(torch.cat([seq, others]))[0], ln_alone)
    torch.testing.assert_close(ln(padded)[0, :10], ln_alone)


def test_feedforward_is_positionwise_and_a_key_value_memory():
    torch.manual_seed(0)
    ffn = FeedForward(8, 32, activation="gelu")
    x = torch.randn(2, 5, 8)
    y = ffn(x)
    assert y.shape == x.shape
    torch.testing.assert_close(ffn(x[:, 3]), y[:, 3])  # one position alone gives the same output
    keys, values = ffn.linear1.weight, ffn.linear2.weight  # (32, 8) rows, (8, 32) columns
    coef = F.gelu(x @ keys.T + ffn.linear1.bias)  # (2, 5, 32): how well x matches each key
    memory = sum(coef[..., i, None] * values[:, i] for i in range(32)) + ffn.linear2.bias
    torch.testing.assert_close(memory, y, atol=1e-5, rtol=1e-5)
    assert FeedForward(8).d_ff == 32


def test_sinusoidal_positions_match_the_formula():
    T, d = 50, 16
    pe = sinusoidal_positions(T, d)
    assert pe.shape == (T, d)
    for pos, i in [(0, 0), (1, 0), (7, 3), (49, 7), (23, 5)]:
        angle = pos / 10000 ** (2 * i / d)
        assert math.isclose(pe[pos, 2 * i].item(), math.sin(angle), abs_tol=1e-6)
        assert math.isclose(pe[pos, 2 * i + 1].item(), math.cos(angle), abs_tol=1e-6)
    # the dot product between two positions depends only on their distance
    sims = pe @ pe.T
    torch.testing.assert_close(sims.diagonal(offset=3)[:-1], sims.diagonal(offset=3)[1:], atol=1e-4, rtol=0)
    torch.testing.assert_close(sims.diagonal(), torch.full((T,), d / 2), atol=1e-4, rtol=0)


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre-LN", "post-LN"])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("masking", ["none", "padding", "causal"])
def test_block_equals_torch_encoder_layer(norm_first, activation, masking):
    torch.manual_seed(0)
    B, T, d, h = 3, 7, 32, 4
    block = TransformerBlock(d, h, d_ff=48, activation=activation, norm_first=norm_first).eval()
    _randomise_norms(block)
    ref = to_torch_encoder_layer(block)
    assert ref.norm_first == norm_first and ref.self_attn.batch_first
    x = torch.randn(B, T, d)
    if masking == "none":
        mask, kwargs = None, {}
    elif masking == "padding":
        mask = padding_mask([7, 4, 2], T)  # (B, 1, 1, T), True = may attend
        kwargs = {"src_key_padding_mask": ~mask[:, 0, 0, :]}  # PyTorch: True = blocked
    else:
        mask, kwargs = causal_mask(T), {"src_mask": ~causal_mask(T)}
    with torch.no_grad():
        ours, theirs = block(x, mask=mask), ref(x, **kwargs)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
    back = from_torch_encoder_layer(ref)  # and the copy the other way gives our block back
    with torch.no_grad():
        torch.testing.assert_close(back(x, mask=mask), ours, atol=1e-6, rtol=1e-6)


def test_block_modes_and_dropout():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 16)
    pre, post = TransformerBlock(16, 2, norm_first=True), TransformerBlock(16, 2, norm_first=False)
    post.load_state_dict(pre.state_dict())
    assert not torch.allclose(pre(x), post(x))  # same weights, different wiring
    out = post(x)  # post-LN ends with a LayerNorm: every position has mean 0, variance 1
    assert out.mean(-1).abs().max() < 1e-5
    noisy = TransformerBlock(16, 2, dropout=0.5).train()
    assert not torch.equal(noisy(x), noisy(x))  # dropout is active in training mode ...
    noisy.eval()
    assert torch.equal(noisy(x), noisy(x))  # ... and off in eval mode


def test_errors_have_clear_messages():
    with pytest.raises(ValueError, match="divisible"):
        TransformerBlock(30, 4)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        TransformerBlock(32, 4, activation="swish")
    with pytest.raises(ValueError, match="unknown activation"):
        FeedForward(8, activation="tanh")
    block = TransformerBlock(32, 4)
    with pytest.raises(ValueError, match=r"\(B, T, 32\)"):
        block(torch.randn(5, 32))
    with pytest.raises(ValueError, match=r"\(B, T, 32\)"):
        block(torch.randn(2, 5, 31))
    with pytest.raises(ValueError, match="last dimension is 8"):
        LayerNorm(8)(torch.randn(3, 4))
    with pytest.raises(ValueError, match="last dimension is 8"):
        RMSNorm(8)(torch.randn(3, 4))
    with pytest.raises(ValueError, match="even"):
        sinusoidal_positions(10, 7)
    with pytest.raises(ValueError, match="T must be at least 1"):
        sinusoidal_positions(0, 8)
    with pytest.raises(ValueError, match="dropout"):
        FeedForward(8, dropout=1.0)
    with pytest.raises(ValueError, match="relu or gelu"):
        to_torch_encoder_layer(TransformerBlock(8, 2, activation="gelu_tanh"))
