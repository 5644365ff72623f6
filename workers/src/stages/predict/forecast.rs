//! The forecasts the `predict` role stores: every model at every horizon, made from what was
//! known at the close of one session. A forecast is a function of the history up to its
//! session only, so whenever it is computed (live, after a restart, on a replay) it is the
//! same row.
//!
//! Values are annualised volatility, √(252 × the forecast mean daily variance over the
//! horizon), the unit implied volatility is quoted in.

use chrono::{DateTime, NaiveDate, Utc};

use super::Series;
use super::backtest::{HORIZONS, YEAR};
use super::history::Atm;
use super::models::{self, Model};
use crate::market::calendar;

/// What a forecast is of.
pub const TARGET: &str = "realized_volatility";

/// Days of returns the EWMA forecast reads: 0.94^250 ≈ 2·10⁻⁷, so older days would not
/// change it, and a fixed span keeps it independent of where the history starts.
pub const EWMA_SPAN: usize = 250;

/// An at-the-money implied volatility is used for a horizon from the expiry nearest the
/// horizon (in calendar days) among those at least this far out: nearer expiries' IVs are
/// dominated by the next few days' events.
pub const MIN_EXPIRY_DAYS: i64 = 7;

/// The z-score of HAR-RV's two-sided 95 % interval.
const Z95: f64 = 1.959_964;

/// One model's forecast at one horizon.
#[derive(Clone, Debug, PartialEq)]
pub struct Forecast {
    pub model: Model,
    pub horizon_days: usize,
    /// The close of the session it was made after.
    pub made_at: DateTime<Utc>,
    /// The last session of the horizon.
    pub target_date: NaiveDate,
    pub value: f64,
    /// An approximate 95 % interval, where the model gives one (HAR-RV: its residuals').
    pub interval: Option<(f64, f64)>,
}

/// Annualised volatility from a daily variance.
pub fn volatility(daily_variance: f64) -> f64 {
    (daily_variance.max(0.0) * YEAR).sqrt()
}

/// The `h`-th trading day after `day`.
pub fn sessions_after(day: NaiveDate, h: usize) -> NaiveDate {
    day.iter_days()
        .skip(1)
        .filter(|d| calendar::is_trading_day(*d))
        .nth(h - 1)
        .expect("dates in range")
}

/// Every forecast made at the close of `series.days[t]`: HAR-RV with its month's fit
/// ([`models::Fits`], on `window` sessions), naive, EWMA, and the at-the-money implied
/// variance where the session had a chain.
pub fn at(
    series: &Series,
    t: usize,
    window: usize,
    fits: &mut models::Fits,
    atm: Option<&Atm>,
) -> Vec<Forecast> {
    let day = series.days[t];
    let made_at = calendar::session(day)
        .map(|s| s.close)
        .unwrap_or_else(|| calendar::exchange_instant(day, calendar::regular_close()));
    let ewma = models::ewma(&series.returns[(t + 1).saturating_sub(EWMA_SPAN)..=t])
        .last()
        .copied();
    let mut out = Vec::new();
    for h in HORIZONS {
        let mut push = |model, variance: f64, interval: Option<(f64, f64)>| {
            out.push(Forecast {
                model,
                horizon_days: h,
                made_at,
                target_date: sessions_after(day, h),
                value: volatility(variance),
                interval: interval.map(|(lo, hi)| (volatility(lo), volatility(hi))),
            })
        };
        push(Model::Naive, series.rv[t], None);
        if let Some(v) = ewma {
            push(Model::Ewma, v, None);
        }
        if let Some(fit) = fits.serving(&series.rv, &series.days, t, h, window)
            && let Some(v) = models::har_forecast(&series.rv, t, &fit.beta)
        {
            let spread = Z95 * fit.residual_sd;
            push(Model::HarRv, v, Some((v - spread, v + spread)));
        }
        if let Some(iv) = atm.and_then(|a| atm_for(a, day, h)) {
            push(Model::AtmIv, iv * iv / YEAR, None);
        }
    }
    out
}

