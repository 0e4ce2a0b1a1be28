"""Looking at decoding (notebook 12): the next-token chart, the beam-search tree, and the sampling explorer's
widget wiring (ipywidgets 8 and 7.7)."""


import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from colab_widgets import needs_ipywidgets_7_7, run_on_ipywidgets_7_7  # noqa: E402

from helpers.attention_view import figure_png  # noqa: E402
from helpers.decoding import (  # noqa: E402
    apply_repetition_penalty,
    beam_search,
    distinct_n,
    next_token_distribution,
    next_token_logits,
    sample_batch,
)
from helpers.decoding_view import (  # noqa: E402
    CUT_COLOUR,
    KEPT_COLOUR,
    REFERENCE_COLOUR,
    SamplingExplorer,
    draw_beam_tree,
    draw_next_token_chart,
    token_label,
)

NEWLINE = 10  # byte-level BPE: a line break is always the single token 10 (the regex never merges it)


pytestmark = pytest.mark.usefixtures("course_threads")  # COURSE_THREADS, as the notebooks (conftest.py)


# ----- drawing and the explorer -------------------------------------------------------------------------------
def test_chart_colours_and_labels_follow_the_cut():
    labels = ["a", "b", "c", "d"]
    before = torch.tensor([0.5, 0.3, 0.15, 0.05])
    after = torch.tensor([0.625, 0.375, 0.0, 0.0])
    fig = draw_next_token_chart(labels, before, after, title="top-k 2")
    ax = fig.axes[0]
    bars = ax.containers[0]
    colours = [matplotlib.colors.to_hex(b.get_facecolor()) for b in bars]
    assert colours == [matplotlib.colors.to_hex(KEPT_COLOUR)] * 2 + [matplotlib.colors.to_hex(CUT_COLOUR)] * 2
    assert [b.get_width() for b in bars] == pytest.approx([0.625, 0.375, 0.15, 0.05])  # cut: width before the cut
    assert [t.get_text() for t in ax.get_yticklabels()] == labels and ax.get_title() == "top-k 2"
    other = draw_next_token_chart(labels, before, torch.tensor([0.5, 0.3, 0.15, 0.05]))
    assert figure_png(fig) != figure_png(other)
    with pytest.raises(ValueError, match="one 'before' and one 'after'"):
        draw_next_token_chart(labels, before[:3], after)
    matplotlib.pyplot.close("all")


def test_chart_draws_the_reference_outline():
    labels = ["a", "b", "c"]
    before, after = torch.tensor([0.2, 0.5, 0.3]), torch.tensor([0.0, 0.625, 0.375])
    reference = torch.tensor([0.6, 0.3, 0.1])  # the model's own distribution: the penalty moved "a" down
    fig = draw_next_token_chart(labels, before, after, reference=reference)
    ax = fig.axes[0]
    outline = ax.containers[2]
    assert [b.get_width() for b in outline] == pytest.approx(reference.tolist())
    assert all(matplotlib.colors.to_hex(b.get_edgecolor()) == matplotlib.colors.to_hex(REFERENCE_COLOUR)
               for b in outline)
    assert len(ax.get_legend().get_texts()) == 4 and ax.get_xlim()[1] >= 0.6
    assert figure_png(fig) != figure_png(draw_next_token_chart(labels, before, after))
    with pytest.raises(ValueError, match="one 'reference'"):
        draw_next_token_chart(labels, before, after, reference=reference[:2])
    matplotlib.pyplot.close("all")


def test_token_label_shows_spaces_and_line_breaks(gpt):
    _, tok = gpt
    assert token_label(tok, NEWLINE) == "⏎"
    the = tok.encode(" the")
    assert len(the) == 1 and token_label(tok, the[0]) == "␣the"


def test_beam_tree_draws_every_candidate(gpt):
    model, tok = gpt
    r = beam_search(model, tok.encode("HAMLET.\nO"), 3, 4, eot_id=NEWLINE, trace=True)
    fig = draw_beam_tree(r, lambda t: tok.decode([t]), prompt_label="HAMLET. O")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 1 + sum(len(s) for s in r.steps)
    assert f"{tok.decode([r.steps[0][0]['token']])}\n{r.steps[0][0]['log_prob']:.2f}" in texts
    with pytest.raises(ValueError, match="trace=True"):
        draw_beam_tree(beam_search(model, tok.encode("HAMLET."), 2, 3), str)
    matplotlib.pyplot.close("all")


def test_explorer_redraws_when_a_control_moves(gpt, capsys):
    model, tok = gpt
    ex = SamplingExplorer(model, tok, "HAMLET.\nTo be, or not to", max_new_tokens=6)
    first = ex.last
    assert first["n_kept"] == model.config.vocab_size and all(first["kept"]) and len(first["labels"]) == 20
    assert first["sample"] and first["sample"] in capsys.readouterr().out
    ex.controls["top_k"].value = 5
    assert ex.last["n_kept"] == 5 and ex.last["kept"] == [True] * 5 + [False] * 15
    ex.controls["top_k"].value = 0
    ex.controls["top_p"].value = 0.5
    logits = next_token_logits(model, torch.tensor([tok.encode("HAMLET.\nTo be, or not to")]))[0]
    n = int((next_token_distribution(logits, top_p=0.5) > 0).sum())
    assert ex.last["n_kept"] == n < model.config.vocab_size and ex.last["top_p"] == 0.5
    assert ex.last["kept"] == [True] * min(n, 20) + [False] * (20 - min(n, 20))
    before = ex.last["before"].clone()
    ex.controls["temperature"].value = 0.25
    assert ex.last["before"][0] > before[0] and ex.last["n_kept"] <= first["n_kept"]  # sharper
    chart = lambda last: figure_png(draw_next_token_chart(last["labels"], last["before"], last["after"]))  # noqa: E731
    png = chart(ex.last)
    ex.controls["top_p"].value = 1.0
    assert chart(ex.last) != png
    text = ex.last["sample"]
    ex.controls["seed"].value = 7
    assert ex.last["sample"] != text
    ex.controls["prompt"].value = "Friends, Romans, countrymen,"
    assert ex.last["prompt"] == "Friends, Romans, countrymen," and ex.last["labels"] != first["labels"]
    ex.controls["prompt"].value = ""
    assert ex.last is None and "prompt is empty" in capsys.readouterr().out
    matplotlib.pyplot.close("all")


