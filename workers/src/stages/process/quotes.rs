//! The rules every option quote goes through, whichever provider sent it: parse the OSI
//! symbol, check prices and counts, flag what is missing, then enrich (mid, spread,
//! moneyness, time to expiry). When the snapshot is complete, each expiry's forward comes
//! from put-call parity ([`super::forward`]) and every quote of it gets its implied
//! volatility and Greeks against that forward.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveTime, Utc};
use optionsflow_api::Source;
use optionsflow_api::records::{DropReason, IvStatus, OptionQuoteRecord, OptionRight, QualityFlag};
use optionsflow_api::runtime_config::Processing;
use serde_json::value::RawValue;

use super::forward::{self, Pair};
use super::{Dropped, RawMessage, count};
use crate::market::bsm::{self, Inputs};
use crate::market::calendar::exchange_instant;
use crate::market::osi::exercise;
use crate::market::{OsiSymbol, Right};

const SECONDS_PER_YEAR: f64 = bsm::DAYS_PER_YEAR * 86_400.0;

/// A quote time further back than this (a long weekend and then some) is not believed.
const MAX_QUOTE_AGE: chrono::Duration = chrono::Duration::days(5);

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
    /// When we fetched it: the record's `snapshot_time`.
    pub time: DateTime<Utc>,
    /// When its prices were set: the provider's quote time when it is earlier (a chain
    /// fetched after the close or over a weekend carries the close's prices), else `time`.
    /// Time to expiry runs from here, so an IV is of the moment its price is from.
    pub priced_at: DateTime<Utc>,
    pub underlying_price: Option<f64>,
    pub source: Source,
    /// The rates by tenor and the configured dividend yields.
    pub settings: &'a Processing,
}

impl<'a> Snapshot<'a> {
    /// The snapshot of a raw message: its symbol and fetch time, the underlying price the
    /// provider sent, and the configured rates.
    pub fn of(
        message: &'a RawMessage<'_>,
        underlying_price: Option<f64>,
        quoted_at: Option<DateTime<Utc>>,
        settings: &'a Processing,
    ) -> Snapshot<'a> {
        let fetched = message.fetched_at;
        let priced_at = quoted_at
            .filter(|q| *q <= fetched && fetched - *q <= MAX_QUOTE_AGE)
            .unwrap_or(fetched);
        Snapshot {
            underlying: &message.symbol,
            time: fetched,
            priced_at,
            underlying_price: underlying_price.filter(|p| p.is_finite() && *p > 0.0),
            source: message.source,
            settings,
        }
    }
}

/// How one expiry carries from the spot to its forward.
#[derive(Clone, Copy, Debug, PartialEq)]
struct ExpiryForward {
    forward: f64,
    /// The continuous yield that makes `S·e^((r−q)T)` the forward.
    dividend_yield: f64,
    /// False when parity could not say and the configured yield was used.
    from_parity: bool,
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
        let years =
            (expires - snap.priced_at).num_milliseconds() as f64 / 1000.0 / SECONDS_PER_YEAR;
        let mid = bid.zip(ask).map(|(b, a)| 0.5 * (b + a));
        let spread = bid.zip(ask).map(|(b, a)| a - b);
        let finite = |v: f64| v.is_finite().then_some(v);
        let exercise = exercise(&osi.root);
        // The forward, the IV and the Greeks wait for the whole expiry (`finish`).
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
            log_moneyness: None,
            forward: None,
            years_to_expiry: years,
            rate: snap.settings.rate(years),
            dividend_yield: snap.settings.dividend_yield(snap.underlying),
            iv: None,
            delta: None,
            gamma: None,
            theta: None,
            vega: None,
            rho: None,
            iv_status: IvStatus::NoUnderlying,
            otm: None,
            exercise,
            source: snap.source,
            flags,
        })
    }

    /// The records, each expiry priced against its own forward, and the dropped rows.
    pub fn finish(mut self) -> (Vec<OptionQuoteRecord>, Vec<Dropped>) {
        let mut order: Vec<usize> = (0..self.records.len()).collect();
        order.sort_by_key(|&i| self.records[i].expiry);
        let expiries: Vec<&[usize]> = order
            .chunk_by(|&a, &b| self.records[a].expiry == self.records[b].expiry)
            .collect();
        for expiry in expiries {
            let first = &self.records[expiry[0]];
            let carry = self.snapshot.underlying_price.map(|spot| {
                carry(
                    &self.records,
                    expiry,
                    spot,
                    first.rate,
                    first.dividend_yield,
                )
            });
            let mut cache = None;
            for &i in expiry {
                price(&mut self.records[i], carry, &mut cache);
            }
        }
        (self.records, self.dropped)
    }
}

