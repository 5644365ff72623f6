//! The stand-in market's walk: each symbol's daily variance a GARCH(1,1), its log price a
//! slowly mean-reverting walk, so that volatility clusters as a real market's does and a
//! forecaster has something to find. Walked session by session from [`EPOCH`]; the same
//! symbol and day always give the same figures, whatever was asked before.

use super::{Rng, is_trading_day, seed};
use chrono::{Duration, NaiveDate};

/// The GARCH's weight on the previous session's squared shock.
pub const GARCH_ALPHA: f64 = 0.08;
/// The GARCH's weight on the previous session's variance.
pub const GARCH_BETA: f64 = 0.90;
/// The log price's daily pull back towards the level.
const REVERSION: f64 = 0.01;
/// Where every walk starts.
pub const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(2016, 1, 4) {
    Some(d) => d,
    None => panic!("a valid date"),
};

/// One session of a symbol's walk.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Session {
    pub day: NaiveDate,
    pub close: f64,
    /// The session's variance of the daily log return, as the GARCH set it before the day.
    pub variance: f64,
    /// The session's return shock, and its log price relative to the level: where the walk
    /// goes on from.
    shock: f64,
    log_price: f64,
}

/// The symbol's price level.
fn level(symbol: &str) -> f64 {
    20.0 + (seed(&[symbol]) % 48_000) as f64 / 100.0
}

/// The symbol's long-run annualised volatility, 15 % to 45 %.
pub fn long_run_vol(symbol: &str) -> f64 {
    0.15 + (seed(&[symbol, "vol"]) % 30) as f64 / 100.0
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u = rng.unit().max(1e-300);
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * rng.unit()).cos()
}

type Walks = std::collections::HashMap<String, Vec<Session>>;
static WALKS: std::sync::LazyLock<std::sync::Mutex<Walks>> =
    std::sync::LazyLock::new(Default::default);

/// The session on or before `day` (the first session for days before [`EPOCH`]), from the
/// symbol's walk, extended through `day` where it stopped before.
pub fn session(symbol: &str, day: NaiveDate) -> Session {
    let mut walks = WALKS.lock().unwrap_or_else(|e| e.into_inner());
    let sessions = walks.entry(symbol.to_owned()).or_default();
    let long_run = long_run_vol(symbol).powi(2) / 252.0;
    let omega = long_run * (1.0 - GARCH_ALPHA - GARCH_BETA);
    // Before the first session: the long run, as if yesterday's shock had been typical.
    let (mut next, mut previous) = match sessions.last() {
        Some(last) => (last.day + Duration::days(1), *last),
        None => (
            EPOCH,
            Session {
                day: EPOCH,
                close: level(symbol),
                variance: long_run,
                shock: long_run.sqrt(),
                log_price: 0.0,
            },
        ),
    };
    while next <= day.max(EPOCH) {
        if is_trading_day(next) {
            let variance =
                omega + GARCH_ALPHA * previous.shock.powi(2) + GARCH_BETA * previous.variance;
            let mut rng = Rng::new(seed(&[symbol, "shock", &next.to_string()]));
            let shock = normal(&mut rng) * variance.sqrt();
            let log_price = (1.0 - REVERSION) * previous.log_price + shock;
            previous = Session {
                day: next,
                close: level(symbol) * log_price.exp(),
                variance,
                shock,
                log_price,
            };
            sessions.push(previous);
        }
        next += Duration::days(1);
    }
    let i = sessions.partition_point(|s| s.day <= day);
    sessions[i.saturating_sub(1)]
}

/// The symbol's closing price on `day` (the last session's on a closed day).
pub fn close(symbol: &str, day: NaiveDate) -> f64 {
    session(symbol, day).close
}

/// The annualised volatility the GARCH expects over the `years` after `day`'s session: the
/// mean of the expected daily variances, which decay towards the long run at α + β a day.
pub fn expected_vol(symbol: &str, day: NaiveDate, years: f64) -> f64 {
    let now = session(symbol, day).variance;
    let long_run = long_run_vol(symbol).powi(2) / 252.0;
    let persistence = GARCH_ALPHA + GARCH_BETA;
    let n = (years * 252.0).max(1.0);
    let mean =
        long_run + (now - long_run) * (1.0 - persistence.powf(n)) / (n * (1.0 - persistence));
    (mean * 252.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::super::{chain, trading_days};
    use super::*;

    #[test]
    fn volatility_clusters_and_option_prices_follow_it() {
        let days = trading_days(
            NaiveDate::from_ymd_opt(2018, 1, 2).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
        );
        let closes: Vec<f64> = days.iter().map(|d| close("SPY", *d)).collect();
        let squares: Vec<f64> = closes
            .windows(2)
            .map(|w| (w[1] / w[0]).ln().powi(2))
            .collect();
        // Big moves follow big moves: squared returns are autocorrelated, as in markets
        // (and not at all with a constant volatility).
        let mean = squares.iter().sum::<f64>() / squares.len() as f64;
        let centred: Vec<f64> = squares.iter().map(|s| s - mean).collect();
        let lag1: f64 = centred.windows(2).map(|w| w[0] * w[1]).sum();
        let var: f64 = centred.iter().map(|c| c * c).sum();
        assert!(lag1 / var > 0.05, "{}", lag1 / var);
        // Prices stay in range over the years.
        assert!(
            closes
                .iter()
                .all(|c| *c > 0.3 * level("SPY") && *c < 3.0 * level("SPY"))
        );
        // The same day gives the same figures whatever was asked before.
        WALKS.lock().unwrap().clear();
        assert_eq!(close("SPY", days[1000]), closes[1000]);

        // The calmest and the wildest session: one-month options are dearer after the wild one.
        let by_variance = |d: &NaiveDate| session("SPY", *d).variance;
        let calm = *days
            .iter()
            .min_by(|a, b| by_variance(a).total_cmp(&by_variance(b)))
            .unwrap();
        let wild = *days
            .iter()
            .max_by(|a, b| by_variance(a).total_cmp(&by_variance(b)))
            .unwrap();
        let atm = |day: NaiveDate| {
            let expiry = day + Duration::days(30);
            let spot = close("SPY", day);
            let quotes = chain("SPY", day, expiry, spot);
            quotes
                .iter()
                .min_by(|a, b| (a.strike - spot).abs().total_cmp(&(b.strike - spot).abs()))
                .unwrap()
                .iv
        };
        assert!(
            atm(wild) > 1.5 * atm(calm),
            "{} vs {}",
            atm(wild),
            atm(calm)
        );
    }
}
