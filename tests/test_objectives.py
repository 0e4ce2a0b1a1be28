"""helpers.objectives: BERT's masking and NSP pairs, T5's span corruption, the three families' masks."""

import pytest
import torch

from helpers import attention
from helpers.objectives import (
    IGNORE_INDEX,
    apply_span_mask,
    bidirectional_mask,
    causal_mask,
    encoder_decoder_masks,
    joint_mask,
    mask_tokens,
    nsp_pairs,
    random_span_mask,
    reassemble_spans,
    span_corruption,
    span_counts,
)

MASK, V = 1000, 1000
SENTINELS = list(range(5000, 5100))


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ----- BERT masking --------------------------------------------------------------------------------


def test_mask_tokens_proportions_on_a_large_sample():
    ids = torch.randint(V, (1000, 1000), generator=_gen(1))  # one million tokens
    inputs, labels = mask_tokens(ids, MASK, V, generator=_gen(2))
    selected = labels != IGNORE_INDEX
    n = selected.sum().item()
    assert abs(n / ids.numel() - 0.15) < 0.003  # standard error 0.00036
    masked = (inputs == MASK) & selected
    replaced = (inputs != ids) & (inputs != MASK) & selected
    unchanged = (inputs == ids) & selected
    assert abs(masked.sum().item() / n - 0.8) < 0.01  # standard errors about 0.001
    assert abs(replaced.sum().item() / n - 0.1 * (1 - 1 / V)) < 0.01  # a random draw can hit the original
    assert abs(unchanged.sum().item() / n - 0.1 * (1 + 1 / V)) < 0.01


def test_mask_tokens_labels_only_where_selected_and_inputs_unchanged_elsewhere():
    ids = torch.randint(V, (64, 128), generator=_gen(3))
    inputs, labels = mask_tokens(ids, MASK, V, p=0.3, generator=_gen(4))
    selected = labels != IGNORE_INDEX
    assert inputs.shape == labels.shape == ids.shape
    assert torch.equal(labels[selected], ids[selected])  # labels: the original tokens
    assert torch.equal(inputs[~selected], ids[~selected])  # nothing else touched
    assert (inputs[~selected] != MASK).all()
    assert (inputs[selected] < V).logical_or(inputs[selected] == MASK).all()


def test_mask_tokens_never_selects_special_tokens_and_is_reproducible():
    ids = torch.randint(V, (200, 50), generator=_gen(5))
    ids[:, 0] = 7  # e.g. a separator at the start of every row
    inputs, labels = mask_tokens(ids, MASK, V, p=0.5, generator=_gen(6), special_ids=[7])
    assert (labels[ids == 7] == IGNORE_INDEX).all() and (inputs[ids == 7] == 7).all()
    again = mask_tokens(ids, MASK, V, p=0.5, generator=_gen(6), special_ids=[7])
    assert torch.equal(inputs, again[0]) and torch.equal(labels, again[1])


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1.5])
def test_mask_tokens_rejects_p_outside_the_open_interval(p):
    with pytest.raises(ValueError, match="p must lie strictly between 0 and 1"):
        mask_tokens(torch.arange(10), MASK, V, p=p)


def test_mask_tokens_rejects_bad_ids():
    with pytest.raises(ValueError, match="empty"):
        mask_tokens(torch.tensor([], dtype=torch.long), MASK, V)
    with pytest.raises(TypeError, match="integer"):
        mask_tokens(torch.rand(5), MASK, V)
    with pytest.raises(ValueError, match="non-negative"):
        mask_tokens(torch.tensor([3, -1]), MASK, V)


# ----- next-sentence prediction ---------------------------------------------------------------------


def test_nsp_pairs_are_half_true_next_half_random():
    sentences = list(range(20_000))  # sentence i is the number i: easy to check who follows whom
    pairs = nsp_pairs(sentences, generator=_gen(7))
    assert len(pairs) == len(sentences) - 1
    assert abs(sum(is_next for *_, is_next in pairs) / len(pairs) - 0.5) < 0.015  # standard error 0.0035
    for first, second, is_next in pairs:
        assert (second == first + 1) == is_next  # random partners are never the true next sentence
        assert second != first
    assert [first for first, *_ in pairs] == sentences[:-1]


def test_nsp_pairs_validation():
    with pytest.raises(ValueError, match="at least 3 sentences"):
        nsp_pairs(["one.", "two."])
    with pytest.raises(ValueError, match="p_next"):
        nsp_pairs(["a", "b", "c"], p_next=1.0)


# ----- T5 span corruption ---------------------------------------------------------------------------


