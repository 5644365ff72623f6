//! Processing throughput on one core: `cargo bench -p optionsflow-workers --bench process`.
//!
//! Reports records per second for parse + clean + enrich (implied volatility and Greeks
//! included) of one 12,000-contract Cboe chain and of 1,000,000 Yahoo-shaped records, and
//! implied volatilities per second. Targets are in docs/targets.md; docs/processing.md
//! keeps the figures measured.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as Days, NaiveDate, Utc};
use optionsflow_api::records::{IvStatus, OptionRight};
use optionsflow_api::runtime_config::Processing;
use optionsflow_api::{Dataset, Envelope, MessageOrigin, SchemaId, Source};
use optionsflow_workers::market::bsm::{self, Inputs};
use optionsflow_workers::stages::process;
use serde_json::{Value, json};

fn snapshot() -> DateTime<Utc> {
    "2026-11-24T20:00:00Z".parse().unwrap()
}

fn today() -> NaiveDate {
    "2026-11-24".parse().unwrap()
}

/// A small deterministic generator (xorshift), so every run processes the same data.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A quote priced with a smile, with a realistic spread.
fn quote(
    rng: &mut Rng,
    spot: f64,
    strike: f64,
    expiry: NaiveDate,
    right: OptionRight,
) -> (f64, f64) {
    let years = ((expiry - today()).num_days().max(1) as f64) / 365.0;
    let m = (strike / spot).ln();
    let sigma = 0.18 + 0.4 * m * m - 0.1 * m + 0.02 * rng.unit();
    let inputs = Inputs {
        spot,
        strike,
        years,
        rate: 0.04,
        dividend_yield: 0.0,
        right,
    };
    let value = bsm::price(&inputs, sigma).unwrap_or(0.0).max(0.01);
    let half = (0.005 + value * 0.01).min(0.5);
    (
        ((value - half).max(0.0) * 100.0).round() / 100.0,
        ((value + half) * 100.0).round() / 100.0,
    )
}

fn osi(root: &str, expiry: NaiveDate, right: OptionRight, strike: f64) -> String {
    format!(
        "{root}{}{}{:08}",
        expiry.format("%y%m%d"),
        if right == OptionRight::Call { 'C' } else { 'P' },
        (strike * 1000.0).round() as u64
    )
}

fn envelope(schema: SchemaId, source: Source, payload: Value) -> Vec<u8> {
    serde_json::to_vec(&Envelope::new(
        schema,
        "bench/p",
        "SPY",
        source,
        snapshot(),
        payload,
    ))
    .unwrap()
}

/// One Cboe document of 12,000 contracts: 30 expiries × 200 strikes × call and put.
fn cboe_chain() -> Vec<u8> {
    let spot = 600.0;
    let mut rng = Rng(7);
    let mut options = Vec::with_capacity(12_000);
    for e in 0..30 {
        let expiry = today() + Days::days(3 + 7 * e);
        for s in 0..200 {
            let strike = 400.0 + 2.0 * f64::from(s);
            for right in [OptionRight::Call, OptionRight::Put] {
                let (bid, ask) = quote(&mut rng, spot, strike, expiry, right);
                options.push(json!({
                    "option": osi("SPY", expiry, right, strike), "bid": bid, "bid_size": 10.0,
                    "ask": ask, "ask_size": 12.0, "iv": 0.2, "open_interest": 1520.0,
                    "volume": 88.0, "delta": 0.5, "gamma": 0.02, "theta": -0.04, "vega": 0.08,
                    "rho": 0.01, "theo": (bid + ask) / 2.0, "change": 0.0, "open": 1.0,
                    "high": 1.1, "low": 0.9, "tick": "no_change", "last_trade_price": 1.0,
                    "last_trade_time": "2026-11-24T15:52:14", "percent_change": 0.0,
                    "prev_day_close": 1.0,
                }));
            }
        }
    }
    envelope(
        SchemaId::CBOE_DELAYED_QUOTES,
        Source::Cboe,
        json!({"timestamp": "2026-11-24 15:00:00", "symbol": "SPY",
               "data": {"symbol": "SPY", "current_price": spot, "options": options}}),
    )
}

