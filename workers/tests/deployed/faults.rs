//! Faults a deployment meets, one after another on one pipeline run as the operator renders
//! it (one replica of each role): Twelve Data answering garbage, errors and slowly; S3 frozen
//! mid-round; PostgreSQL stopped mid-round; the broker killed mid-round and started again on
//! its storage. After each fault the round settles (every group commits everything) and:
//! - PostgreSQL holds exactly the records published, no fewer and no other;
//! - the CSV files hold every published record exactly once;
//! - during the fault, the sink that was not failing kept taking the round's data;
//! - no pod was restarted: each role recovered on its own.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveTime;
use optionsflow_api::{RuntimeConfig, TopicKind};
use optionsflow_testkit::fake::twelvedata::{self, Failure};
use optionsflow_testkit::kafka;
use optionsflow_testkit::moto::Moto;
use optionsflow_testkit::postgres::PrivateServer;
use optionsflow_testkit::tansu::Tansu;
use serde_json::json;

use super::cluster::{Cluster, Parts, runtime_config, user_objects};
use super::common::{bucket_objects, trading_day, wait_for};
use super::{Published, count, published, settle, stored_keys};

/// Data rows in the CSV files under `prefix`, per dataset folder.
async fn file_rows(moto: &Moto, prefix: &str) -> BTreeMap<String, usize> {
    let mut rows = BTreeMap::new();
    for (key, body) in bucket_objects(moto, "lake").await {
        let Some(path) = key.strip_prefix(prefix) else {
            continue;
        };
        let dataset = path.split('/').next().unwrap().to_owned();
        // The header, then one line per record.
        let lines = body.lines().count();
        assert!(lines > 0, "{key} is empty");
        *rows.entry(dataset).or_default() += lines - 1;
    }
    rows
}

/// Waits until the round settled (every group committed everything), then checks what it
/// must come to; returns what was published.
async fn settles(
    cluster: &Cluster,
    parts: &Parts,
    config: &RuntimeConfig,
    what: &str,
) -> Published {
    let bootstrap = parts.tansu.bootstrap();
    settle(cluster, &bootstrap, config, what, || true);
    let published = published(&bootstrap, config, Duration::from_secs(30));
    let stored = stored_keys(&parts.database_url);
    for (table, keys) in &published.keys {
        assert_eq!(&stored[table], keys, "{what}: {table} in PostgreSQL");
    }
    let expected: BTreeMap<String, usize> = published
        .records
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(d, n)| (d.as_str().to_owned(), *n))
        .collect();
    assert_eq!(
        file_rows(&parts.moto, PREFIX).await,
        expected,
        "{what}: every published record once in the CSV files"
    );
    published
}

const PREFIX: &str = "faults/";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sinks_the_broker_and_a_provider_fail_and_nothing_is_lost_or_doubled() {
    let postgres = PrivateServer::start();
    let mut parts = Parts::start(
        Tansu::start_persistent(),
        postgres.url(),
        twelvedata::Config {
            per_window: 100,
            // Slow throughout, as a provider under load is.
            latency: Duration::from_millis(300),
            ..twelvedata::Config::free_plan(&["fault-key"], trading_day())
        },
    )
    .await;
    let one = json!({"replicas": 1});
    let api = user_objects(
        parts.secrets("faults-token"),
        parts.spec(
            PREFIX,
            json!({
                "symbolSets": ["watchlist"],
                "datasets": {"historical": {"enabled": false}},
                "sources": {"twelveData": {"budget": {"perMinute": 100}}},
                "sinks": {"s3": {"maxFileAgeSeconds": 2}},
                "workers": {"collector": one, "processor": one, "dbWriter": one,
                            "fileWriter": one, "api": one}}),
        ),
    );
    let mut cluster = Cluster::new(api);
    cluster.reconcile().await;
    let config = runtime_config(&cluster);
    cluster.run_deployments().await;
    let pids: Vec<Option<u32>> = cluster.pods.iter().map(|p| p.worker.pid()).collect();
    let bootstrap = parts.tansu.bootstrap();
    let url = parts.database_url.clone();
    let at = |h: u32, m: u32| NaiveTime::from_hms_opt(h, m, 0).unwrap();
    let quotes = || count(&url, "SELECT count(*) FROM option_quotes");

    // Garbage and errors: a body cut short and a close that is not a number bounce to
    // dead-letter with their reason and evidence; two 500s are retried.
    for failure in [
        Failure::Truncated,
        Failure::BadNumber,
        Failure::ServerError,
        Failure::ServerError,
    ] {
        parts.td.fail_next(failure);
    }
    cluster.fire_cron_jobs(at(10, 0));
    settles(&cluster, &parts, &config, "the garbage round").await;
    let outcomes: Vec<String> = parts.td.log().into_iter().map(|l| l.outcome).collect();
    for outcome in ["truncated", "bad_number", "server_error"] {
        assert!(outcomes.iter().any(|o| o == outcome), "{outcomes:?}");
    }
    let letters: Vec<(String, String)> = kafka::read_all(
        &bootstrap,
        &config.topics().name(TopicKind::DeadLetter),
        Duration::from_secs(5),
    )
    .into_iter()
    .map(|l| {
        let payload = &l.value["payload"];
        (payload["stage"].to_string(), payload["reason"].to_string())
    })
    .filter(|(stage, _)| stage == "\"collect\"")
    .collect();
    assert!(
        letters.len() >= 2 && letters.iter().all(|(_, r)| r == "\"malformed_answer\""),
        "{letters:?}"
    );

    // S3 frozen: PostgreSQL goes on taking the round; the files follow once S3 is back.
    parts.moto.freeze();
    let before = quotes();
    cluster.fire_cron_jobs(at(11, 0));
    wait_for(
        "the round's option quotes in PostgreSQL while S3 is frozen",
        Duration::from_secs(120),
        &cluster.workers(),
        || quotes() > before,
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    parts.moto.thaw();
    settles(&cluster, &parts, &config, "the round S3 froze").await;

    // PostgreSQL stopped: the files go on taking the round; PostgreSQL catches up once back.
    let files_before: usize = file_rows(&parts.moto, PREFIX).await.values().sum();
    postgres.stop();
    cluster.fire_cron_jobs(at(12, 0));
    let moto = &parts.moto;
    let mut files_now = files_before;
    for _ in 0..240 {
        files_now = file_rows(moto, PREFIX).await.values().sum();
        if files_now > files_before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        files_now > files_before,
        "the files took nothing while PostgreSQL was down"
    );
    postgres.start_again();
    settles(&cluster, &parts, &config, "the round PostgreSQL missed").await;

    // The broker killed mid-round for longer than a session timeout, then back on its data.
    cluster.fire_cron_jobs(at(13, 0));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    parts.tansu.kill();
    tokio::time::sleep(Duration::from_secs(8)).await;
    parts.tansu.restart();
    let last = settles(&cluster, &parts, &config, "the round the broker missed").await;
    assert_eq!(
        last.keys.values().filter(|k| !k.is_empty()).count(),
        3,
        "bars, intraday bars and quotes stored"
    );

    // Nobody was restarted: the same processes did all of it, and are ready.
    let now: Vec<Option<u32>> = cluster.pods.iter().map(|p| p.worker.pid()).collect();
    assert_eq!(now, pids, "the same processes");
    for pod in &mut cluster.pods {
        assert!(pod.worker.exited().is_none(), "{} exited", pod.worker.name);
    }
    cluster.wait_ready_and_report();
}
