//! Cboe's free delayed-quotes document: `{timestamp, symbol, data: {..., options: [...]}}`.
//! Counts arrive as floats; every field but an option's symbol may be missing (serde reads a
//! missing `Option` as `None`).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// `YYYY-MM-DD HH:MM:SS`; the zone is not documented.
    pub timestamp: Option<String>,
    pub symbol: Option<String>,
    pub data: Data,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Data {
    pub symbol: Option<String>,
    pub security_type: Option<String>,
    pub current_price: Option<f64>,
    pub bid: Option<f64>,
    pub ask: Option<f64>,
    pub open: Option<f64>,
    pub high: Option<f64>,
    pub low: Option<f64>,
    pub close: Option<f64>,
    pub prev_day_close: Option<f64>,
    pub volume: Option<f64>,
    /// Percent units (38.98 means 38.98 %).
    pub iv30: Option<f64>,
    pub last_trade_time: Option<String>,
    #[serde(default)]
    pub options: Vec<OptionQuote>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptionQuote {
    /// Compact OSI symbol; expiry, right and strike are only found here.
    pub option: String,
    pub bid: Option<f64>,
    pub ask: Option<f64>,
    pub bid_size: Option<f64>,
    pub ask_size: Option<f64>,
    /// Decimal fraction; 0.0 when Cboe did not compute one.
    pub iv: Option<f64>,
    pub delta: Option<f64>,
    pub gamma: Option<f64>,
    pub theta: Option<f64>,
    pub vega: Option<f64>,
    pub rho: Option<f64>,
    pub theo: Option<f64>,
    pub open_interest: Option<f64>,
    pub volume: Option<f64>,
    pub open: Option<f64>,
    pub high: Option<f64>,
    pub low: Option<f64>,
    pub last_trade_price: Option<f64>,
    pub last_trade_time: Option<String>,
    pub change: Option<f64>,
    /// Percent units.
    pub percent_change: Option<f64>,
    pub prev_day_close: Option<f64>,
    pub tick: Option<String>,
}
