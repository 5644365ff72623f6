//! The runtime config: the one document the workers read, rendered by the operator into a
//! ConfigMap (or written by hand for `optionsflow-worker local`).
//!
//! It is fully resolved: SymbolSets are expanded into per-dataset symbol lists and every
//! default is filled in, so workers never need the Kubernetes API. Secrets are never in it;
//! it names the environment variables that carry them.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{Dataset, Symbol, TopicNames};

/// Everything a worker needs to know about its pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeConfig {
    pub pipeline: PipelineRef,
    #[serde(default)]
    pub datasets: Datasets,
    pub kafka: KafkaSettings,
    #[serde(default)]
    pub sources: Sources,
    #[serde(default)]
    pub sinks: Sinks,
}

/// The OptionsPipeline this config was rendered from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PipelineRef {
    pub namespace: String,
    pub name: String,
}

impl PipelineRef {
    /// `<namespace>/<name>`, as written into every envelope.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Datasets {
    #[serde(default)]
    pub daily: DailyDataset,
    #[serde(default)]
    pub intraday: IntradayDataset,
    #[serde(default)]
    pub historical: HistoricalDataset,
    #[serde(default)]
    pub options: OptionsDataset,
}

/// What every dataset has: on/off, its symbols and its schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatasetCommon<'a> {
    pub enabled: bool,
    pub symbols: &'a [Symbol],
    /// Cron expression or `@` macro; run by a CronJob on Kubernetes, by `local` on one machine.
    pub schedule: Option<&'a str>,
    /// IANA zone the schedule is read in.
    pub time_zone: &'a str,
}

// The four dataset structs repeat the common fields instead of flattening a shared struct:
// serde cannot combine `flatten` with `deny_unknown_fields`, and typos in hand-written
// configs must be errors.

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DailyDataset {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub symbols: Vec<Symbol>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default = "new_york")]
    pub time_zone: String,
    /// How many recent daily bars each run fetches, so a missed run heals itself.
    #[serde(default = "five")]
    pub lookback_bars: u32,
}

