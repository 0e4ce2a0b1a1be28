"""The encoder-decoder of notebook 02: additive attention against a hand computation, the bidirectional encoder
against torch.nn.GRU(bidirectional=True), the decoder's two modes, training on reversal, input validation."""

import math

import pytest
import torch
from torch import nn

from helpers.seq2seq import (
    AdditiveAttention,
    BiGRUEncoder,
    Seq2Seq,
    additive_scores,
    count_parameters,
    reversal_accuracy,
    reversal_task,
    train_reversal,
)


def test_reversal_task_reverses_and_is_seeded():
    src, tgt = reversal_task(5, 7, n_tokens=4, generator=torch.Generator().manual_seed(0))
    assert src.shape == tgt.shape == (5, 7) and src.dtype == torch.long
    assert 0 <= src.min() and src.max() < 4
    for i in range(7):
        assert torch.equal(tgt[:, i], src[:, 6 - i])
    again, _ = reversal_task(5, 7, n_tokens=4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(src, again)


def test_additive_scores_equal_a_hand_computation():
    # one decoder state s (S = 2), three keys h_j (D = 1), A = 2 attention units, small integers
    s = torch.tensor([[1.0, -1.0]])  # (B=1, S)
    keys = torch.tensor([[[0.5], [-2.0], [1.0]]])  # (1, L=3, D)
    W = torch.tensor([[1.0, 0.0], [0.5, 1.0]])  # (A, S)
    U = torch.tensor([[2.0], [-1.0]])  # (A, D)
    v = torch.tensor([1.0, -3.0])  # (A,)
    # W s = (1, -0.5); e_j = 1 * tanh(1 + 2 h_j) - 3 * tanh(-0.5 - h_j)
    hand = [math.tanh(1 + 2 * h) - 3 * math.tanh(-0.5 - h) for h in (0.5, -2.0, 1.0)]
    torch.testing.assert_close(additive_scores(s, keys, W, U, v), torch.tensor([hand]))
    # the module: the same scores, softmax weights, and the weighted average of the keys
    attention = AdditiveAttention(2, 1, 2)
    with torch.no_grad():
        attention.W.weight.copy_(W)
        attention.U.weight.copy_(U)
        attention.v.copy_(v)
    context, weights = attention(s, keys)
    alpha = [math.exp(e) / sum(math.exp(f) for f in hand) for e in hand]
    torch.testing.assert_close(weights, torch.tensor([alpha]))
    torch.testing.assert_close(context, torch.tensor([[sum(a * h for a, h in zip(alpha, (0.5, -2.0, 1.0)))]]))


def test_additive_attention_with_projected_keys_and_batches():
    torch.manual_seed(0)
    attention = AdditiveAttention(4, 6, 5)
    s, keys = torch.randn(3, 4), torch.randn(3, 7, 6)
    context, weights = attention(s, keys)
    again, _ = attention(s, keys, attention.project_keys(keys))
    torch.testing.assert_close(context, again)
    assert context.shape == (3, 6) and weights.shape == (3, 7)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(3))
    scores = additive_scores(s, keys, attention.W.weight, attention.U.weight, attention.v)
    torch.testing.assert_close(weights, torch.softmax(scores, dim=1))


