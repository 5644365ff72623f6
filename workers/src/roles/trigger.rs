//! `optionsflow-worker trigger --dataset D`: run by a CronJob. Asks the calendar whether
//! there is anything to collect; if so publishes the dataset's tasks to `task-queue`.
//!
//! Tasks are spread round-robin over the `task-queue` partitions rather than hashed by
//! symbol: every partition carries the same share of every budget (docs/budgets.md), so an
//! even spread of work is what lets the collectors use all of it.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use optionsflow_api::envelope::DateWindow;
use optionsflow_api::{Dataset, Envelope, RuntimeConfig, SchemaId, Source, Task, TopicKind};

use rdkafka::producer::Producer;

use crate::bus::kafka::{self, BusError};
use crate::market::Day;
use crate::market::calendar::{self, EXCHANGE_TZ};

/// Whether a trigger run has anything to collect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Collect(Run),
    /// Nothing to collect, and why.
    Skip(String),
}

/// What a run collects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub dataset: Dataset,
    pub symbols: Vec<String>,
    /// The session the data belongs to.
    pub trading_day: NaiveDate,
    pub window: Option<DateWindow>,
    pub at: DateTime<Utc>,
}

/// What a trigger run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    Publish(Vec<Task>),
    Skip(String),
}

/// How long after the close an intraday run still collects the day's last bar.
const INTRADAY_GRACE: Duration =
    Duration::minutes(optionsflow_api::collection::INTRADAY_GRACE_MINUTES);

/// Asks the calendar whether a run at `at` has anything to collect. Pure.
pub fn decide(config: &RuntimeConfig, dataset: Dataset, at: DateTime<Utc>) -> Decision {
    let common = config.datasets.common(dataset);
    if !common.enabled {
        return Decision::Skip(format!("the {dataset} dataset is disabled"));
    }
    if common.symbols.is_empty() {
        return Decision::Skip(format!("the {dataset} dataset has no symbols"));
    }
    let today = calendar::exchange_date(at);
    let session = match calendar::day(today) {
        Day::Open(s) => Some(s),
        Day::Weekend if dataset != Dataset::Historical => {
            return Decision::Skip(format!("{today} is a weekend day: the market is closed"));
        }
        Day::Closed(c) if dataset != Dataset::Historical => {
            return Decision::Skip(format!("{today} is {}: the market is closed", c.name));
        }
        _ => None,
    };
    let mut run = Run {
        dataset,
        symbols: common.symbols.iter().map(|s| s.to_string()).collect(),
        trading_day: today,
        window: None,
        at,
    };
    match dataset {
        Dataset::Daily | Dataset::Options => {}
        Dataset::Intraday => {
            let s = session.expect("checked above");
            if at < s.open || at >= s.close + INTRADAY_GRACE {
                let local = |t: DateTime<Utc>| t.with_timezone(&EXCHANGE_TZ).format("%H:%M");
                return Decision::Skip(format!(
                    "{} is outside the regular session of {today} ({}–{} {})",
                    local(at),
                    local(s.open),
                    local(s.close),
                    EXCHANGE_TZ.name()
                ));
            }
        }
        Dataset::Historical => {
            let h = &config.datasets.historical;
            let Some(start) = h.start_date else {
                return Decision::Skip("the historical dataset has no startDate".into());
            };
            let last_session = calendar::trading_day_on_or_before(today);
            let end = h.end_date.unwrap_or(last_session).min(last_session);
            if start > end {
                return Decision::Skip(format!(
                    "startDate {start} is after the last session {end}"
                ));
            }
            run.trading_day = end;
            run.window = Some(DateWindow { start, end });
        }
    }
    Decision::Collect(run)
}

