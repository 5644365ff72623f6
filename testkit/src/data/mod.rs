//! Deterministic market data for the fake providers: the same symbol and day always give the
//! same bars and chains, so tests can compare what arrived with what was served. Volatility
//! clusters (a GARCH(1,1) per symbol, [`walk`]), bars and chains follow it.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use optionsflow_api::runtime_config::Processing;
use optionsflow_api::runtime_config::RatePoint;

mod walk;
pub use walk::{
    EPOCH, GARCH_ALPHA, GARCH_BETA, Session, close, expected_vol, long_run_vol, session,
};

/// NYSE full closures 2024–2028 as documented (docs/market-data.md), so the fakes leave
/// holidays out of their series the way Twelve Data does; the calendar's rules are tested
/// against this list.
pub const NYSE_CLOSED: &[&str] = &[
    "2024-01-01",
    "2024-01-15",
    "2024-02-19",
    "2024-03-29",
    "2024-05-27",
    "2024-06-19",
    "2024-07-04",
    "2024-09-02",
    "2024-11-28",
    "2024-12-25",
    "2025-01-01",
    "2025-01-09",
    "2025-01-20",
    "2025-02-17",
    "2025-04-18",
    "2025-05-26",
    "2025-06-19",
    "2025-07-04",
    "2025-09-01",
    "2025-11-27",
    "2025-12-25",
    "2026-01-01",
    "2026-01-19",
    "2026-02-16",
    "2026-04-03",
    "2026-05-25",
    "2026-06-19",
    "2026-07-03",
    "2026-09-07",
    "2026-11-26",
    "2026-12-25",
    "2027-01-01",
    "2027-01-18",
    "2027-02-15",
    "2027-03-26",
    "2027-05-31",
    "2027-06-18",
    "2027-07-05",
    "2027-09-06",
    "2027-11-25",
    "2027-12-24",
    "2028-01-17",
    "2028-02-21",
    "2028-04-14",
    "2028-05-29",
    "2028-06-19",
    "2028-07-04",
    "2028-09-04",
    "2028-11-23",
    "2028-12-25",
];

pub fn is_trading_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
        && !NYSE_CLOSED.contains(&d.to_string().as_str())
}

/// A small, fast, deterministic generator (SplitMix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// FNV-1a of the parts, as a seed.
pub fn seed(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub time: NaiveDateTime,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: u64,
}

/// A session's bar: it opens near the previous close, and its range widens with the day's
/// variance.
pub fn daily_bar(symbol: &str, day: NaiveDate) -> Bar {
    let mut rng = Rng::new(seed(&[symbol, "daily", &day.to_string()]));
    let today = session(symbol, day);
    let previous = session(symbol, day - Duration::days(1));
    let sd = today.variance.sqrt();
    let close = today.close;
    let open = previous.close * (1.0 + (rng.unit() - 0.5) * 0.5 * sd);
    let high = open.max(close) * (1.0 + rng.unit() * sd);
    let low = open.min(close) * (1.0 - rng.unit() * sd);
    Bar {
        time: day.and_time(NaiveTime::MIN),
        open,
        high,
        low,
        close,
        volume: 1_000_000 + rng.next_u64() % 20_000_000,
    }
}

/// Trading days from `from` to `to`, both included.
pub fn trading_days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    from.iter_days()
        .take_while(|d| *d <= to)
        .filter(|d| is_trading_day(*d))
        .collect()
}

/// The last `n` trading days up to `today`, oldest first.
pub fn last_trading_days(today: NaiveDate, n: usize) -> Vec<NaiveDate> {
    let mut days = Vec::new();
    let mut d = today;
    while days.len() < n {
        if is_trading_day(d) {
            days.push(d);
        }
        d -= Duration::days(1);
    }
    days.reverse();
    days
}

