//! Rounds of collection in `local`: which datasets run when (now for `--once`, the
//! schedules otherwise), the trigger's decision and the collector's tasks with a progress
//! bar per dataset, and waiting until every stage has stored what the round published.

use chrono::{DateTime, NaiveTime, Utc};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use optionsflow_api::{Dataset, Envelope, MessageOrigin, RuntimeConfig, SchemaId, Source, Task};

use super::LocalError;
use crate::budget::gate::SoloIo;
use crate::bus::local::LocalBus;
use crate::market::calendar;
use crate::roles::collect::collector::{Collector, TaskContext};
use crate::roles::trigger::{self, Decision};
use optionsflow_api::schedule::Schedule;

/// When a one-off round collects: now during a session once its first 15-minute bar ended
/// (or up to ten minutes after its close, so intraday still counts it), else ten minutes
/// after the last close.
pub fn once_at(now: DateTime<Utc>) -> DateTime<Utc> {
    let after_close = chrono::Duration::minutes(10);
    let first_bar = chrono::Duration::minutes(15);
    let today = calendar::exchange_date(now);
    if let Some(s) = calendar::session(today)
        && now >= s.open + first_bar
    {
        return now.min(s.close + after_close);
    }
    let previous = calendar::trading_day_on_or_before(today - chrono::Duration::days(1));
    let close = calendar::session(previous).map_or_else(
        || calendar::exchange_instant(previous, NaiveTime::from_hms_opt(16, 0, 0).expect("valid")),
        |s| s.close,
    );
    close + after_close
}

/// The enabled datasets' schedules; an error names the dataset whose schedule is wrong.
pub fn schedules(config: &RuntimeConfig) -> Result<Vec<(Dataset, Schedule)>, LocalError> {
    let mut out = Vec::new();
    for dataset in Dataset::ALL {
        let common = config.datasets.common(dataset);
        let Some(expression) = common.schedule.filter(|_| common.enabled) else {
            continue;
        };
        let schedule = Schedule::parse(expression, common.time_zone)
            .map_err(|source| LocalError::Schedule { dataset, source })?;
        out.push((dataset, schedule));
    }
    if out.is_empty() {
        return Err(LocalError::NothingScheduled);
    }
    Ok(out)
}

/// What a round needs.
pub struct Rounds<'a> {
    pub config: &'a RuntimeConfig,
    pub collector: &'a Collector<SoloIo, LocalBus>,
    pub bus: &'a LocalBus,
    pub progress: bool,
}

impl Rounds<'_> {
    /// Runs the trigger's decision and the collector's tasks for `datasets` at `at`.
    pub async fn collect(&self, datasets: &[Dataset], at: DateTime<Utc>) {
        let config = self.config;
        let bars = MultiProgress::with_draw_target(if self.progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let style =
            ProgressStyle::with_template("{prefix:>11} [{bar:30}] {pos}/{len} symbols {msg}")
                .expect("a valid template")
                .progress_chars("=> ");
        let mut plans = Vec::new();
        for &dataset in datasets {
            match trigger::decide(config, dataset, at) {
                Decision::Skip(why) => {
                    tracing::info!(%dataset, reason = %why, "nothing to collect");
                    let common = config.datasets.common(dataset);
                    if common.enabled && !common.symbols.is_empty() {
                        let _ = bars.println(format!("{dataset:>11}: skipped, {why}"));
                    }
                }
                Decision::Collect(run) => {
                    let tasks = trigger::tasks(config, &run, 1);
                    let symbols: usize = tasks.iter().map(|t| t.symbols.len()).sum();
                    let bar = bars.add(ProgressBar::new(symbols as u64));
                    bar.set_style(style.clone());
                    bar.set_prefix(dataset.as_str());
                    plans.push((dataset, tasks, bar));
                }
            }
        }
        let pipeline = config.pipeline.id();
        for (dataset, tasks, bar) in plans {
            for (n, task) in tasks.iter().enumerate() {
                bar.set_message(task.symbols.join(","));
                let ctx = TaskContext {
                    task,
                    origin: MessageOrigin {
                        topic: "local-trigger".into(),
                        partition: 0,
                        offset: n as i64,
                    },
                    original: task_message(&pipeline, task, at),
                };
                let report = self.collector.run(&ctx).await;
                if report.dead_letters > 0 {
                    let _ = bars.println(format!(
                        "{dataset:>11}: {} symbol(s) sent to dead-letter",
                        report.dead_letters
                    ));
                }
                bar.inc(task.symbols.len() as u64);
            }
            bar.finish_with_message("done");
        }
    }

    /// Waits until every stage has stored everything published so far.
    pub async fn drain(&self) {
        self.bus.caught_up().await;
    }

    /// Runs each dataset at its scheduled times, for as long as it is awaited.
    pub async fn on_schedule(&self, schedules: &[(Dataset, Schedule)]) {
        let mut after = Utc::now();
        loop {
            let Some(at) = schedules
                .iter()
                .filter_map(|(_, s)| s.next_after(after))
                .min()
            else {
                return;
            };
            let due: Vec<Dataset> = schedules
                .iter()
                .filter(|(_, s)| s.next_after(after) == Some(at))
                .map(|(d, _)| *d)
                .collect();
            let names: Vec<&str> = due.iter().map(|d| d.as_str()).collect();
            println!("next round: {} at {}", names.join(", "), at.to_rfc3339());
            let wait = (at - Utc::now()).to_std().unwrap_or_default();
            tokio::time::sleep(wait).await;
            self.collect(&due, at).await;
            self.drain().await;
            after = at;
        }
    }
}

