# The two commands a newcomer needs:
#   make run    the standalone runner with the example scripts on :8080
#   make test   every test (installs what it needs first)
.PHONY: run test setup setup-test lint component fuzz bench

K6 := $(CURDIR)/.tools/k6/bin/k6
DATA := $(CURDIR)/.data

# An optimised build: the runner reads and fans out k6's output on the hot
# path, and a debug build of it costs a watched run measurably (see
# BENCHMARKS.md, "make run"). The first build takes a few minutes.
run: setup
	@mkdir -p $(DATA)
	@test -f $(DATA)/config.json || cp examples/config.json $(DATA)/config.json
	@echo "make run: building the runner (release; the first build takes about 7 minutes on 2 cores, later ones seconds)"
	cargo build --release -p k6-runner
	@echo "make run: serving on http://127.0.0.1:8080/ (the example target on 127.0.0.1:18080); Ctrl+C stops"
	target/release/k6-runner serve --bind 127.0.0.1:8080 --data-dir $(DATA) \
		--scripts-dir examples/scripts --k6 $(K6) --demo-target 127.0.0.1:18080

test: setup-test lint
	K6=$(K6) cargo test --workspace
	scripts/fuzz.sh 20

setup:
	scripts/setup.sh

setup-test:
	scripts/setup.sh test

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	@unformatted="$$(gofmt -l host-example/go)"; test -z "$$unformatted" || { echo "gofmt: $$unformatted"; exit 1; }
	cd host-example/go && GOPROXY=off GOFLAGS=-mod=mod go vet ./...

# The core component alone, at target/k6_core.component.wasm, with its digest.
component: setup
	cargo build -p k6-runner
	sha256sum target/k6_core.component.wasm

# A longer fuzzing session (seconds per target); see FUZZING.md.
fuzz:
	scripts/fuzz.sh 600

# Every benchmark figure of BENCHMARKS.md, on this machine.
bench: setup
	cargo run --release -p k6-bench -- all
