//! Where data comes from: the providers, their budgets and retries.

use serde::{Deserialize, Serialize};

use super::defaults::*;

/// A provider's request budget. One window's credits are a hard limit shared by all
/// collector replicas (docs/budgets.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Budget {
    /// Credits per window (per API key where the provider has keys).
    pub per_window: u32,
    /// Window length; 60 s for every provider we know. Aligned on the wall clock.
    #[serde(default = "sixty")]
    pub window_seconds: u32,
    /// Credits per UTC day, if the provider caps days too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_day: Option<u32>,
    /// Spread requests evenly over the window instead of spending its credits at once: at
    /// most this many back to back, then one every `windowSeconds / perWindow` (per
    /// replica, in proportion to the partitions it owns). Unset: [`PACED_BURST`] for Yahoo
    /// and Cboe, which refuse bursts; for Twelve Data a window's credits may go at once
    /// (one batched request spends several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

/// Yahoo's and Cboe's burst when the budget sets none: two requests back to back, then one
/// every two seconds at the default 30 a minute. Neither publishes a limit; Yahoo answers
/// 429 to a few requests a second from one address, so a steady pace well under that is the
/// polite default.
pub const PACED_BURST: u32 = 2;

impl Budget {
    /// This budget, paced at [`PACED_BURST`] unless it sets its own burst.
    pub fn paced(self) -> Budget {
        Budget {
            burst: self.burst.or(Some(PACED_BURST)),
            ..self
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sources {
    #[serde(default)]
    pub twelve_data: TwelveDataSource,
    #[serde(default)]
    pub yahoo: YahooSource,
    #[serde(default)]
    pub cboe: CboeSource,
    #[serde(default)]
    pub retry: RetryPolicy,
    /// Underlyings that are indices, not stocks: Yahoo writes them `^SPX`, Cboe `_SPX`.
    #[serde(default = "index_symbols")]
    pub index_symbols: Vec<String>,
    /// Generate realistic data instead of calling the providers (the offline demo that
    /// `optionsflow-worker local` uses without an API key). Everything it produces is
    /// labelled `source: sample`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<SampleSource>,
}

/// The sample generator's settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SampleSource {
    /// Another seed gives other (equally deterministic) prices.
    #[serde(default)]
    pub seed: u64,
    /// Rows per thousand deliberately made dirty (duplicates, crossed quotes, missing
    /// fields, impossible bars) to exercise cleaning.
    #[serde(default = "ten")]
    pub dirty_per_mille: u32,
}

impl Default for SampleSource {
    fn default() -> Self {
        SampleSource {
            seed: 0,
            dirty_per_mille: 10,
        }
    }
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            twelve_data: TwelveDataSource::default(),
            yahoo: YahooSource::default(),
            cboe: CboeSource::default(),
            retry: RetryPolicy::default(),
            index_symbols: index_symbols(),
            sample: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TwelveDataSource {
    #[serde(default = "twelvedata_url")]
    pub base_url: String,
    /// Environment variable holding the API keys, comma-separated (from a Secret).
    #[serde(default = "twelvedata_keys_env")]
    pub api_keys_env: String,
    /// Per key. The free plan: 8 credits a minute, 800 a day; one credit per symbol.
    #[serde(default = "twelvedata_budget")]
    pub budget: Budget,
    /// Symbols per request (comma-separated batch); never more than the credits at hand.
    #[serde(default = "one_twenty")]
    pub max_symbols_per_request: u32,
    /// Symbols per daily or intraday task published by the trigger.
    #[serde(default = "eight")]
    pub symbols_per_task: u32,
}

impl Default for TwelveDataSource {
    fn default() -> Self {
        TwelveDataSource {
            base_url: twelvedata_url(),
            api_keys_env: twelvedata_keys_env(),
            budget: twelvedata_budget(),
            max_symbols_per_request: 120,
            symbols_per_task: 8,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct YahooSource {
    /// Host of `/v7/finance/options/{symbol}`.
    #[serde(default = "yahoo_url")]
    pub base_url: String,
    /// Visited first to obtain the session cookie.
    #[serde(default = "yahoo_cookie_url")]
    pub cookie_url: String,
    /// Answers the crumb that must accompany every request, as plain text.
    #[serde(default = "yahoo_crumb_url")]
    pub crumb_url: String,
    /// Yahoo publishes no limit; this is ours, to stay unnoticed.
    #[serde(default = "yahoo_budget")]
    pub budget: Budget,
    #[serde(default = "browser_user_agent")]
    pub user_agent: String,
}

impl Default for YahooSource {
    fn default() -> Self {
        YahooSource {
            base_url: yahoo_url(),
            cookie_url: yahoo_cookie_url(),
            crumb_url: yahoo_crumb_url(),
            budget: yahoo_budget(),
            user_agent: browser_user_agent(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CboeSource {
    #[serde(default = "cboe_url")]
    pub base_url: String,
    #[serde(default = "cboe_budget")]
    pub budget: Budget,
    #[serde(default = "browser_user_agent")]
    pub user_agent: String,
}

impl Default for CboeSource {
    fn default() -> Self {
        CboeSource {
            base_url: cboe_url(),
            budget: cboe_budget(),
            user_agent: browser_user_agent(),
        }
    }
}

/// Retries of failed provider requests: exponential backoff with full jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts per request before the work goes to `dead-letter`.
    #[serde(default = "five")]
    pub max_attempts: u32,
    #[serde(default = "half_second_ms")]
    pub initial_backoff_ms: u64,
    #[serde(default = "minute_ms")]
    pub max_backoff_ms: u64,
    /// Per-request timeout.
    #[serde(default = "thirty")]
    pub timeout_seconds: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff_ms: 500,
            max_backoff_ms: 60_000,
            timeout_seconds: 30,
        }
    }
}
