# Switchyard — the two commands a newcomer needs are `make run` and `make test`.

GO      ?= go
BIN     := bin/switchyard
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: cluster run build test test-go test-python vet fuzz soak bench-patterns bench-put-events clean

## run: build and serve the EventBridge API on 127.0.0.1:4010 with embedded storage in ./switchyard-data
## (connection secrets sealed with ./switchyard-secrets.key, made on the first run, outside the data),
## in dev mode: --auth none, any credentials accepted
run: build
	@test -f switchyard-secrets.key || $(BIN) secrets new-key --out switchyard-secrets.key
	$(BIN) serve --auth none --secrets-key-file switchyard-secrets.key

## cluster: a local 3-node cluster — 3 nats-server processes forming one JetStream cluster and 3
## switchyard processes on it (dev mode), data in ./switchyard-cluster; ^C stops it
cluster: build
	$(GO) build -o bin/nats-server github.com/nats-io/nats-server/v2
	$(BIN) cluster --nats-server bin/nats-server --dir ./switchyard-cluster -- --auth none

## build: the switchyard binary in bin/
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/switchyard

## test: every test — Go unit, property and end-to-end tests (aws-sdk-go-v2), then boto3 and AWS CLI tests
test: vet build test-go test-python

test-go:
	SWITCHYARD_BIN=$(abspath $(BIN)) $(GO) test -count=1 -timeout 25m ./...

test-python: build
	SWITCHYARD_BIN=$(abspath $(BIN)) python3 -m unittest discover -s test/python -t .

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

## soak: the fault-injection suite (kill -9 under load, a target down, a hanging target, disk full) for SOAK per fault
SOAK ?= 5m
soak: build
	SWITCHYARD_BIN=$(abspath $(BIN)) SWITCHYARD_SOAK=$(SOAK) $(GO) test -count=1 -timeout 0 -v -run '^TestFault' ./test/e2e | grep -E '^(=== RUN|--- |ok|FAIL|PASS)|fault=|kill -9'

## fuzz: a short run of every fuzz target (FUZZTIME each)
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -parallel 1 $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
