#!/usr/bin/env bash
# How fast is `optionsflow-worker greeks` end to end (CSV in, CSV out) on one core?
#
#   scripts/greeks-speed.sh [WORKER] [ROWS]
#
# Writes ROWS (default 2,000,000) option prices shaped like exported chains (per
# underlying: 20 expiries of 50 strikes, calls and puts, prices in cents, rates and yields
# per expiry) to a temporary file, then runs the worker pinned to one core three times,
# reading that file and writing its CSV to another, and prints rows per second each time.
# WORKER defaults to the release build. docs/processing.md has the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
worker="${1:-target/release/optionsflow-worker}"
rows="${2:-2000000}"
[ -x "$worker" ] || { echo "no worker at $worker: cargo build --release --bin optionsflow-worker" >&2; exit 1; }
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
awk -v rows="$rows" 'BEGIN {
  srand(11); print "spot,strike,years,rate,dividend_yield,right,price"; n = 0
  while (n < rows) {
    s = 50 + rand() * 400; q = rand() * 0.03
    for (e = 0; e < 20 && n < rows; e++) {
      t = (e * 7 + 3) / 365; r = 0.04 + e * 0.0002
      for (j = -25; j < 25 && n < rows; j++) {
        k = int(s * (1 + j * 0.01))
        for (c = 0; c < 2 && n < rows; c++) {
          right = c ? "put" : "call"
          intrinsic = c ? (k > s ? k - s : 0) : (s > k ? s - k : 0)
          p = intrinsic + 0.5 + rand() * s * 0.05 * sqrt(t)
          printf "%.2f,%d,%.6f,%.4f,%.4f,%s,%.2f\n", s, k, t, r, q, right, p; n++
        }
      }
    }
  }
}' > "$dir/in.csv"
for out in /dev/null "$dir/out.csv"; do
  for run in 1 2 3; do
    start=$(date +%s.%N)
    taskset -c 0 "$worker" greeks < "$dir/in.csv" > "$out" 2>/dev/null
    end=$(date +%s.%N)
    awk -v r="$rows" -v s="$start" -v e="$end" -v o="$out" \
      'BEGIN { printf "%s: %d rows in %.2f s, %.0f rows/s\n", o ~ /null/ ? "to /dev/null" : "to a file", r, e - s, r / (e - s) }'
  done
done
