"""Attention views (notebooks 04-05): pure drawing functions, the explorer's widget wiring, bertviz offline."""

import json
import re
import sys

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from colab_widgets import needs_ipywidgets_7_7, run_on_ipywidgets_7_7  # noqa: E402

from helpers.attention_view import (  # noqa: E402
    AttentionExplorer,
    apply_temperature,
    bertviz_view,
    draw_attention,
    draw_model_view,
    entropy,
    figure_png,
    gpt_attention,
    head_statistics,
    role_scores,
    role_targets,
)

TEXT = "To be, or not to be, that is the question"


def test_gpt_attention_is_causal_and_each_row_sums_to_one(gpt):
    model, tok = gpt
    tokens, w = gpt_attention(model, tok, TEXT, max_tokens=8)
    cfg = model.config
    assert len(tokens) == 8 and w.shape == (cfg.n_layer, cfg.n_head, 8, 8)
    assert "".join(tokens).replace("␣", " ") == tok.decode(tok.encode(TEXT)[:8])
    torch.testing.assert_close(w.sum(-1), torch.ones(cfg.n_layer, cfg.n_head, 8))
    assert (w.triu(1) == 0).all()
    with pytest.raises(ValueError, match="empty text"):
        gpt_attention(model, tok, "  \n")


def test_temperature_is_softmax_of_scores_over_t():
    torch.manual_seed(0)
    scores = torch.randn(5, 5).masked_fill(~torch.ones(5, 5, dtype=torch.bool).tril(), float("-inf"))
    w = scores.softmax(-1)
    for t in (0.25, 1.0, 3.0):
        torch.testing.assert_close(apply_temperature(w, t), (scores / t).softmax(-1))
    assert (apply_temperature(w, 0.5).triu(1) == 0).all()
    assert entropy(apply_temperature(w, 4.0))[1:].mean() > entropy(w)[1:].mean() > entropy(apply_temperature(w, 0.25))[1:].mean()
    with pytest.raises(ValueError, match="temperature"):
        apply_temperature(w, 0)


def test_draw_attention_changes_with_the_head_and_labels_follow_the_tokens(gpt):
    model, tok = gpt
    tokens, w = gpt_attention(model, tok, TEXT, max_tokens=10)
    fig_a = draw_attention(tokens, w[0, 0], query=9)
    fig_b = draw_attention(tokens, w[0, 1], query=9)
    assert figure_png(fig_a) != figure_png(fig_b)
    heat, bars = fig_a.axes
    assert [t.get_text() for t in heat.get_xticklabels()] == tokens
    assert bars.get_title() == f"query 9: {tokens[9]!r}"
    with pytest.raises(ValueError, match=r"\(10, 10\)"):
        draw_attention(tokens, w[0, 0, :5, :5])
    with pytest.raises(ValueError, match="query"):
        draw_attention(tokens, w[0, 0], query=10)
    grid = draw_model_view(tokens, w, query=9)
    assert len(grid.axes) == model.config.n_layer * model.config.n_head
    matplotlib.pyplot.close("all")


def test_explorer_redraws_when_a_control_moves(gpt, capsys):
    model, tok = gpt
    ex = AttentionExplorer(model, tok, TEXT)
    _, weights = gpt_attention(model, tok, TEXT, max_tokens=20)
    first = ex.last
    assert first["layer"] == 0 and first["query"] == len(first["tokens"]) - 1
    ex.controls["layer"].value = 4
    ex.controls["head"].value = 2
    assert (ex.last["layer"], ex.last["head"]) == (4, 2)
    torch.testing.assert_close(ex.last["weights"], weights[4, 2])
    ex.controls["temperature"].value = 4.0
    torch.testing.assert_close(ex.last["weights"], apply_temperature(weights[4, 2], 4.0))
    ex.controls["query"].value = 3
    assert ex.last["query_token"] == ex.last["tokens"][3]
    ex.controls["text"].value = "Friends, Romans, countrymen"
    assert ex.last["tokens"] == gpt_attention(model, tok, "Friends, Romans, countrymen")[0]
    assert ex.controls["query"].max == len(ex.last["tokens"]) - 1
    ex.controls["text"].value = ""
    assert ex.last is None and "empty text" in capsys.readouterr().out
    matplotlib.pyplot.close("all")


@needs_ipywidgets_7_7
def test_explorer_wiring_with_ipywidgets_7_7():
    """Colab runs ipywidgets 7.7.1: the same wiring must work there."""
    run_on_ipywidgets_7_7(
        "from helpers.attention_view import AttentionExplorer\n"
        "ex = AttentionExplorer(model, tok, 'To be, or not')\n"
        "before = ex.last['weights'].clone()\n"
        "ex.controls['head'].value = 3\n"
        "assert ex.last['head'] == 3 and not torch.equal(before, ex.last['weights'])\n"
        "ex.controls['text'].value = 'Friends, Romans'\n"
        "assert ex.controls['query'].max == len(ex.last['tokens']) - 1\n")


