//! The one place provider HTTP requests are sent: builds clients and records every answer's
//! status and latency in the provider metrics.

use std::time::{Duration, Instant};

use optionsflow_api::Source;
use reqwest::{Client, RequestBuilder, StatusCode};

use super::ProviderError;
use crate::runtime::metrics::ProviderMetrics;

/// A provider's answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: bytes::Bytes,
    /// `Retry-After`, in seconds or as an HTTP date, when the answer had one.
    pub retry_after: Option<Duration>,
}

/// Reads `Retry-After`: a number of seconds or an HTTP date (RFC 9110 section 10.2.3).
/// A date in the past means now; a value that is neither is ignored.
pub fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or_default(),
    )
}

/// Builds the HTTP client a provider uses.
pub fn client(user_agent: &str, timeout: Duration, cookies: bool) -> Client {
    Client::builder()
        .user_agent(user_agent)
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .cookie_store(cookies)
        .build()
        .expect("the HTTP client configuration is valid")
}

/// Sends `request`, reads the body, and counts the outcome.
pub async fn send(
    provider: Source,
    symbols: &str,
    request: RequestBuilder,
    metrics: &ProviderMetrics,
) -> Result<Answer, ProviderError> {
    let started = Instant::now();
    let result = async {
        let response = request.send().await?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, chrono::Utc::now()));
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>(Answer {
            status,
            body,
            retry_after,
        })
    }
    .await;
    let elapsed = started.elapsed();
    match result {
        Ok(answer) => {
            metrics.observe(provider, answer.status.as_str(), elapsed);
            Ok(answer)
        }
        Err(source) => {
            let label = if source.is_timeout() {
                "timeout"
            } else {
                "error"
            };
            metrics.observe(provider, label, elapsed);
            let mut message = source.to_string();
            let mut cause = std::error::Error::source(&source);
            while let Some(c) = cause {
                message.push_str(&format!(": {c}"));
                cause = c.source();
            }
            Err(ProviderError::Transport {
                provider,
                symbols: symbols.to_owned(),
                message,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 14, 0, 0).unwrap();
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Mon, 30 Nov 2026 14:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Mon, 30 Nov 2026 13:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
