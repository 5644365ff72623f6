//! The contract between the operator and the worker binary: every container the operator
//! renders (Deployments, CronJobs, the backfill Job) is run with the real `optionsflow-worker`,
//! exactly as a kubelet would start it (its command, its args, its environment with Secret
//! and ConfigMap values resolved, its ConfigMap volumes as files), in check mode
//! (`OPTIONSFLOW_CHECK=true`): the arguments must parse and the role's start-up checks pass.

use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{EnvVar, PodSpec};
use optionsflow_api::role::WORKER_PROGRAM;
use optionsflow_operator::build::Resources;
use optionsflow_operator::render::{Manifests, Rendered};
use optionsflow_operator::validate::Settings;
use optionsflow_testkit::kubelet::Namespace;

const WORKER: &str = env!("CARGO_BIN_EXE_optionsflow-worker");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn render(files: &[&str]) -> (Manifests, Rendered) {
    let files: Vec<PathBuf> = files.iter().map(|f| root().join(f)).collect();
    let manifests = Manifests::read(&files).unwrap();
    let settings = Settings {
        worker_image: "optionsflow-worker:test".into(),
        ..Settings::default()
    };
    let rendered = manifests.render(&settings).unwrap().remove(0);
    (manifests, rendered)
}

/// The namespace as the pods see it: the manifests' Secrets, the rendered ConfigMap.
fn namespace(manifests: &Manifests, rendered: &Rendered) -> Namespace {
    let name = rendered.pipeline.namespace.clone();
    let mut ns = Namespace {
        name: name.clone(),
        ..Namespace::default()
    };
    for ((secret_ns, secret_name), secret) in &manifests.secrets {
        if *secret_ns == name {
            ns.secrets.insert(secret_name.clone(), secret.clone());
        }
    }
    let map = &rendered.resources.config_map;
    ns.config_maps
        .insert(map.metadata.name.clone().unwrap(), map.clone());
    ns
}

/// Every pod template the operator renders: (what, pod spec).
fn pods(r: &Resources) -> Vec<(String, PodSpec)> {
    let mut out = Vec::new();
    for d in &r.deployments {
        let spec = d.spec.as_ref().unwrap().template.spec.clone().unwrap();
        out.push((
            format!("Deployment {}", d.metadata.name.as_ref().unwrap()),
            spec,
        ));
    }
    for c in &r.cron_jobs {
        let job = c.spec.as_ref().unwrap().job_template.spec.as_ref().unwrap();
        out.push((
            format!("CronJob {}", c.metadata.name.as_ref().unwrap()),
            job.template.spec.clone().unwrap(),
        ));
    }
    for j in &r.jobs {
        let spec = j.spec.as_ref().unwrap().template.spec.clone().unwrap();
        out.push((format!("Job {}", j.metadata.name.as_ref().unwrap()), spec));
    }
    out
}

/// Runs one container in check mode; `Err` carries what the worker said.
fn check(ns: &Namespace, what: &str, pod: &PodSpec) -> Result<String, String> {
    let container = &pod.containers[0];
    let dir = tempfile::tempdir().unwrap();
    let prepared = ns.prepare(pod, container, "pod-0", dir.path())?;
    if prepared.program != WORKER_PROGRAM {
        return Err(format!(
            "{what} runs {:?}, not {WORKER_PROGRAM}",
            prepared.program
        ));
    }
    let out = prepared
        .command(Path::new(WORKER))
        .env(optionsflow_api::role::env::CHECK, "true")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
    if out.status.success() && said.contains("start-up checks passed") {
        Ok(said)
    } else {
        Err(format!("{what} ({:?}): {said}", prepared.args))
    }
}

fn every_container_starts(files: &[&str], expected_pods: usize) {
    let (manifests, rendered) = render(files);
    let ns = namespace(&manifests, &rendered);
    let pods = pods(&rendered.resources);
    assert_eq!(
        pods.len(),
        expected_pods,
        "{:?}",
        pods.iter().map(|p| &p.0).collect::<Vec<_>>()
    );
    let failures: Vec<String> = pods
        .iter()
        .filter_map(|(what, pod)| check(&ns, what, pod).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_sample_pipelines_containers_all_start() {
    // 6 roles (the predictor included), 3 CronJobs, the backfill Job.
    every_container_starts(
        &[
            "config/samples/symbolsets.yaml",
            "config/samples/pipeline.yaml",
            "config/samples/secrets.yaml",
        ],
        10,
    );
}

#[test]
fn the_minimal_pipelines_containers_all_start() {
    // No sinks and no tokens: the collector and the processor, and 3 CronJobs.
    every_container_starts(&["operator/controller/tests/fixtures/minimal.yaml"], 5);
}

/// The contract catches what the operator once rendered: a role without what it needs, an
/// API without tokens, a writer without a store, a missing Secret.
#[test]
fn the_check_fails_on_what_cannot_start() {
    let (manifests, rendered) = render(&[
        "config/samples/symbolsets.yaml",
        "config/samples/pipeline.yaml",
        "config/samples/secrets.yaml",
    ]);
    let ns = namespace(&manifests, &rendered);
    let pod_of = |role: &str| {
        pods(&rendered.resources)
            .into_iter()
            .find(|(what, _)| what.ends_with(&format!("-{role}")))
            .unwrap()
            .1
    };

    // The collector's pod has no database URL to give `predict`.
    let mut predictor = pod_of("collector");
    predictor.containers[0].args = Some(vec!["predict".into()]);
    let err = check(&ns, "predictor", &predictor).unwrap_err();
    assert!(
        err.contains("predictor needs environment variable"),
        "{err}"
    );

    let mut api = pod_of("api");
    let env: &mut Vec<EnvVar> = api.containers[0].env.as_mut().unwrap();
    env.retain(|e| e.name != optionsflow_api::role::env::API_TOKENS);
    let err = check(&ns, "api", &api).unwrap_err();
    assert!(err.contains("no API tokens"), "{err}");

    // A writer given the minimal pipeline's config, which has no sinks.
    let (minimal, minimal_rendered) = render(&["operator/controller/tests/fixtures/minimal.yaml"]);
    let mut bare = namespace(&minimal, &minimal_rendered);
    bare.name = ns.name.clone();
    bare.secrets = ns.secrets.clone();
    let mut writer = pod_of("db-writer");
    writer.volumes.as_mut().unwrap()[0]
        .config_map
        .as_mut()
        .unwrap()
        .name = minimal_rendered
        .resources
        .config_map
        .metadata
        .name
        .clone()
        .unwrap();
    let err = check(&bare, "db-writer", &writer).unwrap_err();
    assert!(err.contains("db-writer needs a database"), "{err}");

    let mut no_secrets = ns.clone();
    no_secrets.secrets.remove("optionsflow-db");
    let err = check(&no_secrets, "db-writer", &pod_of("db-writer")).unwrap_err();
    assert!(err.contains("CreateContainerConfigError"), "{err}");
}
