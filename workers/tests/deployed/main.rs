//! The deployed whole, run as a kubelet would. SymbolSets, an OptionsPipeline and its Secrets
//! go into an in-memory API server; the operator's real reconcile turns them into objects
//! (and creates the topics on a real broker); every Deployment's replicas then run as
//! processes of the real worker binary with exactly their container's command, args and
//! environment (see `optionsflow_testkit::kubelet` for the two liberties: mount paths and
//! ports); readiness probes are polled and written back as `readyReplicas`; each CronJob's
//! job template runs once, and the backfill Job. Against tansu, PostgreSQL, moto and the
//! stand-in providers: rows for every dataset, CSV objects in S3, the API with and without
//! its token, and a `Ready` pipeline. Then one replica of each role is SIGKILLed in the middle
//! of a second round and replaced: nothing is lost and nothing duplicated.
//!
//! A CronJob pod learns nothing of its schedule from Kubernetes; the harness fires each at a
//! time its schedule gives on the stand-in providers' trading day, through the trigger's
//! `OPTIONSFLOW_SCHEDULED_TIME`, as a cluster would on that day.

mod cluster;
#[path = "../common/mod.rs"]
mod common;
mod faults;
mod soak;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{NaiveTime, TimeZone, Utc};
use chrono_tz::America::New_York;
use cluster::{
    Cluster, PIPELINE, Parts, TOKEN, collection, pod_spec, runtime_config, secret, user_objects,
};
use common::{trading_day, wait_for};
use k8s_openapi::api::batch::v1::Job;
use optionsflow_api::{Dataset, Role, RuntimeConfig, TopicKind};
use optionsflow_testkit::fake::{cboe, twelvedata};
use optionsflow_testkit::kafka;
use optionsflow_testkit::postgres::{TestDatabase, psql};
use optionsflow_testkit::tansu::{SecuredKafka, Tansu};
use optionsflow_workers::stages::process::Records;
use optionsflow_workers::stages::write::decode;
use serde_json::{Value, json};

/// What a consuming role's group has not committed yet: `group topic/partition committed/end`.
fn lag(bootstrap: &str, config: &RuntimeConfig) -> Vec<String> {
    let topics = config.topics();
    let raw: Vec<TopicKind> = Dataset::ALL.iter().map(|d| TopicKind::raw(*d)).collect();
    let processed: Vec<TopicKind> = Dataset::ALL
        .iter()
        .map(|d| TopicKind::processed(*d))
        .collect();
    let groups = [
        (Role::Collector, vec![TopicKind::TaskQueue]),
        (Role::Processor, raw),
        (Role::DbWriter, processed.clone()),
        (Role::FileWriter, processed),
    ];
    let mut behind = Vec::new();
    for (role, kinds) in &groups {
        for kind in kinds {
            let topic = topics.name(*kind);
            let ends = kafka::counts(bootstrap, &topic);
            let committed = kafka::committed(bootstrap, &topics.consumer_group(*role), &topic);
            for (p, end) in ends {
                let at = committed.get(&p).copied().unwrap_or(-1);
                if end > 0 && at < end {
                    behind.push(format!("{role} {topic}/{p} {at}/{end}"));
                }
            }
        }
    }
    behind
}

/// Messages on the processed topics of the scheduled datasets.
fn processed_messages(bootstrap: &str, config: &RuntimeConfig) -> i64 {
    [Dataset::Daily, Dataset::Intraday, Dataset::Options]
        .iter()
        .map(|d| {
            let topic = config.topics().name(TopicKind::processed(*d));
            kafka::counts(bootstrap, &topic).values().sum::<i64>()
        })
        .sum()
}

