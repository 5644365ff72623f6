//! What every pod the operator makes has in common: the image, the runtime config mounted
//! read-only, a restricted security context (non-root, read-only root filesystem, no
//! capabilities, RuntimeDefault seccomp) and no service-account token, since workers never
//! talk to the Kubernetes API; and the pipeline's pod settings (service account, pull
//! secrets, placement, priority, labels, annotations, extra environment).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar,
    PodSecurityContext, PodSpec, PodTemplateSpec, SeccompProfile, SecurityContext,
    TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use optionsflow_api::crd::pipeline::PodSettings;
use optionsflow_api::role::{WORKER_PROGRAM, env};

use crate::names::{CONFIG_DIR, CONFIG_FILE};
use crate::validate::ValidatedPipeline;

/// The unprivileged user of the distroless image.
const USER: i64 = 65532;

/// The pod template of `container`: the operator's `labels` and `annotations` over the
/// settings' own, and the settings applied to the pod. `spread` selects the pods of one
/// Deployment, to spread them by default; Jobs' single pods have none.
pub fn template(
    p: &ValidatedPipeline,
    mut container: Container,
    restart_policy: Option<&str>,
    settings: &PodSettings,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    spread: Option<&BTreeMap<String, String>>,
) -> PodTemplateSpec {
    let mut all_labels = settings.labels.clone().unwrap_or_default();
    all_labels.extend(labels);
    let mut all_annotations = settings.annotations.clone().unwrap_or_default();
    all_annotations.extend(annotations);
    container
        .env
        .get_or_insert_with(Vec::new)
        .extend(settings.env.iter().flatten().cloned());
    let spread_constraints = match (&settings.topology_spread_constraints, spread) {
        (Some(given), _) => Some(given.clone()).filter(|c| !c.is_empty()),
        (None, Some(selector)) => Some(default_spread(selector)),
        (None, None) => None,
    };
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(all_labels),
            annotations: Some(all_annotations).filter(|a| !a.is_empty()),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            service_account_name: settings.service_account_name.clone(),
            image_pull_secrets: settings.image_pull_secrets.clone(),
            node_selector: settings.node_selector.clone(),
            tolerations: settings.tolerations.clone(),
            affinity: settings.affinity.clone(),
            topology_spread_constraints: spread_constraints,
            priority_class_name: settings.priority_class_name.clone(),
            ..pod_spec(p, container, restart_policy)
        }),
    }
}

/// One replica per node and per zone as far as the cluster allows, never refusing to
/// schedule (a one-node cluster still runs both). Only the current ReplicaSet's pods count
/// (`pod-template-hash`), so a rollout does not skew against the pods it replaces.
fn default_spread(selector: &BTreeMap<String, String>) -> Vec<TopologySpreadConstraint> {
    ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
        .into_iter()
        .map(|key| TopologySpreadConstraint {
            max_skew: 1,
            topology_key: key.into(),
            when_unsatisfiable: "ScheduleAnyway".into(),
            label_selector: Some(LabelSelector {
                match_labels: Some(selector.clone()),
                ..LabelSelector::default()
            }),
            match_label_keys: Some(vec!["pod-template-hash".into()]),
            ..TopologySpreadConstraint::default()
        })
        .collect()
}

fn pod_spec(p: &ValidatedPipeline, container: Container, restart_policy: Option<&str>) -> PodSpec {
    PodSpec {
        containers: vec![container],
        restart_policy: restart_policy.map(str::to_owned),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        termination_grace_period_seconds: Some(30),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(USER),
            run_as_group: Some(USER),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..SeccompProfile::default()
            }),
            ..PodSecurityContext::default()
        }),
        volumes: Some(vec![
            Volume {
                name: "config".into(),
                config_map: Some(ConfigMapVolumeSource {
                    name: p.names.config_map(),
                    ..ConfigMapVolumeSource::default()
                }),
                ..Volume::default()
            },
            Volume {
                name: "tmp".into(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Volume::default()
            },
        ]),
        ..PodSpec::default()
    }
}

/// A container running `optionsflow-worker <args>` with the runtime config and `env`. The
/// command is explicit, so the pod does not depend on the image's entrypoint.
pub fn container(
    p: &ValidatedPipeline,
    name: &str,
    args: Vec<String>,
    extra_env: Vec<EnvVar>,
) -> Container {
    let mut all_env = vec![EnvVar {
        name: env::CONFIG.into(),
        value: Some(format!("{CONFIG_DIR}/{CONFIG_FILE}")),
        ..EnvVar::default()
    }];
    all_env.extend(extra_env);
    Container {
        name: name.into(),
        image: Some(p.image.clone()),
        image_pull_policy: Some(p.image_pull_policy.clone()),
        command: Some(vec![WORKER_PROGRAM.into()]),
        args: Some(args),
        env: Some(all_env),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "config".into(),
                mount_path: CONFIG_DIR.into(),
                read_only: Some(true),
                ..VolumeMount::default()
            },
            VolumeMount {
                name: "tmp".into(),
                mount_path: "/tmp".into(),
                ..VolumeMount::default()
            },
        ]),
        ..Container::default()
    }
}
