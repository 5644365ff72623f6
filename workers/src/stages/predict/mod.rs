//! Volatility forecasts: realized variance ([`realized`]), the models ([`models`]) and their
//! walk-forward evaluation ([`backtest`]). Pure: the `predict` command feeds them bars and
//! prints or stores what they say.

pub mod backtest;
pub mod forecast;
pub mod history;
pub mod models;
pub mod realized;

use chrono::NaiveDate;

use realized::Ohlc;

/// One symbol's daily history: each day's realized variance and close-to-close log return.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub symbol: String,
    pub days: Vec<NaiveDate>,
    /// Realized variance of each day (daily units).
    pub rv: Vec<f64>,
    /// Log return from the previous close (0 on the first day).
    pub returns: Vec<f64>,
}

impl Series {
    /// From daily bars in date order, with each day's realized variance from its range
    /// (Garman–Klass); bars that cannot give one are left out.
    pub fn from_daily_bars(symbol: &str, bars: &[(NaiveDate, Ohlc)]) -> Series {
        Series::from_days(symbol, bars.iter().map(|(day, bar)| (*day, *bar, None)))
    }

    /// From days in date order, each with its daily bar and, where the session had enough
    /// 15-minute bars, their realized variance, which is used in place of the range's.
    pub fn from_days(
        symbol: &str,
        days: impl ExactSizeIterator<Item = (NaiveDate, Ohlc, Option<f64>)>,
    ) -> Series {
        let mut series = Series {
            symbol: symbol.to_owned(),
            days: Vec::with_capacity(days.len()),
            rv: Vec::with_capacity(days.len()),
            returns: Vec::with_capacity(days.len()),
        };
        let mut previous: Option<f64> = None;
        for (day, bar, intraday) in days {
            let Some(rv) = intraday.or_else(|| realized::garman_klass(&bar)) else {
                continue;
            };
            series.days.push(day);
            series.rv.push(rv);
            series
                .returns
                .push(previous.map_or(0.0, |p| (bar.close / p).ln()));
            previous = Some(bar.close);
        }
        series
    }
}
