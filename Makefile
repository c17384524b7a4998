# The two commands of the README. Each makes the virtual environment when it is missing.
#   make train   trains the digit classifier (ARGS="--digits all --model mlp" to change it)
#   make test    lints, then runs the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: train test lint bench
train: $(INSTALLED)
	$(PY) examples/digits.py $(ARGS)

test: $(INSTALLED)
	$(PY) -m ruff check minigrad tests examples benchmarks
	$(PY) -m pytest $(ARGS)

bench: $(INSTALLED)
	$(PY) -m benchmarks $(ARGS)

$(INSTALLED): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)