def test_bidirectional_encoder_equals_torch_bidirectional_gru():
    torch.manual_seed(0)
    encoder = BiGRUEncoder(n_tokens=7, embed_size=5, hidden_size=6)
    ref = nn.GRU(5, 6, batch_first=True, bidirectional=True)
    encoder.load_torch_weights(ref)
    src = torch.randint(0, 7, (3, 9))
    annotations, summary = encoder(src)
    ref_out, ref_h = ref(encoder.embed(src))  # (B, L, 2H), (2, B, H): forward last, backward last (= position 0)
    torch.testing.assert_close(annotations, ref_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(summary, torch.cat([ref_h[0], ref_h[1]], dim=-1), atol=1e-5, rtol=1e-5)


def test_attention_adds_exactly_its_three_weights():
    H, A = 12, 5
    plain = Seq2Seq(10, 8, H, attention=False)
    with_attention = Seq2Seq(10, 8, H, attention=True, attention_size=A)
    assert count_parameters(with_attention) - count_parameters(plain) == A * H + A * 2 * H + A


@pytest.mark.parametrize("attention", [False, True])
def test_greedy_agrees_with_teacher_forcing_on_its_own_tokens(attention):
    torch.manual_seed(0)
    model = Seq2Seq(6, 8, 16, attention=attention)
    src, _ = reversal_task(4, 9, 6, generator=torch.Generator().manual_seed(1))
    tokens, weights = model.greedy(src)
    logits, forced_weights = model(src, tokens)  # reading its own greedy tokens gives the same steps
    assert tokens.shape == (4, 9) and logits.shape == (4, 9, 6)
    assert torch.equal(logits.argmax(-1), tokens)
    if attention:
        assert weights.shape == (4, 9, 9)
        torch.testing.assert_close(weights, forced_weights)
        torch.testing.assert_close(weights.sum(-1), torch.ones(4, 9))
    else:
        assert weights is None and forced_weights is None
    longer, _ = model.greedy(src, length=12)
    assert longer.shape == (4, 12) and torch.equal(longer[:, :9], tokens)


def test_the_fixed_context_decoder_sees_the_source_only_through_the_summary():
    torch.manual_seed(0)
    model = Seq2Seq(6, 8, 16, attention=False)
    src, tgt = reversal_task(2, 8, 6, generator=torch.Generator().manual_seed(2))
    logits, _ = model(src, tgt)
    # replace the encoder's annotations (all but the summary) by noise: nothing changes without attention
    encode = model.encoder.forward
    model.encoder.forward = lambda s: (torch.randn_like(encode(s)[0]), encode(s)[1])
    torch.testing.assert_close(model(src, tgt)[0], logits)


def test_attention_learns_short_reversals_and_the_accuracy_counts_right():
    torch.manual_seed(0)
    model = Seq2Seq(5, 16, 32, attention=True)
    losses = train_reversal(model, 150, 3, 6, batch_size=32, lr=1e-2, generator=torch.Generator().manual_seed(0))
    assert len(losses) == 150
    assert sum(losses[-10:]) / 10 < 0.5 * sum(losses[:10]) / 10, (losses[:10], losses[-10:])
    result = reversal_accuracy(model, [4], n_examples=100, generator=torch.Generator().manual_seed(3))
    exact, token = result[4]
    assert exact > 0.5 and token >= exact  # a whole sequence right means all its tokens right


def test_input_validation():
    with pytest.raises(ValueError, match="n_tokens"):
        reversal_task(2, 3, n_tokens=1)
    with pytest.raises(ValueError, match="length"):
        reversal_task(2, 0)
    with pytest.raises(ValueError, match="W"):
        additive_scores(torch.randn(1, 2), torch.randn(1, 3, 1), torch.randn(2, 3), torch.randn(2, 1),
                        torch.randn(2))
    with pytest.raises(ValueError, match="same B"):
        additive_scores(torch.randn(2, 2), torch.randn(1, 3, 1), torch.randn(2, 2), torch.randn(2, 1),
                        torch.randn(2))
    model = Seq2Seq(5, 4, 8, attention=True)
    with pytest.raises(ValueError, match="0..4"):
        model.greedy(torch.tensor([[1, 5]]))
    with pytest.raises(ValueError, match="torch.long"):
        model.greedy(torch.tensor([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="batch size"):
        model(torch.tensor([[1, 2]]), torch.tensor([[1, 2], [2, 1]]))
    with pytest.raises(ValueError, match="attention_size"):
        Seq2Seq(5, 4, 8, attention=False, attention_size=4)
    with pytest.raises(ValueError, match="min_length"):
        train_reversal(model, 1, 5, 3)
    with pytest.raises(ValueError, match="bidirectional"):
        BiGRUEncoder(5, 4, 8).load_torch_weights(nn.GRU(4, 8))
