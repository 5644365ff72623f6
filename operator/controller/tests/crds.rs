//! The CRDs: committed YAML matches the Rust types, the schema facts that matter hold, the
//! CEL rules do what they say, and the samples pass (or, the broken one, fail) the schema.

mod common;

use std::path::PathBuf;

use common::{root, validate_manifests, yaml_docs};
use optionsflow_operator::crds::{crds, to_yaml};
use serde_json::Value;

fn crd(file: &str) -> Value {
    let (_, crd) = crds().into_iter().find(|(f, _)| *f == file).unwrap();
    serde_json::to_value(crd).unwrap()
}

fn schema(file: &str) -> Value {
    crd(file)["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

const PIPELINES: &str = "optionsflow.io_optionspipelines.yaml";
const SYMBOLSETS: &str = "optionsflow.io_symbolsets.yaml";

#[test]
fn committed_crds_match_the_rust_types() {
    for (file, crd) in crds() {
        let path = root().join("crds").join(file);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == to_yaml(&crd),
            "{} is out of date: run scripts/generate.sh and commit the result",
            path.display()
        );
        let chart_copy = root().join("charts/optionsflow/files/crds").join(file);
        let committed = std::fs::read_to_string(&chart_copy).unwrap_or_default();
        assert!(
            committed == to_yaml(&optionsflow_operator::crds::for_helm(crd)),
            "{} is out of date: run scripts/generate.sh and commit the result",
            chart_copy.display()
        );
    }
}

/// Walks every schema node with its path.
fn walk(node: &Value, path: &str, visit: &mut dyn FnMut(&str, &Value)) {
    visit(path, node);
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            walk(v, &format!("{path}.{k}"), visit);
        }
    }
    if let Some(items) = node.get("items") {
        walk(items, &format!("{path}[]"), visit);
    }
    if let Some(extra) = node.get("additionalProperties").filter(|v| v.is_object()) {
        walk(extra, &format!("{path}{{}}"), visit);
    }
}

#[test]
fn schemas_are_structural_and_default_nothing() {
    for file in [PIPELINES, SYMBOLSETS] {
        walk(&schema(file), "", &mut |path, node| {
            let typed = node.get("type").is_some()
                || node.get("x-kubernetes-int-or-string").is_some()
                || node.get("x-kubernetes-preserve-unknown-fields").is_some();
            assert!(typed, "{file}: {path} has no type");
            assert!(
                node.get("default").is_none(),
                "{file}: {path} has a schema default"
            );
            for forbidden in ["anyOf", "oneOf", "allOf", "$ref"] {
                assert!(
                    node.get(forbidden).is_none(),
                    "{file}: {path} uses {forbidden}"
                );
            }
        });
    }
}

#[test]
fn printer_columns_and_names() {
    let pipelines = crd(PIPELINES);
    let columns: Vec<&str> = pipelines["spec"]["versions"][0]["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        [
            "Ready",
            "Phase",
            "Symbols",
            "Workers",
            "Last Options Fetch",
            "Age"
        ]
    );
    assert_eq!(
        pipelines["spec"]["names"]["shortNames"],
        serde_json::json!(["opl"])
    );
    assert_eq!(
        pipelines["spec"]["names"]["categories"],
        serde_json::json!(["optionsflow"])
    );
    assert_eq!(
        crd(SYMBOLSETS)["spec"]["names"]["shortNames"],
        serde_json::json!(["symset"])
    );
    for file in [PIPELINES, SYMBOLSETS] {
        let version = &crd(file)["spec"]["versions"][0];
        assert_eq!(version["name"], "v1alpha1");
        assert_eq!(
            version["subresources"]["status"],
            serde_json::json!({}),
            "{file}"
        );
    }
}

fn at<'a>(schema: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(schema, |node, key| match *key {
        "[]" => &node["items"],
        k => &node["properties"][k],
    })
}

#[test]
fn lists_merge_the_way_server_side_apply_needs() {
    let s = schema(PIPELINES);
    for (path, key) in [
        (&["status", "conditions"][..], "type"),
        (&["status", "roles"][..], "role"),
        (&["status", "topics"][..], "name"),
        (&["status", "schedules"][..], "dataset"),
    ] {
        let node = at(&s, path);
        assert_eq!(node["x-kubernetes-list-type"], "map", "{path:?}");
        assert_eq!(
            node["x-kubernetes-list-map-keys"],
            serde_json::json!([key]),
            "{path:?}"
        );
    }
    assert_eq!(
        at(&s, &["spec", "symbolSets"])["x-kubernetes-list-type"],
        "set"
    );
    assert_eq!(
        at(&schema(SYMBOLSETS), &["spec", "symbols"])["x-kubernetes-list-type"],
        "set"
    );
    assert_eq!(
        at(&schema(SYMBOLSETS), &["status", "conditions"])["x-kubernetes-list-map-keys"],
        serde_json::json!(["type"])
    );
}

