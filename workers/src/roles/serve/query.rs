//! The API's reads. Every statement is a fixed text with bound parameters, written once and
//! made for each database ([`Sql::new`]); the columns a row type reads are its [`Columns`],
//! selected as the table descriptors say ([`crate::sinks::db::sql::Dialect::select`]), so PostgreSQL's times and
//! arrays arrive as the same text SQLite stores (`YYYY-MM-DDTHH:MM:SS.ffffffZ`,
//! comma-joined flags) and one row type reads both.
//!
//! Pages are keyset pages: each statement starts after (or, for dates and times, at) a
//! bound the caller moves past the last row it sent, and is asked for `limit + 1` rows, the
//! extra row telling whether there is a next page.

use std::sync::LazyLock;

use serde::{Serialize, Serializer};
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use super::format::Columns;
use crate::sinks::db::Database;
use crate::sinks::db::sql::Sql;
use crate::sinks::schema::{self, Kind};

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
            let mut q = sqlx::query_as::<_, T>(AssertSqlSafe(sql.postgres.as_str()));
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
            let mut q = sqlx::query_as::<_, T>(AssertSqlSafe(sql.sqlite.as_str()));
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

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow, schemars::JsonSchema)]
#[schemars(rename = "Symbol")]
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
pub static SYMBOLS: LazyLock<Sql> = LazyLock::new(|| {
    Sql::new(|d| {
        format!(
            r#"
SELECT s.symbol, s.daily_bars, s.intraday_bars,
       (SELECT {} FROM option_quotes q WHERE q.underlying = s.symbol
         ORDER BY q.snapshot_time DESC LIMIT 1) AS latest_snapshot,
       COALESCE((SELECT d.source FROM daily_bars d WHERE d.symbol = s.symbol ORDER BY d.trade_date DESC LIMIT 1),
                (SELECT i.source FROM intraday_bars i WHERE i.symbol = s.symbol ORDER BY i.bar_time DESC LIMIT 1),
                (SELECT q.source FROM option_quotes q WHERE q.underlying = s.symbol ORDER BY q.snapshot_time DESC LIMIT 1),
                '') AS source
  FROM symbols s
 WHERE s.symbol > {}
 ORDER BY s.symbol
 LIMIT {}"#,
            d.read("q.snapshot_time", Kind::Time),
            d.param(1),
            d.param(2)
        )
    })
});

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow, schemars::JsonSchema)]
#[schemars(rename = "Bar")]
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
    #[schemars(with = "Vec<String>")]
    pub flags: String,
}

/// Daily bars of a symbol from `$2` to `$3` (dates, inclusive).
pub static DAILY_BARS: LazyLock<Sql> = LazyLock::new(|| {
    Sql::new(|d| {
        format!(
            "SELECT {} FROM daily_bars WHERE symbol = {} AND trade_date >= {} AND trade_date <= {} \
             ORDER BY trade_date LIMIT {}",
            d.select(&schema::DAILY_BARS, BarRow::COLUMNS),
            d.param(1),
            d.param_as(2, Kind::Date),
            d.param_as(3, Kind::Date),
            d.param(4)
        )
    })
});

/// Intraday bars of a symbol and interval from `$3` to `$4` (times, inclusive).
pub static INTRADAY_BARS: LazyLock<Sql> = LazyLock::new(|| {
    Sql::new(|d| {
        format!(
            "SELECT {} FROM intraday_bars WHERE symbol = {} AND \"interval\" = {} \
             AND bar_time >= {} AND bar_time <= {} ORDER BY bar_time LIMIT {}",
            d.select(&schema::INTRADAY_BARS, BarRow::COLUMNS),
            d.param(1),
            d.param(2),
            d.param_as(3, Kind::Time),
            d.param_as(4, Kind::Time),
            d.param(5)
        )
    })
});

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow, schemars::JsonSchema)]
#[schemars(rename = "Expiry")]
pub struct ExpiryRow {
    pub expiry: String,
    /// The latest snapshot of this expiry at or before the time asked for.
    pub snapshot_time: String,
}

