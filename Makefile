# svcwrap — see README.md. The two set-up commands are `make demo` and `make test`.
GO      ?= go
PREFIX  ?= /usr
DESTDIR ?=
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)
LDFLAGS := -s -w -X svcwrap/commands.Version=$(VERSION)
# A static binary: no dynamic loader on every exec (status must be fast), and the
# same binary everywhere. os/user then reads /etc/passwd and /etc/group directly
# (svcwrap falls back to getent(1) for NSS users).
export CGO_ENABLED ?= 0

.PHONY: all build test unit integration lint deps demo fuzz install clean bench

all: build

build: bin/svcwrap

bin/svcwrap: $(shell find cmd commands service envfile lsb -name '*.go' -not -name '*_test.go') go.mod go.sum
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/svcwrap

# Everything CI runs: dependencies (as root), vet, gofmt, unit tests and fuzz seed
# corpora under the race detector, and the integration suite against a race-enabled
# binary, under a child subreaper.
test: deps lint unit integration

deps:
	@scripts/install-test-deps.sh

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

unit:
	CGO_ENABLED=1 $(GO) test -race -count=1 ./envfile/ ./lsb/ ./service/ ./commands/ ./cmd/... ./bench/...

integration:
	CGO_ENABLED=1 SVCWRAP_RACE=1 $(GO) test -race -count=1 -timeout 20m ./integration/

# Run each fuzz target for FUZZTIME (seed corpora run in `make unit` anyway).
FUZZTIME ?= 30s
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

demo: build
	@scripts/demo.sh

install: build
	install -D -m 0755 bin/svcwrap $(DESTDIR)$(PREFIX)/sbin/svcwrap

clean:
	rm -rf bin

# svcwrap against runit, supervisord and a Debian LSB script, same daemon, same run
# (bench/). BENCH_QUICK=1: a smoke run under a minute. BENCH_OUT=docs/benchmarks.md
# regenerates the recorded results.
BENCH_QUICK ?=
BENCH_OUT   ?=
bench: build
	$(GO) build -trimpath -o bin/bench ./bench
	bin/bench -svcwrap bin/svcwrap $(if $(BENCH_QUICK),-quick) $(if $(BENCH_OUT),-out $(BENCH_OUT)) \
	  -cmd 'make bench$(if $(BENCH_QUICK), BENCH_QUICK=$(BENCH_QUICK))$(if $(BENCH_OUT), BENCH_OUT=$(BENCH_OUT))'
