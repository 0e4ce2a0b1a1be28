"""Toy text-to-text tasks for multi-task training with task prefixes, T5-style (notebook 07, section 5.5).

T5 (Raffel et al. 2020, section 2.4) writes every task as text to text and names the task in a prefix of the input
("translate English to German: ...", "summarize: ..."); one model, one loss and one decoding procedure serve every
task, and tasks can be trained together by mixing their examples in one stream (section 3.5.2). Here three tasks
on short lists of distinct words, small enough for a tiny model on a CPU and scored by exact match:

- ``reverse: king love night`` -> `` night love king`` (the words in reverse order);
- ``sort: king love night`` -> `` king love night`` (in alphabetical order);
- ``count: king love night`` -> `` three`` (how many words, as a word).

The pieces:

- ``WORDS``, ``NUMBER_WORDS``, ``TASKS``; ``answer`` and ``example`` (the source and target texts of one example);
- ``word_lists``: lists of distinct words drawn with a seed, never one in ``exclude`` (the held-out lists);
- ``mixed_stream``: an endless stream of (task, words) in which every block of ``len(tasks)`` examples holds each
  task once, in random order, so a batch of 60 holds 20 of each of 3 tasks. The proportions are those of T5's
  "equal mixing" (section 3.5.2), but stratified: T5 drew the task of each example at random;
- ``encode_batch``: token ids padded into tensors: the encoder input and its padding mask, the decoder input
  (the target shifted right behind a start token) and the labels (the target and an end token; -100 on padding);
- ``seq2seq_loss``: cross-entropy of a model ``model(src, dec_in, src_pad) -> logits`` on such a batch;
- ``greedy_decode``: the same decoding for every task: feed the start token, append the most likely token, stop
  at the end token; ``predict`` does it on texts and returns texts, ``exact_match`` scores them;
- ``chance_accuracy``: the exact-match accuracy of a guesser that knows what an answer looks like (any ordering
  of the input words; any possible count) but not the task's rule.

>>> source, target = example("sort", ["king", "love", "fool"])
>>> source, target
('sort: king love fool', ' fool king love')
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100  # label of positions the loss skips (cross_entropy's default ignore_index)

# Thirty nouns of the plays, each a single token of the course BPE tokenizer with a leading space (" king").
WORDS = ("king", "love", "night", "death", "heart", "blood", "honour", "world", "lord", "lady", "father",
         "brother", "wife", "son", "house", "head", "hand", "eyes", "life", "day", "time", "heaven", "sword",
         "crown", "queen", "fool", "grace", "peace", "war", "sun")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
TASKS: dict[str, Callable[[Sequence[str]], list[str]]] = {
    "reverse": lambda words: list(words)[::-1],
    "sort": lambda words: sorted(words),
    "count": lambda words: [NUMBER_WORDS[len(words)]],
}
MIN_WORDS, MAX_WORDS = 3, 6  # the lists have 3 to 6 words, each length equally likely

__all__ = ["IGNORE_INDEX", "WORDS", "NUMBER_WORDS", "TASKS", "MIN_WORDS", "MAX_WORDS", "answer", "example",
           "word_lists", "mixed_stream", "Seq2SeqBatch", "encode_batch", "seq2seq_loss", "greedy_decode",
           "predict", "exact_match", "chance_accuracy"]


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: choose one of {', '.join(TASKS)}")


def _check_words(words: Sequence[str]) -> None:
    if isinstance(words, str) or not all(isinstance(w, str) and w and " " not in w for w in words):
        raise TypeError(f"words must be a list of single words (strings without spaces), got {words!r}")
    if not MIN_WORDS <= len(words) <= len(NUMBER_WORDS) - 1:
        raise ValueError(f"a word list needs {MIN_WORDS} to {len(NUMBER_WORDS) - 1} words, got {len(words)}")
    if len(set(words)) != len(words):
        raise ValueError(f"the words of a list must be distinct (sorting ties are not defined here), got {words!r}")


def answer(task: str, words: Sequence[str]) -> list[str]:
    """The answer of ``task`` for ``words``, as a list of words: ``answer("reverse", ["a", "b", "c"])`` is
    ``["c", "b", "a"]``."""
    _check_task(task)
    _check_words(words)
    return TASKS[task](words)


def example(task: str, words: Sequence[str]) -> tuple[str, str]:
    """(source text, target text) of one example: ``("reverse: king love night", " night love king")``.

    The prefix names the task; every word, in the source and the target, follows a space, so that it is the same
    token of the course tokenizer wherever it stands."""
    return f"{task}:" + "".join(" " + w for w in words), "".join(" " + w for w in answer(task, words))


def _check_lengths(min_len: int, max_len: int, vocabulary: Sequence[str]) -> None:
    if not MIN_WORDS <= min_len <= max_len <= len(NUMBER_WORDS) - 1:
        raise ValueError(f"need {MIN_WORDS} <= min_len <= max_len <= {len(NUMBER_WORDS) - 1}, "
                         f"got min_len={min_len}, max_len={max_len}")
    if len(set(vocabulary)) < max_len:
        raise ValueError(f"the vocabulary has {len(set(vocabulary))} distinct words, fewer than max_len={max_len}")


def _draw(rng: random.Random, vocabulary: Sequence[str], min_len: int, max_len: int) -> tuple[str, ...]:
    return tuple(rng.sample(list(vocabulary), rng.randint(min_len, max_len)))  # distinct words, uniform length


def word_lists(n: int, seed: int = 0, vocabulary: Sequence[str] = WORDS, min_len: int = MIN_WORDS,
               max_len: int = MAX_WORDS, exclude: Iterable[tuple[str, ...]] = ()) -> list[tuple[str, ...]]:
    """``n`` different lists of distinct words (tuples), each of a length drawn uniformly from
    [min_len, max_len], drawn with Python's ``random.Random(seed)``; none is in ``exclude``."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    _check_lengths(min_len, max_len, vocabulary)
    rng, banned, out = random.Random(seed), set(map(tuple, exclude)), []
    seen: set[tuple[str, ...]] = set()
    possible = sum(math.perm(len(set(vocabulary)), k) for k in range(min_len, max_len + 1))
    if n > possible - len(banned):
        raise ValueError(f"asked for {n} different lists, but only {possible} exist, {len(banned)} of them excluded")
    while len(out) < n:
        words = _draw(rng, vocabulary, min_len, max_len)
        if words not in banned and words not in seen:
            seen.add(words)
            out.append(words)
    return out


