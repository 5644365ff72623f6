//! The volatility views of a chain: the smile (per strike) and the at-the-money point of an
//! expiry, from which the term structure is drawn. Pure.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::market::atm;
use crate::roles::serve::format::Columns;
use crate::roles::serve::query::QuoteRow;

/// One strike of a smile.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SmilePoint {
    pub strike: f64,
    pub log_moneyness: Option<f64>,
    pub call_iv: Option<f64>,
    pub put_iv: Option<f64>,
    /// The out-of-the-money side's volatility (the row marked `otm`: puts below the
    /// forward, calls at or above it): the smile as traders read it. For a European
    /// (index) option the other side stands in when this one has no IV; for an American
    /// one it does not, since its in-the-money price carries an early-exercise premium.
    pub otm_iv: Option<f64>,
    pub source: String,
}

impl Columns for SmilePoint {
    const COLUMNS: &'static [&'static str] = &[
        "strike",
        "log_moneyness",
        "call_iv",
        "put_iv",
        "otm_iv",
        "source",
    ];
}

/// The smile of one snapshot's chain. Pure.
pub fn smile(rows: &[QuoteRow]) -> Vec<SmilePoint> {
    let mut by_strike: BTreeMap<i64, SmilePoint> = BTreeMap::new();
    let european = rows.iter().all(|r| r.exercise == "european");
    for r in rows {
        let key = (r.strike * 1000.0).round() as i64;
        let point = by_strike.entry(key).or_insert_with(|| SmilePoint {
            strike: r.strike,
            log_moneyness: r.log_moneyness,
            call_iv: None,
            put_iv: None,
            otm_iv: None,
            source: r.source.clone(),
        });
        match r.right.as_str() {
            "call" => point.call_iv = r.iv,
            _ => point.put_iv = r.iv,
        }
        if point.log_moneyness.is_none() {
            point.log_moneyness = r.log_moneyness;
        }
    }
    let mut out: Vec<SmilePoint> = by_strike.into_values().collect();
    for point in &mut out {
        let below_forward = point.log_moneyness.is_some_and(|m| m < 0.0);
        let (otm, itm) = if below_forward {
            (point.put_iv, point.call_iv)
        } else {
            (point.call_iv, point.put_iv)
        };
        point.otm_iv = if european { otm.or(itm) } else { otm };
    }
    out
}

/// One expiry's at-the-money volatility.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TermPoint {
    pub expiry: String,
    pub snapshot_time: String,
    pub years_to_expiry: f64,
    /// The strike nearest the forward-free moneyness of 1 that has an implied volatility.
    pub atm_strike: f64,
    pub atm_iv: f64,
    pub source: String,
}

impl Columns for TermPoint {
    const COLUMNS: &'static [&'static str] = &[
        "expiry",
        "snapshot_time",
        "years_to_expiry",
        "atm_strike",
        "atm_iv",
        "source",
    ];
}

/// The at-the-money point of one expiry's chain ([`atm::at_the_money`]'s rule, which the
/// predictor's ATM IV forecast uses too). Pure.
pub fn at_the_money(rows: &[QuoteRow]) -> Option<TermPoint> {
    let strikes = smile(rows).into_iter().map(|p| atm::Strike {
        strike: p.strike,
        log_moneyness: p.log_moneyness,
        call_iv: p.call_iv,
        put_iv: p.put_iv,
    });
    let (atm_strike, atm_iv) = atm::at_the_money(strikes)?;
    let first = rows.first()?;
    Some(TermPoint {
        expiry: first.expiry.clone(),
        snapshot_time: first.snapshot_time.clone(),
        years_to_expiry: first.years_to_expiry,
        atm_strike,
        atm_iv,
        source: first.source.clone(),
    })
}
