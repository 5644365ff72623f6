//! The typed records the processor publishes on the `processed-*` topics, one batch per raw
//! message, and that the writers store. Field names are the column names
//! of docs/storage.md.
//!
//! Every value is derived from the raw message alone (the snapshot time is the raw message's
//! `fetchedAt`), so replaying a raw message publishes an identical batch and the writers'
//! upserts change nothing.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{Dataset, MessageOrigin, Part, Source, named_enum};

/// The payload of a processed message: the records made from one raw message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Batch<R> {
    pub dataset: Dataset,
    /// The raw message the records were made from.
    pub origin: MessageOrigin,
    /// Which piece of the raw message's records this is, when they did not fit one message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<Part>,
    pub records: Vec<R>,
}

named_enum! {
    /// A bar's length.
    pub enum BarInterval {
        Day = "1day",
        FifteenMinutes = "15min",
    }
}

/// One OHLCV bar of one symbol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BarRecord {
    pub symbol: String,
    pub interval: BarInterval,
    /// The exchange-local session date the bar belongs to.
    pub trade_date: NaiveDate,
    /// When the bar opened, in UTC (for daily bars: the session's open).
    pub bar_time: DateTime<Utc>,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// Shares traded; absent when the provider did not say.
    pub volume: Option<i64>,
    pub source: Source,
    /// When the provider gave this bar (its answer's fetch time). A later answer revises an
    /// earlier one (a session's bar while the session is open), so stores keep the bar with
    /// the latest: a replayed older message never overwrites newer data. Absent in messages
    /// published before it was added; writers then take the envelope's `fetchedAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<DateTime<Utc>>,
    /// Why this bar deserves a second look (see [`QualityFlag`]); empty for a clean bar.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<QualityFlag>,
}

impl BarRecord {
    /// Carried forward from the previous close because the provider had no bar here.
    pub fn is_filled(&self) -> bool {
        self.flags.contains(&QualityFlag::Filled)
    }
}

named_enum! {
    rename_all = "lowercase";
    /// Call or put.
    pub enum OptionRight {
        Call,
        Put,
    }
}

/// One option contract at one snapshot: the provider's quote, parsed and checked, and what
/// optionsflow derived from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptionQuoteRecord {
    /// The padded, 21-character OSI symbol (`AAPL  270115P00192500`).
    pub contract: String,
    pub snapshot_time: DateTime<Utc>,
    pub underlying: String,
    /// The OSI root; differs from the underlying for `SPXW` and adjusted contracts.
    pub root: String,
    pub expiry: NaiveDate,
    pub right: OptionRight,
    pub strike: f64,
    pub bid: Option<f64>,
    pub ask: Option<f64>,
    pub last: Option<f64>,
    pub volume: Option<i64>,
    pub open_interest: Option<i64>,
    /// The provider's own implied volatility, as a decimal (0 from Cboe means "none").
    pub provider_iv: Option<f64>,
    pub underlying_price: Option<f64>,
    /// (bid + ask) / 2, when both sides are quoted and not crossed.
    pub mid: Option<f64>,
    /// ask − bid.
    pub spread: Option<f64>,
    /// strike / underlying price.
    pub moneyness: Option<f64>,
    /// ln(strike / forward).
    pub log_moneyness: Option<f64>,
    /// The forward of this expiry: from put-call parity over the strikes nearest the money,
    /// or, flagged `forward_from_yield`, from the spot and the configured dividend yield.
    pub forward: Option<f64>,
    /// Years from the snapshot to 16:00 New York time on the expiry date (365-day years).
    pub years_to_expiry: f64,
    /// The risk-free rate at this expiry and the dividend yield used, so the numbers can be
    /// reproduced. With a forward from parity the yield is the one it implies:
    /// `rate − ln(forward / underlying_price) / years_to_expiry`.
    pub rate: f64,
    pub dividend_yield: f64,
    /// Black-Scholes-Merton implied volatility of the mid, as a decimal.
    pub iv: Option<f64>,
    pub delta: Option<f64>,
    pub gamma: Option<f64>,
    /// Per calendar day.
    pub theta: Option<f64>,
    /// Per vol point (0.01 of volatility).
    pub vega: Option<f64>,
    /// Per rate point (0.01 of the rate).
    pub rho: Option<f64>,
    /// Why `iv` is or is not there.
    pub iv_status: IvStatus,
    /// Out of the money against the forward (a call with strike ≥ forward, a put below it):
    /// the side of its strike that a volatility smile uses, since an in-the-money American
    /// option's price carries an early-exercise premium a European IV misreads.
    pub otm: Option<bool>,
    /// How the contract may be exercised: U.S. equity and ETF options are American, cash
    /// settled index options (SPX, NDX, RUT, ...) European. Messages written before the
    /// field existed read as American.
    #[serde(default)]
    pub exercise: Exercise,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<QualityFlag>,
}

