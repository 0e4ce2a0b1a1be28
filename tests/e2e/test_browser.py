"""Real-browser tests: JupyterLab + headless Chromium use the notebooks as a learner does.

nbval only runs the kernel side; these tests click in the page: run all cells, move widget controls and check
that the figure really changes, and that bertviz draws (CDN answered from local npm copies) or, offline, that
the notebook still shows the course's own views and no error. Screenshots go to artifacts/e2e/.
Run alone with `make e2e`.
"""

from __future__ import annotations

import re
import time

import pytest

from .conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

CDN = "**/cdnjs.cloudflare.com/**"


def open_notebook(page, lab: str, name: str) -> None:
    """Open a notebook in a workspace of its own (``?reset``: no tabs restored from an earlier test) and wait
    until it is rendered and its kernel is idle."""
    page.goto(f"{lab}/lab/workspaces/{name.split('.')[0]}/tree/{name}?reset")
    page.wait_for_selector(".jp-NotebookPanel .jp-MarkdownCell h1", timeout=120_000)
    page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\| Idle")).first.wait_for(timeout=120_000)
    news = page.locator(".jp-Notification-Toast", has_text="Jupyter news").get_by_role("button", name="No")
    if news.count():
        news.first.click()  # the "official Jupyter news?" toast would cover the lower right corner


def run_all(page, timeout_s: int = 240) -> None:
    """Run > Run All Cells, then wait until every code cell has an execution count."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    wait_until_done(page, timeout_s)


def run_all_above(page, cell, timeout_s: int = 240) -> None:
    """Select ``cell`` and use Run > Run All Above Selected Cell (the path TEACHING.md gives lecturers), then wait
    until every code cell above it has an execution count; fail at the first error output."""
    cell.locator(".jp-InputPrompt").click()
    above = cell.evaluate("el => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')].indexOf(el)")
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Above Selected Cell$")).click()
    _until(lambda: "[*]:" in prompts(page)[:above])  # queued: the stored counts are no longer what shows
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        assert error_outputs(page) == [], f"a cell above failed: {error_outputs(page)}"
        if all(re.fullmatch(r"\[\d+\]:", p) for p in prompts(page)[:above]):
            return
        time.sleep(1)
    raise AssertionError(f"cells above still running or not run after {timeout_s} s: {prompts(page)[:above]}")


def run_cell(page, cell, timeout_s: int = 120) -> None:
    """Select ``cell``, run it (Shift+Enter) and wait for its execution count."""
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")
    prompt = cell.locator(".jp-InputPrompt")
    _until(lambda: prompt.inner_text().strip() == "[*]:")  # queued: its stored count is no longer what shows
    deadline = time.time() + timeout_s
    while not re.fullmatch(r"\[\d+\]:", prompt.inner_text().strip()):
        assert time.time() < deadline, f"the cell did not finish in {timeout_s} s: {prompt.inner_text()!r}"
        assert error_outputs(page) == [], error_outputs(page)
        time.sleep(0.5)


def _until(condition, timeout_s: float = 10) -> None:
    """Wait until ``condition()`` holds or ``timeout_s`` passes (a short run may be over before it is seen: go on)."""
    deadline = time.time() + timeout_s
    while not condition() and time.time() < deadline:
        time.sleep(0.1)


def prompts(page) -> list[str]:
    return page.eval_on_selector_all(".jp-CodeCell .jp-InputPrompt", "els => els.map(e => e.textContent.trim())")


def wait_until_done(page, timeout_s: int) -> None:
    """Every code cell numbered: done. No cell running or queued ([*]) for 10 s while some are unrun: run-all
    stopped at an error."""
    deadline, idle_since = time.time() + timeout_s, None
    while time.time() < deadline:
        found = [p for p in prompts(page) if p]
        if found and all(re.fullmatch(r"\[\d+\]:", p) for p in found):
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", state="attached")
            return
        idle = "[*]:" not in found
        idle_since = (idle_since or time.time()) if idle else None
        if idle_since and time.time() - idle_since > 10:
            raise AssertionError(f"run-all stopped: prompts {found}; errors: {error_outputs(page)}")
        time.sleep(1)
    raise AssertionError(f"cells still running or not run after {timeout_s} s: {prompts(page)}")


def error_outputs(page) -> list[str]:
    """Text of every output that shows a Python traceback (cell errors and widget-callback errors alike)."""
    texts = page.eval_on_selector_all(".jp-OutputArea-output", "els => els.map(e => e.innerText)")
    return [t[:500] for t in texts if "Traceback" in t or "Error:" in t.split("\n")[0]]


def cell_with(page, source_text: str, timeout_s: int = 60):
    """The notebook cell whose source contains ``source_text``, waiting for it to be rendered: JupyterLab renders
    a long notebook's cells progressively after it opens, so one far down may not be there yet."""
    cell = page.locator(".jp-Notebook .jp-CodeCell", has=page.locator(".jp-InputArea", has_text=source_text))
    _until(lambda: cell.count() > 0, timeout_s)
    assert cell.count() == 1, f"{cell.count()} cells contain {source_text!r}"
    return cell


