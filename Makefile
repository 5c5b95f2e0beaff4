# raftbed: the two set-up commands are `make run` and `make check`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
RAFTBED := node dist/harness/cli/main.js

.PHONY: help deps npm-deps docker-engine build lint check run bench chaos clean

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

lint: npm-deps
	npx tsc -p tsconfig.json --noEmit
	npx eslint .
	npx prettier --check .

check: deps build docker-engine
	node scripts/check.mjs

run: deps build
	$(RAFTBED) --help

bench: deps build
	@for f in $$(find dist -name '*.bench.js' | sort); do echo "== $$f"; node $$f || exit 1; done

clean:
	rm -rf dist .raftbed
