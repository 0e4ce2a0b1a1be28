"""Looking at decoding: next-token probability bars, the beam-search tree, and sampling sliders (notebook 12).

The algorithms are in ``helpers.decoding``; this module draws them. ``draw_next_token_chart`` and
``draw_beam_tree`` are pure drawing functions (numbers in, matplotlib figure out) so tests call them directly;
``SamplingExplorer`` wires the chart to ipywidgets sliders for temperature, top-k, top-p and the repetition penalty,
and draws several samples with their distinct-2 (works with ipywidgets 7.7 and 8).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from helpers.attention_view import token_labels
from helpers.decoding import (
    BeamResult,
    apply_repetition_penalty,
    check_max_new_tokens,
    check_prompt,
    distinct_n,
    next_token_distribution,
    next_token_logits,
    sample_batch,
)
from helpers.gpt import GPT
from helpers.japanese import english_only_note

# ----- drawing ------------------------------------------------------------------------------------------------
KEPT_COLOUR, CUT_COLOUR, REFERENCE_COLOUR = "tab:blue", "lightgrey", "tab:orange"


def draw_next_token_chart(labels: list[str], before, after, title: str = "", reference=None):
    """Bar chart of next-token probabilities; the pure drawing function behind ``SamplingExplorer``.

    labels: token labels, most likely first; before: their probabilities after the repetition penalty and
    temperature, before the top-k / top-p cut; after: the renormalised probabilities sampling uses (0 = cut off).
    Kept tokens are solid blue bars of the ``after`` probability; cut-off tokens are grey bars of the probability
    they had before the cut. An outline marks every token's ``before`` probability. ``reference`` (optional): the
    model's own probabilities (temperature 1, no penalty, no cut), drawn as a dashed orange outline, so that what
    the knobs changed stays visible. Returns the figure; ``fig.axes[0].containers[0]`` holds the solid bars, in
    label order (``containers[2]``: the reference outline, when given).
    """
    before = torch.as_tensor(before, dtype=torch.float32)
    after = torch.as_tensor(after, dtype=torch.float32)
    n = len(labels)
    if before.shape != (n,) or after.shape != (n,):
        raise ValueError(f"need one 'before' and one 'after' probability per label ({n}), "
                         f"got {tuple(before.shape)} and {tuple(after.shape)}")
    if reference is not None:
        reference = torch.as_tensor(reference, dtype=torch.float32)
        if reference.shape != (n,):
            raise ValueError(f"need one 'reference' probability per label ({n}), got {tuple(reference.shape)}")
    kept = after > 0
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * n + 1.6))
    y = list(range(n))
    widths = torch.where(kept, after, before).tolist()
    colours = [KEPT_COLOUR if k else CUT_COLOUR for k in kept.tolist()]
    ax.barh(y, widths, color=colours, height=0.75)
    ax.barh(y, before.tolist(), fill=False, edgecolor="dimgrey", linewidth=0.8, height=0.75)
    handles = [plt.Rectangle((0, 0), 1, 1, color=KEPT_COLOUR), plt.Rectangle((0, 0), 1, 1, color=CUT_COLOUR),
               plt.Rectangle((0, 0), 1, 1, fill=False, edgecolor="dimgrey")]
    names = ["kept: probability sampled from", "cut off", "before the cut"]
    if reference is not None:
        ax.barh(y, reference.tolist(), fill=False, edgecolor=REFERENCE_COLOUR, linestyle="--", linewidth=1.4,
                height=0.75)
        handles.append(plt.Rectangle((0, 0), 1, 1, fill=False, edgecolor=REFERENCE_COLOUR, linestyle="--"))
        names.append("model's own (T = 1, no penalty)")
    ax.set_yticks(y, labels, fontsize=10)
    ax.invert_yaxis()
    tops = [float(t.max()) for t in (before, after, reference) if t is not None and n]
    ax.set_xlim(0, min(1.0, max(tops) * 1.15) if tops else 1.0)
    ax.set_xlabel("probability of the next token")
    ax.grid(axis="y", visible=False)
    ax.legend(handles, names, loc="lower right", fontsize=9)
    if title:
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


def draw_beam_tree(result: BeamResult, label, prompt_label: str = "prompt"):
    """The search tree of ``beam_search(..., trace=True)``: one column per step, the 2 x width best candidates
    of each step, each joined to the live beam it extends. Kept beams blue, finished green, pruned grey.

    label: a function token id -> text for the boxes. Returns the figure.
    """
    if not result.steps:
        raise ValueError("no steps to draw: run beam_search(..., trace=True) with max_new_tokens >= 1")
    colours = {"kept": "tab:blue", "finished": "tab:green", "pruned": "lightgrey"}
    n_rows = max(len(s) for s in result.steps)
    fig, ax = plt.subplots(figsize=(2.3 * (len(result.steps) + 1), 0.75 * n_rows + 1.4))
    parent_y = [(n_rows - 1) / 2]  # the prompt sits in the middle of column 0
    ax.text(0, parent_y[0], prompt_label, ha="center", va="center", fontsize=9,
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "black"})
    for col, records in enumerate(result.steps, start=1):
        order = sorted(range(len(records)), key=lambda i: (parent_y[records[i]["parent"]], i))  # few crossings
        ys = {i: row * (n_rows - 1) / max(1, len(records) - 1) for row, i in enumerate(order)}
        next_parent_y = []
        for i, r in enumerate(records):
            colour = colours[r["status"]]
            ax.plot([col - 1, col], [parent_y[r["parent"]], ys[i]], color=colour,
                    linewidth=2.2 if r["status"] != "pruned" else 1.0, zorder=1)
            ax.text(col, ys[i], f"{label(r['token'])}\n{r['log_prob']:.2f}", ha="center", va="center", fontsize=8.5,
                    color="black" if r["status"] != "pruned" else "grey", zorder=2,
                    bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": colour,
                          "linewidth": 2 if r["status"] != "pruned" else 1})
            if r["status"] == "kept":
                next_parent_y.append(ys[i])
        parent_y = next_parent_y
    ax.set_xlim(-0.6, len(result.steps) + 0.6)
    ax.set_ylim(n_rows - 0.4, -0.6)
    ax.set_xticks(range(len(result.steps) + 1), ["prompt"] + [f"step {s}" for s in range(1, len(result.steps) + 1)])
    ax.set_yticks([])
    ax.grid(False)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    handles = [plt.Line2D([], [], color=c, linewidth=3) for c in colours.values()]
    ax.legend(handles, ["kept (live beam)", "finished (kept aside)", "pruned"], loc="upper center",
              bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=9, frameon=False)
    fig.tight_layout()
    return fig


# ----- labels and the sampling explorer -----------------------------------------------------------------------
def token_label(tok, token: int) -> str:
    """One token as readable text: a leading space shown as '␣', a line break as '⏎' (as in notebooks 04-05)."""
    return token_labels(tok, [token])[0]


class SamplingExplorer:
    """Sliders for temperature, top-k, top-p and the repetition penalty (and a prompt box and a seed) that redraw
    the next-token probabilities of the course GPT and draw several fresh samples.

    ``SamplingExplorer(model, tok, prompt).widget`` is an ``ipywidgets.interactive``: display it in a notebook.
    Controls (``.controls``): ``prompt`` (text), ``temperature``, ``top_k`` (0 = off), ``top_p`` (1 = off),
    ``repetition_penalty`` (the CTRL penalty, 1 = off; it lowers every token already in the prompt, and in the
    samples every token already in the text), ``seed``. Each redraw calls ``show(...)``, which draws with
    ``draw_next_token_chart`` (the model's own T = 1 probabilities as a dashed outline; tokens already in the
    prompt marked ``*``), prints ``num_samples`` samples with their distinct-2 (Li et al. 2016: distinct token
    pairs / tokens; one sample cannot show diversity, so also over all samples together), and keeps in ``.last``
    (and returns) what it drew: ``labels``/``ids`` of the ``top`` most likely tokens (the model's own order),
    ``reference``/``before``/``after`` probabilities, ``kept`` (bools), ``seen`` (bools: in the prompt), ``n_kept``
    (over the whole vocabulary), ``samples`` (texts; ``sample`` is the first, as before), ``sample_ids``,
    ``distinct_2`` (per sample), ``distinct_2_all`` and the settings. Setting a control's ``.value`` in Python redraws
    too (that is how tests drive it).

    Any model called as ``model(idx)`` or ``model(idx, cache=...)`` with a ``config.vocab_size`` and
    ``config.block_size`` works (the course GPT, ``helpers.llama.Llama``), with a tokenizer that has ``encode`` and
    ``decode``. The arguments after ``prompt`` are optional, and ``num_samples=1`` gives the one-sample view.
    """

    def __init__(self, model, tok, prompt: str, top: int = 20, max_new_tokens: int = 30, num_samples: int = 4):
        import ipywidgets as widgets

        if top < 1:
            raise ValueError(f"top must be >= 1, got {top}")
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"num_samples must be an int >= 1, got {num_samples!r}")
        self.model, self.tok, self.top = model, tok, min(top, int(model.config.vocab_size))
        self.max_new_tokens = check_max_new_tokens(max_new_tokens)
        self.num_samples = num_samples
        self._cache: dict[str, tuple[list[int], torch.Tensor]] = {}
        wide = widgets.Layout(width="95%")
        labelled = {"description_width": "initial"}  # the slider names are longer than ipywidgets' default width
        self.controls = {
            "prompt": widgets.Text(value=prompt, description="prompt", continuous_update=False, layout=wide),
            "temperature": widgets.FloatLogSlider(value=1.0, base=2, min=-3, max=2, step=0.25,
                                                  description="temperature", continuous_update=False, style=labelled),
            "top_k": widgets.IntSlider(value=0, min=0, max=100, description="top-k (0=off)",
                                       continuous_update=False, style=labelled),
            "top_p": widgets.FloatSlider(value=1.0, min=0.05, max=1.0, step=0.05, description="top-p (1=off)",
                                         continuous_update=False, style=labelled),
            "repetition_penalty": widgets.FloatSlider(value=1.0, min=1.0, max=2.0, step=0.05,
                                                      description="repetition penalty (1=off)",
                                                      continuous_update=False, style=labelled),
            "seed": widgets.IntSlider(value=0, min=0, max=50, description="seed", continuous_update=False),
        }
        self.last: dict | None = None
        self.widget = widgets.interactive(self.show, **self.controls)
        if self.last is None:  # ipywidgets 8 draws at once; 7.7 waits until displayed: draw now in both
            self.widget.update()

    def _logits(self, prompt: str) -> tuple[list[int], torch.Tensor]:
        if prompt not in self._cache:
            ids = check_prompt(self.tok.encode(prompt), int(self.model.config.vocab_size))
            idx = torch.tensor([ids], device=next(self.model.parameters()).device)
            self._cache[prompt] = (ids, next_token_logits(self.model, idx)[0].cpu())  # (V,)
        return self._cache[prompt]

    def show(self, prompt: str, temperature: float, top_k: int, top_p: float, seed: int,
             repetition_penalty: float = 1.0) -> dict | None:
        """Draw one view and print the samples; an empty prompt prints a message instead of failing."""
        try:
            ids, logits = self._logits(prompt)
        except ValueError as err:
            print(err)
            self.last = None
            return None
        note = (english_only_note(prompt) if isinstance(self.model, GPT) else  # the course GPT, or e.g. SmolLM2
                english_only_note(prompt, what="This model and its tokenizer were", trained_on="mostly English text"))
        if note:
            print(note)
        k = int(top_k) or None
        p = float(top_p) if top_p < 1.0 else None
        theta = float(repetition_penalty)
        penalised = apply_repetition_penalty(logits, ids, theta) if theta != 1.0 else logits  # (V,)
        reference = logits.softmax(-1)  # (V,) the model's own distribution: T = 1, no penalty, no cut
        before = (penalised / temperature).softmax(-1)  # (V,) after penalty and temperature, before the cut
        after = next_token_distribution(penalised, temperature, k, p)  # (V,) what sampling uses
        order = logits.argsort(descending=True, stable=True)[: self.top]  # the model's most likely tokens
        labels = [token_label(self.tok, int(i)) for i in order]
        in_prompt = set(ids)
        seen = [int(i) in in_prompt for i in order]
        n_kept = int((after > 0).sum())
        settings = f"temperature {temperature:.3g}, top-k {k or 'off'}, top-p {'off' if p is None else f'{p:.2f}'}"
        if theta != 1.0:
            settings += f", penalty {theta:.2f}"
        fig = draw_next_token_chart([f"{lab} *" if s else lab for lab, s in zip(labels, seen, strict=True)],
                                    before[order], after[order], reference=reference[order],
                                    title=f"{settings}: {n_kept} of {len(logits)} kept")
        fig.axes[0].set_xlabel("probability of the next token   (* = already in the prompt)")
        plt.show()
        plt.close(fig)
        new = sample_batch(self.model, ids, self.max_new_tokens, self.num_samples, temperature, k, p,
                           generator=torch.Generator().manual_seed(int(seed)), repetition_penalty=theta)
        texts = [self.tok.decode(row) for row in new]
        d2 = [distinct_n([row], 2, denominator="tokens") for row in new] if self.max_new_tokens >= 2 else []
        d2_all = distinct_n(new, 2, denominator="tokens") if self.max_new_tokens >= 2 else None
        for j, text in enumerate(texts):
            score = f", distinct-2 {d2[j]:.2f}" if d2 else ""
            print(f"--- sample {j + 1} (seed {seed}{score}) ---\n{prompt}{text}")
        if d2_all is not None:
            print(f"distinct-2 of the {len(new)} samples together: {d2_all:.2f} (distinct token pairs / tokens)")
        self.last = {"prompt": prompt, "ids": order.tolist(), "labels": labels, "reference": reference[order],
                     "before": before[order], "after": after[order], "kept": (after[order] > 0).tolist(),
                     "seen": seen, "n_kept": n_kept, "samples": texts, "sample": texts[0], "sample_ids": new, "distinct_2": d2,
                     "distinct_2_all": d2_all, "temperature": temperature, "top_k": k, "top_p": p,
                     "repetition_penalty": theta, "seed": int(seed)}
        return self.last
