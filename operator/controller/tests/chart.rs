//! The Helm chart: it lints, renders to objects Kubernetes 1.33 accepts, ships the CRDs the
//! operator generates, and grants the operator exactly what it does — no more.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{root, validate_manifests};
use serde_json::Value;

fn helm() -> String {
    let helm = std::env::var("HELM_BIN").unwrap_or_else(|_| {
        format!(
            "{}/.cache/optionsflow/venv/bin/helm",
            std::env::var("HOME").unwrap()
        )
    });
    assert!(
        std::path::Path::new(&helm).exists(),
        "{helm} is missing: run scripts/test-services.sh (it installs helm)"
    );
    helm
}

fn chart() -> PathBuf {
    root().join("charts/optionsflow")
}

/// What `helm template` wrote, kept on disk for the validator while this lives.
struct Rendered {
    objects: Vec<Value>,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

/// `helm template` with `--set` values.
fn render(sets: &[&str]) -> Rendered {
    let mut cmd = Command::new(helm());
    cmd.args(["template", "optionsflow"])
        .arg(chart())
        .args(["--namespace", "optionsflow-system"]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chart.yaml");
    std::fs::write(&file, &out.stdout).unwrap();
    Rendered {
        objects: common::yaml_docs(&file)
            .into_iter()
            .filter(|d| !d.is_null())
            .collect(),
        file,
        _dir: dir,
    }
}

fn find<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// Whether `rules` allow `verb` on `resource` in `group` (resourceNames aside).
fn allows(rules: &Value, group: &str, resource: &str, verb: &str) -> bool {
    rules.as_array().unwrap().iter().any(|r| {
        let has = |field: &str, v: &str| r[field].as_array().unwrap().iter().any(|x| x == v);
        has("apiGroups", group) && has("resources", resource) && has("verbs", verb)
    })
}

/// The verbs of a child the operator owns: it lists and watches its kind, applies each (SSA
/// creates and patches) and deletes what the pipeline no longer wants.
const OWNED: &[&str] = &["list", "watch", "create", "patch", "delete"];

/// What the operator does through the API, by group and resource (see src/reconcile/).
const NEEDED: &[(&str, &str, &[&str])] = &[
    (
        "optionsflow.io",
        "optionspipelines",
        &["get", "list", "watch", "patch"],
    ),
    ("optionsflow.io", "symbolsets", &["get", "list", "watch"]),
    ("optionsflow.io", "optionspipelines/status", &["patch"]),
    ("optionsflow.io", "symbolsets/status", &["patch"]),
    ("", "configmaps", OWNED),
    ("", "services", OWNED),
    ("apps", "deployments", OWNED),
    ("batch", "cronjobs", OWNED),
    ("batch", "jobs", OWNED),
    ("batch", "jobs", &["get"]),
    ("policy", "poddisruptionbudgets", OWNED),
    ("networking.k8s.io", "ingresses", OWNED),
    (
        "monitoring.coreos.com",
        "podmonitors",
        &["get", "list", "create", "patch", "delete"],
    ),
    ("", "secrets", &["get"]),
    ("events.k8s.io", "events", &["create", "patch"]),
];

fn assert_least_privilege(rules: &Value) {
    for (group, resource, verbs) in NEEDED {
        for verb in *verbs {
            assert!(
                allows(rules, group, resource, verb),
                "missing {verb} on {group}/{resource}"
            );
        }
    }
    let text = rules.to_string();
    assert!(!text.contains("\"*\""), "no wildcards: {text}");
    for verb in ["list", "watch", "create", "patch", "update", "delete"] {
        assert!(
            !allows(rules, "", "secrets", verb),
            "secrets are only ever read by name"
        );
    }
    assert!(!allows(rules, "", "pods", "delete"));
}

#[test]
fn the_chart_lints() {
    let out = Command::new(helm())
        .args(["lint", "--strict"])
        .arg(chart())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_default_install_is_valid_highly_available_and_least_privileged() {
    let Rendered {
        objects,
        file,
        _dir,
    } = render(&[]);
    let (ok, report) = validate_manifests(&[file]);
    assert!(ok, "{report}");

    let deployment = find(&objects, "Deployment")[0];
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["args"], serde_json::json!(["run"]));
    let env = |name: &str| {
        container["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert_eq!(
        env("POD_NAME")["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );
    assert_eq!(
        env("POD_NAMESPACE")["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.namespace"
    );
    assert_eq!(
        env("OPTIONSFLOW_WORKER_IMAGE")["value"],
        "ghcr.io/optionsflow/optionsflow-worker:0.1.0"
    );
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    assert_eq!(
        container["securityContext"]["capabilities"]["drop"],
        serde_json::json!(["ALL"])
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(
        find(&objects, "PodDisruptionBudget")[0]["spec"]["maxUnavailable"],
        1
    );

    let cluster_role = find(&objects, "ClusterRole")[0];
    assert_least_privilege(&cluster_role["rules"]);
    let binding = find(&objects, "ClusterRoleBinding")[0];
    assert_eq!(binding["subjects"][0]["name"], pod["serviceAccountName"]);
    assert_eq!(binding["subjects"][0]["namespace"], "optionsflow-system");

    // The Lease: in the operator's namespace, and no other Lease.
    let lease_role = find(&objects, "Role")
        .into_iter()
        .find(|r| {
            r["metadata"]["name"]
                .as_str()
                .unwrap()
                .ends_with("leader-election")
        })
        .unwrap();
    assert_eq!(lease_role["metadata"]["namespace"], "optionsflow-system");
    let named: Vec<&Value> = lease_role["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verbs"].as_array().unwrap().iter().any(|v| v == "patch"))
        .collect();
    assert_eq!(named.len(), 1);
    assert_eq!(
        named[0]["resourceNames"],
        serde_json::json!(["optionsflow-operator"])
    );
}

#[test]
fn the_chart_ships_the_generated_crds_and_keeps_them_on_uninstall() {
    let objects = render(&[]).objects;
    let crds = find(&objects, "CustomResourceDefinition");
    assert_eq!(crds.len(), 2);
    for crd in crds {
        assert_eq!(
            crd["metadata"]["annotations"]["helm.sh/resource-policy"],
            "keep"
        );
        let mut without = crd.clone();
        without["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("annotations");
        let name = crd["metadata"]["name"].as_str().unwrap();
        let (plural, group) = name.split_once('.').unwrap();
        let committed = common::yaml_docs(&root().join(format!("crds/{group}_{plural}.yaml")));
        assert_eq!(without, committed[0], "{name} differs from crds/");
    }
    let objects = render(&["crds.install=false"]).objects;
    assert!(find(&objects, "CustomResourceDefinition").is_empty());
}

#[test]
fn a_single_namespace_install_needs_no_cluster_role() {
    let Rendered {
        objects,
        file,
        _dir,
    } = render(&["watchNamespace=trading"]);
    let (ok, report) = validate_manifests(&[file]);
    assert!(ok, "{report}");
    assert!(find(&objects, "ClusterRole").is_empty());
    assert!(find(&objects, "ClusterRoleBinding").is_empty());
    let role = find(&objects, "Role")
        .into_iter()
        .find(|r| r["metadata"]["namespace"] == "trading")
        .expect("a Role in the watched namespace");
    assert_least_privilege(&role["rules"]);
    let deployment = find(&objects, "Deployment")[0];
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap();
    assert!(
        env.iter()
            .any(|e| e["name"] == "WATCH_NAMESPACE" && e["value"] == "trading")
    );
}

#[test]
fn a_typo_in_the_values_fails_the_install_and_the_allowlists_reach_the_operator() {
    let out = Command::new(helm())
        .args(["template", "optionsflow"])
        .arg(chart())
        .args(["--set", "replicaCont=3"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a misspelt value must fail");
    assert!(said.contains("replicaCont"), "{said}");

    let Rendered { objects, .. } = render(&[
        "allowedWorkerImagePrefixes={ghcr.io/optionsflow/,registry.example.com/}",
        "allowedProviderHosts={api.twelvedata.com}",
        "extraEnv[0].name=HTTPS_PROXY",
        "extraEnv[0].value=http://proxy:3128",
    ]);
    let env = &find(&objects, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["env"];
    let value = |name: &str| {
        env.as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].clone())
            .unwrap()
    };
    assert_eq!(
        value("ALLOWED_WORKER_IMAGE_PREFIXES"),
        "ghcr.io/optionsflow/,registry.example.com/"
    );
    assert_eq!(value("ALLOWED_PROVIDER_HOSTS"), "api.twelvedata.com");
    assert_eq!(value("HTTPS_PROXY"), "http://proxy:3128");
}

#[test]
fn monitoring_renders_the_service_monitor_the_rules_promtool_checks_and_the_dashboards() {
    // Off by default: a cluster without the Prometheus Operator's CRDs installs as before.
    let plain = render(&[]).objects;
    for kind in ["ServiceMonitor", "PrometheusRule"] {
        assert!(find(&plain, kind).is_empty(), "{kind} rendered by default");
    }

    let Rendered { objects, _dir, .. } = render(&[
        "monitoring.serviceMonitor.enabled=true",
        "monitoring.serviceMonitor.labels.release=kps",
        "monitoring.prometheusRule.enabled=true",
        "monitoring.prometheusRule.labels.release=kps",
        "monitoring.dashboards.enabled=true",
        "monitoring.dashboards.namespace=grafana",
    ]);
    // The Kubernetes objects among them are valid (the validator has no schema of the
    // Prometheus Operator's kinds; their fields are checked below).
    let native: Vec<&Value> = objects
        .iter()
        .filter(|o| {
            !o["apiVersion"]
                .as_str()
                .unwrap()
                .starts_with("monitoring.coreos.com/")
        })
        .collect();
    let file = _dir.path().join("native.yaml");
    let docs: Vec<String> = native
        .iter()
        .map(|o| serde_norway::to_string(o).unwrap())
        .collect();
    std::fs::write(&file, docs.join("---\n")).unwrap();
    let (ok, report) = validate_manifests(&[file]);
    assert!(ok, "{report}");

    let monitor = find(&objects, "ServiceMonitor")[0];
    assert_eq!(monitor["metadata"]["labels"]["release"], "kps");
    let service = find(&objects, "Service")[0];
    for (k, v) in monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap()
    {
        assert_eq!(
            &service["metadata"]["labels"][k], v,
            "the ServiceMonitor selects the metrics Service"
        );
    }
    assert_eq!(
        monitor["spec"]["endpoints"][0]["port"],
        service["spec"]["ports"][0]["name"]
    );

    // The PrometheusRule carries exactly the rule file promtool checks.
    let rule = find(&objects, "PrometheusRule")[0];
    assert_eq!(rule["metadata"]["labels"]["release"], "kps");
    let file = common::yaml_docs(&root().join("charts/optionsflow/files/alerts.yaml"));
    assert_eq!(rule["spec"]["groups"], file[0]["groups"]);
    let alerts: Vec<&Value> = rule["spec"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .filter(|r| r.get("alert").is_some())
        .collect();
    assert!(alerts.len() >= 9, "{alerts:?}");
    for alert in alerts {
        for key in ["summary", "description", "runbook_url"] {
            assert!(
                alert["annotations"][key].is_string(),
                "{} has no {key}",
                alert["alert"]
            );
        }
    }

    // One ConfigMap per dashboard, labelled for the sidecar, holding the dashboard's JSON.
    let dashboards: Vec<&Value> = find(&objects, "ConfigMap")
        .into_iter()
        .filter(|c| c["metadata"]["labels"]["grafana_dashboard"] == "1")
        .collect();
    assert_eq!(dashboards.len(), 3);
    for map in dashboards {
        assert_eq!(map["metadata"]["namespace"], "grafana");
        let (name, text) = map["data"].as_object().unwrap().iter().next().unwrap();
        let dashboard: Value = serde_json::from_str(text.as_str().unwrap()).unwrap();
        let shipped: Value = serde_json::from_str(
            &std::fs::read_to_string(
                root()
                    .join("charts/optionsflow/files/dashboards")
                    .join(name),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(dashboard, shipped, "{name}");
        assert!(
            dashboard["uid"]
                .as_str()
                .unwrap()
                .starts_with("optionsflow-")
        );
    }
}
