# ticketflow: `make run` starts everything, `make test` proves it.
# Everything is installed from the lock file into .venv; uv itself is
# bootstrapped into .local/tools from PyPI on first use.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .local/tools/bin/uv
# Use the machine's Python; never download one.
export UV_PYTHON_DOWNLOADS := never
PY := .venv/bin/python

.PHONY: help install run test demo docs bench soak chaos infra-up infra-down infra-status clean

help:
	@echo "make run     install, start Kafka, PostgreSQL, the SMTP sink, the five services and the console, seed a demo event"
	@echo "make test    install, start what the tests need, run unit, contract and end-to-end tests, stop"
	@echo "make demo    drive one order through a running stack and print its timeline"
	@echo "make docs    write each service's OpenAPI and AsyncAPI documents to docs/api/"
	@echo "make bench   the whole-flow benchmark, then the per-service ones; reports in bench-results/"
	@echo "             (BENCH=\"wholeflow --orders 500\" to choose: wholeflow orders checkin notifications issuance ...)"
	@echo "make soak    the whole flow at half the maximum rate for 10 minutes (MINUTES=...); fails if memory or lag grow"
	@echo "make chaos   kill and restart every part while orders flow, then check the invariants"

$(UV):
	$(PYTHON) -m venv .local/tools
	.local/tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.installed: $(UV) uv.lock pyproject.toml $(wildcard services/*/pyproject.toml shared/*/pyproject.toml deploy/local/pyproject.toml)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: .venv/.installed

run: install
	$(PY) -m ticketflow_local.stack run

test: install
	$(PY) -m ticketflow_local.testrun

demo: install
	$(PY) -m ticketflow_local.demo

docs: install
	$(PY) -m ticketflow_local.docs

BENCH ?=
MINUTES ?= 10

bench: install
	$(PY) -m ticketflow_local.bench $(BENCH)

soak: install
	$(PY) -m ticketflow_local.bench soak --minutes $(MINUTES)

chaos: install
	$(PY) -m ticketflow_local.chaos

infra-up: install
	$(PY) -m ticketflow_local.infra up

infra-down: install
	$(PY) -m ticketflow_local.infra down

infra-status: install
	$(PY) -m ticketflow_local.infra status

clean: infra-down
	rm -rf .local .venv
