//! Yahoo's `optionChain.result[0]` (one expiry) into option quote records.
//!
//! Two passes, one result: the fast pass parses the whole chain typed in one go and is kept
//! when every contract was good. Otherwise the careful pass reads contracts one by one from
//! their raw text, so a contract with a wrong type or a bad value loses only itself and is
//! dead-lettered exactly as the provider sent it.

use optionsflow_api::SchemaId;
use optionsflow_api::records::{DropReason, OptionQuoteRecord};
use optionsflow_api::runtime_config::Processing;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::quotes::{Chain, RawQuote, Snapshot};
use super::{Dropped, RawMessage, Unusable};
use std::borrow::Cow;

use crate::sources::yahoo::wire::Quote;

/// One expiry's chain, each contract read as `R`: typed throughout for the fast pass
/// ([`Row`]), left unparsed for the careful one (`&RawValue`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "R: Deserialize<'de>"))]
struct Shell<R> {
    #[serde(default)]
    quote: Option<Quote>,
    #[serde(default)]
    options: Vec<Expiry<R>>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "R: Deserialize<'de>"))]
struct Expiry<R> {
    #[serde(default = "Vec::new")]
    calls: Vec<R>,
    #[serde(default = "Vec::new")]
    puts: Vec<R>,
}

impl<R> Shell<R> {
    /// An empty chain of the message's snapshot, sized for every contract.
    fn chain<'a>(&self, message: &'a RawMessage<'_>, settings: &'a Processing) -> Chain<'a> {
        let price = self.quote.as_ref().and_then(|q| q.regular_market_price);
        let quoted_at = self.quote.as_ref().and_then(quote_time);
        let rows = self
            .options
            .iter()
            .map(|o| o.calls.len() + o.puts.len())
            .sum();
        Chain::new(Snapshot::of(message, price, quoted_at, settings), rows)
    }

    fn contracts(&self) -> impl Iterator<Item = &R> {
        self.options
            .iter()
            .flat_map(|o| o.calls.iter().chain(o.puts.iter()))
    }
}

/// The underlying's last trade (`regularMarketTime`, epoch seconds): the close, for a chain
/// fetched after it.
fn quote_time(quote: &Quote) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(quote.regular_market_time?, 0)
}

pub fn process(
    message: &RawMessage<'_>,
    settings: &Processing,
) -> Result<(Vec<OptionQuoteRecord>, Vec<Dropped>), Unusable> {
    fast(message, settings).map_or_else(|| careful(message, settings), Ok)
}

/// `None` unless every contract parsed and was kept.
pub(super) fn fast(
    message: &RawMessage<'_>,
    settings: &Processing,
) -> Option<(Vec<OptionQuoteRecord>, Vec<Dropped>)> {
    let shell: Shell<Row<'_>> = serde_json::from_str(message.payload.get()).ok()?;
    let mut chain = shell.chain(message, settings);
    for row in shell.contracts() {
        chain.try_push(&raw_quote(row)).ok()?;
    }
    Some(chain.finish())
}

pub(super) fn careful(
    message: &RawMessage<'_>,
    settings: &Processing,
) -> Result<(Vec<OptionQuoteRecord>, Vec<Dropped>), Unusable> {
    let shell: Shell<&RawValue> =
        serde_json::from_str(message.payload.get()).map_err(|e| Unusable::MalformedPayload {
            schema: SchemaId::YAHOO_OPTION_CHAIN.name,
            detail: e.to_string(),
        })?;
    let mut chain = shell.chain(message, settings);
    for row in shell.contracts() {
        match serde_json::from_str::<Row<'_>>(row.get()) {
            Ok(c) => chain.push(&raw_quote(&c), row),
            Err(e) => chain.drop_row(DropReason::MalformedRow, e.to_string(), row),
        }
    }
    Ok(chain.finish())
}

/// The fields of [`crate::sources::yahoo::wire::Contract`] the processor reads, borrowed
/// from the message instead of copied (processing reads a million of them a second). The
/// types are the same, so a row is accepted here exactly when the wire type accepts it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Row<'a> {
    #[serde(borrow)]
    contract_symbol: Cow<'a, str>,
    strike: f64,
    #[serde(default)]
    last_price: Option<f64>,
    #[serde(default)]
    volume: Option<f64>,
    #[serde(default)]
    open_interest: Option<f64>,
    #[serde(default)]
    bid: Option<f64>,
    #[serde(default)]
    ask: Option<f64>,
    #[serde(default)]
    implied_volatility: Option<f64>,
}

fn raw_quote<'a>(c: &'a Row<'_>) -> RawQuote<'a> {
    RawQuote {
        contract: &c.contract_symbol,
        strike: Some(c.strike),
        bid: c.bid,
        ask: c.ask,
        last: c.last_price,
        volume: c.volume,
        open_interest: c.open_interest,
        provider_iv: c.implied_volatility,
    }
}
