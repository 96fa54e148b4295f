# Two commands matter: `make run` (the whole system locally on moto) and `make test`.
# Both create the virtual environment on first use; nothing else needs installing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt requirements.lock | sha1sum | cut -c1-12)
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: run test e2e web bench fuzz soak cost lint lock token synth openapi clean

# requirements.lock pins every package, transitive ones too: the constraints of every install.
$(STAMP): requirements.txt requirements-dev.txt requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c requirements.lock
	@rm -f $(VENV)/.installed-* && touch $@

# After changing a pin in requirements*.txt: `make lock` installs them (unconstrained, with the newest pip,
# which pip-audit requires) and rewrites requirements.lock from what is installed (tools/lock.py);
# `make lock UPGRADE=1` also takes the newest allowed version of every transitive package.
lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade \
		$(if $(UPGRADE),--upgrade-strategy eager) pip -r requirements-dev.txt
	$(PY) -m tools.lock
	@rm -f $(VENV)/.installed-*

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The web console (issue 18, web/): its API client generated from the OpenAPI the backend serves,
# type-checked and bundled into web/dist (a route or schema change that breaks a screen fails here).
WEB_INPUTS := $(shell find web/src -type f ! -name schema.d.ts 2>/dev/null) web/index.html web/vite.config.ts \
	web/tsconfig.json functions/platform_api/openapi.json
web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_INPUTS)
	cd web && npm run build --silent

web: web/dist/index.html

# The state is kept across restarts in .local/state (local/state.py); `make run FRESH=1` starts afresh.
run: $(STAMP) web
	LOCAL_STATE=.local/state/system.pickle FRESH=$(FRESH) $(PY) -m local

# The soak's short profile runs alone, after the rest: its latency ratio must not measure the other tests.
test: $(STAMP) lint web
	$(PY) -m pytest -n 2 -m "not soak"
	$(PY) -m pytest -m soak -p no:xdist -q

# The journeys of the web console in headless Chromium (the machine's, or $CHROMIUM), over the local system.
e2e: $(STAMP) web
	$(PY) -m pytest tests/e2e -p no:xdist -q

# Benchmarks (issue 8): ratios and call counts measured in one run, printed as `BAR` lines.
bench: $(STAMP)
	$(PY) -m pytest tests/perf -p no:xdist -q

# The long contract-fuzzing profile (a quick one runs in `make test`).
fuzz: $(STAMP)
	FUZZ_PROFILE=long $(PY) -m pytest tests/reliability/test_contract_fuzz.py -p no:xdist -q

# The soak (issue 19, tools/soak.py): a bounded load against its own `python -m local`, then the checks
# and one `BAR soak` line; fails when a target is missed. `make soak MINUTES=2 CUSTOMERS=2000 CONCURRENCY=20`.
soak: $(STAMP)
	$(PY) -m tools.soak --minutes $(or $(MINUTES),10) --concurrency $(or $(CONCURRENCY),20) \
		--customers $(or $(CUSTOMERS),10000)

# Capacity and cost (issue 20, tools/cost.py): a day simulated on the local system at SIZES customers
# (each in a process of its own, every AWS call recorded), the month priced at CUSTOMERS, the partition
# heat of the daily import and a Data Refresh at 100,000, the time a refresh of 10,000 takes; exit 1 when
# a partition key is over its limit. `make cost CUSTOMERS=10000 SIZES=2,4,6 REUSE=1` (REUSE: the days
# simulated last time, kept in .capacity/).
SIZES ?= 2,4,6
cost: $(STAMP)
	$(PY) -m tools.cost --customers $(or $(CUSTOMERS),10000) --sizes $(SIZES) \
		--table 1000,10000,100000 $(if $(REUSE),--reuse)

# ruff, ruff format, mypy, bandit, the lock, pip-audit: one `BAR` line each (tools/static_checks.py).
lint: $(STAMP)
	$(PY) -m tools.static_checks
	$(PY) -m tools.openapi --check

# Only a USER given on the command line counts (the shell's own $USER is the login name).
token: $(STAMP)
	@$(PY) -m local.token $(if $(filter command line,$(origin USER)),$(USER))

# The stack deploys the web console's build (web/dist, infra/constructs/web.py): built first.
# The stack deploys the built console (web/dist), so it is built first.
synth: $(STAMP) node_modules/.installed web
	npx cdk synth --quiet

openapi: $(STAMP)
	$(PY) -m tools.openapi

clean:
	rm -rf $(VENV) node_modules web/node_modules web/dist cdk.out .build .local
