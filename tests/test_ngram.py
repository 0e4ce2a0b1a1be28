"""n-gram language models (notebook 01): proper distributions, perplexity by hand, Kneser-Ney by hand and against
NLTK, sparsity, errors."""

import math
import random

import pytest

from helpers.ngram import NGramLM, unseen_ngram_share
from helpers.words import Vocab, words

TEXT = words("the cat sat on the mat . the dog sat on the log . a cat saw the dog . the dog sat .")


@pytest.fixture(scope="module")
def vocab():
    return Vocab.build(TEXT, min_count=1)


@pytest.mark.parametrize("smoothing", ["interpolation", "add-k", "kneser-ney"])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_probabilities_sum_to_one_for_every_history(vocab, smoothing, n):
    lm = NGramLM(n, vocab, smoothing=smoothing, k=0.5).fit(TEXT)
    rng = random.Random(n)
    histories = [(), ("the",), ("sat", "on"), ("on", "the", "cat"), ("zebra", "the")]  # seen, unseen, <unk>
    histories += [tuple(rng.choices(vocab.itos, k=rng.randint(0, 4))) for _ in range(20)]
    for h in histories:
        dist = lm.distribution(h)
        assert len(dist) == len(vocab)
        assert all(p > 0 for p in dist)  # smoothing: no word is impossible
        assert math.isclose(sum(dist), 1.0, rel_tol=1e-9), (h, sum(dist))
        assert math.isclose(lm.prob("cat", h), dist[vocab.stoi["cat"]])


@pytest.mark.parametrize("discount", [0.1, 0.5, 1.0, "per order"])
@pytest.mark.parametrize("n", [2, 3])
def test_kneser_ney_sums_to_one_with_any_discount(vocab, discount, n):
    if discount == "per order":
        discount = [0.3, 0.9, 0.6][:n]
    lm = NGramLM(n, vocab, smoothing="kneser-ney", discount=discount).fit(TEXT)
    for h in [(), ("the",), ("sat", "on"), ("on", "the"), (".", "the"), ("zebra",), ("log", "cat")]:
        dist = lm.distribution(h)
        assert all(p > 0 for p in dist)
        assert math.isclose(sum(dist), 1.0, rel_tol=1e-9), (h, sum(dist))


def test_kneser_ney_by_hand_on_a_tiny_corpus():
    # ids: a=0 b=1 c=2, V=3, text a b a b c a b. Bigram counts: ab 3, ba 1, bc 1, ca 1.
    # Continuation counts N1+(. w): a follows b and c -> 2; b follows a -> 1; c follows b -> 1; 4 bigram types.
    # With D = 0.5: P_cont(w) = (max(N1+(. w) - D, 0) + D * 3 * 1/3) / 4.
    lm = NGramLM(2, 3, smoothing="kneser-ney", discount=0.5).fit([0, 1, 0, 1, 2, 0, 1])
    p_cont = [(2 - 0.5 + 0.5) / 4, (1 - 0.5 + 0.5) / 4, (1 - 0.5 + 0.5) / 4]  # 0.5, 0.25, 0.25
    assert [lm.prob(w) for w in range(3)] == pytest.approx(p_cont, rel=1e-12)
    # b occurs as often as a (3 times), but always after a: Kneser-Ney's fallback halves its share
    assert lm.prob(1) < lm.prob(0)
    # after a: c(a) = 3, only ever b (N1+(a .) = 1): P(b | a) = (3 - 0.5 + 0.5 * 1 * P_cont(b)) / 3
    assert lm.prob(1, [0]) == pytest.approx((3 - 0.5 + 0.5 * 0.25) / 3, rel=1e-12)  # 0.875
    assert lm.prob(0, [0]) == pytest.approx(0.5 * 0.5 / 3, rel=1e-12)
    # after b: b ends the text once, so c(b) = 2 (a once, c once), N1+(b .) = 2
    assert lm.prob(0, [1]) == pytest.approx((1 - 0.5 + 0.5 * 2 * 0.5) / 2, rel=1e-12)  # 0.5
    assert lm.prob(2, [1]) == pytest.approx((1 - 0.5 + 0.5 * 2 * 0.25) / 2, rel=1e-12)  # 0.375
    # estimated discounts D = n1 / (n1 + 2 n2): bigram counts 3, 1, 1, 1 -> 3 / 3 = 1;
    # continuation counts 2, 1, 1 -> 2 / (2 + 2) = 0.5
    assert NGramLM(2, 3, smoothing="kneser-ney").fit([0, 1, 0, 1, 2, 0, 1]).discounts == [0.5, 1.0]
    cc, total, types = lm.continuation_counts(1)
    assert cc == {(0,): 2, (1,): 1, (2,): 1} and total == {(): 4} and types == {(): 3}


