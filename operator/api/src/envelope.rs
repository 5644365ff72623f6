//! The messages on a pipeline's topics: every value is an [`Envelope`] whose `schema` and
//! `version` say what its `payload` is.
//!
//! Raw envelopes carry a provider's answer for one symbol in the provider's own format, so a
//! replay reprocesses exactly what the provider said; everything derived later is a pure
//! function of the envelope (the snapshot time is `fetchedAt`, never the processing clock).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::Dataset;

/// A payload schema: a stable name and a version bumped on incompatible changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SchemaId {
    pub name: &'static str,
    pub version: u32,
}

impl SchemaId {
    /// A collection task ([`Task`]), on `task-queue`.
    pub const TASK: SchemaId = SchemaId::new("optionsflow.task", 1);
    /// A Twelve Data `time_series` answer for one symbol (one page for history).
    pub const TWELVEDATA_TIME_SERIES: SchemaId = SchemaId::new("twelvedata.time_series", 1);
    /// Yahoo's `optionChain.result[0]` for one symbol and one expiry.
    pub const YAHOO_OPTION_CHAIN: SchemaId = SchemaId::new("yahoo.option_chain", 1);
    /// Cboe's delayed-quotes document for one symbol, cut down to one expiry.
    pub const CBOE_DELAYED_QUOTES: SchemaId = SchemaId::new("cboe.delayed_quotes", 1);
    /// A batch of [`crate::records::BarRecord`]s, on `processed-{daily,15min,historical}-data`.
    pub const BARS: SchemaId = SchemaId::new("optionsflow.bars", 1);
    /// A batch of [`crate::records::OptionQuoteRecord`]s, on `processed-options-data`.
    pub const OPTION_QUOTES: SchemaId = SchemaId::new("optionsflow.option_quotes", 1);
    /// A [`DeadLetter`], on `dead-letter`.
    pub const DEAD_LETTER: SchemaId = SchemaId::new("optionsflow.dead_letter", 1);

    pub const fn new(name: &'static str, version: u32) -> SchemaId {
        SchemaId { name, version }
    }
}

/// Where a message came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Written by optionsflow itself (tasks, dead letters).
    Optionsflow,
    TwelveData,
    Yahoo,
    Cboe,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Optionsflow => "optionsflow",
            Source::TwelveData => "twelvedata",
            Source::Yahoo => "yahoo",
            Source::Cboe => "cboe",
        }
    }
}

/// Which piece of a larger answer an envelope holds (an expiry of a chain, a page of history).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Zero-based.
    pub index: u32,
    pub count: u32,
}

