//! Reconcile scenarios against an in-memory API server (tower-test), asserting the exact
//! requests the operator makes and what it writes.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::runtime::events::{Recorder, Reporter};
use optionsflow_api::crd::OptionsPipeline;
use serde_json::{Value, json};

use super::{Context, Retries, reconcile};
use crate::error::Error;
use crate::metrics::Metrics;
use crate::topics::memory::{MemoryAdmin, MemoryAdmins};
use crate::validate::Settings;
use optionsflow_testkit::fake_api::{Call, FakeApi};

mod day2;
mod monitoring;

const PIPELINES: &str = "/apis/optionsflow.io/v1alpha1/namespaces/research/optionspipelines";
const SETS: &str = "/apis/optionsflow.io/v1alpha1/namespaces/research/symbolsets";
const CONFIG_MAPS: &str = "/api/v1/namespaces/research/configmaps";
const SERVICES: &str = "/api/v1/namespaces/research/services";
const PDBS: &str = "/apis/policy/v1/namespaces/research/poddisruptionbudgets";
const INGRESSES: &str = "/apis/networking.k8s.io/v1/namespaces/research/ingresses";
const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/research/deployments";
const CRON_JOBS: &str = "/apis/batch/v1/namespaces/research/cronjobs";
const JOBS: &str = "/apis/batch/v1/namespaces/research/jobs";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/research/events";
/// Discovery of the Prometheus Operator's group: asked on every pass.
const MONITORING: &str = "/apis/monitoring.coreos.com/v1";
const POD_MONITORS: &str = "/apis/monitoring.coreos.com/v1/namespaces/research/podmonitors";
/// Every role: the harness's pipeline provides a database, a file store and API tokens,
/// and asks for predictions.
const ROLES: [&str; 7] = [
    "collector",
    "processor",
    "db-writer",
    "file-writer",
    "influx-writer",
    "api",
    "predictor",
];

struct Harness {
    api: FakeApi,
    ctx: Arc<Context<MemoryAdmins>>,
    kafka: Arc<MemoryAdmin>,
}

fn pipeline(extra_spec: Value) -> Value {
    let mut spec = json!({
        "symbolSets": ["watchlist"],
        "kafka": {"bootstrapServers": "kafka:9092"},
        "sinks": {"postgres": {"urlSecret": {"name": "db", "key": "url"}},
                  "s3": {"bucket": "market-data"},
                  "influxdb": {"url": "http://influx:8086", "database": "market"}},
        "api": {"tokensSecret": {"name": "api", "key": "tokens"}},
        "predictions": {"enabled": true},
    });
    fake_merge(&mut spec, &extra_spec);
    json!({
        "apiVersion": "optionsflow.io/v1alpha1",
        "kind": "OptionsPipeline",
        "metadata": {"name": "small", "namespace": "research"},
        "spec": spec,
    })
}

