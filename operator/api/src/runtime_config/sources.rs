//! Where data comes from: the providers, their budgets and retries.

use serde::{Deserialize, Serialize};

/// A provider's request budget. One window's credits are a hard limit shared by all
/// collector replicas (docs/budgets.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Budget {
    /// Credits per window (per API key where the provider has keys).
    pub per_window: u32,
    /// Window length; 60 s for every provider we know. Aligned on the wall clock.
    #[serde(default = "Budget::minute")]
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

/// What Yahoo and Cboe are told the caller is: both refuse clients that do not look like a
/// browser.
const BROWSER_USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36";

impl Budget {
    /// A minute, the window of every provider we know (`perWindow` has no default, so this
    /// struct's defaults are per field).
    fn minute() -> u32 {
        60
    }

    /// Yahoo's and Cboe's default: neither publishes a limit, and 30 a minute stays unnoticed.
    fn thirty_a_minute() -> Budget {
        Budget {
            per_window: 30,
            window_seconds: Budget::minute(),
            per_day: None,
            burst: None,
        }
    }

    /// This budget, paced at [`PACED_BURST`] unless it sets its own burst.
    pub fn paced(self) -> Budget {
        Budget {
            burst: self.burst.or(Some(PACED_BURST)),
            ..self
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Sources {
    pub twelve_data: TwelveDataSource,
    pub yahoo: YahooSource,
    pub cboe: CboeSource,
    pub retry: RetryPolicy,
    /// Underlyings that are indices, not stocks: Yahoo writes them `^SPX`, Cboe `_SPX`.
    pub index_symbols: Vec<String>,
    /// Generate realistic data instead of calling the providers (the offline demo that
    /// `optionsflow-worker local` uses without an API key). Everything it produces is
    /// labelled `source: sample`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<SampleSource>,
}

/// The sample generator's settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct SampleSource {
    /// Another seed gives other (equally deterministic) prices.
    pub seed: u64,
    /// Rows per thousand deliberately made dirty (duplicates, crossed quotes, missing
    /// fields, impossible bars) to exercise cleaning.
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
            index_symbols: [
                "SPX", "SPXW", "XSP", "VIX", "NDX", "NDXP", "RUT", "MRUT", "DJX", "OEX", "XEO",
            ]
            .map(String::from)
            .to_vec(),
            sample: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct TwelveDataSource {
    pub base_url: String,
    /// Environment variable holding the API keys, comma-separated (from a Secret).
    pub api_keys_env: String,
    /// Per key. The free plan: 8 credits a minute, 800 a day; one credit per symbol.
    pub budget: Budget,
    /// Symbols per request (comma-separated batch); never more than the credits at hand.
    pub max_symbols_per_request: u32,
    /// Symbols per daily or intraday task published by the trigger.
    pub symbols_per_task: u32,
}

impl Default for TwelveDataSource {
    fn default() -> Self {
        TwelveDataSource {
            base_url: "https://api.twelvedata.com".into(),
            api_keys_env: crate::defaults::TWELVEDATA_KEYS_ENV.into(),
            budget: Budget {
                per_window: 8,
                window_seconds: Budget::minute(),
                per_day: Some(800),
                burst: None,
            },
            max_symbols_per_request: 120,
            symbols_per_task: 8,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct YahooSource {
    /// Host of `/v7/finance/options/{symbol}`.
    pub base_url: String,
    /// Visited first to obtain the session cookie.
    pub cookie_url: String,
    /// Answers the crumb that must accompany every request, as plain text.
    pub crumb_url: String,
    /// Yahoo publishes no limit; this is ours, to stay unnoticed.
    pub budget: Budget,
    pub user_agent: String,
}

impl Default for YahooSource {
    fn default() -> Self {
        YahooSource {
            base_url: "https://query2.finance.yahoo.com".into(),
            cookie_url: "https://fc.yahoo.com".into(),
            crumb_url: "https://query1.finance.yahoo.com/v1/test/getcrumb".into(),
            budget: Budget::thirty_a_minute(),
            user_agent: BROWSER_USER_AGENT.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct CboeSource {
    pub base_url: String,
    pub budget: Budget,
    pub user_agent: String,
}

impl Default for CboeSource {
    fn default() -> Self {
        CboeSource {
            base_url: "https://cdn.cboe.com".into(),
            budget: Budget::thirty_a_minute(),
            user_agent: BROWSER_USER_AGENT.into(),
        }
    }
}

/// Retries of failed provider requests: exponential backoff with full jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts per request before the work goes to `dead-letter`.
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// Per-request timeout.
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