def test_the_papers_example():
    words = "Thank you for inviting me to your party last week .".split()
    vocab = {w: i for i, w in enumerate(words)}
    names = {100: "<X>", 101: "<Y>", 102: "<Z>"}
    ids = torch.tensor([vocab[w] for w in words])
    noise = torch.tensor([w in ("for", "inviting", "last") for w in words])
    inputs, targets = apply_span_mask(ids, noise, [100, 101, 102])
    show = lambda t: " ".join(names.get(i, words[i] if i < 100 else "?") for i in t.tolist())  # noqa: E731
    assert show(inputs) == "Thank you <X> me to your party <Y> week ."
    assert show(targets) == "<X> for inviting <Y> last <Z>"


@pytest.mark.parametrize("seed", range(25))
def test_span_corruption_reassembles_exactly(seed):
    g = _gen(seed)
    length = int(torch.randint(2, 300, (), generator=g))
    ids = torch.randint(V, (length,), generator=g)
    density = float(torch.empty(()).uniform_(0.05, 0.5, generator=g))
    inputs, targets = span_corruption(ids, SENTINELS, noise_density=density, mean_span=3, generator=g)
    assert torch.equal(reassemble_spans(inputs, targets, SENTINELS), ids)
    n_noise, n_spans = span_counts(length, density, 3)
    assert len(inputs) == length - n_noise + n_spans and len(targets) == n_noise + n_spans + 1
    # sentinels appear in order: the first span gets the first sentinel, and so on; one more ends the targets
    assert [t for t in inputs.tolist() if t in SENTINELS] == SENTINELS[:n_spans]
    assert [t for t in targets.tolist() if t in SENTINELS] == SENTINELS[:n_spans + 1]


def test_corrupted_fraction_and_mean_span_length():
    # Not statistical: every mask has exactly round(0.15 * 512) = 77 noise tokens in round(77 / 3) = 26 spans
    # that never touch (touching spans would merge into fewer runs); only their places and lengths are random.
    assert span_counts(512) == (77, 26)
    g = _gen(8)
    lengths = []
    for _ in range(300):
        mask = random_span_mask(512, 0.15, 3.0, generator=g)
        edges = torch.diff(mask.int(), prepend=torch.tensor([0]), append=torch.tensor([0]))
        runs = (edges == -1).nonzero().flatten() - (edges == 1).nonzero().flatten()  # length of each run of noise
        assert mask.sum().item() == 77 and len(runs) == 26
        lengths += runs.tolist()
    assert min(lengths) == 1 and max(lengths) > 9  # the lengths do vary
    assert sum(lengths) / len(lengths) == 77 / 26  # mean span length 2.96, about 3


def test_span_positions_are_spread_over_the_sequence():
    g = _gen(9)
    hits = sum(random_span_mask(40, 0.15, 3.0, generator=g).float() for _ in range(1200)) / 1200
    assert hits[0] > 0.02 and hits[-1] > 0.02  # spans can start the sequence and end it
    assert (hits[5:-5] - 0.15).abs().max() < 0.05


def test_span_corruption_validation():
    ids = torch.arange(100)
    with pytest.raises(ValueError, match="too few sentinels"):
        span_corruption(ids, SENTINELS[:3], generator=_gen(0))  # 5 spans need 6 sentinels
    with pytest.raises(ValueError, match="empty"):
        span_corruption(torch.tensor([], dtype=torch.long), SENTINELS)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        span_corruption(torch.tensor([4]), SENTINELS)
    with pytest.raises(ValueError, match="noise_density"):
        span_corruption(ids, SENTINELS, noise_density=0.0)
    with pytest.raises(ValueError, match="mean_span"):
        span_corruption(ids, SENTINELS, mean_span=0.5)
    with pytest.raises(ValueError, match="already contain a sentinel"):
        span_corruption(torch.tensor([1, 2, 5000, 3]), SENTINELS)
    with pytest.raises(ValueError, match="distinct"):
        span_corruption(ids, [5000, 5000, 5001, 5002, 5003, 5004, 5005])
    with pytest.raises(ValueError, match="1-D"):
        span_corruption(ids.view(10, 10), SENTINELS)


# ----- masks -------------------------------------------------------------------------------------------


def test_masks_of_the_three_families():
    assert causal_mask is attention.causal_mask  # reused, not rewritten
    assert bidirectional_mask(4).all() and bidirectional_mask(4).shape == (4, 4)
    m = encoder_decoder_masks(5, 3)
    assert m["encoder"].shape == (5, 5) and m["encoder"].all()
    assert torch.equal(m["decoder"], causal_mask(3))
    assert m["cross"].shape == (3, 5) and m["cross"].all()
    joint = joint_mask(5, 3)
    assert torch.equal(joint[:5, :5], m["encoder"]) and not joint[:5, 5:].any()  # the encoder never sees the output
    assert torch.equal(joint[5:, :5], m["cross"]) and torch.equal(joint[5:, 5:], m["decoder"])
    with pytest.raises(ValueError, match="at least 1"):
        encoder_decoder_masks(0, 3)
