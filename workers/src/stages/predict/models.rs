//! The forecasting models: each says, from what is known at the end of day `t`, the mean
//! daily variance over the next `h` trading days.
//!
//! - [`Model::Naive`]: the last day's realized variance.
//! - [`Model::Ewma`]: RiskMetrics (1996), λ = 0.94 over squared daily returns; flat over
//!   any horizon.
//! - [`Model::HarRv`]: Corsi (2009): the target regressed on the daily, weekly (5-day) and
//!   monthly (22-day) means of realized variance, by least squares (nalgebra's SVD) on a
//!   rolling window of the symbol's own history, one fit per horizon ("direct" forecasts).
//! - [`Model::AtmIv`]: the at-the-money implied variance of the expiry nearest the horizon,
//!   where chains exist (in the `predict` role, not in the backtest: no history of chains is
//!   kept long enough to score it).

use nalgebra::{DMatrix, DVector};
use optionsflow_api::named_enum;

/// RiskMetrics' decay.
pub const EWMA_LAMBDA: f64 = 0.94;

/// The HAR-RV regressors' spans, in trading days.
pub const WEEK: usize = 5;
pub const MONTH: usize = 22;

/// Forecasts are never below this share of the series' mean: a fit can dip through zero
/// where the data is thin, and a variance forecast must stay positive (QLIKE needs it).
const FLOOR_SHARE: f64 = 0.05;

named_enum! {
    rename_all = "snake_case";
    #[derive(strum::EnumString)]
    pub enum Model {
        Naive,
        Ewma,
        HarRv,
        AtmIv,
    }
}

impl Model {
    /// The model named `name` ([`Model::as_str`]).
    pub fn named(name: &str) -> Option<Model> {
        name.parse().ok()
    }
}

/// The mean of `values[from..to]`.
fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// HAR-RV's regressors at the end of day `t` (needs `t + 1 >= MONTH`): 1, daily, weekly and
/// monthly realized variance.
pub fn regressors(rv: &[f64], t: usize) -> Option<[f64; 4]> {
    (t + 1 >= MONTH && t < rv.len()).then(|| {
        [
            1.0,
            rv[t],
            mean(&rv[t + 1 - WEEK..=t]),
            mean(&rv[t + 1 - MONTH..=t]),
        ]
    })
}

/// What the `h` days after `t` realized: their mean variance (`None` past the data).
pub fn target(rv: &[f64], t: usize, h: usize) -> Option<f64> {
    (t + h < rv.len()).then(|| mean(&rv[t + 1..=t + h]))
}

/// A HAR-RV fit: the coefficients (constant, daily, weekly, monthly) and the standard
/// deviation of its in-sample residuals.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HarFit {
    pub beta: [f64; 4],
    pub residual_sd: f64,
}

/// HAR-RV coefficients for horizon `h`, fitted on the days in `days` whose targets are
/// known by day `known` (their last target day is at most `known`): no look-ahead.
pub fn har_fit(rv: &[f64], days: std::ops::Range<usize>, known: usize, h: usize) -> Option<HarFit> {
    let rows: Vec<([f64; 4], f64)> = days
        .filter(|t| t + h <= known)
        .filter_map(|t| Some((regressors(rv, t)?, target(rv, t, h)?)))
        .collect();
    if rows.len() < 2 * 4 {
        return None;
    }
    let x = DMatrix::from_row_iterator(rows.len(), 4, rows.iter().flat_map(|(r, _)| *r));
    let y = DVector::from_iterator(rows.len(), rows.iter().map(|(_, y)| *y));
    let solved = x.clone().svd(true, true).solve(&y, 1e-18).ok()?;
    let beta = [solved[0], solved[1], solved[2], solved[3]];
    if !beta.iter().all(|b| b.is_finite()) {
        return None;
    }
    let residuals = y - x * solved;
    let dof = (rows.len() - 4) as f64;
    Some(HarFit {
        beta,
        residual_sd: (residuals.norm_squared() / dof).sqrt(),
    })
}

/// The session whose fit serves day `t`: the first session of `t`'s month in `days` (a
/// monthly refit, fixed by the calendar, so a day's forecast does not depend on where the
/// history starts).
pub fn fit_day(days: &[chrono::NaiveDate], t: usize) -> usize {
    use chrono::Datelike;
    let month = (days[t].year(), days[t].month());
    let mut m = t;
    while m > 0 && (days[m - 1].year(), days[m - 1].month()) == month {
        m -= 1;
    }
    m
}

