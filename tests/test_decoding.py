"""Decoding (notebook 12): greedy, beam search, sampling filters and repetition penalties against Hugging Face,
input checks and text statistics. The pictures and the sampling explorer are tested in test_decoding_view.py."""


import pytest
import torch

from helpers.decoding import (
    apply_frequency_presence,
    apply_repetition_penalty,
    ban_repeated_ngrams,
    banned_ngram_tokens,
    beam_search,
    distinct_n,
    filter_logits,
    greedy,
    new_cache,
    next_token_distribution,
    next_token_logits,
    penalize_logits,
    repeated_ngram_rate,
    sample,
    sample_batch,
    token_log_probs,
    token_ranks,
)
from helpers.gpt import KVCache

NEWLINE = 10  # byte-level BPE: a line break is always the single token 10 (the regex never merges it)


pytestmark = pytest.mark.usefixtures("course_threads")  # COURSE_THREADS, as the notebooks (conftest.py)


@pytest.fixture(scope="module")
def hf(gpt):
    pytest.importorskip("transformers")
    from helpers.gpt import to_hf

    return to_hf(gpt[0])


def hf_generate(hf, ids, eos, **kwargs):
    kwargs = {"no_repeat_ngram_size": 0, **kwargs}  # off unless a test asks for it
    out = hf.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                      do_sample=False, pad_token_id=eos, eos_token_id=eos, **kwargs)
    return out[0, len(ids):].tolist()


# ----- filters against Hugging Face's warpers -----------------------------------------------------------------
@pytest.mark.parametrize("temperature, top_k, top_p", [
    (1.0, 1, None), (0.7, 5, None), (1.0, 50, None), (2.0, None, 0.9), (0.5, None, 0.3),
    (1.3, 20, 0.8), (0.8, 100, 0.95), (1.0, None, 0.05), (3.0, 7, 0.5)])
def test_filter_logits_matches_hugging_face_warpers(temperature, top_k, top_p):
    from transformers.generation.logits_process import (
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    g = torch.Generator().manual_seed(int(temperature * 100) + (top_k or 0))
    logits = torch.randn(64, 300, generator=g) * 3  # (B, V) random scores
    ids = torch.zeros(64, 1, dtype=torch.long)
    ref = TemperatureLogitsWarper(temperature)(ids, logits.clone())
    if top_k is not None:
        ref = TopKLogitsWarper(top_k)(ids, ref)
    if top_p is not None:
        ref = TopPLogitsWarper(top_p)(ids, ref)
    ours = filter_logits(logits, temperature, top_k, top_p)
    assert torch.equal(torch.isinf(ours), torch.isinf(ref))  # exactly the same kept set
    torch.testing.assert_close(ours.softmax(-1), ref.softmax(-1))  # the same renormalised probabilities
    kept = (~torch.isinf(ours)).sum(-1)
    assert (kept >= 1).all()
    if top_k is not None:
        assert (kept <= top_k).all()
    if top_p is not None and top_k is None and top_p >= 0.3:
        assert kept.min() < kept.max()  # the nucleus adapts to each distribution; top-k would not


def test_filter_rules_on_small_examples():
    logits = torch.tensor([2.0, 1.0, 1.0, 0.0, -1.0])
    assert torch.isinf(filter_logits(logits, top_k=2)).tolist() == [False, False, False, True, True]  # ties stay
    z = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0])
    p = z.softmax(-1)
    kept = lambda top_p: (~torch.isinf(filter_logits(z, top_p=float(top_p)))).tolist()  # noqa: E731
    assert kept(p[0] - 1e-4) == [True, False, False, False, False]  # the top token alone reaches top_p
    assert kept(p[0] + 1e-4) == [True, True, False, False, False]  # it falls just short: add the next one
    assert kept(p[0] + p[1] + 1e-4) == [True, True, True, False, False]
    assert (~torch.isinf(filter_logits(logits, top_p=1e-6))).sum() == 1  # the most likely token always stays
    assert not torch.isinf(filter_logits(logits, top_p=1.0)).any()
    torch.testing.assert_close(next_token_distribution(logits, temperature=0.5), (logits / 0.5).softmax(-1))
    flat = next_token_distribution(logits, temperature=100.0)
    assert flat.max() - flat.min() < 0.05  # a high temperature flattens towards uniform


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": 0}, "temperature must be a number > 0"), ({"temperature": -1.0}, "temperature"),
    ({"temperature": float("nan")}, "temperature"), ({"top_k": 0}, "top_k must be an int >= 1"),
    ({"top_k": 2.5}, "top_k"), ({"top_p": 0.0}, r"top_p must lie in \(0, 1\]"), ({"top_p": 1.5}, "top_p")])
