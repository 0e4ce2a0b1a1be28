"""The Colab bootstrap cell, run in a simulated Colab: a stand-in ``google.colab`` module
and a local git repository in place of GitHub. Checks that ``helpers`` then imports from
the fresh clone, finds its data, and that widget support was switched on."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import nbtools

ROOT = Path(__file__).resolve().parent.parent

FAKE_OUTPUT = '''
import os
def enable_custom_widget_manager():
    open(os.environ["FAKE_COLAB_MARKER"], "w").write("enabled")
'''

AFTER = '''
import helpers, helpers.data
print("HELPERS_AT", helpers.__file__)
print("TEXTS", len(helpers.data.verify_all()))
'''


@pytest.fixture(scope="module")
def local_remote(tmp_path_factory):
    """A git repository holding this working tree's package, data and pyproject (what a clone gets)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path_factory.mktemp("remote") / "course-repo"
    repo.mkdir()
    for name in ("helpers", "data"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", repo)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "-C", str(repo)]
    subprocess.run([*git, "init", "--quiet"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "snapshot"], check=True)
    return repo


def _run_cell(tmp_path, env_extra, with_fake_colab=True):
    fake = tmp_path / "fake_modules"
    if with_fake_colab:
        (fake / "google" / "colab").mkdir(parents=True)
        (fake / "google" / "__init__.py").write_text("")
        (fake / "google" / "colab" / "__init__.py").write_text("")
        (fake / "google" / "colab" / "output.py").write_text(FAKE_OUTPUT)
    content = tmp_path / "content"
    content.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_DATA_DIR", "PYTHONPATH")}
    env.update({"PYTHONPATH": str(fake), "COURSE_COLAB_HOME": str(content),
                "FAKE_COLAB_MARKER": str(tmp_path / "widgets_enabled"), **env_extra})
    code = nbtools.bootstrap_source() + "\n" + AFTER
    result = subprocess.run([sys.executable, "-c", code], cwd=content, env=env,
                            capture_output=True, text=True, timeout=300)
    return result, content


def test_in_colab_the_cell_clones_the_course_and_helpers_imports(tmp_path, local_remote):
    result, content = _run_cell(tmp_path, {"COURSE_REPO_URL": str(local_remote)})
    assert result.returncode == 0, result.stderr
    clone = content / local_remote.name
    assert (clone / "helpers" / "__init__.py").exists()
    helpers_at = Path(result.stdout.split("HELPERS_AT ")[1].split()[0])
    assert helpers_at.resolve().is_relative_to(clone.resolve()), result.stdout
    assert "TEXTS 77" in result.stdout
    assert (tmp_path / "widgets_enabled").read_text() == "enabled"
    assert "Colab: course ready in" in result.stdout
    assert "pip" not in result.stderr  # everything Colab needs was already importable: no install


def test_outside_colab_the_cell_does_nothing(tmp_path):
    result, content = _run_cell(tmp_path, {"COURSE_REPO_URL": "/nonexistent"}, with_fake_colab=False)
    assert result.returncode == 0, result.stderr
    assert list(content.iterdir()) == []
    assert "Colab" not in result.stdout
    assert not (tmp_path / "widgets_enabled").exists()
