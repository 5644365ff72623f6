//! `optionsflow-worker predict --backtest`: the volatility models' walk-forward evaluation
//! ([`crate::stages::predict::backtest`]) on the sample source's daily bars (offline) or on
//! the database's stored daily and 15-minute bars: per model, symbol and horizon, the number
//! of forecasts, MSE and QLIKE.

use chrono::{Datelike, NaiveDate};

use crate::sinks::WriteError;
use crate::sinks::db::Database;
use crate::sources::sample::Sample;
use crate::stages::predict::Series;
use crate::stages::predict::backtest::{self, Score, Settings};
use crate::stages::predict::realized::Ohlc;

/// What `predict --backtest` evaluates when not told.
pub const DEFAULT_SYMBOLS: &str = "SPY,QQQ,IWM,AAPL,MSFT,NVDA,JPM,XOM,TSLA,AMZN";

/// Where a backtest's history comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HistorySource {
    /// The sample source, generated offline: no database needed.
    Sample,
    /// The bars stored in the database the runtime config names, as the predictor reads
    /// them (15-minute realized variance where a session has enough bars).
    Stored,
}

/// How scores are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns and each model's mean over symbols.
    Table,
    /// `model,symbol,horizon_days,n,mse,qlike`.
    Csv,
}

/// `years` years before `end`.
fn start(end: NaiveDate, years: u32) -> NaiveDate {
    end.with_year(end.year() - years as i32)
        .unwrap_or(end - chrono::Duration::days(365 * i64::from(years)))
}

/// A symbol's daily history from the sample source, `years` years up to `end`.
pub fn sample_series(sample: &Sample, symbol: &str, years: u32, end: NaiveDate) -> Series {
    let start = start(end, years);
    let series = sample.daily(symbol, start, end);
    let bars: Vec<(NaiveDate, Ohlc)> = series
        .values
        .iter()
        .rev()
        .filter_map(|b| {
            let day = NaiveDate::parse_from_str(&b.datetime, "%Y-%m-%d").ok()?;
            Some((
                day,
                Ohlc {
                    open: b.open.to_f64(),
                    high: b.high.to_f64(),
                    low: b.low.to_f64(),
                    close: b.close.to_f64(),
                },
            ))
        })
        .collect();
    Series::from_daily_bars(symbol, &bars)
}

/// Every model's scores on every symbol.
pub fn sample_backtest(
    sample: &Sample,
    symbols: &[String],
    years: u32,
    end: NaiveDate,
    settings: &Settings,
) -> Vec<Score> {
    symbols
        .iter()
        .flat_map(|s| backtest::backtest(&sample_series(sample, s, years, end), settings))
        .collect()
}

/// Every model's scores on every symbol's stored history, `years` years up to `end`.
pub async fn stored_backtest(
    database: &Database,
    symbols: &[String],
    years: u32,
    end: NaiveDate,
    settings: &Settings,
) -> Result<Vec<Score>, WriteError> {
    let mut scores = Vec::new();
    for symbol in symbols {
        let mut history = database.history(symbol, start(end, years)).await?;
        history.retain_until(end);
        scores.extend(backtest::backtest(&history.series(symbol), settings));
    }
    Ok(scores)
}

/// The scores as `format` prints them.
pub fn render(scores: &[Score], format: Format) -> String {
    match format {
        Format::Table => backtest::table(scores),
        Format::Csv => backtest::csv(scores),
    }
}

#[cfg(test)]
mod tests {
    use optionsflow_api::runtime_config::SampleSource;

    use super::*;
    use crate::stages::predict::backtest::{HORIZONS, har_rv_shortfalls};

    #[test]
    fn on_the_sample_source_har_rv_beats_both_baselines_out_of_sample() {
        let sample = Sample::new(&SampleSource {
            seed: 7,
            dirty_per_mille: 0,
        });
        let symbols: Vec<String> = ["SPY", "AAPL", "XOM", "TSLA"].map(String::from).to_vec();
        let end = "2026-11-27".parse().unwrap();
        let scores = sample_backtest(&sample, &symbols, 8, end, &Settings::default());
        assert_eq!(har_rv_shortfalls(&scores, MARGIN), Vec::<String>::new());
        // Every symbol, model and horizon scored, on about eight years of days.
        assert_eq!(scores.len(), symbols.len() * 3 * HORIZONS.len());
        assert!(scores.iter().all(|s| s.n > 1500), "{scores:?}");

        let csv = render(&scores, Format::Csv);
        assert!(csv.starts_with("model,symbol,horizon_days,n,mse,qlike\n"));
        assert_eq!(csv.lines().count(), scores.len() + 1);
        assert!(csv.contains("\nhar_rv,TSLA,21,"), "{csv}");
    }

    /// HAR-RV's QLIKE is at most this share of each baseline's.
    const MARGIN: f64 = 0.95;
}
