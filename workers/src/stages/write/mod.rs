//! Writing: processed messages in, the rows each table should hold out.
//!
//! [`decode`] reads one processed envelope (a message that cannot be read goes to
//! `dead-letter`, it never stops the writer), and [`Rows`] gathers a batch of them into one
//! set of rows per table, keeping one copy of each natural key, the most recently fetched (a
//! redelivered message repeats its rows; a statement may not touch a row twice), sorted by key, so that
//! concurrent writers lock rows in the same order. [`csv`] and [`line_protocol`] are the
//! file and InfluxDB encodings. Everything here is pure; the adapters are in
//! [`crate::sinks`].

pub mod csv;
pub mod line_protocol;
pub mod objects;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use optionsflow_api::envelope::EnvelopeError;
use optionsflow_api::records::{BarInterval, BarRecord, Batch, OptionQuoteRecord};
use optionsflow_api::{Dataset, Envelope, Reason, SchemaId};

use crate::sinks::schema::{DAILY_BARS, INTRADAY_BARS, OPTION_QUOTES};
use crate::stages::process::Records;

/// One processed message, read.
#[derive(Clone, Debug, PartialEq)]
pub struct Incoming {
    pub symbol: String,
    /// The raw message's fetch time: the day its file belongs to.
    pub fetched_at: DateTime<Utc>,
    pub records: Records,
}

impl Incoming {
    /// The UTC day of the fetch, which names the folder of the message's rows in files.
    pub fn day(&self) -> NaiveDate {
        self.fetched_at.date_naive()
    }
}

/// A processed message the writers cannot use.
#[derive(Debug, thiserror::Error)]
pub enum Undecodable {
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("a {found} batch on the {expected} topic")]
    WrongDataset { expected: Dataset, found: Dataset },
}

impl Undecodable {
    /// The dead letter's reason.
    pub fn reason(&self) -> Reason {
        match self {
            Undecodable::Envelope(EnvelopeError::Malformed(_)) => Reason::MalformedMessage,
            Undecodable::Envelope(EnvelopeError::WrongSchema { .. }) => Reason::WrongSchema,
            Undecodable::Envelope(EnvelopeError::Payload { .. }) => Reason::MalformedPayload,
            Undecodable::WrongDataset { .. } => Reason::WrongDataset,
        }
    }
}

/// Reads a message of `dataset`'s processed topic.
pub fn decode(bytes: &[u8], dataset: Dataset) -> Result<Incoming, Undecodable> {
    let envelope = Envelope::parse(bytes)?;
    let (symbol, fetched_at) = (envelope.symbol.clone(), envelope.fetched_at);
    let records = if dataset == Dataset::Options {
        let e = envelope.into_typed::<Batch<OptionQuoteRecord>>(SchemaId::OPTION_QUOTES)?;
        Records::Quotes(e.payload)
    } else {
        let mut e = envelope.into_typed::<Batch<BarRecord>>(SchemaId::BARS)?;
        for bar in &mut e.payload.records {
            bar.fetched_at.get_or_insert(fetched_at);
        }
        Records::Bars(e.payload)
    };
    if records.dataset() != dataset {
        return Err(Undecodable::WrongDataset {
            expected: dataset,
            found: records.dataset(),
        });
    }
    Ok(Incoming {
        symbol,
        fetched_at,
        records,
    })
}

/// The tables the writers fill (their columns: [`crate::sinks::schema`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    DailyBars,
    IntradayBars,
    OptionQuotes,
}

impl Table {
    pub const ALL: [Table; 3] = [Table::DailyBars, Table::IntradayBars, Table::OptionQuotes];

    pub fn as_str(self) -> &'static str {
        match self {
            Table::DailyBars => DAILY_BARS.name,
            Table::IntradayBars => INTRADAY_BARS.name,
            Table::OptionQuotes => OPTION_QUOTES.name,
        }
    }

    /// Where a bar goes: daily bars (daily and historical datasets) by trade date, intraday
    /// bars by bar time.
    pub fn of_bar(bar: &BarRecord) -> Table {
        match bar.interval {
            BarInterval::Day => Table::DailyBars,
            BarInterval::FifteenMinutes => Table::IntradayBars,
        }
    }
}

/// The symbols a batch writes, for the `symbols` summary ([`Rows::touched`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Touched {
    pub all: Vec<String>,
    /// With daily bars: their count is refreshed.
    pub daily: Vec<String>,
    /// With intraday bars: their count is refreshed.
    pub intraday: Vec<String>,
}