def test_head_statistics_on_known_patterns():
    T = 6
    previous = torch.zeros(T, T)
    previous[0, 0] = 1
    previous[torch.arange(1, T), torch.arange(T - 1)] = 1  # every query looks one back
    uniform = torch.ones(T, T).tril()
    uniform = uniform / uniform.sum(-1, keepdim=True)
    stats = head_statistics(torch.stack([previous, uniform])[None])  # (L=1, H=2, T, T)
    assert stats["previous"][0].tolist() == pytest.approx([1.0, sum(1 / (q + 1) for q in range(1, T)) / (T - 1)])
    assert stats["distance"][0, 0] == pytest.approx(1.0)
    assert stats["entropy"][0, 0] == pytest.approx(0.0, abs=1e-6)
    expected = sum(torch.log(torch.tensor(q + 1.0)) for q in range(1, T)) / (T - 1)
    assert stats["entropy"][0, 1] == pytest.approx(float(expected), rel=1e-5)
    # an even head: query q looks q / 2 back on average (notebook 05's Exercise 3), and q's own weight is 1 / (q + 1)
    assert stats["distance"][0, 1] == pytest.approx(sum(q / 2 for q in range(1, T)) / (T - 1))
    assert stats["self"][0].tolist() == pytest.approx([0.0, sum(1 / (q + 1) for q in range(1, T)) / (T - 1)])
    assert stats["first"][0, 0] == pytest.approx(1 / (T - 1))  # only query 1 looks back at position 0
    with pytest.raises(ValueError, match="weights must be"):
        head_statistics(torch.ones(3, 3))


def test_bertviz_view_returns_html_with_the_tokens_and_its_cdn_scripts(gpt):
    model, tok = gpt
    tokens, w = gpt_attention(model, tok, TEXT, max_tokens=6)
    for kind in ("head", "model"):
        html = bertviz_view(w, tokens, kind=kind).data
        assert "require" in html and "cdnjs" in html  # the JavaScript it needs comes from a CDN
        assert all(json.dumps(t) in html for t in tokens)  # the tokens travel as JSON
        # the drawing code waits for require.js and, if it never arrives, says so in its own box
        root = re.search(r'id="(bertviz-[0-9a-f]+)"', html).group(1)
        assert "typeof window.requirejs" in html and f'getElementById("{root}")' in html
        assert "could not load its JavaScript" in html and html.count("<script") == 2
    with pytest.raises(ValueError, match="kind"):
        bertviz_view(w, tokens, kind="neuron")


def test_bertviz_view_without_bertviz_prints_how_to_get_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "bertviz", None)  # import bertviz now raises ImportError
    assert bertviz_view(torch.ones(1, 1, 2, 2) / 2, ["a", "b"]) is None
    assert "pip install bertviz" in capsys.readouterr().out


def test_role_targets_find_previous_token_line_start_and_speaker():
    pieces = ["\n", "\n", "Hor", ".", "\n", "Stay", "!", " speak", "\n", "I", "\n", "\n", "Mar", ".", "\n", "Gone"]
    t = role_targets(pieces)
    assert t["previous"][5].nonzero().flatten().tolist() == [4]
    assert t["line start"][7].nonzero().flatten().tolist() == [4]  # " speak" is on the line after token 4
    assert t["line start"][9].nonzero().flatten().tolist() == [8]
    assert t["speaker"][7].nonzero().flatten().tolist() == [2, 3]  # "Hor."
    assert t["speaker"][15].nonzero().flatten().tolist() == [12, 13]  # the next speech: "Mar."
    assert not t["speaker"][2].any() and not t["line start"][0].any()


def test_role_scores_against_a_head_that_does_exactly_that():
    pieces = ["\n", "\n", "Hor", ".", "\n", "Stay", "!", " speak", "\n", "I"]
    t = role_targets(pieces)["previous"]
    T = len(pieces)
    exact = t.float()
    exact[0, 0] = 1.0
    uniform = torch.ones(T, T).tril() / torch.arange(1, T + 1)[:, None]
    scores, baseline = role_scores(torch.stack([exact, uniform])[None, None], t[None])
    assert scores[0, 0] == pytest.approx(1.0)
    assert scores[0, 1] == pytest.approx(baseline) == pytest.approx(sum(1 / (q + 1) for q in range(1, T)) / (T - 1))
    with pytest.raises(ValueError, match="do not match"):
        role_scores(torch.ones(1, 1, 1, T, T), t)


def test_explorer_says_in_one_line_when_the_sentence_is_japanese(gpt, capsys):
    model, tok = gpt
    ex = AttentionExplorer(model, tok, TEXT)
    assert "Japanese" not in capsys.readouterr().out  # English: no note
    ex.controls["text"].value = "生きるべきか、死ぬべきか"
    out = capsys.readouterr().out
    assert "11 Japanese characters" in out and "trained on English" in out
    assert len([line for line in out.splitlines() if "Japanese" in line]) == 1
    assert ex.last is not None and len(ex.last["tokens"]) > 10  # still drawn: byte fragments, not an error
