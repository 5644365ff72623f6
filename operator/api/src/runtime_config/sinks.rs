//! Where processed data is written. Credentials come from the environment.

use serde::{Deserialize, Serialize};

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
    /// SQLite instead of PostgreSQL, for one machine (`optionsflow-worker local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqlite: Option<SqliteSink>,
    /// A local folder instead of S3, for one machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<FolderSink>,
    /// How the db-writer gathers messages into transactions.
    #[serde(default)]
    pub batching: Batching,
    /// When the file writer closes a file and uploads it.
    #[serde(default)]
    pub files: FileRolling,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SqliteSink {
    /// The database file, created when missing.
    pub path: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FolderSink {
    /// The folder files are written under (the same layout as keys in S3).
    pub path: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Batching {
    /// A transaction holds at most about this many rows (whole messages).
    pub max_rows: u32,
    /// A message waits at most this long for others to share its transaction.
    pub max_wait_ms: u64,
}

impl Default for Batching {
    fn default() -> Batching {
        Batching {
            max_rows: 5_000,
            max_wait_ms: 500,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct FileRolling {
    /// A file is closed once it holds this many bytes of CSV.
    pub max_bytes: u64,
    /// ... or once its first message is this old.
    pub max_age_seconds: u64,
}

impl Default for FileRolling {
    fn default() -> FileRolling {
        FileRolling {
            max_bytes: 64 << 20,
            max_age_seconds: 300,
        }
    }
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
    /// Which write endpoint: `v1` (`/write`, InfluxDB 1.x) or `v2` (`/api/v2/write`,
    /// InfluxDB 1.8+, 2.x and 3.x).
    #[serde(default)]
    pub api: InfluxApi,
    /// The v2 organisation (InfluxDB 1.8 and 3.x ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Environment variable holding the token (v2), or `user:password` (v1), if the server
    /// wants one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InfluxApi {
    #[default]
    V1,
    V2,
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
    #[serde(default = "s3_region")]
    pub region: String,
    #[serde(default)]
    pub path_style: bool,
}

// `PostgresSink` and `S3Sink` have fields without defaults (or a struct the operator always
// fills), so their defaults are per field.
fn database_url_env() -> String {
    crate::defaults::DATABASE_URL_ENV.into()
}
fn s3_region() -> String {
    crate::defaults::S3_REGION.into()
}
