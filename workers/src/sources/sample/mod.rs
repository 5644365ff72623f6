//! The `sample` source: realistic, deterministic market data for any symbol, generated
//! offline in the providers' own formats (Twelve Data time series, Yahoo option chains), so
//! the processor cleans and enriches it with the same code as live data. It is what
//! `optionsflow-worker local` collects without an API key, in the spirit of Vector's
//! `demo_logs`. Its envelopes say `source: sample`, and so do the rows, files and API
//! answers made from them.
//!
//! The same seed, symbol and day always give the same numbers: a close is a mean-reverting
//! random walk over trading days from 2000 whose daily variance follows a GARCH(1,1), so
//! volatility clusters as equity volatility does (a calm month tends to follow a calm month)
//! and can be forecast; intraday bars bridge one close to the next at the day's volatility,
//! daily ranges widen with it, and chains are priced with Black-Scholes-Merton on a
//! volatility surface whose level is the variance the GARCH expects over each expiry, with
//! a put skew and an upward term structure ([`chain`]). A small, configured share of rows is made dirty on
//! purpose (duplicates, crossed or missing quotes, impossible bars, missing bars).

pub mod chain;

use chrono::{Duration, NaiveDate, NaiveTime, Timelike};
use optionsflow_api::runtime_config::SampleSource;

use crate::market::calendar;
use crate::sources::twelvedata::wire::{Bar, DecimalText, Meta, TimeSeries};

/// The walk starts here; every close depends on the path from this day.
const WALK_START: (i32, u32, u32) = (2000, 1, 3);
/// Pull of the log price towards its long-run level, per trading day.
const MEAN_REVERSION: f64 = 1.0 / 500.0;

/// GARCH(1,1) weights of the daily variance: yesterday's squared move and yesterday's
/// variance (persistence 0.98, a half-life of about 35 trading days: typical of equities).
pub const GARCH_ALPHA: f64 = 0.08;
pub const GARCH_BETA: f64 = 0.90;

/// One trading day of a symbol's walk.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Day {
    pub day: NaiveDate,
    pub close: f64,
    /// The variance of the day's log return, as the GARCH set it the evening before.
    pub variance: f64,
}

/// A seeded generator of sample market data.
#[derive(Clone, Debug)]
pub struct Sample {
    seed: u64,
    dirty_per_mille: u32,
}

/// A fast deterministic generator (SplitMix64).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u = self.unit().max(f64::MIN_POSITIVE);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// True with probability `per_mille` / 1000.
    pub(crate) fn chance(&mut self, per_mille: u32) -> bool {
        self.next_u64() % 1000 < u64::from(per_mille)
    }
}

/// FNV-1a over the parts, mixed with the seed: a stable seed per (symbol, day, ...).
pub(crate) fn mix(seed: u64, parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// What a symbol is like: its price level and volatility.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Profile {
    /// Long-run price level.
    pub level: f64,
    /// Annual volatility at the money, one year out.
    pub vol: f64,
    /// Continuous dividend yield.
    pub dividend_yield: f64,
}

/// Broad index funds and indices move less than single stocks.
fn is_index_like(symbol: &str) -> bool {
    matches!(
        symbol,
        "SPY" | "QQQ" | "IWM" | "DIA" | "SPX" | "NDX" | "RUT" | "VIX" | "XSP"
    )
}

impl Sample {
    pub fn new(settings: &SampleSource) -> Sample {
        Sample {
            seed: settings.seed,
            dirty_per_mille: settings.dirty_per_mille.min(1000),
        }
    }

    pub(crate) fn rng(&self, parts: &[&str]) -> Rng {
        Rng::new(mix(self.seed, parts))
    }

    pub(crate) fn dirty(&self, rng: &mut Rng) -> bool {
        rng.chance(self.dirty_per_mille)
    }

    pub fn profile(&self, symbol: &str) -> Profile {
        let mut rng = self.rng(&["profile", symbol]);
        let (level, vol) = match symbol {
            "SPX" | "NDX" => (4000.0 + 2500.0 * rng.unit(), 0.14 + 0.04 * rng.unit()),
            s if is_index_like(s) => (150.0 + 400.0 * rng.unit(), 0.15 + 0.06 * rng.unit()),
            _ => (
                (20f64.ln() + rng.unit() * (600f64 / 20.0).ln()).exp(),
                0.22 + 0.28 * rng.unit(),
            ),
        };
        Profile {
            level,
            vol,
            dividend_yield: (rng.unit() * 0.025 * 100.0).round() / 10000.0,
        }
    }

