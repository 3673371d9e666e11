#!/usr/bin/env bash
# Fuzzes the core natively with cargo fuzz (libFuzzer): every target in
# fuzz/fuzz_targets runs for the given number of seconds; any crash, panic,
# timeout or out-of-memory fails the script and leaves its input in
# fuzz/artifacts/<target>/. See FUZZING.md.
#
#   scripts/fuzz.sh [seconds-per-target]   (default 30; `make test` uses 20)
#
# FUZZ_PARALLEL=0 runs the targets one after the other; by default they run
# side by side (the seconds are wall-clock per target either way; the CPU
# time each used is printed at the end).
#
# It runs on the stable toolchain with `--sanitizer none`: AddressSanitizer
# needs nightly (-Zsanitizer), which a fresh machine does not have and
# cannot download, and the core is safe Rust (`unsafe_code = "deny"`), so
# what a sanitizer would catch cannot happen there. Panics, failed
# assertions, arithmetic overflow (debug assertions are on), hangs and
# runaway memory are what the fuzzer looks for.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET="${1:-30}"
PARALLEL="${FUZZ_PARALLEL:-1}"
CARGO_FUZZ_VERSION=0.13.2
FIXTURES=plugin/tests/fixtures/k6-1.1.0
TARGETS=(validate parse_logs parse_json_docs)

# libFuzzer reads -max_total_time=0 as "forever": refuse it with the rest.
case "$SECONDS_PER_TARGET" in
  '' | *[!0-9]* | 0*) echo "fuzz: seconds-per-target must be a whole number from 1, not '$SECONDS_PER_TARGET'" >&2; exit 2 ;;
esac

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install --locked --version "$CARGO_FUZZ_VERSION" cargo-fuzz
fi

# Seeds: the real k6 output the parser tests use, copied into the (ignored)
# corpus folders, where libFuzzer also keeps what it finds. `cp -n` keeps
# earlier runs' corpus and makes the copy idempotent.
seed() { # seed <target> <file>...
  local dir="fuzz/corpus/$1" file
  shift
  mkdir -p "$dir"
  for file in "$@"; do
    cp -n "$file" "$dir/seed-$(echo "${file#"$FIXTURES"/}" | tr '/' '_')"
  done
}
mapfile -t json_docs < <(find "$FIXTURES" -name '*.json' | sort)
mapfile -t outputs < <(find "$FIXTURES" -type f \( -name '*.stdout' -o -name '*.stderr' \
  -o -name '*.k6log' -o -name '*.consolelog' -o -name '*.jsonl' \) | sort)
seed validate examples/config.json "${json_docs[@]}"
seed parse_logs "${outputs[@]}"
seed parse_json_docs "${json_docs[@]}"
# REST API transcripts: one seed per JSON body in them.
for file in "$FIXTURES"/*/*.http.txt; do
  name="seed-$(echo "${file#"$FIXTURES"/}" | tr '/' '_')"
  awk -v out="fuzz/corpus/parse_json_docs/$name" \
    '/^[[:space:]]*[{[]/ { n++; print > (out "-" n ".json") }' "$file"
done

# One build for every target (`cargo fuzz run` would otherwise build each),
# with `run` given the same flags so that it finds it. 16 codegen units
# instead of cargo fuzz's 1: the build is the larger part of a short CI run,
# and a few percent of executions per second matter less than that.
BUILD_FLAGS=(--sanitizer none --codegen-units 16)
cargo fuzz build "${BUILD_FLAGS[@]}"

run() { # run <target>
  local target="$1" dict=() TIMEFORMAT="%U %S"
  [ "$target" = validate ] && dict=("-dict=$PWD/fuzz/dicts/config.dict")
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: runaway memory.
  { time cargo fuzz run "${BUILD_FLAGS[@]}" "$target" "$PWD/fuzz/corpus/$target" -- \
      -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "${dict[@]}" >"fuzz/artifacts/logs/$target.log" 2>&1; } 2>"fuzz/artifacts/logs/$target.cpu"
}

mkdir -p fuzz/artifacts/logs
failed=()
if [ "$PARALLEL" = 1 ]; then
  pids=()
  for target in "${TARGETS[@]}"; do
    run "$target" &
    pids+=("$!")
  done
  for i in "${!TARGETS[@]}"; do
    wait "${pids[$i]}" || failed+=("${TARGETS[$i]}")
  done
else
  for target in "${TARGETS[@]}"; do
    run "$target" || failed+=("$target")
  done
fi

for target in "${TARGETS[@]}"; do
  execs=$(awk '/stat::number_of_executed_units/ { print $2 }' "fuzz/artifacts/logs/$target.log")
  cpu=$(awk '{ printf "%.1f", ($1 + $2) / 60 }' "fuzz/artifacts/logs/$target.cpu")
  corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
  echo "fuzz: $target: ${execs:-?} executions, $cpu CPU minutes, corpus $corpus inputs"
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in fuzz/artifacts/, logs in fuzz/artifacts/logs/)" >&2
  for target in "${failed[@]}"; do
    tail -n 40 "fuzz/artifacts/logs/$target.log" >&2
  done
  exit 1
fi
