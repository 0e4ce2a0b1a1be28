"""Decoding: turning a language model's next-token probabilities into text (notebook 12).

- ``greedy``: always take the most likely next token (greedy decoding, 貪欲法).
- ``beam_search``: keep the ``width`` best partial sequences (beam search, ビームサーチ), with length
  normalisation (score = log-probability / length**alpha) and finished beams kept aside, following the
  semantics of Hugging Face's ``generate(num_beams=...)`` (see ``beam_search``).
- ``sample`` / ``sample_batch``: draw the next token from the probabilities, reshaped by ``filter_logits``:
  temperature (温度: the logits are divided by it), top-k (Fan et al. 2018: keep the k most likely tokens) and
  top-p, the nucleus (Holtzman et al. 2020: keep the smallest set of most likely tokens whose probability
  reaches p) (top-k / top-p サンプリング).
- Repetition penalties (繰り返しペナルティ), off by default, for all three decoders (see ``penalize_logits``): the CTRL
  repetition penalty (Keskar et al. 2019, with Hugging Face's sign rule), ``no_repeat_ngram_size`` (ban any token that
  would complete an n-gram already in the text) and the frequency and presence penalties of the OpenAI API.
- ``token_log_probs`` and ``token_ranks``: how likely the model finds a given continuation, and where each of
  its tokens ranked (inside the top k? inside the top-p nucleus?); ``repeated_ngram_rate`` and ``distinct_n``:
  how repetitive or varied texts are.

The pictures and the sampling sliders (``draw_next_token_chart``, ``draw_beam_tree``, ``SamplingExplorer``) are in
``helpers.decoding_view``.

The model is anything called as ``model(idx) -> (logits, loss)`` with ``idx`` (B, T) token ids and logits
(B, T, vocab), and with a ``config.block_size`` (the course GPT). **Context window**: the model only ever
sees the last ``block_size`` tokens. When prompt + generated text grows longer, the oldest tokens are dropped
from the input (a sliding window); generation goes on for as long as asked. Prompts are lists (or 1-D
tensors) of token ids and must hold at least one token: to start from nothing, start from the end-of-text
token. ``max_new_tokens=0`` returns an empty continuation; a negative one is an error.

**KV cache** (``use_cache=True``, the default, for the course GPT and any model whose ``forward`` takes a ``cache``
keyword, such as ``helpers.llama.Llama``): the keys and values of tokens already read are kept
(``helpers.gpt.KVCache``), so each step computes only the new token: the same tokens as without the cache, much
faster. The course GPT's positions are learned and absolute, so once the text outgrows the window the cache cannot
slide with it: from then on every step re-reads the last ``block_size`` tokens, as without it.

**Penalties** look at the whole text so far (prompt and new tokens), never only at the window the model sees.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field

import torch

from helpers.gpt import GPT, KVCache

EARLY_STOPPING = (True, False, "never")


# ----- input checks ------------------------------------------------------------------------------------------
def _vocab_size(model) -> int:
    return int(model.config.vocab_size)


def _device(model) -> torch.device:
    return next(model.parameters()).device


def check_prompt(prompt, vocab_size: int | None = None) -> list[int]:
    """A prompt (list of ids or 1-D tensor) as a list of ints; raises ValueError if it is empty or out of range."""
    if isinstance(prompt, str):
        raise TypeError("the prompt must be token ids, not text: encode it first (tok.encode(text))")
    if isinstance(prompt, torch.Tensor):
        if prompt.dim() != 1:
            raise ValueError(f"the prompt must be a 1-D sequence of token ids, got shape {tuple(prompt.shape)}")
        prompt = prompt.tolist()
    ids = [int(i) for i in prompt]
    if not ids:
        raise ValueError("the prompt is empty (the text encoded to no tokens): give at least one token; "
                         "to start from nothing, start from the end-of-text token [tok.eot_id]")
    if vocab_size is not None and (min(ids) < 0 or max(ids) >= vocab_size):
        raise ValueError(f"prompt token ids must lie in [0, {vocab_size}), got {min(ids)}..{max(ids)}")
    return ids


def check_max_new_tokens(max_new_tokens) -> int:
    """``max_new_tokens`` as an int >= 0 (0 means: return an empty continuation)."""
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int):
        raise TypeError(f"max_new_tokens must be an int, got {type(max_new_tokens).__name__}")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    return max_new_tokens


def _check_eot(eot_id, vocab_size: int) -> None:
    if eot_id is not None and not 0 <= int(eot_id) < vocab_size:
        raise ValueError(f"eot_id must be a token id in [0, {vocab_size}) or None, got {eot_id}")


def check_sampling(temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> None:
    """Raise ValueError for a temperature <= 0, a top_k < 1 or a top_p outside (0, 1] (None turns a filter off)."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not math.isfinite(temperature) \
            or temperature <= 0:
        raise ValueError(f"temperature must be a number > 0, got {temperature!r} "
                         "(for the most likely token every time, use greedy decoding)")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be an int >= 1 (or None for no top-k cut), got {top_k!r}")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1):
        raise ValueError(f"top_p must lie in (0, 1] (or None for no top-p cut), got {top_p!r}")


