# perfkit developer targets. `make help` lists them.

GO        ?= go
PKG       := github.com/perfkit/perfkit
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -X $(PKG)/cmd.version=$(VERSION) -X $(PKG)/cmd.commit=$(COMMIT)
ARGS      ?=
BENCHTIME ?= 1s
FUZZTIME  ?= 30s
# Fuzz targets to run, as package:FuzzName; empty runs every Fuzz* target found.
FUZZ_TARGETS ?=

.PHONY: all build run test bench bench-go soak fuzz lint clean help gate-e2e docs

all: lint test build

## build: compile a static bin/perfkit with the version and commit stamped in
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' -o bin/perfkit .

## run: run the default suite on embedded targets (extra flags: make run ARGS='-d 3s')
run:
	$(GO) run -ldflags '$(LDFLAGS)' . run $(ARGS)

## test: go vet, then every test with the race detector (one package at a time: timing-sensitive tests get the CPUs), then the workloads' without it
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -p 1 ./...
	$(GO) test -count=1 ./internal/rawconn ./workloads/...  # their raw system calls, which race builds replace (docs/design.md)

## docs: regenerate the reference from the declarations (docs/reference/*.md, the generated blocks of docs/*.md)
docs:
	$(GO) test ./cmd -run '^TestReferenceDocs$$' -count=1 -update

## bench: bench-go, then soak (about 25 minutes; SOAK_DURATION=3m for a shorter soak)
bench: bench-go soak

## bench-go: Go benchmarks of every package (BENCHTIME=5s for steadier numbers)
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

## soak: closed (256 conns) and open (10k/s) fetch runs of SOAK_DURATION (10m) each against a local target; fails when perfkit's RSS creeps over 1.10x its value at minute one
soak: build
	BIN=bin/perfkit GO=$(GO) .ci/soak.sh

## gate-e2e: real runs checked by compare: A/A pairs pass, 50% errors and 20% slower fail (PAIRS=3)
gate-e2e: build
	BIN=bin/perfkit .ci/gate-e2e.sh

## fuzz: run each fuzz target for FUZZTIME (or only FUZZ_TARGETS=pkg:FuzzName ...)
fuzz:
	@set -e; targets="$(FUZZ_TARGETS)"; \
	if [ -z "$$targets" ]; then \
		for pkg in $$($(GO) list ./...); do \
			for fn in $$($(GO) test -list '^Fuzz' "$$pkg" | grep '^Fuzz' || true); do \
				targets="$$targets $$pkg:$$fn"; \
			done; \
		done; \
	fi; \
	if [ -z "$$targets" ]; then echo "no fuzz targets"; exit 0; fi; \
	for t in $$targets; do \
		pkg=$${t%%:*}; fn=$${t#*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) "$$pkg"; \
	done

## lint: fail on files gofmt would change, then go vet
lint:
	@unformatted=$$(find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -exec gofmt -l {} +); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## clean: remove build output, saved results and profiles (baselines are kept)
clean:
	rm -rf bin .perfkit/results .perfkit/profiles

## help: list the targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)
