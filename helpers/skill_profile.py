"""A FLASK-style skill profile of generated text: five automatic measures, 0..1, and a radar chart (notebook 13).

FLASK (Ye et al. 2023) scores open-ended answers on fine-grained skills; notebook 13 builds automatic stand-ins
for a few skills of continuing a play, per generated text:

- ``layout_share``, ``speaker_share``, ``words_of``, ``word_share``: raw measures of one text (does it keep the
  plays' layout? do its speaker labels name characters of the play? are its words the play's words?);
- ``skill_scores``: one text's measures (with its loss, repetition and diversity from ``helpers.decoding``)
  mapped to 0..1, 1 = best, as ``SKILL_MAPPINGS`` states, one score per skill in ``SKILLS``;
- ``draw_skill_profile``: profiles as a radar or grouped bar chart (a pure drawing function).

The plays' layout (speaker labels, speeches) comes from ``helpers.evaluation``.
"""

from __future__ import annotations

import math
import re

import matplotlib.pyplot as plt
import numpy as np

from helpers.evaluation import is_speaker_line, speeches


# ----- raw measures of one text -------------------------------------------------------------------------------
def layout_share(text: str) -> float:
    """Share of the non-empty lines of ``text`` that fit the plays' layout: a speaker label (``is_speaker_line``),
    a stage direction in brackets, or a spoken line starting with a letter or punctuation and at most 80
    characters long. 0.0 for a text with no non-empty line."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if not lines:
        return 0.0
    ok = sum(1 for line in lines if is_speaker_line(line) or (line.startswith("[") and line.endswith("]"))
             or (len(line) <= 80 and (line[0].isalpha() or line[0] in "'\"(-")))
    return ok / len(lines)


def speaker_share(text: str, speakers) -> float | None:
    """Among the speaker labels in ``text`` (a label line after a blank line, or the first line), the share
    naming one of ``speakers`` (e.g. the characters of the prompt's play). None when the text has no label."""
    known = {s.rstrip(".") for s in speakers}
    labels = [s for s, _ in speeches("\n" + text)]
    bare = [line.strip()[:-1] for line in ("\n" + text).split("\n") if is_speaker_line(line)]
    labels = labels or bare
    if not labels:
        return None
    return sum(label in known for label in labels) / len(labels)


_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def words_of(text: str) -> list[str]:
    """The lowercased words of ``text`` (letters, with inner apostrophes: ``o'er``, ``'tis`` -> ``tis``)."""
    return _WORD.findall(text.lower())


def word_share(text: str, vocabulary) -> float:
    """Share of the words of ``text`` (``words_of``) that are in ``vocabulary`` (e.g. the words of the prompt's
    play); 0.0 for a text with no word."""
    ws = words_of(text)
    vocab = vocabulary if isinstance(vocabulary, (set, frozenset, dict)) else set(vocabulary)
    return sum(w in vocab for w in ws) / len(ws) if ws else 0.0


# ----- the profile --------------------------------------------------------------------------------------------
SKILLS = ("fluency", "no repetition", "diversity", "layout", "play's words")
SKILL_MAPPINGS = {
    "fluency": "1 - (nats per token under the pretrained model) / ln(vocabulary size): 0 = a uniform guess",
    "no repetition": "1 - share of repeated 4-grams within each text (helpers.decoding.repeated_ngram_rate)",
    "diversity": "distinct-2 of each text per token pair (helpers.decoding.distinct_n): distinct pairs / all pairs "
                 "(Li et al. 2016 divide by tokens)",
    "layout": "share of lines that fit the plays' layout (layout_share)",
    "play's words": "share of the words that occur in the prompt's play (word_share): real words, on topic",
}


def skill_scores(nats_per_token: float, vocab_size: int, repeat_rate: float, distinct_2: float,
                 layout: float, play_words: float) -> dict[str, float]:
    """Map the raw measures of one text to 0..1 (1 = best) as stated in ``SKILL_MAPPINGS``; keys ``SKILLS``.

    ``distinct_2`` is ``helpers.decoding.distinct_n([ids], 2)`` with its default per-pair denominator, so that a text
    with no repeated pair scores 1 (Li et al. 2016's distinct-2 divides by the number of tokens instead)."""
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be at least 2, got {vocab_size}")
    for name, v in (("repeat_rate", repeat_rate), ("distinct_2", distinct_2), ("layout", layout),
                    ("play_words", play_words)):
        if not 0 <= v <= 1:
            raise ValueError(f"{name} must lie in [0, 1], got {v}")
    if not nats_per_token >= 0:
        raise ValueError(f"nats_per_token must be >= 0, got {nats_per_token}")
    fluency = min(1.0, max(0.0, 1 - float(nats_per_token) / math.log(vocab_size)))
    return dict(zip(SKILLS, (fluency, 1 - float(repeat_rate), float(distinct_2), float(layout), float(play_words)),
                    strict=True))


def draw_skill_profile(profiles: dict[str, dict[str, float]], kind: str = "radar", title: str = ""):
    """Radar (``kind="radar"``) or grouped bar chart (``"bars"``) of skill profiles.

    profiles: ``{condition: {skill: score in [0, 1]}}``, every condition with the same skills. Returns the figure
    (pure: nothing is shown). Raises ValueError for no profiles, differing skills, or scores outside [0, 1].
    """
    if not profiles:
        raise ValueError("no profiles to draw")
    if kind not in ("radar", "bars"):
        raise ValueError(f"kind must be 'radar' or 'bars', got {kind!r}")
    skills = list(next(iter(profiles.values())))
    if len(skills) < 3 and kind == "radar":
        raise ValueError("a radar chart needs at least 3 skills; use kind='bars'")
    for name, prof in profiles.items():
        if list(prof) != skills:
            raise ValueError(f"profile {name!r} has skills {list(prof)}, expected {skills}")
        bad = {k: v for k, v in prof.items() if not 0 <= v <= 1}
        if bad:
            raise ValueError(f"profile {name!r} has scores outside [0, 1]: {bad}")
    if kind == "radar":
        angles = np.linspace(0, 2 * np.pi, len(skills), endpoint=False).tolist()
        fig, ax = plt.subplots(figsize=(6.2, 6.2), subplot_kw={"projection": "polar"})
        for name, prof in profiles.items():
            values = [prof[s] for s in skills]
            ax.plot(angles + angles[:1], values + values[:1], linewidth=2, label=name)
            ax.fill(angles + angles[:1], values + values[:1], alpha=0.12)
        ax.set_xticks(angles, skills)
        ax.tick_params(axis="x", pad=12)  # skill names clear of the outer circle
        ax.set_ylim(0, 1)
        ax.set_yticks([0.25, 0.5, 0.75, 1.0], ["0.25", "0.5", "0.75", "1"], fontsize=8)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=min(3, len(profiles)), fontsize=9)
    else:
        fig, ax = plt.subplots(figsize=(8, 4))
        width = 0.8 / len(profiles)
        for j, (name, prof) in enumerate(profiles.items()):
            ax.bar(np.arange(len(skills)) + (j - (len(profiles) - 1) / 2) * width, [prof[s] for s in skills],
                   width, label=name)
        ax.set_xticks(range(len(skills)), skills)
        ax.set_ylim(0, 1)
        ax.set_ylabel("score (0 = worst, 1 = best)")
        ax.legend(fontsize=9)
    if title:
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig
