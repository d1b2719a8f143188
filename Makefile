# netclaim: `make demo` shows the product, `make test` runs every test tier, `make bench` prints
# the performance figures. Each target installs what it needs (hack/bootstrap.sh).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CACHE ?= $(HOME)/.cache/netclaim
REQ_HASH := $(shell cat requirements/dev.txt agent/pyproject.toml | sha256sum | cut -c1-12)
VENV ?= $(CACHE)/venv-$(REQ_HASH)
PY := $(VENV)/bin/python
export PATH := $(VENV)/bin:$(PATH)
TESTBED := PYTHONPATH=$(CURDIR)/tests/cluster $(PY) -m testbed
TESTBED_KUBECTL := /var/lib/netclaim-testbed/bin/kubectl --kubeconfig $${KUBECONFIG:-/var/lib/netclaim-testbed/pki/admin.kubeconfig}
PYTEST_ARGS ?=

.PHONY: help deps lint test test-unit test-netns test-cluster test-ansible bench demo demo-down \
        cluster-up cluster-down cluster-env collection clean

help:
	@echo "make demo          bring up a local cluster (unless KUBECONFIG is set), deploy netclaim, show a pod's interfaces"
	@echo "make demo-down     stop the agent make demo started and delete its namespace"
	@echo "make test          lint + every test tier (unit, netns, cluster, ansible)"
	@echo "make bench         print performance figures (Prepare latency, publish time, RSS, NRI hook latency)"
	@echo "make cluster-up    build what is missing and start the local single-node cluster"
	@echo "make cluster-down  stop the local cluster and remove what it created"
	@echo "make cluster-env   print the local cluster's KUBECONFIG path"

$(VENV)/.ready: requirements/dev.txt agent/pyproject.toml hack/bootstrap.sh
	hack/bootstrap.sh $(VENV)
	touch $@

deps: $(VENV)/.ready
	@# The editable install regenerates gRPC stubs; cheap, so always run it.
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e agent

lint: deps
	$(PY) -m ruff check agent tests plugins hack
	$(PY) -m ruff format --check agent tests plugins hack
	$(PY) -m mypy

test: lint
	$(PY) -m pytest $(PYTEST_ARGS) tests

test-unit: deps
	$(PY) -m pytest $(PYTEST_ARGS) tests/unit

test-netns: deps
	$(PY) -m pytest $(PYTEST_ARGS) tests/netns

test-cluster: deps
	$(PY) -m pytest $(PYTEST_ARGS) tests/cluster

test-ansible: deps
	$(PY) -m pytest $(PYTEST_ARGS) tests/ansible

bench: deps
	PYTHONPATH=$(CURDIR)/tests/cluster $(PY) tests/bench/run.py

demo: deps
	VENV=$(VENV) hack/demo.sh

demo-down: deps
	@# The agent must outlive the pods: kubelet unprepares their claims through it.
	-$(TESTBED_KUBECTL) delete namespace netclaim-demo --ignore-not-found --timeout=180s
	$(PY) hack/stop_role_agent.py

cluster-up: deps
	$(TESTBED) up

cluster-down: deps
	$(TESTBED) down

cluster-env: deps
	@$(TESTBED) env

clean:
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache
