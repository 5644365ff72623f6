//! Realized variance: what a day's moves say its variance was, from 15-minute bars when a
//! session has enough of them, otherwise from the daily bar's range (Garman–Klass). Daily
//! units (variance of one day's log return); ×252 annualises.

/// A session needs this many 15-minute bars for their realized variance to be used (three
/// quarters of a full session's 26).
pub const MIN_INTRADAY_BARS: usize = 20;

/// A daily bar's prices.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ohlc {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
}

/// Sum of squared log returns between consecutive closes, starting from the first bar's
/// open; `None` with fewer than [`MIN_INTRADAY_BARS`] bars or a price that is not positive.
pub fn from_intraday(bars: &[Ohlc]) -> Option<f64> {
    if bars.len() < MIN_INTRADAY_BARS || bars.iter().any(|b| !positive(b)) {
        return None;
    }
    let mut previous = bars[0].open;
    let mut sum = 0.0;
    for bar in bars {
        sum += (bar.close / previous).ln().powi(2);
        previous = bar.close;
    }
    Some(sum)
}

/// Parkinson's range estimator: (ln H/L)² / (4 ln 2).
pub fn parkinson(bar: &Ohlc) -> Option<f64> {
    positive(bar).then(|| (bar.high / bar.low).ln().powi(2) / (4.0 * std::f64::consts::LN_2))
}

/// Garman–Klass: ½(ln H/L)² − (2 ln 2 − 1)(ln C/O)², floored at Parkinson's half (the
/// estimator can go negative on a bar that closes far from its open inside a narrow range).
pub fn garman_klass(bar: &Ohlc) -> Option<f64> {
    if !positive(bar) {
        return None;
    }
    let range = (bar.high / bar.low).ln().powi(2);
    let body = (bar.close / bar.open).ln().powi(2);
    let gk = 0.5 * range - (2.0 * std::f64::consts::LN_2 - 1.0) * body;
    Some(gk.max(0.5 * parkinson(bar)?))
}

fn positive(bar: &Ohlc) -> bool {
    [bar.open, bar.high, bar.low, bar.close]
        .iter()
        .all(|p| p.is_finite() && *p > 0.0)
        && bar.high >= bar.low
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(open: f64, high: f64, low: f64, close: f64) -> Ohlc {
        Ohlc {
            open,
            high,
            low,
            close,
        }
    }

    #[test]
    fn intraday_variance_is_the_sum_of_squared_log_returns() {
        let bars: Vec<Ohlc> = (0..20)
            .map(|i| {
                let close = if i % 2 == 0 { 101.0 } else { 100.0 };
                bar(100.0, 101.0, 100.0, close)
            })
            .collect();
        let rv = from_intraday(&bars).unwrap();
        assert!((rv - 20.0 * (101.0f64 / 100.0).ln().powi(2)).abs() < 1e-15);
        assert_eq!(from_intraday(&bars[..19]), None);
    }

    #[test]
    fn range_estimators_match_their_formulas_and_refuse_bad_bars() {
        let b = bar(100.0, 102.0, 99.0, 101.0);
        let hl = (102.0f64 / 99.0).ln();
        assert!((parkinson(&b).unwrap() - hl * hl / (4.0 * 2f64.ln())).abs() < 1e-15);
        let co = (101.0f64 / 100.0).ln();
        let gk = 0.5 * hl * hl - (2.0 * 2f64.ln() - 1.0) * co * co;
        assert!((garman_klass(&b).unwrap() - gk).abs() < 1e-15);
        assert_eq!(parkinson(&bar(100.0, 99.0, 101.0, 100.0)), None);
        assert_eq!(garman_klass(&bar(0.0, 1.0, 0.0, 1.0)), None);
        // A close far from the open in a narrow range: floored, never negative.
        assert!(garman_klass(&bar(100.0, 100.5, 99.9, 100.5)).unwrap() > 0.0);
    }
}