/// Day after Thanksgiving and Dec 24 (Mon–Thu) and Jul 3 (Mon–Thu) close at 13:00.
pub fn early_close(day: NaiveDate) -> bool {
    let thanksgiving =
        NaiveDate::from_weekday_of_month_opt(day.year(), 11, Weekday::Thu, 4).expect("exists");
    let weekday_eve = |m, d| {
        day.month() == m
            && day.day() == d
            && !matches!(day.weekday(), Weekday::Fri | Weekday::Sat | Weekday::Sun)
    };
    day == thanksgiving + Duration::days(1) || weekday_eve(7, 3) || weekday_eve(12, 24)
}

/// 15-minute bars of one session (exchange-local open times 09:30 … 15:45).
pub fn intraday_bars(symbol: &str, day: NaiveDate) -> Vec<Bar> {
    if !is_trading_day(day) {
        return Vec::new();
    }
    let bars = if early_close(day) { 14 } else { 26 };
    let daily = daily_bar(symbol, day);
    // Each bar's move has the session's variance spread over its bars (a uniform's standard
    // deviation is 1/√12).
    let step = (session(symbol, day).variance / f64::from(bars)).sqrt() * 12f64.sqrt();
    let mut rng = Rng::new(seed(&[symbol, "15min", &day.to_string()]));
    let mut price = daily.open;
    (0..bars)
        .map(|i| {
            let open = price;
            let close = if i == bars - 1 {
                daily.close
            } else {
                open * (1.0 + (rng.unit() - 0.5) * step)
            };
            price = close;
            Bar {
                time: day.and_hms_opt(9, 30, 0).expect("valid")
                    + Duration::minutes(15 * i64::from(i)),
                open,
                high: open.max(close) * (1.0 + rng.unit() * 0.25 * step),
                low: open.min(close) * (1.0 - rng.unit() * 0.25 * step),
                close,
                volume: 10_000 + rng.next_u64() % 500_000,
            }
        })
        .collect()
}

/// Expirations listed on `today`: the next eight Fridays, then third Fridays for a year
/// (Thursday when the Friday is a holiday).
pub fn expirations(today: NaiveDate) -> Vec<NaiveDate> {
    let shift = |d: NaiveDate| {
        if is_trading_day(d) {
            d
        } else {
            d - Duration::days(1)
        }
    };
    let mut out = Vec::new();
    let mut friday = today;
    while friday.weekday() != Weekday::Fri {
        friday += Duration::days(1);
    }
    for i in 0..8 {
        out.push(shift(friday + Duration::weeks(i)));
    }
    for m in 0..13 {
        let month = (today.month0() + m) % 12 + 1;
        let year = today.year() + ((today.month0() + m) / 12) as i32;
        let third =
            NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Fri, 3).expect("exists");
        out.push(shift(third));
    }
    out.retain(|d| *d >= today);
    out.sort();
    out.dedup();
    out
}

/// One option quote.
#[derive(Clone, Debug, PartialEq)]
pub struct Quote {
    /// Compact OSI symbol.
    pub symbol: String,
    pub expiry: NaiveDate,
    pub call: bool,
    pub strike: f64,
    pub bid: f64,
    pub ask: f64,
    pub last: f64,
    pub volume: u64,
    pub open_interest: u64,
    pub iv: f64,
}

/// The stand-in market's risk-free rates by tenor: a Treasury curve, inverted past three
/// months as in 2024–26. Tests configure the processor with the same points
/// (`processing.rateCurve`), as a user would with the day's curve.
pub const RATE_CURVE: [RatePoint; 4] = [
    RatePoint {
        days: 30,
        rate: 0.0425,
    },
    RatePoint {
        days: 91,
        rate: 0.0431,
    },
    RatePoint {
        days: 182,
        rate: 0.0418,
    },
    RatePoint {
        days: 365,
        rate: 0.0402,
    },
];

/// The curve's rate `years` out, read as the processor reads `rateCurve`.
pub fn rate(years: f64) -> f64 {
    Processing {
        rate_curve: RATE_CURVE.to_vec(),
        ..Processing::default()
    }
    .rate(years)
}

/// Every underlying pays a continuous dividend yield, 0.3 % to 2.8 % a year, fixed per symbol.
pub fn dividend_yield(symbol: &str) -> f64 {
    0.003 + (seed(&[symbol, "dividend"]) % 2_500) as f64 / 100_000.0
}

