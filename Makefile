# Ardent. The two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
STATICCHECK_VERSION := v0.8.2
WORKFLOWCHECK_VERSION := v0.6.0
# Tests start their own clusters and dev servers; two packages at a time
# keeps a 2-core machine busy without starving the servers.
TEST_FLAGS ?= -count=1 -timeout 25m -p 2

.PHONY: all build deps tools test test-unit lint dev down reset demo bench bench-readme test-faults clean

all: build

# The version `ardent --version` and `ardent-worker --version` print (and the
# worker logs at start); without it they print what the Go toolchain recorded.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/ardent-cdc/ardent/internal/buildinfo.Version=$(VERSION)

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/ardent ./starter
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/ardent-worker ./worker

# PostgreSQL + wal2json (apt, when root on Debian) and the pinned Temporal CLI.
deps:
	@scripts/install-deps.sh

tools:
	@test -x bin/staticcheck || GOBIN=$(CURDIR)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@test -x bin/workflowcheck || GOBIN=$(CURDIR)/bin $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

# Unit, integration (real clusters) and end-to-end (dev server + worker
# processes) tests, and the alert rules' tests. Everything they need is
# installed first.
test: deps build test-alerts
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) test $(TEST_FLAGS) ./...

# The Prometheus alert rules (deploy/prometheus): syntax and unit tests.
# promtool is bin/promtool (scripts/install-deps.sh) or the one on PATH.
PROMTOOL ?= $(if $(wildcard bin/promtool),$(CURDIR)/bin/promtool,promtool)
.PHONY: test-alerts
test-alerts: deps
	$(PROMTOOL) check rules deploy/prometheus/ardent-alerts.yml
	cd deploy/prometheus && $(PROMTOOL) test rules ardent-alerts_test.yml

# Only the tests that need no server.
test-unit:
	$(GO) test -count=1 -short ./...

# Import rules (scripts/check-imports.sh): nothing under internal/ depends on
# Temporal; workflows depends on no database or metrics package and on no
# project package but contract.
lint: tools
	$(GO) vet ./...
	bin/staticcheck ./...
	bin/workflowcheck ./workflows/...
	scripts/check-imports.sh

dev: deps build
	@scripts/dev-up.sh

down:
	@scripts/dev-down.sh

# Stops the local stack and deletes its data (.dev/ and the clusters, also
# those kept under /var/tmp/ardent-<uid>/ when the postgres OS user cannot
# enter the checkout), to start over.
reset:
	@scripts/dev-down.sh --purge

demo: dev
	@scripts/demo.sh

bench: deps build
	@scripts/bench.sh

# Rewrites README.md's bench table from bench/results/latest.json (no
# measurement): run it after `make bench` at the commit being released.
bench-readme:
	@scripts/bench.sh -readme

# Faults under load (e2e/faults, build tag `faults`): worker kills, server
# restarts, a network cut, walsender and slot loss, each against a running
# write load; prints a table of scenario, faults, outcome and rows checked.
test-faults: deps build
	$(GO) test -tags faults -count=1 -timeout 40m -v ./e2e/faults/...

clean:
	rm -rf bin/ardent bin/ardent-worker
