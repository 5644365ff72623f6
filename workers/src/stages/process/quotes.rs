//! The rules every option quote goes through, whichever provider sent it: parse the OSI
//! symbol, check prices and counts, flag what is missing, then enrich (mid, spread,
//! moneyness, time to expiry, implied volatility and Greeks).

use std::collections::HashSet;

use chrono::{DateTime, NaiveTime, Utc};
use optionsflow_api::Source;
use optionsflow_api::records::{DropReason, IvStatus, OptionQuoteRecord, OptionRight, QualityFlag};
use optionsflow_api::runtime_config::Processing;
use serde_json::value::RawValue;

use super::{Dropped, RawMessage, count};
use crate::market::bsm::{self, Inputs};
use crate::market::calendar::exchange_instant;
use crate::market::{OsiSymbol, Right};

const SECONDS_PER_YEAR: f64 = bsm::DAYS_PER_YEAR * 86_400.0;

/// One contract as a provider sent it, in provider-neutral terms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawQuote<'a> {
    pub contract: &'a str,
    /// A strike sent beside the symbol (Yahoo); it must agree with the symbol's.
    pub strike: Option<f64>,
    pub bid: Option<f64>,
    pub ask: Option<f64>,
    pub last: Option<f64>,
    pub volume: Option<f64>,
    pub open_interest: Option<f64>,
    pub provider_iv: Option<f64>,
}

/// What is common to every quote of one snapshot.
pub struct Snapshot<'a> {
    pub underlying: &'a str,
    pub time: DateTime<Utc>,
    pub underlying_price: Option<f64>,
    pub source: Source,
    pub rate: f64,
    pub dividend_yield: f64,
}

impl<'a> Snapshot<'a> {
    /// The snapshot of a raw message: its symbol and fetch time, the underlying price the
    /// provider sent, and the configured rates.
    pub fn of(
        message: &'a RawMessage<'_>,
        underlying_price: Option<f64>,
        settings: &Processing,
    ) -> Snapshot<'a> {
        Snapshot {
            underlying: &message.symbol,
            time: message.fetched_at,
            underlying_price: underlying_price.filter(|p| p.is_finite() && *p > 0.0),
            source: message.source,
            rate: settings.risk_free_rate,
            dividend_yield: settings.dividend_yield(&message.symbol),
        }
    }
}

/// Collects a snapshot's records, keeping the first quote of each contract.
pub struct Chain<'a> {
    snapshot: Snapshot<'a>,
    /// The last expiry date seen and its expiry instant: a chain has few expiries, and
    /// time-zone conversion is the costly part of a quote.
    expiry: Option<(chrono::NaiveDate, DateTime<Utc>)>,
    /// Contracts already kept, by (root, expiry, right, strike): no string copies.
    seen: HashSet<ContractKey>,
    pub records: Vec<OptionQuoteRecord>,
    pub dropped: Vec<Dropped>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct ContractKey {
    root: [u8; 6],
    expiry: chrono::NaiveDate,
    right: OptionRight,
    strike_thousandths: u64,
}

impl ContractKey {
    fn of(r: &OptionQuoteRecord) -> ContractKey {
        let mut root = [b' '; 6];
        // OSI roots are at most six ASCII characters (checked when parsed).
        for (slot, b) in root.iter_mut().zip(r.root.bytes()) {
            *slot = b;
        }
        ContractKey {
            root,
            expiry: r.expiry,
            right: r.right,
            strike_thousandths: (r.strike * 1000.0).round() as u64,
        }
    }
}

/// Options expire at the close, 16:00 New York time, of their expiry date.
fn expiry_close() -> NaiveTime {
    NaiveTime::from_hms_opt(16, 0, 0).expect("valid time")
}

