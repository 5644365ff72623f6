//! PostgreSQL: upserts of a batch's rows in one transaction.
//!
//! Each table is written with one statement whose parameters are one array per column
//! (`INSERT ... SELECT FROM UNNEST(...) ON CONFLICT (key) DO UPDATE`), or, with
//! [`UpsertMethod::CopyMerge`], with `COPY` into a temporary table and one
//! `INSERT ... SELECT ... ON CONFLICT` from it. A conflicting row is only rewritten when
//! something in it differs, so a redelivered batch writes nothing at all. The SQL is made
//! once from the column lists in [`crate::stages::write`]; values are always parameters or
//! `COPY` data, never SQL text.

use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::LazyLock;

use chrono::SecondsFormat;
use optionsflow_api::records::{BarRecord, OptionQuoteRecord, QualityFlag};
use sqlx::PgConnection;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::query::Query;

use super::{ACQUIRE_TIMEOUT, UpsertMethod, quoted};
use crate::stages::write::{Rows, Table};

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

    pub async fn write(&self, rows: &Rows) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        match self.method {
            UpsertMethod::Unnest => {
                if !rows.daily_bars.is_empty() {
                    bind_daily(
                        sqlx::query(sql(Table::DailyBars).unnest.as_str()),
                        &rows.daily_bars,
                    )
                    .execute(&mut *tx)
                    .await?;
                }
                if !rows.intraday_bars.is_empty() {
                    bind_intraday(
                        sqlx::query(sql(Table::IntradayBars).unnest.as_str()),
                        &rows.intraday_bars,
                    )
                    .execute(&mut *tx)
                    .await?;
                }
                if !rows.option_quotes.is_empty() {
                    bind_quotes(
                        sqlx::query(sql(Table::OptionQuotes).unnest.as_str()),
                        &rows.option_quotes,
                    )
                    .execute(&mut *tx)
                    .await?;
                }
            }
            UpsertMethod::CopyMerge => {
                for table in Table::ALL {
                    let data = copy_data(rows, table);
                    if !data.is_empty() {
                        copy_merge(&mut tx, table, data).await?;
                    }
                }
            }
        }
        refresh_summary(&mut tx, rows).await?;
        tx.commit().await
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
async fn copy_merge(
    conn: &mut PgConnection,
    table: Table,
    data: Vec<u8>,
) -> Result<(), sqlx::Error> {
    let sql = sql(table);
    sqlx::query(sql.create_incoming.as_str())
        .execute(&mut *conn)
        .await?;
    let mut copy = conn.copy_in_raw(sql.copy.as_str()).await?;
    if let Err(e) = copy.send(data).await {
        let _ = copy.abort(e.to_string()).await;
        return Err(e);
    }
    copy.finish().await?;
    sqlx::query(sql.merge.as_str()).execute(&mut *conn).await?;
    Ok(())
}

/// The statements of one table.
struct TableSql {
    unnest: String,
    create_incoming: String,
    copy: String,
    merge: String,
}

fn sql(table: Table) -> &'static TableSql {
    static SQL: LazyLock<[TableSql; 3]> = LazyLock::new(|| Table::ALL.map(table_sql));
    &SQL[Table::ALL
        .iter()
        .position(|t| *t == table)
        .expect("a table")]
}

/// A column's type as bound in UNNEST or read by COPY (flags travel as one joined string).
fn pg_type(column: &str) -> &'static str {
    match column {
        "trade_date" | "expiry" => "date",
        "bar_time" | "snapshot_time" | "fetched_at" => "timestamptz",
        "volume" | "open_interest" => "int8",
        "symbol" | "interval" | "contract" | "underlying" | "root" | "right" | "iv_status"
        | "exercise" | "source" | "flags" => "text",
        "otm" => "bool",
        _ => "float8",
    }
}

