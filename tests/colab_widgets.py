"""Run widget wiring under Colab's ipywidgets 7.7.1, which `make install` keeps aside in build/ipywidgets-7.7.

Shared by the tests of every widget (the attention explorer, the sampling sliders): the same check runs in a
subprocess whose import path puts that copy of ipywidgets first.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WIDGETS_7 = ROOT / "build" / "ipywidgets-7.7"

needs_ipywidgets_7_7 = pytest.mark.skipif(
    not WIDGETS_7.exists(), reason="ipywidgets 7.7 not in build/ (`make install` puts it there)")

PRELUDE = (
    "import matplotlib; matplotlib.use('Agg')\n"
    "import ipywidgets, torch\n"
    "assert ipywidgets.__version__.startswith('7.7'), ipywidgets.__version__\n"
    "from helpers.checkpoint import load_model\n"
    "from helpers.data import data_dir\n"
    "from helpers.tokenizer import BPETokenizer\n"
    "model, tok = load_model(data_dir() / 'gpt'), BPETokenizer.load(data_dir() / 'tokenizer.json')\n")


def run_on_ipywidgets_7_7(body: str) -> None:
    """Run ``body`` (Python, with ``model`` and ``tok`` loaded) on ipywidgets 7.7; fail with its stderr if it fails."""
    script = PRELUDE + body + "\nprint('ok', ipywidgets.__version__)\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(WIDGETS_7), str(ROOT)]), "COURSE_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ok 7.7" in out.stdout
