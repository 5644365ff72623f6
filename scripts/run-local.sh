#!/usr/bin/env bash
# Runs the collection half of the pipeline on this machine, offline: a tansu broker, local
# stand-ins for Twelve Data, Yahoo and Cboe (testkit's fake-providers), the pipeline's
# topics, one collector, and the trigger for the daily, historical and options datasets of
# the last trading session. Prints what landed on each topic, then stops everything.
#
# Uses config/samples/runtime-local.json. To collect live data instead, point that file's
# sources at the real providers (or drop the "sources" block: the defaults are the real
# URLs), put your keys in TWELVEDATA_API_KEYS, and run the same commands (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/test-services.sh >/dev/null

config=config/samples/runtime-local.json
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "building…"
cargo build -q -p optionsflow-workers -p optionsflow-testkit --bins
worker=target/debug/optionsflow-worker

# The last session that has closed: today after 17:00 New York time, else the day before.
day=$(TZ=America/New_York date +%F)
[[ $(TZ=America/New_York date +%H) -lt 17 ]] && day=$(date -d "$day - 1 day" +%F)
until "$worker" calendar --date "$day" --format json | grep -q '"open": true'; do
  day=$(date -d "$day - 1 day" +%F)
done
at=$(TZ=UTC date -d "TZ=\"America/New_York\" $day 17:00" +%FT%TZ)
echo "collecting the session of $day (trigger time $at)"

(cd "$work" && exec "$TANSU_BIN" broker --listener-url tcp://127.0.0.1:19092 \
  --advertised-listener-url tcp://127.0.0.1:19092 --storage-engine memory://tansu/ >tansu.log 2>&1) &
pids+=($!)
target/debug/fake-providers --today "$day" >"$work/providers.log" 2>&1 &
pids+=($!)
until (exec 3<>/dev/tcp/127.0.0.1/19092) 2>/dev/null; do sleep 0.2; done
until (exec 3<>/dev/tcp/127.0.0.1/18081) 2>/dev/null; do sleep 0.2; done

"$worker" topics --config "$config" >/dev/null
export TWELVEDATA_API_KEYS=demo-key
"$worker" collect --config "$config" --admin-addr 127.0.0.1:19090 >"$work/collector.log" 2>&1 &
pids+=($!)
until curl -sf http://127.0.0.1:19090/readyz >/dev/null; do sleep 0.2; done

tasks=0
for dataset in daily historical options; do
  line=$("$worker" trigger --config "$config" --dataset "$dataset" --at "$at" 2>/dev/null)
  echo "  $line"
  n=$(echo "$line" | sed -n 's/^published \([0-9]*\) .*/\1/p')
  tasks=$((tasks + ${n:-0}))
done

echo "collecting $tasks tasks (the collector waits for the next minute before its first request)…"
done_tasks() {
  curl -s http://127.0.0.1:19090/metrics | awk '/^optionsflow_tasks_total/ {s += $2} END {print s + 0}'
}
for _ in $(seq 1 600); do
  [[ $(done_tasks) -ge $tasks ]] && break
  sleep 1
done

echo
echo "messages acknowledged by the broker, per topic:"
curl -s http://127.0.0.1:19090/metrics | sed -n 's/^optionsflow_messages_published_total{topic="\(.*\)"} \(.*\)/  \1: \2/p'
echo "provider requests:"
curl -s http://127.0.0.1:19090/metrics | sed -n 's/^optionsflow_provider_requests_total{provider="\(.*\)",status="\(.*\)"} \(.*\)/  \1 \2: \3/p'
echo "collector log: $work/collector.log (removed on exit); metrics were at http://127.0.0.1:19090/metrics"
