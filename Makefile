# Developer commands. `make help` lists them.
#
# Every target that needs PostgreSQL asks scripts/devdb for a server: the one in the relevant
# environment variable (or postgres://postgres@127.0.0.1:5432) when it answers, otherwise a
# private cluster under .data/ that it starts on 127.0.0.1:54329.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO ?= go
DEVDB := bash scripts/devdb
# Packages and extra flags for `make test`, e.g. make test PKG=./eventstore/... TESTFLAGS=-v
PKG ?= ./...
TESTFLAGS ?=

.PHONY: help run test test-s3 screenshots bench lint build db-url db-stop clean

help: ## Show this list
	@echo "Usage: make <target>"
	@echo
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

run: ## Serve on http://localhost:8000 with demo data and a local login (JOBSERVER_ENV=development)
	@admin="$$($(DEVDB) url "$${DATABASE_URL:-}")"; \
	if [ -n "$${DATABASE_URL:-}" ] && [ "$$admin" = "$$DATABASE_URL" ]; then \
		url="$$DATABASE_URL"; \
	else \
		url="$$($(DEVDB) with-db "$$admin" jobserver)"; \
	fi; \
	echo "make run: DATABASE_URL=$$url" >&2; \
	DATABASE_URL="$$url" JOBSERVER_ENV=development exec $(GO) run ./cmd/jobserver serve

# The pages' package runs about 6 minutes on a 2-core machine (its browser tests and Postgres share the CPU),
# too near go test's default limit of 10 minutes a package.
test: ## Run all tests; test packages create their own databases on TEST_DATABASE_URL's server
	@url="$$($(DEVDB) url "$${TEST_DATABASE_URL:-}")"; \
	export TEST_DATABASE_URL="$$url"; \
	$(GO) test -count=1 -timeout 20m $(TESTFLAGS) $(PKG)

test-s3: ## Run the blob storage contract against a real S3 server, SeaweedFS (weed built from the Go module proxy)
	@tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	cp integrations/blobs/testdata/weed.mod "$$tmp/go.mod"; \
	echo "make test-s3: building SeaweedFS's weed (minutes the first time, then cached)" >&2; \
	(cd "$$tmp" && GOFLAGS=-mod=mod $(GO) build -o "$$tmp/weed" github.com/seaweedfs/seaweedfs/weed); \
	BLOBS_WEED="$$tmp/weed" $(GO) test -count=1 -run '^TestS3' -v $(TESTFLAGS) ./integrations/blobs/

screenshots: ## Walk the user guide in Chromium (the journey test) and save a PNG of each step into docs/tour/
	@[ -x /usr/bin/chromium ] || { echo "make screenshots needs Chromium at /usr/bin/chromium (Debian's chromium package)" >&2; exit 1; }; \
	url="$$($(DEVDB) url "$${TEST_DATABASE_URL:-}")"; \
	export TEST_DATABASE_URL="$$url"; \
	rm -f docs/tour/*.png; \
	CI=1 JOBSERVER_TOUR_DIR="$(CURDIR)/docs/tour" $(GO) test -count=1 -run '^TestTheUserGuideFromGitHubLoginToReleasedOutputs$$' $(TESTFLAGS) ./http/web/ && \
	ls -l docs/tour/*.png

bench: ## Run the benchmark program (cmd/jobserver-bench) against BENCH_DATABASE_URL's server
	@url="$$($(DEVDB) url "$${BENCH_DATABASE_URL:-}")"; \
	export BENCH_DATABASE_URL="$$url"; \
	$(GO) run ./cmd/jobserver-bench

lint: ## gofmt, go vet and the layer check (internal/archcheck)
	@unformatted="$$(find . \( -name .git -o -name .data -o -name bin -o -name testdata -o -name node_modules \) -prune -o -name '*.go' -print | xargs -r gofmt -l)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt: these files need formatting (run gofmt -w):"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run ./internal/archcheck

build: ## Build bin/jobserver
	$(GO) build -o bin/jobserver ./cmd/jobserver

db-url: ## Print the admin URL of the development database server (starting one if needed)
	@$(DEVDB) url "$${DATABASE_URL:-}"

db-stop: ## Stop the private PostgreSQL cluster under .data/ (if one runs)
	@$(DEVDB) stop

clean: ## Remove build output (bin/); the database under .data/ is kept
	rm -rf bin
