"""word2vec (helpers.word2vec): lookups, subsampling, noise, pairs, the negative-sampling loss, training, queries."""

import math

import pytest
import torch
import torch.nn.functional as F

from helpers.word2vec import (
    CBOW,
    PAD,
    SkipGram,
    cbow_examples,
    keep_probabilities,
    most_similar,
    nearest_neighbours,
    negative_sampling_loss,
    noise_distribution,
    pair_similarities,
    skipgram_pairs,
    subsample,
    train,
)
from helpers.words import Vocab


def test_embedding_lookup_is_one_hot_times_the_matrix_and_nn_embedding():
    torch.manual_seed(0)
    V, D = 7, 3
    W = torch.randn(V, D)
    ids = torch.tensor([4, 0, 4, 6])
    one_hot = F.one_hot(ids, V).float()  # (4, V)
    emb = torch.nn.Embedding(V, D)
    emb.weight.data.copy_(W)
    assert torch.allclose(one_hot @ W, W[ids])
    assert torch.equal(emb(ids), W[ids])
    model = SkipGram(V, D)
    model.inp.weight.data.copy_(W)
    assert torch.equal(model.inp(ids), W[ids]) and torch.equal(model.vectors(), W)
    # one-hot vectors are orthogonal: the Gram matrix of distinct words is the identity
    eye = F.one_hot(torch.arange(V), V).float()
    assert torch.equal(eye @ eye.T, torch.eye(V))


def test_embedding_gradient_touches_only_the_looked_up_rows():
    emb = torch.nn.Embedding(6, 4)
    ids = torch.tensor([1, 3, 3])
    (emb(ids) ** 2).sum().backward()
    touched = (emb.weight.grad.abs().sum(1) > 0).nonzero().flatten().tolist()
    assert touched == [1, 3]
    sparse = SkipGram(6, 4)  # sparse tables: the gradient is stored only for those rows
    sparse.inp(ids).sum().backward()
    assert sparse.inp.weight.grad.is_sparse
    assert sorted(set(sparse.inp.weight.grad.coalesce().indices()[0].tolist())) == [1, 3]


def test_negative_sampling_loss_equals_the_hand_computation_and_bce():
    u = torch.tensor([[0.5, -1.0], [2.0, 0.25]])
    v = torch.tensor([[1.0, 0.5], [-0.5, 1.0]])
    n = torch.tensor([[[0.3, 0.2], [-1.0, 1.0], [0.0, 2.0]], [[1.0, 1.0], [0.5, -0.5], [-2.0, 0.0]]])
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    dot = lambda a, b: sum(x * y for x, y in zip(a, b, strict=True))  # noqa: E731
    per_example = []
    for b in range(2):
        ub, vb = u[b].tolist(), v[b].tolist()
        loss = -math.log(sig(dot(ub, vb))) - sum(math.log(sig(-dot(ub, nk))) for nk in n[b].tolist())
        per_example.append(loss)
    expected = sum(per_example) / 2
    assert negative_sampling_loss(u, v, n).item() == pytest.approx(expected, rel=1e-6)
    # the same loss as PyTorch's binary cross-entropy: label 1 for the true word, 0 for each noise word
    scores = torch.cat([(u * v).sum(1, keepdim=True), torch.einsum("bkd,bd->bk", n, u)], dim=1)  # (B, 1 + K)
    labels = torch.cat([torch.ones(2, 1), torch.zeros(2, 3)], dim=1)
    bce = F.binary_cross_entropy_with_logits(scores, labels, reduction="sum") / 2
    assert negative_sampling_loss(u, v, n).item() == pytest.approx(bce.item(), rel=1e-6)


def test_negative_sampling_loss_rejects_bad_shapes():
    with pytest.raises(ValueError, match="v_in and v_out"):
        negative_sampling_loss(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2, 5, 3))
    with pytest.raises(ValueError, match="v_noise must be"):
        negative_sampling_loss(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 3))


def test_noise_distribution_sums_to_one_and_follows_count_to_the_three_quarters():
    counts = torch.tensor([0, 1, 16, 81, 1000])
    p = noise_distribution(counts)
    assert p.sum().item() == pytest.approx(1.0, abs=1e-6)
    assert p[0] == 0  # a word never seen is never drawn
    ratios = p[1:] / counts[1:].double() ** 0.75
    assert torch.allclose(ratios, ratios[0].expand_as(ratios), rtol=1e-5)
    assert p[2] / p[1] == pytest.approx(8.0, rel=1e-5)  # 16^0.75 = 8
    assert torch.allclose(noise_distribution(counts, power=1.0)[1:], counts[1:] / counts.sum())
    assert torch.allclose(noise_distribution(counts, power=0.0)[1:], torch.full((4,), 0.25))


