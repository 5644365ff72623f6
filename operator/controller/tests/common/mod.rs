//! Helpers shared by the operator's integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use optionsflow_api::crd::{OptionsPipeline, SymbolSet};
use optionsflow_operator::render::Manifests;
use optionsflow_operator::validate::Settings;
use serde_json::Value;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every document of a YAML file, as JSON values.
pub fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

/// A pipeline and its SymbolSets from YAML files, read as `render` reads them.
pub fn load(files: &[PathBuf]) -> (OptionsPipeline, BTreeMap<String, SymbolSet>) {
    let manifests = Manifests::read(files).unwrap();
    let pipeline = manifests.pipelines[0].clone();
    let sets = manifests.symbol_sets_in(pipeline.metadata.namespace.as_deref().unwrap());
    (pipeline, sets)
}

pub fn settings() -> Settings {
    Settings {
        worker_image: "ghcr.io/optionsflow/optionsflow-worker:0.1.0".into(),
        ..Settings::default()
    }
}

/// Runs scripts/validate-manifests.py (kubernetes-validate for Kubernetes objects, the CRD
/// schemas for ours); returns (success, output).
pub fn validate_manifests(files: &[PathBuf]) -> (bool, String) {
    let python = std::env::var("OPTIONSFLOW_PYTHON").unwrap_or_else(|_| {
        format!(
            "{}/.cache/optionsflow/venv/bin/python",
            std::env::var("HOME").unwrap()
        )
    });
    assert!(
        Path::new(&python).exists(),
        "{python} is missing: run scripts/test-services.sh (it installs kubernetes-validate)"
    );
    let out = Command::new(python)
        .arg(root().join("scripts/validate-manifests.py"))
        .args(["--kubernetes-version", "1.33", "--crds"])
        .arg(root().join("crds"))
        .args(files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
