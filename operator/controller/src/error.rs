//! What can go wrong in a reconcile, one variant per step, each with the context to act on
//! it. `reason()` is the PascalCase word used in conditions, Events and metrics;
//! `is_permanent()` splits what only a spec change fixes from what retrying fixes.

use crate::topics::TopicError;
use crate::validate::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("OptionsPipeline {namespace}/{name} cannot be read: {message}")]
    InvalidObject {
        namespace: String,
        name: String,
        message: String,
    },
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("listing SymbolSets in {namespace} failed: {source}")]
    FetchSymbolSets {
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error("reading Secret {namespace}/{name} failed: {source}")]
    FetchSecret {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("Secret {namespace}/{name} has no key {key:?}")]
    SecretKeyMissing {
        namespace: String,
        name: String,
        key: String,
    },
    #[error("applying {kind} {name} failed: {source}")]
    Apply {
        kind: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("pruning {kind} {name} failed: {source}")]
    Prune {
        kind: &'static str,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("asking the apiserver whether it serves {group_version} failed: {source}")]
    Discovery {
        group_version: &'static str,
        #[source]
        source: kube::Error,
    },
    #[error("updating the finalizers of {name} failed: {source}")]
    Finalizer {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("writing the status of {name} failed: {source}")]
    Status {
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error(transparent)]
    Topics(#[from] TopicError),
}

impl Error {
    pub fn reason(&self) -> &'static str {
        match self {
            Error::InvalidObject { .. } => "InvalidObject",
            Error::Invalid(e) => e.reason(),
            Error::FetchSymbolSets { .. } => "FetchSymbolSetsFailed",
            Error::FetchSecret { .. } => "FetchSecretFailed",
            Error::SecretKeyMissing { .. } => "SecretKeyMissing",
            Error::Apply { .. } => "ApplyFailed",
            Error::Prune { .. } => "PruneFailed",
            Error::Discovery { .. } => "DiscoveryFailed",
            Error::Finalizer { .. } => "FinalizerFailed",
            Error::Status { .. } => "StatusFailed",
            Error::Topics(TopicError::Unreachable { .. }) => "KafkaUnreachable",
            Error::Topics(TopicError::Refused { .. }) => "KafkaRefused",
            Error::Topics(TopicError::AuthFailed { .. }) => "KafkaAuthFailed",
            Error::Topics(TopicError::TlsFailed { .. }) => "KafkaTlsFailed",
        }
    }

    /// Fixed only by changing an object: wait for the change instead of retrying.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Error::InvalidObject { .. } | Error::Invalid(_))
    }
}
