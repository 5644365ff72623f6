//! The ArgoCD health check in config/argocd/ runs (under Lua, as in ArgoCD) against statuses
//! the operator itself computes, so a renamed status field breaks this test, not users.

use std::io::Write;
use std::process::{Command, Stdio};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use optionsflow_api::crd::pipeline::{OptionsPipelineStatus, RoleStatus, TopicStatus};
use optionsflow_operator::status::{Inputs, Observed, Problem, compute};
use serde_json::{Value, json};

mod common;

fn lua() -> String {
    let lua = std::env::var("LUA_BIN").unwrap_or_else(|_| "/usr/bin/lua5.4".into());
    assert!(
        std::path::Path::new(&lua).exists(),
        "{lua} is missing: run scripts/test-services.sh (it installs lua5.4)"
    );
    lua
}

/// A JSON value as a Lua table constructor.
fn to_lua(v: &Value) -> String {
    match v {
        Value::Null => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(items) => format!(
            "{{{}}}",
            items.iter().map(to_lua).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("[{k:?}] = {}", to_lua(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// ArgoCD's verdict on a pipeline: (status, message).
fn health(object: &Value) -> (String, String) {
    let script =
        std::fs::read_to_string(common::root().join("config/argocd/optionspipeline-health.lua"))
            .unwrap();
    let program = format!(
        "obj = {}\nlocal function check()\n{script}\nend\nlocal hs = check()\nprint(hs.status)\nprint(hs.message)\n",
        to_lua(object)
    );
    let mut child = Command::new(lua())
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(program.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    (
        lines.next().unwrap().to_owned(),
        lines.next().unwrap_or_default().to_owned(),
    )
}

fn pipeline(generation: i64, status: Option<&OptionsPipelineStatus>) -> Value {
    json!({
        "apiVersion": "optionsflow.io/v1alpha1",
        "kind": "OptionsPipeline",
        "metadata": {"name": "p", "namespace": "ns", "generation": generation},
        "spec": {"symbolSets": ["s"], "kafka": {"bootstrapServers": "k:9092"}},
        "status": status,
    })
}

fn status(ready_pods: i32, suspended: bool, problem: Option<&str>) -> OptionsPipelineStatus {
    let now = Time(jiff::Timestamp::from_second(1_700_000_000).unwrap());
    compute(
        None,
        Inputs {
            generation: Some(2),
            suspended,
            paused: false,
            symbols: Some(3),
            omitted: Some(Vec::new()),
            budget: None,
            observed: Some(Observed {
                roles: vec![RoleStatus {
                    role: "collector".into(),
                    deployment: "p-collector".into(),
                    ready: ready_pods,
                    desired: if suspended { 0 } else { 2 },
                }],
                ..Observed::default()
            }),
            topics: Some(vec![TopicStatus {
                name: "ns.p.task-queue".into(),
                partitions: Some(5),
                desired_partitions: 5,
                ready: true,
                message: None,
            }]),
            problem: problem.map(|reason| Problem {
                reason: reason.into(),
                message: "cannot reach Kafka".into(),
            }),
        },
        &now,
    )
}

#[test]
fn argocd_sees_what_the_status_says() {
    assert_eq!(health(&pipeline(2, None)).0, "Progressing");
    let (verdict, message) = health(&pipeline(2, Some(&status(1, false, None))));
    assert_eq!(verdict, "Progressing");
    assert!(message.contains("1/2"), "{message}");
    assert_eq!(
        health(&pipeline(2, Some(&status(2, false, None)))).0,
        "Healthy"
    );
    let (verdict, message) = health(&pipeline(
        2,
        Some(&status(2, false, Some("KafkaUnreachable"))),
    ));
    assert_eq!(verdict, "Degraded");
    assert!(message.starts_with("KafkaUnreachable: "), "{message}");
    assert_eq!(
        health(&pipeline(2, Some(&status(0, true, None)))).0,
        "Suspended"
    );
    // Paused by the annotation: what the operator last saw, and that it is on hold.
    let paused = compute(
        Some(&status(2, false, None)),
        Inputs {
            generation: Some(2),
            paused: true,
            ..Inputs::default()
        },
        &Time(jiff::Timestamp::from_second(1_700_000_100).unwrap()),
    );
    assert_eq!(paused.phase.as_deref(), Some("Paused"));
    let (verdict, message) = health(&pipeline(2, Some(&paused)));
    assert_eq!(verdict, "Suspended");
    assert!(message.contains("pause-reconciliation"), "{message}");
}

#[test]
fn a_status_from_an_older_generation_is_not_believed() {
    // Healthy as of generation 2, but the spec is at 3 now.
    let (verdict, message) = health(&pipeline(3, Some(&status(2, false, None))));
    assert_eq!(verdict, "Progressing");
    assert!(message.contains("generation 3"), "{message}");
}