/// Splits a run into tasks. Daily and intraday symbols go in batches of at most
/// `symbolsPerTask`, but small enough that every partition gets work (each partition holds
/// a share of the credits); history and chains take one symbol per task. Pure.
pub fn tasks(config: &RuntimeConfig, run: &Run, partitions: u32) -> Vec<Task> {
    let per_task = match run.dataset {
        Dataset::Daily | Dataset::Intraday => {
            let spread = run.symbols.len().div_ceil(partitions.max(1) as usize);
            spread.clamp(
                1,
                config.sources.twelve_data.symbols_per_task.max(1) as usize,
            )
        }
        Dataset::Historical | Dataset::Options => 1,
    };
    let stamp = run.at.format("%Y%m%dT%H%M%SZ");
    run.symbols
        .chunks(per_task)
        .enumerate()
        .map(|(n, symbols)| Task {
            id: format!("{}-{}-{stamp}-{n}", run.dataset, run.trading_day),
            dataset: run.dataset,
            symbols: symbols.to_vec(),
            trading_day: run.trading_day,
            scheduled_at: run.at,
            window: run.window,
        })
        .collect()
}

/// The partition of a run's `n`th task: round-robin, starting somewhere that moves from run
/// to run so small runs do not all land on partition 0.
pub fn partition_of(at: DateTime<Utc>, n: usize, partitions: u32) -> i32 {
    let start = at
        .timestamp()
        .div_euclid(60)
        .rem_euclid(i64::from(partitions.max(1)));
    ((start + n as i64) % i64::from(partitions.max(1))) as i32
}

