# The two commands of the README. Each makes the virtual environment when it is missing.
#   make train   trains the digit classifier (ARGS="--digits all --model mlp" to change it)
#   make test    lints, then runs the whole test suite
#   make sweep   the suite under many Hypothesis seeds (SEEDS="1 2 3"), one after the other
#   make docs    the site, into site/ (open site/index.html); make docs-serve to preview it
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: train test sweep bench docs docs-serve

# Both commands write only in this clone (and the tests in temporary folders): the MNIST cache
# (downloads, unpacked PNGs, decoded arrays) is .cache here, reused from one run to the next.
# MINIGRAD_DATA, when set, is only read.
export MINIGRAD_CACHE ?= $(CURDIR)/.cache

train: $(INSTALLED)
	$(PY) examples/digits.py $(ARGS)

test: $(INSTALLED)
	$(PY) -m ruff check minigrad tests examples benchmarks docs
	$(PY) -m pytest $(ARGS)

# The whole suite under the random dev profile, once per seed, one seed at a time: what a
# derandomized CI run cannot show (make sweep SEEDS="1 2 3", ARGS=tests/test_x.py).
SEEDS ?= 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20
sweep: $(INSTALLED)
	for seed in $(SEEDS); do \
	  HYPOTHESIS_PROFILE=dev $(PY) -m pytest -q -p no:cacheprovider --hypothesis-seed=$$seed $(ARGS) \
	    || { echo "failed under --hypothesis-seed=$$seed"; exit 1; }; \
	done

# The site (mkdocs.yml): strict, so a broken link, a missing page or a failed page fails it.
# Offline: nothing is fetched, and site/ opens from disk. The chapters' notebooks are shown as
# committed (python docs/build.py runs them); the derivative reference runs the op tests once.
export NO_MKDOCS_2_WARNING := 1
docs: $(INSTALLED)
	$(PY) -m mkdocs build --strict
	@echo "open site/index.html"

docs-serve: $(INSTALLED)
	$(PY) -m mkdocs serve

bench: $(INSTALLED)
	$(PY) -m benchmarks $(ARGS)

$(INSTALLED): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)
