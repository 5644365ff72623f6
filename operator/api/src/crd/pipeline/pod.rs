//! Where and as whom the pipeline's pods run: the settings a platform team gives any
//! workload's pods (service account, pull secrets, placement, priority, labels, extra
//! environment), pipeline-wide and per role.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, LocalObjectReference, Toleration, TopologySpreadConstraint,
};
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Pod settings. Under `spec.workers.pod` they apply to every pod of the pipeline (worker
/// Deployments, the schedules' CronJobs, Jobs); under `spec.workers.<role>.pod` they override
/// them for one role: a field set there replaces the pipeline-wide one, except `labels`,
/// `annotations` and `env`, which are merged (the role's entry wins).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodSettings {
    /// The ServiceAccount the pods run as, e.g. one bound to a cloud role (IRSA, Workload
    /// Identity) for S3. Its API token is still not mounted: workers never call the
    /// Kubernetes API (the cloud's identity webhook mounts its own token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub service_account_name: Option<String>,
    /// Secrets for pulling the worker image from a private registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<LocalObjectReference>>,
    /// Nodes the pods may run on, by label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Taints the pods tolerate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Node and pod affinity (the Kubernetes `affinity` of a pod spec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::crd::schema::pod_object")]
    pub affinity: Option<Affinity>,
    /// How a role's replicas spread over the cluster. Default: as evenly as possible over
    /// nodes and over zones (`kubernetes.io/hostname`, `topology.kubernetes.io/zone`,
    /// `ScheduleAnyway`), so that two replicas are not one node's fate. An empty list turns
    /// spreading off. Each item is a Kubernetes `topologySpreadConstraints` item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::crd::schema::pod_objects")]
    pub topology_spread_constraints: Option<Vec<TopologySpreadConstraint>>,
    /// The pods' PriorityClass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub priority_class_name: Option<String>,
    /// Extra pod labels. The operator's own labels (`app.kubernetes.io/*`) win.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Extra pod annotations (e.g. for a service mesh or a log shipper). The operator's own
    /// (`optionsflow.io/*`) win.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Extra environment variables (e.g. `AWS_REGION`, `HTTPS_PROXY`, `RUST_LOG`). Names the
    /// operator sets itself (`OPTIONSFLOW_*`, `KAFKA_*` and the credentials' variables) are
    /// refused. Each item is a Kubernetes `EnvVar` (`value` or `valueFrom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::crd::schema::pod_objects")]
    pub env: Option<Vec<EnvVar>>,
}

impl PodSettings {
    /// These settings with `role`'s on top.
    pub fn overlay(&self, role: Option<&PodSettings>) -> PodSettings {
        let Some(role) = role else {
            return self.clone();
        };
        fn either<T: Clone>(role: &Option<T>, all: &Option<T>) -> Option<T> {
            role.clone().or_else(|| all.clone())
        }
        fn merged(
            all: &Option<BTreeMap<String, String>>,
            role: &Option<BTreeMap<String, String>>,
        ) -> Option<BTreeMap<String, String>> {
            if all.is_none() && role.is_none() {
                return None;
            }
            let mut map = all.clone().unwrap_or_default();
            map.extend(role.clone().unwrap_or_default());
            Some(map)
        }
        let env = match (&self.env, &role.env) {
            (None, None) => None,
            (all, role) => {
                let role = role.clone().unwrap_or_default();
                let mut env: Vec<EnvVar> = all
                    .iter()
                    .flatten()
                    .filter(|e| !role.iter().any(|r| r.name == e.name))
                    .cloned()
                    .collect();
                env.extend(role);
                Some(env)
            }
        };
        PodSettings {
            service_account_name: either(&role.service_account_name, &self.service_account_name),
            image_pull_secrets: either(&role.image_pull_secrets, &self.image_pull_secrets),
            node_selector: either(&role.node_selector, &self.node_selector),
            tolerations: either(&role.tolerations, &self.tolerations),
            affinity: either(&role.affinity, &self.affinity),
            topology_spread_constraints: either(
                &role.topology_spread_constraints,
                &self.topology_spread_constraints,
            ),
            priority_class_name: either(&role.priority_class_name, &self.priority_class_name),
            labels: merged(&self.labels, &role.labels),
            annotations: merged(&self.annotations, &role.annotations),
            env,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, value: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: Some(value.into()),
            ..EnvVar::default()
        }
    }

    #[test]
    fn a_roles_fields_replace_and_its_maps_merge() {
        let all = PodSettings {
            service_account_name: Some("optionsflow".into()),
            node_selector: Some(BTreeMap::from([("pool".into(), "general".into())])),
            labels: Some(BTreeMap::from([
                ("team".into(), "quant".into()),
                ("tier".into(), "data".into()),
            ])),
            env: Some(vec![
                var("AWS_REGION", "us-east-1"),
                var("RUST_LOG", "info"),
            ]),
            ..PodSettings::default()
        };
        let role = PodSettings {
            service_account_name: Some("optionsflow-s3".into()),
            labels: Some(BTreeMap::from([("tier".into(), "storage".into())])),
            env: Some(vec![var("RUST_LOG", "debug")]),
            ..PodSettings::default()
        };
        let merged = all.overlay(Some(&role));
        assert_eq!(
            merged.service_account_name.as_deref(),
            Some("optionsflow-s3")
        );
        assert_eq!(merged.node_selector, all.node_selector);
        assert_eq!(
            merged.labels,
            Some(BTreeMap::from([
                ("team".into(), "quant".into()),
                ("tier".into(), "storage".into()),
            ]))
        );
        assert_eq!(
            merged.env,
            Some(vec![
                var("AWS_REGION", "us-east-1"),
                var("RUST_LOG", "debug")
            ])
        );
        assert_eq!(all.overlay(None), all);
        assert_eq!(
            PodSettings::default().overlay(Some(&PodSettings::default())),
            PodSettings::default()
        );
    }
}
