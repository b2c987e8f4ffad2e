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

.PHONY: all build test unit integration lint deps demo fuzz fuzz-ci install uninstall deb clean stress bench

all: build

# BINARY: where build puts the program (mkdeb.sh builds into its own stage).
BINARY ?= bin/svcwrap
build: $(BINARY)

# Every package of the binary (not bench/, integration/, scripts/).
PKGS := cmd commands service watchdog protocol definition probe proc safefile envfile lsb run notify cgroup deps boot
$(BINARY): $(shell find $(PKGS) -name '*.go' -not -name '*_test.go') go.mod go.sum
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $@ ./cmd/svcwrap

# Everything CI runs: dependencies (as root), vet, gofmt, unit tests and fuzz seed
# corpora under the race detector, and the integration suite against a race-enabled
# binary, under a child subreaper.
test: deps lint unit fuzz-ci integration

deps:
	@scripts/install-test-deps.sh

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

unit:
	CGO_ENABLED=1 $(GO) test -race -count=1 $(addprefix ./,$(addsuffix /...,$(PKGS))) ./bench/...

integration:
	CGO_ENABLED=1 SVCWRAP_RACE=1 $(GO) test -race -count=1 -timeout 20m ./integration/

# Run each fuzz target for FUZZTIME (seed corpora run in `make unit` anyway).
FUZZTIME ?= 30s
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

# CI: every fuzz target briefly (about 2 minutes in all, build included).
fuzz-ci:
	@scripts/fuzz.sh 5s

demo: build
	@scripts/demo.sh

# Installs the binary, the man pages (gzip -9n: reproducible), the bash completion
# and the docs (README.md and docs/ keep their layout, so links work). Everything under $(DESTDIR)$(PREFIX); `make uninstall` removes it.
MANPAGES := man/svcwrap.8 man/svcwrap.5
DOCS     := README.md $(wildcard docs/*.md)
EXAMPLES := $(shell find examples -type f)
DOCDIR    = $(DESTDIR)$(PREFIX)/share/doc/svcwrap
install: build
	install -D -m 0755 $(BINARY) $(DESTDIR)$(PREFIX)/sbin/svcwrap
	for m in $(MANPAGES); do \
	  s=$${m##*.}; install -d -m 0755 $(DESTDIR)$(PREFIX)/share/man/man$$s; \
	  gzip -9n -c $$m > $(DESTDIR)$(PREFIX)/share/man/man$$s/$${m##*/}.gz; \
	  chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man$$s/$${m##*/}.gz; done
	install -D -m 0644 completions/svcwrap.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/svcwrap
	for f in $(DOCS); do install -D -m 0644 $$f $(DOCDIR)/$$f; done
	for f in $(EXAMPLES); do install -D -m 0644 $$f $(DOCDIR)/$$f; done

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/svcwrap \
	  $(DESTDIR)$(PREFIX)/share/man/man8/svcwrap.8.gz $(DESTDIR)$(PREFIX)/share/man/man5/svcwrap.5.gz \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/svcwrap
	rm -rf $(DOCDIR)

# A Debian package of the static binary, checked by lintian when it is installed
# (scripts/mkdeb.sh; DEBDIR is where the .deb goes).
DEBDIR ?= dist
deb:
	@scripts/mkdeb.sh $(DEBDIR)

clean:
	rm -rf bin dist

# The storm and fault suite (integration/stress_test.go) for STRESS_TIME: random
# verbs on several services while CLIs, watchdogs and daemons are SIGKILLed; it
# prints commands run, faults injected and invariant violations (non-zero fails).
# `make test` runs the same test with its short default (8s). SWTEST_SEED=N replays.
STRESS_TIME ?= 60s
stress:
	CGO_ENABLED=1 STRESS_TIME=$(STRESS_TIME) $(GO) test -count=1 -v -timeout 30m -run '^TestStress$$' ./integration/

# svcwrap against runit, supervisord and a Debian LSB script, same daemon, same run
# (bench/). BENCH_QUICK=1: a smoke run of about a minute and a half. BENCH_OUT=docs/benchmarks.md
# regenerates the recorded results. The latency phase runs on the machine as it is
# and again with one CPU hog per CPU; BENCH_LOAD=quiet or busy runs only one.
BENCH_QUICK ?=
BENCH_OUT   ?=
BENCH_LOAD  ?=
bench: build
	$(GO) build -trimpath -o bin/bench ./bench
	bin/bench -svcwrap bin/svcwrap $(if $(BENCH_QUICK),-quick) $(if $(BENCH_OUT),-out $(BENCH_OUT)) $(if $(BENCH_LOAD),-load $(BENCH_LOAD)) \
	  -cmd 'make bench$(if $(BENCH_QUICK), BENCH_QUICK=$(BENCH_QUICK))$(if $(BENCH_OUT), BENCH_OUT=$(BENCH_OUT))$(if $(BENCH_LOAD), BENCH_LOAD=$(BENCH_LOAD))'
