"""helpers.course: the setup call every notebook makes, and the course map."""

import random

import numpy as np
import pytest
import torch

from helpers import course
from helpers.course import COURSE_MAP, course_map, fast_mode, pick_device, setup


@pytest.fixture(autouse=True)
def _keep_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("YES", True),
                                             ("", False), ("0", False), ("off", False)])
def test_fast_mode_reads_the_flag(value, expected):
    assert fast_mode(value) is expected


def test_fast_mode_follows_the_environment(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    assert fast_mode() is True
    monkeypatch.delenv("COURSE_FAST")
    assert fast_mode() is False


def test_fast_mode_rejects_garbage_with_one_line():
    with pytest.raises(ValueError, match="COURSE_FAST='maybe'") as err:
        fast_mode("maybe")
    assert "\n" not in str(err.value)


def test_pick_device_cpu_and_auto():
    assert pick_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert pick_device("auto").type == expected


def test_unknown_device_name_says_what_to_use(monkeypatch):
    with pytest.raises(ValueError) as err:
        pick_device("tpu")
    msg = str(err.value)
    assert "'tpu'" in msg and "cpu" in msg and "cuda" in msg and "\n" not in msg
    monkeypatch.setenv("COURSE_DEVICE", "gpu0")
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        setup(quiet=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_a_missing_gpu_is_an_error():
    with pytest.raises(ValueError, match="has none"):
        pick_device("cuda")


def test_setup_prints_one_line_and_returns_the_choice(capsys, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    c = setup(seed=7, device="cpu", threads=1)
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "fast mode" in out and "device cpu" in out and "seed 7" in out and "1 CPU threads" in out
    assert c.fast and c.device == torch.device("cpu") and c.seed == 7 and c.threads == 1
    assert torch.get_num_threads() == 1
    assert c.pick(fast=10, full=1000) == 10
    assert setup(fast=False, quiet=True).pick(fast=10, full=1000) == 1000


def test_setup_seeds_python_numpy_and_torch():
    def draw():
        setup(seed=123, quiet=True)
        return random.random(), float(np.random.rand()), float(torch.rand(()))

    first, second = draw(), draw()
    assert first == second
    setup(seed=124, quiet=True)
    assert float(torch.rand(())) != first[2]


def test_setup_applies_the_course_style():
    import matplotlib

    matplotlib.rcdefaults()
    assert matplotlib.rcParams["axes.spines.top"] is True
    c = setup(quiet=True)
    assert matplotlib.rcParams["axes.spines.top"] is False
    assert c.japanese_font and "IPAexGothic" in matplotlib.rcParams["font.family"]


def test_thread_count_from_environment(monkeypatch):
    monkeypatch.setenv("COURSE_THREADS", "1")
    assert course.set_threads() == 1
    with pytest.raises(ValueError, match="at least 1"):
        course.set_threads(0)


def test_course_map_has_the_notebooks_00_to_14_in_order():
    names = [nb.filename for nb in COURSE_MAP]
    assert [nb.number for nb in COURSE_MAP] == list(range(15))
    assert names[0] == "00_setup.ipynb" and names[9] == "09_bpe_tokenization.ipynb"
    assert names[13] == "13_evaluation.ipynb" and names[14] == "14_real_llm.ipynb"


def test_course_map_status_follows_the_files(tmp_path):
    (tmp_path / "00_setup.ipynb").write_text("{}")
    rows = course_map(tmp_path)
    assert [r["status"] for r in rows] == ["ready"] + ["coming"] * (len(COURSE_MAP) - 1)


def test_self_check_says_what_is_wrong(capsys):
    from helpers.exercises import check

    assert check(None, 3) is False and "Not answered yet" in capsys.readouterr().out
    assert check(4, 3, hint="count again") is False
    assert "your answer is 4. Hint: count again" in capsys.readouterr().out
    assert check(0.1 + 0.2, 0.3) is True and "Correct!" in capsys.readouterr().out
    assert check([1, 2.0], (1, 2)) is True
    assert check(True, 1) is False  # a bool is not a count
    assert check("hamlet", "Hamlet") is False


@pytest.mark.parametrize("answer, expected, sig_figs, ok", [
    (0.00833, 1 / 120, 3, True),      # the rounded solution of notebook 01's first exercise
    (0.0083, 1 / 120, 3, False),      # two figures where three were asked for
    (0.00834, 1 / 120, 3, True),      # rounding an intermediate step moves the last digit by one
    (0.00835, 1 / 120, 3, False),
    (3.14, 3.14159, 3, True),
    (2.72, 3.14159, 3, False),
    (123_000, 123_456, 3, True),      # large numbers: the unit is 1,000
    (0.5, 0.5, 2, True),
    ([0.667, 0.333], [2 / 3, 1 / 3], 3, True),
])
def test_self_check_accepts_answers_to_the_asked_precision(answer, expected, sig_figs, ok, capsys):
    from helpers.exercises import check

    assert check(answer, expected, sig_figs=sig_figs) is ok
    out = capsys.readouterr().out
    assert ("Correct!" in out) is ok and f"{sig_figs} significant figures" in out


def test_self_check_rejects_a_bad_precision():
    from helpers.exercises import check

    with pytest.raises(ValueError, match="sig_figs"):
        check(1.0, 1.0, sig_figs=0)
