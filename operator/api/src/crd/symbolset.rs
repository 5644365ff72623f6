//! `SymbolSet`: a named list of underlyings that pipelines refer to.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// A named list of underlyings (upper-case tickers) that OptionsPipelines collect data for.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "optionsflow.io",
    version = "v1alpha1",
    kind = "SymbolSet",
    namespaced,
    shortname = "symset",
    category = "optionsflow",
    status = "SymbolSetStatus",
    doc = "A named list of underlyings (upper-case tickers) that OptionsPipelines collect data for.",
    printcolumn(
        name = "Symbols",
        type_ = "integer",
        json_path = ".status.count",
        description = "How many symbols the set holds"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct SymbolSetSpec {
    /// The underlyings: upper-case tickers, each at most once. Class shares take a dot
    /// (`BRK.B`); indices are written plain (`SPX`), each data source adds its own prefix.
    #[schemars(schema_with = "super::schema::symbols")]
    pub symbols: Vec<String>,
    /// What the set is, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub description: Option<String>,
    /// Free-form tags for people and tools (`sector: technology`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// What the operator observed of a SymbolSet.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SymbolSetStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// How many symbols the set holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// `Ready` is `True` when every symbol is usable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::conditions")]
    pub conditions: Option<Vec<Condition>>,
}
