# tickwire. The two commands a new machine needs: `make demo` and `make test`.
GO      ?= go
BIN     := bin/tickwire
# Root installs directly (CI, fresh machines); others go through sudo.
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FUZZTIME ?= 10s

.PHONY: all build demo test test-deps vet fmt fuzz bench clean

all: vet test

build:
	$(GO) build -o $(BIN) ./cmd/tickwire

## demo: replay real recorded ticks through a real server into the trader dashboard
demo: build
	./$(BIN) demo

## test: everything CI runs: vet, race-enabled tests (real sockets, tmux), short fuzzing
test: test-deps vet
	$(GO) test -race -count=1 -timeout 10m ./...
	$(MAKE) fuzz FUZZTIME=$(FUZZTIME)

## test-deps: what the tests need beyond Go (the end-to-end tests drive the TUI under tmux)
test-deps:
	@command -v tmux >/dev/null 2>&1 || { echo "installing tmux"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq tmux >/dev/null; }
	@command -v tmux >/dev/null 2>&1 || { echo "tmux is required for the end-to-end tests" >&2; exit 1; }

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

## fuzz: run each decoder's fuzz target briefly (FUZZTIME=10m for a long run)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./protocol/
	$(GO) test -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME) ./ticks/

## bench: Go benchmarks of the hot paths
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./protocol/ ./feedserver/ ./ticks/

clean:
	rm -rf bin
