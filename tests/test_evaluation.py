"""Tests for helpers.evaluation: intervals, quizzes, scoring, classification, arithmetic (skill profiles: test_skill_profile.py)."""

import math
import random
import re
from collections import Counter

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn as nn

from helpers import decoding
from helpers import evaluation as ev
from helpers.data import load_corpus, load_texts, validation_works
from helpers.gpt import GPT, GPTConfig

matplotlib.use("Agg")


# ----- confidence intervals -----------------------------------------------------------------------------------
def wilson_by_quadratic(k, n, z):
    """The Wilson bounds as the two roots p of (k/n - p)^2 = z^2 p (1 - p) / n (an independent derivation)."""
    ph = k / n
    a = 1 + z * z / n
    b = -(2 * ph + z * z / n)
    c = ph * ph
    disc = math.sqrt(b * b - 4 * a * c)
    return (-b - disc) / (2 * a), (-b + disc) / (2 * a)


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (60, 100), (1, 1), (517, 1000)])
def test_wilson_matches_the_quadratic_roots(k, n):
    lo, hi = ev.wilson_interval(k, n)
    ref = wilson_by_quadratic(k, n, 1.959963984540054)
    assert lo == pytest.approx(ref[0], abs=1e-12)
    assert hi == pytest.approx(ref[1], abs=1e-12)
    assert 0 <= lo <= k / n <= hi <= 1


def test_wilson_textbook_value():
    # Brown, Cai & DasGupta (2001) style example: 0 successes in 10 trials, 95%: upper bound 0.2775
    assert ev.wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=5e-5)
    assert ev.wilson_interval(0, 10)[0] == 0.0


def test_wilson_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    for k, n in [(0, 20), (7, 9), (60, 100), (600, 1000), (20, 20)]:
        for conf in (0.9, 0.95, 0.99):
            ref = stats.binomtest(k, n).proportion_ci(confidence_level=conf, method="wilson")
            lo, hi = ev.wilson_interval(k, n, conf)
            assert lo == pytest.approx(ref.low, abs=1e-10) and hi == pytest.approx(ref.high, abs=1e-10)