def _is_number(x) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x)


def check_penalties(repetition_penalty: float = 1.0, no_repeat_ngram_size: int | None = None,
                    frequency_penalty: float = 0.0, presence_penalty: float = 0.0) -> None:
    """Raise ValueError for a repetition penalty that is not a number > 0, an n-gram size that is not an int >= 0
    (0 or None = off), or a frequency / presence penalty that is not a finite number (0 = off)."""
    if not _is_number(repetition_penalty) or repetition_penalty <= 0:
        raise ValueError(f"repetition_penalty must be a number > 0 (1 = off; above 1 penalises tokens already in the "
                         f"text, below 1 rewards them), got {repetition_penalty!r}")
    if no_repeat_ngram_size is not None and (isinstance(no_repeat_ngram_size, bool)
                                             or not isinstance(no_repeat_ngram_size, int) or no_repeat_ngram_size < 0):
        raise ValueError(f"no_repeat_ngram_size must be an int >= 1 (0 or None = off), got {no_repeat_ngram_size!r}")
    for name, value in (("frequency_penalty", frequency_penalty), ("presence_penalty", presence_penalty)):
        if not _is_number(value):
            raise ValueError(f"{name} must be a finite number (0 = off; the OpenAI API allows -2 to 2), got {value!r}")


def _as_rows(logits: torch.Tensor, ids) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits (B, V), ids (B, T) long tensor on the logits' device); 1-D logits and ids count as one row."""
    if not torch.is_floating_point(logits) or logits.dim() not in (1, 2) or logits.shape[-1] == 0:
        raise ValueError(f"logits must be a float tensor (vocab,) or (B, vocab), got {tuple(logits.shape)}")
    ids = torch.as_tensor(ids, dtype=torch.long, device=logits.device)
    if logits.dim() == 1:
        logits, ids = logits[None], ids.reshape(1, -1)
    if ids.dim() != 2 or ids.shape[0] != logits.shape[0]:
        raise ValueError(f"ids must be (B, T) token ids, one row per row of logits ({logits.shape[0]}), "
                         f"got {tuple(ids.shape)}")
    if ids.numel() and (ids.min() < 0 or ids.max() >= logits.shape[-1]):
        raise ValueError(f"token ids must lie in [0, {logits.shape[-1]}), got {int(ids.min())}..{int(ids.max())}")
    return logits, ids


def apply_repetition_penalty(logits: torch.Tensor, ids, penalty: float) -> torch.Tensor:
    """The CTRL repetition penalty (Keskar et al. 2019), as Hugging Face's ``RepetitionPenaltyLogitsProcessor``.

    logits: (vocab,) or (B, vocab); ids: the tokens of the text so far, (T,) or (B, T). Every token that occurs in
    ``ids`` (once or many times: the penalty is applied once) has its logit divided by ``penalty`` if it is
    positive and multiplied by it if it is negative, so a penalty > 1 always lowers it. (Keskar et al. divide every
    logit by the penalty; for a negative logit that would raise the token's probability, hence the sign rule.)
    The result depends on where zero lies among the raw logits, which softmax ignores. Returns new logits.
    """
    check_penalties(repetition_penalty=penalty)
    rows, ids = _as_rows(logits, ids)
    seen = torch.zeros_like(rows, dtype=torch.bool).scatter_(1, ids, True)  # (B, V): in the text?
    penalised = torch.where(rows > 0, rows / penalty, rows * penalty)
    return torch.where(seen, penalised, rows).reshape(logits.shape)


