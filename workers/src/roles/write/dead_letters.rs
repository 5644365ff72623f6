//! The db-writer also keeps the pipeline's dead letters in the `dead_letters` table (what the
//! page's status view counts, and what people query to see what went wrong), in a consumer
//! group of its own on `dead-letter`, so a backlog of letters never holds data back.
//!
//! A letter that cannot be read is stored anyway, with what could be told of it: a dead
//! letter has nowhere further to go.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use optionsflow_api::dead_letter::DeadLetter;
use optionsflow_api::runtime_config::{Batching, RuntimeConfig};
use optionsflow_api::{Dataset, Envelope, MessageOrigin, Role, SchemaId, TopicKind, TopicNames};

use crate::bus::Bus;
use crate::bus::kafka::BusError;
use crate::bus::partitions::Delivery;
use crate::engine::{Operator, Running, Stop};
use crate::runtime::metrics::Metrics;
use crate::sinks::db::Database;
use crate::sinks::db::dead_letters::DeadLetterRow;

/// Stores letters in batches, as the writers store records.
pub struct Keeper {
    pub database: Database,
    pub topics: TopicNames,
    pub batching: Batching,
    pub metrics: Metrics,
}

/// The letters of one partition waiting to be stored.
#[derive(Default)]
pub struct Held {
    rows: Vec<DeadLetterRow>,
    last: Option<MessageOrigin>,
    started: Option<Instant>,
}

/// What a letter on the topic says, as a row.
pub fn row(topics: &TopicNames, delivery: &Delivery) -> DeadLetterRow {
    let letter = String::from_utf8_lossy(&delivery.payload).into_owned();
    let envelope = Envelope::parse(&delivery.payload).ok();
    let typed = envelope
        .clone()
        .and_then(|e| e.into_typed::<DeadLetter>(SchemaId::DEAD_LETTER).ok());
    let dead_at = envelope
        .as_ref()
        .map_or_else(chrono::Utc::now, |e| e.fetched_at);
    let symbol = envelope
        .as_ref()
        .map(|e| e.symbol.clone())
        .or_else(|| delivery.key.clone())
        .unwrap_or_default();
    let at = delivery.origin.clone();
    match typed {
        Some(e) => {
            let d = e.payload;
            DeadLetterRow {
                at,
                dead_at,
                stage: d.stage.subcommand().to_owned(),
                reason: d.reason.as_str().to_owned(),
                dataset: dataset_of(topics, &d),
                symbol,
                detail: d.detail,
                letter,
            }
        }
        None => DeadLetterRow {
            at,
            dead_at,
            stage: "unknown".into(),
            reason: "unreadable_letter".into(),
            dataset: None,
            symbol,
            detail: "the dead letter itself is not a dead-letter envelope".into(),
            letter,
        },
    }
}

/// The dataset of the message a letter is about: its topic's, or the task's it carries.
fn dataset_of(topics: &TopicNames, letter: &DeadLetter) -> Option<Dataset> {
    let from_topic = letter
        .origin
        .as_ref()
        .and_then(|o| topics.kind_of(&o.topic))
        .and_then(TopicKind::dataset);
    from_topic.or_else(|| {
        let dataset = letter.original.pointer("/payload/dataset")?.clone();
        serde_json::from_value(dataset).ok()
    })
}

impl Operator for Keeper {
    type Held = Held;

    async fn take(&self, held: &mut Held, delivery: Delivery, _stop: Stop<'_>) -> bool {
        held.started.get_or_insert_with(Instant::now);
        held.rows.push(row(&self.topics, &delivery));
        held.last = Some(delivery.origin);
        true
    }

    fn due(&self, held: &Held) -> bool {
        held.rows.len() >= self.batching.max_rows as usize
    }

    fn deadline(&self, held: &Held) -> Option<Instant> {
        held.started
            .map(|s| s + Duration::from_millis(self.batching.max_wait_ms))
    }

