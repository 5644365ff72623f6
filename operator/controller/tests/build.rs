//! The builders, from YAML fixtures to golden files: every object a pipeline becomes, as
//! `optionsflow-operator render` prints it, checked against the committed golden output and
//! by a real Kubernetes schema validator.
//! `UPDATE_GOLDEN=1 cargo test -p optionsflow-operator --test build` rewrites the golden files.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::{load, root, settings, validate_manifests};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::PodSpec;
use optionsflow_api::RuntimeConfig;
use optionsflow_operator::build::{Resources, build};
use optionsflow_operator::names::{CONFIG_FILE, CONFIG_HASH};
use optionsflow_operator::validate::validate;

fn samples(file: &str) -> PathBuf {
    root().join("config/samples").join(file)
}

fn fixture(file: &str) -> PathBuf {
    root().join("operator/controller/tests/fixtures").join(file)
}

fn golden(case: &str) -> PathBuf {
    root()
        .join("operator/controller/tests/golden")
        .join(format!("{case}.yaml"))
}

/// The sample pipeline, optionally changed.
fn sample(change: impl FnOnce(&mut optionsflow_api::crd::OptionsPipeline)) -> Resources {
    let (mut pipeline, sets) = load(&[samples("symbolsets.yaml"), samples("pipeline.yaml")]);
    change(&mut pipeline);
    build(&validate(&pipeline, &sets, &settings()).unwrap())
}

/// A Deployment's pod spec.
fn pod(d: &Deployment) -> &PodSpec {
    d.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

fn minimal() -> Resources {
    let (pipeline, sets) = load(&[fixture("minimal.yaml")]);
    build(&validate(&pipeline, &sets, &settings()).unwrap())
}

/// What `optionsflow-operator render -f FILES` prints.
fn render(files: &[PathBuf]) -> String {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_optionsflow-operator"));
    command.args(["render", "--worker-image", &settings().worker_image]);
    for f in files {
        command.arg("-f").arg(f);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn check_golden(case: &str, built: &str) {
    let path = golden(case);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, built).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        built == expected,
        "{} differs from what the builders make now; if the change is intended, run \
         UPDATE_GOLDEN=1 cargo test -p optionsflow-operator --test build and review the diff",
        path.display()
    );
}

#[test]
fn golden_minimal() {
    check_golden("minimal", &render(&[fixture("minimal.yaml")]));
}

#[test]
fn golden_sample() {
    let files = [samples("symbolsets.yaml"), samples("pipeline.yaml")];
    let printed = render(&files);
    assert_eq!(
        printed,
        sample(|_| {}).to_yaml(),
        "the CLI prints what build makes"
    );
    check_golden("sample", &printed);
}

#[test]
fn golden_suspended() {
    check_golden(
        "suspended",
        &sample(|p| p.spec.suspend = Some(true)).to_yaml(),
    );
}

#[test]
fn render_says_why_a_role_is_missing_and_fails_on_an_invalid_pipeline() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_optionsflow-operator"))
        .args(["render", "-f"])
        .arg(fixture("minimal.yaml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("small: api is not deployed: api needs a database: set spec.sinks.postgres"),
        "{stderr}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_optionsflow-operator"))
        .args(["render", "-f"])
        .arg(samples("invalid-pipeline.yaml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing half-rendered");
}

#[test]
fn every_built_object_passes_the_kubernetes_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (case, resources) in [
        ("minimal", minimal()),
        ("sample", sample(|_| {})),
        ("suspended", sample(|p| p.spec.suspend = Some(true))),
    ] {
        let path = dir.path().join(format!("{case}.yaml"));
        std::fs::write(&path, resources.to_yaml()).unwrap();
        files.push(path);
    }
    let (ok, out) = validate_manifests(&files);
    assert!(ok, "{out}");
    let checked = out.lines().filter(|l| l.starts_with("ok ")).count();
    // minimal: ConfigMap, the metrics Service, 2 PDBs, 2 Deployments (no sinks, no api) and
    // 3 CronJobs; the samples: ConfigMap, 2 Services, the api's Ingress, 6 PDBs, 6
    // Deployments (the predictor's included), 3 CronJobs and the backfill Job.
    assert_eq!(checked, 9 + 20 + 20, "{out}");
}

