//! The stores the writers write to, one module each, all behind I/O-free stage code
//! ([`crate::stages::write`]): [`db`] (PostgreSQL, or SQLite on one machine), [`influx`]
//! (InfluxDB v1 and v2 write APIs) and [`objects`] (S3, or a local folder). [`schema`]
//! describes the tables once, for the databases, the files and the API's reads.

pub mod db;
pub mod influx;
pub mod objects;
pub mod schema;

/// Why a write failed, which decides what the writer does next.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The store cannot be reached or is busy: write the same batch again later.
    #[error("{store} is unavailable: {detail}")]
    Unavailable { store: &'static str, detail: String },
    /// The store refused the data itself; writing it again would fail again.
    #[error("{store} rejected the data: {detail}")]
    Rejected { store: &'static str, detail: String },
    /// The store refuses the writer rather than the data (credentials it does not accept,
    /// no permission, a bucket or database that does not exist): nothing will get through
    /// until the configuration is fixed, so the role stops and says why. On Kubernetes the
    /// pod restarts with back-off and reads its Secrets again, which also picks up a rotated
    /// credential.
    #[error("{store} refuses this writer: {detail}")]
    Misconfigured { store: &'static str, detail: String },
}

impl WriteError {
    pub fn is_rejection(&self) -> bool {
        matches!(self, WriteError::Rejected { .. })
    }

    pub fn is_misconfiguration(&self) -> bool {
        matches!(self, WriteError::Misconfigured { .. })
    }

    /// The `kind` label of `optionsflow_write_failures_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            WriteError::Unavailable { .. } => "unavailable",
            WriteError::Rejected { .. } => "rejected",
            WriteError::Misconfigured { .. } => "misconfigured",
        }
    }
}
