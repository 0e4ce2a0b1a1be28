"""Evaluating language models (notebook 13): error bars, quizzes, classification, exact match.

- ``wilson_interval``, ``bootstrap_interval``, ``difference_interval``: confidence intervals (信頼区間) for an
  accuracy and for a difference of two (paired or not); scores are never reported bare.
- ``speeches``, ``dialogue_lines``: the speeches and spoken lines of a play in the corpus layout (a speaker line
  such as ``HAMLET.`` or ``Ham.`` after a blank line, then the lines of the speech).
- ``next_line_quiz``: an MMLU-style four-option quiz made from plays with a fixed seed ("which line comes
  next?"), never using a line that appears in a given training text (``LeakageChecker``: after ``normalise``, and
  n-word runs shared with the training text).
- ``sequence_log_probs``, ``score_choices``, ``choose``: multiple choice scored by log-likelihood, with the
  three usual scorings (sum, mean per token, mean per character).
- ``GPTClassifier``, ``fine_tune``, ``classify``: a classification head on the course GPT (GLUE-style
  fine-tuning), ``shuffle_words`` for the word-order (acceptability) task.
- ``arithmetic_problem``, ``arithmetic_problems``, ``final_answer``, ``exact_match``: MATH-style exact match on
  generated arithmetic with worked steps.

The FLASK-style skill profile of generated text (automatic measures and their radar chart) is in
``helpers.skill_profile``.

Models are anything called as ``model(idx) -> (logits, loss)`` with ``idx`` (B, T) token ids and a
``config.block_size`` and ``config.vocab_size`` (the course GPT).
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from helpers.decoding import token_log_probs

SCORINGS = ("sum", "mean_token", "mean_char")


# ----- confidence intervals -----------------------------------------------------------------------------------
def _check_confidence(confidence: float) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be a number strictly between 0 and 1 (e.g. 0.95), got {confidence!r}")
    return float(confidence)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval (Wilson 1927) for a proportion: ``successes`` out of ``n`` trials.

    Returns (low, high) with 0 <= low <= successes / n <= high <= 1. Unlike the textbook interval
    p +- z sqrt(p (1 - p) / n), it never leaves [0, 1] and is not of width 0 at p = 0 or 1:
    centre = (p + z^2 / 2n) / (1 + z^2 / n), half-width = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2).
    """
    for name, value in (("successes", successes), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int (a count), got {type(value).__name__}")
    if n < 1:
        raise ValueError(f"n must be at least 1 (no trials, no interval), got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in [0, n] = [0, {n}], got {successes}")
    z = NormalDist().inv_cdf(0.5 + _check_confidence(confidence) / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if successes == 0 else min(p, centre - half)  # exact ends: rounding must not leave [0, 1] or miss p
    high = 1.0 if successes == n else max(p, centre + half)
    return low, high


def bootstrap_interval(values, confidence: float = 0.95, n_resamples: int = 2000,
                       seed: int = 0, groups=None) -> tuple[float, float]:
    """Percentile bootstrap interval for the mean of ``values`` (e.g. 0/1 correctness): resample with replacement
    ``n_resamples`` times (NumPy generator seeded with ``seed``) and take the middle ``confidence`` of the means.

    ``groups``: one label per value, for values that come in dependent groups (several texts sampled from one
    prompt, several questions about one passage). Then whole groups are resampled (a cluster bootstrap: draw as
    many groups as there are, with replacement) and each resample's statistic is the mean of all values in the
    drawn groups. With one group per value this is the plain bootstrap. Treating dependent values as independent
    makes the interval too narrow; the cluster bootstrap's width rests on the number of groups, so with few
    groups (below about 10) it is rough and tends to be too narrow itself.

    If every value is equal, the interval has zero width: the bootstrap cannot show variation that the sample
    does not contain (it says nothing about how the score would vary on new items)."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence of numbers, got shape {x.shape}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    alpha = 1 - _check_confidence(confidence)
    rng = np.random.default_rng(seed)
    if groups is None:
        means = x[rng.integers(0, x.size, size=(n_resamples, x.size))].mean(axis=1)
    else:
        g = np.asarray(groups)
        if g.shape != x.shape:
            raise ValueError(f"groups must give one label per value: {g.shape} labels for {x.shape} values")
        _, inverse = np.unique(g, return_inverse=True)
        sums = np.bincount(inverse, weights=x)  # (G,) total of each group
        counts = np.bincount(inverse).astype(float)  # (G,) size of each group
        if sums.size < 2:
            raise ValueError("a cluster bootstrap needs at least 2 groups (one group cannot be resampled)")
        draw = rng.integers(0, sums.size, size=(n_resamples, sums.size))  # (n_resamples, G) group indices
        means = sums[draw].sum(axis=1) / counts[draw].sum(axis=1)
    return float(np.quantile(means, alpha / 2)), float(np.quantile(means, 1 - alpha / 2))


def difference_interval(a, b, paired: bool, confidence: float = 0.95, n_resamples: int = 2000,
                        seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval for mean(a) - mean(b), e.g. two accuracies from 0/1 correctness values.

    ``paired=True``: ``a`` and ``b`` are scores of the same items (two scorings of one quiz), so items are
    resampled together and the interval is that of the mean per-item difference (usually much narrower).
    ``paired=False``: two independent samples (two different quizzes), resampled separately."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.ndim != 1 or y.ndim != 1 or x.size == 0 or y.size == 0:
        raise ValueError(f"a and b must be non-empty 1-D sequences of numbers, got shapes {x.shape} and {y.shape}")
    if paired:
        if x.size != y.size:
            raise ValueError(f"paired samples need the same length (one pair per item), got {x.size} and {y.size}")
        return bootstrap_interval(x - y, confidence, n_resamples, seed)
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    alpha = 1 - _check_confidence(confidence)
    rng = np.random.default_rng(seed)
    diffs = (x[rng.integers(0, x.size, size=(n_resamples, x.size))].mean(axis=1)
             - y[rng.integers(0, y.size, size=(n_resamples, y.size))].mean(axis=1))
    return float(np.quantile(diffs, alpha / 2)), float(np.quantile(diffs, 1 - alpha / 2))


def format_score(successes: int, n: int, confidence: float = 0.95) -> str:
    """``'0.623 [0.561, 0.682] (n=250)'``: an accuracy with its Wilson interval and sample size."""
    lo, hi = wilson_interval(successes, n, confidence)
    return f"{successes / n:.3f} [{lo:.3f}, {hi:.3f}] (n={n})"


# ----- the plays' layout --------------------------------------------------------------------------------------
_SPEAKER = re.compile(r"^[A-Z][A-Za-z'\-]*(?: [A-Za-z'\-]+){0,3}\.$")


def is_speaker_line(line: str) -> bool:
    """True for a speaker label of the corpus layout: 1-4 words starting with a capital, ending in a full stop
    (``HAMLET.``, ``Ham.``, ``First Clown.``)."""
    return bool(_SPEAKER.match(line.strip()))


def speeches(text: str) -> list[tuple[str, list[str]]]:
    """The speeches of a play: ``[(speaker, [line, ...]), ...]`` in order.

    A speech is a speaker label (``is_speaker_line``) right after a blank line (or at the start), followed by
    the lines up to the next blank line. Stage directions (lines starting with ``[``) are left out; lines are
    stripped of surrounding spaces. Text before the first speaker label (title, cast list) is ignored.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    out: list[tuple[str, list[str]]] = []
    previous_blank, current = True, None
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            previous_blank, current = True, None
            continue
        if previous_blank and is_speaker_line(line):
            current = (line[:-1], [])
            out.append(current)
        elif current is not None and not line.startswith("["):
            current[1].append(line)
        previous_blank = False
    return [(s, lines) for s, lines in out if lines]


def dialogue_lines(text: str) -> list[str]:
    """Every spoken line of a play (the lines of all its speeches), in order."""
    return [line for _, lines in speeches(text) for line in lines]


_NON_WORD = re.compile(r"[^\w']+|(?<!\w)'|'(?!\w)")


def normalise(text: str) -> str:
    """Lowercase ``text``, turn every run of punctuation and whitespace into one space (apostrophes inside words
    stay: ``o'er``), and strip the ends: ``"Soft, who comes here?"`` -> ``"soft who comes here"``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


class LeakageChecker:
    """Tells whether a string occurs in one or more training texts, after ``normalise`` on both sides (so
    "Fare you well, my lord." is caught when the training text has "Fare you well, my Lord!"), as a run of whole
    words; ``shared_runs`` finds the runs of ``n`` consecutive words a text shares with the training text.

    >>> seen = LeakageChecker([load_corpus("modern", "train"), load_corpus("folio", "train")])
    >>> seen("To be, or not to be")   # True if any training text contains it (normalised)
    Answers are cached, so asking twice about a line costs nothing.
    """

    def __init__(self, texts, n: int = 8):
        if isinstance(texts, str):
            texts = [texts]
        self.texts = list(texts)
        if not self.texts or not all(isinstance(t, str) and t for t in self.texts):
            raise ValueError("give at least one non-empty training text (a str or a list of str)")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n (words per run) must be an int >= 1, got {n!r}")
        self.n = n
        self._normal = [" " + normalise(t) + " " for t in self.texts]  # spaces: match whole words only
        self._cache: dict[str, bool] = {}
        self._runs: set[int] | None = None  # hashes of the training text's n-word runs, built on first use

    def __call__(self, line: str) -> bool:
        if line not in self._cache:
            key = normalise(line)
            self._cache[line] = bool(key) and any(" " + key + " " in t for t in self._normal)
        return self._cache[line]

    def _word_runs(self, words: list[str]) -> list[tuple[str, ...]]:
        return [tuple(words[i:i + self.n]) for i in range(len(words) - self.n + 1)]

    def shared_runs(self, text: str) -> list[str]:
        """The runs of ``n`` consecutive words of ``normalise(text)`` that also occur in a training text (as
        normalised strings, in order; empty when there are none or ``text`` has fewer than ``n`` words)."""
        if self._runs is None:
            self._runs = set()
            for t in self._normal:
                words = t.split()
                self._runs.update(hash(tuple(words[i:i + self.n])) for i in range(len(words) - self.n + 1))
        candidates = [" ".join(run) for run in self._word_runs(normalise(text).split()) if hash(run) in self._runs]
        return [run for run in candidates if any(" " + run + " " in t for t in self._normal)]  # no hash collisions


# ----- the multiple-choice quiz -------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuizItem:
    """One multiple-choice item: the ``question`` text (a speaker label and the lines before the answer), the
    ``options`` (one of them the line that really came next), the ``answer`` index into ``options``, and the
    ``work`` it was made from."""

    question: str
    options: tuple[str, ...]
    answer: int
    work: str

    def lines(self) -> list[str]:
        """The text shown to the model, for leakage checks: the question's lines after its speaker label (a name,
        which recurs across plays) and every option, stripped of surrounding spaces."""
        question = [line.strip() for line in self.question.split("\n") if line.strip()]
        return question[1:] + [option.strip() for option in self.options]


def _halves(line: str) -> tuple[str, str]:
    """Split a line at the space nearest its middle: ('I cannot live', ' to hear the news')."""
    spaces = [i for i, c in enumerate(line) if c == " "]
    cut = min(spaces, key=lambda i: abs(i - len(line) / 2))
    return line[:cut], line[cut:]


def next_line_quiz(texts: dict[str, str], n_items: int, seed: int = 0, n_options: int = 4,
                   context_lines: int = 2, min_chars: int = 20, seen=None, half: bool = False) -> list[QuizItem]:
    """An MMLU-style quiz: "which of these lines comes next?".

    texts: ``{work: text}`` (e.g. ``load_texts(split="validation")``). Each item takes a speech with at least
    ``context_lines + 1`` lines from a work, shows its speaker label and ``context_lines`` consecutive lines as
    the question, and offers the line that really follows plus ``n_options - 1`` lines drawn from elsewhere in
    the same work (all distinct, all at least ``min_chars`` characters). The right answer's position is drawn
    uniformly. ``half=True``: the question also holds the first half of the answer line (cut at the space
    nearest its middle) and the options are second halves of lines. ``seen`` (a function line -> bool, e.g. a
    ``LeakageChecker`` on the training text): no question line or option (``QuizItem.lines()``, and with
    ``half`` also the full lines they come from) for which it says True is used. Works take turns, so each
    contributes about equally.
    Deterministic for a given ``seed``. Raises ValueError if the works cannot supply ``n_items`` items.
    """
    if isinstance(n_items, bool) or not isinstance(n_items, int) or n_items < 1:
        raise ValueError(f"n_items must be an int >= 1, got {n_items!r}")
    if n_options < 2:
        raise ValueError(f"n_options must be at least 2, got {n_options}")
    if context_lines < 1:
        raise ValueError(f"context_lines must be at least 1, got {context_lines}")
    if not texts:
        raise ValueError("texts is empty: give {work: text} for at least one play")
    seen = seen or (lambda line: False)
    rng = random.Random(seed)
    pools = {}
    for work in sorted(texts):
        sp = speeches(texts[work])
        lines = sorted({line for _, ls in sp for line in ls if len(line) >= min_chars})
        spots = [(s, i) for s, (_, ls) in enumerate(sp) for i in range(context_lines, len(ls))
                 if len(ls[i]) >= min_chars]
        rng.shuffle(spots)
        pools[work] = (sp, lines, spots)
    items: list[QuizItem] = []
    used: set[str] = set()  # each true answer at most once
    works = sorted(pools)
    turn = 0
    while len(items) < n_items:
        live = [w for w in works if pools[w][2]]
        if not live:
            raise ValueError(f"the texts give only {len(items)} quiz items, fewer than the {n_items} asked for")
        work = live[turn % len(live)]
        turn += 1
        sp, lines, spots = pools[work]
        s, i = spots.pop()
        speaker, ls = sp[s]
        context, right = ls[i - context_lines:i], ls[i]
        if right in used or seen(right) or any(seen(c) for c in context):
            continue
        wrong: list[str] = []
        for _ in range(50 * n_options):
            cand = lines[rng.randrange(len(lines))]
            if cand != right and cand not in wrong and cand not in context and not seen(cand):
                wrong.append(cand)
                if len(wrong) == n_options - 1:
                    break
        if len(wrong) < n_options - 1:
            continue
        answer = rng.randrange(n_options)
        question = speaker + ".\n" + "\n".join(context) + "\n"
        if half:  # the question ends mid-line; the options are second halves of lines
            first, right = _halves(right)
            wrong = [_halves(w)[1] for w in wrong]
            question += first
            if len({right, *wrong}) < n_options or any(seen(x.strip()) for x in (first, right, *wrong)):
                continue
        options = wrong[:answer] + [right] + wrong[answer:]
        items.append(QuizItem(question, tuple(options), answer, work))
        used.add(right)
    return items


# ----- scoring by log-likelihood ------------------------------------------------------------------------------
@torch.no_grad()
def sequence_log_probs(model, contexts: list[list[int]], continuations: list[list[int]],
                       batch_size: int = 64) -> list[torch.Tensor]:
    """log P(token | what comes before) for every token of each continuation, after its context.

    contexts, continuations: N lists of token ids (each context non-empty, each continuation non-empty; lengths
    may differ). Sequences that fit the context window are right-padded into batches, so padding never affects a
    real token (the model is causal); longer ones are scored like ``helpers.decoding.token_log_probs``: each token
    sees the last ``block_size`` tokens before it (the sliding window of generation). A continuation must fit the
    window. Returns N 1-D tensors: entry i has ``len(continuations[i])`` log-probabilities.
    """
    if len(contexts) != len(continuations):
        raise ValueError(f"need one context per continuation, got {len(contexts)} and {len(continuations)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    bs, V = model.config.block_size, model.config.vocab_size
    rows = []
    for ctx, cont in zip(contexts, continuations, strict=True):
        ctx, cont = [int(t) for t in ctx], [int(t) for t in cont]
        if not ctx or not cont:
            raise ValueError("every context and every continuation needs at least one token")
        if len(cont) > bs:
            raise ValueError(f"a continuation of {len(cont)} tokens does not fit the context window ({bs})")
        if min(ctx + cont) < 0 or max(ctx + cont) >= V:
            raise ValueError(f"token ids must lie in [0, {V})")
        rows.append((ctx, cont))
    device = next(model.parameters()).device
    out: list[torch.Tensor] = [torch.empty(0)] * len(rows)
    fits = [i for i, (ctx, cont) in enumerate(rows) if len(ctx) + len(cont) - 1 <= bs]
    for i in sorted(set(range(len(rows))) - set(fits)):  # too long for one pass: token by token, sliding window
        out[i] = token_log_probs(model, rows[i][0], [rows[i][1]])[0]
    order = sorted(fits, key=lambda i: len(rows[i][0]) + len(rows[i][1]))  # similar lengths together
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        seqs = [rows[i][0] + rows[i][1] for i in chunk]
        T = max(len(s) for s in seqs) - 1
        idx = torch.zeros(len(seqs), T, dtype=torch.long)  # (B, T) inputs, right-padded with token 0
        for r, s in enumerate(seqs):
            idx[r, :len(s) - 1] = torch.tensor(s[:-1])
        logp = model(idx.to(device))[0].float().log_softmax(-1).cpu()  # (B, T, V)
        for r, i in enumerate(chunk):
            ctx, cont = rows[i]
            pos = torch.arange(len(ctx) - 1, len(ctx) - 1 + len(cont))  # positions predicting the continuation
            out[i] = logp[r, pos, torch.tensor(cont)]
    return out


@dataclass
class ChoiceScores:
    """Per item and option: summed log-probability ``log_prob`` (N, K), token counts ``n_tokens`` (N, K) and
    character counts ``n_chars`` (N, K); ``answers`` (N,) the right options."""

    log_prob: torch.Tensor
    n_tokens: torch.Tensor
    n_chars: torch.Tensor
    answers: torch.Tensor

    def scores(self, scoring: str = "sum") -> torch.Tensor:
        """(N, K) scores: ``sum`` log-probability, its ``mean_token`` (per token) or ``mean_char`` (per char)."""
        if scoring not in SCORINGS:
            raise ValueError(f"scoring must be one of {', '.join(SCORINGS)}, got {scoring!r}")
        if scoring == "sum":
            return self.log_prob
        return self.log_prob / (self.n_tokens if scoring == "mean_token" else self.n_chars)

    def predictions(self, scoring: str = "sum") -> torch.Tensor:
        """(N,) the option with the highest score for each item (ties: the first)."""
        return self.scores(scoring).argmax(dim=1)

    def correct(self, scoring: str = "sum") -> torch.Tensor:
        """(N,) bools: did the highest-scoring option match the answer?"""
        return self.predictions(scoring) == self.answers


def score_choices(model, encode, items: list[QuizItem], suffix: str = "\n", batch_size: int = 64) -> ChoiceScores:
    """Score every option of every item by the model's log-likelihood of ``option + suffix`` after the question.

    encode: text -> token ids (e.g. ``tok.encode``). The options' texts are scored as continuations of the
    question, zero-shot, the way GPT-3 scored most multiple-choice tasks and lm-evaluation-harness scores HellaSwag-
    and ARC-style tasks (its ``acc`` uses the sum, ``acc_norm`` divides by the option's length in characters).
    MMLU's own protocol (the paper, and the harness's default ``mmlu`` task) lists the options lettered A-D and
    scores the letters instead. Returns ``ChoiceScores``.
    """
    if not items:
        raise ValueError("no items to score")
    K = len(items[0].options)
    contexts, conts, chars = [], [], []
    for item in items:
        if len(item.options) != K or K < 2:
            raise ValueError(f"every item needs the same number (>= 2) of options, got {len(item.options)} and {K}")
        if not 0 <= item.answer < K:
            raise ValueError(f"answer index {item.answer} is outside 0..{K - 1}")
        q = encode(item.question)
        for option in item.options:
            if not option:
                raise ValueError("an option is empty: every option needs some text")
            contexts.append(q)
            conts.append(encode(option + suffix))
            chars.append(len(option + suffix))
    lp = sequence_log_probs(model, contexts, conts, batch_size)
    N = len(items)
    return ChoiceScores(log_prob=torch.stack([t.sum() for t in lp]).view(N, K).double(),
                        n_tokens=torch.tensor([len(c) for c in conts], dtype=torch.float64).view(N, K),
                        n_chars=torch.tensor(chars, dtype=torch.float64).view(N, K),
                        answers=torch.tensor([item.answer for item in items]))


def choose(model, encode, question: str, options: list[str], scoring: str = "sum", suffix: str = "\n") -> int:
    """The index of the option the model finds most likely after ``question`` (one item; see ``score_choices``)."""
    if not options:
        raise ValueError("options is empty: give at least two options")
    if len(options) < 2:
        raise ValueError(f"give at least two options, got {len(options)}")
    item = QuizItem(question, tuple(options), 0, "")
    return int(score_choices(model, encode, [item], suffix).predictions(scoring)[0])


# ----- classification by fine-tuning (GLUE-style) -------------------------------------------------------------
_PUNCT_SLOTS = re.compile(r"^([^\w']*)(.*?)([^\w']*)$")


def shuffle_words(line: str, rng: random.Random) -> str:
    """The line with its words (split on spaces) in a new random order, keeping the surface cues in place: the
    first word and every word after a sentence end (``.``, ``!``, ``?``), so the capitals that start a verse line
    or a sentence give nothing away, and every punctuation slot (``"leave, sir."``: only the cores ``leave`` and
    ``sir`` move, the comma and full stop stay where they were), so a shuffled line has exactly the line's words
    and punctuation marks in the line's positions. Lines with fewer than 2 different movable word cores are
    returned as they are; otherwise the result always differs from the line."""
    words = line.split(" ")
    parts = [_PUNCT_SLOTS.match(w).groups() for w in words[1:]]  # (leading punctuation, core, trailing)
    ends = [re.search(r"[.!?]", w) is not None for w in words]  # does word i end a sentence?
    slots = [i for i, (_, core, _) in enumerate(parts) if core and not ends[i]]  # ends[i]: the word before
    cores = [parts[i][1] for i in slots]
    if len(set(cores)) < 2:
        return line
    while True:
        shuffled = rng.sample(cores, len(cores))
        if shuffled != cores:
            break
    new = [list(p) for p in parts]
    for i, core in zip(slots, shuffled, strict=True):
        new[i][1] = core
    return " ".join([words[0], *("".join(p) for p in new)])


def pad_batch(seqs: list[list[int]], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad token-id lists into ``idx`` (B, T) and a 0/1 float ``mask`` (B, T) marking real tokens."""
    if not seqs or any(len(s) == 0 for s in seqs):
        raise ValueError("need at least one sequence, each with at least one token")
    T = max(len(s) for s in seqs)
    idx = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    mask = torch.zeros(len(seqs), T)
    for r, s in enumerate(seqs):
        idx[r, :len(s)] = torch.as_tensor(s)
        mask[r, :len(s)] = 1.0
    return idx, mask


class GPTClassifier(nn.Module):
    """A classification head on the course GPT: pool the final hidden states (after ``ln_f``) into one vector,
    then a Linear layer to ``n_classes`` logits.

    pooling: ``"mean"`` (average over the real tokens) or ``"last"`` (the last real token, which has seen the
    whole text through causal attention). The GPT's language-model head is computed but not used; the hidden
    states are read with a forward hook on ``gpt.ln_f``, so any model with that layer works.
    ``forward(idx (B, T), mask (B, T)) -> logits (B, n_classes)``.
    """

    def __init__(self, gpt: nn.Module, n_classes: int, pooling: str = "mean"):
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {n_classes}")
        if pooling not in ("mean", "last"):
            raise ValueError(f"pooling must be 'mean' or 'last', got {pooling!r}")
        self.gpt, self.pooling = gpt, pooling
        self.head = nn.Linear(gpt.config.n_embd, n_classes)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def features(self, idx: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, n_embd) pooled hidden states."""
        if idx.shape != mask.shape or idx.dim() != 2:
            raise ValueError(f"idx and mask must both be (B, T), got {tuple(idx.shape)} and {tuple(mask.shape)}")
        if bool((mask.sum(1) == 0).any()):
            raise ValueError("every row of mask needs at least one real token")
        grabbed = {}
        handle = self.gpt.ln_f.register_forward_hook(lambda mod, inp, out: grabbed.setdefault("h", out))
        try:
            self.gpt(idx)
        finally:
            handle.remove()
        h = grabbed["h"]  # (B, T, C)
        m = mask.to(h.dtype)[..., None]  # (B, T, 1)
        if self.pooling == "mean":
            return (h * m).sum(1) / m.sum(1)  # (B, C)
        last = mask.sum(1).long() - 1  # (B,) index of the last real token
        return h[torch.arange(h.shape[0]), last]  # (B, C)

    def forward(self, idx: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(idx, mask))  # (B, n_classes)


def fine_tune(clf: GPTClassifier, seqs: list[list[int]], labels: list[int], steps: int, batch_size: int = 16,
              lr: float = 1e-4, head_lr: float | None = None, weight_decay: float = 0.01, seed: int = 0,
              progress: bool = False) -> list[float]:
    """Train ``clf`` (all its weights) with AdamW on cross-entropy for ``steps`` steps of ``batch_size`` examples
    drawn (seeded) from ``seqs`` (token-id lists) and ``labels`` (class ids). ``head_lr`` (default ``lr``) is the
    head's learning rate. Returns the loss of each step. Leaves ``clf`` in eval mode.
    """
    if len(seqs) != len(labels) or not seqs:
        raise ValueError(f"need one label per sequence and at least one of each, got {len(seqs)} and {len(labels)}")
    n_classes = clf.head.out_features
    if min(labels) < 0 or max(labels) >= n_classes:
        raise ValueError(f"labels must lie in [0, {n_classes}), got {min(labels)}..{max(labels)}")
    if steps < 0 or batch_size < 1 or lr <= 0:
        raise ValueError(f"need steps >= 0, batch_size >= 1 and lr > 0, got {steps}, {batch_size}, {lr}")
    head_params = list(clf.head.parameters())
    body = [p for n, p in clf.named_parameters() if not n.startswith("head.")]
    opt = torch.optim.AdamW([{"params": body, "lr": lr}, {"params": head_params, "lr": head_lr or lr}],
                            weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    y_all = torch.tensor(labels)
    device = next(clf.parameters()).device
    losses = []
    clf.train()
    bar = range(steps)
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(bar, desc="fine-tuning")
    for _ in bar:
        pick = torch.randint(0, len(seqs), (batch_size,), generator=gen).tolist()
        idx, mask = pad_batch([seqs[i] for i in pick])
        loss = F.cross_entropy(clf(idx.to(device), mask.to(device)), y_all[pick].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(clf.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    clf.eval()
    return losses


@torch.no_grad()
def classify(clf: GPTClassifier, seqs: list[list[int]], batch_size: int = 64) -> torch.Tensor:
    """(N,) predicted class of each token-id list (in eval mode: no dropout)."""
    if not seqs:
        raise ValueError("no sequences to classify")
    clf.eval()
    device = next(clf.parameters()).device
    preds = []
    for start in range(0, len(seqs), batch_size):
        idx, mask = pad_batch(seqs[start:start + batch_size])
        preds.append(clf(idx.to(device), mask.to(device)).argmax(-1).cpu())
    return torch.cat(preds)


# ----- exact match on arithmetic (MATH-style) -----------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """An arithmetic problem: ``question`` (``"3+4-2="``), the ``worked`` solution the model should write
    (``"7-2=5"``: each step rewrites the expression with its first operation done), the ``answer`` and the
    number of operations ``n_steps``. ``text`` is a training example: question + worked + newline."""

    question: str
    worked: str
    answer: int
    n_steps: int

    @property
    def text(self) -> str:
        return self.question + self.worked + "\n"


def _fmt(terms: list[int], ops: list[str]) -> str:
    return str(terms[0]) + "".join(op + str(t) for op, t in zip(ops, terms[1:], strict=True))


def arithmetic_problem(rng: random.Random, n_steps: int, max_operand: int = 9, ops: str = "+-",
                       bounded: bool = True) -> Problem:
    """A random problem with ``n_steps`` operations on operands 0..``max_operand``, done left to right (only
    + and - by default, so left to right is also the usual order). The worked solution shows the expression
    after each step: ``3+4-2=`` -> ``7-2=5``. ``bounded``: every intermediate result and the answer also lie in
    0..``max_operand`` (problems are redrawn until they do), so every number is small (one digit by default)."""
    if n_steps < 1:
        raise ValueError(f"n_steps must be at least 1, got {n_steps}")
    if max_operand < 1:
        raise ValueError(f"max_operand must be at least 1, got {max_operand}")
    if not ops or any(op not in "+-*" for op in ops):
        raise ValueError(f"ops must be made of '+', '-' and '*', got {ops!r}")
    while True:
        terms = [rng.randint(0, max_operand) for _ in range(n_steps + 1)]
        chosen = [rng.choice(ops) for _ in range(n_steps)]
        question = _fmt(terms, chosen) + "="
        rows, values = [], []
        while chosen:
            a, b, op = terms[0], terms[1], chosen[0]
            value = a + b if op == "+" else a - b if op == "-" else a * b
            terms, chosen = [value] + terms[2:], chosen[1:]
            rows.append(_fmt(terms, chosen))
            values.append(value)
        if not bounded or all(0 <= v <= max_operand for v in values):
            return Problem(question, "=".join(rows), terms[0], n_steps)


def arithmetic_problems(n: int, n_steps: int, seed: int = 0, exclude=(), max_operand: int = 9,
                        ops: str = "+-", bounded: bool = True) -> list[Problem]:
    """``n`` distinct problems with ``n_steps`` operations (seeded), none whose question is in ``exclude``.
    Raises ValueError when fewer than ``n`` such problems exist."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    total = (max_operand + 1) ** (n_steps + 1) * len(set(ops)) ** n_steps
    excluded = set(exclude)
    if n > total:
        raise ValueError(f"only {total} different {n_steps}-step problems exist, {n} were asked for")
    rng = random.Random(seed)
    out, questions = [], set()
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 200 * (n + 10):
            raise ValueError(f"could not find {n} distinct {n_steps}-step problems outside exclude "
                             f"(only {total} exist)")
        p = arithmetic_problem(rng, n_steps, max_operand, ops, bounded)
        if p.question in questions or p.question in excluded:
            continue
        questions.add(p.question)
        out.append(p)
    return out


def final_answer(text: str) -> str | None:
    """The final answer in a generated solution: the text after the last ``=`` on the first line, without
    spaces, as a canonical integer string (``'+05'`` -> ``'5'``, ``'-0'`` -> ``'0'``); None if it is not an
    integer."""
    line = text.split("\n", 1)[0].replace(" ", "")
    tail = line.rsplit("=", 1)[-1]
    if not re.fullmatch(r"[+-]?\d+", tail):
        return None
    return str(int(tail))


def exact_match(prediction: str, answer) -> bool:
    """True when ``final_answer(prediction)`` equals ``answer`` (an int or integer string) exactly."""
    got = final_answer(prediction)
    want = final_answer(str(answer))
    if want is None:
        raise ValueError(f"the reference answer {answer!r} is not an integer")
    return got == want
