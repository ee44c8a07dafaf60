# signet — `make demo` runs the whole job end to end; `make test` runs every test.
SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/bin
PKGS  := ./...
FUZZTIME      ?= 30s
SOAK_DURATION ?= 2m

.PHONY: all build test unit lint tools skopeo generate generate-check demo bench fmt clean e2e shellcheck

all: build

## build: compile signet-webhook and the signet CLI into bin/
build:
	$(GO) build -trimpath -o $(BIN)/signet-webhook ./cmd/webhook
	$(GO) build -trimpath -o $(BIN)/signet ./cmd/signet

## test: lint, build the test tools (once), check generated files, then every test with the race detector
test: lint tools skopeo shellcheck generate-check vulncheck unit

unit:
	SIGNET_TOOLS_BIN=$(CURDIR)/.tools/bin $(GO) test -race -count=1 -timeout 30m $(PKGS)

.PHONY: fuzz soak vulncheck

## vulncheck: govulncheck against a local database built from the pinned golang.org/x/vulndb (hack/vulncheck.sh)
vulncheck:
	hack/vulncheck.sh

## fuzz: every fuzz target for FUZZTIME each (default 30s), one after another; `make test` replays the seed corpora
fuzz:
	FUZZTIME=$(FUZZTIME) hack/fuzz.sh

## soak: mixed cached/uncached reviews against the real signet-webhook while the registry flaps, for SOAK_DURATION (default 2m); writes docs/soak.md
soak: build
	$(GO) run ./test/soak -webhook $(BIN)/signet-webhook -duration $(SOAK_DURATION) -out docs/soak.md

## skopeo: install skopeo (Debian package) for test/cli when it is missing
skopeo:
	@command -v skopeo >/dev/null 2>&1 || { apt-get update && apt-get install -y skopeo; }

## e2e: end-to-end tests on a real API server (local etcd + kube-apiserver; test/kind/run.sh does kind)
e2e: tools shellcheck
	SIGNET_TOOLS_BIN=$(CURDIR)/.tools/bin $(GO) test -race -count=1 -timeout 20m ./test/kind/...

## shellcheck: install shellcheck (Debian package) when it is missing, and lint test/kind/run.sh
shellcheck:
	@command -v shellcheck >/dev/null 2>&1 || { apt-get update && apt-get install -y shellcheck; }
	shellcheck test/kind/run.sh

## tools: build the heavy test tools (tools/*) into .tools/bin, once
tools:
	hack/tools.sh

## generate: CRDs (deploy/helm/signet/crds) and deepcopy code from pkg/policy's types, with controller-gen
generate:
	hack/generate.sh

## generate-check: fail if the committed generated files differ from a fresh generation
generate-check:
	hack/generate.sh --check

## lint: formatting, vet, module hygiene
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) mod download
	$(GO) mod verify

## demo: embedded registry, keys, signed + unsigned images, the real webhook over TLS
demo: build
	$(GO) run ./test/demo --webhook $(BIN)/signet-webhook $(DEMO_FLAGS)

## image: build the signet-webhook image (static binary on scratch) with `signet build` into the OCI layout $(IMAGE_LAYOUT)
IMAGE_ARCH    ?= $(shell $(GO) env GOARCH)
IMAGE_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
IMAGE_LAYOUT  ?= $(CURDIR)/out/image
IMAGE_KEY     ?= cosign.key
CA_CERTS      ?= /etc/ssl/certs/ca-certificates.crt
# Reproducible: the same commit gives the same digest.
export SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
IMAGE_SUBST = --substitute BIN=$(BIN)/image/linux-$(IMAGE_ARCH)/signet-webhook --substitute CA_CERTS=$(CA_CERTS) \
	--substitute VERSION=$(IMAGE_VERSION) --substitute IMAGE_ARCH=$(IMAGE_ARCH)

.PHONY: image release-image release-image-check image-binary signet-cli
image: image-binary signet-cli
	$(BIN)/signet build -f deploy/image/signet-webhook.yaml --layout $(IMAGE_LAYOUT) $(IMAGE_SUBST)

## release-image: build, publish to IMAGE_TO=docker://HOST/REPO:TAG and sign with IMAGE_KEY, all with `signet release`
release-image: release-image-check image-binary signet-cli
	$(BIN)/signet release -f deploy/image/signet-webhook.yaml --to $(IMAGE_TO) --key $(IMAGE_KEY) $(IMAGE_SUBST) $(RELEASE_FLAGS)

release-image-check:
	@test -n "$(IMAGE_TO)" || { echo "release-image: set IMAGE_TO=docker://HOST/REPO:TAG (and IMAGE_KEY=cosign.key)"; exit 2; }

image-binary:
	@test -r $(CA_CERTS) || { echo "image: no CA bundle at $(CA_CERTS): install ca-certificates or set CA_CERTS=FILE"; exit 2; }
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath -ldflags='-s -w -buildid=' \
		-o $(BIN)/image/linux-$(IMAGE_ARCH)/signet-webhook ./cmd/webhook

signet-cli:
	$(GO) build -trimpath -o $(BIN)/signet ./cmd/signet

## bench: micro benchmarks, then load on the real signet-webhook against both registries and the peers side by side; writes docs/benchmarks.md (make test runs it once, -quick)
bench: build
	hack/tools.sh registry cosign
	$(GO) run ./test/bench -webhook $(BIN)/signet-webhook -tools $(CURDIR)/.tools/bin -out docs/benchmarks.md $(BENCH_FLAGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) demo-out
