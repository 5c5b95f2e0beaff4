# raftbed: the two set-up commands are `make run` and `make check`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
RAFTBED := node dist/harness/cli/main.js

.PHONY: help deps npm-deps docker-engine build delayer lint check run bench chaos clean

help:
	@echo "make run     install what is missing, build, run the default chaos experiment"
	@echo "make check   install what is missing, build, run every test suite"
	@echo "make bench   benchmarks, printed as figures and ratios to baselines"
	@echo "make chaos   the long experiment suite in experiments/"
	@echo "make lint    typecheck, eslint, prettier"

# Debian packages (docker.io, iptables, redis-tools, chromium, ...) when missing.
deps: npm-deps
	@bash scripts/install-deps.sh

npm-deps: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

docker-engine:
	@bash scripts/ensure-dockerd.sh

build: npm-deps
	npx tsc -p tsconfig.build.json
	@$(MAKE) --no-print-directory delayer

# The NFQUEUE delayer behind `raftbed slow` where the kernel has no netem.
DELAYER := .raftbed/bin/raftbed-delayer
NFQ_HEADER := /usr/include/libnetfilter_queue/libnetfilter_queue.h
delayer:
	@if command -v gcc >/dev/null 2>&1 && [ -e $(NFQ_HEADER) ]; then \
	  $(MAKE) --no-print-directory $(DELAYER) >/dev/null; \
	else echo "delayer not built (needs gcc and libnetfilter-queue-dev); slow then needs netem"; fi

$(DELAYER): harness/faults/delayer/delayer.c
	@mkdir -p $(dir $@)
	gcc -O2 -Wall -Wextra -o $@ $< -lnetfilter_queue -lnfnetlink

lint: npm-deps
	npx tsc -p tsconfig.json --noEmit
	npx eslint .
	npx prettier --check .

check: deps build docker-engine
	node scripts/check.mjs

run: deps build docker-engine
	$(RAFTBED) run experiments/default.yml

bench: deps build docker-engine
	@failed=""; for f in $$(find dist -name '*.bench.js' | sort); do \
	  echo "== $$f"; node $$f || failed="$$failed $$f"; done; \
	if [ -n "$$failed" ]; then echo "benchmarks that failed:$$failed"; exit 1; fi

# The seed's own suite: each experiment runs even if an earlier one fails.
chaos: deps build docker-engine
	@status=0; for e in experiments/seed-*.yml; do $(RAFTBED) run $$e || status=1; done; exit $$status

clean:
	rm -rf dist .raftbed
