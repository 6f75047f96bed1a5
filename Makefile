# The VRAC platform's commands. `make demo` and `make test` do all the set-up themselves.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv
PYTEST_ARGS ?=

.PHONY: help install up down keycloak status test test-unit demo lint generate check-generated bench clean

help:
	@echo "make demo     install, start the stack and the services, walk one case through"
	@echo "              (KEEP=1: keep the services and the web app running to click through)"
	@echo "make test     install, start the stack, run every test, stop what it started"
	@echo "make up|down|status   the local Kafka + FerretDB stack"
	@echo "make keycloak the local identity provider (Keycloak with the generated realm)"
	@echo "make lint     ruff and mypy"
	@echo "make generate regenerate contracts artefacts and deploy manifests"
	@echo "make bench    throughput and latency: raw Kafka, the platform, the same work by hand"

install:
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check 'uv>=0.5'
	@$(UV) sync --frozen --all-packages --quiet
	@deploy/local/browser-tools.sh

up: install
	@$(PYTHON) deploy/local/stack.py up

down:
	@$(PYTHON) deploy/local/stack.py down

keycloak:
	@$(PYTHON) deploy/local/stack.py keycloak-start

status:
	@$(PYTHON) deploy/local/stack.py status

test: install
	@deploy/local/with-stack.sh $(UV) run --frozen pytest $(PYTEST_ARGS)

test-unit: install
	@$(UV) run --frozen pytest -m "not integration" $(PYTEST_ARGS)

demo: install
	@VRAC_DEMO_KEEP=$(KEEP) deploy/local/with-stack.sh --keep $(UV) run --frozen python -m demo

lint: install
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen mypy runtime/src testing/src contracts/src services/*/src bench

generate: install
	@$(UV) run --frozen python -m vrac_contracts.generate
	@if [ -f deploy/generate.py ]; then $(UV) run --frozen python deploy/generate.py; fi

bench: install
	@deploy/local/with-stack.sh $(UV) run --frozen python -m bench

clean: down
	rm -rf .state
