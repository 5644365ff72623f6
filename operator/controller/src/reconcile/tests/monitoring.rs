//! The PodMonitor: made where the cluster serves the Prometheus Operator's PodMonitors and
//! the spec asks; pruned when the spec stops asking; a warning, not a failure, elsewhere.

use super::*;

fn asking() -> Value {
    json!({"monitoring": {"podMonitor": {"labels": {"release": "kps"}, "interval": "30s"}}})
}

#[tokio::test]
async fn a_pod_monitor_over_every_worker_where_the_cluster_serves_them() {
    let h = harness(asking());
    h.api.serve_group(
        "monitoring.coreos.com/v1",
        &["podmonitors", "servicemonitors"],
    );
    h.reconcile().await.unwrap();
    let calls = h.calls();
    let mut expected = vec![format!("GET {SETS}")];
    expected.extend(applies());
    expected.extend(prune_lists());
    expected.push(format!("PATCH {POD_MONITORS}/small-workers"));
    expected.push(format!("GET {POD_MONITORS}"));
    assert_eq!(lines(&calls)[..expected.len()], expected[..]);

    let monitor = body(&calls, POD_MONITORS, "small-workers");
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(monitor["kind"], "PodMonitor");
    assert_eq!(monitor["metadata"]["labels"]["release"], "kps");
    assert_eq!(
        monitor["metadata"]["ownerReferences"][0]["kind"],
        "OptionsPipeline"
    );
    // It selects exactly the pods of the metrics Service, on the port it names.
    let service = body(&calls, SERVICES, "small-metrics");
    assert_eq!(
        monitor["spec"]["selector"]["matchLabels"],
        service["spec"]["selector"]
    );
    let endpoint = &monitor["spec"]["podMetricsEndpoints"][0];
    assert_eq!(endpoint["port"], service["spec"]["ports"][0]["name"]);
    assert_eq!(endpoint["path"], "/metrics");
    assert_eq!(endpoint["interval"], "30s");
    // Series get the pipeline and the role, which the alerts and dashboards group by.
    let targets: Vec<(&str, &str)> = endpoint["relabelings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["sourceLabels"][0].as_str().unwrap(),
                r["targetLabel"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        targets,
        [
            (
                "__meta_kubernetes_pod_label_optionsflow_io_pipeline",
                "pipeline"
            ),
            (
                "__meta_kubernetes_pod_label_app_kubernetes_io_component",
                "role"
            ),
        ]
    );
    let deployment = body(&calls, DEPLOYMENTS, "small-collector");
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(pod_labels["optionsflow.io/pipeline"], "small");
    assert_eq!(pod_labels["app.kubernetes.io/component"], "collector");

    // The spec stops asking: the PodMonitor goes.
    h.edit(
        PIPELINES,
        "small",
        json!({"spec": {"monitoring": {"podMonitor": {"enabled": false}}}}),
    );
    h.reconcile().await.unwrap();
    let calls = h.calls();
    assert!(
        lines(&calls).contains(&format!("DELETE {POD_MONITORS}/small-workers")),
        "{:?}",
        lines(&calls)
    );
    assert!(h.api.names(POD_MONITORS).is_empty());
}

#[tokio::test]
async fn without_the_prometheus_operator_a_pod_monitor_asked_for_is_a_warning_not_a_failure() {
    let h = harness(asking());
    let action = h.reconcile().await.unwrap();
    assert_eq!(action, Action::requeue(super::super::RESYNC));
    let calls = h.calls();
    assert!(!lines(&calls).iter().any(|l| l.contains("podmonitors")));
    assert!(events(&calls).contains(&"PodMonitorUnavailable".to_owned()));
    // The rest of the pass went on: every child applied, topics made.
    for line in applies() {
        assert!(lines(&calls).contains(&line), "{line}");
    }
    assert!(!h.kafka.topics().is_empty());
}