named_enum! {
    rename_all = "snake_case";
    /// How an option may be exercised.
    #[derive(Default)]
    pub enum Exercise {
        /// Any day until expiry.
        #[default]
        American,
        /// At expiry only.
        European,
    }
}

named_enum! {
    rename_all = "snake_case";
    /// The outcome of implying a volatility from a price.
    pub enum IvStatus {
        /// A volatility was found.
        Ok,
        /// The price is below the European no-arbitrage floor (common for deep ITM American
        /// options quoted near parity).
        BelowIntrinsic,
        /// The price is at or above what any volatility can produce.
        AboveMaximum,
        /// No usable price: bid or ask missing, zero or crossed.
        NoPrice,
        /// No underlying price in the snapshot.
        NoUnderlying,
        /// Inputs outside the model's domain (non-positive spot, strike or time, non-finite
        /// numbers).
        InvalidInput,
    }
}

named_enum! {
    rename_all = "snake_case";
    /// Something worth knowing about a record that was kept.
    pub enum QualityFlag {
        /// A bar the provider did not send, carried forward from the previous close.
        Filled,
        /// Open or close lies outside [low, high].
        OhlcOutsideRange,
        /// A count (volume, open interest) arrived with a fraction and was rounded.
        FractionalCount,
        /// The quote has no bid (missing or zero).
        NoBid,
        /// The quote has no ask (missing or zero).
        NoAsk,
        /// The provider sent no last trade price.
        NoLast,
        /// The provider sent no volume.
        NoVolume,
        /// The provider sent no open interest.
        NoOpenInterest,
        /// The snapshot has no underlying price: no moneyness, IV or Greeks.
        NoUnderlyingPrice,
        /// The mid is outside the no-arbitrage bounds: no IV, no Greeks.
        NoArbitrageViolation,
        /// Put-call parity could not give this expiry's forward (no strike near the money with
        /// both sides quoted): it comes from the configured dividend yield instead.
        ForwardFromYield,
    }
}

named_enum! {
    rename_all = "snake_case";
    /// Why the processor dropped a row (it goes to `dead-letter` unless it is a duplicate).
    pub enum DropReason {
        /// A second row for the same bar time or contract and snapshot (counted, not
        /// dead-lettered: the first one was kept).
        Duplicate,
        /// The row does not have the provider's shape (wrong types, missing fields).
        MalformedRow,
        /// A price below zero (bars: at or below zero).
        NegativePrice,
        /// A volume or open interest that is negative or too large to be a count.
        InvalidCount,
        BidAboveAsk,
        HighBelowLow,
        /// The strike is not a positive number, or disagrees with the contract symbol.
        InvalidStrike,
        /// The contract symbol is not an OSI symbol.
        InvalidContract,
        /// The contract expired before the snapshot.
        Expired,
        /// An intraday bar outside the regular session (or on a day without one).
        OutsideSession,
        /// A bar time that cannot be read.
        InvalidTime,
    }
}
