"""Looking at attention: the course GPT's weights, heatmaps, an interactive explorer, head statistics, bertviz.

Notebooks 04 and 05 use it. The drawing functions are pure (weights in, matplotlib figure out) so tests call
them directly; ``AttentionExplorer`` wires them to ipywidgets controls (works with ipywidgets 7.7 and 8);
``bertviz_view`` wraps bertviz, whose JavaScript comes from a CDN and so shows nothing offline.
"""

from __future__ import annotations

import io
import json
import re

import matplotlib.pyplot as plt
import torch

from helpers.gpt import GPT
from helpers.japanese import english_only_note
from helpers.tokenizer import BPETokenizer

BERTVIZ_HINT = ("bertviz is not installed: `pip install bertviz` (or `make install`). "
                "The course's own attention views above work without it.")


def token_labels(tok: BPETokenizer, ids: list[int]) -> list[str]:
    """One readable label per token id: a leading space shown as '␣', a line break as '⏎'."""
    return [tok.decode([i]).replace("\n", "⏎").replace(" ", "␣") for i in ids]


@torch.no_grad()
def gpt_attention(model: GPT, tok: BPETokenizer, text: str, max_tokens: int = 24) -> tuple[list[str], torch.Tensor]:
    """Run ``text`` (its first ``max_tokens`` tokens) through the course GPT.

    Returns (token labels, weights shaped (n_layer, n_head, T, T)); row i of a head's matrix is how query i
    spreads its attention over keys 0..i.
    """
    if not text or not text.strip():
        raise ValueError("empty text: type a sentence to look at")
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    ids = tok.encode(text)[: min(max_tokens, model.config.block_size)]
    was_training = model.training
    model.eval()
    _, _, attentions = model(torch.tensor([ids], device=next(model.parameters()).device), return_attention=True)
    model.train(was_training)
    return token_labels(tok, ids), torch.stack([a[0] for a in attentions]).cpu()  # (L, H, T, T)


def apply_temperature(weights: torch.Tensor, temperature: float) -> torch.Tensor:
    """Re-weight attention as if its scores had been divided by ``temperature``: softmax(scores / t).

    Since weights = softmax(scores), log(weights) equals the scores up to a constant per row, so
    softmax(log(weights) / t) is exactly softmax(scores / t). Blocked keys (weight 0) stay 0.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return torch.softmax(torch.log(weights) / temperature, dim=-1).nan_to_num(0.0)


def entropy(weights: torch.Tensor) -> torch.Tensor:
    """Entropy in nats of each attention row (last dimension): 0 = all on one key, ln(n) = spread evenly."""
    return -(weights * torch.log(weights.clamp_min(1e-30))).sum(-1)


def draw_attention(tokens: list[str], weights: torch.Tensor, query: int | None = None, title: str = ""):
    """Heatmap of one head's (T, T) attention, keys across and queries down; with ``query``, a second panel
    shows that query's row as bars. Returns the matplotlib figure."""
    weights = torch.as_tensor(weights, dtype=torch.float32)
    T = len(tokens)
    if weights.shape != (T, T):
        raise ValueError(f"weights must be ({T}, {T}) for {T} tokens, got {tuple(weights.shape)}")
    if query is not None and not 0 <= query < T:
        raise ValueError(f"query must lie in 0..{T - 1}, got {query}")
    size = 2.2 + 0.28 * T
    if query is None:
        fig, ax = plt.subplots(figsize=(size, size))
        axes = [ax]
    else:
        fig, axes = plt.subplots(1, 2, figsize=(size + 4.0, size), gridspec_kw={"width_ratios": [size, 3.5]})
    ax = axes[0]
    ax.imshow(weights.numpy(), cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(T), tokens, rotation=90, fontsize=9)
    ax.set_yticks(range(T), tokens, fontsize=9)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.grid(False)
    if title:
        ax.set_title(title)
    if query is not None:
        ax.add_patch(plt.Rectangle((-0.5, query - 0.5), T, 1, fill=False, edgecolor="tab:red", linewidth=2))
        bar = axes[1]
        row = weights[query].numpy()
        bar.barh(range(T), row, color=["tab:red" if w == row.max() else "tab:blue" for w in row])
        bar.set_yticks(range(T), tokens, fontsize=9)
        bar.invert_yaxis()
        bar.set_xlim(0, 1)
        bar.set_xlabel("attention weight")
        bar.set_title(f"query {query}: {tokens[query]!r}")
    fig.tight_layout()
    return fig