#[test]
fn the_runtime_config_is_what_the_workers_expect() {
    let r = sample(|_| {});
    let text = &r.config_map.data.as_ref().unwrap()[CONFIG_FILE];
    let config = RuntimeConfig::from_json(text).expect("the workers can read it");
    assert_eq!(config, r.runtime);
    assert_eq!(
        config.kafka.topic_prefix.as_deref(),
        Some("markets.us-options.")
    );
    assert_eq!(config.kafka.properties["security.protocol"], "SASL_SSL");
    assert_eq!(config.kafka.properties["sasl.username"], "optionsflow");
    assert_eq!(
        config.kafka.properties_from_env,
        BTreeMap::from([
            ("sasl.password".to_owned(), "KAFKA_SASL_PASSWORD".to_owned()),
            ("ssl.ca.pem".to_owned(), "KAFKA_SSL_CA_PEM".to_owned()),
        ])
    );
    assert_eq!(config.datasets.daily.symbols.len(), 13);
    assert_eq!(
        config.datasets.intraday.symbols.len(),
        10,
        "its own SymbolSets"
    );
    assert_eq!(config.datasets.options.horizon_days, 60);
    assert_eq!(
        config.datasets.historical.start_date.unwrap().to_string(),
        "2020-01-02"
    );
    assert_eq!(
        config.sinks.postgres.as_ref().unwrap().url_env,
        "DATABASE_URL"
    );
    assert!(config.sinks.s3.as_ref().unwrap().path_style);
    assert_eq!(config.sinks.files.max_age_seconds, 300, "the default");

    let quick = sample(|p| {
        let s3 = p.spec.sinks.as_mut().unwrap().s3.as_mut().unwrap();
        s3.max_file_age_seconds = Some(2);
        s3.max_file_bytes = Some(1 << 20);
    });
    assert_eq!(quick.runtime.sinks.files.max_age_seconds, 2);
    assert_eq!(quick.runtime.sinks.files.max_bytes, 1 << 20);
}

#[test]
fn children_are_owned_labelled_and_locked_down() {
    let r = sample(|_| {});
    for d in &r.deployments {
        let owner = &d.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.controller),
            ("OptionsPipeline", Some(true))
        );
        assert_eq!(
            d.metadata.labels.as_ref().unwrap()["app.kubernetes.io/managed-by"],
            "optionsflow-operator"
        );
        let pod = pod(d);
        assert_eq!(pod.automount_service_account_token, Some(false));
        let psc = pod.security_context.as_ref().unwrap();
        assert_eq!(psc.run_as_non_root, Some(true));
        assert_eq!(
            psc.seccomp_profile.as_ref().unwrap().type_,
            "RuntimeDefault"
        );
        let c = &pod.containers[0];
        let sc = c.security_context.as_ref().unwrap();
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(
            sc.capabilities.as_ref().unwrap().drop.as_ref().unwrap(),
            &["ALL"]
        );
        assert!(c.liveness_probe.is_some() && c.readiness_probe.is_some());
        assert!(c.resources.is_some());
    }
    let collector = r
        .deployments
        .iter()
        .find(|d| d.metadata.name.as_deref() == Some("us-options-collector"))
        .unwrap();
    let env = pod(collector).containers[0].env.clone().unwrap();
    let keys = env
        .iter()
        .find(|e| e.name == "TWELVEDATA_API_KEYS")
        .unwrap();
    let secret = keys
        .value_from
        .as_ref()
        .unwrap()
        .secret_key_ref
        .as_ref()
        .unwrap();
    assert_eq!(
        (secret.name.as_str(), secret.key.as_str()),
        ("twelvedata", "api-keys")
    );
    assert!(
        env.iter()
            .all(|e| e.value.as_deref().is_none_or(|v| !v.contains("password"))),
        "secrets are referenced, never inlined"
    );
}