/// A Yahoo chain of one expiry with `strikes` × call and put, as the collector publishes it.
fn yahoo_chain(rng: &mut Rng, expiry: NaiveDate, strikes: usize, with_spot: bool) -> Vec<u8> {
    let spot = 600.0;
    let epoch = expiry.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
    let contract = |rng: &mut Rng, strike: f64, right: OptionRight| {
        let (bid, ask) = quote(rng, spot, strike, expiry, right);
        json!({"contractSymbol": osi("SPY", expiry, right, strike), "strike": strike,
               "currency": "USD", "lastPrice": (bid + ask) / 2.0, "change": -0.05,
               "percentChange": -1.2, "volume": 57, "openInterest": 1204, "bid": bid, "ask": ask,
               "contractSize": "REGULAR", "expiration": epoch, "lastTradeDate": 1795545000,
               "impliedVolatility": 0.31, "inTheMoney": false})
    };
    let mut calls = Vec::new();
    let mut puts = Vec::new();
    for s in 0..strikes {
        let strike = 500.0 + f64::from(s as u32);
        calls.push(contract(rng, strike, OptionRight::Call));
        puts.push(contract(rng, strike, OptionRight::Put));
    }
    envelope(
        SchemaId::YAHOO_OPTION_CHAIN,
        Source::Yahoo,
        json!({"underlyingSymbol": "SPY", "expirationDates": [epoch],
               "quote": {"symbol": "SPY", "regularMarketPrice": with_spot.then_some(spot), "currency": "USD"},
               "options": [{"expirationDate": epoch, "calls": calls, "puts": puts}]}),
    )
}

fn origin() -> MessageOrigin {
    MessageOrigin {
        topic: "bench".into(),
        partition: 0,
        offset: 0,
    }
}

/// Processes each message `rounds` times; returns (records, with IV, elapsed).
fn run(messages: &[Vec<u8>], rounds: usize) -> (usize, usize, Duration) {
    let settings = Processing::default();
    let mut records = 0;
    let mut with_iv = 0;
    let start = Instant::now();
    for _ in 0..rounds {
        for m in messages {
            let p = process::process(m, Dataset::Options, origin(), &settings).unwrap();
            if let process::Records::Quotes(b) = &p.records {
                records += b.records.len();
                with_iv += b
                    .records
                    .iter()
                    .filter(|r| r.iv_status == IvStatus::Ok)
                    .count();
            }
            black_box(p);
        }
    }
    (records, with_iv, start.elapsed())
}

fn report(what: &str, records: usize, with_iv: usize, elapsed: Duration, bytes: usize) {
    println!(
        "{what}: {records} records ({with_iv} with IV) in {:.3} s = {:.0} records/s ({:.0} MB/s of JSON)",
        elapsed.as_secs_f64(),
        records as f64 / elapsed.as_secs_f64(),
        bytes as f64 / elapsed.as_secs_f64() / 1e6,
    );
}

fn implied_vols() {
    let mut rng = Rng(11);
    let cases: Vec<(Inputs, f64)> = (0..1_000_000)
        .filter_map(|_| {
            let spot = 100.0;
            let inputs = Inputs {
                spot,
                strike: spot * (0.5 + rng.unit()),
                years: 1.0 / 365.0 + rng.unit() * 2.0,
                rate: 0.04,
                dividend_yield: 0.01,
                right: if rng.unit() < 0.5 {
                    OptionRight::Call
                } else {
                    OptionRight::Put
                },
            };
            let price = bsm::price(&inputs, 0.05 + rng.unit() * 0.95)?;
            (price > inputs.bounds().lower).then_some((inputs, price))
        })
        .collect();
    let start = Instant::now();
    let mut ok = 0usize;
    for (inputs, price) in &cases {
        if black_box(bsm::implied_vol(black_box(inputs), black_box(*price))).is_ok() {
            ok += 1;
        }
    }
    let elapsed = start.elapsed();
    println!(
        "implied vols: {} in {:.3} s = {:.0} per second ({ok} found; {:.0} ns each)",
        cases.len(),
        elapsed.as_secs_f64(),
        cases.len() as f64 / elapsed.as_secs_f64(),
        elapsed.as_nanos() as f64 / cases.len() as f64,
    );
    let start = Instant::now();
    for (inputs, price) in &cases {
        if let Ok(iv) = bsm::implied_vol(inputs, *price) {
            black_box(bsm::greeks(inputs, iv));
        }
    }
    let elapsed = start.elapsed();
    println!(
        "implied vol + Greeks: {:.0} per second",
        cases.len() as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes --bench; a filter argument is accepted and ignored.
    println!("one core, release build");
    let chain = cboe_chain();
    run(std::slice::from_ref(&chain), 1); // warm-up
    let (records, with_iv, elapsed) = run(std::slice::from_ref(&chain), 20);
    report(
        "cboe chain of 12,000 contracts, parse + clean + enrich",
        records,
        with_iv,
        elapsed,
        chain.len() * 20,
    );

    for (with_spot, what) in [
        (true, "yahoo records, parse + clean + enrich"),
        // Without an underlying price there is no IV and no Greeks: parse + clean alone.
        (false, "yahoo records, parse + clean (no IV or Greeks)"),
    ] {
        let mut rng = Rng(3);
        let messages: Vec<Vec<u8>> = (0..250)
            .map(|i| yahoo_chain(&mut rng, today() + Days::days(1 + i % 60), 200, with_spot))
            .collect();
        let bytes: usize = messages.iter().map(Vec::len).sum();
        let (records, with_iv, elapsed) = run(&messages, 10);
        report(what, records, with_iv, elapsed, bytes * 10);
    }
    implied_vols();
}
