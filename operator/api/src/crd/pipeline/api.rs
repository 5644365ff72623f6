//! The data API: who may call it, and how it is reached from outside the cluster.

use std::collections::BTreeMap;

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
    /// An Ingress for the api Service, for callers outside the cluster. Without it the API
    /// is reached through the `<pipeline>-api` Service only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressSpec>,
}

/// The api role's Ingress: one host, every path to the api Service.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct IngressSpec {
    /// The IngressClass (default `nginx`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub class_name: Option<String>,
    /// The host name callers use, e.g. `market-data.example.com`.
    #[schemars(
        regex(
            pattern = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
        ),
        length(max = 253)
    )]
    pub host: String,
    /// A Secret of type `kubernetes.io/tls` with the host's certificate (e.g. one
    /// cert-manager writes). Without it, the Ingress serves plain HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub tls_secret: Option<String>,
    /// Annotations for the ingress controller or cert-manager, e.g.
    /// `cert-manager.io/cluster-issuer` or NGINX's rate limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}
