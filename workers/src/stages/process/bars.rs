//! Twelve Data time series into bar records: numbers from text, exchange-local times to UTC,
//! one bar per time, invalid bars dropped, intraday bars outside the regular session dropped,
//! and short gaps in the series carried forward from the previous close (flagged `filled`).
//! Gaps are found with the NYSE calendar, so weekends, holidays and early closes are not gaps.

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use optionsflow_api::records::{BarInterval, BarRecord, DropReason, QualityFlag};
use optionsflow_api::{Dataset, SchemaId};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{Dropped, RawMessage, Unusable, count};
use crate::market::calendar::{self, EXCHANGE_TZ};
use crate::sources::twelvedata::wire::{Bar, Meta};

/// Longest run of missing bars carried forward; a longer gap is a halt or an outage, and
/// inventing a week of flat bars would mislead more than a hole does.
const MAX_FILLED_DAYS: usize = 5;
const MAX_FILLED_SLOTS: usize = 8;

#[derive(Deserialize)]
struct Shell<'a> {
    #[serde(default)]
    meta: Option<Meta>,
    #[serde(default, borrow)]
    values: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

pub fn process(
    message: &RawMessage<'_>,
    dataset: Dataset,
) -> Result<(Vec<BarRecord>, Vec<Dropped>, usize), Unusable> {
    let malformed = |detail: String| Unusable::MalformedPayload {
        schema: SchemaId::TWELVEDATA_TIME_SERIES.name,
        detail,
    };
    let shell: Shell<'_> =
        serde_json::from_str(message.payload.get()).map_err(|e| malformed(e.to_string()))?;
    if shell.status.as_deref() == Some("error") {
        return Err(Unusable::ProviderError(shell.message.unwrap_or_default()));
    }
    let values = shell
        .values
        .ok_or_else(|| malformed("no `values` array".into()))?;
    let meta = shell.meta.unwrap_or_default();
    let interval = match dataset {
        Dataset::Intraday => BarInterval::FifteenMinutes,
        _ => BarInterval::Day,
    };
    if let Some(sent) = meta.interval.as_deref()
        && sent != interval.as_str()
    {
        return Err(malformed(format!(
            "interval {sent:?} in {dataset} data, expected {:?}",
            interval.as_str()
        )));
    }
    let zone: Tz = match meta.exchange_timezone.as_deref() {
        None => EXCHANGE_TZ,
        Some(name) => name
            .parse()
            .map_err(|_| malformed(format!("exchange_timezone {name:?} is not an IANA zone")))?,
    };

    let mut dropped = Vec::new();
    let mut seen = HashSet::with_capacity(values.len());
    let mut bars = Vec::with_capacity(values.len());
    for row in values {
        let bar = match serde_json::from_str::<Bar>(row.get()) {
            Ok(bar) => bar,
            Err(e) => {
                dropped.push(Dropped::new(DropReason::MalformedRow, e.to_string(), row));
                continue;
            }
        };
        match record(&bar, interval, zone, message) {
            Ok(r) if seen.insert(r.bar_time) => bars.push(r),
            Ok(r) => dropped.push(Dropped::new(
                DropReason::Duplicate,
                format!("second bar at {}", r.bar_time),
                row,
            )),
            Err((reason, detail)) => dropped.push(Dropped::new(reason, detail, row)),
        }
    }
    bars.sort_by_key(|b| b.bar_time);
    let (bars, gaps_left_open) = fill_gaps(bars, interval);
    Ok((bars, dropped, gaps_left_open))
}

fn record(
    bar: &Bar,
    interval: BarInterval,
    zone: Tz,
    message: &RawMessage<'_>,
) -> Result<BarRecord, (DropReason, String)> {
    let (trade_date, bar_time) = when(&bar.datetime, interval, zone)?;
    let [open, high, low, close] = [&bar.open, &bar.high, &bar.low, &bar.close].map(|d| d.to_f64());
    if let Some(p) = [open, high, low, close].into_iter().find(|p| *p <= 0.0) {
        return Err((
            DropReason::NegativePrice,
            format!("price {p} is not positive"),
        ));
    }
    if high < low {
        return Err((
            DropReason::HighBelowLow,
            format!("high {high} is below low {low}"),
        ));
    }
    let mut flags = Vec::new();
    if [open, close].iter().any(|p| *p < low || *p > high) {
        flags.push(QualityFlag::OhlcOutsideRange);
    }
    let volume = count(
        bar.volume.as_ref().map(|v| v.to_f64()),
        "volume",
        &mut flags,
    )?;
    Ok(BarRecord {
        symbol: message.symbol.clone(),
        interval,
        trade_date,
        bar_time,
        open,
        high,
        low,
        close,
        volume,
        source: message.source,
        fetched_at: Some(message.fetched_at),
        flags,
    })
}