#[test]
fn schedules_and_suspension() {
    let r = sample(|_| {});
    let names: Vec<&str> = r
        .cron_jobs
        .iter()
        .map(|c| c.metadata.name.as_deref().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "us-options-daily",
            "us-options-intraday",
            "us-options-options"
        ]
    );
    let daily = r.cron_jobs[0].spec.as_ref().unwrap();
    assert_eq!(daily.schedule, "30 16 * * 1-5");
    assert_eq!(daily.time_zone.as_deref(), Some("America/New_York"));
    assert_eq!(daily.concurrency_policy.as_deref(), Some("Forbid"));
    assert_eq!(daily.suspend, Some(false));
    assert_eq!(r.jobs.len(), 1, "the backfill");
    let s = sample(|p| p.spec.suspend = Some(true));
    assert!(
        s.deployments
            .iter()
            .all(|d| d.spec.as_ref().unwrap().replicas == Some(0))
    );
    assert!(
        s.cron_jobs
            .iter()
            .all(|c| c.spec.as_ref().unwrap().suspend == Some(true))
    );
    assert!(
        s.jobs
            .iter()
            .all(|j| j.spec.as_ref().unwrap().suspend == Some(true))
    );
}

#[test]
fn a_symbol_set_change_rolls_the_workers() {
    let hash = |r: &Resources| -> Vec<String> {
        r.deployments
            .iter()
            .map(|d| {
                d.spec
                    .as_ref()
                    .unwrap()
                    .template
                    .metadata
                    .as_ref()
                    .unwrap()
                    .annotations
                    .as_ref()
                    .unwrap()[CONFIG_HASH]
                    .clone()
            })
            .collect()
    };
    let before = sample(|_| {});
    let (pipeline, mut sets) = load(&[samples("symbolsets.yaml"), samples("pipeline.yaml")]);
    sets.get_mut("indices")
        .unwrap()
        .spec
        .symbols
        .push("VIX".into());
    let after = build(&validate(&pipeline, &sets, &settings()).unwrap());
    assert_ne!(hash(&before), hash(&after));
    assert!(
        after
            .runtime
            .datasets
            .options
            .symbols
            .iter()
            .any(|s| s.as_str() == "VIX")
    );
    assert_eq!(
        hash(&before),
        hash(&sample(|_| {})),
        "and nothing else does"
    );
}

