//! PostgreSQL: upserts of a batch's rows in one transaction.
//!
//! Each table is written with one statement whose parameters are one array per column
//! (`INSERT ... SELECT FROM UNNEST(...) ON CONFLICT (key) DO UPDATE`), or, with
//! [`UpsertMethod::CopyMerge`], with `COPY` into a temporary table and one
//! `INSERT ... SELECT ... ON CONFLICT` from it. A conflicting row is only rewritten when
//! something in it differs, so a redelivered batch writes nothing at all. The SQL is made
//! from the table descriptors ([`crate::sinks::schema`]); values are always parameters or
//! `COPY` data, never SQL text.

use std::fmt::Write as _;
use std::str::FromStr;

use chrono::SecondsFormat;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, PgConnection};

use super::sql::{Dialect, quoted};
use super::{ACQUIRE_TIMEOUT, UpsertMethod};
use crate::sinks::schema::{Kind, OnConflict, TableDef, Value};
use crate::stages::write::Rows;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone, Debug)]
pub struct Postgres {
    pool: PgPool,
    method: UpsertMethod,
}

impl Postgres {
    pub fn open(url: &str) -> Result<Postgres, sqlx::Error> {
        // Safety nets: a transaction left open (its client died or hung) is ended by the
        // server, and a writer waiting on its row locks gives up and tries again, rather
        // than either waiting forever.
        let options = PgConnectOptions::from_str(url)?
            .application_name("optionsflow")
            .options([
                ("lock_timeout", "30s"),
                ("idle_in_transaction_session_timeout", "60s"),
            ]);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Postgres {
            pool,
            method: UpsertMethod::default(),
        })
    }

    /// The same database, with statements cancelled by the server after `limit` (the API's
    /// reads: one slow query must not hold a connection, or the server, for long).
    pub fn with_statement_timeout(self, limit: std::time::Duration) -> Postgres {
        let options = (*self.pool.connect_options())
            .clone()
            .options([("statement_timeout", format!("{}ms", limit.as_millis()))]);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Postgres { pool, ..self }
    }

    pub fn with_method(mut self, method: UpsertMethod) -> Postgres {
        self.method = method;
        self
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Begins a transaction that upserts as this database's method says.
    pub async fn begin(&self) -> Result<PgTransaction, sqlx::Error> {
        Ok(PgTransaction {
            tx: self.pool.begin().await?,
            method: self.method,
        })
    }
}

/// A transaction on PostgreSQL.
pub struct PgTransaction {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    method: UpsertMethod,
}