    async fn flush(&self, held: &Held, stop: Stop<'_>) -> bool {
        let store = self.database.kind();
        super::retry(store, &self.metrics, stop, || {
            self.database.keep_dead_letters(&held.rows)
        })
        .await
        .is_some()
    }

    fn last<'h>(&self, held: &'h Held) -> Option<&'h MessageOrigin> {
        held.last.as_ref()
    }
}

/// Keeps the dead letters in `database` until `running` stops: the db-writer's second group.
pub async fn run<B: Bus>(
    bus: &B,
    config: &RuntimeConfig,
    database: Database,
    metrics: Metrics,
    running: &Running,
) -> Result<(), BusError> {
    let topics = config.topics();
    let group = format!("{}-dead-letters", topics.consumer_group(Role::DbWriter));
    // The engine hands every delivery a dataset; letters carry theirs inside.
    let subscribed = HashMap::from([(topics.name(TopicKind::DeadLetter), Dataset::Options)]);
    let keeper = Arc::new(Keeper {
        database,
        topics,
        batching: config.sinks.batching.clone(),
        metrics,
    });
    bus.consume(&group, subscribed, keeper, running).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use optionsflow_api::{Reason, Source};

    fn delivery(payload: Vec<u8>) -> Delivery {
        Delivery {
            origin: MessageOrigin {
                topic: "m.p.dead-letter".into(),
                partition: 2,
                offset: 41,
            },
            dataset: Dataset::Options,
            key: Some("SPY".into()),
            payload,
        }
    }

    #[test]
    fn a_letter_keeps_its_stage_reason_and_the_dataset_of_its_origin() {
        let topics = TopicNames::new("m.p.");
        let letter = DeadLetter {
            stage: Role::Processor,
            reason: Reason::MalformedMessage,
            detail: "not JSON".into(),
            origin: Some(MessageOrigin {
                topic: topics.name(TopicKind::IntradayData),
                partition: 0,
                offset: 7,
            }),
            original: serde_json::json!("{"),
            evidence: None,
        };
        let at = "2026-11-24T15:00:00Z".parse().unwrap();
        let envelope = Envelope::new(
            SchemaId::DEAD_LETTER,
            "m/p",
            "SPY",
            Source::TwelveData,
            at,
            letter,
        );
        let bytes = serde_json::to_vec(&envelope).unwrap();
        let row = row(&topics, &delivery(bytes.clone()));
        assert_eq!(row.at.offset, 41);
        assert_eq!(row.dead_at, at);
        assert_eq!(
            (row.stage.as_str(), row.reason.as_str()),
            ("process", "malformed_message")
        );
        assert_eq!(row.dataset, Some(Dataset::Intraday));
        assert_eq!(row.symbol, "SPY");
        assert_eq!(row.letter.as_bytes(), bytes);
    }

    #[test]
    fn a_task_s_letter_takes_the_task_s_dataset_and_an_unreadable_one_is_kept() {
        let topics = TopicNames::new("m.p.");
        let letter = DeadLetter {
            stage: Role::Collector,
            reason: Reason::MalformedAnswer,
            detail: "truncated".into(),
            origin: Some(MessageOrigin {
                topic: topics.name(TopicKind::TaskQueue),
                partition: 1,
                offset: 3,
            }),
            original: serde_json::json!({"payload": {"dataset": "daily", "symbols": ["SPY"]}}),
            evidence: None,
        };
        let envelope = Envelope::new(
            SchemaId::DEAD_LETTER,
            "m/p",
            "SPY",
            Source::TwelveData,
            chrono::Utc::now(),
            letter,
        );
        let row = row(&topics, &delivery(serde_json::to_vec(&envelope).unwrap()));
        assert_eq!(row.dataset, Some(Dataset::Daily));

        let row = super::row(&topics, &delivery(b"\xff not json".to_vec()));
        assert_eq!(row.reason, "unreadable_letter");
        assert_eq!(row.symbol, "SPY");
        assert!(row.letter.contains("not json"));
    }
}
