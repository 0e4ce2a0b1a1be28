"""`make lab` starts JupyterLab on the course's notebooks (checked on a free port, then stopped)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_lab_serves_the_notebooks():
    port = _free_port()
    args = f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.token= --ServerApp.password="
    env = {**os.environ, "PYTHON": sys.executable, "LAB_ARGS": args}
    proc = subprocess.Popen(["make", "-s", "lab"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        listing = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents", timeout=2) as r:
                    listing = json.load(r)
                break
            except OSError:
                time.sleep(1)
        if listing is None:
            proc.terminate()
            pytest.fail(f"JupyterLab did not answer on port {port}:\n{proc.communicate(timeout=30)[0].decode()[-3000:]}")
        names = {item["name"] for item in listing["content"]}
        assert "00_setup.ipynb" in names  # rooted at notebooks/
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=5) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
        # The course's settings reach the server: no "get notified about Jupyter news?" toast over the widgets.
        url = f"http://127.0.0.1:{port}/lab/api/settings/@jupyterlab/apputils-extension:notification"
        with urllib.request.urlopen(url, timeout=5) as r:
            defaults = json.load(r)["schema"]["properties"]
        assert defaults["fetchNews"]["default"] == "false" and defaults["checkForUpdates"]["default"] is False
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """Stop make and the JupyterLab it started (same process group)."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