def test_explorer_repetition_penalty_samples_and_reference(gpt, capsys):
    """The penalty control lowers the tokens already in the prompt against the T = 1 reference; the samples are
    those of sample_batch with the same settings, and their distinct-2 is Li et al.'s."""
    model, tok = gpt
    prompt = "HAMLET.\nTo be, or not to be, that is the question. To be, or not to"
    ex = SamplingExplorer(model, tok, prompt, max_new_tokens=12, num_samples=3)
    ids = tok.encode(prompt)
    logits = next_token_logits(model, torch.tensor([ids]))[0]
    first = ex.last
    assert first["repetition_penalty"] == 1.0 and len(first["samples"]) == 3 and first["sample"] == first["samples"][0]
    torch.testing.assert_close(first["reference"], logits.softmax(-1)[first["ids"]])
    torch.testing.assert_close(first["before"], first["reference"])  # T = 1, no penalty: the same
    assert any(first["seen"]) and not all(first["seen"])
    ex.controls["repetition_penalty"].value = 1.5
    last = ex.last
    assert last["repetition_penalty"] == 1.5
    penalised = apply_repetition_penalty(logits, ids, 1.5).softmax(-1)[last["ids"]]
    torch.testing.assert_close(last["before"], penalised)
    torch.testing.assert_close(last["reference"], first["reference"])  # the outline stays where it was
    ratio = last["before"] / last["reference"]  # (top,) how much each token's probability changed
    seen = torch.tensor(last["seen"])
    assert (ratio[~seen] > 1).all() and ratio[seen].max() < ratio[~seen].min()  # prompt tokens lose against the rest
    expected = sample_batch(model, ids, 12, 3, generator=torch.Generator().manual_seed(0), repetition_penalty=1.5)
    assert last["sample_ids"] == expected and last["samples"] == [tok.decode(row) for row in expected]
    assert last["distinct_2"] == [pytest.approx(distinct_n([row], 2, "tokens")) for row in expected]
    assert last["distinct_2_all"] == pytest.approx(distinct_n(expected, 2, "tokens"))
    out = capsys.readouterr().out
    assert out.count("--- sample ") >= 6 and "distinct-2 of the 3 samples together" in out
    assert last["samples"] != first["samples"]
    with pytest.raises(ValueError, match="num_samples"):
        SamplingExplorer(model, tok, prompt, num_samples=0)
    matplotlib.pyplot.close("all")


@needs_ipywidgets_7_7
def test_explorer_wiring_with_ipywidgets_7_7():
    """Colab runs ipywidgets 7.7.1: the same wiring must work there."""
    run_on_ipywidgets_7_7(
        "from helpers.decoding_view import SamplingExplorer\n"
        "ex = SamplingExplorer(model, tok, 'HAMLET.\\nTo be', max_new_tokens=5)\n"
        "assert ex.last is not None and ex.last['n_kept'] == 2048\n"
        "ex.controls['top_k'].value = 3\n"
        "assert ex.last['n_kept'] == 3 and ex.last['kept'][:4] == [True, True, True, False]\n"
        "ex.controls['top_p'].value = 0.3\n"
        "assert ex.last['top_p'] == 0.3 and ex.last['n_kept'] <= 3\n"
        "ex.controls['prompt'].value = 'Friends, Romans'\n"
        "assert ex.last['prompt'] == 'Friends, Romans'\n"
        "ex.controls['repetition_penalty'].value = 1.5\n"
        "assert ex.last['repetition_penalty'] == 1.5 and len(ex.last['samples']) == 4\n"
        "assert ex.last['before'][0] < ex.last['reference'][0] or not ex.last['seen'][0]\n")


def test_explorer_says_in_one_line_when_the_prompt_is_japanese(gpt, capsys):
    model, tok = gpt
    ex = SamplingExplorer(model, tok, "HAMLET.\nTo be", max_new_tokens=4, num_samples=1)
    assert "Japanese" not in capsys.readouterr().out  # an English prompt: no note
    ex.controls["prompt"].value = "生きるべきか"
    out = capsys.readouterr().out
    notes = [line for line in out.splitlines() if "Japanese" in line]
    assert len(notes) == 1 and "6 Japanese characters" in notes[0] and "English Shakespeare" in notes[0]
    assert ex.last is not None  # still drawn: the course model reads the bytes, it does not fail


def test_the_note_names_the_training_data_of_a_model_that_is_not_the_course_gpt(gpt, capsys):
    model, tok = gpt

    class Wrapped(torch.nn.Module):  # any model called as model(idx, cache=...), e.g. notebook 14's Llama
        def __init__(self):
            super().__init__()
            self.inner, self.config = model, model.config

        def forward(self, idx, cache=None):
            return self.inner(idx, cache=cache)

    SamplingExplorer(Wrapped(), tok, "猫", max_new_tokens=2, num_samples=1)
    out = capsys.readouterr().out
    assert "mostly English text" in out and "Shakespeare" not in out
