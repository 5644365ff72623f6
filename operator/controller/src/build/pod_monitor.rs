//! The PodMonitor over a pipeline's worker pods, for the Prometheus Operator.
//!
//! The Prometheus Operator's types are not in k8s-openapi, and its CRD may be missing from a
//! cluster, so the object is a small typed struct of the fields the operator sets (the
//! apiserver keeps the rest as they are under server-side apply).

use std::collections::BTreeMap;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::{Deserialize, Serialize};

use super::meta;
use crate::names::LABEL_PIPELINE;
use crate::validate::ValidatedPipeline;

/// `monitoring.coreos.com/v1` `PodMonitor`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMonitor {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PodMonitorSpec,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMonitorSpec {
    pub selector: LabelSelector,
    #[serde(default)]
    pub pod_metrics_endpoints: Vec<PodMetricsEndpoint>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMetricsEndpoint {
    pub port: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relabelings: Vec<Relabeling>,
}

/// A Prometheus relabeling: copies a pod label into a target label.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relabeling {
    pub source_labels: Vec<String>,
    pub target_label: String,
    pub action: String,
}

impl k8s_openapi::Resource for PodMonitor {
    const API_VERSION: &'static str = "monitoring.coreos.com/v1";
    const GROUP: &'static str = "monitoring.coreos.com";
    const KIND: &'static str = "PodMonitor";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = "podmonitors";
    type Scope = NamespaceResourceScope;
}

impl k8s_openapi::Metadata for PodMonitor {
    type Ty = ObjectMeta;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// The series labels every worker's metrics get, from its pod's labels: which pipeline and
/// which role (the alerts and dashboards group by them).
const TARGET_LABELS: [(&str, &str); 2] = [
    (LABEL_PIPELINE, "pipeline"),
    ("app.kubernetes.io/component", "role"),
];

/// `<pipeline>-workers`: every worker pod's `admin` port, with the spec's labels.
pub fn pod_monitor(p: &ValidatedPipeline) -> Option<PodMonitor> {
    let spec = p.pod_monitor.as_ref()?;
    let mut metadata = meta(p, p.names.pod_monitor(), "monitoring");
    if let Some(extra) = &spec.labels {
        let labels = metadata.labels.get_or_insert_with(BTreeMap::new);
        for (k, v) in extra {
            labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let relabelings = TARGET_LABELS
        .iter()
        .map(|(label, target)| Relabeling {
            source_labels: vec![format!("__meta_kubernetes_pod_label_{}", sanitize(label))],
            target_label: (*target).into(),
            action: "replace".into(),
        })
        .collect();
    Some(PodMonitor {
        api_version: <PodMonitor as k8s_openapi::Resource>::API_VERSION.into(),
        kind: <PodMonitor as k8s_openapi::Resource>::KIND.into(),
        metadata,
        spec: PodMonitorSpec {
            selector: LabelSelector {
                match_labels: Some(p.names.all_workers()),
                ..LabelSelector::default()
            },
            pod_metrics_endpoints: vec![PodMetricsEndpoint {
                port: "admin".into(),
                path: "/metrics".into(),
                interval: spec.interval.clone(),
                relabelings,
            }],
        },
    })
}

/// A Kubernetes label name as Prometheus' service discovery spells it.
fn sanitize(label: &str) -> String {
    label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
