//! The cluster the deployed tests run: the in-memory API server, the operator's real
//! reconcile against it, and the operator's Deployments, CronJobs and Jobs run as worker
//! processes the way a kubelet would start them.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::America::New_York;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{ConfigMap, PodSpec, PodTemplateSpec, Secret};
use kube::core::DeserializeGuard;
use kube::runtime::events::{Recorder, Reporter};
use optionsflow_api::RuntimeConfig;
use optionsflow_api::crd::OptionsPipeline;
use optionsflow_api::schedule::Schedule;
use optionsflow_operator::reconcile::{Context, Retries, reconcile};
use optionsflow_operator::topics::kafka::KafkaAdmins;
use optionsflow_operator::validate::Settings;
use optionsflow_testkit::fake::{cboe, twelvedata};
use optionsflow_testkit::fake_api::FakeApi;
use optionsflow_testkit::kubelet::Namespace;
use optionsflow_testkit::moto::Moto;
use optionsflow_testkit::process::Worker;
use optionsflow_testkit::tansu::Tansu;
use serde_json::{Value, json};

use crate::common::{WORKER, admin_get, trading_day, wait_for};

pub const NS: &str = "markets";
pub const PIPELINE: &str = "e2e";
pub const TOKEN: &str = "token-of-the-research-team";

pub fn collection(plural: &str) -> String {
    match plural {
        "optionspipelines" | "symbolsets" => {
            format!("/apis/optionsflow.io/v1alpha1/namespaces/{NS}/{plural}")
        }
        "deployments" => format!("/apis/apps/v1/namespaces/{NS}/deployments"),
        "cronjobs" | "jobs" => format!("/apis/batch/v1/namespaces/{NS}/{plural}"),
        _ => format!("/api/v1/namespaces/{NS}/{plural}"),
    }
}

/// A pod the harness runs: its process and where its ports went.
pub struct Pod {
    pub deployment: String,
    pub worker: Worker,
    pub admin: String,
    pub http: Option<String>,
}

pub struct Cluster {
    pub api: FakeApi,
    pub ctx: Arc<Context<KafkaAdmins>>,
    pub pods: Vec<Pod>,
    pub dir: tempfile::TempDir,
    pub restarts: usize,
}

impl Cluster {
    pub fn objects<T: serde::de::DeserializeOwned>(&self, plural: &str) -> Vec<T> {
        let c = collection(plural);
        self.api
            .names(&c)
            .iter()
            .map(|n| serde_json::from_value(self.api.get(&c, n).unwrap()).unwrap())
            .collect()
    }

    /// The namespace as a kubelet sees it now.
    pub fn namespace(&self) -> Namespace {
        let mut ns = Namespace {
            name: NS.into(),
            ..Namespace::default()
        };
        for s in self.objects::<Secret>("secrets") {
            ns.secrets.insert(s.metadata.name.clone().unwrap(), s);
        }
        for m in self.objects::<ConfigMap>("configmaps") {
            ns.config_maps.insert(m.metadata.name.clone().unwrap(), m);
        }
        ns
    }

    /// The operator, with the API server as its client (the real reconcile, the real Kafka
    /// admin client).
    pub fn new(api: FakeApi) -> Cluster {
        let client = api.client();
        let ctx = Arc::new(Context {
            client: client.clone(),
            settings: Settings {
                worker_image: "optionsflow-worker:e2e".into(),
                ..Settings::default()
            },
            admins: KafkaAdmins::new(Duration::from_secs(10)),
            recorder: Recorder::new(
                client,
                Reporter {
                    controller: "optionsflow-operator".into(),
                    instance: Some("e2e".into()),
                },
            ),
            metrics: optionsflow_operator::metrics::Metrics::new(),
            leading: Arc::new(AtomicBool::new(true)),
            retries: Retries::default(),
        });
        Cluster {
            api,
            ctx,
            pods: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
            restarts: 0,
        }
    }

