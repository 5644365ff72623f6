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
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>(Answer { status, body })
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
