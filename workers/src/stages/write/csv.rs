//! Records as CSV (RFC 4180: a header row, CRLF line ends, fields quoted when they hold a
//! comma, a quote or a line break), the format of the files the file writer stores.
//!
//! Columns are the table columns (docs/storage.md), in the same order (bar files have the
//! `interval` column of `intraday_bars`, so all bar files share one layout). Times are UTC
//! RFC 3339 with a `Z`, dates `YYYY-MM-DD`, missing values empty, flags joined with `;`.

use chrono::SecondsFormat;
use optionsflow_api::Dataset;
use optionsflow_api::records::{BarRecord, OptionQuoteRecord};

use crate::stages::process::Records;
use crate::stages::write::QUOTE_COLUMNS;

pub const BAR_COLUMNS: [&str; 12] = [
    "symbol",
    "interval",
    "trade_date",
    "bar_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "source",
    "fetched_at",
    "flags",
];

/// The header row of a dataset's files.
pub fn header(dataset: Dataset) -> Vec<u8> {
    let columns: &[&str] = if dataset == Dataset::Options {
        &QUOTE_COLUMNS
    } else {
        &BAR_COLUMNS
    };
    encode(|w| w.write_record(columns))
}

/// The records as CSV rows, without a header.
pub fn rows(records: &Records) -> Vec<u8> {
    encode(|w| match records {
        Records::Bars(b) => b.records.iter().try_for_each(|r| bar(w, r)),
        Records::Quotes(b) => b.records.iter().try_for_each(|r| quote(w, r)),
    })
}

type Writer = csv::Writer<Vec<u8>>;

fn encode(write: impl FnOnce(&mut Writer) -> csv::Result<()>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    write(&mut w).expect("writing CSV to memory cannot fail");
    w.into_inner().expect("flushing to memory cannot fail")
}

fn bar(w: &mut Writer, r: &BarRecord) -> csv::Result<()> {
    w.write_record([
        r.symbol.clone(),
        r.interval.as_str().to_owned(),
        r.trade_date.to_string(),
        time(&r.bar_time),
        r.open.to_string(),
        r.high.to_string(),
        r.low.to_string(),
        r.close.to_string(),
        opt(r.volume),
        r.source.as_str().to_owned(),
        r.fetched_at.as_ref().map(time).unwrap_or_default(),
        flags(r.flags.iter().map(|f| f.as_str())),
    ])
}

fn quote(w: &mut Writer, r: &OptionQuoteRecord) -> csv::Result<()> {
    w.write_record([
        r.contract.clone(),
        time(&r.snapshot_time),
        r.underlying.clone(),
        r.root.clone(),
        r.expiry.to_string(),
        r.right.as_str().to_owned(),
        r.strike.to_string(),
        opt(r.bid),
        opt(r.ask),
        opt(r.last),
        opt(r.volume),
        opt(r.open_interest),
        opt(r.provider_iv),
        opt(r.underlying_price),
        opt(r.mid),
        opt(r.spread),
        opt(r.moneyness),
        opt(r.log_moneyness),
        opt(r.forward),
        r.years_to_expiry.to_string(),
        r.rate.to_string(),
        r.dividend_yield.to_string(),
        opt(r.iv),
        opt(r.delta),
        opt(r.gamma),
        opt(r.theta),
        opt(r.vega),
        opt(r.rho),
        r.iv_status.as_str().to_owned(),
        opt(r.otm),
        r.exercise.as_str().to_owned(),
        r.source.as_str().to_owned(),
        flags(r.flags.iter().map(|f| f.as_str())),
    ])
}

fn time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn flags<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(";")
}
