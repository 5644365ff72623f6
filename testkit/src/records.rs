//! Processed records and messages as the processor publishes them, made up deterministically
//! for the writers' tests and benchmarks.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use optionsflow_api::records::{
    BarInterval, BarRecord, Batch, Exercise, IvStatus, OptionQuoteRecord, OptionRight, QualityFlag,
};
use optionsflow_api::{Dataset, Envelope, MessageOrigin, SchemaId, Source};

/// When the made-up snapshots were taken (a Monday, 15:00 UTC).
pub fn snapshot_time(n: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 11, 25, 15, 0, 0).unwrap()
        + Duration::minutes(15 * i64::from(n))
        + Duration::microseconds(123_456)
}

/// `count` option quotes of `underlying` at snapshot `n`, over strikes and two expiries, with
/// the optional fields sometimes missing.
pub fn quotes(underlying: &str, n: u32, count: usize) -> Vec<OptionQuoteRecord> {
    (0..count)
        .map(|i| {
            let right = if i % 2 == 0 {
                OptionRight::Call
            } else {
                OptionRight::Put
            };
            let expiry = NaiveDate::from_ymd_opt(2025, 1, 17).unwrap()
                + chrono::Days::new(7 * ((i / 2) % 8) as u64);
            let strike = 50.0 + 0.5 * (i / 16) as f64;
            let contract = format!(
                "{underlying:<6}{}{}{:08}",
                expiry.format("%y%m%d"),
                if right == OptionRight::Call { 'C' } else { 'P' },
                (strike * 1000.0) as u64
            );
            let bid = (i % 7 != 3).then_some(1.0 + (i % 13) as f64 * 0.05);
            let ask = bid.map(|b| b + 0.1);
            let mid = bid.zip(ask).map(|(b, a)| (b + a) / 2.0);
            let mut flags = Vec::new();
            if bid.is_none() {
                flags.extend([QualityFlag::NoBid, QualityFlag::NoAsk]);
            }
            OptionQuoteRecord {
                contract,
                snapshot_time: snapshot_time(n),
                underlying: underlying.to_owned(),
                root: underlying.to_owned(),
                expiry,
                right,
                strike,
                bid,
                ask,
                last: (i % 5 != 0).then_some(1.02 + (i % 11) as f64 * 0.01),
                volume: (i % 3 != 0).then_some((i * 7) as i64),
                open_interest: Some((i * 13) as i64),
                provider_iv: (i % 4 == 0).then_some(0.25 + (i % 9) as f64 * 0.01),
                underlying_price: Some(60.25),
                mid,
                spread: bid.zip(ask).map(|(b, a)| a - b),
                moneyness: Some(strike / 60.25),
                log_moneyness: Some((strike / 60.45f64).ln()),
                forward: Some(60.45),
                years_to_expiry: 0.1 + (i % 8) as f64 / 52.0,
                rate: 0.04,
                dividend_yield: 0.005,
                iv: mid.map(|m| 0.2 + m / 100.0),
                delta: mid.map(|_| 0.5 - (i % 10) as f64 / 20.0),
                gamma: mid.map(|_| 0.03),
                theta: mid.map(|_| -0.012),
                vega: mid.map(|_| 0.08),
                rho: mid.map(|_| 0.02),
                iv_status: if mid.is_some() {
                    IvStatus::Ok
                } else {
                    IvStatus::NoPrice
                },
                otm: Some((right == OptionRight::Call) == (strike >= 60.45)),
                exercise: if i % 2 == 0 {
                    Exercise::American
                } else {
                    Exercise::European
                },
                source: Source::Yahoo,
                flags,
            }
        })
        .collect()
}

/// `count` consecutive 15-minute bars of `symbol` from 14:30 UTC on 2024-11-25.
pub fn intraday_bars(symbol: &str, count: usize) -> Vec<BarRecord> {
    (0..count)
        .map(|i| {
            let bar_time = Utc.with_ymd_and_hms(2024, 11, 25, 14, 30, 0).unwrap()
                + Duration::minutes(15 * i as i64);
            bar(symbol, BarInterval::FifteenMinutes, bar_time, i)
        })
        .collect()
}

/// `count` daily bars of `symbol` on consecutive days from 2024-01-01.
pub fn daily_bars(symbol: &str, count: usize) -> Vec<BarRecord> {
    (0..count)
        .map(|i| {
            let day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(i as u64);
            let bar_time = Utc.from_utc_datetime(&day.and_hms_opt(14, 30, 0).unwrap());
            let mut b = bar(symbol, BarInterval::Day, bar_time, i);
            b.trade_date = day;
            b
        })
        .collect()
}

fn bar(symbol: &str, interval: BarInterval, bar_time: DateTime<Utc>, i: usize) -> BarRecord {
    let open = 100.0 + (i % 17) as f64 * 0.25;
    BarRecord {
        symbol: symbol.to_owned(),
        interval,
        trade_date: bar_time.date_naive(),
        bar_time,
        open,
        high: open + 1.5,
        low: open - 1.25,
        close: open + 0.5,
        volume: (i % 6 != 5).then_some(1000 + i as i64),
        source: Source::TwelveData,
        // A bar fetched a quarter of an hour after it opened.
        fetched_at: Some(bar_time + chrono::Duration::minutes(15)),
        flags: if i % 6 == 5 {
            vec![QualityFlag::Filled]
        } else {
            vec![]
        },
    }
}

/// `records` as one batch, made from offset 0 of topic `t`.
pub fn batch<R>(dataset: Dataset, records: Vec<R>) -> Batch<R> {
    batch_from(dataset, "t", 0, records)
}

/// `records` as one batch, made from the message at `offset` of partition 0 of `topic`.
pub fn batch_from<R>(dataset: Dataset, topic: &str, offset: i64, records: Vec<R>) -> Batch<R> {
    Batch {
        dataset,
        origin: MessageOrigin {
            topic: topic.into(),
            partition: 0,
            offset,
        },
        chunk: None,
        records,
    }
}

/// The processed message for `records` (as the processor's outbox makes it): the value to
/// publish, keyed by `symbol`.
pub fn message<R: serde::Serialize>(
    dataset: Dataset,
    symbol: &str,
    fetched_at: DateTime<Utc>,
    origin_offset: i64,
    records: Vec<R>,
) -> Vec<u8> {
    let schema = if dataset == Dataset::Options {
        SchemaId::OPTION_QUOTES
    } else {
        SchemaId::BARS
    };
    let batch = batch_from(dataset, &format!("raw-{dataset}"), origin_offset, records);
    let source = if dataset == Dataset::Options {
        Source::Yahoo
    } else {
        Source::TwelveData
    };
    serde_json::to_vec(&Envelope::new(
        schema,
        "test/pipeline",
        symbol,
        source,
        fetched_at,
        batch,
    ))
    .expect("records serialize")
}
