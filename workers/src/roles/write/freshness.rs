//! How fresh a writer's data is: the newest record it stored per dataset and symbol, and per
//! dataset how far that is behind what the schedule and the NYSE calendar say should be
//! stored by now (`optionsflow_write_behind_schedule_seconds`, docs/observability.md).
//!
//! A run is *due* once [`LANDING_TIME`] has passed since its schedule fired on a day the
//! trigger collects ([`trigger::decide`]). What a due run brings is the newest record it
//! should leave ([`expected_newest`]): the session's daily bar (once the session opened), the
//! last 15-minute bar completed before the run, an option snapshot taken at or after the run.
//! The measure is how far the newest stored record is behind that, and 0 on days the market
//! is closed, so that weekend and holiday alerts stay quiet.
//!
//! A writer knows what it stored since it started. Until it stores something it counts what
//! was due when it started as stored, so a restart does not raise an alarm; it is the next
//! run that does not land that does. Each replica sees the symbols of its partitions: the
//! dataset's figure is the smallest over a store's replicas.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, TimeDelta, Utc};
use optionsflow_api::Dataset;
use optionsflow_api::runtime_config::RuntimeConfig;
use optionsflow_api::schedule::Schedule;

use crate::market::calendar;
use crate::roles::trigger::{self, Decision};
use crate::runtime::metrics::{self, Metrics};

/// How long after its schedule fires a run's data is expected to be stored: collection at the
/// providers' pace, processing and a batch's wait.
pub const LANDING_TIME: Duration = Duration::minutes(20);

/// The length of an intraday bar.
const INTRADAY_BAR: Duration = Duration::minutes(15);

/// Fires of a schedule skipped (market closed, outside the session) before giving up on
/// finding a due run: a week of 15-minute fires.
const MAX_SKIPPED_FIRES: usize = 7 * 96;

/// The latest run of `dataset` that was due by `now`: its schedule fired at least
/// [`LANDING_TIME`] before, on a day and at a time the trigger collects.
pub fn due_run(
    config: &RuntimeConfig,
    dataset: Dataset,
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut at = now - LANDING_TIME;
    for _ in 0..MAX_SKIPPED_FIRES {
        let fired = schedule.last_at_or_before(at)?;
        if matches!(
            trigger::decide(config, dataset, fired),
            Decision::Collect(_)
        ) {
            return Some(fired);
        }
        at = fired - TimeDelta::seconds(1);
    }
    None
}

/// The next run of `dataset` after `now` that will collect (the schedule fires on a day and at
/// a time the trigger collects).
pub fn next_run(
    config: &RuntimeConfig,
    dataset: Dataset,
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut after = now;
    for _ in 0..MAX_SKIPPED_FIRES {
        let fires = schedule.next_after(after)?;
        if matches!(
            trigger::decide(config, dataset, fires),
            Decision::Collect(_)
        ) {
            return Some(fires);
        }
        after = fires;
    }
    None
}

/// The source time of the newest record a run at `run` leaves, if the dataset keeps pace
/// with a schedule (the historical backfill does not).
pub fn expected_newest(dataset: Dataset, run: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let day = calendar::exchange_date(run);
    let previous_session = || {
        let before = calendar::trading_day_on_or_before(day.pred_opt()?);
        calendar::session(before)
    };
    match dataset {
        Dataset::Daily => match calendar::session(day).filter(|s| run >= s.open) {
            Some(s) => Some(s.open),
            None => previous_session().map(|s| s.open),
        },
        Dataset::Intraday => {
            let session = calendar::session(day).filter(|s| run >= s.open + INTRADAY_BAR);
            match session {
                Some(s) => {
                    let end = run.min(s.close);
                    let bars = (end - s.open).num_seconds() / INTRADAY_BAR.num_seconds();
                    Some(s.open + INTRADAY_BAR * (bars as i32 - 1))
                }
                None => previous_session().map(|s| s.close - INTRADAY_BAR),
            }
        }
        Dataset::Options => Some(run),
        Dataset::Historical => None,
    }
}

