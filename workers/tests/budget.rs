//! Provider budgets are hard limits shared by collector replicas: two collector processes
//! against the local Twelve Data, which counts credits per key per window and per day and
//! answers 429 exactly as Twelve Data does when a budget would be exceeded.
//!
//! Windows are 5 s instead of 60 s (the harness's default) so a test covers many of them;
//! the gate and the fake align windows on the wall clock the same way, only the length
//! differs.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::*;
use optionsflow_api::TopicKind;

/// The harness's window length.
const WINDOW: u32 = 5;

/// These tests measure time windows: they run one at a time, not competing for two cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn window_of(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp().div_euclid(i64::from(WINDOW))
}

/// Accepted credits per key, per window index, from the fake's own ledger.
fn usage(h: &Harness) -> BTreeMap<String, BTreeMap<i64, u32>> {
    let mut out: BTreeMap<String, BTreeMap<i64, u32>> = BTreeMap::new();
    for ((key, window), credits) in h.twelvedata.credits_per_window() {
        out.entry(key).or_default().insert(window, credits);
    }
    out
}

fn delivered(h: &Harness) -> BTreeSet<String> {
    h.read(TopicKind::DailyData)
        .into_iter()
        .filter_map(|r| r.key)
        .collect()
}

/// Starts the group leader, then the member that the test will kill.
fn two_collectors(
    h: &Harness,
) -> (
    optionsflow_testkit::process::Worker,
    optionsflow_testkit::process::Worker,
    String,
) {
    let (leader, leader_admin) = h.collector("collector-leader");
    wait_ready(&leader, &leader_admin);
    let (member, member_admin) = h.collector("collector-member");
    wait_ready(&member, &member_admin);
    // The leader gave some of its partitions to the member: the group has settled.
    wait_for(
        "the group to settle",
        Duration::from_secs(30),
        &[&leader, &member],
        || leader.log().contains("task-queue partitions revoked"),
    );
    (leader, member, leader_admin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_collectors_never_exceed_a_keys_window_budget_and_use_all_of_it() {
    let _serial = SERIAL.lock().await;
    let symbols = tickers(160);
    let h = Harness::start(|s| {
        s.twelvedata.keys = vec!["key-one".into(), "key-two".into()];
        s.twelvedata.per_day = None;
        s.config.sources.twelve_data.budget.per_day = None;
        s.config.datasets.daily.symbols = as_symbols(&symbols);
    })
    .await;
    let (leader, mut member, _) = two_collectors(&h);

    h.trigger_ok("daily", AFTER_CLOSE);

    // Kill the member once four windows' worth of credits were spent together.
    wait_for(
        "64 credits spent",
        Duration::from_secs(60),
        &[&leader, &member],
        || h.twelvedata.credits_per_window().values().sum::<u32>() >= 64,
    );
    let killed_at = window_of(chrono::Utc::now());
    member.kill();

    wait_for(
        "every symbol's bars",
        Duration::from_secs(120),
        &[&leader],
        || delivered(&h).len() == symbols.len(),
    );

    let usage = usage(&h);
    let limited = h.twelvedata.rate_limited();
    report("two collectors, two keys, member killed", &usage, killed_at);
    assert!(limited.is_empty(), "the provider answered 429: {limited:?}");
    for (key, windows) in &usage {
        for (w, credits) in windows {
            assert!(*credits <= 8, "{key} window {w}: {credits} credits");
        }
    }
    // While both collectors were alive and had work, together they used the whole budget.
    for (key, windows) in &usage {
        let first = *windows.keys().next().unwrap();
        let steady: Vec<u32> = (first + 1..killed_at)
            .map(|w| windows.get(&w).copied().unwrap_or(0))
            .collect();
        assert!(
            !steady.is_empty(),
            "no full window before the kill for {key}"
        );
        let used: u32 = steady.iter().sum();
        let share = f64::from(used) / (8.0 * steady.len() as f64);
        assert!(
            share >= 0.95,
            "{key}: {used} credits in {} windows ({:.1} %)",
            steady.len(),
            share * 100.0
        );
    }
    assert_eq!(h.count(TopicKind::DeadLetter), 0);
    drop(leader);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_budget_survives_a_takeover_through_the_ledger() {
    let _serial = SERIAL.lock().await;
    let symbols = tickers(40);
    let h = Harness::start(|s| {
        s.twelvedata.per_day = Some(24);
        s.config.sources.twelve_data.budget.per_day = Some(24);
        s.config.datasets.daily.symbols = as_symbols(&symbols);
    })
    .await;
    let (leader, mut member, leader_admin) = two_collectors(&h);
    h.trigger_ok("daily", AFTER_CLOSE);

    wait_for(
        "12 credits spent",
        Duration::from_secs(60),
        &[&leader, &member],
        || h.twelvedata.credits_today("key-one") >= 12,
    );
    member.kill();
    // The leader takes the member's partitions, reads their day usage from the ledger, and
    // spends exactly what is left of the day.
    wait_for("the takeover", Duration::from_secs(60), &[&leader], || {
        leader
            .log()
            .lines()
            .filter(|l| {
                l.contains("took over a partition's budget") && l.contains("Some(LedgerRecord")
            })
            .count()
            >= 2
    });
    let deadline = Instant::now() + Duration::from_secs(6 * u64::from(WINDOW));
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
    }
    let spent = h.twelvedata.credits_today("key-one");
    report(
        "one key, 24 credits a day, member killed",
        &usage(&h),
        i64::MAX,
    );
    assert!(
        h.twelvedata.rate_limited().is_empty(),
        "429s: {:?}",
        h.twelvedata.rate_limited()
    );
    assert!(spent <= 24);
    // Credits the member wrote to the ledger but did not live to spend are lost for the day,
    // never overspent; at most one request's worth.
    assert!(spent >= 24 - 8, "only {spent} of 24 credits used");
    let (_, metrics) = admin_get(&leader_admin, "/metrics").unwrap();
    let day_left: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("optionsflow_budget_credits_left") && l.contains("scope=\"day\""))
        .collect();
    assert!(day_left.iter().any(|l| l.ends_with(" 0")), "{day_left:?}");
    assert_eq!(
        h.count(TopicKind::DeadLetter),
        0,
        "waiting for credits is not a failure"
    );
    drop(leader);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_from_someone_else_spending_our_key_slows_us_down() {
    let _serial = SERIAL.lock().await;
    let symbols = tickers(40);
    let h = Harness::start(|s| {
        s.config.datasets.daily.symbols = as_symbols(&symbols);
    })
    .await;
    let (collector, admin) = h.collector("collector");
    wait_ready(&collector, &admin);
    h.trigger_ok("daily", AFTER_CLOSE);

    // Another program spends 5 of the key's 8 credits at the start of three windows.
    let client = reqwest::Client::new();
    let url = format!(
        "{}/time_series?symbol=A,B,C,D,E&interval=1day&outputsize=1&apikey=key-one",
        h.twelvedata.url()
    );
    let mut interfered = BTreeSet::new();
    for _ in 0..3 {
        let now = chrono::Utc::now().timestamp_millis();
        let next = (now / 1000 / i64::from(WINDOW) + 1) * i64::from(WINDOW) * 1000;
        tokio::time::sleep(Duration::from_millis((next - now + 100) as u64)).await;
        client.get(&url).send().await.unwrap();
        interfered.insert(window_of(chrono::Utc::now()));
    }
    wait_for(
        "every symbol's bars",
        Duration::from_secs(90),
        &[&collector],
        || delivered(&h).len() == symbols.len(),
    );
    let limited: BTreeSet<i64> = h
        .twelvedata
        .rate_limited()
        .iter()
        .map(|l| window_of(l.at))
        .collect();
    assert!(
        !limited.is_empty(),
        "the interference should have caused a 429"
    );
    assert!(
        h.twelvedata.rate_limited().len() <= interfered.len(),
        "after a 429 the collector waits for the next window: {:?} 429s in windows {interfered:?}",
        h.twelvedata.rate_limited()
    );
    assert!(
        limited.is_subset(&interfered),
        "429s only where someone else spent credits"
    );
    assert_eq!(h.count(TopicKind::DeadLetter), 0);
    drop(collector);
}

fn report(title: &str, usage: &BTreeMap<String, BTreeMap<i64, u32>>, killed_at: i64) {
    eprintln!("budget use, {title} (8 credits per key per window):");
    for (key, windows) in usage {
        let line: Vec<String> = windows
            .iter()
            .map(|(w, c)| format!("{c}{}", if *w == killed_at { "†" } else { "" }))
            .collect();
        let total: u32 = windows.values().sum();
        eprintln!(
            "  {key}: {} = {total} credits in {} windows",
            line.join(" "),
            windows.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yahoo_requests_stay_within_their_budget() {
    let _serial = SERIAL.lock().await;
    let h = Harness::start(|s| {
        s.yahoo.limit_per_window = Some(6);
        s.config.sources.yahoo.budget.per_window = 6;
        s.config.datasets.options.symbols = as_symbols(&["IBM", "MSFT", "QQQ"]);
    })
    .await;
    let (leader, mut member, _) = two_collectors(&h);
    h.trigger_ok("options", AFTER_CLOSE);
    wait_for(
        "the first chains",
        Duration::from_secs(60),
        &[&leader, &member],
        || h.count(TopicKind::OptionData) >= 6,
    );
    member.kill();
    wait_for("every chain", Duration::from_secs(120), &[&leader], || {
        let keys: BTreeSet<String> = h
            .read(TopicKind::OptionData)
            .into_iter()
            .filter_map(|r| r.key)
            .collect();
        keys.len() == 3
    });
    let per_window = h.yahoo.requests_per_window();
    eprintln!(
        "yahoo requests per window (limit 6): {:?}",
        per_window.values().collect::<Vec<_>>()
    );
    let refused: Vec<_> = h
        .yahoo
        .log()
        .into_iter()
        .filter(|l| l.status == 429)
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    assert!(per_window.values().all(|n| *n <= 6));
    assert_eq!(h.count(TopicKind::DeadLetter), 0);
    drop(leader);
}
