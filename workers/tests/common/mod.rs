//! A pipeline for integration tests: a tansu broker with the pipeline's topics (5 partitions
//! each), the three fake providers, a runtime config pointing at them, and helpers to run
//! worker processes and read topics back.

#![allow(dead_code)]

pub mod local;

use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use optionsflow_api::{RuntimeConfig, TopicKind};
use optionsflow_testkit::fake::{cboe, twelvedata, yahoo};
use optionsflow_testkit::kafka::{self, Record};
use optionsflow_testkit::process::Worker;
use optionsflow_testkit::tansu::{Tansu, free_port};
use rdkafka::ClientConfig;
use rdkafka::producer::FutureProducer;

pub const WORKER: &str = env!("CARGO_BIN_EXE_optionsflow-worker");
pub const PARTITIONS: i32 = 5;

/// The trading day the tests collect: Tuesday 2026-11-24.
pub fn trading_day() -> NaiveDate {
    "2026-11-24".parse().unwrap()
}

/// Starts `optionsflow-worker <role> --config <config>` with an admin address of its own and
/// a 5-second shutdown grace, in `dir`; returns it with its admin address.
pub fn spawn_role(
    name: &str,
    role: &str,
    config: &std::path::Path,
    env: &[(&str, &str)],
    dir: &std::path::Path,
) -> (Worker, String) {
    let admin = format!("127.0.0.1:{}", free_port());
    let args = [
        role,
        "--config",
        config.to_str().unwrap(),
        "--admin-addr",
        &admin,
        "--shutdown-grace",
        "5",
    ];
    (Worker::spawn(name, WORKER.as_ref(), &args, env, dir), admin)
}

/// The runtime config written to `runtime.json` in a new folder.
pub fn config_file(config: &RuntimeConfig) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runtime.json");
    std::fs::write(&path, serde_json::to_string_pretty(config).unwrap()).unwrap();
    (dir, path)
}

/// A tansu broker with a pipeline's topics, that pipeline's runtime config (also in a file),
/// and a producer to it: for the tests that feed topics themselves.
pub struct Topics {
    pub tansu: Tansu,
    pub config: RuntimeConfig,
    pub config_path: PathBuf,
    pub dir: tempfile::TempDir,
    pub producer: FutureProducer,
}

impl Topics {
    /// A pipeline named `name` and this process's id, with `rest` more of the runtime
    /// config's JSON (`"sinks": {...}`); every topic but those of the kinds in `later` exists.
    pub async fn start(name: &str, rest: &str, later: &[TopicKind]) -> Topics {
        let tansu = Tansu::start();
        let config = RuntimeConfig::from_json(&format!(
            r#"{{"pipeline": {{"namespace": "test", "name": "{name}{}"}},
                 "kafka": {{"bootstrapServers": "{}", "sessionTimeoutMs": 6000,
                           "properties": {{"topic.metadata.refresh.interval.ms": "1000"}}}},
                 {rest}}}"#,
            std::process::id(),
            tansu.bootstrap()
        ))
        .unwrap();
        let names: Vec<String> = config
            .topics()
            .all()
            .into_iter()
            .filter(|(kind, _)| !later.contains(kind))
            .map(|(_, name)| name)
            .collect();
        kafka::create_topics(&tansu.bootstrap(), &names, PARTITIONS).await;
        let (dir, config_path) = config_file(&config);
        let producer = ClientConfig::new()
            .set("bootstrap.servers", tansu.bootstrap())
            .create()
            .unwrap();
        Topics {
            tansu,
            config,
            config_path,
            dir,
            producer,
        }
    }
}

/// 17:00 New York on the trading day, after the close.
pub const AFTER_CLOSE: &str = "2026-11-24T22:00:00Z";

/// `n` distinct valid tickers: TAA, TAB, ...
pub fn tickers(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let a = (b'A' + (i / 26 % 26) as u8) as char;
            let b = (b'A' + (i % 26) as u8) as char;
            format!("T{a}{b}")
        })
        .collect()
}

/// Tickers as the config's symbol type.
pub fn as_symbols<S: AsRef<str>>(tickers: &[S]) -> Vec<optionsflow_api::Symbol> {
    tickers
        .iter()
        .map(|t| t.as_ref().parse().unwrap())
        .collect()
}

pub struct Setup {
    pub twelvedata: twelvedata::Config,
    pub yahoo: yahoo::Config,
    pub cboe: cboe::Config,
    pub config: RuntimeConfig,
}

pub struct Harness {
    pub tansu: Tansu,
    pub twelvedata: twelvedata::FakeTwelveData,
    pub yahoo: yahoo::FakeYahoo,
    pub cboe: cboe::FakeCboe,
    pub config: RuntimeConfig,
    pub config_path: PathBuf,
    pub dir: tempfile::TempDir,
    pub keys: String,
}

impl Harness {
    pub async fn start(customize: impl FnOnce(&mut Setup)) -> Harness {
        Harness::start_on(Tansu::start(), customize).await
    }

    /// With a broker whose data survives `tansu.restart()`.
    pub async fn start_persistent(customize: impl FnOnce(&mut Setup)) -> Harness {
        Harness::start_on(Tansu::start_persistent(), customize).await
    }

