//! Provider clients, one folder per provider. Each client speaks its provider's exact format
//! (docs/market-data.md) and turns every failure into a [`ProviderError`] that
//! says which provider, which symbol and what was wrong.
//!
//! Clients make requests; they do not decide how often. Budgets, retries and backoff live in
//! the collector, which asks the budget gate before every request.

pub mod cboe;
#[cfg(test)]
pub(crate) mod fuzz;
pub mod http;
pub mod sample;
pub mod twelvedata;
pub mod yahoo;

use std::time::Duration;

use optionsflow_api::{Reason, Source};

/// Which limit a 429 hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateScope {
    /// The current budget window (a wall-clock minute): wait for the next one.
    Window,
    /// The UTC day: wait for midnight UTC.
    Day,
    /// The provider did not say (Yahoo): slow down.
    Unspecified,
    /// The provider said when to come back (`Retry-After`).
    After(Duration),
}

impl RateScope {
    pub fn as_str(self) -> &'static str {
        match self {
            RateScope::Window => "window",
            RateScope::Day => "day",
            RateScope::Unspecified => "unspecified",
            RateScope::After(_) => "retry_after",
        }
    }
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{provider} rate limit ({scope}) for {symbols}: {message}", provider = .provider.as_str(), scope = .scope.as_str())]
    RateLimited {
        provider: Source,
        symbols: String,
        scope: RateScope,
        message: String,
    },
    #[error("{provider} refused our credentials for {symbols}: {message}", provider = .provider.as_str())]
    Unauthorized {
        provider: Source,
        symbols: String,
        message: String,
    },
    #[error("{provider} has no data for {symbols}: {message}", provider = .provider.as_str())]
    NotFound {
        provider: Source,
        symbols: String,
        message: String,
    },
    #[error("{provider} rejected the request for {symbols} with code {code}: {message}", provider = .provider.as_str())]
    Rejected {
        provider: Source,
        symbols: String,
        code: u16,
        message: String,
    },
    #[error("{provider} failed with {code} for {symbols}: {message}", provider = .provider.as_str())]
    Server {
        provider: Source,
        symbols: String,
        code: u16,
        message: String,
    },
    /// The request did not get an answer (connection refused, timeout, reset): kept as
    /// text, with its causes, so errors can be cloned onto every symbol of a batch.
    #[error("{provider} could not be reached for {symbols}: {message}", provider = .provider.as_str())]
    Transport {
        provider: Source,
        symbols: String,
        message: String,
    },
    #[error("{provider} sent a malformed answer for {symbols}: {detail}", provider = .provider.as_str())]
    Malformed {
        provider: Source,
        symbols: String,
        detail: String,
        /// The body, cut to a size fit for a dead letter.
        body: String,
    },
}

impl ProviderError {
    /// An answer about `symbols` that is not in the provider's format: `detail` says how,
    /// and the start of `body` goes with it.
    pub fn malformed(provider: Source, symbols: &str, detail: String, body: &[u8]) -> Self {
        ProviderError::Malformed {
            provider,
            symbols: symbols.to_owned(),
            detail,
            body: excerpt(body),
        }
    }

    /// What an HTTP status says, read the way Yahoo and Cboe use them (a provider with other
    /// habits maps its status first): 401 refused credentials, 404 no such symbol, 429 a
    /// rate limit of unknown scope, 5xx a server error (worth another try), another non-2xx
    /// a refusal; `None` for a success.
    pub fn of_status(
        provider: Source,
        symbols: &str,
        status: reqwest::StatusCode,
        message: impl FnOnce() -> String,
    ) -> Option<ProviderError> {
        use reqwest::StatusCode;
        let (symbols, code) = (symbols.to_owned(), status.as_u16());
        if status.is_success() {
            return None;
        }
        let message = message();
        Some(match status {
            StatusCode::UNAUTHORIZED => ProviderError::Unauthorized {
                provider,
                symbols,
                message,
            },
            StatusCode::NOT_FOUND => ProviderError::NotFound {
                provider,
                symbols,
                message,
            },
            StatusCode::TOO_MANY_REQUESTS => ProviderError::RateLimited {
                provider,
                symbols,
                scope: RateScope::Unspecified,
                message,
            },
            _ if status.is_server_error() => ProviderError::Server {
                provider,
                symbols,
                code,
                message,
            },
            _ => ProviderError::Rejected {
                provider,
                symbols,
                code,
                message,
            },
        })
    }

    /// Worth trying again after a pause.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. }
                | ProviderError::Server { .. }
                | ProviderError::Transport { .. }
        )
    }

    /// The reason in metrics and dead letters.
    pub fn reason(&self) -> Reason {
        match self {
            ProviderError::RateLimited { .. } => Reason::RateLimited,
            ProviderError::Unauthorized { .. } => Reason::Unauthorized,
            ProviderError::NotFound { .. } => Reason::NotFound,
            ProviderError::Rejected { .. } => Reason::Rejected,
            ProviderError::Server { .. } => Reason::ServerError,
            ProviderError::Transport { .. } => Reason::TransportError,
            ProviderError::Malformed { .. } => Reason::MalformedAnswer,
        }
    }

    /// A rate limit that did not say which becomes one that says how long, when the answer
    /// carried `Retry-After`.
    pub fn with_retry_after(self, retry_after: Option<Duration>) -> ProviderError {
        match (self, retry_after) {
            (
                ProviderError::RateLimited {
                    provider,
                    symbols,
                    scope: RateScope::Unspecified,
                    message,
                },
                Some(after),
            ) => ProviderError::RateLimited {
                provider,
                symbols,
                scope: RateScope::After(after),
                message,
            },
            (other, _) => other,
        }
    }

    /// The provider's own words, if it sent a body worth keeping.
    pub fn body(&self) -> Option<&str> {
        match self {
            ProviderError::Malformed { body, .. } => Some(body),
            _ => None,
        }
    }
}

/// Longest body excerpt kept in an error.
const BODY_EXCERPT: usize = 4096;

/// The start of a body, as text, for errors and dead letters.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.len() <= BODY_EXCERPT {
        return text.into_owned();
    }
    let mut end = BODY_EXCERPT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], body.len())
}

/// How long a client waits for one answer.
pub fn request_timeout(seconds: u64) -> Duration {
    Duration::from_secs(seconds.max(1))
}

#[cfg(test)]
mod status_tests {
    use super::*;

    #[test]
    fn a_status_reads_as_yahoo_and_cboe_use_it() {
        let read = |code: u16| {
            let status = reqwest::StatusCode::from_u16(code).unwrap();
            ProviderError::of_status(Source::Cboe, "SPY", status, || "body".into())
                .map(|e| e.reason().as_str())
        };
        assert_eq!(read(200), None);
        assert_eq!(read(401), Some("unauthorized"));
        assert_eq!(read(404), Some("not_found"));
        assert_eq!(read(429), Some("rate_limited"));
        assert_eq!(read(503), Some("server_error"));
        assert_eq!(read(400), Some("rejected"));
        assert_eq!(read(302), Some("rejected"));
    }
}
