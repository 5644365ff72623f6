//! The worker Deployments.

use k8s_openapi::api::core::v1::ResourceRequirements;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

use super::pod::PodSettings;

/// The image and the per-role settings of the worker Deployments.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkersSpec {
    /// The `optionsflow-worker` image (default: the operator's own version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Always, IfNotPresent or Never (default IfNotPresent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^(Always|IfNotPresent|Never)$"))]
    pub image_pull_policy: Option<String>,
    /// Settings for every pod of the pipeline: service account, pull secrets, placement,
    /// priority, labels, annotations, extra environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodSettings>,
    /// Collects from the providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collector: Option<RoleSpec>,
    /// Cleans, validates and enriches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processor: Option<RoleSpec>,
    /// Writes PostgreSQL; runs only with `sinks.postgres`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_writer: Option<RoleSpec>,
    /// Writes CSV files to S3; runs only with `sinks.s3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_writer: Option<RoleSpec>,
    /// Writes intraday bars to InfluxDB, in a consumer group of its own; runs only with
    /// `sinks.influxdb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub influx_writer: Option<RoleSpec>,
    /// Serves the data API and the web page; runs only with `sinks.postgres` and
    /// `api.tokensSecret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<RoleSpec>,
    /// Writes volatility forecasts; runs only with `sinks.postgres` and
    /// `predictions.enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictor: Option<RoleSpec>,
}

/// One role's Deployment.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RoleSpec {
    /// Pods (default 2). `spec.suspend` scales every role to zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1").message("replicas must be at least 1 (suspend the pipeline to stop it)"))]
    pub replicas: Option<i32>,
    /// CPU and memory requests and limits (default requests 50m/64Mi, limit 128Mi).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// This role's pod settings, over `spec.workers.pod`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodSettings>,
}