def banned_ngram_tokens(ids, n: int) -> list[int]:
    """The tokens that would complete an n-gram already in ``ids`` (a list of token ids), sorted.

    The last n - 1 tokens of ``ids`` are the start of the next n-gram; every earlier place where the same n - 1
    tokens occur was followed by some token, and repeating that token would repeat an n-gram. For n = 1 every
    token already in ``ids`` is banned. Fewer than n tokens: nothing is banned yet.
    """
    ids = [int(i) for i in ids]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    if len(ids) < n:
        return []
    prefix = ids[len(ids) - n + 1:]  # the first n - 1 tokens of the n-gram the next token would complete
    return sorted({ids[i + n - 1] for i in range(len(ids) - n + 1) if ids[i:i + n - 1] == prefix})


def ban_repeated_ngrams(logits: torch.Tensor, ids, n: int) -> torch.Tensor:
    """``no_repeat_ngram_size``: set to -inf the logit of every token that would complete an n-gram already in
    ``ids`` (see ``banned_ngram_tokens``); as Hugging Face's ``NoRepeatNGramLogitsProcessor``.

    logits: (vocab,) or (B, vocab); ids: the text so far, (T,) or (B, T). Returns new logits.
    """
    rows, ids = _as_rows(logits, ids)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    banned = torch.zeros_like(rows, dtype=torch.bool)  # (B, V)
    if ids.shape[1] >= n:
        windows = ids.unfold(1, n, 1)  # (B, T - n + 1, n): every n-gram of each row
        prefix = ids[:, ids.shape[1] - n + 1:]  # (B, n - 1): the n-gram the next token would complete
        match = (windows[..., :-1] == prefix[:, None, :]).all(-1)  # (B, T - n + 1): n-grams that start alike
        rows_, cols = match.nonzero(as_tuple=True)
        banned[rows_, windows[rows_, cols, -1]] = True
    return rows.masked_fill(banned, float("-inf")).reshape(logits.shape)


def apply_frequency_presence(logits: torch.Tensor, generated, frequency_penalty: float = 0.0,
                             presence_penalty: float = 0.0) -> torch.Tensor:
    """The OpenAI API's penalties: logit - count x frequency_penalty - (count > 0) x presence_penalty.

    logits: (vocab,) or (B, vocab); generated: the tokens generated so far, (G,) or (B, G) (G may be 0), whose
    ``count`` per token is taken ("how often the token was sampled prior to the current position": the prompt
    does not count). The frequency penalty grows with each repeat; the presence penalty is paid once. Returns
    new logits.
    """
    check_penalties(frequency_penalty=frequency_penalty, presence_penalty=presence_penalty)
    rows, generated = _as_rows(logits, generated)
    counts = torch.zeros_like(rows).scatter_add_(1, generated, torch.ones_like(generated, dtype=rows.dtype))
    return (rows - counts * frequency_penalty - (counts > 0).to(rows.dtype) * presence_penalty).reshape(logits.shape)


def penalize_logits(logits: torch.Tensor, ids, n_prompt: int = 0, repetition_penalty: float = 1.0,
                    no_repeat_ngram_size: int | None = None, frequency_penalty: float = 0.0,
                    presence_penalty: float = 0.0) -> torch.Tensor:
    """All the repetition penalties, in this order: CTRL (``apply_repetition_penalty``), frequency and presence
    (``apply_frequency_presence``), n-gram ban (``ban_repeated_ngrams``). Each is skipped when off.

    logits: (vocab,) or (B, vocab); ids: the whole text so far, prompt then generated tokens, (T,) or (B, T);
    n_prompt: how many of its first tokens are the prompt. The CTRL penalty and the n-gram ban look at the whole
    text, prompt included (as Hugging Face's ``generate`` does for decoder-only models; Keskar et al. speak of the
    generated tokens); the frequency and presence penalties count only the generated tokens (the OpenAI API counts
    how often a token was sampled before the current position). In the decoders they act before temperature, top-k
    and top-p, as in Hugging Face's ``generate`` (for beam search, on the log-probabilities: see ``beam_search``).
    """
    check_penalties(repetition_penalty, no_repeat_ngram_size, frequency_penalty, presence_penalty)
    ids = torch.as_tensor(ids, dtype=torch.long, device=logits.device)
    if repetition_penalty != 1.0:
        logits = apply_repetition_penalty(logits, ids, repetition_penalty)
    if frequency_penalty != 0.0 or presence_penalty != 0.0:
        logits = apply_frequency_presence(logits, ids[..., n_prompt:], frequency_penalty, presence_penalty)
    if no_repeat_ngram_size:
        logits = ban_repeated_ngrams(logits, ids, no_repeat_ngram_size)
    return logits