    pub async fn try_reconcile(&self) -> Result<(), optionsflow_operator::error::Error> {
        let object: DeserializeGuard<OptionsPipeline> = serde_json::from_value(
            self.api
                .get(&collection("optionspipelines"), PIPELINE)
                .unwrap(),
        )
        .unwrap();
        reconcile(Arc::new(object), self.ctx.clone())
            .await
            .map(drop)
    }

    pub async fn reconcile(&self) {
        self.try_reconcile().await.expect("the reconcile succeeds");
    }

    pub fn status(&self) -> Value {
        self.api
            .get(&collection("optionspipelines"), PIPELINE)
            .unwrap()["status"]
            .clone()
    }

    /// Starts one pod of a Deployment, as its ReplicaSet would.
    pub fn start_pod(&mut self, deployment: &Deployment, name: &str) {
        let spec = pod_spec(&deployment.spec.as_ref().unwrap().template);
        let container = &spec.containers[0];
        let root = self.dir.path().join(name);
        let mut prepared = self
            .namespace()
            .prepare(&spec, container, name, &root)
            .unwrap_or_else(|e| panic!("{name} cannot start: {e}"));
        assert_eq!(prepared.program, optionsflow_api::role::WORKER_PROGRAM);
        let ports = prepared.remap_ports(container);
        let port_of = |name: &str| {
            let inside = container
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name))?
                .container_port;
            Some(format!("127.0.0.1:{}", ports[&inside]))
        };
        let mut command = prepared.command(Path::new(WORKER));
        command.env("RUST_LOG", "info,librdkafka=warn,rdkafka=warn");
        self.pods.push(Pod {
            deployment: deployment.metadata.name.clone().unwrap(),
            worker: Worker::spawn_command(name, command, self.dir.path()),
            admin: port_of("admin").expect("an admin port"),
            http: port_of("http"),
        });
    }

    /// Every replica of every Deployment: the first of each, then once those are ready and
    /// in their groups, the rest. tansu keeps a dead group leader (docs/testing.md), so the
    /// kills below hit a later replica, and the order makes sure it is not the leader.
    pub fn start_deployments(&mut self) {
        let deployments = self.objects::<Deployment>("deployments");
        let max = deployments
            .iter()
            .map(|d| d.spec.as_ref().unwrap().replicas.unwrap_or(1))
            .max()
            .unwrap_or(0);
        for i in 0..max {
            for d in &deployments {
                if i < d.spec.as_ref().unwrap().replicas.unwrap_or(1) {
                    let name = format!("{}-{i}", d.metadata.name.as_deref().unwrap());
                    self.start_pod(d, &name);
                }
            }
            let workers = self.workers();
            wait_for("the pods ready", Duration::from_secs(120), &workers, || {
                self.pods.iter().all(Cluster::ready)
            });
            std::thread::sleep(Duration::from_secs(3));
        }
    }

    pub fn ready(pod: &Pod) -> bool {
        admin_get(&pod.admin, "/readyz").is_some_and(|(s, _)| s == 200)
    }

    /// Polls every pod's readiness probe until all pass, then writes each Deployment's
    /// `readyReplicas` as the Deployment controller would.
    pub fn wait_ready_and_report(&self) {
        let workers: Vec<&Worker> = self.pods.iter().map(|p| &p.worker).collect();
        wait_for(
            "every pod ready",
            Duration::from_secs(180),
            &workers,
            || self.pods.iter().all(Cluster::ready),
        );
        let c = collection("deployments");
        for name in self.api.names(&c) {
            let ready = self
                .pods
                .iter()
                .filter(|p| p.deployment == name && Cluster::ready(p))
                .count();
            let mut d = self.api.get(&c, &name).unwrap();
            let replicas = d["spec"]["replicas"].clone();
            d["status"] = json!({"replicas": replicas, "readyReplicas": ready,
                                 "availableReplicas": ready, "observedGeneration": 1});
            self.api.put(&c, d);
        }
    }

    /// Runs a Job's pod to completion with its logical time set to `at`.
    pub fn run_job(&self, what: &str, pod: &PodSpec, at: DateTime<Utc>) {
        let container = &pod.containers[0];
        let root = self.dir.path().join(what);
        let prepared = self
            .namespace()
            .prepare(pod, container, what, &root)
            .unwrap_or_else(|e| panic!("{what} cannot start: {e}"));
        let out = prepared
            .command(Path::new(WORKER))
            .env("OPTIONSFLOW_SCHEDULED_TIME", at.to_rfc3339())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && said.contains("published"),
            "{what}: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Fires every CronJob once on the trading day, at its first run at or after `after`
    /// (New York), and records the run in its status as the CronJob controller would.
    pub fn fire_cron_jobs(&self, after: NaiveTime) {
        let c = collection("cronjobs");
        for cron in self.objects::<CronJob>("cronjobs") {
            let spec = cron.spec.as_ref().unwrap();
            let schedule =
                Schedule::parse(&spec.schedule, spec.time_zone.as_deref().unwrap()).unwrap();
            let from = New_York
                .from_local_datetime(&trading_day().and_time(after))
                .unwrap()
                .with_timezone(&Utc);
            let at = schedule
                .next_after(from - chrono::Duration::seconds(1))
                .unwrap();
            let pod = pod_spec(&spec.job_template.spec.as_ref().unwrap().template);
            let name = cron.metadata.name.clone().unwrap();
            self.run_job(&format!("{name}-{}", at.timestamp()), &pod, at);
            let mut object = self.api.get(&c, &name).unwrap();
            object["status"] = json!({"lastScheduleTime": at.to_rfc3339(),
                                      "lastSuccessfulTime": at.to_rfc3339()});
            self.api.put(&c, object);
        }
    }

    /// SIGKILLs the last-started pod of every Deployment and starts its replacement.
    pub fn kill_one_of_each(&mut self) {
        let mut killed = BTreeSet::new();
        for pod in self.pods.iter_mut().rev() {
            if killed.insert(pod.deployment.clone()) {
                pod.worker.kill();
            }
        }
        self.pods
            .retain(|p| !killed.contains(&p.deployment) || Cluster::alive(p));
        self.restarts += 1;
        for d in self.objects::<Deployment>("deployments") {
            let name = format!("{}-r{}", d.metadata.name.as_deref().unwrap(), self.restarts);
            self.start_pod(&d, &name);
        }
    }

    /// SIGKILLs `self.pods[index]` and starts a replacement for its Deployment; returns the
    /// killed pod's name.
    pub fn kill_and_replace(&mut self, index: usize) -> String {
        let mut pod = self.pods.remove(index);
        pod.worker.kill();
        self.restarts += 1;
        let deployment = self
            .objects::<Deployment>("deployments")
            .into_iter()
            .find(|d| d.metadata.name.as_deref() == Some(pod.deployment.as_str()))
            .expect("the killed pod's Deployment");
        let name = format!("{}-r{}", pod.deployment, self.restarts);
        self.start_pod(&deployment, &name);
        pod.worker.name.clone()
    }

    /// Every replica of every Deployment started, ready and reported, and the pipeline
    /// reconciled again.
    pub async fn run_deployments(&mut self) {
        self.start_deployments();
        self.wait_ready_and_report();
        self.reconcile().await;
    }

    pub fn alive(pod: &Pod) -> bool {
        admin_get(&pod.admin, "/healthz").is_some()
    }

    pub fn workers(&self) -> Vec<&Worker> {
        self.pods.iter().map(|p| &p.worker).collect()
    }
}

