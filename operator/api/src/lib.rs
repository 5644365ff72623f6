//! The contract between optionsflow's control plane and its data plane.
//!
//! The operator renders a [`RuntimeConfig`] into a ConfigMap; the workers read it. Both sides
//! compute topic names with [`TopicNames`] and exchange [`Envelope`]s on those topics. This
//! crate is pure data: no I/O, no clocks, no Kubernetes client.

#[cfg(feature = "metrics")]
pub mod build;
pub mod collection;
#[cfg(feature = "crd")]
pub mod crd;
pub mod dataset;
pub mod dead_letter;
pub mod defaults;
pub mod envelope;
pub mod named;
pub mod records;
pub mod role;
pub mod runtime_config;
pub mod schedule;
pub mod symbol;
pub mod topics;

pub use dataset::Dataset;
pub use dead_letter::{DeadLetter, Reason};
pub use envelope::{Envelope, MessageOrigin, Part, SchemaId, Source, Task};
pub use role::{Need, Role};
pub use runtime_config::RuntimeConfig;
pub use symbol::{Symbol, SymbolError};
pub use topics::{TopicKind, TopicNames};
