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

/// What a trigger run decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    Publish(Vec<Task>),
    /// Nothing to collect, and why.
    Skip(String),
}

/// How long after the close an intraday run still collects the day's last bar.
const INTRADAY_GRACE: Duration = Duration::minutes(15);

/// Decides what a run at `at` publishes. Pure.
pub fn plan(config: &RuntimeConfig, dataset: Dataset, at: DateTime<Utc>) -> Plan {
    let common = config.datasets.common(dataset);
    if !common.enabled {
        return Plan::Skip(format!("the {dataset} dataset is disabled"));
    }
    if common.symbols.is_empty() {
        return Plan::Skip(format!("the {dataset} dataset has no symbols"));
    }
    let today = calendar::exchange_date(at);
    let session = match calendar::day(today) {
        Day::Open(s) => Some(s),
        Day::Weekend if dataset != Dataset::Historical => {
            return Plan::Skip(format!("{today} is a weekend day: the market is closed"));
        }
        Day::Closed(c) if dataset != Dataset::Historical => {
            return Plan::Skip(format!("{today} is {}: the market is closed", c.name));
        }
        _ => None,
    };
    let symbols: Vec<String> = common.symbols.iter().map(|s| s.to_string()).collect();
    let stamp = at.format("%Y%m%dT%H%M%SZ");
    let task = |n: usize, symbols: Vec<String>, trading_day: NaiveDate, window| Task {
        id: format!("{dataset}-{trading_day}-{stamp}-{n}"),
        dataset,
        symbols,
        trading_day,
        scheduled_at: at,
        window,
    };
    let per_task = config.sources.twelve_data.symbols_per_task.max(1) as usize;
    match dataset {
        Dataset::Daily => Plan::Publish(
            symbols
                .chunks(per_task)
                .enumerate()
                .map(|(n, c)| task(n, c.to_vec(), today, None))
                .collect(),
        ),
        Dataset::Intraday => {
            let s = session.expect("checked above");
            if at < s.open || at >= s.close + INTRADAY_GRACE {
                let local = |t: DateTime<Utc>| t.with_timezone(&EXCHANGE_TZ).format("%H:%M");
                return Plan::Skip(format!(
                    "{} is outside the regular session of {today} ({}–{} {})",
                    at.with_timezone(&EXCHANGE_TZ).format("%H:%M"),
                    local(s.open),
                    local(s.close),
                    EXCHANGE_TZ.name()
                ));
            }
            Plan::Publish(
                symbols
                    .chunks(per_task)
                    .enumerate()
                    .map(|(n, c)| task(n, c.to_vec(), today, None))
                    .collect(),
            )
        }
        Dataset::Historical => {
            let h = &config.datasets.historical;
            let Some(start) = h.start_date else {
                return Plan::Skip("the historical dataset has no startDate".into());
            };
            let last_session = calendar::trading_day_on_or_before(today);
            let end = h.end_date.unwrap_or(last_session).min(last_session);
            if start > end {
                return Plan::Skip(format!("startDate {start} is after the last session {end}"));
            }
            let window = Some(DateWindow { start, end });
            Plan::Publish(
                symbols
                    .into_iter()
                    .enumerate()
                    .map(|(n, s)| task(n, vec![s], end, window))
                    .collect(),
            )
        }
        Dataset::Options => Plan::Publish(
            symbols
                .into_iter()
                .enumerate()
                .map(|(n, s)| task(n, vec![s], today, None))
                .collect(),
        ),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Plans, then publishes every task and waits for the broker to have them all.
pub async fn run(
    config: &RuntimeConfig,
    dataset: Dataset,
    at: DateTime<Utc>,
) -> Result<Plan, TriggerError> {
    let plan = plan(config, dataset, at);
    let Plan::Publish(tasks) = &plan else {
        return Ok(plan);
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
        let partition = (n as u32 % partitions) as i32;
        kafka::publish(&producer, &topic, Some(partition), &task.symbols[0], &value).await?;
    }
    Ok(plan)
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

    fn tasks(plan: Plan) -> Vec<Task> {
        match plan {
            Plan::Publish(t) => t,
            Plan::Skip(why) => panic!("skipped: {why}"),
        }
    }

    fn skipped(plan: Plan) -> String {
        match plan {
            Plan::Skip(why) => why,
            Plan::Publish(t) => panic!("published {t:?}"),
        }
    }

    #[test]
    fn daily_batches_symbols() {
        let t = tasks(plan(&config(), Dataset::Daily, ny(2026, 11, 24, 16, 30)));
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].symbols, ["AAPL", "MSFT"]);
        assert_eq!(t[1].symbols, ["SPY"]);
        assert_eq!(t[0].trading_day.to_string(), "2026-11-24");
        assert_eq!(t[0].id, "daily-2026-11-24-20261124T213000Z-0");
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
            tasks(plan(&config(), Dataset::Intraday, ny(2026, 11, 24, 9, 30))).len(),
            1
        );
        assert_eq!(
            tasks(plan(&config(), Dataset::Intraday, ny(2026, 11, 24, 16, 0))).len(),
            1
        );
        let why = skipped(plan(&config(), Dataset::Intraday, ny(2026, 11, 24, 9, 15)));
        assert!(why.contains("outside the regular session"), "{why}");
        let why = skipped(plan(&config(), Dataset::Intraday, ny(2026, 11, 27, 13, 30)));
        assert!(why.contains("09:30–13:00"), "early close: {why}");
    }

    #[test]
    fn historical_runs_any_day_up_to_the_last_session() {
        let t = tasks(plan(
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
        let t = tasks(plan(&config(), Dataset::Options, ny(2026, 11, 24, 12, 0)));
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
