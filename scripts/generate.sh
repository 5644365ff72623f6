#!/usr/bin/env bash
# Regenerates what is generated from the Rust types and committed: the CRDs under crds/ and
# their copies in the Helm chart (annotated to survive `helm uninstall`). A test fails when
# the committed files differ from what this writes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q -p optionsflow-operator -- crd --out-dir crds
mkdir -p charts/optionsflow/files/crds
cargo run -q -p optionsflow-operator -- crd --helm --out-dir charts/optionsflow/files/crds
echo "wrote crds/ and charts/optionsflow/files/crds/"
