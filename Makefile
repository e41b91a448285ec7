# feedsvc: `make run` starts the service on the bundled demo, `make test` runs the checks.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
CONFIG ?= config/feedsvc.toml

.PHONY: run test lint typecheck bench fuzz clean image-test lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamp files so a changed pyproject.toml reinstalls, and an unchanged one costs nothing.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/feedsvc serve --config $(CONFIG)

test: $(VENV)/.installed-dev
	$(BIN)/ruff check feedsvc tests bench tools
	$(BIN)/ruff format --check feedsvc tests bench tools
	$(BIN)/mypy feedsvc
	$(BIN)/pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix feedsvc tests bench tools
	$(BIN)/ruff format feedsvc tests bench tools

# 10,000 generated hostile pages with fresh random draws (CI runs 300 fixed ones in `make test`).
fuzz: $(VENV)/.installed-dev
	FEEDSVC_FUZZ_EXAMPLES=10000 FEEDSVC_FUZZ_RANDOM=1 $(BIN)/pytest -q tests/test_fuzz_pages.py

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench

# The container image built with buildah (chroot isolation, a debootstrapped base cached under
# /var/cache/feedsvc-image-test) and run as users run it, alone and as docker-compose.scale.yml runs it (on
# the PostgreSQL at 127.0.0.1:5432, behind nginx): tests/test_container.py, tools/image_build.py.
# Needs root and Debian's buildah, debootstrap and nginx-light packages.
image-test: $(VENV)/.installed-dev
	FEEDSVC_IMAGE_TEST=1 $(BIN)/pytest -q -m 'not slow' tests/test_container.py

# requirements.lock (the image's dependencies, exact versions with hashes) from pyproject.toml, and the
# build stage's setuptools/wheel; run after changing dependencies in pyproject.toml.
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock'
lock: | $(BIN)/python
	$(BIN)/pip install --quiet 'uv>=0.5,<1'
	$(UV_COMPILE) pyproject.toml --extra postgresql -o requirements.lock
	$(UV_COMPILE) docker/build-requirements.in -o docker/build-requirements.lock

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