def test_bad_sampling_settings_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        filter_logits(torch.randn(10), **kwargs)
    with pytest.raises(ValueError, match="float tensor"):
        filter_logits(torch.arange(5))


# ----- greedy and beam search against Hugging Face's generate -------------------------------------------------
PROMPTS = ["KING HENRY.\nWhat say you,", "HAMLET.\nO", "MACBETH.\nIs this a", "To be, or not to be"]


def test_greedy_matches_hugging_face_generate(gpt, hf):
    model, tok = gpt
    for prompt in PROMPTS[:2]:
        ids = tok.encode(prompt)
        for eos in (tok.eot_id, NEWLINE):  # with the newline as end token, greedy stops at the end of the line
            ours = greedy(model, ids, 20, eot_id=eos)
            assert ours == hf_generate(hf, ids, eos, max_new_tokens=20, num_beams=1)
        assert ours[-1] == NEWLINE and len(ours) < 20


BEAM_CASES = [  # (prompt, width, alpha, early_stopping): the three stopping rules differ on several of these
    ("HAMLET.\nO", 3, 0.0, False), ("HAMLET.\nO", 3, 1.0, False), ("HAMLET.\nO", 3, 2.0, True),
    ("HAMLET.\nO", 3, 2.0, False), ("MACBETH.\nIs this a", 3, 1.0, True), ("MACBETH.\nIs this a", 3, 1.0, "never"),
    ("MACBETH.\nIs this a", 4, 2.0, False), ("KING LEAR.\nBlow, winds,", 2, -0.5, "never"), ("Enter", 5, 0.5, True)]


def test_beam_search_matches_hugging_face_generate(gpt, hf):
    """Finished beams, length normalisation and all three stopping rules: the newline is the end token, so
    beams end early and the rules matter."""
    model, tok = gpt
    results = {}
    for prompt, width, alpha, stopping in BEAM_CASES:
        ids = tok.encode(prompt)
        ours = beam_search(model, ids, width, 12, alpha=alpha, eot_id=NEWLINE, early_stopping=stopping)
        theirs = hf_generate(hf, ids, NEWLINE, max_new_tokens=12, num_beams=width, length_penalty=alpha,
                             early_stopping=stopping)
        assert ours.tokens == theirs, (prompt, width, alpha, stopping)
        results[(prompt, width, alpha, stopping)] = ours.tokens
    assert results[("HAMLET.\nO", 3, 2.0, True)] != results[("HAMLET.\nO", 3, 2.0, False)]
    assert results[("MACBETH.\nIs this a", 3, 1.0, True)] != results[("MACBETH.\nIs this a", 3, 1.0, "never")]
    assert len(results[("HAMLET.\nO", 3, 0.0, False)]) < len(results[("HAMLET.\nO", 3, 1.0, False)])  # alpha


def test_beam_search_without_an_end_token_matches_hugging_face(gpt, hf):
    model, tok = gpt
    ids = tok.encode(PROMPTS[0])
    ours = beam_search(model, ids, 3, 12, eot_id=tok.eot_id)
    assert len(ours.tokens) == 12
    assert ours.tokens == hf_generate(hf, ids, tok.eot_id, max_new_tokens=12, num_beams=3, early_stopping=True)


def test_beam_search_scores_and_trace(gpt):
    model, tok = gpt
    ids = tok.encode("MACBETH.\nIs this a")
    r = beam_search(model, ids, 3, 5, alpha=1.0, eot_id=NEWLINE, early_stopping="never", trace=True)
    for h in r.hypotheses:  # log_prob is the model's own log-probability of the tokens, score is normalised
        assert h.log_prob == pytest.approx(float(token_log_probs(model, ids, [h.tokens]).sum()), abs=1e-4)
        assert h.score == pytest.approx(h.log_prob / len(h.tokens))
    assert [h.score for h in r.hypotheses] == sorted((h.score for h in r.hypotheses), reverse=True)
    assert (r.tokens, r.score) == (r.hypotheses[0].tokens, r.hypotheses[0].score)
    assert len(r.steps) == 5
    for step in r.steps[:-1]:
        assert len(step) == 6 and sum(c["status"] == "kept" for c in step) == 3
        assert all(c["token"] != NEWLINE for c in step if c["status"] == "kept")
        assert all(c["token"] == NEWLINE for c in step if c["status"] == "finished")
    assert [c["status"] for c in r.steps[-1][:3]] == ["finished"] * 3  # at the last step the best width finish
    logs = [c["log_prob"] for c in r.steps[0]]
    assert logs == sorted(logs, reverse=True)


