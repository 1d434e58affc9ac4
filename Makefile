# spellhost. `make run` builds and runs the shipped stress scenario;
# `make test` runs every test with the race detector.

GO      ?= go
BIN     := bin/spellhost
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build run run-faults run-memleak run-distributed soak-faults test bench bench-http lint docs fuzz browser clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/spellhost

run: build
	./$(BIN) run scripts/stress.lua

# The fault-injection suite: every failure mode, each with thresholds.
run-faults: build
	./$(BIN) run scripts/faults.lua

# Not part of make test (minutes): faults.lua SOAK_RUNS times beside a CPU
# hog on one core, every run passing, then SOAK_DEGRADED times with the
# recovery probe's tool kept 30% slower, every run failing on its verdict.
SOAK_RUNS     ?= 30
SOAK_DEGRADED ?= 10
soak-faults: build
	./scripts/soak-faults.sh $(BIN) $(SOAK_RUNS) $(SOAK_DEGRADED) 30

# The orchestrator memory-leak test: tasks, then monitoring, with the verdict.
run-memleak: build
	./$(BIN) run scripts/memleak.lua

# Tasks that worker processes share: spellhost serve keeps them in its
# embedded NATS server (listening on loopback for the workers, running
# none itself), two spellhost worker processes run them, and
# scripts/tasks-distributed.lua submits them and checks the accounting.
DIST_TASKS ?= 2000
DIST_PORT  ?= 14222
run-distributed: build
	@dir=$$(mktemp -d); \
	./$(BIN) serve --addr 127.0.0.1:0 --data-dir $$dir/data --nats-listen 127.0.0.1:$(DIST_PORT) --task-workers 0 --log-format text 2>$$dir/serve.log & srv=$$!; \
	for i in $$(seq 100); do grep -q msg=listening $$dir/serve.log 2>/dev/null && break; sleep 0.1; done; \
	./$(BIN) worker --nats nats://127.0.0.1:$(DIST_PORT) 2>$$dir/w1.log & w1=$$!; \
	./$(BIN) worker --nats nats://127.0.0.1:$(DIST_PORT) 2>$$dir/w2.log & w2=$$!; \
	for i in $$(seq 100); do grep -q "worker started" $$dir/w1.log $$dir/w2.log 2>/dev/null && [ $$(cat $$dir/w1.log $$dir/w2.log | grep -c "worker started") = 2 ] && break; sleep 0.1; done; \
	./$(BIN) run scripts/tasks-distributed.lua -- nats://127.0.0.1:$(DIST_PORT) $(DIST_TASKS) 2; rc=$$?; \
	kill -TERM $$w1 $$w2; wait $$w1 $$w2; kill -TERM $$srv; wait $$srv; rm -rf $$dir; exit $$rc

# Debian's chromium for the browser tests (the HTML report, the dashboard,
# the compare report). Installs it when missing and apt-get can; where it
# cannot, says so and the browser tests skip with that reason.
browser:
	@if [ -x /usr/bin/chromium ]; then echo "browser: /usr/bin/chromium is installed"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium) \
			|| echo "browser: could not install chromium; the browser tests will be skipped"; \
	else echo "browser: no apt-get or not root; install chromium to run the browser tests"; fi

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 9m ./...

# Go benchmarks (figures per operation), then scenario runs that print ops/s.
bench: build bench-http
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...
	./$(BIN) run scripts/stress.lua -- 100
	./$(BIN) run scripts/stress.lua -- 100 2
	./$(BIN) run scripts/faults.lua
	./$(BIN) run scripts/memleak.lua -- 1000 5 0
	./$(BIN) run scripts/memleak.lua -- 1000 5 0 jetstream
	$(MAKE) run-distributed
	./$(BIN) run --vus 1000 --duration 5s scripts/bench/sleep_vus.lua
	./$(BIN) run scripts/bench/calibration.lua
	./$(BIN) run scripts/bench/samples.lua
	./$(BIN) run --out json=/tmp/spellhost-bench.json --out csv=/tmp/spellhost-bench.csv scripts/bench/samples.lua
	./$(BIN) run scripts/bench/samples.lua -- paced
	./$(BIN) run --out json=/tmp/spellhost-bench.json --out csv=/tmp/spellhost-bench.csv scripts/bench/samples.lua -- paced

# The HTTP engine (host/vuhttp) against wrk (and k6 when installed) on one
# loopback server: req/s, CPU seconds and req per CPU-second side by side.
# Installs Debian's wrk when it is missing and apt-get may run; without it
# the wrk line is skipped with a message.
bench-http:
	@command -v wrk >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1; } || echo "bench-http: could not install wrk"; \
		else echo "bench-http: wrk is not installed and apt-get cannot run here (not root)"; fi; }
	$(GO) build -o bin/httpload ./scripts/bench/httpload
	./bin/httpload compare -vus 10 -duration 5s

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

# Regenerate the generated references (tests fail when they are stale):
# docs/tools.md from the tool specs, docs/lua-api.md and the editor's
# lua/types/spellhost.lua from the Lua binding declarations.
docs: build
	./$(BIN) tools docs --out docs/tools.md
	./$(BIN) api docs --out docs/lua-api.md
	./$(BIN) api types --out lua/types/spellhost.lua

# Longer fuzzing than the seed corpus that `make test` runs.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDoJSON -fuzztime 60s ./host/kernel
	$(GO) test -run '^$$' -fuzz FuzzEvaluate -fuzztime 30s ./tools
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./host/fault
	$(GO) test -run '^$$' -fuzz FuzzParseTolerances -fuzztime 30s ./host/compare
	$(GO) test -run '^$$' -fuzz FuzzHandler -fuzztime 60s ./host/server
	$(GO) test -run '^$$' -fuzz FuzzParseKeys -fuzztime 15s ./host/server
	$(GO) test -run '^$$' -fuzz FuzzParseOptions -fuzztime 30s ./host/scenario
	$(GO) test -run '^$$' -fuzz FuzzResponse -fuzztime 30s ./host/vuhttp

clean:
	rm -rf bin