def _penalties_on(penalties: dict) -> bool:
    check_penalties(**penalties)
    return (penalties["repetition_penalty"] != 1.0 or bool(penalties["no_repeat_ngram_size"])
            or penalties["frequency_penalty"] != 0.0 or penalties["presence_penalty"] != 0.0)


# ----- the model's next-token scores --------------------------------------------------------------------------
def crop_context(idx: torch.Tensor, block_size: int) -> torch.Tensor:
    """The last ``block_size`` tokens of each row of ``idx`` (B, T): what the model can see."""
    return idx if idx.shape[1] <= block_size else idx[:, -block_size:]


def new_cache(model, use_cache: bool = True) -> KVCache | None:
    """A fresh ``KVCache`` when ``use_cache`` and the model accepts one (the course GPT, or any model called as
    ``model(idx, cache=...)``, such as ``helpers.llama.Llama``), else None."""
    if not use_cache:
        return None
    if isinstance(model, GPT):
        return KVCache()
    try:
        takes_cache = "cache" in inspect.signature(model.forward).parameters
    except (AttributeError, TypeError, ValueError):
        takes_cache = False
    return KVCache() if takes_cache else None


@torch.no_grad()
def next_token_logits(model, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
    """Logits (B, vocab) for the token after each row of ``idx`` (B, T), seeing at most ``block_size`` tokens.

    With a ``cache`` that holds the first tokens of ``idx`` (from the previous call), only the rest is read.
    Once ``idx`` is longer than the window, the cache is refilled from the last ``block_size`` tokens each call.
    """
    block_size = model.config.block_size
    if cache is None:
        logits, _ = model(crop_context(idx, block_size))  # (B, T', vocab)
    elif idx.shape[1] > block_size or len(cache) >= idx.shape[1]:  # the window slid: positions moved
        cache.clear()
        logits, _ = model(crop_context(idx, block_size), cache=cache)
    else:
        logits, _ = model(idx[:, len(cache):], cache=cache)  # (B, new tokens, vocab)
    return logits[:, -1, :].float()


# ----- temperature, top-k, top-p ------------------------------------------------------------------------------
def filter_logits(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None) -> torch.Tensor:
    """Apply, in this order, temperature (logits / temperature), top-k and top-p to ``logits`` (..., vocab).

    Returns logits of the same shape with the cut-off tokens set to -inf, so ``softmax`` of the result is the
    renormalised distribution to sample from. Same order and rules as Hugging Face's Temperature-, TopK- and
    TopPLogitsWarper: top-k keeps every token whose logit is >= the k-th largest (ties at the border stay);
    top-p keeps a token when the probability of the tokens strictly more likely than it is < p (the smallest
    set of top tokens whose mass reaches p; the most likely token always stays). top_p=1 or None keeps all.
    """
    check_sampling(temperature, top_k, top_p)
    if not torch.is_floating_point(logits) or logits.dim() < 1 or logits.shape[-1] == 0:
        raise ValueError(f"logits must be a float tensor (..., vocab) with vocab >= 1, got {tuple(logits.shape)}")
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]  # (..., 1): the k-th largest logit
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        probs, order = logits.softmax(dim=-1).sort(dim=-1, descending=True)  # (..., vocab), most likely first
        mass_before = probs.cumsum(dim=-1) - probs  # probability of the tokens ranked above each one
        cut_sorted = mass_before >= top_p
        cut = cut_sorted.scatter(-1, order, cut_sorted)  # back to vocabulary order
        logits = logits.masked_fill(cut, float("-inf"))
    return logits