/// The value of every message on every topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<P> {
    pub schema: String,
    pub version: u32,
    /// `<namespace>/<name>` of the pipeline that produced the message.
    pub pipeline: String,
    /// The underlying symbol; also the message key.
    pub symbol: String,
    pub source: Source,
    /// When the provider answered (or, for tasks, when the trigger ran).
    pub fetched_at: DateTime<Utc>,
    /// The task this message was produced for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<Part>,
    pub payload: P,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("message is not a valid envelope: {0}")]
    Malformed(#[source] serde_json::Error),
    #[error("expected schema {expected} v{expected_version}, found {found} v{found_version}")]
    WrongSchema {
        expected: &'static str,
        expected_version: u32,
        found: String,
        found_version: u32,
    },
    #[error("payload of schema {schema} does not match its type: {source}")]
    Payload {
        schema: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl<P> Envelope<P> {
    pub fn new(
        schema: SchemaId,
        pipeline: impl Into<String>,
        symbol: impl Into<String>,
        source: Source,
        fetched_at: DateTime<Utc>,
        payload: P,
    ) -> Envelope<P> {
        Envelope {
            schema: schema.name.to_owned(),
            version: schema.version,
            pipeline: pipeline.into(),
            symbol: symbol.into(),
            source,
            fetched_at,
            task_id: None,
            part: None,
            payload,
        }
    }

    pub fn with_task(mut self, task_id: impl Into<String>) -> Self {
        self.task_id = Some(task_id.into());
        self
    }

    pub fn with_part(mut self, index: u32, count: u32) -> Self {
        self.part = Some(Part { index, count });
        self
    }

    pub fn is(&self, schema: SchemaId) -> bool {
        self.schema == schema.name && self.version == schema.version
    }
}

impl Envelope<serde_json::Value> {
    /// Parses any envelope, leaving the payload untyped.
    pub fn parse(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        serde_json::from_slice(bytes).map_err(EnvelopeError::Malformed)
    }

    /// Checks the schema and types the payload.
    pub fn into_typed<P: serde::de::DeserializeOwned>(
        self,
        schema: SchemaId,
    ) -> Result<Envelope<P>, EnvelopeError> {
        if !self.is(schema) {
            return Err(EnvelopeError::WrongSchema {
                expected: schema.name,
                expected_version: schema.version,
                found: self.schema,
                found_version: self.version,
            });
        }
        let payload =
            serde_json::from_value(self.payload).map_err(|source| EnvelopeError::Payload {
                schema: schema.name,
                source,
            })?;
        Ok(Envelope {
            schema: self.schema,
            version: self.version,
            pipeline: self.pipeline,
            symbol: self.symbol,
            source: self.source,
            fetched_at: self.fetched_at,
            task_id: self.task_id,
            part: self.part,
            payload,
        })
    }
}

/// A date range, both ends included, in the exchange's calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateWindow {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// A unit of collection work: one dataset for a few symbols, published by the trigger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// `<dataset>-<trading day>-<run time>-<n>`: unique per trigger run and task.
    pub id: String,
    pub dataset: Dataset,
    pub symbols: Vec<String>,
    /// The session the data belongs to (exchange-local date).
    pub trading_day: NaiveDate,
    /// The logical time of the trigger run that created the task.
    pub scheduled_at: DateTime<Utc>,
    /// For historical backfills: the dates to fetch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<DateWindow>,
}

/// Where a message was read from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageOrigin {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// Something a stage could not use, kept with the reason and the original so nothing
/// disappears silently.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// The role that gave up (`collect`, `process`, ...).
    pub stage: String,
    /// A stable, machine-readable reason (`provider_error`, `malformed_answer`, ...).
    pub reason: String,
    /// What went wrong, for people.
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<MessageOrigin>,
    /// The original message: its JSON if it was JSON, else its bytes as lossy UTF-8 text.
    pub original: serde_json::Value,
    /// What the provider or the data said, when it helps to see it (an excerpt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

impl DeadLetter {
    /// Keeps `bytes` as JSON when they parse, as text otherwise.
    pub fn original_from_bytes(bytes: &[u8]) -> serde_json::Value {
        serde_json::from_slice(bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(bytes).into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn task() -> Task {
        Task {
            id: "daily-2026-03-13-1-0".into(),
            dataset: Dataset::Daily,
            symbols: vec!["AAPL".into(), "MSFT".into()],
            trading_day: NaiveDate::from_ymd_opt(2026, 3, 13).unwrap(),
            scheduled_at: Utc.with_ymd_and_hms(2026, 3, 13, 21, 30, 0).unwrap(),
            window: None,
        }
    }

    #[test]
    fn task_envelope_round_trips() {
        let env = Envelope::new(
            SchemaId::TASK,
            "markets/us",
            "AAPL",
            Source::Optionsflow,
            Utc.with_ymd_and_hms(2026, 3, 13, 21, 30, 1).unwrap(),
            task(),
        )
        .with_task("daily-2026-03-13-1-0");
        let bytes = serde_json::to_vec(&env).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["schema"], "optionsflow.task");
        assert_eq!(json["fetchedAt"], "2026-03-13T21:30:01Z");
        assert_eq!(json["payload"]["tradingDay"], "2026-03-13");
        assert!(
            json.get("part").is_none(),
            "absent options are not serialized"
        );
        let back: Envelope<Task> = Envelope::parse(&bytes)
            .unwrap()
            .into_typed(SchemaId::TASK)
            .unwrap();
        assert_eq!(back, env);
    }

    #[test]
    fn wrong_schema_is_refused_with_both_names() {
        let env = Envelope::new(
            SchemaId::YAHOO_OPTION_CHAIN,
            "p/q",
            "X",
            Source::Yahoo,
            Utc::now(),
            serde_json::json!({}),
        );
        let err = env
            .into_typed::<Task>(SchemaId::TASK)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("optionsflow.task") && err.contains("yahoo.option_chain"),
            "{err}"
        );
    }

    #[test]
    fn payload_type_errors_name_the_schema() {
        let env = Envelope::new(
            SchemaId::TASK,
            "p/q",
            "X",
            Source::Optionsflow,
            Utc::now(),
            serde_json::json!({"id": 3}),
        );
        let err = env
            .into_typed::<Task>(SchemaId::TASK)
            .unwrap_err()
            .to_string();
        assert!(err.contains("optionsflow.task"), "{err}");
    }

    #[test]
    fn dead_letter_keeps_json_or_text() {
        assert_eq!(
            DeadLetter::original_from_bytes(br#"{"a":1}"#),
            serde_json::json!({"a": 1})
        );
        assert_eq!(
            DeadLetter::original_from_bytes(b"{trunc"),
            serde_json::Value::String("{trunc".into())
        );
        let dl = DeadLetter {
            stage: "collect".into(),
            reason: "provider_error".into(),
            detail: "twelvedata answered 404 for ZZZZ: symbol not found".into(),
            origin: Some(MessageOrigin {
                topic: "t".into(),
                partition: 3,
                offset: 17,
            }),
            original: serde_json::json!({"x": true}),
            evidence: Some("{\"code\":404}".into()),
        };
        let back: DeadLetter = serde_json::from_str(&serde_json::to_string(&dl).unwrap()).unwrap();
        assert_eq!(back, dl);
    }
}
