//! Yahoo Finance option chains, the way yfinance fetches them.
//!
//! Since 2024 Yahoo wants a session cookie (from `fc.yahoo.com`) and a matching "crumb"
//! (from `/v1/test/getcrumb`) on every request. A first request without `date` lists the
//! expirations and holds the nearest one's chain; then one request per expiration. A 401
//! "Invalid Crumb" gets one fresh handshake, then we give up; a 429 means back off.

pub mod wire;

use std::future::Future;

use optionsflow_api::Source;
use optionsflow_api::runtime_config::YahooSource;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use tokio::sync::Mutex;

use super::http::{self, Answer};
use super::{ProviderError, RateScope, excerpt};
use crate::runtime::metrics::ProviderMetrics;
pub use wire::{ChainResult, Contract, ExpiryChain, Quote};

const PROVIDER: Source = Source::Yahoo;

/// One underlying's `result[0]`, typed, together with the answer exactly as received.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainAnswer {
    pub raw: Value,
    pub chain: ChainResult,
}

pub struct YahooClient {
    http: Client,
    config: YahooSource,
    crumb: Mutex<Option<String>>,
    indices: Vec<String>,
    metrics: ProviderMetrics,
}

impl YahooClient {
    pub fn new(
        config: &YahooSource,
        indices: &[String],
        timeout: std::time::Duration,
        metrics: ProviderMetrics,
    ) -> Self {
        YahooClient {
            http: http::client(&config.user_agent, timeout, true),
            config: config.clone(),
            crumb: Mutex::new(None),
            indices: indices.to_vec(),
            metrics,
        }
    }

    /// Fetches one chain, opening or renewing the session when needed. `permit` is awaited
    /// before every HTTP request, handshake requests included, so the budget sees them all;
    /// what it returns is held until that request has finished.
    pub async fn chain<P, F, G>(
        &self,
        symbol: &str,
        expiration: Option<i64>,
        permit: P,
    ) -> Result<ChainAnswer, ProviderError>
    where
        P: Fn() -> F,
        F: Future<Output = G>,
    {
        // One retry with a fresh cookie and crumb after a 401, as yfinance does, even when
        // the first crumb was new.
        let mut renewed = false;
        loop {
            // Read the crumb in its own statement: a guard in the `match` scrutinee would stay
            // locked through `open_session`, which locks it again.
            let current = self.crumb.lock().await.clone();
            let crumb = match current {
                Some(c) => c,
                None => self.open_session(symbol, &permit).await?,
            };
            let held = permit().await;
            let answer = self.request_chain(symbol, expiration, &crumb).await;
            drop(held);
            match answer {
                Err(ProviderError::Unauthorized { .. }) if !renewed => {
                    *self.crumb.lock().await = None;
                    renewed = true;
                }
                Err(e @ ProviderError::Unauthorized { .. }) => {
                    *self.crumb.lock().await = None;
                    return Err(e);
                }
                other => return other,
            }
        }
    }

    /// The handshake: the cookie, then the crumb (two requests).
    async fn open_session<P, F, G>(&self, symbol: &str, permit: &P) -> Result<String, ProviderError>
    where
        P: Fn() -> F,
        F: Future<Output = G>,
    {
        // fc.yahoo.com answers 404 while setting the cookie; only the cookie matters.
        let cookie = self
            .get_held(symbol, &self.config.cookie_url, permit)
            .await?;
        if cookie.status == StatusCode::TOO_MANY_REQUESTS {
            return Err(rate_limited(symbol, "cookie endpoint answered 429")
                .with_retry_after(cookie.retry_after));
        }
        let Answer {
            status,
            body,
            retry_after,
        } = self
            .get_held(symbol, &self.config.crumb_url, permit)
            .await?;
        let text = String::from_utf8_lossy(&body).trim().to_owned();
        if status == StatusCode::TOO_MANY_REQUESTS || text.contains("Too Many Requests") {
            return Err(rate_limited(symbol, &text).with_retry_after(retry_after));
        }
        if status.is_server_error() {
            return Err(ProviderError::Server {
                provider: PROVIDER,
                symbols: symbol.to_owned(),
                code: status.as_u16(),
                message: excerpt(&body),
            });
        }
        if !status.is_success() || text.is_empty() || text.contains('<') || text.contains('{') {
            return Err(ProviderError::Unauthorized {
                provider: PROVIDER,
                symbols: symbol.to_owned(),
                message: format!("the crumb endpoint answered {status} without a crumb"),
            });
        }
        *self.crumb.lock().await = Some(text.clone());
        Ok(text)
    }