impl Default for DailyDataset {
    fn default() -> Self {
        DailyDataset {
            enabled: true,
            symbols: Vec::new(),
            schedule: None,
            time_zone: new_york(),
            lookback_bars: 5,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntradayDataset {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub symbols: Vec<Symbol>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default = "new_york")]
    pub time_zone: String,
}

impl Default for IntradayDataset {
    fn default() -> Self {
        IntradayDataset {
            enabled: true,
            symbols: Vec::new(),
            schedule: None,
            time_zone: new_york(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HistoricalDataset {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub symbols: Vec<Symbol>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default = "new_york")]
    pub time_zone: String,
    /// First day to backfill. Without it the dataset has nothing to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
    /// Last day to backfill; the trigger's trading day when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date: Option<NaiveDate>,
}

impl Default for HistoricalDataset {
    fn default() -> Self {
        HistoricalDataset {
            enabled: true,
            symbols: Vec::new(),
            schedule: None,
            time_zone: new_york(),
            start_date: None,
            end_date: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OptionsDataset {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub symbols: Vec<Symbol>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default = "new_york")]
    pub time_zone: String,
    /// Expiries up to this many calendar days out are collected.
    #[serde(default = "ninety")]
    pub horizon_days: u32,
    #[serde(default)]
    pub source: OptionsSource,
}

impl Default for OptionsDataset {
    fn default() -> Self {
        OptionsDataset {
            enabled: true,
            symbols: Vec::new(),
            schedule: None,
            time_zone: new_york(),
            horizon_days: 90,
            source: OptionsSource::default(),
        }
    }
}

/// Where option chains come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptionsSource {
    /// Yahoo Finance (cookie + crumb), one request per expiry.
    #[default]
    Yahoo,
    /// Cboe delayed quotes, the whole chain in one document.
    Cboe,
}

impl Datasets {
    /// The settings every dataset shares.
    pub fn common(&self, dataset: Dataset) -> DatasetCommon<'_> {
        macro_rules! view {
            ($d:expr) => {
                DatasetCommon {
                    enabled: $d.enabled,
                    symbols: &$d.symbols,
                    schedule: $d.schedule.as_deref(),
                    time_zone: &$d.time_zone,
                }
            };
        }
        match dataset {
            Dataset::Daily => view!(self.daily),
            Dataset::Intraday => view!(self.intraday),
            Dataset::Historical => view!(self.historical),
            Dataset::Options => view!(self.options),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KafkaSettings {
    pub bootstrap_servers: String,
    /// Prefix of every topic and consumer group; `<namespace>.<pipeline>.` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_prefix: Option<String>,
    /// Partitions of each topic the pipeline creates.
    #[serde(default = "five")]
    pub partitions: u32,
    /// How long the group waits for a silent member before handing its partitions to others.
    #[serde(default = "ten_seconds_ms")]
    pub session_timeout_ms: u32,
    /// Extra librdkafka client properties (e.g. `security.protocol`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
    /// librdkafka properties whose values are read from environment variables (secrets such
    /// as `sasl.password`), property name → variable name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties_from_env: BTreeMap<String, String>,
}

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
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            twelve_data: TwelveDataSource::default(),
            yahoo: YahooSource::default(),
            cboe: CboeSource::default(),
            retry: RetryPolicy::default(),
            index_symbols: index_symbols(),
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

/// Where processed data is written. Credentials come from the environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sinks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<PostgresSink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub influxdb: Option<InfluxSink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Sink>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresSink {
    /// Environment variable holding the connection URL.
    #[serde(default = "database_url_env")]
    pub url_env: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InfluxSink {
    pub url: String,
    /// v1 database (or v2 bucket).
    pub database: String,
    /// Environment variable holding the token, if the server wants one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Sink {
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
    /// A custom endpoint for S3-compatible stores; AWS when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default = "us_east_1")]
    pub region: String,
    #[serde(default)]
    pub path_style: bool,
}

/// A config that cannot be used, with the path of the offending field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("runtime config is not valid JSON or does not match the schema at `{path}`: {message}")]
    Parse { path: String, message: String },
    #[error("runtime config field `{path}`: {message}")]
    Invalid { path: String, message: String },
}

impl RuntimeConfig {
    /// Parses and validates a runtime config document.
    pub fn from_json(text: &str) -> Result<RuntimeConfig, ConfigError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let config: RuntimeConfig =
            serde_path_to_error::deserialize(de).map_err(|e| ConfigError::Parse {
                path: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what the types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |path: &str, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        if self.pipeline.namespace.is_empty() || self.pipeline.name.is_empty() {
            return Err(invalid("pipeline", "namespace and name must be set".into()));
        }
        if self.kafka.bootstrap_servers.trim().is_empty() {
            return Err(invalid(
                "kafka.bootstrapServers",
                "must not be empty".into(),
            ));
        }
        if self.kafka.partitions == 0 {
            return Err(invalid("kafka.partitions", "must be at least 1".into()));
        }
        for (path, budget) in [
            (
                "sources.twelveData.budget",
                &self.sources.twelve_data.budget,
            ),
            ("sources.yahoo.budget", &self.sources.yahoo.budget),
            ("sources.cboe.budget", &self.sources.cboe.budget),
        ] {
            if budget.per_window == 0 || budget.window_seconds == 0 {
                return Err(invalid(
                    path,
                    "perWindow and windowSeconds must be at least 1".into(),
                ));
            }
            if budget.per_day == Some(0) {
                return Err(invalid(path, "perDay must be at least 1 when set".into()));
            }
        }
        let td = &self.sources.twelve_data;
        if td.max_symbols_per_request == 0 || td.symbols_per_task == 0 {
            return Err(invalid(
                "sources.twelveData",
                "maxSymbolsPerRequest and symbolsPerTask must be at least 1".into(),
            ));
        }
        if self.sources.retry.max_attempts == 0 {
            return Err(invalid(
                "sources.retry.maxAttempts",
                "must be at least 1".into(),
            ));
        }
        let h = &self.datasets.historical;
        if let (Some(start), Some(end)) = (h.start_date, h.end_date)
            && start > end
        {
            return Err(invalid(
                "datasets.historical",
                format!("startDate {start} is after endDate {end}"),
            ));
        }
        if self.datasets.options.horizon_days == 0 {
            return Err(invalid(
                "datasets.options.horizonDays",
                "must be at least 1".into(),
            ));
        }
        Ok(())
    }

    pub fn topics(&self) -> TopicNames {
        TopicNames::new(self.kafka.topic_prefix.clone().unwrap_or_else(|| {
            TopicNames::default_prefix(&self.pipeline.namespace, &self.pipeline.name)
        }))
    }
}

fn yes() -> bool {
    true
}
fn five() -> u32 {
    5
}
fn eight() -> u32 {
    8
}
fn thirty() -> u64 {
    30
}
fn sixty() -> u32 {
    60
}
fn ninety() -> u32 {
    90
}
fn one_twenty() -> u32 {
    120
}
fn half_second_ms() -> u64 {
    500
}
fn minute_ms() -> u64 {
    60_000
}
fn ten_seconds_ms() -> u32 {
    10_000
}
fn new_york() -> String {
    "America/New_York".into()
}
fn us_east_1() -> String {
    "us-east-1".into()
}
fn database_url_env() -> String {
    "DATABASE_URL".into()
}
fn twelvedata_url() -> String {
    "https://api.twelvedata.com".into()
}
fn twelvedata_keys_env() -> String {
    "TWELVEDATA_API_KEYS".into()
}
fn twelvedata_budget() -> Budget {
    Budget {
        per_window: 8,
        window_seconds: 60,
        per_day: Some(800),
    }
}
fn yahoo_url() -> String {
    "https://query2.finance.yahoo.com".into()
}
fn yahoo_cookie_url() -> String {
    "https://fc.yahoo.com".into()
}
fn yahoo_crumb_url() -> String {
    "https://query1.finance.yahoo.com/v1/test/getcrumb".into()
}
fn yahoo_budget() -> Budget {
    Budget {
        per_window: 30,
        window_seconds: 60,
        per_day: None,
    }
}
fn cboe_url() -> String {
    "https://cdn.cboe.com".into()
}
fn cboe_budget() -> Budget {
    Budget {
        per_window: 30,
        window_seconds: 60,
        per_day: None,
    }
}
fn index_symbols() -> Vec<String> {
    [
        "SPX", "SPXW", "XSP", "VIX", "NDX", "NDXP", "RUT", "MRUT", "DJX", "OEX", "XEO",
    ]
    .map(String::from)
    .to_vec()
}
fn browser_user_agent() -> String {
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36"
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{
        "pipeline": {"namespace": "markets", "name": "us"},
        "kafka": {"bootstrapServers": "127.0.0.1:9092"},
        "datasets": {"daily": {"symbols": ["AAPL", "MSFT"]}}
    }"#;

    #[test]
    fn minimal_config_gets_the_documented_defaults() {
        let c = RuntimeConfig::from_json(MINIMAL).unwrap();
        assert_eq!(c.kafka.partitions, 5);
        assert_eq!(c.sources.twelve_data.budget, twelvedata_budget());
        assert_eq!(c.datasets.options.horizon_days, 90);
        assert_eq!(c.datasets.daily.time_zone, "America/New_York");
        assert!(c.datasets.common(Dataset::Daily).enabled);
        assert_eq!(c.datasets.common(Dataset::Daily).symbols.len(), 2);
        assert_eq!(c.topics().prefix(), "markets.us.");
        assert_eq!(c.pipeline.id(), "markets/us");
    }

    #[test]
    fn full_config_round_trips() {
        let mut c = RuntimeConfig::from_json(MINIMAL).unwrap();
        c.kafka.topic_prefix = Some("x.".into());
        c.kafka
            .properties_from_env
            .insert("sasl.password".into(), "KAFKA_PASSWORD".into());
        c.datasets.historical.start_date = NaiveDate::from_ymd_opt(2020, 1, 2);
        c.datasets.options.source = OptionsSource::Cboe;
        c.sinks.s3 = Some(S3Sink {
            bucket: "b".into(),
            prefix: "p".into(),
            endpoint: Some("http://127.0.0.1:9000".into()),
            region: "us-east-1".into(),
            path_style: true,
        });
        let text = serde_json::to_string_pretty(&c).unwrap();
        assert_eq!(RuntimeConfig::from_json(&text).unwrap(), c);
        assert_eq!(c.topics().prefix(), "x.");
    }

    #[test]
    fn errors_name_the_field() {
        let bad_symbol = MINIMAL.replace("\"MSFT\"", "\"msft\"");
        let err = RuntimeConfig::from_json(&bad_symbol)
            .unwrap_err()
            .to_string();
        assert!(err.contains("datasets.daily.symbols[1]"), "{err}");
        assert!(err.contains("msft"), "{err}");

        let typo = MINIMAL.replace("bootstrapServers", "bootstrapServer");
        let err = RuntimeConfig::from_json(&typo).unwrap_err().to_string();
        assert!(err.contains("bootstrapServer"), "{err}");

        let zero = MINIMAL.replace(
            "\"kafka\": {",
            "\"sources\": {\"twelveData\": {\"budget\": {\"perWindow\": 0}}}, \"kafka\": {",
        );
        let err = RuntimeConfig::from_json(&zero).unwrap_err().to_string();
        assert!(err.contains("sources.twelveData.budget"), "{err}");
    }

    #[test]
    fn backfill_window_must_be_ordered() {
        let text = MINIMAL.replace(
            "\"datasets\": {",
            "\"datasets\": {\"historical\": {\"startDate\": \"2025-01-02\", \"endDate\": \"2024-01-02\"},",
        );
        let err = RuntimeConfig::from_json(&text).unwrap_err().to_string();
        assert!(err.contains("after endDate"), "{err}");
    }
}