def draw_model_view(tokens: list[str], weights: torch.Tensor, query: int | None = None):
    """Every head of every layer at once (a grid of small heatmaps, layers down, heads across), like
    bertviz's model view but drawn by matplotlib: it works offline and on GitHub. weights: (L, H, T, T).
    With ``query``, each panel shows only that query's row (a 1 x T strip), which reads better."""
    L, H, T, _ = weights.shape
    if len(tokens) != T:
        raise ValueError(f"{len(tokens)} tokens for weights over {T} positions")
    fig, axes = plt.subplots(L, H, figsize=(1.6 * H, 1.6 * L), squeeze=False)
    for layer in range(L):
        for head in range(H):
            ax = axes[layer][head]
            w = weights[layer, head] if query is None else weights[layer, head, query:query + 1]
            ax.imshow(w.numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
            ax.set_xticks([])
            ax.set_yticks([])
            if layer == 0:
                ax.set_title(f"head {head}", fontsize=10)
            if head == 0:
                ax.set_ylabel(f"layer {layer}", fontsize=10)
    fig.tight_layout()
    return fig


def figure_png(fig) -> bytes:
    """The figure as PNG bytes (tests compare them to see that a figure changed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    return buf.getvalue()


class AttentionExplorer:
    """Controls (sentence, layer, head, query position, temperature) that redraw the course GPT's attention.

    ``AttentionExplorer(model, tok, text).widget`` is an ``ipywidgets.interactive``: display it in a notebook.
    Each redraw calls ``show(...)``, which returns (and keeps in ``.last``) what it drew: the tokens, the
    (T, T) weights after temperature, the query and its most-attended key. Setting a control's ``.value``
    in Python redraws too, which is how the tests drive it without a browser.
    """

    def __init__(self, model: GPT, tok: BPETokenizer, text: str, max_tokens: int = 20):
        import ipywidgets as widgets

        self.model, self.tok, self.max_tokens = model, tok, max_tokens
        self._cache: dict[str, tuple[list[str], torch.Tensor]] = {}
        tokens, _ = self._attention(text)
        cfg = model.config
        self.controls = {
            "text": widgets.Text(value=text, description="sentence", continuous_update=False,
                                 layout=widgets.Layout(width="95%")),
            "layer": widgets.IntSlider(value=0, min=0, max=cfg.n_layer - 1, description="layer"),
            "head": widgets.IntSlider(value=0, min=0, max=cfg.n_head - 1, description="head"),
            "query": widgets.IntSlider(value=len(tokens) - 1, min=0, max=len(tokens) - 1, description="query"),
            "temperature": widgets.FloatLogSlider(value=1.0, base=2, min=-3, max=3, step=0.25,
                                                  description="temperature", style={"description_width": "initial"}),
        }
        self.last: dict | None = None
        self.widget = widgets.interactive(self.show, **self.controls)
        if self.last is None:  # ipywidgets 8 draws at once; 7.7 waits until displayed: draw now in both
            self.widget.update()

    def _attention(self, text: str):
        if text not in self._cache:
            self._cache[text] = gpt_attention(self.model, self.tok, text, self.max_tokens)
        return self._cache[text]

    def show(self, text: str, layer: int, head: int, query: int, temperature: float) -> dict | None:
        """Draw one view and return what it shows; a bad sentence prints a message instead of failing."""
        try:
            tokens, weights = self._attention(text)
        except ValueError as err:
            print(err)
            self.last = None
            return None
        note = english_only_note(text)
        if note:
            print(note)
        T = len(tokens)
        if self.controls["query"].max != T - 1:  # a new sentence: the query slider follows its length
            self.controls["query"].max = T - 1
        query = min(query, T - 1)
        w = apply_temperature(weights[layer, head], temperature)
        fig = draw_attention(tokens, w, query, title=f"layer {layer}, head {head}, temperature {temperature:.2f}")
        plt.show()
        plt.close(fig)
        top = int(w[query].argmax())
        self.last = {"tokens": tokens, "weights": w, "layer": layer, "head": head, "query": query,
                     "query_token": tokens[query], "top_key": top, "top_token": tokens[top],
                     "temperature": temperature}
        return self.last


def head_statistics(weights: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-head summaries of attention weights (L, H, T, T) (or a batch (N, L, H, T, T), averaged over it).

    Returns (L, H) tensors: ``entropy`` (mean row entropy, nats), ``distance`` (mean of |query - key| weighted
    by attention), ``previous`` (mean weight on the token just before the query), ``self`` (mean weight on the
    query itself), ``first`` (mean weight on position 0). Query 0 is left out (it can only attend to itself).
    """
    if weights.ndim == 4:
        weights = weights[None]
    if weights.ndim != 5 or weights.shape[-1] != weights.shape[-2]:
        raise ValueError(f"weights must be (L, H, T, T) or (N, L, H, T, T), got {tuple(weights.shape)}")
    T = weights.shape[-1]
    if T < 2:
        raise ValueError("need at least 2 positions")
    w = weights[..., 1:, :]  # (N, L, H, T-1, T): queries 1..T-1
    q = torch.arange(1, T)[:, None]
    k = torch.arange(T)[None, :]
    return {
        "entropy": entropy(w).mean(dim=(0, 3)),
        "distance": (w * (q - k).abs()).sum(-1).mean(dim=(0, 3)),
        "previous": torch.diagonal(w, offset=0, dim1=-2, dim2=-1).mean(dim=(0, 3)),
        "self": torch.diagonal(w, offset=1, dim1=-2, dim2=-1).mean(dim=(0, 3)),
        "first": w[..., 0].mean(dim=(0, 3)),
    }


BERTVIZ_OFFLINE = ("bertviz could not load its JavaScript from cdnjs.cloudflare.com (no internet here?). "
                   "The course's own matplotlib view of the same attention works offline.")


def bertviz_view(attention, tokens: list[str], kind: str = "head", wait_s: float = 15.0):
    """bertviz's ``head_view`` or ``model_view`` as one IPython HTML object to display, or None (with a printed
    hint) when bertviz is missing. ``attention``: (L, H, T, T) weights or a list of (1, H, T, T) per layer.

    bertviz draws with JavaScript that the browser loads from a CDN (require.js, then d3 and jQuery). Its own
    output runs its drawing code at once, before require.js has arrived, which in JupyterLab often leaves an
    empty box. Here the drawing code waits for require.js (up to ``wait_s`` seconds) and, if it never comes
    (offline), writes a one-line message into the box instead of leaving it blank.
    """
    if kind not in ("head", "model"):
        raise ValueError(f"kind must be 'head' or 'model', got {kind!r}")
    try:
        from bertviz import head_view, model_view
    except ImportError:
        print(BERTVIZ_HINT)
        return None
    from IPython.display import HTML

    if isinstance(attention, torch.Tensor):
        attention = [layer[None] for layer in attention]  # bertviz wants one (1, H, T, T) tensor per layer
    view = head_view if kind == "head" else model_view
    html = view([a.float().cpu() for a in attention], list(tokens), html_action="return").data
    before, marker, script = html.rpartition('<script type="text/javascript">')
    root = re.search(r'id="(bertviz-[0-9a-f]+)"', before)
    if not marker or root is None:  # a bertviz we do not know: hand over its HTML unchanged
        return HTML(html)
    code, _, after = script.rpartition("</script>")
    message = json.dumps(BERTVIZ_OFFLINE)
    waiting = f"""(function () {{
  var waited = 0;
  function draw() {{
    if (typeof window.requirejs === "undefined") {{
      waited += 100;
      if (waited > {int(wait_s * 1000)}) {{
        var box = document.getElementById("{root.group(1)}");
        if (box) {{ box.innerHTML = "<p class='bertviz-offline'>" + {message} + "</p>"; }}
        return;
      }}
      setTimeout(draw, 100);
      return;
    }}
{code}
  }}
  draw();
}})();"""
    return HTML(f"{before}{marker}\n{waiting}\n</script>{after}")


SPEAKER_LINE = re.compile(r"(?<=\n\n)([A-Z][\w']*\.?(?: [A-Z][\w']*\.?)*)\n")


def role_targets(pieces: list[str]) -> dict[str, torch.Tensor]:
    """For a list of token strings (a play excerpt), which keys each query would attend to under three
    hypotheses, as (T, T) boolean matrices (row = query):

    - ``previous``: the token just before the query;
    - ``line start``: the most recent token holding a line break (the one that starts the query's line);
    - ``speaker``: the tokens of the most recent speaker name (the plays write ``\\n\\nHor.\\n`` before a speech).

    A row with no True entry (no such key yet) is left out of the scores.
    """
    T = len(pieces)
    starts = [0]
    for p in pieces[:-1]:
        starts.append(starts[-1] + len(p))
    text = "".join(pieces)
    is_speaker = [False] * T
    for match in SPEAKER_LINE.finditer(text):
        a, b = match.span(1)
        for i, s in enumerate(starts):
            if a <= s < b:
                is_speaker[i] = True
    targets = {name: torch.zeros(T, T, dtype=torch.bool) for name in ("previous", "line start", "speaker")}
    last_break, speaker, building = None, [], []
    for q in range(T):
        if q > 0:
            targets["previous"][q, q - 1] = True
        if last_break is not None:
            targets["line start"][q, last_break] = True
        if speaker and not is_speaker[q]:
            targets["speaker"][q, speaker] = True
        if is_speaker[q]:
            building.append(q)
        elif building:
            speaker, building = building, []
        if "\n" in pieces[q]:
            last_break = q
    return targets


def role_scores(weights: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Mean attention weight that each head puts on the target keys, and what uniform causal attention would put.

    weights: (N, L, H, T, T) over N excerpts; targets: (N, T, T) boolean from ``role_targets``. Only queries with
    at least one target count. Returns ((L, H) scores, the uniform baseline).
    """
    if weights.ndim != 5 or targets.shape != (weights.shape[0], *weights.shape[-2:]):
        raise ValueError(f"weights (N, L, H, T, T) and targets (N, T, T) do not match: "
                         f"{tuple(weights.shape)} and {tuple(targets.shape)}")
    has = targets.any(-1)  # (N, T): queries that have a target
    if not has.any():
        raise ValueError("no query has a target key in these excerpts")
    on_target = (weights * targets[:, None, None]).sum(-1)  # (N, L, H, T)
    scores = (on_target * has[:, None, None]).sum(dim=(0, 3)) / has.sum()
    visible = torch.arange(1, weights.shape[-1] + 1)  # query i sees i + 1 keys
    baseline = ((targets.sum(-1) / visible) * has).sum() / has.sum()
    return scores, float(baseline)
