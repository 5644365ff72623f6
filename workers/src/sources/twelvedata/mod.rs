//! Twelve Data `GET /time_series`: daily and 15-minute bars, single symbols or
//! comma-separated batches, by latest count, by day or by date window.
//!
//! Twelve Data reports errors in the body (`{"code":…,"message":…,"status":"error"}`), often
//! with HTTP 200, and sometimes with a matching HTTP status; the body is authoritative.
//! A 429 is either the minute's or the day's credits running out, told apart by the message.
//! "No data is available on the specified dates" is an empty result, not a failure.

pub mod wire;

use chrono::{Duration, NaiveDate};
use optionsflow_api::Source;
use optionsflow_api::runtime_config::TwelveDataSource;
use reqwest::{Client, StatusCode};
use serde_json::Value;

use super::http::{self, Answer};
use super::{ProviderError, RateScope, excerpt};
use crate::runtime::metrics::ProviderMetrics;
pub use wire::{ApiError, Bar, TimeSeries};

/// Most bars one request may return.
pub const MAX_OUTPUTSIZE: u32 = 5000;

const PROVIDER: Source = Source::TwelveData;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    OneDay,
    FifteenMin,
}

impl Interval {
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::OneDay => "1day",
            Interval::FifteenMin => "15min",
        }
    }
}

/// Which bars to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    /// The most recent `bars` bars.
    Latest { bars: u32 },
    /// Every bar of one exchange-local day.
    Day(NaiveDate),
    /// Every bar from `start` to `end`, both included.
    Window { start: NaiveDate, end: NaiveDate },
}

/// A symbol's series together with the answer exactly as received.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesAnswer {
    pub raw: Value,
    pub series: TimeSeries,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SymbolOutcome {
    Series(Box<SeriesAnswer>),
    /// The provider has no bars in the requested range (a window of holidays, say).
    NoData {
        message: String,
    },
}

pub type SymbolResult = Result<SymbolOutcome, ProviderError>;

#[derive(Clone)]
pub struct TwelveDataClient {
    http: Client,
    base_url: String,
    metrics: ProviderMetrics,
}

impl TwelveDataClient {
    pub fn new(
        config: &TwelveDataSource,
        timeout: std::time::Duration,
        metrics: ProviderMetrics,
    ) -> Self {
        TwelveDataClient {
            http: http::client("optionsflow", timeout, false),
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            metrics,
        }
    }

    /// One request for `symbols` (one credit each). The outer error is a failure of the whole
    /// request; per-symbol failures of a batch are in the list, in request order.
    pub async fn time_series(
        &self,
        api_key: &str,
        symbols: &[String],
        interval: Interval,
        range: Range,
    ) -> Result<Vec<(String, SymbolResult)>, ProviderError> {
        let joined = symbols.join(",");
        let mut query: Vec<(&str, String)> = vec![
            ("symbol", joined.clone()),
            ("interval", interval.as_str().to_owned()),
            ("order", "asc".to_owned()),
        ];
        match range {
            Range::Latest { bars } => {
                query.push(("outputsize", bars.clamp(1, MAX_OUTPUTSIZE).to_string()))
            }
            Range::Day(day) => {
                query.push(("date", day.to_string()));
                query.push(("outputsize", MAX_OUTPUTSIZE.to_string()));
            }
            Range::Window { start, end } => {
                // Whether end_date is inclusive is not documented; asking for one more day
                // covers `end` either way, and the overlap is deduplicated downstream.
                query.push(("start_date", start.to_string()));
                query.push(("end_date", (end + Duration::days(1)).to_string()));
                query.push(("outputsize", MAX_OUTPUTSIZE.to_string()));
            }
        }
        let request = self
            .http
            .get(format!("{}/time_series", self.base_url))
            .header("Authorization", format!("apikey {api_key}"))
            .query(&query);
        let Answer { status, body, .. } =
            http::send(PROVIDER, &joined, request, &self.metrics).await?;
        parse_answer(status, &body, symbols)
    }
}