def next_token_distribution(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                            top_p: float | None = None) -> torch.Tensor:
    """softmax(filter_logits(...)): the probabilities (..., vocab) that sampling draws from; cut tokens get 0."""
    return filter_logits(logits, temperature, top_k, top_p).softmax(dim=-1)


# ----- greedy decoding and sampling ---------------------------------------------------------------------------
@torch.no_grad()
def greedy(model, prompt, max_new_tokens: int, eot_id: int | None = None, use_cache: bool = True, *,
           repetition_penalty: float = 1.0, no_repeat_ngram_size: int | None = None, frequency_penalty: float = 0.0,
           presence_penalty: float = 0.0) -> list[int]:
    """Greedy decoding: append the most likely next token, ``max_new_tokens`` times.

    prompt: token ids (at least one). Returns the new tokens only. With ``eot_id``, stops after emitting it
    (the end-of-text token is included, as Hugging Face's ``generate`` does). ``use_cache``: see the module notes.
    The penalties (all off by default) reshape the logits before the argmax: see ``penalize_logits``.
    """
    ids = check_prompt(prompt, _vocab_size(model))
    check_max_new_tokens(max_new_tokens)
    _check_eot(eot_id, _vocab_size(model))
    penalties = {"repetition_penalty": repetition_penalty, "no_repeat_ngram_size": no_repeat_ngram_size,
                 "frequency_penalty": frequency_penalty, "presence_penalty": presence_penalty}
    penalise = _penalties_on(penalties)
    idx = torch.tensor([ids], device=_device(model))  # (1, T)
    cache = new_cache(model, use_cache)
    new: list[int] = []
    for _ in range(max_new_tokens):
        logits = next_token_logits(model, idx, cache)  # (1, V)
        if penalise:
            logits = penalize_logits(logits, idx, len(ids), **penalties)
        token = int(logits[0].argmax())
        new.append(token)
        if token == eot_id:
            break
        idx = torch.cat([idx, torch.tensor([[token]], device=idx.device)], dim=1)
    return new


@torch.no_grad()
def sample_batch(model, prompt, max_new_tokens: int, num_samples: int, temperature: float = 1.0,
                 top_k: int | None = None, top_p: float | None = None, eot_id: int | None = None,
                 generator: torch.Generator | None = None, use_cache: bool = True, *,
                 repetition_penalty: float = 1.0, no_repeat_ngram_size: int | None = None,
                 frequency_penalty: float = 0.0, presence_penalty: float = 0.0) -> list[list[int]]:
    """Draw ``num_samples`` continuations of one prompt at once (a batch). Returns a list of token-id lists.

    Each step draws the next token from ``next_token_distribution`` (temperature, top-k, top-p), after the
    penalties (all off by default; each sample is penalised for its own text: see ``penalize_logits``). Draws use
    ``generator`` (a CPU ``torch.Generator``; None = torch's global one), on CPU probabilities, so a seed gives
    the same text on any device. With ``eot_id``, each sample is cut after its first end-of-text token.
    """
    ids = check_prompt(prompt, _vocab_size(model))
    check_max_new_tokens(max_new_tokens)
    check_sampling(temperature, top_k, top_p)
    _check_eot(eot_id, _vocab_size(model))
    penalties = {"repetition_penalty": repetition_penalty, "no_repeat_ngram_size": no_repeat_ngram_size,
                 "frequency_penalty": frequency_penalty, "presence_penalty": presence_penalty}
    penalise = _penalties_on(penalties)
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples must be an int >= 1, got {num_samples!r}")
    idx = torch.tensor([ids] * num_samples, device=_device(model))  # (N, T)
    cache = new_cache(model, use_cache)
    done = torch.zeros(num_samples, dtype=torch.bool)
    for _ in range(max_new_tokens):
        logits = next_token_logits(model, idx, cache)  # (N, V)
        if penalise:
            logits = penalize_logits(logits, idx, len(ids), **penalties)
        probs = next_token_distribution(logits, temperature, top_k, top_p).cpu()  # (N, V)
        token = torch.multinomial(probs, 1, generator=generator)  # (N, 1)
        idx = torch.cat([idx, token.to(idx.device)], dim=1)
        if eot_id is not None:
            done |= token[:, 0] == eot_id
            if done.all():
                break
    out = idx[:, len(ids):].tolist()
    if eot_id is not None:
        out = [row[: row.index(eot_id) + 1] if eot_id in row else row for row in out]
    return out


