//! `OptionsPipeline`: what to collect (SymbolSets, datasets and their schedules), from where
//! (data sources and their budgets), through which Kafka, into which sinks, with how many
//! workers. The operator turns it into topics, worker Deployments, CronJobs and the runtime
//! config the workers read.

pub mod api;
pub mod datasets;
pub mod kafka;
pub mod monitoring;
pub mod pod;
pub mod predictions;
pub mod processing;
pub mod sinks;
pub mod sources;
pub mod status;
pub mod workers;

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

pub use api::{ApiSpec, IngressSpec};
pub use datasets::{
    CollectSpec, DatasetSpec, DatasetsSpec, HistoricalSpec, OptionsDatasetSpec, OptionsSourceName,
};
pub use kafka::{
    KafkaSasl, KafkaSecurity, KafkaSpec, KafkaTls, SaslMechanism, SecretProperty, SecurityProtocol,
    TopicConfigSpec, TopicsOnDelete,
};
pub use monitoring::{MonitoringSpec, PodMonitorSpec};
pub use pod::PodSettings;
pub use predictions::PredictionsSpec;
pub use processing::ProcessingSpec;
pub use sinks::{InfluxApiVersion, InfluxSpec, PostgresSpec, S3Spec, SinksSpec};
pub use sources::{BudgetSpec, CboeSpec, SecretKeyRef, SourcesSpec, TwelveDataSpec, YahooSpec};
pub use status::{
    BackfillStatus, OmittedRoleStatus, OptionsPipelineStatus, RoleStatus, ScheduleStatus,
    TopicStatus,
};
pub use workers::{RoleSpec, WorkersSpec};

/// Collects U.S. stock and option market data on a schedule: the operator turns it into Kafka
/// topics, worker Deployments, CronJobs and the runtime config the workers read.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "optionsflow.io",
    version = "v1alpha1",
    kind = "OptionsPipeline",
    namespaced,
    shortname = "opl",
    category = "optionsflow",
    status = "OptionsPipelineStatus",
    doc = "Collects U.S. stock and option market data on a schedule: the operator turns it into Kafka topics, worker Deployments, CronJobs and the runtime config the workers read.",
    validation = Rule::new("size(self.metadata.name) <= 40").message("pipeline names are at most 40 characters: children are named <pipeline>-<role>"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Symbols", type_ = "integer", json_path = ".status.symbols", description = "Distinct symbols across the pipeline's SymbolSets"),
    printcolumn(name = "Workers", type_ = "string", json_path = ".status.workers", description = "Ready/desired worker pods"),
    printcolumn(name = "Last Options Fetch", type_ = "date", json_path = ".status.lastOptionsFetch", description = "When the options schedule last succeeded"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct OptionsPipelineSpec {
    /// SymbolSets in this namespace whose symbols the pipeline collects (each dataset may
    /// name its own instead).
    #[schemars(schema_with = "crate::crd::schema::names")]
    pub symbol_sets: Vec<String>,
    /// What to collect and when. Datasets left out run with their defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datasets: Option<DatasetsSpec>,
    /// Where data comes from, and how much of each provider the pipeline may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<SourcesSpec>,
    /// The Kafka cluster the pipeline's topics live on.
    pub kafka: KafkaSpec,
    /// Where processed data is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sinks: Option<SinksSpec>,
    /// The rates behind implied volatility and Greeks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing: Option<ProcessingSpec>,
    /// The data API: the tokens its callers present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiSpec>,
    /// The worker Deployments: image, replicas and resources per role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<WorkersSpec>,
    /// How Prometheus finds the workers' metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<MonitoringSpec>,
    /// Volatility forecasts, written to the database by the predictor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictions: Option<PredictionsSpec>,
    /// Stops the schedules and scales every worker to zero, keeping topics and data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Change it (to any new value) to restart every worker, one pod at a time, e.g. after
    /// rotating a Secret the pods read at start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub restart_nonce: Option<String>,
}

/// The annotation that stops the operator from changing a pipeline's children, as Strimzi's
/// `strimzi.io/pause-reconciliation` does.
pub const PAUSE_ANNOTATION: &str = "optionsflow.io/pause-reconciliation";

impl OptionsPipeline {
    pub fn suspended(&self) -> bool {
        self.spec.suspend.unwrap_or(false)
    }

    /// Whether the pause annotation says `"true"`.
    pub fn paused(&self) -> bool {
        self.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(PAUSE_ANNOTATION))
            .is_some_and(|v| v == "true")
    }

    /// Every SymbolSet the pipeline names, for itself or for one of its datasets.
    pub fn symbol_set_names(&self) -> std::collections::BTreeSet<&str> {
        let datasets = self.spec.datasets.as_ref();
        let per_dataset = [
            datasets
                .and_then(|d| d.daily.as_ref())
                .and_then(|d| d.collect.symbol_sets.as_ref()),
            datasets
                .and_then(|d| d.intraday.as_ref())
                .and_then(|d| d.collect.symbol_sets.as_ref()),
            datasets
                .and_then(|d| d.historical.as_ref())
                .and_then(|d| d.collect.symbol_sets.as_ref()),
            datasets
                .and_then(|d| d.options.as_ref())
                .and_then(|d| d.dataset.collect.symbol_sets.as_ref()),
        ];
        self.spec
            .symbol_sets
            .iter()
            .chain(per_dataset.into_iter().flatten().flatten())
            .map(String::as_str)
            .collect()
    }
}
