//! InfluxDB: intraday bars as line protocol over HTTP, through either write API.
//!
//! - v1, InfluxDB 1.x: `POST /write?db=<database>&precision=ns`; credentials `user:password`
//!   go in HTTP basic authentication.
//! - v2, InfluxDB 1.8+, 2.x and 3.x: `POST /api/v2/write?org=<org>&bucket=<database>&precision=ns`
//!   with `Authorization: Token <token>`.
//!
//! Both answer 204 on success. A 400, 413 or 422 is about the data (`Rejected`); 401, 403
//! and 404 (no such database or bucket) are about us (`Misconfigured`: the role stops and
//! says so); anything else (429, 5xx, no answer) is `Unavailable` and the writer tries again
//! later.

use std::time::Duration;

use optionsflow_api::runtime_config::{InfluxApi, InfluxSink};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};

use crate::sinks::WriteError;

const STORE: &str = "InfluxDB";

/// Lines per request: InfluxDB's documentation recommends batches of about 5,000 points.
pub const LINES_PER_REQUEST: usize = 5_000;

#[derive(Clone, Debug)]
pub struct Influx {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    auth: Option<Auth>,
}

#[derive(Clone, Debug)]
enum Auth {
    /// v1: `user:password`.
    Basic { user: String, password: String },
    /// v2: `Token <token>`.
    Token(HeaderValue),
}

#[derive(Debug, thiserror::Error)]
pub enum InfluxError {
    #[error("InfluxDB URL {url:?} is not valid: {reason}")]
    Url { url: String, reason: String },
    #[error("the InfluxDB token is not a valid header value")]
    Token,
}

impl Influx {
    /// `token` is the value of the sink's `tokenEnv` variable, if any.
    pub fn new(sink: &InfluxSink, token: Option<&str>) -> Result<Influx, InfluxError> {
        let invalid = |reason: String| InfluxError::Url {
            url: sink.url.clone(),
            reason,
        };
        let base = reqwest::Url::parse(&sink.url).map_err(|e| invalid(e.to_string()))?;
        let (path, query): (&str, Vec<(&str, &str)>) = match sink.api {
            InfluxApi::V1 => (
                "write",
                vec![("db", sink.database.as_str()), ("precision", "ns")],
            ),
            InfluxApi::V2 => (
                "api/v2/write",
                vec![
                    ("org", sink.org.as_deref().unwrap_or("")),
                    ("bucket", sink.database.as_str()),
                    ("precision", "ns"),
                ],
            ),
        };
        let mut endpoint = base.join(path).map_err(|e| invalid(e.to_string()))?;
        endpoint.query_pairs_mut().extend_pairs(query);
        let auth = match (token, sink.api) {
            (None, _) => None,
            (Some(t), InfluxApi::V1) => {
                let (user, password) = t.split_once(':').unwrap_or((t, ""));
                Some(Auth::Basic {
                    user: user.to_owned(),
                    password: password.to_owned(),
                })
            }
            (Some(t), InfluxApi::V2) => {
                let mut v =
                    HeaderValue::from_str(&format!("Token {t}")).map_err(|_| InfluxError::Token)?;
                v.set_sensitive(true);
                Some(Auth::Token(v))
            }
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .expect("the HTTP client configuration is valid");
        Ok(Influx {
            client,
            endpoint,
            auth,
        })
    }

    /// Writes line protocol, [`LINES_PER_REQUEST`] lines at a time. Points are keyed by
    /// series and time, so writing a request again after a partial failure is harmless.
    pub async fn write(&self, lines: &str) -> Result<(), WriteError> {
        let mut rest = lines;
        while !rest.is_empty() {
            let cut = rest
                .match_indices('\n')
                .nth(LINES_PER_REQUEST - 1)
                .map_or(rest.len(), |(i, _)| i + 1);
            self.send(&rest[..cut]).await?;
            rest = &rest[cut..];
        }
        Ok(())
    }

    async fn send(&self, body: &str) -> Result<(), WriteError> {
        let mut request = self
            .client
            .post(self.endpoint.clone())
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .header(ACCEPT, "application/json")
            .body(body.to_owned());
        match &self.auth {
            Some(Auth::Basic { user, password }) => {
                request = request.basic_auth(user, Some(password));
            }
            Some(Auth::Token(token)) => request = request.header(AUTHORIZATION, token.clone()),
            None => {}
        }
        let response = request.send().await.map_err(|e| WriteError::Unavailable {
            store: STORE,
            detail: e.to_string(),
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        let detail = format!("HTTP {status}: {}", text.trim());
        Err(match status {
            StatusCode::BAD_REQUEST
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNPROCESSABLE_ENTITY => WriteError::Rejected {
                store: STORE,
                detail,
            },
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
                WriteError::Misconfigured {
                    store: STORE,
                    detail,
                }
            }
            _ => WriteError::Unavailable {
                store: STORE,
                detail,
            },
        })
    }

    /// Where writes go (for logs).
    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink(api: InfluxApi) -> InfluxSink {
        InfluxSink {
            url: "http://influx:8086".into(),
            database: "market data".into(),
            api,
            org: Some("desk".into()),
            token_env: None,
        }
    }

    #[test]
    fn v1_writes_to_the_database_with_basic_credentials() {
        let influx = Influx::new(&sink(InfluxApi::V1), Some("writer:pw")).unwrap();
        assert_eq!(
            influx.endpoint(),
            "http://influx:8086/write?db=market+data&precision=ns"
        );
        assert!(matches!(
            influx.auth,
            Some(Auth::Basic { ref user, ref password }) if user == "writer" && password == "pw"
        ));
    }

    #[test]
    fn v2_writes_to_the_bucket_of_the_org_with_a_token() {
        let influx = Influx::new(&sink(InfluxApi::V2), Some("t0ken")).unwrap();
        assert_eq!(
            influx.endpoint(),
            "http://influx:8086/api/v2/write?org=desk&bucket=market+data&precision=ns"
        );
        let Some(Auth::Token(token)) = influx.auth else {
            panic!("a token")
        };
        assert_eq!(token.to_str().unwrap(), "Token t0ken");
    }

    #[test]
    fn a_bad_url_is_refused() {
        let mut s = sink(InfluxApi::V1);
        s.url = "not a url".into();
        assert!(matches!(
            Influx::new(&s, None),
            Err(InfluxError::Url { .. })
        ));
    }
}