def sample(model, prompt, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
           top_p: float | None = None, eot_id: int | None = None,
           generator: torch.Generator | None = None, use_cache: bool = True, *, repetition_penalty: float = 1.0,
           no_repeat_ngram_size: int | None = None, frequency_penalty: float = 0.0,
           presence_penalty: float = 0.0) -> list[int]:
    """One sampled continuation (the new tokens); see ``sample_batch`` (also for the penalties)."""
    return sample_batch(model, prompt, max_new_tokens, 1, temperature, top_k, top_p, eot_id, generator,
                        use_cache, repetition_penalty=repetition_penalty, no_repeat_ngram_size=no_repeat_ngram_size,
                        frequency_penalty=frequency_penalty, presence_penalty=presence_penalty)[0]


# ----- beam search --------------------------------------------------------------------------------------------
@dataclass
class Hypothesis:
    """A finished beam: its new tokens, their summed log-probability, and its score log_prob / length**alpha."""

    tokens: list[int]
    log_prob: float
    score: float


@dataclass
class BeamResult:
    """What ``beam_search`` found.

    ``tokens`` / ``log_prob`` / ``score``: the best finished hypothesis; ``hypotheses``: all kept aside (best
    first, at most ``width``); ``steps`` (with ``trace=True``): per step, the 2 x width best candidates as dicts
    ``{"parent": index of the live beam it extends, "token", "log_prob" (summed), "status": "kept" (a live beam
    for the next step), "finished" (kept aside) or "pruned"}``, in rank order.
    """

    tokens: list[int]
    log_prob: float
    score: float
    hypotheses: list[Hypothesis]
    steps: list[list[dict]] = field(default_factory=list)


