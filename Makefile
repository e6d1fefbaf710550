# The few verbs a newcomer needs. Each installs what it needs itself.
#   make demo   the refresher doing its real job against local AWS (moto) and a local JOOR
#   make test   lint, type-check and every test (what CI runs)

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13, the Lambda runtime's version: pyenv's if it has one, else python3.13, else python3.
PYTHON313 ?= $(shell PYENV_VERSION=3.13.0 pyenv which python 2>/dev/null || command -v python3.13 || command -v python3)
export PYTHON313
VENV := .venv
VENV_STAMP := $(VENV)/.installed

.PHONY: help demo local local-revoke test lint typecheck pytest refresh clean

help:
	@echo "The two commands:"
	@echo "  make demo            the refresher doing its real job against local stand-ins for AWS and JOOR"
	@echo "  make test            everything that checks the project (what CI runs)"
	@echo "For a consumer of your own:"
	@echo "  make local           the local stack in the foreground: prints the export lines; Ctrl-C stops it"
	@echo "  make local-revoke    from another shell: JOOR revokes every live token"
	@echo "  make dist            the consumer package's wheel and sdist, in dist/"
	@echo "Parts of make test:"
	@echo "  make lint            ruff (lint and format)"
	@echo "  make typecheck       mypy, strict, on the function and the consumer package"
	@echo "  make security        bandit on the shipped code"
	@echo "  make template-check  cfn-lint, sam validate, checkov, sam build, tests/template"
	@echo "                       (one by one: make template-lint, template-checkov, template-test)"
	@echo "  make pytest          every test (after sam build)"
	@echo "Evidence (each writes a page of docs/):"
	@echo "  make bench           what a run costs against its floor: docs/benchmarks.md"
	@echo "  make soak            weeks of runs on a simulated clock (SOAK_SEED=N): docs/soak.md"
	@echo "  make fault-table     every fault at every step: docs/fault-matrix.md"
	@echo "  make mutate          how many deliberate small bugs the tests catch (about 25 min): docs/mutation.md"
	@echo "AWS (your credentials; SAM_CONFIG_ENV=production for the production stack):"
	@echo "  make preflight       check the account, the secret, keys and names before a deploy"
	@echo "  make deploy-guided   the first deploy of an environment (asks, saves samconfig.toml)"
	@echo "  make deploy          the checks that would fail the deploy, sam build, byte-code, sam deploy"
	@echo "                       (asks before changing anything), and a first refresh that fails loudly"
	@echo "  make status          every token the stack keeps: life left, written when, state (exit 1"
	@echo "                       when one has less than the guarantee; STATUS_FLAGS=--json)"
	@echo "  make logs            follow the function's logs (the project's SAM CLI)"
	@echo "  make delete          the stack, then its token parameters and layer versions (asks first)"
	@echo "  make refresh         run the refresher from this machine against real AWS and JOOR"
	@echo "                       (FORCE=1: now; RETRY_REJECTED=1: retry credentials JOOR rejected)"
	@echo "Housekeeping:"
	@echo "  make sam-build       build the function and the layer into .aws-sam/build"
	@echo "  make template-venvs  install the pinned SAM CLI, cfn-lint and checkov"
	@echo "  make clean           remove virtual environments and build output"

