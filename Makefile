# marketsim: `make run` and `make test` are the whole quick start.
PY_VERSION ?= 3.12.1
VENV       ?= .venv
PY         := $(VENV)/bin/python
STAMP      := $(VENV)/.installed

.PHONY: run test test-fast bench calibrate results docs lint clean constraints

$(VENV)/bin/python:
	@PYENV_VERSION=$(PY_VERSION) python3.12 -m venv $(VENV) 2>/dev/null || python3.12 -m venv $(VENV) \
	  || python3 -m venv $(VENV)
	@$(PY) -c 'import sys; assert sys.version_info >= (3, 12), "marketsim needs Python >= 3.12"'

# Installs the versions constraints.txt pins (those the tests passed with), so two fresh
# machines get the same stack.
$(STAMP): pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,dev]'
	@touch $(STAMP)

constraints: | $(STAMP)  ## pin constraints.txt to the venv's versions (after tests pass with them)
	@{ echo '# The versions `make` installs: every distribution marketsim[test,dev] needs, as'; \
	  echo '# installed when the tests passed. Regenerate with `make constraints`.'; \
	  $(PY) -m pip list --format=freeze --exclude-editable \
	    --exclude marketsim --exclude pip --exclude setuptools; } > constraints.txt.tmp
	@mv constraints.txt.tmp constraints.txt
	@touch $(STAMP)

run: $(STAMP)  ## run the default scenario and print its summary
	$(VENV)/bin/marketsim run scenarios/default.toml --seed 0

test: $(STAMP)  ## the whole test suite (installs Chromium for the browser test if missing)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

bench: $(STAMP)  ## speed and memory figures, side by side, with their goals
	$(PY) -m bench

calibrate: $(STAMP)
	$(VENV)/bin/marketsim calibrate --seeds 16 --markdown docs/calibration.md

results: $(STAMP)  ## regenerate docs/results.md and docs/figures (regimes, seed story)
	$(PY) -m analysis.results

lint: $(STAMP)
	$(VENV)/bin/ruff check marketsim tests examples bench analysis

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