/// The forward of one expiry (`expiry` indexes its records) from parity, or from the
/// configured dividend yield `configured` when parity cannot say.
fn carry(
    records: &[OptionQuoteRecord],
    expiry: &[usize],
    spot: f64,
    rate: f64,
    configured: f64,
) -> ExpiryForward {
    let years = records[expiry[0]].years_to_expiry;
    // (call mid and spread, put mid and spread) by strike.
    let mut sides: HashMap<u64, [Option<(f64, f64)>; 2]> = HashMap::with_capacity(expiry.len());
    for &i in expiry {
        let r = &records[i];
        if let (Some(mid), Some(spread)) = (r.mid, r.spread) {
            let slot = usize::from(r.right == OptionRight::Put);
            sides.entry((r.strike * 1000.0).round() as u64).or_default()[slot] =
                Some((mid, spread));
        }
    }
    let pairs: Vec<Pair> = sides
        .into_iter()
        .filter_map(|(k, [call, put])| {
            let ((call_mid, call_spread), (put_mid, put_spread)) = (call?, put?);
            Some(Pair {
                strike: k as f64 / 1000.0,
                call_mid,
                put_mid,
                spread: call_spread + put_spread,
            })
        })
        .collect();
    let discount = (-rate * years).exp();
    match forward::from_parity(&pairs, discount, spot) {
        Some(f) => ExpiryForward {
            forward: f,
            dividend_yield: rate - (f / spot).ln() / years,
            from_parity: true,
        },
        None => ExpiryForward {
            forward: spot * ((rate - configured) * years).exp(),
            dividend_yield: configured,
            from_parity: false,
        },
    }
}

/// Log-moneyness, side, implied volatility and Greeks of one quote against its expiry's
/// carry (`None` without an underlying price).
fn price(r: &mut OptionQuoteRecord, carry: Option<ExpiryForward>, cache: &mut Option<bsm::Carry>) {
    let (Some(carry), Some(spot)) = (carry, r.underlying_price) else {
        r.iv_status = IvStatus::NoUnderlying;
        return;
    };
    r.forward = Some(carry.forward);
    r.dividend_yield = carry.dividend_yield;
    r.log_moneyness = Some((r.strike / carry.forward).ln()).filter(|m| m.is_finite());
    r.otm = Some(match r.right {
        OptionRight::Call => r.strike >= carry.forward,
        OptionRight::Put => r.strike < carry.forward,
    });
    if !carry.from_parity {
        r.flags.push(QualityFlag::ForwardFromYield);
    }
    let inputs = Inputs {
        spot,
        strike: r.strike,
        years: r.years_to_expiry,
        rate: r.rate,
        dividend_yield: carry.dividend_yield,
        right: r.right,
    };
    let carry = bsm::Carry::cached(cache, &inputs);
    let iv = match r.mid {
        None => Err(IvStatus::NoPrice),
        Some(mid) => bsm::implied_vol_with(&inputs, mid, carry),
    };
    if matches!(iv, Err(IvStatus::BelowIntrinsic | IvStatus::AboveMaximum)) {
        r.flags.push(QualityFlag::NoArbitrageViolation);
    }
    if let Ok(sigma) = iv
        && let Some(g) = bsm::greeks_with(&inputs, sigma, carry)
    {
        (r.delta, r.gamma, r.theta, r.vega, r.rho) = (
            Some(g.delta),
            Some(g.gamma),
            Some(g.theta),
            Some(g.vega),
            Some(g.rho),
        );
    }
    r.iv = iv.ok();
    r.iv_status = match iv {
        Ok(_) => IvStatus::Ok,
        Err(status) => status,
    };
}