#[test]
fn pod_settings_reach_every_pod_and_replicas_spread() {
    let r = sample(|_| {});
    for d in &r.deployments {
        let name = d.metadata.name.as_deref().unwrap();
        let template = &d.spec.as_ref().unwrap().template;
        let pod = template.spec.as_ref().unwrap();
        let labels = template.metadata.as_ref().unwrap().labels.as_ref().unwrap();
        assert_eq!(labels["team"], "quant-data", "{name}");
        assert_eq!(labels["app.kubernetes.io/name"], "optionsflow", "{name}");
        assert_eq!(
            pod.node_selector.as_ref().unwrap()["kubernetes.io/os"],
            "linux"
        );
        assert_eq!(
            pod.tolerations.as_ref().unwrap()[0].value.as_deref(),
            Some("market-data")
        );
        let env = pod.containers[0].env.as_ref().unwrap();
        assert!(env.iter().any(|e| e.name == "RUST_LOG"), "{name}");
        // Only the file-writer runs as the ServiceAccount bound to the bucket's role.
        assert_eq!(
            pod.service_account_name.as_deref(),
            name.ends_with("file-writer").then_some("optionsflow-s3"),
            "{name}"
        );
        assert_eq!(pod.automount_service_account_token, Some(false));
        // Replicas spread over nodes and zones, counting only this Deployment's pods.
        let spread = pod.topology_spread_constraints.as_ref().unwrap();
        let keys: Vec<&str> = spread.iter().map(|c| c.topology_key.as_str()).collect();
        assert_eq!(
            keys,
            ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
        );
        let selector = spread[0]
            .label_selector
            .as_ref()
            .unwrap()
            .match_labels
            .as_ref();
        assert_eq!(
            selector,
            d.spec.as_ref().unwrap().selector.match_labels.as_ref()
        );
    }
    // The schedules' pods: the pipeline-wide settings, nothing to spread.
    for c in &r.cron_jobs {
        let job = c.spec.as_ref().unwrap().job_template.spec.as_ref().unwrap();
        let pod = job.template.spec.as_ref().unwrap();
        assert_eq!(
            pod.node_selector.as_ref().unwrap()["kubernetes.io/os"],
            "linux"
        );
        assert!(pod.service_account_name.is_none());
        assert!(pod.topology_spread_constraints.is_none());
    }

    // An empty list turns spreading off; a reserved variable is refused.
    let unspread = sample(|p| {
        let workers = p.spec.workers.as_mut().unwrap();
        workers.pod.as_mut().unwrap().topology_spread_constraints = Some(Vec::new());
    });
    assert!(
        unspread
            .deployments
            .iter()
            .all(|d| pod(d).topology_spread_constraints.is_none())
    );
    let (mut pipeline, sets) = load(&[samples("symbolsets.yaml"), samples("pipeline.yaml")]);
    let collector = pipeline
        .spec
        .workers
        .as_mut()
        .unwrap()
        .collector
        .as_mut()
        .unwrap();
    collector.pod = Some(
        serde_json::from_value(serde_json::json!(
        {"env": [{"name": "KAFKA_SASL_PASSWORD", "value": "mine"}]}))
        .unwrap(),
    );
    let error = validate(&pipeline, &sets, &settings()).unwrap_err();
    assert_eq!(error.reason(), "ReservedEnvironmentVariable");
    assert!(
        error.to_string().contains("spec.workers.collector.pod"),
        "{error}"
    );
}

#[test]
fn the_api_is_reachable_through_its_ingress() {
    let r = sample(|_| {});
    let [ingress] = r.ingresses.as_slice() else {
        panic!("one Ingress: {:?}", r.ingresses)
    };
    let spec = ingress.spec.as_ref().unwrap();
    assert_eq!(
        spec.ingress_class_name.as_deref(),
        Some("nginx"),
        "the default class"
    );
    let tls = &spec.tls.as_ref().unwrap()[0];
    assert_eq!(tls.secret_name.as_deref(), Some("market-data-tls"));
    assert_eq!(
        tls.hosts.as_deref(),
        Some(&["market-data.example.com".to_owned()][..])
    );
    let rule = &spec.rules.as_ref().unwrap()[0];
    assert_eq!(rule.host.as_deref(), Some("market-data.example.com"));
    let backend = rule.http.as_ref().unwrap().paths[0]
        .backend
        .service
        .as_ref()
        .unwrap();
    let api = r
        .services
        .iter()
        .find(|s| s.metadata.name == Some(backend.name.clone()));
    let port = backend.port.as_ref().unwrap().name.as_deref();
    assert!(
        api.unwrap()
            .spec
            .as_ref()
            .unwrap()
            .ports
            .as_ref()
            .unwrap()
            .iter()
            .any(|p| p.name.as_deref() == port),
        "the Ingress points at the api Service's {port:?} port"
    );
    assert_eq!(
        ingress.metadata.annotations.as_ref().unwrap()["cert-manager.io/cluster-issuer"],
        "letsencrypt"
    );

    // No api role (no tokens), no Ingress, whatever the spec says.
    let without = sample(|p| p.spec.api.as_mut().unwrap().tokens_secret = None);
    assert!(without.ingresses.is_empty());
}
