//! Sample option chains in Yahoo's `/v7/finance/options` format.
//!
//! Expiries are the Fridays (weeklies) and the third Fridays (monthlies) within the
//! horizon, moved to Thursday when Friday is a holiday. Each contract is priced with
//! Black-Scholes-Merton at the configured rate and dividend yield on a volatility surface:
//! at the money, the volatility the sample's GARCH expects over the option's life (so the term
//! structure slopes up in calm markets and down after a shock) with a small premium, and a
//! smile with a put skew, so the processor's implied volatilities draw that smile back. Quotes straddle the model price
//! with spreads that widen for cheap and far-from-the-money contracts, on penny or nickel
//! ticks.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};

use super::{Rng, Sample, cents};
use crate::market::bsm::{self, DAYS_PER_YEAR, Inputs};
use crate::market::calendar;
use crate::market::osi::{OsiSymbol, Right};
use crate::sources::yahoo::wire::{ChainResult, Contract, ExpiryChain, Quote};
use optionsflow_api::records::OptionRight;

/// Strikes on each side of the money, at most.
const STRIKES_PER_SIDE: usize = 30;

/// Implied over expected realized volatility at the money.
const VOLATILITY_PREMIUM: f64 = 1.05;

/// The smile around `atm`: a put skew that flattens with time to expiry.
fn smile(atm: f64, years: f64, log_moneyness: f64) -> f64 {
    let years = years.max(1.0 / DAYS_PER_YEAR);
    let k = (log_moneyness / years.sqrt()).clamp(-3.0, 3.0);
    atm * (1.0 - 0.22 * k + 0.12 * k * k).max(0.5)
}

/// Pricing inputs the processor will use too, so its implied volatilities match.
#[derive(Clone, Copy, Debug)]
pub struct Rates {
    pub rate: f64,
    pub dividend_yield: f64,
}

impl Sample {
    /// Listed expiries from `from` to `to`: every Friday (or the Thursday before a Friday
    /// holiday).
    pub fn expiries(&self, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut day = from;
        while day <= to {
            if day.weekday() == Weekday::Fri {
                let listed = if calendar::is_trading_day(day) {
                    day
                } else {
                    day - Duration::days(1)
                };
                if listed >= from && calendar::is_trading_day(listed) {
                    out.push(listed);
                }
            }
            day += Duration::days(1);
        }
        out
    }

    /// The volatility of a contract `years` out at log-moneyness `ln(K/F)`, quoted on `day`.
    pub fn surface_vol(&self, symbol: &str, day: NaiveDate, years: f64, log_moneyness: f64) -> f64 {
        smile(self.atm_vol(symbol, day, years), years, log_moneyness)
    }

    /// At the money: the volatility the sample's GARCH expects over the option's life, with
    /// a small premium (implied volatility trades above realized, as it does in markets).
    pub fn atm_vol(&self, symbol: &str, day: NaiveDate, years: f64) -> f64 {
        let trading_days = years.max(1.0 / DAYS_PER_YEAR) * 252.0;
        self.expected_vol(symbol, day, trading_days) * VOLATILITY_PREMIUM
    }

