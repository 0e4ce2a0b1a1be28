"""Fixtures for the real-browser tests: JupyterLab on a free port, Chromium driven by Playwright, local CDN copies.

Needs Debian's Chromium (`apt-get install chromium`; Playwright's own browser download does not work here), the
Python `playwright` package (in the dev extra) and the npm copies of bertviz's JavaScript in artifacts/cdn
(`make browser-deps` does both). Without them the tests skip with the reason, unless COURSE_E2E_REQUIRED=1
(set by CI), where they fail. Every process started here is stopped again, also when a test fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"
CDN_DIR = ROOT / "artifacts" / "cdn"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# bertviz asks cdnjs for these (see bertviz/head_view.py and head_view.js). npm has no jQuery 2.0.0; 2.1.0 is the
# nearest release with the same API for what bertviz uses.
CDN_FILES = {
    "require.js/2.3.6/require.min.js": ("requirejs-2.3.6.tgz", "package/require.js"),
    "d3/5.7.0/d3.min.js": ("d3-5.7.0.tgz", "package/dist/d3.min.js"),
    "jquery/2.0.0/jquery.min.js": ("jquery-2.1.0.tgz", "package/dist/jquery.min.js"),
}


def _missing(reason: str):
    if os.environ.get("COURSE_E2E_REQUIRED") == "1":
        pytest.fail(f"browser tests required (COURSE_E2E_REQUIRED=1) but {reason}")
    pytest.skip(reason)


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def cdn_files() -> dict[str, bytes]:
    """{path after cdnjs.cloudflare.com/ajax/libs/: file bytes}, from the npm tarballs in artifacts/cdn."""
    files = {}
    for url_path, (tarball, member) in CDN_FILES.items():
        path = CDN_DIR / tarball
        if not path.exists():
            _missing(f"{path.relative_to(ROOT)} is missing: run `make browser-deps`")
        with tarfile.open(path) as tar:
            files[url_path] = tar.extractfile(member).read()
    return files


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """JupyterLab from this environment, empty token, on a free localhost port, serving a temporary copy of the
    notebooks. Yields its base URL; stops the server (and its kernels) afterwards."""
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", work / "notebooks")
    port = _free_port()
    env = {**os.environ, "COURSE_FAST": "1", "COURSE_THREADS": "1", "JUPYTER_CONFIG_DIR": str(work / "config"),
           "JUPYTER_RUNTIME_DIR": str(work / "runtime"), "JUPYTER_DATA_DIR": str(work / "data-dir"),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    # kernels must find the same Python; JupyterLab's own kernel spec uses sys.executable
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
           f"--ServerApp.root_dir={work / 'notebooks'}", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           f"--LabApp.workspaces_dir={work / 'workspaces'}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(work / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError as err:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("JupyterLab did not start:\n" + (work / "lab.log").read_text()[-3000:]) from err
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright; closed afterwards."""
    executable = chromium_path()
    if executable is None:
        _missing("Chromium is not installed (`apt-get install chromium`, or `make browser-deps` as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (`make install`)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser context and page, 1400x1000; a screenshot of the page is kept if the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        pg.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=False)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
