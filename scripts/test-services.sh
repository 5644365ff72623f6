#!/usr/bin/env bash
# Installs what the tests need, idempotently and quickly when it is already there.
# Sourced by scripts/test.sh (and so by .ci/run); can be run on its own.
#
# - tansu 0.6.0, the Kafka-compatible broker: the tests start their own brokers on free
#   loopback ports (testkit/src/tansu.rs), so nothing is left running here.
#
# Exports TANSU_BIN for the tests.
set -euo pipefail

tansu_version="0.6.0"

install_tansu() {
  local bin="${CARGO_HOME:-$HOME/.cargo}/bin/tansu"
  if [[ -x "$bin" ]] && "$bin" --version 2>/dev/null | grep -q "$tansu_version"; then
    echo "tansu $tansu_version: installed"
  else
    echo "tansu $tansu_version: installing (about 10 minutes the first time)"
    cargo install tansu --version "$tansu_version" --features dynostore,libsql
  fi
  export TANSU_BIN="$bin"
}

install_tansu
