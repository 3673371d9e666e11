#!/usr/bin/env bash
# A legacy wrapper in the style of the original k6_all.sh suite. The runner
# calls it as:
#   bash overall-1.sh <duration> <users> <ramp-up-seconds> <max-duration-seconds>
# and reads its results from the text summary k6 prints.
set -euo pipefail
duration="$1" users="$2" ramp_up="$3"
here="$(cd "$(dirname "$0")" && pwd)"
script="$here/../../legacy/overall.js"
if [ "$ramp_up" -gt 0 ]; then
  exec k6 run --no-usage-report --vus 0 --stage "${ramp_up}s:${users},${duration}:${users}" "$script"
fi
exec k6 run --no-usage-report --vus "$users" --duration "$duration" "$script"