/// The parts a cluster would have: Kafka, PostgreSQL, S3 with the bucket `lake`, and the
/// providers (Twelve Data with `keys`, Cboe).
pub struct Parts {
    pub tansu: Tansu,
    pub database_url: String,
    pub moto: Moto,
    pub td: twelvedata::FakeTwelveData,
    pub cboe: cboe::FakeCboe,
    pub keys: Vec<String>,
}

impl Parts {
    pub async fn start(tansu: Tansu, database_url: String, td: twelvedata::Config) -> Parts {
        let moto = Moto::start();
        let bucket = reqwest::Client::new()
            .put(format!("{}/lake", moto.endpoint()))
            .send()
            .await
            .unwrap();
        assert!(bucket.status().is_success());
        let keys = td.keys.clone();
        Parts {
            tansu,
            database_url,
            moto,
            td: twelvedata::FakeTwelveData::start(td).await,
            cboe: cboe::FakeCboe::start(cboe::Config::new(trading_day())).await,
            keys,
        }
    }

    /// The Secrets the pipeline names: the Twelve Data keys, the database URL, S3
    /// credentials and the API's tokens.
    pub fn secrets(&self, api_tokens: &str) -> Vec<Value> {
        vec![
            secret("twelvedata", json!({"api-keys": self.keys.join(",")})),
            secret("db", json!({"url": self.database_url})),
            secret(
                "s3",
                json!({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}),
            ),
            secret("api", json!({"tokens": api_tokens})),
        ]
    }

