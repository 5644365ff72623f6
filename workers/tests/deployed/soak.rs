//! The soak: the Kafka deployment's roles, exactly as the operator renders them, on tansu
//! against the stand-in providers, at ten times the sample pipeline's 13 symbols, for
//! `SOAK_MINUTES` (default 60), firing every CronJob once a minute at the next quarter hour
//! of the trading day and SIGKILLing a random replica every `SOAK_KILL_SECONDS` (default 180).
//! At the end it waits for every group to commit everything, then reports records in and
//! out, re-delivered copies, lost and extra rows, and each role's peak resident memory; it
//! fails if anything published was not stored, or anything stored was never published.
//!
//! Not a CI step (it takes an hour):
//!
//! ```sh
//! source scripts/test-services.sh
//! SOAK_MINUTES=60 cargo test -p optionsflow-workers --test deployed soak -- --ignored --nocapture
//! ```
//!
//! tansu 0.6.0 keeps a dead group leader as leader and the group never forms again
//! (docs/testing.md), so the kills spare each role's first replica, which tansu makes the
//! leader; a Kafka cluster has no such limit.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::NaiveTime;
use optionsflow_api::{Dataset, TopicKind};
use optionsflow_testkit::fake::twelvedata;
use optionsflow_testkit::kafka;
use optionsflow_testkit::postgres::TestDatabase;
use optionsflow_testkit::tansu::Tansu;
use serde_json::json;

use super::cluster::{Cluster, NS, PIPELINE, Parts, collection, runtime_config, user_objects};
use super::common::{tickers, trading_day};
use super::{published, settle, stored_keys};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The quarter hour of round `n`, cycling through the regular session.
fn time_of_round(n: u64) -> NaiveTime {
    let quarter = 9 * 4 + 3 + (n % 26) as u32;
    NaiveTime::from_hms_opt(quarter / 4, 15 * (quarter % 4), 0).unwrap()
}

/// Each role's peak resident memory so far, in KiB, kept across replicas and kills.
fn sample_memory(cluster: &Cluster, peaks: &mut BTreeMap<String, u64>) {
    for pod in &cluster.pods {
        if let Some(kib) = pod.worker.peak_rss_kib() {
            let role = pod
                .deployment
                .strip_prefix(&format!("{PIPELINE}-"))
                .unwrap_or(&pod.deployment)
                .to_owned();
            let peak = peaks.entry(role).or_default();
            *peak = (*peak).max(kib);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "an hour by default: run by hand (see the module's documentation)"]
async fn soak() {
    let minutes = setting("SOAK_MINUTES", 60);
    let kill_every = Duration::from_secs(setting("SOAK_KILL_SECONDS", 180));
    let database = TestDatabase::create("soak");
    let keys = ["soak-1", "soak-2", "soak-3", "soak-4"];
    let parts = Parts::start(
        Tansu::start(),
        database.url.clone(),
        twelvedata::Config {
            per_window: 800,
            per_day: None,
            ..twelvedata::Config::free_plan(&keys, trading_day())
        },
    )
    .await;
    let symbols = tickers(130);
    let api = user_objects(
        parts.secrets("soak-token"),
        parts.spec(
            "soak/",
            json!({
                "symbolSets": ["soak"],
                "sources": {
                  "twelveData": {"budget": {"perMinute": 800, "perDay": 1000000}},
                  "cboe": {"budget": {"perMinute": 600, "burst": 10}}},
                "sinks": {"s3": {"maxFileAgeSeconds": 10}}}),
        ),
    );
    api.put(
        &collection("symbolsets"),
        json!({"apiVersion": "optionsflow.io/v1alpha1", "kind": "SymbolSet",
               "metadata": {"name": "soak", "namespace": NS},
               "spec": {"symbols": symbols}}),
    );
    let mut cluster = Cluster::new(api);
    cluster.reconcile().await;
    let config = runtime_config(&cluster);
    cluster.run_deployments().await;
    assert_eq!(cluster.status()["symbols"], 130, "{}", cluster.status());

    let started = Instant::now();
    let mut next_kill = started + kill_every;
    let mut peaks = BTreeMap::new();
    let mut kills = Vec::new();
    let mut round = 0;
    // A cheap, seeded choice of whom to kill: the same soak kills the same replicas.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    while started.elapsed() < Duration::from_secs(60 * minutes) {
        let round_started = Instant::now();
        cluster.fire_cron_jobs(time_of_round(round));
        round += 1;
        sample_memory(&cluster, &mut peaks);
        if Instant::now() >= next_kill {
            let spared: Vec<usize> = (0..cluster.pods.len())
                .filter(|i| !cluster.pods[*i].worker.name.ends_with("-0"))
                .collect();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let victim = spared[(seed % spared.len() as u64) as usize];
            kills.push(cluster.kill_and_replace(victim));
            cluster.wait_ready_and_report();
            next_kill += kill_every;
        }
        let rest = Duration::from_secs(60).saturating_sub(round_started.elapsed());
        tokio::time::sleep(rest).await;
    }
    let bootstrap = parts.tansu.bootstrap();
    settle(
        &cluster,
        &bootstrap,
        &config,
        "the soak's last round",
        || true,
    );
    sample_memory(&cluster, &mut peaks);

    let raw: i64 = Dataset::ALL
        .iter()
        .map(|d| {
            let topic = config.topics().name(TopicKind::raw(*d));
            kafka::counts(&bootstrap, &topic).values().sum::<i64>()
        })
        .sum();
    // An hour's option quotes are about a gigabyte on the processed topic.
    let published = published(&bootstrap, &config, Duration::from_secs(1800)).keys;
    let stored = stored_keys(&database.url);
    println!(
        "soak: {minutes} min, {round} rounds, {} symbols, {} kills ({})",
        symbols.len(),
        kills.len(),
        kills.join(", ")
    );
    println!(
        "raw messages in: {raw}; processed messages out: {}",
        super::processed_messages(&bootstrap, &config)
    );
    let mut lost_any = false;
    for (table, keys) in &published {
        let lost = keys.difference(&stored[table]).count();
        let extra = stored[table].difference(keys).count();
        lost_any |= lost > 0 || extra > 0;
        println!(
            "{table}: {} distinct records published, {} rows stored, {lost} lost, {extra} stored never published",
            keys.len(),
            stored[table].len()
        );
    }
    println!("peak resident memory by role (KiB): {peaks:?}");
    assert!(!lost_any, "records lost or stored twice");
}
