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

/// The largest answer read. Cboe's whole-chain document for SPX, the largest any provider
/// sends, is a few tens of MiB; anything past this is not an answer we can use, and reading
/// it on would only risk the worker's memory.
pub const MAX_ANSWER_BYTES: usize = 128 << 20;

/// Sends `request`, reads the body (at most [`MAX_ANSWER_BYTES`]; a longer one is a
/// malformed answer that says the cap), and counts the outcome.
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
        let mut body = bytes::BytesMut::new();
        let mut response = response;
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Ok(Err(body));
            }
            body.extend_from_slice(&chunk);
        }
        Ok::<_, reqwest::Error>(Ok(Answer {
            status,
            body: body.freeze(),
            retry_after,
        }))
    }
    .await;
    let elapsed = started.elapsed();
    match result {
        Ok(Ok(answer)) => {
            metrics.observe(provider, answer.status.as_str(), elapsed);
            Ok(answer)
        }
        Ok(Err(start)) => {
            metrics.observe(provider, "too_large", elapsed);
            let detail = format!("the answer is larger than the {MAX_ANSWER_BYTES}-byte cap");
            Err(ProviderError::malformed(provider, symbols, detail, &start))
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

    /// A server that answers every connection with 200 and `size` bytes of `x`.
    async fn answering(size: usize) -> std::net::SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request).await;
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n");
                    let _ = socket.write_all(head.as_bytes()).await;
                    let block = vec![b'x'; 1 << 20];
                    let mut left = size;
                    while left > 0 {
                        let n = left.min(block.len());
                        if socket.write_all(&block[..n]).await.is_err() {
                            return;
                        }
                        left -= n;
                    }
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn an_answer_past_the_cap_is_malformed_and_says_the_cap() {
        let metrics = crate::runtime::metrics::Metrics::new().provider;
        let http = client("test", Duration::from_secs(30), false);
        for (size, too_large) in [(1000, false), (MAX_ANSWER_BYTES + 1, true)] {
            let addr = answering(size).await;
            let got = send(
                Source::Cboe,
                "SPX",
                http.get(format!("http://{addr}/")),
                &metrics,
            )
            .await;
            match got {
                Ok(answer) => {
                    assert!(!too_large);
                    assert_eq!(answer.body.len(), size);
                }
                Err(ProviderError::Malformed { detail, body, .. }) => {
                    assert!(too_large);
                    assert!(
                        detail.contains(&format!("{MAX_ANSWER_BYTES}-byte cap")),
                        "{detail}"
                    );
                    assert!(
                        body.len() < 8192 && body.starts_with("xxx"),
                        "{}",
                        body.len()
                    );
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
}
