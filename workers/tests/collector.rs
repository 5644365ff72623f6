//! The collector on a real broker against the local providers: every dataset, what goes to
//! dead-letter and why, retries, Yahoo's crumb expiring mid-run, graceful shutdown and the
//! admin endpoints.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use optionsflow_api::TopicKind;
use optionsflow_api::runtime_config::OptionsSource;
use optionsflow_testkit::fake::{twelvedata, yahoo};
use optionsflow_testkit::{data, kafka};

fn dead_letters(h: &Harness) -> Vec<serde_json::Value> {
    h.read(TopicKind::DeadLetter)
        .into_iter()
        .map(|r| r.value)
        .collect()
}

fn all_committed(h: &Harness) -> bool {
    let group = h
        .config
        .topics()
        .consumer_group(optionsflow_api::Role::Collector);
    let topic = h.topic(TopicKind::TaskQueue);
    let ends = kafka::counts(&h.tansu.bootstrap(), &topic);
    let committed = kafka::committed(&h.tansu.bootstrap(), &group, &topic);
    ends.iter()
        .all(|(p, end)| *end == 0 || committed.get(p) == Some(end))
}

fn metric(metrics: &str, name: &str, labels: &[&str]) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_work_goes_to_dead_letter_with_its_reason() {
    let h = Harness::start(|s| {
        s.config.sources.twelve_data.budget.per_window = 100;
        s.twelvedata.per_window = 100;
        s.config.datasets.daily.symbols = as_symbols(&["AAPL", "ZZZZ", "MSFT"]);
        s.config.datasets.options.symbols = as_symbols(&["ZZZZ"]);
    })
    .await;
    let (collector, admin) = h.collector("collector");
    wait_ready(&collector, &admin);
    for dataset in ["daily", "options"] {
        h.trigger_ok(dataset, AFTER_CLOSE);
    }
    // A message that is not a task at all.
    let producer: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", h.tansu.bootstrap())
        .create()
        .unwrap();
    optionsflow_workers::bus::kafka::publish(
        &producer,
        &h.topic(TopicKind::TaskQueue),
        Some(2),
        "junk",
        b"{not json",
    )
    .await
    .unwrap();

    wait_for(
        "three dead letters and two bars",
        Duration::from_secs(60),
        &[&collector],
        || dead_letters(&h).len() == 3 && h.count(TopicKind::DailyData) == 2,
    );
    let letters = dead_letters(&h);
    let mut reasons: Vec<(String, String)> = letters
        .iter()
        .map(|l| {
            (
                l["symbol"].as_str().unwrap().to_owned(),
                l["payload"]["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    reasons.sort();
    let expected: Vec<(String, String)> = [
        ("ZZZZ", "not_found"),
        ("ZZZZ", "not_found"),
        ("junk", "malformed_task"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(reasons, {
        let mut e = expected;
        e.sort();
        e
    });
    for l in &letters {
        assert_eq!(l["schema"], "optionsflow.dead_letter");
        assert_eq!(l["payload"]["stage"], "collect");
        assert!(
            l["payload"]["origin"]["topic"]
                .as_str()
                .unwrap()
                .ends_with("task-queue")
        );
        if l["payload"]["reason"] == "malformed_task" {
            assert_eq!(
                l["payload"]["original"], "{not json",
                "the original is kept as it was"
            );
        } else {
            assert_eq!(
                l["payload"]["original"]["schema"], "optionsflow.task",
                "the task, replayable"
            );
            assert!(l["payload"]["detail"].as_str().unwrap().contains("ZZZZ"));
        }
    }
    wait_for(
        "every task committed",
        Duration::from_secs(30),
        &[&collector],
        || all_committed(&h),
    );
    let (_, metrics) = admin_get(&admin, "/metrics").unwrap();
    assert_eq!(
        metric(
            &metrics,
            "optionsflow_dead_letters_total",
            &["reason=\"not_found\""]
        ),
        2.0
    );
    assert_eq!(
        metric(
            &metrics,
            "optionsflow_dead_letters_total",
            &["reason=\"malformed_task\""]
        ),
        1.0
    );
    assert!(
        metric(
            &metrics,
            "optionsflow_provider_requests_total",
            &["provider=\"twelvedata\"", "status=\"200\""]
        ) >= 1.0
    );
    assert!(
        metric(
            &metrics,
            "optionsflow_provider_request_duration_seconds_count",
            &["provider=\"yahoo\""]
        ) >= 1.0
    );
    assert!(
        metric(
            &metrics,
            "optionsflow_budget_credits_used_total",
            &["account=\"twelvedata-"]
        ) >= 3.0
    );
    assert_eq!(
        metric(
            &metrics,
            "optionsflow_tasks_total",
            &["dataset=\"daily\"", "outcome=\"partial\""]
        ),
        1.0
    );
    assert_eq!(admin_get(&admin, "/healthz").unwrap().0, 200);
    assert_eq!(admin_get(&admin, "/readyz").unwrap().0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_and_yahoo_sessions_renewed() {
    let h = Harness::start(|s| {
        s.config.sources.twelve_data.budget.per_window = 100;
        s.twelvedata.per_window = 100;
        s.config.sources.retry.initial_backoff_ms = 50;
        s.config.datasets.daily.symbols = as_symbols(&["AAPL"]);
        s.config.datasets.options.symbols = as_symbols(&["MSFT", "QQQ"]);
    })
    .await;
    h.twelvedata.fail_next(twelvedata::Failure::ServerError);
    h.twelvedata.fail_next(twelvedata::Failure::ServerError);
    h.yahoo.fail_next(yahoo::Failure::ServerError);
    let (collector, admin) = h.collector("collector");
    wait_ready(&collector, &admin);
    h.trigger_ok("daily", AFTER_CLOSE);
    wait_for(
        "the daily bars",
        Duration::from_secs(60),
        &[&collector],
        || h.count(TopicKind::DailyData) == 1,
    );
    let outcomes: Vec<String> = h.twelvedata.log().into_iter().map(|l| l.outcome).collect();
    assert_eq!(
        outcomes,
        ["server_error", "server_error", "ok"],
        "500s are retried"
    );
    assert!(dead_letters(&h).is_empty());

    // A malformed answer is not retried: it goes to dead-letter with what the provider said.
    h.twelvedata.fail_next(twelvedata::Failure::Truncated);
    h.trigger_ok("daily", "2026-11-25T22:00:00Z");
    wait_for(
        "a dead letter",
        Duration::from_secs(60),
        &[&collector],
        || dead_letters(&h).len() == 1,
    );
    let letter = &dead_letters(&h)[0]["payload"];
    assert_eq!(letter["reason"], "malformed_answer");
    assert!(
        letter["evidence"].as_str().unwrap().contains("{\"meta\""),
        "{letter}"
    );

    h.trigger_ok("options", AFTER_CLOSE);
    wait_for(
        "the first chains",
        Duration::from_secs(60),
        &[&collector],
        || h.count(TopicKind::TaskQueue) == 4 && all_committed(&h),
    );
    // Yahoo forgets our session between two runs: the next request gets a 401 "Invalid
    // Crumb", and one fresh handshake later the run goes on.
    h.yahoo.expire_sessions();
    h.trigger_ok("options", "2026-11-25T22:00:00Z");
    wait_for(
        "the second run",
        Duration::from_secs(60),
        &[&collector],
        || h.count(TopicKind::TaskQueue) == 6 && all_committed(&h),
    );
    let keys: BTreeSet<String> = h
        .read(TopicKind::OptionData)
        .into_iter()
        .filter_map(|r| r.key)
        .collect();
    assert_eq!(keys.len(), 2);
    let yahoo: Vec<String> = h.yahoo.log().into_iter().map(|l| l.outcome).collect();
    assert_eq!(
        yahoo.iter().filter(|o| *o == "cookie").count(),
        2,
        "one handshake, one renewal: {yahoo:?}"
    );
    assert!(yahoo.contains(&"server_error".to_string()));
    assert_eq!(
        yahoo.iter().filter(|o| *o == "invalid_crumb").count(),
        1,
        "{yahoo:?}"
    );
    assert_eq!(dead_letters(&h).len(), 1, "nothing else was given up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_never_answers_costs_a_dead_letter_not_the_collector() {
    let h = Harness::start(|s| {
        s.config.sources.twelve_data.budget.per_window = 100;
        s.twelvedata.per_window = 100;
        s.config.sources.retry.timeout_seconds = 1;
        s.config.sources.retry.max_attempts = 2;
        s.config.sources.retry.initial_backoff_ms = 50;
        s.config.datasets.daily.symbols = as_symbols(&["AAPL"]);
    })
    .await;
    h.twelvedata.fail_next(twelvedata::Failure::NoAnswer);
    h.twelvedata.fail_next(twelvedata::Failure::NoAnswer);
    let (collector, admin) = h.collector("collector");
    wait_ready(&collector, &admin);
    h.trigger_ok("daily", AFTER_CLOSE);
    wait_for(
        "the hung task given up and committed",
        Duration::from_secs(60),
        &[&collector],
        || dead_letters(&h).len() == 1 && all_committed(&h),
    );
    let letter = &dead_letters(&h)[0]["payload"];
    assert_eq!(letter["reason"], "transport_error", "{letter}");
    assert_eq!(letter["stage"], "collect", "{letter}");
    assert_eq!(h.count(TopicKind::DailyData), 0);

    // The provider answers again: the next run collects, with the same process.
    h.trigger_ok("daily", "2026-11-25T22:00:00Z");
    wait_for(
        "the next run's bars",
        Duration::from_secs(60),
        &[&collector],
        || h.count(TopicKind::DailyData) == 1 && all_committed(&h),
    );
    let outcomes: Vec<String> = h.twelvedata.log().into_iter().map(|l| l.outcome).collect();
    assert_eq!(outcomes, ["no_answer", "no_answer", "ok"]);
    assert_eq!(admin_get(&admin, "/healthz").unwrap().0, 200);
    assert_eq!(admin_get(&admin, "/readyz").unwrap().0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_pages_intraday_bars_and_cboe_chains() {
    let h = Harness::start(|s| {
        s.config.sources.twelve_data.budget.per_window = 100;
        s.twelvedata.per_window = 100;
        s.config.datasets.historical.symbols = as_symbols(&["IBM"]);
        s.config.datasets.historical.start_date = Some("2008-01-02".parse().unwrap());
        s.config.datasets.intraday.symbols = as_symbols(&["IBM"]);
        s.config.datasets.options.symbols = as_symbols(&["SPX", "IBM"]);
        s.config.datasets.options.source = OptionsSource::Cboe;
        s.config.datasets.options.horizon_days = 45;
    })
    .await;
    let (collector, admin) = h.collector("collector");
    wait_ready(&collector, &admin);
    h.trigger_ok("historical", AFTER_CLOSE);
    h.trigger_ok("intraday", "2026-11-24T20:00:00Z");
    h.trigger_ok("options", AFTER_CLOSE);
    wait_for("every task", Duration::from_secs(90), &[&collector], || {
        h.count(TopicKind::TaskQueue) == 4 && all_committed(&h)
    });

    let history = h.read(TopicKind::HistoricalData);
    assert_eq!(
        history.len(),
        2,
        "2008–2026 is two windows of at most 4000 trading days"
    );
    let mut dates = BTreeSet::new();
    for page in &history {
        let values = page.value["payload"]["values"].as_array().unwrap();
        assert!(values.len() <= 5000);
        for v in values {
            assert!(
                dates.insert(v["datetime"].as_str().unwrap().to_owned()),
                "no bar twice"
            );
        }
    }
    let expected: BTreeSet<String> =
        data::trading_days("2008-01-02".parse().unwrap(), trading_day())
            .iter()
            .map(|d| d.to_string())
            .collect();
    let missing: Vec<_> = expected.difference(&dates).collect();
    let extra: Vec<_> = dates.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );

    let intraday = h.read(TopicKind::IntradayData);
    assert_eq!(intraday.len(), 1);
    assert_eq!(
        intraday[0].value["payload"]["values"]
            .as_array()
            .unwrap()
            .len(),
        26
    );

    let chains = h.read(TopicKind::OptionData);
    let expiries_within = data::expirations(trading_day())
        .into_iter()
        .filter(|e| (*e - trading_day()).num_days() <= 45)
        .count();
    for symbol in ["SPX", "IBM"] {
        let parts: Vec<_> = chains
            .iter()
            .filter(|r| r.key.as_deref() == Some(symbol))
            .collect();
        assert_eq!(parts.len(), expiries_within, "{symbol}");
        for p in &parts {
            assert_eq!(p.value["schema"], "cboe.delayed_quotes");
            let options = p.value["payload"]["data"]["options"].as_array().unwrap();
            let expiries: BTreeSet<&str> = options
                .iter()
                .map(|o| &o["option"].as_str().unwrap()[symbol.len()..symbol.len() + 6])
                .collect();
            assert_eq!(expiries.len(), 1, "one expiration per message");
        }
    }
    assert!(
        h.cboe.log().iter().any(|l| l.path.ends_with("/_SPX.json")),
        "the index went with its underscore"
    );
    assert!(dead_letters(&h).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_task_commits_and_leaves_the_group() {
    let h = Harness::start(|s| {
        s.yahoo.latency = Duration::from_millis(300);
        s.config.sources.yahoo.budget.per_window = 1000;
        // Not about politeness: a Yahoo without a per-second limit.
        s.yahoo.limit_per_second = None;
        s.config.datasets.options.symbols = as_symbols(&["IBM"]);
    })
    .await;
    let (mut collector, admin) = h.collector("collector");
    wait_ready(&collector, &admin);
    h.trigger_ok("options", AFTER_CLOSE);
    wait_for(
        "the first chain",
        Duration::from_secs(120),
        &[&collector],
        || h.count(TopicKind::OptionData) >= 1,
    );
    let status = collector.terminate().expect("the collector ran");
    assert!(
        status.success(),
        "exit status {status:?}\n{}",
        tail(&collector.log(), 20)
    );
    let log = collector.log();
    assert!(
        log.contains("task done"),
        "the task was finished first:\n{}",
        tail(&log, 20)
    );
    assert!(log.contains("leaving the consumer group"));
    // The line names the task it belongs to.
    let done: serde_json::Value = log
        .lines()
        .find(|l| l.contains("task done"))
        .map(|l| serde_json::from_str(l).expect("a JSON log line"))
        .unwrap();
    let task = done["spans"]
        .as_array()
        .and_then(|spans| spans.iter().find(|s| s["name"] == "task"))
        .unwrap_or_else(|| panic!("no task span: {done}"));
    assert_eq!(
        (&task["dataset"], &task["symbol"]),
        (&"options".into(), &"IBM".into()),
        "{done}"
    );
    assert!(
        task["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{done}"
    );
    let chains = h.read(TopicKind::OptionData);
    let count = chains[0].value["part"]["count"].as_u64().unwrap();
    assert_eq!(chains.len() as u64, count, "every expiration published");
    assert!(all_committed(&h), "and the task committed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_goes_away_loses_nothing() {
    let mut h = Harness::start_persistent(|s| {
        s.yahoo.latency = Duration::from_millis(150);
        s.config.sources.yahoo.budget.per_window = 1000;
        // Not about politeness: a Yahoo without a per-second limit.
        s.yahoo.limit_per_second = None;
        s.config.datasets.options.symbols = as_symbols(&["IBM", "MSFT", "QQQ", "SPY"]);
    })
    .await;
    let (collector, admin) = h.collector("collector");
    wait_ready(&collector, &admin);
    h.trigger_ok("options", AFTER_CLOSE);
    wait_for(
        "the first chains",
        Duration::from_secs(60),
        &[&collector],
        || h.count(TopicKind::OptionData) >= 5,
    );
    // Down mid-task for longer than the group's session timeout (6 s), so the collector
    // also loses its partitions and must get them back; then back with its data.
    h.tansu.kill();
    std::thread::sleep(Duration::from_secs(9));
    h.tansu.restart();
    wait_for(
        "every chain, every task committed",
        Duration::from_secs(120),
        &[&collector],
        || {
            let chains = h.read(TopicKind::OptionData);
            let complete = ["IBM", "MSFT", "QQQ", "SPY"].iter().all(|symbol| {
                let parts: BTreeSet<u64> = chains
                    .iter()
                    .filter(|r| r.key.as_deref() == Some(*symbol))
                    .map(|r| r.value["part"]["index"].as_u64().unwrap())
                    .collect();
                let count = chains
                    .iter()
                    .find(|r| r.key.as_deref() == Some(*symbol))
                    .map(|r| r.value["part"]["count"].as_u64().unwrap());
                count.is_some_and(|c| parts.len() as u64 == c)
            });
            complete && all_committed(&h)
        },
    );
    assert!(dead_letters(&h).is_empty());
    assert!(
        collector.log().contains("All broker connections are down"),
        "the outage was seen:\n{}",
        tail(&collector.log(), 30)
    );
    assert_eq!(
        admin_get(&admin, "/readyz").unwrap().0,
        200,
        "and the collector carried on"
    );
}