/// The implied volatility of the expiry nearest `h` trading days out, among those at least
/// [`MIN_EXPIRY_DAYS`] away.
fn atm_for(atm: &Atm, day: NaiveDate, h: usize) -> Option<f64> {
    let wanted = h as f64 * 365.0 / YEAR;
    atm.by_expiry
        .iter()
        .map(|(expiry, iv)| ((*expiry - day).num_days(), *iv))
        .filter(|(days, _)| *days >= MIN_EXPIRY_DAYS)
        .min_by(|a, b| {
            (a.0 as f64 - wanted)
                .abs()
                .total_cmp(&(b.0 as f64 - wanted).abs())
        })
        .map(|(_, iv)| iv)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// A year of sessions whose variance doubles halfway.
    fn series() -> Series {
        let days: Vec<NaiveDate> =
            calendar::trading_days("2025-01-02".parse().unwrap(), "2025-12-31".parse().unwrap())
                .collect();
        let rv: Vec<f64> = (0..days.len())
            .map(|i| if i < 125 { 1e-4 } else { 2e-4 } * (1.0 + 0.3 * ((i * 7 % 5) as f64 - 2.0) / 2.0))
            .collect();
        let returns = rv
            .iter()
            .enumerate()
            .map(|(i, v)| if i % 2 == 0 { v.sqrt() } else { -v.sqrt() })
            .collect();
        Series {
            symbol: "SPY".into(),
            days,
            rv,
            returns,
        }
    }

    #[test]
    fn every_model_at_every_horizon_from_what_was_known_that_day() {
        let s = series();
        let t = 200;
        let day = s.days[t];
        let atm = Atm {
            snapshot_time: None,
            by_expiry: BTreeMap::from([
                (day + chrono::Duration::days(3), 0.5),
                (day + chrono::Duration::days(9), 0.20),
                (day + chrono::Duration::days(30), 0.25),
            ]),
        };
        let made = at(&s, t, 1000, &mut Default::default(), Some(&atm));
        assert_eq!(made.len(), 4 * HORIZONS.len());
        let find = |m, h| {
            made.iter()
                .find(|f| f.model == m && f.horizon_days == h)
                .unwrap()
        };
        assert_eq!(
            find(Model::Naive, 1).made_at,
            calendar::session(day).unwrap().close
        );
        assert_eq!(find(Model::Naive, 1).value, volatility(s.rv[t]));
        assert_eq!(find(Model::Naive, 5).target_date, sessions_after(day, 5));
        // A 3-day expiry is too near; 9 days is nearest 1 and 5 sessions, 30 nearest 21.
        assert_eq!(find(Model::AtmIv, 1).value, 0.20);
        assert!((find(Model::AtmIv, 5).value - 0.20).abs() < 1e-12);
        assert!((find(Model::AtmIv, 21).value - 0.25).abs() < 1e-12);
        let har = find(Model::HarRv, 5);
        let (lo, hi) = har.interval.unwrap();
        assert!(lo < har.value && har.value < hi, "{har:?}");
        // After the regime change, HAR-RV sees the higher level.
        assert!(har.value > volatility(1.5e-4), "{har:?}");

        // Nothing after day t matters.
        let mut later = s.clone();
        for v in &mut later.rv[t + 1..] {
            *v = 1.0;
        }
        assert_eq!(
            at(&later, t, 1000, &mut Default::default(), Some(&atm)),
            made
        );
    }

    #[test]
    fn horizons_end_on_sessions() {
        let wed: NaiveDate = "2026-11-25".parse().unwrap();
        // Thanksgiving is closed, Black Friday is a session, then the weekend.
        assert_eq!(
            sessions_after(wed, 1),
            "2026-11-27".parse::<NaiveDate>().unwrap()
        );
        assert_eq!(
            sessions_after(wed, 2),
            "2026-11-30".parse::<NaiveDate>().unwrap()
        );
    }
}
