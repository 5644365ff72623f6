//! Processing: raw provider answers in, clean typed records out.
//!
//! [`process`] turns one raw envelope into a [`Processed`] batch: the records to publish, the
//! rows dropped and why (they go to `dead-letter` with the original row), and counts for the
//! metrics. It is a pure function of the message and the [`Processing`] settings, so a replay
//! publishes the same batch. One module per input: [`bars`] (Twelve Data time series),
//! [`yahoo`] and [`cboe`] (option chains), which share the quote rules in [`quotes`] and
//! the parity forward in [`forward`].

pub mod bars;
pub mod cboe;
pub mod forward;
pub mod quotes;
pub mod yahoo;

use std::collections::BTreeMap;

use optionsflow_api::records::{BarRecord, Batch, DropReason, OptionQuoteRecord, QualityFlag};
use optionsflow_api::runtime_config::Processing;
use optionsflow_api::{Dataset, Envelope, MessageOrigin, Reason, SchemaId, Source};
use serde_json::value::RawValue;

/// A row the processor would not keep.
#[derive(Clone, Debug, PartialEq)]
pub struct Dropped {
    pub reason: DropReason,
    /// What was wrong with it, for people.
    pub detail: String,
    /// The row as the provider sent it.
    pub row: serde_json::Value,
}

impl Dropped {
    pub fn new(reason: DropReason, detail: impl Into<String>, row: &RawValue) -> Dropped {
        Dropped {
            reason,
            detail: detail.into(),
            row: serde_json::from_str(row.get())
                .unwrap_or_else(|_| serde_json::Value::String(row.get().to_owned())),
        }
    }
}

/// What one raw message became.
#[derive(Clone, Debug, PartialEq)]
pub struct Processed {
    pub symbol: String,
    /// The raw envelope's source, fetch time, task and part, carried onto the processed one.
    pub source: Source,
    pub fetched_at: chrono::DateTime<chrono::Utc>,
    pub task_id: Option<String>,
    pub part: Option<optionsflow_api::Part>,
    pub records: Records,
    pub dropped: Vec<Dropped>,
    /// Gaps in a bar series too long to carry the last close across (a halt or an outage):
    /// left open rather than filled with invented bars.
    pub gaps_left_open: usize,
}

/// The typed records of one message.
#[derive(Clone, Debug, PartialEq)]
pub enum Records {
    Bars(Batch<BarRecord>),
    Quotes(Batch<OptionQuoteRecord>),
}

impl Records {
    pub fn len(&self) -> usize {
        match self {
            Records::Bars(b) => b.records.len(),
            Records::Quotes(b) => b.records.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dataset(&self) -> Dataset {
        match self {
            Records::Bars(b) => b.dataset,
            Records::Quotes(b) => b.dataset,
        }
    }

    /// The source time of the newest record (a bar's open, a quote's snapshot), for the
    /// freshness metrics. A message's records are one symbol's (an option's underlying).
    pub fn newest(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        match self {
            Records::Bars(b) => b.records.iter().map(|r| r.bar_time).max(),
            Records::Quotes(b) => b.records.iter().map(|r| r.snapshot_time).max(),
        }
    }

    /// The processed envelope's schema.
    pub fn schema(&self) -> SchemaId {
        match self {
            Records::Bars(_) => SchemaId::BARS,
            Records::Quotes(_) => SchemaId::OPTION_QUOTES,
        }
    }
}

impl Processed {
    /// Dropped rows by reason, for metrics and dead letters.
    pub fn dropped_by_reason(&self) -> BTreeMap<DropReason, Vec<&Dropped>> {
        let mut out: BTreeMap<DropReason, Vec<&Dropped>> = BTreeMap::new();
        for d in &self.dropped {
            out.entry(d.reason).or_default().push(d);
        }
        out
    }
}

/// A message that cannot be processed at all; it goes to `dead-letter` whole.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unusable {
    #[error("message is not a JSON envelope: {0}")]
    NotAnEnvelope(String),
    #[error("schema {schema} v{version} is not processed from {dataset} data")]
    UnexpectedSchema {
        schema: String,
        version: u32,
        dataset: Dataset,
    },
    #[error("symbol {0:?} is not an upper-case ticker")]
    BadSymbol(String),
    #[error("{schema} payload does not have the provider's shape: {detail}")]
    MalformedPayload {
        schema: &'static str,
        detail: String,
    },
    #[error("the provider answered with an error: {0}")]
    ProviderError(String),
}

impl Unusable {
    /// The reason in metrics and dead letters.
    pub fn reason(&self) -> Reason {
        match self {
            Unusable::NotAnEnvelope(_) => Reason::MalformedMessage,
            Unusable::UnexpectedSchema { .. } => Reason::UnexpectedSchema,
            Unusable::BadSymbol(_) => Reason::InvalidSymbol,
            Unusable::MalformedPayload { .. } => Reason::MalformedPayload,
            Unusable::ProviderError(_) => Reason::ProviderError,
        }
    }
}

/// The envelope fields processing needs, with the payload left unparsed.
pub struct RawMessage<'a> {
    pub symbol: String,
    pub source: Source,
    pub fetched_at: chrono::DateTime<chrono::Utc>,
    pub payload: &'a RawValue,
}

