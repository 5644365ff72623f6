//! What every pod the operator makes has in common: the image, the runtime config mounted
//! read-only, a restricted security context (non-root, read-only root filesystem, no
//! capabilities, RuntimeDefault seccomp) and no service-account token, since workers never
//! talk to the Kubernetes API.

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar,
    PodSecurityContext, PodSpec, SeccompProfile, SecurityContext, Volume, VolumeMount,
};

use optionsflow_api::role::{WORKER_PROGRAM, env};

use crate::names::{CONFIG_DIR, CONFIG_FILE};
use crate::validate::ValidatedPipeline;

/// The unprivileged user of the distroless image.
const USER: i64 = 65532;

pub fn pod_spec(
    p: &ValidatedPipeline,
    container: Container,
    restart_policy: Option<&str>,
) -> PodSpec {
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
