"""Fixtures shared by the unit-test modules that use the shipped course GPT (notebooks 04, 05, 12).

The helpers are imported inside the fixtures, so that collecting any other test module imports nothing more
(``helpers.course`` brings in matplotlib's pyplot, and some modules pick a backend before that).
"""

import pytest
import torch


@pytest.fixture(scope="module")
def gpt():
    """The course GPT and its tokenizer as the notebooks load them: ``(model, tokenizer)``, once per module."""
    from helpers.checkpoint import load_model
    from helpers.data import data_dir
    from helpers.tokenizer import BPETokenizer

    return load_model(data_dir() / "gpt"), BPETokenizer.load(data_dir() / "tokenizer.json")


@pytest.fixture(scope="module")
def course_threads():
    """Honour COURSE_THREADS as the notebooks do (many small forward passes: extra threads mostly wait).

    Not autouse: a module asks for it with ``pytestmark = pytest.mark.usefixtures("course_threads")``.
    """
    from helpers.course import set_threads

    before = torch.get_num_threads()
    set_threads()
    yield
    torch.set_num_threads(before)
