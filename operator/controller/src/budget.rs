//! Budget demand: how many Twelve Data credits a pipeline's schedules spend in a trading day,
//! against what its API keys allow, so a user learns at `kubectl apply` that intraday bars for
//! 120 symbols every 15 minutes cannot fit one free key, not at 3 pm. Pure: the reconcile and
//! `render` count the keys; this does the arithmetic (docs/budgets.md).
//!
//! A run collects what the trigger would: daily bars on any run of a trading day, intraday
//! bars on runs from the open to 15 minutes after the close. Runs are counted on a regular
//! winter and a regular summer day, and the larger count is taken, so a schedule read in UTC
//! is judged on its worse season.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::America::New_York;
use optionsflow_api::collection::{
    CREDITS_PER_SYMBOL, HISTORY_WINDOW_DAYS, INTRADAY_GRACE_MINUTES, REGULAR_CLOSE, REGULAR_OPEN,
};
use optionsflow_api::schedule::Schedule;
use optionsflow_api::{Dataset, RuntimeConfig};

/// Regular full sessions (no holiday, no early close) in winter and summer time.
fn sample_days() -> [NaiveDate; 2] {
    [(2026, 1, 13), (2026, 7, 14)]
        .map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("a date"))
}

/// The Twelve Data keys a pipeline has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Keys {
    /// `spec.sources.twelveData.apiKeysSecret` is not set.
    NotConfigured,
    /// The Secret or its key could not be read (why).
    Unknown(String),
    /// This many comma-separated keys.
    Count(usize),
}

impl Keys {
    /// Counts the keys in a Secret's value, as the collector splits it.
    pub fn in_value(value: &str) -> Keys {
        Keys::Count(optionsflow_api::role::env::items(value).count())
    }
}

/// One scheduled dataset's spend in a trading day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetDemand {
    pub dataset: Dataset,
    pub runs: u64,
    pub symbols: u64,
    pub credits: u64,
}

/// What the pipeline asks of Twelve Data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Demand {
    /// The scheduled datasets that spend Twelve Data credits.
    pub datasets: Vec<DatasetDemand>,
    /// Credits of every scheduled run in a trading day.
    pub per_day: u64,
    /// Credits of the backfill, spent once.
    pub backfill: u64,
}

/// The `BudgetInsufficient` condition's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub insufficient: bool,
    pub reason: &'static str,
    pub message: String,
}

/// The credits the config's schedules and backfill spend; `today` ends an open backfill.
pub fn demand(config: &RuntimeConfig, today: NaiveDate) -> Demand {
    let mut datasets = Vec::new();
    for dataset in [Dataset::Daily, Dataset::Intraday, Dataset::Historical] {
        let common = config.datasets.common(dataset);
        let Some(schedule) = common.schedule.filter(|_| common.enabled) else {
            continue;
        };
        // The operator rejects bad schedules and zones before it builds a config.
        let Ok(schedule) = Schedule::parse(schedule, common.time_zone) else {
            continue;
        };
        let runs = sample_days()
            .into_iter()
            .map(|day| runs_on(&schedule, dataset, day))
            .max()
            .unwrap_or(0);
        let symbols = common.symbols.len() as u64;
        let per_run = match dataset {
            Dataset::Historical => history_credits(config, today),
            _ => symbols * CREDITS_PER_SYMBOL,
        };
        datasets.push(DatasetDemand {
            dataset,
            runs,
            symbols,
            credits: runs * per_run,
        });
    }
    let h = &config.datasets.historical;
    Demand {
        per_day: datasets.iter().map(|d| d.credits).sum(),
        backfill: if h.enabled && h.start_date.is_some() {
            history_credits(config, today)
        } else {
            0
        },
        datasets,
    }
}

/// The verdict for a built pipeline: its demand against its keys' daily budget.
pub fn verdict(config: &RuntimeConfig, keys: &Keys, today: NaiveDate) -> Verdict {
    assess(
        &demand(config, today),
        keys,
        config.sources.twelve_data.budget.per_day,
    )
}