def test_wilson_narrows_with_more_data_and_widens_with_confidence():
    w = [ev.wilson_interval(n // 2, n) for n in (10, 100, 1000)]
    widths = [hi - lo for lo, hi in w]
    assert widths[0] > widths[1] > widths[2]
    lo90, hi90 = ev.wilson_interval(30, 60, 0.90)
    lo99, hi99 = ev.wilson_interval(30, 60, 0.99)
    assert lo99 < lo90 and hi99 > hi90


@pytest.mark.parametrize("args,err,match", [
    ((5, 0), ValueError, "n must be at least 1"),
    ((11, 10), ValueError, "successes must lie"),
    ((-1, 10), ValueError, "successes must lie"),
    ((5, 10, 0.0), ValueError, "strictly between 0 and 1"),
    ((5, 10, 1.0), ValueError, "strictly between 0 and 1"),
    ((5, 10, 95), ValueError, "strictly between 0 and 1"),
    ((5.0, 10), TypeError, "must be an int"),
    ((True, 10), TypeError, "must be an int"),
])
def test_wilson_rejects_bad_input(args, err, match):
    with pytest.raises(err, match=match):
        ev.wilson_interval(*args)


def test_bootstrap_interval():
    values = [1] * 60 + [0] * 40
    lo, hi = ev.bootstrap_interval(values, seed=1)
    assert lo < 0.6 < hi
    assert (lo, hi) == ev.bootstrap_interval(values, seed=1)  # seeded
    wlo, whi = ev.wilson_interval(60, 100)
    assert abs(lo - wlo) < 0.03 and abs(hi - whi) < 0.03  # both estimate the same spread
    with pytest.raises(ValueError, match="non-empty"):
        ev.bootstrap_interval([])
    with pytest.raises(ValueError, match="between 0 and 1"):
        ev.bootstrap_interval(values, confidence=1.5)


def test_cluster_bootstrap_equals_the_plain_bootstrap_of_group_means():
    # With groups of equal size, the mean of the drawn groups' values is the mean of their group means, so the
    # cluster bootstrap of the values must equal the plain bootstrap of the group means (same seed, same draws).
    rng = np.random.default_rng(3)
    values = rng.random(8 * 3)
    groups = np.repeat(np.arange(8), 3)  # 8 prompts, 3 samples each
    group_means = values.reshape(8, 3).mean(axis=1)
    assert ev.bootstrap_interval(values, groups=groups, seed=5) == pytest.approx(
        ev.bootstrap_interval(group_means, seed=5), abs=1e-12)
    # one group per value: the plain bootstrap
    assert ev.bootstrap_interval(values, groups=np.arange(values.size), seed=2) == pytest.approx(
        ev.bootstrap_interval(values, seed=2), abs=1e-12)


def test_cluster_bootstrap_against_scipy_on_group_means():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    level = rng.normal(size=40)  # 40 groups whose values share a group-level effect
    values = np.repeat(level, 5) + 0.1 * rng.normal(size=200)
    groups = np.repeat(np.arange(40), 5)
    lo, hi = ev.bootstrap_interval(values, groups=groups, n_resamples=20000)
    ref = stats.bootstrap((values.reshape(40, 5).mean(axis=1),), np.mean, method="percentile",
                          n_resamples=20000, random_state=1).confidence_interval
    assert abs(lo - ref.low) < 0.03 and abs(hi - ref.high) < 0.03


def test_cluster_bootstrap_is_wider_when_values_within_a_group_agree():
    # 10 prompts x 5 samples that agree within each prompt: only 10 independent values, not 50
    rng = np.random.default_rng(1)
    values = np.repeat(rng.random(10), 5)
    groups = np.repeat(np.arange(10), 5)
    naive = ev.bootstrap_interval(values)
    cluster = ev.bootstrap_interval(values, groups=groups)
    ratio = (cluster[1] - cluster[0]) / (naive[1] - naive[0])
    assert 1.8 < ratio < 2.8, ratio  # about sqrt(5) = 2.24 wider
    with pytest.raises(ValueError, match="one label per value"):
        ev.bootstrap_interval(values, groups=groups[:-1])
    with pytest.raises(ValueError, match="at least 2 groups"):
        ev.bootstrap_interval(values, groups=np.zeros(50))
    assert ev.bootstrap_interval([1.0] * 6) == (1.0, 1.0)  # no variation in the sample: zero width


def test_difference_interval_paired_and_unpaired():
    rng = np_rng = np.random.default_rng(0)
    a = (np_rng.random(300) < 0.6).astype(float)
    b = a.copy()
    flip = rng.choice(300, 30, replace=False)  # b differs from a on 30 items only
    b[flip] = 1 - b[flip]
    d = a.mean() - b.mean()
    plo, phi = ev.difference_interval(a, b, paired=True)
    ulo, uhi = ev.difference_interval(a, b, paired=False)
    assert plo <= d <= phi and ulo <= d <= uhi
    assert phi - plo < 0.5 * (uhi - ulo)  # pairing removes the shared item-to-item variation
    se = math.sqrt(a.var() / 300 + b.var() / 300)  # the unpaired normal approximation
    assert abs((uhi - ulo) - 2 * 1.96 * se) < 0.02
    with pytest.raises(ValueError, match="same length"):
        ev.difference_interval([1, 0], [1], paired=True)
    with pytest.raises(ValueError, match="non-empty"):
        ev.difference_interval([], [1], paired=False)


def test_format_score():
    assert ev.format_score(60, 100).startswith("0.600 [0.502, 0.691]")


# ----- the plays' layout and the quiz -------------------------------------------------------------------------
TOY_PLAY = """THE TOY

ACT 1

[Enter ALICE and BOB]

ALICE.
The first line of my speech is here,
and this is its second line for you,
and a third line to end it well.

BOB.
A short one.
[Exit]

First Clown.
Hold, sirrah.
"""


def test_speeches_and_dialogue_lines():
    sp = ev.speeches(TOY_PLAY)
    assert [s for s, _ in sp] == ["ALICE", "BOB", "First Clown"]
    assert sp[0][1][2] == "and a third line to end it well."
    assert sp[1][1] == ["A short one."]  # the stage direction is left out
    assert ev.dialogue_lines(TOY_PLAY)[-1] == "Hold, sirrah."
    assert ev.is_speaker_line("Ham.") and ev.is_speaker_line("FIRST CITIZEN.")
    assert not ev.is_speaker_line("Hold, sirrah.") and not ev.is_speaker_line("[Exit]")
    with pytest.raises(TypeError):
        ev.speeches(None)


@pytest.fixture(scope="module")
def held_out():
    return load_texts("modern", "validation")


@pytest.fixture(scope="module")
def seen():
    return ev.LeakageChecker([load_corpus("modern", "train"), load_corpus("folio", "train")])


@pytest.fixture(scope="module")
def quiz(held_out, seen):
    return ev.next_line_quiz(held_out, 40, seed=0, half=True, seen=seen)


def test_quiz_items_are_well_formed(quiz, held_out):
    assert len(quiz) == 40
    for item in quiz:
        assert len(item.options) == 4 and len(set(item.options)) == 4
        assert 0 <= item.answer < 4
        assert item.work in validation_works()
        # the right option really continues the question's last (half) line in the play
        last = item.question.split("\n")[-1]
        assert last + item.options[item.answer] in held_out[item.work].split("\n") or \
            (last + item.options[item.answer]) in [line.strip() for line in held_out[item.work].split("\n")]


def test_quiz_has_no_line_of_the_training_text(quiz, seen):
    train = load_corpus("modern", "train")
    folio = load_corpus("folio", "train")
    lines = [line for item in quiz for line in item.lines()]
    assert len(lines) == 40 * 7  # two context lines, the half line, four options
    assert not [line for line in lines if line in train or line in folio]
    normal = " " + ev.normalise(train) + " " + ev.normalise(folio) + " "
    assert not [line for line in lines if " " + ev.normalise(line) + " " in normal]  # no variant either
    assert not [r for item in quiz for o in item.options for r in seen.shared_runs(item.question + o)]


def test_quiz_is_deterministic_and_seeded(held_out):
    a = ev.next_line_quiz(held_out, 30, seed=3)
    assert a == ev.next_line_quiz(held_out, 30, seed=3)
    assert a != ev.next_line_quiz(held_out, 30, seed=4)


def test_quiz_answer_position_is_uniform(held_out):
    items = ev.next_line_quiz(held_out, 400, seed=1)
    counts = Counter(item.answer for item in items)
    chi2 = sum((counts[i] - 100) ** 2 / 100 for i in range(4))
    assert chi2 < 16.3  # the 0.999 quantile of chi-square with 3 degrees of freedom
    works = Counter(item.work for item in items)
    assert set(works) == set(validation_works()) and max(works.values()) - min(works.values()) <= 1


def test_quiz_respects_seen_and_rejects_bad_input(held_out):
    banned = {line for item in ev.next_line_quiz(held_out, 20, seed=0) for line in item.options}
    items = ev.next_line_quiz(held_out, 20, seed=0, seen=lambda line: line in banned)
    assert not banned & {o for item in items for o in item.options}
    with pytest.raises(ValueError, match="n_items"):
        ev.next_line_quiz(held_out, 0)
    with pytest.raises(ValueError, match="texts is empty"):
        ev.next_line_quiz({}, 5)
    with pytest.raises(ValueError, match="fewer than"):
        ev.next_line_quiz({"toy": TOY_PLAY}, 5, min_chars=5)
    with pytest.raises(ValueError, match="n_options"):
        ev.next_line_quiz(held_out, 5, n_options=1)


def test_leakage_checker():
    check = ev.LeakageChecker(["alpha beta gamma", "delta"])
    assert check("beta gamma") and check("delta") and not check("epsilon")
    assert not check("beta gam")  # whole words only
    with pytest.raises(ValueError, match="non-empty"):
        ev.LeakageChecker([])
    with pytest.raises(ValueError, match="words per run"):
        ev.LeakageChecker(["a b"], n=0)


def test_leakage_checker_catches_case_and_punctuation_variants():
    train = "HAMLET.\nFare you well, my Lord!\nSoft you now -- who comes here?\n"
    check = ev.LeakageChecker(train)
    assert "Fare you well, my lord." not in train  # exact search misses it ...
    assert check("Fare you well, my lord.") and check("fare you WELL my lord")  # ... the normalised one does not
    assert check("Soft you now, who comes here")
    assert not check("Fare you well, my lady.")
    assert ev.normalise("  O'er the sea,  'tis SO! ") == "o'er the sea tis so"


def test_leakage_checker_finds_shared_word_runs():
    train = "one two three four five six seven eight nine ten"
    check = ev.LeakageChecker([train], n=4)
    assert check.shared_runs("Zero, one, two, three: FOUR!") == ["one two three four"]
    assert check.shared_runs("two three five six") == []  # not consecutive in the training text
    assert check.shared_runs("one two") == []  # shorter than a run
    runs = check.shared_runs("xx five six seven eight nine yy")
    assert runs == ["five six seven eight", "six seven eight nine"]


# ----- scoring by log-likelihood ------------------------------------------------------------------------------
class FavouriteToken(nn.Module):
    """A hand-built model: every position predicts ``favourite`` with high probability, the rest uniformly."""

    def __init__(self, vocab_size=8, favourite=2, block_size=32):
        super().__init__()
        self.config = GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=1, n_head=1, n_embd=4)
        self.favourite = favourite
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, idx, targets=None):
        logits = torch.zeros(*idx.shape, self.config.vocab_size)
        logits[..., self.favourite] = 5.0
        return logits + self.dummy, None