/// HAR-RV fits by (fit session, horizon), each made once: at the fit session, on the
/// `window` sessions before it whose targets had ended.
#[derive(Debug, Default)]
pub struct Fits {
    fits: std::collections::HashMap<(usize, usize), Option<HarFit>>,
}

impl Fits {
    /// The fit that serves day `t` at horizon `h`.
    pub fn serving(
        &mut self,
        rv: &[f64],
        days: &[chrono::NaiveDate],
        t: usize,
        h: usize,
        window: usize,
    ) -> Option<HarFit> {
        let m = fit_day(days, t);
        *self
            .fits
            .entry((m, h))
            .or_insert_with(|| har_fit(rv, m.saturating_sub(window)..m + 1, m, h))
    }
}

/// The HAR-RV forecast at the end of day `t` with coefficients `beta`, floored.
pub fn har_forecast(rv: &[f64], t: usize, beta: &[f64; 4]) -> Option<f64> {
    let x = regressors(rv, t)?;
    let f: f64 = x.iter().zip(beta).map(|(a, b)| a * b).sum();
    Some(f.max(FLOOR_SHARE * x[3]))
}

/// The RiskMetrics variance after each day's return: σ²_t = λσ²_{t−1} + (1−λ) r²_t, started
/// at the first `MONTH` days' mean squared return.
pub fn ewma(returns: &[f64]) -> Vec<f64> {
    if returns.is_empty() {
        return Vec::new();
    }
    let squares: Vec<f64> = returns.iter().map(|r| r * r).collect();
    let start = mean(&squares[..squares.len().clamp(1, MONTH)]);
    let mut variance = start;
    squares
        .iter()
        .map(|s| {
            variance = EWMA_LAMBDA * variance + (1.0 - EWMA_LAMBDA) * s;
            variance
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_made_by_a_har_is_fitted_back() {
        // rv_{t+1} = 0.1 + 0.3 d + 0.3 w + 0.3 m, from a wiggling start.
        let beta = [0.1, 0.3, 0.3, 0.3];
        let mut rv: Vec<f64> = (0..MONTH)
            .map(|i| 1.0 + 0.5 * ((i * 7 % 11) as f64 / 11.0))
            .collect();
        let mut state: u64 = 42;
        for t in MONTH - 1..20_000 {
            let x = regressors(&rv, t).unwrap();
            // Uniform shocks in ±0.5 (an LCG: no dependency for a test's noise).
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            rv.push(x.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>() + noise);
        }
        let fit = har_fit(&rv, 0..rv.len(), rv.len() - 1, 1).unwrap();
        for (got, want) in fit.beta.iter().zip(&beta) {
            assert!((got - want).abs() < 0.05, "{fit:?}");
        }
        // Uniform noise in ±0.5 has a standard deviation of 1/√12.
        assert!(
            (fit.residual_sd - 12f64.sqrt().recip()).abs() < 0.01,
            "{fit:?}"
        );
    }

    #[test]
    fn no_fit_uses_a_target_past_the_day_it_is_made() {
        let rv: Vec<f64> = (0..100).map(|i| 1.0 + (i % 5) as f64).collect();
        // Known up to day 60: day 55 with h = 5 ends on 60 and may be used, 56 may not.
        let upto_60 = har_fit(&rv, 0..100, 60, 5).unwrap();
        let mut changed = rv.clone();
        for v in &mut changed[61..] {
            *v = 1000.0;
        }
        assert_eq!(har_fit(&changed, 0..100, 60, 5).unwrap(), upto_60);
    }

    #[test]
    fn ewma_follows_riskmetrics() {
        let v = ewma(&[0.01, 0.02, -0.03]);
        let start = (0.0001 + 0.0004 + 0.0009) / 3.0;
        let one = 0.94 * start + 0.06 * 0.0001;
        assert!((v[0] - one).abs() < 1e-18);
        assert!((v[2] - (0.94 * (0.94 * one + 0.06 * 0.0004) + 0.06 * 0.0009)).abs() < 1e-18);
        assert!(ewma(&[]).is_empty());
    }
}