fn table_sql(table: Table) -> TableSql {
    let name = table.as_str();
    let columns = table.columns();
    let list = quoted(columns, "");
    let key = quoted(table.key(), "");
    let others = table.value_columns();
    let mut conflict = format!("ON CONFLICT ({key}) DO UPDATE SET ");
    for (i, c) in others.iter().enumerate() {
        let _ = write!(
            conflict,
            "{}\"{c}\" = EXCLUDED.\"{c}\"",
            if i > 0 { ", " } else { "" }
        );
    }
    let _ = write!(
        conflict,
        " WHERE ({}) IS DISTINCT FROM ({})",
        quoted(&others, &format!("{name}.")),
        quoted(&others, "EXCLUDED.")
    );
    if let Some(t) = table.source_time() {
        let _ = write!(
            conflict,
            " AND ({name}.\"{t}\" IS NULL OR EXCLUDED.\"{t}\" >= {name}.\"{t}\")"
        );
    }

    let arrays = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("${}::{}[]", i + 1, pg_type(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let selected = columns
        .iter()
        .map(|c| match *c {
            "flags" => "CASE WHEN u.\"flags\" = '' THEN '{}'::text[] \
                        ELSE string_to_array(u.\"flags\", ',') END"
                .to_owned(),
            c => format!("u.\"{c}\""),
        })
        .collect::<Vec<_>>()
        .join(", ");
    TableSql {
        unnest: format!(
            "INSERT INTO {name} ({list}) SELECT {selected} FROM UNNEST({arrays}) AS u({list}) {conflict}"
        ),
        create_incoming: format!(
            "CREATE TEMP TABLE IF NOT EXISTS {name}_incoming \
             (LIKE {name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        ),
        copy: format!("COPY {name}_incoming ({list}) FROM STDIN"),
        merge: format!("INSERT INTO {name} ({list}) SELECT {list} FROM {name}_incoming {conflict}"),
    }
}

type PgQuery<'q> = Query<'q, sqlx::Postgres, PgArguments>;

fn col<'a, T, U>(rows: &'a [T], f: impl Fn(&'a T) -> U) -> Vec<U> {
    rows.iter().map(f).collect()
}

fn joined(flags: &[QualityFlag]) -> String {
    flags
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

// The binds follow `DAILY_BAR_COLUMNS`, `INTRADAY_BAR_COLUMNS` and `QUOTE_COLUMNS` in order;
// tests/write_db.rs reads every column back.

fn bind_daily<'q>(q: PgQuery<'q>, rows: &'q [BarRecord]) -> PgQuery<'q> {
    q.bind(col(rows, |r| r.symbol.as_str()))
        .bind(col(rows, |r| r.trade_date))
        .bind(col(rows, |r| r.bar_time))
        .bind(col(rows, |r| r.open))
        .bind(col(rows, |r| r.high))
        .bind(col(rows, |r| r.low))
        .bind(col(rows, |r| r.close))
        .bind(col(rows, |r| r.volume))
        .bind(col(rows, |r| r.source.as_str()))
        .bind(col(rows, |r| r.fetched_at))
        .bind(col(rows, |r| joined(&r.flags)))
}

fn bind_intraday<'q>(q: PgQuery<'q>, rows: &'q [BarRecord]) -> PgQuery<'q> {
    q.bind(col(rows, |r| r.symbol.as_str()))
        .bind(col(rows, |r| r.interval.as_str()))
        .bind(col(rows, |r| r.bar_time))
        .bind(col(rows, |r| r.trade_date))
        .bind(col(rows, |r| r.open))
        .bind(col(rows, |r| r.high))
        .bind(col(rows, |r| r.low))
        .bind(col(rows, |r| r.close))
        .bind(col(rows, |r| r.volume))
        .bind(col(rows, |r| r.source.as_str()))
        .bind(col(rows, |r| r.fetched_at))
        .bind(col(rows, |r| joined(&r.flags)))
}

fn bind_quotes<'q>(q: PgQuery<'q>, rows: &'q [OptionQuoteRecord]) -> PgQuery<'q> {
    q.bind(col(rows, |r| r.contract.as_str()))
        .bind(col(rows, |r| r.snapshot_time))
        .bind(col(rows, |r| r.underlying.as_str()))
        .bind(col(rows, |r| r.root.as_str()))
        .bind(col(rows, |r| r.expiry))
        .bind(col(rows, |r| r.right.as_str()))
        .bind(col(rows, |r| r.strike))
        .bind(col(rows, |r| r.bid))
        .bind(col(rows, |r| r.ask))
        .bind(col(rows, |r| r.last))
        .bind(col(rows, |r| r.volume))
        .bind(col(rows, |r| r.open_interest))
        .bind(col(rows, |r| r.provider_iv))
        .bind(col(rows, |r| r.underlying_price))
        .bind(col(rows, |r| r.mid))
        .bind(col(rows, |r| r.spread))
        .bind(col(rows, |r| r.moneyness))
        .bind(col(rows, |r| r.log_moneyness))
        .bind(col(rows, |r| r.forward))
        .bind(col(rows, |r| r.years_to_expiry))
        .bind(col(rows, |r| r.rate))
        .bind(col(rows, |r| r.dividend_yield))
        .bind(col(rows, |r| r.iv))
        .bind(col(rows, |r| r.delta))
        .bind(col(rows, |r| r.gamma))
        .bind(col(rows, |r| r.theta))
        .bind(col(rows, |r| r.vega))
        .bind(col(rows, |r| r.rho))
        .bind(col(rows, |r| r.iv_status.as_str()))
        .bind(col(rows, |r| r.otm))
        .bind(col(rows, |r| r.exercise.as_str()))
        .bind(col(rows, |r| r.source.as_str()))
        .bind(col(rows, |r| joined(&r.flags)))
}

/// A table's rows in `COPY ... FROM STDIN` text format, in table column order (also what the
/// benchmark feeds `psql \copy`).
pub fn copy_data(rows: &Rows, table: Table) -> Vec<u8> {
    match table {
        Table::DailyBars => copy_daily(&rows.daily_bars),
        Table::IntradayBars => copy_intraday(&rows.intraday_bars),
        Table::OptionQuotes => copy_quotes(&rows.option_quotes),
    }
}

/// Rows in `COPY`'s text format: tab-separated, `\N` for null, one line per row.
#[derive(Default)]
struct CopyText(String);

impl CopyText {
    fn text(&mut self, v: &str) -> &mut Self {
        for c in v.chars() {
            match c {
                '\\' => self.0.push_str("\\\\"),
                '\t' => self.0.push_str("\\t"),
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                c => self.0.push(c),
            }
        }
        self.0.push('\t');
        self
    }

    fn value(&mut self, v: impl std::fmt::Display) -> &mut Self {
        let _ = write!(self.0, "{v}\t");
        self
    }

    fn opt(&mut self, v: Option<impl std::fmt::Display>) -> &mut Self {
        match v {
            Some(v) => self.value(v),
            None => {
                self.0.push_str("\\N\t");
                self
            }
        }
    }

    fn time(&mut self, t: &chrono::DateTime<chrono::Utc>) -> &mut Self {
        self.value(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    fn opt_time(&mut self, t: Option<&chrono::DateTime<chrono::Utc>>) -> &mut Self {
        self.opt(t.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true)))
    }

    /// The row's last field, an array literal of flags.
    fn flags(&mut self, flags: &[QualityFlag]) {
        self.0.push('{');
        self.0.push_str(&joined(flags));
        self.0.push_str("}\n");
    }

    fn into_bytes(self) -> Vec<u8> {
        self.0.into_bytes()
    }
}

fn copy_daily(rows: &[BarRecord]) -> Vec<u8> {
    let mut out = CopyText::default();
    for r in rows {
        out.text(&r.symbol)
            .value(r.trade_date)
            .time(&r.bar_time)
            .value(r.open)
            .value(r.high)
            .value(r.low)
            .value(r.close)
            .opt(r.volume)
            .text(r.source.as_str())
            .opt_time(r.fetched_at.as_ref())
            .flags(&r.flags);
    }
    out.into_bytes()
}

fn copy_intraday(rows: &[BarRecord]) -> Vec<u8> {
    let mut out = CopyText::default();
    for r in rows {
        out.text(&r.symbol)
            .text(r.interval.as_str())
            .time(&r.bar_time)
            .value(r.trade_date)
            .value(r.open)
            .value(r.high)
            .value(r.low)
            .value(r.close)
            .opt(r.volume)
            .text(r.source.as_str())
            .opt_time(r.fetched_at.as_ref())
            .flags(&r.flags);
    }
    out.into_bytes()
}

fn copy_quotes(rows: &[OptionQuoteRecord]) -> Vec<u8> {
    let mut out = CopyText::default();
    for r in rows {
        out.text(&r.contract)
            .time(&r.snapshot_time)
            .text(&r.underlying)
            .text(&r.root)
            .value(r.expiry)
            .text(r.right.as_str())
            .value(r.strike)
            .opt(r.bid)
            .opt(r.ask)
            .opt(r.last)
            .opt(r.volume)
            .opt(r.open_interest)
            .opt(r.provider_iv)
            .opt(r.underlying_price)
            .opt(r.mid)
            .opt(r.spread)
            .opt(r.moneyness)
            .opt(r.log_moneyness)
            .opt(r.forward)
            .value(r.years_to_expiry)
            .value(r.rate)
            .value(r.dividend_yield)
            .opt(r.iv)
            .opt(r.delta)
            .opt(r.gamma)
            .opt(r.theta)
            .opt(r.vega)
            .opt(r.rho)
            .text(r.iv_status.as_str())
            .opt(r.otm)
            .text(r.exercise.as_str())
            .text(r.source.as_str())
            .flags(&r.flags);
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upsert_names_every_column_once_and_rewrites_only_changed_rows() {
        let s = &sql(Table::DailyBars).unnest;
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
        assert!(s.contains("ON CONFLICT (\"symbol\", \"trade_date\") DO UPDATE SET \"bar_time\" = EXCLUDED.\"bar_time\""), "{s}");
        assert!(s.ends_with(
            "WHERE (daily_bars.\"bar_time\", daily_bars.\"open\", daily_bars.\"high\", daily_bars.\"low\", \
             daily_bars.\"close\", daily_bars.\"volume\", daily_bars.\"source\", daily_bars.\"fetched_at\", \
             daily_bars.\"flags\") IS DISTINCT FROM \
             (EXCLUDED.\"bar_time\", EXCLUDED.\"open\", EXCLUDED.\"high\", EXCLUDED.\"low\", EXCLUDED.\"close\", \
             EXCLUDED.\"volume\", EXCLUDED.\"source\", EXCLUDED.\"fetched_at\", EXCLUDED.\"flags\") \
             AND (daily_bars.\"fetched_at\" IS NULL OR EXCLUDED.\"fetched_at\" >= daily_bars.\"fetched_at\")"
        ), "{s}");
        let q = &sql(Table::OptionQuotes).unnest;
        assert!(q.contains("$33::text[]") && !q.contains("$34"), "{q}");
    }

    #[test]
    fn copy_text_escapes_separators_and_writes_nulls() {
        let mut out = CopyText::default();
        out.text("a\tb\\c\nd")
            .opt(None::<f64>)
            .value(1.5)
            .flags(&[QualityFlag::NoBid, QualityFlag::NoAsk]);
        assert_eq!(out.0, "a\\tb\\\\c\\nd\t\\N\t1.5\t{no_bid,no_ask}\n");
    }
}
