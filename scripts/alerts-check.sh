#!/usr/bin/env bash
# The chart's Prometheus rules (charts/optionsflow/files/alerts.yaml): promtool checks them
# and runs their unit tests (config/monitoring/alerts.test.yaml: series in, alerts expected).
# Run by scripts/test.sh; needs promtool (scripts/test-services.sh installs Debian's).
set -euo pipefail
cd "$(dirname "$0")/.."
promtool="${PROMTOOL_BIN:-$(command -v promtool)}"
"$promtool" check rules charts/optionsflow/files/alerts.yaml
"$promtool" test rules config/monitoring/alerts.test.yaml