    /// One GET, with the budget's permit held until it is answered.
    async fn get_held<P, F, G>(
        &self,
        symbol: &str,
        url: &str,
        permit: &P,
    ) -> Result<Answer, ProviderError>
    where
        P: Fn() -> F,
        F: Future<Output = G>,
    {
        let _held = permit().await;
        http::send(PROVIDER, symbol, self.http.get(url), &self.metrics).await
    }

    async fn request_chain(
        &self,
        symbol: &str,
        expiration: Option<i64>,
        crumb: &str,
    ) -> Result<ChainAnswer, ProviderError> {
        let url = format!(
            "{}/v7/finance/options/{}",
            self.config.base_url.trim_end_matches('/'),
            yahoo_ticker(symbol, self.indices.iter().any(|i| i == symbol))
        );
        let mut query = vec![("crumb", crumb.to_owned())];
        if let Some(date) = expiration {
            query.push(("date", date.to_string()));
        }
        let Answer {
            status,
            body,
            retry_after,
        } = http::send(
            PROVIDER,
            symbol,
            self.http.get(url).query(&query),
            &self.metrics,
        )
        .await?;
        parse_chain(status, &body, symbol).map_err(|e| e.with_retry_after(retry_after))
    }
}

/// Yahoo writes class shares with a dash (`BRK-B`) and indices with a caret (`^SPX`).
pub fn yahoo_ticker(symbol: &str, is_index: bool) -> String {
    if is_index {
        format!("^{symbol}")
    } else {
        symbol.replace('.', "-")
    }
}

/// Reads an options answer for `symbol`.
pub fn parse_chain(
    status: StatusCode,
    body: &[u8],
    symbol: &str,
) -> Result<ChainAnswer, ProviderError> {
    let fail_message = || {
        serde_json::from_slice::<wire::FinanceErrorResponse>(body)
            .ok()
            .and_then(|r| r.finance.error)
            .map(|e| {
                format!(
                    "{}: {}",
                    e.code.unwrap_or_default(),
                    e.description.unwrap_or_default()
                )
            })
            .unwrap_or_else(|| excerpt(body))
    };
    // Yahoo refuses a stale cookie or crumb with 403 as well as 401.
    let status = match status {
        StatusCode::FORBIDDEN => StatusCode::UNAUTHORIZED,
        other => other,
    };
    // A 5xx's body is rarely Yahoo's error document; the message falls back to the body.
    if let Some(e) = ProviderError::of_status(PROVIDER, symbol, status, fail_message) {
        return Err(e);
    }
    let malformed = |detail| ProviderError::malformed(PROVIDER, symbol, detail, body);
    let mut value: Value =
        serde_json::from_slice(body).map_err(|e| malformed(format!("body is not JSON: {e}")))?;
    let response: wire::OptionsResponse = serde_path_to_error::deserialize(&value)
        .map_err(|e| malformed(format!("at `{}`: {}", e.path(), e.inner())))?;
    if let Some(error) = response.option_chain.error {
        return Err(ProviderError::Rejected {
            provider: PROVIDER,
            symbols: symbol.to_owned(),
            code: status.as_u16(),
            message: format!(
                "{}: {}",
                error.code.unwrap_or_default(),
                error.description.unwrap_or_default()
            ),
        });
    }
    let mut results = response.option_chain.result.unwrap_or_default();
    if results.is_empty() {
        return Err(ProviderError::NotFound {
            provider: PROVIDER,
            symbols: symbol.to_owned(),
            message: "no option chain (unknown symbol or no listed options)".into(),
        });
    }
    let raw = value["optionChain"]["result"][0].take();
    Ok(ChainAnswer {
        raw,
        chain: results.swap_remove(0),
    })
}