def test_beam_of_width_one_is_greedy_and_wider_beams_find_likelier_text(gpt):
    model, tok = gpt
    for prompt in PROMPTS[:2]:
        ids = tok.encode(prompt)
        g = greedy(model, ids, 12)
        assert beam_search(model, ids, 1, 12).tokens == g
        b = beam_search(model, ids, 4, 12)
        assert b.log_prob >= float(token_log_probs(model, ids, [g]).sum()) - 1e-4


# ----- context window, sampling, input checks -----------------------------------------------------------------
def test_generation_past_the_context_window_crops_to_the_last_block_size_tokens(gpt):
    model, tok = gpt
    bs = model.config.block_size
    ids = tok.encode("To be, or not to be, that is the question. " * 20)[: bs + 30]  # longer than the window
    new = greedy(model, ids, 5)
    assert len(new) == 5
    with torch.no_grad():
        first = int(model(torch.tensor([ids[-bs:]]))[0][0, -1].argmax())
    assert new[0] == first
    P = bs - 4
    lp = token_log_probs(model, ids[:P], [ids[P:bs + 6]])  # longer than the window: token-by-token path
    manual = [float(next_token_logits(model, torch.tensor([ids[:t]]))[0].log_softmax(-1)[ids[t]])
              for t in (P, bs, bs + 5)]
    assert [float(lp[0, t - P]) for t in (P, bs, bs + 5)] == pytest.approx(manual, abs=1e-5)
    short = token_log_probs(model, ids[:P], [ids[P:bs + 1]])  # fits the window: one forward pass, same numbers
    torch.testing.assert_close(short, lp[:, :5], atol=1e-5, rtol=0)


def test_token_ranks_against_a_token_by_token_count(gpt):
    """rank and mass_above from one forward pass (and from the sliding-window path) equal a direct count on the
    next-token distribution at each position; greedy's tokens rank first; top-p samples never leave the nucleus."""
    model, tok = gpt
    bs = model.config.block_size
    ids = tok.encode("To be, or not to be, that is the question. " * 20)[: bs + 30]
    P = bs - 4
    for cont in (ids[P:P + 4], ids[P:bs + 6]):  # fits the window; longer than the window
        rank, above = token_ranks(model, ids[:P], [cont])
        for t, token in enumerate(cont):
            probs = next_token_logits(model, torch.tensor([ids[:P + t]]))[0].softmax(-1)
            more = probs > probs[token]
            assert int(rank[0, t]) == int(more.sum()) + 1
            assert float(above[0, t]) == pytest.approx(float(probs[more].sum()), abs=1e-5)
    prompt = tok.encode(PROMPTS[0])
    rank, _ = token_ranks(model, prompt, [greedy(model, prompt, 12)])
    assert rank.eq(1).all()
    samples = sample_batch(model, prompt, 20, 6, top_p=0.6, generator=torch.Generator().manual_seed(0))
    _, above = token_ranks(model, prompt, samples)
    assert (above < 0.6).all(), float(above.max())
    plain = sample_batch(model, prompt, 20, 6, generator=torch.Generator().manual_seed(0))
    assert (token_ranks(model, prompt, plain)[1] >= 0.6).any()  # plain sampling does reach beyond it
    assert token_ranks(model, prompt, [[]])[0].shape == (1, 0)


