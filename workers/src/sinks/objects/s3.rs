//! An S3 bucket (AWS, or any S3-compatible store through a custom endpoint and path-style
//! addressing). Credentials come from the usual AWS chain: `AWS_ACCESS_KEY_ID` and
//! `AWS_SECRET_ACCESS_KEY`, or the pod's identity.

use aws_config::BehaviorVersion;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::primitives::ByteStream;
use optionsflow_api::runtime_config::S3Sink;

use crate::sinks::WriteError;

const STORE: &str = "S3";

#[derive(Clone, Debug)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    endpoint: Option<String>,
}

impl S3Store {
    pub async fn new(sink: &S3Sink) -> S3Store {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(sink.region.clone()));
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
            .map_err(|e| unavailable(&format!("PUT s3://{}/{key}", self.bucket), e))
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
                page.map_err(|e| unavailable(&format!("LIST s3://{}/{prefix}", self.bucket), e))?;
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

/// S3 never objects to what a CSV file holds, so every failure is worth retrying (a missing
/// bucket or a denied key is fixed by people, and the writer waits for them).
fn unavailable<E>(what: &str, error: aws_sdk_s3::error::SdkError<E>) -> WriteError
where
    E: std::error::Error + 'static,
{
    WriteError::Unavailable {
        store: STORE,
        detail: format!("{what}: {}", aws_sdk_s3::error::DisplayErrorContext(&error)),
    }
}
