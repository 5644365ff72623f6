//! Build: a validated pipeline becomes the exact objects to apply. Pure, one file per kind
//! of child; every object carries the pipeline's labels and a controller owner reference.

mod config_map;
mod deployment;
mod pod;
pub mod pod_monitor;
mod runtime_config;
mod schedule;
pub mod secrets;
mod service;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use optionsflow_api::RuntimeConfig;

pub use runtime_config::runtime_config;

use crate::roles::Role;
use crate::validate::{ValidatedPipeline, fingerprint};

/// Everything a pipeline wants to exist, in the order it is applied: configuration,
/// Services and the Ingress first, then PodDisruptionBudgets, then workloads, so pods start
/// once.
#[derive(Clone, Debug, PartialEq)]
pub struct Resources {
    pub runtime: RuntimeConfig,
    pub config_map: ConfigMap,
    pub services: Vec<Service>,
    pub ingresses: Vec<Ingress>,
    pub pdbs: Vec<PodDisruptionBudget>,
    pub deployments: Vec<Deployment>,
    pub cron_jobs: Vec<CronJob>,
    pub jobs: Vec<Job>,
    /// Applied apart, only where the cluster serves PodMonitors.
    pub pod_monitors: Vec<pod_monitor::PodMonitor>,
}

pub fn build(p: &ValidatedPipeline) -> Resources {
    let runtime = runtime_config(p);
    let runtime_json = serde_json::to_string_pretty(&runtime).expect("runtime configs serialize");
    let config_hash = fingerprint(&runtime_json);
    let serves = p.roles.iter().any(|r| r.role == Role::Api);
    Resources {
        config_map: config_map::config_map(p, &runtime_json),
        services: serves
            .then(|| service::api_service(p))
            .into_iter()
            .chain([service::metrics_service(p)])
            .collect(),
        ingresses: serves
            .then(|| service::api_ingress(p))
            .flatten()
            .into_iter()
            .collect(),
        pdbs: p
            .roles
            .iter()
            .map(|r| deployment::pod_disruption_budget(p, r))
            .collect(),
        deployments: p
            .roles
            .iter()
            .map(|r| deployment::deployment(p, r, &config_hash))
            .collect(),
        cron_jobs: p
            .datasets
            .iter()
            .filter_map(|(d, plan)| schedule::cron_job(p, *d, plan))
            .collect(),
        jobs: p
            .backfill
            .iter()
            .map(|b| schedule::backfill_job(p, b))
            .chain(
                p.datasets.iter().filter_map(|(d, plan)| {
                    Some(schedule::run_job(p, *d, plan.run_nonce.as_ref()?))
                }),
            )
            .collect(),
        pod_monitors: pod_monitor::pod_monitor(p).into_iter().collect(),
        runtime,
    }
}

impl Resources {
    /// Every object as one multi-document YAML stream, in apply order.
    pub fn to_yaml(&self) -> String {
        let mut docs: Vec<String> = vec![yaml(&self.config_map)];
        docs.extend(self.services.iter().map(yaml));
        docs.extend(self.ingresses.iter().map(yaml));
        docs.extend(self.pdbs.iter().map(yaml));
        docs.extend(self.deployments.iter().map(yaml));
        docs.extend(self.cron_jobs.iter().map(yaml));
        docs.extend(self.jobs.iter().map(yaml));
        docs.extend(self.pod_monitors.iter().map(yaml));
        docs.into_iter().map(|d| format!("---\n{d}")).collect()
    }
}

fn yaml<T: serde::Serialize>(object: &T) -> String {
    serde_norway::to_string(object).expect("objects serialize")
}

/// Metadata of a child: name, namespace, the pipeline's labels, and the pipeline as its
/// controlling owner.
fn meta(p: &ValidatedPipeline, name: String, component: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(p.namespace.clone()),
        labels: Some(p.names.labels(component)),
        owner_references: Some(vec![p.owner.clone()]),
        ..ObjectMeta::default()
    }
}