def letters(text):
    return [ord(c) - ord("a") for c in text if c != "\n"] or [0]


def test_scoring_picks_the_option_the_model_prefers():
    toy = FavouriteToken(favourite=2)  # likes "c"
    options = ["aaaa", "bbbb", "cccc", "dddd"]
    for scoring in ev.SCORINGS:
        assert ev.choose(toy, letters, "ab", options, scoring=scoring, suffix="") == 2
    options = ["ddcc", "abcd", "cccd", "cccc"]
    assert ev.choose(toy, letters, "ab", options, scoring="mean_token", suffix="") == 3


def test_sum_scoring_favours_short_options():
    toy = FavouriteToken(favourite=7)  # likes none of the letters used: every token costs the same
    options = ["aaaa", "bb", "cccccc", "ddd"]
    assert ev.choose(toy, letters, "a", options, scoring="sum", suffix="") == 1  # the shortest
    scores = ev.score_choices(toy, letters, [ev.QuizItem("a", tuple(options), 0, "")], suffix="")
    per_token = scores.scores("mean_token")[0]
    assert torch.allclose(per_token, per_token[0].expand(4))  # the mean removes the length bias


def test_sequence_log_probs_matches_token_log_probs():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=16)).eval()
    contexts = [[1, 2, 3], [4] * 20, [5, 6]]  # the second is longer than the window
    conts = [[7, 8], [9, 10, 11], [12]]
    out = ev.sequence_log_probs(model, contexts, conts, batch_size=2)
    for ctx, cont, got in zip(contexts, conts, out, strict=True):
        ref = decoding.token_log_probs(model, ctx, [cont])[0]
        assert torch.allclose(got, ref, atol=1e-5)
    with pytest.raises(ValueError, match="one context per continuation"):
        ev.sequence_log_probs(model, [[1]], [[1], [2]])
    with pytest.raises(ValueError, match="at least one token"):
        ev.sequence_log_probs(model, [[]], [[1]])
    with pytest.raises(ValueError, match="does not fit"):
        ev.sequence_log_probs(model, [[1]], [[1] * 17])
    with pytest.raises(ValueError, match="token ids"):
        ev.sequence_log_probs(model, [[1]], [[50]])


