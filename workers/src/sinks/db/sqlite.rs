//! SQLite, the database of one machine: the same tables and the same idempotent upserts as
//! PostgreSQL, as multi-row `INSERT ... ON CONFLICT DO UPDATE` statements in one
//! transaction. Times are stored as fixed-width UTC text (`2024-11-25T14:30:00.000000Z`),
//! so comparing text compares times; flags are comma-separated.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite as Db};

use super::ACQUIRE_TIMEOUT;
use super::sql::{Dialect, quoted};
use crate::sinks::schema::{Kind, TableDef};
use crate::stages::write::Rows;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// SQLite allows 32,766 parameters per statement.
const MAX_PARAMETERS: usize = 32_000;

#[derive(Clone, Debug)]
pub struct Sqlite {
    pool: SqlitePool,
    /// The database file (empty for an in-memory database).
    path: std::path::PathBuf,
}

impl Sqlite {
    pub fn open(url: &str) -> Result<Sqlite, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed batch survives a power cut, as the offset committed after it
            // assumes (NORMAL in WAL mode may lose the last transactions).
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30));
        let path = options.get_filename().to_owned();
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Sqlite { pool, path })
    }

    /// Applies the migrations. sqlx takes no lock on SQLite, so two processes starting at once
    /// are serialised here, with an exclusive lock on a file beside the database.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        let lock =
            if self.path.as_os_str().is_empty() || self.path == std::path::Path::new(":memory:") {
                None
            } else {
                let mut name = self.path.clone().into_os_string();
                name.push(".migrate-lock");
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&name)
                    .map_err(|e| sqlx::migrate::MigrateError::Source(Box::new(e)))?;
                let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
                    .await
                    .expect("the lock task does not panic")
                    .map_err(|e| sqlx::migrate::MigrateError::Source(Box::new(e)))?;
                Some(file)
            };
        let result = MIGRATOR.run(&self.pool).await;
        drop(lock);
        result
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Begins a transaction that holds SQLite's write lock from the start (IMMEDIATE), so
    /// two writers queue instead of failing when both try to upgrade a read lock.
    pub async fn begin(&self) -> Result<SqliteTransaction, sqlx::Error> {
        Ok(SqliteTransaction(
            self.pool.begin_with("BEGIN IMMEDIATE").await?,
        ))
    }
}

/// A transaction on SQLite.
pub struct SqliteTransaction(sqlx::Transaction<'static, Db>);

impl SqliteTransaction {
    /// Upserts `rows` into `table`: multi-row inserts of as many rows as SQLite's parameter
    /// limit allows.
    pub async fn upsert<R>(&mut self, table: &TableDef<R>, rows: &[R]) -> Result<(), sqlx::Error> {
        let insert = format!(
            "INSERT INTO {} ({}) ",
            table.name,
            quoted(&table.names(), "")
        );
        let conflict = Dialect::Sqlite.on_conflict(table);
        for chunk in rows.chunks(MAX_PARAMETERS / table.columns.len()) {
            let mut q = QueryBuilder::<Db>::new(insert.as_str());
            q.push_values(chunk, |mut b, r| {
                for c in table.columns {
                    let value = (c.get)(r);
                    match c.kind {
                        Kind::Text => b.push_bind(value.text()),
                        Kind::Date => b.push_bind(value.date().map(|d| d.to_string())),
                        Kind::Time => b.push_bind(value.time().as_ref().map(time)),
                        Kind::BigInt | Kind::Int => b.push_bind(value.int()),
                        Kind::Float => b.push_bind(value.float()),
                        Kind::Bool => b.push_bind(value.bool()),
                        Kind::Flags => b.push_bind(value.joined_flags(",")),
                    };
                }
            });
            q.push(conflict.as_str());
            q.build().execute(&mut *self.0).await?;
        }
        Ok(())
    }

    /// Brings the `symbols` summary up to date for the batch's symbols.
    pub async fn refresh_summary(&mut self, rows: &Rows) -> Result<(), sqlx::Error> {
        refresh_summary(&mut self.0, rows).await
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.0.commit().await
    }
}

/// Brings the `symbols` summary up to date for the batch's symbols, in the batch's
/// transaction (which holds SQLite's one write lock, so counts cannot race).
async fn refresh_summary(
    conn: &mut sqlx::SqliteConnection,
    rows: &Rows,
) -> Result<(), sqlx::Error> {
    let touched = rows.touched();
    for symbol in &touched.all {
        sqlx::query("INSERT INTO symbols (symbol) VALUES (?1) ON CONFLICT (symbol) DO NOTHING")
            .bind(symbol)
            .execute(&mut *conn)
            .await?;
    }
    for (symbols, table, column) in [
        (&touched.daily, "daily_bars", "daily_bars"),
        (&touched.intraday, "intraday_bars", "intraday_bars"),
    ] {
        for symbol in symbols {
            let sql = format!(
                "UPDATE symbols SET {column} = (SELECT count(*) FROM {table} WHERE symbol = ?1) \
                 WHERE symbol = ?1"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(symbol)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// A time as stored: UTC, microseconds, fixed width (PostgreSQL keeps microseconds too).
pub fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn times_are_fixed_width_so_text_order_is_time_order() {
        let whole = Utc.with_ymd_and_hms(2024, 11, 25, 14, 30, 0).unwrap();
        let later = whole + chrono::Duration::nanoseconds(1_500);
        assert_eq!(time(&whole), "2024-11-25T14:30:00.000000Z");
        assert_eq!(time(&later), "2024-11-25T14:30:00.000001Z");
        assert!(time(&whole) < time(&later));
    }
}