/// Waits until every group has committed everything, and `also` holds.
fn settle(
    cluster: &Cluster,
    bootstrap: &str,
    config: &RuntimeConfig,
    what: &str,
    also: impl Fn() -> bool,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    loop {
        let behind = lag(bootstrap, config);
        if behind.is_empty() && also() {
            return;
        }
        if std::time::Instant::now() > deadline {
            let logs: Vec<String> = cluster
                .pods
                .iter()
                .map(|p| {
                    format!(
                        "----- {} -----\n{}",
                        p.worker.name,
                        common::head_and_tail(&p.worker.log(), 15)
                    )
                })
                .collect();
            panic!("{what}: still behind: {behind:?}\n{}", logs.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// What the processed topics hold.
struct Published {
    /// The primary keys of every record, per table.
    keys: BTreeMap<&'static str, BTreeSet<String>>,
    /// Records per dataset, counting each copy (a round that re-delivers a day publishes
    /// its bars again).
    records: BTreeMap<Dataset, usize>,
}

/// Every record on the processed topics, read within `timeout` per topic.
fn published(bootstrap: &str, config: &RuntimeConfig, timeout: Duration) -> Published {
    let mut keys: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    let mut records = BTreeMap::new();
    for dataset in Dataset::ALL {
        let topic = config.topics().name(TopicKind::processed(dataset));
        for record in kafka::read_all(bootstrap, &topic, timeout) {
            let incoming = decode(&serde_json::to_vec(&record.value).unwrap(), dataset)
                .expect("processed messages decode");
            *records.entry(dataset).or_default() += incoming.records.len();
            match incoming.records {
                Records::Bars(batch) => {
                    for b in batch.records {
                        let (table, key) = if dataset == Dataset::Intraday {
                            (
                                "intraday_bars",
                                format!("{}|{}", b.symbol, b.bar_time.timestamp()),
                            )
                        } else {
                            ("daily_bars", format!("{}|{}", b.symbol, b.trade_date))
                        };
                        keys.entry(table).or_default().insert(key);
                    }
                }
                Records::Quotes(batch) => {
                    for q in batch.records {
                        keys.entry("option_quotes").or_default().insert(format!(
                            "{}|{}",
                            q.contract,
                            q.snapshot_time.timestamp()
                        ));
                    }
                }
            }
        }
    }
    Published { keys, records }
}

fn stored_keys(url: &str) -> BTreeMap<&'static str, BTreeSet<String>> {
    let rows =
        |sql: &str| -> BTreeSet<String> { psql(url, sql).lines().map(str::to_owned).collect() };
    BTreeMap::from([
        (
            "daily_bars",
            rows("SELECT symbol || '|' || trade_date FROM daily_bars"),
        ),
        (
            "intraday_bars",
            rows(
                "SELECT symbol || '|' || floor(extract(epoch FROM bar_time))::bigint FROM intraday_bars",
            ),
        ),
        (
            "option_quotes",
            rows(
                "SELECT contract || '|' || floor(extract(epoch FROM snapshot_time))::bigint FROM option_quotes",
            ),
        ),
    ])
}

fn count(url: &str, sql: &str) -> i64 {
    psql(url, sql).parse().unwrap()
}

/// The printer columns of `kubectl get optionspipelines`, from the CRD's JSONPaths.
fn kubectl_get_line(status: &Value) -> String {
    let ready = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .map(|c| c["status"].as_str().unwrap().to_owned())
        .unwrap_or_default();
    format!(
        "NAME   READY   PHASE   SYMBOLS   WORKERS   LAST OPTIONS FETCH\n{PIPELINE}    {ready}    {}   {}         {}     {}",
        status["phase"].as_str().unwrap_or_default(),
        status["symbols"],
        status["workers"].as_str().unwrap_or_default(),
        status["lastOptionsFetch"].as_str().unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_output_runs_stores_every_dataset_serves_it_and_survives_kills() {
    // The parts a cluster would have: Kafka, PostgreSQL, S3, and the providers.
    let database = TestDatabase::create("deployed");
    let day = trading_day();
    let parts = Parts::start(
        Tansu::start(),
        database.url.clone(),
        twelvedata::Config::free_plan(&["key-one", "key-two"], day),
    )
    .await;

    // What a user applies.
    let api = user_objects(
        parts.secrets(&format!("{TOKEN}\nanother-token\n")),
        parts.spec(
            "market/",
            json!({
                "symbolSets": ["watchlist"],
                "datasets": {"historical": {"startDate": "2026-06-01"}},
                "sinks": {"s3": {"maxFileAgeSeconds": 2}}}),
        ),
    );

    let mut cluster = Cluster::new(api);
    cluster.reconcile().await;
    let status = cluster.status();
    assert_eq!(status["phase"], "Progressing", "{status}");
    assert_eq!(status["topics"].as_array().unwrap().len(), 11, "{status}");
    let config = runtime_config(&cluster);

    // The kubelet: every replica of every Deployment, ready, reported.
    cluster.run_deployments().await;
    assert_eq!(cluster.pods.len(), 10, "5 roles × 2 replicas");

    // The schedules: each CronJob once, in the afternoon session; the backfill Job.
    cluster.fire_cron_jobs(NaiveTime::from_hms_opt(15, 0, 0).unwrap());
    let after_close = New_York
        .from_local_datetime(&day.and_hms_opt(17, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    for job in cluster.objects::<Job>("jobs") {
        let pod = pod_spec(&job.spec.as_ref().unwrap().template);
        cluster.run_job(job.metadata.name.as_deref().unwrap(), &pod, after_close);
        let c = collection("jobs");
        let mut object = cluster
            .api
            .get(&c, job.metadata.name.as_deref().unwrap())
            .unwrap();
        object["status"] = json!({"succeeded": 1});
        cluster.api.put(&c, object);
    }

    let url = database.url.clone();
    let bootstrap = parts.tansu.bootstrap();
    let historical_before = day - chrono::Duration::days(60);
    wait_for(
        "rows of every dataset in PostgreSQL",
        Duration::from_secs(300),
        &cluster.workers(),
        || {
            count(
                &url,
                &format!("SELECT count(*) FROM daily_bars WHERE trade_date = '{day}'"),
            ) >= 2
                && count(
                    &url,
                    &format!(
                        "SELECT count(*) FROM daily_bars WHERE trade_date < '{historical_before}'"
                    ),
                ) > 0
                && count(&url, "SELECT count(*) FROM intraday_bars") > 0
                && count(&url, "SELECT count(DISTINCT underlying) FROM option_quotes") == 2
        },
    );
    settle(&cluster, &bootstrap, &config, "the first round", || true);

    // CSV files in S3, one folder per dataset.
    let listing = reqwest::get(format!(
        "{}/lake?list-type=2&prefix=market/",
        parts.moto.endpoint()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    for folder in Dataset::ALL.map(Dataset::as_str) {
        assert!(
            listing.contains(&format!("<Key>market/{folder}")),
            "no {folder} files in {listing}"
        );
    }

    // The API, with the token from the Secret and without.
    let api_pod = cluster
        .pods
        .iter()
        .find(|p| p.http.is_some())
        .expect("an api pod");
    let symbols = format!("http://{}/api/v1/symbols", api_pod.http.as_ref().unwrap());
    let with = reqwest::Client::new()
        .get(&symbols)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 200);
    let body = with.text().await.unwrap();
    assert!(body.contains("SPY") && body.contains("AAPL"), "{body}");
    let without = reqwest::get(&symbols).await.unwrap();
    assert_eq!(without.status(), 401);

    // The pipeline says Ready, with its printer columns filled.
    cluster.reconcile().await;
    let status = cluster.status();
    assert_eq!(status["phase"], "Ready", "{status}");
    assert_eq!(status["workers"], "10/10");
    assert_eq!(status["symbols"], 2);
    assert!(status["lastOptionsFetch"].is_string(), "{status}");
    assert_eq!(status["backfill"]["state"], "Succeeded");
    println!("{}", kubectl_get_line(&status));

    // A second round, and one replica of each role killed in the middle of it.
    // The stand-in providers serve the same day again, so the round re-delivers what is
    // stored: it must all be consumed and must change nothing.
    let before = stored_keys(&url);
    let messages_before = processed_messages(&bootstrap, &config);
    cluster.fire_cron_jobs(NaiveTime::from_hms_opt(15, 40, 0).unwrap());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.kill_one_of_each();
    cluster.wait_ready_and_report();
    settle(&cluster, &bootstrap, &config, "the second round", || {
        processed_messages(&bootstrap, &config) >= 2 * messages_before
    });

    // Nothing lost: every record published is stored; nothing duplicated: nothing else is.
    let published = published(&bootstrap, &config, Duration::from_secs(30)).keys;
    let stored = stored_keys(&url);
    for (table, keys) in &published {
        assert_eq!(
            stored[table].len(),
            keys.len(),
            "{table}: {} stored, {} published",
            stored[table].len(),
            keys.len()
        );
        assert_eq!(&stored[table], keys, "{table}");
        assert!(before[table].is_subset(keys));
    }
    let letters = kafka::read_all(
        &bootstrap,
        &config.topics().name(TopicKind::DeadLetter),
        Duration::from_secs(5),
    );
    for letter in &letters {
        let text = letter.value.to_string();
        assert!(
            !text.contains("rejected_by_postgresql"),
            "a write was refused: {text}"
        );
    }
    cluster.reconcile().await;
    println!("{}", kubectl_get_line(&cluster.status()));
    for pod in &cluster.pods {
        println!("pod {} (admin {})", pod.worker.name, pod.admin);
    }
}

/// The deployed whole over a secured Kafka, as a Strimzi cluster with a `scram-sha-512`
/// KafkaUser and client certificates serves it: SASL_SSL to stunnel (which demands a client
/// certificate signed by the cluster CA) in front of tansu (which demands the SCRAM login).
/// The operator reads the credentials from the Secrets; every pod gets them from its
/// environment. First with a wrong password: the pipeline says why at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_sasl_ssl_with_client_certificates_option_chains_reach_postgresql() {
    const USER: &str = "optionsflow";
    const PASSWORD: &str = "the-kafka-password";
    let kafka = SecuredKafka::start(&[(USER, PASSWORD)], true);
    let database = TestDatabase::create("deployed_secured");
    let day = trading_day();
    let cboe = cboe::FakeCboe::start(cboe::Config::new(day)).await;

    let certificates = &kafka.certificates;
    let user = |password: &str| {
        secret(
            USER,
            json!({"password": password, "user.crt": certificates.pem("user.crt"),
                   "user.key": certificates.pem("user.key")}),
        )
    };
    let api = user_objects(
        vec![
            secret("db", json!({"url": database.url})),
            secret(
                "my-cluster-cluster-ca-cert",
                json!({"ca.crt": certificates.pem("ca.crt")}),
            ),
            user("a-stale-password"),
        ],
        json!({
            "symbolSets": ["watchlist"],
            "datasets": {
              "daily": {"enabled": false}, "intraday": {"enabled": false},
              "historical": {"enabled": false},
              "options": {"source": "cboe", "horizonDays": 30}},
            "sources": {"cboe": {"baseUrl": cboe.url()}},
            "kafka": {
              "bootstrapServers": kafka.bootstrap(), "replicationFactor": 1,
              "security": {
                "protocol": "SASL_SSL",
                "tls": {"caSecret": {"name": "my-cluster-cluster-ca-cert", "key": "ca.crt"},
                        "clientCertSecret": USER},
                "sasl": {"mechanism": "SCRAM-SHA-512", "username": USER,
                         "passwordSecret": {"name": USER, "key": "password"}}}},
            "sinks": {"postgres": {"urlSecret": {"name": "db", "key": "url"}}},
            "workers": {"collector": {"replicas": 1}, "processor": {"replicas": 1},
                        "dbWriter": {"replicas": 1}}}),
    );
    let mut cluster = Cluster::new(api);

    // The wrong password: refused by the broker, said so in the status.
    let error = cluster.try_reconcile().await.unwrap_err();
    assert_eq!(error.reason(), "KafkaAuthFailed", "{error}");
    let status = cluster.status();
    let degraded = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Degraded")
        .cloned()
        .unwrap_or_default();
    assert_eq!(degraded["reason"], "KafkaAuthFailed", "{status}");

    // The right one: topics over SASL_SSL, then every pod logs in the same way.
    cluster.api.put(&collection("secrets"), user(PASSWORD));
    cluster.reconcile().await;
    let status = cluster.status();
    let topics = status["topics"].as_array().unwrap();
    assert!(
        topics.len() == 11 && topics.iter().all(|t| t["ready"] == true),
        "{status}"
    );
    cluster.start_deployments();
    assert_eq!(cluster.pods.len(), 3, "collector, processor and db-writer");
    cluster.wait_ready_and_report();
    cluster.fire_cron_jobs(NaiveTime::from_hms_opt(15, 0, 0).unwrap());
    let url = database.url.clone();
    wait_for(
        "option quotes of both underlyings in PostgreSQL",
        Duration::from_secs(180),
        &cluster.workers(),
        || count(&url, "SELECT count(DISTINCT underlying) FROM option_quotes") == 2,
    );
    assert!(
        count(
            &url,
            "SELECT count(*) FROM option_quotes WHERE iv IS NOT NULL"
        ) > 0,
        "enriched quotes"
    );
    // The pods came through stunnel's client-certificate check (and so through tansu's
    // login behind it): stunnel logged the verified certificates.
    assert!(
        kafka.stunnel.log().contains("Certificate accepted"),
        "{}",
        kafka.stunnel.log()
    );
}