/// The task as the trigger would have published it, for dead letters.
fn task_message(pipeline: &str, task: &Task, at: DateTime<Utc>) -> serde_json::Value {
    let envelope = Envelope::new(
        SchemaId::TASK,
        pipeline,
        &task.symbols[0],
        Source::Optionsflow,
        at,
        task,
    )
    .with_task(&task.id);
    serde_json::to_value(&envelope).expect("tasks serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_one_off_round_collects_the_latest_session() {
        // Tuesday during the session: now.
        assert_eq!(
            once_at(utc("2026-11-24T18:00:00Z")),
            utc("2026-11-24T18:00:00Z")
        );
        // Tuesday evening: ten minutes after the close (16:00 EST = 21:00 UTC).
        assert_eq!(
            once_at(utc("2026-11-25T02:00:00Z")),
            utc("2026-11-24T21:10:00Z")
        );
        // Before Wednesday's first bar ended: still Tuesday's close.
        assert_eq!(
            once_at(utc("2026-11-25T13:00:00Z")),
            utc("2026-11-24T21:10:00Z")
        );
        assert_eq!(
            once_at(utc("2026-11-25T14:44:00Z")),
            utc("2026-11-24T21:10:00Z")
        );
        assert_eq!(
            once_at(utc("2026-11-25T14:45:00Z")),
            utc("2026-11-25T14:45:00Z")
        );
        // Thanksgiving (closed) and the weekend after the early close (13:00).
        assert_eq!(
            once_at(utc("2026-11-26T17:00:00Z")),
            utc("2026-11-25T21:10:00Z")
        );
        assert_eq!(
            once_at(utc("2026-11-29T17:00:00Z")),
            utc("2026-11-27T18:10:00Z")
        );
    }

    #[test]
    fn schedules_are_checked_before_anything_runs() {
        let config = |daily: &str| {
            RuntimeConfig::from_json(&format!(
                r#"{{"pipeline":{{"namespace":"a","name":"b"}},"kafka":{{"bootstrapServers":"x"}},
                    "datasets":{{"daily":{{"symbols":["SPY"],"schedule":"{daily}"}}}}}}"#
            ))
            .unwrap()
        };
        let ok = schedules(&config("30 16 * * 1-5")).unwrap();
        assert_eq!(ok.len(), 1);
        // What a CronJob takes, `local` takes, meaning the same.
        assert_eq!(schedules(&config("30 16 ? * MON-FRI")).unwrap(), ok);
        let err = schedules(&config("30 25 * * *")).unwrap_err().to_string();
        assert!(err.contains("daily") && err.contains("hour"), "{err}");
        let err = schedules(&config("30 16 L * *")).unwrap_err().to_string();
        assert!(err.contains("day-of-month"), "{err}");
    }
}
