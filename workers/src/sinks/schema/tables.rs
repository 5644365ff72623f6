//! The descriptors of optionsflow's tables (docs/storage.md describes them for people).
//! Each column is written once, here; the migrations in `workers/migrations` create the
//! same columns, and `tests/schema.rs` holds the two together.

use chrono::NaiveDate;
use optionsflow_api::records::{BarRecord, OptionQuoteRecord};

use super::{Column, Kind, OnConflict, TableDef, Value};
use crate::sinks::db::dead_letters::DeadLetterRow;
use crate::stages::predict::backtest::Score;
use crate::stages::predict::forecast::{Forecast, TARGET};

/// `$name`, of `$kind` (`?` after it: nullable), read from a record by `$get`.
macro_rules! column {
    ($name:literal, $kind:ident, $get:expr) => {
        Column {
            name: $name,
            kind: Kind::$kind,
            nullable: false,
            get: $get,
        }
    };
    ($name:literal, $kind:ident?, $get:expr) => {
        Column {
            name: $name,
            kind: Kind::$kind,
            nullable: true,
            get: $get,
        }
    };
}

/// A bar's columns, shared by the two bar tables (and the bar files).
mod bar {
    use super::*;

    pub const SYMBOL: Column<BarRecord> = column!("symbol", Text, |r| Value::from(&r.symbol));
    pub const INTERVAL: Column<BarRecord> =
        column!("interval", Text, |r| Value::from(r.interval.as_str()));
    pub const TRADE_DATE: Column<BarRecord> =
        column!("trade_date", Date, |r| Value::from(r.trade_date));
    pub const BAR_TIME: Column<BarRecord> = column!("bar_time", Time, |r| Value::from(r.bar_time));
    pub const OPEN: Column<BarRecord> = column!("open", Float, |r| Value::from(r.open));
    pub const HIGH: Column<BarRecord> = column!("high", Float, |r| Value::from(r.high));
    pub const LOW: Column<BarRecord> = column!("low", Float, |r| Value::from(r.low));
    pub const CLOSE: Column<BarRecord> = column!("close", Float, |r| Value::from(r.close));
    pub const VOLUME: Column<BarRecord> = column!("volume", BigInt?, |r| Value::from(r.volume));
    pub const SOURCE: Column<BarRecord> =
        column!("source", Text, |r| Value::from(r.source.as_str()));
    /// When the provider gave the bar: a later answer revises an earlier one.
    pub const FETCHED_AT: Column<BarRecord> =
        column!("fetched_at", Time?, |r| Value::from(r.fetched_at));
    pub const FLAGS: Column<BarRecord> = column!("flags", Flags, |r| Value::from(&r.flags));
}

/// A bar table's columns: the daily table's, or with `interval` after the symbol.
macro_rules! bar_columns {
    ($($interval:expr)?) => {
        &[
            bar::SYMBOL,
            $($interval,)?
            bar::TRADE_DATE,
            bar::BAR_TIME,
            bar::OPEN,
            bar::HIGH,
            bar::LOW,
            bar::CLOSE,
            bar::VOLUME,
            bar::SOURCE,
            bar::FETCHED_AT,
            bar::FLAGS,
        ]
    };
}

/// A bar is revised by a later fetch of it.
const BAR_UPSERT: OnConflict = OnConflict::Update {
    revised_by: Some("fetched_at"),
};

/// One row per symbol and session.
pub static DAILY_BARS: TableDef<BarRecord> = TableDef {
    name: "daily_bars",
    columns: bar_columns!(),
    key: &["symbol", "trade_date"],
    on_conflict: BAR_UPSERT,
};

/// One row per symbol, interval and bar. Its columns are also the layout of every bar file
/// (a daily bar's interval is `1day`).
pub static INTRADAY_BARS: TableDef<BarRecord> = TableDef {
    name: "intraday_bars",
    columns: bar_columns!(bar::INTERVAL),
    key: &["symbol", "interval", "bar_time"],
    on_conflict: BAR_UPSERT,
};

type Quote = OptionQuoteRecord;