def test_scoring_rejects_bad_items():
    toy = FavouriteToken()
    with pytest.raises(ValueError, match="options is empty"):
        ev.choose(toy, letters, "ab", [])
    with pytest.raises(ValueError, match="at least two options"):
        ev.choose(toy, letters, "ab", ["a"])
    with pytest.raises(ValueError, match="same number"):
        ev.score_choices(toy, letters, [ev.QuizItem("a", ("b", "c"), 0, ""), ev.QuizItem("a", ("b", "c", "d"), 0, "")])
    with pytest.raises(ValueError, match="outside"):
        ev.score_choices(toy, letters, [ev.QuizItem("a", ("b", "c"), 2, "")])
    with pytest.raises(ValueError, match="option is empty"):
        ev.score_choices(toy, letters, [ev.QuizItem("a", ("b", ""), 0, "")])
    with pytest.raises(ValueError, match="no items"):
        ev.score_choices(toy, letters, [])
    scores = ev.score_choices(toy, letters, [ev.QuizItem("a", ("b", "c"), 0, "")])
    with pytest.raises(ValueError, match="scoring must be"):
        scores.scores("max")


# ----- classification -----------------------------------------------------------------------------------------
def test_shuffle_words_keeps_the_surface_cues():
    rng = random.Random(0)
    for line in ["God willing, shall not lack. Let us go in together;", "To be, or not to be, that is the question:",
                 "And so I bid you all good night"]:
        out = ev.shuffle_words(line, rng)
        assert out != line
        assert out.split(" ")[0] == line.split(" ")[0]  # first word in place
        if line[-1] in ",.;:!?":
            assert out[-1] == line[-1]  # final punctuation in place
        assert sorted(out.replace(";", "").replace(":", "")) == sorted(line.replace(";", "").replace(":", ""))
    assert ev.shuffle_words("Ay, ay.", rng) == "Ay, ay."  # nothing to shuffle
    line = "Sir, I will leave, and so, good night."
    for _ in range(20):  # punctuation keeps its slots: no "leave,." or "night,,"
        out = ev.shuffle_words(line, rng)
        assert re.sub(r"[\w']+", "w", out) == re.sub(r"[\w']+", "w", line)
        assert sorted(re.findall(r"[\w']+", out)) == sorted(re.findall(r"[\w']+", line))  # the same words
    out = ev.shuffle_words("Go to, sirrah. Take this letter to my lord, and hie thee.", rng)
    assert out.split(" ")[3] == "Take"  # the word that starts a sentence stays in place