impl<'a> Chain<'a> {
    pub fn new(snapshot: Snapshot<'a>, capacity: usize) -> Chain<'a> {
        Chain {
            snapshot,
            expiry: None,
            seen: HashSet::with_capacity(capacity),
            records: Vec::with_capacity(capacity),
            dropped: Vec::new(),
        }
    }

    pub fn drop_row(&mut self, reason: DropReason, detail: impl Into<String>, row: &RawValue) {
        self.dropped.push(Dropped::new(reason, detail, row));
    }

    /// Cleans and enriches one quote; `row` is the original, kept if the quote is dropped.
    pub fn push(&mut self, quote: &RawQuote<'_>, row: &RawValue) {
        if let Err((reason, detail)) = self.try_push(quote) {
            self.drop_row(reason, detail, row);
        }
    }

    /// Cleans and enriches one quote, or says why it must be dropped (and keeps nothing).
    pub fn try_push(&mut self, quote: &RawQuote<'_>) -> Result<(), (DropReason, String)> {
        let built = OsiSymbol::parse(quote.contract.trim())
            .map_err(|e| (DropReason::InvalidContract, e.to_string()))
            .and_then(|osi| {
                let expires = self.expiry_instant(osi.expiry);
                self.build(quote, osi, expires)
            });
        let record = built?;
        if !self.seen.insert(ContractKey::of(&record)) {
            let detail = format!("second quote for {} in one snapshot", record.contract);
            return Err((DropReason::Duplicate, detail));
        }
        self.records.push(record);
        Ok(())
    }

    fn expiry_instant(&mut self, expiry: chrono::NaiveDate) -> DateTime<Utc> {
        match self.expiry {
            Some((date, instant)) if date == expiry => instant,
            _ => {
                let instant = exchange_instant(expiry, expiry_close());
                self.expiry = Some((expiry, instant));
                instant
            }
        }
    }

    fn build(
        &self,
        q: &RawQuote<'_>,
        osi: OsiSymbol,
        expires: DateTime<Utc>,
    ) -> Result<OptionQuoteRecord, (DropReason, String)> {
        let snap = &self.snapshot;
        let strike = osi.strike();
        if let Some(sent) = q.strike
            && (sent <= 0.0 || (sent - strike).abs() > 0.0005)
        {
            return Err((
                DropReason::InvalidStrike,
                format!("strike {sent} disagrees with {}'s {strike}", q.contract),
            ));
        }
        for (name, value) in [("bid", q.bid), ("ask", q.ask), ("last", q.last)] {
            if let Some(v) = value
                && v < 0.0
            {
                return Err((DropReason::NegativePrice, format!("{name} is {v}")));
            }
        }
        let mut flags = Vec::new();
        let bid = q.bid.filter(|b| *b > 0.0);
        let ask = q.ask.filter(|a| *a > 0.0);
        if let (Some(b), Some(a)) = (bid, ask)
            && b > a
        {
            return Err((DropReason::BidAboveAsk, format!("bid {b} is above ask {a}")));
        }
        if expires <= snap.time {
            return Err((
                DropReason::Expired,
                format!("expired {} before the snapshot at {}", expires, snap.time),
            ));
        }
        let volume = count(q.volume, "volume", &mut flags)?;
        let open_interest = count(q.open_interest, "open interest", &mut flags)?;
        if bid.is_none() {
            flags.push(QualityFlag::NoBid);
        }
        if ask.is_none() {
            flags.push(QualityFlag::NoAsk);
        }
        if q.last.is_none() {
            flags.push(QualityFlag::NoLast);
        }
        if volume.is_none() {
            flags.push(QualityFlag::NoVolume);
        }
        if open_interest.is_none() {
            flags.push(QualityFlag::NoOpenInterest);
        }
        if snap.underlying_price.is_none() {
            flags.push(QualityFlag::NoUnderlyingPrice);
        }

        let right = match osi.right {
            Right::Call => OptionRight::Call,
            Right::Put => OptionRight::Put,
        };
        let years = (expires - snap.time).num_milliseconds() as f64 / 1000.0 / SECONDS_PER_YEAR;
        let mid = bid.zip(ask).map(|(b, a)| 0.5 * (b + a));
        let spread = bid.zip(ask).map(|(b, a)| a - b);
        let inputs = snap.underlying_price.map(|spot| Inputs {
            spot,
            strike,
            years,
            rate: snap.rate,
            dividend_yield: snap.dividend_yield,
            right,
        });
        let iv = match (inputs, mid) {
            (None, _) => Err(IvStatus::NoUnderlying),
            (_, None) => Err(IvStatus::NoPrice),
            (Some(inputs), Some(mid)) => bsm::implied_vol(&inputs, mid),
        };
        if matches!(iv, Err(IvStatus::BelowIntrinsic | IvStatus::AboveMaximum)) {
            flags.push(QualityFlag::NoArbitrageViolation);
        }
        let greeks = match (inputs, iv) {
            (Some(inputs), Ok(sigma)) => bsm::greeks(&inputs, sigma),
            _ => None,
        };
        let finite = |v: f64| v.is_finite().then_some(v);
        Ok(OptionQuoteRecord {
            contract: osi.padded(),
            snapshot_time: snap.time,
            underlying: snap.underlying.to_owned(),
            root: osi.root,
            expiry: osi.expiry,
            right,
            strike,
            bid: q.bid,
            ask: q.ask,
            last: q.last,
            volume,
            open_interest,
            provider_iv: q.provider_iv,
            underlying_price: snap.underlying_price,
            mid,
            spread,
            moneyness: snap.underlying_price.and_then(|s| finite(strike / s)),
            log_moneyness: inputs.and_then(|i| finite((strike / i.forward()).ln())),
            years_to_expiry: years,
            rate: snap.rate,
            dividend_yield: snap.dividend_yield,
            iv: iv.ok(),
            delta: greeks.map(|g| g.delta),
            gamma: greeks.map(|g| g.gamma),
            theta: greeks.map(|g| g.theta),
            vega: greeks.map(|g| g.vega),
            rho: greeks.map(|g| g.rho),
            iv_status: match iv {
                Ok(_) => IvStatus::Ok,
                Err(status) => status,
            },
            source: snap.source,
            flags,
        })
    }

    pub fn finish(self) -> (Vec<OptionQuoteRecord>, Vec<Dropped>) {
        (self.records, self.dropped)
    }
}
