//! The CustomResourceDefinitions, generated from the Rust types in `optionsflow-api`.
//! `optionsflow-operator crd` prints them; `crds/` holds them committed, and a test fails when
//! the two differ.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use optionsflow_api::crd::{OptionsPipeline, SymbolSet};

/// Every CRD, with the file it is committed as under `crds/`.
pub fn crds() -> Vec<(&'static str, CustomResourceDefinition)> {
    vec![
        ("optionsflow.io_symbolsets.yaml", SymbolSet::crd()),
        (
            "optionsflow.io_optionspipelines.yaml",
            OptionsPipeline::crd(),
        ),
    ]
}

/// One CRD as YAML.
pub fn to_yaml(crd: &CustomResourceDefinition) -> String {
    serde_norway::to_string(crd).expect("CRDs serialize")
}

/// A CRD as the Helm chart ships it: kept on `helm uninstall`, because deleting a CRD deletes
/// every pipeline and SymbolSet with it.
pub fn for_helm(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    crd.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert("helm.sh/resource-policy".into(), "keep".into());
    crd
}
