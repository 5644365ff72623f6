//! Yahoo's `/v7/finance/options/{symbol}` format. Yahoo's JSON API is unofficial and leaves
//! fields out freely, so everything but a contract's symbol and strike is optional.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptionsResponse {
    #[serde(rename = "optionChain")]
    pub option_chain: OptionChain,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptionChain {
    /// Empty for unknown symbols and symbols without options.
    #[serde(default)]
    pub result: Option<Vec<ChainResult>>,
    #[serde(default)]
    pub error: Option<YahooError>,
}

/// `{"finance": {"result": null, "error": {...}}}`, the shape of Yahoo's 401 and 404 answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinanceErrorResponse {
    pub finance: FinanceError,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FinanceError {
    #[serde(default)]
    pub error: Option<YahooError>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct YahooError {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// `optionChain.result[0]`: one underlying, the list of expirations, and the chain of one
/// expiration (the nearest unless a `date` was asked for).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainResult {
    #[serde(default)]
    pub underlying_symbol: Option<String>,
    /// Epoch seconds of 00:00 UTC on each expiration day.
    #[serde(default)]
    pub expiration_dates: Vec<i64>,
    #[serde(default)]
    pub strikes: Vec<f64>,
    #[serde(default)]
    pub has_mini_options: Option<bool>,
    #[serde(default)]
    pub quote: Option<Quote>,
    /// Zero or one element.
    #[serde(default)]
    pub options: Vec<ExpiryChain>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpiryChain {
    #[serde(default)]
    pub expiration_date: Option<i64>,
    #[serde(default)]
    pub has_mini_options: Option<bool>,
    #[serde(default)]
    pub calls: Vec<Contract>,
    #[serde(default)]
    pub puts: Vec<Contract>,
}

/// One contract. Counts are read as floats: Yahoo sends integers today, and a float must not
/// make a whole chain unreadable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    /// Compact OSI symbol.
    pub contract_symbol: String,
    pub strike: f64,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub last_price: Option<f64>,
    #[serde(default)]
    pub change: Option<f64>,
    #[serde(default)]
    pub percent_change: Option<f64>,
    #[serde(default)]
    pub volume: Option<f64>,
    #[serde(default)]
    pub open_interest: Option<f64>,
    #[serde(default)]
    pub bid: Option<f64>,
    #[serde(default)]
    pub ask: Option<f64>,
    #[serde(default)]
    pub contract_size: Option<String>,
    #[serde(default)]
    pub expiration: Option<i64>,
    #[serde(default)]
    pub last_trade_date: Option<i64>,
    #[serde(default)]
    pub implied_volatility: Option<f64>,
    #[serde(default)]
    pub in_the_money: Option<bool>,
}

/// The underlying's quote (the fields optionsflow uses; Yahoo sends many more).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub quote_type: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub exchange_timezone_name: Option<String>,
    #[serde(default)]
    pub market_state: Option<String>,
    #[serde(default)]
    pub regular_market_price: Option<f64>,
    #[serde(default)]
    pub regular_market_time: Option<i64>,
    #[serde(default)]
    pub regular_market_previous_close: Option<f64>,
    #[serde(default)]
    pub bid: Option<f64>,
    #[serde(default)]
    pub ask: Option<f64>,
    #[serde(default)]
    pub dividend_yield: Option<f64>,
    #[serde(default)]
    pub trailing_annual_dividend_yield: Option<f64>,
}
