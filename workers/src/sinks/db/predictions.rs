//! The predictor's side of the database: it reads a symbol's stored bars to start its history
//! ([`Database::history`]) and upserts forecasts and backtest scores
//! ([`Database::write_predictions`]), keyed so that writing the same forecast again changes
//! nothing.

use chrono::{DateTime, NaiveDate, Utc};
use optionsflow_api::records::BarInterval;

use super::{Database, classify, sqlite};
use crate::sinks::WriteError;
use crate::stages::predict::backtest::Score;
use crate::stages::predict::forecast::{Forecast, TARGET};
use crate::stages::predict::history::History;
use crate::stages::predict::realized::Ohlc;

/// The upserts, with each database's placeholders.
macro_rules! upserts {
    ($f:literal, $s:literal) => {
        (
            concat!(
                "INSERT INTO predictions (symbol, made_at, horizon_days, model, target, target_date, value, lower, upper) VALUES ",
                $f,
                " ON CONFLICT (symbol, made_at, horizon_days, model) DO UPDATE SET target = excluded.target, \
                 target_date = excluded.target_date, value = excluded.value, lower = excluded.lower, upper = excluded.upper"
            ),
            concat!(
                "INSERT INTO prediction_scores (symbol, model, horizon_days, n, mse, qlike, first_day, last_day) VALUES ",
                $s,
                " ON CONFLICT (symbol, model, horizon_days) DO UPDATE SET n = excluded.n, mse = excluded.mse, \
                 qlike = excluded.qlike, first_day = excluded.first_day, last_day = excluded.last_day"
            ),
        )
    };
}
const POSTGRES: (&str, &str) = upserts!(
    "($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    "($1, $2, $3, $4, $5, $6, $7, $8)"
);
const SQLITE: (&str, &str) = upserts!("(?, ?, ?, ?, ?, ?, ?, ?, ?)", "(?, ?, ?, ?, ?, ?, ?, ?)");

/// A backtest score with the sessions it covers.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredScore {
    pub score: Score,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

/// Upserts every forecast and score in `$tx`; `$time` and `$date` turn times and dates into
/// the database's representation (the two databases' query types differ, the binds do not).
macro_rules! upsert_all {
    ($tx:expr, $sql:expr, $symbol:expr, $forecasts:expr, $scores:expr, $time:expr, $date:expr) => {
        for f in $forecasts {
            sqlx::query($sql.0)
                .bind($symbol)
                .bind($time(&f.made_at))
                .bind(f.horizon_days as i32)
                .bind(f.model.as_str())
                .bind(TARGET)
                .bind($date(&f.target_date))
                .bind(f.value)
                .bind(f.interval.map(|i| i.0))
                .bind(f.interval.map(|i| i.1))
                .execute(&mut *$tx)
                .await?;
        }
        for s in $scores {
            sqlx::query($sql.1)
                .bind($symbol)
                .bind(s.score.model.as_str())
                .bind(s.score.horizon_days as i32)
                .bind(s.score.n as i32)
                .bind(s.score.mse)
                .bind(s.score.qlike)
                .bind($date(&s.first_day))
                .bind($date(&s.last_day))
                .execute(&mut *$tx)
                .await?;
        }
    };
}

type BarRow = (NaiveDate, f64, f64, f64, f64);
type IntradayRow = (NaiveDate, DateTime<Utc>, f64, f64, f64, f64);

const DAILY: (&str, &str) = (
    "SELECT trade_date, open, high, low, close FROM daily_bars WHERE symbol = $1 AND trade_date >= $2",
    "SELECT trade_date, open, high, low, close FROM daily_bars WHERE symbol = ?1 AND trade_date >= ?2",
);
const INTRADAY: (&str, &str) = (
    r#"SELECT trade_date, bar_time, open, high, low, close FROM intraday_bars WHERE symbol = $1 AND "interval" = $2 AND trade_date >= $3"#,
    r#"SELECT trade_date, bar_time, open, high, low, close FROM intraday_bars WHERE symbol = ?1 AND "interval" = ?2 AND trade_date >= ?3"#,
);

impl Database {
    /// Upserts a symbol's forecasts and scores in one transaction.
    pub async fn write_predictions(
        &self,
        symbol: &str,
        forecasts: &[Forecast],
        scores: &[StoredScore],
    ) -> Result<(), WriteError> {
        let date = |d: &NaiveDate| d.to_string();
        let result: Result<(), sqlx::Error> = match self {
            Database::Postgres(db) => {
                async {
                    let mut tx = db.pool().begin().await?;
                    upsert_all!(
                        tx,
                        POSTGRES,
                        symbol,
                        forecasts,
                        scores,
                        |t: &DateTime<Utc>| *t,
                        |d: &NaiveDate| *d
                    );
                    tx.commit().await
                }
                .await
            }
            Database::Sqlite(db) => {
                async {
                    let mut tx = db.pool().begin_with("BEGIN IMMEDIATE").await?;
                    upsert_all!(tx, SQLITE, symbol, forecasts, scores, sqlite::time, date);
                    tx.commit().await
                }
                .await
            }
        };
        result.map_err(|e| classify(self.kind(), e))
    }

    /// A symbol's stored daily and 15-minute bars from `since` on.
    pub async fn history(&self, symbol: &str, since: NaiveDate) -> Result<History, WriteError> {
        let fifteen = BarInterval::FifteenMinutes.as_str();
        let read: Result<(Vec<BarRow>, Vec<IntradayRow>), sqlx::Error> = match self {
            Database::Postgres(db) => {
                async {
                    let daily = sqlx::query_as(DAILY.0)
                        .bind(symbol)
                        .bind(since)
                        .fetch_all(db.pool())
                        .await?;
                    let intraday = sqlx::query_as(INTRADAY.0)
                        .bind(symbol)
                        .bind(fifteen)
                        .bind(since)
                        .fetch_all(db.pool())
                        .await?;
                    Ok((daily, intraday))
                }
                .await
            }
            Database::Sqlite(db) => {
                async {
                    let since = since.to_string();
                    let daily = sqlx::query_as(DAILY.1)
                        .bind(symbol)
                        .bind(&since)
                        .fetch_all(db.pool())
                        .await?;
                    let intraday = sqlx::query_as(INTRADAY.1)
                        .bind(symbol)
                        .bind(fifteen)
                        .bind(&since)
                        .fetch_all(db.pool())
                        .await?;
                    Ok((daily, intraday))
                }
                .await
            }
        };
        let (daily, intraday) = read.map_err(|e| classify(self.kind(), e))?;
        let mut history = History::default();
        for (day, open, high, low, close) in daily {
            history.add_daily(
                day,
                Ohlc {
                    open,
                    high,
                    low,
                    close,
                },
            );
        }
        for (day, time, open, high, low, close) in intraday {
            history.add_intraday(
                day,
                time,
                Ohlc {
                    open,
                    high,
                    low,
                    close,
                },
            );
        }
        Ok(history)
    }
}