/// Years from `today`'s close to `expiry`'s close, the stand-in's pricing convention
/// (whole days over 365; at least a day).
pub fn years(today: NaiveDate, expiry: NaiveDate) -> f64 {
    ((expiry - today).num_days().max(1) as f64) / 365.0
}

/// The true forward of `symbol`'s `expiry` seen from `today` at spot `spot`:
/// `S·e^((r−q)T)`, the forward every chain price is built on.
pub fn forward(symbol: &str, today: NaiveDate, expiry: NaiveDate, spot: f64) -> f64 {
    let t = years(today, expiry);
    spot * ((rate(t) - dividend_yield(symbol)) * t).exp()
}

/// Underlyings whose options trade in pennies at every price (the Penny Interval
/// Program's three ETFs); every other class trades in pennies below $3 and nickels above.
pub const PENNY_EVERYWHERE: [&str; 3] = ["SPY", "QQQ", "IWM"];

/// The quoting increment of `symbol`'s options at `price`.
pub fn tick(symbol: &str, price: f64) -> f64 {
    if price < 3.0 || PENNY_EVERYWHERE.contains(&symbol) {
        0.01
    } else {
        0.05
    }
}

/// The chain of one expiration: strikes around the spot, a smile, and European
/// Black-Scholes-Merton values with the symbol's dividend yield and the curve's rate,
/// rounded to the tick as mids; bid and ask are whole ticks either side, wider away from
/// the money.
pub fn chain(symbol: &str, today: NaiveDate, expiry: NaiveDate, spot: f64) -> Vec<Quote> {
    let step = if spot < 50.0 {
        1.0
    } else if spot < 200.0 {
        2.5
    } else {
        5.0
    };
    let center = (spot / step).round() * step;
    let years = years(today, expiry);
    let discount = (-rate(years) * years).exp();
    let forward = forward(symbol, today, expiry, spot);
    let mut rng = Rng::new(seed(&[symbol, "chain", &expiry.to_string()]));
    let mut out = Vec::new();
    for i in -10i32..=10 {
        let strike = center + f64::from(i) * step;
        if strike <= 0.0 {
            continue;
        }
        let moneyness = (strike / forward).ln();
        // The level the GARCH expects over the expiry's life, with a 5 % premium, and a smile.
        let iv = 1.05 * expected_vol(symbol, today, years) + 0.35 * moneyness * moneyness
            - 0.08 * moneyness;
        for call in [true, false] {
            let value = black(call, forward, strike, years, discount, iv);
            let tick = tick(symbol, value);
            let mid_ticks = (value / tick).round().max(1.0);
            // Half the spread in ticks: one at the money, more away from it and for dear
            // contracts.
            let half_ticks = (1.0 + (moneyness.abs() * 20.0).floor() + value * 0.01 / tick).round();
            let bid_ticks = (mid_ticks - half_ticks).max(0.0);
            let ask_ticks = mid_ticks + half_ticks;
            out.push(Quote {
                symbol: format!(
                    "{}{}{}{:08}",
                    symbol,
                    expiry.format("%y%m%d"),
                    if call { 'C' } else { 'P' },
                    (strike * 1000.0).round() as u64
                ),
                expiry,
                call,
                strike,
                bid: cents(bid_ticks * tick),
                ask: cents(ask_ticks * tick),
                last: cents((value * (1.0 + (rng.unit() - 0.5) * 0.05)).max(0.01)),
                volume: rng.next_u64() % 5_000,
                open_interest: rng.next_u64() % 50_000,
                iv,
            });
        }
    }
    out
}

/// A price as a provider writes it: the nearest cent, as a double.
fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Black's price of a European option on forward `f`, discounted by `d`. The stand-in's own
/// formula, with musl's `erfc` (the `libm` crate): independent of the processor's solver.
pub fn black(call: bool, f: f64, k: f64, t: f64, d: f64, sigma: f64) -> f64 {
    let v = sigma * t.sqrt();
    let d1 = (f / k).ln() / v + v / 2.0;
    let d2 = d1 - v;
    if call {
        d * (f * norm_cdf(d1) - k * norm_cdf(d2))
    } else {
        d * (k * norm_cdf(-d2) - f * norm_cdf(-d1))
    }
}

