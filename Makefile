# Two commands do all set-up:  `make demo` (main job) and `make test` (test suite).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint wheel-smoke bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev,pusht,pointmaze]"  # the environment extras too, so their tests run
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/jepa-world demo

test: $(STAMP)
	$(BIN)/ruff check jepa_world tests bench
	$(BIN)/pytest -q -n 2 --doctest-modules jepa_world tests

# The built wheel in a fresh venv outside the source tree: one step of every preset and the demo (.ci/run).
wheel-smoke:
	.ci/wheel_smoke.sh $(PY)

lint: $(STAMP)
	$(BIN)/ruff check jepa_world tests bench

clean:
	rm -rf $(VENV) runs out
