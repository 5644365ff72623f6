//! Walk-forward evaluation with no look-ahead: on each day `t` every model forecasts the mean
//! variance of the next `h` days from what was known at the end of `t` (HAR-RV refitted at
//! the first session of each month on the last [`Settings::window`] days whose targets had
//! ended by then, [`models::Fits`]), and the forecast is scored against what those days
//! realized. These are the forecasts the `predict` role stores.
//!
//! Scores: MSE of the annualised variance, and QLIKE, `y/f − ln(y/f) − 1` (Patton, 2011),
//! which ranks forecasts the same whatever the noise in the realized proxy and punishes
//! forecasting too little more than too much, as a risk manager would.

use std::collections::BTreeMap;

use super::Series;
use super::models::{self, Model};

/// The horizons forecast, in trading days.
pub const HORIZONS: [usize; 3] = [1, 5, 21];

/// Trading days in a year, to annualise variances.
pub const YEAR: f64 = 252.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Days of history a HAR-RV fit uses.
    pub window: usize,
    /// Days of history before the first forecast is scored.
    pub warmup: usize,
}

impl Settings {
    /// The index of the first day scored.
    pub fn first_scored(&self) -> usize {
        self.warmup.max(models::MONTH)
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            window: 1000,
            warmup: 250,
        }
    }
}

/// One model's score on one symbol and horizon.
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    pub model: Model,
    pub symbol: String,
    pub horizon_days: usize,
    pub n: usize,
    /// Mean squared error of the annualised variance.
    pub mse: f64,
    pub qlike: f64,
}

#[derive(Default)]
struct Sums {
    n: usize,
    squared: f64,
    qlike: f64,
}

impl Sums {
    fn add(&mut self, forecast: f64, realized: f64) {
        if !(forecast > 0.0 && realized > 0.0) {
            return;
        }
        let ratio = realized / forecast;
        self.n += 1;
        self.squared += ((realized - forecast) * YEAR).powi(2);
        self.qlike += ratio - ratio.ln() - 1.0;
    }
}

/// Every model's scores on one symbol, per horizon.
pub fn backtest(series: &Series, settings: &Settings) -> Vec<Score> {
    let rv = &series.rv;
    let ewma = models::ewma(&series.returns);
    let mut out = Vec::new();
    for h in HORIZONS {
        let mut sums: BTreeMap<Model, Sums> = BTreeMap::new();
        let mut fits = models::Fits::default();
        let first = settings.first_scored();
        for t in first..rv.len().saturating_sub(h) {
            let beta = fits
                .serving(rv, &series.days, t, h, settings.window)
                .map(|f| f.beta);
            let Some(realized) = models::target(rv, t, h) else {
                continue;
            };
            sums.entry(Model::Naive).or_default().add(rv[t], realized);
            sums.entry(Model::Ewma).or_default().add(ewma[t], realized);
            if let Some(f) = beta.and_then(|b| models::har_forecast(rv, t, &b)) {
                sums.entry(Model::HarRv).or_default().add(f, realized);
            }
        }
        for (model, s) in sums {
            if s.n == 0 {
                continue;
            }
            out.push(Score {
                model,
                symbol: series.symbol.clone(),
                horizon_days: h,
                n: s.n,
                mse: s.squared / s.n as f64,
                qlike: s.qlike / s.n as f64,
            });
        }
    }
    out
}

impl Score {
    /// Its model's name, symbol, horizon, count, MSE and QLIKE, as a report lists them.
    fn cells(&self) -> (&'static str, &str, usize, usize, f64, f64) {
        let Score {
            model,
            symbol,
            horizon_days,
            n,
            mse,
            qlike,
        } = self;
        (model.as_str(), symbol, *horizon_days, *n, *mse, *qlike)
    }
}

/// `model,symbol,horizon_days,n,mse,qlike`, one line per score.
pub fn csv(scores: &[Score]) -> String {
    let mut out = String::from("model,symbol,horizon_days,n,mse,qlike\n");
    for (model, symbol, horizon_days, n, mse, qlike) in scores.iter().map(Score::cells) {
        out.push_str(&format!(
            "{model},{symbol},{horizon_days},{n},{mse:.6e},{qlike:.6}\n"
        ));
    }
    out
}

/// A table for people, with each model's mean over symbols per horizon at the end.
pub fn table(scores: &[Score]) -> String {
    let mut out = format!(
        "{:<8} {:<8} {:>7} {:>6} {:>12} {:>8}\n",
        "model", "symbol", "horizon", "n", "mse", "qlike"
    );
    for (model, symbol, horizon_days, n, mse, qlike) in scores.iter().map(Score::cells) {
        out.push_str(&format!(
            "{model:<8} {symbol:<8} {horizon_days:>6}d {n:>6} {mse:>12.4e} {qlike:>8.4}\n"
        ));
    }
    out.push_str("\nmean over symbols\n");
    for (model, h, qlike, mse) in means(scores) {
        out.push_str(&format!(
            "{:<8} {:>6}d  qlike {:>8.4}  mse {:>12.4e}\n",
            model.as_str(),
            h,
            qlike,
            mse
        ));
    }
    out
}

/// Where HAR-RV's mean QLIKE over `scores` is not under `margin` times the naive's and the
/// EWMA's at every horizon, in words; empty where it beats both. What the tests of the sample
/// and the stand-in markets assert.
pub fn har_rv_shortfalls(scores: &[Score], margin: f64) -> Vec<String> {
    let means = means(scores);
    let qlike = |model: Model, h: usize| {
        means
            .iter()
            .find(|(m, horizon, ..)| *m == model && *horizon == h)
            .map(|(.., q, _)| *q)
    };
    let mut shortfalls = Vec::new();
    for h in HORIZONS {
        let Some(har) = qlike(Model::HarRv, h) else {
            shortfalls.push(format!("{h} days: no HAR-RV score"));
            continue;
        };
        for baseline in [Model::Naive, Model::Ewma] {
            match qlike(baseline, h) {
                Some(b) if har < margin * b => {}
                other => shortfalls.push(format!(
                    "{h} days: har_rv QLIKE {har} vs {baseline:?} {other:?}"
                )),
            }
        }
    }
    shortfalls
}

/// Each (model, horizon)'s mean QLIKE and MSE over symbols.
pub fn means(scores: &[Score]) -> Vec<(Model, usize, f64, f64)> {
    let mut groups: BTreeMap<(usize, Model), Vec<&Score>> = BTreeMap::new();
    for s in scores {
        groups.entry((s.horizon_days, s.model)).or_default().push(s);
    }
    groups
        .into_iter()
        .map(|((h, model), list)| {
            let n = list.len() as f64;
            (
                model,
                h,
                list.iter().map(|s| s.qlike).sum::<f64>() / n,
                list.iter().map(|s| s.mse).sum::<f64>() / n,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_forecast_scores_zero_and_qlike_punishes_too_little_more() {
        let mut s = Sums::default();
        s.add(2.0, 2.0);
        assert_eq!((s.n, s.squared, s.qlike), (1, 0.0, 0.0));
        let (mut low, mut high) = (Sums::default(), Sums::default());
        low.add(1.0, 2.0);
        high.add(3.0, 2.0);
        assert!(low.qlike > high.qlike);
        assert_eq!(low.squared, high.squared);
        // Non-positive values are not scored.
        s.add(0.0, 1.0);
        assert_eq!(s.n, 1);
    }
}