def test_kneser_ney_beats_witten_bell_on_the_continuation_example():
    # "francisco" is frequent but only ever follows "san"; "glasses" is as frequent and follows many words.
    text = words("san francisco . " * 6 + "my glasses . his glasses . her glasses . new glasses . old glasses . "
                 "red glasses . " + "i read . you read . " * 3)
    vocab = Vocab.build(text)
    wb, kn = NGramLM(2, vocab).fit(text), NGramLM(2, vocab, smoothing="kneser-ney").fit(text)
    assert wb.count("francisco") == wb.count("glasses") == 6
    # after "read" neither was seen: Witten-Bell rates them alike, Kneser-Ney prefers the word with many contexts
    assert math.isclose(wb.prob("francisco", ["read"]), wb.prob("glasses", ["read"]))
    assert kn.prob("glasses", ["read"]) > 5 * kn.prob("francisco", ["read"])


@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize("discount", [0.1, 0.75])
def test_kneser_ney_matches_nltk(order, discount):
    """NLTK's KneserNeyInterpolated ends its recursion at the continuation unigram (no uniform level, no discount
    there): the same model as ours with a discount of 0 at order 1."""
    pytest.importorskip("nltk")
    from nltk.lm import KneserNeyInterpolated
    from nltk.util import everygrams

    text = words(". the cat sat on the mat . the dog sat on the log . a cat saw the dog . the dog sat .")
    vocab = Vocab.build(text)
    ref = KneserNeyInterpolated(order, discount=discount)
    ref.fit([list(everygrams(text, max_len=order))], vocabulary_text=text)
    ours = NGramLM(order, vocab, smoothing="kneser-ney", discount=[0.0] + [discount] * (order - 1)).fit(text)
    known = vocab.itos[1:]  # every word of the text (not <unk>)
    histories = [()] + [(a,) for a in known] + ([(a, b) for a in known for b in known] if order == 3 else [])
    compared = 0
    for h in histories:  # seen and unseen histories alike
        for w in known:
            assert ours.prob(w, h) == pytest.approx(ref.score(w, list(h)), abs=1e-12), (h, w)
            compared += 1
    assert compared > 100


def test_uniform_model_has_perplexity_equal_to_vocabulary_size():
    V = 7
    lm = NGramLM(1, V).fit(list(range(V)) * 3)  # every id equally often: unigram = uniform
    assert math.isclose(lm.perplexity([3, 1, 4, 1, 5, 0, 2, 6]), V)
    for smoothing in ("interpolation", "add-k"):  # each word seen once: both smoothings give exactly 1/V
        lm = NGramLM(1, V, smoothing=smoothing, k=1).fit(list(range(V)))
        assert all(math.isclose(p, 1 / V) for p in lm.distribution())
        assert math.isclose(lm.perplexity([6, 5, 4, 0]), V)


def test_perplexity_by_hand_on_a_tiny_corpus():
    # ids: a=0 b=1 c=2, V=3. Training text a b a b c: bigram counts ab 2, ba 1, bc 1; contexts c(a)=2, c(b)=2.
    train = [0, 1, 0, 1, 2]
    add1 = NGramLM(2, 3, smoothing="add-k", k=1).fit(train)
    # add-1: first token P(a) = (2+1)/(5+3); P(b|a) = (2+1)/(2+3), P(a|b) = (1+1)/(2+3), P(c|b) = (1+1)/(2+3)
    p_a, p_b_a, p_a_b, p_c_b = (2 + 1) / (5 + 3), (2 + 1) / (2 + 3), (1 + 1) / (2 + 3), (1 + 1) / (2 + 3)
    by_hand = math.exp(-(math.log(p_a) + math.log(p_b_a) + math.log(p_a_b) + math.log(p_b_a)) / 4)
    assert math.isclose(add1.perplexity([0, 1, 0, 1]), by_hand)
    assert math.isclose(add1.perplexity([0, 1, 2], start=1), math.exp(-(math.log(p_b_a) + math.log(p_c_b)) / 2))
    # Witten-Bell: unigram P(w) = (c(w) + T * 1/V) / (N + T) with N = 5, T = 3 distinct words.
    wb = NGramLM(2, 3).fit(train)
    uni = {w: (c + 3 / 3) / (5 + 3) for w, c in {0: 2, 1: 2, 2: 1}.items()}
    assert math.isclose(wb.prob(0), uni[0])
    # bigram after b: c(b) = 2, T(b) = 2 (a and c): P(c|b) = (1 + 2 * P(c)) / (2 + 2)
    assert math.isclose(wb.prob(2, [1]), (1 + 2 * uni[2]) / 4)
    # after c nothing was seen (c ends the text): fall back to the unigram
    assert math.isclose(wb.prob(1, [2]), uni[1])
    # after a: c(a) = 2, T(a) = 1 (only b): P(b|a) = (2 + 1 * P(b)) / (2 + 1)
    expected = math.exp(-(math.log((2 + uni[1]) / 3) + math.log((1 + 2 * uni[2]) / 4)) / 2)
    assert math.isclose(wb.perplexity([0, 1, 2], start=1), expected)


def test_more_context_fits_the_training_text_better():
    lm = NGramLM(4, Vocab.build(TEXT)).fit(TEXT)
    train_ppl = [lm.truncated(n).perplexity(TEXT) for n in range(1, 5)]
    assert train_ppl == sorted(train_ppl, reverse=True)


