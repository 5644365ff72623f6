//! Cboe delayed quotes: `GET /api/global/delayed_quotes/options/{SYMBOL}.json`, the whole
//! chain (all expirations) in one document; indices carry a leading underscore (`_SPX`).
//!
//! A chain can run to megabytes, more than a Kafka message should hold, so
//! [`split_by_expiry`] cuts the document into one document per expiration.

pub mod wire;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use optionsflow_api::Source;
use optionsflow_api::runtime_config::CboeSource;
use reqwest::{Client, StatusCode};
use serde_json::Value;

use super::http::{self, Answer};
use super::{ProviderError, excerpt};
use crate::market::OsiSymbol;
use crate::runtime::metrics::ProviderMetrics;
pub use wire::{Document, OptionQuote};

const PROVIDER: Source = Source::Cboe;

/// A chain, typed, together with the document exactly as received.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainAnswer {
    pub raw: Value,
    pub document: Document,
}

pub struct CboeClient {
    http: Client,
    base_url: String,
    indices: Vec<String>,
    metrics: ProviderMetrics,
}

impl CboeClient {
    pub fn new(
        config: &CboeSource,
        indices: &[String],
        timeout: std::time::Duration,
        metrics: ProviderMetrics,
    ) -> Self {
        CboeClient {
            http: http::client(&config.user_agent, timeout, false),
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            indices: indices.to_vec(),
            metrics,
        }
    }

    /// One request: every expiration of `symbol`'s chain.
    pub async fn chain(&self, symbol: &str) -> Result<ChainAnswer, ProviderError> {
        let file = cboe_ticker(symbol, self.indices.iter().any(|i| i == symbol));
        let url = format!(
            "{}/api/global/delayed_quotes/options/{file}.json",
            self.base_url
        );
        let Answer {
            status,
            body,
            retry_after,
        } = http::send(PROVIDER, symbol, self.http.get(url), &self.metrics).await?;
        parse_chain(status, &body, symbol).map_err(|e| e.with_retry_after(retry_after))
    }
}

/// Cboe files indices under a leading underscore.
pub fn cboe_ticker(symbol: &str, is_index: bool) -> String {
    if is_index {
        format!("_{symbol}")
    } else {
        symbol.to_owned()
    }
}

pub fn parse_chain(
    status: StatusCode,
    body: &[u8],
    symbol: &str,
) -> Result<ChainAnswer, ProviderError> {
    // The CDN answers an unknown file with 403 (S3 AccessDenied) or 404.
    if matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND) {
        return Err(ProviderError::NotFound {
            provider: PROVIDER,
            symbols: symbol.to_owned(),
            message: format!("HTTP {status}: no delayed quotes for this symbol"),
        });
    }
    if let Some(e) = ProviderError::of_status(PROVIDER, symbol, status, || excerpt(body)) {
        return Err(e);
    }
    let malformed = |detail| ProviderError::malformed(PROVIDER, symbol, detail, body);
    let raw: Value =
        serde_json::from_slice(body).map_err(|e| malformed(format!("body is not JSON: {e}")))?;
    let document: Document = serde_path_to_error::deserialize(&raw)
        .map_err(|e| malformed(format!("at `{}`: {}", e.path(), e.inner())))?;
    Ok(ChainAnswer { raw, document })
}

/// The pieces of a chain document, one per expiration.
#[derive(Debug, Default, PartialEq)]
pub struct Split {
    /// Expirations in the window, each with the document holding only its options.
    pub parts: Vec<(NaiveDate, Value)>,
    /// Option symbols that are not OSI symbols, with why.
    pub unreadable: Vec<String>,
}

/// Cuts `raw` into one document per expiration from `first` to `last` (both included); the
/// underlying's fields are repeated in each piece.
pub fn split_by_expiry(raw: &Value, first: NaiveDate, last: NaiveDate) -> Split {
    let mut groups: BTreeMap<NaiveDate, Vec<Value>> = BTreeMap::new();
    let mut split = Split::default();
    let options = raw["data"]["options"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for option in options {
        let name = option["option"].as_str().unwrap_or_default();
        match OsiSymbol::parse(name) {
            Ok(osi) if osi.expiry >= first && osi.expiry <= last => {
                groups.entry(osi.expiry).or_default().push(option)
            }
            Ok(_) => {}
            Err(e) => split.unreadable.push(e.to_string()),
        }
    }
    split.parts = groups
        .into_iter()
        .map(|(expiry, options)| {
            let mut part = raw.clone();
            part["data"]["options"] = Value::Array(options);
            (expiry, part)
        })
        .collect();
    split
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"timestamp":"2026-07-25 00:43:14","symbol":"XYZ","data":{
        "symbol":"XYZ","security_type":"stock","current_price":95.55,"iv30":38.981,
        "options":[
          {"option":"XYZ260821P00085000","bid":0.9,"ask":1.0,"bid_size":1.0,"ask_size":99.0,"iv":0.4108,
           "open_interest":3793.0,"volume":92.0,"last_trade_time":"2026-07-24T15:52:14"},
          {"option":"XYZ260821C00100000","bid":2.0,"ask":2.2,"last_trade_time":null},
          {"option":"XYZ260918C00100000","bid":3.0,"ask":3.3},
          {"option":"XYZ270115C00100000","bid":6.0,"ask":6.6},
          {"option":"garbage"}
        ]}}"#;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn parses_a_chain_with_float_counts_and_nulls() {
        let answer = parse_chain(StatusCode::OK, DOC.as_bytes(), "XYZ").unwrap();
        let first = &answer.document.data.options[0];
        assert_eq!(first.open_interest, Some(3793.0));
        assert_eq!(answer.document.data.options[1].last_trade_time, None);
        assert_eq!(answer.document.data.options[1].volume, None);
    }

    #[test]
    fn splits_within_the_horizon() {
        let answer = parse_chain(StatusCode::OK, DOC.as_bytes(), "XYZ").unwrap();
        let split = split_by_expiry(&answer.raw, d("2026-07-24"), d("2026-10-22"));
        let expiries: Vec<_> = split.parts.iter().map(|(e, _)| e.to_string()).collect();
        assert_eq!(expiries, ["2026-08-21", "2026-09-18"]);
        assert_eq!(
            split.parts[0].1["data"]["options"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(split.parts[0].1["data"]["current_price"], 95.55);
        assert_eq!(split.unreadable.len(), 1);
        assert!(split.unreadable[0].contains("garbage"));
    }

    #[test]
    fn unknown_symbols_and_errors() {
        assert_eq!(
            parse_chain(StatusCode::FORBIDDEN, b"<Error/>", "NOPE")
                .unwrap_err()
                .reason()
                .as_str(),
            "not_found"
        );
        assert!(
            parse_chain(StatusCode::SERVICE_UNAVAILABLE, b"", "X")
                .unwrap_err()
                .is_transient()
        );
        let err =
            parse_chain(StatusCode::OK, br#"{"data":{"options":[{"bid":1}]}}"#, "X").unwrap_err();
        assert!(err.to_string().contains("option"), "{err}");
    }

    #[test]
    fn indices_get_an_underscore() {
        assert_eq!(cboe_ticker("SPX", true), "_SPX");
        assert_eq!(cboe_ticker("AAPL", false), "AAPL");
    }
}