fn rules(node: &Value) -> Vec<String> {
    node["x-kubernetes-validations"]
        .as_array()
        .map(|rules| {
            rules
                .iter()
                .map(|r| r["rule"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn cel_rules_sit_where_the_schema_cannot_say_it() {
    let s = schema(PIPELINES);
    assert!(
        rules(&s)
            .iter()
            .any(|r| r.contains("size(self.metadata.name) <= 40"))
    );
    assert!(
        rules(at(&s, &["spec", "kafka"]))
            .iter()
            .any(|r| r.contains("oldSelf.partitions"))
    );
    for dataset in ["daily", "intraday", "historical", "options"] {
        let d = at(&s, &["spec", "datasets", dataset]);
        assert!(
            rules(&d["properties"]["schedule"])
                .iter()
                .any(|r| *r == optionsflow_api::schedule::cel_rule()),
            "{dataset}"
        );
        assert!(
            rules(&d["properties"]["timeZone"])
                .iter()
                .any(|r| r.contains("UTC")),
            "{dataset}"
        );
        assert!(
            d["properties"]["schedule"]["maxLength"].is_number(),
            "CEL cost needs a bound"
        );
    }
    for role in ["collector", "processor", "dbWriter", "fileWriter", "api"] {
        let r = at(&s, &["spec", "workers", role, "replicas"]);
        assert_eq!(rules(r), ["self >= 1"], "{role}");
    }
}

fn cel(file: &str, object: &Value, old: Option<&Value>) -> Vec<String> {
    match kube::core::cel::Validator::new().validate(&schema(file), object, old) {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .into_vec()
            .into_iter()
            .map(|e| format!("{}: {}", e.field_path, e.message))
            .collect(),
    }
}

#[test]
fn the_samples_pass_the_cel_rules_and_the_broken_one_does_not() {
    for doc in yaml_docs(&root().join("config/samples/symbolsets.yaml")) {
        assert_eq!(cel(SYMBOLSETS, &doc, None), Vec::<String>::new());
    }
    let pipeline = &yaml_docs(&root().join("config/samples/pipeline.yaml"))[0];
    assert_eq!(cel(PIPELINES, pipeline, None), Vec::<String>::new());
    let broken = &yaml_docs(&root().join("config/samples/invalid-pipeline.yaml"))[0];
    let errors = cel(PIPELINES, broken, None).join("\n");
    assert!(errors.contains("must be a CronJob schedule"), "{errors}");
    assert!(errors.contains("IANA time zone"), "{errors}");
    assert!(errors.contains("replicas must be at least 1"), "{errors}");
}

/// The API server's CEL runs the schedule rule: what a CronJob takes passes, what it refuses
/// (Quartz's forms, day 7, seconds, `@every`, names out of place) does not.
#[test]
fn the_schedule_rule_takes_what_a_cronjob_takes() {
    let sample = yaml_docs(&root().join("config/samples/pipeline.yaml"))[0].clone();
    let with = |schedule: &str| {
        let mut p = sample.clone();
        p["spec"]["datasets"]["options"]["schedule"] = schedule.into();
        cel(PIPELINES, &p, None).join("\n")
    };
    for taken in [
        "30 16 * * MON-FRI",
        "30 16 ? * mon-fri",
        "*/15 9-16 * * 1-5",
        "0 9 1 JAN,jul *",
        "@midnight",
    ] {
        assert_eq!(with(taken), "", "{taken}");
    }
    for refused in [
        "0 0 L * *",
        "0 0 * * 5#3",
        "0 0 15W * *",
        "0 0 * * 7",
        "0 0 0 * * *",
        "@every 1h",
        "MON 0 * * *",
        "0 24 * * *",
    ] {
        assert!(
            with(refused).contains("must be a CronJob schedule"),
            "{refused}"
        );
    }
}

#[test]
fn partitions_may_only_grow() {
    let mut old = yaml_docs(&root().join("config/samples/pipeline.yaml"))[0].clone();
    let mut new = old.clone();
    // Unset means 5: going to 4 shrinks, going to 8 grows, unsetting 8 shrinks.
    new["spec"]["kafka"]["partitions"] = 4.into();
    assert!(
        cel(PIPELINES, &new, Some(&old))
            .join(" ")
            .contains("partitions can only grow")
    );
    new["spec"]["kafka"]["partitions"] = 8.into();
    assert_eq!(cel(PIPELINES, &new, Some(&old)), Vec::<String>::new());
    old = new.clone();
    new["spec"]["kafka"]
        .as_object_mut()
        .unwrap()
        .remove("partitions");
    assert!(
        cel(PIPELINES, &new, Some(&old))
            .join(" ")
            .contains("partitions can only grow")
    );
    let mut long = old.clone();
    long["metadata"]["name"] = "a".repeat(41).into();
    assert!(
        cel(PIPELINES, &long, None)
            .join(" ")
            .contains("at most 40 characters")
    );
}

#[test]
fn the_samples_pass_the_schemas_and_the_broken_one_does_not() {
    let samples = root().join("config/samples");
    let crds: Vec<PathBuf> = crds()
        .iter()
        .map(|(f, _)| root().join("crds").join(f))
        .collect();
    let (ok, out) = validate_manifests(
        &[
            &crds[..],
            &[
                samples.join("symbolsets.yaml"),
                samples.join("pipeline.yaml"),
            ],
        ]
        .concat(),
    );
    assert!(ok, "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok ")).count(),
        5,
        "{out}"
    );
    let (ok, out) = validate_manifests(&[samples.join("invalid-pipeline.yaml")]);
    assert!(!ok, "{out}");
    for expected in [
        "symbolSets.0",
        "does not match",
        "partitions: 0 is less than the minimum of 1",
        "horizonDays: 0 is less than the minimum of 1",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn kafka_security_says_which_protocol_goes_with_what() {
    let sample = yaml_docs(&root().join("config/samples/pipeline.yaml"))[0].clone();
    let with = |security: Value| {
        let mut p = sample.clone();
        p["spec"]["kafka"]["security"] = security;
        cel(PIPELINES, &p, None).join("\n")
    };
    let sasl = serde_json::json!({"mechanism": "SCRAM-SHA-512", "username": "u",
                                  "passwordSecret": {"name": "u", "key": "password"}});
    let tls = serde_json::json!({"caSecret": {"name": "ca", "key": "ca.crt"}});
    assert_eq!(
        with(serde_json::json!({"protocol": "SASL_SSL", "sasl": sasl, "tls": tls})),
        ""
    );
    assert_eq!(with(serde_json::json!({"protocol": "SSL", "tls": tls})), "");
    assert!(
        with(serde_json::json!({"protocol": "SSL", "sasl": sasl})).contains("sasl needs protocol")
    );
    assert!(
        with(serde_json::json!({"protocol": "SASL_PLAINTEXT", "sasl": sasl, "tls": tls}))
            .contains("tls needs protocol")
    );
    assert!(
        with(serde_json::json!({"protocol": "SASL_SSL"})).contains("a SASL protocol needs sasl")
    );
}

/// `kubectl apply` (client-side) keeps the whole object in an annotation of at most 256 KiB;
/// the CRD must fit, as compact JSON is what it stores.
#[test]
fn the_crds_fit_kubectl_apply() {
    for (file, crd) in crds() {
        let size = serde_json::to_string(&crd).unwrap().len();
        assert!(size < 200 * 1024, "{file} is {size} bytes as JSON");
    }
}

/// The CEL rule on `spec.kafka.topics` names every topic suffix, and nothing else.
#[test]
fn topic_overrides_accept_exactly_the_topics_a_pipeline_has() {
    let s = schema(PIPELINES);
    let rule = rules(at(&s, &["spec", "kafka", "topics"])).join(" ");
    let listed = rule.matches('\'').count() / 2;
    assert_eq!(listed, optionsflow_api::TopicKind::ALL.len(), "{rule}");
    for kind in optionsflow_api::TopicKind::ALL {
        assert!(rule.contains(&format!("'{}'", kind.suffix())), "{rule}");
    }
    let sample = yaml_docs(&root().join("config/samples/pipeline.yaml"))[0].clone();
    let mut typo = sample.clone();
    typo["spec"]["kafka"]["topics"] = serde_json::json!({"option-datas": {"retentionMs": 1}});
    assert!(
        cel(PIPELINES, &typo, None)
            .join(" ")
            .contains("topics are named by their suffix")
    );
}