fn rate_limited(symbol: &str, message: &str) -> ProviderError {
    ProviderError::RateLimited {
        provider: PROVIDER,
        symbols: symbol.to_owned(),
        scope: RateScope::Unspecified,
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAIN: &str = r#"{"optionChain":{"result":[{
        "underlyingSymbol":"XYZ","expirationDates":[1750377600,1750982400],"strikes":[95.0,100.0],
        "hasMiniOptions":false,
        "quote":{"symbol":"XYZ","regularMarketPrice":99.5,"regularMarketTime":1750179062,"shortName":"Xyz Corp"},
        "options":[{"expirationDate":1750377600,"hasMiniOptions":false,
          "calls":[{"contractSymbol":"XYZ250620C00100000","strike":100.0,"lastPrice":3.45,"bid":3.3,"ask":3.6,
                    "volume":57,"openInterest":1204,"expiration":1750377600,"lastTradeDate":1750179062,
                    "impliedVolatility":0.3125,"inTheMoney":false,"contractSize":"REGULAR","currency":"USD"}],
          "puts":[{"contractSymbol":"XYZ250620P00095000","strike":95.0,"bid":0,"ask":0}]}]}],
        "error":null}}"#;

    #[test]
    fn a_chain_with_missing_fields() {
        let answer = parse_chain(StatusCode::OK, CHAIN.as_bytes(), "XYZ").unwrap();
        assert_eq!(answer.chain.expiration_dates, [1750377600, 1750982400]);
        let calls = &answer.chain.options[0].calls;
        assert_eq!(calls[0].volume, Some(57.0));
        let put = &answer.chain.options[0].puts[0];
        assert_eq!(put.volume, None);
        assert_eq!(put.open_interest, None);
        assert_eq!(
            answer.raw["quote"]["shortName"], "Xyz Corp",
            "raw keeps every field"
        );
    }

    #[test]
    fn invalid_crumb_is_unauthorized() {
        let body = br#"{"finance":{"result":null,"error":{"code":"Unauthorized","description":"Invalid Crumb"}}}"#;
        let err = parse_chain(StatusCode::UNAUTHORIZED, body, "SPY").unwrap_err();
        assert_eq!(err.reason().as_str(), "unauthorized");
        assert!(err.to_string().contains("Invalid Crumb"), "{err}");
    }

    #[test]
    fn rate_limits_and_server_errors_are_transient() {
        let err =
            parse_chain(StatusCode::TOO_MANY_REQUESTS, b"Too Many Requests", "SPY").unwrap_err();
        assert!(matches!(
            err,
            ProviderError::RateLimited {
                scope: RateScope::Unspecified,
                ..
            }
        ));
        assert!(err.is_transient());
        let err = parse_chain(StatusCode::BAD_GATEWAY, b"", "SPY").unwrap_err();
        assert!(err.is_transient());
    }

    #[test]
    fn empty_result_is_not_found() {
        let body = br#"{"optionChain":{"result":[],"error":null}}"#;
        assert_eq!(
            parse_chain(StatusCode::OK, body, "NOPE")
                .unwrap_err()
                .reason()
                .as_str(),
            "not_found"
        );
    }

    #[test]
    fn malformed_answers_name_the_field() {
        let bad = CHAIN.replace("\"strike\":100.0", "\"strike\":\"abc\"");
        let err = parse_chain(StatusCode::OK, bad.as_bytes(), "XYZ")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("strike") && err.contains("XYZ") && err.contains("yahoo"),
            "{err}"
        );
        let truncated = &CHAIN[..200];
        let err = parse_chain(StatusCode::OK, truncated.as_bytes(), "XYZ").unwrap_err();
        assert_eq!(err.reason().as_str(), "malformed_answer");
    }

    #[test]
    fn class_shares_use_a_dash() {
        assert_eq!(yahoo_ticker("BRK.B", false), "BRK-B");
        assert_eq!(yahoo_ticker("AAPL", false), "AAPL");
        assert_eq!(yahoo_ticker("SPX", true), "^SPX");
    }
}
