//! The predictor's side of the database: it reads a symbol's stored bars to start its history
//! ([`Database::history`]) and upserts forecasts and backtest scores
//! ([`Database::write_predictions`]), keyed so that writing the same forecast again changes
//! nothing.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use optionsflow_api::records::BarInterval;
use sqlx::AssertSqlSafe;

use super::sql::Sql;
use super::{Database, classify};
use crate::sinks::WriteError;
use crate::sinks::schema::{PREDICTION_SCORES, PREDICTIONS, StoredForecast, StoredScore};
use crate::stages::predict::forecast::Forecast;
use crate::stages::predict::history::History;
use crate::stages::predict::realized::Ohlc;

type BarRow = (NaiveDate, f64, f64, f64, f64);
type IntradayRow = (NaiveDate, DateTime<Utc>, f64, f64, f64, f64);

/// A symbol's daily bars from `$2` on.
static DAILY: LazyLock<Sql> = LazyLock::new(|| {
    Sql::new(|d| {
        format!(
            "SELECT trade_date, open, high, low, close FROM daily_bars \
             WHERE symbol = {} AND trade_date >= {}",
            d.param(1),
            d.param(2)
        )
    })
});

/// A symbol's bars of interval `$2` from `$3` on.
static INTRADAY: LazyLock<Sql> = LazyLock::new(|| {
    Sql::new(|d| {
        format!(
            "SELECT trade_date, bar_time, open, high, low, close FROM intraday_bars \
             WHERE symbol = {} AND \"interval\" = {} AND trade_date >= {}",
            d.param(1),
            d.param(2),
            d.param(3)
        )
    })
});

impl Database {
    /// Upserts a symbol's forecasts and scores in one transaction.
    pub async fn write_predictions(
        &self,
        symbol: &str,
        forecasts: &[Forecast],
        scores: &[StoredScore],
    ) -> Result<(), WriteError> {
        let forecasts: Vec<StoredForecast> = forecasts
            .iter()
            .map(|f| StoredForecast {
                symbol: symbol.to_owned(),
                forecast: f.clone(),
            })
            .collect();
        let result = async {
            let mut tx = self.begin().await?;
            tx.upsert(&PREDICTIONS, &forecasts).await?;
            tx.upsert(&PREDICTION_SCORES, scores).await?;
            tx.commit().await
        };
        result.await.map_err(|e| classify(self.kind(), e))
    }

    /// A symbol's stored daily and 15-minute bars from `since` on.
    pub async fn history(&self, symbol: &str, since: NaiveDate) -> Result<History, WriteError> {
        let fifteen = BarInterval::FifteenMinutes.as_str();
        let read: Result<(Vec<BarRow>, Vec<IntradayRow>), sqlx::Error> = match self {
            Database::Postgres(db) => {
                async {
                    let daily = sqlx::query_as(AssertSqlSafe(DAILY.postgres.as_str()))
                        .bind(symbol)
                        .bind(since)
                        .fetch_all(db.pool())
                        .await?;
                    let intraday = sqlx::query_as(AssertSqlSafe(INTRADAY.postgres.as_str()))
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
                    let daily = sqlx::query_as(AssertSqlSafe(DAILY.sqlite.as_str()))
                        .bind(symbol)
                        .bind(&since)
                        .fetch_all(db.pool())
                        .await?;
                    let intraday = sqlx::query_as(AssertSqlSafe(INTRADAY.sqlite.as_str()))
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