def test_keep_probabilities_and_subsample():
    counts = torch.tensor([0, 10, 1000, 100_000])  # total 101,010
    keep = keep_probabilities(counts, t=1e-3)
    f = counts.double() / counts.sum()
    assert keep[0] == 1 and keep[1] == 1  # rarer than t: always kept
    assert keep[2].item() == pytest.approx(min(1.0, math.sqrt(1e-3 / f[2].item())), rel=1e-5)
    assert keep[3].item() == pytest.approx(math.sqrt(1e-3 / f[3].item()), rel=1e-5)
    ids = torch.tensor([1, 3] * 5000)
    kept = subsample(ids, keep, torch.Generator().manual_seed(0))
    assert (kept == 1).sum() == 5000  # every rare word survives, in order
    share = (kept == 3).float().sum().item() / 5000
    assert abs(share - keep[3].item()) < 0.03
    again = subsample(ids, keep, torch.Generator().manual_seed(0))
    assert torch.equal(kept, again)


def test_skipgram_pairs_of_a_tiny_sentence():
    vocab = Vocab(["<unk>", "to", "be", "or", "not"])
    ids = vocab.encode("to be or not to be".split())  # [1, 2, 3, 4, 1, 2]
    centers, contexts = skipgram_pairs(ids, window=2)
    got = list(zip(vocab.decode(centers), vocab.decode(contexts), strict=True))
    expected = [
        ("to", "be"), ("to", "or"),
        ("be", "to"), ("be", "or"), ("be", "not"),
        ("or", "to"), ("or", "be"), ("or", "not"), ("or", "to"),
        ("not", "be"), ("not", "or"), ("not", "to"), ("not", "be"),
        ("to", "or"), ("to", "not"), ("to", "be"),
        ("be", "not"), ("be", "to"),
    ]
    assert got == expected
    c1, x1 = skipgram_pairs(ids, window=1)
    assert len(c1) == 2 * (len(ids) - 1)  # each adjacent pair, both ways


def test_reduced_window_keeps_a_contiguous_window_around_each_center():
    ids = torch.arange(1, 41)  # distinct ids: the position of each word is its id - 1
    full = set(zip(*(t.tolist() for t in skipgram_pairs(ids, 4)), strict=True))
    centers, contexts = skipgram_pairs(ids, 4, torch.Generator().manual_seed(1))
    reduced = list(zip(centers.tolist(), contexts.tolist(), strict=True))
    assert set(reduced) <= full and len(reduced) < len(full)
    sizes = []
    for c in range(1, 41):
        offsets = sorted(x - c for cc, x in reduced if cc == c)
        size = max(abs(o) for o in offsets)
        assert offsets == [o for o in range(-size, size + 1) if o != 0 and 1 <= c + o <= 40]
        sizes.append(size)
    assert set(sizes) == {1, 2, 3, 4}


def test_cbow_examples_pad_past_the_ends():
    contexts, centers = cbow_examples([5, 6, 7, 8], window=2)
    assert centers.tolist() == [5, 6, 7, 8]
    assert contexts.tolist() == [[PAD, PAD, 6, 7], [PAD, 5, 7, 8], [5, 6, 8, PAD], [6, 7, PAD, PAD]]


def test_models_compute_the_loss_from_their_tables():
    torch.manual_seed(0)
    sg, cb = SkipGram(10, 4), CBOW(10, 4)
    for m in (sg, cb):
        torch.nn.init.normal_(m.out.weight)
    centers, contexts, negs = torch.tensor([1, 2]), torch.tensor([3, 4]), torch.tensor([[5, 6], [7, 8]])
    W_in, W_out = sg.inp.weight.detach(), sg.out.weight.detach()
    expected = negative_sampling_loss(W_in[centers], W_out[contexts], W_out[negs])
    assert sg(centers, contexts, negs).item() == pytest.approx(expected.item())
    ctx = torch.tensor([[PAD, 3, 4, PAD], [1, 2, 3, 4]])
    W_in, W_out = cb.inp.weight.detach(), cb.out.weight.detach()
    mean = torch.stack([W_in[[3, 4]].mean(0), W_in[[1, 2, 3, 4]].mean(0)])  # padding is left out of the mean
    expected = negative_sampling_loss(mean, W_out[centers], W_out[negs])
    assert cb(ctx, centers, negs).item() == pytest.approx(expected.item(), rel=1e-6)


def _two_cluster_corpus(n_sentences=600, seed=0):
    """Sentences of 6 words drawn from one of two disjoint groups: a0..a5 or b0..b5."""
    g = torch.Generator().manual_seed(seed)
    words_a, words_b = [f"a{i}" for i in range(6)], [f"b{i}" for i in range(6)]
    vocab = Vocab(["<unk>", *words_a, *words_b])
    ids = []
    for s in range(n_sentences):
        group = words_a if s % 2 else words_b
        ids += vocab.encode([group[i] for i in torch.randint(0, 6, (6,), generator=g).tolist()])
    return vocab, torch.tensor(ids), words_a, words_b


