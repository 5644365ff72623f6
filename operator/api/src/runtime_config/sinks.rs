//! Where processed data is written. Credentials come from the environment.

use serde::{Deserialize, Serialize};

use super::defaults::*;

/// Where processed data is written. Credentials come from the environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sinks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresSink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub influxdb: Option<InfluxSink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Sink>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresSink {
    /// Environment variable holding the connection URL.
    #[serde(default = "database_url_env")]
    pub url_env: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InfluxSink {
    pub url: String,
    /// v1 database (or v2 bucket).
    pub database: String,
    /// Environment variable holding the token, if the server wants one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Sink {
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
    /// A custom endpoint for S3-compatible stores; AWS when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default = "us_east_1")]
    pub region: String,
    #[serde(default)]
    pub path_style: bool,
}
