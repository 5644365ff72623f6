//! A worker role's Deployment and its PodDisruptionBudget.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{ContainerPort, EnvVar, HTTPGetAction, Probe};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use optionsflow_api::role::env;

use super::meta;
use super::pod::{container, template};
use super::secrets::{self, Consumer};
use crate::names::{ADMIN_PORT, CONFIG_HASH, HTTP_PORT, RESTART_NONCE};
use crate::validate::{RolePlan, ValidatedPipeline};

pub fn deployment(p: &ValidatedPipeline, plan: &RolePlan, config_hash: &str) -> Deployment {
    let role = plan.role;
    let mut env = vec![plain(env::ADMIN_ADDR, format!("0.0.0.0:{ADMIN_PORT}"))];
    let mut ports = vec![port("admin", ADMIN_PORT)];
    if role.serves_http() {
        env.push(plain(env::LISTEN, format!("0.0.0.0:{HTTP_PORT}")));
        ports.push(port("http", HTTP_PORT));
    }
    env.extend(secrets::env(p, Consumer::Worker(role)));
    let mut worker = container(p, "worker", vec![role.subcommand().to_owned()], env);
    worker.ports = Some(ports);
    worker.resources = Some(plan.resources.clone());
    worker.liveness_probe = Some(probe("/healthz", 10, 6));
    worker.readiness_probe = Some(probe("/readyz", 5, 3));
    let mut pod_labels = p.names.labels(role.as_str());
    pod_labels.extend(p.names.all_workers());
    Deployment {
        metadata: meta(p, p.names.deployment(role), role.as_str()),
        spec: Some(DeploymentSpec {
            replicas: Some(p.applied_replicas(plan)),
            revision_history_limit: Some(3),
            selector: LabelSelector {
                match_labels: Some(p.names.selector(role.as_str())),
                ..LabelSelector::default()
            },
            // Bring the new pod up before taking an old one down: consumers hand their
            // partitions over rather than leaving them unowned.
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(1)),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            template: template(
                p,
                worker,
                None,
                &plan.pod,
                pod_labels,
                BTreeMap::from_iter(
                    [
                        (CONFIG_HASH, Some(config_hash)),
                        (RESTART_NONCE, p.restart_nonce.as_deref()),
                    ]
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
                ),
                Some(&p.names.selector(role.as_str())),
            ),
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

/// At most one pod of a role is evicted at a time.
pub fn pod_disruption_budget(p: &ValidatedPipeline, plan: &RolePlan) -> PodDisruptionBudget {
    let role = plan.role;
    PodDisruptionBudget {
        metadata: meta(p, p.names.deployment(role), role.as_str()),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(p.names.selector(role.as_str())),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    }
}

fn plain(name: &str, value: String) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value),
        ..EnvVar::default()
    }
}

fn port(name: &str, number: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: number,
        protocol: Some("TCP".into()),
        ..ContainerPort::default()
    }
}

fn probe(path: &str, period_seconds: i32, failure_threshold: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("admin".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period_seconds),
        failure_threshold: Some(failure_threshold),
        timeout_seconds: Some(2),
        ..Probe::default()
    }
}
