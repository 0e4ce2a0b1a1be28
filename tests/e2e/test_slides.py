"""Real-browser tests of the classroom decks: the RISE slideshow in JupyterLab, and a static deck opened offline.

The RISE deck is the open notebook's own view (`/rise/<notebook>`): it must show one slide per core section, a
figure from the stored outputs, and run a cell in place. The static deck (``make slides``) is opened from disk with
every request that is not a local file refused: reveal.js, jQuery, require.js and MathJax must all come from the
copies beside it. Screenshots go to artifacts/e2e/.
"""

from __future__ import annotations

import json
import re

import pytest

from helpers import slides

from .conftest import ARTIFACTS, ROOT
from .test_browser import open_notebook, run_all

pytestmark = pytest.mark.e2e

NOTEBOOK = "04_scaled_dot_product_attention.ipynb"


def _core_slides(name: str) -> int:
    nb = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
    return slides.slide_types(nb).count("slide")


def _present(page) -> str:
    """The present slide's text, as written (textContent: a theme's upper-case styling does not change it)."""
    return page.evaluate("document.querySelector('.reveal section.present').textContent").strip()


def _walk_to(page, pattern: str, steps: int = 40) -> None:
    """Press the right arrow until the present slide's text matches ``pattern``."""
    for _ in range(steps):
        if re.search(pattern, _present(page), re.I):
            return
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(300)
    raise AssertionError(f"no slide matching {pattern!r} within {steps} steps; last: {_present(page)[:200]!r}")


def test_rise_slideshow_shows_the_core_path_with_its_figures_and_runs_a_cell(page, lab):
    # The lecturer's routine: run the notebook once, then present it; the deck shares the notebook's kernel.
    open_notebook(page, lab, NOTEBOOK)
    run_all(page)
    page.goto(f"{lab}/rise/{NOTEBOOK}")
    page.wait_for_selector(".reveal.ready .slides > section", timeout=120_000)
    # one horizontal slide per core section, plus the title; optional (発展) sections and the Colab cell skipped
    assert page.locator(".reveal .slides > section").count() == _core_slides(NOTEBOOK)
    assert "Scaled dot-product attention" in _present(page)
    page.screenshot(path=str(ARTIFACTS / "rise_04_title.png"))

    _walk_to(page, r"\bWhy divide by")  # a figure slide: the stored plot of saturating softmax
    figure = page.locator(".reveal section.present .jp-OutputArea img").first
    figure.wait_for(timeout=30_000)
    assert figure.evaluate("img => img.complete && img.naturalWidth > 100")
    page.screenshot(path=str(ARTIFACTS / "rise_04_figure_slide.png"))

    _walk_to(page, r"\bInteractive attention heatmap")  # the explorer's slide: run its cell in the deck
    cell = page.locator(".reveal section.present .jp-CodeCell",
                        has=page.locator(".jp-InputArea", has_text="AttentionExplorer("))
    stored = cell.locator(".jp-InputPrompt").inner_text().strip()
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    prompt = cell.locator(".jp-InputPrompt")
    for _ in range(120):  # the prompt becomes a new execution count once the kernel has run the cell
        now = prompt.inner_text().strip()
        if now != stored and re.fullmatch(r"\[\d+\]:", now):
            break
        page.wait_for_timeout(500)
    assert now != stored and re.fullmatch(r"\[\d+\]:", now), (stored, now)
    cell.locator(".jp-OutputArea img").first.wait_for(timeout=60_000)  # the heatmap, drawn by the live kernel
    assert cell.locator(".jp-OutputArea-output", has_text="Traceback").count() == 0
    page.screenshot(path=str(ARTIFACTS / "rise_04_heatmap_slide.png"))


def test_static_deck_opens_offline(browser, tmp_path):
    out = tmp_path / "slides"
    assert slides.main([str(ROOT / "notebooks" / NOTEBOOK), "--out", str(out)]) == 0
    deck = out / NOTEBOOK.replace(".ipynb", ".slides.html")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    refused = []
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
               else (refused.append(route.request.url), route.abort()))
    try:
        page.goto(deck.as_uri())
        page.wait_for_selector(".reveal.ready", timeout=60_000)
        assert page.locator(".reveal .slides > section").count() == _core_slides(NOTEBOOK)
        assert page.evaluate("typeof MathJax") == "object"  # MathJax came from the local copy
        page.screenshot(path=str(ARTIFACTS / "static_04_title.png"))
        _walk_to(page, r"\bWhy divide by")
        figure = page.locator(".reveal section.present img").first
        assert figure.evaluate("img => img.complete && img.naturalWidth > 100")
        page.screenshot(path=str(ARTIFACTS / "static_04_figure_slide.png"))
    finally:
        context.close()
    # The only thing a deck may ask the network for is the Colab badge image of the title cell.
    assert [u for u in refused if "colab-badge" not in u] == []