    async fn start_on(tansu: Tansu, customize: impl FnOnce(&mut Setup)) -> Harness {
        let config = RuntimeConfig::from_json(&format!(
            r#"{{"pipeline": {{"namespace": "test", "name": "p{}"}},
                 "kafka": {{"bootstrapServers": "{}", "sessionTimeoutMs": 6000}}}}"#,
            std::process::id(),
            tansu.bootstrap()
        ))
        .unwrap();
        let mut setup = Setup {
            twelvedata: twelvedata::Config::free_plan(&["key-one"], trading_day()),
            yahoo: yahoo::Config::new(trading_day()),
            cboe: cboe::Config::new(trading_day()),
            config,
        };
        // 5-second budget windows: a collector waits for the next window after it is given
        // partitions, and tests should not wait a minute for it.
        setup.twelvedata.window_seconds = 5;
        setup.yahoo.window_seconds = 5;
        for budget in [
            &mut setup.config.sources.twelve_data.budget,
            &mut setup.config.sources.yahoo.budget,
            &mut setup.config.sources.cboe.budget,
        ] {
            budget.window_seconds = 5;
        }
        customize(&mut setup);
        let keys = setup.twelvedata.keys.join(",");
        let twelvedata = twelvedata::FakeTwelveData::start(setup.twelvedata).await;
        let yahoo = yahoo::FakeYahoo::start(setup.yahoo).await;
        let cboe = cboe::FakeCboe::start(setup.cboe).await;
        let mut config = setup.config;
        config.sources.twelve_data.base_url = twelvedata.url();
        config.sources.yahoo.base_url = yahoo.base_url();
        config.sources.yahoo.cookie_url = yahoo.cookie_url();
        config.sources.yahoo.crumb_url = yahoo.crumb_url();
        config.sources.cboe.base_url = cboe.url();
        let names: Vec<String> = config.topics().all().into_iter().map(|(_, n)| n).collect();
        kafka::create_topics(&tansu.bootstrap(), &names, PARTITIONS).await;
        let (dir, config_path) = config_file(&config);
        Harness {
            tansu,
            twelvedata,
            yahoo,
            cboe,
            config,
            config_path,
            dir,
            keys,
        }
    }

    pub fn topic(&self, kind: TopicKind) -> String {
        self.config.topics().name(kind)
    }

    /// A collector process; returns it with its admin address.
    pub fn collector(&self, name: &str) -> (Worker, String) {
        let env = [
            ("TWELVEDATA_API_KEYS", self.keys.as_str()),
            ("RUST_LOG", "info,librdkafka=warn,rdkafka=warn"),
            ("RUST_BACKTRACE", "0"),
        ];
        spawn_role(name, "collect", &self.config_path, &env, self.dir.path())
    }

    pub fn trigger(&self, dataset: &str, at: &str) -> Output {
        std::process::Command::new(WORKER)
            .args([
                "trigger",
                "--config",
                self.config_path.to_str().unwrap(),
                "--dataset",
                dataset,
                "--at",
                at,
            ])
            .output()
            .expect("trigger runs")
    }

    /// Everything the topic holds now.
    /// Runs the trigger and insists that it succeeded.
    pub fn trigger_ok(&self, dataset: &str, at: &str) {
        let out = self.trigger(dataset, at);
        assert!(
            out.status.success(),
            "trigger {dataset}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn read(&self, kind: TopicKind) -> Vec<Record> {
        kafka::read_all(
            &self.tansu.bootstrap(),
            &self.topic(kind),
            Duration::from_secs(60),
        )
    }

    pub fn count(&self, kind: TopicKind) -> i64 {
        kafka::counts(&self.tansu.bootstrap(), &self.topic(kind))
            .values()
            .sum()
    }
}

/// Waits until `done` holds, panicking with `what` (and the workers' logs) after `timeout`.
pub fn wait_for(
    what: &str,
    timeout: Duration,
    workers: &[&Worker],
    mut done: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() > deadline {
            let logs: Vec<String> = workers
                .iter()
                .map(|w| format!("----- {} -----\n{}", w.name, head_and_tail(&w.log(), 30)))
                .collect();
            panic!("timed out waiting for {what}\n{}", logs.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The first and last lines of a log: how it started, and how it ended.
pub fn head_and_tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    if all.len() <= 2 * lines {
        return all.join("\n");
    }
    format!(
        "{}\n[…]\n{}",
        all[..lines].join("\n"),
        all[all.len() - lines..].join("\n")
    )
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// GET on the admin server: (status, body).
pub fn admin_get(admin: &str, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(admin).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {admin}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

/// Waits for a collector to be ready and to own some task-queue partitions.
pub fn wait_ready(worker: &Worker, admin: &str) {
    wait_for(
        &format!("{} to be ready", worker.name),
        Duration::from_secs(60),
        &[worker],
        || {
            admin_get(admin, "/readyz").is_some_and(|(s, _)| s == 200)
                && worker.log().contains("task-queue partitions assigned")
        },
    );
}

/// Object keys and bodies in a bucket of moto's, read with signed requests as any S3 client
/// makes them.
pub async fn bucket_objects(
    moto: &optionsflow_testkit::moto::Moto,
    bucket: &str,
) -> std::collections::BTreeMap<String, String> {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(moto.endpoint())
        .force_path_style(true)
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let listing = client
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(listing.is_truncated(), Some(false));
    let mut objects = std::collections::BTreeMap::new();
    for object in listing.contents() {
        let key = object.key().unwrap().to_owned();
        let body = client
            .get_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .unwrap();
        let bytes = body.body.collect().await.unwrap().into_bytes();
        objects.insert(key, String::from_utf8(bytes.to_vec()).unwrap());
    }
    objects
}