/// A batch's rows, one list per table, each natural key once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    pub daily_bars: Vec<BarRecord>,
    pub intraday_bars: Vec<BarRecord>,
    pub option_quotes: Vec<OptionQuoteRecord>,
}

/// The natural key of a daily bar.
type DailyKey = (String, NaiveDate);
/// ... of an intraday bar (the interval is part of it).
type IntradayKey = (String, BarInterval, DateTime<Utc>);
/// ... of an option quote.
type QuoteKey = (String, DateTime<Utc>);

/// Gathers messages into [`Rows`]; a copy of a key replaces an earlier one unless it was
/// fetched before it (the rule the stores' upserts follow too).
#[derive(Default)]
pub struct RowsBuilder {
    daily: HashMap<DailyKey, BarRecord>,
    intraday: HashMap<IntradayKey, BarRecord>,
    quotes: HashMap<QuoteKey, OptionQuoteRecord>,
    /// Rows added, before keys were merged.
    added: usize,
}

impl RowsBuilder {
    pub fn add(&mut self, records: &Records) {
        self.added += records.len();
        match records {
            Records::Bars(batch) => {
                for bar in &batch.records {
                    match Table::of_bar(bar) {
                        Table::DailyBars => {
                            keep_newer(&mut self.daily, (bar.symbol.clone(), bar.trade_date), bar);
                        }
                        _ => keep_newer(
                            &mut self.intraday,
                            (bar.symbol.clone(), bar.interval, bar.bar_time),
                            bar,
                        ),
                    }
                }
            }
            Records::Quotes(batch) => {
                for quote in &batch.records {
                    self.quotes
                        .insert((quote.contract.clone(), quote.snapshot_time), quote.clone());
                }
            }
        }
    }

    /// Rows added so far, counting repeated keys.
    pub fn added(&self) -> usize {
        self.added
    }

    /// The rows, each table sorted by its key.
    pub fn build(self) -> Rows {
        Rows {
            daily_bars: sorted(self.daily),
            intraday_bars: sorted(self.intraday),
            option_quotes: sorted(self.quotes),
        }
    }
}

/// Puts `bar` under `key` unless the bar there was fetched later.
fn keep_newer<K: std::hash::Hash + Eq>(map: &mut HashMap<K, BarRecord>, key: K, bar: &BarRecord) {
    match map.entry(key) {
        std::collections::hash_map::Entry::Occupied(mut held) => {
            if bar.fetched_at >= held.get().fetched_at {
                held.insert(bar.clone());
            }
        }
        std::collections::hash_map::Entry::Vacant(slot) => {
            slot.insert(bar.clone());
        }
    }
}

fn sorted<K: Ord, V>(map: HashMap<K, V>) -> Vec<V> {
    let mut entries: Vec<(K, V)> = map.into_iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    entries.into_iter().map(|(_, v)| v).collect()
}

impl Rows {
    /// The rows of `messages`, merged.
    pub fn of<'a>(messages: impl IntoIterator<Item = &'a Records>) -> Rows {
        let mut builder = RowsBuilder::default();
        for m in messages {
            builder.add(m);
        }
        builder.build()
    }

    pub fn len(&self) -> usize {
        self.daily_bars.len() + self.intraday_bars.len() + self.option_quotes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The symbols this batch writes rows of, for the `symbols` summary: every one, and
    /// those with daily and with intraday bars (whose counts change), each sorted and once.
    pub fn touched(&self) -> Touched {
        fn distinct<'a>(symbols: impl Iterator<Item = &'a String>) -> Vec<String> {
            let set: std::collections::BTreeSet<&String> = symbols.collect();
            set.into_iter().cloned().collect()
        }
        let daily = distinct(self.daily_bars.iter().map(|b| &b.symbol));
        let intraday = distinct(self.intraday_bars.iter().map(|b| &b.symbol));
        let all = distinct(
            daily
                .iter()
                .chain(&intraday)
                .chain(self.option_quotes.iter().map(|q| &q.underlying)),
        );
        Touched {
            all,
            daily,
            intraday,
        }
    }

    /// Rows per table, for metrics and summaries.
    pub fn counts(&self) -> [(Table, usize); 3] {
        [
            (Table::DailyBars, self.daily_bars.len()),
            (Table::IntradayBars, self.intraday_bars.len()),
            (Table::OptionQuotes, self.option_quotes.len()),
        ]
    }
}

#[cfg(test)]
mod tests;