def mixed_stream(tasks: Sequence[str], seed: int = 0, vocabulary: Sequence[str] = WORDS, min_len: int = MIN_WORDS,
                 max_len: int = MAX_WORDS, exclude: Iterable[tuple[str, ...]] = ()) -> Iterator[tuple[str, tuple]]:
    """An endless stream of training examples (task, words) for the given tasks, mixed equally: each block of
    ``len(tasks)`` consecutive examples holds every task once, in a random order. The words of each example are
    drawn afresh (``random.Random(seed)``) and never form a list in ``exclude``.

    With one task this is that task's own stream: a single-task model and a multi-task model see the same kind
    of example, only the mixture differs."""
    if isinstance(tasks, str) or len(tasks) == 0:
        raise ValueError(f"tasks must be a non-empty list of task names, got {tasks!r}")
    if len(set(tasks)) != len(tasks):
        raise ValueError(f"each task may appear once in the mixture, got {list(tasks)}")
    for task in tasks:
        _check_task(task)
    _check_lengths(min_len, max_len, vocabulary)
    rng, banned = random.Random(seed), set(map(tuple, exclude))
    while True:
        block = list(tasks)
        rng.shuffle(block)
        for task in block:
            words = _draw(rng, vocabulary, min_len, max_len)
            while words in banned:
                words = _draw(rng, vocabulary, min_len, max_len)
            yield task, words


@dataclass
class Seq2SeqBatch:
    """A padded batch for an encoder-decoder.

    src: (B, S) encoder input ids, padded with ``pad_id``; src_pad: (B, S) True at padding;
    dec_in: (B, T) decoder input: start token, then the target (teacher forcing); labels: (B, T) the target and
    the end token, ``IGNORE_INDEX`` (-100) at padding. ``labels[:, :-1]`` equals ``dec_in[:, 1:]`` wherever both
    hold a target token."""

    src: torch.Tensor
    src_pad: torch.Tensor
    dec_in: torch.Tensor
    labels: torch.Tensor


def encode_batch(pairs: Sequence[tuple[str, str]], encode: Callable[[str], list[int]], start_id: int, end_id: int,
                 pad_id: int) -> Seq2SeqBatch:
    """Encode (source, target) text pairs with ``encode`` (text -> token ids) and pad them into a
    ``Seq2SeqBatch``. Sources are padded on the right to the longest in the batch; targets get ``end_id`` after
    them and are padded to the longest."""
    if len(pairs) == 0:
        raise ValueError("pairs is empty: give at least one (source, target) pair")
    sources = [list(encode(s)) for s, _ in pairs]
    targets = [list(encode(t)) + [end_id] for _, t in pairs]
    if any(len(s) == 0 for s in sources):
        raise ValueError("a source text encodes to no tokens: the encoder needs at least one")
    B, S, T = len(pairs), max(map(len, sources)), max(map(len, targets))
    src = torch.full((B, S), pad_id, dtype=torch.long)
    src_pad = torch.ones(B, S, dtype=torch.bool)
    dec_in = torch.full((B, T), pad_id, dtype=torch.long)
    labels = torch.full((B, T), IGNORE_INDEX, dtype=torch.long)
    for i, (s, t) in enumerate(zip(sources, targets)):
        src[i, :len(s)] = torch.tensor(s)
        src_pad[i, :len(s)] = False
        labels[i, :len(t)] = torch.tensor(t)  # predict the target, then the end token
        dec_in[i, 0] = start_id
        dec_in[i, 1:len(t)] = torch.tensor(t[:-1])  # read the start token, then the target so far
    return Seq2SeqBatch(src, src_pad, dec_in, labels)