/// Compares the demand with what the keys allow a day.
pub fn assess(demand: &Demand, keys: &Keys, per_key_per_day: Option<u32>) -> Verdict {
    let spent = demand
        .datasets
        .iter()
        .map(|d| {
            format!(
                "{} {} ({} runs × {} symbols)",
                d.dataset, d.credits, d.runs, d.symbols
            )
        })
        .collect::<Vec<_>>();
    let wanted = if spent.is_empty() {
        "no scheduled dataset uses Twelve Data".to_owned()
    } else {
        format!(
            "{} Twelve Data credits a trading day: {}",
            demand.per_day,
            spent.join(", ")
        )
    };
    let backfill = if demand.backfill > 0 {
        format!("; the backfill {} once", demand.backfill)
    } else {
        String::new()
    };
    if demand.per_day == 0 && demand.backfill == 0 {
        return Verdict {
            insufficient: false,
            reason: "WithinBudget",
            message: wanted,
        };
    }
    let count = match keys {
        Keys::NotConfigured => {
            return Verdict {
                insufficient: true,
                reason: "NoApiKeys",
                message: format!(
                    "{wanted}{backfill}, but spec.sources.twelveData.apiKeysSecret is not set"
                ),
            };
        }
        Keys::Unknown(why) => {
            return Verdict {
                insufficient: true,
                reason: "ApiKeysUnreadable",
                message: format!("{wanted}{backfill}; the keys cannot be counted: {why}"),
            };
        }
        Keys::Count(n) => *n as u64,
    };
    let Some(per_key) = per_key_per_day else {
        return Verdict {
            insufficient: false,
            reason: "WithinBudget",
            message: format!("{wanted}{backfill}; the keys have no daily limit"),
        };
    };
    let capacity = count * u64::from(per_key);
    let allowance = format!("{count} keys × {per_key} a day = {capacity}");
    if demand.per_day > capacity {
        return Verdict {
            insufficient: true,
            reason: "BudgetInsufficient",
            message: format!(
                "{wanted}{backfill}, but {allowance}: add keys, a larger plan \
                 (spec.sources.twelveData.budget.perDay), fewer symbols or fewer runs"
            ),
        };
    }
    let spare = capacity - demand.per_day;
    let backfill_days = match demand.backfill {
        0 => String::new(),
        b if b <= spare => "; the backfill fits in the first day".to_owned(),
        b if spare == 0 => format!("; the backfill ({b}) has no credits left to use"),
        b => format!("; the backfill takes about {} days", b.div_ceil(spare)),
    };
    Verdict {
        insufficient: false,
        reason: "WithinBudget",
        message: format!("{wanted}{backfill}, within {allowance}{backfill_days}"),
    }
}

/// Runs on `day` (New York) that collect, as the trigger decides.
fn runs_on(schedule: &Schedule, dataset: Dataset, day: NaiveDate) -> u64 {
    let at = |(h, m): (u32, u32)| -> DateTime<Utc> {
        let naive = day.and_hms_opt(h, m, 0).expect("valid time");
        New_York
            .from_local_datetime(&naive)
            .earliest()
            .expect("sample days have no DST switch")
            .with_timezone(&Utc)
    };
    let (from, to) = match dataset {
        Dataset::Intraday => (
            at(REGULAR_OPEN),
            at(REGULAR_CLOSE) + Duration::minutes(INTRADAY_GRACE_MINUTES),
        ),
        _ => (at((0, 0)), at((0, 0)) + Duration::days(1)),
    };
    let mut runs = 0;
    // `next_after` is strictly after: start a second early so a run at `from` counts.
    let mut cursor = from - Duration::seconds(1);
    while let Some(next) = schedule.next_after(cursor).filter(|t| *t < to) {
        runs += 1;
        cursor = next;
    }
    runs
}

