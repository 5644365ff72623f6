#!/usr/bin/env bash
# Fuzzes the data API against its own OpenAPI document with schemathesis and every check
# (server errors, schema-valid requests rejected, schema-invalid ones accepted, responses
# that do not match their schema, missing authentication, unsupported methods, ...). Fails on
# any failure. Run by scripts/test.sh after the tests; can be run on its own after
# `cargo build --bins` (and `source scripts/test-services.sh` for SCHEMATHESIS_BIN).
#
# The API serves a SQLite database that `optionsflow-worker local --once --exit --source
# sample` fills (every endpoint has rows), with a bearer token, so the authentication checks
# run too.
#
#   MAX_EXAMPLES  examples per operation and phase (default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
worker="$PWD/target/debug/optionsflow-worker"
schemathesis="${SCHEMATHESIS_BIN:-schemathesis}"
[[ -x "$worker" ]] || { echo "api-check: build first (cargo build --bins)" >&2; exit 1; }

work="$(mktemp -d)"
server=""
cleanup() {
  [[ -n "$server" ]] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

(cd "$work" && "$worker" local --once --exit --source sample --listen "127.0.0.1:$(free_port)" \
  --no-progress > local.log 2>&1) || { cat "$work/local.log" >&2; exit 1; }
cat > "$work/runtime.json" <<JSON
{"pipeline": {"namespace": "check", "name": "api"}, "kafka": {"bootstrapServers": "unused:9092"},
 "sinks": {"sqlite": {"path": "$work/optionsflow-data/optionsflow.db"}}}
JSON
port="$(free_port)"
token="api-check-$RANDOM$RANDOM"
OPTIONSFLOW_API_TOKENS="$token" "$worker" serve --config "$work/runtime.json" \
  --listen "127.0.0.1:$port" --admin-addr "127.0.0.1:$(free_port)" > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/openapi.json" > /dev/null && break
  sleep 0.1
done

echo "api-check: schemathesis, every check, ${MAX_EXAMPLES:-100} examples per operation"
"$schemathesis" run "http://127.0.0.1:$port/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --max-examples "${MAX_EXAMPLES:-100}" \
  --generation-deterministic \
  --no-color \
  --report-dir "$work/report" > "$work/schemathesis.log" 2>&1 \
  || { cat "$work/schemathesis.log"; echo "api-check: FAILED" >&2; exit 1; }
grep -E "generated|passed" "$work/schemathesis.log" | tail -3
echo "api-check: no failure"
