import pytest
import torch
import torch.nn.functional as F

from helpers.gpt import GPT, GPTConfig
from helpers.induction import (
    ablate_heads,
    copy_losses,
    in_context_learning_score,
    induction_scores,
    loss_by_position,
    previous_token_scores,
    repeated_random_tokens,
    token_losses,
)


def tiny_model(seed=0, **kw):
    torch.manual_seed(seed)
    cfg = dict(vocab_size=50, block_size=32, n_layer=2, n_head=3, n_embd=24, dropout=0.0)
    cfg.update(kw)
    model = GPT(GPTConfig(**cfg)).eval()
    with torch.no_grad():  # larger output projections, so that ablation changes the logits clearly
        for block in model.h:
            block.attn.c_proj.weight.normal_(0, 0.3)
            block.attn.c_proj.bias.normal_(0, 0.3)
    return model


def test_repeated_random_tokens_repeat_and_avoid_excluded_ids():
    idx = repeated_random_tokens(5, 8, vocab_size=20, prefix=[19], exclude=[19, 0], seed=3)
    assert idx.shape == (5, 1 + 16) and idx.dtype == torch.long
    assert torch.equal(idx[:, 1:9], idx[:, 9:])
    assert (idx[:, 0] == 19).all() and not ((idx[:, 1:] == 19) | (idx[:, 1:] == 0)).any()
    assert idx[:, 1:].max() < 20
    assert torch.equal(idx, repeated_random_tokens(5, 8, vocab_size=20, prefix=[19], exclude=[19, 0], seed=3))
    assert not torch.equal(idx, repeated_random_tokens(5, 8, vocab_size=20, prefix=[19], exclude=[19, 0], seed=4))
    with pytest.raises(ValueError, match="length"):
        repeated_random_tokens(5, 1, vocab_size=20)
    with pytest.raises(ValueError, match="fewer than 2"):
        repeated_random_tokens(5, 4, vocab_size=3, exclude=[0, 1])


def test_hand_built_induction_pattern_scores_one_and_others_do_not():
    L, offset = 6, 2
    T = offset + 2 * L
    induction = torch.zeros(T, T)
    for q in range(T):  # second copy: look at the token after the earlier occurrence; elsewhere: at self
        induction[q, q - L + 1 if q >= offset + L else q] = 1.0
    previous = torch.zeros(T, T)
    previous[0, 0] = 1.0
    previous[torch.arange(1, T), torch.arange(T - 1)] = 1.0
    uniform = torch.tril(torch.ones(T, T))
    uniform = uniform / uniform.sum(-1, keepdim=True)
    att = torch.stack([induction, previous, uniform])[None]  # (L=1 layer, H=3 heads, T, T)
    scores = induction_scores(att, length=L, offset=offset)
    assert scores.shape == (1, 3)
    assert scores[0, 0].item() == pytest.approx(1.0)
    assert scores[0, 1].item() == pytest.approx(0.0)
    expected_uniform = sum(1 / (q + 1) for q in range(offset + L, T)) / L
    assert scores[0, 2].item() == pytest.approx(expected_uniform)
    prev = previous_token_scores(att)
    assert prev[0, 1].item() == pytest.approx(1.0) and prev[0, 0].item() < 0.5
    # a batch and a list of per-layer tensors give the same scores
    as_list = [torch.stack([induction, previous, uniform])[None].expand(4, 3, T, T)]
    assert torch.allclose(induction_scores(as_list, L, offset), scores)
    with pytest.raises(ValueError, match="fit"):
        induction_scores(att, length=L, offset=offset + 1)
    with pytest.raises(ValueError, match="attention must be"):
        induction_scores(torch.zeros(3, T, T), length=L)


def test_token_losses_match_the_models_own_mean_loss():
    model = tiny_model()
    idx = repeated_random_tokens(4, 10, vocab_size=50, seed=1)
    losses = token_losses(model, idx)
    assert losses.shape == (4, 19)
    _, loss = model(idx[:, :-1], idx[:, 1:])
    assert losses.mean().item() == pytest.approx(loss.item(), rel=1e-5)