#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Decides, then publishes every task and waits for the broker to have them all.
pub async fn run(
    config: &RuntimeConfig,
    dataset: Dataset,
    at: DateTime<Utc>,
) -> Result<Plan, TriggerError> {
    let run = match decide(config, dataset, at) {
        Decision::Skip(why) => return Ok(Plan::Skip(why)),
        Decision::Collect(run) => run,
    };
    let topic = config.topics().name(TopicKind::TaskQueue);
    let producer = kafka::producer(&config.kafka)?;
    let partitions = {
        let producer = producer.clone();
        let topic = topic.clone();
        tokio::task::spawn_blocking(move || kafka::partition_count(producer.client(), &topic))
            .await
            .expect("metadata lookup does not panic")?
    };
    let tasks = tasks(config, &run, partitions);
    let pipeline = config.pipeline.id();
    for (n, task) in tasks.iter().enumerate() {
        let envelope = Envelope::new(
            SchemaId::TASK,
            &pipeline,
            &task.symbols[0],
            Source::Optionsflow,
            at,
            task,
        )
        .with_task(&task.id);
        let value = serde_json::to_vec(&envelope).expect("tasks serialize");
        let partition = partition_of(at, n, partitions);
        kafka::publish(&producer, &topic, Some(partition), &task.symbols[0], &value).await?;
    }
    Ok(Plan::Publish(tasks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn config() -> RuntimeConfig {
        RuntimeConfig::from_json(
            r#"{"pipeline":{"namespace":"m","name":"p"},"kafka":{"bootstrapServers":"x"},
                "sources":{"twelveData":{"symbolsPerTask":2}},
                "datasets":{"daily":{"symbols":["AAPL","MSFT","SPY"]},
                            "intraday":{"symbols":["AAPL"]},
                            "historical":{"symbols":["AAPL","MSFT"],"startDate":"2020-01-02"},
                            "options":{"symbols":["SPY","QQQ"]}}}"#,
        )
        .unwrap()
    }

    /// A New York wall-clock time.
    fn ny(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        EXCHANGE_TZ
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    /// The tasks of a run over five partitions.
    fn plan(config: &RuntimeConfig, dataset: Dataset, at: DateTime<Utc>) -> Decision {
        decide(config, dataset, at)
    }

    fn tasks_of(decision: Decision) -> Vec<Task> {
        match decision {
            Decision::Collect(run) => tasks(&config(), &run, 5),
            Decision::Skip(why) => panic!("skipped: {why}"),
        }
    }

    fn skipped(decision: Decision) -> String {
        match decision {
            Decision::Skip(why) => why,
            Decision::Collect(run) => panic!("collects {run:?}"),
        }
    }

    #[test]
    fn daily_batches_symbols_up_to_the_task_size() {
        let t = tasks_of(plan(&config(), Dataset::Daily, ny(2026, 11, 24, 16, 30)));
        assert_eq!(t.len(), 3, "3 symbols over 5 partitions: one each");
        assert_eq!(t[0].symbols, ["AAPL"]);
        assert_eq!(t[0].trading_day.to_string(), "2026-11-24");
        assert_eq!(t[0].id, "daily-2026-11-24-20261124T213000Z-0");
        let mut c = config();
        c.datasets.daily.symbols = (0..30).map(|i| format!("S{i}").parse().unwrap()).collect();
        let Decision::Collect(run) = decide(&c, Dataset::Daily, ny(2026, 11, 24, 16, 30)) else {
            panic!()
        };
        let t = tasks(&c, &run, 5);
        assert_eq!(t.len(), 15, "symbolsPerTask (2) caps the batch");
        assert!(t.iter().all(|t| t.symbols.len() == 2));
        let t = tasks(&c, &run, 1);
        assert_eq!(t.len(), 15);
    }

    #[test]
    fn runs_start_on_different_partitions() {
        let first = ny(2026, 11, 24, 16, 30);
        let starts: std::collections::BTreeSet<i32> = (0..5)
            .map(|m| partition_of(first + Duration::minutes(m), 0, 5))
            .collect();
        assert_eq!(starts.len(), 5);
        let run: Vec<i32> = (0..7).map(|n| partition_of(first, n, 5)).collect();
        assert_eq!(
            run.iter().collect::<std::collections::BTreeSet<_>>().len(),
            5,
            "{run:?}"
        );
    }

    #[test]
    fn holidays_and_weekends_are_skipped_with_the_reason() {
        let why = skipped(plan(&config(), Dataset::Daily, ny(2026, 11, 26, 16, 30)));
        assert!(why.contains("Thanksgiving Day"), "{why}");
        let why = skipped(plan(&config(), Dataset::Options, ny(2026, 11, 28, 12, 0)));
        assert!(why.contains("weekend"), "{why}");
    }

    #[test]
    fn intraday_only_runs_during_the_session() {
        assert_eq!(
            tasks_of(plan(&config(), Dataset::Intraday, ny(2026, 11, 24, 9, 30))).len(),
            1
        );
        assert_eq!(
            tasks_of(plan(&config(), Dataset::Intraday, ny(2026, 11, 24, 16, 0))).len(),
            1
        );
        let why = skipped(plan(&config(), Dataset::Intraday, ny(2026, 11, 24, 9, 15)));
        assert!(why.contains("outside the regular session"), "{why}");
        let why = skipped(plan(&config(), Dataset::Intraday, ny(2026, 11, 27, 13, 30)));
        assert!(why.contains("09:30–13:00"), "early close: {why}");
    }

    #[test]
    fn historical_runs_any_day_up_to_the_last_session() {
        let t = tasks_of(plan(
            &config(),
            Dataset::Historical,
            ny(2026, 11, 28, 10, 0),
        ));
        assert_eq!(t.len(), 2);
        let w = t[0].window.unwrap();
        assert_eq!(
            (w.start.to_string(), w.end.to_string()),
            ("2020-01-02".into(), "2026-11-27".into())
        );
        assert_eq!(t[1].symbols, ["MSFT"]);
    }

    #[test]
    fn options_one_task_per_symbol() {
        let t = tasks_of(plan(&config(), Dataset::Options, ny(2026, 11, 24, 12, 0)));
        assert_eq!(
            t.iter().map(|t| t.symbols.clone()).collect::<Vec<_>>(),
            [["SPY"], ["QQQ"]]
        );
    }

    #[test]
    fn disabled_or_empty_datasets_do_nothing() {
        let mut c = config();
        c.datasets.daily.enabled = false;
        assert!(skipped(plan(&c, Dataset::Daily, ny(2026, 11, 24, 16, 30))).contains("disabled"));
        c.datasets.options.symbols.clear();
        assert!(
            skipped(plan(&c, Dataset::Options, ny(2026, 11, 24, 16, 30))).contains("no symbols")
        );
        c.datasets.historical.start_date = None;
        assert!(
            skipped(plan(&c, Dataset::Historical, ny(2026, 11, 24, 16, 30))).contains("startDate")
        );
    }
}