def test_kv_cache_gives_the_same_tokens_as_recomputing(gpt):
    """Greedy, sampling and beam search with and without the KV cache, inside and beyond the context window."""
    model, tok = gpt
    bs = model.config.block_size
    short = tok.encode("ROMEO.\nBut soft, what light")
    long = tok.encode("To be, or not to be, that is the question. " * 20)[: bs - 10]  # crosses the window
    for ids, n in ((short, 40), (long, 25)):
        assert greedy(model, ids, n) == greedy(model, ids, n, use_cache=False)
        draws = [sample_batch(model, ids, n, 3, temperature=0.9, generator=torch.Generator().manual_seed(5),
                              use_cache=c) for c in (True, False)]
        assert draws[0] == draws[1]
    for kw in ({"eot_id": NEWLINE}, {}):
        cached = beam_search(model, short, 3, 12, early_stopping=False, **kw)
        plain = beam_search(model, short, 3, 12, early_stopping=False, use_cache=False, **kw)
        assert cached.tokens == plain.tokens and cached.log_prob == pytest.approx(plain.log_prob, abs=1e-3)


def test_sampling_is_reproducible_and_stays_inside_the_kept_set(gpt):
    model, tok = gpt
    ids = tok.encode("HAMLET.\nTo be, or not to")
    draw = lambda seed, **kw: sample(model, ids, 12, generator=torch.Generator().manual_seed(seed), **kw)  # noqa: E731
    assert draw(1) == draw(1) and draw(1) != draw(2)
    assert draw(3, top_k=1) == greedy(model, ids, 12)
    batch = sample_batch(model, ids, 6, 4, temperature=1.2, top_k=5, generator=torch.Generator().manual_seed(0))
    assert len(batch) == 4 and all(len(b) == 6 for b in batch)
    for row in batch:
        for t, token in enumerate(row):
            logits = next_token_logits(model, torch.tensor([ids + row[:t]]))[0]
            assert token in logits.topk(5).indices.tolist()
    cut = sample_batch(model, ids, 25, 4, eot_id=NEWLINE, generator=torch.Generator().manual_seed(0))
    assert all(NEWLINE not in row[:-1] for row in cut) and any(row[-1] == NEWLINE for row in cut)


def test_bad_inputs_raise_clear_errors(gpt):
    model, tok = gpt
    ids = tok.encode("HAMLET.")
    assert tok.encode("") == []
    with pytest.raises(ValueError, match="prompt is empty"):
        greedy(model, tok.encode(""), 5)
    with pytest.raises(ValueError, match="prompt is empty"):
        beam_search(model, [], 3, 5)
    with pytest.raises(TypeError, match="encode it first"):
        sample(model, "HAMLET.", 5)
    with pytest.raises(ValueError, match="max_new_tokens must be >= 0"):
        sample(model, ids, -1)
    with pytest.raises(TypeError, match="max_new_tokens must be an int"):
        greedy(model, ids, 2.5)
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 2048\)"):
        greedy(model, [5000], 3)
    with pytest.raises(ValueError, match="width must be"):
        beam_search(model, ids, 0, 5)
    with pytest.raises(ValueError, match="early_stopping"):
        beam_search(model, ids, 2, 5, early_stopping="sometimes")
    with pytest.raises(ValueError, match="eot_id"):
        greedy(model, ids, 3, eot_id=-1)
    with pytest.raises(ValueError, match="num_samples"):
        sample_batch(model, ids, 3, 0)
    with pytest.raises(ValueError, match="temperature"):
        sample(model, ids, 3, temperature=0.0)
    assert greedy(model, ids, 0) == [] and sample(model, ids, 0) == []
    assert beam_search(model, ids, 2, 0).tokens == []


def test_repetition_and_diversity_statistics():
    assert repeated_ngram_rate([1, 2, 3, 4, 5, 6], n=2) == 0.0
    assert repeated_ngram_rate([5, 6, 7, 5, 6, 7, 5], n=2) == pytest.approx(0.5)  # 56 67 75 56 67 75
    assert repeated_ngram_rate([7] * 10, n=4) == pytest.approx(6 / 7)
    assert repeated_ngram_rate([1, 2], n=4) == 0.0
    assert distinct_n([[1, 2, 3], [1, 2, 4]], n=2) == pytest.approx(3 / 4)
    assert distinct_n([[1, 2, 3], [1, 2, 3]], n=1) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no 3-grams"):
        distinct_n([[1, 2]], n=3)
    with pytest.raises(ValueError, match="denominator"):
        distinct_n([[1, 2]], n=1, denominator="words")


