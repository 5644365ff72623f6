//! The runtime config: the one document the workers read, rendered by the operator into a
//! ConfigMap (or written by hand for `optionsflow-worker local`).
//!
//! It is fully resolved: SymbolSets are expanded into per-dataset symbol lists and every
//! default is filled in, so workers never need the Kubernetes API. Secrets are never in it;
//! it names the environment variables that carry them.

mod datasets;
mod predictions;
mod processing;
mod sinks;
mod sources;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use datasets::{
    DailyDataset, DatasetCommon, Datasets, HistoricalDataset, IntradayDataset, OptionsDataset,
    OptionsSource,
};
pub use predictions::{DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS, MIN_WINDOW_DAYS, Predictions};
pub use processing::{Processing, RatePoint};
pub use sinks::{
    Batching, FileRolling, FolderSink, InfluxApi, InfluxSink, PostgresSink, S3Sink, Sinks,
    SqliteSink,
};
pub use sources::{
    Budget, CboeSource, PACED_BURST, RetryPolicy, SampleSource, Sources, TwelveDataSource,
    YahooSource,
};

use crate::TopicNames;

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
    #[serde(default)]
    pub processing: Processing,
    /// The predictor's settings; absent, the pipeline makes no predictions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictions: Option<Predictions>,
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KafkaSettings {
    pub bootstrap_servers: String,
    /// Prefix of every topic and consumer group; `<namespace>.<pipeline>.` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_prefix: Option<String>,
    /// Partitions of each topic the pipeline creates.
    #[serde(default = "partitions")]
    pub partitions: u32,
    /// How long the group waits for a silent member before handing its partitions to others.
    #[serde(default = "session_timeout_ms")]
    pub session_timeout_ms: u32,
    /// Extra librdkafka client properties (e.g. `security.protocol`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
    /// librdkafka properties whose values are read from environment variables (secrets such
    /// as `sasl.password`), property name → variable name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties_from_env: BTreeMap<String, String>,
}

// `KafkaSettings` has a field without a default, so its defaults are per field.
fn partitions() -> u32 {
    crate::defaults::PARTITIONS.unsigned_abs()
}
fn session_timeout_ms() -> u32 {
    crate::defaults::SESSION_TIMEOUT_MS
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
        self.processing
            .validate()
            .map_err(|(path, message)| invalid(&path, message))?;
        if let Some(predictions) = &self.predictions {
            predictions
                .validate()
                .map_err(|(path, message)| invalid(&path, message))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dataset;
    use chrono::NaiveDate;

    const MINIMAL: &str = r#"{
        "pipeline": {"namespace": "markets", "name": "us"},
        "kafka": {"bootstrapServers": "127.0.0.1:9092"},
        "datasets": {"daily": {"symbols": ["AAPL", "MSFT"]}}
    }"#;

    #[test]
    fn minimal_config_gets_the_documented_defaults() {
        let c = RuntimeConfig::from_json(MINIMAL).unwrap();
        assert_eq!(c.kafka.partitions, 5);
        // Twelve Data's free plan.
        assert_eq!(
            c.sources.twelve_data.budget,
            Budget {
                per_window: 8,
                window_seconds: 60,
                per_day: Some(800),
                burst: None
            }
        );
        // What serde fills in is what `Default` says.
        assert_eq!(c.sources, Sources::default());
        assert_eq!(c.sinks, Sinks::default());
        assert_eq!(c.processing, Processing::default());
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
