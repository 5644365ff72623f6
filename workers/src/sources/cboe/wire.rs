//! Cboe's free delayed-quotes document: `{timestamp, symbol, data: {..., options: [...]}}`.
//! Counts arrive as floats; every field but an option's symbol may be missing.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// `YYYY-MM-DD HH:MM:SS`; the zone is not documented.
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub symbol: Option<String>,
    pub data: Data,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Data {
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub security_type: Option<String>,
    #[serde(default)]
    pub current_price: Option<f64>,
    #[serde(default)]
    pub bid: Option<f64>,
    #[serde(default)]
    pub ask: Option<f64>,
    #[serde(default)]
    pub open: Option<f64>,
    #[serde(default)]
    pub high: Option<f64>,
    #[serde(default)]
    pub low: Option<f64>,
    #[serde(default)]
    pub close: Option<f64>,
    #[serde(default)]
    pub prev_day_close: Option<f64>,
    #[serde(default)]
    pub volume: Option<f64>,
    /// Percent units (38.98 means 38.98 %).
    #[serde(default)]
    pub iv30: Option<f64>,
    #[serde(default)]
    pub last_trade_time: Option<String>,
    #[serde(default)]
    pub options: Vec<OptionQuote>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptionQuote {
    /// Compact OSI symbol; expiry, right and strike are only found here.
    pub option: String,
    #[serde(default)]
    pub bid: Option<f64>,
    #[serde(default)]
    pub ask: Option<f64>,
    #[serde(default)]
    pub bid_size: Option<f64>,
    #[serde(default)]
    pub ask_size: Option<f64>,
    /// Decimal fraction; 0.0 when Cboe did not compute one.
    #[serde(default)]
    pub iv: Option<f64>,
    #[serde(default)]
    pub delta: Option<f64>,
    #[serde(default)]
    pub gamma: Option<f64>,
    #[serde(default)]
    pub theta: Option<f64>,
    #[serde(default)]
    pub vega: Option<f64>,
    #[serde(default)]
    pub rho: Option<f64>,
    #[serde(default)]
    pub theo: Option<f64>,
    #[serde(default)]
    pub open_interest: Option<f64>,
    #[serde(default)]
    pub volume: Option<f64>,
    #[serde(default)]
    pub open: Option<f64>,
    #[serde(default)]
    pub high: Option<f64>,
    #[serde(default)]
    pub low: Option<f64>,
    #[serde(default)]
    pub last_trade_price: Option<f64>,
    #[serde(default)]
    pub last_trade_time: Option<String>,
    #[serde(default)]
    pub change: Option<f64>,
    /// Percent units.
    #[serde(default)]
    pub percent_change: Option<f64>,
    #[serde(default)]
    pub prev_day_close: Option<f64>,
    #[serde(default)]
    pub tick: Option<String>,
}