def image_src(cell) -> str:
    img = cell.locator(".jp-OutputArea img").first
    img.wait_for()
    return img.get_attribute("src")


def plot_pixels(src: str):
    """The figure's pixels without its title strip (a new title alone must not count as a changed figure)."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("L"))
    return image[int(0.08 * image.shape[0]):]


def wait_for_new_image(cell, before: str, timeout_s: int = 30) -> str:
    """Wait until the cell shows a figure whose drawing (not only its title) differs from ``before``."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        imgs = cell.locator(".jp-OutputArea img")
        if imgs.count() and (src := imgs.first.get_attribute("src")) and src != before:
            old, new = plot_pixels(before), plot_pixels(src)
            if old.shape != new.shape or (old != new).any():
                return src
        time.sleep(0.25)
    raise AssertionError(f"the figure did not change after the control moved; errors: {error_outputs(cell.page)}")


def slider(cell, label: str):
    pattern = re.compile(f"^{re.escape(label)}$")
    return cell.locator(".widget-slider", has=cell.page.locator(".widget-label", has_text=pattern))


def nudge(slider_locator) -> None:
    """One keyboard step: right, or left when the handle is already at its maximum."""
    handle = slider_locator.locator(".noUi-handle")
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    handle.focus()
    slider_locator.page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")


def test_notebook_00_renders_and_runs(page, lab):
    open_notebook(page, lab, "00_setup.ipynb")
    assert page.locator(".jp-MarkdownCell h1", has_text="Setup and course map").count() == 1
    run_all(page, timeout_s=120)
    assert error_outputs(page) == []
    assert page.locator(".jp-OutputArea-output", has_text="course setup: fast mode").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "00_setup.png"))


def test_notebook_04_heatmap_follows_its_controls(page, lab):
    open_notebook(page, lab, "04_scaled_dot_product_attention.ipynb")
    run_all(page)
    assert error_outputs(page) == []
    cell = cell_with(page, "explorer = AttentionExplorer(")
    cell.scroll_into_view_if_needed()
    before = image_src(cell)
    cell.screenshot(path=str(ARTIFACTS / "04_heatmap_before.png"))

    layer = slider(cell, "layer")
    start = int(layer.locator(".widget-readout").inner_text())  # the notebook itself set it after drawing
    layer.locator(".noUi-handle").focus()
    cell.page.keyboard.press("ArrowRight")
    after_layer = wait_for_new_image(cell, before)
    assert layer.locator(".widget-readout").inner_text().strip() == str(start + 1)
    cell.screenshot(path=str(ARTIFACTS / "04_heatmap_after_layer.png"))

    temperature = slider(cell, "temperature")
    temperature.locator(".noUi-handle").focus()
    cell.page.keyboard.press("ArrowRight")
    after_temperature = wait_for_new_image(cell, after_layer)
    assert temperature.locator(".widget-readout").inner_text().strip() != "1.00"

    query = slider(cell, "query")
    old_max = query.locator(".noUi-handle").get_attribute("aria-valuemax")
    box = cell.locator(".widget-text input")
    box.fill("Hor.\nStay! speak, speak! I charge thee speak!")
    box.press("Enter")
    wait_for_new_image(cell, after_temperature)
    new_max = query.locator(".noUi-handle").get_attribute("aria-valuemax")
    assert new_max != old_max, "the query slider did not follow the new sentence's length"
    assert error_outputs(page) == []
    cell.screenshot(path=str(ARTIFACTS / "04_heatmap_after_sentence.png"))


