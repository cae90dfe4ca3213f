# tickwire. The two commands a new machine needs: `make demo` and `make test`.
GO      ?= go
BIN     := bin/tickwire
# Root installs directly (CI, fresh machines); others go through sudo.
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# A count of executions, not a duration: with a duration, Go 1.26's fuzz
# coordinator can fail a clean run with "context deadline exceeded" as the
# time runs out (go.dev/issue/75804, fixed in Go 1.27). 150000 runs take
# 5-10 s per target here.
FUZZTIME ?= 150000x

.PHONY: all build behaviours demo cluster-demo cluster-soak cluster-bench check test test-deps vet fmt fuzz bench clean fix-deps stress

all: vet test

build: behaviours
	$(GO) build -o $(BIN) ./cmd/tickwire

## behaviours: the example behaviours (WebAssembly modules, docs/behaviours.md), built with nothing but Go
BEHAVIOURS := vwap ohlc mid
behaviours:
	@mkdir -p bin/behaviours
	@for b in $(BEHAVIOURS); do \
		GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o bin/behaviours/$$b.wasm ./behaviours/$$b || exit 1; \
	done

## demo: replay real recorded ticks through a real server into the trader dashboard
demo: build
	./$(BIN) demo

## cluster-demo: three nodes on 127.0.0.1, the dashboard on all three, the active node killed (kill -9) every minute (docs/HA.md)
cluster-demo: build
	./$(BIN) cluster demo

## cluster-soak: 20 rounds of kill -9 of the active node under order flow; every client's view checked (docs/HA.md)
cluster-soak: build
	./$(BIN) cluster soak --rounds 20

## cluster-bench: the failover benchmark, 20 rounds timed (docs/BENCHMARKS.md)
cluster-bench: build
	./$(BIN) cluster bench --rounds 20

## check: the inner loop, under a minute: vet and the fast tests (-short skips soak, tmux, killed processes, the binary, multi-second timeouts; no -race)
check: vet
	$(GO) test -short -count=1 ./...

## test: everything CI runs: vet, race-enabled tests (real sockets, tmux), short fuzzing
test: test-deps fix-deps vet
	$(GO) test -race -count=1 -timeout 10m ./...
	$(MAKE) fuzz FUZZTIME=$(FUZZTIME)

## test-deps: what the tests need beyond Go (the end-to-end tests drive the TUI under tmux)
test-deps:
	@command -v tmux >/dev/null 2>&1 || { echo "installing tmux"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq tmux >/dev/null; }
	@command -v tmux >/dev/null 2>&1 || { echo "tmux is required for the end-to-end tests" >&2; exit 1; }

## fix-deps: the jspurefix FIX engine (npm) the gateway's tests use as an independent counterparty
fix-deps:
	@command -v npm >/dev/null 2>&1 || { echo "installing nodejs and npm"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm >/dev/null; }
	@cd fix/jspurefix && stamp=$$(sha256sum package-lock.json | cut -d' ' -f1) && \
		if [ "$$(cat node_modules/.tickwire-stamp 2>/dev/null)" != "$$stamp" ]; then \
			echo "installing fix/jspurefix/node_modules (npm ci)"; \
			npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && \
			(cd node_modules/jspurefix/data && node ../src/util/unzip fix_repo.zip >/dev/null) && \
			echo "$$stamp" > node_modules/.tickwire-stamp; \
		fi

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

## fuzz: run each fuzz target briefly: decoders, credentials, FIX router, order requests (FUZZTIME=10m or 5000000x for a long run)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./protocol/
	$(GO) test -run '^$$' -fuzz '^FuzzReader$$' -fuzztime $(FUZZTIME) ./ticks/
	$(GO) test -run '^$$' -fuzz '^FuzzAuthenticate$$' -fuzztime $(FUZZTIME) ./auth/
	$(GO) test -run '^$$' -fuzz '^FuzzRouter$$' -fuzztime $(FUZZTIME) ./fix/
	$(GO) test -run '^$$' -fuzz '^FuzzFraming$$' -fuzztime $(FUZZTIME) ./fix/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRequest$$' -fuzztime $(FUZZTIME) ./orderwire/

## stress: every test that waits on time (polls, deadlines, tmux, killed processes), -race -count=20 (STRESS_COUNT=N; STRESS_LIST=1 lists them; STRESS_RUN=REGEX keeps the tests it matches)
stress: test-deps fix-deps
	./.ci/stress

## bench: Go benchmarks of the hot paths
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./protocol/ ./feedserver/ ./ticks/

clean:
	rm -rf bin

## screenshots: PNGs of the trader's main states into docs/screenshots/ (real servers, tmux, aha, headless chromium)
.PHONY: screenshots
screenshots: build
	@missing=""; for p in tmux aha chromium curl; do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	fc-list 2>/dev/null | grep -q "DejaVu Sans Mono" || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then echo "installing$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing >/dev/null; fi
	./docs/screenshots/shoot.sh ./$(BIN) docs/screenshots
