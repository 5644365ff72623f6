//! The API's reads. Every statement is a fixed text with bound parameters, written once per
//! database: PostgreSQL's times and arrays are turned into the same text SQLite stores
//! (`YYYY-MM-DDTHH:MM:SS.ffffffZ`, comma-joined flags), so one row type reads both.
//!
//! Pages are keyset pages: each statement starts after (or, for dates and times, at) a
//! bound the caller moves past the last row it sent, and is asked for `limit + 1` rows, the
//! extra row telling whether there is a next page.

use serde::{Serialize, Serializer};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use super::format::Columns;
use crate::sinks::db::Database;

/// One statement in both dialects.
pub struct Sql {
    pub postgres: &'static str,
    pub sqlite: &'static str,
}

/// A bound parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Bind {
    Text(String),
    Float(f64),
    Int(i64),
}

/// Runs `sql` with `binds` in order.
pub async fn fetch<T>(db: &Database, sql: &Sql, binds: &[Bind]) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, PgRow> + for<'r> sqlx::FromRow<'r, SqliteRow> + Send + Unpin,
{
    match db {
        Database::Postgres(pg) => {
            let mut q = sqlx::query_as::<_, T>(sql.postgres);
            for b in binds {
                q = match b {
                    Bind::Text(t) => q.bind(t.clone()),
                    Bind::Float(f) => q.bind(*f),
                    Bind::Int(i) => q.bind(*i),
                };
            }
            q.fetch_all(pg.pool()).await
        }
        Database::Sqlite(lite) => {
            let mut q = sqlx::query_as::<_, T>(sql.sqlite);
            for b in binds {
                q = match b {
                    Bind::Text(t) => q.bind(t.clone()),
                    Bind::Float(f) => q.bind(*f),
                    Bind::Int(i) => q.bind(*i),
                };
            }
            q.fetch_all(lite.pool()).await
        }
    }
}

/// Comma-joined flags, sent as a list.
fn flag_list<S: Serializer>(flags: &str, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(flags.split(',').filter(|f| !f.is_empty()))
}

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct SymbolRow {
    pub symbol: String,
    pub daily_bars: i64,
    pub intraday_bars: i64,
    /// The latest option snapshot of this underlying, if any.
    pub latest_snapshot: Option<String>,
    /// Where the symbol's latest data came from (its latest daily bar, else intraday bar,
    /// else option quote).
    pub source: String,
}

