//! The Kubernetes custom resources (group `optionsflow.io`, version `v1alpha1`):
//! [`SymbolSet`] and [`OptionsPipeline`]. Behind the `crd` feature: the operator needs them,
//! the workers do not.
//!
//! Fields people leave out of Git are `Option`s with no schema default; defaults are resolved
//! by the operator ([`crate::defaults`]), so the apiserver never writes values that make
//! GitOps tools report drift.

pub mod pipeline;
pub mod schema;
pub mod symbolset;

pub use pipeline::{OptionsPipeline, OptionsPipelineSpec, OptionsPipelineStatus};
pub use symbolset::{SymbolSet, SymbolSetSpec, SymbolSetStatus};

/// The API group of every optionsflow resource.
pub const GROUP: &str = "optionsflow.io";
/// The kubectl category: `kubectl get optionsflow`.
pub const CATEGORY: &str = "optionsflow";
