# Makefile fragment for the SAM template: included from the repository's top-level Makefile
# (`include make/template.mk`); every path is relative to the repository root.
#
#   make template-check   cfn-lint, sam validate, checkov, sam build, tests/template
#   make sam-build        build the function into .aws-sam/build
#   make preflight        check the account, the secret, the keys and names before a deploy
#   make deploy           build, deploy (SAM_CONFIG_ENV=default|production) and force a first refresh
#   make deploy-guided    the same with `sam deploy --guided` (first deploy of an environment)

# PYTHON313 (the interpreter that makes the venvs) comes from the top-level Makefile.
# `sam build` looks for python3.13 on PATH; through pyenv that needs PYENV_VERSION.
SAM_BUILD_ENV ?= PYENV_VERSION=3.13.0
SAM_VENV ?= .venv-sam
CHECKOV_VENV ?= .venv-checkov
TEMPLATE_TEST_PYTEST ?= .venv/bin/pytest
SAM_CONFIG_ENV ?= default
SAM_DEPLOY_FLAGS ?=
# Extra Key="Value" template parameters for the preflight, e.g. the secret's ARN before the
# first (guided) deploy has saved it in samconfig.toml.
PREFLIGHT_OVERRIDES ?=
DEPLOY_PYTHON := .venv/bin/python
# Any region works for the offline checks; nothing is called in AWS.
TEMPLATE_CHECK_REGION ?= us-east-1

SAM := SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam
CFN_LINT := $(SAM_VENV)/bin/cfn-lint
CHECKOV := $(CHECKOV_VENV)/bin/checkov

.PHONY: template-venvs template-lint template-checkov template-test template-check sam-build deploy deploy-guided preflight status logs delete

# The SAM CLI pins its own boto3, and checkov its own dependencies: each gets its own venv,
# rebuilt when its pinned requirements change.
$(SAM_VENV)/.installed: infra/tooling/requirements-sam.txt
	rm -rf $(SAM_VENV)
	$(PYTHON313) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@

$(CHECKOV_VENV)/.installed: infra/tooling/requirements-checkov.txt
	rm -rf $(CHECKOV_VENV)
	$(PYTHON313) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@

template-venvs: $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed

# The stack, and the example consumer stack beside it (infra/examples/consumer).
EXAMPLE_TEMPLATE := infra/examples/consumer/template.yaml

template-lint: $(SAM_VENV)/.installed
	$(CFN_LINT) template.yaml $(EXAMPLE_TEMPLATE)
	$(SAM) validate --template-file template.yaml --region $(TEMPLATE_CHECK_REGION)
	$(SAM) validate --template-file $(EXAMPLE_TEMPLATE) --region $(TEMPLATE_CHECK_REGION)

# --skip-download: no call to the vendor's platform, the scan runs offline.
# Skips live in the template, each with its reason (Metadata: checkov: skip:).
template-checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV) --file template.yaml --file $(EXAMPLE_TEMPLATE) --framework cloudformation --skip-download --compact --quiet

# Lambda's /var/task is read-only, so Python cannot cache byte-code there: without .pyc files
# every cold start compiles every module (make bench: 1.38x the floor without, 1.02x with).
# Hash-based .pyc, because the deployment zip carries no source timestamps. The layer too
# (/opt is read-only as well): python3.13 consumers load its byte-code, python3.12 its source.
sam-build: $(SAM_VENV)/.installed
	@# What a pip build of the consumer package leaves beside it would land in the layer.
	rm -rf clients/python/build clients/python/*.egg-info
	$(SAM_BUILD_ENV) $(SAM) build --template-file template.yaml
	$(PYTHON313) -m compileall -q --invalidation-mode checked-hash .aws-sam/build/TokenRefresherFunction .aws-sam/build/JoorTokenLayer

# TEMPLATE_TESTS_REQUIRE_BUILD=1 turns "no build to inspect" from a skip into a failure.
template-test: sam-build
	TEMPLATE_TESTS_REQUIRE_BUILD=1 $(TEMPLATE_TEST_PYTEST) tests/template

template-check: template-lint template-checkov template-test

# First the checks that would make CloudFormation fail (names, the stack's state, Lambda
# concurrency), then `sam deploy` (it asks before it changes anything: confirm_changeset in
# samconfig.toml; SAM_DEPLOY_FLAGS=--no-confirm-changeset in CI), then one forced refresh
# through the operator alias, only when a change set ran or there was nothing to change
# (infra/deploy/deploy.py says how it tells; invoke_refresher.py why not `sam remote invoke`).
deploy: sam-build $(VENV_STAMP)
	$(DEPLOY_PYTHON) -m infra.deploy.deploy --config-env $(SAM_CONFIG_ENV) --sam $(SAM_VENV)/bin/sam \
		$(if $(SAM_DEPLOY_FLAGS),--sam-flags='$(SAM_DEPLOY_FLAGS)')

deploy-guided: SAM_DEPLOY_FLAGS += --guided
deploy-guided: deploy

# With your AWS credentials: what the template cannot check (Lambda concurrency for the
# reservation, the secret, the token parameter, KMS keys, stack name, region). Reads only.
preflight: $(VENV_STAMP)
	$(DEPLOY_PYTHON) -m infra.deploy.preflight --config-env $(SAM_CONFIG_ENV) \
		$(if $(PREFLIGHT_OVERRIDES),--parameter-overrides '$(PREFLIGHT_OVERRIDES)')

# Every token the stack keeps: life left, written when, state (metadata only; exit 1 when one
# has less life than the guarantee). STATUS_FLAGS=--json for scripts.
STATUS_FLAGS ?=
status: $(VENV_STAMP)
	$(DEPLOY_PYTHON) -m infra.deploy.status --config-env $(SAM_CONFIG_ENV) $(STATUS_FLAGS)

# Follow the function's logs through the project's SAM CLI.
logs: $(SAM_VENV)/.installed $(VENV_STAMP)
	$(DEPLOY_PYTHON) -m infra.deploy.logs --config-env $(SAM_CONFIG_ENV) --sam $(SAM_VENV)/bin/sam

# The stack, then (after one confirmation that lists them) the token parameters the function
# created and the layer versions the template retains. DELETE_FLAGS=--yes for scripts.
DELETE_FLAGS ?=
delete: $(SAM_VENV)/.installed $(VENV_STAMP)
	$(DEPLOY_PYTHON) -m infra.deploy.delete --config-env $(SAM_CONFIG_ENV) --sam $(SAM_VENV)/bin/sam $(DELETE_FLAGS)
