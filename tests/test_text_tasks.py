"""helpers.text_tasks: the toy text-to-text tasks, the mixed stream, batching, greedy decoding and chance levels.

References nobody here wrote: Hugging Face T5's own right shift of the labels, its loss, and its greedy ``generate``.
"""

import itertools
import math
import random
from collections import Counter

import pytest
import torch

from helpers import text_tasks as tt
from helpers.data import data_dir
from helpers.tokenizer import BPETokenizer


@pytest.fixture(scope="module")
def tok():
    return BPETokenizer.load(data_dir() / "tokenizer.json")


def test_answers_of_each_task():
    words = ["king", "love", "fool", "war"]
    assert tt.answer("reverse", words) == ["war", "fool", "love", "king"]
    assert tt.answer("sort", words) == ["fool", "king", "love", "war"]
    assert tt.answer("count", words) == ["four"]
    assert tt.example("reverse", words) == ("reverse: king love fool war", " war fool love king")
    assert tt.example("count", words[:3]) == ("count: king love fool", " three")


@pytest.mark.parametrize("task, words, error", [
    ("copy", ["king", "love", "fool"], ValueError),  # unknown task
    ("sort", ["king", "king", "fool"], ValueError),  # repeated word: sorting ties
    ("sort", ["king", "love"], ValueError),  # too short
    ("sort", "king love fool", TypeError),  # a string, not a list
    ("sort", ["king love", "fool", "war"], TypeError),  # a "word" with a space
])
def test_bad_examples_are_refused(task, words, error):
    with pytest.raises(error):
        tt.example(task, words)


def test_every_word_is_one_token_wherever_it_stands(tok):
    """The words must be one token each, so that a list of n words is n tokens in the source and the target."""
    for w in tt.WORDS:
        assert len(tok.encode(" " + w)) == 1, w
    source, target = tt.example("sort", ["king", "love", "night"])
    assert tok.encode(source)[-3:] == tok.encode(" king love night")
    assert sorted(tok.encode(target)) == sorted(tok.encode(" king love night"))
    prefixes = [tuple(tok.encode(task + ":")) for task in tt.TASKS]
    assert len(set(prefixes)) == len(tt.TASKS)  # the prefixes differ as tokens


def test_word_lists_are_distinct_seeded_and_avoid_the_excluded():
    lists = tt.word_lists(500, seed=3)
    assert len(set(lists)) == 500 and lists == tt.word_lists(500, seed=3) != tt.word_lists(500, seed=4)
    assert all(len(set(w)) == len(w) and tt.MIN_WORDS <= len(w) <= tt.MAX_WORDS for w in lists)
    lengths = Counter(len(w) for w in lists)
    assert set(lengths) == set(range(tt.MIN_WORDS, tt.MAX_WORDS + 1)) and min(lengths.values()) > 80  # ~125 each
    # a tiny vocabulary: 4 words, lists of 3 -> 24 lists exist; exclude 20 and ask for the other 4
    vocab, every = ["a", "b", "c", "d"], list(itertools.permutations(["a", "b", "c", "d"], 3))
    rest = tt.word_lists(4, vocabulary=vocab, min_len=3, max_len=3, exclude=every[:20])
    assert sorted(rest) == sorted(every[20:])
    with pytest.raises(ValueError, match="only 24 exist"):
        tt.word_lists(5, vocabulary=vocab, min_len=3, max_len=3, exclude=every[:20])
    with pytest.raises(ValueError):
        tt.word_lists(3, min_len=2)


def test_mixed_stream_holds_each_task_once_per_block_and_never_an_excluded_list():
    tasks = ["reverse", "sort", "count"]
    vocab, every = ["a", "b", "c", "d"], list(itertools.permutations(["a", "b", "c", "d"], 3))
    stream = tt.mixed_stream(tasks, seed=1, vocabulary=vocab, min_len=3, max_len=3, exclude=every[:20])
    drawn = list(itertools.islice(stream, 300))
    for i in range(0, 300, 3):
        assert sorted(task for task, _ in drawn[i:i + 3]) == sorted(tasks)
    assert {words for _, words in drawn} == set(every[20:])  # only the 4 allowed lists, all of them
    orders = {tuple(task for task, _ in drawn[i:i + 3]) for i in range(0, 300, 3)}
    assert len(orders) > 1  # the order within a block is shuffled
    again = list(itertools.islice(tt.mixed_stream(tasks, seed=1, vocabulary=vocab, min_len=3, max_len=3,
                                                  exclude=every[:20]), 300))
    assert again == drawn
    single = list(itertools.islice(tt.mixed_stream(["sort"], seed=0), 10))
    assert all(task == "sort" for task, _ in single)
    for bad in (["sort", "sort"], [], "sort", ["copy"]):
        with pytest.raises(ValueError):
            next(tt.mixed_stream(bad))


def _tiny_hf_t5(seed=0, vocab=40):
    from transformers import T5Config, T5ForConditionalGeneration
    torch.manual_seed(seed)
    config = T5Config(vocab_size=vocab, d_model=16, d_kv=4, d_ff=32, num_layers=2, num_heads=4,
                      decoder_start_token_id=0, pad_token_id=0, eos_token_id=1, dropout_rate=0.0)
    return T5ForConditionalGeneration(config).eval()


def _as_course_model(hf):
    """Hugging Face T5 behind the course's signature model(src, dec_in, src_pad) -> (B, T, vocab) logits."""
    return lambda src, dec_in, src_pad: hf(input_ids=src, attention_mask=(~src_pad).long(),
                                           decoder_input_ids=dec_in).logits


def _toy_encode(text):
    return [2 + ord(c) - ord("a") for c in text.replace(" ", "")]  # letters -> ids 2..27