/// The standard normal distribution function, to double precision in both tails.
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The volatility at which [`black`] gives `price`: bisection in log-volatility, slow and
/// certain. `None` outside the prices any volatility gives.
pub fn implied_vol(call: bool, f: f64, k: f64, t: f64, d: f64, price: f64) -> Option<f64> {
    let (mut lo, mut hi) = (1e-4f64.ln(), 5f64.ln());
    let at = |s: f64| black(call, f, k, t, d, s);
    if !(at(lo.exp()) < price && price < at(hi.exp())) {
        return None;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if at(mid.exp()) < price {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some((0.5 * (lo + hi)).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn bars_are_deterministic_and_consistent() {
        let a = daily_bar("AAPL", d("2026-11-24"));
        assert_eq!(a, daily_bar("AAPL", d("2026-11-24")));
        assert!(a.low <= a.open.min(a.close) && a.high >= a.open.max(a.close));
        assert_eq!(intraday_bars("AAPL", d("2026-11-24")).len(), 26);
        assert_eq!(intraday_bars("AAPL", d("2026-11-27")).len(), 14);
        assert!(intraday_bars("AAPL", d("2026-11-26")).is_empty());
    }

    #[test]
    fn expirations_shift_off_holidays() {
        let e = expirations(d("2026-06-01"));
        assert!(
            e.contains(&d("2026-06-18")),
            "Juneteenth Friday moves to Thursday"
        );
        assert!(e.iter().all(|x| *x >= d("2026-06-01")));
    }

    #[test]
    fn chains_quote_both_sides_on_ticks_around_european_values() {
        let (today, expiry, spot) = (d("2026-11-24"), d("2026-12-18"), 101.3);
        let c = chain("XYZ", today, expiry, spot);
        assert_eq!(c.len(), 42);
        assert!(c.iter().all(|q| q.ask > q.bid && q.bid >= 0.0));
        assert_eq!(c[0].symbol.len(), "XYZ261218C00000000".len());
        // Parity against the true forward, within the ticks' rounding.
        let f = forward("XYZ", today, expiry, spot);
        let t = years(today, expiry);
        let discount = (-rate(t) * t).exp();
        for pair in c.chunks(2) {
            let mid = |q: &Quote| (q.bid + q.ask) / 2.0;
            let (call, put) = (&pair[0], &pair[1]);
            if call.bid == 0.0 || put.bid == 0.0 {
                continue;
            }
            let parity = discount * (f - call.strike);
            assert!(
                (mid(call) - mid(put) - parity).abs() <= 0.05 + 1e-9,
                "{call:?} {put:?}"
            );
        }
        assert!(
            f < spot * (1.0 + 0.05 * t),
            "a dividend yield pulls the forward down"
        );
    }

    #[test]
    fn the_reference_formula_and_its_inverse() {
        assert!((norm_cdf(1.96) - 0.975_002_104_851_780).abs() < 1e-15);
        assert!((norm_cdf(-10.0) - 7.619_853_024_160_527e-24).abs() < 1e-36);
        let price = black(true, 100.0, 105.0, 0.25, 0.99, 0.3);
        let iv = implied_vol(true, 100.0, 105.0, 0.25, 0.99, price).unwrap();
        assert!((iv - 0.3).abs() < 1e-12, "{iv}");
        assert_eq!(implied_vol(false, 100.0, 105.0, 0.25, 0.99, 1e9), None);
    }

    #[test]
    fn the_curve_is_interpolated_and_flat_beyond() {
        assert_eq!(rate(1.0 / 365.0), 0.0425);
        assert!((rate(60.5 / 365.0) - (0.0425 + 0.0006 / 2.0)).abs() < 1e-12);
        assert_eq!(rate(900.0 / 365.0), 0.0402);
        assert!((0.003..0.028).contains(&dividend_yield("SPY")));
    }
}
