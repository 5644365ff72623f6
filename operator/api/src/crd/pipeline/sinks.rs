//! Where processed data goes.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::sources::SecretKeyRef;

/// The sinks. PostgreSQL is where the API reads from; the others are optional.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SinksSpec {
    /// PostgreSQL, written by the db-writer and read by the api.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresSpec>,
    /// InfluxDB, which receives intraday bars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub influxdb: Option<InfluxSpec>,
    /// S3-compatible object storage, which receives CSV files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Spec>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PostgresSpec {
    /// The Secret key holding the connection URL (`postgres://user:password@host/db`).
    pub url_secret: SecretKeyRef,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InfluxSpec {
    /// The server, `http(s)://host:port`.
    pub url: String,
    /// The v1 database (or v2 bucket).
    pub database: String,
    /// The write API: `v1` (`/write`, InfluxDB 1.x; the default) or `v2` (`/api/v2/write`,
    /// InfluxDB 1.8+, 2.x and 3.x).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<InfluxApiVersion>,
    /// The v2 organisation (InfluxDB 1.8 and 3.x ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// The Secret key holding the token (v2), or `user:password` (v1), if the server wants
    /// one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret: Option<SecretKeyRef>,
}

/// An InfluxDB write API.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum InfluxApiVersion {
    V1,
    V2,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct S3Spec {
    /// The bucket.
    #[schemars(length(min = 3, max = 63))]
    pub bucket: String,
    /// Key prefix of every object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// A custom endpoint for S3-compatible stores; AWS when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The region (default us-east-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Path-style addressing, which most S3-compatible stores need (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_style: Option<bool>,
    /// A Secret with keys `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`; the pod's
    /// identity when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<String>,
    /// A file is closed and uploaded once it holds this many bytes of CSV (default 64 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1024))]
    pub max_file_bytes: Option<u64>,
    /// ... or once its first record is this many seconds old (default 300): how late a file
    /// lands at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400))]
    pub max_file_age_seconds: Option<u64>,
}
