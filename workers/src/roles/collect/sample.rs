//! Tasks done by the sample source (`sources.sample`): the same tasks, topics and raw
//! formats as live collection, with payloads generated instead of fetched, no budget spent,
//! and every envelope marked `source: sample`.

use chrono::{Duration, NaiveDate, NaiveTime, Utc};
use optionsflow_api::{Dataset, SchemaId, Source, TopicKind};
use serde_json::Value;

use super::bars::{HISTORY_WINDOW_DAYS, history_windows};
use super::collector::{Collector, TaskContext, TaskReport};
use crate::budget::GateIo;
use crate::bus::Publisher;
use crate::market::calendar;
use crate::sources::sample::Sample;
use crate::sources::sample::chain::Rates;

impl<Io: GateIo, P: Publisher> Collector<Io, P> {
    pub(super) async fn sample_task(
        &self,
        sample: &Sample,
        ctx: &TaskContext<'_>,
        report: &mut TaskReport,
    ) {
        let task = ctx.task;
        let day = task.trading_day;
        for symbol in &task.symbols {
            match task.dataset {
                Dataset::Daily => {
                    let bars = self.datasets.daily.lookback_bars.max(1) as usize;
                    let start = first_of_last(day, bars);
                    let series = sample.daily(symbol, start, day);
                    self.publish_series(ctx, report, Dataset::Daily, symbol, series)
                        .await;
                }
                Dataset::Intraday => {
                    let mut series = sample.intraday(symbol, day);
                    // Mid-session, a provider has only the bars that ended by the run.
                    series
                        .values
                        .retain(|bar| ended_by(&bar.datetime, task.scheduled_at));
                    if series.values.is_empty() {
                        report.no_data += 1;
                        continue;
                    }
                    self.publish_series(ctx, report, Dataset::Intraday, symbol, series)
                        .await;
                }
                Dataset::Historical => {
                    let window = task.window.map_or((day, day), |w| (w.start, w.end));
                    for (from, to) in history_windows(window.0, window.1, HISTORY_WINDOW_DAYS) {
                        let series = sample.daily(symbol, from, to);
                        self.publish_series(ctx, report, Dataset::Historical, symbol, series)
                            .await;
                    }
                }
                Dataset::Options => self.sample_chains(sample, ctx, report, symbol).await,
            }
        }
    }

    async fn publish_series(
        &self,
        ctx: &TaskContext<'_>,
        report: &mut TaskReport,
        dataset: Dataset,
        symbol: &str,
        series: crate::sources::twelvedata::wire::TimeSeries,
    ) {
        let payload: Value = serde_json::to_value(&series).expect("series serialize");
        let envelope = self.raw(
            ctx,
            SchemaId::TWELVEDATA_TIME_SERIES,
            Source::Sample,
            symbol,
            Utc::now(),
            payload,
        );
        self.publish_raw(report, TopicKind::raw(dataset), envelope)
            .await;
    }

    /// One message per expiry within the horizon that has not expired yet.
    async fn sample_chains(
        &self,
        sample: &Sample,
        ctx: &TaskContext<'_>,
        report: &mut TaskReport,
        symbol: &str,
    ) {
        let snapshot = Utc::now();
        let close = NaiveTime::from_hms_opt(16, 0, 0).expect("valid");
        let (from, to) = self.horizon(ctx.task);
        let expiries: Vec<NaiveDate> = sample
            .expiries(from, to)
            .into_iter()
            .filter(|e| calendar::exchange_instant(*e, close) > snapshot)
            .collect();
        if expiries.is_empty() {
            report.no_data += 1;
            return;
        }
        let spot = sample.close_on_or_before(symbol, ctx.task.trading_day);
        let rates = Rates {
            rate: self.processing.risk_free_rate,
            dividend_yield: self.processing.dividend_yield(symbol),
        };
        let count = expiries.len() as u32;
        for (index, expiry) in expiries.iter().enumerate() {
            let chain = sample.chain(symbol, snapshot, spot, *expiry, &expiries, rates);
            let payload: Value = serde_json::to_value(&chain).expect("chains serialize");
            let envelope = self
                .raw(
                    ctx,
                    SchemaId::YAHOO_OPTION_CHAIN,
                    Source::Sample,
                    symbol,
                    snapshot,
                    payload,
                )
                .with_part(index as u32, count);
            self.publish_raw(report, TopicKind::OptionData, envelope)
                .await;
        }
    }
}

/// Whether the 15-minute bar that opens at `datetime` (exchange time, as Twelve Data writes
/// it) had ended by `at`.
fn ended_by(datetime: &str, at: chrono::DateTime<Utc>) -> bool {
    chrono::NaiveDateTime::parse_from_str(datetime, "%Y-%m-%d %H:%M:%S").is_ok_and(|open| {
        calendar::exchange_instant(open.date(), open.time()) + Duration::minutes(15) <= at
    })
}

/// The first of the `n` trading days ending on `day`.
fn first_of_last(day: NaiveDate, n: usize) -> NaiveDate {
    let days: Vec<NaiveDate> =
        calendar::trading_days(day - Duration::days(2 * n as i64 + 10), day).collect();
    days[days.len().saturating_sub(n)..]
        .first()
        .copied()
        .unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_counts_once_it_ended() {
        // 2026-11-24 10:00 New York is 15:00 UTC; the bar ends at 10:15.
        let at = |t: &str| t.parse::<chrono::DateTime<Utc>>().unwrap();
        assert!(!ended_by("2026-11-24 10:00:00", at("2026-11-24T15:14:59Z")));
        assert!(ended_by("2026-11-24 10:00:00", at("2026-11-24T15:15:00Z")));
        assert!(!ended_by("not a time", at("2026-11-24T15:15:00Z")));
    }
}