def test_copy_losses_pick_the_two_copies_without_their_first_tokens():
    L, offset = 5, 1
    losses = torch.zeros(2, offset + 2 * L - 1)  # (B, T - 1)
    losses[:, offset:offset + L - 1] = 3.0  # tokens 2..5: first copy, its first token (1) left out
    losses[:, offset + L:] = 1.0  # tokens 7..10: second copy, its first token (6) left out
    losses[:, offset - 1] = 100.0  # first token of the first copy: unpredictable, not counted
    losses[:, offset + L - 1] = 100.0  # first token of the second copy: not counted either
    assert copy_losses(losses, L, offset) == (3.0, 1.0)
    with pytest.raises(ValueError):
        copy_losses(losses[:, :-1], L, offset)


def test_ablating_no_heads_leaves_logits_unchanged():
    model = tiny_model()
    idx = torch.randint(50, (2, 12))
    before, _ = model(idx)
    with ablate_heads(model, []):
        same, _ = model(idx)
    assert torch.equal(before, same)


def test_ablating_all_heads_equals_attention_that_adds_only_its_bias():
    model = tiny_model()
    idx = torch.randint(50, (2, 12))
    every = [(layer, head) for layer in range(2) for head in range(3)]
    with ablate_heads(model, every):
        ablated, _ = model(idx)
    reference = tiny_model()  # same weights, but W_O zero: each attention layer outputs its bias alone
    with torch.no_grad():
        for block in reference.h:
            block.attn.c_proj.weight.zero_()
    expected, _ = reference(idx)
    assert torch.allclose(ablated, expected, atol=1e-6)
    normal, _ = model(idx)
    assert (normal - ablated).abs().max() > 1e-2  # the ablation did something


def test_ablating_one_head_equals_zeroing_its_columns_of_w_o_and_hooks_go_away():
    model = tiny_model()
    idx = torch.randint(50, (2, 12))
    before, _ = model(idx)
    with ablate_heads(model, [(1, 2)]):
        ablated, _ = model(idx)
        _, _, att = model(idx, return_attention=True)  # the plain attention path is hooked too
    reference = tiny_model()
    hd = reference.config.head_dim
    with torch.no_grad():
        reference.h[1].attn.c_proj.weight[:, 2 * hd:3 * hd] = 0
    assert torch.allclose(ablated, reference(idx)[0], atol=1e-6)
    assert not torch.allclose(ablated, before, atol=1e-4)
    assert torch.equal(model(idx)[0], before)  # hooks removed on leaving the block
    with pytest.raises(RuntimeError), ablate_heads(model, [(0, 0)]):
        raise RuntimeError("inside")
    assert torch.equal(model(idx)[0], before)  # ... even after an error
    with pytest.raises(ValueError, match="does not exist"), ablate_heads(model, [(2, 0)]):
        pass


def test_loss_by_position_averages_windows_and_icl_score_subtracts():
    model = tiny_model()
    ids = torch.randint(50, (200,))
    per_window = loss_by_position(model, ids, block_size=16, per_window=True)
    assert per_window.shape == ((200 - 1) // 16, 16)
    window = ids[16:16 + 17]  # the second window, by hand
    logits, _ = model(window[None, :-1])
    by_hand = F.cross_entropy(logits[0], window[1:], reduction="none")
    assert torch.allclose(per_window[1], by_hand, atol=1e-5)
    curve = loss_by_position(model, ids, block_size=16)
    assert torch.allclose(curve, per_window.mean(0))
    assert loss_by_position(model, ids, block_size=16, n_windows=3, per_window=True).shape == (3, 16)
    assert in_context_learning_score(curve, early=2, late=10) == pytest.approx((curve[10] - curve[2]).item())
    assert in_context_learning_score(per_window, early=2, late=10) == pytest.approx((curve[10] - curve[2]).item())
    assert in_context_learning_score(torch.linspace(5, 3, 16), early=2, late=10) < 0
    banded = in_context_learning_score(curve, early=3, late=10, width=2)
    assert banded == pytest.approx((curve[8:13].mean() - curve[1:6].mean()).item())
    for early, late, width in [(10, 2, 0), (1, 10, 2), (3, 6, 2), (3, 14, 2)]:
        with pytest.raises(ValueError):
            in_context_learning_score(curve, early=early, late=late, width=width)
    with pytest.raises(ValueError, match="shorter"):
        loss_by_position(model, ids[:10], block_size=16)
