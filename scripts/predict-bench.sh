#!/usr/bin/env bash
# The backtest's benchmark: 100 symbols x 10 years of the sample source's daily bars, every
# model and horizon (docs/predictions.md, "Benchmark"). Builds the release binary, then times
# one run (wall clock and peak memory, from GNU time).
# Usage: scripts/predict-bench.sh [symbols (100)] [years (10)]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-100}"
years="${2:-10}"
cargo build --release --quiet -p optionsflow-workers --bin optionsflow-worker
# AAA, AAB, ...: tickers the sample source gives each its own price level and volatility.
symbols=$(python3 -c "
import itertools, string
names = [''.join(t) for t in itertools.product(string.ascii_uppercase, repeat=3)][:$count]
print(','.join(names))")
out=$(mktemp)
/usr/bin/time -f "elapsed %e s, peak RSS %M KiB" \
  target/release/optionsflow-worker predict --backtest --source sample \
  --symbols "$symbols" --years "$years" --end 2026-11-27 --format csv > "$out"
echo "$(($(wc -l < "$out") - 1)) scores ($count symbols x $years years x 3 models x 3 horizons)"
rm -f "$out"