def test_words_and_ids_give_the_same_model(vocab):
    by_words = NGramLM(3, vocab).fit(TEXT)
    by_ids = NGramLM(3, vocab).fit(vocab.encode(TEXT))
    assert by_words.counts == by_ids.counts
    assert by_words.count("sat", "on") == 2 and by_words.count("on", "the", "zebra") == 0
    assert by_words.followers(["sat"]) == {vocab.stoi["on"]: 2, vocab.stoi["."]: 1}
    assert math.isclose(by_words.prob("on", ["dog", "sat"]), by_ids.prob(vocab.stoi["on"], vocab.encode(["dog", "sat"])))
    # only the last n - 1 words of a history matter
    assert by_words.prob("on", ["a", "cat", "dog", "sat"]) == by_words.prob("on", ["dog", "sat"])


def test_truncated_equals_a_model_fitted_at_the_lower_order(vocab):
    five = NGramLM(5, vocab).fit(TEXT)
    for n in (1, 2, 3):
        direct = NGramLM(n, vocab).fit(TEXT)
        assert math.isclose(five.truncated(n).perplexity(TEXT), direct.perplexity(TEXT))
        addk = NGramLM(n, vocab, smoothing="add-k", k=0.1).fit(TEXT)
        assert math.isclose(five.truncated(n, "add-k", 0.1).perplexity(TEXT), addk.perplexity(TEXT))
        kn = NGramLM(n, vocab, smoothing="kneser-ney").fit(TEXT)
        assert math.isclose(five.truncated(n, "kneser-ney").perplexity(TEXT), kn.perplexity(TEXT))
        assert five.truncated(n, "kneser-ney").discounts == kn.discounts


def test_sampling_is_reproducible_and_follows_the_counts(vocab):
    lm = NGramLM(2, vocab, smoothing="add-k", k=1e-9).fit(TEXT)  # nearly no smoothing
    a, b = lm.sample(20, prompt=["the"], seed=3), lm.sample(20, prompt=["the"], seed=3)
    assert a == b and len(a) == 21 and a[0] == vocab.stoi["the"]
    for prev, nxt in zip(a, a[1:]):
        assert lm.count(prev, nxt) > 0  # every step was seen in training
    assert lm.sample(5, seed=4) != lm.sample(5, seed=5) or lm.sample(5, seed=6) != lm.sample(5, seed=4)


def test_unseen_share():
    assert unseen_ngram_share(TEXT, TEXT, 3) == 0.0
    assert unseen_ngram_share(["a", "b", "c"], ["a", "b", "d"], 1) == pytest.approx(1 / 3)
    assert unseen_ngram_share(["a", "b", "c"], ["a", "b", "c", "a"], 2) == pytest.approx(1 / 3)
    rng = random.Random(0)
    train, valid = rng.choices("abcd", k=300), rng.choices("abcd", k=300)
    shares = [unseen_ngram_share(train, valid, n) for n in range(1, 8)]
    assert shares == sorted(shares) and shares[0] == 0 and shares[-1] > 0.5


def test_errors(vocab):
    with pytest.raises(ValueError, match="order n"):
        NGramLM(0, vocab)
    with pytest.raises(ValueError, match="unknown smoothing"):
        NGramLM(2, vocab, smoothing="good-turing")
    with pytest.raises(ValueError, match=r"discount must lie in \(0, 1\]"):
        NGramLM(2, vocab, smoothing="kneser-ney", discount=1.5)
    with pytest.raises(ValueError, match="one discount per order"):
        NGramLM(3, vocab, smoothing="kneser-ney", discount=[0.5, 0.5])
    with pytest.raises(ValueError, match="continuation counts exist"):
        NGramLM(2, vocab, smoothing="kneser-ney").fit(TEXT).continuation_counts(2)
    with pytest.raises(ValueError, match="k > 0"):
        NGramLM(2, vocab, smoothing="add-k", k=0)
    with pytest.raises(ValueError, match="empty"):
        NGramLM(2, vocab).fit([])
    with pytest.raises(RuntimeError, match="fit"):
        NGramLM(2, vocab).prob("the")
    with pytest.raises(ValueError, match="0 .. 2"):
        NGramLM(2, 3).fit([0, 1, 5])
    with pytest.raises(TypeError, match="not one string"):
        NGramLM(2, vocab).fit("the cat")
    with pytest.raises(TypeError, match="pass ids"):
        NGramLM(2, 3).fit(["a", "b"])
    lm = NGramLM(2, vocab).fit(TEXT)
    with pytest.raises(ValueError, match="nothing to score"):
        lm.perplexity(["the"], start=1)
    with pytest.raises(ValueError, match="lower the order"):
        lm.truncated(3)
    with pytest.raises(ValueError, match="n must be"):
        unseen_ngram_share(TEXT, TEXT, 0)
    with pytest.raises(ValueError, match="validation text"):
        unseen_ngram_share(TEXT, [], 1)
