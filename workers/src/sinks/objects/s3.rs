//! An S3 bucket (AWS, or any S3-compatible store through a custom endpoint and path-style
//! addressing). Credentials come from the usual AWS chain: `AWS_ACCESS_KEY_ID` and
//! `AWS_SECRET_ACCESS_KEY`, or the pod's identity.
//!
//! Every call is bounded ([`Timeouts`]): a hung connection or upload fails, is retried, and
//! never holds its partition (or a shutdown) for longer than an operation's timeout. Errors
//! that only people can fix (a missing bucket, a denied or unknown key) are
//! [`WriteError::Misconfigured`]; everything else is worth trying again.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use optionsflow_api::runtime_config::S3Sink;

use crate::sinks::WriteError;

const STORE: &str = "S3";

/// How long S3 calls may take.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    /// One attempt, a whole upload included: a file is at most `sinks.files.maxBytes` (64 MiB
    /// by default), which takes about a minute at 1 MB/s.
    pub attempt: Duration,
    /// All attempts of one call, the SDK's own retries included.
    pub operation: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(10),
            attempt: Duration::from_secs(120),
            operation: Duration::from_secs(300),
        }
    }
}

/// S3 error codes that no retry can fix: the bucket, the key or the permission is wrong.
const MISCONFIGURED: [&str; 7] = [
    "NoSuchBucket",
    "AccessDenied",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidBucketName",
    "AccountProblem",
];

#[derive(Clone, Debug)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    endpoint: Option<String>,
}

impl S3Store {
    pub async fn new(sink: &S3Sink) -> S3Store {
        S3Store::with_timeouts(sink, Timeouts::default()).await
    }

    pub async fn with_timeouts(sink: &S3Sink, timeouts: Timeouts) -> S3Store {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(sink.region.clone()))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(timeouts.connect)
                    .operation_attempt_timeout(timeouts.attempt)
                    .operation_timeout(timeouts.operation)
                    .build(),
            );
        if let Some(endpoint) = &sink.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let shared = loader.load().await;
        // Checksums only where S3 requires them: many S3-compatible stores refuse the CRC
        // headers recent SDKs send by default.
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(sink.path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        S3Store {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: sink.bucket.clone(),
            endpoint: sink.endpoint.clone(),
        }
    }

    pub async fn put(&self, key: &str, body: Vec<u8>) -> Result<(), WriteError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("text/csv; charset=utf-8; header=present")
            .body(ByteStream::from(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failed(&format!("PUT s3://{}/{key}", self.bucket), e))
    }

    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, WriteError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| failed(&format!("LIST s3://{}/{prefix}", self.bucket), e))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    pub fn location(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("s3://{} at {endpoint}", self.bucket),
            None => format!("s3://{}", self.bucket),
        }
    }
}

/// S3 never objects to what a CSV file holds: a failure is either ours to fix (a missing
/// bucket, a denied or unknown key: [`MISCONFIGURED`], or a bare 403) or worth retrying.
fn failed<E>(what: &str, error: aws_sdk_s3::error::SdkError<E>) -> WriteError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    let forbidden = error
        .raw_response()
        .is_some_and(|r| r.status().as_u16() == 403);
    let misconfigured = error.code().is_some_and(|c| MISCONFIGURED.contains(&c)) || forbidden;
    let detail = format!("{what}: {}", aws_sdk_s3::error::DisplayErrorContext(&error));
    if misconfigured {
        WriteError::Misconfigured {
            store: STORE,
            detail,
        }
    } else {
        WriteError::Unavailable {
            store: STORE,
            detail,
        }
    }
}
