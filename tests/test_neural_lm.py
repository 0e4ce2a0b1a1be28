"""The Bengio-style neural language model (notebook 01): shapes, loss at init, training, neighbours, errors."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers.neural_lm import NeuralLM, make_windows, nearest_neighbours, perplexity, train_lm
from helpers.words import Vocab


def test_output_shape_and_it_is_a_distribution():
    torch.manual_seed(0)
    model = NeuralLM(vocab_size=50, context=3, emb_dim=8, hidden=16)
    logits = model(torch.randint(0, 50, (4, 3)))
    assert logits.shape == (4, 50)
    torch.testing.assert_close(logits.softmax(-1).sum(-1), torch.ones(4))


def test_forward_equals_the_same_layers_written_out_with_torch():
    torch.manual_seed(0)
    model = NeuralLM(vocab_size=30, context=2, emb_dim=4, hidden=8).eval()
    x = torch.randint(0, 30, (5, 2))
    e = torch.cat([model.embedding.weight[x[:, 0]], model.embedding.weight[x[:, 1]]], dim=1)  # (5, 8)
    h = torch.tanh(e @ model.hidden.weight.T + model.hidden.bias)
    torch.testing.assert_close(model(x), h @ model.output.weight.T + model.output.bias)


def test_loss_at_initialisation_is_about_ln_vocabulary_size():
    torch.manual_seed(0)
    V = 500
    model = NeuralLM(vocab_size=V, context=3)
    X, Y = torch.randint(0, V, (2000, 3)), torch.randint(0, V, (2000,))
    loss = F.cross_entropy(model(X), Y).item()
    assert abs(loss - math.log(V)) < 0.1
    assert abs(perplexity(model, X, Y) - V) / V < 0.1


def test_windows_pair_each_history_with_the_next_token():
    X, Y = make_windows([5, 6, 7, 8, 9], context=2)
    assert X.tolist() == [[5, 6], [6, 7], [7, 8]] and Y.tolist() == [7, 8, 9]
    with pytest.raises(ValueError, match="more than context"):
        make_windows([1, 2], context=2)
    with pytest.raises(ValueError, match="context must be"):
        make_windows([1, 2, 3], context=0)


def test_a_short_training_run_learns_a_deterministic_sequence():
    ids = [0, 1, 2, 3, 4, 5, 6, 7] * 40  # next token is always determined by the previous one
    X, Y = make_windows(ids, context=2)
    torch.manual_seed(0)
    model = NeuralLM(vocab_size=8, context=2, emb_dim=8, hidden=32)
    before = perplexity(model, X, Y)
    losses = train_lm(model, X, Y, steps=150, batch_size=32, lr=1e-2, progress=False)
    after = perplexity(model, X, Y)
    assert sum(losses[-10:]) / 10 < sum(losses[:10]) / 10 / 4
    assert after < 1.2 < before
    assert not model.training  # left in eval mode


def test_training_is_reproducible():
    X, Y = make_windows(list(range(10)) * 20, context=3)
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        model = NeuralLM(vocab_size=10, context=3, emb_dim=4, hidden=8, dropout=0.1)
        runs.append(train_lm(model, X, Y, steps=20, batch_size=16, seed=7, progress=False))
    assert runs[0] == runs[1]


def test_nearest_neighbours_puts_the_word_first_and_ranks_by_cosine():
    vocab = Vocab(["<unk>", "king", "queen", "apple", "pear"])
    emb = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.1, 0.0], [0.9, 0.2, 0.0], [0.0, 1.0, 0.0], [-1.0, -0.1, 0.0]])
    result = nearest_neighbours(emb, vocab, "king", k=3)
    assert [w for w, _ in result] == ["king", "queen", "apple"]
    assert result[0][1] == 1.0
    reference = F.cosine_similarity(emb[1:2], emb, dim=1)  # PyTorch's own cosine similarity
    for w, s in result:
        assert math.isclose(s, reference[vocab.stoi[w]].item(), rel_tol=1e-6)
    assert len(nearest_neighbours(emb, vocab, "pear", k=10)) == 5  # k larger than V: everything
    twins = torch.ones(5, 3)  # all vectors equal: the asked word still comes first
    assert nearest_neighbours(twins, vocab, "pear", k=2)[0][0] == "pear"


def test_nearest_neighbours_validates_its_input():
    vocab = Vocab(["<unk>", "king"])
    with pytest.raises(KeyError, match="'queen' is not in the vocabulary"):
        nearest_neighbours(torch.zeros(2, 4), vocab, "queen")
    with pytest.raises(ValueError, match=r"\(V, E\)"):
        nearest_neighbours(torch.zeros(3, 4), vocab, "king")
    with pytest.raises(ValueError, match="k must be"):
        nearest_neighbours(torch.zeros(2, 4), vocab, "king", k=0)


def test_model_and_training_validate_their_input():
    with pytest.raises(ValueError, match="vocab_size"):
        NeuralLM(vocab_size=0)
    with pytest.raises(ValueError, match="dropout"):
        NeuralLM(vocab_size=10, dropout=1.0)
    model = NeuralLM(vocab_size=10, context=3)
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        model(torch.zeros(4, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="same, non-zero"):
        train_lm(model, torch.zeros(3, 3, dtype=torch.long), torch.zeros(2, dtype=torch.long), steps=1)
    with pytest.raises(ValueError, match="positive"):
        train_lm(model, torch.zeros(3, 3, dtype=torch.long), torch.zeros(3, dtype=torch.long), steps=0)


def test_embedding_lookup_is_a_plain_nn_embedding():
    model = NeuralLM(vocab_size=12, context=2, emb_dim=5)
    assert isinstance(model.embedding, nn.Embedding) and model.embedding.weight.shape == (12, 5)