/// The expiries of an underlying not yet expired on `$3` (a date), with their latest
/// snapshot at or before `$2`.
pub static EXPIRIES: LazyLock<Sql> = LazyLock::new(|| {
    Sql::new(|d| {
        format!(
            "SELECT {}, {} AS snapshot_time FROM option_quotes \
             WHERE underlying = {} AND snapshot_time <= {} AND expiry >= {} \
             GROUP BY expiry ORDER BY expiry",
            d.select(&schema::OPTION_QUOTES, &["expiry"]),
            d.read("max(snapshot_time)", Kind::Time),
            d.param(1),
            d.param_as(2, Kind::Time),
            d.param_as(3, Kind::Date)
        )
    })
});

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow, schemars::JsonSchema)]
#[schemars(rename = "Quote")]
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
    #[schemars(with = "Vec<String>")]
    pub flags: String,
}

/// One expiry's chain at its latest snapshot at or before `$3`, ordered by strike and
/// right, after (`$4`, `$5`).
pub static CHAIN: LazyLock<Sql> = LazyLock::new(|| {
    Sql::new(|d| {
        let (underlying, expiry) = (d.param(1), d.param_as(2, Kind::Date));
        format!(
            "SELECT {} FROM option_quotes \
             WHERE underlying = {underlying} AND expiry = {expiry} \
               AND snapshot_time = (SELECT max(snapshot_time) FROM option_quotes \
                                     WHERE underlying = {underlying} AND expiry = {expiry} \
                                       AND snapshot_time <= {}) \
               AND (strike, \"right\") > ({}, {}) \
             ORDER BY strike, \"right\" LIMIT {}",
            d.select(&schema::OPTION_QUOTES, QuoteRow::COLUMNS),
            d.param_as(3, Kind::Time),
            d.param(4),
            d.param(5),
            d.param(6)
        )
    })
});

/// A contract's quotes from `$2` to `$3` (times, inclusive).
pub static CONTRACT_HISTORY: LazyLock<Sql> = LazyLock::new(|| {
    Sql::new(|d| {
        format!(
            "SELECT {} FROM option_quotes \
             WHERE contract = {} AND snapshot_time >= {} AND snapshot_time <= {} \
             ORDER BY snapshot_time LIMIT {}",
            d.select(&schema::OPTION_QUOTES, QuoteRow::COLUMNS),
            d.param(1),
            d.param_as(2, Kind::Time),
            d.param_as(3, Kind::Time),
            d.param(4)
        )
    })
});

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow, schemars::JsonSchema)]
#[schemars(rename = "Prediction")]
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
pub static PREDICTIONS: LazyLock<Sql> = LazyLock::new(|| {
    Sql::new(|d| {
        let (model, horizon) = (d.param(2), d.param(3));
        format!(
            "SELECT {} FROM predictions \
             WHERE symbol = {} AND ({model} = '' OR model = {model}) \
               AND ({horizon} = 0 OR horizon_days = {horizon}) \
               AND (made_at, horizon_days, model) > ({}, {}, {}) \
             ORDER BY made_at, horizon_days, model LIMIT {}",
            d.select(&schema::PREDICTIONS, PredictionRow::COLUMNS),
            d.param(1),
            d.param_as(4, Kind::Time),
            d.param(5),
            d.param(6),
            d.param(7)
        )
    })
});

#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow, schemars::JsonSchema)]
#[schemars(rename = "Score")]
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
pub static SCORES: LazyLock<Sql> = LazyLock::new(|| {
    Sql::new(|d| {
        format!(
            "SELECT {} FROM prediction_scores WHERE {p} = '' OR symbol = {p} \
             ORDER BY symbol, horizon_days, model",
            d.select(&schema::PREDICTION_SCORES, ScoreRow::COLUMNS),
            p = d.param(1)
        )
    })
});

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