/// From the `symbols` summary the db-writer keeps (counts included); the latest snapshot and
/// source are one-row index lookups per listed symbol.
pub const SYMBOLS: Sql = Sql {
    postgres: r#"
SELECT s.symbol, s.daily_bars, s.intraday_bars,
       (SELECT to_char(q.snapshot_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
          FROM option_quotes q WHERE q.underlying = s.symbol
         ORDER BY q.snapshot_time DESC LIMIT 1) AS latest_snapshot,
       COALESCE((SELECT d.source FROM daily_bars d WHERE d.symbol = s.symbol ORDER BY d.trade_date DESC LIMIT 1),
                (SELECT i.source FROM intraday_bars i WHERE i.symbol = s.symbol ORDER BY i.bar_time DESC LIMIT 1),
                (SELECT q.source FROM option_quotes q WHERE q.underlying = s.symbol ORDER BY q.snapshot_time DESC LIMIT 1),
                '') AS source
  FROM symbols s
 WHERE s.symbol > $1
 ORDER BY s.symbol
 LIMIT $2"#,
    sqlite: r#"
SELECT s.symbol, s.daily_bars, s.intraday_bars,
       (SELECT q.snapshot_time FROM option_quotes q WHERE q.underlying = s.symbol
         ORDER BY q.snapshot_time DESC LIMIT 1) AS latest_snapshot,
       COALESCE((SELECT d.source FROM daily_bars d WHERE d.symbol = s.symbol ORDER BY d.trade_date DESC LIMIT 1),
                (SELECT i.source FROM intraday_bars i WHERE i.symbol = s.symbol ORDER BY i.bar_time DESC LIMIT 1),
                (SELECT q.source FROM option_quotes q WHERE q.underlying = s.symbol ORDER BY q.snapshot_time DESC LIMIT 1),
                '') AS source
  FROM symbols s
 WHERE s.symbol > ?1
 ORDER BY s.symbol
 LIMIT ?2"#,
};

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct BarRow {
    pub symbol: String,
    pub trade_date: String,
    /// The bar's open, UTC.
    pub bar_time: String,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: Option<i64>,
    pub source: String,
    #[serde(serialize_with = "flag_list")]
    pub flags: String,
}

/// Daily bars of a symbol from `$2` to `$3` (dates, inclusive).
pub const DAILY_BARS: Sql = Sql {
    postgres: r#"
SELECT symbol, trade_date::text AS trade_date,
       to_char(bar_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS bar_time,
       open, high, low, close, volume, source, array_to_string(flags, ',') AS flags
  FROM daily_bars
 WHERE symbol = $1 AND trade_date >= $2::date AND trade_date <= $3::date
 ORDER BY trade_date
 LIMIT $4"#,
    sqlite: r#"
SELECT symbol, trade_date, bar_time, open, high, low, close, volume, source, flags
  FROM daily_bars
 WHERE symbol = ?1 AND trade_date >= ?2 AND trade_date <= ?3
 ORDER BY trade_date
 LIMIT ?4"#,
};

/// Intraday bars of a symbol and interval from `$3` to `$4` (times, inclusive).
pub const INTRADAY_BARS: Sql = Sql {
    postgres: r#"
SELECT symbol, trade_date::text AS trade_date,
       to_char(bar_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS bar_time,
       open, high, low, close, volume, source, array_to_string(flags, ',') AS flags
  FROM intraday_bars
 WHERE symbol = $1 AND "interval" = $2
   AND bar_time >= $3::timestamptz AND bar_time <= $4::timestamptz
 ORDER BY bar_time
 LIMIT $5"#,
    sqlite: r#"
SELECT symbol, trade_date, bar_time, open, high, low, close, volume, source, flags
  FROM intraday_bars
 WHERE symbol = ?1 AND "interval" = ?2 AND bar_time >= ?3 AND bar_time <= ?4
 ORDER BY bar_time
 LIMIT ?5"#,
};

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct ExpiryRow {
    pub expiry: String,
    /// The latest snapshot of this expiry at or before the time asked for.
    pub snapshot_time: String,
}

/// The expiries of an underlying not yet expired on `$3` (a date), with their latest
/// snapshot at or before `$2`.
pub const EXPIRIES: Sql = Sql {
    postgres: r#"
SELECT expiry::text AS expiry,
       to_char(max(snapshot_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS snapshot_time
  FROM option_quotes
 WHERE underlying = $1 AND snapshot_time <= $2::timestamptz AND expiry >= $3::date
 GROUP BY expiry
 ORDER BY expiry"#,
    sqlite: r#"
SELECT expiry, max(snapshot_time) AS snapshot_time
  FROM option_quotes
 WHERE underlying = ?1 AND snapshot_time <= ?2 AND expiry >= ?3
 GROUP BY expiry
 ORDER BY expiry"#,
};

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct QuoteRow {
    pub contract: String,
    pub snapshot_time: String,
    pub underlying: String,
    pub expiry: String,
    pub right: String,
    pub strike: f64,
    pub bid: Option<f64>,
    pub ask: Option<f64>,
    pub last: Option<f64>,
    pub volume: Option<i64>,
    pub open_interest: Option<i64>,
    pub underlying_price: Option<f64>,
    pub mid: Option<f64>,
    pub spread: Option<f64>,
    pub moneyness: Option<f64>,
    pub log_moneyness: Option<f64>,
    pub forward: Option<f64>,
    pub dividend_yield: f64,
    pub years_to_expiry: f64,
    pub iv: Option<f64>,
    pub provider_iv: Option<f64>,
    pub delta: Option<f64>,
    pub gamma: Option<f64>,
    pub theta: Option<f64>,
    pub vega: Option<f64>,
    pub rho: Option<f64>,
    pub iv_status: String,
    pub otm: Option<bool>,
    pub exercise: String,
    pub source: String,
    #[serde(serialize_with = "flag_list")]
    pub flags: String,
}

/// One expiry's chain at its latest snapshot at or before `$3`, ordered by strike and
/// right, after (`$4`, `$5`).
pub const CHAIN: Sql = Sql {
    postgres: r#"
SELECT contract,
       to_char(snapshot_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS snapshot_time,
       underlying, expiry::text AS expiry, "right", strike, bid, ask, last, volume, open_interest,
       underlying_price, mid, spread, moneyness, log_moneyness, forward,
       dividend_yield, years_to_expiry, iv, provider_iv,
       delta, gamma, theta, vega, rho, iv_status, otm, exercise, source, array_to_string(flags, ',') AS flags
  FROM option_quotes
 WHERE underlying = $1 AND expiry = $2::date
   AND snapshot_time = (SELECT max(snapshot_time) FROM option_quotes
                         WHERE underlying = $1 AND expiry = $2::date
                           AND snapshot_time <= $3::timestamptz)
   AND (strike, "right") > ($4, $5)
 ORDER BY strike, "right"
 LIMIT $6"#,
    sqlite: r#"
SELECT contract, snapshot_time, underlying, expiry, "right", strike, bid, ask, last, volume,
       open_interest, underlying_price, mid, spread, moneyness, log_moneyness, forward,
       dividend_yield, years_to_expiry,
       iv, provider_iv, delta, gamma, theta, vega, rho, iv_status, otm, exercise, source, flags
  FROM option_quotes
 WHERE underlying = ?1 AND expiry = ?2
   AND snapshot_time = (SELECT max(snapshot_time) FROM option_quotes
                         WHERE underlying = ?1 AND expiry = ?2 AND snapshot_time <= ?3)
   AND (strike, "right") > (?4, ?5)
 ORDER BY strike, "right"
 LIMIT ?6"#,
};

/// A contract's quotes from `$2` to `$3` (times, inclusive).
pub const CONTRACT_HISTORY: Sql = Sql {
    postgres: r#"
SELECT contract,
       to_char(snapshot_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS snapshot_time,
       underlying, expiry::text AS expiry, "right", strike, bid, ask, last, volume, open_interest,
       underlying_price, mid, spread, moneyness, log_moneyness, forward,
       dividend_yield, years_to_expiry, iv, provider_iv,
       delta, gamma, theta, vega, rho, iv_status, otm, exercise, source, array_to_string(flags, ',') AS flags
  FROM option_quotes
 WHERE contract = $1 AND snapshot_time >= $2::timestamptz AND snapshot_time <= $3::timestamptz
 ORDER BY snapshot_time
 LIMIT $4"#,
    sqlite: r#"
SELECT contract, snapshot_time, underlying, expiry, "right", strike, bid, ask, last, volume,
       open_interest, underlying_price, mid, spread, moneyness, log_moneyness, forward,
       dividend_yield, years_to_expiry,
       iv, provider_iv, delta, gamma, theta, vega, rho, iv_status, otm, exercise, source, flags
  FROM option_quotes
 WHERE contract = ?1 AND snapshot_time >= ?2 AND snapshot_time <= ?3
 ORDER BY snapshot_time
 LIMIT ?4"#,
};

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct PredictionRow {
    pub symbol: String,
    pub made_at: String,
    pub horizon_days: i64,
    pub model: String,
    pub target: String,
    pub target_date: String,
    pub value: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// A symbol's predictions of model `$2` ('' for every model) at horizon `$3` (0 for every
/// horizon) after (`$4`, `$5`, `$6`) = (made at, horizon, model).
pub const PREDICTIONS: Sql = Sql {
    postgres: r#"
SELECT symbol,
       to_char(made_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS made_at,
       horizon_days::int8 AS horizon_days, model, target, target_date::text AS target_date,
       value, lower, upper
  FROM predictions
 WHERE symbol = $1 AND ($2 = '' OR model = $2) AND ($3 = 0 OR horizon_days = $3)
   AND (made_at, horizon_days, model) > ($4::timestamptz, $5, $6)
 ORDER BY made_at, horizon_days, model
 LIMIT $7"#,
    sqlite: r#"
SELECT symbol, made_at, horizon_days, model, target, target_date, value, lower, upper
  FROM predictions
 WHERE symbol = ?1 AND (?2 = '' OR model = ?2) AND (?3 = 0 OR horizon_days = ?3)
   AND (made_at, horizon_days, model) > (?4, ?5, ?6)
 ORDER BY made_at, horizon_days, model
 LIMIT ?7"#,
};

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct ScoreRow {
    pub symbol: String,
    pub model: String,
    pub horizon_days: i64,
    pub n: i64,
    pub mse: f64,
    pub qlike: f64,
    pub first_day: String,
    pub last_day: String,
}

/// The predictor's walk-forward scores of symbol `$1` ('' for every symbol).
pub const SCORES: Sql = Sql {
    postgres: r#"
SELECT symbol, model, horizon_days::int8 AS horizon_days, n::int8 AS n, mse, qlike,
       first_day::text AS first_day, last_day::text AS last_day
  FROM prediction_scores
 WHERE $1 = '' OR symbol = $1
 ORDER BY symbol, horizon_days, model"#,
    sqlite: r#"
SELECT symbol, model, horizon_days, n, mse, qlike, first_day, last_day
  FROM prediction_scores
 WHERE ?1 = '' OR symbol = ?1
 ORDER BY symbol, horizon_days, model"#,
};

impl Columns for SymbolRow {
    const COLUMNS: &'static [&'static str] = &[
        "symbol",
        "daily_bars",
        "intraday_bars",
        "latest_snapshot",
        "source",
    ];
}

impl Columns for BarRow {
    const COLUMNS: &'static [&'static str] = &[
        "symbol",
        "trade_date",
        "bar_time",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "source",
        "flags",
    ];
}

impl Columns for ExpiryRow {
    const COLUMNS: &'static [&'static str] = &["expiry", "snapshot_time"];
}

impl Columns for QuoteRow {
    const COLUMNS: &'static [&'static str] = &[
        "contract",
        "snapshot_time",
        "underlying",
        "expiry",
        "right",
        "strike",
        "bid",
        "ask",
        "last",
        "volume",
        "open_interest",
        "underlying_price",
        "mid",
        "spread",
        "moneyness",
        "log_moneyness",
        "forward",
        "dividend_yield",
        "years_to_expiry",
        "iv",
        "provider_iv",
        "delta",
        "gamma",
        "theta",
        "vega",
        "rho",
        "iv_status",
        "otm",
        "exercise",
        "source",
        "flags",
    ];
}

impl Columns for PredictionRow {
    const COLUMNS: &'static [&'static str] = &[
        "symbol",
        "made_at",
        "horizon_days",
        "model",
        "target",
        "target_date",
        "value",
        "lower",
        "upper",
    ];
}

impl Columns for ScoreRow {
    const COLUMNS: &'static [&'static str] = &[
        "symbol",
        "model",
        "horizon_days",
        "n",
        "mse",
        "qlike",
        "first_day",
        "last_day",
    ];
}
