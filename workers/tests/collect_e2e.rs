//! End to end on a real broker: trigger → task-queue (5 partitions) → two collector
//! processes → raw topics, with one collector killed (SIGKILL) in the middle of the run.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use optionsflow_api::TopicKind;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_task_arrives_keyed_by_symbol_even_when_a_collector_dies() {
    let daily = tickers(20);
    let options: Vec<String> = tickers(30)[20..].to_vec();
    let h = Harness::start(|s| {
        s.twelvedata.per_window = 1000;
        s.yahoo.latency = Duration::from_millis(120);
        s.config.sources.twelve_data.budget.per_window = 1000;
        s.config.sources.twelve_data.symbols_per_task = 2;
        s.config.sources.yahoo.budget.per_window = 1000;
        // Not about politeness: a Yahoo without a per-second limit.
        s.yahoo.limit_per_second = None;
        s.config.datasets.daily.symbols = as_symbols(&daily);
        s.config.datasets.options.symbols = as_symbols(&options);
    })
    .await;

    // The first collector to join leads the group. tansu 0.6 cannot recover a group whose
    // leader died (docs/testing.md), so the one killed below is the other one.
    let (leader, leader_admin) = h.collector("collector-leader");
    wait_ready(&leader, &leader_admin);
    let (mut member, member_admin) = h.collector("collector-member");
    wait_ready(&member, &member_admin);

    for dataset in ["daily", "options"] {
        h.trigger_ok(dataset, AFTER_CLOSE);
    }
    let tasks = h.read(TopicKind::TaskQueue);
    assert_eq!(
        tasks.len(),
        10 + 10,
        "10 daily tasks of 2 symbols, 10 option tasks"
    );
    let spread: BTreeSet<i32> = tasks.iter().map(|t| t.partition).collect();
    assert_eq!(
        spread.len(),
        PARTITIONS as usize,
        "tasks are spread over every partition"
    );

    // Let some chains arrive, then kill one collector mid-run.
    wait_for(
        "the first option chains",
        Duration::from_secs(60),
        &[&leader, &member],
        || h.count(TopicKind::OptionData) >= 15,
    );
    member.kill();

    // Every daily symbol, and every expiration of every option symbol, must arrive.
    let all_daily = |records: &[optionsflow_testkit::kafka::Record]| {
        records
            .iter()
            .map(|r| r.key.clone().unwrap())
            .collect::<BTreeSet<_>>()
            .len()
            == daily.len()
    };
    wait_for(
        "all daily bars",
        Duration::from_secs(90),
        &[&leader],
        || all_daily(&h.read(TopicKind::DailyData)),
    );
    let complete = |records: &[optionsflow_testkit::kafka::Record]| {
        let mut parts: BTreeMap<String, (u64, BTreeSet<u64>)> = BTreeMap::new();
        for r in records {
            let part = &r.value["part"];
            let entry = parts.entry(r.key.clone().unwrap()).or_default();
            entry.0 = part["count"].as_u64().unwrap();
            entry.1.insert(part["index"].as_u64().unwrap());
        }
        parts.len() == options.len()
            && parts
                .values()
                .all(|(count, seen)| seen.len() as u64 == *count)
    };
    wait_for(
        "every expiration of every chain",
        Duration::from_secs(120),
        &[&leader],
        || complete(&h.read(TopicKind::OptionData)),
    );

    let bars = h.read(TopicKind::DailyData);
    for r in &bars {
        let key = r.key.as_deref().unwrap();
        assert_eq!(r.value["symbol"], key, "keyed by symbol");
        assert_eq!(r.value["schema"], "twelvedata.time_series");
        assert_eq!(r.value["source"], "twelvedata");
        assert_eq!(r.value["payload"]["meta"]["symbol"], key);
        assert_eq!(
            r.value["payload"]["values"].as_array().unwrap().len(),
            5,
            "lookbackBars"
        );
    }
    let chains = h.read(TopicKind::OptionData);
    for r in &chains {
        let key = r.key.as_deref().unwrap();
        assert_eq!(r.value["symbol"], key);
        assert_eq!(r.value["schema"], "yahoo.option_chain");
        assert_eq!(r.value["payload"]["underlyingSymbol"], key);
        let contracts = r.value["payload"]["options"][0]["calls"]
            .as_array()
            .unwrap();
        assert!(!contracts.is_empty());
    }
    // One symbol's messages all sit on one partition, so they stay in order.
    let mut partitions: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for r in bars.iter().chain(&chains) {
        partitions
            .entry(r.key.clone().unwrap())
            .or_default()
            .insert(r.partition);
    }
    assert!(partitions.values().all(|p| p.len() == 1), "{partitions:?}");

    // The survivor took over the dead collector's partitions and committed every task.
    let group = h
        .config
        .topics()
        .consumer_group(optionsflow_api::Role::Collector);
    let ends =
        optionsflow_testkit::kafka::counts(&h.tansu.bootstrap(), &h.topic(TopicKind::TaskQueue));
    wait_for(
        "every task committed",
        Duration::from_secs(30),
        &[&leader],
        || {
            let committed = optionsflow_testkit::kafka::committed(
                &h.tansu.bootstrap(),
                &group,
                &h.topic(TopicKind::TaskQueue),
            );
            ends.iter().all(|(p, end)| committed.get(p) == Some(end))
        },
    );
    assert_eq!(
        h.count(TopicKind::DeadLetter),
        0,
        "{}",
        tail(&leader.log(), 40)
    );
    drop(leader);
}
