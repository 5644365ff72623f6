//! Records as CSV (RFC 4180: a header row, CRLF line ends, fields quoted when they hold a
//! comma, a quote or a line break), the format of the files the file writer stores.
//!
//! Columns are the table descriptors' ([`crate::sinks::schema`]), in the same order: quote
//! files are `option_quotes`, and every bar file is laid out as `intraday_bars` (its
//! `interval` column tells daily bars apart). Times are UTC
//! RFC 3339 with a `Z`, dates `YYYY-MM-DD`, missing values empty, flags joined with `;`.

use chrono::SecondsFormat;
use optionsflow_api::Dataset;

use crate::sinks::schema::{INTRADAY_BARS, OPTION_QUOTES, TableDef, Value};
use crate::stages::process::Records;

/// The header row of a dataset's files.
pub fn header(dataset: Dataset) -> Vec<u8> {
    let names = if dataset == Dataset::Options {
        OPTION_QUOTES.names()
    } else {
        INTRADAY_BARS.names()
    };
    encode(|w| w.write_record(names))
}

/// The records as CSV rows, without a header.
pub fn rows(records: &Records) -> Vec<u8> {
    encode(|w| match records {
        Records::Bars(b) => write_rows(w, &INTRADAY_BARS, &b.records),
        Records::Quotes(b) => write_rows(w, &OPTION_QUOTES, &b.records),
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

fn write_rows<R>(w: &mut Writer, table: &TableDef<R>, rows: &[R]) -> csv::Result<()> {
    for r in rows {
        w.write_record(table.columns.iter().map(|c| cell((c.get)(r))))?;
    }
    Ok(())
}

fn cell(value: Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Text(t) => t.to_owned(),
        Value::Date(d) => d.to_string(),
        Value::Time(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        flags @ Value::Flags(_) => flags.joined_flags(";"),
    }
}
