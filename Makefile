# The README's two commands: `make demo` and `make test`. Both do their own set-up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test lint format serve worker beat clean-db help

help:
	@echo "make demo   - install, start the embedded database, load the demo catalogue, serve on http://$(HOST):$(PORT)"
	@echo "make test   - install, lint, run the whole test suite"

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

demo: $(VENV)/.installed
	@# Start-up checks (model weights) run once, in runserver.
	$(PY) manage.py migrate --noinput --skip-checks
	$(PY) manage.py demo_setup --host $(HOST):$(PORT)
	$(PY) manage.py runserver --noreload $(HOST):$(PORT)

test: $(VENV)/.installed-dev lint
	$(PY) -m pytest

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports  # which app may import which: [tool.importlinter] in pyproject.toml

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

worker: $(VENV)/.installed
	DJANGO_SETTINGS_MODULE=config.settings.base $(VENV)/bin/celery -A config worker -Q default,crawl,embed,query --concurrency 1 -l info

beat: $(VENV)/.installed
	DJANGO_SETTINGS_MODULE=config.settings.base $(VENV)/bin/celery -A config beat -l info