impl PgTransaction {
    /// Upserts `rows` into `table`.
    pub async fn upsert<R>(&mut self, table: &TableDef<R>, rows: &[R]) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        match (self.method, table.on_conflict) {
            // A row that is only ever inserted once gains nothing from COPY's detour.
            (UpsertMethod::Unnest, _) | (_, OnConflict::Ignore) => {
                bind_columns(sqlx::query(AssertSqlSafe(unnest_sql(table))), table, rows)?
                    .execute(&mut *self.tx)
                    .await?;
            }
            (UpsertMethod::CopyMerge, _) => {
                copy_merge(&mut self.tx, table, copy_data(table, rows)).await?;
            }
        }
        Ok(())
    }

    /// Brings the `symbols` summary up to date for the batch's symbols.
    pub async fn refresh_summary(&mut self, rows: &Rows) -> Result<(), sqlx::Error> {
        refresh_summary(&mut self.tx, rows).await
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

/// Brings the `symbols` summary up to date for the batch's symbols, in the batch's
/// transaction. The rows are locked in symbol order first (writers wait for each other, and
/// cannot deadlock); each count is then taken by a statement that starts after the lock was
/// granted, so it sees every batch committed before, and the last writer's count is right.
async fn refresh_summary(conn: &mut PgConnection, rows: &Rows) -> Result<(), sqlx::Error> {
    let touched = rows.touched();
    if touched.all.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO symbols (symbol) SELECT s FROM UNNEST($1::text[]) AS s ORDER BY s \
         ON CONFLICT (symbol) DO NOTHING",
    )
    .bind(&touched.all)
    .execute(&mut *conn)
    .await?;
    sqlx::query("SELECT 1 FROM symbols WHERE symbol = ANY($1) ORDER BY symbol FOR UPDATE")
        .bind(&touched.all)
        .execute(&mut *conn)
        .await?;
    for (symbols, table, column) in [
        (&touched.daily, "daily_bars", "daily_bars"),
        (&touched.intraday, "intraday_bars", "intraday_bars"),
    ] {
        if symbols.is_empty() {
            continue;
        }
        let sql = format!(
            "UPDATE symbols s SET {column} = (SELECT count(*) FROM {table} t WHERE t.symbol = s.symbol) \
             WHERE s.symbol = ANY($1)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(symbols)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// `COPY`s the rows into the table's temporary twin, then merges them in.
async fn copy_merge<R>(
    conn: &mut PgConnection,
    table: &TableDef<R>,
    data: Vec<u8>,
) -> Result<(), sqlx::Error> {
    let name = table.name;
    let list = quoted(&table.names(), "");
    sqlx::query(AssertSqlSafe(format!(
        "CREATE TEMP TABLE IF NOT EXISTS {name}_incoming \
         (LIKE {name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )))
    .execute(&mut *conn)
    .await?;
    let mut copy = conn
        .copy_in_raw(&format!("COPY {name}_incoming ({list}) FROM STDIN"))
        .await?;
    if let Err(e) = copy.send(data).await {
        let _ = copy.abort(e.to_string()).await;
        return Err(e);
    }
    copy.finish().await?;
    let merge = format!(
        "INSERT INTO {name} ({list}) SELECT {list} FROM {name}_incoming{}",
        Dialect::Postgres.on_conflict(table)
    );
    sqlx::query(AssertSqlSafe(merge))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `INSERT ... SELECT FROM UNNEST(one array per column) ON CONFLICT ...`. Flags travel as
/// one comma-joined string per row.
fn unnest_sql<R>(table: &TableDef<R>) -> String {
    let name = table.name;
    let list = quoted(&table.names(), "");
    let arrays = table
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("${}::{}[]", i + 1, c.kind.postgres().1))
        .collect::<Vec<_>>()
        .join(", ");
    let selected = table
        .columns
        .iter()
        .map(|c| match c.kind {
            Kind::Flags => format!(
                "CASE WHEN u.\"{0}\" = '' THEN '{{}}'::text[] \
                 ELSE string_to_array(u.\"{0}\", ',') END",
                c.name
            ),
            _ => format!("u.\"{}\"", c.name),
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO {name} ({list}) SELECT {selected} FROM UNNEST({arrays}) AS u({list}){}",
        Dialect::Postgres.on_conflict(table)
    )
}

type PgQuery<'q> = Query<'q, sqlx::Postgres, PgArguments>;

/// Binds one array per column, of the column's type, in column order.
fn bind_columns<'q, R>(
    mut q: PgQuery<'q>,
    table: &TableDef<R>,
    rows: &[R],
) -> Result<PgQuery<'q>, sqlx::Error> {
    for c in table.columns {
        let values = rows.iter().map(|r| (c.get)(r));
        q = match c.kind {
            Kind::Text => q.bind(values.map(Value::text).collect::<Vec<_>>()),
            Kind::Date => q.bind(values.map(Value::date).collect::<Vec<_>>()),
            Kind::Time => q.bind(values.map(Value::time).collect::<Vec<_>>()),
            Kind::BigInt => q.bind(values.map(Value::int).collect::<Vec<_>>()),
            Kind::Int => q.bind(
                values
                    .map(|v| v.int().map(i32::try_from).transpose())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| sqlx::Error::Encode(Box::new(e)))?,
            ),
            Kind::Float => q.bind(values.map(Value::float).collect::<Vec<_>>()),
            Kind::Bool => q.bind(values.map(Value::bool).collect::<Vec<_>>()),
            Kind::Flags => q.bind(values.map(|v| v.joined_flags(",")).collect::<Vec<_>>()),
        };
    }
    Ok(q)
}

/// A table's rows in `COPY ... FROM STDIN` text format, in the descriptor's column order
/// (also what the benchmark feeds `psql \copy`): tab-separated, `\N` for null, one line
/// per row.
pub fn copy_data<R>(table: &TableDef<R>, rows: &[R]) -> Vec<u8> {
    let mut out = String::new();
    for r in rows {
        for (i, c) in table.columns.iter().enumerate() {
            if i > 0 {
                out.push('\t');
            }
            copy_field(&mut out, (c.get)(r));
        }
        out.push('\n');
    }
    out.into_bytes()
}

fn copy_field(out: &mut String, value: Value) {
    match value {
        Value::Null => out.push_str("\\N"),
        Value::Text(v) => {
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
        Value::Date(d) => {
            let _ = write!(out, "{d}");
        }
        Value::Time(t) => out.push_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            let _ = write!(out, "{f}");
        }
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        flags @ Value::Flags(_) => {
            let _ = write!(out, "{{{}}}", flags.joined_flags(","));
        }
    }
}

#[cfg(test)]
mod tests {
    use optionsflow_api::records::QualityFlag;

    use super::*;
    use crate::sinks::schema::{DAILY_BARS, OPTION_QUOTES};

    #[test]
    fn the_upsert_names_every_column_once_in_one_array_each() {
        let s = unnest_sql(&DAILY_BARS);
        assert!(
            s.starts_with(
                "INSERT INTO daily_bars (\"symbol\", \"trade_date\", \"bar_time\", \"open\", \"high\", \
                 \"low\", \"close\", \"volume\", \"source\", \"fetched_at\", \"flags\") SELECT"
            ),
            "{s}"
        );
        assert!(
            s.contains("UNNEST($1::text[], $2::date[], $3::timestamptz[], $4::float8[]"),
            "{s}"
        );
        assert!(
            s.contains("ON CONFLICT (\"symbol\", \"trade_date\") DO UPDATE"),
            "{s}"
        );
        let q = unnest_sql(&OPTION_QUOTES);
        assert!(q.contains("$33::text[]") && !q.contains("$34"), "{q}");
        assert!(
            q.contains("$30::bool[]") && q.contains("$11::int8[]"),
            "{q}"
        );
    }

    #[test]
    fn copy_text_escapes_separators_and_writes_nulls() {
        let mut out = String::new();
        copy_field(&mut out, Value::Text("a\tb\\c\nd"));
        out.push('\t');
        copy_field(&mut out, Value::Null);
        out.push('\t');
        copy_field(&mut out, Value::Float(1.5));
        out.push('\t');
        copy_field(
            &mut out,
            Value::Flags(&[QualityFlag::NoBid, QualityFlag::NoAsk]),
        );
        assert_eq!(out, "a\\tb\\\\c\\nd\t\\N\t1.5\t{no_bid,no_ask}");
    }
}