fn fake_merge(target: &mut Value, patch: &Value) {
    if let (Value::Object(t), Value::Object(p)) = (&mut *target, patch) {
        for (k, v) in p {
            fake_merge(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    } else {
        *target = patch.clone();
    }
}

fn harness(extra_spec: Value) -> Harness {
    let api = FakeApi::default();
    api.put(
        SETS,
        json!({"apiVersion": "optionsflow.io/v1alpha1", "kind": "SymbolSet",
               "metadata": {"name": "watchlist", "namespace": "research"},
               "spec": {"symbols": ["AAPL", "SPY"]}}),
    );
    api.put(PIPELINES, pipeline(extra_spec));
    let client = api.client();
    let kafka = Arc::new(MemoryAdmin::default());
    let ctx = Arc::new(Context {
        client: client.clone(),
        settings: Settings {
            worker_image: "ghcr.io/optionsflow/optionsflow-worker:test".into(),
            ..Settings::default()
        },
        admins: MemoryAdmins(kafka.clone()),
        recorder: Recorder::new(
            client,
            Reporter {
                controller: "optionsflow-operator".into(),
                instance: Some("test".into()),
            },
        ),
        metrics: Metrics::new(),
        leading: Arc::new(AtomicBool::new(true)),
        retries: Retries::default(),
    });
    Harness { api, ctx, kafka }
}

impl Harness {
    /// Reconciles the pipeline as it is stored now, as the controller would.
    async fn reconcile(&self) -> Result<Action, Error> {
        let object: DeserializeGuard<OptionsPipeline> =
            serde_json::from_value(self.api.get(PIPELINES, "small").expect("the pipeline"))
                .unwrap();
        reconcile(Arc::new(object), self.ctx.clone()).await
    }

    fn calls(&self) -> Vec<Call> {
        self.api.take_calls()
    }

    fn status(&self) -> Value {
        self.api.get(PIPELINES, "small").unwrap()["status"].clone()
    }

    /// Every Deployment reports all its replicas ready, as the Deployment controller would.
    fn roll_out(&self) {
        for name in self.api.names(DEPLOYMENTS) {
            let mut d = self.api.get(DEPLOYMENTS, &name).unwrap();
            let replicas = d["spec"]["replicas"].clone();
            d["status"] = json!({"replicas": replicas, "readyReplicas": replicas});
            self.api.put(DEPLOYMENTS, d);
        }
    }

    fn edit(&self, collection: &str, name: &str, patch: Value) {
        let mut object = self.api.get(collection, name).unwrap();
        fake_merge(&mut object, &patch);
        if patch.get("spec").is_some() {
            let generation = object["metadata"]["generation"].as_i64().unwrap_or(1);
            object["metadata"]["generation"] = json!(generation + 1);
        }
        self.api.put(collection, object);
    }
}

fn lines(calls: &[Call]) -> Vec<String> {
    calls.iter().map(Call::line).collect()
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {status}"))
}

/// The apply requests of every child of the minimal pipeline, in apply order.
fn applies() -> Vec<String> {
    let mut out = vec![format!("PATCH {CONFIG_MAPS}/small-runtime")];
    out.push(format!("PATCH {SERVICES}/small-api"));
    out.push(format!("PATCH {SERVICES}/small-metrics"));
    out.extend(ROLES.iter().map(|r| format!("PATCH {PDBS}/small-{r}")));
    out.extend(
        ROLES
            .iter()
            .map(|r| format!("PATCH {DEPLOYMENTS}/small-{r}")),
    );
    out.extend(
        ["daily", "intraday", "options"]
            .iter()
            .map(|d| format!("PATCH {CRON_JOBS}/small-{d}")),
    );
    out
}

/// The requests of a reconcile that gets through every step: the SymbolSets read, every
/// child applied, the prune lists, then the status write and Events when there are any.
fn full_pass(status_written: bool, events: usize) -> Vec<String> {
    let mut out = vec![format!("GET {SETS}")];
    out.extend(applies());
    out.extend(prune_lists());
    if status_written {
        out.push(format!("PATCH {PIPELINES}/small/status"));
    }
    out.extend(std::iter::repeat_n(format!("POST {EVENTS}"), events));
    out
}

/// The prune step's lists, one per kind, then the monitoring step's discovery (this
/// cluster serves no PodMonitors).
fn prune_lists() -> Vec<String> {
    [
        CONFIG_MAPS,
        SERVICES,
        INGRESSES,
        PDBS,
        DEPLOYMENTS,
        CRON_JOBS,
        JOBS,
        MONITORING,
    ]
    .iter()
    .map(|c| format!("GET {c}"))
    .collect()
}

/// The reasons of the Events among `calls`, in order.
fn events(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.uri.starts_with(EVENTS))
        .filter_map(|c| c.body.as_ref()?["reason"].as_str().map(str::to_owned))
        .collect()
}

fn body<'a>(calls: &'a [Call], collection: &str, name: &str) -> &'a Value {
    let path = format!("{collection}/{name}");
    calls
        .iter()
        .find(|c| c.uri.split('?').next() == Some(path.as_str()))
        .and_then(|c| c.body.as_ref())
        .unwrap_or_else(|| panic!("no request with a body to {path}"))
}

fn config_hash(calls: &[Call], role: &str) -> String {
    body(calls, DEPLOYMENTS, &format!("small-{role}"))["spec"]["template"]["metadata"]["annotations"]
        [crate::names::CONFIG_HASH]
        .as_str()
        .unwrap()
        .to_owned()
}

