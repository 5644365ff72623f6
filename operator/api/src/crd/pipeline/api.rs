//! The data API: who may call it.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use super::sources::SecretKeyRef;

/// The api role: the data API and the web page, over PostgreSQL. It runs only when the
/// pipeline has a PostgreSQL sink and API tokens.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiSpec {
    /// The Secret key holding the bearer tokens callers present, one or more, separated by
    /// line breaks or commas. Without it the api role is not deployed (the status says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_secret: Option<SecretKeyRef>,
}
