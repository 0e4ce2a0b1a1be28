"""Decoding (notebook 12): greedy, beam search and sampling filters against Hugging Face, input checks and
text statistics. The pictures and the sampling explorer are tested in test_decoding_view.py."""


import pytest
import torch

from helpers.checkpoint import load_model
from helpers.course import set_threads
from helpers.data import data_dir
from helpers.decoding import (
    beam_search,
    distinct_n,
    filter_logits,
    greedy,
    next_token_distribution,
    next_token_logits,
    repeated_ngram_rate,
    sample,
    sample_batch,
    token_log_probs,
    token_ranks,
)
from helpers.tokenizer import BPETokenizer

NEWLINE = 10  # byte-level BPE: a line break is always the single token 10 (the regex never merges it)


@pytest.fixture(scope="module", autouse=True)
def threads():
    """Honour COURSE_THREADS as the notebooks do (many small forward passes: extra threads mostly wait)."""
    before = torch.get_num_threads()
    set_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def gpt():
    return load_model(data_dir() / "gpt"), BPETokenizer.load(data_dir() / "tokenizer.json")


@pytest.fixture(scope="module")
def hf(gpt):
    pytest.importorskip("transformers")
    from helpers.gpt import to_hf

    return to_hf(gpt[0])


def hf_generate(hf, ids, eos, **kwargs):
    out = hf.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                      do_sample=False, no_repeat_ngram_size=0, pad_token_id=eos, eos_token_id=eos, **kwargs)
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
