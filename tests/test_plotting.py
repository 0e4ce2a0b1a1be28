"""The course's figure style: Japanese text renders, with no missing-glyph warning."""

import io
import logging
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from helpers.plotting import japanese_font_file, use_course_style  # noqa: E402


def _render_title(title: str) -> list[str]:
    """Draw a figure with ``title`` and return every warning or log message it raised."""
    records: list[str] = []

    class Grab(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Grab(level=logging.WARNING)
    logging.getLogger("matplotlib").addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig, ax = plt.subplots()
            ax.set_title(title)
            ax.set_xlabel("時刻 t (time step)")
            fig.savefig(io.BytesIO(), format="png")
            plt.close(fig)
    finally:
        logging.getLogger("matplotlib").removeHandler(handler)
    return records + [str(w.message) for w in caught]


def test_the_font_package_ships_ipaexgothic():
    path = japanese_font_file()
    assert path is not None and path.exists() and path.suffix == ".ttf"


def test_japanese_title_renders_without_missing_glyphs():
    assert use_course_style()
    messages = _render_title("勾配消失 (vanishing gradient) と注意機構")
    assert not [m for m in messages if "missing" in m.lower() or "findfont" in m.lower()], messages


def test_the_check_would_catch_missing_glyphs():
    # Control: with the Latin font alone, the same figure does warn, so the test above can fail.
    use_course_style()
    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        messages = _render_title("勾配消失")
    assert any("missing" in m.lower() for m in messages), messages
