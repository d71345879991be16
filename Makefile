# Two entry points for a fresh machine: `make run` (the main job) and `make test` (the suite).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install run test lint format clean

$(VENV)/.installed: pyproject.toml examples/*/pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q -e examples/ganzoo-ragan -e examples/ganzoo-sngan -e examples/ganzoo-featmatch
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/ganzoo run dcgan --loss lsgan

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