@pytest.mark.parametrize("model_class, n_sentences, batch_size", [(SkipGram, 600, 256), (CBOW, 300, 64)])
def test_training_puts_same_cluster_words_closer(model_class, n_sentences, batch_size):
    vocab, ids, words_a, words_b = _two_cluster_corpus(n_sentences)
    counts = torch.bincount(ids, minlength=len(vocab))
    torch.manual_seed(0)
    model = model_class(len(vocab), 8)
    losses = train(model, ids, counts, window=2, negatives=3, batch_size=batch_size, lr=0.1, t=1.0, progress=False)
    assert sum(losses[-10:]) / 10 < losses[0] - 0.3
    vectors = model.vectors()
    within = pair_similarities(vectors, vocab, [(a, b) for a in words_a for b in words_a if a < b]
                               + [(a, b) for a in words_b for b in words_b if a < b]).mean()
    across = pair_similarities(vectors, vocab, [(a, b) for a in words_a for b in words_b]).mean()
    assert within > across + 0.3
    assert all(w.startswith("a") for w, _ in nearest_neighbours(vectors, vocab, "a0", k=5))


def test_training_is_reproducible_with_a_seed():
    vocab, ids, _, _ = _two_cluster_corpus(200)
    counts = torch.bincount(ids, minlength=len(vocab))
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = SkipGram(len(vocab), 4)
        runs.append((train(model, ids, counts, window=2, max_steps=5, batch_size=64, progress=False),
                     model.vectors()))
    assert runs[0][0] == runs[1][0] and torch.equal(runs[0][1], runs[1][1])


def test_most_similar_solves_a_built_in_analogy_and_excludes_the_query_words():
    vocab = Vocab(["<unk>", "king", "queen", "man", "woman", "apple"])
    royal, common, male, female, fruit = torch.eye(5)
    # every word has the same length, so king - man + woman is exactly queen after normalising
    vectors = torch.stack([torch.zeros(5), royal + male, royal + female, common + male, common + female, fruit])
    answer = most_similar(vectors, vocab, ["king", "woman"], ["man"], k=2)
    assert answer[0][0] == "queen" and answer[0][1] == pytest.approx(1.0, abs=1e-6)
    assert all(w not in ("king", "woman", "man", "<unk>") for w, _ in answer)
    neighbours = nearest_neighbours(vectors, vocab, "king", k=4)
    assert [w for w, _ in neighbours][:2] in (["queen", "man"], ["man", "queen"])
    assert "king" not in [w for w, _ in neighbours] and "<unk>" not in [w for w, _ in neighbours]
    sims = [s for _, s in neighbours]
    assert sims == sorted(sims, reverse=True)
    assert pair_similarities(vectors, vocab, [("king", "queen"), ("man", "woman")]).tolist() == pytest.approx([0.5, 0.5])


def test_validation_errors():
    vocab = Vocab(["<unk>", "a", "b"])
    vectors = torch.randn(3, 2)
    with pytest.raises(ValueError, match="window"):
        skipgram_pairs([1, 2, 1], window=0)
    with pytest.raises(ValueError, match="window"):
        cbow_examples([1, 2, 1], window=-1)
    with pytest.raises(ValueError, match="empty"):
        skipgram_pairs([], window=2)
    with pytest.raises(ValueError, match="empty"):
        train(SkipGram(3, 2), [], torch.tensor([0, 1, 1]), progress=False)
    with pytest.raises(ValueError, match="all zero"):
        noise_distribution(torch.zeros(3))
    with pytest.raises(ValueError, match="threshold"):
        keep_probabilities(torch.ones(3), t=0)
    with pytest.raises(KeyError, match="'zebra' is not in the vocabulary"):
        most_similar(vectors, vocab, ["a", "zebra"])
    with pytest.raises(KeyError, match="zebra"):
        nearest_neighbours(vectors, vocab, "zebra")
    with pytest.raises(ValueError, match="positive"):
        most_similar(vectors, vocab, [])
    with pytest.raises(ValueError, match="rows"):
        most_similar(torch.randn(5, 2), vocab, ["a"])
    with pytest.raises(ValueError, match="outside"):
        train(SkipGram(3, 2), [1, 2, 7], torch.tensor([0, 1, 1]), progress=False)
    with pytest.raises(ValueError, match="optimizer"):
        train(SkipGram(3, 2), [1, 2, 1], torch.tensor([0, 2, 1]), optimizer="lbfgs", progress=False)
    with pytest.raises(TypeError, match="SkipGram or CBOW"):
        train(torch.nn.Linear(2, 2), [1, 2, 1], torch.tensor([0, 2, 1]), progress=False)