/// Reads a `time_series` answer for `symbols`, in either shape: a plain object for a single
/// symbol (or a whole-request error), a map keyed by symbol for a batch.
pub fn parse_answer(
    status: StatusCode,
    body: &[u8],
    symbols: &[String],
) -> Result<Vec<(String, SymbolResult)>, ProviderError> {
    let label = symbols.join(",");
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) if status.is_success() => {
            return Err(malformed(&label, format!("body is not JSON: {e}"), body));
        }
        Err(_) => return Err(from_http_status(status, &label, body)),
    };
    let Some(object) = value.as_object() else {
        return Err(malformed(&label, "body is not a JSON object".into(), body));
    };
    if object.contains_key("status") {
        // One symbol's answer, or an error for the whole request.
        if is_error(&value) {
            let error = parse_error(&value, &label, body)?;
            return match classify(&error, status, &label) {
                Classified::NoData(message) => Ok(symbols
                    .iter()
                    .map(|s| {
                        let message = message.clone();
                        (s.clone(), Ok(SymbolOutcome::NoData { message }))
                    })
                    .collect()),
                Classified::Failed(e) => Err(e),
            };
        }
        if !status.is_success() {
            return Err(from_http_status(status, &label, body));
        }
        let outcome = parse_series(value, &label, body);
        if let [only] = symbols {
            return Ok(vec![(only.clone(), outcome)]);
        }
        // A plain answer to a batch request: attribute it by its meta.
        let named = outcome.as_ref().ok().and_then(|o| match o {
            SymbolOutcome::Series(s) => s.series.meta.symbol.clone(),
            SymbolOutcome::NoData { .. } => None,
        });
        let mut outcome = Some(outcome);
        return Ok(symbols
            .iter()
            .map(|s| {
                let result = if named.as_deref() == Some(s.as_str()) {
                    outcome.take().expect("one symbol matches")
                } else {
                    Err(malformed(
                        s,
                        "the batch answer has no entry for this symbol".into(),
                        body,
                    ))
                };
                (s.clone(), result)
            })
            .collect());
    }
    if !status.is_success() {
        return Err(from_http_status(status, &label, body));
    }
    Ok(symbols
        .iter()
        .map(|s| {
            let result = match object.get(s) {
                None => Err(malformed(
                    s,
                    "the batch answer has no entry for this symbol".into(),
                    body,
                )),
                Some(entry) if is_error(entry) => match parse_error(entry, s, body) {
                    Ok(error) => match classify(&error, StatusCode::OK, s) {
                        Classified::NoData(message) => Ok(SymbolOutcome::NoData { message }),
                        Classified::Failed(e) => Err(e),
                    },
                    Err(e) => Err(e),
                },
                Some(entry) => parse_series(entry.clone(), s, body),
            };
            (s.clone(), result)
        })
        .collect())
}

fn is_error(value: &Value) -> bool {
    value.get("status").and_then(Value::as_str) == Some("error")
}

fn parse_error(value: &Value, symbols: &str, body: &[u8]) -> Result<ApiError, ProviderError> {
    serde_json::from_value(value.clone())
        .map_err(|e| malformed(symbols, format!("unreadable error object: {e}"), body))
}

fn parse_series(value: Value, symbols: &str, body: &[u8]) -> SymbolResult {
    let series: TimeSeries = serde_path_to_error::deserialize(&value)
        .map_err(|e| malformed(symbols, format!("at `{}`: {}", e.path(), e.inner()), body))?;
    if series.status != "ok" {
        return Err(malformed(
            symbols,
            format!("unexpected status {:?}", series.status),
            body,
        ));
    }
    Ok(SymbolOutcome::Series(Box::new(SeriesAnswer {
        raw: value,
        series,
    })))
}

enum Classified {
    NoData(String),
    Failed(ProviderError),
}

fn classify(error: &ApiError, http_status: StatusCode, symbols: &str) -> Classified {
    // The body's code is authoritative; the HTTP status only fills in when it is missing.
    let code = error.code.unwrap_or_else(|| http_status.as_u16());
    let message = error.message.clone();
    let symbols = symbols.to_owned();
    Classified::Failed(match code {
        400 if message.starts_with("No data is available") => return Classified::NoData(message),
        429 => {
            let lower = message.to_ascii_lowercase();
            let scope = if lower.contains("for the day") || lower.contains("daily") {
                RateScope::Day
            } else {
                RateScope::Window
            };
            ProviderError::RateLimited {
                provider: PROVIDER,
                symbols,
                scope,
                message,
            }
        }
        401 => ProviderError::Unauthorized {
            provider: PROVIDER,
            symbols,
            message,
        },
        404 => ProviderError::NotFound {
            provider: PROVIDER,
            symbols,
            message,
        },
        c if c >= 500 => ProviderError::Server {
            provider: PROVIDER,
            symbols,
            code: c,
            message,
        },
        c => ProviderError::Rejected {
            provider: PROVIDER,
            symbols,
            code: c,
            message,
        },
    })
}

fn from_http_status(status: StatusCode, symbols: &str, body: &[u8]) -> ProviderError {
    let error = ApiError {
        code: Some(status.as_u16()),
        message: excerpt(body),
        status: "error".into(),
    };
    match classify(&error, status, symbols) {
        Classified::Failed(e) => e,
        Classified::NoData(_) => malformed(symbols, format!("HTTP {status}"), body),
    }
}

fn malformed(symbols: &str, detail: String, body: &[u8]) -> ProviderError {
    ProviderError::malformed(PROVIDER, symbols, detail, body)
}

#[cfg(test)]
mod tests;