/// What a reconcile logs, JSON as the operator logs it, at debug.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_reconcile_logs_in_a_span_naming_the_pipeline_and_generation() {
    // The process-wide subscriber: a scoped one (`set_default`) loses events when another
    // test's thread meets the callsite first and tracing caches that nobody listens.
    static CAPTURED: std::sync::LazyLock<Captured> = std::sync::LazyLock::new(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        captured
    });
    let captured = &*CAPTURED;
    let h = harness(json!({}));
    h.reconcile().await.unwrap();
    let generation = h.api.get(PIPELINES, "small").unwrap()["metadata"]["generation"]
        .as_i64()
        .unwrap_or_default();

    // Other tests' reconciles log here too: one line must be this one's.
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let spans: Vec<Value> = text
        .lines()
        .filter(|l| l.contains("reconciled"))
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["spans"].clone())
        .collect();
    let ours = json!([{"name": "reconcile", "namespace": "research", "pipeline": "small",
                       "generation": generation}]);
    assert!(spans.contains(&ours), "no line in {ours}: {spans:?}");
}

#[tokio::test]
async fn first_reconcile_applies_every_child_provisions_topics_and_reports() {
    let h = harness(json!({}));
    let action = h.reconcile().await.unwrap();
    assert_eq!(action, Action::requeue(super::RESYNC));
    let calls = h.calls();
    let expected = full_pass(true, 2);
    assert_eq!(lines(&calls), expected);

    // Server-side apply, one field manager, forced; prune lists select only our children.
    for call in calls.iter().filter(|c| c.method == "PATCH") {
        assert_eq!(
            call.content_type.as_deref(),
            Some("application/apply-patch+yaml"),
            "{}",
            call.uri
        );
        assert!(
            call.uri.contains("fieldManager=optionsflow-operator"),
            "{}",
            call.uri
        );
        assert!(call.uri.contains("force=true"), "{}", call.uri);
    }
    // (Discovery asks about a group, not objects.)
    for call in calls
        .iter()
        .filter(|c| c.method == "GET" && !c.uri.starts_with(SETS) && c.uri != MONITORING)
    {
        assert!(
            call.uri.contains(
                "labelSelector=app.kubernetes.io%2Fmanaged-by%3Doptionsflow-operator%2Coptionsflow.io%2Fpipeline%3Dsmall"
            ),
            "{}",
            call.uri
        );
    }

    let runtime: Value = serde_json::from_str(
        body(&calls, CONFIG_MAPS, "small-runtime")["data"]["runtime.json"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(runtime.to_string().contains("\"AAPL\"") && runtime.to_string().contains("\"SPY\""));
    for role in ROLES {
        let d = body(&calls, DEPLOYMENTS, &format!("small-{role}"));
        assert_eq!(d["spec"]["replicas"], 2, "{role}");
        let owner = &d["metadata"]["ownerReferences"][0];
        assert_eq!(
            (owner["uid"].as_str(), owner["controller"].as_bool()),
            (Some("uid-small"), Some(true))
        );
        assert_eq!(d["metadata"]["labels"]["optionsflow.io/pipeline"], "small");
    }
    assert_eq!(
        body(&calls, CRON_JOBS, "small-options")["spec"]["suspend"],
        false
    );

    // Eleven topics of five partitions, created before the status says so.
    let topics = h.kafka.topics();
    assert_eq!(topics.len(), 11);
    assert!(topics.keys().all(|t| t.starts_with("research.small.")));
    assert!(topics.values().all(|p| *p == 5));

    let status = h.status();
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(status["phase"], "Progressing");
    assert_eq!(status["workers"], "0/14");
    assert_eq!(status["symbols"], 2);
    assert_eq!(condition(&status, "Ready")["status"], "False");
    assert_eq!(condition(&status, "Ready")["reason"], "WorkersNotReady");
    assert_eq!(condition(&status, "Progressing")["status"], "True");
    assert_eq!(condition(&status, "Degraded")["status"], "False");
    assert_eq!(status["topics"].as_array().unwrap().len(), 11);
    assert_eq!(status["schedules"].as_array().unwrap().len(), 3);
    assert_eq!(events(&calls), ["TopicsReady", "Progressing"]);
}

#[tokio::test]
async fn a_rolled_out_pipeline_turns_ready_and_then_costs_no_writes() {
    let h = harness(json!({}));
    h.reconcile().await.unwrap();
    let before = h.status();
    h.calls();
    h.roll_out();
    h.reconcile().await.unwrap();
    let calls = h.calls();
    let status = h.status();
    assert_eq!(status["phase"], "Ready");
    assert_eq!(status["workers"], "14/14");
    assert_eq!(condition(&status, "Ready")["status"], "True");
    assert_eq!(condition(&status, "Progressing")["status"], "False");
    // Degraded stayed False: its transition time did not move.
    assert_eq!(
        condition(&status, "Degraded")["lastTransitionTime"],
        condition(&before, "Degraded")["lastTransitionTime"]
    );
    assert_eq!(events(&calls), ["Ready"]);

    // Nothing changed: the same applies and lists, but no status write and no Event.
    h.reconcile().await.unwrap();
    let calls = h.calls();
    let expected = full_pass(false, 0);
    assert_eq!(lines(&calls), expected);
}

#[tokio::test]
async fn a_symbol_set_change_reaches_the_runtime_config_and_restarts_the_workers() {
    let h = harness(json!({}));
    h.reconcile().await.unwrap();
    let first = h.calls();
    h.edit(
        SETS,
        "watchlist",
        json!({"spec": {"symbols": ["AAPL", "SPY", "MSFT"]}}),
    );
    h.reconcile().await.unwrap();
    let second = h.calls();
    let expected = full_pass(true, 0);
    assert_eq!(lines(&second), expected);
    let runtime = body(&second, CONFIG_MAPS, "small-runtime")["data"]["runtime.json"]
        .as_str()
        .unwrap();
    assert!(runtime.contains("\"MSFT\""), "{runtime}");
    for role in ROLES {
        assert_ne!(
            config_hash(&first, role),
            config_hash(&second, role),
            "{role} must restart"
        );
    }
    assert_eq!(h.status()["symbols"], 3);
}

#[tokio::test]
async fn suspend_stops_the_schedules_and_scales_every_worker_to_zero() {
    let h = harness(json!({}));
    h.reconcile().await.unwrap();
    h.roll_out();
    h.reconcile().await.unwrap();
    h.calls();
    h.edit(PIPELINES, "small", json!({"spec": {"suspend": true}}));
    h.reconcile().await.unwrap();
    let calls = h.calls();
    let expected = full_pass(true, 1);
    assert_eq!(lines(&calls), expected);
    for role in ROLES {
        assert_eq!(
            body(&calls, DEPLOYMENTS, &format!("small-{role}"))["spec"]["replicas"],
            0,
            "{role}"
        );
    }
    for dataset in ["daily", "intraday", "options"] {
        assert_eq!(
            body(&calls, CRON_JOBS, &format!("small-{dataset}"))["spec"]["suspend"],
            true
        );
    }
    let status = h.status();
    assert_eq!(status["observedGeneration"], 2);
    assert_eq!(status["phase"], "Suspended");
    assert_eq!(condition(&status, "Suspended")["status"], "True");
    assert_eq!(condition(&status, "Ready")["reason"], "Suspended");
    assert_eq!(events(&calls), ["Suspended"]);
    // The topics stay.
    assert_eq!(h.kafka.topics().len(), 11);
}

#[tokio::test]
async fn deleting_a_pipeline_that_retains_its_topics_writes_nothing() {
    let h = harness(json!({}));
    h.reconcile().await.unwrap();
    assert!(h.api.get(PIPELINES, "small").unwrap()["metadata"]["finalizers"].is_null());
    h.calls();
    h.edit(
        PIPELINES,
        "small",
        json!({"metadata": {"deletionTimestamp": "2026-11-24T12:00:00Z"}}),
    );
    assert_eq!(h.reconcile().await.unwrap(), Action::await_change());
    assert!(h.calls().is_empty());
    assert_eq!(h.kafka.topics().len(), 11);
    assert!(h.kafka.deleted().is_empty());
}

#[tokio::test]
async fn deleting_a_pipeline_that_asks_for_it_deletes_its_topics_then_lets_go() {
    let h = harness(json!({"kafka": {"topicsOnDelete": "Delete"}}));
    h.reconcile().await.unwrap();
    let calls = h.calls();
    // The finalizer comes first, guarded by the resourceVersion, before any topic exists.
    assert_eq!(calls[0].line(), format!("PATCH {PIPELINES}/small"));
    assert_eq!(
        calls[0].content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert_eq!(
        calls[0].body.as_ref().unwrap()["metadata"]["finalizers"],
        json!(["optionsflow.io/topics"])
    );
    assert!(calls[0].body.as_ref().unwrap()["metadata"]["resourceVersion"].is_string());
    assert_eq!(h.kafka.topics().len(), 11);

    h.edit(
        PIPELINES,
        "small",
        json!({"metadata": {"deletionTimestamp": "2026-11-24T12:00:00Z"}}),
    );
    assert_eq!(h.reconcile().await.unwrap(), Action::await_change());
    let calls = h.calls();
    assert_eq!(
        lines(&calls),
        [format!("POST {EVENTS}"), format!("PATCH {PIPELINES}/small")]
    );
    assert_eq!(events(&calls), ["TopicsDeleted"]);
    assert_eq!(
        calls[1].body.as_ref().unwrap()["metadata"]["finalizers"],
        json!([])
    );
    assert!(h.kafka.topics().is_empty());
    assert_eq!(h.kafka.deleted().len(), 11);
}

#[tokio::test]
async fn an_unreachable_kafka_keeps_the_finalizer_and_retries() {
    let h = harness(json!({"kafka": {"topicsOnDelete": "Delete"}}));
    h.reconcile().await.unwrap();
    h.edit(
        PIPELINES,
        "small",
        json!({"metadata": {"deletionTimestamp": "2026-11-24T12:00:00Z"}}),
    );
    h.calls();
    h.kafka
        .down
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let error = h.reconcile().await.unwrap_err();
    assert_eq!(error.reason(), "KafkaUnreachable");
    assert!(!error.is_permanent());
    assert!(
        h.calls().is_empty(),
        "nothing written while the topics are not deleted"
    );
    let finalizers = h.api.get(PIPELINES, "small").unwrap()["metadata"]["finalizers"].clone();
    assert_eq!(finalizers, json!(["optionsflow.io/topics"]));

    // Changing one's mind to Retain releases the pipeline without touching Kafka.
    h.edit(
        PIPELINES,
        "small",
        json!({"spec": {"kafka": {"topicsOnDelete": "Retain"}}}),
    );
    h.reconcile().await.unwrap();
    assert_eq!(lines(&h.calls()), [format!("PATCH {PIPELINES}/small")]);
    assert_eq!(
        h.api.get(PIPELINES, "small").unwrap()["metadata"]["finalizers"],
        json!([])
    );
}

#[tokio::test]
async fn kafka_down_leaves_workloads_applied_and_says_degraded() {
    let h = harness(json!({}));
    h.kafka
        .down
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let error = h.reconcile().await.unwrap_err();
    assert_eq!(error.reason(), "KafkaUnreachable");
    let calls = h.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.uri.starts_with(DEPLOYMENTS) && c.method == "PATCH")
            .count(),
        ROLES.len()
    );
    let status = h.status();
    assert_eq!(status["phase"], "Degraded");
    assert_eq!(condition(&status, "Degraded")["reason"], "KafkaUnreachable");
    assert_eq!(events(&calls), ["KafkaUnreachable"]);
    let object: Arc<DeserializeGuard<OptionsPipeline>> =
        Arc::new(serde_json::from_value(h.api.get(PIPELINES, "small").unwrap()).unwrap());
    let first = super::error_policy(object.clone(), &error, h.ctx.clone());
    let second = super::error_policy(object, &error, h.ctx.clone());
    assert_ne!(first, Action::await_change());
    assert_ne!(first, second, "retries back off");
}

#[tokio::test]
async fn a_missing_symbol_set_is_reported_and_waits_for_a_change() {
    let h = harness(json!({"datasets": {"options": {"symbolSets": ["nowhere"]}}}));
    let error = h.reconcile().await.unwrap_err();
    assert_eq!(error.reason(), "SymbolSetNotFound");
    assert!(error.is_permanent());
    let calls = h.calls();
    assert_eq!(
        lines(&calls),
        [
            format!("GET {SETS}"),
            format!("PATCH {PIPELINES}/small/status"),
            format!("POST {EVENTS}")
        ]
    );
    let status = h.status();
    assert_eq!(condition(&status, "Ready")["reason"], "SymbolSetNotFound");
    assert!(
        condition(&status, "Ready")["message"]
            .as_str()
            .unwrap()
            .contains("nowhere")
    );
    let object: Arc<DeserializeGuard<OptionsPipeline>> =
        Arc::new(serde_json::from_value(h.api.get(PIPELINES, "small").unwrap()).unwrap());
    assert_eq!(
        super::error_policy(object, &error, h.ctx.clone()),
        Action::await_change()
    );
    assert!(h.kafka.topics().is_empty());
}

#[tokio::test]
async fn an_object_that_does_not_deserialize_is_reported_once() {
    let h = harness(json!({"kafka": "not an object"}));
    let error = h.reconcile().await.unwrap_err();
    assert_eq!(error.reason(), "InvalidObject");
    assert!(error.is_permanent());
    assert_eq!(
        lines(&h.calls()),
        [
            format!("GET {PIPELINES}/small"),
            format!("PATCH {PIPELINES}/small/status"),
            format!("POST {EVENTS}")
        ]
    );
    assert_eq!(h.status()["phase"], "Degraded");
    // Woken again by its own status write: the verdict is unchanged, so nothing is written.
    h.reconcile().await.unwrap_err();
    let again = lines(&h.calls());
    assert!(
        !again.contains(&format!("PATCH {PIPELINES}/small/status")),
        "{again:?}"
    );
}

#[tokio::test]
async fn children_no_longer_wanted_are_pruned_and_the_backfill_follows_its_dates() {
    let h = harness(json!({"datasets": {"historical": {"startDate": "2024-01-02"}}}));
    h.reconcile().await.unwrap();
    let first_jobs = h.api.names(JOBS);
    assert_eq!(first_jobs.len(), 1);
    assert!(first_jobs[0].starts_with("small-backfill-"));
    h.calls();

    h.edit(
        PIPELINES,
        "small",
        json!({"spec": {"datasets": {"intraday": {"enabled": false}, "historical": {"startDate": "2024-02-01"}}}}),
    );
    h.reconcile().await.unwrap();
    let calls = h.calls();
    let deletes: Vec<String> = lines(&calls)
        .into_iter()
        .filter(|l| l.starts_with("DELETE"))
        .collect();
    assert_eq!(
        deletes,
        [
            format!("DELETE {CRON_JOBS}/small-intraday"),
            format!("DELETE {JOBS}/{}", first_jobs[0])
        ]
    );
    let deleted = calls.iter().find(|c| c.method == "DELETE").unwrap();
    assert_eq!(
        deleted.body.as_ref().unwrap()["propagationPolicy"],
        "Background"
    );
    let jobs = h.api.names(JOBS);
    assert_eq!(jobs.len(), 1);
    assert_ne!(jobs, first_jobs);
    assert_eq!(events(&calls), ["Pruned"]);
}

#[tokio::test]
async fn a_replica_that_does_not_lead_writes_nothing() {
    let h = harness(json!({}));
    h.ctx
        .leading
        .store(false, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(h.reconcile().await.unwrap(), Action::await_change());
    assert!(h.calls().is_empty());
    assert!(h.kafka.topics().is_empty());
}

#[tokio::test]
async fn a_symbol_set_gets_its_count_and_readiness_once() {
    let h = harness(json!({}));
    let set = || -> Arc<DeserializeGuard<optionsflow_api::crd::SymbolSet>> {
        Arc::new(serde_json::from_value(h.api.get(SETS, "watchlist").unwrap()).unwrap())
    };
    crate::symbolsets::reconcile(set(), h.ctx.clone())
        .await
        .unwrap();
    assert_eq!(
        lines(&h.calls()),
        [format!("PATCH {SETS}/watchlist/status")]
    );
    let status = h.api.get(SETS, "watchlist").unwrap()["status"].clone();
    assert_eq!(status["count"], 2);
    assert_eq!(condition(&status, "Ready")["status"], "True");
    crate::symbolsets::reconcile(set(), h.ctx.clone())
        .await
        .unwrap();
    assert!(
        h.calls().is_empty(),
        "an unchanged set is not written again"
    );
}

#[tokio::test]
async fn a_suspended_pipeline_suspends_its_backfill_job_without_reapplying_it() {
    let h = harness(json!({"datasets": {"historical": {"startDate": "2024-01-02"}}}));
    h.reconcile().await.unwrap();
    let job = h.api.names(JOBS).remove(0);
    h.calls();
    h.edit(PIPELINES, "small", json!({"spec": {"suspend": true}}));
    h.reconcile().await.unwrap();
    let calls = h.calls();
    let job_calls: Vec<&Call> = calls
        .iter()
        .filter(|c| c.uri.starts_with(&format!("{JOBS}/")))
        .collect();
    assert_eq!(
        job_calls.iter().map(|c| c.line()).collect::<Vec<_>>(),
        [format!("GET {JOBS}/{job}"), format!("PATCH {JOBS}/{job}")]
    );
    // A merge patch of spec.suspend only: the Job's template is immutable.
    assert_eq!(
        job_calls[1].content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert_eq!(job_calls[1].body, Some(json!({"spec": {"suspend": true}})));
    assert_eq!(h.status()["backfill"]["state"], "Suspended");
}

#[tokio::test]
async fn roles_the_spec_does_not_provide_for_are_omitted_said_so_and_pruned() {
    let h = harness(json!({}));
    h.reconcile().await.unwrap();
    assert_eq!(h.api.names(DEPLOYMENTS).len(), ROLES.len());
    let status = h.status();
    assert_eq!(condition(&status, "RolesOmitted")["status"], "False");
    assert_eq!(status["omittedRoles"], json!([]));

    // No tokens: the api goes, with its Service; the others stay.
    h.edit(PIPELINES, "small", json!({"spec": {"api": null}}));
    h.reconcile().await.unwrap();
    assert!(!h.api.names(DEPLOYMENTS).contains(&"small-api".to_owned()));
    assert_eq!(h.api.names(SERVICES), ["small-metrics"]);
    let status = h.status();
    assert_eq!(
        status["omittedRoles"],
        json!([{"role": "api", "reason": "NoApiTokens",
                "message": "api needs API tokens: set spec.api.tokensSecret"}])
    );

    // No sinks either: only the collector and the processor, and that is Ready.
    h.edit(PIPELINES, "small", json!({"spec": {"sinks": null}}));
    h.reconcile().await.unwrap();
    h.roll_out();
    h.reconcile().await.unwrap();
    assert_eq!(
        h.api.names(DEPLOYMENTS),
        ["small-collector", "small-processor"]
    );
    let status = h.status();
    assert_eq!(status["phase"], "Ready");
    assert_eq!(status["workers"], "4/4");
    assert_eq!(condition(&status, "Degraded")["status"], "False");
    let omitted = condition(&status, "RolesOmitted");
    assert_eq!(
        (omitted["status"].as_str(), omitted["reason"].as_str()),
        (Some("True"), Some("RolesOmitted"))
    );
    assert_eq!(
        omitted["message"],
        "db-writer needs a database: set spec.sinks.postgres; file-writer needs a file store: \
         set spec.sinks.s3; influx-writer needs an InfluxDB server: set spec.sinks.influxdb; \
         api needs a database: set spec.sinks.postgres; predictor needs a database: set \
         spec.sinks.postgres"
    );
}

#[tokio::test]
async fn the_budget_condition_weighs_the_schedules_against_the_keys() {
    let h = harness(json!({}));
    h.reconcile().await.unwrap();
    let budget = condition(&h.status(), "BudgetInsufficient").clone();
    assert_eq!(
        (budget["status"].as_str(), budget["reason"].as_str()),
        (Some("True"), Some("NoApiKeys"))
    );

    // Two keys of 40 credits a day: daily 2 + intraday 27 runs × 2 symbols = 56 fits.
    h.api.put(
        "/api/v1/namespaces/research/secrets",
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "twelvedata", "namespace": "research"},
               "data": {"keys": "a2V5LW9uZSxrZXktdHdv"}}),
    );
    h.edit(
        PIPELINES,
        "small",
        json!({"spec": {"sources": {"twelveData": {
            "apiKeysSecret": {"name": "twelvedata", "key": "keys"},
            "budget": {"perDay": 40}}}}}),
    );
    h.reconcile().await.unwrap();
    let budget = condition(&h.status(), "BudgetInsufficient").clone();
    assert_eq!(budget["status"], "False", "{budget}");
    assert!(
        budget["message"].as_str().unwrap().contains(
            "56 Twelve Data credits a trading day: daily 2 (1 runs × 2 symbols), \
                       intraday 54 (27 runs × 2 symbols), within 2 keys × 40 a day = 80"
        ),
        "{budget}"
    );

    // One key: 40 < 56, a warning, and the pipeline is not Degraded for it.
    h.api.put(
        "/api/v1/namespaces/research/secrets",
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "twelvedata", "namespace": "research"},
               "data": {"keys": "a2V5LW9uZQ=="}}),
    );
    h.reconcile().await.unwrap();
    let status = h.status();
    let budget = condition(&status, "BudgetInsufficient");
    assert_eq!(
        (budget["status"].as_str(), budget["reason"].as_str()),
        (Some("True"), Some("BudgetInsufficient"))
    );
    assert!(
        budget["message"]
            .as_str()
            .unwrap()
            .contains("but 1 keys × 40 a day = 40")
    );
    assert_eq!(condition(&status, "Degraded")["status"], "False");
}
