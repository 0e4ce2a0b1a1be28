"""The course's figure style and the Japanese font fallback.

``use_course_style()`` applies ``course.mplstyle`` (shipped inside this package) and
registers IPAexGothic (bundled by the ``matplotlib-fontja`` package) as a fallback
font: Latin text keeps DejaVu Sans, and any Japanese character is drawn with
IPAexGothic instead of an empty box. ``helpers.course.setup()`` calls it for you.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
from matplotlib import font_manager

STYLE = "helpers.course"  # dotted path: matplotlib finds helpers/course.mplstyle
LATIN_FONT = "DejaVu Sans"
JAPANESE_FONT = "IPAexGothic"


def japanese_font_file() -> Path | None:
    """Path of the IPAexGothic font file inside ``matplotlib_fontja``, or None if not installed."""
    try:
        from matplotlib_fontja import get_font_ttf_path  # importing it also sets font.family; we reset it
    except ImportError:
        return None
    path = Path(get_font_ttf_path())
    return path if path.exists() else None


def register_japanese_font() -> bool:
    """Make IPAexGothic a fallback after DejaVu Sans. Returns False if the font is missing.

    Matplotlib falls back font by font, glyph by glyph, only when ``font.family`` is a
    list of families (a list in ``font.sans-serif`` alone does not fall back).
    """
    path = japanese_font_file()
    if path is None:
        return False
    font_manager.fontManager.addfont(str(path))
    matplotlib.rcParams["font.family"] = [LATIN_FONT, JAPANESE_FONT]
    return True


def use_course_style() -> bool:
    """Apply the course style and the Japanese fallback font. Returns True if the font is there."""
    plt.style.use(STYLE)
    return register_japanese_font()