    /// Every trading day of the walk from `start` to `end`, in order: its close and its
    /// variance. The variance is a GARCH(1,1) around the profile's volatility.
    pub fn walk(&self, symbol: &str, start: NaiveDate, end: NaiveDate) -> Vec<Day> {
        let profile = self.profile(symbol);
        let long_run = (profile.vol / 252f64.sqrt()).powi(2);
        let omega = long_run * (1.0 - GARCH_ALPHA - GARCH_BETA);
        let (mut x, mut variance, mut shock) = (0.0, long_run, 0.0);
        let walk_start = NaiveDate::from_ymd_opt(WALK_START.0, WALK_START.1, WALK_START.2)
            .expect("a valid date");
        let mut out = Vec::new();
        for day in calendar::trading_days(walk_start, end) {
            let key = day.to_string();
            let z = self.rng(&["close", symbol, &key]).normal();
            variance = omega + GARCH_ALPHA * shock * shock + GARCH_BETA * variance;
            shock = variance.sqrt() * z;
            x = x * (1.0 - MEAN_REVERSION) + shock;
            if day >= start {
                out.push(Day {
                    day,
                    close: cents(profile.level * x.exp()),
                    variance,
                });
            }
        }
        out
    }

    /// Closes on every trading day from `start` to `end`, in order.
    pub fn closes(&self, symbol: &str, start: NaiveDate, end: NaiveDate) -> Vec<(NaiveDate, f64)> {
        self.walk(symbol, start, end)
            .into_iter()
            .map(|d| (d.day, d.close))
            .collect()
    }

    /// The walk's day on or before `day`.
    pub fn day_on_or_before(&self, symbol: &str, day: NaiveDate) -> Day {
        let last = calendar::trading_day_on_or_before(day);
        self.walk(symbol, last, last)[0]
    }

    /// The annual volatility the GARCH expects on average over the next `days` trading
    /// days, seen on the evening of `day`: what an option of that life is priced at.
    pub fn expected_vol(&self, symbol: &str, day: NaiveDate, days: f64) -> f64 {
        let long_run = (self.profile(symbol).vol / 252f64.sqrt()).powi(2);
        let today = self.day_on_or_before(symbol, day).variance;
        let persistence = GARCH_ALPHA + GARCH_BETA;
        let n = days.max(1.0);
        // The mean of E[h_{t+k}] = long + persistence^k (h_t - long) over k = 1..n.
        let decay = persistence * (1.0 - persistence.powf(n)) / (n * (1.0 - persistence));
        ((long_run + (today - long_run) * decay) * 252.0).sqrt()
    }

    /// The close of the last trading day on or before `day`.
    pub fn close_on_or_before(&self, symbol: &str, day: NaiveDate) -> f64 {
        self.day_on_or_before(symbol, day).close
    }

    /// Daily bars from `start` to `end`, newest first, as Twelve Data sends them.
    pub fn daily(&self, symbol: &str, start: NaiveDate, end: NaiveDate) -> TimeSeries {
        // The session before `start`, whose close the first bar opens from.
        let first = calendar::trading_days(start - Duration::days(10), start - Duration::days(1))
            .last()
            .unwrap_or(start);
        let walk = self.walk(symbol, first, end);
        let closes: Vec<(NaiveDate, f64)> = walk.iter().map(|d| (d.day, d.close)).collect();
        let mut bars = Vec::new();
        for pair in walk.windows(2) {
            let (
                previous,
                Day {
                    day,
                    close,
                    variance,
                },
            ) = (pair[0].close, pair[1]);
            if day < start {
                continue;
            }
            let mut rng = self.rng(&["daily", symbol, &day.to_string()]);
            let open = cents(previous * (1.0 + 0.004 * rng.normal()));
            // The day's range grows with its volatility.
            let range = variance.sqrt() * close;
            let high = cents(open.max(close) + range * rng.unit() * 0.8);
            let low = cents(open.min(close) - range * rng.unit() * 0.8);
            let volume = (2.0e6 * (0.5 + rng.unit())) as u64;
            bars.push(self.bar(&mut rng, day.to_string(), [open, high, low, close], volume));
        }
        if closes.len() == 1 && closes[0].0 >= start {
            let (day, close) = closes[0];
            let mut rng = self.rng(&["daily", symbol, &day.to_string()]);
            bars.push(self.bar(&mut rng, day.to_string(), [close; 4], 1_000_000));
        }
        self.finish(symbol, "1day", bars)
    }