/// Processes one raw message read from `dataset`'s raw topic at `origin`.
pub fn process(
    bytes: &[u8],
    dataset: Dataset,
    origin: MessageOrigin,
    settings: &Processing,
) -> Result<Processed, Unusable> {
    let envelope: Envelope<&RawValue> =
        serde_json::from_slice(bytes).map_err(|e| Unusable::NotAnEnvelope(e.to_string()))?;
    let symbol = envelope.symbol.trim().to_ascii_uppercase();
    if optionsflow_api::Symbol::parse(&symbol).is_err() {
        return Err(Unusable::BadSymbol(envelope.symbol));
    }
    let message = RawMessage {
        symbol,
        source: envelope.source,
        fetched_at: envelope.fetched_at,
        payload: envelope.payload,
    };
    let unexpected = || Unusable::UnexpectedSchema {
        schema: envelope.schema.clone(),
        version: envelope.version,
        dataset,
    };
    fn batch<R>(dataset: Dataset, origin: MessageOrigin, records: Vec<R>) -> Batch<R> {
        Batch {
            dataset,
            origin,
            chunk: None,
            records,
        }
    }
    let (records, dropped, gaps_left_open) = match dataset {
        Dataset::Daily | Dataset::Intraday | Dataset::Historical => {
            if !envelope.is(SchemaId::TWELVEDATA_TIME_SERIES) {
                return Err(unexpected());
            }
            let (records, dropped, gaps) = bars::process(&message, dataset)?;
            (
                Records::Bars(batch(dataset, origin, records)),
                dropped,
                gaps,
            )
        }
        Dataset::Options => {
            let (records, dropped) = if envelope.is(SchemaId::YAHOO_OPTION_CHAIN) {
                yahoo::process(&message, settings)?
            } else if envelope.is(SchemaId::CBOE_DELAYED_QUOTES) {
                cboe::process(&message, settings)?
            } else {
                return Err(unexpected());
            };
            (Records::Quotes(batch(dataset, origin, records)), dropped, 0)
        }
    };
    Ok(Processed {
        symbol: message.symbol,
        source: message.source,
        fetched_at: message.fetched_at,
        task_id: envelope.task_id.clone(),
        part: envelope.part,
        records,
        dropped,
        gaps_left_open,
    })
}

/// A count sent as a float (Cboe, Twelve Data's text) becomes an integer; a fraction is
/// rounded and flagged, a negative or absurd number drops the row.
pub(crate) fn count(
    value: Option<f64>,
    name: &str,
    flags: &mut Vec<QualityFlag>,
) -> Result<Option<i64>, (DropReason, String)> {
    let Some(v) = value else {
        return Ok(None);
    };
    // Above 2^53 a float no longer holds every integer: not a count any market produces.
    if !(0.0..=9.0e15).contains(&v) {
        return Err((
            DropReason::InvalidCount,
            format!("{name} {v} is not a count"),
        ));
    }
    let rounded = v.round();
    if (rounded - v).abs() > 1e-9 && !flags.contains(&QualityFlag::FractionalCount) {
        flags.push(QualityFlag::FractionalCount);
    }
    Ok(Some(rounded as i64))
}

#[cfg(test)]
mod tests;