    /// One expiry's chain of `symbol` as Yahoo sends it (`optionChain.result[0]`, what the
    /// collector publishes), at `snapshot`, with the underlying at `spot`. `expiries` is the
    /// list Yahoo puts in every answer.
    pub fn chain(
        &self,
        symbol: &str,
        snapshot: DateTime<Utc>,
        spot: f64,
        expiry: NaiveDate,
        expiries: &[NaiveDate],
        rates: Rates,
    ) -> ChainResult {
        let expires =
            calendar::exchange_instant(expiry, NaiveTime::from_hms_opt(16, 0, 0).expect("valid"));
        let years = ((expires - snapshot).num_seconds() as f64 / 86_400.0 / DAYS_PER_YEAR).max(0.0);
        let forward = spot * ((rates.rate - rates.dividend_yield) * years).exp();
        let atm = self.atm_vol(symbol, calendar::exchange_date(snapshot), years);
        let strikes = strikes(spot, atm, years);
        let mut rng = self.rng(&["chain", symbol, &expiry.to_string(), &snapshot.to_rfc3339()]);
        let mut calls = Vec::with_capacity(strikes.len());
        let mut puts = Vec::with_capacity(strikes.len());
        for &strike in &strikes {
            let sigma = smile(atm, years, (strike / forward).ln());
            for right in [Right::Call, Right::Put] {
                let inputs = Inputs {
                    spot,
                    strike,
                    years,
                    rate: rates.rate,
                    dividend_yield: rates.dividend_yield,
                    right: match right {
                        Right::Call => OptionRight::Call,
                        Right::Put => OptionRight::Put,
                    },
                };
                let Some(theo) = bsm::price(&inputs, sigma) else {
                    continue;
                };
                let osi = OsiSymbol {
                    root: symbol.to_owned(),
                    expiry,
                    right,
                    strike_thousandths: (strike * 1000.0).round() as u64,
                };
                let moneyness = (strike / spot).ln().abs();
                let contract = self.contract(&mut rng, osi, theo, sigma, moneyness, snapshot, spot);
                let side = if right == Right::Call {
                    &mut calls
                } else {
                    &mut puts
                };
                // Now and then a provider sends a contract twice.
                if self.dirty(&mut rng) {
                    side.push(contract.clone());
                }
                side.push(contract);
            }
        }
        let quote = Quote {
            symbol: Some(symbol.to_owned()),
            quote_type: Some("EQUITY".into()),
            currency: Some("USD".into()),
            exchange_timezone_name: Some(calendar::EXCHANGE_TZ.name().to_owned()),
            market_state: Some("CLOSED".into()),
            regular_market_price: Some(spot),
            regular_market_time: Some(snapshot.timestamp()),
            regular_market_previous_close: None,
            bid: None,
            ask: None,
            dividend_yield: None,
            trailing_annual_dividend_yield: None,
        };
        ChainResult {
            underlying_symbol: Some(symbol.to_owned()),
            expiration_dates: expiries.iter().map(|e| epoch(*e)).collect(),
            strikes,
            has_mini_options: Some(false),
            quote: Some(quote),
            options: vec![ExpiryChain {
                expiration_date: Some(epoch(expiry)),
                has_mini_options: Some(false),
                calls,
                puts,
            }],
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn contract(
        &self,
        rng: &mut Rng,
        osi: OsiSymbol,
        theo: f64,
        sigma: f64,
        moneyness: f64,
        snapshot: DateTime<Utc>,
        spot: f64,
    ) -> Contract {
        let tick = if theo < 3.0 { 0.01 } else { 0.05 };
        let half = (0.01 + theo * (0.015 + 0.05 * moneyness)).max(tick) / 2.0;
        let mut bid = Some(((theo - half) / tick).floor().max(0.0) * tick);
        let mut ask = Some(((theo + half) / tick).ceil().max(1.0) * tick);
        let activity = (-6.0 * moneyness).exp();
        let volume = (2000.0 * activity * rng.unit()).round();
        let open_interest = (20000.0 * activity * (0.3 + rng.unit())).round();
        let last = cents((theo * (1.0 + 0.02 * rng.normal())).max(0.01));
        if self.dirty(rng) {
            // A dirty quote: crossed, one-sided or missing.
            match rng.next_u64() % 3 {
                0 => std::mem::swap(&mut bid, &mut ask),
                1 => ask = None,
                _ => bid = None,
            }
        }
        let strike = osi.strike();
        let in_the_money = match osi.right {
            Right::Call => spot > strike,
            Right::Put => spot < strike,
        };
        Contract {
            contract_symbol: osi.compact(),
            strike,
            currency: Some("USD".into()),
            last_price: Some(last),
            change: None,
            percent_change: None,
            volume: (volume > 0.0).then_some(volume),
            open_interest: Some(open_interest),
            bid: bid.map(cents),
            ask: ask.map(cents),
            contract_size: Some("REGULAR".into()),
            expiration: Some(epoch(osi.expiry)),
            last_trade_date: Some(snapshot.timestamp() - (rng.unit() * 3600.0) as i64),
            implied_volatility: Some((sigma * (1.0 + 0.01 * rng.normal()) * 1e4).round() / 1e4),
            in_the_money: Some(in_the_money),
        }
    }
}

/// Yahoo's expiration stamp: 00:00 UTC of the day.
fn epoch(day: NaiveDate) -> i64 {
    day.and_time(NaiveTime::MIN).and_utc().timestamp()
}

/// Strikes around the spot on the exchange's usual grid, wider for longer expiries.
pub fn strikes(spot: f64, vol: f64, years: f64) -> Vec<f64> {
    let width = spot * (2.5 * vol * years.max(1.0 / 52.0).sqrt()).clamp(0.08, 0.6);
    let grid = [0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0];
    let step = grid
        .into_iter()
        .find(|s| width / s <= STRIKES_PER_SIDE as f64)
        .unwrap_or(100.0);
    let centre = (spot / step).round() * step;
    let n = ((width / step).ceil() as i64).min(STRIKES_PER_SIDE as i64);
    (-n..=n)
        .map(|i| centre + i as f64 * step)
        .filter(|k| *k > 0.0)
        .collect()
}