/// The session date and opening instant of a bar from Twelve Data's exchange-local text.
fn when(
    text: &str,
    interval: BarInterval,
    zone: Tz,
) -> Result<(NaiveDate, DateTime<Utc>), (DropReason, String)> {
    let unreadable = || {
        (
            DropReason::InvalidTime,
            format!("datetime {text:?} cannot be read"),
        )
    };
    match interval {
        BarInterval::Day => {
            let date = NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d")
                .map_err(|_| unreadable())?;
            let session = calendar::session(date).ok_or_else(|| {
                (
                    DropReason::OutsideSession,
                    format!("{date} is not a trading day"),
                )
            })?;
            Ok((date, session.open))
        }
        BarInterval::FifteenMinutes => {
            let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .map_err(|_| unreadable())?;
            // A wall-clock time skipped or repeated by a DST switch is at night: no session.
            let instant = zone
                .from_local_datetime(&local)
                .single()
                .ok_or_else(|| {
                    (
                        DropReason::OutsideSession,
                        format!("{text} is not a session time"),
                    )
                })?
                .with_timezone(&Utc);
            let date = calendar::exchange_date(instant);
            match calendar::session(date) {
                Some(s) if s.contains(instant) => Ok((date, instant)),
                Some(s) => Err((
                    DropReason::OutsideSession,
                    format!("{text} is outside the session {} to {}", s.open, s.close),
                )),
                None => Err((
                    DropReason::OutsideSession,
                    format!("{date} is not a trading day"),
                )),
            }
        }
    }
}

/// When the bar after one opening at `time` should open.
fn next_slot(time: DateTime<Utc>, interval: BarInterval) -> Option<DateTime<Utc>> {
    let date = calendar::exchange_date(time);
    if interval == BarInterval::FifteenMinutes {
        let next = time + Duration::minutes(15);
        if calendar::session(date).is_some_and(|s| s.contains(next)) {
            return Some(next);
        }
    }
    let mut day = date.succ_opt()?;
    for _ in 0..15 {
        if let Some(s) = calendar::session(day) {
            return Some(s.open);
        }
        day = day.succ_opt()?;
    }
    None
}

/// Carries the previous close into short runs of missing bars; returns the bars and how many
/// gaps were too long to fill.
fn fill_gaps(bars: Vec<BarRecord>, interval: BarInterval) -> (Vec<BarRecord>, usize) {
    let cap = match interval {
        BarInterval::Day => MAX_FILLED_DAYS,
        BarInterval::FifteenMinutes => MAX_FILLED_SLOTS,
    };
    let mut out: Vec<BarRecord> = Vec::with_capacity(bars.len());
    let mut open_gaps = 0;
    for bar in bars {
        if let Some(previous) = out.last().cloned() {
            let mut missing = Vec::new();
            let mut slot = next_slot(previous.bar_time, interval);
            while let Some(t) = slot.filter(|t| *t < bar.bar_time) {
                missing.push(t);
                if missing.len() > cap {
                    break;
                }
                slot = next_slot(t, interval);
            }
            if missing.len() > cap {
                open_gaps += 1;
            } else {
                out.extend(missing.into_iter().map(|t| filled(&previous, t)));
            }
        }
        out.push(bar);
    }
    (out, open_gaps)
}

fn filled(previous: &BarRecord, bar_time: DateTime<Utc>) -> BarRecord {
    BarRecord {
        trade_date: calendar::exchange_date(bar_time),
        bar_time,
        open: previous.close,
        high: previous.close,
        low: previous.close,
        close: previous.close,
        volume: Some(0),
        flags: vec![QualityFlag::Filled],
        ..previous.clone()
    }
}
