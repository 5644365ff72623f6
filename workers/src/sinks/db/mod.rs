//! The database the db-writer upserts into and the API reads from: PostgreSQL on
//! Kubernetes, SQLite on one machine, chosen by the connection URL. Both have the same
//! tables ([`crate::sinks::schema`] describes them), created by embedded migrations that
//! [`Database::migrate`] applies; every write is one [`Transaction`] of idempotent upserts.

pub mod dead_letters;
pub mod postgres;
pub mod predictions;
pub mod sql;
pub mod sqlite;

use std::time::Duration;

use optionsflow_api::runtime_config::RuntimeConfig;
use tokio_util::sync::CancellationToken;

use crate::retry::Backoff;
use crate::sinks::WriteError;
use crate::sinks::schema::{self, DAILY_BARS, INTRADAY_BARS, OPTION_QUOTES, TableDef};
use crate::stages::write::Rows;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "no database configured: set sinks.postgres (with its URL in the environment) or sinks.sqlite"
    )]
    NotConfigured,
    #[error("environment variable {0} (the database URL) is not set")]
    MissingUrl(String),
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
    /// The database the config names: SQLite if `sinks.sqlite` is set, else PostgreSQL at
    /// the URL in the environment variable `sinks.postgres.urlEnv` names.
    pub fn from_config(config: &RuntimeConfig) -> Result<Database, DbError> {
        if let Some(sqlite) = &config.sinks.sqlite {
            return Database::open(&sqlite.path);
        }
        let pg = config
            .sinks
            .postgres
            .as_ref()
            .ok_or(DbError::NotConfigured)?;
        let url =
            std::env::var(&pg.url_env).map_err(|_| DbError::MissingUrl(pg.url_env.clone()))?;
        Database::open(&url)
    }

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

    /// The database the config names, its migrations applied (waiting for it while it
    /// cannot be reached, until `stop`): where a role on the database starts.
    pub async fn migrated(
        config: &RuntimeConfig,
        stop: &CancellationToken,
    ) -> Result<Database, DbError> {
        let database = Database::from_config(config)?;
        database.migrate_when_reachable(stop).await?;
        Ok(database)
    }

    /// Applies the migrations, waiting (with backoff) while the database cannot be reached,
    /// until `stop`.
    pub async fn migrate_when_reachable(&self, stop: &CancellationToken) -> Result<(), DbError> {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        loop {
            match self.migrate().await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_unavailable() && !stop.is_cancelled() => {
                    let wait = backoff.next_delay();
                    tracing::warn!(error = %e, ?wait, "the database is not reachable yet; waiting");
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stop.cancelled() => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Begins a transaction.
    pub async fn begin(&self) -> Result<Transaction, sqlx::Error> {
        Ok(match self {
            Database::Postgres(db) => Transaction::Postgres(db.begin().await?),
            Database::Sqlite(db) => Transaction::Sqlite(db.begin().await?),
        })
    }

    /// Upserts the rows in one transaction: all of them or none.
    pub async fn write(&self, rows: &Rows) -> Result<(), WriteError> {
        if rows.is_empty() {
            return Ok(());
        }
        let result = async {
            let mut tx = self.begin().await?;
            tx.upsert(&DAILY_BARS, &rows.daily_bars).await?;
            tx.upsert(&INTRADAY_BARS, &rows.intraday_bars).await?;
            tx.upsert(&OPTION_QUOTES, &rows.option_quotes).await?;
            tx.refresh_summary(rows).await?;
            tx.commit().await
        };
        result.await.map_err(|e| classify(self.kind(), e))
    }

    /// Rows in one of optionsflow's tables (0 for another name).
    pub async fn count_rows(&self, table: &'static str) -> Result<i64, DbError> {
        if !schema::shapes().iter().any(|s| s.name == table) {
            return Ok(0);
        }
        // The name is one of the schema's own, never input.
        let sql = format!("SELECT count(*) FROM {table}");
        let n = match self {
            Database::Postgres(db) => {
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                    .fetch_one(db.pool())
                    .await
            }
            Database::Sqlite(db) => {
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                    .fetch_one(db.pool())
                    .await
            }
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

/// A transaction on either database: the upserts of one batch, all stored or none.
pub enum Transaction {
    Postgres(postgres::PgTransaction),
    Sqlite(sqlite::SqliteTransaction),
}

impl Transaction {
    /// Upserts `rows` into `table` (nothing for no rows).
    pub async fn upsert<R>(&mut self, table: &TableDef<R>, rows: &[R]) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        match self {
            Transaction::Postgres(tx) => tx.upsert(table, rows).await,
            Transaction::Sqlite(tx) => tx.upsert(table, rows).await,
        }
    }

    /// Brings the `symbols` summary up to date for the batch's symbols, in this transaction.
    pub async fn refresh_summary(&mut self, rows: &Rows) -> Result<(), sqlx::Error> {
        match self {
            Transaction::Postgres(tx) => tx.refresh_summary(rows).await,
            Transaction::Sqlite(tx) => tx.refresh_summary(rows).await,
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Transaction::Postgres(tx) => tx.commit().await,
            Transaction::Sqlite(tx) => tx.commit().await,
        }
    }
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