def test_classifier_pooling_and_padding():
    torch.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=20, block_size=16, n_layer=1, n_head=2, n_embd=8)).eval()
    for pooling in ("mean", "last"):
        clf = ev.GPTClassifier(gpt, 3, pooling=pooling).eval()
        short, padded = ev.pad_batch([[1, 2, 3]]), ev.pad_batch([[1, 2, 3], [4, 5, 6, 7, 8]])
        with torch.no_grad():
            a = clf(*short)[0]
            b = clf(*padded)[0]
        assert torch.allclose(a, b, atol=1e-6)  # padding never changes a shorter sequence's scores
    clf = ev.GPTClassifier(gpt, 2, pooling="last")
    idx, mask = ev.pad_batch([[1, 2, 3]])
    hidden = {}
    hook = gpt.ln_f.register_forward_hook(lambda m, i, o: hidden.setdefault("h", o))
    gpt(idx)
    hook.remove()
    assert torch.allclose(clf.features(idx, mask), hidden["h"][:, 2], atol=1e-6)
    with pytest.raises(ValueError, match="n_classes"):
        ev.GPTClassifier(gpt, 1)
    with pytest.raises(ValueError, match="pooling"):
        ev.GPTClassifier(gpt, 2, pooling="max")
    with pytest.raises(ValueError, match="both be"):
        clf(idx, mask[:, :2])
    with pytest.raises(ValueError, match="at least one token"):
        ev.pad_batch([[1], []])


