//! The database the db-writer upserts into and the API reads from: PostgreSQL on
//! Kubernetes, SQLite on one machine, chosen by the connection URL. Both have the same
//! tables ([`crate::stages::write::Table`]), created by embedded migrations that
//! [`Database::migrate`] applies; every write is one transaction of idempotent upserts.

pub mod dead_letters;
pub mod postgres;
pub mod predictions;
pub mod sqlite;

use std::time::Duration;

use crate::sinks::WriteError;
use crate::stages::write::Rows;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "database URL {url:?} is not understood (expected postgres://... or sqlite:...): {source}"
    )]
    Url {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("applying the {database} migrations failed: {source}")]
    Migrate {
        database: &'static str,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("counting the rows of {table} failed: {source}")]
    Count {
        table: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

impl DbError {
    /// The database could not be reached (worth waiting for), rather than refusing.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Migrate {
                source: sqlx::migrate::MigrateError::Execute(e),
                ..
            } => is_connection_error(e),
            _ => false,
        }
    }
}

fn is_connection_error(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_)
    ) || matches!(e, sqlx::Error::Database(d) if d.code().is_some_and(|c| c.starts_with("57P") || c.starts_with("08")))
}

/// How `option_quotes` rows reach PostgreSQL (docs/storage.md has the measurements).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UpsertMethod {
    /// `INSERT ... SELECT FROM UNNEST($1::text[], ...) ON CONFLICT DO UPDATE`: one statement,
    /// one array parameter per column.
    #[default]
    Unnest,
    /// `COPY` into a temporary table, then `INSERT ... SELECT ... ON CONFLICT DO UPDATE`.
    CopyMerge,
}

/// A connected (lazily: nothing is dialled until the first use) database.
#[derive(Clone, Debug)]
pub enum Database {
    Postgres(postgres::Postgres),
    Sqlite(sqlite::Sqlite),
}

/// How long a write waits for a free connection before counting the database unavailable.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

impl Database {
    /// `postgres://` or `postgresql://` URLs open PostgreSQL; `sqlite:` URLs (or a path to a
    /// `.db` file) open SQLite, creating the file.
    pub fn open(url: &str) -> Result<Database, DbError> {
        let invalid = |source| DbError::Url {
            url: redact(url),
            source,
        };
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            postgres::Postgres::open(url)
                .map(Database::Postgres)
                .map_err(invalid)
        } else {
            let url = if url.starts_with("sqlite:") {
                url.to_owned()
            } else {
                format!("sqlite://{url}")
            };
            sqlite::Sqlite::open(&url)
                .map(Database::Sqlite)
                .map_err(invalid)
        }
    }

    /// Statements cancelled after `limit` (PostgreSQL; SQLite has no such setting, and the
    /// API's request timeout bounds its reads instead).
    pub fn with_statement_timeout(self, limit: Duration) -> Database {
        match self {
            Database::Postgres(pg) => Database::Postgres(pg.with_statement_timeout(limit)),
            sqlite => sqlite,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Database::Postgres(_) => "postgresql",
            Database::Sqlite(_) => "sqlite",
        }
    }

    /// Applies the embedded migrations that have not run yet. Safe when several writers
    /// start at once: PostgreSQL's migrator holds an advisory lock; for SQLite we hold a
    /// file lock.
    pub async fn migrate(&self) -> Result<(), DbError> {
        let result = match self {
            Database::Postgres(db) => postgres::MIGRATOR.run(db.pool()).await,
            Database::Sqlite(db) => db.migrate().await,
        };
        result.map_err(|source| DbError::Migrate {
            database: self.kind(),
            source,
        })
    }

    /// Upserts the rows in one transaction: all of them or none.
    pub async fn write(&self, rows: &Rows) -> Result<(), WriteError> {
        if rows.is_empty() {
            return Ok(());
        }
        match self {
            Database::Postgres(db) => db.write(rows).await,
            Database::Sqlite(db) => db.write(rows).await,
        }
        .map_err(|e| classify(self.kind(), e))
    }

    /// Rows in one of optionsflow's tables (0 for another name).
    pub async fn count_rows(&self, table: &'static str) -> Result<i64, DbError> {
        let sql = match table {
            "daily_bars" => "SELECT count(*) FROM daily_bars",
            "intraday_bars" => "SELECT count(*) FROM intraday_bars",
            "option_quotes" => "SELECT count(*) FROM option_quotes",
            "predictions" => "SELECT count(*) FROM predictions",
            "prediction_scores" => "SELECT count(*) FROM prediction_scores",
            "dead_letters" => "SELECT count(*) FROM dead_letters",
            _ => return Ok(0),
        };
        let n = match self {
            Database::Postgres(db) => sqlx::query_scalar::<_, i64>(sql).fetch_one(db.pool()).await,
            Database::Sqlite(db) => sqlx::query_scalar::<_, i64>(sql).fetch_one(db.pool()).await,
        };
        n.map_err(|source| DbError::Count { table, source })
    }

    pub async fn close(&self) {
        match self {
            Database::Postgres(db) => db.pool().close().await,
            Database::Sqlite(db) => db.pool().close().await,
        }
    }
}

/// Whether an error is about the data (retrying will not help) or about reaching the
/// database (it will).
pub fn classify(store: &'static str, error: sqlx::Error) -> WriteError {
    let rejected = match &error {
        sqlx::Error::Database(e) => {
            use sqlx::error::ErrorKind;
            let constraint = !matches!(e.kind(), ErrorKind::Other);
            // PostgreSQL's class 22 is "data exception" (bad values); SQLite's 18, 20 and 25
            // are "too big", "type mismatch" and "out of range".
            let code = e.code().unwrap_or_default();
            let bad_data = code.starts_with("22") || matches!(&*code, "18" | "20" | "25");
            constraint || bad_data
        }
        sqlx::Error::Encode(_) | sqlx::Error::InvalidArgument(_) => true,
        _ => false,
    };
    let detail = error.to_string();
    if rejected {
        WriteError::Rejected { store, detail }
    } else {
        WriteError::Unavailable { store, detail }
    }
}

/// Column names quoted (`right` and `interval` are keywords), each after `prefix`, joined
/// with commas: the SQL both adapters build once from the column lists.
fn quoted(columns: &[&str], prefix: &str) -> String {
    columns
        .iter()
        .map(|c| format!("{prefix}\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://writer:s3cret@db:5432/optionsflow"),
            "postgres://writer:***@db:5432/optionsflow"
        );
        assert_eq!(
            redact("postgres://db/optionsflow"),
            "postgres://db/optionsflow"
        );
        assert_eq!(redact("sqlite://data.db"), "sqlite://data.db");
    }

    #[test]
    fn unknown_urls_are_refused_with_the_url() {
        let error = Database::open("postgres://u:pw@db:notaport/x").unwrap_err();
        let text = error.to_string();
        assert!(text.contains("u:***@db"), "{text}");
        assert!(!text.contains("pw"), "{text}");
    }
}