    /// A pipeline on these parts (options from Cboe, CSV files under `prefix` in the bucket),
    /// with `overrides` merged in.
    pub fn spec(&self, prefix: &str, overrides: Value) -> Value {
        let mut spec = json!({
            "datasets": {"options": {"source": "cboe", "horizonDays": 30}},
            "sources": {
              "twelveData": {"apiKeysSecret": {"name": "twelvedata", "key": "api-keys"},
                             "baseUrl": self.td.url()},
              "cboe": {"baseUrl": self.cboe.url()}},
            "kafka": {"bootstrapServers": self.tansu.bootstrap(), "replicationFactor": 1},
            "sinks": {
              "postgres": {"urlSecret": {"name": "db", "key": "url"}},
              "s3": {"bucket": "lake", "prefix": prefix, "endpoint": self.moto.endpoint(),
                     "pathStyle": true, "credentialsSecret": "s3"}},
            "api": {"tokensSecret": {"name": "api", "key": "tokens"}}});
        merge(&mut spec, overrides);
        spec
    }
}

/// Merges `from` into `into`, object by object; anything else in `from` replaces.
fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                merge(into.entry(key).or_insert(Value::Null), value);
            }
        }
        (into, from) => *into = from,
    }
}

/// The runtime config the operator rendered into the pipeline's ConfigMap.
pub fn runtime_config(cluster: &Cluster) -> RuntimeConfig {
    RuntimeConfig::from_json(
        cluster.objects::<ConfigMap>("configmaps")[0]
            .data
            .as_ref()
            .unwrap()["runtime.json"]
            .as_str(),
    )
    .unwrap()
}

/// What a user applies: the SymbolSet `watchlist` (SPY, AAPL), Secrets, and the pipeline.
pub fn user_objects(secrets: Vec<Value>, spec: Value) -> FakeApi {
    let api = FakeApi::default();
    api.put(
        &collection("symbolsets"),
        json!({"apiVersion": "optionsflow.io/v1alpha1", "kind": "SymbolSet",
               "metadata": {"name": "watchlist", "namespace": NS},
               "spec": {"symbols": ["SPY", "AAPL"]}}),
    );
    for s in secrets {
        api.put(&collection("secrets"), s);
    }
    api.put(
        &collection("optionspipelines"),
        json!({"apiVersion": "optionsflow.io/v1alpha1", "kind": "OptionsPipeline",
               "metadata": {"name": PIPELINE, "namespace": NS}, "spec": spec}),
    );
    api
}

pub fn secret(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": name, "namespace": NS}, "stringData": data})
}

pub fn pod_spec(template: &PodTemplateSpec) -> PodSpec {
    template.spec.clone().expect("a pod template has a spec")
}
