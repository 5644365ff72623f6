#!/usr/bin/env bash
# Runs every test: installs what the tests need, then the whole workspace's tests, then the
# image check (the Dockerfile's runtime stage built and run from its root filesystem).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/test-services.sh
cargo test --workspace --locked "$@"
scripts/image-check.sh
