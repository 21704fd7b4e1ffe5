# bgpctl developer and CI entry points. `make test` is what CI runs.
PY      ?= .venv/bin/python
VENV    := .venv
PYTEST  := $(VENV)/bin/pytest
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: venv envtest lint format typecheck unit integration test manifests protos \
        check-generated bench lab image clean

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

envtest: venv          ## build (once) kube-apiserver, kube-controller-manager, kubectl, etcd, chainsaw, GoBGP v3
	$(PY) -m bgpctl envtest build
	$(PY) -m bgpctl.testing.gobgp_build

format: venv
	$(VENV)/bin/ruff format bgpctl tests benchmarks protos

lint: venv
	$(VENV)/bin/ruff format --check bgpctl tests benchmarks protos
	$(VENV)/bin/ruff check bgpctl tests benchmarks protos
	$(VENV)/bin/lint-imports

typecheck: venv
	$(VENV)/bin/mypy

unit: venv             ## fast tests: fakes only, no root, no control plane
	$(PYTEST) -q -m "not integration and not root"

integration: venv envtest   ## real kube-apiserver/etcd and real daemons in network namespaces
	$(PYTEST) -q -m "integration or root"

manifests: venv        ## regenerate manifests/crds from bgpctl/api
	$(PY) -m bgpctl.api.crdgen manifests/crds

protos: venv           ## regenerate bgpctl/gobgp/_proto from protos/
	$(PY) protos/generate.py

check-generated: venv  ## CI: generated files must match the committed ones
	$(PY) -m bgpctl.api.crdgen manifests/crds >/dev/null
	git diff --exit-code -- manifests/crds
	test -z "$$(git status --porcelain -- manifests/crds)"
	$(PY) protos/generate.py --check

test: lint typecheck check-generated envtest image
	$(PYTEST) -q

bench: venv envtest
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

image: venv envtest   ## the container image localhost/bgpctl:dev, offline (scripts/build-image.sh)
	./scripts/build-image.sh

lab: venv envtest    ## the local lab: API server, nodes in namespaces with gobgpd and `bgp run` (docs/lab.md)
	$(PY) -m bgpctl lab up

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
