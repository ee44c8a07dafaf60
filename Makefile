# signet — `make demo` runs the whole job end to end; `make test` runs every test.
SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/bin
PKGS  := ./...

.PHONY: all build test unit lint tools demo bench fmt clean

all: build

## build: compile signet-webhook into bin/
build:
	$(GO) build -trimpath -o $(BIN)/signet-webhook ./cmd/webhook

## test: lint, build the test tools (once), then every test with the race detector
test: lint tools unit

unit:
	SIGNET_TOOLS_BIN=$(CURDIR)/.tools/bin $(GO) test -race -count=1 -timeout 30m $(PKGS)

## tools: build the heavy test tools (tools/*) into .tools/bin, once
tools:
	hack/tools.sh

## lint: formatting, vet, module hygiene
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) mod verify

## demo: embedded registry, keys, signed + unsigned images, the real webhook over TLS
demo: build
	$(GO) run ./test/demo --webhook $(BIN)/signet-webhook $(DEMO_FLAGS)

## bench: Go benchmarks (numbers go to docs/benchmarks.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) demo-out
