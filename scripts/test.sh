#!/usr/bin/env bash
# Runs every test: installs what the tests need, then the chart's alert rules (promtool), the
# whole workspace's tests, then the API against its OpenAPI document (schemathesis) and the
# image check (the Dockerfile's runtime stage built and run from its root filesystem).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/test-services.sh
scripts/alerts-check.sh
cargo test --workspace --locked "$@"
scripts/api-check.sh
scripts/image-check.sh
