//! How Prometheus finds the pipeline's workers.

use std::collections::BTreeMap;

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Scraping the workers' `/metrics` (docs/observability.md).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringSpec {
    /// A PodMonitor (Prometheus Operator) for every worker pod's admin port. It is made only
    /// where the cluster has the `monitoring.coreos.com/v1` PodMonitor resource; elsewhere the
    /// operator says so in an Event and goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_monitor: Option<PodMonitorSpec>,
}

/// The PodMonitor the operator makes, `<pipeline>-workers`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodMonitorSpec {
    /// Make it (default true once `podMonitor` is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Labels your Prometheus selects PodMonitors by (its `podMonitorSelector`; with
    /// kube-prometheus-stack, `release: <its release name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// How often to scrape, e.g. `30s` (default: Prometheus' own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+(ms|s|m|h)$"))]
    pub interval: Option<String>,
}

impl MonitoringSpec {
    /// The PodMonitor asked for, if any.
    pub fn pod_monitor(&self) -> Option<&PodMonitorSpec> {
        self.pod_monitor
            .as_ref()
            .filter(|p| p.enabled.unwrap_or(true))
    }
}