    /// One session's 15-minute bars (bar opens from 09:30), bridging the previous close to
    /// the day's close; newest first. Empty on a day the market is closed.
    pub fn intraday(&self, symbol: &str, day: NaiveDate) -> TimeSeries {
        let Some(session) = calendar::session(day) else {
            return series(symbol, "15min", Vec::new());
        };
        // One walk for both days (each walk starts in 2000).
        let previous = calendar::trading_day_on_or_before(day - Duration::days(1));
        let days = self.walk(symbol, previous, day);
        let (start, today) = (days[0].close, days[days.len() - 1]);
        let end = today.close;
        let minutes = (session.close - session.open).num_minutes();
        let count = (minutes / 15).max(1) as usize;
        let mut rng = self.rng(&["intraday", symbol, &day.to_string()]);
        // The day's variance, spread over its bars: their realized variance measures it.
        let step = (today.variance / count as f64).sqrt();
        // A Brownian bridge in log price from the previous close to the day's close.
        let mut walk = vec![0.0; count + 1];
        for i in 1..=count {
            walk[i] = walk[i - 1] + step * rng.normal();
        }
        let drift = (end / start).ln();
        let total = walk[count];
        let price = |i: usize| {
            let t = i as f64 / count as f64;
            start * (walk[i] - t * total + t * drift).exp()
        };
        let open_time = session
            .open
            .with_timezone(&calendar::EXCHANGE_TZ)
            .time()
            .with_second(0)
            .unwrap_or(NaiveTime::MIN);
        let mut bars = Vec::with_capacity(count);
        for i in 0..count {
            let (open, close) = (cents(price(i)), cents(price(i + 1)));
            let wiggle = step * close * 0.6;
            let high = cents(open.max(close) + wiggle * rng.unit());
            let low = cents(open.min(close) - wiggle * rng.unit());
            let at = open_time + Duration::minutes(15 * i as i64);
            let datetime = format!("{day} {}", at.format("%H:%M:%S"));
            // A missing bar: the processor carries the previous close across it.
            if i > 0 && i + 1 < count && self.dirty(&mut rng) {
                continue;
            }
            let volume = (60_000.0 * (0.5 + rng.unit())) as u64;
            bars.push(self.bar(&mut rng, datetime, [open, high, low, close], volume));
        }
        self.finish(symbol, "15min", bars)
    }

    /// A bar, or now and then an impossible one (high below low).
    fn bar(&self, rng: &mut Rng, datetime: String, ohlc: [f64; 4], volume: u64) -> Bar {
        let [open, mut high, mut low, close] = ohlc;
        if self.dirty(rng) {
            std::mem::swap(&mut high, &mut low);
        }
        Bar {
            datetime,
            open: decimal(open),
            high: decimal(high),
            low: decimal(low),
            close: decimal(close),
            volume: Some(decimal_text(volume.to_string())),
            previous_close: None,
        }
    }

    /// The series newest first, now and then with a bar sent twice, as providers do at
    /// window edges.
    fn finish(&self, symbol: &str, interval: &str, bars: Vec<Bar>) -> TimeSeries {
        let mut series = series(symbol, interval, bars);
        let newest = series.values.first().map(|b| b.datetime.clone());
        let mut rng = self.rng(&["duplicates", symbol, &newest.unwrap_or_default()]);
        let mut values = Vec::with_capacity(series.values.len() + 2);
        for bar in series.values.drain(..) {
            if self.dirty(&mut rng) {
                values.push(bar.clone());
            }
            values.push(bar);
        }
        series.values = values;
        series
    }
}

fn series(symbol: &str, interval: &str, mut values: Vec<Bar>) -> TimeSeries {
    // Newest first, as Twelve Data sends them.
    values.sort_by(|a, b| b.datetime.cmp(&a.datetime));
    TimeSeries {
        meta: Meta {
            symbol: Some(symbol.to_owned()),
            interval: Some(interval.to_owned()),
            currency: Some("USD".into()),
            exchange_timezone: Some(calendar::EXCHANGE_TZ.name().to_owned()),
            exchange: Some("SAMPLE".into()),
            mic_code: None,
            instrument_type: Some("Sample data".into()),
        },
        values,
        status: "ok".into(),
    }
}

pub(crate) fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn decimal(x: f64) -> DecimalText {
    decimal_text(format!("{x:.5}"))
}

fn decimal_text(text: String) -> DecimalText {
    DecimalText::parse(&text).expect("a finite number prints as a decimal")
}

#[cfg(test)]
mod tests;