def seq2seq_loss(model, batch: Seq2SeqBatch) -> torch.Tensor:
    """Mean cross-entropy over the label positions of ``model(src, dec_in, src_pad) -> (B, T, vocab)`` logits."""
    logits = model(batch.src, batch.dec_in, batch.src_pad)  # (B, T, vocab)
    if logits.shape[:2] != batch.labels.shape:
        raise ValueError(f"model gave logits of shape {tuple(logits.shape)}; expected (B, T, vocab) with "
                         f"(B, T) = {tuple(batch.labels.shape)}")
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), batch.labels.reshape(-1), ignore_index=IGNORE_INDEX)


@torch.no_grad()
def greedy_decode(model, src: torch.Tensor, src_pad: torch.Tensor | None, start_id: int, end_id: int,
                  max_new_tokens: int) -> list[list[int]]:
    """Greedy decoding of an encoder-decoder ``model(src, dec_in, src_pad) -> (B, t, vocab)`` logits.

    The decoder starts from ``start_id`` and appends the most likely token at every step, for at most
    ``max_new_tokens`` steps or until every row has produced ``end_id``. Returns one list of token ids per row:
    what came before the first ``end_id`` (the end token itself is left out). The model is run on the whole
    decoded prefix at every step (no cache): simple, and fast enough for short answers."""
    if src.ndim != 2 or src.shape[1] == 0:
        raise ValueError(f"src must be (B, S) token ids with S >= 1, got shape {tuple(src.shape)}")
    if src_pad is not None and src_pad.shape != src.shape:
        raise ValueError(f"src_pad must have src's shape {tuple(src.shape)}, got {tuple(src_pad.shape)}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    was_training = getattr(model, "training", False)
    if was_training:
        model.eval()
    out = torch.full((src.shape[0], 1), start_id, dtype=torch.long, device=src.device)  # (B, 1)
    done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
    for _ in range(max_new_tokens):
        next_id = model(src, out, src_pad)[:, -1].argmax(dim=-1)  # (B,) the most likely next token
        out = torch.cat([out, next_id[:, None]], dim=1)  # (B, t + 1)
        done |= next_id == end_id
        if done.all():
            break
    if was_training:
        model.train()
    rows = out[:, 1:].tolist()
    return [row[:row.index(end_id)] if end_id in row else row for row in rows]


def predict(model, sources: Sequence[str], encode: Callable[[str], list[int]], decode: Callable[[list[int]], str],
            start_id: int, end_id: int, pad_id: int, max_new_tokens: int = 16) -> list[str]:
    """Greedy answers of ``model`` to the source texts, as texts: one padded batch, ``greedy_decode``, ``decode``."""
    if isinstance(sources, str) or len(sources) == 0:
        raise ValueError(f"sources must be a non-empty list of texts, got {sources!r}")
    batch = encode_batch([(s, "") for s in sources], encode, start_id, end_id, pad_id)
    return [decode(ids) for ids in greedy_decode(model, batch.src, batch.src_pad, start_id, end_id, max_new_tokens)]


def exact_match(predictions: Sequence[str], targets: Sequence[str]) -> float:
    """Share of predictions equal to their target text, character for character (no normalisation)."""
    if len(predictions) != len(targets) or len(targets) == 0:
        raise ValueError(f"need as many predictions as targets, and at least one: got {len(predictions)} "
                         f"predictions and {len(targets)} targets")
    return sum(p == t for p, t in zip(predictions, targets)) / len(targets)


def chance_accuracy(task: str, lists: Sequence[Sequence[str]], min_len: int = MIN_WORDS,
                    max_len: int = MAX_WORDS) -> float:
    """Expected exact-match accuracy, over ``lists``, of a guesser that knows the form of the answer but not the
    task's rule: for ``reverse`` and ``sort`` it outputs a uniformly random ordering of the input words
    (right with probability 1 / n! for n words), for ``count`` a uniformly random count in [min_len, max_len]."""
    _check_task(task)
    if len(lists) == 0:
        raise ValueError("lists is empty: chance is an average over the evaluated lists")
    if task == "count":
        return 1 / (max_len - min_len + 1)
    return sum(1 / math.factorial(len(words)) for words in lists) / len(lists)
