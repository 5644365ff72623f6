//! Data sources and their budgets.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// The providers. Each may be left out to take its defaults.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SourcesSpec {
    /// Twelve Data: daily, intraday and historical bars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twelve_data: Option<TwelveDataSpec>,
    /// Yahoo Finance option chains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yahoo: Option<YahooSpec>,
    /// Cboe delayed-quote option chains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cboe: Option<CboeSpec>,
}

/// A key of a Secret in the pipeline's namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// The Secret's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// The key within the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// How much of a provider the pipeline may use. A hard limit shared by every collector.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BudgetSpec {
    /// Credits (requests) per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100000))]
    pub per_minute: Option<u32>,
    /// Credits (requests) per UTC day, if the provider caps days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100000000))]
    pub per_day: Option<u32>,
    /// Requests sent back to back before the rest of a minute's are spread evenly over it
    /// (Yahoo and Cboe, default 2; Twelve Data spends a minute's credits at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100000))]
    pub burst: Option<u32>,
}

/// Twelve Data.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TwelveDataSpec {
    /// The Secret key holding the API keys, comma-separated. Without it, bar datasets
    /// cannot be collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_keys_secret: Option<SecretKeyRef>,
    /// Per API key (default: the free plan, 8 a minute and 800 a day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetSpec>,
    /// Another endpoint (a mirror or a test server); https://api.twelvedata.com when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Symbols per collection task (default 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 120))]
    pub symbols_per_task: Option<u32>,
}

/// Yahoo Finance.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct YahooSpec {
    /// Our own limit: Yahoo publishes none (default 30 requests a minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetSpec>,
    /// Another endpoint for `/v7/finance/options`; https://query2.finance.yahoo.com when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

/// Cboe delayed quotes.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CboeSpec {
    /// Our own limit: Cboe publishes none (default 30 requests a minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetSpec>,
    /// Another endpoint; https://cdn.cboe.com when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}
