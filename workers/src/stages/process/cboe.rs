//! Cboe's delayed-quotes document (cut to one expiry by the collector) into option quote
//! records, in the same two passes as [`super::yahoo`]: typed in one go when every option
//! is good, else one by one from their raw text so a bad option loses only itself.

use optionsflow_api::SchemaId;
use optionsflow_api::records::{DropReason, OptionQuoteRecord};
use optionsflow_api::runtime_config::Processing;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::quotes::{Chain, RawQuote, Snapshot};
use super::{Dropped, RawMessage, Unusable};
use std::borrow::Cow;

#[derive(Deserialize)]
struct Shell<'a> {
    #[serde(borrow)]
    data: DataShell<'a>,
}

#[derive(Deserialize)]
struct DataShell<'a> {
    #[serde(default)]
    current_price: Option<f64>,
    #[serde(default, borrow)]
    last_trade_time: Option<&'a str>,
    #[serde(default, borrow)]
    options: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct TypedShell<'a> {
    #[serde(borrow)]
    data: TypedData<'a>,
}

#[derive(Deserialize)]
struct TypedData<'a> {
    #[serde(default)]
    current_price: Option<f64>,
    #[serde(default, borrow)]
    last_trade_time: Option<&'a str>,
    #[serde(default, borrow)]
    options: Vec<Row<'a>>,
}

/// The underlying's last trade, New York time without a zone (`2026-11-27T15:59:59`).
fn quote_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let local = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").ok()?;
    Some(crate::market::calendar::exchange_instant(
        local.date(),
        local.time(),
    ))
}

pub fn process(
    message: &RawMessage<'_>,
    settings: &Processing,
) -> Result<(Vec<OptionQuoteRecord>, Vec<Dropped>), Unusable> {
    fast(message, settings).map_or_else(|| careful(message, settings), Ok)
}

/// `None` unless every option parsed and was kept.
fn fast(
    message: &RawMessage<'_>,
    settings: &Processing,
) -> Option<(Vec<OptionQuoteRecord>, Vec<Dropped>)> {
    let shell: TypedShell<'_> = serde_json::from_str(message.payload.get()).ok()?;
    let quoted_at = shell.data.last_trade_time.and_then(quote_time);
    let snapshot = Snapshot::of(message, shell.data.current_price, quoted_at, settings);
    let mut chain = Chain::new(snapshot, shell.data.options.len());
    for row in &shell.data.options {
        chain.try_push(&raw_quote(row)).ok()?;
    }
    Some(chain.finish())
}

fn careful(
    message: &RawMessage<'_>,
    settings: &Processing,
) -> Result<(Vec<OptionQuoteRecord>, Vec<Dropped>), Unusable> {
    let shell: Shell<'_> =
        serde_json::from_str(message.payload.get()).map_err(|e| Unusable::MalformedPayload {
            schema: SchemaId::CBOE_DELAYED_QUOTES.name,
            detail: e.to_string(),
        })?;
    let quoted_at = shell.data.last_trade_time.and_then(quote_time);
    let snapshot = Snapshot::of(message, shell.data.current_price, quoted_at, settings);
    let mut chain = Chain::new(snapshot, shell.data.options.len());
    for row in &shell.data.options {
        match serde_json::from_str::<Row<'_>>(row.get()) {
            Ok(o) => chain.push(&raw_quote(&o), row),
            Err(e) => chain.drop_row(DropReason::MalformedRow, e.to_string(), row),
        }
    }
    Ok(chain.finish())
}

/// The fields of [`crate::sources::cboe::wire::OptionQuote`] the processor reads, borrowed
/// from the message instead of copied. The types are the same, so a row is accepted here
/// exactly when the wire type accepts it.
#[derive(Deserialize)]
struct Row<'a> {
    #[serde(borrow)]
    option: Cow<'a, str>,
    #[serde(default)]
    bid: Option<f64>,
    #[serde(default)]
    ask: Option<f64>,
    #[serde(default)]
    iv: Option<f64>,
    #[serde(default)]
    open_interest: Option<f64>,
    #[serde(default)]
    volume: Option<f64>,
    #[serde(default)]
    last_trade_price: Option<f64>,
}

fn raw_quote<'a>(o: &'a Row<'_>) -> RawQuote<'a> {
    RawQuote {
        contract: &o.option,
        strike: None,
        bid: o.bid,
        ask: o.ask,
        // Cboe writes 0.0 for "never traded".
        last: o.last_trade_price.filter(|p| *p > 0.0),
        volume: o.volume,
        open_interest: o.open_interest,
        // 0.0 means Cboe computed none.
        provider_iv: o.iv.filter(|v| *v > 0.0),
    }
}