def test_distinct_n_over_tokens_is_li_et_al_2016():
    """Li et al. (2016): distinct n-grams scaled by the total number of generated tokens (not of n-grams)."""
    texts = [[1, 2, 3], [1, 2, 4]]  # bigrams 12 23 12 24: 3 distinct; 6 tokens, 4 bigrams
    assert distinct_n(texts, n=2, denominator="tokens") == pytest.approx(3 / 6)
    assert distinct_n(texts, n=2, denominator="ngrams") == pytest.approx(3 / 4)
    for n in (1, 2, 3):  # the two differ by tokens / n-grams, (n - 1) tokens per text
        d_tok, d_gram = distinct_n(texts, n, "tokens"), distinct_n(texts, n, "ngrams")
        assert d_gram == pytest.approx(d_tok * 6 / (6 - (n - 1) * 2))
    one = list(range(64))  # one text of 64 tokens, no repeats
    assert distinct_n([one], 2) == 1.0 and distinct_n([one], 2, "tokens") == pytest.approx(63 / 64)


# ----- repetition penalties -----------------------------------------------------------------------------------
def random_text(seed, B=8, T=40, V=60, alphabet=12):
    """Random logits (B, V) and texts (B, T) drawn from few tokens, so that tokens and n-grams repeat."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(B, V, generator=g) * 3, torch.randint(0, alphabet, (B, T), generator=g)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("penalty", [0.7, 1.2, 2.0])
def test_repetition_penalty_matches_hugging_face_processor(seed, penalty):
    from transformers.generation.logits_process import RepetitionPenaltyLogitsProcessor

    logits, ids = random_text(seed)
    ref = RepetitionPenaltyLogitsProcessor(penalty)(ids, logits.clone())
    ours = apply_repetition_penalty(logits, ids, penalty)
    assert torch.equal(ours, ref)
    assert torch.equal(penalize_logits(logits, ids, repetition_penalty=penalty), ref)
    assert torch.equal(apply_repetition_penalty(logits[0], ids[0], penalty), ref[0])  # one row, 1-D
    assert not torch.equal(ours, logits)


def test_repetition_penalty_by_hand():
    """Keskar et al. divide the logit of a seen token by theta; the sign rule multiplies a negative one instead, so
    that a penalty > 1 always lowers it. A token seen three times is penalised once."""
    logits = torch.tensor([2.0, -1.0, 0.5, 0.0])
    out = apply_repetition_penalty(logits, [0, 1, 1, 1], 2.0)
    assert out.tolist() == [1.0, -2.0, 0.5, 0.0]
    assert apply_repetition_penalty(logits, [0, 1], 0.5).tolist() == [4.0, -0.5, 0.5, 0.0]  # < 1 rewards
    probs, penalised = logits.softmax(-1), out.softmax(-1)
    assert penalised[0] < probs[0] and penalised[1] < probs[1] and penalised[2] > probs[2]
    shifted = apply_repetition_penalty(logits + 3.0, [0, 1], 2.0)  # same distribution, different effect
    assert not torch.allclose(shifted.softmax(-1), penalised)
    assert torch.equal(apply_repetition_penalty(logits, torch.zeros(0, dtype=torch.long), 2.0), logits)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_no_repeat_ngram_matches_hugging_face_processor(seed, n):
    from transformers.generation.logits_process import NoRepeatNGramLogitsProcessor

    logits, ids = random_text(seed, alphabet=4 if n > 2 else 12)
    ref = NoRepeatNGramLogitsProcessor(n)(ids, logits.clone())
    ours = ban_repeated_ngrams(logits, ids, n)
    assert torch.equal(ours, ref)
    assert torch.equal(penalize_logits(logits, ids, no_repeat_ngram_size=n), ref)
    for row in range(ids.shape[0]):  # the loop version bans the same tokens
        assert torch.isinf(ours[row]).nonzero()[:, 0].tolist() == banned_ngram_tokens(ids[row].tolist(), n)
    assert torch.isinf(ours).any()


def test_banned_ngram_tokens_by_hand():
    assert banned_ngram_tokens([5, 6, 7, 5, 6], 3) == [7]  # "5 6" was followed by 7
    assert banned_ngram_tokens([1, 2, 3, 1, 2, 4, 1, 2], 3) == [3, 4]
    assert banned_ngram_tokens([1, 2, 3, 1, 2, 4, 1, 2], 2) == [3, 4]  # "2" was followed by 3 and 4
    assert banned_ngram_tokens([1, 2, 3, 1, 2, 4, 1, 2], 4) == []  # "2 1 2" never occurred before
    assert banned_ngram_tokens([3, 1, 3], 1) == [1, 3]  # n = 1: every token already in the text
    assert banned_ngram_tokens([1, 2], 3) == [] and banned_ngram_tokens([7, 7], 2) == [7]


def test_frequency_and_presence_penalties_by_hand():
    """OpenAI's definition: logit - count x frequency - (count > 0) x presence, counted over generated tokens."""
    logits = torch.tensor([1.0, 1.0, 1.0, 1.0])
    out = apply_frequency_presence(logits, [2, 2, 2, 1], frequency_penalty=0.5, presence_penalty=0.25)
    assert out.tolist() == [1.0, 1.0 - 0.5 - 0.25, 1.0 - 1.5 - 0.25, 1.0]
    assert torch.equal(apply_frequency_presence(logits, [], 0.5, 0.25), logits)
    ids = torch.tensor([[0, 0, 1, 2, 2]])  # the prompt is [0, 0, 1]: only [2, 2] was generated
    out = penalize_logits(logits[None], ids, n_prompt=3, frequency_penalty=1.0, presence_penalty=0.5)
    assert out.tolist() == [[1.0, 1.0, -1.5, 1.0]]


