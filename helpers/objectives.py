"""Pretraining objectives of BERT and T5, and the attention masks of the three families (notebook 07).

- ``mask_tokens``: BERT's masked language model input. 15% of the tokens are selected; of those, 80% become
  [MASK], 10% a random token, 10% stay unchanged. Labels hold the original token where selected, -100 elsewhere
  (the ``ignore_index`` of ``torch.nn.functional.cross_entropy``).
- ``nsp_pairs``: BERT's next-sentence prediction pairs: half true next sentences, half random ones.
- ``random_span_mask``, ``apply_span_mask``, ``span_corruption``, ``reassemble_spans``: T5's span corruption.
  Spans of noise (15% of the tokens, mean span length 3) are replaced in the input by sentinel tokens; the target
  lists each sentinel followed by the tokens it hides, and ends with one more sentinel.
- Masks (True = may attend, as in ``helpers.attention``): ``causal_mask`` (GPT, re-exported from
  ``helpers.attention``), ``bidirectional_mask`` (BERT), ``encoder_decoder_masks`` and ``joint_mask`` (T5).

>>> g = torch.Generator().manual_seed(0)
>>> inputs, labels = mask_tokens(ids, mask_id=2048, vocab_size=2048, generator=g)
>>> inputs, targets = span_corruption(ids, sentinel_ids=range(2048, 2058), generator=g)
>>> assert torch.equal(reassemble_spans(inputs, targets, range(2048, 2058)), ids)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from helpers.attention import causal_mask

IGNORE_INDEX = -100  # label of positions the loss skips (cross_entropy's default ignore_index)

__all__ = ["IGNORE_INDEX", "mask_tokens", "nsp_pairs", "random_span_mask", "apply_span_mask", "span_corruption",
           "reassemble_spans", "causal_mask", "bidirectional_mask", "encoder_decoder_masks", "joint_mask"]


def _check_ids(ids, name: str = "ids", one_dim: bool = False) -> torch.Tensor:
    ids = torch.as_tensor(ids)
    if ids.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8, torch.int8):
        raise TypeError(f"{name} must hold integer token ids, got dtype {ids.dtype}")
    if ids.numel() == 0:
        raise ValueError(f"{name} is empty: give at least one token id")
    if one_dim and ids.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of token ids, got shape {tuple(ids.shape)}")
    if (ids < 0).any():
        raise ValueError(f"{name} must be non-negative token ids, got minimum {int(ids.min())}")
    return ids.long()


def _check_fraction(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value}")


# ----- BERT -------------------------------------------------------------------------------------------


def mask_tokens(ids, mask_id: int, vocab_size: int, p: float = 0.15, generator: torch.Generator | None = None,
                special_ids: Iterable[int] = ()) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking: select each token with probability ``p``; of the selected, 80% -> ``mask_id``,
    10% -> a random token in ``[0, vocab_size)``, 10% unchanged.

    ids: integer tensor of any shape, e.g. (B, T). Tokens in ``special_ids`` (separators, padding) are never
    selected. Returns ``(inputs, labels)``, both shaped like ``ids``: ``inputs`` is what the model reads,
    ``labels`` is the original token at selected positions and ``IGNORE_INDEX`` (-100) everywhere else.
    A random replacement may, with probability 1 / vocab_size, draw the original token itself.
    """
    ids = _check_ids(ids)
    _check_fraction("p", p)
    if vocab_size < 1:
        raise ValueError(f"vocab_size must be at least 1, got {vocab_size}")
    selected = torch.rand(ids.shape, generator=generator) < p  # each token independently, probability p
    special = torch.tensor(sorted(set(special_ids)), dtype=torch.long)
    if special.numel():
        selected &= ~torch.isin(ids, special)
    labels = torch.where(selected, ids, torch.full_like(ids, IGNORE_INDEX))
    roll = torch.rand(ids.shape, generator=generator)  # one uniform number decides what a selected token becomes
    random_tokens = torch.randint(vocab_size, ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[selected & (roll < 0.8)] = mask_id  # 80%: [MASK]
    swap = selected & (roll >= 0.8) & (roll < 0.9)  # 10%: a random token
    inputs[swap] = random_tokens[swap]  # the other 10%: left as they are
    return inputs, labels


def nsp_pairs(sentences: Sequence, generator: torch.Generator | None = None,
              p_next: float = 0.5) -> list[tuple[object, object, bool]]:
    """BERT's next-sentence prediction data: one pair per sentence that has a successor.

    For sentence i: with probability ``p_next`` the pair is (sentence i, sentence i+1, True) ("IsNext"),
    otherwise (sentence i, a random other sentence, False) ("NotNext"); the random one is never sentence i
    or i+1. ``sentences`` is a sequence of anything (strings, id lists) in reading order, at least 3.
    Returns a list of ``(first, second, is_next)``. (Hugging Face's BERT labels IsNext 0 and NotNext 1.)
    """
    n = len(sentences)
    if n < 3:
        raise ValueError(f"nsp_pairs needs at least 3 sentences (a random partner must differ from the true "
                         f"next one), got {n}")
    _check_fraction("p_next", p_next)
    pairs = []
    for i in range(n - 1):
        if torch.rand((), generator=generator).item() < p_next:
            pairs.append((sentences[i], sentences[i + 1], True))
        else:
            j = int(torch.randint(n - 2, (), generator=generator))  # any index except i and i + 1
            j = j if j < i else j + 2
            pairs.append((sentences[i], sentences[j], False))
    return pairs


# ----- T5 ---------------------------------------------------------------------------------------------


def _segment(n_items: int, n_segments: int, generator: torch.Generator | None) -> torch.Tensor:
    """Split n_items into n_segments positive lengths, uniformly at random: cut at n_segments - 1 of the
    n_items - 1 gaps."""
    cuts = (torch.randperm(n_items - 1, generator=generator)[: n_segments - 1] + 1).sort().values
    edges = torch.cat([torch.tensor([0]), cuts, torch.tensor([n_items])])
    return edges.diff()


def span_counts(length: int, noise_density: float = 0.15, mean_span: float = 3.0) -> tuple[int, int]:
    """How many tokens T5 corrupts in a sequence of ``length``, and in how many spans (as in T5's code):
    noise = round(length x density), kept in 1..length-1; spans = round(noise / mean_span), at least 1 and
    at most the number of clean tokens + 1."""
    if length < 2:
        raise ValueError(f"span corruption needs at least 2 tokens, got {length}")
    _check_fraction("noise_density", noise_density)
    if not mean_span >= 1:
        raise ValueError(f"mean_span must be at least 1, got {mean_span}")
    n_noise = min(max(round(length * noise_density), 1), length - 1)
    n_spans = min(max(round(n_noise / mean_span), 1), length - n_noise + 1)
    return n_noise, n_spans


def random_span_mask(length: int, noise_density: float = 0.15, mean_span: float = 3.0,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """A (length,) boolean noise mask: ``span_counts`` noise tokens in that many spans of random lengths.

    Like T5's ``random_spans_noise_mask``: the noise tokens and the clean tokens are each cut into random
    segments, then interleaved. Here the clean text may also be empty at either end, so a span can sit at the
    start or the end (T5's original always ended with a noise span; its later ``random_roll`` option fixed that).
    """
    n_noise, n_spans = span_counts(length, noise_density, mean_span)
    noise_lengths = _segment(n_noise, n_spans, generator)  # (n_spans,), each >= 1
    clean = _segment(length - n_noise + 2, n_spans + 1, generator)  # n_spans + 1 gaps, the two ends may be 0
    clean[0] -= 1
    clean[-1] -= 1
    mask = torch.zeros(length, dtype=torch.bool)
    pos = 0
    for gap, span in zip(clean[:-1].tolist(), noise_lengths.tolist(), strict=True):
        pos += gap
        mask[pos:pos + span] = True
        pos += span
    return mask


def _check_sentinels(sentinel_ids, ids: torch.Tensor, needed: int) -> list[int]:
    sentinels = [int(s) for s in sentinel_ids]
    if len(set(sentinels)) != len(sentinels):
        raise ValueError("sentinel_ids must be distinct")
    if len(sentinels) < needed:
        raise ValueError(f"too few sentinels: this corruption has {needed - 1} spans and needs {needed} "
                         f"sentinel ids (one per span, one to end the targets), got {len(sentinels)}")
    if torch.isin(ids, torch.tensor(sentinels, dtype=torch.long)).any():
        raise ValueError("ids already contain a sentinel id: sentinels must be ids the text never uses")
    return sentinels


def apply_span_mask(ids, noise_mask: torch.Tensor, sentinel_ids: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Replace each span of ``noise_mask`` in ``ids`` by the next sentinel; return ``(inputs, targets)``.

    ids: (T,) token ids; noise_mask: (T,) booleans. inputs: the clean tokens with one sentinel where each span
    was. targets: each sentinel followed by the tokens it hides, then one final sentinel ("the end").
    The paper's example: "Thank you <X> me to your party <Y> week." -> "<X> for inviting <Y> last <Z>".
    """
    ids = _check_ids(ids, one_dim=True)
    noise_mask = torch.as_tensor(noise_mask)
    if noise_mask.dtype != torch.bool or noise_mask.shape != ids.shape:
        raise ValueError(f"noise_mask must be booleans shaped like ids {tuple(ids.shape)}, got "
                         f"{noise_mask.dtype} {tuple(noise_mask.shape)}")
    starts = noise_mask & ~torch.cat([torch.tensor([False]), noise_mask[:-1]])  # (T,): first token of each span
    sentinels = _check_sentinels(sentinel_ids, ids, int(starts.sum()) + 1)
    inputs, targets, span = [], [], -1
    for token, noisy, start in zip(ids.tolist(), noise_mask.tolist(), starts.tolist(), strict=True):
        if start:
            span += 1
            inputs.append(sentinels[span])
            targets.append(sentinels[span])
        (targets if noisy else inputs).append(token)
    targets.append(sentinels[span + 1])
    return torch.tensor(inputs), torch.tensor(targets)


def span_corruption(ids, sentinel_ids: Sequence[int], noise_density: float = 0.15, mean_span: float = 3.0,
                    generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """T5's pretraining objective on one sequence: ``random_span_mask`` then ``apply_span_mask``.

    ids: (T,) token ids, T >= 2. Returns ``(inputs, targets)``: inputs has T - noise + spans tokens, targets
    noise + spans + 1 (see ``span_counts``); both lengths depend only on T, so a batch of equal-length
    sequences stacks. Needs at least spans + 1 sentinel ids, none of them in ``ids``.
    """
    ids = _check_ids(ids, one_dim=True)
    _check_sentinels(sentinel_ids, ids, span_counts(len(ids), noise_density, mean_span)[1] + 1)
    mask = random_span_mask(len(ids), noise_density, mean_span, generator)
    return apply_span_mask(ids, mask, sentinel_ids)


def reassemble_spans(inputs, targets, sentinel_ids: Sequence[int]) -> torch.Tensor:
    """Undo ``apply_span_mask``: put back, in place of each sentinel in ``inputs``, the tokens that follow the
    same sentinel in ``targets``. Returns the original (T,) sequence."""
    inputs, targets = _check_ids(inputs, "inputs", True), _check_ids(targets, "targets", True)
    sentinels = {int(s) for s in sentinel_ids}
    hidden, current = {}, None
    for token in targets.tolist():
        if token in sentinels:
            current = token
            hidden[current] = []
        elif current is None:
            raise ValueError("targets must start with a sentinel")
        else:
            hidden[current].append(token)
    out = []
    for token in inputs.tolist():
        if token in sentinels:
            if token not in hidden:
                raise ValueError(f"sentinel {token} is in inputs but not in targets")
            out.extend(hidden[token])
        else:
            out.append(token)
    return torch.tensor(out)


# ----- attention masks of the three families (True = may attend) --------------------------------------


def bidirectional_mask(T: int, device=None) -> torch.Tensor:
    """(T, T) all True: every position sees every other (BERT, T5's encoder)."""
    if T < 1:
        raise ValueError(f"T must be at least 1, got {T}")
    return torch.ones(T, T, dtype=torch.bool, device=device)


def encoder_decoder_masks(src_len: int, tgt_len: int, device=None) -> dict[str, torch.Tensor]:
    """The three masks of an encoder-decoder (T5): ``encoder`` (src, src) full self-attention, ``decoder``
    (tgt, tgt) causal self-attention, ``cross`` (tgt, src) full: every decoder position reads the whole input."""
    if src_len < 1 or tgt_len < 1:
        raise ValueError(f"src_len and tgt_len must be at least 1, got {src_len} and {tgt_len}")
    return {"encoder": bidirectional_mask(src_len, device), "decoder": causal_mask(tgt_len, device),
            "cross": torch.ones(tgt_len, src_len, dtype=torch.bool, device=device)}


def joint_mask(src_len: int, tgt_len: int, device=None) -> torch.Tensor:
    """The encoder-decoder's masks as one (src + tgt, src + tgt) picture: rows are queries (encoder positions,
    then decoder positions), columns keys. Encoder rows see the encoder only; decoder rows see the whole
    encoder (cross-attention) and the decoder up to themselves."""
    m = encoder_decoder_masks(src_len, tgt_len, device)
    out = torch.zeros(src_len + tgt_len, src_len + tgt_len, dtype=torch.bool, device=device)
    out[:src_len, :src_len] = m["encoder"]
    out[src_len:, :src_len] = m["cross"]
    out[src_len:, src_len:] = m["decoder"]
    return out