/// One row per contract and snapshot, with what processing derived from it. A quote's
/// snapshot time is part of its key, so a quote is never revised.
pub static OPTION_QUOTES: TableDef<Quote> = TableDef {
    name: "option_quotes",
    columns: &[
        column!("contract", Text, |r: &Quote| Value::from(&r.contract)),
        column!("snapshot_time", Time, |r: &Quote| Value::from(
            r.snapshot_time
        )),
        column!("underlying", Text, |r: &Quote| Value::from(&r.underlying)),
        column!("root", Text, |r: &Quote| Value::from(&r.root)),
        column!("expiry", Date, |r: &Quote| Value::from(r.expiry)),
        column!("right", Text, |r: &Quote| Value::from(r.right.as_str())),
        column!("strike", Float, |r: &Quote| Value::from(r.strike)),
        column!("bid", Float?, |r: &Quote| Value::from(r.bid)),
        column!("ask", Float?, |r: &Quote| Value::from(r.ask)),
        column!("last", Float?, |r: &Quote| Value::from(r.last)),
        column!("volume", BigInt?, |r: &Quote| Value::from(r.volume)),
        column!("open_interest", BigInt?, |r: &Quote| Value::from(
            r.open_interest
        )),
        column!("provider_iv", Float?, |r: &Quote| Value::from(
            r.provider_iv
        )),
        column!("underlying_price", Float?, |r: &Quote| Value::from(
            r.underlying_price
        )),
        column!("mid", Float?, |r: &Quote| Value::from(r.mid)),
        column!("spread", Float?, |r: &Quote| Value::from(r.spread)),
        column!("moneyness", Float?, |r: &Quote| Value::from(r.moneyness)),
        column!("log_moneyness", Float?, |r: &Quote| Value::from(
            r.log_moneyness
        )),
        column!("forward", Float?, |r: &Quote| Value::from(r.forward)),
        column!("years_to_expiry", Float, |r: &Quote| Value::from(
            r.years_to_expiry
        )),
        column!("rate", Float, |r: &Quote| Value::from(r.rate)),
        column!("dividend_yield", Float, |r: &Quote| Value::from(
            r.dividend_yield
        )),
        column!("iv", Float?, |r: &Quote| Value::from(r.iv)),
        column!("delta", Float?, |r: &Quote| Value::from(r.delta)),
        column!("gamma", Float?, |r: &Quote| Value::from(r.gamma)),
        column!("theta", Float?, |r: &Quote| Value::from(r.theta)),
        column!("vega", Float?, |r: &Quote| Value::from(r.vega)),
        column!("rho", Float?, |r: &Quote| Value::from(r.rho)),
        column!("iv_status", Text, |r: &Quote| Value::from(
            r.iv_status.as_str()
        )),
        column!("otm", Bool?, |r: &Quote| Value::from(r.otm)),
        column!("exercise", Text, |r: &Quote| Value::from(
            r.exercise.as_str()
        )),
        column!("source", Text, |r: &Quote| Value::from(r.source.as_str())),
        column!("flags", Flags, |r: &Quote| Value::from(&r.flags)),
    ],
    key: &["contract", "snapshot_time"],
    on_conflict: OnConflict::Update { revised_by: None },
};

/// A forecast of one symbol, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredForecast {
    pub symbol: String,
    pub forecast: Forecast,
}

/// One forecast: made after the close of a session (`made_at`), of realized volatility over
/// the next `horizon_days` sessions, ending on `target_date`; values are annualised.
pub static PREDICTIONS: TableDef<StoredForecast> = TableDef {
    name: "predictions",
    columns: &[
        column!("symbol", Text, |r: &StoredForecast| Value::from(&r.symbol)),
        column!("made_at", Time, |r: &StoredForecast| Value::from(
            r.forecast.made_at
        )),
        column!("horizon_days", Int, |r: &StoredForecast| Value::from(
            r.forecast.horizon_days
        )),
        column!("model", Text, |r: &StoredForecast| Value::from(
            r.forecast.model.as_str()
        )),
        column!("target", Text, |_: &StoredForecast| Value::from(TARGET)),
        column!("target_date", Date, |r: &StoredForecast| Value::from(
            r.forecast.target_date
        )),
        column!("value", Float, |r: &StoredForecast| Value::from(
            r.forecast.value
        )),
        column!("lower", Float?, |r: &StoredForecast| Value::from(
            r.forecast.interval.map(|i| i.0)
        )),
        column!("upper", Float?, |r: &StoredForecast| Value::from(
            r.forecast.interval.map(|i| i.1)
        )),
    ],
    key: &["symbol", "made_at", "horizon_days", "model"],
    on_conflict: OnConflict::Update { revised_by: None },
};

/// A backtest score with the sessions it covers.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredScore {
    pub score: Score,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

/// Each model's walk-forward score on a symbol's stored history.
pub static PREDICTION_SCORES: TableDef<StoredScore> = TableDef {
    name: "prediction_scores",
    columns: &[
        column!("symbol", Text, |r: &StoredScore| Value::from(
            &r.score.symbol
        )),
        column!("model", Text, |r: &StoredScore| Value::from(
            r.score.model.as_str()
        )),
        column!("horizon_days", Int, |r: &StoredScore| Value::from(
            r.score.horizon_days
        )),
        column!("n", Int, |r: &StoredScore| Value::from(r.score.n)),
        column!("mse", Float, |r: &StoredScore| Value::from(r.score.mse)),
        column!("qlike", Float, |r: &StoredScore| Value::from(r.score.qlike)),
        column!("first_day", Date, |r: &StoredScore| Value::from(
            r.first_day
        )),
        column!("last_day", Date, |r: &StoredScore| Value::from(r.last_day)),
    ],
    key: &["symbol", "model", "horizon_days"],
    on_conflict: OnConflict::Update { revised_by: None },
};

/// One row per letter on the `dead-letter` topic, keyed by the letter's own place there.
pub static DEAD_LETTERS: TableDef<DeadLetterRow> = TableDef {
    name: "dead_letters",
    columns: &[
        column!("topic", Text, |r: &DeadLetterRow| Value::from(&r.at.topic)),
        column!("partition", Int, |r: &DeadLetterRow| Value::from(
            r.at.partition
        )),
        column!("offset", BigInt, |r: &DeadLetterRow| Value::from(
            r.at.offset
        )),
        column!("dead_at", Time, |r: &DeadLetterRow| Value::from(r.dead_at)),
        column!("stage", Text, |r: &DeadLetterRow| Value::from(&r.stage)),
        column!("reason", Text, |r: &DeadLetterRow| Value::from(&r.reason)),
        column!("dataset", Text?, |r: &DeadLetterRow| Value::from(
            r.dataset.map(|d| d.as_str())
        )),
        column!("symbol", Text, |r: &DeadLetterRow| Value::from(&r.symbol)),
        column!("detail", Text, |r: &DeadLetterRow| Value::from(&r.detail)),
        column!("letter", Text, |r: &DeadLetterRow| Value::from(&r.letter)),
    ],
    key: &["topic", "partition", "offset"],
    on_conflict: OnConflict::Ignore,
};