def test_penalties_apply_in_a_stated_order():
    """CTRL acts on the raw logits (its sign rule sees them), then frequency / presence, then the n-gram ban."""
    logits = torch.tensor([[0.5, 2.0, -1.0]])
    ids = torch.tensor([[1, 0, 1, 0]])  # prompt [1], generated [0, 1, 0]
    out = penalize_logits(logits, ids, n_prompt=1, repetition_penalty=2.0, frequency_penalty=1.0,
                          no_repeat_ngram_size=2)
    # token 0: 0.5 / 2 - 2 x 1; token 1: "0 1" occurred, so after the last 0, token 1 is banned; token 2: unseen
    assert out.tolist() == [[0.25 - 2.0, float("-inf"), -1.0]]


def test_penalties_in_generate_match_hugging_face(gpt, hf):
    """Greedy and beam search with the CTRL penalty and the n-gram ban give the same tokens as Hugging Face's
    generate(repetition_penalty=..., no_repeat_ngram_size=...) on the same weights (beams on log-probabilities)."""
    model, tok = gpt
    changed = 0
    for prompt in PROMPTS[:3]:
        ids = tok.encode(prompt)
        plain = greedy(model, ids, 40)
        for kw in ({"repetition_penalty": 1.3}, {"repetition_penalty": 0.8}, {"no_repeat_ngram_size": 3},
                   {"repetition_penalty": 1.2, "no_repeat_ngram_size": 2}):
            ours = greedy(model, ids, 40, eot_id=tok.eot_id, **kw)
            assert ours == hf_generate(hf, ids, tok.eot_id, max_new_tokens=40, num_beams=1, **kw), (prompt, kw)
            changed += ours != plain
            for width, stopping in ((2, True), (3, False)):
                beam = beam_search(model, ids, width, 24, eot_id=NEWLINE, early_stopping=stopping, **kw)
                theirs = hf_generate(hf, ids, NEWLINE, max_new_tokens=24, num_beams=width, early_stopping=stopping,
                                     **kw)
                assert beam.tokens == theirs, (prompt, kw, width)
    assert changed >= 10  # the penalties did change the text (12 cases)


def test_no_repeat_ngram_size_leaves_no_repeated_ngram(gpt):
    model, tok = gpt
    ids = tok.encode(PROMPTS[1])
    for n in (2, 3, 4):
        texts = [ids + greedy(model, ids, 60, no_repeat_ngram_size=n),
                 ids + beam_search(model, ids, 3, 40, no_repeat_ngram_size=n).tokens,
                 *[ids + row for row in sample_batch(model, ids, 40, 3, temperature=0.5, no_repeat_ngram_size=n,
                                                     generator=torch.Generator().manual_seed(n))]]
        assert all(repeated_ngram_rate(t, n) == 0.0 for t in texts), n  # prompt included
    assert repeated_ngram_rate(greedy(model, ids, 60), 4) > 0.2  # without the ban, greedy loops