/// How far `newest` (or, before anything was stored, what was due at `since`) is behind what
/// should be stored by `now`; zero on days the market is closed. `None` if the dataset does
/// not keep pace with a schedule.
pub fn behind(
    config: &RuntimeConfig,
    dataset: Dataset,
    schedule: &Schedule,
    newest: Option<DateTime<Utc>>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<Duration> {
    if dataset == Dataset::Historical {
        return None;
    }
    if !calendar::is_trading_day(calendar::exchange_date(now)) {
        return Some(Duration::zero());
    }
    let Some(run) = due_run(config, dataset, schedule, now) else {
        return Some(Duration::zero());
    };
    let expected = expected_newest(dataset, run)?;
    let at_start =
        due_run(config, dataset, schedule, since).and_then(|r| expected_newest(dataset, r));
    let have = newest.max(at_start);
    Some(match have {
        Some(have) => (expected - have).max(Duration::zero()),
        None => now - run,
    })
}

/// A writer's freshness: what it stored, and the schedules it is measured against.
pub struct Freshness {
    store: &'static str,
    config: RuntimeConfig,
    schedules: Vec<(Dataset, Schedule)>,
    started: DateTime<Utc>,
    newest: Mutex<HashMap<Dataset, DateTime<Utc>>>,
    metrics: Metrics,
}

impl Freshness {
    /// Measures the scheduled datasets of `config` among `datasets` (a schedule that does not
    /// parse was refused long before; it is left out here).
    pub fn new(
        store: &'static str,
        config: &RuntimeConfig,
        datasets: &[Dataset],
        metrics: Metrics,
        started: DateTime<Utc>,
    ) -> Freshness {
        let schedules = datasets
            .iter()
            .filter_map(|d| {
                let common = config.datasets.common(*d);
                let schedule = Schedule::parse(common.schedule?, common.time_zone).ok()?;
                common.enabled.then_some((*d, schedule))
            })
            .collect();
        Freshness {
            store,
            config: config.clone(),
            schedules,
            started,
            newest: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    /// Notes a stored message: its dataset, symbol and newest record's time.
    pub fn stored(&self, dataset: Dataset, symbol: &str, time: DateTime<Utc>) {
        metrics::newest(
            &self.metrics.writing.newest,
            &[self.store, dataset.as_str(), symbol],
            time,
        );
        let mut newest = self.newest.lock().expect("lock");
        let entry = newest.entry(dataset).or_insert(time);
        *entry = (*entry).max(time);
    }

    /// Sets the behind-schedule gauge of every scheduled dataset for `now`.
    pub fn report(&self, now: DateTime<Utc>) {
        let newest = self.newest.lock().expect("lock").clone();
        for (dataset, schedule) in &self.schedules {
            let have = newest.get(dataset).copied();
            if let Some(gap) = behind(&self.config, *dataset, schedule, have, self.started, now) {
                self.metrics
                    .writing
                    .behind_schedule
                    .with_label_values(&[self.store, dataset.as_str()])
                    .set(gap.num_milliseconds() as f64 / 1000.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A New York wall-clock time.
    fn ny(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        calendar::EXCHANGE_TZ
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn config() -> RuntimeConfig {
        RuntimeConfig::from_json(
            r#"{"pipeline":{"namespace":"m","name":"p"},"kafka":{"bootstrapServers":"x"},
                "datasets":{"daily":{"symbols":["AAPL"]},"intraday":{"symbols":["AAPL"]},
                            "options":{"symbols":["AAPL"]}}}"#,
        )
        .unwrap()
    }

    fn schedule(cron: &str) -> Schedule {
        Schedule::parse(cron, "America/New_York").unwrap()
    }

    /// The run due now (its data had time to land, on a day the market opens) and the next
    /// one (skipping fires that collect nothing).
    #[test]
    fn due_and_next_runs_skip_the_fires_that_collect_nothing() {
        type Run = fn(&RuntimeConfig, Dataset, &Schedule, DateTime<Utc>) -> Option<DateTime<Utc>>;
        let (due, next): (Run, Run) = (due_run, next_run);
        let c = config();
        let (daily, intraday) = ("30 16 * * *", "*/15 * * * 1-5");
        use Dataset::{Daily, Intraday};
        let cases = [
            // Tuesday 2026-11-24 16:45: today's run fired 15 minutes ago, not yet due.
            (
                due,
                Daily,
                daily,
                ny(2026, 11, 24, 16, 45),
                ny(2026, 11, 23, 16, 30),
            ),
            (
                due,
                Daily,
                daily,
                ny(2026, 11, 24, 16, 50),
                ny(2026, 11, 24, 16, 30),
            ),
            // Monday after Thanksgiving week's Friday: the weekend's fires are skipped.
            (
                due,
                Daily,
                daily,
                ny(2026, 11, 30, 9, 0),
                ny(2026, 11, 27, 16, 30),
            ),
            // Thanksgiving (2026-11-26) is skipped too.
            (
                due,
                Daily,
                daily,
                ny(2026, 11, 27, 10, 0),
                ny(2026, 11, 25, 16, 30),
            ),
            // Intraday fires outside the session do not count.
            (
                due,
                Intraday,
                intraday,
                ny(2026, 11, 24, 9, 40),
                ny(2026, 11, 23, 16, 0),
            ),
            // Wednesday before Thanksgiving, after the close: the next is Friday's open.
            (
                next,
                Intraday,
                intraday,
                ny(2026, 11, 25, 17, 0),
                ny(2026, 11, 27, 9, 30),
            ),
            (
                next,
                Daily,
                daily,
                ny(2026, 11, 27, 17, 0),
                ny(2026, 11, 30, 16, 30),
            ),
        ];
        for (run, dataset, cron, now, expected) in cases {
            let got = run(&c, dataset, &schedule(cron), now);
            assert_eq!(got, Some(expected), "{dataset} on {cron:?} at {now}");
        }
    }

    #[test]
    fn what_a_run_should_leave() {
        use Dataset::{Daily, Historical, Intraday, Options};
        let cases = [
            // Daily: the session's bar once it opened, else the previous session's.
            (
                Daily,
                ny(2026, 11, 24, 16, 30),
                Some(ny(2026, 11, 24, 9, 30)),
            ),
            (Daily, ny(2026, 11, 24, 8, 0), Some(ny(2026, 11, 23, 9, 30))),
            // Intraday: the last bar completed by the run.
            (
                Intraday,
                ny(2026, 11, 24, 10, 50),
                Some(ny(2026, 11, 24, 10, 30)),
            ),
            (
                Intraday,
                ny(2026, 11, 24, 16, 10),
                Some(ny(2026, 11, 24, 15, 45)),
            ),
            // The day after Thanksgiving closes at 13:00.
            (
                Intraday,
                ny(2026, 11, 27, 16, 0),
                Some(ny(2026, 11, 27, 12, 45)),
            ),
            (
                Intraday,
                ny(2026, 11, 30, 9, 35),
                Some(ny(2026, 11, 27, 12, 45)),
            ),
            (
                Options,
                ny(2026, 11, 24, 10, 0),
                Some(ny(2026, 11, 24, 10, 0)),
            ),
            (Historical, ny(2026, 11, 24, 10, 0), None),
        ];
        for (dataset, at, newest) in cases {
            assert_eq!(expected_newest(dataset, at), newest, "{dataset} at {at}");
        }
    }

    #[test]
    fn behind_is_the_gap_to_what_is_due_and_zero_when_the_market_is_closed() {
        let c = config();
        let options = schedule("0,30 10-15 * * 1-5");
        let started = ny(2026, 11, 24, 8, 0);
        let now = ny(2026, 11, 24, 12, 25);
        // Due: the 12:00 run. Stored up to the 11:30 snapshot: 30 minutes behind.
        let gap = behind(
            &c,
            Dataset::Options,
            &options,
            Some(ny(2026, 11, 24, 11, 31)),
            started,
            now,
        );
        assert_eq!(gap, Some(Duration::minutes(29)));
        // Stored the 12:00 snapshot: on time.
        let gap = behind(
            &c,
            Dataset::Options,
            &options,
            Some(ny(2026, 11, 24, 12, 1)),
            started,
            now,
        );
        assert_eq!(gap, Some(Duration::zero()));
        // Nothing stored since an 08:00 start: what was due then counts as stored (the
        // previous day's 15:30 run), so the day's missing runs show.
        let gap = behind(&c, Dataset::Options, &options, None, started, now);
        assert_eq!(
            gap,
            Some(ny(2026, 11, 24, 12, 0) - ny(2026, 11, 23, 15, 30))
        );
        // A writer that started after the 12:00 run was due owes nothing yet.
        let gap = behind(
            &c,
            Dataset::Options,
            &options,
            None,
            ny(2026, 11, 24, 12, 21),
            now,
        );
        assert_eq!(gap, Some(Duration::zero()));
        // Saturday and Thanksgiving: zero whatever is stored.
        for closed in [ny(2026, 11, 28, 12, 0), ny(2026, 11, 26, 12, 0)] {
            let gap = behind(
                &c,
                Dataset::Options,
                &options,
                None,
                started - Duration::days(30),
                closed,
            );
            assert_eq!(gap, Some(Duration::zero()));
        }
        // The backfill keeps no pace.
        assert_eq!(
            behind(&c, Dataset::Historical, &options, None, started, now),
            None
        );
    }
}