def test_notebook_05_bertviz_offline_and_with_the_cdn_answered_locally(page, lab, cdn_files):
    """First offline (bertviz's scripts cannot load): the notebook must still run, show the course's own views
    and no error. Then the CDN is answered from the npm copies and the bertviz cell re-run: its SVG must appear."""
    requested = []
    page.route(CDN, lambda route: (requested.append(route.request.url), route.abort()))
    open_notebook(page, lab, "05_multi_head_attention.ipynb")
    run_all(page, timeout_s=300)
    assert error_outputs(page) == []
    model_view = cell_with(page, "draw_model_view(short_tokens, short_att)")
    assert model_view.locator(".jp-OutputArea img").count() == 1
    head = cell_with(page, 'view = bertviz_view(short_att, short_tokens, kind="head")')
    assert head.locator("svg line").count() == 0  # bertviz could not draw: its scripts never arrived
    head.locator(".bertviz-offline").wait_for(timeout=30_000)  # and says so instead of an empty box
    assert any("require" in url for url in requested), "bertviz did not even ask for its scripts"
    model_view.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "05_offline_course_view.png"))

    def serve(route):
        path = route.request.url.split("/ajax/libs/", 1)[-1]
        if path in cdn_files:
            route.fulfill(status=200, body=cdn_files[path], content_type="application/javascript")
        else:
            route.abort()

    page.unroute(CDN)
    page.route(CDN, serve)
    head.locator(".jp-InputArea").click()
    page.keyboard.press("Shift+Enter")
    lines = head.locator("svg line")
    lines.first.wait_for(state="attached", timeout=60_000)
    assert lines.count() > 10
    assert error_outputs(page) == []
    head.scroll_into_view_if_needed()
    head.screenshot(path=str(ARTIFACTS / "05_bertviz_head_view.png"))


def test_notebook_12_sampling_sliders_redraw_the_bar_chart(page, lab):
    open_notebook(page, lab, "12_decoding.ipynb")
    run_all(page, timeout_s=300)
    assert error_outputs(page) == []
    cell = cell_with(page, "SamplingExplorer(")
    cell.scroll_into_view_if_needed()
    shown = image_src(cell)
    cell.screenshot(path=str(ARTIFACTS / "12_sampling_before.png"))
    samples = cell.locator(".jp-RenderedText", has_text="distinct-2 of the 4 samples together")
    assert samples.count() >= 1, "the explorer should print four samples and their distinct-2"
    before_text = samples.last.inner_text()
    # Run All leaves the explorer as the notebook's last cells set it (top-k off, penalty 1.5). Order matters: top-p
    # before top-k (with top-k = 1 a nucleus changes nothing), and the penalty moves 10 steps (one step of 0.05 can
    # change the bars by less than a pixel; at its maximum the nudge goes left).
    for label, name, steps in [("temperature", "temperature", 1), ("top-p (1=off)", "top_p", 1),
                               ("repetition penalty (1=off)", "repetition_penalty", 10), ("top-k (0=off)", "top_k", 1)]:
        control = slider(cell, label)
        assert control.count() == 1, f"no slider labelled {label!r}"
        readout = control.locator(".widget-readout").inner_text()
        for _ in range(steps):
            nudge(control)
        shown = wait_for_new_image(cell, shown)
        assert control.locator(".widget-readout").inner_text() != readout, f"{label}: the readout did not follow"
        if steps > 1:  # let the queued redraws finish, so that the next control is judged by its own redraw
            stable_since, deadline = time.time(), time.time() + 30
            while time.time() - stable_since < 2 and time.time() < deadline:
                time.sleep(0.25)
                imgs = cell.locator(".jp-OutputArea img")
                src = (imgs.first.get_attribute("src") if imgs.count() else None) or shown
                if src != shown:
                    shown, stable_since = src, time.time()
        cell.screenshot(path=str(ARTIFACTS / f"12_sampling_after_{name}.png"))
    deadline = time.time() + 30
    while (not samples.count() or samples.last.inner_text() == before_text) and time.time() < deadline:
        time.sleep(0.25)
    assert samples.count() and samples.last.inner_text() != before_text, "the samples were not redrawn"
    assert error_outputs(page) == []