def test_fine_tune_learns_an_easy_task():
    torch.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=16))
    clf = ev.GPTClassifier(gpt, 2, pooling="mean")
    seqs = [[1, 1, 1], [2, 2, 2, 2], [1, 3, 1], [2, 3, 2, 2]] * 4
    labels = [0, 1, 0, 1] * 4
    losses = ev.fine_tune(clf, seqs, labels, steps=60, batch_size=8, lr=3e-3, seed=0)
    assert losses[-1] < losses[0] / 3
    assert ev.classify(clf, seqs).tolist() == labels
    with pytest.raises(ValueError, match="one label per sequence"):
        ev.fine_tune(clf, seqs, labels[:-1], steps=1)
    with pytest.raises(ValueError, match="labels must lie"):
        ev.fine_tune(clf, seqs, [2] * len(seqs), steps=1)
    with pytest.raises(ValueError, match="no sequences"):
        ev.classify(clf, [])


# ----- arithmetic ---------------------------------------------------------------------------------------------
def test_arithmetic_problems_are_correct():
    rng = random.Random(0)
    for n_steps in (1, 2, 3, 4):
        for _ in range(50):
            p = ev.arithmetic_problem(rng, n_steps)
            assert eval(p.question[:-1]) == p.answer  # noqa: S307 (digits and + - only)
            assert sum(p.question.count(op) for op in "+-") == n_steps == p.n_steps
            rows = p.worked.split("=")
            assert len(rows) == n_steps and rows[-1] == str(p.answer)
            assert all(eval(r) == p.answer for r in rows)  # noqa: S307 (every row has the same value)
            numbers = [int(x) for x in p.question[:-1].replace("-", "+").split("+")]
            assert all(0 <= x <= 9 for x in numbers) and 0 <= p.answer <= 9  # bounded: small numbers
            assert p.text == p.question + p.worked + "\n"
    p = ev.arithmetic_problem(random.Random(1), 3, max_operand=20, ops="*", bounded=False)
    assert eval(p.question[:-1]) == p.answer  # noqa: S307


def test_arithmetic_problem_sets():
    a = ev.arithmetic_problems(50, 2, seed=5)
    assert a == ev.arithmetic_problems(50, 2, seed=5)
    assert len({p.question for p in a}) == 50
    b = ev.arithmetic_problems(50, 2, seed=6, exclude={p.question for p in a})
    assert not {p.question for p in a} & {p.question for p in b}
    ones = ev.arithmetic_problems(110, 1, seed=0)  # every bounded one-step problem: 55 sums + 55 differences
    assert len({p.question for p in ones}) == 110
    with pytest.raises(ValueError, match="could not find"):
        ev.arithmetic_problems(111, 1, seed=0)
    with pytest.raises(ValueError, match="n_steps"):
        ev.arithmetic_problem(random.Random(0), 0)
    with pytest.raises(ValueError, match="ops"):
        ev.arithmetic_problem(random.Random(0), 1, ops="/")


@pytest.mark.parametrize("prediction,expected", [
    ("7-2=5\n", True), ("7-2= 5", True), ("7-2=+05", True), ("5", True), ("12-7=5\nnonsense=3", True),
    ("7-2=4", False), ("7-2=", False), ("7-2=5.0", False), ("", False), ("7-2=-5", False), ("=55", False),
])
def test_exact_match_normalisation(prediction, expected):
    assert ev.exact_match(prediction, 5) is expected


def test_final_answer():
    assert ev.final_answer("3+4=7") == "7"
    assert ev.final_answer("-0") == "0"
    assert ev.final_answer("x=abc") is None
    assert ev.exact_match("1-3=-2", -2)
    with pytest.raises(ValueError, match="not an integer"):
        ev.exact_match("5", "five")
