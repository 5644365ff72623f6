//! Dead letters: what a role could not use, why, and the original, on the pipeline's
//! `dead-letter` topic. The stage is the role that gave up and the reason one of a fixed
//! set ([`Reason`]), so alerts and summaries can count them by name; both travel as their
//! stable text (`write-db`, `rejected_by_postgresql`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Role;
use crate::envelope::MessageOrigin;
use crate::records::DropReason;

/// Something a role could not use, kept with the reason and the original so nothing
/// disappears silently.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// The role that gave up, by its subcommand (`collect`, `process`, `write-db`, ...).
    pub stage: Role,
    pub reason: Reason,
    /// What went wrong, for people.
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<MessageOrigin>,
    /// The original message: its JSON if it was JSON, else its bytes as lossy UTF-8 text
    /// (cut to a size a letter can carry, which the letter then says).
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

/// Why a message, or rows of one, went to `dead-letter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Reason {
    /// collect: a Twelve Data dataset with no API key configured.
    NoApiKey,
    /// collect: a message on `task-queue` that is not a task.
    MalformedTask,
    /// collect: the provider kept answering 429 after the retries.
    RateLimited,
    /// collect: the provider refused a key or crumb.
    Unauthorized,
    /// collect: the provider does not know the symbol.
    NotFound,
    /// collect: another 4xx.
    Rejected,
    /// collect: 5xx after the retries.
    ServerError,
    /// collect: no answer after the retries.
    TransportError,
    /// collect: an answer not in the provider's format (or larger than the cap).
    MalformedAnswer,
    /// process, write: not an envelope at all.
    MalformedMessage,
    /// process: an envelope of a schema the raw topic does not carry.
    UnexpectedSchema,
    /// process: the envelope's symbol is not a ticker.
    InvalidSymbol,
    /// process, write: the payload does not match its schema.
    MalformedPayload,
    /// process: the raw answer is the provider's error.
    ProviderError,
    /// write: an envelope of another schema or version.
    WrongSchema,
    /// write: a batch of another dataset than its topic's.
    WrongDataset,
    /// process: rows a check dropped.
    Row(DropReason),
    /// write: rows PostgreSQL refused for their data.
    RejectedByPostgresql,
    /// write: rows SQLite refused for their data.
    RejectedBySqlite,
    /// write-influx: lines InfluxDB refused for their data.
    RejectedByInfluxdb,
    /// Any role: a message larger than the broker accepts (the letter carries its start).
    TooLarge,
}

impl Reason {
    /// Every reason but the rows' (which are [`DropReason::ALL`]).
    pub const NAMED: [Reason; 20] = [
        Reason::NoApiKey,
        Reason::MalformedTask,
        Reason::RateLimited,
        Reason::Unauthorized,
        Reason::NotFound,
        Reason::Rejected,
        Reason::ServerError,
        Reason::TransportError,
        Reason::MalformedAnswer,
        Reason::MalformedMessage,
        Reason::UnexpectedSchema,
        Reason::InvalidSymbol,
        Reason::MalformedPayload,
        Reason::ProviderError,
        Reason::WrongSchema,
        Reason::WrongDataset,
        Reason::RejectedByPostgresql,
        Reason::RejectedBySqlite,
        Reason::RejectedByInfluxdb,
        Reason::TooLarge,
    ];

    /// Its stable text, as letters and metrics carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Row(drop) => drop.as_str(),
            other => other.into(),
        }
    }

    /// The reason named `text`.
    pub fn parse(text: &str) -> Option<Reason> {
        Reason::NAMED
            .into_iter()
            .chain(DropReason::ALL.map(Reason::Row))
            .find(|r| r.as_str() == text)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Reason, D::Error> {
        let text = String::deserialize(d)?;
        Reason::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown dead-letter reason {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_name_and_reads_back() {
        let all: Vec<Reason> = Reason::NAMED
            .into_iter()
            .chain(DropReason::ALL.map(Reason::Row))
            .collect();
        let names: std::collections::BTreeSet<&str> = all.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), all.len());
        for reason in all {
            let json = serde_json::to_value(reason).unwrap();
            assert_eq!(json, reason.as_str());
            assert_eq!(serde_json::from_value::<Reason>(json).unwrap(), reason);
        }
        assert!(serde_json::from_str::<Reason>("\"nonsense\"").is_err());
    }

    #[test]
    fn a_letter_keeps_its_original_as_json_or_text_and_reads_back() {
        assert_eq!(
            DeadLetter::original_from_bytes(br#"{"a":1}"#),
            serde_json::json!({"a": 1})
        );
        assert_eq!(
            DeadLetter::original_from_bytes(b"{trunc"),
            serde_json::Value::String("{trunc".into())
        );
        let dl = DeadLetter {
            stage: Role::Collector,
            reason: Reason::NotFound,
            detail: "twelvedata answered 404 for ZZZZ: symbol not found".into(),
            origin: Some(MessageOrigin {
                topic: "t".into(),
                partition: 3,
                offset: 17,
            }),
            original: serde_json::json!({"x": true}),
            evidence: Some("{\"code\":404}".into()),
        };
        let json = serde_json::to_value(&dl).unwrap();
        assert_eq!(json["stage"], "collect");
        assert_eq!(json["reason"], "not_found");
        let back: DeadLetter = serde_json::from_value(json).unwrap();
        assert_eq!(back, dl);
    }
}