# The test venv also holds the consumer package, installed as a consumer installs it (editable,
# so that tests see the working tree), with its requests extra; and the repository's import
# roots as a .pth file (make/import-roots.pth.in), so that `.venv/bin/python -m infra.local.demo`
# and the processes that the demo, the tests and the benchmarks start import the function's code.
$(VENV_STAMP): requirements.txt functions/token_refresher/requirements.txt clients/python/pyproject.toml make/import-roots.pth.in
	@test -x $(VENV)/bin/python || $(PYTHON313) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e "clients/python[requests]"
	@# What the editable build leaves beside the package; sam build would copy it into the layer.
	rm -rf clients/python/build clients/python/*.egg-info
	sed '/^#/!s|@ROOT@|$(CURDIR)|g' make/import-roots.pth.in > "$$($(VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/joor-token-refresher.pth"
	@touch $@

demo: $(VENV_STAMP)
	$(VENV)/bin/python -m infra.local.demo

# The local stack for a consumer of your own, in the foreground until Ctrl-C; LOCAL_DIR holds
# the export lines (LOCAL_DIR/env) and the JOOR stand-in's admin address while it runs.
LOCAL_DIR ?= .local-stack
local: $(VENV_STAMP)
	@$(VENV)/bin/python -m infra.local.serve --state-dir $(LOCAL_DIR)

local-revoke: $(VENV_STAMP)
	@$(VENV)/bin/python -m infra.local.serve revoke --state-dir $(LOCAL_DIR)

# The consumer package's wheel and sdist, in dist/ (outside clients/python, which the layer ships).
DIST_DIR ?= dist
.PHONY: dist
dist: $(VENV_STAMP)
	rm -rf $(DIST_DIR)
	$(VENV)/bin/python -m build --sdist --wheel --outdir $(DIST_DIR) clients/python
	@# What the build leaves beside the package; sam build would copy it into the layer.
	rm -rf clients/python/build clients/python/*.egg-info

lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV_STAMP)
	$(VENV)/bin/mypy

# The template's build tests inspect .aws-sam/build, so the build comes first; with
# TEMPLATE_TESTS_REQUIRE_BUILD=1 a missing build fails instead of skipping.
pytest: $(VENV_STAMP) sam-build
	TEMPLATE_TESTS_REQUIRE_BUILD=1 $(VENV)/bin/pytest

test: lint typecheck security template-lint template-checkov pytest

# Real AWS (your normal credential chain) and real JOOR; see docs/operations.md, "Run it from
# a workstation".
refresh: $(VENV_STAMP)
	$(VENV)/bin/python -m refresher $(if $(FORCE),--force) $(if $(RETRY_REJECTED),--retry-rejected)

include make/template.mk

clean:
	rm -rf $(VENV) .venv-* .aws-sam .pytest_cache .mypy_cache .ruff_cache .coverage mutants dist

# What a run costs against its floor (calls, cold start, warm overhead, memory, artifact
# size); writes benchmarks/results/latest.json and docs/benchmarks.md (which says how long).
.PHONY: bench
bench: $(VENV_STAMP)
	$(VENV)/bin/python -m benchmarks.run

# Generated evidence: the fault matrix's table (docs/fault-matrix.md) and the 30-day soak
# (docs/soak.md); and the security scan of the shipped code.
.PHONY: fault-table soak security

fault-table: $(VENV_STAMP)
	$(VENV)/bin/pytest tests/faults -q --write-fault-table

SOAK_DAYS ?= 30
SOAK_SEED ?= 20240604
soak: $(VENV_STAMP)
	$(VENV)/bin/python -m tools.soak.document --days $(SOAK_DAYS) --seed $(SOAK_SEED) --doc docs/soak.md

security: $(VENV_STAMP)
	$(VENV)/bin/bandit -q -c pyproject.toml -r functions/

# Mutation testing, its own command (not part of make test): mutmut in its own venv, beside
# everything the tests need. Writes docs/mutation.md; fails when a survivor in domain/,
# adapters/ or joor_token has no reason in tools/mutation/accepted.toml, or when domain/ or
# adapters/ fall under 90% killed. MUTATE_JOBS mutants are tested at once.
MUTMUT_VENV := .venv-mutmut
MUTATE_JOBS ?= 2
.PHONY: mutate
$(MUTMUT_VENV)/.installed: requirements.txt functions/token_refresher/requirements.txt clients/python/pyproject.toml tools/mutation/requirements.txt
	@test -x $(MUTMUT_VENV)/bin/python || $(PYTHON313) -m venv $(MUTMUT_VENV)
	$(MUTMUT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r tools/mutation/requirements.txt
	$(MUTMUT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e "clients/python[requests]"
	rm -rf clients/python/build clients/python/*.egg-info
	@touch $@

mutate: $(MUTMUT_VENV)/.installed
	$(MUTMUT_VENV)/bin/python -m tools.mutation --jobs $(MUTATE_JOBS)
