#!/usr/bin/env bash
# Regenerates what is generated from the Rust types and committed: the CRDs under crds/.
# A test fails when the committed files differ from what this writes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q -p optionsflow-operator -- crd --out-dir crds
echo "wrote crds/"
