"""Tests for helpers.skill_profile: the raw measures of one text, their mapping to 0..1, the radar and bar charts."""

import math

import matplotlib
import pytest

from helpers import skill_profile as sp

matplotlib.use("Agg")


# ----- raw measures and the mapping -----------------------------------------------------------------------------------------
def test_layout_speaker_and_word_shares():
    assert sp.layout_share("HAMLET.\nTo be, or not to be.\n[Exit]\n") == 1.0
    assert sp.layout_share("x" * 100 + "\n12 34") == 0.0
    assert sp.layout_share("") == 0.0
    assert sp.speaker_share("HAMLET.\nWords here.\n\nKING.\nMore words.", {"HAMLET"}) == 0.5
    assert sp.speaker_share("no labels at all", {"HAMLET"}) is None
    assert sp.words_of("O'er the hills, 'tis") == ["o'er", "the", "hills", "tis"]
    assert sp.word_share("the cat sat", {"the", "sat"}) == pytest.approx(2 / 3)
    assert sp.word_share("123", {"the"}) == 0.0


def test_skill_scores_mapping():
    s = sp.skill_scores(math.log(100) / 2, 100, 0.2, 0.7, 0.9, 0.5)
    assert list(s) == list(sp.SKILLS)
    assert s["fluency"] == pytest.approx(0.5) and s["no repetition"] == pytest.approx(0.8)
    assert sp.skill_scores(20.0, 100, 0, 0, 0, 0)["fluency"] == 0.0  # worse than uniform: clipped
    with pytest.raises(ValueError, match="repeat_rate"):
        sp.skill_scores(1.0, 100, 1.5, 0.5, 0.5, 0.5)
    with pytest.raises(ValueError, match="vocab_size"):
        sp.skill_scores(1.0, 1, 0.5, 0.5, 0.5, 0.5)
    with pytest.raises(ValueError, match="nats_per_token"):
        sp.skill_scores(-1.0, 100, 0.5, 0.5, 0.5, 0.5)


def test_draw_skill_profile():
    profiles = {"a": dict.fromkeys(sp.SKILLS, 0.5), "b": dict.fromkeys(sp.SKILLS, 1.0)}
    fig = sp.draw_skill_profile(profiles)
    ax = fig.axes[0]
    assert ax.name == "polar" and len(ax.lines) == 2
    assert list(ax.lines[1].get_ydata()) == [1.0] * (len(sp.SKILLS) + 1)  # closed polygon
    fig = sp.draw_skill_profile(profiles, kind="bars")
    assert len(fig.axes[0].patches) == 2 * len(sp.SKILLS)
    with pytest.raises(ValueError, match="no profiles"):
        sp.draw_skill_profile({})
    with pytest.raises(ValueError, match="outside"):
        sp.draw_skill_profile({"a": dict.fromkeys(sp.SKILLS, 1.5)})
    with pytest.raises(ValueError, match="expected"):
        sp.draw_skill_profile({"a": dict.fromkeys(sp.SKILLS, 0.5), "b": {"x": 0.5, "y": 0.5, "z": 0.5}})
    with pytest.raises(ValueError, match="kind"):
        sp.draw_skill_profile(profiles, kind="pie")
    matplotlib.pyplot.close("all")
