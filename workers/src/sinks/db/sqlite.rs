//! SQLite, the database of one machine: the same tables and the same idempotent upserts as
//! PostgreSQL, as multi-row `INSERT ... ON CONFLICT DO UPDATE` statements in one
//! transaction. Times are stored as fixed-width UTC text (`2024-11-25T14:30:00.000000Z`),
//! so comparing text compares times; flags are comma-separated.

use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use optionsflow_api::records::QualityFlag;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite as Db};

use super::{ACQUIRE_TIMEOUT, quoted};
use crate::stages::write::{Rows, Table};

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

    pub async fn write(&self, rows: &Rows) -> Result<(), sqlx::Error> {
        // IMMEDIATE takes the write lock at once, so two writers queue instead of failing
        // when both try to upgrade a read lock.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let statements = [
            (Table::DailyBars, rows.daily_bars.len()),
            (Table::IntradayBars, rows.intraday_bars.len()),
            (Table::OptionQuotes, rows.option_quotes.len()),
        ];
        for (table, count) in statements {
            let per_statement = MAX_PARAMETERS / table.columns().len();
            let mut start = 0;
            while start < count {
                let end = (start + per_statement).min(count);
                let sql = sql(table);
                let mut q = QueryBuilder::<Db>::new(sql.insert.as_str());
                match table {
                    Table::DailyBars => q.push_values(&rows.daily_bars[start..end], |mut b, r| {
                        b.push_bind(&r.symbol)
                            .push_bind(r.trade_date.to_string())
                            .push_bind(time(&r.bar_time))
                            .push_bind(r.open)
                            .push_bind(r.high)
                            .push_bind(r.low)
                            .push_bind(r.close)
                            .push_bind(r.volume)
                            .push_bind(r.source.as_str())
                            .push_bind(r.fetched_at.as_ref().map(time))
                            .push_bind(joined(&r.flags));
                    }),
                    Table::IntradayBars => {
                        q.push_values(&rows.intraday_bars[start..end], |mut b, r| {
                            b.push_bind(&r.symbol)
                                .push_bind(r.interval.as_str())
                                .push_bind(time(&r.bar_time))
                                .push_bind(r.trade_date.to_string())
                                .push_bind(r.open)
                                .push_bind(r.high)
                                .push_bind(r.low)
                                .push_bind(r.close)
                                .push_bind(r.volume)
                                .push_bind(r.source.as_str())
                                .push_bind(r.fetched_at.as_ref().map(time))
                                .push_bind(joined(&r.flags));
                        })
                    }
                    Table::OptionQuotes => {
                        q.push_values(&rows.option_quotes[start..end], |mut b, r| {
                            b.push_bind(&r.contract)
                                .push_bind(time(&r.snapshot_time))
                                .push_bind(&r.underlying)
                                .push_bind(&r.root)
                                .push_bind(r.expiry.to_string())
                                .push_bind(r.right.as_str())
                                .push_bind(r.strike)
                                .push_bind(r.bid)
                                .push_bind(r.ask)
                                .push_bind(r.last)
                                .push_bind(r.volume)
                                .push_bind(r.open_interest)
                                .push_bind(r.provider_iv)
                                .push_bind(r.underlying_price)
                                .push_bind(r.mid)
                                .push_bind(r.spread)
                                .push_bind(r.moneyness)
                                .push_bind(r.log_moneyness)
                                .push_bind(r.forward)
                                .push_bind(r.years_to_expiry)
                                .push_bind(r.rate)
                                .push_bind(r.dividend_yield)
                                .push_bind(r.iv)
                                .push_bind(r.delta)
                                .push_bind(r.gamma)
                                .push_bind(r.theta)
                                .push_bind(r.vega)
                                .push_bind(r.rho)
                                .push_bind(r.iv_status.as_str())
                                .push_bind(r.otm)
                                .push_bind(r.exercise.as_str())
                                .push_bind(r.source.as_str())
                                .push_bind(joined(&r.flags));
                        })
                    }
                };
                q.push(sql.conflict.as_str());
                q.build().execute(&mut *tx).await?;
                start = end;
            }
        }
        refresh_summary(&mut tx, rows).await?;
        tx.commit().await
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

fn joined(flags: &[QualityFlag]) -> String {
    flags
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

struct TableSql {
    insert: String,
    conflict: String,
}

fn sql(table: Table) -> &'static TableSql {
    static SQL: LazyLock<[TableSql; 3]> = LazyLock::new(|| Table::ALL.map(table_sql));
    &SQL[Table::ALL
        .iter()
        .position(|t| *t == table)
        .expect("a table")]
}

fn table_sql(table: Table) -> TableSql {
    let name = table.as_str();
    let others = table.value_columns();
    let set = others
        .iter()
        .map(|c| format!("\"{c}\" = excluded.\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut conflict = format!(
        " ON CONFLICT ({}) DO UPDATE SET {set} WHERE ({}) IS NOT ({})",
        quoted(table.key(), ""),
        quoted(&others, &format!("{name}.")),
        quoted(&others, "excluded.")
    );
    // Times are fixed-width text, so text order is time order.
    if let Some(t) = table.source_time() {
        conflict.push_str(&format!(
            " AND ({name}.\"{t}\" IS NULL OR excluded.\"{t}\" >= {name}.\"{t}\")"
        ));
    }
    TableSql {
        insert: format!("INSERT INTO {name} ({}) ", quoted(table.columns(), "")),
        conflict,
    }
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