def test_kv_cache_gives_the_same_tokens_with_penalties(gpt):
    """The penalties read the whole text, not the cache: cached and uncached decoding agree, also past the window."""
    model, tok = gpt
    bs = model.config.block_size
    short = tok.encode("ROMEO.\nBut soft, what light")
    long = tok.encode("To be, or not to be, that is the question. " * 20)[: bs - 10]
    kw = {"repetition_penalty": 1.3, "no_repeat_ngram_size": 3, "frequency_penalty": 0.3, "presence_penalty": 0.2}
    for ids, n in ((short, 40), (long, 25)):
        assert greedy(model, ids, n, **kw) == greedy(model, ids, n, use_cache=False, **kw)
        draws = [sample_batch(model, ids, n, 3, generator=torch.Generator().manual_seed(1), use_cache=c, **kw)
                 for c in (True, False)]
        assert draws[0] == draws[1]
        assert sample(model, ids, n, generator=torch.Generator().manual_seed(1), **kw) == \
            sample(model, ids, n, generator=torch.Generator().manual_seed(1), use_cache=False, **kw)
    cached = beam_search(model, short, 3, 20, early_stopping=False, eot_id=NEWLINE, **kw)
    plain = beam_search(model, short, 3, 20, early_stopping=False, eot_id=NEWLINE, use_cache=False, **kw)
    assert cached.tokens == plain.tokens and cached.log_prob == pytest.approx(plain.log_prob, abs=1e-3)


def test_frequency_penalty_in_greedy_matches_a_step_by_step_loop(gpt):
    """The decoders penalise with the counts of the tokens generated so far, not the prompt's."""
    model, tok = gpt
    ids = tok.encode(PROMPTS[0])
    out = greedy(model, ids, 15, frequency_penalty=0.7, presence_penalty=0.3)
    text = list(ids)
    for _ in range(15):
        logits = next_token_logits(model, torch.tensor([text]))[0]
        new = text[len(ids):]
        for t in set(new):
            logits[t] -= 0.7 * new.count(t) + 0.3
        text.append(int(logits.argmax()))
    assert out == text[len(ids):]


@pytest.mark.parametrize("kwargs, message", [
    ({"repetition_penalty": 0.0}, "repetition_penalty must be a number > 0"),
    ({"repetition_penalty": float("inf")}, "repetition_penalty"), ({"repetition_penalty": True}, "repetition_penalty"),
    ({"no_repeat_ngram_size": -1}, "no_repeat_ngram_size must be an int"),
    ({"no_repeat_ngram_size": 2.0}, "no_repeat_ngram_size"),
    ({"frequency_penalty": float("nan")}, "frequency_penalty must be a finite number"),
    ({"presence_penalty": "high"}, "presence_penalty")])
def test_bad_penalties_raise_clear_errors(gpt, kwargs, message):
    model, tok = gpt
    ids = tok.encode("HAMLET.")
    for decode in (lambda: greedy(model, ids, 3, **kwargs), lambda: sample(model, ids, 3, **kwargs),
                   lambda: beam_search(model, ids, 2, 3, **kwargs)):
        with pytest.raises(ValueError, match=message):
            decode()
    with pytest.raises(ValueError, match="ids must be"):
        apply_repetition_penalty(torch.randn(2, 10), [1, 2], 1.2)  # two rows of logits, one text
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 10\)"):
        ban_repeated_ngrams(torch.randn(10), [3, 12], 2)
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        ban_repeated_ngrams(torch.randn(10), [3, 4], 0)


def test_any_model_that_takes_a_cache_gets_one(gpt):
    """Notebook 14's Llama is called as model(idx, cache=...): the decoders give it a KV cache too."""
    model, tok = gpt

    class Wrapped(torch.nn.Module):  # not a course GPT, same interface
        def __init__(self):
            super().__init__()
            self.inner, self.config = model, model.config

        def forward(self, idx, targets=None, cache=None):
            return self.inner(idx, targets, cache=cache)

    class NoCache(Wrapped):
        def forward(self, idx, targets=None):
            return self.inner(idx, targets)

    assert isinstance(new_cache(Wrapped()), KVCache) and new_cache(NoCache()) is None
    assert new_cache(Wrapped(), use_cache=False) is None
    ids = tok.encode(PROMPTS[2])
    assert greedy(Wrapped(), ids, 20, repetition_penalty=1.2) == greedy(NoCache(), ids, 20, repetition_penalty=1.2)