def test_encode_batch_matches_hugging_face_t5s_right_shift_and_loss():
    hf = _tiny_hf_t5()
    pairs = [("abcdef", "fed"), ("xy", "yxwvu"), ("q", "")]
    batch = tt.encode_batch(pairs, _toy_encode, start_id=0, end_id=1, pad_id=39)  # padding != start, unlike HF
    assert batch.src.shape == (3, 6) and batch.labels.shape == (3, 6)  # longest target 5 + the end token
    assert batch.src_pad.sum(1).tolist() == [0, 4, 5]
    assert (batch.src[batch.src_pad] == 39).all() and (batch.dec_in[:, 0] == 0).all()  # pads pad, starts start
    assert batch.labels[2].tolist() == [1] + [tt.IGNORE_INDEX] * 5  # an empty target is just the end token
    # wherever a label counts, the decoder reads what Hugging Face's right shift gives it: the start token, then
    # the target so far (after the end token HF feeds the end token, we a pad; no label looks at it)
    counted = batch.labels != tt.IGNORE_INDEX
    assert torch.equal(batch.dec_in[counted], hf._shift_right(batch.labels)[counted])
    ours = tt.seq2seq_loss(_as_course_model(hf), batch)
    with torch.no_grad():
        theirs = hf(input_ids=batch.src, attention_mask=(~batch.src_pad).long(), labels=batch.labels).loss
    assert torch.allclose(ours, theirs, atol=1e-6)
    with pytest.raises(ValueError, match="empty"):
        tt.encode_batch([], _toy_encode, 0, 1, 0)
    with pytest.raises(ValueError, match="logits of shape"):
        tt.seq2seq_loss(lambda src, dec_in, src_pad: torch.zeros(3, 2, 40), batch)


def test_greedy_decode_matches_hugging_face_generate_on_a_padded_batch():
    hf = _tiny_hf_t5(seed=1)
    batch = tt.encode_batch([("abcdefg", ""), ("hij", ""), ("klmnop", "")], _toy_encode, 0, 1, 0)
    attention = (~batch.src_pad).long()
    free = hf.generate(batch.src, attention_mask=attention, max_new_tokens=8, do_sample=False, num_beams=1,
                       eos_token_id=None)[:, 1:]  # (3, 8) without the start token
    # make a token the first row emits mid-way the end token, so that decoding stops early for some rows
    end = int(free[0, 3])
    theirs = hf.generate(batch.src, attention_mask=attention, max_new_tokens=8, do_sample=False, num_beams=1,
                         eos_token_id=end, pad_token_id=0)[:, 1:].tolist()
    theirs = [row[:row.index(end)] if end in row else row for row in theirs]
    ours = tt.greedy_decode(_as_course_model(hf), batch.src, batch.src_pad, start_id=0, end_id=end, max_new_tokens=8)
    assert ours == theirs
    assert len(ours[0]) <= 3  # the first row stopped at its end token
    assert tt.greedy_decode(_as_course_model(hf), batch.src, batch.src_pad, 0, -1, 8) == free.tolist()


def test_greedy_decode_restores_training_mode_and_checks_its_inputs():
    model = torch.nn.Module()
    model.forward = lambda src, dec_in, src_pad: torch.nn.functional.one_hot(
        torch.full(dec_in.shape, 5), 8).float()  # always says token 5
    model.train()
    src = torch.ones(2, 3, dtype=torch.long)
    assert tt.greedy_decode(model, src, None, 0, 5, 4) == [[], []]  # 5 is the end token: nothing before it
    assert tt.greedy_decode(model, src, None, 0, 7, 4) == [[5, 5, 5, 5], [5, 5, 5, 5]]
    assert model.training
    with pytest.raises(ValueError):
        tt.greedy_decode(model, torch.ones(2, 0, dtype=torch.long), None, 0, 5, 4)
    with pytest.raises(ValueError):
        tt.greedy_decode(model, src, torch.zeros(2, 2, dtype=torch.bool), 0, 5, 4)
    with pytest.raises(ValueError):
        tt.greedy_decode(model, src, None, 0, 5, 0)


def test_predict_and_exact_match():
    model = lambda src, dec_in, src_pad: torch.nn.functional.one_hot(  # noqa: E731
        torch.full(dec_in.shape, 4 if dec_in.shape[1] < 3 else 1), 8).float()  # "cc" then the end token
    assert tt.predict(model, ["ab", "abcd"], _toy_encode, lambda ids: "".join(chr(97 + i - 2) for i in ids),
                      0, 1, 0) == ["cc", "cc"]
    assert tt.exact_match(["a b", " a b", "a b"], ["a b", "a b", "b a"]) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        tt.exact_match(["a"], ["a", "b"])
    with pytest.raises(ValueError):
        tt.predict(model, [], _toy_encode, str, 0, 1, 0)


def test_chance_accuracy_matches_a_simulated_guesser():
    lists = tt.word_lists(300, seed=5)
    rng = random.Random(0)
    trials = 40
    for task in ("reverse", "sort"):
        hits = 0
        for words in lists:
            right = tt.answer(task, words)
            hits += sum(rng.sample(list(words), len(words)) == right for _ in range(trials))
        simulated, exact = hits / (trials * len(lists)), tt.chance_accuracy(task, lists)
        assert abs(simulated - exact) < 0.012, (task, simulated, exact)  # ~4 standard errors of 12,000 trials
    assert tt.chance_accuracy("count", lists) == 1 / 4
    one_of_each = [tuple(tt.WORDS[:n]) for n in range(3, 7)]
    assert tt.chance_accuracy("reverse", one_of_each) == pytest.approx(sum(1 / math.factorial(n) for n in range(3, 7)) / 4)
    with pytest.raises(ValueError):
        tt.chance_accuracy("sort", [])