@torch.no_grad()
def beam_search(model, prompt, width: int, max_new_tokens: int, alpha: float = 1.0, eot_id: int | None = None,
                early_stopping: bool | str = True, trace: bool = False, use_cache: bool = True, *,
                repetition_penalty: float = 1.0, no_repeat_ngram_size: int | None = None,
                frequency_penalty: float = 0.0, presence_penalty: float = 0.0) -> BeamResult:
    """Beam search with ``width`` beams and length normalisation score = log_prob / length**alpha.

    The rules (Hugging Face's ``generate(num_beams=width, length_penalty=alpha, early_stopping=...)`` with no
    other processors, do_sample=False, follows the same ones, so both give the same tokens):

    1. Start with one live beam: the prompt, log-probability 0.
    2. Each step, extend every live beam by every token (summing log-probabilities) and rank the candidates;
       look at the best 2 x width.
    3. A candidate among the first ``width`` that ends with ``eot_id`` is finished: it is kept aside with
       score = log_prob / length**alpha (length = new tokens, the end-of-text token included). The best
       ``width`` candidates that do not end with ``eot_id`` are the live beams of the next step; the rest are
       pruned. At step ``max_new_tokens`` the first ``width`` candidates all finish.
    4. Only the ``width`` best finished hypotheses are kept aside.
    5. Stop after ``max_new_tokens`` steps, or earlier: ``early_stopping=True`` stops as soon as ``width``
       hypotheses are kept aside; ``False`` stops when that many are kept aside and the best live beam's
       log_prob / (current length)**alpha is no better than the worst of them; ``"never"`` is the same, but for
       alpha > 0 divides by max_new_tokens**alpha instead (an upper bound: then stopping never loses the best).

    alpha = 0 ranks by summed log-probability (favours short endings); alpha = 1 by average log-probability per
    token. Returns a ``BeamResult`` (the best finished hypothesis first). max_new_tokens=0 returns no tokens.
    ``use_cache``: see the module notes (the cache's rows follow the beams kept at each step).

    Penalties (all off by default; see ``penalize_logits``): as in Hugging Face's beam search, they act on each
    beam's next-token **log-probabilities**, which are then summed, so ``log_prob`` and ``score`` are those of
    the penalised log-probabilities, the numbers the search ranks by (``token_log_probs`` gives the model's own).
    On log-probabilities (all <= 0) the CTRL penalty multiplies a seen token's log-probability by the penalty.
    """
    V = _vocab_size(model)
    ids = check_prompt(prompt, V)
    check_max_new_tokens(max_new_tokens)
    _check_eot(eot_id, V)
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= V // 2:
        raise ValueError(f"width must be an int in [1, {V // 2}] (half the vocabulary), got {width!r}")
    if early_stopping not in EARLY_STOPPING:
        raise ValueError(f"early_stopping must be True, False or 'never', got {early_stopping!r}")
    if not math.isfinite(alpha):
        raise ValueError(f"alpha must be a finite number, got {alpha}")
    penalties = {"repetition_penalty": repetition_penalty, "no_repeat_ngram_size": no_repeat_ngram_size,
                 "frequency_penalty": frequency_penalty, "presence_penalty": presence_penalty}
    penalise = _penalties_on(penalties)
    device = _device(model)
    live = torch.tensor([ids], device=device)  # (n_live, T): every live beam has the same length
    live_scores = torch.zeros(1, device=device)  # (n_live,) summed log-probabilities, best first
    cache = new_cache(model, use_cache)
    finished: list[Hypothesis] = []
    steps: list[list[dict]] = []
    for step in range(1, max_new_tokens + 1):
        logp = next_token_logits(model, live, cache).log_softmax(dim=-1)  # (n_live, V)
        if penalise:
            logp = penalize_logits(logp, live, len(ids), **penalties)  # each beam penalised for its own text
        total = (live_scores[:, None] + logp).view(-1)  # (n_live * V,) every extension of every beam
        top_scores, top_index = total.topk(min(2 * width, total.numel()))  # best 2 x width, best first
        parents, tokens = (top_index // V).tolist(), (top_index % V).tolist()
        last = step == max_new_tokens
        keep_parent, keep_token, keep_score, records = [], [], [], []
        for rank, (parent, token, score) in enumerate(zip(parents, tokens, top_scores.tolist(), strict=True)):
            status = "pruned"
            if (token == eot_id or last) and rank < width:
                new_tokens = live[parent, len(ids):].tolist() + [token]
                finished.append(Hypothesis(new_tokens, score, score / step**alpha))
                status = "finished"
            elif token != eot_id and not last and len(keep_token) < width:
                keep_parent.append(parent)
                keep_token.append(token)
                keep_score.append(top_scores[rank])
                status = "kept"
            records.append({"parent": parent, "token": token, "log_prob": score, "status": status})
        finished = sorted(finished, key=lambda h: h.score, reverse=True)[:width]  # stable: earlier ones win ties
        if trace:
            steps.append(records)
        if last:
            break
        live = torch.cat([live[keep_parent], torch.tensor(keep_token, device=device)[:, None]], dim=1)
        if cache is not None:
            cache.reorder(keep_parent)  # each kept beam continues from its parent's keys and values
        live_scores = torch.stack(keep_score)
        if len(finished) == width:
            if early_stopping is True:
                break
            length = max_new_tokens if (early_stopping == "never" and alpha > 0) else step
            if not float(live_scores[0]) / length**alpha > finished[-1].score:
                break
    if not finished:  # max_new_tokens == 0
        return BeamResult([], 0.0, 0.0, [], steps)
    best = finished[0]
    return BeamResult(best.tokens, best.log_prob, best.score, finished, steps)


# ----- scoring and text statistics ----------------------------------------------------------------------------
@torch.no_grad()
def _continuation_log_probs(model, prompt, continuations) -> tuple[torch.Tensor, torch.Tensor]:
    """(continuations (N, L) on the model's device, log-probabilities (N, L, vocab) of every next token)."""
    ids = check_prompt(prompt, _vocab_size(model))
    cont = torch.as_tensor(continuations, dtype=torch.long)
    if cont.dim() != 2:
        raise ValueError(f"continuations must be (N, L) token ids or N equal-length lists, got {tuple(cont.shape)}")
    N, L = cont.shape
    device = _device(model)
    full = torch.cat([torch.tensor([ids] * N), cont], dim=1).to(device)  # (N, P + L)
    P, bs = len(ids), model.config.block_size
    if L == 0:
        return cont.to(device), torch.zeros(N, 0, _vocab_size(model), device=device)
    if P + L - 1 <= bs:  # one forward pass sees everything
        logits, _ = model(full[:, :-1])  # (N, P + L - 1, V)
        logp = logits[:, P - 1:].float().log_softmax(dim=-1)  # (N, L, V)
    else:  # token by token, each with its own window of the last block_size tokens
        logp = torch.stack([next_token_logits(model, full[:, :P + t]).log_softmax(-1) for t in range(L)], dim=1)
    return cont.to(device), logp


def token_log_probs(model, prompt, continuations) -> torch.Tensor:
    """log P(token | everything before it) for each token of each continuation, as generation saw it.

    continuations: (N, L) ids, or a list of N equal-length lists. Returns (N, L) log-probabilities. Each token is
    predicted from at most the last ``block_size`` tokens before it (the same sliding window as generation).
    """
    cont, logp = _continuation_log_probs(model, prompt, continuations)
    return logp.gather(-1, cont[..., None])[..., 0].cpu()  # (N, L)


def token_ranks(model, prompt, continuations) -> tuple[torch.Tensor, torch.Tensor]:
    """Where each token of each continuation sat in the model's next-token distribution when it was chosen.

    Same inputs as ``token_log_probs``. Returns two (N, L) tensors: ``rank`` (1 = the most likely token; a token
    outside the top k has rank > k) and ``mass_above``, the probability of the tokens strictly more likely than
    it. A token lies inside the top-p nucleus when ``mass_above < p`` (the rule of ``filter_logits``, up to exact
    ties), so ``(mass_above >= p).float().mean()`` is the share of tokens drawn from outside the nucleus.
    """
    cont, logp = _continuation_log_probs(model, prompt, continuations)
    chosen = logp.gather(-1, cont[..., None])  # (N, L, 1)
    above = logp > chosen  # (N, L, V): strictly more likely tokens
    rank = above.sum(-1) + 1
    mass_above = (logp.exp() * above).sum(-1)
    return rank.cpu(), mass_above.cpu()


def _ngrams(ids, n: int) -> list[tuple[int, ...]]:
    return [tuple(ids[i:i + n]) for i in range(len(ids) - n + 1)]


def repeated_ngram_rate(ids, n: int = 4) -> float:
    """Share of the n-grams of one text that already occurred earlier in it (0 = no repeats; loops -> 1).

    ids: a list of token ids; texts shorter than n have no n-gram and give 0.0.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    grams = _ngrams(list(ids), n)
    return 0.0 if not grams else 1.0 - len(set(grams)) / len(grams)


DISTINCT_DENOMINATORS = ("tokens", "ngrams")


def distinct_n(texts, n: int = 2, denominator: str = "ngrams") -> float:
    """Distinct-n: the number of distinct n-grams over all the texts (a list of token-id lists), divided by

    - ``denominator="tokens"``: the total number of tokens, as Li et al. (2016) define it ("the number of
      distinct unigrams and bigrams ... scaled by total number of generated tokens"; notebook 12 uses this);
    - ``denominator="ngrams"`` (the default, kept for notebook 13's per-text diversity score): the total number
      of n-grams, L - n + 1 per text of L tokens, so that a text with no repeated n-gram scores exactly 1.

    The two are equal for n = 1; for n > 1 the "ngrams" value is larger by the factor
    tokens / (tokens - (n - 1) x number of texts): 64 / 63 for one text of 64 tokens and n = 2.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if denominator not in DISTINCT_DENOMINATORS:
        raise ValueError(f"denominator must be one of {DISTINCT_DENOMINATORS}, got {denominator!r}")
    texts = [list(ids) for ids in texts]
    grams = [g for ids in texts for g in _ngrams(ids, n)]
    if not grams:
        raise ValueError(f"no {n}-grams: the texts are all shorter than {n} tokens")
    total = sum(len(ids) for ids in texts) if denominator == "tokens" else len(grams)
    return len(set(grams)) / total
