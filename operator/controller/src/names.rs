//! Names and labels of everything the operator creates for a pipeline, computed here and
//! only here.

use std::collections::BTreeMap;

use optionsflow_api::Dataset;

use crate::roles::Role;

/// The field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "optionsflow-operator";
/// Set on every child; prune only ever touches objects carrying it.
pub const MANAGED_BY: &str = "optionsflow-operator";
pub const LABEL_PIPELINE: &str = "optionsflow.io/pipeline";
/// Pod-template annotation: a hash of the runtime config, so pods restart when it changes.
pub const CONFIG_HASH: &str = "optionsflow.io/config-hash";
/// Pod-template annotation carrying `spec.restartNonce`: a new value rolls the workers.
pub const RESTART_NONCE: &str = "optionsflow.io/restart-nonce";
/// The finalizer held while topics must be deleted with the pipeline.
pub const TOPICS_FINALIZER: &str = "optionsflow.io/topics";
/// Where pods find the runtime config.
pub const CONFIG_DIR: &str = "/etc/optionsflow";
pub const CONFIG_FILE: &str = "runtime.json";
/// The admin port every worker serves `/metrics`, `/healthz` and `/readyz` on.
pub const ADMIN_PORT: i32 = 9090;
/// The api role's HTTP port.
pub const HTTP_PORT: i32 = 8080;

/// The names of one pipeline's children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    pipeline: String,
}

impl Names {
    pub fn new(pipeline: &str) -> Names {
        Names {
            pipeline: pipeline.to_owned(),
        }
    }

    pub fn pipeline(&self) -> &str {
        &self.pipeline
    }

    /// The ConfigMap holding the runtime config.
    pub fn config_map(&self) -> String {
        format!("{}-runtime", self.pipeline)
    }

    /// A role's Deployment (and its PodDisruptionBudget).
    pub fn deployment(&self, role: Role) -> String {
        format!("{}-{}", self.pipeline, role.as_str())
    }

    /// The Service in front of the api role.
    pub fn api_service(&self) -> String {
        format!("{}-api", self.pipeline)
    }

    /// The headless Service selecting every worker's admin port, for scraping.
    pub fn metrics_service(&self) -> String {
        format!("{}-metrics", self.pipeline)
    }

    /// The Prometheus Operator's PodMonitor over every worker.
    pub fn pod_monitor(&self) -> String {
        format!("{}-workers", self.pipeline)
    }

    /// A dataset's CronJob.
    pub fn cron_job(&self, dataset: Dataset) -> String {
        format!("{}-{}", self.pipeline, dataset.as_str())
    }

    /// The backfill Job for one set of dates: a new name, hence a new Job, when they move.
    pub fn backfill_job(&self, fingerprint: &str) -> String {
        format!("{}-backfill-{fingerprint}", self.pipeline)
    }

    /// The Job of one `runNonce` of a dataset.
    pub fn run_job(&self, dataset: Dataset, fingerprint: &str) -> String {
        format!("{}-{}-run-{fingerprint}", self.pipeline, dataset.as_str())
    }

    /// Labels every child carries.
    pub fn labels(&self, component: &str) -> BTreeMap<String, String> {
        let mut labels = self.selector(component);
        labels.insert("app.kubernetes.io/part-of".into(), "optionsflow".into());
        labels.insert("app.kubernetes.io/managed-by".into(), MANAGED_BY.into());
        labels.insert(LABEL_PIPELINE.into(), self.pipeline.clone());
        labels
    }

    /// Labels that select one component's pods.
    pub fn selector(&self, component: &str) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("app.kubernetes.io/name".into(), "optionsflow".into()),
            ("app.kubernetes.io/instance".into(), self.pipeline.clone()),
            ("app.kubernetes.io/component".into(), component.into()),
        ])
    }

    /// Labels that select every worker pod of the pipeline.
    pub fn all_workers(&self) -> BTreeMap<String, String> {
        let mut labels = self.selector("");
        labels.remove("app.kubernetes.io/component");
        labels.insert("optionsflow.io/worker".into(), "true".into());
        labels
    }

    /// The label selector of everything this operator made for the pipeline (for pruning).
    pub fn owned_selector(&self) -> String {
        format!(
            "app.kubernetes.io/managed-by={MANAGED_BY},{LABEL_PIPELINE}={}",
            self.pipeline
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels() {
        let n = Names::new("us-options");
        assert_eq!(n.config_map(), "us-options-runtime");
        assert_eq!(n.deployment(Role::DbWriter), "us-options-db-writer");
        assert_eq!(n.cron_job(Dataset::Intraday), "us-options-intraday");
        assert_eq!(n.backfill_job("0a1b2c3d"), "us-options-backfill-0a1b2c3d");
        let labels = n.labels("collector");
        assert_eq!(labels["app.kubernetes.io/component"], "collector");
        assert_eq!(labels[LABEL_PIPELINE], "us-options");
        assert!(
            n.selector("collector")
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v))
        );
        assert_eq!(
            n.owned_selector(),
            "app.kubernetes.io/managed-by=optionsflow-operator,optionsflow.io/pipeline=us-options"
        );
    }

    #[test]
    fn the_longest_pipeline_name_fits_every_child() {
        let n = Names::new(&"p".repeat(40));
        assert!(
            n.cron_job(Dataset::Historical).len() <= 52,
            "CronJob names are at most 52"
        );
        assert!(n.backfill_job("0123abcd").len() <= 63);
        assert!(n.deployment(Role::FileWriter).len() <= 63);
    }
}