/// Credits of one full history run: a request per symbol per window of trading days.
/// Weekdays stand in for trading days, so holidays make this a slight over-estimate.
fn history_credits(config: &RuntimeConfig, today: NaiveDate) -> u64 {
    let h = &config.datasets.historical;
    let Some(start) = h.start_date else { return 0 };
    let end = h.end_date.unwrap_or(today).min(today);
    if start > end {
        return 0;
    }
    let weekdays = start
        .iter_days()
        .take_while(|d| *d <= end)
        .filter(|d| chrono::Datelike::weekday(d).number_from_monday() <= 5)
        .count();
    let windows = weekdays.div_ceil(HISTORY_WINDOW_DAYS).max(1) as u64;
    h.symbols.len() as u64 * windows * CREDITS_PER_SYMBOL
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(datasets: &str) -> RuntimeConfig {
        RuntimeConfig::from_json(&format!(
            r#"{{"pipeline":{{"namespace":"n","name":"p"}},"kafka":{{"bootstrapServers":"k"}},
                "datasets":{datasets}}}"#
        ))
        .unwrap()
    }

    /// `n` distinct tickers: XAA, XAB, ...
    fn symbols(n: usize) -> String {
        let letter = |i: usize| (b'A' + i as u8) as char;
        let list: Vec<String> = (0..n)
            .map(|i| format!("\"X{}{}\"", letter(i / 26), letter(i % 26)))
            .collect();
        format!("[{}]", list.join(","))
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    }

    /// The seed's deployment: 120 symbols, intraday bars every 15 minutes, one free key.
    #[test]
    fn the_seeds_intraday_load_does_not_fit_one_free_key() {
        let c = config(&format!(
            r#"{{"daily":{{"enabled":false}},"options":{{"enabled":false}},
                "intraday":{{"symbols":{},"schedule":"*/15 9-16 * * 1-5"}}}}"#,
            symbols(120)
        ));
        let d = demand(&c, today());
        assert_eq!(d.datasets.len(), 1);
        assert_eq!(d.datasets[0].runs, 27, "09:30 to 16:00 inclusive");
        assert_eq!(d.per_day, 3_240);
        let v = assess(&d, &Keys::Count(1), Some(800));
        assert!(v.insufficient);
        assert_eq!(v.reason, "BudgetInsufficient");
        assert!(
            v.message.starts_with(
                "3240 Twelve Data credits a trading day: intraday 3240 (27 runs × 120 symbols), \
                 but 1 keys × 800 a day = 800"
            ),
            "{}",
            v.message
        );
        assert!(!assess(&d, &Keys::Count(5), Some(800)).insufficient);
        assert_eq!(
            assess(&d, &Keys::NotConfigured, Some(800)).reason,
            "NoApiKeys"
        );
    }

    #[test]
    fn daily_runs_count_once_per_run_and_the_backfill_is_spread() {
        let c = config(&format!(
            r#"{{"daily":{{"symbols":{s},"schedule":"30 16 * * 1-5"}},
                "intraday":{{"enabled":false}},"options":{{"symbols":["SPY"]}},
                "historical":{{"symbols":{s},"startDate":"2000-01-03"}}}}"#,
            s = symbols(100)
        ));
        let d = demand(&c, today());
        assert_eq!(
            d.datasets,
            [DatasetDemand {
                dataset: Dataset::Daily,
                runs: 1,
                symbols: 100,
                credits: 100
            }]
        );
        // 2000-01-03 to 2026-11-30 is about 7,000 weekdays: two windows per symbol.
        assert_eq!(d.backfill, 200);
        let v = assess(&d, &Keys::Count(1), Some(800));
        assert!(!v.insufficient, "{}", v.message);
        assert!(
            v.message.ends_with("the backfill fits in the first day"),
            "{}",
            v.message
        );
        let v = assess(&d, &Keys::Count(1), Some(150));
        assert!(
            v.message.ends_with("the backfill takes about 4 days"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_utc_schedule_is_judged_on_its_worse_season() {
        // 13:30-20:45 UTC is 09:30-16:45 in summer (EDT) but 08:30-15:45 in winter (EST).
        let c = config(
            r#"{"daily":{"enabled":false},"options":{"enabled":false},
               "intraday":{"symbols":["SPY"],"schedule":"*/15 13-20 * * 1-5","timeZone":"UTC"}}"#,
        );
        let d = demand(&c, today());
        // Summer: 13:30 to 20:00 UTC = 27 runs; winter: 14:30 to 20:45 = 26.
        assert_eq!(d.datasets[0].runs, 27);
    }

    #[test]
    fn options_only_spends_no_twelve_data_credits() {
        let c = config(
            r#"{"daily":{"enabled":false},"intraday":{"enabled":false},
               "options":{"symbols":["SPY"],"schedule":"20 16 * * 1-5"}}"#,
        );
        let v = assess(&demand(&c, today()), &Keys::NotConfigured, Some(800));
        assert!(!v.insufficient);
        assert_eq!(v.message, "no scheduled dataset uses Twelve Data");
        assert_eq!(Keys::in_value(" a, b ,,c\n"), Keys::Count(3));
    }
}
